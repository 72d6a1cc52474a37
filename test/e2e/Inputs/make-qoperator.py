#!/usr/bin/env python3
"""Writes OUT/model.onnx: ONNX Runtime's QOperator-format ops (domain
com.microsoft, as quantize_static(quant_format=QOperator) and the ONNX
Model Zoo's int8 models write them) on 8-bit tensors, with inputs and
numpy references (OUT/expected_*.npy) of the form they stand for: each
quantized input dequantized, the float op in float32, the result quantized
(round half to even, saturate):

    make-qoperator.py OUT

  xq    x [2,4,8] -> QuantizeLinear (uint8)
  add   QLinearAdd(xq, a uint8 [8] constant)             uint8
  mul   QLinearMul(add, an int8 [1] constant)            int8 (zero point -3)
  sig   QLinearSigmoid(mul)                              uint8
  lrelu QLinearLeakyRelu(xq, alpha 0.1)                  uint8
  soft  QLinearSoftmax(xq, axis -1)                      uint8
  cat   QLinearConcat(xq, lrelu, axis 2)                 uint8
  rmean QLinearReduceMean(xq, axes [-1], keepdims 1)     uint8
  where QLinearWhere(a bool [8] constant, xq, lrelu)     uint8
  gpool QLinearGlobalAveragePool(p [2,3,4,4] NCHW)       uint8
  gpcl  the same of p's NHWC copy, channels_last 1       uint8
  apool QLinearAveragePool(p, 2x2 kernel, stride 2)      uint8
  gemm  QGemm(x2 [4,8] uint8, B [6,8] int8 per row, transB, int32 C)
                                                         uint8
  gemmf the same with alpha 0.5, without y_scale         float32
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

f32 = np.float32
RANGE = {np.uint8: (0, 255), np.int8: (-128, 127)}


def quantize(x, scale, zero, dtype=np.uint8):
    lo, hi = RANGE[dtype]
    return np.clip(np.rint(x.astype(f32) / f32(scale)) + f32(zero), lo, hi).astype(dtype)


def dequantize(q, scale, zero):
    return ((q.astype(np.int32) - np.int32(zero)).astype(f32) * np.asarray(scale, f32)).astype(f32)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(11)
    nodes, inits, outputs, expected = [], [], [], {}

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def params(name, scale, zero, dtype=np.uint8):
        return [const(name + ".s", f32(scale)), const(name + ".z", dtype(zero))]

    def ms(op, inputs, output, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], domain="com.microsoft", **attrs))

    def result(name, value, elem):
        outputs.append(helper.make_tensor_value_info(name, elem, list(value.shape)))
        expected[name] = value

    x = rng.uniform(-3, 3, (2, 4, 8)).astype(f32)
    nodes.append(helper.make_node("QuantizeLinear", ["x"] + params("xq", 0.05, 128), ["xq"]))
    xq = quantize(x, 0.05, 128)
    xf = dequantize(xq, 0.05, 128)

    c = rng.integers(0, 256, 8).astype(np.uint8)
    const("c", c)
    ms("QLinearAdd", ["xq", "xq.s", "xq.z", "c"] + params("c", 0.02, 90) + params("add", 0.08, 120),
       "add")
    add = quantize(xf + dequantize(c, 0.02, 90), 0.08, 120)
    result("add", add, TensorProto.UINT8)

    m = np.array([-77], np.int8)
    const("m", m)
    ms("QLinearMul", ["add", "add.s", "add.z", "m"] + params("m", 0.01, 5, np.int8)
       + params("mul", 0.05, -3, np.int8), "mul")
    mul = quantize(dequantize(add, 0.08, 120) * dequantize(m, 0.01, 5), 0.05, -3, np.int8)
    result("mul", mul, TensorProto.INT8)

    ms("QLinearSigmoid", ["mul", "mul.s", "mul.z"] + params("sig", 1 / 256, 0), "sig")
    mf = dequantize(mul, 0.05, -3)
    sig = quantize(1 / (1 + np.exp(-mf.astype(np.float64))), 1 / 256, 0)
    result("sig", sig, TensorProto.UINT8)

    ms("QLinearLeakyRelu", ["xq", "xq.s", "xq.z"] + params("lrelu", 0.04, 10), "lrelu", alpha=0.1)
    lrelu = quantize(np.where(xf < 0, f32(0.1) * xf, xf), 0.04, 10)
    result("lrelu", lrelu, TensorProto.UINT8)

    ms("QLinearSoftmax", ["xq", "xq.s", "xq.z"] + params("soft", 1 / 256, 0), "soft", axis=-1,
       opset=13)
    e = np.exp(xf.astype(np.float64) - xf.max(-1, keepdims=True))
    soft = quantize(e / e.sum(-1, keepdims=True), 1 / 256, 0)
    result("soft", soft, TensorProto.UINT8)

    ms("QLinearConcat", params("cat", 0.05, 100) + ["xq", "xq.s", "xq.z", "lrelu", "lrelu.s",
                                                    "lrelu.z"], "cat", axis=2)
    cat = quantize(np.concatenate([xf, dequantize(lrelu, 0.04, 10)], axis=2), 0.05, 100)
    result("cat", cat, TensorProto.UINT8)

    ms("QLinearReduceMean", ["xq", "xq.s", "xq.z"] + params("rmean", 0.0061, 128), "rmean",
       axes=[-1], keepdims=1)
    result("rmean", quantize(xf.mean(-1, keepdims=True), 0.0061, 128), TensorProto.UINT8)

    cond = np.array([True, False] * 4)
    const("cond", cond)
    ms("QLinearWhere", ["cond", "xq", "xq.s", "xq.z", "lrelu", "lrelu.s", "lrelu.z"]
       + params("where", 0.05, 110), "where")
    where = quantize(np.where(cond, xf, dequantize(lrelu, 0.04, 10)), 0.05, 110)
    result("where", where, TensorProto.UINT8)

    p = rng.uniform(-1, 1, (2, 3, 4, 4)).astype(f32)
    nodes.append(helper.make_node("QuantizeLinear", ["p"] + params("pq", 0.01, 128), ["pq"]))
    pf = dequantize(quantize(p, 0.01, 128), 0.01, 128)
    ms("QLinearGlobalAveragePool", ["pq", "pq.s", "pq.z"] + params("gpool", 0.0047, 128), "gpool")
    result("gpool", quantize(pf.mean((2, 3), keepdims=True), 0.0047, 128), TensorProto.UINT8)
    nodes.append(helper.make_node("Transpose", ["p"], ["p_nhwc"], perm=[0, 2, 3, 1]))
    nodes.append(helper.make_node("QuantizeLinear", ["p_nhwc", "pq.s", "pq.z"], ["pq_nhwc"]))
    ms("QLinearGlobalAveragePool", ["pq_nhwc", "pq.s", "pq.z", "gpool.s", "gpool.z"], "gpcl",
       channels_last=1)
    result("gpcl", quantize(pf.mean((2, 3), keepdims=True), 0.0047, 128).transpose(0, 2, 3, 1),
           TensorProto.UINT8)
    ms("QLinearAveragePool", ["pq", "pq.s", "pq.z"] + params("apool", 0.0073, 128), "apool",
       kernel_shape=[2, 2], strides=[2, 2])
    windows = pf.reshape(2, 3, 2, 2, 2, 2).mean((3, 5))
    result("apool", quantize(windows, 0.0073, 128), TensorProto.UINT8)

    x2 = rng.uniform(-2, 2, (4, 8)).astype(f32)
    nodes.append(helper.make_node("QuantizeLinear", ["x2"] + params("x2q", 0.02, 128), ["x2q"]))
    x2f = dequantize(quantize(x2, 0.02, 128), 0.02, 128)
    b = rng.integers(-127, 128, (6, 8)).astype(np.int8)
    bs = rng.uniform(0.005, 0.02, 6).astype(f32)
    bias = rng.integers(-2000, 2000, 6).astype(np.int32)
    const("b", b)
    const("b.s", bs)
    const("b.z", np.zeros(6, np.int8))
    const("bias", bias)
    gemm_in = ["x2q", "x2q.s", "x2q.z", "b", "b.s", "b.z", "bias"]
    ms("QGemm", gemm_in + params("gemm", 0.03, 128), "gemm", transB=1)
    ms("QGemm", gemm_in, "gemmf", transB=1, alpha=0.5)
    bf = (b.astype(f32) * bs[:, None]).astype(f32)
    biasf = (bias.astype(f32) * (f32(0.02) * bs)).astype(f32)
    product = x2f.astype(np.float64) @ bf.T.astype(np.float64)
    result("gemm", quantize((product + biasf).astype(f32), 0.03, 128), TensorProto.UINT8)
    result("gemmf", (f32(0.5) * product + biasf).astype(f32), TensorProto.FLOAT)

    graph = helper.make_graph(
        nodes, "qoperator",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4, 8]),
         helper.make_tensor_value_info("p", TensorProto.FLOAT, [2, 3, 4, 4]),
         helper.make_tensor_value_info("x2", TensorProto.FLOAT, [4, 8])],
        outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("com.microsoft", 1)],
                              producer_name="make-qoperator")
    model.ir_version = 8
    onnx.save(model, os.path.join(out, "model.onnx"))
    for name, value in {"x": x, "p": p, "x2": x2}.items():
        np.save(os.path.join(out, f"{name}.npy"), value)
    for name, value in expected.items():
        np.save(os.path.join(out, f"expected_{name}.npy"), value)
    print(f"make-qoperator: {len(nodes)} nodes, {len(outputs)} outputs")


if __name__ == "__main__":
    main()
