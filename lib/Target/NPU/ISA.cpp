//===- ISA.cpp - the llmc NPU instruction set: encoding, checks, assembly -===//
#include "llmc/Target/NPU/ISA.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <cstring>
#include <mutex>

using namespace llmc;
using namespace llmc::npu;
using llvm::StringRef;

namespace {
llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

constexpr int kAddressBits = 24, kDramBits = 40, kCountBits = 16,
              kVectorCountBits = 12, kRegBits = 4;
constexpr uint64_t limit(int bits) { return uint64_t(1) << bits; }

const OpcodeInfo kOpcodes[] = {
    {Opcode::LD, "ld", Format::Dma, Queue::Load, InstClass::DmaLoad},
    {Opcode::LDA, "lda", Format::Dma, Queue::Load, InstClass::DmaLoad},
    {Opcode::ST, "st", Format::Dma, Queue::Store, InstClass::DmaStore},
    {Opcode::STA, "sta", Format::Dma, Queue::Store, InstClass::DmaStore},
    {Opcode::SETR, "setr", Format::SetReg, Queue::Exec, InstClass::Config},
    {Opcode::LDW, "ldw", Format::LoadWeights, Queue::Exec, InstClass::Weights},
    {Opcode::MM, "mm", Format::Matmul, Queue::Exec, InstClass::Matmul},
    // mnemonic, uses src2/ra/rb, src memory, dst memory, passes
    {Opcode::VREQ, "vreq", Format::Vector, Queue::Exec, InstClass::Vector,
     false, true, true, Memory::Accumulator, Memory::Scratchpad, 1},
    {Opcode::VDEQ, "vdeq", Format::Vector, Queue::Exec, InstClass::Vector,
     false, true, false, Memory::Accumulator, Memory::Accumulator, 1},
    {Opcode::VQNT, "vqnt", Format::Vector, Queue::Exec, InstClass::Vector,
     false, true, true, Memory::Accumulator, Memory::Scratchpad, 1},
    {Opcode::VWID, "vwid", Format::Vector, Queue::Exec, InstClass::Vector,
     false, false, false, Memory::Scratchpad, Memory::Accumulator, 1},
    {Opcode::VADD, "vadd", Format::Vector, Queue::Exec, InstClass::Vector,
     true, false, false, Memory::Accumulator, Memory::Accumulator, 1},
    {Opcode::VMUL, "vmul", Format::Vector, Queue::Exec, InstClass::Vector,
     true, false, false, Memory::Accumulator, Memory::Accumulator, 1},
    {Opcode::VSCL, "vscl", Format::Vector, Queue::Exec, InstClass::Vector,
     false, true, true, Memory::Accumulator, Memory::Accumulator, 1},
    {Opcode::VEXP, "vexp", Format::Vector, Queue::Exec, InstClass::Vector,
     false, false, false, Memory::Accumulator, Memory::Accumulator, 1},
    {Opcode::VGELU, "vgelu", Format::Vector, Queue::Exec, InstClass::Vector,
     false, false, false, Memory::Accumulator, Memory::Accumulator, 1},
    {Opcode::VSILU, "vsilu", Format::Vector, Queue::Exec, InstClass::Vector,
     false, false, false, Memory::Accumulator, Memory::Accumulator, 1},
    {Opcode::VSMAX, "vsmax", Format::Vector, Queue::Exec, InstClass::Vector,
     false, false, false, Memory::Accumulator, Memory::Accumulator, 3},
    {Opcode::VLNRM, "vlnrm", Format::Vector, Queue::Exec, InstClass::Vector,
     false, true, false, Memory::Accumulator, Memory::Accumulator, 3},
    {Opcode::VRMS, "vrms", Format::Vector, Queue::Exec, InstClass::Vector,
     false, true, false, Memory::Accumulator, Memory::Accumulator, 2},
    {Opcode::VADDI, "vaddi", Format::Vector, Queue::Exec, InstClass::Vector,
     true, false, false, Memory::Accumulator, Memory::Accumulator, 1},
};

/// Bit-field access on a 128-bit word; fields never straddle the halves
/// except where written with two calls.
uint64_t getBits(const Word &w, unsigned pos, unsigned width) {
  uint64_t value = 0;
  for (unsigned i = 0; i < width; ++i) {
    unsigned bit = pos + i;
    value |= ((w[bit / 64] >> (bit % 64)) & 1) << i;
  }
  return value;
}
void setBits(Word &w, unsigned pos, unsigned width, uint64_t value) {
  for (unsigned i = 0; i < width; ++i) {
    unsigned bit = pos + i;
    uint64_t mask = uint64_t(1) << (bit % 64);
    if ((value >> i) & 1)
      w[bit / 64] |= mask;
    else
      w[bit / 64] &= ~mask;
  }
}

/// Where each field of a format lives in the 128-bit word: (position,
/// width) and the Instruction member it holds. `use` says when an optional
/// vector operand is part of the instruction; the bits of a field it does not
/// use are reserved. Encoding, decoding and the reserved-bit check all read
/// these tables, so a field is described once.
struct BitField {
  unsigned pos, width;
  uint64_t Instruction::*wide = nullptr;
  uint32_t Instruction::*narrow = nullptr;
  bool Instruction::*flag = nullptr;
  enum Use { Always, Src2, RegA, RegB } use = Always;

  uint64_t get(const Instruction &inst) const {
    return wide ? inst.*wide : narrow ? inst.*narrow : inst.*flag;
  }
  void set(Instruction &inst, uint64_t value) const {
    if (wide)
      inst.*wide = value;
    else if (narrow)
      inst.*narrow = static_cast<uint32_t>(value);
    else
      inst.*flag = value != 0;
  }
  bool usedBy(const OpcodeInfo &op) const {
    return use == Always || (use == Src2 && op.usesSrc2) ||
           (use == RegA && op.usesRegA) || (use == RegB && op.usesRegB);
  }
};

BitField wideField(unsigned pos, unsigned width, uint64_t Instruction::*m) {
  return {pos, width, m, nullptr, nullptr};
}
BitField narrowField(unsigned pos, unsigned width, uint32_t Instruction::*m,
                     BitField::Use use = BitField::Always) {
  return {pos, width, nullptr, m, nullptr, use};
}
BitField flagField(unsigned pos, bool Instruction::*m,
                   BitField::Use use = BitField::Always) {
  return {pos, 1, nullptr, nullptr, m, use};
}

/// Bits [8, 12): the token flags every instruction has.
llvm::ArrayRef<BitField> tokenBits() {
  using I = Instruction;
  static const BitField fields[] = {
      flagField(8, &I::waitPrev), flagField(9, &I::waitNext),
      flagField(10, &I::signalPrev), flagField(11, &I::signalNext)};
  return fields;
}

llvm::ArrayRef<BitField> formatBits(Format format) {
  using I = Instruction;
  static const BitField dma[] = {
      wideField(16, 40, &I::dram), narrowField(56, 24, &I::local),
      narrowField(80, 16, &I::rows), narrowField(96, 16, &I::cols),
      narrowField(112, 16, &I::stride)};
  static const BitField setReg[] = {narrowField(16, 4, &I::reg),
                                    narrowField(32, 32, &I::bits)};
  static const BitField loadWeights[] = {
      narrowField(16, 24, &I::local), narrowField(40, 16, &I::rows),
      narrowField(56, 16, &I::cols), narrowField(72, 16, &I::stride)};
  static const BitField matmul[] = {
      narrowField(16, 24, &I::local),   narrowField(40, 24, &I::acc),
      narrowField(64, 16, &I::rows),    narrowField(80, 16, &I::stride),
      narrowField(96, 16, &I::accStride), flagField(112, &I::accumulate),
      flagField(113, &I::lhsUnsigned)};
  static const BitField vector[] = {
      narrowField(16, 24, &I::dst),
      narrowField(40, 24, &I::src),
      narrowField(64, 24, &I::src2, BitField::Src2),
      narrowField(88, 12, &I::rows),
      narrowField(100, 12, &I::cols),
      narrowField(112, 4, &I::regA, BitField::RegA),
      narrowField(116, 4, &I::regB, BitField::RegB),
      flagField(120, &I::broadcast, BitField::Src2)};
  switch (format) {
  case Format::Dma:
    return dma;
  case Format::SetReg:
    return setReg;
  case Format::LoadWeights:
    return loadWeights;
  case Format::Matmul:
    return matmul;
  case Format::Vector:
    return vector;
  }
  return {};
}

std::string hex(uint64_t value) {
  return "0x" + llvm::utohexstr(value, /*LowerCase=*/true);
}

uint64_t memorySize(Memory memory, const Config &config, uint64_t dramBytes) {
  switch (memory) {
  case Memory::Dram:
    return dramBytes;
  case Memory::Scratchpad:
    return config.scratchpadBytes;
  case Memory::Accumulator:
    return config.accumulatorWords();
  }
  return 0;
}
StringRef memoryName(Memory memory) {
  switch (memory) {
  case Memory::Dram:
    return "DRAM";
  case Memory::Scratchpad:
    return "scratchpad";
  case Memory::Accumulator:
    return "accumulator";
  }
  return "";
}

/// Checks that [start, start + extent) lies inside a memory.
llvm::Error checkRange(StringRef what, uint64_t start, uint64_t extent,
                       Memory memory, uint64_t size) {
  if (start >= size || extent > size - start)
    return fail(what + " range [" + hex(start) + ", " + hex(start + extent) +
                ") is outside the " + memoryName(memory) + " (" +
                llvm::Twine(size) +
                (memory == Memory::Accumulator ? " words)" : " bytes)"));
  return llvm::Error::success();
}
} // namespace

//===----------------------------------------------------------------------===//
// Config
//===----------------------------------------------------------------------===//

llvm::Expected<Config> Config::fromDescription(const TargetDescription &desc) {
  Config config;
  config.name = desc.name().str();
  auto get = [&](StringRef path, double &out) -> llvm::Error {
    std::optional<double> value = desc.number(path);
    if (!value || !(*value > 0))
      return fail(desc.origin() + ": NPU field '" + path +
                  "' must be a number > 0");
    out = *value;
    return llvm::Error::success();
  };
  auto getInt = [&](StringRef path, int64_t &out,
                    uint64_t maximum) -> llvm::Error {
    double value = 0;
    if (llvm::Error error = get(path, value))
      return error;
    if (value != std::floor(value) || value > double(maximum))
      return fail(desc.origin() + ": NPU field '" + path +
                  "' must be a whole number <= " + llvm::Twine(maximum) +
                  " (the instruction encoding's limit)");
    out = static_cast<int64_t>(value);
    return llvm::Error::success();
  };
  if (desc.kind() != "npu")
    return fail(desc.origin() + ": description '" + desc.name() +
                "' is of kind '" + desc.kind() + "', not 'npu'");
  double dmaLatency;
  if (llvm::Error e = getInt("npu.array_rows", config.arrayRows, 0xffff))
    return std::move(e);
  if (llvm::Error e = getInt("npu.array_cols", config.arrayCols, 0xffff))
    return std::move(e);
  if (llvm::Error e = getInt("npu.scratchpad_bytes", config.scratchpadBytes,
                             limit(kAddressBits)))
    return std::move(e);
  if (llvm::Error e = getInt("npu.accumulator_bytes", config.accumulatorBytes,
                             4 * limit(kAddressBits)))
    return std::move(e);
  if (llvm::Error e = getInt("npu.vector_lanes", config.vectorLanes, 0xffff))
    return std::move(e);
  if (llvm::Error e = get("npu.dma_latency_cycles", dmaLatency))
    return std::move(e);
  config.dmaLatencyCycles = static_cast<int64_t>(dmaLatency);
  if (llvm::Error e = get("clock_hz", config.clockHz))
    return std::move(e);
  if (llvm::Error e = get("memory.bandwidth_bytes_per_s",
                          config.dramBytesPerSecond))
    return std::move(e);
  config.dramCapacityBytes =
      desc.number("memory.capacity_bytes").value_or(double(limit(kDramBits)));
  if (llvm::Error e = get("npu.energy_per_mac_j.int8", config.energyPerMacJ))
    return std::move(e);
  if (llvm::Error e =
          get("npu.energy_per_byte_j.dram", config.energyPerDramByteJ))
    return std::move(e);
  if (llvm::Error e =
          get("npu.energy_per_byte_j.sram", config.energyPerSramByteJ))
    return std::move(e);
  if (llvm::Error e =
          get("npu.energy_per_vector_op_j", config.energyPerVectorOpJ))
    return std::move(e);
  if (llvm::Error e = get("npu.static_power_w", config.staticPowerW))
    return std::move(e);
  if (config.accumulatorBytes % 4)
    return fail(desc.origin() +
                ": NPU field 'npu.accumulator_bytes' must be a multiple of 4");
  return config;
}

llvm::Expected<Config> Config::load(StringRef nameOrPath) {
  static std::mutex mutex;
  static llvm::StringMap<Config> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(nameOrPath);
  if (it != cache.end())
    return it->second;
  llvm::Expected<TargetDescription> desc = TargetDescription::load(nameOrPath);
  if (!desc)
    return desc.takeError();
  llvm::Expected<Config> config = fromDescription(*desc);
  if (!config)
    return config.takeError();
  cache[nameOrPath] = *config;
  return *config;
}

//===----------------------------------------------------------------------===//
// Opcodes and types
//===----------------------------------------------------------------------===//

llvm::ArrayRef<OpcodeInfo> npu::allOpcodes() { return kOpcodes; }

const OpcodeInfo *npu::lookupOpcode(uint8_t value) {
  for (const OpcodeInfo &op : kOpcodes)
    if (static_cast<uint8_t>(op.opcode) == value)
      return &op;
  return nullptr;
}

const OpcodeInfo *npu::lookupMnemonic(StringRef mnemonic) {
  for (const OpcodeInfo &op : kOpcodes)
    if (op.mnemonic == mnemonic)
      return &op;
  return nullptr;
}

const OpcodeInfo &npu::info(Opcode opcode) {
  return *lookupOpcode(static_cast<uint8_t>(opcode));
}

StringRef npu::elemTypeName(ElemType type) {
  switch (type) {
  case ElemType::I8:
    return "i8";
  case ElemType::I32:
    return "i32";
  case ElemType::F32:
    return "f32";
  }
  return "";
}
std::optional<ElemType> npu::elemTypeFromName(StringRef name) {
  if (name == "i8")
    return ElemType::I8;
  if (name == "i32")
    return ElemType::I32;
  if (name == "f32")
    return ElemType::F32;
  return std::nullopt;
}
unsigned npu::elemTypeBytes(ElemType type) {
  return type == ElemType::I8 ? 1 : 4;
}
uint64_t TensorBinding::byteSize() const {
  uint64_t n = elemTypeBytes(type);
  for (int64_t d : shape)
    n *= static_cast<uint64_t>(d);
  return n;
}

bool Instruction::operator==(const Instruction &o) const {
  return encode(*this) == encode(o);
}

//===----------------------------------------------------------------------===//
// Encoding
//===----------------------------------------------------------------------===//

Word npu::encode(const Instruction &inst) {
  Word w = {0, 0};
  setBits(w, 0, 8, static_cast<uint8_t>(inst.opcode));
  for (llvm::ArrayRef<BitField> fields :
       {tokenBits(), formatBits(info(inst.opcode).format)})
    for (const BitField &field : fields)
      setBits(w, field.pos, field.width, field.get(inst));
  return w;
}

llvm::Expected<Instruction> npu::decode(const Word &w) {
  uint8_t code = static_cast<uint8_t>(getBits(w, 0, 8));
  const OpcodeInfo *op = lookupOpcode(code);
  if (!op)
    return fail("unknown opcode " + hex(code));
  Word used = {0, 0};
  setBits(used, 0, 12, ~uint64_t(0)); // opcode and token flags
  for (const BitField &field : formatBits(op->format))
    if (field.usedBy(*op))
      setBits(used, field.pos, field.width, ~uint64_t(0));
  if ((w[0] & ~used[0]) || (w[1] & ~used[1]))
    return fail(op->mnemonic + ": reserved bits set (" +
                hex(w[1] & ~used[1]) + ":" + hex(w[0] & ~used[0]) + ")");
  Instruction inst;
  inst.opcode = op->opcode;
  for (llvm::ArrayRef<BitField> fields : {tokenBits(), formatBits(op->format)})
    for (const BitField &field : fields)
      field.set(inst, getBits(w, field.pos, field.width));
  return inst;
}

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

llvm::Error
npu::validate(const Instruction &inst, const Config &config,
              uint64_t dramBytes,
              std::optional<std::pair<uint32_t, uint32_t>> weights) {
  const OpcodeInfo &op = info(inst.opcode);
  StringRef name = op.mnemonic;
  auto fits = [&](StringRef field, uint64_t value, int bits) -> llvm::Error {
    if (value >= limit(bits))
      return fail(name + ": " + field + " " + llvm::Twine(value) +
                  " does not fit its " + llvm::Twine(bits) + "-bit field");
    return llvm::Error::success();
  };
  auto positive = [&](StringRef field, uint64_t value) -> llvm::Error {
    if (value == 0)
      return fail(name + ": " + field + " must be at least 1");
    return llvm::Error::success();
  };
  if (op.queue == Queue::Load && (inst.waitPrev || inst.signalPrev))
    return fail(name + ": the load queue has no previous queue "
                       "(wait_prev/signal_prev)");
  if (op.queue == Queue::Store && (inst.waitNext || inst.signalNext))
    return fail(name + ": the store queue has no next queue "
                       "(wait_next/signal_next)");
  auto wrap = [&](llvm::Error error) -> llvm::Error {
    if (!error)
      return error;
    return fail(name + ": " + llvm::toString(std::move(error)));
  };

  switch (op.format) {
  case Format::Dma: {
    if (auto e = fits("dram", inst.dram, kDramBits))
      return e;
    if (auto e = fits("local address", inst.local, kAddressBits))
      return e;
    for (auto [field, value] : {std::pair<StringRef, uint64_t>{"rows", inst.rows},
                                {"cols", inst.cols},
                                {"stride", inst.stride}})
      if (auto e = fits(field, value, kCountBits))
        return e;
    if (auto e = positive("rows", inst.rows))
      return e;
    if (auto e = positive("cols", inst.cols))
      return e;
    bool toAcc = inst.opcode == Opcode::LDA || inst.opcode == Opcode::STA;
    Memory local = toAcc ? Memory::Accumulator : Memory::Scratchpad;
    uint64_t elem = toAcc ? 4 : 1;
    uint64_t rowBytes = uint64_t(inst.cols) * elem;
    if (op.queue == Queue::Store && inst.rows > 1 && inst.stride < rowBytes)
      return fail(name + ": DRAM stride " + llvm::Twine(inst.stride) +
                  " is smaller than a row (" + llvm::Twine(rowBytes) +
                  " bytes): stored rows would overlap");
    if (auto e = wrap(checkRange(toAcc ? "acc" : "sp", inst.local,
                                 uint64_t(inst.rows) * inst.cols, local,
                                 memorySize(local, config, dramBytes))))
      return e;
    return wrap(checkRange("dram", inst.dram,
                           uint64_t(inst.rows - 1) * inst.stride + rowBytes,
                           Memory::Dram, dramBytes));
  }
  case Format::SetReg:
    return fits("reg", inst.reg, kRegBits);
  case Format::LoadWeights: {
    if (auto e = fits("sp", inst.local, kAddressBits))
      return e;
    if (auto e = fits("stride", inst.stride, kCountBits))
      return e;
    if (inst.rows < 1 || inst.rows > config.arrayRows || inst.cols < 1 ||
        inst.cols > config.arrayCols)
      return fail(name + ": weight tile " + llvm::Twine(inst.rows) + "x" +
                  llvm::Twine(inst.cols) + " does not fit the " +
                  llvm::Twine(config.arrayRows) + "x" +
                  llvm::Twine(config.arrayCols) + " array");
    return wrap(checkRange("sp", inst.local,
                           uint64_t(inst.rows - 1) * inst.stride + inst.cols,
                           Memory::Scratchpad, config.scratchpadBytes));
  }
  case Format::Matmul: {
    if (auto e = fits("sp", inst.local, kAddressBits))
      return e;
    if (auto e = fits("acc", inst.acc, kAddressBits))
      return e;
    for (auto [field, value] :
         {std::pair<StringRef, uint64_t>{"m", inst.rows},
          {"sp_stride", inst.stride},
          {"acc_stride", inst.accStride}})
      if (auto e = fits(field, value, kCountBits))
        return e;
    if (auto e = positive("m", inst.rows))
      return e;
    if (!weights)
      return fail(name + ": no ldw before it: the array holds no weights");
    auto [k, n] = *weights;
    if (inst.rows > 1 && inst.accStride < n)
      return fail(name + ": acc_stride " + llvm::Twine(inst.accStride) +
                  " is smaller than the weight tile's " + llvm::Twine(n) +
                  " columns: output rows would overlap");
    if (auto e = wrap(checkRange("sp", inst.local,
                                 uint64_t(inst.rows - 1) * inst.stride + k,
                                 Memory::Scratchpad, config.scratchpadBytes)))
      return e;
    return wrap(checkRange("acc", inst.acc,
                           uint64_t(inst.rows - 1) * inst.accStride + n,
                           Memory::Accumulator, config.accumulatorWords()));
  }
  case Format::Vector: {
    for (auto [field, value] : {std::pair<StringRef, uint64_t>{"dst", inst.dst},
                                {"src", inst.src},
                                {"src2", inst.src2}})
      if (auto e = fits(field, value, kAddressBits))
        return e;
    if (auto e = fits("rows", inst.rows, kVectorCountBits))
      return e;
    if (auto e = fits("cols", inst.cols, kVectorCountBits))
      return e;
    if (auto e = fits("ra", inst.regA, kRegBits))
      return e;
    if (auto e = fits("rb", inst.regB, kRegBits))
      return e;
    if (auto e = positive("rows", inst.rows))
      return e;
    if (auto e = positive("cols", inst.cols))
      return e;
    if ((!op.usesSrc2 && (inst.src2 || inst.broadcast)) ||
        (!op.usesRegA && inst.regA) || (!op.usesRegB && inst.regB))
      return fail(name + ": sets an operand the instruction does not use");
    uint64_t elements = uint64_t(inst.rows) * inst.cols;
    if (auto e = wrap(checkRange("src", inst.src, elements, op.srcMemory,
                                 memorySize(op.srcMemory, config, dramBytes))))
      return e;
    if (op.usesSrc2)
      if (auto e = wrap(checkRange(
              "src2", inst.src2, inst.broadcast ? inst.cols : elements,
              Memory::Accumulator, config.accumulatorWords())))
        return e;
    return wrap(checkRange("dst", inst.dst, elements, op.dstMemory,
                           memorySize(op.dstMemory, config, dramBytes)));
  }
  }
  return llvm::Error::success();
}

llvm::Error npu::validate(const Program &program, const Config &config,
                          int64_t *failedIndex) {
  if (failedIndex)
    *failedIndex = -1;
  if (double(program.dramBytes) > config.dramCapacityBytes)
    return fail("the program's DRAM (" + llvm::Twine(program.dramBytes) +
                " bytes) exceeds the capacity of '" + config.name + "' (" +
                llvm::Twine(uint64_t(config.dramCapacityBytes)) + " bytes)");
  if (program.dramBytes >= limit(kDramBits))
    return fail("the program's DRAM exceeds the 40-bit address space");
  llvm::StringSet<> names;
  for (const TensorBinding &tensor : program.tensors) {
    if (tensor.name.empty())
      return fail("a tensor has no name");
    if (!names.insert(tensor.name).second)
      return fail("tensor '" + tensor.name + "' is declared twice");
    // The size is computed with a bound at every step: a shape whose size
    // overflows must not wrap around into a small one.
    uint64_t bytes = elemTypeBytes(tensor.type);
    for (int64_t d : tensor.shape) {
      if (d <= 0)
        return fail("tensor '" + tensor.name +
                    "' has a dimension that is not positive");
      if (uint64_t(d) > program.dramBytes ||
          bytes > program.dramBytes / uint64_t(d))
        return fail("tensor '" + tensor.name +
                    "' is larger than the program's DRAM (" +
                    llvm::Twine(program.dramBytes) + " bytes)");
      bytes *= uint64_t(d);
    }
    if (tensor.dram >= program.dramBytes ||
        tensor.byteSize() > program.dramBytes - tensor.dram)
      return fail("tensor '" + tensor.name + "' (" +
                  llvm::Twine(tensor.byteSize()) + " bytes at " +
                  hex(tensor.dram) + ") is outside the program's DRAM (" +
                  llvm::Twine(program.dramBytes) + " bytes)");
  }
  std::optional<std::pair<uint32_t, uint32_t>> weights;
  for (auto [index, inst] : llvm::enumerate(program.code)) {
    if (llvm::Error error =
            validate(inst, config, program.dramBytes, weights)) {
      if (failedIndex)
        *failedIndex = static_cast<int64_t>(index);
      return fail("instruction " + llvm::Twine(index) + " (" +
                  llvm::toString(std::move(error)) + ")");
    }
    if (inst.opcode == Opcode::LDW)
      weights = {inst.rows, inst.cols};
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Assembly
//===----------------------------------------------------------------------===//

llvm::SmallVector<InstructionField> npu::instructionFields(const OpcodeInfo &op) {
  using I = Instruction;
  switch (op.format) {
  case Format::Dma: {
    bool acc = op.opcode == Opcode::LDA || op.opcode == Opcode::STA;
    return {{acc ? "acc" : "sp", nullptr, &I::local, true},
            {"dram", &I::dram, nullptr, true},
            {"rows", nullptr, &I::rows},
            {"cols", nullptr, &I::cols},
            {"stride", nullptr, &I::stride}};
  }
  case Format::SetReg:
    return {{"reg", nullptr, &I::reg}};
  case Format::LoadWeights:
    return {{"sp", nullptr, &I::local, true},
            {"k", nullptr, &I::rows},
            {"n", nullptr, &I::cols},
            {"stride", nullptr, &I::stride}};
  case Format::Matmul:
    return {{"sp", nullptr, &I::local, true},
            {"acc", nullptr, &I::acc, true},
            {"m", nullptr, &I::rows},
            {"sp_stride", nullptr, &I::stride},
            {"acc_stride", nullptr, &I::accStride}};
  case Format::Vector: {
    llvm::SmallVector<InstructionField> fields = {{"dst", nullptr, &I::dst, true},
                                          {"src", nullptr, &I::src, true}};
    if (op.usesSrc2)
      fields.push_back({"src2", nullptr, &I::src2, true});
    fields.push_back({"rows", nullptr, &I::rows});
    fields.push_back({"cols", nullptr, &I::cols});
    if (op.usesRegA)
      fields.push_back({"ra", nullptr, &I::regA});
    if (op.usesRegB)
      fields.push_back({"rb", nullptr, &I::regB});
    return fields;
  }
  }
  return {};
}

llvm::SmallVector<InstructionFlag> npu::instructionFlags(const OpcodeInfo &op) {
  using I = Instruction;
  llvm::SmallVector<InstructionFlag> flags;
  if (op.format == Format::Matmul)
    flags.push_back({"accumulate", &I::accumulate});
  if (op.format == Format::Matmul)
    flags.push_back({"lhs_unsigned", &I::lhsUnsigned});
  if (op.format == Format::Vector && op.usesSrc2)
    flags.push_back({"broadcast", &I::broadcast});
  if (op.queue != Queue::Load)
    flags.push_back({"wait_prev", &I::waitPrev});
  if (op.queue != Queue::Store)
    flags.push_back({"wait_next", &I::waitNext});
  if (op.queue != Queue::Load)
    flags.push_back({"signal_prev", &I::signalPrev});
  if (op.queue != Queue::Store)
    flags.push_back({"signal_next", &I::signalNext});
  return flags;
}

llvm::ArrayRef<InstructionFlag> npu::tokenFlags() {
  using I = Instruction;
  static const InstructionFlag flags[] = {{"wait_prev", &I::waitPrev},
                                          {"wait_next", &I::waitNext},
                                          {"signal_prev", &I::signalPrev},
                                          {"signal_next", &I::signalNext}};
  return flags;
}

namespace {

std::string formatFloatBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, 4);
  if (!std::isfinite(value))
    return hex(bits);
  std::string text;
  llvm::raw_string_ostream(text) << llvm::format("%.9g", value);
  return text;
}

llvm::Expected<uint32_t> parseFloatBits(StringRef text) {
  uint64_t bits;
  if (text.starts_with("0x") && !text.getAsInteger(0, bits) &&
      bits <= 0xffffffffu)
    return static_cast<uint32_t>(bits);
  std::string copy = text.str();
  char *end = nullptr;
  float value = std::strtof(copy.c_str(), &end);
  if (copy.empty() || *end)
    return fail("'" + text + "' is not a number");
  uint32_t out;
  std::memcpy(&out, &value, 4);
  return out;
}
} // namespace

void npu::printInstruction(const Instruction &inst, llvm::raw_ostream &os) {
  const OpcodeInfo &op = info(inst.opcode);
  os << op.mnemonic;
  for (const InstructionField &field : instructionFields(op)) {
    uint64_t value = field.wide ? inst.*field.wide : inst.*field.narrow;
    os << ' ' << field.key << '=';
    if (field.isAddress)
      os << hex(value);
    else
      os << value;
  }
  if (op.format == Format::SetReg)
    os << " value=" << formatFloatBits(inst.bits);
  for (const InstructionFlag &flag : instructionFlags(op))
    if (inst.*flag.member)
      os << ' ' << flag.key;
}

llvm::Expected<Instruction> npu::parseInstruction(StringRef text) {
  llvm::SmallVector<StringRef> words;
  llvm::SplitString(text, words);
  if (words.empty())
    return fail("empty instruction");
  const OpcodeInfo *op = lookupMnemonic(words[0]);
  if (!op)
    return fail("unknown mnemonic '" + words[0] + "'");
  Instruction inst;
  inst.opcode = op->opcode;
  llvm::SmallVector<InstructionField> fields = instructionFields(*op);
  llvm::SmallVector<InstructionFlag> flags = instructionFlags(*op);
  llvm::StringSet<> seen;
  bool sawValue = false;
  for (StringRef word : llvm::drop_begin(words)) {
    auto [key, value] = word.split('=');
    if (!seen.insert(key).second)
      return fail(op->mnemonic + ": '" + key + "' given twice");
    if (word.contains('=')) {
      if (op->format == Format::SetReg && key == "value") {
        llvm::Expected<uint32_t> bits = parseFloatBits(value);
        if (!bits)
          return fail(op->mnemonic + ": value: " +
                      llvm::toString(bits.takeError()));
        inst.bits = *bits;
        sawValue = true;
        continue;
      }
      auto field = llvm::find_if(
          fields, [&, &key = key](const InstructionField &f) { return f.key == key; });
      if (field == fields.end())
        return fail(op->mnemonic + ": unknown field '" + key + "'");
      uint64_t number;
      if (value.getAsInteger(0, number))
        return fail(op->mnemonic + ": " + key + ": '" + value +
                    "' is not an unsigned integer");
      uint64_t maximum = field->wide ? limit(kDramBits) - 1 : 0xffffffffu;
      if (number > maximum)
        return fail(op->mnemonic + ": " + key + " " + value +
                    " is too large for its field");
      if (field->wide)
        inst.*field->wide = number;
      else
        inst.*field->narrow = static_cast<uint32_t>(number);
      continue;
    }
    auto flag = llvm::find_if(
        flags, [&](const InstructionFlag &f) { return f.key == word; });
    if (flag == flags.end())
      return fail(op->mnemonic + ": unknown flag '" + word + "'");
    inst.*flag->member = true;
  }
  for (const InstructionField &field : fields)
    if (!seen.contains(field.key))
      return fail(op->mnemonic + ": missing field '" + field.key + "'");
  if (op->format == Format::SetReg && !sawValue)
    return fail(op->mnemonic + ": missing field 'value'");
  return inst;
}

void npu::printAssembly(const Program &program, llvm::raw_ostream &os) {
  os << ".target " << program.target << "\n";
  os << ".dram " << program.dramBytes << "\n";
  for (const TensorBinding &tensor : program.tensors) {
    os << ".tensor " << (tensor.isOutput ? "output " : "input ") << tensor.name
       << ' ' << elemTypeName(tensor.type) << ' ';
    llvm::interleave(tensor.shape, os, "x");
    os << " @" << hex(tensor.dram) << "\n";
  }
  for (const Instruction &inst : program.code) {
    printInstruction(inst, os);
    os << "\n";
  }
}

llvm::Expected<Program> npu::parseAssembly(StringRef text,
                                           StringRef bufferName) {
  Program program;
  bool sawDram = false;
  llvm::SmallVector<StringRef> lines;
  text.split(lines, '\n');
  for (auto [index, rawLine] : llvm::enumerate(lines)) {
    auto where = [&, index = index](const llvm::Twine &message) {
      return fail(bufferName + ":" + llvm::Twine(index + 1) + ": " + message);
    };
    StringRef line = rawLine.split('#').first.split(';').first.trim();
    if (line.empty())
      continue;
    if (!line.starts_with(".")) {
      llvm::Expected<Instruction> inst = parseInstruction(line);
      if (!inst)
        return where(llvm::toString(inst.takeError()));
      program.code.push_back(*inst);
      continue;
    }
    llvm::SmallVector<StringRef> words;
    llvm::SplitString(line, words);
    if (words[0] == ".target" && words.size() == 2) {
      program.target = words[1].str();
    } else if (words[0] == ".dram" && words.size() == 2) {
      if (words[1].getAsInteger(0, program.dramBytes))
        return where("'.dram' needs a byte count");
      sawDram = true;
    } else if (words[0] == ".tensor" && words.size() == 6) {
      TensorBinding tensor;
      if (words[1] != "input" && words[1] != "output")
        return where("'.tensor' role must be 'input' or 'output', not '" +
                     words[1] + "'");
      tensor.isOutput = words[1] == "output";
      tensor.name = words[2].str();
      std::optional<ElemType> type = elemTypeFromName(words[3]);
      if (!type)
        return where("unknown element type '" + words[3] +
                     "' (expected i8, i32 or f32)");
      tensor.type = *type;
      llvm::SmallVector<StringRef> dims;
      words[4].split(dims, 'x');
      for (StringRef dim : dims) {
        int64_t value;
        if (dim.getAsInteger(10, value) || value <= 0)
          return where("bad shape '" + words[4] + "'");
        tensor.shape.push_back(value);
      }
      if (!words[5].starts_with("@") ||
          words[5].drop_front().getAsInteger(0, tensor.dram))
        return where("'.tensor' address must be '@ADDRESS'");
      program.tensors.push_back(std::move(tensor));
    } else {
      return where("unknown or malformed directive '" + line + "'");
    }
  }
  if (!sawDram)
    return fail(bufferName + ": missing '.dram BYTES' directive");
  return program;
}

//===----------------------------------------------------------------------===//
// Container
//===----------------------------------------------------------------------===//

namespace {
constexpr char kMagic[4] = {'L', 'N', 'P', 'U'};
constexpr uint32_t kVersion = 1;

struct Writer {
  std::string out;
  template <typename T> void put(T value) {
    char bytes[sizeof(T)];
    llvm::support::endian::write<T, llvm::endianness::little>(bytes, value);
    out.append(bytes, sizeof(T));
  }
  void putString(StringRef s) {
    put<uint16_t>(static_cast<uint16_t>(s.size()));
    out.append(s.data(), s.size());
  }
};

struct Reader {
  StringRef bytes;
  size_t offset = 0;
  bool failed = false;
  template <typename T> T get() {
    if (bytes.size() - offset < sizeof(T)) {
      failed = true;
      offset = bytes.size();
      return T();
    }
    T value = llvm::support::endian::read<T, llvm::endianness::little>(
        bytes.data() + offset);
    offset += sizeof(T);
    return value;
  }
  std::string getString() {
    uint16_t size = get<uint16_t>();
    if (failed || bytes.size() - offset < size) {
      failed = true;
      return "";
    }
    std::string s = bytes.substr(offset, size).str();
    offset += size;
    return s;
  }
};
} // namespace

bool npu::isBinary(StringRef bytes) {
  return bytes.starts_with(StringRef(kMagic, 4));
}

std::string npu::writeBinary(const Program &program) {
  Writer w;
  w.out.append(kMagic, 4);
  w.put<uint32_t>(kVersion);
  w.put<uint32_t>(static_cast<uint32_t>(program.code.size()));
  w.put<uint32_t>(static_cast<uint32_t>(program.tensors.size()));
  w.put<uint64_t>(program.dramBytes);
  w.putString(program.target);
  for (const TensorBinding &tensor : program.tensors) {
    w.putString(tensor.name);
    w.put<uint8_t>(tensor.isOutput);
    w.put<uint8_t>(static_cast<uint8_t>(tensor.type));
    w.put<uint8_t>(static_cast<uint8_t>(tensor.shape.size()));
    for (int64_t d : tensor.shape)
      w.put<uint64_t>(static_cast<uint64_t>(d));
    w.put<uint64_t>(tensor.dram);
  }
  for (const Instruction &inst : program.code) {
    Word word = encode(inst);
    w.put<uint64_t>(word[0]);
    w.put<uint64_t>(word[1]);
  }
  return w.out;
}

llvm::Expected<Program> npu::readBinary(StringRef bytes, StringRef bufferName) {
  if (!isBinary(bytes))
    return fail(bufferName + ": not an NPU program (no 'LNPU' magic)");
  Reader r{bytes, 4};
  uint32_t version = r.get<uint32_t>();
  uint32_t count = r.get<uint32_t>();
  uint32_t tensors = r.get<uint32_t>();
  Program program;
  program.dramBytes = r.get<uint64_t>();
  program.target = r.getString();
  if (r.failed)
    return fail(bufferName + ": truncated header");
  if (version != kVersion)
    return fail(bufferName + ": unsupported version " + llvm::Twine(version));
  for (uint32_t i = 0; i < tensors && !r.failed; ++i) {
    TensorBinding tensor;
    tensor.name = r.getString();
    uint8_t role = r.get<uint8_t>();
    uint8_t type = r.get<uint8_t>();
    uint8_t rank = r.get<uint8_t>();
    if (r.failed)
      break;
    if (role > 1 || type > 2)
      return fail(bufferName + ": tensor " + llvm::Twine(i) +
                  ": bad role or element type");
    tensor.isOutput = role;
    tensor.type = static_cast<ElemType>(type);
    for (uint8_t d = 0; d < rank; ++d)
      tensor.shape.push_back(static_cast<int64_t>(r.get<uint64_t>()));
    tensor.dram = r.get<uint64_t>();
    program.tensors.push_back(std::move(tensor));
  }
  if (r.failed)
    return fail(bufferName + ": truncated tensor table");
  if ((bytes.size() - r.offset) != uint64_t(count) * 16)
    return fail(bufferName + ": the header announces " + llvm::Twine(count) +
                " instructions (" + llvm::Twine(uint64_t(count) * 16) +
                " bytes) but " + llvm::Twine(bytes.size() - r.offset) +
                " bytes follow");
  program.code.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    Word word;
    word[0] = r.get<uint64_t>();
    word[1] = r.get<uint64_t>();
    llvm::Expected<Instruction> inst = decode(word);
    if (!inst)
      return fail(bufferName + ": instruction " + llvm::Twine(i) + ": " +
                  llvm::toString(inst.takeError()));
    program.code.push_back(*inst);
  }
  return program;
}

llvm::Expected<Program> npu::readProgramFile(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(path, /*IsText=*/false);
  if (!buffer)
    return fail(path + ": cannot read: " + buffer.getError().message());
  StringRef bytes = (*buffer)->getBuffer();
  if (isBinary(bytes))
    return readBinary(bytes, path);
  return parseAssembly(bytes, path);
}
