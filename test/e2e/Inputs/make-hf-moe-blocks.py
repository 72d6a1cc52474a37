#!/usr/bin/env python3
"""Mixture-of-experts blocks in Hugging Face's eager form, exported by
torch.onnx at opset 17, for test/e2e/hf-moe-blocks.test.

Each block routes its tokens with a softmax (or sigmoid) router and the top
k, and runs each expert on the rows torch.where picks out of the one-hot
routing mask, index_add_ing its weighted results back: the loop of
Mixtral's, Qwen2-MoE's, OLMoE's and DeepSeek-V3's blocks. The variants:

  mixtral-step    Mixtral's loop (mask permuted (2, 1, 0): rows are
                  (choice, token)), SwiGLU experts, 4 experts, top 2
                  renormalized, 1 token.
  deepseek-step   DeepSeek-V3's loop (mask permuted (2, 0, 1): rows are
                  (token, choice)), sigmoid scores, 8 experts, top 2, 1 token.
  bias-gelu-step  experts written x @ W + b with a tanh GELU between (two
                  bias row vectors per expert), 4 experts, top 1, 2 tokens.
  qwen-step       Qwen2-MoE's block: 6 experts, top 2 not renormalized, and a
                  shared expert behind a sigmoid gate, 1 token.
  top4-step       8 experts, top 4, 1 token.
  mixtral-prompt  mixtral-step's block on 5 tokens (10 padded rows).

Writes DIR/<variant>/{model.onnx, x.npy, y.npy} and prints one line per
variant: its name, tokens, experts and k. --only, --hidden, --ffn,
--experts and --tokens make one block of other sizes (the README's larger
block: --only mixtral-step --hidden 512 --ffn 1408 --experts 8, 1 and 64
tokens).
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models"))
from export_models import MixtralExpert as SwiGLU  # noqa: E402  w2(silu(w1 x) * w3 x)

HIDDEN, FFN = 32, 48


class BiasGelu(nn.Module):
    """x @ W1 + b1, tanh GELU, @ W2 + b2 (parameters, not nn.Linear)."""

    def __init__(self, hidden, ffn):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(hidden, ffn) / hidden ** 0.5)
        self.b1 = nn.Parameter(torch.randn(ffn) * 0.1)
        self.w2 = nn.Parameter(torch.randn(ffn, hidden) / ffn ** 0.5)
        self.b2 = nn.Parameter(torch.randn(hidden) * 0.1)

    def forward(self, x):
        return F.gelu(x @ self.w1 + self.b1, approximate="tanh") @ self.w2 + self.b2


class EagerMoE(nn.Module):
    def __init__(self, experts, k, expert=SwiGLU, order=(2, 1, 0), scores="softmax",
                 renormalize=True, shared=False):
        super().__init__()
        self.experts_n, self.k, self.order = experts, k, order
        self.scores, self.renormalize = scores, renormalize
        self.gate = nn.Linear(HIDDEN, experts, bias=False)
        self.experts = nn.ModuleList(expert(HIDDEN, FFN) for _ in range(experts))
        self.shared = SwiGLU(HIDDEN, FFN) if shared else None
        self.shared_gate = nn.Linear(HIDDEN, 1, bias=False) if shared else None

    def forward(self, x):
        shape = x.shape
        h = x.view(-1, shape[-1])
        logits = self.gate(h)
        probs = logits.sigmoid() if self.scores == "sigmoid" else F.softmax(logits, dim=1)
        weights, chosen = torch.topk(probs, self.k, dim=-1)
        if self.renormalize:
            weights = weights / weights.sum(dim=-1, keepdim=True)
        out = torch.zeros_like(h)
        mask = F.one_hot(chosen, num_classes=self.experts_n).permute(*self.order)
        for e, expert in enumerate(self.experts):
            if self.order == (2, 1, 0):
                # Mixtral: rows (choice, token).
                choice, token = torch.where(mask[e])
            else:
                # DeepSeek-V3: rows (token, choice).
                token, choice = torch.where(mask[e])
            rows = h[None, token].reshape(-1, shape[-1])
            out.index_add_(0, token, expert(rows) * weights[token, choice, None])
        if self.shared is not None:
            out = out + torch.sigmoid(self.shared_gate(h)) * self.shared(h)
        return out.view(shape)


VARIANTS = {
    "mixtral-step": (dict(experts=4, k=2), 1),
    "deepseek-step": (dict(experts=8, k=2, order=(2, 0, 1), scores="sigmoid"), 1),
    "bias-gelu-step": (dict(experts=4, k=1, expert=BiasGelu, renormalize=False), 2),
    "qwen-step": (dict(experts=6, k=2, renormalize=False, shared=True), 1),
    "top4-step": (dict(experts=8, k=4), 1),
    "mixtral-prompt": (dict(experts=4, k=2), 5),
}


def main():
    global HIDDEN, FFN
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--only", help="write this variant alone")
    parser.add_argument("--hidden", type=int, help=f"hidden size (default {HIDDEN})")
    parser.add_argument("--ffn", type=int, help=f"experts' inner size (default {FFN})")
    parser.add_argument("--experts", type=int, help="number of experts (default: the variant's)")
    parser.add_argument("--tokens", type=int, help="tokens (default: the variant's)")
    args = parser.parse_args()
    HIDDEN, FFN = args.hidden or HIDDEN, args.ffn or FFN
    for name, (options, tokens) in VARIANTS.items():
        if args.only and name != args.only:
            continue
        options = dict(options, **({"experts": args.experts} if args.experts else {}))
        tokens = args.tokens or tokens
        torch.manual_seed(len(name))
        block = EagerMoE(**options).eval()
        x = torch.randn(1, tokens, HIDDEN)
        with torch.no_grad():
            y = block(x)
        folder = os.path.join(args.out, name)
        os.makedirs(folder, exist_ok=True)
        with torch.no_grad():
            torch.onnx.export(block, (x,), os.path.join(folder, "model.onnx"),
                              input_names=["x"], output_names=["y"], opset_version=17)
        np.save(os.path.join(folder, "x.npy"), x.numpy())
        np.save(os.path.join(folder, "y.npy"), y.numpy())
        print(name, tokens, options["experts"], options["k"])


if __name__ == "__main__":
    main()
