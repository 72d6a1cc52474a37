#!/usr/bin/env python3
"""Checks the graph after llm-graph-pipeline: per transformer block, one
llm.attention, the expected norm ops and one fused MLP matmul (a matmul
whose epilogue applies the activation), and none of the decomposed ops of a
norm, activation or attention chain left. With --gated (a gated MLP, whose
gate and up projections llm-fuse-qkv merges), the activation is instead one
llm op per block on a part of a merged product's split.

    check-fusion.py FILE.mlir --blocks N --norm OP=COUNT --activation ACT [--gated]
"""
import argparse
import re
import sys

# Ops that only appear in a decomposed norm, activation or attention chain
# (llm.where may remain: BERT builds its additive padding mask with it).
DECOMPOSED = ["softmax", "reduce_mean", "reduce_sum", "reduce_max", "erf", "tanh",
              "sigmoid", "pow", "sqrt", "rsqrt", "div", "gelu", "silu",
              "exp", "reciprocal"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mlir")
    parser.add_argument("--blocks", type=int, required=True)
    parser.add_argument("--norm", required=True, help="OP=COUNT, e.g. layer_norm=5")
    parser.add_argument("--activation", required=True, help="gelu, silu, relu")
    parser.add_argument("--gated", action="store_true",
                        help="the activation follows the split of a merged gate and up product")
    args = parser.parse_args()
    text = open(args.mlir).read()
    ops = re.findall(r"= (llm\.[a-z_]+)", text)
    count = lambda op: ops.count("llm." + op)
    problems = []
    if count("attention") != args.blocks:
        problems.append(f"{count('attention')} llm.attention, expected {args.blocks}")
    norm, norms = args.norm.split("=")
    if count(norm) != int(norms):
        problems.append(f"{count(norm)} llm.{norm}, expected {norms}")
    if args.gated:
        merged = set(re.findall(r"(%\d+):\d+ = llm\.split ", text))
        fused = sum(part in merged for part in
                    re.findall(r"= llm\.%s (%%\d+)#\d+" % args.activation, text))
        what = f"llm.{args.activation} on a split product"
    else:
        fused = len(re.findall(r"= llm\.matmul [^\n]*activation = #llm\.activation<%s>"
                               % args.activation, text))
        what = f"matmuls with a fused {args.activation}"
    if fused != args.blocks:
        problems.append(f"{fused} {what}, expected {args.blocks}")
    for op in DECOMPOSED:
        if count(op) and not (args.gated and op == args.activation and
                              count(op) == args.blocks):
            problems.append(f"{count(op)} llm.{op} left")
    if problems:
        print(f"check-fusion: {args.mlir}: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"check-fusion: {args.blocks} blocks: {args.blocks} attention, {norms} {norm}, "
          f"{args.blocks} {'split matmul, ' if args.gated else 'matmul+'}{args.activation}, "
          f"no decomposed op left")
    return 0


if __name__ == "__main__":
    sys.exit(main())
