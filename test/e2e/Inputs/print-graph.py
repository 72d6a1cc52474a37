"""Prints the llm-dialect graph that llmc.compile makes of a model (the
driver's graph stage: after the graph pipeline and the constant
evaluation), for FileCheck.

    print-graph.py MODEL.onnx [--target host] [--quant int8]
"""
import argparse

import llmc

parser = argparse.ArgumentParser()
parser.add_argument("model")
parser.add_argument("--target", default="host")
parser.add_argument("--quant")
args = parser.parse_args()
print(llmc.compile(args.model, target=args.target, quant=args.quant).mlir("graph"))
