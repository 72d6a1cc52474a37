#!/usr/bin/env python3
"""Rewrites a model's MatMuls by constant 2-D weights as ONNX Runtime's
quantize_dynamic leaves them after its graph optimizer: com.microsoft
DynamicQuantizeMatMul with int8 weights (symmetric, per tensor or, with
--per-channel, per output column; no zero points), the activation quantized
at run time to uint8.

    make-dynamic-quantized.py IN.onnx OUT.onnx [--per-channel] [--qoperator]

--qoperator writes what quantize_dynamic itself writes instead:
DynamicQuantizeLinear, MatMulInteger (int8 weights, a zero weight zero
point), Cast to float and a Mul by x_scale * w_scale for each product; and
each Gather of a constant table as a Gather of uint8 rows (asymmetric, per
tensor) and a DequantizeLinear.

--static-qdq CAL writes what quantize_static writes in its default QDQ
format: each such MatMul's input through QuantizeLinear and
DequantizeLinear (uint8, per tensor, the scale and zero point from the
min/max of the activation in CAL/calib_I.npy, I the MatMul's index), its
weight an int8 initializer (symmetric, per output column) through
DequantizeLinear (axis 1). --calibration-model writes the model with those
activations as extra outputs calib_I instead (run it to fill CAL).

--fp8-qdq CAL writes the same in FP8, as quantize_static with
QFLOAT8E4M3FN types (and ModelOpt's FP8 exports) write it, at opset 19:
activations through QuantizeLinear and DequantizeLinear with a
FLOAT8E4M3FN zero point (per tensor, scale max|x| / 448), weights as
FLOAT8E4M3FN initializers (per output column, max|w| / 448) through
DequantizeLinear (axis 1).

--modelopt-fp8 CAL writes what NVIDIA ModelOpt's FP8 ONNX export writes:
TensorRT's TRT_FP8QuantizeLinear and TRT_FP8DequantizeLinear (domain trt)
on each such MatMul's input and on its weight, which stays a float
initializer, both per tensor (scale max|.| / 448).

--attention-products (with --calibration-model, --static-qdq, --fp8-qdq or
--modelopt-fp8) also quantizes the MatMuls of two activations, attention's
Q·Kᵀ and P·V, as quantize_static does by default and as ModelOpt's FP8 MHA
does: each operand through its own Q/DQ pair of the form (per tensor,
calibrated from calib_I.npy and calib_I_rhs.npy).
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def activation_product(args, graph, node, count):
    """The nodes that replace a MatMul of two activations: each operand
    through the form's Q/DQ pair (per tensor), or, for the calibration model,
    the MatMul and its operands as outputs calib_I and calib_I_rhs."""
    names = (f"calib_{count}", f"calib_{count}_rhs")
    if args.calibration_model:
        nodes = [node]
        for value, name in zip(node.input, names):
            nodes.append(helper.make_node("Identity", [value], [name]))
            graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
        return nodes
    cal = args.static_qdq or args.fp8_qdq or args.modelopt_fp8
    nodes, inputs = [], []
    for side, (value, name) in enumerate(zip(node.input, names)):
        x = np.load(f"{cal}/{name}.npy")
        prefix = f"{node.name or node.output[0]}_{'ab'[side]}"
        if args.static_qdq:
            lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
            scale = np.float32((hi - lo) / 255.0)
            params = [numpy_helper.from_array(np.asarray(scale), prefix + ".s"),
                      numpy_helper.from_array(np.asarray(np.uint8(np.clip(np.rint(-lo / scale), 0, 255))),
                                              prefix + ".z")]
        else:
            scale = np.float32(max(float(np.abs(x).max()), 1e-12) / 448.0)
            params = [numpy_helper.from_array(np.asarray(scale), prefix + ".s")]
            if args.fp8_qdq:
                sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
                from fp8 import e4m3_tensor
                params.append(e4m3_tensor(prefix + ".z", np.uint8(0)))
        graph.initializer.extend(params)
        names_in = [p.name for p in params]
        domain = "trt" if args.modelopt_fp8 else ""
        op = "TRT_FP8{}Linear" if args.modelopt_fp8 else "{}Linear"
        nodes += [helper.make_node(op.format("Quantize"), [value] + names_in, [prefix + ".q"], domain=domain),
                  helper.make_node(op.format("Dequantize"), [prefix + ".q"] + names_in, [prefix + ".x"],
                                   domain=domain)]
        inputs.append(prefix + ".x")
    return nodes + [helper.make_node("MatMul", inputs, list(node.output), name=node.name)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("out")
    parser.add_argument("--per-channel", action="store_true")
    parser.add_argument("--qoperator", action="store_true")
    parser.add_argument("--static-qdq", metavar="CAL")
    parser.add_argument("--fp8-qdq", metavar="CAL")
    parser.add_argument("--modelopt-fp8", metavar="CAL")
    parser.add_argument("--calibration-model", action="store_true")
    parser.add_argument("--attention-products", action="store_true")
    args = parser.parse_args()
    model = onnx.load(args.model)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    nodes, count = [], 0
    gathers = 0
    for node in graph.node:
        table = inits.get(node.input[0]) if node.op_type == "Gather" else None
        if args.qoperator and table is not None and len(table.dims) == 2 and \
                table.data_type == onnx.TensorProto.FLOAT:
            t = numpy_helper.to_array(table).astype(np.float32)
            lo, hi = min(float(t.min()), 0.0), max(float(t.max()), 0.0)
            scale = np.float32((hi - lo) / 255.0)
            zero = np.uint8(np.clip(np.rint(-lo / scale), 0, 255))
            q = np.clip(np.rint(t / scale) + zero, 0, 255).astype(np.uint8)
            prefix = f"{node.name or node.output[0]}_gq"
            graph.initializer.extend([numpy_helper.from_array(q, prefix + ".table"),
                                      numpy_helper.from_array(scale, prefix + ".scale"),
                                      numpy_helper.from_array(zero, prefix + ".zero")])
            gathered = prefix + ".rows"
            nodes.append(helper.make_node("Gather", [prefix + ".table", node.input[1]], [gathered],
                                          name=node.name, axis=0))
            nodes.append(helper.make_node("DequantizeLinear",
                                          [gathered, prefix + ".scale", prefix + ".zero"],
                                          list(node.output)))
            gathers += 1
            continue
        if args.attention_products and node.op_type == "MatMul" and \
                not any(name in inits for name in node.input):
            nodes += activation_product(args, graph, node, count)
            count += 1
            continue
        weight = inits.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2 or weight.data_type != onnx.TensorProto.FLOAT:
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight).astype(np.float32)
        if args.calibration_model:
            nodes += [node, helper.make_node("Identity", [node.input[0]], [f"calib_{count}"])]
            graph.output.append(helper.make_tensor_value_info(
                f"calib_{count}", onnx.TensorProto.FLOAT, None))
            count += 1
            continue
        if args.modelopt_fp8:
            x = np.load(f"{args.modelopt_fp8}/calib_{count}.npy")
            xs = np.float32(max(float(np.abs(x).max()), 1e-12) / 448.0)
            ws = np.float32(max(float(np.abs(w).max()), 1e-12) / 448.0)
            prefix = f"{node.name or node.output[0]}_fp8"
            graph.initializer.extend([
                numpy_helper.from_array(np.asarray(xs), prefix + ".xs"),
                numpy_helper.from_array(np.asarray(ws), prefix + ".ws")])
            for what, value, scale in (("x", node.input[0], ".xs"), ("w", node.input[1], ".ws")):
                nodes += [
                    helper.make_node("TRT_FP8QuantizeLinear", [value, prefix + scale],
                                     [prefix + "." + what + "q"], domain="trt"),
                    helper.make_node("TRT_FP8DequantizeLinear", [prefix + "." + what + "q", prefix + scale],
                                     [prefix + "." + what], domain="trt")]
            nodes.append(helper.make_node("MatMul", [prefix + ".x", prefix + ".w"],
                                          list(node.output), name=node.name))
            count += 1
            continue
        if args.fp8_qdq:
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            from fp8 import e4m3_bytes, e4m3_tensor
            x = np.load(f"{args.fp8_qdq}/calib_{count}.npy")
            xs = np.float32(max(float(np.abs(x).max()), 1e-12) / 448.0)
            ws = (np.maximum(np.abs(w).max(0), 1e-12) / 448.0).astype(np.float32)
            prefix = f"{node.name or node.output[0]}_fp8"
            graph.initializer.extend([
                numpy_helper.from_array(np.asarray(xs), prefix + ".xs"),
                e4m3_tensor(prefix + ".z", np.uint8(0)),
                e4m3_tensor(prefix + ".B", e4m3_bytes(w / ws)),
                numpy_helper.from_array(ws, prefix + ".ws")])
            nodes += [
                helper.make_node("QuantizeLinear", [node.input[0], prefix + ".xs", prefix + ".z"],
                                 [prefix + ".xq"]),
                helper.make_node("DequantizeLinear", [prefix + ".xq", prefix + ".xs", prefix + ".z"],
                                 [prefix + ".x"]),
                helper.make_node("DequantizeLinear", [prefix + ".B", prefix + ".ws"],
                                 [prefix + ".w"], axis=1),
                helper.make_node("MatMul", [prefix + ".x", prefix + ".w"], list(node.output),
                                 name=node.name)]
            count += 1
            continue
        if args.static_qdq:
            x = np.load(f"{args.static_qdq}/calib_{count}.npy")
            lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
            xs = np.float32((hi - lo) / 255.0)
            xz = np.uint8(np.clip(np.rint(-lo / xs), 0, 255))
            ws = (np.maximum(np.abs(w).max(0), 1e-12) / 127.0).astype(np.float32)
            q = np.clip(np.rint(w / ws), -127, 127).astype(np.int8)
            prefix = f"{node.name or node.output[0]}_qdq"
            graph.initializer.extend([
                numpy_helper.from_array(np.asarray(xs), prefix + ".xs"),
                numpy_helper.from_array(np.asarray(xz), prefix + ".xz"),
                numpy_helper.from_array(q, prefix + ".B"),
                numpy_helper.from_array(ws, prefix + ".ws"),
                numpy_helper.from_array(np.zeros(ws.shape, np.int8), prefix + ".wz")])
            nodes += [
                helper.make_node("QuantizeLinear", [node.input[0], prefix + ".xs", prefix + ".xz"],
                                 [prefix + ".xq"]),
                helper.make_node("DequantizeLinear", [prefix + ".xq", prefix + ".xs", prefix + ".xz"],
                                 [prefix + ".x"]),
                helper.make_node("DequantizeLinear", [prefix + ".B", prefix + ".ws", prefix + ".wz"],
                                 [prefix + ".w"], axis=1),
                helper.make_node("MatMul", [prefix + ".x", prefix + ".w"], list(node.output),
                                 name=node.name)]
            count += 1
            continue
        absmax = np.abs(w).max(0) if args.per_channel else np.abs(w).max()
        scale = np.maximum(absmax, 1e-12).astype(np.float32) / np.float32(127.0)
        q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
        prefix = f"{node.name or node.output[0]}_dq"
        graph.initializer.extend([numpy_helper.from_array(q, prefix + ".B"),
                                  numpy_helper.from_array(np.asarray(scale, np.float32),
                                                          prefix + ".scale")])
        if args.qoperator:
            graph.initializer.append(numpy_helper.from_array(np.int8(0), prefix + ".zero"))
            xq, xs, xz = prefix + ".xq", prefix + ".xs", prefix + ".xz"
            nodes += [
                helper.make_node("DynamicQuantizeLinear", [node.input[0]], [xq, xs, xz]),
                helper.make_node("MatMulInteger", [xq, prefix + ".B", xz, prefix + ".zero"],
                                 [prefix + ".acc"], name=node.name),
                helper.make_node("Cast", [prefix + ".acc"], [prefix + ".accf"],
                                 to=onnx.TensorProto.FLOAT),
                helper.make_node("Mul", [xs, prefix + ".scale"], [prefix + ".s"]),
                helper.make_node("Mul", [prefix + ".accf", prefix + ".s"], list(node.output))]
        else:
            nodes.append(helper.make_node("DynamicQuantizeMatMul",
                                          [node.input[0], prefix + ".B", prefix + ".scale"],
                                          list(node.output), name=node.name,
                                          domain="com.microsoft"))
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    if args.modelopt_fp8:
        model.opset_import.append(helper.make_opsetid("trt", 1))
    if args.fp8_qdq:
        # FLOAT8 QuantizeLinear is opset 19's; the export's other ops
        # (MatMul, LayerNormalization, Split with its split input, ...) read
        # the same there.
        for opset in model.opset_import:
            if opset.domain in ("", "ai.onnx"):
                opset.version = max(opset.version, 19)
    onnx.save(model, args.out)
    if args.calibration_model or args.static_qdq or args.fp8_qdq or args.modelopt_fp8:
        form = ("activations as outputs" if args.calibration_model else
                "in FP8 QDQ form" if args.fp8_qdq else
                "in ModelOpt's FP8 form" if args.modelopt_fp8 else "in QDQ form (static)")
        print(f"make-dynamic-quantized: {count} MatMul {form}")
        return
    what = "MatMulInteger" if args.qoperator else "DynamicQuantizeMatMul"
    print(f"make-dynamic-quantized: {count} {what}, {gathers} quantized Gather "
          f"({'per channel' if args.per_channel else 'per tensor'})")


if __name__ == "__main__":
    main()
