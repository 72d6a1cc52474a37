"""Checks scripts/llm_run_pool.py against the llm-run executable: the same
exit codes and messages for a match, a mismatch, bad input and a bad
option; each run starts from llm-run's defaults (a --rtol 0 does not
stay); a worker killed between runs has its next request run as a process.

    llm-run-pool.py LLM_RUN EXAMPLE_DIR WORK_DIR
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "..", "scripts"))  # the source tree's
from llm_run_pool import LLMRunPool  # noqa: E402

llm_run, example, work = sys.argv[1:4]
model = os.path.join(example, "model.onnx")
ids = "input_ids=" + os.path.join(example, "input_ids.npy")
logits = np.load(os.path.join(example, "logits.npy"))
near = os.path.join(work, "near.npy")  # within the default rtol, not within 0
np.save(near, logits * np.float32(1 + 2e-6))

cases = {
    "match": [model, "--input", ids, "--expect", "logits=" + near],
    "exact": [model, "--input", ids, "--expect", "logits=" + near, "--rtol", "0",
              "--atol", "0"],
    "again": [model, "--input", ids, "--expect", "logits=" + near],
    "missing": [model, "--input", "input_ids=" + os.path.join(work, "none.npy")],
    "option": [model, "--no-such-option"],
    "ptx": [model, "--target", "ptx", "--emulate-gpu", "--input", ids],
}
pool = LLMRunPool(llm_run, workers=1)
for name, args in cases.items():
    got = pool.run(args)
    want = subprocess.run([llm_run] + args, capture_output=True, text=True)
    same = (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout,
                                                        want.stderr)
    last = (got.stderr.strip().splitlines() or [""])[-1]
    print(f"{name}: exit {got.returncode}, as the tool: {same}: {last[:200]}")

worker = pool.idle.get()
worker.process.kill()
pool.idle.put(worker)
got = pool.run(cases["match"])
print(f"killed worker: exit {got.returncode}, run as a process: {pool.fallbacks}")
got = pool.run(cases["exact"])
print(f"next: exit {got.returncode}, processes: {pool.fallbacks}")
pool.close()
