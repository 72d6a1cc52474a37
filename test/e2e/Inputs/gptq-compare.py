"""Prints, for each pair of output folders (a baseline, e.g. RTN's, then
GPTQ's), the mean absolute error of their logits against the reference,
and whether the second's is below 0.95 of the first's ("closer")."""
import os
import sys

import numpy as np

reference = np.load(sys.argv[1])
folders = sys.argv[2:]
for base, gptq in zip(folders[::2], folders[1::2]):
    def error(folder):
        return float(np.abs(np.load(os.path.join(folder, "logits.npy")) - reference).mean())
    e_base, e_gptq = error(base), error(gptq)
    verdict = "closer" if e_gptq < 0.95 * e_base else "NOT closer"
    print(f"{os.path.basename(gptq)}: mean abs error {e_gptq:.5f} "
          f"({os.path.basename(base)} {e_base:.5f}): {verdict}")
