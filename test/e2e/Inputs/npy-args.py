#!/usr/bin/env python3
"""Prints llm-run's --input and --expect arguments for an export folder, one
per line (a response file: `llm-run MODEL @FILE`).

    npy-args.py DIR [--expect EXPECTED_DIR | --inputs-only]

Each graph input of DIR/model.onnx is given as --input NAME=DIR/NAME.npy;
each graph output with a NAME.npy in EXPECTED_DIR (default: DIR) as
--expect NAME=EXPECTED_DIR/NAME.npy, unless --inputs-only."""
import argparse
import os

import onnx

parser = argparse.ArgumentParser()
parser.add_argument("dir")
parser.add_argument("--expect", help="folder of the expected outputs (default: DIR)")
parser.add_argument("--inputs-only", action="store_true", help="no --expect arguments")
args = parser.parse_args()
graph = onnx.load(os.path.join(args.dir, "model.onnx"), load_external_data=False).graph
expected = args.expect or args.dir
initializers = {init.name for init in graph.initializer}
for value in graph.input:
    if value.name not in initializers:
        print(f"--input {value.name}={os.path.join(args.dir, value.name + '.npy')}")
for value in [] if args.inputs_only else graph.output:
    path = os.path.join(expected, value.name + ".npy")
    if os.path.exists(path):
        print(f"--expect {value.name}={path}")
