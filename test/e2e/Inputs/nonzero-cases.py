#!/usr/bin/env python3
"""Runs NonZero of run-time masks through llm-run and compares with numpy:
the rows NonZero picks are gathered, computed row by row and scattered back
in three forms, each with masks of every density (none, some, all
positions nonzero):

  index-add   torch's index_add_ as Hugging Face's eager mixture of experts
              exports it: NonZero of a bool [k, T] mask, Transpose, Split,
              Squeeze; the tokens' rows gathered, MatMul, Relu, times a
              weight gathered at t * k + j; ScatterElements into zeros, Add.
  copy        ScatterElements without reduction into run-time data (rows
              replaced by their LayerNormalization).
  nd-add      ScatterND with reduction add of the rows' Softmax.

    nonzero-cases.py DIR [--density D] TARGET [TARGET ...]

--density runs only the masks of that density (of 0, 0.5 and 1).

Prints one line per mismatch and `nonzero: N cases x M targets, F failed`;
exits 1 if one failed. Each case runs twice per target: compiled by
llm-compile, which does not know the mask (NonZero padded to every
position), and by llm-run from the model, which knows small inputs' values
(NonZero exact).
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

T, K, D, F = 5, 2, 6, 8


def ints(name, values):
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def index_add(rng, density):
    # At most one choice per token, as a router's top k has each expert once.
    mask = np.zeros((K, T), bool)
    for t in range(T):
        if rng.random() < density:
            mask[rng.integers(K), t] = True
    x = rng.standard_normal((T, D)).astype(np.float32)
    w = rng.standard_normal((D, F)).astype(np.float32)
    gates = rng.random((T, K)).astype(np.float32)
    base = rng.standard_normal((T, F)).astype(np.float32)
    nodes = [
        helper.make_node("NonZero", ["m"], ["nz"]),
        helper.make_node("Transpose", ["nz"], ["pairs"], perm=[1, 0]),
        helper.make_node("Split", ["pairs", "halves"], ["j2", "t2"], axis=1),
        helper.make_node("Squeeze", ["j2", "one"], ["j"]),
        helper.make_node("Squeeze", ["t2", "one"], ["t"]),
        helper.make_node("Unsqueeze", ["x", "zero"], ["x3"]),
        helper.make_node("Gather", ["x3", "t"], ["rows3"], axis=1),
        helper.make_node("Reshape", ["rows3", "flat"], ["rows"]),
        helper.make_node("MatMul", ["rows", "w"], ["h"]),
        helper.make_node("Relu", ["h"], ["a"]),
        helper.make_node("Mul", ["t", "k"], ["tk"]),
        helper.make_node("Add", ["tk", "j"], ["at"]),
        helper.make_node("Reshape", ["gates", "column"], ["gcol"]),
        helper.make_node("Gather", ["gcol", "at"], ["g"], axis=0),
        helper.make_node("Mul", ["a", "g"], ["upd"]),
        helper.make_node("Unsqueeze", ["t", "one"], ["tcol"]),
        helper.make_node("Shape", ["upd"], ["ushape"]),
        helper.make_node("Expand", ["tcol", "ushape"], ["index"]),
        helper.make_node("ScatterElements", ["zeros", "index", "upd"], ["added"], axis=0),
        helper.make_node("Add", ["base", "added"], ["y"]),
    ]
    inits = [ints("halves", [1, 1]), ints("one", [1]), ints("zero", [0]),
             ints("flat", [-1, D]), ints("column", [-1, 1]),
             helper.make_tensor("k", TensorProto.INT64, [], [K]),
             helper.make_tensor("zeros", TensorProto.FLOAT, [T, F], [0.0] * (T * F))]
    inputs = {"m": mask, "x": x, "w": w, "gates": gates, "base": base}
    expected = base.copy()
    for j, t in zip(*np.nonzero(mask)):
        expected[t] += np.maximum(x[t] @ w, 0) * gates[t, j]
    return nodes, inits, inputs, expected


def copy(rng, density):
    mask = (rng.random(T) < density) * rng.standard_normal(T)
    mask = mask.astype(np.float32)
    x = rng.standard_normal((T, D)).astype(np.float32)
    data = rng.standard_normal((T, D)).astype(np.float32)
    scale = rng.standard_normal(D).astype(np.float32)
    nodes = [
        helper.make_node("NonZero", ["m"], ["nz"]),
        helper.make_node("Squeeze", ["nz", "zero"], ["t"]),
        helper.make_node("Gather", ["x", "t"], ["rows"], axis=0),
        helper.make_node("LayerNormalization", ["rows", "scale"], ["upd"], axis=-1,
                         epsilon=1e-5),
        helper.make_node("Unsqueeze", ["t", "one"], ["tcol"]),
        helper.make_node("Shape", ["upd"], ["ushape"]),
        helper.make_node("Expand", ["tcol", "ushape"], ["index"]),
        helper.make_node("ScatterElements", ["data", "index", "upd"], ["y"], axis=0),
    ]
    inits = [ints("one", [1]), ints("zero", [0])]
    inputs = {"m": mask, "x": x, "data": data, "scale": scale}
    expected = data.copy()
    for t in np.nonzero(mask)[0]:
        row = x[t]
        expected[t] = (row - row.mean()) / np.sqrt(row.var() + 1e-5) * scale
    return nodes, inits, inputs, expected


def nd_add(rng, density):
    mask = ((rng.random(T) < density) * rng.integers(1, 4, T)).astype(np.int64)
    x = rng.standard_normal((T, D)).astype(np.float32)
    data = rng.standard_normal((T, D)).astype(np.float32)
    nodes = [
        helper.make_node("NonZero", ["m"], ["nz"]),
        helper.make_node("Transpose", ["nz"], ["index"], perm=[1, 0]),
        helper.make_node("Squeeze", ["nz", "zero"], ["t"]),
        helper.make_node("Gather", ["x", "t"], ["rows"], axis=0),
        helper.make_node("Softmax", ["rows"], ["upd"], axis=-1),
        helper.make_node("ScatterND", ["data", "index", "upd"], ["y"], reduction="add"),
    ]
    inits = [ints("zero", [0])]
    inputs = {"m": mask, "x": x, "data": data}
    expected = data.copy()
    for t in np.nonzero(mask)[0]:
        e = np.exp(x[t] - x[t].max())
        expected[t] += e / e.sum()
    return nodes, inits, inputs, expected


ONNX_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64,
              np.dtype(np.bool_): TensorProto.BOOL}


def main():
    folder, targets = sys.argv[1], sys.argv[2:]
    densities = (0.0, 0.5, 1.0)
    if targets[:1] == ["--density"]:
        densities, targets = (float(targets[1]),), targets[2:]
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(3)
    failed = cases = 0
    for form in (index_add, copy, nd_add):
        for density in (0.0, 0.5, 1.0):
            nodes, inits, inputs, expected = form(rng, density)
            if density not in densities:
                continue
            name = f"{form.__name__}-{density}"
            graph = helper.make_graph(
                nodes, name,
                [helper.make_tensor_value_info(n, ONNX_TYPES[a.dtype], a.shape)
                 for n, a in inputs.items()],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, expected.shape)], inits)
            base = os.path.join(folder, name)
            onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
                      base + ".onnx")
            np.save(base + "-y.npy", expected)
            command_inputs = []
            for n, a in inputs.items():
                np.save(f"{base}-{n}.npy", a)
                command_inputs += ["--input", f"{n}={base}-{n}.npy"]
            cases += 1
            for target in targets:
                # llm-compile does not know the mask: NonZero is padded.
                # llm-run on the model knows its small inputs' values: exact.
                artifact = f"{base}-{target}"
                compile = subprocess.run(["llm-compile", base + ".onnx", "--target", target,
                                          "-o", artifact], capture_output=True, text=True)
                if compile.returncode:
                    print(f"{name} {target}: {compile.stderr.strip()[-300:]}")
                    failed += 1
                    continue
                tolerance = "1e-2" if target == "ptx" else "1e-5"
                for model in (artifact, base + ".onnx"):
                    command = ["llm-run", model, "--target", target, *command_inputs,
                               "--expect", f"y={base}-y.npy", "--rtol", tolerance,
                               "--atol", tolerance]
                    if target == "ptx":
                        command.append("--emulate-gpu")
                    run = subprocess.run(command, capture_output=True, text=True)
                    if run.returncode:
                        print(f"{name} {target} {os.path.basename(model)}: "
                              f"{run.stderr.strip()[-300:]}")
                        failed += 1
    print(f"nonzero: {cases} cases x {len(targets)} targets, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
