#!/usr/bin/env python3
"""Compares an emulated ptx output with torch's: cosine similarity >= 0.999
and (unless --no-top1) top-1 agreement >= 0.95 along the last axis, and
names the kinds of kernel that ran mma.sync (from llm-run --stats).

    compare-emulated.py OUT.npy REF.npy STATS.json [--no-top1]
"""
import json
import sys

import numpy as np

out = np.load(sys.argv[1]).astype(np.float64)
ref = np.load(sys.argv[2]).astype(np.float64)
stats = json.load(open(sys.argv[3]))["gpu_emulator"]
cosine = (out * ref).sum() / np.linalg.norm(out) / np.linalg.norm(ref)
words = ["cosine ok" if cosine >= 0.999 else f"cosine {cosine:.6f} < 0.999"]
if "--no-top1" not in sys.argv:
    top1 = (out.argmax(-1) == ref.argmax(-1)).mean()
    words.append("top-1 ok" if top1 >= 0.95 else f"top-1 {top1:.3f} < 0.95")
kinds = sorted({k["kernel"].rstrip("0123456789_") for k in stats["kernels"]
                if k["mma_sync"] > 0})
print(", ".join(words) + ", mma kernels: " + " ".join(kinds))
