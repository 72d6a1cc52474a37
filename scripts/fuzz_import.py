#!/usr/bin/env python3
"""Mutation fuzzing of the ONNX importer (and optionally one target's
compiler and runner): every case is a seed model with 1 to 3 structural
mutations, run through `llm-translate --import-onnx` (and, with --target,
through `llm-compile` when it imports, and with --run through `llm-run`
on the artifact with random inputs of its signature: integers in [0, 4),
or in an index input's range, floats in [-2, 2)). Bad input must give exit
1 or 2 with an error line, never a crash, a timeout, an assertion or a
stack dump.

    /usr/bin/python3 scripts/fuzz_import.py SEED.onnx [SEED.onnx ...]
        [--cases 300] [--seed 0] [--target host|ptx|hls|npu] [--run]
        [--keep DIR] [--tools build/bin]

Mutations: an int or ints attribute set to an edge value (0, -1, 7,
10^6, -2^40, ...), an op type replaced by another the importer knows, an
input dropped or blanked, two inputs swapped, a graph input's dim or an
initializer's dim changed, a bogus attribute added, the default opset
changed (1 to 25). Prints one line per bad case (the case is kept in
--keep) and `fuzz-import: N cases, B bad, I imported, C compiled, R ran`;
exits 1 if a case was bad, 2 on bad usage. (ptx runs on the GPU emulator.)
"""
import argparse
import copy
import os
import random
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS = ["MatMul", "Add", "Softmax", "Reshape", "Transpose", "Gather", "Slice", "Concat",
       "Scan", "Loop", "If", "MaxPool", "MaxUnpool", "Compress", "LayerNormalization",
       "Split", "Where", "Expand", "Attention", "Conv", "Resize", "TopK", "CumSum",
       "Einsum", "PRelu", "GRU", "LSTM", "Upsample", "Squeeze", "ReduceSum", "Pad"]
EDGE_INTS = [-5, -1, 0, 1, 2, 3, 7, 1000000, -(2 ** 40)]
BOGUS_ATTRS = ["axis", "axes", "perm", "num_scan_inputs", "kernel_shape", "storage_order",
               "to", "k", "group", "num_heads"]
CRASH_MARKS = ("Assertion", "Stack dump", "PLEASE submit", "Segmentation fault", "terminate called")


def nodes_of(graph, found):
    for node in graph.node:
        found.append(node)
        for attr in node.attribute:
            if attr.HasField("g"):
                nodes_of(attr.g, found)
    return found


def mutate(model, rng):
    from onnx import AttributeProto, helper

    graph = model.graph
    nodes = nodes_of(graph, [])
    kind = rng.randrange(8)
    if kind == 0 and nodes:
        node = rng.choice(nodes)
        ints = [a for a in node.attribute
                if a.type in (AttributeProto.INT, AttributeProto.INTS)]
        if ints:
            attr, value = rng.choice(ints), rng.choice(EDGE_INTS)
            if attr.type == AttributeProto.INT:
                attr.i = value
            elif attr.ints:
                attr.ints[rng.randrange(len(attr.ints))] = value
            else:
                attr.ints.append(value)
    elif kind == 1 and nodes:
        rng.choice(nodes).op_type = rng.choice(OPS)
    elif kind == 2 and nodes:
        node = rng.choice(nodes)
        if node.input:
            i = rng.randrange(len(node.input))
            if rng.random() < 0.5:
                node.input[i] = ""
            else:
                del node.input[i]
    elif kind == 3 and graph.input:
        shape = rng.choice(graph.input).type.tensor_type.shape
        if shape.dim:
            rng.choice(shape.dim).dim_value = rng.choice([0, 1, 2, 3, 5, 17])
    elif kind == 4 and graph.initializer:
        tensor = rng.choice(graph.initializer)
        if tensor.dims:
            tensor.dims[rng.randrange(len(tensor.dims))] = rng.choice([0, 1, 2, 3, 100])
    elif kind == 5 and nodes:
        rng.choice(nodes).attribute.append(helper.make_attribute(
            rng.choice(BOGUS_ATTRS), rng.choice([1, -3, 9, [0, 5], [2]])))
    elif kind == 6 and nodes:
        node = rng.choice(nodes)
        if len(node.input) >= 2:
            i, j = rng.sample(range(len(node.input)), 2)
            node.input[i], node.input[j] = node.input[j], node.input[i]
    elif kind == 7:
        for entry in model.opset_import:
            if entry.domain in ("", "ai.onnx"):
                entry.version = rng.choice([1, 6, 8, 9, 11, 13, 17, 18, 21, 23, 24, 25])


def verdict(done):
    """None if the run ended as bad input should, else why not."""
    lines = done.stderr.strip().splitlines()
    if done.returncode < 0:
        return f"crashed (signal {-done.returncode})"
    if done.returncode not in (0, 1, 2):
        return f"exit {done.returncode}"
    if any(mark in line for line in lines for mark in CRASH_MARKS):
        return "an assertion or crash report"
    if done.returncode and not any("error" in line for line in lines):
        return f"exit {done.returncode} without an error line"
    return None


def random_inputs(artifact, folder, rng):
    """--input flags for random arrays of the artifact's signature."""
    import json

    import numpy as np

    with open(os.path.join(artifact, "manifest.json")) as f:
        inputs = json.load(f)["signature"]["inputs"]
    generator = np.random.default_rng(rng.randrange(2 ** 32))
    flags = []
    for spec in inputs:
        shape, dtype = spec["shape"], spec["dtype"]
        if dtype.startswith("f") or dtype == "bf16":
            array = generator.uniform(-2, 2, shape).astype(np.float32)
            if dtype in ("f16", "f64"):
                array = array.astype({"f16": np.float16, "f64": np.float64}[dtype])
        elif dtype == "i1":
            array = generator.integers(0, 2, shape).astype(bool)
        else:
            high = spec.get("index_bound") or 4
            array = generator.integers(0, high, shape).astype(
                {"i64": np.int64, "i32": np.int32, "i16": np.int16, "i8": np.int8,
                 "u8": np.uint8}[dtype])
        path = os.path.join(folder, spec["name"].replace("/", "_") + ".npy")
        np.save(path, array)
        flags += ["--input", f"{spec['name']}={path}"]
    return flags


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seeds", nargs="+", help="seed ONNX models")
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", choices=["host", "ptx", "hls", "npu"])
    parser.add_argument("--run", action="store_true",
                        help="run what compiles with random inputs (needs --target)")
    parser.add_argument("--keep", help="folder for the bad cases (default: none kept)")
    parser.add_argument("--tools", default=os.path.join(ROOT, "build", "bin"))
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    if args.run and not args.target:
        parser.error("--run needs --target")
    import onnx

    models = []
    for path in args.seeds:
        try:
            models.append(onnx.load(path))
        except Exception as e:  # noqa: BLE001 - any load failure is a usage error
            print(f"fuzz-import: error: {path}: {e}", file=sys.stderr)
            return 2
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="fuzz-import-")
    bad = imported = compiled = ran = 0
    try:
        for case in range(args.cases):
            index = rng.randrange(len(models))
            model = copy.deepcopy(models[index])
            for _ in range(rng.randint(1, 3)):
                mutate(model, rng)
            path = os.path.join(work, "case.onnx")
            try:
                with open(path, "wb") as f:
                    f.write(model.SerializeToString())
            except Exception:  # noqa: BLE001 - a mutation protobuf refuses
                continue
            shutil.rmtree(os.path.join(work, "artifact"), ignore_errors=True)
            commands = [[os.path.join(args.tools, "llm-translate"), "--import-onnx", path,
                         "-o", os.devnull]]
            if args.target:
                commands.append([os.path.join(args.tools, "llm-compile"), path, "--target",
                                 args.target, "-o", os.path.join(work, "artifact")] +
                                (["--quant", "int8"] if args.target == "npu" else []))
            for step, command in enumerate(commands + ([None] if args.run else [])):
                if command is None:
                    artifact = os.path.join(work, "artifact")
                    inputs = os.path.join(work, "inputs")
                    shutil.rmtree(inputs, ignore_errors=True)
                    os.makedirs(inputs)
                    command = [os.path.join(args.tools, "llm-run"), artifact, "--target",
                               args.target, "--output-dir", os.path.join(work, "out")]
                    command += random_inputs(artifact, inputs, rng)
                    if args.target == "ptx":
                        command.append("--emulate-gpu")
                try:
                    done = subprocess.run(command, capture_output=True, text=True,
                                          errors="replace", timeout=args.timeout)
                    why = verdict(done)
                except subprocess.TimeoutExpired:
                    done, why = None, f"timed out after {args.timeout:g} s"
                if why:
                    bad += 1
                    tail = " | ".join(done.stderr.strip().splitlines()[-2:]) if done else ""
                    print(f"BAD case {case} (seed {os.path.basename(args.seeds[index])}, "
                          f"{os.path.basename(command[0])}): {why}: {tail[:300]}")
                    if args.keep:
                        os.makedirs(args.keep, exist_ok=True)
                        shutil.copy(path, os.path.join(args.keep, f"case-{case}.onnx"))
                    break
                if done.returncode:
                    break
                if step == 0:
                    imported += 1
                elif step == 1:
                    compiled += 1
                else:
                    ran += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"fuzz-import: {args.cases} cases, {bad} bad, {imported} imported, "
          f"{compiled} compiled, {ran} ran")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
