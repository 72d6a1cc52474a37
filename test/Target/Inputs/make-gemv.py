#!/usr/bin/env python3
"""Writes a [1, K] x [K, N] MatMul with a constant weight: make-gemv.py OUT K N"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out, k, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
w = numpy_helper.from_array(np.full((k, n), 0.5, dtype=np.float32), "w")
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w"], ["y"], name="gemv")], "gemv",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n])], [w])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
onnx.save(model, out)
