//===- HLSRuntime.h - run HLS kernels as C-simulation -----------*- C++ -*-===//
//
// Runs an HLS C++ kernel the way an FPGA team's C-simulation does: the kernel
// and its generated testbench are compiled with the host's C++ compiler
// (g++ -O2, no FP contraction, so results match the host path) and run on
// .npy files. The build happens once per executable, in a private temporary
// folder removed with it.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_HLSRUNTIME_H
#define LLMC_RUNTIME_HLSRUNTIME_H

#include "llmc/Runtime/Tensor.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace llmc {

/// Byte offsets of the weights in an artifact's weights.bin: signature
/// order, each aligned to `alignment` bytes. The testbench reads the weights
/// at these offsets.
std::vector<uint64_t> weightFileOffsets(const Signature &signature,
                                        uint64_t alignment = 64);

class HLSExecutable {
public:
  /// `weights` holds one tensor per `signature.weights` entry, in order.
  static std::unique_ptr<HLSExecutable>
  create(std::string kernelSource, std::string testbenchSource,
         Signature signature, std::vector<Tensor> weights);
  ~HLSExecutable();

  /// Compiles (once) and runs the C-simulation on inputs bound in argument
  /// order. Errors (no compiler, a failed build or run) are one line.
  llvm::Expected<std::vector<Tensor>> run(llvm::ArrayRef<Tensor> inputs);

  const std::string &kernel() const { return kernelSource; }
  const std::string &testbench() const { return testbenchSource; }
  /// Writes kernel.cpp and testbench.cpp into `directory`.
  llvm::Error writeSources(llvm::StringRef directory) const;

private:
  HLSExecutable() = default;
  llvm::Error build();

  std::string kernelSource, testbenchSource;
  Signature sig;
  std::vector<Tensor> weights;
  llvm::SmallString<128> workDir;
  std::string binary;
  int runs = 0;
};

} // namespace llmc

#endif // LLMC_RUNTIME_HLSRUNTIME_H
