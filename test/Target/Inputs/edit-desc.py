#!/usr/bin/env python3
"""Copies a target description with edits: edit-desc.py IN OUT EDIT...

An edit is `dotted.path=VALUE` (VALUE parsed as JSON if it can be, else a
string) or `-dotted.path` to delete. `sources.X` keys are dotted too, so the
citation of `npu.array_rows` is deleted with `-sources.npu.array_rows`.
"""
import json
import sys


def split(root, path):
    if path.startswith("sources."):
        return root["sources"], path[len("sources."):]
    *parents, last = path.split(".")
    for key in parents:
        root = root[key]
    return root, last


src, dst, edits = sys.argv[1], sys.argv[2], sys.argv[3:]
desc = json.load(open(src))
for edit in edits:
    if edit.startswith("-"):
        parent, key = split(desc, edit[1:])
        del parent[key]
        continue
    path, value = edit.split("=", 1)
    try:
        value = json.loads(value)
    except ValueError:
        pass
    parent, key = split(desc, path)
    parent[key] = value
json.dump(desc, open(dst, "w"), indent=2)
