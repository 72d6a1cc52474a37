#!/usr/bin/env python3
"""Runs torch's transposed convolutions and pixel shuffles through llm-run
and compares with torch: nn.ConvTranspose1d/2d/3d over strides, padding,
output_padding, dilation and groups (ONNX ConvTranspose), an explicit
output size (output_shape), and nn.PixelShuffle / nn.PixelUnshuffle (ONNX
DepthToSpace in CRD mode / SpaceToDepth, or their reshapes).

    conv-transpose-cases.py DIR TARGET [TARGET ...]

Prints one line per mismatch and `conv-transpose: N cases x M targets, F
failed`; exits 1 if one failed. Tolerances: 1e-4 (host, hls), 5e-2 (ptx
kernels on the GPU emulator, products in 16 bits).
"""
import os
import subprocess
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn

TOLERANCE = {"host": ("1e-4", "1e-5"), "hls": ("1e-4", "1e-5"),
             "ptx": ("5e-2", "5e-2")}


class Sized(nn.Module):
    """A ConvTranspose2d given its output size (exported as output_shape)."""

    def __init__(self, conv, size):
        super().__init__()
        self.conv, self.size = conv, size

    def forward(self, x):
        return self.conv(x, output_size=self.size)


def cases():
    T1, T2, T3 = nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d
    yield "1d-stride2", T1(4, 6, 3, stride=2), (2, 4, 7)
    yield "1d-pad-outpad", T1(4, 3, 5, stride=3, padding=2, output_padding=1), (1, 4, 6)
    yield "2d-sam-upscale", T2(8, 4, 2, stride=2), (2, 8, 5, 5)
    yield "2d-groups-dilation", T2(6, 4, 3, stride=2, padding=1, dilation=2,
                                   groups=2, bias=False), (1, 6, 4, 5)
    yield "2d-depthwise", T2(4, 4, 4, stride=2, padding=1, groups=4), (1, 4, 6, 6)
    yield "2d-asymmetric", T2(3, 5, (3, 2), stride=(2, 3), padding=(1, 0),
                              output_padding=(1, 2)), (2, 3, 4, 3)
    yield "2d-output-size", Sized(T2(3, 2, 3, stride=2, padding=1), [8, 10]), (1, 3, 4, 5)
    yield "3d", T3(2, 3, 2, stride=(1, 2, 2)), (1, 2, 3, 3, 4)
    yield "pixel-shuffle", nn.PixelShuffle(2), (2, 12, 3, 4)
    yield "pixel-unshuffle", nn.PixelUnshuffle(2), (1, 3, 4, 6)


def main():
    out, targets = sys.argv[1], sys.argv[2:]
    if not targets:
        print("usage: conv-transpose-cases.py DIR TARGET [TARGET ...]", file=sys.stderr)
        return 2
    torch.manual_seed(0)
    failed = count = 0
    for name, module, shape in cases():
        count += 1
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        module.eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            y = module(x)
        model = os.path.join(folder, "model.onnx")
        torch.onnx.export(module, (x,), model, input_names=["x"], output_names=["y"],
                          opset_version=17)
        onnx.checker.check_model(onnx.load(model))
        np.save(os.path.join(folder, "x.npy"), x.numpy())
        np.save(os.path.join(folder, "y.npy"), y.numpy())
        for target in targets:
            rtol, atol = TOLERANCE[target]
            command = ["llm-run", model, "--target", target]
            if target == "ptx":
                command.append("--emulate-gpu")
            command += ["--input", "x=" + os.path.join(folder, "x.npy"),
                        "--expect", "y=" + os.path.join(folder, "y.npy"),
                        "--rtol", rtol, "--atol", atol]
            run = subprocess.run(command, capture_output=True, text=True)
            if run.returncode != 0:
                failed += 1
                last = (run.stderr or run.stdout).strip().splitlines()
                print(f"FAIL {name} on {target}: exit {run.returncode}: "
                      f"{last[-1] if last else ''}")
    print(f"conv-transpose: {count} cases x {len(targets)} targets, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
