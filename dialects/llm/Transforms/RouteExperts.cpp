//===- RouteExperts.cpp - read only the routed experts' weights -----------===//
//
// Hugging Face's eager mixture of experts (Mixtral, Qwen-MoE, OLMoE as
// torch.onnx exports them) runs each expert on the rows torch.where picks
// out of the one-hot routing mask and scatters its results back. The
// importer pads those rows to every (choice, token) pair, so each expert
// runs on all of them and its results are masked by its routing flags:
//
//   flag_e = onehot(selected)[e]      one expert flagged per row at most
//   z_e    = f(rows; W_e)             the expert, row by row
//   u_e    = where(flag_e, z_e, 0)    then scattered back to the tokens
//
// A row flagged for expert e reads only z_e there, so every mask may read
// one routed result instead: Z = f(rows; W gathered by the expert flagged
// on each row), with the experts' weights stacked into one constant. Where
// the rows are fewer than the experts (a decoding step), that reads the
// flagged experts' weights rather than all of them: the products become
// [R, 1, K] x [R, N, K]ᵀ products of weights gathered from an [E, N, K]
// table (ONNX Runtime's MoE layout), which the ptx backend reads through
// the indices.
//
//===----------------------------------------------------------------------===//
#include "ConstantBytes.h"
#include "FusionCount.h"
#include "RowWise.h"
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Analysis/TopologicalSortUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::llm {
#define GEN_PASS_DEF_LLMROUTEEXPERTS
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// A routing flag's place in a one-hot mask: `table` is one-hot along
/// `axis` (at most one element true along it) and the flag is the slice at
/// `position`, through reshapes and conversions to i1 that keep each
/// element's truth.
struct Selector {
  Value table;
  int64_t axis;
  int64_t position;
};

/// The single integer a constant holds, if it holds one.
std::optional<int64_t> singleInteger(Value value) {
  DenseIntElementsAttr dense;
  if (!matchPattern(value, m_Constant(&dense)) || dense.getNumElements() != 1)
    return std::nullopt;
  return (*dense.begin()).getSExtValue();
}

/// Whether `value` is a constant whose every element is zero (or, with
/// `nonzero`, none is).
bool isSplatInteger(Value value, bool nonzero) {
  DenseIntElementsAttr dense;
  if (!matchPattern(value, m_Constant(&dense)))
    return false;
  return llvm::all_of(dense.getValues<APInt>(), [&](const APInt &v) {
    return nonzero ? !v.isZero() : v.isZero();
  });
}

/// Whether `eq` compares against distinct constants along `axis` and
/// against a value constant along it: at most one element true along
/// `axis`.
bool isOneHotAlong(EqualOp eq, int64_t axis) {
  auto result = cast<RankedTensorType>(eq.getType());
  for (unsigned side = 0; side < 2; ++side) {
    Value x = eq->getOperand(side), iota = eq->getOperand(1 - side);
    DenseIntElementsAttr values;
    if (!matchPattern(iota, m_Constant(&values)))
      continue;
    auto iotaType = cast<RankedTensorType>(iota.getType());
    auto xType = cast<RankedTensorType>(x.getType());
    if (iotaType.getRank() != result.getRank() ||
        xType.getRank() != result.getRank() || xType.getDimSize(axis) != 1 ||
        iotaType.getDimSize(axis) != result.getDimSize(axis))
      continue;
    bool vector =
        llvm::all_of(llvm::enumerate(iotaType.getShape()), [&](auto dim) {
          return int64_t(dim.index()) == axis || dim.value() == 1;
        });
    if (!vector)
      continue;
    llvm::SmallDenseSet<int64_t> seen;
    bool distinct = true;
    for (const APInt &v : values.getValues<APInt>())
      distinct &= seen.insert(v.getSExtValue()).second;
    if (distinct)
      return true;
  }
  return false;
}

/// The one-hot selector `flag` reads, if it is one.
std::optional<Selector> matchSelector(Value flag) {
  Value value = flag;
  // Shape-only ops, and conversions to i1 that keep truth: x != 0.
  while (Operation *op = value.getDefiningOp()) {
    if (auto reshape = dyn_cast<ReshapeOp>(op)) {
      value = reshape.getInput();
    } else if (auto cast = dyn_cast<CastOp>(op)) {
      if (!isa<IntegerType>(cast.getInput().getType().getElementType()))
        break;
      value = cast.getInput();
    } else if (auto notOp = dyn_cast<NotOp>(op)) {
      auto eq = notOp.getInput().getDefiningOp<EqualOp>();
      if (!eq || !isSplatInteger(eq.getRhs(), /*nonzero=*/false))
        break;
      value = eq.getLhs();
    } else {
      break;
    }
  }
  auto gather = value.getDefiningOp<GatherOp>();
  if (!gather)
    return std::nullopt;
  std::optional<int64_t> position = singleInteger(gather.getIndices());
  auto tableType = cast<RankedTensorType>(gather.getData().getType());
  int64_t axis = gather.getAxis();
  if (!position || axis < 0 || axis >= tableType.getRank() ||
      !tableType.hasStaticShape())
    return std::nullopt;
  int64_t size = tableType.getDimSize(axis);
  if (*position < 0)
    *position += size;
  if (*position < 0 || *position >= size)
    return std::nullopt;
  // The table is one-hot along the axis: transposes of where(eq, c, 0)
  // with c nonzero, of a cast of eq, or of eq itself.
  Value table = gather.getData();
  Value mask = table;
  int64_t maskAxis = axis;
  while (auto transpose = mask.getDefiningOp<TransposeOp>()) {
    maskAxis = transpose.getPermutation()[maskAxis];
    mask = transpose.getInput();
  }
  if (auto where = mask.getDefiningOp<WhereOp>()) {
    if (!isSplatInteger(where.getTrueValue(), /*nonzero=*/true) ||
        !isSplatInteger(where.getFalseValue(), /*nonzero=*/false))
      return std::nullopt;
    mask = where.getCondition();
  } else if (auto cast = mask.getDefiningOp<CastOp>()) {
    mask = cast.getInput();
  }
  auto eq = mask.getDefiningOp<EqualOp>();
  if (!eq ||
      cast<RankedTensorType>(eq.getType()).getShape() !=
          cast<RankedTensorType>(mask.getType()).getShape() ||
      !isOneHotAlong(eq, maskAxis))
    return std::nullopt;
  return Selector{table, axis, *position};
}

/// A masked expert result: where(flag, z, other), flag a one-hot selector.
struct Member {
  WhereOp where;
  int64_t position;
};

/// The experts' shared computation, as member 0's ops: what differs between
/// the members (their ops, in program order) and the constants that do
/// (each with every member's constant).
struct Template {
  SmallVector<Operation *> ops;
  llvm::MapVector<Value, SmallVector<Value>> leaves;
  /// The leaves read as a product's weights, each with whether the product
  /// reads it transposed ([N, K]); stacked as [E, N, K] (the others are row
  /// vectors, stacked as [E, n]).
  DenseMap<Value, bool> matrices;
};

/// Whether `op` computes each row of its [R, n] results (rank 2, R `rows`)
/// from the same row of its operands alone.
bool isRowWiseOn(Operation *op, int64_t rows) {
  SmallVector<unsigned> rowOperands;
  if (!isRowWise(op, rowOperands))
    return false;
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  return type.getRank() == 2 && type.getDimSize(0) == rows;
}

/// Walks member 0's value `a` and another member's `b` together, recording
/// in `differs` member 0's values that differ and in `leaves` the constants
/// that do. Fails where they are not the same computation.
bool matchValues(Value a, Value b, unsigned member, unsigned members,
                 DenseMap<Value, Value> &seen, llvm::SetVector<Value> &differs,
                 Template &shape) {
  auto [it, inserted] = seen.try_emplace(a, b);
  if (!inserted)
    return it->second == b;
  if (a == b)
    return true;
  if (a.getType() != b.getType())
    return false;
  differs.insert(a);
  auto constA = a.getDefiningOp<ConstantOp>();
  auto constB = b.getDefiningOp<ConstantOp>();
  if (constA || constB) {
    if (!constA || !constB)
      return false;
    SmallVector<Value> &values = shape.leaves[a];
    if (values.empty())
      values.assign(members, a);
    values[member] = b;
    return true;
  }
  auto resultA = dyn_cast<OpResult>(a), resultB = dyn_cast<OpResult>(b);
  if (!resultA || !resultB ||
      resultA.getResultNumber() != resultB.getResultNumber())
    return false;
  Operation *opA = resultA.getOwner(), *opB = resultB.getOwner();
  if (opA->getName() != opB->getName() ||
      opA->getAttrDictionary() != opB->getAttrDictionary() ||
      opA->getNumOperands() != opB->getNumOperands() ||
      opA->getResultTypes() != opB->getResultTypes() ||
      opA->getNumRegions() != 0 || opA->getBlock() != opB->getBlock())
    return false;
  for (auto [x, y] : llvm::zip_equal(opA->getOperands(), opB->getOperands()))
    if (!matchValues(x, y, member, members, seen, differs, shape))
      return false;
  return true;
}

struct RouteExpertsPass
    : mlir::llm::impl::LLMRouteExpertsBase<RouteExpertsPass> {
  using Base::Base;

  /// The template of `group`'s results, if they are one computation whose
  /// rows are independent and whose constants differ only where they can
  /// be gathered: a product's 2-D weights, or a row vector an elementwise
  /// op broadcasts.
  std::optional<Template> templateOf(MutableArrayRef<Member> group,
                                     int64_t rows) {
    Template shape;
    llvm::SetVector<Value> differs;
    Value first = group.front().where.getTrueValue();
    for (auto [index, member] : llvm::enumerate(group)) {
      if (index == 0)
        continue;
      DenseMap<Value, Value> seen;
      if (!matchValues(first, member.where.getTrueValue(), index, group.size(),
                       seen, differs, shape))
        return std::nullopt;
    }
    if (!differs.contains(first))
      return std::nullopt;
    llvm::SetVector<Operation *> ops;
    for (Value value : differs)
      if (!shape.leaves.contains(value))
        ops.insert(value.getDefiningOp());
    shape.ops = ops.takeVector();
    llvm::sort(shape.ops, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
    // Each differing constant is a product's weights or a row vector.
    DenseSet<Value> roles;
    for (Operation *op : shape.ops) {
      if (!isRowWiseOn(op, rows))
        return std::nullopt;
      // A product contracts its rhs's rows: they are one expert's weights
      // or shared, never rows the experts computed.
      if (auto matmul = dyn_cast<MatMulOp>(op))
        if (differs.contains(matmul.getRhs()) &&
            !shape.leaves.contains(matmul.getRhs()))
          return std::nullopt;
      for (OpOperand &operand : op->getOpOperands()) {
        if (!shape.leaves.contains(operand.get()))
          continue;
        auto type = cast<RankedTensorType>(operand.get().getType());
        if (!type.hasStaticShape() || !byteWidth(type.getElementType()))
          return std::nullopt;
        auto matmul = dyn_cast<MatMulOp>(op);
        bool matrix = matmul && operand.getOperandNumber() == 1;
        bool rowVector = !matmul && type.getRank() >= 1 &&
                         type.getRank() <= 2 &&
                         (type.getRank() == 1 || type.getDimSize(0) == 1);
        if (!matrix && !rowVector)
          return std::nullopt;
        // One role each: a constant read both ways is left alone.
        auto known = shape.matrices.find(operand.get());
        if (roles.contains(operand.get()) &&
            ((known != shape.matrices.end()) != matrix ||
             (matrix && known->second != matmul.getTransposeRhs())))
          return std::nullopt;
        roles.insert(operand.get());
        if (matrix)
          shape.matrices[operand.get()] = matmul.getTransposeRhs();
      }
    }
    return shape;
  }

  /// Rewrites `group` to read one routed result; failure leaves the IR
  /// untouched.
  LogicalResult route(MutableArrayRef<Member> group) {
    auto zType =
        cast<RankedTensorType>(group.front().where.getTrueValue().getType());
    if (zType.getRank() != 2 || !zType.hasStaticShape())
      return failure();
    int64_t rows = zType.getDimSize(0);
    // Gathering pays where the rows are fewer than the experts.
    if (rows >= int64_t(group.size()))
      return failure();
    for (Member &member : group) {
      auto cond = cast<RankedTensorType>(member.where.getCondition().getType());
      if (member.where.getType() != zType ||
          cond.getShape() != ArrayRef<int64_t>{rows, 1} ||
          member.where.getTrueValue().getType() != zType)
        return failure();
    }
    std::optional<Template> shape = templateOf(group, rows);
    if (!shape)
      return failure();
    // The routed result reads the flags and what the members share; none
    // of it may depend on a member's masked result.
    SetVector<Operation *> after;
    for (Member &member : group)
      getForwardSlice(member.where.getOperation(), &after);
    auto readsMasked = [&](Value value) {
      Operation *def = value.getDefiningOp();
      return def && after.contains(def);
    };
    DenseSet<Operation *> inTemplate(shape->ops.begin(), shape->ops.end());
    for (Member &member : group)
      if (readsMasked(member.where.getCondition()))
        return failure();
    for (Operation *op : shape->ops)
      for (Value operand : op->getOperands())
        if (!inTemplate.contains(operand.getDefiningOp()) &&
            readsMasked(operand))
          return failure();
    // The stacked constants' bytes, checked before anything is built.
    struct Stacked {
      RankedTensorType type;
      SmallVector<char> bytes;
      SmallVector<ElementsAttr> parts;
    };
    llvm::MapVector<Value, Stacked> stacked;
    for (auto &[leaf, values] : shape->leaves) {
      auto type = cast<RankedTensorType>(leaf.getType());
      // Weights as [E, N, K], read transposed: the layout of ONNX Runtime's
      // MoE experts, whose K-major rows the gathered products and
      // llm-quantize's per-channel scales expect.
      SmallVector<int64_t> dims{int64_t(values.size())};
      auto matrix = shape->matrices.find(leaf);
      bool transpose = matrix != shape->matrices.end() && !matrix->second;
      if (matrix == shape->matrices.end())
        dims.push_back(type.getNumElements());
      else if (transpose)
        llvm::append_range(
            dims, ArrayRef<int64_t>{type.getDimSize(1), type.getDimSize(0)});
      else
        llvm::append_range(dims, type.getShape());
      Stacked entry{RankedTensorType::get(dims, type.getElementType()), {}, {}};
      int64_t width = byteWidth(type.getElementType());
      entry.bytes.reserve(values.size() * type.getNumElements() * width);
      for (Value value : values) {
        ElementsAttr attr = value.getDefiningOp<ConstantOp>().getValue();
        SmallVector<char> storage;
        FailureOr<ArrayRef<char>> bytes = bytesOf(attr, storage);
        if (failed(bytes))
          return failure();
        if (transpose)
          appendTransposed(entry.bytes, *bytes, type.getDimSize(0),
                           type.getDimSize(1), width);
        else
          llvm::append_range(entry.bytes, *bytes);
        entry.parts.push_back(attr);
      }
      stacked[leaf] = std::move(entry);
    }

    Block *block = group.front().where->getBlock();
    OpBuilder builder(block, block->getTerminator()
                                 ? Block::iterator(block->getTerminator())
                                 : block->end());
    SmallVector<Location> locations;
    for (Member &member : group)
      locations.push_back(member.where.getLoc());
    Location loc = builder.getFusedLoc(locations);
    auto indexScalar = [&](int64_t value) -> Value {
      auto type = RankedTensorType::get({}, builder.getI64Type());
      return ConstantOp::create(builder, loc, type,
                                DenseElementsAttr::get(type, value));
    };
    // Each row's expert: the position in the group of its flagged member
    // (0 where none is: that row's result is masked everywhere).
    auto flatFlag = [&](Value cond) -> Value {
      return ReshapeOp::create(
          builder, loc, RankedTensorType::get({rows}, builder.getI1Type()),
          cond);
    };
    Value expert = indexScalar(0);
    for (auto [index, member] : llvm::enumerate(group))
      if (index > 0)
        expert =
            WhereOp::create(builder, loc, flatFlag(member.where.getCondition()),
                            indexScalar(index), expert);
    IRMapping mapping;
    for (auto &[leaf, entry] : stacked) {
      Value table = ConstantOp::create(
          builder, loc, entry.type,
          makeConstant(entry.type, entry.bytes, entry.parts, ".experts"));
      mapping.map(leaf, GatherOp::create(builder, loc, table, expert,
                                         builder.getI64IntegerAttr(0))
                            .getResult());
    }
    DenseMap<Value, Value> views;
    for (Operation *op : shape->ops) {
      auto matmul = dyn_cast<MatMulOp>(op);
      if (!matmul || !stacked.contains(matmul.getRhs())) {
        builder.clone(*op, mapping);
        continue;
      }
      // [R, K] x gathered [R, N, K]ᵀ as [R, 1, K] x [R, N, K]ᵀ, one
      // [R, 1, K] view of each lhs (a gate's and an up product's stay
      // siblings).
      auto lhsType = cast<RankedTensorType>(matmul.getLhs().getType());
      auto type = cast<RankedTensorType>(matmul.getType());
      Value &lhs = views[mapping.lookupOrDefault(matmul.getLhs())];
      if (!lhs)
        lhs = ReshapeOp::create(
            builder, loc,
            RankedTensorType::get({rows, 1, lhsType.getDimSize(1)},
                                  lhsType.getElementType()),
            mapping.lookupOrDefault(matmul.getLhs()));
      auto product = MatMulOp::create(
          builder, matmul.getLoc(),
          RankedTensorType::get({rows, 1, type.getDimSize(1)},
                                type.getElementType()),
          lhs, mapping.lookup(matmul.getRhs()), Value(), Value(),
          matmul.getTransposeLhsAttr(), builder.getBoolAttr(true),
          matmul.getScaleAttr(), matmul.getActivationAttr());
      mapping.map(matmul.getResult(),
                  ReshapeOp::create(builder, loc, type, product.getResult())
                      .getResult());
    }
    Value routed = mapping.lookup(group.front().where.getTrueValue());
    // The members' own computations, now unread, go.
    SmallVector<Operation *> worklist;
    for (Member &member : group) {
      if (Operation *op = member.where.getTrueValue().getDefiningOp())
        worklist.push_back(op);
      member.where.getTrueValueMutable().assign(routed);
    }
    DenseSet<Operation *> erased;
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      if (erased.contains(op) || op->getBlock() != block ||
          !isOpTriviallyDead(op))
        continue;
      for (Value operand : op->getOperands())
        if (Operation *def = operand.getDefiningOp())
          worklist.push_back(def);
      erased.insert(op);
      op->erase();
    }
    ++groups;
    experts += group.size();
    return success();
  }

  void runOnOperation() override {
    // Masked results grouped by the one-hot table and axis their flags
    // read, in program order.
    llvm::MapVector<std::pair<Value, int64_t>, SmallVector<Member>> byTable;
    getOperation()->walk([&](WhereOp where) {
      if (!where.getTrueValue().getDefiningOp())
        return;
      if (std::optional<Selector> selector =
              matchSelector(where.getCondition()))
        byTable[{selector->table, selector->axis}].push_back(
            {where, selector->position});
    });
    // Each block sorted once, after all of its groups.
    llvm::SetVector<Block *> touched;
    for (auto &[key, members] : byTable) {
      // Distinct positions: at most one member flagged on each row.
      llvm::SmallDenseSet<int64_t> positions;
      bool distinct = llvm::all_of(members, [&](const Member &member) {
        return positions.insert(member.position).second;
      });
      if (!distinct || members.size() < 2)
        continue;
      if (succeeded(route(members)))
        touched.insert(members.front().where->getBlock());
    }
    for (Block *block : touched)
      sortTopologically(block);
    reportFusionCounts(
        getOperation(), getArgument(), remarks,
        {{"groups", &numGroups, &groups}, {"experts", &numExperts, &experts}});
  }

  FusionCount groups, experts;
};
} // namespace
