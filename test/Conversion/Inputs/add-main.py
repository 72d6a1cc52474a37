"""Adds a @main to an imported model for mlir-runner: it calls @forward on
the token ids of an .npy file and prints the logits' bit patterns as i32, so
that two lowerings of one model can be compared bit for bit.

    add-main.py MODEL.mlir INPUT_IDS.npy -o OUT.mlir
"""
import argparse
import re

import numpy as np

MAIN = """
  func.func private @printMemrefI32(memref<*xi32>) attributes {{llvm.emit_c_interface}}
  func.func @main() {{
    %ids = arith.constant dense<{ids}> : {ids_type}
    %logits = call @forward(%ids) : ({ids_type}) -> {logits_type}
    %flat = tensor.collapse_shape %logits [{all_dims}] : {logits_type} into tensor<{count}xf32>
    %empty = tensor.empty() : tensor<{count}xi32>
    %bits = linalg.generic {{indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}} ins(%flat : tensor<{count}xf32>) outs(%empty : tensor<{count}xi32>) {{
    ^bb0(%x: f32, %o: i32):
      %y = arith.bitcast %x : f32 to i32
      linalg.yield %y : i32
    }} -> tensor<{count}xi32>
    %unranked = tensor.cast %bits : tensor<{count}xi32> to tensor<*xi32>
    %buffer = bufferization.to_buffer %unranked : tensor<*xi32> to memref<*xi32>
    call @printMemrefI32(%buffer) : (memref<*xi32>) -> ()
    return
  }}
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("input_ids")
    parser.add_argument("-o", required=True)
    args = parser.parse_args()
    text = open(args.model).read()
    signature = re.search(
        r"func\.func @forward\(%arg0: (tensor<[^>]*>)[^)]*\) -> \((tensor<([^>]*)xf32>)", text)
    if not signature:
        raise SystemExit("add-main: no @forward(tensor) -> (tensor<...xf32>) in " + args.model)
    ids_type, logits_type = signature.group(1), signature.group(2)
    dims = [int(d) for d in signature.group(3).split("x")]
    ids = np.load(args.input_ids)
    resources = text.find("\n{-#")
    body, tail = (text, "") if resources < 0 else (text[:resources], text[resources:])
    end = body.rstrip().rfind("}")
    main_text = MAIN.format(
        ids=np.array2string(ids, separator=", ", threshold=ids.size + 1).replace("\n", ""),
        ids_type=ids_type, logits_type=logits_type,
        all_dims="[" + ", ".join(str(d) for d in range(len(dims))) + "]",
        count=int(np.prod(dims)))
    with open(args.o, "w") as out:
        out.write(body[:end] + main_text + body[end:] + tail)


if __name__ == "__main__":
    main()
