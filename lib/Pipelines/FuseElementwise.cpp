//===- FuseElementwise.cpp - elementwise fusion without recomputation -----===//
//
// Upstream's elementwise fusion with a control function that leaves a
// producer unfused where its consumer would read (and so recompute) each of
// its elements more than once.
//
//===----------------------------------------------------------------------===//
#include "Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace llmc {
#define GEN_PASS_DEF_LLMFUSEELEMENTWISE
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {
/// Whether fusing the producer of `operand` into its consumer evaluates each
/// of the producer's elements once: the consumer reads the operand through
/// distinct loops, and every loop it does not read it through has one
/// iteration (a decoding step's row loop of a product).
bool readsEachElementOnce(OpOperand *operand) {
  auto consumer = dyn_cast<linalg::LinalgOp>(operand->getOwner());
  if (!consumer)
    return false;
  AffineMap map = consumer.getMatchingIndexingMap(operand);
  if (!map.isProjectedPermutation(/*allowZeroInResults=*/false))
    return false;
  SmallVector<int64_t> ranges = consumer.getStaticLoopRanges();
  for (auto [loop, range] : llvm::enumerate(ranges))
    if (!map.isFunctionOfDim(loop) && range != 1)
      return false;
  return true;
}

/// Whether `value` is data the forward reads rather than computes: an
/// argument of the function or a constant, seen through reshapes and slices.
bool isStoredData(Value value) {
  while (Operation *def = value.getDefiningOp()) {
    if (def->hasTrait<OpTrait::ConstantLike>())
      return true;
    if (!isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
             tensor::ExtractSliceOp, tensor::CastOp>(def))
      return false;
    value = def->getOperand(0);
  }
  auto argument = cast<BlockArgument>(value);
  return isa<FunctionOpInterface>(argument.getOwner()->getParentOp());
}

/// Whether the producer of `operand` only transforms stored data cheaply (a
/// weight's widening from f16 or its dequantization): fused, the product
/// streams the compact weight instead of a materialized f32 copy (an
/// on-chip buffer of the whole weight in an HLS design).
bool transformsStoredData(OpOperand *operand) {
  auto producer = operand->get().getDefiningOp<linalg::GenericOp>();
  if (!producer || producer.hasIndexSemantics() ||
      !llvm::all_of(producer.getDpsInputs(), isStoredData))
    return false;
  // Cheap to evaluate again: arith ops (casts, a zero point, a scale, 4-bit
  // unpacking) without divisions; no math function.
  return llvm::all_of(
      producer.getBody()->without_terminator(), [](Operation &op) {
        return isa<arith::ArithDialect>(op.getDialect()) &&
               !isa<arith::DivFOp, arith::DivSIOp, arith::DivUIOp,
                    arith::RemFOp, arith::RemSIOp, arith::RemUIOp>(op);
      });
}

struct LLMFuseElementwisePass
    : llmc::impl::LLMFuseElementwiseBase<LLMFuseElementwisePass> {
  void runOnOperation() override {
    Operation *op = getOperation();
    MLIRContext *context = op->getContext();
    RewritePatternSet patterns(context);
    linalg::ControlFusionFn singleUse = [](OpOperand *fused) {
      Operation *producer = fused->get().getDefiningOp();
      return producer && producer->hasOneUse();
    };
    linalg::ControlFusionFn noRecomputation = [&](OpOperand *fused) {
      return singleUse(fused) &&
             (readsEachElementOnce(fused) || transformsStoredData(fused));
    };
    linalg::populateElementwiseOpsFusionPatterns(patterns, noRecomputation);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, singleUse);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, context);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, context);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, context);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, context);
    context->getLoadedDialect<linalg::LinalgDialect>()
        ->getCanonicalizationPatterns(patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, singleUse);
    (void)applyPatternsGreedily(op, std::move(patterns),
                                GreedyRewriteConfig().setUseTopDownTraversal());
  }
};
} // namespace
