//===- HostEntryABI.cpp - the host runtime's calling convention -----------===//
//
// Marks public functions so that, after bufferization and the LLVM lowering,
// the host runtime can call them through `_mlir_ciface_<name>` with
// caller-owned, read-only inputs and runtime-allocated outputs.
//
//===----------------------------------------------------------------------===//
#include "Passes.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinTypes.h"

namespace llmc {
#define GEN_PASS_DEF_LLMHOSTENTRYABI
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {
/// Each output is its own out-parameter, so a value returned twice needs its
/// own buffer for the second result. (buffer-results-to-out-params with
/// hoist-static-allocs also crashes on a buffer returned twice.)
void copyRepeatedResults(func::ReturnOp op) {
  llvm::SmallPtrSet<Value, 8> seen;
  OpBuilder builder(op);
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<RankedTensorType>(operand.get().getType());
    if (!type || seen.insert(operand.get()).second)
      continue;
    operand.set(bufferization::AllocTensorOp::create(
        builder, op.getLoc(), type, ValueRange(), operand.get()));
  }
}

struct HostEntryABIPass : llmc::impl::LLMHostEntryABIBase<HostEntryABIPass> {
  using LLMHostEntryABIBase::LLMHostEntryABIBase;
  void runOnOperation() override {
    MLIRContext *context = &getContext();
    auto notWritable = BoolAttr::get(context, false);
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || !func.isPublic())
        continue;
      for (auto [index, type] : llvm::enumerate(func.getResultTypes())) {
        auto shaped = dyn_cast<ShapedType>(type);
        if (shaped && !shaped.hasStaticShape()) {
          func.emitError() << "result #" << index << " of @" << func.getName()
                           << " has the dynamic shape " << type
                           << "; the host runtime allocates outputs before "
                              "the call, so their shapes must be static "
                              "(specialize the model's dynamic dimensions)";
          return signalPassFailure();
        }
      }
      for (auto [index, type] : llvm::enumerate(func.getArgumentTypes()))
        if (isa<TensorType>(type))
          func.setArgAttr(
              index, bufferization::BufferizationDialect::kWritableAttrName,
              notWritable);
      func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                    UnitAttr::get(context));
      // Only the C wrapper is called. Internal linkage keeps the execution
      // engine from adding a packed wrapper of the function itself (unused,
      // and a call of hundreds of descriptor fields: 2.4 s of LLVM's time
      // for threaded GPT-2 small) and lets LLVM drop the fields it does not
      // read.
      if (internalLinkage)
        func->setAttr("llvm.linkage",
                      LLVM::LinkageAttr::get(context, LLVM::Linkage::Internal));
      func.walk([](func::ReturnOp op) { copyRepeatedResults(op); });
    }
  }
};
} // namespace
