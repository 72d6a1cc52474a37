"""make-moe.py OUT

Writes ONNX Runtime mixture-of-experts models (com.microsoft MoE), each with
its router (a MatMul of the tokens) in the graph, an input x.npy and numpy's
output y.npy, into OUT/<variant>/. The reference follows ONNX Runtime's MoE
kernels and their parity tests (onnxruntime/test/python/transformers/
test_moe_cpu.py): router_probs are logits, softmaxed over the experts, the
k largest taken and (normalize_routing_weights) divided by their sum; each
expert is fc2(act(fc1(x))) with nn.Linear's [out, in] weights; swiglu is
g * sigmoid(alpha g) * (l + beta), g clamped above and l on both sides at
swiglu_limit, g and l interleaved (swiglu_fusion 1), concatenated (2) or from
fc1 and fc3 (0); another activation with fc3 is act(fc1) * fc3.

- swiglu: gpt-oss's expert (interleaved, biases, alpha 1.702, beta 1,
  limit 7, scaled so that the limit clamps), k 2 of 4, normalized, on a
  [2, 5, 16] input;
- mixtral: silu(fc1) * fc3, no biases, k 2 of 4, normalized, [6, 16];
- gelu-old-layout: gelu, k 1 of 4, not normalized, biases, weights in the
  earlier [E, in, out] layout;
- swiglu-concat: concatenated halves, the default alpha 1 and beta 0, no
  limit, k 3 of 5;
- relu-all: relu, k = E = 3 (every expert), not normalized;
- swiglu-step, mixtral-step, gelu-old-layout-step, swiglu-concat-step: the
  same blocks on one or two tokens with N k < E (8, 8, 4 and 5 experts), the
  importer's routed form;
- mixtral-f16: mixtral's model in float16 (weights and input), against the
  float32 reference.
- sparse-mixer, sparse-mixer-step: Phi-3.5-MoE's block (use_sparse_mixer:
  the top 2 of 8 experts' logits, each weighted by its softmax over the
  logits within 2 % of it, after Phi-3.5-MoE's sparsemixer; silu(fc1) * fc3)
  and a decoding step over 16 experts. One router column is near another,
  so that the second expert shares the weight where they lead.
Errors (the node named in one line): use_sparse_mixer with k 1, k = 0, an unknown
activation, swiglu with swiglu_fusion 0 and no fc3, an empty input.

QMoE (com.microsoft, onnxruntime-genai's int4/int8 MoE blocks): the same
blocks with each projection's weights quantized as ONNX Runtime's CPU kernel
reads them (onnxruntime/contrib_ops/cpu/moe/moe_quantization_cpu.cc): bytes
[E, out, in * bits / 8], 4-bit values two a byte along in, the low nibble
first; scales per row [E, out] or per block of block_size along in
[E, out, blocks]; w = (q - zero point) * scale, the zero point 2^(bits - 1)
(symmetric, as test_qmoe_cpu.py quantizes) or given (asymmetric, uint8
zero points packed 8 / bits a byte along out, or along the blocks). The
reference multiplies by the dequantized weights.

- qmoe-swiglu-int4: gpt-oss's expert, 4-bit per row, symmetric;
- qmoe-mixtral-int4-block: silu(fc1) * fc3, 4-bit, blocks of 16, zero points;
- qmoe-relu-int8: relu, 8-bit per row, zero points, biases;
- qmoe-gelu-int8-block: gelu, 8-bit, blocks of 16, symmetric;
- qmoe-swiglu-int4-step, qmoe-mixtral-int4-block-step: decoding steps (the
  routed form gathers the experts' bytes, scales and zero points);
- qmoe-swiglu-int4-f16: qmoe-swiglu-int4 in float16 (input, scales, biases);
- errors: 2-bit weights, router_weights, weights that are a graph input,
  scales of the wrong shape, integer scales, swiglu_fusion 0 without fc3,
  an FP4/FP8 global scale.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)


def sparsemixer(scores, jitter_eps=0.01):
    """Phi-3.5-MoE's sparsemixer at inference (modeling_phimoe.py), for one
    token's logits: the top expert, weighted by its softmax over the logits
    within 2 eps (relative) of it; then the top of the rest, weighted by its
    softmax over the rest within 2 eps of it. (experts, weights)."""
    def softmax(v):
        e = np.exp(v - v.max())
        return e / e.sum()
    first = int(np.argmax(scores))
    top = scores[first]
    mask = (top - scores) / np.maximum(np.abs(scores), top) > 2 * jitter_eps
    w1 = softmax(np.where(mask, -np.inf, scores))[first]
    rest = scores.copy()
    rest[first] = -np.inf
    second = int(np.argmax(rest))
    top = rest[second]
    mask = (top - scores) / np.maximum(np.abs(scores), top) > 2 * jitter_eps
    w2 = softmax(np.where(mask, -np.inf, rest))[second]
    return [first, second], np.array([w1, w2])


def sparse_margins(logits, jitter_eps=0.01):
    """The smallest distance of any logit from its sparsemixer mask threshold
    and of the second expert's logit from the third's, over the tokens."""
    margin = np.inf
    for scores in logits:
        order = np.argsort(-scores, kind="stable")
        margin = min(margin, scores[order[1]] - scores[order[2]])
        for top in (scores[order[0]], scores[order[1]]):
            edge = (top - scores) - 2 * jitter_eps * np.maximum(np.abs(scores), top)
            margin = min(margin, np.abs(edge[scores != top]).min())
    return margin


def reference(x, router, w1, b1, w2, b2, w3, b3, k, normalize, activation,
              fusion, alpha, beta, limit, sparse=False):
    tokens = x.reshape(-1, x.shape[-1]).astype(np.float64)
    logits = tokens @ router.astype(np.float64)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    out = np.zeros_like(tokens)
    for n in range(tokens.shape[0]):
        order = np.argsort(-probs[n], kind="stable")[:k]
        weights = probs[n, order]
        if sparse:
            order, weights = sparsemixer(logits[n])
        elif normalize:
            weights = weights / weights.sum()
        for e, weight in zip(order, weights):
            h = w1[e] @ tokens[n] + (b1[e] if b1 is not None else 0)
            if activation == "swiglu":
                if w3 is not None:
                    g, l = h, w3[e] @ tokens[n] + (b3[e] if b3 is not None else 0)
                elif fusion == 1:
                    g, l = h[0::2], h[1::2]
                else:
                    g, l = np.split(h, 2)
                if limit is not None:
                    g = np.minimum(g, limit)
                    l = np.clip(l, -limit, limit)
                h = g / (1 + np.exp(-alpha * g)) * (l + beta)
            else:
                if activation == "relu":
                    h = np.maximum(h, 0)
                elif activation == "silu":
                    h = h / (1 + np.exp(-h))
                elif activation == "gelu":
                    h = 0.5 * h * (1 + np.tanh(0.7978845608 * (h + 0.044715 * h ** 3)))
                if w3 is not None:
                    h = h * (w3[e] @ tokens[n] + (b3[e] if b3 is not None else 0))
            out[n] += weight * (w2[e] @ h + (b2[e] if b2 is not None else 0))
    return out.reshape(x.shape).astype(np.float32)


def quantize(w, bits, block, zero_points):
    """w [E, out, in] as QMoE stores it: (bytes, scales, packed zero points
    or None, the dequantized weight)."""
    experts, out, width = w.shape
    groups = w.reshape(experts, out, -1, block or width)
    top = 2 ** bits - 1
    if zero_points:
        low = np.minimum(groups.min(-1, keepdims=True), 0)
        high = np.maximum(groups.max(-1, keepdims=True), 0)
        scales = ((high - low) / top).astype(np.float32)
        zeros = np.clip(np.rint(-low / scales), 0, top)
    else:
        scales = (np.abs(groups).max(-1, keepdims=True) / (2 ** (bits - 1) - 1)).astype(np.float32)
        zeros = np.full(scales.shape, 2 ** (bits - 1))
    q = np.clip(np.rint(groups / scales) + zeros, 0, top)
    dequantized = ((q - zeros) * scales).reshape(w.shape)
    q = q.reshape(w.shape).astype(np.uint8)
    if bits == 4:
        q = q[..., 0::2] | (q[..., 1::2] << 4)
    scales = scales[..., 0] if block else scales[..., 0, 0]
    packed = None
    if zero_points:
        zeros = zeros[..., 0].astype(np.uint8) if block else zeros[..., 0, 0].astype(np.uint8)
        if bits == 4:
            if zeros.shape[-1] % 2:
                zeros = np.concatenate([zeros, np.zeros_like(zeros[..., :1])], -1)
            zeros = zeros[..., 0::2] | (zeros[..., 1::2] << 4)
        packed = zeros
    return q, scales, packed, dequantized.astype(np.float32)


def build(out, shape, experts, inter, k, activation, normalize=1, fusion=0,
          alpha=None, beta=None, limit=None, biases=True, fc3=False,
          old_layout=False, scale=0.3, out_scale=0.3, extra=None, quant=None,
          sparse=False):
    hidden = shape[-1]
    width = 2 * inter if activation == "swiglu" and not fc3 else inter
    r = lambda *s: (rng.standard_normal(s) * scale).astype(np.float32)
    w1, w2 = r(experts, width, hidden), r(experts, hidden, inter) * (out_scale / scale)
    w3 = r(experts, inter, hidden) if fc3 else None
    stored_quant = {}
    if quant:
        for name in ("w1", "w2", "w3"):
            w = {"w1": w1, "w2": w2, "w3": w3}[name]
            if w is None:
                continue
            stored_quant[name] = quantize(w, quant["bits"], quant.get("block", 0),
                                          quant.get("zero_points", False))
        w1, w2 = stored_quant["w1"][3], stored_quant["w2"][3]
        w3 = stored_quant["w3"][3] if fc3 else None
    b1 = r(experts, width) if biases else None
    b2 = r(experts, hidden) if biases else None
    b3 = r(experts, inter) if biases and fc3 else None
    x = rng.standard_normal(shape).astype(np.float32)
    # A router whose k-th and (k+1)-th logits are apart for every token, so
    # that 16-bit products (the ptx kernels) take the same experts.
    # The sparse mixer's: expert 1's router column near expert 0's (which is
    # larger than the rest), so that where they lead the second is within
    # the mixer's 2 % and shares the weight (for two tokens at least), and
    # every logit far from its mask threshold.
    for _ in range(1000):
        router = r(hidden, experts) * 4
        if sparse:
            router[:, 0] *= 2
            router[:, 1] = router[:, 0] * 0.995
            logits = x.reshape(-1, hidden).astype(np.float64) @ router
            shared = sum(sparsemixer(scores)[1][0] < 0.9 for scores in logits)
            if sparse_margins(logits) > 0.05 and shared >= min(2, len(logits)):
                break
            continue
        logits = np.sort(x.reshape(-1, hidden) @ router, axis=-1)[:, ::-1]
        if k < 1 or k >= experts or (logits[:, k - 1] - logits[:, k]).min() > 0.5:
            break
    else:
        sys.exit(f"make-moe: no router with separated top-{k} logits for {out}")
    y = reference(x, router, w1, b1, w2, b2, w3, b3, k, normalize, activation,
                  fusion, 1.0 if alpha is None else alpha,
                  0.0 if beta is None else beta, limit, sparse)
    if limit is not None:
        unclamped = reference(x, router, w1, b1, w2, b2, w3, b3, k, normalize,
                              activation, fusion, alpha, beta, None)
        if np.abs(unclamped - y).max() < 1e-2:
            sys.exit(f"make-moe: swiglu_limit {limit} clamps nothing in {out}")
    stored = lambda w: np.ascontiguousarray(w.transpose(0, 2, 1)) if old_layout else w
    inits = [numpy_helper.from_array(router, "router_w"),
             numpy_helper.from_array(np.array([-1, hidden], np.int64), "rows")]
    names = {"b1": b1, "b2": b2, "b3": b3}
    if quant:
        for name, (q, scales, zeros, _) in stored_quant.items():
            names[name] = q
            names["s" + name[1]] = scales
            names["z" + name[1]] = zeros
        given = lambda name: name if names.get(name) is not None else ""
        inputs = ["x", "router"] + [given(n) for n in (
            "w1", "s1", "b1", "w2", "s2", "b2", "w3", "s3", "b3", "z1", "z2", "z3")]
        while not inputs[-1]:
            inputs.pop()
    else:
        names.update({"w1": stored(w1), "w2": stored(w2),
                      "w3": None if w3 is None else stored(w3)})
        inputs = ["x", "router", "w1", "b1" if b1 is not None else "", "w2",
                  "b2" if b2 is not None else ""]
        if w3 is not None:
            inputs += ["w3", "b3" if b3 is not None else ""]
    for name, value in names.items():
        if value is not None:
            inits.append(numpy_helper.from_array(value, name))
    attrs = {"k": k, "activation_type": activation, "normalize_routing_weights": normalize}
    if sparse:
        attrs["use_sparse_mixer"] = 1
    if quant:
        attrs["expert_weight_bits"] = quant["bits"]
        if quant.get("block"):
            attrs["block_size"] = quant["block"]
    if activation == "swiglu":
        attrs["swiglu_fusion"] = fusion
    for name, value in (("activation_alpha", alpha), ("activation_beta", beta),
                        ("swiglu_limit", limit)):
        if value is not None:
            attrs[name] = value
    attrs.update(extra or {})
    nodes = [helper.make_node("Reshape", ["x", "rows"], ["tokens"], name="rows"),
             helper.make_node("MatMul", ["tokens", "router_w"], ["router"], name="router"),
             helper.make_node("QMoE" if quant else "MoE", inputs, ["y"], name="moe",
                              domain="com.microsoft", **attrs)]
    graph = helper.make_graph(
        nodes, "moe", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    os.makedirs(out, exist_ok=True)
    onnx.save(model, os.path.join(out, "model.onnx"))
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "y.npy"), y)


def half_copy(src, dst):
    """SRC's model in float16 (its float initializers, input and output) and
    its input x.npy cast, into DST."""
    half = onnx.load(f"{src}/model.onnx")
    for tensor in half.graph.initializer:
        if tensor.data_type == TensorProto.FLOAT:
            value = numpy_helper.to_array(tensor).astype(np.float16)
            tensor.CopyFrom(numpy_helper.from_array(value, tensor.name))
    for value in list(half.graph.input) + list(half.graph.output):
        value.type.tensor_type.elem_type = TensorProto.FLOAT16
    os.makedirs(dst, exist_ok=True)
    onnx.save(half, f"{dst}/model.onnx")
    np.save(f"{dst}/x.npy", np.load(f"{src}/x.npy").astype(np.float16))


def main():
    out = sys.argv[1]
    # fc1 at scale 1 so that the limit clamps, fc2 small so that the output
    # is of order 1 (16-bit products are compared at 3e-2).
    build(f"{out}/swiglu", (2, 5, 16), 4, 8, 2, "swiglu", fusion=1, alpha=1.702,
          beta=1.0, limit=7.0, scale=1.0, out_scale=0.02)
    build(f"{out}/mixtral", (6, 16), 4, 12, 2, "silu", biases=False, fc3=True)
    build(f"{out}/gelu-old-layout", (6, 16), 4, 24, 1, "gelu", normalize=0, old_layout=True)
    build(f"{out}/swiglu-concat", (6, 16), 5, 8, 3, "swiglu", fusion=2)
    build(f"{out}/relu-all", (6, 16), 3, 8, 3, "relu", normalize=0)
    # Decoding steps (N k < E): the routed form, which gathers each token's
    # experts.
    build(f"{out}/swiglu-step", (1, 1, 16), 8, 32, 2, "swiglu", fusion=1, alpha=1.702,
          beta=1.0, limit=7.0, scale=1.0, out_scale=0.02)
    build(f"{out}/mixtral-step", (2, 16), 8, 12, 2, "silu", biases=False, fc3=True)
    build(f"{out}/gelu-old-layout-step", (1, 16), 4, 24, 1, "gelu", normalize=0,
          old_layout=True)
    build(f"{out}/swiglu-concat-step", (1, 16), 5, 8, 3, "swiglu", fusion=2)
    # Phi-3.5-MoE's block: the sparse mixer's top 2 of 8 experts, silu(fc1) *
    # fc3; and a decoding step over 16 experts (routed).
    build(f"{out}/sparse-mixer", (6, 16), 8, 12, 2, "silu", biases=False, fc3=True,
          sparse=True)
    build(f"{out}/sparse-mixer-step", (1, 16), 16, 12, 2, "silu", biases=False, fc3=True,
          sparse=True)
    build(f"{out}/sparse-mixer-k1", (6, 16), 4, 8, 1, "silu", extra={"use_sparse_mixer": 1})
    build(f"{out}/k0", (6, 16), 4, 8, 0, "silu")
    build(f"{out}/unknown-activation", (6, 16), 4, 8, 2, "tanh")
    build(f"{out}/swiglu-no-fc3", (6, 16), 4, 8, 2, "swiglu", fusion=0, extra={})
    # Mixtral's block in float16 (onnxruntime-genai's CUDA exports): the
    # weights and the input cast, compared with the float32 reference.
    half_copy(f"{out}/mixtral", f"{out}/mixtral-f16")
    # QMoE: 4- and 8-bit experts, per row and per block, with and without
    # zero points.
    int4 = dict(bits=4)
    build(f"{out}/qmoe-swiglu-int4", (2, 5, 32), 4, 16, 2, "swiglu", fusion=1, alpha=1.702,
          beta=1.0, limit=7.0, scale=1.0, out_scale=0.02, quant=int4)
    block4 = dict(bits=4, block=16, zero_points=True)
    build(f"{out}/qmoe-mixtral-int4-block", (6, 32), 4, 32, 2, "silu", biases=False,
          fc3=True, quant=block4)
    build(f"{out}/qmoe-relu-int8", (6, 32), 4, 24, 2, "relu",
          quant=dict(bits=8, zero_points=True))
    build(f"{out}/qmoe-gelu-int8-block", (6, 32), 4, 32, 1, "gelu", normalize=0,
          quant=dict(bits=8, block=16))
    build(f"{out}/qmoe-swiglu-int4-step", (1, 1, 32), 8, 16, 2, "swiglu", fusion=1,
          alpha=1.702, beta=1.0, limit=7.0, scale=1.0, out_scale=0.02, quant=int4)
    build(f"{out}/qmoe-mixtral-int4-block-step", (2, 32), 8, 32, 2, "silu", biases=False,
          fc3=True, quant=block4)
    build(f"{out}/qmoe-bits2", (6, 32), 4, 16, 2, "relu", quant=dict(bits=2))
    build(f"{out}/qmoe-router-weights", (6, 32), 4, 16, 2, "relu", quant=int4)
    build(f"{out}/qmoe-input-weights", (6, 32), 4, 16, 2, "relu", quant=int4)
    build(f"{out}/qmoe-scales-shape", (6, 32), 4, 16, 2, "relu", quant=int4)
    build(f"{out}/qmoe-swiglu-no-fc3", (6, 32), 4, 16, 2, "swiglu", fusion=0, quant=int4)
    edit = lambda name: (onnx.load(f"{out}/{name}/model.onnx"), f"{out}/{name}/model.onnx")
    model, path = edit("qmoe-router-weights")
    moe = model.graph.node[-1]
    while len(moe.input) < 14:
        moe.input.append("")
    moe.input.append("router")
    onnx.save(model, path)
    # An FP4/FP8 input (fc1's global scale, input 15).
    moe.input[14] = ""
    moe.input.append("s1")
    os.makedirs(f"{out}/qmoe-global-scale", exist_ok=True)
    onnx.save(model, f"{out}/qmoe-global-scale/model.onnx")
    model, path = edit("qmoe-input-weights")
    w1 = next(t for t in model.graph.initializer if t.name == "w1")
    model.graph.input.append(helper.make_tensor_value_info("w1", TensorProto.UINT8, list(w1.dims)))
    model.graph.initializer.remove(w1)
    onnx.save(model, path)
    model, path = edit("qmoe-scales-shape")
    s2 = next(t for t in model.graph.initializer if t.name == "s2")
    s2.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(s2)[:, :-1], "s2"))
    onnx.save(model, path)
    os.makedirs(f"{out}/qmoe-int-scales", exist_ok=True)
    s1 = next(t for t in model.graph.initializer if t.name == "s1")
    s1.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(s1).astype(np.int32), "s1"))
    onnx.save(model, f"{out}/qmoe-int-scales/model.onnx")
    # gpt-oss's int4 block in float16: input, scales and biases.
    half_copy(f"{out}/qmoe-swiglu-int4", f"{out}/qmoe-swiglu-int4-f16")
    # A hidden size of 0 (the tokens' count would divide by it).
    empty = onnx.load(f"{out}/mixtral/model.onnx")
    empty.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 0
    os.makedirs(f"{out}/empty", exist_ok=True)
    onnx.save(empty, f"{out}/empty/model.onnx")


if __name__ == "__main__":
    main()
