//===- Simulator.h - cycle-level simulator of the llmc NPU ------*- C++ -*-===//
//
// Executes an NPU program (llmc/Target/NPU/ISA.h) functionally — int8 x int8
// products accumulated exactly in int32, the vector unit's f32 arithmetic —
// and times it: three in-order queues (load, exec, store) synchronized by
// dependency tokens, one DRAM channel shared by both DMA queues (latency plus
// bytes / bandwidth), the array's fill and drain, the vector unit's lanes.
// Energy follows the description's per-MAC, per-byte and static figures.
// Every failure (a deadlock in token waits, the cycle limit, a malformed
// instruction) is an llvm::Error of one line.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_NPU_SIMULATOR_H
#define LLMC_RUNTIME_NPU_SIMULATOR_H

#include "llmc/Runtime/Tensor.h"
#include "llmc/Target/NPU/ISA.h"

#include "llvm/Support/JSON.h"

#include <memory>

namespace llmc::npu {

struct SimulatorOptions {
  /// The simulation fails once the machine would run past this many cycles.
  uint64_t maxCycles = 1'000'000'000'000ull;
};

class Simulator {
public:
  /// Validates `program` against `config` and allocates its memories.
  static llvm::Expected<std::unique_ptr<Simulator>>
  create(Program program, const Config &config);
  ~Simulator();

  /// Copies a tensor's bytes into DRAM at the address of the program's
  /// tensor of that name.
  llvm::Error setTensor(llvm::StringRef name, const void *data, size_t bytes);
  /// Runs the stream to its end.
  llvm::Error run(const SimulatorOptions &options = {});
  /// A tensor's bytes in DRAM (after run(): the outputs).
  llvm::ArrayRef<uint8_t> tensorBytes(llvm::StringRef name) const;
  /// cycles, mac_utilization, bytes per memory, energy, instruction counts,
  /// host time (see docs/npu-isa.md).
  llvm::json::Object stats() const;
  const Program &program() const;

private:
  Simulator();
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// What `llm-run --target npu PROGRAM` does: reads a program file (binary or
/// assembly), binds `inputs` to its input tensors by name (dtype and shape
/// must match), runs it and returns its output tensors and the statistics.
/// `targetOverride`, if not empty, replaces the description the program names.
llvm::Expected<std::pair<std::vector<Tensor>, llvm::json::Object>>
runProgramFile(llvm::StringRef path, std::vector<Tensor> inputs,
               llvm::StringRef targetOverride,
               const SimulatorOptions &options);

/// True if `path` names an NPU program (.npubin or .npuasm).
bool isProgramPath(llvm::StringRef path);

} // namespace llmc::npu

#endif // LLMC_RUNTIME_NPU_SIMULATOR_H
