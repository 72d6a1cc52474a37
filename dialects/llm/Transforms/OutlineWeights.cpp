//===- OutlineWeights.cpp - large constants become bound arguments --------===//
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LLMOUTLINEWEIGHTS
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {
std::string nameOf(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (auto name = dyn_cast<NameLoc>(inner))
        return name.getName().str();
  return "weight";
}

struct OutlineWeightsPass
    : mlir::llm::impl::LLMOutlineWeightsBase<OutlineWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    SmallVector<NamedAttribute> weights;
    llvm::StringSet<> used;
    if (auto existing = module->getAttrOfType<DictionaryAttr>(kWeightsAttrName))
      for (NamedAttribute weight : existing) {
        weights.push_back(weight);
        used.insert(weight.getName().strref());
      }

    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      SmallVector<ConstantOp> constants;
      func.walk([&](ConstantOp op) {
        auto type = cast<ShapedType>(op.getType());
        if (type.hasStaticShape() && type.getNumElements() >= minElements)
          constants.push_back(op);
      });
      // One argument per distinct value: tied weights stay tied.
      DenseMap<Attribute, BlockArgument> arguments;
      for (ConstantOp op : constants) {
        BlockArgument &argument = arguments[op.getValue()];
        if (!argument) {
          std::string base = nameOf(op.getLoc()), name = base;
          for (int i = 1; used.contains(name); ++i)
            name = base + "_" + std::to_string(i);
          used.insert(name);
          unsigned index = func.getNumArguments();
          auto attrs = DictionaryAttr::get(
              context, {NamedAttribute(StringAttr::get(context,
                                                       kWeightArgAttrName),
                                       StringAttr::get(context, name))});
          if (failed(func.insertArgument(index, op.getType(), attrs,
                                         op.getLoc()))) {
            op.emitOpError("could not become an argument of ")
                << func.getName();
            return signalPassFailure();
          }
          argument = func.getArgument(index);
          weights.push_back(
              NamedAttribute(StringAttr::get(context, name), op.getValue()));
        }
        op.replaceAllUsesWith(argument);
        op.erase();
      }
    }
    if (!weights.empty())
      module->setAttr(kWeightsAttrName, DictionaryAttr::get(context, weights));
  }
};
} // namespace
