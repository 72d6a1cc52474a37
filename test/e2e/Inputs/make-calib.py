#!/usr/bin/env python3
"""Writes calibration inputs for a model with one token-id input: the
exported input plus random token ids, stacked along a new leading dim.

    make-calib.py INPUT.npy NAME VOCAB SAMPLES OUT.npz
"""
import sys

import numpy as np

path, name, vocab, samples, out = sys.argv[1:6]
first = np.load(path)
rng = np.random.default_rng(7)
more = rng.integers(0, int(vocab), size=(int(samples) - 1,) + first.shape)
np.savez(out, **{name: np.concatenate([first[None], more.astype(first.dtype)])})
