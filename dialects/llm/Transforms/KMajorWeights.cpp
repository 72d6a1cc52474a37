//===- KMajorWeights.cpp - matmul weights stored [.., N, K] or [.., K, N] -===//
//
// llm-k-major-weights (ptx: [.., N, K], K contiguous for the tensor cores'
// tiles) and llm-n-major-weights (host, hls: [.., K, N], N contiguous for
// the vectorized output loop): the same rewrite in the two directions.
//
//===----------------------------------------------------------------------===//
#include "ConstantBytes.h"
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LLMKMAJORWEIGHTS
#define GEN_PASS_DEF_LLMNMAJORWEIGHTS
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// `value` with its last two dims swapped, as an attribute of `type`.
std::optional<ElementsAttr> transposed(ElementsAttr value,
                                       RankedTensorType type) {
  if (auto dense = dyn_cast<DenseElementsAttr>(value); dense && dense.isSplat())
    return ElementsAttr(dense.resizeSplat(type));
  Type element = type.getElementType();
  if (!element.isIntOrFloat() || element.getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  std::optional<ArrayRef<char>> bytes = rawElementBytes(value);
  size_t width = element.getIntOrFloatBitWidth() / 8;
  ArrayRef<int64_t> shape = type.getShape(); // [.., N, K]
  int64_t n = shape[shape.size() - 2], k = shape.back();
  int64_t matrices = type.getNumElements() / std::max<int64_t>(n * k, 1);
  if (!bytes || bytes->size() != type.getNumElements() * width)
    return std::nullopt;
  // Written straight into the new constant's storage: a resource blob for
  // a resource (the weights of a large model), a buffer for a dense one.
  auto resource = dyn_cast<DenseResourceElementsAttr>(value);
  std::vector<char> buffer;
  AsmResourceBlob blob;
  char *out;
  if (resource) {
    blob = HeapAsmResourceBlob::allocate(bytes->size(), width);
    out = blob.getMutableData().data();
  } else {
    buffer.resize(bytes->size());
    out = buffer.data();
  }
  // Each source matrix into its transposed place (for llm-k-major-weights
  // [K, N] into [N, K]; the names are of that direction).
  for (int64_t b = 0; b < matrices; ++b)
    transposeMatrix(out + b * n * k * width, bytes->data() + b * k * n * width,
                    k, n, width);
  if (!resource)
    return ElementsAttr(DenseElementsAttr::getFromRawBuffer(type, buffer));
  return resourceConstant(type, resource.getRawHandle().getKey(),
                          std::move(blob));
}

/// Rewrites the products of `module` whose constant rhs is read with
/// `transpose_rhs` equal to `!toKMajor` to read it transposed, with the
/// flag flipped. Integer products move only toward k-major.
void moveWeights(ModuleOp module, bool toKMajor) {
  bool fromTransposed = !toKMajor;
  // A product (llm.matmul or llm.qmatmul) of a constant rhs in the
  // layout to move from.
  auto constantRhs = [&](auto product) {
    return product.getTransposeRhs() == fromTransposed &&
           product.getRhs().template getDefiningOp<ConstantOp>();
  };
  // A product of experts gathered from a constant [E, K, N] (or
  // [E, N, K]) table along a leading axis (a routed mixture of experts'
  // weights).
  auto gatheredRhs = [&](MatMulOp matmul) -> GatherOp {
    auto gather = matmul.getRhs().getDefiningOp<GatherOp>();
    if (matmul.getTransposeRhs() != fromTransposed || !gather ||
        !gather.getData().getDefiningOp<ConstantOp>())
      return {};
    int64_t rank = cast<RankedTensorType>(gather.getData().getType()).getRank();
    int64_t axis = gather.getAxis();
    return axis >= 0 && axis < rank - 2 ? gather : GatherOp();
  };
  SmallVector<Operation *> products;
  SmallVector<MatMulOp> gathered;
  module.walk([&](Operation *op) {
    auto matmul = dyn_cast<MatMulOp>(op);
    auto qmatmul = toKMajor ? dyn_cast<QMatMulOp>(op) : QMatMulOp();
    if ((matmul && constantRhs(matmul)) || (qmatmul && constantRhs(qmatmul)))
      products.push_back(op);
    else if (matmul && gatheredRhs(matmul))
      gathered.push_back(matmul);
  });
  // One transposed constant per original, however many products read it.
  DenseMap<Operation *, Value> done;
  auto transposedConstant = [&](ConstantOp constant) -> Value {
    Value &replacement = done[constant];
    if (replacement)
      return replacement;
    auto type = dyn_cast<RankedTensorType>(constant.getType());
    if (!type || !type.hasStaticShape() || type.getRank() < 2)
      return {};
    SmallVector<int64_t> shape(type.getShape());
    std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
    auto newType = RankedTensorType::get(shape, type.getElementType());
    std::optional<ElementsAttr> value =
        transposed(cast<ElementsAttr>(constant.getValue()), newType);
    if (!value)
      return {};
    OpBuilder b(constant);
    replacement = ConstantOp::create(b, constant.getLoc(), newType, *value);
    return replacement;
  };
  // The gathered experts: the table transposed, gathered the same way.
  DenseMap<Operation *, Value> regathered;
  for (MatMulOp matmul : gathered) {
    GatherOp gather = gatheredRhs(matmul);
    auto constant = gather.getData().getDefiningOp<ConstantOp>();
    Value &rhs = regathered[gather];
    if (!rhs) {
      Value table = transposedConstant(constant);
      if (!table)
        continue;
      OpBuilder b(gather);
      rhs = GatherOp::create(b, gather.getLoc(), table, gather.getIndices(),
                             gather.getAxisAttr());
    }
    matmul.getRhsMutable().set(rhs);
    matmul.setTransposeRhs(toKMajor);
    if (gather->use_empty())
      gather->erase();
    if (constant->use_empty())
      constant->erase();
  }
  for (Operation *op : products) {
    auto qmatmul = dyn_cast<QMatMulOp>(op);
    auto matmul = dyn_cast<MatMulOp>(op);
    Value rhs = matmul ? matmul.getRhs() : qmatmul.getRhs();
    auto constant = rhs.getDefiningOp<ConstantOp>();
    auto type = dyn_cast<RankedTensorType>(constant.getType());
    if (!type || !type.hasStaticShape() || type.getRank() < 2)
      continue;
    // An integer product's zero point [.., a, b] broadcast to [.., K, N]
    // is read as [.., b, a] once the rhs is [.., N, K]: a reshape when a
    // or b is 1 (per tensor, per column); else the product stays.
    Value zero = qmatmul ? qmatmul.getRhsZeroPoint() : Value();
    auto zeroType =
        zero ? cast<RankedTensorType>(zero.getType()) : RankedTensorType();
    SmallVector<int64_t> zeroShape;
    if (zero) {
      if (!zeroType.hasStaticShape())
        continue;
      zeroShape.assign(zeroType.getShape().begin(), zeroType.getShape().end());
      while (zeroShape.size() < 2)
        zeroShape.insert(zeroShape.begin(), 1);
      int64_t last = zeroShape.back(), before = zeroShape[zeroShape.size() - 2];
      if (last != 1 && before != 1)
        continue;
      std::swap(zeroShape[zeroShape.size() - 1],
                zeroShape[zeroShape.size() - 2]);
    }
    Value replacement = transposedConstant(constant);
    if (!replacement)
      continue;
    auto readTransposed = [&](auto product) {
      product.getRhsMutable().set(replacement);
      product.setTransposeRhs(toKMajor);
    };
    if (matmul) {
      readTransposed(matmul);
    } else {
      readTransposed(qmatmul);
      // One element broadcasts either way; a dense constant is reshaped
      // as a constant (so that a zero one still reads as zero).
      if (zero && zeroType.getNumElements() != 1) {
        OpBuilder b(op);
        auto newType = zeroType.clone(zeroShape);
        DenseElementsAttr dense;
        Value reshaped =
            matchPattern(zero, m_Constant(&dense))
                ? ConstantOp::create(b, op->getLoc(), newType,
                                     dense.reshape(newType))
                      .getResult()
                : ReshapeOp::create(b, op->getLoc(), newType, zero).getResult();
        qmatmul.getRhsZeroPointMutable().assign(reshaped);
        if (Operation *original = zero.getDefiningOp();
            original && isa<ConstantOp>(original) && original->use_empty())
          original->erase();
      }
    }
    if (constant->use_empty())
      constant->erase();
  }
}

struct KMajorWeightsPass
    : mlir::llm::impl::LLMKMajorWeightsBase<KMajorWeightsPass> {
  void runOnOperation() override {
    moveWeights(getOperation(), /*toKMajor=*/true);
  }
};

struct NMajorWeightsPass
    : mlir::llm::impl::LLMNMajorWeightsBase<NMajorWeightsPass> {
  void runOnOperation() override {
    moveWeights(getOperation(), /*toKMajor=*/false);
  }
};

} // namespace
