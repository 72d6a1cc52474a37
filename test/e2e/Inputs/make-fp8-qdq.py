#!/usr/bin/env python3
"""Writes OUT/model.onnx (opset 19): FP8 QDQ in the forms ONNX Runtime's
quantize_static (activation_type and weight_type QFLOAT8E4M3FN) and NVIDIA's
ModelOpt FP8 exports write, with inputs and numpy references
(OUT/expected_*.npy) from fp8.py's table of E4M3 values:

    make-fp8-qdq.py OUT
    make-fp8-qdq.py OUT --error e5m2|saturate|add

  y1  x [3,40] -> QuantizeLinear (FLOAT8E4M3FN zero point, scale 0.5) ->
      DequantizeLinear: the fake-quantized values, exactly. x holds ties,
      subnormals, values past 448 * 0.5, +-inf and -0
  y2  x -> Cast to FLOAT8E4M3FN -> Cast to FLOAT: the same with scale 1
  y3  x2 [2,5,64] through QuantizeLinear/DequantizeLinear (per tensor) ->
      MatMul with an E4M3 weight [64,24] through DequantizeLinear (per
      column, axis 1) -> Add bias
  y4  x3 [6,64] through QDQ -> Gemm (transB) with an E4M3 weight [16,64]
      per row (axis 0), plus C
  y5  x2's QDQ -> MatMul with an E4M3 weight stored [24,64], Transposed
      (as FP8) before its DequantizeLinear (axis 1)
  y6  x2's QDQ -> MatMul with a float weight [64,24] that the graph
      quantizes: QuantizeLinear (per column, FLOAT8E4M3FN) and
      DequantizeLinear
  y7  ModelOpt's form: x3 and a float weight [64,16] each through
      TRT_FP8QuantizeLinear and TRT_FP8DequantizeLinear (domain trt, per
      tensor) -> MatMul
  y8  y1's FP8 bytes (QuantizeLinear's result, through Identity) as a graph
      output of type FLOAT8E4M3FN: llmc gives their float32 values
  y9  u [16] uint8 -> Cast to FLOAT8E4M3FN -> Cast to FLOAT (u read as
      0..255)

References: y1, y2, y8, y9 exact; y3-y7 the float64 sum of the products of the
dequantized values, rounded to float32 (the f32 sums llmc computes differ
in their order only).

--error writes a model llmc rejects instead: an E5M2 weight (FLOAT8E5M2),
QuantizeLinear with saturate=0, or an Add reading FP8 bytes.
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fp8 import e4m3_bytes, e4m3_tensor, e4m3_values  # noqa: E402

rng = np.random.default_rng(19)
f32 = np.float32


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--error", choices=["e5m2", "saturate", "add"])
    args = parser.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    nodes, inits, inputs, outputs, refs = [], [], [], [], {}

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    zero8 = "zero.e4m3"
    inits.append(e4m3_tensor(zero8, np.uint8(0)))

    def graph_input(name, x):
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(x.shape)))
        np.save(os.path.join(out, name + ".npy"), x)

    def qdq(name, scale, **attrs):
        const(name + ".s", f32(scale))
        nodes.append(helper.make_node("QuantizeLinear", [name, name + ".s", zero8],
                                      [name + ".q"], **attrs))
        nodes.append(helper.make_node("DequantizeLinear", [name + ".q", name + ".s", zero8],
                                      [name + ".dq"]))
        return name + ".dq"

    def fake(x, scale):
        return e4m3_values(e4m3_bytes(x / f32(scale))) * f32(scale)

    # y1, y2: rounding. Ties between neighbours (1.0625 between 1 and
    # 1.125, 0.0029296875 = 1.5 * 2^-9 between subnormals), subnormals,
    # saturation, infinities, signed zeros, then random values.
    special = np.array([1.0625, 1.1875, -1.0625, 0.0029296875, 0.0009765625, 0.001, -0.004,
                        0.015625, 0.0146484375, 240.0, 250.0, 447.0, 448.0, 463.0, 465.0, 500.0,
                        1e6, -1e6, np.inf, -np.inf, 0.0, -0.0, 1e-9, -1e-9], f32)
    x = np.concatenate([special, rng.standard_normal(120 - len(special)).astype(f32) * 40])
    x = x.reshape(3, 40).astype(f32)
    graph_input("x", x)
    x_half = x * f32(2)  # QuantizeLinear divides by the scale 0.5
    attrs = {"saturate": 0} if args.error == "saturate" else {}
    refs["y1"] = fake(x_half, 1.0) * f32(0.5)
    const("x.s", f32(0.5))
    nodes += [helper.make_node("QuantizeLinear", ["x", "x.s", zero8], ["x.q"], **attrs),
              helper.make_node("DequantizeLinear", ["x.q", "x.s", zero8], ["y1"])]
    nodes.append(helper.make_node("Identity", ["x.q"], ["y8"]))
    refs["y8"] = fake(x_half, 1.0)
    refs["y2"] = fake(x, 1.0)
    nodes += [helper.make_node("Cast", ["x"], ["x.f8"], to=17),
              helper.make_node("Cast", ["x.f8"], ["y2"], to=TensorProto.FLOAT)]

    # y9: uint8 through FP8.
    u = np.array([0, 1, 3, 17, 100, 127, 128, 129, 200, 232, 240, 247, 248, 250, 254, 255],
                 np.uint8)
    inputs.append(helper.make_tensor_value_info("u", TensorProto.UINT8, [16]))
    np.save(os.path.join(out, "u.npy"), u)
    nodes += [helper.make_node("Cast", ["u"], ["u.f8"], to=17),
              helper.make_node("Cast", ["u.f8"], ["y9"], to=TensorProto.FLOAT)]
    refs["y9"] = fake(u.astype(f32), 1.0)

    # y3: a linear layer, per-column weight scales.
    x2 = rng.standard_normal((2, 5, 64)).astype(f32)
    graph_input("x2", x2)
    s2 = f32(np.abs(x2).max() / 448)
    x2dq = qdq("x2", s2)
    w = rng.standard_normal((64, 24)).astype(f32) * 0.2
    sw = (np.abs(w).max(0) / 448).astype(f32)
    wq = e4m3_bytes(w / sw)
    if args.error == "e5m2":
        tensor = e4m3_tensor("w", wq)
        tensor.data_type = 19
        inits.append(tensor)
    else:
        inits.append(e4m3_tensor("w", wq))
    const("w.s", sw)
    bias = rng.standard_normal(24).astype(f32)
    const("bias", bias)
    inits.append(e4m3_tensor("w.z", np.zeros(24, np.uint8)))
    nodes += [helper.make_node("DequantizeLinear", ["w", "w.s", "w.z"], ["w.dq"], axis=1),
              helper.make_node("MatMul", [x2dq, "w.dq"], ["y3.mm"]),
              helper.make_node("Add", ["y3.mm", "bias"], ["y3"])]
    a = fake(x2, s2).astype(np.float64)
    wd = (e4m3_values(wq) * sw).astype(np.float64)
    refs["y3"] = (a @ wd).astype(f32) + bias

    # y4: Gemm, transB, weight [N, K] per row.
    x3 = rng.standard_normal((6, 64)).astype(f32) * 3
    graph_input("x3", x3)
    s3 = f32(np.abs(x3).max() / 448)
    x3dq = qdq("x3", s3)
    w3 = rng.standard_normal((16, 64)).astype(f32) * 0.1
    sw3 = (np.abs(w3).max(1) / 448).astype(f32)
    w3q = e4m3_bytes(w3 / sw3[:, None])
    inits.append(e4m3_tensor("w3", w3q))
    const("w3.s", sw3)
    c3 = rng.standard_normal(16).astype(f32)
    const("c3", c3)
    nodes += [helper.make_node("DequantizeLinear", ["w3", "w3.s"], ["w3.dq"], axis=0),
              helper.make_node("Gemm", [x3dq, "w3.dq", "c3"], ["y4"], transB=1)]
    a3 = fake(x3, s3).astype(np.float64)
    w3d = (e4m3_values(w3q) * sw3[:, None]).astype(np.float64)
    refs["y4"] = (a3 @ w3d.T).astype(f32) + c3

    # y5: an FP8 weight [N, K] transposed as FP8, then dequantized.
    w5 = rng.standard_normal((24, 64)).astype(f32) * 0.3
    sw5 = (np.abs(w5).max(1) / 448).astype(f32)
    w5q = e4m3_bytes(w5 / sw5[:, None])
    inits.append(e4m3_tensor("w5", w5q))
    const("w5.s", sw5)
    nodes += [helper.make_node("Transpose", ["w5"], ["w5.t"], perm=[1, 0]),
              helper.make_node("DequantizeLinear", ["w5.t", "w5.s"], ["w5.dq"], axis=1),
              helper.make_node("MatMul", [x2dq, "w5.dq"], ["y5"])]
    w5d = (e4m3_values(w5q) * sw5[:, None]).astype(np.float64)
    refs["y5"] = (a @ w5d.T).astype(f32)

    # y6: a float weight quantized by the graph (per column).
    w6 = rng.standard_normal((64, 24)).astype(f32) * 0.5
    sw6 = (np.abs(w6).max(0) / 448).astype(f32)
    const("w6", w6)
    const("w6.s", sw6)
    nodes += [helper.make_node("QuantizeLinear", ["w6", "w6.s", "w.z"], ["w6.q"], axis=1),
              helper.make_node("DequantizeLinear", ["w6.q", "w6.s", "w.z"], ["w6.dq"], axis=1),
              helper.make_node("MatMul", [x2dq, "w6.dq"], ["y6"])]
    w6d = (e4m3_values(e4m3_bytes(w6 / sw6)) * sw6).astype(np.float64)
    refs["y6"] = (a @ w6d).astype(f32)

    # y7: TensorRT's FP8 Q/DQ (ModelOpt), per tensor.
    w7 = rng.standard_normal((64, 16)).astype(f32) * 0.5
    s7x, s7w = f32(np.abs(x3).max() / 448), f32(np.abs(w7).max() / 448)
    const("w7", w7)
    const("x3.s7", s7x)
    const("w7.s", s7w)
    for value, scale in (("x3", "x3.s7"), ("w7", "w7.s")):
        nodes += [helper.make_node("TRT_FP8QuantizeLinear", [value, scale], [value + ".q7"],
                                   domain="trt"),
                  helper.make_node("TRT_FP8DequantizeLinear", [value + ".q7", scale],
                                   [value + ".dq7"], domain="trt")]
    nodes.append(helper.make_node("MatMul", ["x3.dq7", "w7.dq7"], ["y7"]))
    w7d = (e4m3_values(e4m3_bytes(w7 / s7w)) * s7w).astype(np.float64)
    refs["y7"] = (fake(x3, s7x).astype(np.float64) @ w7d).astype(f32)

    if args.error == "add":
        nodes.append(helper.make_node("Add", ["x.q", "x.q"], ["bad"], name="add_fp8"))
        outputs.append(helper.make_tensor_value_info("bad", 17, None))

    for name, value in refs.items():
        elem = 17 if name == "y8" else TensorProto.FLOAT
        outputs.append(helper.make_tensor_value_info(name, elem, list(value.shape)))
        np.save(os.path.join(out, f"expected_{name}.npy"), value.astype(f32))
    graph = helper.make_graph(nodes, "fp8_qdq", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19),
                                                    helper.make_opsetid("trt", 1)])
    # onnx 1.12's checker knows neither opset 19 nor FLOAT8.
    onnx.save(model, os.path.join(out, "model.onnx"))
    print(f"make-fp8-qdq: {len(refs)} outputs" + (f" ({args.error})" if args.error else ""))


if __name__ == "__main__":
    main()
