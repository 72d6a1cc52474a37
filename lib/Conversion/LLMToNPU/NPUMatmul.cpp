//===- NPUMatmul.cpp - int8 matmul as an NPU instruction stream -----------===//
//
// Loop nest (g counts groups, b blocks):
//   for mb (rows of C), nb (columns of C): block b, accumulator slot b % 2
//     for kb (chunks of K): group g, scratchpad slots g % 2
//       load:  [wait exec->load if g >= 2] ld A chunk; ld B chunk [signal]
//       exec:  [wait load->exec; at a block's first group and b >= 2 also
//               wait store->exec] ldw + mm per 32x32 weight tile;
//               the last mm signals exec->load (inputs free) and, at the
//               block's last group, the block's result (or the vreq does)
//       store: wait exec->store; st/sta the block; signal store->exec
// Token channels are FIFOs, so "the g-th wait takes the g-th signal" is all
// the bookkeeping there is.
//
//===----------------------------------------------------------------------===//
#include "llmc/Conversion/NPUMatmul.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace llmc;
using namespace llmc::npu;

namespace {
llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}
int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t alignUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }
} // namespace

llvm::Expected<Program> llmc::npu::generateMatmul(const MatmulSpec &spec,
                                                  const Config &config,
                                                  llvm::StringRef target) {
  const int64_t M = spec.m, K = spec.k, N = spec.n;
  const int64_t R = config.arrayRows, C = config.arrayCols;
  if (M <= 0 || K <= 0 || N <= 0)
    return fail("matmul sizes must be positive");
  if (spec.buffers != 1 && spec.buffers != 2)
    return fail("buffers must be 1 or 2");
  if (spec.blockM < 0 || spec.blockN < 0)
    return fail("output block sizes must be positive (0: chosen from the "
                "description)");
  for (float value : {spec.scale, spec.zeroPoint, spec.quantScale.value_or(1),
                      spec.inputScale.value_or(1)})
    if (!std::isfinite(value))
      return fail("scales and zero points must be finite numbers");
  const int64_t outBytes = spec.requantize ? 1 : 4;
  if (K > 0xffff || N * outBytes > 0xffff)
    return fail("a row of A (" + llvm::Twine(K) + " bytes) or of C (" +
                llvm::Twine(N * outBytes) +
                " bytes) exceeds the DMA's 16-bit stride");
  const int64_t buffers = spec.buffers;
  if (spec.channelScales && spec.requantize && !spec.quantScale)
    return fail("per-channel scales with an int8 output need a quantization "
                "scale");
  if (spec.channelScales && N > 0xffff)
    return fail("per-channel scales: N exceeds the DMA's 16-bit column count");
  if (spec.bias && !spec.channelScales)
    return fail("a bias row needs the per-channel scale epilogue");
  // Per-channel scales (and the bias row) live at the top of the
  // accumulators.
  const int64_t rowWords = alignUp(N, C);
  if (spec.zeroPointRow && N > 0xffff)
    return fail("a zero-point row: N exceeds the DMA's 16-bit column count");
  if (spec.inputScale && spec.lhsUnsigned)
    return fail("the input quantization prologue makes signed int8");
  const int64_t rowCount = (spec.channelScales ? 1 + spec.bias : 0) +
                           (spec.zeroPointRow ? 1 : 0);
  const int64_t scaleWords = rowWords * rowCount;

  // Output block: up to 4 array widths of columns, rows to fill an
  // accumulator slot (of `buffers` slots).
  int64_t blockN = spec.blockN ? spec.blockN : std::min(alignUp(N, C), 4 * C);
  int64_t slotWords = (config.accumulatorWords() - scaleWords) / buffers;
  const int64_t scaleBase = buffers * slotWords;
  int64_t blockM = spec.blockM ? spec.blockM
                               : std::min<int64_t>(M, slotWords / blockN);
  blockM = std::min<int64_t>(blockM, 4095); // the vector unit's row field
  if (blockM < 1 || blockN < 1 || blockM * blockN > slotWords) {
    std::string rows = scaleWords ? "; the per-column rows take " +
                                        std::to_string(scaleWords) +
                                        ", the rest is split in"
                                  : " in";
    return fail("an output block of " +
                llvm::Twine(std::max<int64_t>(blockM, 1)) + "x" +
                llvm::Twine(blockN) +
                " does not fit the accumulators: they hold " +
                llvm::Twine(config.accumulatorWords()) + " words" + rows + " " +
                llvm::Twine(buffers) + " slots");
  }
  // K chunk: what the scratchpad holds of A and B, `buffers` times over,
  // next to the int8 output staging.
  int64_t staging = spec.requantize ? buffers * blockM * blockN : 0;
  int64_t room = config.scratchpadBytes - staging;
  int64_t blockK = room / (buffers * (blockM + blockN));
  blockK = std::min(K, blockK >= R ? blockK / R * R : blockK);
  if (blockK < 1)
    return fail("the scratchpad cannot hold a " + llvm::Twine(blockM) + "x" +
                llvm::Twine(blockN) + " block's inputs");

  Program program;
  program.target = target.str();
  auto place = [&](const char *name, bool output, ElemType type, int64_t rows,
                   int64_t cols) {
    TensorBinding tensor;
    tensor.name = name;
    tensor.isOutput = output;
    tensor.type = type;
    tensor.shape = {rows, cols};
    tensor.dram = program.dramBytes;
    program.dramBytes = alignUp(program.dramBytes + tensor.byteSize(), 64);
    program.tensors.push_back(tensor);
    return tensor.dram;
  };
  if (spec.inputScale && (K * 4 > 0xffff || !(*spec.inputScale > 0)))
    return fail("quantizing the input on the NPU needs K <= 16383 (a row of "
                "f32 within the DMA's 16-bit stride) and a scale > 0");
  const uint64_t dramX =
      spec.inputScale ? place("X", false, ElemType::F32, M, K) : 0;
  const uint64_t dramA =
      spec.inputScale ? 0 : place("A", false, ElemType::I8, M, K);
  const uint64_t dramB = place("B", false, ElemType::I8, K, N);
  const uint64_t dramS =
      spec.channelScales ? place("S", false, ElemType::F32, 1, N) : 0;
  const uint64_t dramBias =
      spec.bias ? place("Bias", false, ElemType::F32, 1, N) : 0;
  const uint64_t dramZ =
      spec.zeroPointRow ? place("Z", false, ElemType::I32, 1, N) : 0;
  // The zero-point row sits after the scale and bias rows.
  const int64_t zeroRowBase =
      rowWords * (spec.channelScales ? 1 + spec.bias : 0);
  const uint64_t dramC =
      place("C", true,
            spec.requantize ? ElemType::I8
                            : (spec.channelScales ? ElemType::F32 : ElemType::I32),
            M, N);

  // With the input quantized here, A is a scratch area after the tensors.
  const uint64_t scratchA = program.dramBytes;
  if (spec.inputScale)
    program.dramBytes = alignUp(program.dramBytes + M * K, 64);
  const uint64_t addressA = spec.inputScale ? scratchA : dramA;

  // Scratchpad: A slots, B slots, output staging slots.
  const int64_t aSlot = blockM * blockK, bSlot = blockK * blockN;
  auto spA = [&](int64_t g) { return (g % buffers) * aSlot; };
  auto spB = [&](int64_t g) { return buffers * aSlot + (g % buffers) * bSlot; };
  auto spOut = [&](int64_t b) {
    return buffers * (aSlot + bSlot) + (b % buffers) * blockM * blockN;
  };
  auto accSlot = [&](int64_t b) { return (b % buffers) * slotWords; };

  // Each group's instructions stay together in the stream; the dispatcher
  // splits them into the three queues.
  auto emit = [&](Instruction inst) { program.code.push_back(inst); };
  if (spec.requantize) {
    Instruction scale;
    scale.opcode = Opcode::SETR;
    scale.reg = 0;
    std::memcpy(&scale.bits, &spec.scale, 4);
    emit(scale);
    Instruction zero = scale;
    zero.reg = 1;
    std::memcpy(&zero.bits, &spec.zeroPoint, 4);
    emit(zero);
    if (spec.quantScale) {
      Instruction quantScale = scale;
      quantScale.reg = 2;
      std::memcpy(&quantScale.bits, &*spec.quantScale, 4);
      emit(quantScale);
    }
  }
  if (spec.channelScales) {
    Instruction one;
    one.opcode = Opcode::SETR;
    one.reg = 3;
    const float unit = 1.0f;
    std::memcpy(&one.bits, &unit, 4);
    emit(one);
    Instruction lda;
    lda.opcode = Opcode::LDA;
    lda.local = scaleBase;
    lda.dram = dramS;
    lda.rows = 1;
    lda.cols = N;
    emit(lda);
    if (spec.bias) {
      lda.local = scaleBase + rowWords;
      lda.dram = dramBias;
      emit(lda);
    }
  }
  if (spec.zeroPointRow) {
    Instruction lda;
    lda.opcode = Opcode::LDA;
    lda.local = scaleBase + zeroRowBase;
    lda.dram = dramZ;
    lda.rows = 1;
    lda.cols = N;
    emit(lda);
  }

  // The input's quantization, before the matmul: chunks of X through the
  // accumulator slots (which the matmul's outputs use only later), vqnt into
  // a scratchpad staging slot (likewise free until then), st to A. Tokens:
  // lda(c) waits for vqnt(c - 2) to free its slot; vqnt(c) waits for lda(c)
  // and for st(c - 2) to free its staging slot; the last st signals a
  // barrier (a setr in the exec queue) that lets the matmul's first load
  // start, after every byte of A has landed. Every token is consumed.
  if (spec.inputScale) {
    Instruction scale;
    scale.opcode = Opcode::SETR;
    scale.reg = 4;
    std::memcpy(&scale.bits, &*spec.inputScale, 4);
    emit(scale);
    Instruction zero = scale;
    zero.reg = 5;
    zero.bits = 0; // +0.0f
    emit(zero);
    const int64_t chunkCols = std::min<int64_t>(K, 4095);
    const int64_t chunkRows = std::min<int64_t>(
        {M, slotWords / chunkCols, 4095,
         config.scratchpadBytes / (buffers * chunkCols)});
    if (chunkRows < 1)
      return fail("the accumulators cannot hold a row of the input");
    std::vector<std::pair<int64_t, int64_t>> chunks;
    for (int64_t r0 = 0; r0 < M; r0 += chunkRows)
      for (int64_t c0 = 0; c0 < K; c0 += chunkCols)
        chunks.emplace_back(r0, c0);
    const int64_t count = chunks.size();
    for (int64_t c = 0; c < count; ++c) {
      auto [r0, c0] = chunks[c];
      const int64_t rows = std::min(chunkRows, M - r0);
      const int64_t cols = std::min(chunkCols, K - c0);
      const int64_t slot = c % buffers;
      Instruction lda;
      lda.opcode = Opcode::LDA;
      lda.local = slot * slotWords;
      lda.dram = dramX + (r0 * K + c0) * 4;
      lda.rows = rows;
      lda.cols = cols;
      lda.stride = K * 4;
      lda.waitNext = c >= buffers;
      lda.signalNext = true;
      emit(lda);
      Instruction vqnt;
      vqnt.opcode = Opcode::VQNT;
      vqnt.dst = slot * chunkRows * chunkCols;
      vqnt.src = slot * slotWords;
      vqnt.rows = rows;
      vqnt.cols = cols;
      vqnt.regA = 4;
      vqnt.regB = 5;
      vqnt.waitPrev = true;
      vqnt.waitNext = c >= buffers;
      vqnt.signalPrev = c + buffers < count;
      vqnt.signalNext = true;
      emit(vqnt);
      Instruction st;
      st.opcode = Opcode::ST;
      st.local = vqnt.dst;
      st.dram = scratchA + r0 * K + c0;
      st.rows = rows;
      st.cols = cols;
      st.stride = K;
      st.waitPrev = true;
      st.signalPrev = c + buffers < count || c == count - 1;
      emit(st);
    }
    Instruction barrier;
    barrier.opcode = Opcode::SETR;
    barrier.reg = 6;
    barrier.waitNext = true;
    barrier.signalPrev = true;
    emit(barrier);
  }

  // A block's vector epilogue and store are deferred into the next block's
  // first group, spread between its ldw/mm pairs, so that the vector unit
  // works while the array does (the accumulator slots differ; with one
  // buffer they would not, and nothing is deferred).
  const bool defer =
      buffers == 2 &&
      (spec.requantize || spec.channelScales || spec.zeroPointRow);
  std::vector<Instruction> deferred;
  auto epilogue = [&](Instruction inst) {
    if (defer)
      deferred.push_back(inst);
    else
      emit(inst);
  };

  int64_t group = 0, block = 0;
  for (int64_t m0 = 0; m0 < M; m0 += blockM) {
    const int64_t mSize = std::min(blockM, M - m0);
    for (int64_t n0 = 0; n0 < N; n0 += blockN, ++block) {
      const int64_t nSize = std::min(blockN, N - n0);
      for (int64_t k0 = 0; k0 < K; k0 += blockK, ++group) {
        const int64_t kSize = std::min(blockK, K - k0);
        const bool firstOfBlock = k0 == 0, lastOfBlock = k0 + blockK >= K;
        // Load queue.
        Instruction ldA;
        ldA.opcode = Opcode::LD;
        ldA.local = spA(group);
        ldA.dram = addressA + m0 * K + k0;
        ldA.rows = mSize;
        ldA.cols = kSize;
        ldA.stride = K;
        // (Group 0 waits for the input's quantization, if any.)
        ldA.waitNext = group >= buffers || (group == 0 && spec.inputScale);
        emit(ldA);
        Instruction ldB;
        ldB.opcode = Opcode::LD;
        ldB.local = spB(group);
        ldB.dram = dramB + k0 * N + n0;
        ldB.rows = kSize;
        ldB.cols = nSize;
        ldB.stride = N;
        ldB.signalNext = true;
        emit(ldB);
        // Exec queue.
        bool first = true;
        size_t lastMatmul = 0;
        const int64_t pairs = ceilDiv(nSize, C) * ceilDiv(kSize, R);
        const size_t pending = deferred.size();
        int64_t pair = 0;
        size_t released = 0;
        for (int64_t nt = 0; nt < nSize; nt += C) {
          for (int64_t kt = 0; kt < kSize; kt += R) {
            Instruction ldw;
            ldw.opcode = Opcode::LDW;
            ldw.local = spB(group) + kt * nSize + nt;
            ldw.rows = std::min(R, kSize - kt);
            ldw.cols = std::min(C, nSize - nt);
            ldw.stride = nSize;
            if (first) {
              ldw.waitPrev = true;
              ldw.waitNext = firstOfBlock && block >= buffers;
              first = false;
            }
            emit(ldw);
            Instruction mm;
            mm.opcode = Opcode::MM;
            mm.local = spA(group) + kt;
            mm.acc = accSlot(block) + nt;
            mm.rows = mSize;
            mm.stride = kSize;
            mm.accStride = nSize;
            mm.accumulate = k0 > 0 || kt > 0;
            mm.lhsUnsigned = spec.lhsUnsigned;
            emit(mm);
            lastMatmul = program.code.size() - 1;
            ++pair;
            for (size_t due = pending * pair / pairs; released < due; ++released)
              emit(deferred[released]);
          }
        }
        deferred.erase(deferred.begin(), deferred.begin() + pending);
        program.code[lastMatmul].signalPrev = true;
        if (lastOfBlock) {
          // The block's epilogue: vector ops in place over its accumulator
          // slot (the requantizing one writes the int8 staging slot); the
          // last of them, or the last mm, signals the store.
          std::vector<Instruction> chain;
          auto vector = [&](Opcode opcode, uint32_t regA = 0,
                            uint32_t regB = 0) -> Instruction & {
            Instruction inst;
            inst.opcode = opcode;
            inst.dst = inst.src = accSlot(block);
            inst.rows = mSize;
            inst.cols = nSize;
            inst.regA = regA;
            inst.regB = regB;
            chain.push_back(inst);
            return chain.back();
          };
          if (spec.zeroPointRow) {
            Instruction &vaddi = vector(Opcode::VADDI);
            vaddi.src2 = scaleBase + zeroRowBase + n0;
            vaddi.broadcast = true;
          }
          if (spec.channelScales) {
            vector(Opcode::VDEQ, 3);
            Instruction &vmul = vector(Opcode::VMUL);
            vmul.src2 = scaleBase + n0;
            vmul.broadcast = true;
            if (spec.bias) {
              Instruction &vadd = vector(Opcode::VADD);
              vadd.src2 = scaleBase + rowWords + n0;
              vadd.broadcast = true;
            }
          } else if (spec.requantize && spec.quantScale) {
            vector(Opcode::VDEQ, 0);
          }
          if (spec.requantize)
            vector(spec.quantScale ? Opcode::VQNT : Opcode::VREQ,
                   spec.quantScale ? 2 : 0, 1)
                .dst = spOut(block);
          if (chain.empty())
            program.code[lastMatmul].signalNext = true;
          else
            chain.back().signalNext = true;
          for (const Instruction &inst : chain)
            epilogue(inst);
          // Store queue.
          Instruction st;
          st.opcode = spec.requantize ? Opcode::ST : Opcode::STA;
          st.local = spec.requantize ? spOut(block) : accSlot(block);
          st.dram = dramC + (m0 * N + n0) * outBytes;
          st.rows = mSize;
          st.cols = nSize;
          st.stride = N * outBytes;
          st.waitPrev = true;
          st.signalPrev = true;
          epilogue(st);
        }
      }
    }
  }
  for (const Instruction &inst : deferred)
    emit(inst);
  if (llvm::Error error = validate(program, config))
    return fail("generated matmul program is invalid: " +
                llvm::toString(std::move(error)));
  return program;
}
