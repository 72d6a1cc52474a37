#!/usr/bin/env python3
"""Compile a GPT-2-style ONNX export for every implemented target, run it on
its inputs and print the report.

    PYTHONPATH=build/python /usr/bin/python3 examples/compile_gpt2.py [MODEL_DIR] [--json]

MODEL_DIR holds model.onnx, input_ids.npy and (optionally) torch's logits.npy;
it defaults to the bundled examples/gpt2-tiny.
"""
import json
import os
import sys

import numpy as np

import llmc

TARGETS = ["host", "hls"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    args = [a for a in sys.argv[1:] if a != "--json"]
    model_dir = args[0] if args else os.path.join(here, "gpt2-tiny")
    ids = np.load(os.path.join(model_dir, "input_ids.npy"))
    reference_path = os.path.join(model_dir, "logits.npy")
    reference = np.load(reference_path) if os.path.exists(reference_path) else None

    report = {}
    for target in TARGETS:
        model = llmc.compile(os.path.join(model_dir, "model.onnx"), target=target)
        logits = model.run({"input_ids": ids})["logits"]
        line = f"{target}: logits {logits.shape}"
        if reference is not None:
            line += f", max |diff| vs torch {np.abs(logits - reference).max():.3g}"
        print(line)
        report.update(model.report()["targets"])
    # The report estimates every described target (ptx: h100, hls: u280,
    # npu: the llmc NPU) from the compiled graph, whether or not its code
    # generator ran.
    print(f"{'target':8} {'hardware':9} {'prefill ms':>11} {'decode ms':>10} "
          f"{'tokens/s':>10} {'mJ/token':>9} {'weight MB':>10}")
    for name in sorted(report, key=lambda t: ["host", "ptx", "hls", "npu", t].index(t)):
        entry = report[name]
        desc = (entry.get("target_desc") or {}).get("name", "-")

        def cell(key, scale, width, digits):
            value = entry.get(key)
            text = "-" if value is None else f"{value * scale:.{digits}f}"
            return f"{text:>{width}}"
        print(f"{name:8} {desc:9} {cell('latency_s', 1e3, 11, 4)} "
              f"{cell('decode_latency_s', 1e3, 10, 4)} {cell('tokens_per_s', 1, 10, 0)} "
              f"{cell('energy_per_token_j', 1e3, 9, 4)} {cell('weight_bytes', 1e-6, 10, 3)}")
    if "--json" in sys.argv:
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    try:
        main()
    except llmc.Error as error:
        print(f"compile_gpt2: error: {error}", file=sys.stderr)
        sys.exit(2)
