//===- HostRegisterTiles.cpp - products on register tiles for the host ----===//
//
// Lowered as loops, a product C[m, n] += A[m, k] * B[k, n] with n innermost
// loads and stores a row of C for every k: two memory accesses for each
// multiply-add. This pass computes the product by tiles of C held in vector
// registers across the whole k loop instead, each tile element summed over k
// in the same order as before, so that the results are the same bit for bit.
//
//===----------------------------------------------------------------------===//

#include "Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/TargetParser/Host.h"

namespace llmc {
#define GEN_PASS_DEF_LLMHOSTREGISTERTILES
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {

/// A linalg.generic on buffers computing out[.., m, n] += lhs[.., m, k] *
/// rhs[.., k, n] with reduction loops k (one or more: a product over heads
/// and head dims), n the output's and rhs's contiguous last dim, in f32
/// (inputs of a narrower float widened in the body).
struct Product {
  linalg::GenericOp op;
  unsigned lhs = 0, rhs = 1;
  unsigned n = 0;
  SmallVector<unsigned> k;
  std::optional<unsigned> m;
  arith::MulFOp mul;
  arith::AddFOp add;
};

/// The input block argument `value` is, directly or widened by arith.extf
/// (whose result type is then the product's f32).
std::optional<unsigned> inputArgument(Value value, Block &body) {
  if (auto ext = value.getDefiningOp<arith::ExtFOp>())
    value = ext.getIn();
  auto arg = dyn_cast<BlockArgument>(value);
  if (!arg || arg.getOwner() != &body || arg.getArgNumber() > 1)
    return std::nullopt;
  return arg.getArgNumber();
}

std::optional<Product> matchProduct(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.hasIndexSemantics())
    return std::nullopt;
  Product product;
  product.op = op;
  // The reduction loops, in their order.
  for (auto [d, iterator] : llvm::enumerate(op.getIteratorTypesArray()))
    if (iterator == utils::IteratorType::reduction)
      product.k.push_back(d);
  if (product.k.empty())
    return std::nullopt;
  // The body: out + mulf(lhs, rhs), in f32.
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1 || !body.getArgument(2).getType().isF32())
    return std::nullopt;
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return std::nullopt;
  Value acc = body.getArgument(2);
  Value term = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  if ((add.getLhs() != acc && add.getRhs() != acc) || term == acc)
    return std::nullopt;
  auto mul = term.getDefiningOp<arith::MulFOp>();
  if (!mul || !mul.getType().isF32())
    return std::nullopt;
  std::optional<unsigned> x = inputArgument(mul.getLhs(), body),
                          y = inputArgument(mul.getRhs(), body);
  if (!x || !y || *x == *y)
    return std::nullopt;
  // Nothing else: the widenings, the product, the sum and the yield.
  unsigned widenings = (mul.getLhs() != body.getArgument(*x)) +
                       (mul.getRhs() != body.getArgument(*y));
  if (body.getOperations().size() != widenings + 3)
    return std::nullopt;
  product.mul = mul;
  product.add = add;

  // The maps: the output's a projected permutation of the parallel loops;
  // the inputs' may compute an index from other loops than m and n (a
  // grouped-query attention's kv head, `h floordiv 2`).
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap outMap = maps[2];
  if (!outMap.isProjectedPermutation() || outMap.getNumResults() == 0 ||
      outMap.getNumResults() != op.getNumLoops() - product.k.size())
    return std::nullopt;
  // The loop of `map`'s result `result` when it is a loop index.
  auto dimOf = [](AffineMap map, unsigned result) -> std::optional<unsigned> {
    if (auto dim = dyn_cast<AffineDimExpr>(map.getResult(result)))
      return dim.getPosition();
    return std::nullopt;
  };
  product.n = *dimOf(outMap, outMap.getNumResults() - 1);
  // rhs: the input whose last index is n; lhs: the other, without n.
  for (unsigned input : {0u, 1u}) {
    AffineMap map = maps[input];
    if (map.getNumResults() &&
        dimOf(map, map.getNumResults() - 1) == product.n) {
      product.rhs = input;
      product.lhs = 1 - input;
    }
  }
  AffineMap lhsMap = maps[product.lhs], rhsMap = maps[product.rhs];
  if (!rhsMap.getNumResults() ||
      dimOf(rhsMap, rhsMap.getNumResults() - 1) != product.n ||
      lhsMap.isFunctionOfDim(product.n) ||
      rhsMap.getNumResults() !=
          1 + llvm::count_if(rhsMap.getResults(), [&](AffineExpr expr) {
            return !expr.isFunctionOfDim(product.n);
          }))
    return std::nullopt;
  for (unsigned k : product.k)
    if (outMap.isFunctionOfDim(k) || !lhsMap.isFunctionOfDim(k) ||
        !rhsMap.isFunctionOfDim(k))
      return std::nullopt;
  // n is read contiguously from rhs and written so to the output.
  for (unsigned operand : {product.rhs, 2u}) {
    auto type = dyn_cast<MemRefType>(op->getOperand(operand).getType());
    if (!type || !type.isLastDimUnitStride())
      return std::nullopt;
  }
  // m: the output's next dim, a row of lhs (its index as it is) that rhs
  // does not read.
  if (outMap.getNumResults() >= 2) {
    unsigned m = *dimOf(outMap, outMap.getNumResults() - 2);
    bool lhsRow = llvm::all_of(lhsMap.getResults(), [&](AffineExpr expr) {
      return !expr.isFunctionOfDim(m) || isa<AffineDimExpr>(expr);
    });
    if (lhsRow && lhsMap.isFunctionOfDim(m) && !rhsMap.isFunctionOfDim(m))
      product.m = m;
  }
  // An index computed from loops is computed from loops the tiles leave
  // whole (the views of the rest take that operand dim whole).
  for (AffineMap map : {lhsMap, rhsMap})
    for (AffineExpr expr : map.getResults())
      if (!isa<AffineDimExpr>(expr) &&
          (expr.isFunctionOfDim(product.n) ||
           (product.m && expr.isFunctionOfDim(*product.m))))
        return std::nullopt;
  return product;
}

/// The indices of `map`'s operand at the loop indices `ivs`.
SmallVector<Value> indicesOf(OpBuilder &b, Location loc, AffineMap map,
                             ArrayRef<Value> ivs) {
  SmallVector<Value> indices;
  for (AffineExpr expr : map.getResults()) {
    if (auto dim = dyn_cast<AffineDimExpr>(expr))
      indices.push_back(ivs[dim.getPosition()]);
    else
      indices.push_back(affine::AffineApplyOp::create(
          b, loc, AffineMap::get(map.getNumDims(), 0, expr), ivs));
  }
  return indices;
}

struct HostRegisterTilesPass
    : llmc::impl::LLMHostRegisterTilesBase<HostRegisterTilesPass> {
  using Base::Base;

  /// The options at 0 resolved for the host, once per pass.
  LogicalResult initialize(MLIRContext *) override {
    width = vectorWidth;
    vectors = tileVectors;
    if (width == 0 || vectors == 0) {
      bool wide = llvm::sys::getHostCPUFeatures().lookup("avx512f");
      if (width == 0)
        width = wide ? 16 : 8;
      if (vectors == 0)
        vectors = wide ? 4 : 2;
    }
    return success();
  }

  void runOnOperation() override {
    if (tileRows == 0) {
      getOperation()->emitError("llm-host-register-tiles: tile-rows must be "
                                "at least 1");
      return signalPassFailure();
    }
    SmallVector<Product> products;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (std::optional<Product> product = matchProduct(op))
        products.push_back(*product);
    });
    for (Product &product : products)
      tile(product, width, vectors);
  }

  void tile(Product &product, unsigned width, unsigned vectors);

  unsigned width = 0, vectors = 0;
};

void HostRegisterTilesPass::tile(Product &product, unsigned width,
                                 unsigned vectors) {
  linalg::GenericOp op = product.op;
  Location loc = op.getLoc();
  OpBuilder b(op);
  SmallVector<Range> ranges =
      cast<linalg::LinalgOp>(op.getOperation()).createLoopRanges(b, loc);
  unsigned numLoops = op.getNumLoops();
  SmallVector<Value> sizes;
  for (Range &range : ranges)
    sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, range.size));

  // Rows per tile: tile-rows, or all of them when there are fewer.
  int64_t rows = 1;
  if (product.m) {
    rows = tileRows;
    if (std::optional<int64_t> m = getConstantIntValue(sizes[*product.m]))
      rows = std::clamp<int64_t>(*m, 1, rows);
  }
  // Fewer vectors per row where the columns are fewer than a tile's.
  if (std::optional<int64_t> n = getConstantIntValue(sizes[product.n]);
      n && *n >= int64_t(width))
    vectors = std::min<unsigned>(vectors, *n / width);
  int64_t cols = int64_t(width) * vectors;
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, loc, value);
  };
  // The extent covered by whole tiles.
  auto whole = [&](unsigned dim, int64_t tile) -> Value {
    if (std::optional<int64_t> size = getConstantIntValue(sizes[dim]))
      return index(*size / tile * tile);
    Value t = index(tile);
    return arith::MulIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, sizes[dim], t), t);
  };
  Value colsEnd = whole(product.n, cols);
  Value rowsEnd = product.m ? whole(*product.m, rows) : Value();

  // One scf.parallel over the output's loops, n before m (a tile of rhs is
  // reused across the rows) and the others first, in their order.
  SmallVector<unsigned> dims;
  for (unsigned d = 0; d < numLoops; ++d)
    if (!llvm::is_contained(product.k, d) && d != product.n &&
        (!product.m || d != *product.m))
      dims.push_back(d);
  dims.push_back(product.n);
  if (product.m)
    dims.push_back(*product.m);
  SmallVector<Value> lbs, ubs, steps;
  for (unsigned d : dims) {
    lbs.push_back(index(0));
    if (d == product.n) {
      ubs.push_back(colsEnd);
      steps.push_back(index(cols));
    } else if (product.m && d == *product.m) {
      ubs.push_back(rowsEnd);
      steps.push_back(index(rows));
    } else {
      ubs.push_back(sizes[d]);
      steps.push_back(index(1));
    }
  }

  Value lhs = op->getOperand(product.lhs), rhs = op->getOperand(product.rhs),
        out = op->getOperand(2);
  AffineMap lhsMap = op.getIndexingMapsArray()[product.lhs],
            rhsMap = op.getIndexingMapsArray()[product.rhs],
            outMap = op.getIndexingMapsArray()[2];
  Type f32 = b.getF32Type();
  auto accType = VectorType::get({int64_t(width)}, f32);
  auto rhsElement = cast<MemRefType>(rhs.getType()).getElementType();
  auto rhsType = VectorType::get({int64_t(width)}, rhsElement);
  arith::FastMathFlagsAttr mulFlags = product.mul.getFastmathAttr(),
                           addFlags = product.add.getFastmathAttr();
  // Whether the body multiplies lhs by rhs or rhs by lhs, as it does.
  Block &body = op.getRegion().front();
  bool lhsFirst = inputArgument(product.mul.getLhs(), body) == product.lhs;

  scf::ParallelOp::create(
      b, loc, lbs, ubs, steps,
      [&](OpBuilder &b, Location loc, ValueRange tileIvs) {
        SmallVector<Value> ivs(numLoops);
        for (auto [d, iv] : llvm::zip(dims, tileIvs))
          ivs[d] = iv;
        auto offset = [&](Value base, int64_t by) -> Value {
          if (by == 0)
            return base;
          return arith::AddIOp::create(
              b, loc, base, arith::ConstantIndexOp::create(b, loc, by));
        };
        // The output indices of the tile's row i, vector j.
        auto outIndices = [&](int64_t i, unsigned j) {
          SmallVector<Value> at(ivs);
          if (product.m)
            at[*product.m] = offset(ivs[*product.m], i);
          at[product.n] = offset(ivs[product.n], int64_t(j) * width);
          return indicesOf(b, loc, outMap, at);
        };
        // The accumulators, row by row, vector by vector.
        SmallVector<Value> initial;
        for (int64_t i = 0; i < rows; ++i)
          for (unsigned j = 0; j < vectors; ++j)
            initial.push_back(
                vector::LoadOp::create(b, loc, accType, out, outIndices(i, j)));
        // The reduction loops, nested in their order.
        Value zero = arith::ConstantIndexOp::create(b, loc, 0);
        Value one = arith::ConstantIndexOp::create(b, loc, 1);
        SmallVector<Value> kLower(product.k.size(), zero),
            kSteps(product.k.size(), one), kUpper;
        for (unsigned k : product.k)
          kUpper.push_back(sizes[k]);
        scf::LoopNest nest = scf::buildLoopNest(
            b, loc, kLower, kUpper, kSteps, initial,
            [&](OpBuilder &b, Location loc, ValueRange kIvs,
                ValueRange accs) -> scf::ValueVector {
              SmallVector<Value> at(ivs);
              for (auto [k, iv] : llvm::zip(product.k, kIvs))
                at[k] = iv;
              SmallVector<Value> columns;
              for (unsigned j = 0; j < vectors; ++j) {
                at[product.n] = offset(ivs[product.n], int64_t(j) * width);
                Value column = vector::LoadOp::create(
                    b, loc, rhsType, rhs, indicesOf(b, loc, rhsMap, at));
                if (rhsElement != f32)
                  column = arith::ExtFOp::create(b, loc, accType, column);
                columns.push_back(column);
              }
              scf::ValueVector next;
              for (int64_t i = 0; i < rows; ++i) {
                if (product.m)
                  at[*product.m] = offset(ivs[*product.m], i);
                Value x = memref::LoadOp::create(b, loc, lhs,
                                                 indicesOf(b, loc, lhsMap, at));
                if (x.getType() != f32)
                  x = arith::ExtFOp::create(b, loc, f32, x);
                Value splat = vector::BroadcastOp::create(b, loc, accType, x);
                for (unsigned j = 0; j < vectors; ++j) {
                  Value term = lhsFirst
                                   ? arith::MulFOp::create(b, loc, splat,
                                                           columns[j], mulFlags)
                                   : arith::MulFOp::create(b, loc, columns[j],
                                                           splat, mulFlags);
                  next.push_back(arith::AddFOp::create(
                      b, loc, accs[i * vectors + j], term, addFlags));
                }
              }
              return next;
            });
        for (int64_t i = 0; i < rows; ++i)
          for (unsigned j = 0; j < vectors; ++j)
            vector::StoreOp::create(b, loc, nest.results[i * vectors + j], out,
                                    outIndices(i, j));
        scf::ReduceOp::create(b, loc);
      });

  // The rest, as the op computes it, on views of its operands: the rows
  // past the whole tiles (all columns), then the columns past them.
  auto rest = [&](ArrayRef<OpFoldResult> offsets,
                  ArrayRef<OpFoldResult> extents) {
    for (unsigned d = 0; d < numLoops; ++d)
      if (std::optional<int64_t> size = getConstantIntValue(extents[d]);
          size && *size == 0)
        return;
    SmallVector<Value> operands;
    for (OpOperand &operand : op->getOpOperands()) {
      AffineMap map = op.getMatchingIndexingMap(&operand);
      SmallVector<OpFoldResult> viewOffsets, viewSizes,
          viewStrides(map.getNumResults(), b.getIndexAttr(1));
      for (auto [i, expr] : llvm::enumerate(map.getResults())) {
        if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
          viewOffsets.push_back(offsets[dim.getPosition()]);
          viewSizes.push_back(extents[dim.getPosition()]);
        } else {
          // Computed from loops the view leaves whole: all of the dim.
          viewOffsets.push_back(b.getIndexAttr(0));
          viewSizes.push_back(memref::getMixedSize(b, loc, operand.get(), i));
        }
      }
      operands.push_back(memref::SubViewOp::create(
          b, loc, operand.get(), viewOffsets, viewSizes, viewStrides));
    }
    Operation *clone = b.clone(*op);
    clone->setOperands(operands);
  };
  SmallVector<OpFoldResult> offsets(numLoops, b.getIndexAttr(0)), extents;
  for (Value size : sizes)
    extents.push_back(getAsOpFoldResult(size));
  auto minus = [&](Value a, Value c) -> OpFoldResult {
    std::optional<int64_t> x = getConstantIntValue(a),
                           y = getConstantIntValue(c);
    if (x && y)
      return b.getIndexAttr(*x - *y);
    return arith::SubIOp::create(b, loc, a, c).getResult();
  };
  if (product.m) {
    SmallVector<OpFoldResult> o(offsets), e(extents);
    o[*product.m] = getAsOpFoldResult(rowsEnd);
    e[*product.m] = minus(sizes[*product.m], rowsEnd);
    rest(o, e);
  }
  {
    SmallVector<OpFoldResult> o(offsets), e(extents);
    if (product.m)
      e[*product.m] = getAsOpFoldResult(rowsEnd);
    o[product.n] = getAsOpFoldResult(colsEnd);
    e[product.n] = minus(sizes[product.n], colsEnd);
    rest(o, e);
  }
  op.erase();
}

} // namespace
