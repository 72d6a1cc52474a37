//===- OuterProducts.cpp - products over one k as broadcast multiplies ----===//
//
// [.., M, 1] x [.., 1, N] sums a single term per element: it is the
// broadcast multiply of the operands. As llm.mul it fuses with the
// elementwise ops around it (the cast of the positions before Hugging
// Face's rotary angles, the cos and sin after); as llm.matmul it was a
// product of its own, on the ptx target a tensor-core launch.
//
//===----------------------------------------------------------------------===//
#include "FusionCount.h"
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LLMOUTERPRODUCTS
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {
struct OuterProductAsMul : CountingPattern<MatMulOp> {
  using CountingPattern::CountingPattern;

  LogicalResult matchAndRewrite(MatMulOp op,
                                PatternRewriter &rewriter) const override {
    auto lhsType = cast<RankedTensorType>(op.getLhs().getType());
    int64_t k = op.getTransposeLhs() ? lhsType.getDimSize(lhsType.getRank() - 2)
                                     : lhsType.getShape().back();
    if (k != 1)
      return rewriter.notifyMatchFailure(op, "not a product over one k");
    if (op.hasEpilogue() ||
        op.getType().getElementType() != lhsType.getElementType())
      return rewriter.notifyMatchFailure(op, "an epilogue or a wider result");
    // [.., 1, M] -> [.., M, 1] and [.., N, 1] -> [.., 1, N].
    auto swapLast = [&](Value value) -> Value {
      int64_t rank = cast<RankedTensorType>(value.getType()).getRank();
      auto permutation = llvm::to_vector(llvm::seq<int64_t>(0, rank));
      std::swap(permutation[rank - 2], permutation[rank - 1]);
      return TransposeOp::create(rewriter, op.getLoc(), value, permutation);
    };
    Value lhs = op.getTransposeLhs() ? swapLast(op.getLhs()) : op.getLhs();
    Value rhs = op.getTransposeRhs() ? swapLast(op.getRhs()) : op.getRhs();
    rewriter.replaceOpWithNewOp<MulOp>(op, op.getType(), lhs, rhs);
    ++count;
    return success();
  }
};

struct OuterProductsPass
    : mlir::llm::impl::LLMOuterProductsBase<OuterProductsPass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    FusionCount products;
    patterns.add<OuterProductAsMul>(context, products);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    reportFusionCounts(getOperation(), getArgument(), remarks,
                       {{"outer-products", &numOuterProducts, &products}});
  }
};
} // namespace
