#!/usr/bin/env python3
"""Writes a BERT layer as ONNX Runtime's transformer optimizer fuses it
(com.microsoft EmbedLayerNormalization, Attention, SkipLayerNormalization,
BiasGelu), with numpy references computed as ONNX Runtime's CPU kernels
define them:

    make-ort-bert.py OUT_DIR   -> model.onnx, input_ids.npy, segment_ids.npy,
                                  mask.npy, bounds.npy and one .npy per output

emb, mask_index, emb_sum  EmbedLayerNormalization's three outputs
a1  Attention with ELN's mask_index (right-padding lengths)
a2  Attention with the raw [B, T] mask and unidirectional=1
a3  Attention with qkv_hidden_sizes (V wider than Q and K), a custom scale,
    left-padding bounds [2 * B] (ends, then starts) and an attention_bias
y   the layer's output: SkipLayerNormalization(a1, emb), MatMul, BiasGelu,
    MatMul, SkipLayerNormalization
a4  MultiHeadAttention across to a `memory` input of T = 5 positions, with
    a bias and a raw key_padding_mask [B, T]
a5  MultiHeadAttention on emb itself, unidirectional, right-padding lengths,
    a custom scale
"""
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

B, S, D, H, VOCAB = 3, 7, 32, 4, 50
FILTER = -10000.0


def layer_norm(x, gamma, beta, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def attention(x, w, b, sizes, hidden, scale, bias=None):
    """ONNX Runtime's Attention: `hidden` [B or 1, 1, S or 1, T] marks the
    keys a query may not see (scored mask_filter_value)."""
    qkv = x @ w + b
    q, k, v = np.split(qkv, [sizes[0], sizes[0] + sizes[1]], axis=-1)
    return attend(q, k, v, hidden, scale, bias)


def attend(q, k, v, hidden, scale, bias=None):
    """The attention core on [B, S or T, H * D] queries, keys and values."""
    heads = lambda t: t.reshape(B, t.shape[1], H, -1).transpose(0, 2, 1, 3)
    q, k, v = heads(q), heads(k), heads(v)
    scores = q @ k.transpose(0, 1, 3, 2) * scale + np.where(hidden, FILTER, 0.0)
    if bias is not None:
        scores = scores + bias
    scores = scores - scores.max(-1, keepdims=True)
    probs = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    return (probs @ v).transpose(0, 2, 1, 3).reshape(B, S, -1)


def gelu(v):
    return 0.5 * v * (1 + np.vectorize(math.erf)(v / math.sqrt(2)))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    weights = {
        "word": f32(VOCAB, D), "pos": f32(16, D), "seg": f32(2, D),
        "gamma": (1 + 0.1 * f32(D)), "beta": 0.1 * f32(D),
        "w": 0.2 * f32(D, 3 * D), "b": 0.1 * f32(3 * D),
        "w2": 0.2 * f32(D, 3 * D), "b2": 0.1 * f32(3 * D),
        "w3": 0.2 * f32(D, 2 * D + 48), "b3": 0.1 * f32(2 * D + 48),
        "abias": 0.5 * f32(1, H, S, S),
        "wq": 0.2 * f32(D, D), "mha_bias": 0.1 * f32(3 * D),
        "w_up": 0.2 * f32(D, 4 * D), "b_up": 0.1 * f32(4 * D),
        "w_down": 0.2 * f32(4 * D, D), "b_down": 0.1 * f32(D),
    }
    input_ids = rng.integers(0, VOCAB, (B, S)).astype(np.int32)
    segment_ids = (np.arange(S)[None, :] >= 4).astype(np.int32).repeat(B, 0)
    lengths = np.array([S, 5, 3], np.int32)
    mask = (np.arange(S)[None, :] < lengths[:, None]).astype(np.int32)
    # Left padding: row b keeps positions [start_b, end_b).
    bounds = np.array([S, S, S - 1, 0, 2, 1], np.int32)
    memory = rng.standard_normal((B, 5, D)).astype(np.float32)
    memory_mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 1, 1, 0]], np.int32)

    nodes = [
        helper.make_node("EmbedLayerNormalization",
                         ["input_ids", "segment_ids", "word", "pos", "seg", "gamma", "beta",
                          "mask"], ["emb", "mask_index", "emb_sum"], domain="com.microsoft",
                         epsilon=1e-12),
        helper.make_node("Attention", ["emb", "w", "b", "mask_index"], ["a1"],
                         domain="com.microsoft", num_heads=H),
        helper.make_node("Attention", ["emb", "w2", "b2", "mask"], ["a2"],
                         domain="com.microsoft", num_heads=H, unidirectional=1),
        helper.make_node("Attention", ["emb", "w3", "b3", "bounds", "", "abias"], ["a3"],
                         domain="com.microsoft", num_heads=H,
                         qkv_hidden_sizes=[D, D, 48], scale=0.3),
        helper.make_node("SkipLayerNormalization", ["a1", "emb", "gamma", "beta"], ["h1"],
                         domain="com.microsoft", epsilon=1e-12),
        helper.make_node("MatMul", ["h1", "w_up"], ["up"]),
        helper.make_node("BiasGelu", ["up", "b_up"], ["act"], domain="com.microsoft"),
        helper.make_node("MatMul", ["act", "w_down"], ["down"]),
        helper.make_node("SkipLayerNormalization", ["down", "h1", "gamma", "beta", "b_down"],
                         ["y"], domain="com.microsoft", epsilon=1e-12),
        helper.make_node("MatMul", ["emb", "wq"], ["query"]),
        helper.make_node("MultiHeadAttention", ["query", "memory", "memory", "mha_bias",
                                                "memory_mask"], ["a4"],
                         domain="com.microsoft", num_heads=H),
        helper.make_node("MultiHeadAttention", ["emb", "emb", "emb", "", "mask_index"], ["a5"],
                         domain="com.microsoft", num_heads=H, unidirectional=1, scale=0.25),
    ]
    ints = lambda name, shape: helper.make_tensor_value_info(name, TensorProto.INT32, shape)
    floats = lambda name, shape: helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
    graph = helper.make_graph(
        nodes, "ort_bert",
        [ints("input_ids", [B, S]), ints("segment_ids", [B, S]), ints("mask", [B, S]),
         ints("bounds", [2 * B]), floats("memory", [B, 5, D]), ints("memory_mask", [B, 5])],
        [floats("emb", [B, S, D]), ints("mask_index", [B]), floats("emb_sum", [B, S, D]),
         floats("a1", [B, S, D]), floats("a2", [B, S, D]), floats("a3", [B, S, 48]),
         floats("y", [B, S, D]), floats("a4", [B, S, D]), floats("a5", [B, S, D])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    onnx.save(model, os.path.join(out, "model.onnx"))

    w = {k: v.astype(np.float64) for k, v in weights.items()}
    emb_sum = w["word"][input_ids] + w["pos"][np.arange(S)][None] + w["seg"][segment_ids]
    emb = layer_norm(emb_sum, w["gamma"], w["beta"], 1e-12)
    keys = np.arange(S)[None, None, None, :]
    scale = 1 / math.sqrt(D // H)
    a1 = attention(emb, w["w"], w["b"], [D, D, D],
                   keys >= lengths[:, None, None, None], scale)
    causal = keys > np.arange(S)[None, None, :, None]
    a2 = attention(emb, w["w2"], w["b2"], [D, D, D],
                   (mask[:, None, None, :] == 0) | causal, scale)
    ends, starts = bounds[:B, None, None, None], bounds[B:, None, None, None]
    a3 = attention(emb, w["w3"], w["b3"], [D, D, 48], (keys >= ends) | (keys < starts), 0.3,
                   w["abias"])
    h1 = layer_norm(a1 + emb, w["gamma"], w["beta"], 1e-12)
    act = gelu(h1 @ w["w_up"] + w["b_up"])
    y = layer_norm(act @ w["w_down"] + h1 + w["b_down"], w["gamma"], w["beta"], 1e-12)
    mem = memory.astype(np.float64)
    qb, kb, vb = np.split(w["mha_bias"], 3)
    a4 = attend(emb @ w["wq"] + qb, mem + kb, mem + vb,
                (memory_mask == 0)[:, None, None, :], scale)
    a5 = attend(emb, emb, emb, (keys >= lengths[:, None, None, None]) | causal, 0.25)
    arrays = {"input_ids": input_ids, "segment_ids": segment_ids, "mask": mask,
              "bounds": bounds, "memory": memory, "memory_mask": memory_mask, "emb": emb,
              "mask_index": lengths, "emb_sum": emb_sum, "a1": a1, "a2": a2, "a3": a3, "y": y,
              "a4": a4, "a5": a5}
    for name, array in arrays.items():
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        np.save(os.path.join(out, name + ".npy"), array)
    return 0


if __name__ == "__main__":
    sys.exit(main())
