#!/usr/bin/env python3
"""Checks the HLS schedule estimates of an `llm-compile --target hls` report:
one row per kernel (loop nest) with positive cycles, pipelined innermost
loops at II=1 with at least one lane, and non-negative DSP,
BRAM36 and URAM counts, totals that are the sums of the rows, a latency that
is the total cycles at the description's clock, and a design that fits the
description's DSPs, BRAM and URAM. Prints a one-line summary.

    check-hls-report.py REPORT.json [--min-kernels N]
"""
import json
import sys


def main(argv):
    path = argv[1]
    min_kernels = int(argv[argv.index("--min-kernels") + 1]) if "--min-kernels" in argv else 1
    with open(path) as f:
        entry = json.load(f)["targets"]["hls"]
    problems = []
    kernels = entry.get("hls_kernels") or []
    totals = entry.get("hls_totals") or {}
    if len(kernels) < min_kernels:
        problems.append(f"{len(kernels)} kernels, expected at least {min_kernels}")
    for k in kernels:
        if not k.get("name") or k.get("cycles", 0) <= 0:
            problems.append(f"kernel {k.get('name')!r} has cycles {k.get('cycles')!r}")
        if k.get("ii") != 1 or not isinstance(k.get("unroll"), int) or k["unroll"] < 1:
            problems.append(f"kernel {k.get('name')!r}: ii {k.get('ii')!r}, unroll {k.get('unroll')!r} "
                            "(pipelined innermost loops at II=1 expected)")
        for key in ("dsp", "bram_36k", "uram"):
            if not isinstance(k.get(key), int) or k[key] < 0:
                problems.append(f"kernel {k.get('name')!r}: {key} is {k.get(key)!r}")
    for key in ("cycles", "dsp", "bram_36k", "uram"):
        total = sum(k.get(key, 0) for k in kernels)
        if totals.get(key) != total:
            problems.append(f"totals.{key} is {totals.get(key)!r}, the kernels add up to {total}")
    clock = entry.get("hls_clock_hz")
    latency = entry.get("hls_latency_s")
    if not clock or not latency or abs(latency - totals.get("cycles", 0) / clock) > 1e-12 + 1e-9 * latency:
        problems.append(f"hls_latency_s {latency!r} is not cycles / clock_hz ({clock!r})")
    if totals.get("fits") is not True:
        problems.append(f"the design does not fit: {totals}")
    if problems:
        print(f"check-hls-report: {path}: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"check-hls-report: {path}: {len(kernels)} kernels, {totals['cycles']} cycles "
          f"({latency * 1e3:.3f} ms at {clock / 1e6:.0f} MHz), {totals['dsp']} DSP, "
          f"{totals['bram_36k']} BRAM36, {totals['uram']} URAM")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
