//===- ImportQuantization.cpp - ONNX import of quantized ops --------------===//
//
// Quantization: QuantizeLinear, DequantizeLinear (blocked too),
// MatMulInteger, QLinear* and the com.microsoft quantized ops.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

namespace mlir::llm::importer {

//===----------------------------------------------------------------------===//
// Quantization (QuantizeLinear, DequantizeLinear, MatMulInteger,
// QLinearMatMul, DynamicQuantizeLinear) onto llm.quantize, llm.dequantize and
// llm.qmatmul
//===----------------------------------------------------------------------===//

LogicalResult ONNXImporter::requireQuantized(Value value, StringRef what,
                                             bool allowI32, bool allowI16) {
  Type element = typeOf(value).getElementType();
  if (element.isInteger(8) || (allowI32 && element.isInteger(32)) ||
      (allowI16 && element.isInteger(16)))
    return success();
  std::string text;
  llvm::raw_string_ostream os(text);
  os << element;
  return error(what + " has element type " + text + "; expected int8 or uint8" +
               (allowI16 ? ", int16 or uint16" : "") +
               (allowI32 ? " (or int32)" : ""));
}

FailureOr<Value> ONNXImporter::floatParameter(Value value, StringRef what) {
  if (!isa<FloatType>(typeOf(value).getElementType()))
    return error(what + " must be a float tensor");
  return castTo(value, builder.getF32Type());
}

/// A per-tensor parameter stays as it is; a 1-D one of size C becomes
/// [1, .., C, .., 1] with C at `axis`, so that it broadcasts.
FailureOr<Value> ONNXImporter::alongAxis(Value parameter, int64_t rank,
                                         int64_t axis, StringRef what) {
  RankedTensorType type = typeOf(parameter);
  if (type.getRank() == 0 || (type.getRank() == 1 && type.getDimSize(0) == 1))
    return parameter;
  if (type.getRank() != 1)
    return error(what +
                 " must be a scalar or 1-D (or, with block_size, of x's rank), "
                 "got " +
                 llm::shapeString(type.getShape()));
  FailureOr<int64_t> normalized = normalizeAxis(axis, rank);
  if (failed(normalized))
    return failure();
  SmallVector<int64_t> shape(rank, 1);
  shape[*normalized] = type.getDimSize(0);
  return reshape(parameter, shape);
}

FailureOr<Value> ONNXImporter::scalarF32(float value) {
  return scalarOf(builder.getF32Type(), value);
}

static std::optional<std::vector<int8_t>> constantI8Values(Value value);
static std::optional<std::vector<float>> constantFloatValues(Value value);

/// An FP8 zero point is there for its type only: ONNX defines FLOAT8 zero
/// points as 0 (either sign).
LogicalResult ONNXImporter::requireZeroE4M3(Value zero, StringRef what) {
  std::optional<std::vector<int8_t>> bytes = constantI8Values(known(zero));
  if (!bytes)
    return error(what + " of FLOAT8E4M3FN must be a constant (of zeros)");
  if (!llvm::all_of(*bytes, [](int8_t b) { return (b & 0x7F) == 0; }))
    return error(what + " of FLOAT8E4M3FN must be 0, as ONNX defines it");
  return success();
}

/// QuantizeLinear of a constant x with constant parameters (a weight that
/// the graph quantizes, as ModelOpt's FP8 exports and fake-quantized QDQ
/// models leave it), quantized here exactly as llm.quantize defines it, so
/// that its products read constant bytes; none when an operand is not a
/// constant or the parameters do not lie along `axis` (the op's own checks
/// then report it).
std::optional<Value> ONNXImporter::quantizedConstant(Value x, Value scale,
                                                     Value zero, int64_t axis,
                                                     bool isUnsigned, bool e4m3,
                                                     unsigned bits) {
  RankedTensorType type = typeOf(x);
  if (!type.hasStaticShape() || typeOf(scale).getRank() > 1 ||
      (zero && typeOf(zero).getRank() > 1))
    return std::nullopt;
  std::optional<std::vector<float>> xs = constantFloatValues(known(x));
  std::optional<std::vector<float>> ss = constantFloatValues(known(scale));
  // Zero points as their integer values (uint8 and uint16 read unsigned).
  std::optional<std::vector<int32_t>> zs;
  auto zeroConstant =
      zero ? known(zero).getDefiningOp<llm::ConstantOp>() : llm::ConstantOp();
  auto zeroElements =
      zeroConstant ? dyn_cast<ElementsAttr>(zeroConstant.getValue()) : nullptr;
  if (zeroElements && zeroElements.getElementType().isInteger(bits)) {
    auto level = [&](const APInt &v) {
      return isUnsigned ? static_cast<int32_t>(v.getZExtValue())
                        : static_cast<int32_t>(v.getSExtValue());
    };
    if (auto dense = dyn_cast<DenseElementsAttr>(zeroConstant.getValue())) {
      zs.emplace();
      for (const APInt &v : dense.getValues<APInt>())
        zs->push_back(level(v));
    } else if (std::optional<ArrayRef<char>> bytes =
                   llm::rawElementBytes(zeroElements)) {
      // A resource (little-endian levels of bits / 8 bytes).
      zs.emplace();
      size_t width = bits / 8;
      for (size_t i = 0; i + width <= bytes->size(); i += width) {
        uint64_t raw = 0;
        std::memcpy(&raw, bytes->data() + i, width);
        zs->push_back(level(APInt(bits, raw)));
      }
    }
  }
  if (!xs || !ss || (zero && !zs) || ss->empty() ||
      (zs && zs->size() != ss->size()) ||
      static_cast<int64_t>(xs->size()) != type.getNumElements())
    return std::nullopt;
  // Element i reads parameter (i / inner) % channels.
  int64_t channels = ss->size(), inner = 1;
  if (channels != 1) {
    int64_t rank = type.getRank();
    int64_t dim = axis < 0 ? axis + rank : axis;
    if (dim < 0 || dim >= rank || type.getDimSize(dim) != channels)
      return std::nullopt;
    for (int64_t d = dim + 1; d < rank; ++d)
      inner *= type.getDimSize(d);
  }
  float lo = isUnsigned ? 0.0f : -std::ldexp(1.0f, bits - 1),
        hi = isUnsigned ? std::ldexp(1.0f, bits) - 1
                        : std::ldexp(1.0f, bits - 1) - 1;
  std::vector<int32_t> levels(xs->size());
  for (size_t i = 0; i < xs->size(); ++i) {
    size_t c = channels == 1 ? 0 : (i / inner) % channels;
    float v = (*xs)[i] / (*ss)[c];
    if (e4m3) {
      levels[i] = static_cast<int8_t>(llmc::toE4M3(v));
      continue;
    }
    v = std::nearbyint(v);
    if (zs)
      v += (*zs)[c];
    // fmax gives lo for NaN, as llm.quantize saturates it.
    v = std::fmin(std::fmax(v, lo), hi);
    levels[i] = static_cast<int32_t>(v);
  }
  DenseElementsAttr value;
  if (bits == 16) {
    std::vector<int16_t> halves(levels.begin(), levels.end());
    value = DenseElementsAttr::get(type.clone(builder.getI16Type()),
                                   ArrayRef<int16_t>(halves));
  } else {
    std::vector<int8_t> bytes(levels.begin(), levels.end());
    value = DenseElementsAttr::get(type.clone(builder.getI8Type()),
                                   ArrayRef<int8_t>(bytes));
  }
  return createConstant(
      largeToResource(value, blobNameFor(node->output_size() ? node->output(0)
                                                             : node->name())),
      nodeLoc);
}

/// x (f32) / scale rounded to FP8 E4M3 bytes, saturating (ONNX's
/// saturate = 1, its default: ±inf and magnitudes past 448 become ±448).
FailureOr<Value> ONNXImporter::quantizeE4M3(Value x, Value scale) {
  if (getInt("saturate", 1) == 0)
    return error("saturate = 0 (FLOAT8E4M3FN out of range to NaN) is not "
                 "supported; saturate = 1 is");
  return create<llm::QuantizeOp>({x, scale},
                                 {namedAttr("e4m3", builder.getUnitAttr())},
                                 typeOf(x).clone(builder.getI8Type()));
}

LogicalResult ONNXImporter::importQuantizeLinear() {
  if (failed(requireInputs(2)))
    return failure();
  if (getInt("block_size", 0) != 0)
    return error("blocked quantization (block_size) is not supported");
  Value x = input(0), zero = input(2);
  if (!isa<FloatType>(typeOf(x).getElementType()))
    return error("x must be a float tensor");
  FailureOr<Value> floatX = castTo(x, builder.getF32Type());
  FailureOr<Value> scale = floatParameter(input(1), "y_scale");
  if (failed(floatX) || failed(scale))
    return failure();
  int64_t rank = typeOf(x).getRank();
  int64_t axis = getInt("axis", 1);
  if (isE4M3Input(2) || node->domain() == "trt" ||
      (!zero && getInt("output_dtype", 0) == kOnnxFloat8E4M3FN)) {
    if (zero && failed(requireZeroE4M3(zero, "y_zero_point")))
      return failure();
    if (getInt("saturate", 1) != 0)
      if (std::optional<Value> folded =
              quantizedConstant(x, input(1), Value(), axis, false, true)) {
        markE4M3Output(0);
        return setResult(*folded);
      }
    scale = alongAxis(*scale, rank, axis, "y_scale");
    if (failed(scale))
      return failure();
    markE4M3Output(0);
    return setResult(quantizeE4M3(*floatX, *scale));
  }
  // 8 or 16 bits (int16 and uint16: opset 21, or ONNX Runtime's
  // com.microsoft QuantizeLinear before it), as the zero point's type or
  // output_dtype says.
  bool isUnsigned;
  Type element;
  if (zero) {
    if (failed(requireQuantized(zero, "y_zero_point", false,
                                /*allowI16=*/true)))
      return failure();
    isUnsigned = isUnsignedInput(2);
    element = typeOf(zero).getElementType();
  } else {
    int64_t dtype = getInt("output_dtype", onnx::TensorProto::UINT8);
    if (dtype != onnx::TensorProto::UINT8 && dtype != onnx::TensorProto::INT8 &&
        dtype != onnx::TensorProto::UINT16 && dtype != onnx::TensorProto::INT16)
      return error("output_dtype " + dataTypeName(dtype) +
                   " is not supported (INT8, UINT8, INT16, UINT16 and "
                   "FLOAT8E4M3FN are)");
    isUnsigned =
        dtype == onnx::TensorProto::UINT8 || dtype == onnx::TensorProto::UINT16;
    element =
        dtype == onnx::TensorProto::UINT8 || dtype == onnx::TensorProto::INT8
            ? builder.getI8Type()
            : builder.getI16Type();
  }
  if (std::optional<Value> folded =
          quantizedConstant(x, input(1), zero, axis, isUnsigned, false,
                            element.getIntOrFloatBitWidth())) {
    if (isUnsigned)
      markUnsignedOutput(0);
    return setResult(*folded);
  }
  scale = alongAxis(*scale, rank, axis, "y_scale");
  if (failed(scale))
    return failure();
  SmallVector<Value> operands{*floatX, *scale};
  if (zero) {
    FailureOr<Value> shaped = alongAxis(zero, rank, axis, "y_zero_point");
    if (failed(shaped))
      return failure();
    operands.push_back(*shaped);
  }
  SmallVector<NamedAttribute> attrs;
  if (isUnsigned)
    attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
  if (isUnsigned)
    markUnsignedOutput(0);
  return setResult(
      create<llm::QuantizeOp>(operands, attrs, typeOf(x).clone(element)));
}

LogicalResult ONNXImporter::importDequantizeLinear() {
  if (failed(requireInputs(2)))
    return failure();
  bool e4m3 = isE4M3Input(0);
  if (node->domain() == "trt" && !e4m3)
    return error("x must be FLOAT8E4M3FN (TRT_FP8QuantizeLinear's result or "
                 "an FP8 tensor)");
  if (int64_t block = getInt("block_size", 0); block != 0) {
    if (block < 0)
      return error("block_size must be positive, got " + Twine(block));
    if (e4m3)
      return error("blocked FLOAT8E4M3FN dequantization (block_size) is not "
                   "supported");
    return importBlockedDequantize(block);
  }
  Value x = input(0), zero = input(2);
  if (failed(requireQuantized(x, "x", true, /*allowI16=*/true)))
    return failure();
  if (e4m3 && zero && failed(requireZeroE4M3(zero, "x_zero_point")))
    return failure();
  Type scaleType = typeOf(input(1)).getElementType();
  FailureOr<Value> scale = floatParameter(input(1), "x_scale");
  if (failed(scale))
    return failure();
  int64_t rank = typeOf(x).getRank();
  int64_t axis = getInt("axis", 1);
  scale = alongAxis(*scale, rank, axis, "x_scale");
  if (failed(scale))
    return failure();
  bool isUnsigned = isUnsignedInput(0);
  SmallVector<Value> operands{x, *scale};
  if (zero && !e4m3) {
    if (typeOf(zero).getElementType() != typeOf(x).getElementType())
      return error("x_zero_point must have the element type of x");
    FailureOr<Value> shaped = alongAxis(zero, rank, axis, "x_zero_point");
    if (failed(shaped))
      return failure();
    operands.push_back(*shaped);
  }
  SmallVector<NamedAttribute> attrs;
  if (isUnsigned && !typeOf(x).getElementType().isInteger(32))
    attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
  if (e4m3)
    attrs.push_back(namedAttr("e4m3", builder.getUnitAttr()));
  FailureOr<Value> result = create<llm::DequantizeOp>(
      operands, attrs, typeOf(x).clone(builder.getF32Type()));
  if (failed(result))
    return failure();
  return setResult(castTo(*result, scaleType));
}

/// The bytes of a value defined by a constant (inline or a resource blob).
static std::optional<ArrayRef<char>> constantBytesOf(Value value) {
  auto constant = value.getDefiningOp<llm::ConstantOp>();
  return constant ? llm::rawElementBytes(constant.getValue()) : std::nullopt;
}

/// The elements of a constant i8 tensor, splats included.
static std::optional<std::vector<int8_t>> constantI8Values(Value value) {
  auto constant = value.getDefiningOp<llm::ConstantOp>();
  return constant ? llm::int8Elements(constant.getValue()) : std::nullopt;
}

/// The elements of a constant f32, f16 or bf16 tensor as floats, splats
/// included.
static std::optional<std::vector<float>> constantFloatValues(Value value) {
  auto constant = value.getDefiningOp<llm::ConstantOp>();
  return constant ? llm::floatElements(constant.getValue()) : std::nullopt;
}

/// DequantizeLinear with block_size (opset 21; ONNX Runtime's QDQ 4-bit
/// weight quantizer writes it with axis 0 on INT4/UINT4 weights [K, N]):
/// x_scale and x_zero_point have x's shape with ceil(D / block_size) along
/// `axis`, element i of that axis reading block i / block_size. llm's
/// dequantize takes its blocks along the last dim, so a constant 2-D x
/// blocked along its rows becomes the weight-only layout of MatMulNBits
/// ([N, K], two values a byte when all fit in 4 bits, [N, blocks]
/// parameters, dequantized then transposed back: a MatMul reading it
/// multiplies by the packed weight), and any other x is transposed to put
/// `axis` last and back.
LogicalResult ONNXImporter::importBlockedDequantize(int64_t block) {
  Value x = known(input(0)), scale = known(input(1));
  Value zero = input(2) ? known(input(2)) : Value();
  if (failed(requireQuantized(x, "x", false)))
    return failure();
  auto scaleElement = dyn_cast<FloatType>(typeOf(scale).getElementType());
  if (!scaleElement)
    return error("x_scale must be a float tensor");
  RankedTensorType xType = typeOf(x);
  int64_t rank = xType.getRank();
  if (rank == 0)
    return error("blocked quantization needs an x of rank >= 1");
  FailureOr<int64_t> axis = normalizeAxis(getInt("axis", 1), rank);
  if (failed(axis))
    return failure();
  int64_t extent = xType.getDimSize(*axis);
  if (ShapedType::isDynamic(extent))
    return error("blocked quantization needs a static size along axis " +
                 Twine(*axis));
  int64_t blocks = extent == 0 ? 0 : (extent - 1) / block + 1;
  SmallVector<int64_t> parameterShape(xType.getShape());
  parameterShape[*axis] = blocks;
  auto checkShape = [&](Value value, StringRef what) -> LogicalResult {
    if (typeOf(value).getShape() == ArrayRef<int64_t>(parameterShape))
      return success();
    return error(what + " must have shape " + shapeString(parameterShape) +
                 " (x's, with ceil(" + Twine(extent) + " / block_size " +
                 Twine(block) + ") along axis " + Twine(*axis) + "), got " +
                 shapeString(typeOf(value).getShape()));
  };
  if (failed(checkShape(scale, "x_scale")))
    return failure();
  if (zero) {
    if (typeOf(zero).getElementType() != xType.getElementType())
      return error("x_zero_point must have the element type of x");
    if (failed(checkShape(zero, "x_zero_point")))
      return failure();
  }
  bool isUnsigned = isUnsignedInput(0);
  Type f32 = builder.getF32Type();

  std::optional<std::vector<int8_t>> values, zeros;
  std::optional<std::vector<float>> scales;
  if (rank == 2 && *axis == 0 && xType.hasStaticShape()) {
    values = constantI8Values(x);
    scales = constantFloatValues(scale);
    if (zero)
      zeros = constantI8Values(zero);
  }
  if (values && scales && (!zero || zeros)) {
    int64_t k = extent, n = xType.getDimSize(1);
    auto read = [&](int8_t v) -> int {
      return isUnsigned ? static_cast<uint8_t>(v) : v;
    };
    auto fitsFour = [&](int8_t v) {
      return isUnsigned ? read(v) <= 15 : (v >= -8 && v <= 7);
    };
    bool four = llvm::all_of(*values, fitsFour) &&
                (!zeros || llvm::all_of(*zeros, fitsFour));
    int64_t bits = four ? 4 : 8, mid = int64_t(1) << (bits - 1);
    // The layouts the weight-only kernels read: signed values without zero
    // points, or unsigned ones with them (a signed pair shifted by 2^(bits-1)
    // leaves each difference as it was).
    bool signedOnly = !isUnsigned && !zero;
    int shift = signedOnly || isUnsigned ? 0 : mid;
    int64_t rowBytes = four ? (k + 1) / 2 : k;
    // [N, K] (the transpose), shifted; two values a byte when 4-bit.
    std::vector<int8_t> packed(n * k);
    for (int64_t row = 0; row < k; ++row)
      for (int64_t col = 0; col < n; ++col)
        packed[col * k + row] =
            static_cast<int8_t>(read((*values)[row * n + col]) + shift);
    if (four)
      packed = llm::packNibbles(packed, n, k);
    std::vector<float> wideScales(n * blocks);
    std::vector<int8_t> zeroPoints(signedOnly ? 0 : n * blocks, 0);
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t col = 0; col < n; ++col) {
        wideScales[col * blocks + b] = (*scales)[b * n + col];
        if (zeros)
          zeroPoints[col * blocks + b] =
              static_cast<int8_t>(read((*zeros)[b * n + col]) + shift);
      }
    std::string name = !node->name().empty() ? node->name() : node->output(0);
    Type i8 = builder.getI8Type();
    SmallVector<Value> operands{
        createConstant(
            largeToResource(
                DenseElementsAttr::get(RankedTensorType::get({n, rowBytes}, i8),
                                       ArrayRef<int8_t>(packed)),
                blobNameFor(name + ".x")),
            nodeLoc),
        createConstant(
            largeToResource(
                DenseElementsAttr::get(RankedTensorType::get({n, blocks}, f32),
                                       ArrayRef<float>(wideScales)),
                blobNameFor(name + ".scales")),
            nodeLoc)};
    SmallVector<NamedAttribute> attrs{
        namedAttr("bits", builder.getI64IntegerAttr(bits)),
        namedAttr("block_size", builder.getI64IntegerAttr(block))};
    if (!signedOnly) {
      operands.push_back(createConstant(
          largeToResource(
              DenseElementsAttr::get(RankedTensorType::get({n, blocks}, i8),
                                     ArrayRef<int8_t>(zeroPoints)),
              blobNameFor(name + ".zero_points")),
          nodeLoc));
      attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
    }
    FailureOr<Value> rows = create<llm::DequantizeOp>(
        operands, attrs, RankedTensorType::get({n, k}, f32));
    if (failed(rows))
      return failure();
    FailureOr<Value> typed = castTo(*rows, scaleElement);
    if (failed(typed))
      return failure();
    return setResult(create<llm::TransposeOp>(
        *typed,
        {namedAttr("permutation", builder.getDenseI64ArrayAttr({1, 0}))}));
  }

  // Any other x: `axis` moved last, dequantized, moved back.
  FailureOr<Value> wideScale = castTo(scale, f32);
  if (failed(wideScale))
    return failure();
  FailureOr<Value> result =
      dequantizeBlocks(x, *wideScale, zero, *axis, block, isUnsigned);
  if (failed(result))
    return failure();
  return setResult(castTo(*result, scaleElement));
}

/// f32 (x - zero) * scale with scale and zero (optional) per block of
/// `block` elements along `axis` (x's shape with ceil(D / block) there):
/// llm.dequantize takes its blocks along the last dim, so any other axis is
/// moved last and back.
FailureOr<Value> ONNXImporter::dequantizeBlocks(Value x, Value scale,
                                                Value zero, int64_t axis,
                                                int64_t block,
                                                bool isUnsigned) {
  int64_t rank = typeOf(x).getRank();
  SmallVector<int64_t> perm, inverse(rank);
  for (int64_t i = 0; i < rank; ++i)
    if (i != axis)
      perm.push_back(i);
  perm.push_back(axis);
  for (int64_t i = 0; i < rank; ++i)
    inverse[perm[i]] = i;
  auto moveLast = [&](Value value) -> Value {
    return axis == rank - 1 || !value ? value : transposed(value, perm);
  };
  SmallVector<Value> operands{moveLast(x), moveLast(scale)};
  if (zero)
    operands.push_back(moveLast(zero));
  if (llvm::is_contained(operands, Value()))
    return failure();
  SmallVector<NamedAttribute> attrs{
      namedAttr("block_size", builder.getI64IntegerAttr(block))};
  if (isUnsigned)
    attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
  FailureOr<Value> result = create<llm::DequantizeOp>(
      operands, attrs, typeOf(operands[0]).clone(builder.getF32Type()));
  if (failed(result) || axis == rank - 1)
    return result;
  Value back = transposed(*result, inverse);
  if (!back)
    return failure();
  return back;
}

/// com.microsoft GatherBlockQuantized (ONNX Runtime's weight-only
/// quantization of an embedding table, onnxruntime-genai's int4 or shared
/// embeddings): Gather along gather_axis of data dequantized per block of
/// block_size along quantize_axis. data is INT4/UINT4 (zero points of its
/// type, default 0) or uint8 holding `bits` 4 (two a byte, the low nibble
/// first) or 8 along the last axis, gather_axis 0, with packed uint8 zero
/// points (default 2^(bits - 1)). The rows are gathered, with their scales
/// and zero points, then dequantized; the result has the scales' type. An
/// index out of range reads a clamped row (ONNX Runtime writes zeros).
LogicalResult ONNXImporter::importGatherBlockQuantized() {
  if (failed(requireInputs(3)))
    return failure();
  Value data = known(input(0)), indices = input(1), scale = input(2),
        zero = input(3) ? known(input(3)) : Value();
  if (failed(requireQuantized(data, "data", false)))
    return failure();
  auto scaleElement = dyn_cast<FloatType>(typeOf(scale).getElementType());
  if (!scaleElement)
    return error("scales must be a float tensor");
  RankedTensorType dataType = typeOf(data);
  int64_t rank = dataType.getRank();
  FailureOr<int64_t> gatherAxis = normalizeAxis(getInt("gather_axis", 0), rank);
  FailureOr<int64_t> quantizeAxis =
      normalizeAxis(getInt("quantize_axis", 1), rank);
  if (failed(gatherAxis) || failed(quantizeAxis))
    return failure();
  int64_t block = getInt("block_size", 128), bits = getInt("bits", 4);
  if (block < 16 || (block & (block - 1)) != 0)
    return error("block_size must be a power of two of at least 16, got " +
                 Twine(block));
  if (*gatherAxis == *quantizeAxis)
    return error("gather_axis and quantize_axis must differ");
  // uint8 data packs `bits` values a byte along the last axis (the model
  // builder's layout, MatMulNBits'); INT4/UINT4 tensors are a byte per value
  // here already.
  bool fourBit = fourBitNames.contains(node->input(0));
  bool packedBytes = isUnsignedInput(0) && !fourBit;
  if (!fourBit && !packedBytes)
    return error("data must be INT4, UINT4 or uint8");
  if (packedBytes) {
    if (bits != 4 && bits != 8)
      return error("uint8 data with bits " + Twine(bits) +
                   " is not supported (4 or 8)");
    if (*gatherAxis != 0 || *quantizeAxis != rank - 1)
      return error("uint8 data needs gather_axis 0 and quantize_axis the last "
                   "axis");
  } else if (bits != 4) {
    return error("INT4/UINT4 data needs bits 4, got " + Twine(bits));
  }
  int64_t extent =
      dataType.getDimSize(*quantizeAxis) * (packedBytes && bits == 4 ? 2 : 1);
  int64_t blocks = extent == 0 ? 0 : (extent - 1) / block + 1;
  SmallVector<int64_t> scaleShape(dataType.getShape());
  scaleShape[*quantizeAxis] = blocks;
  if (typeOf(scale).getShape() != ArrayRef<int64_t>(scaleShape))
    return error("scales must have shape " + shapeString(scaleShape) +
                 ", got " + shapeString(typeOf(scale).getShape()));
  Type i8 = builder.getI8Type();
  bool isUnsigned = isUnsignedInput(0);
  if (packedBytes) {
    // Zero points: packed like the data (4 bits), or the default 2^(bits-1).
    if (zero && bits == 4) {
      std::optional<std::vector<int8_t>> packed = constantI8Values(zero);
      SmallVector<int64_t> zeroShape(scaleShape);
      zeroShape.back() = (blocks + 1) / 2;
      if (!packed || typeOf(zero).getShape() != ArrayRef<int64_t>(zeroShape))
        return error("zero_points must be a constant of shape " +
                     shapeString(zeroShape));
      int64_t rows = typeOf(zero).getNumElements() / zeroShape.back();
      std::vector<int8_t> unpacked(rows * blocks);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t b = 0; b < blocks; ++b)
          unpacked[r * blocks + b] = static_cast<int8_t>(
              (static_cast<uint8_t>((*packed)[r * zeroShape.back() + b / 2]) >>
               (4 * (b % 2))) &
              0xf);
      zero = denseConstant(i8, scaleShape, ArrayRef<int8_t>(unpacked));
    }
  }
  if (zero && typeOf(zero).getRank() == rank &&
      typeOf(zero).getShape() != ArrayRef<int64_t>(scaleShape))
    return error("zero_points must have shape " + shapeString(scaleShape) +
                 ", got " + shapeString(typeOf(zero).getShape()));
  // A constant INT4/UINT4 table quantized along its last axis stays 4-bit:
  // two values a byte along that axis, the low nibble first.
  bool packFour = false;
  if (fourBit && *quantizeAxis == rank - 1 && dataType.hasStaticShape()) {
    if (std::optional<std::vector<int8_t>> values = constantI8Values(data)) {
      int64_t k = dataType.getShape().back(), packedK = (k + 1) / 2;
      int64_t rows = dataType.getNumElements() / std::max<int64_t>(k, 1);
      std::vector<int8_t> packed = llm::packNibbles(*values, rows, k);
      SmallVector<int64_t> shape(dataType.getShape());
      shape.back() = packedK;
      std::string name = !node->name().empty() ? node->name() : node->output(0);
      data =
          createConstant(largeToResource(DenseElementsAttr::get(
                                             RankedTensorType::get(shape, i8),
                                             ArrayRef<int8_t>(packed)),
                                         blobNameFor(name + ".data")),
                         nodeLoc);
      packFour = true;
    }
  }
  // Gather the rows of data, scales and zero points (those of full rank).
  NamedAttribute axisAttr =
      namedAttr("axis", builder.getI64IntegerAttr(*gatherAxis));
  auto gathered = [&](Value value) -> Value {
    if (!value || typeOf(value).getRank() != rank)
      return value;
    return orNull(create<llm::GatherOp>({value, indices}, {axisAttr}));
  };
  Value rows = gathered(data),
        rowScales = gathered(orNull(castTo(scale, builder.getF32Type()))),
        rowZeros = gathered(zero);
  if (!rows || !rowScales)
    return failure();
  if (packedBytes && !rowZeros) {
    // The default zero point 2^(bits - 1), one per block of every row.
    SmallVector<int64_t> shape(typeOf(rows).getRank(), 1);
    shape.back() = blocks;
    std::vector<int8_t> fill(blocks, static_cast<int8_t>(1 << (bits - 1)));
    rowZeros = denseConstant(i8, shape, ArrayRef<int8_t>(fill));
  }
  int64_t indexRank = typeOf(indices).getRank();
  int64_t axis = *quantizeAxis < *gatherAxis ? *quantizeAxis
                                             : *quantizeAxis + indexRank - 1;
  FailureOr<Value> result;
  if (packedBytes || packFour) {
    SmallVector<NamedAttribute> attrs{
        namedAttr("bits", builder.getI64IntegerAttr(packFour ? 4 : bits)),
        namedAttr("block_size", builder.getI64IntegerAttr(block))};
    if (packedBytes || isUnsigned)
      attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
    SmallVector<int64_t> shape(typeOf(rows).getShape());
    shape.back() = extent;
    SmallVector<Value> operands{rows, rowScales};
    if (rowZeros)
      operands.push_back(rowZeros);
    result = create<llm::DequantizeOp>(
        operands, attrs, RankedTensorType::get(shape, builder.getF32Type()));
  } else {
    result =
        dequantizeBlocks(rows, rowScales, rowZeros, axis, block, isUnsigned);
  }
  if (failed(result))
    return failure();
  return setResult(castTo(*result, scaleElement));
}

/// ONNX Runtime's 4- or 8-bit weight-only matmul (com.microsoft MatMulNBits,
/// as its MatMul4BitsQuantizer and onnxruntime-genai write it): B holds
/// [N, blocks, block_size * bits / 8] bytes, with 4 bits two unsigned values
/// per byte along K, the low nibble first; scales [N * blocks]; optional
/// zero points (packed the same way; default 2^(bits - 1)) and bias. It
/// becomes an llm.dequantize of the weight (per-block scales, the w4 layout
/// with 4 bits) and a matmul by its transpose: the weight stays 4- or 8-bit
/// in memory.
LogicalResult ONNXImporter::importMatMulNBits() {
  if (failed(requireInputs(3)))
    return failure();
  Value a = input(0);
  RankedTensorType aType = typeOf(a);
  Type floatType = aType.getElementType();
  if (!isa<FloatType>(floatType))
    return error("expects a float input A");
  int64_t k = getInt("K", -1), n = getInt("N", -1), bits = getInt("bits", 4),
          block = getInt("block_size", 0);
  if (k <= 0 || n <= 0)
    return error("needs positive attributes K and N");
  if (bits != 4 && bits != 8)
    return error("MatMulNBits with bits " + Twine(bits) +
                 " is not supported (4 or 8)");
  if (block < 16 || (block & (block - 1)) != 0)
    return error("block_size must be a power of two of at least 16, got " +
                 Twine(block));
  if (aType.getRank() < 1 || aType.getShape().back() != k)
    return error("input A's last dim is not K = " + Twine(k));
  if (input(4))
    return error("g_idx (act-order) is not supported");
  int64_t blocks = (k + block - 1) / block,
          rowBytes = blocks * block * bits / 8,
          packedK = bits == 4 ? (k + 1) / 2 : k;
  std::optional<ArrayRef<char>> packed = constantBytesOf(known(input(1)));
  if (!packed || static_cast<int64_t>(packed->size()) != n * rowBytes)
    return error("input 'B' must be a constant of " + Twine(n * rowBytes) +
                 " bytes ([N, blocks, block_size * bits / 8] = [" + Twine(n) +
                 ", " + Twine(blocks) + ", " + Twine(block * bits / 8) + "])");
  // Zero points: unsigned, ceil(blocks / 2) bytes of nibbles (4 bits) or
  // blocks bytes (8 bits) per row. Without them the zero point is
  // 2^(bits - 1): q - 2^(bits - 1) is the two's complement of q with its top
  // bit flipped, the signed layout llm-quantize writes.
  Value zero = input(3);
  std::vector<int8_t> zeroPoints;
  if (zero) {
    if (isa<FloatType>(typeOf(zero).getElementType()))
      return error("float zero points are not supported (uint8 ones are)");
    std::optional<ArrayRef<char>> bytes = constantBytesOf(known(zero));
    int64_t zeroRow = bits == 4 ? (blocks + 1) / 2 : blocks;
    if (!bytes || static_cast<int64_t>(bytes->size()) != n * zeroRow)
      return error("input 'zero_points' must be a constant of " +
                   Twine(n * zeroRow) + " bytes");
    for (int64_t r = 0; r < n; ++r)
      for (int64_t b = 0; b < blocks; ++b)
        zeroPoints.push_back(
            bits == 8 ? static_cast<int8_t>((*bytes)[r * zeroRow + b])
                      : (static_cast<uint8_t>((*bytes)[r * zeroRow + b / 2]) >>
                         (4 * (b % 2))) &
                            0xf);
  }
  // Each row's first packedK bytes (K values; the last block's padding
  // dropped).
  uint8_t flip = bits == 4 ? 0x88 : 0x80;
  std::vector<int8_t> values(n * packedK);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < packedK; ++j) {
      uint8_t byte = static_cast<uint8_t>((*packed)[r * rowBytes + j]);
      values[r * packedK + j] = static_cast<int8_t>(zero ? byte : byte ^ flip);
    }
  Type i8 = builder.getI8Type();
  std::string name = node->name().empty() ? "matmulnbits" : node->name();
  Value weight = createConstant(
      largeToResource(
          DenseElementsAttr::get(RankedTensorType::get({n, packedK}, i8),
                                 ArrayRef<int8_t>(values)),
          blobNameFor(name + ".B")),
      nodeLoc);
  // 16-bit constant scales become f32 ones here, not a cast each forward.
  Value scaleInput = known(input(2));
  Type scaleElement = typeOf(scaleInput).getElementType();
  std::optional<std::vector<float>> wide;
  if (scaleElement.isF16() || scaleElement.isBF16())
    wide = constantFloatValues(scaleInput);
  if (wide && static_cast<int64_t>(wide->size()) == n * blocks) {
    scaleInput = createConstant(
        largeToResource(DenseElementsAttr::get(
                            RankedTensorType::get({n * blocks},
                                                  builder.getF32Type()),
                            ArrayRef<float>(*wide)),
                        blobNameFor(name + ".scales")),
        nodeLoc);
  }
  FailureOr<Value> scales = floatParameter(scaleInput, "scales");
  if (failed(scales) || typeOf(*scales).getNumElements() != n * blocks)
    return failed(scales) ? failure()
                          : error("input 'scales' must have N * blocks = " +
                                  Twine(n * blocks) + " elements");
  scales = reshape(*scales, {n, blocks});
  if (failed(scales))
    return failure();
  SmallVector<Value> operands{weight, *scales};
  SmallVector<NamedAttribute> attrs{
      namedAttr("bits", builder.getI64IntegerAttr(bits)),
      namedAttr("block_size", builder.getI64IntegerAttr(block))};
  if (zero) {
    operands.push_back(
        denseConstant(i8, {n, blocks}, ArrayRef<int8_t>(zeroPoints)));
    attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
  }
  FailureOr<Value> dequantized = create<llm::DequantizeOp>(
      operands, attrs, RankedTensorType::get({n, k}, builder.getF32Type()));
  if (failed(dequantized))
    return failure();
  FailureOr<Value> rhs = castTo(*dequantized, floatType);
  if (failed(rhs))
    return failure();
  FailureOr<Value> product = plainMatMul(a, *rhs, /*transposeRhs=*/true);
  if (failed(product))
    return failure();
  if (Value bias = input(5))
    return setResult(emit<llm::AddOp>({*product, bias}));
  return setResult(product);
}

/// A QMoE projection's experts (see importMoE): the weight bytes as a
/// constant (their 4-bit nibbles or bytes less 2^(bits - 1) when there are
/// no zero points, the signed layout llm.dequantize reads), the scales as
/// f32 [E, out, 1] or [E, out, blocks] and the zero points unpacked to that
/// shape. `name` is fc1, fc2 or fc3, for errors.
FailureOr<ONNXImporter::ExpertWeights>
ONNXImporter::expertWeights(Value weight, Value scale, Value zero,
                            StringRef name, int64_t out, int64_t in,
                            int64_t bits, int64_t block) {
  int64_t experts = typeOf(weight).getDimSize(0), packedIn = in * bits / 8;
  auto byteType = dyn_cast<IntegerType>(typeOf(weight).getElementType());
  std::optional<ArrayRef<char>> bytes = constantBytesOf(known(weight));
  if (!byteType || byteType.getWidth() != 8 || !bytes ||
      static_cast<int64_t>(bytes->size()) != experts * out * packedIn)
    return error(name + "_experts_weights must be a constant uint8 tensor");
  if (!scale || !isa<FloatType>(typeOf(scale).getElementType()))
    return error("expects " + name + "_scales of a float type");
  int64_t blocks = block > 0 ? (in + block - 1) / block : 1;
  ArrayRef<int64_t> scaleShape = typeOf(scale).getShape();
  bool blockWise =
      block > 0 && scaleShape == ArrayRef<int64_t>{experts, out, blocks};
  bool rowWise = scaleShape == ArrayRef<int64_t>{experts, out} ||
                 scaleShape == ArrayRef<int64_t>{experts, out, 1};
  if (!blockWise && !rowWise)
    return error(name + "_scales " + shapeString(scaleShape) + " is not " +
                 shapeString({experts, out}) +
                 (block > 0 ? " or " + shapeString({experts, out, blocks}) +
                                  " (block_size " + Twine(block) + ")"
                            : Twine("")));
  if (!blockWise)
    blocks = 1;
  FailureOr<Value> scales = castTo(scale, builder.getF32Type());
  if (failed(scales))
    return failure();
  scales = reshape(*scales, {experts, out, blocks});
  if (failed(scales))
    return failure();
  // Zero points: 8 / bits a byte, along out per row or along the blocks.
  Type i8 = builder.getI8Type();
  Value zeros;
  if (zero) {
    int64_t perByte = 8 / bits;
    SmallVector<int64_t> zeroShape =
        blockWise
            ? SmallVector<int64_t>{experts, out,
                                   (blocks + perByte - 1) / perByte}
            : SmallVector<int64_t>{experts, (out + perByte - 1) / perByte};
    std::optional<ArrayRef<char>> packed = constantBytesOf(known(zero));
    auto zeroType = dyn_cast<IntegerType>(typeOf(zero).getElementType());
    if (!packed || !zeroType || zeroType.getWidth() != 8 ||
        typeOf(zero).getShape() != ArrayRef<int64_t>(zeroShape))
      return error(name +
                   "_zero_points must be a constant uint8 tensor of "
                   "shape " +
                   shapeString(zeroShape));
    std::vector<int8_t> values(experts * out * blocks);
    for (int64_t e = 0; e < experts; ++e)
      for (int64_t r = 0; r < out; ++r)
        for (int64_t b = 0; b < blocks; ++b) {
          // The packed position: the block within its row, or the row.
          int64_t i = blockWise ? b : r;
          int64_t row = blockWise ? e * out + r : e;
          auto byte = static_cast<uint8_t>(
              (*packed)[row * zeroShape.back() + i / perByte]);
          values[(e * out + r) * blocks + b] = static_cast<int8_t>(
              (byte >> (bits * (i % perByte))) & ((1 << bits) - 1));
        }
    zeros = denseConstant(i8, {experts, out, blocks}, ArrayRef<int8_t>(values));
  }
  uint8_t flip = zero ? 0 : bits == 4 ? 0x88 : 0x80;
  std::vector<int8_t> values(bytes->size());
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<int8_t>(static_cast<uint8_t>((*bytes)[i]) ^ flip);
  std::string base = node->name().empty() ? "qmoe" : node->name();
  Value constant = createConstant(
      largeToResource(DenseElementsAttr::get(
                          RankedTensorType::get({experts, out, packedIn}, i8),
                          ArrayRef<int8_t>(values)),
                      blobNameFor((base + "." + name).str())),
      nodeLoc);
  return ExpertWeights{constant, *scales, zeros,
                       in,       bits,    blockWise ? block : 0};
}

/// The experts' weights [.., out, in] in `element`, those at `indices`
/// (gathered along the experts before they are dequantized) or all.
Value ONNXImporter::dequantizedExperts(const ExpertWeights &weights,
                                       Value indices, Type element) {
  auto taken = [&](Value value) {
    return indices && value ? gatherRows(value, indices) : value;
  };
  Value bytes = taken(weights.bytes), scales = taken(weights.scales),
        zeros = taken(weights.zeros);
  if (!bytes || !scales || (weights.zeros && !zeros))
    return {};
  SmallVector<int64_t> shape(typeOf(bytes).getShape());
  shape.back() = weights.in;
  SmallVector<Value> operands{bytes, scales};
  SmallVector<NamedAttribute> attrs{
      namedAttr("bits", builder.getI64IntegerAttr(weights.bits)),
      namedAttr("block_size", builder.getI64IntegerAttr(weights.block))};
  if (zeros) {
    operands.push_back(zeros);
    attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
  }
  FailureOr<Value> dequantized = create<llm::DequantizeOp>(
      operands, attrs, RankedTensorType::get(shape, builder.getF32Type()));
  if (failed(dequantized))
    return {};
  return orNull(castTo(*dequantized, element));
}

LogicalResult ONNXImporter::importMatMulInteger() {
  if (failed(requireInputs(2)))
    return failure();
  Value aZero = input(2);
  // Per row of A: [M] becomes [M, 1].
  if (aZero && typeOf(aZero).getRank() == 1 &&
      typeOf(aZero).getDimSize(0) != 1) {
    FailureOr<Value> column = reshape(aZero, {typeOf(aZero).getDimSize(0), 1});
    if (failed(column))
      return failure();
    aZero = *column;
  }
  return setResult(integerProduct(input(0), input(1), aZero, input(3),
                                  isUnsignedInput(0), isUnsignedInput(1)));
}

/// llm.qmatmul of the 8-bit a and b (rank >= 2) with their optional 8-bit
/// zero points, each read unsigned where marked; the names are the node's
/// inputs, for errors.
FailureOr<Value> ONNXImporter::integerProduct(Value a, Value b, Value aZero,
                                              Value bZero, bool aUnsigned,
                                              bool bUnsigned, StringRef aName,
                                              StringRef bName,
                                              bool transposeRhs) {
  if (failed(requireQuantized(a, aName, false)) ||
      failed(requireQuantized(b, bName, false)))
    return failure();
  if (typeOf(a).getRank() < 2 || typeOf(b).getRank() < 2)
    return error(aName + " and " + bName + " must have rank >= 2");
  SmallVector<Value> operands{a, b};
  for (auto [zero, what] : {std::pair<Value, StringRef>{aZero, "a_zero_point"},
                            {bZero, "b_zero_point"}}) {
    if (!zero)
      continue;
    if (failed(requireQuantized(zero, what, false)))
      return failure();
    operands.push_back(zero);
  }
  SmallVector<NamedAttribute> attrs{namedAttr(
      llm::QMatMulOp::getOperandSegmentSizeAttr(),
      builder.getDenseI32ArrayAttr({1, 1, aZero ? 1 : 0, bZero ? 1 : 0}))};
  if (aUnsigned)
    attrs.push_back(namedAttr("lhs_unsigned", builder.getUnitAttr()));
  if (bUnsigned)
    attrs.push_back(namedAttr("rhs_unsigned", builder.getUnitAttr()));
  if (transposeRhs)
    attrs.push_back(namedAttr("transpose_rhs", builder.getBoolAttr(true)));
  return create<llm::QMatMulOp>(operands, attrs);
}

/// The i32 convolution of the 8-bit x [N, C, in...] and w [M, C / G, K...]
/// (ConvInteger's and QLinearConv's) with their zero points: Conv's windows,
/// a tap in the padding reading x's zero point (so it adds 0, as ONNX
/// Runtime pads), and one llm.qmatmul of the patches by W as it is stored
/// ([M, C / G * K], transpose_rhs; w's zero point per tensor or per output
/// channel). [N, M, out...].
FailureOr<Value> ONNXImporter::integerConv(Value x, Value w, Value xZero,
                                           Value wZero, bool xUnsigned,
                                           bool wUnsigned) {
  if (failed(requireQuantized(x, "x", false)) ||
      failed(requireQuantized(w, "w", false)))
    return failure();
  // After the ranks (convGeometry checks them first), before the rest.
  RankedTensorType xType = typeOf(x);
  int64_t rank = xType.getRank();
  if (rank >= 3 && typeOf(w).getRank() == rank &&
      (xType.isDynamicDim(0) || xType.isDynamicDim(1)))
    return error("expects static batch and channel dims; give static input "
                 "shapes with --shape");
  FailureOr<ConvGeometry> geometry = convGeometry(x, w, "x", "w");
  if (failed(geometry))
    return failure();
  const Windows &windows = geometry->windows;
  int64_t groups = geometry->groups, outChannels = geometry->outChannels;
  Value fill;
  if (xZero) {
    if (failed(requireQuantized(xZero, "x_zero_point", false)))
      return failure();
    if (typeOf(xZero).getNumElements() != 1)
      return error("x_zero_point must be per tensor");
    fill = orNull(reshape(xZero, {}));
    if (!fill)
      return failure();
  }
  FailureOr<Value> rows =
      patchRows(x, windows.positions, computeProduct(windows.out), windows.taps,
                groups, fill);
  int64_t perGroup = outChannels / groups;
  FailureOr<Value> weight =
      reshape(w, groupedShape(groups, perGroup,
                              geometry->groupChannels * windows.taps));
  if (failed(rows) || failed(weight))
    return failure();
  if (wZero && typeOf(wZero).getNumElements() != 1) {
    if (typeOf(wZero).getNumElements() != outChannels)
      return error("w_zero_point must be per tensor or per output channel (" +
                   Twine(outChannels) + " values)");
    wZero = orNull(reshape(wZero, groupedShape(groups, perGroup, 1)));
    if (!wZero)
      return failure();
  }
  FailureOr<Value> product =
      integerProduct(*rows, *weight, fill ? xZero : Value(), wZero, xUnsigned,
                     wUnsigned, "x", "w", /*transposeRhs=*/true);
  if (failed(product))
    return failure();
  return channelsFirst(*product, windows.out, groups, outChannels, {});
}

/// ConvInteger: the exact i32 convolution of (x - x_zero_point) and (w -
/// w_zero_point), as ONNX Runtime's quantize_dynamic writes a model's Conv
/// (a speech encoder's front end, a patch embedding).
LogicalResult ONNXImporter::importConvInteger() {
  if (failed(requireInputs(2)))
    return failure();
  return setResult(integerConv(input(0), input(1), input(2), input(3),
                               isUnsignedInput(0), isUnsignedInput(1)));
}

/// QLinearMatMul and QLinearConv: the exact i32 product (QLinearConv's
/// plus its i32 bias B) times a_scale * b_scale / y_scale (the factor in
/// f32; b's scale per tensor, or per column or output channel) in one f32
/// multiply, rounded to even, plus y_zero_point, saturated: ONNX Runtime's
/// requantization.
LogicalResult ONNXImporter::importQLinear() {
  if (failed(requireInputs(8)))
    return failure();
  bool conv = node->op_type() == "QLinearConv";
  StringRef a = conv ? "x" : "a", b = conv ? "w" : "b";
  Value yZero = input(7);
  if (failed(requireQuantized(yZero, "y_zero_point", false)))
    return failure();
  FailureOr<Value> aScale = floatParameter(input(1), (a + "_scale").str());
  FailureOr<Value> bScale = floatParameter(input(4), (b + "_scale").str());
  FailureOr<Value> yScale = floatParameter(input(6), "y_scale");
  if (failed(aScale) || failed(bScale) || failed(yScale))
    return failure();
  for (Value scale : {*aScale, *yScale})
    if (typeOf(scale).getNumElements() != 1)
      return error(a + "_scale and y_scale must be per tensor");
  FailureOr<Value> accumulator =
      conv ? integerConv(input(0), input(3), input(2), input(5),
                         isUnsignedInput(0), isUnsignedInput(3))
           : integerProduct(input(0), input(3), input(2), input(5),
                            isUnsignedInput(0), isUnsignedInput(3), a, b);
  if (failed(accumulator))
    return failure();
  RankedTensorType accType = typeOf(*accumulator);
  Value acc = *accumulator;
  Value factor =
      emit<llm::DivOp>({emit<llm::MulOp>({*aScale, *bScale}), *yScale});
  if (conv) {
    // Per output channel: [M, 1, ...] against [N, M, out...].
    int64_t outChannels = accType.getDimSize(1);
    if (Value bias = input(8)) {
      if (!typeOf(bias).getElementType().isInteger(32) ||
          typeOf(bias).getNumElements() != outChannels)
        return error("B must be " + Twine(outChannels) + " int32 values");
      acc = emit<llm::AddOp>({acc, orNull(perChannel(bias, accType))});
    }
    if (factor && typeOf(factor).getNumElements() != 1) {
      if (typeOf(factor).getNumElements() != outChannels)
        return error("w_scale must be per tensor or per output channel (" +
                     Twine(outChannels) + " values)");
      factor = orNull(perChannel(factor, accType));
    }
  }
  FailureOr<Value> one = scalarF32(1.0f);
  if (!acc || !factor || failed(one))
    return failure();
  FailureOr<Value> real = create<llm::DequantizeOp>(
      {acc, factor}, {}, accType.clone(builder.getF32Type()));
  if (failed(real))
    return failure();
  SmallVector<NamedAttribute> quantAttrs;
  if (isUnsignedInput(7)) {
    quantAttrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
    markUnsignedOutput(0);
  }
  return setResult(create<llm::QuantizeOp>({*real, *one, yZero}, quantAttrs,
                                           accType.clone(builder.getI8Type())));
}

/// Imports the current node as a node of the default domain's `opType`
/// with `operands` (the names say how the values are read: uint8 names
/// read unsigned), the current node's attributes named in
/// `attributeNames` plus `extraAttributes`, and the current node's outputs;
/// returns its results. Errors still name the current node and op.
FailureOr<SmallVector<Value>>
ONNXImporter::importAs(StringRef opType,
                       ArrayRef<std::pair<std::string, Value>> operands,
                       ArrayRef<std::string> attributeNames,
                       ArrayRef<onnx::AttributeProto> extraAttributes) {
  auto entry = opTable().find(opType);
  if (entry == opTable().end())
    return error("internal: no importer for " + opType);
  onnx::NodeProto as;
  as.set_op_type(opType.str());
  as.set_name(node->name());
  for (const auto &operand : operands)
    as.add_input(operand.first);
  for (const std::string &output : node->output())
    as.add_output(output);
  for (const std::string &name : attributeNames)
    if (const onnx::AttributeProto *attr = findAttr(name))
      *as.add_attribute() = *attr;
  for (const onnx::AttributeProto &attr : extraAttributes)
    *as.add_attribute() = attr;
  onnx::NodeProto *saved = node;
  SmallVector<Value> savedInputs = std::move(inputs),
                     savedResults = std::move(results);
  node = &as;
  inputs.clear();
  for (const auto &operand : operands)
    inputs.push_back(operand.second);
  results.clear();
  LogicalResult result = (this->*(entry->second.handler))();
  SmallVector<Value> produced = std::move(results);
  node = saved;
  inputs = std::move(savedInputs);
  results = std::move(savedResults);
  if (failed(result))
    return failure();
  return produced;
}

/// ONNX Runtime's QOperator ops (com.microsoft QLinearAdd, QLinearMul,
/// QLinearSigmoid, QLinearLeakyRelu, QLinearSoftmax, QLinearConcat,
/// QLinearAveragePool, QLinearGlobalAveragePool, QLinearReduceMean,
/// QLinearWhere, QGemm): each quantized
/// input through DequantizeLinear, the float op, the result through
/// QuantizeLinear with y's scale and zero point -- the QDQ form the QOperator
/// kernels compute. (QLinearMatMul and QLinearConv, in ONNX, are exact
/// integer products, importQLinear.) channels_last pools transpose NHWC to
/// NCHW and back.
LogicalResult ONNXImporter::importQOperator() {
  StringRef op = node->op_type();
  auto named = [&](unsigned index) {
    return std::pair<std::string, Value>{
        index < static_cast<unsigned>(node->input_size()) ? node->input(index)
                                                          : "",
        input(index)};
  };
  // DequantizeLinear of the tensor at `x` with the scale and zero point
  // after it (`axis` for a per-axis scale).
  auto dequantized = [&](unsigned x, int64_t axis = 1) -> FailureOr<Value> {
    if (!input(x) || !input(x + 1))
      return error("expects input " + Twine(x) + " and its scale");
    onnx::AttributeProto axisAttr;
    axisAttr.set_name("axis");
    axisAttr.set_type(onnx::AttributeProto::INT);
    axisAttr.set_i(axis);
    SmallVector<std::pair<std::string, Value>> operands{named(x), named(x + 1)};
    if (input(x + 2))
      operands.push_back(named(x + 2));
    FailureOr<SmallVector<Value>> out =
        importAs("DequantizeLinear", operands, {}, {axisAttr});
    if (failed(out))
      return failure();
    return out->front();
  };
  // QuantizeLinear of `real` with the scale and zero point at `scale`
  // (uint8 without a zero point, as ONNX's default).
  auto quantized = [&](Value real, unsigned scale) -> FailureOr<Value> {
    if (!input(scale))
      return error("expects y's scale (input " + Twine(scale) + ")");
    SmallVector<std::pair<std::string, Value>> operands{
        {node->name() + "#real", real}, named(scale)};
    if (input(scale + 1))
      operands.push_back(named(scale + 1));
    FailureOr<SmallVector<Value>> out =
        importAs("QuantizeLinear", operands, {});
    if (failed(out))
      return failure();
    return out->front();
  };
  auto floatResult =
      [&](StringRef opType, ArrayRef<std::pair<std::string, Value>> operands,
          ArrayRef<std::string> attrs,
          ArrayRef<onnx::AttributeProto> extra = {}) -> FailureOr<Value> {
    FailureOr<SmallVector<Value>> out =
        importAs(opType, operands, attrs, extra);
    if (failed(out) || out->empty() || !out->front())
      return failure();
    return out->front();
  };
  auto real = [&](StringRef name, Value value) {
    return std::pair<std::string, Value>{node->name() + "#" + name.str(),
                                         value};
  };
  auto nchw = [&](Value x, bool toFirst) -> Value {
    int64_t rank = typeOf(x).getRank();
    SmallVector<int64_t> perm{0};
    if (toFirst) {
      perm.push_back(rank - 1);
      for (int64_t d = 1; d < rank - 1; ++d)
        perm.push_back(d);
    } else {
      for (int64_t d = 2; d < rank; ++d)
        perm.push_back(d);
      perm.push_back(1);
    }
    return orNull(create<llm::TransposeOp>(
        x, {namedAttr("permutation", builder.getDenseI64ArrayAttr(perm))}));
  };

  FailureOr<Value> y;
  if (op == "QLinearAdd" || op == "QLinearMul") {
    // A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale,
    // C_zero_point.
    if (failed(requireInputs(7)))
      return failure();
    FailureOr<Value> a = dequantized(0), b = dequantized(3);
    if (failed(a) || failed(b))
      return failure();
    y = floatResult(op == "QLinearAdd" ? "Add" : "Mul",
                    {real("a", *a), real("b", *b)}, {});
    if (succeeded(y))
      y = quantized(*y, 6);
  } else if (op == "QLinearSigmoid" || op == "QLinearLeakyRelu" ||
             op == "QLinearSoftmax" || op == "QLinearAveragePool" ||
             op == "QLinearGlobalAveragePool") {
    // X, X_scale, X_zero_point, Y_scale, Y_zero_point.
    if (failed(requireInputs(4)))
      return failure();
    FailureOr<Value> x = dequantized(0);
    if (failed(x))
      return failure();
    bool channelsLast = getInt("channels_last", 0) != 0;
    if (channelsLast && typeOf(*x).getRank() < 3)
      return error("channels_last expects X of rank 3 or more");
    Value in = channelsLast ? nchw(*x, true) : *x;
    if (!in)
      return failure();
    if (op == "QLinearSoftmax" && getInt("opset", 13) < 13) {
      // Before opset 13 Softmax flattens from `axis` on: the same as the
      // last axis only when axis is the last dim.
      int64_t rank = typeOf(in).getRank(), axis = getInt("axis", 1);
      if (axis != -1 && axis != rank - 1)
        return error("opset " + Twine(getInt("opset", 13)) +
                     " Softmax over axis " + Twine(axis) +
                     " (flattened from it) of a rank-" + Twine(rank) +
                     " tensor is not supported; the last axis is");
    }
    StringRef floatOp = op.drop_front(7); // QLinear
    SmallVector<std::string> attrs;
    if (floatOp == "LeakyRelu")
      attrs = {"alpha"};
    else if (floatOp == "Softmax")
      attrs = {"axis"};
    else if (floatOp == "AveragePool")
      attrs = {"auto_pad",     "ceil_mode", "count_include_pad",
               "kernel_shape", "pads",      "strides"};
    y = floatResult(floatOp, {real("x", in)}, attrs);
    if (succeeded(y) && channelsLast) {
      Value back = nchw(*y, false);
      if (!back)
        return failure();
      y = back;
    }
    if (succeeded(y))
      y = quantized(*y, 3);
  } else if (op == "QLinearConcat") {
    // Y_scale, Y_zero_point, then (X, X_scale, X_zero_point) per input.
    int64_t count = node->input_size() - 2;
    if (count < 3 || count % 3 != 0)
      return error("expects Y_scale, Y_zero_point and triples of (X, "
                   "X_scale, X_zero_point), got " +
                   Twine(node->input_size()) + " inputs");
    SmallVector<std::pair<std::string, Value>> reals;
    for (int64_t i = 2; i < node->input_size(); i += 3) {
      FailureOr<Value> x = dequantized(i);
      if (failed(x))
        return failure();
      reals.push_back(real("x" + std::to_string(i / 3), *x));
    }
    y = floatResult("Concat", reals, {"axis"});
    if (succeeded(y))
      y = quantized(*y, 0);
  } else if (op == "QLinearReduceMean") {
    // data, data_scale, data_zero_point, reduced_scale,
    // reduced_zero_point; axes and keepdims attributes.
    if (failed(requireInputs(4)))
      return failure();
    std::optional<SmallVector<int64_t>> axes = getInts("axes");
    if (!axes || axes->empty())
      return error("expects attribute 'axes'");
    FailureOr<Value> x = dequantized(0);
    if (failed(x))
      return failure();
    int64_t rank = typeOf(*x).getRank();
    for (int64_t &axis : *axes) {
      FailureOr<int64_t> normalized = normalizeAxis(axis, rank);
      if (failed(normalized))
        return failure();
      axis = *normalized;
    }
    llvm::sort(*axes);
    if (std::adjacent_find(axes->begin(), axes->end()) != axes->end())
      return error("axes repeat an axis");
    Value mean =
        reduce<llm::ReduceMeanOp>(*x, *axes, getInt("keepdims", 1) != 0);
    if (!mean)
      return failure();
    y = quantized(mean, 3);
  } else if (op == "QLinearWhere") {
    // condition, X, x_scale, x_zero_point, Y, y_scale, y_zero_point,
    // z_scale, z_zero_point.
    if (failed(requireInputs(8)))
      return failure();
    FailureOr<Value> a = dequantized(1), b = dequantized(4);
    if (failed(a) || failed(b))
      return failure();
    y = floatResult("Where", {named(0), real("x", *a), real("y", *b)}, {});
    if (succeeded(y))
      y = quantized(*y, 7);
  } else if (op == "QGemm") {
    // A, a_scale, a_zero_point, B, b_scale, b_zero_point, C (int32, scaled
    // by a_scale * b_scale), y_scale, y_zero_point; Y float without
    // y_scale.
    if (failed(requireInputs(6)))
      return failure();
    bool transB = getInt("transB", 0) != 0;
    FailureOr<Value> a = dequantized(0), b = dequantized(3, transB ? 0 : 1);
    if (failed(a) || failed(b))
      return failure();
    SmallVector<std::pair<std::string, Value>> operands{real("a", *a),
                                                        real("b", *b)};
    if (Value c = input(6)) {
      if (!typeOf(c).getElementType().isInteger(32))
        return error("C must be int32 (the bias at a_scale * b_scale)");
      FailureOr<Value> aScale = floatParameter(input(1), "a_scale");
      FailureOr<Value> bScale = floatParameter(input(4), "b_scale");
      if (failed(aScale) || failed(bScale))
        return failure();
      Value scale = emit<llm::MulOp>({*aScale, *bScale});
      if (!scale)
        return failure();
      FailureOr<Value> bias = create<llm::DequantizeOp>(
          {c, scale}, {}, typeOf(c).clone(builder.getF32Type()));
      if (failed(bias))
        return failure();
      operands.push_back(real("c", *bias));
    }
    y = floatResult("Gemm", operands, {"alpha", "transA", "transB"});
    if (succeeded(y) && input(7))
      y = quantized(*y, 7);
  } else {
    return error("unsupported op");
  }
  if (failed(y))
    return failure();
  return setResult(*y);
}

LogicalResult ONNXImporter::importDynamicQuantizeLinear() {
  if (failed(requireInputs(1)))
    return failure();
  FailureOr<std::array<Value, 3>> quantized = dynamicQuantize(input(0));
  if (failed(quantized))
    return failure();
  markUnsignedOutput(0);
  markUnsignedOutput(2);
  llvm::append_range(results, *quantized);
  return success();
}

/// DynamicQuantizeLinear of `x`: uint8 y, its f32 scale and zero point
/// (scalars), over the range of x widened to include 0: scale = (max -
/// min) / 255 (1 when x is all zeros, as ONNX Runtime's kernel takes it),
/// zero point saturate(roundeven(-min / scale)), y = saturate(roundeven(x /
/// scale) + zero point).
FailureOr<std::array<Value, 3>> ONNXImporter::dynamicQuantize(Value x) {
  if (!typeOf(x).getElementType().isF32())
    return error("x must be a float (f32) tensor");
  int64_t rank = typeOf(x).getRank();
  auto all = builder.getDenseI64ArrayAttr(
      llvm::to_vector(llvm::seq<int64_t>(0, rank)));
  NamedAttribute axes = namedAttr("axes", all);
  NamedAttribute drop = namedAttr("keepdims", builder.getBoolAttr(false));
  FailureOr<Value> zero = scalarF32(0.0f);
  FailureOr<Value> levels = scalarF32(255.0f);
  FailureOr<Value> low = create<llm::ReduceMinOp>(x, {axes, drop});
  FailureOr<Value> high = create<llm::ReduceMaxOp>(x, {axes, drop});
  if (failed(zero) || failed(levels) || failed(low) || failed(high))
    return failure();
  // The range always includes 0: scale = (max(x, 0) - min(x, 0)) / 255.
  low = create<llm::MinOp>({*low, *zero});
  high = create<llm::MaxOp>({*high, *zero});
  if (failed(low) || failed(high))
    return failure();
  FailureOr<Value> range = create<llm::SubOp>({*high, *low});
  if (failed(range))
    return failure();
  Value scale = emit<llm::WhereOp>({emit<llm::EqualOp>({*range, *zero}),
                                    orNull(scalarF32(1.0f)),
                                    emit<llm::DivOp>({*range, *levels})});
  FailureOr<Value> negated = create<llm::SubOp>({*zero, *low});
  if (!scale || failed(negated))
    return failure();
  NamedAttribute isUnsigned = namedAttr("is_unsigned", builder.getUnitAttr());
  // zero_point = saturate(roundeven(-min / scale)) in [0, 255].
  FailureOr<Value> zeroPoint =
      create<llm::QuantizeOp>({*negated, scale}, {isUnsigned},
                              RankedTensorType::get({}, builder.getI8Type()));
  if (failed(zeroPoint))
    return failure();
  FailureOr<Value> y =
      create<llm::QuantizeOp>({x, scale, *zeroPoint}, {isUnsigned},
                              typeOf(x).clone(builder.getI8Type()));
  if (failed(y))
    return failure();
  return std::array<Value, 3>{*y, scale, *zeroPoint};
}

/// The float product of two 8-bit tensors with their quantization
/// parameters, as ONNX Runtime's MatMulIntegerToFloat, DynamicQuantizeMatMul
/// and QAttention compute it: the exact i32 product of (a - a_zero_point)
/// and (b - b_zero_point), times a_scale * b_scale (taken in f32 first) in
/// one f32 multiply. a's parameters are per tensor; b's per tensor or per
/// column ([N]).
FailureOr<Value> ONNXImporter::integerProductToFloat(Value a, Value b,
                                                     Value aScale, Value bScale,
                                                     Value aZero, Value bZero,
                                                     bool aUnsigned,
                                                     bool bUnsigned) {
  FailureOr<Value> accumulator =
      integerProduct(a, b, aZero, bZero, aUnsigned, bUnsigned);
  if (failed(accumulator))
    return failure();
  int64_t n = typeOf(b).getShape().back();
  auto perColumn = [&](Value v) {
    RankedTensorType type = typeOf(v);
    return type.getNumElements() == 1 ||
           (type.getRank() == 1 && type.getDimSize(0) == n);
  };
  if (typeOf(aScale).getNumElements() != 1 ||
      (aZero && typeOf(aZero).getNumElements() != 1))
    return error("a_scale and a_zero_point must be per tensor");
  if (!perColumn(bScale) || (bZero && !perColumn(bZero)))
    return error("b_scale and b_zero_point must be per tensor or per column "
                 "([" +
                 Twine(n) + "]), got " +
                 shapeString(typeOf(bScale).getShape()));
  FailureOr<Value> as = floatParameter(aScale, "a_scale");
  FailureOr<Value> bs = floatParameter(bScale, "b_scale");
  if (failed(as) || failed(bs))
    return failure();
  FailureOr<Value> product = create<llm::MulOp>({*as, *bs});
  if (failed(product))
    return failure();
  return create<llm::DequantizeOp>(
      {*accumulator, *product}, {},
      typeOf(*accumulator).clone(builder.getF32Type()));
}

/// com.microsoft MatMulIntegerToFloat: A (u8/i8) @ B (u8/i8) with their
/// scales and zero points, to float, plus `bias` (after the scaling).
LogicalResult ONNXImporter::importMatMulIntegerToFloat() {
  if (failed(requireInputs(4)))
    return failure();
  Type output = typeOf(input(2)).getElementType();
  FailureOr<Value> y =
      integerProductToFloat(input(0), input(1), input(2), input(3), input(4),
                            input(5), isUnsignedInput(0), isUnsignedInput(1));
  if (failed(y))
    return failure();
  Value result = *y;
  if (Value bias = input(6))
    result =
        emit<llm::AddOp>({result, orNull(castTo(bias, builder.getF32Type()))});
  if (!result)
    return failure();
  return setResult(castTo(result, output));
}

/// com.microsoft DynamicQuantizeMatMul (ONNX Runtime's quantize_dynamic
/// after its graph optimizer): A quantized as DynamicQuantizeLinear does
/// (uint8, per tensor), times the 8-bit B with b_scale (per tensor or
/// column) and b_zero_point, plus `bias`.
LogicalResult ONNXImporter::importDynamicQuantizeMatMul() {
  if (failed(requireInputs(3)))
    return failure();
  FailureOr<std::array<Value, 3>> a = dynamicQuantize(input(0));
  if (failed(a))
    return failure();
  auto [qa, aScale, aZero] = *a;
  FailureOr<Value> y =
      integerProductToFloat(qa, input(1), aScale, input(2), aZero, input(3),
                            /*aUnsigned=*/true, isUnsignedInput(1));
  if (failed(y))
    return failure();
  if (Value bias = input(4))
    return setResult(emit<llm::AddOp>({*y, bias}));
  return setResult(y);
}

} // namespace mlir::llm::importer
