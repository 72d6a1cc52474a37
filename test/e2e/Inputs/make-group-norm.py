#!/usr/bin/env python3
"""Group normalization in the forms exports use, with references:

    make-group-norm.py DIR

- DIR/gn18: ONNX GroupNormalization at opset 18 (scale and bias per group);
- DIR/gn21: the same at opset 21 (scale and bias per channel);
- DIR/torch: torch's nn.GroupNorm after a Conv1d, which torch.onnx writes
  as InstanceNormalization over the input reshaped to [N, G, -1].
Each folder holds model.onnx, x.npy and y.npy (numpy's, or torch's).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

N, C, L, G = 2, 6, 5, 3


def group_norm(x, scale, bias, eps):
    grouped = x.reshape(N, G, -1).astype(np.float64)
    mean = grouped.mean(-1, keepdims=True)
    var = ((grouped - mean) ** 2).mean(-1, keepdims=True)
    normalized = ((grouped - mean) / np.sqrt(var + eps)).reshape(x.shape)
    return (normalized * scale[None, :, None] + bias[None, :, None]).astype(np.float32)


def save(folder, model, x, y):
    os.makedirs(folder, exist_ok=True)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    np.save(os.path.join(folder, "x.npy"), x)
    np.save(os.path.join(folder, "y.npy"), y)


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((N, C, L)).astype(np.float32)
    for opset, per in ((18, G), (21, C)):
        scale = rng.standard_normal(per).astype(np.float32)
        bias = rng.standard_normal(per).astype(np.float32)
        graph = helper.make_graph(
            [helper.make_node("GroupNormalization", ["x", "scale", "bias"], ["y"],
                              num_groups=G, epsilon=1e-3)], "gn",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [N, C, L])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [N, C, L])],
            [numpy_helper.from_array(scale, "scale"), numpy_helper.from_array(bias, "bias")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        repeat = C // per
        save(os.path.join(out, f"gn{opset}"), model, x,
             group_norm(x, np.repeat(scale, repeat), np.repeat(bias, repeat), 1e-3))

    import torch
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv1d(C, 2 * C, 3, padding=1),
                              torch.nn.GroupNorm(G, 2 * C), torch.nn.GELU())
    with torch.no_grad():
        net[1].weight.normal_()
        net[1].bias.normal_()
        y = net(torch.from_numpy(x)).numpy()
    folder = os.path.join(out, "torch")
    os.makedirs(folder, exist_ok=True)
    torch.onnx.export(net, (torch.from_numpy(x),), os.path.join(folder, "model.onnx"),
                      opset_version=17, input_names=["x"], output_names=["y"])
    np.save(os.path.join(folder, "x.npy"), x)
    np.save(os.path.join(folder, "y.npy"), y)
    return 0


if __name__ == "__main__":
    sys.exit(main())
