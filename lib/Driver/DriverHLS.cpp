//===- DriverHLS.cpp - the hls target of CompiledModel --------------------===//
//
// Lowers the graph with the HLS pipeline for the FPGA description the report
// uses, writes the kernel and its testbench, checks the kernel against the
// synthesizable subset, adds the schedule's estimates to the report entry of
// `hls`, and runs the model as C-simulation.
//
//===----------------------------------------------------------------------===//
#include "llmc/Driver/Driver.h"

#include "llmc/Pipelines/Pipelines.h"
#include "llmc/Runtime/HLSRuntime.h"
#include "llmc/Target/HLS/HLSCpp.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace llmc;
using llvm::StringRef;

namespace {
llvm::Error inputError(const llvm::Twine &message) {
  return llvm::make_error<InputError>(message.str());
}
} // namespace

llvm::Expected<std::unique_ptr<CompiledModel>>
CompiledModel::compileHLS(std::unique_ptr<CompiledModel> model,
                          mlir::OwningOpRef<mlir::ModuleOp> loweredModule,
                          const CompileOptions &options) {
  // A local, so that on an early error return the module is destroyed before
  // `model` and its context (parameters may be destroyed in either order).
  mlir::OwningOpRef<mlir::ModuleOp> module = std::move(loweredModule);
  mlir::MLIRContext &context = *model->context;
  model->targetName = "hls";
  auto targets = reportTargets(options.targetDescs);
  if (!targets)
    return inputError(llvm::toString(targets.takeError()));
  auto fpga = llvm::find_if(*targets, [](const auto &entry) {
    return entry.first == "hls";
  });
  if (fpga == targets->end())
    return inputError("no FPGA description for the hls target");
  const TargetDescription &desc = fpga->second;
  // A bundled description by name, any other by its path.
  std::string descName = desc.origin().starts_with("bundled:")
                             ? desc.name().str()
                             : desc.origin().str();

  mlir::PassManager lowering(&context);
  buildHLSLoweringPipeline(lowering, descName);
  addProgress(lowering, "hls lowering");
  if (auto error = captureDiagnostics(
          context, [&] { return lowering.run(*module); },
          "the HLS pipeline failed"))
    return std::move(error);

  std::string kernel, testbench;
  {
    llvm::raw_string_ostream kernelStream(kernel), testbenchStream(testbench);
    if (auto error = captureDiagnostics(
            context,
            [&] {
              if (mlir::failed(emitHLSCpp(*module, kernelStream)))
                return mlir::failure();
              return emitHLSTestbench(*module, model->sig, testbenchStream);
            },
            "the HLS C++ emitter failed"))
      return std::move(error);
  }
  std::vector<std::string> problems = checkHLSCpp(kernel);
  if (!problems.empty())
    return inputError("the generated HLS kernel is not synthesizable: " +
                      problems.front());

  llvm::json::Object schedule =
      hlsEstimates(*module, desc.json().getObject("fpga"));
  if (llvm::json::Object *entry = model->estimates.getObject("hls")) {
    if (llvm::json::Array *kernels = schedule.getArray("kernels"))
      (*entry)["hls_kernels"] = std::move(*kernels);
    if (llvm::json::Object *totals = schedule.getObject("totals"))
      (*entry)["hls_totals"] = std::move(*totals);
    if (std::optional<double> latency = schedule.getNumber("latency_s"))
      (*entry)["hls_latency_s"] = *latency;
    if (std::optional<double> clock = schedule.getNumber("clock_hz"))
      (*entry)["hls_clock_hz"] = *clock;
    (*entry)["hls_note"] =
        "hls_* figures come from the generated schedule (pipelined loops, "
        "unroll factors, buffers) run stage after stage; latency_s is the "
        "roofline bound of the same description";
  }

  model->lowered = std::move(module);
  model->hls = HLSExecutable::create(std::move(kernel), std::move(testbench),
                                     model->sig, model->weights);
  return model;
}

llvm::Error CompiledModel::loadHLS(StringRef directory,
                                   const llvm::json::Object &manifest) {
  auto read = [&](StringRef name, std::string &text) -> llvm::Error {
    llvm::SmallString<256> path(directory);
    llvm::sys::path::append(path, name);
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
    if (!buffer)
      return inputError(path + ": cannot read: " +
                        buffer.getError().message());
    text = (*buffer)->getBuffer().str();
    return llvm::Error::success();
  };
  std::string kernel, testbench;
  if (auto error = read(manifest.getString("code").value_or("kernel.cpp"),
                        kernel))
    return error;
  if (auto error = read(
          manifest.getString("testbench").value_or("testbench.cpp"), testbench))
    return error;
  hls = HLSExecutable::create(std::move(kernel), std::move(testbench), sig,
                              weights);
  return llvm::Error::success();
}
