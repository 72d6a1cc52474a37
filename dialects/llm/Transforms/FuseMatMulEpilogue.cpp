//===- FuseMatMulEpilogue.cpp - fold elementwise tails into llm.matmul ----===//
//
// A product followed by a scale, a bias, an activation and a residual add is
// one kernel on every target: the epilogue runs on the accumulator while it
// is still in registers. Each pattern folds one following op into the
// matmul's epilogue, only where the fused op computes the same numbers in the
// same order: act(scale * product + bias) + residual.
//
//===----------------------------------------------------------------------===//
#include "FusionCount.h"
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LLMFUSEMATMULEPILOGUE
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {
/// The epilogue of a matmul under construction; starts as the op's own.
struct Epilogue {
  Value bias, residual;
  FloatAttr scale;
  Activation activation;

  explicit Epilogue(MatMulOp op)
      : bias(op.getBias()), residual(op.getResidual()),
        scale(op.getScaleAttr()), activation(op.getActivation()) {}
};

/// The matmul that produces `value` when `value` has no other user.
MatMulOp singleUseMatMul(Value value) {
  auto matmul = value.getDefiningOp<MatMulOp>();
  if (!matmul || !matmul.getResult().hasOneUse())
    return {};
  return matmul;
}

/// Replaces `consumer` by a copy of `matmul` with `epilogue`, built where
/// `consumer` is so that every new operand dominates it.
void replaceWithFused(PatternRewriter &rewriter, Operation *consumer,
                      MatMulOp matmul, const Epilogue &epilogue) {
  rewriter.setInsertionPoint(consumer);
  Location loc = rewriter.getFusedLoc({matmul.getLoc(), consumer->getLoc()});
  auto fused = MatMulOp::create(
      rewriter, loc, matmul.getType(), matmul.getLhs(), matmul.getRhs(),
      epilogue.bias, epilogue.residual, matmul.getTransposeLhsAttr(),
      matmul.getTransposeRhsAttr(), epilogue.scale,
      ActivationAttr::get(rewriter.getContext(), epilogue.activation));
  rewriter.replaceOp(consumer, fused.getResult());
  rewriter.eraseOp(matmul);
}

/// The value of a splat float constant as an f32 attribute, if it converts to
/// f32 without rounding (the scale attribute is f32).
FloatAttr splatScalar(Value value) {
  DenseElementsAttr dense;
  if (!matchPattern(value, m_Constant(&dense)) || !dense.isSplat() ||
      !isa<FloatType>(dense.getElementType()))
    return {};
  APFloat scalar = dense.getSplatValue<APFloat>();
  bool losesInfo = false;
  if (scalar.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven,
                     &losesInfo) != APFloat::opOK ||
      losesInfo)
    return {};
  return FloatAttr::get(Float32Type::get(value.getContext()), scalar);
}

/// True if `type` is a vector along the last dim of `result`: [.., 1, N].
bool isLastDimVector(RankedTensorType type, RankedTensorType result) {
  if (type.getRank() == 0 || type.getRank() > result.getRank() ||
      type.getShape().back() != result.getShape().back() ||
      ShapedType::isDynamic(type.getShape().back()))
    return false;
  return llvm::all_of(type.getShape().drop_back(),
                      [](int64_t dim) { return dim == 1; });
}

/// The pass statistic a pattern counts its rewrites in.
using Counter = FusionCount &;

/// mul(matmul, c) or div(matmul, c) with a splat constant c: scale = c or
/// 1/c, only when nothing follows the product yet. A divide is folded only
/// when 1/c is exact, so that x * (1/c) == x / c in every case.
template <typename OpTy> struct FuseScale : OpRewritePattern<OpTy> {
  FuseScale(MLIRContext *context, Counter count)
      : OpRewritePattern<OpTy>(context), count(count) {}

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    constexpr bool isDivide = std::is_same_v<OpTy, DivOp>;
    for (unsigned index = 0; index < (isDivide ? 1u : 2u); ++index) {
      MatMulOp matmul = singleUseMatMul(op->getOperand(index));
      if (!matmul || matmul.hasEpilogue() || matmul.getType() != op.getType())
        continue;
      FloatAttr scale = splatScalar(op->getOperand(1 - index));
      if (!scale)
        continue;
      if (isDivide) {
        APFloat inverse(0.0f);
        if (!scale.getValue().getExactInverse(&inverse))
          return rewriter.notifyMatchFailure(op, "1/c is not exact");
        scale = FloatAttr::get(scale.getType(), inverse);
      }
      Epilogue epilogue(matmul);
      epilogue.scale = scale;
      replaceWithFused(rewriter, op, matmul, epilogue);
      ++count;
      return success();
    }
    return failure();
  }

  Counter count;
};

/// add(matmul, b): a vector b along the last dim becomes the bias while no
/// activation or residual is set; a b of the result's shape becomes the
/// residual while none is set.
struct FuseAdd : OpRewritePattern<AddOp> {
  FuseAdd(MLIRContext *context, Counter countBias, Counter countResidual)
      : OpRewritePattern<AddOp>(context), countBias(countBias),
        countResidual(countResidual) {}

  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    for (unsigned index = 0; index < 2; ++index) {
      MatMulOp matmul = singleUseMatMul(op->getOperand(index));
      if (!matmul || matmul.getType() != op.getType())
        continue;
      Value addend = op->getOperand(1 - index);
      auto addendType = cast<RankedTensorType>(addend.getType());
      Epilogue epilogue(matmul);
      if (!epilogue.bias && !epilogue.residual &&
          epilogue.activation == Activation::none &&
          isLastDimVector(addendType, matmul.getType())) {
        epilogue.bias = addend;
        replaceWithFused(rewriter, op, matmul, epilogue);
        ++countBias;
        return success();
      }
      if (!epilogue.residual && addendType == matmul.getType()) {
        epilogue.residual = addend;
        replaceWithFused(rewriter, op, matmul, epilogue);
        ++countResidual;
        return success();
      }
    }
    return failure();
  }

  Counter countBias, countResidual;
};

/// relu, gelu or silu of a matmul without an activation or residual.
template <typename OpTy> struct FuseActivation : OpRewritePattern<OpTy> {
  FuseActivation(MLIRContext *context, Counter count)
      : OpRewritePattern<OpTy>(context), count(count) {}

  static Activation activationOf(OpTy op) {
    if constexpr (std::is_same_v<OpTy, ReluOp>)
      return Activation::relu;
    else if constexpr (std::is_same_v<OpTy, SiluOp>)
      return Activation::silu;
    else
      return op.getApproximation() == GeluApproximation::tanh
                 ? Activation::gelu_tanh
                 : Activation::gelu;
  }

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    MatMulOp matmul = singleUseMatMul(op.getInput());
    if (!matmul)
      return failure();
    Epilogue epilogue(matmul);
    if (epilogue.activation != Activation::none || epilogue.residual)
      return rewriter.notifyMatchFailure(op, "the epilogue is past activation");
    epilogue.activation = activationOf(op);
    replaceWithFused(rewriter, op, matmul, epilogue);
    ++count;
    return success();
  }

  Counter count;
};

/// llm.gemm is llm.matmul with alpha as scale and c as bias when beta is 1 or
/// there is no c: gemm's lowering computes the same elementwise tail.
struct GemmToMatMul : OpRewritePattern<GemmOp> {
  GemmToMatMul(MLIRContext *context, Counter count)
      : OpRewritePattern<GemmOp>(context), count(count) {}

  LogicalResult matchAndRewrite(GemmOp op,
                                PatternRewriter &rewriter) const override {
    Value c = op.getC();
    if (c && op.getBeta().convertToDouble() != 1.0)
      return rewriter.notifyMatchFailure(op, "beta is not 1");
    Type element = op.getType().getElementType();
    if (!isa<FloatType>(element) && op.getAlpha().convertToDouble() != 1.0)
      return rewriter.notifyMatchFailure(op, "integer product with alpha");
    auto matmul = MatMulOp::create(rewriter, op.getLoc(), op.getType(),
                                   op.getA(), op.getB(), c,
                                   /*residual=*/Value(), op.getTransposeA(),
                                   op.getTransposeB(), op.getAlpha());
    rewriter.replaceOp(op, matmul.getResult());
    ++count;
    return success();
  }

  Counter count;
};

/// mul(cast(qmatmul) to f32, s) with an f32 s broadcast to the product (the
/// dequantization ONNX Runtime's quantize_dynamic writes as MatMulInteger,
/// Cast, Mul) is llm.dequantize(qmatmul, s): the same float(acc) * s, and
/// the form the backends fuse into the integer product's epilogue.
struct DequantizeIntegerProduct : OpRewritePattern<MulOp> {
  DequantizeIntegerProduct(MLIRContext *context, Counter count)
      : OpRewritePattern<MulOp>(context), count(count) {}

  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    for (unsigned index = 0; index < 2; ++index) {
      auto toFloat = op->getOperand(index).getDefiningOp<CastOp>();
      if (!toFloat || !toFloat.getResult().hasOneUse() ||
          toFloat.getType() != op.getType() ||
          !op.getType().getElementType().isF32())
        continue;
      auto product = toFloat.getInput().getDefiningOp<QMatMulOp>();
      Value scale = op->getOperand(1 - index);
      auto scaleType = cast<RankedTensorType>(scale.getType());
      if (!product || scaleType.getRank() > op.getType().getRank())
        continue;
      auto dequantize = DequantizeOp::create(
          rewriter, rewriter.getFusedLoc({toFloat.getLoc(), op.getLoc()}),
          op.getType(), product.getResult(), scale, /*zero_point=*/Value());
      rewriter.replaceOp(op, dequantize.getResult());
      rewriter.eraseOp(toFloat);
      ++count;
      return success();
    }
    return failure();
  }

  Counter count;
};

struct FuseMatMulEpiloguePass
    : mlir::llm::impl::LLMFuseMatMulEpilogueBase<FuseMatMulEpiloguePass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    FusionCount gemms, scales, biases, residuals, activations, dequantizations;
    patterns.add<GemmToMatMul>(context, gemms);
    patterns.add<DequantizeIntegerProduct>(context, dequantizations);
    patterns.add<FuseScale<MulOp>, FuseScale<DivOp>>(context, scales);
    patterns.add<FuseAdd>(context, biases, residuals);
    patterns.add<FuseActivation<ReluOp>, FuseActivation<GeluOp>,
                 FuseActivation<SiluOp>>(context, activations);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    reportFusionCounts(
        getOperation(), getArgument(), remarks,
        {{"gemms", &numGemms, &gemms},
         {"scales", &numScales, &scales},
         {"biases", &numBiases, &biases},
         {"activations", &numActivations, &activations},
         {"residuals", &numResiduals, &residuals},
         {"dequantizations", &numDequantizations, &dequantizations}});
  }
};
} // namespace
