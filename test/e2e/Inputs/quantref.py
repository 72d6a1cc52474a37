"""numpy references shared by the quantized test generators."""
import numpy as np

F32 = np.float32


def dynamic_quantize(x):
    """DynamicQuantizeLinear as ONNX Runtime's kernel computes it: uint8 over
    the range of x widened to include 0, scale (max - min) / 255 (1 for all
    zeros), zero point roundeven(-min / scale). Returns (q, scale, zero)."""
    lo, hi = F32(min(x.min(), 0.0)), F32(max(x.max(), 0.0))
    scale = F32(1.0) if hi == lo else F32((hi - lo) / F32(255.0))
    zero = np.clip(np.rint(F32(-lo) / scale), 0, 255).astype(np.int64)
    q = np.clip(np.rint(x.astype(F32) / scale) + zero, 0, 255).astype(np.int64)
    return q, scale, zero
