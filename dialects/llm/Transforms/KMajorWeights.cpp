//===- KMajorWeights.cpp - constant matmul weights stored [.., N, K] ------===//
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LLMKMAJORWEIGHTS
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
  std::vector<char> out(bytes->size());
  for (int64_t b = 0; b < matrices; ++b)
    for (int64_t row = 0; row < k; ++row)     // source [K, N]
      for (int64_t col = 0; col < n; ++col) {
        size_t from = ((b * k + row) * n + col) * width;
        size_t to = ((b * n + col) * k + row) * width;
        std::memcpy(&out[to], &(*bytes)[from], width);
      }
  if (isa<DenseElementsAttr>(value))
    return ElementsAttr(DenseElementsAttr::getFromRawBuffer(type, out));
  auto resource = cast<DenseResourceElementsAttr>(value);
  return ElementsAttr(DenseResourceElementsAttr::get(
      type, resource.getRawHandle().getKey(),
      HeapAsmResourceBlob::allocateAndCopyWithAlign(out, width,
                                                    /*dataIsMutable=*/false)));
}

struct KMajorWeightsPass
    : mlir::llm::impl::LLMKMajorWeightsBase<KMajorWeightsPass> {
  void runOnOperation() override {
    SmallVector<MatMulOp> matmuls;
    getOperation().walk([&](MatMulOp op) {
      if (!op.getTransposeRhs() && op.getRhs().getDefiningOp<ConstantOp>())
        matmuls.push_back(op);
    });
    // One transposed constant per original, however many matmuls read it.
    DenseMap<Operation *, Value> done;
    for (MatMulOp op : matmuls) {
      auto constant = op.getRhs().getDefiningOp<ConstantOp>();
      auto type = dyn_cast<RankedTensorType>(constant.getType());
      if (!type || !type.hasStaticShape() || type.getRank() < 2)
        continue;
      Value &replacement = done[constant];
      if (!replacement) {
        SmallVector<int64_t> shape(type.getShape());
        std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
        auto newType = RankedTensorType::get(shape, type.getElementType());
        std::optional<ElementsAttr> value =
            transposed(cast<ElementsAttr>(constant.getValue()), newType);
        if (!value)
          continue;
        OpBuilder b(constant);
        replacement = ConstantOp::create(b, constant.getLoc(), newType, *value);
      }
      op.getRhsMutable().set(replacement);
      op.setTransposeRhs(true);
      if (constant->use_empty())
        constant->erase();
    }
  }
};

} // namespace
