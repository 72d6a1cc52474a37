#!/usr/bin/env python3
"""Resource report of a PTX file: runs `ptxas -v` and prints, per kernel,
registers, spill stores/loads (bytes), static shared memory (bytes) and
barriers, as a table; for an artifact's PTX (a manifest.json with a launch
plan beside it, or --manifest) also the dynamic shared memory its launches
pass (bytes; tiles past 48 KiB), which ptxas does not see.

    ptx_resources.py FILE.ptx [--arch sm_90] [--ptxas PATH]
                     [--manifest MANIFEST.json]
                     [--no-spills REGEX]... [--no-performance-loss]
                     [--json OUT.json]

`--no-spills REGEX`: exit 1 if a kernel whose name matches REGEX spills (or
if no kernel matches: a check that can never fail is no check).
`--no-performance-loss`: exit 1 if ptxas reports a "Potential Performance
Loss" for a kernel (such as wgmma.mma_async instructions serialized: the
products no longer overlap). Exit 2 if ptxas rejects the file or cannot be
found.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys


def find_ptxas(explicit):
    if explicit:
        return explicit
    found = shutil.which("ptxas")
    if found:
        return found
    default = "/usr/local/cuda/bin/ptxas"
    return default if os.path.exists(default) else None


def parse(report):
    kernels = {}

    def kernel(name):
        return kernels.setdefault(name, {
            "registers": 0, "spill_stores": 0, "spill_loads": 0, "stack": 0,
            "smem": 0, "barriers": 0, "advisories": []})

    current = None
    for line in report.splitlines():
        m = re.search(r"Compiling entry function '([^']+)'", line)
        if m:
            current = kernel(m.group(1))
            continue
        m = re.search(r"Potential Performance Loss: (.*)", line)
        if m:
            # The advisory names its function (else: the one being compiled).
            named = re.search(r"in the function '([^']+)'", line)
            target = kernel(named.group(1)) if named else current
            if target is not None:
                target["advisories"].append(m.group(1).strip())
            continue
        if current is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, "
                      r"(\d+) bytes spill loads", line)
        if m:
            current["stack"], current["spill_stores"], current["spill_loads"] = (
                int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = re.search(r"Used (\d+) registers", line)
        if m:
            current["registers"] = int(m.group(1))
            b = re.search(r"used (\d+) barriers", line)
            s = re.search(r"(\d+) bytes smem", line)
            current["barriers"] = int(b.group(1)) if b else 0
            current["smem"] = int(s.group(1)) if s else 0
    return kernels


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ptx")
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--ptxas")
    parser.add_argument("--no-spills", action="append", default=[],
                        metavar="REGEX")
    parser.add_argument("--no-performance-loss", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--manifest")
    args = parser.parse_args()
    ptxas = find_ptxas(args.ptxas)
    if not ptxas:
        print("ptx_resources.py: error: ptxas not found (CUDA toolkit)",
              file=sys.stderr)
        return 2
    if not os.path.exists(args.ptx):
        print(f"ptx_resources.py: error: {args.ptx}: no such file",
              file=sys.stderr)
        return 2
    proc = subprocess.run([ptxas, f"-arch={args.arch}", "-v", args.ptx,
                           "-o", os.devnull], capture_output=True, text=True)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["(no message)"])[0]
        print(f"ptx_resources.py: error: ptxas rejected {args.ptx}: {first}",
              file=sys.stderr)
        return 2
    kernels = parse(proc.stdout + proc.stderr)
    manifest = args.manifest or os.path.join(os.path.dirname(args.ptx),
                                             "manifest.json")
    calls = None
    if os.path.exists(manifest):
        with open(manifest) as f:
            calls = json.load(f).get("launch_plan", {}).get("calls")
    if calls is not None:
        for k in kernels.values():
            k["dynamic_smem"] = 0
        for call in calls:
            if call["kernel"] in kernels:
                k = kernels[call["kernel"]]
                k["dynamic_smem"] = max(k["dynamic_smem"],
                                        call.get("shared_bytes", 0))
    dynamic = calls is not None
    print(f"{'kernel':<24} {'regs':>5} {'spill st':>9} {'spill ld':>9} "
          f"{'smem B':>7} {'barriers':>8}" + (f" {'dyn smem B':>10}" if dynamic else ""))
    for name in sorted(kernels):
        k = kernels[name]
        print(f"{name:<24} {k['registers']:>5} {k['spill_stores']:>9} "
              f"{k['spill_loads']:>9} {k['smem']:>7} {k['barriers']:>8}"
              + (f" {k['dynamic_smem']:>10}" if dynamic else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(kernels, f, indent=2)
    sys.stdout.flush()  # the table before the notes and failures
    status = 0
    for name in sorted(kernels):
        for advisory in kernels[name]["advisories"]:
            print(f"{'check failed' if args.no_performance_loss else 'note'}: "
                  f"kernel {name}: ptxas: Potential Performance Loss: {advisory}",
                  file=sys.stderr)
            status = 1 if args.no_performance_loss else status
    for pattern in args.no_spills:
        matched = [n for n in kernels if re.search(pattern, n)]
        if not matched:
            print(f"check failed: no kernel matches '{pattern}'",
                  file=sys.stderr)
            status = 1
        for name in matched:
            k = kernels[name]
            if k["spill_stores"] or k["spill_loads"] or k["stack"]:
                print(f"check failed: kernel {name} spills "
                      f"({k['spill_stores']} B stored, {k['spill_loads']} B "
                      f"loaded, {k['stack']} B stack)", file=sys.stderr)
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
