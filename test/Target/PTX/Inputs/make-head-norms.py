#!/usr/bin/env python3
"""Writes OUT/model.onnx: one linear layer to q, k and v of 3 heads of 24
(a fused qkv product, split by the export), then a per-head LayerNorm of q
and a per-head RMS norm of k over the 24 features (StableLM's and Qwen3's
q/k norms), on 2 x 5 tokens whose products have mean 1 and deviation 3,
with x.npy and torch's expected_{q,k,v}.npy.

    make-head-norms.py OUT
"""
import os
import sys

import numpy as np
import torch

from torch_cases import RMSNorm

HEADS, DIM = 3, 24


class HeadNorms(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = torch.nn.Linear(16, 3 * HEADS * DIM)
        self.q_norm = torch.nn.LayerNorm(DIM)
        self.k_norm = RMSNorm(DIM)
        with torch.no_grad():
            self.qkv.bias.add_(1.0)
            self.q_norm.weight.uniform_(0.5, 1.5)
            self.q_norm.bias.uniform_(-0.5, 0.5)

    def forward(self, x):
        b, s, _ = x.shape
        q, k, v = self.qkv(x).split(HEADS * DIM, dim=-1)
        q = self.q_norm(q.view(b, s, HEADS, DIM))
        k = self.k_norm(k.view(b, s, HEADS, DIM))
        return q, k, v


out = sys.argv[1]
torch.manual_seed(0)
model = HeadNorms().eval()
x = torch.randn(2, 5, 16) * 3
os.makedirs(out, exist_ok=True)
torch.onnx.export(model, (x,), os.path.join(out, "model.onnx"), input_names=["x"],
                  output_names=["q", "k", "v"], opset_version=17)
np.save(os.path.join(out, "x.npy"), x.numpy())
with torch.no_grad():
    for name, value in zip("qkv", model(x)):
        np.save(os.path.join(out, f"expected_{name}.npy"), value.numpy())
