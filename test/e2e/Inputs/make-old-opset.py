#!/usr/bin/env python3
"""Writes a model of opset 9 whose ops have the forms that changed before
opset 13, with numpy references of what those forms compute:

    make-old-opset.py OUT_DIR   -> model.onnx, x.npy, y0.npy .. y15.npy

y0  Softmax(x, axis=1): x coerced to 2-D [2, 60]
y1  LogSoftmax(x, axis=2): [6, 20]
y2  Hardmax(x): the default axis 1, [2, 60]
y3  Softmax(x, axis=3): the last axis, as since opset 13
y4  Slice(x) with starts/ends/axes attributes (inputs since opset 10)
y5  Pad(x) with pads and value attributes (inputs since opset 11)
y6  Clip(x) with min/max attributes (inputs since opset 11)
y7  Upsample(x, scales) nearest (Resize since opset 10)
y8  TopK(x) values with the k attribute (an input since opset 10)
y9  its indices
y10 Split(x) with the split attribute (an input since opset 13), first part
y11 Squeeze(Unsqueeze(x)) with axes attributes (inputs since opset 13)
y12 ReduceSum(x) with the axes attribute (an input since opset 13)
y13 Scatter(x) (ScatterElements since opset 11)
y14 com.microsoft Gelu(x): a node of another domain in an old model
y15 a local function's call (inlined before the upgrade): Unsqueeze and
    Squeeze with axes attributes, then Softmax(axis=1) coerced to [2, 60]
"""
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SHAPE = [2, 3, 4, 5]


def softmax_2d(v, axis):
    flat = v.reshape(int(np.prod(v.shape[:axis])), -1)
    e = np.exp(flat - flat.max(1, keepdims=True))
    return (e / e.sum(1, keepdims=True)).reshape(v.shape)


def hardmax_2d(v, axis):
    flat = v.reshape(int(np.prod(v.shape[:axis])), -1)
    out = np.zeros_like(flat)
    out[np.arange(flat.shape[0]), flat.argmax(1)] = 1
    return out.reshape(v.shape)


def main(out):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE).astype(np.float32)
    # Two distinct rows per column: ScatterElements leaves duplicates open.
    indices = np.argsort(rng.random((2, 3, 4, 5)), axis=1)[:, :2].astype(np.int64)
    updates = rng.standard_normal((2, 2, 4, 5)).astype(np.float32)
    scales = np.array([1, 1, 2, 2], dtype=np.float32)
    node = helper.make_node
    nodes = [
        node("Softmax", ["x"], ["y0"], axis=1),
        node("LogSoftmax", ["x"], ["y1"], axis=2),
        node("Hardmax", ["x"], ["y2"]),
        node("Softmax", ["x"], ["y3"], axis=3),
        node("Slice", ["x"], ["y4"], starts=[1], ends=[3], axes=[2]),
        node("Pad", ["x"], ["y5"], pads=[0, 0, 1, 0, 0, 0, 0, 2], value=0.5),
        node("Clip", ["x"], ["y6"], min=-0.5, max=0.5),
        node("Upsample", ["x", "scales"], ["y7"], mode="nearest"),
        node("TopK", ["x"], ["y8", "y9"], k=2, axis=-1),
        node("Split", ["x"], ["y10", "rest"], axis=3, split=[2, 3]),
        node("Unsqueeze", ["x"], ["x1"], axes=[0]),
        node("Squeeze", ["x1"], ["y11"], axes=[0]),
        node("ReduceSum", ["x"], ["y12"], axes=[1], keepdims=0),
        node("Scatter", ["x", "indices", "updates"], ["y13"], axis=1),
        node("Gelu", ["x"], ["y14"], domain="com.microsoft"),
        node("Block", ["x"], ["y15"], domain="local"),
    ]
    block = helper.make_function(
        "local", "Block", ["v"], ["w"],
        [node("Unsqueeze", ["v"], ["u"], axes=[0]),
         node("Squeeze", ["u"], ["s"], axes=[0]),
         node("Softmax", ["s"], ["w"], axis=1)],
        [helper.make_opsetid("", 9)])
    scattered = x.copy()
    for i, j, k, m in np.ndindex(*indices.shape):
        scattered[i, indices[i, j, k, m], k, m] = updates[i, j, k, m]
    top = np.argsort(-x, axis=-1, kind="stable")[..., :2]
    refs = [
        softmax_2d(x, 1),
        np.log(softmax_2d(x, 2)),
        hardmax_2d(x, 1),
        softmax_2d(x, 3),
        x[:, :, 1:3],
        np.pad(x, [(0, 0), (0, 0), (1, 0), (0, 2)], constant_values=0.5),
        np.clip(x, -0.5, 0.5),
        x.repeat(2, axis=2).repeat(2, axis=3),
        np.take_along_axis(x, top, -1),
        top,
        x[..., :2],
        x,
        x.sum(1),
        scattered,
        0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))),
        softmax_2d(x, 1),
    ]
    outputs = [
        helper.make_tensor_value_info(
            f"y{i}", TensorProto.INT64 if ref.dtype == np.int64 else TensorProto.FLOAT,
            list(ref.shape))
        for i, ref in enumerate(refs)
    ]
    graph = helper.make_graph(
        nodes, "old_opset",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE),
         helper.make_tensor_value_info("indices", TensorProto.INT64, list(indices.shape)),
         helper.make_tensor_value_info("updates", TensorProto.FLOAT, list(updates.shape))],
        outputs, initializer=[numpy_helper.from_array(scales, "scales")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9),
                                                    helper.make_opsetid("com.microsoft", 1),
                                                    helper.make_opsetid("local", 1)],
                              producer_name="llmc-tests", functions=[block])
    # Local functions need IR 8.
    model.ir_version = 8
    os.makedirs(out, exist_ok=True)
    onnx.save(model, os.path.join(out, "model.onnx"))
    for name, value in [("x", x), ("indices", indices), ("updates", updates)]:
        np.save(os.path.join(out, f"{name}.npy"), value)
    for i, ref in enumerate(refs):
        np.save(os.path.join(out, f"y{i}.npy"), ref.astype(ref.dtype))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
