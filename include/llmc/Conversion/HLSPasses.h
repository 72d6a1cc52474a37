//===- HLSPasses.h - passes of the HLS lowering -----------------*- C++ -*-===//
#ifndef LLMC_CONVERSION_HLSPASSES_H
#define LLMC_CONVERSION_HLSPASSES_H

#include "mlir/Pass/Pass.h"

namespace llmc {
#define GEN_PASS_DECL
#include "llmc/Conversion/HLSPasses.h.inc"

#define GEN_PASS_REGISTRATION
#include "llmc/Conversion/HLSPasses.h.inc"
} // namespace llmc

#endif // LLMC_CONVERSION_HLSPASSES_H
