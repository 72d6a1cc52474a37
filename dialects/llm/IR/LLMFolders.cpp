//===- LLMFolders.cpp - constant folding of llm ops -----------------------===//
//
// Folders evaluate small constant tensors: integer and boolean arithmetic
// (shape computations, masks) and data movement of any element type. Float
// arithmetic is left to run time so that the host path stays the single
// definition of fp32 results. Tensors over kMaxFoldElements are never copied.
//
//===----------------------------------------------------------------------===//
#include "llm/IR/LLMOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/APSInt.h"

using namespace mlir;
using namespace mlir::llm;

namespace {
/// A small dense constant, or null.
DenseElementsAttr smallDense(Attribute attr) {
  auto dense = dyn_cast_if_present<DenseElementsAttr>(attr);
  if (!dense || dense.getNumElements() > kMaxFoldElements)
    return {};
  return dense;
}

SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// For each element of `resultShape`, the flat index of the element of an
/// operand of `operandShape` that numpy broadcasting reads.
SmallVector<int64_t> broadcastIndices(ArrayRef<int64_t> operandShape,
                                      ArrayRef<int64_t> resultShape) {
  int64_t total = 1;
  for (int64_t d : resultShape)
    total *= d;
  size_t offset = resultShape.size() - operandShape.size();
  SmallVector<int64_t> opStrides = stridesOf(operandShape);
  SmallVector<int64_t> indices(total);
  SmallVector<int64_t> pos(resultShape.size(), 0);
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t index = 0;
    for (size_t d = offset; d < resultShape.size(); ++d)
      if (operandShape[d - offset] != 1)
        index += pos[d] * opStrides[d - offset];
    indices[flat] = index;
    for (int64_t d = (int64_t)resultShape.size() - 1; d >= 0; --d) {
      if (++pos[d] < resultShape[d])
        break;
      pos[d] = 0;
    }
  }
  return indices;
}

/// Gathers `source`'s elements at `indices` into a constant of `type`.
Attribute permuteElements(DenseElementsAttr source, ArrayRef<int64_t> indices,
                          ShapedType type) {
  if (source.isSplat())
    return DenseElementsAttr::get(type, source.getSplatValue<Attribute>());
  auto values = llvm::to_vector(source.getValues<Attribute>());
  SmallVector<Attribute> result;
  result.reserve(indices.size());
  for (int64_t i : indices)
    result.push_back(values[i]);
  return DenseElementsAttr::get(type, result);
}

using IntFn = llvm::function_ref<std::optional<APInt>(const APInt &,
                                                      const APInt &)>;

/// Folds an integer binary op on two small constants with broadcasting.
Attribute foldIntBinary(ArrayRef<Attribute> operands, Type resultType,
                        IntFn fn) {
  auto lhs = smallDense(operands[0]);
  auto rhs = smallDense(operands[1]);
  auto type = dyn_cast<RankedTensorType>(resultType);
  if (!lhs || !rhs || !type || !type.hasStaticShape() ||
      !lhs.getElementType().isSignlessInteger() ||
      type.getNumElements() > kMaxFoldElements)
    return {};
  auto lhsValues = llvm::to_vector(lhs.getValues<APInt>());
  auto rhsValues = llvm::to_vector(rhs.getValues<APInt>());
  auto lhsIndex = broadcastIndices(lhs.getType().getShape(), type.getShape());
  auto rhsIndex = broadcastIndices(rhs.getType().getShape(), type.getShape());
  SmallVector<APInt> result;
  for (int64_t i = 0; i < type.getNumElements(); ++i) {
    std::optional<APInt> value =
        fn(lhsValues[lhsIndex[i]], rhsValues[rhsIndex[i]]);
    if (!value)
      return {};
    result.push_back(*value);
  }
  return DenseElementsAttr::get(type, result);
}

APInt boolean(bool b) { return APInt(1, b ? 1 : 0); }

/// The element counts before and after `axis` of `shape`.
std::pair<int64_t, int64_t> outerInner(ArrayRef<int64_t> shape, int64_t axis) {
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  for (int64_t d = axis + 1; d < (int64_t)shape.size(); ++d)
    inner *= shape[d];
  return {outer, inner};
}
} // namespace

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(adaptor.getOperands(), getType(),
                       [](const APInt &a, const APInt &b) { return a + b; });
}
OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(adaptor.getOperands(), getType(),
                       [](const APInt &a, const APInt &b) { return a - b; });
}
OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(adaptor.getOperands(), getType(),
                       [](const APInt &a, const APInt &b) { return a * b; });
}
OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        if (b.isZero() || (a.isMinSignedValue() && b.isAllOnes()))
          return std::nullopt;
        return a.sdiv(b);
      });
}
OpFoldResult ModOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        if (b.isZero() || (a.isMinSignedValue() && b.isAllOnes()))
          return std::nullopt;
        APInt r = a.srem(b);
        if (!r.isZero() && (r.isNegative() != b.isNegative()))
          r += b;
        return r;
      });
}
OpFoldResult PowOp::fold(FoldAdaptor adaptor) { return {}; }
OpFoldResult MaxOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(adaptor.getOperands(), getType(),
                       [](const APInt &a, const APInt &b) {
                         return a.sge(b) ? a : b;
                       });
}
OpFoldResult MinOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(adaptor.getOperands(), getType(),
                       [](const APInt &a, const APInt &b) {
                         return a.sle(b) ? a : b;
                       });
}
OpFoldResult AndOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(adaptor.getOperands(), getType(),
                       [](const APInt &a, const APInt &b) { return a & b; });
}
OpFoldResult OrOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(adaptor.getOperands(), getType(),
                       [](const APInt &a, const APInt &b) { return a | b; });
}
OpFoldResult XorOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(adaptor.getOperands(), getType(),
                       [](const APInt &a, const APInt &b) { return a ^ b; });
}
// A shift by the bit width or more gives 0 (APInt's shl and lshr do too).
OpFoldResult ShiftLeftOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(adaptor.getOperands(), getType(),
                       [](const APInt &a, const APInt &b) { return a.shl(b); });
}
OpFoldResult ShiftRightOp::fold(FoldAdaptor adaptor) {
  return foldIntBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) { return a.lshr(b); });
}

// Comparisons of i1 operands compare 0/1, hence unsigned for width 1.
#define LLM_FOLD_COMPARE(OP, SIGNED, UNSIGNED)                                 \
  OpFoldResult OP::fold(FoldAdaptor adaptor) {                                 \
    return foldIntBinary(adaptor.getOperands(), getType(),                     \
                         [](const APInt &a, const APInt &b) {                  \
                           return boolean(a.getBitWidth() == 1                 \
                                              ? a.UNSIGNED(b)                  \
                                              : a.SIGNED(b));                  \
                         });                                                   \
  }
LLM_FOLD_COMPARE(EqualOp, eq, eq)
LLM_FOLD_COMPARE(LessOp, slt, ult)
LLM_FOLD_COMPARE(LessEqualOp, sle, ule)
LLM_FOLD_COMPARE(GreaterOp, sgt, ugt)
LLM_FOLD_COMPARE(GreaterEqualOp, sge, uge)
#undef LLM_FOLD_COMPARE

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  auto input = smallDense(adaptor.getInput());
  if (!input || !input.getElementType().isSignlessInteger())
    return {};
  return input.mapValues(input.getElementType(),
                         [](const APInt &v) { return -v; });
}

OpFoldResult NotOp::fold(FoldAdaptor adaptor) {
  if (auto inner = getInput().getDefiningOp<NotOp>())
    return inner.getInput();
  auto input = smallDense(adaptor.getInput());
  if (!input)
    return {};
  return input.mapValues(input.getElementType(),
                         [](const APInt &v) { return ~v; });
}

OpFoldResult WhereOp::fold(FoldAdaptor adaptor) {
  auto cond = smallDense(adaptor.getCondition());
  if (!cond)
    return {};
  auto type = getType();
  if (cond.isSplat()) {
    Value chosen =
        cond.getSplatValue<bool>() ? getTrueValue() : getFalseValue();
    if (chosen.getType() == type)
      return chosen;
  }
  auto lhs = smallDense(adaptor.getTrueValue());
  auto rhs = smallDense(adaptor.getFalseValue());
  if (!lhs || !rhs || !type.hasStaticShape() ||
      type.getNumElements() > kMaxFoldElements)
    return {};
  auto condValues = llvm::to_vector(cond.getValues<bool>());
  auto lhsValues = llvm::to_vector(lhs.getValues<Attribute>());
  auto rhsValues = llvm::to_vector(rhs.getValues<Attribute>());
  auto ci = broadcastIndices(cond.getType().getShape(), type.getShape());
  auto li = broadcastIndices(lhs.getType().getShape(), type.getShape());
  auto ri = broadcastIndices(rhs.getType().getShape(), type.getShape());
  SmallVector<Attribute> result;
  for (int64_t i = 0; i < type.getNumElements(); ++i)
    result.push_back(condValues[ci[i]] ? lhsValues[li[i]] : rhsValues[ri[i]]);
  return DenseElementsAttr::get(type, result);
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  // A float round trip through a type that holds every value exactly
  // (bf16 -> f32 -> bf16, as torch writes softmax(dtype=float32).to(bf16)).
  if (auto inner = getInput().getDefiningOp<CastOp>()) {
    auto outer = dyn_cast<FloatType>(getType().getElementType());
    auto middle = dyn_cast<FloatType>(inner.getType().getElementType());
    if (inner.getInput().getType() == getType() && outer && middle &&
        APFloat::isRepresentableBy(outer.getFloatSemantics(),
                                   middle.getFloatSemantics()))
      return inner.getInput();
  }
  auto input = smallDense(adaptor.getInput());
  if (!input)
    return {};
  Type from = input.getElementType();
  Type to = getType().getElementType();
  auto toInt = dyn_cast<IntegerType>(to);
  auto toFloat = dyn_cast<FloatType>(to);
  if (from.isSignlessInteger() && toInt) {
    unsigned width = toInt.getWidth();
    if (width == 1)
      return input.mapValues(to, [](const APInt &v) {
        return boolean(!v.isZero());
      });
    unsigned fromWidth = from.getIntOrFloatBitWidth();
    return input.mapValues(to, [&](const APInt &v) {
      return fromWidth == 1 ? v.zextOrTrunc(width) : v.sextOrTrunc(width);
    });
  }
  if (from.isSignlessInteger() && toFloat) {
    // 8- and 16-bit weights dequantized by float arithmetic,
    // `(w.float() - zero) * scale`: the Sub or Mul folds the cast into an
    // llm.dequantize of the integers (see below), which --quant and the npu
    // read as a quantized weight; folding it here first would leave an f32
    // product computed at run time. Without users yet (the importer folds
    // each op as it creates it) the cast waits for the canonicalizer.
    unsigned fromWidth = from.getIntOrFloatBitWidth();
    Value result = getResult();
    if ((fromWidth == 8 || fromWidth == 16) && toFloat.isF32() &&
        (result.use_empty() ||
         (result.hasOneUse() && isa<SubOp, MulOp>(*result.getUsers().begin()))))
      return {};
    bool isBool = fromWidth == 1;
    SmallVector<APFloat> values;
    for (const APInt &v : input.getValues<APInt>()) {
      APFloat f(toFloat.getFloatSemantics());
      f.convertFromAPInt(v, /*IsSigned=*/!isBool,
                         APFloat::rmNearestTiesToEven);
      values.push_back(f);
    }
    return DenseElementsAttr::get(getType(), values);
  }
  if (isa<FloatType>(from) && toInt) {
    SmallVector<APInt> values;
    for (APFloat v : input.getValues<APFloat>()) {
      if (toInt.getWidth() == 1) {
        values.emplace_back(1, v.isZero() ? 0 : 1);
        continue;
      }
      APSInt i(toInt.getWidth(), /*isUnsigned=*/false);
      bool exact;
      if (v.convertToInteger(i, APFloat::rmTowardZero, &exact) &
          APFloat::opInvalidOp)
        return {};
      values.push_back(i);
    }
    return DenseElementsAttr::get(getType(), values);
  }
  return {};
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  // A transpose that moves only unit dims keeps the element order; reshaped
  // back to its input's type, it is its input.
  if (auto transpose = getInput().getDefiningOp<TransposeOp>()) {
    ArrayRef<int64_t> inShape = transpose.getInput().getType().getShape();
    int64_t previous = -1;
    bool inOrder = transpose.getInput().getType() == getType();
    for (int64_t dim : transpose.getPermutation()) {
      if (!inOrder || inShape[dim] == 1)
        continue;
      inOrder = dim > previous;
      previous = dim;
    }
    if (inOrder)
      return transpose.getInput();
  }
  if (auto producer = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(producer.getInput());
    return getResult();
  }
  if (auto input = smallDense(adaptor.getInput()))
    if (getType().hasStaticShape())
      return input.reshape(getType());
  // A reshaped weight blob is the same bytes: a constant that shares them
  // (a convolution's kernel as the matmul's [M, C * K] stays a weight).
  if (auto resource =
          dyn_cast_if_present<DenseResourceElementsAttr>(adaptor.getInput()))
    if (getType().hasStaticShape())
      return DenseResourceElementsAttr::get(getType(),
                                            resource.getRawHandle());
  return {};
}

namespace {
/// reshape(transpose(reshape(y))) as one transpose of a reshape of y when
/// the outer reshape only splits the transposed dims: each dim j of the
/// transpose's result becomes a run of result dims whose sizes multiply to
/// it (unit dims anywhere). Splitting the dims the transpose reads the same
/// way gives the transpose's input as `split`, and the transpose moves
/// whole runs. torchlib transposes the key of scaled_dot_product_attention
/// as [-1, S, D] (the batch dims merged, transposed, split back); as
/// transpose(reshape(k)) the attention's matcher sees k^T of k.
struct SplitTransposedDims : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ReshapeOp outer,
                                PatternRewriter &rewriter) const override {
    auto transpose = outer.getInput().getDefiningOp<TransposeOp>();
    auto inner = transpose ? transpose.getInput().getDefiningOp<ReshapeOp>()
                           : ReshapeOp();
    if (!inner || !transpose.getResult().hasOneUse())
      return failure();
    RankedTensorType moved = transpose.getType(), result = outer.getType();
    RankedTensorType source = transpose.getInput().getType();
    if (!moved.hasStaticShape() || !result.hasStaticShape() ||
        !source.hasStaticShape())
      return failure();
    ArrayRef<int64_t> movedShape = moved.getShape();
    ArrayRef<int64_t> resultShape = result.getShape();
    // runs[j]: the result dims that dim j of the transposed tensor splits
    // into; trailing unit dims join the last run.
    SmallVector<SmallVector<int64_t>> runs(movedShape.size());
    size_t next = 0;
    for (auto [j, size] : llvm::enumerate(movedShape)) {
      int64_t product = 1;
      while (next < resultShape.size() && product < size) {
        product *= resultShape[next];
        runs[j].push_back(resultShape[next++]);
      }
      if (product != size)
        return failure();
    }
    for (; next < resultShape.size(); ++next) {
      if (resultShape[next] != 1 || runs.empty())
        return failure();
      runs.back().push_back(1);
    }
    // The transpose's input split alike: its dim p[j] into runs[j].
    ArrayRef<int64_t> perm = transpose.getPermutation();
    SmallVector<int64_t> runOf(perm.size());
    for (auto [j, dim] : llvm::enumerate(perm))
      runOf[dim] = j;
    SmallVector<int64_t> split, firstDim(perm.size());
    for (int64_t dim = 0; dim < static_cast<int64_t>(perm.size()); ++dim) {
      firstDim[dim] = split.size();
      llvm::append_range(split, runs[runOf[dim]]);
    }
    SmallVector<int64_t> permutation;
    for (auto [j, dim] : llvm::enumerate(perm))
      for (size_t k = 0; k < runs[j].size(); ++k)
        permutation.push_back(firstDim[dim] + k);
    Location loc = outer.getLoc();
    Value reshaped =
        ReshapeOp::create(rewriter, loc, source.clone(split), inner.getInput());
    rewriter.replaceOpWithNewOp<TransposeOp>(outer, result, reshaped,
                                             permutation);
    return success();
  }
};
} // namespace

void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                            MLIRContext *context) {
  patterns.add<SplitTransposedDims>(context);
}

//===----------------------------------------------------------------------===//
// Weights dequantized by float arithmetic
//===----------------------------------------------------------------------===//
//
// A model that stores 8-bit (or unpacked 4-bit) weights dequantizes them in
// its graph: `(w.float() - zero) * scale`, a Cast (an `llm.cast`, or from
// uint8 an `llm.dequantize` by 1), a Sub of an integer-valued constant and
// a Mul by a constant. Each step folds into the dequantize, exactly:
// integers below 2^16 convert to f32 exactly, so f32(q) - f32(z) is
// f32(q - z), and a product by 1 is the product. The whole chain becomes
// one `llm.dequantize(q, scale, zero)` of constants, which --quant and the
// npu read as a quantized weight instead of a float product computed at
// run time.

namespace {
/// The integers q (8 or 16 bits) of a value `f32(q - zeroPoint) * 1`.
struct IntegerValue {
  Value integers, zeroPoint;
  bool isUnsigned = false;
};

/// The values of a small f32 constant (inline or a dense_resource blob).
std::optional<std::vector<float>> smallFloatConstant(Value value) {
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant || constant.getType().getNumElements() > kMaxFoldElements)
    return std::nullopt;
  return floatElements(constant.getValue());
}

bool allOnes(Value value) {
  std::optional<std::vector<float>> values = smallFloatConstant(value);
  return values && llvm::all_of(*values, [](float v) { return v == 1.0f; });
}

/// `value` as f32(q - zero) * 1 of 8- or 16-bit integers q: an `llm.cast`
/// from them, or an unpacked, unblocked integer `llm.dequantize` by a
/// constant scale of ones. Only producers with one use, so that the
/// rewrite copies nothing.
std::optional<IntegerValue> integerValue(Value value) {
  Operation *op = value.getDefiningOp();
  if (!op || !op->hasOneUse() ||
      !cast<RankedTensorType>(value.getType()).getElementType().isF32())
    return std::nullopt;
  auto narrow = [](Value v) {
    Type element = cast<RankedTensorType>(v.getType()).getElementType();
    return element.isInteger(8) || element.isInteger(16);
  };
  if (auto cast = dyn_cast<CastOp>(op)) {
    if (!narrow(cast.getInput()))
      return std::nullopt;
    return IntegerValue{cast.getInput(), Value(), false};
  }
  auto dequant = dyn_cast<DequantizeOp>(op);
  if (!dequant || dequant.getBits() != 8 || dequant.getBlockSize() != 0 ||
      dequant.getE4m3() || !narrow(dequant.getInput()) ||
      !allOnes(dequant.getScale()))
    return std::nullopt;
  return IntegerValue{dequant.getInput(), dequant.getZeroPoint(),
                      dequant.getIsUnsigned()};
}

/// sub(int(q), c) with c an integer-valued f32 constant that q's type holds
/// (and that does not broadcast the result): the dequantize by 1 with zero
/// point c.
struct FoldZeroPointIntoDequantize : OpRewritePattern<SubOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SubOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<IntegerValue> lhs = integerValue(op.getLhs());
    if (!lhs || lhs->zeroPoint || op.getType() != op.getLhs().getType())
      return failure();
    std::optional<std::vector<float>> zero = smallFloatConstant(op.getRhs());
    if (!zero)
      return failure();
    auto integerType = cast<RankedTensorType>(lhs->integers.getType());
    unsigned width = integerType.getElementTypeBitWidth();
    double low = lhs->isUnsigned ? 0 : -std::ldexp(1.0, width - 1);
    double high = lhs->isUnsigned ? std::ldexp(1.0, width) - 1
                                  : std::ldexp(1.0, width - 1) - 1;
    SmallVector<APInt> points;
    for (float v : *zero) {
      if (v != std::floor(v) || v < low || v > high)
        return failure();
      points.push_back(APInt(width, static_cast<int64_t>(v), true, true));
    }
    auto pointType = cast<RankedTensorType>(op.getRhs().getType())
                         .clone(integerType.getElementType());
    Location loc = op.getLoc();
    Value zeroPoint = ConstantOp::create(
        rewriter, loc, pointType, DenseElementsAttr::get(pointType, points));
    Value one = ConstantOp::create(
        rewriter, loc,
        DenseElementsAttr::get(RankedTensorType::get({}, rewriter.getF32Type()),
                               rewriter.getF32FloatAttr(1.0f).getValue()));
    rewriter.replaceOpWithNewOp<DequantizeOp>(op, op.getType(), lhs->integers,
                                              one, zeroPoint, lhs->isUnsigned);
    return success();
  }
};

/// mul(int(q) [- zero], s) with s an f32 constant that does not broadcast
/// the result: the dequantize with scale s.
struct FoldScaleIntoDequantize : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    for (auto [value, other] : {std::pair(op.getLhs(), op.getRhs()),
                                std::pair(op.getRhs(), op.getLhs())}) {
      std::optional<IntegerValue> integers = integerValue(value);
      if (!integers || op.getType() != value.getType() ||
          !other.getDefiningOp<ConstantOp>() ||
          !cast<RankedTensorType>(other.getType()).getElementType().isF32())
        continue;
      rewriter.replaceOpWithNewOp<DequantizeOp>(
          op, op.getType(), integers->integers, other, integers->zeroPoint,
          integers->isUnsigned);
      return success();
    }
    return failure();
  }
};
} // namespace

void SubOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                        MLIRContext *context) {
  patterns.add<FoldZeroPointIntoDequantize>(context);
}

void MulOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                        MLIRContext *context) {
  patterns.add<FoldScaleIntoDequantize>(context);
}

OpFoldResult ExpandOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto type = getType();
  if (auto splat = dyn_cast_if_present<SplatElementsAttr>(adaptor.getInput()))
    if (type.hasStaticShape())
      return DenseElementsAttr::get(type, splat.getSplatValue<Attribute>());
  auto input = smallDense(adaptor.getInput());
  if (!input || !type.hasStaticShape() ||
      type.getNumElements() > kMaxFoldElements)
    return {};
  return permuteElements(
      input, broadcastIndices(input.getType().getShape(), type.getShape()),
      type);
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  // transpose(transpose(x, inner), outer) is transpose(x, inner[outer[i]]).
  if (auto producer = getInput().getDefiningOp<TransposeOp>()) {
    ArrayRef<int64_t> inner = producer.getPermutation();
    SmallVector<int64_t> composed;
    for (int64_t dim : getPermutation())
      composed.push_back(inner[dim]);
    getInputMutable().assign(producer.getInput());
    setPermutation(composed);
    if (llvm::equal(composed, llvm::seq<int64_t>(0, composed.size())))
      return getInput();
    return getResult();
  }
  ArrayRef<int64_t> perm = getPermutation();
  bool identity = true;
  for (auto [i, p] : llvm::enumerate(perm))
    identity &= (int64_t)i == p;
  if (identity)
    return getInput();
  auto input = smallDense(adaptor.getInput());
  auto type = getType();
  if (!input || !type.hasStaticShape())
    return {};
  ArrayRef<int64_t> inShape = input.getType().getShape();
  SmallVector<int64_t> inStrides = stridesOf(inShape);
  SmallVector<int64_t> indices;
  SmallVector<int64_t> pos(perm.size(), 0);
  for (int64_t flat = 0; flat < type.getNumElements(); ++flat) {
    int64_t index = 0;
    for (size_t d = 0; d < perm.size(); ++d)
      index += pos[d] * inStrides[perm[d]];
    indices.push_back(index);
    for (int64_t d = (int64_t)perm.size() - 1; d >= 0; --d) {
      if (++pos[d] < type.getDimSize(d))
        break;
      pos[d] = 0;
    }
  }
  return permuteElements(input, indices, type);
}

/// A concat of `inputs` (their constant values in `attrs`, null where not
/// constant): its one input, or its constant value.
static OpFoldResult foldConcat(RankedTensorType type, int64_t axis,
                               ArrayRef<Value> inputs,
                               ArrayRef<Attribute> attrs) {
  if (inputs.size() == 1 && inputs.front().getType() == type)
    return inputs.front();
  if (!type.hasStaticShape() || type.getNumElements() > kMaxFoldElements)
    return {};
  SmallVector<DenseElementsAttr> pieces;
  for (Attribute attr : attrs) {
    auto piece = smallDense(attr);
    if (!piece)
      return {};
    pieces.push_back(piece);
  }
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= type.getDimSize(d);
  SmallVector<SmallVector<Attribute>> values;
  SmallVector<int64_t> chunks;
  for (DenseElementsAttr piece : pieces) {
    values.push_back(llvm::to_vector(piece.getValues<Attribute>()));
    chunks.push_back(outer ? piece.getNumElements() / outer : 0);
  }
  SmallVector<Attribute> result;
  for (int64_t o = 0; o < outer; ++o)
    for (size_t i = 0; i < pieces.size(); ++i)
      for (int64_t j = 0; j < chunks[i]; ++j)
        result.push_back(values[i][o * chunks[i] + j]);
  return DenseElementsAttr::get(type, result);
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  // Empty pieces (torch.roll by a multiple of the dim, repeat_interleave's
  // shape for the last dim, an empty KV cache) add nothing. They are dropped
  // in place while a piece remains, and the rest folds in the same call: the
  // importer folds each op once, as it builds it.
  SmallVector<Value> inputs;
  SmallVector<Attribute> attrs;
  for (auto [input, attr] : llvm::zip(getInputs(), adaptor.getInputs())) {
    auto type = cast<RankedTensorType>(input.getType());
    if (type.hasStaticShape() && type.getNumElements() == 0)
      continue;
    inputs.push_back(input);
    attrs.push_back(attr);
  }
  bool dropped = !inputs.empty() && inputs.size() != getInputs().size();
  if (dropped) {
    getOperation()->setOperands(inputs);
  } else {
    inputs.assign(getInputs().begin(), getInputs().end());
    attrs.assign(adaptor.getInputs().begin(), adaptor.getInputs().end());
  }
  if (OpFoldResult folded = foldConcat(getType(), getAxis(), inputs, attrs))
    return folded;
  return dropped ? OpFoldResult(getResult()) : OpFoldResult();
}

namespace {
/// torch.repeat_interleave(x, r, dim=a) as torch.onnx (1.13) exports it: a
/// Split of x along `a` into its N unit slices, each repeated r times along
/// `a` (an Expand of the slice; or an Unsqueeze next to `a`, the Expand of
/// that unit dim and a Reshape that merges the two), and a Concat of the N
/// repeats in order. That is x's slice i at i * r ... i * r + r - 1: the
/// form `reshape(expand(reshape(x)))` that grouped-query attention's
/// repeated kv heads take (Hugging Face's repeat_kv), which
/// llm-fuse-attention reads as the grouped heads of the unrepeated x rather
/// than as N copies concatenated.
struct RepeatInterleavedSplit : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;

  /// The split result that `value` repeats r times along `axis`, and r; the
  /// result's type is the slice's with `axis` r.
  static std::optional<std::pair<OpResult, int64_t>>
  repeatedSlice(Value value, int64_t axis) {
    auto type = cast<RankedTensorType>(value.getType());
    if (!type.hasStaticShape())
      return std::nullopt;
    int64_t r = type.getDimSize(axis);
    SmallVector<int64_t> slice(type.getShape());
    slice[axis] = 1;
    auto isSliceShape = [&](Value v) {
      return cast<RankedTensorType>(v.getType()).getShape() ==
             ArrayRef<int64_t>(slice);
    };
    Value source;
    if (auto expand = value.getDefiningOp<ExpandOp>()) {
      // The slice expanded along `axis` itself.
      source = expand.getInput();
    } else if (auto merge = value.getDefiningOp<ReshapeOp>()) {
      // Unsqueezed next to `axis`, expanded there, merged back.
      auto expand = merge.getInput().getDefiningOp<ExpandOp>();
      auto unsqueeze =
          expand ? expand.getInput().getDefiningOp<ReshapeOp>() : ReshapeOp();
      if (!unsqueeze)
        return std::nullopt;
      SmallVector<int64_t> unit(slice), expandedFirst(slice),
          expandedSecond(slice);
      unit.insert(unit.begin() + axis, 1);
      expandedFirst.insert(expandedFirst.begin() + axis, r);
      expandedSecond.insert(expandedSecond.begin() + axis + 1, r);
      expandedSecond[axis] = 1;
      ArrayRef<int64_t> expanded = expand.getType().getShape();
      if (unsqueeze.getType().getShape() != ArrayRef<int64_t>(unit) ||
          (expanded != ArrayRef<int64_t>(expandedFirst) &&
           expanded != ArrayRef<int64_t>(expandedSecond)))
        return std::nullopt;
      source = unsqueeze.getInput();
    } else {
      return std::nullopt;
    }
    auto result = dyn_cast<OpResult>(source);
    if (!result || !isa<SplitOp>(result.getOwner()) || !isSliceShape(source))
      return std::nullopt;
    return std::make_pair(result, r);
  }

  LogicalResult matchAndRewrite(ConcatOp concat,
                                PatternRewriter &rewriter) const override {
    auto axis = static_cast<int64_t>(concat.getAxis());
    SplitOp split;
    int64_t r = 0;
    for (auto [index, input] : llvm::enumerate(concat.getInputs())) {
      std::optional<std::pair<OpResult, int64_t>> repeat =
          repeatedSlice(input, axis);
      if (!repeat || repeat->first.getResultNumber() != index ||
          (split && repeat->first.getOwner() != split) ||
          (r && repeat->second != r))
        return failure();
      split = cast<SplitOp>(repeat->first.getOwner());
      r = repeat->second;
    }
    if (!split || r < 2 || static_cast<int64_t>(split.getAxis()) != axis ||
        split.getNumResults() != concat.getInputs().size())
      return failure();
    Value x = split.getInput();
    auto type = cast<RankedTensorType>(x.getType());
    if (!type.hasStaticShape())
      return failure();
    SmallVector<int64_t> unit(type.getShape()), expanded(type.getShape());
    unit.insert(unit.begin() + axis + 1, 1);
    expanded.insert(expanded.begin() + axis + 1, r);
    Location loc = concat.getLoc();
    Value unsqueezed = ReshapeOp::create(rewriter, loc, type.clone(unit), x);
    Value repeated =
        ExpandOp::create(rewriter, loc, type.clone(expanded), unsqueezed);
    rewriter.replaceOpWithNewOp<ReshapeOp>(concat, concat.getType(), repeated);
    return success();
  }
};
} // namespace

void ConcatOp::getCanonicalizationPatterns(RewritePatternSet &patterns,
                                           MLIRContext *context) {
  patterns.add<RepeatInterleavedSplit>(context);
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  auto inType = getInput().getType();
  if (inType == getType() && llvm::all_of(getSteps(), [](int64_t s) {
        return s == 1;
      }))
    return getInput();
  auto input = smallDense(adaptor.getInput());
  auto type = getType();
  if (!input || !type.hasStaticShape())
    return {};
  SmallVector<int64_t> inStrides = stridesOf(inType.getShape());
  ArrayRef<int64_t> starts = getStarts(), steps = getSteps();
  SmallVector<int64_t> indices;
  SmallVector<int64_t> pos(type.getRank(), 0);
  for (int64_t flat = 0; flat < type.getNumElements(); ++flat) {
    int64_t index = 0;
    for (int64_t d = 0; d < type.getRank(); ++d)
      index += (starts[d] + pos[d] * steps[d]) * inStrides[d];
    indices.push_back(index);
    for (int64_t d = type.getRank() - 1; d >= 0; --d) {
      if (++pos[d] < type.getDimSize(d))
        break;
      pos[d] = 0;
    }
  }
  return permuteElements(input, indices, type);
}

LogicalResult SplitOp::fold(FoldAdaptor adaptor,
                            SmallVectorImpl<OpFoldResult> &results) {
  // A split of a small constant (repeat_interleave's repeat counts, a shape
  // split into its dims) is its pieces: later shape operands stay constant.
  auto input = smallDense(adaptor.getInput());
  if (!input)
    return failure();
  ArrayRef<int64_t> shape = input.getType().getShape();
  int64_t axis = getAxis();
  auto [outer, inner] = outerInner(shape, axis);
  int64_t offset = 0;
  for (auto [piece, size] : llvm::zip_equal(getResults(), getSizes())) {
    auto type = cast<ShapedType>(piece.getType());
    if (!type.hasStaticShape())
      return failure();
    SmallVector<int64_t> indices;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < size * inner; ++i)
        indices.push_back((o * shape[axis] + offset) * inner + i);
    results.push_back(permuteElements(input, indices, type));
    offset += size;
  }
  return success();
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  auto data = smallDense(adaptor.getData());
  auto indicesAttr = smallDense(adaptor.getIndices());
  auto type = getType();
  if (!data || !indicesAttr || !type.hasStaticShape() ||
      type.getNumElements() > kMaxFoldElements)
    return {};
  ArrayRef<int64_t> shape = data.getType().getShape();
  int64_t axis = getAxis();
  auto [outer, inner] = outerInner(shape, axis);
  int64_t extent = shape[axis];
  SmallVector<int64_t> picks;
  for (const APInt &v : indicesAttr.getValues<APInt>()) {
    int64_t i = v.getSExtValue();
    if (i < 0)
      i += extent;
    if (i < 0 || i >= extent)
      return {}; // Left to run time, which clamps; folding must not differ.
    picks.push_back(i);
  }
  SmallVector<int64_t> indices;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t p : picks)
      for (int64_t j = 0; j < inner; ++j)
        indices.push_back((o * extent + p) * inner + j);
  return permuteElements(data, indices, type);
}
