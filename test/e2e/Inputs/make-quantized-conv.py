#!/usr/bin/env python3
"""Writes one graph of ONNX's quantized convolutions as ONNX Runtime's
quantizers write them into models with convolutions (a speech encoder's
front end, a vision transformer's patch embedding), with numpy references
that follow its CPU kernels:

    make-quantized-conv.py OUT_DIR   -> model.onnx and one .npy per input/output

c1  quantize_dynamic's Conv: DynamicQuantizeLinear of x, ConvInteger by
    int8 weights (1-D, kernel 3, stride 2, pad 1), Cast, Mul by x_scale *
    w_scale, Add of the bias
c2  ConvInteger of uint8 x and uint8 w with a zero point per output channel,
    2-D, 2 groups, dilation 2, asymmetric pads (padding reads x's zero point)
q1  QLinearConv as the QOperator format writes a patch embedding: uint8 x
    and y, int8 w with a scale per output channel, kernel = stride = 4, an
    int32 bias
q2  QLinearConv of int8 x and y, depthwise (group = channels), pads 1

The integer sums are exact; the requantization is f32(acc + B) * f32(x_scale
* w_scale / y_scale) rounded to even, plus y_zero_point, saturated.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from npyio import save_arrays
from quantref import dynamic_quantize

F32 = np.float32


def conv(x, w, strides, pads, dilations, groups):
    """The exact integer convolution of x [N, C, ...] (zero points already
    taken, padding 0) and w [M, C / G, ...], in int64."""
    spatial = x.ndim - 2
    x = np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[spatial + i]) for i in range(spatial)])
    n, c = x.shape[:2]
    m, cg = w.shape[:2]
    kernel = w.shape[2:]
    out = [(x.shape[2 + i] - dilations[i] * (kernel[i] - 1) - 1) // strides[i] + 1
           for i in range(spatial)]
    y = np.zeros([n, m] + out, np.int64)
    per_group = m // groups
    for o in np.ndindex(*out):
        for k in np.ndindex(*kernel):
            index = tuple(o[i] * strides[i] + k[i] * dilations[i] for i in range(spatial))
            taps = x[(slice(None), slice(None)) + index]  # [N, C]
            for g in range(groups):
                xs = taps[:, g * cg:(g + 1) * cg]
                ws = w[(slice(g * per_group, (g + 1) * per_group), slice(None)) + k]
                y[(slice(None), slice(g * per_group, (g + 1) * per_group)) + o] += xs @ ws.T
    return y


def requantize(acc, factor, zero, low, high):
    return np.clip(np.rint(acc.astype(F32) * factor) + zero, low, high).astype(np.int64)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    nodes, inputs, outputs, inits, arrays = [], [], [], [], {}

    def graph_input(name, array, elem):
        inputs.append(helper.make_tensor_value_info(name, elem, array.shape))
        arrays[name] = array

    def init(name, array, elem=None):
        tensor = numpy_helper.from_array(array, name)
        inits.append(tensor)

    def output(name, array, elem):
        outputs.append(helper.make_tensor_value_info(name, elem, array.shape))
        arrays[name] = array

    # c1: quantize_dynamic's Conv1d.
    x = rng.standard_normal((2, 8, 12)).astype(F32)
    w = rng.integers(-127, 128, (16, 8, 3)).astype(np.int8)
    w_scale = F32(0.01)
    bias = (0.1 * rng.standard_normal(16)).astype(F32)
    graph_input("c1_x", x, TensorProto.FLOAT)
    init("c1_w", w)
    init("c1_ws", np.array(w_scale, F32))
    init("c1_b", bias.reshape(16, 1))
    nodes += [
        helper.make_node("DynamicQuantizeLinear", ["c1_x"], ["c1_q", "c1_s", "c1_z"]),
        helper.make_node("ConvInteger", ["c1_q", "c1_w", "c1_z"], ["c1_acc"],
                         strides=[2], pads=[1, 1]),
        helper.make_node("Cast", ["c1_acc"], ["c1_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["c1_s", "c1_ws"], ["c1_scale"]),
        helper.make_node("Mul", ["c1_f", "c1_scale"], ["c1_y"]),
        helper.make_node("Add", ["c1_y", "c1_b"], ["c1"]),
    ]
    q, s, z = dynamic_quantize(x)
    acc = conv(q - z, w.astype(np.int64), [2], [1, 1], [1], 1)
    output("c1", (acc.astype(F32) * F32(s * w_scale) + bias.reshape(16, 1)).astype(F32),
           TensorProto.FLOAT)

    # c2: uint8 x and w, per-channel w zero points, groups, dilation.
    x = rng.integers(0, 256, (1, 4, 7, 6)).astype(np.uint8)
    w = rng.integers(0, 256, (6, 2, 2, 3)).astype(np.uint8)
    xz = np.uint8(131)
    wz = rng.integers(100, 156, 6).astype(np.uint8)
    graph_input("c2_x", x, TensorProto.UINT8)
    init("c2_w", w)
    init("c2_xz", np.array(xz, np.uint8))
    init("c2_wz", wz)
    nodes.append(helper.make_node("ConvInteger", ["c2_x", "c2_w", "c2_xz", "c2_wz"], ["c2"],
                                  group=2, dilations=[2, 1], pads=[1, 0, 2, 1], strides=[1, 2]))
    acc = conv(x.astype(np.int64) - int(xz),
               w.astype(np.int64) - wz.astype(np.int64).reshape(6, 1, 1, 1),
               [1, 2], [1, 0, 2, 1], [2, 1], 2)
    output("c2", acc.astype(np.int32), TensorProto.INT32)

    # q1: a QOperator patch embedding.
    x = rng.integers(0, 256, (2, 3, 8, 8)).astype(np.uint8)
    w = rng.integers(-127, 128, (5, 3, 4, 4)).astype(np.int8)
    xs, xz = F32(0.02), np.uint8(128)
    ws = (0.002 + 0.004 * rng.random(5)).astype(F32)
    ys, yz = F32(0.15), np.uint8(120)
    b = rng.integers(-2000, 2000, 5).astype(np.int32)
    graph_input("q1_x", x, TensorProto.UINT8)
    for name, value in [("q1_xs", np.array(xs, F32)), ("q1_xz", np.array(xz, np.uint8)),
                        ("q1_w", w), ("q1_ws", ws), ("q1_wz", np.zeros(5, np.int8)),
                        ("q1_ys", np.array(ys, F32)), ("q1_yz", np.array(yz, np.uint8)),
                        ("q1_b", b)]:
        init(name, value)
    nodes.append(helper.make_node(
        "QLinearConv", ["q1_x", "q1_xs", "q1_xz", "q1_w", "q1_ws", "q1_wz", "q1_ys", "q1_yz",
                        "q1_b"], ["q1"], kernel_shape=[4, 4], strides=[4, 4]))
    acc = conv(x.astype(np.int64) - int(xz), w.astype(np.int64), [4, 4], [0, 0, 0, 0],
               [1, 1], 1) + b.reshape(5, 1, 1)
    factor = (F32(xs * ws) / ys).astype(F32).reshape(5, 1, 1)
    output("q1", requantize(acc, factor, int(yz), 0, 255).astype(np.uint8), TensorProto.UINT8)

    # q2: int8, depthwise, padded.
    x = rng.integers(-128, 128, (1, 4, 5, 5)).astype(np.int8)
    w = rng.integers(-127, 128, (4, 1, 3, 3)).astype(np.int8)
    xs, xz, ws, ys, yz = F32(0.05), np.int8(-3), F32(0.01), F32(0.2), np.int8(5)
    graph_input("q2_x", x, TensorProto.INT8)
    for name, value in [("q2_xs", np.array(xs, F32)), ("q2_xz", np.array(xz, np.int8)),
                        ("q2_w", w), ("q2_ws", np.array(ws, F32)),
                        ("q2_wz", np.array(0, np.int8)), ("q2_ys", np.array(ys, F32)),
                        ("q2_yz", np.array(yz, np.int8))]:
        init(name, value)
    nodes.append(helper.make_node(
        "QLinearConv", ["q2_x", "q2_xs", "q2_xz", "q2_w", "q2_ws", "q2_wz", "q2_ys", "q2_yz"],
        ["q2"], group=4, pads=[1, 1, 1, 1]))
    acc = conv(x.astype(np.int64) - int(xz), w.astype(np.int64), [1, 1], [1, 1, 1, 1],
               [1, 1], 4)
    output("q2", requantize(acc, (F32(xs * ws) / ys).astype(F32), int(yz), -128, 127)
           .astype(np.int8), TensorProto.INT8)

    graph = helper.make_graph(nodes, "quantized_conv", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(out, "model.onnx"))
    save_arrays(out, arrays)
    print(f"make-quantized-conv: {len(outputs)} outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
