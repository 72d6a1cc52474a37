//===- GPUFuseLaunches.cpp - independent or small launches as one ---------===//
//
// Launch fusion for the ptx backend's generic path. llm-gpu-map-loops
// gives every loop its own launch; a decoding step has runs of small ones
// that share no data (the past keys and values copied into the presents,
// the new values appended, the rotary embeddings of q and k), each a block
// or two. Such a run becomes one launch whose grid is the parts' grids one
// after the other: every block runs the part its index falls in.
//
// Then chains: runs of launches of a block or less each (a router's top-k
// rounds, a step's mask arithmetic), dependent or not, become one launch of
// one block that runs the parts in order with a barrier between them.
//
//===----------------------------------------------------------------------===//
#include "Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace llmc {
#define GEN_PASS_DEF_LLMGPUFUSELAUNCHES
#include "Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {

/// One memory access of a launch: the buffer it reaches (an allocation, a
/// function argument or a global's name) and, where a static subview of
/// that buffer bounds it, the index range of each of the buffer's dims.
struct Access {
  Value root;
  StringAttr global; // Set for a memref.get_global root.
  SmallVector<std::pair<int64_t, int64_t>> box; // Empty: the whole buffer.
  bool write = false;
};

bool sameBuffer(const Access &a, const Access &b) {
  if (a.global || b.global)
    return a.global == b.global;
  return a.root == b.root;
}

/// Whether two accesses of one buffer may touch the same element.
bool mayOverlap(const Access &a, const Access &b) {
  if (!sameBuffer(a, b))
    return false;
  if (a.box.empty() || b.box.empty() || a.box.size() != b.box.size())
    return true;
  for (auto [x, y] : llvm::zip(a.box, b.box))
    if (x.second < y.first || y.second < x.first)
      return false;
  return true;
}

/// A launch that can be part of a group, with what it reads and writes.
struct Part {
  gpu::LaunchOp launch;
  int64_t blocks = 0;
  /// The block's constant sizes (x, y, z).
  SmallVector<int64_t, 3> block;
  SmallVector<Access> accesses;
  /// Threads in all: the grid's blocks times the block's threads.
  int64_t threads() const { return blocks * block[0] * block[1] * block[2]; }
};

std::optional<int64_t> constant(Value v) { return getConstantIntValue(v); }

/// `value`'s buffer, traced back through view ops, with the index box of
/// the static subview taken directly of it. False when the buffer is not one
/// whose aliases are known (an allocation, an argument of the function, a
/// global); `inside` is set when the buffer is allocated in `launch`.
bool traceAccess(Value value, gpu::LaunchOp launch, Access &access,
                 bool &inside) {
  inside = false;
  Operation *onRoot = nullptr;
  Value root = value;
  // Whether each view of the chain shows elements of its source only (a
  // reinterpret_cast or memref.view may reach past a subview it starts
  // from: then the subview bounds nothing).
  bool narrowing = true;
  while (auto view = root.getDefiningOp<ViewLikeOpInterface>()) {
    narrowing &=
        isa<memref::SubViewOp, memref::ExpandShapeOp, memref::CollapseShapeOp,
            memref::CastOp, memref::TransposeOp>(view.getOperation());
    onRoot = view;
    root = view.getViewSource();
  }
  Operation *def = root.getDefiningOp();
  if (auto arg = dyn_cast<BlockArgument>(root)) {
    // A region argument inside the launch (a loop's) is not memory; one of
    // the function's entry block is a buffer of the plan.
    if (!isa<FunctionOpInterface>(arg.getOwner()->getParentOp()))
      return false;
  } else if (auto global = dyn_cast<memref::GetGlobalOp>(def)) {
    // Wherever it is read, a global is the same memory.
    access.global = global.getNameAttr().getAttr();
  } else if (!isa<memref::AllocOp, memref::AllocaOp>(def)) {
    return false;
  } else if (launch->isAncestor(def)) {
    // The launch's own buffer.
    inside = true;
    return true;
  }
  access.root = root;
  // Index boxes name distinct elements only where the buffer's layout is
  // the identity (a stride 0 would map two boxes to the same memory).
  auto subview = dyn_cast_or_null<memref::SubViewOp>(onRoot);
  auto rootType = dyn_cast<MemRefType>(root.getType());
  if (!subview || !narrowing || !rootType || !rootType.getLayout().isIdentity())
    return true;
  std::optional<SmallVector<int64_t>> offsets =
      getConstantIntValues(subview.getMixedOffsets());
  std::optional<SmallVector<int64_t>> sizes =
      getConstantIntValues(subview.getMixedSizes());
  std::optional<SmallVector<int64_t>> strides =
      getConstantIntValues(subview.getMixedStrides());
  if (!offsets || !sizes || !strides)
    return true;
  for (auto [offset, size, stride] : llvm::zip(*offsets, *sizes, *strides)) {
    if (size <= 0)
      return true;
    access.box.push_back({offset, offset + (size - 1) * stride});
  }
  return true;
}

/// Fills `part` from `launch` when the launch can be merged: a 1-D grid of
/// constant size, a constant block, one body block, nothing asynchronous or
/// shared, and every memory effect on a known buffer.
bool describe(gpu::LaunchOp launch, Part &part) {
  if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
      launch.getDynamicSharedMemorySize() || launch.getClusterSizeX() ||
      launch.getNumWorkgroupAttributions() != 0 ||
      launch.getNumPrivateAttributions() != 0 ||
      !launch.getBody().hasOneBlock())
    return false;
  std::optional<int64_t> x = constant(launch.getGridSizeX()),
                         y = constant(launch.getGridSizeY()),
                         z = constant(launch.getGridSizeZ());
  if (!x || *x <= 0 || y != 1 || z != 1)
    return false;
  for (Value size : {launch.getBlockSizeX(), launch.getBlockSizeY(),
                     launch.getBlockSizeZ()}) {
    std::optional<int64_t> threads = constant(size);
    if (!threads)
      return false;
    part.block.push_back(*threads);
  }
  part.launch = launch;
  part.blocks = *x;
  bool known = true;
  launch.getBody().walk([&](Operation *op) {
    if (op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance();
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects) {
      if (isMemoryEffectFree(op))
        return WalkResult::advance();
      known = false;
      return WalkResult::interrupt();
    }
    SmallVector<MemoryEffects::EffectInstance> instances;
    effects.getEffects(instances);
    for (MemoryEffects::EffectInstance &instance : instances) {
      bool read = isa<MemoryEffects::Read>(instance.getEffect());
      bool write = isa<MemoryEffects::Write>(instance.getEffect());
      Value value = instance.getValue();
      if (!read && !write) {
        // Allocation and release of the launch's own buffers only.
        if (!value ||
            !launch->isAncestor(value.getParentBlock()->getParentOp()))
          known = false;
        continue;
      }
      Access access;
      bool inside = false;
      if (!value || !traceAccess(value, launch, access, inside)) {
        known = false;
        break;
      }
      if (inside)
        continue;
      access.write = write;
      part.accesses.push_back(std::move(access));
    }
    return known ? WalkResult::advance() : WalkResult::interrupt();
  });
  return known;
}

bool independent(const Part &a, const Part &b) {
  for (const Access &x : a.accesses)
    for (const Access &y : b.accesses)
      if ((x.write || y.write) && mayOverlap(x, y))
        return false;
  return true;
}

/// Ops a launch may be moved down past: they touch no memory (an allocation
/// makes a new buffer).
bool movableAcross(Operation &op) {
  if (isMemoryEffectFree(&op))
    return true;
  if (op.getNumRegions() != 0)
    return false;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  return effects && effects.hasEffect<MemoryEffects::Allocate>() &&
         !effects.hasEffect<MemoryEffects::Read>() &&
         !effects.hasEffect<MemoryEffects::Write>() &&
         !effects.hasEffect<MemoryEffects::Free>();
}

/// Where launches merge: before the last of them, at their fused location.
struct Site {
  OpBuilder builder;
  Location loc;
  explicit Site(MutableArrayRef<Part> parts)
      : builder(parts.back().launch),
        loc(builder.getFusedLoc(llvm::map_to_vector(
            parts, [](Part &part) { return part.launch.getLoc(); }))) {}
  Value index(OpBuilder &b, int64_t v) const {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
};

/// One launch in place of `parts` (in order), at the last one.
void merge(MutableArrayRef<Part> parts) {
  Site site(parts);
  OpBuilder &b = site.builder;
  Location loc = site.loc;
  gpu::LaunchOp last = parts.back().launch;
  auto index = [&](OpBuilder &builder, int64_t v) {
    return site.index(builder, v);
  };
  int64_t total = 0;
  for (const Part &part : parts)
    total += part.blocks;
  Value one = index(b, 1);
  auto launch = gpu::LaunchOp::create(
      b, loc, index(b, total), one, one, last.getBlockSizeX(),
      last.getBlockSizeY(), last.getBlockSizeZ());
  Block &body = launch.getBody().front();
  OpBuilder inner = OpBuilder::atBlockBegin(&body);
  Value block = launch.getBlockIds().x;
  int64_t start = 0;
  for (Part &part : parts) {
    // Blocks [start, start + blocks) run this part.
    Value mine;
    if (start != 0)
      mine = arith::CmpIOp::create(inner, loc, arith::CmpIPredicate::uge, block,
                                   index(inner, start));
    if (&part != &parts.back()) {
      Value below =
          arith::CmpIOp::create(inner, loc, arith::CmpIPredicate::ult, block,
                                index(inner, start + part.blocks));
      mine = mine ? arith::AndIOp::create(inner, loc, mine, below) : below;
    }
    auto guard = scf::IfOp::create(inner, loc, mine, /*withElse=*/false);
    OpBuilder then = guard.getThenBodyBuilder();
    gpu::LaunchOp old = part.launch;
    IRMapping mapping;
    mapping.map(
        old.getBlockIds().x,
        start == 0 ? block
                   : arith::SubIOp::create(then, loc, block, index(then, start))
                         .getResult());
    mapping.map(old.getBlockIds().y, launch.getBlockIds().y);
    mapping.map(old.getBlockIds().z, launch.getBlockIds().z);
    mapping.map(old.getGridSize().x, index(then, part.blocks));
    mapping.map(old.getGridSize().y, launch.getGridSize().y);
    mapping.map(old.getGridSize().z, launch.getGridSize().z);
    for (auto [from, to] :
         {std::pair{old.getThreadIds(), launch.getThreadIds()},
          std::pair{old.getBlockSize(), launch.getBlockSize()}}) {
      mapping.map(from.x, to.x);
      mapping.map(from.y, to.y);
      mapping.map(from.z, to.z);
    }
    for (Operation &op : old.getBody().front().without_terminator())
      then.clone(op, mapping);
    start += part.blocks;
  }
  gpu::TerminatorOp::create(inner, loc);
  for (Part &part : parts)
    part.launch.erase();
}

/// Whether `part` can join a chain of `limit` threads: a 1-D block, at most
/// `limit` threads in all, and no gpu or nvvm op in its body (but its
/// terminator) that the threads of a block must reach together or that
/// reads the launch's ids other than through its arguments.
bool chainable(const Part &part, int64_t limit) {
  if (part.block[1] != 1 || part.block[2] != 1 || part.threads() > limit)
    return false;
  gpu::LaunchOp launch = part.launch;
  WalkResult walk = launch.getBody().walk([&](Operation *op) {
    Dialect *dialect = op->getDialect();
    StringRef name = dialect ? dialect->getNamespace() : "";
    if ((name == "gpu" && !isa<gpu::TerminatorOp>(op)) || name == "nvvm")
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return !walk.wasInterrupted();
}

/// One launch of one block in place of `parts` (in order), at the last one:
/// its threads are the most any part has; thread t runs thread t % threads
/// of block t / threads of each part with more than t threads, and a
/// barrier separates the parts.
void chain(MutableArrayRef<Part> parts) {
  Site site(parts);
  OpBuilder &b = site.builder;
  Location loc = site.loc;
  auto index = [&](OpBuilder &builder, int64_t v) {
    return site.index(builder, v);
  };
  int64_t threads = 0;
  for (const Part &part : parts)
    threads = std::max(threads, part.threads());
  Value one = index(b, 1);
  auto launch = gpu::LaunchOp::create(
      b, loc, one, one, one, threads == 1 ? one : index(b, threads), one, one);
  Block &body = launch.getBody().front();
  OpBuilder inner = OpBuilder::atBlockEnd(&body);
  Value tid = launch.getThreadIds().x;
  for (Part &part : parts) {
    int64_t size = part.threads();
    OpBuilder then = OpBuilder::atBlockEnd(&body);
    if (size < threads) {
      Value mine = arith::CmpIOp::create(inner, loc, arith::CmpIPredicate::ult,
                                         tid, index(inner, size));
      then = scf::IfOp::create(inner, loc, mine, /*withElse=*/false)
                 .getThenBodyBuilder();
    }
    gpu::LaunchOp old = part.launch;
    Value width = index(then, part.block[0]);
    Value blockX =
        part.blocks == 1
            ? index(then, 0)
            : arith::DivUIOp::create(then, loc, tid, width).getResult();
    Value threadX =
        part.blocks == 1
            ? tid
            : arith::RemUIOp::create(then, loc, tid, width).getResult();
    IRMapping mapping;
    mapping.map(old.getBlockIds().x, blockX);
    mapping.map(old.getThreadIds().x, threadX);
    mapping.map(old.getGridSize().x, index(then, part.blocks));
    mapping.map(old.getBlockSize().x, width);
    for (auto [from, to] :
         {std::pair{old.getBlockIds(), launch.getBlockIds()},
          std::pair{old.getThreadIds(), launch.getThreadIds()},
          std::pair{old.getGridSize(), launch.getGridSize()},
          std::pair{old.getBlockSize(), launch.getBlockSize()}}) {
      mapping.map(from.y, to.y);
      mapping.map(from.z, to.z);
    }
    for (Operation &op : old.getBody().front().without_terminator())
      then.clone(op, mapping);
    if (&part != &parts.back())
      gpu::BarrierOp::create(inner, loc);
  }
  gpu::TerminatorOp::create(inner, loc);
  for (Part &part : parts)
    part.launch.erase();
}

/// What a launch does to the run being collected: joins it, ends it and
/// starts the next, or is in no run (and ends it).
enum class Admit { Join, Start, None };

/// The runs of two or more launches of `block` that `admit` (given the run
/// so far and a launch it can merge) forms, with only ops a launch may be
/// moved down past between them.
template <typename F>
SmallVector<SmallVector<Part>> runsOf(Block &block, F admit) {
  SmallVector<SmallVector<Part>> runs;
  SmallVector<Part> run;
  auto close = [&] {
    if (run.size() > 1)
      runs.push_back(std::move(run));
    run.clear();
  };
  for (Operation &op : block) {
    auto launch = dyn_cast<gpu::LaunchOp>(op);
    Part part;
    Admit how = launch && describe(launch, part)
                    ? admit(ArrayRef<Part>(run), part)
                    : Admit::None;
    if (how == Admit::None) {
      if (!movableAcross(op)) // a launch never is
        close();
      continue;
    }
    if (how == Admit::Start)
      close();
    run.push_back(std::move(part));
  }
  close();
  return runs;
}

struct GPUFuseLaunchesPass
    : llmc::impl::LLMGPUFuseLaunchesBase<GPUFuseLaunchesPass> {
  using LLMGPUFuseLaunchesBase::LLMGPUFuseLaunchesBase;

  void runOnOperation() override {
    SmallVector<Block *> blocks;
    getOperation()->walk([&](Block *block) {
      Operation *parent = block->getParentOp();
      if (!isa<gpu::LaunchOp, gpu::GPUModuleOp>(parent) &&
          !parent->getParentOfType<gpu::LaunchOp>() &&
          !parent->getParentOfType<gpu::GPUModuleOp>())
        blocks.push_back(block);
    });
    for (Block *block : blocks) {
      fuseIn(*block);
      if (chainThreads > 0)
        chainIn(*block);
    }
  }

  void chainIn(Block &block) {
    for (SmallVector<Part> &parts :
         runsOf(block, [&](ArrayRef<Part>, const Part &part) {
           return chainable(part, chainThreads) ? Admit::Join : Admit::None;
         }))
      chain(parts);
  }

  void fuseIn(Block &block) {
    for (SmallVector<Part> &parts :
         runsOf(block, [&](ArrayRef<Part> group, const Part &part) {
           bool joins = !group.empty() && group.front().block == part.block &&
                        llvm::all_of(group, [&](const Part &member) {
                          return independent(member, part);
                        });
           return joins ? Admit::Join : Admit::Start;
         }))
      merge(parts);
  }
};

} // namespace
