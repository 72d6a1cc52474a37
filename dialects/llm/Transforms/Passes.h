//===- Passes.h - transforms of the llm dialect -----------------*- C++ -*-===//
#ifndef LLM_TRANSFORMS_PASSES_H
#define LLM_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::llm {
#define GEN_PASS_DECL
#include "llm/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "llm/Transforms/Passes.h.inc"

/// Module attribute holding the weights outlined into function arguments:
/// a dictionary from weight name to its ElementsAttr.
constexpr llvm::StringLiteral kWeightsAttrName = "llm.weights";
/// Argument attribute naming the weight an argument is bound to.
constexpr llvm::StringLiteral kWeightArgAttrName = "llm.weight";
/// Argument/result attribute with the ONNX graph's tensor name.
constexpr llvm::StringLiteral kNameAttrName = "llm.name";
/// Module attribute holding the target description (llm-set-target): a
/// dictionary mirroring the JSON of targets/*.json.
constexpr llvm::StringLiteral kTargetAttrName = "llm.target";
/// Attribute on an op tiled by llm-tile recording the tiles chosen.
constexpr llvm::StringLiteral kTileAttrName = "llm.tile";
} // namespace mlir::llm

#endif // LLM_TRANSFORMS_PASSES_H
