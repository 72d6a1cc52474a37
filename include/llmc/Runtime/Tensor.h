//===- Tensor.h - host tensors, .npy and ONNX TensorProto files -*- C++ -*-===//
//
// The runtime's value type: a named, contiguous, row-major tensor on the host,
// and the model signature that says which tensors a compiled model takes and
// returns. Shared by every runtime, the tools and the Python package.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_RUNTIME_TENSOR_H
#define LLMC_RUNTIME_TENSOR_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// Declared, not included: tools without MLIR (llm-ptx-run) include this.
namespace mlir {
class MLIRContext;
class ModuleOp;
class Type;
} // namespace mlir

namespace llmc {

enum class DType { f32, f64, f16, bf16, i64, i32, i16, u16, i8, u8, i1 };

/// Bytes one element takes in memory (i1 takes one byte, as numpy's bool).
size_t dtypeSize(DType dtype);
/// f32, f64, f16 or bf16.
inline bool isFloat(DType dtype) {
  return dtype == DType::f32 || dtype == DType::f64 || dtype == DType::f16 ||
         dtype == DType::bf16;
}
/// Short name used in manifests and messages: "f32", "i64", "bool", ...
llvm::StringRef dtypeName(DType dtype);
/// numpy's dtype string of `dtype` ("<f4", "|u1", ...), or empty for bf16,
/// which numpy lacks.
llvm::StringRef dtypeNpyDescr(DType dtype);
std::optional<DType> dtypeFromName(llvm::StringRef name);
std::optional<DType> dtypeFromMLIR(mlir::Type type);
mlir::Type dtypeToMLIR(DType dtype, mlir::MLIRContext &context);
std::string shapeToString(llvm::ArrayRef<int64_t> shape);

/// The bf16 bits of `value`, rounded to nearest even (cvt.rn.bf16.f32); NaN
/// stays a quiet NaN.
uint16_t roundToBF16(float value);
/// The f32 elements of `bytes` (native order), as bf16 bits.
std::vector<uint8_t> f32BytesToBF16(const void *bytes, size_t count);

/// A named host tensor. Owns its bytes, or views bytes owned elsewhere
/// (a weight blob) through `keepAlive`.
struct Tensor {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  /// The file it was read from (readTensorFile), which the errors about it
  /// name; empty for a tensor made in memory.
  std::string source;

  Tensor() = default;
  Tensor(std::string name, DType dtype, std::vector<int64_t> shape);
  /// A view of external bytes; `owner` keeps them alive.
  static Tensor view(std::string name, DType dtype, std::vector<int64_t> shape,
                     const void *bytes, std::shared_ptr<const void> owner);

  int64_t numElements() const;
  size_t byteSize() const { return numElements() * dtypeSize(dtype); }
  const void *data() const { return bytes; }
  /// Writable bytes: only for tensors that own their storage.
  void *mutableData();

private:
  const void *bytes = nullptr;
  std::shared_ptr<const void> keepAlive;
};

/// Element `i` (row-major) of a tensor of any dtype, as a double (16-bit
/// floats exactly widened, integers converted).
double elementAsDouble(const Tensor &tensor, int64_t i);

/// An f32 tensor rounded to bf16 (nearest even), and a bf16 tensor widened
/// exactly to f32: numpy has no bf16, so bf16 tensors cross `.npy` files and
/// Python as f32.
Tensor roundToBF16(const Tensor &tensor);
Tensor widenBF16(const Tensor &tensor);

/// Reads a `.npy` file (little-endian, C order, the dtypes above).
llvm::Expected<Tensor> readNpy(llvm::StringRef path);
/// The same for the bytes of a `.npy` file; `path` names it in errors.
llvm::Expected<Tensor> parseNpy(llvm::StringRef data, llvm::StringRef path,
                                llvm::StringRef name);
/// Writes `tensor` as `.npy`; bf16, which numpy lacks, as its exact f32
/// widening.
llvm::Error writeNpy(const Tensor &tensor, llvm::StringRef path);
/// Reads a serialized ONNX TensorProto (`.pb`), named by its own `name`.
llvm::Expected<Tensor> readTensorProto(llvm::StringRef path);
/// `.npy` or `.pb` by extension.
llvm::Expected<Tensor> readTensorFile(llvm::StringRef path);

/// What a tensor in a model signature is.
struct TensorSpec {
  std::string name;
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  /// For an integer input that indexes a table: the table's rows N (its
  /// values must lie in [-N, N)) and the node reading it; 0 otherwise.
  int64_t indexBound = 0;
  std::string boundBy;
  /// A value allowed outside the bound, which the reader skips (a loss's
  /// ignore_index).
  std::optional<int64_t> indexIgnore;
  /// Bytes of a tensor of this spec.
  int64_t byteSize() const {
    int64_t bytes = dtypeSize(dtype);
    for (int64_t dim : shape)
      bytes *= dim;
    return bytes;
  }
  llvm::json::Value toJSON() const;
  static llvm::Expected<TensorSpec> fromJSON(const llvm::json::Value &value);
};

/// The entry function of a compiled model: graph inputs, then outlined
/// weights, in argument order; then the outputs.
struct Signature {
  std::string entry = "forward";
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> weights;
  std::vector<TensorSpec> outputs;
  llvm::json::Value toJSON() const;
  static llvm::Expected<Signature> fromJSON(const llvm::json::Value &value);
};

/// Reads the signature of the tensor-level entry function `entry` (after
/// `llm-outline-weights`): arguments named by `llm.name` are inputs, those
/// with `llm.weight` are weights; results are named by `llm.name`.
llvm::Expected<Signature> extractSignature(mlir::ModuleOp module,
                                           llvm::StringRef entry = "forward");

/// Checks that `inputs` match the signature's inputs (by name, dtype and
/// shape) and returns them in argument order. Errors say which input and how.
/// An f32 tensor binds to a bf16 input (numpy has no bf16), rounded.
llvm::Expected<std::vector<Tensor>>
bindInputs(const Signature &signature, std::vector<Tensor> inputs);

/// Compares `actual` with `expected` elementwise: |a - e| <= atol + rtol*|e|
/// (NaN where NaN is expected matches; i8 and u8 compare as the expected
/// type). Returns a one-line description of the worst mismatch, or none.
std::optional<std::string> compareTensors(const Tensor &actual,
                                          const Tensor &expected, double rtol,
                                          double atol);

} // namespace llmc

#endif // LLMC_RUNTIME_TENSOR_H
