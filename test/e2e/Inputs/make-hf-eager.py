"""make-hf-eager.py VARIANT OUT [SEQ]

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


class Attention(nn.Module):
    def __init__(self, variant):
        super().__init__()
        self.variant = variant
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        self.register_buffer("bias", torch.tril(torch.ones((POSITIONS, POSITIONS), dtype=torch.bool))
                             .view(1, 1, POSITIONS, POSITIONS), persistent=False)
        self.scale_attn = torch.sqrt(torch.tensor(D // H, dtype=torch.float32))

    def forward(self, x, mask):
        def heads(t):
            return t.view(B, -1, H, D // H).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
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
    global T, POSITIONS
    variant, out = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        T = int(sys.argv[3])
        POSITIONS = max(POSITIONS, T)
    variants = ("gpt2", "gptneo", "gptj", "llama436", "mistral436", "llama440",
                "llama442", "mistral442", "t5")
    if variant not in variants:
        sys.exit(f"make-hf-eager: unknown variant {variant!r} (one of {', '.join(variants)})")
    torch.manual_seed(0)
    model = (T5Decoder() if variant == "t5" else Decoder(variant)).eval()
    ids = torch.randint(0, V, (B, T))
    mask = torch.ones(B, T, dtype=torch.long)
    mask[1, :3] = 0
    mask[2, :5] = 0
    os.makedirs(out, exist_ok=True)
    torch.onnx.export(model, (ids, mask), os.path.join(out, "model.onnx"),
                      input_names=["input_ids", "attention_mask"], output_names=["logits"],
                      opset_version=17)
    np.save(os.path.join(out, "input_ids.npy"), ids.numpy())
    np.save(os.path.join(out, "attention_mask.npy"), mask.numpy())
    with torch.no_grad():
        np.save(os.path.join(out, "logits.npy"), model(ids, mask).numpy())


if __name__ == "__main__":
    main()
