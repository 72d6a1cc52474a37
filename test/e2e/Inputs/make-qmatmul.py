#!/usr/bin/env python3
"""Writes an ONNX model of the W8A8 integer core and its bit-exact expected
outputs, computed independently in numpy integer arithmetic:

    acc = MatMulInteger(a_u8, w_i8, a_zp, w_zp)          int32, exact
    y   = QuantizeLinear(DequantizeLinear(acc, s), 1, zp) requantized bytes

with one scale per row (DequantizeLinear axis 0).

    make-qmatmul.py OUT_DIR

The weight zero point is -3, or the environment's W_ZP.

Shapes are K = 256 with values at the int8 extremes, so the i32 sums are
large; the requantization ties are checked against round-half-to-even.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(3)
m, k, n = 8, 256, 16
a = rng.integers(0, 256, size=(m, k), dtype=np.uint8)
a[0] = 255
w = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
w[:, 0] = -128
# Row 1 is one-hot around the zero point: its sums are w[0] - w_zp, small,
# and its scale 0.5 makes every odd sum a tie for round-half-to-even.
a[1] = 7
a[1, 0] = 8
a_zp = np.array(7, dtype=np.uint8)
w_zp = np.array(int(os.environ.get("W_ZP", "-3")), dtype=np.int8)
# Per row (axis 0); powers of two, so the products are exact and ties stay ties.
scale = np.full((m,), 0.5 ** 11, dtype=np.float32)
scale[1] = 0.5
y_zp = np.array(-5, dtype=np.int8)

acc = (a.astype(np.int64) - int(a_zp)) @ (w.astype(np.int64) - int(w_zp))
assert np.abs(acc).max() < 2 ** 24  # f32(acc) is exact
expected_acc = acc.astype(np.int32)
real = expected_acc.astype(np.float32) * scale[:, None]
assert (np.abs(real[1] - np.floor(real[1]) - 0.5) == 0).sum() > 0
expected_y = np.clip(np.rint(real) + int(y_zp), -128, 127).astype(np.int8)

graph = helper.make_graph(
    [helper.make_node("MatMulInteger", ["a", "w", "a_zp", "w_zp"], ["acc"]),
     helper.make_node("DequantizeLinear", ["acc", "scale"], ["real"], axis=0),
     helper.make_node("QuantizeLinear", ["real", "one", "y_zp"], ["y"])],
    "qcore",
    [helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])],
    [helper.make_tensor_value_info("acc", TensorProto.INT32, [m, n]),
     helper.make_tensor_value_info("y", TensorProto.INT8, [m, n])],
    [numpy_helper.from_array(w, "w"), numpy_helper.from_array(a_zp, "a_zp"),
     numpy_helper.from_array(w_zp, "w_zp"), numpy_helper.from_array(scale, "scale"),
     numpy_helper.from_array(np.array(1, dtype=np.float32), "one"),
     numpy_helper.from_array(y_zp, "y_zp")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)
os.makedirs(out, exist_ok=True)
onnx.save(model, os.path.join(out, "qcore.onnx"))
np.save(os.path.join(out, "a.npy"), a)
np.save(os.path.join(out, "acc.npy"), expected_acc)
np.save(os.path.join(out, "y.npy"), expected_y)
