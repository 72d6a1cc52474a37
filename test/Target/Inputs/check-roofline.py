#!/usr/bin/env python3
"""Checks one target's estimate in an `llm-compile --report` file against a
roofline computed here from datasheet figures:

    latency = max(flops / peak, bytes / bandwidth) + overhead

    check-roofline.py REPORT.json TARGET --flops F --peak P --bandwidth B
                      --bytes N --overhead S --bound compute|memory
"""
import argparse
import json
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("target")
    for name in ("flops", "peak", "bandwidth", "bytes", "overhead"):
        parser.add_argument("--" + name, type=float, required=True)
    parser.add_argument("--bound", choices=["compute", "memory"], required=True)
    args = parser.parse_args()
    entry = json.load(open(args.report))["targets"][args.target]
    expected = max(args.flops / args.peak, args.bytes / args.bandwidth) + args.overhead
    problems = []

    def close(name, actual, wanted, rel=1e-3):
        if actual is None or abs(actual - wanted) > rel * abs(wanted):
            problems.append(f"{name} is {actual}, expected {wanted:.6g}")

    close("flops", entry.get("flops"), args.flops)
    close("bytes", entry.get("bytes"), args.bytes)
    close("latency_s", entry.get("latency_s"), expected)
    bound = "compute" if args.flops / args.peak >= args.bytes / args.bandwidth else "memory"
    if bound != args.bound:
        problems.append(f"the figures given make it {bound} bound, not {args.bound}")
    layers = entry.get("layers") or []
    if len(layers) != 1 or layers[0].get("bound") != args.bound:
        problems.append(f"expected one {args.bound}-bound layer, got {layers!r}")
    if problems:
        print(f"check-roofline: {args.target}: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"check-roofline: {args.target}: {entry['latency_s']:.6g} s = roofline ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
