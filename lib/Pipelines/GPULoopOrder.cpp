//===- GPULoopOrder.cpp - parallel loops outermost for the ptx generic path ===//
//
// The generic path of the ptx backend maps the outermost scf.parallel of
// each linalg op to threads; a reduction loop outside the parallel ones
// (a sum over the first dim) would stay on the host around a launch, which
// the launch plan cannot run. Moving every parallel loop outside the
// reductions keeps the whole op in one kernel, each thread reducing its
// own output element in the original order.
//
//===----------------------------------------------------------------------===//
#include "Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace llmc {
#define GEN_PASS_DEF_LLMGPULOOPORDER
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {
/// Parallel loops in their order, then reductions in theirs; nothing when a
/// parallel loop already comes first all the way.
std::optional<SmallVector<unsigned>> parallelFirst(linalg::LinalgOp op) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<unsigned> order;
  for (unsigned i = 0; i < iterators.size(); ++i)
    if (iterators[i] == utils::IteratorType::parallel)
      order.push_back(i);
  if (order.empty() || order.size() == iterators.size())
    return std::nullopt;
  for (unsigned i = 0; i < iterators.size(); ++i)
    if (iterators[i] != utils::IteratorType::parallel)
      order.push_back(i);
  for (unsigned i = 0; i < order.size(); ++i)
    if (order[i] != i)
      return order;
  return std::nullopt;
}

struct GPULoopOrderPass : llmc::impl::LLMGPULoopOrderBase<GPULoopOrderPass> {
  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> candidates;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (parallelFirst(op))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : candidates) {
      SmallVector<unsigned> order = *parallelFirst(op);
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
        generic.emitError("llm-gpu-loop-order: cannot interchange the loops");
        return signalPassFailure();
      }
    }
  }
};
} // namespace
