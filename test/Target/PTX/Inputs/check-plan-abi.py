#!/usr/bin/env python3
"""Checks a ptx artifact's launch plan against its PTX, as the CUDA runner
will use them: every launched kernel is an entry of model.ptx, takes as many
parameters as the launch passes, a device pointer (.u64 .ptr) for each
buffer and a scalar of the right width for each constant; every buffer a
launch names exists; grids are positive and blocks have at most 1024
threads; a kernel that uses the dynamic shared memory (the extern
__dynamic_shmem__ array) is launched with some, another with none, and
static plus dynamic shared memory fit an sm_90 block (227 KiB).

    check-plan-abi.py ARTIFACT_DIR

Prints "N launches match the PTX"; exit 1 on the first mismatch.
"""
import json
import os
import re
import sys


def entries(ptx):
    result = {}
    for m in re.finditer(r"\.entry\s+(\w+)\(([^)]*)\)", ptx):
        params = [p.strip() for p in m.group(2).split(",") if p.strip()]
        result[m.group(1)] = params
    return result


def bodies(ptx):
    """Each entry's text, up to the next entry."""
    starts = [(m.group(1), m.start()) for m in re.finditer(r"\.entry\s+(\w+)\(", ptx)]
    return {name: ptx[start:(starts[i + 1][1] if i + 1 < len(starts) else len(ptx))]
            for i, (name, start) in enumerate(starts)}


def static_shared(ptx, kernel):
    return sum(int(n) for n in re.findall(
        r"\.shared \.align \d+ \.b8 __wg_%s_\d+\[(\d+)\]" % kernel, ptx))


def main():
    art = sys.argv[1]
    manifest = json.load(open(os.path.join(art, "manifest.json")))
    ptx = open(os.path.join(art, manifest["ptx"])).read()
    kernels = entries(ptx)
    text = bodies(ptx)
    plan = manifest["launch_plan"]
    buffers = plan["buffers"]
    for i, call in enumerate(plan["calls"]):
        name = call["kernel"]
        if name not in kernels:
            print(f"check failed: launch {i}: kernel {name} is not in the PTX")
            return 1
        params = kernels[name]
        if len(params) != len(call["args"]):
            print(f"check failed: launch {i} ({name}) passes {len(call['args'])} "
                  f"arguments, the kernel takes {len(params)}")
            return 1
        for arg, param in zip(call["args"], params):
            kind, value = arg.split(":", 1)
            ok = {"buffer": ".u64 .ptr" in param,
                  "i64": ".u64" in param and ".ptr" not in param,
                  "i32": ".u32" in param or ".b32" in param,
                  "f32": ".f32" in param or ".b32" in param}[kind]
            if not ok:
                print(f"check failed: launch {i} ({name}): {arg} for '{param}'")
                return 1
            if kind == "buffer" and not 0 <= int(value) < buffers:
                print(f"check failed: launch {i} ({name}): no buffer {value}")
                return 1
        threads = call["block"][0] * call["block"][1] * call["block"][2]
        if not 0 < threads <= 1024 or min(call["grid"]) <= 0:
            print(f"check failed: launch {i} ({name}): grid {call['grid']} "
                  f"block {call['block']}")
            return 1
        dynamic = call.get("shared_bytes", 0)
        if ("__dynamic_shmem__" in text[name]) != (dynamic > 0):
            print(f"check failed: launch {i} ({name}) passes {dynamic} bytes of "
                  f"dynamic shared memory to a kernel that "
                  f"{'uses' if dynamic == 0 else 'does not use'} it")
            return 1
        if static_shared(ptx, name) + dynamic > 232448:
            print(f"check failed: launch {i} ({name}): {static_shared(ptx, name)} "
                  f"static and {dynamic} dynamic bytes of shared memory")
            return 1
    print(f"{len(plan['calls'])} launches match the PTX")
    return 0


if __name__ == "__main__":
    sys.exit(main())
