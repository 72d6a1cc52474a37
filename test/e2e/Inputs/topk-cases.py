#!/usr/bin/env python3
"""Runs ONNX TopK through llm-run on 12 random cases (ranks 1-3, every axis,
largest and smallest, k from 1 to the axis length, integer-valued floats so
that ties are common, some with -inf) and compares the values and indices
exactly with numpy's stable sort (ONNX orders ties by index).

    topk-cases.py DIR TARGET [TARGET ...]

Prints one line per mismatch and `topk: N cases x M targets, F failed`;
exits 1 if one failed.
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper


def main():
    folder, targets = sys.argv[1], sys.argv[2:]
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(1)
    failed = 0
    cases = 12
    for case in range(cases):
        shape = [int(v) for v in rng.integers(2, 8, size=1 + case % 3)]
        axis = int(rng.integers(-len(shape), len(shape)))
        k = int(rng.integers(1, shape[axis] + 1))
        largest = int(case % 2 == 0)
        x = rng.integers(-3, 4, size=shape).astype(np.float32)
        if case % 4 == 1:
            x[..., 0] = -np.inf
        graph = helper.make_graph(
            [helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=axis, largest=largest)],
            "topk", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
            [helper.make_tensor_value_info("v", TensorProto.FLOAT, None),
             helper.make_tensor_value_info("i", TensorProto.INT64, None)],
            [helper.make_tensor("k", TensorProto.INT64, [1], [k])])
        base = os.path.join(folder, f"case{case}")
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
                  base + ".onnx")
        np.save(base + "-x.npy", x)
        order = np.argsort(-x if largest else x, axis=axis, kind="stable")
        indices = np.take(order, np.arange(k), axis=axis)
        values = np.take_along_axis(x, indices, axis=axis)
        for target in targets:
            out = f"{base}-{target}"
            command = ["llm-run", base + ".onnx", "--target", target,
                       "--input", f"x={base}-x.npy", "--output-dir", out]
            if target == "ptx":
                command.append("--emulate-gpu")
            run = subprocess.run(command, capture_output=True, text=True)
            if run.returncode:
                print(f"case {case} {target}: {run.stderr.strip()[-200:]}")
                failed += 1
                continue
            got_v, got_i = np.load(out + "/v.npy"), np.load(out + "/i.npy")
            if not (np.array_equal(got_v, values) and np.array_equal(got_i, indices)):
                print(f"case {case} {target}: mismatch (shape {shape}, axis {axis}, "
                      f"k {k}, largest {largest})")
                failed += 1
    print(f"topk: {cases} cases x {len(targets)} targets, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
