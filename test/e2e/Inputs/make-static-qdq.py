#!/usr/bin/env python3
"""Writes OUT/model.onnx: products of QDQ-quantized operands in the forms
ONNX Runtime's quantize_static writes (QDQ format), with inputs and numpy
references of the integer arithmetic they stand for (OUT/expected_*.npy:
the exact integer sum of (qa - za)(qb - zb), times float32(sa * sb), plus
the bias in float32):

    make-static-qdq.py OUT

  y1  x [2,8,64] f32 -> QuantizeLinear/DequantizeLinear (uint8, per tensor,
      zero point 131) -> MatMul with an int8 weight [64,32] through
      DequantizeLinear (per column, axis 1, zero points 0) -> Add bias
  y2  x2 [5,40] -> QuantizeLinear/DequantizeLinear (uint8) -> Gemm
      (transB) with an int8 weight [24,40] per row (axis 0) with nonzero
      zero points, plus C
  y3  q [2,6,16] and k [2,16,6] both through uint8 QuantizeLinear/
      DequantizeLinear -> MatMul (a product of two activations)
  y4  the same layer with another weight, through QuantizeLinear (uint8,
      zero point 90): the next layer's activations, as the product's
      kernel stores them
  y5  x's QDQ -> MatMul with a float weight [64,16] that the graph
      quantizes (QuantizeLinear int8 per column, zero points 3, then
      DequantizeLinear): llmc quantizes it at import
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(23)
f32 = np.float32


def quantize(x, scale, zero):
    """QuantizeLinear to uint8 as ONNX defines it (round half to even)."""
    return np.clip(np.rint(x / f32(scale)) + f32(zero), 0, 255).astype(np.uint8)


def product(qa, za, qb, zb):
    return np.matmul(qa.astype(np.int64) - za, qb.astype(np.int64) - zb)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    nodes, inits, inputs, outputs, refs = [], [], [], [], {}

    def const(name, value):
        inits.append(numpy_helper.from_array(value, name))
        return name

    def qdq(name, x, scale, zero):
        const(name + ".s", np.asarray(f32(scale)))
        const(name + ".z", np.asarray(np.uint8(zero)))
        nodes.append(helper.make_node("QuantizeLinear", [name, name + ".s", name + ".z"], [name + ".q"]))
        nodes.append(helper.make_node("DequantizeLinear", [name + ".q", name + ".s", name + ".z"],
                                      [name + ".dq"]))
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(x.shape)))
        np.save(os.path.join(out, name + ".npy"), x)
        return quantize(x, scale, zero)

    # y1: a linear layer.
    x = rng.standard_normal((2, 8, 64)).astype(f32)
    sx, zx = 0.03, 131
    qx = qdq("x", x, sx, zx)
    w = rng.integers(-127, 128, (64, 32)).astype(np.int8)
    sw = (rng.random(32) * 0.01 + 0.001).astype(f32)
    bias = rng.standard_normal(32).astype(f32)
    const("w", w)
    const("w.s", sw)
    const("w.z", np.zeros(32, np.int8))
    const("bias", bias)
    nodes += [helper.make_node("DequantizeLinear", ["w", "w.s", "w.z"], ["w.dq"], axis=1),
              helper.make_node("MatMul", ["x.dq", "w.dq"], ["y1.mm"]),
              helper.make_node("Add", ["y1.mm", "bias"], ["y1"])]
    refs["y1"] = f32(product(qx, zx, w, 0)) * (f32(sx) * sw) + bias
    w4 = rng.integers(-127, 128, (64, 32)).astype(np.int8)
    const("w4", w4)
    const("y4.s", np.asarray(f32(0.04)))
    const("y4.z", np.asarray(np.uint8(90)))
    nodes += [helper.make_node("DequantizeLinear", ["w4", "w.s", "w.z"], ["w4.dq"], axis=1),
              helper.make_node("MatMul", ["x.dq", "w4.dq"], ["y4.mm"]),
              helper.make_node("Add", ["y4.mm", "bias"], ["y4.f"]),
              helper.make_node("QuantizeLinear", ["y4.f", "y4.s", "y4.z"], ["y4"])]
    refs["y4"] = quantize(f32(product(qx, zx, w4, 0)) * (f32(sx) * sw) + bias, 0.04, 90)

    # y5: a float weight quantized by the graph.
    w5 = rng.standard_normal((64, 16)).astype(f32)
    s5 = (np.abs(w5).max(0) / 120).astype(f32)
    z5 = np.full(16, 3, np.int8)
    const("w5", w5)
    const("w5.s", s5)
    const("w5.z", z5)
    nodes += [helper.make_node("QuantizeLinear", ["w5", "w5.s", "w5.z"], ["w5.q"], axis=1),
              helper.make_node("DequantizeLinear", ["w5.q", "w5.s", "w5.z"], ["w5.dq"], axis=1),
              helper.make_node("MatMul", ["x.dq", "w5.dq"], ["y5"])]
    q5 = np.clip(np.rint(w5 / s5) + 3, -128, 127).astype(np.int8)
    refs["y5"] = f32(product(qx, zx, q5, 3)) * (f32(sx) * s5)

    # y2: Gemm, transB, weight [N, K] quantized per row with zero points.
    x2 = rng.standard_normal((5, 40)).astype(f32) * 2
    s2, z2 = 0.05, 120
    q2 = qdq("x2", x2, s2, z2)
    w2 = rng.integers(-100, 100, (24, 40)).astype(np.int8)
    s_w2 = (rng.random(24) * 0.02 + 0.001).astype(f32)
    z_w2 = rng.integers(-5, 6, 24).astype(np.int8)
    c2 = rng.standard_normal(24).astype(f32)
    const("w2", w2)
    const("w2.s", s_w2)
    const("w2.z", z_w2)
    const("c2", c2)
    nodes += [helper.make_node("DequantizeLinear", ["w2", "w2.s", "w2.z"], ["w2.dq"], axis=0),
              helper.make_node("Gemm", ["x2.dq", "w2.dq", "c2"], ["y2"], transB=1)]
    refs["y2"] = f32(product(q2, z2, w2.T, z_w2[None, :].astype(np.int64))) * \
        (f32(s2) * s_w2) + c2

    # y3: two activations.
    q = rng.standard_normal((2, 6, 16)).astype(f32)
    k = rng.standard_normal((2, 16, 6)).astype(f32)
    sq, zq, sk, zk = 0.025, 128, 0.02, 126
    qq = qdq("q", q, sq, zq)
    qk = qdq("k", k, sk, zk)
    nodes.append(helper.make_node("MatMul", ["q.dq", "k.dq"], ["y3"]))
    refs["y3"] = f32(product(qq, zq, qk, zk)) * (f32(sq) * f32(sk))

    for name, value in refs.items():
        elem = TensorProto.UINT8 if value.dtype == np.uint8 else TensorProto.FLOAT
        outputs.append(helper.make_tensor_value_info(name, elem, list(value.shape)))
        np.save(os.path.join(out, f"expected_{name}.npy"),
                value if value.dtype == np.uint8 else value.astype(f32))
    graph = helper.make_graph(nodes, "static_qdq", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "model.onnx"))
    print(f"make-static-qdq: {len(refs)} outputs")


if __name__ == "__main__":
    main()
