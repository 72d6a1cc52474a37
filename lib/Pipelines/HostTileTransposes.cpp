//===- HostTileTransposes.cpp - transposed copies by blocks on the host ---===//
//
// A copy that permutes the input's last, unit-stride dim away from the
// output's last becomes loops that write the output row by row and read the
// input a column at a time: every read touches another cache line, and a
// large input's lines leave the cache before the next column reads them
// again. Tiled into square blocks, each block's lines stay in the cache.
//
//===----------------------------------------------------------------------===//
#include "Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace llmc {
#define GEN_PASS_DEF_LLMHOSTTILETRANSPOSES
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {

/// The loop that reads the input's last dim, when `op` copies its one
/// input (on buffers of static shape, at least `minElements` of them) to its
/// output in another order whose last dim it is not; else nothing. The
/// output is written in loop order.
std::optional<unsigned> transposedLoop(linalg::LinalgOp op,
                                       int64_t minElements) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 1 ||
      op.getNumDpsInits() != 1 || op.getNumReductionLoops() != 0 ||
      op.getNumLoops() < 2 || op.hasIndexSemantics())
    return std::nullopt;
  // The body yields the input element as it is.
  Block &body = op->getRegion(0).front();
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!yield || yield.getNumOperands() != 1 ||
      yield.getOperand(0) != body.getArgument(0))
    return std::nullopt;
  OpOperand *input = op.getDpsInputOperand(0);
  auto inputType = dyn_cast<MemRefType>(input->get().getType());
  auto outputType =
      dyn_cast<MemRefType>(op.getDpsInitOperand(0)->get().getType());
  // Small copies stay as they are: their lines fit in the cache.
  if (!inputType || !outputType || !inputType.hasStaticShape() ||
      !outputType.hasStaticShape() || outputType.getNumElements() < minElements)
    return std::nullopt;
  AffineMap inputMap = op.getMatchingIndexingMap(input);
  AffineMap outputMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!outputMap.isIdentity() || !inputMap.isPermutation())
    return std::nullopt;
  unsigned loop =
      cast<AffineDimExpr>(inputMap.getResults().back()).getPosition();
  if (loop == op.getNumLoops() - 1)
    return std::nullopt;
  return loop;
}

struct HostTileTransposesPass
    : llmc::impl::LLMHostTileTransposesBase<HostTileTransposesPass> {
  using Base::Base;

  void runOnOperation() override {
    if (tileSize < 1) {
      getOperation()->emitError(
          "llm-host-tile-transposes: tile-size must be at least 1");
      return signalPassFailure();
    }
    SmallVector<std::pair<linalg::LinalgOp, unsigned>> copies;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (std::optional<unsigned> loop = transposedLoop(op, minElements))
        copies.emplace_back(op, *loop);
    });
    IRRewriter rewriter(&getContext());
    for (auto [op, loop] : copies) {
      // Blocks of tile-size x tile-size over the two loops; every other
      // loop by 1, so that a block is all the innermost loops cover.
      unsigned numLoops = op.getNumLoops();
      SmallVector<int64_t> sizes(numLoops, 1);
      sizes[loop] = tileSize;
      sizes[numLoops - 1] = tileSize;
      linalg::LinalgTilingOptions options;
      options.setTileSizes(sizes).setLoopType(
          linalg::LinalgTilingLoopType::ParallelLoops);
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::TiledLinalgOp> tiled =
          linalg::tileLinalgOp(rewriter, op, options);
      if (failed(tiled)) {
        op.emitOpError("llm-host-tile-transposes: could not tile");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
