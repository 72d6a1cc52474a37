#!/usr/bin/env python3
"""Writes a decoding step's routed experts: each of R rows of x [R, 1, K]
times the [K, N] weights of its expert, gathered from a constant
[E, K, N] table at run-time indices ids [R]:
make-experts-gemv.py OUT E R K N"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out, e, r, k, n = sys.argv[1], *map(int, sys.argv[2:6])
w = numpy_helper.from_array(np.full((e, k, n), 0.5, dtype=np.float32), "w")
graph = helper.make_graph(
    [helper.make_node("Gather", ["w", "ids"], ["wr"], name="experts", axis=0),
     helper.make_node("MatMul", ["x", "wr"], ["y"], name="gemv")], "experts",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [r, 1, k]),
     helper.make_tensor_value_info("ids", TensorProto.INT64, [r])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [r, 1, n])], [w])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
onnx.save(model, out)
