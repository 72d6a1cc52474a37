//===- Passes.h - transforms of the llm dialect -----------------*- C++ -*-===//
#ifndef LLM_TRANSFORMS_PASSES_H
#define LLM_TRANSFORMS_PASSES_H

#include "mlir/Interfaces/FunctionInterfaces.h"
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
/// True if `value` is an argument of a function that the weight outlining
/// bound to a weight (kWeightArgAttrName).
inline bool isWeightArgument(Value value) {
  auto argument = llvm::dyn_cast<BlockArgument>(value);
  if (!argument || !argument.getOwner()->isEntryBlock())
    return false;
  auto function = llvm::dyn_cast_or_null<FunctionOpInterface>(
      argument.getOwner()->getParentOp());
  return function &&
         function.getArgAttr(argument.getArgNumber(), kWeightArgAttrName);
}
/// Argument/result attribute with the ONNX graph's tensor name.
constexpr llvm::StringLiteral kNameAttrName = "llm.name";
/// Result attribute of a uint8 or uint16 graph output (an i8 or i16 holding
/// the unsigned values' bits).
constexpr llvm::StringLiteral kUnsignedAttrName = "llm.unsigned";
/// Argument attributes of an integer input that indexes a table (token ids
/// into an embedding): the table's rows N (its values must lie in [-N, N))
/// and the node that reads it; and a value allowed besides them, where the
/// reader skips it (a loss's ignore_index, such as the -100 of padding
/// labels).
constexpr llvm::StringLiteral kIndexBoundAttrName = "llm.index_bound";
constexpr llvm::StringLiteral kIndexBoundByAttrName = "llm.index_bound_by";
constexpr llvm::StringLiteral kIndexIgnoreAttrName = "llm.index_ignore";
/// Module attribute holding the target description (llm-set-target): a
/// dictionary mirroring the JSON of targets/*.json.
constexpr llvm::StringLiteral kTargetAttrName = "llm.target";
/// Attribute on an op tiled by llm-tile recording the tiles chosen.
constexpr llvm::StringLiteral kTileAttrName = "llm.tile";
/// Discardable attributes with an activation's calibration statistics, put
/// on a matmul for llm-quantize: the per-input-channel maxima of |lhs|
/// (array<f32>) and a percentile of |lhs| (f32).
constexpr llvm::StringLiteral kActAbsMaxAttrName = "llm.act_absmax";
constexpr llvm::StringLiteral kActPercentileAttrName = "llm.act_percentile";
/// The Gram matrix XᵀX of a matmul's calibration inputs (rows of the lhs,
/// K x K f32), for llm-quantize's weights=gptq.
constexpr llvm::StringLiteral kActGramAttrName = "llm.act_gram";
/// Module attribute where llm-quantize records what it quantized.
constexpr llvm::StringLiteral kQuantizationAttrName = "llm.quantization";

/// Whether a matmul's rhs is a weight the model holds weight-only quantized:
/// a 2-D static llm.dequantize of constants (MatMulNBits, a blocked
/// DequantizeLinear), perhaps cast to a 16-bit float type. llm-quantize's
/// int8 mode requantizes such a weight per channel, as it does a float one.
bool isConstantDequantizedWeight(Value rhs);
} // namespace mlir::llm

#endif // LLM_TRANSFORMS_PASSES_H
