#!/usr/bin/env python3
"""Writes ONNX's own transformer ops of opsets 23 and 24 (Attention,
RotaryEmbedding, RMSNormalization, Swish) in one opset-24 graph, with numpy
references that follow onnx.reference's implementations:

    make-onnx-attention.py OUT_DIR   -> model.onnx and one .npy per input/output

a1                 3-D Q, K, V with q_num_heads 4, kv_num_heads 2 (grouped),
                   is_causal, no past
a2, a2_k, a2_v     4-D with past_key/past_value, is_causal (after the past),
                   a bool mask over fewer keys than past + new (padded false)
a3                 3-D, a float mask [S, T], softcap 2 and scale 0.3
a4                 is_causal without a past on more keys than queries
                   (top-left: query i sees keys up to i, as torch's SDPA)
a5                 opset 24's nonpad_kv_seqlen with is_causal and no past
                   (query i of row b sees keys up to i + nonpad[b] - S)
t1, t2             TensorScatter (opset 24) of the new keys into a static cache
                   [B, HKV, 6, D] at write_indices, linear and circular (wrapping)
a6                 Attention over that static cache: nonpad_kv_seqlen = the
                   written length, is_causal (the static-cache export)
r1                 RotaryEmbedding on [B, H, S, D], interleaved, position_ids
r2                 RotaryEmbedding on [B, S, H * D] with num_heads, a partial
                   rotary_embedding_dim and per-position caches [B, S, R / 2]
n1                 RMSNormalization over the last two dims
w1                 Swish with alpha 1.5
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from npyio import save_arrays

B, S, T, P, HQ, HKV, D = 2, 3, 5, 4, 4, 2, 8


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def attention(q, k, v, mask=None, past_k=None, past_v=None, nonpad=None, causal=False,
              scale=None, softcap=0.0):
    """onnx.reference's Attention on [B, H, L, D] tensors."""
    if past_k is not None:
        k, v = np.concatenate([past_k, k], 2), np.concatenate([past_v, v], 2)
    present_k, present_v = k, v
    s, t = q.shape[2], k.shape[2]
    bias = np.zeros((s, t))
    if mask is not None and mask.shape[-1] < t:
        pad = [(0, 0)] * (mask.ndim - 1) + [(0, t - mask.shape[-1])]
        mask = np.pad(mask, pad, constant_values=False if mask.dtype == bool else -np.inf)
    if mask is not None:
        mask = np.where(mask, 0.0, -np.inf) if mask.dtype == bool else mask
        bias = bias + mask
    i, j = np.arange(s)[:, None], np.arange(t)[None, :]
    if causal:
        if past_k is None and nonpad is not None:
            allowed = j[None] <= i[None] + (nonpad - s)[:, None, None]
            bias = bias + np.where(allowed, 0.0, -np.inf)[:, None]
        else:
            offset = 0 if past_k is None else past_k.shape[2]
            bias = bias + np.where(j <= i + offset, 0.0, -np.inf)
    if nonpad is not None:
        bias = bias + np.where(np.arange(t)[None] < nonpad[:, None], 0.0,
                               -np.inf)[:, None, None, :]
    reps = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, reps, axis=1), np.repeat(v, reps, axis=1)
    scores = q @ k.transpose(0, 1, 3, 2) * (scale if scale else 1 / np.sqrt(q.shape[3]))
    if softcap > 0:
        scores = softcap * np.tanh(scores / softcap)
    return softmax(scores + bias) @ v, present_k, present_v


def tensor_scatter(past, update, write, circular, axis=-2):
    """onnx.reference's TensorScatter."""
    out = past.copy()
    axis %= past.ndim
    for prefix in np.ndindex(past.shape[:axis]):
        for s in range(update.shape[axis]):
            row = write[prefix[0]] + s
            if circular:
                row %= past.shape[axis]
            out[(*prefix, row)] = update[(*prefix, s)]
    return out


def heads(x, n):
    return x.reshape(x.shape[0], x.shape[1], n, -1).transpose(0, 2, 1, 3)


def merged(x):
    return x.transpose(0, 2, 1, 3).reshape(x.shape[0], x.shape[2], -1)


def rotary(x, cos, sin, interleaved):
    """onnx.reference's RotaryEmbedding on x [B, S, H, D] with cos, sin
    [B, S, R / 2]."""
    r = 2 * cos.shape[-1]
    xr, rest = x[..., :r], x[..., r:]
    c, s = cos[:, :, None], sin[:, :, None]
    x1, x2 = (xr[..., 0::2], xr[..., 1::2]) if interleaved else np.split(xr, 2, -1)
    real, imag = c * x1 - s * x2, s * x1 + c * x2
    if interleaved:
        xr = np.stack([real, imag], -1).reshape(xr.shape)
    else:
        xr = np.concatenate([real, imag], -1)
    return np.concatenate([xr, rest], -1)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(3)
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    inv = 1.0 / 10000 ** (np.arange(0, D, 2) / D)
    angles = np.outer(np.arange(16), inv)
    ins = {
        "q3": f(B, S, HQ * D), "k3": f(B, S, HKV * D), "v3": f(B, S, HKV * D),
        "q4": f(B, HQ, S, D), "k4": f(B, HKV, S, D), "v4": f(B, HKV, S, D),
        "pk": f(B, HKV, P, D), "pv": f(B, HKV, P, D),
        "bmask": rng.random((B, 1, S, P + 1)) > 0.3,
        "kt": f(B, T, HKV * D), "vt": f(B, T, HKV * D),
        "nonpad": np.array([5, 4], np.int64),
        "pos": np.array([[0, 7, 3], [12, 1, 15]], np.int64),
        "cos_b": f(B, S, 2), "sin_b": f(B, S, 2),
        "x": f(B, S, HQ * D),
        "cache": f(B, HKV, 6, D), "widx": np.array([2, 0], np.int64),
        "wrap": np.array([5, 1], np.int64), "filled": np.array([5, 3], np.int64),
    }
    ins["bmask"][:, :, :, 0] = True  # every query sees a key
    consts = {"fmask": f(S, S), "cos": np.cos(angles).astype(np.float32),
              "sin": np.sin(angles).astype(np.float32), "gamma": f(S, HQ * D)}
    nodes = [
        helper.make_node("Attention", ["q3", "k3", "v3"], ["a1"], q_num_heads=HQ,
                         kv_num_heads=HKV, is_causal=1),
        helper.make_node("Attention", ["q4", "k4", "v4", "bmask", "pk", "pv"],
                         ["a2", "a2_k", "a2_v"], is_causal=1),
        helper.make_node("Attention", ["q3", "k3", "v3", "fmask"], ["a3"], q_num_heads=HQ,
                         kv_num_heads=HKV, softcap=2.0, scale=0.3),
        helper.make_node("Attention", ["q3", "kt", "vt"], ["a4"], q_num_heads=HQ,
                         kv_num_heads=HKV, is_causal=1),
        helper.make_node("Attention", ["q3", "kt", "vt", "", "", "", "nonpad"], ["a5"],
                         q_num_heads=HQ, kv_num_heads=HKV, is_causal=1),
        helper.make_node("TensorScatter", ["cache", "k4", "widx"], ["t1"]),
        helper.make_node("TensorScatter", ["cache", "k4", "wrap"], ["t2"], mode="circular",
                         axis=2),
        helper.make_node("Attention", ["q4", "t1", "t1", "", "", "", "filled"], ["a6"],
                         is_causal=1),
        helper.make_node("RotaryEmbedding", ["q4", "cos", "sin", "pos"], ["r1"], interleaved=1),
        helper.make_node("RotaryEmbedding", ["x", "cos_b", "sin_b"], ["r2"], num_heads=HQ,
                         rotary_embedding_dim=4),
        helper.make_node("RMSNormalization", ["x", "gamma"], ["n1"], axis=-2, epsilon=1e-5),
        helper.make_node("Swish", ["x"], ["w1"], alpha=1.5),
    ]
    d = {k: (v.astype(np.float64) if v.dtype == np.float32 else v)
         for k, v in {**ins, **consts}.items()}
    outs = {}
    q3, k3, v3 = heads(d["q3"], HQ), heads(d["k3"], HKV), heads(d["v3"], HKV)
    outs["a1"] = merged(attention(q3, k3, v3, causal=True)[0])
    outs["a2"], outs["a2_k"], outs["a2_v"] = attention(
        d["q4"], d["k4"], d["v4"], mask=ins["bmask"], past_k=d["pk"], past_v=d["pv"],
        causal=True)
    outs["a3"] = merged(attention(q3, k3, v3, mask=d["fmask"], scale=0.3, softcap=2.0)[0])
    kt, vt = heads(d["kt"], HKV), heads(d["vt"], HKV)
    outs["a4"] = merged(attention(q3, kt, vt, causal=True)[0])
    outs["a5"] = merged(attention(q3, kt, vt, nonpad=ins["nonpad"], causal=True)[0])
    outs["t1"] = tensor_scatter(d["cache"], d["k4"], ins["widx"], False)
    outs["t2"] = tensor_scatter(d["cache"], d["k4"], ins["wrap"], True)
    outs["a6"] = attention(d["q4"], outs["t1"], outs["t1"], nonpad=ins["filled"],
                           causal=True)[0]
    q4 = d["q4"].transpose(0, 2, 1, 3)
    outs["r1"] = rotary(q4, d["cos"][ins["pos"]], d["sin"][ins["pos"]],
                        True).transpose(0, 2, 1, 3)
    x = d["x"].reshape(B, S, HQ, D)
    outs["r2"] = rotary(x, d["cos_b"], d["sin_b"], False).reshape(B, S, HQ * D)
    outs["n1"] = d["x"] / np.sqrt((d["x"] ** 2).mean((-2, -1), keepdims=True) + 1e-5) * d["gamma"]
    outs["w1"] = d["x"] / (1 + np.exp(-1.5 * d["x"]))

    kind = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.FLOAT,
            np.dtype(np.int64): TensorProto.INT64, np.dtype(bool): TensorProto.BOOL}
    vi = lambda n, a: helper.make_tensor_value_info(n, kind[a.dtype], list(a.shape))
    graph = helper.make_graph(nodes, "onnx_attention", [vi(n, a) for n, a in ins.items()],
                              [vi(n, a) for n, a in outs.items()],
                              [numpy_helper.from_array(a, n) for n, a in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 24)])
    model.ir_version = 8
    onnx.save(model, os.path.join(out, "model.onnx"))
    save_arrays(out, {**ins, **outs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
