#!/usr/bin/env python3
"""Differential fuzzing of llmc's numerics: every case is a random chain of
4 to 12 torch ops (linear layers, attention with and without a causal
mask, a broadcast batched matmul, Conv1d, layer, RMS and group norms,
softmax, reductions, logsumexp, top-k, elementwise math, and the data
movement exporters write: transpose, reshape, strided slices, concat,
gather (at constant and at argmax positions), pad, flip, roll, repeat,
split, rotate_half, einsum) over a [B, T, D] input,
exported to ONNX at opset 17 and run through `llm-run` on each target:

  host  against torch (rtol 1e-3, atol 1e-4)
  hls   against the host's output (rtol 1e-4, atol 1e-5; C-simulation)
  ptx   the kernels on the GPU emulator against torch: the same NaN
        positions and cosine >= 0.999 elsewhere (products in 16 bits); the
        output's shape only where a step selects by value (where, round,
        topk, an argmax), which near-equal values flip
  npu   `--quant int8` against the host's `--quant int8` output, bit for bit

    /usr/bin/python3 scripts/fuzz_numerics.py [--seeds 1-50]
        [--targets host,hls,ptx,npu] [--dynamic] [--jobs 2] [--keep DIR]
        [--tools build/bin]

--dynamic exports the input's batch and sequence dims dynamic: llm-run
then takes them from the input, and shape computations that the static
export folds run through the importer's shape folding.

Prints one line per failing case (its program, and the folder it is kept in
with --keep) and `fuzz-numerics: N cases x M targets, F failed, S not
exported`; exits 1 if a case failed, 2 on bad usage. A case torch cannot
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
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KINDS = ["linear", "linear", "unary", "binary", "binary_live", "softmax", "layer_norm",
         "rms_norm", "transpose", "reshape", "slice", "concat", "reduce", "gather", "where",
         "cumsum", "bmm", "roll", "attention", "attention", "expand", "pad", "flip",
         "repeat", "clamp", "split", "rotate_half", "masked_softmax", "var", "einsum",
         "flatten", "argmax_gather", "topk", "broadcast_matmul", "conv1d", "group_norm",
         "reduce_many", "logsumexp", "norm", "round"]
# Steps whose output selects by value.
SELECTING = {"where", "round", "topk", "argmax_gather"}
UNARY = ["gelu", "gelu_tanh", "relu", "silu", "tanh", "sigmoid", "exp", "sqrt", "neg",
         "softplus", "erf", "square", "reciprocal", "leaky_relu", "elu", "hardswish", "mish",
         "hardtanh", "abs_pow"]


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
        if step:
            steps.append(step)
            shapes.append(out)
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
             "abs_pow": lambda t: torch.abs(t).pow(1.5)}

    class Chain(nn.Module):
        def __init__(self):
            super().__init__()
            generator = torch.Generator().manual_seed(seed)
            self.p = nn.ParameterList(
                nn.Parameter(0.3 * torch.randn(*s, generator=generator)) for s in param_shapes)

        def forward(self, x):
            values, p = [x], self.p
            for step in steps:
                kind, a = step[0], values[step[1]]
                if kind == "linear":
                    y = a @ p[step[2]] + p[step[3]]
                elif kind == "unary":
                    y = unary[step[2]](a)
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
                    y = F.layer_norm(a, a.shape[-1:], p[step[2]], p[step[3]])
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
                values.append(y)
            return values[-1]

    return Chain().eval()


def export_case(seed, folder, dynamic=False):
    """Writes model.onnx, x.npy and torch's y.npy; the program, or None when
    torch cannot run or export it. `dynamic` marks the input's first two
    dims dynamic in the export."""
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
    np.save(os.path.join(folder, "x.npy"), x.numpy())
    np.save(os.path.join(folder, "y.npy"), y.numpy())
    return steps


def run(tools, args):
    return subprocess.run([os.path.join(tools, "llm-run")] + args, capture_output=True,
                          text=True, timeout=600)


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


def check_case(folder, steps, targets, tools):
    """The problems of one exported case: [(target, problem)]."""
    problems = []
    # A selection by value (a threshold, rounding, top-k) flips between
    # near-equal values, which 16-bit products reorder: ptx is held to the
    # output's shape there.
    selects = any(step[0] in SELECTING for step in steps)
    model, x, y = (os.path.join(folder, name) for name in ("model.onnx", "x.npy", "y.npy"))
    host = os.path.join(folder, "host")
    common = [model, "--input", f"x={x}"]
    host_ok = False
    if "host" in targets or "hls" in targets:  # hls is held to the host's output
        result = run(tools, common + ["--target", "host", "--expect", f"y={y}",
                                      "--rtol", "1e-3", "--atol", "1e-4", "--output-dir", host])
        host_ok = result.returncode == 0
        if "host" in targets and not host_ok:
            problems.append(("host", last_line(result)))
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
                   close_in_16_bits(np.load(os.path.join(out, "y.npy")), np.load(y),
                                    shape_only=selects))
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
    first, _, last = text.partition("-")
    return range(int(first), int(last or first) + 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1-50", help="A-B or one seed")
    parser.add_argument("--targets", default="host,hls,ptx,npu")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", help="copy each failing case here")
    parser.add_argument("--tools", default=os.path.join(ROOT, "build", "bin"))
    parser.add_argument("--dynamic", action="store_true",
                        help="export the input's batch and sequence dims dynamic")
    args = parser.parse_args()
    targets = args.targets.split(",")
    if not set(targets) <= {"host", "hls", "ptx", "npu"}:
        parser.error("--targets takes host, hls, ptx and npu")
    try:
        seeds = parse_seeds(args.seeds)
    except ValueError:
        parser.error("--seeds takes A-B or one seed")
    # Each case runs llm-run, itself threaded: one worker per job.
    os.environ.setdefault("LLMC_CPU_OPT_LEVEL", "0")
    failed = skipped = 0
    work = tempfile.mkdtemp(prefix="fuzz-numerics-")
    try:
        # torch's exporter is not thread-safe: the exports run first, here.
        cases = {}
        for seed in seeds:
            folder = os.path.join(work, f"seed-{seed}")
            steps = export_case(seed, folder, args.dynamic)
            if steps is None:
                skipped += 1
            else:
                cases[seed] = (folder, steps)
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            futures = {seed: pool.submit(check_case, folder, steps, targets, args.tools)
                       for seed, (folder, steps) in cases.items()}
            for seed, future in futures.items():
                problems = future.result()
                folder, steps = cases[seed]
                for target, problem in problems:
                    failed += 1
                    print(f"FAIL seed {seed} on {target}: {problem}\n  program: {steps}")
                if problems and args.keep:
                    shutil.copytree(folder, os.path.join(args.keep, f"seed-{seed}"),
                                    dirs_exist_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"fuzz-numerics: {len(seeds)} cases x {len(targets)} targets, {failed} failed, "
          f"{skipped} not exported")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
