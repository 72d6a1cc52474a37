#!/usr/bin/env python3
"""Differential fuzzing of llmc's numerics: every case is a random chain of
4 to 12 torch ops over a [B, T, D] input: linear layers, attention with
and without a causal mask, batched and broadcast matmuls, einsum, GRU and
LSTM, Conv1d and Conv2d, avg and max pooling, interpolation, layer, RMS,
group, batch and instance norms, softmax, reductions (logsumexp, norms,
prod, argmax), sort and top-k, elementwise math, masks (masked_fill,
tril/triu, boolean logic, assignment through a boolean mask), scatters
(index assignment, scatter_add), casts to integers, and the data movement
exporters write: transpose, reshape, strided slices, select, concat, stack,
gather (at constant and at argmax positions), pad, flip, roll, repeat,
split, rotate_half, a rank-0 value broadcast; and last, in a quarter of
the programs, a table of a parameter alone (cos or damped sin of positions
times the parameter, as rotary tables are) that scales the result;
exported to ONNX at opset 17 and run through `llm-run` on each target:

  host  against torch (rtol 1e-3, atol 1e-4)
  hls   against the host's output (rtol 1e-4, atol 1e-5; C-simulation)
  ptx   the kernels on the GPU emulator against torch: the same NaN
        positions and cosine >= 0.999 elsewhere (products in 16 bits); the
        output's shape only where a step selects by value (where, round,
        topk, an argmax, a mask, a cast to integers, remainder), which
        near-equal values flip, and where torch's own output moves as
        much under noise of 16-bit rounding on the input and the
        parameters (a 16-bit-sensitive program: a norm of near-zero rows
        after a recurrent layer amplifies its rounding)
  npu   `--quant int8` against the host's `--quant int8` output, bit for bit

    /usr/bin/python3 scripts/fuzz_numerics.py [--seeds 1-50[,SEED...]]
        [--targets host,hls,ptx,npu] [--dynamic] [--float16] [--jobs 2]
        [--keep DIR] [--tools build/bin] [--in-process]

--in-process runs llm-run's body in --jobs worker processes that import
the llmc Python package (scripts/llm_run_pool.py) instead of starting
--tools' llm-run for every run: the same exit codes and output; a run that
crashes or times out there runs again as that llm-run.

--dynamic exports the input's batch and sequence dims dynamic: llm-run
then takes them from the input, and shape computations that the static
export folds run through the importer's shape folding.

--float16 converts each exported model to float16 as fp16 models for GPUs
are made from fp32 exports (test/models/export_models.py's
convert_to_float16: weights, constants, Casts to float, the input and the
output) and runs it on an fp16 input: host and ptx against torch's fp32
output by the ptx rule above (NaNs, cosine >= 0.999), hls and npu as
above (the HLS C-simulation rounds to 16 bits after every op, as the host
does).

Prints one line per failing case (its program, and the folder it is kept in
with --keep) and `fuzz-numerics: N cases x M targets, F failed, S not
exported, U ill-conditioned`; exits 1 if a case failed, 2 on bad usage. A
case whose float32 output torch itself does not reproduce in float64
within the host's tolerance is ill-conditioned (a selection between values
closer than float32 resolves): counted, not run. A case torch cannot
run or export is counted, not failed, and so is one that torch 1.13
exports wrongly: repeat_interleave with dynamic dims (a Reshape that
copies the wrong dims, unrolled or in a Loop) is not exported with
--dynamic, nor is a static case whose export holds such a Loop (after an
Einsum, whose output size the exporter does not infer). The generator
also avoids torch.roll by a shift of the dim's size or more, whose Slices
torch does not take modulo the dim.
"""
import argparse
import concurrent.futures
import os
import random
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llm_run_pool import LLMRunPool, run_llm_run  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KINDS = ["linear", "linear", "unary", "binary", "binary_live", "softmax", "layer_norm",
         "rms_norm", "transpose", "reshape", "slice", "concat", "reduce", "gather", "where",
         "cumsum", "bmm", "roll", "attention", "attention", "expand", "pad", "flip",
         "repeat", "clamp", "split", "rotate_half", "masked_softmax", "var", "einsum",
         "flatten", "argmax_gather", "topk", "broadcast_matmul", "conv1d", "group_norm",
         "reduce_many", "logsumexp", "norm", "round", "scatter", "scatter_add",
         "masked_fill", "tril", "pool", "interpolate", "glu", "normalize", "sort", "prod",
         "stack", "outer", "mask_assign", "argmax_float", "remainder", "trunc_cast", "rnn",
         "conv2d", "batch_norm", "instance_norm", "select", "unsqueeze", "center", "logical"]
# Steps whose output selects by value.
SELECTING = {"where", "round", "topk", "argmax_gather", "masked_fill", "mask_assign",
             "argmax_float", "remainder", "trunc_cast", "logical"}
UNARY = ["gelu", "gelu_tanh", "relu", "silu", "tanh", "sigmoid", "exp", "sqrt", "neg",
         "softplus", "erf", "square", "reciprocal", "leaky_relu", "elu", "hardswish", "mish",
         "hardtanh", "abs_pow", "selu", "celu", "softsign", "logsigmoid", "hardsigmoid",
         "tanhshrink", "softshrink", "log1p", "rsqrt", "sin", "cos", "atan", "asinh",
         "sign_sqrt"]


def generate(seed):
    """A program: the input shape, a list of steps (each reads earlier
    values by index and appends one) and the shapes of its parameters."""
    rnd = random.Random(seed)
    shape = (rnd.choice([1, 2, 3]), rnd.choice([4, 6, 8, 12]), rnd.choice([8, 16, 24, 32]))
    shapes, steps, params = [shape], [], []

    def param(*dims):
        params.append(tuple(dims))
        return len(params) - 1

    for _ in range(rnd.randint(4, 12)):
        # Mostly the latest value, so that the chain stays connected.
        i = len(shapes) - 1 if rnd.random() < 0.6 else rnd.randrange(len(shapes))
        sh, kind = shapes[i], rnd.choice(KINDS)
        r = len(sh)
        step, out = None, sh
        if kind == "linear":
            n = rnd.choice([8, 16, 32, 48])
            step, out = (kind, i, param(sh[-1], n), param(n)), sh[:-1] + (n,)
        elif kind == "unary":
            step = (kind, i, rnd.choice(UNARY))
        elif kind == "binary":
            other = tuple(d if rnd.random() < 0.5 else 1 for d in sh)
            if rnd.random() < 0.3:
                other = other[1:]
            step = (kind, i, rnd.choice(["add", "mul", "sub", "div"]), param(*(other or (1,))))
        elif kind == "binary_live":
            same = [j for j, s in enumerate(shapes) if s == sh and j != i]
            if same:
                step = (kind, i, rnd.choice(same), rnd.choice(["add", "mul", "sub", "max"]))
        elif kind == "softmax":
            step = (kind, i, rnd.randrange(r), rnd.random() < 0.3)
        elif kind == "layer_norm":
            step = (kind, i, param(sh[-1]), param(sh[-1]))
        elif kind == "rms_norm":
            step = (kind, i, param(sh[-1]))
        elif kind == "transpose" and r > 1:
            a, b = rnd.sample(range(r), 2)
            out = list(sh)
            out[a], out[b] = out[b], out[a]
            step, out = (kind, i, a, b), tuple(out)
        elif kind == "reshape":
            if rnd.random() < 0.5 and sh[-1] % 2 == 0 and r < 5:
                out = sh[:-1] + (2, sh[-1] // 2)
                step = (kind, i, out)
            elif r > 2:
                a = rnd.randrange(r - 1)
                out = sh[:a] + (sh[a] * sh[a + 1],) + sh[a + 2:]
                step = (kind, i, out)
        elif kind == "slice":
            axis = rnd.randrange(r)
            if sh[axis] >= 2:
                start, stride = rnd.randrange(sh[axis] // 2), rnd.choice([1, 1, 2])
                out = list(sh)
                out[axis] = len(range(start, sh[axis], stride))
                step, out = (kind, i, axis, start, stride), tuple(out)
        elif kind == "concat":
            j, axis = rnd.choice([j for j, s in enumerate(shapes) if len(s) == r]), rnd.randrange(r)
            if all(shapes[j][d] == sh[d] for d in range(r) if d != axis):
                out = list(sh)
                out[axis] += shapes[j][axis]
                step, out = (kind, i, j, axis), tuple(out)
        elif kind in ("reduce", "var"):
            axis = rnd.randrange(r)
            out = tuple(1 if d == axis else n for d, n in enumerate(sh))
            how = rnd.choice(["mean", "sum", "max", "min"]) if kind == "reduce" else None
            step = (kind, i, axis, how)
        elif kind == "gather":
            axis = rnd.randrange(r)
            indices = [rnd.randrange(sh[axis]) for _ in range(rnd.randint(1, sh[axis] + 2))]
            out = tuple(len(indices) if d == axis else n for d, n in enumerate(sh))
            step = (kind, i, axis, indices)
        elif kind == "where":
            step = (kind, i, param(sh[-1]))
        elif kind == "cumsum":
            step = (kind, i, rnd.randrange(r))
        elif kind == "roll":
            axis = rnd.randrange(r)
            step = (kind, i, axis, rnd.randint(-sh[axis] + 1, sh[axis] - 1))
        elif kind == "bmm" and r >= 3:
            same = [j for j, s in enumerate(shapes)
                    if len(s) == r and s[:-2] == sh[:-2] and s[-1] == sh[-1]]
            j = rnd.choice(same)
            step, out = (kind, i, j), sh[:-1] + (shapes[j][-2],)
        elif kind == "attention" and r == 3:
            heads = rnd.choice([h for h in (1, 2, 4) if sh[-1] % h == 0])
            step = (kind, i, heads, rnd.random() < 0.6, param(sh[-1], 3 * sh[-1]))
        elif kind == "expand" and r < 4:
            axis = rnd.randrange(r + 1)
            out = sh[:axis] + (rnd.choice([2, 3]),) + sh[axis:]
            step = (kind, i, axis, out)
        elif kind == "pad":
            axis, before, after = rnd.randrange(r), rnd.randint(0, 2), rnd.randint(0, 2)
            if before + after:
                out = tuple(n + before + after if d == axis else n for d, n in enumerate(sh))
                step = (kind, i, axis, before, after, rnd.choice([0.0, 1.5]))
        elif kind == "flip":
            step = (kind, i, rnd.randrange(r))
        elif kind == "repeat":
            axis = rnd.randrange(r)
            out = tuple(2 * n if d == axis else n for d, n in enumerate(sh))
            step = (kind, i, axis, rnd.random() < 0.5)
        elif kind == "clamp":
            step = (kind, i, -rnd.random(), rnd.random())
        elif kind == "split":
            axis = rnd.randrange(r)
            if sh[axis] >= 2:
                first, which = rnd.randint(1, sh[axis] - 1), rnd.randrange(2)
                size = first if which == 0 else sh[axis] - first
                out = tuple(size if d == axis else n for d, n in enumerate(sh))
                step = (kind, i, axis, first, which)
        elif kind == "rotate_half" and sh[-1] % 2 == 0:
            step = (kind, i, param(sh[-1]))
        elif kind == "masked_softmax" and r >= 2 and sh[-1] == sh[-2]:
            step = (kind, i, rnd.random() < 0.5)
        elif kind == "einsum" and r == 3:
            n = rnd.choice([4, 8])
            step, out = (kind, i, param(sh[-1], n), param(sh[1], 3)), (sh[0], 3, n)
        elif kind == "flatten" and r >= 3:
            step, out = (kind, i), (sh[0], int(np.prod(sh[1:])))
        elif kind == "argmax_gather":
            step, out = (kind, i), sh[:-1] + (1,)
        elif kind == "topk":
            k = rnd.randint(1, sh[-1])
            step, out = (kind, i, k, rnd.random() < 0.5), sh[:-1] + (k,)
        elif kind == "broadcast_matmul" and r == 3:
            n = rnd.choice([4, 8, 16])
            step, out = (kind, i, param(2, sh[-1], n)), (sh[0], 2, sh[1], n)
        elif kind == "conv1d" and r == 3:
            groups = rnd.choice([1, sh[-1]])
            width = sh[-1] if groups > 1 else rnd.choice([8, 16])
            kernel = rnd.choice([1, 3, 4])
            step = (kind, i, param(width, sh[-1] // groups, kernel), param(width), groups, kernel)
            out = (sh[0], sh[1] + 2 * (kernel // 2) - kernel + 1, width)
        elif kind == "group_norm" and r == 3:
            groups = rnd.choice([g for g in (1, 2, 4) if sh[-1] % g == 0])
            step = (kind, i, groups, param(sh[-1]), param(sh[-1]))
        elif kind == "reduce_many" and r >= 3:
            axes = tuple(sorted(rnd.sample(range(r), 2)))
            out = tuple(1 if d in axes else n for d, n in enumerate(sh))
            step = (kind, i, axes)
        elif kind in ("logsumexp", "norm"):
            axis = rnd.randrange(r)
            step, out = (kind, i, axis), tuple(1 if d == axis else n for d, n in enumerate(sh))
        elif kind == "round":
            step = (kind, i)
        elif kind == "scatter":
            axis = rnd.randrange(r)
            positions = rnd.sample(range(sh[axis]), rnd.randint(1, sh[axis]))
            value = tuple(len(positions) if d == axis else n for d, n in enumerate(sh))
            step = (kind, i, axis, positions, param(*value))
        elif kind == "scatter_add":
            axis = rnd.randrange(r)
            step = (kind, i, axis, rnd.randrange(1 << 30), param(*sh))
        elif kind in ("masked_fill", "mask_assign"):
            step = (kind, i, rnd.uniform(-0.5, 0.5), rnd.choice([0.0, -1.0, 2.5]))
        elif kind == "tril" and r >= 2:
            step = (kind, i, rnd.random() < 0.5, rnd.randint(-2, 2))
        elif kind == "pool" and r == 3 and sh[1] >= 3:
            how, kernel, stride = rnd.choice(["avg", "max"]), rnd.choice([2, 3]), rnd.choice([1, 2])
            pad, ceil = rnd.randint(0, kernel // 2), rnd.random() < 0.3
            span = sh[1] + 2 * pad - kernel
            n = (-(-span // stride) if ceil else span // stride) + 1
            if ceil and (n - 1) * stride >= sh[1] + pad:
                n -= 1
            step, out = (kind, i, how, kernel, stride, pad, ceil, rnd.random() < 0.5), \
                (sh[0], n, sh[2])
        elif kind == "interpolate" and r == 3:
            mode = rnd.choice(["nearest", "linear", "linear_corners"])
            n = rnd.choice([2 * sh[1], sh[1] + 3, max(1, sh[1] // 2)])
            step, out = (kind, i, mode, n), (sh[0], n, sh[2])
        elif kind == "glu" and sh[-1] % 2 == 0:
            step, out = (kind, i), sh[:-1] + (sh[-1] // 2,)
        elif kind == "normalize":
            step = (kind, i, rnd.randrange(r), rnd.choice([1, 2]))
        elif kind == "sort":
            step = (kind, i, rnd.randrange(r), rnd.random() < 0.5)
        elif kind == "prod":
            axis = rnd.randrange(r)
            step, out = (kind, i, axis), tuple(1 if d == axis else n for d, n in enumerate(sh))
        elif kind == "stack" and r < 5:
            j, axis = rnd.choice([j for j, s in enumerate(shapes) if s == sh]), rnd.randrange(r + 1)
            step, out = (kind, i, j, axis), sh[:axis] + (2,) + sh[axis:]
        elif kind == "outer" and r < 4:
            n = rnd.choice([2, 3])
            step, out = (kind, i, param(n)), sh + (n,)
        elif kind == "argmax_float":
            axis = rnd.randrange(r)
            step, out = (kind, i, axis), tuple(1 if d == axis else n for d, n in enumerate(sh))
        elif kind == "remainder":
            step = (kind, i, rnd.choice([0.7, 1.3, -0.9]))
        elif kind == "trunc_cast":
            step = (kind, i, rnd.choice(["int64", "int32", "int8"]))
        elif kind == "rnn" and r == 3:
            cell, hidden, both = rnd.choice(["gru", "lstm"]), rnd.choice([8, 12]), rnd.random() < 0.4
            step, out = (kind, i, cell, hidden, both, sh[-1]), (sh[0], sh[1], hidden * (2 if both else 1))
        elif kind == "conv2d" and r == 3:
            channels, stride = rnd.choice([1, 2, 3]), rnd.choice([1, 2])
            step = (kind, i, param(channels, 1, 3, 3), param(channels), stride)
            out = (sh[0], channels, (sh[1] - 1) // stride + 1, (sh[2] - 1) // stride + 1)
        elif kind == "batch_norm" and r == 3:
            step = (kind, i) + tuple(param(sh[-1]) for _ in range(4))
        elif kind == "instance_norm" and r == 3:
            step = (kind, i)
        elif kind == "select" and r > 1:
            axis = rnd.randrange(r)
            index = rnd.randrange(-sh[axis], sh[axis])
            step, out = (kind, i, axis, index), sh[:axis] + sh[axis + 1:]
        elif kind == "unsqueeze" and r < 5:
            axis = rnd.randrange(r + 1)
            step, out = (kind, i, axis), sh[:axis] + (1,) + sh[axis:]
        elif kind == "center":
            step = (kind, i)
        elif kind == "logical":
            step = (kind, i, rnd.choice(["and", "or", "xor"]), rnd.uniform(-0.5, 0.5))
        if step:
            steps.append(step)
            shapes.append(out)
    # A table of the parameters alone, as rotary and relative-position
    # tables are, which llmc computes at compile time. Drawn last, so that
    # the steps above stay those that earlier versions drew.
    if rnd.random() < 0.25 and len(shapes[-1]) >= 2:
        sh = shapes[-1]
        steps.append(("param_table", len(shapes) - 1, param(sh[-1]),
                      rnd.choice(["cos", "sin_exp"])))
        shapes.append(sh)
    return shape, steps, params


def build_module(steps, param_shapes, seed):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    unary = {"gelu": F.gelu, "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
             "relu": F.relu, "silu": F.silu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
             "exp": lambda t: torch.exp(torch.clamp(t, -10, 5)),
             "sqrt": lambda t: torch.sqrt(torch.abs(t) + 1e-3), "neg": torch.neg,
             "softplus": F.softplus, "erf": torch.erf, "square": lambda t: t * t,
             "reciprocal": lambda t: 1.0 / (1.0 + torch.abs(t)),
             "leaky_relu": lambda t: F.leaky_relu(t, 0.1), "elu": F.elu,
             "hardswish": F.hardswish, "mish": F.mish, "hardtanh": F.hardtanh,
             "abs_pow": lambda t: torch.abs(t).pow(1.5), "selu": F.selu, "celu": F.celu,
             "softsign": F.softsign, "logsigmoid": F.logsigmoid, "hardsigmoid": F.hardsigmoid,
             "tanhshrink": F.tanhshrink, "softshrink": F.softshrink,
             "log1p": lambda t: torch.log1p(torch.abs(t)),
             "rsqrt": lambda t: torch.rsqrt(torch.abs(t) + 0.1), "sin": torch.sin,
             "cos": torch.cos, "atan": torch.atan, "asinh": torch.asinh,
             "sign_sqrt": lambda t: torch.sign(t) * torch.sqrt(torch.abs(t))}

    class Chain(nn.Module):
        def __init__(self):
            super().__init__()
            generator = torch.Generator().manual_seed(seed)
            self.p = nn.ParameterList(
                nn.Parameter(0.3 * torch.randn(*s, generator=generator)) for s in param_shapes)
            torch.manual_seed(seed)
            self.rnn = nn.ModuleDict({
                str(n): (nn.GRU if step[2] == "gru" else nn.LSTM)(
                    step[5], step[3], batch_first=True, bidirectional=step[4])
                for n, step in enumerate(steps) if step[0] == "rnn"})

        def forward(self, x):
            values, p = [x], self.p
            for step in steps:
                kind, a = step[0], values[step[1]]
                if kind == "linear":
                    y = a @ p[step[2]] + p[step[3]]
                elif kind == "unary":
                    y = unary[step[2]](a)
                elif kind == "param_table":
                    # Positions 0..n-1 of the second-to-last dim times a
                    # parameter: cos, or sin damped by exp(-|p|).
                    angle = torch.arange(a.shape[-2], dtype=a.dtype)[:, None] * p[step[2]]
                    table = (torch.cos(angle) if step[3] == "cos" else
                             torch.sin(angle) * torch.exp(-p[step[2]].abs()))
                    y = a * table
                elif kind == "binary":
                    b = p[step[3]]
                    y = {"add": lambda: a + b, "mul": lambda: a * b, "sub": lambda: a - b,
                         "div": lambda: a / (1.0 + b.abs())}[step[2]]()
                elif kind == "binary_live":
                    b = values[step[2]]
                    y = {"add": lambda: a + b, "mul": lambda: a * b, "sub": lambda: a - b,
                         "max": lambda: torch.maximum(a, b)}[step[3]]()
                elif kind == "softmax":
                    y = (F.log_softmax if step[3] else F.softmax)(a, dim=step[2])
                elif kind == "layer_norm":
                    y = F.layer_norm(a, p[step[2]].shape, p[step[2]], p[step[3]])
                elif kind == "rms_norm":
                    y = a * torch.rsqrt(a.pow(2).mean(-1, keepdim=True) + 1e-6) * p[step[2]]
                elif kind == "transpose":
                    y = a.transpose(step[2], step[3])
                elif kind == "reshape":
                    y = a.reshape(step[2])
                elif kind == "slice":
                    index = [slice(None)] * a.dim()
                    index[step[2]] = slice(step[3], None, step[4])
                    y = a[tuple(index)]
                elif kind == "concat":
                    y = torch.cat([a, values[step[2]]], dim=step[3])
                elif kind == "reduce":
                    axis = step[2]
                    y = {"mean": lambda: a.mean(axis, keepdim=True),
                         "sum": lambda: a.sum(axis, keepdim=True),
                         "max": lambda: a.max(axis, keepdim=True)[0],
                         "min": lambda: a.amin(axis, keepdim=True)}[step[3]]()
                elif kind == "var":
                    y = a.var(step[2], keepdim=True)
                elif kind == "gather":
                    y = torch.index_select(a, step[2], torch.tensor(step[3]))
                elif kind == "where":
                    y = torch.where(a > p[step[2]], a, p[step[2]] * 2.0)
                elif kind == "cumsum":
                    y = torch.cumsum(a, step[2])
                elif kind == "roll":
                    y = torch.roll(a, step[3], step[2])
                elif kind == "bmm":
                    y = a @ values[step[2]].transpose(-1, -2)
                elif kind == "attention":
                    heads, causal, w = step[2], step[3], p[step[4]]
                    b, t, c = a.shape
                    q, k, v = (a @ w).split(c, -1)
                    q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
                    scores = q @ k.transpose(-1, -2) / (c // heads) ** 0.5
                    if causal:
                        keep = torch.tril(torch.ones(t, t, dtype=torch.bool))
                        scores = scores.masked_fill(~keep, float("-inf"))
                    y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, c)
                elif kind == "expand":
                    y = a.unsqueeze(step[2]).expand(step[3])
                elif kind == "pad":
                    pads = [0, 0] * (a.dim() - 1 - step[2]) + [step[3], step[4]]
                    y = F.pad(a, pads, value=step[5])
                elif kind == "flip":
                    y = torch.flip(a, [step[2]])
                elif kind == "repeat":
                    if step[3]:
                        y = torch.repeat_interleave(a, 2, dim=step[2])
                    else:
                        y = a.repeat(*[2 if d == step[2] else 1 for d in range(a.dim())])
                elif kind == "clamp":
                    y = torch.clamp(a, step[2], step[3])
                elif kind == "split":
                    axis, first = step[2], step[3]
                    y = torch.split(a, [first, a.shape[axis] - first], dim=axis)[step[4]]
                elif kind == "rotate_half":
                    h = a.shape[-1] // 2
                    y = a * p[step[2]] + torch.cat([-a[..., h:], a[..., :h]], -1)
                elif kind == "masked_softmax":
                    t = a.shape[-1]
                    keep = torch.tril(torch.ones(t, t, dtype=torch.bool))
                    y = a.masked_fill(~keep, float("-inf") if step[2] else -1e4).softmax(-1)
                elif kind == "einsum":
                    y = torch.einsum("btd,dn,tk->bkn", a, p[step[2]], p[step[3]])
                elif kind == "flatten":
                    y = a.flatten(1)
                elif kind == "argmax_gather":
                    # An index computed from the data.
                    y = torch.gather(a, -1, a.argmax(-1, keepdim=True))
                elif kind == "topk":
                    y = a.topk(step[2], dim=-1, largest=step[3]).values
                elif kind == "broadcast_matmul":
                    y = a.unsqueeze(1) @ p[step[2]]
                elif kind == "conv1d":
                    weight, bias, groups, kernel = p[step[2]], p[step[3]], step[4], step[5]
                    y = F.conv1d(a.transpose(1, 2), weight, bias, padding=kernel // 2,
                                 groups=groups).transpose(1, 2)
                elif kind == "group_norm":
                    y = F.group_norm(a.transpose(1, 2), step[2], p[step[3]],
                                     p[step[4]]).transpose(1, 2)
                elif kind == "reduce_many":
                    y = a.mean(dim=step[2], keepdim=True)
                elif kind == "logsumexp":
                    y = torch.logsumexp(a, dim=step[2], keepdim=True)
                elif kind == "norm":
                    y = a.norm(dim=step[2], keepdim=True)
                elif kind == "round":
                    y = torch.round(a * 4) / 4
                elif kind == "scatter":
                    y = a.clone()
                    index = [slice(None)] * a.dim()
                    index[step[2]] = torch.tensor(step[3])
                    y[tuple(index)] = p[step[4]]
                elif kind == "scatter_add":
                    index = np.random.RandomState(step[3]).randint(0, a.shape[step[2]], a.shape)
                    y = a.scatter_add(step[2], torch.from_numpy(index), p[step[4]])
                elif kind == "masked_fill":
                    y = a.masked_fill(a > step[2], step[3])
                elif kind == "mask_assign":
                    y = a.clone()
                    y[a < step[2]] = step[3]
                elif kind == "tril":
                    y = (torch.triu if step[2] else torch.tril)(a, step[3])
                elif kind == "pool":
                    how, kernel, stride, pad, ceil, extra = step[2:]
                    t = a.transpose(1, 2)
                    if how == "avg":
                        t = F.avg_pool1d(t, kernel, stride, pad, ceil_mode=ceil,
                                         count_include_pad=extra)
                    else:
                        t = F.max_pool1d(t, kernel, stride, pad, ceil_mode=ceil)
                    y = t.transpose(1, 2)
                elif kind == "interpolate":
                    mode, size = step[2], step[3]
                    corners = {"align_corners": mode == "linear_corners"} if mode != "nearest" \
                        else {}
                    y = F.interpolate(a.transpose(1, 2), size=size,
                                      mode=mode.split("_")[0], **corners).transpose(1, 2)
                elif kind == "glu":
                    y = F.glu(a, -1)
                elif kind == "normalize":
                    y = F.normalize(a, p=step[3], dim=step[2])
                elif kind == "sort":
                    y = torch.sort(a, dim=step[2], descending=step[3]).values
                elif kind == "prod":
                    y = torch.prod(1 + 0.1 * torch.tanh(a), dim=step[2], keepdim=True)
                elif kind == "stack":
                    y = torch.stack([a, values[step[2]]], dim=step[3])
                elif kind == "outer":
                    y = a.unsqueeze(-1) * p[step[2]]
                elif kind == "argmax_float":
                    y = a.argmax(step[2], keepdim=True).to(a.dtype)
                elif kind == "remainder":
                    y = torch.remainder(a, step[2])
                elif kind == "trunc_cast":
                    y = (a * 4).to(getattr(torch, step[2])).to(a.dtype) / 4
                elif kind == "rnn":
                    y = self.rnn[str(len(values) - 1)](a)[0]
                elif kind == "conv2d":
                    y = F.conv2d(a.unsqueeze(1), p[step[2]], p[step[3]], stride=step[4],
                                 padding=1)
                elif kind == "batch_norm":
                    mean, var, weight, bias = (p[n] for n in step[2:])
                    y = F.batch_norm(a.transpose(1, 2), mean.detach(),
                                     var.detach().abs() + 0.5, weight, bias).transpose(1, 2)
                elif kind == "instance_norm":
                    y = F.instance_norm(a.transpose(1, 2)).transpose(1, 2)
                elif kind == "select":
                    y = a.select(step[2], step[3])
                elif kind == "unsqueeze":
                    y = a.unsqueeze(step[2])
                elif kind == "center":
                    y = a - a.mean()  # a rank-0 value broadcast
                elif kind == "logical":
                    left, right = a > step[3], a < -step[3]
                    y = {"and": left & ~right, "or": left | right,
                         "xor": left ^ right}[step[2]].to(a.dtype) * a
                values.append(y)
            return values[-1]

    return Chain().eval()


def export_case(seed, folder, dynamic=False, float16=False):
    """Writes model.onnx, x.npy and torch's y.npy; the program, or None when
    torch cannot run or export it. `dynamic` marks the input's first two
    dims dynamic in the export; `float16` converts the model to float16
    (x.npy then float16, y.npy torch's float32 output)."""
    import warnings
    import torch
    warnings.simplefilter("ignore")  # the exporter's tracer warnings
    shape, steps, param_shapes = generate(seed)
    if dynamic and any(step[0] == "repeat" and step[3] for step in steps):
        return None  # torch's dynamic repeat_interleave: see the docstring
    module = build_module(steps, param_shapes, seed)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed + 1))
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    try:
        with torch.no_grad():
            y = module(x)  # torch's own limits (a group norm of one value)
        axes = {"dynamic_axes": {"x": {0: "batch", 1: "sequence"}}} if dynamic else {}
        torch.onnx.export(module, (x,), path, input_names=["x"],
                          output_names=["y"], opset_version=17, **axes)
    except Exception:  # torch's exporter: its limits, not llmc's
        return None
    import onnx
    if any(node.op_type == "Loop" for node in onnx.load(path).graph.node):
        # repeat_interleave along a dim whose size the exporter did not
        # infer (a dynamic dim, or after an Einsum): a Loop whose Reshape
        # copies the wrong dims, which ONNX Runtime would run the same
        # wrong way.
        return None
    if not well_conditioned(module, x, y):
        return "ill-conditioned"
    if sensitive_to_16_bits(module, x, y, seed):
        open(os.path.join(folder, "sensitive"), "w").close()
    if float16:
        to_float16(path)
        x = x.half()
    np.save(os.path.join(folder, "x.npy"), x.numpy())
    np.save(os.path.join(folder, "y.npy"), y.numpy())
    return steps


def to_float16(path):
    """Converts the model at `path` to float16 in place, as fp16 models for
    GPUs are made (test/models/export_models.py's convert_to_float16)."""
    models = os.path.join(ROOT, "test", "models")
    if models not in sys.path:
        sys.path.insert(0, models)
    from export_models import convert_to_float16
    convert_to_float16(path)


def report_failures(seed, problems, folder, case, keep):
    """Prints a FAIL line per problem of the case of `seed` (`case`
    describes it), copies its folder into `keep` if given and it failed, and
    returns the number of problems."""
    for target, problem in problems:
        print(f"FAIL seed {seed} on {target}: {problem}\n  {case}")
    if problems and keep:
        shutil.copytree(folder, os.path.join(keep, f"seed-{seed}"), dirs_exist_ok=True)
    return len(problems)


def well_conditioned(module, x, y):
    """Whether torch's float32 output `y` is within the host check's
    tolerance of the program run in float64: a selection between values
    closer than float32 resolves (an argmax of an RMS norm over one
    element, all 1 - 1e-8) flips between any two correct evaluations."""
    import torch
    try:
        with torch.no_grad():
            exact = module.double()(x.double())
    except Exception:  # an op without a float64 kernel: no evidence either way
        return True
    finally:
        module.float()
    return exact.shape == y.shape and np.allclose(
        y.numpy(), exact.numpy(), rtol=1e-3, atol=1e-4, equal_nan=True)


def sensitive_to_16_bits(module, x, y, seed, trials=3):
    """Whether torch's output leaves the ptx rule (cosine >= 0.999 with `y`)
    when the input and every parameter carry the relative noise of a
    rounding to bf16 (uniform in +-2^-9): then 16-bit products legitimately
    miss it, and ptx is held to the output's shape."""
    import torch
    generator = torch.Generator().manual_seed(seed + 2)

    def noisy(t):
        return t * (1 + (torch.rand(t.shape, generator=generator) * 2 - 1) * 2.0 ** -9)

    saved = [p.detach().clone() for p in module.parameters()]
    try:
        for _ in range(trials):
            with torch.no_grad():
                for p, original in zip(module.parameters(), saved):
                    p.copy_(noisy(original))
                got = module(noisy(x))
            if got.shape != y.shape or close_in_16_bits(got.numpy(), y.numpy()):
                return True
        return False
    except Exception:  # no evidence either way
        return False
    finally:
        with torch.no_grad():
            for p, original in zip(module.parameters(), saved):
                p.copy_(original)


# With --in-process, the llm_run_pool.LLMRunPool that run() goes through.
POOL = None


def run(tools, args):
    return run_llm_run(os.path.join(tools, "llm-run"), args, 600, POOL)


def add_in_process_option(parser):
    parser.add_argument("--in-process", action="store_true",
                        help="run llm-run's body in --jobs worker processes "
                        "(scripts/llm_run_pool.py) instead of a process per run; "
                        "a run that crashes or times out there runs again as "
                        "--tools' llm-run")


def start_pool(args):
    """With --in-process, makes run() use an LLMRunPool; returns it (or None)."""
    global POOL
    if args.in_process:
        POOL = LLMRunPool(os.path.join(args.tools, "llm-run"), args.jobs)
    return POOL


def stop_pool():
    global POOL
    if POOL is not None:
        POOL.close()
        POOL = None


def last_line(result):
    lines = (result.stderr or result.stdout).strip().splitlines()
    return f"exit {result.returncode}: {lines[-1] if lines else ''}"


def close_in_16_bits(got, want, shape_only=False):
    """None when `got` has `want`'s shape and NaNs and, elsewhere, is within
    1e-5 of it or has cosine >= 0.999 with it (with `shape_only`, when it
    has its shape)."""
    if got.shape != want.shape:
        return f"shape {list(got.shape)}, expected {list(want.shape)}"
    if shape_only:
        return None
    if not np.array_equal(np.isnan(got), np.isnan(want)):
        return "NaN at other positions"
    finite = ~np.isnan(want)
    a, b = got[finite].astype(np.float64), want[finite].astype(np.float64)
    if np.allclose(a, b, rtol=0, atol=1e-5):  # rounding noise of a zero
        return None
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        return None if np.array_equal(a, b) else "zero against nonzero"
    cosine = float(a @ b / norms)
    return None if cosine >= 0.999 else f"cosine {cosine:.6f} < 0.999"


def check_case(folder, steps, targets, tools, float16=False):
    """The problems of one exported case: [(target, problem)]."""
    problems = []
    # A selection by value (a threshold, rounding, top-k) flips between
    # near-equal values, which 16-bit products reorder: ptx is held to the
    # output's shape there.
    selects = any(step[0] in SELECTING for step in steps) or os.path.exists(
        os.path.join(folder, "sensitive"))
    model, x, y = (os.path.join(folder, name) for name in ("model.onnx", "x.npy", "y.npy"))
    host = os.path.join(folder, "host")
    common = [model, "--input", f"x={x}"]
    host_ok = False
    if "host" in targets or "hls" in targets:  # hls is held to the host's output
        if float16:  # 16-bit results: held to torch's fp32 ones as ptx is
            result = run(tools, common + ["--target", "host", "--output-dir", host])
            problem = last_line(result) if result.returncode != 0 else close_in_16_bits(
                np.load(os.path.join(host, "y.npy")).astype(np.float32), np.load(y),
                shape_only=selects)
        else:
            result = run(tools, common + ["--target", "host", "--expect", f"y={y}", "--rtol",
                                          "1e-3", "--atol", "1e-4", "--output-dir", host])
            problem = last_line(result) if result.returncode != 0 else None
        host_ok = problem is None
        if "host" in targets and not host_ok:
            problems.append(("host", problem))
    if "hls" in targets:
        reference = os.path.join(host, "y.npy") if host_ok else y
        result = run(tools, common + ["--target", "hls", "--expect", f"y={reference}",
                                      "--rtol", "1e-4" if host_ok else "1e-3",
                                      "--atol", "1e-5" if host_ok else "1e-4"])
        if result.returncode != 0:
            problems.append(("hls", last_line(result)))
    if "ptx" in targets:
        out = os.path.join(folder, "ptx")
        result = run(tools, common + ["--target", "ptx", "--emulate-gpu", "--output-dir", out])
        problem = (last_line(result) if result.returncode != 0 else
                   close_in_16_bits(np.load(os.path.join(out, "y.npy")).astype(np.float32),
                                    np.load(y), shape_only=selects))
        if problem:
            problems.append(("ptx", problem))
    if "npu" in targets:
        out = os.path.join(folder, "host-int8")
        result = run(tools, common + ["--target", "host", "--quant", "int8",
                                      "--output-dir", out])
        if result.returncode != 0:
            problems.append(("npu", "host int8 reference: " + last_line(result)))
        else:
            result = run(tools, common + ["--target", "npu", "--quant", "int8", "--expect",
                                          f"y={os.path.join(out, 'y.npy')}",
                                          "--rtol", "0", "--atol", "0"])
            if result.returncode != 0:
                problems.append(("npu", last_line(result)))
    return problems


def parse_seeds(text):
    """`A-B`, one seed, or a comma-separated list of both."""
    seeds = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        seeds.extend(range(int(first), int(last or first) + 1))
    return seeds


def targets_and_seeds(parser, args, allowed):
    """A fuzzer's --targets (each one of `allowed`) and --seeds, or a usage
    error (exit 2)."""
    targets = args.targets.split(",")
    if not set(targets) <= set(allowed):
        parser.error(f"--targets takes {', '.join(allowed[:-1])} and {allowed[-1]}")
    try:
        return targets, parse_seeds(args.seeds)
    except ValueError:
        parser.error("--seeds takes A-B, one seed, or a comma-separated list of both")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1-50",
                        help="A-B, one seed, or a comma-separated list of both")
    parser.add_argument("--targets", default="host,hls,ptx,npu")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", help="copy each failing case here")
    parser.add_argument("--tools", default=os.path.join(ROOT, "build", "bin"))
    parser.add_argument("--dynamic", action="store_true",
                        help="export the input's batch and sequence dims dynamic")
    parser.add_argument("--float16", action="store_true",
                        help="convert each model to float16 (fp16 input and output)")
    add_in_process_option(parser)
    args = parser.parse_args()
    targets, seeds = targets_and_seeds(parser, args, ["host", "hls", "ptx", "npu"])
    # Each case runs llm-run, itself threaded: one worker per job.
    os.environ.setdefault("LLMC_CPU_OPT_LEVEL", "0")
    failed = skipped = unstable = 0
    work = tempfile.mkdtemp(prefix="fuzz-numerics-")
    start_pool(args)
    try:
        # torch's exporter is not thread-safe: the exports run first, here.
        cases = {}
        for seed in seeds:
            folder = os.path.join(work, f"seed-{seed}")
            steps = export_case(seed, folder, args.dynamic, args.float16)
            if steps is None:
                skipped += 1
            elif steps == "ill-conditioned":
                unstable += 1
            else:
                cases[seed] = (folder, steps)
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            futures = {seed: pool.submit(check_case, folder, steps, targets, args.tools,
                                         args.float16)
                       for seed, (folder, steps) in cases.items()}
            for seed, future in futures.items():
                problems = future.result()
                folder, steps = cases[seed]
                failed += report_failures(seed, problems, folder, f"program: {steps}",
                                          args.keep)
    finally:
        stop_pool()
        shutil.rmtree(work, ignore_errors=True)
    print(f"fuzz-numerics: {len(seeds)} cases x {len(targets)} targets, {failed} failed, "
          f"{skipped} not exported, {unstable} ill-conditioned")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
