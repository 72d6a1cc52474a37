//===- HostHoistLoads.cpp - loop-invariant loads out of the host's loops --===//
//
// LLVM hoists a load out of a loop only when it can prove that no store of
// the loop writes it; without alias information on the memref descriptors'
// pointers it rarely can. A weight address computed from a load in the
// loop (an expert index) then keeps the loop scalar. This pass hoists such
// loads at the memref level, where the buffers are still named.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

namespace llmc {
#define GEN_PASS_DEF_LLMHOSTHOISTLOADS
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {

/// The buffer `memref` views: its source through view-like ops (subviews,
/// casts, reshapes), ending at an allocation or a block argument.
Value baseBuffer(Value memref) {
  while (auto view = memref.getDefiningOp<ViewLikeOpInterface>())
    memref = view.getViewSource();
  return memref;
}

bool isAllocation(Value base) {
  return base.getDefiningOp<memref::AllocOp>() ||
         base.getDefiningOp<memref::AllocaOp>();
}

bool isFunctionArgument(Value base) {
  auto argument = dyn_cast<BlockArgument>(base);
  return argument && argument.getOwner()->isEntryBlock() &&
         isa<FunctionOpInterface>(argument.getOwner()->getParentOp());
}

/// Whether the bases `a` and `b` are different buffers for certain: an
/// allocation is distinct from every other allocation and from the
/// function's arguments; two arguments may be one buffer.
bool distinctBuffers(Value a, Value b) {
  if (a == b)
    return false;
  auto named = [](Value base) {
    return isAllocation(base) || isFunctionArgument(base);
  };
  return named(a) && named(b) && (isAllocation(a) || isAllocation(b));
}

/// The bases of the buffers `loop` writes (or frees), or nullopt when it
/// holds an op whose writes cannot be named.
std::optional<SmallVector<Value>> writtenBases(Operation *loop) {
  SmallVector<Value> bases;
  WalkResult result = loop->walk([&](Operation *op) {
    if (op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance(); // its nested ops are visited
    auto interface = dyn_cast<MemoryEffectOpInterface>(op);
    if (!interface)
      return WalkResult::interrupt();
    SmallVector<MemoryEffects::EffectInstance> effects;
    interface.getEffects(effects);
    for (const MemoryEffects::EffectInstance &effect : effects) {
      if (!isa<MemoryEffects::Write, MemoryEffects::Free>(effect.getEffect()))
        continue;
      Value value = effect.getValue();
      if (!value || !isa<BaseMemRefType>(value.getType()))
        return WalkResult::interrupt();
      bases.push_back(baseBuffer(value));
    }
    return WalkResult::advance();
  });
  if (result.wasInterrupted())
    return std::nullopt;
  return bases;
}

/// Whether `loop` (scf.for or scf.parallel) runs its body at least once:
/// constant bounds with a positive trip count in every dimension.
bool runsAtLeastOnce(Operation *loop) {
  auto positive = [](ValueRange lower, ValueRange upper, ValueRange step) {
    for (auto [lo, hi, st] : llvm::zip_equal(lower, upper, step))
      if (llmc::constantTripCount(lo, hi, st).value_or(0) <= 0)
        return false;
    return true;
  };
  if (auto forOp = dyn_cast<scf::ForOp>(loop))
    return positive(forOp.getLowerBound(), forOp.getUpperBound(),
                    forOp.getStep());
  if (auto parallel = dyn_cast<scf::ParallelOp>(loop))
    return positive(parallel.getLowerBound(), parallel.getUpperBound(),
                    parallel.getStep());
  return false;
}

void hoistOutOf(LoopLikeOpInterface loop) {
  bool once = runsAtLeastOnce(loop);
  std::optional<SmallVector<Value>> written;
  if (once)
    written = writtenBases(loop);
  moveLoopInvariantCode(
      loop.getLoopRegions(),
      [&](Value value, Region *) { return loop.isDefinedOutsideOfLoop(value); },
      [&](Operation *op, Region *) {
        if (auto load = dyn_cast<memref::LoadOp>(op)) {
          // Integers (indices, the addresses' inputs) only: a float load
          // invariant in the innermost loop LLVM hoists itself in the
          // vectorized loop, behind its runtime alias checks.
          if (!written || !isa<IntegerType, IndexType>(load.getType()))
            return false;
          Value base = baseBuffer(load.getMemRef());
          return llvm::all_of(*written, [&](Value writtenBase) {
            return distinctBuffers(writtenBase, base);
          });
        }
        return isMemoryEffectFree(op) && isSpeculatable(op);
      },
      [&](Operation *op, Region *) { loop.moveOutOfLoop(op); });
}

struct HostHoistLoadsPass
    : llmc::impl::LLMHostHoistLoadsBase<HostHoistLoadsPass> {
  void runOnOperation() override {
    // Post-order: inner loops first, so that a load hoisted into an outer
    // loop's body is considered there next.
    SmallVector<LoopLikeOpInterface> loops;
    getOperation()->walk([&](Operation *op) {
      if (isa<scf::ForOp, scf::ParallelOp>(op))
        loops.push_back(cast<LoopLikeOpInterface>(op));
    });
    for (LoopLikeOpInterface loop : loops)
      hoistOutOf(loop);
  }
};

} // namespace
