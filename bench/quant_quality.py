#!/usr/bin/env python3
"""Quantization quality benchmark: how far each architecture's quantized
outputs are from fp32 with round-to-nearest weights and with GPTQ's (in
natural order and in act order).

    /usr/bin/python3 bench/quant_quality.py [--build DIR] [--quant w4]
        [--models gpt2,llama,...] [--samples 4] [--seq 16] [--batch 2]
        [--norm-outliers SIGMA] [--keep DIR] [--json FILE]

For each model of test/models/export_models.py (random weights; every one
unless --models; with --norm-outliers, every normalization's gain scaled
per channel by exp(SIGMA * N(0, 1)), so that activation channels differ in
energy as a trained model's do), the script exports it, writes --samples
calibration samples of random inputs like the export's (token ids in the
same range, the same masks; float inputs resampled), runs

    llm-run MODEL --target host --quant Q --calib calib.npz METHOD

for METHOD = `--quant-weights rtn`, `--quant-weights gptq
--gptq-act-order=false` (natural) and `--quant-weights gptq` (act order)
on the export's own inputs (not the calibration's), and prints llm-run's
comparison with the fp32 compile on them: cosine, mean absolute error,
top-1 agreement; then how many models each GPTQ brought closer than rtn,
and act order closer than natural. Exits 2 if a tool fails.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "test", "models"))

LINE = re.compile(r"cosine (\S+), max abs error (\S+), mean abs error (\S+), "
                  r"top-1 agreement (\S+)")


def calibration(folder, inputs, samples, rng):
    """Random samples shaped like the export's inputs: integer inputs drawn
    in [0, the export's largest] (ids), masks (0/1) kept, floats
    resampled with the export's mean and deviation."""
    arrays = {}
    for name in inputs:
        x = np.load(os.path.join(folder, name + ".npy"))
        drawn = []
        for _ in range(samples):
            if x.dtype.kind in "iu":
                if set(np.unique(x)) <= {0, 1}:
                    drawn.append(x)
                else:
                    # Ids in [0, max]; negative values (a loss's ignored
                    # label, -100) stay where they are.
                    ids = rng.integers(0, max(int(x.max()), 0) + 1, x.shape)
                    drawn.append(np.where(x < 0, x, ids).astype(x.dtype))
            elif x.dtype == np.bool_:
                drawn.append(x)
            else:
                drawn.append((rng.standard_normal(x.shape) * x.std() + x.mean()).astype(x.dtype))
        arrays[name] = np.stack(drawn)
    path = os.path.join(folder, "calib.npz")
    np.savez(path, **arrays)
    return path


# The weights' methods: rtn, GPTQ first to last, GPTQ in act order.
METHODS = [("rtn", ["--quant-weights", "rtn"]),
           ("gptq-natural", ["--quant-weights", "gptq", "--gptq-act-order=false"]),
           ("gptq", ["--quant-weights", "gptq"])]


def main():
    import export_models
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--quant", default="w4", choices=["w4", "w8", "int8"])
    parser.add_argument("--models", help="comma-separated (default: all)")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--seq", type=int, default=16)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--norm-outliers", type=float, default=0.0, metavar="SIGMA",
                        help="export_models.py --norm-outliers: activation channels of "
                             "unequal energy")
    parser.add_argument("--keep", help="keep the exports and outputs here")
    parser.add_argument("--json", help="also write the results as JSON")
    args = parser.parse_args()
    llm_run = os.path.join(args.build, "bin", "llm-run")
    if not os.path.exists(llm_run):
        print(f"quant_quality: error: {llm_run} is not built", file=sys.stderr)
        return 2
    models = args.models.split(",") if args.models else sorted(export_models.MODELS)
    work = args.keep or tempfile.mkdtemp(prefix="llmc-quant-")
    rng = np.random.default_rng(0)
    rows = []
    print(f"{'model':16s} {'cos rtn':>8s} {'natural':>8s} {'act':>8s} {'mae rtn':>9s} "
          f"{'natural':>9s} {'act':>9s} {'top1 rtn':>8s} {'natural':>8s} {'act':>8s}", flush=True)
    try:
        for model in models:
            folder = os.path.join(work, model)
            seq = 400 if model == "wav2vec2" else args.seq
            export = subprocess.run(
                [sys.executable, os.path.join(ROOT, "test", "models", "export_models.py"),
                 "--model", model, "--batch", str(args.batch), "--seq", str(seq),
                 "--out", folder]
                + (["--norm-outliers", str(args.norm_outliers)] if args.norm_outliers else []),
                capture_output=True, text=True)
            if export.returncode:
                print(f"{model:18s} export failed", flush=True)
                continue
            import onnx
            graph = onnx.load(os.path.join(folder, "model.onnx"), load_external_data=False).graph
            weights = {i.name for i in graph.initializer}
            inputs = [i.name for i in graph.input if i.name not in weights]
            calib = calibration(folder, inputs, args.samples, rng)
            result = {"model": model}
            for method, flags in METHODS:
                command = [llm_run, os.path.join(folder, "model.onnx"), "--target", "host",
                           "--quant", args.quant, "--calib", calib,
                           "--output-dir", os.path.join(folder, method)] + flags
                for name in inputs:
                    command += ["--input", f"{name}={os.path.join(folder, name + '.npy')}"]
                run = subprocess.run(command, capture_output=True, text=True)
                match = LINE.search(run.stdout + run.stderr)
                if run.returncode or not match:
                    print(f"quant_quality: error: {model} {method}: "
                          f"{(run.stderr.strip().splitlines() or ['no output'])[-1]}",
                          file=sys.stderr)
                    return 2
                result[method] = {"cosine": float(match[1]), "mean_abs_error": float(match[3]),
                                  "top1_agreement": float(match[4])}
            rows.append(result)
            line = f"{model:16s}"
            for key, width, form in (("cosine", 8, ".6f"), ("mean_abs_error", 9, ".4g"),
                                     ("top1_agreement", 8, ".4f")):
                for method, _ in METHODS:
                    line += f" {result[method][key]:{width}{form}}"
            print(line, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    def summary(better, worse):
        closer = sum(r[better]["mean_abs_error"] < r[worse]["mean_abs_error"] for r in rows)
        ratios = sorted(r[better]["mean_abs_error"] / r[worse]["mean_abs_error"] for r in rows)
        median = ratios[len(ratios) // 2] if ratios else float("nan")
        return f"{closer} of {len(rows)} models (median ratio {median:.3f})"

    print(f"--quant {args.quant}, {args.samples} calibration samples of batch {args.batch}"
          f"{f', --norm-outliers {args.norm_outliers:g}' if args.norm_outliers else ''}: "
          f"mean abs error below rtn's: GPTQ natural order on {summary('gptq-natural', 'rtn')}, "
          f"act order on {summary('gptq', 'rtn')}; act order below natural order's on "
          f"{summary('gptq', 'gptq-natural')}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": datetime.date.today().isoformat(),
                       "command": " ".join(sys.argv), "quant": args.quant,
                       "norm_outliers": args.norm_outliers,
                       "samples": args.samples, "models": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
