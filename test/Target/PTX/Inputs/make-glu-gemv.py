#!/usr/bin/env python3
"""Writes OUT/{silu,gelu}/model.onnx: a gated unit act(gate(x)) * up(x) of
two linear layers with biases (48 -> 40), the up weights 8 times the gate's
(their int8 scales differ as much), GELU with the tanh approximation for
the second, on 3 rows of one token, with x.npy and torch's expected_y.npy.

    make-glu-gemv.py OUT
"""
import os
import sys

import torch

from torch_cases import save_case


class Gated(torch.nn.Module):
    def __init__(self, act):
        super().__init__()
        self.gate = torch.nn.Linear(48, 40)
        self.up = torch.nn.Linear(48, 40)
        self.act = act
        with torch.no_grad():
            self.up.weight.mul_(8.0)

    def forward(self, x):
        return self.act(self.gate(x)) * self.up(x)


out = sys.argv[1]
for name, act in (("silu", torch.nn.functional.silu),
                  ("gelu", lambda v: torch.nn.functional.gelu(v, approximate="tanh"))):
    torch.manual_seed(0)
    model = Gated(act).eval()
    x = torch.randn(3, 1, 48)
    save_case(model, x, os.path.join(out, name))
