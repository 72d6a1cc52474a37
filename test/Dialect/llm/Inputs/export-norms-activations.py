"""Exports a small chain of the norms and activations torch writes as
elementwise ops at opset 14 (nn.LayerNorm with and without affine
parameters, nn.GELU exact and tanh, a Llama-style RMSNorm, a divide-form
RMSNorm, nn.SiLU), with an input and torch's output as .npy files.

usage: export-norms-activations.py OUT_DIR"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn


class LlamaRMSNorm(nn.Module):
    """As in transformers' LlamaRMSNorm: f32 statistics, rsqrt, weight last."""

    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(dim) + 0.5)
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        x = x.to(torch.float32)
        variance = x.pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.eps)
        return self.weight * x.to(dtype)


class DivideRMSNorm(nn.Module):
    """x / sqrt(mean(x * x) + eps) * weight."""

    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(dim) + 0.5)
        self.eps = eps

    def forward(self, x):
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + self.eps) * self.weight


class Model(nn.Module):
    def __init__(self, dim=16):
        super().__init__()
        self.ln = nn.LayerNorm(dim)
        with torch.no_grad():
            self.ln.weight.uniform_(0.5, 1.5)
            self.ln.bias.uniform_(-0.5, 0.5)
        self.gelu = nn.GELU()
        self.gelu_tanh = nn.GELU(approximate="tanh")
        self.rms = LlamaRMSNorm(dim)
        self.silu = nn.SiLU()
        self.ln_plain = nn.LayerNorm(dim, elementwise_affine=False)
        self.rms_divide = DivideRMSNorm(dim)

    def forward(self, x):
        x = self.gelu(self.ln(x))
        x = self.silu(self.rms(self.gelu_tanh(x)))
        return self.rms_divide(self.ln_plain(x))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    model = Model().eval()
    x = torch.randn(2, 4, 16)
    with torch.no_grad():
        y = model(x)
    torch.onnx.export(model, x, os.path.join(out, "model.onnx"),
                      opset_version=14, input_names=["x"], output_names=["y"])
    np.save(os.path.join(out, "x.npy"), x.numpy())
    np.save(os.path.join(out, "y.npy"), y.numpy())


if __name__ == "__main__":
    main()
