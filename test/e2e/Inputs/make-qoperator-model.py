#!/usr/bin/env python3
"""Rewrites a float model into ONNX Runtime's QOperator form, as
quantize_static(quant_format=QOperator) writes it: each MatMul, Add, Mul
and Softmax of float tensors becomes QLinearMatMul (ONNX), QLinearAdd,
QLinearMul or QLinearSoftmax (com.microsoft) of uint8 activations
(asymmetric, per tensor, calibrated) and int8 MatMul weights (symmetric,
per tensor); constants (initializers, Constant nodes) are quantized in
place, activations through QuantizeLinear, and each result goes back to
float through DequantizeLinear for the ops that stay float (LayerNorm,
Erf, Where, ...).

    make-qoperator-model.py IN.onnx OUT.onnx --calibration-model
    make-qoperator-model.py IN.onnx OUT.onnx --ranges CAL

--calibration-model writes IN with every float tensor those ops read or
write as an extra output (run it with `llm-run --output-dir CAL`);
--ranges CAL reads their min/max from CAL/<name>.npy (the name as llm-run
writes it); an op of a tensor that is not finite (scores masked with -inf)
stays float.
"""
import argparse
import os
import re

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

QUANTIZED = {"MatMul", "Add", "Mul", "Softmax"}


def file_name(name):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".npy"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("out")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--calibration-model", action="store_true")
    mode.add_argument("--ranges")
    args = parser.parse_args()

    model = onnx.load(args.model)
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant" and n.attribute[0].name == "value":
            constants[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    inferred = onnx.shape_inference.infer_shapes(model).graph
    float_names = {v.name for v in list(inferred.value_info) + list(inferred.input)
                   + list(inferred.output)
                   if v.type.tensor_type.elem_type == TensorProto.FLOAT}
    float_names |= {k for k, v in constants.items() if v.dtype == np.float32}

    def quantizable(node):
        return (node.op_type in QUANTIZED and node.domain == ""
                and all(i in float_names for i in node.input)
                and not all(i in constants for i in node.input))

    activations = []
    for node in graph.node:
        if quantizable(node):
            for name in list(node.input) + [node.output[0]]:
                if name not in constants and name not in activations:
                    activations.append(name)

    if args.calibration_model:
        known = {o.name for o in graph.output}
        for name in activations:
            if name not in known:
                graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
        onnx.save(model, args.out)
        print(f"make-qoperator-model: {len(activations)} tensors to calibrate")
        return

    def params(lo, hi):
        lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
        scale = (hi - lo) / 255 if hi > lo else 1.0
        return np.float32(scale), np.uint8(np.clip(round(-lo / scale), 0, 255))

    ranges = {}
    for name in activations:
        values = np.load(os.path.join(args.ranges, file_name(name)))
        if np.isfinite(values).all():
            ranges[name] = params(values.min(), values.max())
    # An op over a tensor that is not finite (masked scores: -inf) stays
    # float, as one would exclude it from quantize_static.
    calibrated = quantizable
    quantizable = lambda node: calibrated(node) and all(  # noqa: E731
        name in ranges for name in list(node.input) + [node.output[0]]
        if name not in constants)

    nodes, inits = [], list(graph.initializer)
    quantized = {}  # float name -> (uint8/int8 name, scale name, zero name)

    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def quantize(name, weight=False):
        if name in quantized:
            return quantized[name]
        q = name + "_quantized"
        if name in constants:
            value = constants[name].astype(np.float32)
            if weight:  # int8, symmetric
                scale = np.float32(max(np.abs(value).max(), 1e-8) / 127)
                zero = np.int8(0)
                levels = np.clip(np.rint(value / scale), -127, 127).astype(np.int8)
            else:
                scale, zero = params(value.min(), value.max())
                levels = np.clip(np.rint(value / scale) + zero, 0, 255).astype(np.uint8)
            const(q, levels)
        else:
            scale, zero = ranges[name]
            nodes.append(helper.make_node("QuantizeLinear", [name, const(q + ".s", scale),
                                                             const(q + ".z", zero)], [q]))
            quantized[name] = (q, q + ".s", q + ".z")
            return quantized[name]
        quantized[name] = (q, const(q + ".s", scale), const(q + ".z", zero))
        return quantized[name]

    count = 0
    for node in graph.node:
        if not quantizable(node):
            nodes.append(node)
            continue
        count += 1
        out = node.output[0]
        scale, zero = ranges[out]
        ys, yz = const(out + "_q.s", scale), const(out + "_q.z", zero)
        q_out = out + "_q"
        if node.op_type == "MatMul":
            a = quantize(node.input[0])
            b = quantize(node.input[1], weight=node.input[1] in constants)
            nodes.append(helper.make_node("QLinearMatMul", [*a, *b, ys, yz], [q_out],
                                          name=node.name))
        elif node.op_type in ("Add", "Mul"):
            a, b = quantize(node.input[0]), quantize(node.input[1])
            nodes.append(helper.make_node("QLinear" + node.op_type, [*a, *b, ys, yz], [q_out],
                                          name=node.name, domain="com.microsoft"))
        else:  # Softmax
            axis = next((a.i for a in node.attribute if a.name == "axis"), -1)
            nodes.append(helper.make_node("QLinearSoftmax", [*quantize(node.input[0]), ys, yz],
                                          [q_out], name=node.name, domain="com.microsoft",
                                          axis=axis, opset=13))
        quantized[out] = (q_out, ys, yz)
        nodes.append(helper.make_node("DequantizeLinear", [q_out, ys, yz], [out]))

    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(inits)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, args.out)
    print(f"make-qoperator-model: {count} ops in QOperator form")


if __name__ == "__main__":
    main()
