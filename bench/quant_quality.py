#!/usr/bin/env python3
"""Quantization quality benchmark: how far each architecture's quantized
outputs are from fp32 with round-to-nearest weights and with GPTQ's.

    /usr/bin/python3 bench/quant_quality.py [--build DIR] [--quant w4]
        [--models gpt2,llama,...] [--samples 4] [--seq 16] [--batch 2]
        [--keep DIR] [--json FILE]

For each model of test/models/export_models.py (random weights; every one
unless --models), the script exports it, writes --samples calibration
samples of random inputs like the export's (token ids in the same range,
the same masks; float inputs resampled), runs

    llm-run MODEL --target host --quant Q --calib calib.npz --quant-weights W

for W = rtn and gptq on the export's own inputs (not the calibration's),
and prints llm-run's comparison with the fp32 compile on them: cosine,
mean absolute error, top-1 agreement; then how many models GPTQ brought
closer. Exits 2 if a tool fails.
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


def main():
    import export_models
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--quant", default="w4", choices=["w4", "w8", "int8"])
    parser.add_argument("--models", help="comma-separated (default: all)")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--seq", type=int, default=16)
    parser.add_argument("--batch", type=int, default=2)
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
    print(f"{'model':18s} {'cos rtn':>9s} {'cos gptq':>9s} {'mae rtn':>10s} "
          f"{'mae gptq':>10s} {'top1 rtn':>8s} {'top1 gptq':>9s}", flush=True)
    try:
        for model in models:
            folder = os.path.join(work, model)
            seq = 400 if model == "wav2vec2" else args.seq
            export = subprocess.run(
                [sys.executable, os.path.join(ROOT, "test", "models", "export_models.py"),
                 "--model", model, "--batch", str(args.batch), "--seq", str(seq),
                 "--out", folder], capture_output=True, text=True)
            if export.returncode:
                print(f"{model:18s} export failed", flush=True)
                continue
            import onnx
            graph = onnx.load(os.path.join(folder, "model.onnx"), load_external_data=False).graph
            weights = {i.name for i in graph.initializer}
            inputs = [i.name for i in graph.input if i.name not in weights]
            calib = calibration(folder, inputs, args.samples, rng)
            result = {"model": model}
            for method in ("rtn", "gptq"):
                command = [llm_run, os.path.join(folder, "model.onnx"), "--target", "host",
                           "--quant", args.quant, "--calib", calib, "--quant-weights", method,
                           "--output-dir", os.path.join(folder, method)]
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
            r, g = result["rtn"], result["gptq"]
            print(f"{model:18s} {r['cosine']:9.6f} {g['cosine']:9.6f} {r['mean_abs_error']:10.4g} "
                  f"{g['mean_abs_error']:10.4g} {r['top1_agreement']:8.4f} {g['top1_agreement']:9.4f}",
                  flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    closer = sum(r["gptq"]["mean_abs_error"] < r["rtn"]["mean_abs_error"] for r in rows)
    ratios = sorted(r["gptq"]["mean_abs_error"] / r["rtn"]["mean_abs_error"] for r in rows)
    median = ratios[len(ratios) // 2] if ratios else float("nan")
    print(f"--quant {args.quant}, {args.samples} calibration samples of batch {args.batch}: "
          f"GPTQ's mean abs error below RTN's on {closer} of {len(rows)} models "
          f"(median ratio {median:.3f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": datetime.date.today().isoformat(),
                       "command": " ".join(sys.argv), "quant": args.quant,
                       "samples": args.samples, "models": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
