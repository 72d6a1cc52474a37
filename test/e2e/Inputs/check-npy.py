#!/usr/bin/env python3
"""Checks an .npy file a tool wrote: its shape, dtype and, against a
reference, its values.

    check-npy.py FILE [--shape 1,16,96] [--dtype float32]
                 [--like REF.npy [--rtol R] [--atol A]]
"""
import argparse
import sys

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--shape")
    parser.add_argument("--dtype")
    parser.add_argument("--like", help="reference .npy to compare with")
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--atol", type=float, default=1e-5)
    args = parser.parse_args()

    array = np.load(args.file)
    problems = []
    if args.shape is not None:
        shape = tuple(int(d) for d in args.shape.split(",") if d)
        if array.shape != shape:
            problems.append(f"shape {list(array.shape)}, expected {list(shape)}")
    if args.dtype is not None and array.dtype != np.dtype(args.dtype):
        problems.append(f"dtype {array.dtype}, expected {args.dtype}")
    if args.like is not None:
        reference = np.load(args.like)
        if array.shape != reference.shape:
            problems.append(f"shape {list(array.shape)}, reference {list(reference.shape)}")
        elif not np.allclose(array, reference, rtol=args.rtol, atol=args.atol):
            worst = np.abs(array.astype(np.float64) - reference).max()
            problems.append(f"max |diff| {worst:.3g} vs {args.like}")
    if problems:
        print(f"check-npy: {args.file}: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"check-npy: {args.file}: {array.dtype} {list(array.shape)} ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
