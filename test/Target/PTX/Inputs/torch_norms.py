"""Norm modules the input generators share."""
import torch


class RMSNorm(torch.nn.Module):
    """x / sqrt(mean(x^2) + 1e-6) * g over the last dim, g in [0.5, 1.5)."""

    def __init__(self, d):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.rand(d) + 0.5)

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight
