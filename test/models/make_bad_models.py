#!/usr/bin/env python3
"""Writes invalid inputs for the tools' error tests into one folder:

    truncated.onnx      the first half of a valid model's bytes
    not-onnx.onnx       a text file with an .onnx name
    empty.onnx          zero bytes
    unsupported-op.onnx a valid model with NonMaxSuppression, which llmc
                        does not import
    custom-domain.onnx  a valid model with a com.microsoft op llmc does not take (Rfft)
    old-opset.onnx      good.onnx at opset 7 with Relu replaced by Einsum, which
                        ONNX defines from opset 12
    good.onnx           the valid model the others start from
                        (input x f32 [1,16], output y)
    ids-f32.npy         float32 [1,16] ids, for a wrong-dtype input
    ids-short.npy       int64 [1,8] ids, for a wrong-shape input
    x.npy               float32 [1,16], an input of good.onnx

    /usr/bin/python3 test/models/make_bad_models.py --out DIR
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def good_model(opset=17):
    """y = Relu(x @ W + b): small, valid and supported."""
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((16, 16)).astype(np.float32), "W")
    bias = numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "b")
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"], name="matmul"),
        helper.make_node("Add", ["xw", "b"], ["xwb"], name="add"),
        helper.make_node("Relu", ["xwb"], ["y"], name="relu"),
    ]
    graph = helper.make_graph(
        nodes, "good",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])],
        initializer=[weight, bias])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="llmc-tests")
    model.ir_version = 8
    return model


def unsupported_op_model():
    """A NonMaxSuppression node: valid ONNX, out of scope for llmc."""
    nodes = [helper.make_node(
        "NonMaxSuppression", ["boxes", "scores", "max_boxes"], ["selected"],
        name="nms", center_point_box=0)]
    max_boxes = numpy_helper.from_array(np.array([4], dtype=np.int64), "max_boxes")
    graph = helper.make_graph(
        nodes, "unsupported_op",
        [helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [1, 8, 4]),
         helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 1, 8])],
        [helper.make_tensor_value_info("selected", TensorProto.INT64, [None, 3])],
        initializer=[max_boxes])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="llmc-tests")
    model.ir_version = 8
    return model


def custom_domain_model():
    """com.microsoft's Rfft: an onnxruntime contrib op that llmc does not
    import (its Gelu and norm contrib ops it does)."""
    nodes = [helper.make_node("Rfft", ["x"], ["y"], name="rfft",
                              domain="com.microsoft")]
    graph = helper.make_graph(
        nodes, "custom_domain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 9, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)],
                              producer_name="llmc-tests")
    model.ir_version = 8
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    def path(name):
        return os.path.join(args.out, name)

    good = good_model()
    onnx.checker.check_model(good)
    onnx.save(good, path("good.onnx"))

    data = good.SerializeToString()
    with open(path("truncated.onnx"), "wb") as f:
        f.write(data[: len(data) // 2])
    with open(path("not-onnx.onnx"), "w") as f:
        f.write("this is a text file, not an ONNX model\n")
    open(path("empty.onnx"), "wb").close()

    unsupported = unsupported_op_model()
    onnx.checker.check_model(unsupported)
    onnx.save(unsupported, path("unsupported-op.onnx"))

    # The checker does not know com.microsoft ops' schemas; skip it.
    onnx.save(custom_domain_model(), path("custom-domain.onnx"))

    # Models below opset 13 are upgraded; an op their opset lacks is an error.
    old = good_model(opset=7)
    relu = old.graph.node[2]
    relu.op_type = "Einsum"
    relu.name = "einsum"
    relu.attribute.append(helper.make_attribute("equation", "ij->ij"))
    onnx.save(old, path("old-opset.onnx"))

    rng = np.random.default_rng(0)
    np.save(path("ids-f32.npy"), rng.integers(0, 96, (1, 16)).astype(np.float32))
    np.save(path("ids-short.npy"), rng.integers(0, 96, (1, 8)).astype(np.int64))
    np.save(path("x.npy"), rng.standard_normal((1, 16)).astype(np.float32))
    print(f"make_bad_models: wrote {len(os.listdir(args.out))} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
