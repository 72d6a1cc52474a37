//===- HLSTestbench.cpp - the C-simulation driver of an HLS kernel --------===//
//
// Generates `main` for C-simulation: it reads the inputs from .npy files
// (dtype and shape checked against the signature), maps the weights from the
// artifact's weights.bin at the manifest's offsets, calls the kernel and
// writes every output as NAME.npy. The testbench is host code; only the
// kernel must be synthesizable.
//
//===----------------------------------------------------------------------===//
#include "llmc/Target/HLS/HLSCpp.h"
#include "llmc/Runtime/HLSRuntime.h"

#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace {
/// `static const long long NAME[] = {d0, ...};` (one element for a scalar:
/// C++ has no empty arrays; its rank, 0, is passed beside it).
std::string shapeArray(llvm::StringRef name,
                       const std::vector<int64_t> &shape) {
  std::string text = "  static const long long " + name.str() + "[] = {";
  for (auto [i, d] : llvm::enumerate(shape))
    text += (i ? ", " : "") + std::to_string(d) + "LL";
  return text + (shape.empty() ? "1LL};\n" : "};\n");
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

// The testbench calls the C library only: C-simulation compiles it for every
// model, and with <string> and <vector> it took g++ -O0 535 ms instead of
// 87 ms (the bundled GPT-2's).
constexpr const char *kSupport = R"cpp(#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// f16 and bf16 ports hold IEEE binary16 and bfloat16 bits, as in the kernel.
typedef uint16_t llmc_half;
typedef uint16_t llmc_bfloat;

namespace {
[[noreturn]] void fail(const char *format, ...) {
  std::va_list args;
  va_start(args, format);
  std::fputs("csim: error: ", stderr);
  std::vfprintf(stderr, format, args);
  std::fputc('\n', stderr);
  va_end(args);
  std::exit(2);
}

/// The bytes of `path` (malloc'ed, so aligned for every port type) and their
/// number in `size`.
char *readFile(const char *path, size_t *size) {
  FILE *file = std::fopen(path, "rb");
  if (!file)
    fail("%s: cannot open", path);
  size_t capacity = 1 << 16, used = 0, n;
  char *bytes = (char *)std::malloc(capacity);
  while (bytes && (n = std::fread(bytes + used, 1, capacity - used, file)) > 0)
    if ((used += n) == capacity)
      bytes = (char *)std::realloc(bytes, capacity *= 2);
  std::fclose(file);
  if (!bytes)
    fail("%s: out of memory", path);
  *size = used;
  return bytes;
}

/// `rank` dims as "[ d0 d1 ]" into `text`.
void formatShape(char *text, size_t capacity, const long long *dims, int rank) {
  int used = std::snprintf(text, capacity, "[ ");
  for (int i = 0; i < rank && used > 0 && (size_t)used < capacity; ++i)
    used += std::snprintf(text + used, capacity - used, "%lld ", dims[i]);
  if (used > 0 && (size_t)used < capacity)
    std::snprintf(text + used, capacity - used, "]");
}

/// Reads a C-order .npy file of the given dtype and shape into `data`.
[[maybe_unused]] void readNpy(const char *path, const char *descr,
                              const long long *shape, int rank, void *data,
                              size_t bytes) {
  size_t size;
  char *file = readFile(path, &size);
  if (size < 10 || std::memcmp(file, "\x93NUMPY", 6) != 0)
    fail("%s: not a .npy file", path);
  size_t headerLength, start;
  if (file[6] == 1) {
    headerLength = (unsigned char)file[8] | ((unsigned char)file[9] << 8);
    start = 10;
  } else {
    if (size < 12)
      fail("%s: truncated .npy header", path);
    headerLength = (unsigned char)file[8] | ((unsigned char)file[9] << 8) |
                   ((size_t)(unsigned char)file[10] << 16) |
                   ((size_t)(unsigned char)file[11] << 24);
    start = 12;
  }
  if (size < start + headerLength)
    fail("%s: truncated .npy header", path);
  char *header = (char *)std::malloc(headerLength + 1);
  if (!header)
    fail("%s: out of memory", path);
  std::memcpy(header, file + start, headerLength);
  header[headerLength] = 0;
  char expectedDescr[64];
  std::snprintf(expectedDescr, sizeof expectedDescr, "'descr': '%s'", descr);
  if (!std::strstr(header, expectedDescr))
    fail("%s: dtype is not %s (header %s)", path, descr, header);
  if (!std::strstr(header, "'fortran_order': False"))
    fail("%s: Fortran-order arrays are not supported", path);
  const char *p = std::strstr(header, "'shape': (");
  if (!p)
    fail("%s: no shape in the .npy header", path);
  long long dims[64];
  int found = 0;
  for (p += 10; *p && *p != ')';) {
    if (*p >= '0' && *p <= '9') {
      char *end;
      long long d = std::strtoll(p, &end, 10);
      if (found < 64)
        dims[found] = d;
      ++found;
      p = end;
    } else {
      ++p;
    }
  }
  bool same = found == rank && found <= 64;
  for (int i = 0; same && i < rank; ++i)
    same = dims[i] == shape[i];
  if (!same) {
    char got[1024], want[1024];
    formatShape(got, sizeof got, dims, found < 64 ? found : 64);
    formatShape(want, sizeof want, shape, rank);
    fail("%s: shape %s, expected %s", path, got, want);
  }
  if (size != start + headerLength + bytes)
    fail("%s: expected %zu bytes of data", path, bytes);
  std::memcpy(data, file + start + headerLength, bytes);
  std::free(header);
  std::free(file);
}

[[maybe_unused]] void writeNpy(const char *directory, const char *name,
                               const char *descr, const long long *shape,
                               int rank, const void *data, size_t bytes) {
  // 64 dims of up to 20 digits fit, and a header of version 1's 64 KiB.
  if (rank > 64)
    fail("%s: rank %d is more than 64", name, rank);
  char header[4096];
  int used = std::snprintf(header, sizeof header,
                           "{'descr': '%s', 'fortran_order': False, 'shape': (",
                           descr);
  for (int i = 0; i < rank; ++i)
    used += std::snprintf(header + used, sizeof header - used, "%lld%s",
                          shape[i], rank == 1 ? "," : i + 1 < rank ? ", " : "");
  used += std::snprintf(header + used, sizeof header - used, "), }");
  while ((10 + used + 1) % 64 != 0)
    header[used++] = ' ';
  header[used++] = '\n';
  size_t pathLength = std::strlen(directory) + std::strlen(name) + 2;
  char *path = (char *)std::malloc(pathLength);
  if (!path)
    fail("%s: out of memory", name);
  std::snprintf(path, pathLength, "%s/%s", directory, name);
  FILE *file = std::fopen(path, "wb");
  if (!file)
    fail("%s: cannot write", path);
  unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                (unsigned char)(used & 0xff),
                                (unsigned char)(used >> 8)};
  bool ok = std::fwrite(preamble, 1, 10, file) == 10 &&
            std::fwrite(header, 1, used, file) == (size_t)used &&
            std::fwrite(data, 1, bytes, file) == bytes;
  if (std::fclose(file) != 0 || !ok)
    fail("%s: write failed", path);
  std::free(path);
}

// numpy has no bfloat16: a bf16 port's .npy file holds float32 values
// (llm-run writes bf16 values, exactly; outputs are widened exactly).
[[maybe_unused]] void readBFloatNpy(const char *path, const long long *shape,
                                    int rank, llmc_bfloat *data,
                                    size_t count) {
  uint32_t *wide = (uint32_t *)std::malloc(4 * count + 4);
  if (!wide)
    fail("%s: out of memory", path);
  readNpy(path, "<f4", shape, rank, wide, 4 * count);
  for (size_t i = 0; i < count; ++i)
    data[i] = (llmc_bfloat)(wide[i] >> 16);
  std::free(wide);
}
[[maybe_unused]] void writeBFloatNpy(const char *directory, const char *name,
                                     const long long *shape, int rank,
                                     const llmc_bfloat *data, size_t count) {
  uint32_t *wide = (uint32_t *)std::malloc(4 * count + 4);
  if (!wide)
    fail("%s: out of memory", name);
  for (size_t i = 0; i < count; ++i)
    wide[i] = (uint32_t)data[i] << 16;
  writeNpy(directory, name, "<f4", shape, rank, wide, 4 * count);
  std::free(wide);
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
  std::string usage = "usage: csim WEIGHTS.bin OUTPUT_DIR";
  for (const TensorSpec &spec : signature.inputs)
    usage += " " + spec.name + ".npy";
  os << "  if (argc != " << 3 + signature.inputs.size() << ")\n"
     << "    fail(\"%s\", " << quoted(usage) << ");\n";
  // malloc'ed: the weights are read in place as their types.
  os << "  size_t weightSize;\n"
     << "  const char *weights = readFile(argv[1], &weightSize);\n"
     << "  if (weightSize < " << weightBytes << "ULL)\n"
     << "    fail(\"%s: expected at least " << weightBytes
     << " bytes of weights\", argv[1]);\n";

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
    std::string shape = name + "Shape";
    os << "  static " << *type << " " << name << "["
       << std::max<int64_t>(1, count) << "];\n"
       << shapeArray(shape, spec.shape);
    if (bfloat)
      os << "  readBFloatNpy(argv[" << 3 + i << "], " << shape << ", "
         << spec.shape.size() << ", " << name << ", " << count << ");\n";
    else
      os << "  readNpy(argv[" << 3 + i << "], \"" << descr << "\", " << shape
         << ", " << spec.shape.size() << ", " << name << ", sizeof(" << *type
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
    std::string shape = "output" + std::to_string(i) + "Shape";
    os << shapeArray(shape, spec.shape);
    std::string where = "argv[2], " + quoted(file + ".npy") + ", ";
    if (bfloat) {
      os << "  writeBFloatNpy(" << where << shape << ", " << spec.shape.size()
         << ", output" << i << ", " << computeProduct(spec.shape) << ");\n";
    } else {
      os << "  writeNpy(" << where << "\"" << descr << "\", " << shape << ", "
         << spec.shape.size() << ", output" << i << ", sizeof(output" << i
         << "));\n";
    }
  }
  os << "  return 0;\n}\n";
  return success();
}
