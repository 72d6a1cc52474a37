"""make-scatter-grid.py OUT [reversed]

Writes OUT/model.onnx: a ScatterND whose indices are an index grid as torch
exports a slice assignment (data[:, :, 3:259, 4:260] = updates): four
aranges, each expanded over the grid [2, 1, 256, 256] and unsqueezed,
concatenated along a last axis of 4. Each column has 131072 elements, more
than the importer folds into a constant. Also OUT/data.npy, OUT/updates.npy
and numpy's result OUT/expected.npy. With `reversed`, the last column counts
down (data[:, :, 3:259, 259:3:-1] = updates): not a box.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
reverse = sys.argv[2:] == ["reversed"]
os.makedirs(out, exist_ok=True)
data_shape = [2, 1, 260, 261]
starts = [0, 0, 3, 4]
grid = [2, 1, 256, 256]
nodes, inits = [], []
columns = []
for d, (start, size) in enumerate(zip(starts, grid)):
    shape = [1] * 4
    shape[d] = size
    arange = start + np.arange(size, dtype=np.int64)
    if reverse and d == 3:
        arange = arange[::-1].copy()
    arange = arange.reshape(shape)
    inits.append(numpy_helper.from_array(arange, f"arange{d}"))
    inits.append(numpy_helper.from_array(np.array(grid, dtype=np.int64), f"grid{d}"))
    inits.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), f"last{d}"))
    nodes.append(helper.make_node("Expand", [f"arange{d}", f"grid{d}"], [f"expanded{d}"]))
    nodes.append(helper.make_node("Unsqueeze", [f"expanded{d}", f"last{d}"], [f"column{d}"]))
    columns.append(f"column{d}")
nodes.append(helper.make_node("Concat", columns, ["indices"], axis=-1))
nodes.append(helper.make_node("ScatterND", ["data", "indices", "updates"], ["result"]))
graph = helper.make_graph(
    nodes, "scatter_grid",
    [helper.make_tensor_value_info("data", TensorProto.FLOAT, data_shape),
     helper.make_tensor_value_info("updates", TensorProto.FLOAT, grid)],
    [helper.make_tensor_value_info("result", TensorProto.FLOAT, data_shape)], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
onnx.checker.check_model(model)
onnx.save(model, os.path.join(out, "model.onnx"))
rng = np.random.default_rng(0)
data = rng.standard_normal(data_shape).astype(np.float32)
updates = rng.standard_normal(grid).astype(np.float32)
expected = data.copy()
if reverse:
    expected[:, :, 3:259, 259:3:-1] = updates
else:
    expected[:, :, 3:259, 4:260] = updates
np.save(os.path.join(out, "data.npy"), data)
np.save(os.path.join(out, "updates.npy"), updates)
np.save(os.path.join(out, "expected.npy"), expected)
