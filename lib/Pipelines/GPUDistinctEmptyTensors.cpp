//===- GPUDistinctEmptyTensors.cpp - one tensor.empty per use -------------===//
//
// CSE merges equal tensor.empty ops, so that two concats of one shape insert
// into one empty tensor; One-Shot Bufferize then copies one of them (two
// chains write one tensor). Every use of a tensor.empty after the first gets
// its own copy of the op, right before its user, so that each destination
// is its own buffer and eliminate-empty-tensors computes each part in its
// slice. With `fills`, a linalg.fill of an empty tensor read by several ops
// (the zeros a product accumulates into, merged across a model's layers) is
// repeated for each, so that no product's destination is a copy of another's.
//
//===----------------------------------------------------------------------===//
#include "Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace llmc {
#define GEN_PASS_DEF_LLMGPUDISTINCTEMPTYTENSORS
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {
/// Every use of `op`'s result after the first gets the value `copy` builds
/// right before its user (the op's operands dominate every user).
void giveUsesTheirOwn(Operation *op, OpBuilder &builder,
                      llvm::function_ref<Value(OpBuilder &)> copy) {
  SmallVector<OpOperand *> uses =
      llvm::map_to_vector(op->getUses(), [](OpOperand &use) { return &use; });
  for (OpOperand *use : llvm::drop_begin(uses)) {
    builder.setInsertionPoint(use->getOwner());
    use->set(copy(builder));
  }
}

struct GPUDistinctEmptyTensorsPass
    : llmc::impl::LLMGPUDistinctEmptyTensorsBase<GPUDistinctEmptyTensorsPass> {
  using Base::Base;

  void runOnOperation() override {
    OpBuilder builder(&getContext());
    if (fills) {
      // A fill of an empty tensor read by several ops: each use after the
      // first gets its own empty tensor and fill, right before its user.
      SmallVector<linalg::FillOp> sharedFills;
      getOperation()->walk([&](linalg::FillOp op) {
        if (op.hasPureTensorSemantics() && op->getNumResults() == 1 &&
            !op->use_empty() && !op->hasOneUse() &&
            op.getOutputs().front().getDefiningOp<tensor::EmptyOp>())
          sharedFills.push_back(op);
      });
      for (linalg::FillOp op : sharedFills) {
        Operation *empty = op.getOutputs().front().getDefiningOp();
        giveUsesTheirOwn(op, builder, [&](OpBuilder &b) {
          IRMapping mapping;
          mapping.map(empty->getResult(0), b.clone(*empty)->getResult(0));
          return b.clone(*op, mapping)->getResult(0);
        });
      }
    }
    SmallVector<tensor::EmptyOp> shared;
    getOperation()->walk([&](tensor::EmptyOp op) {
      if (!op->use_empty() && !op->hasOneUse())
        shared.push_back(op);
    });
    for (tensor::EmptyOp op : shared)
      giveUsesTheirOwn(op, builder, [&](OpBuilder &b) {
        return b.clone(*op)->getResult(0);
      });
  }
};
} // namespace
