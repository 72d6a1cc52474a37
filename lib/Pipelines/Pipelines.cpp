//===- Pipelines.cpp - named pass pipelines and tool registration ---------===//
//
// The pipelines `llm-opt` names and `llm-compile` runs, and the registration
// every tool shares. The host pipeline is the reference path: exact fp32
// (libm calls, no polynomial approximations), weights as arguments, outputs as
// runtime-allocated out-parameters.
//
//===----------------------------------------------------------------------===//
#include "llmc/Pipelines/Pipelines.h"
#include "llmc/Pipelines/PTXPipeline.h"
#include "llmc/Runtime/HostRuntime.h"

#include "Passes.h"
#include "llm/IR/LLMDialect.h"
#include "npu/IR/NPUDialect.h"
#include "llm/Transforms/Passes.h"
#include "llm/Transforms/TilingInterfaceImpl.h"
#include "llmc/Conversion/HLSPasses.h"
#include "llmc/Conversion/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/AsyncToLLVM/AsyncToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToFuncs/MathToFuncs.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Async/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

#include <algorithm>
#include <cstdlib>
#include <thread>

using namespace mlir;

void llmc::buildGraphCleanupPipeline(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// Buffers, as the host and HLS paths both want them: identity layouts at
/// function boundaries so descriptors are plain row-major; results become
/// caller-allocated out-parameters (the allocation of a returned buffer is
/// replaced by the out-parameter, so no copy is left unless a result aliases
/// an argument or another result).
static void addBufferizationToOutParams(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));
  bufferization::BufferResultsToOutParamsPassOptions outParamsOptions;
  outParamsOptions.hoistStaticAllocs = true;
  outParamsOptions.modifyPublicFunctions = true;
  pm.addPass(
      bufferization::createBufferResultsToOutParamsPass(outParamsOptions));
  pm.addPass(createCanonicalizerPass());
}

unsigned llmc::hostThreads() {
  // The machine's hardware threads unless LLMC_HOST_THREADS says otherwise
  // (0: the same; 1: serial code). With each distinct loop nest compiled
  // once (llm-host-outline-loops), threaded code costs LLVM no more than
  // serial code: GPT-2 small at 128 tokens on 2 cores compiles in about
  // 2.2 s either way and runs in 1.2 s instead of 1.9 s.
  //
  // A process forked after a threaded run has the async runtime's pool but
  // not its threads (a fork copies only the calling thread).
  if (!asyncRuntimeUsable())
    return 1;
  unsigned threads = 0;
  if (const char *value = std::getenv("LLMC_HOST_THREADS"))
    if (llvm::StringRef(value).getAsInteger(10, threads))
      threads = 0;
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  return std::min(threads, 256u);
}

void llmc::buildHostLoweringPipeline(OpPassManager &pm) {
  // Tensor level: llm → linalg on tensors; fusing elementwise producers into
  // their consumers only composes the scalar bodies, so it is exact. 16-bit
  // float products and reductions accumulate in f32.
  pm.addPass(llm::createLLMComputeInF32());
  pm.addPass(createConvertLLMToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLLMFuseElementwise());
  pm.addPass(createCSEPass());
  pm.addPass(createLLMHostLoopOrder());
  pm.addPass(createLLMHostEntryABI());
  // Each product its own destination: the zeros CSE merged across layers
  // would otherwise be copied into each.
  LLMGPUDistinctEmptyTensorsOptions distinct;
  distinct.fills = true;
  pm.addPass(createLLMGPUDistinctEmptyTensors(distinct));

  addBufferizationToOutParams(pm);
  bufferization::buildBufferDeallocationPipeline(pm);

  // Products on tiles of their output held in registers, summed in the
  // same order as the loops would.
  pm.addNestedPass<func::FuncOp>(createLLMHostRegisterTiles());
  // Transposed copies by blocks that stay in the cache.
  pm.addNestedPass<func::FuncOp>(createLLMHostTileTransposes());
  // Loops, then the LLVM dialect. The outermost parallel loops with enough
  // work run on the host's threads (async-parallel-for over the async
  // runtime's thread pool); each element is computed as the serial loops
  // compute it.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createCanonicalizerPass());
  // Loads invariant in a loop (a gathered expert's index) leave it, so that
  // the weight addresses they compute are invariant for LLVM too.
  pm.addNestedPass<func::FuncOp>(createLLMHostHoistLoads());
  unsigned threads = hostThreads();
  LLMHostParallelLoopsOptions kept;
  kept.threads = threads;
  pm.addPass(createLLMHostParallelLoops(kept));
  // Each distinct loop nest once: the layers of a model repeat theirs.
  pm.addPass(createLLMHostOutlineLoops());
  if (threads > 1) {
    AsyncParallelForPassOptions parallel;
    parallel.asyncDispatch = true;
    parallel.numWorkerThreads = threads;
    parallel.minTaskSize = 1;
    pm.addPass(createAsyncParallelForPass(parallel));
    pm.addPass(createLLMHostNoInlineParallelBodies());
    pm.addPass(createAsyncToAsyncRuntimePass());
    pm.addPass(createAsyncRuntimeRefCountingPass());
    pm.addPass(createAsyncRuntimeRefCountingOptPass());
    pm.addPass(createConvertAsyncToLLVMPass());
  } else {
    pm.addPass(createParallelForToNestedForsPass());
  }
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // Integer powers (math.ipowi) have no LLVM intrinsic: outline them as
  // functions of exact integer loops.
  pm.addPass(createConvertMathToFuncs());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(arith::createArithExpandOpsPass());
  // LLVM intrinsics where LLVM has them (it lowers them to libm calls),
  // libm for the rest (erf, ...); never the polynomial approximations.
  ConvertMathToLLVMPassOptions mathOptions;
  mathOptions.approximateLog1p = false;
  pm.addPass(createConvertMathToLLVMPass(mathOptions));
  pm.addPass(createConvertMathToLibmPass());
  // The register tiles' vector loads, stores and broadcasts.
  pm.addPass(createConvertVectorToLLVMPass());
  // Heap buffers through the host runtime's allocator, which reuses freed
  // blocks across runs (llmc::HostExecutable).
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  memrefOptions.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void llmc::buildFusionPipeline(OpPassManager &pm, bool remarks,
                               bool fp8Products) {
  // Norms and activations first, so that attention and epilogue fusion see
  // single ops; attention before epilogues, so that the attention scale is
  // not absorbed into the Q·Kᵀ matmul first; products of dequantized
  // operands before epilogues, which would fold their bias first;
  // projections last, so that they merge with their epilogues. Products
  // over one k become multiplies once attention (whose probabilities times
  // a single key's values are one) has been matched. Before all of them,
  // a padded mixture of experts is routed (a decoding step's experts read
  // through the routing) or its experts run on the distinct tokens (a
  // prompt's), routing first: it needs each expert on the padded rows.
  pm.addPass(llm::createLLMRouteExperts({remarks}));
  pm.addPass(llm::createLLMSinkRowGathers({remarks}));
  pm.addPass(llm::createLLMFuseNorms({remarks}));
  pm.addPass(llm::createLLMFuseActivations({remarks}));
  pm.addPass(llm::createLLMFuseAttention({remarks}));
  pm.addPass(llm::createLLMOuterProducts({remarks}));
  pm.addPass(llm::createLLMFuseDequantizedProducts({remarks, fp8Products}));
  pm.addPass(llm::createLLMFuseMatMulEpilogue({remarks}));
  pm.addPass(llm::createLLMFuseQKV({remarks}));
  buildGraphCleanupPipeline(pm);
}

std::unique_ptr<Pass> llmc::createWeightLayoutPass(WeightLayout layout) {
  switch (layout) {
  case WeightLayout::KMajor:
    return llm::createLLMKMajorWeights();
  case WeightLayout::NMajor:
    return llm::createLLMNMajorWeights();
  case WeightLayout::AsExported:
    break;
  }
  return nullptr;
}

void llmc::buildGraphPipeline(OpPassManager &pm, bool fuse, bool remarks,
                              WeightLayout layout) {
  buildGraphCleanupPipeline(pm);
  if (fuse)
    buildFusionPipeline(pm, remarks);
  if (std::unique_ptr<Pass> pass = createWeightLayoutPass(layout))
    pm.addPass(std::move(pass));
  pm.addPass(llm::createLLMOutlineWeights());
}

void llmc::buildHostPipeline(OpPassManager &pm) {
  buildGraphPipeline(pm, /*fuse=*/true, /*remarks=*/false,
                     WeightLayout::NMajor);
  buildHostLoweringPipeline(pm);
}

//===----------------------------------------------------------------------===//
// HLS (FPGA): the same linalg and bufferization as the host, then affine
// loops annotated with HLS directives; lib/Target/HLS writes them as C++.
//===----------------------------------------------------------------------===//

void llmc::buildHLSLoweringPipeline(OpPassManager &pm, StringRef target) {
  pm.addPass(llm::createLLMComputeInF32());
  pm.addPass(createConvertLLMToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLLMFuseElementwise());
  pm.addPass(createCSEPass());
  pm.addPass(createLLMHLSLoopOrder());
  LLMHostEntryABIOptions entry;
  entry.internalLinkage = false; // C++ has no use for LLVM's linkage
  pm.addPass(createLLMHostEntryABI(entry));
  addBufferizationToOutParams(pm);
  pm.addPass(createLLMHLSCopyToLinalg());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToAffineLoopsPass());
  // f16 arithmetic and math in f32, rounded to f16 after each op (the
  // host's semantics); the C++ keeps f16 values as bits.
  arith::ArithEmulateUnsupportedFloatsOptions emulate;
  emulate.sourceTypeStrs = {"f16", "bf16"};
  pm.addPass(arith::createArithEmulateUnsupportedFloats(emulate));
  pm.addPass(math::createMathExtendToSupportedTypes());
  pm.addPass(createLLMHLSRound16BitFloats());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  LLMHLSAnnotateOptions annotateOptions;
  annotateOptions.target = target.str();
  pm.addPass(createLLMHLSAnnotate(annotateOptions));
}

void llmc::buildHLSPipeline(OpPassManager &pm, StringRef target) {
  buildGraphPipeline(pm, /*fuse=*/true, /*remarks=*/false,
                     WeightLayout::NMajor);
  buildHLSLoweringPipeline(pm, target);
}

void llmc::buildNPULoweringPipeline(OpPassManager &pm, StringRef target) {
  LLMNPUPartitionOptions partition;
  partition.target = target.str();
  pm.addPass(createLLMNPUPartition(partition));
  buildHostLoweringPipeline(pm);
}

void llmc::buildTargetTilingPipeline(OpPassManager &pm, StringRef target) {
  llm::LLMSetTargetOptions setTarget;
  setTarget.target = target.str();
  pm.addPass(llm::createLLMSetTarget(setTarget));
  pm.addPass(llm::createLLMTile());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

namespace {
struct FusionPipelineOptions
    : public PassPipelineOptions<FusionPipelineOptions> {
  Option<bool> remarks{*this, "remarks",
                       llvm::cl::desc("each fusion pass emits a remark with "
                                      "the number of rewrites of each kind"),
                       llvm::cl::init(false)};
};

struct HLSPipelineOptions : public PassPipelineOptions<HLSPipelineOptions> {
  Option<std::string> target{
      *this, "target",
      llvm::cl::desc("FPGA description (a bundled name or a JSON file)"),
      llvm::cl::init("u280")};
};

struct NPUPipelineOptions : public PassPipelineOptions<NPUPipelineOptions> {
  Option<std::string> target{
      *this, "target",
      llvm::cl::desc("NPU description (a bundled name or a JSON file)"),
      llvm::cl::init("npu")};
};

struct TargetTilingPipelineOptions
    : public PassPipelineOptions<TargetTilingPipelineOptions> {
  Option<std::string> target{
      *this, "target",
      llvm::cl::desc("a bundled target description (h100, u280, npu) or a "
                     "JSON file")};
};
} // namespace

void llmc::registerPipelines() {
  PassPipelineRegistration<TargetTilingPipelineOptions>(
      "llm-target-tiling-pipeline",
      "specialize the graph for a target: llm-set-target, llm-tile, cleanup",
      [](OpPassManager &pm, const TargetTilingPipelineOptions &options) {
        buildTargetTilingPipeline(pm, options.target);
      });
  PassPipelineRegistration<FusionPipelineOptions>(
      "llm-fusion-pipeline",
      "recognize norms, activations, attention, matmul epilogues and shared "
      "projections in exported graphs",
      [](OpPassManager &pm, const FusionPipelineOptions &options) {
        buildFusionPipeline(pm, options.remarks);
      });
  PassPipelineRegistration<FusionPipelineOptions>(
      "llm-graph-pipeline",
      "what every target starts from: cleanup, fusion, weights outlined",
      [](OpPassManager &pm, const FusionPipelineOptions &options) {
        buildGraphPipeline(pm, /*fuse=*/true, options.remarks);
      });
  PassPipelineRegistration<>(
      "llm-host-pipeline",
      "the host path: llm dialect to the LLVM dialect, weights as arguments, "
      "outputs as out-parameters, entry callable as _mlir_ciface_<name>",
      buildHostPipeline);
  PassPipelineRegistration<HLSPipelineOptions>(
      "llm-hls-pipeline",
      "the FPGA path: llm dialect to affine loops over static buffers with "
      "HLS directives (llm-translate --emit-hls-cpp writes the C++)",
      [](OpPassManager &pm, const HLSPipelineOptions &options) {
        buildHLSPipeline(pm, options.target);
      });
  PassPipelineRegistration<HLSPipelineOptions>(
      "llm-hls-lowering",
      "the HLS pipeline after llm-outline-weights",
      [](OpPassManager &pm, const HLSPipelineOptions &options) {
        buildHLSLoweringPipeline(pm, options.target);
      });
  PassPipelineRegistration<NPUPipelineOptions>(
      "llm-npu-lowering",
      "the npu path after llm-quantize and llm-outline-weights: quantized "
      "linear layers to NPU kernels (npu.program), the rest to host code "
      "that calls them",
      [](OpPassManager &pm, const NPUPipelineOptions &options) {
        buildNPULoweringPipeline(pm, options.target);
      });
  PassPipelineRegistration<>(
      "llm-host-lowering",
      "the host pipeline after llm-outline-weights: linalg, bufferization, "
      "loops, LLVM dialect",
      buildHostLoweringPipeline);
  registerPTXPipelines();
}

void llmc::registerAllLLMCDialects(DialectRegistry &registry) {
  // All upstream dialects and their interface models: the pipelines need
  // many external models (bufferization, deallocation, tiling, value bounds,
  // ConvertToLLVM), and a missing one fails late and obscurely. Dialects are
  // loaded lazily, so registering them all costs nothing at run time.
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<llm::LLMDialect>();
  llm::registerTilingInterfaceExternalModels(registry);
  registry.insert<npu::NPUDialect>();
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerPTXDialects(registry);
}

void llmc::registerAllLLMCPasses() {
  registerAllPasses();
  llm::registerLLMPasses();
  registerLLMCConversionPasses();
  registerLLMCHLSPasses();
  registerLLMCPipelinesPasses();
}
