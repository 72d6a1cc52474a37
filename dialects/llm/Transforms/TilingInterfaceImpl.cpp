//===- TilingInterfaceImpl.cpp - TilingInterface for llm ops --------------===//
//
// External models of TilingInterface for the llm ops a target tiles. A tile
// of the iteration domain becomes the same llm op on tensor.extract_slice's
// of its operands, so the tiled op keeps its verifier, its lowering and its
// numbers; operands that broadcast (numpy-style) along a dim are taken whole
// there.
//
//===----------------------------------------------------------------------===//
#include "llm/Transforms/TilingInterfaceImpl.h"

#include "llm/IR/LLMDialect.h"
#include "llm/IR/LLMOps.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Interfaces/TilingInterface.h"

using namespace mlir;
using namespace mlir::llm;

namespace {

/// Marks an operand dim that is taken whole in every tile.
constexpr int64_t kWhole = -1;

RankedTensorType tensorType(Value value) {
  return cast<RankedTensorType>(value.getType());
}

OpFoldResult dimSize(OpBuilder &b, Location loc, Value value, int64_t dim) {
  int64_t size = tensorType(value).getDimSize(dim);
  if (!ShapedType::isDynamic(size))
    return b.getIndexAttr(size);
  return tensor::DimOp::create(b, loc, value, dim).getResult();
}

/// True if the tile [offset, offset + size) covers the whole static `extent`.
bool coversWhole(OpFoldResult offset, OpFoldResult size, int64_t extent) {
  std::optional<int64_t> o = getConstantIntValue(offset);
  std::optional<int64_t> s = getConstantIntValue(size);
  return o && *o == 0 && s && !ShapedType::isDynamic(extent) && *s == extent;
}

/// The iteration-domain ranges of a tensor's dims (offset 0, stride 1).
SmallVector<Range> rangesOf(OpBuilder &b, Location loc, Value value) {
  SmallVector<Range> ranges;
  for (int64_t i = 0, e = tensorType(value).getRank(); i < e; ++i)
    ranges.push_back(
        Range{b.getIndexAttr(0), dimSize(b, loc, value, i), b.getIndexAttr(1)});
  return ranges;
}

/// Extracts the part of `value` a tile reads. `domainDims[i]` is the domain
/// dim operand dim i follows, or kWhole; `domainShape` is the static extent
/// of each domain dim. A dim of size 1 facing a larger domain dim broadcasts
/// and is taken whole. Explicit `overrides` (dim → offset, size) win.
Value sliceOperand(
    OpBuilder &b, Location loc, Value value, ArrayRef<int64_t> domainDims,
    ArrayRef<int64_t> domainShape, ArrayRef<OpFoldResult> offsets,
    ArrayRef<OpFoldResult> sizes, SmallVectorImpl<Operation *> &slices,
    ArrayRef<std::tuple<int64_t, OpFoldResult, OpFoldResult>> overrides = {}) {
  RankedTensorType type = tensorType(value);
  SmallVector<OpFoldResult> tileOffsets, tileSizes;
  for (int64_t i = 0, e = type.getRank(); i < e; ++i) {
    int64_t d = domainDims[i];
    bool broadcast =
        d != kWhole && type.getDimSize(i) == 1 && domainShape[d] != 1;
    if (d == kWhole || broadcast) {
      tileOffsets.push_back(b.getIndexAttr(0));
      tileSizes.push_back(dimSize(b, loc, value, i));
    } else {
      tileOffsets.push_back(offsets[d]);
      tileSizes.push_back(sizes[d]);
    }
  }
  for (auto [dim, offset, size] : overrides) {
    tileOffsets[dim] = offset;
    tileSizes[dim] = size;
  }
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  auto slice = tensor::ExtractSliceOp::create(b, loc, value, tileOffsets,
                                              tileSizes, strides);
  slices.push_back(slice);
  return slice;
}

/// Operand dim → domain dim for an operand that broadcasts (aligned to the
/// right) against a tensor whose dims are the domain dims `targetDims`.
SmallVector<int64_t> broadcastDims(Value value, ArrayRef<int64_t> targetDims) {
  int64_t rank = tensorType(value).getRank();
  int64_t lead = static_cast<int64_t>(targetDims.size()) - rank;
  SmallVector<int64_t> dims;
  for (int64_t i = 0; i < rank; ++i)
    dims.push_back(lead + i >= 0 ? targetDims[lead + i] : kWhole);
  return dims;
}

/// The static shape of a tile (dynamic where a size is not a constant).
SmallVector<int64_t> tileShape(ArrayRef<OpFoldResult> sizes) {
  SmallVector<int64_t> shape;
  for (OpFoldResult size : sizes)
    shape.push_back(getConstantIntValue(size).value_or(ShapedType::kDynamic));
  return shape;
}

/// Clones `op` with new operands and a result of the tile's shape.
TilingResult cloneOnTile(OpBuilder &b, Operation *op, ValueRange operands,
                         ArrayRef<OpFoldResult> resultSizes,
                         SmallVector<Operation *> slices) {
  Operation *tiled = b.clone(*op);
  tiled->setOperands(operands);
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  tiled->getResult(0).setType(RankedTensorType::get(
      tileShape(resultSizes), resultType.getElementType()));
  return TilingResult{{tiled}, {tiled->getResult(0)}, std::move(slices)};
}

SmallVector<int64_t> staticShape(ArrayRef<Range> domain) {
  SmallVector<int64_t> shape;
  for (const Range &range : domain)
    shape.push_back(
        getConstantIntValue(range.size).value_or(ShapedType::kDynamic));
  return shape;
}

/// Shared by every model: the result is the tile of the domain's first
/// `rank` dims (the result's dims).
LogicalResult resultTileOfDomain(unsigned resultNumber, int64_t rank,
                                 ArrayRef<OpFoldResult> offsets,
                                 ArrayRef<OpFoldResult> sizes,
                                 SmallVector<OpFoldResult> &resultOffsets,
                                 SmallVector<OpFoldResult> &resultSizes) {
  if (resultNumber != 0)
    return failure();
  resultOffsets.assign(offsets.begin(), offsets.begin() + rank);
  resultSizes.assign(sizes.begin(), sizes.begin() + rank);
  return success();
}

//===----------------------------------------------------------------------===//
// llm.matmul
//===----------------------------------------------------------------------===//

struct MatMulTiling
    : public TilingInterface::ExternalModel<MatMulTiling, MatMulOp> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    int64_t rank = tensorType(op->getResult(0)).getRank();
    SmallVector<utils::IteratorType> types(rank, utils::IteratorType::parallel);
    types.push_back(utils::IteratorType::reduction);
    return types;
  }

  /// [batch..., M, N, K].
  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    auto matmul = cast<MatMulOp>(op);
    Location loc = op->getLoc();
    SmallVector<Range> domain = rangesOf(b, loc, matmul.getResult());
    int64_t lhsRank = tensorType(matmul.getLhs()).getRank();
    int64_t kDim = matmul.getTransposeLhs() ? lhsRank - 2 : lhsRank - 1;
    domain.push_back(Range{b.getIndexAttr(0),
                           dimSize(b, loc, matmul.getLhs(), kDim),
                           b.getIndexAttr(1)});
    return domain;
  }

  FailureOr<TilingResult>
  getTiledImplementation(Operation *op, OpBuilder &b,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes) const {
    auto matmul = cast<MatMulOp>(op);
    Location loc = op->getLoc();
    int64_t rank = tensorType(matmul.getResult()).getRank();
    SmallVector<int64_t> domainShape = staticShape(getIterationDomain(op, b));
    int64_t mDim = rank - 2, nDim = rank - 1, kDim = rank;
    if (!coversWhole(offsets[kDim], sizes[kDim], domainShape[kDim]))
      return op->emitOpError()
             << "cannot be tiled along K (" << domainShape[kDim]
             << "): its epilogue needs the full sum; record the K tile for "
                "the backend instead";

    SmallVector<int64_t> resultDims =
        llvm::to_vector(llvm::seq<int64_t>(0, rank));
    // An operand's batch dims broadcast against the result's batch dims
    // (aligned to the right); its last two dims follow `rows` and `cols`.
    auto matrixDims = [&](Value operand, int64_t rows, int64_t cols) {
      int64_t batchRank = tensorType(operand).getRank() - 2;
      int64_t lead = (rank - 2) - batchRank;
      SmallVector<int64_t> dims;
      for (int64_t i = 0; i < batchRank; ++i)
        dims.push_back(lead + i >= 0 ? lead + i : kWhole);
      dims.push_back(rows);
      dims.push_back(cols);
      return dims;
    };

    SmallVector<Operation *> slices;
    SmallVector<Value> operands;
    Value lhs = matmul.getLhs(), rhs = matmul.getRhs();
    operands.push_back(sliceOperand(b, loc, lhs,
                                    matmul.getTransposeLhs()
                                        ? matrixDims(lhs, kDim, mDim)
                                        : matrixDims(lhs, mDim, kDim),
                                    domainShape, offsets, sizes, slices));
    operands.push_back(sliceOperand(b, loc, rhs,
                                    matmul.getTransposeRhs()
                                        ? matrixDims(rhs, nDim, kDim)
                                        : matrixDims(rhs, kDim, nDim),
                                    domainShape, offsets, sizes, slices));
    for (Value epilogue : {matmul.getBias(), matmul.getResidual()})
      if (epilogue)
        operands.push_back(sliceOperand(b, loc, epilogue,
                                        broadcastDims(epilogue, resultDims),
                                        domainShape, offsets, sizes, slices));
    return cloneOnTile(b, op, operands, sizes.take_front(rank),
                       std::move(slices));
  }

  LogicalResult
  getResultTilePosition(Operation *op, OpBuilder &b, unsigned resultNumber,
                        ArrayRef<OpFoldResult> offsets,
                        ArrayRef<OpFoldResult> sizes,
                        SmallVector<OpFoldResult> &resultOffsets,
                        SmallVector<OpFoldResult> &resultSizes) const {
    int64_t rank = tensorType(op->getResult(0)).getRank();
    return resultTileOfDomain(resultNumber, rank, offsets, sizes, resultOffsets,
                              resultSizes);
  }

  /// A tile of the result is the domain tile with K whole (for fusion into
  /// a consumer's tile loop).
  FailureOr<TilingResult>
  generateResultTileValue(Operation *op, OpBuilder &b, unsigned resultNumber,
                          ArrayRef<OpFoldResult> offsets,
                          ArrayRef<OpFoldResult> sizes) const {
    if (resultNumber != 0)
      return failure();
    SmallVector<Range> domain = getIterationDomain(op, b);
    SmallVector<OpFoldResult> domainOffsets(offsets), domainSizes(sizes);
    domainOffsets.push_back(domain.back().offset);
    domainSizes.push_back(domain.back().size);
    return getTiledImplementation(op, b, domainOffsets, domainSizes);
  }
};

//===----------------------------------------------------------------------===//
// llm.attention
//===----------------------------------------------------------------------===//

struct AttentionTiling
    : public TilingInterface::ExternalModel<AttentionTiling, AttentionOp> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    return SmallVector<utils::IteratorType>(
        tensorType(op->getResult(0)).getRank(), utils::IteratorType::parallel);
  }

  /// The result's dims [batch..., Hq, Sq, Dv].
  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    return rangesOf(b, op->getLoc(), op->getResult(0));
  }

  FailureOr<TilingResult>
  getTiledImplementation(Operation *op, OpBuilder &b,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes) const {
    auto attention = cast<AttentionOp>(op);
    Location loc = op->getLoc();
    RankedTensorType queryType = tensorType(attention.getQuery());
    RankedTensorType keyType = tensorType(attention.getKey());
    int64_t rank = queryType.getRank();
    int64_t headDim = rank - 3, rowDim = rank - 2, valueDim = rank - 1;
    SmallVector<int64_t> domainShape = staticShape(getIterationDomain(op, b));
    // The causal diagonal is aligned to the last query row, so a tile of
    // rows takes it as an explicit boolean mask (combined with an i1 mask;
    // a float mask is added to the scores and cannot be combined).
    bool causalRows =
        attention.getCausal() &&
        !coversWhole(offsets[rowDim], sizes[rowDim], domainShape[rowDim]);
    Value mask = attention.getMask();
    if (causalRows && mask && !tensorType(mask).getElementType().isInteger(1))
      return op->emitOpError()
             << "causal attention with a float mask cannot be tiled along "
                "the query rows ("
             << domainShape[rowDim] << ")";

    // Grouped-query attention: query head h reads kv head h / group, so a
    // head tile maps to kv heads only if it is a multiple or a divisor of
    // the group.
    int64_t queryHeads = queryType.getDimSize(headDim);
    int64_t kvHeads = keyType.getDimSize(headDim);
    if (ShapedType::isDynamic(queryHeads) || ShapedType::isDynamic(kvHeads))
      return op->emitOpError() << "cannot tile attention with dynamic heads";
    int64_t group = queryHeads / kvHeads;
    OpFoldResult kvOffset = offsets[headDim], kvSize = sizes[headDim];
    if (group != 1) {
      std::optional<int64_t> headTile = getConstantIntValue(sizes[headDim]);
      if (!headTile || (*headTile % group != 0 && group % *headTile != 0))
        return op->emitOpError()
               << "a tile of " << (headTile ? std::to_string(*headTile) : "?")
               << " query heads is neither a multiple nor a divisor of the "
               << group << " query heads per kv head";
      AffineExpr d0 = b.getAffineDimExpr(0);
      kvOffset = affine::makeComposedFoldedAffineApply(
          b, loc, d0.floorDiv(group), {offsets[headDim]});
      kvSize = b.getIndexAttr(std::max<int64_t>(*headTile / group, 1));
    }

    SmallVector<Operation *> slices;
    SmallVector<Value> operands;
    SmallVector<int64_t> queryDims =
        llvm::to_vector(llvm::seq<int64_t>(0, rank - 1));
    queryDims.push_back(kWhole); // D
    operands.push_back(sliceOperand(b, loc, attention.getQuery(), queryDims,
                                    domainShape, offsets, sizes, slices));
    SmallVector<int64_t> kvDims =
        llvm::to_vector(llvm::seq<int64_t>(0, rank - 3));
    kvDims.append({headDim, kWhole, kWhole}); // Hkv, Sk, D
    operands.push_back(sliceOperand(b, loc, attention.getKey(), kvDims,
                                    domainShape, offsets, sizes, slices,
                                    {{headDim, kvOffset, kvSize}}));
    kvDims.back() = valueDim; // Dv
    operands.push_back(sliceOperand(b, loc, attention.getValue(), kvDims,
                                    domainShape, offsets, sizes, slices,
                                    {{headDim, kvOffset, kvSize}}));
    if (mask) {
      // The mask broadcasts to the scores [batch..., Hq, Sq, Sk].
      SmallVector<int64_t> scoreDims =
          llvm::to_vector(llvm::seq<int64_t>(0, rank - 1));
      scoreDims.push_back(kWhole);
      operands.push_back(sliceOperand(b, loc, mask,
                                      broadcastDims(mask, scoreDims),
                                      domainShape, offsets, sizes, slices));
    }
    bool hasMask = mask || causalRows;
    if (causalRows) {
      FailureOr<Value> causalMask = causalRowMask(
          b, loc, offsets[rowDim], sizes[rowDim], domainShape[rowDim],
          keyType.getDimSize(rank - 2), attention.getWindow());
      if (failed(causalMask))
        return op->emitOpError()
               << "cannot tile causal attention along the query rows with a "
                  "dynamic tile";
      if (mask)
        operands.back() = AndOp::create(b, loc, operands.back(), *causalMask);
      else
        operands.push_back(*causalMask);
    }
    // The sink [Hq] follows the query heads.
    Value sink = attention.getSink();
    if (sink)
      operands.push_back(sliceOperand(b, loc, sink, {headDim}, domainShape,
                                      offsets, sizes, slices));
    TilingResult result =
        cloneOnTile(b, op, operands, sizes, std::move(slices));
    auto tiled = cast<AttentionOp>(result.tiledOps.front());
    tiled.getProperties().operandSegmentSizes = {1, 1, 1, hasMask ? 1 : 0,
                                                 sink ? 1 : 0};
    if (causalRows) {
      tiled.setCausal(false);
      tiled.removeWindowAttr();
    }
    return result;
  }

  /// The causal rule of query rows [offset, offset + size) as an i1
  /// [size, keys] mask: key j is attended by row i when
  /// j <= offset + i + (keys - queries), and, with a window W, also
  /// j > offset + i + (keys - queries) - W.
  static FailureOr<Value> causalRowMask(OpBuilder &b, Location loc,
                                        OpFoldResult offset, OpFoldResult size,
                                        int64_t queries, int64_t keys,
                                        std::optional<uint64_t> window) {
    std::optional<int64_t> rows = getConstantIntValue(size);
    if (!rows || ShapedType::isDynamic(queries) || ShapedType::isDynamic(keys))
      return failure();
    Value first = getValueOrCreateConstantIndexOp(b, loc, offset);
    auto type = RankedTensorType::get({*rows, keys}, b.getI1Type());
    auto generate = tensor::GenerateOp::create(
        b, loc, type, ValueRange{},
        [&](OpBuilder &nested, Location nestedLoc, ValueRange indices) {
          Value row =
              arith::AddIOp::create(nested, nestedLoc, first, indices[0]);
          Value last = row;
          if (keys != queries)
            last =
                arith::AddIOp::create(nested, nestedLoc, row,
                                      arith::ConstantIndexOp::create(
                                          nested, nestedLoc, keys - queries));
          Value attend = arith::CmpIOp::create(
              nested, nestedLoc, arith::CmpIPredicate::sle, indices[1], last);
          if (window) {
            // j > last - W, as j + W > last (no negative index).
            Value shifted = arith::AddIOp::create(
                nested, nestedLoc, indices[1],
                arith::ConstantIndexOp::create(nested, nestedLoc, *window));
            attend = arith::AndIOp::create(
                nested, nestedLoc, attend,
                arith::CmpIOp::create(nested, nestedLoc,
                                      arith::CmpIPredicate::sgt, shifted,
                                      last));
          }
          tensor::YieldOp::create(nested, nestedLoc, attend);
        });
    return generate.getResult();
  }

  LogicalResult
  getResultTilePosition(Operation *op, OpBuilder &b, unsigned resultNumber,
                        ArrayRef<OpFoldResult> offsets,
                        ArrayRef<OpFoldResult> sizes,
                        SmallVector<OpFoldResult> &resultOffsets,
                        SmallVector<OpFoldResult> &resultSizes) const {
    return resultTileOfDomain(resultNumber, offsets.size(), offsets, sizes,
                              resultOffsets, resultSizes);
  }

  FailureOr<TilingResult>
  generateResultTileValue(Operation *op, OpBuilder &b, unsigned resultNumber,
                          ArrayRef<OpFoldResult> offsets,
                          ArrayRef<OpFoldResult> sizes) const {
    if (resultNumber != 0)
      return failure();
    return getTiledImplementation(op, b, offsets, sizes);
  }
};

//===----------------------------------------------------------------------===//
// llm.layer_norm, llm.rms_norm, llm.softmax
//===----------------------------------------------------------------------===//

/// Ops that normalize their input along some dims (taken whole) and are
/// independent along the others; the domain is the input's dims.
template <typename OpTy>
struct NormalizationTiling
    : public TilingInterface::ExternalModel<NormalizationTiling<OpTy>, OpTy> {
  /// Whether input dim `dim` is one the op normalizes over.
  static bool isNormalized(OpTy op, int64_t dim) {
    if constexpr (std::is_same_v<OpTy, SoftmaxOp>)
      return dim == static_cast<int64_t>(op.getAxis());
    else
      return dim >= static_cast<int64_t>(op.getAxis());
  }

  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    auto norm = cast<OpTy>(op);
    SmallVector<utils::IteratorType> types;
    for (int64_t i = 0, e = tensorType(norm.getInput()).getRank(); i < e; ++i)
      types.push_back(isNormalized(norm, i) ? utils::IteratorType::reduction
                                            : utils::IteratorType::parallel);
    return types;
  }

  SmallVector<Range> getIterationDomain(Operation *op, OpBuilder &b) const {
    return rangesOf(b, op->getLoc(), cast<OpTy>(op).getInput());
  }

  FailureOr<TilingResult>
  getTiledImplementation(Operation *op, OpBuilder &b,
                         ArrayRef<OpFoldResult> offsets,
                         ArrayRef<OpFoldResult> sizes) const {
    auto norm = cast<OpTy>(op);
    Value input = norm.getInput();
    int64_t rank = tensorType(input).getRank();
    SmallVector<int64_t> domainShape(tensorType(input).getShape());
    SmallVector<int64_t> dims;
    for (int64_t i = 0; i < rank; ++i) {
      if (!isNormalized(norm, i)) {
        dims.push_back(i);
        continue;
      }
      if (!coversWhole(offsets[i], sizes[i], domainShape[i]))
        return op->emitOpError()
               << "cannot be tiled along dim " << i
               << ", which it normalizes over; tile the other dims";
      dims.push_back(kWhole);
    }
    SmallVector<Operation *> slices;
    SmallVector<Value> operands(op->getOperands());
    operands[0] = sliceOperand(b, op->getLoc(), input, dims, domainShape,
                               offsets, sizes, slices);
    return cloneOnTile(b, op, operands, sizes, std::move(slices));
  }

  LogicalResult
  getResultTilePosition(Operation *op, OpBuilder &b, unsigned resultNumber,
                        ArrayRef<OpFoldResult> offsets,
                        ArrayRef<OpFoldResult> sizes,
                        SmallVector<OpFoldResult> &resultOffsets,
                        SmallVector<OpFoldResult> &resultSizes) const {
    return resultTileOfDomain(resultNumber, offsets.size(), offsets, sizes,
                              resultOffsets, resultSizes);
  }

  FailureOr<TilingResult>
  generateResultTileValue(Operation *op, OpBuilder &b, unsigned resultNumber,
                          ArrayRef<OpFoldResult> offsets,
                          ArrayRef<OpFoldResult> sizes) const {
    if (resultNumber != 0)
      return failure();
    return getTiledImplementation(op, b, offsets, sizes);
  }
};

} // namespace

void mlir::llm::registerTilingInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *context, LLMDialect *) {
    context->loadDialect<affine::AffineDialect, arith::ArithDialect,
                         tensor::TensorDialect>();
    MatMulOp::attachInterface<MatMulTiling>(*context);
    AttentionOp::attachInterface<AttentionTiling>(*context);
    LayerNormOp::attachInterface<NormalizationTiling<LayerNormOp>>(*context);
    RMSNormOp::attachInterface<NormalizationTiling<RMSNormOp>>(*context);
    SoftmaxOp::attachInterface<NormalizationTiling<SoftmaxOp>>(*context);
  });
}
