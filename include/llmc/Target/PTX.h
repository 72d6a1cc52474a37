//===- PTX.h - PTX text and launch plans from lowered modules ---*- C++ -*-===//
//
// What the ptx backend takes out of llm-ptx-pipeline's output: the PTX text
// of the kernel module and the host function's launch plan.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_TARGET_PTX_H
#define LLMC_TARGET_PTX_H

#include "llmc/Runtime/CUDARuntime.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

namespace llmc {

/// The PTX text of the module's gpu.binary (an `assembly` object, as
/// gpu-module-to-binary{format=isa} writes it). Fails if there is none.
llvm::Expected<std::string> ptxAssembly(mlir::ModuleOp module);

/// Reads the host function `entry` of a lowered module (memref allocations,
/// views, constants, gpu.launch_func, return) as a launch plan. The first
/// `numInputs` arguments are graph inputs, the rest weights. Fails with one
/// line naming the first op it cannot execute.
llvm::Expected<LaunchPlan>
buildLaunchPlan(mlir::ModuleOp module, llvm::StringRef entry, size_t numInputs);

/// Registers the `--emit-ptx` translation: PTX text for a module lowered by
/// llm-ptx-pipeline, or for an llm-dialect module (the pipeline runs first).
void registerPTXTranslation();

} // namespace llmc

#endif // LLMC_TARGET_PTX_H
