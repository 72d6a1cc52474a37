#!/usr/bin/env python3
"""Writes OUT/model.onnx: a small transformer MLP and attention-score block
quantized with 16-bit activations (QDQ "A16W8", as ONNX Runtime's
quantize_static writes it with activation_type QUInt16 and
UseQDQContribOps, and as Qualcomm's flows do), with an input and numpy
references (OUT/expected_*.npy):

    make-qdq16.py OUT [--domain com.microsoft|onnx]

  With --domain com.microsoft (the default) the QuantizeLinear and
  DequantizeLinear nodes are ONNX Runtime's (domain com.microsoft, opset
  17 for the rest); with --domain onnx they are opset 21's, which has the
  16-bit types.

  x [2,8,64] f32 -> Q/DQ (uint16, per tensor, zero point 32768)
    -> MatMul with a uint8 weight [64,48] through DequantizeLinear (per
       tensor, zero point 121) -> Add bias -> Q/DQ (uint16) -> Relu
    -> Q/DQ (int16, zero point 0)
    -> MatMul with an int16 weight [48,16] through DequantizeLinear (per
       column, axis 1: "A16W16")
    -> Softmax -> Q/DQ (uint16, scale 1/65535, zero point 0)  = y
  x -> QuantizeLinear (int16, zero point -7)                 = q  (int16)
  x -> QuantizeLinear (uint16 constant-folded weight path): a float
       weight [64,8] quantized in the graph (uint16, zero point 30000),
       DequantizeLinear, MatMul with x's Q/DQ                = w

  u [6] uint16 -> Max with 1000 (values read 0..65535)       = m  (uint16)

The reference computes each Q/DQ as ONNX defines it (round half to even,
saturate) and the products in float64 of the dequantized float32 values.
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

f32 = np.float32
RANGES = {"uint16": (0, 65535, TensorProto.UINT16, np.uint16),
          "int16": (-32768, 32767, TensorProto.INT16, np.int16),
          "uint8": (0, 255, TensorProto.UINT8, np.uint8),
          "int8": (-128, 127, TensorProto.INT8, np.int8)}


def quantize(x, scale, zero, kind):
    lo, hi, _, dtype = RANGES[kind]
    return np.clip(np.rint(x / f32(scale)) + f32(zero), lo, hi).astype(dtype)


def dequantize(q, scale, zero):
    return ((q.astype(np.int64) - np.int64(zero)).astype(f32) * f32(scale)).astype(f32)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--domain", default="com.microsoft", choices=["com.microsoft", "onnx"])
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(16)
    domain = "com.microsoft" if args.domain == "com.microsoft" else ""
    nodes, inits = [], []

    def const(name, value):
        inits.append(numpy_helper.from_array(value, name))
        return name

    def q(src, dst, scale, zero, kind, axis=None):
        dtype = RANGES[kind][3]
        const(dst + ".s", np.asarray(scale, f32))
        const(dst + ".z", np.asarray(zero, dtype))
        kw = {} if axis is None else {"axis": axis}
        nodes.append(helper.make_node("QuantizeLinear", [src, dst + ".s", dst + ".z"], [dst],
                                      domain=domain, **kw))

    def dq(src, dst, scale_name, zero_name, axis=None):
        kw = {} if axis is None else {"axis": axis}
        nodes.append(helper.make_node("DequantizeLinear", [src, scale_name, zero_name], [dst],
                                      domain=domain, **kw))

    def qdq(src, dst, scale, zero, kind):
        q(src, dst + ".q", scale, zero, kind)
        dq(dst + ".q", dst, dst + ".q.s", dst + ".q.z")

    x = rng.uniform(-2, 2, (2, 8, 64)).astype(f32)
    sx, zx = 4.0 / 65535, 32768
    qdq("x", "x.dq", sx, zx, "uint16")
    ref_x = dequantize(quantize(x, sx, zx, "uint16"), sx, zx)

    # Layer 1: a uint8 weight, per tensor.
    w1 = rng.integers(0, 256, (64, 48)).astype(np.uint8)
    s1, z1 = f32(0.004), np.uint8(121)
    const("w1", w1)
    const("w1.s", np.asarray(s1))
    const("w1.z", np.asarray(z1))
    dq("w1", "w1.dq", "w1.s", "w1.z")
    b1 = rng.uniform(-0.5, 0.5, 48).astype(f32)
    const("b1", b1)
    nodes.append(helper.make_node("MatMul", ["x.dq", "w1.dq"], ["h1.mm"]))
    nodes.append(helper.make_node("Add", ["h1.mm", "b1"], ["h1"]))
    h1 = (np.matmul(ref_x.astype(np.float64), dequantize(w1, s1, z1).astype(np.float64))
          + b1).astype(f32)
    sh, zh = 8.0 / 65535, 32768
    qdq("h1", "h1.dq", sh, zh, "uint16")
    h1 = dequantize(quantize(h1, sh, zh, "uint16"), sh, zh)
    nodes.append(helper.make_node("Relu", ["h1.dq"], ["r1"]))
    r1 = np.maximum(h1, 0)
    sr = 4.0 / 32767
    qdq("r1", "r1.dq", sr, 0, "int16")
    r1 = dequantize(quantize(r1, sr, 0, "int16"), sr, 0)

    # Layer 2: an int16 weight, per column.
    w2 = rng.integers(-32768, 32768, (48, 16)).astype(np.int16)
    s2 = rng.uniform(1e-6, 3e-6, 16).astype(f32)
    z2 = rng.integers(-50, 50, 16).astype(np.int16)
    const("w2", w2)
    const("w2.s", s2)
    const("w2.z", z2)
    dq("w2", "w2.dq", "w2.s", "w2.z", axis=1)
    nodes.append(helper.make_node("MatMul", ["r1.dq", "w2.dq"], ["h2"]))
    w2f = ((w2.astype(np.int64) - z2).astype(f32) * s2).astype(f32)
    h2 = np.matmul(r1.astype(np.float64), w2f.astype(np.float64))
    nodes.append(helper.make_node("Softmax", ["h2"], ["p"], axis=-1))
    e = np.exp(h2 - h2.max(-1, keepdims=True))
    p = (e / e.sum(-1, keepdims=True)).astype(f32)
    qdq("p", "y", 1.0 / 65535, 0, "uint16")
    y = dequantize(quantize(p, 1.0 / 65535, 0, "uint16"), 1.0 / 65535, 0)

    # x straight to int16 levels: a graph output of integers.
    q("x", "q", 1.0 / 8192, -7, "int16")
    qx = quantize(x, 1.0 / 8192, -7, "int16")

    # A float weight the graph quantizes itself (folded at import).
    wf = rng.uniform(-1, 1, (64, 8)).astype(f32)
    const("wf", wf)
    sw, zw = 2.0 / 65535, 30000
    q("wf", "wf.q", sw, zw, "uint16")
    dq("wf.q", "wf.dq", "wf.q.s", "wf.q.z")
    nodes.append(helper.make_node("MatMul", ["x.dq", "wf.dq"], ["w"]))
    wq = dequantize(quantize(wf, sw, zw, "uint16"), sw, zw)
    w = np.matmul(ref_x.astype(np.float64), wq.astype(np.float64)).astype(f32)

    # uint16 values above 32767 compare as themselves.
    u = np.array([0, 999, 1000, 32767, 32768, 65535], np.uint16)
    const("c", np.asarray(np.uint16(1000)))
    nodes.append(helper.make_node("Max", ["u", "c"], ["m"]))
    m = np.maximum(u, np.uint16(1000))

    graph = helper.make_graph(
        nodes, "qdq16", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8, 64]),
                         helper.make_tensor_value_info("u", TensorProto.UINT16, [6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8, 16]),
         helper.make_tensor_value_info("q", TensorProto.INT16, [2, 8, 64]),
         helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 8, 8]),
         helper.make_tensor_value_info("m", TensorProto.UINT16, [6])],
        inits)
    opsets = [helper.make_opsetid("", 21 if domain == "" else 17)]
    if domain:
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    model = helper.make_model(graph, opset_imports=opsets, producer_name="make-qdq16")
    model.ir_version = 8
    onnx.save(model, os.path.join(args.out, "model.onnx"))
    np.save(os.path.join(args.out, "x.npy"), x)
    np.save(os.path.join(args.out, "u.npy"), u)
    for name, value in {"y": y, "q": qx, "w": w, "m": m}.items():
        np.save(os.path.join(args.out, f"expected_{name}.npy"), value)
    print(f"make-qdq16: {len(nodes)} nodes, domain {args.domain}")


if __name__ == "__main__":
    main()
