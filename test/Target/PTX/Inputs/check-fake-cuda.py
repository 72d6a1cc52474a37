#!/usr/bin/env python3
"""Compares what the CUDA runner did through fake-libcuda.c (its log) with
the artifact's launch plan: every buffer allocated at its size, in order;
each weight and constant uploaded with the right bytes (a bf16 buffer holds
its f32 weight rounded to nearest even); the launches (captured into the
graph, or direct with --direct) exactly the plan's calls, arguments
included; every kernel with more than 48 KiB of dynamic shared memory opted
in; and the graph replayed --forwards times.

    check-fake-cuda.py ARTIFACT LOG [--direct] [--forwards N]

Prints one summary line and exits 0, or names the first difference and
exits 1.
"""
import argparse
import json
import os
import sys

import numpy as np


def fnv1a(data):
    h = 1469598103934665603
    for b in bytes(data):
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def to_bf16(values):
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def fail(message):
    print(f"check-fake-cuda: {message}")
    sys.exit(1)


def same_arg(planned, logged):
    kind, _, value = planned.partition(":")
    got_kind, _, got = logged.partition(":")
    if kind == "f32":
        return got_kind == "f32" and np.isclose(float(value), float(got), rtol=1e-6, atol=0)
    if kind == "i64" and got_kind == "i64":
        return int(value) == int(got)
    return planned == logged


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("artifact")
    parser.add_argument("log")
    parser.add_argument("--direct", action="store_true",
                        help="the launches ran directly (capture failed)")
    parser.add_argument("--forwards", type=int, default=2,
                        help="graph replays expected (warm-up included)")
    args = parser.parse_args()
    manifest = json.load(open(os.path.join(args.artifact, "manifest.json")))
    plan = manifest["launch_plan"]
    table, calls = plan["buffer_table"], plan["calls"]
    lines = open(args.log).read().splitlines()

    allocs = [ln.split() for ln in lines if ln.startswith("alloc ")]
    if len(allocs) != len(table):
        fail(f"{len(allocs)} allocations for {len(table)} buffers")
    for i, (alloc, buffer) in enumerate(zip(allocs, table)):
        if alloc[1] != f"buffer:{i}" or int(alloc[2]) != max(buffer["bytes"], 4):
            fail(f"allocation {' '.join(alloc)}: buffer {i} has {buffer['bytes']} bytes")

    uploads = {}
    for ln in lines:
        if ln.startswith("upload "):
            _, name, size, _, _, digest = ln.split()
            uploads.setdefault(name, []).append((int(size), digest))
    weights = signature = None
    weights_blob = constants_blob = None
    if os.path.exists(os.path.join(args.artifact, manifest.get("weights_file", "weights.bin"))):
        weights_blob = np.fromfile(os.path.join(args.artifact,
                                                manifest.get("weights_file", "weights.bin")),
                                   dtype=np.uint8)
    if "constants_file" in manifest:
        constants_blob = np.fromfile(os.path.join(args.artifact, manifest["constants_file"]),
                                     dtype=np.uint8)
    weights, signature = manifest.get("weights", []), manifest["signature"]
    checked_weights = checked_constants = 0
    for i, buffer in enumerate(table):
        name = f"buffer:{i}"
        if buffer["kind"] == "weight":
            entry = weights[buffer["index"]]
            raw = weights_blob[entry["offset"]:entry["offset"] + entry["bytes"]]
            if buffer.get("format") == "bf16":
                raw = to_bf16(raw.view(np.float32)).view(np.uint8)
            expected = [(buffer["bytes"], fnv1a(raw))]
            if uploads.get(name) != expected:
                fail(f"weight buffer {i} ({signature['weights'][buffer['index']]['name']}, "
                     f"{buffer.get('format', 'as stored')}): uploaded {uploads.get(name)}, "
                     f"expected {expected}")
            checked_weights += 1
        elif buffer["kind"] == "constant":
            raw = constants_blob[buffer["offset"]:buffer["offset"] + buffer["bytes"]]
            expected = [(buffer["bytes"], fnv1a(raw))]
            if uploads.get(name) != expected:
                fail(f"constant buffer {i}: uploaded {uploads.get(name)}, expected {expected}")
            checked_constants += 1
        elif buffer["kind"] == "temporary" and name in uploads:
            fail(f"temporary buffer {i} was uploaded to")

    prefix = "launch " if args.direct else "capture-launch "
    launches = [ln[len(prefix):].split() for ln in lines if ln.startswith(prefix)]
    if args.direct:
        launches = launches[:len(calls)]  # the first forward
    if len(launches) != len(calls):
        fail(f"{len(launches)} launches {'run' if args.direct else 'captured'} for "
             f"{len(calls)} planned")
    for i, (got, call) in enumerate(zip(launches, calls)):
        # NAME grid X,Y,Z block X,Y,Z shared S args A...
        want = [call["kernel"], "grid", ",".join(map(str, call["grid"])), "block",
                ",".join(map(str, call["block"])), "shared", str(call.get("shared_bytes", 0)),
                "args"]
        if got[:8] != want:
            fail(f"launch {i}: {' '.join(got[:8])}, planned {' '.join(want)}")
        if len(got) - 8 != len(call["args"]) or not all(
                same_arg(p, g) for p, g in zip(call["args"], got[8:])):
            fail(f"launch {i} ({call['kernel']}): arguments {' '.join(got[8:])}, planned "
                 f"{' '.join(call['args'])}")
    opted = {ln.split()[1]: int(ln.split()[2]) for ln in lines if ln.startswith("opt-in ")}
    for call in calls:
        if call.get("shared_bytes", 0) > 0 and opted.get(call["kernel"]) != call["shared_bytes"]:
            fail(f"kernel {call['kernel']} launched with {call['shared_bytes']} bytes of "
                 f"dynamic shared memory without opting in to them")
    if not args.direct:
        replays = sum(ln.startswith("graph launch") for ln in lines)
        if replays != args.forwards:
            fail(f"the graph was replayed {replays} times, expected {args.forwards}")
    big = sum(1 for c in calls if c.get("shared_bytes", 0) > 48 * 1024)
    print(f"check-fake-cuda: {len(calls)} launches ({'direct' if args.direct else 'graph'}), "
          f"{len(table)} buffers, {checked_weights} weights, {checked_constants} constants "
          f"and {big} opt-ins past 48 KiB match the plan")


if __name__ == "__main__":
    main()
