#!/usr/bin/env python3
"""Checks an `llm-compile --report` JSON file: for each named target, the
fields the tools' contract promises (a value may be null where a target does
not estimate it yet), and positive flops and weight bytes.

    check-report.py [--complete] REPORT.json TARGET...

With --complete, every estimate field must be a number (no nulls): latency,
throughput and energy for prefill and decode, the description assumed, and a
row per layer.
"""
import json
import sys

FIELDS = ["flops", "bytes", "latency_s", "tokens_per_s", "energy_per_token_j", "weight_bytes"]
ESTIMATES = FIELDS + ["matmul_flops", "arithmetic_intensity", "decode_latency_s",
                      "prefill_tokens_per_s", "prefill_energy_per_token_j"]


def main(argv):
    complete = "--complete" in argv
    argv = [a for a in argv if a != "--complete"]
    path, targets = argv[1], argv[2:]
    with open(path) as f:
        report = json.load(f)
    problems = []
    per_target = report.get("targets", {})
    for target in targets:
        entry = per_target.get(target)
        if not isinstance(entry, dict):
            problems.append(f"no entry for target '{target}'")
            continue
        problems += [f"{target}: no '{field}'" for field in FIELDS if field not in entry]
        for field in ("flops", "weight_bytes"):
            if not isinstance(entry.get(field), (int, float)) or entry[field] <= 0:
                problems.append(f"{target}: '{field}' is {entry.get(field)!r}, expected > 0")
        if not complete:
            continue
        for field in ESTIMATES:
            value = entry.get(field)
            if not isinstance(value, (int, float)) or value <= 0:
                problems.append(f"{target}: '{field}' is {value!r}, expected > 0")
        desc = entry.get("target_desc") or {}
        if not desc.get("name") or not desc.get("matrix_ops_per_s"):
            problems.append(f"{target}: no target description in the entry")
        layers = entry.get("layers") or []
        if not layers:
            problems.append(f"{target}: no layers")
        total = sum(layer["latency_s"] for layer in layers)
        if layers and abs(total - entry["latency_s"]) > 1e-9 + 1e-6 * total:
            problems.append(f"{target}: layers add up to {total}, not latency_s")
        if entry.get("decode_latency_s", 0) > entry.get("latency_s", 0):
            problems.append(f"{target}: a decode step is slower than the prefill")
    if problems:
        print(f"check-report: {path}: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"check-report: {path}: targets {', '.join(targets)} ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
