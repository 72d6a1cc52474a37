#!/usr/bin/env python3
"""Import benchmark: how long `llm-translate --import-onnx` takes on a model
with ~100M fp32 parameters, and how much memory it needs compared with the
weights themselves.

    /usr/bin/python3 bench/import_bench.py [--params 100e6] [--hidden 2048]
        [--tool build/bin/llm-translate] [--keep DIR] [--json FILE]

It writes (in a temporary folder, deleted afterwards unless --keep) an ONNX
model made of a chain of Linear layers, y = Relu(x @ W_i + b_i), with random
weights, then runs the importer on it:

  import          llm-translate --import-onnx model.onnx --emit-bytecode -o /dev/null
  + print text    the same printing MLIR text (weights as hex strings)
  + print elided  the same with --mlir-elide-resource-strings-if-larger=16

Only the first is held to the targets: MLIR's text printer builds every
weight blob's hex string (twice its size) even when it elides it, a cost of
printing, not of importing.

and prints, per run, the parameter count, the weights' size, wall seconds,
the child's peak RSS and RSS / weights, with PASS or FAIL against the targets
(import under 20 s, peak RSS under 2x the weights). Exits 1 if a run fails a
target, 2 if the tool cannot run.
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_SECONDS = 20.0
TARGET_RSS_RATIO = 2.0
ELIDE_FLAG = "--mlir-elide-resource-strings-if-larger=16"


def build_model(path, params, hidden, seed=0):
    """Writes a chain of hidden x hidden Linear layers holding about `params`
    parameters; returns (parameters, weight bytes)."""
    layers = max(1, round(params / (hidden * hidden + hidden)))
    rng = np.random.default_rng(seed)
    nodes, initializers = [], []
    current = "x"
    for i in range(layers):
        weight = rng.standard_normal((hidden, hidden), dtype=np.float32) * (hidden ** -0.5)
        bias = rng.standard_normal(hidden, dtype=np.float32) * 0.01
        initializers.append(numpy_helper.from_array(weight, f"layer{i}.weight"))
        initializers.append(numpy_helper.from_array(bias, f"layer{i}.bias"))
        del weight
        nodes += [
            helper.make_node("MatMul", [current, f"layer{i}.weight"], [f"layer{i}.mm"],
                             name=f"layer{i}/MatMul"),
            helper.make_node("Add", [f"layer{i}.mm", f"layer{i}.bias"], [f"layer{i}.add"],
                             name=f"layer{i}/Add"),
            helper.make_node("Relu", [f"layer{i}.add"], [f"layer{i}.out"],
                             name=f"layer{i}/Relu"),
        ]
        current = f"layer{i}.out"
    nodes.append(helper.make_node("Identity", [current], ["y"], name="output"))
    graph = helper.make_graph(
        nodes, "import_bench",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, hidden])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, hidden])],
        initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="llmc-import-bench")
    model.ir_version = 8
    count = layers * (hidden * hidden + hidden)
    onnx.save(model, path)
    return count, count * 4


# Runs the tool and reports its own peak RSS. A child's ru_maxrss includes the
# high-water mark of the process it was forked from (Linux carries it across
# exec), and this script's peak holds the whole generated model; so a small,
# freshly exec'd interpreter forks the tool and reports the tool's rusage.
TRAMPOLINE = r"""
import json, os, sys, time
timeout, command = float(sys.argv[1]), sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        os.execvp(command[0], command)
    finally:
        os._exit(127)
while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
    if time.perf_counter() - start > timeout:
        os.kill(pid, 9)
        done, status, usage = os.wait4(pid, 0)
        break
    time.sleep(0.01)
print(json.dumps({"status": os.waitstatus_to_exitcode(status),
                  "seconds": time.perf_counter() - start,
                  "maxrss_kib": usage.ru_maxrss}))
"""


def measure(command, timeout):
    """Runs `command`; returns (exit status, wall seconds, peak RSS in bytes,
    stderr tail)."""
    result = subprocess.run([sys.executable, "-S", "-c", TRAMPOLINE, str(timeout)] + command,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stderr = result.stderr[-2000:].decode("utf-8", "replace").strip()
    try:
        measured = json.loads(result.stdout.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        return 127, 0.0, 0, stderr
    # Linux reports ru_maxrss in KiB.
    return measured["status"], measured["seconds"], measured["maxrss_kib"] * 1024, stderr


def tool_supports(tool, flag):
    try:
        text = subprocess.run([tool, "--help"], capture_output=True, text=True,
                              timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return flag.split("=")[0] in text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", type=float, default=100e6, help="parameters (about)")
    parser.add_argument("--hidden", type=int, default=2048, help="layer width")
    parser.add_argument("--tool", default=os.path.join(ROOT, "build", "bin", "llm-translate"))
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--keep", help="write the model into this folder and keep it")
    parser.add_argument("--json", help="also write the results as JSON to this file")
    args = parser.parse_args()

    if not (os.path.isfile(args.tool) and os.access(args.tool, os.X_OK)):
        print(f"import_bench: error: {args.tool} not found; build it first "
              "(bash scripts/setup.sh)", file=sys.stderr)
        return 2

    folder = args.keep or tempfile.mkdtemp(prefix="llmc-import-bench.")
    os.makedirs(folder, exist_ok=True)
    try:
        model = os.path.join(folder, "model.onnx")
        print(f"[bench] writing ~{args.params / 1e6:.0f}M-parameter model to {model}",
              flush=True)
        start = time.perf_counter()
        params, weight_bytes = build_model(model, int(args.params), args.hidden)
        print(f"[bench] {params / 1e6:.1f}M parameters, {os.path.getsize(model) / 2**20:.0f} MiB "
              f"on disk, written in {time.perf_counter() - start:.1f} s", flush=True)

        # The import is measured with bytecode output, which writes weights as
        # raw bytes. The text runs also pay for MLIR's printer, which builds
        # each blob's hex string (2x its size) even when it then elides it:
        # shown for reference, not held to the targets.
        runs = [("import", [args.tool, "--import-onnx", model, "--emit-bytecode",
                            "-o", os.devnull], True),
                ("+ print text", [args.tool, "--import-onnx", model, "-o", os.devnull],
                 False)]
        if tool_supports(args.tool, ELIDE_FLAG):
            runs.append(("+ print elided",
                         [args.tool, "--import-onnx", model, ELIDE_FLAG, "-o", os.devnull],
                         False))
        else:
            print(f"[bench] {os.path.basename(args.tool)} has no {ELIDE_FLAG.split('=')[0]}; "
                  "measuring the plain import only")

        results = []
        for name, command, gated in runs:
            print(f"[bench] {name}: {' '.join(command)}", flush=True)
            status, seconds, rss, stderr = measure(command, args.timeout)
            ratio = rss / weight_bytes
            ok = status == 0 and (not gated or (seconds < TARGET_SECONDS and
                                                ratio < TARGET_RSS_RATIO))
            if status != 0:
                last = stderr.splitlines()[-1] if stderr else "(no message)"
                print(f"[bench] {name} exited with {status}: {last}")
            results.append({
                "run": name, "params": params, "weight_mb": weight_bytes / 2**20,
                "seconds": seconds, "peak_rss_mb": rss / 2**20, "rss_ratio": ratio,
                "exit_status": status, "pass": ok, "gated": gated,
            })
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    header = f"{'run':<16} {'params':>8} {'weights MB':>10} {'import s':>9} " \
             f"{'peak RSS MB':>11} {'RSS/weights':>11}  result"
    print()
    print(f"targets: import < {TARGET_SECONDS:g} s, peak RSS < {TARGET_RSS_RATIO:g}x weights")
    print(header)
    print("-" * len(header))
    for r in results:
        why = []
        if r["exit_status"] != 0:
            why.append(f"exit {r['exit_status']}")
        if r["seconds"] >= TARGET_SECONDS:
            why.append("slow")
        if r["rss_ratio"] >= TARGET_RSS_RATIO:
            why.append("memory")
        if not r["gated"]:
            verdict = "(reference)" if r["exit_status"] == 0 else "FAIL (" + ", ".join(why[:1]) + ")"
        else:
            verdict = "PASS" if r["pass"] else "FAIL (" + ", ".join(why) + ")"
        print(f"{r['run']:<16} {r['params'] / 1e6:>7.1f}M {r['weight_mb']:>10.0f} "
              f"{r['seconds']:>9.2f} {r['peak_rss_mb']:>11.0f} {r['rss_ratio']:>10.2f}x  {verdict}")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": datetime.datetime.now().isoformat(timespec="seconds"),
                       "tool": args.tool, "hidden": args.hidden,
                       "targets": {"seconds": TARGET_SECONDS, "rss_ratio": TARGET_RSS_RATIO},
                       "results": results}, f, indent=2)
            f.write("\n")
    return 0 if all(r["pass"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
