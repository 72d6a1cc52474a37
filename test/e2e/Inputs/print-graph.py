"""Prints the llm-dialect graph that llmc.compile makes of a model (the
driver's graph stage: after the graph pipeline and the constant
evaluation), for FileCheck.

    print-graph.py MODEL.onnx [--target host]
"""
import argparse

import llmc

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("--target", default="host")
args = parser.parse_args()
print(llmc.compile(args.model, target=args.target).mlir("graph"))
