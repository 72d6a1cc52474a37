//===- Passes.h - conversions out of the llm dialect ------------*- C++ -*-===//
#ifndef LLMC_CONVERSION_PASSES_H
#define LLMC_CONVERSION_PASSES_H

// Only the declarations: a file that defines one of these passes includes
// the dialects it depends on (NVVM alone takes seconds to parse).
#include "mlir/Pass/Pass.h"

namespace llmc {
#define GEN_PASS_DECL
#include "llmc/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "llmc/Conversion/Passes.h.inc"
} // namespace llmc

#endif // LLMC_CONVERSION_PASSES_H
