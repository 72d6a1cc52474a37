"""Writes the binary ONNX models the import tests need.

  make-model.py text2bin IN.onnxtxt OUT.onnx   the text format as a ModelProto
  make-model.py large OUT.onnx                 a MatMul with a 64x32 weight
  make-model.py external OUT.onnx [OPSET]      the same, weights in OUT.onnx.data
  make-model.py truncate IN OUT N              the first N bytes of IN
  make-model.py remove PATH                    delete PATH if it exists

The file commands stand in for head/rm, which the lit PATH may not have.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, parser


def large_model(opset=17):
    weight = np.arange(64 * 32, dtype=np.float32).reshape(64, 32) / 100.0
    bias = np.arange(32, dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "weight"], ["h"], name="proj"),
         helper.make_node("Add", ["h", "bias"], ["y"], name="bias_add")],
        "large",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 32])],
        [numpy_helper.from_array(weight, "weight"),
         numpy_helper.from_array(bias, "bias")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def main():
    command, *args = sys.argv[1:]
    if command == "text2bin":
        with open(args[0]) as f:
            onnx.save(parser.parse_model(f.read()), args[1])
    elif command == "large":
        onnx.save(large_model(), args[0])
    elif command == "external":
        os.makedirs(os.path.dirname(os.path.abspath(args[0])), exist_ok=True)
        location = args[0].rsplit("/", 1)[-1] + ".data"
        opset = int(args[1]) if len(args) > 1 else 17
        onnx.save(large_model(opset), args[0], save_as_external_data=True,
                  all_tensors_to_one_file=True, location=location,
                  size_threshold=1024)
    elif command == "truncate":
        with open(args[0], "rb") as f:
            data = f.read(int(args[2]))
        with open(args[1], "wb") as f:
            f.write(data)
    elif command == "remove":
        if os.path.exists(args[0]):
            os.remove(args[0])
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main()
