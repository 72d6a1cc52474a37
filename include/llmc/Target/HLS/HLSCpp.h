//===- HLSCpp.h - HLS C++ kernels, testbenches and checks -------*- C++ -*-===//
//
// The FPGA backend's target side: the emitter that turns the output of the
// HLS pipeline (annotated affine loops over static memrefs) into one
// synthesizable Vitis-style C++ kernel, the C-simulation testbench that runs
// it on .npy files, a checker of the synthesizable subset, and the schedule
// estimates the annotate pass recorded.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_TARGET_HLS_HLSCPP_H
#define LLMC_TARGET_HLS_HLSCPP_H

#include "llmc/Runtime/Tensor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llmc {

/// Writes the module's public function (one per model) as an HLS C++ kernel:
/// fixed-size array ports with m_axi/s_axilite interfaces, static buffers,
/// named loops with PIPELINE/UNROLL/ARRAY_PARTITION pragmas, comments naming
/// the ONNX nodes. An op or type outside the synthesizable subset is an error
/// at the op.
mlir::LogicalResult emitHLSCpp(mlir::ModuleOp module, llvm::raw_ostream &os);

/// The kernel's C++ declaration (`void NAME(const float x[16], ...)`).
mlir::FailureOr<std::string> hlsKernelPrototype(mlir::func::FuncOp func);

/// The entry function the emitter writes: the module's public function.
mlir::FailureOr<mlir::func::FuncOp> hlsTopFunction(mlir::ModuleOp module);

/// A C-simulation `main` for the kernel: `csim WEIGHTS.bin OUTDIR IN.npy...`
/// reads the inputs (signature order, dtype and shape checked), maps the
/// weights at `weightFileOffsets` (llmc/Runtime/HLSRuntime.h), calls the kernel and writes each output as
/// OUTDIR/NAME.npy. Exits 2 with one line on bad input.
mlir::LogicalResult emitHLSTestbench(mlir::ModuleOp module,
                                     const Signature &signature,
                                     llvm::raw_ostream &os);

/// Checks C++ kernel source against the synthesizable subset: no dynamic
/// allocation, recursion, unbounded loops (while, do, goto, or a for loop
/// whose bounds are not integer literals), standard containers, arrays of
/// non-literal size or pointers; every innermost loop starts with
/// `#pragma HLS PIPELINE II=1`. Returns one message per problem
/// ("line N: ...").
std::vector<std::string> checkHLSCpp(llvm::StringRef source);

/// The schedule estimates the annotate pass recorded: `kernels` (one row per
/// loop nest: name, nodes, stage, ii and unroll of its pipelined innermost
/// loops, cycles, dsp, bram_36k, uram), `totals`, the
/// resources of the description and whether they fit, and `latency_s`
/// (total cycles / clock).
llvm::json::Object hlsEstimates(mlir::ModuleOp module,
                                const llvm::json::Object *fpgaResources);

/// Registers `--emit-hls-cpp` with mlir-translate.
void registerHLSTranslations();

} // namespace llmc

#endif // LLMC_TARGET_HLS_HLSCPP_H
