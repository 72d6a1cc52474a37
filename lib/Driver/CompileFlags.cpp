//===- CompileFlags.cpp - the compile flags llm-compile and llm-run share -===//
#include "llmc/Driver/CompileFlags.h"

using namespace llmc;
namespace cl = llvm::cl;

CompileFlags::CompileFlags()
    : quant("quant", cl::cat(toolCategory()),
            cl::desc("none, int8, w8, w4 or fp8"), cl::init("none")),
      calib("calib", cl::cat(toolCategory()),
            cl::desc("calibration inputs (.npz)")),
      activations("quant-activations", cl::cat(toolCategory()),
                  cl::desc("int8 activation scales: static (calibrated) or "
                           "dynamic (per token)"),
                  cl::init("static")),
      calibration("quant-calibration", cl::cat(toolCategory()),
                  cl::desc("static scales from minmax or percentile"),
                  cl::init("minmax")),
      percentile("quant-percentile", cl::cat(toolCategory()),
                 cl::desc("percentile of |x| for percentile calibration"),
                 cl::init(99.99)),
      smoothQuant("smoothquant", cl::cat(toolCategory()),
                  cl::desc("SmoothQuant alpha for int8 (0 = off)"),
                  cl::init(0.0)),
      groupSize("group-size", cl::cat(toolCategory()),
                cl::desc("w4 group size along K"), cl::init(128)),
      weights("quant-weights", cl::cat(toolCategory()),
              cl::desc("how integer weights are chosen: rtn (round to "
                       "nearest) or gptq (error-compensating, from the "
                       "calibration inputs)"),
              cl::init("rtn")),
      gptqActOrder("gptq-act-order", cl::cat(toolCategory()),
                   cl::desc("GPTQ quantizes input channels by decreasing "
                            "activation energy, with static group scales "
                            "(=false: first to last)"),
                   cl::init(true)),
      targetDescs("target-desc", cl::cat(toolCategory()),
                  cl::desc("target description (targets/*.json name or a "
                           "JSON file); replaces the default of its kind's "
                           "backend (an npu one is the machine the NPU "
                           "code runs on)")),
      noFusion("no-fusion", cl::cat(toolCategory()),
               cl::desc("skip the fusion passes (to compare numerics)")),
      noConstEval("no-const-eval", cl::cat(toolCategory()),
                  cl::desc("compute the subgraphs of weights alone at run "
                           "time, not once at compile time")) {}

llvm::Error CompileFlags::apply(CompileOptions &options) const {
  if (llvm::Error error = checkQuantization(quant))
    return error;
  if (!calib.empty() && quant == "none")
    return llvm::make_error<InputError>(
        "--calib needs a --quant other than none");
  if (weights != "rtn" && quant == "none")
    return llvm::make_error<InputError>(
        "--quant-weights needs a --quant other than none");
  if (gptqActOrder.getNumOccurrences() && weights != "gptq")
    return llvm::make_error<InputError>(
        "--gptq-act-order needs --quant-weights gptq");
  // A quantization flag without a quantization is a mistake, not a default
  // to ignore (as --calib and --quant-weights are). Flags one --quant mode
  // does not read (--group-size beside --quant int8) stay accepted: one
  // command line may serve several modes.
  if (quant == "none")
    for (const llvm::cl::Option *flag :
         std::initializer_list<const llvm::cl::Option *>{
             &activations, &calibration, &percentile, &smoothQuant, &groupSize})
      if (flag->getNumOccurrences())
        return llvm::make_error<InputError>(
            ("--" + flag->ArgStr + " needs a --quant other than none").str());
  options.quant = quant;
  options.quantization.activations = activations;
  options.quantization.calibration = calibration;
  options.quantization.percentile = percentile;
  options.quantization.smoothQuant = smoothQuant;
  options.quantization.groupSize = groupSize;
  options.quantization.weights = weights;
  if (gptqActOrder.getNumOccurrences())
    options.quantization.gptqActOrder = gptqActOrder;
  options.quantization.calibrationFile = calib;
  options.targetDescs.assign(targetDescs.begin(), targetDescs.end());
  options.fuse = !noFusion;
  options.evaluateConstants = !noConstEval;
  return llvm::Error::success();
}

std::optional<std::string> CompileFlags::firstGiven() const {
  for (const llvm::cl::Option *flag :
       std::initializer_list<const llvm::cl::Option *>{
           &quant, &calib, &activations, &calibration, &percentile,
           &smoothQuant, &groupSize, &weights, &gptqActOrder,
           static_cast<const llvm::cl::Option *>(std::addressof(targetDescs)),
           &noFusion, &noConstEval})
    if (flag->getNumOccurrences())
      return ("--" + flag->ArgStr).str();
  return std::nullopt;
}
