//===- GPUAnchorLaunchReads.cpp - launch reads where One-Shot sees them ---===//
//
// Fused kernels are launched at the tensor level, their inputs turned into
// buffers by bufferization.to_buffer. One-Shot Bufferize takes the to_buffer
// as the read of the tensor, so it must stay at the launch: CSE and the
// canonicalizer move it (merging equal to_buffer ops, folding
// to_buffer(to_tensor(alloc)) to the alloc), and a later in-place write can
// then clobber a buffer a launch still reads. Each launch argument that
// comes from a tensor gets its own to_buffer, and the view ops between,
// right before the launch.
//
//===----------------------------------------------------------------------===//
#include "Passes.h"
#include "llmc/Support/EraseUnread.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Dominance.h"
#include "llvm/ADT/SetVector.h"

namespace llmc {
#define GEN_PASS_DEF_LLMGPUANCHORLAUNCHREADS
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {
/// Ops between a tensor's buffer and a launch argument that only view it.
bool isView(Operation *op) {
  return isa<memref::ReinterpretCastOp, memref::CastOp,
             UnrealizedConversionCastOp>(op) &&
         op->getNumOperands() == 1 && op->getNumResults() == 1;
}

struct GPUAnchorLaunchReadsPass
    : llmc::impl::LLMGPUAnchorLaunchReadsBase<GPUAnchorLaunchReadsPass> {
  void runOnOperation() override {
    SmallVector<Operation *> users;
    getOperation()->walk([&](Operation *op) {
      if (isa<gpu::LaunchFuncOp, func::CallOp>(op))
        users.push_back(op);
    });
    llvm::SetVector<Operation *> replaced;
    for (Operation *user : users)
      for (OpOperand &operand : user->getOpOperands())
        anchorOperand(user, operand, replaced);
    // The reads that were moved leave their old to_buffer and views unused:
    // erased, or bufferization would still copy a strided tensor (a slice
    // of a fused product) into a buffer that nothing reads.
    llmc::eraseUnread(replaced.takeVector());
  }

  /// Rebuilds `operand`'s view chain on a to_buffer placed before `user`
  /// when the chain starts at a tensor's buffer.
  void anchorOperand(Operation *user, OpOperand &operand,
                     llvm::SetVector<Operation *> &replaced) {
    if (!isa<BaseMemRefType>(operand.get().getType()))
      return;
    SmallVector<Operation *> views; // From the argument back to the root.
    Value root = operand.get();
    while (Operation *def = root.getDefiningOp()) {
      if (!isView(def))
        break;
      views.push_back(def);
      root = def->getOperand(0);
    }
    Value tensor;
    bool readOnly = true;
    if (auto toBuffer = root.getDefiningOp<bufferization::ToBufferOp>()) {
      tensor = toBuffer.getTensor();
      readOnly = toBuffer.getReadOnly();
    } else if (root.getDefiningOp<memref::AllocOp>()) {
      // An earlier launch's result: the to_tensor that made it a tensor
      // before `user` (the one after `user` is user's own result).
      for (Operation *other : root.getUsers()) {
        auto toTensor = dyn_cast<bufferization::ToTensorOp>(other);
        if (toTensor && toTensor->getBlock() == user->getBlock() &&
            toTensor->isBeforeInBlock(user)) {
          tensor = toTensor.getResult();
          break;
        }
      }
    }
    if (!tensor)
      return;
    replaced.insert(views.begin(), views.end());
    if (auto toBuffer = root.getDefiningOp<bufferization::ToBufferOp>())
      replaced.insert(toBuffer);
    OpBuilder b(user);
    Value value = bufferization::ToBufferOp::create(
        b, user->getLoc(), root.getType(), tensor, readOnly);
    for (Operation *view : llvm::reverse(views)) {
      IRMapping mapping;
      mapping.map(view->getOperand(0), value);
      value = b.clone(*view, mapping)->getResult(0);
    }
    operand.set(value);
  }
};
} // namespace
