"""make-hf-eager.py VARIANT OUT [SEQ] | VARIANT OUT [VARIANT OUT ...]

Exports a 2-layer decoder whose attention and mask are written as Hugging
Face's eager attention writes them, with a left-padded batch (3 x SEQ,
SEQ 12 by default, rows 1 and 2 padded by 3 and 5), and saves model.onnx, input_ids.npy,
attention_mask.npy and torch's logits.npy in OUT. The variants follow the
transformers sources of their era:

- gpt2: GPT2Attention._attn (4.2x-4.35): scores divided by
  torch.full([], v.size(-1) ** 0.5), where(causal buffer, w, finfo.min),
  plus the extended attention mask (1 - m) * finfo.min.
- gptneo: GPTNeoSelfAttention: scores in f32, no scale, the same where and
  padding.
- gptj: GPTJAttention: where first, then divided by scale_attn (a tensor),
  then the padding added.
- llama436: LlamaAttention with _prepare_4d_causal_attention_mask (4.36):
  the causal mask of finfo.min with the padded keys masked_fill'ed into a
  [B, 1, T, S] tensor.
- mistral436: the same with Mistral's sliding window of 4
  (triu(ones, diagonal=-4)).
- llama440: _update_causal_mask (4.40-4.41): triu(full(min), 1) times
  arange > cache_position, expanded, and the keys that are both visible and
  padded filled in by a slice assignment (a ScatterND over every index).
- llama442, mistral442: _prepare_4d_causal_attention_mask_with_cache_position
  (4.42-4.47): full(min) times arange > cache_position (or, with Mistral's
  window of 4, arange <= cache_position - 4), the padded keys found by
  causal + attention_mask == 0 and filled in by a slice assignment.
- t5: T5's decoder self-attention (4.3x): no scale, the relative position
  bias plus (1 - causal * attention_mask) * finfo.min, the product in
  int64, computed in the first layer and shared.
- falcon: FalconAttention (4.3x) with FalconModel's bool mask m (true
  where hidden, padding | future) added as (m * 1.0).masked_fill(m, -1e9).
- falcon-rw: Falcon's ALiBi path (falcon-rw, 4.36-4.4x): ALiBi from the
  attention mask's cumsum added to the product, the sum scaled, the 4.36
  mask added.

F.scaled_dot_product_attention as torch 2.x exports it (an autograd
Function whose symbolic writes the exporter's ops; torch 1.13 has no SDPA):
- nanogpt: the TorchScript exporter's form with is_causal and no mask (no
  padding, no attention_mask input);
- llama-sdpa: LlamaSdpaAttention (4.36-4.47), the same form with the 4.36
  mask;
- dynamo-causal: torchlib's form (torch.onnx.export(dynamo=True)) with
  is_causal and no mask;
- dynamo-bool: torchlib's form with 4.53's bool sdpa_mask (causal and
  padding), an explicit scale and the NaN guard after the softmax;
- dynamo-gqa: torchlib's form with is_causal and enable_gqa (2 kv heads
  for 4 query heads; 4.48+ passes enable_gqa without a mask), k and v
  repeated by unsqueeze, expand and reshape.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

B, T, D, H, V, L = 3, 12, 64, 4, 96, 2
WINDOW = 4
KV_HEADS = 2  # dynamo-gqa's
POSITIONS = 64  # the causal buffer and the learned positions
MIN = torch.finfo(torch.float32).min


def mask_436(attention_mask, window=None):
    """AttentionMaskConverter.to_4d (4.36) for a causal LM."""
    mask = torch.full((T, T), MIN)
    cond = torch.arange(mask.size(-1))
    mask.masked_fill_(cond < (cond + 1).view(mask.size(-1), 1), 0)
    if window is not None:
        context = 1 - torch.triu(torch.ones_like(mask, dtype=torch.int), diagonal=-window)
        mask.masked_fill_(context.bool(), MIN)
    causal = mask[None, None, :, :].expand(B, 1, T, T)
    expanded = attention_mask[:, None, None, :].expand(B, 1, T, T).to(torch.float32)
    inverted = 1.0 - expanded
    inverted = inverted.masked_fill(inverted.to(torch.bool), MIN)
    return causal.masked_fill(inverted.bool(), MIN)


def mask_440(attention_mask):
    """LlamaModel._update_causal_mask (4.40-4.47), no cache."""
    cache_position = torch.arange(0, T)
    causal = torch.full((T, T), fill_value=MIN)
    causal = torch.triu(causal, diagonal=1)
    causal *= torch.arange(T) > cache_position.reshape(-1, 1)
    causal = causal[None, None, :, :].expand(B, 1, -1, -1).clone()
    length = attention_mask.shape[-1]
    padding = causal[..., :length].eq(0.0) * attention_mask[:, None, None, :].eq(0.0)
    causal[..., :length] = causal[..., :length].masked_fill(padding, MIN)
    return causal


def mask_442(attention_mask, window=None):
    """_prepare_4d_causal_attention_mask_with_cache_position (4.42-4.47, with
    Mistral's and Phi-3's sliding window), no cache."""
    cache_position = torch.arange(0, T)
    causal = torch.full((T, T), fill_value=MIN)
    attend = torch.arange(T) > cache_position.reshape(-1, 1)
    if window is not None:
        # HF writes |=, which torch 1.13 does not export; | is the same.
        attend = attend | (torch.arange(T) <= (cache_position.reshape(-1, 1) - window))
    causal *= attend
    causal = causal[None, None, :, :].expand(B, 1, -1, -1).clone()
    length = attention_mask.shape[-1]
    padding = causal[:, :, :, :length] + attention_mask[:, None, None, :]
    padding = padding == 0
    causal[:, :, :, :length] = causal[:, :, :, :length].masked_fill(padding, MIN)
    return causal


INT64_MAX = 9223372036854775807
FLOAT = 1  # TensorProto.FLOAT


def sdpa_reference(q, k, v, mask, causal, scale, nan_guard):
    """F.scaled_dot_product_attention (torch 2.x) in torch 1.13 ops."""
    scale = 1 / math.sqrt(q.size(-1)) if scale is None else scale
    if k.size(1) != q.size(1):  # enable_gqa
        k = k.repeat_interleave(q.size(1) // k.size(1), dim=1)
        v = v.repeat_interleave(q.size(1) // v.size(1), dim=1)
    w = torch.matmul(q, k.transpose(-1, -2)) * scale
    if causal:
        keep = torch.ones(q.size(-2), k.size(-2), dtype=torch.bool).tril()
        w = w.masked_fill(~keep, float("-inf"))
    if mask is not None:
        w = w.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else w + mask
    w = F.softmax(w, dim=-1)
    if nan_guard:
        w = torch.where(torch.isnan(w), torch.zeros_like(w), w)
    return torch.matmul(w, v)


def torchscript_sdpa(g, q, k, v, mask, causal, scale):
    """torch.onnx's symbolic_opset14.scaled_dot_product_attention (torch
    2.1-2.8's TorchScript exporter), op for op."""
    if scale is None:  # _attention_scale
        shape = g.op("Shape", q)
        last = g.op("Slice", shape, g.op("Constant", value_t=torch.tensor([-1])),
                    g.op("Constant", value_t=torch.tensor([INT64_MAX])))
        size = g.op("Cast", last, to_i=FLOAT)
        scale = g.op("Div", g.op("Constant", value_t=torch.tensor([1.0])), g.op("Sqrt", size))
        scale = g.op("Cast", scale, to_i=FLOAT)
    else:
        scale = g.op("Constant", value_t=torch.tensor(scale, dtype=torch.float32))
    if causal:  # _causal_attention_mask
        last = g.op("Constant", value_t=torch.tensor([-1]))
        second = g.op("Constant", value_t=torch.tensor([-2]))
        target = g.op("Slice", g.op("Shape", q), second, last)
        source = g.op("Slice", g.op("Shape", k), second, last)
        size = g.op("Concat", target, source, axis_i=0)
        ones = g.op("Expand", g.op("Constant", value_t=torch.tensor([1.0])), size)
        zero = g.op("Constant", value_t=torch.tensor([0.0]))
        mask = g.op("Where", g.op("Equal", g.op("Trilu", ones, upper_i=0), zero),
                    g.op("Constant", value_t=torch.tensor([-float("inf")])), zero)
    key = g.op("Transpose", k, perm_i=[0, 1, 3, 2])
    w = g.op("MatMul", g.op("Mul", q, g.op("Sqrt", scale)), g.op("Mul", key, g.op("Sqrt", scale)))
    if mask is not None:
        if mask.type().scalarType() == "Bool":
            mask = g.op("Where", mask, g.op("Constant", value_t=torch.tensor([0.0])),
                        g.op("Constant", value_t=torch.tensor([-float("inf")])))
        w = g.op("Add", w, mask)
    return g.op("MatMul", g.op("Softmax", w, axis_i=-1), v)


def torchlib_sdpa(g, q, k, v, mask, causal, scale):
    """onnxscript's torchlib aten_scaled_dot_product_attention below opset
    23 (torch.onnx.export(dynamo=True)), op for op: the scale from the
    shape, the key transposed as [-1, S, D], a bool mask's where(m, 0,
    -inf) and the softmax's NaN guard."""
    if scale is None:  # _attention_scale
        last = g.op("Gather", g.op("Shape", q), g.op("Constant", value_t=torch.tensor([-1])))
        size = g.op("CastLike", last, q)
        one = g.op("CastLike", g.op("Constant", value_t=torch.tensor(1.0)), q)
        scale = g.op("Div", one, g.op("Sqrt", size))
    else:
        scale = g.op("Constant", value_t=torch.tensor(scale, dtype=torch.float32))
    zero = g.op("Constant", value_t=torch.tensor(0.0))
    inf = g.op("Constant", value_t=torch.tensor(-float("inf")))
    if k.type().sizes()[1] != q.type().sizes()[1]:  # enable_gqa
        k, v = torchlib_repeat_kv(g, q, k, v)
    if causal:  # _causal_attention_mask
        target = g.op("Shape", q, start_i=-2, end_i=-1)
        source = g.op("Shape", k, start_i=-2, end_i=-1)
        size = g.op("Concat", target, source, axis_i=0)
        ones = g.op("Expand", g.op("Constant", value_t=torch.tensor(1.0)), size)
        mask = g.op("Where", g.op("Equal", g.op("Trilu", ones, upper_i=0), zero), inf, zero)
        mask = g.op("CastLike", mask, q)
    last = g.op("Shape", k, start_i=-1)
    second = g.op("Shape", k, start_i=-2, end_i=-1)
    first = g.op("Shape", k, end_i=-2)
    squeezed = g.op("Reshape", k, g.op("Concat", g.op("Constant", value_t=torch.tensor([-1])),
                                        second, last, axis_i=0))
    key = g.op("Reshape", g.op("Transpose", squeezed, perm_i=[0, 2, 1]),
               g.op("Concat", first, last, second, axis_i=0))
    w = g.op("MatMul", g.op("Mul", q, g.op("Sqrt", scale)), g.op("Mul", key, g.op("Sqrt", scale)))
    guard = mask is not None and mask.type().scalarType() == "Bool"
    if guard:
        mask = g.op("Where", mask, zero, inf)
    if mask is not None:
        w = g.op("Add", w, mask)
    w = g.op("Softmax", w, axis_i=-1)
    if guard:
        w = g.op("Where", g.op("IsNaN", w), zero, w)
    return g.op("MatMul", w, v)


def torchlib_repeat_kv(g, q, k, v):
    """torchlib's _attention_repeat_kv_for_group_query (enable_gqa): k and v
    unsqueezed after the heads, expanded by Hq / Hkv, the two dims merged."""
    def dim(x, i):
        return g.op("Shape", x, start_i=i, end_i=i + 1)

    group = g.op("Div", dim(q, 1), dim(k, 1))
    two = g.op("Constant", value_t=torch.tensor([2]))
    repeated = []
    for x in (k, v):
        grown = g.op("Concat", dim(q, 0), dim(x, 1), group, dim(x, 2), dim(x, 3), axis_i=0)
        wide = g.op("Expand", g.op("Unsqueeze", x, two), grown)
        merged = g.op("Concat", dim(q, 0), dim(q, 1), dim(x, 2), dim(x, 3), axis_i=0)
        repeated.append(g.op("Reshape", wide, merged))
    return repeated


class SDPA(torch.autograd.Function):
    """F.scaled_dot_product_attention as torch 2.x exports it: FORM is
    "torchscript" or "torchlib"."""

    @staticmethod
    def forward(ctx, q, k, v, mask, form, causal, scale):
        return sdpa_reference(q, k, v, mask, causal, scale, form == "torchlib")

    @staticmethod
    def symbolic(g, q, k, v, mask, form, causal, scale):
        mask = None if mask is None or mask.node().mustBeNone() else mask
        return (torchscript_sdpa if form == "torchscript" else torchlib_sdpa)(
            g, q, k, v, mask, causal, scale)


def mask_falcon(attention_mask):
    """FalconModel._prepare_attn_mask (4.3x): [B, 1, T, S] bool, True where
    hidden, the causal part or'ed with the padding."""
    causal = torch.triu(torch.ones((T, T), dtype=torch.bool), diagonal=1)
    causal = causal[None, None, :, :].expand(B, 1, T, T)
    padding = ~(attention_mask[:, None, None, :].to(torch.bool))
    return padding.expand(B, 1, T, T) | causal


def alibi(attention_mask):
    """build_alibi_tensor (BLOOM, Falcon): [B * H, 1, S], each head's slope
    times the key's position among the real tokens."""
    closest = 2 ** math.floor(math.log2(H))
    base = torch.tensor(2 ** (-(2 ** -(math.log2(closest) - 3))), dtype=torch.float32)
    slopes = torch.pow(base, torch.arange(1, 1 + closest, dtype=torch.int32))
    positions = ((attention_mask.cumsum(dim=-1) - 1) * attention_mask)[:, None, :]
    return (slopes[..., None] * positions).reshape(B * H, 1, T)


def mask_bool(attention_mask):
    """masking_utils.sdpa_mask (4.53+, torch >= 2.6): [B, 1, T, S] bool,
    causal and the padding, with the key on the last axis."""
    cache_position = torch.arange(T)
    causal = torch.arange(T)[None, :] <= cache_position[:, None]
    return causal[None, None, :, :] & attention_mask.bool()[:, None, None, :]


# variant: (form, is_causal, scale)
SDPA_VARIANTS = {
    "nanogpt": ("torchscript", True, None),
    "llama-sdpa": ("torchscript", False, None),
    "dynamo-causal": ("torchlib", True, None),
    "dynamo-bool": ("torchlib", False, (D // H) ** -0.5),
    "dynamo-gqa": ("torchlib", True, None),
}


class Attention(nn.Module):
    def __init__(self, variant):
        super().__init__()
        self.variant = variant
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        self.kv_heads = KV_HEADS if variant == "dynamo-gqa" else H
        if self.kv_heads != H:
            self.k, self.v = (nn.Linear(D, self.kv_heads * (D // H)) for _ in range(2))
        self.register_buffer("bias", torch.tril(torch.ones((POSITIONS, POSITIONS), dtype=torch.bool))
                             .view(1, 1, POSITIONS, POSITIONS), persistent=False)
        self.scale_attn = torch.sqrt(torch.tensor(D // H, dtype=torch.float32))

    def forward(self, x, mask):
        def heads(t, count=H):
            return t.view(B, -1, count, D // H).transpose(1, 2)

        q = heads(self.q(x))
        k, v = heads(self.k(x), self.kv_heads), heads(self.v(x), self.kv_heads)
        query_length, key_length = q.size(-2), k.size(-2)
        causal = self.bias[:, :, key_length - query_length:key_length, :key_length]
        low = torch.tensor(MIN, dtype=torch.float32)
        if self.variant == "gpt2":
            w = torch.matmul(q, k.transpose(-1, -2))
            w = w / torch.full([], v.size(-1) ** 0.5, dtype=w.dtype, device=w.device)
            w = torch.where(causal, w, torch.full([], MIN, dtype=w.dtype)) + mask
            w = F.softmax(w, dim=-1).type(v.dtype)
        elif self.variant == "gptneo":
            w = torch.matmul(q.to(torch.float32), k.to(torch.float32).transpose(-1, -2))
            w = torch.where(causal, w, low) + mask
            w = F.softmax(w, dim=-1).to(v.dtype)
        elif self.variant == "gptj":
            w = torch.matmul(q.to(torch.float32), k.to(torch.float32).transpose(-1, -2))
            w = torch.where(causal, w, low) / self.scale_attn
            w = F.softmax(w + mask, dim=-1).to(v.dtype)
        elif self.variant == "falcon":
            # FalconAttention (4.3x): the bool mask, True where hidden, as
            # (mask * 1.0).masked_fill(mask, -1e9), added after the scale.
            fill = (mask * 1.0).masked_fill(mask, float("-1e9")).to(q.dtype)
            w = torch.matmul(q, k.transpose(-1, -2))
            w = F.softmax(w / math.sqrt(D // H) + fill, dim=-1)
        elif self.variant == "falcon-rw":
            # FalconAttention's ALiBi path (4.36-4.4x): ALiBi added to the
            # product, the sum scaled, then the converter's mask added.
            alibi, mask = mask
            w = torch.matmul(q, k.transpose(-1, -2)).view(B, H, T, -1)
            w = w + alibi.view(B, H, 1, -1)
            w = w * (1.0 / math.sqrt(D // H))
            w = F.softmax(w + mask, dim=-1, dtype=torch.float32)
        elif self.variant in SDPA_VARIANTS:
            form, causal, scale = SDPA_VARIANTS[self.variant]
            y = SDPA.apply(q, k, v, mask, form, causal, scale)
            return self.o(y.transpose(1, 2).reshape(B, -1, D))
        else:
            w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(D // H)
            w = w + mask[:, :, :, :key_length]
            w = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
        y = torch.matmul(w, v).transpose(1, 2).reshape(B, -1, D)
        return self.o(y)


class Block(nn.Module):
    def __init__(self, variant):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.attn = Attention(variant)
        self.fc, self.proj = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

    def forward(self, x, mask):
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.proj(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))


class Decoder(nn.Module):
    def __init__(self, variant):
        super().__init__()
        self.variant = variant
        self.wte, self.wpe = nn.Embedding(V, D), nn.Embedding(POSITIONS, D)
        self.blocks = nn.ModuleList(Block(variant) for _ in range(L))
        self.ln_f = nn.LayerNorm(D)

    def forward(self, input_ids, attention_mask):
        positions = torch.arange(0, T, dtype=torch.long).unsqueeze(0)
        if self.variant in ("gpt2", "gptneo", "gptj"):
            mask = attention_mask.view(B, -1)[:, None, None, :].to(torch.float32)
            mask = (1.0 - mask) * MIN
        elif self.variant == "llama436":
            mask = mask_436(attention_mask)
        elif self.variant == "mistral436":
            mask = mask_436(attention_mask, WINDOW)
        elif self.variant == "llama440":
            mask = mask_440(attention_mask)
        elif self.variant == "falcon":
            mask = mask_falcon(attention_mask)
        elif self.variant == "falcon-rw":
            mask = (alibi(attention_mask), mask_436(attention_mask))
        elif self.variant in ("nanogpt", "dynamo-causal", "dynamo-gqa"):
            mask = None
        elif self.variant == "llama-sdpa":
            mask = mask_436(attention_mask)
        elif self.variant == "dynamo-bool":
            mask = mask_bool(attention_mask)
        elif self.variant == "llama442":
            mask = mask_442(attention_mask)
        else:
            mask = mask_442(attention_mask, WINDOW)
        h = self.wte(input_ids) + self.wpe(positions)
        for block in self.blocks:
            h = block(h, mask)
        return self.ln_f(h) @ self.wte.weight.t()


class T5Attention(nn.Module):
    """T5Attention (4.3x) for the decoder's self-attention: no scale, a
    relative position bias from the first layer (bidirectional=False
    buckets) plus the extended mask, shared by the layers."""

    def __init__(self, has_bias, buckets=32, max_distance=128):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(D, D, bias=False) for _ in range(4))
        self.buckets, self.max_distance = buckets, max_distance
        if has_bias:
            self.relative_attention_bias = nn.Embedding(buckets, H)

    def bucket(self, relative):
        relative = -torch.min(relative, torch.zeros_like(relative))
        exact = self.buckets // 2
        small = relative < exact
        large = exact + (torch.log(relative.float() / exact)
                         / math.log(self.max_distance / exact)
                         * (self.buckets - exact)).to(torch.long)
        large = torch.min(large, torch.full_like(large, self.buckets - 1))
        return torch.where(small, relative, large)

    def forward(self, x, mask, position_bias):
        def heads(t):
            return t.view(B, -1, H, D // H).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        scores = torch.matmul(q, k.transpose(3, 2))
        if position_bias is None:
            context = torch.arange(T, dtype=torch.long)[:, None]
            memory = torch.arange(T, dtype=torch.long)[None, :]
            values = self.relative_attention_bias(self.bucket(memory - context))
            position_bias = values.permute([2, 0, 1]).unsqueeze(0) + mask
        scores += position_bias
        w = F.softmax(scores.float(), dim=-1).type_as(scores)
        return self.o(torch.matmul(w, v).transpose(1, 2).reshape(B, -1, D)), position_bias


class T5Decoder(nn.Module):
    """A T5 decoder's self-attention stack (no cross-attention) with
    get_extended_attention_mask's causal mask: (1 - causal * mask) * min,
    the product in int64."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(V, D)
        self.layers = nn.ModuleList([T5Attention(True), T5Attention(False)])
        self.norm = nn.LayerNorm(D)

    def forward(self, input_ids, attention_mask):
        seq_ids = torch.arange(T)
        causal = seq_ids[None, None, :].repeat(B, T, 1) <= seq_ids[None, :, None]
        causal = causal.to(attention_mask.dtype)
        extended = causal[:, None, :, :] * attention_mask[:, None, None, :]
        extended = (1.0 - extended.to(torch.float32)) * MIN
        h, bias = self.embed(input_ids), None
        for layer in self.layers:
            y, bias = layer(self.norm(h), extended, bias)
            h = h + y
        return self.norm(h) @ self.embed.weight.t()


def main():
    """VARIANT OUT SEQ, or VARIANT OUT pairs at the default SEQ: several in
    one process import torch once, each exported as alone (seeded anew)."""
    global T, POSITIONS
    args = sys.argv[1:]
    if len(args) == 3 and args[2].isdigit():
        T = int(args[2])
        POSITIONS = max(POSITIONS, T)
        args = args[:2]
    if not args or len(args) % 2:
        sys.exit("usage: make-hf-eager.py VARIANT OUT [SEQ] | VARIANT OUT [VARIANT OUT ...]")
    variants = ("gpt2", "gptneo", "gptj", "llama436", "mistral436", "llama440",
                "llama442", "mistral442", "t5", "falcon", "falcon-rw") + tuple(SDPA_VARIANTS)
    for variant in args[::2]:
        if variant not in variants:
            sys.exit(f"make-hf-eager: unknown variant {variant!r} (one of {', '.join(variants)})")
    for variant, out in zip(args[::2], args[1::2]):
        make(variant, out)


def make(variant, out):
    torch.manual_seed(0)
    model = (T5Decoder() if variant == "t5" else Decoder(variant)).eval()
    ids = torch.randint(0, V, (B, T))
    mask = torch.ones(B, T, dtype=torch.long)
    # is_causal without a mask: no padding, and no attention_mask input.
    padded = variant not in ("nanogpt", "dynamo-causal", "dynamo-gqa")
    if padded:
        mask[1, :3] = 0
        mask[2, :5] = 0
    inputs, names = ((ids, mask), ["input_ids", "attention_mask"]) if padded else ((ids, mask, {}), ["input_ids"])
    os.makedirs(out, exist_ok=True)
    # torch 1.13's ONNX shape inference crashes on torchlib's key transpose
    # (Shape with start and end into a Reshape): export without it.
    export = torch.onnx.utils._export if variant.startswith("dynamo") else torch.onnx.export
    extra = {"onnx_shape_inference": False} if variant.startswith("dynamo") else {}
    export(model, inputs, os.path.join(out, "model.onnx"), input_names=names,
           output_names=["logits"], opset_version=17, **extra)
    np.save(os.path.join(out, "input_ids.npy"), ids.numpy())
    if padded:
        np.save(os.path.join(out, "attention_mask.npy"), mask.numpy())
    with torch.no_grad():
        np.save(os.path.join(out, "logits.npy"), model(ids, mask).numpy())


if __name__ == "__main__":
    main()
