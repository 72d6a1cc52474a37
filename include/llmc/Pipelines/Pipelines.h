//===- Pipelines.h - named pass pipelines, one per target -------*- C++ -*-===//
#ifndef LLMC_PIPELINES_PIPELINES_H
#define LLMC_PIPELINES_PIPELINES_H

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"

namespace llmc {

/// Graph-level cleanup every target starts from: canonicalize (folds shape
/// subgraphs), CSE.
void buildGraphCleanupPipeline(mlir::OpPassManager &pm);

/// The fusion passes in their order: llm-fuse-norms, llm-fuse-activations,
/// llm-fuse-attention, llm-fuse-dequantized-products (FP8 products unless
/// `fp8Products` is false), llm-fuse-matmul-epilogue, llm-fuse-qkv, then
/// cleanup.
void buildFusionPipeline(mlir::OpPassManager &pm, bool remarks = false,
                         bool fp8Products = true);

/// How the graph pipeline stores the constant rhs of float products.
enum class WeightLayout {
  /// As the model has them.
  AsExported,
  /// [.., N, K] (llm-k-major-weights): the ptx target's tensor cores load
  /// tiles contiguous along K.
  KMajor,
  /// [.., K, N] (llm-n-major-weights): the host's and the FPGA's loops
  /// vectorize (pipeline) along the output's N.
  NMajor,
};

/// The pass that stores weights in `layout`, or null for AsExported.
std::unique_ptr<mlir::Pass> createWeightLayoutPass(WeightLayout layout);

/// What every target starts from: graph cleanup, fusion (unless `fuse` is
/// false), the weights moved to `layout`, llm-outline-weights.
void buildGraphPipeline(mlir::OpPassManager &pm, bool fuse = true,
                        bool remarks = false,
                        WeightLayout layout = WeightLayout::AsExported);

/// The host path from the llm dialect to the LLVM dialect: the graph
/// pipeline, then convert-llm-to-linalg, bufferization, loops, LLVM.
/// The entry function gets `llvm.emit_c_interface`; results become trailing
/// out-parameters, so its C interface is
/// `_mlir_ciface_<entry>(inputs..., weights..., outputs...)`, each a pointer
/// to a memref descriptor with identity layout.
void buildHostPipeline(mlir::OpPassManager &pm);

/// The threads the host code splits its heavy parallel loops across:
/// LLMC_HOST_THREADS if it is a positive integer, else the machine's
/// hardware threads (at most 256); 1 in a process forked after a threaded
/// run (asyncRuntimeUsable()). One means serial loops.
unsigned hostThreads();

/// The part of buildHostPipeline after llm-outline-weights: what turns the
/// tensor-level module into the LLVM dialect.
void buildHostLoweringPipeline(mlir::OpPassManager &pm);

/// The FPGA path after llm-outline-weights: llm → linalg, bufferization as
/// on the host (results as out-parameters), affine loops with a parallel
/// innermost loop, then llm-hls-annotate for the FPGA description `target`
/// (a bundled name or a JSON path). lib/Target/HLS writes the result as C++.
void buildHLSLoweringPipeline(mlir::OpPassManager &pm,
                              llvm::StringRef target = "u280");
/// The graph pipeline followed by buildHLSLoweringPipeline.
void buildHLSPipeline(mlir::OpPassManager &pm,
                      llvm::StringRef target = "u280");

/// The npu path after llm-quantize (W8A8) and llm-outline-weights:
/// llm-npu-partition for the NPU description `target` (a bundled name or a
/// JSON path), then the host lowering of everything else. The result holds
/// the host code (LLVM dialect, calling the kernels through their C
/// interfaces) and the kernels' npu.program ops, which the driver takes out
/// and writes as .npubin (llm-translate --emit-npu-asm prints the first).
void buildNPULoweringPipeline(mlir::OpPassManager &pm,
                              llvm::StringRef target = "npu");

/// Specializes a graph for a target description (a bundled name or a JSON
/// file): llm-set-target, llm-tile with the cost model's tile sizes, cleanup.
/// The host pipeline runs the result unchanged (each tile is an llm op).
void buildTargetTilingPipeline(mlir::OpPassManager &pm,
                               llvm::StringRef target);

/// Registers `llm-host-pipeline` (and later targets') with PassPipelineRegistration.
void registerPipelines();

/// Every dialect and interface the tools need (llm, and upstream dialects
/// used by the lowerings), and the LLVM IR translations.
void registerAllLLMCDialects(mlir::DialectRegistry &registry);
/// All llmc passes (llm transforms, conversions) and the upstream ones the
/// pipelines use.
void registerAllLLMCPasses();

} // namespace llmc

#endif // LLMC_PIPELINES_PIPELINES_H
