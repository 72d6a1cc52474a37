//===- Simulator.cpp - cycle-level simulator of the llmc NPU --------------===//
//
// An event-ordered simulation: of the three queues' head instructions, the
// one that can start earliest (its tokens available, its units free) issues
// next; its functional effect happens then and its completion time pushes the
// tokens it signals. No queue can start → a deadlock, reported with what each
// queue waits for.
//
//===----------------------------------------------------------------------===//
#include "llmc/Runtime/NPU/Simulator.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>

using namespace llmc;
using namespace llmc::npu;
using llvm::StringRef;

namespace {
llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Token channels between adjacent queues (VTA's four dependency queues).
enum Channel { LoadToExec, ExecToLoad, ExecToStore, StoreToExec, NumChannels };
const char *kChannelNames[] = {"load->exec", "exec->load", "exec->store",
                               "store->exec"};
const char *kQueueNames[] = {"load", "exec", "store"};

/// The channel an instruction of `queue` pops for wait_prev/wait_next and
/// pushes for signal_prev/signal_next; -1 where the queue has no neighbour.
int waitChannel(Queue queue, bool prev) {
  switch (queue) {
  case Queue::Load:
    return prev ? -1 : ExecToLoad;
  case Queue::Exec:
    return prev ? LoadToExec : StoreToExec;
  case Queue::Store:
    return prev ? ExecToStore : -1;
  }
  return -1;
}
int signalChannel(Queue queue, bool prev) {
  switch (queue) {
  case Queue::Load:
    return prev ? -1 : LoadToExec;
  case Queue::Exec:
    return prev ? ExecToLoad : ExecToStore;
  case Queue::Store:
    return prev ? StoreToExec : -1;
  }
  return -1;
}

float asFloat(int32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
int32_t asBits(float f) {
  int32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

/// A half-open address range in one memory, for the exec interlock.
struct Range {
  Memory memory = Memory::Accumulator;
  uint64_t begin = 0, end = 0;
  bool overlaps(const Range &o) const {
    return memory == o.memory && begin < o.end && o.begin < end;
  }
};
} // namespace

struct Simulator::Impl {
  Program program;
  Config config;
  // DRAM is calloc'ed: pages a program never touches cost nothing.
  std::unique_ptr<uint8_t, void (*)(void *)> dram{nullptr, std::free};
  std::vector<int8_t> scratchpad;
  std::vector<int32_t> accumulator;
  std::vector<int32_t> weights; // arrayRows x arrayCols
  uint32_t weightRows = 0, weightCols = 0;
  uint32_t registers[16] = {};
  std::vector<uint32_t> rowBuffer; // one output row of an MM

  // Statistics.
  uint64_t cycles = 0, macs = 0, laneOps = 0;
  uint64_t dramRead = 0, dramWrite = 0, spRead = 0, spWrite = 0, accRead = 0,
           accWrite = 0;
  uint64_t dramBusy = 0, arrayBusy = 0, vectorBusy = 0;
  uint64_t classCounts[6] = {};
  double hostSeconds = 0;

  void execute(const Instruction &inst);
  void executeVector(const Instruction &inst);
};

Simulator::Simulator() : impl(std::make_unique<Impl>()) {}
Simulator::~Simulator() = default;
const Program &Simulator::program() const { return impl->program; }

llvm::Expected<std::unique_ptr<Simulator>>
Simulator::create(Program program, const Config &config) {
  int64_t index;
  if (llvm::Error error = validate(program, config, &index))
    return std::move(error);
  std::unique_ptr<Simulator> sim(new Simulator());
  Impl &s = *sim->impl;
  s.config = config;
  s.dram.reset(static_cast<uint8_t *>(
      std::calloc(std::max<uint64_t>(program.dramBytes, 1), 1)));
  if (!s.dram)
    return fail("cannot allocate the program's DRAM (" +
                llvm::Twine(program.dramBytes) + " bytes)");
  s.scratchpad.assign(config.scratchpadBytes, 0);
  s.accumulator.assign(config.accumulatorWords(), 0);
  s.weights.assign(config.arrayRows * config.arrayCols, 0);
  s.rowBuffer.assign(config.arrayCols, 0);
  s.program = std::move(program);
  return std::move(sim);
}

llvm::Error Simulator::setTensor(StringRef name, const void *data,
                                 size_t bytes) {
  for (const TensorBinding &tensor : impl->program.tensors)
    if (tensor.name == name) {
      if (bytes != tensor.byteSize())
        return fail("tensor '" + name + "' has " + llvm::Twine(bytes) +
                    " bytes, the program expects " +
                    llvm::Twine(tensor.byteSize()));
      std::memcpy(impl->dram.get() + tensor.dram, data, bytes);
      return llvm::Error::success();
    }
  return fail("the program has no tensor '" + name + "'");
}

llvm::ArrayRef<uint8_t> Simulator::tensorBytes(StringRef name) const {
  for (const TensorBinding &tensor : impl->program.tensors)
    if (tensor.name == name)
      return {impl->dram.get() + tensor.dram, tensor.byteSize()};
  return {};
}

void Simulator::Impl::execute(const Instruction &inst) {
  uint8_t *mem = dram.get();
  switch (inst.opcode) {
  case Opcode::LD:
    for (uint32_t r = 0; r < inst.rows; ++r)
      std::memcpy(&scratchpad[inst.local + uint64_t(r) * inst.cols],
                  mem + inst.dram + uint64_t(r) * inst.stride, inst.cols);
    dramRead += uint64_t(inst.rows) * inst.cols;
    spWrite += uint64_t(inst.rows) * inst.cols;
    return;
  case Opcode::LDA:
    for (uint32_t r = 0; r < inst.rows; ++r)
      std::memcpy(&accumulator[inst.local + uint64_t(r) * inst.cols],
                  mem + inst.dram + uint64_t(r) * inst.stride,
                  4 * uint64_t(inst.cols));
    dramRead += 4 * uint64_t(inst.rows) * inst.cols;
    accWrite += 4 * uint64_t(inst.rows) * inst.cols;
    return;
  case Opcode::ST:
    for (uint32_t r = 0; r < inst.rows; ++r)
      std::memcpy(mem + inst.dram + uint64_t(r) * inst.stride,
                  &scratchpad[inst.local + uint64_t(r) * inst.cols], inst.cols);
    dramWrite += uint64_t(inst.rows) * inst.cols;
    spRead += uint64_t(inst.rows) * inst.cols;
    return;
  case Opcode::STA:
    for (uint32_t r = 0; r < inst.rows; ++r)
      std::memcpy(mem + inst.dram + uint64_t(r) * inst.stride,
                  &accumulator[inst.local + uint64_t(r) * inst.cols],
                  4 * uint64_t(inst.cols));
    dramWrite += 4 * uint64_t(inst.rows) * inst.cols;
    accRead += 4 * uint64_t(inst.rows) * inst.cols;
    return;
  case Opcode::SETR:
    registers[inst.reg] = inst.bits;
    return;
  case Opcode::LDW: {
    int64_t cols = config.arrayCols;
    for (uint32_t i = 0; i < inst.rows; ++i)
      for (uint32_t j = 0; j < inst.cols; ++j)
        weights[i * cols + j] =
            scratchpad[inst.local + uint64_t(i) * inst.stride + j];
    weightRows = inst.rows;
    weightCols = inst.cols;
    spRead += uint64_t(inst.rows) * inst.cols;
    return;
  }
  case Opcode::MM: {
    const uint32_t k = weightRows, n = weightCols;
    const int64_t cols = config.arrayCols;
    // Two's-complement wrap-around on overflow, as the hardware's adders.
    uint32_t *row = rowBuffer.data();
    for (uint32_t r = 0; r < inst.rows; ++r) {
      const int8_t *a = &scratchpad[inst.local + uint64_t(r) * inst.stride];
      int32_t *out = &accumulator[inst.acc + uint64_t(r) * inst.accStride];
      for (uint32_t j = 0; j < n; ++j)
        row[j] = inst.accumulate ? static_cast<uint32_t>(out[j]) : 0u;
      for (uint32_t i = 0; i < k; ++i) {
        const int32_t ai =
            inst.lhsUnsigned ? int32_t(static_cast<uint8_t>(a[i])) : a[i];
        const int32_t *w = &weights[i * cols];
        for (uint32_t j = 0; j < n; ++j)
          row[j] += static_cast<uint32_t>(ai * w[j]);
      }
      for (uint32_t j = 0; j < n; ++j)
        out[j] = static_cast<int32_t>(row[j]);
    }
    macs += uint64_t(inst.rows) * k * n;
    spRead += uint64_t(inst.rows) * k;
    accWrite += 4 * uint64_t(inst.rows) * n;
    if (inst.accumulate)
      accRead += 4 * uint64_t(inst.rows) * n;
    return;
  }
  default:
    executeVector(inst);
    return;
  }
}

void Simulator::Impl::executeVector(const Instruction &inst) {
  const OpcodeInfo &op = info(inst.opcode);
  const uint32_t rows = inst.rows, cols = inst.cols;
  const uint64_t count = uint64_t(rows) * cols;
  const float ra = asFloat(static_cast<int32_t>(registers[inst.regA]));
  const float rb = asFloat(static_cast<int32_t>(registers[inst.regB]));
  laneOps += count * op.passes;
  auto srcF = [&](uint64_t i) { return asFloat(accumulator[inst.src + i]); };
  auto src2F = [&](uint32_t r, uint32_t c) {
    return asFloat(accumulator[inst.src2 + (inst.broadcast ? c : uint64_t(r) * cols + c)]);
  };
  // Results go through a buffer so that dst may overlap the sources.
  std::vector<int32_t> out(count);
  switch (inst.opcode) {
  case Opcode::VREQ:
    for (uint64_t i = 0; i < count; ++i)
      out[i] = requantize(static_cast<float>(accumulator[inst.src + i]), ra, rb);
    break;
  case Opcode::VDEQ:
    for (uint64_t i = 0; i < count; ++i)
      out[i] = asBits(static_cast<float>(accumulator[inst.src + i]) * ra);
    break;
  case Opcode::VQNT:
    for (uint64_t i = 0; i < count; ++i)
      out[i] = quantize(srcF(i), ra, rb);
    break;
  case Opcode::VWID:
    for (uint64_t i = 0; i < count; ++i)
      out[i] = scratchpad[inst.src + i];
    break;
  case Opcode::VADD:
  case Opcode::VMUL:
    for (uint32_t r = 0; r < rows; ++r)
      for (uint32_t c = 0; c < cols; ++c) {
        uint64_t i = uint64_t(r) * cols + c;
        float x = srcF(i), y = src2F(r, c);
        out[i] = asBits(inst.opcode == Opcode::VADD ? x + y : x * y);
      }
    break;
  case Opcode::VADDI:
    for (uint32_t r = 0; r < rows; ++r)
      for (uint32_t c = 0; c < cols; ++c) {
        uint64_t i = uint64_t(r) * cols + c;
        uint64_t j = inst.src2 + (inst.broadcast ? c : i);
        out[i] = static_cast<int32_t>(static_cast<uint32_t>(accumulator[inst.src + i]) +
                                      static_cast<uint32_t>(accumulator[j]));
      }
    break;
  case Opcode::VSCL:
    for (uint64_t i = 0; i < count; ++i)
      out[i] = asBits(std::fma(srcF(i), ra, rb));
    break;
  case Opcode::VEXP:
    for (uint64_t i = 0; i < count; ++i)
      out[i] = asBits(vectorExp(srcF(i)));
    break;
  case Opcode::VGELU:
    for (uint64_t i = 0; i < count; ++i)
      out[i] = asBits(vectorGelu(srcF(i)));
    break;
  case Opcode::VSILU:
    for (uint64_t i = 0; i < count; ++i)
      out[i] = asBits(vectorSilu(srcF(i)));
    break;
  case Opcode::VSMAX:
    for (uint32_t r = 0; r < rows; ++r) {
      uint64_t base = uint64_t(r) * cols;
      float maximum = -INFINITY;
      for (uint32_t c = 0; c < cols; ++c)
        maximum = std::fmax(maximum, srcF(base + c));
      float sum = 0;
      for (uint32_t c = 0; c < cols; ++c) {
        float e = vectorExp(srcF(base + c) - maximum);
        out[base + c] = asBits(e);
        sum += e;
      }
      float inverse = 1.0f / sum;
      for (uint32_t c = 0; c < cols; ++c)
        out[base + c] = asBits(asFloat(out[base + c]) * inverse);
    }
    break;
  case Opcode::VLNRM:
  case Opcode::VRMS:
    for (uint32_t r = 0; r < rows; ++r) {
      uint64_t base = uint64_t(r) * cols;
      float mean = 0;
      if (inst.opcode == Opcode::VLNRM) {
        for (uint32_t c = 0; c < cols; ++c)
          mean += srcF(base + c);
        mean /= static_cast<float>(cols);
      }
      float squares = 0;
      for (uint32_t c = 0; c < cols; ++c) {
        float d = srcF(base + c) - mean;
        squares += d * d;
      }
      float scale =
          vectorRsqrt(squares / static_cast<float>(cols) + ra);
      for (uint32_t c = 0; c < cols; ++c)
        out[base + c] = asBits((srcF(base + c) - mean) * scale);
    }
    break;
  default:
    break;
  }
  // Byte counts: each pass reads the source once; the result is written once.
  uint64_t srcBytes = count * (op.srcMemory == Memory::Scratchpad ? 1 : 4);
  (op.srcMemory == Memory::Scratchpad ? spRead : accRead) += srcBytes * op.passes;
  if (op.usesSrc2)
    accRead += 4 * (inst.broadcast ? cols : count);
  if (op.dstMemory == Memory::Scratchpad) {
    for (uint64_t i = 0; i < count; ++i)
      scratchpad[inst.dst + i] = static_cast<int8_t>(out[i]);
    spWrite += count;
  } else {
    std::memcpy(&accumulator[inst.dst], out.data(), 4 * count);
    accWrite += 4 * count;
  }
}

llvm::Error Simulator::run(const SimulatorOptions &options) {
  Impl &s = *impl;
  auto hostStart = std::chrono::steady_clock::now();
  const Config &config = s.config;
  const std::vector<Instruction> &code = s.program.code;
  std::vector<uint32_t> queues[3];
  for (uint32_t i = 0; i < code.size(); ++i)
    queues[static_cast<int>(info(code[i].opcode).queue)].push_back(i);
  size_t heads[3] = {0, 0, 0};
  std::deque<uint64_t> channels[NumChannels];

  const double bytesPerCycle = config.dramBytesPerCycle();
  const uint64_t latency = config.dmaLatencyCycles;
  const uint64_t pipelineDepth = config.arrayRows + config.arrayCols;
  uint64_t queueReady[3] = {0, 0, 0};
  double dramFree = 0;
  uint64_t weightPortFree = 0, weightsReady = 0, lastMatmulStart = 0,
           streamFree = 0, vectorFree = 0;
  // Ranges the last vector op reads and writes, until it completes.
  Range vectorRanges[3];
  uint64_t vectorComplete = 0;
  int vectorRangeCount = 0;
  // The scoreboard: array ops (ldw, mm) still in flight and the ranges they
  // touch; a vector op waits only for those it overlaps.
  struct InFlight {
    llvm::SmallVector<Range, 2> ranges;
    uint64_t complete;
  };
  std::deque<InFlight> arrayOps;

  auto vectorExtent = [&](const Instruction &inst) {
    const OpcodeInfo &op = info(inst.opcode);
    uint64_t count = uint64_t(inst.rows) * inst.cols;
    llvm::SmallVector<Range, 3> ranges = {
        {op.srcMemory, inst.src, inst.src + count},
        {op.dstMemory, inst.dst, inst.dst + count}};
    if (op.usesSrc2)
      ranges.push_back({Memory::Accumulator, inst.src2,
                        inst.src2 + (inst.broadcast ? inst.cols : count)});
    return ranges;
  };

  auto extent = [&](const Instruction &inst) {
    // Ranges an LDW or MM touches, for the interlock with a running vector op.
    llvm::SmallVector<Range, 2> ranges;
    if (inst.opcode == Opcode::LDW)
      ranges.push_back({Memory::Scratchpad, inst.local,
                        inst.local + uint64_t(inst.rows - 1) * inst.stride +
                            inst.cols});
    if (inst.opcode == Opcode::MM) {
      ranges.push_back({Memory::Scratchpad, inst.local,
                        inst.local + uint64_t(inst.rows - 1) * inst.stride +
                            s.weightRows});
      ranges.push_back({Memory::Accumulator, inst.acc,
                        inst.acc + uint64_t(inst.rows - 1) * inst.accStride +
                            s.weightCols});
    }
    return ranges;
  };

  while (true) {
    int best = -1;
    uint64_t bestStart = 0;
    for (int q = 0; q < 3; ++q) {
      if (heads[q] == queues[q].size())
        continue;
      const Instruction &inst = code[queues[q][heads[q]]];
      Queue queue = static_cast<Queue>(q);
      uint64_t start = queueReady[q];
      bool blocked = false;
      for (bool prev : {true, false}) {
        if (!(prev ? inst.waitPrev : inst.waitNext))
          continue;
        auto &channel = channels[waitChannel(queue, prev)];
        if (channel.empty())
          blocked = true;
        else
          start = std::max(start, channel.front());
      }
      if (blocked)
        continue;
      const OpcodeInfo &op = info(inst.opcode);
      if (op.format == Format::LoadWeights)
        start = std::max({start, weightPortFree, lastMatmulStart});
      else if (op.format == Format::Matmul)
        start = std::max({start, streamFree, weightsReady});
      else if (op.format == Format::Vector) {
        start = std::max(start, vectorFree);
        for (const Range &range : vectorExtent(inst))
          for (const InFlight &pending : arrayOps)
            for (const Range &other : pending.ranges)
              if (range.overlaps(other))
                start = std::max(start, pending.complete);
      }
      if (op.format == Format::LoadWeights || op.format == Format::Matmul)
        for (const Range &range : extent(inst))
          for (int i = 0; i < vectorRangeCount; ++i)
            if (range.overlaps(vectorRanges[i]))
              start = std::max(start, vectorComplete);
      if (best < 0 || start < bestStart) {
        best = q;
        bestStart = start;
      }
    }
    if (best < 0) {
      bool done = true;
      std::string waits;
      for (int q = 0; q < 3; ++q) {
        if (heads[q] == queues[q].size())
          continue;
        done = false;
        uint32_t index = queues[q][heads[q]];
        const Instruction &inst = code[index];
        Queue queue = static_cast<Queue>(q);
        for (bool prev : {true, false}) {
          if (!(prev ? inst.waitPrev : inst.waitNext) ||
              !channels[waitChannel(queue, prev)].empty())
            continue;
          if (!waits.empty())
            waits += "; ";
          waits += std::string(kQueueNames[q]) + " queue at instruction " +
                   std::to_string(index) + " (" +
                   info(inst.opcode).mnemonic.str() + ") waits for a " +
                   kChannelNames[waitChannel(queue, prev)] + " token";
        }
      }
      if (done)
        break;
      return fail("deadlock: " + waits + ", and no instruction left can "
                  "signal one");
    }

    uint32_t index = queues[best][heads[best]++];
    const Instruction &inst = code[index];
    const OpcodeInfo &op = info(inst.opcode);
    Queue queue = static_cast<Queue>(best);
    for (bool prev : {true, false})
      if (prev ? inst.waitPrev : inst.waitNext)
        channels[waitChannel(queue, prev)].pop_front();

    uint64_t start = bestStart, complete = start + 1;
    switch (op.format) {
    case Format::Dma: {
      bool acc = inst.opcode == Opcode::LDA || inst.opcode == Opcode::STA;
      double bytes = double(inst.rows) * inst.cols * (acc ? 4 : 1);
      double dataStart = std::max(double(start + latency), dramFree);
      double duration = bytes / bytesPerCycle;
      dramFree = dataStart + duration;
      s.dramBusy += static_cast<uint64_t>(std::ceil(duration));
      complete = static_cast<uint64_t>(std::ceil(dramFree));
      queueReady[best] = start + 1;
      break;
    }
    case Format::SetReg:
      queueReady[best] = start + 1;
      break;
    case Format::LoadWeights:
      complete = start + inst.rows;
      weightPortFree = weightsReady = complete;
      queueReady[best] = start + 1;
      arrayOps.push_back({extent(inst), complete});
      break;
    case Format::Matmul:
      streamFree = start + inst.rows;
      complete = streamFree + pipelineDepth;
      lastMatmulStart = start;
      s.arrayBusy += inst.rows;
      queueReady[best] = start + 1;
      arrayOps.push_back({extent(inst), complete});
      break;
    case Format::Vector: {
      uint64_t beats = (inst.cols + config.vectorLanes - 1) / config.vectorLanes;
      uint64_t duration = uint64_t(op.passes) * inst.rows * beats;
      complete = start + duration;
      vectorFree = vectorComplete = complete;
      s.vectorBusy += duration;
      vectorRangeCount = 0;
      for (const Range &range : vectorExtent(inst))
        vectorRanges[vectorRangeCount++] = range;
      queueReady[best] = start + 1;
      break;
    }
    }
    // Array ops no later exec instruction can wait for leave the scoreboard.
    while (!arrayOps.empty() &&
           arrayOps.front().complete <= queueReady[static_cast<int>(Queue::Exec)])
      arrayOps.pop_front();
    if (complete > options.maxCycles)
      return fail("cycle limit of " + llvm::Twine(options.maxCycles) +
                  " exceeded at instruction " + llvm::Twine(index) + " (" +
                  op.mnemonic + ")");
    s.execute(inst);
    s.classCounts[static_cast<int>(op.instClass)]++;
    for (bool prev : {true, false})
      if (prev ? inst.signalPrev : inst.signalNext)
        channels[signalChannel(queue, prev)].push_back(complete);
    s.cycles = std::max(s.cycles, complete);
  }
  s.hostSeconds = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - hostStart)
                      .count();
  return llvm::Error::success();
}

llvm::json::Object Simulator::stats() const {
  const Impl &s = *impl;
  const Config &c = s.config;
  double seconds = double(s.cycles) / c.clockHz;
  double peak = double(s.cycles) * double(c.arrayRows) * double(c.arrayCols);
  double sramBytes = double(s.spRead + s.spWrite + s.accRead + s.accWrite);
  double eMac = double(s.macs) * c.energyPerMacJ;
  double eDram = double(s.dramRead + s.dramWrite) * c.energyPerDramByteJ;
  double eSram = sramBytes * c.energyPerSramByteJ;
  double eVector = double(s.laneOps) * c.energyPerVectorOpJ;
  double eStatic = seconds * c.staticPowerW;
  const uint64_t *n = s.classCounts;
  return llvm::json::Object{
      {"target", c.name},
      {"cycles", s.cycles},
      {"seconds", seconds},
      {"macs", s.macs},
      {"mac_utilization", peak > 0 ? double(s.macs) / peak : 0.0},
      {"vector_lane_ops", s.laneOps},
      {"instructions",
       llvm::json::Object{{"total", n[0] + n[1] + n[2] + n[3] + n[4] + n[5]},
                          {"dma_load", n[0]},
                          {"dma_store", n[1]},
                          {"config", n[2]},
                          {"weights", n[3]},
                          {"matmul", n[4]},
                          {"vector", n[5]}}},
      {"bytes", llvm::json::Object{{"dram_read", s.dramRead},
                                   {"dram_write", s.dramWrite},
                                   {"scratchpad_read", s.spRead},
                                   {"scratchpad_write", s.spWrite},
                                   {"accumulator_read", s.accRead},
                                   {"accumulator_write", s.accWrite}}},
      {"busy_cycles", llvm::json::Object{{"dram", s.dramBusy},
                                         {"array", s.arrayBusy},
                                         {"vector", s.vectorBusy}}},
      {"energy_j", llvm::json::Object{{"mac", eMac},
                                      {"dram", eDram},
                                      {"sram", eSram},
                                      {"vector", eVector},
                                      {"static", eStatic},
                                      {"total", eMac + eDram + eSram + eVector +
                                                    eStatic}}},
      {"host_seconds", s.hostSeconds},
      {"host_macs_per_s",
       s.hostSeconds > 0 ? double(s.macs) / s.hostSeconds : 0.0},
  };
}

bool llmc::npu::isProgramPath(StringRef path) {
  return path.ends_with(".npubin") || path.ends_with(".npuasm");
}

llvm::Expected<std::pair<std::vector<Tensor>, llvm::json::Object>>
llmc::npu::runProgramFile(StringRef path, std::vector<Tensor> inputs,
                          StringRef targetOverride,
                          const SimulatorOptions &options) {
  llvm::Expected<Program> program = readProgramFile(path);
  if (!program)
    return program.takeError();
  StringRef target = targetOverride.empty() ? StringRef(program->target)
                                            : targetOverride;
  llvm::Expected<Config> config = Config::load(target);
  if (!config)
    return config.takeError();
  auto sim = Simulator::create(std::move(*program), *config);
  if (!sim)
    return fail(path + ": " + llvm::toString(sim.takeError()));
  auto dtypeOf = [](ElemType type) {
    switch (type) {
    case ElemType::I8:
      return DType::i8;
    case ElemType::I32:
      return DType::i32;
    case ElemType::F32:
      return DType::f32;
    }
    return DType::f32;
  };
  for (const TensorBinding &tensor : (*sim)->program().tensors) {
    if (tensor.isOutput)
      continue;
    auto given = llvm::find_if(
        inputs, [&](const Tensor &t) { return t.name == tensor.name; });
    if (given == inputs.end())
      return fail(path + ": input '" + tensor.name + "' (" +
                  elemTypeName(tensor.type) + " " +
                  shapeToString(tensor.shape) + ") is not given");
    if (given->dtype != dtypeOf(tensor.type) || given->shape != tensor.shape)
      return fail(path + ": input '" + tensor.name + "' is " +
                  dtypeName(given->dtype) + " " + shapeToString(given->shape) +
                  ", the program expects " + elemTypeName(tensor.type) + " " +
                  shapeToString(tensor.shape));
    if (llvm::Error error =
            (*sim)->setTensor(tensor.name, given->data(), given->byteSize()))
      return std::move(error);
  }
  for (const Tensor &given : inputs)
    if (llvm::none_of((*sim)->program().tensors, [&](const TensorBinding &t) {
          return !t.isOutput && t.name == given.name;
        }))
      return fail(path + ": the program has no input '" + given.name + "'");
  if (llvm::Error error = (*sim)->run(options))
    return fail(path + ": " + llvm::toString(std::move(error)));
  std::vector<Tensor> outputs;
  for (const TensorBinding &tensor : (*sim)->program().tensors) {
    if (!tensor.isOutput)
      continue;
    Tensor out(tensor.name, dtypeOf(tensor.type), tensor.shape);
    llvm::ArrayRef<uint8_t> bytes = (*sim)->tensorBytes(tensor.name);
    std::memcpy(out.mutableData(), bytes.data(), bytes.size());
    outputs.push_back(std::move(out));
  }
  return std::make_pair(std::move(outputs), (*sim)->stats());
}
