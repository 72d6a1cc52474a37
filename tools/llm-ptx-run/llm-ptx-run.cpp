//===- llm-ptx-run.cpp - run a ptx artifact without the compiler ----------===//
//
// Runs what `llm-compile --target ptx -o DIR` wrote (manifest.json with its
// launch plan, model.ptx, weights.bin, constants.bin) on the GPU, through
// the same CUDA driver runner as `llm-run --target ptx`, on a machine that
// has a CUDA driver and nothing else: the tool links LLVM's Support library
// statically and neither MLIR nor ONNX, so compiling happens where llmc is
// built and running where the GPU is.
//
//   llm-ptx-run DIR [--input NAME=FILE.npy]... [--random-inputs]
//       [--random-weights] [--expect NAME=FILE.npy]... [--rtol R] [--atol A]
//       [--repeats N] [--output-dir OUT] [--json FILE] [--dry-run]
//
// Exit codes as llm-run's: 0 done, 1 an --expect mismatch, 2 bad input (an
// unreadable artifact, a missing input, no GPU).
//
//===----------------------------------------------------------------------===//
#include "llmc/Runtime/CUDARuntime.h"
#include "llmc/Runtime/Tensor.h"
#include "llmc/Support/WriteFile.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <random>

using namespace llmc;
using llvm::StringRef;

namespace {
llvm::cl::opt<std::string> artifactDir(llvm::cl::Positional,
                                       llvm::cl::desc("<artifact folder>"),
                                       llvm::cl::Required);
llvm::cl::list<std::string>
    inputFiles("input", llvm::cl::desc("NAME=FILE.npy: an input's value"),
               llvm::cl::value_desc("NAME=FILE"));
llvm::cl::list<std::string>
    expectFiles("expect",
                llvm::cl::desc("NAME=FILE.npy: compare an output with it"),
                llvm::cl::value_desc("NAME=FILE"));
llvm::cl::opt<bool> randomInputs(
    "random-inputs",
    llvm::cl::desc("make up the inputs not given (integers 0..99, normal "
                   "floats)"));
llvm::cl::opt<bool> randomWeights(
    "random-weights",
    llvm::cl::desc("fill the weights randomly instead of reading weights.bin "
                   "(for timing an artifact copied without it)"));
llvm::cl::opt<double> relTol("rtol",
                             llvm::cl::desc("--expect's relative "
                                            "tolerance"),
                             llvm::cl::init(1e-5));
llvm::cl::opt<double> absTol("atol",
                             llvm::cl::desc("--expect's absolute "
                                            "tolerance"),
                             llvm::cl::init(1e-6));
llvm::cl::opt<unsigned> repeats("repeats",
                                llvm::cl::desc("timed forwards (after a "
                                               "warm-up)"),
                                llvm::cl::init(1));
llvm::cl::opt<std::string>
    outputDir("output-dir", llvm::cl::desc("write each output as NAME.npy"),
              llvm::cl::value_desc("DIR"));
llvm::cl::opt<std::string> jsonFile(
    "json",
    llvm::cl::desc("write the device times (seconds) as JSON: device_s (the "
                   "best forward), median_s, times_s"),
    llvm::cl::value_desc("FILE"));
llvm::cl::opt<bool> dryRun(
    "dry-run",
    llvm::cl::desc("check the artifact (every launch's kernel in the PTX "
                   "with as many parameters as it passes) and stop"));

/// Bad input: one line naming the artifact, exit 2.
[[noreturn]] void fail(const llvm::Twine &message) {
  llvm::errs() << "llm-ptx-run: error: " << message << "\n";
  std::exit(2);
}

std::string pathIn(StringRef file) {
  llvm::SmallString<256> path(artifactDir);
  llvm::sys::path::append(path, file);
  return path.str().str();
}

std::unique_ptr<llvm::MemoryBuffer> readFile(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    fail(path + ": cannot read: " + buffer.getError().message());
  return std::move(*buffer);
}

/// Kernel name -> parameter count, read off the PTX's `.entry` lines.
llvm::StringMap<unsigned> ptxEntries(StringRef ptx) {
  llvm::StringMap<unsigned> entries;
  for (size_t at = ptx.find(".entry"); at != StringRef::npos;
       at = ptx.find(".entry", at + 6)) {
    StringRef rest = ptx.drop_front(at + 6).ltrim();
    StringRef name = rest.take_until(
        [](char c) { return !(llvm::isAlnum(c) || c == '_' || c == '$'); });
    size_t open = rest.find('('), close = rest.find(')');
    if (name.empty() || open == StringRef::npos || close < open)
      continue;
    StringRef params = rest.slice(open + 1, close).trim();
    entries[name] = params.empty() ? 0 : params.count(',') + 1;
  }
  return entries;
}

std::pair<StringRef, StringRef> binding(StringRef text, StringRef option) {
  auto [name, file] = text.split('=');
  if (name.empty() || file.empty())
    fail("--" + option + " '" + text + "': expected NAME=FILE.npy");
  return {name, file};
}

/// Made-up values for an input: integers 0..99, bools true, floats normal
/// with `stddev` (rounded to bf16 or f16).
Tensor randomTensor(const TensorSpec &spec, std::mt19937 &rng,
                    float stddev = 1.0f) {
  Tensor tensor(spec.name, spec.dtype, spec.shape);
  std::normal_distribution<float> normal(0.0f, stddev);
  std::uniform_int_distribution<int> integer(0, 99);
  char *data = static_cast<char *>(tensor.mutableData());
  for (int64_t i = 0, e = tensor.numElements(); i < e; ++i) {
    switch (spec.dtype) {
    case DType::f32: {
      float v = normal(rng);
      std::memcpy(data + 4 * i, &v, 4);
      break;
    }
    case DType::f64: {
      double v = normal(rng);
      std::memcpy(data + 8 * i, &v, 8);
      break;
    }
    case DType::bf16: {
      uint16_t v = roundToBF16(normal(rng));
      std::memcpy(data + 2 * i, &v, 2);
      break;
    }
    case DType::f16: {
      bool lost = false;
      llvm::APFloat half(normal(rng));
      half.convert(llvm::APFloat::IEEEhalf(),
                   llvm::APFloat::rmNearestTiesToEven, &lost);
      uint16_t v = half.bitcastToAPInt().getZExtValue();
      std::memcpy(data + 2 * i, &v, 2);
      break;
    }
    case DType::i1:
      data[i] = 1;
      break;
    default: {
      int64_t v = integer(rng);
      std::memcpy(data + dtypeSize(spec.dtype) * i, &v,
                  dtypeSize(spec.dtype)); // little-endian low bytes
      break;
    }
    }
  }
  return tensor;
}
} // namespace

int main(int argc, char **argv) {
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "llm-ptx-run: runs an llm-compile --target ptx artifact on the GPU "
      "(no compiler needed)\n");

  // The manifest: format, target, signature, launch plan, weight table.
  std::string manifestPath = pathIn("manifest.json");
  if (!llvm::sys::fs::exists(manifestPath))
    fail(artifactDir + ": not an llmc artifact (no manifest.json)");
  auto manifestText = readFile(manifestPath);
  auto parsed = llvm::json::parse(manifestText->getBuffer());
  if (!parsed)
    fail(manifestPath + ": invalid JSON: " + toString(parsed.takeError()));
  const llvm::json::Object *manifest = parsed->getAsObject();
  if (!manifest || manifest->getString("format") != "llmc-artifact")
    fail(manifestPath + ": not an llmc artifact manifest");
  if (manifest->getString("target") != "ptx")
    fail(manifestPath + ": the artifact is for target '" +
         manifest->getString("target").value_or("?") +
         "'; llm-ptx-run runs ptx artifacts (llm-run runs the others)");
  const llvm::json::Value *sigValue = manifest->get("signature");
  if (!sigValue)
    fail(manifestPath + ": no signature");
  auto sig = Signature::fromJSON(*sigValue);
  if (!sig)
    fail(manifestPath + ": " + toString(sig.takeError()));
  const llvm::json::Object *summary = manifest->getObject("launch_plan");
  if (!summary)
    fail(manifestPath + ": no launch plan");
  std::string ptxPath =
      pathIn(manifest->getString("ptx").value_or("model.ptx"));
  std::string ptx = readFile(ptxPath)->getBuffer().str();
  std::vector<uint8_t> constants;
  if (std::optional<StringRef> file = manifest->getString("constants_file")) {
    auto bytes = readFile(pathIn(*file));
    constants.assign(bytes->getBufferStart(), bytes->getBufferEnd());
  }
  auto plan = LaunchPlan::fromSummary(*summary, ptx, constants);
  if (!plan)
    fail(manifestPath + ": " + toString(plan.takeError()));

  // Every launch against the PTX's kernels, and the buffers against the
  // signature: what a GPU would otherwise find out as a crash.
  llvm::StringMap<unsigned> entries = ptxEntries(ptx);
  for (auto [i, launch] : llvm::enumerate(plan->launches)) {
    auto it = entries.find(launch.kernel);
    if (it == entries.end())
      fail(ptxPath + ": launch " + llvm::Twine(i) + ": kernel " +
           launch.kernel + " is not in the PTX");
    if (it->second != launch.args.size())
      fail(ptxPath + ": launch " + llvm::Twine(i) + " (" + launch.kernel +
           ") passes " + llvm::Twine(launch.args.size()) +
           " arguments to its " + llvm::Twine(it->second) + " parameters");
  }
  for (auto [i, buffer] : llvm::enumerate(plan->buffers)) {
    const std::vector<TensorSpec> *specs =
        buffer.kind == LaunchPlan::BufferKind::Input    ? &sig->inputs
        : buffer.kind == LaunchPlan::BufferKind::Weight ? &sig->weights
                                                        : nullptr;
    if (!specs)
      continue;
    if (buffer.index < 0 || buffer.index >= int64_t(specs->size()))
      fail(manifestPath + ": buffer " + llvm::Twine(i) +
           " names no input or weight");
    const TensorSpec &spec = (*specs)[buffer.index];
    int64_t bytes = spec.byteSize();
    if ((buffer.bf16 ? bytes / 2 : bytes) != buffer.bytes)
      fail(manifestPath + ": buffer " + llvm::Twine(i) + " (" + spec.name +
           ") has " + llvm::Twine(buffer.bytes) + " bytes, its tensor " +
           llvm::Twine(bytes));
  }

  // Weights: views of weights.bin, or made up.
  std::vector<Tensor> weights;
  std::mt19937 rng(0);
  const llvm::json::Array *table = manifest->getArray("weights");
  if (!sig->weights.empty() && (!table || table->size() != sig->weights.size()))
    fail(manifestPath + ": the weight table does not match the signature");
  std::shared_ptr<const void> blobOwner;
  const llvm::MemoryBuffer *blob = nullptr;
  if (!sig->weights.empty() && !randomWeights) {
    std::string weightsPath =
        pathIn(manifest->getString("weights_file").value_or("weights.bin"));
    if (!llvm::sys::fs::exists(weightsPath))
      fail(weightsPath + ": missing (--random-weights runs without it, for "
                         "timing)");
    blobOwner = std::shared_ptr<const void>(readFile(weightsPath));
    blob = static_cast<const llvm::MemoryBuffer *>(blobOwner.get());
  }
  for (auto [i, spec] : llvm::enumerate(sig->weights)) {
    const llvm::json::Object *entry = (*table)[i].getAsObject();
    int64_t offset = entry ? entry->getInteger("offset").value_or(-1) : -1;
    int64_t bytes = entry ? entry->getInteger("bytes").value_or(-1) : -1;
    if (offset < 0 || bytes != spec.byteSize())
      fail(manifestPath + ": weight '" + spec.name +
           "' has no valid offset and size");
    if (blob) {
      if (offset + bytes > int64_t(blob->getBufferSize()))
        fail(manifestPath + ": weight '" + spec.name +
             "' lies past the end of the weights file");
      weights.push_back(Tensor::view(spec.name, spec.dtype, spec.shape,
                                     blob->getBufferStart() + offset,
                                     blobOwner));
      continue;
    }
    // Timing only: values like a trained layer's (std 0.02); integer
    // weights (quantized bytes) zero.
    bool isFloat = spec.dtype == DType::f32 || spec.dtype == DType::bf16 ||
                   spec.dtype == DType::f16;
    Tensor weight = isFloat ? randomTensor(spec, rng, 0.02f)
                            : Tensor(spec.name, spec.dtype, spec.shape);
    weights.push_back(std::move(weight));
  }

  if (dryRun) {
    llvm::outs() << "llm-ptx-run: " << artifactDir << ": "
                 << plan->launches.size() << " launches, "
                 << plan->buffers.size() << " buffers, " << weights.size()
                 << " weights; the plan matches its PTX and signature\n";
    return 0;
  }

  // Inputs.
  std::vector<Tensor> inputs;
  for (const std::string &text : inputFiles) {
    auto [name, file] = binding(text, "input");
    auto tensor = readNpy(file);
    if (!tensor)
      fail(toString(tensor.takeError()));
    tensor->name = name.str();
    inputs.push_back(std::move(*tensor));
  }
  if (randomInputs)
    for (const TensorSpec &spec : sig->inputs)
      if (llvm::none_of(inputs,
                        [&](const Tensor &t) { return t.name == spec.name; }))
        inputs.push_back(randomTensor(spec, rng));
  auto bound = bindInputs(*sig, std::move(inputs));
  if (!bound)
    fail(artifactDir + ": " + toString(bound.takeError()));

  if (std::optional<std::string> why = cudaUnavailableReason())
    fail(*why);
  Signature signature = *sig;
  auto exe =
      CUDAExecutable::create(std::move(*plan), signature, std::move(weights));
  if (!exe)
    fail(artifactDir + ": " + toString(exe.takeError()));
  std::vector<double> times;
  std::vector<Tensor> outputs;
  for (unsigned r = 0; r < std::max(1u, unsigned(repeats)); ++r) {
    auto result = (*exe)->run(*bound);
    if (!result)
      fail(artifactDir + ": " + toString(result.takeError()));
    outputs = std::move(*result);
    times.push_back((*exe)->lastForwardSeconds());
  }
  std::vector<double> sorted = times;
  llvm::sort(sorted);
  llvm::outs() << llvm::formatv(
      "llm-ptx-run: {0}: forward {1:f4} ms best, {2:f4} ms median of {3}\n",
      artifactDir, sorted.front() * 1e3, sorted[sorted.size() / 2] * 1e3,
      sorted.size());

  if (!jsonFile.empty()) {
    llvm::json::Array all;
    for (double t : times)
      all.push_back(t);
    llvm::json::Value value(
        llvm::json::Object{{"device_s", sorted.front()},
                           {"median_s", sorted[sorted.size() / 2]},
                           {"times_s", std::move(all)}});
    if (llvm::Error error =
            llmc::writeFile(jsonFile, llvm::formatv("{0:2}\n", value).str()))
      fail(llvm::toString(std::move(error)));
  }

  int status = 0;
  for (const std::string &text : expectFiles) {
    auto [outputName, file] = binding(text, "expect");
    StringRef name = outputName;
    auto expected = readNpy(file);
    if (!expected)
      fail(toString(expected.takeError()));
    auto it =
        llvm::find_if(outputs, [&](const Tensor &t) { return t.name == name; });
    if (it == outputs.end())
      fail(artifactDir + ": the model has no output '" + name + "'");
    if (std::optional<std::string> mismatch =
            compareTensors(*it, *expected, relTol, absTol)) {
      llvm::outs() << "check failed: " << *mismatch << "\n";
      status = 1;
    } else {
      llvm::outs() << "output '" << name << "' matches " << file << " (rtol "
                   << relTol << ", atol " << absTol << ")\n";
    }
  }
  if (!outputDir.empty()) {
    if (std::error_code error = llvm::sys::fs::create_directories(outputDir))
      fail(outputDir + ": " + error.message());
    for (const Tensor &output : outputs) {
      llvm::SmallString<256> path(outputDir);
      llvm::sys::path::append(path, output.name + ".npy");
      if (llvm::Error error = writeNpy(output, path))
        fail(toString(std::move(error)));
    }
  }
  return status;
}
