//===- HostLoopOrder.cpp - vectorizable loop order for the host path ------===//
//
// Chooses the loop order convert-linalg-to-loops will emit so that LLVM's
// loop vectorizer finds a contiguous, parallel innermost loop instead of a
// float reduction it may not reassociate.
//
//===----------------------------------------------------------------------===//
#include "Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace llmc {
#define GEN_PASS_DEF_LLMHOSTLOOPORDER
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {
/// Whether the body of `op` reads loop `loop`'s index only as the last index
/// of tensor.extract ops (a product of experts gathered in its body reads
/// W[e, k, n] so): with `loop` innermost those reads are contiguous.
bool readsIndexContiguously(linalg::LinalgOp op, unsigned loop) {
  WalkResult result = op->walk([&](linalg::IndexOp index) {
    if (index.getDim() != loop)
      return WalkResult::advance();
    for (OpOperand &use : index->getUses()) {
      auto extract = dyn_cast<tensor::ExtractOp>(use.getOwner());
      if (!extract || extract.getIndices().empty() ||
          use.get() != extract.getIndices().back() ||
          llvm::is_contained(extract.getIndices().drop_back(), use.get()))
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return !result.wasInterrupted();
}

/// The loop order that puts the output's contiguous loop innermost, or
/// nothing when the op already has a parallel innermost loop or no loop
/// qualifies.
std::optional<SmallVector<unsigned>> vectorizableOrder(linalg::LinalgOp op) {
  unsigned numLoops = op.getNumLoops();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (numLoops < 2 || iterators.back() != utils::IteratorType::reduction ||
      op.getNumDpsInits() != 1)
    return std::nullopt;
  AffineMap outputMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!outputMap.isProjectedPermutation() || outputMap.getNumResults() == 0)
    return std::nullopt;
  unsigned loop =
      cast<AffineDimExpr>(outputMap.getResults().back()).getPosition();
  if (iterators[loop] != utils::IteratorType::parallel)
    return std::nullopt;
  if (op.hasIndexSemantics() && !readsIndexContiguously(op, loop))
    return std::nullopt;
  for (AffineMap map : op.getIndexingMapsArray()) {
    if (!map.isFunctionOfDim(loop))
      continue;
    auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (!last || last.getPosition() != loop)
      return std::nullopt;
    // The loop must appear only as the last index, not also elsewhere.
    for (AffineExpr expr : map.getResults().drop_back())
      if (expr.isFunctionOfDim(loop))
        return std::nullopt;
  }
  SmallVector<unsigned> order;
  for (unsigned i = 0; i < numLoops; ++i)
    if (i != loop)
      order.push_back(i);
  order.push_back(loop);
  return order;
}

/// Whether one result of `map` is loop `loop` itself and no other result
/// reads it: a transpose of the input can then make that result last. The
/// others may be any expressions (grouped-query attention's K reads kv head
/// `h floordiv G`).
bool indexesByLoopOnce(AffineMap map, unsigned loop) {
  unsigned bare = 0;
  for (AffineExpr expr : map.getResults()) {
    if (auto dim = dyn_cast<AffineDimExpr>(expr);
        dim && dim.getPosition() == loop)
      ++bare;
    else if (expr.isFunctionOfDim(loop))
      return false;
  }
  return bare == 1;
}

/// How many iterations of `op` read each element of an input of static
/// type `type` on average (its product's rows, times the query heads of a
/// kv head): a transposed copy of the input costs about as much as that
/// many reads. Unknown (dynamic loops) counts as large.
int64_t reuse(linalg::LinalgOp op, RankedTensorType type) {
  int64_t iterations = 1;
  for (int64_t range : op.getStaticLoopRanges()) {
    if (ShapedType::isDynamic(range))
      return std::numeric_limits<int64_t>::max();
    iterations *= range;
  }
  return type.getNumElements() == 0 ? 0 : iterations / type.getNumElements();
}

/// The inputs that keep `op` from a vectorizable order only because the
/// output's contiguous loop is not their last dimension (A x B^T's B, for
/// one): static tensors that index one dimension by that loop and no other
/// by it. Empty when there are none or when some other obstacle remains.
SmallVector<OpOperand *> inputsToTranspose(linalg::LinalgOp op,
                                           int64_t minReuse) {
  unsigned numLoops = op.getNumLoops();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  // Contractions only (a product of inputs): a plain row reduction would
  // trade its scalar loop for a copy of its whole input.
  if (!op.hasPureTensorSemantics() || numLoops < 2 ||
      op.getNumDpsInputs() < 2 ||
      iterators.back() != utils::IteratorType::reduction ||
      op.getNumDpsInits() != 1 || op.hasIndexSemantics())
    return {};
  AffineMap outputMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!outputMap.isProjectedPermutation() || outputMap.getNumResults() == 0)
    return {};
  unsigned loop =
      cast<AffineDimExpr>(outputMap.getResults().back()).getPosition();
  if (iterators[loop] != utils::IteratorType::parallel)
    return {};
  SmallVector<OpOperand *> operands;
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(input);
    if (!map.isFunctionOfDim(loop))
      continue;
    auto type = dyn_cast<RankedTensorType>(input->get().getType());
    if (!indexesByLoopOnce(map, loop) || !type || !type.hasStaticShape())
      return {};
    if (map.getResults().back() == getAffineDimExpr(loop, op.getContext()))
      continue;
    // One copy too costly leaves the others pointless.
    if (reuse(op, type) < minReuse)
      return {};
    operands.push_back(input);
  }
  return operands;
}

/// Replaces each input of `operands` by a copy transposed so that the
/// output's contiguous loop is its last dimension, and adjusts its map. The
/// copy costs one pass over the input; the product then vectorizes.
void transposeInputs(RewriterBase &rewriter, linalg::GenericOp op,
                     ArrayRef<unsigned> positions) {
  AffineMap outputMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  unsigned loop =
      cast<AffineDimExpr>(outputMap.getResults().back()).getPosition();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  rewriter.setInsertionPoint(op);
  for (unsigned position : positions) {
    OpOperand &input = op->getOpOperand(position);
    AffineMap map = maps[position];
    SmallVector<int64_t> permutation;
    int64_t last = -1;
    for (auto [i, expr] : llvm::enumerate(map.getResults())) {
      if (expr == getAffineDimExpr(loop, op.getContext()))
        last = i;
      else
        permutation.push_back(i);
    }
    permutation.push_back(last);
    auto type = cast<RankedTensorType>(input.get().getType());
    SmallVector<int64_t> shape;
    SmallVector<AffineExpr> results;
    for (int64_t i : permutation) {
      shape.push_back(type.getDimSize(i));
      results.push_back(map.getResult(i));
    }
    Location loc = op.getLoc();
    Value init = tensor::EmptyOp::create(rewriter, loc, shape,
                                         type.getElementType());
    Value transposed =
        linalg::TransposeOp::create(rewriter, loc, input.get(), init,
                                    permutation)
            ->getResult(0);
    rewriter.modifyOpInPlace(op, [&] { input.set(transposed); });
    maps[position] =
        AffineMap::get(map.getNumDims(), map.getNumSymbols(), results,
                       op.getContext());
  }
  rewriter.modifyOpInPlace(
      op, [&] { op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps)); });
}

/// `op` as a linalg.generic (itself, or a named op generalized in its
/// place), with the rewriter's insertion point just before it.
FailureOr<linalg::GenericOp> asGeneric(RewriterBase &rewriter,
                                       linalg::LinalgOp op) {
  rewriter.setInsertionPoint(op);
  if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation()))
    return generic;
  FailureOr<linalg::GenericOp> generic =
      linalg::generalizeNamedOp(rewriter, op);
  if (succeeded(generic))
    rewriter.setInsertionPoint(*generic);
  return generic;
}

struct HostLoopOrderPass : llmc::impl::LLMHostLoopOrderBase<HostLoopOrderPass> {
  using Base::Base;

  void runOnOperation() override {
    IRRewriter transposer(&getContext());
    // The ops and their operand numbers to transpose, found before any is
    // rewritten (generalizing a named op replaces it).
    SmallVector<std::pair<linalg::LinalgOp, SmallVector<unsigned>>>
        transposable;
    getOperation()->walk([&](linalg::LinalgOp op) {
      SmallVector<unsigned> positions;
      for (OpOperand *input : inputsToTranspose(op, minReuse))
        positions.push_back(input->getOperandNumber());
      if (!positions.empty())
        transposable.emplace_back(op, std::move(positions));
    });
    for (auto &[op, positions] : transposable) {
      if (FailureOr<linalg::GenericOp> generic = asGeneric(transposer, op);
          succeeded(generic))
        transposeInputs(transposer, *generic, positions);
    }

    if (failed(llmc::reorderLinalgLoops(getOperation(), vectorizableOrder)))
      signalPassFailure();
  }
};
} // namespace

LogicalResult llmc::reorderLinalgLoops(
    Operation *root,
    llvm::function_ref<std::optional<SmallVector<unsigned>>(linalg::LinalgOp)>
        order) {
  SmallVector<std::pair<linalg::LinalgOp, SmallVector<unsigned>>> candidates;
  root->walk([&](linalg::LinalgOp op) {
    if (std::optional<SmallVector<unsigned>> permutation = order(op))
      candidates.emplace_back(op, *permutation);
  });
  IRRewriter rewriter(root->getContext());
  for (auto &[op, permutation] : candidates) {
    FailureOr<linalg::GenericOp> generic = asGeneric(rewriter, op);
    if (failed(generic))
      continue;
    if (failed(linalg::interchangeGenericOp(rewriter, *generic, permutation)))
      return generic->emitOpError("could not reorder its loops");
  }
  return success();
}
