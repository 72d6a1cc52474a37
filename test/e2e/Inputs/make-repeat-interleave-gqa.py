#!/usr/bin/env python3
"""Grouped-query attention written with torch.repeat_interleave, as custom
models (and the docstring of Hugging Face's repeat_kv) write it, exported by
torch.onnx: a decoding step (one query token after 11 cached ones) and a
prompt (5 tokens, causal) over 8 query heads and 2 kv heads of 16, each
returning the attention's output and the present keys and values.

    make-repeat-interleave-gqa.py OUT

writes OUT/{decode,prompt}/model.onnx with the inputs (q.npy, past_k.npy,
past_v.npy, k.npy, v.npy) and torch's outputs (out.npy, present_k.npy,
present_v.npy).
"""
import os
import sys

import numpy as np
import torch


class GroupedAttention(torch.nn.Module):
    def __init__(self, causal):
        super().__init__()
        self.causal = causal

    def forward(self, q, past_k, past_v, k, v):
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        group = q.shape[1] // k.shape[1]
        keys = k.repeat_interleave(group, dim=1)
        values = v.repeat_interleave(group, dim=1)
        scores = q @ keys.transpose(-1, -2) / q.shape[-1] ** 0.5
        if self.causal:
            t, n = scores.shape[-2], scores.shape[-1]
            hide = torch.ones(t, n, dtype=torch.bool).triu(n - t + 1)
            scores = scores.masked_fill(hide, float("-inf"))
        return scores.softmax(-1) @ values, k, v


def main(out):
    torch.manual_seed(0)
    heads, kv_heads, dim, past = 8, 2, 16, 11
    for name, tokens in (("decode", 1), ("prompt", 5)):
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        inputs = {
            "q": torch.randn(1, heads, tokens, dim),
            "past_k": torch.randn(1, kv_heads, past, dim),
            "past_v": torch.randn(1, kv_heads, past, dim),
            "k": torch.randn(1, kv_heads, tokens, dim),
            "v": torch.randn(1, kv_heads, tokens, dim),
        }
        model = GroupedAttention(causal=tokens > 1).eval()
        with torch.no_grad():
            outputs = model(*inputs.values())
        torch.onnx.export(model, tuple(inputs.values()),
                          os.path.join(folder, "model.onnx"),
                          input_names=list(inputs),
                          output_names=["out", "present_k", "present_v"],
                          opset_version=17)
        for key, value in inputs.items():
            np.save(os.path.join(folder, key + ".npy"), value.numpy())
        for key, value in zip(("out", "present_k", "present_v"), outputs):
            np.save(os.path.join(folder, key + ".npy"), value.numpy())


if __name__ == "__main__":
    main(sys.argv[1])
