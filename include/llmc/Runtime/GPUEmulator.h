//===- GPUEmulator.h - run a ptx launch plan on the CPU ---------*- C++ -*-===//
//
// The ptx backend's kernels, interpreted on the CPU at the gpu-dialect level
// (the IR handed to the NVVM lowering: gpu.func bodies of arith, math, scf,
// memref, vector, gpu, nvvm.mma.sync and llvm ops). Every thread of a block
// runs in lockstep over the same op, under an activity mask for divergent
// scf.if/scf.for; warp-collective ops (gpu.shuffle, nvvm.mma.sync) read the
// registers of the warp's 32 lanes with the fragment layouts of the PTX ISA.
//
// It is a checker as much as a runner: a load or store outside its memref,
// a shared-memory race (two threads touching the same byte between
// barriers, one of them writing), a barrier or warp-collective op reached
// by only part of a block or warp, or an op it does not know each stop the
// run with one line naming the kernel and the op. Shared memory and
// temporary buffers start as NaN bytes (0xff), so reading what no kernel
// wrote shows in the outputs.
//
// What it does not model: the NVVM/PTX code generation below the gpu
// dialect, timing, and the hardware's approximate math (ex2.approx, tanh)
// and summation order inside mma, which differ in the last bits.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_GPUEMULATOR_H
#define LLMC_RUNTIME_GPUEMULATOR_H

#include "llmc/Runtime/CUDARuntime.h"
#include "llmc/Runtime/Tensor.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <functional>
#include <memory>
#include <vector>

namespace llmc {

class GPUEmulator {
public:
  /// `kernels` holds the gpu.module whose gpu.func ops the plan's launches
  /// name; it must outlive the emulator. Fails if a launch names a kernel
  /// that is not there or the weights do not match the plan.
  static llvm::Expected<std::unique_ptr<GPUEmulator>>
  create(const LaunchPlan &plan, Signature signature,
         std::vector<Tensor> weights, mlir::ModuleOp kernels);
  ~GPUEmulator();

  /// Runs every launch of the plan on `inputs` and returns the outputs.
  llvm::Expected<std::vector<Tensor>> run(llvm::ArrayRef<Tensor> inputs);

  /// Counters of the last run, per kernel and summed: launches, blocks,
  /// thread-level ops, warp-level mma.sync, global and shared bytes read
  /// and written, block barriers.
  llvm::json::Object stats() const;

  /// Called about once a second during a long run.
  void setProgress(std::function<void(const llvm::Twine &)> callback);

private:
  GPUEmulator();
  struct Impl;
  std::unique_ptr<Impl> impl;
};

} // namespace llmc

#endif // LLMC_RUNTIME_GPUEMULATOR_H
