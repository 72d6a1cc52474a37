//===- LLMOps.h - ops of the llm dialect ------------------------*- C++ -*-===//
#ifndef LLM_IR_LLMOPS_H
#define LLM_IR_LLMOPS_H

#include "llm/IR/LLMDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <optional>
#include <vector>

#include "llm/IR/LLMEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "llm/IR/LLMAttrs.h.inc"

#define GET_OP_CLASSES
#include "llm/IR/LLMOps.h.inc"

namespace mlir::llm {
/// Largest element count the folders evaluate. Shape arithmetic is far below
/// it; weights are far above it and are never copied by folding.
constexpr int64_t kMaxFoldElements = 1 << 16;

/// "[2,?,16]": how every message of llmc prints a shape.
std::string shapeString(ArrayRef<int64_t> shape);

/// The bytes of a dense or dense_resource elements attribute (a constant's
/// value), or nothing: splats and unloaded resources have none.
std::optional<ArrayRef<char>> rawElementBytes(Attribute value);

/// The elements of an i8 constant's value (dense, splat or dense_resource
/// of a static shape), or nothing.
std::optional<std::vector<int8_t>> int8Elements(Attribute value);

/// The elements of an f32, f16 or bf16 constant's value (dense, splat or
/// dense_resource of a static shape) as floats, 16-bit ones widened
/// exactly, or nothing.
std::optional<std::vector<float>> floatElements(Attribute value);

/// `rows` x `cols` values (the low 4 bits of each) packed two a byte along
/// each row, the low nibble first: `rows` x ceil(`cols` / 2) bytes, the
/// layout of 4-bit weights (llm.dequantize with bits 4).
std::vector<int8_t> packNibbles(ArrayRef<int8_t> values, int64_t rows,
                                int64_t cols);

/// Broadcasts two shapes the numpy way; failure if a pair of dims is neither
/// equal nor 1.
FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> lhs,
                                                ArrayRef<int64_t> rhs);

/// The op of a matmul epilogue's `activation` applied to `input` (llm.relu,
/// llm.gelu exact or tanh, llm.silu), or `input` itself for none.
Value createActivation(OpBuilder &builder, Location loc, Activation activation,
                       Value input);

/// The result type of llm.attention on operands of these types (`mask` may
/// be null), or failure, reported at `loc` if given, where they break the
/// op's shape rules. Passes that build the op check their match with it.
FailureOr<RankedTensorType> inferAttentionType(std::optional<Location> loc,
                                               RankedTensorType query,
                                               RankedTensorType key,
                                               RankedTensorType value,
                                               RankedTensorType mask);
} // namespace mlir::llm

#endif // LLM_IR_LLMOPS_H
