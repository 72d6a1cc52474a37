#!/usr/bin/env python3
"""Checks an `llm-compile --report` JSON file: for each named target, the
fields the tools' contract promises (a value may be null where a target does
not estimate it yet), and positive flops and weight bytes.

    check-report.py REPORT.json TARGET...
"""
import json
import sys

FIELDS = ["flops", "bytes", "latency_s", "tokens_per_s", "energy_per_token_j", "weight_bytes"]


def main(argv):
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
    if problems:
        print(f"check-report: {path}: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"check-report: {path}: targets {', '.join(targets)} ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
