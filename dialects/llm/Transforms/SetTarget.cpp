//===- SetTarget.cpp - attach a target description to the module ----------===//
//
// The description becomes data in the IR (`llm.target`), so every later pass
// and a printed module say which hardware they were specialized for.
//
//===----------------------------------------------------------------------===//
#include "llm/Transforms/Passes.h"
#include "llmc/Target/TargetDescription.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringExtras.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LLMSETTARGET
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;

namespace {
struct SetTargetPass : public llm::impl::LLMSetTargetBase<SetTargetPass> {
  using LLMSetTargetBase::LLMSetTargetBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (target.empty()) {
      module.emitError() << "llm-set-target needs target=NAME|FILE (bundled: "
                         << llvm::join(llmc::TargetDescription::bundled(), ", ")
                         << ")";
      return signalPassFailure();
    }
    llvm::Expected<llmc::TargetDescription> description =
        llmc::TargetDescription::load(target);
    if (!description) {
      module.emitError() << "cannot load target '" << target
                         << "': " << llvm::toString(description.takeError());
      return signalPassFailure();
    }
    module->setAttr(llm::kTargetAttrName, description->toAttr(&getContext()));
  }
};
} // namespace
