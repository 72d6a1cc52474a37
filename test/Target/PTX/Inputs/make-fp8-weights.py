#!/usr/bin/env python3
"""FP8 weight-only products: float activations times a DequantizeLinear of
FLOAT8E4M3FN weights (opset 19, per output column scales), with expected
outputs from the table of E4M3's values (test/e2e/Inputs/fp8.py).

    make-fp8-weights.py OUT

OUT/decode-M.onnx (M = 4 and 256): x is M rows of the identity, so y is
rows 0..M-1 of the dequantized weight itself: row 0 holds every code but the
two NaNs, row 1 the same reversed, column 255 too; the scales are powers of
two, so every product is exact in bf16 and f32 (rtol 0).
OUT/random.onnx: x [8, 256] and weights from a normal distribution, scales
max|w| / 448 per column; expected in float64.
Each model's input is OUT/<model>.x.npy, its expected output
OUT/<model>.y.npy.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "e2e", "Inputs"))
from fp8 import e4m3_bytes, e4m3_tensor, e4m3_values  # noqa: E402

K = N = 256


def save(out, name, x, codes, scales):
    graph = helper.make_graph(
        [helper.make_node("DequantizeLinear", ["W", "ws"], ["w"], axis=1),
         helper.make_node("MatMul", ["x", "w"], ["y"])], name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [x.shape[0], N])],
        [e4m3_tensor("W", codes), numpy_helper.from_array(scales, "ws")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)]),
              os.path.join(out, name + ".onnx"))
    weights = e4m3_values(codes).astype(np.float64) * scales.astype(np.float64)
    np.save(os.path.join(out, name + ".x.npy"), x)
    np.save(os.path.join(out, name + ".y.npy"), (x.astype(np.float64) @ weights).astype(np.float32))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    codes = np.array([c for c in range(256) if c not in (0x7F, 0xFF)], np.uint8)
    table = rng.integers(0, 256, (K, N)).astype(np.uint8)
    table[(table & 0x7F) == 0x7F] = 0  # no NaN weights
    table[0, :codes.size] = codes
    table[1, :codes.size] = codes[::-1]
    table[:codes.size, 255] = codes[::-1]
    powers = (2.0 ** rng.integers(-3, 4, N)).astype(np.float32)
    for m in (4, 256):
        save(out, f"decode-{m}", np.eye(m, K, dtype=np.float32), table, powers)
    w = rng.standard_normal((K, N)).astype(np.float32)
    scales = (np.abs(w).max(0) / 448.0).astype(np.float32)
    save(out, "random", rng.standard_normal((8, K)).astype(np.float32),
         e4m3_bytes(w / scales), scales)
    print(f"make-fp8-weights: decode-4, decode-256 ({codes.size} codes), random")


if __name__ == "__main__":
    main()
