"""Prints, for each pair of output folders (RTN, then GPTQ), the mean
absolute error of their logits against the reference, and whether GPTQ's
is below 0.95 of RTN's ("closer")."""
import os
import sys

import numpy as np

reference = np.load(sys.argv[1])
folders = sys.argv[2:]
for rtn, gptq in zip(folders[::2], folders[1::2]):
    def error(folder):
        return float(np.abs(np.load(os.path.join(folder, "logits.npy")) - reference).mean())
    e_rtn, e_gptq = error(rtn), error(gptq)
    verdict = "closer" if e_gptq < 0.95 * e_rtn else "NOT closer"
    print(f"{os.path.basename(gptq)}: mean abs error {e_gptq:.5f} (rtn {e_rtn:.5f}): {verdict}")
