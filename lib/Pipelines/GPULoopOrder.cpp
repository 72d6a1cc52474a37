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
    if (failed(llmc::reorderLinalgLoops(getOperation(), parallelFirst)))
      signalPassFailure();
  }
};
} // namespace
