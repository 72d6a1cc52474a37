#!/usr/bin/env python3
"""A model whose output reads a 16 x 16 boolean constant (CumSum's mask,
big enough to be outlined as a weight) next to a quantizable matmul:
y = x @ W + Cast(CumSum(m, axis 1)), x [2, 16, 32], m [2, 16] int64.

    make-cumsum-quant.py DIR

writes DIR/model.onnx, DIR/x.npy, DIR/m.npy and DIR/y.npy (numpy's y).
"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(5)
    w = rng.standard_normal((32, 16)).astype(np.float32)
    x = rng.standard_normal((2, 16, 32)).astype(np.float32)
    m = rng.integers(0, 2, size=(2, 16)).astype(np.int64)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["xw"]),
         helper.make_node("CumSum", ["m", "axis"], ["count"]),
         helper.make_node("Cast", ["count"], ["countf"], to=TensorProto.FLOAT),
         helper.make_node("Unsqueeze", ["countf", "last"], ["column"]),
         helper.make_node("Add", ["xw", "column"], ["y"])],
        "cumsum_quant",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16, 32]),
         helper.make_tensor_value_info("m", TensorProto.INT64, [2, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 16, 16])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.int64(1), "axis"),
         numpy_helper.from_array(np.array([2], np.int64), "last")])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
         os.path.join(out, "model.onnx"))
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "m.npy"), m)
    np.save(os.path.join(out, "y.npy"), x @ w + np.cumsum(m, 1)[..., None].astype(np.float32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
