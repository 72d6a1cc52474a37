//===- Passes.h - conversions out of the llm dialect ------------*- C++ -*-===//
#ifndef LLMC_CONVERSION_PASSES_H
#define LLMC_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "npu/IR/NPUDialect.h"

namespace llmc {
#define GEN_PASS_DECL
#include "llmc/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "llmc/Conversion/Passes.h.inc"
} // namespace llmc

#endif // LLMC_CONVERSION_PASSES_H
