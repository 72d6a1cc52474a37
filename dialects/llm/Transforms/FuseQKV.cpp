//===- FuseQKV.cpp - merge matmuls that share an input --------------------===//
//
// The Q, K and V projections (and the gate and up projections of a gated
// MLP) read the same activations with different weights. One matmul over the
// weights concatenated along N reads the activations once and gives the
// accelerator one wide product instead of several narrow ones; an llm.split
// gives back the original results. The concatenated weights are a new
// constant, built once here by copying bytes: an llm.concat of the weights
// would copy them on every forward pass.
//
//===----------------------------------------------------------------------===//
#include "ConstantBytes.h"
#include "FusionCount.h"
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LLMFUSEQKV
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {
/// The constant op defining `value`, or null.
ConstantOp constantOf(Value value) {
  return value ? value.getDefiningOp<ConstantOp>() : ConstantOp();
}

/// True if `type` is a vector along the last dim: [1, .., 1, N].
bool isLastDimVector(RankedTensorType type) {
  return type.getRank() >= 1 && type.hasStaticShape() &&
         llvm::all_of(type.getShape().drop_back(),
                      [](int64_t dim) { return dim == 1; });
}

/// The gather `op`'s rhs is, when it takes experts' weights along axis 0
/// of a constant [E, K, N] (or [E, N, K]) table: a routed mixture of
/// experts' product.
GatherOp expertGather(MatMulOp op) {
  auto gather = op.getRhs().getDefiningOp<GatherOp>();
  if (!gather || gather.getAxis() != 0 || !constantOf(gather.getData()))
    return {};
  auto table = cast<RankedTensorType>(gather.getData().getType());
  return table.getRank() == 3 && table.hasStaticShape() ? gather : GatherOp();
}

/// The constant holding `op`'s weights: its rhs, or the experts' table.
ConstantOp weightsOf(MatMulOp op) {
  if (GatherOp gather = expertGather(op))
    return constantOf(gather.getData());
  return constantOf(op.getRhs());
}

/// A matmul this pass can merge: constant 2-D weights, a constant bias along
/// the last dim or none, no residual, byte-sized elements; or experts'
/// weights gathered from a constant table, without a bias.
bool isCandidate(MatMulOp op) {
  ConstantOp weight = weightsOf(op);
  if (!weight || op.getResidual() || !op.getType().hasStaticShape())
    return false;
  auto weightType = cast<RankedTensorType>(weight.getType());
  bool gathered = bool(expertGather(op));
  if (weightType.getRank() != (gathered ? 3 : 2) ||
      !weightType.hasStaticShape() || !byteWidth(weightType.getElementType()))
    return false;
  if (Value bias = op.getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (gathered || !constantOf(bias) || !isLastDimVector(biasType) ||
        biasType.getShape().back() != op.getType().getShape().back())
      return false;
  }
  return true;
}

/// Whether `op`'s result only gates: every use multiplies it (a gated MLP's
/// act(gate) * up).
bool onlyGates(MatMulOp op) {
  return !op->use_empty() && llvm::all_of(op->getUsers(), [](Operation *user) {
    return isa<MulOp>(user);
  });
}

/// The same activation, or none beside a gate's: a gated MLP's gate
/// projection carries its SiLU or GELU, the up projection none, and the
/// gate's activation, applied after the split, fuses with the product that
/// reads it. An activation that feeds anything else (a parallel block's
/// MLP input beside its attention projections) stays in its epilogue.
bool compatibleActivations(MatMulOp a, MatMulOp b) {
  if (a.getActivation() == b.getActivation())
    return true;
  if (a.getActivation() == Activation::none)
    return onlyGates(b);
  return b.getActivation() == Activation::none && onlyGates(a);
}

/// Matmuls merge when they read the same lhs the same way, have weights of
/// the same K and apply the same epilogue, but for compatible activations.
bool sameKind(MatMulOp a, MatMulOp b) {
  auto weightK = [](MatMulOp op) {
    auto type = cast<RankedTensorType>(weightsOf(op).getType());
    return type.getDimSize(type.getRank() - (op.getTransposeRhs() ? 1 : 2));
  };
  // Experts' weights merge when gathered by the same indices from tables
  // of as many experts.
  GatherOp gatherA = expertGather(a), gatherB = expertGather(b);
  if (bool(gatherA) != bool(gatherB) ||
      (gatherA &&
       (gatherA.getIndices() != gatherB.getIndices() ||
        cast<RankedTensorType>(gatherA.getData().getType()).getDimSize(0) !=
            cast<RankedTensorType>(gatherB.getData().getType()).getDimSize(0))))
    return false;
  return a->getBlock() == b->getBlock() &&
         a.getTransposeLhs() == b.getTransposeLhs() &&
         a.getTransposeRhs() == b.getTransposeRhs() &&
         weightK(a) == weightK(b) && a.getScale() == b.getScale() &&
         compatibleActivations(a, b) && bool(a.getBias()) == bool(b.getBias());
}

struct FuseQKVPass : mlir::llm::impl::LLMFuseQKVBase<FuseQKVPass> {
  using Base::Base;

  /// Replaces `group` (in program order, two or more) by one matmul and a
  /// split; failure leaves the IR untouched.
  LogicalResult merge(MutableArrayRef<MatMulOp> group) {
    MatMulOp first = group.front();
    bool transposeRhs = first.getTransposeRhs();
    GatherOp gather = expertGather(first);
    auto firstWeight = cast<RankedTensorType>(weightsOf(first).getType());
    Type element = firstWeight.getElementType();
    int64_t width = byteWidth(element);
    int64_t rank = firstWeight.getRank();
    int64_t k = firstWeight.getDimSize(rank - (transposeRhs ? 1 : 2));
    // Experts' tables are merged expert by expert.
    int64_t experts = gather ? firstWeight.getDimSize(0) : 1;

    SmallVector<int64_t> sizes;
    SmallVector<ArrayRef<char>> weights, biases;
    SmallVector<ElementsAttr> weightAttrs, biasAttrs;
    SmallVector<SmallVector<char>> storage(2 * group.size());
    for (auto [index, op] : llvm::enumerate(group)) {
      sizes.push_back(op.getType().getShape().back());
      ElementsAttr weight = weightsOf(op).getValue();
      FailureOr<ArrayRef<char>> bytes = bytesOf(weight, storage[2 * index]);
      if (failed(bytes))
        return failure();
      weights.push_back(*bytes);
      weightAttrs.push_back(weight);
      if (!op.getBias())
        continue;
      ElementsAttr bias = constantOf(op.getBias()).getValue();
      bytes = bytesOf(bias, storage[2 * index + 1]);
      if (failed(bytes))
        return failure();
      biases.push_back(*bytes);
      biasAttrs.push_back(bias);
    }
    int64_t n = 0;
    for (int64_t size : sizes)
      n += size;

    // [K, N] weights interleave row by row; [N, K] ones follow each other.
    SmallVector<char> weightBytes;
    weightBytes.reserve(experts * k * n * width);
    for (int64_t expert = 0; expert < experts; ++expert) {
      if (transposeRhs) {
        for (auto [part, size] : llvm::zip_equal(weights, sizes))
          llvm::append_range(weightBytes, part.slice(expert * size * k * width,
                                                     size * k * width));
        continue;
      }
      for (int64_t row = 0; row < k; ++row)
        for (auto [part, size] : llvm::zip_equal(weights, sizes))
          llvm::append_range(
              weightBytes,
              part.slice((expert * k + row) * size * width, size * width));
    }
    SmallVector<char> biasBytes;
    for (ArrayRef<char> part : biases)
      llvm::append_range(biasBytes, part);

    OpBuilder builder(first);
    SmallVector<Location> locations;
    for (MatMulOp op : group)
      locations.push_back(op.getLoc());
    Location loc = builder.getFusedLoc(locations);
    SmallVector<int64_t> weightShape =
        transposeRhs ? SmallVector<int64_t>{n, k} : SmallVector<int64_t>{k, n};
    if (gather)
      weightShape.insert(weightShape.begin(), experts);
    auto weightType = RankedTensorType::get(weightShape, element);
    Value weight = ConstantOp::create(
        builder, loc, weightType,
        makeConstant(weightType, weightBytes, weightAttrs, ".fused"));
    if (gather)
      weight = GatherOp::create(builder, loc, weight, gather.getIndices(),
                                gather.getAxisAttr());
    Value bias;
    if (!biases.empty()) {
      auto biasType = RankedTensorType::get({n}, element);
      bias = ConstantOp::create(
          builder, loc, biasType,
          makeConstant(biasType, biasBytes, biasAttrs, ".fused"));
    }
    SmallVector<int64_t> shape(first.getType().getShape());
    shape.back() = n;
    // One activation for all stays in the epilogue; different ones (a gate's
    // SiLU beside the up projection's none) follow the split, each on its
    // part, where they fuse with the elementwise ops that read them.
    Activation activation = first.getActivation();
    for (MatMulOp op : group)
      if (op.getActivation() != activation)
        activation = Activation::none;
    auto merged = MatMulOp::create(
        builder, loc, RankedTensorType::get(shape, element), first.getLhs(),
        weight, bias, /*residual=*/Value(), first.getTransposeLhsAttr(),
        first.getTransposeRhsAttr(), first.getScaleAttr(),
        ActivationAttr::get(builder.getContext(), activation));
    SmallVector<Type> resultTypes;
    for (MatMulOp op : group)
      resultTypes.push_back(op.getType());
    auto split = SplitOp::create(builder, loc, resultTypes, merged.getResult(),
                                 shape.size() - 1, sizes);

    // The activations go right after the split, all made before the group's
    // ops (the first of which the insertion point is at) are erased.
    SmallVector<Value> values;
    for (auto [op, result] : llvm::zip_equal(group, split.getResults()))
      values.push_back(op.getActivation() == activation
                           ? Value(result)
                           : createActivation(builder, op.getLoc(),
                                              op.getActivation(), result));
    llvm::SmallSetVector<Operation *, 8> constants;
    for (auto [op, value] : llvm::zip_equal(group, values)) {
      for (Value operand : {op.getRhs(), op.getBias()})
        if (ConstantOp constant = constantOf(operand))
          constants.insert(constant);
      // A gather of experts goes before its table.
      if (GatherOp experts = expertGather(op)) {
        constants.insert(experts);
        constants.insert(constantOf(experts.getData()));
      }
      op.getResult().replaceAllUsesWith(value);
      op.erase();
    }
    for (Operation *constant : constants)
      if (constant->use_empty())
        constant->erase();
    ++groups;
    matmuls += group.size();
    return success();
  }

  void runOnOperation() override {
    llvm::MapVector<Value, SmallVector<MatMulOp>> byLhs;
    getOperation()->walk([&](MatMulOp op) {
      if (isCandidate(op))
        byLhs[op.getLhs()].push_back(op);
    });
    for (auto &[lhs, ops] : byLhs) {
      // Greedy partition into groups of one kind, each in program order.
      SmallVector<bool> taken(ops.size(), false);
      for (size_t i = 0; i < ops.size(); ++i) {
        if (taken[i])
          continue;
        SmallVector<MatMulOp> group{ops[i]};
        for (size_t j = i + 1; j < ops.size(); ++j)
          if (!taken[j] && sameKind(ops[i], ops[j])) {
            group.push_back(ops[j]);
            taken[j] = true;
          }
        if (group.size() < 2)
          continue;
        llvm::sort(group, [](MatMulOp a, MatMulOp b) {
          return a->isBeforeInBlock(b);
        });
        (void)merge(group);
      }
    }
    reportFusionCounts(getOperation(), getArgument(), remarks,
                       {{"groups", &numGroups, &groups}, {"matmuls", &numMatMuls, &matmuls}});
  }

  FusionCount groups, matmuls;
};
} // namespace
