//===- LLMOps.cpp - result type inference and verifiers of llm ops --------===//
//
// Every shape rule of the dialect lives here, once: the importer builds ops
// through these inference functions, so a malformed model is reported with
// the same message as malformed IR, at the ONNX node's location.
//
//===----------------------------------------------------------------------===//
#include "llm/IR/LLMOps.h"

#include "mlir/IR/DialectResourceBlobManager.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"

#include <cstring>

using namespace mlir;
using namespace mlir::llm;

namespace {
RankedTensorType rankedOf(Type type) { return cast<RankedTensorType>(type); }

/// Reports an error at `loc` (if any) with the op's name, for inference
/// functions that run before the op exists.
LogicalResult inferError(std::optional<Location> loc, StringRef opName,
                         const Twine &message) {
  return emitOptionalError(loc, "'llm.", opName, "' op ", message.str());
}

bool sameDim(int64_t a, int64_t b) {
  return a == b || ShapedType::isDynamic(a) || ShapedType::isDynamic(b);
}
} // namespace

std::string mlir::llm::shapeString(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "[";
  llvm::interleave(
      shape, os,
      [&](int64_t dim) {
        if (ShapedType::isDynamic(dim))
          os << "?";
        else
          os << dim;
      },
      ",");
  os << "]";
  return text;
}

std::optional<ArrayRef<char>> mlir::llm::rawElementBytes(Attribute value) {
  if (auto dense = dyn_cast<DenseElementsAttr>(value))
    return dense.isSplat() ? std::nullopt
                           : std::optional<ArrayRef<char>>(dense.getRawData());
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value))
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
  return std::nullopt;
}

std::optional<std::vector<int8_t>> mlir::llm::int8Elements(Attribute value) {
  auto elements = dyn_cast<ElementsAttr>(value);
  auto type = elements ? dyn_cast<ShapedType>(elements.getType()) : nullptr;
  if (!type || !type.hasStaticShape() || !type.getElementType().isInteger(8))
    return std::nullopt;
  size_t count = type.getNumElements();
  if (auto dense = dyn_cast<DenseElementsAttr>(value); dense && dense.isSplat())
    return std::vector<int8_t>(count, dense.getSplatValue<int8_t>());
  std::optional<ArrayRef<char>> bytes = rawElementBytes(value);
  if (!bytes || bytes->size() != count)
    return std::nullopt;
  return std::vector<int8_t>(bytes->begin(), bytes->end());
}

std::optional<std::vector<float>> mlir::llm::floatElements(Attribute value) {
  auto elements = dyn_cast<ElementsAttr>(value);
  auto type = elements ? dyn_cast<ShapedType>(elements.getType()) : nullptr;
  if (!type || !type.hasStaticShape())
    return std::nullopt;
  auto element = dyn_cast<FloatType>(type.getElementType());
  if (!element || !(element.isF32() || element.isF16() || element.isBF16()))
    return std::nullopt;
  auto widen = [](APFloat v) {
    bool lost;
    v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
    return v.convertToFloat();
  };
  size_t count = type.getNumElements();
  if (auto dense = dyn_cast<DenseElementsAttr>(value); dense && dense.isSplat())
    return std::vector<float>(count, widen(dense.getSplatValue<APFloat>()));
  std::optional<ArrayRef<char>> bytes = rawElementBytes(value);
  size_t width = element.getWidth() / 8;
  if (!bytes || bytes->size() != count * width)
    return std::nullopt;
  std::vector<float> out(count);
  for (auto [i, v] : llvm::enumerate(out)) {
    if (width == 4) {
      std::memcpy(&v, bytes->data() + 4 * i, 4);
      continue;
    }
    uint16_t bits;
    std::memcpy(&bits, bytes->data() + 2 * i, 2);
    v = widen(APFloat(element.getFloatSemantics(), APInt(16, bits)));
  }
  return out;
}

std::vector<int8_t> mlir::llm::packNibbles(ArrayRef<int8_t> values,
                                           int64_t rows, int64_t cols) {
  int64_t rowBytes = (cols + 1) / 2;
  std::vector<int8_t> packed(rows * rowBytes, 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      int8_t &byte = packed[r * rowBytes + c / 2];
      byte =
          static_cast<int8_t>(static_cast<uint8_t>(byte) |
                              ((values[r * cols + c] & 0xf) << (4 * (c % 2))));
    }
  return packed;
}

Value mlir::llm::createActivation(OpBuilder &builder, Location loc,
                                  Activation activation, Value input) {
  switch (activation) {
  case Activation::none:
    break;
  case Activation::relu:
    return ReluOp::create(builder, loc, input.getType(), input);
  case Activation::gelu:
  case Activation::gelu_tanh:
    return GeluOp::create(builder, loc, input.getType(), input,
                          activation == Activation::gelu_tanh
                              ? GeluApproximation::tanh
                              : GeluApproximation::none);
  case Activation::silu:
    return SiluOp::create(builder, loc, input.getType(), input);
  }
  return input;
}

FailureOr<SmallVector<int64_t>> mlir::llm::broadcastShapes(ArrayRef<int64_t> lhs,
                                                           ArrayRef<int64_t> rhs) {
  size_t rank = std::max(lhs.size(), rhs.size());
  SmallVector<int64_t> result(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t l = i < rank - lhs.size() ? 1 : lhs[i - (rank - lhs.size())];
    int64_t r = i < rank - rhs.size() ? 1 : rhs[i - (rank - rhs.size())];
    if (l == 1)
      result[i] = r;
    else if (r == 1)
      result[i] = l;
    else if (l == r)
      result[i] = l;
    else if (ShapedType::isDynamic(l) || ShapedType::isDynamic(r))
      result[i] = ShapedType::isDynamic(l) ? r : l;
    else
      return failure();
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

static LogicalResult inferBinary(std::optional<Location> loc, StringRef opName,
                                 Value lhs, Value rhs, Type elementType,
                                 SmallVectorImpl<Type> &results) {
  auto lhsType = rankedOf(lhs.getType());
  auto rhsType = rankedOf(rhs.getType());
  auto shape = broadcastShapes(lhsType.getShape(), rhsType.getShape());
  if (failed(shape))
    return inferError(loc, opName,
                      "cannot broadcast lhs shape " +
                          shapeString(lhsType.getShape()) + " with rhs shape " +
                          shapeString(rhsType.getShape()));
  results.push_back(RankedTensorType::get(
      *shape, elementType ? elementType : lhsType.getElementType()));
  return success();
}

#define LLM_INFER_BINARY(OP, NAME, ELEMENT)                                    \
  LogicalResult OP::inferReturnTypes(MLIRContext *context,                     \
                                     std::optional<Location> loc,              \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &results) {         \
    return inferBinary(loc, NAME, adaptor.getLhs(), adaptor.getRhs(),          \
                       ELEMENT, results);                                      \
  }

LLM_INFER_BINARY(AddOp, "add", Type())
LLM_INFER_BINARY(SubOp, "sub", Type())
LLM_INFER_BINARY(MulOp, "mul", Type())
LLM_INFER_BINARY(DivOp, "div", Type())
LLM_INFER_BINARY(PowOp, "pow", Type())
LLM_INFER_BINARY(MaxOp, "max", Type())
LLM_INFER_BINARY(MinOp, "min", Type())
LLM_INFER_BINARY(ModOp, "mod", Type())
LLM_INFER_BINARY(AndOp, "and", Type())
LLM_INFER_BINARY(OrOp, "or", Type())
LLM_INFER_BINARY(XorOp, "xor", Type())
LLM_INFER_BINARY(ShiftLeftOp, "shift_left", Type())
LLM_INFER_BINARY(ShiftRightOp, "shift_right", Type())
LLM_INFER_BINARY(EqualOp, "equal", IntegerType::get(context, 1))
LLM_INFER_BINARY(LessOp, "less", IntegerType::get(context, 1))
LLM_INFER_BINARY(LessEqualOp, "less_equal", IntegerType::get(context, 1))
LLM_INFER_BINARY(GreaterOp, "greater", IntegerType::get(context, 1))
LLM_INFER_BINARY(GreaterEqualOp, "greater_equal", IntegerType::get(context, 1))
#undef LLM_INFER_BINARY

LogicalResult WhereOp::inferReturnTypes(MLIRContext *context,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  auto cond = rankedOf(adaptor.getCondition().getType());
  auto lhs = rankedOf(adaptor.getTrueValue().getType());
  auto rhs = rankedOf(adaptor.getFalseValue().getType());
  if (lhs.getElementType() != rhs.getElementType())
    return inferError(loc, "where",
                      "expects true and false values of one element type");
  auto shape = broadcastShapes(lhs.getShape(), rhs.getShape());
  if (succeeded(shape))
    shape = broadcastShapes(cond.getShape(), *shape);
  if (failed(shape))
    return inferError(loc, "where",
                      "cannot broadcast condition " +
                          shapeString(cond.getShape()) + ", true value " +
                          shapeString(lhs.getShape()) + " and false value " +
                          shapeString(rhs.getShape()));
  results.push_back(RankedTensorType::get(*shape, lhs.getElementType()));
  return success();
}

LogicalResult CastOp::verify() {
  auto in = rankedOf(getInput().getType());
  auto out = rankedOf(getResult().getType());
  if (failed(verifyCompatibleShape(in.getShape(), out.getShape())))
    return emitOpError() << "expects the result shape "
                         << shapeString(out.getShape())
                         << " to equal the input shape "
                         << shapeString(in.getShape());
  auto isNumeric = [](Type t) { return t.isIntOrFloat(); };
  if (!isNumeric(in.getElementType()) || !isNumeric(out.getElementType()))
    return emitOpError() << "casts only between integer and float types";
  return success();
}

LogicalResult TriluOp::verify() {
  if (getInput().getType().getRank() < 2)
    return emitOpError() << "expects rank >= 2, got "
                         << getInput().getType().getRank();
  return success();
}

//===----------------------------------------------------------------------===//
// Linear algebra and blocks
//===----------------------------------------------------------------------===//

/// The product shape of matmul and qmatmul: broadcast batch dims, then
/// [M, N]; errors name the op (`opName`) and both shapes.
static FailureOr<SmallVector<int64_t>>
inferProductShape(std::optional<Location> loc, StringRef opName, Type lhsType,
                  Type rhsType, bool transposeLhs, bool transposeRhs) {
  auto lhs = rankedOf(lhsType);
  auto rhs = rankedOf(rhsType);
  if (lhs.getRank() < 2 || rhs.getRank() < 2) {
    (void)inferError(loc, opName,
                     "expects operands of rank >= 2, got lhs rank " +
                         Twine(lhs.getRank()) + " and rhs rank " +
                         Twine(rhs.getRank()));
    return failure();
  }
  ArrayRef<int64_t> l = lhs.getShape(), r = rhs.getShape();
  int64_t lr = l.size(), rr = r.size();
  int64_t m = transposeLhs ? l[lr - 1] : l[lr - 2];
  int64_t k1 = transposeLhs ? l[lr - 2] : l[lr - 1];
  int64_t k2 = transposeRhs ? r[rr - 1] : r[rr - 2];
  int64_t n = transposeRhs ? r[rr - 2] : r[rr - 1];
  if (!sameDim(k1, k2)) {
    (void)inferError(loc, opName,
                     "expects the contraction dim of lhs (" + Twine(k1) +
                         ") to match rhs (" + Twine(k2) + "); lhs " +
                         shapeString(l) + ", rhs " + shapeString(r));
    return failure();
  }
  auto batch = broadcastShapes(l.drop_back(2), r.drop_back(2));
  if (failed(batch)) {
    (void)inferError(loc, opName,
                     "cannot broadcast batch dims of lhs " + shapeString(l) +
                         " and rhs " + shapeString(r));
    return failure();
  }
  SmallVector<int64_t> shape(*batch);
  shape.push_back(m);
  shape.push_back(n);
  return shape;
}

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  FailureOr<SmallVector<int64_t>> product = inferProductShape(
      loc, "matmul", adaptor.getLhs().getType(), adaptor.getRhs().getType(),
      adaptor.getTransposeLhs(), adaptor.getTransposeRhs());
  if (failed(product))
    return failure();
  SmallVector<int64_t> shape = std::move(*product);
  auto lhs = rankedOf(adaptor.getLhs().getType());
  for (auto [name, addend] :
       {std::pair<StringRef, Value>{"bias", adaptor.getBias()},
        {"residual", adaptor.getResidual()}}) {
    if (!addend)
      continue;
    ArrayRef<int64_t> addendShape = rankedOf(addend.getType()).getShape();
    auto broadcast = broadcastShapes(shape, addendShape);
    if (failed(broadcast) || *broadcast != ArrayRef<int64_t>(shape))
      return inferError(loc, "matmul",
                        "expects " + name + " " + shapeString(addendShape) +
                            " to broadcast to the product " +
                            shapeString(shape));
  }
  results.push_back(RankedTensorType::get(shape, lhs.getElementType()));
  return success();
}

LogicalResult MatMulOp::verify() {
  Type element = getType().getElementType();
  if (isa<FloatType>(element))
    return success();
  if (getScale().convertToDouble() != 1.0)
    return emitOpError() << "expects scale 1.0 on " << element
                         << " elements, got " << getScale().convertToDouble();
  Activation activation = getActivation();
  if (activation != Activation::none && activation != Activation::relu)
    return emitOpError() << "expects activation none or relu on " << element
                         << " elements, got "
                         << stringifyActivation(activation);
  return success();
}

LogicalResult GemmOp::inferReturnTypes(MLIRContext *context,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  auto a = rankedOf(adaptor.getA().getType());
  auto b = rankedOf(adaptor.getB().getType());
  if (a.getRank() != 2 || b.getRank() != 2)
    return inferError(loc, "gemm",
                      "expects 2-D a and b, got a " + shapeString(a.getShape()) +
                          " and b " + shapeString(b.getShape()));
  if (a.getElementType() != b.getElementType())
    return inferError(loc, "gemm", "expects a and b of one element type");
  bool ta = adaptor.getTransposeA(), tb = adaptor.getTransposeB();
  int64_t m = a.getDimSize(ta ? 1 : 0), k1 = a.getDimSize(ta ? 0 : 1);
  int64_t k2 = b.getDimSize(tb ? 1 : 0), n = b.getDimSize(tb ? 0 : 1);
  if (!sameDim(k1, k2))
    return inferError(loc, "gemm",
                      "expects the contraction dim of a (" + Twine(k1) +
                          ") to match b (" + Twine(k2) + ")");
  SmallVector<int64_t> shape{m, n};
  if (Value c = adaptor.getC()) {
    auto cType = rankedOf(c.getType());
    auto bias = broadcastShapes(shape, cType.getShape());
    if (failed(bias) || *bias != ArrayRef<int64_t>(shape))
      return inferError(loc, "gemm",
                        "expects c " + shapeString(cType.getShape()) +
                            " to broadcast to the product " +
                            shapeString(shape));
    if (cType.getElementType() != a.getElementType())
      return inferError(loc, "gemm", "expects c of the element type of a");
  }
  results.push_back(RankedTensorType::get(shape, a.getElementType()));
  return success();
}

LogicalResult SoftmaxOp::verify() {
  int64_t rank = getInput().getType().getRank();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= rank)
    return emitOpError() << "expects axis in [0, " << rank << "), got "
                         << axis;
  return success();
}

FailureOr<RankedTensorType>
mlir::llm::inferAttentionType(std::optional<Location> loc,
                              RankedTensorType query, RankedTensorType key,
                              RankedTensorType value, RankedTensorType mask) {
  auto fail = [&](const Twine &message) -> FailureOr<RankedTensorType> {
    return inferError(loc, "attention", message);
  };
  int64_t rank = query.getRank();
  if (rank < 3 || key.getRank() != rank || value.getRank() != rank)
    return fail("expects query, key and value of one rank >= 3 "
                "([batch..., heads, sequence, head dim]), got query " +
                shapeString(query.getShape()) + ", key " +
                shapeString(key.getShape()) + " and value " +
                shapeString(value.getShape()));
  Type element = query.getElementType();
  if (key.getElementType() != element || value.getElementType() != element)
    return fail("expects key and value of the query's element type");
  ArrayRef<int64_t> q = query.getShape(), k = key.getShape(),
                    v = value.getShape();
  for (int64_t d = 0; d < rank - 3; ++d)
    if (!sameDim(q[d], k[d]) || !sameDim(q[d], v[d]))
      return fail("expects the batch dims of query " + shapeString(q) +
                  ", key " + shapeString(k) + " and value " + shapeString(v) +
                  " to match");
  int64_t queryHeads = q[rank - 3], kvHeads = k[rank - 3];
  if (!sameDim(k[rank - 1], q[rank - 1]))
    return fail("expects the head dim of key (" + Twine(k[rank - 1]) +
                ") to match query (" + Twine(q[rank - 1]) + ")");
  if (!sameDim(kvHeads, v[rank - 3]) || !sameDim(k[rank - 2], v[rank - 2]))
    return fail("expects the heads and sequence length of key " +
                shapeString(k) + " to match value " + shapeString(v));
  if (!ShapedType::isDynamic(queryHeads) && !ShapedType::isDynamic(kvHeads) &&
      (kvHeads == 0 || queryHeads % kvHeads != 0))
    return fail("expects the query heads (" + Twine(queryHeads) +
                ") to be a multiple of the key/value heads (" + Twine(kvHeads) +
                ")");

  SmallVector<int64_t> scores(q.drop_back());
  scores.push_back(k[rank - 2]);
  if (RankedTensorType maskType = mask) {
    Type maskElement = maskType.getElementType();
    if (!maskElement.isInteger(1) && maskElement != element) {
      std::string text;
      llvm::raw_string_ostream os(text);
      os << "expects an i1 mask or one of the query's element type (" << element
         << "), got " << maskElement;
      return fail(text);
    }
    auto shape = broadcastShapes(scores, maskType.getShape());
    if (failed(shape) || *shape != ArrayRef<int64_t>(scores))
      return fail("expects mask " + shapeString(maskType.getShape()) +
                  " to broadcast to the scores " + shapeString(scores) +
                  " ([batch..., query heads, query length, key length])");
  }
  SmallVector<int64_t> shape(q.drop_back());
  shape.push_back(v[rank - 1]);
  return RankedTensorType::get(shape, element);
}

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *context,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  Value mask = adaptor.getMask();
  FailureOr<RankedTensorType> type =
      inferAttentionType(loc, rankedOf(adaptor.getQuery().getType()),
                         rankedOf(adaptor.getKey().getType()),
                         rankedOf(adaptor.getValue().getType()),
                         mask ? rankedOf(mask.getType()) : RankedTensorType());
  if (failed(type))
    return failure();
  results.push_back(*type);
  return success();
}

LogicalResult AttentionOp::verify() {
  if (getWindow() && !getCausal())
    return emitOpError("expects a window only with causal = true");
  if (std::optional<APFloat> softcap = getSoftcap())
    if (!softcap->isFiniteNonZero() || softcap->isNegative())
      return emitOpError("expects a finite softcap > 0");
  std::optional<APFloat> weightsScale = getWeightsScale();
  int64_t zero = getWeightsZeroPoint();
  if (!weightsScale && (zero != 0 || getWeightsUnsigned() || getWeightsE4m3()))
    return emitOpError("expects weights_zero_point, weights_unsigned and "
                       "weights_e4m3 only with a weights_scale");
  if (weightsScale) {
    if (!weightsScale->isFiniteNonZero() || weightsScale->isNegative())
      return emitOpError("expects a finite weights_scale > 0");
    if (getWeightsE4m3() && (getWeightsUnsigned() || zero != 0))
      return emitOpError("expects e4m3 weights with no zero point, not "
                         "unsigned");
    int64_t lo = getWeightsUnsigned() ? 0 : -128;
    if (zero < lo || zero > lo + 255)
      return emitOpError() << "expects a weights_zero_point in [" << lo << ", "
                           << lo + 255 << "]";
  }
  RankedTensorType queryType = getQuery().getType();
  if (Value sink = getSink(); sink && queryType.getRank() >= 3) {
    auto sinkType = rankedOf(sink.getType());
    int64_t heads = queryType.getDimSize(queryType.getRank() - 3);
    if (sinkType.getRank() != 1 ||
        sinkType.getElementType() != queryType.getElementType() ||
        (!ShapedType::isDynamic(heads) &&
         !ShapedType::isDynamic(sinkType.getDimSize(0)) &&
         sinkType.getDimSize(0) != heads))
      return emitOpError() << "expects a sink [" << heads
                           << "] of the query's element type (one logit per "
                              "query head)";
  }
  return success();
}

/// Checks that a norm's parameter broadcasts to the normalized dims.
static LogicalResult verifyNormParameter(Operation *op, StringRef name,
                                         Value param, RankedTensorType input,
                                         int64_t axis) {
  if (!param)
    return success();
  auto type = rankedOf(param.getType());
  ArrayRef<int64_t> normalized = input.getShape().drop_front(axis);
  auto shape = broadcastShapes(normalized, type.getShape());
  if (failed(shape) || *shape != normalized)
    return op->emitOpError()
           << "expects " << name << " " << shapeString(type.getShape())
           << " to broadcast to the normalized dims " << shapeString(normalized);
  if (type.getElementType() != input.getElementType())
    return op->emitOpError() << "expects " << name
                             << " of the input's element type";
  return success();
}

static LogicalResult verifyNorm(Operation *op, RankedTensorType input,
                                Type result, int64_t axis, Value scale,
                                Value bias) {
  if (axis < 0 || axis >= input.getRank())
    return op->emitOpError() << "expects axis in [0, " << input.getRank()
                             << "), got " << axis;
  if (result != input)
    return op->emitOpError() << "expects the result type to equal the input's";
  if (failed(verifyNormParameter(op, "scale", scale, input, axis)) ||
      failed(verifyNormParameter(op, "bias", bias, input, axis)))
    return failure();
  return success();
}

LogicalResult LayerNormOp::verify() {
  return verifyNorm(*this, getInput().getType(), getResult().getType(),
                    getAxis(), getScale(), getBias());
}

LogicalResult RMSNormOp::verify() {
  return verifyNorm(*this, getInput().getType(), getResult().getType(),
                    getAxis(), getScale(), Value());
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

static LogicalResult inferReduce(std::optional<Location> loc, StringRef opName,
                                 Value input, ArrayRef<int64_t> axes,
                                 bool keepdims, SmallVectorImpl<Type> &results) {
  auto type = rankedOf(input.getType());
  llvm::SmallSet<int64_t, 4> seen;
  for (int64_t axis : axes) {
    if (axis < 0 || axis >= type.getRank())
      return inferError(loc, opName,
                        "expects axes in [0, " + Twine(type.getRank()) +
                            "), got " + Twine(axis));
    if (!seen.insert(axis).second)
      return inferError(loc, opName, "expects unique axes, got " +
                                         Twine(axis) + " twice");
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    if (!seen.contains(i))
      shape.push_back(type.getDimSize(i));
    else if (keepdims)
      shape.push_back(1);
  }
  results.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}

#define LLM_INFER_REDUCE(OP, NAME)                                             \
  LogicalResult OP::inferReturnTypes(MLIRContext *context,                     \
                                     std::optional<Location> loc,              \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &results) {         \
    return inferReduce(loc, NAME, adaptor.getInput(), adaptor.getAxes(),       \
                       adaptor.getKeepdims(), results);                        \
  }
LLM_INFER_REDUCE(ReduceSumOp, "reduce_sum")
LLM_INFER_REDUCE(ReduceMeanOp, "reduce_mean")
LLM_INFER_REDUCE(ReduceMaxOp, "reduce_max")
LLM_INFER_REDUCE(ReduceMinOp, "reduce_min")
LLM_INFER_REDUCE(ReduceProdOp, "reduce_prod")
#undef LLM_INFER_REDUCE

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType();
  auto out = getResult().getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError() << "expects the result element type to equal the input's";
  if (in.hasStaticShape() && out.hasStaticShape() &&
      in.getNumElements() != out.getNumElements())
    return emitOpError() << "cannot reshape " << shapeString(in.getShape())
                         << " (" << in.getNumElements() << " elements) to "
                         << shapeString(out.getShape()) << " ("
                         << out.getNumElements() << " elements)";
  return success();
}

LogicalResult ExpandOp::verify() {
  auto in = getInput().getType();
  auto out = getResult().getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError() << "expects the result element type to equal the input's";
  auto shape = broadcastShapes(in.getShape(), out.getShape());
  if (failed(shape) || *shape != out.getShape())
    return emitOpError() << "cannot broadcast " << shapeString(in.getShape())
                         << " to " << shapeString(out.getShape());
  return success();
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *context,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  auto type = rankedOf(adaptor.getInput().getType());
  ArrayRef<int64_t> perm = adaptor.getPermutation();
  if (static_cast<int64_t>(perm.size()) != type.getRank())
    return inferError(loc, "transpose",
                      "expects a permutation of " + Twine(type.getRank()) +
                          " dims, got " + Twine(perm.size()));
  SmallVector<bool> seen(perm.size(), false);
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= type.getRank() || seen[p])
      return inferError(loc, "transpose",
                        "expects a permutation of [0, " +
                            Twine(type.getRank()) + "), got " +
                            shapeString(perm));
    seen[p] = true;
    shape.push_back(type.getDimSize(p));
  }
  results.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return inferError(loc, "concat", "expects at least one input");
  auto first = rankedOf(inputs.front().getType());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= first.getRank())
    return inferError(loc, "concat",
                      "expects axis in [0, " + Twine(first.getRank()) +
                          "), got " + Twine(axis));
  SmallVector<int64_t> shape(first.getShape());
  for (auto [index, input] : llvm::enumerate(inputs.drop_front())) {
    auto type = rankedOf(input.getType());
    bool ok = type.getRank() == first.getRank();
    for (int64_t d = 0; ok && d < first.getRank(); ++d)
      ok = d == axis || sameDim(type.getDimSize(d), shape[d]);
    if (!ok)
      return inferError(loc, "concat",
                        "expects input " + Twine(index + 1) + " " +
                            shapeString(type.getShape()) +
                            " to match input 0 " +
                            shapeString(first.getShape()) +
                            " in every dim but " + Twine(axis));
    shape[axis] = ShapedType::isDynamic(shape[axis]) ||
                          type.isDynamicDim(axis)
                      ? ShapedType::kDynamic
                      : shape[axis] + type.getDimSize(axis);
  }
  results.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *context,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  auto type = rankedOf(adaptor.getInput().getType());
  ArrayRef<int64_t> starts = adaptor.getStarts(), ends = adaptor.getEnds(),
                    steps = adaptor.getSteps();
  int64_t rank = type.getRank();
  if ((int64_t)starts.size() != rank || (int64_t)ends.size() != rank ||
      (int64_t)steps.size() != rank)
    return inferError(loc, "slice",
                      "expects one start, end and step per dim (" +
                          Twine(rank) + ")");
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = type.getDimSize(d), start = starts[d], end = ends[d],
            step = steps[d];
    bool dynamic = ShapedType::isDynamic(dim);
    bool ok = step > 0 ? (0 <= start && start <= end &&
                          (dynamic || end <= dim))
                       : step < 0 && (-1 <= end && end <= start &&
                                      (dynamic || start < dim));
    if (!ok)
      return inferError(loc, "slice",
                        "has bounds out of range in dim " + Twine(d) +
                            ": start " + Twine(start) + ", end " + Twine(end) +
                            ", step " + Twine(step) + ", size " +
                            (dynamic ? std::string("?") : std::to_string(dim)));
    int64_t extent = step > 0 ? end - start : start - end;
    int64_t stride = step > 0 ? step : -step;
    shape.push_back((extent + stride - 1) / stride);
  }
  results.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}

LogicalResult SplitOp::inferReturnTypes(MLIRContext *context,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  auto type = rankedOf(adaptor.getInput().getType());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= type.getRank())
    return inferError(loc, "split",
                      "expects axis in [0, " + Twine(type.getRank()) +
                          "), got " + Twine(axis));
  int64_t total = 0;
  for (int64_t size : adaptor.getSizes()) {
    if (size < 0)
      return inferError(loc, "split", "expects sizes >= 0");
    total += size;
  }
  if (!type.isDynamicDim(axis) && total != type.getDimSize(axis))
    return inferError(loc, "split",
                      "expects sizes " + shapeString(adaptor.getSizes()) +
                          " to add up to dim " + Twine(axis) + " (" +
                          Twine(type.getDimSize(axis)) + ")");
  for (int64_t size : adaptor.getSizes()) {
    SmallVector<int64_t> shape(type.getShape());
    shape[axis] = size;
    results.push_back(RankedTensorType::get(shape, type.getElementType()));
  }
  return success();
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  auto data = rankedOf(adaptor.getData().getType());
  auto indices = rankedOf(adaptor.getIndices().getType());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= data.getRank())
    return inferError(loc, "gather",
                      "expects axis in [0, " + Twine(data.getRank()) +
                          "), got " + Twine(axis));
  SmallVector<int64_t> shape(data.getShape().take_front(axis));
  llvm::append_range(shape, indices.getShape());
  llvm::append_range(shape, data.getShape().drop_front(axis + 1));
  results.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

/// Checks that a quantization parameter broadcasts to `shape` without
/// growing it (dims equal, or 1; missing leading dims are fine).
static LogicalResult verifyParameter(Operation *op, StringRef name,
                                     ArrayRef<int64_t> parameter,
                                     ArrayRef<int64_t> shape,
                                     StringRef target) {
  auto broadcast = broadcastShapes(shape, parameter);
  if (parameter.size() > shape.size() || failed(broadcast) ||
      *broadcast != shape)
    return op->emitOpError()
           << "expects " << name << " " << shapeString(parameter)
           << " to broadcast to the " << target << " " << shapeString(shape);
  return success();
}

LogicalResult QuantizeOp::verify() {
  ArrayRef<int64_t> shape = getInput().getType().getShape();
  if (getType().getShape() != shape)
    return emitOpError() << "expects the result shape "
                         << shapeString(getType().getShape())
                         << " to be the input shape " << shapeString(shape);
  if (failed(verifyParameter(*this, "scale", getScale().getType().getShape(),
                             shape, "input")))
    return failure();
  Type element = getType().getElementType();
  if (getE4m3() && (getZeroPoint() || getIsUnsigned() || !element.isInteger(8)))
    return emitOpError() << "expects no zero_point, no is_unsigned and an i8 "
                            "result with e4m3";
  if (Value zero = getZeroPoint()) {
    if (cast<RankedTensorType>(zero.getType()).getElementType() != element)
      return emitOpError() << "expects the zero_point's element type to be "
                           << element;
    return verifyParameter(*this, "zero_point",
                           cast<RankedTensorType>(zero.getType()).getShape(),
                           shape, "input");
  }
  return success();
}

LogicalResult DequantizeOp::verify() {
  auto input = getInput().getType();
  ArrayRef<int64_t> shape = getType().getShape();
  int64_t bits = getBits(), block = getBlockSize();
  bool wide = input.getElementType().isInteger(32);
  if (bits != 8 && bits != 4)
    return emitOpError() << "expects bits 8 or 4, got " << bits;
  if (input.getElementType().isF32() &&
      (bits != 8 || getIsUnsigned() || getZeroPoint() || block != 0))
    return emitOpError() << "expects an f32 input (an e4m3 accumulator) "
                            "without zero_point, is_unsigned, bits 4 or "
                            "block_size";
  if (getE4m3() && (!input.getElementType().isInteger(8) || bits != 8 ||
                    getIsUnsigned() || getZeroPoint() || block != 0))
    return emitOpError() << "expects e4m3 bits in an i8 input without "
                            "zero_point, is_unsigned, bits 4 or block_size";
  if (wide && (bits != 8 || getIsUnsigned()))
    return emitOpError() << "expects an i32 input to be signed and unpacked "
                            "(bits 8)";
  if (input.getElementType().isInteger(16) && (bits != 8 || block != 0))
    return emitOpError() << "expects an i16 input unpacked (bits 8) and "
                            "without block_size";
  if (block < 0)
    return emitOpError() << "expects a block_size >= 0, got " << block;
  if (Value zero = getZeroPoint())
    if (cast<RankedTensorType>(zero.getType()).getElementType() !=
        input.getElementType())
      return emitOpError() << "expects the zero_point's element type to be "
                           << input.getElementType();
  if (input.getRank() != static_cast<int64_t>(shape.size()) ||
      (bits == 4 && shape.empty()))
    return emitOpError() << "expects the input "
                         << shapeString(input.getShape()) << " and result "
                         << shapeString(shape) << " to have the same rank"
                         << (bits == 4 ? " (at least 1 with bits 4)" : "");
  SmallVector<int64_t> expected(shape);
  if (bits == 4 && !ShapedType::isDynamic(expected.back()))
    expected.back() = (expected.back() + 1) / 2;
  if (input.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError() << "expects an input of shape "
                         << shapeString(expected) << " for the result "
                         << shapeString(shape)
                         << (bits == 4 ? " (two 4-bit values per byte)" : "")
                         << ", got " << shapeString(input.getShape());
  // With blocks, parameters are checked against the result shape with its
  // last dim counted in blocks.
  SmallVector<int64_t> parameterTarget(shape);
  if (block > 0) {
    if (shape.empty())
      return emitOpError() << "expects a result of rank >= 1 with block_size";
    if (!ShapedType::isDynamic(parameterTarget.back()))
      parameterTarget.back() = (parameterTarget.back() + block - 1) / block;
  }
  StringRef target = block > 0 ? "result in blocks" : "result";
  for (auto [name, value] : {std::pair<StringRef, Value>{"scale", getScale()},
                             {"zero_point", getZeroPoint()}}) {
    if (!value)
      continue;
    ArrayRef<int64_t> parameter =
        cast<RankedTensorType>(value.getType()).getShape();
    if (block > 0 && parameter.size() != shape.size())
      return emitOpError() << "expects " << name << " "
                           << shapeString(parameter)
                           << " to have the result's rank with block_size "
                           << block;
    if (failed(
            verifyParameter(*this, name, parameter, parameterTarget, target)))
      return failure();
  }
  return success();
}

LogicalResult QMatMulOp::inferReturnTypes(MLIRContext *context,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  FailureOr<SmallVector<int64_t>> shape = inferProductShape(
      loc, "qmatmul", adaptor.getLhs().getType(), adaptor.getRhs().getType(),
      /*transposeLhs=*/false, adaptor.getTransposeRhs());
  if (failed(shape))
    return failure();
  Type element = adaptor.getE4m3() ? Type(Float32Type::get(context))
                                   : Type(IntegerType::get(context, 32));
  results.push_back(RankedTensorType::get(*shape, element));
  return success();
}

LogicalResult QMatMulOp::verify() {
  if (getE4m3() && (getLhsZeroPoint() || getRhsZeroPoint() ||
                    getLhsUnsigned() || getRhsUnsigned()))
    return emitOpError() << "expects no zero points and no unsigned operands "
                            "with e4m3";
  for (auto [name, zero, operand] :
       {std::tuple<StringRef, Value, Value>{"lhs_zero_point", getLhsZeroPoint(),
                                            getLhs()},
        {"rhs_zero_point", getRhsZeroPoint(), getRhs()}}) {
    if (!zero)
      continue;
    if (failed(verifyParameter(
            *this, name, cast<RankedTensorType>(zero.getType()).getShape(),
            cast<RankedTensorType>(operand.getType()).getShape(),
            name == "lhs_zero_point" ? "lhs" : "rhs")))
      return failure();
  }
  return success();
}

#define GET_OP_CLASSES
#include "llm/IR/LLMOps.cpp.inc"
