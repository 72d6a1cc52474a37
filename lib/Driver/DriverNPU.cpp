//===- DriverNPU.cpp - the npu target of llm-compile and llm-run ----------===//
//
// A W8A8 model on the NPU: llm-npu-partition turns each quantized linear
// layer (qmatmul, dequantize, bias) into an NPU kernel with its instruction
// streams; the rest of the graph is lowered for the host, whose code calls
// the kernels, which run on the cycle-level simulator.
//
//===----------------------------------------------------------------------===//
#include "llmc/Conversion/Passes.h"
#include "llmc/Driver/Driver.h"
#include "llmc/Runtime/GPUEmulator.h"
#include "llmc/Runtime/NPU/Offload.h"

#include "mlir/Pass/PassManager.h"

using namespace llmc;

llvm::Error CompiledModel::partitionNPU(mlir::ModuleOp module,
                                        const CompileOptions &options) {
  // The description: a --target-desc of kind npu, else the bundled default.
  std::string target = "npu";
  for (const std::string &nameOrPath : options.targetDescs) {
    auto desc = TargetDescription::load(nameOrPath);
    if (desc && desc->backend() == "npu")
      target = nameOrPath;
    else if (!desc)
      llvm::consumeError(desc.takeError());
  }
  mlir::PassManager pm(module.getContext());
  LLMNPUPartitionOptions partition;
  partition.target = target;
  pm.addPass(createLLMNPUPartition(partition));
  if (auto error = captureDiagnostics(
          *module.getContext(), [&] { return pm.run(module); },
          "the npu partition failed"))
    return error;
  auto offload = npu::Offload::extract(module);
  if (!offload)
    return llvm::make_error<InputError>(llvm::toString(offload.takeError()));
  npuOffload = std::move(*offload);
  npuOffload->setProgress(
      [](const llvm::Twine &message) { reportProgress("llmc", message); });
  return llvm::Error::success();
}

void CompiledModel::setNPUMaxCycles(uint64_t cycles) {
  if (npuOffload)
    npuOffload->setMaxCycles(cycles);
}

std::optional<llvm::json::Object> CompiledModel::runStats() const {
  if (emulator)
    return emulator->stats();
  if (!npuOffload)
    return std::nullopt;
  llvm::json::Object stats = npuOffload->stats();
  // The share of the graph's matmul work the NPU did (the rest, attention's
  // activation products, ran on the host).
  // (A loaded artifact keeps them in its report's entry for the target.)
  double matmulFlops = costs.getNumber("matmul_flops").value_or(0);
  if (const llvm::json::Object *targets = costs.getObject("targets"))
    if (const llvm::json::Object *entry = targets->getObject(targetName))
      matmulFlops = entry->getNumber("matmul_flops").value_or(matmulFlops);
  double macs = stats.getNumber("macs").value_or(0);
  if (matmulFlops > 0)
    stats["offloaded_matmul_fraction"] = 2 * macs / matmulFlops;
  return stats;
}
