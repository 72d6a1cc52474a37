#!/usr/bin/env python3
"""Writes ONNX's blocked DequantizeLinear (opset 21: block_size, INT4 and
UINT4 tensors) in one graph, with numpy references that follow the spec:

    make-blocked-dequantize.py OUT_DIR

y = (x - zero_point) * scale, where scale and zero_point have x's shape with
ceil(D / block_size) along `axis` and element i of that axis reads block
i / block_size. 4-bit tensors pack two values a byte over the flattened
tensor, the low nibble first.

y1   an INT4 weight [5, 6] blocked along K = 5 (block 2, the last block
     short), no zero points, by a MatMul: the weight-only layout
y2   a UINT4 weight [8, 4] with UINT4 zero points and f16 scales (block 4)
     by an f16 MatMul
y3   a run-time uint8 x [2, 6, 4] with run-time scales, blocked along axis 1
     (block 4), constant zero points
y4   an INT4 constant [3, 7] blocked along its last axis (block 3) with INT4
     zero points, the output itself
y5   an int8 weight [6, 4] with int8 zero points (block 4) by a MatMul
y6   a UINT4 Constant node [4, 2] with UINT4 zero points (block 2)

OUT_DIR/errors/ holds one-node models the importer refuses with one line.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from npyio import save_arrays

INT4, UINT4 = 22, 21  # newer than the installed onnx's enum


def pack4(values):
    flat = (np.asarray(values).reshape(-1).astype(np.int64) & 0xF).astype(np.uint8)
    if flat.size % 2:
        flat = np.append(flat, np.uint8(0))
    return (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8).tobytes()


def tensor4(name, data_type, values):
    t = onnx.TensorProto()
    t.name, t.data_type, t.raw_data = name, data_type, pack4(values)
    t.dims.extend(np.asarray(values).shape)
    return t


def expand(param, axis, block, extent):
    """A blocked parameter repeated to x's extent along axis."""
    return np.repeat(param, block, axis=axis).take(range(extent), axis=axis)


def dequantize(x, scale, zero, axis, block):
    x = x.astype(np.int64)
    z = 0 if zero is None else expand(zero.astype(np.int64), axis, block, x.shape[axis])
    s = expand(scale.astype(np.float32), axis, block, x.shape[axis])
    return ((x - z).astype(np.float32) * s).astype(np.float32)


def model(nodes, inputs, outputs, inits):
    graph = helper.make_graph(nodes, "blocked_dequantize", inputs, outputs, inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    m.ir_version = 10
    return m


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(21)
    nodes, inits, arrays = [], [], {}
    f32 = TensorProto.FLOAT

    # y1: INT4 [5, 6], axis 0, block 2, no zero points, MatMul.
    a = rng.standard_normal((2, 3, 5)).astype(np.float32)
    w1 = rng.integers(-8, 8, (5, 6))
    s1 = (rng.random((3, 6)) * 0.2 + 0.05).astype(np.float32)
    inits += [tensor4("w1", INT4, w1), numpy_helper.from_array(s1, "s1")]
    nodes += [helper.make_node("DequantizeLinear", ["w1", "s1"], ["d1"], axis=0, block_size=2),
              helper.make_node("MatMul", ["a", "d1"], ["y1"])]
    arrays["a"] = a
    arrays["y1"] = a.astype(np.float64) @ dequantize(w1, s1, None, 0, 2)

    # y2: UINT4 [8, 4] with UINT4 zero points, f16 scales, f16 MatMul.
    a16 = rng.standard_normal((1, 2, 8)).astype(np.float16)
    w2 = rng.integers(0, 16, (8, 4))
    z2 = rng.integers(0, 16, (2, 4))
    s2 = (rng.random((2, 4)) * 0.2 + 0.05).astype(np.float16)
    inits += [tensor4("w2", UINT4, w2), tensor4("z2", UINT4, z2), numpy_helper.from_array(s2, "s2")]
    nodes += [helper.make_node("DequantizeLinear", ["w2", "s2", "z2"], ["d2"], axis=0, block_size=4),
              helper.make_node("MatMul", ["a16", "d2"], ["y2"])]
    arrays["a16"] = a16
    d2 = dequantize(w2, s2, z2, 0, 4).astype(np.float16)
    arrays["y2"] = (a16.astype(np.float64) @ d2.astype(np.float64)).astype(np.float16)

    # y3: run-time uint8 x [2, 6, 4], run-time scales, axis 1, block 4.
    x3 = rng.integers(0, 256, (2, 6, 4)).astype(np.uint8)
    s3 = (rng.random((2, 2, 4)) * 0.1 + 0.01).astype(np.float32)
    z3 = rng.integers(0, 256, (2, 2, 4)).astype(np.uint8)
    inits.append(numpy_helper.from_array(z3, "z3"))
    nodes.append(helper.make_node("DequantizeLinear", ["x3", "s3", "z3"], ["y3"], axis=1,
                                  block_size=4))
    arrays["x3"], arrays["s3"] = x3, s3
    arrays["y3"] = dequantize(x3, s3, z3, 1, 4)

    # y4: INT4 [3, 7] along its last axis, block 3, INT4 zero points.
    w4 = rng.integers(-8, 8, (3, 7))
    z4 = rng.integers(-8, 8, (3, 3))
    s4 = (rng.random((3, 3)) + 0.5).astype(np.float32)
    inits += [tensor4("w4", INT4, w4), tensor4("z4", INT4, z4), numpy_helper.from_array(s4, "s4")]
    nodes.append(helper.make_node("DequantizeLinear", ["w4", "s4", "z4"], ["y4"], axis=-1,
                                  block_size=3))
    arrays["y4"] = dequantize(w4, s4, z4, 1, 3)

    # y5: int8 [6, 4] with int8 zero points, axis 0, block 4, MatMul.
    w5 = rng.integers(-128, 128, (6, 4)).astype(np.int8)
    z5 = rng.integers(-20, 20, (2, 4)).astype(np.int8)
    s5 = (rng.random((2, 4)) * 0.02 + 0.005).astype(np.float32)
    inits += [numpy_helper.from_array(w5, "w5"), numpy_helper.from_array(z5, "z5"),
              numpy_helper.from_array(s5, "s5")]
    a5 = rng.standard_normal((3, 6)).astype(np.float32)
    nodes += [helper.make_node("DequantizeLinear", ["w5", "s5", "z5"], ["d5"], axis=0, block_size=4),
              helper.make_node("MatMul", ["a5", "d5"], ["y5"])]
    arrays["a5"] = a5
    arrays["y5"] = a5.astype(np.float64) @ dequantize(w5, s5, z5, 0, 4)

    # y6: a UINT4 Constant node.
    w6 = rng.integers(0, 16, (4, 2))
    z6 = rng.integers(0, 16, (2, 2))
    s6 = np.array([[0.5, 0.25], [2.0, 1.0]], np.float32)
    nodes += [helper.make_node("Constant", [], ["w6"], value=tensor4("w6v", UINT4, w6)),
              helper.make_node("Constant", [], ["z6"], value=tensor4("z6v", UINT4, z6)),
              helper.make_node("DequantizeLinear", ["w6", "s6", "z6"], ["y6"], axis=0,
                               block_size=2)]
    inits.append(numpy_helper.from_array(s6, "s6"))
    arrays["y6"] = dequantize(w6, s6, z6, 0, 2)

    inputs = [helper.make_tensor_value_info("a", f32, a.shape),
              helper.make_tensor_value_info("a16", TensorProto.FLOAT16, a16.shape),
              helper.make_tensor_value_info("x3", TensorProto.UINT8, x3.shape),
              helper.make_tensor_value_info("s3", f32, s3.shape),
              helper.make_tensor_value_info("a5", f32, a5.shape)]
    outputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT16 if n == "y2" else f32,
                                             arrays[n].shape)
               for n in ("y1", "y2", "y3", "y4", "y5", "y6")]
    onnx.save(model(nodes, inputs, outputs, inits), os.path.join(out, "model.onnx"))
    save_arrays(out, arrays)

    # One-node models the importer refuses.
    errors = os.path.join(out, "errors")
    os.makedirs(errors, exist_ok=True)
    w = numpy_helper.from_array(np.zeros((6, 4), np.int8), "w")
    y = [helper.make_tensor_value_info("y", f32, None)]

    def refuse(name, node, inits, inputs=()):
        onnx.save(model([node], list(inputs), y, inits), os.path.join(errors, name + ".onnx"))

    refuse("scale-shape", helper.make_node("DequantizeLinear", ["w", "s"], ["y"], name="dq",
                                           axis=0, block_size=4),
           [w, numpy_helper.from_array(np.ones((3, 4), np.float32), "s")])
    refuse("zero-shape", helper.make_node("DequantizeLinear", ["w", "s", "z"], ["y"], name="dq",
                                          axis=0, block_size=4),
           [w, numpy_helper.from_array(np.ones((2, 4), np.float32), "s"),
            numpy_helper.from_array(np.zeros((2, 1), np.int8), "z")])
    refuse("negative-block", helper.make_node("DequantizeLinear", ["w", "s"], ["y"], name="dq",
                                              axis=0, block_size=-2),
           [w, numpy_helper.from_array(np.ones((2, 4), np.float32), "s")])
    refuse("int32", helper.make_node("DequantizeLinear", ["w", "s"], ["y"], name="dq",
                                     axis=0, block_size=4),
           [numpy_helper.from_array(np.zeros((6, 4), np.int32), "w"),
            numpy_helper.from_array(np.ones((2, 4), np.float32), "s")])
    refuse("int4-input", helper.make_node("DequantizeLinear", ["x", "s"], ["y"], name="dq",
                                          axis=0, block_size=4),
           [numpy_helper.from_array(np.ones((2, 4), np.float32), "s")],
           [helper.make_tensor_value_info("x", INT4, [6, 4])])
    short = tensor4("w", INT4, np.zeros((6, 4), np.int64))
    short.raw_data = short.raw_data[:-1]
    refuse("int4-short", helper.make_node("DequantizeLinear", ["w", "s"], ["y"], name="dq",
                                          axis=0, block_size=4),
           [short, numpy_helper.from_array(np.ones((2, 4), np.float32), "s")])
    print("make-blocked-dequantize: 6 outputs, 6 error models")


if __name__ == "__main__":
    main()
