#!/usr/bin/env python3
"""NPU benchmark: int8 matmuls on the NPU simulator, the 512^3 target case,
and the matmul shapes of a GPT-2-small layer (d_model 768, 12 heads, MLP
3072) for a 128-token prefill and a one-token decode step.

    /usr/bin/python3 bench/npu_bench.py [--build build] [--target-desc npu]
        [--quick] [--json FILE]

For each shape it writes the instruction stream (`llm-npu --matmul`), random
int8 A and B, runs it with `llm-run --target npu --stats`, checks C against
numpy's exact integer matmul (bit for bit) and prints a table: simulated
cycles next to the roofline bound (max of MACs / array size and the
compulsory DRAM bytes / bandwidth + latency, from the description), MAC
utilization of the array, DRAM bytes moved, energy, and host speed (simulated MACs per second of host time, simulator only). Exits 1 if
a result is not bit-exact, if 512^3 double-buffered is below 85%
utilization or if the simulator runs below 10 million MACs per second.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

GPT2 = [
    # name, M, K, N
    ("gpt2 prefill qkv", 128, 768, 2304),
    ("gpt2 prefill attn-out", 128, 768, 768),
    ("gpt2 prefill mlp-up", 128, 768, 3072),
    ("gpt2 prefill mlp-down", 128, 3072, 768),
    ("gpt2 prefill q.k^T/head", 128, 64, 128),
    ("gpt2 prefill p.v/head", 128, 128, 64),
    ("gpt2 decode qkv", 1, 768, 2304),
    ("gpt2 decode mlp-up", 1, 768, 3072),
    ("gpt2 decode mlp-down", 1, 3072, 768),
]
SQUARE = [("square", s, s, s) for s in (128, 256, 512, 1024)]


def load_description(desc):
    path = desc if os.path.exists(desc) else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "targets", desc + ".json")
    return json.load(open(path))


def roofline_cycles(d, m, k, n, out_bytes):
    npu = d["npu"]
    compute = m * k * n / (npu["array_rows"] * npu["array_cols"])
    dram = (m * k + k * n + m * n * out_bytes) / (
        d["memory"]["bandwidth_bytes_per_s"] / d["clock_hz"])
    return max(compute, dram + npu["dma_latency_cycles"])


def run(build, desc, name, m, k, n, buffers, requantize, workdir, rng):
    a = rng.integers(-128, 128, (m, k), dtype=np.int8)
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    c = a.astype(np.int32) @ b.astype(np.int32)
    scale = np.float32(1.0 / 4096)
    if requantize:
        c = np.clip(np.rint(c.astype(np.float32) * scale), -128, 127).astype(np.int8)
    np.save(f"{workdir}/A.npy", a)
    np.save(f"{workdir}/B.npy", b)
    program = f"{workdir}/mm.npubin"
    gen = [f"{build}/bin/llm-npu", f"--matmul={m}x{k}x{n}", f"--buffers={buffers}",
           f"--target-desc={desc}", "-o", program]
    if requantize:
        gen += ["--requantize", f"--scale={float(scale)!r}"]
    subprocess.run(gen, check=True)
    subprocess.run([f"{build}/bin/llm-run", program, "--target", "npu",
                    f"--input=A={workdir}/A.npy", f"--input=B={workdir}/B.npy",
                    f"--output-dir={workdir}/out", f"--stats={workdir}/stats.json"],
                   check=True, stdout=subprocess.DEVNULL)
    stats = json.load(open(f"{workdir}/stats.json"))
    got = np.load(f"{workdir}/out/C.npy")
    return {
        "name": name, "m": m, "k": k, "n": n, "buffers": buffers,
        "output": "int8" if requantize else "int32",
        "exact": bool(got.dtype == c.dtype and np.array_equal(got, c)),
        "cycles": stats["cycles"],
        "roofline_cycles": roofline_cycles(load_description(desc), m, k, n,
                                           1 if requantize else 4),
        "mac_utilization": stats["mac_utilization"],
        "dram_bytes": stats["bytes"]["dram_read"] + stats["bytes"]["dram_write"],
        "energy_j": stats["energy_j"]["total"],
        "host_seconds": stats["host_seconds"],
        "host_macs_per_s": stats["host_macs_per_s"],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--target-desc", default="npu")
    parser.add_argument("--quick", action="store_true", help="skip 1024^3")
    parser.add_argument("--json", help="also write the rows as JSON")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    cases = [(name, m, k, n, 2, False) for name, m, k, n in SQUARE
             if not (args.quick and m > 512)]
    cases += [("square int8-out", 512, 512, 512, 2, True),
              ("square single-buffered", 512, 512, 512, 1, False)]
    cases += [(name, m, k, n, 2, True) for name, m, k, n in GPT2]
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for case in cases:
            try:
                rows.append(run(args.build, args.target_desc, *case, workdir, rng))
            except (subprocess.CalledProcessError, OSError) as error:
                print(f"npu_bench: {case[0]}: {error}", file=sys.stderr)
                return 2
    header = (f"{'case':<26} {'MxKxN':>15} {'buf':>3} {'out':>5} {'exact':>5} "
              f"{'cycles':>10} {'roofline':>10} {'util':>7} {'DRAM MB':>8} {'energy uJ':>10} "
              f"{'host MAC/s':>11}")
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['name']:<26} {r['m']:>5}x{r['k']:>4}x{r['n']:>4} {r['buffers']:>3} "
              f"{r['output']:>5} {'yes' if r['exact'] else 'NO':>5} {r['cycles']:>10} {r['roofline_cycles']:>10.0f} "
              f"{100 * r['mac_utilization']:>6.1f}% {r['dram_bytes'] / 1e6:>8.2f} "
              f"{r['energy_j'] * 1e6:>10.2f} {r['host_macs_per_s']:>11.3g}")
    target = next(r for r in rows if (r["m"], r["k"], r["n"], r["buffers"], r["output"])
                  == (512, 512, 512, 2, "int32"))
    failures = [f"{r['name']} {r['m']}x{r['k']}x{r['n']} is not bit-exact"
                for r in rows if not r["exact"]]
    if target["mac_utilization"] < 0.85:
        failures.append(f"512^3 utilization {target['mac_utilization']:.3f} < 0.85")
    slow = [r for r in rows if r["m"] * r["k"] * r["n"] >= 1 << 24
            and r["host_macs_per_s"] < 1e7]
    failures += [f"{r['name']}: {r['host_macs_per_s']:.3g} MAC/s < 1e7" for r in slow]
    print(f"512^3 int8: {target['cycles']} cycles, "
          f"{100 * target['mac_utilization']:.1f}% MAC utilization "
          f"({'PASS' if target['mac_utilization'] >= 0.85 else 'FAIL'} >= 85%), "
          f"{target['host_macs_per_s']:.3g} simulated MAC/s on the host")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": datetime.datetime.now().isoformat(timespec="seconds"),
                       "target_desc": args.target_desc, "rows": rows}, f, indent=2)
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
