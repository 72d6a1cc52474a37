//===- Quantize.cpp - int8 / w8 / w4 quantization of weights and matmuls --===//
//
// Rewrites matmuls with constant weights and embedding gathers into the
// quantization ops (llm.quantize, llm.qmatmul, llm.dequantize), writing new
// i8 (or packed int4) weight blobs with f32 scales. The arithmetic that
// decides the stored integers (scales, rounding) is here, done once at
// compile time; what runs is specified exactly by the ops.
//
//===----------------------------------------------------------------------===//
#include "ConstantBytes.h"
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"
#include "llmc/Support/Float8.h"
#include "llmc/Support/Lapack.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/Hashing.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace mlir::llm {
#define GEN_PASS_DEF_LLMQUANTIZE
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// Whether `type` is a 16-bit float (f16 or bf16): the types of 16-bit
/// models, whose products quantize through f32.
bool isHalfWidth(Type type) { return type.isF16() || type.isBF16(); }

/// An f16 or bf16 constant widened to an f32 one, or null.
ElementsAttr widenedHalf(ElementsAttr value) {
  auto type = cast<ShapedType>(value.getType());
  std::optional<std::vector<float>> floats = floatElements(value);
  if (!isHalfWidth(type.getElementType()) || !floats)
    return {};
  return DenseElementsAttr::get(
      RankedTensorType::get(type.getShape(), Float32Type::get(type.getContext())),
      ArrayRef<float>(*floats));
}

/// The integers of an i8 or i16 constant, read unsigned with `isUnsigned`.
std::optional<std::vector<int32_t>> narrowIntegers(Attribute value,
                                                   bool isUnsigned) {
  auto elements = dyn_cast<ElementsAttr>(value);
  auto type = elements ? dyn_cast<ShapedType>(elements.getType()) : nullptr;
  if (!type || !type.hasStaticShape())
    return std::nullopt;
  if (type.getElementType().isInteger(8)) {
    std::optional<std::vector<int8_t>> bytes = int8Elements(value);
    if (!bytes)
      return std::nullopt;
    std::vector<int32_t> out(bytes->size());
    for (auto [v, b] : llvm::zip_equal(out, *bytes))
      v = isUnsigned ? static_cast<uint8_t>(b) : b;
    return out;
  }
  if (!type.getElementType().isInteger(16))
    return std::nullopt;
  size_t count = type.getNumElements();
  auto read = [&](uint16_t bits) -> int32_t {
    return isUnsigned ? bits : static_cast<int16_t>(bits);
  };
  if (auto dense = dyn_cast<DenseElementsAttr>(value); dense && dense.isSplat())
    return std::vector<int32_t>(
        count, read(dense.getSplatValue<APInt>().getZExtValue()));
  std::optional<ArrayRef<char>> bytes = rawElementBytes(value);
  if (!bytes || bytes->size() != 2 * count)
    return std::nullopt;
  std::vector<int32_t> out(count);
  for (auto [i, v] : llvm::enumerate(out)) {
    uint16_t bits;
    std::memcpy(&bits, bytes->data() + 2 * i, 2);
    v = read(bits);
  }
  return out;
}

/// The f32 values of an `llm.dequantize` of rank >= 2 whose operands are
/// constants (a weight quantized weight-only before import: MatMulNBits, a
/// blocked DequantizeLinear, a QMoE's [experts, rows, cols] experts, 16-bit
/// QDQ weights), computed as the op specifies, or failure.
FailureOr<std::vector<float>> dequantizedConstant(DequantizeOp op) {
  auto input = op.getInput().getDefiningOp<ConstantOp>();
  auto scale = op.getScale().getDefiningOp<ConstantOp>();
  auto zero = op.getZeroPoint() ? op.getZeroPoint().getDefiningOp<ConstantOp>()
                                : ConstantOp();
  auto type = cast<RankedTensorType>(op.getType());
  if (!input || !scale || (op.getZeroPoint() && !zero) || type.getRank() < 2 ||
      !type.hasStaticShape())
    return failure();
  bool isUnsigned = op.getIsUnsigned(), e4m3 = op.getE4m3();
  std::optional<std::vector<int32_t>> q =
      narrowIntegers(input.getValue(), isUnsigned);
  std::optional<std::vector<float>> s = floatElements(scale.getValue());
  std::optional<std::vector<int32_t>> z =
      zero ? narrowIntegers(zero.getValue(), isUnsigned) : std::nullopt;
  if (!q || !s || (zero && !z))
    return failure();
  ArrayRef<int64_t> shape = type.getShape();
  int64_t rank = type.getRank();
  int64_t cols = shape.back();
  int64_t rows = type.getNumElements() / std::max<int64_t>(cols, 1);
  int64_t bits = op.getBits(), block = op.getBlockSize();
  int64_t storedCols = bits == 4 ? (cols + 1) / 2 : cols;
  if (static_cast<int64_t>(q->size()) != rows * storedCols)
    return failure();
  // The element of a parameter (rank <= the result's, broadcast to
  // [.., cols / block (or cols)]) for row `r` (over all leading dims) and
  // parameter column `pc`.
  auto at = [&](Value parameter, int64_t r,
                int64_t pc) -> std::optional<size_t> {
    ArrayRef<int64_t> pshape =
        cast<RankedTensorType>(parameter.getType()).getShape();
    int64_t prank = pshape.size();
    if (prank > rank)
      return std::nullopt;
    size_t index = 0;
    int64_t rest = r;
    // Leading dims from the innermost (the result's dim rank - 2) out.
    SmallVector<int64_t> position(rank);
    position[rank - 1] = pc;
    for (int64_t d = rank - 2; d >= 0; --d) {
      position[d] = rest % shape[d];
      rest /= shape[d];
    }
    for (int64_t d = 0; d < prank; ++d) {
      int64_t size = pshape[d];
      int64_t i = position[rank - prank + d];
      index = index * size + (size == 1 ? 0 : i);
    }
    return index;
  };
  std::vector<float> out(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      int64_t pc = block ? c / block : c;
      std::optional<size_t> si = at(op.getScale(), r, pc);
      std::optional<size_t> zi = zero ? at(op.getZeroPoint(), r, pc) : 0;
      if (!si || !zi || *si >= s->size() || (zero && *zi >= z->size()))
        return failure();
      float value;
      if (e4m3) { // bits 8, no zero point (the verifier's)
        value = llmc::fromE4M3(static_cast<uint8_t>((*q)[r * cols + c]));
      } else {
        int32_t v;
        if (bits == 4) {
          uint8_t nibble =
              (static_cast<uint8_t>((*q)[r * storedCols + c / 2]) >>
               (4 * (c % 2))) &
              0xF;
          v = isUnsigned ? nibble : (nibble ^ 8) - 8;
        } else {
          v = (*q)[r * cols + c];
        }
        if (zero)
          v -= (*z)[*zi];
        value = static_cast<float>(v);
      }
      out[r * cols + c] = value * (*s)[*si];
    }
  return out;
}

/// The llm.dequantize a weight-only quantized rhs reads (see
/// isConstantDequantizedWeight), and the cast after it if any.
std::pair<DequantizeOp, CastOp> constantDequantizeOf(Value rhs) {
  auto narrowing = rhs.getDefiningOp<CastOp>();
  auto dequant =
      (narrowing ? narrowing.getInput() : rhs).getDefiningOp<DequantizeOp>();
  if (!dequant)
    return {};
  auto type = cast<RankedTensorType>(dequant.getType());
  Type stored =
      cast<RankedTensorType>(dequant.getInput().getType()).getElementType();
  if (type.getRank() < 2 || !type.hasStaticShape() ||
      !(stored.isInteger(8) || stored.isInteger(16)) ||
      !llvm::all_of(dequant->getOperands(),
                    [](Value v) { return v.getDefiningOp<ConstantOp>(); }))
    return {};
  return {dequant, narrowing};
}

/// roundeven in f32, as llm.quantize rounds.
float roundEven(float x) { return std::nearbyint(x); }

/// The largest quantized magnitude a scale maps max|x| to: E4M3's, or the
/// symmetric integer range's.
float quantizedMax(int64_t bits, bool e4m3) {
  return e4m3 ? 448.0f : bits == 4 ? 7.0f : 127.0f;
}

/// Rows of a weight quantized symmetrically: per row, or per group of
/// `group` elements of a row (`group` = cols for one group per row). The
/// values are integers, or with `e4m3` (quantizeRows) FP8 E4M3 bytes.
struct QuantizedRows {
  int64_t rows = 0, cols = 0, group = 0, bits = 8;
  std::vector<int8_t> values; // rows x cols, unpacked
  std::vector<float> scales;  // rows x ceil(cols / group)
  int64_t groups() const { return (cols + group - 1) / group; }
};

/// Rows of the given layout, their values and scales zero.
QuantizedRows emptyRows(int64_t rows, int64_t cols, int64_t bits,
                        int64_t group) {
  QuantizedRows q;
  q.rows = rows;
  q.cols = cols;
  q.bits = bits;
  q.group = std::min<int64_t>(group > 0 ? group : cols, cols);
  q.values.resize(rows * cols);
  q.scales.resize(rows * q.groups());
  return q;
}

/// The symmetric scale of `values`: max|v| / qmax, or 1 when all are zero.
float symmetricScale(ArrayRef<float> values, float qmax) {
  float absmax = 0;
  for (float v : values)
    absmax = std::max(absmax, std::fabs(v));
  return absmax > 0 ? absmax / qmax : 1.0f;
}

/// `x / scale` rounded to nearest even and clamped to [-qmax, qmax]: the
/// integer a weight is stored as.
int8_t roundToInteger(float x, float scale, float qmax) {
  return static_cast<int8_t>(std::clamp(roundEven(x / scale), -qmax, qmax));
}

QuantizedRows quantizeRows(ArrayRef<float> w, int64_t rows, int64_t cols,
                           int64_t bits, int64_t group, bool e4m3) {
  QuantizedRows q = emptyRows(rows, cols, bits, group);
  float qmax = quantizedMax(bits, e4m3);
  int64_t groups = q.groups();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      int64_t begin = g * q.group, end = std::min(cols, begin + q.group);
      float scale =
          symmetricScale(w.slice(r * cols + begin, end - begin), qmax);
      q.scales[r * groups + g] = scale;
      for (int64_t c = begin; c < end; ++c)
        q.values[r * cols + c] =
            e4m3 ? static_cast<int8_t>(llmc::toE4M3(w[r * cols + c] / scale))
                 : roundToInteger(w[r * cols + c], scale, qmax);
    }
  return q;
}

/// The upper triangular U with H^-1 = Uᵀ U, row-major, that GPTQ's updates
/// read, for a symmetric positive definite H (K x K). It is computed without
/// forming H^-1: with R = P L P, where L is the lower Cholesky factor of
/// P H P and P reverses the order, H = R Rᵀ with R upper, so H^-1 =
/// (R^-1)ᵀ R^-1 and U = R^-1. Fails if H is not positive definite.
FailureOr<std::vector<float>>
inverseCholeskyUpper(ArrayRef<double> h, int64_t k,
                     const llmc::lapack::Routines &lapack) {
  // Column-major P H P (H is symmetric: its transpose is itself).
  std::vector<double> a(k * k);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < k; ++i)
      a[i + j * k] = h[(k - 1 - i) * k + (k - 1 - j)];
  int n = static_cast<int>(k), info = 0;
  lapack.dpotrf("L", &n, a.data(), &n, &info, 1);
  if (info != 0)
    return failure();
  // R(i, j) = L(k-1-i, k-1-j), upper; then R^-1 in place.
  std::vector<double> r(k * k, 0.0);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i <= j; ++i)
      r[i + j * k] = a[(k - 1 - i) + (k - 1 - j) * k];
  lapack.dtrtri("U", "N", &n, r.data(), &n, &info, 1, 1);
  if (info != 0)
    return failure();
  std::vector<float> u(k * k, 0.0f);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i; j < k; ++j)
      u[i * k + j] = static_cast<float>(r[i + j * k]);
  return u;
}

/// GPTQ (Frantar et al., 2023): the rows of `w` (one per output channel,
/// `cols` = K input channels) quantized one input channel at a time, each
/// channel's rounding error spread over the channels not yet quantized as
/// the calibration inputs' Gram matrix `gram` (XᵀX, K x K) says, so that
/// x·w changes least on those inputs. `damp` times the mean of the
/// diagonal is added to it; channels no input reaches (a zero diagonal)
/// are zeroed. In natural order the channels go first to last and a
/// group's scales are quantizeRows's of the weights updated so far, taken
/// when the group starts. With `actOrder` they go by decreasing diagonal
/// (the channels whose inputs are largest first, while the most channels
/// are left to absorb their errors), and the scales are quantizeRows's of
/// the weights as given ("static groups"), so that a group's channels,
/// quantized at scattered times, share one scale, and the stored layout is
/// the same. Fails if the damped matrix is not positive definite.
FailureOr<QuantizedRows> gptqRows(ArrayRef<float> weights, int64_t rows,
                                  int64_t cols, int64_t bits, int64_t group,
                                  ArrayRef<double> gram, double damp,
                                  bool actOrder,
                                  const llmc::lapack::Routines &lapack) {
  int64_t k = cols;
  // The weights and the Gram matrix in the given channel order; a channel
  // no input reaches gets zero weights and a diagonal of 1.
  std::vector<float> given(weights.begin(), weights.end());
  std::vector<double> hGiven(gram.begin(), gram.end());
  double mean = 0;
  for (int64_t j = 0; j < k; ++j)
    mean += hGiven[j * k + j] / static_cast<double>(k);
  for (int64_t j = 0; j < k; ++j)
    if (hGiven[j * k + j] == 0) {
      hGiven[j * k + j] = 1;
      for (int64_t r = 0; r < rows; ++r)
        given[r * k + j] = 0;
    }

  QuantizedRows q = emptyRows(rows, cols, bits, group);
  float qmax = quantizedMax(bits, /*e4m3=*/false);
  int64_t groups = q.groups();
  // The order channels are quantized in: order[i] is the i-th one.
  std::vector<int64_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  if (actOrder) {
    // Ties keep their order (std::stable_sort's buffer is deprecated).
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      double da = hGiven[a * k + a], db = hGiven[b * k + b];
      return da != db ? da > db : a < b;
    });
    q.scales =
        quantizeRows(given, rows, cols, bits, group, /*e4m3=*/false).scales;
  }
  // The weights and the damped Gram matrix with channels in that order.
  std::vector<float> w(rows * k);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < k; ++i)
      w[r * k + i] = given[r * k + order[i]];
  std::vector<double> h(k * k);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      h[i * k + j] = hGiven[order[i] * k + order[j]];
  for (int64_t i = 0; i < k; ++i)
    h[i * k + i] += damp * (mean > 0 ? mean : 1.0);
  FailureOr<std::vector<float>> inverse = inverseCholeskyUpper(h, k, lapack);
  if (failed(inverse))
    return failure();
  const std::vector<float> &u = *inverse;

  // Channels go in blocks: inside one, each error updates the block's later
  // channels at once; the channels after it take the block's errors in one
  // product at its end (GPTQ's lazy batch updates).
  constexpr int64_t kBlock = 128;
  std::vector<float> errors(rows * kBlock);
  for (int64_t begin = 0; begin < k; begin += kBlock) {
    int64_t end = std::min(k, begin + kBlock);
    for (int64_t i = begin; i < end; ++i) {
      int64_t channel = order[i], g = channel / q.group;
      // Natural order: channel == i, and a group's scales come from the
      // weights updated so far.
      if (!actOrder && i % q.group == 0) {
        int64_t last = std::min(k, i + q.group);
        for (int64_t r = 0; r < rows; ++r)
          q.scales[r * groups + g] = symmetricScale(
              ArrayRef<float>(w).slice(r * k + i, last - i), qmax);
      }
      float pivot = u[i * k + i];
      const float *ui = u.data() + i * k;
      for (int64_t r = 0; r < rows; ++r) {
        float *wr = w.data() + r * k;
        float scale = q.scales[r * groups + g];
        int8_t v = roundToInteger(wr[i], scale, qmax);
        q.values[r * k + channel] = v;
        float error = (wr[i] - v * scale) / pivot;
        errors[r * kBlock + (i - begin)] = error;
        for (int64_t j = i + 1; j < end; ++j)
          wr[j] -= error * ui[j];
      }
    }
    // w[:, end:] -= errors · u[begin:end, end:], one BLAS product (in
    // column-major terms: wᵀ[end:, :] -= u[begin:end, end:]ᵀ errorsᵀ).
    if (end < k && rows > 0) {
      int m = static_cast<int>(k - end), n = static_cast<int>(rows),
          depth = static_cast<int>(end - begin), ld = static_cast<int>(k),
          ldErrors = static_cast<int>(kBlock);
      float minusOne = -1.0f, one = 1.0f;
      lapack.sgemm("N", "N", &m, &n, &depth, &minusOne,
                   u.data() + begin * k + end, &ld, errors.data(), &ldErrors,
                   &one, w.data() + end, &ld, 1, 1);
    }
  }
  return q;
}

ElementsAttr makeBlob(RankedTensorType type, StringRef name,
                      ArrayRef<char> bytes, size_t alignment) {
  return resourceConstant(type, name, bytes, alignment);
}

ElementsAttr makeFloats(RankedTensorType type, StringRef name,
                        ArrayRef<float> values) {
  if (values.size() < 256)
    return DenseElementsAttr::get(type, values);
  return makeBlob(type, name,
                  ArrayRef<char>(reinterpret_cast<const char *>(values.data()),
                                 values.size() * sizeof(float)),
                  alignof(float));
}

std::string blobName(ConstantOp op) {
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(op.getValue()))
    return resource.getRawHandle().getKey().str();
  return "weight";
}

struct QuantizePass : mlir::llm::impl::LLMQuantizeBase<QuantizePass> {
  using Base::Base;

  /// A stored weight: the integers as a constant (i8 [batch.., rows, cols]
  /// or packed [batch.., rows, ceil(cols / 2)]) and the scales, shared by
  /// every op that reads the same rows (an embedding and its tied LM head).
  /// `batch` are the leading dims of a batched weight (a mixture of experts'
  /// [experts, rows, cols]); `rows` of QuantizedRows counts the rows of
  /// every batch entry.
  struct StoredWeight {
    ElementsAttr values;
    QuantizedRows rows;
    SmallVector<int64_t> batch;
    /// The shape of the scales: [batch.., rows / batch, groups].
    SmallVector<int64_t> scaleShape() const {
      SmallVector<int64_t> shape(batch);
      shape.append({rows.rows / batchCount(), rows.groups()});
      return shape;
    }
    int64_t batchCount() const {
      int64_t count = 1;
      for (int64_t d : batch)
        count *= d;
      return count;
    }
  };
  std::map<std::tuple<llvm::hash_code, int64_t, bool>, StoredWeight> cache;
  int64_t numMatMuls = 0, numEmbeddings = 0, numGatheredWeights = 0;
  /// Weights GPTQ quantized, and those it could not (left to RTN).
  int64_t numGPTQ = 0, numGPTQFallbacks = 0;
  /// GPTQ's routines, loaded by runOnOperation under weights=gptq.
  const llmc::lapack::Routines *lapack = nullptr;

  /// The Gram matrix a matmul's calibration left for GPTQ (`llm.act_gram`,
  /// K x K), in double; none when it has none or weights=rtn.
  FailureOr<std::vector<double>> gramOf(MatMulOp op, int64_t k) {
    auto attr = op->getAttrOfType<ElementsAttr>(kActGramAttrName);
    if (weights != "gptq" || !attr)
      return std::vector<double>();
    auto values = floatElements(attr);
    if (!values || static_cast<int64_t>(values->size()) != k * k)
      return op.emitOpError()
             << "has " << kActGramAttrName << " of "
             << (values ? static_cast<int64_t>(values->size()) : int64_t(-1))
             << " f32 elements, expected K x K = " << k * k;
    std::vector<double> gram(values->begin(), values->end());
    // No calibration input reached the product: nothing to weigh errors
    // by (GPTQ would zero every channel); it keeps RTN.
    bool reached = false;
    for (int64_t j = 0; j < k && !reached; ++j)
      reached = gram[j * k + j] != 0;
    if (!reached)
      return std::vector<double>();
    return gram;
  }

  /// `gram` (when not empty) makes the rows GPTQ's (gptqRows); where its
  /// factorization fails, they are rounded to nearest with a warning.
  const StoredWeight &store(ArrayRef<float> w, int64_t rows, int64_t cols,
                            int64_t bits, int64_t group, StringRef name,
                            bool e4m3 = false, ArrayRef<int64_t> batch = {},
                            ArrayRef<double> gram = {},
                            Operation *user = nullptr) {
    llvm::hash_code hash = llvm::hash_combine(
        rows, cols, group, llvm::hash_combine_range(batch),
        llvm::hash_combine_range(
            reinterpret_cast<const char *>(w.data()),
            reinterpret_cast<const char *>(w.data() + w.size())),
        llvm::hash_combine_range(
            reinterpret_cast<const char *>(gram.data()),
            reinterpret_cast<const char *>(gram.data() + gram.size())));
    auto key = std::make_tuple(hash, bits, e4m3);
    auto found = cache.find(key);
    if (found != cache.end())
      return found->second;
    StoredWeight stored;
    FailureOr<QuantizedRows> optimized = failure();
    // runOnOperation refuses weights=gptq with fp8: a gram means integers.
    if (!gram.empty()) {
      optimized = gptqRows(w, rows, cols, bits, group, gram, gptqDamp,
                           gptqActOrder, *lapack);
      if (succeeded(optimized)) {
        ++numGPTQ;
      } else {
        ++numGPTQFallbacks;
        if (user)
          user->emitWarning()
              << "GPTQ: the damped Gram matrix of the input is not positive "
                 "definite; the weight is rounded to nearest";
      }
    }
    stored.rows = succeeded(optimized)
                      ? std::move(*optimized)
                      : quantizeRows(w, rows, cols, bits, group, e4m3);
    stored.batch.assign(batch.begin(), batch.end());
    MLIRContext *context = &getContext();
    Type i8 = IntegerType::get(context, 8);
    std::vector<int8_t> bytes;
    int64_t storedCols = cols;
    if (bits == 4) {
      storedCols = (cols + 1) / 2;
      bytes = packNibbles(stored.rows.values, rows, cols);
    } else {
      bytes = stored.rows.values;
    }
    SmallVector<int64_t> shape(batch);
    shape.append({rows / stored.batchCount(), storedCols});
    auto type = RankedTensorType::get(shape, i8);
    stored.values =
        makeBlob(type,
                 (name + (e4m3        ? ".e4m3"
                          : bits == 4 ? ".w4"
                                      : ".w8"))
                     .str(),
                 ArrayRef<char>(reinterpret_cast<const char *>(bytes.data()),
                                bytes.size()),
                 1);
    return cache.emplace(key, std::move(stored)).first->second;
  }

  Value constant(OpBuilder &b, Location loc, ElementsAttr value) {
    return ConstantOp::create(b, loc, value);
  }

  Value floats(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
               ArrayRef<float> values, StringRef name) {
    auto type = RankedTensorType::get(shape, b.getF32Type());
    return constant(b, loc, makeFloats(type, name, values));
  }

  /// Whether activations are quantized too: int8, or fp8 (E4M3 activations
  /// and weights).
  bool isW8A8() const { return mode == "int8" || mode == "fp8"; }

  /// The weight bits and group size of weight-only and int8 modes.
  int64_t weightBits() const { return mode == "w4" ? 4 : 8; }
  int64_t weightGroup(int64_t cols) const {
    return mode == "w4" ? std::min<int64_t>(groupSize, cols) : cols;
  }

  /// `dequantize(q, scales)` of a stored weight as f32 [batch.., rows,
  /// cols].
  Value dequantized(OpBuilder &b, Location loc, const StoredWeight &stored,
                    StringRef name) {
    const QuantizedRows &q = stored.rows;
    Value values = constant(b, loc, stored.values);
    SmallVector<int64_t> scaleShape = stored.scaleShape();
    Value scales =
        floats(b, loc, scaleShape, q.scales, (name + ".scale").str());
    SmallVector<int64_t> shape(stored.batch);
    shape.append({scaleShape[scaleShape.size() - 2], q.cols});
    auto type = RankedTensorType::get(shape, b.getF32Type());
    auto op = DequantizeOp::create(b, loc, type, values, scales, Value());
    op.setBits(q.bits);
    if (q.groups() > 1)
      op.setBlockSize(q.group);
    return op;
  }

  LogicalResult quantizeGather(GatherOp op) {
    // Rows of quantization parameters (the scales of a gathered 8- or
    // 4-bit table) stay as they are.
    if (llvm::any_of(op->getUsers(),
                     [](Operation *user) { return isa<DequantizeOp>(user); }))
      return success();
    widenHalf(op);
    auto table = op.getData().getDefiningOp<ConstantOp>();
    auto type = cast<RankedTensorType>(op.getData().getType());
    if (!table || op.getAxis() != 0 || type.getRank() < 2 ||
        !type.hasStaticShape() || !type.getElementType().isF32())
      return success();
    auto w = floatElements(table.getValue());
    if (!w)
      return success();
    // Rows along the last dim: an embedding table's [vocabulary, d], or a
    // decoding step's experts gathered per token from [experts, N, K] (per
    // expert and output channel).
    int64_t cols = type.getShape().back();
    int64_t rows = type.getNumElements() / std::max<int64_t>(cols, 1);
    std::string name = blobName(table);
    const StoredWeight &stored =
        store(*w, rows, cols, weightBits(), weightGroup(cols), name,
              /*e4m3=*/false, type.getShape().drop_back(2));
    const QuantizedRows &q = stored.rows;
    OpBuilder b(op);
    Location loc = op.getLoc();
    Value values = constant(b, loc, stored.values);
    Value scales =
        floats(b, loc, stored.scaleShape(), q.scales, name + ".scale");
    Value rowsRead = GatherOp::create(b, loc, values, op.getIndices(), 0);
    Value scalesRead = GatherOp::create(b, loc, scales, op.getIndices(), 0);
    auto result = DequantizeOp::create(b, loc, op.getType(), rowsRead,
                                       scalesRead, Value());
    result.setBits(q.bits);
    if (q.groups() > 1)
      result.setBlockSize(q.group);
    op.replaceAllUsesWith(result.getResult());
    op.erase();
    ++(type.getRank() > 2 ? numGatheredWeights : numEmbeddings);
    return success();
  }

  /// Applies what followed the product in `op`'s epilogue, except the scale.
  Value applyEpilogue(OpBuilder &b, Location loc, MatMulOp op, Value y) {
    if (Value bias = op.getBias())
      y = AddOp::create(b, loc, y, bias);
    y = createActivation(b, loc, op.getActivation(), y);
    if (Value residual = op.getResidual())
      y = AddOp::create(b, loc, y, residual);
    return y;
  }

  /// A 16-bit model's product (f16 or bf16 activation, constant weight of
  /// the same type) computed in f32 so that it quantizes like an f32 one:
  /// the weight is widened at compile time, the activation and the epilogue
  /// operands are cast to f32 and the result back to the model's type. The
  /// op keeps its calibration attributes.
  void widenHalf(MatMulOp op) {
    auto weight = op.getRhs().getDefiningOp<ConstantOp>();
    Type lhsElement =
        cast<RankedTensorType>(op.getLhs().getType()).getElementType();
    if (!weight || !isHalfWidth(lhsElement) ||
        op.getType().getElementType() != lhsElement)
      return;
    ElementsAttr wide = widenedHalf(weight.getValue());
    if (!wide)
      return;
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto toF32 = [&](Value v) -> Value {
      auto type = cast<RankedTensorType>(v.getType());
      return CastOp::create(b, loc, type.clone(b.getF32Type()), v);
    };
    op.getLhsMutable().assign(toF32(op.getLhs()));
    op.getRhsMutable().assign(ConstantOp::create(b, loc, wide));
    if (Value bias = op.getBias())
      op.getBiasMutable().assign(toF32(bias));
    if (Value residual = op.getResidual())
      op.getResidualMutable().assign(toF32(residual));
    computeInF32(op.getOperation());
  }

  /// The same for an f16 or bf16 embedding table: gathered in f32, cast
  /// back.
  void widenHalf(GatherOp op) {
    auto table = op.getData().getDefiningOp<ConstantOp>();
    if (!table)
      return;
    ElementsAttr wide = widenedHalf(table.getValue());
    if (!wide)
      return;
    OpBuilder b(op);
    op.getDataMutable().assign(ConstantOp::create(b, op.getLoc(), wide));
    computeInF32(op.getOperation());
  }

  /// Makes `op`'s 16-bit float result f32 and casts it back for its users.
  static void computeInF32(Operation *op) {
    Value result = op->getResult(0);
    auto halfType = cast<RankedTensorType>(result.getType());
    OpBuilder b(op->getContext());
    result.setType(halfType.clone(b.getF32Type()));
    b.setInsertionPointAfter(op);
    auto narrow = CastOp::create(b, op->getLoc(), halfType, result);
    result.replaceAllUsesExcept(narrow.getResult(), narrow);
  }

  /// int8 mode multiplies int8 weights: a weight the model already holds
  /// weight-only quantized (an llm.dequantize of constants, perhaps cast to
  /// the model's 16-bit type) becomes its float values, which are then
  /// quantized per channel like any other.
  void materializeDequantized(MatMulOp op) {
    if (!isW8A8())
      return;
    Value rhs = op.getRhs();
    auto [dequant, narrowing] = constantDequantizeOf(rhs);
    if (!dequant)
      return;
    FailureOr<std::vector<float>> values = dequantizedConstant(dequant);
    if (failed(values))
      return;
    auto type = cast<RankedTensorType>(rhs.getType());
    Type element = type.getElementType();
    std::string name =
        blobName(dequant.getInput().getDefiningOp<ConstantOp>()) +
        ".dequantized";
    ElementsAttr attr;
    if (element.isF32()) {
      attr = makeFloats(type, name, *values);
    } else if (isHalfWidth(element)) {
      // What the model's cast computes: f32 rounded to nearest even.
      std::vector<uint16_t> narrow(values->size());
      for (auto [v, bits] : llvm::zip_equal(*values, narrow)) {
        APFloat f(v);
        bool lost;
        f.convert(cast<FloatType>(element).getFloatSemantics(),
                  APFloat::rmNearestTiesToEven, &lost);
        bits = static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue());
      }
      attr =
          makeBlob(type, name,
                   ArrayRef<char>(reinterpret_cast<const char *>(narrow.data()),
                                  narrow.size() * sizeof(uint16_t)),
                   alignof(uint16_t));
    } else {
      return;
    }
    OpBuilder b(op);
    op.getRhsMutable().assign(ConstantOp::create(b, op.getLoc(), attr));
    if (narrowing && narrowing->use_empty())
      narrowing->erase();
    if (dequant->use_empty())
      dequant->erase();
  }

  /// Per-token scale of `x` for a quantized range of +-qmax, over its last
  /// dim: max(|x|, 1e-30) / qmax, shaped [.., 1].
  Value dynamicScale(OpBuilder &b, Location loc, Value x, float qmax) {
    int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
    Value absmax =
        ReduceMaxOp::create(b, loc, AbsOp::create(b, loc, x),
                            b.getDenseI64ArrayAttr({rank - 1}), true);
    Value positive =
        MaxOp::create(b, loc, absmax, floats(b, loc, {}, {1e-30f}, ""));
    return DivOp::create(b, loc, positive, floats(b, loc, {}, {qmax}, ""));
  }

  /// What a static activation scale clips at: the calibrated |x| maximum
  /// over the channels, or with percentile calibration the percentile.
  FailureOr<float> staticClip(Operation *op, ArrayRef<float> absmax) {
    float clip = *std::max_element(absmax.begin(), absmax.end());
    if (calibration != "percentile")
      return clip;
    auto percentile = op->getAttrOfType<FloatAttr>(kActPercentileAttrName);
    if (!percentile) {
      op->emitOpError() << "needs '" << kActPercentileAttrName
                        << "' for percentile calibration";
      return failure();
    }
    return static_cast<float>(percentile.getValueAsDouble());
  }

  /// int8 of a product whose rhs is a decoding step's experts gathered from
  /// a table this pass stored 8-bit (quantizeGather: dequantize(gather(q),
  /// gather(scales)), rows [E, N, K] read transposed): the activations are
  /// quantized as for any weight and the product multiplies the gathered
  /// bytes, dequantized by the activation scale times the gathered
  /// per-channel scales. Whether it rewrote `op`.
  FailureOr<bool> quantizeGatheredMatMul(MatMulOp op) {
    auto dequant = op.getRhs().getDefiningOp<DequantizeOp>();
    if (mode != "int8" || smoothQuant > 0 || !dequant ||
        !dequant->hasOneUse() || !op.getTransposeRhs() ||
        op.getTransposeLhs() || dequant.getZeroPoint() ||
        dequant.getIsUnsigned() || dequant.getE4m3() ||
        dequant.getBits() != 8 || dequant.getBlockSize() != 0)
      return false;
    auto bytes = dequant.getInput().getDefiningOp<GatherOp>();
    auto scales = dequant.getScale().getDefiningOp<GatherOp>();
    if (!bytes || !scales || bytes.getIndices() != scales.getIndices() ||
        bytes.getAxis() != 0 || scales.getAxis() != 0 ||
        !bytes.getData().getDefiningOp<ConstantOp>() ||
        !scales.getData().getDefiningOp<ConstantOp>())
      return false;
    auto scaleType = cast<RankedTensorType>(scales.getType());
    auto lhsType = cast<RankedTensorType>(op.getLhs().getType());
    if (!scaleType.hasStaticShape() || scaleType.getRank() < 3 ||
        scaleType.getShape().back() != 1 || !lhsType.hasStaticShape() ||
        !lhsType.getElementType().isF32() || !op.getType().hasStaticShape())
      return false;
    int64_t k = lhsType.getShape().back();
    auto absmaxAttr = op->getAttrOfType<DenseF32ArrayAttr>(kActAbsMaxAttrName);
    bool isStatic = activations == "static";
    if (isStatic && (!absmaxAttr || absmaxAttr.size() != k))
      return op.emitOpError()
             << "needs calibration statistics ('" << kActAbsMaxAttrName
             << "' of K = " << k
             << ") for static activation scales; calibrate the model or use "
                "activations=dynamic";
    OpBuilder b(op);
    Location loc = op.getLoc();
    Value x = op.getLhs();
    auto i8Type = RankedTensorType::get(lhsType.getShape(), b.getI8Type());
    // The gathered scales [.., N, 1] as a row per entry, [.., 1, N].
    SmallVector<int64_t> rowShape(scaleType.getShape());
    std::swap(rowShape[rowShape.size() - 1], rowShape[rowShape.size() - 2]);
    Value weightScales = ReshapeOp::create(
        b, loc, RankedTensorType::get(rowShape, b.getF32Type()), scales);
    float productScale = op.getScale().convertToFloat();
    Value quantized, activationScale;
    if (isStatic) {
      FailureOr<float> clip = staticClip(op, absmaxAttr.asArrayRef());
      if (failed(clip))
        return failure();
      float scale = *clip > 0 ? *clip / 127.0f : 1.0f;
      quantized = QuantizeOp::create(b, loc, i8Type, x,
                                     floats(b, loc, {}, {scale}, ""), Value(),
                                     /*is_unsigned=*/false, /*e4m3=*/false);
      activationScale = floats(b, loc, {}, {scale * productScale}, "");
    } else {
      Value s = dynamicScale(b, loc, x, 127.0f);
      quantized = QuantizeOp::create(b, loc, i8Type, x, s, Value(),
                                     /*is_unsigned=*/false, /*e4m3=*/false);
      activationScale =
          productScale == 1.0f
              ? s
              : MulOp::create(b, loc, s, floats(b, loc, {}, {productScale}, ""))
                    .getResult();
    }
    Value outputScale = MulOp::create(b, loc, activationScale, weightScales);
    Value accumulator = QMatMulOp::create(
        b, loc, quantized, bytes, Value(), Value(), /*lhs_unsigned=*/false,
        /*rhs_unsigned=*/false, /*transpose_rhs=*/true, /*e4m3=*/false);
    Value y = DequantizeOp::create(b, loc, op.getType(), accumulator,
                                   outputScale, Value());
    y = applyEpilogue(b, loc, op, y);
    op.replaceAllUsesWith(y);
    op.erase();
    dequant.erase();
    ++numMatMuls;
    return true;
  }

  LogicalResult quantizeMatMul(MatMulOp op) {
    FailureOr<bool> gathered = quantizeGatheredMatMul(op);
    if (failed(gathered) || *gathered)
      return success(succeeded(gathered));
    materializeDequantized(op);
    widenHalf(op);
    auto weight = op.getRhs().getDefiningOp<ConstantOp>();
    auto type = cast<RankedTensorType>(op.getRhs().getType());
    auto lhsType = cast<RankedTensorType>(op.getLhs().getType());
    if (!weight || op.getTransposeLhs() || type.getRank() < 2 ||
        !type.hasStaticShape() || !type.getElementType().isF32() ||
        !lhsType.getElementType().isF32() || !op.getType().hasStaticShape())
      return success();
    auto data = floatElements(weight.getValue());
    if (!data)
      return success();
    bool transposed = op.getTransposeRhs();
    int64_t rank = type.getRank();
    int64_t n = type.getDimSize(transposed ? rank - 2 : rank - 1);
    int64_t k = type.getDimSize(transposed ? rank - 1 : rank - 2);
    // A batched weight (a mixture of experts' [experts, K, N]) is quantized
    // per batch entry and output channel.
    ArrayRef<int64_t> batch = type.getShape().drop_back(2);
    int64_t batchCount = type.getNumElements() / std::max<int64_t>(n * k, 1);
    // Rows [batch, N, K]: one row per output channel.
    std::vector<float> rows(batchCount * n * k);
    for (int64_t e = 0; e < batchCount; ++e) {
      const float *in = data->data() + e * n * k;
      float *out = rows.data() + e * n * k;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < k; ++j)
          out[i * k + j] = transposed ? in[i * k + j] : in[j * n + i];
    }
    std::string name = blobName(weight);
    OpBuilder b(op);
    Location loc = op.getLoc();
    // The shape of a per-output-channel parameter: [batch.., 1, N], or [N]
    // for a plain weight.
    SmallVector<int64_t> channelShape(batch);
    if (!batch.empty())
      channelShape.push_back(1);
    channelShape.push_back(n);

    FailureOr<std::vector<double>> gram = gramOf(op, k);
    if (failed(gram))
      return failure();
    if (!isW8A8()) {
      const StoredWeight &stored =
          store(rows, batchCount * n, k, weightBits(), weightGroup(k), name,
                /*e4m3=*/false, batch, *gram, op);
      Value w = dequantized(b, loc, stored, name);
      op.getRhsMutable().assign(w);
      op.setTransposeRhs(true);
      op->removeAttr(kActAbsMaxAttrName);
      op->removeAttr(kActPercentileAttrName);
      ++numMatMuls;
      return success();
    }

    auto absmaxAttr = op->getAttrOfType<DenseF32ArrayAttr>(kActAbsMaxAttrName);
    if (absmaxAttr && absmaxAttr.size() != k)
      return op.emitOpError()
             << "has " << kActAbsMaxAttrName << " of " << absmaxAttr.size()
             << " channels, expected K = " << k;
    bool isStatic = activations == "static";
    if ((isStatic || smoothQuant > 0) && !absmaxAttr)
      return op.emitOpError()
             << "needs calibration statistics ('" << kActAbsMaxAttrName
             << "') for "
             << (isStatic ? "static activation scales" : "smoothquant")
             << "; calibrate the model or use activations=dynamic";

    Value x = op.getLhs();
    float clip = 0;
    if (absmaxAttr) {
      ArrayRef<float> absmax = absmaxAttr.asArrayRef();
      float unsmoothed = *std::max_element(absmax.begin(), absmax.end());
      FailureOr<float> staticClipValue = staticClip(op, absmax);
      if (failed(staticClipValue))
        return failure();
      clip = *staticClipValue;
      if (smoothQuant > 0) {
        std::vector<float> factors(k), inverse(k);
        float smoothed = 0;
        for (int64_t j = 0; j < k; ++j) {
          float wmax = 0;
          for (int64_t i = 0; i < batchCount * n; ++i)
            wmax = std::max(wmax, std::fabs(rows[i * k + j]));
          double f = 1.0;
          if (absmax[j] > 0 && wmax > 0)
            f = std::pow(double(absmax[j]), smoothQuant) /
                std::pow(double(wmax), 1.0 - smoothQuant);
          f = std::clamp(f, 1e-5, 1e5);
          factors[j] = static_cast<float>(f);
          inverse[j] = static_cast<float>(1.0 / f);
          smoothed = std::max(smoothed, absmax[j] * inverse[j]);
          for (int64_t i = 0; i < batchCount * n; ++i)
            rows[i * k + j] *= factors[j];
        }
        // The product's input is x / f: its Gram matrix scales alike.
        if (!gram->empty())
          for (int64_t a = 0; a < k; ++a)
            for (int64_t c = 0; c < k; ++c)
              (*gram)[a * k + c] *= double(inverse[a]) * inverse[c];
        if (unsmoothed > 0)
          clip = clip * (smoothed / unsmoothed);
        x = MulOp::create(b, loc, x,
                          floats(b, loc, {k}, inverse, name + ".smooth"));
        name += ".smoothed";
      }
    }

    bool e4m3 = mode == "fp8";
    float qmax = quantizedMax(8, e4m3);
    const StoredWeight &stored =
        store(rows, batchCount * n, k, 8, k, name, e4m3, batch, *gram, op);
    const QuantizedRows &q = stored.rows;
    float productScale = op.getScale().convertToFloat();
    auto i8Type = [&](Value like) {
      return RankedTensorType::get(
          cast<RankedTensorType>(like.getType()).getShape(), b.getI8Type());
    };
    Value quantized, outputScale;
    if (isStatic) {
      float scale = clip > 0 ? clip / qmax : 1.0f;
      Value s = floats(b, loc, {}, {scale}, "");
      quantized = QuantizeOp::create(b, loc, i8Type(x), x, s, Value(),
                                     /*is_unsigned=*/false, e4m3);
      std::vector<float> combined(batchCount * n);
      for (int64_t i = 0; i < batchCount * n; ++i)
        combined[i] =
            static_cast<float>(double(productScale) * scale * q.scales[i]);
      outputScale = floats(b, loc, channelShape, combined, name + ".outscale");
    } else {
      Value s = dynamicScale(b, loc, x, qmax);
      quantized = QuantizeOp::create(b, loc, i8Type(x), x, s, Value(),
                                     /*is_unsigned=*/false, e4m3);
      std::vector<float> weightScales(batchCount * n);
      for (int64_t i = 0; i < batchCount * n; ++i)
        weightScales[i] = productScale * q.scales[i];
      // Per token x per channel: [.., M, 1] * [N] -> [.., M, N] (a batched
      // weight's [batch.., 1, N]).
      outputScale = MulOp::create(
          b, loc, s,
          floats(b, loc, channelShape, weightScales, name + ".outscale"));
    }
    Value accumulator = QMatMulOp::create(
        b, loc, quantized, constant(b, loc, stored.values), Value(), Value(),
        /*lhs_unsigned=*/false, /*rhs_unsigned=*/false,
        /*transpose_rhs=*/true, e4m3);
    Value y = DequantizeOp::create(b, loc, op.getType(), accumulator,
                                   outputScale, Value());
    y = applyEpilogue(b, loc, op, y);
    op.replaceAllUsesWith(y);
    op.erase();
    ++numMatMuls;
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (mode != "int8" && mode != "fp8" && mode != "w8" && mode != "w4") {
      module.emitError() << "llm-quantize: unknown mode '" << mode
                         << "' (expected int8, fp8, w8 or w4)";
      return signalPassFailure();
    }
    if (activations != "static" && activations != "dynamic") {
      module.emitError() << "llm-quantize: unknown activations '" << activations
                         << "' (expected static or dynamic)";
      return signalPassFailure();
    }
    if (calibration != "minmax" && calibration != "percentile") {
      module.emitError() << "llm-quantize: unknown calibration '" << calibration
                         << "' (expected minmax or percentile)";
      return signalPassFailure();
    }
    if (smoothQuant < 0 || smoothQuant > 1 ||
        (smoothQuant > 0 && mode != "int8")) {
      module.emitError() << "llm-quantize: smoothquant must be in [0, 1] and "
                            "needs mode int8, got "
                         << smoothQuant << " with mode " << mode;
      return signalPassFailure();
    }
    if (groupSize <= 0) {
      module.emitError() << "llm-quantize: group-size must be positive, got "
                         << groupSize;
      return signalPassFailure();
    }
    if (weights != "rtn" && weights != "gptq") {
      module.emitError() << "llm-quantize: unknown weights '" << weights
                         << "' (expected rtn or gptq)";
      return signalPassFailure();
    }
    if (weights == "gptq" && mode == "fp8") {
      module.emitError() << "llm-quantize: weights=gptq needs mode int8, w8 "
                            "or w4 (integer weights), got mode fp8";
      return signalPassFailure();
    }
    if (!(gptqDamp > 0)) {
      module.emitError() << "llm-quantize: gptq-damp must be positive, got "
                         << llvm::formatv("{0}", double(gptqDamp));
      return signalPassFailure();
    }
    if (weights == "gptq") {
      auto routines = llmc::lapack::routines();
      if (!routines) {
        module.emitError() << "llm-quantize: weights=gptq: "
                           << llvm::toString(routines.takeError());
        return signalPassFailure();
      }
      lapack = &*routines;
    }
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<MatMulOp, GatherOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      LogicalResult result = success();
      if (auto matmul = dyn_cast<MatMulOp>(op))
        result = quantizeMatMul(matmul);
      else
        result = quantizeGather(cast<GatherOp>(op));
      if (failed(result))
        return signalPassFailure();
    }
    // Weights no op reads any more; calibration statistics of products
    // left float.
    module.walk([](ConstantOp op) {
      if (op->use_empty())
        op->erase();
    });
    module.walk([](MatMulOp op) {
      op->removeAttr(kActAbsMaxAttrName);
      op->removeAttr(kActPercentileAttrName);
      op->removeAttr(kActGramAttrName);
    });
    MLIRContext *context = &getContext();
    Builder b(context);
    SmallVector<NamedAttribute> record{
        b.getNamedAttr("mode", b.getStringAttr(mode)),
        b.getNamedAttr("matmuls", b.getI64IntegerAttr(numMatMuls)),
        b.getNamedAttr("embeddings", b.getI64IntegerAttr(numEmbeddings)),
        b.getNamedAttr("gathered_weights",
                       b.getI64IntegerAttr(numGatheredWeights))};
    if (isW8A8())
      record.push_back(
          b.getNamedAttr("activations", b.getStringAttr(activations)));
    if (weights == "gptq") {
      record.push_back(b.getNamedAttr("weights", b.getStringAttr(weights)));
      record.push_back(
          b.getNamedAttr("gptq_weights", b.getI64IntegerAttr(numGPTQ)));
      record.push_back(b.getNamedAttr(
          "gptq_order", b.getStringAttr(gptqActOrder ? "act" : "natural")));
      record.push_back(b.getNamedAttr("gptq_fallbacks",
                                      b.getI64IntegerAttr(numGPTQFallbacks)));
    }
    module->setAttr(kQuantizationAttrName, b.getDictionaryAttr(record));
    cache.clear();
  }
};
} // namespace

bool mlir::llm::isConstantDequantizedWeight(Value rhs) {
  return static_cast<bool>(constantDequantizeOf(rhs).first);
}
