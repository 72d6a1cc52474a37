//===- KernelText.cpp - generated gpu.func kernels for the ptx backend ----===//
//
// Tensor cores are used through nvvm.mma.sync m16n8k16 (row.col, bf16 or f16
// inputs, f32 accumulators). Fragment layout (PTX ISA, "Matrix fragments for
// mma.m16n8k16"): with g = lane / 4 and t = lane % 4, A register i holds rows
// g (+8 for i = 1, 3) and columns 2t, 2t+1 (+8 for i = 2, 3); B register i
// holds k rows 2t, 2t+1 (+8 for i = 1) of column g; C holds row g (c0, c1)
// and g+8 (c2, c3) at columns 2t, 2t+1. Shared-memory tiles keep the k
// dimension contiguous so that each register is one 32-bit load.
//
//===----------------------------------------------------------------------===//
#include "KernelText.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <cassert>
#include <cmath>
#include <limits>

using namespace llmc::gpu_kernels;

namespace {

/// Appends SSA lines with fresh names; one instance per kernel.
class Writer {
public:
  std::string text;

  std::string let(const std::string &rhs) {
    std::string name = "%v" + std::to_string(next++);
    text += "    " + name + " = " + rhs + "\n";
    return name;
  }
  /// For ops with two results (gpu.shuffle): returns the first.
  std::string let2(const std::string &rhs) {
    std::string name = "%v" + std::to_string(next++);
    text += "    " + name + ", " + name + "_valid = " + rhs + "\n";
    return name;
  }
  void line(const std::string &s) { text += "    " + s + "\n"; }
  std::string fresh(const std::string &prefix) {
    return "%" + prefix + std::to_string(next++);
  }

  std::string idx(int64_t v) {
    return let("arith.constant " + std::to_string(v) + " : index");
  }
  std::string i32(int64_t v) {
    return let("arith.constant " + std::to_string(v) + " : i32");
  }
  std::string f32(double v) {
    if (std::isinf(v))
      return let(std::string("arith.constant ") +
                 (v < 0 ? "0xFF800000" : "0x7F800000") + " : f32");
    return let(llvm::formatv("arith.constant {0:e9} : f32", v).str());
  }
  std::string bin(const char *op, const std::string &a, const std::string &b,
                  const char *type = "index") {
    return let(std::string(op) + " " + a + ", " + b + " : " + type);
  }
  std::string add(const std::string &a, const std::string &b) {
    return bin("arith.addi", a, b);
  }
  std::string mul(const std::string &a, const std::string &b) {
    return bin("arith.muli", a, b);
  }
  std::string div(const std::string &a, const std::string &b) {
    return bin("arith.divui", a, b);
  }
  std::string rem(const std::string &a, const std::string &b) {
    return bin("arith.remui", a, b);
  }
  std::string addc(const std::string &a, int64_t c) {
    return c == 0 ? a : add(a, idx(c));
  }
  std::string mulc(const std::string &a, int64_t c) {
    return c == 1 ? a : mul(a, idx(c));
  }
  std::string cmp(const char *pred, const std::string &a, const std::string &b,
                  const char *type = "index") {
    return let(std::string("arith.cmpi ") + pred + ", " + a + ", " + b + " : " +
               type);
  }
  std::string cmpf(const char *pred, const std::string &a,
                   const std::string &b) {
    return let(std::string("arith.cmpf ") + pred + ", " + a + ", " + b +
               " : f32");
  }
  std::string andi(const std::string &a, const std::string &b) {
    return bin("arith.andi", a, b, "i1");
  }
  std::string select(const std::string &c, const std::string &a,
                     const std::string &b, const char *type) {
    return let("arith.select " + c + ", " + a + ", " + b + " : " + type);
  }
  std::string fadd(const std::string &a, const std::string &b) {
    return bin("arith.addf", a, b, "f32");
  }
  std::string fsub(const std::string &a, const std::string &b) {
    return bin("arith.subf", a, b, "f32");
  }
  std::string fmul(const std::string &a, const std::string &b) {
    return bin("arith.mulf", a, b, "f32");
  }
  std::string fdiv(const std::string &a, const std::string &b) {
    return bin("arith.divf", a, b, "f32");
  }
  std::string fmax(const std::string &a, const std::string &b) {
    return bin("arith.maximumf", a, b, "f32");
  }
  /// A log2-scaled score plus an additive mask value, clamped at -FLT_MAX:
  /// masks of finfo.min (Hugging Face's) overflow to -inf once scaled by
  /// log2(e), and a row whose keys are all masked so would weigh none of
  /// them; in the model's float math all its scores are equal and softmax
  /// weighs them uniformly, as it does here.
  std::string maskedScore(const std::string &score, const std::string &mask) {
    std::string sum = fadd(score, fmul(mask, f32(1.4426950408889634)));
    return fmax(sum, let("arith.constant 0xFF7FFFFF : f32"));
  }
  /// 2^a with the hardware's ex2.approx (libdevice's exp2f would stay a
  /// call in large kernels).
  std::string exp2(const std::string &a) {
    return let("llvm.call_intrinsic \"llvm.nvvm.ex2.approx.ftz.f\"(" + a +
               ") : (f32) -> f32");
  }
  std::string exp(const std::string &a) {
    return exp2(fmul(a, f32(1.4426950408889634)));
  }
  std::string math(const char *fn, const std::string &a) {
    return let(std::string("math.") + fn + " " + a + " : f32");
  }
  std::string load(const std::string &memref, const std::string &type,
                   const std::string &index) {
    return let("memref.load " + memref + "[" + index + "] : " + type);
  }
  /// memref[index] of a float buffer of `element` (f32, f16 or bf16) as
  /// f32: the kernels compute in f32 whatever the buffers hold.
  std::string loadF32(const std::string &memref, const std::string &type,
                      const std::string &index, const std::string &element) {
    std::string v = load(memref, type, index);
    return element == "f32" ? v
                            : let("arith.extf " + v + " : " + element +
                                  " to f32");
  }
  /// Stores the f32 `value` into a float buffer of `element`, rounded.
  void storeF32(const std::string &value, const std::string &memref,
                const std::string &type, const std::string &index,
                const std::string &element) {
    std::string v = element == "f32" ? value
                                     : let("arith.truncf " + value +
                                           " : f32 to " + element);
    line("memref.store " + v + ", " + memref + "[" + index + "] : " + type);
  }
  /// memref[index] as f32 (loadF32) if `inBounds`, else zero; never reads
  /// out of bounds.
  std::string guardedLoad(const std::string &memref, const std::string &type,
                          const std::string &index, const std::string &inBounds,
                          const std::string &zero,
                          const std::string &element = "f32") {
    std::string safe = select(inBounds, index, idx(0), "index");
    std::string value = loadF32(memref, type, safe, element);
    return select(inBounds, value, zero, "f32");
  }
  /// Butterfly reduction over lanes `lane ^ offset` for each offset.
  std::string shuffleReduce(std::string value, bool isMax,
                            std::initializer_list<int> offsets) {
    return shuffleReduce(value, isMax ? "arith.maximumf" : "arith.addf",
                         offsets);
  }
  /// The same with the f32 combining op `combine`.
  std::string shuffleReduce(std::string value, const char *combine,
                            std::initializer_list<int> offsets) {
    std::string width = i32(32);
    for (int offset : offsets) {
      std::string other = let2("gpu.shuffle xor " + value + ", " + i32(offset) +
                               ", " + width + " : f32");
      value = bin(combine, value, other, "f32");
    }
    return value;
  }

private:
  unsigned next = 0;
};

std::string flatType(int64_t elements, const char *element = "f32") {
  return "memref<" + std::to_string(std::max<int64_t>(elements, 1)) + "x" +
         element + ">";
}

std::string sharedType(int64_t rows, int64_t cols, const std::string &element) {
  return "memref<" + std::to_string(rows) + "x" + std::to_string(cols) + "x" +
         element + ", #gpu.address_space<workgroup>>";
}

/// The stage of k tile `tile + ahead` in a ring of `stages`.
std::string wrapStage(Writer &w, const std::string &tile, int64_t ahead,
                      int64_t stages) {
  std::string later = w.addc(tile, ahead);
  return w.rem(later, w.idx(stages));
}

/// Offset of batch `z` in an operand.
std::string batchOffset(Writer &w, const Operand &operand,
                        const std::string &z) {
  std::string offset = w.idx(0);
  for (const BatchTerm &term : operand.batch) {
    if (term.stride == 0 || term.size == 1)
      continue;
    std::string quotient = w.div(z, w.idx(term.divisor));
    std::string index = w.rem(quotient, w.idx(term.size));
    offset = w.add(offset, w.mulc(index, term.stride));
  }
  return offset;
}

/// The tensor-core element type's names: fragment register type, the nvvm
/// attribute, the accumulator type and the k of one m16n8k<k> product.
/// bf16/f16 take m16n8k16 with f32 accumulators; s8 m16n8k32 with i32
/// accumulators, e4m3 (FP8 bytes, held as i8) m16n8k32 with f32 ones (PTX
/// ISA, "Matrix fragments for mma.m16n8k32": the same register positions
/// as m16n8k16, with four 8-bit elements per register where 16-bit types
/// have two).
struct MmaTypes {
  std::string type, element, fragment, acc;
  int64_t bytes, k;
  explicit MmaTypes(const std::string &type)
      : type(type), element(type == "f16"                    ? "f16"
                            : type == "s8" || type == "e4m3" ? "i8"
                                                             : "bf16"),
        fragment(type == "f16" ? "vector<2xf16>" : "i32"),
        acc(type == "s8" ? "i32" : "f32"),
        bytes(type == "s8" || type == "e4m3" ? 1 : 2), k(bytes == 1 ? 32 : 16) {
  }
  bool isInt() const { return acc == "i32"; }
  bool isFP8() const { return type == "e4m3"; }
  std::string ptxType() const {
    return isInt() ? "s8" : isFP8() ? "e4m3" : element;
  }
};

/// The shared-window address of a workgroup tile (an index, added to
/// byte offsets for ldmatrix).
std::string sharedAddress(Writer &w, const std::string &tile,
                          const std::string &tileType) {
  return w.let("memref.extract_aligned_pointer_as_index " + tile + " : " +
               tileType + " -> index");
}

/// `num` fragment registers through one ldmatrix.sync.aligned.m8n8.x{num}
/// (.trans with `transpose`): lanes 8j..8j+7 give the 16-byte rows of 8x8
/// matrix j at shared address `base` + `byteOffset` (each lane its own), and
/// lane l receives register j: row l / 4, bytes 4(l % 4) .. 4(l % 4) + 3 of
/// matrix j. That is the mma.sync fragment of an operand stored with k
/// contiguous (16-bit pairs, or four s8 values), so one instruction replaces
/// `num` 32-bit shared loads per lane.
std::vector<std::string> ldmatrix(Writer &w, const MmaTypes &types,
                                  const std::string &base,
                                  const std::string &byteOffset, int num,
                                  bool transpose = false) {
  std::string address =
      w.let("arith.index_cast " + w.add(base, byteOffset) + " : index to i64");
  std::string pointer =
      w.let("llvm.inttoptr " + address + " : i64 to !llvm.ptr<3>");
  std::string type = "i32";
  if (num > 1) {
    type = "!llvm.struct<(i32";
    for (int j = 1; j < num; ++j)
      type += ", i32";
    type += ")>";
  }
  std::string result =
      w.let("nvvm.ldmatrix " + pointer + " {num = " + std::to_string(num) +
            " : i32, layout = #nvvm.mma_layout<" + (transpose ? "col" : "row") +
            ">, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>, eltType = "
            "#nvvm.ld_st_matrix_elt_type<b16>} : (!llvm.ptr<3>) -> " +
            type);
  std::vector<std::string> registers;
  for (int j = 0; j < num; ++j) {
    std::string r = num == 1 ? result
                             : w.let("llvm.extractvalue " + result + "[" +
                                     std::to_string(j) + "] : " + type);
    if (types.fragment != "i32") {
      std::string word =
          w.let("vector.from_elements " + r + " : vector<1xi32>");
      r = w.let("vector.bitcast " + word + " : vector<1xi32> to " +
                types.fragment);
    }
    registers.push_back(r);
  }
  return registers;
}

/// Two f32 values rounded to the tensor-core type as one fragment register.
std::string packPair(Writer &w, const MmaTypes &types, const std::string &a,
                     const std::string &b) {
  std::string ta = w.let("arith.truncf " + a + " : f32 to " + types.element);
  std::string tb = w.let("arith.truncf " + b + " : f32 to " + types.element);
  std::string pair = w.let("vector.from_elements " + ta + ", " + tb +
                           " : vector<2x" + types.element + ">");
  if (types.element == "f16")
    return pair;
  std::string word =
      w.let("vector.bitcast " + pair + " : vector<2xbf16> to vector<1xi32>");
  return w.let("vector.extract " + word + "[0] : i32 from vector<1xi32>");
}

/// D = A x B + C on one m16n8k16 (m16n8k32 for s8) tile; returns the four
/// accumulator results.
std::array<std::string, 4> mma(Writer &w, const MmaTypes &types,
                               const std::array<std::string, 4> &a,
                               const std::array<std::string, 2> &b,
                               const std::array<std::string, 4> &c) {
  std::string structType = "!llvm.struct<(" + types.acc + ", " + types.acc +
                           ", " + types.acc + ", " + types.acc + ")>";
  // Integer products wrap like the host's i32 accumulation (|sum| stays far
  // below 2^31 for k < 2^17 with 8-bit operands).
  std::string overflow =
      types.isInt() ? "intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, "
                    : "";
  // nvvm.mma.sync has no FP8 types; FP8 products call the NVPTX intrinsic
  // for mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 (sm_89 and
  // later).
  std::string result =
      types.isFP8()
          ? w.let("llvm.call_intrinsic \"llvm.nvvm.mma.m16n8k32.row.col.f32."
                  "e4m3.e4m3.f32\"(" +
                  a[0] + ", " + a[1] + ", " + a[2] + ", " + a[3] + ", " + b[0] +
                  ", " + b[1] + ", " + c[0] + ", " + c[1] + ", " + c[2] + ", " +
                  c[3] +
                  ") : (i32, i32, i32, i32, i32, i32, f32, f32, f32, f32) "
                  "-> " +
                  structType)
          : w.let(
                "nvvm.mma.sync A[" + a[0] + ", " + a[1] + ", " + a[2] + ", " +
                a[3] + "] B[" + b[0] + ", " + b[1] + "] C[" + c[0] + ", " +
                c[1] + ", " + c[2] + ", " + c[3] + "] {" + overflow +
                "layoutA = #nvvm.mma_layout<row>, layoutB = "
                "#nvvm.mma_layout<col>, "
                "multiplicandAPtxType = #nvvm.mma_type<" +
                types.ptxType() + ">, multiplicandBPtxType = #nvvm.mma_type<" +
                types.ptxType() + ">, shape = #nvvm.shape<m = 16, n = 8, k = " +
                std::to_string(types.k) + ">} : (" + types.fragment + ", " +
                types.fragment + ", " + types.acc + ") -> " + structType);
  std::array<std::string, 4> d;
  for (int i = 0; i < 4; ++i)
    d[i] = w.let("llvm.extractvalue " + result + "[" + std::to_string(i) +
                 "] : " + structType);
  return d;
}

std::string activate(Writer &w, Activation activation, const std::string &x) {
  switch (activation) {
  case Activation::None:
    return x;
  case Activation::Relu:
    return w.fmax(x, w.f32(0.0));
  case Activation::Gelu: {
    std::string e = w.math("erf", w.fmul(x, w.f32(M_SQRT1_2)));
    std::string half = w.fmul(x, w.f32(0.5));
    return w.fmul(half, w.fadd(e, w.f32(1.0)));
  }
  case Activation::GeluTanh: {
    std::string cube = w.fmul(w.fmul(x, x), x);
    std::string sum = w.fadd(x, w.fmul(cube, w.f32(0.044715)));
    std::string inner = w.fmul(sum, w.f32(0.7978845608028654));
    std::string t = w.math("tanh", inner);
    std::string half = w.fmul(x, w.f32(0.5));
    return w.fmul(half, w.fadd(t, w.f32(1.0)));
  }
  case Activation::Silu: {
    std::string e = w.exp(w.fsub(w.f32(0.0), x));
    return w.fdiv(x, w.fadd(e, w.f32(1.0)));
  }
  }
  return x;
}

/// The integer level of x (v / scale) as f32, llm.quantize's operations on
/// f32 values: saturate(roundeven(x) + shift), `shift` the zero point as
/// f32 (or "" for none), the range 0..255 when `isUnsigned`, else
/// -128..127.
std::string integerLevel(Writer &w, const std::string &x,
                         const std::string &shift, bool isUnsigned) {
  std::string r = w.let("math.roundeven " + x + " : f32");
  if (!shift.empty())
    r = w.fadd(r, shift);
  r = w.bin("arith.maxnumf", r, w.f32(isUnsigned ? 0 : -128), "f32");
  return w.bin("arith.minnumf", r, w.f32(isUnsigned ? 255 : 127), "f32");
}

/// The level of v / scale as i8.
std::string quantizeValue(Writer &w, const std::string &v,
                          const std::string &scale, const std::string &shift,
                          bool isUnsigned) {
  std::string r = integerLevel(w, w.fdiv(v, scale), shift, isUnsigned);
  std::string wide = w.let("arith.fptosi " + r + " : f32 to i32");
  return w.let("arith.trunci " + wide + " : i32 to i8");
}

/// The FP8 E4M3 byte of x, and of v / scale (llm.quantize's e4m3), as i8,
/// by cvt.rn.satfinite.e4m3x2.f32: it converts two values into the high
/// and low bytes; the value goes in both and the low byte is kept.
std::string e4m3Byte(Writer &w, const std::string &x) {
  std::string pair =
      w.let("llvm.call_intrinsic \"llvm.nvvm.ff.to.e4m3x2.rn\"(" + x + ", " +
            x + ") : (f32, f32) -> i16");
  return w.let("arith.trunci " + pair + " : i16 to i8");
}
std::string quantizeE4M3(Writer &w, const std::string &v,
                         const std::string &scale) {
  return e4m3Byte(w, w.fdiv(v, scale));
}

/// FP8 E4M3 bytes (`vector<lanes x i8>`, or `i8` when lanes is 1 and
/// `scalarWhenOne`) as f32 values of the same shape, exactly as
/// llm.dequantize's e4m3 reads them: a normal byte's exponent and mantissa
/// rebased to f32's bias (exponent + 120) under its sign bit; a subnormal one
/// (exponent 0) its mantissa times 2^-9, so that no f32 subnormal is formed
/// (flush-to-zero cannot touch it); 0x7F and 0xFF are NaN.
std::string decodeE4M3(Writer &w, const std::string &bytes, int64_t lanes,
                       bool scalarWhenOne = true) {
  bool scalar = lanes == 1 && scalarWhenOne;
  auto type = [&](const char *element) {
    return scalar ? std::string(element)
                  : "vector<" + std::to_string(lanes) + "x" + element + ">";
  };
  auto splat = [&](const std::string &value, const char *element) {
    return scalar ? value
                  : w.let("vector.broadcast " + value + " : " + element +
                          " to " + type(element));
  };
  const std::string i32 = type("i32"), f32 = type("f32");
  auto int32 = [&](int64_t v) { return splat(w.i32(v), "i32"); };
  auto float32 = [&](const std::string &literal) {
    return splat(w.let("arith.constant " + literal + " : f32"), "f32");
  };
  std::string wide =
      w.let("arith.extui " + bytes + " : " + type("i8") + " to " + i32);
  std::string magnitude = w.bin("arith.andi", wide, int32(0x7F), i32.c_str());
  std::string sign =
      w.bin("arith.shli", w.bin("arith.andi", wide, int32(0x80), i32.c_str()),
            int32(24), i32.c_str());
  std::string normal = w.let(
      "arith.bitcast " +
      w.bin("arith.ori",
            w.bin("arith.shli",
                  w.bin("arith.addi", magnitude, int32(120 << 3), i32.c_str()),
                  int32(20), i32.c_str()),
            sign, i32.c_str()) +
      " : " + i32 + " to " + f32);
  std::string tiny =
      w.bin("arith.mulf",
            w.let("arith.uitofp " + magnitude + " : " + i32 + " to " + f32),
            float32("1.953125e-03"), f32.c_str()); // 2^-9
  std::string negative =
      w.let("arith.cmpi ne, " + sign + ", " + int32(0) + " : " + i32);
  tiny = w.let("arith.select " + negative + ", " +
               w.let("arith.negf " + tiny + " : " + f32) + ", " + tiny + " : " +
               type("i1") + ", " + f32);
  std::string subnormal =
      w.let("arith.cmpi ult, " + magnitude + ", " + int32(8) + " : " + i32);
  std::string value = w.let("arith.select " + subnormal + ", " + tiny + ", " +
                            normal + " : " + type("i1") + ", " + f32);
  std::string nan =
      w.let("arith.cmpi eq, " + magnitude + ", " + int32(0x7F) + " : " + i32);
  return w.let("arith.select " + nan + ", " + float32("0x7FC00000") + ", " +
               value + " : " + type("i1") + ", " + f32);
}

/// `v` quantized as a kernel's static output quantization `q` says.
std::string quantizeValue(Writer &w, const std::string &v,
                          const OutputQuantization &q) {
  std::string scale = w.f32(q.scale);
  if (q.e4m3)
    return quantizeE4M3(w, v, scale);
  std::string zero = q.zero != 0 ? w.f32(static_cast<double>(q.zero)) : "";
  return quantizeValue(w, v, scale, zero, q.isUnsigned);
}

std::string header(const std::string &name,
                   const std::vector<std::string> &params,
                   const std::vector<std::string> &workgroup, int64_t threads) {
  std::string text =
      "  gpu.func @" + name + "(" + llvm::join(params, ", ") + ")";
  // Shared tiles are 16-byte aligned for vector accesses.
  if (!workgroup.empty())
    text += " workgroup(" + llvm::join(workgroup, " {llvm.align = 16 : i64}, ") +
            " {llvm.align = 16 : i64})";
  text += " kernel attributes {known_block_size = array<i32: " +
          std::to_string(threads) + ", 1, 1>} {\n";
  return text;
}

/// A shared tile of a tiled kernel: its SSA name, memref type (in the
/// workgroup address space, identity layout) and bytes.
struct SharedTile {
  std::string name, type;
  int64_t bytes;
};

/// header() for the tiled kernels, whose tiles may outgrow static shared
/// memory. Within kStaticSharedBytes they are workgroup attributions
/// (`dynamicBytes` 0); beyond, views of the block's dynamic shared memory at
/// 128-byte aligned offsets, defined under the same names at the top of the
/// body, and `dynamicBytes` is the size the launch must pass (a block opts
/// in to more than 48 KiB of it on sm_70 and later).
std::string tiledHeader(const std::string &name,
                        const std::vector<std::string> &params,
                        const std::vector<SharedTile> &tiles, int64_t threads,
                        int64_t &dynamicBytes) {
  int64_t total = 0;
  for (const SharedTile &tile : tiles)
    total += (tile.bytes + 127) / 128 * 128;
  dynamicBytes = 0;
  if (total <= kStaticSharedBytes) {
    std::vector<std::string> workgroup;
    for (const SharedTile &tile : tiles)
      workgroup.push_back(tile.name + ": " + tile.type);
    return header(name, params, workgroup, threads);
  }
  dynamicBytes = total;
  const std::string bytesType = "memref<?xi8, #gpu.address_space<workgroup>>";
  std::string text = header(name, params, {}, threads);
  text += "    %smem = gpu.dynamic_shared_memory : " + bytesType + "\n";
  int64_t at = 0;
  for (auto [i, tile] : llvm::enumerate(tiles)) {
    std::string offset = "%smem_at" + std::to_string(i);
    text += "    " + offset + " = arith.constant " + std::to_string(at) +
            " : index\n";
    text += "    " + tile.name + " = memref.view %smem[" + offset +
            "][] : " + bytesType + " to " + tile.type + "\n";
    at += (tile.bytes + 127) / 128 * 128;
  }
  return text;
}

} // namespace

int64_t llmc::gpu_kernels::matmulThreads(const MatMulSpec &spec) {
  return 32 * (spec.tileM / spec.warpM) * (spec.tileN / spec.warpN);
}

namespace {

/// How one operand's block tile travels from global memory (f32) to its
/// shared tile ([stage][row][k] in the tensor-core type, k contiguous): the
/// tile's rows are m for the lhs and n for the rhs. Each thread moves
/// `chunks` runs of `vector` elements along the operand's contiguous
/// dimension; a run is wholly inside or wholly outside the matrix.
int64_t elementBytes(const std::string &type) {
  return type == "f32" || type == "i32" ? 4 : type == "i8" ? 1 : 2;
}

/// The low and high nibbles of packed 4-bit weights `bytes` (of type `i8`:
/// i8 or a vector of i8) as i8: unsigned less `zero` (of the same type)
/// when given, else signed.
std::pair<std::string, std::string> splitNibbles(Writer &w,
                                                 const std::string &bytes,
                                                 const std::string &zero,
                                                 const std::string &i8) {
  auto splat = [&](int value) {
    return w.let("arith.constant " +
                 (i8 == "i8" ? std::to_string(value)
                             : "dense<" + std::to_string(value) + ">") +
                 " : " + i8);
  };
  const char *type = i8.c_str();
  if (!zero.empty())
    return {w.bin("arith.subi", w.bin("arith.andi", bytes, splat(15), type),
                  zero, type),
            w.bin("arith.subi", w.bin("arith.shrui", bytes, splat(4), type),
                  zero, type)};
  std::string shifted = w.bin("arith.shli", bytes, splat(4), type);
  std::string low = w.bin("arith.shrsi", shifted, splat(4), type);
  return {low, w.bin("arith.shrsi", bytes, splat(4), type)};
}

struct TileCopy {
  std::string memref, memrefType, tile, tileType;
  std::string element = "f32"; // of the global buffer
  int64_t rows = 0, tileK = 0, threads = 0;
  int64_t extentRows = 0, extentK = 0; // the matrix (m or n, and k)
  int64_t strideRow = 0, strideK = 0;
  bool alongK = true; // runs along k (else along rows)
  int64_t vector = 1, chunks = 0;
  /// For wgmma: the tile is a flat [stage][..] buffer in the K-major
  /// core-matrix layout (8 rows x 16 bytes per core matrix, 128 contiguous
  /// bytes; c = coreRow elements in 16 bytes): element (r, k) of a stage at
  /// (r/8)*coreSbo + (k/c)*8*c + (r%8)*c + k%c. 0: [stage][row][k] tiles.
  int64_t coreSbo = 0, coreRow = 8;
  /// An int8 weight dequantized on the way to shared memory: element (row,
  /// k) becomes float(q) * scale[row0 + row] (one scale per output column),
  /// then the tensor-core type. Empty: no scale.
  std::string scaleMemref, scaleType, row0;
  /// The index of this batch entry's first scale (and zero point) of a
  /// batched weight; empty: 0.
  std::string scaleBase;
  /// With a scale: the bytes are FP8 E4M3 (decoded exactly) instead of int8.
  bool e4m3 = false;
  /// A blocked 4- or 8-bit weight (MatMulSpec::rhsBlock, rhsBits): strides
  /// and extents count elements, the buffer holds two per byte (4 bits) or
  /// one; element (row, k) is (q - zero) * scale of block (row, k / block),
  /// `blocksPerRow` per row. A load returns each chunk's bytes, then each
  /// chunk's scale (and zero point), read with the bytes. 0: not blocked.
  int64_t block = 0, blockBits = 4, blocksPerRow = 0;
  std::string zeroMemref, zeroType;
  /// An unsigned 8-bit operand of an s8 product: each byte enters the tile
  /// less 128 (its top bit flipped); zero fill stays 0.
  bool flipSign = false;
  /// Elements of one row of a [stage][row][k] tile (0 for the core-matrix
  /// layout).
  int64_t pitch = 0;
  /// Rows from `secondRow` on come from a second buffer (a decoding step's
  /// new keys after the cached ones): element (row, k) at base2 + (row -
  /// secondRow) * strideRow2 + k * strideK of `memref2`. 0: one buffer.
  /// Plain element copies only (no scale, block or sign flip).
  int64_t secondRow = 0, strideRow2 = 0;
  std::string memref2, memrefType2, base2;
  /// A gated unit's merged weight (MatMulSpec::glu) in the tensor-core
  /// kernels: the rows (product columns) interleave its two halves by
  /// eights, the first (gate) rows from row interleaveFirst, the second
  /// (up) ones from interleaveSecond; see bufferRow.
  bool interleaved = false;
  int64_t interleaveFirst = 0, interleaveSecond = 0;

  TileCopy(const Operand &operand, std::string memref, std::string tile,
           std::string tileType, int64_t rows, int64_t tileK, int64_t threads,
           int64_t extentRows, int64_t extentK, int64_t strideRow,
           int64_t strideK, std::string element = "f32",
           int64_t tileElementBytes = 1)
      : memref(std::move(memref)),
        memrefType(flatType(operand.elements, element.c_str())),
        tile(std::move(tile)), tileType(std::move(tileType)),
        element(std::move(element)), rows(rows), tileK(tileK),
        threads(threads), extentRows(extentRows), extentK(extentK),
        strideRow(strideRow), strideK(strideK) {
    alongK = strideK == 1 || strideRow != 1;
    // 16-byte loads (4 f32, 8 bf16 or 16 i8) when every run starts 16-byte
    // aligned: the contiguous extent, the other stride and every batch
    // stride are multiples of the run. A run also stays within 16 bytes of
    // the tile (int8 weights dequantized to bf16: 8-byte loads).
    int64_t run = std::min(16 / elementBytes(this->element),
                           16 / tileElementBytes);
    int64_t contiguous = alongK ? extentK : extentRows;
    int64_t other = alongK ? strideRow : strideK;
    bool aligned = (alongK ? strideK : strideRow) == 1 &&
                   contiguous % run == 0 && other % run == 0;
    for (const BatchTerm &term : operand.batch)
      aligned &= term.stride % run == 0;
    // rows * tileK is a multiple of threads (every block tile is).
    int64_t total = rows * tileK;
    vector = aligned && (total / run) % threads == 0 ? run : 1;
    chunks = total / vector / threads;
  }

  /// The buffer row of matrix row `row`: itself, or when interleaved row
  /// 8 (row / 16) + row % 8 of the first half where row % 16 < 8, else of
  /// the second.
  std::string bufferRow(Writer &w, const std::string &row) const {
    if (!interleaved)
      return row;
    std::string group = w.mulc(w.div(row, w.idx(16)), 8);
    std::string half = w.rem(w.div(row, w.idx(8)), w.idx(2));
    std::string within = w.addc(w.rem(row, w.idx(8)), interleaveFirst);
    return w.add(w.add(group, within),
                 w.mulc(half, interleaveSecond - interleaveFirst));
  }

  /// Issues this thread's loads of the tile at (row0, k0); returns the
  /// values (f32 or vector<4xf32>), zero outside the matrix.
  std::vector<std::string> load(Writer &w, const std::string &tid,
                                const std::string &base,
                                const std::string &row0,
                                const std::string &k0) const {
    std::string vt = vectorType(element);
    std::string z = element == "i8" ? "0" : "0.0";
    std::string zero = vector == 1
                           ? w.let("arith.constant " + z + " : " + element)
                           : w.let("arith.constant dense<" + z + "> : " + vt);
    std::vector<std::string> values, parameters;
    for (int64_t i = 0; i < chunks; ++i) {
      Chunk c = chunk(w, tid, base, row0, k0, i);
      const std::string &gr = c.gr, &gk = c.gk, &ok = c.ok, &safe = c.safe;
      if (block) {
        // Bytes at element address / 2 (4 bits) or at it; the block's scale
        // (zero point).
        int64_t perByte = blockBits == 4 ? 2 : 1;
        std::string byte = perByte == 1 ? safe : w.div(safe, w.idx(2));
        std::string packedType =
            vector == 1 ? std::string("i8")
                        : "vector<" + std::to_string(vector / perByte) + "xi8>";
        std::string v =
            vector == 1
                ? w.load(memref, memrefType, byte)
                : w.let("vector.load " + memref + "[" + byte +
                        "] {alignment = " + std::to_string(vector / perByte) +
                        " : i64} : " + memrefType + ", " + packedType);
        values.push_back(v);
        std::string rowBlocks = w.mulc(bufferRow(w, gr), blocksPerRow);
        if (!scaleBase.empty())
          rowBlocks = w.add(scaleBase, rowBlocks);
        std::string unsafeIndex = w.add(rowBlocks, w.div(gk, w.idx(block)));
        std::string blockIndex = w.select(ok, unsafeIndex, w.idx(0), "index");
        // Outside the matrix the scale is 0, so the element is.
        std::string scale = w.load(scaleMemref, scaleType, blockIndex);
        parameters.push_back(w.select(ok, scale, w.f32(0.0), "f32"));
        if (!zeroMemref.empty())
          parameters.push_back(w.load(zeroMemref, zeroType, blockIndex));
        continue;
      }
      auto loadFrom = [&](const std::string &buffer, const std::string &type,
                          const std::string &at) {
        return vector == 1
                   ? w.load(buffer, type, at)
                   : w.let("vector.load " + buffer + "[" + at +
                           "] {alignment = " +
                           std::to_string(vector * elementBytes(element)) +
                           " : i64} : " + type + ", " + vt);
      };
      std::string v;
      if (secondRow) {
        // Each row from its own buffer (a warp straddles the two only at
        // the tile that holds row secondRow).
        v = w.fresh("rows");
        w.line(v + " = scf.if " + c.first + " -> (" + vt + ") {");
        w.line("scf.yield " + loadFrom(memref, memrefType, safe) + " : " + vt);
        w.line("} else {");
        w.line("scf.yield " + loadFrom(memref2, memrefType2, c.safe2) + " : " +
               vt);
        w.line("}");
      } else {
        v = loadFrom(memref, memrefType, safe);
      }
      if (flipSign)
        v = w.bin("arith.xori", v,
                  w.let(vector == 1 ? "arith.constant -128 : i8"
                                    : "arith.constant dense<-128> : " + vt),
                  vt.c_str());
      values.push_back(w.select(ok, v, zero, vt.c_str()));
    }
    values.insert(values.end(), parameters.begin(), parameters.end());
    return values;
  }

  /// Whether cp.async can fill the tile: 16-byte runs along k of a buffer
  /// already in the tensor-core type, moved as they are (no rounding,
  /// dequantization or sign flip on the way).
  bool copiesAsync(const MmaTypes &types) const {
    return element == types.element && alongK &&
           vector * elementBytes(element) == 16 && !block &&
           scaleMemref.empty() && !flipSign;
  }

  /// Issues this thread's cp.async.cg copies of the tile at (row0, k0) into
  /// stage `stage`: 16 bytes each from the buffer at global address
  /// `global`, zero-filled (source size 0) outside the matrix. `shared` is
  /// the tile's shared-window address. The caller commits and waits.
  void copyAsync(Writer &w, const std::string &tid, const std::string &global,
                 const std::string &shared, const std::string &base,
                 const std::string &row0, const std::string &k0,
                 const std::string &stage,
                 const std::string &global2 = "") const {
    std::string full = w.i32(16), none = w.i32(0);
    for (int64_t i = 0; i < chunks; ++i) {
      auto [r, k, gr, gk, ok, safe, first, safe2] =
          chunk(w, tid, base, row0, k0, i);
      const int64_t bytes = elementBytes(element);
      std::string from;
      if (secondRow && strideRow2 == strideRow) // one address (chunk)
        from = w.add(w.select(first, global, global2, "index"),
                     w.mulc(safe, bytes));
      else
        from = w.add(global, w.mulc(safe, bytes));
      if (secondRow && strideRow2 != strideRow)
        from = w.select(first, from, w.add(global2, w.mulc(safe2, bytes)),
                        "index");
      std::string src = w.let("arith.index_cast " + from + " : index to i64");
      src = w.let("llvm.inttoptr " + src + " : i64 to !llvm.ptr");
      src = w.let("llvm.addrspacecast " + src + " : !llvm.ptr to !llvm.ptr<1>");
      std::string dst =
          w.let("arith.index_cast " +
                w.add(shared, w.mulc(elementOffset(w, stage, r, k),
                                     elementBytes(element))) +
                " : index to i64");
      dst = w.let("llvm.inttoptr " + dst + " : i64 to !llvm.ptr<3>");
      std::string size = w.select(ok, full, none, "i32");
      w.line("nvvm.cp.async.shared.global " + dst + ", " + src +
             ", 16, cache = cg, " + size +
             " : !llvm.ptr<3>, !llvm.ptr<1>, i32");
    }
  }

  /// Rounds `values` (from load) to the tensor-core type and stores them
  /// into shared stage `stage`.
  void store(Writer &w, const MmaTypes &types, const std::string &tid,
             const std::string &stage,
             const std::vector<std::string> &values) const {
    for (int64_t i = 0; i < chunks; ++i) {
      auto [r, k] = position(w, tid, i);
      std::string from = vectorType(element), to = vectorType(types.element);
      std::string h = values[i];
      // The scale of (row r + j): zero-filled rows past the matrix read
      // scale[0] (their values are 0 anyway).
      auto scaleOf = [&](const std::string &row) {
        std::string n = w.add(row0, row);
        std::string ok = w.cmp("ult", n, w.idx(extentRows));
        std::string at = w.select(ok, bufferRow(w, n), w.idx(0), "index");
        if (!scaleBase.empty())
          at = w.add(scaleBase, at);
        return w.load(scaleMemref, scaleType, at);
      };
      if (block) {
        h = blockBits == 4 ? unpackFour(w, types, i, k, values)
                           : dequantizeEight(w, types, i, values);
      } else if (!scaleMemref.empty()) {
        h = e4m3 ? decodeE4M3(w, h, vector)
                 : w.let("arith.sitofp " + h + " : " + from + " to " +
                         vectorType("f32"));
        if (alongK || vector == 1) {
          std::string sc = scaleOf(r);
          if (vector > 1)
            sc = w.let("vector.broadcast " + sc + " : f32 to " +
                       vectorType("f32"));
          h = w.bin("arith.mulf", h, sc, vectorType("f32").c_str());
          h = w.let("arith.truncf " + h + " : " + vectorType("f32") + " to " +
                    to);
        } else {
          // Runs along rows: each element has its own scale.
          for (int j = 0; j < vector; ++j) {
            std::string e = w.let("vector.extract " + h + "[" +
                                  std::to_string(j) + "] : f32 from " +
                                  vectorType("f32"));
            e = w.let("arith.truncf " + w.fmul(e, scaleOf(w.addc(r, j))) +
                      " : f32 to " + types.element);
            w.line("memref.store " + e + ", " + tile + "[" +
                   subscript(w, stage, w.addc(r, j), k) + "] : " + tileType);
          }
          continue;
        }
      } else if (element != types.element) {
        // f32 rounds to the tensor-core type; bf16 becomes f16 through f32.
        if (element != "f32")
          h = w.let("arith.extf " + h + " : " + from + " to " +
                    vectorType("f32"));
        h = w.let("arith.truncf " + h + " : " + vectorType("f32") + " to " +
                  to);
      }
      if (vector == 1) {
        w.line("memref.store " + h + ", " + tile + "[" +
               subscript(w, stage, r, k) + "] : " + tileType);
        continue;
      }
      if (alongK) {
        w.line("vector.store " + h + ", " + tile + "[" +
               subscript(w, stage, r, k) + "] {alignment = " +
               std::to_string(vector * types.bytes) + " : i64} : " +
               tileType + ", " + to);
        continue;
      }
      const std::string &vt = to;
      for (int j = 0; j < vector; ++j) {
        std::string e = w.let("vector.extract " + h + "[" + std::to_string(j) +
                              "] : " + types.element + " from " + vt);
        w.line("memref.store " + e + ", " + tile + "[" +
               subscript(w, stage, w.addc(r, j), k) + "] : " + tileType);
      }
    }
  }

  /// Writes this thread's chunks of the tile at row0 (k0 0) that lie in
  /// the matrix and before row `rowEnd` to the [row][k] buffer `dest` at
  /// destBase + row * destRowStride + k, as they are: from `values` (what
  /// load returned), or with none (cp.async filled the tile) from shared
  /// stage `stage`, which this thread's copies have reached (waited for).
  /// Plain element copies only (secondRow's restriction).
  void writeRows(Writer &w, const std::string &tid, const std::string &row0,
                 const std::string &rowEnd, const std::string &dest,
                 const std::string &destType, const std::string &destBase,
                 int64_t destRowStride, const std::vector<std::string> *values,
                 const std::string &stage) const {
    std::string vt = vectorType(element);
    std::string alignment = std::to_string(vector * elementBytes(element));
    // A thread's chunks along k lie `step` rows apart at one k when the
    // block's threads cover whole rows: one base address and a count of
    // rows left, offsets from them (few registers live across the
    // products, which the tile's loads are in flight over).
    const int64_t perRow = tileK / vector;
    const bool regular = alongK && threads % perRow == 0;
    const int64_t step = regular ? threads / perRow : 0;
    std::string r0, firstRow, k0, left, kOk, base;
    if (regular) {
      r0 = w.div(tid, w.idx(perRow));
      firstRow = w.add(row0, r0);
      k0 = w.mulc(w.rem(tid, w.idx(perRow)), vector);
      std::string end = w.bin("arith.minsi", rowEnd, w.idx(extentRows));
      left = w.bin("arith.subi", end, firstRow);
      kOk = w.cmp("ult", k0, w.idx(extentK));
      base = w.add(destBase, w.add(w.mulc(firstRow, destRowStride), k0));
    }
    for (int64_t i = 0; i < chunks; ++i) {
      std::string r, k, ok, at;
      if (regular) {
        r = w.addc(r0, i * step);
        k = k0;
        ok = w.andi(kOk, w.cmp("sgt", left, w.idx(i * step)));
        at = w.addc(base, i * step * destRowStride);
      } else {
        std::tie(r, k) = position(w, tid, i);
        std::string gr = w.add(row0, r);
        ok = w.andi(w.andi(w.cmp("ult", gr, w.idx(extentRows)),
                           w.cmp("ult", gr, rowEnd)),
                    w.cmp("ult", k, w.idx(extentK)));
        at = w.add(destBase, w.add(w.mulc(gr, destRowStride), k));
      }
      w.line("scf.if " + ok + " {");
      std::string v;
      if (values)
        v = (*values)[i];
      else if (vector == 1)
        v = w.load(tile, tileType, subscript(w, stage, r, k));
      else
        v = w.let("vector.load " + tile + "[" + subscript(w, stage, r, k) +
                  "] {alignment = " + alignment + " : i64} : " + tileType +
                  ", " + vt);
      if (vector == 1)
        w.line("memref.store " + v + ", " + dest + "[" + at +
               "] : " + destType);
      else
        w.line("vector.store " + v + ", " + dest + "[" + at +
               "] {alignment = " + alignment + " : i64} : " + destType + ", " +
               vt);
      w.line("}");
    }
  }

private:
  /// Chunk i of a 4-bit weight as `vector` elements of the tensor-core type:
  /// nibbles (signed, or unsigned less the zero point) times the block's
  /// scale, in k order (low nibble first). `values` is what load returned;
  /// `k` the chunk's k within the tile (its parity picks a lone nibble).
  std::string unpackFour(Writer &w, const MmaTypes &types, int64_t i,
                         const std::string &k,
                         const std::vector<std::string> &values) const {
    bool zeroPoint = !zeroMemref.empty();
    int64_t perChunk = zeroPoint ? 2 : 1;
    std::string scale = values[chunks + i * perChunk];
    int64_t bytes = std::max<int64_t>(vector / 2, 1);
    std::string i8 = bytes == 1 ? "i8" : "vector<" + std::to_string(bytes) + "xi8>";
    std::string f32 = bytes == 1 ? "f32" : "vector<" + std::to_string(bytes) + "xf32>";
    std::string zero;
    if (zeroPoint) {
      zero = values[chunks + i * perChunk + 1];
      if (bytes > 1)
        zero = w.let("vector.broadcast " + zero + " : i8 to " + i8);
    }
    auto [low, high] = splitNibbles(w, values[i], zero, i8);
    if (bytes > 1)
      scale = w.let("vector.broadcast " + scale + " : f32 to " + f32);
    auto dequantize = [&](const std::string &q) {
      return w.bin("arith.mulf",
                   w.let("arith.sitofp " + q + " : " + i8 + " to " + f32),
                   scale, f32.c_str());
    };
    low = dequantize(low);
    high = dequantize(high);
    if (vector == 1) {
      std::string parity = w.rem(k, w.idx(2));
      std::string odd = w.cmp("ne", parity, w.idx(0));
      return w.let("arith.truncf " + w.select(odd, high, low, "f32") +
                   " : f32 to " + types.element);
    }
    std::vector<std::string> elements;
    for (int64_t j = 0; j < bytes; ++j)
      for (const std::string &half : {low, high})
        elements.push_back(w.let("vector.extract " + half + "[" +
                                 std::to_string(j) + "] : f32 from " + f32));
    std::string list;
    for (const std::string &e : elements)
      list += (list.empty() ? "" : ", ") + e;
    std::string wide = w.let("vector.from_elements " + list + " : " +
                             vectorType("f32"));
    return w.let("arith.truncf " + wide + " : " + vectorType("f32") + " to " +
                 vectorType(types.element));
  }

  /// Chunk i of a blocked 8-bit weight in the tensor-core type: (q - zero)
  /// * scale, q signed without a zero point and unsigned with one (the
  /// difference taken in i32).
  std::string dequantizeEight(Writer &w, const MmaTypes &types, int64_t i,
                              const std::vector<std::string> &values) const {
    bool zeroPoint = !zeroMemref.empty();
    int64_t perChunk = zeroPoint ? 2 : 1;
    auto typed = [&](const char *element) {
      return vector == 1 ? std::string(element)
                         : "vector<" + std::to_string(vector) + "x" + element +
                               ">";
    };
    std::string i8 = typed("i8"), i32 = typed("i32"), f32 = typed("f32");
    std::string q = values[i], scale = values[chunks + i * perChunk];
    std::string wide;
    if (zeroPoint) {
      std::string zero = w.let("arith.extui " + values[chunks + i * perChunk + 1] +
                               " : i8 to i32");
      if (vector > 1)
        zero = w.let("vector.broadcast " + zero + " : i32 to " + i32);
      wide = w.bin("arith.subi", w.let("arith.extui " + q + " : " + i8 +
                                       " to " + i32),
                   zero, i32.c_str());
    } else {
      wide = w.let("arith.extsi " + q + " : " + i8 + " to " + i32);
    }
    if (vector > 1)
      scale = w.let("vector.broadcast " + scale + " : f32 to " + f32);
    std::string value =
        w.bin("arith.mulf", w.let("arith.sitofp " + wide + " : " + i32 +
                                  " to " + f32),
              scale, f32.c_str());
    return w.let("arith.truncf " + value + " : " + f32 + " to " +
                 typed(types.element.c_str()));
  }

  /// Chunk i of this thread for the tile at (row0, k0): its (r, k) in the
  /// tile, (gr, gk) in the matrix, whether it is inside the matrix, and its
  /// element address in the buffer (0 outside: never out of bounds).
  /// With a second buffer (secondRow), `first` says whether the row is in
  /// the first; `safe` is its address there and `safe2` in the second (0
  /// where the row is not).
  struct Chunk {
    std::string r, k, gr, gk, ok, safe, first, safe2;
  };
  Chunk chunk(Writer &w, const std::string &tid, const std::string &base,
              const std::string &row0, const std::string &k0, int64_t i) const {
    auto [r, k] = position(w, tid, i);
    std::string gr = w.add(row0, r), gk = w.add(k0, k);
    std::string rowInside = w.cmp("ult", gr, w.idx(extentRows));
    std::string ok = w.andi(rowInside, w.cmp("ult", gk, w.idx(extentK)));
    std::string rowOffset = w.mulc(bufferRow(w, gr), strideRow);
    std::string addr = w.add(base, w.add(rowOffset, w.mulc(gk, strideK)));
    if (!secondRow)
      return {r, k, gr, gk, ok, w.select(ok, addr, w.idx(0), "index"), "", ""};
    std::string first = w.cmp("ult", gr, w.idx(secondRow));
    if (strideRow2 == strideRow) {
      // Both buffers' rows strideRow apart: one address, from the row's
      // buffer's base (the second's moved back by secondRow rows), as if
      // the two were one buffer (fewer registers than two addresses).
      std::string base2Back =
          w.bin("arith.subi", base2, w.idx(secondRow * strideRow));
      std::string from = w.select(first, base, base2Back, "index");
      std::string one = w.add(from, w.add(rowOffset, w.mulc(gk, strideK)));
      std::string safe = w.select(ok, one, w.idx(0), "index");
      return {r, k, gr, gk, ok, safe, first, safe};
    }
    std::string safe = w.select(w.andi(ok, first), addr, w.idx(0), "index");
    // Wraps for rows of the first buffer, which never use it.
    std::string row2 = w.bin("arith.subi", gr, w.idx(secondRow));
    std::string addr2 =
        w.add(base2, w.add(w.mulc(row2, strideRow2), w.mulc(gk, strideK)));
    std::string second = w.cmp("uge", gr, w.idx(secondRow));
    std::string safe2 = w.select(w.andi(ok, second), addr2, w.idx(0), "index");
    return {r, k, gr, gk, ok, safe, first, safe2};
  }

  /// The element offset of (r, k) of a stage in the tile.
  std::string elementOffset(Writer &w, const std::string &stage,
                            const std::string &r, const std::string &k) const {
    if (coreSbo)
      return subscript(w, stage, r, k);
    return w.add(w.mulc(w.add(w.mulc(stage, rows), r), pitch), k);
  }
  /// The tile subscript of element (r, k) of a stage.
  std::string subscript(Writer &w, const std::string &stage,
                        const std::string &r, const std::string &k) const {
    if (!coreSbo)
      return stage + ", " + r + ", " + k;
    std::string c8 = w.idx(8), c = w.idx(coreRow);
    std::string rowGroup = w.mulc(w.div(r, c8), coreSbo);
    std::string kGroup = w.mulc(w.div(k, c), 8 * coreRow);
    std::string core = w.add(rowGroup, kGroup);
    std::string rowInCore = w.mulc(w.rem(r, c8), coreRow);
    std::string offset = w.add(core, w.add(rowInCore, w.rem(k, c)));
    return w.add(w.mulc(stage, rows * tileK), offset);
  }
  /// The type of one run of `type` elements (the scalar type for 1).
  std::string vectorType(const std::string &type) const {
    return vector == 1 ? type
                       : "vector<" + std::to_string(vector) + "x" + type + ">";
  }
  /// (row, k) within the tile of this thread's chunk i.
  std::pair<std::string, std::string> position(Writer &w,
                                               const std::string &tid,
                                               int64_t i) const {
    std::string c = w.addc(tid, i * threads);
    if (alongK) {
      int64_t perRow = tileK / vector;
      return {w.div(c, w.idx(perRow)), w.mulc(w.rem(c, w.idx(perRow)), vector)};
    }
    int64_t perK = rows / vector;
    return {w.mulc(w.rem(c, w.idx(perK)), vector), w.div(c, w.idx(perK))};
  }
};

std::string accTypes(int count, const std::string &type) {
  std::string t;
  for (int i = 0; i < count; ++i)
    t += (i ? ", " : "") + type;
  return t;
}

} // namespace

namespace {

/// The kernel parameters of a product: lhs, rhs, a weight's dequantization
/// parameters, an s8 product's zero points, dequantization scales, bias,
/// residual, result.
std::vector<std::string> matmulParams(const MatMulSpec &s,
                                      const TileCopy &copyA,
                                      const TileCopy &copyB) {
  std::vector<std::string> params = {"%lhs: " + copyA.memrefType,
                                     "%rhs: " + copyB.memrefType};
  if (s.hasRhsScale)
    params.push_back("%rhsScale: " + flatType(s.rhsScaleElements));
  if (s.hasRhsZeroPoint)
    params.push_back("%rhsZero: " + flatType(s.rhsScaleElements, "i8"));
  if (s.hasRhsIndex)
    params.push_back("%rhsIndex: " + flatType(s.rhsEntries.elements, "i64"));
  if (s.offsets.lhsZero)
    params.push_back("%aZero: " + flatType(s.offsets.lhsZero->elements, "i8"));
  if (s.offsets.rhsZero)
    params.push_back("%bZero: " + flatType(s.offsets.rhsZero->elements, "i8"));
  for (size_t i = 0; i < s.scales.size(); ++i)
    params.push_back("%scale" + std::to_string(i) + ": " +
                     flatType(s.scales[i].elements));
  if (s.hasBias)
    params.push_back("%bias: " +
                     flatType(s.bias.elements, s.biasElement.c_str()));
  if (s.hasResidual)
    params.push_back("%residual: " + flatType(s.residual.elements,
                                              s.residualElement.c_str()));
  if (s.lhsNorm != MatMulSpec::LhsNorm::None)
    params.push_back("%lhsNormScale: " +
                     flatType(s.k, s.lhsNormElement.c_str()));
  if (s.hasLhsNormBias)
    params.push_back("%lhsNormBias: " +
                     flatType(s.k, s.lhsNormElement.c_str()));
  params.push_back("%out: " +
                   flatType(s.batch * s.m * s.n, s.quantizeOutput.enabled
                                                     ? "i8"
                                                     : s.outElement.c_str()));
  return params;
}

/// A product kernel's ids: thread, block (n tile, m tile, batch), warp,
/// lane, and the lane's group of four (the fragment row).
std::array<std::string, 7> productIds(Writer &w) {
  std::string tid = w.let("gpu.thread_id x");
  std::string blockN = w.let("gpu.block_id x");
  std::string blockM = w.let("gpu.block_id y");
  std::string z = w.let("gpu.block_id z");
  std::string lane = w.rem(tid, w.idx(32));
  return {tid, blockN, blockM, z, w.div(tid, w.idx(32)), lane,
          w.div(lane, w.idx(4))};
}

/// The tile copies of a product's operands into %aTile (rows m) and %bTile
/// (rows n), k tiles of s.tileK.
std::pair<TileCopy, TileCopy> productCopies(const MatMulSpec &s,
                                            const MmaTypes &types,
                                            const std::string &aTile,
                                            const std::string &bTile,
                                            int64_t threads) {
  TileCopy rhs(s.rhs, "%rhs", "%bTile", bTile, s.tileN, s.tileK, threads,
               s.productColumns(), s.k, s.rhs.colStride, s.rhs.rowStride,
               s.rhsElement, types.bytes);
  if (s.glu != Activation::None) {
    rhs.interleaved = true;
    rhs.interleaveFirst = s.gateOffset();
    rhs.interleaveSecond = s.upOffset();
  }
  if (s.rhsBlock) {
    // 4 bits: two elements per byte, runs of whole bytes.
    rhs.memrefType =
        flatType(s.rhsBits == 4 ? s.rhs.elements / 2 : s.rhs.elements, "i8");
    rhs.block = s.rhsBlock;
    rhs.blockBits = s.rhsBits;
    rhs.blocksPerRow = (s.k + s.rhsBlock - 1) / s.rhsBlock;
  }
  return {TileCopy(s.lhs, "%lhs", "%aTile", aTile, s.tileM, s.tileK, threads,
                   s.m, s.k, s.lhs.rowStride, s.lhs.colStride, s.lhsElement,
                   types.bytes),
          rhs};
}

/// The index of batch z's first scale of a batched weight-only rhs, or ""
/// when every batch entry shares them.
std::string rhsParameterBase(Writer &w, const MatMulSpec &s,
                             const std::string &z) {
  bool batched = llvm::any_of(s.rhsParameters.batch, [](const BatchTerm &t) {
    return t.stride != 0 && t.size != 1;
  });
  return batched ? batchOffset(w, s.rhsParameters, z) : "";
}

/// Batch z's rhs: the element offset of its matrix and the index of its
/// first scale ("" without a batched or indexed scale), by the rhs's batch
/// terms or through its index (MatMulSpec::hasRhsIndex).
std::pair<std::string, std::string> rhsBases(Writer &w, const MatMulSpec &s,
                                             const std::string &z) {
  if (!s.hasRhsIndex)
    return {batchOffset(w, s.rhs, z),
            s.hasRhsScale ? rhsParameterBase(w, s, z) : ""};
  std::string entry = batchOffset(w, s.rhsEntries, z);
  std::string raw =
      w.load("%rhsIndex", flatType(s.rhsEntries.elements, "i64"), entry);
  std::string index = w.let("arith.index_cast " + raw + " : i64 to index");
  std::string wrapped =
      w.select(w.cmp("slt", index, w.idx(0)),
               w.add(index, w.idx(s.rhsTableEntries)), index, "index");
  wrapped = w.let("arith.maxsi " + wrapped + ", " + w.idx(0) + " : index");
  wrapped = w.let("arith.minsi " + wrapped + ", " +
                  w.idx(s.rhsTableEntries - 1) + " : index");
  return {w.mulc(wrapped, s.productColumns() * s.k),
          s.hasRhsScale
              ? w.mulc(wrapped, s.rhsScaleElements / s.rhsTableEntries)
              : ""};
}

/// An int8 weight with per-column scales: its tile copy dequantizes, its
/// scales from index `scaleBase` ("": 0).
void dequantizeRhs(TileCopy &copy, const MatMulSpec &s, const std::string &n0,
                   const std::string &scaleBase) {
  if (!s.hasRhsScale)
    return;
  copy.scaleBase = scaleBase;
  copy.scaleMemref = "%rhsScale";
  copy.scaleType = flatType(s.rhsScaleElements);
  copy.e4m3 = s.rhsE4M3;
  copy.row0 = n0;
  if (s.hasRhsZeroPoint) {
    copy.zeroMemref = "%rhsZero";
    copy.zeroType = flatType(s.rhsScaleElements, "i8");
  }
}

/// Stores one accumulator of a product at (row, col) of batch z, through the
/// epilogue: act(dequant * scale * acc + bias) + residual in fp32, or an
/// integer accumulator as is; nothing outside the matrix.
class MatmulEpilogue {
public:
  MatmulEpilogue(Writer &w, const MatMulSpec &s, const MmaTypes &types,
                 const std::string &z)
      : w(w), s(s), types(types),
        cType(flatType(s.batch * s.m * s.n, s.quantizeOutput.enabled
                                                ? "i8"
                                                : s.outElement.c_str())) {
    biasBase = s.hasBias ? batchOffset(w, s.bias, z) : "";
    resBase = s.hasResidual ? batchOffset(w, s.residual, z) : "";
    outBase = w.mulc(z, s.m * s.n);
    for (const Operand &f : s.scales)
      scaleBases.push_back(batchOffset(w, f, z));
    if (s.offsets.lhsZero)
      lhsZeroBase = batchOffset(w, *s.offsets.lhsZero, z);
    if (s.offsets.rhsZero)
      rhsZeroBase = batchOffset(w, *s.offsets.rhsZero, z);
    cM = w.idx(s.m);
    cN = w.idx(s.n);
  }

  /// `rowSum` and `colSum` (an s8 product's sums of its shifted operands, as
  /// IntegerOffsets needs them) or "".
  void store(const std::string &value, const std::string &row,
             const std::string &col, const std::string &rowSum = "",
             const std::string &colSum = "") {
    std::string rowInside = w.cmp("ult", row, cM);
    std::string ok = w.andi(rowInside, w.cmp("ult", col, cN));
    w.line("scf.if " + ok + " {");
    std::string v = value;
    std::string out = w.add(outBase, w.add(w.mulc(row, s.n), col));
    if (s.offsets.lhsShifted() || s.offsets.rhsShifted())
      v = correctOffsets(v, row, col, rowSum, colSum);
    if (s.outElement == "i32") {
      w.line("memref.store " + v + ", %out[" + out + "] : " + cType);
      w.line("}");
      return;
    }
    if (types.isInt())
      v = w.let("arith.sitofp " + v + " : i32 to f32");
    // The scale is the product of the factors (in their order, as the host
    // computes it), then multiplies the accumulator.
    std::string factor;
    for (size_t j = 0; j < s.scales.size(); ++j) {
      std::string x = w.load("%scale" + std::to_string(j),
                             flatType(s.scales[j].elements),
                             at(scaleBases[j], s.scales[j], row, col));
      factor = factor.empty() ? x : w.fmul(factor, x);
    }
    if (!factor.empty())
      v = w.fmul(v, factor);
    v = activate(w, s.activation, scaledAndBiased(v, row, col));
    if (s.hasResidual)
      v = w.fadd(v, w.loadF32("%residual",
                              flatType(s.residual.elements,
                                       s.residualElement.c_str()),
                              at(resBase, s.residual, row, col),
                              s.residualElement));
    write(v, out);
    w.line("}");
  }

  /// A gated unit's output at (row, col): act(g) * u of the gate and up
  /// columns' f32 sums (col + gateOffset and col + upOffset of the
  /// product), each scaled and biased as a plain product's value (float
  /// products, no residual).
  void storeGlu(const std::string &gate, const std::string &up,
                const std::string &row, const std::string &col) {
    std::string ok = w.andi(w.cmp("ult", row, cM), w.cmp("ult", col, cN));
    w.line("scf.if " + ok + " {");
    // A 16-bit result: the product's halves, the activation and the gated
    // value each rounded to it, as the product's store and the
    // elementwise kernel after it would round them.
    auto round = [&](const std::string &f) {
      if (s.outElement == "f32")
        return f;
      std::string t = w.let("arith.truncf " + f + " : f32 to " + s.outElement);
      return w.let("arith.extf " + t + " : " + s.outElement + " to f32");
    };
    std::string g =
        round(scaledAndBiased(gate, row, w.addc(col, s.gateOffset())));
    std::string u = round(scaledAndBiased(up, row, w.addc(col, s.upOffset())));
    std::string v = w.fmul(round(activate(w, s.glu, g)), u);
    write(v, w.add(outBase, w.add(w.mulc(row, s.n), col)));
    w.line("}");
  }

private:
  /// `v` times the product's scale, plus the bias at (row, col).
  std::string scaledAndBiased(std::string v, const std::string &row,
                              const std::string &col) {
    if (s.scale != 1.0f)
      v = w.fmul(v, w.f32(s.scale));
    if (s.hasBias)
      v = w.fadd(v, w.loadF32("%bias",
                              flatType(s.bias.elements, s.biasElement.c_str()),
                              at(biasBase, s.bias, row, col), s.biasElement));
    return v;
  }

  /// Stores the f32 `v` at `out`: quantized, or in the result's type.
  void write(const std::string &v, const std::string &out) {
    if (s.quantizeOutput.enabled)
      w.line("memref.store " + quantizeValue(w, v, s.quantizeOutput) +
             ", %out[" + out + "] : " + cType);
    else
      w.storeF32(v, "%out", cType, out, s.outElement);
  }

  std::string at(const std::string &base, const Operand &operand,
                 const std::string &row, const std::string &col) {
    std::string rowOffset = w.mulc(row, operand.rowStride);
    return w.add(base, w.add(rowOffset, w.mulc(col, operand.colStride)));
  }

  /// An operand's effective zero point at (row, col) as i32: the stored one
  /// (less 128 when unsigned), or -128 for an unsigned operand without one.
  std::string zeroPoint(const std::optional<Operand> &zero, bool isUnsigned,
                        const char *memref, const std::string &base,
                        const std::string &row, const std::string &col) {
    if (!zero)
      return w.i32(isUnsigned ? -128 : 0);
    std::string q = w.load(memref, flatType(zero->elements, "i8"),
                           at(base, *zero, row, col));
    if (!isUnsigned)
      return w.let("arith.extsi " + q + " : i8 to i32");
    std::string widened = w.let("arith.extui " + q + " : i8 to i32");
    return w.bin("arith.subi", widened, w.i32(128), "i32");
  }

  /// acc - za' colsum(b') - zb' rowsum(a') + K za' zb' in wrapping i32 (the
  /// host's sum of (a - za)(b - zb) modulo 2^32, so the same value).
  std::string correctOffsets(std::string acc, const std::string &row,
                             const std::string &col, const std::string &rowSum,
                             const std::string &colSum) {
    const IntegerOffsets &o = s.offsets;
    std::string za, zb;
    if (o.lhsShifted()) {
      za = zeroPoint(o.lhsZero, o.lhsUnsigned, "%aZero", lhsZeroBase, row, col);
      acc = w.bin("arith.subi", acc, w.bin("arith.muli", za, colSum, "i32"),
                  "i32");
    }
    if (o.rhsShifted()) {
      zb = zeroPoint(o.rhsZero, o.rhsUnsigned, "%bZero", rhsZeroBase, row, col);
      acc = w.bin("arith.subi", acc, w.bin("arith.muli", zb, rowSum, "i32"),
                  "i32");
    }
    if (!za.empty() && !zb.empty()) {
      std::string zz = w.bin("arith.muli", za, zb, "i32");
      acc = w.bin("arith.addi", acc, w.bin("arith.muli", zz, w.i32(s.k), "i32"),
                  "i32");
    }
    return acc;
  }

  Writer &w;
  const MatMulSpec &s;
  const MmaTypes &types;
  std::string cType, biasBase, resBase, outBase, cM, cN;
  std::string lhsZeroBase, rhsZeroBase;
  std::vector<std::string> scaleBases;
};

/// The operands of a product whose tiles cp.async fills (TileCopy::
/// copiesAsync): their copies of a k tile are issued as one group, and
/// waited for before the barrier that publishes the stage.
struct AsyncOperands {
  Writer &w;
  const TileCopy &copyA, &copyB;
  std::string aShared, bShared, aGlobal, bGlobal;
  /// The second buffers' (TileCopy::secondRow) addresses.
  std::string aGlobal2, bGlobal2;
  bool a, b;
  /// Moves only the A tiles (an attention pass that reads K but not V).
  bool onlyA = false;
  /// Whether B tiles move by cp.async, or through registers, now.
  bool asyncB() const { return b && !onlyA; }
  bool loadsB() const { return !b && !onlyA; }
  AsyncOperands(Writer &w, const MmaTypes &types, const TileCopy &copyA,
                const TileCopy &copyB, std::string aShared, std::string bShared,
                bool enabled = true)
      : w(w), copyA(copyA), copyB(copyB), aShared(std::move(aShared)),
        bShared(std::move(bShared)), a(enabled && copyA.copiesAsync(types)),
        b(enabled && copyB.copiesAsync(types)) {
    auto global = [&](const std::string &memref, const std::string &type) {
      return w.let("memref.extract_aligned_pointer_as_index " + memref + " : " +
                   type + " -> index");
    };
    if (a)
      aGlobal = global(copyA.memref, copyA.memrefType);
    if (a && copyA.secondRow)
      aGlobal2 = global(copyA.memref2, copyA.memrefType2);
    if (b)
      bGlobal = global(copyB.memref, copyB.memrefType);
    if (b && copyB.secondRow)
      bGlobal2 = global(copyB.memref2, copyB.memrefType2);
  }
  /// Issues and commits the copies of the k tile at k0 into `stage`.
  void issue(const std::string &tid, const std::string &aBase,
             const std::string &bBase, const std::string &m0,
             const std::string &n0, const std::string &k0,
             const std::string &stage) {
    if (a)
      copyA.copyAsync(w, tid, aGlobal, aShared, aBase, m0, k0, stage, aGlobal2);
    if (asyncB())
      copyB.copyAsync(w, tid, bGlobal, bShared, bBase, n0, k0, stage, bGlobal2);
    if (a || asyncB())
      w.line("nvvm.cp.async.commit.group");
  }
  /// Waits for all but this thread's newest `pending` groups of copies.
  void wait(int64_t pending = 0) {
    if (a || asyncB())
      w.line("nvvm.cp.async.wait.group " + std::to_string(pending));
  }

  /// The values of a k tile that travel through registers.
  struct Loaded {
    std::vector<std::string> a, b;
  };
  /// Starts moving the k tile at k0 into `stage`: the cp.async copies,
  /// committed, and the loads of the other operands, which `store` rounds
  /// and stores.
  Loaded start(const std::string &tid, const std::string &aBase,
               const std::string &bBase, const std::string &m0,
               const std::string &n0, const std::string &k0,
               const std::string &stage) {
    issue(tid, aBase, bBase, m0, n0, k0, stage);
    Loaded loaded;
    if (!a)
      loaded.a = copyA.load(w, tid, aBase, m0, k0);
    if (loadsB())
      loaded.b = copyB.load(w, tid, bBase, n0, k0);
    return loaded;
  }
  void store(const MmaTypes &types, const std::string &tid,
             const std::string &stage, const Loaded &loaded) {
    if (!a)
      copyA.store(w, types, tid, stage, loaded.a);
    if (loadsB())
      copyB.store(w, types, tid, stage, loaded.b);
  }
  /// A pipeline's prologue over `stages` stages: k tile 0 into stage 0,
  /// then k tiles 1 .. stages - 2, still in flight, into their stages; waits
  /// for tile 0 only. The caller publishes it.
  void prologue(const MmaTypes &types, const std::string &tid,
                const std::string &aBase, const std::string &bBase,
                const std::string &m0, const std::string &n0, int64_t tileK,
                int64_t stages) {
    std::string c0 = w.idx(0);
    store(types, tid, c0, start(tid, aBase, bBase, m0, n0, c0, c0));
    for (int64_t t = 1; t + 1 < stages; ++t) {
      std::string k0 = w.idx(t * tileK);
      issue(tid, aBase, bBase, m0, n0, k0, w.idx(t));
    }
    wait(stages - 2);
  }
};

} // namespace

bool llmc::gpu_kernels::matmulCopiesAsync(const MatMulSpec &spec) {
  MmaTypes types(spec.mmaType);
  auto [copyA, copyB] = productCopies(spec, types, "", "", matmulThreads(spec));
  return !spec.hasRhsScale && !spec.offsets.lhsUnsigned &&
         !spec.offsets.rhsUnsigned && copyA.copiesAsync(types) &&
         copyB.copiesAsync(types);
}

// The block tile's k loop is software-pipelined over two shared stages:
// while the warps multiply stage s, the next k tile is in flight: as
// cp.async copies straight into stage s^1 for operands already in the
// tensor-core type, else as loads into registers that are rounded and
// stored into stage s^1 after the products. The copies are waited for and
// one barrier per k tile separates the two stages.
//
// S > 2 stages (spec.stages, when cp.async moves both operands): the
// prologue issues k tiles 0 .. S - 2; iteration i first copies k tile
// i + S - 1 into the stage that iteration i - 1 multiplied (free since its
// closing barrier), multiplies stage i % S, then waits until k tile i + 1
// has landed (cp.async.wait_group S - 2) and ends with one barrier.
TiledKernel llmc::gpu_kernels::matmulKernel(const MatMulSpec &s) {
  MmaTypes types(s.mmaType);
  const int64_t threads = matmulThreads(s);
  const int64_t warpsN = s.tileN / s.warpN;
  const int tilesM = static_cast<int>(s.warpM / 16);
  const int tilesN = static_cast<int>(s.warpN / 8);
  const int accCount = tilesM * tilesN * 4;
  // 16 bytes of padding spread rows over banks and keep rows 16-byte aligned.
  const int64_t pitch = s.tileK + 16 / types.bytes;
  const int64_t stages = s.stages > 2 && matmulCopiesAsync(s) ? s.stages : 2;
  auto stagedTile = [&](int64_t rows) {
    return "memref<" + std::to_string(stages) + "x" + std::to_string(rows) +
           "x" + std::to_string(pitch) + "x" + types.element +
           ", #gpu.address_space<workgroup>>";
  };
  const std::string aTile = stagedTile(s.tileM), bTile = stagedTile(s.tileN);
  auto [copyA, copyB] = productCopies(s, types, aTile, bTile, threads);
  copyA.flipSign = s.offsets.lhsUnsigned;
  copyB.flipSign = s.offsets.rhsUnsigned;
  // An s8 product's row sums of a' (per 16-row tile, 4 registers) when b's
  // zero point can be nonzero, column sums of b' (per 8-column tile) when
  // a's can: accumulators after the product's.
  const int rowSums = s.offsets.rhsShifted() ? tilesM * 4 : 0;
  const int colSums = s.offsets.lhsShifted() ? tilesN * 4 : 0;
  const int loopCount = accCount + rowSums + colSums;

  TiledKernel kernel;
  std::string text =
      tiledHeader(s.name, matmulParams(s, copyA, copyB),
                  {{"%aTile", aTile, stages * s.tileM * pitch * types.bytes},
                   {"%bTile", bTile, stages * s.tileN * pitch * types.bytes}},
                  threads, kernel.dynamicSharedBytes);

  Writer w;
  auto [tid, blockN, blockM, z, warp, lane, g] = productIds(w);
  // This lane's first accumulator column.
  std::string t2 = w.mulc(w.rem(lane, w.idx(4)), 2);
  std::string warpRow = w.mulc(w.div(warp, w.idx(warpsN)), s.warpM);
  std::string warpCol = w.mulc(w.rem(warp, w.idx(warpsN)), s.warpN);
  std::string m0 = w.mulc(blockM, s.tileM);
  std::string n0 = w.mulc(blockN, s.tileN);
  std::string bBase, scaleBase;
  std::tie(bBase, scaleBase) = rhsBases(w, s, z);
  dequantizeRhs(copyB, s, n0, scaleBase);
  std::string aBase = batchOffset(w, s.lhs, z);
  std::string zero =
      types.isInt() ? w.let("arith.constant 0 : i32") : w.f32(0.0);
  // The second register of a k step starts half a step later.
  const int64_t halfK = types.k / 2;
  std::string cK = w.idx(s.k);
  std::string c0 = w.idx(0), c1 = w.idx(1), c2 = w.idx(2);
  std::string aAddress = sharedAddress(w, "%aTile", aTile);
  std::string bAddress = sharedAddress(w, "%bTile", bTile);
  copyA.pitch = copyB.pitch = pitch;
  AsyncOperands async(w, types, copyA, copyB, aAddress, bAddress);

  async.prologue(types, tid, aBase, bBase, m0, n0, s.tileK, stages);
  w.line("gpu.barrier");

  // Accumulators: tilesM x tilesN tiles of 16x8 per warp, 4 registers each.
  std::vector<std::string> args;
  std::string iter;
  for (int i = 0; i < loopCount; ++i) {
    args.push_back(w.fresh("acc"));
    iter += (i ? ", " : "") + args.back() + " = " + zero;
  }
  // Four 8-bit ones per fragment register: products with them sum the other
  // operand's fragment along k.
  std::string ones = rowSums || colSums ? w.i32(0x01010101) : "";
  // The byte offsets of the rows this lane gives ldmatrix (see ldmatrix):
  // A's lanes 0-15 rows 0-15 at k 0, lanes 16-31 the same rows at k + half;
  // B's lanes by 8: columns 0-7 at k 0 and + half, then columns 8-15.
  std::string aRow = w.add(warpRow, w.rem(lane, w.idx(16)));
  std::string aRowOffset = w.mulc(aRow, pitch);
  std::string aK = w.mulc(w.div(lane, w.idx(16)), halfK);
  std::string aLane = w.mulc(w.add(aRowOffset, aK), types.bytes);
  std::string bRowPair = w.mulc(w.div(lane, w.idx(16)), 8);
  std::string bRow = w.add(warpCol, w.add(bRowPair, w.rem(lane, w.idx(8))));
  std::string bRowOffset = w.mulc(bRow, pitch);
  std::string bK = w.mulc(w.rem(w.div(lane, w.idx(8)), c2), halfK);
  std::string bLane = w.mulc(w.add(bRowOffset, bK), types.bytes);
  std::string loop = w.fresh("kloop");
  std::string kt = w.fresh("kt");
  w.line(loop + ":" + std::to_string(loopCount) + " = scf.for " + kt + " = " +
         c0 + " to " + cK + " step " + w.idx(s.tileK) + " iter_args(" + iter +
         ") -> (" + accTypes(loopCount, types.acc) + ") {");
  std::string tile = w.div(kt, w.idx(s.tileK));
  std::string stage = w.rem(tile, stages == 2 ? c2 : w.idx(stages));
  std::string nextStage = stages == 2 ? w.bin("arith.subi", c1, stage)
                                      : wrapStage(w, tile, stages - 1, stages);
  // The copies and loads of k tile i + S - 1 (all outside the matrix near
  // the end).
  auto loaded = async.start(tid, aBase, bBase, m0, n0,
                            w.addc(kt, (stages - 1) * s.tileK), nextStage);

  std::vector<std::string> acc(args);
  std::string aStage = w.mulc(stage, s.tileM * pitch * types.bytes);
  std::string bStage = w.mulc(stage, s.tileN * pitch * types.bytes);
  for (int64_t kk = 0; kk < s.tileK; kk += types.k) {
    // A 16 x k-step tile is four 8x8 matrices (rows +0/+8, k +0/+half):
    // a0..a3 of the fragment, one ldmatrix.x4.
    std::vector<std::array<std::string, 4>> a(tilesM);
    for (int mi = 0; mi < tilesM; ++mi) {
      auto r = ldmatrix(
          w, types, aAddress,
          w.addc(w.add(aStage, aLane), (mi * 16 * pitch + kk) * types.bytes),
          4);
      a[mi] = {r[0], r[1], r[2], r[3]};
    }
    // Two 8-column tiles' b0, b1 per ldmatrix.x4 (an odd last one: x2).
    std::vector<std::array<std::string, 2>> b(tilesN);
    for (int ni = 0; ni < tilesN; ni += 2) {
      int num = ni + 1 < tilesN ? 4 : 2;
      auto r = ldmatrix(
          w, types, bAddress,
          w.addc(w.add(bStage, bLane), (ni * 8 * pitch + kk) * types.bytes),
          num);
      b[ni] = {r[0], r[1]};
      if (num == 4)
        b[ni + 1] = {r[2], r[3]};
    }
    // acc[base .. base + 3] += a x b.
    auto accumulate = [&](int base, const std::array<std::string, 4> &a,
                          const std::array<std::string, 2> &b) {
      auto d = mma(w, types, a, b,
                   {acc[base], acc[base + 1], acc[base + 2], acc[base + 3]});
      for (int i = 0; i < 4; ++i)
        acc[base + i] = d[i];
    };
    for (int mi = 0; mi < tilesM; ++mi)
      for (int ni = 0; ni < tilesN; ++ni)
        accumulate((mi * tilesN + ni) * 4, a[mi], b[ni]);
    for (int mi = 0; rowSums && mi < tilesM; ++mi)
      accumulate(accCount + mi * 4, a[mi], {ones, ones});
    for (int ni = 0; colSums && ni < tilesN; ++ni)
      accumulate(accCount + rowSums + ni * 4, {ones, ones, ones, ones}, b[ni]);
  }
  async.store(types, tid, nextStage, loaded);
  async.wait(stages - 2);
  w.line("gpu.barrier");
  w.line("scf.yield " + llvm::join(acc, ", ") + " : " +
         accTypes(loopCount, types.acc));
  w.line("}");
  // The (zero-fill) copies issued past the end.
  if (stages > 2)
    async.wait();

  MatmulEpilogue epilogue(w, s, types, z);
  auto result = [&](int i) { return loop + "#" + std::to_string(i); };
  const bool glu = s.glu != Activation::None;
  // A gated unit: tile ni (even) holds 8 gate columns, tile ni + 1 their up
  // columns (TileCopy::bufferRow); the warp's 16-column pairs store 8
  // output columns each.
  assert((!glu || (tilesN % 2 == 0 && s.tileN % 16 == 0)) &&
         "gated tiles pair up");
  std::string colHalf =
      glu ? w.add(w.mulc(blockN, s.tileN / 2),
                  w.add(w.mulc(w.rem(warp, w.idx(warpsN)), s.warpN / 2), t2))
          : "";
  for (int mi = 0; mi < tilesM; ++mi)
    for (int ni = 0; ni < tilesN; ni += glu ? 2 : 1)
      for (int i = 0; i < 4; ++i) {
        std::string value = result((mi * tilesN + ni) * 4 + i);
        std::string row =
            w.add(m0, w.add(w.addc(warpRow, mi * 16 + (i / 2) * 8), g));
        if (glu) {
          epilogue.storeGlu(value, result((mi * tilesN + ni + 1) * 4 + i), row,
                            w.addc(colHalf, ni * 4 + (i % 2)));
          continue;
        }
        std::string col =
            w.add(n0, w.addc(w.add(warpCol, t2), ni * 8 + (i % 2)));
        // Register i of a sum tile holds the same row (i / 2) and column
        // (i % 2) as the product's; a row sum is the same in every column
        // of its tile, a column sum in every row.
        epilogue.store(value, row, col,
                       rowSums ? result(accCount + mi * 4 + i) : "",
                       colSums ? result(accCount + rowSums + ni * 4 + i) : "");
      }
  w.line("gpu.return");
  kernel.text = text + w.text + "  }\n";
  return kernel;
}

bool llmc::gpu_kernels::wgmmaCopiesAsync(const MatMulSpec &spec) {
  MmaTypes types(spec.mmaType);
  auto [copyA, copyB] = productCopies(spec, types, "", "", wgmmaThreads(spec));
  return !spec.hasRhsScale && copyA.copiesAsync(types) &&
         copyB.copiesAsync(types);
}

int64_t llmc::gpu_kernels::wgmmaThreads(const MatMulSpec &spec) {
  return 128 * (spec.tileM / 64);
}

// The Hopper variant: each warpgroup (128 threads) multiplies a 64-row
// slice of the block tile by the whole tile width with
// wgmma.mma_async.m64n<tileN>k16, both operands read from shared memory
// through matrix descriptors (K-major, no swizzle: 8x16-byte core matrices
// of 128 contiguous bytes; LBO = 128 bytes between the two core matrices
// along k, SBO = tileK * 16 bytes between 8-row groups).
//
// Two shared stages: the products of stage s run asynchronously while the
// next k tile goes into stage s^1 (cp.async copies, or registers rounded
// and stored by the threads); then cp.async.wait_group 0, fence.proxy.async
// (the generic-proxy writes become visible to the tensor cores),
// wgmma.wait_group 0 retires the products, and one barrier separates the k
// tiles.
//
// S >= 3 stages (spec.stages, when cp.async moves both operands): the
// prologue issues k tiles 0 .. S - 2; iteration i issues the products of
// stage i % S, then wgmma.wait_group 1 retires only those of i - 1,
// cp.async.wait_group S - 3 and the fence complete k tile i + 1 (copied
// S - 2 iterations before), one barrier publishes it and tells every
// warpgroup that stage (i - 1) % S is free, and the copies of k tile
// i + S - 1 go there. The products of i stay in flight into iteration
// i + 1; wgmma.wait_group 0 after the loop retires the last ones.
//
// Accumulators (tileN / 2 f32 per thread) live in the wgmma's struct:
// thread (warp w of its group, lane l) holds register r at row 16w + l/4 +
// 8((r/2)%2), column 2(l%4) + r%2 + 8(r/4).
TiledKernel llmc::gpu_kernels::wgmmaMatmulKernel(const MatMulSpec &s) {
  MmaTypes types(s.mmaType);
  const int64_t threads = wgmmaThreads(s);
  // Bytes: 128 between the two core matrices along k of one product, 8 rows
  // of a k tile between 8-row groups.
  const int64_t lbo = 128, sbo = s.tileK * types.bytes * 8;
  const int64_t accCount = s.tileN / 2;
  const int64_t stages =
      wgmmaCopiesAsync(s) ? std::max<int64_t>(s.stages, 2) : 2;
  const bool pipelined = stages >= 3;
  auto stagedTile = [&](int64_t rows) {
    return "memref<" + std::to_string(stages * rows * s.tileK) + "x" +
           types.element + ", #gpu.address_space<workgroup>>";
  };
  const std::string aTile = stagedTile(s.tileM), bTile = stagedTile(s.tileN);
  auto [copyA, copyB] = productCopies(s, types, aTile, bTile, threads);
  copyA.coreSbo = copyB.coreSbo = sbo / types.bytes;
  copyA.coreRow = copyB.coreRow = 16 / types.bytes;
  TiledKernel kernel;
  std::string text =
      tiledHeader(s.name, matmulParams(s, copyA, copyB),
                  {{"%aTile", aTile, stages * s.tileM * s.tileK * types.bytes},
                   {"%bTile", bTile, stages * s.tileN * s.tileK * types.bytes}},
                  threads, kernel.dynamicSharedBytes);
  std::string accType =
      "!llvm.struct<(" + accTypes(accCount, types.acc) + ")>";

  Writer w;
  auto [tid, blockN, blockM, z, warp, lane, g] = productIds(w);
  std::string group = w.div(tid, w.idx(128));
  std::string t2 = w.mulc(w.rem(lane, w.idx(4)), 2);
  std::string m0 = w.mulc(blockM, s.tileM);
  std::string n0 = w.mulc(blockN, s.tileN);
  std::string bBase, scaleBase;
  std::tie(bBase, scaleBase) = rhsBases(w, s, z);
  dequantizeRhs(copyB, s, n0, scaleBase);
  std::string aBase = batchOffset(w, s.lhs, z);
  std::string cK = w.idx(s.k);
  std::string c0 = w.idx(0), c1 = w.idx(1), c2 = w.idx(2);
  auto proxyFence = [&] {
    w.line("nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = "
           "#nvvm.shared_space<cta>}");
  };

  std::string aShared = sharedAddress(w, "%aTile", aTile);
  std::string bShared = sharedAddress(w, "%bTile", bTile);
  AsyncOperands async(w, types, copyA, copyB, aShared, bShared);

  async.prologue(types, tid, aBase, bBase, m0, n0, s.tileK, stages);
  proxyFence();
  w.line("gpu.barrier");

  // Shared-window addresses of the tiles, and the descriptors' fixed bits.
  auto address = [&](const std::string &p) {
    return w.let("arith.index_cast " + p + " : index to i64");
  };
  std::string aAddr = address(aShared);
  std::string bAddr = address(bShared);
  auto i64 = [&](int64_t v) {
    return w.let("arith.constant " + std::to_string(v) + " : i64");
  };
  std::string fixed = i64(((lbo >> 4) << 16) | ((sbo >> 4) << 32));
  std::string addrMask = i64(0x3FFFF), four = i64(4);
  std::string groupRows =
      w.let("arith.index_cast " + w.mulc(group, 8 * sbo) + " : index to i64");
  auto descriptor = [&](const std::string &base, const std::string &offset) {
    std::string a = w.bin("arith.addi", base, offset, "i64");
    a = w.bin("arith.andi", a, addrMask, "i64");
    a = w.bin("arith.shrui", a, four, "i64");
    return w.bin("arith.ori", a, fixed, "i64");
  };

  std::string init = w.let("llvm.mlir.zero : " + accType);
  std::string loop = w.fresh("kloop");
  std::string kt = w.fresh("kt");
  std::string acc = w.fresh("acc");
  w.line(loop + " = scf.for " + kt + " = " + c0 + " to " + cK + " step " +
         w.idx(s.tileK) + " iter_args(" + acc + " = " + init + ") -> (" +
         accType + ") {");
  std::string tile = w.div(kt, w.idx(s.tileK));
  std::string stage = w.rem(tile, w.idx(stages));
  AsyncOperands::Loaded loaded;
  std::string nextStage;
  if (!pipelined) {
    nextStage = w.bin("arith.subi", c1, stage);
    loaded =
        async.start(tid, aBase, bBase, m0, n0, w.addc(kt, s.tileK), nextStage);
  }
  std::string stage64 =
      w.let("arith.index_cast " + stage + " : index to i64");
  std::string aStage = w.bin(
      "arith.addi",
      w.bin("arith.muli", stage64, i64(s.tileM * s.tileK * types.bytes),
                          "i64"),
      groupRows, "i64");
  std::string bStage =
      w.bin("arith.muli", stage64, i64(s.tileN * s.tileK * types.bytes), "i64");
  w.line("nvvm.wgmma.fence.aligned");
  std::string d = acc;
  // Each product takes 32 bytes of k: m64nNk16 (bf16/f16), m64nNk32 (s8,
  // e4m3).
  std::string dType = types.isInt() ? "s32" : "f32";
  std::string abType = types.ptxType();
  for (int64_t kk = 0; kk < s.tileK; kk += types.k) {
    std::string kOff = i64(kk * types.bytes / 16 * lbo);
    std::string descA =
        descriptor(aAddr, w.bin("arith.addi", aStage, kOff, "i64"));
    std::string descB =
        descriptor(bAddr, w.bin("arith.addi", bStage, kOff, "i64"));
    d = w.let("nvvm.wgmma.mma_async " + descA + ", " + descB + ", " + d +
              ", <m = 64, n = " + std::to_string(s.tileN) +
              ", k = " + std::to_string(types.k) + ">, D [<" + dType +
              ">, <one>], A [<" + abType + ">, <one>, <row>], B [<" + abType +
              ">, <one>, <col>] : " + accType + " -> " + accType);
  }
  w.line("nvvm.wgmma.commit.group.sync.aligned");
  if (pipelined) {
    w.line("nvvm.wgmma.wait.group.sync.aligned 1");
    // K tile i + 1 complete; i + 2 .. i + S - 2 may still be in flight.
    async.wait(stages - 3);
    proxyFence();
    w.line("gpu.barrier");
    // K tile i + S - 1 into the stage of i - 1 (all outside the matrix near
    // the end).
    std::string ahead = w.addc(kt, (stages - 1) * s.tileK);
    async.issue(tid, aBase, bBase, m0, n0, ahead,
                wrapStage(w, tile, stages - 1, stages));
  } else {
    async.store(types, tid, nextStage, loaded);
    // The copies' bytes, like the stores', reach the wgmma's async proxy
    // only after a proxy fence.
    async.wait();
    proxyFence();
    w.line("nvvm.wgmma.wait.group.sync.aligned 0");
    w.line("gpu.barrier");
  }
  w.line("scf.yield " + d + " : " + accType);
  w.line("}");
  if (pipelined) {
    // The last products, and the (zero-fill) copies issued past the end.
    w.line("nvvm.wgmma.wait.group.sync.aligned 0");
    w.line("nvvm.cp.async.wait.group 0");
  }

  MatmulEpilogue epilogue(w, s, types, z);
  std::string groupRow = w.add(m0, w.mulc(group, 64));
  std::string warpRow = w.mulc(w.rem(warp, w.idx(4)), 16);
  std::string rowBase = w.add(groupRow, w.add(warpRow, g));
  std::string colBase = w.add(n0, t2);
  auto accumulator = [&](int64_t r) {
    return w.let("llvm.extractvalue " + loop + "[" + std::to_string(r) +
                 "] : " + accType);
  };
  if (s.glu != Activation::None) {
    // A gated unit: registers r of an even 8-column group (r / 4) hold gate
    // columns, r + 4 their up columns (TileCopy::bufferRow); each pair of
    // groups stores 8 output columns.
    assert(s.tileN % 16 == 0 && "gated tiles pair up");
    std::string colHalf = w.add(w.mulc(blockN, s.tileN / 2), t2);
    for (int64_t r = 0; r < accCount; ++r) {
      if ((r / 4) % 2)
        continue;
      std::string row = w.addc(rowBase, ((r / 2) % 2) * 8);
      epilogue.storeGlu(accumulator(r), accumulator(r + 4), row,
                        w.addc(colHalf, (r % 2) + 8 * (r / 8)));
    }
  } else {
    for (int64_t r = 0; r < accCount; ++r) {
      std::string row = w.addc(rowBase, ((r / 2) % 2) * 8);
      epilogue.store(accumulator(r), row,
                     w.addc(colBase, (r % 2) + 8 * (r / 4)));
    }
  }
  w.line("gpu.return");
  kernel.text = text + w.text + "  }\n";
  return kernel;
}

namespace {
/// Elements per lane and load of the GEMV kernel: 8 (16 or 32 bytes) when
/// both operands are contiguous along k and every run starts aligned, else
/// 1.
int64_t gemvVector(const MatMulSpec &s) {
  auto aligned = [](const Operand &o, int64_t stride) {
    return stride % 8 == 0 && llvm::all_of(o.batch, [](const BatchTerm &t) {
             return t.stride % 8 == 0;
           });
  };
  bool vector = s.k % 8 == 0 && s.rhs.rowStride == 1 && s.lhs.colStride == 1 &&
                aligned(s.rhs, s.rhs.colStride) &&
                aligned(s.lhs, s.m > 1 ? s.lhs.rowStride : 0);
  return vector ? 8 : 1;
}
} // namespace

bool llmc::gpu_kernels::tiledGluApplies(const MatMulSpec &s) {
  return !s.byteOperands() && s.n % 16 == 0 && s.scales.empty() &&
         !s.hasResidual && s.activation == Activation::None &&
         !s.quantizeOutput.enabled && s.outElement != "i32" &&
         !s.offsets.lhsShifted() && !s.offsets.rhsShifted();
}

bool llmc::gpu_kernels::gemvApplies(const MatMulSpec &s) {
  auto isFloat = [](const std::string &e) {
    return e == "f32" || e == "f16" || e == "bf16";
  };
  // Weights dequantized in the kernel: int8 with per-column scales, and
  // blocked 4- or 8-bit ones in runs of 8 along k (within one block).
  bool weight =
      isFloat(s.rhsElement) || (s.rhsElement == "i8" && s.hasRhsScale &&
                                (!s.rhsBlock || gemvVector(s) == 8));
  return s.m <= kGemvRows && !s.byteOperands() && !s.offsets.lhsShifted() &&
         !s.offsets.rhsShifted() && s.scales.empty() && isFloat(s.lhsElement) &&
         weight && s.outElement != "i32";
}

// Products of a few rows (decode: one token): bound by reading the weight,
// which a tile of 64 or more rows would spread over only n / 64 blocks. One
// warp per output column, kGemvWarps columns per block: each lane reads
// runs of 8 elements along k (16 bytes of a bf16 weight stored [N, K]),
// the weight once for all rows, and accumulates in f32 vectors with fma;
// a warp butterfly sums the lanes and lane 0 stores through the matmul
// epilogue. The operands are rounded to the tensor-core type first, as the
// tensor-core kernels round them, so the products are those of mma.sync
// and wgmma (exact in f32) and only the order of the f32 sums differs.
TiledKernel llmc::gpu_kernels::gemvKernel(const MatMulSpec &s) {
  MmaTypes types(s.mmaType);
  const int64_t threads = 32 * kGemvWarps;
  const int64_t vec = gemvVector(s);
  // Loads of each operand in flight per lane and iteration.
  const int64_t unroll = vec == 8 ? 2 : 8;
  const int64_t step = 32 * vec * unroll;
  auto [copyA, copyB] = productCopies(s, types, "", "", threads);
  const std::string lhsType = copyA.memrefType, rhsType = copyB.memrefType;
  TiledKernel kernel;
  std::string text = header(s.name, matmulParams(s, copyA, copyB), {}, threads);
  auto vectorOf = [&](const std::string &element) {
    return "vector<" + std::to_string(vec) + "x" + element + ">";
  };
  const std::string accType = vectorOf("f32");

  Writer w;
  std::string tid = w.let("gpu.thread_id x");
  std::string warp = w.div(tid, w.idx(32));
  std::string lane = w.rem(tid, w.idx(32));
  std::string z = w.let("gpu.block_id z");
  std::string col = w.add(w.mulc(w.let("gpu.block_id x"), kGemvWarps), warp);
  std::string c0 = w.idx(0);
  // Past the last column a warp reads column 0 and stores nothing.
  std::string colSafe =
      w.select(w.cmp("ult", col, w.idx(s.n)), col, c0, "index");
  std::string aBase = batchOffset(w, s.lhs, z);
  std::string bBatch, scaleBase;
  std::tie(bBatch, scaleBase) = rhsBases(w, s, z);
  // A gated unit's gate and up columns (MatMulSpec::gateOffset, upOffset).
  const bool glu = s.glu != Activation::None;
  std::string gateCol = glu ? w.addc(colSafe, s.gateOffset()) : colSafe;
  std::string bBase = w.add(bBatch, w.mulc(gateCol, s.rhs.colStride));
  std::string upCol = glu ? w.addc(colSafe, s.upOffset()) : "";
  std::string upBase = glu ? w.add(bBatch, w.mulc(upCol, s.rhs.colStride)) : "";
  std::string zero = w.let("arith.constant dense<0.0> : " + accType);
  // A run of `element`s as f32; rounded to the tensor-core type.
  auto toF32 = [&](const std::string &v, const std::string &element) {
    return element == "f32" ? v
                            : w.let("arith.extf " + v + " : " +
                                    vectorOf(element) + " to " + accType);
  };
  auto roundF32 = [&](const std::string &f) {
    std::string t = w.let("arith.truncf " + f + " : " + accType + " to " +
                          vectorOf(types.element));
    return w.let("arith.extf " + t + " : " + vectorOf(types.element) + " to " +
                 accType);
  };
  auto rounded = [&](const std::string &v, const std::string &element) {
    std::string f = toF32(v, element);
    return element == types.element ? f : roundF32(f);
  };
  auto load = [&](const std::string &memref, const std::string &type,
                  const std::string &element, const std::string &index,
                  int64_t count) {
    std::string vt = "vector<" + std::to_string(count) + "x" + element + ">";
    return w.let("vector.load " + memref + "[" + index + "] {alignment = " +
                 std::to_string(count * elementBytes(element)) +
                 " : i64} : " + type + ", " + vt);
  };
  // The weight's run at k (element address `at`) as f32 values of the
  // tensor-core type: as stored, or dequantized as the tile copies
  // dequantize it (float(q) * scale[n]; blocked: (q - zero) * scale of
  // its block), then rounded.
  const std::string scaleType = flatType(s.rhsScaleElements);
  const std::string zeroType = flatType(s.rhsScaleElements, "i8");
  auto weightRun = [&](const std::string &at, const std::string &k,
                       const std::string &column) {
    if (!s.hasRhsScale)
      return rounded(load("%rhs", rhsType, s.rhsElement, at, vec),
                     s.rhsElement);
    std::string scaleAt = column, zeroPoint;
    if (s.rhsBlock) {
      std::string rowStart =
          w.mulc(column, (s.k + s.rhsBlock - 1) / s.rhsBlock);
      scaleAt = w.add(rowStart, w.div(k, w.idx(s.rhsBlock)));
    }
    if (!scaleBase.empty())
      scaleAt = w.add(scaleBase, scaleAt);
    std::string scale =
        w.let("vector.broadcast " + w.load("%rhsScale", scaleType, scaleAt) +
              " : f32 to " + accType);
    if (s.hasRhsZeroPoint)
      zeroPoint = w.load("%rhsZero", zeroType, scaleAt);
    std::string q;
    if (s.rhsBlock && s.rhsBits == 4) {
      // Four bytes at element address / 2: element 2j in the low nibble of
      // byte j, 2j + 1 in the high one; signed nibbles, or unsigned less
      // the zero point.
      std::string bytes = load("%rhs", rhsType, "i8", w.div(at, w.idx(2)), 4);
      const std::string v4 = "vector<4xi8>";
      auto [low, high] = splitNibbles(
          w, bytes,
          zeroPoint.empty()
              ? ""
              : w.let("vector.broadcast " + zeroPoint + " : i8 to " + v4),
          v4);
      std::vector<std::string> elements;
      for (int64_t j = 0; j < 4; ++j)
        for (const std::string &half : {low, high})
          elements.push_back(w.let("vector.extract " + half + "[" +
                                   std::to_string(j) + "] : i8 from " + v4));
      std::string wide =
          w.let("vector.from_elements " + llvm::join(elements, ", ") + " : " +
                vectorOf("i8"));
      q = w.let("arith.sitofp " + wide + " : " + vectorOf("i8") + " to " +
                accType);
    } else if (s.rhsBlock) {
      // A byte per element: signed, or unsigned less the zero point (in
      // i32).
      std::string bytes = load("%rhs", rhsType, "i8", at, vec);
      std::string wide;
      if (!zeroPoint.empty()) {
        std::string z =
            w.let("vector.broadcast " +
                  w.let("arith.extui " + zeroPoint + " : i8 to i32") +
                  " : i32 to " + vectorOf("i32"));
        wide = w.bin("arith.subi",
                     w.let("arith.extui " + bytes + " : " + vectorOf("i8") +
                           " to " + vectorOf("i32")),
                     z, vectorOf("i32").c_str());
      } else {
        wide = w.let("arith.extsi " + bytes + " : " + vectorOf("i8") + " to " +
                     vectorOf("i32"));
      }
      q = w.let("arith.sitofp " + wide + " : " + vectorOf("i32") + " to " +
                accType);
    } else if (s.rhsE4M3) {
      q = decodeE4M3(w, load("%rhs", rhsType, "i8", at, vec), vec,
                     /*scalarWhenOne=*/false);
    } else {
      q = w.let("arith.sitofp " + load("%rhs", rhsType, "i8", at, vec) + " : " +
                vectorOf("i8") + " to " + accType);
    }
    std::string t =
        w.let("arith.truncf " + w.bin("arith.mulf", q, scale, accType.c_str()) +
              " : " + accType + " to " + vectorOf(types.element));
    return w.let("arith.extf " + t + " : " + vectorOf(types.element) + " to " +
                 accType);
  };

  std::string loop = w.fresh("kloop");
  std::string kk = w.fresh("kk");
  std::string cK = w.idx(s.k), cStep = w.idx(step);
  auto lhsAt = [&](const std::string &k, int64_t r) {
    return w.add(aBase,
                 w.addc(w.mulc(k, s.lhs.colStride), r * s.lhs.rowStride));
  };
  // A fused norm's statistics of each row: this warp's lanes sweep the
  // row (runs of vec), then a butterfly sums them; the row is read again
  // by the product loop (from L1). Per row, as vectors for that loop: the
  // layer norm's mean (none for an RMS norm) and 1 / sqrt(variance + eps).
  const bool norm = s.lhsNorm != MatMulSpec::LhsNorm::None;
  const std::string paramType = flatType(s.k, s.lhsNormElement.c_str());
  std::vector<std::string> center(s.m), inverse(s.m);
  if (norm) {
    std::string f0 = w.f32(0.0), length = w.f32(static_cast<double>(s.k));
    auto splat = [&](const std::string &v) {
      return w.let("vector.broadcast " + v + " : f32 to " + accType);
    };
    // The row's sum of x, or with `squares` of (x - mean)^2 (mean: a
    // vector, or none).
    auto rowSum = [&](int64_t r, bool squares, const std::string &mean) {
      std::string result = w.fresh("rowsum"), k0 = w.fresh("k"),
                  a = w.fresh("a");
      w.line(result + " = scf.for " + k0 + " = " + c0 + " to " + cK + " step " +
             w.idx(32 * vec) + " iter_args(" + a + " = " + f0 + ") -> (f32) {");
      std::string k = w.add(k0, w.mulc(lane, vec));
      std::string ok = w.cmp("ult", k, cK);
      std::string x = toF32(load("%lhs", lhsType, s.lhsElement,
                                 lhsAt(w.select(ok, k, c0, "index"), r), vec),
                            s.lhsElement);
      if (!mean.empty())
        x = w.bin("arith.subf", x, mean, accType.c_str());
      if (squares)
        x = w.bin("arith.mulf", x, x, accType.c_str());
      x = w.select(ok, x, zero, accType.c_str());
      std::string next = a;
      for (int64_t e = 0; e < vec; ++e)
        next =
            w.fadd(next, w.let("vector.extract " + x + "[" + std::to_string(e) +
                               "] : f32 from " + accType));
      w.line("scf.yield " + next + " : f32");
      w.line("}");
      return w.shuffleReduce(result, /*isMax=*/false, {16, 8, 4, 2, 1});
    };
    for (int64_t r = 0; r < s.m; ++r) {
      if (s.lhsNorm == MatMulSpec::LhsNorm::Layer)
        center[r] = splat(w.fdiv(rowSum(r, false, ""), length));
      std::string variance = w.fdiv(rowSum(r, true, center[r]), length);
      inverse[r] = splat(
          w.fdiv(w.f32(1.0),
                 w.math("sqrt", w.fadd(variance, w.f32(s.lhsNormEpsilon)))));
    }
  }

  // One accumulator a row; a gated unit's up columns' after the gate's.
  const int64_t sums = glu ? 2 * s.m : s.m;
  std::vector<std::string> acc;
  std::string iter, types32;
  for (int64_t r = 0; r < sums; ++r) {
    acc.push_back(w.fresh("acc"));
    iter += (r ? ", " : "") + acc.back() + " = " + zero;
    types32 += (r ? ", " : "") + accType;
  }
  w.line(loop + ":" + std::to_string(sums) + " = scf.for " + kk + " = " + c0 +
         " to " + cK + " step " + cStep + " iter_args(" + iter + ") -> (" +
         types32 + ") {");
  std::vector<std::string> next = acc;
  for (int64_t u = 0; u < unroll; ++u) {
    // This lane's run: k .. k + vec - 1, wholly inside k or outside.
    std::string k = w.add(kk, w.mulc(w.addc(lane, u * 32), vec));
    std::string ok = w.cmp("ult", k, w.idx(s.k));
    std::string kSafe = w.select(ok, k, c0, "index");
    std::string b =
        weightRun(w.add(bBase, w.mulc(kSafe, s.rhs.rowStride)), kSafe, gateCol);
    b = w.select(ok, b, zero, accType.c_str());
    std::string bUp;
    if (glu)
      bUp = w.select(ok,
                     weightRun(w.add(upBase, w.mulc(kSafe, s.rhs.rowStride)),
                               kSafe, upCol),
                     zero, accType.c_str());
    std::string gain, shift;
    if (norm) {
      gain =
          toF32(load("%lhsNormScale", paramType, s.lhsNormElement, kSafe, vec),
                s.lhsNormElement);
      if (s.hasLhsNormBias)
        shift =
            toF32(load("%lhsNormBias", paramType, s.lhsNormElement, kSafe, vec),
                  s.lhsNormElement);
    }
    for (int64_t r = 0; r < s.m; ++r) {
      std::string x = load("%lhs", lhsType, s.lhsElement, lhsAt(kSafe, r), vec);
      std::string a;
      if (norm) {
        // The norm's output as its row kernel computes it: ((x - mean) *
        // inv) * g (+ b), in the lhs's type, then rounded as an lhs is.
        std::string y = toF32(x, s.lhsElement);
        if (!center[r].empty())
          y = w.bin("arith.subf", y, center[r], accType.c_str());
        y = w.bin("arith.mulf", y, inverse[r], accType.c_str());
        y = w.bin("arith.mulf", y, gain, accType.c_str());
        if (!shift.empty())
          y = w.bin("arith.addf", y, shift, accType.c_str());
        if (s.lhsElement != "f32") {
          std::string t = w.let("arith.truncf " + y + " : " + accType + " to " +
                                vectorOf(s.lhsElement));
          a = rounded(t, s.lhsElement);
        } else {
          a = roundF32(y);
        }
      } else {
        a = rounded(x, s.lhsElement);
      }
      a = w.select(ok, a, zero, accType.c_str());
      next[r] =
          w.let("math.fma " + a + ", " + b + ", " + next[r] + " : " + accType);
      if (glu)
        next[s.m + r] = w.let("math.fma " + a + ", " + bUp + ", " +
                              next[s.m + r] + " : " + accType);
    }
  }
  w.line("scf.yield " + llvm::join(next, ", ") + " : " + types32);
  w.line("}");

  MatmulEpilogue epilogue(w, s, types, z);
  std::vector<std::string> totals;
  for (int64_t r = 0; r < sums; ++r) {
    std::string v = loop + "#" + std::to_string(r);
    std::string sum;
    for (int64_t e = 0; e < vec; ++e) {
      std::string x = w.let("vector.extract " + v + "[" + std::to_string(e) +
                            "] : f32 from " + accType);
      sum = sum.empty() ? x : w.fadd(sum, x);
    }
    totals.push_back(w.shuffleReduce(sum, /*isMax=*/false, {16, 8, 4, 2, 1}));
  }
  w.line("scf.if " + w.cmp("eq", lane, c0) + " {");
  for (int64_t r = 0; r < s.m; ++r) {
    if (glu)
      epilogue.storeGlu(totals[r], totals[s.m + r], w.idx(r), col);
    else
      epilogue.store(totals[r], w.idx(r), col);
  }
  w.line("}");
  w.line("gpu.return");
  kernel.text = text + w.text + "  }\n";
  return kernel;
}

namespace {
/// `layout`, or for a default one the contiguous [batch, heads, rows, d]
/// layout.
AttentionLayout resolvedLayout(const AttentionLayout &layout, int64_t batch,
                               int64_t heads, int64_t rows, int64_t d) {
  if (!layout.contiguous())
    return layout;
  AttentionLayout l;
  l.rowStride = d;
  l.headStride = rows * d;
  l.batchStride = heads * rows * d;
  l.elements = batch * l.batchStride;
  return l;
}

/// The resolved layouts of an attention's query, key, value and output.
/// With a cache append (pastK), k and v are the past's and kNew and vNew
/// the new rows'.
struct AttentionLayouts {
  AttentionLayout q, k, v, o, kNew, vNew;
  explicit AttentionLayouts(const AttentionSpec &s)
      : q(resolvedLayout(s.qLayout, s.batch, s.queryHeads, s.seqQ, s.headDim)),
        k(resolvedLayout(s.kLayout, s.batch, s.kvHeads, pastRows(s),
                         s.headDim)),
        v(resolvedLayout(s.vLayout, s.batch, s.kvHeads, pastRows(s),
                         s.valueDim)),
        o(resolvedLayout(s.oLayout, s.batch, s.queryHeads, s.seqQ, s.valueDim)),
        kNew(resolvedLayout(s.kNewLayout, s.batch, s.kvHeads,
                            s.seqK - pastRows(s), s.headDim)),
        vNew(resolvedLayout(s.vNewLayout, s.batch, s.kvHeads,
                            s.seqK - pastRows(s), s.valueDim)) {}
  /// The rows of %key and %value.
  static int64_t pastRows(const AttentionSpec &s) {
    return s.pastK ? s.pastK : s.seqK;
  }
};

/// The element index of (batch, head)'s first element of an operand laid
/// out as `l`.
std::string layoutBase(Writer &w, const AttentionLayout &l,
                       const std::string &batch, const std::string &head) {
  std::string base =
      w.add(w.mulc(batch, l.batchStride), w.mulc(head, l.headStride));
  return l.offset ? w.addc(base, l.offset) : base;
}

/// The flat buffers of an attention kernel (q, k, v and the output in the
/// spec's float type, the mask in its own) and its parameter list.
struct AttentionBuffers {
  std::string q, k, v, o, mask, sink, partial;
  /// A cache append's new rows and presents.
  std::string kNew, vNew, presentK, presentV, presentBoth;
  explicit AttentionBuffers(const AttentionSpec &s) {
    const char *element = s.element.c_str();
    AttentionLayouts layouts(s);
    sink = flatType(s.queryHeads, element);
    q = flatType(layouts.q.elements, element);
    k = flatType(layouts.k.elements, element);
    v = flatType(layouts.v.elements, element);
    o = flatType(layouts.o.elements, element);
    kNew = flatType(layouts.kNew.elements, element);
    vNew = flatType(layouts.vNew.elements, element);
    presentK = flatType(s.batch * s.kvHeads * s.seqK * s.headDim, element);
    presentV = flatType(s.batch * s.kvHeads * s.seqK * s.valueDim, element);
    presentBoth =
        flatType(2 * s.batch * s.kvHeads * s.seqK * s.headDim, element);
    mask = flatType(s.maskElements,
                    s.mask == MaskKind::Bool ? "i1" : s.maskElement.c_str());
    partial = flatType(attentionPartials(s));
  }
  /// A split attention writes %partial, and its combine kernel takes the
  /// sink. A cache append's new rows follow the past's, and its presents
  /// come last.
  std::vector<std::string> params(const AttentionSpec &s) const {
    std::vector<std::string> result = {"%query: " + q, "%key: " + k};
    if (s.pastK)
      result.push_back("%key_new: " + kNew);
    result.push_back("%value: " + v);
    if (s.pastK)
      result.push_back("%value_new: " + vNew);
    if (s.mask != MaskKind::None)
      result.push_back("%mask: " + mask);
    if (s.splits > 1) {
      result.push_back("%partial: " + partial);
    } else {
      if (s.sink)
        result.push_back("%sink: " + sink);
      result.push_back("%out: " + o);
    }
    if (!s.pastK)
      return result;
    if (s.stackedPresents) {
      result.push_back("%present: " + presentBoth);
    } else {
      if (s.presentKey)
        result.push_back("%present_key: " + presentK);
      if (s.presentValue)
        result.push_back("%present_value: " + presentV);
    }
    return result;
  }
};

/// Floats per query row of a %partial buffer: the outputs, max and sum.
int64_t partialStride(const AttentionSpec &s) { return s.valueDim + 2; }

/// `valid` narrowed by the causal rule and window of `key` for query `row`:
/// row + (Sk - Sq) - window < key <= row + (Sk - Sq).
std::string causalValid(Writer &w, const AttentionSpec &s,
                        const std::string &row, const std::string &key,
                        std::string valid) {
  if (!s.causal)
    return valid;
  std::string diagonal = w.addc(row, s.seqK - s.seqQ);
  valid = w.andi(valid, w.cmp("sle", key, diagonal));
  if (s.window > 0)
    valid = w.andi(valid, w.cmp("sgt", w.addc(key, s.window), diagonal));
  return valid;
}

/// The factor q is pre-scaled by: scale * log2(e), so that the product is
/// the score in log2 units for exp2; with a softcap c, scale / c, the
/// argument of the cap's tanh (cappedScore).
double queryScale(const AttentionSpec &s) {
  return s.softcap > 0 ? s.scale / s.softcap : s.scale * 1.4426950408889634;
}

/// The score in log2 units from the product of pre-scaled q and k: itself,
/// or with a softcap c, c * log2(e) * tanh(product).
std::string cappedScore(Writer &w, const AttentionSpec &s,
                        const std::string &product) {
  if (s.softcap <= 0)
    return product;
  return w.fmul(w.math("tanh", product),
                w.f32(double(s.softcap) * 1.4426950408889634));
}

/// The running maximum and sum a row's online softmax starts from: -inf
/// and 0, or with a sink its head's logit (in log2 units) and exp2(0) = 1,
/// the sum's 1 on `first` threads only (those whose partial sums add up to
/// the row's).
std::pair<std::string, std::string>
softmaxStart(Writer &w, const AttentionSpec &s, const std::string &sinkType,
             const std::string &head, const std::string &first) {
  std::string zero = w.f32(0.0);
  if (!s.sink)
    return {w.f32(-INFINITY), zero};
  std::string logit = w.fmul(w.loadF32("%sink", sinkType, head, s.element),
                             w.f32(1.4426950408889634));
  return {logit, w.select(first, w.f32(1.0), zero, "f32")};
}

/// The first key block a query block from row q0 needs: the block of its
/// first row's first key in the window (0 without a window).
std::string firstWindowBlock(Writer &w, const AttentionSpec &s,
                             const std::string &q0) {
  if (!s.causal || s.window <= 0)
    return w.idx(0);
  std::string first = w.bin(
      "arith.maxsi", w.addc(q0, s.seqK - s.seqQ - s.window + 1), w.idx(0));
  return w.mulc(w.div(first, w.idx(kAttentionBlockK)), kAttentionBlockK);
}

/// The mask element at `addr`: a boolean one narrows `valid`, an additive
/// one is added to the log2-scaled score `v` (Writer::maskedScore). An
/// additive -inf hides the key as false does: the clamp in maskedScore
/// would otherwise weigh it like a finite finfo.min, where a row mixes the
/// two (a padding mask of finfo.min summed with a causal one of finfo.min
/// gives -inf above the diagonal of the padded rows).
void applyMask(Writer &w, const AttentionSpec &s, const std::string &maskType,
               const std::string &addr, std::string &valid, std::string &v) {
  if (s.mask == MaskKind::Bool) {
    valid = w.andi(valid, w.load("%mask", maskType, addr));
    return;
  }
  std::string mask = w.loadF32("%mask", maskType, addr, s.maskElement);
  std::string negInf = w.f32(-INFINITY);
  valid = w.andi(valid, w.cmpf("une", mask, negInf));
  v = w.maskedScore(v, mask);
}
} // namespace

TiledKernel llmc::gpu_kernels::attentionKernel(const AttentionSpec &s) {
  MmaTypes types(s.mmaType);
  const int64_t threads = 32 * kAttentionWarps;
  const int64_t headPad = (s.headDim + 15) / 16 * 16;
  const int64_t valuePad = (s.valueDim + 7) / 8 * 8;
  const int64_t kPitch = headPad + 8, vPitch = valuePad + 8;
  const AttentionBuffers buffers(s);
  const std::string &qType = buffers.q, &oType = buffers.o,
                    &maskType = buffers.mask;
  // Two shared stages of K and V when they fit the block's shared memory
  // (48 KiB: head dims up to 80; an H100's 227 KiB: up to 256), else
  // one.
  const int64_t stageBytes = kAttentionBlockK * (kPitch + vPitch) * types.bytes;
  const int64_t stages = 2 * stageBytes <= s.sharedBudget ? 2 : 1;
  auto stagedTile = [&](int64_t rows, int64_t pitch) {
    return "memref<" + std::to_string(stages) + "x" + std::to_string(rows) +
           "x" + std::to_string(pitch) + "x" + types.element +
           ", #gpu.address_space<workgroup>>";
  };
  const std::string kTile = stagedTile(kAttentionBlockK, kPitch);
  const std::string vTile = stagedTile(kAttentionBlockK, vPitch);
  // K and V blocks as [key][d], as they are in memory: ldmatrix reads K's
  // fragments (d, the reduction, contiguous) and, transposing, V's (key is
  // the reduction of P V).
  Operand kOperand, vOperand;
  // The batch terms only decide the copies' alignment (every run 16-byte
  // aligned): the kernel computes each (batch, head)'s base itself.
  const AttentionLayouts layouts(s);
  auto layoutTerms = [](const AttentionLayout &l) {
    return std::vector<BatchTerm>{
        {1, 1, l.batchStride}, {1, 1, l.headStride}, {1, 1, l.offset}};
  };
  kOperand.elements = layouts.k.elements;
  kOperand.batch = layoutTerms(layouts.k);
  vOperand.elements = layouts.v.elements;
  vOperand.batch = layoutTerms(layouts.v);
  if (s.pastK) {
    // The new rows' runs must be as aligned.
    for (const AttentionLayout *l : {&layouts.kNew, &layouts.vNew}) {
      Operand &operand = l == &layouts.kNew ? kOperand : vOperand;
      for (const BatchTerm &term : layoutTerms(*l))
        operand.batch.push_back(term);
      operand.batch.push_back({1, 1, l->rowStride});
    }
  }
  TileCopy copyK(kOperand, "%key", "%kTile", kTile, kAttentionBlockK, headPad,
                 threads, s.seqK, s.headDim, layouts.k.rowStride, 1, s.element,
                 types.bytes);
  TileCopy copyV(vOperand, "%value", "%vTile", vTile, kAttentionBlockK,
                 valuePad, threads, s.seqK, s.valueDim, layouts.v.rowStride, 1,
                 s.element, types.bytes);
  if (s.pastK) {
    copyK.secondRow = copyV.secondRow = s.pastK;
    // One new row (a decoding step's) has no row stride to speak of: take
    // the past's, so that a row's address is one expression.
    const bool oneRow = s.seqK - s.pastK == 1;
    copyK.strideRow2 = oneRow ? layouts.k.rowStride : layouts.kNew.rowStride;
    copyV.strideRow2 = oneRow ? layouts.v.rowStride : layouts.vNew.rowStride;
    copyK.memref2 = "%key_new";
    copyV.memref2 = "%value_new";
    copyK.memrefType2 = buffers.kNew;
    copyV.memrefType2 = buffers.vNew;
  }

  std::vector<std::string> params = buffers.params(s);
  TiledKernel kernel;
  std::string text = tiledHeader(
      s.name, params,
      {{"%kTile", kTile, stages * kAttentionBlockK * kPitch * types.bytes},
       {"%vTile", vTile, stages * kAttentionBlockK * vPitch * types.bytes}},
      threads, kernel.dynamicSharedBytes);

  Writer w;
  std::string tid = w.let("gpu.thread_id x");
  std::string blockX = w.let("gpu.block_id x");
  std::string q0 = w.mulc(blockX, kAttentionBlockQ);
  std::string y = w.let("gpu.block_id y"); // batch * queryHeads + head
  std::string warp = w.div(tid, w.idx(32));
  std::string lane = w.rem(tid, w.idx(32));
  std::string g = w.div(lane, w.idx(4));
  std::string t2 = w.mulc(w.rem(lane, w.idx(4)), 2);
  const int64_t group = s.queryHeads / s.kvHeads;
  std::string zero = w.f32(0.0), negInf = w.f32(-INFINITY);
  std::string cSq = w.idx(s.seqQ), cSk = w.idx(s.seqK);
  std::string cD = w.idx(s.headDim), cDv = w.idx(s.valueDim);
  // The block's rows this thread's fragments hold (halves h = 0, 1: the
  // lane's group g and g + 8 of its warp's 16): each one's query head, its
  // row in the head, whether it is a query row at all, and that head's
  // index in batch * queryHeads (the mask's and %partial's addressing).
  std::string rows[2];
  rows[0] = w.add(w.add(q0, w.mulc(warp, 16)), g);
  rows[1] = w.addc(rows[0], 8);
  std::string batch, kvHead, headOf[2], qRow[2], rowOk[2], headIndex[2];
  std::string presentWriter; // i1: whether this block writes the presents
  if (s.packHeads) {
    // y = batch * kvHeads + kv head; block row r is row r % seqQ of the
    // group's head r / seqQ (q0 is 0: one query block).
    batch = w.div(y, w.idx(s.kvHeads));
    kvHead = w.rem(y, w.idx(s.kvHeads));
    for (int h = 0; h < 2; ++h) {
      rowOk[h] = w.cmp("ult", rows[h], w.idx(group * s.seqQ));
      std::string inGroup =
          w.bin("arith.minui", w.div(rows[h], cSq), w.idx(group - 1));
      headOf[h] = w.add(w.mulc(kvHead, group), inGroup);
      qRow[h] = w.rem(rows[h], cSq);
      headIndex[h] = w.add(w.mulc(batch, s.queryHeads), headOf[h]);
    }
  } else {
    std::string head = w.rem(y, w.idx(s.queryHeads));
    batch = w.div(y, w.idx(s.queryHeads));
    kvHead = w.div(head, w.idx(group));
    for (int h = 0; h < 2; ++h) {
      rowOk[h] = w.cmp("ult", rows[h], cSq);
      headOf[h] = head;
      qRow[h] = rows[h];
      headIndex[h] = y;
    }
    if (s.pastK) {
      // The last query block (whose keys run to seqK) of a kv group's first
      // head writes the presents.
      std::string lastBlock =
          w.cmp("eq", blockX,
                w.idx((s.seqQ + kAttentionBlockQ - 1) / kAttentionBlockQ - 1));
      presentWriter =
          w.andi(lastBlock, w.cmp("eq", w.rem(head, w.idx(group)), w.idx(0)));
    }
  }
  std::string kBase = layoutBase(w, layouts.k, batch, kvHead);
  std::string vBase = layoutBase(w, layouts.v, batch, kvHead);
  std::string presentKBase, presentVBase;
  if (s.pastK) {
    if (presentWriter.empty()) // packed heads: one block per kv head
      presentWriter = w.let("arith.constant true");
    copyK.base2 = layoutBase(w, layouts.kNew, batch, kvHead);
    copyV.base2 = layoutBase(w, layouts.vNew, batch, kvHead);
    std::string kvIndex = w.add(w.mulc(batch, s.kvHeads), kvHead);
    presentKBase = w.mulc(kvIndex, s.seqK * s.headDim);
    presentVBase = w.mulc(kvIndex, s.seqK * s.valueDim);
    if (s.stackedPresents) // the values after all of the keys
      presentVBase =
          w.addc(presentVBase, s.batch * s.kvHeads * s.seqK * s.headDim);
  }
  const std::string presentKey =
      s.stackedPresents ? "%present" : "%present_key";
  const std::string presentValue =
      s.stackedPresents ? "%present" : "%present_value";
  const std::string &presentKeyType =
      s.stackedPresents ? buffers.presentBoth : buffers.presentK;
  const std::string &presentValueType =
      s.stackedPresents ? buffers.presentBoth : buffers.presentV;
  // Rows [row0, rowEnd) of a key (value) block to the presents: from
  // `values` (loaded through registers), else from shared stage `stage`.
  auto writeKeys = [&](const std::string &row0, const std::string &rowEnd,
                       const std::vector<std::string> *values,
                       const std::string &stage) {
    copyK.writeRows(w, tid, row0, rowEnd, presentKey, presentKeyType,
                    presentKBase, s.headDim, values, stage);
  };
  auto writeValues = [&](const std::string &row0, const std::string &rowEnd,
                         const std::vector<std::string> *values,
                         const std::string &stage) {
    copyV.writeRows(w, tid, row0, rowEnd, presentValue, presentValueType,
                    presentVBase, s.valueDim, values, stage);
  };
  std::string qBase[2], oBase[2], maskBase[2];
  for (int h = 0; h < 2; ++h) {
    if (h == 1 && !s.packHeads) {
      qBase[1] = qBase[0];
      oBase[1] = oBase[0];
      maskBase[1] = maskBase[0];
      break;
    }
    qBase[h] = layoutBase(w, layouts.q, batch, headOf[h]);
    oBase[h] = layoutBase(w, layouts.o, batch, headOf[h]);
    if (s.mask != MaskKind::None)
      maskBase[h] = batchOffset(w, s.maskOperand, headIndex[h]);
  }

  // Query fragments, pre-scaled by scale * log2(e) so that the softmax uses
  // exp2 (queryScale); they stay in registers for the whole key loop.
  std::string qScale = w.f32(queryScale(s));
  std::vector<std::array<std::string, 4>> qFrag;
  auto loadQ = [&](int h, const std::string &col) {
    std::string ok = w.andi(rowOk[h], w.cmp("ult", col, cD));
    std::string addr =
        w.add(qBase[h], w.add(w.mulc(qRow[h], layouts.q.rowStride), col));
    return w.fmul(w.guardedLoad("%query", qType, addr, ok, zero, s.element),
                  qScale);
  };
  for (int64_t ks = 0; ks < headPad; ks += 16) {
    std::array<std::string, 4> frag;
    for (int i = 0; i < 4; ++i) {
      std::string col = w.addc(t2, ks + (i / 2) * 8);
      std::string first = loadQ(i % 2, col);
      frag[i] = packPair(w, types, first, loadQ(i % 2, w.addc(col, 1)));
    }
    qFrag.push_back(frag);
  }

  // Keys beyond the causal diagonal of the block's last row are never needed,
  // nor, with a window, key blocks wholly before its first row's window
  // (packed heads: q0 is 0 and the block's rows are all the query rows).
  std::string keyEnd = cSk;
  if (s.causal) {
    std::string last = w.addc(q0, kAttentionBlockQ + s.seqK - s.seqQ);
    keyEnd = w.bin("arith.minsi", cSk, w.bin("arith.maxsi", last, w.idx(0)));
  }
  std::string keyStart = firstWindowBlock(w, s, q0);
  std::string split;
  if (s.splits > 1)
    split = w.let("gpu.block_id z");
  if (s.pastK && s.window > 0 && (s.presentKey || s.presentValue)) {
    // The key blocks before the writer's first window block are no
    // block's to read: the writer (its first split) copies them to the
    // presents through registers.
    std::string copier = presentWriter;
    if (s.splits > 1)
      copier = w.andi(copier, w.cmp("eq", split, w.idx(0)));
    w.line("scf.if " + copier + " {");
    std::string t0 = w.fresh("t0"), c0 = w.idx(0);
    w.line("scf.for " + t0 + " = " + c0 + " to " + keyStart + " step " +
           w.idx(kAttentionBlockK) + " {");
    if (s.presentKey) {
      std::vector<std::string> keys = copyK.load(w, tid, kBase, t0, c0);
      writeKeys(t0, keyStart, &keys, c0);
    }
    if (s.presentValue) {
      std::vector<std::string> values = copyV.load(w, tid, vBase, t0, c0);
      writeValues(t0, keyStart, &values, c0);
    }
    w.line("}");
    w.line("}");
  }
  if (s.splits > 1) {
    // Split z takes `per` of the [keyStart, keyEnd) key blocks from
    // keyStart + z * per; the last splits may get fewer, or none.
    std::string span =
        w.bin("arith.maxsi", w.bin("arith.subi", keyEnd, keyStart), w.idx(0));
    std::string blocks =
        w.div(w.addc(span, kAttentionBlockK - 1), w.idx(kAttentionBlockK));
    std::string per = w.div(w.addc(blocks, s.splits - 1), w.idx(s.splits));
    std::string start =
        w.add(keyStart, w.mulc(w.mul(split, per), kAttentionBlockK));
    keyEnd = w.bin("arith.minsi", keyEnd,
                   w.add(start, w.mulc(per, kAttentionBlockK)));
    keyStart = start;
  }
  const int64_t valueTiles = valuePad / 8;
  const int64_t scoreTiles = kAttentionBlockK / 8;
  // A quad's 4 lanes hold partial sums of a row: lane 0 holds the sink's
  // (a split attention's combine kernel counts it instead).
  std::string quadFirst = w.cmp("eq", w.rem(lane, w.idx(4)), w.idx(0));
  std::string startMax[2], startSum[2];
  for (int h = 0; h < 2; ++h) {
    if (s.splits > 1 || !s.sink) {
      startMax[h] = negInf;
      startSum[h] = zero;
    } else if (h == 1 && !s.packHeads) {
      startMax[1] = startMax[0];
      startSum[1] = startSum[0];
    } else {
      std::tie(startMax[h], startSum[h]) =
          softmaxStart(w, s, buffers.sink, headOf[h], quadFirst);
    }
  }
  std::string c0 = w.idx(0);
  std::string kAddress = sharedAddress(w, "%kTile", kTile);
  std::string vAddress = sharedAddress(w, "%vTile", vTile);
  copyK.pitch = kPitch;
  copyV.pitch = vPitch;
  AsyncOperands async(w, types, copyK, copyV, kAddress, vAddress,
                      /*enabled=*/stages == 2);
  // The byte offsets of the rows this lane gives ldmatrix: K's lanes by 8
  // give 8 keys at d + 0, 8, 16, 24; V's give 16 keys at d + 0, then at
  // d + 8.
  std::string kRow = w.mulc(w.rem(lane, w.idx(8)), kPitch);
  std::string kD = w.mulc(w.div(lane, w.idx(8)), 8);
  std::string kLane = w.mulc(w.add(kRow, kD), types.bytes);
  std::string vRow = w.mulc(w.rem(lane, w.idx(16)), vPitch);
  std::string vD = w.mulc(w.div(lane, w.idx(16)), 8);
  std::string vLane = w.mulc(w.add(vRow, vD), types.bytes);

  // One pass over the key blocks. Online: the running max and sum and the
  // rescaled O (FlashAttention). With quantized weights (weights_scale) the
  // weights must be normalized before they are rounded, so two passes:
  // Stats takes each row's max and sum, Weighted then computes each weight
  // exp2(s - max) / sum, quantizes it and accumulates O += q(w) V.
  enum class Pass { Online, Stats, Weighted };
  std::string rowShift[2]; // Weighted: each row's shift, from Stats
  // A cache append: the writer block stores the key block at key0 (and the
  // value block, in the passes that read V) that has reached stage `stage`
  // to the presents, rows before keyEnd (the split's end) only.
  auto writePresents = [&](Pass pass, const std::string &key0,
                           const std::string &stage,
                           const AsyncOperands::Loaded &loaded) {
    bool key = s.presentKey && pass != Pass::Weighted;
    bool value = s.presentValue && pass != Pass::Stats;
    if (!s.pastK || (!key && !value))
      return;
    w.line("scf.if " + presentWriter + " {");
    if (key)
      writeKeys(key0, keyEnd, async.a ? nullptr : &loaded.a, stage);
    if (value)
      writeValues(key0, keyEnd, async.b ? nullptr : &loaded.b, stage);
    w.line("}");
  };
  auto keyLoop = [&](Pass pass) {
    bool stats = pass != Pass::Weighted, values = pass != Pass::Stats;
    // The statistics pass reads K only.
    async.onlyA = !values;
    std::vector<std::string> args, inits, types32;
    if (stats) {
      for (int h = 0; h < 2; ++h) { // running max per row half
        args.push_back(w.fresh("m"));
        inits.push_back(startMax[h]);
      }
      for (int h = 0; h < 2; ++h) { // running (per-thread partial) sum
        args.push_back(w.fresh("l"));
        inits.push_back(startSum[h]);
      }
    }
    const size_t outArg = args.size();
    if (values)
      for (int64_t i = 0; i < valueTiles * 4; ++i) {
        args.push_back(w.fresh("o"));
        inits.push_back(zero);
      }
    for (size_t i = 0; i < args.size(); ++i)
      types32.push_back("f32");
    // Key block 0 into stage 0; each iteration then has the next block's
    // loads in flight during its products, stores them into the other
    // stage (with one stage, after a barrier) and ends with a barrier.
    // With two stages, K and V blocks already in the tensor-core type (f16
    // and bf16 models) travel by cp.async, as a matmul's operands do.
    AsyncOperands::Loaded first =
        async.start(tid, kBase, vBase, keyStart, keyStart, c0, c0);
    async.store(types, tid, c0, first);
    async.wait();
    writePresents(pass, keyStart, c0, first);
    w.line("gpu.barrier");
    std::string loop = w.fresh("keys");
    std::string kb = w.fresh("kb");
    {
      std::string iter;
      for (size_t i = 0; i < args.size(); ++i)
        iter += (i ? ", " : "") + args[i] + " = " + inits[i];
      std::string step = w.idx(kAttentionBlockK);
      w.line(loop + ":" + std::to_string(args.size()) + " = scf.for " + kb +
             " = " + keyStart + " to " + keyEnd + " step " + step +
             " iter_args(" + iter + ") -> (" + llvm::join(types32, ", ") +
             ") {");
    }
    // The first block (at keyStart) is in stage 0.
    std::string stage = stages == 2
                            ? wrapStage(w,
                                        w.div(w.bin("arith.subi", kb, keyStart),
                                              w.idx(kAttentionBlockK)),
                                        0, 2)
                            : c0;
    std::string nextStage =
        stages == 2 ? w.bin("arith.subi", w.idx(1), stage) : c0;
    std::string nextKey = w.addc(kb, kAttentionBlockK);
    auto loaded =
        async.start(tid, kBase, vBase, nextKey, nextKey, c0, nextStage);

    // Scores S = Q Kᵀ (already in log2 units), masked. One ldmatrix.x4
    // gives the B fragments of two k16 steps of an 8-key tile.
    std::string kStage = w.mulc(stage, kAttentionBlockK * kPitch * types.bytes);
    std::string vStage = w.mulc(stage, kAttentionBlockK * vPitch * types.bytes);
    std::vector<std::array<std::string, 4>> score(scoreTiles);
    for (int64_t nt = 0; nt < scoreTiles; ++nt) {
      std::array<std::string, 4> c = {zero, zero, zero, zero};
      for (size_t ks = 0; ks < qFrag.size(); ks += 2) {
        int num = ks + 1 < qFrag.size() ? 4 : 2;
        auto b = ldmatrix(w, types, kAddress,
                          w.addc(w.add(kStage, kLane),
                                 (nt * 8 * kPitch + ks * 16) * types.bytes),
                          num);
        c = mma(w, types, qFrag[ks], {b[0], b[1]}, c);
        if (num == 4)
          c = mma(w, types, qFrag[ks + 1], {b[2], b[3]}, c);
      }
      for (int e = 0; e < 4; ++e) {
        std::string row = qRow[e / 2];
        std::string key = w.add(kb, w.addc(t2, nt * 8 + (e % 2)));
        std::string valid = causalValid(w, s, row, key, w.cmp("ult", key, cSk));
        std::string v = cappedScore(w, s, c[e]);
        if (s.mask != MaskKind::None) {
          std::string mrow = w.bin("arith.minui", row, w.idx(s.seqQ - 1));
          std::string mkey = w.bin("arith.minui", key, w.idx(s.seqK - 1));
          std::string maskRow = w.mulc(mrow, s.maskOperand.rowStride);
          std::string addr =
              w.add(maskBase[e / 2],
                    w.add(maskRow, w.mulc(mkey, s.maskOperand.colStride)));
          applyMask(w, s, maskType, addr, valid, v);
        }
        score[nt][e] = w.select(valid, v, negInf, "f32");
      }
    }

    std::vector<std::string> next(args.size());
    std::string alpha[2];
    if (stats) {
      // Online softmax: new running max, rescale of the sum and of O.
      std::string use[2];
      for (int h = 0; h < 2; ++h) {
        std::string mx = negInf;
        for (int64_t nt = 0; nt < scoreTiles; ++nt)
          mx = w.fmax(mx, w.fmax(score[nt][2 * h], score[nt][2 * h + 1]));
        mx = w.shuffleReduce(mx, /*isMax=*/true, {1, 2});
        std::string newMax = w.fmax(args[h], mx);
        // A row with no valid key yet keeps max -inf; subtracting 0
        // instead keeps exp2 at 0 rather than NaN.
        use[h] = w.select(w.cmpf("oeq", newMax, negInf), zero, newMax, "f32");
        alpha[h] = w.exp2(w.fsub(args[h], use[h]));
        next[h] = newMax;
      }
      std::string rowSum[2] = {zero, zero};
      for (int64_t nt = 0; nt < scoreTiles; ++nt)
        for (int e = 0; e < 4; ++e) {
          score[nt][e] = w.exp2(w.fsub(score[nt][e], use[e / 2]));
          rowSum[e / 2] = w.fadd(rowSum[e / 2], score[nt][e]);
        }
      for (int h = 0; h < 2; ++h)
        next[2 + h] = w.fadd(w.fmul(args[2 + h], alpha[h]), rowSum[h]);
    } else {
      // The normalized weight, quantized and dequantized as the host's
      // llm.quantize and llm.dequantize would (less the scale, which
      // multiplies O once at the end): exact in the tensor-core type. The
      // weight over the scale, exp2(s - max) / (sum * scale), is
      // exp2(s - shift) with the row's shift = max + log2(sum * scale):
      // one exponential as the online pass takes (a division per weight
      // took 206 registers instead of 141 at d 64), equal to the host's
      // quotients up to the rounding of exp2 and log2.
      std::string shift =
          s.weightsE4M3 ? "" : w.f32(static_cast<double>(s.weightsZero));
      for (int64_t nt = 0; nt < scoreTiles; ++nt)
        for (int e = 0; e < 4; ++e) {
          std::string scaled = w.exp2(w.fsub(score[nt][e], rowShift[e / 2]));
          if (s.weightsE4M3) {
            score[nt][e] = decodeE4M3(w, e4m3Byte(w, scaled), 1);
          } else {
            score[nt][e] = w.fsub(
                integerLevel(w, scaled, shift, s.weightsUnsigned), shift);
          }
        }
    }
    if (values) {
      std::vector<std::array<std::string, 4>> out(valueTiles);
      for (int64_t dt = 0; dt < valueTiles; ++dt)
        for (int e = 0; e < 4; ++e)
          out[dt][e] = stats ? w.fmul(args[outArg + dt * 4 + e], alpha[e / 2])
                             : args[outArg + dt * 4 + e];
      // O += P V: the score accumulators of two adjacent n-tiles are
      // exactly the A fragment of one k16 step.
      for (int64_t ks = 0; ks < kAttentionBlockK / 16; ++ks) {
        const auto &lo = score[2 * ks], &hi = score[2 * ks + 1];
        std::array<std::string, 4> a = {
            packPair(w, types, lo[0], lo[1]), packPair(w, types, lo[2], lo[3]),
            packPair(w, types, hi[0], hi[1]), packPair(w, types, hi[2], hi[3])};
        // V's [key][d] tile transposed by ldmatrix: b0, b1 of two 8-wide d
        // tiles per x4.
        for (int64_t dt = 0; dt < valueTiles; dt += 2) {
          int num = dt + 1 < valueTiles ? 4 : 2;
          auto b = ldmatrix(w, types, vAddress,
                            w.addc(w.add(vStage, vLane),
                                   (ks * 16 * vPitch + dt * 8) * types.bytes),
                            num, /*transpose=*/true);
          out[dt] = mma(w, types, a, {b[0], b[1]}, out[dt]);
          if (num == 4)
            out[dt + 1] = mma(w, types, a, {b[2], b[3]}, out[dt + 1]);
        }
      }
      for (int64_t dt = 0; dt < valueTiles; ++dt)
        for (int e = 0; e < 4; ++e)
          next[outArg + dt * 4 + e] = out[dt][e];
    }
    if (stages == 1)
      w.line("gpu.barrier");
    async.store(types, tid, nextStage, loaded);
    async.wait();
    writePresents(pass, nextKey, nextStage, loaded);
    w.line("gpu.barrier");
    w.line("scf.yield " + llvm::join(next, ", ") + " : " +
           llvm::join(types32, ", "));
    w.line("}");
    return loop;
  };

  // Each row half's sum from a loop's per-thread partial sums; a row that
  // saw no valid key has sum 0.
  auto rowSum = [&](const std::string &loop, int h) {
    return w.shuffleReduce(loop + "#" + std::to_string(2 + h),
                           /*isMax=*/false, {1, 2});
  };
  std::string loop, factor[2];
  int64_t outResult = 4;
  if (s.splits > 1) {
    // Each row's unnormalized output, max and sum, at
    // ((z * batch * queryHeads + head index) * seqQ + row) * (Dv + 2).
    loop = keyLoop(Pass::Online);
    const int64_t stride = partialStride(s);
    std::string splitRows = w.mulc(split, s.batch * s.queryHeads * s.seqQ);
    for (int h = 0; h < 2; ++h) {
      std::string sum = rowSum(loop, h);
      std::string p =
          w.add(splitRows, w.add(w.mulc(headIndex[h], s.seqQ), qRow[h]));
      std::string base = w.mulc(p, stride);
      w.line("scf.if " + w.andi(rowOk[h], quadFirst) + " {");
      w.line("memref.store " + loop + "#" + std::to_string(h) + ", %partial[" +
             w.addc(base, s.valueDim) + "] : " + buffers.partial);
      w.line("memref.store " + sum + ", %partial[" +
             w.addc(base, s.valueDim + 1) + "] : " + buffers.partial);
      w.line("}");
      for (int64_t dt = 0; dt < valueTiles; ++dt)
        for (int e = 2 * h; e < 2 * h + 2; ++e) {
          std::string col = w.addc(t2, dt * 8 + (e % 2));
          w.line("scf.if " + w.andi(rowOk[h], w.cmp("ult", col, cDv)) + " {");
          w.line("memref.store " + loop + "#" +
                 std::to_string(outResult + dt * 4 + e) + ", %partial[" +
                 w.add(base, col) + "] : " + buffers.partial);
          w.line("}");
        }
    }
    w.line("gpu.return");
    kernel.text = text + w.text + "  }\n";
    return kernel;
  }
  if (s.weightsScale == 0.0f) {
    // Normalize at the end.
    loop = keyLoop(Pass::Online);
    for (int h = 0; h < 2; ++h) {
      std::string sum = rowSum(loop, h);
      factor[h] = w.select(w.cmpf("ogt", sum, zero), w.fdiv(w.f32(1.0), sum),
                           zero, "f32");
    }
  } else {
    std::string statsLoop = keyLoop(Pass::Stats);
    for (int h = 0; h < 2; ++h) {
      // A row that saw no valid key (sum 0) gets shift +inf: weights 0.
      std::string max = statsLoop + "#" + std::to_string(h);
      std::string sum = rowSum(statsLoop, h);
      std::string lg2 =
          w.let("llvm.call_intrinsic \"llvm.nvvm.lg2.approx.f\"(" +
                w.fmul(sum, w.f32(s.weightsScale)) + ") : (f32) -> f32");
      rowShift[h] = w.select(w.cmpf("ogt", sum, zero), w.fadd(max, lg2),
                             w.f32(INFINITY), "f32");
    }
    loop = keyLoop(Pass::Weighted);
    outResult = 0;
    factor[0] = factor[1] = w.f32(s.weightsScale);
  }
  for (int64_t dt = 0; dt < valueTiles; ++dt)
    for (int e = 0; e < 4; ++e) {
      std::string col = w.addc(t2, dt * 8 + (e % 2));
      std::string ok = w.andi(rowOk[e / 2], w.cmp("ult", col, cDv));
      w.line("scf.if " + ok + " {");
      std::string v = w.fmul(
          loop + "#" + std::to_string(outResult + dt * 4 + e), factor[e / 2]);
      std::string addr = w.add(
          oBase[e / 2], w.add(w.mulc(qRow[e / 2], layouts.o.rowStride), col));
      w.storeF32(v, "%out", oType, addr, s.element);
      w.line("}");
    }
  w.line("gpu.return");
  kernel.text = text + w.text + "  }\n";
  return kernel;
}

int64_t llmc::gpu_kernels::attentionPartials(const AttentionSpec &s) {
  return s.splits * s.batch * s.queryHeads * s.seqQ * partialStride(s);
}

int64_t llmc::gpu_kernels::attentionCombineThreads(const AttentionSpec &s) {
  return std::min<int64_t>(kRowThreads, (s.valueDim + 31) / 32 * 32);
}

std::string llmc::gpu_kernels::attentionCombineKernel(const AttentionSpec &s,
                                                      const std::string &name) {
  const AttentionBuffers buffers(s);
  const AttentionLayouts layouts(s);
  const int64_t stride = partialStride(s);
  const int64_t rows = s.batch * s.queryHeads * s.seqQ;
  const int64_t threads = attentionCombineThreads(s);
  std::vector<std::string> params = {"%partial: " + buffers.partial};
  if (s.sink)
    params.push_back("%sink: " + buffers.sink);
  params.push_back("%out: " + buffers.o);
  std::string text = header(name, params, {}, threads);

  // Block p merges query row p (of batch * queryHeads * seqQ): the splits'
  // maxima give the row's M, each split's output and sum weigh
  // exp2(m_z - M), and the sink, if any, adds exp2(sink - M) to the sum.
  Writer w;
  std::string tid = w.let("gpu.thread_id x");
  std::string p = w.let("gpu.block_id x");
  std::string headIndex = w.div(p, w.idx(s.seqQ));
  std::string qRow = w.rem(p, w.idx(s.seqQ));
  std::string head = w.rem(headIndex, w.idx(s.queryHeads));
  std::string batch = w.div(headIndex, w.idx(s.queryHeads));
  std::string c0 = w.idx(0), c1 = w.idx(1), cSplits = w.idx(s.splits);
  std::string zero = w.f32(0.0), negInf = w.f32(-INFINITY);
  // Float index of split z's row p.
  auto at = [&](const std::string &z, int64_t offset) {
    return w.addc(w.mulc(w.add(w.mulc(z, rows), p), stride), offset);
  };
  auto loadAt = [&](const std::string &z, int64_t offset) {
    return w.load("%partial", buffers.partial, at(z, offset));
  };
  auto splitLoop = [&](const std::string &init,
                       const std::function<std::string(
                           const std::string &, const std::string &)> &body) {
    std::string result = w.fresh("splits"), z = w.fresh("z"),
                acc = w.fresh("a");
    w.line(result + " = scf.for " + z + " = " + c0 + " to " + cSplits +
           " step " + c1 + " iter_args(" + acc + " = " + init + ") -> (f32) {");
    std::string next = body(acc, z);
    w.line("scf.yield " + next + " : f32");
    w.line("}");
    return result;
  };
  std::string sinkLogit;
  std::string max = splitLoop(negInf, [&](auto acc, auto z) {
    return w.fmax(acc, loadAt(z, s.valueDim));
  });
  if (s.sink) {
    sinkLogit = w.fmul(w.loadF32("%sink", buffers.sink, head, s.element),
                       w.f32(1.4426950408889634));
    max = w.fmax(max, sinkLogit);
  }
  // A row with no valid key in any split (and no sink): max -inf, each
  // weight exp2(-inf - 0) = 0, output 0.
  std::string use = w.select(w.cmpf("oeq", max, negInf), zero, max, "f32");
  auto weight = [&](const std::string &z) {
    return w.exp2(w.fsub(loadAt(z, s.valueDim), use));
  };
  auto weighted = [&](const std::string &value, const std::string &z,
                      const std::string &acc) {
    return w.let("math.fma " + value + ", " + weight(z) + ", " + acc +
                 " : f32");
  };
  std::string sum = splitLoop(
      s.sink ? w.exp2(w.fsub(sinkLogit, use)) : zero, [&](auto acc, auto z) {
        return weighted(loadAt(z, s.valueDim + 1), z, acc);
      });
  std::string inverse =
      w.select(w.cmpf("ogt", sum, zero), w.fdiv(w.f32(1.0), sum), zero, "f32");
  std::string oBase = layoutBase(w, layouts.o, batch, head);
  std::string rowBase = w.add(oBase, w.mulc(qRow, layouts.o.rowStride));
  std::string col = w.fresh("col");
  w.line("scf.for " + col + " = " + tid + " to " + w.idx(s.valueDim) +
         " step " + w.idx(threads) + " {");
  std::string out = splitLoop(zero, [&](auto acc, auto z) {
    return weighted(w.load("%partial", buffers.partial, w.add(at(z, 0), col)),
                    z, acc);
  });
  w.storeF32(w.fmul(out, inverse), "%out", buffers.o, w.add(rowBase, col),
             s.element);
  w.line("}");
  w.line("gpu.return");
  return text + w.text + "  }\n";
}

std::string llmc::gpu_kernels::rowKernel(const RowSpec &s) {
  const int64_t warps = kRowThreads / 32;
  const std::string xType = flatType(s.rows * s.length, s.element.c_str());
  const std::string inType =
      s.groupRows > 0 ? flatType(s.inputElements, s.element.c_str()) : xType;
  const std::string pType = flatType(s.length, s.paramElement.c_str());
  const std::string redType = sharedType(1, warps, "f32");
  const bool pair = s.pairRows > 0;
  std::vector<std::string> params = {"%input: " + inType};
  if (s.kind != RowKind::Softmax)
    params.push_back("%scale: " + pType);
  if (s.hasBias)
    params.push_back("%bias: " + pType);
  if (pair) {
    params.push_back("%scale2: " + pType);
    if (s.hasBias)
      params.push_back("%bias2: " + pType);
  }
  auto outTypeOf = [&](int64_t rows) {
    return s.quantizeOutput.enabled
               ? flatType(rows * s.length, "i8")
               : flatType(rows * s.length, s.element.c_str());
  };
  params.push_back("%out: " + outTypeOf(s.rows));
  if (pair)
    params.push_back("%out2: " + outTypeOf(s.pairRows));
  std::string text =
      header(s.name, params, {"%partial: " + redType}, kRowThreads);

  Writer w;
  std::string tid = w.let("gpu.thread_id x");
  std::string block = w.let("gpu.block_id x");
  std::string warp = w.div(tid, w.idx(32));
  std::string lane = w.rem(tid, w.idx(32));
  std::string cL = w.idx(s.length), step = w.idx(kRowThreads);
  std::string zero = w.f32(0.0);
  std::string c0 = w.idx(0);
  std::string length = w.f32(static_cast<double>(s.length));

  // One part's row `row`: its place in the input (in place when groupRows
  // > 0), its parameters and its output.
  auto part = [&](const std::string &row, int64_t groupRows, int64_t offset,
                  const std::string &scale, const std::string &bias,
                  const std::string &out, const std::string &outType) {
    // Element i of the row: base + i * inner (inner > 1: a softmax over a
    // dim other than the last, rows interleaved).
    std::string base = w.mulc(row, s.length);
    if (s.inner != 1) {
      std::string outer =
          w.mulc(w.div(row, w.idx(s.inner)), s.length * s.inner);
      base = w.add(outer, w.rem(row, w.idx(s.inner)));
    }
    // Where the input row starts: the output's row, or in place in a wider
    // input.
    std::string inBase = base;
    if (groupRows > 0) {
      std::string group = w.mulc(w.div(row, w.idx(groupRows)), s.groupStride);
      std::string within = w.mulc(w.rem(row, w.idx(groupRows)), s.length);
      inBase = w.add(w.add(group, within), w.idx(offset));
    }

    // Thread-strided pass over the row; `body` maps (accumulator, x) → new.
    auto rowPass = [&](const std::string &init,
                       const std::function<std::string(
                           const std::string &, const std::string &)> &body) {
      std::string result = w.fresh("pass");
      std::string i = w.fresh("i"), acc = w.fresh("a");
      w.line(result + " = scf.for " + i + " = " + tid + " to " + cL + " step " +
             step + " iter_args(" + acc + " = " + init + ") -> (f32) {");
      std::string x = w.loadF32("%input", inType,
                                w.add(inBase, w.mulc(i, s.inner)), s.element);
      w.line("scf.yield " + body(acc, x) + " : f32");
      w.line("}");
      return result;
    };
    // Warp shuffles, then one partial per warp through shared memory.
    auto blockReduce = [&](std::string value, bool isMax) {
      value = w.shuffleReduce(value, isMax, {16, 8, 4, 2, 1});
      w.line("scf.if " + w.cmp("eq", lane, c0) + " {");
      w.line("memref.store " + value + ", %partial[" + c0 + ", " + warp +
             "] : " + redType);
      w.line("}");
      w.line("gpu.barrier");
      std::string total = w.load("%partial", redType, c0 + ", " + c0);
      for (int64_t i = 1; i < warps; ++i) {
        std::string part = w.load("%partial", redType, c0 + ", " + w.idx(i));
        total = isMax ? w.fmax(total, part) : w.fadd(total, part);
      }
      w.line("gpu.barrier");
      return total;
    };
    auto writePass =
        [&](const std::function<std::string(const std::string &,
                                            const std::string &)> &value) {
          std::string i = w.fresh("i");
          w.line("scf.for " + i + " = " + tid + " to " + cL + " step " + step +
                 " {");
          std::string addr = w.add(base, w.mulc(i, s.inner));
          std::string x = w.loadF32(
              "%input", inType, w.add(inBase, w.mulc(i, s.inner)), s.element);
          if (s.quantizeOutput.enabled)
            w.line("memref.store " +
                   quantizeValue(w, value(x, i), s.quantizeOutput) + ", " +
                   out + "[" + addr + "] : " + outType);
          else
            w.storeF32(value(x, i), out, outType, addr, s.element);
          w.line("}");
        };

    switch (s.kind) {
    case RowKind::LayerNorm:
    case RowKind::RMSNorm: {
      std::string center = zero;
      std::string sumSq;
      if (s.kind == RowKind::LayerNorm) {
        std::string sum = blockReduce(
            rowPass(zero, [&](auto a, auto x) { return w.fadd(a, x); }), false);
        center = w.fdiv(sum, length);
        sumSq = blockReduce(rowPass(zero,
                                    [&](auto a, auto x) {
                                      std::string d = w.fsub(x, center);
                                      return w.fadd(a, w.fmul(d, d));
                                    }),
                            false);
      } else {
        sumSq = blockReduce(
            rowPass(zero,
                    [&](auto a, auto x) { return w.fadd(a, w.fmul(x, x)); }),
            false);
      }
      std::string variance = w.fdiv(sumSq, length);
      std::string one = w.f32(1.0);
      std::string inv =
          w.fdiv(one, w.math("sqrt", w.fadd(variance, w.f32(s.epsilon))));
      writePass([&](const std::string &x, const std::string &i) {
        std::string v = w.fmul(w.fsub(x, center), inv);
        v = w.fmul(v, w.loadF32(scale, pType, i, s.paramElement));
        if (s.hasBias)
          v = w.fadd(v, w.loadF32(bias, pType, i, s.paramElement));
        return v;
      });
      break;
    }
    case RowKind::Softmax: {
      std::string negInf = w.f32(-INFINITY);
      std::string max = blockReduce(
          rowPass(negInf, [&](auto a, auto x) { return w.fmax(a, x); }), true);
      std::string sum =
          blockReduce(rowPass(zero,
                              [&](auto a, auto x) {
                                return w.fadd(a, w.exp(w.fsub(x, max)));
                              }),
                      false);
      std::string inv = w.fdiv(w.f32(1.0), sum);
      writePass([&](const std::string &x, const std::string &) {
        return w.fmul(w.exp(w.fsub(x, max)), inv);
      });
      break;
    }
    }
  };

  if (!pair) {
    part(block, s.groupRows, s.inputOffset, "%scale", "%bias", "%out",
         outTypeOf(s.rows));
  } else {
    // Blocks past the first part's rows take the second's (uniform in the
    // block: its barriers are reached by every thread).
    w.line("scf.if " + w.cmp("ult", block, w.idx(s.rows)) + " {");
    part(block, s.groupRows, s.inputOffset, "%scale", "%bias", "%out",
         outTypeOf(s.rows));
    w.line("} else {");
    part(w.bin("arith.subi", block, w.idx(s.rows), "index"), s.pairGroupRows,
         s.pairOffset, "%scale2", "%bias2", "%out2", outTypeOf(s.pairRows));
    w.line("}");
  }
  w.line("gpu.return");
  return text + w.text + "  }\n";
}

std::string llmc::gpu_kernels::attentionHostReference(const AttentionSpec &s) {
  const AttentionBuffers buffers(s);
  const std::string &qType = buffers.q, &kType = buffers.k, &vType = buffers.v,
                    &oType = buffers.o, &maskType = buffers.mask;
  const std::string accType = flatType(s.valueDim);
  std::vector<std::string> params = buffers.params(s);
  std::string text = "  func.func private @" + s.name + "(" +
                     llvm::join(params, ", ") + ") {\n";

  Writer w;
  std::string c0 = w.idx(0), c1 = w.idx(1);
  std::string zero = w.f32(0.0), negInf = w.f32(-INFINITY);
  std::string cSk = w.idx(s.seqK);
  std::string qScale = w.f32(queryScale(s));
  const AttentionLayouts layouts(s);
  std::string acc = w.let("memref.alloca() : " + accType);
  auto loop = [&](const std::string &iv, const std::string &from,
                  const std::string &to, const std::string &step) {
    w.line("scf.for " + iv + " = " + from + " to " + to + " step " + step +
           " {");
  };
  std::string y = w.fresh("y"), row = w.fresh("row");
  loop(y, c0, w.idx(s.batch * s.queryHeads), c1);
  std::string head = w.rem(y, w.idx(s.queryHeads));
  std::string batch = w.div(y, w.idx(s.queryHeads));
  std::string kvHead = w.div(head, w.idx(s.queryHeads / s.kvHeads));
  std::string qBase = layoutBase(w, layouts.q, batch, head);
  std::string kBase = layoutBase(w, layouts.k, batch, kvHead);
  std::string vBase = layoutBase(w, layouts.v, batch, kvHead);
  std::string oBase = layoutBase(w, layouts.o, batch, head);
  std::string maskBase =
      s.mask != MaskKind::None ? batchOffset(w, s.maskOperand, y) : "";
  loop(row, c0, w.idx(s.seqQ), c1);
  {
    std::string d = w.fresh("d");
    loop(d, c0, w.idx(s.valueDim), c1);
    w.line("memref.store " + zero + ", " + acc + "[" + d + "] : " + accType);
    w.line("}");
  }
  // The kernel's key bounds: the causal diagonal of its query block's last
  // row, and the first key block of its first row's window.
  std::string keyEnd = cSk;
  std::string q0 =
      w.mulc(w.div(row, w.idx(kAttentionBlockQ)), kAttentionBlockQ);
  if (s.causal) {
    std::string last = w.addc(q0, kAttentionBlockQ + s.seqK - s.seqQ);
    keyEnd = w.bin("arith.minsi", cSk, w.bin("arith.maxsi", last, w.idx(0)));
  }
  std::string keyStart = firstWindowBlock(w, s, q0);
  // The masked, log2-scaled score of `key` (an index into the keys).
  auto score = [&](const std::string &key) {
    std::string inRange = w.cmp("ult", key, cSk);
    std::string safe = w.select(inRange, key, c0, "index");
    std::string sum = w.fresh("dot");
    std::string d = w.fresh("d"), a = w.fresh("a");
    w.line(sum + " = scf.for " + d + " = " + c0 + " to " + w.idx(s.headDim) +
           " step " + c1 + " iter_args(" + a + " = " + zero + ") -> (f32) {");
    std::string qv = w.fmul(
        w.loadF32("%query", qType,
                  w.add(qBase, w.add(w.mulc(row, layouts.q.rowStride), d)),
                  s.element),
        qScale);
    std::string kv = w.loadF32(
        "%key", kType,
        w.add(kBase, w.add(w.mulc(safe, layouts.k.rowStride), d)), s.element);
    w.line("scf.yield " + w.fadd(a, w.fmul(qv, kv)) + " : f32");
    w.line("}");
    std::string valid = causalValid(w, s, row, key, inRange);
    std::string v = cappedScore(w, s, sum);
    if (s.mask != MaskKind::None) {
      std::string maskRow = w.mulc(row, s.maskOperand.rowStride);
      std::string addr = w.add(
          maskBase, w.add(maskRow, w.mulc(safe, s.maskOperand.colStride)));
      applyMask(w, s, maskType, addr, valid, v);
    }
    return std::make_pair(w.select(valid, v, negInf, "f32"), safe);
  };
  std::string keys = w.fresh("keys"), kb = w.fresh("kb");
  std::string m = w.fresh("m"), l = w.fresh("l");
  auto [startMax, startSum] =
      softmaxStart(w, s, buffers.sink, head, w.let("arith.constant true"));
  w.line(keys + ":2 = scf.for " + kb + " = " + keyStart + " to " + keyEnd +
         " step " + w.idx(kAttentionBlockK) + " iter_args(" + m + " = " +
         startMax + ", " + l + " = " + startSum + ") -> (f32, f32) {");
  {
    std::string blockMax = w.fresh("bmax"), j = w.fresh("j"), a = w.fresh("a");
    w.line(blockMax + " = scf.for " + j + " = " + c0 + " to " +
           w.idx(kAttentionBlockK) + " step " + c1 + " iter_args(" + a + " = " +
           negInf + ") -> (f32) {");
    std::string sc = score(w.add(kb, j)).first;
    w.line("scf.yield " + w.fmax(a, sc) + " : f32");
    w.line("}");
    std::string newMax = w.fmax(m, blockMax);
    std::string use =
        w.select(w.cmpf("oeq", newMax, negInf), zero, newMax, "f32");
    std::string alpha = w.let("math.exp2 " + w.fsub(m, use) + " : f32");
    std::string d = w.fresh("d");
    loop(d, c0, w.idx(s.valueDim), c1);
    std::string old = w.load(acc, accType, d);
    w.line("memref.store " + w.fmul(old, alpha) + ", " + acc + "[" + d +
           "] : " + accType);
    w.line("}");
    std::string rowSum = w.fresh("rsum"), j2 = w.fresh("j"), a2 = w.fresh("a");
    w.line(rowSum + " = scf.for " + j2 + " = " + c0 + " to " +
           w.idx(kAttentionBlockK) + " step " + c1 + " iter_args(" + a2 +
           " = " + zero + ") -> (f32) {");
    auto [sc2, key] = score(w.add(kb, j2));
    std::string p = w.let("math.exp2 " + w.fsub(sc2, use) + " : f32");
    std::string d2 = w.fresh("d");
    loop(d2, c0, w.idx(s.valueDim), c1);
    std::string vv = w.loadF32(
        "%value", vType,
        w.add(vBase, w.add(w.mulc(key, layouts.v.rowStride), d2)), s.element);
    std::string cur = w.load(acc, accType, d2);
    w.line("memref.store " + w.fadd(cur, w.fmul(p, vv)) + ", " + acc + "[" +
           d2 + "] : " + accType);
    w.line("}");
    w.line("scf.yield " + w.fadd(a2, p) + " : f32");
    w.line("}");
    w.line("scf.yield " + newMax + ", " + w.fadd(w.fmul(l, alpha), rowSum) +
           " : f32, f32");
  }
  w.line("}");
  std::string total = keys + "#1";
  std::string positive = w.cmpf("ogt", total, zero);
  std::string inverse =
      w.select(positive, w.fdiv(w.f32(1.0), total), zero, "f32");
  {
    std::string d = w.fresh("d");
    loop(d, c0, w.idx(s.valueDim), c1);
    std::string v = w.fmul(w.load(acc, accType, d), inverse);
    w.storeF32(v, "%out", oType,
               w.add(oBase, w.add(w.mulc(row, layouts.o.rowStride), d)),
               s.element);
    w.line("}");
  }
  w.line("}"); // rows
  w.line("}"); // heads
  w.line("return");
  return text + w.text + "  }\n";
}

// One block per row: the row's |x| maximum (-inf start, arith.maximumf, as
// the host's reduction) through warp shuffles and one partial per warp,
// scale = maximumf(max, epsilon) / divisor written by thread 0, then every
// element as the host's llm.quantize: roundeven(x / scale) clamped to
// [-128, 127] (maxnumf/minnumf: NaN saturates low) and truncated to i8.
std::string llmc::gpu_kernels::quantizeRowsKernel(const QuantizeRowsSpec &s) {
  const int64_t warps = kRowThreads / 32;
  const std::string xType = flatType(s.rows * s.length);
  const std::string qType = flatType(s.rows * s.length, "i8");
  const std::string sType = flatType(s.rows);
  const std::string redType = sharedType(1, warps, "f32");
  std::string text =
      header(s.name, {"%input: " + xType, "%scales: " + sType, "%out: " + qType},
             {"%partial: " + redType}, kRowThreads);
  Writer w;
  std::string tid = w.let("gpu.thread_id x");
  std::string row = w.let("gpu.block_id x");
  std::string warp = w.div(tid, w.idx(32));
  std::string lane = w.rem(tid, w.idx(32));
  std::string base = w.mulc(row, s.length);
  std::string cL = w.idx(s.length), step = w.idx(kRowThreads);
  std::string c0 = w.idx(0);

  std::string pass = w.fresh("pass"), i = w.fresh("i"), acc = w.fresh("a");
  w.line(pass + " = scf.for " + i + " = " + tid + " to " + cL + " step " +
         step + " iter_args(" + acc + " = " +
         w.f32(-std::numeric_limits<double>::infinity()) + ") -> (f32) {");
  std::string x = w.load("%input", xType, w.add(base, i));
  std::string magnitude = w.math("absf", x);
  w.line("scf.yield " + w.fmax(magnitude, acc) + " : f32");
  w.line("}");
  std::string value = w.shuffleReduce(pass, /*isMax=*/true, {16, 8, 4, 2, 1});
  w.line("scf.if " + w.cmp("eq", lane, c0) + " {");
  w.line("memref.store " + value + ", %partial[" + c0 + ", " + warp + "] : " +
         redType);
  w.line("}");
  w.line("gpu.barrier");
  std::string total = w.load("%partial", redType, c0 + ", " + c0);
  for (int64_t k = 1; k < warps; ++k)
    total = w.fmax(total, w.load("%partial", redType, c0 + ", " + w.idx(k)));
  std::string epsilon = w.f32(s.epsilon), divisor = w.f32(s.divisor);
  std::string scale = w.fdiv(w.fmax(total, epsilon), divisor);
  w.line("scf.if " + w.cmp("eq", tid, c0) + " {");
  w.line("memref.store " + scale + ", %scales[" + row + "] : " + sType);
  w.line("}");

  std::string j = w.fresh("i");
  w.line("scf.for " + j + " = " + tid + " to " + cL + " step " + step + " {");
  std::string addr = w.add(base, j);
  std::string y = w.load("%input", xType, addr);
  std::string q = s.e4m3 ? quantizeE4M3(w, y, scale)
                         : quantizeValue(w, y, scale, "", /*isUnsigned=*/false);
  w.line("memref.store " + q + ", %out[" + addr + "] : " + qType);
  w.line("}");
  w.line("gpu.return");
  return text + w.text + "  }\n";
}

namespace {

/// Reduces this thread's (min, max) over the block of kRowThreads threads
/// (warp shuffles, then the warps' values through `%partial` [2 x warps]);
/// every thread gets the block's pair.
std::pair<std::string, std::string> blockMinMax(Writer &w,
                                                const std::string &tid,
                                                std::string low,
                                                std::string high) {
  const int64_t warps = kRowThreads / 32;
  const std::string redType = sharedType(2, warps, "f32");
  std::string warp = w.div(tid, w.idx(32));
  std::string lane = w.rem(tid, w.idx(32));
  std::string c0 = w.idx(0), c1 = w.idx(1);
  low = w.shuffleReduce(low, "arith.minimumf", {16, 8, 4, 2, 1});
  high = w.shuffleReduce(high, "arith.maximumf", {16, 8, 4, 2, 1});
  w.line("scf.if " + w.cmp("eq", lane, c0) + " {");
  w.line("memref.store " + low + ", %partial[" + c0 + ", " + warp +
         "] : " + redType);
  w.line("memref.store " + high + ", %partial[" + c1 + ", " + warp +
         "] : " + redType);
  w.line("}");
  w.line("gpu.barrier");
  low = w.load("%partial", redType, c0 + ", " + c0);
  high = w.load("%partial", redType, c1 + ", " + c0);
  for (int64_t k = 1; k < warps; ++k) {
    std::string kk = w.idx(k);
    low = w.bin("arith.minimumf", low,
                w.load("%partial", redType, c0 + ", " + kk), "f32");
    high = w.bin("arith.maximumf", high,
                 w.load("%partial", redType, c1 + ", " + kk), "f32");
  }
  return {low, high};
}

/// This thread's (min, max) of `memref` elements [begin, end) strided by
/// the block; `pairs`: the memref holds (min, max) pairs, reduced as such.
std::pair<std::string, std::string>
threadMinMax(Writer &w, const std::string &tid, const std::string &memref,
             const std::string &type, const std::string &begin,
             const std::string &end, bool pairs) {
  std::string loop = w.fresh("mm"), i = w.fresh("i"), lo = w.fresh("lo"),
              hi = w.fresh("hi");
  std::string first = w.add(begin, tid), step = w.idx(kRowThreads);
  std::string inf = w.f32(std::numeric_limits<double>::infinity());
  std::string negInf = w.f32(-std::numeric_limits<double>::infinity());
  w.line(loop + ":2 = scf.for " + i + " = " + first + " to " + end + " step " +
         step + " iter_args(" + lo + " = " + inf + ", " + hi + " = " + negInf +
         ") -> (f32, f32) {");
  std::string a, b;
  if (pairs) {
    std::string at = w.mulc(i, 2);
    a = w.load(memref, type, at);
    b = w.load(memref, type, w.addc(at, 1));
  } else {
    a = b = w.load(memref, type, i);
  }
  std::string low = w.bin("arith.minimumf", lo, a, "f32");
  std::string high = w.bin("arith.maximumf", hi, b, "f32");
  w.line("scf.yield " + low + ", " + high + " : f32, f32");
  w.line("}");
  return {loop + "#0", loop + "#1"};
}

/// Block b's elements of the tensor: [b * chunk, min((b + 1) * chunk, N)).
std::pair<std::string, std::string> blockChunk(Writer &w,
                                               const QuantizeTensorSpec &s) {
  std::string block = w.let("gpu.block_id x");
  std::string begin = w.mulc(block, s.chunk());
  std::string chunkEnd = w.addc(begin, s.chunk());
  std::string end =
      w.let("arith.minui " + chunkEnd + ", " + w.idx(s.elements) + " : index");
  return {begin, end};
}

} // namespace

std::string llmc::gpu_kernels::tensorMinMaxKernel(const QuantizeTensorSpec &s) {
  const std::string xType = flatType(s.elements);
  const std::string pType = flatType(2 * s.blocks);
  std::string text = header(
      s.name + "_minmax", {"%input: " + xType, "%blocks: " + pType},
      {"%partial: " + sharedType(2, kRowThreads / 32, "f32")}, kRowThreads);
  Writer w;
  std::string tid = w.let("gpu.thread_id x");
  auto [begin, end] = blockChunk(w, s);
  auto [lo, hi] = threadMinMax(w, tid, "%input", xType, begin, end, false);
  auto [low, high] = blockMinMax(w, tid, lo, hi);
  w.line("scf.if " + w.cmp("eq", tid, w.idx(0)) + " {");
  std::string at = w.mulc(w.let("gpu.block_id x"), 2);
  w.line("memref.store " + low + ", %blocks[" + at + "] : " + pType);
  w.line("memref.store " + high + ", %blocks[" + w.addc(at, 1) +
         "] : " + pType);
  w.line("}");
  w.line("gpu.return");
  return text + w.text + "  }\n";
}

std::string
llmc::gpu_kernels::quantizeTensorKernel(const QuantizeTensorSpec &s) {
  const std::string xType = flatType(s.elements);
  const std::string pType = flatType(2 * s.blocks);
  const std::string qType = flatType(s.elements, "i8");
  std::vector<std::string> params = {"%input: " + xType};
  if (s.blocks > 1)
    params.push_back("%blocks: " + pType);
  params.push_back("%scale: " + flatType(1));
  params.push_back("%zero: " + flatType(1, "i8"));
  params.push_back("%out: " + qType);
  std::string text = header(
      s.name, params, {"%partial: " + sharedType(2, kRowThreads / 32, "f32")},
      kRowThreads);
  Writer w;
  std::string tid = w.let("gpu.thread_id x");
  std::string c0 = w.idx(0);
  auto [begin, end] = blockChunk(w, s);
  // The tensor's range: from the blocks' pairs, or (one block) from x.
  auto [lo, hi] =
      s.blocks > 1
          ? threadMinMax(w, tid, "%blocks", pType, c0, w.idx(s.blocks), true)
          : threadMinMax(w, tid, "%input", xType, c0, w.idx(s.elements), false);
  auto [min, max] = blockMinMax(w, tid, lo, hi);
  // The importer's DynamicQuantizeLinear, operation for operation (so the
  // same bits as the host): the range widened to 0, scale (range / 255, or
  // 1 for an all-zero x), zero point quantize(0 - low, scale).
  std::string zero = w.f32(0.0);
  std::string low = w.bin("arith.minimumf", min, zero, "f32");
  std::string high = w.bin("arith.maximumf", max, zero, "f32");
  std::string range = w.fsub(high, low);
  std::string empty = w.cmpf("oeq", range, zero);
  std::string one = w.f32(1.0);
  std::string scale = w.select(empty, one, w.fdiv(range, w.f32(255.0)), "f32");
  auto quantize = [&](const std::string &x, const std::string &shift) {
    return quantizeValue(w, x, scale, shift, /*isUnsigned=*/true);
  };
  std::string zeroPoint = quantize(w.fsub(zero, low), "");
  std::string shift = w.let("arith.sitofp " +
                            w.let("arith.extui " + zeroPoint + " : i8 to i32") +
                            " : i32 to f32");
  std::string firstThread = w.cmp("eq", tid, c0);
  std::string firstBlock = w.cmp("eq", w.let("gpu.block_id x"), c0);
  std::string first = w.andi(firstThread, firstBlock);
  w.line("scf.if " + first + " {");
  w.line("memref.store " + scale + ", %scale[" + c0 + "] : " + flatType(1));
  w.line("memref.store " + zeroPoint + ", %zero[" + c0 +
         "] : " + flatType(1, "i8"));
  w.line("}");
  std::string i = w.fresh("i");
  std::string start = w.add(begin, tid), step = w.idx(kRowThreads);
  w.line("scf.for " + i + " = " + start + " to " + end + " step " + step +
         " {");
  std::string q = quantize(w.load("%input", xType, i), shift);
  w.line("memref.store " + q + ", %out[" + i + "] : " + qType);
  w.line("}");
  w.line("gpu.return");
  return text + w.text + "  }\n";
}
