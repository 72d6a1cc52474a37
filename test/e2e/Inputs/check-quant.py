#!/usr/bin/env python3
"""Checks the accuracy and weight size of a quantized compile from its
`llm-compile --report` JSON against the fp32 compile's report.

    check-quant.py REPORT.json FP32_REPORT.json [--min-cosine C]
        [--min-top1 T] [--max-weight-ratio R]

Exits 1 with one line naming every bound that does not hold.
"""
import argparse
import json
import sys


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("report")
    parser.add_argument("fp32_report")
    parser.add_argument("--min-cosine", type=float, default=0.99)
    parser.add_argument("--min-top1", type=float, default=0.90)
    parser.add_argument("--max-weight-ratio", type=float, default=1.0)
    args = parser.parse_args(argv[1:])
    with open(args.report) as f:
        report = json.load(f)
    with open(args.fp32_report) as f:
        fp32 = json.load(f)
    problems = []
    accuracy = report.get("accuracy")
    if not isinstance(accuracy, dict):
        problems.append("no 'accuracy' object")
        accuracy = {}
    if report.get("quant") in (None, "none"):
        problems.append(f"'quant' is {report.get('quant')!r}")
    cosine = accuracy.get("cosine")
    top1 = accuracy.get("top1_agreement")
    if not isinstance(cosine, (int, float)) or cosine < args.min_cosine:
        problems.append(f"cosine {cosine} < {args.min_cosine}")
    if not isinstance(top1, (int, float)) or top1 < args.min_top1:
        problems.append(f"top-1 agreement {top1} < {args.min_top1}")
    for key in ("max_abs_error", "mean_abs_error"):
        if not isinstance(accuracy.get(key), (int, float)):
            problems.append(f"no '{key}'")
    weights = report["targets"]["host"]["weight_bytes"]
    fp32_weights = fp32["targets"]["host"]["weight_bytes"]
    ratio = weights / fp32_weights
    if ratio > args.max_weight_ratio:
        problems.append(f"weight bytes {weights} are {ratio:.3f} of fp32's "
                        f"{fp32_weights} > {args.max_weight_ratio}")
    if problems:
        print(f"check-quant: {args.report}: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"quant {report['quant']}: cosine {cosine:.5f}, top-1 {top1:.3f}, "
          f"weights {ratio:.3f} of fp32")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
