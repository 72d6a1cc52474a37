#!/usr/bin/env python3
"""Merges a decoder export with a KV cache into one model the way Hugging
Face Optimum's `decoder_model_merged.onnx` is built: a bool input
`use_cache_branch` selects, by an If, between the decoder with past keys and
values (then) and the decoder without them (else, where each past input is
replaced by an empty slice of it, as a first step has no cache). Each
branch keeps its own nodes and initializers under a prefix and reads the
graph inputs from the enclosing graph.

    merge-decoders.py KV_MODEL.onnx OUT.onnx

Also writes, next to OUT, `use_cache_true.npy` and `use_cache_false.npy`.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper


def renamed(message, name):
    """A copy of a NodeProto, TensorProto or ValueInfoProto under `name`."""
    copy = type(message)()
    copy.CopyFrom(message)
    copy.name = name
    return copy


def branch(graph, prefix, outer, empty_past):
    """The graph's nodes and initializers with every name but the outer
    inputs prefixed; its outputs the prefixed ones."""
    rename = lambda name: name if not name or name in outer else prefix + name
    nodes = []
    if empty_past:
        for name in outer:
            if name.startswith("past_"):
                nodes.append(helper.make_node(
                    "Slice", [name, prefix + "zero", prefix + "zero", prefix + "two"],
                    [prefix + name], name=prefix + "empty_" + name))
        rename = lambda name, base=rename: (prefix + name if name.startswith("past_")
                                            else base(name))
    for node in graph.node:
        copy = renamed(node, prefix + node.name)
        copy.input[:] = [rename(n) for n in node.input]
        copy.output[:] = [rename(n) for n in node.output]
        nodes.append(copy)
    initializers = [renamed(tensor, prefix + tensor.name) for tensor in graph.initializer]
    if empty_past:
        initializers += [helper.make_tensor(prefix + "zero", TensorProto.INT64, [1], [0]),
                         helper.make_tensor(prefix + "two", TensorProto.INT64, [1], [2])]
    outputs = [renamed(value, prefix + value.name) for value in graph.output]
    return helper.make_graph(nodes, prefix.strip("/"), [], outputs, initializers)


def main():
    source, out = sys.argv[1], sys.argv[2]
    model = onnx.load(source)
    graph = model.graph
    outer = {value.name for value in graph.input}
    with_past = branch(graph, "with_past/", outer, empty_past=False)
    no_past = branch(graph, "no_past/", outer, empty_past=True)
    flag = helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1])
    merged = helper.make_graph(
        [helper.make_node("If", ["use_cache_branch"], [v.name for v in graph.output],
                          name="optimum::if", then_branch=with_past, else_branch=no_past)],
        "merged", list(graph.input) + [flag], list(graph.output))
    onnx.save(helper.make_model(merged, opset_imports=model.opset_import), out)
    folder = os.path.dirname(out)
    np.save(os.path.join(folder, "use_cache_true.npy"), np.array([True]))
    np.save(os.path.join(folder, "use_cache_false.npy"), np.array([False]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
