#!/usr/bin/env python3
"""Writes a MaxPool -> MaxUnpool model (SegNet's encoder/decoder pairing)
and its numpy reference:

    make-unpool.py OUT_DIR   -> model.onnx, x.npy, y.npy, z.npy

y = MaxUnpool(2 * MaxPool(x), Indices): kernel 3, stride 2, pads 1 on
x [2, 3, 7, 7], the unpooled shape x's own; z = the same unpooling of the
pooled values with output_shape [2, 3, 8, 9], larger than the unpooled
[2, 3, 7, 7]: ONNX's reference pads it with zeros at the end of each
spatial dim, the indices staying those of the unpooled shape.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def max_pool_with_indices(x, k, s, p):
    n, c, h, w = x.shape
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    values = np.zeros((n, c, oh, ow), np.float32)
    indices = np.zeros((n, c, oh, ow), np.int64)
    for b, ch, i, j in np.ndindex(n, c, oh, ow):
        best, where = -np.inf, -1
        for di, dj in np.ndindex(k, k):
            r, q = i * s - p + di, j * s - p + dj
            if 0 <= r < h and 0 <= q < w and x[b, ch, r, q] > best:
                best, where = x[b, ch, r, q], ((b * c + ch) * h + r) * w + q
        values[b, ch, i, j], indices[b, ch, i, j] = best, where
    return values, indices


def unpool(values, indices, unpooled, shape):
    flat = np.zeros(int(np.prod(unpooled)), np.float32)
    flat[indices.reshape(-1)] = values.reshape(-1)
    out = np.zeros(shape, np.float32)
    out[tuple(slice(0, d) for d in unpooled)] = flat.reshape(unpooled)
    return out


def main(out):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 7, 7)).astype(np.float32)
    pooled, indices = max_pool_with_indices(x, 3, 2, 1)
    window = dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    nodes = [
        helper.make_node("MaxPool", ["x"], ["pooled", "indices"], **window),
        helper.make_node("Constant", [], ["two"], value=numpy_helper.from_array(
            np.array(2, np.float32), "two")),
        helper.make_node("Mul", ["pooled", "two"], ["scaled"]),
        helper.make_node("MaxUnpool", ["scaled", "indices"], ["y"], **window),
        helper.make_node("Constant", [], ["shape"], value=numpy_helper.from_array(
            np.array([2, 3, 8, 9], np.int64), "shape")),
        helper.make_node("MaxUnpool", ["pooled", "indices", "shape"], ["z"], **window),
    ]
    graph = helper.make_graph(
        nodes, "unpool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, x.shape),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 3, 8, 9])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    os.makedirs(out, exist_ok=True)
    onnx.save(model, os.path.join(out, "model.onnx"))
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "y.npy"), unpool(2 * pooled, indices, x.shape, x.shape))
    np.save(os.path.join(out, "z.npy"), unpool(pooled, indices, x.shape, (2, 3, 8, 9)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
