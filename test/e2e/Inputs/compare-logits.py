"""compare-logits.py ACTUAL.npy REFERENCE.npy [--min-cosine C] [--min-top1 T]
                   [--mask MASK.npy] [--rtol R --atol A]

Cosine similarity of two float arrays and the agreement of their argmax
along the last dim (top-1); exits 1 if either is below its bound. --mask
takes an attention mask [B, T] of logits [B, T, V] and compares only the
positions it keeps (nonzero): padded positions are left out. --rtol and
--atol also require every compared element to be within
atol + rtol * |reference| (llm-run --expect's rule).
"""
import argparse
import sys

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("actual")
parser.add_argument("reference")
parser.add_argument("--min-cosine", type=float, default=0.99)
parser.add_argument("--min-top1", type=float, default=0.9)
parser.add_argument("--mask")
parser.add_argument("--rtol", type=float)
parser.add_argument("--atol", type=float)
args = parser.parse_args()
a = np.load(args.actual).astype(np.float64)
r = np.load(args.reference).astype(np.float64)
if a.shape != r.shape:
    sys.exit(f"shape {a.shape} != {r.shape}")
if args.mask:
    keep = np.load(args.mask) != 0
    if keep.shape != a.shape[:-1]:
        sys.exit(f"mask shape {keep.shape} does not match {a.shape[:-1]}")
    a, r = a[keep], r[keep]
cosine = float((a * r).sum() / (np.linalg.norm(a) * np.linalg.norm(r)))
top1 = float((a.argmax(-1) == r.argmax(-1)).mean())
ok = cosine >= args.min_cosine and top1 >= args.min_top1
report = f"cosine {cosine:.6f} top-1 {top1:.4f}"
if args.rtol is not None or args.atol is not None:
    bound = (args.atol or 0.0) + (args.rtol or 0.0) * np.abs(r)
    differ = int((~(np.abs(a - r) <= bound)).sum())
    report += f", {differ} of {a.size} elements beyond atol + rtol * |ref|"
    ok = ok and differ == 0
print(report)
sys.exit(0 if ok else 1)
