//===- FuseActivations.cpp - decomposed GELU and SiLU become one op -------===//
//
// ONNX has Gelu only since opset 20 and no SiLU, so exporters write them as
// chains of multiplies, adds and an erf, tanh or sigmoid. A single activation
// op is one elementwise kernel, and llm-fuse-matmul-epilogue can fold it into
// the matmul before it; the chain is neither.
//
//===----------------------------------------------------------------------===//
#include "FusionCount.h"
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::llm {
#define GEN_PASS_DEF_LLMFUSEACTIVATIONS
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {
/// The pass statistic a pattern counts its rewrites in.
using Counter = FusionCount &;

/// True if `value` is a single-element float constant (any rank) within a
/// relative 1e-6 of `expected`, or within one unit in the last place where
/// its element type is narrower than that (f16, bf16): exporters write the
/// formula's irrational constants rounded to the element type.
bool isNear(Value value, double expected) {
  DenseElementsAttr dense;
  if (!matchPattern(value, m_Constant(&dense)) || dense.getNumElements() != 1 ||
      !isa<FloatType>(dense.getElementType()))
    return false;
  APFloat scalar = dense.getSplatValue<APFloat>();
  double tolerance = std::max(
      1e-6, std::ldexp(1.0, 1 - static_cast<int>(APFloat::semanticsPrecision(
                                    scalar.getSemantics()))));
  bool losesInfo = false;
  scalar.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven,
                 &losesInfo);
  return std::abs(scalar.convertToDouble() - expected) <=
         tolerance * std::abs(expected);
}

bool isExactly(Value value, double expected) {
  DenseElementsAttr dense;
  return matchPattern(value, m_Constant(&dense)) &&
         dense.getNumElements() == 1 &&
         isa<FloatType>(dense.getElementType()) &&
         dense.getSplatValue<APFloat>().isExactlyValue(expected);
}

/// The op of type OpTy defining `value` when `value` has no other user.
template <typename OpTy> OpTy singleUse(Value value) {
  if (!value.hasOneUse())
    return {};
  return value.getDefiningOp<OpTy>();
}

/// True if one operand of `op` is `value` and the other satisfies `other`.
template <typename OpTy>
bool hasOperandPair(OpTy op, Value value,
                    llvm::function_ref<bool(Value)> other) {
  for (unsigned index = 0; index < 2; ++index)
    if (op->getOperand(index) == value && other(op->getOperand(1 - index)))
      return true;
  return false;
}

/// x^3 as pow(x, 3), x * (x * x) or (x * x) * x.
bool isCube(Value cube, Value x) {
  if (auto pow = singleUse<PowOp>(cube))
    return pow.getLhs() == x && isExactly(pow.getRhs(), 3.0);
  auto mul = singleUse<MulOp>(cube);
  return mul && hasOperandPair(mul, x, [&](Value square) {
           auto inner = singleUse<MulOp>(square);
           return inner && inner.getLhs() == x && inner.getRhs() == x;
         });
}

/// erf(x / sqrt(2)), as erf(x * 0.7071..) (either order) or erf(x / 1.4142..).
bool isErfOfScaled(ErfOp erf, Value x) {
  Value scaled = erf.getInput();
  if (auto mul = singleUse<MulOp>(scaled))
    return hasOperandPair(mul, x, [](Value c) { return isNear(c, M_SQRT1_2); });
  if (auto divide = singleUse<DivOp>(scaled))
    return divide.getLhs() == x && isNear(divide.getRhs(), M_SQRT2);
  return false;
}

/// tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)), every product in either order.
bool isTanhOfCubic(TanhOp tanh, Value x) {
  auto scaled = singleUse<MulOp>(tanh.getInput());
  if (!scaled)
    return false;
  for (unsigned index = 0; index < 2; ++index) {
    if (!isNear(scaled->getOperand(index), std::sqrt(2.0 / M_PI)))
      continue;
    auto sum = singleUse<AddOp>(scaled->getOperand(1 - index));
    if (sum && hasOperandPair(sum, x, [&](Value term) {
          auto mul = singleUse<MulOp>(term);
          for (unsigned i = 0; mul && i < 2; ++i)
            if (isNear(mul->getOperand(i), 0.044715) &&
                isCube(mul->getOperand(1 - i), x))
              return true;
          return false;
        }))
      return true;
  }
  return false;
}

/// The approximation of GELU if `sum` is 1 + erf(..) or 1 + tanh(..) of `x`
/// (either order).
std::optional<GeluApproximation> geluSumOf(Value sum, Value x) {
  auto add = singleUse<AddOp>(sum);
  if (!add)
    return std::nullopt;
  for (unsigned index = 0; index < 2; ++index) {
    if (!isNear(add->getOperand(1 - index), 1.0))
      continue;
    Value inner = add->getOperand(index);
    if (auto erf = singleUse<ErfOp>(inner); erf && isErfOfScaled(erf, x))
      return GeluApproximation::none;
    if (auto tanh = singleUse<TanhOp>(inner); tanh && isTanhOfCubic(tanh, x))
      return GeluApproximation::tanh;
  }
  return std::nullopt;
}

/// The operands of `value`'s product when it is a multiply with no other
/// user, else `value` itself.
void appendFactors(Value value, SmallVectorImpl<Value> &factors) {
  if (auto mul = singleUse<MulOp>(value)) {
    factors.append({mul.getLhs(), mul.getRhs()});
    return;
  }
  factors.push_back(value);
}

/// 0.5 * x * (1 + erf(x / sqrt(2))) and its tanh approximation
/// 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))) -> llm.gelu.
/// The root is the last multiply of the three factors, in any order and
/// association, or x * (1 + ..) / 2.
template <typename RootOp> struct FuseGelu : OpRewritePattern<RootOp> {
  FuseGelu(MLIRContext *context, Counter exact, Counter tanh)
      : OpRewritePattern<RootOp>(context), exact(exact), tanh(tanh) {}

  LogicalResult matchAndRewrite(RootOp root,
                                PatternRewriter &rewriter) const override {
    // The factors of the product besides the 0.5.
    SmallVector<Value, 4> factors;
    if constexpr (std::is_same_v<RootOp, DivOp>) {
      if (!isNear(root.getRhs(), 2.0) || !singleUse<MulOp>(root.getLhs()))
        return rewriter.notifyMatchFailure(root, "not a product halved");
      appendFactors(root.getLhs(), factors);
    } else {
      appendFactors(root.getLhs(), factors);
      appendFactors(root.getRhs(), factors);
      if (factors.size() != 3)
        return rewriter.notifyMatchFailure(root, "not three factors");
      auto *half =
          llvm::find_if(factors, [](Value v) { return isNear(v, 0.5); });
      if (half == factors.end())
        return rewriter.notifyMatchFailure(root, "no factor 0.5");
      factors.erase(half);
    }
    if (factors.size() != 2)
      return rewriter.notifyMatchFailure(root, "not two factors");

    for (unsigned index = 0; index < 2; ++index) {
      Value x = factors[index];
      std::optional<GeluApproximation> approximation =
          geluSumOf(factors[1 - index], x);
      if (!approximation || root.getType() != x.getType())
        continue;
      rewriter.replaceOpWithNewOp<GeluOp>(
          root, root.getType(), x,
          GeluApproximationAttr::get(rewriter.getContext(), *approximation));
      ++(*approximation == GeluApproximation::none ? exact : tanh);
      return success();
    }
    return rewriter.notifyMatchFailure(root, "not a GELU");
  }

  Counter exact, tanh;
};

/// x * sigmoid(x) (either order) -> llm.silu.
struct FuseSilu : OpRewritePattern<MulOp> {
  FuseSilu(MLIRContext *context, Counter count)
      : OpRewritePattern<MulOp>(context), count(count) {}

  LogicalResult matchAndRewrite(MulOp mul,
                                PatternRewriter &rewriter) const override {
    for (unsigned index = 0; index < 2; ++index) {
      Value x = mul->getOperand(index);
      auto sigmoid = singleUse<SigmoidOp>(mul->getOperand(1 - index));
      if (!sigmoid || sigmoid.getInput() != x || mul.getType() != x.getType())
        continue;
      rewriter.replaceOpWithNewOp<SiluOp>(mul, mul.getType(), x);
      ++count;
      return success();
    }
    return rewriter.notifyMatchFailure(mul, "not x * sigmoid(x)");
  }

  Counter count;
};

struct FuseActivationsPass
    : mlir::llm::impl::LLMFuseActivationsBase<FuseActivationsPass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    FusionCount gelus, geluTanhs, silus;
    patterns.add<FuseGelu<MulOp>, FuseGelu<DivOp>>(context, gelus, geluTanhs);
    patterns.add<FuseSilu>(context, silus);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    reportFusionCounts(getOperation(), getArgument(), remarks,
                       {{"fused-gelus", &numGelus, &gelus},
                        {"fused-gelu-tanhs", &numGeluTanhs, &geluTanhs},
                        {"fused-silus", &numSilus, &silus}});
  }
};
} // namespace
