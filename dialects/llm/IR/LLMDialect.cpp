//===- LLMDialect.cpp - llm dialect registration --------------------------===//
#include "llm/IR/LLMDialect.h"
#include "llm/IR/LLMOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::llm;

#include "llm/IR/LLMDialect.cpp.inc"
#include "llm/IR/LLMEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "llm/IR/LLMAttrs.cpp.inc"

void LLMDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "llm/IR/LLMOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "llm/IR/LLMAttrs.cpp.inc"
      >();
}

Operation *LLMDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                           Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, type, elements);
}
