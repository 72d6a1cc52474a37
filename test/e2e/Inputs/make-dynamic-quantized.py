#!/usr/bin/env python3
"""Rewrites a model's MatMuls by constant 2-D weights as ONNX Runtime's
quantize_dynamic leaves them after its graph optimizer: com.microsoft
DynamicQuantizeMatMul with int8 weights (symmetric, per tensor or, with
--per-channel, per output column; no zero points), the activation quantized
at run time to uint8.

    make-dynamic-quantized.py IN.onnx OUT.onnx [--per-channel]
"""
import argparse

import numpy as np
import onnx
from onnx import helper, numpy_helper


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("out")
    parser.add_argument("--per-channel", action="store_true")
    args = parser.parse_args()
    model = onnx.load(args.model)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    nodes, count = [], 0
    for node in graph.node:
        weight = inits.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2 or weight.data_type != onnx.TensorProto.FLOAT:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight).astype(np.float32)
        absmax = np.abs(w).max(0) if args.per_channel else np.abs(w).max()
        scale = np.maximum(absmax, 1e-12).astype(np.float32) / np.float32(127.0)
        q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
        prefix = f"{node.name or node.output[0]}_dq"
        graph.initializer.extend([numpy_helper.from_array(q, prefix + ".B"),
                                  numpy_helper.from_array(np.asarray(scale, np.float32),
                                                          prefix + ".scale")])
        nodes.append(helper.make_node("DynamicQuantizeMatMul",
                                      [node.input[0], prefix + ".B", prefix + ".scale"],
                                      list(node.output), name=node.name, domain="com.microsoft"))
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, args.out)
    print(f"make-dynamic-quantized: {count} DynamicQuantizeMatMul "
          f"({'per channel' if args.per_channel else 'per tensor'})")


if __name__ == "__main__":
    main()
