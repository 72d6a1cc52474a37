//===- HLSTestbench.cpp - the C-simulation driver of an HLS kernel --------===//
//
// Generates `main` for C-simulation: it reads the inputs from .npy files
// (dtype and shape checked against the signature), maps the weights from the
// artifact's weights.bin at the manifest's offsets, calls the kernel and
// writes every output as NAME.npy. The testbench is host code (it may use the
// standard library); only the kernel must be synthesizable.
//
//===----------------------------------------------------------------------===//
#include "llmc/Target/HLS/HLSCpp.h"
#include "llmc/Runtime/HLSRuntime.h"

#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace {
std::string shapeList(const std::vector<int64_t> &shape) {
  std::string text = "{";
  for (auto [i, d] : llvm::enumerate(shape))
    text += (i ? ", " : "") + std::to_string(d) + "LL";
  return text + "}";
}

std::string quoted(llvm::StringRef text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\')
      out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

constexpr const char *kSupport = R"cpp(#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// f16 and bf16 ports hold IEEE binary16 and bfloat16 bits, as in the kernel.
typedef uint16_t llmc_half;
typedef uint16_t llmc_bfloat;

namespace {
[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "csim: error: %s\n", message.c_str());
  std::exit(2);
}

std::vector<char> readFile(const std::string &path) {
  FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    fail(path + ": cannot open");
  std::vector<char> bytes;
  char buffer[1 << 16];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0)
    bytes.insert(bytes.end(), buffer, buffer + n);
  std::fclose(file);
  return bytes;
}

/// Reads a C-order .npy file of the given dtype and shape into `data`.
void readNpy(const std::string &path, const char *descr,
             const std::vector<long long> &shape, void *data, size_t bytes) {
  std::vector<char> file = readFile(path);
  if (file.size() < 10 || std::memcmp(file.data(), "\x93NUMPY", 6) != 0)
    fail(path + ": not a .npy file");
  size_t headerLength, start;
  if (file[6] == 1) {
    headerLength = (unsigned char)file[8] | ((unsigned char)file[9] << 8);
    start = 10;
  } else {
    if (file.size() < 12)
      fail(path + ": truncated .npy header");
    headerLength = (unsigned char)file[8] | ((unsigned char)file[9] << 8) |
                   ((size_t)(unsigned char)file[10] << 16) |
                   ((size_t)(unsigned char)file[11] << 24);
    start = 12;
  }
  if (file.size() < start + headerLength)
    fail(path + ": truncated .npy header");
  std::string header(file.data() + start, headerLength);
  std::string expectedDescr = std::string("'descr': '") + descr + "'";
  if (header.find(expectedDescr) == std::string::npos)
    fail(path + ": dtype is not " + descr + " (header " + header + ")");
  if (header.find("'fortran_order': False") == std::string::npos)
    fail(path + ": Fortran-order arrays are not supported");
  size_t open = header.find("'shape': (");
  if (open == std::string::npos)
    fail(path + ": no shape in the .npy header");
  std::vector<long long> dims;
  const char *p = header.c_str() + open + 10;
  while (*p && *p != ')') {
    if (*p >= '0' && *p <= '9')
      dims.push_back(std::strtoll(p, const_cast<char **>(&p), 10));
    else
      ++p;
  }
  if (dims != shape) {
    std::string got, want;
    for (long long d : dims) got += std::to_string(d) + " ";
    for (long long d : shape) want += std::to_string(d) + " ";
    fail(path + ": shape [ " + got + "], expected [ " + want + "]");
  }
  if (file.size() != start + headerLength + bytes)
    fail(path + ": expected " + std::to_string(bytes) + " bytes of data");
  std::memcpy(data, file.data() + start + headerLength, bytes);
}

void writeNpy(const std::string &path, const char *descr,
              const std::vector<long long> &shape, const void *data,
              size_t bytes) {
  std::string shapeText = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    shapeText += std::to_string(shape[i]) + (shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "");
  shapeText += ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shapeText + ", }";
  while ((10 + header.size() + 1) % 64 != 0)
    header.push_back(' ');
  header.push_back('\n');
  FILE *file = std::fopen(path.c_str(), "wb");
  if (!file)
    fail(path + ": cannot write");
  unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                (unsigned char)(header.size() & 0xff),
                                (unsigned char)(header.size() >> 8)};
  bool ok = std::fwrite(preamble, 1, 10, file) == 10 &&
            std::fwrite(header.data(), 1, header.size(), file) == header.size() &&
            std::fwrite(data, 1, bytes, file) == bytes;
  if (std::fclose(file) != 0 || !ok)
    fail(path + ": write failed");
}

// numpy has no bfloat16: a bf16 port's .npy file holds float32 values
// (llm-run writes bf16 values, exactly; outputs are widened exactly).
void readBFloatNpy(const std::string &path, const std::vector<long long> &shape,
                   llmc_bfloat *data, size_t count) {
  std::vector<uint32_t> wide(count);
  readNpy(path, "<f4", shape, wide.data(), 4 * count);
  for (size_t i = 0; i < count; ++i)
    data[i] = (llmc_bfloat)(wide[i] >> 16);
}
void writeBFloatNpy(const std::string &path, const std::vector<long long> &shape,
                    const llmc_bfloat *data, size_t count) {
  std::vector<uint32_t> wide(count);
  for (size_t i = 0; i < count; ++i)
    wide[i] = (uint32_t)data[i] << 16;
  writeNpy(path, "<f4", shape, wide.data(), 4 * count);
}
} // namespace
)cpp";
} // namespace

LogicalResult llmc::emitHLSTestbench(ModuleOp module,
                                     const Signature &signature,
                                     llvm::raw_ostream &os) {
  FailureOr<func::FuncOp> top = hlsTopFunction(module);
  if (failed(top))
    return failure();
  FailureOr<std::string> prototype = hlsKernelPrototype(*top);
  if (failed(prototype))
    return failure();
  size_t expected = signature.inputs.size() + signature.weights.size() +
                    signature.outputs.size();
  if (top->getNumArguments() != expected)
    return top->emitError() << "the kernel has " << top->getNumArguments()
                            << " ports, the signature " << expected
                            << " tensors (inputs, weights, outputs)";
  std::vector<uint64_t> offsets = weightFileOffsets(signature);
  uint64_t weightBytes = 0;
  for (auto [spec, offset] : llvm::zip(signature.weights, offsets)) {
    uint64_t bytes = dtypeSize(spec.dtype) * computeProduct(spec.shape);
    weightBytes = offset + bytes;
  }

  os << "// C-simulation testbench generated by llmc for the HLS kernel '"
     << top->getName() << "'.\n"
     << "// Usage: csim WEIGHTS.bin OUTPUT_DIR";
  for (const TensorSpec &spec : signature.inputs)
    os << " " << spec.name << ".npy";
  os << "\n" << kSupport << "\n" << *prototype << ";\n\n";
  os << "int main(int argc, char **argv) {\n";
  os << "  if (argc != " << 3 + signature.inputs.size() << ")\n"
     << "    fail(\"usage: csim WEIGHTS.bin OUTPUT_DIR";
  for (const TensorSpec &spec : signature.inputs)
    os << " " << spec.name << ".npy";
  os << "\");\n";
  os << "  std::vector<char> weightFile = readFile(argv[1]);\n"
     << "  if (weightFile.size() < " << weightBytes << "ULL)\n"
     << "    fail(std::string(argv[1]) + \": expected at least " << weightBytes
     << " bytes of weights\");\n"
     << "  // Aligned copy: the weights are read in place as their types.\n"
     << "  std::vector<uint64_t> weightStorage((weightFile.size() + 7) / 8);\n"
     << "  std::memcpy(weightStorage.data(), weightFile.data(), "
        "weightFile.size());\n"
     << "  const char *weights = reinterpret_cast<const char *>("
        "weightStorage.data());\n";

  std::vector<std::string> arguments;
  auto elementType = [&](unsigned argument) -> FailureOr<std::string> {
    auto type = cast<MemRefType>(top->getArgument(argument).getType());
    Type element = type.getElementType();
    if (element.isF32()) return std::string("float");
    if (element.isF64()) return std::string("double");
    if (element.isF16()) return std::string("llmc_half"); // the bits
    if (element.isBF16()) return std::string("llmc_bfloat");
    if (element.isInteger(1)) return std::string("bool");
    if (auto integer = dyn_cast<IntegerType>(element))
      return std::string(integer.isUnsigned() ? "uint" : "int") +
             std::to_string(integer.getWidth()) + "_t";
    return top->emitError() << "port #" << argument << " has the element type "
                            << element << ", which the testbench cannot read";
  };
  unsigned port = 0;
  for (auto [i, spec] : llvm::enumerate(signature.inputs)) {
    FailureOr<std::string> type = elementType(port);
    StringRef descr = llmc::dtypeNpyDescr(spec.dtype);
    bool bfloat = spec.dtype == llmc::DType::bf16;
    if (failed(type) || (descr.empty() && !bfloat))
      return top->emitError() << "input '" << spec.name
                              << "' has a dtype the testbench cannot read";
    int64_t count = computeProduct(spec.shape);
    std::string name = "input" + std::to_string(i);
    os << "  static " << *type << " " << name << "[" << std::max<int64_t>(1, count)
       << "];\n";
    if (bfloat)
      os << "  readBFloatNpy(argv[" << 3 + i << "], " << shapeList(spec.shape)
         << ", " << name << ", " << count << ");\n";
    else
      os << "  readNpy(argv[" << 3 + i << "], \"" << descr << "\", "
         << shapeList(spec.shape) << ", " << name << ", sizeof(" << *type
         << ") * " << count << ");\n";
    arguments.push_back(name);
    ++port;
  }
  for (auto [spec, offset] : llvm::zip(signature.weights, offsets)) {
    FailureOr<std::string> type = elementType(port);
    if (failed(type))
      return failure();
    arguments.push_back("reinterpret_cast<const " + *type + " *>(weights + " +
                        std::to_string(offset) + ") /* " + spec.name + " */");
    ++port;
  }
  for (auto [i, spec] : llvm::enumerate(signature.outputs)) {
    FailureOr<std::string> type = elementType(port);
    if (failed(type))
      return failure();
    int64_t count = computeProduct(spec.shape);
    std::string name = "output" + std::to_string(i);
    os << "  static " << *type << " " << name << "[" << std::max<int64_t>(1, count)
       << "];\n";
    arguments.push_back(name);
    ++port;
  }
  os << "  " << llvm::StringRef(*prototype).split('(').first.drop_front(5)
     << "(";
  for (auto [i, argument] : llvm::enumerate(arguments))
    os << (i ? ",\n      " : "") << argument;
  os << ");\n";
  for (auto [i, spec] : llvm::enumerate(signature.outputs)) {
    StringRef descr = llmc::dtypeNpyDescr(spec.dtype);
    bool bfloat = spec.dtype == llmc::DType::bf16;
    if (descr.empty() && !bfloat)
      return top->emitError() << "output '" << spec.name
                              << "' has a dtype the testbench cannot write";
    std::string file;
    for (char c : spec.name)
      file.push_back(llvm::isAlnum(c) || c == '_' || c == '-' || c == '.' ? c
                                                                          : '_');
    std::string path = "std::string(argv[2]) + \"/\" + " + quoted(file + ".npy");
    if (bfloat) {
      os << "  writeBFloatNpy(" << path << ", " << shapeList(spec.shape)
         << ", output" << i << ", " << computeProduct(spec.shape) << ");\n";
    } else {
      os << "  writeNpy(" << path << ", \"" << descr << "\", "
         << shapeList(spec.shape) << ", output" << i << ", sizeof(output" << i
         << "));\n";
    }
  }
  os << "  return 0;\n}\n";
  return success();
}
