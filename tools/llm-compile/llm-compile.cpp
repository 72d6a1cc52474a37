//===- llm-compile.cpp - compile an ONNX model into artifact folders ------===//
#include "llmc/Driver/Driver.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model.onnx>"),
                                      cl::Required);
static cl::opt<std::string> target("target",
                                   cl::desc("host, ptx, hls, npu or all"),
                                   cl::init("host"));
static cl::opt<std::string> quant("quant",
                                  cl::desc("none, int8, w8, w4 or fp8"),
                                  cl::init("none"));
static cl::opt<std::string> calib("calib",
                                  cl::desc("calibration inputs (.npz)"));
static cl::opt<std::string> quantActivations(
    "quant-activations",
    cl::desc(
        "int8 activation scales: static (calibrated) or dynamic (per token)"),
    cl::init("static"));
static cl::opt<std::string>
    quantCalibration("quant-calibration",
                     cl::desc("static scales from minmax or percentile"),
                     cl::init("minmax"));
static cl::opt<double>
    quantPercentile("quant-percentile",
                    cl::desc("percentile of |x| for percentile calibration"),
                    cl::init(99.99));
static cl::opt<double>
    smoothQuant("smoothquant", cl::desc("SmoothQuant alpha for int8 (0 = off)"),
                cl::init(0.0));
static cl::opt<int64_t>
    groupSize("group-size", cl::desc("w4 group size along K"), cl::init(128));
static cl::list<std::string> shapes("shape",
                                    cl::desc("NAME=DIMS static input shape"));
static cl::opt<std::string> reportPath("report",
                                       cl::desc("write the report as JSON"));
static cl::opt<std::string> targetDesc("target-desc",
                                       cl::desc("target description JSON"));
static cl::opt<bool> noFusion(
    "no-fusion", cl::desc("skip the fusion passes (to compare numerics)"));
static cl::opt<std::string> outputDir("o", cl::desc("artifact folder"),
                                      cl::Required);

static constexpr StringRef kTool = "llm-compile";

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  if (!llmc::parseToolOptions(argc, argv, "llmc: compile an ONNX model\n"))
    return 2;
  if (!calib.empty() && quant == "none")
    return llmc::reportToolError(
        kTool, createStringError("--calib needs a --quant other than none"));
  if (!targetDesc.empty())
    return llmc::reportToolError(
        kTool, createStringError("--target-desc is not supported yet"));

  llmc::CompileOptions options;
  options.quant = quant;
  options.quantization.activations = quantActivations;
  options.quantization.calibration = quantCalibration;
  options.quantization.percentile = quantPercentile;
  options.quantization.smoothQuant = smoothQuant;
  options.quantization.groupSize = groupSize;
  options.quantization.calibrationFile = calib;
  options.fuse = !noFusion;
  for (const std::string &spec : shapes)
    if (Error error = llmc::parseShapeOption(spec, options.import))
      return llmc::reportToolError(kTool, std::move(error));
  if (Error error = llmc::checkTarget(target))
    return llmc::reportToolError(kTool, std::move(error));
  if (Error error = llmc::checkQuantization(quant))
    return llmc::reportToolError(kTool, std::move(error));

  SmallVector<StringRef> targets;
  if (target == "all")
    llvm::append_range(targets, llmc::implementedTargets());
  else
    targets.push_back(target);

  json::Object reportTargets;
  std::optional<json::Value> accuracy;
  for (StringRef name : targets) {
    options.target = name.str();
    llmc::reportProgress(kTool, "compiling " + modelPath + " for " + name);
    auto model = llmc::CompiledModel::compileFile(modelPath, options);
    if (!model)
      return llmc::reportToolError(kTool, model.takeError());
    SmallString<256> dir(outputDir);
    if (target == "all")
      sys::path::append(dir, name);
    llmc::reportProgress(kTool, "writing " + dir);
    if (Error error = (*model)->save(dir))
      return llmc::reportToolError(kTool, std::move(error));
    json::Object report = (*model)->report();
    if (quant != "none")
      if (const json::Object *perTarget = report.getObject("targets"))
        if (const json::Object *entry = perTarget->getObject(name))
          if (const json::Value *measured = entry->get("accuracy"))
            accuracy = *measured;
    if (json::Object *perTarget = report.getObject("targets"))
      for (auto &entry : *perTarget)
        reportTargets[entry.first] = std::move(entry.second);
  }

  json::Object report{{"model", modelPath}, {"quant", quant},
                      {"targets", std::move(reportTargets)}};
  // The accuracy of a quantized compile against fp32, on the calibration
  // inputs (the host's, which every target's integer path reproduces).
  if (accuracy)
    report["accuracy"] = std::move(*accuracy);
  outs() << formatv("{0,-8} {1,14} {2,14} {3,14} {4,10}\n", "target", "GFLOP",
                    "MB moved", "weight MB", "FLOP/byte");
  for (auto &entry : *report.getObject("targets")) {
    const json::Object *t = entry.second.getAsObject();
    auto number = [&](StringRef key) {
      return t->getNumber(key).value_or(0.0);
    };
    outs() << formatv("{0,-8} {1,14:f3} {2,14:f3} {3,14:f3} {4,10:f2}\n",
                      entry.first.str(), number("flops") / 1e9,
                      number("bytes") / 1e6, number("weight_bytes") / 1e6,
                      number("arithmetic_intensity"));
  }
  if (const json::Object *measured = report.getObject("accuracy")) {
    auto number = [&](StringRef key) {
      return measured->getNumber(key).value_or(NAN);
    };
    outs() << formatv("quant {0}: cosine {1:f6}, max abs error {2:e}, mean "
                      "abs error {3:e}, top-1 agreement {4:f4} vs fp32\n",
                      quant, number("cosine"), number("max_abs_error"),
                      number("mean_abs_error"), number("top1_agreement"));
  }
  if (!reportPath.empty()) {
    std::error_code error;
    raw_fd_ostream os(reportPath, error, sys::fs::OF_None);
    if (error)
      return llmc::reportToolError(
          kTool, createStringError(reportPath + ": cannot write: " +
                                   error.message()));
    os << formatv("{0:2}", json::Value(std::move(report))) << "\n";
  }
  return 0;
}
