//===- FuseNorms.cpp - decomposed norms become llm.layer_norm/rms_norm ----===//
//
// ONNX has no LayerNormalization before opset 17 and no RMS norm at all, so
// exporters write both as a mean, a square, a mean, an add of eps, a square
// root and a division. One norm op is one pass over each row on every target
// instead of six ops and their intermediates. The normalization itself is
// fused with a ones scale; two more patterns then fold the scale multiply
// and the bias add that follow it, so each step is checked on its own.
//
//===----------------------------------------------------------------------===//
#include "FusionCount.h"
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LLMFUSENORMS
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {
/// The pass statistic a pattern counts its rewrites in.
using Counter = FusionCount &;

/// The value of a single-element float constant (any rank), widened to
/// double, which every narrower float converts to exactly.
std::optional<double> scalarValue(Value value) {
  DenseElementsAttr dense;
  if (!matchPattern(value, m_Constant(&dense)) || dense.getNumElements() != 1 ||
      !isa<FloatType>(dense.getElementType()))
    return std::nullopt;
  APFloat scalar = dense.getSplatValue<APFloat>();
  bool losesInfo = false;
  scalar.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven,
                 &losesInfo);
  return scalar.convertToDouble();
}

bool isExactly(Value value, double expected) {
  std::optional<double> scalar = scalarValue(value);
  return scalar && *scalar == expected;
}

/// True if `value` is a constant whose every element is exactly 1.
bool isOnes(Value value) {
  DenseElementsAttr dense;
  return matchPattern(value, m_Constant(&dense)) && dense.isSplat() &&
         isa<FloatType>(dense.getElementType()) &&
         dense.getSplatValue<APFloat>().isExactlyValue(1.0);
}

RankedTensorType tensorTypeOf(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// The first reduced dim if `mean` keeps dims and reduces exactly the
/// trailing dims [axis, rank) of its input, which are static.
std::optional<int64_t> trailingAxis(ReduceMeanOp mean) {
  if (!mean.getKeepdims() || mean.getAxes().empty())
    return std::nullopt;
  RankedTensorType type = tensorTypeOf(mean.getInput());
  SmallVector<int64_t> axes(mean.getAxes());
  llvm::sort(axes);
  int64_t axis = type.getRank() - static_cast<int64_t>(axes.size());
  for (auto [index, reduced] : llvm::enumerate(axes))
    if (reduced != axis + static_cast<int64_t>(index))
      return std::nullopt;
  if (axis < 0 || ShapedType::isDynamicShape(type.getShape().drop_front(axis)))
    return std::nullopt;
  return axis;
}

/// The type `param` takes as the scale or bias of a norm of `input` over
/// [axis, rank), which has exactly those dims: its own, or with leading unit
/// dims dropped (a [1, 1, N] parameter is a [N] one); none if it has other
/// dims. A parameter that would broadcast (a scalar, [1, N] for [M, N]) is
/// left to the multiply or add: the op documents parameters of the
/// normalized shape, and backends may rely on it.
std::optional<RankedTensorType>
normParameterType(Value param, RankedTensorType input, int64_t axis) {
  RankedTensorType type = tensorTypeOf(param);
  if (type.getElementType() != input.getElementType())
    return std::nullopt;
  ArrayRef<int64_t> normalized = input.getShape().drop_front(axis);
  ArrayRef<int64_t> shape = type.getShape();
  while (shape.size() > normalized.size() && shape.front() == 1)
    shape = shape.drop_front();
  if (shape != normalized || ShapedType::isDynamicShape(shape))
    return std::nullopt;
  return type.clone(shape);
}

/// `param` as the norm parameter of `type`, reshaped if it has to be.
Value normParameter(PatternRewriter &rewriter, Location loc, Value param,
                    RankedTensorType type) {
  if (param.getType() == type)
    return param;
  return ReshapeOp::create(rewriter, loc, type, param);
}

/// `numerator / sqrt(mean(numerator^2) + epsilon)` as matched at its root.
struct Normalization {
  Value numerator;
  /// pow(numerator, 2) or numerator * numerator.
  Operation *square;
  ReduceMeanOp meanOfSquares;
  int64_t axis;
  FloatAttr epsilon;
};

/// The operand of `value` = sqrt(operand) when `value` has no other user.
Value sqrtOperand(Value value) {
  if (!value || !value.hasOneUse())
    return {};
  auto sqrt = value.getDefiningOp<SqrtOp>();
  return sqrt ? sqrt.getInput() : Value();
}

/// The operand s of `value` = rsqrt(s), reciprocal(sqrt(s)) or 1 / sqrt(s)
/// when no intermediate has another user.
Value inverseSqrtOperand(Value value) {
  if (!value.hasOneUse())
    return {};
  if (auto rsqrt = value.getDefiningOp<RsqrtOp>())
    return rsqrt.getInput();
  if (auto reciprocal = value.getDefiningOp<ReciprocalOp>())
    return sqrtOperand(reciprocal.getInput());
  if (auto divide = value.getDefiningOp<DivOp>();
      divide && isExactly(divide.getLhs(), 1.0))
    return sqrtOperand(divide.getRhs());
  return {};
}

/// Matches the rest of the chain given the numerator and `shifted`, the
/// value whose square root divides it: mean(square) + eps.
std::optional<Normalization>
matchMeanOfSquares(Operation *root, Value numerator, Value shifted) {
  RankedTensorType type = tensorTypeOf(numerator);
  if (!shifted || !shifted.hasOneUse() ||
      !isa<FloatType>(type.getElementType()) ||
      root->getResult(0).getType() != type)
    return std::nullopt;
  auto add = shifted.getDefiningOp<AddOp>();
  if (!add)
    return std::nullopt;
  for (unsigned index = 0; index < 2; ++index) {
    auto mean = add->getOperand(index).getDefiningOp<ReduceMeanOp>();
    std::optional<double> epsilon = scalarValue(add->getOperand(1 - index));
    if (!mean || !epsilon || !mean->hasOneUse() ||
        mean.getType() != add.getType())
      continue;
    std::optional<int64_t> axis = trailingAxis(mean);
    if (!axis)
      continue;
    // The op's epsilon is f32: only a value that converts exactly keeps the
    // formula's numbers.
    APFloat epsilon32(*epsilon);
    bool losesInfo = false;
    if (epsilon32.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven,
                          &losesInfo) != APFloat::opOK ||
        losesInfo)
      continue;
    Value square = mean.getInput();
    Operation *squareOp = square.getDefiningOp();
    if (!squareOp || !square.hasOneUse() || square.getType() != type)
      continue;
    bool isSquare = false;
    if (auto pow = dyn_cast<PowOp>(squareOp))
      isSquare = pow.getLhs() == numerator && isExactly(pow.getRhs(), 2.0);
    else if (auto mul = dyn_cast<MulOp>(squareOp))
      isSquare = mul.getLhs() == numerator && mul.getRhs() == numerator;
    if (!isSquare)
      continue;
    return Normalization{
        numerator, squareOp, mean, *axis,
        FloatAttr::get(Float32Type::get(root->getContext()), epsilon32)};
  }
  return std::nullopt;
}

/// Matches `root` as n / sqrt(mean(n^2) + eps) or n * r with r one of the
/// inverse square root forms, in either operand order.
std::optional<Normalization> matchNormalization(Operation *root) {
  if (auto divide = dyn_cast<DivOp>(root))
    return matchMeanOfSquares(root, divide.getLhs(),
                              sqrtOperand(divide.getRhs()));
  if (auto mul = dyn_cast<MulOp>(root))
    for (unsigned index = 0; index < 2; ++index)
      if (Value shifted = inverseSqrtOperand(mul->getOperand(1 - index)))
        if (std::optional<Normalization> norm =
                matchMeanOfSquares(root, mul->getOperand(index), shifted))
          return norm;
  return std::nullopt;
}

/// `value` = x - reduce_mean(x): the centering of a layer norm.
SubOp centeringOf(Value value) {
  auto center = value.getDefiningOp<SubOp>();
  if (!center)
    return {};
  auto mean = center.getRhs().getDefiningOp<ReduceMeanOp>();
  if (!mean || mean.getInput() != center.getLhs())
    return {};
  return center;
}

/// A constant 1 of the shape of the normalized dims: the scale of a fused
/// norm until a following multiply provides one.
Value onesScale(PatternRewriter &rewriter, Location loc, RankedTensorType input,
                int64_t axis) {
  auto type = RankedTensorType::get(input.getShape().drop_front(axis),
                                    input.getElementType());
  auto ones = DenseElementsAttr::get(
      type,
      ArrayRef<Attribute>{rewriter.getFloatAttr(input.getElementType(), 1.0)});
  return ConstantOp::create(rewriter, loc, type, ones);
}

/// (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) -> llm.layer_norm with
/// a ones scale. The centered value may only feed the square and the root,
/// and the mean of x nothing else, or fusing would compute them twice.
template <typename RootOp> struct FuseLayerNorm : OpRewritePattern<RootOp> {
  FuseLayerNorm(MLIRContext *context, Counter count)
      : OpRewritePattern<RootOp>(context), count(count) {}

  LogicalResult matchAndRewrite(RootOp root,
                                PatternRewriter &rewriter) const override {
    std::optional<Normalization> norm = matchNormalization(root);
    if (!norm)
      return rewriter.notifyMatchFailure(root, "not a normalization");
    SubOp center = centeringOf(norm->numerator);
    if (!center)
      return rewriter.notifyMatchFailure(root, "the numerator is not centered");
    Value input = center.getLhs();
    auto mean = center.getRhs().getDefiningOp<ReduceMeanOp>();
    if (!mean->hasOneUse() || trailingAxis(mean) != norm->axis ||
        center.getType() != input.getType())
      return rewriter.notifyMatchFailure(
          root, "the mean is shared or over other dims than the variance");
    for (Operation *user : center->getUsers())
      if (user != norm->square && user != root.getOperation())
        return rewriter.notifyMatchFailure(
            root, "the centered value has a user outside the norm");

    Location loc = rewriter.getFusedLoc({mean.getLoc(), root.getLoc()});
    RankedTensorType type = tensorTypeOf(input);
    Value scale = onesScale(rewriter, loc, type, norm->axis);
    rewriter.replaceOpWithNewOp<LayerNormOp>(
        root, type, input, scale, /*bias=*/Value(),
        rewriter.getI64IntegerAttr(norm->axis), norm->epsilon);
    ++count;
    return success();
  }

  Counter count;
};

/// x / sqrt(mean(x^2) + eps) -> llm.rms_norm with a ones scale. A centered
/// x is a layer norm or nothing: FuseLayerNorm decides.
template <typename RootOp> struct FuseRMSNorm : OpRewritePattern<RootOp> {
  FuseRMSNorm(MLIRContext *context, Counter count)
      : OpRewritePattern<RootOp>(context), count(count) {}

  LogicalResult matchAndRewrite(RootOp root,
                                PatternRewriter &rewriter) const override {
    std::optional<Normalization> norm = matchNormalization(root);
    if (!norm)
      return rewriter.notifyMatchFailure(root, "not a normalization");
    if (centeringOf(norm->numerator))
      return rewriter.notifyMatchFailure(root, "a centered value");

    Location loc =
        rewriter.getFusedLoc({norm->meanOfSquares.getLoc(), root.getLoc()});
    RankedTensorType type = tensorTypeOf(norm->numerator);
    Value scale = onesScale(rewriter, loc, type, norm->axis);
    rewriter.replaceOpWithNewOp<RMSNormOp>(
        root, type, norm->numerator, scale,
        rewriter.getI64IntegerAttr(norm->axis), norm->epsilon);
    ++count;
    return success();
  }

  Counter count;
};

LayerNormOp createNorm(PatternRewriter &rewriter, Location loc,
                       LayerNormOp norm, Value scale, Value bias) {
  return LayerNormOp::create(rewriter, loc, norm.getType(), norm.getInput(),
                             scale, bias, norm.getAxisAttr(),
                             norm.getEpsilonAttr());
}

RMSNormOp createNorm(PatternRewriter &rewriter, Location loc, RMSNormOp norm,
                     Value scale, Value bias) {
  return RMSNormOp::create(rewriter, loc, norm.getType(), norm.getInput(),
                           scale, norm.getAxisAttr(), norm.getEpsilonAttr());
}

/// norm(x, ones) * w -> norm(x, w) when w broadcasts to the normalized dims
/// (after dropping leading unit dims) and the norm has no other user (nor, for
/// a layer norm, a bias yet: the scale applies before it). Multiplying by ones
/// is exact, so the numbers stay.
template <typename NormOp> struct FoldScaleIntoNorm : OpRewritePattern<MulOp> {
  FoldScaleIntoNorm(MLIRContext *context, Counter count)
      : OpRewritePattern<MulOp>(context), count(count) {}

  LogicalResult matchAndRewrite(MulOp mul,
                                PatternRewriter &rewriter) const override {
    for (unsigned index = 0; index < 2; ++index) {
      auto norm = mul->getOperand(index).getDefiningOp<NormOp>();
      if (!norm || !norm->hasOneUse() || !isOnes(norm.getScale()) ||
          mul.getType() != norm.getType())
        continue;
      if constexpr (std::is_same_v<NormOp, LayerNormOp>)
        if (norm.getBias())
          continue;
      Value scale = mul->getOperand(1 - index);
      std::optional<RankedTensorType> scaleType =
          normParameterType(scale, norm.getType(), norm.getAxis());
      if (!scaleType)
        continue;
      Location loc = rewriter.getFusedLoc({norm.getLoc(), mul.getLoc()});
      NormOp fused =
          createNorm(rewriter, loc, norm,
                     normParameter(rewriter, loc, scale, *scaleType), Value());
      rewriter.replaceOp(mul, fused.getResult());
      rewriter.eraseOp(norm);
      ++count;
      return success();
    }
    return rewriter.notifyMatchFailure(mul, "not a scale of a norm");
  }

  Counter count;
};

/// layer_norm(x, s) + b -> layer_norm(x, s, b) when b broadcasts to the
/// normalized dims and the norm has no other user.
struct FoldBiasIntoLayerNorm : OpRewritePattern<AddOp> {
  FoldBiasIntoLayerNorm(MLIRContext *context, Counter count)
      : OpRewritePattern<AddOp>(context), count(count) {}

  LogicalResult matchAndRewrite(AddOp add,
                                PatternRewriter &rewriter) const override {
    for (unsigned index = 0; index < 2; ++index) {
      auto norm = add->getOperand(index).getDefiningOp<LayerNormOp>();
      if (!norm || !norm->hasOneUse() || norm.getBias() ||
          add.getType() != norm.getType())
        continue;
      Value bias = add->getOperand(1 - index);
      std::optional<RankedTensorType> biasType =
          normParameterType(bias, norm.getType(), norm.getAxis());
      if (!biasType)
        continue;
      Location loc = rewriter.getFusedLoc({norm.getLoc(), add.getLoc()});
      LayerNormOp fused =
          createNorm(rewriter, loc, norm, norm.getScale(),
                     normParameter(rewriter, loc, bias, *biasType));
      rewriter.replaceOp(add, fused.getResult());
      rewriter.eraseOp(norm);
      ++count;
      return success();
    }
    return rewriter.notifyMatchFailure(add, "not a bias of a layer norm");
  }

  Counter count;
};

struct FuseNormsPass : mlir::llm::impl::LLMFuseNormsBase<FuseNormsPass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    FusionCount layerNorms, rmsNorms, scales, biases;
    patterns.add<FuseLayerNorm<DivOp>, FuseLayerNorm<MulOp>>(context,
                                                             layerNorms);
    patterns.add<FuseRMSNorm<DivOp>, FuseRMSNorm<MulOp>>(context, rmsNorms);
    patterns.add<FoldScaleIntoNorm<LayerNormOp>, FoldScaleIntoNorm<RMSNormOp>>(
        context, scales);
    patterns.add<FoldBiasIntoLayerNorm>(context, biases);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    reportFusionCounts(getOperation(), getArgument(), remarks,
                       {{"fused-layer-norms", &numLayerNorms, &layerNorms},
                        {"fused-rms-norms", &numRMSNorms, &rmsNorms},
                        {"scales", &numScales, &scales},
                        {"biases", &numBiases, &biases}});
  }
};
} // namespace
