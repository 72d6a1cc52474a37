//===- llm-compile.cpp - compile an ONNX model into artifact folders ------===//
#include "llmc/Driver/CompileFlags.h"
#include "llmc/Driver/Driver.h"
#include "llmc/Support/WriteFile.h"
#include "llmc/Target/PerfModel.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::extrahelp environment(llmc::environmentHelp);
static cl::opt<std::string> modelPath(cl::cat(llmc::toolCategory()), cl::Positional, cl::desc("<model.onnx>"),
                                      cl::Required);
static cl::opt<std::string> target(cl::cat(llmc::toolCategory()), "target",
                                   cl::desc("host, ptx, hls, npu or all"),
                                   cl::init("host"));
static cl::list<std::string> shapes(cl::cat(llmc::toolCategory()), "shape",
                                    cl::desc("NAME=DIMS static input shape"));
static cl::list<std::string> values(
    cl::cat(llmc::toolCategory()), "value",
    cl::desc("NAME=V[,V...] value of an input fixed at compile time (a "
             "merged decoder's use_cache_branch=1); the artifact refuses "
             "other values"));
static cl::opt<std::string> reportPath(cl::cat(llmc::toolCategory()), "report",
                                       cl::desc("write the report as JSON"));
static cl::opt<std::string>
    rooflinePath(cl::cat(llmc::toolCategory()), "roofline",
                 cl::desc("write the roofline chart as SVG (default: the "
                          "--report path with .svg)"));
static cl::opt<std::string> outputDir(cl::cat(llmc::toolCategory()), "o", cl::desc("artifact folder"),
                                      cl::Required);

/// --quant and its options, --calib, --target-desc.
static llmc::CompileFlags flags;

static constexpr StringRef kTool = "llm-compile";

/// One row per target: the figures a model team compares.
static void printReportTable(const json::Object &targets, raw_ostream &os) {
  os << formatv("{0,-6} {1,-8} {2,-5} {3,10} {4,10} {5,8} {6,11} {7,11} "
                "{8,10} {9,11} {10,10}\n",
                "target", "hardware", "prec", "GFLOP", "MB moved", "FLOP/B",
                "prefill ms", "decode ms", "tokens/s", "mJ/token",
                "weight MB");
  auto cell = [](const json::Object &t, StringRef key, double scale,
                 int precision) -> std::string {
    std::optional<double> value = t.getNumber(key);
    if (!value)
      return "-";
    return formatv("{0}", format(("%." + Twine(precision) + "f").str().c_str(),
                                 *value * scale))
        .str();
  };
  SmallVector<StringRef> order(llmc::knownTargets());
  for (const auto &entry : targets)
    if (!llvm::is_contained(order, StringRef(entry.first)))
      order.push_back(entry.first);
  for (StringRef name : order) {
    const json::Object *t = targets.getObject(name);
    if (!t)
      continue;
    std::string hardware = "-", precision = "fp32";
    if (const json::Object *desc = t->getObject("target_desc"))
      hardware = desc->getString("name").value_or("-").str();
    if (std::optional<StringRef> p = t->getString("precision"))
      precision = p->str();
    // The products' type: a quantized model's integer or FP8 type, else
    // the one type they all run at (a 16-bit model's own, where the target
    // has it).
    if (const json::Array *matrix = t->getArray("matrix_precisions")) {
      if (matrix->size() == 1 && matrix->front().getAsString())
        precision = matrix->front().getAsString()->str();
      for (const json::Value &p : *matrix)
        if (std::optional<StringRef> type = p.getAsString();
            type && (type->starts_with("int") || *type == "fp8"))
          precision = type->str();
    }
    os << formatv("{0,-6} {1,-8} {2,-5} {3,10} {4,10} {5,8} {6,11} {7,11} "
                  "{8,10} {9,11} {10,10}\n",
                  name, hardware, precision,
                  cell(*t, "flops", 1e-9, 3), cell(*t, "bytes", 1e-6, 3),
                  cell(*t, "arithmetic_intensity", 1, 2),
                  cell(*t, "latency_s", 1e3, 4),
                  cell(*t, "decode_latency_s", 1e3, 4),
                  cell(*t, "tokens_per_s", 1, 0),
                  cell(*t, "energy_per_token_j", 1e3, 4),
                  cell(*t, "weight_bytes", 1e-6, 3));
  }
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  if (!llmc::parseToolOptions(argc, argv, "llmc: compile an ONNX model\n"))
    return 2;
  llmc::CompileOptions options;
  if (Error error = flags.apply(options))
    return llmc::reportToolError(kTool, std::move(error));
  const std::string &quant = options.quant;
  if (auto described = llmc::reportTargets(options.targetDescs); !described)
    return llmc::reportToolError(kTool, described.takeError());
  for (const std::string &spec : shapes)
    if (Error error = llmc::parseShapeOption(spec, options.import))
      return llmc::reportToolError(kTool, std::move(error));
  for (const std::string &spec : values)
    if (Error error = llmc::parseValueOption(spec, options.import))
      return llmc::reportToolError(kTool, std::move(error));
  if (Error error = llmc::checkTarget(target))
    return llmc::reportToolError(kTool, std::move(error));

  std::vector<std::string> targets{target};
  if (target == "all") {
    std::vector<std::string> notes;
    targets = llmc::targetsForAll(quant, &notes);
    for (const std::string &note : notes)
      errs() << kTool << ": note: " << note << "\n";
  }

  // One import for all targets and, with a --quant, one calibration.
  json::Object reportTargets;
  std::optional<json::Value> accuracy;
  size_t compiled = 0;
  auto consume = [&](std::unique_ptr<llmc::CompiledModel> owned) -> Error {
    llmc::CompiledModel &model = *owned;
    StringRef name = targets[compiled++];
    SmallString<256> dir(outputDir);
    if (target == "all")
      sys::path::append(dir, name);
    llmc::reportProgress(kTool, "writing " + dir);
    if (Error error = model.save(dir))
      return error;
    if (compiled < targets.size())
      llmc::reportProgress(kTool, "compiling " + modelPath + " for " +
                                      targets[compiled]);
    json::Object report = model.report();
    if (quant != "none")
      if (const json::Object *perTarget = report.getObject("targets"))
        if (const json::Object *entry = perTarget->getObject(name))
          if (const json::Object *measured = entry->getObject("accuracy"))
            accuracy = json::Object(*measured);
    if (json::Object *perTarget = report.getObject("targets"))
      for (auto &entry : *perTarget) {
        // Estimates for targets that were not compiled say so.
        if (json::Object *t = entry.second.getAsObject())
          (*t)["artifact"] = StringRef(entry.first) == name
                                 ? json::Value(dir.str().str())
                                 : json::Value(nullptr);
        if (StringRef(entry.first) == name || !reportTargets.get(entry.first))
          reportTargets[entry.first] = std::move(entry.second);
      }
    return Error::success();
  };
  llmc::reportProgress(kTool, "compiling " + modelPath + " for " + targets[0]);
  if (Error error = llmc::CompiledModel::compileFileForTargets(
          modelPath, options, targets, consume))
    return llmc::reportToolError(kTool, std::move(error));

  json::Object report{{"model", modelPath}, {"quant", quant},
                      {"targets", std::move(reportTargets)}};
  // The accuracy of a quantized compile against fp32, on the calibration
  // inputs (the host's, which every target's integer path reproduces).
  if (accuracy)
    report["accuracy"] = std::move(*accuracy);
  printReportTable(*report.getObject("targets"), outs());
  // What ran once at compile time instead of every forward (the same graph
  // for every target).
  for (StringRef name : targets)
    if (const json::Object *entry =
            report.getObject("targets")->getObject(name))
      if (const json::Object *folded =
              entry->getObject("constant_evaluation")) {
        if (int64_t values = folded->getInteger("values").value_or(0))
          outs() << formatv("constant evaluation: {0} value{1} ({2:f1} KB) "
                            "computed at compile time; graph ops {3} -> {4}\n",
                            values, values == 1 ? "" : "s",
                            folded->getInteger("bytes").value_or(0) / 1024.0,
                            folded->getInteger("graph_ops_before").value_or(0),
                            folded->getInteger("graph_ops_after").value_or(0));
        break;
      }
  if (const json::Object *measured = report.getObject("accuracy")) {
    outs() << formatv("quant {0}: {1} vs {2}\n", quant,
                      llmc::describeAccuracy(*measured),
                      measured->getString("reference").value_or("fp32"));
    outs() << llmc::describeScalarOutputs(*measured, "quant " + quant + ": ");
  } else if (quant != "none") {
    for (const auto &entry : *report.getObject("targets"))
      if (const json::Object *target = entry.second.getAsObject())
        if (std::optional<StringRef> why =
                target->getString("accuracy_not_measured"))
          outs() << formatv("quant {0}: accuracy not measured on {1}: {2}\n",
                            quant, entry.first, *why);
  }
  if (const json::Object *npu = report.getObject("targets")->getObject("npu"))
    if (const json::Object *sim = npu->getObject("simulated"))
      outs() << formatv("npu simulated (linear layers, {0}): {1} cycles, "
                        "{2:f4} ms, MAC utilization {3:p}, {4:e} J\n",
                        sim->getString("inputs").value_or(""),
                        sim->getInteger("cycles").value_or(0),
                        sim->getNumber("seconds").value_or(0) * 1e3,
                        sim->getNumber("mac_utilization").value_or(0),
                        sim->getNumber("energy_j").value_or(0));
  if (!reportPath.empty())
    if (Error error = llmc::writeJSONFile(reportPath, json::Object(report)))
      return llmc::reportToolError(kTool, std::move(error));
  std::string svgPath = rooflinePath;
  if (svgPath.empty() && !reportPath.empty()) {
    SmallString<256> path(reportPath);
    sys::path::replace_extension(path, ".svg");
    svgPath = path.str().str();
  }
  if (!svgPath.empty()) {
    std::vector<std::pair<std::string, const json::Object *>> entries;
    const json::Object &targets = *report.getObject("targets");
    for (StringRef name : llmc::knownTargets())
      if (const json::Object *t = targets.getObject(name);
          t && t->getObject("target_desc"))
        entries.emplace_back(name.str(), t);
    if (Error error = llmc::writeFile(
            svgPath,
            llmc::renderRoofline(
                entries, "Roofline: " + sys::path::filename(modelPath).str() +
                             " (quant " + quant + ")")))
      return llmc::reportToolError(kTool, std::move(error));
  }
  return 0;
}
