#!/usr/bin/env python3
"""Rewrites a model's MatMuls by constant 2-D weights as ONNX Runtime's
4-bit (or 8-bit) MatMulNBits (com.microsoft), as its MatMul4BitsQuantizer
(MatMulNBitsQuantizer) does, and writes the twin model with the dequantized
float weights in plain MatMuls.

    make-matmulnbits.py IN.onnx NBITS.onnx TWIN.onnx [--block 32] [--symmetric]
                        [--bits 4|8] [--format qdq]

--format qdq writes what the quantizer's QDQ format writes instead: a
blocked DequantizeLinear (opset 21, axis 0, block_size) of an INT4 weight
[K, N] (symmetric: q - 8, no zero points) or a UINT4 one with UINT4 zero
points [blocks, N] (INT8/UINT8 with 8 bits), scales [blocks, N], then the
MatMul; 4-bit tensors pack two values a byte over the flattened tensor, the
low nibble first. The model's opset becomes 21.

Layout (the contrib op's): 4 bits, B [N, blocks, block / 2] uint8, two
values per byte along K, the low nibble first, zero_points [N *
ceil(blocks / 2)] uint8 packed the same way; 8 bits, B [N, blocks, block]
and zero_points [N * blocks], a byte each; scales [N * blocks]. Symmetric
quantization leaves the zero points out (2^(bits - 1)). Weights are
quantized per block of K: asymmetric scale (max - min) / (2^bits - 1) and
zero point round(-min / scale); symmetric scale absmax / 2^(bits - 1) (q =
round(w / scale) + 2^(bits - 1), clamped). fp16 weights give fp16 scales.
K need not be a multiple of the block: the last block is zero-padded.
"""
import argparse

import numpy as np
import onnx
from onnx import helper, numpy_helper


def quantize(w, block, symmetric, scale_dtype=np.float32, bits=4):
    """w [K, N] -> (packed [N, blocks, block * bits / 8] u8, scales
    [N*blocks] of scale_dtype, zero points packed u8 or None, dequantized
    [K, N] f32 with those scales)."""
    top, mid = 2 ** bits - 1, 2 ** (bits - 1)
    k, n = w.shape
    blocks = (k + block - 1) // block
    padded = np.zeros((n, blocks * block), np.float32)
    padded[:, :k] = w.T
    b = padded.reshape(n, blocks, block)
    if symmetric:
        scale = np.abs(b).max(-1) / mid
        scale[scale == 0] = 1.0
        zero = np.full((n, blocks), float(mid))
    else:
        lo = np.minimum(b.min(-1), 0.0)
        hi = np.maximum(b.max(-1), 0.0)
        scale = (hi - lo) / top
        scale[scale == 0] = 1.0
        zero = np.clip(np.round(-lo / scale), 0, top)
    scale = scale.astype(scale_dtype).astype(np.float32)
    q = np.clip(np.round(b / scale[..., None]) + zero[..., None], 0, top).astype(np.uint8)
    deq = ((q.astype(np.float32) - zero[..., None]) * scale[..., None]).reshape(n, -1)[:, :k]
    if bits == 8:
        zero_packed = None if symmetric else zero.astype(np.uint8).reshape(-1)
        return q, scale.reshape(-1).astype(scale_dtype), zero_packed, deq.T.astype(np.float32)
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    zero_packed = None
    if not symmetric:
        z = zero.astype(np.uint8)
        if blocks % 2:
            z = np.concatenate([z, np.zeros((n, 1), np.uint8)], axis=1)
        zero_packed = (z[:, 0::2] | (z[:, 1::2] << 4)).reshape(-1).astype(np.uint8)
    return packed, scale.reshape(-1).astype(scale_dtype), zero_packed, deq.T.astype(np.float32)


def tensor(name, data_type, dims, raw):
    """A TensorProto of raw bytes (the installed onnx predates INT4)."""
    t = onnx.TensorProto()
    t.name, t.data_type, t.raw_data = name, data_type, raw
    t.dims.extend(dims)
    return t


def pack4(values):
    """Two 4-bit values a byte over the flattened array, the low nibble
    first (ONNX's INT4/UINT4 layout)."""
    flat = (values.reshape(-1).astype(np.int64) & 0xF).astype(np.uint8)
    if flat.size % 2:
        flat = np.append(flat, np.uint8(0))
    return (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8).tobytes()


def qdq_weight(packed, scales, zeros, k, n, args, prefix):
    """The QDQ format's initializers and DequantizeLinear for the weight
    quantize() packed: q [K, N] with scales and zero points [blocks, N]."""
    bits, top, mid = args.bits, 2 ** args.bits - 1, 2 ** (args.bits - 1)
    if bits == 4:
        q = np.stack([packed & 0xF, packed >> 4], -1).reshape(n, -1)
    else:
        q = packed.reshape(n, -1)
    q = q[:, :k].T.astype(np.int64)  # [K, N], 0..top
    blocks = scales.size // n
    scales = scales.reshape(n, blocks).T.copy()
    int4, uint4 = 22, 21
    if zeros is None:  # symmetric: signed values, no zero points
        q = q - mid
        x = (tensor(prefix + ".x", int4, [k, n], pack4(q)) if bits == 4 else
             numpy_helper.from_array(q.astype(np.int8), prefix + ".x"))
        zero = None
    else:
        if bits == 4:
            z = np.stack([zeros & 0xF, zeros >> 4], -1).reshape(n, -1)[:, :blocks]
        else:
            z = zeros.reshape(n, blocks)
        z = z.T.astype(np.int64)
        x = (tensor(prefix + ".x", uint4, [k, n], pack4(q)) if bits == 4 else
             numpy_helper.from_array(q.astype(np.uint8), prefix + ".x"))
        zero = (tensor(prefix + ".zero_points", uint4, [blocks, n], pack4(z)) if bits == 4
                else numpy_helper.from_array(z.astype(np.uint8), prefix + ".zero_points"))
    assert q.min() >= -mid and q.max() <= top
    inits = [x, numpy_helper.from_array(scales, prefix + ".scales")]
    inputs = [x.name, prefix + ".scales"]
    if zero is not None:
        inits.append(zero)
        inputs.append(zero.name)
    node = helper.make_node("DequantizeLinear", inputs, [prefix + ".dequantized_w"],
                            name=prefix + "_DQ", axis=0, block_size=args.block)
    return inits, node


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("nbits")
    parser.add_argument("twin")
    parser.add_argument("--block", type=int, default=32)
    parser.add_argument("--symmetric", action="store_true")
    parser.add_argument("--bits", type=int, choices=(4, 8), default=4)
    parser.add_argument("--format", choices=("nbits", "qdq"), default="nbits")
    args = parser.parse_args()
    model = onnx.load(args.model)
    twin = onnx.load(args.model)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    twin_inits = {t.name: t for t in twin.graph.initializer}
    nodes, count = [], 0
    for node in graph.node:
        weight = inits.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2 or weight.data_type not in (
                onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16):
            nodes.append(node)
            continue
        w = numpy_helper.to_array(weight)
        # An fp16 model's scales are fp16 (the op's T1 is A's type).
        packed, scales, zeros, deq = quantize(w.astype(np.float32), args.block,
                                              args.symmetric, w.dtype, args.bits)
        deq = deq.astype(w.dtype)
        prefix = f"{node.name or node.output[0]}_q4"
        if args.format == "qdq":
            k, n = w.shape
            dq_inits, dq_node = qdq_weight(packed, scales, zeros, k, n, args, prefix)
            graph.initializer.extend(dq_inits)
            nodes.append(dq_node)
            nodes.append(helper.make_node("MatMul", [node.input[0], dq_node.output[0]],
                                          list(node.output), name=node.name))
        else:
            new_inits = [numpy_helper.from_array(packed, prefix + ".B"),
                         numpy_helper.from_array(scales, prefix + ".scales")]
            inputs = [node.input[0], prefix + ".B", prefix + ".scales"]
            if zeros is not None:
                new_inits.append(numpy_helper.from_array(zeros, prefix + ".zero_points"))
                inputs.append(prefix + ".zero_points")
            graph.initializer.extend(new_inits)
            nodes.append(helper.make_node(
                "MatMulNBits", inputs, list(node.output), name=node.name,
                domain="com.microsoft", K=w.shape[0], N=w.shape[1], bits=args.bits,
                block_size=args.block))
        # The twin reads the dequantized weight under a name of its own (a
        # weight may be shared).
        twin_inits[weight.name]  # exists
        deq_name = prefix + ".dequantized"
        twin.graph.initializer.append(numpy_helper.from_array(deq, deq_name))
        for twin_node in twin.graph.node:
            if twin_node.name == node.name and twin_node.output == node.output:
                twin_node.input[1] = deq_name
        count += 1
    del graph.node[:]
    graph.node.extend(nodes)
    if args.format == "nbits":
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    else:
        for opset in model.opset_import:
            if opset.domain in ("", "ai.onnx"):
                opset.version = max(opset.version, 21)
        model.ir_version = max(model.ir_version, 10)
    onnx.save(model, args.nbits)
    onnx.save(twin, args.twin)
    what = "MatMulNBits" if args.format == "nbits" else "blocked DequantizeLinear + MatMul"
    print(f"make-matmulnbits: {count} {what} ({args.bits} bits, block {args.block}, "
          f"{'symmetric' if args.symmetric else 'asymmetric'})")


if __name__ == "__main__":
    main()
