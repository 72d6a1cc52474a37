//===- ImportSupport.cpp - tensors, node state and op creation ------------===//
//
// Tensors (initializers, constants, external data), the node being imported
// (its inputs and attributes, compile-time values) and op creation.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "onnx/defs/schema.h"

namespace mlir::llm::importer {

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

FailureOr<TensorBytes>
ONNXImporter::readExternalData(const onnx::TensorProto &tensor, StringRef what,
                               uint64_t size) {
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  for (const onnx::StringStringEntryProto &entry : tensor.external_data()) {
    uint64_t number = 0;
    if (entry.key() == "location") {
      location = entry.value();
    } else if (entry.key() == "offset" || entry.key() == "length") {
      if (StringRef(entry.value()).getAsInteger(10, number))
        return error(what + " has an invalid external data " + entry.key() +
                     " '" + entry.value() + "'");
      if (entry.key() == "offset")
        offset = number;
      else
        length = number;
    }
  }
  if (location.empty())
    return error(what + " has external data without a location");
  if (length && *length != size)
    return error(what + " has " + Twine(*length) +
                 " bytes of external data, its type needs " + Twine(size));

  SmallString<256> path(baseDir);
  llvm::sys::path::append(path, location);
  uint64_t fileSize = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(path, fileSize))
    return error(what + ": cannot open external data file '" + path +
                 "': " + ec.message());
  if (offset > fileSize || fileSize - offset < size)
    return error(what + ": external data file '" + path + "' has " +
                 Twine(fileSize) + " bytes, the tensor needs bytes [" +
                 Twine(offset) + ", " + Twine(offset + size) + ")");
  TensorBytes data;
  if (size == 0) {
    data.string = std::make_unique<std::string>();
    return data;
  }
  auto buffer = llvm::MemoryBuffer::getFileSlice(path, size, offset);
  if (!buffer)
    return error(what + ": cannot read external data file '" + path +
                 "': " + buffer.getError().message());
  data.buffer = std::move(*buffer);
  return data;
}

FailureOr<ElementsAttr> ONNXImporter::tensorToAttr(onnx::TensorProto &tensor,
                                                   StringRef what,
                                                   StringRef blobName) {
  // 4-bit constants become a byte per value (unpacked below); FP8 E4M3
  // constants keep their bytes (the importer marks them, see e4m3Names).
  bool fourBit =
      tensor.data_type() == kOnnxInt4 || tensor.data_type() == kOnnxUInt4;
  ElementType element = fourBit || tensor.data_type() == kOnnxFloat8E4M3FN
                            ? ElementType{builder.getI8Type(), 1}
                            : elementTypeOf(tensor.data_type(), context);
  if (!element.type)
    return error(what + " has unsupported element type " +
                 dataTypeName(tensor.data_type()));
  SmallVector<int64_t> shape;
  int64_t count = 1;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0)
      return error(what + " has a negative dim " + Twine(dim));
    if (dim != 0 && count > (int64_t(1) << 48) / dim)
      return error(what + " has too many elements");
    count *= dim;
    shape.push_back(dim);
  }
  auto type = RankedTensorType::get(shape, element.type);
  uint64_t size = fourBit ? (static_cast<uint64_t>(count) + 1) / 2
                          : static_cast<uint64_t>(count) * element.byteWidth;

  TensorBytes data;
  auto copyValues = [&](const auto &field, auto convert) {
    using Out = decltype(convert(*field.begin()));
    data.string = std::make_unique<std::string>();
    data.string->resize(field.size() * sizeof(Out));
    char *out = data.string->data();
    for (const auto &value : field) {
      Out converted = convert(value);
      std::memcpy(out, &converted, sizeof(Out));
      out += sizeof(Out);
    }
  };
  auto same = [](auto v) { return v; };
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    FailureOr<TensorBytes> external = readExternalData(tensor, what, size);
    if (failed(external))
      return failure();
    data = std::move(*external);
  } else if (tensor.has_raw_data()) {
    data.string = std::make_unique<std::string>();
    data.string->swap(*tensor.mutable_raw_data());
  } else {
    switch (tensor.data_type()) {
    case onnx::TensorProto::FLOAT:
      copyValues(tensor.float_data(), same);
      break;
    case onnx::TensorProto::DOUBLE:
      copyValues(tensor.double_data(), same);
      break;
    case onnx::TensorProto::INT64:
      copyValues(tensor.int64_data(), same);
      break;
    case onnx::TensorProto::INT32:
      copyValues(tensor.int32_data(), same);
      break;
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
      copyValues(tensor.int32_data(),
                 [](int32_t v) { return static_cast<uint16_t>(v); });
      break;
    default:
      copyValues(tensor.int32_data(),
                 [](int32_t v) { return static_cast<uint8_t>(v); });
      break;
    }
  }

  ArrayRef<char> bytes = data.bytes();
  if (bytes.size() != size)
    return error(what + " has " + Twine(bytes.size()) +
                 " bytes of data, its shape " + shapeString(shape) + " of " +
                 dataTypeName(tensor.data_type()) + " needs " + Twine(size));

  if (element.type.isInteger(1)) {
    SmallVector<bool> bits;
    bits.reserve(count);
    for (char byte : bytes)
      bits.push_back(byte != 0);
    return ElementsAttr(DenseElementsAttr::get(type, bits));
  }
  if (fourBit) {
    // Value i is nibble i % 2 of byte i / 2: INT4 sign-extended (-8..7),
    // UINT4 as 0..15 (the same byte read either way).
    std::vector<int8_t> values(count);
    for (int64_t i = 0; i < count; ++i) {
      uint8_t nibble =
          (static_cast<uint8_t>(bytes[i / 2]) >> (4 * (i % 2))) & 0xf;
      values[i] = tensor.data_type() == kOnnxInt4
                      ? static_cast<int8_t>((nibble ^ 8) - 8)
                      : static_cast<int8_t>(nibble);
    }
    return largeToResource(
        DenseElementsAttr::get(type, ArrayRef<int8_t>(values)), blobName);
  }
  if (isInlineConstant(type))
    return ElementsAttr(DenseElementsAttr::getFromRawBuffer(type, bytes));

  size_t alignment = element.byteWidth;
  if (reinterpret_cast<uintptr_t>(bytes.data()) % alignment != 0)
    return ElementsAttr(DenseResourceElementsAttr::get(
        type, blobName,
        HeapAsmResourceBlob::allocateAndCopyWithAlign(
            bytes, alignment,
            /*dataIsMutable=*/false)));
  auto owner = std::make_shared<TensorBytes>(std::move(data));
  AsmResourceBlob blob(
      bytes, alignment,
      [owner](void *, size_t, size_t) mutable { owner.reset(); },
      /*dataIsMutable=*/false);
  return ElementsAttr(
      DenseResourceElementsAttr::get(type, blobName, std::move(blob)));
}

ElementsAttr ONNXImporter::largeToResource(DenseElementsAttr value,
                                           StringRef blobName) {
  auto type = cast<RankedTensorType>(value.getType());
  if (isInlineConstant(type) || value.isSplat() ||
      type.getElementType().isInteger(1))
    return value;
  size_t alignment = llvm::divideCeil(type.getElementTypeBitWidth(), 8);
  return DenseResourceElementsAttr::get(
      type, blobName,
      HeapAsmResourceBlob::allocateAndCopyWithAlign(value.getRawData(),
                                                    alignment,
                                                    /*dataIsMutable=*/false));
}

Value ONNXImporter::createConstant(ElementsAttr value, Location loc) {
  return llm::ConstantOp::create(builder, loc, value.getShapedType(), value);
}

//===----------------------------------------------------------------------===//
// The node being imported
//===----------------------------------------------------------------------===//

LogicalResult ONNXImporter::requireInputs(unsigned count) {
  for (unsigned i = 0; i < count; ++i) {
    if (input(i))
      continue;
    if (i >= static_cast<unsigned>(node->input_size()))
      return error("expects at least " + Twine(count) + " inputs, got " +
                   Twine(node->input_size()));
    // Named ('' in the node's inputs): the schema's name for it, where ONNX
    // defines the op.
    std::string name;
    bool optional = false;
    if (isDefaultDomain(node->domain()))
      if (const onnx::OpSchema *schema =
              onnx::OpSchemaRegistry::Schema(node->op_type(), opset, ""))
        if (i < schema->inputs().size()) {
          name = " (" + schema->inputs()[i].GetName() + ")";
          optional = schema->inputs()[i].GetOption() ==
                     onnx::OpSchema::FormalParameterOption::Optional;
        }
    return error("input " + Twine(i) + name + " is empty" +
                 (optional ? ": ONNX makes it optional, but llmc does not "
                             "support the op without it"
                           : ", and the op requires it"));
  }
  return success();
}

const onnx::AttributeProto *ONNXImporter::findAttr(StringRef name) const {
  for (const onnx::AttributeProto &attr : node->attribute())
    if (attr.name() == name)
      return &attr;
  return nullptr;
}

int64_t ONNXImporter::getInt(StringRef name, int64_t defaultValue) const {
  const onnx::AttributeProto *attr = findAttr(name);
  return attr && attr->type() == onnx::AttributeProto::INT ? attr->i()
                                                           : defaultValue;
}

float ONNXImporter::getFloat(StringRef name, float defaultValue) const {
  const onnx::AttributeProto *attr = findAttr(name);
  return attr && attr->type() == onnx::AttributeProto::FLOAT ? attr->f()
                                                             : defaultValue;
}

/// A FLOAT attribute's value, or none when the node has no such attribute.
std::optional<float> ONNXImporter::getOptionalFloat(StringRef name) const {
  const onnx::AttributeProto *attr = findAttr(name);
  if (attr && attr->type() == onnx::AttributeProto::FLOAT)
    return attr->f();
  return std::nullopt;
}

std::string ONNXImporter::getString(StringRef name,
                                    StringRef defaultValue) const {
  const onnx::AttributeProto *attr = findAttr(name);
  return attr && attr->type() == onnx::AttributeProto::STRING
             ? attr->s()
             : defaultValue.str();
}

std::optional<SmallVector<int64_t>>
ONNXImporter::getInts(StringRef name) const {
  const onnx::AttributeProto *attr = findAttr(name);
  if (!attr || attr->type() != onnx::AttributeProto::INTS)
    return std::nullopt;
  return SmallVector<int64_t>(attr->ints().begin(), attr->ints().end());
}

/// The integer contents of a value defined by an inline constant.
std::optional<SmallVector<int64_t>> constantIntsOf(Value value) {
  auto constant = value.getDefiningOp<llm::ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!dense || !dense.getElementType().isInteger())
    return std::nullopt;
  bool isBool = dense.getElementType().isInteger(1);
  SmallVector<int64_t> result;
  for (const APInt &v : dense.getValues<APInt>())
    result.push_back(isBool ? v.getZExtValue() : v.getSExtValue());
  return result;
}

/// The contents of a value defined by an inline constant, as doubles.
std::optional<SmallVector<double>> constantDoublesOf(Value value) {
  auto constant = value.getDefiningOp<llm::ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!dense)
    return std::nullopt;
  SmallVector<double> result;
  if (isa<FloatType>(dense.getElementType())) {
    for (APFloat v : dense.getValues<APFloat>())
      result.push_back(v.convertToDouble());
    return result;
  }
  if (std::optional<SmallVector<int64_t>> ints = constantIntsOf(value)) {
    for (int64_t v : *ints)
      result.push_back(static_cast<double>(v));
    return result;
  }
  return std::nullopt;
}

/// The elements of `value` where an op needs them at compile time, with the
/// element type's arithmetic: a constant, a graph input whose value is
/// known, or small arithmetic on those that the folders leave to run time
/// because it is in floats (torch writes a scripted loop's trip count as
/// Cast(Ceil(Cast(n - 1, f32) / 1.0), i64)). Only used for the operands that
/// must be known, it changes no run-time result.
std::optional<SmallVector<double>>
ONNXImporter::evaluate(Value value, unsigned depth) {
  value = known(value);
  if (std::optional<SmallVector<double>> constant = constantDoublesOf(value))
    return constant;
  auto type = dyn_cast<RankedTensorType>(value.getType());
  Operation *op = value.getDefiningOp();
  constexpr int64_t kMaxElements = 64;
  if (!op || depth > 16 || !type || !type.hasStaticShape() ||
      type.getNumElements() > kMaxElements)
    return std::nullopt;
  Type element = type.getElementType();
  // Rounds a double to the element type's values.
  auto round = [&](double v) -> std::optional<double> {
    if (element.isF32())
      return static_cast<double>(static_cast<float>(v));
    if (element.isF64())
      return v;
    if (auto intType = dyn_cast<IntegerType>(element)) {
      if (intType.getWidth() == 1)
        return v != 0 ? 1.0 : 0.0;
      double t = std::trunc(v);
      double limit = std::ldexp(1.0, intType.getWidth() - 1);
      if (!(t >= -limit && t < limit))
        return std::nullopt;
      return t;
    }
    return std::nullopt; // 16-bit floats: not needed for counts.
  };
  auto operand = [&](unsigned i) {
    return evaluate(op->getOperand(i), depth + 1);
  };
  SmallVector<double> result;
  if (isa<llm::CastOp, llm::CeilOp, llm::FloorOp, llm::NegOp, llm::AbsOp,
          llm::ReluOp, llm::ReshapeOp>(op)) {
    std::optional<SmallVector<double>> in = operand(0);
    if (!in || in->size() != static_cast<size_t>(type.getNumElements()))
      return std::nullopt;
    for (double v : *in) {
      double r = isa<llm::CeilOp>(op)    ? std::ceil(v)
                 : isa<llm::FloorOp>(op) ? std::floor(v)
                 : isa<llm::NegOp>(op)   ? -v
                 : isa<llm::AbsOp>(op)   ? std::fabs(v)
                 : isa<llm::ReluOp>(op)  ? std::max(v, 0.0)
                                         : v;
      std::optional<double> rounded = round(r);
      if (!rounded)
        return std::nullopt;
      result.push_back(*rounded);
    }
    return result;
  }
  if (isa<llm::AddOp, llm::SubOp, llm::MulOp, llm::DivOp, llm::MaxOp,
          llm::MinOp>(op)) {
    std::optional<SmallVector<double>> lhs = operand(0), rhs = operand(1);
    size_t count = type.getNumElements();
    // Same-shaped operands or a single element broadcast: the counts and
    // bounds this serves.
    auto fits = [&](const SmallVector<double> &v) {
      return v.size() == count || v.size() == 1;
    };
    if (!lhs || !rhs || !fits(*lhs) || !fits(*rhs))
      return std::nullopt;
    bool isInt = isa<IntegerType>(element);
    for (size_t i = 0; i < count; ++i) {
      double a = (*lhs)[lhs->size() == 1 ? 0 : i];
      double b = (*rhs)[rhs->size() == 1 ? 0 : i];
      double r;
      if (isa<llm::AddOp>(op))
        r = a + b;
      else if (isa<llm::SubOp>(op))
        r = a - b;
      else if (isa<llm::MulOp>(op))
        r = a * b;
      else if (isa<llm::MaxOp>(op))
        r = std::max(a, b);
      else if (isa<llm::MinOp>(op))
        r = std::min(a, b);
      else if (isInt && b == 0)
        return std::nullopt;
      else
        r = a / b;
      std::optional<double> rounded = round(r);
      if (!rounded)
        return std::nullopt;
      result.push_back(*rounded);
    }
    return result;
  }
  return std::nullopt;
}

std::optional<SmallVector<int64_t>>
ONNXImporter::compileTimeInts(Value value) {
  value = known(value);
  if (std::optional<SmallVector<int64_t>> ints = constantIntsOf(value))
    return ints;
  if (!cast<RankedTensorType>(value.getType()).getElementType().isInteger())
    return std::nullopt;
  std::optional<SmallVector<double>> values = evaluate(value);
  if (!values)
    return std::nullopt;
  SmallVector<int64_t> ints;
  for (double v : *values)
    ints.push_back(static_cast<int64_t>(v));
  return ints;
}

FailureOr<SmallVector<int64_t>>
ONNXImporter::constantInts(unsigned index, StringRef inputName) {
  Value value = known(input(index));
  if (!value)
    return error("expects input '" + inputName + "'");
  if (!cast<RankedTensorType>(value.getType()).getElementType().isInteger())
    return error("expects input '" + inputName + "' of an integer type");
  std::optional<SmallVector<int64_t>> ints = compileTimeInts(value);
  if (!ints)
    return error("input '" + inputName +
                 "' must be a compile-time constant; give static input shapes "
                 "with --shape");
  return *ints;
}

FailureOr<int64_t> ONNXImporter::constantScalarInt(unsigned index,
                                                   StringRef inputName) {
  FailureOr<SmallVector<int64_t>> ints = constantInts(index, inputName);
  if (failed(ints))
    return failure();
  if (ints->size() != 1)
    return error("expects input '" + inputName + "' to hold one value, got " +
                 Twine(ints->size()));
  return ints->front();
}

FailureOr<int64_t> ONNXImporter::normalizeAxis(int64_t axis, int64_t rank,
                                               StringRef what) {
  if (axis < -rank || axis >= rank)
    return error("expects " + what + " in [" + Twine(-rank) + ", " +
                 Twine(rank) + "), got " + Twine(axis));
  return axis < 0 ? axis + rank : axis;
}

LogicalResult ONNXImporter::setResult(FailureOr<Value> value) {
  if (failed(value))
    return failure();
  results.push_back(*value);
  return success();
}

//===----------------------------------------------------------------------===//
// Op creation
//===----------------------------------------------------------------------===//

SmallVector<Value> ONNXImporter::foldResults(Operation *op) {
  SmallVector<Value> values(op->getResults());
  if (op->hasTrait<OpTrait::ConstantLike>())
    return values;
  SmallVector<OpFoldResult> folded;
  if (failed(op->fold(folded)) || folded.size() != values.size())
    return values;
  bool replacedAll = true;
  for (auto [index, result] : llvm::enumerate(folded)) {
    Value replacement = dyn_cast<Value>(result);
    if (auto attr = dyn_cast_if_present<Attribute>(result))
      if (Operation *constant = op->getDialect()->materializeConstant(
              builder, attr, values[index].getType(), op->getLoc()))
        replacement = constant->getResult(0);
    if (replacement && replacement != values[index])
      values[index] = replacement;
    else
      replacedAll = false;
  }
  if (replacedAll)
    op->erase();
  return values;
}

FailureOr<Value> ONNXImporter::reshape(Value value, ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, typeOf(value).getElementType());
  if (type == value.getType())
    return value;
  return create<llm::ReshapeOp>(value, {}, type);
}

FailureOr<Value> ONNXImporter::castTo(Value value, Type elementType) {
  RankedTensorType type = typeOf(value);
  if (type.getElementType() == elementType)
    return value;
  return create<llm::CastOp>(value, {}, type.clone(elementType));
}

} // namespace mlir::llm::importer
