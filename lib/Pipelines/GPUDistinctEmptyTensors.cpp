//===- GPUDistinctEmptyTensors.cpp - one tensor.empty per use -------------===//
//
// CSE merges equal tensor.empty ops, so that two concats of one shape insert
// into one empty tensor; One-Shot Bufferize then copies one of them (two
// chains write one tensor). Every use of a tensor.empty after the first gets
// its own copy of the op, right before its user, so that each destination
// is its own buffer and eliminate-empty-tensors computes each part in its
// slice.
//
//===----------------------------------------------------------------------===//
#include "Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

namespace llmc {
#define GEN_PASS_DEF_LLMGPUDISTINCTEMPTYTENSORS
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {
struct GPUDistinctEmptyTensorsPass
    : llmc::impl::LLMGPUDistinctEmptyTensorsBase<GPUDistinctEmptyTensorsPass> {
  void runOnOperation() override {
    SmallVector<tensor::EmptyOp> shared;
    getOperation()->walk([&](tensor::EmptyOp op) {
      if (!op->use_empty() && !op->hasOneUse())
        shared.push_back(op);
    });
    OpBuilder builder(&getContext());
    for (tensor::EmptyOp op : shared) {
      SmallVector<OpOperand *> uses = llvm::map_to_vector(
          op->getUses(), [](OpOperand &use) { return &use; });
      // Its dynamic sizes dominate the op, which dominates every user.
      for (OpOperand *use : llvm::drop_begin(uses)) {
        builder.setInsertionPoint(use->getOwner());
        use->set(builder.clone(*op)->getResult(0));
      }
    }
  }
};
} // namespace
