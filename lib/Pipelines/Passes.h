//===- Passes.h - passes private to the target pipelines --------*- C++ -*-===//
#ifndef LLMC_LIB_PIPELINES_PASSES_H
#define LLMC_LIB_PIPELINES_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::linalg {
class LinalgOp;
} // namespace mlir::linalg

namespace llmc {
#define GEN_PASS_DECL
#include "Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "Passes.h.inc"

/// Interchanges the loops of every linalg op under `root` for which `order`
/// gives a permutation (a named op is generalized first). Fails, having
/// reported the op, when its loops cannot be reordered.
mlir::LogicalResult reorderLinalgLoops(
    mlir::Operation *root,
    llvm::function_ref<std::optional<llvm::SmallVector<unsigned>>(
        mlir::linalg::LinalgOp)>
        order);

/// The constant trip count of a loop dim from `lower` to `upper` by `step`
/// (0 when it runs no iteration), or nullopt when one of them is not a
/// constant or the step is not positive.
std::optional<int64_t> constantTripCount(mlir::Value lower, mlir::Value upper,
                                         mlir::Value step);
} // namespace llmc

#endif // LLMC_LIB_PIPELINES_PASSES_H
