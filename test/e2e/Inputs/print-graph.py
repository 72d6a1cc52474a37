"""Prints the llm-dialect graph that llmc.compile makes of a model (the
driver's graph stage: after the graph pipeline and the constant
evaluation), for FileCheck.

    print-graph.py MODEL.onnx [--target host] [--quant int8]
        [--shape NAME=DIMS ...]
"""
import argparse

import llmc

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("--target", default="host")
parser.add_argument("--quant")
parser.add_argument("--shape", action="append", default=[],
                    help="NAME=DIMS, as llm-compile's (2x16)")
args = parser.parse_args()
shapes = {}
for spec in args.shape:
    name, dims = spec.split("=")
    shapes[name] = [int(d) for d in dims.split("x")]
print(llmc.compile(args.model, target=args.target, quant=args.quant,
                   shapes=shapes or None).mlir("graph"))
