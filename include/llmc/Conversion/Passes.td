//===- Passes.td - conversions out of the llm dialect ------*- tablegen -*-===//
#ifndef LLMC_CONVERSION_PASSES_TD
#define LLMC_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertLLMToLinalg : Pass<"convert-llm-to-linalg", "::mlir::ModuleOp"> {
  let summary = "lower llm ops to linalg, tensor, arith and math on tensors";
  let description = [{
    The common path to loops: every llm op becomes linalg.generic (or a named
    linalg op) and tensor ops, exact in fp32 (no fast-math approximations).
    An op it cannot lower is an error at the op, never a silent skip.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"
  ];
}


//===----------------------------------------------------------------------===//
// ptx backend (lib/Conversion/LLMToGPU)
//===----------------------------------------------------------------------===//

def ConvertLLMToGPU : Pass<"convert-llm-to-gpu", "::mlir::ModuleOp"> {
  let summary = "lower matmul, attention, norms and softmax to fused GPU kernels";
  let description = [{
    Each fp32 llm.matmul (with its epilogue), llm.attention, llm.layer_norm,
    llm.rms_norm and last-axis llm.softmax of static shape becomes a
    gpu.launch_func of a kernel generated into `gpu.module @llm_kernels`:
    tensor-core matmuls (nvvm.mma.sync m16n8k16, bf16 or f16 inputs, fp32
    accumulation) tiled by block in shared memory and by warp, a
    FlashAttention-style attention (online softmax over key blocks, causal
    masks, grouped kv heads) and one-block-per-row norms and softmax with
    warp-shuffle reductions. Operands cross into buffers with
    bufferization.to_buffer, results come back with to_tensor; every other op
    is left for the generic path (convert-llm-to-linalg).
  }];
  let options = [
    Option<"targetDesc", "target-desc", "std::string", "\"h100\"",
           "target description (bundled name or JSON path) that sizes the "
           "tiles">,
    Option<"mmaType", "mma-type", "std::string", "\"bf16\"",
           "tensor-core input type: bf16 or f16">
  ];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect", "::mlir::NVVM::NVVMDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::memref::MemRefDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::vector::VectorDialect", "::mlir::scf::SCFDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"
  ];
}

def LLMGPUMapLoops : Pass<"llm-gpu-map-loops", "::mlir::ModuleOp"> {
  let summary = "map host-side parallel loops and copies to gpu.launch";
  let description = [{
    The generic path of the ptx backend: every outermost scf.parallel (from
    convert-linalg-to-parallel-loops) and every memref.copy outside a kernel
    becomes a gpu.launch over a 1-D grid of 256-thread blocks, one thread per
    iteration (the iteration space is linearized); reduction loops nested in
    the body stay sequential per thread. Bounds must be static.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect"];
}

def LLMGPUMergeKernelModules
    : Pass<"llm-gpu-merge-kernel-modules", "::mlir::ModuleOp"> {
  let summary = "move every kernel into one gpu.module";
  let description = [{
    gpu-kernel-outlining makes one gpu.module per kernel; one module gives one
    PTX file. Kernels are renamed after their module (unique) and launches
    are updated.
  }];
}

def LLMGPUExpandMath : Pass<"llm-gpu-expand-math", "::mlir::gpu::GPUModuleOp"> {
  let summary = "math ops in kernels without libdevice calls";
  let description = [{
    libdevice functions are linked into the PTX only when LLVM inlines them;
    in large kernel modules some calls stay and leave unresolved externs
    that ptxas rejects. Transcendentals become MLIR's polynomial
    approximations (tanh, erf, exp, log, ...), sqrt and rsqrt the IEEE
    sqrt.rn instruction, exp2 ex2.approx.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect", "::mlir::vector::VectorDialect"];
}

def LLMAttentionHostReference
    : Pass<"llm-attention-host-reference", "::mlir::ModuleOp"> {
  let summary = "run the ptx attention kernel's algorithm on the host";
  let description = [{
    Replaces each fp32 llm.attention that convert-llm-to-gpu would lower
    with a call to a host function of the same algorithm (query and key
    blocks of the kernel's sizes, causal key bound per query block, block
    maximum and online rescaling in exp2, grouped kv heads, zero rows for
    rows without a valid key) in fp32 scalar loops, so that its numbers can
    be checked against the reference attention without a GPU.
  }];
  let dependentDialects = [
    "::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect",
    "::mlir::bufferization::BufferizationDialect", "::mlir::scf::SCFDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect"
  ];
}

#endif // LLMC_CONVERSION_PASSES_TD
