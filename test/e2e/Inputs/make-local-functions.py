#!/usr/bin/env python3
"""Writes models with ONNX local functions (FunctionProto), with numpy
references:

    make-local-functions.py OUT_DIR

model.onnx: x [2, 3] -> y1, y2, y3
  y1  Scaled(x) called twice (the same internal names in both calls), each
      a LeakyRelu whose alpha refers to the call's attribute `slope` (0.2
      and 0.5) and a Mul by a Constant
  y2  Outer(x), a function calling Scaled (slope not given: LeakyRelu's
      default 0.01) and Relu
  y3  a function with two outputs of which the call reads the second
  y4  Scaled with a default value of slope, 0.3 (IR 9's attribute_proto),
      called without it
  y5  a function whose If branches read a value of the function's body
      (renamed inside the subgraphs too), called twice

errors/: a function that calls itself, one importing another opset of the
default domain, and a call with more inputs than its function has.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper

from npyio import save_arrays

DOMAIN = "test.local"


def attr_ref(name, ref, kind):
    a = onnx.AttributeProto()
    a.name, a.ref_attr_name, a.type = name, ref, kind
    return a


def function(name, inputs, outputs, nodes, attributes=(), opset=17):
    f = onnx.FunctionProto()
    f.name, f.domain = name, DOMAIN
    f.input.extend(inputs)
    f.output.extend(outputs)
    f.node.extend(nodes)
    f.attribute.extend(attributes)
    f.opset_import.extend([helper.make_opsetid("", opset), helper.make_opsetid(DOMAIN, 1)])
    return f


def model(nodes, functions, outputs=("y",)):
    graph = helper.make_graph(
        nodes, "local_functions", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                helper.make_opsetid(DOMAIN, 1)],
                          functions=functions)
    return m


def scaled():
    leaky = helper.make_node("LeakyRelu", ["a"], ["t"])
    leaky.attribute.append(attr_ref("alpha", "slope", onnx.AttributeProto.FLOAT))
    return function("Scaled", ["a"], ["b"], [
        leaky,
        helper.make_node("Constant", [], ["c"], value_float=3.0),
        helper.make_node("Mul", ["t", "c"], ["b"])], attributes=["slope"])


def with_default(f, attr):
    """`f` with `attr` as a default attribute value: FunctionProto field 11
    (attribute_proto, IR 9), newer than the installed onnx, written as raw
    bytes."""
    payload = attr.SerializeToString()
    length, varint = len(payload), b""
    while True:
        byte = length & 0x7F
        length >>= 7
        varint += bytes([byte | (0x80 if length else 0)])
        if not length:
            break
    raw = f.SerializeToString() + bytes([(11 << 3) | 2]) + varint + payload
    g = onnx.FunctionProto()
    g.ParseFromString(raw)
    return g


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    x = np.array([[-2.0, -0.5, 0.0], [0.25, 1.0, -4.0]], np.float32)

    def leaky(v, alpha):
        return np.where(v < 0, alpha * v, v)

    outer = function("Outer", ["a"], ["b"], [
        helper.make_node("Scaled", ["a"], ["s"], domain=DOMAIN),
        helper.make_node("Relu", ["s"], ["r"]),
        helper.make_node("Sub", ["s", "r"], ["b"])])
    pair = function("Pair", ["a"], ["first", "second"], [
        helper.make_node("Neg", ["a"], ["first"]),
        helper.make_node("Abs", ["first"], ["second"])])
    nodes = [helper.make_node("Scaled", ["x"], ["s1"], domain=DOMAIN, name="call1", slope=0.2),
             helper.make_node("Scaled", ["s1"], ["y1"], domain=DOMAIN, name="call2", slope=0.5),
             helper.make_node("Outer", ["x"], ["y2"], domain=DOMAIN),
             helper.make_node("Pair", ["x"], ["", "y3"], domain=DOMAIN),
             helper.make_node("Scaled2", ["x"], ["y4"], domain=DOMAIN)]
    then_graph = helper.make_graph([helper.make_node("Add", ["t", "one"], ["r1"])], "then", [],
                                   [helper.make_tensor_value_info("r1", TensorProto.FLOAT, None)])
    else_graph = helper.make_graph([helper.make_node("Sub", ["t", "one"], ["r2"])], "else", [],
                                   [helper.make_tensor_value_info("r2", TensorProto.FLOAT, None)])
    branchy = function("Branchy", ["a"], ["b"], [
        helper.make_node("Neg", ["a"], ["t"]),
        helper.make_node("Constant", [], ["one"], value_float=1.0),
        helper.make_node("Constant", [], ["cond"], value=helper.make_tensor("c", TensorProto.BOOL,
                                                                            [], [True])),
        helper.make_node("If", ["cond"], ["b"], then_branch=then_graph, else_branch=else_graph)])
    nodes += [helper.make_node("Branchy", ["x"], ["b1"], domain=DOMAIN),
              helper.make_node("Branchy", ["b1"], ["y5"], domain=DOMAIN)]
    scaled2 = scaled()
    scaled2.name = "Scaled2"
    scaled2 = with_default(scaled2, helper.make_attribute("slope", 0.3))
    onnx.save(model(nodes, [scaled(), outer, pair, scaled2, branchy],
                    ("y1", "y2", "y3", "y4", "y5")),
              os.path.join(out, "model.onnx"))
    s = 3.0 * leaky(x, 0.01)
    save_arrays(out, {"x": x,
                      "y1": 3.0 * leaky(3.0 * leaky(x, 0.2), 0.5),
                      "y2": s - np.maximum(s, 0.0),
                      "y3": np.abs(-x),
                      "y4": 3.0 * leaky(x, 0.3),
                      "y5": -(-x + 1.0) + 1.0})

    errors = os.path.join(out, "errors")
    os.makedirs(errors, exist_ok=True)
    loop = function("Loop1", ["a"], ["b"], [helper.make_node("Loop1", ["a"], ["b"], domain=DOMAIN)])
    onnx.save(model([helper.make_node("Loop1", ["x"], ["y"], domain=DOMAIN, name="call")], [loop]),
              os.path.join(errors, "recursive.onnx"))
    old = function("Old", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])], opset=13)
    onnx.save(model([helper.make_node("Old", ["x"], ["y"], domain=DOMAIN)], [old]),
              os.path.join(errors, "opset.onnx"))
    onnx.save(model([helper.make_node("Scaled", ["x", "x"], ["y"], domain=DOMAIN, name="call")],
                    [scaled()]),
              os.path.join(errors, "arity.onnx"))
    print("make-local-functions: 5 outputs, 3 error models")


if __name__ == "__main__":
    main()
