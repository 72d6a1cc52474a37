//===- HLSRuntime.cpp - HLS C-simulation with the host C++ compiler -------===//
#include "llmc/Runtime/HLSRuntime.h"
#include "llmc/Runtime/HostRuntime.h"
#include "llmc/Support/WriteFile.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace llmc;
using llvm::StringRef;

namespace {
llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// The first line of a tool's diagnostics that says what went wrong.
std::string firstProblem(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return "no diagnostics";
  StringRef text = (*buffer)->getBuffer();
  llvm::SmallVector<StringRef> lines;
  text.split(lines, '\n', -1, false);
  for (StringRef line : lines)
    if (line.contains("error"))
      return line.trim().str();
  return lines.empty() ? "no diagnostics" : lines.front().trim().str();
}

std::string fileNameFor(StringRef name) {
  std::string safe = name.str();
  for (char &c : safe)
    if (!llvm::isAlnum(c) && c != '_' && c != '-' && c != '.')
      c = '_';
  return safe + ".npy";
}
} // namespace

std::vector<uint64_t> llmc::weightFileOffsets(const Signature &signature,
                                              uint64_t alignment) {
  std::vector<uint64_t> offsets;
  uint64_t offset = 0;
  for (const TensorSpec &spec : signature.weights) {
    offset += (alignment - offset % alignment) % alignment;
    offsets.push_back(offset);
    uint64_t bytes = dtypeSize(spec.dtype);
    for (int64_t d : spec.shape)
      bytes *= d;
    offset += bytes;
  }
  return offsets;
}

std::unique_ptr<HLSExecutable>
HLSExecutable::create(std::string kernelSource, std::string testbenchSource,
                      Signature signature, std::vector<Tensor> weights) {
  std::unique_ptr<HLSExecutable> executable(new HLSExecutable());
  executable->kernelSource = std::move(kernelSource);
  executable->testbenchSource = std::move(testbenchSource);
  executable->sig = std::move(signature);
  executable->weights = std::move(weights);
  return executable;
}

HLSExecutable::~HLSExecutable() {
  if (!workDir.empty())
    llvm::sys::fs::remove_directories(workDir);
}

llvm::Error HLSExecutable::writeSources(StringRef directory) const {
  llvm::SmallString<256> path(directory);
  llvm::sys::path::append(path, "kernel.cpp");
  if (auto error = writeFile(path, kernelSource))
    return error;
  path = directory;
  llvm::sys::path::append(path, "testbench.cpp");
  return writeFile(path, testbenchSource);
}

llvm::Error HLSExecutable::build() {
  if (!binary.empty())
    return llvm::Error::success();
  llvm::Expected<unsigned> optLevel = cpuOptLevel();
  if (!optLevel)
    return optLevel.takeError();
  std::string compiler;
  if (const char *given = std::getenv("LLMC_HLS_CXX"); given && *given) {
    auto found = llvm::sys::findProgramByName(given);
    if (!found || !llvm::sys::fs::can_execute(*found))
      return makeError("HLS C-simulation needs a C++ compiler: '" +
                       StringRef(given) + "' (LLMC_HLS_CXX) was not found");
    compiler = *found;
  } else {
    auto found = llvm::sys::findProgramByName("g++");
    if (!found)
      return makeError("HLS C-simulation needs a C++ compiler: g++ was not "
                       "found on PATH (or set LLMC_HLS_CXX)");
    compiler = *found;
  }
  if (std::error_code error =
          llvm::sys::fs::createUniqueDirectory("llmc-hls-csim", workDir))
    return makeError("cannot create a folder for HLS C-simulation: " +
                     error.message());
  if (auto error = writeSources(workDir))
    return error;
  llvm::SmallString<256> weightsPath(workDir), log(workDir), output(workDir);
  llvm::sys::path::append(weightsPath, "weights.bin");
  llvm::sys::path::append(log, "build.log");
  llvm::sys::path::append(output, "csim");
  if (auto error = writeFile(weightsPath, [&](llvm::raw_ostream &os) {
        uint64_t written = 0;
        for (auto [weight, offset] :
             llvm::zip(weights, weightFileOffsets(sig))) {
          os.write_zeros(offset - written);
          os.write(static_cast<const char *>(weight.data()), weight.byteSize());
          written = offset + weight.byteSize();
        }
        return llvm::Error::success();
      }))
    return error;
  llvm::SmallString<256> kernel(workDir), testbench(workDir);
  llvm::sys::path::append(kernel, "kernel.cpp");
  llvm::sys::path::append(testbench, "testbench.cpp");
  std::string optFlag = "-O" + std::to_string(*optLevel);
  std::vector<StringRef> args = {
      compiler, "-std=c++14", optFlag, "-ffp-contract=off", "-o", output,
      kernel,   testbench,    "-lm"};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(log),
                                          StringRef(log)};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(compiler, args, std::nullopt,
                                         redirects, 0, 0, &message);
  if (status != 0)
    return makeError("HLS C-simulation build failed (" + compiler +
                     "): " + (status < 0 ? message : firstProblem(log)));
  binary = output.str().str();
  return llvm::Error::success();
}

llvm::Expected<std::vector<Tensor>>
HLSExecutable::run(llvm::ArrayRef<Tensor> inputs) {
  if (auto error = build())
    return std::move(error);
  llvm::SmallString<256> runDir(workDir);
  llvm::sys::path::append(runDir, "run" + std::to_string(runs++));
  if (std::error_code error = llvm::sys::fs::create_directories(runDir))
    return makeError(runDir + ": cannot create: " + error.message());
  llvm::SmallString<256> weightsPath(workDir), log(runDir);
  llvm::sys::path::append(weightsPath, "weights.bin");
  llvm::sys::path::append(log, "csim.log");
  std::vector<std::string> owned = {binary, weightsPath.str().str(),
                                    runDir.str().str()};
  for (auto [i, input] : llvm::enumerate(inputs)) {
    llvm::SmallString<256> path(runDir);
    llvm::sys::path::append(path, "input" + std::to_string(i) + ".npy");
    if (auto error = writeNpy(input, path))
      return std::move(error);
    owned.push_back(path.str().str());
  }
  std::vector<StringRef> args(owned.begin(), owned.end());
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(log),
                                          StringRef(log)};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(binary, args, std::nullopt, redirects,
                                         0, 0, &message);
  if (status != 0)
    return makeError("HLS C-simulation failed: " +
                     (status < 0 ? message : firstProblem(log)));
  std::vector<Tensor> outputs;
  for (const TensorSpec &spec : sig.outputs) {
    llvm::SmallString<256> path(runDir);
    llvm::sys::path::append(path, fileNameFor(spec.name));
    auto tensor = readNpy(path);
    if (!tensor)
      return tensor.takeError();
    // A bf16 output comes as its f32 widening (numpy has no bf16).
    if (spec.dtype == DType::bf16 && tensor->dtype == DType::f32)
      *tensor = roundToBF16(*tensor);
    if (tensor->dtype != spec.dtype || tensor->shape != spec.shape)
      return makeError("HLS C-simulation wrote '" + spec.name +
                       "' with the wrong dtype or shape");
    tensor->name = spec.name;
    outputs.push_back(std::move(*tensor));
  }
  llvm::sys::fs::remove_directories(runDir);
  return outputs;
}
