"""compare-logits.py ACTUAL.npy REFERENCE.npy [--min-cosine C] [--min-top1 T]

Cosine similarity of two float arrays and the agreement of their argmax
along the last dim (top-1); exits 1 if either is below its bound.
"""
import argparse
import sys

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("actual")
parser.add_argument("reference")
parser.add_argument("--min-cosine", type=float, default=0.99)
parser.add_argument("--min-top1", type=float, default=0.9)
args = parser.parse_args()
a = np.load(args.actual).astype(np.float64)
r = np.load(args.reference).astype(np.float64)
if a.shape != r.shape:
    sys.exit(f"shape {a.shape} != {r.shape}")
cosine = float((a * r).sum() / (np.linalg.norm(a) * np.linalg.norm(r)))
top1 = float((a.argmax(-1) == r.argmax(-1)).mean())
print(f"cosine {cosine:.6f} top-1 {top1:.4f}")
sys.exit(0 if cosine >= args.min_cosine and top1 >= args.min_top1 else 1)
