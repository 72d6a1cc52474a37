#!/usr/bin/env python3
"""Rewrites a model's MatMuls by constant 2-D weights as ONNX Runtime's
4-bit (or 8-bit) MatMulNBits (com.microsoft), as its MatMul4BitsQuantizer
(MatMulNBitsQuantizer) does, and writes the twin model with the dequantized
float weights in plain MatMuls.

    make-matmulnbits.py IN.onnx NBITS.onnx TWIN.onnx [--block 32] [--symmetric]
                        [--bits 4|8]

Layout (the contrib op's): 4 bits, B [N, blocks, block / 2] uint8, two
values per byte along K, the low nibble first, zero_points [N *
ceil(blocks / 2)] uint8 packed the same way; 8 bits, B [N, blocks, block]
and zero_points [N * blocks], a byte each; scales [N * blocks]. Symmetric
quantization leaves the zero points out (2^(bits - 1)). Weights are
quantized per block of K: asymmetric scale (max - min) / (2^bits - 1) and
zero point round(-min / scale); symmetric scale absmax / 2^(bits - 1) (q =
round(w / scale) + 2^(bits - 1), clamped). fp16 weights give fp16 scales.
K need not be a multiple of the block: the last block is zero-padded.
"""
import argparse

import numpy as np
import onnx
from onnx import helper, numpy_helper


def quantize(w, block, symmetric, scale_dtype=np.float32, bits=4):
    """w [K, N] -> (packed [N, blocks, block * bits / 8] u8, scales
    [N*blocks] of scale_dtype, zero points packed u8 or None, dequantized
    [K, N] f32 with those scales)."""
    top, mid = 2 ** bits - 1, 2 ** (bits - 1)
    k, n = w.shape
    blocks = (k + block - 1) // block
    padded = np.zeros((n, blocks * block), np.float32)
    padded[:, :k] = w.T
    b = padded.reshape(n, blocks, block)
    if symmetric:
        scale = np.abs(b).max(-1) / mid
        scale[scale == 0] = 1.0
        zero = np.full((n, blocks), float(mid))
    else:
        lo = np.minimum(b.min(-1), 0.0)
        hi = np.maximum(b.max(-1), 0.0)
        scale = (hi - lo) / top
        scale[scale == 0] = 1.0
        zero = np.clip(np.round(-lo / scale), 0, top)
    scale = scale.astype(scale_dtype).astype(np.float32)
    q = np.clip(np.round(b / scale[..., None]) + zero[..., None], 0, top).astype(np.uint8)
    deq = ((q.astype(np.float32) - zero[..., None]) * scale[..., None]).reshape(n, -1)[:, :k]
    if bits == 8:
        zero_packed = None if symmetric else zero.astype(np.uint8).reshape(-1)
        return q, scale.reshape(-1).astype(scale_dtype), zero_packed, deq.T.astype(np.float32)
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    zero_packed = None
    if not symmetric:
        z = zero.astype(np.uint8)
        if blocks % 2:
            z = np.concatenate([z, np.zeros((n, 1), np.uint8)], axis=1)
        zero_packed = (z[:, 0::2] | (z[:, 1::2] << 4)).reshape(-1).astype(np.uint8)
    return packed, scale.reshape(-1).astype(scale_dtype), zero_packed, deq.T.astype(np.float32)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("nbits")
    parser.add_argument("twin")
    parser.add_argument("--block", type=int, default=32)
    parser.add_argument("--symmetric", action="store_true")
    parser.add_argument("--bits", type=int, choices=(4, 8), default=4)
    args = parser.parse_args()
    model = onnx.load(args.model)
    twin = onnx.load(args.model)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    twin_inits = {t.name: t for t in twin.graph.initializer}
    nodes, count = [], 0
    for node in graph.node:
        weight = inits.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2 or weight.data_type not in (
                onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16):
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight)
        # An fp16 model's scales are fp16 (the op's T1 is A's type).
        packed, scales, zeros, deq = quantize(w.astype(np.float32), args.block,
                                              args.symmetric, w.dtype, args.bits)
        deq = deq.astype(w.dtype)
        prefix = f"{node.name or node.output[0]}_q4"
        new_inits = [numpy_helper.from_array(packed, prefix + ".B"),
                     numpy_helper.from_array(scales, prefix + ".scales")]
        inputs = [node.input[0], prefix + ".B", prefix + ".scales"]
        if zeros is not None:
            new_inits.append(numpy_helper.from_array(zeros, prefix + ".zero_points"))
            inputs.append(prefix + ".zero_points")
        graph.initializer.extend(new_inits)
        nodes.append(helper.make_node(
            "MatMulNBits", inputs, list(node.output), name=node.name, domain="com.microsoft",
            K=w.shape[0], N=w.shape[1], bits=args.bits, block_size=args.block))
        # The twin reads the dequantized weight under a name of its own (a
        # weight may be shared).
        twin_inits[weight.name]  # exists
        deq_name = prefix + ".dequantized"
        twin.graph.initializer.append(numpy_helper.from_array(deq, deq_name))
        for twin_node in twin.graph.node:
            if twin_node.name == node.name and twin_node.output == node.output:
                twin_node.input[1] = deq_name
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, args.nbits)
    onnx.save(twin, args.twin)
    print(f"make-matmulnbits: {count} MatMulNBits ({args.bits} bits, block {args.block}, "
          f"{'symmetric' if args.symmetric else 'asymmetric'})")


if __name__ == "__main__":
    main()
