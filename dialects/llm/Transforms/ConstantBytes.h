//===- ConstantBytes.h - the bytes of llm constants -------------*- C++ -*-===//
//
// Passes that build a new weight out of existing ones (llm-fuse-qkv's
// concatenated projections, llm-route-experts' stacked experts) copy the
// constants' bytes once at compile time instead of leaving an llm.concat to
// copy them on every forward pass.
//
//===----------------------------------------------------------------------===//
#ifndef LLM_TRANSFORMS_CONSTANTBYTES_H
#define LLM_TRANSFORMS_CONSTANTBYTES_H

#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/StringRef.h"

namespace mlir::llm {

/// Bytes per element when elements are stored as whole bytes, else 0 (i1).
int64_t byteWidth(Type element);

/// The row-major bytes of a constant: a dense_resource blob's data, a dense
/// attribute's raw data, or a splat expanded into `storage`. Failure if the
/// data is not at hand (a resource without its blob) or not whole bytes.
FailureOr<ArrayRef<char>> bytesOf(ElementsAttr value,
                                  SmallVectorImpl<char> &storage);

/// Writes the [cols, rows] transpose of the row-major [rows, cols] matrix
/// at `in` of `width`-byte elements to `out` (in tiles, so that the rows
/// read and written stay in cache).
void transposeMatrix(char *out, const char *in, int64_t rows, int64_t cols,
                     int64_t width);

/// Appends the transpose of the [rows, cols] matrix `in` to `out`.
void appendTransposed(SmallVectorImpl<char> &out, ArrayRef<char> in,
                      int64_t rows, int64_t cols, int64_t width);

/// A dense_resource constant of `type` named `name` holding `bytes`. A
/// blob the context holds already under that name or the names its
/// manager makes unique from it (`name_1`, `name_2`, ...) is reused when it
/// holds the same bytes: a graph transformed again in the same context
/// (another target's copy under `llm-compile --target all`) names its
/// constants as it would alone, so its artifact is the same bytes.
ElementsAttr resourceConstant(RankedTensorType type, StringRef name,
                              ArrayRef<char> bytes, size_t alignment);

/// resourceConstant of a blob already written.
ElementsAttr resourceConstant(RankedTensorType type, StringRef name,
                              AsmResourceBlob blob);

/// The constant of `type` holding `bytes`: inline when every part was
/// inline, else a new dense_resource blob named after the first part's with
/// `suffix` appended.
ElementsAttr makeConstant(RankedTensorType type, ArrayRef<char> bytes,
                          ArrayRef<ElementsAttr> parts, StringRef suffix);

} // namespace mlir::llm

#endif // LLM_TRANSFORMS_CONSTANTBYTES_H
