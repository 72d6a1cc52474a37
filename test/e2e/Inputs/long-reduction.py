#!/usr/bin/env python3
"""A 16-bit float model of long reductions, and its check.

    long-reduction.py make DIR --dtype bfloat16|float16 [--k 4096]
    long-reduction.py check DIR OUTPUT_DIR [--max-error 0.01]

`make` writes DIR/model.onnx (x [4, K] -> MatMul by a constant [K, 64],
Softmax and ReduceMean over K, all in the 16-bit type) and DIR/x.npy (float32
for bf16, which numpy lacks; the values are bf16 ones). `check` compares the
outputs in OUTPUT_DIR with float64 numpy on the same inputs: each output's
largest error relative to its largest magnitude must be below --max-error.
Summed in a 16-bit type, the product is off by about 10 % at K = 4096 and
the softmax by more; in f32 (as torch and cuBLAS do) by under 1 %.
"""
import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def round_bf16(a):
    bits = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return bits.astype(np.uint32).view(np.float32)


def tensor(name, array, dtype):
    if dtype == "float16":
        return numpy_helper.from_array(array.astype(np.float16), name)
    proto = TensorProto(name=name, data_type=TensorProto.BFLOAT16, dims=array.shape)
    proto.raw_data = (round_bf16(array).view(np.uint32) >> 16).astype(np.uint16).tobytes()
    return proto


def inputs(k, dtype):
    rng = np.random.default_rng(0)
    narrow = round_bf16 if dtype == "bfloat16" else (lambda a: a.astype(np.float16).astype(np.float32))
    x = narrow(rng.standard_normal((4, k)).astype(np.float32))
    w = narrow((rng.standard_normal((k, 64)) / np.sqrt(k)).astype(np.float32))
    return x, w


def make(args):
    x, w = inputs(args.k, args.dtype)
    elem = TensorProto.BFLOAT16 if args.dtype == "bfloat16" else TensorProto.FLOAT16
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"]),
         helper.make_node("Softmax", ["x"], ["s"], axis=-1),
         helper.make_node("ReduceMean", ["x"], ["m"], axes=[-1])],
        "long_reduction",
        [helper.make_tensor_value_info("x", elem, x.shape)],
        [helper.make_tensor_value_info("y", elem, (4, 64)),
         helper.make_tensor_value_info("s", elem, x.shape),
         helper.make_tensor_value_info("m", elem, (4, 1))],
        [tensor("w", w, args.dtype)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    os.makedirs(args.dir, exist_ok=True)
    onnx.save(model, os.path.join(args.dir, "model.onnx"))
    np.save(os.path.join(args.dir, "x.npy"),
            x if args.dtype == "bfloat16" else x.astype(np.float16))
    with open(os.path.join(args.dir, "dtype"), "w") as f:
        f.write(f"{args.dtype} {args.k}\n")
    return 0


def check(args):
    dtype, k = open(os.path.join(args.dir, "dtype")).read().split()
    x, w = inputs(int(k), dtype)
    x = x.astype(np.float64)
    e = np.exp(x - x.max(-1, keepdims=True))
    expected = {"y": x @ w, "s": e / e.sum(-1, keepdims=True), "m": x.mean(-1, keepdims=True)}
    failed = False
    for name, ref in expected.items():
        got = np.load(os.path.join(args.out, name + ".npy")).astype(np.float64)
        error = np.abs(got - ref).max() / np.abs(ref).max()
        print(f"{name}: relative error {error:.4f}")
        failed |= not error < args.max_error
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    m.add_argument("--dtype", choices=["bfloat16", "float16"], required=True)
    m.add_argument("--k", type=int, default=4096)
    c = sub.add_parser("check")
    c.add_argument("dir")
    c.add_argument("out")
    c.add_argument("--max-error", type=float, default=0.01)
    args = parser.parse_args()
    return make(args) if args.command == "make" else check(args)


if __name__ == "__main__":
    sys.exit(main())
