"""make-dynamic-int8.py OUT_DIR

model.onnx in the form onnxruntime's dynamic quantization writes a linear
layer: the activations quantized at run time to uint8 with a zero point
(DynamicQuantizeLinear), MatMulInteger with symmetric int8 weights (a zero
weight zero point given explicitly), the int32 products scaled back to f32
and a bias added. x.npy is a random input [2, 8, 64].
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(5)
k, n = 64, 48
w = rng.normal(0, 0.1, (k, n)).astype(np.float32)
w_scale = np.float32(np.abs(w).max() / 127)
w_q = np.clip(np.rint(w / w_scale), -127, 127).astype(np.int8)
bias = rng.normal(0, 0.1, (n,)).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node("DynamicQuantizeLinear", ["x"], ["x_q", "x_scale", "x_zp"],
                      name="/fc/DynamicQuantizeLinear"),
     helper.make_node("MatMulInteger", ["x_q", "w_q", "x_zp", "w_zp"], ["acc"],
                      name="/fc/MatMulInteger"),
     helper.make_node("Cast", ["acc"], ["acc_f"], to=TensorProto.FLOAT),
     helper.make_node("Mul", ["x_scale", "w_scale"], ["scale"]),
     helper.make_node("Mul", ["acc_f", "scale"], ["y0"]),
     helper.make_node("Add", ["y0", "bias"], ["y"])],
    "dynamic_int8",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8, k])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8, n])],
    [numpy_helper.from_array(w_q, "w_q"),
     numpy_helper.from_array(np.array(0, dtype=np.int8), "w_zp"),
     numpy_helper.from_array(np.array(w_scale, dtype=np.float32), "w_scale"),
     numpy_helper.from_array(bias, "bias")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.checker.check_model(model)
onnx.save(model, f"{out}/model.onnx")
np.save(f"{out}/x.npy", rng.normal(0, 1, (2, 8, k)).astype(np.float32))
