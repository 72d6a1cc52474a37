//===- HostParallelLoops.cpp - outermost heavy loops run on threads -------===//
//
// Keeps the scf.parallel loops that async-parallel-for should split across
// the host's threads (outermost, enough work) and turns every other one into
// scf.for, so that each element is computed as the serial loops compute it;
// then keeps LLVM from compiling each outlined loop body twice.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"

namespace llmc {
#define GEN_PASS_DEF_LLMHOSTPARALLELLOOPS
#define GEN_PASS_DEF_LLMHOSTNOINLINEPARALLELBODIES
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

std::optional<int64_t> llmc::constantTripCount(Value lower, Value upper,
                                               Value step) {
  auto lo = getConstantIntValue(lower), hi = getConstantIntValue(upper),
       st = getConstantIntValue(step);
  if (!lo || !hi || !st || *st <= 0)
    return std::nullopt;
  return *hi > *lo ? (*hi - *lo + *st - 1) / *st : 0;
}

namespace {

/// The iterations of each of `loop`'s dims (one for a dim without a
/// constant trip count).
SmallVector<int64_t> dimTripCounts(scf::ParallelOp loop) {
  SmallVector<int64_t> trips;
  for (auto [lo, hi, st] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep()))
    trips.push_back(llmc::constantTripCount(lo, hi, st).value_or(1));
  return trips;
}

/// The iterations of all of `loop`'s dims (saturating).
int64_t tripCount(scf::ParallelOp loop) {
  int64_t trips = 1;
  for (int64_t dim : dimTripCounts(loop))
    trips = std::min<int64_t>(trips * dim, int64_t(1) << 40);
  return trips;
}

/// The scalar operations one iteration of `block` executes, loops with
/// constant trip counts multiplied out (saturating); an op on vectors counts
/// its lanes.
int64_t work(Block &block) {
  int64_t total = 0;
  for (Operation &op : block) {
    int64_t inner = 1, trips = 1;
    if (auto loop = dyn_cast<scf::ForOp>(op)) {
      trips = llmc::constantTripCount(loop.getLowerBound(),
                                      loop.getUpperBound(), loop.getStep())
                  .value_or(1);
      inner = work(*loop.getBody());
    } else if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
      trips = tripCount(loop);
      inner = work(*loop.getBody());
    } else {
      // An op on vectors (a register tile's) does the work of its lanes.
      for (Type type : op.getResultTypes())
        if (auto vector = dyn_cast<VectorType>(type))
          inner = std::max<int64_t>(inner, vector.getNumElements());
      for (Region &region : op.getRegions())
        for (Block &nested : region)
          inner += work(nested);
    }
    total = std::min<int64_t>(total + trips * inner, int64_t(1) << 50);
  }
  return total;
}

/// `loop` as a nest of scf.for in its dims' order; with `keep`, as that nest
/// with dim `keep` a one-dim scf.parallel (async-parallel-for then splits
/// that dim, each task computing whole slices of the others).
void toNestedFors(scf::ParallelOp loop,
                  std::optional<unsigned> keep = std::nullopt) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  SmallVector<Value> ivs;
  for (auto [dim, bounds] : llvm::enumerate(llvm::zip(
           loop.getLowerBound(), loop.getUpperBound(), loop.getStep()))) {
    auto [lo, hi, st] = bounds;
    if (keep && dim == *keep) {
      auto kept = scf::ParallelOp::create(b, loc, ValueRange{lo},
                                          ValueRange{hi}, ValueRange{st});
      ivs.push_back(kept.getInductionVars().front());
      b.setInsertionPoint(kept.getBody()->getTerminator());
      continue;
    }
    auto nested = scf::ForOp::create(b, loc, lo, hi, st);
    ivs.push_back(nested.getInductionVar());
    b.setInsertionPoint(nested.getBody()->getTerminator());
  }
  Block &body = *loop.getBody();
  for (auto [arg, iv] : llvm::zip(body.getArguments(), ivs))
    arg.replaceAllUsesWith(iv);
  // The ops before scf.parallel's (empty) scf.reduce terminator.
  Block *innermost = b.getInsertionBlock();
  innermost->getOperations().splice(b.getInsertionPoint(),
                                    body.getOperations(), body.begin(),
                                    std::prev(body.end()));
  loop.erase();
}

struct HostParallelLoopsPass
    : llmc::impl::LLMHostParallelLoopsBase<HostParallelLoopsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<scf::ParallelOp> serial, rows;
    getOperation()->walk([&](scf::ParallelOp loop) {
      // One that reduces to results is left as it is.
      if (loop.getNumResults() != 0)
        return;
      bool outermost = !loop->getParentOfType<scf::ForOp>() &&
                       !loop->getParentOfType<scf::ParallelOp>();
      int64_t trips = tripCount(loop);
      bool heavy = trips > 1 &&
                   trips * work(*loop.getBody()) >= static_cast<int64_t>(minWork);
      if (!outermost || !heavy)
        serial.push_back(loop);
      else if (loop.getNumLoops() > 1)
        rows.push_back(loop);
    });
    // The walk is post-order: inner loops come first.
    for (scf::ParallelOp loop : serial)
      toNestedFors(loop);
    // A multi-dim loop that stays parallel keeps one dim: the first with
    // iterations for every thread (the rows of a product; the heads of a
    // one-sequence attention, whose first dim is its batch of 1), else the
    // one with the most. async-parallel-for splits one dim as asked; over
    // several it rounds its block size up to whole inner rows but keeps the
    // block count of the unrounded size, and a surplus block, starting past
    // the end, wraps around and recomputes rows (a 130 x 72 product
    // accumulated rows 5 to 129 twice; seen with MLIR 22).
    for (scf::ParallelOp loop : rows) {
      SmallVector<int64_t> trips = dimTripCounts(loop);
      const int64_t *keep =
          llvm::find_if(trips, [&](int64_t n) { return n >= threads; });
      if (keep == trips.end())
        keep = llvm::max_element(trips);
      toNestedFors(loop, static_cast<unsigned>(keep - trips.begin()));
    }
  }
};

struct HostNoInlineParallelBodiesPass
    : llmc::impl::LLMHostNoInlineParallelBodiesBase<
          HostNoInlineParallelBodiesPass> {
  void runOnOperation() override {
    Builder b(&getContext());
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      // async-parallel-for's name for the bodies it outlines.
      if (!func.getSymName().starts_with("parallel_compute_fn"))
        continue;
      SmallVector<Attribute> passthrough;
      if (auto given = func->getAttrOfType<ArrayAttr>("passthrough"))
        llvm::append_range(passthrough, given);
      if (llvm::is_contained(passthrough, b.getStringAttr("noinline")))
        continue;
      passthrough.push_back(b.getStringAttr("noinline"));
      func->setAttr("passthrough", b.getArrayAttr(passthrough));
    }
  }
};

} // namespace
