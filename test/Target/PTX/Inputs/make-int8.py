#!/usr/bin/env python3
"""Writes ONNX MatMulInteger graphs (8-bit activations times an 8-bit
weight: the exact i32 product of (x - x_zero_point) and (W - W_zero_point))
with inputs and numpy references into OUT/<case>/ (inputs x.npy and, where
the zero point is a run-time input, zx.npy; expected_y.npy):

    make-int8.py OUT

  integer        x[37,80] @ W[80,48]       (edges of every tile, [K,N] weight)
  integer-batch  x[2,19,64] @ W[64,40]     (batch folded into the rows,
                                            16-byte loads of x)
  integer-range  x[24,4096] @ W[4096,16]   (every value +-127: sums of
                                            +-66 million, exact in i32)
  zero-input     uint8 x[37,80] with a run-time uint8 zero point (as
                 DynamicQuantizeLinear gives it) @ int8 W[80,48]
  zero-rows      int8 x[37,80] with per-row zero points @ uint8 W[80,48]
                 with per-column ones
  zero-batch     uint8 x[2,19,64] with zero point 131 @ uint8 W[64,40]
                 without one (read as 0..255)
  zero-range     uint8 x[24,4096] and W[4096,16] of 0 and 255 with zero
                 points 0 and 255: sums of +-266 million
  dynamic        f32 x[40,300] through DynamicQuantizeLinear (12000
                 elements: more than one block's chunk) and MatMulInteger
                 with an int8 W[300,24]: outputs y, q, scale and zp
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(11)


def write(out, name, x, w, zx=None, zw=None, zx_input=False):
    """zx, zw: zero points (numpy arrays) or None; zx_input makes x's a
    graph input."""
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    def shifted(a, z, per_row=False):
        if z is None:
            return a.astype(np.int64)
        z = z.astype(np.int64)
        return a.astype(np.int64) - (z[:, None] if per_row and z.size > 1 else z)
    y = np.matmul(shifted(x, zx, per_row=True), shifted(w, zw))
    assert np.abs(y).max() < 2**31
    elem = lambda a: TensorProto.UINT8 if a.dtype == np.uint8 else TensorProto.INT8
    inputs = [helper.make_tensor_value_info("x", elem(x), list(x.shape))]
    initializers = [numpy_helper.from_array(w, "W")]
    if zx is not None:
        if zx_input:
            inputs.append(helper.make_tensor_value_info("zx", elem(zx), list(zx.shape)))
            np.save(os.path.join(folder, "zx.npy"), zx)
        else:
            initializers.append(numpy_helper.from_array(zx, "zx"))
    if zw is not None:
        initializers.append(numpy_helper.from_array(zw, "zw"))
    names = ["x", "W", "zx" if zx is not None else "",
             "zw" if zw is not None else ""]
    while names[-1] == "":
        names.pop()
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", names, ["y"])], name, inputs,
        [helper.make_tensor_value_info("y", TensorProto.INT32, list(y.shape))],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    np.save(os.path.join(folder, "x.npy"), x)
    np.save(os.path.join(folder, "expected_y.npy"), y.astype(np.int32))


def write_dynamic(out, name, x, w):
    """DynamicQuantizeLinear of x in float32 as ONNX defines it (round half
    to even), then MatMulInteger with its zero point."""
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    f32 = np.float32
    low = min(f32(x.min()), f32(0))
    high = max(f32(x.max()), f32(0))
    scale = f32(high - low) / f32(255) if high != low else f32(1)
    zp = np.clip(np.rint(f32(0 - low) / scale), 0, 255).astype(np.uint8)
    q = np.clip(np.rint(x / scale) + f32(zp), 0, 255).astype(np.uint8)
    y = np.matmul(q.astype(np.int64) - int(zp), w.astype(np.int64))
    graph = helper.make_graph(
        [helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "scale", "zp"]),
         helper.make_node("MatMulInteger", ["q", "W", "zp"], ["y"])], name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.INT32, list(y.shape)),
         helper.make_tensor_value_info("q", TensorProto.UINT8, list(q.shape)),
         helper.make_tensor_value_info("scale", TensorProto.FLOAT, []),
         helper.make_tensor_value_info("zp", TensorProto.UINT8, [])],
        [numpy_helper.from_array(w, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    np.save(os.path.join(folder, "x.npy"), x)
    for n, v in (("y", y.astype(np.int32)), ("q", q),
                 ("scale", np.array(scale, f32)), ("zp", np.array(zp, np.uint8))):
        np.save(os.path.join(folder, f"expected_{n}.npy"), v)


def ints(*shape):
    return rng.integers(-128, 128, shape, dtype=np.int64).astype(np.int8)


def uints(*shape):
    return rng.integers(0, 256, shape, dtype=np.int64).astype(np.uint8)


def main():
    out = sys.argv[1]
    write(out, "integer", ints(37, 80), ints(80, 48))
    write(out, "integer-batch", ints(2, 19, 64), ints(64, 40))
    sign = lambda *s: (rng.integers(0, 2, s) * 254 - 127).astype(np.int8)
    x = sign(24, 4096)
    w = sign(4096, 16)
    w[:, 0] = x[0]  # row 0 x column 0 = 4096 * 127^2
    write(out, "integer-range", x, w)
    write(out, "zero-input", uints(37, 80), ints(80, 48),
          zx=np.array(173, np.uint8), zx_input=True)
    write(out, "zero-rows", ints(37, 80), uints(80, 48), zx=ints(37),
          zw=uints(48))
    write(out, "zero-batch", uints(2, 19, 64), uints(64, 40),
          zx=np.array(131, np.uint8))
    ends = lambda *s: (rng.integers(0, 2, s) * 255).astype(np.uint8)
    x = ends(24, 4096)
    w = ends(4096, 16)
    x[0] = 255
    w[:, 0] = 0  # row 0 x column 0 = 4096 * 255 * -255
    write(out, "zero-range", x, w, zx=np.array([0], np.uint8),
          zw=np.array([255], np.uint8))
    x = (rng.standard_normal((40, 300)) * 3 + 1).astype(np.float32)
    x[0, 0], x[-1, -1] = 25, -20  # the maximum in the first chunk, the minimum in the last
    write_dynamic(out, "dynamic", x, ints(300, 24))


if __name__ == "__main__":
    main()
