#!/usr/bin/env python3
"""Writes ONNX Runtime's fused attention ops in their decoder forms, with
numpy references computed as its CPU kernels define them:

    make-ort-decoder.py OUT_DIR   -> model.onnx and one .npy per input/output

y1, present      Attention (GPT-2 as ONNX Runtime's optimizer fuses it) with a
                 past [2, B, H, P, D], unidirectional, a raw [B, P + S] mask
y2, pk2, pv2     MultiHeadAttention with past_key/past_value [B, H, P, D], a
                 bias, a key padding mask over past and new keys, unidirectional
y3               MultiHeadAttention across to keys and values already per head
                 [B, H, L, D] (a decoder's cached cross-attention keys)
y4               MultiHeadAttention on Q, K and V packed [B, S, H, 3, D], a bias
y5               MultiHeadAttention with keys and values packed [B, L, H, 2, D]
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from npyio import save_arrays

B, S, P, L, H, HD = 2, 3, 4, 5, 2, 8
D = H * HD
FILTER = -10000.0


def attend(q, k, v, hidden, scale):
    """q [B, H, S, D], k and v [B, H, T, D]; `hidden` marks keys not seen."""
    scores = q @ k.transpose(0, 1, 3, 2) * scale + np.where(hidden, FILTER, 0.0)
    p = np.exp(scores - scores.max(-1, keepdims=True))
    out = (p / p.sum(-1, keepdims=True)) @ v
    return out.transpose(0, 2, 1, 3).reshape(B, q.shape[2], -1)


def heads(t):
    return t.reshape(B, t.shape[1], H, -1).transpose(0, 2, 1, 3)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(5)
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    ins = {"x": f(B, S, D), "past": f(2, B, H, P, HD),
           "mask": np.array([[1] * (P + S), [1, 0, 1, 1] + [1] * S], np.int32),
           "past_k": f(B, H, P, HD), "past_v": f(B, H, P, HD),
           "mem_k": f(B, H, L, HD), "mem_v": f(B, H, L, HD),
           "qkv": f(B, S, H, 3, HD), "kv": f(B, L, H, 2, HD)}
    w = {"w": 0.3 * f(D, 3 * D), "b": 0.1 * f(3 * D), "bias": 0.1 * f(3 * D)}
    ms = "com.microsoft"
    nodes = [
        helper.make_node("Attention", ["x", "w", "b", "mask", "past"], ["y1", "present"],
                         domain=ms, num_heads=H, unidirectional=1),
        helper.make_node("MultiHeadAttention",
                         ["x", "x", "x", "bias", "mask", "", "past_k", "past_v"],
                         ["y2", "pk2", "pv2"], domain=ms, num_heads=H, unidirectional=1),
        helper.make_node("MultiHeadAttention", ["x", "mem_k", "mem_v"], ["y3"], domain=ms,
                         num_heads=H, scale=0.2),
        helper.make_node("MultiHeadAttention", ["qkv", "", "", "bias"], ["y4"], domain=ms,
                         num_heads=H),
        helper.make_node("MultiHeadAttention", ["x", "kv"], ["y5"], domain=ms, num_heads=H),
    ]
    d = {k: v.astype(np.float64) if v.dtype == np.float32 else v for k, v in {**ins, **w}.items()}
    scale = 1 / np.sqrt(HD)
    T = P + S
    keys = np.arange(T)[None, None, None, :]
    causal = keys > (P + np.arange(S))[None, None, :, None]
    padded = (ins["mask"] == 0)[:, None, None, :]

    q, k, v = np.split(d["x"] @ d["w"] + d["b"], 3, axis=-1)
    k = np.concatenate([d["past"][0], heads(k)], 2)
    v = np.concatenate([d["past"][1], heads(v)], 2)
    outs = {"y1": attend(heads(q), k, v, padded | causal, scale), "present": np.stack([k, v])}

    qb, kb, vb = np.split(d["bias"], 3)
    k = np.concatenate([d["past_k"], heads(d["x"] + kb)], 2)
    v = np.concatenate([d["past_v"], heads(d["x"] + vb)], 2)
    outs["y2"] = attend(heads(d["x"] + qb), k, v, padded | causal, scale)
    outs["pk2"], outs["pv2"] = k, v

    none = np.zeros((1, 1, 1, L), bool)
    outs["y3"] = attend(heads(d["x"]), d["mem_k"], d["mem_v"], none, 0.2)
    qkv = d["qkv"] + d["bias"].reshape(3, H, HD).transpose(1, 0, 2)[None, None]
    t = lambda i, src: src[:, :, :, i].transpose(0, 2, 1, 3)
    outs["y4"] = attend(t(0, qkv), t(1, qkv), t(2, qkv), np.zeros((1, 1, 1, S), bool), scale)
    outs["y5"] = attend(heads(d["x"]), t(0, d["kv"]), t(1, d["kv"]), none, scale)

    vi = lambda n, a: helper.make_tensor_value_info(
        n, TensorProto.INT32 if a.dtype == np.int32 else TensorProto.FLOAT, list(a.shape))
    graph = helper.make_graph(nodes, "ort_decoder", [vi(n, a) for n, a in ins.items()],
                              [vi(n, a) for n, a in outs.items()],
                              [numpy_helper.from_array(a, n) for n, a in w.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid(ms, 1)])
    onnx.save(model, os.path.join(out, "model.onnx"))
    save_arrays(out, {**ins, **outs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
