#!/usr/bin/env python3
"""Host benchmark: a GPT-2-style forward on the host and HLS C-simulation
paths, against PyTorch eager on the same CPU.

    /usr/bin/python3 bench/host_bench.py [--build DIR] [--size small|tiny]
        [--seq 128] [--targets host,hls] [--warm 3] [--keep DIR] [--json FILE]

`--size small` is GPT-2 small's shape (12 layers, d_model 768, 12 heads,
MLP 3072, vocabulary 50257; random weights), `tiny` the test suite's model.
The script exports it with torch (test/models/export_models.py), runs
`llm-run --target T --stats` for each target and prints, per target, the
compile and run seconds llm-run reports, the run's tokens per second, and
the largest difference of its logits from torch's, and for the host the
median of `--warm` runs of one compiled model through the Python module
(a process that runs a model again, as a server or a calibration does:
its buffers are warm); then torch eager's forward on this CPU (the median
of three warm runs, torch's threads as it sets them). Exits 1 if a target's logits are more than 1e-3 of their
largest magnitude from torch's, 2 if a tool fails.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from npu_model_bench import export  # noqa: E402


def torch_seconds(config, work, repeats=3):
    """Median wall seconds of torch eager's forward (after one warm-up), its
    logits and torch's thread count."""
    import torch
    sys.path.insert(0, os.path.join(ROOT, "test", "models"))
    import export_models as em
    torch.manual_seed(0)
    model = em.GPT2(config).eval()
    ids = torch.from_numpy(np.load(os.path.join(work, "input_ids.npy")))
    times = []
    with torch.no_grad():
        logits = model(ids)
        for _ in range(repeats):
            start = time.monotonic()
            model(ids)
            times.append(time.monotonic() - start)
    return sorted(times)[len(times) // 2], logits.numpy(), torch.get_num_threads()


def platform_torch():
    """torch's version and the BLAS it was built with."""
    import torch
    config = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", config)
    return [torch.__version__, "BLAS " + (blas.group(1) if blas else "unknown")]


WARM_SCRIPT = """
import sys, time, numpy as np
import llmc
model = llmc.compile(sys.argv[1], target="host")
ids = np.load(sys.argv[2])
times = []
for _ in range(int(sys.argv[3])):
    start = time.perf_counter()
    model.run({"input_ids": ids})
    times.append(time.perf_counter() - start)
print(sorted(times)[len(times) // 2])
"""


def warm_seconds(build, work, repeats):
    """The median seconds of `repeats` runs of one host-compiled model
    through llmc's Python module in `build`, or None without one."""
    python_dir = os.path.join(build, "python")
    if repeats <= 0 or not os.path.isdir(os.path.join(python_dir, "llmc")):
        return None
    env = dict(os.environ, PYTHONPATH=python_dir)
    out = subprocess.run([sys.executable, "-c", WARM_SCRIPT, os.path.join(work, "model.onnx"),
                          os.path.join(work, "input_ids.npy"), str(repeats)],
                         check=True, capture_output=True, text=True, env=env)
    return float(out.stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", help="llmc's build folder (default: ./build, or else "
                        "llm-run on PATH)")
    parser.add_argument("--size", choices=["small", "tiny"], default="small")
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--targets", default="host,hls")
    parser.add_argument("--warm", type=int, default=3,
                        help="host runs of one compiled model (0: none)")
    parser.add_argument("--keep", help="keep the model and outputs in this folder")
    parser.add_argument("--json", help="also write the results as JSON")
    args = parser.parse_args()
    llm_run = os.path.join(os.path.abspath(args.build or os.path.join(ROOT, "build")),
                           "bin", "llm-run")
    if not args.build and not os.path.exists(llm_run):
        llm_run = shutil.which("llm-run") or llm_run
    work = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="host-bench-")
    os.makedirs(work, exist_ok=True)
    rows = []
    try:
        print(f"exporting GPT-2 {args.size} (seq {args.seq}) ...", file=sys.stderr)
        config = export(args.size, args.seq, work)
        print("timing torch eager ...", file=sys.stderr)
        torch_s, reference, threads = torch_seconds(config, work)
        for target in args.targets.split(","):
            print(f"running llm-run --target {target} ...", file=sys.stderr)
            stats_path = os.path.join(work, target + ".json")
            subprocess.run([llm_run,
                            os.path.join(work, "model.onnx"), "--target", target,
                            "--input", "input_ids=" + os.path.join(work, "input_ids.npy"),
                            "--output-dir", os.path.join(work, target),
                            "--stats", stats_path], check=True, stdout=subprocess.DEVNULL)
            stats = json.load(open(stats_path))
            logits = np.load(os.path.join(work, target, "logits.npy"))
            error = float(np.abs(logits - reference).max() / np.abs(reference).max())
            warm = None
            if target == "host":
                print(f"running the host model {args.warm} times ...", file=sys.stderr)
                warm = warm_seconds(os.path.dirname(os.path.dirname(llm_run)), work, args.warm)
            rows.append({"target": target, "compile_s": stats["compile_s"],
                         "run_s": stats["run_s"], "warm_run_s": warm,
                         "tokens_per_s": args.seq / stats["run_s"],
                         "relative_error": error})
    except (subprocess.CalledProcessError, OSError, ImportError) as error:
        print(f"host_bench: {error}", file=sys.stderr)
        return 2
    cpu = platform.processor() or platform.machine()
    print(f"# GPT-2 {args.size}, {args.seq} tokens, batch 1; {os.cpu_count()} cores ({cpu}); "
          f"{datetime.date.today()}")
    header = (f"{'run':<14} {'compile s':>10} {'run s':>8} {'warm run s':>11} {'tokens/s':>9} "
              f"{'max |diff| / max |torch|':>25}")
    print(header)
    print("-" * len(header))
    for row in rows:
        warm = f"{row['warm_run_s']:.3f}" if row["warm_run_s"] is not None else "-"
        print(f"{'llm ' + row['target']:<14} {row['compile_s']:>10.2f} {row['run_s']:>8.3f} "
              f"{warm:>11} {row['tokens_per_s']:>9.1f} {row['relative_error']:>25.2e}")
    print(f"{'torch eager':<14} {'-':>10} {torch_s:>8.3f} {torch_s:>11.3f} "
          f"{args.seq / torch_s:>9.1f} {'-':>25}")
    print(f"# torch {threads} thread(s): {' '.join(platform_torch())}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": datetime.datetime.now().isoformat(timespec="seconds"),
                       "size": args.size, "seq": args.seq, "cores": os.cpu_count(),
                       "torch_eager_s": torch_s, "torch_threads": threads,
                       "runs": rows}, f, indent=2)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(row["relative_error"] <= 1e-3 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
