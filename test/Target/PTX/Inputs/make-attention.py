#!/usr/bin/env python3
"""Writes attention graphs exported by torch that llmc fuses into
llm.attention, each with inputs and a float64 reference, into OUT/<case>/:

    make-attention.py OUT

  causal     softmax(q k^T / 8 + causal -inf) v, 2 heads, seq 100, d 64
             (a partial last key block, two shared stages, 16-byte loads)
  padding    an additive [B,1,1,S] padding mask, batch 2, 3 heads, seq 50,
             d 80 (d not a multiple of 16)
  wide       d 128, no mask, seq 150 (three key blocks, the last partial:
             two shared stages of K and V, 68 KiB of dynamic shared memory
             on an H100; one stage within 48 KiB)
  wide-f16   the same in float16 (K and V copied by cp.async)
  cross      5 queries over 67 keys, d 30 (scalar loads), no mask
  gqa        4 query heads over 2 kv heads (expand and reshape, as Llama), causal,
             seq 70, d 32
  finfo-min  a [B,1,S,S] mask summed from a causal and a left-padding mask of
             finfo(float32).min, as Phi and older Hugging Face exports build
             it: padded queries see finfo.min on some keys and -inf (min +
             min) on others; seq 40, d 64. The reference runs in float32,
             where a score plus finfo.min is finfo.min (the -inf keys get no
             weight, the others equal weights), as in the exported graph
  window     a causal sliding window of 50 keys (Mistral's), 4 query heads
             over 2 kv heads, seq 200, d 64: the last query block's loop
             starts at key block 128
  softcap    Gemma 2's logit soft-capping, 3 * tanh(s / 3) of the scaled
             scores before a causal mask, seq 90, d 64
  sink       ONNX Runtime's GroupQueryAttention with head_sink (gpt-oss's
             attention sinks), 4 query heads over 2 kv heads, a first
             prompt of 150 (three key blocks), d 64
  decode     one query over 1100 keys, batch 2, 12 heads, d 64, row 1
             left-padded (a [B,1,1,S] mask of finfo.min)
  decode-gqa one query of 8 heads over 2 kv heads and 700 keys, d 128
  decode-chunk  5 new queries of 4 heads over 2 kv heads after 295 cached
             keys (an explicit causal mask), d 64
  decode-window  3 new queries after 597 cached keys, a causal window of
             300 keys, 4 heads over 2 kv heads
  decode-sink  GroupQueryAttention with head_sink (sinks shifted by +6,
             to weigh against 501 keys) decoding one query of 8 heads over
             2 kv heads after a cache of 500
  chunk-sink the same with 2 new queries after 20 (sinks shifted by +3)
  causal-split  a causal prompt of 300 in one head, d 64

and decoding steps that append to a cache (k = cat(past_k, k_new), and v
likewise, the presents among the outputs, with their references
expected_present_k.npy and expected_present_v.npy): the kernel reads the
past where it is and writes the presents.
  append-chunk  70 new causal queries of 2 heads after 40 cached keys, d 30
             (scalar loads; two query blocks: the last one writes), both
             presents
  append-gqa-f16  one query of 8 heads over 2 kv heads after 700, batch 2,
             d 64, in float16 (K and V by cp.async; packed heads, keys
             split), both presents
  append-split  one query of 4 heads after 600, batch 2, a padding mask,
             d 80 (rows of 20 runs of 4: a thread's runs are not whole rows
             apart), keys split over blocks, the present values only
  append-window  3 new queries of 4 heads over 2 kv heads after 597
             cached keys, a causal window of 300 (packed heads, keys split;
             the rows before the window copied by the writer), float16
  append-window-chunk  70 new causal queries of one head after 100, a
             window of 40, d 32 (the last query block writes and copies
             the 64 rows before its window)
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "models"))
from export_models import convert_to_float16  # noqa: E402

torch.manual_seed(3)
out = sys.argv[1]


def export(name, module, inputs, reference, float16=False):
    """float16: the fp32 export converted to float16 (inputs rounded)."""
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    names = list(inputs)
    path = os.path.join(folder, "model.onnx")
    torch.onnx.export(module, tuple(inputs.values()), path,
                      input_names=names, output_names=["y"], opset_version=17)
    if float16:
        convert_to_float16(path)
    for n, t in inputs.items():
        np.save(os.path.join(folder, n + ".npy"),
                t.half().numpy() if float16 else t.numpy())
    np.save(os.path.join(folder, "expected_y.npy"), reference.float().numpy())


def reference(q, k, v, scale, mask=None, softcap=None):
    q, k, v = q.double(), k.double(), v.double()
    if k.shape[1] != q.shape[1]:
        k = k.repeat_interleave(q.shape[1] // k.shape[1], dim=1)
        v = v.repeat_interleave(q.shape[1] // v.shape[1], dim=1)
    s = q @ k.transpose(-1, -2) * scale
    if softcap:
        s = torch.tanh(s / softcap) * softcap
    if mask is not None:
        s = s + mask.double()
    return torch.softmax(s, dim=-1) @ v


class Attention(torch.nn.Module):
    def __init__(self, scale, causal=False, groups=1, window=None, softcap=None):
        super().__init__()
        self.scale, self.causal, self.groups = scale, causal, groups
        self.window, self.softcap = window, softcap

    def forward(self, q, k, v, mask=None):
        if self.groups > 1:  # as Llama exports repeat their kv heads
            b, h, n, d = k.shape
            k = k[:, :, None].expand(b, h, self.groups, n, d).reshape(b, h * self.groups, n, d)
            v = v[:, :, None].expand(b, h, self.groups, n, d).reshape(b, h * self.groups, n, d)
        s = q @ k.transpose(-1, -2) * self.scale
        if self.softcap:
            s = torch.tanh(s / self.softcap) * self.softcap
        if self.causal:  # the last query sees the last key
            n, m = s.shape[-2], s.shape[-1]
            future = torch.triu(torch.full((n, m), float("-inf")), m - n + 1)
            if self.window:  # one mask, as Hugging Face builds it
                future = future + torch.tril(torch.full((n, m), float("-inf")),
                                             m - n - self.window)
            s = s + future
        if mask is not None:
            s = s + mask
        return torch.softmax(s, dim=-1) @ v


def rand(*shape):
    return torch.randn(*shape)


def causal_mask(n):
    return torch.triu(torch.full((n, n), float("-inf")), 1)


q, k, v = rand(1, 2, 100, 64), rand(1, 2, 100, 64), rand(1, 2, 100, 64)
export("causal", Attention(0.125, causal=True), {"q": q, "k": k, "v": v},
       reference(q, k, v, 0.125, causal_mask(100)))

q, k, v = rand(2, 3, 50, 80), rand(2, 3, 50, 80), rand(2, 3, 50, 80)
pad = torch.zeros(2, 1, 1, 50)
pad[0, ..., 41:] = -10000.0
pad[1, ..., 17:] = -10000.0
export("padding", Attention(80 ** -0.5), {"q": q, "k": k, "v": v, "mask": pad},
       reference(q, k, v, 80 ** -0.5, pad))

q, k, v = rand(1, 2, 150, 128), rand(1, 2, 150, 128), rand(1, 2, 150, 128)
export("wide", Attention(128 ** -0.5), {"q": q, "k": k, "v": v},
       reference(q, k, v, 128 ** -0.5))
q, k, v = q.half().float(), k.half().float(), v.half().float()
export("wide-f16", Attention(128 ** -0.5), {"q": q, "k": k, "v": v},
       reference(q, k, v, 128 ** -0.5), float16=True)

q, k, v = rand(1, 2, 5, 30), rand(1, 2, 67, 30), rand(1, 2, 67, 30)
export("cross", Attention(30 ** -0.5), {"q": q, "k": k, "v": v},
       reference(q, k, v, 30 ** -0.5))

q, k, v = rand(1, 4, 70, 32), rand(1, 2, 70, 32), rand(1, 2, 70, 32)
export("gqa", Attention(32 ** -0.5, causal=True, groups=2), {"q": q, "k": k, "v": v},
       reference(q, k, v, 32 ** -0.5, causal_mask(70)))

q, k, v = rand(2, 2, 40, 64), rand(2, 2, 40, 64), rand(2, 2, 40, 64)
low = torch.finfo(torch.float32).min
keep = torch.ones(2, 40)
keep[0, :5] = 0
mask = torch.full((40, 40), low).triu(1)[None, None] + (1.0 - keep[:, None, None, :]) * low
assert torch.isinf(mask).any() and (mask == low).any()
with torch.no_grad():
    expected = torch.softmax(q @ k.transpose(-1, -2) * 0.125 + mask, dim=-1) @ v
export("finfo-min", Attention(0.125), {"q": q, "k": k, "v": v, "mask": mask}, expected)

q, k, v = rand(1, 4, 200, 64), rand(1, 2, 200, 64), rand(1, 2, 200, 64)
export("window", Attention(0.125, causal=True, groups=2, window=50), {"q": q, "k": k, "v": v},
       reference(q, k, v, 0.125,
                 causal_mask(200) + torch.tril(torch.full((200, 200), float("-inf")), -50)))

q, k, v = rand(1, 2, 90, 64), rand(1, 2, 90, 64), rand(1, 2, 90, 64)
export("softcap", Attention(0.125, causal=True, softcap=3.0), {"q": q, "k": k, "v": v},
       reference(q, k, v, 0.125, causal_mask(90), softcap=3.0))


def export_gqa_sink(name, seq, heads, kv_heads, d, past=0, sink_shift=0.0):
    """A com.microsoft GroupQueryAttention node with head_sink, written with
    onnx.helper, after `past` cached keys and values; the reference is
    causal grouped attention whose softmax also counts each head's sink.
    sink_shift is added to the sinks (N(0, 1)): after hundreds of keys a
    sink needs a large logit to weigh beyond the test's tolerance."""
    from onnx import TensorProto, helper
    import onnx
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    q, k, v = rand(1, seq, heads * d), rand(1, seq, kv_heads * d), rand(1, seq, kv_heads * d)
    sink = rand(heads) + sink_shift
    arrays = [("q", q), ("k", k), ("v", v), ("sink", sink)]
    caches = ["", ""]
    if past:
        arrays += [("past_k", rand(1, kv_heads, past, d)), ("past_v", rand(1, kv_heads, past, d))]
        caches = ["past_k", "past_v"]
    node = helper.make_node(
        "GroupQueryAttention",
        ["q", "k", "v"] + caches + ["seqlens_k", "total", "", "", "", "", "sink"], ["y"],
        domain="com.microsoft", num_heads=heads, kv_num_heads=kv_heads)
    total = helper.make_tensor("total", TensorProto.INT32, [], [past + seq])
    seqlens = helper.make_tensor("seqlens_k", TensorProto.INT32, [1], [past + seq - 1])
    graph = helper.make_graph(
        [node], "gqa_sink",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(t.shape)) for n, t in arrays],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, seq, heads * d])],
        initializer=[total, seqlens])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    onnx.save(model, os.path.join(folder, "model.onnx"))
    for n, t in arrays:
        np.save(os.path.join(folder, n + ".npy"), t.numpy())
    group = heads // kv_heads
    qh = q.double().view(1, seq, heads, d).transpose(1, 2)
    kh = k.double().view(1, seq, kv_heads, d).transpose(1, 2)
    vh = v.double().view(1, seq, kv_heads, d).transpose(1, 2)
    if past:
        kh = torch.cat([dict(arrays)["past_k"].double(), kh], 2)
        vh = torch.cat([dict(arrays)["past_v"].double(), vh], 2)
    kh, vh = kh.repeat_interleave(group, 1), vh.repeat_interleave(group, 1)
    s = qh @ kh.transpose(-1, -2) * d ** -0.5 + decode_mask(seq, past + seq).double()
    s = torch.cat([s, sink.double().view(1, heads, 1, 1).expand(1, heads, seq, 1)], -1)
    y = (torch.softmax(s, -1)[..., :-1] @ vh).transpose(1, 2).reshape(1, seq, heads * d)
    np.save(os.path.join(folder, "expected_y.npy"), y.float().numpy())


def decode_mask(n, m):
    """The causal mask of n new queries after m - n cached keys."""
    return torch.triu(torch.full((n, m), float("-inf")), m - n + 1)


export_gqa_sink("sink", 150, 4, 2, 64)

# Decoding steps, whose grids of one block per head (or per kv head) leave
# an H100's SMs idle: the keys split over blocks and a combine kernel
# merges the splits; grouped heads share one block per kv head.
q, k, v = rand(2, 12, 1, 64), rand(2, 12, 1100, 64), rand(2, 12, 1100, 64)
pad = torch.zeros(2, 1, 1, 1100)
pad[1, ..., :37] = torch.finfo(torch.float32).min  # row 1 left-padded
export("decode", Attention(0.125), {"q": q, "k": k, "v": v, "mask": pad},
       reference(q, k, v, 0.125, pad))

q, k, v = rand(1, 8, 1, 128), rand(1, 2, 700, 128), rand(1, 2, 700, 128)
export("decode-gqa", Attention(128 ** -0.5, groups=4), {"q": q, "k": k, "v": v},
       reference(q, k, v, 128 ** -0.5))

q, k, v = rand(1, 4, 5, 64), rand(1, 2, 300, 64), rand(1, 2, 300, 64)
mask = decode_mask(5, 300)
export("decode-chunk", Attention(0.125, groups=2), {"q": q, "k": k, "v": v, "mask": mask},
       reference(q, k, v, 0.125, mask))

q, k, v = rand(1, 4, 3, 64), rand(1, 2, 600, 64), rand(1, 2, 600, 64)
mask = decode_mask(3, 600) + torch.tril(torch.full((3, 600), float("-inf")), 600 - 3 - 300)
export("decode-window", Attention(0.125, causal=True, groups=2, window=300),
       {"q": q, "k": k, "v": v}, reference(q, k, v, 0.125, mask))

export_gqa_sink("decode-sink", 1, 8, 2, 64, past=500, sink_shift=6.0)
export_gqa_sink("chunk-sink", 2, 8, 2, 64, past=20, sink_shift=3.0)  # packed, no split

q, k, v = rand(1, 1, 300, 64), rand(1, 1, 300, 64), rand(1, 1, 300, 64)
export("causal-split", Attention(0.125, causal=True), {"q": q, "k": k, "v": v},
       reference(q, k, v, 0.125, causal_mask(300)))


class CacheAttention(torch.nn.Module):
    """Attention after a cache: the outputs y and the presents in `outputs`."""
    def __init__(self, attention, outputs):
        super().__init__()
        self.attention, self.outputs = attention, outputs

    def forward(self, q, past_k, past_v, k, v, mask=None):
        k, v = torch.cat([past_k, k], 2), torch.cat([past_v, v], 2)
        named = {"y": self.attention(q, k, v, mask), "present_k": k, "present_v": v}
        return tuple(named[n] for n in self.outputs)


def export_append(name, attention, q, past_k, past_v, k, v, scale, mask=None,
                  outputs=("y", "present_k", "present_v"), float16=False):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    if float16:
        q, past_k, past_v, k, v = (t.half().float() for t in (q, past_k, past_v, k, v))
    inputs = {"q": q, "past_k": past_k, "past_v": past_v, "k": k, "v": v}
    if mask is not None:
        inputs["mask"] = mask
    path = os.path.join(folder, "model.onnx")
    torch.onnx.export(CacheAttention(attention, outputs), tuple(inputs.values()), path,
                      input_names=list(inputs), output_names=list(outputs), opset_version=17)
    if float16:
        convert_to_float16(path)
    for n, t in inputs.items():
        np.save(os.path.join(folder, n + ".npy"), t.half().numpy() if float16 else t.numpy())
    full_k, full_v = torch.cat([past_k, k], 2), torch.cat([past_v, v], 2)
    n, m = q.shape[2], full_k.shape[2]
    causal = decode_mask(n, m) if attention.causal else None
    if attention.window:
        causal = causal + torch.tril(torch.full((n, m), float("-inf")), m - n - attention.window)
    total = mask if causal is None else causal if mask is None else causal + mask
    expected = {"y": reference(q, full_k, full_v, scale, total),
                "present_k": full_k, "present_v": full_v}
    for o in outputs:
        np.save(os.path.join(folder, "expected_" + o + ".npy"), expected[o].float().numpy())


export_append("append-chunk", Attention(30 ** -0.5, causal=True), rand(1, 2, 70, 30),
              rand(1, 2, 40, 30), rand(1, 2, 40, 30), rand(1, 2, 70, 30), rand(1, 2, 70, 30),
              30 ** -0.5)
export_append("append-gqa-f16", Attention(0.125, groups=4), rand(2, 8, 1, 64),
              rand(2, 2, 700, 64), rand(2, 2, 700, 64), rand(2, 2, 1, 64), rand(2, 2, 1, 64),
              0.125, float16=True)
pad = torch.zeros(2, 1, 1, 601)
pad[1, ..., :53] = torch.finfo(torch.float32).min  # row 1 left-padded
export_append("append-split", Attention(80 ** -0.5), rand(2, 4, 1, 80), rand(2, 4, 600, 80),
              rand(2, 4, 600, 80), rand(2, 4, 1, 80), rand(2, 4, 1, 80), 80 ** -0.5, mask=pad,
              outputs=("y", "present_v"))
export_append("append-window", Attention(0.125, causal=True, groups=2, window=300),
              rand(1, 4, 3, 64), rand(1, 2, 597, 64), rand(1, 2, 597, 64), rand(1, 2, 3, 64),
              rand(1, 2, 3, 64), 0.125, float16=True)
export_append("append-window-chunk", Attention(32 ** -0.5, causal=True, window=40),
              rand(1, 1, 70, 32), rand(1, 1, 100, 32), rand(1, 1, 100, 32), rand(1, 1, 70, 32),
              rand(1, 1, 70, 32), 32 ** -0.5)
