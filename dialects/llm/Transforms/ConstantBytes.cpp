//===- ConstantBytes.cpp - the bytes of llm constants ---------------------===//
#include "ConstantBytes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <algorithm>
#include <cstring>

using namespace mlir;

int64_t mlir::llm::byteWidth(Type element) {
  if (!element.isIntOrFloat() || element.getIntOrFloatBitWidth() % 8 != 0)
    return 0;
  return element.getIntOrFloatBitWidth() / 8;
}

FailureOr<ArrayRef<char>> mlir::llm::bytesOf(ElementsAttr value,
                                             SmallVectorImpl<char> &storage) {
  auto type = cast<ShapedType>(value.getType());
  int64_t width = byteWidth(type.getElementType());
  if (!width || !type.hasStaticShape())
    return failure();
  size_t size = type.getNumElements() * width;
  ArrayRef<char> data;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    data = resource.getData();
  } else if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    data = dense.getRawData();
    if (dense.isSplat() && data.size() == size_t(width)) {
      storage.clear();
      for (int64_t i = 0; i < type.getNumElements(); ++i)
        storage.append(data.begin(), data.end());
      data = storage;
    }
  }
  if (data.size() != size)
    return failure();
  return data;
}

void mlir::llm::transposeMatrix(char *out, const char *in, int64_t rows,
                                int64_t cols, int64_t width) {
  constexpr int64_t tile = 64;
  for (int64_t row0 = 0; row0 < rows; row0 += tile)
    for (int64_t col0 = 0; col0 < cols; col0 += tile)
      for (int64_t col = col0; col < std::min(cols, col0 + tile); ++col)
        for (int64_t row = row0; row < std::min(rows, row0 + tile); ++row)
          std::memcpy(out + (col * rows + row) * width,
                      in + (row * cols + col) * width, width);
}

void mlir::llm::appendTransposed(SmallVectorImpl<char> &out, ArrayRef<char> in,
                                 int64_t rows, int64_t cols, int64_t width) {
  size_t base = out.size();
  out.resize(base + rows * cols * width);
  transposeMatrix(out.data() + base, in.data(), rows, cols, width);
}

ElementsAttr mlir::llm::makeConstant(RankedTensorType type,
                                     ArrayRef<char> bytes,
                                     ArrayRef<ElementsAttr> parts,
                                     StringRef suffix) {
  auto resource = llvm::find_if(parts, [](ElementsAttr part) {
    return isa<DenseResourceElementsAttr>(part);
  });
  if (resource == parts.end())
    return DenseElementsAttr::getFromRawBuffer(type, bytes);
  std::string name =
      cast<DenseResourceElementsAttr>(*resource).getRawHandle().getKey().str() +
      suffix.str();
  return resourceConstant(type, name, bytes, byteWidth(type.getElementType()));
}

static ElementsAttr reusedResource(RankedTensorType type, StringRef name,
                                   ArrayRef<char> bytes, size_t alignment) {
  auto &manager =
      DenseResourceElementsHandle::getManagerInterface(type.getContext());
  DialectResourceBlobManager &blobs = manager.getBlobManager();
  for (unsigned suffix = 0;; ++suffix) {
    std::string candidate =
        suffix ? (name + "_" + Twine(suffix)).str() : name.str();
    DialectResourceBlobManager::BlobEntry *entry = blobs.lookup(candidate);
    if (!entry)
      return {};
    const AsmResourceBlob *blob = entry->getBlob();
    if (blob && blob->getDataAlignment() == alignment &&
        blob->getData() == bytes)
      return DenseResourceElementsAttr::get(
          type, DenseResourceElementsHandle(
                    entry, cast<BuiltinDialect>(manager.getDialect())));
  }
}

ElementsAttr mlir::llm::resourceConstant(RankedTensorType type, StringRef name,
                                         ArrayRef<char> bytes,
                                         size_t alignment) {
  if (ElementsAttr reused = reusedResource(type, name, bytes, alignment))
    return reused;
  return DenseResourceElementsAttr::get(
      type, name,
      HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignment,
                                                    /*dataIsMutable=*/false));
}

ElementsAttr mlir::llm::resourceConstant(RankedTensorType type, StringRef name,
                                         AsmResourceBlob blob) {
  if (ElementsAttr reused =
          reusedResource(type, name, blob.getData(), blob.getDataAlignment()))
    return reused;
  return DenseResourceElementsAttr::get(type, name, std::move(blob));
}
