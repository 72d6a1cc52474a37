//===- ImportReductions.cpp - ONNX import of reductions -------------------===//
//
// Reductions, OneHot, pooling to a point, BatchNormalization, Hardmax,
// ArgMax/ArgMin and TopK.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

namespace mlir::llm::importer {

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

FailureOr<std::optional<SmallVector<int64_t>>>
ONNXImporter::reduceAxes(int64_t axesInputSince) {
  int64_t rank = typeOf(input(0)).getRank();
  SmallVector<int64_t> axes;
  bool noopWithEmptyAxes = false;
  if (opset >= axesInputSince) {
    noopWithEmptyAxes = getInt("noop_with_empty_axes", 0) != 0;
    if (input(1)) {
      FailureOr<SmallVector<int64_t>> given = constantInts(1, "axes");
      if (failed(given))
        return failure();
      axes = *given;
    }
  } else if (std::optional<SmallVector<int64_t>> given = getInts("axes")) {
    axes = *given;
  }
  if (axes.empty()) {
    if (noopWithEmptyAxes)
      return std::optional<SmallVector<int64_t>>();
    axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  }
  for (int64_t &axis : axes) {
    FailureOr<int64_t> normalized = normalizeAxis(axis, rank, "axes");
    if (failed(normalized))
      return failure();
    axis = *normalized;
  }
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return std::optional<SmallVector<int64_t>>(axes);
}

/// ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum and ReduceLogSumExp
/// from llm's sum and max reductions.
LogicalResult ONNXImporter::importReduceComposite() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  StringRef opType = node->op_type();
  bool isFloat = isa<FloatType>(typeOf(x).getElementType());
  if (!isFloat && opType != "ReduceL1" && opType != "ReduceSumSquare")
    return error(opType + " needs a float input");
  FailureOr<std::optional<SmallVector<int64_t>>> axes = reduceAxes(18);
  if (failed(axes))
    return failure();
  bool keepdims = getInt("keepdims", 1) != 0;
  // An identity reduction (noop_with_empty_axes) still applies the
  // elementwise part, as the reference does.
  auto sum = [&](Value v) {
    return *axes ? reduce<llm::ReduceSumOp>(v, **axes, keepdims) : v;
  };
  Value result;
  if (opType == "ReduceL1" || opType == "ReduceL2") {
    result = lpNorm(x, opType == "ReduceL1" ? 1 : 2, sum);
  } else if (opType == "ReduceSumSquare") {
    result = sum(emit<llm::MulOp>({x, x}));
  } else if (opType == "ReduceLogSum") {
    result = emit<llm::LogOp>(sum(x));
  } else if (!*axes) {
    result = emit<llm::LogOp>(emit<llm::ExpOp>(x));
  } else {
    // log(sum(exp(x - max))) + max, with an infinite max taken as 0 so that
    // an all -inf row gives -inf, not NaN.
    Value max = reduce<llm::ReduceMaxOp>(x, **axes, /*keepdims=*/true);
    Value infinite = emit<llm::EqualOp>(
        {emit<llm::AbsOp>(max), scalarOf(typeOf(x).getElementType(), INFINITY)});
    Value shift = emit<llm::WhereOp>(
        {infinite, scalarOf(typeOf(x).getElementType(), 0), max});
    Value logSum = emit<llm::LogOp>(
        sum(emit<llm::ExpOp>(emit<llm::SubOp>({x, shift}))));
    if (shift && !keepdims) {
      FailureOr<Value> dropped = reshape(shift, typeOf(logSum).getShape());
      shift = succeeded(dropped) ? *dropped : Value();
    }
    result = emit<llm::AddOp>({logSum, shift});
  }
  return result ? setResult(result) : failure();
}

/// The L1 (p = 1) or L2 (p = 2) norm of `x`, `sum` reducing its elements:
/// sum(|x|) or sqrt(sum(x * x)).
Value ONNXImporter::lpNorm(Value x, int64_t p,
                           llvm::function_ref<Value(Value)> sum) {
  return p == 1 ? sum(emit<llm::AbsOp>(x))
                : emit<llm::SqrtOp>(sum(emit<llm::MulOp>({x, x})));
}

/// LpNormalization: x divided by its L1 or L2 norm along `axis`. A zero
/// norm divides by 1, so a zero vector stays zero (ONNX Runtime's result;
/// the reference's 0 / 0 is NaN).
LogicalResult ONNXImporter::importLpNormalization() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  Type element = typeOf(x).getElementType();
  if (!isa<FloatType>(element))
    return error("LpNormalization needs a float input");
  int64_t p = getInt("p", 2);
  if (p != 1 && p != 2)
    return error("p must be 1 or 2, got " + Twine(p));
  FailureOr<int64_t> axis =
      normalizeAxis(getInt("axis", -1), typeOf(x).getRank());
  if (failed(axis))
    return failure();
  Value norm = lpNorm(x, p, [&](Value v) {
    return reduce<llm::ReduceSumOp>(v, {*axis}, /*keepdims=*/true);
  });
  Value zero = emit<llm::EqualOp>({norm, scalarOf(element, 0)});
  Value divisor = emit<llm::WhereOp>({zero, scalarOf(element, 1), norm});
  Value result = emit<llm::DivOp>({x, divisor});
  return result ? setResult(result) : failure();
}

Value ONNXImporter::indexConstant(ArrayRef<int64_t> shape,
                                  ArrayRef<int64_t> values) {
  return denseConstant(builder.getI64Type(), shape, values);
}

/// `axis` of `value` normalized, and the static size along it (ops whose
/// composites spell the axis out: CumSum, ArgMax/ArgMin, TopK).
FailureOr<std::pair<int64_t, int64_t>>
ONNXImporter::staticAxis(Value value, int64_t axis) {
  RankedTensorType type = typeOf(value);
  FailureOr<int64_t> normalized = normalizeAxis(axis, type.getRank());
  if (failed(normalized))
    return failure();
  int64_t n = type.getDimSize(*normalized);
  if (ShapedType::isDynamic(n))
    return error(node->op_type() + " needs a static size along its axis");
  return std::make_pair(*normalized, n);
}

/// 0 .. n-1 along `axis` of an i64 constant of rank `rank` (size 1 along
/// the other dims).
Value ONNXImporter::positionsAlong(int64_t rank, int64_t axis, int64_t n) {
  SmallVector<int64_t> shape(rank, 1);
  shape[axis] = n;
  return indexConstant(shape, llvm::to_vector(llvm::seq<int64_t>(0, n)));
}

/// OneHot: values[1] where the index (a negative one counted from depth)
/// equals the position along the new axis, values[0] elsewhere; an index
/// outside [-depth, depth) gives values[0] along the whole axis.
LogicalResult ONNXImporter::importOneHot() {
  if (failed(requireInputs(3)))
    return failure();
  Value indices = input(0), values = input(2);
  std::optional<SmallVector<double>> depthValue = evaluate(known(input(1)));
  if (!depthValue || depthValue->size() != 1)
    return error("input 'depth' must be a compile-time scalar");
  int64_t depth = static_cast<int64_t>(depthValue->front());
  if (depth < 1)
    return error("depth " + Twine(depth) + " is not positive");
  if (typeOf(values).getNumElements() != 2)
    return error("expects input 'values' of two elements [off, on]");
  int64_t rank = typeOf(indices).getRank();
  FailureOr<int64_t> axis = normalizeAxis(getInt("axis", -1), rank + 1);
  if (failed(axis))
    return failure();
  FailureOr<Value> index = castTo(indices, builder.getI64Type());
  FailureOr<Value> flatValues = reshape(values, {2});
  if (failed(index) || failed(flatValues))
    return failure();
  Value wrapped = emit<llm::WhereOp>(
      {emit<llm::LessOp>({*index, scalarOf(builder.getI64Type(), 0)}),
       emit<llm::AddOp>({*index, scalarOf(builder.getI64Type(), depth)}),
       *index});
  Value off = sliceAlong(*flatValues, 0, 0, 1);
  Value on = sliceAlong(*flatValues, 0, 1, 2);
  if (!wrapped || !off || !on)
    return failure();
  SmallVector<int64_t> shape(typeOf(indices).getShape());
  shape.insert(shape.begin() + *axis, 1);
  Value hot = emit<llm::EqualOp>({orNull(reshape(wrapped, shape)),
                                  positionsAlong(rank + 1, *axis, depth)});
  return setResult(orNull(emit<llm::WhereOp>(
      {hot, orNull(reshape(on, {})), orNull(reshape(off, {}))})));
}

/// Mean: the inputs' sum (broadcast) over their count.
LogicalResult ONNXImporter::importMean() {
  if (failed(importVariadic<llm::AddOp>()))
    return failure();
  Value sum = results.pop_back_val();
  if (!isa<FloatType>(typeOf(sum).getElementType()))
    return error("expects float inputs");
  return setResult(orNull(emit<llm::DivOp>(
      {sum, scalarOf(typeOf(sum).getElementType(), inputs.size())})));
}

/// GlobalAveragePool and GlobalMaxPool: the mean (maximum) over every
/// spatial axis (2 ..), kept as size 1.
LogicalResult ONNXImporter::importGlobalPool() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  int64_t rank = typeOf(x).getRank();
  if (rank < 3)
    return error("expects X of rank 3 or more, got " + Twine(rank));
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(2, rank));
  Value pooled = node->op_type() == "GlobalMaxPool"
                     ? reduce<llm::ReduceMaxOp>(x, axes, true)
                     : reduce<llm::ReduceMeanOp>(x, axes, true);
  return pooled ? setResult(pooled) : failure();
}

/// BatchNormalization at inference: (x - mean) / sqrt(var + epsilon) *
/// scale + B per channel (axis 1). training_mode (the batch's statistics,
/// updated running ones) is an error.
LogicalResult ONNXImporter::importBatchNormalization() {
  if (failed(requireInputs(5)))
    return failure();
  if (getInt("training_mode", 0))
    return error("training_mode 1 (statistics of the batch) is not "
                 "supported; export the model in eval mode");
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  if (type.getRank() < 2 || !isa<FloatType>(type.getElementType()))
    return error("expects float X of rank 2 or more");
  int64_t channels = type.getDimSize(1);
  SmallVector<Value> params;
  StringRef names[] = {"scale", "B", "input_mean", "input_var"};
  for (unsigned i = 1; i < 5; ++i) {
    Value p = input(i);
    if (typeOf(p).getNumElements() != channels)
      return error("expects " + names[i - 1] + " of " + Twine(channels) +
                   " values (X's channels), got " +
                   Twine(typeOf(p).getNumElements()));
    FailureOr<Value> cast = castTo(p, type.getElementType());
    if (failed(cast))
      return failure();
    params.push_back(orNull(perChannel(*cast, type)));
  }
  Type element = type.getElementType();
  Value inverse = emit<llm::ReciprocalOp>({emit<llm::SqrtOp>({emit<llm::AddOp>(
      {params[3], scalarOf(element, getFloat("epsilon", 1e-5f))})})});
  Value factor = emit<llm::MulOp>({params[0], inverse});
  Value centered = emit<llm::SubOp>({x, params[2]});
  Value result =
      emit<llm::AddOp>({emit<llm::MulOp>({centered, factor}), params[1]});
  return result ? setResult(result) : failure();
}

/// Hardmax: 1 at the first maximum along axis (a NaN is the maximum, as in
/// ArgMax), 0 elsewhere.
LogicalResult ONNXImporter::importHardmax() {
  if (failed(requireInputs(1)))
    return failure();
  return coercedTo2D([&](Value x, int64_t axis) -> LogicalResult {
    RankedTensorType type = typeOf(x);
    FailureOr<std::pair<int64_t, int64_t>> along = staticAxis(x, axis);
    if (failed(along))
      return failure();
    int64_t n = along->second;
    Value first = extremePosition(x, axis, n, /*isMax=*/true, /*last=*/false,
                                  /*keepdims=*/true);
    Value iota = positionsAlong(type.getRank(), axis, n);
    Value result = emit<llm::WhereOp>({emit<llm::EqualOp>({iota, first}),
                                       scalarOf(type.getElementType(), 1),
                                       scalarOf(type.getElementType(), 0)});
    return result ? setResult(result) : failure();
  });
}

/// ArgMax and ArgMin: the first (or, with select_last_index, the last)
/// position along the axis where x equals its maximum (minimum); a NaN is
/// the extreme, as in numpy.
LogicalResult ONNXImporter::importArgExtreme() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  FailureOr<std::pair<int64_t, int64_t>> along =
      staticAxis(x, getInt("axis", 0));
  if (failed(along))
    return failure();
  int64_t axis = along->first, n = along->second;
  Value result = extremePosition(x, axis, n, node->op_type() == "ArgMax",
                                 getInt("select_last_index", 0) != 0,
                                 getInt("keepdims", 1) != 0);
  return result ? setResult(result) : failure();
}

/// The first (or last) position along `axis` (of static size n) where x
/// equals its maximum (minimum); a NaN is the extreme, as in numpy.
Value ONNXImporter::extremePosition(Value x, int64_t axis, int64_t n,
                                    bool isMax, bool last, bool keepdims) {
  RankedTensorType type = typeOf(x);
  Value extreme = isMax ? reduce<llm::ReduceMaxOp>(x, {axis}, true)
                        : reduce<llm::ReduceMinOp>(x, {axis}, true);
  Value hit = emit<llm::EqualOp>({x, extreme});
  if (isa<FloatType>(type.getElementType()))
    hit = emit<llm::OrOp>({hit, emit<llm::NotOp>(emit<llm::EqualOp>({x, x}))});
  Value iota = positionsAlong(type.getRank(), axis, n);
  Type i64 = builder.getI64Type();
  Value candidates =
      emit<llm::WhereOp>({hit, iota, scalarOf(i64, last ? -1 : n)});
  return last ? reduce<llm::ReduceMaxOp>(candidates, {axis}, keepdims)
              : reduce<llm::ReduceMinOp>(candidates, {axis}, keepdims);
}

/// The rounds of a top-k along `axis` (of static size n): each takes the
/// largest (or smallest) element not yet taken, the lowest index among
/// equals (as ONNX orders ties). Taken elements read as the far end of the
/// order; only untaken ones can be picked, so a genuine -inf (or +inf)
/// still is, in its turn. O(k * n): for the small k of routers and sampling
/// heads.
ONNXImporter::TopKRounds ONNXImporter::topKRounds(Value x, int64_t axis,
                                                  int64_t n, int64_t k,
                                                  bool largest) {
  RankedTensorType type = typeOf(x);
  bool isFloat = isa<FloatType>(type.getElementType());
  Type i64 = builder.getI64Type();
  Value iota = positionsAlong(type.getRank(), axis, n);
  Value far = scalarOf(type.getElementType(),
                       isFloat ? (largest ? -INFINITY : INFINITY)
                       : largest ? static_cast<double>(INT64_MIN / 2)
                                 : static_cast<double>(INT64_MAX / 2));
  SmallVector<bool> none(n, false);
  TopKRounds rounds;
  rounds.taken = denseConstant(builder.getI1Type(), typeOf(iota).getShape(),
                               ArrayRef<bool>(none));
  for (int64_t round = 0; round < k; ++round) {
    Value current = emit<llm::WhereOp>({rounds.taken, far, x});
    Value extreme = largest
                        ? reduce<llm::ReduceMaxOp>(current, {axis}, true)
                        : reduce<llm::ReduceMinOp>(current, {axis}, true);
    Value hit = emit<llm::AndOp>({emit<llm::EqualOp>({current, extreme}),
                                  emit<llm::NotOp>(rounds.taken)});
    Value index = reduce<llm::ReduceMinOp>(
        emit<llm::WhereOp>({hit, iota, scalarOf(i64, n)}), {axis}, true);
    rounds.taken =
        emit<llm::OrOp>({rounds.taken, emit<llm::EqualOp>({iota, index})});
    rounds.values.push_back(extreme);
    rounds.indices.push_back(index);
  }
  return rounds;
}

/// TopK: topKRounds' values and indices concatenated along the axis, sorted.
LogicalResult ONNXImporter::importTopK() {
  if (failed(requireInputs(2)))
    return failure();
  Value x = input(0);
  FailureOr<int64_t> k = constantScalarInt(1, "K");
  if (failed(k))
    return failure();
  FailureOr<std::pair<int64_t, int64_t>> along =
      staticAxis(x, getInt("axis", -1));
  if (failed(along))
    return failure();
  int64_t axis = along->first, n = along->second;
  if (*k < 1 || *k > n)
    return error("K = " + Twine(*k) + " is not in 1.." + Twine(n));
  TopKRounds rounds = topKRounds(x, axis, n, *k, getInt("largest", 1) != 0);
  SmallVector<Value> &values = rounds.values, &indices = rounds.indices;
  if (llvm::any_of(values, [](Value v) { return !v; }) ||
      llvm::any_of(indices, [](Value v) { return !v; }))
    return failure();
  auto concat = [&](ValueRange pieces) -> FailureOr<Value> {
    if (pieces.size() == 1)
      return pieces.front();
    return create<llm::ConcatOp>(
        pieces, {namedAttr("axis", builder.getI64IntegerAttr(axis))});
  };
  FailureOr<Value> topValues = concat(values), topIndices = concat(indices);
  if (failed(topValues) || failed(topIndices))
    return failure();
  results.push_back(*topValues);
  results.push_back(*topIndices);
  return success();
}

} // namespace mlir::llm::importer
