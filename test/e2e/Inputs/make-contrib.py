#!/usr/bin/env python3
"""Writes a model of ONNX Runtime's transformer contrib ops with numpy
references computed from ONNX Runtime's definitions:

    make-contrib.py OUT_DIR   -> model.onnx, x.npy, s.npy, y0.npy .. y7.npy

y0 com.microsoft Gelu(x)               y4 SkipLayerNormalization(x, s, g, b, bias)
y1 FastGelu(x, bias) (tanh form)       y5 SkipSimplifiedLayerNormalization(x, s, g)
y2 BiasGelu(x, bias) (exact)           y6 SimplifiedLayerNormalization(x, g), default domain
y3 QuickGelu(x, alpha=1.5)             y7 SkipLayerNormalization's sum output (3) + x
"""
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SHAPE = [2, 5, 16]


def gelu(v):
    return 0.5 * v * (1 + np.vectorize(math.erf)(v / math.sqrt(2)))


def gelu_tanh(v):
    return 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))


def layer_norm(v, eps):
    mean = v.mean(-1, keepdims=True)
    return (v - mean) / np.sqrt(((v - mean) ** 2).mean(-1, keepdims=True) + eps)


def rms_norm(v, eps):
    return v / np.sqrt((v ** 2).mean(-1, keepdims=True) + eps)


def contrib(op, inputs, outputs, **attrs):
    return helper.make_node(op, inputs, outputs, domain="com.microsoft", **attrs)


def main(out):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE).astype(np.float32)
    s = rng.standard_normal(SHAPE).astype(np.float32)
    g = (1 + 0.1 * rng.standard_normal(SHAPE[-1])).astype(np.float32)
    b = (0.1 * rng.standard_normal(SHAPE[-1])).astype(np.float32)
    bias = (0.1 * rng.standard_normal(SHAPE[-1])).astype(np.float32)
    nodes = [
        contrib("Gelu", ["x"], ["y0"]),
        contrib("FastGelu", ["x", "bias"], ["y1"]),
        contrib("BiasGelu", ["x", "bias"], ["y2"]),
        contrib("QuickGelu", ["x"], ["y3"], alpha=1.5),
        contrib("SkipLayerNormalization", ["x", "s", "g", "b", "bias"],
                ["y4", "", "", "sum"], epsilon=1e-5),
        contrib("SkipSimplifiedLayerNormalization", ["x", "s", "g"], ["y5"], epsilon=1e-6),
        helper.make_node("SimplifiedLayerNormalization", ["x", "g"], ["y6"],
                         epsilon=1e-6, axis=-1),
        helper.make_node("Add", ["sum", "x"], ["y7"]),
    ]
    references = {
        "y0": gelu(x),
        "y1": gelu_tanh(x + bias),
        "y2": gelu(x + bias),
        "y3": x / (1 + np.exp(-1.5 * x)),
        "y4": layer_norm(x + s + bias, 1e-5) * g + b,
        "y5": rms_norm(x + s, 1e-6) * g,
        "y6": rms_norm(x, 1e-6) * g,
        "y7": x + s + bias + x,
    }
    graph = helper.make_graph(
        nodes, "contrib",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, SHAPE) for name in ("x", "s")],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, SHAPE) for name in references],
        initializer=[numpy_helper.from_array(v, name)
                     for name, v in (("g", g), ("b", b), ("bias", bias))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    os.makedirs(out, exist_ok=True)
    onnx.save(model, os.path.join(out, "model.onnx"))
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "s.npy"), s)
    for name, value in references.items():
        np.save(os.path.join(out, name + ".npy"), value.astype(np.float32))


if __name__ == "__main__":
    main(sys.argv[1])
