"""What the input generators share: modules, and writing a case."""
import os

import numpy as np
import torch


class RMSNorm(torch.nn.Module):
    """x / sqrt(mean(x^2) + 1e-6) * g over the last dim, g in [0.5, 1.5)."""

    def __init__(self, d):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.rand(d) + 0.5)

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


def save_case(model, x, folder):
    """Exports `model` at opset 17 to folder/model.onnx (input x, output y)
    with x.npy and torch's expected_y.npy."""
    os.makedirs(folder, exist_ok=True)
    torch.onnx.export(model, (x,), os.path.join(folder, "model.onnx"), input_names=["x"],
                      output_names=["y"], opset_version=17)
    np.save(os.path.join(folder, "x.npy"), x.numpy())
    with torch.no_grad():
        np.save(os.path.join(folder, "expected_y.npy"), model(x).numpy())
