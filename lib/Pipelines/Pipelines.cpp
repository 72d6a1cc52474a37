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

#include "Passes.h"
#include "llm/IR/LLMDialect.h"
#include "llm/Transforms/Passes.h"
#include "llmc/Conversion/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void llmc::buildGraphCleanupPipeline(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void llmc::buildHostLoweringPipeline(OpPassManager &pm) {
  // Tensor level: llm → linalg on tensors; fusing elementwise producers into
  // their consumers only composes the scalar bodies, so it is exact.
  pm.addPass(createConvertLLMToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createLinalgElementwiseOpFusionPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLLMHostLoopOrder());
  pm.addPass(createLLMHostEntryABI());

  // Buffers: identity layouts at function boundaries so descriptors are
  // plain row-major; results become caller-allocated out-parameters (the
  // allocation of a returned buffer is replaced by the out-parameter, so no
  // copy is left unless a result aliases an argument or another result).
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
  bufferization::buildBufferDeallocationPipeline(pm);

  // Loops, then the LLVM dialect.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
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
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void llmc::buildFusionPipeline(OpPassManager &pm, bool remarks) {
  // Norms and activations first, so that attention and epilogue fusion see
  // single ops; attention before epilogues, so that the attention scale is
  // not absorbed into the Q·Kᵀ matmul first; projections last, so that they
  // merge with their epilogues.
  pm.addPass(llm::createLLMFuseNorms({remarks}));
  pm.addPass(llm::createLLMFuseActivations({remarks}));
  pm.addPass(llm::createLLMFuseAttention({remarks}));
  pm.addPass(llm::createLLMFuseMatMulEpilogue({remarks}));
  pm.addPass(llm::createLLMFuseQKV({remarks}));
  buildGraphCleanupPipeline(pm);
}

void llmc::buildGraphPipeline(OpPassManager &pm, bool fuse, bool remarks) {
  buildGraphCleanupPipeline(pm);
  if (fuse)
    buildFusionPipeline(pm, remarks);
  pm.addPass(llm::createLLMOutlineWeights());
}

void llmc::buildHostPipeline(OpPassManager &pm) {
  buildGraphPipeline(pm, /*fuse=*/true);
  buildHostLoweringPipeline(pm);
}

namespace {
struct FusionPipelineOptions
    : public PassPipelineOptions<FusionPipelineOptions> {
  Option<bool> remarks{*this, "remarks",
                       llvm::cl::desc("each fusion pass emits a remark with "
                                      "the number of rewrites of each kind"),
                       llvm::cl::init(false)};
};
} // namespace

void llmc::registerPipelines() {
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
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerPTXDialects(registry);
}

void llmc::registerAllLLMCPasses() {
  registerAllPasses();
  llm::registerLLMPasses();
  registerLLMCConversionPasses();
  registerLLMCPipelinesPasses();
}
