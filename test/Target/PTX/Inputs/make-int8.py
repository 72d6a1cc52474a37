#!/usr/bin/env python3
"""Writes ONNX MatMulInteger graphs (int8 activations times an int8 weight,
no zero points: the exact i32 product) with inputs and numpy references
into OUT/<case>/ (input x.npy, expected_y.npy):

    make-int8.py OUT

  integer        x[37,80] @ W[80,48]       (edges of every tile, [K,N] weight)
  integer-batch  x[2,19,64] @ W[64,40]     (batch folded into the rows,
                                            16-byte loads of x)
  integer-range  x[24,4096] @ W[4096,16]   (every value +-127: sums of
                                            +-66 million, exact in i32)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(11)


def write(out, name, x, w):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    y = np.matmul(x.astype(np.int64), w.astype(np.int64))
    assert np.abs(y).max() < 2**31
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["x", "W"], ["y"])], name,
        [helper.make_tensor_value_info("x", TensorProto.INT8, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.INT32, list(y.shape))],
        [numpy_helper.from_array(w, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    np.save(os.path.join(folder, "x.npy"), x)
    np.save(os.path.join(folder, "expected_y.npy"), y.astype(np.int32))


def ints(*shape):
    return rng.integers(-128, 128, shape, dtype=np.int64).astype(np.int8)


def main():
    out = sys.argv[1]
    write(out, "integer", ints(37, 80), ints(80, 48))
    write(out, "integer-batch", ints(2, 19, 64), ints(64, 40))
    sign = lambda *s: (rng.integers(0, 2, s) * 254 - 127).astype(np.int8)
    x = sign(24, 4096)
    w = sign(4096, 16)
    w[:, 0] = x[0]  # row 0 x column 0 = 4096 * 127^2
    write(out, "integer-range", x, w)


if __name__ == "__main__":
    main()
