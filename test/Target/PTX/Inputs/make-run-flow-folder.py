#!/usr/bin/env python3
"""A small prepared folder for bench_gpu.py --run (bench-run-flow.test):
make-gemms.py's 'shared' case compiled once and copied as the checks
'shared', 'hang-shared', 'crash-shared', 'fault-shared' and 'shared-again'
(the stand-in CuPy hangs, aborts or faults on the artifacts so named), and
a 64^3 GEMM as a timed item.

    make-run-flow-folder.py GEMMS_DIR OUT
"""
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
sys.path.insert(0, os.path.join(ROOT, "bench", "gpu"))
import bench_gpu  # noqa: E402


def main():
    gemms, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    src = os.path.join(gemms, "shared")
    first = os.path.join(out, "check-shared")
    bench_gpu.compile_artifact(None, os.path.join(src, "model.onnx"), first, keep_weights=True)
    inputs = bench_gpu.copy_case(src, first, "expected_y.npy")
    names = ["shared", "hang-shared", "crash-shared", "fault-shared", "shared-again"]
    for name in names[1:]:
        shutil.copytree(first, os.path.join(out, "check-" + name))
    gemm = os.path.join(out, "gemm64.onnx")
    bench_gpu.write_gemm(gemm, 64)
    bench_gpu.compile_artifact(None, gemm, os.path.join(out, "gemm-64"), keep_weights=False)
    os.remove(gemm)
    index = {"prepared": "test", "checks": [
        {"name": n, "inputs": inputs, "output": "y", "tol": 2e-3} for n in names],
        "timed": [{"name": "gemm-64", "kind": "gemm", "n": 64, "kernel": "mma.sync",
                   "dtype": "f32"}]}
    with open(os.path.join(out, "prepared.json"), "w") as f:
        json.dump(index, f, indent=2)


if __name__ == "__main__":
    main()
