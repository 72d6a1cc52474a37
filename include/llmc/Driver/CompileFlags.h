//===- CompileFlags.h - the flags llm-compile and llm-run share -*- C++ -*-===//
//
// --quant and its options, --calib, --target-desc, --no-fusion and
// --no-const-eval mean the same in both
// tools: each tool defines one static CompileFlags (which registers them
// with llvm::cl) and copies them into its CompileOptions with apply().
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_DRIVER_COMPILEFLAGS_H
#define LLMC_DRIVER_COMPILEFLAGS_H

#include "llmc/Driver/Driver.h"

#include "llvm/Support/CommandLine.h"

namespace llmc {

struct CompileFlags {
  CompileFlags();

  llvm::cl::opt<std::string> quant;
  llvm::cl::opt<std::string> calib;
  llvm::cl::opt<std::string> activations;
  llvm::cl::opt<std::string> calibration;
  llvm::cl::opt<double> percentile;
  llvm::cl::opt<double> smoothQuant;
  llvm::cl::opt<int64_t> groupSize;
  llvm::cl::opt<std::string> weights;
  llvm::cl::opt<bool> gptqActOrder;
  llvm::cl::list<std::string> targetDescs;
  llvm::cl::opt<bool> noFusion;
  llvm::cl::opt<bool> noConstEval;

  /// Checks the flags (a known --quant, --calib only with one) and copies
  /// them into `options` (--no-fusion and --no-const-eval as fuse and
  /// evaluateConstants).
  llvm::Error apply(CompileOptions &options) const;

  /// The first of these flags the command line gave ("--quant"), if any:
  /// llm-run refuses them for an artifact, which is compiled already.
  std::optional<std::string> firstGiven() const;
};

} // namespace llmc

#endif // LLMC_DRIVER_COMPILEFLAGS_H
