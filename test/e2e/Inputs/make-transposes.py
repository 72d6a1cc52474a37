"""Writes ONNX models of large transposes and products of a computed
tensor read transposed, with their inputs and numpy's outputs, to a folder:

  transpose2d   Transpose [300, 200] -> [200, 300] (partial 32 x 32 blocks)
  transpose4d   Transpose [2, 3, 100, 70] by [0, 2, 3, 1] (the last dim to
                the middle)
  xyt{M}        MatMul(x [M, 96], Transpose(y [520, 96])) for M = 1, 7, 8,
                40: llm-host-loop-order copies y transposed from M = 8 on

    make-transposes.py OUT
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper


def save(folder, name, nodes, inputs, outputs, arrays):
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, arrays[n].shape) for n in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, arrays[n].shape) for n in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(folder, f"{name}.onnx"))
    for n in inputs + outputs:
        np.save(os.path.join(folder, f"{name}-{n}.npy"), arrays[n])


def main():
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(7)
    a = rng.standard_normal((300, 200), dtype=np.float32)
    save(folder, "transpose2d", [helper.make_node("Transpose", ["a"], ["b"], perm=[1, 0])],
         ["a"], ["b"], {"a": a, "b": a.T.copy()})
    c = rng.standard_normal((2, 3, 100, 70), dtype=np.float32)
    save(folder, "transpose4d", [helper.make_node("Transpose", ["c"], ["d"], perm=[0, 2, 3, 1])],
         ["c"], ["d"], {"c": c, "d": c.transpose(0, 2, 3, 1).copy()})
    y = rng.standard_normal((520, 96), dtype=np.float32)
    for m in (1, 7, 8, 40):
        x = rng.standard_normal((m, 96), dtype=np.float32)
        # The host sums each element's products in k order, in f32.
        z = np.zeros((m, 520), dtype=np.float32)
        for k in range(96):
            z += x[:, k:k + 1] * y[:, k][None, :]
        save(folder, f"xyt{m}", [helper.make_node("Transpose", ["y"], ["yt"], perm=[1, 0]),
                                 helper.make_node("MatMul", ["x", "yt"], ["z"])],
             ["x", "y"], ["z"], {"x": x, "y": y, "z": z})


if __name__ == "__main__":
    main()
