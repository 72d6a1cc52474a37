//===- PTXPipeline.cpp - the ptx backend's pass pipeline ------------------===//
//
// llm → fused GPU kernels and the generic loop path → one gpu.module → NVVM →
// PTX text. The host side stays at the memref level: the CUDA runner reads
// its allocations and launches as a plan (lib/Target/PTX/LaunchPlan.cpp).
//
//===----------------------------------------------------------------------===//
#include "llmc/Pipelines/PTXPipeline.h"

#include "Passes.h"

#include "llm/Transforms/Passes.h"
#include "llmc/Conversion/Passes.h"
#include "llmc/Pipelines/Pipelines.h"
#include "llmc/Target/TargetDescription.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void llmc::buildPTXKernelPipeline(OpPassManager &pm,
                                  const PTXPipelineOptions &options) {
  // Tensor level: fused kernels first, everything else through linalg.
  ConvertLLMToGPUOptions gpuOptions;
  gpuOptions.targetDesc = options.targetDesc;
  gpuOptions.mmaType = options.mmaType;
  // Hopper's arch-specific target has the warpgroup tensor cores.
  gpuOptions.wgmma = options.chip == "sm_90a";
  pm.addPass(createConvertLLMToGPU(gpuOptions));
  // What the fused kernels left: 16-bit float reductions accumulate in f32.
  pm.addPass(llm::createLLMComputeInF32());
  pm.addPass(createLLMConcatSlicesAsGather());
  pm.addPass(createConvertLLMToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLinalgGeneralizeNamedOpsPass());
  pm.addPass(createLinalgElementwiseOpFusionPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLLMGPULoopOrder());
  // A result inserted into a slice of a larger tensor (a concat's part: a
  // decoding step's new keys and values appended to the cache) is computed
  // in that slice: its kernel writes there, with no copy launched after it.
  // Each concat needs a destination of its own for that (CSE merged them).
  pm.addPass(createLLMGPUDistinctEmptyTensors());
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  // Last before bufferization: CSE and the canonicalizer have moved the
  // launches' reads (to_buffer) away from the launches.
  pm.addPass(createLLMGPUAnchorLaunchReads());

  // Buffers with identity layouts at the function boundary; every buffer is
  // a device buffer of the plan.
  bufferization::OneShotBufferizePassOptions bufferizeOptions;
  bufferizeOptions.bufferizeFunctionBoundaries = true;
  bufferizeOptions.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferizeOptions));
  // CSE first: a result computed in its slice leaves a copy of that slice
  // onto itself (two equal subviews), which the canonicalizer then drops.
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());

  // Generic path: parallel loops → one thread per iteration.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLLMGPUMapLoops());
  // Runs of small independent loops (a decoding step's cache copies and
  // rotary embeddings) as one launch each; then chains of launches of a
  // block or less (a router's top-k rounds) as one block, within the
  // description's threads per block.
  LLMGPUFuseLaunchesOptions fuseOptions;
  fuseOptions.chainThreads = 1024;
  if (!options.targetDesc.empty()) {
    if (auto desc = TargetDescription::load(options.targetDesc)) {
      if (std::optional<double> most =
              desc->number("gpu.max_threads_per_block"))
        fuseOptions.chainThreads =
            std::min<int64_t>(1024, static_cast<int64_t>(*most));
    } else {
      llvm::consumeError(desc.takeError());
    }
  }
  pm.addNestedPass<func::FuncOp>(createLLMGPUFuseLaunches(fuseOptions));
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createLLMGPUMergeKernelModules());
  pm.addPass(createLLMGPUDedupKernels());
  pm.addPass(createLowerAffinePass());
}

void llmc::buildPTXCodegenPipeline(OpPassManager &pm,
                                   const PTXPipelineOptions &options) {
  // Kernels → NVVM → PTX. Memrefs cross the kernel ABI as bare pointers
  // (static shapes), so a launch's arguments are device pointers and scalars.
  GpuNVVMAttachTargetOptions targetOptions;
  targetOptions.chip = options.chip;
  targetOptions.features = options.features;
  targetOptions.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(targetOptions));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createSCFToControlFlowPass());
  kernels.addPass(memref::createExpandStridedMetadataPass());
  kernels.addPass(createLowerAffinePass());
  kernels.addPass(createLLMGPUExpandMath());
  ConvertGpuOpsToNVVMOpsOptions nvvmOptions;
  nvvmOptions.useBarePtrCallConv = true;
  nvvmOptions.indexBitwidth = 64;
  kernels.addPass(createConvertGpuOpsToNVVMOps(nvvmOptions));
  // Dynamic shared memory (tiles past 48 KiB) as NVPTX's extern declaration.
  kernels.addPass(createLLMGPUExternDynamicShared());
  // NVVM ops without an LLVM intrinsic (wgmma.mma_async) become inline PTX.
  kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  kernels.addPass(createLLMGPUCheckNVVM());
  // The target's data layout before the translation: i64 accesses aligned
  // to 8 bytes, not LLVM's default 4 (two 32-bit loads each).
  kernels.addPass(createLLMGPUDataLayout());
  GpuModuleToBinaryPassOptions binaryOptions;
  binaryOptions.compilationTarget = "isa";
  // No libdevice is linked, whatever CUDA toolkit CUDA_HOME points at: the
  // PTX must not depend on the machine that compiled it, and the kernels
  // make no libdevice calls (llm-gpu-expand-math; ptxAssembly refuses PTX
  // that still does). A toolkit path without nvvm/libdevice says so.
  binaryOptions.toolkitPath = "/nonexistent/llmc-links-no-libdevice";
  pm.addPass(createGpuModuleToBinaryPass(binaryOptions));
  // The same model gives the same bytes: no serialization times.
  pm.addPass(createLLMGPUDropCompileTimes());
  pm.addPass(createCanonicalizerPass());
}

void llmc::buildPTXLoweringPipeline(OpPassManager &pm,
                                    const PTXPipelineOptions &options) {
  buildPTXKernelPipeline(pm, options);
  buildPTXCodegenPipeline(pm, options);
}

void llmc::buildPTXPipeline(OpPassManager &pm,
                            const PTXPipelineOptions &options) {
  buildGraphPipeline(pm, /*fuse=*/true, /*remarks=*/false,
                     WeightLayout::KMajor);
  buildPTXLoweringPipeline(pm, options);
}

namespace {
struct PTXOptions : public PassPipelineOptions<PTXOptions> {
  Option<std::string> targetDesc{
      *this, "target-desc",
      llvm::cl::desc("target description that sizes the tiles"),
      llvm::cl::init("h100")};
  Option<std::string> mmaType{*this, "mma-type",
                              llvm::cl::desc("tensor-core input: bf16 or f16"),
                              llvm::cl::init("bf16")};
  Option<std::string> chip{
      *this, "chip",
      llvm::cl::desc("CUDA architecture (sm_90a: matmuls on wgmma)"),
      llvm::cl::init("sm_90")};
  Option<std::string> features{
      *this, "features",
      llvm::cl::desc("NVPTX features (+ptx84 for FP8 products)"),
      llvm::cl::init("+ptx80")};
  llmc::PTXPipelineOptions get() const {
    return {targetDesc, mmaType, chip, features};
  }
};
} // namespace

void llmc::registerPTXPipelines() {
  PassPipelineRegistration<PTXOptions>(
      "llm-ptx-pipeline",
      "the ptx path: graph pipeline, fused tensor-core kernels, generic "
      "loops on the GPU, NVVM, PTX text in a gpu.binary",
      [](OpPassManager &pm, const PTXOptions &options) {
        buildPTXPipeline(pm, options.get());
      });
  PassPipelineRegistration<PTXOptions>(
      "llm-ptx-lowering", "the ptx pipeline after llm-outline-weights",
      [](OpPassManager &pm, const PTXOptions &options) {
        buildPTXLoweringPipeline(pm, options.get());
      });
}

void llmc::registerPTXDialects(DialectRegistry &registry) {
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
}
