//===- ImportElementwise.cpp - ONNX import of elementwise ops -------------===//
//
// Elementwise ops: arithmetic, comparisons, activations, casts, PRelu,
// Einsum and CumSum.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

namespace mlir::llm::importer {

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// The two operands of an elementwise node in one element type. ONNX
/// requires one, but torch's exporter casts nothing for Max and Min (its
/// type promotion leaves them out): a 16-bit model's `torch.max(x,
/// torch.tensor(finfo.min))`, as Hugging Face's OPT writes it, arrives as
/// Max(bf16, f32 constant of one element). Torch computes such a pair in
/// the tensor's type when the constant is a 0-d tensor of the same kind (a
/// float, or an integer) or of a lower one (an integer beside a float), and
/// so does this: the constant becomes one of the other operand's type
/// (rounded to nearest even as a Cast would; an integer must fit). Any
/// other mix is an error that names both types.
LogicalResult ONNXImporter::unifyElementTypes(Value &lhs, Value &rhs) {
  Type lhsType = typeOf(lhs).getElementType();
  Type rhsType = typeOf(rhs).getElementType();
  if (lhsType == rhsType)
    return success();
  auto isInteger = [](Type type) {
    return isa<IntegerType>(type) && !type.isInteger(1);
  };
  // The one-element constant `value`, if it can take `type`.
  auto convertible = [&](Value value, Type type) -> std::optional<double> {
    std::optional<SmallVector<double>> values = constantDoublesOf(known(value));
    if (!values || values->size() != 1)
      return std::nullopt;
    Type own = typeOf(value).getElementType();
    double x = values->front();
    if (isa<FloatType>(type) && (isa<FloatType>(own) || isInteger(own)))
      return x;
    if (isInteger(type) && isInteger(own)) {
      auto integer = cast<IntegerType>(type);
      unsigned width = integer.getWidth();
      double low = integer.isUnsigned() ? 0.0 : -std::ldexp(1.0, width - 1);
      double high = integer.isUnsigned() ? std::ldexp(1.0, width)
                                         : std::ldexp(1.0, width - 1);
      if (x >= low && x < high)
        return x;
    }
    return std::nullopt;
  };
  for (bool castRhs : {true, false}) {
    Value &scalar = castRhs ? rhs : lhs;
    Type target = castRhs ? lhsType : rhsType;
    if (std::optional<double> value = convertible(scalar, target)) {
      FailureOr<Value> converted =
          reshape(scalarOf(target, *value), typeOf(scalar).getShape());
      if (failed(converted))
        return failure();
      scalar = *converted;
      return success();
    }
  }
  std::string names;
  llvm::raw_string_ostream(names) << lhsType << " and " << rhsType;
  return error("inputs have different element types (" + names + "); " +
               node->op_type() + " takes one type for all of them");
}

/// BitwiseAnd, BitwiseOr, BitwiseXor and BitwiseNot (opset 18) of integer
/// tensors: llm's logical ops, bitwise on integers wider than i1. The
/// result has its operands' type, uint8 included.
LogicalResult ONNXImporter::importBitwise() {
  StringRef opType = node->op_type();
  bool unary = opType == "BitwiseNot";
  if (failed(requireInputs(unary ? 1 : 2)))
    return failure();
  for (unsigned i = 0; i < (unary ? 1u : 2u); ++i) {
    Type element = typeOf(input(i)).getElementType();
    if (!isa<IntegerType>(element) || element.isInteger(1))
      return error(opType + " expects integer tensors");
  }
  if (isUnsignedInput(0))
    markUnsignedOutput(0);
  if (unary)
    return setResult(emit<llm::NotOp>(input(0)));
  if (typeOf(input(0)).getElementType() != typeOf(input(1)).getElementType())
    return error(opType + " expects two tensors of one integer type");
  Value result = opType == "BitwiseAnd" ? emit<llm::AndOp>({input(0), input(1)})
                 : opType == "BitwiseOr"
                     ? emit<llm::OrOp>({input(0), input(1)})
                     : emit<llm::XorOp>({input(0), input(1)});
  return result ? setResult(result) : failure();
}

/// BitShift (opset 11) of unsigned integers, uint8 and uint16 (llm's
/// integers are signless, and wider unsigned types are not taken): a shift
/// by the bit width or more gives 0, as numpy's does.
LogicalResult ONNXImporter::importBitShift() {
  if (failed(requireInputs(2)))
    return failure();
  std::string direction = getString("direction", "");
  if (direction != "LEFT" && direction != "RIGHT")
    return error("direction must be LEFT or RIGHT, got '" + direction + "'");
  for (unsigned i = 0; i < 2; ++i) {
    Type element = typeOf(input(i)).getElementType();
    if (!isa<IntegerType>(element) || element.isInteger(1) ||
        !isUnsignedInput(i))
      return error("expects unsigned integer tensors (uint8 or uint16)");
  }
  if (typeOf(input(0)).getElementType() != typeOf(input(1)).getElementType())
    return error("expects two tensors of one unsigned integer type");
  markUnsignedOutput(0);
  Value result = direction == "LEFT"
                     ? emit<llm::ShiftLeftOp>({input(0), input(1)})
                     : emit<llm::ShiftRightOp>({input(0), input(1)});
  return result ? setResult(result) : failure();
}

LogicalResult ONNXImporter::importPow() {
  if (failed(requireInputs(2)))
    return failure();
  FailureOr<Value> exponent =
      castTo(input(1), typeOf(input(0)).getElementType());
  if (failed(exponent))
    return failure();
  return setResult(create<llm::PowOp>({input(0), *exponent}));
}

LogicalResult ONNXImporter::importMod() {
  if (failed(requireInputs(2)))
    return failure();
  Type elementType = typeOf(input(0)).getElementType();
  bool isFloat = isa<FloatType>(elementType);
  if (getInt("fmod", 0) == 0) {
    if (isFloat)
      return error("floating-point Mod needs fmod=1");
    return setResult(create<llm::ModOp>({input(0), input(1)}));
  }
  // fmod=1 keeps the sign of the dividend: a - trunc(a / b) * b. Integer
  // division truncates; a float quotient is truncated by rounding toward
  // zero: ceil below zero, floor above.
  FailureOr<Value> quotient = create<llm::DivOp>({input(0), input(1)});
  if (failed(quotient))
    return failure();
  if (isFloat) {
    Value zero = scalarOf(elementType, 0);
    FailureOr<Value> negative = create<llm::LessOp>({*quotient, zero});
    FailureOr<Value> up =
        create<llm::CeilOp>(*quotient, {}, quotient->getType());
    FailureOr<Value> down =
        create<llm::FloorOp>(*quotient, {}, quotient->getType());
    if (failed(negative) || failed(up) || failed(down))
      return failure();
    quotient = create<llm::WhereOp>({*negative, *up, *down});
    if (failed(quotient))
      return failure();
  }
  FailureOr<Value> product = create<llm::MulOp>({*quotient, input(1)});
  if (failed(product))
    return failure();
  return setResult(create<llm::SubOp>({input(0), *product}));
}

LogicalResult ONNXImporter::importWhere() {
  if (failed(requireInputs(3)))
    return failure();
  return setResult(create<llm::WhereOp>({input(0), input(1), input(2)}));
}

LogicalResult ONNXImporter::importClip() {
  if (failed(requireInputs(1)))
    return failure();
  Value result = input(0);
  Type elementType = typeOf(result).getElementType();
  if (Value min = input(1)) {
    FailureOr<Value> bound = castTo(min, elementType);
    if (failed(bound))
      return failure();
    FailureOr<Value> clipped = create<llm::MaxOp>({result, *bound});
    if (failed(clipped))
      return failure();
    result = *clipped;
  }
  if (Value max = input(2)) {
    FailureOr<Value> bound = castTo(max, elementType);
    if (failed(bound))
      return failure();
    FailureOr<Value> clipped = create<llm::MinOp>({result, *bound});
    if (failed(clipped))
      return failure();
    result = *clipped;
  }
  return setResult(result);
}

Value ONNXImporter::scalarOf(Type elementType, double value) {
  auto type = RankedTensorType::get({}, elementType);
  Attribute element;
  if (auto floatType = dyn_cast<FloatType>(elementType)) {
    bool losesInfo = false;
    APFloat converted(value);
    converted.convert(floatType.getFloatSemantics(),
                      APFloat::rmNearestTiesToEven, &losesInfo);
    element = builder.getFloatAttr(elementType, converted);
  } else {
    element = builder.getIntegerAttr(elementType, static_cast<int64_t>(value));
  }
  return createConstant(DenseElementsAttr::get(type, element), nodeLoc);
}

/// A constant of `type` holding zeros.
Value ONNXImporter::zerosOf(RankedTensorType type) {
  return createConstant(
      DenseElementsAttr::get(type, builder.getZeroAttr(type.getElementType())),
      nodeLoc);
}

Value ONNXImporter::transposed(Value value, ArrayRef<int64_t> perm) {
  if (!value)
    return {};
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return value;
  FailureOr<Value> result = create<llm::TransposeOp>(
      value, {namedAttr("permutation", builder.getDenseI64ArrayAttr(perm))});
  return succeeded(result) ? *result : Value();
}

/// An attention node's `scale` attribute, or 1/sqrt(headSize) when it is
/// absent or 0 (ONNX's and ONNX Runtime's default).
double ONNXImporter::attentionScale(int64_t headSize) const {
  double scale = getFloat("scale", 0.0f);
  return scale != 0.0 ? scale : 1.0 / std::sqrt(static_cast<double>(headSize));
}

/// `values` one after another along `axis`; null if any is.
Value ONNXImporter::concatAlong(ArrayRef<Value> values, int64_t axis) {
  if (llvm::any_of(values, [](Value value) { return !value; }))
    return {};
  return orNull(create<llm::ConcatOp>(
      values, {namedAttr("axis", builder.getI64IntegerAttr(axis))}));
}

/// The rows of `table` (along its first dim) at run-time `indices`: shape
/// indices' + table's without its first (null for a null operand).
Value ONNXImporter::gatherRows(Value table, Value indices) {
  if (!table || !indices)
    return {};
  return orNull(create<llm::GatherOp>(
      {table, indices}, {namedAttr("axis", builder.getI64IntegerAttr(0))}));
}

/// Positions [start, end) of `value` along `axis`, the other dims whole.
Value ONNXImporter::sliceAlong(Value value, int64_t axis, int64_t start,
                               int64_t end) {
  if (!value)
    return {};
  SmallVector<int64_t> starts(typeOf(value).getRank(), 0),
      ends(typeOf(value).getShape()), steps(starts.size(), 1);
  starts[axis] = start;
  ends[axis] = end;
  return orNull(create<llm::SliceOp>(
      value, {namedAttr("starts", builder.getDenseI64ArrayAttr(starts)),
              namedAttr("ends", builder.getDenseI64ArrayAttr(ends)),
              namedAttr("steps", builder.getDenseI64ArrayAttr(steps))}));
}

/// `value` where the boolean constant `mask` (of `maskShape`, broadcast
/// against it) holds and zero elsewhere, summed over `axes`.
Value ONNXImporter::maskedSum(Value value, ArrayRef<int64_t> maskShape,
                              ArrayRef<bool> mask, ArrayRef<int64_t> axes) {
  Value maskValue = denseConstant(builder.getI1Type(), maskShape, mask);
  Value zero = scalarOf(typeOf(value).getElementType(), 0);
  return reduce<llm::ReduceSumOp>(emit<llm::WhereOp>({maskValue, value, zero}),
                                 axes, /*keepdims=*/false);
}

/// lhs x rhs (or x rhsᵀ) as a plain llm.matmul: no bias, no residual
/// (fusion adds the epilogue).
FailureOr<Value> ONNXImporter::plainMatMul(Value lhs, Value rhs,
                                           bool transposeRhs) {
  SmallVector<NamedAttribute> attrs{
      namedAttr(llm::MatMulOp::getOperandSegmentSizeAttr(),
                builder.getDenseI32ArrayAttr({1, 1, 0, 0}))};
  if (transposeRhs)
    attrs.push_back(namedAttr("transpose_rhs", builder.getBoolAttr(true)));
  return create<llm::MatMulOp>({lhs, rhs}, attrs);
}

/// Activations and elementwise functions that ONNX defines as functions of
/// simpler ops, built from llm ops so that every backend runs them and the
/// fusion passes see through them. Their formulas are ONNX's.
LogicalResult ONNXImporter::importActivation() {
  if (failed(requireInputs(1)))
    return failure();
  StringRef opType = node->op_type();
  Value x = input(0);
  Type elementType = typeOf(x).getElementType();
  bool isFloat = isa<FloatType>(elementType);
  if (!isFloat && opType != "Sign") {
    std::string typeName;
    llvm::raw_string_ostream(typeName) << elementType;
    return error("expects a floating-point input, got element type " +
                 typeName);
  }
  auto c = [&](double value) { return scalarOf(elementType, value); };
  auto expMinusOne = [&](Value v) {
    return emit<llm::SubOp>({emit<llm::ExpOp>({v}), c(1)});
  };
  // log(1 + y) and exp(x) - 1 without cancellation near 0 (Goldberg's and
  // Kahan's corrections: the rounding of 1 + y, and of exp(x), divided out).
  auto log1pOf = [&](Value y) {
    Value u = emit<llm::AddOp>({c(1), y});
    Value shifted = emit<llm::SubOp>({u, c(1)});
    return emit<llm::WhereOp>(
        {emit<llm::EqualOp>({shifted, c(0)}), y,
         emit<llm::MulOp>(
             {emit<llm::LogOp>({u}), emit<llm::DivOp>({y, shifted})})});
  };
  auto expm1Of = [&](Value v) {
    Value u = emit<llm::ExpOp>({v});
    Value shifted = emit<llm::SubOp>({u, c(1)});
    Value corrected = emit<llm::MulOp>(
        {shifted, emit<llm::DivOp>({v, emit<llm::LogOp>({u})})});
    // u = 1: v itself; u = inf: inf (inf / inf would be NaN).
    return emit<llm::WhereOp>(
        {emit<llm::EqualOp>({shifted, c(0)}), v,
         emit<llm::WhereOp>(
             {emit<llm::EqualOp>({u, c(INFINITY)}), u, corrected})});
  };
  Value zero = c(0), result;
  if (llvm::is_contained({"Softplus", "Softsign", "LeakyRelu",
                          "ThresholdedRelu", "Elu", "HardSigmoid"},
                         opType)) {
    result = namedActivation(opType, x, getOptionalFloat("alpha"),
                             getOptionalFloat("beta"));
  } else if (opType == "Celu") {
    // max(0, x) + min(0, alpha * (exp(x / alpha) - 1))
    Value alpha = c(getFloat("alpha", 1.0f));
    result = emit<llm::AddOp>(
        {emit<llm::MaxOp>({x, zero}),
         emit<llm::MinOp>(
             {emit<llm::MulOp>(
                  {alpha, expMinusOne(emit<llm::DivOp>({x, alpha}))}),
              zero})});
  } else if (opType == "Selu") {
    Value alpha = c(getFloat("alpha", 1.67326319217681884765625f));
    Value gamma = c(getFloat("gamma", 1.05070102214813232421875f));
    result = emit<llm::MulOp>(
        {gamma, emit<llm::WhereOp>(
                    {emit<llm::LessEqualOp>({x, zero}),
                     emit<llm::SubOp>(
                         {emit<llm::MulOp>({alpha, emit<llm::ExpOp>({x})}),
                          alpha}),
                     x})});
  } else if (opType == "Mish") {
    result = emit<llm::MulOp>(
        {x, emit<llm::TanhOp>(
                {namedActivation("Softplus", x, std::nullopt, std::nullopt)})});
  } else if (opType == "Swish") {
    // x * sigmoid(alpha * x); with alpha 1 the SiLU the fusions know.
    float alpha = getFloat("alpha", 1.0f);
    Value scaled = alpha == 1.0f ? x : emit<llm::MulOp>({x, c(alpha)});
    result = emit<llm::MulOp>({x, emit<llm::SigmoidOp>({scaled})});
  } else if (opType == "HardSwish") {
    result = emit<llm::MulOp>({x, hardSigmoid(x, 1.0 / 6, 0.5)});
  } else if (opType == "Sign") {
    if (isa<IntegerType>(elementType) &&
        elementType.getIntOrFloatBitWidth() == 1)
      return error("expects a numeric input, got a bool tensor");
    result = emit<llm::WhereOp>(
        {emit<llm::GreaterOp>({x, zero}), c(1),
         emit<llm::WhereOp>({emit<llm::LessOp>({x, zero}), c(-1), zero})});
  } else if (opType == "Shrink") {
    Value lambd = c(getFloat("lambd", 0.5f)), bias = c(getFloat("bias", 0));
    result = emit<llm::WhereOp>(
        {emit<llm::LessOp>({x, emit<llm::NegOp>({lambd})}),
         emit<llm::AddOp>({x, bias}),
         emit<llm::WhereOp>({emit<llm::GreaterOp>({x, lambd}),
                             emit<llm::SubOp>({x, bias}), zero})});
  } else if (opType == "Tan") {
    result = emit<llm::DivOp>({emit<llm::SinOp>({x}), emit<llm::CosOp>({x})});
  } else if (opType == "Sinh" || opType == "Cosh") {
    // Past |x| = 88, exp(|x|) overflows f32 before sinh and cosh do:
    // (exp(|x| / 2) / 2) exp(|x| / 2) there.
    Value magnitude = emit<llm::AbsOp>({x});
    Value root = emit<llm::ExpOp>({emit<llm::MulOp>({magnitude, c(0.5)})});
    Value far = emit<llm::MulOp>({emit<llm::MulOp>({root, c(0.5)}), root});
    Value near;
    if (opType == "Cosh") {
      near = emit<llm::MulOp>(
          {emit<llm::AddOp>({emit<llm::ExpOp>({x}),
                             emit<llm::ExpOp>({emit<llm::NegOp>({x})})}),
           c(0.5)});
    } else {
      // (e + e / (e + 1)) / 2 with e = expm1(|x|): no cancellation near 0.
      Value e = expm1Of(magnitude);
      near = emit<llm::MulOp>(
          {c(0.5),
           emit<llm::AddOp>(
               {e, emit<llm::DivOp>({e, emit<llm::AddOp>({e, c(1)})})})});
    }
    result = emit<llm::WhereOp>(
        {emit<llm::GreaterOp>({magnitude, c(88)}), far, near});
    if (opType == "Sinh")
      result = emit<llm::WhereOp>(
          {emit<llm::LessOp>({x, zero}), emit<llm::NegOp>({result}), result});
  } else if (opType == "Atan") {
    result = atanOf(x);
  } else if (opType == "Asin") {
    // atan(x / sqrt((1 - x)(1 + x))): +-pi/2 at +-1, NaN past them.
    Value cosine = emit<llm::SqrtOp>({emit<llm::MulOp>(
        {emit<llm::SubOp>({c(1), x}), emit<llm::AddOp>({c(1), x})})});
    result = atanOf(emit<llm::DivOp>({x, cosine}));
  } else if (opType == "Acos") {
    // 2 atan(sqrt((1 - x) / (1 + x))), exact near 1 where pi/2 - asin(x)
    // is not.
    result = emit<llm::MulOp>(
        {c(2),
         atanOf(emit<llm::SqrtOp>({emit<llm::DivOp>(
             {emit<llm::SubOp>({c(1), x}), emit<llm::AddOp>({c(1), x})})}))});
  } else if (opType == "Asinh") {
    // sign(x) log1p(|x| + x^2 / (1 + sqrt(1 + x^2))), odd as asinh is; past
    // 2^12, log(2 |x|) (x^2 would overflow first).
    Value magnitude = emit<llm::AbsOp>({x});
    Value square = emit<llm::MulOp>({magnitude, magnitude});
    Value small = log1pOf(emit<llm::AddOp>(
        {magnitude, emit<llm::DivOp>(
                        {square, emit<llm::AddOp>(
                                     {c(1), emit<llm::SqrtOp>({emit<llm::AddOp>(
                                                {c(1), square})})})})}));
    Value large = emit<llm::AddOp>({emit<llm::LogOp>({magnitude}), c(M_LN2)});
    Value positive = emit<llm::WhereOp>(
        {emit<llm::GreaterOp>({magnitude, c(4096)}), large, small});
    result = emit<llm::WhereOp>(
        {emit<llm::LessOp>({x, zero}), emit<llm::NegOp>({positive}), positive});
  } else if (opType == "Acosh") {
    // log1p(t + sqrt(t (x + 1))) with t = x - 1; past 2^12, log(2 x).
    Value t = emit<llm::SubOp>({x, c(1)});
    Value near =
        log1pOf(emit<llm::AddOp>({t, emit<llm::SqrtOp>({emit<llm::MulOp>(
                                         {t, emit<llm::AddOp>({x, c(1)})})})}));
    Value far = emit<llm::AddOp>({emit<llm::LogOp>({x}), c(M_LN2)});
    result =
        emit<llm::WhereOp>({emit<llm::GreaterOp>({x, c(4096)}), far, near});
  } else if (opType == "Atanh") {
    // (log1p(x) - log1p(-x)) / 2: the two have opposite signs near 0, and
    // 1 + x is exact near -1 (1 - x near 1).
    result = emit<llm::MulOp>(
        {c(0.5),
         emit<llm::SubOp>({log1pOf(x), log1pOf(emit<llm::NegOp>({x}))})});
  } else if (opType == "Round") {
    result = roundHalfEven(x);
  } else if (opType == "IsNaN") {
    result = emit<llm::NotOp>({emit<llm::EqualOp>({x, x})});
  } else if (opType == "IsInf") {
    Value positive = getInt("detect_positive", 1)
                         ? emit<llm::EqualOp>({x, c(INFINITY)})
                         : Value();
    Value negative = getInt("detect_negative", 1)
                         ? emit<llm::EqualOp>({x, c(-INFINITY)})
                         : Value();
    if (positive && negative)
      result = emit<llm::OrOp>({positive, negative});
    else if (positive || negative)
      result = positive ? positive : negative;
    else // Neither: all false (nothing is below -inf).
      result = emit<llm::LessOp>({x, c(-INFINITY)});
  } else {
    return error("no composite for " + opType.str());
  }
  if (!result)
    return failure();
  return setResult(result);
}

/// com.microsoft Gelu (exact), BiasGelu (exact, of A + B), FastGelu (tanh
/// approximation, of X + bias when given) and QuickGelu (x * sigmoid(alpha
/// x)), as ONNX Runtime defines them.
LogicalResult ONNXImporter::importMicrosoftGelu() {
  if (failed(requireInputs(1)))
    return failure();
  StringRef opType = node->op_type();
  Value x = input(0);
  if (!isa<FloatType>(typeOf(x).getElementType()))
    return error("expects a floating-point input");
  if (Value bias = input(1))
    x = emit<llm::AddOp>({x, bias});
  else if (opType == "BiasGelu")
    return error("expects input 'B'");
  if (!x)
    return failure();
  if (opType == "QuickGelu") {
    Type elementType = typeOf(x).getElementType();
    Value scaled =
        emit<llm::MulOp>({x, scalarOf(elementType, getFloat("alpha", 1.702f))});
    Value result = emit<llm::MulOp>({x, emit<llm::SigmoidOp>({scaled})});
    return result ? setResult(result) : failure();
  }
  auto approximation = opType == "FastGelu" ? llm::GeluApproximation::tanh
                                            : llm::GeluApproximation::none;
  return setResult(create<llm::GeluOp>(
      x,
      {namedAttr("approximation",
                 llm::GeluApproximationAttr::get(context, approximation))},
      x.getType()));
}

/// ONNX Runtime's CPU optimizer's op-plus-activation fusions: FusedGemm
/// (Gemm's attributes, then `activation` with activation_alpha, _beta,
/// _gamma), FusedConv (Conv's, then `activation` with activation_params;
/// its optional input 3, a sum added before the activation) and
/// GemmFastGelu (FastGelu of X @ W + bias).
LogicalResult ONNXImporter::importFusedActivation() {
  StringRef opType = node->op_type();
  if (opType == "GemmFastGelu") {
    if (failed(requireInputs(2)))
      return failure();
    FailureOr<Value> product = numpyMatMul(input(0), input(1));
    if (failed(product))
      return failure();
    Value x = *product;
    if (Value bias = input(2))
      x = emit<llm::AddOp>({x, bias});
    if (!x)
      return failure();
    return setResult(create<llm::GeluOp>(
        x,
        {namedAttr("approximation",
                   llm::GeluApproximationAttr::get(
                       context, llm::GeluApproximation::tanh))},
        x.getType()));
  }
  Value sum = opType == "FusedConv" ? input(3) : Value();
  if (sum)
    inputs.resize(3);
  LogicalResult base = opType == "FusedGemm" ? importGemm() : importConv();
  if (failed(base) || results.size() != 1)
    return failure();
  Value x = results.front();
  if (sum)
    x = emit<llm::AddOp>({x, sum});
  SmallVector<float> params;
  if (opType == "FusedGemm") {
    // An attribute left out is NaN here: the activation's default.
    for (StringRef name : {"activation_alpha", "activation_beta"})
      params.push_back(findAttr(name)
                           ? getFloat(name, 0.0f)
                           : std::numeric_limits<float>::quiet_NaN());
  } else if (const onnx::AttributeProto *attr = findAttr("activation_params")) {
    params.assign(attr->floats().begin(), attr->floats().end());
  }
  const onnx::AttributeProto *activation = findAttr("activation");
  Value result = fusedActivation(x, activation ? activation->s() : "", params);
  if (!result)
    return failure();
  results.front() = result;
  return success();
}

/// The activations ONNX Runtime fuses into Gemm and Conv (MLAS's kinds):
/// Relu, LeakyRelu (alpha), Tanh, Sigmoid, HardSigmoid (alpha, beta) and
/// Clip (min, max); none is the identity.
Value ONNXImporter::fusedActivation(Value x, StringRef name,
                                    ArrayRef<float> params) {
  if (!x)
    return {};
  Type element = typeOf(x).getElementType();
  auto param = [&](size_t i) -> std::optional<float> {
    if (i < params.size() && !std::isnan(params[i]))
      return params[i];
    return std::nullopt;
  };
  if (name.empty() || name == "Identity")
    return x;
  if (llvm::is_contained(
          {"Relu", "Tanh", "Sigmoid", "LeakyRelu", "HardSigmoid"}, name))
    return namedActivation(name, x, param(0), param(1));
  if (name == "Clip") {
    std::optional<float> low = param(0), high = param(1);
    if (params.size() != 2 || !low || !high) {
      (void)error("activation Clip needs activation_params [min, max]");
      return {};
    }
    return emit<llm::MinOp>({emit<llm::MaxOp>({x, scalarOf(element, *low)}),
                             scalarOf(element, *high)});
  }
  (void)error("activation '" + name +
              "' is not supported (Relu, LeakyRelu, "
              "Tanh, Sigmoid, HardSigmoid, Clip)");
  return {};
}

/// The activation ONNX names `name` (an op, or one of RNN's activations in
/// any case) of x, with alpha and beta where it takes them, ONNX's defaults
/// otherwise; null for a name it does not know.
Value ONNXImporter::namedActivation(StringRef name, Value x,
                                    std::optional<float> alpha,
                                    std::optional<float> beta) {
  if (!x)
    return {};
  Type element = typeOf(x).getElementType();
  auto c = [&](double v) { return scalarOf(element, v); };
  std::string lower = name.lower();
  if (lower == "relu")
    return emit<llm::ReluOp>({x});
  if (lower == "tanh")
    return emit<llm::TanhOp>({x});
  if (lower == "sigmoid")
    return emit<llm::SigmoidOp>({x});
  if (lower == "leakyrelu")
    return leakyRelu(x, alpha.value_or(0.01f));
  if (lower == "hardsigmoid")
    return hardSigmoid(x, alpha.value_or(0.2f), beta.value_or(0.5f));
  if (lower == "thresholdedrelu")
    return emit<llm::WhereOp>(
        {emit<llm::GreaterOp>({x, c(alpha.value_or(1.0f))}), x, c(0)});
  if (lower == "elu")
    return emit<llm::WhereOp>(
        {emit<llm::LessOp>({x, c(0)}),
         emit<llm::MulOp>({c(alpha.value_or(1.0f)),
                           emit<llm::SubOp>({emit<llm::ExpOp>({x}), c(1)})}),
         x});
  if (lower == "softsign")
    return emit<llm::DivOp>(
        {x, emit<llm::AddOp>({emit<llm::AbsOp>({x}), c(1)})});
  // log(exp(x) + 1)
  if (lower == "softplus")
    return emit<llm::LogOp>({emit<llm::AddOp>({emit<llm::ExpOp>({x}), c(1)})});
  if (lower == "scaledtanh")
    return emit<llm::MulOp>(
        {c(alpha.value_or(1.0f)),
         emit<llm::TanhOp>({emit<llm::MulOp>({x, c(beta.value_or(1.0f))})})});
  if (lower == "affine")
    return emit<llm::AddOp>(
        {emit<llm::MulOp>({x, c(alpha.value_or(1.0f))}), c(beta.value_or(0))});
  return {};
}

Value ONNXImporter::leakyRelu(Value x, double alpha) {
  Type element = typeOf(x).getElementType();
  return emit<llm::WhereOp>({emit<llm::LessOp>({x, scalarOf(element, 0)}),
                             emit<llm::MulOp>({x, scalarOf(element, alpha)}),
                             x});
}

/// atan as Cephes' atanf computes it: |x| reduced to [0, tan(pi/8)] (by
/// -1/|x| past tan(3pi/8), (|x| - 1) / (|x| + 1) past tan(pi/8)), a
/// polynomial there, the reduction's angle added and x's sign restored
/// (NaN kept). In f32 within 2.8 ulp of atan on 200000 values to 1e4.
Value ONNXImporter::atanOf(Value x) {
  if (!x)
    return {};
  Type element = typeOf(x).getElementType();
  auto c = [&](double v) { return scalarOf(element, v); };
  Value magnitude = emit<llm::AbsOp>({x});
  Value big = emit<llm::GreaterOp>({magnitude, c(2.414213562373095)});
  Value middle = emit<llm::GreaterOp>({magnitude, c(0.4142135623730950)});
  Value reduced = emit<llm::WhereOp>(
      {big, emit<llm::DivOp>({c(-1), magnitude}),
       emit<llm::WhereOp>(
           {middle,
            emit<llm::DivOp>({emit<llm::SubOp>({magnitude, c(1)}),
                              emit<llm::AddOp>({magnitude, c(1)})}),
            magnitude})});
  Value angle = emit<llm::WhereOp>(
      {big, c(M_PI_2), emit<llm::WhereOp>({middle, c(M_PI_4), c(0)})});
  Value z = emit<llm::MulOp>({reduced, reduced});
  Value poly = c(8.05374449538e-2);
  for (double coefficient :
       {-1.38776856032e-1, 1.99777106478e-1, -3.33329491539e-1})
    poly = emit<llm::AddOp>({emit<llm::MulOp>({poly, z}), c(coefficient)});
  Value positive = emit<llm::AddOp>(
      {angle, emit<llm::AddOp>(
                  {emit<llm::MulOp>({emit<llm::MulOp>({poly, z}), reduced}),
                   reduced})});
  return emit<llm::WhereOp>(
      {emit<llm::LessOp>({x, c(0)}), emit<llm::NegOp>({positive}), positive});
}

/// EyeLike: a constant of the input's (2-D, static) shape with ones on
/// diagonal k, of `dtype` (default the input's type).
LogicalResult ONNXImporter::importEyeLike() {
  if (failed(requireInputs(1)))
    return failure();
  RankedTensorType type = typeOf(input(0));
  if (type.getRank() != 2)
    return error("expects a 2-D input, got " + shapeString(type.getShape()));
  Type element = type.getElementType();
  if (findAttr("dtype")) {
    element = elementTypeOf(getInt("dtype", 0), context).type;
    if (!element)
      return error("unsupported dtype " + dataTypeName(getInt("dtype", 0)));
  }
  int64_t rows = type.getDimSize(0), columns = type.getDimSize(1),
          k = getInt("k", 0);
  Attribute zero = builder.getZeroAttr(element);
  Attribute one = isa<FloatType>(element)
                      ? Attribute(builder.getFloatAttr(element, 1.0))
                      : Attribute(builder.getIntegerAttr(element, 1));
  SmallVector<Attribute> values(rows * columns, zero);
  for (int64_t row = 0; row < rows; ++row)
    if (row + k >= 0 && row + k < columns)
      values[row * columns + row + k] = one;
  auto resultType = RankedTensorType::get({rows, columns}, element);
  return setResult(
      createConstant(DenseElementsAttr::get(resultType, values), nodeLoc));
}

/// ReverseSequence: each batch row's first sequence_lens[b] steps along
/// time_axis reversed, the others kept: one gather of x's (time, batch)
/// rows at step t < len ? len - 1 - t : t, the lengths known at run time.
LogicalResult ONNXImporter::importReverseSequence() {
  if (failed(requireInputs(2)))
    return failure();
  Value x = input(0), lens = input(1);
  RankedTensorType type = typeOf(x);
  int64_t timeAxis = getInt("time_axis", 0),
          batchAxis = getInt("batch_axis", 1);
  if (type.getRank() < 2 || timeAxis + batchAxis != 1 ||
      (timeAxis != 0 && timeAxis != 1))
    return error("expects time_axis and batch_axis 0 and 1 (either way) of "
                 "an input of rank 2 or more");
  int64_t steps = type.getDimSize(timeAxis), batch = type.getDimSize(batchAxis);
  if (typeOf(lens).getShape() != ArrayRef<int64_t>{batch} ||
      !isa<IntegerType>(typeOf(lens).getElementType()))
    return error("expects integer sequence_lens of shape [" + Twine(batch) +
                 "]");
  Type i64 = builder.getI64Type();
  FailureOr<Value> wide = castTo(lens, i64);
  FailureOr<Value> row = succeeded(wide) ? reshape(*wide, {1, batch})
                                         : FailureOr<Value>(failure());
  if (failed(row))
    return failure();
  // [T, B]: the step each output step reads, then its row in x's leading
  // two dims.
  Value step = positionsAlong(2, 0, steps), rowOf = positionsAlong(2, 1, batch);
  Value source = emit<llm::WhereOp>(
      {emit<llm::LessOp>({step, *row}),
       emit<llm::SubOp>({emit<llm::SubOp>({*row, scalarOf(i64, 1)}), step}),
       step});
  Value flat =
      timeAxis == 0
          ? emit<llm::AddOp>(
                {emit<llm::MulOp>({source, scalarOf(i64, batch)}), rowOf})
          : transposed(
                emit<llm::AddOp>(
                    {emit<llm::MulOp>({rowOf, scalarOf(i64, steps)}), source}),
                {1, 0});
  int64_t rest = type.getNumElements() / std::max<int64_t>(steps * batch, 1);
  FailureOr<Value> table = reshape(x, {steps * batch, rest});
  if (failed(table))
    return failure();
  Value gathered = gatherRows(*table, flat);
  return gathered ? setResult(reshape(gathered, type.getShape())) : failure();
}

/// LRN: x / (bias + alpha / size * the sum of x^2 over channels c -
/// floor((size - 1) / 2) .. c + ceil((size - 1) / 2))^beta; the window's sum
/// adds `size` shifted slices of the squares padded with zeros.
LogicalResult ONNXImporter::importLRN() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  Type element = type.getElementType();
  if (type.getRank() < 3 || !isa<FloatType>(element))
    return error("expects a float input [N, C, D1, ...]");
  int64_t size = getInt("size", 0);
  if (size <= 0)
    return error("expects a positive size, got " + Twine(size));
  double alpha = getFloat("alpha", 1e-4f), beta = getFloat("beta", 0.75f),
         bias = getFloat("bias", 1.0f);
  int64_t channels = type.getDimSize(1), before = (size - 1) / 2,
          after = size - 1 - before;
  auto zeros = [&](int64_t count) {
    SmallVector<int64_t> shape(type.getShape());
    shape[1] = count;
    return zerosOf(RankedTensorType::get(shape, element));
  };
  SmallVector<Value> parts;
  if (before)
    parts.push_back(zeros(before));
  parts.push_back(emit<llm::MulOp>({x, x}));
  if (after)
    parts.push_back(zeros(after));
  Value padded = parts.size() == 1 ? parts.front() : concatAlong(parts, 1);
  Value sum = sliceAlong(padded, 1, 0, channels);
  for (int64_t k = 1; k < size; ++k)
    sum = emit<llm::AddOp>({sum, sliceAlong(padded, 1, k, k + channels)});
  Value scale = emit<llm::PowOp>(
      {emit<llm::AddOp>(
           {scalarOf(element, bias),
            emit<llm::MulOp>({scalarOf(element, alpha / size), sum})}),
       scalarOf(element, beta)});
  Value result = emit<llm::DivOp>({x, scale});
  return result ? setResult(result) : failure();
}

/// MeanVarianceNormalization: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9)
/// over `axes` (default [0, 2, 3]), as ONNX's function body computes it.
LogicalResult ONNXImporter::importMeanVarianceNormalization() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  if (!isa<FloatType>(type.getElementType()))
    return error("expects a float input");
  SmallVector<int64_t> axes =
      getInts("axes").value_or(SmallVector<int64_t>{0, 2, 3});
  for (int64_t &axis : axes) {
    FailureOr<int64_t> normalized = normalizeAxis(axis, type.getRank(), "axes");
    if (failed(normalized))
      return failure();
    axis = *normalized;
  }
  llvm::sort(axes);
  Value mean = reduce<llm::ReduceMeanOp>(x, axes, /*keepdims=*/true);
  Value meanOfSquares =
      reduce<llm::ReduceMeanOp>(emit<llm::MulOp>({x, x}), axes,
                                /*keepdims=*/true);
  Value deviation = emit<llm::SqrtOp>(
      {emit<llm::SubOp>({meanOfSquares, emit<llm::MulOp>({mean, mean})})});
  Value result = emit<llm::DivOp>(
      {emit<llm::SubOp>({x, mean}),
       emit<llm::AddOp>({deviation, scalarOf(type.getElementType(), 1e-9)})});
  return result ? setResult(result) : failure();
}

Value ONNXImporter::hardSigmoid(Value x, double alpha, double beta) {
  Type element = typeOf(x).getElementType();
  auto c = [&](double v) { return scalarOf(element, v); };
  return emit<llm::MaxOp>(
      {emit<llm::MinOp>(
           {emit<llm::AddOp>({emit<llm::MulOp>({x, c(alpha)}), c(beta)}),
            c(1)}),
       c(0)});
}

LogicalResult ONNXImporter::importPRelu() {
  if (failed(requireInputs(2)))
    return failure();
  Value x = input(0);
  Type elementType = typeOf(x).getElementType();
  if (!isa<FloatType>(elementType))
    return error("expects a floating-point input");
  FailureOr<Value> slope = castTo(input(1), elementType);
  if (failed(slope))
    return failure();
  // Before opset 7 a 1-D slope of x's channel count is per channel (axis 1),
  // as PyTorch's early exports wrote it; ONNX's converter keeps the node as
  // it is, so the channel axis is made explicit here.
  ArrayRef<int64_t> xShape = typeOf(x).getShape(),
                    slopeShape = typeOf(*slope).getShape();
  if (upgradedFrom && upgradedFrom < 7 && xShape.size() > 2 &&
      slopeShape.size() == 1 && slopeShape[0] != 1 &&
      slopeShape[0] == xShape[1]) {
    SmallVector<int64_t> channels(xShape.size() - 1, 1);
    channels[0] = slopeShape[0];
    slope = reshape(*slope, channels);
    if (failed(slope))
      return failure();
  }
  Value result = emit<llm::WhereOp>(
      {emit<llm::LessOp>({x, scalarOf(elementType, 0)}),
       emit<llm::MulOp>({x, *slope}), x});
  if (!result)
    return failure();
  return setResult(result);
}

/// Einsum as transposes, sums and batched matmuls, one per operand after
/// the first (contracted left to right): the indices of each pair are
/// grouped into batch (in both operands and still needed by the output or
/// a later operand), contracted (in both, not needed after) and free (in
/// one operand) ones; indices of one operand that nothing else reads are
/// summed first. "..." stands for the leading dims
/// (broadcast numpy's way); an index repeated in one operand takes its
/// diagonal.
LogicalResult ONNXImporter::importEinsum() {
  std::string equation;
  for (char ch : getString("equation", ""))
    if (!llvm::isSpace(ch))
      equation.push_back(ch);
  if (equation.empty())
    return error("expects attribute 'equation'");
  if (inputs.empty())
    return error("expects at least one input");
  for (Value value : inputs)
    if (!value)
      return error("expects no empty inputs");
  StringRef text(equation);
  auto [lhsText, outText] = text.split("->");
  bool explicitOutput = text.contains("->");
  SmallVector<StringRef> termTexts;
  lhsText.split(termTexts, ',');
  if (termTexts.size() != inputs.size())
    return error("equation '" + equation + "' has " +
                 std::to_string(termTexts.size()) + " operands, the node " +
                 std::to_string(inputs.size()));
  // Each "..." becomes the last k of `ellipsis` placeholder indices (digits
  // never appear in equations), k the dims it covers in that operand.
  int64_t ellipsisRank = 0;
  SmallVector<int64_t> covered; // per operand, 0 without "..."
  for (auto [term, value] : llvm::zip(termTexts, inputs)) {
    int64_t rank = typeOf(value).getRank();
    covered.push_back(0);
    if (term.contains("...")) {
      covered.back() = rank - static_cast<int64_t>(term.size() - 3);
      if (covered.back() < 0)
        return error("equation '" + equation + "': operand of rank " +
                     std::to_string(rank) + " for '" + term.str() + "'");
      ellipsisRank = std::max(ellipsisRank, covered.back());
    }
  }
  if (ellipsisRank > 10)
    return error("equation '" + equation + "': '...' covers more than 10 dims");
  auto expand = [&](StringRef term, int64_t dims) {
    std::string out;
    size_t dots = term.find("...");
    if (dots == StringRef::npos)
      return term.str();
    out = term.substr(0, dots).str();
    for (int64_t i = ellipsisRank - dims; i < ellipsisRank; ++i)
      out.push_back(static_cast<char>('0' + i));
    out += term.substr(dots + 3).str();
    return out;
  };
  SmallVector<std::string> terms;
  SmallVector<Value> operands(inputs.begin(), inputs.end());
  llvm::DenseMap<char, int64_t> sizes;
  llvm::DenseMap<char, int> uses;
  for (auto [term, value, dims] : llvm::zip(termTexts, operands, covered)) {
    RankedTensorType type = typeOf(value);
    std::string expanded = expand(term, dims);
    if (static_cast<int64_t>(expanded.size()) != type.getRank())
      return error("equation '" + equation + "': '" + term.str() +
                   "' names " + std::to_string(expanded.size()) +
                   " dims of an operand of rank " +
                   std::to_string(type.getRank()));
    if (!type.hasStaticShape())
      return error("Einsum needs static shapes; operand '" + term.str() +
                   "' has a dynamic dim");
    // Implicit output: the indices used once in the whole equation.
    for (char index : expanded)
      ++uses[index];
    // A repeated index takes the diagonal: x where the two dims' positions
    // are equal, summed over the second.
    for (size_t second = 1; second < expanded.size(); ++second) {
      size_t first = expanded.find(expanded[second]);
      if (first == second)
        continue;
      int64_t n = type.getDimSize(first);
      if (type.getDimSize(second) != n)
        return error("equation '" + equation + "': repeated index '" +
                     std::string(1, expanded[second]) +
                     "' over dims of sizes " + std::to_string(n) + " and " +
                     std::to_string(type.getDimSize(second)));
      SmallVector<int64_t> maskShape(type.getRank(), 1);
      maskShape[first] = maskShape[second] = n;
      SmallVector<bool> mask;
      for (int64_t a = 0; a < n; ++a)
        for (int64_t b = 0; b < n; ++b)
          mask.push_back(a == b);
      value = maskedSum(value, maskShape, mask,
                        {static_cast<int64_t>(second)});
      if (!value)
        return failure();
      type = typeOf(value);
      expanded.erase(second--, 1);
    }
    for (auto [dim, index] : llvm::enumerate(expanded)) {
      if (!llvm::isAlpha(index) && !llvm::isDigit(index))
        return error("equation '" + equation + "': bad index '" +
                     std::string(1, index) + "'");
      int64_t size = type.getDimSize(dim);
      auto [it, inserted] = sizes.try_emplace(index, size);
      if (!inserted && it->second != size) {
        if (it->second != 1 && size != 1)
          return error("equation '" + equation + "': index '" +
                       std::string(1, index) + "' has sizes " +
                       std::to_string(it->second) + " and " +
                       std::to_string(size));
        it->second = std::max(it->second, size);
      }
    }
    terms.push_back(expanded);
  }
  std::string out;
  if (explicitOutput) {
    out = expand(outText, ellipsisRank);
  } else {
    for (int64_t i = 0; i < ellipsisRank; ++i)
      out.push_back(static_cast<char>('0' + i));
    std::string once;
    for (auto [index, count] : uses)
      if (count == 1 && !llvm::isDigit(index))
        once.push_back(index);
    llvm::sort(once);
    out += once;
  }
  for (char index : out)
    if (!sizes.count(index) || llvm::count(out, index) > 1)
      return error("equation '" + equation + "': output index '" +
                   std::string(1, index) +
                   "' is repeated or names no operand dim");

  // Sum away the indices of each operand that nothing else uses.
  for (auto [term, value] : llvm::zip(terms, operands)) {
    SmallVector<int64_t> axes;
    std::string kept;
    const std::string *self = &term;
    for (auto [dim, index] : llvm::enumerate(term)) {
      char c = index;
      bool elsewhere = llvm::is_contained(out, c) ||
                       llvm::any_of(terms, [&](const std::string &other) {
                         return &other != self && llvm::is_contained(other, c);
                       });
      if (elsewhere)
        kept.push_back(index);
      else
        axes.push_back(dim);
    }
    if (axes.empty())
      continue;
    value = reduce<llm::ReduceSumOp>(value, axes, /*keepdims=*/false);
    if (!value)
      return failure();
    term = kept;
  }
  auto permutationTo = [](StringRef from, StringRef to) {
    SmallVector<int64_t> perm;
    for (char index : to)
      perm.push_back(from.find(index));
    return perm;
  };
  // Operands contract pairwise, left to right: [batch, lhs free,
  // contracted] x [batch, contracted, rhs free] as one matmul over
  // [batch..., M, K] x [batch..., K, N]. An index the output or a later
  // operand still reads stays (batch when both have it, free otherwise).
  Type elementType = typeOf(operands[0]).getElementType();
  for (Value value : operands)
    if (typeOf(value).getElementType() != elementType)
      return error("expects operands of one element type");
  auto contract =
      [&](Value lhsOperand, StringRef lhs, Value rhsOperand, StringRef rhs,
          StringRef needed) -> FailureOr<std::pair<Value, std::string>> {
    std::string batch, lhsFree, rhsFree, contracted;
    for (char index : lhs) {
      bool inRhs = rhs.contains(index), kept = needed.contains(index);
      if (inRhs && kept)
        batch.push_back(index);
      else if (inRhs)
        contracted.push_back(index);
      else
        lhsFree.push_back(index);
    }
    for (char index : rhs)
      if (!lhs.contains(index))
        rhsFree.push_back(index);
    RankedTensorType lhsType = typeOf(lhsOperand), rhsType = typeOf(rhsOperand);
    // Each operand's own sizes: a size-1 batch dim broadcasts in the matmul.
    auto dimsOf = [](RankedTensorType type, StringRef term, StringRef group) {
      SmallVector<int64_t> shape;
      for (char index : group)
        shape.push_back(type.getDimSize(term.find(index)));
      return shape;
    };
    for (char index : contracted)
      if (lhsType.getDimSize(lhs.find(index)) !=
          rhsType.getDimSize(rhs.find(index)))
        return error("equation '" + equation + "': contracted index '" +
                     std::string(1, index) + "' has different sizes");
    Value lhsValue = transposed(
        lhsOperand, permutationTo(lhs, batch + lhsFree + contracted));
    Value rhsValue = transposed(
        rhsOperand, permutationTo(rhs, batch + contracted + rhsFree));
    if (!lhsValue || !rhsValue)
      return failure();
    SmallVector<int64_t> lhsFreeDims = dimsOf(lhsType, lhs, lhsFree),
                         rhsFreeDims = dimsOf(rhsType, rhs, rhsFree),
                         contractedDims = dimsOf(lhsType, lhs, contracted);
    SmallVector<int64_t> lhsShape = dimsOf(lhsType, lhs, batch);
    SmallVector<int64_t> rhsShape = dimsOf(rhsType, rhs, batch);
    SmallVector<int64_t> resultShape;
    for (auto [l, r] : llvm::zip(lhsShape, rhsShape))
      resultShape.push_back(std::max(l, r));
    lhsShape.append(
        {computeProduct(lhsFreeDims), computeProduct(contractedDims)});
    rhsShape.append(
        {computeProduct(contractedDims), computeProduct(rhsFreeDims)});
    resultShape.append(lhsFreeDims);
    resultShape.append(rhsFreeDims);
    FailureOr<Value> lhsMatrix = reshape(lhsValue, lhsShape);
    FailureOr<Value> rhsMatrix = reshape(rhsValue, rhsShape);
    if (failed(lhsMatrix) || failed(rhsMatrix))
      return failure();
    FailureOr<Value> matrix = plainMatMul(*lhsMatrix, *rhsMatrix);
    if (failed(matrix))
      return failure();
    FailureOr<Value> result = reshape(*matrix, resultShape);
    if (failed(result))
      return failure();
    return std::make_pair(*result, batch + lhsFree + rhsFree);
  };
  Value current = operands[0];
  std::string currentTerm = terms[0];
  for (size_t next = 1; next < operands.size(); ++next) {
    std::string needed = out;
    for (size_t later = next + 1; later < terms.size(); ++later)
      needed += terms[later];
    auto contracted =
        contract(current, currentTerm, operands[next], terms[next], needed);
    if (failed(contracted))
      return failure();
    std::tie(current, currentTerm) = *contracted;
  }
  Value ordered = transposed(current, permutationTo(currentTerm, out));
  return ordered ? setResult(ordered) : failure();
}

/// CumSum along a constant axis as a masked sum: y[.., i] = sum over j of
/// x[.., j] where j <= i (j < i exclusive; >= and > reversed). Quadratic in
/// the axis length, which is a sequence length in the graphs this targets
/// (position ids from an attention mask).
LogicalResult ONNXImporter::importCumSum() {
  if (failed(requireInputs(2)))
    return failure();
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  FailureOr<int64_t> axisValue = constantScalarInt(1, "axis");
  if (failed(axisValue))
    return failure();
  FailureOr<std::pair<int64_t, int64_t>> along = staticAxis(x, *axisValue);
  if (failed(along))
    return failure();
  int64_t axis = along->first, n = along->second;
  bool exclusive = getInt("exclusive", 0) != 0,
       reverse = getInt("reverse", 0) != 0;
  // mask[i, j]: does x[j] add into y[i]?
  SmallVector<bool> mask;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      mask.push_back(reverse ? (exclusive ? j > i : j >= i)
                             : (exclusive ? j < i : j <= i));
  // x with its axis last, then [.., 1, n] against the [n, n] mask.
  int64_t rank = type.getRank();
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      perm.push_back(d);
  perm.push_back(axis);
  Value last = transposed(x, perm);
  if (!last)
    return failure();
  SmallVector<int64_t> rowShape(typeOf(last).getShape());
  rowShape.insert(rowShape.end() - 1, 1);
  FailureOr<Value> rows = reshape(last, rowShape);
  if (failed(rows))
    return failure();
  Value summed = maskedSum(*rows, {n, n}, mask, {rank});
  if (!summed)
    return failure();
  SmallVector<int64_t> inverse(rank);
  for (auto [position, d] : llvm::enumerate(perm))
    inverse[d] = position;
  Value result = transposed(summed, inverse);
  return result ? setResult(result) : failure();
}

LogicalResult ONNXImporter::importCast() {
  if (failed(requireInputs(1)))
    return failure();
  int64_t to = getInt("to", onnx::TensorProto::UNDEFINED);
  if (to == kOnnxFloat8E4M3FN) {
    markE4M3Output(0);
    return setResult(castFrom(0, builder.getI8Type(), false, true));
  }
  ElementType element = elementTypeOf(to, context);
  if (!element.type)
    return error("unsupported element type " + dataTypeName(to) +
                 " (attribute 'to')");
  bool toUnsigned =
      to == onnx::TensorProto::UINT8 || to == onnx::TensorProto::UINT16;
  if (toUnsigned)
    markUnsignedOutput(0);
  return setResult(castFrom(0, element.type, toUnsigned));
}

/// input(index) cast to `element`, reading a uint8 input as 0..255 (llm's
/// integers are signless: its bytes go through an unsigned dequantize) and
/// an FP8 one as E4M3 (an e4m3 dequantize), and, with `toUnsigned`, writing
/// 0..255 (a float through i32, then its low byte) or, with `toE4M3`, E4M3
/// bytes (`element` is then i8).
FailureOr<Value> ONNXImporter::castFrom(unsigned index, Type element,
                                        bool toUnsigned, bool toE4M3) {
  Value x = input(index);
  Type from = typeOf(x).getElementType();
  bool fromE4M3 = isE4M3Input(index);
  if (fromE4M3 && toE4M3)
    return x;
  if (toE4M3) {
    // Through f32 as any other cast reads the input (uint8 as 0..255).
    FailureOr<Value> wide = castFrom(index, builder.getF32Type(), false);
    FailureOr<Value> one = scalarF32(1.0f);
    if (failed(wide) || failed(one))
      return failure();
    return quantizeE4M3(*wide, *one);
  }
  bool fromUnsigned =
      isUnsignedInput(index) && (from.isInteger(8) || from.isInteger(16));
  if (!fromE4M3 && from == element)
    return x; // uint8 <-> int8 (uint16 <-> int16) keep the bits
  if (fromE4M3 || fromUnsigned) {
    // The bytes' values in f32 (E4M3, or 0..255), then cast from there.
    FailureOr<Value> one = scalarF32(1.0f);
    if (failed(one))
      return failure();
    FailureOr<Value> wide = create<llm::DequantizeOp>(
        {x, *one},
        {namedAttr(fromE4M3 ? "e4m3" : "is_unsigned", builder.getUnitAttr())},
        typeOf(x).clone(builder.getF32Type()));
    if (failed(wide))
      return failure();
    x = *wide;
    from = builder.getF32Type();
    if (from == element)
      return x;
  }
  if (toUnsigned && isa<FloatType>(from)) {
    FailureOr<Value> wide = castTo(x, builder.getI32Type());
    if (failed(wide))
      return failure();
    return castTo(*wide, element);
  }
  return castTo(x, element);
}

LogicalResult ONNXImporter::importCastLike() {
  if (failed(requireInputs(2)))
    return failure();
  bool toUnsigned = isUnsignedInput(1), toE4M3 = isE4M3Input(1);
  if (toUnsigned)
    markUnsignedOutput(0);
  if (toE4M3)
    markE4M3Output(0);
  return setResult(
      castFrom(0, typeOf(input(1)).getElementType(), toUnsigned, toE4M3));
}

LogicalResult ONNXImporter::importIdentity() {
  if (node->input_size() >= 1 && sequences.count(node->input(0))) {
    Item item;
    item.isSequence = true;
    item.sequence = sequences.lookup(node->input(0));
    return setItemResult(item);
  }
  if (failed(requireInputs(1)))
    return failure();
  return setResult(input(0));
}

} // namespace mlir::llm::importer
