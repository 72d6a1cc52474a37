#!/usr/bin/env python3
"""Writes OUT/{ln,rms}/model.onnx: a norm over 30 features (not a multiple
of 8: the GEMV kernel's scalar runs) and the linear layer after it, on
3 rows of one token whose features have mean 1 and deviation 3 (the layer
norm's centering matters), with x.npy and torch's expected_y.npy.

    make-norm-gemv.py OUT
"""
import os
import sys

import torch

from torch_cases import RMSNorm, save_case


out = sys.argv[1]
for name in ("ln", "rms"):
    torch.manual_seed(0)
    norm = torch.nn.LayerNorm(30) if name == "ln" else RMSNorm(30)
    if name == "ln":
        with torch.no_grad():
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    model = torch.nn.Sequential(norm, torch.nn.Linear(30, 20)).eval()
    x = torch.randn(3, 1, 30) * 3 + 1
    save_case(model, x, os.path.join(out, name))
