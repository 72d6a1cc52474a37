//===- ISA.h - the llmc NPU instruction set ---------------------*- C++ -*-===//
//
// The instruction set of the llmc NPU (docs/npu-isa.md): instructions as
// values, their 128-bit binary encoding, the textual assembly, the program
// container (.npubin) and the static checks every consumer shares (the `npu`
// dialect's verifiers, the assembler, the simulator). The machine's sizes are
// not constants here: they come from a target description (targets/npu.json)
// through Config.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_TARGET_NPU_ISA_H
#define LLMC_TARGET_NPU_ISA_H

#include "llmc/Target/TargetDescription.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmc::npu {

/// The machine parameters the ISA and the simulator depend on, all read from
/// the `npu` section (and clock and bandwidth) of a target description.
struct Config {
  std::string name;
  int64_t arrayRows = 0, arrayCols = 0;
  int64_t scratchpadBytes = 0, accumulatorBytes = 0;
  int64_t vectorLanes = 0;
  int64_t dmaLatencyCycles = 0;
  double clockHz = 0, dramBytesPerSecond = 0, dramCapacityBytes = 0;
  double energyPerMacJ = 0, energyPerDramByteJ = 0, energyPerSramByteJ = 0,
         energyPerVectorOpJ = 0, staticPowerW = 0;

  int64_t accumulatorWords() const { return accumulatorBytes / 4; }
  double dramBytesPerCycle() const { return dramBytesPerSecond / clockHz; }

  /// Reads the figures from a description of kind "npu"; errors name the
  /// missing field or the limit of the encoding it exceeds.
  static llvm::Expected<Config> fromDescription(const TargetDescription &desc);
  /// load(nameOrPath) then fromDescription; results are cached per name.
  static llvm::Expected<Config> load(llvm::StringRef nameOrPath);
};

enum class Opcode : uint8_t {
  LD = 0x01,   ///< DRAM → scratchpad (load queue)
  LDA = 0x02,  ///< DRAM → accumulator (load queue)
  ST = 0x03,   ///< scratchpad → DRAM (store queue)
  STA = 0x04,  ///< accumulator → DRAM (store queue)
  SETR = 0x08, ///< set a vector scalar register
  LDW = 0x10,  ///< scratchpad → array weights
  MM = 0x11,   ///< stream activations through the array into accumulators
  VREQ = 0x20, ///< i32 acc → i8 scratchpad, f32 scale, zero point
  VDEQ = 0x21, ///< i32 acc → f32 acc, f32 scale
  VQNT = 0x22, ///< f32 acc → i8 scratchpad: x / scale + zero point
  VWID = 0x23, ///< i8 scratchpad → i32 acc
  VADD = 0x24, ///< f32 acc + f32 acc
  VMUL = 0x25, ///< f32 acc * f32 acc
  VSCL = 0x26, ///< f32 acc * ra + rb
  VEXP = 0x27,
  VGELU = 0x28,
  VSILU = 0x29,
  VSMAX = 0x2a, ///< softmax along each row
  VLNRM = 0x2b, ///< layer norm along each row (eps in ra)
  VRMS = 0x2c,  ///< RMS norm along each row (eps in ra)
  VADDI = 0x2d, ///< i32 acc + i32 acc, wrapping (zero-point corrections, bias)
};

enum class Queue { Load, Exec, Store };
/// What an instruction is counted as in the statistics.
enum class InstClass { DmaLoad, DmaStore, Config, Weights, Matmul, Vector };
enum class Format { Dma, SetReg, LoadWeights, Matmul, Vector };
/// A memory an operand lives in.
enum class Memory { Dram, Scratchpad, Accumulator };

/// One instruction. Which fields mean something depends on the format:
///   Dma:         dram, local, rows, cols, stride
///   SetReg:      reg, bits
///   LoadWeights: local (sp), rows (k), cols (n), stride (sp row stride)
///   Matmul:      local (sp), acc, rows (m), stride (sp), accStride,
///                accumulate, lhsUnsigned
///   Vector:      dst, src, src2, rows, cols, regA, regB, broadcast
/// Unused fields are zero (the encoding requires it).
struct Instruction {
  Opcode opcode = Opcode::LD;
  bool waitPrev = false, waitNext = false, signalPrev = false,
       signalNext = false;
  uint64_t dram = 0;
  uint32_t local = 0, acc = 0;
  uint32_t rows = 0, cols = 0, stride = 0, accStride = 0;
  bool accumulate = false;
  /// mm: the activation bytes are unsigned (0..255), as ONNX's uint8
  /// activations are; the weights stay signed.
  bool lhsUnsigned = false;
  uint32_t reg = 0, bits = 0;
  uint32_t dst = 0, src = 0, src2 = 0;
  uint32_t regA = 0, regB = 0;
  bool broadcast = false;

  bool operator==(const Instruction &other) const;
};

/// Static facts about an opcode.
struct OpcodeInfo {
  Opcode opcode;
  llvm::StringRef mnemonic;
  Format format;
  Queue queue;
  InstClass instClass;
  /// Vector format: which optional operands the instruction reads.
  bool usesSrc2 = false, usesRegA = false, usesRegB = false;
  /// Vector format: memories of src (and src2) and dst; element bytes.
  Memory srcMemory = Memory::Accumulator, dstMemory = Memory::Accumulator;
  /// Vector format: passes over the data (cycle model).
  unsigned passes = 1;
};
llvm::ArrayRef<OpcodeInfo> allOpcodes();
const OpcodeInfo *lookupOpcode(uint8_t value);
const OpcodeInfo *lookupMnemonic(llvm::StringRef mnemonic);
const OpcodeInfo &info(Opcode opcode);

/// The named integer fields of an instruction's assembly (`key=value`), in
/// the order they are printed; setr's `value` (an f32) is not among them.
struct InstructionField {
  llvm::StringRef key;
  uint64_t Instruction::*wide = nullptr;
  uint32_t Instruction::*narrow = nullptr;
  bool isAddress = false;
  uint64_t get(const Instruction &inst) const {
    return wide ? inst.*wide : inst.*narrow;
  }
  void set(Instruction &inst, uint64_t value) const {
    if (wide)
      inst.*wide = value;
    else
      inst.*narrow = static_cast<uint32_t>(value);
  }
};
llvm::SmallVector<InstructionField> instructionFields(const OpcodeInfo &op);
/// The flags an instruction's assembly may carry (accumulate, broadcast and
/// the token flags its queue allows).
struct InstructionFlag {
  llvm::StringRef key;
  bool Instruction::*member;
};
llvm::SmallVector<InstructionFlag> instructionFlags(const OpcodeInfo &op);
/// The token flags every instruction has in its encoding.
llvm::ArrayRef<InstructionFlag> tokenFlags();

/// A named tensor the program reads or writes in DRAM.
enum class ElemType { I8, I32, F32 };
llvm::StringRef elemTypeName(ElemType type);
std::optional<ElemType> elemTypeFromName(llvm::StringRef name);
unsigned elemTypeBytes(ElemType type);

struct TensorBinding {
  std::string name;
  bool isOutput = false;
  ElemType type = ElemType::I8;
  std::vector<int64_t> shape;
  uint64_t dram = 0;
  uint64_t byteSize() const;
};

/// A whole program: the description it was built for (a bundled name or a
/// path), the DRAM it addresses, its tensors and its instruction stream.
struct Program {
  std::string target = "npu";
  uint64_t dramBytes = 0;
  std::vector<TensorBinding> tensors;
  std::vector<Instruction> code;
};

/// The 128-bit encoding (two little-endian 64-bit words, low word first).
using Word = std::array<uint64_t, 2>;
Word encode(const Instruction &inst);
/// Decodes one instruction; errors say which field is malformed (unknown
/// opcode, reserved bits set, a field its format does not use).
llvm::Expected<Instruction> decode(const Word &word);

/// Checks one instruction against the machine: field limits, addresses and
/// extents inside their memories, token directions of its queue. `weights`
/// is the (k, n) of the last LDW, needed for MM extents; none for an MM means
/// the stream has no LDW before it.
llvm::Error validate(const Instruction &inst, const Config &config,
                     uint64_t dramBytes,
                     std::optional<std::pair<uint32_t, uint32_t>> weights);
/// Checks a whole program: its tensors (inside DRAM, within the capacity) and
/// every instruction, in order. On failure `failedIndex` (if given) is the
/// index of the instruction at fault, or -1 for the program itself.
llvm::Error validate(const Program &program, const Config &config,
                     int64_t *failedIndex = nullptr);

/// Assembly: one instruction per line, `MNEMONIC key=value ... flags`.
void printInstruction(const Instruction &inst, llvm::raw_ostream &os);
/// Parses the text of one instruction line (no comment, no directive).
llvm::Expected<Instruction> parseInstruction(llvm::StringRef text);
/// Prints a whole program: directives, then the instructions.
void printAssembly(const Program &program, llvm::raw_ostream &os);
/// Parses a program's assembly; errors are "NAME:LINE: message".
llvm::Expected<Program> parseAssembly(llvm::StringRef text,
                                      llvm::StringRef bufferName);

/// The container (.npubin): header, tensor table, instructions.
std::string writeBinary(const Program &program);
llvm::Expected<Program> readBinary(llvm::StringRef bytes,
                                   llvm::StringRef bufferName);
/// True if `bytes` starts with the container's magic.
bool isBinary(llvm::StringRef bytes);
/// Reads a program file, binary or assembly (by content).
llvm::Expected<Program> readProgramFile(llvm::StringRef path);

/// The vector unit's arithmetic (docs/npu-isa.md states the algorithms and
/// their measured errors); the simulator and the error measurement share it.
float vectorExp(float x);
float vectorRsqrt(float x);
float vectorErf(float x);
float vectorGelu(float x);
float vectorSilu(float x);
/// Requantization (vreq): saturate(roundeven(x * scale) + zeroPoint) to
/// int8; NaN gives -128.
int8_t requantize(float x, float scale, float zeroPoint);
/// Quantization (vqnt), llm.quantize's definition: saturate(roundeven(x /
/// scale) + zeroPoint) to int8 with one IEEE division; NaN gives -128.
int8_t quantize(float x, float scale, float zeroPoint);

} // namespace llmc::npu

#endif // LLMC_TARGET_NPU_ISA_H
