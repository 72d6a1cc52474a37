//===- TensorData.cpp - host tensors, .npy files, signatures as JSON ------===//
//
// Needs LLVM's Support library alone (no MLIR, no ONNX), so that tools that
// run on machines without them (llm-ptx-run) can build it.
//
//===----------------------------------------------------------------------===//
#include "llmc/Runtime/Tensor.h"
#include "llmc/Support/WriteFile.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

using namespace llmc;
using llvm::StringRef;

namespace {
llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

struct DTypeInfo {
  DType dtype;
  size_t size;
  const char *name;
  const char *npy;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::f32, 4, "f32", "<f4"}, {DType::f64, 8, "f64", "<f8"},
    {DType::f16, 2, "f16", "<f2"}, {DType::bf16, 2, "bf16", nullptr},
    {DType::i64, 8, "i64", "<i8"}, {DType::i32, 4, "i32", "<i4"},
    {DType::i16, 2, "i16", "<i2"}, {DType::u16, 2, "u16", "<u2"},
    {DType::i8, 1, "i8", "|i1"},   {DType::u8, 1, "u8", "|u1"},
    {DType::i1, 1, "bool", "|b1"},
};

const DTypeInfo &infoOf(DType dtype) {
  for (const DTypeInfo &info : kDTypes)
    if (info.dtype == dtype)
      return info;
  llvm_unreachable("every DType has an entry");
}

std::shared_ptr<void> allocateAligned(size_t bytes) {
  size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
  void *memory = std::aligned_alloc(64, rounded);
  if (!memory)
    llvm::report_bad_alloc_error("llmc: tensor allocation failed");
  std::memset(memory, 0, rounded);
  return std::shared_ptr<void>(memory, std::free);
}

/// numpy's dtype strings also come as "<i8" or "=i8"; "<" is what we write.
std::optional<DType> dtypeFromNpy(StringRef descr) {
  std::string normalized = descr.str();
  if (!normalized.empty() && normalized[0] == '=')
    normalized[0] = normalized.size() > 1 &&
                            (normalized[1] == 'b' || normalized[1] == 'i' ||
                             normalized[1] == 'u') &&
                            normalized.back() == '1'
                        ? '|'
                        : '<';
  for (const DTypeInfo &info : kDTypes)
    if (info.npy && normalized == info.npy)
      return info.dtype;
  return std::nullopt;
}

/// Extracts the text after `'key':` in a numpy header dictionary.
std::optional<StringRef> npyField(StringRef header, StringRef key) {
  size_t at = header.find(("'" + key + "'").str());
  if (at == StringRef::npos)
    return std::nullopt;
  StringRef rest = header.drop_front(at + key.size() + 2).ltrim();
  if (!rest.consume_front(":"))
    return std::nullopt;
  return rest.ltrim();
}
} // namespace

size_t llmc::dtypeSize(DType dtype) { return infoOf(dtype).size; }
StringRef llmc::dtypeName(DType dtype) { return infoOf(dtype).name; }

StringRef llmc::dtypeNpyDescr(DType dtype) {
  const char *descr = infoOf(dtype).npy;
  return descr ? StringRef(descr) : StringRef();
}

std::optional<DType> llmc::dtypeFromName(StringRef name) {
  for (const DTypeInfo &info : kDTypes)
    if (name == info.name)
      return info.dtype;
  return std::nullopt;
}

std::string llmc::shapeToString(llvm::ArrayRef<int64_t> shape) {
  // As mlir::llm::shapeString writes it: "[2,?,8]".
  std::string text = "[";
  for (auto [i, dim] : llvm::enumerate(shape)) {
    if (i)
      text += ",";
    text +=
        dim == std::numeric_limits<int64_t>::min() ? "?" : std::to_string(dim);
  }
  return text + "]";
}

//===----------------------------------------------------------------------===//
// Tensor
//===----------------------------------------------------------------------===//

Tensor::Tensor(std::string name, DType dtype, std::vector<int64_t> shape)
    : name(std::move(name)), dtype(dtype), shape(std::move(shape)) {
  std::shared_ptr<void> storage = allocateAligned(byteSize());
  bytes = storage.get();
  keepAlive = std::move(storage);
}

Tensor Tensor::view(std::string name, DType dtype, std::vector<int64_t> shape,
                    const void *bytes, std::shared_ptr<const void> owner) {
  Tensor tensor;
  tensor.name = std::move(name);
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  tensor.bytes = bytes;
  tensor.keepAlive = std::move(owner);
  return tensor;
}

int64_t Tensor::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

void *Tensor::mutableData() { return const_cast<void *>(bytes); }

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//

llvm::Expected<Tensor> llmc::readNpy(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return makeError(path + ": cannot read: " + buffer.getError().message());
  return parseNpy((*buffer)->getBuffer(), path, llvm::sys::path::stem(path));
}

llvm::Expected<Tensor> llmc::parseNpy(StringRef data, StringRef path,
                                      StringRef name) {
  auto bad = [&](const llvm::Twine &why) {
    return makeError(path + ": not a valid .npy file: " + why);
  };
  if (data.size() < 10 || !data.starts_with("\x93NUMPY"))
    return bad("missing the \\x93NUMPY magic");
  unsigned major = static_cast<unsigned char>(data[6]);
  size_t headerLength, headerStart;
  if (major == 1) {
    headerLength = static_cast<unsigned char>(data[8]) |
                   (static_cast<unsigned char>(data[9]) << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (data.size() < 12)
      return bad("truncated header");
    headerLength = 0;
    for (int i = 3; i >= 0; --i)
      headerLength =
          (headerLength << 8) | static_cast<unsigned char>(data[8 + i]);
    headerStart = 12;
  } else {
    return bad("unknown version " + llvm::Twine(major));
  }
  if (data.size() < headerStart + headerLength)
    return bad("truncated header");
  StringRef header = data.substr(headerStart, headerLength);
  auto descr = npyField(header, "descr");
  auto fortran = npyField(header, "fortran_order");
  auto shapeText = npyField(header, "shape");
  if (!descr || !fortran || !shapeText)
    return bad("header lacks descr, fortran_order or shape");
  StringRef descrValue = descr->drop_front().take_until(
      [](char c) { return c == '\'' || c == '"'; });
  std::optional<DType> dtype = dtypeFromNpy(descrValue);
  if (!dtype)
    return makeError(path + ": unsupported .npy dtype '" + descrValue + "'");
  bool fortranOrder = fortran->starts_with("True");
  std::vector<int64_t> shape;
  StringRef dims =
      shapeText->drop_front().take_until([](char c) { return c == ')'; });
  llvm::SmallVector<StringRef> parts;
  dims.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (StringRef part : parts) {
    part = part.trim();
    if (part.empty())
      continue;
    int64_t dim;
    if (part.getAsInteger(10, dim) || dim < 0)
      return bad("bad shape '" + dims + "'");
    shape.push_back(dim);
  }
  Tensor tensor(name.str(), *dtype, shape);
  size_t payload = data.size() - headerStart - headerLength;
  if (payload < tensor.byteSize())
    return bad("data is truncated: " + llvm::Twine(payload) + " bytes for " +
               llvm::Twine(tensor.byteSize()));
  const char *source = data.data() + headerStart + headerLength;
  if (!fortranOrder || shape.size() < 2) {
    std::memcpy(tensor.mutableData(), source, tensor.byteSize());
    return tensor;
  }
  // Fortran order (numpy saves a transposed view so): the first index
  // varies fastest in the file. Walk the row-major index and gather.
  size_t elementSize =
      tensor.byteSize() / std::max<int64_t>(1, tensor.numElements());
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t d = 1; d < shape.size(); ++d)
    strides[d] = strides[d - 1] * shape[d - 1];
  std::vector<int64_t> index(shape.size(), 0);
  char *target = static_cast<char *>(tensor.mutableData());
  for (int64_t linear = 0, count = tensor.numElements(); linear < count;
       ++linear) {
    int64_t offset = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      offset += index[d] * strides[d];
    std::memcpy(target + linear * elementSize, source + offset * elementSize,
                elementSize);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++index[d] < shape[d])
        break;
      index[d] = 0;
    }
  }
  return tensor;
}

llvm::Error llmc::writeNpy(const Tensor &tensor, StringRef path) {
  // numpy has no bf16: write its exact f32 widening.
  if (tensor.dtype == DType::bf16)
    return writeNpy(widenBF16(tensor), path);
  const char *descr = infoOf(tensor.dtype).npy;
  if (!descr)
    return makeError("cannot write " + dtypeName(tensor.dtype) + " tensor '" +
                     tensor.name + "' as .npy");
  std::string shape = "(";
  for (int64_t dim : tensor.shape)
    shape += std::to_string(dim) + ", ";
  if (tensor.shape.size() > 1)
    shape.resize(shape.size() - 2);
  else if (tensor.shape.size() == 1)
    shape.resize(shape.size() - 1);
  shape += ")";
  std::string header = "{'descr': '" + std::string(descr) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  return writeFile(path, [&](llvm::raw_ostream &os) {
    os << "\x93NUMPY" << '\x01' << '\x00';
    os << static_cast<char>(header.size() & 0xff)
       << static_cast<char>((header.size() >> 8) & 0xff);
    os << header;
    os.write(static_cast<const char *>(tensor.data()), tensor.byteSize());
    return llvm::Error::success();
  });
}

llvm::json::Value TensorSpec::toJSON() const {
  llvm::json::Array dims;
  for (int64_t dim : shape)
    dims.push_back(dim);
  llvm::json::Object object{
      {"name", name}, {"dtype", dtypeName(dtype)}, {"shape", std::move(dims)}};
  if (indexBound) {
    object["index_bound"] = indexBound;
    object["index_bound_by"] = boundBy;
    if (indexIgnore)
      object["index_ignore"] = *indexIgnore;
  }
  return object;
}

llvm::Expected<TensorSpec>
TensorSpec::fromJSON(const llvm::json::Value &value) {
  const llvm::json::Object *object = value.getAsObject();
  if (!object)
    return makeError("a tensor spec is not a JSON object");
  TensorSpec spec;
  auto name = object->getString("name");
  auto dtype = object->getString("dtype");
  const llvm::json::Array *dims = object->getArray("shape");
  if (!name || !dtype || !dims)
    return makeError("a tensor spec lacks name, dtype or shape");
  spec.name = name->str();
  if (auto bound = object->getInteger("index_bound"))
    spec.indexBound = *bound;
  if (auto by = object->getString("index_bound_by"))
    spec.boundBy = by->str();
  if (auto ignore = object->getInteger("index_ignore"))
    spec.indexIgnore = *ignore;
  auto parsed = dtypeFromName(*dtype);
  if (!parsed)
    return makeError("tensor '" + spec.name + "' has unknown dtype '" + *dtype +
                     "'");
  spec.dtype = *parsed;
  for (const llvm::json::Value &dim : *dims) {
    auto size = dim.getAsInteger();
    if (!size || *size < 0)
      return makeError("tensor '" + spec.name + "' has a bad dim");
    spec.shape.push_back(*size);
  }
  return spec;
}

llvm::json::Value Signature::toJSON() const {
  auto list = [](const std::vector<TensorSpec> &specs) {
    llvm::json::Array array;
    for (const TensorSpec &spec : specs)
      array.push_back(spec.toJSON());
    return array;
  };
  return llvm::json::Object{{"entry", entry},
                            {"inputs", list(inputs)},
                            {"weights", list(weights)},
                            {"outputs", list(outputs)}};
}

llvm::Expected<Signature> Signature::fromJSON(const llvm::json::Value &value) {
  const llvm::json::Object *object = value.getAsObject();
  if (!object)
    return makeError("the signature is not a JSON object");
  Signature signature;
  if (auto entry = object->getString("entry"))
    signature.entry = entry->str();
  for (auto [key, list] : {std::pair<StringRef, std::vector<TensorSpec> *>{
                               "inputs", &signature.inputs},
                           {"weights", &signature.weights},
                           {"outputs", &signature.outputs}}) {
    const llvm::json::Array *array = object->getArray(key);
    if (!array)
      return makeError("the signature lacks '" + key + "'");
    for (const llvm::json::Value &item : *array) {
      auto spec = TensorSpec::fromJSON(item);
      if (!spec)
        return spec.takeError();
      list->push_back(std::move(*spec));
    }
  }
  return signature;
}

/// The index of element `flat` of a row-major tensor of `shape`.
static std::vector<int64_t> placeOf(const std::vector<int64_t> &shape,
                                    int64_t flat) {
  std::vector<int64_t> index(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  return index;
}

llvm::Expected<std::vector<Tensor>>
llmc::bindInputs(const Signature &signature, std::vector<Tensor> inputs) {
  llvm::StringMap<size_t> byName;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!byName.try_emplace(inputs[i].name, i).second)
      return makeError("input '" + inputs[i].name + "' is given twice");
  }
  std::vector<Tensor> bound;
  for (const TensorSpec &spec : signature.inputs) {
    auto it = byName.find(spec.name);
    if (it == byName.end())
      return makeError("missing input '" + spec.name + "' (" +
                       dtypeName(spec.dtype) + " " + shapeToString(spec.shape) +
                       "); give it with --input " + spec.name + "=FILE");
    Tensor &tensor = inputs[it->second];
    // "FILE: " where the tensor came from a file.
    std::string from = tensor.source.empty() ? "" : tensor.source + ": ";
    // llm integers are signless: a uint8 tensor binds to an i8 input (its
    // bytes; the quantization ops read them as unsigned where the model
    // says so).
    if (tensor.dtype == DType::u8 && spec.dtype == DType::i8)
      tensor.dtype = DType::i8;
    if (tensor.dtype == DType::u16 && spec.dtype == DType::i16)
      tensor.dtype = DType::i16;
    // numpy has no bf16: an f32 array binds to a bf16 input, rounded to
    // nearest even.
    if (tensor.dtype == DType::f32 && spec.dtype == DType::bf16)
      tensor = roundToBF16(tensor);
    if (tensor.dtype != spec.dtype)
      return makeError(from + "input '" + spec.name + "' has dtype " +
                       dtypeName(tensor.dtype) + ", the model expects " +
                       dtypeName(spec.dtype));
    if (tensor.shape != spec.shape)
      return makeError(from + "input '" + spec.name + "' has shape " +
                       shapeToString(tensor.shape) + ", the model expects " +
                       shapeToString(spec.shape));
    // Only integer inputs carry a bound (the importer puts it on gather
    // indices).
    if (spec.indexBound > 0)
      for (int64_t i = 0, e = tensor.numElements(); i < e; ++i) {
        double value = elementAsDouble(tensor, i);
        if ((value >= -spec.indexBound && value < spec.indexBound) ||
            (spec.indexIgnore && value == *spec.indexIgnore))
          continue;
        std::string ignored =
            spec.indexIgnore
                ? " and is not the ignored " + std::to_string(*spec.indexIgnore)
                : "";
        return makeError(from + "input '" + spec.name + "' holds " +
                         llvm::Twine(static_cast<int64_t>(value)) + " at " +
                         shapeToString(placeOf(tensor.shape, i)) +
                         ", outside [" + llvm::Twine(-spec.indexBound) + ", " +
                         llvm::Twine(spec.indexBound) + ")" + ignored +
                         ": it indexes the " + llvm::Twine(spec.indexBound) +
                         " rows read by node '" + spec.boundBy + "'");
      }
    bound.push_back(std::move(tensor));
    byName.erase(it);
  }
  if (!byName.empty()) {
    std::string expected;
    for (const TensorSpec &spec : signature.inputs)
      expected += (expected.empty() ? "'" : ", '") + spec.name + "'";
    return makeError("the model has no input '" + byName.begin()->getKey() +
                     "' (its inputs: " + expected + ")");
  }
  return bound;
}

/// Element `i` of `data` read as a T.
template <typename T> static T readAt(const char *data, int64_t i) {
  T value;
  std::memcpy(&value, data + sizeof(T) * i, sizeof(T));
  return value;
}

double llmc::elementAsDouble(const Tensor &tensor, int64_t i) {
  const char *data = static_cast<const char *>(tensor.data());
  switch (tensor.dtype) {
  case DType::f32:
    return readAt<float>(data, i);
  case DType::f64:
    return readAt<double>(data, i);
  case DType::f16:
  case DType::bf16:
    return llvm::APFloat(tensor.dtype == DType::f16 ? llvm::APFloat::IEEEhalf()
                                                    : llvm::APFloat::BFloat(),
                         llvm::APInt(16, readAt<uint16_t>(data, i)))
        .convertToDouble();
  case DType::i64:
    return static_cast<double>(readAt<int64_t>(data, i));
  case DType::i32:
    return readAt<int32_t>(data, i);
  case DType::i16:
    return readAt<int16_t>(data, i);
  case DType::u16:
    return readAt<uint16_t>(data, i);
  case DType::i8:
    return readAt<int8_t>(data, i);
  case DType::u8:
  case DType::i1:
    return readAt<uint8_t>(data, i);
  }
  return 0;
}

uint16_t llmc::roundToBF16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if (std::isnan(value))
    return 0x7fc0;
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

Tensor llmc::roundToBF16(const Tensor &tensor) {
  std::vector<uint8_t> bits =
      f32BytesToBF16(tensor.data(), tensor.numElements());
  Tensor narrow(tensor.name, DType::bf16, tensor.shape);
  std::memcpy(narrow.mutableData(), bits.data(), bits.size());
  return narrow;
}

Tensor llmc::widenBF16(const Tensor &tensor) {
  Tensor wide(tensor.name, DType::f32, tensor.shape);
  const auto *in = static_cast<const uint8_t *>(tensor.data());
  auto *out = static_cast<uint8_t *>(wide.mutableData());
  for (int64_t i = 0, e = tensor.numElements(); i < e; ++i) {
    uint16_t half;
    std::memcpy(&half, in + 2 * i, 2);
    uint32_t bits = static_cast<uint32_t>(half) << 16;
    std::memcpy(out + 4 * i, &bits, 4);
  }
  return wide;
}

std::vector<uint8_t> llmc::f32BytesToBF16(const void *bytes, size_t count) {
  std::vector<uint8_t> out(count * 2);
  const auto *in = static_cast<const uint8_t *>(bytes);
  for (size_t i = 0; i < count; ++i) {
    float value;
    std::memcpy(&value, in + i * 4, 4);
    uint16_t half = roundToBF16(value);
    std::memcpy(&out[i * 2], &half, 2);
  }
  return out;
}

std::optional<std::string> llmc::compareTensors(const Tensor &actual,
                                                const Tensor &expected,
                                                double rtol, double atol) {
  if (actual.shape != expected.shape)
    return "output '" + actual.name + "' has shape " +
           shapeToString(actual.shape) + ", expected " +
           shapeToString(expected.shape);
  // Signless i8 (i16) outputs hold the bits of uint8 (uint16) values, and
  // vice versa: compare them as the expected type.
  auto relabels = [](DType a, DType b) {
    return (a == DType::i8 && b == DType::u8) ||
           (a == DType::i16 && b == DType::u16);
  };
  if (relabels(actual.dtype, expected.dtype) ||
      relabels(expected.dtype, actual.dtype)) {
    Tensor relabeled = actual;
    relabeled.dtype = expected.dtype;
    return compareTensors(relabeled, expected, rtol, atol);
  }
  int64_t count = actual.numElements(), bad = 0, worst = -1;
  double worstExcess = -1;
  for (int64_t i = 0; i < count; ++i) {
    double a = elementAsDouble(actual, i), e = elementAsDouble(expected, i);
    // NaN matches NaN, and an infinity the same infinity (as numpy's
    // isclose has them).
    if ((std::isnan(a) && std::isnan(e)) || (std::isinf(e) && a == e))
      continue;
    double diff = std::fabs(a - e), tolerance = atol + rtol * std::fabs(e);
    if (std::isnan(diff) || diff > tolerance || std::isinf(diff)) {
      ++bad;
      double excess =
          std::isnan(diff) || std::isinf(diff) ? INFINITY : diff - tolerance;
      if (excess > worstExcess) {
        worstExcess = excess;
        worst = i;
      }
    }
  }
  if (!bad)
    return std::nullopt;
  double a = elementAsDouble(actual, worst),
         e = elementAsDouble(expected, worst);
  return llvm::formatv(
             "output '{0}': {1} of {2} elements differ; worst at {3}: "
             "got {4:g}, expected {5:g} (|diff| {6:e} > atol {7:e} + "
             "rtol {8:e} * |expected|)",
             actual.name, bad, count,
             shapeToString(placeOf(actual.shape, worst)), a, e,
             std::fabs(a - e), atol, rtol)
      .str();
}
