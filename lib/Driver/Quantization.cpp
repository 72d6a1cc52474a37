//===- Quantization.cpp - calibrate, quantize and measure accuracy --------===//
//
// What `--quant` adds to a compile: an fp32 copy of the fused graph that also
// returns the input of every matmul llm-quantize will rewrite, run on the
// calibration inputs (an .npz file, or synthetic inputs with a warning) to
// get activation statistics and fp32 reference outputs; the statistics go on
// the matmuls as attributes, llm-quantize rewrites the graph, and the
// quantized model is compared with the reference on the same inputs.
//
//===----------------------------------------------------------------------===//
#include "llmc/Driver/Driver.h"
#include "llmc/Runtime/CUDARuntime.h"

#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"
#include "llmc/Pipelines/Pipelines.h"
#include "llmc/Runtime/HostRuntime.h"
#include "llmc/Support/Lapack.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <random>

using namespace llmc;
using llvm::StringRef;

namespace {
llvm::Error inputError(const llvm::Twine &message) {
  return llvm::make_error<InputError>(message.str());
}

constexpr StringRef kCalibrationResultPrefix = "__llmc_calibration_";
/// Synthetic calibration samples when no --calib is given.
constexpr int kSyntheticSamples = 4;

/// XᵀX of the rows of a matmul's calibration inputs (GPTQ's H), for
/// --quant-weights gptq. Rows are kept until there are kFoldRows of them
/// (or K, if fewer), then folded into the K x K sum: the rows held stay a
/// fraction of the sum's size.
class GramAccumulator {
public:
  GramAccumulator(int64_t k, const lapack::Routines &blas)
      : k(k), blas(&blas) {}

  int64_t channels() const { return k; }
  /// How many rows (tokens) were added.
  int64_t rows() const { return count; }

  /// Adds the rows of `x` ([.., K] row-major).
  void add(llvm::ArrayRef<float> x) {
    count += static_cast<int64_t>(x.size()) / k;
    pending.reserve(foldRows() * k);
    while (!x.empty()) {
      size_t room = foldRows() * k - pending.size(),
             take = std::min<size_t>(room, x.size());
      pending.insert(pending.end(), x.begin(), x.begin() + take);
      x = x.drop_front(take);
      if (static_cast<int64_t>(pending.size()) == foldRows() * k)
        fold();
    }
  }

  /// The sum as f32 [K, K], row-major; the accumulator is empty after.
  std::vector<float> take() {
    fold();
    std::vector<float> result(k * k, 0.0f);
    if (!sum.empty())
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j) {
          double v = i <= j ? sum[i * k + j] : sum[j * k + i];
          result[i * k + j] = static_cast<float>(v);
        }
    std::vector<double>().swap(sum);
    std::vector<float>().swap(pending);
    return result;
  }

private:
  /// Adds the pending rows' upper triangle (f32 products of one batch,
  /// summed in f64 across batches).
  void fold() {
    int64_t rows = static_cast<int64_t>(pending.size()) / k;
    if (rows == 0)
      return;
    if (sum.empty())
      sum.assign(k * k, 0.0);
    // The rows [rows, K] row-major are Xᵀ [K, rows] column-major: syrk's
    // "N" gives Xᵀ X, its upper triangle in column-major order, which is
    // the lower one row-major (the same numbers: it is symmetric).
    std::vector<float> batch(k * k, 0.0f);
    int n = static_cast<int>(k), depth = static_cast<int>(rows);
    float one = 1.0f, zero = 0.0f;
    blas->ssyrk("U", "N", &n, &depth, &one, pending.data(), &n, &zero,
                batch.data(), &n, 1, 1);
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = 0; i <= j; ++i)
        sum[i * k + j] += batch[i + j * k];
    pending.clear();
  }

  /// Rows a batch of syrk takes: enough for its speed, few enough that the
  /// rows held are small beside the K x K sum.
  static constexpr int64_t kFoldRows = 256;
  int64_t foldRows() const { return std::min(k, kFoldRows); }

  int64_t k, count = 0;
  const lapack::Routines *blas;
  std::vector<float> pending;
  std::vector<double> sum;
};

/// The matmuls of the entry function llm-quantize rewrites, in walk order
/// (the same in a clone).
std::vector<mlir::llm::MatMulOp> quantizableMatMuls(mlir::ModuleOp module,
                                                    StringRef entry) {
  std::vector<mlir::llm::MatMulOp> result;
  auto func = module.lookupSymbol<mlir::func::FuncOp>(entry);
  if (!func)
    return result;
  func.walk([&](mlir::llm::MatMulOp op) {
    auto weight = op.getRhs().getDefiningOp<mlir::llm::ConstantOp>();
    auto type = llvm::cast<mlir::RankedTensorType>(op.getRhs().getType());
    // A decoding step's experts, gathered from a constant [E, N, K] table.
    auto gather = op.getRhs().getDefiningOp<mlir::llm::GatherOp>();
    bool gathered =
        gather && gather.getAxis() == 0 && op.getTransposeRhs() &&
        gather.getData().getDefiningOp<mlir::llm::ConstantOp>() &&
        llvm::cast<mlir::RankedTensorType>(gather.getData().getType())
                .getRank() == 3;
    if ((weight || gathered ||
         mlir::llm::isConstantDequantizedWeight(op.getRhs())) &&
        !op.getTransposeLhs() && type.getRank() >= 2 && type.hasStaticShape() &&
        (type.getElementType().isF32() || type.getElementType().isF16() ||
         type.getElementType().isBF16()) &&
        op.getLhs().getType().getElementType() == type.getElementType() &&
        op.getType().hasStaticShape())
      result.push_back(op);
  });
  return result;
}

/// Upper bounds of integer inputs that index an embedding table: the
/// importer's `llm.index_bound` (which also bounds a loss's labels), and the
/// table size of every gather whose indices derive from the input through
/// shape-only ops.
int64_t indexBound(mlir::ModuleOp module, mlir::BlockArgument input) {
  int64_t bound = 0;
  // The importer's bound (a loss's labels: their classes).
  if (auto func =
          llvm::dyn_cast<mlir::func::FuncOp>(input.getOwner()->getParentOp()))
    if (auto marked = func.getArgAttrOfType<mlir::IntegerAttr>(
            input.getArgNumber(), mlir::llm::kIndexBoundAttrName))
      bound = marked.getInt();
  module.walk([&](mlir::llm::GatherOp gather) {
    mlir::Value indices = gather.getIndices();
    while (mlir::Operation *def = indices.getDefiningOp()) {
      if (!llvm::isa<mlir::llm::CastOp, mlir::llm::ReshapeOp,
                     mlir::llm::ExpandOp, mlir::llm::TransposeOp>(def))
        break;
      indices = def->getOperand(0);
    }
    if (indices != input)
      return;
    int64_t size =
        llvm::cast<mlir::RankedTensorType>(gather.getData().getType())
            .getDimSize(gather.getAxis());
    if (size > 0)
      bound = bound ? std::min(bound, size) : size;
  });
  return bound;
}

void fillSynthetic(Tensor &tensor, std::mt19937 &random, int64_t bound) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  char *out = static_cast<char *>(tensor.mutableData());
  for (int64_t i = 0; i < tensor.numElements(); ++i) {
    // Token ids in range of the embedding table; other integers (masks) 1.
    int64_t integer = bound > 0 ? static_cast<int64_t>(random() % bound) : 1;
    switch (tensor.dtype) {
    case DType::f32: {
      float v = normal(random);
      std::memcpy(out + 4 * i, &v, 4);
      break;
    }
    case DType::f64: {
      double v = normal(random);
      std::memcpy(out + 8 * i, &v, 8);
      break;
    }
    case DType::i64:
      std::memcpy(out + 8 * i, &integer, 8);
      break;
    case DType::i32: {
      int32_t v = integer;
      std::memcpy(out + 4 * i, &v, 4);
      break;
    }
    case DType::i16:
    case DType::u16: {
      int16_t v = integer;
      std::memcpy(out + 2 * i, &v, 2);
      break;
    }
    case DType::i8:
    case DType::u8:
    case DType::i1:
      out[i] = static_cast<char>(integer);
      break;
    case DType::f16: {
      bool losesInfo = false;
      llvm::APFloat v(normal(random));
      v.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven,
                &losesInfo);
      uint16_t bits = v.bitcastToAPInt().getZExtValue();
      std::memcpy(out + 2 * i, &bits, 2);
      break;
    }
    case DType::bf16: {
      uint16_t bits = roundToBF16(normal(random));
      std::memcpy(out + 2 * i, &bits, 2);
      break;
    }
    }
  }
}

/// Splits the calibration arrays into samples: an array has the input's
/// shape (one sample) or one more leading dim (that many samples).
llvm::Expected<std::vector<std::vector<Tensor>>>
calibrationSamples(StringRef path, const Signature &sig) {
  auto arrays = readNpz(path);
  if (!arrays)
    return arrays.takeError();
  int64_t samples = -1;
  std::vector<const Tensor *> byInput;
  for (const TensorSpec &spec : sig.inputs) {
    auto found = llvm::find_if(
        *arrays, [&](const Tensor &t) { return t.name == spec.name; });
    if (found == arrays->end())
      return inputError(path + ": no array for the model input '" + spec.name +
                        "'");
    if (found->dtype != spec.dtype)
      return inputError(path + ": array '" + spec.name + "' has dtype " +
                        dtypeName(found->dtype) + ", the model expects " +
                        dtypeName(spec.dtype));
    int64_t count;
    if (found->shape == spec.shape)
      count = 1;
    else if (found->shape.size() == spec.shape.size() + 1 &&
             std::equal(spec.shape.begin(), spec.shape.end(),
                        found->shape.begin() + 1) &&
             found->shape[0] > 0)
      count = found->shape[0];
    else
      return inputError(path + ": array '" + spec.name + "' has shape " +
                        shapeToString(found->shape) + ", the model expects " +
                        shapeToString(spec.shape) +
                        " (or that with a leading dim of samples)");
    if (samples >= 0 && count != samples)
      return inputError(path + ": arrays hold different numbers of samples (" +
                        llvm::Twine(samples) + " and " + llvm::Twine(count) +
                        " for '" + spec.name + "')");
    samples = count;
    // A NaN or infinity would poison the scales and GPTQ's Hessians.
    if (isFloat(found->dtype))
      for (int64_t i = 0, n = found->numElements(); i < n; ++i)
        if (double value = elementAsDouble(*found, i); !std::isfinite(value))
          return inputError(path + ": array '" + spec.name + "' holds " +
                            (std::isnan(value) ? "NaN" : "an infinity") +
                            " (element " + llvm::Twine(i) +
                            "): calibration inputs must be finite");
    byInput.push_back(&*found);
  }
  if (samples < 0)
    samples = 1;
  std::vector<std::vector<Tensor>> result(samples);
  for (auto [spec, array] : llvm::zip(sig.inputs, byInput)) {
    size_t bytes = Tensor(spec.name, spec.dtype, spec.shape).byteSize();
    for (int64_t s = 0; s < samples; ++s) {
      Tensor tensor(spec.name, spec.dtype, spec.shape);
      std::memcpy(tensor.mutableData(),
                  static_cast<const char *>(array->data()) + s * bytes, bytes);
      result[s].push_back(std::move(tensor));
    }
  }
  return result;
}

/// The percentile (0..100) of `values`, reordering them.
float percentileOf(std::vector<float> &values, double percentile) {
  if (values.empty())
    return 0;
  double position = percentile / 100.0 * (values.size() - 1);
  size_t index =
      std::min(values.size() - 1, static_cast<size_t>(std::ceil(position)));
  std::nth_element(values.begin(), values.begin() + index, values.end());
  return values[index];
}
} // namespace

//===----------------------------------------------------------------------===//
// .npz
//===----------------------------------------------------------------------===//

llvm::Expected<std::vector<Tensor>> llmc::readNpz(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return inputError(path + ": cannot read: " + buffer.getError().message());
  StringRef data = (*buffer)->getBuffer();
  auto bad = [&](const llvm::Twine &why) {
    return inputError(path + ": not a valid .npz file: " + why);
  };
  using llvm::support::endian::read16le;
  using llvm::support::endian::read32le;
  using llvm::support::endian::read64le;
  auto at = [&](uint64_t offset) { return data.data() + offset; };
  // End of central directory: the last "PK\5\6" with room for its 22 bytes.
  if (data.size() < 22)
    return bad("too short for a zip archive");
  int64_t eocd = -1;
  for (int64_t i = data.size() - 22;
       i >= 0 && i + 65557 >= int64_t(data.size()); --i)
    if (read32le(at(i)) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd < 0)
    return bad("no zip end-of-central-directory record");
  uint64_t entries = read16le(at(eocd + 10));
  uint64_t directory = read32le(at(eocd + 16));
  if ((directory == 0xFFFFFFFF || entries == 0xFFFF) && eocd >= 20 &&
      read32le(at(eocd - 20)) == 0x07064b50) {
    uint64_t zip64 = read64le(at(eocd - 20 + 8));
    if (zip64 + 56 > data.size() || read32le(at(zip64)) != 0x06064b50)
      return bad("broken zip64 end-of-central-directory record");
    entries = read64le(at(zip64 + 32));
    directory = read64le(at(zip64 + 48));
  }
  std::vector<Tensor> result;
  uint64_t offset = directory;
  for (uint64_t e = 0; e < entries; ++e) {
    if (offset + 46 > data.size() || read32le(at(offset)) != 0x02014b50)
      return bad("broken central directory");
    uint16_t method = read16le(at(offset + 10));
    uint64_t compressed = read32le(at(offset + 20));
    uint64_t size = read32le(at(offset + 24));
    uint16_t nameLength = read16le(at(offset + 28));
    uint16_t extraLength = read16le(at(offset + 30));
    uint16_t commentLength = read16le(at(offset + 32));
    uint64_t local = read32le(at(offset + 42));
    if (offset + 46 + nameLength + extraLength > data.size())
      return bad("broken central directory");
    StringRef name(at(offset + 46), nameLength);
    // Zip64: the 0xFFFFFFFF fields follow in the extra field, in order.
    StringRef extra(at(offset + 46 + nameLength), extraLength);
    while (extra.size() >= 4) {
      uint16_t id = read16le(extra.data()), length = read16le(extra.data() + 2);
      StringRef field = extra.substr(4, length);
      if (id == 1) {
        size_t pos = 0;
        for (uint64_t *value : {&size, &compressed, &local})
          if (*value == 0xFFFFFFFF && pos + 8 <= field.size()) {
            *value = read64le(field.data() + pos);
            pos += 8;
          }
      }
      extra = extra.drop_front(std::min<size_t>(extra.size(), 4 + length));
    }
    offset += 46 + nameLength + extraLength + commentLength;
    if (method != 0)
      return inputError(path + ": entry '" + name +
                        "' is compressed; write calibration data with "
                        "np.savez, not np.savez_compressed");
    if (compressed != size)
      return bad("entry '" + name + "' has different stored and real sizes");
    if (local + 30 > data.size() || read32le(at(local)) != 0x04034b50)
      return bad("broken local header of '" + name + "'");
    uint64_t start =
        local + 30 + read16le(at(local + 26)) + read16le(at(local + 28));
    if (start + size > data.size())
      return bad("entry '" + name + "' is truncated");
    StringRef key = name;
    if (!key.consume_back(".npy"))
      return bad("entry '" + name + "' is not an .npy array");
    auto tensor =
        parseNpy(data.substr(start, size), (path + ":" + name).str(), key);
    if (!tensor)
      return inputError(llvm::toString(tensor.takeError()));
    result.push_back(std::move(*tensor));
  }
  return result;
}

//===----------------------------------------------------------------------===//
// Accuracy
//===----------------------------------------------------------------------===//

llvm::json::Object
llmc::compareOutputs(llvm::ArrayRef<std::vector<Tensor>> actual,
                     llvm::ArrayRef<std::vector<Tensor>> expected) {
  double dot = 0, actualNorm = 0, expectedNorm = 0, maxError = 0, sumError = 0;
  int64_t count = 0, rows = 0, agreeing = 0;
  // NaN and infinities (an input that holds one) are counted, not compared:
  // the figures are those of the pairs where both values are finite, and a
  // row's top-1 is compared where both rows are.
  int64_t nonFiniteActual = 0, nonFiniteExpected = 0;
  // What the quantized outputs are compared with: the unquantized model's
  // outputs, in its float type ("fp32" for most, "fp16" for fp16 models).
  std::string reference;
  // Each one-element float output (a loss), averaged over the samples.
  struct Scalar {
    std::string name;
    double actual = 0, expected = 0;
    int64_t samples = 0;
  };
  std::vector<Scalar> scalars;
  for (auto [actualSample, expectedSample] : llvm::zip(actual, expected))
    for (auto [index, pair] :
         llvm::enumerate(llvm::zip(actualSample, expectedSample))) {
      auto &[a, e] = pair;
      if (!isFloat(a.dtype) || a.dtype != e.dtype || a.shape != e.shape)
        continue;
      if (a.numElements() == 1) {
        if (scalars.size() <= index)
          scalars.resize(index + 1);
        Scalar &scalar = scalars[index];
        scalar.name =
            a.name.empty() ? "output " + std::to_string(index) : a.name;
        scalar.actual += elementAsDouble(a, 0);
        scalar.expected += elementAsDouble(e, 0);
        ++scalar.samples;
      }
      if (reference.empty())
        reference = e.dtype == DType::f16    ? "fp16"
                    : e.dtype == DType::bf16 ? "bf16"
                    : e.dtype == DType::f64  ? "fp64"
                                             : "fp32";
      int64_t n = a.numElements();
      for (int64_t i = 0; i < n; ++i) {
        double x = elementAsDouble(a, i), y = elementAsDouble(e, i);
        if (!std::isfinite(x) || !std::isfinite(y)) {
          nonFiniteActual += !std::isfinite(x);
          nonFiniteExpected += !std::isfinite(y);
          continue;
        }
        dot += x * y;
        actualNorm += x * x;
        expectedNorm += y * y;
        double error = std::fabs(x - y);
        maxError = std::max(maxError, error);
        sumError += error;
        ++count;
      }
      int64_t last = a.shape.empty() ? 1 : a.shape.back();
      if (last < 2)
        continue;
      for (int64_t row = 0; row < n / last; ++row) {
        int64_t bestA = 0, bestE = 0;
        auto at = [&](const Tensor &t, int64_t j) {
          return elementAsDouble(t, row * last + j);
        };
        bool finite = true;
        for (int64_t j = 0; j < last && finite; ++j)
          finite = std::isfinite(at(a, j)) && std::isfinite(at(e, j));
        if (!finite)
          continue;
        for (int64_t j = 1; j < last; ++j) {
          if (at(a, j) > at(a, bestA))
            bestA = j;
          if (at(e, j) > at(e, bestE))
            bestE = j;
        }
        ++rows;
        agreeing += bestA == bestE;
      }
    }
  double denominator = std::sqrt(actualNorm) * std::sqrt(expectedNorm);
  double cosine = denominator > 0 ? dot / denominator
                                  : (actualNorm == expectedNorm ? 1.0 : 0.0);
  llvm::json::Object result{
      {"elements", count},
      {"reference", reference.empty() ? "fp32" : reference},
      {"samples", static_cast<int64_t>(actual.size())}};
  // With no finite pair there is nothing to measure: null, not 0 or 1.
  auto measured = [&](double value) -> llvm::json::Value {
    if (count == 0 && (nonFiniteActual || nonFiniteExpected))
      return nullptr;
    return value;
  };
  result["cosine"] = measured(cosine);
  result["max_abs_error"] = measured(maxError);
  result["mean_abs_error"] = measured(count ? sumError / count : 0.0);
  if (nonFiniteActual || nonFiniteExpected)
    result["non_finite"] = llvm::json::Object{{"quantized", nonFiniteActual},
                                              {"reference", nonFiniteExpected}};
  if (rows)
    result["top1_agreement"] = static_cast<double>(agreeing) / rows;
  else
    result["top1_agreement"] = nullptr;
  llvm::json::Array scalarOutputs;
  for (const Scalar &scalar : scalars)
    if (scalar.samples)
      scalarOutputs.push_back(
          llvm::json::Object{{"name", scalar.name},
                             {"value", scalar.actual / scalar.samples},
                             {"reference", scalar.expected / scalar.samples}});
  if (!scalarOutputs.empty())
    result["scalar_outputs"] = std::move(scalarOutputs);
  return result;
}

std::string llmc::describeAccuracy(const llvm::json::Object &accuracy) {
  auto number = [&](StringRef key) {
    return accuracy.getNumber(key).value_or(NAN);
  };
  std::string text;
  llvm::raw_string_ostream os(text);
  const llvm::json::Object *nonFinite = accuracy.getObject("non_finite");
  bool anyFinite = accuracy.getInteger("elements").value_or(0) > 0;
  if (!nonFinite || anyFinite)
    os << llvm::formatv("cosine {0:f6}, max abs error {1:e}, mean abs error "
                        "{2:e}, top-1 agreement {3:f4}",
                        number("cosine"), number("max_abs_error"),
                        number("mean_abs_error"), number("top1_agreement"));
  else
    os << "no finite pair of values to compare";
  if (nonFinite)
    os << llvm::formatv(" ({0} quantized and {1} reference values are NaN or "
                        "infinite{2})",
                        nonFinite->getInteger("quantized").value_or(0),
                        nonFinite->getInteger("reference").value_or(0),
                        anyFinite ? "; the figures are of the finite pairs"
                                  : "");
  return text;
}

std::string llmc::describeScalarOutputs(const llvm::json::Object &accuracy,
                                        llvm::StringRef prefix) {
  std::string text;
  llvm::raw_string_ostream os(text);
  const llvm::json::Array *scalars = accuracy.getArray("scalar_outputs");
  llvm::StringRef reference = accuracy.getString("reference").value_or("fp32");
  for (const llvm::json::Value &entry :
       scalars ? *scalars : llvm::json::Array()) {
    const llvm::json::Object *scalar = entry.getAsObject();
    if (!scalar)
      continue;
    double value = scalar->getNumber("value").value_or(NAN);
    double expected = scalar->getNumber("reference").value_or(NAN);
    os << prefix << scalar->getString("name").value_or("output") << " "
       << llvm::format("%.6g vs %.6g ", value, expected) << reference;
    if (expected != 0)
      os << llvm::format(" (%+.3f%%)",
                         100.0 * (value - expected) / std::fabs(expected));
    os << "\n";
  }
  return text;
}

//===----------------------------------------------------------------------===//
// CompiledModel
//===----------------------------------------------------------------------===//

/// The fp32 reference of a quantized model: its graph, returning the input
/// of every matmul llm-quantize rewrites after the model's outputs, compiled
/// for the host; the calibration inputs and the reference's outputs on them.
struct CompiledModel::Calibration {
  ~Calibration() {
    reference.reset();
    module = nullptr;
  }
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::vector<Tensor> weights;
  std::unique_ptr<HostExecutable> reference;
  Signature sig;
  std::vector<std::vector<Tensor>> inputs, outputs;
  /// "calibration" (a --calib file) or "synthetic".
  std::string source;
};

llvm::Error CompiledModel::quantize(mlir::ModuleOp module,
                                    const CompileOptions &options) {
  mlir::MLIRContext &context = *this->context;
  const QuantizationOptions &q = options.quantization;
  if (q.activations != "static" && q.activations != "dynamic")
    return inputError("unknown activation quantization '" + q.activations +
                      "' (expected static or dynamic)");
  if (q.calibration != "minmax" && q.calibration != "percentile")
    return inputError("unknown calibration '" + q.calibration +
                      "' (expected minmax or percentile)");
  if (!(q.percentile > 0 && q.percentile <= 100))
    return inputError("percentile " + llvm::formatv("{0}", q.percentile).str() +
                      " is not in (0, 100]");
  if (!(q.smoothQuant >= 0 && q.smoothQuant <= 1))
    return inputError("smoothquant " +
                      llvm::formatv("{0}", q.smoothQuant).str() +
                      " is not in [0, 1]");
  if (q.smoothQuant > 0 && options.quant != "int8")
    return inputError("smoothquant needs --quant int8, not " + options.quant);
  if (q.groupSize <= 0)
    return inputError("group size " + llvm::Twine(q.groupSize) +
                      " is not positive");
  if (q.weights != "rtn" && q.weights != "gptq")
    return inputError("unknown weight quantization '" + q.weights +
                      "' (expected rtn or gptq)");
  if (q.gptqActOrder && q.weights != "gptq")
    return inputError("--gptq-act-order needs --quant-weights gptq");
  if (q.weights == "gptq" && options.quant == "fp8")
    return inputError("--quant-weights gptq needs integer weights (--quant "
                      "int8, w8 or w4), not fp8");
  // GPTQ's Gram matrices are BLAS products (and llm-quantize's
  // factorizations LAPACK's): a system without them fails here, first.
  const lapack::Routines *blas = nullptr;
  if (q.weights == "gptq") {
    auto routines = lapack::routines();
    if (!routines)
      return inputError("--quant-weights gptq: " +
                        llvm::toString(routines.takeError()));
    blas = &*routines;
  }

  mlir::PassManager graph(&context);
  buildGraphCleanupPipeline(graph);
  // An FP8 model's products stay float under int8 and weight-only
  // quantization, which requantize their weights from the FP8 values.
  if (options.fuse)
    buildFusionPipeline(graph, /*remarks=*/false,
                        /*fp8Products=*/options.quant == "fp8");
  addProgress(graph, "graph pipeline");
  if (auto error = captureDiagnostics(
          context, [&] { return graph.run(module); },
          "the graph pipeline failed"))
    return error;
  // Products of weights alone (DeBERTa's relative-position projections)
  // become constants before they are taken for layers to quantize.
  if (options.evaluateConstants)
    constantEvaluation = evaluateConstantSubgraphsOrWarn(
        module, options.import.entryName, WeightLayout::AsExported,
        /*outlineWeights=*/false);

  // The fp32 reference, returning every quantizable matmul's input too.
  StringRef entry = options.import.entryName;
  calibration = std::make_shared<Calibration>();
  Calibration &c = *calibration;
  c.module = module.clone();
  std::vector<mlir::llm::MatMulOp> targets = quantizableMatMuls(module, entry);
  std::vector<mlir::llm::MatMulOp> probes =
      quantizableMatMuls(*c.module, entry);
  auto func = c.module->lookupSymbol<mlir::func::FuncOp>(entry);
  if (!func || func.isExternal() || probes.size() != targets.size())
    return inputError("the model has no function '" + entry + "' to calibrate");
  auto ret = llvm::cast<mlir::func::ReturnOp>(func.getBody().back().back());
  unsigned numOutputs = ret.getNumOperands();
  llvm::SmallVector<mlir::Value> returned(ret.getOperands());
  for (mlir::llm::MatMulOp probe : probes)
    returned.push_back(probe.getLhs());
  ret->setOperands(returned);
  llvm::SmallVector<mlir::Type> resultTypes(
      mlir::ValueRange(returned).getTypes());
  func.setType(
      mlir::FunctionType::get(&context, func.getArgumentTypes(), resultTypes));
  for (unsigned i = numOutputs; i < returned.size(); ++i)
    func.setResultAttr(
        i, mlir::llm::kNameAttrName,
        mlir::StringAttr::get(&context, kCalibrationResultPrefix +
                                            std::to_string(i - numOutputs)));

  // GPTQ: one Gram matrix per distinct input (the products of one
  // activation share it); the first product of each feeds it.
  bool gptq = q.weights == "gptq";
  std::vector<size_t> gramOf(targets.size());
  std::vector<bool> feedsGram(targets.size());
  std::vector<GramAccumulator> grams;
  if (gptq) {
    llvm::DenseMap<mlir::Value, size_t> slots;
    for (auto [t, probe] : llvm::enumerate(probes)) {
      auto [it, inserted] = slots.try_emplace(probe.getLhs(), grams.size());
      if (inserted)
        grams.emplace_back(
            llvm::cast<mlir::RankedTensorType>(probe.getLhs().getType())
                .getShape()
                .back(),
            *blas);
      gramOf[t] = it->second;
      feedsGram[t] = inserted;
    }
  }

  // Before lowering: bounds of token ids for synthetic inputs.
  std::vector<int64_t> bounds;
  for (mlir::BlockArgument argument : func.getArguments())
    bounds.push_back(indexBound(*c.module, argument));
  if (auto error =
          compileForHost(context, *c.module, entry,
                         {"calibration model", "calibration: fp32 reference",
                          "calibration: compiling the fp32 reference"},
                         c.sig, c.weights, c.reference))
    return error;

  c.source = q.calibrationFile.empty() ? "synthetic" : "calibration";
  if (!q.calibrationFile.empty()) {
    auto samples = calibrationSamples(q.calibrationFile, c.sig);
    if (!samples)
      return samples.takeError();
    c.inputs = std::move(*samples);
  } else {
    // Once per process: a Python session may compile several models.
    static std::once_flag warned;
    std::call_once(warned, [] {
      llvm::errs() << "warning: no --calib file: calibrating and measuring "
                      "accuracy on "
                   << kSyntheticSamples
                   << " synthetic inputs (random normal floats, token ids in "
                      "range of the embedding table)\n";
    });
    std::mt19937 random(0x11c);
    for (int s = 0; s < kSyntheticSamples; ++s) {
      std::vector<Tensor> sample;
      for (auto [i, spec] : llvm::enumerate(c.sig.inputs)) {
        Tensor tensor(spec.name, spec.dtype, spec.shape);
        fillSynthetic(tensor, random, i < bounds.size() ? bounds[i] : 0);
        sample.push_back(std::move(tensor));
      }
      c.inputs.push_back(std::move(sample));
    }
  }

  // Per-channel maxima over all samples; the percentile of |x| per sample,
  // averaged over the samples (memory stays one sample's activations).
  std::vector<std::vector<float>> absmax(targets.size());
  std::vector<double> percentiles(targets.size(), 0.0);
  std::vector<float> magnitudes, widened;
  for (auto [index, sample] : llvm::enumerate(c.inputs)) {
    StatusLine status("calibration: fp32 sample " + llvm::Twine(index + 1) +
                      "/" + llvm::Twine(c.inputs.size()));
    auto bound = bindInputs(c.sig, sample);
    if (!bound)
      return inputError((q.calibrationFile.empty() ? "synthetic calibration"
                                                   : q.calibrationFile) +
                        ": " + llvm::toString(bound.takeError()));
    auto outputs = c.reference->run(*bound);
    if (!outputs)
      return inputError("calibration run failed: " +
                        llvm::toString(outputs.takeError()));
    for (size_t t = 0; t < targets.size(); ++t) {
      const Tensor &x = (*outputs)[numOutputs + t];
      int64_t k = x.shape.back(), n = x.numElements();
      // The activation in f32 (converted once when it is f16): the maxima,
      // the percentile and GPTQ's Gram matrix read it.
      llvm::ArrayRef<float> values;
      if (x.dtype == DType::f32) {
        values = llvm::ArrayRef(static_cast<const float *>(x.data()), n);
      } else {
        widened.resize(n);
        for (int64_t i = 0; i < n; ++i)
          widened[i] = static_cast<float>(elementAsDouble(x, i));
        values = widened;
      }
      absmax[t].resize(k, 0.0f);
      magnitudes.clear();
      for (int64_t i = 0; i < n; ++i) {
        float magnitude = std::fabs(values[i]);
        absmax[t][i % k] = std::max(absmax[t][i % k], magnitude);
        if (q.calibration == "percentile")
          magnitudes.push_back(magnitude);
      }
      if (q.calibration == "percentile")
        percentiles[t] += percentileOf(magnitudes, q.percentile) /
                          static_cast<double>(c.inputs.size());
      if (feedsGram[t])
        grams[gramOf[t]].add(values);
    }
    outputs->resize(numOutputs);
    c.outputs.push_back(std::move(*outputs));
  }
  mlir::Builder b(&context);
  for (size_t t = 0; t < targets.size(); ++t) {
    targets[t]->setAttr(mlir::llm::kActAbsMaxAttrName,
                        b.getDenseF32ArrayAttr(absmax[t]));
    if (q.calibration == "percentile")
      targets[t]->setAttr(
          mlir::llm::kActPercentileAttrName,
          b.getF32FloatAttr(static_cast<float>(percentiles[t])));
  }

  std::vector<mlir::ElementsAttr> gramAttrs(grams.size());
  if (gptq) {
    // Fewer rows than channels leave the Gram matrix singular: GPTQ then
    // fits the calibration inputs, and may do worse than rtn on others.
    const GramAccumulator *widest = nullptr;
    for (const GramAccumulator &gram : grams)
      if (gram.rows() < gram.channels() &&
          (!widest || gram.channels() > widest->channels()))
        widest = &gram;
    if (widest)
      llvm::errs() << "warning: --quant-weights gptq: the calibration gives "
                   << widest->rows() << " rows (tokens) for products of "
                   << widest->channels()
                   << " input channels; GPTQ wants more rows than channels "
                      "(it may fit the calibration inputs and do worse than "
                      "rtn on others): give more --calib samples\n";
    StatusLine status("calibration: GPTQ's Gram matrices");
    for (size_t t = 0; t < targets.size(); ++t) {
      mlir::ElementsAttr &attr = gramAttrs[gramOf[t]];
      if (!attr) {
        int64_t k = grams[gramOf[t]].channels();
        std::vector<float> gram = grams[gramOf[t]].take();
        auto type = mlir::RankedTensorType::get({k, k}, b.getF32Type());
        attr = mlir::DenseResourceElementsAttr::get(
            type, "gram",
            mlir::HeapAsmResourceBlob::allocateAndCopyWithAlign(
                llvm::ArrayRef<char>(
                    reinterpret_cast<const char *>(gram.data()),
                    gram.size() * sizeof(float)),
                alignof(float), /*dataIsMutable=*/false));
      }
      targets[t]->setAttr(mlir::llm::kActGramAttrName, attr);
    }
  }

  mlir::PassManager quantizer(&context);
  mlir::llm::LLMQuantizeOptions passOptions;
  passOptions.mode = options.quant;
  passOptions.activations = q.activations;
  passOptions.calibration = q.calibration;
  passOptions.smoothQuant = q.smoothQuant;
  passOptions.groupSize = q.groupSize;
  passOptions.weights = q.weights;
  passOptions.gptqActOrder = q.gptqActOrder.value_or(true);
  quantizer.addPass(mlir::llm::createLLMQuantize(passOptions));
  quantizer.addPass(mlir::createCanonicalizerPass());
  quantizer.addPass(mlir::llm::createLLMOutlineWeights());
  addProgress(quantizer, "quantization");
  if (auto error = captureDiagnostics(
          context, [&] { return quantizer.run(module); },
          "quantization failed"))
    return error;
  // The pass dropped the Gram matrices; their bytes go too (the context
  // would keep the blobs).
  for (mlir::ElementsAttr attr : gramAttrs)
    if (auto resource =
            llvm::dyn_cast_or_null<mlir::DenseResourceElementsAttr>(attr))
      resource.getRawHandle().getResource()->setBlob(mlir::AsmResourceBlob());
  // A model whose weights are all of another kind would run unquantized
  // and report the float model's accuracy as the quantized one's.
  if (auto record = module->getAttrOfType<mlir::DictionaryAttr>(
          mlir::llm::kQuantizationAttrName)) {
    auto count = [&](StringRef key) {
      auto value = record.getAs<mlir::IntegerAttr>(key);
      return value ? value.getInt() : 0;
    };
    if (count("matmuls") + count("embeddings") + count("gathered_weights") == 0)
      llvm::errs() << "warning: --quant " << options.quant
                   << " quantized nothing: no matmul or embedding of the "
                      "model has a constant f32, f16 or bf16 weight\n";
  }
  quantName = options.quant;
  quantWeights = q.weights;
  gptqOrder = q.gptqOrder();
  return llvm::Error::success();
}

llvm::Error CompiledModel::measureAccuracy() {
  // ptx code runs only where a GPU is; without one the report keeps the
  // accuracy of the other targets (the same integer arithmetic).
  if (targetName == "ptx" && cudaUnavailableReason())
    return llvm::Error::success();
  std::vector<std::vector<Tensor>> outputs;
  for (auto [index, sample] : llvm::enumerate(calibration->inputs)) {
    StatusLine status("accuracy: " + targetName + " sample " +
                      llvm::Twine(index + 1) + "/" +
                      llvm::Twine(calibration->inputs.size()));
    auto result = run(sample);
    if (!result)
      return result.takeError();
    outputs.push_back(std::move(*result));
  }
  accuracy = compareOutputs(outputs, calibration->outputs);
  (*accuracy)["inputs"] = calibration->source;
  return llvm::Error::success();
}

llvm::Expected<llvm::json::Object>
CompiledModel::compareWithReference(std::vector<Tensor> inputs,
                                    const std::vector<Tensor> &outputs) {
  if (!calibration)
    return inputError("the model was not quantized in this process: there is "
                      "no fp32 reference to compare with");
  auto bound = bindInputs(calibration->sig, std::move(inputs));
  if (!bound)
    return inputError(llvm::toString(bound.takeError()));
  auto expected = calibration->reference->run(*bound);
  if (!expected)
    return inputError("the fp32 reference failed: " +
                      llvm::toString(expected.takeError()));
  expected->resize(outputs.size());
  std::vector<std::vector<Tensor>> actual{outputs};
  std::vector<std::vector<Tensor>> reference{std::move(*expected)};
  llvm::json::Object result = compareOutputs(actual, reference);
  result["inputs"] = "given";
  return result;
}
