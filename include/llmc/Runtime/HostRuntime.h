//===- HostRuntime.h - run host-lowered models in-process -------*- C++ -*-===//
//
// Compiles a module lowered by the host pipeline (LLVM dialect) with MLIR's
// ExecutionEngine and calls its entry function on host tensors. Weights are
// passed by pointer: they are never copied into the compiled code.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_HOSTRUNTIME_H
#define LLMC_RUNTIME_HOSTRUNTIME_H

#include "llmc/Runtime/Tensor.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <atomic>
#include <memory>
#include <vector>

#include <unistd.h>

namespace mlir {
class ExecutionEngine;
}

namespace llmc {

/// How hard the compilers of the code this machine's CPU runs optimize: the
/// host JIT (LLVM's optimizer at this level; instruction selection None,
/// Less, then Aggressive from 2 on) and the HLS C-simulation build (g++
/// -O<level>). `LLMC_CPU_OPT_LEVEL` sets it (0 to 3, default 2). Results
/// do not depend on it (no fast-math, no contraction): level 0 compiles
/// several times faster and runs slower, which suits small test models.
/// An unset or empty variable is the default; anything else not 0-3 is an
/// error naming the variable.
llvm::Expected<unsigned> cpuOptLevel();

/// The process whose code has handed work to the async runtime's worker
/// threads (a threaded run), or 0. A process forked after that inherits the
/// runtime's state, its pool included, but not its threads: work handed to
/// them would never run, and the child would wait for it forever.
inline std::atomic<long> &asyncRuntimeOwner() {
  static std::atomic<long> owner{0};
  return owner;
}
/// Whether this process may hand work to the async runtime's threads: no
/// process has yet, or this one has. hostThreads() is 1 where it may not.
inline bool asyncRuntimeUsable() {
  long owner = asyncRuntimeOwner().load();
  return owner == 0 || owner == static_cast<long>(::getpid());
}

/// A buffer from the host code's heap, whose memref.alloc and memref.dealloc
/// (`_mlir_memref_to_llvm_alloc` and `_mlir_memref_to_llvm_free`) keep freed
/// blocks for the next run. A buffer external code hands to the host code
/// to free (an NPU kernel's result) must come from here; the pointer is
/// 16-byte aligned.
void *allocateHostBuffer(uint64_t size);

class HostExecutable {
public:
  /// JIT-compiles `loweredModule` (the host pipeline's output). `weights`
  /// holds one tensor per `signature.weights` entry, in that order; their
  /// bytes must outlive the executable (views keep their owners alive).
  /// `symbols` resolves external functions the code calls (name, address),
  /// e.g. the NPU kernels of the npu target.
  static llvm::Expected<std::unique_ptr<HostExecutable>>
  create(mlir::ModuleOp loweredModule, Signature signature,
         std::vector<Tensor> weights,
         llvm::ArrayRef<std::pair<std::string, void *>> symbols = {});
  ~HostExecutable();

  /// Runs the model on inputs already bound in argument order (see
  /// bindInputs); returns the outputs named and shaped as the signature says.
  llvm::Expected<std::vector<Tensor>> run(llvm::ArrayRef<Tensor> inputs);

  const Signature &signature() const { return sig; }

private:
  HostExecutable() = default;
  std::unique_ptr<mlir::ExecutionEngine> engine;
  Signature sig;
  std::vector<Tensor> weights;
  /// The code hands work to the async runtime's threads (hostThreads > 1).
  bool usesAsyncRuntime = false;
};

} // namespace llmc

#endif // LLMC_RUNTIME_HOSTRUNTIME_H
