//===- ImportLinearAlgebra.cpp - ONNX import of products and norms --------===//
//
// Softmax, losses, normalizations, MatMul and Gemm.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

namespace mlir::llm::importer {

//===----------------------------------------------------------------------===//
// Linear algebra and transformer blocks
//===----------------------------------------------------------------------===//

/// Softmax, LogSoftmax and Hardmax of a model below opset 13 (see
/// kCoerced2DAttr) normalize x reshaped to [d0 * ... * d(axis-1),
/// d(axis) * ... * d(n-1)] along its last axis: the op imported for that 2-D
/// value by `along` (given the value and the axis), reshaped back.
LogicalResult ONNXImporter::coercedTo2D(
    llvm::function_ref<LogicalResult(Value, int64_t)> along) {
  Value x = input(0);
  ArrayRef<int64_t> shape = typeOf(x).getShape();
  bool coerced = findAttr(kCoerced2DAttr) != nullptr;
  FailureOr<int64_t> axis =
      normalizeAxis(getInt("axis", coerced ? 1 : -1), shape.size());
  if (failed(axis))
    return failure();
  if (!coerced || *axis + 1 >= static_cast<int64_t>(shape.size()))
    return along(x, *axis);
  if (!typeOf(x).hasStaticShape())
    return error("expects a static shape to coerce x to 2-D at axis " +
                 Twine(*axis));
  int64_t rows = 1;
  for (int64_t dim : shape.take_front(*axis))
    rows *= dim;
  FailureOr<Value> flat = reshape(
      x, {rows, typeOf(x).getNumElements() / std::max<int64_t>(rows, 1)});
  if (failed(flat) || failed(along(*flat, 1)))
    return failure();
  Value normalized = results.pop_back_val();
  FailureOr<Value> back = reshape(normalized, shape);
  return failed(back) ? failure() : setResult(*back);
}

LogicalResult ONNXImporter::importSoftmax() {
  if (failed(requireInputs(1)))
    return failure();
  return coercedTo2D([&](Value x, int64_t axis) {
    return setResult(create<llm::SoftmaxOp>(
        x, {namedAttr("axis", builder.getI64IntegerAttr(axis))}, x.getType()));
  });
}

LogicalResult ONNXImporter::importLogSoftmax() {
  if (failed(requireInputs(1)))
    return failure();
  return coercedTo2D([&](Value x, int64_t axis) {
    Value result = logSoftmaxAlong(x, axis);
    return result ? setResult(result) : failure();
  });
}

/// log(softmax(x)) along `axis` as (x - max) - log(sum(exp(x - max))), as
/// torch's log_softmax computes it: a probability below the float range
/// (a logit more than about 104 under the row's maximum in f32) stays a
/// finite log-probability instead of log(0) = -inf.
Value ONNXImporter::logSoftmaxAlong(Value x, int64_t axis) {
  Value shifted =
      emit<llm::SubOp>({x, reduce<llm::ReduceMaxOp>(x, {axis}, true)});
  Value logSum = emit<llm::LogOp>(
      reduce<llm::ReduceSumOp>(emit<llm::ExpOp>(shifted), {axis}, true));
  return emit<llm::SubOp>({shifted, logSum});
}

/// NegativeLogLikelihoodLoss's arithmetic, as onnx.reference computes it:
/// loss = -logProb[n, target[n, d...], d...] times weight[target] (1
/// without weights), 0 where the target is `ignore_index`; `reduction`
/// none keeps it [N, d...], sum adds it up, mean divides the sum by the
/// sum of the weights that counted (without weights: of the targets that
/// counted).
FailureOr<Value>
ONNXImporter::negativeLogLikelihood(Value logProb, Value target, Value weight) {
  RankedTensorType type = typeOf(logProb);
  Type element = type.getElementType();
  if (type.getRank() < 2 || !type.hasStaticShape() || !isa<FloatType>(element))
    return error("expects a float input [N, C, ...] of static shape");
  SmallVector<int64_t> targetShape(type.getShape());
  targetShape.erase(targetShape.begin() + 1);
  RankedTensorType targetType = typeOf(target);
  if (!isa<IntegerType>(targetType.getElementType()) ||
      targetType.getShape() != ArrayRef<int64_t>(targetShape))
    return error(
        "expects integer targets of shape " + shapeString(targetShape) +
        " (the input's " + shapeString(type.getShape()) +
        " without its class axis 1), got " +
        shapeString(targetType.getShape()) +
        (isa<IntegerType>(targetType.getElementType()) ? "" : " of floats"));
  int64_t classes = type.getDimSize(1);
  if (weight && (typeOf(weight).getShape() != ArrayRef<int64_t>{classes} ||
                 typeOf(weight).getElementType() != element))
    return error("expects weights of shape [" + Twine(classes) +
                 "] (one per class) in the input's type, got " +
                 shapeString(typeOf(weight).getShape()));
  std::string reduction = getString("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean")
    return error("unknown reduction '" + reduction + "'");

  Type i64 = builder.getI64Type();
  FailureOr<Value> wide = castTo(target, i64);
  if (failed(wide))
    return failure();
  Value index = *wide;
  // Where the target is ignore_index (often out of [0, C), e.g. -100), read
  // class 0 instead and drop the term.
  Value kept;
  std::optional<int64_t> ignoreIndex;
  if (const onnx::AttributeProto *ignore = findAttr("ignore_index")) {
    ignoreIndex = ignore->i();
    kept = emit<llm::NotOp>(
        emit<llm::EqualOp>({index, scalarOf(i64, *ignoreIndex)}));
    index = emit<llm::WhereOp>({kept, index, scalarOf(i64, 0)});
  }
  classTargets.push_back({target, classes, ignoreIndex,
                          cast<NameLoc>(nodeLoc).getName().getValue().str()});
  SmallVector<int64_t> columnShape(targetShape);
  columnShape.insert(columnShape.begin() + 1, 1);
  FailureOr<Value> column =
      index ? reshape(index, columnShape) : FailureOr<Value>(failure());
  FailureOr<Value> flatData = reshape(logProb, {type.getNumElements()});
  if (failed(column) || failed(flatData))
    return failure();
  Value places = elementTargets(*column, type.getShape(), /*axis=*/1);
  FailureOr<Value> picked =
      places ? create<llm::GatherOp>(
                   {*flatData, places},
                   {namedAttr("axis", builder.getI64IntegerAttr(0))})
             : FailureOr<Value>(failure());
  FailureOr<Value> pickedRows = succeeded(picked)
                                    ? reshape(*picked, targetShape)
                                    : FailureOr<Value>(failure());
  if (failed(pickedRows))
    return failure();
  Value loss = emit<llm::NegOp>(*pickedRows);
  Value zero = scalarOf(element, 0);
  if (kept)
    loss = emit<llm::WhereOp>({kept, loss, zero});
  // Each term's weight, where it is not 1.
  Value weights;
  if (weight) {
    weights = orNull(create<llm::GatherOp>(
        {weight, index}, {namedAttr("axis", builder.getI64IntegerAttr(0))}));
    if (kept)
      weights = emit<llm::WhereOp>({kept, weights, zero});
    loss = emit<llm::MulOp>({loss, weights});
  } else if (kept) {
    weights = emit<llm::WhereOp>({kept, scalarOf(element, 1), zero});
  }
  if (!loss)
    return failure();
  if (reduction == "none")
    return loss;
  SmallVector<int64_t> all =
      llvm::to_vector(llvm::seq<int64_t>(0, targetShape.size()));
  Value total = reduce<llm::ReduceSumOp>(loss, all, /*keepdims=*/false);
  if (reduction == "sum")
    return orFailure(total);
  Value count = weights ? reduce<llm::ReduceSumOp>(weights, all, false)
                        : scalarOf(element, typeOf(loss).getNumElements());
  return orFailure(emit<llm::DivOp>({total, count}));
}

/// NegativeLogLikelihoodLoss(input [N, C, d...] of log-probabilities,
/// target [N, d...], weight [C]?): see negativeLogLikelihood.
LogicalResult ONNXImporter::importNegativeLogLikelihoodLoss() {
  if (failed(requireInputs(2)))
    return failure();
  return setResult(negativeLogLikelihood(input(0), input(1), input(2)));
}

/// SoftmaxCrossEntropyLoss(scores [N, C, d...], labels [N, d...],
/// weights [C]?): the negative log-likelihood of log_softmax(scores) along
/// the class axis, and those log-probabilities as the optional second
/// output. This is how torch exports `F.cross_entropy` (a language model's
/// loss, with ignore_index -100 on padding) from opset 12 on.
LogicalResult ONNXImporter::importSoftmaxCrossEntropyLoss() {
  if (failed(requireInputs(2)))
    return failure();
  Value scores = input(0);
  if (typeOf(scores).getRank() < 2)
    return error("expects scores [N, C, ...] of rank 2 or more");
  Value logProb = logSoftmaxAlong(scores, 1);
  if (!logProb)
    return failure();
  if (failed(setResult(negativeLogLikelihood(logProb, input(1), input(2)))))
    return failure();
  if (node->output_size() > 1)
    results.push_back(logProb);
  return success();
}

/// InstanceNormalization and GroupNormalization: x [N, C, ...] normalized
/// over each group of C / G channels and all positions (G = C for
/// InstanceNormalization), then scaled and shifted per channel. Opset 18's
/// GroupNormalization gives scale and bias per group, opset 21's per
/// channel.
LogicalResult ONNXImporter::importGroupNormalization() {
  if (failed(requireInputs(3)))
    return failure();
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  if (type.getRank() < 2 || !isa<FloatType>(type.getElementType()))
    return error("expects a float input of rank 2 or more");
  int64_t batch = type.getDimSize(0), channels = type.getDimSize(1);
  bool instance = node->op_type() == "InstanceNormalization";
  int64_t groups = instance ? channels : getInt("num_groups", 0);
  if (groups <= 0 || channels % groups)
    return error("num_groups " + Twine(groups) + " does not divide " +
                 Twine(channels) + " channels");
  int64_t spatial = type.getNumElements() / std::max<int64_t>(batch * channels, 1);
  Type element = type.getElementType();
  float epsilon = getFloat("epsilon", 1e-5f);
  // Normalized in f32 (ONNX's stash_type default), as the other norms.
  FailureOr<Value> wide = castTo(x, builder.getF32Type());
  FailureOr<Value> grouped =
      succeeded(wide) ? reshape(*wide, {batch, groups, channels / groups * spatial})
                      : FailureOr<Value>(failure());
  if (failed(grouped))
    return failure();
  Value mean = reduce<llm::ReduceMeanOp>(*grouped, {2}, /*keepdims=*/true);
  Value centered = emit<llm::SubOp>({*grouped, mean});
  Value variance = reduce<llm::ReduceMeanOp>(
      emit<llm::MulOp>({centered, centered}), {2}, /*keepdims=*/true);
  Value normalized = emit<llm::DivOp>(
      {centered,
       emit<llm::SqrtOp>(
           {emit<llm::AddOp>({variance, scalarOf(builder.getF32Type(), epsilon)})})});
  if (!normalized)
    return failure();
  FailureOr<Value> restored = reshape(normalized, type.getShape());
  FailureOr<Value> narrowed = succeeded(restored)
                                  ? castTo(*restored, element)
                                  : FailureOr<Value>(failure());
  if (failed(narrowed))
    return failure();
  // Scale and bias as [C, 1, ...] (a per-group one repeated per channel).
  SmallVector<int64_t> perChannel{channels};
  perChannel.append(type.getRank() - 2, 1);
  auto channelwise = [&](Value parameter) -> Value {
    int64_t count = typeOf(parameter).getNumElements();
    if (count == groups && groups != channels) {
      FailureOr<Value> column = reshape(parameter, {groups, 1});
      FailureOr<Value> spread =
          succeeded(column)
              ? create<llm::ExpandOp>(*column, {},
                                      typeOf(*column).clone(
                                          {groups, channels / groups}))
              : FailureOr<Value>(failure());
      if (failed(spread))
        return {};
      parameter = *spread;
    } else if (count != channels) {
      return {};
    }
    FailureOr<Value> shaped = reshape(parameter, perChannel);
    return succeeded(shaped) ? *shaped : Value();
  };
  Value scale = channelwise(input(1)), bias = channelwise(input(2));
  if (!scale || !bias)
    return error("expects scale and bias of " + Twine(channels) +
                 " channels" +
                 (instance ? Twine("") : " or " + Twine(groups) + " groups"));
  Value y = emit<llm::AddOp>({emit<llm::MulOp>({*narrowed, scale}), bias});
  return y ? setResult(y) : failure();
}

LogicalResult ONNXImporter::importLayerNormalization() {
  if (failed(requireInputs(2)))
    return failure();
  FailureOr<int64_t> axis =
      normalizeAxis(getInt("axis", -1), typeOf(input(0)).getRank());
  if (failed(axis))
    return failure();
  SmallVector<Value> operands{input(0), input(1)};
  if (Value bias = input(2))
    operands.push_back(bias);
  float epsilon = getFloat("epsilon", 1e-5f);
  if (failed(setResult(create<llm::LayerNormOp>(
          operands,
          {namedAttr("axis", builder.getI64IntegerAttr(*axis)),
           namedAttr("epsilon", builder.getF32FloatAttr(epsilon))},
          input(0).getType()))))
    return failure();
  if (!outputUsed(1) && !outputUsed(2))
    return success();
  // The optional outputs Mean and InvStdDev (kept dims, in the stash type),
  // from the elementwise ops: they are training outputs, so no fused op
  // computes them.
  int64_t stash = getInt("stash_type", onnx::TensorProto::FLOAT);
  ElementType stashType = elementTypeOf(stash, context);
  if (!stashType.type || !isa<FloatType>(stashType.type))
    return error("unsupported stash_type " + dataTypeName(stash));
  FailureOr<Value> x = castTo(input(0), stashType.type);
  if (failed(x))
    return failure();
  int64_t rank = typeOf(*x).getRank();
  SmallVector<NamedAttribute> reduceAttrs = {
      namedAttr("axes", builder.getDenseI64ArrayAttr(
                            llvm::to_vector(llvm::seq<int64_t>(*axis, rank)))),
      namedAttr("keepdims", builder.getBoolAttr(true))};
  FailureOr<Value> mean = create<llm::ReduceMeanOp>(*x, reduceAttrs);
  if (failed(mean))
    return failure();
  FailureOr<Value> centered = create<llm::SubOp>({*x, *mean});
  if (failed(centered))
    return failure();
  FailureOr<Value> squared = create<llm::MulOp>({*centered, *centered});
  if (failed(squared))
    return failure();
  FailureOr<Value> variance = create<llm::ReduceMeanOp>(*squared, reduceAttrs);
  if (failed(variance))
    return failure();
  Value epsilonValue = createConstant(
      DenseElementsAttr::get(RankedTensorType::get({}, stashType.type),
                             builder.getFloatAttr(stashType.type, epsilon)),
      nodeLoc);
  FailureOr<Value> shifted = create<llm::AddOp>({*variance, epsilonValue});
  if (failed(shifted))
    return failure();
  FailureOr<Value> deviation =
      create<llm::SqrtOp>(*shifted, {}, shifted->getType());
  if (failed(deviation))
    return failure();
  FailureOr<Value> inverse =
      create<llm::ReciprocalOp>(*deviation, {}, deviation->getType());
  if (failed(inverse))
    return failure();
  results.push_back(*mean);
  results.push_back(*inverse);
  return success();
}

LogicalResult ONNXImporter::importGelu() {
  if (failed(requireInputs(1)))
    return failure();
  std::string approximate = getString("approximate", "none");
  llm::GeluApproximation approximation;
  if (approximate == "none")
    approximation = llm::GeluApproximation::none;
  else if (approximate == "tanh")
    approximation = llm::GeluApproximation::tanh;
  else
    return error("unsupported approximate '" + approximate + "'");
  return setResult(create<llm::GeluOp>(
      input(0),
      {namedAttr("approximation",
                 llm::GeluApproximationAttr::get(context, approximation))},
      input(0).getType()));
}

LogicalResult ONNXImporter::importMatMul() {
  if (failed(requireInputs(2)))
    return failure();
  return setResult(numpyMatMul(input(0), input(1)));
}

/// ONNX's (numpy's) matmul of `lhs` and `rhs`.
FailureOr<Value> ONNXImporter::numpyMatMul(Value lhs, Value rhs) {
  RankedTensorType lhsType = typeOf(lhs), rhsType = typeOf(rhs);
  if (lhsType.getRank() == 0 || rhsType.getRank() == 0)
    return error("expects operands of rank >= 1, got lhs " +
                 shapeString(lhsType.getShape()) + " and rhs " +
                 shapeString(rhsType.getShape()));
  // numpy semantics: a 1-D lhs is a row, a 1-D rhs a column, and the added
  // dim is dropped from the result.
  bool vectorLhs = lhsType.getRank() == 1, vectorRhs = rhsType.getRank() == 1;
  if (vectorLhs) {
    FailureOr<Value> row = reshape(lhs, {1, lhsType.getDimSize(0)});
    if (failed(row))
      return failure();
    lhs = *row;
  }
  if (vectorRhs) {
    FailureOr<Value> column = reshape(rhs, {rhsType.getDimSize(0), 1});
    if (failed(column))
      return failure();
    rhs = *column;
  }
  // A transposed rhs (a blocked DequantizeLinear's weight, `x @ W.T`) is
  // read in place: the matmul's transpose_rhs.
  bool transposeRhs = false;
  if (auto transpose = rhs.getDefiningOp<llm::TransposeOp>()) {
    ArrayRef<int64_t> perm = transpose.getPermutation();
    int64_t rank = perm.size();
    transposeRhs =
        rank >= 2 && perm[rank - 1] == rank - 2 && perm[rank - 2] == rank - 1 &&
        llvm::equal(perm.drop_back(2), llvm::seq<int64_t>(0, rank - 2));
    if (transposeRhs)
      rhs = transpose.getInput();
  }
  FailureOr<Value> product = plainMatMul(lhs, rhs, transposeRhs);
  if (failed(product) || (!vectorLhs && !vectorRhs))
    return product;
  SmallVector<int64_t> shape(typeOf(*product).getShape());
  if (vectorRhs)
    shape.erase(shape.end() - 1);
  if (vectorLhs)
    shape.erase(shape.end() - 1 - (vectorRhs ? 0 : 1));
  return reshape(*product, shape);
}

/// ONNX Runtime's FusedMatMul (com.microsoft, what its graph optimizer
/// writes for a MatMul with transposed inputs and a scale): alpha *
/// op(A) @ op(B), where transBatchA/B first move dim 0 to the
/// second-to-last place ([d0, b.., dn] -> [b.., d0, dn]) and transA/B
/// swap the last two dims of an input of rank >= 2 (a vector is left as it
/// is).
LogicalResult ONNXImporter::importFusedMatMul() {
  if (failed(requireInputs(2)))
    return failure();
  Value a = input(0), b = input(1);
  int64_t rankA = typeOf(a).getRank(), rankB = typeOf(b).getRank();
  bool batchA = getInt("transBatchA", 0) != 0,
       batchB = getInt("transBatchB", 0) != 0;
  if ((batchA || batchB) && (rankA < 3 || rankA != rankB))
    return error("transBatchA and transBatchB need inputs of one rank >= 3, "
                 "got ranks " +
                 Twine(rankA) + " and " + Twine(rankB));
  auto batchFirst = [&](Value v, int64_t rank) {
    SmallVector<int64_t> perm =
        llvm::to_vector(llvm::seq<int64_t>(1, rank - 1));
    perm.push_back(0);
    perm.push_back(rank - 1);
    return transposed(v, perm);
  };
  auto swapLast = [&](Value v, int64_t rank) {
    SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
    std::swap(perm[rank - 1], perm[rank - 2]);
    return transposed(v, perm);
  };
  if (batchA)
    a = batchFirst(a, rankA);
  if (batchB)
    b = batchFirst(b, rankB);
  if (getInt("transA", 0) != 0 && rankA >= 2)
    a = swapLast(a, rankA);
  if (getInt("transB", 0) != 0 && rankB >= 2)
    b = swapLast(b, rankB);
  if (!a || !b)
    return failure();
  FailureOr<Value> product = numpyMatMul(a, b);
  if (failed(product))
    return failure();
  float alpha = getFloat("alpha", 1.0f);
  if (alpha == 1.0f)
    return setResult(product);
  return setResult(emit<llm::MulOp>(
      {*product, scalarOf(typeOf(*product).getElementType(), alpha)}));
}

LogicalResult ONNXImporter::importGemm() {
  if (failed(requireInputs(2)))
    return failure();
  SmallVector<Value> operands{input(0), input(1)};
  if (Value c = input(2))
    operands.push_back(c);
  return setResult(create<llm::GemmOp>(
      operands,
      {namedAttr("alpha", builder.getF32FloatAttr(getFloat("alpha", 1.0f))),
       namedAttr("beta", builder.getF32FloatAttr(getFloat("beta", 1.0f))),
       namedAttr("transpose_a", builder.getBoolAttr(getInt("transA", 0) != 0)),
       namedAttr("transpose_b",
                 builder.getBoolAttr(getInt("transB", 0) != 0))}));
}

} // namespace mlir::llm::importer
