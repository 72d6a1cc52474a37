#!/usr/bin/env python3
"""Runs ONNX Einsum with three and four operands through llm-run and
compares with numpy.einsum: chains of products, an index shared by three
operands, an index kept by the first product for a later operand, a size-1
batch dim broadcast, "...", and the implicit output.

    einsum-cases.py DIR TARGET [TARGET ...]

Prints one line per mismatch and `einsum: N cases x M targets, F failed`;
exits 1 if one failed. Tolerances: 1e-4 (host, hls), 5e-2 (ptx kernels on
the GPU emulator, products in 16 bits).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

import llmrun

TOLERANCE = {"host": ("1e-4", "1e-5"), "hls": ("1e-4", "1e-5"), "ptx": ("5e-2", "5e-2")}

# (equation, operand shapes)
CASES = [
    ("bij,bjk,bkl->bil", [(2, 3, 4), (2, 4, 5), (2, 5, 6)]),
    ("btd,dn,tk->bkn", [(2, 6, 8), (8, 4), (6, 3)]),
    ("i,i,i->", [(7,), (7,), (7,)]),
    ("ij,jk,kl,lm->im", [(3, 4), (4, 5), (5, 6), (6, 2)]),
    ("bhqd,bhkd,h->bhqk", [(2, 3, 4, 8), (2, 3, 5, 8), (3,)]),
    ("bij,bjk,bkl->bil", [(1, 3, 4), (2, 4, 5), (2, 5, 6)]),
    ("...ij,...jk,k->...i", [(2, 3, 4, 5), (2, 3, 5, 6), (6,)]),
    ("ab,b,ac->bc", [(3, 4), (4,), (3, 5)]),
    ("ij,jk,kl", [(3, 4), (4, 5), (5, 2)]),
    ("abc,cd,ad->b", [(2, 3, 4), (4, 5), (2, 5)]),
]


def main():
    folder, targets = sys.argv[1], sys.argv[2:]
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(3)
    failed = 0
    for case, (equation, shapes) in enumerate(CASES):
        names = [f"x{i}" for i in range(len(shapes))]
        arrays = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
        graph = helper.make_graph(
            [helper.make_node("Einsum", names, ["y"], equation=equation)], "einsum",
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(s))
             for n, s in zip(names, shapes)],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        expected = np.einsum(equation, *[a.astype(np.float64) for a in arrays])
        graph.output[0].CopyFrom(helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, list(np.shape(expected))))
        base = os.path.join(folder, f"case{case}")
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        onnx.checker.check_model(model)
        onnx.save(model, base + ".onnx")
        for name, array in zip(names, arrays):
            np.save(f"{base}-{name}.npy", array)
        np.save(base + "-y.npy", np.asarray(expected, dtype=np.float32))
        for target in targets:
            rtol, atol = TOLERANCE[target]
            problem = llmrun.check(base + ".onnx", target,
                                   {name: f"{base}-{name}.npy" for name in names},
                                   {"y": base + "-y.npy"}, rtol, atol)
            if problem:
                failed += 1
                print(f"FAIL case{case} '{equation}' on {target}: {problem}")
    print(f"einsum: {len(CASES)} cases x {len(targets)} targets, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
