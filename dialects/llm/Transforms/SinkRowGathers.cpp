//===- SinkRowGathers.cpp - compute on the rows before repeating them -----===//
//
// An op that computes each row of its result from the same row of its
// operands commutes with a gather of rows: f(gather(x, C)) ==
// gather(f(x), C). Where C repeats rows (more indices than x has rows), the
// op on x computes fewer rows. Hugging Face's eager mixture of experts, as
// the importer pads it, gathers each token's row once per routing choice
// (k * T rows from T) before every expert: sunk, each expert runs on the T
// tokens, and its result is gathered where it meets the per-choice gates.
//
//===----------------------------------------------------------------------===//
#include "FusionCount.h"
#include "RowWise.h"
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LLMSINKROWGATHERS
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// A gather of rows: along axis 0 of `data` [T, ..] at constant 1-D
/// indices `rows`, repeating some (more indices than T).
struct RowGather {
  Value data;
  DenseIntElementsAttr rows;
};

std::optional<RowGather> rowGather(Value value) {
  auto gather = value.getDefiningOp<GatherOp>();
  DenseIntElementsAttr rows;
  if (!gather || gather.getAxis() != 0 ||
      !matchPattern(gather.getIndices(), m_Constant(&rows)) ||
      rows.getType().getRank() != 1)
    return std::nullopt;
  auto data = cast<RankedTensorType>(gather.getData().getType());
  if (!data.hasStaticShape() || data.getRank() < 1 ||
      rows.getNumElements() <= data.getDimSize(0))
    return std::nullopt;
  return RowGather{gather.getData(), rows};
}

/// reshape(gather(x [1, T, ..], C, axis 1)) -> [R, ..]: the same rows as
/// gather(reshape(x) [T, ..], C, axis 0).
struct GatherRowsOfUnitBatch : CountingPattern<ReshapeOp> {
  using CountingPattern::CountingPattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto gather = op.getInput().getDefiningOp<GatherOp>();
    if (!gather || gather.getAxis() != 1)
      return failure();
    auto data = cast<RankedTensorType>(gather.getData().getType());
    auto indices = cast<RankedTensorType>(gather.getIndices().getType());
    auto result = cast<RankedTensorType>(op.getType());
    if (!data.hasStaticShape() || data.getRank() < 2 ||
        data.getDimSize(0) != 1 || indices.getRank() != 1 ||
        !result.hasStaticShape())
      return failure();
    SmallVector<int64_t> expected{indices.getDimSize(0)};
    llvm::append_range(expected, data.getShape().drop_front(2));
    if (result.getShape() != ArrayRef<int64_t>(expected))
      return failure();
    SmallVector<int64_t> flat(data.getShape().drop_front());
    Value rows = ReshapeOp::create(rewriter, op.getLoc(), data.clone(flat),
                                   gather.getData());
    rewriter.replaceOpWithNewOp<GatherOp>(op, rows, gather.getIndices(),
                                          rewriter.getI64IntegerAttr(0));
    ++count;
    return success();
  }
};

/// f(gather(x, C), ..) -> gather(f(x, ..), C) for a row-wise f whose
/// operands with rows are all gathered at the same repeating C.
struct SinkRowGatherPattern : RewritePattern {
  SinkRowGatherPattern(MLIRContext *context, FusionCount &count)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, context),
        count(count) {}

  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    SmallVector<unsigned> rowOperands;
    if (!isa_and_nonnull<LLMDialect>(op->getDialect()) ||
        !isRowWise(op, rowOperands) || rowOperands.empty())
      return failure();
    // One index set, gathering from sources of as many rows.
    auto rowsOf = [](Value value) {
      return cast<RankedTensorType>(value.getType()).getDimSize(0);
    };
    std::optional<RowGather> common;
    Value indices;
    for (unsigned index : rowOperands) {
      std::optional<RowGather> gather = rowGather(op->getOperand(index));
      if (!gather ||
          (common && (gather->rows != common->rows ||
                      rowsOf(gather->data) != rowsOf(common->data))))
        return failure();
      common = gather;
      indices = op->getOperand(index).getDefiningOp<GatherOp>().getIndices();
    }
    int64_t rows = cast<RankedTensorType>(common->data.getType()).getDimSize(0);
    // The op on the distinct rows: the gathered operands' sources, every
    // result with their rows.
    IRMapping mapping;
    for (unsigned index : rowOperands)
      mapping.map(op->getOperand(index),
                  op->getOperand(index).getDefiningOp<GatherOp>().getData());
    Operation *inner = rewriter.clone(*op, mapping);
    for (Value result : inner->getResults()) {
      auto type = cast<RankedTensorType>(result.getType());
      SmallVector<int64_t> shape(type.getShape());
      shape[0] = rows;
      result.setType(type.clone(shape));
    }
    if (auto slice = dyn_cast<SliceOp>(inner)) {
      SmallVector<int64_t> ends(slice.getEnds());
      ends[0] = rows;
      slice.setEnds(ends);
    }
    SmallVector<Value> gathered;
    for (Value result : inner->getResults())
      gathered.push_back(GatherOp::create(rewriter, op->getLoc(), result,
                                          indices,
                                          rewriter.getI64IntegerAttr(0)));
    rewriter.replaceOp(op, gathered);
    ++count;
    return success();
  }

  FusionCount &count;
};

struct SinkRowGathersPass
    : mlir::llm::impl::LLMSinkRowGathersBase<SinkRowGathersPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<GatherRowsOfUnitBatch>(&getContext(), views);
    patterns.add<SinkRowGatherPattern>(&getContext(), sunk);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    reportFusionCounts(
        getOperation(), getArgument(), remarks,
        {{"sunk", &numSunk, &sunk}, {"views", &numViews, &views}});
  }

  FusionCount sunk, views;
};
} // namespace
