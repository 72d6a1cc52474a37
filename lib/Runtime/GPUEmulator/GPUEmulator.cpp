//===- GPUEmulator.cpp - run a ptx launch plan on the CPU -----------------===//
//
// A block is executed op by op for all of its threads at once. Each SSA
// value that is not a memref has `width` 64-bit words per thread (one per
// vector element or struct field), stored word-major: word e of thread t is
// regs[(offset + e) * threads + t]. Integers are kept zero-extended to their
// width, floats as their bit patterns (f32 in the low 32 bits, bf16 and f16
// in the low 16). Memref values are uniform over the block: a kernel
// argument (a plan buffer), a workgroup attribution, the launch's dynamic
// shared memory (gpu.dynamic_shared_memory) or a memref.view of one.
//
//===----------------------------------------------------------------------===//
#include "llmc/Runtime/GPUEmulator.h"
#include "llmc/Support/Float8.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/FormatVariadic.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <optional>

using namespace mlir;
using namespace llmc;

namespace {

using Word = uint64_t;

//===----------------------------------------------------------------------===//
// Scalars
//===----------------------------------------------------------------------===//

unsigned intWidth(Type type) {
  if (type.isIndex())
    return 64;
  return cast<IntegerType>(type).getWidth();
}
Word canon(unsigned width, uint64_t value) {
  return width >= 64 ? value : value & ((uint64_t(1) << width) - 1);
}
int64_t sext(unsigned width, Word value) {
  if (width >= 64)
    return static_cast<int64_t>(value);
  uint64_t sign = uint64_t(1) << (width - 1);
  return static_cast<int64_t>((value ^ sign) - sign);
}

float bitsToF32(Word w) {
  return llvm::bit_cast<float>(static_cast<uint32_t>(w));
}
Word f32ToBits(float f) { return llvm::bit_cast<uint32_t>(f); }
float bf16ToF32(uint16_t h) { return bitsToF32(uint32_t(h) << 16); }
uint16_t f32ToBF16(float f) { return roundToBF16(f); }
float f16ToF32(uint16_t h) {
  _Float16 v;
  std::memcpy(&v, &h, 2);
  return static_cast<float>(v);
}
uint16_t f32ToF16(float f) {
  _Float16 v = static_cast<_Float16>(f);
  uint16_t h;
  std::memcpy(&h, &v, 2);
  return h;
}

/// A float element as double, and back with the element type's rounding
/// (f32 arithmetic done in double and rounded once equals the f32 result
/// for +, -, *, / and sqrt).
double toDouble(Type type, Word w) {
  if (type.isF32())
    return bitsToF32(w);
  if (type.isBF16())
    return bf16ToF32(static_cast<uint16_t>(w));
  if (type.isF16())
    return f16ToF32(static_cast<uint16_t>(w));
  double d;
  std::memcpy(&d, &w, 8);
  return d;
}
Word fromDouble(Type type, double v) {
  if (type.isF32())
    return f32ToBits(static_cast<float>(v));
  if (type.isBF16())
    return f32ToBF16(static_cast<float>(v));
  if (type.isF16())
    return f32ToF16(static_cast<float>(v));
  Word w;
  std::memcpy(&w, &v, 8);
  return w;
}

Type elementOf(Type type) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    return shaped.getElementType();
  return type;
}

bool supportedScalar(Type type) {
  return type.isIntOrIndex() || type.isF32() || type.isBF16() ||
         type.isF16() || type.isF64();
}

/// Words per thread of a value of `type`, or 0 if not supported.
unsigned widthOf(Type type) {
  if (supportedScalar(type))
    return 1;
  if (auto vector = dyn_cast<VectorType>(type))
    return supportedScalar(vector.getElementType()) &&
                   !vector.isScalable()
               ? vector.getNumElements()
               : 0;
  // A pointer is its address (ldmatrix's shared-window addresses).
  if (isa<LLVM::LLVMPointerType>(type))
    return 1;
  if (auto st = dyn_cast<LLVM::LLVMStructType>(type)) {
    for (Type field : st.getBody())
      if (!supportedScalar(field))
        return 0;
    return st.getBody().size();
  }
  return 0;
}

/// Bytes of one element in memory (i1 takes a byte, as in LLVM).
int64_t storageBytes(Type type) {
  if (type.isIndex())
    return 8;
  return std::max<int64_t>(1, (type.getIntOrFloatBitWidth() + 7) / 8);
}
unsigned bitWidthOf(Type type) {
  return type.isIndex() ? 64 : type.getIntOrFloatBitWidth();
}

//===----------------------------------------------------------------------===//
// Kernels and counters
//===----------------------------------------------------------------------===//

/// Global memory is counted twice: the bytes each thread asks for, and the
/// 32-byte sectors each warp's access touches (a sector is what the memory
/// system moves: 32 lanes reading one float read one sector, not 128 bytes;
/// 32 lanes reading 32 consecutive floats read four).
struct Counters {
  int64_t launches = 0, blocks = 0, threadOps = 0, mma = 0, wgmma = 0;
  int64_t globalRead = 0, globalWritten = 0, sharedRead = 0,
          sharedWritten = 0, barriers = 0;
  int64_t sectorsRead = 0, sectorsWritten = 0;
  void add(const Counters &o) {
    launches += o.launches;
    blocks += o.blocks;
    threadOps += o.threadOps;
    mma += o.mma;
    wgmma += o.wgmma;
    globalRead += o.globalRead;
    globalWritten += o.globalWritten;
    sectorsRead += o.sectorsRead;
    sectorsWritten += o.sectorsWritten;
    sharedRead += o.sharedRead;
    sharedWritten += o.sharedWritten;
    barriers += o.barriers;
  }
  llvm::json::Object toJSON() const {
    return llvm::json::Object{
        {"launches", launches},
        {"blocks", blocks},
        {"thread_ops", threadOps},
        {"mma_sync", mma},
        {"wgmma", wgmma},
        {"global_bytes_read", globalRead},
        {"global_bytes_written", globalWritten},
        {"global_sector_bytes_read", 32 * sectorsRead},
        {"global_sector_bytes_written", 32 * sectorsWritten},
        {"shared_bytes_read", sharedRead},
        {"shared_bytes_written", sharedWritten},
        {"barriers", barriers}};
  }
};

/// The distinct 32-byte sectors that the threads of each warp touch in one
/// access (an op's loads or stores, all its active threads).
class SectorTally {
public:
  /// Thread t touches `bytes` bytes from global address `address`.
  void add(unsigned t, int64_t address, int64_t bytes) {
    for (int64_t s = address >> 5; s <= (address + bytes - 1) >> 5; ++s)
      touched.push_back({t / 32, s});
  }
  int64_t count() {
    llvm::sort(touched);
    return std::unique(touched.begin(), touched.end()) - touched.begin();
  }

private:
  std::vector<std::pair<unsigned, int64_t>> touched;
};

/// A gpu.func with a register slot for every value in it.
struct Kernel {
  /// Op handles are only queried (their accessors are not const).
  mutable gpu::GPUFuncOp func;
  llvm::DenseMap<Value, unsigned> offset;
  llvm::DenseMap<Value, unsigned> memrefSlot;
  unsigned words = 0, memrefs = 0;
};

llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string describe(Operation *op) {
  std::string text = op->getName().getStringRef().str();
  if (auto loc = dyn_cast<FileLineColLoc>(op->getLoc()))
    text += llvm::formatv(" at {0}:{1}", loc.getFilename(), loc.getLine());
  return text;
}

llvm::Expected<Kernel> prepare(gpu::GPUFuncOp func) {
  Kernel kernel;
  kernel.func = func;
  std::string failure;
  auto assign = [&](Value value, Operation *owner) {
    if (isa<MemRefType>(value.getType())) {
      kernel.memrefSlot[value] = kernel.memrefs++;
      return;
    }
    unsigned width = widthOf(value.getType());
    if (width == 0 && failure.empty()) {
      std::string type;
      llvm::raw_string_ostream os(type);
      value.getType().print(os);
      failure = "kernel " + func.getName().str() + ": values of type " + type +
                " (" + (owner ? describe(owner) : "an argument") +
                ") are not emulated";
    }
    kernel.offset[value] = kernel.words;
    kernel.words += std::max(width, 1u);
  };
  // Arguments, then workgroup attributions.
  for (BlockArgument arg : func.getBody().front().getArguments())
    assign(arg, nullptr);
  if (!func.getPrivateAttributions().empty())
    return error("kernel " + func.getName() +
                 ": private attributions are not emulated");
  func.walk([&](Operation *op) {
    for (Region &region : op->getRegions())
      for (Block &block : region)
        if (op != func.getOperation())
          for (BlockArgument arg : block.getArguments())
            assign(arg, op);
    for (Value result : op->getResults())
      assign(result, op);
  });
  if (func.getBody().getBlocks().size() != 1)
    return error("kernel " + func.getName() +
                 ": unstructured control flow (more than one block) is not "
                 "emulated");
  if (!failure.empty())
    return error(failure);
  return kernel;
}

//===----------------------------------------------------------------------===//
// One block of threads
//===----------------------------------------------------------------------===//

struct Memory {
  uint8_t *base = nullptr;
  int64_t bytes = 0;
  /// Index into the block's shared-memory trackers, or -1 for global.
  int shared = -1;
  /// Alignment of `base` on a GPU: cuMemAlloc gives 256 bytes; a workgroup
  /// attribution its llvm.align, else its element size.
  int64_t align = 256;
  /// A workgroup attribution's address in the block's shared window (what
  /// a wgmma matrix descriptor holds).
  int64_t sharedAddress = 0;
  /// A global buffer's address (what extract_aligned_pointer_as_index
  /// gives, for cp.async): buffers are 2^40 bytes apart.
  int64_t globalAddress = 0;
  /// A memref.view of shared memory: where its bytes start in the region
  /// `shared` (its attribution or the dynamic shared memory), whose
  /// trackers index them. Views are skipped when an address is looked up:
  /// the region answers.
  int64_t regionOffset = 0;
  bool view = false;
  /// Defined by an op of the kernel (gpu.dynamic_shared_memory, a view):
  /// unbound again before each block.
  bool defined = false;
  std::string name;
};

/// Shared memory a block may use on an sm_90 GPU (static and dynamic; the
/// opt-in limit, CUDA C++ Programming Guide: 227 KB).
constexpr int64_t kSharedPerBlockLimit = 232448;

/// A cp.async in flight: `size` bytes (read from global memory when it was
/// issued, zero-filled past its source size) that land at `offset` of the
/// workgroup attribution `mem` when a cp.async.wait_group completes its
/// group.
struct AsyncCopy {
  Memory *mem;
  int64_t offset;
  unsigned size;
  std::array<uint8_t, 16> data;
};

/// Shared bytes [begin, end) of attribution `shared` that a wgmma reads.
struct SharedRange {
  int shared;
  int64_t begin, end;
};

/// Who touched each shared byte since the last barrier.
struct RaceTracker {
  std::vector<int32_t> writer, reader;
  std::vector<uint32_t> writeEpoch, readEpoch;
  explicit RaceTracker(size_t bytes)
      : writer(bytes, -1), reader(bytes, -1), writeEpoch(bytes, 0),
        readEpoch(bytes, 0) {}
};

class BlockRun {
public:
  BlockRun(const Kernel &kernel, Counters &counters, unsigned threads,
           std::array<uint32_t, 3> blockDim, std::array<uint32_t, 3> gridDim,
           int64_t dynamicBytes)
      : kernel(kernel), counters(counters), T(threads), blockDim(blockDim),
        gridDim(gridDim), dynamicBytes(dynamicBytes),
        regs(size_t(kernel.words) * threads), memrefs(kernel.memrefs),
        fullMask(threads, 1) {}

  /// Binds argument `i` to a global buffer or a scalar word.
  void bindBuffer(unsigned i, uint8_t *base, int64_t bytes,
                  const std::string &name) {
    Value arg = kernel.func.getArgument(i);
    Memory &mem = memrefs[kernel.memrefSlot.lookup(arg)];
    mem.base = base;
    mem.bytes = bytes;
    mem.name = name;
    mem.globalAddress = int64_t(kernel.memrefSlot.lookup(arg) + 1) << 40;
  }
  void bindScalar(unsigned i, Word value) {
    Word *r = ptr(kernel.func.getArgument(i));
    for (unsigned t = 0; t < T; ++t)
      r[t] = value;
  }

  llvm::Error run(std::array<uint32_t, 3> blockId) {
    this->blockId = blockId;
    // Workgroup memory: fresh per block, NaN bytes until written.
    shared.clear();
    trackers.clear();
    unfenced.clear();
    asyncPending.clear();
    asyncOpen.assign(T, {});
    asyncGroups.assign(T, {});
    wgmmaGroups.clear();
    wgmmaOpen.clear();
    wgmmaResults.clear();
    wgmmaCommitted = wgmmaRetired = 0;
    epoch = 1;
    for (Memory &mem : memrefs)
      if (mem.defined)
        mem = Memory();
    auto addRegion = [&](int64_t bytes) {
      shared.emplace_back(bytes, 0xff);
      trackers.emplace_back(bytes);
      unfenced.emplace_back(bytes, 0);
      asyncPending.emplace_back(bytes, 0);
    };
    for (BlockArgument arg : kernel.func.getWorkgroupAttributions()) {
      auto type = cast<MemRefType>(arg.getType());
      addRegion(type.getNumElements() * storageBytes(type.getElementType()));
    }
    int64_t window = 0;
    for (auto [i, arg] :
         llvm::enumerate(kernel.func.getWorkgroupAttributions())) {
      Memory &mem = memrefs[kernel.memrefSlot.lookup(arg)];
      mem.base = shared[i].data();
      mem.bytes = shared[i].size();
      mem.shared = i;
      mem.name = "workgroup attribution " + std::to_string(i);
      // Laid out one after the other from 0, 1024-byte aligned.
      mem.sharedAddress = window;
      window += (mem.bytes + 1023) / 1024 * 1024;
      auto type = cast<MemRefType>(arg.getType());
      mem.align = storageBytes(type.getElementType());
      if (auto align = kernel.func.getWorkgroupAttributionAttr(
              i, LLVM::LLVMDialect::getAlignAttrName()))
        if (auto value = dyn_cast<IntegerAttr>(align))
          mem.align = value.getInt();
    }
    // The launch's dynamic shared memory, after the static (16-byte
    // aligned, as the NVVM lowering declares it).
    if (window + dynamicBytes > kSharedPerBlockLimit)
      return error("launch of " + kernel.func.getName() + " needs " +
                   llvm::Twine(window + dynamicBytes) +
                   " bytes of shared memory per block (" +
                   llvm::Twine(dynamicBytes) +
                   " dynamic); an sm_90 block may have " +
                   llvm::Twine(kSharedPerBlockLimit));
    // (At least one byte, so that the memory is bound even when the launch
    // passes none: a view of it then fails on its size.)
    addRegion(std::max<int64_t>(dynamicBytes, 1));
    dynamicMemory = Memory();
    dynamicMemory.base = shared.back().data();
    dynamicMemory.bytes = dynamicBytes;
    dynamicMemory.shared = static_cast<int>(shared.size() - 1);
    dynamicMemory.align = 16;
    dynamicMemory.sharedAddress = window;
    dynamicMemory.defined = true;
    dynamicMemory.name = "dynamic shared memory";
    mask = &fullMask;
    returned = false;
    if (!runBlock(kernel.func.getBody().front()))
      return error(failure);
    ++counters.blocks;
    return llvm::Error::success();
  }

private:
  const Kernel &kernel;
  Counters &counters;
  unsigned T;
  std::array<uint32_t, 3> blockDim, gridDim, blockId{0, 0, 0};
  /// The launch's dynamic shared memory: its size and (bound per block)
  /// what gpu.dynamic_shared_memory gives.
  int64_t dynamicBytes;
  Memory dynamicMemory;
  std::vector<Word> regs;
  std::vector<Memory> memrefs;
  std::vector<std::vector<uint8_t>> shared;
  std::vector<RaceTracker> trackers;
  /// Shared bytes written by threads (the generic proxy) since the last
  /// fence.proxy.async, per attribution: a wgmma must not read them.
  std::vector<std::vector<uint8_t>> unfenced;
  /// What committed wgmma groups (oldest first) and the open one read.
  std::vector<std::vector<SharedRange>> wgmmaGroups;
  std::vector<SharedRange> wgmmaOpen;
  /// Each wgmma result (and what it was copied into) with its group: the
  /// groups committed so far, and how many of them a wait retired.
  llvm::DenseMap<Value, uint64_t> wgmmaResults;
  uint64_t wgmmaCommitted = 0, wgmmaRetired = 0;
  /// Per attribution byte, whether a cp.async in flight writes it; per
  /// thread, its uncommitted copies and its committed groups (oldest
  /// first).
  std::vector<std::vector<uint8_t>> asyncPending;
  std::vector<std::vector<AsyncCopy>> asyncOpen;
  std::vector<std::deque<std::vector<AsyncCopy>>> asyncGroups;
  uint32_t epoch = 1;
  std::vector<uint8_t> fullMask;
  const std::vector<uint8_t> *mask = nullptr;
  std::string failure;
  bool returned = false;

  Word *ptr(Value v) {
    return regs.data() + size_t(kernel.offset.lookup(v)) * T;
  }
  Memory *memory(Value v) {
    auto it = kernel.memrefSlot.find(v);
    if (it == kernel.memrefSlot.end())
      return nullptr;
    Memory &mem = memrefs[it->second];
    return mem.base ? &mem : nullptr;
  }
  bool fail(Operation *op, const llvm::Twine &message) {
    if (failure.empty())
      failure = ("kernel " + kernel.func.getName() + ", block (" +
                 llvm::Twine(blockId[0]) + "," + llvm::Twine(blockId[1]) +
                 "," + llvm::Twine(blockId[2]) + "), " + describe(op) + ": " +
                 message)
                    .str();
    return false;
  }
  template <typename F> void forActive(F f) {
    const std::vector<uint8_t> &m = *mask;
    for (unsigned t = 0; t < T; ++t)
      if (m[t])
        f(t);
  }
  unsigned activeCount() const {
    unsigned n = 0;
    for (uint8_t b : *mask)
      n += b;
    return n;
  }
  /// Copies `from` into `to` for the active threads (through a temporary:
  /// yields may permute block arguments); `to` holds in-flight wgmma
  /// accumulators if `from` does.
  void copyValues(ValueRange from, ValueRange to) {
    if (!wgmmaResults.empty()) {
      std::vector<std::optional<uint64_t>> groups;
      for (Value source : from) {
        auto it = wgmmaResults.find(source);
        groups.push_back(it == wgmmaResults.end()
                             ? std::nullopt
                             : std::optional<uint64_t>(it->second));
      }
      for (auto [target, group] : llvm::zip(to, groups)) {
        if (group)
          wgmmaResults[target] = *group;
        else
          wgmmaResults.erase(target);
      }
    }
    std::vector<std::vector<Word>> temp;
    for (Value v : from) {
      unsigned w = widthOf(v.getType());
      Word *src = ptr(v);
      temp.emplace_back(src, src + size_t(w) * T);
    }
    for (auto [i, v] : llvm::enumerate(to)) {
      unsigned w = widthOf(v.getType());
      Word *dst = ptr(v);
      const Word *src = temp[i].data();
      forActive([&](unsigned t) {
        for (unsigned e = 0; e < w; ++e)
          dst[size_t(e) * T + t] = src[size_t(e) * T + t];
      });
    }
  }

  bool runBlock(Block &block) {
    for (Operation &op : block) {
      if (!exec(&op))
        return false;
      if (returned)
        return true;
    }
    return true;
  }

  //===--------------------------------------------------------------------===//
  // Memory
  //===--------------------------------------------------------------------===//

  /// Byte offset of `count` contiguous elements at `indices` (thread t), or
  /// false with a diagnostic when out of bounds.
  struct Layout {
    MemRefType type;
    SmallVector<int64_t> strides;
    int64_t offset = 0, elementBytes = 0;
  };
  bool layoutOf(Operation *op, Value memref, Layout &layout) {
    layout.type = cast<MemRefType>(memref.getType());
    if (!layout.type.hasStaticShape() ||
        failed(layout.type.getStridesAndOffset(layout.strides,
                                               layout.offset)) ||
        ShapedType::isDynamic(layout.offset) ||
        llvm::any_of(layout.strides, ShapedType::isDynamic))
      return fail(op, "a memref without a static shape and layout");
    layout.elementBytes = storageBytes(layout.type.getElementType());
    return true;
  }
  bool address(Operation *op, const Memory &mem, const Layout &layout,
               ValueRange indices, unsigned t, int64_t count,
               int64_t &byteOffset) {
    ArrayRef<int64_t> shape = layout.type.getShape();
    int64_t linear = layout.offset;
    for (auto [d, index] : llvm::enumerate(indices)) {
      int64_t i = static_cast<int64_t>(ptr(index)[t]);
      int64_t extent = d + 1 == shape.size() ? count : 1;
      if (i < 0 || i + extent > shape[d])
        return fail(op, "thread " + llvm::Twine(t) + " accesses index " +
                            llvm::Twine(i) + " of dimension " +
                            llvm::Twine(d) + " (size " +
                            llvm::Twine(shape[d]) + ") of " + mem.name);
      linear += i * layout.strides[d];
    }
    byteOffset = linear * layout.elementBytes;
    if (byteOffset < 0 ||
        byteOffset + count * layout.elementBytes > mem.bytes)
      return fail(op, "thread " + llvm::Twine(t) + " accesses bytes [" +
                          llvm::Twine(byteOffset) + ", " +
                          llvm::Twine(byteOffset +
                                      count * layout.elementBytes) +
                          ") of " + mem.name + " (" + llvm::Twine(mem.bytes) +
                          " bytes)");
    return true;
  }
  bool track(Operation *op, const Memory &mem, int64_t byteOffset,
             int64_t bytes, unsigned t, bool write) {
    if (mem.shared < 0)
      return true;
    RaceTracker &tr = trackers[mem.shared];
    int32_t self = static_cast<int32_t>(t);
    // Bytes are counted in `mem` in messages, indexed in its region.
    for (int64_t at = byteOffset; at < byteOffset + bytes; ++at) {
      int64_t b = at + mem.regionOffset;
      if (asyncPending[mem.shared][b])
        return fail(op, "thread " + llvm::Twine(t) +
                            (write ? " writes" : " reads") + " byte " +
                            llvm::Twine(at) + " of " + mem.name +
                            " that a cp.async in flight writes (no "
                            "cp.async.wait_group completed it)");
      bool writtenNow = tr.writeEpoch[b] == epoch && tr.writer[b] != self;
      bool readNow = tr.readEpoch[b] == epoch && tr.reader[b] != self;
      if (writtenNow || (write && readNow))
        return fail(op,
                    "shared-memory race on byte " + llvm::Twine(at) + " of " +
                        mem.name + ": thread " + llvm::Twine(t) +
                        (write ? " writes" : " reads") + " it after thread " +
                        llvm::Twine(writtenNow ? tr.writer[b] : tr.reader[b]) +
                        (writtenNow ? " wrote" : " read") +
                        " it, with no barrier between");
      if (write) {
        tr.writer[b] = self;
        tr.writeEpoch[b] = epoch;
      } else {
        tr.reader[b] =
            tr.readEpoch[b] == epoch && tr.reader[b] != self ? -2 : self;
        tr.readEpoch[b] = epoch;
      }
    }
    return true;
  }
  /// A thread's store into shared memory: not into bytes an in-flight
  /// wgmma reads; the bytes need a proxy fence before a wgmma reads them.
  bool genericWrite(Operation *op, const Memory &mem, int64_t at,
                    int64_t bytes) {
    int64_t begin = at + mem.regionOffset;
    auto overlaps = [&](const SharedRange &r) {
      return r.shared == mem.shared && begin < r.end && r.begin < begin + bytes;
    };
    bool inFlight = llvm::any_of(wgmmaOpen, overlaps);
    for (const auto &group : wgmmaGroups)
      inFlight |= llvm::any_of(group, overlaps);
    if (inFlight)
      return fail(op, "writes bytes " + llvm::Twine(at) + ".." +
                          llvm::Twine(at + bytes - 1) + " of " + mem.name +
                          " that an in-flight wgmma.mma_async reads (no "
                          "wgmma.wait_group retired it)");
    std::fill_n(unfenced[mem.shared].begin() + begin, bytes, 1);
    return true;
  }
  Word loadElement(Type type, const uint8_t *p) {
    if (type.isF32()) {
      uint32_t u;
      std::memcpy(&u, p, 4);
      return u;
    }
    if (type.isBF16() || type.isF16()) {
      uint16_t u;
      std::memcpy(&u, p, 2);
      return u;
    }
    if (type.isInteger(1))
      return *p & 1;
    Word w = 0;
    std::memcpy(&w, p, storageBytes(type));
    return canon(bitWidthOf(type), w);
  }
  void storeElement(Type type, uint8_t *p, Word w) {
    if (type.isInteger(1)) {
      *p = w & 1;
      return;
    }
    std::memcpy(p, &w, storageBytes(type));
  }
  bool access(Operation *op, Value memref, ValueRange indices, Value value,
              bool write, int64_t alignment = 1) {
    Memory *mem = memory(memref);
    if (!mem)
      return fail(op, "a memref that is neither a kernel argument nor "
                      "shared memory");
    Layout layout;
    if (!layoutOf(op, memref, layout))
      return false;
    Type element = layout.type.getElementType();
    unsigned count = widthOf(value.getType());
    Word *r = ptr(value);
    bool ok = true;
    int64_t bytes = count * layout.elementBytes;
    SectorTally sectors;
    forActive([&](unsigned t) {
      int64_t at = 0;
      if (!ok || !address(op, *mem, layout, indices, t, count, at) ||
          !track(op, *mem, at, bytes, t, write)) {
        ok = false;
        return;
      }
      if (mem->shared < 0)
        sectors.add(t, mem->globalAddress + at, bytes);
      if (write && mem->shared >= 0 && !genericWrite(op, *mem, at, bytes)) {
        ok = false;
        return;
      }
      if (at % alignment != 0 || mem->align % alignment != 0) {
        ok = fail(op, "thread " + llvm::Twine(t) + " accesses byte " +
                          llvm::Twine(at) + " of " + mem->name + " (aligned to " +
                          llvm::Twine(mem->align) + ") with a " +
                          llvm::Twine(alignment) + "-byte aligned access");
        return;
      }
      for (unsigned e = 0; e < count; ++e) {
        uint8_t *p = mem->base + at + e * layout.elementBytes;
        if (write)
          storeElement(element, p, r[size_t(e) * T + t]);
        else
          r[size_t(e) * T + t] = loadElement(element, p);
      }
    });
    int64_t moved = bytes * activeCount();
    if (mem->shared >= 0) {
      (write ? counters.sharedWritten : counters.sharedRead) += moved;
    } else {
      (write ? counters.globalWritten : counters.globalRead) += moved;
      (write ? counters.sectorsWritten : counters.sectorsRead) +=
          sectors.count();
    }
    return ok;
  }

  //===--------------------------------------------------------------------===//
  // Elementwise helpers
  //===--------------------------------------------------------------------===//

  template <typename F> bool unary(Operation *op, F f) {
    Word *a = ptr(op->getOperand(0)), *r = ptr(op->getResult(0));
    unsigned w = widthOf(op->getResult(0).getType());
    forActive([&](unsigned t) {
      for (unsigned e = 0; e < w; ++e)
        r[size_t(e) * T + t] = f(a[size_t(e) * T + t]);
    });
    return true;
  }
  template <typename F> bool binary(Operation *op, F f) {
    Word *a = ptr(op->getOperand(0)), *b = ptr(op->getOperand(1));
    Word *r = ptr(op->getResult(0));
    unsigned w = widthOf(op->getResult(0).getType());
    forActive([&](unsigned t) {
      for (unsigned e = 0; e < w; ++e)
        r[size_t(e) * T + t] = f(a[size_t(e) * T + t], b[size_t(e) * T + t]);
    });
    return true;
  }
  template <typename F> bool floatUnary(Operation *op, F f) {
    Type type = elementOf(op->getResult(0).getType());
    return unary(op, [&](Word a) {
      return fromDouble(type, f(toDouble(type, a)));
    });
  }
  template <typename F> bool floatBinary(Operation *op, F f) {
    Type type = elementOf(op->getResult(0).getType());
    return binary(op, [&](Word a, Word b) {
      return fromDouble(type, f(toDouble(type, a), toDouble(type, b)));
    });
  }
  /// Integer op on sign-extended operands, result truncated to the width.
  template <typename F> bool intBinary(Operation *op, F f) {
    unsigned width = intWidth(elementOf(op->getResult(0).getType()));
    return binary(op, [&](Word a, Word b) {
      return canon(width, static_cast<uint64_t>(
                              f(sext(width, a), sext(width, b), a, b)));
    });
  }
  /// f32 math done in float, as the GPU's single-precision functions.
  template <typename F> bool math32(Operation *op, F f) {
    return floatUnary(op, [&](double x) {
      return static_cast<double>(f(static_cast<float>(x)));
    });
  }

  bool divisor(Operation *op) {
    Word *b = ptr(op->getOperand(1));
    bool zero = false;
    unsigned w = widthOf(op->getResult(0).getType());
    forActive([&](unsigned t) {
      for (unsigned e = 0; e < w; ++e)
        zero |= b[size_t(e) * T + t] == 0;
    });
    return zero ? fail(op, "integer division by zero") : true;
  }

  bool constant(arith::ConstantOp op) {
    Type type = op.getType();
    Word *r = ptr(op.getResult());
    std::vector<Word> words;
    auto word = [&](Attribute attr) -> std::optional<Word> {
      if (auto i = dyn_cast<IntegerAttr>(attr))
        return canon(intWidth(i.getType()), i.getValue().getZExtValue());
      if (auto f = dyn_cast<FloatAttr>(attr))
        return fromDouble(f.getType(), f.getValueAsDouble());
      return std::nullopt;
    };
    if (auto dense = dyn_cast<DenseElementsAttr>(op.getValue())) {
      for (Attribute element : dense.getValues<Attribute>()) {
        auto w = word(element);
        if (!w)
          return fail(op, "an unsupported constant");
        words.push_back(*w);
      }
    } else if (auto w = word(op.getValue())) {
      words.push_back(*w);
    } else {
      return fail(op, "an unsupported constant");
    }
    if (words.size() != widthOf(type))
      return fail(op, "an unsupported constant");
    forActive([&](unsigned t) {
      for (size_t e = 0; e < words.size(); ++e)
        r[e * T + t] = words[e];
    });
    return true;
  }

  //===--------------------------------------------------------------------===//
  // Control flow and synchronization
  //===--------------------------------------------------------------------===//

  /// Runs `body` for iv = lb, lb + step, ... < ub in each active thread;
  /// bounds may differ per thread, and a thread past its bound sits out
  /// the remaining trips.
  template <typename Body>
  bool loop(Operation *op, Value ivValue, Value lbValue, Value ubValue,
            Value stepValue, Body body) {
    unsigned width = intWidth(ivValue.getType());
    Word *lb = ptr(lbValue), *ub = ptr(ubValue), *step = ptr(stepValue);
    Word *iv = ptr(ivValue);
    bool badStep = false;
    forActive([&](unsigned t) {
      iv[t] = lb[t];
      badStep |= sext(width, step[t]) <= 0;
    });
    if (badStep)
      return fail(op, "a loop step that is not positive");
    const std::vector<uint8_t> *outer = mask;
    std::vector<uint8_t> inner(T, 0);
    while (true) {
      bool any = false;
      for (unsigned t = 0; t < T; ++t) {
        inner[t] = (*outer)[t] && sext(width, iv[t]) < sext(width, ub[t]);
        any |= inner[t];
      }
      if (!any)
        break;
      mask = &inner;
      if (!body())
        return false;
      for (unsigned t = 0; t < T; ++t)
        if (inner[t])
          iv[t] = canon(width, iv[t] + step[t]);
      mask = outer;
    }
    mask = outer;
    return true;
  }

  bool forOp(scf::ForOp op) {
    Block &body = *op.getBody();
    copyValues(op.getInitArgs(), body.getArguments().drop_front());
    if (!loop(op, op.getInductionVar(), op.getLowerBound(), op.getUpperBound(),
              op.getStep(), [&] { return runBlock(body); }))
      return false;
    copyValues(body.getArguments().drop_front(), op.getResults());
    return true;
  }

  /// scf.parallel inside a kernel runs sequentially in each thread: a loop
  /// nest over its dims (no reductions).
  bool parallelOp(scf::ParallelOp op) {
    if (op.getNumResults() != 0)
      return fail(op, "scf.parallel with reductions is not emulated");
    return parallelDim(op, 0);
  }
  bool parallelDim(scf::ParallelOp op, unsigned dim) {
    Block &body = *op.getBody();
    if (dim == op.getNumLoops())
      return runBlock(body);
    return loop(op, body.getArgument(dim), op.getLowerBound()[dim],
                op.getUpperBound()[dim], op.getStep()[dim],
                [&] { return parallelDim(op, dim + 1); });
  }

  bool ifOp(scf::IfOp op) {
    Word *cond = ptr(op.getCondition());
    const std::vector<uint8_t> *outer = mask;
    for (int branch = 0; branch < 2; ++branch) {
      Region &region = branch == 0 ? op.getThenRegion() : op.getElseRegion();
      if (region.empty())
        continue;
      std::vector<uint8_t> inner(T, 0);
      bool any = false;
      for (unsigned t = 0; t < T; ++t) {
        inner[t] = (*outer)[t] && ((cond[t] & 1) == (branch == 0 ? 1 : 0));
        any |= inner[t];
      }
      if (!any)
        continue;
      mask = &inner;
      bool ok = runBlock(region.front());
      mask = outer;
      if (!ok)
        return false;
    }
    return true;
  }

  bool yield(scf::YieldOp op) {
    Operation *parent = op->getParentOp();
    if (auto loop = dyn_cast<scf::ForOp>(parent))
      copyValues(op.getOperands(), loop.getBody()->getArguments().drop_front());
    else if (isa<scf::IfOp>(parent))
      copyValues(op.getOperands(), parent->getResults());
    else
      return fail(op, "a yield of an unsupported region");
    return true;
  }

  /// Fails unless every lane of each warp with an active lane is active.
  bool wholeWarps(Operation *op) {
    const std::vector<uint8_t> &m = *mask;
    for (unsigned w = 0; w * 32 < T; ++w) {
      unsigned active = 0, lanes = std::min(32u, T - w * 32);
      for (unsigned l = 0; l < lanes; ++l)
        active += m[w * 32 + l];
      if (active != 0 && (active != 32 || lanes != 32))
        return fail(op, "warp " + llvm::Twine(w) + " reaches it with " +
                            llvm::Twine(active) +
                            " of 32 lanes active (a warp-collective op needs "
                            "all 32)");
    }
    return true;
  }

  bool shuffle(gpu::ShuffleOp op) {
    if (!wholeWarps(op))
      return false;
    Word *value = ptr(op.getValue()), *offset = ptr(op.getOffset());
    Word *width = ptr(op.getWidth());
    Word *r = ptr(op.getShuffleResult()), *valid = ptr(op.getValid());
    gpu::ShuffleMode mode = op.getMode();
    std::vector<Word> source(value, value + T);
    forActive([&](unsigned t) {
      unsigned lane = t % 32, warp = t - lane;
      unsigned w = static_cast<unsigned>(width[t]);
      unsigned off = static_cast<unsigned>(offset[t]);
      if (w == 0 || w > 32)
        w = 32;
      unsigned base = lane - lane % w;
      int64_t src = lane;
      switch (mode) {
      case gpu::ShuffleMode::XOR:
        src = lane ^ off;
        break;
      case gpu::ShuffleMode::DOWN:
        src = int64_t(lane) + off;
        break;
      case gpu::ShuffleMode::UP:
        src = int64_t(lane) - off;
        break;
      case gpu::ShuffleMode::IDX:
        src = base + off;
        break;
      }
      bool ok = src >= base && src < base + w;
      r[t] = source[warp + (ok ? src : lane)];
      valid[t] = ok;
    });
    return true;
  }

  bool barrier(Operation *op) {
    for (unsigned t = 0; t < T; ++t)
      if (!(*mask)[t])
        return fail(op, "thread " + llvm::Twine(t) +
                            " does not reach the barrier (divergent "
                            "control flow)");
    ++epoch;
    ++counters.barriers;
    return true;
  }

  /// Two 16-bit elements of a fragment register.
  std::array<float, 2> pair(Value value, unsigned t, NVVM::MMATypes type) {
    Word *r = ptr(value);
    auto convert = [&](uint16_t h) {
      return type == NVVM::MMATypes::f16 ? f16ToF32(h) : bf16ToF32(h);
    };
    if (widthOf(value.getType()) == 2)
      return {convert(static_cast<uint16_t>(r[t])),
              convert(static_cast<uint16_t>(r[size_t(T) + t]))};
    Word w = r[t];
    return {convert(static_cast<uint16_t>(w)),
            convert(static_cast<uint16_t>(w >> 16))};
  }

  /// wgmma.mma_async m64nNk16 (bf16/f16, f32 accumulators) or m64nNk32 (s8,
  /// exact s32 accumulators; e4m3, f32 accumulators summed in k order),
  /// operands in shared memory through K-major,
  /// unswizzled matrix descriptors: per warpgroup, D = A x B (+ D). A
  /// product reads 32 bytes of k per row. Descriptor: start address >> 4 in
  /// bits 0-13, leading byte offset >> 4 in 16-29, stride byte offset >> 4
  /// in 32-45, swizzle mode in 62-63 (PTX ISA, "Matrix Descriptor Format");
  /// byte b of the 32 of row `row` is at start + (row / 8) * SBO + (b / 16)
  /// * LBO + (row % 8) * 16 + b % 16. Accumulator r of thread (warp w of the
  /// group, lane l) is D[16w + l/4 + 8((r/2)%2)][2(l%4) + r%2 + 8(r/4)].
  bool wgmma(NVVM::WgmmaMmaAsyncOp op) {
    NVVM::MMAShapeAttr shape = op.getShape();
    auto type = op.getTypeA();
    bool half = type == NVVM::WGMMATypes::bf16 || type == NVVM::WGMMATypes::f16;
    bool int8 = type == NVVM::WGMMATypes::s8;
    bool fp8 = type == NVVM::WGMMATypes::e4m3;
    if (shape.getM() != 64 || shape.getK() != (int8 || fp8 ? 32 : 16) ||
        !(half || int8 || fp8) || op.getTypeB() != type ||
        op.getTypeD() !=
            (int8 ? NVVM::WGMMATypes::s32 : NVVM::WGMMATypes::f32) ||
        op.getLayoutA() != NVVM::MMALayout::row ||
        op.getLayoutB() != NVVM::MMALayout::col ||
        op.getScaleA() != NVVM::WGMMAScaleIn::one ||
        op.getScaleB() != NVVM::WGMMAScaleIn::one)
      return fail(op, "only m64nNk16 with K-major bf16/f16 operands and f32 "
                      "accumulators, or m64nNk32 with s8 operands and s32 "
                      "accumulators or e4m3 operands and f32 accumulators, "
                      "with unit scales, is emulated");
    unsigned n = shape.getN(), k = shape.getK();
    if (widthOf(op.getInouts().getType()) != n / 2)
      return fail(op, "the accumulator struct does not hold n / 2 values");
    if (T % 128 != 0)
      return fail(op, "the block is not made of whole warpgroups");
    bool accumulate = op.getScaleD() == NVVM::WGMMAScaleOut::one;
    bool saturate = op.getSatfinite() &&
                    *op.getSatfinite() == NVVM::MMAIntOverflow::satfinite;
    Word *descA = ptr(op.getDescriptorA()), *descB = ptr(op.getDescriptorB());
    Word *c = ptr(op.getInouts()), *d = ptr(op.getResults());
    // Element e of a row's 32 bytes.
    auto element = [&](const std::vector<uint8_t> &bytes, unsigned row,
                       unsigned e) -> double {
      if (int8)
        return static_cast<int8_t>(bytes[row * 32 + e]);
      if (fp8)
        return llmc::fromE4M3(bytes[row * 32 + e]);
      uint16_t h;
      std::memcpy(&h, &bytes[row * 32 + 2 * e], 2);
      return type == NVVM::WGMMATypes::f16 ? f16ToF32(h) : bf16ToF32(h);
    };
    for (unsigned group = 0; group < T / 128; ++group) {
      unsigned first = group * 128;
      unsigned active = 0;
      for (unsigned t = first; t < first + 128; ++t)
        active += (*mask)[t];
      if (active == 0)
        continue;
      if (active != 128)
        return fail(op, "wgmma.mma_async reached by part of warpgroup " +
                            llvm::Twine(group));
      for (unsigned t = first; t < first + 128; ++t)
        if (descA[t] != descA[first] || descB[t] != descB[first])
          return fail(op, "the threads of warpgroup " + llvm::Twine(group) +
                              " give different matrix descriptors");
      std::vector<uint8_t> a, b;
      if (!readOperand(op, descA[first], 64, a) ||
          !readOperand(op, descB[first], n, b))
        return false;
      for (unsigned t = first; t < first + 128; ++t) {
        unsigned w = (t - first) / 32, l = t % 32;
        for (unsigned r = 0; r < n / 2; ++r) {
          unsigned row = 16 * w + l / 4 + 8 * ((r / 2) % 2);
          unsigned col = 2 * (l % 4) + r % 2 + 8 * (r / 4);
          Word &out = d[size_t(r) * T + t];
          Word in = c[size_t(r) * T + t];
          if (int8) {
            int64_t sum = accumulate ? static_cast<int32_t>(
                                           static_cast<uint32_t>(in))
                                     : 0;
            for (unsigned e = 0; e < k; ++e)
              sum += static_cast<int64_t>(element(a, row, e)) *
                     static_cast<int64_t>(element(b, col, e));
            if (saturate)
              sum = std::clamp<int64_t>(sum, INT32_MIN, INT32_MAX);
            out = static_cast<uint32_t>(static_cast<uint64_t>(sum));
            continue;
          }
          float sum = accumulate ? bitsToF32(in) : 0.0f;
          // FP8 products are exact in f32, so fma sums them as mmaE4M3's
          // multiply-add does.
          for (unsigned e = 0; e < k; ++e)
            sum = std::fma(static_cast<float>(element(a, row, e)),
                           static_cast<float>(element(b, col, e)), sum);
          out = f32ToBits(sum);
        }
      }
      ++counters.wgmma;
    }
    // The accumulators belong to the open group until a wait retires it.
    wgmmaResults[op.getResults()] = wgmmaCommitted;
    return true;
  }

  /// Whether `value` holds the accumulators of a wgmma.mma_async that no
  /// wgmma.wait_group has retired yet.
  bool inFlight(Value value) const {
    auto it = wgmmaResults.find(value);
    return it != wgmmaResults.end() && it->second >= wgmmaRetired;
  }

  /// The workgroup attribution holding shared-window bytes [at, at +
  /// bytes) (`shared`), or the bound global buffer holding global bytes
  /// there, and `offset`, where they start in it; null if none does.
  Memory *memoryAt(int64_t at, int64_t bytes, int64_t &offset,
                   bool shared = true) {
    for (Memory &m : memrefs) {
      if ((m.shared >= 0) != shared || !m.base || m.view)
        continue;
      int64_t start = shared ? m.sharedAddress : m.globalAddress;
      if (at >= start && at + bytes <= start + m.bytes) {
        offset = at - start;
        return &m;
      }
    }
    return nullptr;
  }

  /// memref.view of shared memory at a block-uniform byte shift, with a
  /// static shape: a window onto the same bytes, checked against the
  /// source's size.
  bool viewOf(memref::ViewOp op) {
    Memory *source = memory(op.getSource());
    if (!source)
      return fail(op, "a view of a memref that is neither a kernel argument "
                      "nor shared memory");
    auto type = cast<MemRefType>(op.getType());
    if (!op.getSizes().empty() || !type.hasStaticShape() ||
        !type.getLayout().isIdentity())
      return fail(op, "a view without a static shape");
    Word *shift = ptr(op.getByteShift());
    std::optional<int64_t> at;
    bool uniform = true;
    forActive([&](unsigned t) {
      int64_t v = static_cast<int64_t>(shift[t]);
      uniform &= !at || *at == v;
      at = v;
    });
    if (!at)
      return true;
    if (!uniform)
      return fail(op, "a byte shift that differs between threads");
    int64_t bytes = type.getNumElements() * storageBytes(type.getElementType());
    if (*at < 0 || *at + bytes > source->bytes)
      return fail(op, "a view of bytes [" + llvm::Twine(*at) + ", " +
                          llvm::Twine(*at + bytes) + ") of " + source->name +
                          " (" + llvm::Twine(source->bytes) + " bytes)");
    Memory view = *source;
    view.base += *at;
    view.bytes = bytes;
    view.regionOffset += *at;
    view.sharedAddress += *at;
    view.globalAddress += *at;
    // Aligned to the source's alignment or the shift's lowest set bit.
    if (*at != 0)
      view.align = std::min<int64_t>(source->align, *at & -*at);
    view.view = view.defined = true;
    view.name = (llvm::Twine(source->name) + " bytes [" +
                 llvm::Twine(view.regionOffset) + ", " +
                 llvm::Twine(view.regionOffset + bytes) + ")")
                    .str();
    memrefs[kernel.memrefSlot.lookup(op.getResult())] = view;
    return true;
  }

  /// ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16: lanes 8j ..
  /// 8j + 7 of a warp give the addresses of the eight 16-byte rows of matrix
  /// j; lane l receives register j, the 16-bit elements (l / 4, 2(l % 4))
  /// and (l / 4, 2(l % 4) + 1) of it (.trans: (2(l % 4), l / 4) and
  /// (2(l % 4) + 1, l / 4)), the first in the low half (PTX ISA, "Warp-level
  /// matrix load instruction: ldmatrix").
  bool ldmatrix(NVVM::LdMatrixOp op) {
    unsigned num = op.getNum();
    if (op.getShape().getM() != 8 || op.getShape().getN() != 8 ||
        op.getEltType() != NVVM::LdStMatrixEltType::B16 ||
        !(num == 1 || num == 2 || num == 4))
      return fail(op, "only ldmatrix .m8n8 .b16 of 1, 2 or 4 matrices is "
                      "emulated");
    if (!wholeWarps(op))
      return false;
    bool transpose = op.getLayout() == NVVM::MMALayout::col;
    Word *address = ptr(op.getPtr()), *r = ptr(op.getRes());
    for (unsigned first = 0; first < T; first += 32) {
      if (!(*mask)[first])
        continue;
      uint8_t rows[4][8][16];
      for (unsigned j = 0; j < num; ++j)
        for (unsigned row = 0; row < 8; ++row) {
          unsigned t = first + 8 * j + row;
          int64_t at = static_cast<int64_t>(address[t]), offset = 0;
          if (at % 16 != 0)
            return fail(op, "lane " + llvm::Twine(t % 32) + " of warp " +
                                llvm::Twine(first / 32) +
                                " gives shared address " + llvm::Twine(at) +
                                ", not 16-byte aligned");
          Memory *mem = memoryAt(at, 16, offset);
          if (!mem)
            return fail(op, "lane " + llvm::Twine(t % 32) + " of warp " +
                                llvm::Twine(first / 32) +
                                " reads shared addresses " + llvm::Twine(at) +
                                ".." + llvm::Twine(at + 15) +
                                ", outside the block's shared memory");
          if (mem->align % 16 != 0)
            return fail(op, "reads " + mem->name + ", aligned to " +
                                llvm::Twine(mem->align) + " bytes (16 needed)");
          if (!track(op, *mem, offset, 16, t, /*write=*/false))
            return false;
          std::memcpy(rows[j][row], mem->base + offset, 16);
          counters.sharedRead += 16;
        }
      for (unsigned l = 0; l < 32; ++l)
        for (unsigned j = 0; j < num; ++j) {
          uint16_t low, high;
          if (transpose) {
            std::memcpy(&low, &rows[j][2 * (l % 4)][2 * (l / 4)], 2);
            std::memcpy(&high, &rows[j][2 * (l % 4) + 1][2 * (l / 4)], 2);
          } else {
            std::memcpy(&low, &rows[j][l / 4][4 * (l % 4)], 2);
            std::memcpy(&high, &rows[j][l / 4][4 * (l % 4) + 2], 2);
          }
          r[size_t(j) * T + first + l] = uint32_t(low) | uint32_t(high) << 16;
        }
    }
    return true;
  }

  /// cp.async.{ca,cg}.shared.global [dst], [src], size[, source size]: each
  /// thread's copy of `size` bytes (4, 8 or 16; cg only 16), both addresses
  /// aligned to it, of which the first `source size` come from global
  /// memory and the rest are zero. The bytes land when a
  /// cp.async.wait_group completes the copy's group; until then no thread
  /// may touch them (PTX ISA, "cp.async").
  bool cpAsync(NVVM::CpAsyncOp op) {
    unsigned size = op.getSize();
    if (!(size == 4 || size == 8 || size == 16) ||
        (op.getModifier() == NVVM::LoadCacheModifierKind::CG && size != 16))
      return fail(op, "a cp.async of " + llvm::Twine(size) +
                          " bytes (4, 8 or 16; .cg only 16)");
    Word *dst = ptr(op.getDst()), *src = ptr(op.getSrc());
    Word *sourceSize = op.getCpSize() ? ptr(op.getCpSize()) : nullptr;
    bool ok = true;
    SectorTally sectors;
    forActive([&](unsigned t) {
      if (!ok)
        return;
      int64_t to = static_cast<int64_t>(dst[t]);
      int64_t from = static_cast<int64_t>(src[t]);
      unsigned bytes = sourceSize ? static_cast<uint32_t>(sourceSize[t]) : size;
      if (to % size != 0 || from % size != 0) {
        ok = fail(op, "thread " + llvm::Twine(t) + " copies " +
                          llvm::Twine(size) + " bytes between addresses not " +
                          "aligned to them");
        return;
      }
      if (bytes > size) {
        ok = fail(op, "thread " + llvm::Twine(t) + " gives source size " +
                          llvm::Twine(bytes) + " for a copy of " +
                          llvm::Twine(size) + " bytes");
        return;
      }
      int64_t offset = 0;
      Memory *shared = memoryAt(to, size, offset);
      if (!shared) {
        ok = fail(op, "thread " + llvm::Twine(t) + " copies to shared " +
                          "addresses " + llvm::Twine(to) + ".." +
                          llvm::Twine(to + size - 1) +
                          ", outside the block's shared memory");
        return;
      }
      AsyncCopy copy{shared, offset, size, {}};
      if (bytes) {
        int64_t at = 0;
        Memory *global = memoryAt(from, bytes, at, /*shared=*/false);
        if (!global) {
          ok = fail(op, "thread " + llvm::Twine(t) + " copies from global " +
                            "address " + llvm::Twine(from) +
                            ", outside every buffer");
          return;
        }
        std::memcpy(copy.data.data(), global->base + at, bytes);
        counters.globalRead += bytes;
        sectors.add(t, from, bytes);
      }
      for (int64_t b = offset; b < offset + size; ++b) {
        if (asyncPending[shared->shared][b]) {
          ok = fail(op, "thread " + llvm::Twine(t) + " copies to byte " +
                            llvm::Twine(b) + " of " + shared->name +
                            ", which a cp.async in flight already writes");
          return;
        }
      }
      std::fill_n(asyncPending[shared->shared].begin() + offset, size, 1);
      asyncOpen[t].push_back(copy);
    });
    counters.sectorsRead += sectors.count();
    return ok;
  }

  /// cp.async.wait_group n: each thread's committed groups but its newest n
  /// complete; their bytes are then written by the thread.
  bool cpAsyncWait(NVVM::CpAsyncWaitGroupOp op) {
    bool ok = true;
    forActive([&](unsigned t) {
      auto &groups = asyncGroups[t];
      while (ok && groups.size() > op.getN()) {
        for (const AsyncCopy &copy : groups.front()) {
          Memory *mem = copy.mem;
          std::fill_n(asyncPending[mem->shared].begin() + copy.offset,
                      copy.size, 0);
          if (!track(op, *mem, copy.offset, copy.size, t, /*write=*/true) ||
              !genericWrite(op, *mem, copy.offset, copy.size)) {
            ok = false;
            return;
          }
          std::memcpy(mem->base + copy.offset, copy.data.data(), copy.size);
          counters.sharedWritten += copy.size;
        }
        groups.pop_front();
      }
    });
    return ok;
  }

  /// The 32 bytes of k of each of `rows` rows of a K-major operand, through
  /// its descriptor.
  bool readOperand(NVVM::WgmmaMmaAsyncOp op, Word desc, unsigned rows,
                   std::vector<uint8_t> &out) {
    int64_t start = int64_t(desc & 0x3FFF) << 4;
    int64_t lbo = int64_t((desc >> 16) & 0x3FFF) << 4;
    int64_t sbo = int64_t((desc >> 32) & 0x3FFF) << 4;
    if ((desc >> 62) != 0)
      return fail(op, "a swizzled matrix descriptor (mode " +
                          llvm::Twine(desc >> 62) + ") is not emulated");
    out.assign(size_t(rows) * 32, 0);
    for (unsigned row = 0; row < rows; ++row)
      for (unsigned kc = 0; kc < 2; ++kc) {
        // One 16-byte row of a core matrix.
        int64_t at = start + (row / 8) * sbo + kc * lbo + (row % 8) * 16;
        int64_t offset = 0;
        Memory *mem = memoryAt(at, 16, offset);
        if (!mem)
          return fail(op, "a matrix descriptor reads shared addresses " +
                              llvm::Twine(at) + ".." + llvm::Twine(at + 15) +
                              ", outside the block's shared memory");
        for (int64_t b = offset; b < offset + 16; ++b)
          if (unfenced[mem->shared][b])
            return fail(op, "wgmma.mma_async reads byte " + llvm::Twine(b) +
                                " of " + mem->name +
                                ", written by threads since the last "
                                "fence.proxy.async");
        wgmmaOpen.push_back({mem->shared, offset, offset + 16});
        std::memcpy(&out[row * 32 + kc * 16], mem->base + offset, 16);
        counters.sharedRead += 16;
      }
    return true;
  }

  /// One warp's A [16 x 32] and B [32 x 8] of an m16n8k32 product of
  /// 8-bit elements from its four A and two B registers per lane (four
  /// elements each, at the positions of m16n8k16's two 16-bit ones), each
  /// byte read by `decode`.
  template <typename Element, typename Decode>
  void fragmentsK32(ValueRange regsA, ValueRange regsB, unsigned warp,
                    Decode decode, Element (&a)[16][32],
                    Element (&b)[32][8]) {
    for (unsigned lane = 0; lane < 32; ++lane) {
      unsigned t = warp * 32 + lane, g = lane / 4, q = (lane % 4) * 4;
      auto byte = [&](Value value, unsigned j) {
        return decode(static_cast<uint8_t>(ptr(value)[t] >> (8 * j)));
      };
      for (unsigned i = 0; i < 4; ++i) {
        unsigned row = g + (i % 2) * 8, col = q + (i / 2) * 16;
        for (unsigned j = 0; j < 4; ++j)
          a[row][col + j] = byte(regsA[i], j);
      }
      for (unsigned i = 0; i < 2; ++i)
        for (unsigned j = 0; j < 4; ++j)
          b[q + i * 16 + j][g] = byte(regsB[i], j);
    }
  }

  /// m16n8k32 s8 x s8 + i32 (row.col): four 8-bit elements per register,
  /// at the positions of m16n8k16's two 16-bit ones; exact, wrapping sums
  /// (satfinite clamps them to the i32 range).
  bool mmaInt8(NVVM::MmaOp op) {
    bool saturate = op.getIntOverflowBehavior() &&
                    *op.getIntOverflowBehavior() == NVVM::MMAIntOverflow::satfinite;
    if (!wholeWarps(op))
      return false;
    Word *d = ptr(op.getResult());
    for (unsigned warp = 0; warp * 32 < T; ++warp) {
      if (!(*mask)[warp * 32])
        continue;
      int64_t a[16][32], b[32][8], c[16][8];
      fragmentsK32(op.getOperandA(), op.getOperandB(), warp,
                   [](uint8_t v) { return int64_t(int8_t(v)); }, a, b);
      for (unsigned lane = 0; lane < 32; ++lane) {
        unsigned t = warp * 32 + lane, g = lane / 4;
        for (unsigned i = 0; i < 4; ++i)
          c[g + (i / 2) * 8][(lane % 4) * 2 + i % 2] = static_cast<int32_t>(
              static_cast<uint32_t>(ptr(op.getOperandC()[i])[t]));
      }
      for (unsigned lane = 0; lane < 32; ++lane) {
        unsigned t = warp * 32 + lane, g = lane / 4, q = (lane % 4) * 2;
        for (unsigned i = 0; i < 4; ++i) {
          unsigned row = g + (i / 2) * 8, col = q + i % 2;
          int64_t sum = c[row][col];
          for (unsigned k = 0; k < 32; ++k)
            sum += a[row][k] * b[k][col];
          if (saturate)
            sum = std::clamp<int64_t>(sum, INT32_MIN, INT32_MAX);
          d[size_t(i) * T + t] =
              static_cast<uint32_t>(static_cast<int32_t>(
                  static_cast<uint32_t>(static_cast<uint64_t>(sum))));
        }
      }
      ++counters.mma;
    }
    return true;
  }

  bool mma(NVVM::MmaOp op) {
    NVVM::MMAShapeAttr shape = op.getShape();
    auto typeA = op.getMultiplicandAPtxType(),
         typeB = op.getMultiplicandBPtxType();
    bool half = [](std::optional<NVVM::MMATypes> type) {
      return type && (*type == NVVM::MMATypes::bf16 ||
                      *type == NVVM::MMATypes::f16);
    }(typeA);
    if (shape.getM() == 16 && shape.getN() == 8 && shape.getK() == 32 &&
        typeA == NVVM::MMATypes::s8 && typeB == NVVM::MMATypes::s8 &&
        op.getLayoutA() == NVVM::MMALayout::row &&
        op.getLayoutB() == NVVM::MMALayout::col &&
        op.getOperandA().size() == 4 && op.getOperandB().size() == 2 &&
        op.getOperandC().size() == 4 &&
        op.getOperandC().front().getType().isInteger(32))
      return mmaInt8(op);
    if (shape.getM() != 16 || shape.getN() != 8 || shape.getK() != 16 ||
        !half || typeA != typeB || op.getLayoutA() != NVVM::MMALayout::row ||
        op.getLayoutB() != NVVM::MMALayout::col ||
        op.getOperandA().size() != 4 || op.getOperandB().size() != 2 ||
        op.getOperandC().size() != 4 ||
        !op.getOperandC().front().getType().isF32())
      return fail(op, "only m16n8k16 row.col with bf16/f16 inputs and f32 "
                      "accumulators, and m16n8k32 row.col s8 with i32 "
                      "accumulators, are emulated");
    if (!wholeWarps(op))
      return false;
    Word *d = ptr(op.getResult());
    for (unsigned warp = 0; warp * 32 < T; ++warp) {
      if (!(*mask)[warp * 32])
        continue;
      float a[16][16], b[16][8], c[16][8];
      for (unsigned lane = 0; lane < 32; ++lane) {
        unsigned t = warp * 32 + lane, g = lane / 4, q = (lane % 4) * 2;
        for (unsigned i = 0; i < 4; ++i) {
          auto v = pair(op.getOperandA()[i], t, *typeA);
          unsigned row = g + (i % 2) * 8, col = q + (i / 2) * 8;
          a[row][col] = v[0];
          a[row][col + 1] = v[1];
        }
        for (unsigned i = 0; i < 2; ++i) {
          auto v = pair(op.getOperandB()[i], t, *typeB);
          b[q + i * 8][g] = v[0];
          b[q + i * 8 + 1][g] = v[1];
        }
        for (unsigned i = 0; i < 4; ++i)
          c[g + (i / 2) * 8][q + i % 2] =
              bitsToF32(ptr(op.getOperandC()[i])[t]);
      }
      for (unsigned lane = 0; lane < 32; ++lane) {
        unsigned t = warp * 32 + lane, g = lane / 4, q = (lane % 4) * 2;
        for (unsigned i = 0; i < 4; ++i) {
          unsigned row = g + (i / 2) * 8, col = q + i % 2;
          float sum = c[row][col];
          for (unsigned k = 0; k < 16; ++k)
            sum = std::fma(a[row][k], b[k][col], sum);
          d[size_t(i) * T + t] = f32ToBits(sum);
        }
      }
      ++counters.mma;
    }
    return true;
  }

  /// mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 (its NVPTX
  /// intrinsic): mmaInt8's fragment positions, each byte an FP8 E4M3 value;
  /// the products (exact in f32) are summed in f32 onto C in k order.
  bool mmaE4M3(LLVM::CallIntrinsicOp op) {
    ValueRange args = op.getArgs();
    if (args.size() != 10 || op->getNumResults() != 1)
      return fail(op, "expects 4 A, 2 B and 4 C registers and one result");
    if (!wholeWarps(op))
      return false;
    Word *d = ptr(op->getResult(0));
    for (unsigned warp = 0; warp * 32 < T; ++warp) {
      if (!(*mask)[warp * 32])
        continue;
      float a[16][32], b[32][8], c[16][8];
      fragmentsK32(args.take_front(4), args.slice(4, 2), warp,
                   llmc::fromE4M3, a, b);
      for (unsigned lane = 0; lane < 32; ++lane) {
        unsigned t = warp * 32 + lane, g = lane / 4;
        for (unsigned i = 0; i < 4; ++i)
          c[g + (i / 2) * 8][(lane % 4) * 2 + i % 2] =
              bitsToF32(ptr(args[6 + i])[t]);
      }
      for (unsigned lane = 0; lane < 32; ++lane) {
        unsigned t = warp * 32 + lane, g = lane / 4, q = (lane % 4) * 2;
        for (unsigned i = 0; i < 4; ++i) {
          unsigned row = g + (i / 2) * 8, col = q + i % 2;
          float sum = c[row][col];
          for (unsigned k = 0; k < 32; ++k)
            sum += a[row][k] * b[k][col];
          d[size_t(i) * T + t] = f32ToBits(sum);
        }
      }
      ++counters.mma;
    }
    return true;
  }

  bool intrinsic(LLVM::CallIntrinsicOp op) {
    StringRef name = op.getIntrin();
    if (name == "llvm.nvvm.mma.m16n8k32.row.col.f32.e4m3.e4m3.f32")
      return mmaE4M3(op);
    if (name == "llvm.nvvm.ff.to.e4m3x2.rn") {
      // cvt.rn.satfinite.e4m3x2.f32 d, a, b: a's byte high, b's low.
      if (op.getArgs().size() != 2 || op->getNumResults() != 1 ||
          !op->getResult(0).getType().isInteger(16))
        return fail(op, "expects two f32 operands and an i16 result");
      Word *a = ptr(op.getArgs()[0]), *b = ptr(op.getArgs()[1]);
      Word *r = ptr(op->getResult(0));
      forActive([&](unsigned t) {
        r[t] = (Word(llmc::toE4M3(bitsToF32(a[t]))) << 8) |
               llmc::toE4M3(bitsToF32(b[t]));
      });
      return true;
    }
    if (op->getNumResults() != 1 || op.getArgs().size() != 1 ||
        !op->getResult(0).getType().isF32())
      return fail(op, "intrinsic " + name + " is not emulated");
    auto f = [&](float (*fn)(float)) {
      return math32(op, [&](float x) { return fn(x); });
    };
    if (name == "llvm.nvvm.ex2.approx.ftz.f" || name == "llvm.nvvm.ex2.approx.f")
      return f([](float x) { return std::exp2(x); });
    if (name == "llvm.nvvm.lg2.approx.ftz.f" || name == "llvm.nvvm.lg2.approx.f")
      return f([](float x) { return std::log2(x); });
    if (name == "llvm.nvvm.rcp.approx.ftz.f")
      return f([](float x) { return 1.0f / x; });
    if (name == "llvm.nvvm.rsqrt.approx.ftz.f" ||
        name == "llvm.nvvm.rsqrt.approx.f")
      return f([](float x) { return 1.0f / std::sqrt(x); });
    if (name == "llvm.nvvm.tanh.approx.f32")
      return f([](float x) { return std::tanh(x); });
    return fail(op, "intrinsic " + name + " is not emulated");
  }

  bool vectorOp(Operation *op) {
    // The access is as aligned as its attribute says, else as its vector
    // type (LLVM's default for a vector load).
    auto alignment = [](std::optional<uint64_t> given, VectorType type) {
      if (given)
        return static_cast<int64_t>(*given);
      return static_cast<int64_t>(llvm::PowerOf2Ceil(
          type.getNumElements() * storageBytes(type.getElementType())));
    };
    if (auto load = dyn_cast<vector::LoadOp>(op))
      return access(op, load.getBase(), load.getIndices(), load.getResult(),
                    /*write=*/false,
                    alignment(load.getAlignment(), load.getVectorType()));
    if (auto store = dyn_cast<vector::StoreOp>(op))
      return access(op, store.getBase(), store.getIndices(),
                    store.getValueToStore(), /*write=*/true,
                    alignment(store.getAlignment(), store.getVectorType()));
    if (auto cast = dyn_cast<vector::BitCastOp>(op)) {
      unsigned fromBits = bitWidthOf(cast.getSourceVectorType().getElementType());
      unsigned toBits = bitWidthOf(cast.getResultVectorType().getElementType());
      unsigned fromN = widthOf(cast.getSourceVectorType()),
               toN = widthOf(cast.getResultVectorType());
      if (fromBits * fromN > 512 || fromBits % 8 || toBits % 8)
        return fail(op, "an unsupported bitcast");
      Word *a = ptr(cast.getSource()), *r = ptr(cast.getResult());
      forActive([&](unsigned t) {
        uint8_t bytes[64] = {};
        for (unsigned e = 0; e < fromN; ++e) {
          Word w = a[size_t(e) * T + t];
          std::memcpy(bytes + e * fromBits / 8, &w, fromBits / 8);
        }
        for (unsigned e = 0; e < toN; ++e) {
          Word w = 0;
          std::memcpy(&w, bytes + e * toBits / 8, toBits / 8);
          r[size_t(e) * T + t] = w;
        }
      });
      return true;
    }
    if (auto extract = dyn_cast<vector::ExtractOp>(op)) {
      if (!extract.getDynamicPosition().empty())
        return fail(op, "a dynamic position");
      auto type = extract.getSourceVectorType();
      int64_t linear = 0;
      for (auto [d, p] : llvm::enumerate(extract.getStaticPosition()))
        linear = linear * type.getDimSize(d) + p;
      unsigned w = widthOf(extract.getResult().getType());
      linear *= w;
      Word *a = ptr(extract.getSource()), *r = ptr(extract.getResult());
      forActive([&](unsigned t) {
        for (unsigned e = 0; e < w; ++e)
          r[size_t(e) * T + t] = a[size_t(linear + e) * T + t];
      });
      return true;
    }
    if (auto from = dyn_cast<vector::FromElementsOp>(op)) {
      Word *r = ptr(from.getResult());
      for (auto [e, element] : llvm::enumerate(from.getElements())) {
        Word *a = ptr(element), *re = r + e * T;
        forActive([&](unsigned t) { re[t] = a[t]; });
      }
      return true;
    }
    if (auto broadcast = dyn_cast<vector::BroadcastOp>(op)) {
      if (widthOf(broadcast.getSource().getType()) != 1)
        return fail(op, "only scalar broadcasts are emulated");
      Word *a = ptr(broadcast.getSource()), *r = ptr(broadcast.getResult());
      unsigned w = widthOf(broadcast.getResult().getType());
      forActive([&](unsigned t) {
        for (unsigned e = 0; e < w; ++e)
          r[size_t(e) * T + t] = a[t];
      });
      return true;
    }
    return fail(op, "op is not emulated");
  }

  bool cmpi(arith::CmpIOp op) {
    unsigned width = intWidth(elementOf(op.getLhs().getType()));
    arith::CmpIPredicate p = op.getPredicate();
    return binary(op, [&](Word a, Word b) -> Word {
      int64_t sa = sext(width, a), sb = sext(width, b);
      switch (p) {
      case arith::CmpIPredicate::eq:
        return a == b;
      case arith::CmpIPredicate::ne:
        return a != b;
      case arith::CmpIPredicate::slt:
        return sa < sb;
      case arith::CmpIPredicate::sle:
        return sa <= sb;
      case arith::CmpIPredicate::sgt:
        return sa > sb;
      case arith::CmpIPredicate::sge:
        return sa >= sb;
      case arith::CmpIPredicate::ult:
        return a < b;
      case arith::CmpIPredicate::ule:
        return a <= b;
      case arith::CmpIPredicate::ugt:
        return a > b;
      case arith::CmpIPredicate::uge:
        return a >= b;
      }
      return 0;
    });
  }

  bool cmpf(arith::CmpFOp op) {
    Type type = elementOf(op.getLhs().getType());
    arith::CmpFPredicate p = op.getPredicate();
    return binary(op, [&](Word wa, Word wb) -> Word {
      double a = toDouble(type, wa), b = toDouble(type, wb);
      bool unordered = std::isnan(a) || std::isnan(b);
      switch (p) {
      case arith::CmpFPredicate::AlwaysFalse:
        return 0;
      case arith::CmpFPredicate::AlwaysTrue:
        return 1;
      case arith::CmpFPredicate::OEQ:
        return !unordered && a == b;
      case arith::CmpFPredicate::OGT:
        return !unordered && a > b;
      case arith::CmpFPredicate::OGE:
        return !unordered && a >= b;
      case arith::CmpFPredicate::OLT:
        return !unordered && a < b;
      case arith::CmpFPredicate::OLE:
        return !unordered && a <= b;
      case arith::CmpFPredicate::ONE:
        return !unordered && a != b;
      case arith::CmpFPredicate::ORD:
        return !unordered;
      case arith::CmpFPredicate::UEQ:
        return unordered || a == b;
      case arith::CmpFPredicate::UGT:
        return unordered || a > b;
      case arith::CmpFPredicate::UGE:
        return unordered || a >= b;
      case arith::CmpFPredicate::ULT:
        return unordered || a < b;
      case arith::CmpFPredicate::ULE:
        return unordered || a <= b;
      case arith::CmpFPredicate::UNE:
        return unordered || a != b;
      case arith::CmpFPredicate::UNO:
        return unordered;
      }
      return 0;
    });
  }

  /// Conversions between element types (the result's width in words equals
  /// the operand's).
  bool convert(Operation *op) {
    Type from = elementOf(op->getOperand(0).getType());
    Type to = elementOf(op->getResult(0).getType());
    if (isa<arith::TruncFOp, arith::ExtFOp>(op))
      return unary(op, [&](Word a) {
        // Through f32 for bf16/f16 (cvt.rn), exactly for f32 → f64.
        return fromDouble(to, toDouble(from, a));
      });
    if (isa<arith::SIToFPOp>(op))
      return unary(op, [&](Word a) {
        return fromDouble(to, static_cast<double>(sext(intWidth(from), a)));
      });
    if (isa<arith::UIToFPOp>(op))
      return unary(op, [&](Word a) {
        return fromDouble(to, static_cast<double>(a));
      });
    if (isa<arith::FPToSIOp, arith::FPToUIOp>(op))
      return unary(op, [&](Word a) {
        double v = std::trunc(toDouble(from, a));
        return canon(intWidth(to), static_cast<uint64_t>(
                                       static_cast<int64_t>(v)));
      });
    if (isa<arith::ExtSIOp, arith::IndexCastOp, arith::TruncIOp>(op))
      return unary(op, [&](Word a) {
        return canon(intWidth(to),
                     static_cast<uint64_t>(sext(intWidth(from), a)));
      });
    if (isa<arith::ExtUIOp, arith::IndexCastUIOp>(op))
      return unary(op, [&](Word a) { return canon(intWidth(to), a); });
    if (isa<arith::BitcastOp>(op))
      return unary(op, [&](Word a) { return a; });
    return fail(op, "op is not emulated");
  }

  bool exec(Operation *op) {
    counters.threadOps += activeCount();
    // A wgmma's accumulators may only feed the next wgmma (or pass through
    // a loop) until a wait retires it.
    if (!wgmmaResults.empty() && !isa<scf::YieldOp, scf::ForOp>(op))
      for (Value operand : op->getOperands()) {
        auto product = dyn_cast<NVVM::WgmmaMmaAsyncOp>(op);
        if (inFlight(operand) && !(product && operand == product.getInouts()))
          return fail(op, "reads the accumulators of a wgmma.mma_async in "
                          "flight (no wgmma.wait_group retired it)");
      }
    if (auto c = dyn_cast<arith::ConstantOp>(op))
      return constant(c);
    // Integer arithmetic.
    if (isa<arith::AddIOp>(op))
      return intBinary(op, [](int64_t, int64_t, Word a, Word b) { return a + b; });
    if (isa<arith::SubIOp>(op))
      return intBinary(op, [](int64_t, int64_t, Word a, Word b) { return a - b; });
    if (isa<arith::MulIOp>(op))
      return intBinary(op, [](int64_t, int64_t, Word a, Word b) { return a * b; });
    if (isa<arith::AndIOp>(op))
      return intBinary(op, [](int64_t, int64_t, Word a, Word b) { return a & b; });
    if (isa<arith::OrIOp>(op))
      return intBinary(op, [](int64_t, int64_t, Word a, Word b) { return a | b; });
    if (isa<arith::XOrIOp>(op))
      return intBinary(op, [](int64_t, int64_t, Word a, Word b) { return a ^ b; });
    if (isa<arith::ShLIOp>(op))
      return intBinary(op, [](int64_t, int64_t, Word a, Word b) {
        return b >= 64 ? Word(0) : a << b;
      });
    if (isa<arith::ShRUIOp>(op))
      return intBinary(op, [](int64_t, int64_t, Word a, Word b) {
        return b >= 64 ? Word(0) : a >> b;
      });
    if (isa<arith::ShRSIOp>(op))
      return intBinary(op, [](int64_t sa, int64_t, Word, Word b) {
        return static_cast<Word>(sa >> std::min<Word>(b, 63));
      });
    if (isa<arith::MaxSIOp>(op))
      return intBinary(op, [](int64_t a, int64_t b, Word, Word) {
        return static_cast<Word>(std::max(a, b));
      });
    if (isa<arith::MinSIOp>(op))
      return intBinary(op, [](int64_t a, int64_t b, Word, Word) {
        return static_cast<Word>(std::min(a, b));
      });
    if (isa<arith::MaxUIOp>(op))
      return intBinary(op, [](int64_t, int64_t, Word a, Word b) {
        return std::max(a, b);
      });
    if (isa<arith::MinUIOp>(op))
      return intBinary(op, [](int64_t, int64_t, Word a, Word b) {
        return std::min(a, b);
      });
    if (isa<arith::DivUIOp, arith::RemUIOp, arith::DivSIOp, arith::RemSIOp,
            arith::FloorDivSIOp, arith::CeilDivSIOp, arith::CeilDivUIOp>(op)) {
      if (!divisor(op))
        return false;
      if (isa<arith::DivUIOp>(op))
        return intBinary(op, [](int64_t, int64_t, Word a, Word b) { return a / b; });
      if (isa<arith::RemUIOp>(op))
        return intBinary(op, [](int64_t, int64_t, Word a, Word b) { return a % b; });
      if (isa<arith::CeilDivUIOp>(op))
        return intBinary(op, [](int64_t, int64_t, Word a, Word b) {
          return a / b + (a % b != 0);
        });
      if (isa<arith::DivSIOp>(op))
        return intBinary(op, [](int64_t a, int64_t b, Word, Word) {
          return static_cast<Word>(a / b);
        });
      if (isa<arith::RemSIOp>(op))
        return intBinary(op, [](int64_t a, int64_t b, Word, Word) {
          return static_cast<Word>(a % b);
        });
      if (isa<arith::FloorDivSIOp>(op))
        return intBinary(op, [](int64_t a, int64_t b, Word, Word) {
          int64_t q = a / b;
          return static_cast<Word>((a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q);
        });
      return intBinary(op, [](int64_t a, int64_t b, Word, Word) {
        int64_t q = a / b;
        return static_cast<Word>((a % b != 0 && ((a < 0) == (b < 0))) ? q + 1 : q);
      });
    }
    if (auto c = dyn_cast<arith::CmpIOp>(op))
      return cmpi(c);
    if (auto c = dyn_cast<arith::CmpFOp>(op))
      return cmpf(c);
    if (auto s = dyn_cast<arith::SelectOp>(op)) {
      // A scalar condition picks whole values; a vector one, element by
      // element.
      bool perElement = !s.getCondition().getType().isInteger(1);
      Word *c = ptr(s.getCondition()), *a = ptr(s.getTrueValue()),
           *b = ptr(s.getFalseValue()), *r = ptr(s.getResult());
      unsigned w = widthOf(s.getType());
      forActive([&](unsigned t) {
        for (unsigned e = 0; e < w; ++e) {
          size_t i = size_t(e) * T + t;
          r[i] = (c[perElement ? i : t] & 1) ? a[i] : b[i];
        }
      });
      return true;
    }
    // Float arithmetic.
    if (isa<arith::AddFOp>(op))
      return floatBinary(op, [](double a, double b) { return a + b; });
    if (isa<arith::SubFOp>(op))
      return floatBinary(op, [](double a, double b) { return a - b; });
    if (isa<arith::MulFOp>(op))
      return floatBinary(op, [](double a, double b) { return a * b; });
    if (isa<arith::DivFOp>(op))
      return floatBinary(op, [](double a, double b) { return a / b; });
    if (isa<arith::RemFOp>(op))
      return floatBinary(op, [](double a, double b) { return std::fmod(a, b); });
    if (isa<arith::MaximumFOp>(op))
      return floatBinary(op, [](double a, double b) {
        return std::isnan(a) || std::isnan(b) ? NAN : std::max(a, b);
      });
    if (isa<arith::MinimumFOp>(op))
      return floatBinary(op, [](double a, double b) {
        return std::isnan(a) || std::isnan(b) ? NAN : std::min(a, b);
      });
    if (isa<arith::MaxNumFOp>(op))
      return floatBinary(op, [](double a, double b) { return std::fmax(a, b); });
    if (isa<arith::MinNumFOp>(op))
      return floatBinary(op, [](double a, double b) { return std::fmin(a, b); });
    if (isa<arith::NegFOp>(op))
      return floatUnary(op, [](double a) { return -a; });
    if (isa<arith::TruncFOp, arith::ExtFOp, arith::SIToFPOp, arith::UIToFPOp,
            arith::FPToSIOp, arith::FPToUIOp, arith::ExtSIOp, arith::ExtUIOp,
            arith::TruncIOp, arith::IndexCastOp, arith::IndexCastUIOp,
            arith::BitcastOp>(op))
      return convert(op);
    // Math.
    if (isa<math::AbsIOp>(op)) {
      unsigned width = intWidth(elementOf(op->getResult(0).getType()));
      return unary(op, [&](Word a) {
        int64_t v = sext(width, a);
        return canon(width, static_cast<uint64_t>(v < 0 ? 0 - uint64_t(v)
                                                        : uint64_t(v)));
      });
    }
    if (isa<math::AbsFOp>(op))
      return floatUnary(op, [](double a) { return std::fabs(a); });
    if (isa<math::SqrtOp>(op))
      return floatUnary(op, [](double a) { return std::sqrt(a); });
    if (isa<math::RsqrtOp>(op))
      return math32(op, [](float a) { return 1.0f / std::sqrt(a); });
    if (isa<math::ExpOp>(op))
      return math32(op, [](float a) { return std::exp(a); });
    if (isa<math::Exp2Op>(op))
      return math32(op, [](float a) { return std::exp2(a); });
    if (isa<math::ExpM1Op>(op))
      return math32(op, [](float a) { return std::expm1(a); });
    if (isa<math::LogOp>(op))
      return math32(op, [](float a) { return std::log(a); });
    if (isa<math::Log2Op>(op))
      return math32(op, [](float a) { return std::log2(a); });
    if (isa<math::Log1pOp>(op))
      return math32(op, [](float a) { return std::log1p(a); });
    if (isa<math::TanhOp>(op))
      return math32(op, [](float a) { return std::tanh(a); });
    if (isa<math::ErfOp>(op))
      return math32(op, [](float a) { return std::erf(a); });
    if (isa<math::SinOp>(op))
      return math32(op, [](float a) { return std::sin(a); });
    if (isa<math::CosOp>(op))
      return math32(op, [](float a) { return std::cos(a); });
    if (isa<math::RoundEvenOp>(op))
      return floatUnary(op, [](double a) { return std::nearbyint(a); });
    if (isa<math::RoundOp>(op))
      return floatUnary(op, [](double a) { return std::round(a); });
    if (isa<math::TruncOp>(op))
      return floatUnary(op, [](double a) { return std::trunc(a); });
    if (isa<math::FloorOp>(op))
      return floatUnary(op, [](double a) { return std::floor(a); });
    if (isa<math::CeilOp>(op))
      return floatUnary(op, [](double a) { return std::ceil(a); });
    if (isa<math::PowFOp>(op)) {
      Type type = elementOf(op->getResult(0).getType());
      return binary(op, [&](Word a, Word b) {
        return fromDouble(type, std::pow(static_cast<float>(toDouble(type, a)),
                                         static_cast<float>(toDouble(type, b))));
      });
    }
    if (auto fma = dyn_cast<math::FmaOp>(op)) {
      Type type = elementOf(fma.getType());
      Word *a = ptr(fma.getA()), *b = ptr(fma.getB()), *c = ptr(fma.getC());
      Word *r = ptr(fma.getResult());
      unsigned w = widthOf(fma.getType());
      forActive([&](unsigned t) {
        for (unsigned e = 0; e < w; ++e) {
          size_t i = size_t(e) * T + t;
          r[i] = fromDouble(type, std::fma(toDouble(type, a[i]),
                                           toDouble(type, b[i]),
                                           toDouble(type, c[i])));
        }
      });
      return true;
    }
    // Memory.
    if (auto load = dyn_cast<memref::LoadOp>(op))
      return access(op, load.getMemRef(), load.getIndices(), load.getResult(),
                    /*write=*/false);
    if (auto store = dyn_cast<memref::StoreOp>(op))
      return access(op, store.getMemRef(), store.getIndices(),
                    store.getValueToStore(), /*write=*/true);
    if (op->getDialect() &&
        op->getDialect()->getNamespace() == vector::VectorDialect::getDialectNamespace())
      return vectorOp(op);
    // Structure.
    if (auto loop = dyn_cast<scf::ForOp>(op))
      return forOp(loop);
    if (auto branch = dyn_cast<scf::IfOp>(op))
      return ifOp(branch);
    if (auto y = dyn_cast<scf::YieldOp>(op))
      return yield(y);
    if (auto parallel = dyn_cast<scf::ParallelOp>(op))
      return parallelOp(parallel);
    if (auto reduce = dyn_cast<scf::ReduceOp>(op))
      return reduce.getOperands().empty()
                 ? true
                 : fail(op, "scf.reduce with operands is not emulated");
    // GPU.
    auto dimension = [&](gpu::Dimension d, auto value) {
      Word *r = ptr(op->getResult(0));
      forActive([&](unsigned t) { r[t] = value(static_cast<unsigned>(d), t); });
      return true;
    };
    if (auto id = dyn_cast<gpu::ThreadIdOp>(op))
      return dimension(id.getDimension(), [&](unsigned d, unsigned t) -> Word {
        if (d == 0)
          return t % blockDim[0];
        if (d == 1)
          return (t / blockDim[0]) % blockDim[1];
        return t / (blockDim[0] * blockDim[1]);
      });
    if (auto id = dyn_cast<gpu::BlockIdOp>(op))
      return dimension(id.getDimension(),
                       [&](unsigned d, unsigned) -> Word { return blockId[d]; });
    if (auto dim = dyn_cast<gpu::BlockDimOp>(op))
      return dimension(dim.getDimension(),
                       [&](unsigned d, unsigned) -> Word { return blockDim[d]; });
    if (auto dim = dyn_cast<gpu::GridDimOp>(op))
      return dimension(dim.getDimension(),
                       [&](unsigned d, unsigned) -> Word { return gridDim[d]; });
    if (isa<gpu::LaneIdOp>(op)) {
      Word *r = ptr(op->getResult(0));
      forActive([&](unsigned t) { r[t] = t % 32; });
      return true;
    }
    if (auto s = dyn_cast<gpu::ShuffleOp>(op))
      return shuffle(s);
    if (isa<gpu::BarrierOp>(op))
      return barrier(op);
    if (isa<gpu::ReturnOp>(op)) {
      if (activeCount() != T)
        return fail(op, "a return reached by only some threads");
      returned = true;
      return true;
    }
    if (auto m = dyn_cast<NVVM::MmaOp>(op))
      return mma(m);
    if (auto m = dyn_cast<NVVM::WgmmaMmaAsyncOp>(op))
      return wgmma(m);
    if (auto load = dyn_cast<NVVM::LdMatrixOp>(op))
      return ldmatrix(load);
    if (auto copy = dyn_cast<NVVM::CpAsyncOp>(op))
      return cpAsync(copy);
    if (isa<NVVM::CpAsyncCommitGroupOp>(op)) {
      forActive([&](unsigned t) {
        asyncGroups[t].push_back(std::move(asyncOpen[t]));
        asyncOpen[t].clear();
      });
      return true;
    }
    if (auto wait = dyn_cast<NVVM::CpAsyncWaitGroupOp>(op))
      return cpAsyncWait(wait);
    // Addresses stay integers (ldmatrix's and cp.async's pointers).
    if (isa<LLVM::IntToPtrOp, LLVM::PtrToIntOp, LLVM::AddrSpaceCastOp>(op))
      return unary(op, [](Word w) { return w; });
    if (isa<NVVM::WgmmaFenceAlignedOp>(op))
      return true;
    if (isa<NVVM::WgmmaGroupSyncAlignedOp>(op)) {
      wgmmaGroups.push_back(std::move(wgmmaOpen));
      wgmmaOpen.clear();
      ++wgmmaCommitted;
      return true;
    }
    if (auto wait = dyn_cast<NVVM::WgmmaWaitGroupSyncOp>(op)) {
      // All but the newest `group` committed groups are complete.
      size_t keep = std::min<size_t>(wait.getGroup(), wgmmaGroups.size());
      wgmmaGroups.erase(wgmmaGroups.begin(), wgmmaGroups.end() - keep);
      if (wgmmaCommitted > wait.getGroup())
        wgmmaRetired = std::max(wgmmaRetired, wgmmaCommitted - wait.getGroup());
      return true;
    }
    if (auto fence = dyn_cast<NVVM::FenceProxyOp>(op)) {
      if (fence.getKind() == NVVM::ProxyKind::async_shared ||
          fence.getKind() == NVVM::ProxyKind::async)
        for (auto &bytes : unfenced)
          std::fill(bytes.begin(), bytes.end(), 0);
      return true;
    }
    if (isa<LLVM::ZeroOp>(op)) {
      unsigned width = widthOf(op->getResult(0).getType());
      Word *r = ptr(op->getResult(0));
      forActive([&](unsigned t) {
        for (unsigned e = 0; e < width; ++e)
          r[size_t(e) * T + t] = 0;
      });
      return true;
    }
    if (auto dynamic = dyn_cast<gpu::DynamicSharedMemoryOp>(op)) {
      memrefs[kernel.memrefSlot.lookup(dynamic.getResult())] = dynamicMemory;
      return true;
    }
    if (auto view = dyn_cast<memref::ViewOp>(op))
      return viewOf(view);
    if (auto extract = dyn_cast<memref::ExtractAlignedPointerAsIndexOp>(op)) {
      Memory *mem = memory(extract.getSource());
      if (!mem)
        return fail(op, "a memref that is neither a kernel argument nor "
                        "shared memory");
      Word address =
          Word(mem->shared < 0 ? mem->globalAddress : mem->sharedAddress);
      Word *r = ptr(extract.getResult());
      forActive([&](unsigned t) { r[t] = address; });
      return true;
    }
    if (auto extract = dyn_cast<LLVM::ExtractValueOp>(op)) {
      if (extract.getPosition().size() != 1)
        return fail(op, "a nested position");
      unsigned at = extract.getPosition()[0];
      Word *a = ptr(extract.getContainer()), *r = ptr(extract.getResult());
      forActive([&](unsigned t) { r[t] = a[size_t(at) * T + t]; });
      return true;
    }
    if (auto call = dyn_cast<LLVM::CallIntrinsicOp>(op))
      return intrinsic(call);
    return fail(op, "op is not emulated");
  }
};

} // namespace

//===----------------------------------------------------------------------===//
// The plan
//===----------------------------------------------------------------------===//

struct GPUEmulator::Impl {
  LaunchPlan plan;
  Signature sig;
  std::vector<Tensor> weights;
  std::vector<Kernel> kernels; // one per launch
  std::vector<std::string> kernelOrder;
  llvm::StringMap<Counters> counters;
  std::function<void(const llvm::Twine &)> progress;
};

GPUEmulator::GPUEmulator() : impl(std::make_unique<Impl>()) {}
GPUEmulator::~GPUEmulator() = default;

void GPUEmulator::setProgress(
    std::function<void(const llvm::Twine &)> callback) {
  impl->progress = std::move(callback);
}

llvm::Expected<std::unique_ptr<GPUEmulator>>
GPUEmulator::create(const LaunchPlan &plan, Signature signature,
                    std::vector<Tensor> weights, ModuleOp kernels) {
  std::unique_ptr<GPUEmulator> emulator(new GPUEmulator());
  Impl &s = *emulator->impl;
  if (weights.size() != signature.weights.size())
    return error("the plan's weights do not match the signature");
  llvm::StringMap<gpu::GPUFuncOp> functions;
  kernels.walk([&](gpu::GPUFuncOp func) {
    if (func.isKernel())
      functions[func.getName()] = func;
  });
  llvm::StringMap<unsigned> prepared;
  for (const LaunchPlan::Launch &launch : plan.launches) {
    auto it = functions.find(launch.kernel);
    if (it == functions.end())
      return error("kernel '" + launch.kernel +
                   "' of the launch plan is not in the kernel module");
    gpu::GPUFuncOp func = it->second;
    if (func.getNumArguments() != launch.args.size())
      return error("kernel '" + launch.kernel + "' takes " +
                   llvm::Twine(func.getNumArguments()) +
                   " arguments, its launch passes " +
                   llvm::Twine(launch.args.size()));
    for (auto [i, arg] : llvm::enumerate(launch.args)) {
      bool pointer = arg.kind == LaunchPlan::Argument::Kind::Pointer;
      if (pointer != isa<MemRefType>(func.getArgument(i).getType()))
        return error("argument " + llvm::Twine(i) + " of kernel '" +
                     launch.kernel + "' does not match its launch");
    }
    auto kernel = prepare(func);
    if (!kernel)
      return kernel.takeError();
    s.kernels.push_back(std::move(*kernel));
  }
  for (const LaunchPlan::Buffer &buffer : plan.buffers)
    if (buffer.kind == LaunchPlan::BufferKind::Weight &&
        !weightMatches(buffer, weights))
      return error("a weight buffer of the plan does not match its weight");
  s.plan = plan;
  s.sig = std::move(signature);
  s.weights = std::move(weights);
  return emulator;
}

llvm::Expected<std::vector<Tensor>>
GPUEmulator::run(llvm::ArrayRef<Tensor> inputs) {
  Impl &s = *impl;
  const LaunchPlan &plan = s.plan;
  std::vector<std::vector<uint8_t>> buffers(plan.buffers.size());
  for (size_t i = 0; i < plan.buffers.size(); ++i) {
    const LaunchPlan::Buffer &buffer = plan.buffers[i];
    std::vector<uint8_t> &bytes = buffers[i];
    switch (buffer.kind) {
    case LaunchPlan::BufferKind::Input: {
      if (buffer.index < 0 ||
          static_cast<size_t>(buffer.index) >= inputs.size())
        return error("the plan reads a missing input");
      const Tensor &input = inputs[buffer.index];
      if (input.byteSize() != static_cast<size_t>(buffer.bytes))
        return error("input '" + input.name +
                     "' does not match its buffer size");
      auto *data = static_cast<const uint8_t *>(input.data());
      bytes.assign(data, data + input.byteSize());
      break;
    }
    case LaunchPlan::BufferKind::Weight: {
      const Tensor &weight = s.weights[buffer.index];
      auto *data = static_cast<const uint8_t *>(weight.data());
      if (buffer.bf16)
        bytes = f32BytesToBF16(data, weight.numElements());
      else
        bytes.assign(data, data + weight.byteSize());
      break;
    }
    case LaunchPlan::BufferKind::Constant:
      bytes = buffer.data;
      bytes.resize(buffer.bytes, 0);
      break;
    case LaunchPlan::BufferKind::Temporary:
      // cuMemAlloc leaves memory undefined: NaN bytes make reads of what
      // no kernel wrote visible.
      bytes.assign(buffer.bytes, 0xff);
      break;
    }
  }

  s.counters.clear();
  s.kernelOrder.clear();
  auto lastReport = std::chrono::steady_clock::now();
  for (size_t l = 0; l < plan.launches.size(); ++l) {
    const LaunchPlan::Launch &launch = plan.launches[l];
    const Kernel &kernel = s.kernels[l];
    if (!s.counters.count(launch.kernel))
      s.kernelOrder.push_back(launch.kernel);
    Counters &counters = s.counters[launch.kernel];
    ++counters.launches;
    uint64_t threads64 =
        uint64_t(launch.block[0]) * launch.block[1] * launch.block[2];
    if (threads64 == 0 || threads64 > 1024)
      return error("launch of " + launch.kernel + " has " +
                   llvm::Twine(threads64) +
                   " threads per block (1 to 1024 run on a GPU)");
    unsigned threads = static_cast<unsigned>(threads64);
    if (auto known = kernel.func.getKnownBlockSize())
      if (static_cast<uint32_t>((*known)[0]) != launch.block[0] ||
          static_cast<uint32_t>((*known)[1]) != launch.block[1] ||
          static_cast<uint32_t>((*known)[2]) != launch.block[2])
        return error("launch of " + launch.kernel +
                     " does not use the kernel's known_block_size");
    BlockRun block(kernel, counters, threads, launch.block, launch.grid,
                   launch.sharedBytes);
    for (auto [i, arg] : llvm::enumerate(launch.args)) {
      switch (arg.kind) {
      case LaunchPlan::Argument::Kind::Pointer:
        block.bindBuffer(i, buffers[arg.buffer].data(),
                         buffers[arg.buffer].size(),
                         "buffer " + std::to_string(arg.buffer) +
                             " (argument " + std::to_string(i) + ")");
        break;
      case LaunchPlan::Argument::Kind::I64:
        block.bindScalar(i, static_cast<Word>(arg.integer));
        break;
      case LaunchPlan::Argument::Kind::I32:
        block.bindScalar(i, canon(32, static_cast<Word>(arg.integer)));
        break;
      case LaunchPlan::Argument::Kind::F32:
        block.bindScalar(i, f32ToBits(static_cast<float>(arg.real)));
        break;
      }
    }
    for (uint32_t z = 0; z < launch.grid[2]; ++z)
      for (uint32_t y = 0; y < launch.grid[1]; ++y)
        for (uint32_t x = 0; x < launch.grid[0]; ++x) {
          if (llvm::Error failure = block.run({x, y, z}))
            return std::move(failure);
          auto now = std::chrono::steady_clock::now();
          if (s.progress && now - lastReport > std::chrono::seconds(1)) {
            lastReport = now;
            s.progress(llvm::formatv("emulating launch {0}/{1} ({2}), block "
                                     "({3},{4},{5}) of ({6},{7},{8})",
                                     l + 1, plan.launches.size(),
                                     launch.kernel, x, y, z, launch.grid[0],
                                     launch.grid[1], launch.grid[2]));
          }
        }
  }

  std::vector<Tensor> outputs;
  for (size_t i = 0; i < s.sig.outputs.size(); ++i) {
    const TensorSpec &spec = s.sig.outputs[i];
    Tensor output(spec.name, spec.dtype, spec.shape);
    const std::vector<uint8_t> &bytes = buffers[plan.outputs[i]];
    if (bytes.size() < output.byteSize())
      return error("output '" + spec.name + "' is larger than its buffer");
    std::memcpy(output.mutableData(), bytes.data(), output.byteSize());
    outputs.push_back(std::move(output));
  }
  return outputs;
}

llvm::json::Object GPUEmulator::stats() const {
  Counters total;
  llvm::json::Array kernels;
  for (const std::string &name : impl->kernelOrder) {
    const Counters &c = impl->counters.lookup(name);
    total.add(c);
    llvm::json::Object row = c.toJSON();
    row["kernel"] = name;
    kernels.push_back(std::move(row));
  }
  llvm::json::Object stats = total.toJSON();
  stats["kernels"] = std::move(kernels);
  return stats;
}
