#!/usr/bin/env python3
"""Compares the numbers two runs printed (printMemrefF32 output):

    compare-printed.py ACTUAL EXPECTED --atol A --rtol R

Exit 1 (with the worst element) if a number differs by more than
atol + rtol * |expected|, if the counts differ, or if there are none; else
prints the count and the largest difference.
"""
import argparse
import math
import re
import sys

NUMBER = re.compile(r"-?(?:nan|inf|\d+(?:\.\d*)?(?:e[-+]?\d+)?)", re.I)


def numbers(path):
    values = []
    for line in open(path):
        if line.startswith("Unranked Memref"):
            continue
        values += [float(x) for x in NUMBER.findall(line)]
    return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("actual")
    parser.add_argument("expected")
    parser.add_argument("--atol", type=float, default=1e-6)
    parser.add_argument("--rtol", type=float, default=1e-5)
    args = parser.parse_args()
    actual, expected = numbers(args.actual), numbers(args.expected)
    if not expected or len(actual) != len(expected):
        print(f"check failed: {len(actual)} numbers vs {len(expected)} expected")
        return 1
    worst, where = 0.0, 0
    for i, (a, e) in enumerate(zip(actual, expected)):
        if math.isnan(a) or math.isnan(e):
            if not (math.isnan(a) and math.isnan(e)):
                print(f"check failed: element {i}: {a} vs {e}")
                return 1
            continue
        d = abs(a - e)
        if d > args.atol + args.rtol * abs(e):
            print(f"check failed: element {i}: {a} vs {e} (difference {d:.3g})")
            return 1
        if d > worst:
            worst, where = d, i
    zeros = sum(1 for e in expected if e == 0.0)
    print(f"{len(expected)} numbers match, {zeros} exact zeros, "
          f"largest difference {worst:.3g} at {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
