//===- Tensor.cpp - TensorProto files and signatures from MLIR ------------===//
//
// The parts of the runtime's tensors that need MLIR or ONNX: dtypes of MLIR
// types, TensorProto files and a module's signature. The rest (tensors,
// .npy files, signatures as JSON) is TensorData.cpp, which tools without
// MLIR (llm-ptx-run) build too.
//
//===----------------------------------------------------------------------===//
#include "llmc/Runtime/Tensor.h"

#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "onnx/onnx_pb.h"

#include <cstdlib>
#include <cstring>

using namespace llmc;
using llvm::StringRef;

namespace {
llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}
} // namespace
std::optional<DType> llmc::dtypeFromMLIR(mlir::Type type) {
  if (type.isF32())
    return DType::f32;
  if (type.isF64())
    return DType::f64;
  if (type.isF16())
    return DType::f16;
  if (type.isBF16())
    return DType::bf16;
  if (type.isSignlessInteger(64))
    return DType::i64;
  if (type.isSignlessInteger(32))
    return DType::i32;
  if (type.isSignlessInteger(16))
    return DType::i16;
  if (type.isSignlessInteger(8))
    return DType::i8;
  if (type.isUnsignedInteger(8))
    return DType::u8;
  if (type.isUnsignedInteger(16))
    return DType::u16;
  if (type.isSignlessInteger(1))
    return DType::i1;
  return std::nullopt;
}

mlir::Type llmc::dtypeToMLIR(DType dtype, mlir::MLIRContext &context) {
  mlir::Builder b(&context);
  switch (dtype) {
  case DType::f32:
    return b.getF32Type();
  case DType::f64:
    return b.getF64Type();
  case DType::f16:
    return b.getF16Type();
  case DType::bf16:
    return b.getBF16Type();
  case DType::i64:
    return b.getI64Type();
  case DType::i32:
    return b.getI32Type();
  case DType::i16:
    return b.getI16Type();
  case DType::u16:
    return mlir::IntegerType::get(&context, 16, mlir::IntegerType::Unsigned);
  case DType::i8:
    return b.getI8Type();
  case DType::u8:
    return mlir::IntegerType::get(&context, 8, mlir::IntegerType::Unsigned);
  case DType::i1:
    return b.getI1Type();
  }
  llvm_unreachable("unknown dtype");
}

llvm::Expected<Tensor> llmc::readTensorProto(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return makeError(path + ": cannot read: " + buffer.getError().message());
  onnx::TensorProto proto;
  StringRef data = (*buffer)->getBuffer();
  if (!proto.ParseFromArray(data.data(), static_cast<int>(data.size())))
    return makeError(path + ": not a valid ONNX TensorProto");
  std::optional<DType> dtype;
  switch (proto.data_type()) {
  case onnx::TensorProto::FLOAT:
    dtype = DType::f32;
    break;
  case onnx::TensorProto::DOUBLE:
    dtype = DType::f64;
    break;
  case onnx::TensorProto::FLOAT16:
    dtype = DType::f16;
    break;
  case onnx::TensorProto::BFLOAT16:
    dtype = DType::bf16;
    break;
  case onnx::TensorProto::INT64:
    dtype = DType::i64;
    break;
  case onnx::TensorProto::INT32:
    dtype = DType::i32;
    break;
  case onnx::TensorProto::INT16:
    dtype = DType::i16;
    break;
  case onnx::TensorProto::INT8:
    dtype = DType::i8;
    break;
  case onnx::TensorProto::UINT8:
    dtype = DType::u8;
    break;
  case onnx::TensorProto::UINT16:
    dtype = DType::u16;
    break;
  case onnx::TensorProto::BOOL:
    dtype = DType::i1;
    break;
  default:
    return makeError(path + ": tensor '" + proto.name() +
                     "' has unsupported ONNX data type " +
                     llvm::Twine(proto.data_type()));
  }
  if (proto.data_location() == onnx::TensorProto::EXTERNAL)
    return makeError(path + ": tensor '" + proto.name() +
                     "' uses external data, which input files cannot");
  std::vector<int64_t> shape(proto.dims().begin(), proto.dims().end());
  for (int64_t dim : shape)
    if (dim < 0)
      return makeError(path + ": tensor '" + proto.name() +
                       "' has a negative dim");
  Tensor tensor(proto.name(), *dtype, shape);
  int64_t count = tensor.numElements();
  auto mismatch = [&](int64_t got) {
    return makeError(path + ": tensor '" + proto.name() + "' of shape " +
                     shapeToString(shape) + " holds " + llvm::Twine(got) +
                     " values");
  };
  char *out = static_cast<char *>(tensor.mutableData());
  if (proto.has_raw_data()) {
    if (proto.raw_data().size() != tensor.byteSize())
      return mismatch(proto.raw_data().size() / dtypeSize(*dtype));
    std::memcpy(out, proto.raw_data().data(), tensor.byteSize());
    return tensor;
  }
  auto copyAs = [&](const auto &values, auto convert) -> llvm::Error {
    if (values.size() != count)
      return mismatch(values.size());
    for (int64_t i = 0; i < count; ++i)
      convert(out, i, values.Get(i));
    return llvm::Error::success();
  };
  llvm::Error error = llvm::Error::success();
  switch (*dtype) {
  case DType::f32:
    error = copyAs(proto.float_data(), [](char *o, int64_t i, float v) {
      std::memcpy(o + 4 * i, &v, 4);
    });
    break;
  case DType::f64:
    error = copyAs(proto.double_data(), [](char *o, int64_t i, double v) {
      std::memcpy(o + 8 * i, &v, 8);
    });
    break;
  case DType::i64:
    error = copyAs(proto.int64_data(), [](char *o, int64_t i, int64_t v) {
      std::memcpy(o + 8 * i, &v, 8);
    });
    break;
  default: {
    // int32_data carries every narrower type (and f16/bf16 bit patterns).
    size_t size = dtypeSize(*dtype);
    error = copyAs(proto.int32_data(), [size](char *o, int64_t i, int32_t v) {
      std::memcpy(o + size * i, &v, size);
    });
  }
  }
  if (error)
    return std::move(error);
  return tensor;
}

llvm::Expected<Tensor> llmc::readTensorFile(StringRef path) {
  if (!path.ends_with(".npy") && !path.ends_with(".pb"))
    return makeError(path +
                     ": unknown tensor file type (expected .npy or .pb)");
  llvm::Expected<Tensor> tensor =
      path.ends_with(".npy") ? readNpy(path) : readTensorProto(path);
  if (tensor)
    tensor->source = path.str();
  return tensor;
}

//===----------------------------------------------------------------------===//
// Signatures
//===----------------------------------------------------------------------===//

static llvm::Expected<TensorSpec> specOf(StringRef name, mlir::Type type) {
  auto tensor = llvm::dyn_cast<mlir::RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return makeError("tensor '" + name + "' has no static shape");
  auto dtype = dtypeFromMLIR(tensor.getElementType());
  if (!dtype)
    return makeError("tensor '" + name + "' has an unsupported element type");
  TensorSpec spec;
  spec.name = name.str();
  spec.dtype = *dtype;
  spec.shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  return spec;
}

llvm::Expected<Signature> llmc::extractSignature(mlir::ModuleOp module,
                                                 StringRef entry) {
  auto func = module.lookupSymbol<mlir::func::FuncOp>(entry);
  if (!func)
    return makeError("the module has no function '" + entry + "'");
  Signature signature;
  signature.entry = entry.str();
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    mlir::Type type = func.getArgument(i).getType();
    if (auto weight =
            func.getArgAttrOfType<mlir::StringAttr>(i, mlir::llm::kWeightArgAttrName)) {
      auto spec = specOf(weight.getValue(), type);
      if (!spec)
        return spec.takeError();
      signature.weights.push_back(std::move(*spec));
      continue;
    }
    if (!signature.weights.empty())
      return makeError("input argument " + llvm::Twine(i) +
                       " follows a weight argument");
    auto name = func.getArgAttrOfType<mlir::StringAttr>(i, mlir::llm::kNameAttrName);
    auto spec = specOf(name ? name.getValue() : "input_" + std::to_string(i),
                       type);
    if (!spec)
      return spec.takeError();
    if (auto bound = func.getArgAttrOfType<mlir::IntegerAttr>(
            i, mlir::llm::kIndexBoundAttrName)) {
      spec->indexBound = bound.getInt();
      if (auto by = func.getArgAttrOfType<mlir::StringAttr>(
              i, mlir::llm::kIndexBoundByAttrName))
        spec->boundBy = by.getValue().str();
      if (auto ignore = func.getArgAttrOfType<mlir::IntegerAttr>(
              i, mlir::llm::kIndexIgnoreAttrName))
        spec->indexIgnore = ignore.getInt();
    }
    signature.inputs.push_back(std::move(*spec));
  }
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    auto name = func.getResultAttrOfType<mlir::StringAttr>(i, mlir::llm::kNameAttrName);
    auto spec = specOf(name ? name.getValue() : "output_" + std::to_string(i),
                       func.getResultTypes()[i]);
    if (!spec)
      return spec.takeError();
    if (func.getResultAttr(i, mlir::llm::kUnsignedAttrName)) {
      if (spec->dtype == DType::i8)
        spec->dtype = DType::u8;
      else if (spec->dtype == DType::i16)
        spec->dtype = DType::u16;
    }
    signature.outputs.push_back(std::move(*spec));
  }
  return signature;
}
