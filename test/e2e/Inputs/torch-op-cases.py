#!/usr/bin/env python3
"""Runs small torch modules through llm-run and compares with torch, one
ONNX export per case, in sets:

  conv-transpose  nn.ConvTranspose1d/2d/3d over strides, padding,
                  output_padding, dilation and groups (ONNX ConvTranspose),
                  an explicit output size (output_shape), and
                  nn.PixelShuffle / nn.PixelUnshuffle (DepthToSpace in CRD
                  mode / SpaceToDepth, or their reshapes)
  max-pool        nn.MaxPool1d/2d/3d with return_indices (ONNX MaxPool's
                  Indices, which torch's export turns into per-channel
                  indices with a second MaxPool of kernel 1): padding,
                  dilation, ceil_mode, ties
  grid-sample     F.grid_sample (ONNX GridSample, opset 16) in every mode,
                  padding mode and align_corners, with grids reaching past
                  the input, and a deformable-attention sampling step
                  (bilinear, zeros, grids from an offset projection)
  empty-pieces    exports whose Concat has an empty piece:
                  torch.repeat_interleave along the last dim (the Expand
                  shape it computes ends in an empty constant), torch.roll
                  by 0 and by the whole dim (an empty slice after the
                  tensor), and a cat with an empty slice before and after

    torch-op-cases.py SET DIR [--filter REGEX] TARGET [TARGET ...]

--filter runs only the cases whose name matches REGEX (re.search).

A module that returns a tuple has outputs y0, y1, ...

Prints one line per mismatch and `SET: N cases x M targets, F failed`;
exits 1 if one failed. Tolerances: 1e-4 (host, hls), 5e-2 (ptx kernels on
the GPU emulator, products in 16 bits); max-pool's are 0 on every target.
"""
import os
import re
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

import llmrun

TOLERANCE = {"host": ("1e-4", "1e-5"), "hls": ("1e-4", "1e-5"),
             "ptx": ("5e-2", "5e-2")}


class Sized(nn.Module):
    """A ConvTranspose2d given its output size (exported as output_shape)."""

    def __init__(self, conv, size):
        super().__init__()
        self.conv, self.size = conv, size

    def forward(self, x):
        return self.conv(x, output_size=self.size)


def conv_transpose_cases():
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


class GridSample(nn.Module):
    """F.grid_sample of x at a fixed grid (a buffer: the input is x)."""

    def __init__(self, grid, **options):
        super().__init__()
        self.register_buffer("grid", grid)
        self.options = options

    def forward(self, x):
        return F.grid_sample(x, self.grid, **self.options)


class DeformableSampling(nn.Module):
    """One sampling step of deformable attention (Deformable DETR's
    MSDeformAttn on one level): sampling offsets projected from the
    queries, added to reference points, the value map sampled bilinearly
    with zeros padding, weighted by softmaxed attention weights."""

    def __init__(self, height, width, dim=8, heads=2, points=3, queries=5):
        super().__init__()
        self.heads, self.points, self.queries = heads, points, queries
        self.register_buffer("normalizer", torch.tensor([float(width), float(height)]))
        self.query = nn.Parameter(torch.randn(1, queries, dim))
        self.reference = nn.Parameter(torch.rand(1, queries, 1, 1, 2))
        self.offsets = nn.Linear(dim, heads * points * 2)
        self.weights = nn.Linear(dim, heads * points)
        self.value = nn.Linear(dim, dim)

    def forward(self, x):
        b, c, h, w = x.shape
        d = c // self.heads
        value = self.value(x.flatten(2).transpose(1, 2))  # [B, HW, C]
        value = value.transpose(1, 2).reshape(b * self.heads, d, h, w)
        q = self.query.expand(b, -1, -1)
        offsets = self.offsets(q).view(b, self.queries, self.heads, self.points, 2)
        locations = self.reference + offsets / self.normalizer
        grid = (2 * locations - 1).transpose(1, 2).reshape(b * self.heads, self.queries,
                                                           self.points, 2)
        sampled = F.grid_sample(value, grid, mode="bilinear", padding_mode="zeros",
                                align_corners=False)  # [B * heads, d, Q, P]
        attn = self.weights(q).view(b, self.queries, self.heads, self.points).softmax(-1)
        attn = attn.transpose(1, 2).reshape(b * self.heads, 1, self.queries, self.points)
        out = (sampled * attn).sum(-1).view(b, c, self.queries)
        return out.transpose(1, 2)


def grid_sample_cases():
    generator = torch.Generator().manual_seed(3)
    for mode in ("bilinear", "nearest", "bicubic"):
        for padding in ("zeros", "border", "reflection"):
            for align in (False, True):
                grid = 2.6 * torch.rand(2, 4, 5, 2, generator=generator) - 1.3
                name = f"{mode}-{padding}-{'align' if align else 'noalign'}"
                yield name, GridSample(grid, mode=mode, padding_mode=padding,
                                       align_corners=align), (2, 3, 6, 7)
    yield "deformable-attention", DeformableSampling(6, 7), (2, 8, 6, 7)


class Ties(nn.Module):
    """A pooling of x rounded to halves, so that windows hold ties."""

    def __init__(self, pool):
        super().__init__()
        self.pool = pool

    def forward(self, x):
        return self.pool(torch.round(x * 2) / 2)


class Lambda(nn.Module):
    def __init__(self, function):
        super().__init__()
        self.function = function

    def forward(self, x):
        return self.function(x)


def empty_pieces_cases():
    yield "repeat-interleave-2d", Lambda(lambda x: torch.repeat_interleave(x, 2, dim=1)), (2, 8)
    yield "repeat-interleave-4d", Lambda(lambda x: x.repeat_interleave(3, -1) * 2), (2, 3, 4, 6)
    yield "roll-0", Lambda(lambda x: torch.roll(x, 0, 1) + 1), (2, 5, 3)
    yield "roll-whole", Lambda(lambda x: torch.roll(x, 5, 1) - x[:, :1]), (2, 5, 3)
    yield "cat-empty", Lambda(lambda x: torch.cat([x[:, :0], x * 2, x[:, 5:]], 1).softmax(1)), (2, 5, 3)


def max_pool_cases():
    P1, P2, P3 = nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d
    yield "1d", P1(3, 2, return_indices=True), (2, 3, 9)
    yield "2d-pad", P2(3, 2, padding=1, return_indices=True), (2, 3, 7, 6)
    yield "2d-dilation-ceil", P2((2, 3), (2, 1), dilation=(2, 1), ceil_mode=True,
                                 return_indices=True), (1, 2, 8, 5)
    yield "2d-ties", Ties(P2(2, 1, return_indices=True)), (1, 2, 5, 5)
    yield "3d", P3(2, 2, return_indices=True), (1, 2, 4, 4, 6)


CASES = {"conv-transpose": conv_transpose_cases, "grid-sample": grid_sample_cases,
         "max-pool": max_pool_cases, "empty-pieces": empty_pieces_cases}


def main():
    args = sys.argv[1:]
    pattern = None
    if "--filter" in args[:-1]:
        at = args.index("--filter")
        pattern = args[at + 1]
        del args[at:at + 2]
    if len(args) < 3 or args[0] not in CASES:
        print("usage: torch-op-cases.py conv-transpose|grid-sample|max-pool|empty-pieces DIR [--filter REGEX] "
              "TARGET [TARGET ...]", file=sys.stderr)
        return 2
    cases, out, targets = CASES[args[0]], args[1], args[2:]
    torch.manual_seed(0)
    failed = count = 0
    for name, module, shape in cases():
        if pattern and not re.search(pattern, name):
            continue
        count += 1
        folder = os.path.join(out, name)
        os.makedirs(folder, exist_ok=True)
        module.eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            y = module(x)
        outputs = {f"y{i}": v for i, v in enumerate(y)} if isinstance(y, tuple) else {"y": y}
        model = os.path.join(folder, "model.onnx")
        torch.onnx.export(module, (x,), model, input_names=["x"],
                          output_names=list(outputs), opset_version=17)
        onnx.checker.check_model(onnx.load(model))
        np.save(os.path.join(folder, "x.npy"), x.numpy())
        for key, value in outputs.items():
            np.save(os.path.join(folder, key + ".npy"), value.numpy())
        for target in targets:
            # Pooling picks values: every target is exact.
            rtol, atol = ("0", "0") if args[0] == "max-pool" else TOLERANCE[target]
            problem = llmrun.check(
                model, target, {"x": os.path.join(folder, "x.npy")},
                {key: os.path.join(folder, key + ".npy") for key in outputs}, rtol, atol)
            if problem:
                failed += 1
                print(f"FAIL {name} on {target}: {problem}")
    print(f"{args[0]}: {count} cases x {len(targets)} targets, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
