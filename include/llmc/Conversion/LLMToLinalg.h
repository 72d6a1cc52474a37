//===- LLMToLinalg.h - llm to linalg lowering patterns ----------*- C++ -*-===//
#ifndef LLMC_CONVERSION_LLMTOLINALG_H
#define LLMC_CONVERSION_LLMTOLINALG_H

#include "mlir/IR/PatternMatch.h"

namespace llmc {
/// Adds the patterns lowering every llm op on static shapes to linalg, tensor,
/// arith and math on tensors. A pattern that meets an op it cannot lower
/// emits "cannot lower 'llm.X' to linalg: reason" at the op and fails.
void populateLLMToLinalgConversionPatterns(mlir::RewritePatternSet &patterns);
} // namespace llmc

#endif // LLMC_CONVERSION_LLMTOLINALG_H
