//===- HLSLoopOrder.cpp - parallel innermost loops for HLS pipelining -----===//
//
// A pipelined loop at II=1 must not carry a float accumulation between its
// iterations; this pass moves a parallel loop innermost in every linalg op
// whose innermost loop is a reduction. The per-element order of additions is
// unchanged, so the results are exactly the host's.
//
//===----------------------------------------------------------------------===//
#include "llmc/Conversion/HLSPasses.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace llmc {
#define GEN_PASS_DEF_LLMHLSLOOPORDER
#define GEN_PASS_DEF_LLMHLSCOPYTOLINALG
#define GEN_PASS_DEF_LLMHLSROUND16BITFLOATS
#include "llmc/Conversion/HLSPasses.h.inc"
} // namespace llmc

using namespace mlir;

namespace {
/// The permutation that puts one parallel loop innermost, or none when the
/// innermost loop is already parallel or no loop is parallel.
std::optional<SmallVector<unsigned>> parallelInnermostOrder(linalg::LinalgOp op) {
  unsigned numLoops = op.getNumLoops();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (numLoops < 2 || iterators.back() != utils::IteratorType::reduction)
    return std::nullopt;
  std::optional<unsigned> chosen;
  if (op.getNumDpsInits() == 1) {
    AffineMap outputMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
    if (outputMap.getNumResults() > 0)
      if (auto last = dyn_cast<AffineDimExpr>(outputMap.getResults().back()))
        if (iterators[last.getPosition()] == utils::IteratorType::parallel)
          chosen = last.getPosition();
  }
  if (!chosen)
    for (unsigned i = numLoops; i-- > 0;)
      if (iterators[i] == utils::IteratorType::parallel) {
        chosen = i;
        break;
      }
  if (!chosen)
    return std::nullopt;
  SmallVector<unsigned> order;
  for (unsigned i = 0; i < numLoops; ++i)
    if (i != *chosen)
      order.push_back(i);
  order.push_back(*chosen);
  return order;
}

struct HLSLoopOrderPass
    : llmc::impl::LLMHLSLoopOrderBase<HLSLoopOrderPass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> candidates;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (parallelInnermostOrder(op))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : candidates) {
      SmallVector<unsigned> order = *parallelInnermostOrder(op);
      rewriter.setInsertionPoint(op);
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      if (!generic) {
        FailureOr<linalg::GenericOp> generalized =
            linalg::generalizeNamedOp(rewriter, op);
        if (failed(generalized)) {
          op->emitOpError("could not be generalized to reorder its loops");
          return signalPassFailure();
        }
        generic = *generalized;
      }
      if (failed(linalg::interchangeGenericOp(rewriter, generic, order))) {
        generic.emitOpError("could not reorder its loops");
        return signalPassFailure();
      }
    }
  }
};

struct HLSRound16BitFloatsPass
    : llmc::impl::LLMHLSRound16BitFloatsBase<HLSRound16BitFloatsPass> {
  void runOnOperation() override {
    auto isNarrow = [](Type type) {
      Type element = getElementTypeOrSelf(type);
      return element.isF16() || element.isBF16();
    };
    getOperation()->walk([&](Operation *op) {
      if (auto ext = dyn_cast<arith::ExtFOp>(op);
          ext && isNarrow(ext.getIn().getType()))
        ext.removeFastmathAttr();
      if (auto trunc = dyn_cast<arith::TruncFOp>(op);
          trunc && isNarrow(trunc.getType()))
        trunc.removeFastmathAttr();
    });
  }
};

struct HLSCopyToLinalgPass
    : llmc::impl::LLMHLSCopyToLinalgBase<HLSCopyToLinalgPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation()->walk([&](memref::CopyOp op) { copies.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (memref::CopyOp op : copies) {
      rewriter.setInsertionPoint(op);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(op, op.getSource(),
                                                  op.getTarget());
    }
  }
};
} // namespace
