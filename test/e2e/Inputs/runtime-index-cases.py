#!/usr/bin/env python3
"""ScatterND, ScatterElements and GatherND whose indices are graph inputs
of a compiled artifact (llm-compile knows no input values, so the indices
are run-time data, as a KV-cache write at a position input), against
numpy's reading of the ONNX spec: random cases with negative indices, every
scatter reduction (duplicates only with a reduction, where ONNX defines
them) and GatherND's batch_dims.

    runtime-index-cases.py DIR TARGET [TARGET ...]

Prints one line per mismatch and `runtime indices: N cases x M targets, F
failed`; exits 1 if one failed.
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

REDUCE = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}


def scatter_nd(data, indices, updates, reduction):
    out = data.copy()
    depth = indices.shape[-1]
    for tup, upd in zip(indices.reshape(-1, depth), updates.reshape((-1,) + data.shape[depth:])):
        at = tuple(int(i) for i in tup)
        out[at] = upd if reduction == "none" else REDUCE[reduction](out[at], upd)
    return out


def scatter_elements(data, indices, updates, axis, reduction):
    out = data.copy()
    for pos in np.ndindex(*indices.shape):
        target = list(pos)
        target[axis] = int(indices[pos])
        target = tuple(target)
        value = updates[pos]
        out[target] = value if reduction == "none" else REDUCE[reduction](out[target], value)
    return out


def gather_nd(data, indices, batch_dims):
    batch_shape = data.shape[:batch_dims]
    out = []
    for b in np.ndindex(*batch_shape):
        for tup in indices[b].reshape(-1, indices.shape[-1]):
            out.append(data[b][tuple(int(i) for i in tup)])
    return np.array(out).reshape(indices.shape[:-1] + data.shape[batch_dims + indices.shape[-1]:])


def cases(rng):
    made = []
    for batch_dims in (0, 1):
        data = rng.standard_normal((3, 4, 5)).astype(np.float32)
        depth = 2 - batch_dims
        tuples = np.stack([rng.integers(0, d, size=(3, 2)) for d in data.shape[batch_dims:batch_dims + depth]], -1)
        spelled = np.where(rng.integers(0, 2, size=tuples.shape).astype(bool),
                           tuples - np.array(data.shape[batch_dims:batch_dims + depth]),
                           tuples).astype(np.int64)
        # GatherND has no updates; its expected output comes last as for the others.
        made.append(("GatherND", {"batch_dims": batch_dims}, data, spelled, None,
                     gather_nd(data, tuples, batch_dims)))
    # A KV-cache write: rows [batch, head, position] of a [1, 2, 8, 4] cache.
    cache = rng.standard_normal((1, 2, 8, 4)).astype(np.float32)
    position = 5
    indices = np.array([[[[0, h, position]] for h in range(2)]], np.int64)  # [1, 2, 1, 3]
    new = rng.standard_normal((1, 2, 1, 4)).astype(np.float32)
    made.append(("ScatterND", {}, cache, indices, new,
                 scatter_nd(cache, indices, new, "none")))
    for case in range(8):
        reduction = ["none", "add", "mul", "max", "min"][case % 5]
        shape = [int(v) for v in rng.integers(2, 6, size=2 + case % 2)]
        data = rng.integers(-4, 5, size=shape).astype(np.float32)
        if case % 2 == 0:
            depth = 1 + case % len(shape)
            count = int(rng.integers(1, 4))
            if reduction == "none":
                flat = rng.choice(int(np.prod(shape[:depth])), size=min(count, int(np.prod(shape[:depth]))), replace=False)
                tuples = np.stack(np.unravel_index(flat, shape[:depth]), -1)
            else:
                tuples = np.stack([rng.integers(0, d, size=count) for d in shape[:depth]], -1)
            # Negative spellings of the same positions.
            negative = rng.integers(0, 2, size=tuples.shape).astype(bool)
            spelled = np.where(negative, tuples - np.array(shape[:depth]), tuples).astype(np.int64)
            updates = rng.integers(-4, 5, size=(len(tuples),) + tuple(shape[depth:])).astype(np.float32)
            made.append(("ScatterND", {"reduction": reduction}, data, spelled, updates,
                         scatter_nd(data, tuples, updates, reduction)))
        else:
            axis = int(rng.integers(0, len(shape)))
            index_shape = list(shape)
            index_shape[axis] = int(rng.integers(1, shape[axis] + 1))
            if reduction == "none":
                # Distinct targets along the axis for each position beside it.
                order = np.argsort(rng.random(index_shape[:axis] + [shape[axis]] + index_shape[axis + 1:]), axis=axis)
                indices = np.take(order, np.arange(index_shape[axis]), axis=axis)
            else:
                indices = rng.integers(0, shape[axis], size=index_shape)
            spelled = np.where(rng.integers(0, 2, size=indices.shape).astype(bool),
                               indices - shape[axis], indices).astype(np.int64)
            updates = rng.integers(-4, 5, size=index_shape).astype(np.float32)
            made.append(("ScatterElements", {"reduction": reduction, "axis": axis}, data,
                         spelled, updates,
                         scatter_elements(data, indices, updates, axis, reduction)))
    return made


def main():
    folder, targets = sys.argv[1], sys.argv[2:]
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(11)
    failed = 0
    made = cases(rng)
    for number, (op, attrs, data, indices, updates, expected) in enumerate(made):
        base = os.path.join(folder, f"case{number}")
        inputs = [("data", data), ("indices", indices)]
        if updates is not None:
            inputs.append(("updates", updates))
        graph = helper.make_graph(
            [helper.make_node(op, [name for name, _ in inputs], ["y"], **attrs)], "index",
            [helper.make_tensor_value_info(
                name, TensorProto.INT64 if array.dtype == np.int64 else TensorProto.FLOAT,
                list(array.shape)) for name, array in inputs],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(expected.shape))])
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]),
                  base + ".onnx")
        arguments = []
        for name, array in inputs:
            np.save(f"{base}-{name}.npy", array)
            arguments += ["--input", f"{name}={base}-{name}.npy"]
        for target in targets:
            artifact = f"{base}-{target}"
            compile_run = subprocess.run(["llm-compile", base + ".onnx", "--target", target,
                                          "-o", artifact], capture_output=True, text=True)
            run = compile_run if compile_run.returncode else subprocess.run(
                ["llm-run", artifact, "--target", target, "--output-dir", artifact + "/out"] +
                arguments +
                (["--emulate-gpu"] if target == "ptx" else []), capture_output=True, text=True)
            if run.returncode:
                print(f"case {number} ({op} {attrs}) {target}: {run.stderr.strip()[-300:]}")
                failed += 1
                continue
            got = np.load(artifact + "/out/y.npy")
            if not np.array_equal(got, expected):
                print(f"case {number} ({op} {attrs}) {target}: mismatch")
                failed += 1
    print(f"runtime indices: {len(made)} cases x {len(targets)} targets, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
