//===- RunMain.cpp - llm-run: run an ONNX model or an artifact ----------===//
//
// llm-run's options and body, linked by the llm-run executable and by the
// Python module llmc._llm_run, which runs it again and again in one process
// (scripts/llm_run_pool.py: the fuzzers' workers).
//
//===----------------------------------------------------------------------===//
#include "llmc/Driver/RunMain.h"
#include "llmc/Driver/CompileFlags.h"
#include "llmc/Driver/Driver.h"
#include "llmc/Runtime/NPU/Simulator.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>

using namespace llvm;

static cl::extrahelp environment(llmc::environmentHelp);
static cl::opt<std::string> modelPath(cl::cat(llmc::toolCategory()), cl::Positional,
                                      cl::desc("<model.onnx | artifact dir>"),
                                      cl::Required);
static cl::opt<std::string> target(cl::cat(llmc::toolCategory()), "target", cl::desc("host, ptx, hls or npu"),
                                   cl::init("host"));
static cl::list<std::string> inputs(cl::cat(llmc::toolCategory()), "input",
                                    cl::desc("[NAME=]FILE (.npy or .pb)"));
static cl::list<std::string> shapes(cl::cat(llmc::toolCategory()), "shape",
                                    cl::desc("NAME=DIMS static input shape"));
static cl::list<std::string> expects(cl::cat(llmc::toolCategory()), "expect",
                                     cl::desc("NAME=FILE reference output"));
static cl::opt<std::string> outputDir(cl::cat(llmc::toolCategory()),
                                      "output-dir",
                                      cl::desc("write outputs as NAME.npy"));
static cl::opt<double> relativeTolerance(cl::cat(llmc::toolCategory()), "rtol", cl::desc("relative tolerance"),
                            cl::init(1e-4));
static cl::opt<double> absoluteTolerance(cl::cat(llmc::toolCategory()), "atol", cl::desc("absolute tolerance"),
                            cl::init(1e-5));
// LLVM owns `-stats` (its statistics switch): the contract's `--stats FILE`
// is rewritten to this name before parsing.
static cl::opt<std::string> statsPath(cl::cat(llmc::toolCategory()), "run-stats",
                                      cl::desc("write run statistics (JSON); "
                                               "also spelled --stats"));
static cl::opt<std::string>
    reportPath(cl::cat(llmc::toolCategory()), "report",
               cl::desc("write the compile's report as JSON (llm-compile "
                        "--report's: estimates and the graph's layers)"));

static cl::opt<bool> emulateGPU(cl::cat(llmc::toolCategory()), 
    "emulate-gpu",
    cl::desc("with --target ptx: run the kernels on the CPU's GPU emulator "
             "(the gpu-dialect kernels, checked for out-of-bounds accesses "
             "and shared-memory races) instead of a GPU"),
    cl::init(false));
static cl::opt<uint64_t> npuMaxCycles(cl::cat(llmc::toolCategory()), 
    "npu-max-cycles",
    cl::desc("with --target npu: a program, or each NPU kernel of a model, "
             "fails past this many cycles"),
    cl::init(1'000'000'000'000ull));

/// --quant and its options, --calib, --target-desc, --no-fusion,
/// --no-const-eval.
static llmc::CompileFlags flags;

static constexpr StringRef kTool = "llm-run";

/// Splits "NAME=FILE"; a plain FILE has no name. Names may hold '/' (an
/// exporter's "/layer/Add_output_0") and paths '=': the text is one FILE
/// when it names an existing file and its part after the '=' does not.
static std::pair<std::string, std::string> splitBinding(StringRef text) {
  auto [name, file] = text.split('=');
  if (file.empty() ||
      (llvm::sys::fs::exists(text) && !llvm::sys::fs::exists(file)))
    return {"", text.str()};
  return {name.str(), file.str()};
}

/// The --input tensors, named by their bindings where those name them.
static Expected<std::vector<llmc::Tensor>> readInputs() {
  std::vector<llmc::Tensor> given;
  for (const std::string &binding : inputs) {
    auto [name, file] = splitBinding(binding);
    auto tensor = llmc::readTensorFile(file);
    if (!tensor)
      return tensor.takeError();
    if (!name.empty())
      tensor->name = name;
    given.push_back(std::move(*tensor));
  }
  return given;
}

static std::string fileNameFor(StringRef name) {
  std::string safe = name.str();
  for (char &c : safe)
    if (!isAlnum(c) && c != '_' && c != '-' && c != '.')
      c = '_';
  return safe + ".npy";
}

/// Writes the outputs, checks them against --expect and writes --stats.
static int finish(std::vector<llmc::Tensor> &outputs, double compileSeconds,
                  double runSeconds, json::Object extraStats) {
  if (!outputDir.empty()) {
    if (std::error_code error = sys::fs::create_directories(outputDir))
      return llmc::reportToolError(
          kTool, createStringError(outputDir + ": cannot create: " +
                                   error.message()));
    for (const llmc::Tensor &output : outputs) {
      SmallString<256> path(outputDir);
      sys::path::append(path, fileNameFor(output.name));
      if (Error error = llmc::writeNpy(output, path))
        return llmc::reportToolError(kTool, std::move(error));
    }
  }

  int status = 0;
  for (const std::string &binding : expects) {
    auto [name, file] = splitBinding(binding);
    auto expected = llmc::readTensorFile(file);
    if (!expected)
      return llmc::reportToolError(kTool, expected.takeError());
    if (name.empty())
      name = expected->name;
    auto output = llvm::find_if(outputs, [&, &name = name](const llmc::Tensor &t) {
      return t.name == name;
    });
    if (output == outputs.end())
      return llmc::reportToolError(
          kTool, createStringError("--expect names '" + name +
                                   "', which is not an output of the model"));
    if (auto mismatch = llmc::compareTensors(*output, *expected, relativeTolerance,
                                                absoluteTolerance)) {
      errs() << kTool << ": check failed: " << *mismatch << "\n";
      status = 1;
    } else {
      outs() << "output '" << name << "' matches " << file << " (rtol " << relativeTolerance
             << ", atol " << absoluteTolerance << ")\n";
    }
  }

  if (!statsPath.empty()) {
    json::Object stats{
        {"target", target}, {"compile_s", compileSeconds}, {"run_s", runSeconds}};
    for (auto &entry : extraStats)
      stats[entry.first] = std::move(entry.second);
    if (Error error = llmc::writeJSONFile(statsPath, std::move(stats)))
      return llmc::reportToolError(kTool, std::move(error));
  }
  return status;
}

/// `--target npu PROGRAM.npubin|.npuasm`: runs an instruction stream on the
/// NPU simulator; its statistics join the --stats JSON.
static int runNPUProgram(std::vector<llmc::Tensor> given) {
  llmc::npu::SimulatorOptions options;
  options.maxCycles = npuMaxCycles;
  auto start = std::chrono::steady_clock::now();
  std::string desc = flags.targetDescs.empty()
                         ? ""
                         : flags.targetDescs[flags.targetDescs.size() - 1];
  auto result = llmc::npu::runProgramFile(modelPath, std::move(given), desc,
                                          options);
  if (!result)
    return llmc::reportToolError(kTool, result.takeError());
  using seconds = std::chrono::duration<double>;
  double runSeconds =
      seconds(std::chrono::steady_clock::now() - start).count();
  return finish(result->first, 0.0, runSeconds, std::move(result->second));
}

int llmc::llmRunMain(int argc, char **argv) {
  // A second run in the same process starts from the defaults again.
  cl::ResetAllOptionOccurrences();
  std::vector<std::string> rewritten;
  for (int i = 0; i < argc; ++i) {
    StringRef arg = argv[i];
    for (StringRef spelling : {"--stats", "-stats"})
      if (arg == spelling || arg.starts_with((spelling + "=").str()))
        arg = arg.drop_front(spelling.size());
    rewritten.push_back(arg.size() == StringRef(argv[i]).size()
                            ? std::string(argv[i])
                            : "--run-stats" + arg.str());
  }
  std::vector<char *> arguments;
  for (std::string &arg : rewritten)
    arguments.push_back(arg.data());
  argc = static_cast<int>(arguments.size());
  argv = arguments.data();
  if (!llmc::parseToolOptions(argc, argv, "llmc: run a model\n"))
    return 2;
  if (target == "all")
    return llmc::reportToolError(
        kTool, createStringError("llm-run runs one target, not 'all'"));
  bool isArtifact = sys::fs::is_directory(modelPath);
  // An artifact's manifest names its target: --target may be left out.
  if (!target.getNumOccurrences() && isArtifact)
    if (std::optional<std::string> recorded =
            llmc::CompiledModel::artifactTarget(modelPath))
      target = *recorded;
  for (auto [flag, value] :
       {std::pair<StringRef, double>{"--rtol", relativeTolerance},
        {"--atol", absoluteTolerance}})
    if (!(value >= 0) || !std::isfinite(value)) {
      std::string text;
      llvm::raw_string_ostream(text) << llvm::format("%g", value);
      return llmc::reportToolError(
          kTool, createStringError(flag + " " + text +
                                   " is not a tolerance (a number >= 0)"));
    }
  if (target == "npu" && llmc::npu::isProgramPath(modelPath)) {
    auto given = readInputs();
    if (!given)
      return llmc::reportToolError(kTool, given.takeError());
    return runNPUProgram(std::move(*given));
  }
  if (Error error = llmc::checkTarget(target))
    return llmc::reportToolError(kTool, std::move(error));
  if (emulateGPU && target != "ptx")
    return llmc::reportToolError(
        kTool, createStringError("--emulate-gpu runs the ptx target's "
                                 "kernels; it needs --target ptx, not '" +
                                 target + "'"));
  // The flags that say how to compile: an artifact is compiled already.
  std::optional<std::string> compileFlag = flags.firstGiven();
  if (!compileFlag && shapes.getNumOccurrences())
    compileFlag = "--shape";
  if (isArtifact && compileFlag)
    return llmc::reportToolError(
        kTool, createStringError(modelPath + ": " + *compileFlag +
                                 " applies when compiling an ONNX model; an "
                                 "artifact is already compiled"));
  llmc::CompileOptions options;
  if (Error error = flags.apply(options))
    return llmc::reportToolError(kTool, std::move(error));
  const std::string &quant = options.quant;

  auto read = readInputs();
  if (!read)
    return llmc::reportToolError(kTool, read.takeError());
  std::vector<llmc::Tensor> given = std::move(*read);

  auto start = std::chrono::steady_clock::now();
  Expected<std::unique_ptr<llmc::CompiledModel>> model =
      createStringError("no model");
  if (isArtifact && !reportPath.empty())
    return llmc::reportToolError(
        kTool, createStringError(modelPath +
                                 ": --report applies when compiling an ONNX "
                                 "model; llm-compile --report writes an "
                                 "artifact's"));
  if (isArtifact) {
    SmallString<256> dir(modelPath);
    SmallString<256> nested(modelPath);
    sys::path::append(nested, target, "manifest.json");
    if (sys::fs::exists(nested))
      sys::path::append(dir, target);
    model = llmc::CompiledModel::load(dir);
    if (model && (*model)->target() != target)
      return llmc::reportToolError(
          kTool, createStringError(modelPath + ": the artifact is for target '" +
                                   (*model)->target() + "', not '" + target +
                                   "'"));
  } else {
    options.target = target;
    for (const std::string &spec : shapes)
      if (Error error = llmc::parseShapeOption(spec, options.import))
        return llmc::reportToolError(kTool, std::move(error));
    // Dynamic dims and the values of small inputs are specialized to the
    // inputs given.
    llmc::specializeToInputs(options, given, "--input");
    llmc::reportProgress(kTool, "compiling " + modelPath + " for " + target);
    model = llmc::CompiledModel::compileFile(modelPath, options);
  }
  if (!model)
    return llmc::reportToolError(kTool, model.takeError());
  auto compiled = std::chrono::steady_clock::now();
  // Written before the run, so that a run that fails or mismatches still
  // says what was compiled.
  if (!reportPath.empty()) {
    json::Object report = (*model)->report();
    report["model"] = modelPath;
    report["quant"] = quant;
    if (Error error = llmc::writeJSONFile(reportPath, std::move(report)))
      return llmc::reportToolError(kTool, std::move(error));
  }

  if (npuMaxCycles.getNumOccurrences())
    (*model)->setNPUMaxCycles(npuMaxCycles);
  (*model)->setEmulateGPU(emulateGPU);
  llmc::reportProgress(kTool, "running");
  std::vector<llmc::Tensor> inputsForReference;
  if (quant != "none")
    inputsForReference = given;
  auto outputs = (*model)->run(std::move(given));
  if (!outputs)
    return llmc::reportToolError(kTool, outputs.takeError());
  auto finished = std::chrono::steady_clock::now();

  std::optional<json::Object> accuracy;
  if (quant != "none") {
    auto measured =
        (*model)->compareWithReference(std::move(inputsForReference), *outputs);
    if (!measured)
      return llmc::reportToolError(kTool, measured.takeError());
    errs() << formatv("{0}: quant {1} vs {2} on the given inputs: {3}\n", kTool,
                      quant, measured->getString("reference").value_or("fp32"),
                      llmc::describeAccuracy(*measured));
    errs() << llmc::describeScalarOutputs(
        *measured, (Twine(kTool) + ": quant " + quant + ": ").str());
    accuracy = std::move(*measured);
  }

  json::Object extraStats;
  if (accuracy) {
    extraStats["quant"] = quant;
    extraStats["accuracy"] = std::move(*accuracy);
  }
  std::optional<json::Object> runStats = (*model)->runStats();
  if (runStats && emulateGPU) {
    auto count = [&](StringRef key) {
      return runStats->getInteger(key).value_or(0);
    };
    int64_t wgmma = count("wgmma");
    errs() << formatv("{0}: gpu emulator: {1} launches, {2} thread ops, {3} "
                      "mma.sync, {4}{5} global bytes read, {6} written (in "
                      "32-byte sectors: {7} read, {8} written)\n",
                      kTool, count("launches"), count("thread_ops"),
                      count("mma_sync"),
                      wgmma ? formatv("{0} wgmma, ", wgmma).str() : "",
                      count("global_bytes_read"), count("global_bytes_written"),
                      count("global_sector_bytes_read"),
                      count("global_sector_bytes_written"));
    extraStats["gpu_emulator"] = std::move(*runStats);
  } else if (std::optional<json::Object> &npu = runStats) {
    // npu: the simulated kernels (the linear layers) of the forward.
    errs() << formatv("{0}: npu: {1} kernel calls, {2} cycles ({3:e} s at the "
                      "description's clock), MAC utilization {4:p}, "
                      "{5:p} of the matmul work\n",
                      kTool, npu->getInteger("kernel_calls").value_or(0),
                      npu->getInteger("cycles").value_or(0),
                      npu->getNumber("seconds").value_or(0),
                      npu->getNumber("mac_utilization").value_or(0),
                      npu->getNumber("offloaded_matmul_fraction").value_or(0));
    extraStats["npu"] = std::move(*npu);
  }
  if (std::optional<double> device = (*model)->deviceSeconds())
    extraStats["device_s"] = *device; // ptx: the forward, CUDA event to event
  using seconds = std::chrono::duration<double>;
  return finish(*outputs, seconds(compiled - start).count(),
                seconds(finished - compiled).count(), std::move(extraStats));
}
