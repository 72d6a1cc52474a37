//===- FuseDequantizedProducts.cpp - integer products from QDQ graphs -----===//
//
// A QDQ-quantized model (ONNX Runtime's quantize_static in its default QDQ
// format, TensorRT-style exports) multiplies two dequantized 8-bit tensors
// in float: the activations through QuantizeLinear then DequantizeLinear,
// the weights through DequantizeLinear. Where each operand's scale and zero
// point are constant along k (per tensor or per row of the lhs, per tensor
// or per column of the rhs) the product is
//
//   (sa (qa - za)) x (sb (qb - zb)) = (sa * sb) * sum_k (qa - za)(qb - zb)
//
// an `llm.qmatmul` (the exact i32 sum) dequantized once by sa * sb: the form
// ONNX Runtime's own graph optimizer gives such a pair (QLinearMatMul,
// MatMulIntegerToFloat), and the one the int8 tensor cores and the NPU's MAC
// array run. The float product it replaces rounded every term.
//
// Two FP8 E4M3 operands (an FP8 QDQ model: DequantizeLinear of
// FLOAT8E4M3FN) make an `e4m3` product instead, whose f32 accumulator is
// scaled once the same way: the FP8 tensor cores' form. Each term (a
// product of two E4M3 values) is exact in f32, as before; only the order
// of the f32 sum changes. An E4M3 operand with an integer one stays a float
// product.
//
//===----------------------------------------------------------------------===//
#include "FusionCount.h"
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LLMFUSEDEQUANTIZEDPRODUCTS
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// An 8-bit `llm.dequantize` (no packing, no blocks; integers or E4M3)
/// whose parameters are
/// constant along `kFromEnd` (0: the last dim, 1: the one before it) of its
/// input, or null.
DequantizeOp dequantizedOperand(Value value, int64_t kFromEnd) {
  auto op = value.getDefiningOp<DequantizeOp>();
  if (!op || op.getBits() != 8 || op.getBlockSize() != 0 ||
      !cast<RankedTensorType>(op.getInput().getType())
           .getElementType()
           .isInteger(8))
    return {};
  for (Value parameter : {op.getScale(), op.getZeroPoint()}) {
    if (!parameter)
      continue;
    auto type = cast<RankedTensorType>(parameter.getType());
    if (!type.hasStaticShape())
      return {};
    int64_t axis = type.getRank() - 1 - kFromEnd;
    if (axis >= 0 && type.getDimSize(axis) != 1)
      return {};
  }
  return op;
}

/// A transposed rhs's per-column parameter shape [.., N, 1] as [.., 1, N];
/// other shapes as they are.
SmallVector<int64_t> asRow(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> row(shape);
  if (row.size() >= 2)
    std::swap(row[row.size() - 2], row.back());
  return row;
}

/// The integer product of `op`'s dequantized operands as `op`'s float
/// result, or failure where they are not both such operands.
FailureOr<Value> integerProduct(PatternRewriter &rewriter, Operation *op,
                                Value lhs, Value rhs, bool transposeRhs,
                                bool fp8) {
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  if (!resultType.getElementType().isF32())
    return failure();
  DequantizeOp a = dequantizedOperand(lhs, 0);
  DequantizeOp b = dequantizedOperand(rhs, transposeRhs ? 0 : 1);
  if (!a || !b || a.getE4m3() != b.getE4m3() || (a.getE4m3() && !fp8))
    return failure();
  bool e4m3 = a.getE4m3();
  // The rhs's scale along the result's columns: [.., 1, N]; the scale
  // product's shape (checked before anything is built).
  auto bScaleType = cast<RankedTensorType>(b.getScale().getType());
  if (transposeRhs)
    bScaleType = bScaleType.clone(asRow(bScaleType.getShape()));
  FailureOr<SmallVector<int64_t>> scaleShape =
      broadcastShapes(cast<RankedTensorType>(a.getScale().getType()).getShape(),
                      bScaleType.getShape());
  if (failed(scaleShape))
    return failure();
  Location loc = op->getLoc();
  auto accType = resultType.clone(e4m3 ? Type(rewriter.getF32Type())
                                       : rewriter.getI32Type());
  // A zero point of constant zeros (quantize_static's symmetric weights) is
  // none, here while it is still a constant (llm-outline-weights makes a
  // large one an argument): no correction for it on any target.
  auto zeroPoint = [](DequantizeOp op) {
    Value zero = op.getZeroPoint();
    return zero && matchPattern(zero, m_Zero()) ? Value() : zero;
  };
  auto product = QMatMulOp::create(
      rewriter, loc, accType, a.getInput(), b.getInput(), zeroPoint(a),
      zeroPoint(b), a.getIsUnsigned(), b.getIsUnsigned(), transposeRhs, e4m3);
  Value bScale = b.getScale();
  if (transposeRhs && bScaleType != b.getScale().getType())
    bScale = ReshapeOp::create(rewriter, loc, bScaleType, bScale);
  // sa * sb first, then one multiply of the accumulator (as ONNX Runtime's
  // MatMulIntegerToFloat computes it).
  auto scale = MulOp::create(
      rewriter, loc, RankedTensorType::get(*scaleShape, rewriter.getF32Type()),
      a.getScale(), bScale);
  return DequantizeOp::create(rewriter, loc, resultType, product.getResult(),
                              scale.getResult(), /*zero_point=*/Value())
      .getResult();
}

/// A product pattern, told whether two FP8 operands make an e4m3 product.
template <typename OpT> struct ProductPattern : CountingPattern<OpT> {
  ProductPattern(MLIRContext *context, FusionCount &count, bool fp8)
      : CountingPattern<OpT>(context, count), fp8(fp8) {}
  bool fp8;
};

/// llm.matmul (no epilogue, lhs not transposed) of two dequantized operands.
struct FuseMatMul : ProductPattern<MatMulOp> {
  using ProductPattern::ProductPattern;

  LogicalResult matchAndRewrite(MatMulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.hasEpilogue() || op.getTransposeLhs())
      return failure();
    FailureOr<Value> result = integerProduct(
        rewriter, op, op.getLhs(), op.getRhs(), op.getTransposeRhs(), fp8);
    if (failed(result))
      return failure();
    rewriter.replaceOp(op, *result);
    ++count;
    return success();
  }
};

/// llm.gemm (alpha 1, A not transposed, beta 1 or no C) of two dequantized
/// operands: the integer product plus C.
struct FuseGemm : ProductPattern<GemmOp> {
  using ProductPattern::ProductPattern;

  LogicalResult matchAndRewrite(GemmOp op,
                                PatternRewriter &rewriter) const override {
    Value c = op.getC();
    if (op.getTransposeA() || op.getAlpha().convertToDouble() != 1.0 ||
        (c && op.getBeta().convertToDouble() != 1.0))
      return failure();
    FailureOr<Value> result = integerProduct(rewriter, op, op.getA(), op.getB(),
                                             op.getTransposeB(), fp8);
    if (failed(result))
      return failure();
    Value sum = *result;
    if (c) {
      auto type = cast<RankedTensorType>(op.getType());
      sum = AddOp::create(rewriter, op.getLoc(), type, sum, c).getResult();
    }
    rewriter.replaceOp(op, sum);
    ++count;
    return success();
  }
};

struct FuseDequantizedProductsPass
    : mlir::llm::impl::LLMFuseDequantizedProductsBase<
          FuseDequantizedProductsPass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    FusionCount products;
    patterns.add<FuseMatMul, FuseGemm>(context, products, fp8);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    reportFusionCounts(getOperation(), getArgument(), remarks,
                       {{"integer-products", &numProducts, &products}});
  }
};

} // namespace
