#!/usr/bin/env python3
"""Attention graphs whose softmax weights go through a QuantizeLinear /
DequantizeLinear pair before the P·V MatMul, as ONNX Runtime's
quantize_static (QDQ) and ModelOpt's FP8 MHA leave them, each with inputs
q, k, v and a float64 reference, into OUT/<case>/:

    make-quantized-attention.py OUT

  u8       uint8, scale 1/31 (coarse, so that unquantized weights would be
           far off), zero point 0, causal, 2 heads, seq 150 (three key
           blocks, the last partial), d 64
  u8-zero  uint8, scale 1/40, zero point 10, an additive [B,1,1,S] padding
           mask, batch 2, seq 100, d 80
  s8       int8, scale 1/20, zero point 0, no mask, 5 queries over 67 keys,
           d 32
  e4m3     FLOAT8E4M3FN (TRT_FP8QuantizeLinear / TRT_FP8DequantizeLinear,
           ModelOpt's form), scale 1/448, causal, seq 130, d 64
  u8-f16   the u8 case in float16 (the pair works in f32 between casts; the
           kernel's products take f16 operands)
  u8-past  a decoding step: one query of 2 heads after a cache of 299, k =
           Concat(past_k, k) and v likewise, the presents among the outputs
           (expected_present_k.npy, expected_present_v.npy)

The reference, expected_y.npy, quantizes the float64 softmax weights the
same way (numpy's rint rounds ties to even, as the ops do; E4M3 from the
table in test/e2e/Inputs/fp8.py). A weight within the reference's rounding
error of a step's midpoint can land on either side; the ptx kernel's
products take bf16 operands (q pre-scaled by scale * log2(e), k, v), which
moves some weights a step: expected_bf16_y.npy is the same computation from
those bf16 operands (f16 in u8-f16) with exp2, which the kernel matches to
f32 rounding.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "e2e", "Inputs"))
from fp8 import e4m3_bytes, e4m3_tensor, e4m3_values  # noqa: E402

CASES = {
    # name: (kind, scale, zero, batch, heads, seq_q, seq_k, d, mask)
    "u8": ("u8", 1 / 31, 0, 1, 2, 150, 150, 64, "causal"),
    "u8-zero": ("u8", 1 / 40, 10, 2, 1, 100, 100, 80, "padding"),
    "s8": ("s8", 1 / 20, 0, 1, 2, 5, 67, 32, None),
    "e4m3": ("e4m3", 1 / 448, 0, 1, 2, 130, 130, 64, "causal"),
    "u8-f16": ("u8", 1 / 31, 0, 1, 2, 150, 150, 64, "causal", np.float16),
    "u8-past": ("u8", 1 / 31, 0, 1, 2, 1, 300, 64, None, np.float32, 299),
}


def f16(x):
    return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)


def bf16(x):
    """float32 rounded to bfloat16 (nearest even), as float32."""
    bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return bits.astype(np.uint32).view(np.float32)


def attend(scores, v, kind, scale, zero, exp=np.exp):
    e = exp(scores - scores.max(-1, keepdims=True))
    return fake_quantize(e / e.sum(-1, keepdims=True), kind, scale, zero) @ v.astype(np.float64)


def fake_quantize(w, kind, scale, zero):
    if kind == "e4m3":
        return e4m3_values(e4m3_bytes((w / scale).astype(np.float32))).astype(np.float64) * scale
    lo, hi = (0, 255) if kind == "u8" else (-128, 127)
    return (np.clip(np.rint(w / scale) + zero, lo, hi) - zero) * scale


def write(out, name, kind, scale, zero, batch, heads, sq, sk, d, mask, dtype=np.float32,
          past=0):
    rng = np.random.default_rng(len(name) if dtype == np.float32 else 2)
    q = rng.standard_normal((batch, heads, sq, d)).astype(dtype)
    k = rng.standard_normal((batch, heads, sk, d)).astype(dtype)
    v = rng.standard_normal((batch, heads, sk, d)).astype(dtype)
    mma = bf16 if dtype == np.float32 else f16
    nodes = [helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
             helper.make_node("MatMul", ["q", "kt"], ["s"]),
             helper.make_node("Mul", ["s", "c"], ["scaled"])]
    inits = [numpy_helper.from_array(dtype(1 / np.sqrt(d)), "c")]
    scores = q.astype(np.float64) @ np.swapaxes(k, -1, -2).astype(np.float64) / np.sqrt(d)
    log2 = mma(q.astype(np.float32) * np.float32(np.log2(np.e) / np.sqrt(d))).astype(np.float64) @ \
        np.swapaxes(mma(k), -1, -2).astype(np.float64)
    masked = "scaled"
    if mask == "causal":
        m = np.triu(np.full((sq, sk), -np.inf, dtype), 1 + sk - sq)
        inits.append(numpy_helper.from_array(m, "mask"))
        nodes.append(helper.make_node("Add", ["scaled", "mask"], ["masked"]))
        scores, log2 = scores + m, log2 + m
        masked = "masked"
    elif mask == "padding":
        m = np.zeros((batch, 1, 1, sk), np.float32)
        m[0, ..., sk - 30:] = np.finfo(np.float32).min
        inits.append(numpy_helper.from_array(m, "mask"))
        nodes.append(helper.make_node("Add", ["scaled", "mask"], ["masked"]))
        scores, log2 = scores + m, log2 + m
        masked = "masked"
    nodes.append(helper.make_node("Softmax", [masked], ["p"], axis=-1))
    inits.append(numpy_helper.from_array(dtype(scale), "ps"))
    if kind == "e4m3":
        nodes += [helper.make_node("TRT_FP8QuantizeLinear", ["p", "ps"], ["pq"], domain="trt"),
                  helper.make_node("TRT_FP8DequantizeLinear", ["pq", "ps"], ["pd"], domain="trt")]
    else:
        inits.append(numpy_helper.from_array(np.array(zero, np.uint8 if kind == "u8" else np.int8), "pz"))
        nodes += [helper.make_node("QuantizeLinear", ["p", "ps", "pz"], ["pq"]),
                  helper.make_node("DequantizeLinear", ["pq", "ps", "pz"], ["pd"])]
    nodes.append(helper.make_node("MatMul", ["pd", "v"], ["y"]))
    element = TensorProto.FLOAT if dtype == np.float32 else TensorProto.FLOAT16
    io = lambda n, shape: helper.make_tensor_value_info(n, element, list(shape))
    feeds = {"q": q, "k": k, "v": v}
    outputs = [io("y", (batch, heads, sq, d))]
    if past:
        # k and v are the presents: Concat(past, new) along the keys.
        feeds = {"q": q, "past_k": k[:, :, :past], "k_new": k[:, :, past:],
                 "past_v": v[:, :, :past], "v_new": v[:, :, past:]}
        nodes = [helper.make_node("Concat", ["past_k", "k_new"], ["k"], axis=2),
                 helper.make_node("Concat", ["past_v", "v_new"], ["v"], axis=2)] + nodes
        outputs += [io("k", k.shape), io("v", v.shape)]
        nodes.append(helper.make_node("Identity", ["k"], ["present_k"]))
        nodes.append(helper.make_node("Identity", ["v"], ["present_v"]))
        outputs = [outputs[0], io("present_k", k.shape), io("present_v", v.shape)]
    graph = helper.make_graph(nodes, name, [io(n, x.shape) for n, x in feeds.items()],
                              outputs, inits)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("trt", 1)] if kind == "e4m3" else [])
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    onnx.save(helper.make_model(graph, opset_imports=opsets), os.path.join(folder, "model.onnx"))
    for n, x in feeds.items():
        np.save(os.path.join(folder, n + ".npy"), x)
    if past:
        np.save(os.path.join(folder, "expected_present_k.npy"), k)
        np.save(os.path.join(folder, "expected_present_v.npy"), v)
    np.save(os.path.join(folder, "expected_y.npy"),
            attend(scores, v, kind, float(dtype(scale)), zero).astype(dtype))
    np.save(os.path.join(folder, "expected_bf16_y.npy"),
            attend(log2, mma(v), kind, float(dtype(scale)), zero, np.exp2).astype(dtype))


def main():
    for name, case in CASES.items():
        write(sys.argv[1], name, *case)
    print("make-quantized-attention:", " ".join(CASES))


if __name__ == "__main__":
    main()
