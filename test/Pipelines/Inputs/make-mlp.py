# Writes a small ONNX MLP block (MatMul with a 16x32 weight, bias, GELU as
# x*0.5*(1+erf(x/sqrt2)), a second MatMul, Softmax), its inputs and numpy
# reference outputs into the folder given as argv[1].
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(7)
x = rng.standard_normal((2, 4, 16)).astype(np.float32)
w1 = (rng.standard_normal((16, 32)) * 0.3).astype(np.float32)
b1 = (rng.standard_normal((32,)) * 0.1).astype(np.float32)
w2 = (rng.standard_normal((32, 8)) * 0.3).astype(np.float32)

nodes = [
    helper.make_node("MatMul", ["x", "w1"], ["h0"], name="fc1"),
    helper.make_node("Add", ["h0", "b1"], ["h1"], name="bias1"),
    helper.make_node("Div", ["h1", "sqrt2"], ["g0"], name="gelu_div"),
    helper.make_node("Erf", ["g0"], ["g1"], name="gelu_erf"),
    helper.make_node("Add", ["g1", "one"], ["g2"], name="gelu_add"),
    helper.make_node("Mul", ["h1", "g2"], ["g3"], name="gelu_mul"),
    helper.make_node("Mul", ["g3", "half"], ["g4"], name="gelu_half"),
    helper.make_node("MatMul", ["g4", "w2"], ["logits"], name="fc2"),
    helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
]
initializers = [
    numpy_helper.from_array(w1, "w1"),
    numpy_helper.from_array(b1, "b1"),
    numpy_helper.from_array(w2, "w2"),
    numpy_helper.from_array(np.array(math.sqrt(2.0), np.float32), "sqrt2"),
    numpy_helper.from_array(np.array(1.0, np.float32), "one"),
    numpy_helper.from_array(np.array(0.5, np.float32), "half"),
]
graph = helper.make_graph(
    nodes, "mlp",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4, 16])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [2, 4, 8]),
     helper.make_tensor_value_info("probs", TensorProto.FLOAT, [2, 4, 8])],
    initializers)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.save(model, os.path.join(out, "mlp.onnx"))

h1 = (x.astype(np.float64) @ w1 + b1)
erf = np.vectorize(math.erf)
g4 = h1 * (1.0 + erf(h1 / math.sqrt(2.0))) * 0.5
logits = g4 @ w2
e = np.exp(logits - logits.max(axis=-1, keepdims=True))
probs = e / e.sum(axis=-1, keepdims=True)
np.save(os.path.join(out, "x.npy"), x)
np.save(os.path.join(out, "logits.npy"), logits.astype(np.float32))
np.save(os.path.join(out, "probs.npy"), probs.astype(np.float32))
