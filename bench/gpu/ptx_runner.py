#!/usr/bin/env python3
"""Runs a ptx artifact (llm-compile --target ptx) on a GPU from Python, with
no LLVM or MLIR: the artifact's manifest holds the whole launch plan (buffer
table, every launch with its arguments, the outputs), model.ptx the kernels,
weights.bin and constants.bin the initial bytes. CuPy loads the PTX and
launches the plan, as a CUDA graph when stream capture works.

    ptx_runner.py ART [--input NAME=FILE.npy ...] [--random-inputs]
        [--random-weights] [--expect NAME=FILE.npy ...] [--rtol R] [--atol A]
        [--repeats N] [--output-dir DIR] [--json FILE] [--dry-run]

It is how a GPU machine without the llmc toolchain runs what this machine
compiled (bench/gpu/bench_gpu.py --prepare here, --run there). --dry-run
checks the artifact without a GPU: every launched kernel is in the PTX with
as many parameters as its launch passes, and the buffers match the
signature, weights and constants.

Prints the device time of one forward (CUDA events around the replayed
plan, best and median of --repeats after a warm-up) and, with --expect,
"output 'NAME' matches FILE" or a mismatch; exit 1 on a mismatch, 2 on a bad
artifact or when no GPU can run it.
"""
import argparse
import json
import os
import re
import sys

import numpy as np

DTYPES = {"f32": np.float32, "f64": np.float64, "f16": np.float16,
          "i64": np.int64, "i32": np.int32, "i16": np.int16, "i8": np.int8,
          "u8": np.uint8, "i1": np.bool_, "bf16": np.uint16}


class ArtifactError(Exception):
    pass


class Plan:
    """The launch plan of an artifact folder."""

    def __init__(self, folder):
        self.folder = folder
        path = os.path.join(folder, "manifest.json")
        try:
            with open(path) as f:
                self.manifest = json.load(f)
        except (OSError, ValueError) as error:
            raise ArtifactError(f"{path}: {error}")
        m = self.manifest
        if m.get("target") != "ptx":
            raise ArtifactError(f"{path}: the artifact is for target "
                                f"'{m.get('target')}', not 'ptx'")
        plan = m.get("launch_plan", {})
        if "buffer_table" not in plan:
            raise ArtifactError(f"{path}: no buffer table in the launch plan "
                                "(compiled by an older llm-compile)")
        self.buffers = plan["buffer_table"]
        self.calls = plan["calls"]
        self.outputs = plan["outputs"]
        self.signature = m["signature"]
        self.weights = m.get("weights", [])
        self.ptx_path = os.path.join(folder, m.get("ptx", "model.ptx"))
        self.weights_path = os.path.join(folder, m.get("weights_file", "weights.bin"))
        self.constants_path = (os.path.join(folder, m["constants_file"])
                               if "constants_file" in m else None)

    def ptx_params(self):
        """Kernel name -> parameter declarations, read off the PTX."""
        try:
            with open(self.ptx_path) as f:
                text = f.read()
        except OSError as error:
            raise ArtifactError(f"{self.ptx_path}: {error}")
        kernels = {}
        for match in re.finditer(r"\.entry\s+(\w+)\s*\((.*?)\)", text, re.S):
            params = [p.strip() for p in match.group(2).split(",") if p.strip()]
            kernels[match.group(1)] = params
        return kernels

    def check(self, need_weights=True):
        """Raises ArtifactError if the plan does not fit its files."""
        kernels = self.ptx_params()
        for i, call in enumerate(self.calls):
            params = kernels.get(call["kernel"])
            if params is None:
                raise ArtifactError(f"launch {i}: kernel {call['kernel']} is "
                                    "not in the PTX")
            if len(params) != len(call["args"]):
                raise ArtifactError(f"launch {i} ({call['kernel']}): "
                                    f"{len(call['args'])} arguments for "
                                    f"{len(params)} parameters")
            for arg in call["args"]:
                kind, _, value = arg.partition(":")
                if kind == "buffer" and not 0 <= int(value) < len(self.buffers):
                    raise ArtifactError(f"launch {i}: no buffer {value}")
        for i, buffer in enumerate(self.buffers):
            kind = buffer["kind"]
            if kind == "input":
                spec = self.signature["inputs"][buffer["index"]]
                if nbytes(spec) != buffer["bytes"]:
                    raise ArtifactError(f"buffer {i}: input '{spec['name']}' "
                                        f"has {nbytes(spec)} bytes, the "
                                        f"buffer {buffer['bytes']}")
            elif kind == "weight":
                entry = self.weights[buffer["index"]]
                expected = entry["bytes"] // 2 if buffer.get("format") == "bf16" else entry["bytes"]
                if expected != buffer["bytes"]:
                    raise ArtifactError(f"buffer {i}: weight '{entry.get('name')}' has "
                                        f"{entry['bytes']} bytes, the "
                                        f"{buffer.get('format', 'f32')} buffer "
                                        f"{buffer['bytes']}")
        if need_weights and self.weights:
            size = os.path.getsize(self.weights_path) if os.path.exists(self.weights_path) else -1
            end = max(w["offset"] + w["bytes"] for w in self.weights)
            if size < end:
                raise ArtifactError(f"{self.weights_path}: {size} bytes, the "
                                    f"weights need {end} (--random-weights "
                                    "runs without them)")
        constants = sum(b["bytes"] for b in self.buffers if b["kind"] == "constant")
        if constants:
            size = (os.path.getsize(self.constants_path)
                    if self.constants_path and os.path.exists(self.constants_path) else -1)
            if size != constants:
                raise ArtifactError(f"constants file: {size} bytes, the plan's "
                                    f"constants {constants}")


def to_bf16(values):
    """float32 -> bf16 bits (uint16), rounded to nearest even."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    rounded[np.isnan(values)] = 0x7FC0
    return rounded


def from_bf16(bits):
    """bf16 bits (uint16) -> float32, exactly."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def input_bytes(spec, value):
    """The bytes of input `spec` from the array `value`: floats for a bf16
    or f16 input are rounded to it (as llm-run's --input does); bf16 bits
    (uint16) and every other type are taken as they are."""
    value = np.asarray(value)
    if spec["dtype"] == "bf16" and value.dtype != np.uint16:
        value = to_bf16(value.astype(np.float32))
    elif spec["dtype"] == "f16" and value.dtype != np.float16:
        value = value.astype(np.float16)
    return np.ascontiguousarray(value).view(np.uint8).reshape(-1)


def nbytes(spec):
    size = np.dtype(DTYPES[spec["dtype"]]).itemsize
    for dim in spec["shape"]:
        size *= dim
    return size


def read_binding(text):
    name, _, path = text.partition("=")
    if not path:
        raise ArtifactError(f"'{text}': expected NAME=FILE.npy")
    return name, np.load(path)


class Runner:
    """The plan on device 0 through CuPy."""

    def __init__(self, plan, random_weights=False, seed=0):
        import cupy as cp
        self.cp = cp
        self.plan = plan
        self.module = cp.RawModule(path=plan.ptx_path)
        self.functions = [self.module.get_function(c["kernel"]) for c in plan.calls]
        # Tiles past 48 KiB come from dynamic shared memory: the launch
        # passes its size, and the kernel opts in to it above 48 KiB.
        for call, function in zip(plan.calls, self.functions):
            shared = call.get("shared_bytes", 0)
            if shared > 48 * 1024:
                function.max_dynamic_shared_size_bytes = shared
        rng = cp.random.RandomState(seed)
        weights_blob = None
        if plan.weights and not random_weights:
            weights_blob = np.fromfile(plan.weights_path, dtype=np.uint8)
        constants_blob = (np.fromfile(plan.constants_path, dtype=np.uint8)
                          if plan.constants_path else None)
        self.buffers = []
        for buffer in plan.buffers:
            size = max(buffer["bytes"], 4)
            device = cp.empty(size, dtype=cp.uint8)
            if buffer["kind"] == "weight":
                # f32 values, uploaded as they are or rounded to bf16 (a
                # buffer of format bf16, which tensor-core kernels read).
                entry = plan.weights[buffer["index"]]
                spec = plan.signature["weights"][buffer["index"]]
                bf16 = buffer.get("format") == "bf16"
                if weights_blob is not None:
                    raw = weights_blob[entry["offset"]:entry["offset"] + entry["bytes"]]
                    if bf16:
                        raw = to_bf16(raw.view(np.float32)).view(np.uint8)
                    device[:buffer["bytes"]] = cp.asarray(raw)
                elif spec["dtype"] == "f32":
                    # Timing only: values like a trained layer's (std 0.02).
                    values = rng.standard_normal(entry["bytes"] // 4, dtype=cp.float32) * 0.02
                    if bf16:  # truncated, not rounded: random all the same
                        values = values.view(cp.uint16)[1::2].copy()
                    device[:buffer["bytes"]] = values.view(cp.uint8)
                elif spec["dtype"] == "f16":
                    values = (rng.standard_normal(entry["bytes"] // 2, dtype=cp.float32)
                              * 0.02).astype(cp.float16)
                    device[:buffer["bytes"]] = values.view(cp.uint8)
                else:
                    device[:buffer["bytes"]] = 0
            elif buffer["kind"] == "constant":
                start = buffer["offset"]
                device[:buffer["bytes"]] = cp.asarray(
                    constants_blob[start:start + buffer["bytes"]])
            self.buffers.append(device)
        self.args = []
        for call in plan.calls:
            args = []
            for arg in call["args"]:
                kind, _, value = arg.partition(":")
                if kind == "buffer":
                    args.append(self.buffers[int(value)])
                elif kind == "i64":
                    args.append(np.int64(int(value)))
                elif kind == "i32":
                    args.append(np.int32(int(value)))
                else:
                    args.append(np.float32(float(value)))
            self.args.append(tuple(args))
        self.stream = cp.cuda.Stream(non_blocking=True)
        self.graph = None

    def set_inputs(self, inputs):
        cp = self.cp
        for i, buffer in enumerate(self.plan.buffers):
            if buffer["kind"] != "input":
                continue
            spec = self.plan.signature["inputs"][buffer["index"]]
            raw = input_bytes(spec, inputs[spec["name"]])
            if raw.size != buffer["bytes"]:
                raise ArtifactError(f"input '{spec['name']}' has {raw.size} "
                                    f"bytes, its buffer {buffer['bytes']}")
            self.buffers[i][:raw.size] = cp.asarray(raw)

    def launch_all(self):
        for call, function, args in zip(self.plan.calls, self.functions, self.args):
            function(tuple(call["grid"]), tuple(call["block"]), args,
                     shared_mem=call.get("shared_bytes", 0))

    def forward(self):
        with self.stream:
            if self.graph is not None:
                self.graph.launch(self.stream)
            else:
                self.launch_all()

    def capture(self):
        """Captures the launches as a CUDA graph; launches stay direct if
        capture is not available."""
        # One direct forward first: it loads the module and each kernel,
        # which a stream being captured must not do.
        self.forward()
        self.stream.synchronize()
        try:
            with self.stream:
                self.stream.begin_capture()
                self.launch_all()
                self.graph = self.stream.end_capture()
        except Exception as error:  # CuPy without graph support
            try:
                self.stream.end_capture()
            except Exception:  # noqa: BLE001 (the capture had not begun)
                pass
            print(f"ptx_runner: launching without a CUDA graph ({error})", file=sys.stderr)
            self.graph = None

    def time(self, repeats):
        cp = self.cp
        self.forward()  # warm-up
        self.stream.synchronize()
        times = []
        for _ in range(repeats):
            start, stop = cp.cuda.Event(), cp.cuda.Event()
            start.record(self.stream)
            self.forward()
            stop.record(self.stream)
            stop.synchronize()
            times.append(cp.cuda.get_elapsed_time(start, stop) * 1e-3)
        return times

    def outputs(self):
        result = {}
        for spec, buffer in zip(self.plan.signature["outputs"], self.plan.outputs):
            count = nbytes(spec)
            raw = self.cp.asnumpy(self.buffers[buffer][:count])
            value = raw.view(DTYPES[spec["dtype"]])
            if spec["dtype"] == "bf16":  # widened, exactly, to float32
                value = from_bf16(value)
            result[spec["name"]] = value.reshape(spec["shape"])
        return result


def random_inputs(plan, seed=0):
    rng = np.random.default_rng(seed)
    inputs = {}
    for spec in plan.signature["inputs"]:
        dtype = DTYPES[spec["dtype"]]
        if spec["dtype"] == "bf16":
            inputs[spec["name"]] = to_bf16(
                rng.standard_normal(spec["shape"]).astype(np.float32))
        elif np.issubdtype(dtype, np.integer):
            inputs[spec["name"]] = rng.integers(0, 100, spec["shape"]).astype(dtype)
        elif dtype == np.bool_:
            inputs[spec["name"]] = np.ones(spec["shape"], dtype=dtype)
        else:
            inputs[spec["name"]] = rng.standard_normal(spec["shape"]).astype(dtype)
    return inputs


def run(args):
    plan = Plan(args.artifact)
    plan.check(need_weights=not args.random_weights)
    if args.dry_run:
        kinds = {}
        for buffer in plan.buffers:
            kinds[buffer["kind"]] = kinds.get(buffer["kind"], 0) + 1
        print(f"ptx_runner: {args.artifact}: {len(plan.calls)} launches of "
              f"{len(set(c['kernel'] for c in plan.calls))} kernels, "
              + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
              + " buffers; the plan matches its files")
        return 0
    try:
        import cupy  # noqa: F401
        cupy.cuda.runtime.getDeviceCount()
    except Exception as error:
        print(f"ptx_runner: error: no GPU to run on: {error}", file=sys.stderr)
        return 2
    inputs = dict(read_binding(b) for b in args.input)
    if args.random_inputs:
        for name, value in random_inputs(plan).items():
            inputs.setdefault(name, value)
    missing = [s["name"] for s in plan.signature["inputs"] if s["name"] not in inputs]
    if missing:
        raise ArtifactError("no value for input " + ", ".join(f"'{n}'" for n in missing))
    runner = Runner(plan, random_weights=args.random_weights)
    runner.set_inputs(inputs)
    runner.capture()
    times = runner.time(args.repeats)
    outputs = runner.outputs()
    best, median = min(times), sorted(times)[len(times) // 2]
    print(f"ptx_runner: {args.artifact}: forward {best * 1e3:.4f} ms best, "
          f"{median * 1e3:.4f} ms median of {len(times)}"
          f"{'' if runner.graph is not None else ' (no CUDA graph)'}")
    status = 0
    for name, path in (b.partition("=")[::2] for b in args.expect):
        expected = np.load(path)
        got = outputs.get(name)
        if got is None:
            raise ArtifactError(f"no output '{name}'")
        close = np.isclose(got, expected, rtol=args.rtol, atol=args.atol)
        if got.shape == expected.shape and close.all():
            print(f"output '{name}' matches {path} (rtol {args.rtol}, atol {args.atol})")
        else:
            bad = int((~close).sum()) if got.shape == expected.shape else got.size
            worst = float(np.nanmax(np.abs(got.astype(np.float64) - expected))) \
                if got.shape == expected.shape else float("nan")
            print(f"check failed: output '{name}': {bad} of {got.size} elements "
                  f"differ, max |diff| {worst:.4g}")
            status = 1
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
        for name, value in outputs.items():
            np.save(os.path.join(args.output_dir, name + ".npy"), value)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device_s": best, "median_s": median, "times_s": times,
                       "cuda_graph": runner.graph is not None}, f, indent=2)
    return status


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact")
    parser.add_argument("--input", action="append", default=[])
    parser.add_argument("--expect", action="append", default=[])
    parser.add_argument("--random-inputs", action="store_true")
    parser.add_argument("--random-weights", action="store_true",
                        help="fill the weights randomly (for timing an artifact "
                        "saved without weights.bin)")
    parser.add_argument("--rtol", type=float, default=1e-5)
    parser.add_argument("--atol", type=float, default=1e-6)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--output-dir")
    parser.add_argument("--json")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    try:
        return run(args)
    except ArtifactError as error:
        print(f"ptx_runner: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
