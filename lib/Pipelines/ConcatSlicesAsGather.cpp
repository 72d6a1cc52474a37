//===- ConcatSlicesAsGather.cpp - rotate_half as one gather ---------------===//
//
// A concat whose pieces are slices of one tensor along the concat axis (or
// the tensor itself), some negated (rotate_half of rotary embeddings:
// concat(-x[..., h:], x[..., :h]); the angles concat(freqs, freqs)), becomes
// one gather of that tensor at constant positions,
// times a constant sign where a piece was negated. The ptx pipeline's
// linalg elementwise fusion fuses such a gather into the ops that read it
// (the rotary multiply and add) but not slices and a concat, which each
// became a launch of their own. Gathers, slices and splits of a transpose
// then read its input, transposed after: views of the input's buffer, and
// a transpose that fuses into its readers, instead of a transposed copy.
//
//===----------------------------------------------------------------------===//
#include "Passes.h"

#include "llm/IR/LLMOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace llmc {
#define GEN_PASS_DEF_LLMCONCATSLICESASGATHER
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {
struct ConcatSlicesAsGather : OpRewritePattern<llm::ConcatOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(llm::ConcatOp concat,
                                PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(concat.getType());
    int64_t axis = concat.getAxis();
    if (concat.getInputs().size() < 2 || !type.hasStaticShape())
      return failure();
    Value source;
    SmallVector<int64_t> positions;
    SmallVector<bool> negated;
    for (Value piece : concat.getInputs()) {
      bool negate = false;
      if (auto neg = piece.getDefiningOp<llm::NegOp>()) {
        piece = neg.getInput();
        negate = true;
      }
      // A slice of the source, or the source itself (Hugging Face's rotary
      // angles: concat(freqs, freqs)), which may be a slice's result.
      auto slice = piece.getDefiningOp<llm::SliceOp>();
      if (piece == source)
        slice = {};
      Value input = slice ? slice.getInput() : piece;
      if (source && input != source)
        return failure();
      source = input;
      auto sourceType = cast<RankedTensorType>(source.getType());
      auto pieceType = cast<RankedTensorType>(piece.getType());
      if (!sourceType.hasStaticShape())
        return failure();
      SmallVector<int64_t> whole(sourceType.getRank(), 0);
      SmallVector<int64_t> unit(sourceType.getRank(), 1);
      ArrayRef<int64_t> starts = slice ? slice.getStarts() : whole;
      ArrayRef<int64_t> steps = slice ? slice.getSteps() : unit;
      // Every other axis whole.
      for (int64_t d = 0; d < sourceType.getRank(); ++d)
        if (d != axis && (starts[d] != 0 || steps[d] != 1 ||
                          pieceType.getDimSize(d) != sourceType.getDimSize(d)))
          return failure();
      for (int64_t i = 0; i < pieceType.getDimSize(axis); ++i) {
        positions.push_back(starts[axis] + i * steps[axis]);
        negated.push_back(negate);
      }
    }
    bool anyNegated = llvm::is_contained(negated, true);
    if (anyNegated && !isa<FloatType>(type.getElementType()))
      return failure();
    Location loc = concat.getLoc();
    auto indexType = RankedTensorType::get(
        {static_cast<int64_t>(positions.size())}, rewriter.getI64Type());
    Value indices = llm::ConstantOp::create(
        rewriter, loc, indexType,
        DenseElementsAttr::get(indexType, ArrayRef<int64_t>(positions)));
    Value gathered = llm::GatherOp::create(rewriter, loc, type, source, indices,
                                           rewriter.getI64IntegerAttr(axis));
    if (anyNegated) {
      SmallVector<int64_t> signShape(type.getRank(), 1);
      signShape[axis] = positions.size();
      auto signType = RankedTensorType::get(signShape, type.getElementType());
      SmallVector<Attribute> signs;
      for (bool negate : negated)
        signs.push_back(
            rewriter.getFloatAttr(type.getElementType(), negate ? -1.0 : 1.0));
      Value sign = llm::ConstantOp::create(
          rewriter, loc, signType, DenseElementsAttr::get(signType, signs));
      // x * -1 is -x exactly (a NaN's sign aside).
      gathered = llm::MulOp::create(rewriter, loc, type, gathered, sign);
    }
    rewriter.replaceOp(concat, gathered);
    return success();
  }
};

/// op(transpose(x)) -> transpose(op'(x)): op' is built on the transpose's
/// input (`moved`, null where it does not apply, before anything is
/// created), and each of its results is transposed back to the type of
/// op's. The gather, slice or split then reads x where it is, and the
/// transpose, an indexing map, fuses into the readers.
template <typename OpTy> struct BeforeTranspose : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  virtual Value input(OpTy op) const = 0;
  virtual Operation *moved(OpTy op, llm::TransposeOp transpose,
                           PatternRewriter &rewriter) const = 0;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const final {
    auto transpose = input(op).template getDefiningOp<llm::TransposeOp>();
    if (!transpose)
      return failure();
    Operation *inner = moved(op, transpose, rewriter);
    if (!inner)
      return failure();
    SmallVector<Value> results;
    for (auto [part, old] : llvm::zip(inner->getResults(), op->getResults()))
      results.push_back(
          llm::TransposeOp::create(rewriter, op.getLoc(), old.getType(), part,
                                   transpose.getPermutationAttr()));
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// gather(transpose(x), indices [n], axis) -> transpose(gather(x, indices,
/// perm[axis])): elementwise fusion cannot fuse through a gather (it reads
/// its elements at positions), so the gather reads x itself.
struct GatherBeforeTranspose : BeforeTranspose<llm::GatherOp> {
  using BeforeTranspose::BeforeTranspose;

  Value input(llm::GatherOp gather) const override { return gather.getData(); }
  Operation *moved(llm::GatherOp gather, llm::TransposeOp transpose,
                   PatternRewriter &rewriter) const override {
    auto indexType = cast<RankedTensorType>(gather.getIndices().getType());
    if (indexType.getRank() != 1)
      return nullptr;
    ArrayRef<int64_t> perm = transpose.getPermutation();
    int64_t axis = gather.getAxis();
    auto inputType = cast<RankedTensorType>(transpose.getInput().getType());
    SmallVector<int64_t> shape(inputType.getShape());
    shape[perm[axis]] = indexType.getDimSize(0);
    return llm::GatherOp::create(
        rewriter, gather.getLoc(), inputType.clone(shape), transpose.getInput(),
        gather.getIndices(), rewriter.getI64IntegerAttr(perm[axis]));
  }
};

/// slice(transpose(x)) -> transpose(slice(x)): the slice is a view of x's
/// buffer at the linalg level, where a slice of a transposed copy needed
/// the copy (a partial rotary embedding's rotated and passed-through parts
/// of the heads, Phi's and NeoX's).
struct SliceBeforeTranspose : BeforeTranspose<llm::SliceOp> {
  using BeforeTranspose::BeforeTranspose;

  Value input(llm::SliceOp slice) const override { return slice.getInput(); }
  Operation *moved(llm::SliceOp slice, llm::TransposeOp transpose,
                   PatternRewriter &rewriter) const override {
    ArrayRef<int64_t> perm = transpose.getPermutation();
    size_t rank = perm.size();
    SmallVector<int64_t> starts(rank), ends(rank), steps(rank);
    for (size_t i = 0; i < rank; ++i) {
      starts[perm[i]] = slice.getStarts()[i];
      ends[perm[i]] = slice.getEnds()[i];
      steps[perm[i]] = slice.getSteps()[i];
    }
    return llm::SliceOp::create(rewriter, slice.getLoc(), transpose.getInput(),
                                rewriter.getDenseI64ArrayAttr(starts),
                                rewriter.getDenseI64ArrayAttr(ends),
                                rewriter.getDenseI64ArrayAttr(steps));
  }
};

/// split(transpose(x), axis) -> each part of split(x, perm[axis])
/// transposed, for the same reason (NeoX's heads, [B, S, H, 3D]
/// transposed, then split into q, k and v).
struct SplitBeforeTranspose : BeforeTranspose<llm::SplitOp> {
  using BeforeTranspose::BeforeTranspose;

  Value input(llm::SplitOp split) const override { return split.getInput(); }
  Operation *moved(llm::SplitOp split, llm::TransposeOp transpose,
                   PatternRewriter &rewriter) const override {
    return llm::SplitOp::create(
        rewriter, split.getLoc(), transpose.getInput(),
        rewriter.getI64IntegerAttr(transpose.getPermutation()[split.getAxis()]),
        split.getSizesAttr());
  }
};

struct ConcatSlicesAsGatherPass
    : llmc::impl::LLMConcatSlicesAsGatherBase<ConcatSlicesAsGatherPass> {
  void runOnOperation() override {
    // rotate_half's concat of slices first, while its slices are those of
    // one tensor; then slices and splits of transposes move before them.
    RewritePatternSet gathers(&getContext());
    gathers.add<ConcatSlicesAsGather, GatherBeforeTranspose>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(gathers))))
      return signalPassFailure();
    RewritePatternSet views(&getContext());
    views.add<ConcatSlicesAsGather, GatherBeforeTranspose, SliceBeforeTranspose,
              SplitBeforeTranspose>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(views))))
      signalPassFailure();
  }
};
} // namespace
