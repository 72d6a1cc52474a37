//===- HostLoopOrder.cpp - vectorizable loop order for the host path ------===//
//
// Chooses the loop order convert-linalg-to-loops will emit so that LLVM's
// loop vectorizer finds a contiguous, parallel innermost loop instead of a
// float reduction it may not reassociate.
//
//===----------------------------------------------------------------------===//
#include "Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace llmc {
#define GEN_PASS_DEF_LLMHOSTLOOPORDER
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {
/// The loop order that puts the output's contiguous loop innermost, or
/// nothing when the op already has a parallel innermost loop or no loop
/// qualifies.
std::optional<SmallVector<unsigned>> vectorizableOrder(linalg::LinalgOp op) {
  unsigned numLoops = op.getNumLoops();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (numLoops < 2 || iterators.back() != utils::IteratorType::reduction ||
      op.getNumDpsInits() != 1 || op.hasIndexSemantics())
    return std::nullopt;
  AffineMap outputMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!outputMap.isProjectedPermutation() || outputMap.getNumResults() == 0)
    return std::nullopt;
  unsigned loop =
      cast<AffineDimExpr>(outputMap.getResults().back()).getPosition();
  if (iterators[loop] != utils::IteratorType::parallel)
    return std::nullopt;
  for (AffineMap map : op.getIndexingMapsArray()) {
    if (!map.isFunctionOfDim(loop))
      continue;
    auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (!last || last.getPosition() != loop)
      return std::nullopt;
    // The loop must appear only as the last index, not also elsewhere.
    for (AffineExpr expr : map.getResults().drop_back())
      if (expr.isFunctionOfDim(loop))
        return std::nullopt;
  }
  SmallVector<unsigned> order;
  for (unsigned i = 0; i < numLoops; ++i)
    if (i != loop)
      order.push_back(i);
  order.push_back(loop);
  return order;
}

struct HostLoopOrderPass : llmc::impl::LLMHostLoopOrderBase<HostLoopOrderPass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> candidates;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (vectorizableOrder(op))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : candidates) {
      SmallVector<unsigned> order = *vectorizableOrder(op);
      rewriter.setInsertionPoint(op);
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      if (!generic) {
        FailureOr<linalg::GenericOp> generalized =
            linalg::generalizeNamedOp(rewriter, op);
        if (failed(generalized))
          continue;
        generic = *generalized;
      }
      if (failed(linalg::interchangeGenericOp(rewriter, generic, order))) {
        generic.emitOpError("could not reorder its loops");
        return signalPassFailure();
      }
    }
  }
};
} // namespace
