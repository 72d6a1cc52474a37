#!/usr/bin/env python3
"""Compile a GPT-2-style ONNX export for every implemented target, run it on
its inputs and print the report.

    PYTHONPATH=build/python /usr/bin/python3 examples/compile_gpt2.py [MODEL_DIR]

MODEL_DIR holds model.onnx, input_ids.npy and (optionally) torch's logits.npy;
it defaults to the bundled examples/gpt2-tiny.
"""
import json
import os
import sys

import numpy as np

import llmc

TARGETS = ["host"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    model_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "gpt2-tiny")
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
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    try:
        main()
    except llmc.Error as error:
        print(f"compile_gpt2: error: {error}", file=sys.stderr)
        sys.exit(2)
