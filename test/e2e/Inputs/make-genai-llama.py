#!/usr/bin/env python3
"""Writes a two-layer Llama-style decoder as onnxruntime-genai's model
builder exports it, and one graph of single ONNX Runtime contrib nodes, with
numpy references that follow ONNX Runtime's CPU kernels loop by loop:

    make-genai-llama.py OUT_DIR [--moe]

OUT_DIR/model.onnx: input_ids [batch, sequence], attention_mask [batch,
total], past_key_values.L.key/value [batch, 2, past, 16]; logits and
present.L.key/value. seqlens_k and total_sequence_length are computed from
the mask in the graph, as the builder writes them. Layer 0 has separate Q, K
and V projections and half-split rotary; layer 1 one packed QKV projection,
interleaved rotary and a local window of 3 keys. Norms are
(Skip)SimplifiedLayerNormalization, the MLP SiLU-gated.
  prefill/  6 tokens in 2 rows, no past (past inputs of length 0)
  decode/   1 token after a past of 6 in which row 1 holds only 4 tokens
            (its mask [1 1 1 1 0 0 1], the rest of its past garbage): row 1's
            key lands at position 4, its present rows 5 and 6 are zeros
OUT_DIR/nodes.onnx: GroupQueryAttention with softcap and a custom scale, with
a past buffer that present shares (total_sequence_length < P) and
position_ids, with an attention_bias and a window, with smooth_softmax, with
a head_sink, with softcap and a per-head attention_bias; RotaryEmbedding on [B, S,
hidden] with num_heads and a partial rotary_embedding_dim, and on [B, N, S,
D] interleaved at an offset; inputs and outputs in nodes/.

With --moe, OUT_DIR/model.onnx is the same decoder with each MLP a
mixture of experts as the builder writes Mixtral's: the router a MatMul of
the normalized tokens reshaped to [tokens, experts], then com.microsoft MoE
(4 experts, k 2, normalized routing weights, silu(fc1) * fc3, fc2), with
prefill/ and decode/ as above. The routers are redrawn until every token's
second and third logits are at least 0.25 apart, so that 16-bit products
take the same experts. There is no nodes.onnx.

A self-check ties ONNX Runtime's semantics to the Llama attention they
implement: for a uniform batch, layer 0's attention equals Hugging Face's
formulation (rotate_half, repeat_kv, a causal mask over past and new keys).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from npyio import save_arrays

VOCAB, D, HQ, HKV, HD, FF, LAYERS, MAXPOS = 48, 64, 4, 2, 16, 96, 2, 32
EXPERTS, TOPK = 4, 2


def rope_caches(rotary_dim, base=10000.0):
    inv = 1.0 / base ** (np.arange(0, rotary_dim, 2) / rotary_dim)
    freqs = np.outer(np.arange(MAXPOS), inv)
    return np.cos(freqs).astype(np.float32), np.sin(freqs).astype(np.float32)


def rotary(x, pos, cos, sin, interleaved):
    """ONNX Runtime's RunRotaryEmbedding on one head's row x [D] at `pos`."""
    half = cos.shape[1]
    out = x.copy()
    for i in range(2 * half):
        if interleaved:
            c, sign, j = (i // 2) % half, -1 if i % 2 == 0 else 1, i + 1 if i % 2 == 0 else i - 1
        else:
            c, sign, j = i % half, -1 if i < half else 1, (i + half) % (2 * half)
        out[i] = x[i] * cos[pos, c] + sign * x[j] * sin[pos, c]
    return out


def gqa(q, k, v, past_k, past_v, seqlens_k, total, cos=None, sin=None, interleaved=False,
        window=-1, softcap=0.0, scale=0.0, position_ids=None, bias=None, sink=None):
    """ONNX Runtime's GroupQueryAttention (CPU kernel): q [B, S, HQ*D] and k, v
    [B, S, HKV*D] (or k None: packed in q), past [B, HKV, P, D] or None;
    `sink` [HQ]: one more logit per head in the softmax's denominator
    (smooth_softmax: zeros)."""
    B, S = q.shape[:2]
    if k is None:
        q, k, v = np.split(q, [HQ * HD, (HQ + HKV) * HD], axis=-1)
    heads = lambda t, n: t.reshape(B, S, n, HD).transpose(0, 2, 1, 3).copy()
    q, k, v = heads(q, HQ), heads(k, HKV), heads(v, HKV)
    P = 0 if past_k is None else past_k.shape[2]
    T = max(total, P)
    first = P == 0 or S == total
    shares = P > 0 and T == P
    present_k = past_k.copy() if shares else np.zeros((B, HKV, T, HD))
    present_v = past_v.copy() if shares else np.zeros((B, HKV, T, HD))
    out = np.zeros((B, HQ, S, HD))
    alpha = scale if scale else 1 / np.sqrt(HD)
    for b in range(B):
        tb = int(seqlens_k[b]) + 1
        pb = 0 if first else tb - S
        if cos is not None:
            for s in range(S):
                pos = int(position_ids[b, s]) if position_ids is not None else pb + s
                for h in range(HQ):
                    q[b, h, s] = rotary(q[b, h, s], pos, cos, sin, interleaved)
                for h in range(HKV):
                    k[b, h, s] = rotary(k[b, h, s], pos, cos, sin, interleaved)
        if P:
            present_k[b, :, :pb] = past_k[b, :, :pb]
            present_v[b, :, :pb] = past_v[b, :, :pb]
        present_k[b, :, pb:pb + S] = k[b]
        present_v[b, :, pb:pb + S] = v[b]
        for h in range(HQ):
            kh = h // (HQ // HKV)
            for s in range(S):
                L = pb + s + 1
                lo = L - window if window > 0 and L > window else 0
                x = present_k[b, kh, lo:L] @ q[b, h, s] * alpha
                if softcap > 0:
                    x = softcap * np.tanh(x / softcap)
                if bias is not None:
                    x = x + bias[b if bias.shape[0] > 1 else 0, h if bias.shape[1] > 1 else 0,
                                 s, lo:L]
                m = x.max() if sink is None else max(x.max(), sink[h])
                p = np.exp(x - m)
                denominator = p.sum() + (0 if sink is None else np.exp(sink[h] - m))
                out[b, h, s] = (p / denominator) @ present_v[b, kh, lo:L]
    return out.transpose(0, 2, 1, 3).reshape(B, S, HQ * HD), present_k, present_v


def llama_attention(q, k, v, past_k, past_v, cos, sin):
    """Hugging Face's Llama attention for a uniform batch (every row's past
    is all of past_k): rotate_half, repeat_kv, a causal mask over keys."""
    B, S = q.shape[:2]
    P = past_k.shape[2]
    heads = lambda t, n: t.reshape(B, S, n, HD).transpose(0, 2, 1, 3)
    q, k, v = heads(q, HQ), heads(k, HKV), heads(v, HKV)
    pos = P + np.arange(S)
    c = np.concatenate([cos[pos], cos[pos]], -1)
    s = np.concatenate([sin[pos], sin[pos]], -1)
    rotate_half = lambda x: np.concatenate([-x[..., HD // 2:], x[..., :HD // 2]], -1)
    q, k = q * c + rotate_half(q) * s, k * c + rotate_half(k) * s
    k, v = np.concatenate([past_k, k], 2), np.concatenate([past_v, v], 2)
    k, v = np.repeat(k, HQ // HKV, axis=1), np.repeat(v, HQ // HKV, axis=1)
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(HD)
    scores = np.where(np.arange(P + S)[None, :] > pos[:, None], -np.inf, scores)
    p = np.exp(scores - scores.max(-1, keepdims=True))
    return ((p / p.sum(-1, keepdims=True)) @ v).transpose(0, 2, 1, 3).reshape(B, S, -1)


def rms(x, gamma, eps=1e-5):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * gamma


def moe(m, router, fc1, fc2, fc3, gaps):
    """ONNX Runtime's MoE (CPU kernel) with silu and fc3: softmax over the
    router's logits, the top k renormalized, each expert fc2(silu(fc1 x) *
    fc3 x) with [out, in] weights. Appends each token's gap between its k-th
    and (k+1)-th logits to `gaps`."""
    tokens = m.reshape(-1, D)
    logits = tokens @ router
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    out = np.zeros_like(tokens)
    for n in range(tokens.shape[0]):
        order = np.argsort(-probs[n], kind="stable")
        ranked = logits[n, order]
        gaps.append(ranked[TOPK - 1] - ranked[TOPK])
        weights = probs[n, order[:TOPK]] / probs[n, order[:TOPK]].sum()
        for e, weight in zip(order[:TOPK], weights):
            g = fc1[e] @ tokens[n]
            out[n] += weight * (fc2[e] @ (g / (1 + np.exp(-g)) * (fc3[e] @ tokens[n])))
    return out.reshape(m.shape)


def write_model(out, w, use_moe=False):
    f = lambda n, shape: helper.make_tensor_value_info(n, TensorProto.FLOAT, shape)
    ms = "com.microsoft"
    nodes = [
        helper.make_node("Gather", ["embed", "input_ids"], ["x0"]),
        helper.make_node("ReduceSum", ["attention_mask", "one"], ["mask_sum"], keepdims=0),
        helper.make_node("Sub", ["mask_sum", "one"], ["seqlens_i64"]),
        helper.make_node("Cast", ["seqlens_i64"], ["seqlens_k"], to=TensorProto.INT32),
        helper.make_node("Shape", ["attention_mask"], ["mask_shape"]),
        helper.make_node("Gather", ["mask_shape", "one_scalar"], ["total_i64"], axis=0),
        helper.make_node("Cast", ["total_i64"], ["total_seq_len"], to=TensorProto.INT32),
        helper.make_node("SimplifiedLayerNormalization", ["x0", "ln_0_0"], ["n_0"], axis=-1,
                         epsilon=1e-5, stash_type=1),
    ]
    residual = "x0"
    for l in range(LAYERS):
        gqa_in = [f"p_{l}_q", f"p_{l}_k", f"p_{l}_v"]
        if l == 0:
            for t in "qkv":
                nodes.append(helper.make_node("MatMul", [f"n_{l}", f"w_{l}_{t}"], [f"p_{l}_{t}"]))
        else:
            nodes.append(helper.make_node("MatMul", [f"n_{l}", f"w_{l}_qkv"], [f"p_{l}_q"]))
            gqa_in = [f"p_{l}_q", "", ""]
        nodes += [
            helper.make_node(
                "GroupQueryAttention",
                gqa_in + [f"past_key_values.{l}.key", f"past_key_values.{l}.value", "seqlens_k",
                          "total_seq_len", f"cos_{l}", f"sin_{l}"],
                [f"attn_{l}", f"present.{l}.key", f"present.{l}.value"], domain=ms,
                num_heads=HQ, kv_num_heads=HKV, do_rotary=1, rotary_interleaved=l,
                local_window_size=3 if l == 1 else -1, scale=0.0),
            helper.make_node("MatMul", [f"attn_{l}", f"w_{l}_o"], [f"o_{l}"]),
            helper.make_node("SkipSimplifiedLayerNormalization",
                             [f"o_{l}", residual, f"ln_{l}_1"], [f"m_{l}", "", "", f"r_{l}"],
                             domain=ms, epsilon=1e-5),
        ]
        if use_moe:
            nodes += [
                helper.make_node("MatMul", [f"m_{l}", f"router_{l}"], [f"logits_{l}"]),
                helper.make_node("Reshape", [f"logits_{l}", "expert_rows"], [f"probs_{l}"]),
                helper.make_node("MoE", [f"m_{l}", f"probs_{l}", f"fc1_{l}", "", f"fc2_{l}", "",
                                         f"fc3_{l}"], [f"d_{l}"], domain=ms,
                                 name=f"/model/layers.{l}/moe/MoE", k=TOPK,
                                 activation_type="silu", normalize_routing_weights=1),
            ]
        else:
            nodes += [
                helper.make_node("MatMul", [f"m_{l}", f"w_{l}_gate"], [f"g_{l}"]),
                helper.make_node("Sigmoid", [f"g_{l}"], [f"gs_{l}"]),
                helper.make_node("Mul", [f"g_{l}", f"gs_{l}"], [f"silu_{l}"]),
                helper.make_node("MatMul", [f"m_{l}", f"w_{l}_up"], [f"u_{l}"]),
                helper.make_node("Mul", [f"silu_{l}", f"u_{l}"], [f"h_{l}"]),
                helper.make_node("MatMul", [f"h_{l}", f"w_{l}_down"], [f"d_{l}"]),
            ]
        gamma = f"ln_{l + 1}_0" if l + 1 < LAYERS else "ln_final"
        nodes.append(helper.make_node(
            "SkipSimplifiedLayerNormalization", [f"d_{l}", f"r_{l}", gamma],
            [f"n_{l + 1}", "", "", f"x_{l + 1}"], domain=ms, epsilon=1e-5))
        residual = f"x_{l + 1}"
    nodes.append(helper.make_node("MatMul", [f"n_{LAYERS}", "lm_head"], ["logits"]))
    past = lambda l, t: f(f"past_key_values.{l}.{t}",
                          ["batch_size", HKV, "past_sequence_length", HD])
    present = lambda l, t: f(f"present.{l}.{t}", ["batch_size", HKV, "total_sequence_length", HD])
    inits = [numpy_helper.from_array(v, k) for k, v in w.items()]
    inits += [numpy_helper.from_array(np.array([1], np.int64), "one"),
              numpy_helper.from_array(np.array(1, np.int64), "one_scalar"),
              numpy_helper.from_array(np.array([-1, EXPERTS], np.int64), "expert_rows")]
    graph = helper.make_graph(
        nodes, "genai_llama",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64,
                                       ["batch_size", "sequence_length"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                       ["batch_size", "total_sequence_length"])]
        + [past(l, t) for l in range(LAYERS) for t in ("key", "value")],
        [f("logits", ["batch_size", "sequence_length", VOCAB])]
        + [present(l, t) for l in range(LAYERS) for t in ("key", "value")], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14),
                                                    helper.make_opsetid(ms, 1)])
    onnx.save(model, os.path.join(out, "model.onnx"))


def forward(w, ids, mask, pasts, gaps=None):
    w = {k: v.astype(np.float64) for k, v in w.items()}
    seqlens = mask.sum(1) - 1
    total = mask.shape[1]
    x = w["embed"][ids]
    n = rms(x, w["ln_0_0"])
    presents = {}
    for l in range(LAYERS):
        pk, pv = pasts[f"past_key_values.{l}.key"], pasts[f"past_key_values.{l}.value"]
        pk = pk.astype(np.float64) if pk.shape[2] else None
        pv = pv.astype(np.float64) if pv.shape[2] else None
        if l == 0:
            args = (n @ w["w_0_q"], n @ w["w_0_k"], n @ w["w_0_v"])
        else:
            args = (n @ w[f"w_{l}_qkv"], None, None)
        a, presents[f"present.{l}.key"], presents[f"present.{l}.value"] = gqa(
            *args, pk, pv, seqlens, total, w[f"cos_{l}"], w[f"sin_{l}"], interleaved=l == 1,
            window=3 if l == 1 else -1)
        if l == 0 and len(set(seqlens)) == 1:
            P = 0 if pk is None else pk.shape[2]
            hf = llama_attention(*args, pk if pk is not None else np.zeros((len(ids), HKV, 0, HD)),
                                 pv if pv is not None else np.zeros((len(ids), HKV, 0, HD)),
                                 w["cos_0"], w["sin_0"])
            assert np.allclose(a, hf, atol=1e-9), "GQA reference differs from Llama's attention"
        r = a @ w[f"w_{l}_o"] + x
        m = rms(r, w[f"ln_{l}_1"])
        if f"router_{l}" in w:
            d = moe(m, w[f"router_{l}"], w[f"fc1_{l}"], w[f"fc2_{l}"], w[f"fc3_{l}"], gaps)
        else:
            g = m @ w[f"w_{l}_gate"]
            d = (g / (1 + np.exp(-g)) * (m @ w[f"w_{l}_up"])) @ w[f"w_{l}_down"]
        x = d + r
        n = rms(x, w[f"ln_{l + 1}_0"] if l + 1 < LAYERS else w["ln_final"])
    return n @ w["lm_head"], presents


def write_nodes(out, rng):
    """Single contrib nodes: GQA variants and RotaryEmbedding."""
    B, S, P = 2, 3, 8
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    cos, sin = rope_caches(HD)
    cos8, sin8 = rope_caches(8)
    ins = {
        "q": f(B, S, HQ * HD), "k": f(B, S, HKV * HD), "v": f(B, S, HKV * HD),
        "q1": f(B, 1, HQ * HD), "k1": f(B, 1, HKV * HD), "v1": f(B, 1, HKV * HD),
        "past_k": f(B, HKV, P, HD), "past_v": f(B, HKV, P, HD),
        "seqlens_k": np.array([4, 2], np.int32),
        "pos_ids": np.array([[5], [3]], np.int64),
        "bias": f(B, 1, S, 7), "pbias": f(1, HQ, S, S),
        "x3": f(B, S, HQ * HD), "x4": f(B, HQ, S, HD), "sink": f(HQ),
        "pos2": np.array([[0, 7, 3], [12, 1, 30]], np.int64),
    }
    consts = {"cos": cos, "sin": sin, "cos8": cos8, "sin8": sin8,
              "total_s": np.array(S, np.int32), "total_5": np.array(5, np.int32),
              "seq_prompt": np.array([S - 1] * B, np.int32),
              "past4": f(B, HKV, 4, HD), "past4v": f(B, HKV, 4, HD),
              "seq_dec": np.array([6, 5], np.int32), "total_7": np.array(7, np.int32),
              "offset": np.array([9], np.int64)}
    ms = "com.microsoft"
    nodes = [
        # First prompt, no past: softcap, a custom scale, no rotary.
        helper.make_node("GroupQueryAttention",
                         ["q", "k", "v", "", "", "seq_prompt", "total_s"], ["c1"],
                         domain=ms, num_heads=HQ, kv_num_heads=HKV, softcap=0.5, scale=0.3),
        # Decode into a shared buffer: present keeps past's length 8 (total 5 < P),
        # rows written at seqlens_k, rotary at position_ids.
        helper.make_node("GroupQueryAttention",
                         ["q1", "k1", "v1", "past_k", "past_v", "seqlens_k", "total_5", "cos",
                          "sin", "pos_ids"], ["c2", "c2_k", "c2_v"],
                         domain=ms, num_heads=HQ, kv_num_heads=HKV, do_rotary=1),
        # A subsequent prompt of 3 after 4 (row 1: 3), window 2, attention_bias.
        helper.make_node("GroupQueryAttention",
                         ["q", "k", "v", "past4", "past4v", "seq_dec", "total_7", "", "", "",
                          "bias"], ["c3", "c3_k", "c3_v"],
                         domain=ms, num_heads=HQ, kv_num_heads=HKV, local_window_size=2),
        # smooth_softmax on the decode step; head_sink with a window of 2.
        helper.make_node("GroupQueryAttention",
                         ["q1", "k1", "v1", "past_k", "past_v", "seqlens_k", "total_5"],
                         ["c4"], domain=ms, num_heads=HQ, kv_num_heads=HKV, smooth_softmax=1),
        helper.make_node("GroupQueryAttention",
                         ["q", "k", "v", "", "", "seq_prompt", "total_s", "", "", "", "", "sink"],
                         ["c5"], domain=ms, num_heads=HQ, kv_num_heads=HKV, local_window_size=2),
        # softcap, then an attention_bias per head (the kernel's order).
        helper.make_node("GroupQueryAttention",
                         ["q", "k", "v", "", "", "seq_prompt", "total_s", "", "", "", "pbias"],
                         ["c6"], domain=ms, num_heads=HQ, kv_num_heads=HKV, softcap=1.5),
        helper.make_node("RotaryEmbedding", ["x3", "pos2", "cos8", "sin8"], ["r1"], domain=ms,
                         num_heads=HQ, rotary_embedding_dim=8),
        helper.make_node("RotaryEmbedding", ["x4", "offset", "cos", "sin"], ["r2"], domain=ms,
                         interleaved=1),
    ]
    names = list(ins)
    outs = {}
    d64 = {k: v.astype(np.float64) if v.dtype == np.float32 else v
           for k, v in {**ins, **consts}.items()}
    outs["c1"], _, _ = gqa(d64["q"], d64["k"], d64["v"], None, None, consts["seq_prompt"], S,
                           softcap=0.5, scale=0.3)
    outs["c2"], outs["c2_k"], outs["c2_v"] = gqa(
        d64["q1"], d64["k1"], d64["v1"], d64["past_k"], d64["past_v"], ins["seqlens_k"], 5,
        cos, sin, position_ids=ins["pos_ids"])
    outs["c3"], outs["c3_k"], outs["c3_v"] = gqa(
        d64["q"], d64["k"], d64["v"], d64["past4"], d64["past4v"], consts["seq_dec"], 7,
        window=2, bias=d64["bias"])
    outs["c4"], _, _ = gqa(d64["q1"], d64["k1"], d64["v1"], d64["past_k"], d64["past_v"],
                           ins["seqlens_k"], 5, sink=np.zeros(HQ))
    outs["c5"], _, _ = gqa(d64["q"], d64["k"], d64["v"], None, None, consts["seq_prompt"], S,
                           window=2, sink=d64["sink"])
    outs["c6"], _, _ = gqa(d64["q"], d64["k"], d64["v"], None, None, consts["seq_prompt"], S,
                           softcap=1.5, bias=d64["pbias"])
    r1 = d64["x3"].reshape(B, S, HQ, HD).copy()
    r2 = d64["x4"].copy()
    for b in range(B):
        for s in range(S):
            for h in range(HQ):
                r1[b, s, h, :8] = rotary(r1[b, s, h, :8], ins["pos2"][b, s], cos8, sin8, False)
                r2[b, h, s] = rotary(r2[b, h, s], 9 + s, cos, sin, True)
    outs["r1"], outs["r2"] = r1.reshape(B, S, HQ * HD), r2
    tf = lambda n, a: helper.make_tensor_value_info(
        n, TensorProto.FLOAT if a.dtype.kind == "f" else
        (TensorProto.INT32 if a.dtype == np.int32 else TensorProto.INT64), list(a.shape))
    graph = helper.make_graph(
        nodes, "contrib_nodes", [tf(n, ins[n]) for n in names],
        [tf(n, a) for n, a in outs.items()],
        [numpy_helper.from_array(v, k) for k, v in consts.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid(ms, 1)])
    onnx.save(model, os.path.join(out, "nodes.onnx"))
    save_arrays(os.path.join(out, "nodes"), {**ins, **outs})


def main():
    out = sys.argv[1]
    use_moe = sys.argv[2:] == ["--moe"]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(11)
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    w = {"embed": f(VOCAB, D), "lm_head": 0.2 * f(D, VOCAB), "ln_final": 1 + 0.1 * f(D)}
    for l in range(LAYERS):
        w[f"ln_{l}_0"], w[f"ln_{l}_1"] = 1 + 0.1 * f(D), 1 + 0.1 * f(D)
        if l == 0:
            w["w_0_q"] = 0.2 * f(D, HQ * HD)
            w["w_0_k"], w["w_0_v"] = 0.2 * f(D, HKV * HD), 0.2 * f(D, HKV * HD)
        else:
            w[f"w_{l}_qkv"] = 0.2 * f(D, (HQ + 2 * HKV) * HD)
        w[f"w_{l}_o"] = 0.2 * f(HQ * HD, D)
        if use_moe:
            w[f"router_{l}"] = 0.5 * f(D, EXPERTS)
            w[f"fc1_{l}"], w[f"fc3_{l}"] = 0.2 * f(EXPERTS, FF, D), 0.2 * f(EXPERTS, FF, D)
            w[f"fc2_{l}"] = 0.2 * f(EXPERTS, D, FF)
        else:
            w[f"w_{l}_gate"], w[f"w_{l}_up"] = 0.2 * f(D, FF), 0.2 * f(D, FF)
            w[f"w_{l}_down"] = 0.2 * f(FF, D)
        w[f"cos_{l}"], w[f"sin_{l}"] = rope_caches(HD)
    if use_moe:
        return write_moe(out, w, rng)
    write_model(out, w)

    B, S = 2, 6
    ids = rng.integers(0, VOCAB, (B, S)).astype(np.int64)
    mask = np.ones((B, S), np.int64)
    empty = {f"past_key_values.{l}.{t}": np.zeros((B, HKV, 0, HD), np.float32)
             for l in range(LAYERS) for t in ("key", "value")}
    logits, presents = forward(w, ids, mask, empty)
    save_arrays(os.path.join(out, "prefill"), {"input_ids": ids, "attention_mask": mask, **empty,
                                        "logits": logits, **presents})

    # Decode: row 1 holds 4 tokens, its past rows 4 and 5 garbage.
    pasts = {k.replace("present", "past_key_values"): v.astype(np.float32)
             for k, v in presents.items()}
    for v in pasts.values():
        v[1, :, 4:] = 100 * f(HKV, 2, HD)
    ids = rng.integers(0, VOCAB, (B, 1)).astype(np.int64)
    mask = np.array([[1] * 7, [1, 1, 1, 1, 0, 0, 1]], np.int64)
    logits, presents = forward(w, ids, mask, pasts)
    save_arrays(os.path.join(out, "decode"), {"input_ids": ids, "attention_mask": mask, **pasts,
                                       "logits": logits, **presents})
    write_nodes(out, rng)
    return 0


def write_moe(out, w, rng):
    """The MoE decoder's prefill (6 tokens in 2 rows) and decode (1 token
    after a past of 6), with routers whose top-k choice is clear."""
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)
    B, S = 2, 6
    ids = rng.integers(0, VOCAB, (B, S)).astype(np.int64)
    next_ids = rng.integers(0, VOCAB, (B, 1)).astype(np.int64)
    mask = np.ones((B, S), np.int64)
    empty = {f"past_key_values.{l}.{t}": np.zeros((B, HKV, 0, HD), np.float32)
             for l in range(LAYERS) for t in ("key", "value")}
    for _ in range(200):
        gaps = []
        logits, presents = forward(w, ids, mask, empty, gaps)
        pasts = {k.replace("present", "past_key_values"): v.astype(np.float32)
                 for k, v in presents.items()}
        next_mask = np.ones((B, S + 1), np.int64)
        step_logits, step_presents = forward(w, next_ids, next_mask, pasts, gaps)
        if min(gaps) >= 0.25:
            break
        for l in range(LAYERS):
            w[f"router_{l}"] = 0.5 * f(D, EXPERTS)
    else:
        sys.exit("make-genai-llama: no routers with a clear top-k choice")
    write_model(out, w, use_moe=True)
    save_arrays(os.path.join(out, "prefill"), {"input_ids": ids, "attention_mask": mask, **empty,
                                        "logits": logits, **presents})
    save_arrays(os.path.join(out, "decode"), {"input_ids": next_ids, "attention_mask": next_mask,
                                       **pasts, "logits": step_logits, **step_presents})
    return 0


if __name__ == "__main__":
    sys.exit(main())
