#!/usr/bin/env python3
"""Writes a model of the trigonometric and hyperbolic ops llmc builds from
llm ops, with numpy's float64 values rounded to float32 as references:

    make-trig.py OUT_DIR   -> model.onnx, x_<Op>.npy, y_<Op>.npy

Each op reads 2000 values over its domain (Atan also far out, to +-1e4)
and the edges: 0, -0, +-1, tiny and huge values, +-inf, NaN, past-the-domain
points (NaN out), 88 and 89 (where exp(x) overflows before sinh and cosh).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

DOMAINS = {
    "Tan": (-1.5, 1.5), "Asin": (-1, 1), "Acos": (-1, 1), "Atan": (-40, 40),
    "Sinh": (-6, 6), "Cosh": (-6, 6), "Asinh": (-200, 200),
    "Acosh": (1, 200), "Atanh": (-0.999, 0.999),
}
REFERENCES = {
    "Tan": np.tan, "Asin": np.arcsin, "Acos": np.arccos, "Atan": np.arctan,
    "Sinh": np.sinh, "Cosh": np.cosh, "Asinh": np.arcsinh, "Acosh": np.arccosh,
    "Atanh": np.arctanh,
}
EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1e-30, -1e-30, 1e-8, -3e-4, 1e30, -1e30,
         np.inf, -np.inf, np.nan, 2.0, 1.0000001, 0.9999999, 88.0, 89.0, -89.0]


def main(out):
    rng = np.random.default_rng(0)
    os.makedirs(out, exist_ok=True)
    nodes, inputs, outputs = [], [], []
    for op, (low, high) in DOMAINS.items():
        values = rng.uniform(low, high, 2000)
        if op == "Atan":
            values[:200] = rng.standard_normal(200) * 1e4
        x = np.concatenate([values, EDGES]).astype(np.float32)
        with np.errstate(all="ignore"):
            y = REFERENCES[op](x.astype(np.float64)).astype(np.float32)
        np.save(os.path.join(out, f"x_{op}.npy"), x)
        np.save(os.path.join(out, f"y_{op}.npy"), y)
        nodes.append(helper.make_node(op, [f"x_{op}"], [f"y_{op}"]))
        inputs.append(helper.make_tensor_value_info(f"x_{op}", TensorProto.FLOAT, [len(x)]))
        outputs.append(helper.make_tensor_value_info(f"y_{op}", TensorProto.FLOAT, [len(x)]))
    graph = helper.make_graph(nodes, "trig", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "model.onnx"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
