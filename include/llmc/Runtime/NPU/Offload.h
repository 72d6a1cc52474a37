//===- Offload.h - NPU kernels called from host code ------------*- C++ -*-===//
//
// The runtime side of llm-npu-partition: the kernels a model offloads to the
// NPU (their shapes, epilogues and instruction streams) and the entry points
// the host code calls for them. A call lays the operands out in the NPU's
// DRAM (the rhs as [K, N] int8, scale and bias rows as f32 [1, N]), runs each
// panel's program on the cycle-level simulator, and returns the result as a
// freshly allocated memref (the caller frees it, MLIR's ownership rule for
// returned buffers). Cycles, MACs, bytes and energy add up per kernel.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_NPU_OFFLOAD_H
#define LLMC_RUNTIME_NPU_OFFLOAD_H

#include "llmc/Target/NPU/ISA.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace llmc::npu {

struct OffloadKernel {
  /// The id the host code passes (the kernel's index in the table), the
  /// external function it calls (llmc_npu_kernel_<id>) and the ONNX node.
  int64_t id = -1;
  std::string symbol, name;
  int64_t m = 0, k = 0, n = 0;
  bool transposeRhs = false;
  /// "none" (int32 results), "tensor" or "channel" (f32 results).
  std::string scale = "none";
  bool bias = false;
  /// Set when the kernel quantizes its f32 activations itself (`vqnt`).
  std::optional<float> inputScale;
  /// uint8 activations; a per-tensor activation zero point (an operand after
  /// the rhs), corrected with the row -z_a * colsum(rhs).
  bool lhsUnsigned = false, lhsZeroPoint = false;
  /// The rhs is a weight: its NPU layout (and column sums) are kept between
  /// calls.
  bool rhsConstant = false;
  /// (first column, program name) per panel of output columns.
  std::vector<std::pair<int64_t, std::string>> panels;
};

class Offload {
public:
  /// Reads the kernels of a module after llm-npu-partition (the `llm.npu`
  /// attributes of the kernel functions) and takes its npu.program ops out
  /// of it, checked against the description they name.
  static llvm::Expected<std::unique_ptr<Offload>> extract(mlir::ModuleOp module);
  /// Reads what save() wrote: `kernels` (the manifest's entry) and the
  /// programs, `DIRECTORY/npu/<program>.npubin`.
  static llvm::Expected<std::unique_ptr<Offload>>
  load(llvm::StringRef directory, const llvm::json::Array &kernels);
  ~Offload();

  /// Writes the programs under `directory/npu/` and returns the kernel table.
  llvm::Expected<llvm::json::Array> save(llvm::StringRef directory) const;
  /// The JIT symbols of the kernel functions' C interfaces.
  std::vector<std::pair<std::string, void *>> symbols() const;
  /// Runs `fn` (the host code) with kernel calls on this thread going to
  /// this offload; the statistics start from zero. Returns fn's error or the
  /// first kernel's.
  llvm::Error runWith(llvm::function_ref<llvm::Error()> fn);
  /// Called with a line of progress (the kernel running, cycles so far) at
  /// most every two seconds of a run: simulating a large model takes a while.
  void setProgress(std::function<void(const llvm::Twine &)> callback) {
    progress = std::move(callback);
  }
  /// Each kernel's simulation fails past this many cycles.
  void setMaxCycles(uint64_t cycles) { maxCycles = cycles; }
  /// The last run's statistics: totals and one row per kernel.
  llvm::json::Object stats() const;

  /// Used by the entry points: runs kernel `id` on the memref descriptors.
  void call(void *result, int64_t id, llvm::ArrayRef<void *> operands);

private:
  Offload() = default;
  llvm::Error finishLoading();
  /// Puts `kernel` at its id in the table (kernels whose calls were removed
  /// leave gaps, which stay empty).
  llvm::Error addKernel(OffloadKernel kernel);
  struct KernelStats;
  struct WeightCache;
  std::vector<WeightCache> weightCaches;
  Config config;
  std::vector<OffloadKernel> kernelList;
  llvm::StringMap<Program> programs;
  std::vector<KernelStats> perKernel;
  std::optional<std::string> firstError;
  double hostSeconds = 0;
  std::function<void(const llvm::Twine &)> progress;
  double lastProgress = 0;
  uint64_t maxCycles = 1'000'000'000'000ull;
  int64_t callsThisRun = 0;
};

} // namespace llmc::npu

#endif // LLMC_RUNTIME_NPU_OFFLOAD_H
