#!/usr/bin/env python3
"""Writes ONNX matmul graphs that exercise the ptx matmul kernel's paths,
with inputs and reference outputs, into OUT/<case>/:

    make-gemms.py OUT

Each reference is computed in float64 from inputs and weights rounded to
bf16 (as the tensor cores see them), so the kernel's result differs from it
only by fp32 summation order. Cases:

  wide-bias   x[200,96] @ W[96,136] + b, relu  (tiles and k tiles cut at the
              edges, an [K,N] weight, a fused epilogue)
  transb      Gemm(x[130,64], W[72,64], transB) + residual x2[130,72]
              (a [N,K] weight: k-contiguous on both sides)
  batched     A[3,40,48] @ B[3,48,56], both inputs (batch, no folding)
  scalar      x[33,45] @ W[45,20]  (k not a multiple of 4: scalar loads)
  shared      x[2,70,64] @ W[64,64]  (a weight shared by the batch: folded
              into 140 rows)
  bf16-edges  x[50,72] @ W[72,90], all bf16 (both tiles filled by cp.async:
              zero fill past m = 50, n = 90 and k = 72 of the k tiles of
              32); the reference is rounded to bf16 like the output
  bf16-long   x[72,600] @ W[600,136], all bf16: ten k tiles of 64 (the
              last partial), so every stage of a four-stage pipeline is
              refilled while products of others are in flight
  gemv        x[1,264] @ W[264,90] + b, then Relu: one row (a decode
              step), the GEMV kernel's 8-element runs along k (the weight
              stored [N, K]), the second of two unrolled runs past k
  gemv-rows   x[2,3,100] @ W[100,20] + r: six rows (batch folded), k not a
              multiple of 8 (one element per load), a residual
  gemv-batched  A[3,2,40] @ B[3,40,24], both inputs: two rows per batch, a
              rhs strided along k
  bf16-gemv   x[1,520] @ W[520,136], all bf16
  bf16-deep   x[130,200] @ W[200,136] + b, all bf16: seven k tiles, the
              last one partial (the three-stage wgmma pipeline wraps
              around its stages twice)
  glu         silu(x @ G + bg) * (x @ U + bu), x[2,70,48], G and U [48,40]
              (a gated unit; the merged product's 80 columns end inside
              a tile, the weight read along n). The gate's product, which
              absorbs the SiLU, comes after the up's: the gate is the
              merged weight's second half here and in the cases below
  glu-transb  gelu_tanh(Gemm(x, G, transB)) * Gemm(x, U, transB), x[90,64],
              G and U [72,64] (the merged weight read along k)
  glu-gemv    the same with x[1,4,48]: four rows, the GEMV kernel
  glu-twin, glu-transb-twin, glu-gemv-twin
              the same, the gate's product also an output: not gated in
              the product's kernel, for comparison
  glu-odd     silu(x @ G) * (x @ U), x[40,32], G and U [32,20] (halves not
              of whole 8-column tiles: the product and the gating apart)
  bf16-glu    silu(x @ G) * (x @ U), all bf16, x[100,96], G and U [96,56];
              the reference rounds the products, the activation and y to
              bf16 as the unfused kernels store them
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)


def bf16(a):
    """Round float32 to bf16 (nearest even) and back."""
    bits = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return bits.astype(np.uint32).view(np.float32)


def rand(*shape):
    return rng.uniform(-1, 1, shape).astype(np.float32)


def bf16_tensor(name, a):
    """An ONNX bfloat16 initializer of the bf16-rounded a."""
    bits = (bf16(a).view(np.uint32) >> 16).astype(np.uint16)
    return helper.make_tensor(name, TensorProto.BFLOAT16, list(a.shape),
                              bits.tobytes(), raw=True)


def write(out, name, nodes, inputs, outputs, initializers, feeds, expected,
          elem=TensorProto.FLOAT):
    """Feeds and expected outputs are saved as float32 (llm-run rounds the
    feeds of a bf16 model's inputs)."""
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    def info(n, a):
        return helper.make_tensor_value_info(n, elem, list(a.shape))
    tensor = bf16_tensor if elem == TensorProto.BFLOAT16 else numpy_helper.from_array
    graph = helper.make_graph(
        nodes, name, [info(n, feeds[n]) for n in inputs],
        [info(n, expected[n]) for n in outputs],
        [tensor(a, n) if tensor is numpy_helper.from_array else tensor(n, a)
         for n, a in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(folder, "model.onnx"))
    for n, a in feeds.items():
        np.save(os.path.join(folder, n + ".npy"), a)
    for n, a in expected.items():
        np.save(os.path.join(folder, "expected_" + n + ".npy"), a.astype(np.float32))


def mm(a, b):
    return np.matmul(bf16(a).astype(np.float64), bf16(b).astype(np.float64))


out = sys.argv[1]

x, w, b = rand(200, 96), rand(96, 136), rand(136)
write(out, "wide-bias",
      [helper.make_node("MatMul", ["x", "w"], ["p"]),
       helper.make_node("Add", ["p", "b"], ["q"]),
       helper.make_node("Relu", ["q"], ["y"])],
      ["x"], ["y"], {"w": w, "b": b}, {"x": x},
      {"y": np.maximum(mm(x, w) + b, 0)})

x, w, r = rand(130, 64), rand(72, 64), rand(130, 72)
write(out, "transb",
      [helper.make_node("Gemm", ["x", "w"], ["p"], transB=1),
       helper.make_node("Add", ["p", "r"], ["y"])],
      ["x", "r"], ["y"], {"w": w}, {"x": x, "r": r},
      {"y": mm(x, w.T) + r})

a, bb = rand(3, 40, 48), rand(3, 48, 56)
write(out, "batched", [helper.make_node("MatMul", ["a", "b"], ["y"])],
      ["a", "b"], ["y"], {}, {"a": a, "b": bb}, {"y": mm(a, bb)})

x, w = rand(33, 45), rand(45, 20)
write(out, "scalar", [helper.make_node("MatMul", ["x", "w"], ["y"])],
      ["x"], ["y"], {"w": w}, {"x": x}, {"y": mm(x, w)})

x, w = rand(2, 70, 64), rand(64, 64)
write(out, "shared", [helper.make_node("MatMul", ["x", "w"], ["y"])],
      ["x"], ["y"], {"w": w}, {"x": x}, {"y": mm(x, w)})

x, w = bf16(rand(50, 72)), bf16(rand(72, 90))
write(out, "bf16-edges", [helper.make_node("MatMul", ["x", "w"], ["y"])],
      ["x"], ["y"], {"w": w}, {"x": x}, {"y": bf16(mm(x, w))},
      elem=TensorProto.BFLOAT16)

x, w, b = bf16(rand(130, 200)), bf16(rand(200, 136)), bf16(rand(136))
write(out, "bf16-deep",
      [helper.make_node("MatMul", ["x", "w"], ["p"]),
       helper.make_node("Add", ["p", "b"], ["y"])],
      ["x"], ["y"], {"w": w, "b": b}, {"x": x}, {"y": bf16(mm(x, w) + b)},
      elem=TensorProto.BFLOAT16)

x, w = bf16(rand(72, 600)), bf16(rand(600, 136))
write(out, "bf16-long", [helper.make_node("MatMul", ["x", "w"], ["y"])],
      ["x"], ["y"], {"w": w}, {"x": x}, {"y": bf16(mm(x, w))},
      elem=TensorProto.BFLOAT16)

x, w, b = rand(1, 264), rand(264, 90), rand(90)
write(out, "gemv",
      [helper.make_node("MatMul", ["x", "w"], ["p"]),
       helper.make_node("Add", ["p", "b"], ["q"]),
       helper.make_node("Relu", ["q"], ["y"])],
      ["x"], ["y"], {"w": w, "b": b}, {"x": x},
      {"y": np.maximum(mm(x, w) + b, 0)})

x, w, r = rand(2, 3, 100), rand(100, 20), rand(2, 3, 20)
write(out, "gemv-rows",
      [helper.make_node("MatMul", ["x", "w"], ["p"]),
       helper.make_node("Add", ["p", "r"], ["y"])],
      ["x", "r"], ["y"], {"w": w}, {"x": x, "r": r},
      {"y": mm(x, w) + r})

a, bb = rand(3, 2, 40), rand(3, 40, 24)
write(out, "gemv-batched", [helper.make_node("MatMul", ["a", "b"], ["y"])],
      ["a", "b"], ["y"], {}, {"a": a, "b": bb}, {"y": mm(a, bb)})

x, w = bf16(rand(1, 520)), bf16(rand(520, 136))
write(out, "bf16-gemv", [helper.make_node("MatMul", ["x", "w"], ["y"])],
      ["x"], ["y"], {"w": w}, {"x": x}, {"y": bf16(mm(x, w))},
      elem=TensorProto.BFLOAT16)


def silu(v):
    return v / (1.0 + np.exp(-v))


def gelu_tanh(v):
    return 0.5 * v * (1.0 + np.tanh(0.7978845608028654 * (v + 0.044715 * v ** 3)))


def silu_nodes(src, dst):
    return [helper.make_node("Sigmoid", [src], [src + "_s"]),
            helper.make_node("Mul", [src, src + "_s"], [dst])]


def glu_cases(name, nodes, initializers, feeds, y, gate):
    """The case, and its twin that also outputs the gate's product."""
    write(out, name, nodes, ["x"], ["y"], initializers, feeds, {"y": y})
    write(out, name + "-twin", nodes, ["x"], ["y", nodes[0].output[0]],
          initializers, feeds, {"y": y, nodes[0].output[0]: gate})


x, g, u, bg, bu = rand(2, 70, 48), rand(48, 40), rand(48, 40), rand(40), rand(40)
biased = ([helper.make_node("MatMul", ["x", "g"], ["gp"]),
           helper.make_node("Add", ["gp", "bg"], ["gb"]),
           helper.make_node("MatMul", ["x", "u"], ["up"]),
           helper.make_node("Add", ["up", "bu"], ["ub"])]
          + silu_nodes("gb", "ga") + [helper.make_node("Mul", ["ga", "ub"], ["y"])])
for name, rows in (("glu", x), ("glu-gemv", x[:1, :4])):
    glu_cases(name, biased, {"g": g, "u": u, "bg": bg, "bu": bu}, {"x": rows},
              silu(mm(rows, g) + bg) * (mm(rows, u) + bu), mm(rows, g))

x, g, u = rand(90, 64), rand(72, 64), rand(72, 64)
c = lambda v, k: helper.make_node("Constant", [], [v], value_float=k)
glu_cases("glu-transb",
      [helper.make_node("Gemm", ["x", "g"], ["gp"], transB=1),
       helper.make_node("Gemm", ["x", "u"], ["up"], transB=1),
       c("half", 0.5), c("one", 1.0), c("k0", 0.7978845608028654),
       c("k1", 0.044715), c("three", 3.0),
       helper.make_node("Pow", ["gp", "three"], ["g3"]),
       helper.make_node("Mul", ["g3", "k1"], ["g3k"]),
       helper.make_node("Add", ["gp", "g3k"], ["inner"]),
       helper.make_node("Mul", ["inner", "k0"], ["scaled"]),
       helper.make_node("Tanh", ["scaled"], ["t"]),
       helper.make_node("Add", ["t", "one"], ["t1"]),
       helper.make_node("Mul", ["gp", "half"], ["gh"]),
       helper.make_node("Mul", ["gh", "t1"], ["ga"]),
       helper.make_node("Mul", ["ga", "up"], ["y"])],
      {"g": g, "u": u}, {"x": x},
      gelu_tanh(mm(x, g.T)) * mm(x, u.T), mm(x, g.T))

x, g, u = rand(40, 32), rand(32, 20), rand(32, 20)
write(out, "glu-odd",
      [helper.make_node("MatMul", ["x", "g"], ["gp"]),
       helper.make_node("MatMul", ["x", "u"], ["up"])]
      + silu_nodes("gp", "ga") + [helper.make_node("Mul", ["ga", "up"], ["y"])],
      ["x"], ["y"], {"g": g, "u": u}, {"x": x},
      {"y": silu(mm(x, g)) * mm(x, u)})

x, g, u = bf16(rand(100, 96)), bf16(rand(96, 56)), bf16(rand(96, 56))
write(out, "bf16-glu",
      [helper.make_node("MatMul", ["x", "g"], ["gp"]),
       helper.make_node("MatMul", ["x", "u"], ["up"])]
      + silu_nodes("gp", "ga") + [helper.make_node("Mul", ["ga", "up"], ["y"])],
      ["x"], ["y"], {"g": g, "u": u}, {"x": x},
      {"y": bf16(bf16(silu(bf16(mm(x, g)))) * bf16(mm(x, u)))},
      elem=TensorProto.BFLOAT16)
