//===- ImportAttention.cpp - ONNX import of transformer blocks ------------===//
//
// Transformer blocks written as one node: ONNX's Attention and
// RotaryEmbedding, ONNX Runtime's contrib attention, GroupQueryAttention,
// MoE, rotary and fused (skip, embedding) norms.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

namespace mlir::llm::importer {

/// ONNX Runtime's fused BERT embedding (com.microsoft EmbedLayerNormalization):
/// LayerNorm(word[input_ids] + position[position_ids or 0..S-1] +
/// segment[segment_ids]); its mask_index output is the number of ones in
/// each row of `mask`, its embedding_sum output the sum before the norm.
LogicalResult ONNXImporter::importEmbedLayerNormalization() {
  if (!input(0) || !input(2) || !input(3) || !input(5) || !input(6))
    return error("expects input_ids, word_embedding, position_embedding, "
                 "gamma and beta");
  Value ids = input(0);
  RankedTensorType idsType = typeOf(ids);
  if (idsType.getRank() != 2)
    return error("expects input_ids of rank 2");
  int64_t seq = idsType.getDimSize(1);
  // QEmbedLayerNormalization's 8-bit tensors: per-tensor (x - zero point) *
  // scale, after the gather for a table (only the rows read).
  auto dequantized = [&](unsigned index, Value value) -> Value {
    auto it = quantizedTables.find(index);
    if (!value || it == quantizedTables.end())
      return value;
    auto [scale, zero] = it->second;
    SmallVector<NamedAttribute> attrs;
    if (isUnsignedInput(index))
      attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
    return orNull(
        create<llm::DequantizeOp>({value, scale, zero}, attrs,
                                  typeOf(value).clone(builder.getF32Type())));
  };
  auto gather = [&](unsigned index, Value indices) -> Value {
    FailureOr<Value> rows = create<llm::GatherOp>(
        {input(index), indices},
        {namedAttr("axis", builder.getI64IntegerAttr(0))});
    return succeeded(rows) ? dequantized(index, *rows) : Value();
  };
  Value sum = gather(2, ids);
  Value positions = input(8);
  if (!positions) {
    SmallVector<int64_t> iota = llvm::to_vector(llvm::seq<int64_t>(0, seq));
    positions = indexConstant({1, seq}, iota);
  }
  sum = emit<llm::AddOp>({sum, gather(3, positions)});
  if (input(1) && input(4))
    sum = emit<llm::AddOp>({sum, gather(4, input(1))});
  Value gamma = dequantized(5, input(5)), beta = dequantized(6, input(6));
  if (!sum || !gamma || !beta)
    return failure();
  SmallVector<NamedAttribute> attrs = {
      namedAttr("axis", builder.getI64IntegerAttr(2)),
      namedAttr("epsilon",
                builder.getF32FloatAttr(getFloat("epsilon", 1e-12f)))};
  if (failed(setResult(
          create<llm::LayerNormOp>({sum, gamma, beta}, attrs, sum.getType()))))
    return failure();
  if (outputUsed(1)) {
    if (!input(7))
      return error("output 'mask_index' needs input 'mask'");
    Value mask = input(7);
    Type element = typeOf(mask).getElementType();
    Value isOne = emit<llm::EqualOp>({mask, scalarOf(element, 1)});
    FailureOr<Value> counted =
        isOne ? castTo(isOne, element) : FailureOr<Value>(failure());
    if (failed(counted))
      return failure();
    results.push_back(reduce<llm::ReduceSumOp>(*counted, {1},
                                               /*keepdims=*/false));
  } else if (outputUsed(2)) {
    results.push_back(results.front()); // placeholder at index 1
  }
  if (outputUsed(2))
    results.push_back(sum);
  return success();
}

/// com.microsoft QEmbedLayerNormalization (ONNX Runtime's quantize_dynamic
/// of an EmbedLayerNormalization): the tables, gamma and beta are 8-bit
/// (int8 or uint8, one type) with per-tensor scales (inputs 8 to 12) and
/// zero points (13 to 17); rows are dequantized as they are gathered, then
/// it is EmbedLayerNormalization (positions 0..S-1; mask_index the count of
/// ones per row).
LogicalResult ONNXImporter::importQEmbedLayerNormalization() {
  if (failed(requireInputs(1)))
    return failure();
  quantizedTables.clear();
  for (unsigned index : {2u, 3u, 4u, 5u, 6u}) {
    Value value = input(index), scale = input(index + 6),
          zero = input(index + 11);
    if (!value)
      continue;
    static const char *names[] = {"word_embedding", "position_embedding",
                                  "segment_embedding", "gamma", "beta"};
    std::string name = names[index - 2];
    if (!scale || !zero)
      return error(name + " needs its scale and zero point");
    if (failed(requireQuantized(value, name + "_quant", false)) ||
        failed(requireQuantized(zero, name + "_zero_point", false)))
      return failure();
    FailureOr<Value> wide = floatParameter(scale, name + "_scale");
    if (failed(wide))
      return failure();
    if (typeOf(*wide).getNumElements() != 1 ||
        typeOf(zero).getNumElements() != 1)
      return error(name + "_scale and " + name +
                   "_zero_point must be per tensor");
    quantizedTables[index] = {*wide, zero};
  }
  inputs.resize(8);
  LogicalResult result = importEmbedLayerNormalization();
  quantizedTables.clear();
  return result;
}

/// [B, L, N * D] -> [B, N, L, D].
Value ONNXImporter::splitHeads(Value x, int64_t heads) {
  if (!x)
    return {};
  RankedTensorType type = typeOf(x);
  FailureOr<Value> split = reshape(x, {type.getDimSize(0), type.getDimSize(1),
                                       heads, type.getDimSize(2) / heads});
  return succeeded(split) ? transposed(*split, {0, 2, 1, 3}) : Value();
}

/// [B, N, L, D] -> [B, L, N * D].
FailureOr<Value> ONNXImporter::mergeHeads(Value x) {
  if (!x)
    return failure();
  RankedTensorType type = typeOf(x);
  return reshape(transposed(x, {0, 2, 1, 3}),
                 {type.getDimSize(0), type.getDimSize(2),
                  type.getDimSize(1) * type.getDimSize(3)});
}

/// `cache` [B, N, P, D] followed by the new rows `fresh` [B, N, L, D] along
/// the sequence: the present of an ONNX Runtime attention with a past.
Value ONNXImporter::afterPast(Value cache, Value fresh) {
  if (!cache || !fresh)
    return fresh;
  return concatAlong({cache, fresh}, 2);
}

/// ONNX Runtime's fused self-attention (com.microsoft Attention), as its CPU
/// kernel computes it: Q, K and V from one projection (split by
/// qkv_hidden_sizes or in thirds); with `past` [2, B, H, P, D] the keys and
/// values follow the past ones, and output `present` [2, B, H, P + S, D]
/// holds them all; scaled scores plus mask_filter_value where the mask
/// excludes a key (a raw [B, T] or [B, S, T] 0/1 mask, or right-padding
/// lengths [B], or left-padding ends and starts [2B], T = P + S) or
/// unidirectional hides a later one, plus attention_bias; softmax; the
/// heads concatenated.
LogicalResult ONNXImporter::importMicrosoftAttention() {
  return microsoftAttention(/*quantized=*/false);
}

/// com.microsoft QAttention (ONNX Runtime's quantize_dynamic of an
/// Attention): the projection is the 8-bit input times the 8-bit weights
/// with their scales and zero points (weights per tensor or per column),
/// plus the bias; the rest is Attention's. Inputs: input, weight, bias,
/// input_scale, weight_scale, mask_index, input_zero_point,
/// weight_zero_point, past.
LogicalResult ONNXImporter::importQAttention() {
  return microsoftAttention(/*quantized=*/true);
}

LogicalResult ONNXImporter::microsoftAttention(bool quantized) {
  if (failed(requireInputs(quantized ? 5 : 2)))
    return failure();
  if (!quantized && input(6))
    return error("input 'past_sequence_length' is not supported");
  if (getInt("do_rotary", 0) != 0)
    return error("do_rotary is not supported");
  Value x = input(0);
  RankedTensorType xType = typeOf(x);
  if (xType.getRank() != 3)
    return error("expects an input of rank 3 [batch, sequence, hidden]");
  int64_t heads = getInt("num_heads", 0);
  RankedTensorType wType = typeOf(input(1));
  if (heads <= 0 || wType.getRank() != 2)
    return error("expects num_heads > 0 and 2-D weights");
  int64_t total = wType.getDimSize(1);
  SmallVector<int64_t> sizes(3, total / 3);
  if (std::optional<SmallVector<int64_t>> given = getInts("qkv_hidden_sizes"))
    sizes = *given;
  if (sizes.size() != 3 || sizes[0] + sizes[1] + sizes[2] != total ||
      sizes[0] != sizes[1] || llvm::any_of(sizes, [&](int64_t s) {
        return s <= 0 || s % heads != 0;
      }))
    return error("qkv_hidden_sizes " + shapeString(sizes) +
                 " do not split the weights' " + Twine(total) +
                 " columns into Q and K of one size and V, each a multiple of "
                 "num_heads " + Twine(heads));
  Value past = input(quantized ? 8 : 4);
  Value maskIndex = input(quantized ? 5 : 3);
  Value attentionBias = quantized ? Value() : input(5);
  if ((past || outputUsed(1)) && sizes[1] != sizes[2])
    return error("the past and present KV cache need V as wide as K, got "
                 "qkv_hidden_sizes " + shapeString(sizes));
  FailureOr<Value> projected =
      quantized ? integerProductToFloat(x, input(1), input(3), input(4),
                                        input(6), input(7), isUnsignedInput(0),
                                        isUnsignedInput(1))
                : plainMatMul(x, input(1));
  if (failed(projected))
    return failure();
  Value qkv = *projected;
  if (input(2))
    qkv = emit<llm::AddOp>({qkv, input(2)});
  if (quantized && qkv)
    qkv = orNull(castTo(qkv, typeOf(input(2)).getElementType()));
  if (!qkv)
    return failure();
  FailureOr<SmallVector<Value>> parts = createOp<llm::SplitOp>(
      qkv, {namedAttr("axis", builder.getI64IntegerAttr(2)),
            namedAttr("sizes", builder.getDenseI64ArrayAttr(sizes))});
  if (failed(parts))
    return failure();
  Value q = splitHeads((*parts)[0], heads), k = splitHeads((*parts)[1], heads),
        v = splitHeads((*parts)[2], heads);
  if (past) {
    int64_t batch = xType.getDimSize(0), headSize = sizes[1] / heads;
    ArrayRef<int64_t> shape = typeOf(past).getShape();
    if (shape.size() != 5 || shape[0] != 2 || shape[1] != batch ||
        shape[2] != heads || shape[4] != headSize)
      return error("expects past [2, B, num_heads, P, D] = [2, " +
                   Twine(batch) + ", " + Twine(heads) + ", P, " +
                   Twine(headSize) + "], got " + shapeString(shape));
    FailureOr<SmallVector<Value>> halves = createOp<llm::SplitOp>(
        past, {namedAttr("axis", builder.getI64IntegerAttr(0)),
               namedAttr("sizes", builder.getDenseI64ArrayAttr({1, 1}))});
    if (failed(halves))
      return failure();
    SmallVector<int64_t> cacheShape(shape.drop_front());
    k = afterPast(orNull(reshape((*halves)[0], cacheShape)), k);
    v = afterPast(orNull(reshape((*halves)[1], cacheShape)), v);
  }
  if (failed(setResult(microsoftAttend(q, k, v, maskIndex, attentionBias))))
    return failure();
  if (outputUsed(1)) {
    FailureOr<Value> present = stackAlong({k, v}, 0);
    if (failed(present))
      return failure();
    results.push_back(*present);
  }
  return success();
}

/// ONNX Runtime's MultiHeadAttention (com.microsoft): query [B, S, N * D]
/// with key and value [B, L, N * D] (plus `bias`), key and value already
/// per head [B, N, L, D] (a cross-attention's cached keys), or packed keys
/// and values [B, L, N, 2, D]; or Q, K and V packed in query [B, S, N, 3, D]
/// (plus `bias`). past_key and past_value [B, N, P, D] come before the new
/// keys and values, and present_key and present_value hold them all. The
/// core is microsoftAttend's.
LogicalResult ONNXImporter::importMicrosoftMultiHeadAttention() {
  if (failed(requireInputs(1)))
    return failure();
  if (input(8) || input(9))
    return error("inputs 'past_sequence_length' and 'cache_indirection' are "
                 "not supported");
  if (outputUsed(3))
    return error("output 'qk' is not supported");
  int64_t heads = getInt("num_heads", 0);
  if (heads <= 0)
    return error("expects num_heads > 0");
  Value query = input(0), key = input(1), value = input(2), bias = input(3);
  RankedTensorType qType = typeOf(query);
  // The parts of a packed [B, L, N, P, D] tensor along dim 3, as [B, N, L, D].
  auto unpacked = [&](Value packed) -> SmallVector<Value> {
    ArrayRef<int64_t> shape = typeOf(packed).getShape();
    SmallVector<int64_t> ones(shape[3], 1);
    FailureOr<SmallVector<Value>> parts = createOp<llm::SplitOp>(
        packed, {namedAttr("axis", builder.getI64IntegerAttr(3)),
                 namedAttr("sizes", builder.getDenseI64ArrayAttr(ones))});
    SmallVector<Value> result;
    for (int64_t i = 0; i < shape[3]; ++i)
      result.push_back(
          succeeded(parts)
              ? transposed(orNull(reshape((*parts)[i], {shape[0], shape[1],
                                                        shape[2], shape[4]})),
                           {0, 2, 1, 3})
              : Value());
    return result;
  };
  // The bias's Q, K and V parts ([N * D] each, then [N * Dv]), for widths.
  auto biasParts = [&](ArrayRef<int64_t> widths) -> FailureOr<SmallVector<Value>> {
    if (!bias)
      return SmallVector<Value>(3);
    if (typeOf(bias).getRank() != 1 ||
        typeOf(bias).getDimSize(0) != widths[0] + widths[1] + widths[2])
      return error("expects a bias [" + Twine(widths[0] + widths[1] + widths[2]) +
                   "] (Q, K and V widths " + shapeString(widths) + "), got " +
                   shapeString(typeOf(bias).getShape()));
    return createOp<llm::SplitOp>(
        bias, {namedAttr("axis", builder.getI64IntegerAttr(0)),
               namedAttr("sizes", builder.getDenseI64ArrayAttr(widths))});
  };
  auto plus = [&](Value x, Value b) -> Value {
    return b ? emit<llm::AddOp>({x, b}) : x;
  };
  Value q, k, v;
  if (!key) {
    ArrayRef<int64_t> shape = qType.getShape();
    if (value || shape.size() != 5 || shape[2] != heads || shape[3] != 3)
      return error("expects query [B, S, num_heads, 3, D] without key and "
                   "value (Q, K and V packed), got " + shapeString(shape));
    int64_t width = heads * shape[4];
    FailureOr<SmallVector<Value>> biases = biasParts({width, width, width});
    if (failed(biases))
      return failure();
    SmallVector<Value> parts = unpacked(query);
    for (int i = 0; i < 3; ++i) {
      Value b = (*biases)[i]
                    ? orNull(reshape((*biases)[i], {heads, 1, shape[4]}))
                    : Value();
      parts[i] = plus(parts[i], b);
    }
    q = parts[0];
    k = parts[1];
    v = parts[2];
  } else {
    if (qType.getRank() != 3 || qType.getDimSize(2) % heads != 0)
      return error("expects query [B, S, num_heads * D] when key is given, "
                   "got " + shapeString(qType.getShape()));
    int64_t width = qType.getDimSize(2), headSize = width / heads;
    ArrayRef<int64_t> keyShape = typeOf(key).getShape();
    if (keyShape.size() == 5) {
      if (value || bias || keyShape[2] != heads || keyShape[3] != 2 ||
          keyShape[4] != headSize)
        return error("expects packed keys and values [B, L, num_heads, 2, "
                     "D] = [B, L, " + Twine(heads) + ", 2, " +
                     Twine(headSize) + "] without value and bias, got " +
                     shapeString(keyShape));
      q = splitHeads(query, heads);
      SmallVector<Value> parts = unpacked(key);
      k = parts[0];
      v = parts[1];
    } else if (keyShape.size() == 4) {
      if (!value || typeOf(value).getRank() != 4 || bias ||
          keyShape[1] != heads || keyShape[3] != headSize ||
          typeOf(value).getDimSize(1) != heads ||
          typeOf(value).getDimSize(2) != keyShape[2])
        return error("expects key and value per head [B, num_heads, L, D] "
                     "= [B, " + Twine(heads) + ", L, " + Twine(headSize) +
                     "] without bias, got " + shapeString(keyShape) +
                     (value ? " and " + shapeString(typeOf(value).getShape())
                            : std::string()));
      if (input(6) || input(7))
        return error("past_key and past_value need key and value of rank 3 "
                     "or packed, not per head");
      q = splitHeads(query, heads);
      k = key;
      v = value;
    } else {
      if (keyShape.size() != 3 || !value || typeOf(value).getRank() != 3 ||
          keyShape[2] != width || typeOf(value).getDimSize(2) % heads != 0)
        return error("expects key [B, L, " + Twine(width) +
                     "] and value [B, L, num_heads * Dv], got " +
                     shapeString(keyShape) +
                     (value ? " and " + shapeString(typeOf(value).getShape())
                            : std::string()));
      FailureOr<SmallVector<Value>> biases =
          biasParts({width, width, typeOf(value).getDimSize(2)});
      if (failed(biases))
        return failure();
      q = splitHeads(plus(query, (*biases)[0]), heads);
      k = splitHeads(plus(key, (*biases)[1]), heads);
      v = splitHeads(plus(value, (*biases)[2]), heads);
    }
  }
  if (!q || !k || !v)
    return failure();
  Value pastKey = input(6), pastValue = input(7);
  if (!pastKey != !pastValue)
    return error("expects past_key and past_value both, or neither");
  if (pastKey) {
    ArrayRef<int64_t> kShape = typeOf(k).getShape(), vShape = typeOf(v).getShape();
    ArrayRef<int64_t> pk = typeOf(pastKey).getShape(),
                      pv = typeOf(pastValue).getShape();
    if (pk.size() != 4 || pv.size() != 4 || pk[0] != kShape[0] ||
        pk[1] != heads || pk[3] != kShape[3] || pv[0] != vShape[0] ||
        pv[1] != heads || pv[2] != pk[2] || pv[3] != vShape[3])
      return error("expects past_key and past_value [B, num_heads, P, D], "
                   "got " + shapeString(pk) + " and " + shapeString(pv));
    k = afterPast(pastKey, k);
    v = afterPast(pastValue, v);
    if (!k || !v)
      return failure();
  }
  if (failed(setResult(microsoftAttend(q, k, v, input(4), input(5)))))
    return failure();
  if (outputUsed(1) || outputUsed(2)) {
    results.push_back(k);
    results.push_back(v);
  }
  return success();
}

/// softmax(scores) over the keys (axis 3) times `values`: the end of an
/// attention composite.
FailureOr<Value> ONNXImporter::weighByScores(Value scores, Value values) {
  Value probs = softmaxAlong(scores, 3);
  if (!probs)
    return failure();
  return plainMatMul(probs, values);
}

/// llm.softmax of `x` along `axis` (null for a null `x`).
Value ONNXImporter::softmaxAlong(Value x, int64_t axis) {
  if (!x)
    return {};
  return orNull(create<llm::SoftmaxOp>(
      x, {namedAttr("axis", builder.getI64IntegerAttr(axis))}, x.getType()));
}

/// ONNX Runtime's attention core on q [B, H, S, D], k [B, H, T, D] and
/// v [B, H, T, Dv]: scores scaled by `scale` (default 1/sqrt(D)), plus
/// mask_filter_value where `mask` hides a key (a raw [B, T] or [B, S, T]
/// 0/1 mask, right-padding lengths [B], left-padding ends and starts [2B])
/// or unidirectional a later one (query i sits at key T - S + i), plus
/// `attentionBias`, as one additive mask (the attention fusion takes one);
/// softmax; times v; the heads concatenated again, [B, S, H * Dv].
FailureOr<Value> ONNXImporter::microsoftAttend(Value q, Value k, Value v,
                                               Value mask,
                                               Value attentionBias) {
  if (!q || !k || !v)
    return failure();
  RankedTensorType qType = typeOf(q);
  Type element = qType.getElementType();
  int64_t batch = qType.getDimSize(0), seq = qType.getDimSize(2),
          headSize = qType.getDimSize(3), keySeq = typeOf(k).getDimSize(2);
  FailureOr<Value> product = plainMatMul(q, k, /*transposeRhs=*/true);
  if (failed(product))
    return failure();
  double scale = attentionScale(headSize);
  Value scores = emit<llm::MulOp>({*product, scalarOf(element, scale)});

  // Which keys each query may not see: [B or 1, 1, S or 1, T], true = hidden.
  float filter = getFloat("mask_filter_value", -10000.0f);
  Value hidden;
  if (mask) {
    RankedTensorType maskType = typeOf(mask);
    Type maskElement = maskType.getElementType();
    Value zero = scalarOf(maskElement, 0);
    if ((maskType.getRank() == 2 || maskType.getRank() == 3) &&
        maskType.getShape().back() != keySeq)
      return error("expects a mask over the " + Twine(keySeq) +
                   " keys (past and new), got " +
                   shapeString(maskType.getShape()));
    if (maskType.getRank() == 2 || maskType.getRank() == 3) {
      SmallVector<int64_t> shape{batch, 1};
      if (maskType.getRank() == 2)
        shape.push_back(1);
      llvm::append_range(shape, maskType.getShape().drop_front());
      FailureOr<Value> shaped = reshape(mask, shape);
      if (failed(shaped))
        return failure();
      hidden = emit<llm::EqualOp>({*shaped, zero});
    } else if (maskType.getRank() == 1 &&
               (maskType.getDimSize(0) == batch ||
                maskType.getDimSize(0) == 2 * batch)) {
      // Key positions against each row's end (and start).
      Value keys = indexConstant(
          {1, 1, 1, keySeq}, llvm::to_vector(llvm::seq<int64_t>(0, keySeq)));
      auto bound = [&](int64_t offset) -> Value {
        Value slice = sliceAlong(mask, 0, offset, offset + batch);
        return slice ? orNull(reshape(slice, {batch, 1, 1, 1})) : Value();
      };
      auto asIndex = [&](Value value) -> Value {
        if (!value)
          return {};
        FailureOr<Value> cast = castTo(value, builder.getI64Type());
        return succeeded(cast) ? *cast : Value();
      };
      hidden = emit<llm::GreaterEqualOp>({keys, asIndex(bound(0))});
      if (maskType.getDimSize(0) == 2 * batch)
        hidden = emit<llm::OrOp>(
            {hidden, emit<llm::LessOp>({keys, asIndex(bound(batch))})});
    } else {
      return error("mask of shape " + shapeString(maskType.getShape()) +
                   " is not supported (supported: [B, T], [B, S, T], [B], "
                   "[2 * B])");
    }
  }
  if (getInt("unidirectional", 0) != 0) {
    // Query i sits at position keySeq - seq + i of the keys.
    SmallVector<bool> later;
    for (int64_t i = 0; i < seq; ++i)
      for (int64_t j = 0; j < keySeq; ++j)
        later.push_back(j > keySeq - seq + i);
    Value causal = denseConstant(builder.getI1Type(), {seq, keySeq},
                                 ArrayRef<bool>(later));
    hidden = hidden ? emit<llm::OrOp>({hidden, causal}) : causal;
  }
  // One additive mask (the attention fusion takes one).
  Value additive = attentionBias;
  if (hidden) {
    Value masked = emit<llm::WhereOp>(
        {hidden, scalarOf(element, filter), scalarOf(element, 0)});
    additive = additive ? emit<llm::AddOp>({masked, additive}) : masked;
  }
  if (additive)
    scores = emit<llm::AddOp>({scores, additive});
  FailureOr<Value> context = weighByScores(scores, v);
  if (failed(context))
    return failure();
  return mergeHeads(*context);
}

/// Two masks as one: i1 masks (true = attend) and-ed; otherwise each i1
/// mask as 0 or -inf, added. Either may be null.
Value ONNXImporter::combinedMask(Value a, Value b, Type element) {
  if (!a || !b)
    return a ? a : b;
  auto isBool = [](Value mask) {
    return typeOf(mask).getElementType().isInteger(1);
  };
  if (isBool(a) && isBool(b))
    return emit<llm::AndOp>({a, b});
  auto additive = [&](Value mask) -> Value {
    if (!isBool(mask))
      return mask;
    return emit<llm::WhereOp>(
        {mask, scalarOf(element, 0),
         scalarOf(element, -std::numeric_limits<double>::infinity())});
  };
  return emit<llm::AddOp>({additive(a), additive(b)});
}

/// The keys each of S queries sees among T under a causal rule, i1 [B or 1,
/// 1, S, T]: key j for query i when j <= i + offset and, with window > 0,
/// j > i + offset - window. The offset is `shift`, plus `rowShift` [B, 1, 1,
/// 1] (i64, one per batch row, known at run time) when given; without it
/// the mask is a constant.
Value ONNXImporter::causalMask(int64_t seq, int64_t length, int64_t shift,
                               Value rowShift, int64_t window) {
  if (!rowShift) {
    SmallVector<bool> seen;
    for (int64_t i = 0; i < seq; ++i)
      for (int64_t j = 0; j < length; ++j)
        seen.push_back(j <= i + shift &&
                       (window <= 0 || j > i + shift - window));
    return denseConstant(builder.getI1Type(), {1, 1, seq, length},
                         ArrayRef<bool>(seen));
  }
  Value rows = indexConstant(
      {1, 1, seq, 1}, llvm::to_vector(llvm::seq<int64_t>(shift, shift + seq)));
  Value last = emit<llm::AddOp>({rowShift, rows});
  Value j = indexConstant({1, 1, 1, length},
                          llvm::to_vector(llvm::seq<int64_t>(0, length)));
  Value mask = emit<llm::LessEqualOp>({j, last});
  if (window > 0)
    mask = emit<llm::AndOp>(
        {mask, emit<llm::GreaterOp>(
                   {j, emit<llm::SubOp>(
                           {last, scalarOf(builder.getI64Type(), window)})})});
  return mask;
}

/// softmax(q k^T * scale + mask) v on q [B, Hq, S, D] and k, v [B, Hkv, T,
/// D], query head h reading kv head h / (Hq / Hkv): one llm.attention
/// (`mask` i1, true = attend, or additive; `causal` its bottom-right rule,
/// key j hidden from query i when j > i + T - S, and with window > 0 also
/// when j <= i + T - S - window). With softcap > 0 the scaled
/// scores are capped to softcap * tanh(score / softcap) before the mask
/// (the op's `softcap`). With `sink` [Hq] each head's softmax has one more
/// logit, the sink's, in its denominator (the op's `sink`).
FailureOr<Value> ONNXImporter::groupedAttention(Value q, Value k, Value v,
                                                Value mask, double scale,
                                                double softcap, bool causal,
                                                Value sink, int64_t window) {
  if (!q || !k || !v)
    return failure();
  SmallVector<Value> operands{q, k, v};
  if (mask)
    operands.push_back(mask);
  if (sink)
    operands.push_back(sink);
  SmallVector<NamedAttribute> attributes{
      namedAttr("scale", builder.getF32FloatAttr(scale)),
      namedAttr("causal", builder.getBoolAttr(causal)),
      namedAttr(
          "operandSegmentSizes",
          builder.getDenseI32ArrayAttr({1, 1, 1, mask ? 1 : 0, sink ? 1 : 0}))};
  if (causal && window > 0)
    attributes.push_back(
        namedAttr("window", builder.getI64IntegerAttr(window)));
  if (softcap > 0)
    attributes.push_back(
        namedAttr("softcap", builder.getF32FloatAttr(softcap)));
  return create<llm::AttentionOp>(operands, attributes);
}

/// ONNX's Attention (opset 23; opset 24's nonpad_kv_seqlen) as its
/// reference implementation computes it: Q [B, S, Hq * D] with K and V
/// [B, T, Hkv * D] (q_num_heads, kv_num_heads), or all [B, H, L, D];
/// past_key and past_value [B, Hkv, P, D] before the new keys and values
/// (present_key, present_value); the scaled scores, capped by softcap,
/// plus attn_mask (i1, true = attend, or additive; padded to the keys with
/// false or -inf) broadcast to [B, Hq, S, T]; is_causal hides key j from
/// query i when j > i + P (with nonpad_kv_seqlen and no past, j > i +
/// nonpad_kv_seqlen[b] - S), nonpad_kv_seqlen the keys from
/// nonpad_kv_seqlen[b] on; softmax; query head h reads kv head
/// h / (Hq / Hkv).
LogicalResult ONNXImporter::importOnnxAttention() {
  if (failed(requireInputs(3)))
    return failure();
  if (outputUsed(3))
    return error("output 'qk_matmul_output' is not supported");
  Value query = input(0), key = input(1), value = input(2);
  int64_t rank = typeOf(query).getRank();
  if ((rank != 3 && rank != 4) || typeOf(key).getRank() != rank ||
      typeOf(value).getRank() != rank)
    return error("expects Q, K and V all of rank 3 [B, L, H * D] or all of "
                 "rank 4 [B, H, L, D], got " +
                 shapeString(typeOf(query).getShape()) + ", " +
                 shapeString(typeOf(key).getShape()) + " and " +
                 shapeString(typeOf(value).getShape()));
  Value q = query, k = key, v = value;
  if (rank == 3) {
    int64_t heads = getInt("q_num_heads", 0),
            kvHeads = getInt("kv_num_heads", 0);
    if (heads <= 0 || kvHeads <= 0 || typeOf(query).getDimSize(2) % heads ||
        typeOf(key).getDimSize(2) % kvHeads ||
        typeOf(value).getDimSize(2) % kvHeads)
      return error("expects q_num_heads and kv_num_heads > 0 dividing the "
                   "widths of Q and of K and V, got " + Twine(heads) +
                   " and " + Twine(kvHeads));
    q = splitHeads(query, heads);
    k = splitHeads(key, kvHeads);
    v = splitHeads(value, kvHeads);
    if (!q || !k || !v)
      return failure();
  }
  ArrayRef<int64_t> qShape = typeOf(q).getShape(),
                    kShape = typeOf(k).getShape(),
                    vShape = typeOf(v).getShape();
  int64_t batch = qShape[0], heads = qShape[1], seq = qShape[2];
  if (kShape[0] != batch || vShape[0] != batch || kShape[1] != vShape[1] ||
      heads % kShape[1] != 0 || kShape[3] != qShape[3] ||
      kShape[2] != vShape[2])
    return error("expects K and V of one batch, kv head count (dividing Q's " +
                 Twine(heads) + " heads) and length, K of Q's head size, got "
                 "per-head shapes " + shapeString(qShape) + ", " +
                 shapeString(kShape) + " and " + shapeString(vShape));
  Value pastKey = input(4), pastValue = input(5);
  if (!pastKey != !pastValue)
    return error("expects past_key and past_value both, or neither");
  int64_t past = 0;
  if (pastKey) {
    ArrayRef<int64_t> pk = typeOf(pastKey).getShape(),
                      pv = typeOf(pastValue).getShape();
    if (pk.size() != 4 || pv.size() != 4 || pk[0] != batch ||
        pk[1] != kShape[1] || pk[3] != kShape[3] || pv[0] != batch ||
        pv[1] != kShape[1] || pv[2] != pk[2] || pv[3] != vShape[3])
      return error("expects past_key and past_value [B, Hkv, P, D] = [" +
                   Twine(batch) + ", " + Twine(kShape[1]) + ", P, " +
                   Twine(kShape[3]) + "], got " + shapeString(pk) + " and " +
                   shapeString(pv));
    past = pk[2];
    k = afterPast(pastKey, k);
    v = afterPast(pastValue, v);
    if (!k || !v)
      return failure();
  }
  int64_t length = typeOf(k).getDimSize(2);
  Type element = typeOf(q).getElementType();
  Type i1 = builder.getI1Type();
  Value mask;
  if (Value given = input(3)) {
    RankedTensorType maskType = typeOf(given);
    bool isBool = maskType.getElementType().isInteger(1);
    int64_t maskRank = maskType.getRank(),
            width = maskRank ? maskType.getShape().back() : 0;
    if (maskRank < 2 || maskRank > 4 || width > length)
      return error("expects attn_mask of rank 2 to 4 broadcasting to [B, "
                   "Hq, S, T] over at most the " + Twine(length) +
                   " keys, got " + shapeString(maskType.getShape()));
    if (!isBool) {
      FailureOr<Value> typed = castTo(given, element);
      if (failed(typed))
        return failure();
      given = *typed;
    }
    SmallVector<int64_t> shape(4 - maskRank, 1);
    llvm::append_range(shape, maskType.getShape());
    given = orNull(reshape(given, shape));
    if (given && width < length) {
      // The keys past the mask: false, or -inf.
      SmallVector<int64_t> padShape(shape);
      padShape.back() = length - width;
      Type padElement = isBool ? i1 : element;
      Attribute fill =
          isBool ? Attribute(builder.getBoolAttr(false))
                 : Attribute(builder.getFloatAttr(
                       element, -std::numeric_limits<double>::infinity()));
      Value pad = createConstant(
          DenseElementsAttr::get(RankedTensorType::get(padShape, padElement),
                                 fill),
          nodeLoc);
      given = concatAlong({given, pad}, 3);
    }
    if (!given)
      return failure();
    mask = given;
  }
  Value lengths; // nonpad_kv_seqlen as [B, 1, 1, 1]
  if (Value nonpad = input(6)) {
    if (typeOf(nonpad).getNumElements() != batch)
      return error("expects nonpad_kv_seqlen [B] = [" + Twine(batch) + "]");
    FailureOr<Value> wide = castTo(nonpad, builder.getI64Type());
    lengths = succeeded(wide) ? orNull(reshape(*wide, {batch, 1, 1, 1}))
                              : Value();
    if (!lengths)
      return failure();
  }
  SmallVector<int64_t> keyPositions =
      llvm::to_vector(llvm::seq<int64_t>(0, length));
  bool causal = false;
  if (getInt("is_causal", 0) != 0) {
    if (lengths && !pastKey) {
      // Query i of row b sees keys up to i + nonpad_kv_seqlen[b] - S.
      mask = combinedMask(mask, causalMask(seq, length, -seq, lengths),
                          element);
    } else if (past + seq == length) {
      causal = true;
    } else {
      mask = combinedMask(mask, causalMask(seq, length, past), element);
    }
  }
  if (lengths)
    mask = combinedMask(
        mask,
        emit<llm::LessOp>(
            {indexConstant({1, 1, 1, length}, keyPositions), lengths}),
        element);
  if ((input(3) || lengths) && !mask)
    return failure();
  double scale = attentionScale(qShape[3]);
  FailureOr<Value> context = groupedAttention(
      q, k, v, mask, scale, getFloat("softcap", 0.0f), causal);
  if (failed(context))
    return failure();
  FailureOr<Value> output = rank == 3 ? mergeHeads(*context) : context;
  if (failed(output))
    return failure();
  results.push_back(*output);
  if (outputUsed(1) || outputUsed(2)) {
    results.push_back(k);
    results.push_back(v);
  }
  return success();
}

/// ONNX's TensorScatter (opset 24, a static KV cache's in-place update):
/// past_cache with update's S rows along `axis` written from row
/// write_indices[b] on for each batch row b (default 0); `circular` mode
/// wraps the rows modulo the axis's length M, `linear` writes nothing past
/// it. One gather of the flattened rows of [past | update]: output row j of
/// prefix p reads update row (j - write_b) (mod M) when it is below S, else
/// past row j.
LogicalResult ONNXImporter::importTensorScatter() {
  if (failed(requireInputs(2)))
    return failure();
  Value past = input(0), update = input(1);
  RankedTensorType type = typeOf(past), updateType = typeOf(update);
  int64_t rank = type.getRank();
  FailureOr<int64_t> axis = normalizeAxis(getInt("axis", -2), rank);
  if (failed(axis))
    return failure();
  std::string mode = getString("mode", "linear");
  if (mode != "linear" && mode != "circular")
    return error("mode '" + mode + "' is not supported (linear, circular)");
  ArrayRef<int64_t> shape = type.getShape(), updateShape = updateType.getShape();
  bool fits = *axis > 0 && updateType.getRank() == rank &&
              updateType.getElementType() == type.getElementType();
  for (int64_t i = 0; fits && i < rank; ++i)
    fits = i == *axis ? updateShape[i] <= shape[i] : updateShape[i] == shape[i];
  if (!fits)
    return error("expects an update of the cache's type and shape " +
                 shapeString(shape) + " but at most as long along axis " +
                 Twine(*axis) + " (not the batch axis 0), got " +
                 shapeString(updateShape));
  int64_t batch = shape[0], length = shape[*axis], seq = updateShape[*axis];
  int64_t prefix = 1, rest = 1;
  for (int64_t i = 0; i < *axis; ++i)
    prefix *= shape[i];
  for (int64_t i = *axis + 1; i < rank; ++i)
    rest *= shape[i];
  int64_t perBatch = prefix / batch;
  Type i64 = builder.getI64Type();
  // Each batch row's first written row, [B, 1, 1].
  Value write = indexConstant({batch, 1, 1}, SmallVector<int64_t>(batch, 0));
  if (Value given = input(2)) {
    if (typeOf(given).getNumElements() != batch)
      return error("expects write_indices [B] = [" + Twine(batch) + "]");
    FailureOr<Value> wide = castTo(given, i64);
    write = succeeded(wide) ? orNull(reshape(*wide, {batch, 1, 1})) : Value();
  }
  Value offset = emit<llm::SubOp>(
      {indexConstant({1, 1, length},
                     llvm::to_vector(llvm::seq<int64_t>(0, length))),
       write});
  if (mode == "circular")
    offset = emit<llm::ModOp>({offset, scalarOf(i64, length)});
  Value written = emit<llm::AndOp>(
      {emit<llm::GreaterEqualOp>({offset, scalarOf(i64, 0)}),
       emit<llm::LessOp>({offset, scalarOf(i64, seq)})});
  // Rows of the table [past (prefix * M) | update (prefix * S)].
  SmallVector<int64_t> pastRows, updateBases;
  for (int64_t p = 0; p < prefix; ++p) {
    for (int64_t j = 0; j < length; ++j)
      pastRows.push_back(p * length + j);
    updateBases.push_back(prefix * length + p * seq);
  }
  Value updateRow = emit<llm::AddOp>(
      {indexConstant({batch, perBatch, 1}, updateBases),
       emit<llm::MaxOp>({offset, scalarOf(i64, 0)})});
  Value index = emit<llm::WhereOp>(
      {written, updateRow,
       indexConstant({batch, perBatch, length}, pastRows)});
  FailureOr<Value> pastFlat = reshape(past, {prefix * length, rest});
  FailureOr<Value> updateFlat = reshape(update, {prefix * seq, rest});
  if (failed(pastFlat) || failed(updateFlat) || !index)
    return failure();
  Value table = concatAlong({*pastFlat, *updateFlat}, 0);
  FailureOr<Value> rows =
      table ? create<llm::GatherOp>(
                  {table, index},
                  {namedAttr("axis", builder.getI64IntegerAttr(0))})
            : FailureOr<Value>(failure());
  if (failed(rows))
    return failure();
  return setResult(reshape(*rows, shape));
}

/// `x` turned over the first 2 * half features of its last dim, half being
/// the last dim of `cos` and `sin` (which broadcast against x's other
/// dims): feature pairs (i, i + half), or interleaved (2i, 2i + 1), rotate
/// by angle i; the features past 2 * half pass through.
Value ONNXImporter::rotated(Value x, Value cos, Value sin, bool interleaved) {
  if (!x || !cos || !sin)
    return {};
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank(), headSize = type.getShape().back();
  int64_t half = typeOf(cos).getShape().back(), rotaryDim = 2 * half;
  Value rotary = x, rest;
  if (rotaryDim < headSize) {
    FailureOr<SmallVector<Value>> parts = createOp<llm::SplitOp>(
        x, {namedAttr("axis", builder.getI64IntegerAttr(rank - 1)),
            namedAttr("sizes", builder.getDenseI64ArrayAttr(
                                   {rotaryDim, headSize - rotaryDim}))});
    if (failed(parts))
      return {};
    rotary = (*parts)[0];
    rest = (*parts)[1];
  }
  // Element i of the rotated dims pairs with `partner` (the other half's,
  // or the other of its pair when interleaved) at angle `angle`:
  // x[i] cos + x[partner] (-sin) for the first of a pair, x[i] cos +
  // x[partner] sin for the second. One gather of x and of each angle table
  // (the ptx kernels fuse them into the multiply and add), as exact as the
  // halves' two products and a subtraction.
  SmallVector<int64_t> partner(rotaryDim), angle(rotaryDim);
  SmallVector<float> sign(rotaryDim);
  for (int64_t i = 0; i < rotaryDim; ++i) {
    bool firstOfPair = interleaved ? i % 2 == 0 : i < half;
    partner[i] = interleaved ? (firstOfPair ? i + 1 : i - 1)
                             : (firstOfPair ? i + half : i - half);
    angle[i] = interleaved ? i / 2 : i % half;
    sign[i] = firstOfPair ? -1.0f : 1.0f;
  }
  auto along = [&](Value value, ArrayRef<int64_t> positions) -> Value {
    return orNull(create<llm::GatherOp>(
        {value, indexConstant({rotaryDim}, positions)},
        {namedAttr("axis",
                   builder.getI64IntegerAttr(typeOf(value).getRank() - 1))}));
  };
  Type angleType = typeOf(sin).getElementType();
  Value signs = createConstant(
      DenseElementsAttr::get(RankedTensorType::get({rotaryDim}, angleType),
                             llvm::map_to_vector(sign,
                                                 [&](float v) {
                                                   return Attribute(
                                                       builder.getFloatAttr(
                                                           angleType, v));
                                                 })),
      nodeLoc);
  Value result = emit<llm::AddOp>(
      {emit<llm::MulOp>({rotary, along(cos, angle)}),
       emit<llm::MulOp>({along(rotary, partner),
                         emit<llm::MulOp>({along(sin, angle), signs})})});
  return rest ? concatAlong({result, rest}, rank - 1) : result;
}

/// ONNX Runtime's GroupQueryAttention (com.microsoft), the attention of
/// onnxruntime-genai's decoder exports (Llama, Mistral, Phi-3, Qwen2,
/// Gemma), as its CPU kernel computes it:
/// - query [B, S, Hq * D] with key and value [B, S, Hkv * D], or all three
///   packed in query [B, S, (Hq + 2 Hkv) * D];
/// - with do_rotary, Q and K turned at positions past_b + s (or
///   position_ids) by cos_cache and sin_cache [max positions, R / 2];
/// - row b's past_b = seqlens_k[b] + 1 - S earlier positions are in
///   past_key and past_value [B, Hkv, P, D] (none on the first prompt: P == 0
///   or S == total_sequence_length); present_key and present_value
///   [B, Hkv, T, D], T = max(total_sequence_length, P) (P + S when the total
///   is a run-time value), hold them, then the S new ones, then zeros (or,
///   when present is as long as past, the buffer it shares, past's rows);
/// - query s of row b sees keys past_b + s - local_window_size + 1 through
///   past_b + s (a window of local_window_size keys, as the kernel has
///   counted it since its fused rewrite; earlier kernels took one more);
///   scores scaled by `scale` (default 1/sqrt(D)), capped to
///   softcap * tanh(score / softcap) when softcap > 0, plus attention_bias;
///   smooth_softmax adds a logit 0, head_sink [Hq] each head's own, to the
///   softmax's denominator.
/// It is one llm.attention with grouped kv heads (causal, with the window
/// as its `window`, on a first prompt; a mask where a run-time past length
/// decides; softcap as its `softcap`, the sink as its `sink`).
LogicalResult ONNXImporter::importGroupQueryAttention() {
  if (failed(requireInputs(1)))
    return failure();
  int64_t heads = getInt("num_heads", 0), kvHeads = getInt("kv_num_heads", 0);
  if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
    return error("expects num_heads and kv_num_heads > 0, num_heads a "
                 "multiple of kv_num_heads, got " + Twine(heads) + " and " +
                 Twine(kvHeads));
  if (outputUsed(3))
    return error("output 'output_qk' is not supported");
  float softcap = getFloat("softcap", 0.0f);
  Value query = input(0);
  RankedTensorType qType = typeOf(query);
  if (qType.getRank() != 3)
    return error("expects a query of rank 3 [batch, sequence, hidden], got " +
                 shapeString(qType.getShape()));
  Type element = qType.getElementType();
  int64_t batch = qType.getDimSize(0), seq = qType.getDimSize(1),
          width = qType.getDimSize(2);
  int64_t headSize = 0;
  Value q, k, v;
  if (input(1) || input(2)) {
    if (!input(1) || !input(2))
      return error("expects key and value both, or neither (Q, K and V "
                   "packed in query)");
    headSize = width / heads;
    SmallVector<int64_t> kvShape{batch, seq, kvHeads * headSize};
    if (width % heads != 0 ||
        typeOf(input(1)).getShape() != ArrayRef<int64_t>(kvShape) ||
        typeOf(input(2)).getShape() != ArrayRef<int64_t>(kvShape))
      return error("expects query [B, S, num_heads * D] and key and value "
                   "[B, S, kv_num_heads * D], got " +
                   shapeString(qType.getShape()) + ", " +
                   shapeString(typeOf(input(1)).getShape()) + " and " +
                   shapeString(typeOf(input(2)).getShape()));
    q = query;
    k = input(1);
    v = input(2);
  } else {
    if (width % (heads + 2 * kvHeads) != 0)
      return error("expects a packed query width that is a multiple of "
                   "num_heads + 2 * kv_num_heads = " +
                   Twine(heads + 2 * kvHeads) + ", got " + Twine(width));
    headSize = width / (heads + 2 * kvHeads);
    FailureOr<SmallVector<Value>> parts = createOp<llm::SplitOp>(
        query, {namedAttr("axis", builder.getI64IntegerAttr(2)),
                namedAttr("sizes", builder.getDenseI64ArrayAttr(
                                       {heads * headSize, kvHeads * headSize,
                                        kvHeads * headSize}))});
    if (failed(parts))
      return failure();
    q = (*parts)[0];
    k = (*parts)[1];
    v = (*parts)[2];
  }
  q = splitHeads(q, heads);
  k = splitHeads(k, kvHeads);
  v = splitHeads(v, kvHeads);
  if (!q || !k || !v)
    return failure();

  // The cache's geometry, known at compile time.
  Value pastKey = input(3), pastValue = input(4);
  if (!pastKey != !pastValue)
    return error("expects past_key and past_value both, or neither");
  int64_t past = 0;
  if (pastKey) {
    ArrayRef<int64_t> shape = typeOf(pastKey).getShape();
    if (shape.size() != 4 || shape[0] != batch || shape[1] != kvHeads ||
        shape[3] != headSize || typeOf(pastValue).getShape() != shape)
      return error("expects past_key and past_value [B, kv_num_heads, P, D] "
                   "= [" + Twine(batch) + ", " + Twine(kvHeads) + ", P, " +
                   Twine(headSize) + "], got " + shapeString(shape) + " and " +
                   shapeString(typeOf(pastValue).getShape()));
    past = shape[2];
  }
  std::optional<int64_t> total;
  if (input(6))
    if (std::optional<SmallVector<int64_t>> ints = compileTimeInts(input(6));
        ints && ints->size() == 1)
      total = ints->front();
  if (total && (*total < seq || *total > past + seq))
    return error("total_sequence_length " + Twine(*total) +
                 " is outside [S, P + S] = [" + Twine(seq) + ", " +
                 Twine(past + seq) + "]");
  int64_t length = total ? std::max(*total, past) : past + seq;
  bool firstPrompt = past == 0 || (total && *total == seq);
  bool sharesPast = past > 0 && length == past;

  // Each row's past length, seqlens_k + 1 - S, as [B, 1, 1, 1] (none on the
  // first prompt).
  Type i64 = builder.getI64Type();
  Value pastLength;
  if (!firstPrompt) {
    Value lengths = input(5);
    if (!lengths || typeOf(lengths).getNumElements() != batch)
      return error("expects seqlens_k [B] = [" + Twine(batch) + "]");
    FailureOr<Value> wide = castTo(lengths, i64);
    FailureOr<Value> shaped = succeeded(wide)
                                  ? reshape(*wide, {batch, 1, 1, 1})
                                  : FailureOr<Value>(failure());
    if (failed(shaped))
      return failure();
    pastLength = seq == 1 ? *shaped
                          : emit<llm::AddOp>({*shaped, scalarOf(i64, 1 - seq)});
  }

  if (getInt("do_rotary", 0) != 0) {
    Value cosCache = input(7), sinCache = input(8);
    if (!cosCache || !sinCache)
      return error("do_rotary expects cos_cache and sin_cache");
    RankedTensorType cacheType = typeOf(cosCache);
    if (cacheType.getRank() != 2 ||
        typeOf(sinCache).getShape() != cacheType.getShape() ||
        2 * cacheType.getDimSize(1) > headSize)
      return error("expects cos_cache and sin_cache [max positions, R / 2] "
                   "with R at most the head size " + Twine(headSize) +
                   ", got " + shapeString(cacheType.getShape()) + " and " +
                   shapeString(typeOf(sinCache).getShape()));
    Value positions;
    if (Value ids = input(9)) {
      if (typeOf(ids).getNumElements() != batch * seq)
        return error("expects position_ids [B, S] = [" + Twine(batch) + ", " +
                     Twine(seq) + "]");
      FailureOr<Value> wide = castTo(ids, i64);
      positions = succeeded(wide) ? orNull(reshape(*wide, {batch, seq}))
                                  : Value();
    } else {
      positions = indexConstant(
          {1, seq}, llvm::to_vector(llvm::seq<int64_t>(0, seq)));
      if (pastLength)
        positions = emit<llm::AddOp>(
            {positions, orNull(reshape(pastLength, {batch, 1}))});
    }
    if (!positions)
      return failure();
    int64_t rows = typeOf(positions).getDimSize(0),
            half = cacheType.getDimSize(1);
    auto angles = [&](Value cache) -> Value {
      FailureOr<Value> typed = castTo(cache, element);
      FailureOr<Value> gathered =
          succeeded(typed)
              ? create<llm::GatherOp>(
                    {*typed, positions},
                    {namedAttr("axis", builder.getI64IntegerAttr(0))})
              : FailureOr<Value>(failure());
      return succeeded(gathered) ? orNull(reshape(*gathered,
                                                  {rows, 1, seq, half}))
                                 : Value();
    };
    Value cos = angles(cosCache), sin = angles(sinCache);
    bool interleaved = getInt("rotary_interleaved", 0) != 0;
    q = rotated(q, cos, sin, interleaved);
    k = rotated(k, cos, sin, interleaved);
    if (!q || !k)
      return failure();
  }

  // present_key and present_value [B, Hkv, T, D].
  auto zeros = [&](ArrayRef<int64_t> shape) {
    return zerosOf(RankedTensorType::get(shape, element));
  };
  SmallVector<int64_t> keyPositions =
      llvm::to_vector(llvm::seq<int64_t>(0, length));
  // After a run-time past: the row of [past | new | a zero row] that lands
  // at each position j, per batch row and kv head, [B, Hkv, T]: past's rows
  // before past_b, the new ones up to past_b + S, then past's (a shared
  // buffer) or the zero row; one gather of the flattened rows.
  int64_t tableRows = past + seq + 1;
  Value rowIndex;
  if (!firstPrompt) {
    Value j = indexConstant({1, 1, length}, keyPositions);
    SmallVector<int64_t> clamped;
    for (int64_t position : keyPositions)
      clamped.push_back(std::min(position, past - 1));
    Value pastRow = indexConstant({1, 1, length}, clamped);
    Value offset =
        emit<llm::SubOp>({j, orNull(reshape(pastLength, {batch, 1, 1}))});
    Value newRow = emit<llm::AddOp>(
        {emit<llm::MaxOp>({emit<llm::MinOp>({offset, scalarOf(i64, seq - 1)}),
                           scalarOf(i64, 0)}),
         scalarOf(i64, past)});
    Value restRow = sharesPast ? pastRow : scalarOf(i64, past + seq);
    Value source = emit<llm::WhereOp>(
        {emit<llm::LessOp>({offset, scalarOf(i64, 0)}), pastRow,
         emit<llm::WhereOp>(
             {emit<llm::LessOp>({offset, scalarOf(i64, seq)}), newRow,
              restRow})});
    SmallVector<int64_t> bases;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < kvHeads; ++h)
        bases.push_back((b * kvHeads + h) * tableRows);
    rowIndex = emit<llm::AddOp>(
        {indexConstant({batch, kvHeads, 1}, bases), source});
    if (!rowIndex)
      return failure();
  }
  auto presentOf = [&](Value cache, Value fresh) -> Value {
    if (!cache || (firstPrompt && length == seq))
      return fresh;
    if (firstPrompt) {
      // The new rows, then past's (a shared buffer) or zeros.
      Value tail = zeros({batch, kvHeads, length - seq, headSize});
      if (sharesPast)
        tail = sliceAlong(cache, 2, seq, length);
      return concatAlong({fresh, tail}, 2);
    }
    Value table =
        concatAlong({cache, fresh, zeros({batch, kvHeads, 1, headSize})}, 2);
    Value flat =
        table ? orNull(reshape(table, {batch * kvHeads * tableRows, headSize}))
              : Value();
    return gatherRows(flat, rowIndex);
  };
  Value presentKey = presentOf(pastKey, k),
        presentValue = presentOf(pastValue, v);
  if (!presentKey || !presentValue)
    return failure();

  // The keys each query sees, i1 [B or 1, 1, S, T]: key j for query s when
  // past_b + s - window < j <= past_b + s.
  int64_t window = getInt("local_window_size", -1);
  bool causal = firstPrompt && length == seq;
  Value mask;
  if (!causal) {
    mask = causalMask(seq, length, 0, pastLength, window);
    if (!mask)
      return failure();
  }
  double scale = attentionScale(headSize);
  Value bias;
  if (Value given = input(10)) {
    FailureOr<Value> typed = castTo(given, element);
    if (failed(typed))
      return failure();
    bias = *typed;
  }

  // smooth_softmax: a sink of 0 per head; head_sink: each head's own.
  Value sink;
  if (Value given = input(11)) {
    if (typeOf(given).getNumElements() != heads)
      return error("expects head_sink [num_heads] = [" + Twine(heads) + "]");
    sink = orNull(castTo(given, element));
    if (!sink)
      return failure();
  } else if (getInt("smooth_softmax", 0) != 0) {
    sink = zeros({heads});
  }
  FailureOr<Value> context = groupedAttention(
      q, presentKey, presentValue, combinedMask(mask, bias, element), scale,
      softcap, causal, sink, window);
  if (failed(context))
    return failure();
  FailureOr<Value> output = mergeHeads(*context);
  if (failed(output))
    return failure();
  results.push_back(*output);
  results.push_back(presentKey);
  results.push_back(presentValue);
  return success();
}

/// ONNX Runtime's mixture of experts (com.microsoft MoE, onnxruntime-genai's
/// float exports of Mixtral-, Qwen-MoE- and gpt-oss-style blocks) as its
/// kernels and their parity tests define it. router_probs [N, E] are
/// logits: softmax over the experts, the k largest taken (the lowest index
/// among equals) and, with normalize_routing_weights, divided by their
/// sum. Expert e is fc2(act(fc1(x))) with weights [E, out, in] as
/// nn.Linear stores them (x Wᵀ + b); the output is the sum of the taken
/// experts' results times their weights. activation_type: relu, gelu (the
/// tanh approximation), silu, identity, or swiglu: g * sigmoid(alpha g) *
/// (l + beta), g clamped from above and l on both sides at swiglu_limit
/// when it is given, g and l interleaved in fc1's rows (swiglu_fusion 1),
/// concatenated (2), or fc1's and fc3's (0). Another activation with fc3
/// is act(fc1(x)) * fc3(x) (Mixtral's gate and up projections). Weights
/// [E, in, out] (earlier releases' layout) are read as x W when the hidden
/// size tells them apart.
///
/// No data-dependent shapes: with fewer token-expert pairs than experts (N k
/// < E, a decoding step), each token's k experts' weights are gathered and
/// applied to its row; otherwise every expert runs on every token and the
/// experts not taken are weighted by zero (E / k times the routed work, but
/// whole-matrix products). use_sparse_mixer (Phi-3.5-MoE's routing, k 2)
/// takes the top 2 of the logits themselves, weighted as
/// sparseMixerWeights says.
///
/// QMoE (onnxruntime-genai's int4 and int8 MoE blocks, gpt-oss's among
/// them) is the same block with weight-only quantized experts, as ONNX
/// Runtime's CPU kernel reads them: each projection's weights [E, out,
/// in * bits / 8] bytes (expert_weight_bits 4: two values a byte along in,
/// the low nibble first; or 8), its scales per row [E, out] or per block of
/// block_size along in [E, out, blocks], and optional uint8 zero points
/// (inputs 11 to 13, packed 8 / bits a byte along out, or along the
/// blocks; by default 2^(bits - 1)): w = (q - zero point) * scale. The
/// weights stay 4- or 8-bit constants, dequantized where they are used
/// (after the gather of a token's experts when routed).
/// normalize_routing_weights is honoured as in MoE (the CPU kernel always
/// normalizes; onnxruntime-genai sets it). router_weights and the FP4/FP8
/// inputs are refused.
/// The sparse mixer's weights of the two experts `top` took from the
/// logits (Phi-3.5-MoE's sparsemixer at inference, ONNX Runtime's
/// sparse_mixer_top2 with jitter_eps 0.01): in round r, with m the expert's
/// logit, the logits l with m - l > 2 eps max(|l|, m) are masked (round 1
/// masks round 0's expert too), and the weight is the expert's softmax over
/// the rest: 1 / sum of exp(l - m) over the unmasked l. [N, 1] each.
SmallVector<Value> ONNXImporter::sparseMixerWeights(Value logits,
                                                    const TopKRounds &top,
                                                    int64_t experts) {
  Type element = typeOf(logits).getElementType();
  Value iota = positionsAlong(2, 1, experts);
  Value magnitude = emit<llm::AbsOp>(logits);
  Value threshold = scalarOf(element, 2 * 0.01);
  SmallVector<Value> weights;
  for (size_t r = 0; r < top.values.size(); ++r) {
    Value m = top.values[r];
    Value factor = emit<llm::MaxOp>({magnitude, m});
    Value masked = emit<llm::GreaterOp>(
        {emit<llm::SubOp>({m, logits}), emit<llm::MulOp>({threshold, factor})});
    if (r > 0)
      masked =
          emit<llm::OrOp>({masked, emit<llm::EqualOp>({iota, top.indices[0]})});
    Value terms =
        emit<llm::WhereOp>({masked, scalarOf(element, 0.0),
                            emit<llm::ExpOp>(emit<llm::SubOp>({logits, m}))});
    weights.push_back(
        emit<llm::ReciprocalOp>(reduce<llm::ReduceSumOp>(terms, {1}, true)));
  }
  return weights;
}

LogicalResult ONNXImporter::importMoE() {
  if (failed(requireInputs(2)))
    return failure();
  // QMoE puts each projection's scales after its weights.
  bool quantized = node->op_type() == "QMoE";
  auto at = [&](unsigned moe, unsigned qmoe) {
    return input(quantized ? qmoe : moe);
  };
  Value x = input(0), router = input(1), w1 = at(2, 2), b1 = at(3, 4),
        w2 = at(4, 5), b2 = at(5, 7), w3 = at(6, 8), b3 = at(7, 10);
  if (!w1 || !w2)
    return error(quantized ? "expects fc1_experts_weights (input 2) and "
                             "fc2_experts_weights (input 5)"
                           : "expects fc1_experts_weights (input 2) and "
                             "fc2_experts_weights (input 4)");
  bool sparseMixer = getInt("use_sparse_mixer", 0) != 0;
  int64_t bits = 8, block = 0;
  if (quantized) {
    bits = getInt("expert_weight_bits", 4);
    if (bits != 4 && bits != 8)
      return error("expert_weight_bits " + Twine(bits) +
                   " is not supported (4 or 8)");
    block = getInt("block_size", 0);
    if (block != 0 && (block < 16 || (block & (block - 1)) != 0))
      return error("block_size must be 0 or a power of two of at least 16, "
                   "got " +
                   Twine(block));
    if (input(14))
      return error("router_weights (input 14) is not supported");
    for (int i = 15; i < node->input_size(); ++i)
      if (input(i))
        return error("input " + Twine(i) +
                     " (FP4/FP8 global or activation scales) is not "
                     "supported");
  }
  RankedTensorType xType = typeOf(x), routerType = typeOf(router);
  Type element = xType.getElementType();
  if (!isa<FloatType>(element) || routerType.getElementType() != element)
    return error("expects floating-point input and router_probs of one type");
  for (Value value : {x, router, w1, w2, w3, b1, b2, b3}) {
    if (value && !typeOf(value).hasStaticShape())
      return error("needs static shapes");
    if (value && typeOf(value).getNumElements() == 0)
      return error("expects non-empty inputs");
  }
  if (xType.getRank() < 2 || routerType.getRank() != 2)
    return error("expects input [N, H] or [B, S, H] and router_probs [N, E]");
  int64_t hidden = xType.getShape().back();
  int64_t tokens = xType.getNumElements() / hidden;
  int64_t experts = routerType.getDimSize(1);
  if (routerType.getDimSize(0) != tokens)
    return error("router_probs has " + Twine(routerType.getDimSize(0)) +
                 " rows for " + Twine(tokens) + " tokens");
  int64_t k = getInt("k", 1);
  if (k < 1 || k > experts)
    return error("k = " + Twine(k) + " is not in 1.." + Twine(experts));
  if (sparseMixer && k != 2)
    return error("use_sparse_mixer (Phi-3.5-MoE's sparsemixer routing) "
                 "takes k = 2, got " +
                 Twine(k));
  std::string activation = getString("activation_type", "relu");
  if (!llvm::is_contained({"relu", "gelu", "silu", "identity", "swiglu"},
                          activation))
    return error("unsupported activation_type '" + activation + "'");
  bool swiglu = activation == "swiglu";
  int64_t fusion = getInt("swiglu_fusion", 0);
  if (swiglu && (fusion < 0 || fusion > 2))
    return error("swiglu_fusion " + Twine(fusion) + " is not 0, 1 or 2");
  if (swiglu && fusion == 0 && !w3)
    return error("swiglu with swiglu_fusion 0 expects fc3_experts_weights "
                 "(input " +
                 Twine(quantized ? 8 : 6) + ")");
  if (swiglu && fusion != 0 && w3)
    return error("swiglu_fusion " + Twine(fusion) +
                 " puts both halves in fc1: no fc3_experts_weights");

  // A weight [E, out, in] is read as x Wᵀ, [E, in, out] as x W; QMoE's
  // are [E, out, in * bits / 8] bytes.
  auto layout = [&](Value w, StringRef name, int64_t in,
                    std::optional<int64_t> out) -> FailureOr<bool> {
    ArrayRef<int64_t> shape = typeOf(w).getShape();
    if (shape.size() != 3 || shape[0] != experts)
      return error(name + " is not [" + Twine(experts) + ", out, in]");
    if (quantized) {
      if (in * bits % 8 == 0 && shape[2] == in * bits / 8 &&
          (!out || shape[1] == *out))
        return true;
      return error(name + " " + shapeString(shape) + " is not [" +
                   Twine(experts) + "," + (out ? Twine(*out) : Twine("out")) +
                   "," + Twine(in * bits / 8) + "] bytes (" + Twine(in) + " " +
                   Twine(bits) + "-bit inputs)");
    }
    if (shape[2] == in && (!out || shape[1] == *out))
      return true;
    if (shape[1] == in && (!out || shape[2] == *out))
      return false;
    return error(name + " [" + Twine(shape[0]) + ", " + Twine(shape[1]) + ", " +
                 Twine(shape[2]) + "] does not take " + Twine(in) + " inputs");
  };
  FailureOr<bool> fc1Transposed =
      layout(w1, "fc1_experts_weights", hidden, std::nullopt);
  if (failed(fc1Transposed))
    return failure();
  int64_t fc1Out = typeOf(w1).getDimSize(*fc1Transposed ? 1 : 2);
  bool bothInFc1 = swiglu && fusion != 0;
  if (bothInFc1 && fc1Out % 2 != 0)
    return error("fused swiglu needs an even fc1 width, got " + Twine(fc1Out));
  int64_t inter = bothInFc1 ? fc1Out / 2 : fc1Out;
  FailureOr<bool> fc2Transposed =
      layout(w2, "fc2_experts_weights", inter, hidden);
  FailureOr<bool> fc3Transposed =
      w3 ? layout(w3, "fc3_experts_weights", hidden, inter) : true;
  if (failed(fc2Transposed) || failed(fc3Transposed))
    return failure();
  auto checkBias = [&](Value b, StringRef name, int64_t out) {
    if (b && typeOf(b).getShape() != ArrayRef<int64_t>{experts, out})
      return error(name + " is not [" + Twine(experts) + ", " + Twine(out) +
                   "]");
    return success();
  };
  if (failed(checkBias(b1, "fc1_experts_bias", fc1Out)) ||
      failed(checkBias(b2, "fc2_experts_bias", hidden)) ||
      failed(checkBias(b3, "fc3_experts_bias", inter)))
    return failure();
  std::optional<ExpertWeights> q1, q2, q3;
  if (quantized) {
    FailureOr<ExpertWeights> fc1 = expertWeights(w1, input(3), input(11), "fc1",
                                                 fc1Out, hidden, bits, block);
    FailureOr<ExpertWeights> fc2 = expertWeights(w2, input(6), input(12), "fc2",
                                                 hidden, inter, bits, block);
    if (failed(fc1) || failed(fc2))
      return failure();
    q1 = *fc1;
    q2 = *fc2;
    if (w3) {
      FailureOr<ExpertWeights> fc3 = expertWeights(
          w3, input(9), input(13), "fc3", inter, hidden, bits, block);
      if (failed(fc3))
        return failure();
      q3 = *fc3;
    }
  }

  // Routing: the top k of the softmaxed logits, normalized when asked.
  // The sparse mixer takes the top 2 of the logits themselves, each
  // weighted by sparseMixerWeight (never normalized, as in ONNX Runtime).
  Value probs = sparseMixer ? router : softmaxAlong(router, 1);
  if (!probs)
    return failure();
  TopKRounds top = topKRounds(probs, 1, experts, k, /*largest=*/true);
  SmallVector<Value> mixerWeights;
  if (sparseMixer)
    mixerWeights = sparseMixerWeights(router, top, experts);
  bool normalize = !sparseMixer && getInt("normalize_routing_weights", 0) != 0;
  auto normalized = [&](Value gates) {
    return normalize ? emit<llm::DivOp>(
                           {gates, reduce<llm::ReduceSumOp>(gates, {1}, true)})
                     : gates;
  };
  auto view = [&](Value value, ArrayRef<int64_t> shape) -> Value {
    return value ? orNull(reshape(value, shape)) : Value();
  };

  // Routed, when fewer token-expert pairs than experts (decoding): each
  // token's k experts' weights gathered ([N, k, out, in]) and applied to
  // its row as [N, k, 1, .] products, which reads k experts per token.
  // Dense otherwise: every expert on every token as [E, N, .] products of
  // the rows [1, N, H], the experts not taken weighted by zero.
  bool routed = tokens * k < experts;
  Value indices, gates, rows;
  if (routed) {
    indices = concatAlong(top.indices, 1);
    gates = normalized(concatAlong(sparseMixer ? ArrayRef<Value>(mixerWeights)
                                               : ArrayRef<Value>(top.values),
                                   1));
    rows = view(x, {tokens, 1, 1, hidden});
  } else if (sparseMixer) {
    // Each expert's weight where it was taken, zero elsewhere.
    Value iota = positionsAlong(2, 1, experts);
    gates = scalarOf(element, 0.0);
    for (int64_t r = k - 1; r >= 0; --r)
      gates = emit<llm::WhereOp>(
          {emit<llm::EqualOp>({iota, top.indices[r]}), mixerWeights[r], gates});
    rows = view(x, {1, tokens, hidden});
  } else {
    gates = normalized(
        emit<llm::WhereOp>({top.taken, probs, scalarOf(element, 0.0)}));
    rows = view(x, {1, tokens, hidden});
  }
  // The experts' weights, the token's k of them when routed (gathered
  // before they are dequantized).
  auto expertsOf = [&](Value w, const std::optional<ExpertWeights> &q) {
    if (q)
      return dequantizedExperts(*q, routed ? indices : Value(), element);
    return routed ? gatherRows(w, indices) : w;
  };
  auto linear = [&](Value in, Value w, Value b, bool transposed, int64_t out,
                    const std::optional<ExpertWeights> &q) -> Value {
    if (!in)
      return {};
    Value weights = expertsOf(w, q);
    if (!weights)
      return {};
    Value y = orNull(plainMatMul(in, weights, transposed));
    if (b)
      y = emit<llm::AddOp>(
          {y, routed ? view(gatherRows(b, indices), {tokens, k, 1, out})
                     : view(b, {experts, 1, out})});
    return y;
  };
  // Halves of the last axis: interleaved pairs, or first and second half.
  auto halves = [&](Value value) -> std::pair<Value, Value> {
    if (!value)
      return {};
    SmallVector<int64_t> shape(typeOf(value).getShape());
    int64_t last = shape.size() - 1;
    shape.back() = inter;
    if (fusion == 2)
      return {sliceAlong(value, last, 0, inter),
              sliceAlong(value, last, inter, 2 * inter)};
    SmallVector<int64_t> pairShape(shape);
    pairShape.push_back(2);
    Value pairs = view(value, pairShape);
    return {view(sliceAlong(pairs, last + 1, 0, 1), shape),
            view(sliceAlong(pairs, last + 1, 1, 2), shape)};
  };
  Value h1 = linear(rows, w1, b1, *fc1Transposed, fc1Out, q1);
  Value h;
  if (swiglu) {
    auto [g, l] =
        w3 ? std::pair(h1, linear(rows, w3, b3, *fc3Transposed, inter, q3))
           : halves(h1);
    if (findAttr("swiglu_limit")) {
      double limit = getFloat("swiglu_limit", 0.0f);
      g = emit<llm::MinOp>({g, scalarOf(element, limit)});
      l = emit<llm::MaxOp>({emit<llm::MinOp>({l, scalarOf(element, limit)}),
                            scalarOf(element, -limit)});
    }
    Value alpha = scalarOf(element, getFloat("activation_alpha", 1.0f));
    Value beta = scalarOf(element, getFloat("activation_beta", 0.0f));
    Value swish = emit<llm::MulOp>(
        {g, emit<llm::SigmoidOp>({emit<llm::MulOp>({g, alpha})})});
    h = emit<llm::MulOp>({swish, emit<llm::AddOp>({l, beta})});
  } else {
    if (activation == "relu")
      h = emit<llm::ReluOp>({h1});
    else if (activation == "silu")
      h = emit<llm::MulOp>({h1, emit<llm::SigmoidOp>({h1})});
    else if (activation == "gelu" && h1)
      h = orNull(create<llm::GeluOp>(
          h1,
          {namedAttr("approximation",
                     llm::GeluApproximationAttr::get(
                         context, llm::GeluApproximation::tanh))},
          h1.getType()));
    else
      h = h1;
    if (w3)
      h = emit<llm::MulOp>(
          {h, linear(rows, w3, b3, *fc3Transposed, inter, q3)});
  }
  Value h2 = linear(h, w2, b2, *fc2Transposed, hidden, q2);

  // The gated results summed: over k ([N, k, 1, H] by gates [N, k, 1, 1])
  // or over the experts ([E, N, H] by the gates as [E, N, 1]).
  Value weights = routed
                      ? view(gates, {tokens, k, 1, 1})
                      : view(transposed(gates, {1, 0}), {experts, tokens, 1});
  Value sum = reduce<llm::ReduceSumOp>(emit<llm::MulOp>({h2, weights}),
                                       {routed ? 1 : 0}, false);
  if (!sum)
    return failure();
  return setResult(reshape(sum, xType.getShape()));
}

/// RotaryEmbedding, ONNX's (opset 23) and ONNX Runtime's (com.microsoft),
/// which differ in their inputs' order: x [B, S, hidden] (heads of
/// hidden / num_heads features, or without num_heads of twice the caches'
/// width) or [B, N, S, D]; each head's first rotary_embedding_dim features
/// (default: all) turned at position_ids [B, S] (or an offset [1]: offset +
/// s) by cos_cache and sin_cache [max positions, R / 2], or, without
/// position_ids, by caches [B, S, R / 2] already per position.
LogicalResult ONNXImporter::importRotaryEmbedding() {
  // ONNX's (opset 23) orders its inputs x, cos_cache, sin_cache,
  // position_ids; ONNX Runtime's x, position_ids, cos_cache, sin_cache.
  bool onnx = node->domain() != "com.microsoft";
  Value x = input(0), positionIds = input(onnx ? 3 : 1),
        cosCache = input(onnx ? 1 : 2), sinCache = input(onnx ? 2 : 3);
  if (!x || !cosCache || !sinCache)
    return error("expects input, cos_cache and sin_cache");
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank();
  if (rank != 3 && rank != 4)
    return error("expects an input [B, S, hidden] or [B, N, S, D], got " +
                 shapeString(type.getShape()));
  Type element = type.getElementType();
  RankedTensorType cacheType = typeOf(cosCache);
  if (typeOf(sinCache).getShape() != cacheType.getShape() ||
      cacheType.getRank() != (positionIds ? 2 : 3))
    return error("expects cos_cache and sin_cache of one shape, [max "
                 "positions, R / 2] with position_ids, [B, S, R / 2] without, "
                 "got " + shapeString(cacheType.getShape()) + " and " +
                 shapeString(typeOf(sinCache).getShape()));
  int64_t batch = type.getDimSize(0), seq = type.getDimSize(rank == 4 ? 2 : 1);
  int64_t half = cacheType.getShape().back();
  int64_t heads = getInt("num_heads", 0),
          rotaryDim = getInt("rotary_embedding_dim", 0), headSize = 0;
  if (rank == 4) {
    heads = type.getDimSize(1);
    headSize = type.getDimSize(3);
  } else {
    int64_t hidden = type.getDimSize(2);
    if (heads <= 0 && rotaryDim > 0)
      return error("rotary_embedding_dim needs num_heads");
    headSize = heads > 0 ? hidden / heads : 2 * half;
    if (headSize <= 0 || hidden % headSize != 0)
      return error("hidden size " + Twine(hidden) +
                   " is not a whole number of heads of " + Twine(headSize));
    heads = hidden / headSize;
  }
  if (rotaryDim <= 0)
    rotaryDim = headSize;
  if (rotaryDim > headSize || rotaryDim != 2 * half)
    return error("expects cos_cache and sin_cache of width R / 2 = " +
                 Twine(rotaryDim / 2) + " (R at most the head size " +
                 Twine(headSize) + "), got " + Twine(half));
  Value cos = cosCache, sin = sinCache;
  if (positionIds) {
    RankedTensorType idsType = typeOf(positionIds);
    FailureOr<Value> wide = castTo(positionIds, builder.getI64Type());
    if (failed(wide))
      return failure();
    Value positions;
    if (idsType.getNumElements() == 1 && idsType.getRank() <= 1) {
      Value offset = orNull(reshape(*wide, {1, 1}));
      positions = emit<llm::AddOp>(
          {offset, indexConstant({1, seq}, llvm::to_vector(
                                               llvm::seq<int64_t>(0, seq)))});
    } else if (idsType.getShape() == ArrayRef<int64_t>({batch, seq})) {
      positions = *wide;
    } else {
      return error("expects position_ids [B, S] = [" + Twine(batch) + ", " +
                   Twine(seq) + "] or an offset [1], got " +
                   shapeString(idsType.getShape()));
    }
    cos = gatherRows(cosCache, positions);
    sin = gatherRows(sinCache, positions);
  }
  auto typed = [&](Value value) -> Value {
    return value ? orNull(castTo(value, element)) : Value();
  };
  cos = typed(cos);
  sin = typed(sin);
  if (!cos || !sin)
    return failure();
  int64_t rows = typeOf(cos).getDimSize(0);
  Value result;
  if (rank == 4) {
    result = rotated(x, orNull(reshape(cos, {rows, 1, seq, half})),
                     orNull(reshape(sin, {rows, 1, seq, half})),
                     getInt("interleaved", 0) != 0);
  } else {
    Value split = orNull(reshape(x, {batch, seq, heads, headSize}));
    Value turned = rotated(split, orNull(reshape(cos, {rows, seq, 1, half})),
                           orNull(reshape(sin, {rows, seq, 1, half})),
                           getInt("interleaved", 0) != 0);
    result = turned ? orNull(reshape(turned, type.getShape())) : Value();
  }
  if (!result)
    return failure();
  return setResult(result);
}

/// com.microsoft SkipLayerNormalization and SkipSimplifiedLayerNormalization:
/// norm(input + skip + bias) over the last dim, with gamma (and beta, for the
/// layer norm). Outputs: the normalized value and, as output 3, the sum that
/// the next residual reads; the training outputs mean and inv_std_var are
/// not supported.
LogicalResult ONNXImporter::importSkipNormalization() {
  if (failed(requireInputs(3)))
    return failure();
  bool simplified = node->op_type() == "SkipSimplifiedLayerNormalization";
  Value sum = emit<llm::AddOp>({input(0), input(1)});
  // Inputs: input, skip, gamma, [beta,] bias (the RMS form has no beta).
  Value beta = simplified ? Value() : input(3);
  Value bias = input(simplified ? 3 : 4);
  if (bias)
    sum = emit<llm::AddOp>({sum, bias});
  if (!sum)
    return failure();
  int64_t axis = typeOf(sum).getRank() - 1;
  float epsilon = getFloat("epsilon", 1e-12f); // ONNX Runtime's default
  SmallVector<NamedAttribute> attrs = {
      namedAttr("axis", builder.getI64IntegerAttr(axis)),
      namedAttr("epsilon", builder.getF32FloatAttr(epsilon))};
  FailureOr<Value> normalized;
  if (simplified) {
    normalized =
        create<llm::RMSNormOp>({sum, input(2)}, attrs, sum.getType());
  } else {
    SmallVector<Value> operands{sum, input(2)};
    if (beta)
      operands.push_back(beta);
    normalized = create<llm::LayerNormOp>(operands, attrs, sum.getType());
  }
  if (failed(normalized))
    return failure();
  results.push_back(*normalized);
  if (outputUsed(1) || outputUsed(2))
    return error("the training outputs mean and inv_std_var are not "
                 "supported");
  if (outputUsed(3)) {
    // Outputs 1 and 2 unused: placeholders keep output 3 at its index.
    results.push_back(*normalized);
    results.push_back(*normalized);
    results.push_back(sum);
  }
  return success();
}

/// SimplifiedLayerNormalization (ONNX Runtime's RMSNorm): x / sqrt(mean(x^2)
/// + epsilon) * scale over the dims from `axis`.
LogicalResult ONNXImporter::importSimplifiedLayerNormalization() {
  if (failed(requireInputs(2)))
    return failure();
  FailureOr<int64_t> axis =
      normalizeAxis(getInt("axis", -1), typeOf(input(0)).getRank());
  if (failed(axis))
    return failure();
  if (outputUsed(1))
    return error("the training output inv_std_var is not supported");
  return setResult(create<llm::RMSNormOp>(
      {input(0), input(1)},
      {namedAttr("axis", builder.getI64IntegerAttr(*axis)),
       namedAttr("epsilon", builder.getF32FloatAttr(getFloat("epsilon", 1e-5f)))},
      input(0).getType()));
}

} // namespace mlir::llm::importer
