#!/usr/bin/env python3
"""Differential fuzzing of attention as exporters write it: every case is
one self-attention layer of a random form, exported from torch at opset 17
and run through `llm-run`; llm-fuse-attention should turn it into one
`llm.attention` without changing its results.

A form draws from what Hugging Face's architectures write:
  heads     [B, H, T, D] products, or heads merged into the batch for bmm
            ([B*H, T, D], OPT, BLOOM, DeBERTa); grouped kv heads repeated
            by repeat_interleave or expand + reshape; keys and values of
            the step only, or after a cache of past ones (a decoding step:
            the causal rule aligned to the last key)
  scale     on the scores (a product or a quotient), on q, on k, or split
            as d^-0.25 on both; a constant or computed from the shape;
            then perhaps a factor per head (Swin V2's exp(logit_scale))
  masks     a causal mask (masked_fill at -inf, finfo.min, -1e9 or -1e4,
            or an added triu of finfo.min), the padding of attention_mask
            (added as (1 - m) * finfo.min, or masked_fill), in either
            order; an additive relative-position bias [1, H, T, T], ALiBi
            slopes, or two additive terms (DeBERTa); Swin's shifted-window
            mask, one per window, added on a view that splits the batch of
            windows by image; a clamp at finfo.min (OPT); a logit soft-cap
            (Gemma 2)
  softmax   plain, or its weights zeroed again where the masks hide a key
            (DeBERTa's XSoftmax)
over a random batch of right-, left- or unpadded rows.

Each case runs on the host against torch (rtol 1e-3, atol 1e-4) and on the
ptx kernels on the GPU emulator (cosine >= 0.999), and with `--targets`
naming hls through its C-simulation as the host, compared on the query
rows that see at least one key: a row that every key hides has no defined
softmax (torch averages its values or gives NaN; llm.attention gives
zeros), except where the weights are zeroed after the softmax, which
defines it as zeros. A form with a cache also returns the presents (the
concatenated keys and values, before any repeat of kv heads), as
exporters do: their past rows must equal the inputs exactly, their new
rows match as y does. It also counts the cases whose graph pipeline leaves
no softmax (fused: the layers of llm-run --report for the first target) and
lists the others with --verbose.

    /usr/bin/python3 scripts/fuzz_attention.py [--seeds 1-50[,SEED...]]
        [--targets host,ptx[,hls]] [--dynamic] [--float16] [--past N]
        [--jobs 2] [--keep DIR] [--verbose]
        [--tools build/bin] [--in-process]

--in-process: llm-run's body in worker processes, as fuzz_numerics.py's.

--dynamic exports the batch and sequence dims dynamic: llm-run takes them
from the inputs, and the masks' shape computations run through the
importer's shape folding; the graph pipeline sees the inputs' shapes.
Grouped kv heads are then repeated by expand (torch 1.13 exports
repeat_interleave with dynamic dims wrongly).

--past N gives the forms that have a cache N cached positions instead of 3
(at 600, decoding steps whose ptx attention splits its keys over blocks).

--float16 converts each model to float16 as fp16 models for GPUs are made
(test/models/export_models.py's convert_to_float16) and runs it on an fp16
input: every target is then held to torch's fp32 output by cosine.

Prints one line per failing case and `fuzz-attention: N cases x M
targets, F failed, U fused of N`; exits 1 if a case failed, 2 on bad usage.
"""
import argparse
import concurrent.futures
import json
import math
import os
import random
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzz_numerics  # noqa: E402
from fuzz_numerics import (close_in_16_bits, last_line,  # noqa: E402
                           report_failures, run, targets_and_seeds, to_float16)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def draw_form(rnd):
    """A random attention form: a dict of choices."""
    heads = rnd.choice([1, 2, 4])
    form = {
        "batch": 2,
        "tokens": rnd.choice([5, 8]),
        "past": rnd.choice([0, 0, 3]),
        "head_dim": rnd.choice([4, 8]),
        "heads": heads,
        "kv_heads": rnd.choice([h for h in (1, 2, 4) if heads % h == 0]),
        "repeat": rnd.choice(["interleave", "expand"]),
        "merged": rnd.random() < 0.3,
        "scale": rnd.choice(["div", "mul", "q", "k", "both", "none"]),
        "scale_from_shape": rnd.random() < 0.3,
        "causal": rnd.choice([None, "-inf", "min", "-1e9", "-1e4", "triu"]),
        "padding": rnd.choice([None, "add", "fill"]),
        "pad_side": rnd.choice(["right", "left", "none"]),
        "padding_first": rnd.random() < 0.5,
        "bias": rnd.choice([None, None, "relative", "alibi", "two"]),
        "clamp": rnd.random() < 0.15,
        "softcap": rnd.random() < 0.1,
        "zeroed": rnd.random() < 0.2,
        "windows": rnd.random() < 0.2,
        "head_scale": rnd.random() < 0.15,
    }
    if form["windows"]:
        form["batch"] = 4  # two images of two windows
    if form["merged"]:
        form["kv_heads"] = heads  # bmm layouts repeat no heads
    return form


def build(form):
    import torch
    from torch import nn

    h, hkv, d = form["heads"], form["kv_heads"], form["head_dim"]
    c = h * d
    minimum = torch.finfo(torch.float32).min

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.q = nn.Linear(c, c)
            self.kv = nn.Linear(c, 2 * hkv * d)
            self.o = nn.Linear(c, c)
            t, n = form["tokens"], form["past"] + form["tokens"]
            self.relative = nn.Parameter(torch.randn(1, h, t, n) * 0.5)
            self.relative2 = nn.Parameter(torch.randn(1, h, t, n) * 0.5)
            # Swin's shifted-window mask: one per window, shared by the
            # images (0 or -100 per query and key).
            self.register_buffer("window_mask", -100.0 * torch.randint(0, 2, (2, t, n)))
            # Swin V2's per-head exp(logit_scale), [H, 1, 1].
            self.logit_scale = nn.Parameter(torch.rand(h, 1, 1) + 0.5)
            self.register_buffer("slopes", torch.tensor(
                [2.0 ** (-8.0 * (i + 1) / h) for i in range(h)]).view(1, h, 1, 1))

        def forward(self, x, mask, past_k=None, past_v=None):
            b, t, _ = x.shape
            past = form["past"]
            q = self.q(x).view(b, t, h, d).transpose(1, 2)
            k, v = self.kv(x).split(hkv * d, -1)
            k = k.view(b, t, hkv, d).transpose(1, 2)
            v = v.view(b, t, hkv, d).transpose(1, 2)
            if past:  # a decoding step's cache: queries see past + t keys
                k = torch.cat([past_k, k], 2)
                v = torch.cat([past_v, v], 2)
                self.presents = (k, v)  # outputs too, as exporters write them
            n = k.shape[2]
            if hkv != h:
                group = h // hkv
                if form["repeat"] == "interleave":
                    k = k.repeat_interleave(group, dim=1)
                    v = v.repeat_interleave(group, dim=1)
                else:
                    k = k[:, :, None].expand(b, hkv, group, n, d).reshape(b, h, n, d)
                    v = v[:, :, None].expand(b, hkv, group, n, d).reshape(b, h, n, d)
            if form["scale_from_shape"]:
                root = torch.tensor(q.size(-1), dtype=torch.float32).sqrt()
            else:
                root = math.sqrt(d)
            scale = form["scale"]
            if scale == "q":
                q = q / root
            elif scale == "k":
                k = k / root
            elif scale == "both":
                q = q / root ** 0.5
                k = k / root ** 0.5
            if form["merged"]:
                s = torch.bmm(q.reshape(b * h, t, d), k.reshape(b * h, n, d).transpose(1, 2))
            else:
                s = q @ k.transpose(-1, -2)
            if form["bias"] == "two" and form["merged"]:
                s = s + self.relative.expand(b, h, t, n).reshape(b * h, t, n)
                s = s + self.relative2.expand(b, h, t, n).reshape(b * h, t, n)
            if form["merged"]:
                s = s.view(b, h, t, n)
            if scale == "div":
                s = s / root
            elif scale == "mul":
                s = s * (1.0 / root)
            if form["head_scale"]:
                s = s * self.logit_scale.exp()
            if form["softcap"]:
                s = 5.0 * torch.tanh(s / 5.0)
            if form["bias"] == "relative":
                s = s + self.relative
            elif form["bias"] == "alibi":
                s = s + self.slopes * torch.arange(n, dtype=torch.float32).view(1, 1, 1, n)
            elif form["bias"] == "two" and not form["merged"]:
                s = s + self.relative
                s = s + self.relative2
            if form["windows"]:  # added on a [images, windows, ...] view
                s = (s.view(b // 2, 2, h, t, n) + self.window_mask[None, :, None]).view(b, h, t, n)
            keep = torch.ones(b, 1, t, n, dtype=torch.bool)
            hide = None

            def causal(s):
                nonlocal keep
                tril = torch.tril(torch.ones(t, n, dtype=torch.bool), past)
                keep = keep & tril
                kind = form["causal"]
                if kind == "triu":
                    return s + torch.triu(torch.full((t, n), minimum), past + 1)
                fill = {"-inf": float("-inf"), "min": minimum, "-1e9": -1e9,
                        "-1e4": -1e4}[kind]
                return s.masked_fill(~tril, fill)

            def padding(s):
                nonlocal keep
                m = mask[:, None, None, :]
                keep = keep & (m > 0)
                if form["padding"] == "add":
                    return s + (1.0 - m.float()) * minimum
                return s.masked_fill(m == 0, minimum)

            if form["zeroed"]:
                # XSoftmax: one condition filled before and zeroed after.
                rows = mask[:, None, past:, None] * mask[:, None, None, :]
                if form["causal"]:
                    rows = rows * torch.tril(torch.ones(t, n, dtype=torch.int64), past)
                hide = ~rows.bool()
                keep = ~hide
                s = s.masked_fill(hide, minimum)
            else:
                order = [causal, padding] if not form["padding_first"] else [padding, causal]
                for step in order:
                    if (step is causal and form["causal"]) or \
                            (step is padding and form["padding"]):
                        s = step(s)
            if form["clamp"]:
                s = torch.max(s, torch.tensor(minimum))
            p = s.softmax(-1)
            if hide is not None:
                p = p.masked_fill(hide, 0.0)
            if form["merged"]:
                y = torch.bmm(p.reshape(b * h, t, n), v.reshape(b * h, n, d)).view(b, h, t, d)
            else:
                y = p @ v
            y = y.transpose(1, 2).reshape(b, t, c)
            # The rows that see a key; the others are undefined (zeroed:
            # zeros).
            visible = keep.expand(b, h, t, n).any(-1).any(1)
            return self.o(y), visible

    return Attention()


def export_case(seed, folder, dynamic=False, float16=False, past=None):
    """Exports the case of `seed` into `folder`: model.onnx, x.npy,
    mask.npy (and past_k.npy, past_v.npy), y.npy and rows.npy (the query
    rows to compare); `past`, if given, is the cache length of a form that
    has a cache. Its form, or None when torch cannot export it."""
    import torch

    rnd = random.Random(seed)
    torch.manual_seed(seed)
    form = draw_form(rnd)
    if past and form["past"]:
        form["past"] = past
    if dynamic:
        # torch 1.13 exports repeat_interleave with dynamic dims wrongly (a
        # Reshape that copies the wrong dims; see fuzz_numerics.py).
        form["repeat"] = "expand"
    module = build(form).eval()
    b, t, c = form["batch"], form["tokens"], form["heads"] * form["head_dim"]
    past, n = form["past"], form["past"] + form["tokens"]
    x = torch.randn(b, t, c)
    mask = torch.ones(b, n, dtype=torch.int64)  # over the past and new keys
    if form["pad_side"] != "none":
        for row in range(1, b):
            pad = rnd.randint(1, n - 2)
            if form["pad_side"] == "right":
                mask[row, n - pad:] = 0
            else:
                mask[row, :pad] = 0
    inputs = {"x": x, "mask": mask}
    if past:
        shape = (b, form["kv_heads"], past, form["head_dim"])
        inputs["past_k"], inputs["past_v"] = torch.randn(*shape), torch.randn(*shape)
    os.makedirs(folder, exist_ok=True)
    with torch.no_grad():
        y, visible = module(*inputs.values())
    rows = visible.numpy() | form["zeroed"]
    outputs = {"y": y}
    if past:
        outputs["present_k"], outputs["present_v"] = module.presents

    class Output(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *args):
            y = self.inner(*args)[0]
            return (y, *self.inner.presents) if past else y

    try:
        with torch.no_grad():
            axes = {"x": {0: "batch", 1: "sequence"}, "mask": {0: "batch", 1: "keys"},
                    "past_k": {0: "batch", 2: "past"}, "past_v": {0: "batch", 2: "past"}}
            axes = {"dynamic_axes": {k: axes[k] for k in inputs}} if dynamic else {}
            torch.onnx.export(Output(module), tuple(inputs.values()),
                              os.path.join(folder, "model.onnx"), input_names=list(inputs),
                              output_names=list(outputs), opset_version=17, **axes)
    except Exception:
        return None
    if float16:
        to_float16(os.path.join(folder, "model.onnx"))
        inputs = {k: v.half() if v.is_floating_point() else v for k, v in inputs.items()}
    for name, array in [(k, v.numpy()) for k, v in inputs.items()] + \
            [(k, v.numpy()) for k, v in outputs.items()] + [("rows", rows)]:
        np.save(os.path.join(folder, f"{name}.npy"), array)
    return form


def graph_inputs(model):
    """The names of the graph's inputs: `mask` is gone where no mask
    reads it."""
    import onnx
    return [i.name for i in onnx.load(model, load_external_data=False).graph.input]


def fused(report):
    """Whether the compiled graph (the layers of llm-run --report, which
    every described target's estimate lists) computes attention as
    llm.attention and has no softmax left."""
    try:
        with open(report) as f:
            entries = json.load(f)["targets"].values()
    except (OSError, ValueError, KeyError, AttributeError):
        return False
    layers = next((e["layers"] for e in entries
                   if isinstance(e, dict) and e.get("layers")), [])
    ops = {layer.get("op") for layer in layers}
    return "llm.attention" in ops and "llm.softmax" not in ops


def compare(got, want, rows, target, float16=False):
    """None when `got` matches `want` on the query rows `rows` [B, T]."""
    if got.shape != want.shape:
        return f"shape {list(got.shape)}, expected {list(want.shape)}"
    got, want = got[rows].astype(np.float32), want[rows]
    if target in ("host", "hls") and not float16:
        if np.allclose(got, want, rtol=1e-3, atol=1e-4):
            return None
        return f"max |diff| {np.abs(got - want).max():.3e}"
    return close_in_16_bits(got, want)


def check_case(folder, targets, tools, float16=False):
    problems = []
    model = os.path.join(folder, "model.onnx")
    want = np.load(os.path.join(folder, "y.npy"))
    rows = np.load(os.path.join(folder, "rows.npy"))
    common = [model]
    for name in graph_inputs(model):
        common += ["--input", f"{name}={os.path.join(folder, name + '.npy')}"]
    report = os.path.join(folder, "report.json")
    for target in targets:
        out = os.path.join(folder, target)
        extra = ["--emulate-gpu"] if target == "ptx" else []
        if target == targets[0]:
            extra.append(f"--report={report}")
        result = run(tools, common + ["--target", target, "--output-dir", out] + extra)
        if result.returncode != 0:
            problems.append((target, last_line(result)))
            continue
        problem = compare(np.load(os.path.join(out, "y.npy")), want, rows, target, float16)
        if problem:
            problems.append((target, problem))
        for present in ("present_k", "present_v"):
            if os.path.exists(os.path.join(folder, present + ".npy")):
                problem = compare_present(os.path.join(out, present + ".npy"),
                                          os.path.join(folder, present + ".npy"),
                                          os.path.join(folder, "past_k.npy"), target)
                if problem:
                    problems.append((target, f"{present}: {problem}"))
    return problems, fused(report)


def compare_present(got_path, want_path, past_path, target):
    """None when a present cache output matches torch's: its past rows
    exactly (copies of the input, in the input's type), its new rows (the
    step's projections) as y is held."""
    got, want = np.load(got_path), np.load(want_path)
    if got.shape != want.shape:
        return f"shape {list(got.shape)}, expected {list(want.shape)}"
    past_input = np.load(past_path)
    past = past_input.shape[2]
    if not np.array_equal(got[:, :, :past], want[:, :, :past].astype(past_input.dtype)):
        return "past rows differ from the input"
    new_got, new_want = got[:, :, past:].astype(np.float32), want[:, :, past:]
    if target in ("host", "hls") and got.dtype == np.float32:
        if np.allclose(new_got, new_want, rtol=1e-3, atol=1e-4):
            return None
        return f"new rows: max |diff| {np.abs(new_got - new_want).max():.3e}"
    problem = close_in_16_bits(new_got, new_want)
    return problem and "new rows: " + problem


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1-50",
                        help="A-B, one seed, or a comma-separated list of both")
    parser.add_argument("--targets", default="host,ptx")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", help="copy each failing case here")
    parser.add_argument("--verbose", action="store_true", help="list the unfused forms")
    parser.add_argument("--dynamic", action="store_true",
                        help="export the batch and sequence dims dynamic")
    parser.add_argument("--float16", action="store_true",
                        help="convert each model to float16 (fp16 input and output)")
    parser.add_argument("--past", type=int,
                        help="the cache length of the forms with a cache (default 3)")
    parser.add_argument("--tools", default=os.path.join(ROOT, "build", "bin"))
    fuzz_numerics.add_in_process_option(parser)
    args = parser.parse_args()
    targets, seeds = targets_and_seeds(parser, args, ["host", "hls", "ptx"])
    if args.past is not None and args.past < 1:
        parser.error("--past must be at least 1")
    os.environ.setdefault("LLMC_CPU_OPT_LEVEL", "0")
    failed = skipped = fusions = 0
    work = tempfile.mkdtemp(prefix="fuzz-attention-")
    fuzz_numerics.start_pool(args)
    try:
        cases = {}
        for seed in seeds:  # torch's exporter is not thread-safe
            folder = os.path.join(work, f"seed-{seed}")
            form = export_case(seed, folder, args.dynamic, args.float16, args.past)
            if form is None:
                skipped += 1
            else:
                cases[seed] = (folder, form)
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            futures = {seed: pool.submit(check_case, folder, targets, args.tools,
                                         args.float16)
                       for seed, (folder, form) in cases.items()}
            for seed, future in futures.items():
                problems, was_fused = future.result()
                folder, form = cases[seed]
                fusions += was_fused
                if args.verbose and not was_fused:
                    print(f"unfused seed {seed}: {form}")
                failed += report_failures(seed, problems, folder, f"form: {form}", args.keep)
    finally:
        fuzz_numerics.stop_pool()
        shutil.rmtree(work, ignore_errors=True)
    print(f"fuzz-attention: {len(seeds)} cases x {len(targets)} targets, {failed} failed, "
          f"{skipped} not exported, {fusions} fused of {len(cases)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
