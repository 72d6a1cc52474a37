//===- Driver.h - compile ONNX models to artifacts and run them -*- C++ -*-===//
//
// What llm-compile, llm-run and the Python package share: import, the target
// pipelines, artifact folders (code, weights, manifest) and execution. Every
// failure is an llvm::Error whose message is one line naming the file, node
// and op where the problem is.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_DRIVER_DRIVER_H
#define LLMC_DRIVER_DRIVER_H

#include "llmc/Import/ONNXImporter.h"
#include "llmc/Pipelines/Pipelines.h"
#include "llmc/Runtime/Tensor.h"
#include "llmc/Support/ToolOptions.h"
#include "llmc/Target/TargetDescription.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mlir {
class PassManager;
} // namespace mlir

namespace llmc {

class HostExecutable;
class HLSExecutable;
class CUDAExecutable;
class GPUEmulator;
struct LaunchPlan;
namespace npu {
class Offload;
}

/// The targets a model compiles for; `all` means every one implemented.
llvm::ArrayRef<llvm::StringRef> knownTargets();
llvm::ArrayRef<llvm::StringRef> implementedTargets();
/// What `all` compiles for with `quant`: every implemented target that can
/// run it (npu only at int8, hls not at fp8), with one note per target left
/// out (its report row stays an estimate).
std::vector<std::string>
targetsForAll(llvm::StringRef quant, std::vector<std::string> *notes = nullptr);
/// Checks a --target value (and --quant) and says what is wrong with it.
llvm::Error checkTarget(llvm::StringRef target);
llvm::Error checkQuantization(llvm::StringRef quant);

/// How --quant int8|w8|w4 quantizes (see the llm-quantize pass).
struct QuantizationOptions {
  /// int8 activation scales: "static" (calibrated, per tensor) or "dynamic"
  /// (per token at run time).
  std::string activations = "static";
  /// Static scales from "minmax" or "percentile" of |activation| (the
  /// percentile is taken per calibration sample and averaged).
  std::string calibration = "minmax";
  double percentile = 99.99;
  /// SmoothQuant alpha; 0 is off.
  double smoothQuant = 0.0;
  int64_t groupSize = 128;
  /// How integer weights are chosen: "rtn" (round to nearest) or "gptq"
  /// (from the calibration inputs' Gram matrices; llm-quantize
  /// weights=gptq).
  std::string weights = "rtn";
  /// GPTQ's order: input channels by decreasing XᵀX diagonal, with static
  /// group scales (llm-quantize gptq-act-order; the default); false: first
  /// to last. Set only with weights "gptq".
  std::optional<bool> gptqActOrder;
  /// The report's "gptq_order": "act" or "natural" with weights "gptq";
  /// empty otherwise.
  std::string gptqOrder() const {
    if (weights != "gptq")
      return "";
    return gptqActOrder.value_or(true) ? "act" : "natural";
  }
  /// Calibration inputs (.npz, one array per model input, optionally with a
  /// leading dim of samples); synthetic inputs (with a warning) if empty.
  std::string calibrationFile;
};

struct CompileOptions {
  ImportOptions import;
  std::string target = "host";
  std::string quant = "none";
  QuantizationOptions quantization;
  /// Run the fusion passes (off only to compare with the unfused graph).
  bool fuse = true;
  /// Evaluate the subgraphs that read only weights and constants once, at
  /// compile time (evaluateConstantSubgraphs).
  bool evaluateConstants = true;
  /// Target descriptions (bundled names or JSON paths) that replace the
  /// default one of their kind's backend in the report's estimates.
  std::vector<std::string> targetDescs;
};

/// Specializes `options` to the inputs a model is compiled for and run on
/// once (llm-run's --input, llmc.run): an input's dynamic dims take its
/// shape (unless options already give one; `flag` names where the shape came
/// from in the error for an input the graph does not have), and an input of
/// up to kMaxKnownInputElements elements is known by value where an op needs
/// a constant (a Reshape's shape or a Slice's bounds given as graph inputs).
/// The input stays an argument, but the compiled model holds only for these
/// values: nothing checks them on a later run.
void specializeToInputs(CompileOptions &options, llvm::ArrayRef<Tensor> inputs,
                        llvm::StringRef flag);
constexpr int64_t kMaxKnownInputElements = 64;

/// Loads the descriptions the report estimates for: the defaults of ptx, hls
/// and npu (h100, u280, npu), each replaced by a `descs` entry of the same
/// backend. Returns (backend, description) pairs.
llvm::Expected<std::vector<std::pair<std::string, TargetDescription>>>
reportTargets(llvm::ArrayRef<std::string> descs);

/// Errors of this kind are problems of the input or the request (exit 2).
/// Everything the driver reports is of this kind; the type exists so that a
/// failed check (exit 1) can be told apart by the tools.
struct InputError : llvm::ErrorInfo<InputError> {
  static char ID;
  std::string message;
  explicit InputError(std::string message) : message(std::move(message)) {}
  void log(llvm::raw_ostream &os) const override { os << message; }
  std::error_code convertToErrorCode() const override {
    return llvm::inconvertibleErrorCode();
  }
};

/// Runs `fn` with a diagnostic handler on `context` that keeps the first
/// error; if `fn` fails, returns that error as one line ("FILE: node 'N': ...").
llvm::Error captureDiagnostics(mlir::MLIRContext &context,
                               llvm::function_ref<mlir::LogicalResult()> fn,
                               llvm::StringRef fallback);

/// What a constant evaluation did, for the report.
struct ConstantEvaluationSummary {
  /// Values that became constants, and their bytes.
  unsigned values = 0;
  int64_t bytes = 0;
  /// Graph ops (not counting constants) before and after.
  unsigned opsBefore = 0, opsAfter = 0;
  /// Why it did not run (--no-const-eval) or failed; empty if it ran.
  std::string skipped;
  /// The report's "constant_evaluation" object.
  llvm::json::Object toJSON() const;
};

/// Replaces the values of `entry` that are computed from weights and
/// constants alone (rotary tables, relative-position buckets and biases, a
/// position-bias MLP) by constants: the subgraphs are lowered by the host
/// pipeline and run once by its JIT. With `outlineWeights` their results
/// are outlined as weights (in `layout`), as the graph
/// pipeline leaves a model; without, they stay `llm.constant`s, as the
/// quantization wants its weights. Quantization ops, and subgraphs that only
/// move data, stay, save a gather or slice that reads less of a weight than
/// the weight holds (position embeddings at positions known at compile
/// time). An error before the rewrite (the JIT failed) leaves `module`
/// unchanged.
llvm::Expected<ConstantEvaluationSummary>
evaluateConstantSubgraphs(mlir::ModuleOp module, llvm::StringRef entry,
                          WeightLayout layout, bool outlineWeights = true);
/// The same, for the compile: a failure is a warning on stderr, and the
/// subgraphs then run at run time, as with --no-const-eval; the summary's
/// `skipped` says why.
ConstantEvaluationSummary
evaluateConstantSubgraphsOrWarn(mlir::ModuleOp module, llvm::StringRef entry,
                                WeightLayout layout,
                                bool outlineWeights = true);

/// The weights of `sig` from `module`'s weight table, as tensors, in
/// signature order; the table is removed from the module. A module without
/// a table has none.
llvm::Error takeWeights(mlir::ModuleOp module, const Signature &sig,
                        std::vector<Tensor> &weights);

/// What compileForHost's messages call the module it compiles.
struct HostCompileLabels {
  /// Errors name it: "the host pipeline failed on the calibration model".
  llvm::StringRef what;
  /// The lowering's progress stage ("calibration: fp32 reference").
  llvm::StringRef stage;
  /// The status line while the JIT compiles it.
  llvm::StringRef compiling;
};

/// Lowers a tensor-level module for the host and JIT-compiles it: its large
/// constants become weights (llm-outline-weights), and `sig`, `weights` and
/// `executable` are filled. The calibration's fp32 reference and the
/// constant evaluation compile this way.
llvm::Error compileForHost(mlir::MLIRContext &context, mlir::ModuleOp module,
                           llvm::StringRef entry,
                           const HostCompileLabels &labels, Signature &sig,
                           std::vector<Tensor> &weights,
                           std::unique_ptr<HostExecutable> &executable);

/// The value of a weight constant as a tensor: a view of a resource blob's
/// bytes, or a copy of dense elements (i1 ones unpacked to a byte each).
Tensor tensorFromElements(llvm::StringRef name, mlir::ElementsAttr elements);

/// A model compiled for one target, ready to run and to save.
class CompiledModel {
public:
  /// Imports and compiles an ONNX model file.
  static llvm::Expected<std::unique_ptr<CompiledModel>>
  compileFile(llvm::StringRef path, const CompileOptions &options);
  /// The same for a serialized ModelProto in memory.
  static llvm::Expected<std::unique_ptr<CompiledModel>>
  compileBytes(llvm::StringRef bytes, llvm::StringRef displayName,
               const CompileOptions &options);
  /// Imports an ONNX model file once and compiles it for each of `targets`
  /// in turn (`options.target` is not used), handing each model to
  /// `consume` before the next is compiled. The targets share the import,
  /// the MLIR context and, with a --quant, the calibration and quantized
  /// graph, which do not depend on the target. Every target's settings are
  /// checked before the import.
  using TargetConsumer =
      llvm::function_ref<llvm::Error(std::unique_ptr<CompiledModel>)>;
  static llvm::Error compileFileForTargets(llvm::StringRef path,
                                           const CompileOptions &options,
                                           llvm::ArrayRef<std::string> targets,
                                           TargetConsumer consume);
  /// The same for a serialized ModelProto in memory.
  static llvm::Error compileBytesForTargets(llvm::StringRef bytes,
                                            llvm::StringRef displayName,
                                            const CompileOptions &options,
                                            llvm::ArrayRef<std::string> targets,
                                            TargetConsumer consume);
  /// Loads an artifact folder written by save().
  static llvm::Expected<std::unique_ptr<CompiledModel>>
  load(llvm::StringRef directory);
  /// The target an artifact folder's manifest names, if it has a readable
  /// one (load says what is wrong with one that is not).
  static std::optional<std::string> artifactTarget(llvm::StringRef directory);
  ~CompiledModel();

  /// Writes manifest.json, the target code and weights.bin into `directory`.
  llvm::Error save(llvm::StringRef directory) const;
  /// Checks the inputs against the signature (by name) and runs the model.
  llvm::Expected<std::vector<Tensor>> run(std::vector<Tensor> inputs);

  const Signature &signature() const { return sig; }
  llvm::StringRef target() const { return targetName; }
  /// The IR after a stage: "import", "graph" (after graph cleanup and weight
  /// outlining) or "lowered" (the target pipeline's output). Empty if that
  /// stage is not kept (artifacts keep only "lowered").
  std::string mlir(llvm::StringRef stage) const;
  /// The report: per target ("targets"), the graph's static costs and, for
  /// every described target, the roofline estimates of llmc/Target/PerfModel.h.
  llvm::json::Object report() const;
  /// The quantization mode ("none" unless compiled with --quant).
  llvm::StringRef quantization() const { return quantName; }
  /// For a quantized model: runs the fp32 reference on `inputs` and compares
  /// `outputs` (this model's on the same inputs) with it: cosine,
  /// max_abs_error, mean_abs_error, top1_agreement.
  llvm::Expected<llvm::json::Object>
  compareWithReference(std::vector<Tensor> inputs,
                       const std::vector<Tensor> &outputs);
  /// Device time of the last run (ptx: the forward between two CUDA events).
  std::optional<double> deviceSeconds() const;
  /// Statistics of the last run beyond its outputs, if any (npu: the
  /// simulated kernels' cycles, utilization, energy and per-layer rows; ptx
  /// on the GPU emulator: its counters, per kernel and summed).
  std::optional<llvm::json::Object> runStats() const;
  /// npu: each kernel's simulation fails past this many cycles.
  void setNPUMaxCycles(uint64_t cycles);
  /// ptx: run the launch plan on the CPU's GPU emulator instead of a GPU;
  /// runStats() then gives the emulator's counters.
  void setEmulateGPU(bool emulate) { emulateGPU = emulate; }

private:
  CompiledModel();
  struct SharedFrontEnd;
  static llvm::Error compileForTargets(
      std::shared_ptr<mlir::MLIRContext> context,
      llvm::function_ref<mlir::OwningOpRef<mlir::ModuleOp>()> import,
      llvm::StringRef displayName, const CompileOptions &options,
      llvm::ArrayRef<std::string> targets, TargetConsumer consume);
  static llvm::Expected<std::unique_ptr<CompiledModel>>
  compileImported(std::unique_ptr<CompiledModel> model,
                  mlir::OwningOpRef<mlir::ModuleOp> module,
                  const CompileOptions &options, SharedFrontEnd &shared);
  llvm::Error prepareExecutable();
  llvm::Error quantize(mlir::ModuleOp module, const CompileOptions &options);
  llvm::Error measureAccuracy();
  // The hls target (lib/Driver/DriverHLS.cpp): lowering, emission, C-sim.
  static llvm::Expected<std::unique_ptr<CompiledModel>>
  compileHLS(std::unique_ptr<CompiledModel> model,
             mlir::OwningOpRef<mlir::ModuleOp> module,
             const CompileOptions &options);
  llvm::Error loadHLS(llvm::StringRef directory,
                      const llvm::json::Object &manifest);
  // The npu target (lib/Driver/DriverNPU.cpp): the quantized linear layers
  // run on the NPU simulator, called from the host code.
  llvm::Error partitionNPU(mlir::ModuleOp module, const CompileOptions &options);

  /// Shared by the models of one compileFileForTargets.
  std::shared_ptr<mlir::MLIRContext> context;
  std::string targetName = "host";
  // Clones share attributes (weights) with the compiled module: cheap to keep,
  // printed only when asked for.
  mlir::OwningOpRef<mlir::ModuleOp> imported, graph;
  mlir::OwningOpRef<mlir::ModuleOp> lowered;
  Signature sig;
  std::vector<Tensor> weights;
  /// Inputs whose values were fixed at compile time (--value): run() refuses
  /// others, which the code was not compiled for.
  std::map<std::string, std::vector<double>> fixedInputs;
  llvm::json::Object costs;
  /// Report entries of the described targets (backend name → estimate).
  llvm::json::Object estimates;
  std::unique_ptr<HostExecutable> host;
  std::string quantName = "none";
  /// How the quantization chose integer weights: "rtn" or "gptq".
  std::string quantWeights = "rtn";
  /// With gptq: "act" (by decreasing activation energy) or "natural".
  std::string gptqOrder;
  /// For quantized models: the fp32 reference and the calibration inputs
  /// and outputs (Quantization.cpp), shared by the targets of one
  /// compileFileForTargets, and the accuracy measured on those inputs.
  struct Calibration;
  std::shared_ptr<Calibration> calibration;
  std::optional<llvm::json::Object> accuracy;
  /// What the constant evaluation folded (the report's
  /// "constant_evaluation").
  ConstantEvaluationSummary constantEvaluation;
  std::unique_ptr<HLSExecutable> hls;
  /// ptx: the launch plan, read at compile time (no GPU needed); the CUDA
  /// executable is created on the first run.
  std::unique_ptr<LaunchPlan> ptxPlan;
  std::unique_ptr<CUDAExecutable> cuda;
  /// ptx: the kernels before NVVM (kept in the artifact), and the emulator
  /// that runs the plan on them when emulateGPU is set.
  mlir::OwningOpRef<mlir::ModuleOp> gpuKernels;
  std::unique_ptr<GPUEmulator> emulator;
  bool emulateGPU = false;
  std::unique_ptr<npu::Offload> npuOffload;
};

/// Reads the arrays of an `.npz` file (numpy's np.savez: a zip of stored,
/// uncompressed `.npy` entries), named by their keys.
llvm::Expected<std::vector<Tensor>> readNpz(llvm::StringRef path);

/// compareOutputs' figures as one phrase: "cosine C, max abs error M, mean
/// abs error E, top-1 agreement T", and how many values were NaN or
/// infinite where any were.
std::string describeAccuracy(const llvm::json::Object &accuracy);

/// Compares outputs of a quantized model with fp32 references (same order):
/// cosine similarity and absolute errors over all float elements, top-1
/// agreement of the argmax along the last dim, and each one-element output
/// (a loss) against its reference, averaged over the samples
/// (`scalar_outputs`).
llvm::json::Object compareOutputs(llvm::ArrayRef<std::vector<Tensor>> actual,
                                  llvm::ArrayRef<std::vector<Tensor>> expected);
/// compareOutputs' scalar outputs as text, one per line after `prefix`:
/// "loss 46.1902 vs 46.1751 fp32 (+0.0326%)".
std::string describeScalarOutputs(const llvm::json::Object &accuracy,
                                  llvm::StringRef prefix);

//===----------------------------------------------------------------------===//
// Tool support
//===----------------------------------------------------------------------===//

/// Parses the command line; on a usage error prints it and returns false (the
/// tools then exit 2, not llvm::cl's 1). With `ownOptionsOnly`, --help lists
/// only the options of toolCategory() (LLVM's own are hidden: still usable,
/// and --help-hidden lists them).
bool parseToolOptions(int argc, char **argv, llvm::StringRef overview,
                      bool ownOptionsOnly = true);
/// The environment variables llm-run and llm-compile read, for their --help
/// (an llvm::cl::extrahelp).
extern const char *const environmentHelp;
/// Prints "TOOL: error: MESSAGE" as one line and returns exit code 2.
int reportToolError(llvm::StringRef tool, llvm::Error error);
/// Writes `value` to `path` as indented JSON and a newline; "PATH: cannot
/// write: REASON" when the file cannot be opened or written.
llvm::Error writeJSONFile(llvm::StringRef path, llvm::json::Value value);
/// Prints a progress line on stderr when it is a terminal.
void reportProgress(llvm::StringRef tool, const llvm::Twine &message);
/// While it lives and stderr is a terminal, one status line ("[llmc]
/// MESSAGE") for a long step that is not a pass pipeline, erased at the end
/// of its scope.
class StatusLine {
public:
  explicit StatusLine(const llvm::Twine &message);
  ~StatusLine();
  StatusLine(const StatusLine &) = delete;
  StatusLine &operator=(const StatusLine &) = delete;

private:
  bool shown;
};
/// When stderr is a terminal, shows which of `pm`'s top-level passes runs,
/// as one status line rewritten in place ("[llmc] ptx kernels 1/20:
/// convert-llm-to-gpu"), erased when the pipeline ends or fails. Call after
/// the pipeline is built.
void addProgress(mlir::PassManager &pm, llvm::StringRef stage);
} // namespace llmc

#endif // LLMC_DRIVER_DRIVER_H
