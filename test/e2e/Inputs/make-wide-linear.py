"""make-wide-linear.py OUT_DIR M K N

model.onnx: y = x @ W + b, x f32 [1, M, K], W [K, N], b [N] (an LM head's
shape when N is a vocabulary), and x.npy, a random input.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out, m, k, n = sys.argv[1], *map(int, sys.argv[2:5])
rng = np.random.default_rng(7)
w = rng.normal(0, 0.05, (k, n)).astype(np.float32)
b = rng.normal(0, 0.1, (n,)).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "W"], ["xw"], name="/head/MatMul"),
     helper.make_node("Add", ["xw", "b"], ["y"], name="/head/Add")],
    "wide",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, m, k])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, m, n])],
    [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
onnx.checker.check_model(model)
onnx.save(model, f"{out}/model.onnx")
np.save(f"{out}/x.npy", rng.normal(0, 1, (1, m, k)).astype(np.float32))
