#!/usr/bin/env python3
"""Writes one graph of ONNX Runtime's quantized and fused contrib ops
(com.microsoft), the ones its quantize_dynamic, its weight-only quantizer
and its graph optimizer write into transformer models, with numpy references
that follow its CPU kernels:

    make-ort-quantized.py OUT_DIR   -> model.onnx and one .npy per input/output

f1  FusedMatMul, transA and alpha 0.5
f2  FusedMatMul, transBatchA and transB ([3, 2, 4] read as [2, 3, 4])
f3  FusedMatMul, transA by a vector
f4  FusedGemm: transB, alpha, beta, LeakyRelu with activation_alpha
f5  FusedGemm: HardSigmoid at its defaults
f6  FusedConv (1-D, padded) plus the sum input Z, then Clip [-0.5, 0.5]
f7  GemmFastGelu with a bias
m1  MatMulIntegerToFloat: uint8 A, int8 B, per-column b_scale and
    b_zero_point, bias
d1  DynamicQuantizeMatMul: uint8 B with a zero point, bias
d2  DynamicQuantizeMatMul: int8 B, per-column scales
g1  GatherBlockQuantized: uint8 data of 4-bit values (two a byte), default
    zero point 8
g2  GatherBlockQuantized: UINT4 data with UINT4 zero points, f16 scales
g3  GatherBlockQuantized: INT4 data quantized along axis 0, gathered along 1
g4  GatherBlockQuantized: uint8 data of 8-bit values with zero points
g5  GatherBlockQuantized: INT4 data [4, 33] along its last axis (stays
    4-bit; an odd row) with INT4 zero points
g6  GatherBlockQuantized of UINT4 data reshaped first (still 4-bit values,
    not packed bytes)
q1  QAttention: uint8 input, per-column weight scales, right-padding
    lengths as mask_index, unidirectional
q2  DynamicQuantizeLinear then QAttention on its outputs, with a past
    (present q2_present)
e1  QEmbedLayerNormalization with segments and a mask (e1_mask: the count
    of ones per row)

Quantization follows the kernels: A quantized per tensor to uint8 over its
range widened to include 0 (scale (max - min) / 255, zero point
roundeven(-min / scale)), the exact integer product, times the f32 product
a_scale * b_scale, plus the bias.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from npyio import save_arrays
from quantref import dynamic_quantize

INT4, UINT4 = 22, 21
F32 = np.float32


def pack4(values):
    flat = (np.asarray(values).reshape(-1).astype(np.int64) & 0xF).astype(np.uint8)
    if flat.size % 2:
        flat = np.append(flat, np.uint8(0))
    return (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8)


def tensor4(name, data_type, values):
    t = onnx.TensorProto()
    t.name, t.data_type, t.raw_data = name, data_type, pack4(values).tobytes()
    t.dims.extend(np.asarray(values).shape)
    return t


def integer_product(a, b, a_scale, b_scale, a_zero=0, b_zero=0, bias=None):
    acc = np.matmul(a.astype(np.int64) - a_zero, b.astype(np.int64) - b_zero)
    y = acc.astype(F32) * (F32(a_scale) * np.asarray(b_scale, F32))
    return y if bias is None else (y + bias).astype(F32)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def attention(qkv, heads, lengths=None, causal=False, past=None):
    """ONNX Runtime's Attention after the projection: qkv [B, S, 3H]."""
    b, s, three = qkv.shape
    h = three // 3
    d = h // heads
    q, k, v = (qkv[..., i * h:(i + 1) * h].reshape(b, s, heads, d).transpose(0, 2, 1, 3)
               for i in range(3))
    if past is not None:
        k, v = np.concatenate([past[0], k], 2), np.concatenate([past[1], v], 2)
    t = k.shape[2]
    scores = q.astype(np.float64) @ k.swapaxes(-1, -2) / np.sqrt(d)
    hidden = np.zeros((b, 1, s, t), bool)
    if lengths is not None:
        hidden |= (np.arange(t)[None, :] >= lengths[:, None])[:, None, None, :]
    if causal:
        hidden |= (np.arange(t)[None, :] > (t - s + np.arange(s))[:, None])[None, None]
    scores = scores + np.where(hidden, -10000.0, 0.0)
    out = (softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(b, s, h)
    return out, np.stack([k, v])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    nodes, inits, inputs, outputs, arrays = [], [], [], [], {}
    ms = "com.microsoft"

    def tensor_type(value):
        dtype = F32 if value.dtype == np.float64 else value.dtype
        return onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[np.dtype(dtype)]

    def graph_input(name, value):
        arrays[name] = value
        inputs.append(helper.make_tensor_value_info(name, tensor_type(value), value.shape))

    def init(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))

    def output(name, value):
        arrays[name] = value
        outputs.append(helper.make_tensor_value_info(name, tensor_type(value), value.shape))

    # FusedMatMul.
    a = rng.standard_normal((2, 4, 3)).astype(F32)
    b = rng.standard_normal((4, 5)).astype(F32)
    graph_input("f1_a", a)
    init("f1_b", b)
    nodes.append(helper.make_node("FusedMatMul", ["f1_a", "f1_b"], ["f1"], domain=ms,
                                  transA=1, alpha=0.5))
    output("f1", (0.5 * (a.swapaxes(-1, -2).astype(np.float64) @ b)).astype(F32))
    a = rng.standard_normal((3, 2, 4)).astype(F32)
    b = rng.standard_normal((2, 5, 4)).astype(F32)
    graph_input("f2_a", a)
    graph_input("f2_b", b)
    nodes.append(helper.make_node("FusedMatMul", ["f2_a", "f2_b"], ["f2"], domain=ms,
                                  transBatchA=1, transB=1))
    output("f2", (np.moveaxis(a, 0, -2).astype(np.float64) @ b.swapaxes(-1, -2)).astype(F32))
    a = rng.standard_normal((4, 3)).astype(F32)
    v = rng.standard_normal((4,)).astype(F32)
    graph_input("f3_a", a)
    init("f3_v", v)
    nodes.append(helper.make_node("FusedMatMul", ["f3_a", "f3_v"], ["f3"], domain=ms, transA=1))
    output("f3", (a.T.astype(np.float64) @ v).astype(F32))

    # FusedGemm, FusedConv, GemmFastGelu.
    a = rng.standard_normal((3, 4)).astype(F32)
    w = rng.standard_normal((5, 4)).astype(F32)
    c = rng.standard_normal(5).astype(F32)
    graph_input("f4_a", a)
    init("f4_w", w)
    init("f4_c", c)
    nodes.append(helper.make_node("FusedGemm", ["f4_a", "f4_w", "f4_c"], ["f4"], domain=ms,
                                  transB=1, alpha=0.5, beta=2.0, activation="LeakyRelu",
                                  activation_alpha=0.1))
    g = 0.5 * (a.astype(np.float64) @ w.T) + 2.0 * c
    output("f4", np.where(g < 0, 0.1 * g, g))
    nodes.append(helper.make_node("FusedGemm", ["f4_a", "f4_w"], ["f5"], domain=ms, transB=1,
                                  activation="HardSigmoid"))
    output("f5", np.clip(0.2 * (a.astype(np.float64) @ w.T) + 0.5, 0, 1))
    xc = rng.standard_normal((1, 2, 6)).astype(F32)
    wc = (rng.standard_normal((3, 2, 3)) * 0.5).astype(F32)
    bc = (rng.standard_normal(3) * 0.1).astype(F32)
    zc = (rng.standard_normal((1, 3, 6)) * 0.1).astype(F32)
    graph_input("f6_x", xc)
    graph_input("f6_z", zc)
    init("f6_w", wc)
    init("f6_b", bc)
    nodes.append(helper.make_node("FusedConv", ["f6_x", "f6_w", "f6_b", "f6_z"], ["f6"], domain=ms,
                                  pads=[1, 1], activation="Clip", activation_params=[-0.5, 0.5]))
    padded = np.pad(xc.astype(np.float64), ((0, 0), (0, 0), (1, 1)))
    conv = np.einsum("ctk,ock->ot", np.stack([padded[0, :, k:k + 6] for k in range(3)], -1),
                     wc)[None] + bc[None, :, None] + zc
    output("f6", np.clip(conv, -0.5, 0.5))
    x = rng.standard_normal((2, 3, 4)).astype(F32)
    w = rng.standard_normal((4, 5)).astype(F32)
    graph_input("f7_x", x)
    init("f7_w", w)
    init("f7_b", c)
    nodes.append(helper.make_node("GemmFastGelu", ["f7_x", "f7_w", "f7_b"], ["f7"], domain=ms))
    h = x.astype(np.float64) @ w + c
    output("f7", 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h ** 3))))

    # MatMulIntegerToFloat.
    qa = rng.integers(0, 256, (2, 3, 8)).astype(np.uint8)
    qb = rng.integers(-128, 128, (8, 6)).astype(np.int8)
    bs = (rng.random(6) * 0.02 + 0.001).astype(F32)
    bz = rng.integers(-5, 5, 6).astype(np.int8)
    bias = rng.standard_normal(6).astype(F32)
    graph_input("m1_a", qa)
    for name, value in (("m1_b", qb), ("m1_as", np.array(0.03, F32)), ("m1_bs", bs),
                        ("m1_az", np.array(120, np.uint8)), ("m1_bz", bz), ("m1_bias", bias)):
        init(name, value)
    nodes.append(helper.make_node(
        "MatMulIntegerToFloat", ["m1_a", "m1_b", "m1_as", "m1_bs", "m1_az", "m1_bz", "m1_bias"],
        ["m1"], domain=ms))
    output("m1", integer_product(qa, qb, 0.03, bs, 120, bz, bias))

    # DynamicQuantizeMatMul.
    x = rng.standard_normal((2, 3, 8)).astype(F32)
    qb = rng.integers(0, 256, (8, 6)).astype(np.uint8)
    graph_input("d_x", x)
    init("d1_b", qb)
    init("d1_bs", np.array(0.01, F32))
    init("d1_bz", np.array(131, np.uint8))
    init("d1_bias", bias)
    nodes.append(helper.make_node("DynamicQuantizeMatMul",
                                  ["d_x", "d1_b", "d1_bs", "d1_bz", "d1_bias"], ["d1"], domain=ms))
    q, s, z = dynamic_quantize(x)
    output("d1", integer_product(q, qb, s, 0.01, z, 131, bias))
    qb2 = rng.integers(-128, 128, (8, 6)).astype(np.int8)
    init("d2_b", qb2)
    init("d2_bs", bs)
    nodes.append(helper.make_node("DynamicQuantizeMatMul", ["d_x", "d2_b", "d2_bs"], ["d2"],
                                  domain=ms))
    output("d2", integer_product(q, qb2, s, bs, z, 0))

    # GatherBlockQuantized.
    ids = np.array([[0, 9, 3], [3, 5, 1]], np.int64)
    graph_input("ids", ids)
    w = rng.integers(0, 16, (10, 32))
    sc = (rng.random((10, 2)) * 0.1 + 0.01).astype(F32)
    init("g1_data", pack4(w).reshape(10, 16))
    init("g1_scales", sc)
    nodes.append(helper.make_node("GatherBlockQuantized", ["g1_data", "ids", "g1_scales"], ["g1"],
                                  domain=ms, bits=4, block_size=16, gather_axis=0,
                                  quantize_axis=1))
    deq = (w - 8).astype(F32) * np.repeat(sc, 16, axis=1)
    output("g1", deq[ids])
    w = rng.integers(0, 16, (6, 32))
    zp = rng.integers(0, 16, (6, 2))
    sc16 = (rng.random((6, 2)) * 0.1 + 0.01).astype(np.float16)
    ids2 = np.array([5, 0, 2, 5], np.int32)
    graph_input("ids2", ids2)
    inits += [tensor4("g2_data", UINT4, w), tensor4("g2_zp", UINT4, zp)]
    init("g2_scales", sc16)
    nodes.append(helper.make_node("GatherBlockQuantized", ["g2_data", "ids2", "g2_scales", "g2_zp"],
                                  ["g2"], domain=ms, block_size=16, quantize_axis=1))
    deq = ((w - np.repeat(zp, 16, axis=1)).astype(F32) *
           np.repeat(sc16.astype(F32), 16, axis=1)).astype(np.float16)
    output("g2", deq[ids2])
    w = rng.integers(-8, 8, (32, 5))
    sc = (rng.random((2, 5)) + 0.5).astype(F32)
    inits.append(tensor4("g3_data", INT4, w))
    init("g3_scales", sc)
    cols = np.array([4, 1], np.int64)
    init("g3_cols", cols)
    nodes.append(helper.make_node("GatherBlockQuantized", ["g3_data", "g3_cols", "g3_scales"],
                                  ["g3"], domain=ms, block_size=16, gather_axis=1,
                                  quantize_axis=0))
    output("g3", (w.astype(F32) * np.repeat(sc, 16, axis=0))[:, cols])
    w = rng.integers(0, 256, (10, 32)).astype(np.uint8)
    zp = rng.integers(100, 156, (10, 2)).astype(np.uint8)
    sc = (rng.random((10, 2)) * 0.01).astype(F32)
    init("g4_data", w)
    init("g4_zp", zp)
    init("g4_scales", sc)
    nodes.append(helper.make_node("GatherBlockQuantized", ["g4_data", "ids", "g4_scales", "g4_zp"],
                                  ["g4"], domain=ms, bits=8, block_size=16))
    deq = ((w.astype(np.int64) - np.repeat(zp, 16, axis=1)).astype(F32) *
           np.repeat(sc, 16, axis=1))
    output("g4", deq[ids])

    w = rng.integers(-8, 8, (4, 33))
    zp = rng.integers(-8, 8, (4, 3))
    sc = (rng.random((4, 3)) * 0.1 + 0.01).astype(F32)
    inits += [tensor4("g5_data", INT4, w), tensor4("g5_zp", INT4, zp)]
    init("g5_scales", sc)
    rows5 = np.array([3, 0, 3], np.int64)
    graph_input("rows5", rows5)
    nodes.append(helper.make_node("GatherBlockQuantized", ["g5_data", "rows5", "g5_scales", "g5_zp"],
                                  ["g5"], domain=ms, block_size=16, quantize_axis=1))
    deq = ((w - np.repeat(zp, 16, axis=1)[:, :33]).astype(F32) *
           np.repeat(sc, 16, axis=1)[:, :33])
    output("g5", deq[rows5])

    w = rng.integers(0, 16, (4, 32))
    inits += [tensor4("g6_data", UINT4, w.reshape(2, 64))]
    init("g6_shape", np.array([4, 32], np.int64))
    init("g6_scales", np.full((4, 2), 0.5, F32))
    nodes += [helper.make_node("Reshape", ["g6_data", "g6_shape"], ["g6_table"]),
              helper.make_node("GatherBlockQuantized", ["g6_table", "rows5", "g6_scales"], ["g6"],
                               domain=ms, block_size=16)]
    output("g6", (w[rows5] * 0.5).astype(F32))

    # QAttention.
    B, S, DIN, H, HEADS, P = 2, 4, 16, 16, 2, 3
    xq = rng.integers(0, 256, (B, S, DIN)).astype(np.uint8)
    wq = rng.integers(-128, 128, (DIN, 3 * H)).astype(np.int8)
    ws = (rng.random(3 * H) * 0.004 + 0.001).astype(F32)
    qbias = (rng.standard_normal(3 * H) * 0.1).astype(F32)
    lengths = np.array([4, 2], np.int32)
    graph_input("q1_x", xq)
    graph_input("q1_len", lengths)
    for name, value in (("q_w", wq), ("q_bias", qbias), ("q1_xs", np.array(0.02, F32)),
                        ("q_ws", ws), ("q1_xz", np.array(128, np.uint8)),
                        ("q_wz", np.array(3, np.int8))):
        init(name, value)
    nodes.append(helper.make_node(
        "QAttention", ["q1_x", "q_w", "q_bias", "q1_xs", "q_ws", "q1_len", "q1_xz", "q_wz"],
        ["q1"], domain=ms, num_heads=HEADS, unidirectional=1))
    qkv = integer_product(xq, wq, 0.02, ws, 128, 3, qbias)
    output("q1", attention(qkv, HEADS, lengths=lengths, causal=True)[0])
    x2 = rng.standard_normal((B, S, DIN)).astype(F32)
    past = (rng.standard_normal((2, B, HEADS, P, H // HEADS)) * 0.5).astype(F32)
    graph_input("q2_x", x2)
    graph_input("q2_past", past)
    nodes += [helper.make_node("DynamicQuantizeLinear", ["q2_x"], ["q2_xq", "q2_xs", "q2_xz"]),
              helper.make_node("QAttention", ["q2_xq", "q_w", "q_bias", "q2_xs", "q_ws", "",
                                              "q2_xz", "q_wz", "q2_past"], ["q2", "q2_present"],
                               domain=ms, num_heads=HEADS, unidirectional=1)]
    q, s, z = dynamic_quantize(x2)
    qkv = integer_product(q, wq, s, ws, z, 3, qbias)
    context, present = attention(qkv, HEADS, causal=True, past=past)
    output("q2", context)
    output("q2_present", present.astype(F32))

    # QEmbedLayerNormalization.
    V, POS, HID = 20, 8, 16
    tables = {"word": rng.integers(0, 256, (V, HID)), "pos": rng.integers(0, 256, (POS, HID)),
              "seg": rng.integers(0, 256, (2, HID)), "gamma": rng.integers(100, 256, HID),
              "beta": rng.integers(0, 256, HID)}
    params = {"word": (0.01, 128), "pos": (0.005, 120), "seg": (0.02, 130),
              "gamma": (0.01, 100), "beta": (0.002, 128)}
    for key, value in tables.items():
        init(f"e_{key}", value.astype(np.uint8))
        init(f"e_{key}_s", np.array(params[key][0], F32))
        init(f"e_{key}_z", np.array(params[key][1], np.uint8))
    eids = rng.integers(0, V, (2, 4)).astype(np.int32)
    segs = np.array([[0, 0, 1, 1], [0, 1, 1, 0]], np.int32)
    emask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], np.int32)
    graph_input("e_ids", eids)
    graph_input("e_segs", segs)
    graph_input("e_mask_in", emask)
    names = ["word", "pos", "seg", "gamma", "beta"]
    nodes.append(helper.make_node(
        "QEmbedLayerNormalization",
        ["e_ids", "e_segs", "e_word", "e_pos", "e_seg", "e_gamma", "e_beta", "e_mask_in"]
        + [f"e_{n}_s" for n in names] + [f"e_{n}_z" for n in names],
        ["e1", "e1_mask"], domain=ms, epsilon=1e-12))
    deq = {k: ((tables[k] - params[k][1]).astype(F32) * F32(params[k][0])) for k in names}
    emb = (deq["word"][eids] + deq["pos"][np.arange(4)][None] + deq["seg"][segs]).astype(np.float64)
    mean = emb.mean(-1, keepdims=True)
    var = ((emb - mean) ** 2).mean(-1, keepdims=True)
    output("e1", (emb - mean) / np.sqrt(var + 1e-12) * deq["gamma"] + deq["beta"])
    output("e1_mask", emask.sum(1).astype(np.int32))

    graph = helper.make_graph(nodes, "ort_quantized", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid(ms, 1)])
    model.ir_version = 10
    onnx.save(model, os.path.join(out, "model.onnx"))
    save_arrays(out, arrays)
    # One-node models the importer refuses with one line.
    errors = os.path.join(out, "errors")
    os.makedirs(errors, exist_ok=True)

    def refuse(name, node, node_inputs, node_inits):
        g = helper.make_graph([node], name, node_inputs,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              node_inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                                helper.make_opsetid(ms, 1)])
        onnx.save(m, os.path.join(errors, name + ".onnx"))

    f32_in = [helper.make_tensor_value_info("a", TensorProto.FLOAT, [4, 3])]
    refuse("fused-batch", helper.make_node("FusedMatMul", ["a", "b"], ["y"], name="n",
                                           domain=ms, transBatchA=1),
           f32_in, [numpy_helper.from_array(np.ones((3, 2), F32), "b")])
    u8_in = [helper.make_tensor_value_info("a", TensorProto.UINT8, [4, 3])]
    refuse("per-row-a-scale", helper.make_node(
        "MatMulIntegerToFloat", ["a", "b", "as", "bs"], ["y"], name="n", domain=ms),
        u8_in, [numpy_helper.from_array(np.ones((3, 2), np.int8), "b"),
                numpy_helper.from_array(np.ones((4, 1), F32), "as"),
                numpy_helper.from_array(np.ones(2, F32), "bs")])
    ids_in = [helper.make_tensor_value_info("ids", TensorProto.INT64, [2])]
    refuse("gather-bits", helper.make_node(
        "GatherBlockQuantized", ["d", "ids", "s"], ["y"], name="n", domain=ms, bits=2,
        block_size=16), ids_in,
        [numpy_helper.from_array(np.zeros((4, 8), np.uint8), "d"),
         numpy_helper.from_array(np.ones((4, 2), F32), "s")])
    refuse("gather-axis", helper.make_node(
        "GatherBlockQuantized", ["d", "ids", "s"], ["y"], name="n", domain=ms, block_size=16,
        gather_axis=1, quantize_axis=0), ids_in,
        [numpy_helper.from_array(np.zeros((32, 8), np.uint8), "d"),
         numpy_helper.from_array(np.ones((1, 8), F32), "s")])
    refuse("gather-float", helper.make_node(
        "GatherBlockQuantized", ["d", "ids", "s"], ["y"], name="n", domain=ms, block_size=16),
        ids_in, [numpy_helper.from_array(np.zeros((4, 16), F32), "d"),
                 numpy_helper.from_array(np.ones((4, 1), F32), "s")])
    e_inputs = ["ids", "", "w", "p", "", "g", "b", "", "ws", "ps", "", "gs", "bs", "wz", "pz",
                "", "", "bz"]
    refuse("qembed-zero", helper.make_node("QEmbedLayerNormalization", e_inputs, ["y"], name="n",
                                           domain=ms),
           [helper.make_tensor_value_info("ids", TensorProto.INT32, [1, 2])],
           [numpy_helper.from_array(np.zeros((4, 8), np.uint8), n) for n in ("w", "p")]
           + [numpy_helper.from_array(np.zeros(8, np.uint8), n) for n in ("g", "b")]
           + [numpy_helper.from_array(np.array(1.0, F32), n) for n in ("ws", "ps", "gs", "bs")]
           + [numpy_helper.from_array(np.array(0, np.uint8), n) for n in ("wz", "pz", "bz")])
    refuse("fused-activation", helper.make_node("FusedGemm", ["a", "b"], ["y"], name="n",
                                                domain=ms, activation="Softplus"),
           f32_in, [numpy_helper.from_array(np.ones((3, 2), F32), "b")])
    print(f"make-ort-quantized: {len(outputs)} outputs, 7 error models")


if __name__ == "__main__":
    main()
