//===- LLMToLinalg.cpp - lower the llm dialect to linalg on tensors -------===//
//
// The host reference path every accelerator is checked against: each llm op
// becomes linalg.generic (or linalg.transpose) and tensor ops whose scalar
// bodies are plain arith and math ops, exact in fp32 with no approximations.
// Only static shapes are lowered; anything else is an error at the op.
//
//===----------------------------------------------------------------------===//

#include "llmc/Conversion/LLMToLinalg.h"
#include "llmc/Conversion/Passes.h"

#include "llm/IR/LLMDialect.h"
#include "llm/IR/LLMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

namespace llmc {
#define GEN_PASS_DEF_CONVERTLLMTOLINALG
#include "llmc/Conversion/Passes.h.inc"
} // namespace llmc

using namespace mlir;
using namespace mlir::llm;

namespace {

/// Builds the scalar result of a linalg.generic body from its block arguments.
using BodyBuilder = function_ref<Value(OpBuilder &, Location, ValueRange)>;

constexpr StringLiteral kCannotLower = "cannot lower '";

RankedTensorType tensorTypeOf(Value value) {
  return cast<RankedTensorType>(value.getType());
}

bool isFloat(Type type) { return isa<FloatType>(type); }

/// i1 is a boolean: it orders and compares as unsigned (true > false).
bool isBool(Type type) { return type.isInteger(1); }

LogicalResult cannotLower(Operation *op, const Twine &reason) {
  op->emitError() << kCannotLower << op->getName() << "' to linalg: " << reason;
  return failure();
}

/// Every pattern lowers static shapes of integer or float elements only.
LogicalResult checkLowerable(Operation *op) {
  auto check = [&](Type type) -> LogicalResult {
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!tensor || !tensor.hasStaticShape()) {
      std::string text;
      llvm::raw_string_ostream os(text);
      os << "dynamic shapes are not supported (" << type << ")";
      return cannotLower(op, text);
    }
    Type element = tensor.getElementType();
    if (!isa<FloatType, IntegerType>(element)) {
      std::string text;
      llvm::raw_string_ostream os(text);
      os << "unsupported element type " << element;
      return cannotLower(op, text);
    }
    return success();
  };
  for (Type type : op->getOperandTypes())
    if (failed(check(type)))
      return failure();
  for (Type type : op->getResultTypes())
    if (failed(check(type)))
      return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Scalar and tensor building blocks
//===----------------------------------------------------------------------===//

Value scalarConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (isFloat(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, value));
  return arith::ConstantOp::create(
      b, loc,
      IntegerAttr::get(type, APInt(type.getIntOrFloatBitWidth(),
                                   static_cast<int64_t>(value),
                                   /*isSigned=*/!isBool(type))));
}

Value emptyLike(OpBuilder &b, Location loc, RankedTensorType type) {
  return tensor::EmptyOp::create(b, loc, type.getShape(),
                                 type.getElementType());
}

Value filled(OpBuilder &b, Location loc, RankedTensorType type,
             TypedAttr value) {
  Value scalar = arith::ConstantOp::create(b, loc, value);
  return linalg::FillOp::create(b, loc, ValueRange{scalar},
                                ValueRange{emptyLike(b, loc, type)})
      .getResult(0);
}

/// Reads an operand of `shape` at the iteration point of a `resultShape` loop
/// nest, numpy-style: trailing dims align, missing leading dims are dropped,
/// and a dim of size 1 against a larger one reads index 0.
AffineMap broadcastMap(ArrayRef<int64_t> shape, ArrayRef<int64_t> resultShape,
                       unsigned firstDim, unsigned numDims, MLIRContext *ctx) {
  unsigned offset = firstDim + resultShape.size() - shape.size();
  SmallVector<AffineExpr> exprs;
  for (auto [i, dim] : llvm::enumerate(shape)) {
    if (dim == 1 && resultShape[offset - firstDim + i] != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(offset + i, ctx));
  }
  return AffineMap::get(numDims, 0, exprs, ctx);
}

AffineMap broadcastMap(ArrayRef<int64_t> shape, ArrayRef<int64_t> resultShape,
                       MLIRContext *ctx) {
  return broadcastMap(shape, resultShape, 0, resultShape.size(), ctx);
}

/// The map from a loop nest to the dims it keeps (those not `reduced`).
AffineMap keptDimsMap(ArrayRef<bool> reduced, MLIRContext *ctx) {
  SmallVector<AffineExpr> exprs;
  for (auto [dim, isReduced] : llvm::enumerate(reduced))
    if (!isReduced)
      exprs.push_back(getAffineDimExpr(dim, ctx));
  return AffineMap::get(reduced.size(), 0, exprs, ctx);
}

SmallVector<int64_t> keptShape(ArrayRef<int64_t> shape,
                               ArrayRef<bool> reduced) {
  SmallVector<int64_t> kept;
  for (auto [dim, isReduced] : llvm::zip_equal(shape, reduced))
    if (!isReduced)
      kept.push_back(dim);
  return kept;
}

Value createGeneric(OpBuilder &b, Location loc, ValueRange inputs,
                    ArrayRef<AffineMap> inputMaps, Value init,
                    AffineMap initMap, ArrayRef<utils::IteratorType> iterators,
                    BodyBuilder body) {
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(initMap);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        linalg::YieldOp::create(nested, nestedLoc,
                                body(nested, nestedLoc, args));
      });
  return generic.getResult(0);
}

/// The one lowering of elementwise ops: a parallel linalg.generic over
/// `resultType` that broadcasts every operand numpy-style; `body` gets one
/// scalar per operand.
Value createElementwise(OpBuilder &b, Location loc, RankedTensorType resultType,
                        ValueRange operands, BodyBuilder body) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value operand : operands)
    maps.push_back(broadcastMap(tensorTypeOf(operand).getShape(),
                                resultType.getShape(), ctx));
  SmallVector<utils::IteratorType> iterators(resultType.getRank(),
                                             utils::IteratorType::parallel);
  return createGeneric(
      b, loc, operands, maps, emptyLike(b, loc, resultType),
      b.getMultiDimIdentityMap(resultType.getRank()), iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        return body(nested, nestedLoc, args.drop_back());
      });
}

/// Reduces the loop nest over `shape` along the `reduced` dims into a tensor of
/// the kept dims, starting from `init`; `combine` gets the inputs' scalars and
/// the accumulator last.
Value createReduction(OpBuilder &b, Location loc, ValueRange inputs,
                      ArrayRef<AffineMap> inputMaps, ArrayRef<int64_t> shape,
                      ArrayRef<bool> reduced, TypedAttr init,
                      BodyBuilder combine) {
  auto resultType =
      RankedTensorType::get(keptShape(shape, reduced), init.getType());
  SmallVector<utils::IteratorType> iterators;
  for (bool isReduced : reduced)
    iterators.push_back(isReduced ? utils::IteratorType::reduction
                                  : utils::IteratorType::parallel);
  return createGeneric(
      b, loc, inputs, inputMaps, filled(b, loc, resultType, init),
      keptDimsMap(reduced, b.getContext()), iterators, combine);
}

/// Reshapes a static tensor with one collapse_shape or expand_shape when the
/// shapes differ by grouping dims, else through a 1-D tensor.
Value reshapeTo(OpBuilder &b, Location loc, Value input,
                RankedTensorType resultType) {
  auto inputType = tensorTypeOf(input);
  if (inputType == resultType)
    return input;
  if (resultType.getRank() == 0)
    return tensor::CollapseShapeOp::create(b, loc, resultType, input,
                                           ArrayRef<ReassociationIndices>{});
  if (inputType.getRank() == 0)
    return tensor::ExpandShapeOp::create(b, loc, resultType, input,
                                         ArrayRef<ReassociationIndices>{});
  if (inputType.getRank() > resultType.getRank())
    if (auto groups = getReassociationIndicesForCollapse(inputType.getShape(),
                                                         resultType.getShape()))
      return tensor::CollapseShapeOp::create(b, loc, resultType, input,
                                             *groups);
  if (inputType.getRank() < resultType.getRank())
    if (auto groups = getReassociationIndicesForCollapse(resultType.getShape(),
                                                         inputType.getShape()))
      return tensor::ExpandShapeOp::create(b, loc, resultType, input, *groups);

  auto flatType = RankedTensorType::get({inputType.getNumElements()},
                                        inputType.getElementType());
  Value flat = input;
  if (inputType.getRank() != 1) {
    ReassociationIndices all =
        llvm::to_vector(llvm::seq<int64_t>(0, inputType.getRank()));
    flat = tensor::CollapseShapeOp::create(b, loc, flatType, input,
                                           ArrayRef<ReassociationIndices>{all});
  }
  if (resultType.getRank() == 1)
    return flat;
  ReassociationIndices all =
      llvm::to_vector(llvm::seq<int64_t>(0, resultType.getRank()));
  return tensor::ExpandShapeOp::create(b, loc, resultType, flat,
                                       ArrayRef<ReassociationIndices>{all});
}

//===----------------------------------------------------------------------===//
// Scalar semantics of the elementwise ops
//===----------------------------------------------------------------------===//

Value castScalar(OpBuilder &b, Location loc, Value x, Type to) {
  Type from = x.getType();
  if (from == to)
    return x;
  if (isBool(to)) {
    Value zero = scalarConstant(b, loc, from, 0);
    if (isFloat(from))
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, x, zero);
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x, zero);
  }
  unsigned fromWidth = from.getIntOrFloatBitWidth();
  unsigned toWidth = to.getIntOrFloatBitWidth();
  if (isFloat(from) && isFloat(to)) {
    if (fromWidth == toWidth) {
      // Two 16-bit formats (f16, bf16): f32 holds both exactly.
      x = arith::ExtFOp::create(b, loc, b.getF32Type(), x);
      return arith::TruncFOp::create(b, loc, to, x);
    }
    if (fromWidth < toWidth)
      return arith::ExtFOp::create(b, loc, to, x);
    return arith::TruncFOp::create(b, loc, to, x);
  }
  if (isFloat(to)) {
    if (isBool(from))
      return arith::UIToFPOp::create(b, loc, to, x);
    return arith::SIToFPOp::create(b, loc, to, x);
  }
  if (isFloat(from))
    return arith::FPToSIOp::create(b, loc, to, x);
  if (fromWidth < toWidth) {
    if (isBool(from))
      return arith::ExtUIOp::create(b, loc, to, x);
    return arith::ExtSIOp::create(b, loc, to, x);
  }
  return arith::TruncIOp::create(b, loc, to, x);
}

Value compare(OpBuilder &b, Location loc, ValueRange args,
              arith::CmpFPredicate floatPredicate,
              arith::CmpIPredicate signedPredicate,
              arith::CmpIPredicate unsignedPredicate) {
  Type type = args[0].getType();
  if (isFloat(type))
    return arith::CmpFOp::create(b, loc, floatPredicate, args[0], args[1]);
  return arith::CmpIOp::create(
      b, loc, isBool(type) ? unsignedPredicate : signedPredicate, args[0],
      args[1]);
}

Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Value one = scalarConstant(b, loc, x.getType(), 1.0);
  Value negated = arith::NegFOp::create(b, loc, x);
  Value denominator =
      arith::AddFOp::create(b, loc, one, math::ExpOp::create(b, loc, negated));
  return arith::DivFOp::create(b, loc, one, denominator);
}

/// Remainder with the sign of the divisor: the truncating remainder, moved
/// by one divisor when it is non-zero and its sign differs.
Value modulo(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  Type type = lhs.getType();
  Value zero = scalarConstant(b, loc, type, 0);
  Value remainder, adjusted, nonZero, remainderNegative, divisorNegative;
  if (isFloat(type)) {
    remainder = arith::RemFOp::create(b, loc, lhs, rhs);
    adjusted = arith::AddFOp::create(b, loc, remainder, rhs);
    nonZero = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::ONE,
                                    remainder, zero);
    remainderNegative = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                              remainder, zero);
    divisorNegative =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, rhs, zero);
  } else {
    remainder = arith::RemSIOp::create(b, loc, lhs, rhs);
    adjusted = arith::AddIOp::create(b, loc, remainder, rhs);
    nonZero = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, remainder,
                                    zero);
    remainderNegative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                              remainder, zero);
    divisorNegative =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, rhs, zero);
  }
  Value signsDiffer =
      arith::XOrIOp::create(b, loc, remainderNegative, divisorNegative);
  Value adjust = arith::AndIOp::create(b, loc, nonZero, signsDiffer);
  return arith::SelectOp::create(b, loc, adjust, adjusted, remainder);
}

Value scalarOf(AddOp, OpBuilder &b, Location loc, ValueRange args) {
  if (isFloat(args[0].getType()))
    return arith::AddFOp::create(b, loc, args[0], args[1]);
  return arith::AddIOp::create(b, loc, args[0], args[1]);
}
Value scalarOf(SubOp, OpBuilder &b, Location loc, ValueRange args) {
  if (isFloat(args[0].getType()))
    return arith::SubFOp::create(b, loc, args[0], args[1]);
  return arith::SubIOp::create(b, loc, args[0], args[1]);
}
Value scalarOf(MulOp, OpBuilder &b, Location loc, ValueRange args) {
  if (isFloat(args[0].getType()))
    return arith::MulFOp::create(b, loc, args[0], args[1]);
  return arith::MulIOp::create(b, loc, args[0], args[1]);
}
Value scalarOf(DivOp, OpBuilder &b, Location loc, ValueRange args) {
  if (isFloat(args[0].getType()))
    return arith::DivFOp::create(b, loc, args[0], args[1]);
  return arith::DivSIOp::create(b, loc, args[0], args[1]);
}
Value scalarOf(ModOp, OpBuilder &b, Location loc, ValueRange args) {
  return modulo(b, loc, args[0], args[1]);
}
Value scalarOf(PowOp, OpBuilder &b, Location loc, ValueRange args) {
  if (isFloat(args[0].getType()))
    return math::PowFOp::create(b, loc, args[0], args[1]);
  return math::IPowIOp::create(b, loc, args[0], args[1]);
}
Value scalarOf(MaxOp, OpBuilder &b, Location loc, ValueRange args) {
  Type type = args[0].getType();
  if (isFloat(type))
    return arith::MaximumFOp::create(b, loc, args[0], args[1]);
  if (isBool(type))
    return arith::MaxUIOp::create(b, loc, args[0], args[1]);
  return arith::MaxSIOp::create(b, loc, args[0], args[1]);
}
Value scalarOf(MinOp, OpBuilder &b, Location loc, ValueRange args) {
  Type type = args[0].getType();
  if (isFloat(type))
    return arith::MinimumFOp::create(b, loc, args[0], args[1]);
  if (isBool(type))
    return arith::MinUIOp::create(b, loc, args[0], args[1]);
  return arith::MinSIOp::create(b, loc, args[0], args[1]);
}
Value scalarOf(EqualOp, OpBuilder &b, Location loc, ValueRange args) {
  return compare(b, loc, args, arith::CmpFPredicate::OEQ,
                 arith::CmpIPredicate::eq, arith::CmpIPredicate::eq);
}
Value scalarOf(LessOp, OpBuilder &b, Location loc, ValueRange args) {
  return compare(b, loc, args, arith::CmpFPredicate::OLT,
                 arith::CmpIPredicate::slt, arith::CmpIPredicate::ult);
}
Value scalarOf(LessEqualOp, OpBuilder &b, Location loc, ValueRange args) {
  return compare(b, loc, args, arith::CmpFPredicate::OLE,
                 arith::CmpIPredicate::sle, arith::CmpIPredicate::ule);
}
Value scalarOf(GreaterOp, OpBuilder &b, Location loc, ValueRange args) {
  return compare(b, loc, args, arith::CmpFPredicate::OGT,
                 arith::CmpIPredicate::sgt, arith::CmpIPredicate::ugt);
}
Value scalarOf(GreaterEqualOp, OpBuilder &b, Location loc, ValueRange args) {
  return compare(b, loc, args, arith::CmpFPredicate::OGE,
                 arith::CmpIPredicate::sge, arith::CmpIPredicate::uge);
}
Value scalarOf(AndOp, OpBuilder &b, Location loc, ValueRange args) {
  return arith::AndIOp::create(b, loc, args[0], args[1]);
}
Value scalarOf(OrOp, OpBuilder &b, Location loc, ValueRange args) {
  return arith::OrIOp::create(b, loc, args[0], args[1]);
}
Value scalarOf(XorOp, OpBuilder &b, Location loc, ValueRange args) {
  return arith::XOrIOp::create(b, loc, args[0], args[1]);
}
/// `shift` of args[0] by args[1], both unsigned; 0 where the amount is the
/// bit width or more (where arith's shifts are poison).
template <typename ShiftOp>
Value shiftScalar(OpBuilder &b, Location loc, ValueRange args) {
  Type type = args[0].getType();
  Value zero = scalarConstant(b, loc, type, 0);
  Value inRange = arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::ult, args[1],
      scalarConstant(b, loc, type, type.getIntOrFloatBitWidth()));
  Value shifted = ShiftOp::create(b, loc, args[0], args[1]);
  return arith::SelectOp::create(b, loc, inRange, shifted, zero);
}
Value scalarOf(ShiftLeftOp, OpBuilder &b, Location loc, ValueRange args) {
  return shiftScalar<arith::ShLIOp>(b, loc, args);
}
Value scalarOf(ShiftRightOp, OpBuilder &b, Location loc, ValueRange args) {
  return shiftScalar<arith::ShRUIOp>(b, loc, args);
}
Value scalarOf(NotOp, OpBuilder &b, Location loc, ValueRange args) {
  Value allOnes = arith::ConstantOp::create(
      b, loc,
      IntegerAttr::get(
          args[0].getType(),
          APInt::getAllOnes(args[0].getType().getIntOrFloatBitWidth())));
  return arith::XOrIOp::create(b, loc, args[0], allOnes);
}
Value scalarOf(ExpOp, OpBuilder &b, Location loc, ValueRange args) {
  return math::ExpOp::create(b, loc, args[0]);
}
Value scalarOf(LogOp, OpBuilder &b, Location loc, ValueRange args) {
  return math::LogOp::create(b, loc, args[0]);
}
Value scalarOf(TanhOp, OpBuilder &b, Location loc, ValueRange args) {
  return math::TanhOp::create(b, loc, args[0]);
}
Value scalarOf(ErfOp, OpBuilder &b, Location loc, ValueRange args) {
  return math::ErfOp::create(b, loc, args[0]);
}
Value scalarOf(SqrtOp, OpBuilder &b, Location loc, ValueRange args) {
  return math::SqrtOp::create(b, loc, args[0]);
}
Value scalarOf(RsqrtOp, OpBuilder &b, Location loc, ValueRange args) {
  return math::RsqrtOp::create(b, loc, args[0]);
}
Value scalarOf(SigmoidOp, OpBuilder &b, Location loc, ValueRange args) {
  return sigmoid(b, loc, args[0]);
}
Value scalarOf(ReciprocalOp, OpBuilder &b, Location loc, ValueRange args) {
  Value one = scalarConstant(b, loc, args[0].getType(), 1.0);
  return arith::DivFOp::create(b, loc, one, args[0]);
}
Value scalarOf(SinOp, OpBuilder &b, Location loc, ValueRange args) {
  return math::SinOp::create(b, loc, args[0]);
}
Value scalarOf(CosOp, OpBuilder &b, Location loc, ValueRange args) {
  return math::CosOp::create(b, loc, args[0]);
}
Value scalarOf(FloorOp, OpBuilder &b, Location loc, ValueRange args) {
  return math::FloorOp::create(b, loc, args[0]);
}
Value scalarOf(CeilOp, OpBuilder &b, Location loc, ValueRange args) {
  return math::CeilOp::create(b, loc, args[0]);
}
Value scalarOf(ReluOp, OpBuilder &b, Location loc, ValueRange args) {
  Type type = args[0].getType();
  Value zero = scalarConstant(b, loc, type, 0);
  if (isFloat(type))
    return arith::MaximumFOp::create(b, loc, args[0], zero);
  if (isBool(type))
    return args[0];
  return arith::MaxSIOp::create(b, loc, args[0], zero);
}
Value scalarOf(NegOp, OpBuilder &b, Location loc, ValueRange args) {
  Type type = args[0].getType();
  if (isFloat(type))
    return arith::NegFOp::create(b, loc, args[0]);
  return arith::SubIOp::create(b, loc, scalarConstant(b, loc, type, 0),
                               args[0]);
}
Value scalarOf(AbsOp, OpBuilder &b, Location loc, ValueRange args) {
  if (isFloat(args[0].getType()))
    return math::AbsFOp::create(b, loc, args[0]);
  if (isBool(args[0].getType()))
    return args[0];
  return math::AbsIOp::create(b, loc, args[0]);
}
Value scalarOf(SiluOp, OpBuilder &b, Location loc, ValueRange args) {
  return arith::MulFOp::create(b, loc, args[0], sigmoid(b, loc, args[0]));
}
Value gelu(OpBuilder &b, Location loc, Value x,
           GeluApproximation approximation) {
  Type type = x.getType();
  auto constant = [&](double value) {
    return scalarConstant(b, loc, type, value);
  };
  Value inner;
  if (approximation == GeluApproximation::tanh) {
    Value cube =
        arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, x, x), x);
    Value sum = arith::AddFOp::create(
        b, loc, x, arith::MulFOp::create(b, loc, constant(0.044715), cube));
    Value scaled =
        arith::MulFOp::create(b, loc, constant(std::sqrt(2.0 / M_PI)), sum);
    inner = math::TanhOp::create(b, loc, scaled);
  } else {
    inner = math::ErfOp::create(
        b, loc, arith::MulFOp::create(b, loc, x, constant(M_SQRT1_2)));
  }
  Value onePlus = arith::AddFOp::create(b, loc, constant(1.0), inner);
  Value half = arith::MulFOp::create(b, loc, constant(0.5), x);
  return arith::MulFOp::create(b, loc, half, onePlus);
}
Value scalarOf(GeluOp op, OpBuilder &b, Location loc, ValueRange args) {
  return gelu(b, loc, args[0], op.getApproximation());
}
Value scalarOf(WhereOp, OpBuilder &b, Location loc, ValueRange args) {
  return arith::SelectOp::create(b, loc, args[0], args[1], args[2]);
}
Value scalarOf(ExpandOp, OpBuilder &, Location, ValueRange args) {
  return args[0];
}
Value scalarOf(CastOp op, OpBuilder &b, Location loc, ValueRange args) {
  return castScalar(b, loc, args[0], op.getType().getElementType());
}

/// The activation of a matmul epilogue: the scalar body of the standalone op.
Value activate(Activation activation, OpBuilder &b, Location loc, Value x) {
  switch (activation) {
  case Activation::none:
    return x;
  case Activation::relu:
    return scalarOf(ReluOp(), b, loc, x);
  case Activation::gelu:
    return gelu(b, loc, x, GeluApproximation::none);
  case Activation::gelu_tanh:
    return gelu(b, loc, x, GeluApproximation::tanh);
  case Activation::silu:
    return scalarOf(SiluOp(), b, loc, x);
  }
  llvm_unreachable("unknown activation");
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// Checks the shapes and element types every lowering needs, then lowers.
template <typename OpTy> class LLMLowering : public OpConversionPattern<OpTy> {
public:
  using OpConversionPattern<OpTy>::OpConversionPattern;
  using OpAdaptor = typename OpTy::Adaptor;

  LogicalResult
  matchAndRewrite(OpTy op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const final {
    if (failed(checkLowerable(op)))
      return failure();
    return lower(op, adaptor, rewriter);
  }

protected:
  virtual LogicalResult lower(OpTy op, OpAdaptor adaptor,
                              ConversionPatternRewriter &rewriter) const = 0;
};

class ConstantLowering : public LLMLowering<ConstantOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(ConstantOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    auto value = dyn_cast<TypedAttr>(op.getValue());
    if (!value)
      return cannotLower(op, "the value is not a typed attribute");
    rewriter.replaceOp(op,
                       arith::ConstantOp::create(rewriter, op.getLoc(), value));
    return success();
  }
};

template <typename OpTy> class ElementwiseLowering : public LLMLowering<OpTy> {
public:
  using LLMLowering<OpTy>::LLMLowering;
  using OpAdaptor = typename OpTy::Adaptor;
  LogicalResult lower(OpTy op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Value result = createElementwise(
        rewriter, op.getLoc(), cast<RankedTensorType>(op.getType()),
        adaptor.getOperands(),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return scalarOf(op, b, loc, args);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// The iteration domain of a batched product of result type `resultType`:
/// the batch dims, M and N (parallel), then K (reduction). Operands read
/// their batch dims numpy-broadcast.
struct ProductDomain {
  ProductDomain(MLIRContext *ctx, RankedTensorType resultType)
      : ctx(ctx), rank(resultType.getRank()), numDims(rank + 1),
        batchShape(resultType.getShape().drop_back(2)),
        m(getAffineDimExpr(rank - 2, ctx)), n(getAffineDimExpr(rank - 1, ctx)),
        k(getAffineDimExpr(rank, ctx)) {}

  /// The exprs an operand is read at: its batch dims, then (row, column).
  SmallVector<AffineExpr> operandExprs(Value operand, AffineExpr row,
                                       AffineExpr column) const {
    ArrayRef<int64_t> shape = tensorTypeOf(operand).getShape();
    AffineMap batch =
        broadcastMap(shape.drop_back(2), batchShape, 0, numDims, ctx);
    SmallVector<AffineExpr> exprs(batch.getResults());
    exprs.push_back(row);
    exprs.push_back(column);
    return exprs;
  }
  /// lhs [.., M, K] (or [.., K, M] transposed).
  SmallVector<AffineExpr> lhsExprs(Value lhs, bool transpose) const {
    return transpose ? operandExprs(lhs, k, m) : operandExprs(lhs, m, k);
  }
  /// rhs [.., K, N] (or [.., N, K] transposed).
  SmallVector<AffineExpr> rhsExprs(Value rhs, bool transpose) const {
    return transpose ? operandExprs(rhs, n, k) : operandExprs(rhs, k, n);
  }
  AffineMap map(ArrayRef<AffineExpr> exprs) const {
    return AffineMap::get(numDims, 0, exprs, ctx);
  }
  AffineMap resultMap() const {
    return AffineMap::getMultiDimIdentityMap(numDims, ctx).getMajorSubMap(
        rank);
  }
  SmallVector<utils::IteratorType> iterators() const {
    SmallVector<utils::IteratorType> kinds(rank,
                                           utils::IteratorType::parallel);
    kinds.push_back(utils::IteratorType::reduction);
    return kinds;
  }

  MLIRContext *ctx;
  int64_t rank;
  unsigned numDims;
  ArrayRef<int64_t> batchShape;
  AffineExpr m, n, k;
};

/// A batched product with numpy batch broadcasting: parallel batch, M and N
/// loops and one reduction loop over K, accumulated in the element type.
Value createMatmul(OpBuilder &b, Location loc, Value lhs, Value rhs,
                   bool transposeLhs, bool transposeRhs,
                   RankedTensorType resultType) {
  ProductDomain domain(b.getContext(), resultType);
  AffineMap lhsMap = domain.map(domain.lhsExprs(lhs, transposeLhs));
  AffineMap rhsMap = domain.map(domain.rhsExprs(rhs, transposeRhs));
  Type elementType = resultType.getElementType();
  Value init = filled(b, loc, resultType, b.getZeroAttr(elementType));
  return createGeneric(
      b, loc, ValueRange{lhs, rhs}, {lhsMap, rhsMap}, init,
      domain.resultMap(), domain.iterators(),
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        if (isFloat(elementType))
          return arith::AddFOp::create(
                     nested, nestedLoc, args[2],
                     arith::MulFOp::create(nested, nestedLoc, args[0], args[1]))
              .getResult();
        return arith::AddIOp::create(
                   nested, nestedLoc, args[2],
                   arith::MulIOp::create(nested, nestedLoc, args[0], args[1]))
            .getResult();
      });
}

/// What follows the product of llm.matmul and llm.gemm, one elementwise pass:
/// act(scale * product + biasScale * bias) + residual.
struct Epilogue {
  double scale = 1.0;
  Value bias;
  double biasScale = 1.0;
  Activation activation = Activation::none;
  Value residual;
};

/// The one lowering of a product with its epilogue: the product generic, then,
/// unless the epilogue is empty, one elementwise generic over the product and
/// the broadcast bias and residual, in the order the ops define.
FailureOr<Value> lowerProduct(Operation *op, OpBuilder &b, Location loc,
                              Value lhs, Value rhs, bool transposeLhs,
                              bool transposeRhs, RankedTensorType resultType,
                              const Epilogue &epilogue) {
  Type elementType = resultType.getElementType();
  bool scaleProduct = epilogue.scale != 1.0;
  bool scaleBias = epilogue.bias && epilogue.biasScale != 1.0;
  if (!isFloat(elementType) && (scaleProduct || scaleBias))
    return cannotLower(op, isa<GemmOp>(op)
                               ? "alpha and beta other than 1 need a float "
                                 "element type"
                               : "a scale other than 1 needs a float element "
                                 "type");
  Value product =
      createMatmul(b, loc, lhs, rhs, transposeLhs, transposeRhs, resultType);
  if (!scaleProduct && !epilogue.bias &&
      epilogue.activation == Activation::none && !epilogue.residual)
    return product;
  SmallVector<Value> operands{product};
  if (epilogue.bias)
    operands.push_back(epilogue.bias);
  if (epilogue.residual)
    operands.push_back(epilogue.residual);
  return createElementwise(
      b, loc, resultType, operands,
      [&](OpBuilder &nb, Location nestedLoc, ValueRange args) -> Value {
        Value value = args[0];
        if (scaleProduct)
          value = arith::MulFOp::create(
              nb, nestedLoc,
              scalarConstant(nb, nestedLoc, elementType, epilogue.scale),
              value);
        if (epilogue.bias) {
          Value addend = args[1];
          if (scaleBias)
            addend = arith::MulFOp::create(
                nb, nestedLoc,
                scalarConstant(nb, nestedLoc, elementType, epilogue.biasScale),
                addend);
          value = scalarOf(AddOp(), nb, nestedLoc, {value, addend});
        }
        value = activate(epilogue.activation, nb, nestedLoc, value);
        if (epilogue.residual)
          value = scalarOf(AddOp(), nb, nestedLoc, {value, args.back()});
        return value;
      });
}

class MatMulLowering : public LLMLowering<MatMulOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(MatMulOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Epilogue epilogue;
    epilogue.scale = op.getScale().convertToDouble();
    epilogue.bias = adaptor.getBias();
    epilogue.activation = op.getActivation();
    epilogue.residual = adaptor.getResidual();
    FailureOr<Value> result = lowerProduct(
        op, rewriter, op.getLoc(), adaptor.getLhs(), adaptor.getRhs(),
        op.getTransposeLhs(), op.getTransposeRhs(), op.getType(), epilogue);
    if (failed(result))
      return failure();
    rewriter.replaceOp(op, *result);
    return success();
  }
};

class GemmLowering : public LLMLowering<GemmOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(GemmOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Epilogue epilogue;
    epilogue.scale = op.getAlpha().convertToDouble();
    epilogue.bias = adaptor.getC();
    epilogue.biasScale = op.getBeta().convertToDouble();
    FailureOr<Value> result = lowerProduct(
        op, rewriter, op.getLoc(), adaptor.getA(), adaptor.getB(),
        op.getTransposeA(), op.getTransposeB(), op.getType(), epilogue);
    if (failed(result))
      return failure();
    rewriter.replaceOp(op, *result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Quantization: exact integer arithmetic, the reference of the int8 backends
//===----------------------------------------------------------------------===//

/// The exprs that read a parameter of `shape` broadcast (numpy-style, without
/// growing) to an operand whose dims are read at `operandExprs`.
SmallVector<AffineExpr> broadcastExprs(ArrayRef<int64_t> shape,
                                       ArrayRef<int64_t> operandShape,
                                       ArrayRef<AffineExpr> operandExprs,
                                       MLIRContext *ctx) {
  size_t offset = operandShape.size() - shape.size();
  SmallVector<AffineExpr> exprs;
  for (auto [i, dim] : llvm::enumerate(shape)) {
    if (dim == 1 && operandShape[offset + i] != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(operandExprs[offset + i]);
  }
  return exprs;
}

/// An 8-bit integer widened to i32 as signed or unsigned.
Value widen(OpBuilder &b, Location loc, Value x, bool isUnsigned) {
  Type i32 = b.getI32Type();
  if (x.getType() == i32)
    return x;
  if (isUnsigned)
    return arith::ExtUIOp::create(b, loc, i32, x);
  return arith::ExtSIOp::create(b, loc, i32, x);
}

/// An f32 rounded to FP8 E4M3 (f8E4M3FN) as llm.quantize's e4m3 specifies:
/// nearest even, saturating at ±448, NaN to 0x7F; the bits as i8. The
/// rounding works on the magnitude: its binade's step 2^(e - 3) (2^-9 for
/// subnormals, e clamped at -6) divides it exactly, roundeven gives the
/// multiple, and the multiple's f32 bits give the E4M3 fields.
Value encodeE4M3(OpBuilder &b, Location loc, Value v) {
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  auto c32 = [&](int64_t x) { return scalarConstant(b, loc, i32, x); };
  auto f = [&](double x) { return scalarConstant(b, loc, f32, x); };
  Value bits = arith::BitcastOp::create(b, loc, i32, v);
  Value sign = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, bits, c32(24)), c32(0x80));
  Value magnitude = arith::MinimumFOp::create(
      b, loc, math::AbsFOp::create(b, loc, v), f(448.0));
  Value magnitudeBits = arith::BitcastOp::create(b, loc, i32, magnitude);
  Value exponent = arith::SubIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, magnitudeBits, c32(23)), c32(127));
  exponent = arith::MaxSIOp::create(b, loc, exponent, c32(-6));
  Value step = arith::BitcastOp::create(
      b, loc, f32,
      arith::ShLIOp::create(
          b, loc, arith::AddIOp::create(b, loc, exponent, c32(127 - 3)),
          c32(23)));
  Value rounded = arith::MulFOp::create(
      b, loc,
      math::RoundEvenOp::create(b, loc,
                                arith::DivFOp::create(b, loc, magnitude, step)),
      step);
  // Normal: ((exponent + 7) << 3 | mantissa) from the f32 fields;
  // subnormal (below 2^-6): the multiple of 2^-9.
  Value normal = arith::SubIOp::create(
      b, loc,
      arith::ShRUIOp::create(
          b, loc, arith::BitcastOp::create(b, loc, i32, rounded), c32(20)),
      c32((127 - 7) << 3));
  Value subnormal = arith::FPToSIOp::create(
      b, loc, i32, arith::MulFOp::create(b, loc, rounded, f(512.0)));
  Value isSubnormal = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                            rounded, f(0.015625));
  Value code = arith::OrIOp::create(
      b, loc, sign,
      arith::SelectOp::create(b, loc, isSubnormal, subnormal, normal));
  Value isNaN = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, v, v);
  code = arith::SelectOp::create(b, loc, isNaN, c32(0x7F), code);
  return arith::TruncIOp::create(b, loc, b.getI8Type(), code);
}

/// The f32 value of FP8 E4M3 bits (an i8): exact.
Value decodeE4M3(OpBuilder &b, Location loc, Value q) {
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  auto c32 = [&](int64_t x) { return scalarConstant(b, loc, i32, x); };
  Value byte = arith::ExtUIOp::create(b, loc, i32, q);
  Value sign = arith::ShLIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, byte, c32(7)), c32(31));
  Value fields = arith::AndIOp::create(b, loc, byte, c32(0x7F));
  Value exponent = arith::ShRUIOp::create(b, loc, fields, c32(3));
  // Normal: rebias the exponent (7 to 127) under the 3 mantissa bits.
  Value normal = arith::BitcastOp::create(
      b, loc, f32,
      arith::OrIOp::create(
          b, loc, sign,
          arith::ShLIOp::create(
              b, loc, arith::AddIOp::create(b, loc, fields, c32(120 << 3)),
              c32(20))));
  // Subnormal: mantissa x 2^-9, signed.
  Value magnitude = arith::MulFOp::create(
      b, loc,
      arith::SIToFPOp::create(b, loc, f32,
                              arith::AndIOp::create(b, loc, fields, c32(7))),
      scalarConstant(b, loc, f32, 1.0 / 512));
  Value subnormal = arith::BitcastOp::create(
      b, loc, f32,
      arith::OrIOp::create(b, loc, sign,
                           arith::BitcastOp::create(b, loc, i32, magnitude)));
  Value value = arith::SelectOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, exponent, c32(0)),
      subnormal, normal);
  Value isNaN = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, fields,
                                      c32(0x7F));
  return arith::SelectOp::create(
      b, loc, isNaN,
      scalarConstant(b, loc, f32, std::numeric_limits<double>::quiet_NaN()),
      value);
}

/// llm.quantize's integer level of `quotient` (x / scale, f32): roundeven,
/// plus the zero point `zero` (f32, or null for none), saturated to the
/// range of a `bits`-bit integer ([0, 255] when `isUnsigned`, else
/// [-128, 127] for 8 bits); still f32. maxnumf returns the number when the
/// other operand is NaN, so NaN saturates to the lower bound.
Value integerLevel(OpBuilder &b, Location loc, Value quotient, Value zero,
                   bool isUnsigned, unsigned bits = 8) {
  Type f32 = b.getF32Type();
  Value v = math::RoundEvenOp::create(b, loc, quotient);
  if (zero)
    v = arith::AddFOp::create(b, loc, v, zero);
  double lo = isUnsigned ? 0 : -std::ldexp(1.0, bits - 1);
  double hi =
      isUnsigned ? std::ldexp(1.0, bits) - 1 : std::ldexp(1.0, bits - 1) - 1;
  v = arith::MaxNumFOp::create(b, loc, v, scalarConstant(b, loc, f32, lo));
  return arith::MinNumFOp::create(b, loc, v, scalarConstant(b, loc, f32, hi));
}

/// llm.attention's weights_* quantization of one softmax weight `w`: the
/// value llm.quantize and llm.dequantize with those parameters give, in f32
/// and back to w's type.
Value quantizedWeight(OpBuilder &b, Location loc, Value w, AttentionOp op) {
  Type f32 = b.getF32Type();
  Value x = castScalar(b, loc, w, f32);
  Value scale =
      scalarConstant(b, loc, f32, op.getWeightsScale()->convertToDouble());
  Value v = arith::DivFOp::create(b, loc, x, scale);
  if (op.getWeightsE4m3()) {
    v = decodeE4M3(b, loc, encodeE4M3(b, loc, v));
  } else {
    Value zero = scalarConstant(b, loc, f32, op.getWeightsZeroPoint());
    v = arith::SubFOp::create(
        b, loc, integerLevel(b, loc, v, zero, op.getWeightsUnsigned()), zero);
  }
  return castScalar(b, loc, arith::MulFOp::create(b, loc, v, scale),
                    w.getType());
}

class QuantizeLowering : public LLMLowering<QuantizeOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(QuantizeOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    bool isUnsigned = op.getIsUnsigned(), e4m3 = op.getE4m3();
    SmallVector<Value> operands{adaptor.getInput(), adaptor.getScale()};
    if (adaptor.getZeroPoint())
      operands.push_back(adaptor.getZeroPoint());
    Value result = createElementwise(
        rewriter, op.getLoc(), op.getType(), operands,
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          Type f32 = b.getF32Type();
          Value x = castScalar(b, loc, args[0], f32);
          if (e4m3)
            return encodeE4M3(b, loc,
                              arith::DivFOp::create(b, loc, x, args[1]));
          Value zero =
              args.size() > 2
                  ? arith::SIToFPOp::create(b, loc, f32,
                                            widen(b, loc, args[2], isUnsigned))
                        .getResult()
                  : Value();
          Type element = op.getType().getElementType();
          Value v =
              integerLevel(b, loc, arith::DivFOp::create(b, loc, x, args[1]),
                           zero, isUnsigned, element.getIntOrFloatBitWidth());
          Value wide = arith::FPToSIOp::create(b, loc, b.getI32Type(), v);
          return arith::TruncIOp::create(b, loc, element, wide);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

class DequantizeLowering : public LLMLowering<DequantizeOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(DequantizeOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    MLIRContext *ctx = rewriter.getContext();
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    ArrayRef<int64_t> shape = type.getShape();
    int64_t rank = type.getRank(), block = op.getBlockSize();
    bool packed = op.getBits() == 4, isUnsigned = op.getIsUnsigned();
    bool e4m3 = op.getE4m3();
    SmallVector<AffineExpr> loops;
    for (int64_t dim = 0; dim < rank; ++dim)
      loops.push_back(getAffineDimExpr(dim, ctx));
    SmallVector<AffineExpr> inputExprs(loops);
    if (packed)
      inputExprs.back() = inputExprs.back().floorDiv(2);
    // Parameters index the last dim in blocks.
    SmallVector<int64_t> blockShape(shape);
    SmallVector<AffineExpr> blockExprs(loops);
    if (block > 0) {
      blockShape.back() = (blockShape.back() + block - 1) / block;
      blockExprs.back() = blockExprs.back().floorDiv(block);
    }
    SmallVector<Value> inputs{adaptor.getInput(), adaptor.getScale()};
    SmallVector<AffineMap> maps{AffineMap::get(rank, 0, inputExprs, ctx)};
    auto parameterMap = [&](Value parameter) {
      return AffineMap::get(rank, 0,
                            broadcastExprs(tensorTypeOf(parameter).getShape(),
                                           blockShape, blockExprs, ctx),
                            ctx);
    };
    maps.push_back(parameterMap(adaptor.getScale()));
    if (Value zero = adaptor.getZeroPoint()) {
      inputs.push_back(zero);
      maps.push_back(parameterMap(zero));
    }
    SmallVector<utils::IteratorType> parallel(rank,
                                              utils::IteratorType::parallel);
    Value result = createGeneric(
        rewriter, loc, inputs, maps, emptyLike(rewriter, loc, type),
        rewriter.getMultiDimIdentityMap(rank), parallel,
        [&](OpBuilder &b, Location nested, ValueRange args) -> Value {
          Value x = args[0];
          if (x.getType().isF32()) // an e4m3 accumulator
            return arith::MulFOp::create(b, nested, x, args[1]);
          if (e4m3)
            return arith::MulFOp::create(b, nested, decodeE4M3(b, nested, x),
                                         args[1]);
          if (packed) {
            // Element k is the low nibble of byte k / 2 when k is even.
            Type i8 = b.getI8Type();
            Value index = linalg::IndexOp::create(b, nested, rank - 1);
            Value odd = arith::CmpIOp::create(
                b, nested, arith::CmpIPredicate::ne,
                arith::AndIOp::create(
                    b, nested, index,
                    arith::ConstantIndexOp::create(b, nested, 1)),
                arith::ConstantIndexOp::create(b, nested, 0));
            Value four = scalarConstant(b, nested, i8, 4);
            Value high, low;
            if (isUnsigned) {
              high = arith::ShRUIOp::create(b, nested, x, four);
              low = arith::AndIOp::create(b, nested, x,
                                          scalarConstant(b, nested, i8, 15));
            } else {
              high = arith::ShRSIOp::create(b, nested, x, four);
              low = arith::ShRSIOp::create(
                  b, nested, arith::ShLIOp::create(b, nested, x, four), four);
            }
            x = arith::SelectOp::create(b, nested, odd, high, low);
          }
          Value value = widen(b, nested, x, isUnsigned);
          if (args.size() > 3)
            value = arith::SubIOp::create(
                b, nested, value, widen(b, nested, args[2], isUnsigned));
          Value real =
              arith::SIToFPOp::create(b, nested, b.getF32Type(), value);
          return arith::MulFOp::create(b, nested, real, args[1]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

class QMatMulLowering : public LLMLowering<QMatMulOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(QMatMulOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    MLIRContext *ctx = rewriter.getContext();
    Location loc = op.getLoc();
    RankedTensorType resultType = op.getType();
    ProductDomain domain(ctx, resultType);
    SmallVector<AffineExpr> lhsExprs =
        domain.lhsExprs(adaptor.getLhs(), /*transpose=*/false);
    SmallVector<AffineExpr> rhsExprs =
        domain.rhsExprs(adaptor.getRhs(), op.getTransposeRhs());
    SmallVector<Value> inputs{adaptor.getLhs(), adaptor.getRhs()};
    SmallVector<AffineMap> maps{domain.map(lhsExprs), domain.map(rhsExprs)};
    int lhsZero = -1, rhsZero = -1;
    for (auto [zero, operand, exprs, position] :
         {std::tuple<Value, Value, ArrayRef<AffineExpr>, int *>{
              adaptor.getLhsZeroPoint(), adaptor.getLhs(), lhsExprs, &lhsZero},
          {adaptor.getRhsZeroPoint(), adaptor.getRhs(), rhsExprs, &rhsZero}}) {
      if (!zero)
        continue;
      *position = inputs.size();
      inputs.push_back(zero);
      maps.push_back(domain.map(
          broadcastExprs(tensorTypeOf(zero).getShape(),
                         tensorTypeOf(operand).getShape(), exprs, ctx)));
    }
    bool e4m3 = op.getE4m3();
    Value init = filled(rewriter, loc, resultType,
                        rewriter.getZeroAttr(resultType.getElementType()));
    bool lhsUnsigned = op.getLhsUnsigned(), rhsUnsigned = op.getRhsUnsigned();
    Value result = createGeneric(
        rewriter, loc, inputs, maps, init, domain.resultMap(),
        domain.iterators(),
        [&](OpBuilder &b, Location nested, ValueRange args) -> Value {
          if (e4m3) {
            Value product =
                arith::MulFOp::create(b, nested, decodeE4M3(b, nested, args[0]),
                                      decodeE4M3(b, nested, args[1]));
            return arith::AddFOp::create(b, nested, args.back(), product);
          }
          Value a = widen(b, nested, args[0], lhsUnsigned);
          Value w = widen(b, nested, args[1], rhsUnsigned);
          if (lhsZero >= 0)
            a = arith::SubIOp::create(
                b, nested, a, widen(b, nested, args[lhsZero], lhsUnsigned));
          if (rhsZero >= 0)
            w = arith::SubIOp::create(
                b, nested, w, widen(b, nested, args[rhsZero], rhsUnsigned));
          return arith::AddIOp::create(b, nested, args.back(),
                                       arith::MulIOp::create(b, nested, a, w));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

enum class ReductionKind { Sum, Mean, Max, Min, Prod };

TypedAttr reductionInit(ReductionKind kind, Type type) {
  if (auto floatType = dyn_cast<FloatType>(type)) {
    const llvm::fltSemantics &semantics = floatType.getFloatSemantics();
    switch (kind) {
    case ReductionKind::Sum:
    case ReductionKind::Mean:
      return FloatAttr::get(type, APFloat::getZero(semantics));
    case ReductionKind::Prod:
      return FloatAttr::get(type, APFloat::getOne(semantics));
    case ReductionKind::Max:
      return FloatAttr::get(type,
                            APFloat::getInf(semantics, /*Negative=*/true));
    case ReductionKind::Min:
      return FloatAttr::get(type, APFloat::getInf(semantics));
    }
  }
  unsigned width = type.getIntOrFloatBitWidth();
  bool unsignedOrder = isBool(type);
  switch (kind) {
  case ReductionKind::Sum:
  case ReductionKind::Mean:
    return IntegerAttr::get(type, APInt::getZero(width));
  case ReductionKind::Prod:
    return IntegerAttr::get(type, APInt(width, 1));
  case ReductionKind::Max:
    return IntegerAttr::get(type, unsignedOrder
                                      ? APInt::getMinValue(width)
                                      : APInt::getSignedMinValue(width));
  case ReductionKind::Min:
    return IntegerAttr::get(type, unsignedOrder
                                      ? APInt::getMaxValue(width)
                                      : APInt::getSignedMaxValue(width));
  }
  llvm_unreachable("unknown reduction kind");
}

Value reductionCombine(ReductionKind kind, OpBuilder &b, Location loc,
                       Value value, Value accumulator) {
  switch (kind) {
  case ReductionKind::Sum:
  case ReductionKind::Mean:
    return scalarOf(AddOp(), b, loc, {value, accumulator});
  case ReductionKind::Prod:
    return scalarOf(MulOp(), b, loc, {value, accumulator});
  case ReductionKind::Max:
    return scalarOf(MaxOp(), b, loc, {value, accumulator});
  case ReductionKind::Min:
    return scalarOf(MinOp(), b, loc, {value, accumulator});
  }
  llvm_unreachable("unknown reduction kind");
}

template <typename OpTy, ReductionKind Kind>
class ReductionLowering : public LLMLowering<OpTy> {
public:
  using LLMLowering<OpTy>::LLMLowering;
  using OpAdaptor = typename OpTy::Adaptor;
  LogicalResult lower(OpTy op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto inputType = tensorTypeOf(input);
    Type elementType = inputType.getElementType();
    SmallVector<bool> reduced(inputType.getRank(), false);
    int64_t count = 1;
    for (int64_t axis : op.getAxes()) {
      reduced[axis] = true;
      count *= inputType.getDimSize(axis);
    }
    Value result = createReduction(
        rewriter, loc, input,
        rewriter.getMultiDimIdentityMap(inputType.getRank()),
        inputType.getShape(), reduced, reductionInit(Kind, elementType),
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          return reductionCombine(Kind, b, nestedLoc, args[0], args[1]);
        });
    if (Kind == ReductionKind::Mean)
      result = createElementwise(
          rewriter, loc, tensorTypeOf(result), result,
          [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
            return scalarOf(DivOp(), b, nestedLoc,
                            {args[0], scalarConstant(b, nestedLoc, elementType,
                                                     double(count))});
          });
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, result,
                                     cast<RankedTensorType>(op.getType())));
    return success();
  }
};

class SoftmaxLowering : public LLMLowering<SoftmaxOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(SoftmaxOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    RankedTensorType type = op.getType();
    Type elementType = type.getElementType();
    int64_t rank = type.getRank();
    SmallVector<bool> reduced(rank, false);
    reduced[op.getAxis()] = true;
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    AffineMap rowMap = keptDimsMap(reduced, rewriter.getContext());
    SmallVector<utils::IteratorType> parallel(rank,
                                              utils::IteratorType::parallel);

    Value maximum = createReduction(
        rewriter, loc, input, identity, type.getShape(), reduced,
        reductionInit(ReductionKind::Max, elementType),
        [](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          return arith::MaximumFOp::create(b, nestedLoc, args[0], args[1]);
        });
    Value exponentials = createGeneric(
        rewriter, loc, ValueRange{input, maximum}, {identity, rowMap},
        emptyLike(rewriter, loc, type), identity, parallel,
        [](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          return math::ExpOp::create(
              b, nestedLoc,
              arith::SubFOp::create(b, nestedLoc, args[0], args[1]));
        });
    Value sum = createReduction(
        rewriter, loc, exponentials, identity, type.getShape(), reduced,
        reductionInit(ReductionKind::Sum, elementType),
        [](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          return arith::AddFOp::create(b, nestedLoc, args[0], args[1]);
        });
    Value result = createGeneric(
        rewriter, loc, ValueRange{exponentials, sum}, {identity, rowMap},
        emptyLike(rewriter, loc, type), identity, parallel,
        [](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          return arith::DivFOp::create(b, nestedLoc, args[0], args[1]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Attention with the operations of the unfused chain in the chain's order
/// (product over D, scale, mask, max-subtract-exp-sum-divide softmax over Sk,
/// product with v), so that a fused graph computes what the unfused one does,
/// bit for bit, on every row with a key to attend. Query head h reads kv head
/// h floordiv (Hq / Hkv) through the indexing maps; kv heads are never copied.
/// A fully masked row has maximum -inf: it subtracts 0 instead, so its
/// exponentials and their sum are 0, and its weights are defined as 0.
class AttentionLowering : public LLMLowering<AttentionOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(AttentionOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value query = adaptor.getQuery(), key = adaptor.getKey(),
          value = adaptor.getValue(), mask = adaptor.getMask();
    RankedTensorType type = op.getType();
    Type elementType = type.getElementType();
    ArrayRef<int64_t> queryShape = tensorTypeOf(query).getShape();
    ArrayRef<int64_t> keyShape = tensorTypeOf(key).getShape();
    int64_t rank = type.getRank();
    unsigned batchRank = rank - 3;
    int64_t group = queryShape[rank - 3] / keyShape[rank - 3];
    int64_t queryLength = queryShape[rank - 2], keyLength = keyShape[rank - 2];
    SmallVector<int64_t> scoresShape(queryShape.drop_back());
    scoresShape.push_back(keyLength);
    auto scoresType = RankedTensorType::get(scoresShape, elementType);

    // Loops [batch..., head, row, column, inner]: the score (row, column)
    // reduces over the head dim; the output (row, column) over the keys.
    unsigned numDims = rank + 1;
    auto dim = [&](unsigned position) {
      return getAffineDimExpr(position, ctx);
    };
    AffineExpr head = dim(batchRank), row = dim(batchRank + 1),
               column = dim(batchRank + 2), inner = dim(batchRank + 3);
    AffineExpr kvHead = group == 1 ? head : head.floorDiv(group);
    auto map = [&](AffineExpr heads, AffineExpr second, AffineExpr third) {
      SmallVector<AffineExpr> exprs;
      for (unsigned d = 0; d < batchRank; ++d)
        exprs.push_back(dim(d));
      exprs.append({heads, second, third});
      return AffineMap::get(numDims, 0, exprs, ctx);
    };
    SmallVector<utils::IteratorType> productIterators(
        rank, utils::IteratorType::parallel);
    productIterators.push_back(utils::IteratorType::reduction);
    auto multiplyAccumulate = [](OpBuilder &b, Location nestedLoc,
                                 ValueRange args) -> Value {
      return arith::AddFOp::create(
          b, nestedLoc, args[2],
          arith::MulFOp::create(b, nestedLoc, args[0], args[1]));
    };
    TypedAttr zero = rewriter.getZeroAttr(elementType);
    Value scores = createGeneric(
        rewriter, loc, ValueRange{query, key},
        {map(head, row, inner), map(kvHead, column, inner)},
        filled(rewriter, loc, scoresType, zero), map(head, row, column),
        productIterators, multiplyAccumulate);

    double scale = op.getScale().convertToDouble();
    bool causal = op.getCausal();
    std::optional<double> softcap;
    if (std::optional<APFloat> cap = op.getSoftcap())
      softcap = cap->convertToDouble();
    int64_t scoresRank = scoresType.getRank();
    AffineMap identity = rewriter.getMultiDimIdentityMap(scoresRank);
    SmallVector<utils::IteratorType> parallel(scoresRank,
                                              utils::IteratorType::parallel);
    auto minusInfinity = [&](OpBuilder &b, Location nestedLoc) {
      return arith::ConstantOp::create(
          b, nestedLoc, reductionInit(ReductionKind::Max, elementType));
    };
    if (scale != 1.0 || mask || causal || softcap) {
      SmallVector<Value> inputs{scores};
      SmallVector<AffineMap> maps{identity};
      if (mask) {
        inputs.push_back(mask);
        maps.push_back(
            broadcastMap(tensorTypeOf(mask).getShape(), scoresShape, ctx));
      }
      scores = createGeneric(
          rewriter, loc, inputs, maps, emptyLike(rewriter, loc, scoresType),
          identity, parallel,
          [&](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
            Value score = args[0];
            if (scale != 1.0)
              score = arith::MulFOp::create(
                  b, nestedLoc, score,
                  scalarConstant(b, nestedLoc, elementType, scale));
            if (softcap) {
              // c * tanh(score / c), as the unfused graph divides.
              Value cap = scalarConstant(b, nestedLoc, elementType, *softcap);
              score = arith::MulFOp::create(
                  b, nestedLoc,
                  math::TanhOp::create(
                      b, nestedLoc,
                      arith::DivFOp::create(b, nestedLoc, score, cap)),
                  cap);
            }
            if (mask && isBool(args[1].getType()))
              score = arith::SelectOp::create(b, nestedLoc, args[1], score,
                                              minusInfinity(b, nestedLoc));
            else if (mask)
              score = arith::AddFOp::create(b, nestedLoc, score, args[1]);
            if (causal) {
              // Key j is hidden from query i when j > i + (Sk - Sq) (or,
              // with a window W, j <= i + (Sk - Sq) - W).
              Value i = linalg::IndexOp::create(b, nestedLoc, b.getIndexType(),
                                                scoresRank - 2);
              Value j = linalg::IndexOp::create(b, nestedLoc, b.getIndexType(),
                                                scoresRank - 1);
              Value last = arith::AddIOp::create(
                  b, nestedLoc, i,
                  arith::ConstantIndexOp::create(b, nestedLoc,
                                                 keyLength - queryLength));
              Value hidden = arith::CmpIOp::create(
                  b, nestedLoc, arith::CmpIPredicate::sgt, j, last);
              if (std::optional<uint64_t> window = op.getWindow()) {
                // And when j <= i + (Sk - Sq) - W, as j + W <= last.
                Value shifted = arith::AddIOp::create(
                    b, nestedLoc, j,
                    arith::ConstantIndexOp::create(b, nestedLoc, *window));
                hidden = arith::OrIOp::create(
                    b, nestedLoc, hidden,
                    arith::CmpIOp::create(b, nestedLoc,
                                          arith::CmpIPredicate::sle, shifted,
                                          last));
              }
              score = arith::SelectOp::create(
                  b, nestedLoc, hidden, minusInfinity(b, nestedLoc), score);
            }
            return score;
          });
    }

    SmallVector<bool> reduced(scoresRank, false);
    reduced.back() = true;
    AffineMap rowMap = keptDimsMap(reduced, ctx);
    Value maximum = createReduction(
        rewriter, loc, scores, identity, scoresShape, reduced,
        reductionInit(ReductionKind::Max, elementType),
        [](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          return arith::MaximumFOp::create(b, nestedLoc, args[0], args[1]);
        });
    // A sink is one more logit of each row, its head's: in the maximum,
    // and in the sum after the keys' exponentials.
    Value sink = adaptor.getSink();
    RankedTensorType rowsType = tensorTypeOf(maximum);
    AffineMap rowsIdentity =
        rewriter.getMultiDimIdentityMap(rowsType.getRank());
    AffineMap sinkMap =
        AffineMap::get(rowsType.getRank(), 0, {dim(batchRank)}, ctx);
    SmallVector<utils::IteratorType> rowsParallel(
        rowsType.getRank(), utils::IteratorType::parallel);
    if (sink)
      maximum = createGeneric(
          rewriter, loc, ValueRange{maximum, sink}, {rowsIdentity, sinkMap},
          emptyLike(rewriter, loc, rowsType), rowsIdentity, rowsParallel,
          [](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
            return arith::MaximumFOp::create(b, nestedLoc, args[0], args[1]);
          });
    Value exponentials = createGeneric(
        rewriter, loc, ValueRange{scores, maximum}, {identity, rowMap},
        emptyLike(rewriter, loc, scoresType), identity, parallel,
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          Value fullyMasked =
              arith::CmpFOp::create(b, nestedLoc, arith::CmpFPredicate::OEQ,
                                    args[1], minusInfinity(b, nestedLoc));
          Value shift = arith::SelectOp::create(
              b, nestedLoc, fullyMasked,
              scalarConstant(b, nestedLoc, elementType, 0.0), args[1]);
          return math::ExpOp::create(
              b, nestedLoc,
              arith::SubFOp::create(b, nestedLoc, args[0], shift));
        });
    Value sum = createReduction(
        rewriter, loc, exponentials, identity, scoresShape, reduced, zero,
        [](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          return arith::AddFOp::create(b, nestedLoc, args[0], args[1]);
        });
    if (sink)
      sum = createGeneric(
          rewriter, loc, ValueRange{sum, maximum, sink},
          {rowsIdentity, rowsIdentity, sinkMap},
          emptyLike(rewriter, loc, rowsType), rowsIdentity, rowsParallel,
          [](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
            return arith::AddFOp::create(
                b, nestedLoc, args[0],
                math::ExpOp::create(
                    b, nestedLoc,
                    arith::SubFOp::create(b, nestedLoc, args[2], args[1])));
          });
    Value weights = createGeneric(
        rewriter, loc, ValueRange{exponentials, sum}, {identity, rowMap},
        emptyLike(rewriter, loc, scoresType), identity, parallel,
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          Value zeroScalar = scalarConstant(b, nestedLoc, elementType, 0.0);
          Value empty = arith::CmpFOp::create(
              b, nestedLoc, arith::CmpFPredicate::OEQ, args[1], zeroScalar);
          Value quotient =
              arith::DivFOp::create(b, nestedLoc, args[0], args[1]);
          Value weight = arith::SelectOp::create(b, nestedLoc, empty,
                                                 zeroScalar, quotient);
          return op.getWeightsScale()
                     ? quantizedWeight(b, nestedLoc, weight, op)
                     : weight;
        });

    // Loops [batch..., head, row, value column, key]; `column` is the value
    // column here and `inner` the key.
    Value result =
        createGeneric(rewriter, loc, ValueRange{weights, value},
                      {map(head, row, inner), map(kvHead, inner, column)},
                      filled(rewriter, loc, type, zero), map(head, row, column),
                      productIterators, multiplyAccumulate);
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// What layer_norm and rms_norm share: the dims they normalize over and the
/// per-row standard deviation sqrt(sumOfSquares / count + epsilon).
struct NormalizedDims {
  SmallVector<bool> reduced;
  AffineMap identity, rowMap;
  SmallVector<utils::IteratorType> parallel;
  int64_t count = 1;

  NormalizedDims(RankedTensorType type, int64_t axis, Builder &b)
      : reduced(type.getRank(), false),
        identity(b.getMultiDimIdentityMap(type.getRank())),
        parallel(type.getRank(), utils::IteratorType::parallel) {
    for (int64_t dim = axis; dim < type.getRank(); ++dim) {
      reduced[dim] = true;
      count *= type.getDimSize(dim);
    }
    rowMap = keptDimsMap(reduced, b.getContext());
  }

  Value deviation(OpBuilder &b, Location loc, Value sumOfSquares,
                  double epsilon) const {
    return createElementwise(
        b, loc, tensorTypeOf(sumOfSquares), sumOfSquares,
        [&](OpBuilder &nb, Location nestedLoc, ValueRange args) -> Value {
          Type type = args[0].getType();
          Value mean = arith::DivFOp::create(
              nb, nestedLoc, args[0],
              scalarConstant(nb, nestedLoc, type, double(count)));
          Value shifted = arith::AddFOp::create(
              nb, nestedLoc, mean,
              scalarConstant(nb, nestedLoc, type, epsilon));
          return math::SqrtOp::create(nb, nestedLoc, shifted);
        });
  }
};

class LayerNormLowering : public LLMLowering<LayerNormOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(LayerNormOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    RankedTensorType type = op.getType();
    Type elementType = type.getElementType();
    NormalizedDims dims(type, op.getAxis(), rewriter);
    TypedAttr zero = reductionInit(ReductionKind::Sum, elementType);

    Value sum = createReduction(
        rewriter, loc, input, dims.identity, type.getShape(), dims.reduced,
        zero, [](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          return arith::AddFOp::create(b, nestedLoc, args[0], args[1]);
        });
    Value mean = createElementwise(
        rewriter, loc, tensorTypeOf(sum), sum,
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          return arith::DivFOp::create(
              b, nestedLoc, args[0],
              scalarConstant(b, nestedLoc, elementType, double(dims.count)));
        });
    Value sumOfSquares = createReduction(
        rewriter, loc, ValueRange{input, mean}, {dims.identity, dims.rowMap},
        type.getShape(), dims.reduced, zero,
        [](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          Value centered =
              arith::SubFOp::create(b, nestedLoc, args[0], args[1]);
          Value square =
              arith::MulFOp::create(b, nestedLoc, centered, centered);
          return arith::AddFOp::create(b, nestedLoc, square, args[2]);
        });
    Value deviation = dims.deviation(rewriter, loc, sumOfSquares,
                                     op.getEpsilon().convertToDouble());

    SmallVector<Value> inputs{input, mean, deviation, adaptor.getScale()};
    SmallVector<AffineMap> maps{dims.identity, dims.rowMap, dims.rowMap};
    if (Value bias = adaptor.getBias())
      inputs.push_back(bias);
    for (Value parameter : ArrayRef<Value>(inputs).drop_front(3))
      maps.push_back(broadcastMap(tensorTypeOf(parameter).getShape(),
                                  type.getShape(), rewriter.getContext()));
    Value result = createGeneric(
        rewriter, loc, inputs, maps, emptyLike(rewriter, loc, type),
        dims.identity, dims.parallel,
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          Value centered =
              arith::SubFOp::create(b, nestedLoc, args[0], args[1]);
          Value normalized =
              arith::DivFOp::create(b, nestedLoc, centered, args[2]);
          Value scaled =
              arith::MulFOp::create(b, nestedLoc, normalized, args[3]);
          if (inputs.size() == 4)
            return scaled;
          return arith::AddFOp::create(b, nestedLoc, scaled, args[4]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

class RMSNormLowering : public LLMLowering<RMSNormOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(RMSNormOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    RankedTensorType type = op.getType();
    NormalizedDims dims(type, op.getAxis(), rewriter);

    Value sumOfSquares = createReduction(
        rewriter, loc, input, dims.identity, type.getShape(), dims.reduced,
        reductionInit(ReductionKind::Sum, type.getElementType()),
        [](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          Value square = arith::MulFOp::create(b, nestedLoc, args[0], args[0]);
          return arith::AddFOp::create(b, nestedLoc, square, args[1]);
        });
    Value deviation = dims.deviation(rewriter, loc, sumOfSquares,
                                     op.getEpsilon().convertToDouble());
    Value scale = adaptor.getScale();
    Value result = createGeneric(
        rewriter, loc, ValueRange{input, deviation, scale},
        {dims.identity, dims.rowMap,
         broadcastMap(tensorTypeOf(scale).getShape(), type.getShape(),
                      rewriter.getContext())},
        emptyLike(rewriter, loc, type), dims.identity, dims.parallel,
        [](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          Value normalized =
              arith::DivFOp::create(b, nestedLoc, args[0], args[1]);
          return arith::MulFOp::create(b, nestedLoc, normalized, args[2]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

class ReshapeLowering : public LLMLowering<ReshapeOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(ReshapeOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, reshapeTo(rewriter, op.getLoc(), adaptor.getInput(), op.getType()));
    return success();
  }
};

class TransposeLowering : public LLMLowering<TransposeOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(TransposeOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto transpose = linalg::TransposeOp::create(
        rewriter, loc, adaptor.getInput(),
        emptyLike(rewriter, loc, op.getType()), op.getPermutation());
    rewriter.replaceOp(op, transpose->getResult(0));
    return success();
  }
};

/// A concat is a chain of insert_slices into one tensor, which lets the
/// producers write in place, up to this many inputs. One-shot
/// bufferization's conflict analysis walks the chain for each link and grows
/// faster than its square (56 s for six 192-way joins); a longer concat is
/// one tensor.concat, an allocation and a copy per input.
constexpr size_t kMaxInsertSliceChain = 32;

class ConcatLowering : public LLMLowering<ConcatOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(ConcatOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    RankedTensorType type = op.getType();
    int64_t axis = op.getAxis();
    if (adaptor.getInputs().size() > kMaxInsertSliceChain) {
      rewriter.replaceOpWithNewOp<tensor::ConcatOp>(op, type, axis,
                                                    adaptor.getInputs());
      return success();
    }
    Value result = emptyLike(rewriter, loc, type);
    SmallVector<int64_t> offsets(type.getRank(), 0);
    SmallVector<int64_t> strides(type.getRank(), 1);
    for (Value input : adaptor.getInputs()) {
      ArrayRef<int64_t> sizes = tensorTypeOf(input).getShape();
      result = tensor::InsertSliceOp::create(
          rewriter, loc, input, result, getAsIndexOpFoldResult(ctx, offsets),
          getAsIndexOpFoldResult(ctx, sizes),
          getAsIndexOpFoldResult(ctx, strides));
      offsets[axis] += sizes[axis];
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Positive steps are one extract_slice. A negative step reads the same
/// elements in the opposite order: extract them with the positive step from
/// the lowest index, then reverse those dims with a generic reading
/// `size - 1 - d`.
class SliceLowering : public LLMLowering<SliceOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(SliceOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    RankedTensorType type = op.getType();
    if (type.getNumElements() == 0) {
      rewriter.replaceOp(op, emptyLike(rewriter, loc, type));
      return success();
    }
    ArrayRef<int64_t> shape = type.getShape();
    SmallVector<int64_t> offsets, strides;
    SmallVector<AffineExpr> readExprs;
    bool reverses = false;
    for (auto [dim, start, step] :
         llvm::enumerate(op.getStarts(), op.getSteps())) {
      int64_t size = shape[dim];
      AffineExpr d = getAffineDimExpr(dim, ctx);
      if (step > 0) {
        offsets.push_back(start);
        strides.push_back(step);
        readExprs.push_back(d);
        continue;
      }
      offsets.push_back(start + (size - 1) * step);
      strides.push_back(-step);
      if (size == 1) {
        readExprs.push_back(d);
        continue;
      }
      readExprs.push_back(getAffineConstantExpr(size - 1, ctx) - d);
      reverses = true;
    }
    Value slice =
        tensor::ExtractSliceOp::create(rewriter, loc, type, adaptor.getInput(),
                                       getAsIndexOpFoldResult(ctx, offsets),
                                       getAsIndexOpFoldResult(ctx, shape),
                                       getAsIndexOpFoldResult(ctx, strides));
    if (!reverses) {
      rewriter.replaceOp(op, slice);
      return success();
    }
    int64_t rank = type.getRank();
    SmallVector<utils::IteratorType> parallel(rank,
                                              utils::IteratorType::parallel);
    Value result = createGeneric(
        rewriter, loc, slice, AffineMap::get(rank, 0, readExprs, ctx),
        emptyLike(rewriter, loc, type), rewriter.getMultiDimIdentityMap(rank),
        parallel,
        [](OpBuilder &, Location, ValueRange args) { return args[0]; });
    rewriter.replaceOp(op, result);
    return success();
  }
};

class SplitLowering : public LLMLowering<SplitOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(SplitOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    int64_t axis = op.getAxis();
    SmallVector<Value> results;
    SmallVector<int64_t> offsets(tensorTypeOf(adaptor.getInput()).getRank(), 0);
    SmallVector<int64_t> strides(offsets.size(), 1);
    for (Value result : op.getResults()) {
      auto type = tensorTypeOf(result);
      // An empty piece may start at the end of the axis, where
      // tensor.extract_slice rejects the offset.
      if (type.getNumElements() == 0) {
        results.push_back(tensor::EmptyOp::create(
            rewriter, loc, type.getShape(), type.getElementType()));
        continue;
      }
      results.push_back(tensor::ExtractSliceOp::create(
          rewriter, loc, type, adaptor.getInput(),
          getAsIndexOpFoldResult(ctx, offsets),
          getAsIndexOpFoldResult(ctx, type.getShape()),
          getAsIndexOpFoldResult(ctx, strides)));
      offsets[axis] += type.getDimSize(axis);
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// A generic over the result reads the index, wraps a negative one once and
/// clamps it into the axis, so no index reads outside `data`.
class GatherLowering : public LLMLowering<GatherOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(GatherOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value data = adaptor.getData();
    Value indices = adaptor.getIndices();
    RankedTensorType type = op.getType();
    auto dataType = tensorTypeOf(data);
    int64_t axis = op.getAxis();
    int64_t indicesRank = tensorTypeOf(indices).getRank();
    int64_t axisSize = dataType.getDimSize(axis);
    if (type.getNumElements() == 0) {
      rewriter.replaceOp(op, emptyLike(rewriter, loc, type));
      return success();
    }
    if (axisSize == 0)
      return cannotLower(op, "gathers from an empty axis");
    int64_t rank = type.getRank();
    SmallVector<AffineExpr> indexExprs;
    for (int64_t dim = 0; dim < indicesRank; ++dim)
      indexExprs.push_back(getAffineDimExpr(axis + dim, ctx));
    SmallVector<utils::IteratorType> parallel(rank,
                                              utils::IteratorType::parallel);
    Value result = createGeneric(
        rewriter, loc, indices, AffineMap::get(rank, 0, indexExprs, ctx),
        emptyLike(rewriter, loc, type), rewriter.getMultiDimIdentityMap(rank),
        parallel, [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          auto constant = [&](int64_t value) -> Value {
            return arith::ConstantIndexOp::create(b, nestedLoc, value);
          };
          Value index = arith::IndexCastOp::create(b, nestedLoc,
                                                   b.getIndexType(), args[0]);
          Value negative = arith::CmpIOp::create(
              b, nestedLoc, arith::CmpIPredicate::slt, index, constant(0));
          Value wrapped =
              arith::AddIOp::create(b, nestedLoc, index, constant(axisSize));
          index =
              arith::SelectOp::create(b, nestedLoc, negative, wrapped, index);
          index = arith::MaxSIOp::create(b, nestedLoc, index, constant(0));
          index = arith::MinSIOp::create(b, nestedLoc, index,
                                         constant(axisSize - 1));
          SmallVector<Value> dataIndices;
          auto loopIndex = [&](int64_t dim) -> Value {
            return linalg::IndexOp::create(b, nestedLoc, b.getIndexType(),
                                           static_cast<uint64_t>(dim));
          };
          for (int64_t dim = 0; dim < axis; ++dim)
            dataIndices.push_back(loopIndex(dim));
          dataIndices.push_back(index);
          for (int64_t dim = axis + 1; dim < dataType.getRank(); ++dim)
            dataIndices.push_back(loopIndex(dim - 1 + indicesRank));
          return tensor::ExtractOp::create(b, nestedLoc, data, dataIndices)
              .getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

class TriluLowering : public LLMLowering<TriluOp> {
public:
  using LLMLowering::LLMLowering;
  LogicalResult lower(TriluOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank();
    bool upper = op.getUpper();
    int64_t diagonal = op.getDiagonal();
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    SmallVector<utils::IteratorType> parallel(rank,
                                              utils::IteratorType::parallel);
    Value result = createGeneric(
        rewriter, loc, adaptor.getInput(), identity,
        emptyLike(rewriter, loc, type), identity, parallel,
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) -> Value {
          Value row = linalg::IndexOp::create(b, nestedLoc, b.getIndexType(),
                                              static_cast<uint64_t>(rank - 2));
          Value column = linalg::IndexOp::create(
              b, nestedLoc, b.getIndexType(), static_cast<uint64_t>(rank - 1));
          Value offset = arith::SubIOp::create(b, nestedLoc, column, row);
          Value keep = arith::CmpIOp::create(
              b, nestedLoc,
              upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
              offset, arith::ConstantIndexOp::create(b, nestedLoc, diagonal));
          Value zero = arith::ConstantOp::create(
              b, nestedLoc, b.getZeroAttr(args[0].getType()));
          return arith::SelectOp::create(b, nestedLoc, keep, args[0], zero);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Reports an llm op that no pattern lowers in the words every other failure
/// uses; tried last, and only for ops without a pattern of their own.
class MissingLowering : public ConversionPattern {
public:
  MissingLowering(MLIRContext *ctx, DenseSet<OperationName> lowered)
      : ConversionPattern(MatchAnyOpTypeTag(), /*benefit=*/0, ctx),
        lowered(std::move(lowered)) {}

  LogicalResult
  matchAndRewrite(Operation *op, ArrayRef<Value> operands,
                  ConversionPatternRewriter &rewriter) const override {
    if (!isa<LLMDialect>(op->getDialect()) || lowered.contains(op->getName()))
      return failure();
    return cannotLower(op, "no lowering pattern for this op");
  }

private:
  DenseSet<OperationName> lowered;
};

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

struct ConvertLLMToLinalgPass
    : llmc::impl::ConvertLLMToLinalgBase<ConvertLLMToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<LLMDialect>();
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                           arith::ArithDialect, math::MathDialect>();
    RewritePatternSet patterns(ctx);
    llmc::populateLLMToLinalgConversionPatterns(patterns);

    // A pattern that cannot lower its op says why at the op; the framework's
    // generic "failed to legalize" that follows would only repeat it.
    bool explained = false;
    ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &diag) {
      if (diag.getSeverity() != DiagnosticSeverity::Error)
        return failure();
      std::string message = diag.str();
      if (StringRef(message).starts_with(kCannotLower))
        explained = true;
      else if (explained &&
               StringRef(message).starts_with("failed to legalize operation"))
        return success();
      return failure();
    });
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void llmc::populateLLMToLinalgConversionPatterns(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<ConstantLowering, MatMulLowering, GemmLowering, SoftmaxLowering,
               LayerNormLowering, RMSNormLowering, ReshapeLowering,
               TransposeLowering, ConcatLowering, SliceLowering, SplitLowering,
               GatherLowering, TriluLowering>(ctx);
  patterns.add<QuantizeLowering, DequantizeLowering, QMatMulLowering>(ctx);
  patterns.add<AttentionLowering>(ctx);
  patterns.add<ElementwiseLowering<AddOp>, ElementwiseLowering<SubOp>,
               ElementwiseLowering<MulOp>, ElementwiseLowering<DivOp>,
               ElementwiseLowering<PowOp>, ElementwiseLowering<MaxOp>,
               ElementwiseLowering<MinOp>, ElementwiseLowering<ModOp>,
               ElementwiseLowering<EqualOp>, ElementwiseLowering<LessOp>,
               ElementwiseLowering<LessEqualOp>, ElementwiseLowering<GreaterOp>,
               ElementwiseLowering<GreaterEqualOp>, ElementwiseLowering<AndOp>,
               ElementwiseLowering<OrOp>, ElementwiseLowering<XorOp>,
               ElementwiseLowering<NotOp>, ElementwiseLowering<ExpOp>,
               ElementwiseLowering<LogOp>, ElementwiseLowering<TanhOp>,
               ElementwiseLowering<ErfOp>, ElementwiseLowering<SqrtOp>,
               ElementwiseLowering<RsqrtOp>, ElementwiseLowering<SigmoidOp>,
               ElementwiseLowering<ReciprocalOp>, ElementwiseLowering<SinOp>,
               ElementwiseLowering<CosOp>, ElementwiseLowering<FloorOp>,
               ElementwiseLowering<CeilOp>, ElementwiseLowering<ReluOp>,
               ElementwiseLowering<NegOp>, ElementwiseLowering<AbsOp>,
               ElementwiseLowering<SiluOp>, ElementwiseLowering<GeluOp>,
               ElementwiseLowering<WhereOp>, ElementwiseLowering<ExpandOp>,
               ElementwiseLowering<CastOp>>(ctx);
  patterns
      .add<ElementwiseLowering<ShiftLeftOp>, ElementwiseLowering<ShiftRightOp>>(
          ctx);
  patterns.add<ReductionLowering<ReduceSumOp, ReductionKind::Sum>,
               ReductionLowering<ReduceMeanOp, ReductionKind::Mean>,
               ReductionLowering<ReduceMaxOp, ReductionKind::Max>,
               ReductionLowering<ReduceMinOp, ReductionKind::Min>,
               ReductionLowering<ReduceProdOp, ReductionKind::Prod>>(ctx);

  DenseSet<OperationName> lowered;
  for (const std::unique_ptr<RewritePattern> &pattern :
       patterns.getNativePatterns())
    if (std::optional<OperationName> root = pattern->getRootKind())
      lowered.insert(*root);
  patterns.add<MissingLowering>(ctx, std::move(lowered));
}
