//===- Passes.h - passes private to the target pipelines --------*- C++ -*-===//
#ifndef LLMC_LIB_PIPELINES_PASSES_H
#define LLMC_LIB_PIPELINES_PASSES_H

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace llmc {
#define GEN_PASS_DECL
#include "Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Passes.h.inc"
} // namespace llmc

#endif // LLMC_LIB_PIPELINES_PASSES_H
