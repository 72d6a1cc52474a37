//===- PTXPipeline.h - the ptx backend's pass pipeline ----------*- C++ -*-===//
#ifndef LLMC_PIPELINES_PTXPIPELINE_H
#define LLMC_PIPELINES_PTXPIPELINE_H

#include "mlir/Pass/PassManager.h"

#include <string>

namespace llmc {

struct PTXPipelineOptions {
  /// Target description (bundled name or JSON path) that sizes the tiles.
  std::string targetDesc = "h100";
  /// Tensor-core input type: bf16 or f16.
  std::string mmaType = "bf16";
  /// CUDA architecture the PTX is generated for.
  std::string chip = "sm_90";
  /// NVPTX features: the PTX ISA version. 8.0 runs on CUDA 12.0 drivers;
  /// FP8 products (mma.sync ... e4m3) need 8.4 (CUDA 12.4).
  std::string features = "+ptx80";
};

/// After llm-outline-weights: fused kernels, the generic path (linalg →
/// parallel loops → gpu.launch), one kernel module lowered to NVVM and
/// serialized to PTX text (gpu.binary with an `assembly` object). The host
/// function is left as memref allocations and gpu.launch_func ops, the
/// launch plan the CUDA runner executes.
void buildPTXLoweringPipeline(mlir::OpPassManager &pm,
                              const PTXPipelineOptions &options = {});
/// Its two halves. The first ends with the kernels in one gpu.module at the
/// gpu-dialect level (arith, scf, memref, vector, gpu, nvvm.mma.sync), the
/// IR the GPU emulator (llmc/Runtime/GPUEmulator.h) runs; the second lowers
/// them to NVVM and serializes the PTX.
void buildPTXKernelPipeline(mlir::OpPassManager &pm,
                            const PTXPipelineOptions &options = {});
void buildPTXCodegenPipeline(mlir::OpPassManager &pm,
                             const PTXPipelineOptions &options = {});
/// The whole ptx path from the llm dialect: graph pipeline, then the above.
void buildPTXPipeline(mlir::OpPassManager &pm,
                      const PTXPipelineOptions &options = {});
/// Registers `llm-ptx-pipeline` and `llm-ptx-lowering`.
void registerPTXPipelines();
/// Translations of the GPU and NVVM dialects to LLVM IR and the NVVM target
/// attribute's serialization, which gpu-module-to-binary needs.
void registerPTXDialects(mlir::DialectRegistry &registry);

} // namespace llmc

#endif // LLMC_PIPELINES_PTXPIPELINE_H
