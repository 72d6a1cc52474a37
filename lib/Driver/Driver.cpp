//===- Driver.cpp - compile ONNX models to artifacts and run them ---------===//
#include "llmc/Driver/Driver.h"
#include "llmc/Runtime/NPU/Offload.h"

#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"
#include "llmc/Pipelines/Pipelines.h"
#include "llmc/Runtime/HLSRuntime.h"
#include "llmc/Pipelines/PTXPipeline.h"
#include "llmc/Runtime/CUDARuntime.h"
#include "llmc/Runtime/GPUEmulator.h"

#include "llmc/Runtime/HostRuntime.h"
#include "llmc/Support/WriteFile.h"
#include "llmc/Target/PTX.h"
#include "llmc/Target/PerfModel.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <numeric>

using namespace llmc;
using llvm::StringRef;

char InputError::ID = 0;

namespace {
constexpr StringRef kManifestFormat = "llmc-artifact";
constexpr int64_t kManifestVersion = 1;
constexpr StringRef kHostCodeFile = "host.mlirbc";
constexpr StringRef kWeightsFile = "weights.bin";
constexpr StringRef kPTXCodeFile = "ptx.mlirbc";
constexpr StringRef kPTXFile = "model.ptx";
/// Initial bytes of the ptx plan's constant buffers.
constexpr StringRef kConstantsFile = "constants.bin";
/// The ptx target's kernels before NVVM, for the GPU emulator.
constexpr StringRef kGPUKernelsFile = "kernels.mlirbc";
constexpr size_t kWeightAlignment = 64;

llvm::Error inputError(const llvm::Twine &message) {
  return llvm::make_error<InputError>(message.str());
}

/// "FILE: node 'NAME': " for locations the importer made, else the printed
/// location.
std::string describeLocation(mlir::Location loc) {
  if (auto file = llvm::dyn_cast<mlir::FileLineColLoc>(loc)) {
    if (file.getLine() == 0)
      return (file.getFilename().getValue() + ": ").str();
    return (file.getFilename().getValue() + ":" + llvm::Twine(file.getLine()) +
            ":" + llvm::Twine(file.getColumn()) + ": ")
        .str();
  }
  if (auto name = llvm::dyn_cast<mlir::NameLoc>(loc)) {
    std::string inner = describeLocation(name.getChildLoc());
    return inner + "node '" + name.getName().str() + "': ";
  }
  if (auto fused = llvm::dyn_cast<mlir::FusedLoc>(loc))
    for (mlir::Location inner : fused.getLocations())
      if (std::string text = describeLocation(inner); !text.empty())
        return text;
  return "";
}

std::string oneLine(std::string text) {
  for (char &c : text)
    if (c == '\n' || c == '\r')
      c = ' ';
  return text;
}


/// Batch and sequence length of a forward pass, from the first input that
/// looks like token ids ([batch, seq] integers) or hidden states
/// ([batch, seq, hidden] floats).
Workload inferWorkload(const Signature &sig) {
  auto isIntegerDType = [](DType dtype) {
    return llvm::is_contained(
        {DType::i64, DType::i32, DType::i16, DType::u16, DType::i8, DType::u8},
        dtype);
  };
  Workload workload;
  for (const TensorSpec &spec : sig.inputs) {
    bool ids = isIntegerDType(spec.dtype) && spec.shape.size() == 2;
    bool states = !isIntegerDType(spec.dtype) && spec.shape.size() == 3;
    if ((ids || states) && spec.shape[0] > 0 && spec.shape[1] > 0) {
      workload.batch = spec.shape[0];
      workload.tokens = spec.shape[1];
      break;
    }
  }
  return workload;
}

/// A context whose dialects load as the importer, the parser and each
/// pipeline's passes need them: loading all that are registered (every
/// upstream dialect) took a tenth of a small model's llm-run.
std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  registerAllLLMCDialects(registry);
  auto context = std::make_unique<mlir::MLIRContext>(registry);
  return context;
}

std::string printModule(mlir::ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  mlir::OpPrintingFlags flags;
  flags.elideLargeResourceString(64);
  module->print(os, flags);
  return text;
}
} // namespace

Tensor llmc::tensorFromElements(StringRef name, mlir::ElementsAttr elements) {
  auto type = llvm::cast<mlir::ShapedType>(elements.getType());
  DType dtype = *dtypeFromMLIR(type.getElementType());
  std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
  if (auto resource =
          llvm::dyn_cast<mlir::DenseResourceElementsAttr>(elements)) {
    if (const mlir::AsmResourceBlob *blob = resource.getRawHandle().getBlob()) {
      llvm::ArrayRef<char> data = blob->getData();
      if (data.size() == static_cast<size_t>(type.getNumElements()) *
                             dtypeSize(dtype))
        return Tensor::view(name.str(), dtype, shape, data.data(), nullptr);
    }
  }
  Tensor tensor(name.str(), dtype, shape);
  char *out = static_cast<char *>(tensor.mutableData());
  auto dense = llvm::dyn_cast<mlir::DenseElementsAttr>(elements);
  if (dense && dtype == DType::i1) {
    int64_t i = 0;
    for (bool value : dense.getValues<bool>())
      out[i++] = value;
  } else if (dense) {
    llvm::ArrayRef<char> raw = dense.getRawData();
    size_t size = dtypeSize(dtype);
    if (dense.isSplat())
      for (int64_t i = 0; i < tensor.numElements(); ++i)
        std::memcpy(out + i * size, raw.data(), size);
    else
      std::memcpy(out, raw.data(), tensor.byteSize());
  }
  return tensor;
}

llvm::Error llmc::takeWeights(mlir::ModuleOp module, const Signature &sig,
                              std::vector<Tensor> &weights) {
  auto table =
      module->getAttrOfType<mlir::DictionaryAttr>(mlir::llm::kWeightsAttrName);
  if (!table)
    return llvm::Error::success();
  for (const TensorSpec &spec : sig.weights) {
    auto value =
        llvm::dyn_cast_if_present<mlir::ElementsAttr>(table.get(spec.name));
    if (!value)
      return inputError("weight '" + spec.name + "' has no value");
    weights.push_back(tensorFromElements(spec.name, value));
  }
  module->removeAttr(mlir::llm::kWeightsAttrName);
  return llvm::Error::success();
}

llvm::Error llmc::compileForHost(mlir::MLIRContext &context,
                                 mlir::ModuleOp module, StringRef entry,
                                 const HostCompileLabels &labels,
                                 Signature &sig, std::vector<Tensor> &weights,
                                 std::unique_ptr<HostExecutable> &executable) {
  mlir::PassManager outline(&context);
  outline.addPass(mlir::llm::createLLMOutlineWeights());
  if (auto error = captureDiagnostics(
          context, [&] { return outline.run(module); },
          "the " + labels.what.str() + " failed"))
    return error;
  auto signature = extractSignature(module, entry);
  if (!signature)
    return inputError(llvm::toString(signature.takeError()));
  sig = std::move(*signature);
  if (auto error = takeWeights(module, sig, weights))
    return error;
  mlir::PassManager lowering(&context);
  buildHostLoweringPipeline(lowering);
  addProgress(lowering, labels.stage);
  if (auto error = captureDiagnostics(
          context, [&] { return lowering.run(module); },
          "the host pipeline failed on the " + labels.what.str()))
    return error;
  StatusLine status(labels.compiling);
  auto created = HostExecutable::create(module, sig, weights);
  if (!created)
    return inputError("cannot compile the " + labels.what + ": " +
                      llvm::toString(created.takeError()));
  executable = std::move(*created);
  return llvm::Error::success();
}

namespace {
/// Orders the uses of every value as the bytecode reader rebuilds them (the
/// last user in a pre-order walk first), so the writer records no use-list
/// orders. Upstream passes (one-shot-bufferize, reconcile-unrealized-casts)
/// leave the uses of the same IR in an order that varies from run to run;
/// without this, the same model gave artifacts that differ in a few bytes.
void canonicalizeUseLists(mlir::Operation *root) {
  llvm::DenseMap<mlir::Operation *, uint64_t> ids;
  root->walk<mlir::WalkOrder::PreOrder>(
      [&](mlir::Operation *op) { ids.try_emplace(op, ids.size()); });
  auto sortUses = [&](mlir::Value value) {
    if (value.use_empty() || value.hasOneUse())
      return;
    llvm::SmallVector<uint64_t> keys;
    for (mlir::OpOperand &use : value.getUses())
      keys.push_back(ids.lookup(use.getOwner()) << 32 | use.getOperandNumber());
    if (llvm::is_sorted(keys, std::greater<uint64_t>()))
      return;
    llvm::SmallVector<unsigned> byKey(keys.size());
    std::iota(byKey.begin(), byKey.end(), 0);
    llvm::sort(byKey,
               [&](unsigned a, unsigned b) { return keys[a] > keys[b]; });
    // shuffleUseList takes each use's new position, by its current one.
    llvm::SmallVector<unsigned> positions(keys.size());
    for (auto [position, current] : llvm::enumerate(byKey))
      positions[current] = position;
    value.shuffleUseList(positions);
  };
  root->walk([&](mlir::Block *block) {
    for (mlir::BlockArgument argument : block->getArguments())
      sortUses(argument);
  });
  root->walk([&](mlir::Operation *op) {
    for (mlir::Value result : op->getResults())
      sortUses(result);
  });
}

/// The module as bytecode: the same IR gives the same bytes.
llvm::Error writeBytecode(StringRef path, mlir::ModuleOp module) {
  canonicalizeUseLists(module);
  if (auto error = writeFile(path, [&](llvm::raw_ostream &os) -> llvm::Error {
        if (failed(mlir::writeBytecodeToFile(module, os)))
          return llvm::createStringError(path + ": cannot write bytecode");
        return llvm::Error::success();
      }))
    return inputError(llvm::toString(std::move(error)));
  return llvm::Error::success();
}

/// model.ptx, and the constants' initial bytes (constants.bin) when the
/// plan has any.
llvm::Error writePTX(StringRef directory, const LaunchPlan &plan) {
  auto write = [&](StringRef file, StringRef bytes) -> llvm::Error {
    llvm::SmallString<256> path(directory);
    llvm::sys::path::append(path, file);
    if (auto error = writeFile(path, bytes))
      return inputError(llvm::toString(std::move(error)));
    return llvm::Error::success();
  };
  if (auto error = write(kPTXFile, plan.ptx))
    return error;
  std::vector<uint8_t> constants = plan.constantBytes();
  if (constants.empty())
    return llvm::Error::success();
  return write(kConstantsFile,
               StringRef(reinterpret_cast<const char *>(constants.data()),
                         constants.size()));
}
} // namespace

llvm::ArrayRef<StringRef> llmc::knownTargets() {
  static const StringRef targets[] = {"host", "ptx", "hls", "npu"};
  return targets;
}

llvm::ArrayRef<StringRef> llmc::implementedTargets() {
  static const StringRef targets[] = {"host", "ptx", "hls", "npu"};
  return targets;
}

std::vector<std::string> llmc::targetsForAll(StringRef quant,
                                             std::vector<std::string> *notes) {
  std::vector<std::string> targets;
  for (StringRef name : implementedTargets()) {
    // The NPU's array multiplies int8: it compiles W8A8 models only.
    if (name == "npu" && quant != "int8") {
      if (notes)
        notes->push_back("--target all compiles npu only with --quant int8; "
                         "its row is an estimate");
      continue;
    }
    // FP8 products need FP8 arithmetic: the GPU's tensor cores.
    if (name == "hls" && quant == "fp8") {
      if (notes)
        notes->push_back("--target all compiles hls only without --quant "
                         "fp8; its row is an estimate");
      continue;
    }
    targets.push_back(name.str());
  }
  return targets;
}

llvm::Error llmc::checkTarget(StringRef target) {
  if (llvm::is_contained(implementedTargets(), target) || target == "all")
    return llvm::Error::success();
  if (llvm::is_contained(knownTargets(), target))
    return inputError("target '" + target +
                      "' is not implemented yet (implemented: " +
                      llvm::join(implementedTargets(), ", ") + ")");
  return inputError("unknown target '" + target +
                    "' (expected host, ptx, hls, npu or all)");
}

llvm::Error llmc::checkQuantization(StringRef quant) {
  if (quant == "none")
    return llvm::Error::success();
  if (llvm::is_contained({StringRef("int8"), StringRef("fp8"), StringRef("w8"),
                          StringRef("w4")},
                         quant))
    return llvm::Error::success();
  return inputError("unknown quantization '" + quant +
                    "' (expected none, int8, w8, w4 or fp8)");
}

/// A target's constraints on --quant: the NPU's array multiplies int8;
/// FP8 products run on GPUs with FP8 tensor cores (and on the host, their
/// reference).
static llvm::Error checkTargetQuantization(const CompileOptions &options) {
  if (options.quant == "fp8" && options.target != "host" &&
      options.target != "ptx")
    return inputError("target '" + options.target +
                      "' has no fp8 (e4m3) arithmetic: --quant fp8 compiles "
                      "for ptx and host (use " +
                      (options.target == "npu" ? "int8" : "int8, w8 or w4") +
                      ")");
  if (options.target == "npu" && options.quant != "int8")
    return inputError("target 'npu' multiplies int8 activations by int8 "
                      "weights: compile with --quant int8 (got --quant " +
                      options.quant + ")");
  return llvm::Error::success();
}

llvm::Error llmc::captureDiagnostics(mlir::MLIRContext &context,
                                     llvm::function_ref<mlir::LogicalResult()> fn,
                                     StringRef fallback) {
  std::string first;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    if (diag.getSeverity() == mlir::DiagnosticSeverity::Error && first.empty())
      first = oneLine(describeLocation(diag.getLocation()) + diag.str());
    return mlir::success();
  });
  if (succeeded(fn()))
    return llvm::Error::success();
  return inputError(first.empty() ? fallback.str() : first);
}

CompiledModel::CompiledModel() = default;
CompiledModel::~CompiledModel() {
  host.reset();
  hls.reset();
  calibration.reset();
  cuda.reset();
  emulator.reset();
  gpuKernels = nullptr;
  lowered = nullptr;
  graph = nullptr;
  imported = nullptr;
}

namespace {
/// The one model of a compile*ForTargets call with one target.
llvm::Expected<std::unique_ptr<CompiledModel>> onlyModel(
    llvm::function_ref<llvm::Error(CompiledModel::TargetConsumer)> compile) {
  std::unique_ptr<CompiledModel> result;
  if (auto error = compile([&](std::unique_ptr<CompiledModel> model) {
        result = std::move(model);
        return llvm::Error::success();
      }))
    return std::move(error);
  return std::move(result);
}
} // namespace

llvm::Expected<std::unique_ptr<CompiledModel>>
CompiledModel::compileFile(StringRef path, const CompileOptions &options) {
  return onlyModel([&](TargetConsumer consume) {
    return compileFileForTargets(path, options, {options.target}, consume);
  });
}

llvm::Expected<std::unique_ptr<CompiledModel>>
CompiledModel::compileBytes(StringRef bytes, StringRef displayName,
                            const CompileOptions &options) {
  return onlyModel([&](TargetConsumer consume) {
    return compileBytesForTargets(bytes, displayName, options, {options.target},
                                  consume);
  });
}

/// What the targets of one compileForTargets share: the graph after the
/// graph pipeline or quantization (by the layout of its weights) and the
/// calibration.
struct CompiledModel::SharedFrontEnd {
  std::map<WeightLayout, mlir::OwningOpRef<mlir::ModuleOp>> graphs;
  std::shared_ptr<Calibration> calibration;
  std::map<WeightLayout, ConstantEvaluationSummary> constantEvaluations;
};

llvm::Error CompiledModel::compileForTargets(
    std::shared_ptr<mlir::MLIRContext> context,
    llvm::function_ref<mlir::OwningOpRef<mlir::ModuleOp>()> import,
    StringRef displayName, const CompileOptions &options,
    llvm::ArrayRef<std::string> targets, TargetConsumer consume) {
  for (const std::string &target : targets)
    if (auto error = checkTarget(target))
      return error;
  if (auto error = checkQuantization(options.quant))
    return error;
  CompileOptions perTarget = options;
  for (const std::string &target : targets) {
    perTarget.target = target;
    if (auto error = checkTargetQuantization(perTarget))
      return error;
  }
  // Destroyed in reverse order: the modules before the context.
  mlir::OwningOpRef<mlir::ModuleOp> imported;
  if (auto error = captureDiagnostics(
          *context,
          [&] {
            imported = import();
            return mlir::success(static_cast<bool>(imported));
          },
          (displayName + ": import failed").str()))
    return error;
  SharedFrontEnd shared;
  for (const std::string &target : targets) {
    perTarget.target = target;
    std::unique_ptr<CompiledModel> model(new CompiledModel());
    model->context = context;
    auto compiled =
        compileImported(std::move(model), imported->clone(), perTarget, shared);
    if (!compiled)
      return compiled.takeError();
    if (auto error = consume(std::move(*compiled)))
      return error;
  }
  return llvm::Error::success();
}

llvm::Error CompiledModel::compileFileForTargets(
    StringRef path, const CompileOptions &options,
    llvm::ArrayRef<std::string> targets, TargetConsumer consume) {
  // A missing model is said first, not a rule of the targets asked for.
  if (std::error_code error =
          llvm::sys::fs::access(path, llvm::sys::fs::AccessMode::Exist))
    return inputError(path + ": cannot open the model: " + error.message());
  std::shared_ptr<mlir::MLIRContext> context = makeContext();
  return compileForTargets(
      context, [&] { return importONNXFile(path, *context, options.import); },
      path, options, targets, consume);
}

llvm::Error CompiledModel::compileBytesForTargets(
    StringRef bytes, StringRef displayName, const CompileOptions &options,
    llvm::ArrayRef<std::string> targets, TargetConsumer consume) {
  std::shared_ptr<mlir::MLIRContext> context = makeContext();
  return compileForTargets(
      context,
      [&] {
        return importONNXBytes(bytes, displayName, ".", *context,
                               options.import);
      },
      displayName, options, targets, consume);
}

llvm::Expected<std::unique_ptr<CompiledModel>>
CompiledModel::compileImported(std::unique_ptr<CompiledModel> model,
                               mlir::OwningOpRef<mlir::ModuleOp> importedModule,
                               const CompileOptions &options,
                               SharedFrontEnd &shared) {
  // A local, so that on an early error return the module is destroyed before
  // `model` and its context (parameters may be destroyed in either order).
  mlir::OwningOpRef<mlir::ModuleOp> module = std::move(importedModule);
  mlir::MLIRContext &context = *model->context;
  model->targetName = options.target == "ptx" || options.target == "npu"
                          ? options.target
                          : "host";

  model->imported = module->clone();
  for (const auto &entry : options.import.fixedValues)
    model->fixedInputs[entry.getKey().str()] =
        std::vector<double>(entry.getValue().begin(), entry.getValue().end());

  // The graph for the target: the same for every target with a --quant;
  // without, ptx's has its weights k-major, the host's and hls's n-major.
  WeightLayout layout = options.quant != "none"      ? WeightLayout::AsExported
                        : model->targetName == "ptx" ? WeightLayout::KMajor
                                                     : WeightLayout::NMajor;
  if (shared.graphs.count(layout)) {
    module = shared.graphs[layout]->clone();
    model->calibration = shared.calibration;
    model->quantName = options.quant;
    model->quantWeights = options.quantization.weights;
    model->gptqOrder = options.quantization.gptqOrder();
    model->constantEvaluation = shared.constantEvaluations[layout];
  } else {
    if (!options.evaluateConstants)
      model->constantEvaluation.skipped = "off (--no-const-eval)";
    if (options.quant == "none") {
      mlir::PassManager graph(&context);
      buildGraphPipeline(graph, options.fuse, /*remarks=*/false, layout);
      addProgress(graph, "graph pipeline");
      if (auto error = captureDiagnostics(
              context, [&] { return graph.run(*module); },
              "the graph pipeline failed"))
        return std::move(error);
      // With a --quant, quantize() evaluates them, before it takes its
      // layers.
      if (options.evaluateConstants)
        model->constantEvaluation = evaluateConstantSubgraphsOrWarn(
            *module, options.import.entryName, layout);
    } else if (auto error = model->quantize(*module, options)) {
      return std::move(error);
    }
    shared.graphs[layout] = module->clone();
    shared.calibration = model->calibration;
    shared.constantEvaluations[layout] = model->constantEvaluation;
  }
  model->graph = module->clone();

  auto signature = extractSignature(*module, options.import.entryName);
  if (!signature)
    return inputError(llvm::toString(signature.takeError()));
  model->sig = std::move(*signature);
  if (auto error = takeWeights(*module, model->sig, model->weights))
    return std::move(error);
  auto targets = reportTargets(options.targetDescs);
  if (!targets)
    return inputError(llvm::toString(targets.takeError()));
  GraphCost opCosts = collectOpCosts(*module);
  model->costs = summarize(opCosts);
  Workload workload = inferWorkload(model->sig);
  for (const auto &[backend, desc] : *targets)
    model->estimates[backend] = estimate(desc, opCosts, workload);
  if (options.target == "hls")
    return compileHLS(std::move(model), std::move(module), options);

  if (options.target == "npu")
    if (auto error = model->partitionNPU(*module, options))
      return std::move(error);
  auto lower = [&](llvm::function_ref<void(mlir::OpPassManager &)> build,
                   StringRef stage) {
    mlir::PassManager lowering(&context);
    build(lowering);
    addProgress(lowering, stage);
    return captureDiagnostics(
        context, [&] { return lowering.run(*module); },
        "the " + model->targetName + " pipeline failed");
  };
  if (model->targetName == "ptx") {
    // Tiles are sized for the --target-desc of the ptx backend, if given.
    // The description's gpu.arch picks the PTX target (sm_90a: wgmma).
    PTXPipelineOptions ptxOptions;
    // FP8 products (--quant fp8, or an FP8 QDQ model's) need PTX ISA 8.4
    // for their e4m3 mma.sync.
    bool fp8 = options.quant == "fp8";
    (*module)->walk([&](mlir::llm::QMatMulOp op) {
      fp8 |= op.getE4m3();
      return fp8 ? mlir::WalkResult::interrupt() : mlir::WalkResult::advance();
    });
    if (fp8)
      ptxOptions.features = "+ptx84";
    for (const std::string &nameOrPath : options.targetDescs) {
      auto desc = TargetDescription::load(nameOrPath);
      if (!desc) {
        llvm::consumeError(desc.takeError());
        continue;
      }
      if (desc->backend() != "ptx")
        continue;
      ptxOptions.targetDesc = nameOrPath;
      const llvm::json::Object *gpu = desc->json().getObject("gpu");
      if (std::optional<llvm::StringRef> arch =
              gpu ? gpu->getString("arch") : std::nullopt) {
        unsigned version = 0;
        llvm::StringRef digits = arch->drop_front(3);
        digits.consume_back("a");
        if (!arch->starts_with("sm_") || digits.getAsInteger(10, version) ||
            version < 80)
          return inputError("target description '" + desc->name() +
                           "': gpu.arch '" + *arch +
                           "' is not a CUDA architecture the ptx backend "
                           "supports (sm_80 or newer, e.g. sm_90 or sm_90a)");
        if (fp8 && version < 89)
          return inputError(
              "target description '" + desc->name() + "': gpu.arch '" + *arch +
              "' has no FP8 tensor cores; " +
              (options.quant == "fp8"
                   ? "--quant fp8 needs"
                   : "the model's FP8 (FLOAT8E4M3FN) products need") +
              " sm_89 or newer");
        ptxOptions.chip = arch->str();
      }
    }
    // The kernels at the gpu-dialect level are kept for the GPU emulator.
    if (auto error = lower(
            [&](mlir::OpPassManager &pm) {
              buildPTXKernelPipeline(pm, ptxOptions);
            },
            "ptx kernels"))
      return std::move(error);
    model->gpuKernels = mlir::ModuleOp::create(module->getLoc());
    for (auto kernels : module->getOps<mlir::gpu::GPUModuleOp>())
      model->gpuKernels->push_back(kernels->clone());
    if (auto error = lower(
            [&](mlir::OpPassManager &pm) {
              buildPTXCodegenPipeline(pm, ptxOptions);
            },
            "ptx codegen"))
      return std::move(error);
  } else if (auto error = lower(
                 [](mlir::OpPassManager &pm) { buildHostLoweringPipeline(pm); },
                 "host lowering")) {
    return std::move(error);
  }
  model->lowered = std::move(module);
  if (auto error = model->prepareExecutable())
    return std::move(error);
  // The compiled ptx code launches fewer kernels than the graph has ops
  // (fused epilogues, attention, elementwise fusion, merged launches): its
  // estimate charges the launch overhead per launch of the plan.
  if (model->ptxPlan)
    for (const auto &[backend, desc] : *targets)
      if (backend == "ptx")
        model->estimates[backend] =
            estimate(desc, opCosts, workload, /*layers=*/true,
                     static_cast<int64_t>(model->ptxPlan->launches.size()));
  if (model->quantName != "none")
    if (auto error = model->measureAccuracy())
      return std::move(error);
  return model;
}

llvm::Error CompiledModel::prepareExecutable() {
  if (targetName == "ptx") {
    auto plan = buildLaunchPlan(*lowered, sig.entry, sig.inputs.size());
    if (!plan)
      return inputError("cannot build the ptx launch plan: " +
                        llvm::toString(plan.takeError()));
    if (plan->outputs.size() != sig.outputs.size())
      return inputError("the ptx launch plan has " +
                        llvm::Twine(plan->outputs.size()) +
                        " outputs, the signature " +
                        llvm::Twine(sig.outputs.size()));
    ptxPlan = std::make_unique<LaunchPlan>(std::move(*plan));
    return llvm::Error::success();
  }
  std::vector<std::pair<std::string, void *>> symbols;
  if (npuOffload)
    symbols = npuOffload->symbols();
  auto executable = HostExecutable::create(*lowered, sig, weights, symbols);
  if (!executable)
    return inputError("cannot compile for the host: " +
                      llvm::toString(executable.takeError()));
  host = std::move(*executable);
  return llvm::Error::success();
}

llvm::Error CompiledModel::save(StringRef directory) const {
  if (std::error_code error = llvm::sys::fs::create_directories(directory))
    return inputError(directory + ": cannot create: " + error.message());
  llvm::SmallString<256> path(directory);

  StringRef codeFile = targetName == "ptx" ? kPTXCodeFile : kHostCodeFile;
  llvm::sys::path::append(path, codeFile);
  if (hls) {
    // HLS artifacts hold C++ (kernel.cpp, testbench.cpp), not MLIR.
    codeFile = "kernel.cpp";
    if (auto error = hls->writeSources(directory))
      return inputError(llvm::toString(std::move(error)));
  } else if (auto error = writeBytecode(path, *lowered)) {
    return error;
  }

  if (ptxPlan)
    if (auto error = writePTX(directory, *ptxPlan))
      return error;
  if (gpuKernels) {
    llvm::SmallString<256> kernelsPath(directory);
    llvm::sys::path::append(kernelsPath, kGPUKernelsFile);
    if (auto error = writeBytecode(kernelsPath, *gpuKernels))
      return error;
  }
  std::optional<llvm::json::Array> npuKernels;
  if (npuOffload) {
    auto table = npuOffload->save(directory);
    if (!table)
      return inputError(llvm::toString(table.takeError()));
    npuKernels = std::move(*table);
  }

  llvm::json::Array weightTable;
  path = directory;
  llvm::sys::path::append(path, kWeightsFile);
  if (auto error = writeFile(path, [&](llvm::raw_ostream &os) {
        uint64_t offset = 0;
        for (const Tensor &weight : weights) {
          uint64_t padding =
              (kWeightAlignment - offset % kWeightAlignment) % kWeightAlignment;
          os.write_zeros(padding);
          offset += padding;
          os.write(static_cast<const char *>(weight.data()), weight.byteSize());
          weightTable.push_back(llvm::json::Object{
              {"name", weight.name},
              {"offset", static_cast<int64_t>(offset)},
              {"bytes", static_cast<int64_t>(weight.byteSize())}});
          offset += weight.byteSize();
        }
        return llvm::Error::success();
      }))
    return inputError(llvm::toString(std::move(error)));

  llvm::json::Object manifest{{"format", kManifestFormat},
                              {"version", kManifestVersion},
                              {"target", targetName},
                              {"code", codeFile},
                              {"weights_file", kWeightsFile},
                              {"weights", std::move(weightTable)},
                              {"signature", sig.toJSON()},
                              {"report", llvm::json::Object(report())}};
  if (!fixedInputs.empty()) {
    llvm::json::Object fixed;
    for (const auto &[name, values] : fixedInputs)
      fixed[name] = llvm::json::Array(values);
    manifest["fixed_inputs"] = std::move(fixed);
  }
  if (hls)
    manifest["testbench"] = "testbench.cpp";
  if (npuKernels)
    manifest["npu_kernels"] = std::move(*npuKernels);
  if (ptxPlan) {
    manifest["ptx"] = kPTXFile;
    manifest["launch_plan"] = ptxPlan->summary();
    if (!ptxPlan->constantBytes().empty())
      manifest["constants_file"] = kConstantsFile;
    if (gpuKernels)
      manifest["gpu_kernels"] = kGPUKernelsFile;
  }
  path = directory;
  llvm::sys::path::append(path, "manifest.json");
  return writeJSONFile(path, std::move(manifest));
}

/// The parsed manifest.json of an artifact folder; `path` is set to it.
static llvm::Expected<llvm::json::Value>
readManifest(StringRef directory, llvm::SmallString<256> &path) {
  path = directory;
  llvm::sys::path::append(path, "manifest.json");
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return inputError(directory + ": not an llmc artifact (no manifest.json)");
  auto parsed = llvm::json::parse((*buffer)->getBuffer());
  if (!parsed)
    return inputError(path + ": invalid JSON: " +
                      llvm::toString(parsed.takeError()));
  return parsed;
}

std::optional<std::string> CompiledModel::artifactTarget(StringRef directory) {
  llvm::SmallString<256> path;
  llvm::Expected<llvm::json::Value> parsed = readManifest(directory, path);
  if (!parsed) {
    llvm::consumeError(parsed.takeError());
    return std::nullopt;
  }
  if (const llvm::json::Object *manifest = parsed->getAsObject())
    if (std::optional<StringRef> target = manifest->getString("target"))
      return target->str();
  return std::nullopt;
}

llvm::Expected<std::unique_ptr<CompiledModel>>
CompiledModel::load(StringRef directory) {
  llvm::SmallString<256> path;
  llvm::Expected<llvm::json::Value> parsed = readManifest(directory, path);
  if (!parsed)
    return parsed.takeError();
  const llvm::json::Object *manifest = parsed->getAsObject();
  if (!manifest || manifest->getString("format") != kManifestFormat)
    return inputError(path + ": not an llmc artifact manifest");
  if (manifest->getInteger("version") != kManifestVersion)
    return inputError(path + ": unsupported artifact version");
  std::unique_ptr<CompiledModel> model(new CompiledModel());
  model->context = makeContext();
  if (auto target = manifest->getString("target"))
    model->targetName = target->str();
  if (!llvm::is_contained(implementedTargets(), model->targetName))
    return inputError(path + ": artifacts of target '" + model->targetName +
                      "' cannot be run yet");
  const llvm::json::Value *signature = manifest->get("signature");
  if (!signature)
    return inputError(path + ": no signature");
  auto sig = Signature::fromJSON(*signature);
  if (!sig)
    return inputError(path + ": " + llvm::toString(sig.takeError()));
  model->sig = std::move(*sig);
  if (const llvm::json::Object *report = manifest->getObject("report"))
    model->costs = *report;
  if (const llvm::json::Object *fixed = manifest->getObject("fixed_inputs"))
    for (const auto &[name, value] : *fixed) {
      std::vector<double> values;
      if (const llvm::json::Array *array = value.getAsArray())
        for (const llvm::json::Value &v : *array)
          values.push_back(v.getAsNumber().value_or(0));
      model->fixedInputs[name.str()] = std::move(values);
    }

  llvm::SmallString<256> codePath(directory);
  llvm::sys::path::append(codePath,
                          manifest->getString("code").value_or(kHostCodeFile));
  // HLS artifacts hold C++, read by loadHLS once the weights are mapped.
  auto parse = [&](StringRef file, mlir::OwningOpRef<mlir::ModuleOp> &into) {
    return captureDiagnostics(
        *model->context,
        [&] {
          into = mlir::parseSourceFile<mlir::ModuleOp>(file,
                                                       model->context.get());
          return mlir::success(static_cast<bool>(into));
        },
        (file + ": cannot be parsed").str());
  };
  if (model->targetName != "hls")
    if (auto error = parse(codePath, model->lowered))
      return std::move(error);
  if (std::optional<StringRef> kernels = manifest->getString("gpu_kernels")) {
    llvm::SmallString<256> kernelsPath(directory);
    llvm::sys::path::append(kernelsPath, *kernels);
    if (auto error = parse(kernelsPath, model->gpuKernels))
      return std::move(error);
  }

  llvm::SmallString<256> weightsPath(directory);
  llvm::sys::path::append(
      weightsPath, manifest->getString("weights_file").value_or(kWeightsFile));
  auto weightBuffer = llvm::MemoryBuffer::getFile(
      weightsPath, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!weightBuffer)
    return inputError(weightsPath + ": cannot read: " +
                      weightBuffer.getError().message());
  std::shared_ptr<const void> owner(std::move(*weightBuffer));
  auto *blob = static_cast<const llvm::MemoryBuffer *>(owner.get());
  const llvm::json::Array *table = manifest->getArray("weights");
  if (!table || table->size() != model->sig.weights.size())
    return inputError(path + ": the weight table does not match the signature");
  for (auto [entry, spec] : llvm::zip(*table, model->sig.weights)) {
    const llvm::json::Object *object = entry.getAsObject();
    int64_t offset = -1, bytes = -1;
    if (object) {
      offset = object->getInteger("offset").value_or(-1);
      bytes = object->getInteger("bytes").value_or(-1);
    }
    if (offset < 0 || bytes != spec.byteSize() ||
        static_cast<uint64_t>(offset + bytes) > blob->getBufferSize())
      return inputError(weightsPath + ": weight '" + spec.name +
                        "' is out of range or has the wrong size");
    model->weights.push_back(Tensor::view(spec.name, spec.dtype, spec.shape,
                                          blob->getBufferStart() + offset,
                                          owner));
  }
  if (model->targetName == "hls") {
    if (auto error = model->loadHLS(directory, *manifest))
      return std::move(error);
    return model;
  }
  if (model->targetName == "npu") {
    const llvm::json::Array *kernels = manifest->getArray("npu_kernels");
    if (!kernels)
      return inputError(path + ": an npu artifact without npu_kernels");
    auto offload = npu::Offload::load(directory, *kernels);
    if (!offload)
      return inputError(directory + ": " + llvm::toString(offload.takeError()));
    model->npuOffload = std::move(*offload);
    model->npuOffload->setProgress(
        [](const llvm::Twine &message) { reportProgress("llmc", message); });
  }
  if (auto error = model->prepareExecutable())
    return std::move(error);
  return model;
}

llvm::Expected<std::vector<Tensor>>
CompiledModel::run(std::vector<Tensor> inputs) {
  auto bound = bindInputs(sig, std::move(inputs));
  if (!bound)
    return inputError(llvm::toString(bound.takeError()));
  for (const Tensor &tensor : *bound) {
    auto fixed = fixedInputs.find(tensor.name);
    if (fixed == fixedInputs.end())
      continue;
    const std::vector<double> &values = fixed->second;
    for (int64_t i = 0; i < tensor.numElements(); ++i) {
      double expected = values[values.size() == 1 ? 0 : i];
      double given = elementAsDouble(tensor, i);
      if (tensor.dtype == DType::i1)
        expected = expected != 0;
      auto text = [](double v) {
        return v == std::trunc(v) && std::fabs(v) < 1e15
                   ? std::to_string(static_cast<int64_t>(v))
                   : llvm::formatv("{0}", v).str();
      };
      if (given != expected)
        return inputError("input '" + tensor.name + "' was fixed to " +
                          text(expected) +
                          " when the model was compiled (--value), got " +
                          text(given) + " at element " + llvm::Twine(i) +
                          ": compile the model again for this value");
    }
  }
  if (ptxPlan && emulateGPU) {
    if (!emulator) {
      if (!gpuKernels)
        return inputError("cannot emulate the GPU: the artifact has no "
                          "kernel module (" +
                          kGPUKernelsFile + "); compile it again");
      auto created =
          GPUEmulator::create(*ptxPlan, sig, weights, *gpuKernels);
      if (!created)
        return inputError("cannot emulate the GPU: " +
                          llvm::toString(created.takeError()));
      emulator = std::move(*created);
      emulator->setProgress(
          [](const llvm::Twine &message) { reportProgress("llmc", message); });
    }
    auto outputs = emulator->run(*bound);
    if (!outputs)
      return inputError("gpu emulation failed: " +
                        llvm::toString(outputs.takeError()));
    return outputs;
  }
  if (ptxPlan) {
    if (!cuda) {
      auto executable = CUDAExecutable::create(*ptxPlan, sig, weights);
      if (!executable)
        return inputError("cannot run on the GPU: " +
                          llvm::toString(executable.takeError()));
      cuda = std::move(*executable);
    }
    auto outputs = cuda->run(*bound);
    if (!outputs)
      return inputError("execution failed: " +
                        llvm::toString(outputs.takeError()));
    return outputs;
  }
  auto execute = [&]() -> llvm::Expected<std::vector<Tensor>> {
    if (!npuOffload)
      return hls ? hls->run(*bound) : host->run(*bound);
    // The host code calls the NPU kernels; their errors end the run.
    std::vector<Tensor> result;
    if (auto error = npuOffload->runWith([&]() -> llvm::Error {
          auto ran = host->run(*bound);
          if (!ran)
            return ran.takeError();
          result = std::move(*ran);
          return llvm::Error::success();
        }))
      return std::move(error);
    return result;
  };
  auto outputs = execute();
  if (!outputs)
    return inputError("execution failed: " +
                      llvm::toString(outputs.takeError()));
  return outputs;
}

std::optional<double> CompiledModel::deviceSeconds() const {
  if (cuda)
    return cuda->lastForwardSeconds();
  return std::nullopt;
}

std::string CompiledModel::mlir(StringRef stage) const {
  if (stage == "import" && imported)
    return printModule(*imported);
  if (stage == "graph" && graph)
    return printModule(*graph);
  if (stage == "lowered" && lowered)
    return printModule(*lowered);
  return "";
}

llvm::Expected<std::vector<std::pair<std::string, TargetDescription>>>
llmc::reportTargets(llvm::ArrayRef<std::string> descs) {
  std::vector<std::pair<std::string, TargetDescription>> targets;
  std::vector<TargetDescription> given;
  for (const std::string &nameOrPath : descs) {
    auto desc = TargetDescription::load(nameOrPath);
    if (!desc)
      return desc.takeError();
    given.push_back(std::move(*desc));
  }
  for (StringRef backend : knownTargets()) {
    auto it = llvm::find_if(given, [&](const TargetDescription &desc) {
      return desc.backend() == backend;
    });
    if (it != given.end()) {
      targets.emplace_back(backend.str(), *it);
      continue;
    }
    std::optional<StringRef> name = TargetDescription::defaultFor(backend);
    if (!name)
      continue;
    auto desc = TargetDescription::load(*name);
    if (!desc)
      return desc.takeError();
    targets.emplace_back(backend.str(), std::move(*desc));
  }
  return targets;
}

llvm::json::Object CompiledModel::report() const {
  llvm::json::Object all;
  for (const auto &entry : estimates)
    all[entry.first] = entry.second;
  if (llvm::json::Object *entry = all.getObject(targetName)) {
    // A described target: its estimate, and what this compile measured.
    (*entry)["constant_evaluation"] = constantEvaluation.toJSON();
    if (quantName != "none") {
      (*entry)["quant"] = quantName;
      (*entry)["quant_weights"] = quantWeights;
      if (!gptqOrder.empty())
        (*entry)["gptq_order"] = gptqOrder;
      if (accuracy) {
        (*entry)["accuracy"] = llvm::json::Object(*accuracy);
      } else {
        // measureAccuracy runs what it compiled, which the ptx target can
        // only where a GPU is, and the hls target only by C-simulation.
        (*entry)["accuracy"] = nullptr;
        std::string tool = "llm-run --target " + targetName +
                           (targetName == "ptx" ? " --emulate-gpu" : "") +
                           " --quant " + quantName;
        (*entry)["accuracy_not_measured"] =
            (targetName == "ptx"
                 ? "the ptx code runs on a GPU, and none is here: `" + tool +
                       "` measures it on given inputs"
                 : "the hls code runs by C-simulation, which compiling does "
                   "not run: `" +
                       tool + "` measures it on given inputs");
      }
    }
    if (std::optional<llvm::json::Object> stats = runStats();
        stats && stats->getInteger("kernel_calls").value_or(0) > 0) {
      // npu: the simulated linear layers of the last calibration sample.
      llvm::json::Object simulated;
      for (llvm::StringRef key :
           {"cycles", "seconds", "mac_utilization", "macs", "kernel_calls",
            "offloaded_matmul_fraction"})
        if (const llvm::json::Value *value = stats->get(key))
          simulated[key] = *value;
      if (const llvm::json::Object *energy = stats->getObject("energy_j"))
        simulated["energy_j"] = energy->getNumber("total").value_or(0);
      simulated["inputs"] = "the last calibration sample";
      simulated["note"] = "the NPU kernels only (the linear layers); the "
                          "host runs attention, norms and embeddings";
      (*entry)["simulated"] = std::move(simulated);
    }
    return llvm::json::Object{{"targets", std::move(all)}};
  }
  llvm::json::Object target(costs);
  target["latency_s"] = nullptr;
  target["tokens_per_s"] = nullptr;
  target["energy_per_token_j"] = nullptr;
  target["target_description"] = nullptr;
  target["note"] = "the host target has no hardware description: latency, "
                   "throughput and energy are not estimated for it";
  target["constant_evaluation"] = constantEvaluation.toJSON();
  if (quantName != "none") {
    target["quant"] = quantName;
    target["quant_weights"] = quantWeights;
    if (!gptqOrder.empty())
      target["gptq_order"] = gptqOrder;
    if (accuracy)
      target["accuracy"] = llvm::json::Object(*accuracy);
  }
  all[targetName] = std::move(target);
  return llvm::json::Object{{"targets", std::move(all)}};
}

//===----------------------------------------------------------------------===//
// Tool support
//===----------------------------------------------------------------------===//

const char *const llmc::environmentHelp =
    "\nEnvironment:\n"
    "  LLMC_HOST_THREADS=N    threads for the host code's heavy loops "
    "(default: the\n"
    "                         machine's hardware threads; 1: serial code)\n"
    "  LLMC_CPU_OPT_LEVEL=0-3 optimization level of the host JIT (LLVM) and "
    "of HLS\n"
    "                         C-simulation (the C++ compiler); default 2\n"
    "  LLMC_HLS_CXX=PROGRAM   C++ compiler for HLS C-simulation "
    "(default: g++)\n";

bool llmc::parseToolOptions(int argc, char **argv, StringRef overview,
                            bool ownOptionsOnly) {
  // LLVM's own options stay usable and listed by --help-hidden.
  if (ownOptionsOnly)
    hideForeignOptions();
  std::string errors;
  llvm::raw_string_ostream os(errors);
  if (llvm::cl::ParseCommandLineOptions(argc, argv, overview, &os))
    return true;
  llvm::errs() << oneLine(errors) << "\n";
  return false;
}

/// The MLIR spelling of a dtype whose values the importer can take.
static std::optional<StringRef> knownValueType(DType dtype) {
  switch (dtype) {
  case DType::f32:
    return StringRef("f32");
  case DType::f64:
    return StringRef("f64");
  case DType::f16:
    return StringRef("f16");
  case DType::i64:
    return StringRef("i64");
  case DType::i32:
    return StringRef("i32");
  case DType::i16:
    return StringRef("i16");
  case DType::i8:
    return StringRef("i8");
  case DType::i1:
    return StringRef("i1");
  default:
    return std::nullopt;
  }
}

void llmc::specializeToInputs(CompileOptions &options,
                              llvm::ArrayRef<Tensor> inputs, StringRef flag) {
  ImportOptions &import = options.import;
  for (const Tensor &tensor : inputs) {
    if (!import.inputShapes.count(tensor.name)) {
      import.inputShapes[tensor.name] =
          llvm::SmallVector<int64_t>(tensor.shape.begin(), tensor.shape.end());
      import.inputShapeFlags[tensor.name] = flag.str();
    }
    if (tensor.numElements() <= kMaxKnownInputElements)
      if (std::optional<StringRef> type = knownValueType(tensor.dtype)) {
        const char *bytes = static_cast<const char *>(tensor.data());
        import.inputValues[tensor.name] = {
            type->str(), std::vector<char>(bytes, bytes + tensor.byteSize())};
      }
  }
}

int llmc::reportToolError(StringRef tool, llvm::Error error) {
  llvm::errs() << tool << ": error: " << oneLine(llvm::toString(std::move(error)))
               << "\n";
  return 2;
}

/// JSON has no NaN or infinity (llvm::json prints them as bare `nan`, which
/// no reader, llmc's included, takes back): such a number becomes null.
static void nullNonFinite(llvm::json::Value &value) {
  if (std::optional<double> number = value.getAsNumber()) {
    if (!std::isfinite(*number))
      value = nullptr;
  } else if (llvm::json::Object *object = value.getAsObject()) {
    for (auto &entry : *object)
      nullNonFinite(entry.second);
  } else if (llvm::json::Array *array = value.getAsArray()) {
    for (llvm::json::Value &element : *array)
      nullNonFinite(element);
  }
}

llvm::Error llmc::writeJSONFile(StringRef path, llvm::json::Value value) {
  nullNonFinite(value);
  if (auto error = writeFile(path, llvm::formatv("{0:2}\n", value).str()))
    return inputError(llvm::toString(std::move(error)));
  return llvm::Error::success();
}

namespace {
/// The message of the StatusLine alive, if any: a progress line prints
/// over it and shows it again below.
std::string &activeStatus() {
  static std::string status;
  return status;
}
} // namespace

void llmc::reportProgress(StringRef tool, const llvm::Twine &message) {
  if (!llvm::errs().is_displayed())
    return;
  llvm::errs() << "\r\x1b[K[" << tool << "] " << message << "\n";
  if (!activeStatus().empty())
    llvm::errs() << "[llmc] " << activeStatus() << "\x1b[K";
  llvm::errs().flush();
}

llmc::StatusLine::StatusLine(const llvm::Twine &message)
    : shown(llvm::errs().is_displayed()) {
  if (!shown)
    return;
  activeStatus() = message.str();
  llvm::errs() << "\r[llmc] " << activeStatus() << "\x1b[K";
  llvm::errs().flush();
}

llmc::StatusLine::~StatusLine() {
  if (!shown)
    return;
  activeStatus().clear();
  llvm::errs() << "\r\x1b[K";
}

namespace {
/// addProgress' status line: the top-level pass that starts, over the
/// previous one (carriage return, erase to the end of the line).
struct ProgressInstrumentation : mlir::PassInstrumentation {
  ProgressInstrumentation(std::string stage, unsigned total)
      : stage(std::move(stage)), total(total) {}
  static bool topLevel(mlir::Operation *op) {
    return llvm::isa<mlir::ModuleOp>(op) && !op->getParentOp();
  }
  void runBeforePass(mlir::Pass *pass, mlir::Operation *op) override {
    if (!topLevel(op))
      return;
    StringRef name = pass->getArgument();
    llvm::errs() << "\r[llmc] " << stage << " " << ++started << "/" << total
                 << ": " << (name.empty() ? "nested passes" : name) << "\x1b[K";
    llvm::errs().flush();
  }
  void runAfterPass(mlir::Pass *pass, mlir::Operation *op) override {
    if (topLevel(op) && started == total)
      end();
  }
  void runAfterPassFailed(mlir::Pass *pass, mlir::Operation *op) override {
    if (topLevel(op))
      end();
  }
  void end() { llvm::errs() << "\r\x1b[K"; }
  std::string stage;
  unsigned total;
  unsigned started = 0;
};
} // namespace

void llmc::addProgress(mlir::PassManager &pm, StringRef stage) {
  if (!llvm::errs().is_displayed())
    return;
  unsigned total = llvm::size(pm.getPasses());
  pm.addInstrumentation(
      std::make_unique<ProgressInstrumentation>(stage.str(), total));
}
