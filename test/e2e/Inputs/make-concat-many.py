#!/usr/bin/env python3
"""Writes a model joining N computed pieces in one Concat, its input and
numpy's output.

    make-concat-many.py OUT_DIR N

x [N, 3] splits into N rows; row i becomes sigmoid(row) * (i + 1), and the
N rows join along axis 1: y [1, 3 N].
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    pieces = [f"p{i}" for i in range(n)]
    nodes = [helper.make_node("Split", ["x", "sizes"], pieces, axis=0)]
    inits = [numpy_helper.from_array(np.ones(n, np.int64), "sizes")]
    joined = []
    for i in range(n):
        inits.append(numpy_helper.from_array(np.array(i + 1, np.float32), f"k{i}"))
        nodes.append(helper.make_node("Sigmoid", [pieces[i]], [f"s{i}"]))
        nodes.append(helper.make_node("Mul", [f"s{i}", f"k{i}"], [f"m{i}"]))
        joined.append(f"m{i}")
    nodes.append(helper.make_node("Concat", joined, ["y"], axis=1))
    graph = helper.make_graph(
        nodes, "concat_many",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3 * n])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "model.onnx"))
    x = np.random.default_rng(0).standard_normal((n, 3)).astype(np.float32)
    scale = np.arange(1, n + 1, dtype=np.float32)[:, None]
    y = (1 / (1 + np.exp(-x)) * scale).reshape(1, 3 * n)
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "y.npy"), y.astype(np.float32))


if __name__ == "__main__":
    main()
