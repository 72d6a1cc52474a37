//===- HLSAnnotate.cpp - HLS directives and schedule estimates ------------===//
//
// Decides, on the bufferized affine loops of the HLS pipeline, how each loop
// nest is scheduled (pipelined innermost loops at II=1, unroll factors within
// the FPGA description's budgets, array partitions that feed the unrolled
// lanes, m_axi ports on HBM) and estimates what that schedule costs: cycles,
// DSPs, BRAM and URAM. Everything is recorded as attributes that the HLS C++
// emitter and the report read; nothing here changes what the code computes.
//
//===----------------------------------------------------------------------===//
#include "llmc/Conversion/HLSPasses.h"
#include "llmc/Target/TargetDescription.h"

#include "llm/IR/LLMOps.h"

#include "mlir/Dialect/Affine/Analysis/LoopAnalysis.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringSet.h"

#include <limits>
#include <numeric>

namespace llmc {
#define GEN_PASS_DEF_LLMHLSANNOTATE
#include "llmc/Conversion/HLSPasses.h.inc"
} // namespace llmc

using namespace mlir;

namespace {
/// Lanes an m_axi port delivers per cycle for 32-bit data at the 512-bit
/// width Vitis widens bursts to (max_widen_bitwidth=512).
constexpr int64_t kPortLanes = 16;

/// The buffer a memref value views: a function argument, a memref.alloc /
/// alloca result or a memref.get_global result.
Value rootOf(Value memref) {
  while (Operation *def = memref.getDefiningOp()) {
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      break;
    memref = view.getViewSource();
  }
  return memref;
}

/// The coefficient of the variable at `position` (a dim or a symbol) in a
/// linear affine expression; none when it appears non-linearly.
std::optional<int64_t> coefficient(AffineExpr expr, unsigned position,
                                   bool isDim) {
  if (auto dim = dyn_cast<AffineDimExpr>(expr))
    return isDim && dim.getPosition() == position ? 1 : 0;
  if (auto symbol = dyn_cast<AffineSymbolExpr>(expr))
    return !isDim && symbol.getPosition() == position ? 1 : 0;
  if (isa<AffineConstantExpr>(expr))
    return 0;
  auto binary = cast<AffineBinaryOpExpr>(expr);
  std::optional<int64_t> lhs = coefficient(binary.getLHS(), position, isDim);
  std::optional<int64_t> rhs = coefficient(binary.getRHS(), position, isDim);
  if (!lhs || !rhs)
    return std::nullopt;
  switch (expr.getKind()) {
  case AffineExprKind::Add:
    return *lhs + *rhs;
  case AffineExprKind::Mul:
    if (auto c = dyn_cast<AffineConstantExpr>(binary.getRHS()))
      return *lhs * c.getValue();
    if (auto c = dyn_cast<AffineConstantExpr>(binary.getLHS()))
      return *rhs * c.getValue();
    return (*lhs == 0 && *rhs == 0) ? std::optional<int64_t>(0) : std::nullopt;
  default:
    return (*lhs == 0 && *rhs == 0) ? std::optional<int64_t>(0) : std::nullopt;
  }
}

/// How one memory access moves with a loop's induction variable.
struct Access {
  Value root;
  bool write = false;
  /// Elements the flat address moves per iteration; none if unknown.
  std::optional<int64_t> stride;
};

/// Static strides of a memref type (its layout), or failure.
FailureOr<SmallVector<int64_t>> staticStrides(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (failed(type.getStridesAndOffset(strides, offset)) ||
      ShapedType::isDynamic(offset) ||
      llvm::any_of(strides, ShapedType::isDynamic))
    return failure();
  return strides;
}

/// Whether `value` is defined inside `loop` (so it may vary with its IV).
bool definedInside(Value value, Operation *loop) {
  if (auto arg = dyn_cast<BlockArgument>(value))
    return loop->isProperAncestor(arg.getOwner()->getParentOp()) ||
           arg.getOwner()->getParentOp() == loop;
  return loop->isAncestor(value.getDefiningOp());
}

std::optional<Access> accessOf(Operation *op, affine::AffineForOp loop) {
  Value iv = loop.getInductionVar();
  Access access;
  Value memref;
  if (auto load = dyn_cast<affine::AffineLoadOp>(op))
    memref = load.getMemRef();
  else if (auto store = dyn_cast<affine::AffineStoreOp>(op))
    memref = store.getMemRef(), access.write = true;
  else if (auto load = dyn_cast<memref::LoadOp>(op))
    memref = load.getMemRef();
  else if (auto store = dyn_cast<memref::StoreOp>(op))
    memref = store.getMemRef(), access.write = true;
  else
    return std::nullopt;
  access.root = rootOf(memref);
  auto type = cast<MemRefType>(memref.getType());
  FailureOr<SmallVector<int64_t>> strides = staticStrides(type);
  if (failed(strides))
    return access;
  int64_t total = 0;
  if (isa<affine::AffineLoadOp, affine::AffineStoreOp>(op)) {
    AffineMap map;
    ValueRange operands;
    if (auto load = dyn_cast<affine::AffineLoadOp>(op)) {
      map = load.getAffineMap();
      operands = load.getMapOperands();
    } else {
      auto store = cast<affine::AffineStoreOp>(op);
      map = store.getAffineMap();
      operands = store.getMapOperands();
    }
    for (auto [d, result] : llvm::enumerate(map.getResults())) {
      for (auto [j, operand] : llvm::enumerate(operands)) {
        bool isDim = j < map.getNumDims();
        unsigned position = isDim ? j : j - map.getNumDims();
        std::optional<int64_t> c = coefficient(result, position, isDim);
        if (operand == iv) {
          if (!c)
            return access;
          total += *c * (*strides)[d];
        } else if (definedInside(operand, loop) && (!c || *c != 0)) {
          return access;
        }
      }
    }
  } else {
    ValueRange indices = isa<memref::LoadOp>(op)
                             ? cast<memref::LoadOp>(op).getIndices()
                             : cast<memref::StoreOp>(op).getIndices();
    for (auto [d, index] : llvm::enumerate(indices)) {
      if (index == iv)
        total += (*strides)[d];
      else if (definedInside(index, loop))
        return access;
    }
  }
  access.stride = total;
  return access;
}

/// Float work of a loop body: multiplies and adds count half a multiply-add,
/// other float operations (divisions, transcendental functions) one.
struct BodyCost {
  int64_t halfMacs = 0, fullMacs = 0, floatOps = 0;
};

BodyCost costOf(Block &body) {
  BodyCost cost;
  body.walk([&](Operation *op) {
    if (op->getNumResults() != 1 ||
        !isa<FloatType>(op->getResult(0).getType()))
      return;
    if (!isa<arith::ArithDialect, math::MathDialect>(op->getDialect()) ||
        isa<arith::ConstantOp>(op))
      return;
    ++cost.floatOps;
    if (isa<arith::MulFOp, arith::AddFOp, arith::SubFOp>(op))
      ++cost.halfMacs;
    else if (isa<arith::DivFOp, arith::RemFOp>(op) ||
             (isa<math::MathDialect>(op->getDialect()) &&
              !isa<math::AbsFOp, math::FloorOp, math::CeilOp,
                   math::TruncOp, math::CopySignOp>(op)))
      ++cost.fullMacs;
  });
  return cost;
}

std::string sanitize(StringRef text) {
  std::string out;
  for (char c : text) {
    char d = llvm::isAlnum(c) ? c : '_';
    if (d == '_' && (out.empty() || out.back() == '_'))
      continue;
    out.push_back(d);
  }
  while (!out.empty() && out.back() == '_')
    out.pop_back();
  if (!out.empty() && llvm::isDigit(out.front()))
    out = "n" + out;
  return out;
}

void collectNames(Location loc, SmallVectorImpl<std::string> &names) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    names.push_back(name.getName().str());
    return;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      collectNames(inner, names);
  if (auto callSite = dyn_cast<CallSiteLoc>(loc))
    collectNames(callSite.getCallee(), names);
}

int64_t largestDivisorAtMost(int64_t n, int64_t cap) {
  cap = std::max<int64_t>(1, std::min(cap, n));
  for (int64_t d = cap; d > 1; --d)
    if (n % d == 0)
      return d;
  return 1;
}

struct HLSAnnotatePass : llmc::impl::LLMHLSAnnotateBase<HLSAnnotatePass> {
  using Base::Base;

  struct FPGA {
    int64_t granule = 1, dsp = 0, hbmChannels = 1;
    double dspPerMac = 5, bramBits = 36864, uramBits = 294912;
  } fpga;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto desc = llmc::TargetDescription::load(target);
    if (!desc) {
      module.emitError() << "llm-hls-annotate: "
                         << llvm::toString(desc.takeError());
      return signalPassFailure();
    }
    if (desc->kind() != "fpga") {
      module.emitError() << "llm-hls-annotate: target '" << desc->name()
                         << "' is a " << desc->kind()
                         << ", not an fpga description";
      return signalPassFailure();
    }
    if (auto unit = desc->matrixUnit("fp32"))
      fpga.granule = (*unit)[1];
    // The figures the schedule divides by: each, where given, a positive
    // number, and a RAM block at least one 72-bit row.
    auto bad = [&](const Twine &what) {
      module.emitError() << "llm-hls-annotate: target '" << desc->name()
                         << "': " << what;
      signalPassFailure();
    };
    for (StringRef key :
         {"fpga.dsp_per_fp32_mac", "fpga.hbm_pseudo_channels",
          "fpga.bram_bytes", "fpga.bram_36k", "fpga.uram_bytes", "fpga.uram"})
      if (desc->givesFigureOutside(key,
                                   std::numeric_limits<double>::denorm_min()))
        return bad(key + " must be a number > 0");
    fpga.dsp = static_cast<int64_t>(desc->number("fpga.dsp").value_or(0));
    fpga.dspPerMac = desc->number("fpga.dsp_per_fp32_mac").value_or(5);
    fpga.hbmChannels = std::max<int64_t>(
        1, desc->number("fpga.hbm_pseudo_channels").value_or(1));
    if (auto bram = desc->number("fpga.bram_bytes"))
      if (auto blocks = desc->number("fpga.bram_36k"))
        fpga.bramBits = *bram * 8 / *blocks;
    if (auto uram = desc->number("fpga.uram_bytes"))
      if (auto blocks = desc->number("fpga.uram"))
        fpga.uramBits = *uram * 8 / *blocks;
    if (fpga.dsp <= 0) {
      module.emitError() << "llm-hls-annotate: target '" << desc->name()
                         << "' has no fpga.dsp";
      return signalPassFailure();
    }
    for (auto [name, bits] :
         {std::pair<StringRef, double>{"bram", fpga.bramBits},
          {"uram", fpga.uramBits}})
      if (bits < 72)
        return bad("fpga." + name + "_bytes over fpga." +
                   (name == "bram" ? "bram_36k" : "uram") + " gives " +
                   Twine(static_cast<int64_t>(bits)) +
                   "-bit blocks, less than one 72-bit row");
    module->setAttr("hls.target", StringAttr::get(&getContext(), desc->name()));
    module->setAttr("hls.clock_hz",
                    FloatAttr::get(Float64Type::get(&getContext()),
                                   desc->clockHz()));
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal() && failed(annotate(func)))
        return signalPassFailure();
  }

  LogicalResult annotate(func::FuncOp func) {
    MLIRContext *context = &getContext();
    Builder b(context);
    if (func.isPublic())
      func->setAttr("hls.top", b.getUnitAttr());

    // Ports: every argument is an m_axi port on an HBM pseudo channel.
    for (auto [index, arg] : llvm::enumerate(func.getArguments())) {
      auto type = dyn_cast<MemRefType>(arg.getType());
      // An empty tensor has no layout to speak of; nothing reads it.
      if (!type || !type.hasStaticShape() ||
          (type.getNumElements() != 0 && failed(staticStrides(type))))
        return func.emitError()
               << "argument #" << index << " of @" << func.getName()
               << " has the type " << arg.getType()
               << "; HLS ports must be memrefs of static shape and layout";
      func.setArgAttr(
          index, "hls.interface",
          b.getDictionaryAttr(
              {b.getNamedAttr("mode", b.getStringAttr("m_axi")),
               b.getNamedAttr("bundle",
                              b.getStringAttr(
                                  "hbm" + std::to_string(index %
                                                         fpga.hbmChannels))),
               b.getNamedAttr("depth",
                              b.getI64IntegerAttr(type.getNumElements()))}));
    }
    for (Type type : func.getResultTypes())
      return func.emitError() << "@" << func.getName() << " returns " << type
                              << "; the HLS pipeline expects results as "
                                 "out-parameters";

    // Buffers must be static.
    WalkResult walk = func.walk([&](Operation *op) {
      if (isa<memref::AllocOp, memref::AllocaOp>(op)) {
        auto type = cast<MemRefType>(op->getResult(0).getType());
        if (!type.hasStaticShape()) {
          op->emitOpError() << "allocates " << type
                            << "; HLS buffers need static shapes";
          return WalkResult::interrupt();
        }
        if (op->getParentOp() != func) {
          op->emitOpError("allocates inside a loop; HLS buffers must be "
                          "allocated once, at function scope");
          return WalkResult::interrupt();
        }
      }
      if (auto loop = dyn_cast<affine::AffineForOp>(op))
        if (!loop.hasConstantBounds()) {
          loop.emitOpError("has non-constant bounds; HLS loops need static "
                           "trip counts");
          return WalkResult::interrupt();
        }
      if (isa<scf::SCFDialect>(op->getDialect()) &&
          isa<LoopLikeOpInterface>(op)) {
        op->emitOpError("is a loop the HLS pipeline does not bound statically");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();

    // Nests: the top-level loops of the function body.
    SmallVector<affine::AffineForOp> nests;
    for (Operation &op : func.getBody().front())
      if (auto loop = dyn_cast<affine::AffineForOp>(op))
        nests.push_back(loop);
    int64_t floatNests = llvm::count_if(nests, [](affine::AffineForOp nest) {
      return costOf(*nest.getBody()).floatOps > 0;
    });
    double dspShare =
        static_cast<double>(fpga.dsp) / std::max<int64_t>(1, floatNests);

    llvm::MapVector<Value, int64_t> partition; // root → cyclic factor
    llvm::StringSet<> usedLabels;
    for (auto [nestIndex, nest] : llvm::enumerate(nests)) {
      SmallVector<std::string> nodes;
      collectNames(nest.getLoc(), nodes);
      std::string base = sanitize(nodes.empty() ? "loop" : nodes.front());
      if (base.empty())
        base = "loop";
      if (!usedLabels.insert(base).second)
        base += "_" + std::to_string(nestIndex);
      usedLabels.insert(base);
      if (!nodes.empty()) {
        SmallVector<Attribute> names;
        for (const std::string &node : nodes)
          names.push_back(b.getStringAttr(node));
        nest->setAttr("hls.nodes", b.getArrayAttr(names));
      }
      int64_t dsp = 0;
      std::function<int64_t(affine::AffineForOp, int64_t)> visit =
          [&](affine::AffineForOp loop, int64_t depth) -> int64_t {
        int64_t trip = static_cast<int64_t>(
            affine::getConstantTripCount(loop).value_or(0));
        loop->setAttr("hls.label",
                      b.getStringAttr(base + "_l" + std::to_string(depth)));
        loop->setAttr("hls.trip_count", b.getI64IntegerAttr(trip));
        SmallVector<affine::AffineForOp> children;
        for (Operation &op : *loop.getBody())
          if (auto child = dyn_cast<affine::AffineForOp>(op))
            children.push_back(child);
        // Nested loops anywhere else (inside ifs) are treated as inner.
        bool innermost = children.empty() &&
                         !loop.getBody()
                              ->walk([](affine::AffineForOp) {
                                return WalkResult::interrupt();
                              })
                              .wasInterrupted();
        if (!innermost) {
          int64_t cycles = 0;
          for (affine::AffineForOp child : children)
            cycles += visit(child, depth + 1);
          return trip * cycles;
        }
        BodyCost cost = costOf(*loop.getBody());
        int64_t dspPerIteration = static_cast<int64_t>(std::ceil(
            cost.halfMacs * fpga.dspPerMac / 2 + cost.fullMacs * fpga.dspPerMac));
        int64_t cap = fpga.granule;
        if (dspPerIteration > 0)
          cap = std::min<int64_t>(
              cap, static_cast<int64_t>(dspShare / dspPerIteration));
        bool carried = false, irregular = false;
        SmallVector<Value> unitStride;
        loop.getBody()->walk([&](Operation *op) {
          std::optional<Access> access = accessOf(op, loop);
          if (!access)
            return;
          if (!access->stride) {
            irregular = true;
            return;
          }
          if (*access->stride == 0) {
            carried |= access->write;
            return;
          }
          if (*access->stride != 1) {
            irregular = true;
            return;
          }
          if (isa<BlockArgument>(access->root))
            cap = std::min(cap, kPortLanes);
          else
            unitStride.push_back(access->root);
        });
        int64_t unroll =
            (carried || irregular) ? 1 : largestDivisorAtMost(trip, cap);
        loop->setAttr("hls.pipeline_ii", b.getI64IntegerAttr(1));
        if (unroll > 1) {
          loop->setAttr("hls.unroll", b.getI64IntegerAttr(unroll));
          for (Value root : unitStride) {
            int64_t &factor = partition[root];
            factor = factor ? std::lcm(factor, unroll) : unroll;
          }
        }
        if (carried)
          loop->setAttr("hls.carried", b.getUnitAttr());
        dsp += unroll * dspPerIteration;
        int64_t depthCycles = 1 + cost.floatOps;
        return (trip + unroll - 1) / unroll + depthCycles;
      };
      int64_t cycles = visit(nest, 0);
      nest->setAttr("hls.cycles", b.getI64IntegerAttr(cycles));
      nest->setAttr("hls.dsp", b.getI64IntegerAttr(dsp));
    }

    // Buffers: partitions, storage and RAM blocks, charged to the first
    // nest that touches them.
    int64_t bufferIndex = 0;
    SmallVector<std::pair<Operation *, Value>> buffers;
    for (Operation &op : func.getBody().front()) {
      if (isa<memref::AllocOp, memref::AllocaOp, memref::GetGlobalOp>(op))
        buffers.push_back({&op, op.getResult(0)});
    }
    DenseMap<affine::AffineForOp, std::pair<int64_t, int64_t>> blocks;
    for (auto [op, value] : buffers) {
      auto type = cast<MemRefType>(value.getType());
      Operation *holder = op;
      if (auto get = dyn_cast<memref::GetGlobalOp>(op)) {
        holder = SymbolTable::lookupNearestSymbolFrom(op, get.getNameAttr());
        if (!holder)
          return op->emitOpError("names an unknown global");
      } else {
        op->setAttr("hls.name",
                    b.getStringAttr("buf" + std::to_string(bufferIndex++)));
      }
      int64_t factor = partition.lookup(value);
      if (factor > 1) {
        if (auto existing =
                holder->getAttrOfType<IntegerAttr>("hls.array_partition"))
          factor = std::lcm(factor, existing.getInt());
        holder->setAttr("hls.array_partition", b.getI64IntegerAttr(factor));
      }
      factor = std::max<int64_t>(factor, 1);
      int64_t bits = std::max<int64_t>(
          1, type.getElementType().getIntOrFloatBitWidth());
      int64_t bankElements = (type.getNumElements() + factor - 1) / factor;
      double bankBytes = static_cast<double>(bankElements) * bits / 8;
      StringRef storage = "bram";
      int64_t bram = 0, uram = 0;
      if (bankBytes <= registerThresholdBytes) {
        storage = "reg";
      } else if (bankBytes >= uramThresholdBytes) {
        storage = "uram";
        // 72-bit rows, one element per row (Vitis does not pack narrower
        // elements into a URAM row by default).
        int64_t rows = static_cast<int64_t>(fpga.uramBits / 72);
        int64_t rowsNeeded =
            bankElements * std::max<int64_t>(1, (bits + 71) / 72);
        uram = factor * ((rowsNeeded + rows - 1) / rows);
      } else {
        // The narrowest BRAM36 aspect ratio that holds an element.
        int64_t width = 72;
        for (int64_t w : {1, 2, 4, 9, 18, 36, 72})
          if (w >= bits) {
            width = w;
            break;
          }
        int64_t rows = static_cast<int64_t>(fpga.bramBits / width);
        int64_t rowsNeeded =
            bankElements * std::max<int64_t>(1, (bits + 71) / 72);
        bram = factor * ((rowsNeeded + rows - 1) / rows);
      }
      holder->setAttr("hls.storage", b.getStringAttr(storage));
      holder->setAttr("hls.bram_36k", b.getI64IntegerAttr(bram));
      holder->setAttr("hls.uram", b.getI64IntegerAttr(uram));
      // Charge the first nest that uses the buffer (through any view).
      affine::AffineForOp owner;
      Value buffer = value;
      for (affine::AffineForOp nest : nests) {
        bool uses = false;
        nest.walk([&](Operation *inner) {
          if (auto access = accessOf(inner, nest))
            uses |= access->root == buffer;
        });
        if (uses) {
          owner = nest;
          break;
        }
      }
      if (owner) {
        blocks[owner].first += bram;
        blocks[owner].second += uram;
      }
    }
    for (affine::AffineForOp nest : nests) {
      nest->setAttr("hls.bram_36k", b.getI64IntegerAttr(blocks[nest].first));
      nest->setAttr("hls.uram", b.getI64IntegerAttr(blocks[nest].second));
    }

    annotateDataflow(func, nests);
    return success();
  }

  /// DATAFLOW applies when the nests form a chain of processes in which each
  /// buffer has one producer and one consumer; consecutive nests that write
  /// the same buffer (an initialization and its accumulation) are one stage.
  void annotateDataflow(func::FuncOp func,
                        ArrayRef<affine::AffineForOp> nests) {
    Builder b(&getContext());
    SmallVector<llvm::SetVector<Value>> reads, writes;
    SmallVector<int64_t> stageOf;
    int64_t stage = -1;
    for (affine::AffineForOp nest : nests) {
      llvm::SetVector<Value> r, w;
      nest.walk([&](Operation *op) {
        if (auto access = accessOf(op, nest))
          (access->write ? w : r).insert(access->root);
      });
      bool merge = !writes.empty() &&
                   llvm::any_of(w, [&](Value v) {
                     return writes.back().contains(v);
                   });
      if (!merge) {
        ++stage;
        reads.emplace_back();
        writes.emplace_back();
      }
      reads.back().insert(r.begin(), r.end());
      writes.back().insert(w.begin(), w.end());
      stageOf.push_back(stage);
      nest->setAttr("hls.stage", b.getI64IntegerAttr(stage));
    }
    auto describe = [&](Value root) -> std::string {
      if (auto arg = dyn_cast<BlockArgument>(root))
        return "argument #" + std::to_string(arg.getArgNumber());
      if (auto name = root.getDefiningOp()->getAttrOfType<StringAttr>("hls.name"))
        return name.str();
      return "a constant";
    };
    std::string blocked;
    if (stage < 1)
      blocked = "fewer than two stages";
    llvm::MapVector<Value, SmallVector<int64_t>> producers, consumers;
    for (int64_t s = 0; s <= stage && blocked.empty(); ++s) {
      for (Value v : writes[s])
        producers[v].push_back(s);
      for (Value v : reads[s])
        if (!writes[s].contains(v))
          consumers[v].push_back(s);
    }
    for (auto &[root, list] : producers)
      if (blocked.empty() && list.size() > 1)
        blocked = describe(root) + " is written by " +
                  std::to_string(list.size()) + " stages";
    for (auto &[root, list] : consumers) {
      if (!blocked.empty())
        break;
      if (root.getDefiningOp<memref::GetGlobalOp>())
        continue;
      if (list.size() > 1)
        blocked = describe(root) + " is read by " +
                  std::to_string(list.size()) + " stages";
      else if (producers.count(root) && producers[root].front() > list.front())
        blocked = describe(root) + " is read before it is written";
    }
    if (blocked.empty())
      func->setAttr("hls.dataflow", b.getUnitAttr());
    else
      func->setAttr("hls.dataflow_blocked", b.getStringAttr(blocked));
  }
};
} // namespace
