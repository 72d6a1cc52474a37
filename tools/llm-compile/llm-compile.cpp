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
  options.fuse = !noFusion;
  for (const std::string &spec : shapes)
    if (Error error = llmc::parseShapeOption(spec, options.import))
      return llmc::reportToolError(kTool, std::move(error));
  if (Error error = llmc::checkTarget(target))
    return llmc::reportToolError(kTool, std::move(error));

  SmallVector<StringRef> targets;
  if (target == "all")
    llvm::append_range(targets, llmc::implementedTargets());
  else
    targets.push_back(target);

  json::Object reportTargets;
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
    if (json::Object *perTarget = report.getObject("targets"))
      for (auto &entry : *perTarget)
        reportTargets[entry.first] = std::move(entry.second);
  }

  json::Object report{{"model", modelPath}, {"quant", quant},
                      {"targets", std::move(reportTargets)}};
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
