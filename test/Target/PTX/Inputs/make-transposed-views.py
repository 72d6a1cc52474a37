#!/usr/bin/env python3
"""Writes OUT/model.onnx, x.npy and numpy's expected_y.npy and
expected_z.npy: slices and splits of transposes, whose ptx lowering reads
views of the untransposed input (llm-concat-slices-as-gather):

    y = -Slice(Transpose(x, perm [1, 2, 0]), starts [0, 2, 1], ends
        [3, 8, 4], steps [1, 2, 1])   (a permutation not its own inverse,
                                       a step other than one)
    z = Relu(Split(Transpose(x, perm [2, 0, 1]), [2, 4], axis 2)[1])

    make-transposed-views.py OUT
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
x = np.random.default_rng(1).standard_normal((4, 6, 8)).astype(np.float32)
nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[1, 2, 0]),
         helper.make_node("Slice", ["t", "st", "en", "ax", "sp"], ["s"]),
         helper.make_node("Neg", ["s"], ["y"]),
         helper.make_node("Transpose", ["x"], ["t2"], perm=[2, 0, 1]),
         helper.make_node("Split", ["t2", "sizes"], ["a", "b"], axis=2),
         helper.make_node("Relu", ["b"], ["z"])]
inits = [numpy_helper.from_array(np.array(v, np.int64), n)
         for n, v in (("st", [0, 2, 1]), ("en", [3, 8, 4]), ("ax", [0, 1, 2]),
                      ("sp", [1, 2, 1]), ("sizes", [2, 4]))]
graph = helper.make_graph(
    nodes, "views", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 6, 8])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 3, 3]),
     helper.make_tensor_value_info("z", TensorProto.FLOAT, [8, 4, 4])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
onnx.checker.check_model(model)
onnx.save(model, os.path.join(out, "model.onnx"))
np.save(os.path.join(out, "x.npy"), x)
np.save(os.path.join(out, "expected_y.npy"), -x.transpose(1, 2, 0)[0:3, 2:8:2, 1:4])
np.save(os.path.join(out, "expected_z.npy"), np.maximum(x.transpose(2, 0, 1)[:, :, 2:], 0))
