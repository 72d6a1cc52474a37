//===- llm-npu.cpp - NPU program generator and vector-unit measurements ---===//
//
//   llm-npu --matmul MxKxN [--requantize --scale S --zero-point Z]
//           [--buffers 1|2] [--target-desc npu] -o FILE.npubin|.npuasm|.mlir
//   llm-npu --approx-errors [-o FILE.json]
//
// The first writes the instruction stream of an int8 matmul (tensors A, B in,
// C out), ready for `llm-run --target npu FILE`; the second measures the
// vector unit's exp, rsqrt, erf, GELU and SiLU against double precision.
//
//===----------------------------------------------------------------------===//
#include "llmc/Conversion/NPUMatmul.h"
#include "llmc/Driver/Driver.h"
#include "llmc/Support/WriteFile.h"
#include "llmc/Target/NPU/ISA.h"
#include "npu/IR/NPUOps.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"

#include <cmath>

using namespace llvm;
namespace isa = llmc::npu;

static cl::opt<std::string> matmul(cl::cat(llmc::toolCategory()), "matmul",
                                   cl::desc("generate an int8 matmul MxKxN"),
                                   cl::value_desc("MxKxN"));
static cl::opt<bool> requantize(cl::cat(llmc::toolCategory()), "requantize",
                                cl::desc("int8 output: sat(roundeven(c * "
                                         "scale) + zero-point)"));
static cl::opt<float> scale(cl::cat(llmc::toolCategory()), "scale", cl::desc("requantization scale"),
                            cl::init(1.0f / 256));
static cl::opt<float> zeroPoint(cl::cat(llmc::toolCategory()), "zero-point",
                                cl::desc("requantization zero point"),
                                cl::init(0.0f));
static cl::opt<float> quantScale(cl::cat(llmc::toolCategory()), 
    "quant-scale",
    cl::desc("with --requantize: dequantize by --scale, then quantize by this "
             "scale (vdeq + vqnt, as llm.dequantize + llm.quantize)"),
    cl::init(0.0f));
static cl::opt<bool> channelScales(cl::cat(llmc::toolCategory()), 
    "channel-scales",
    cl::desc("dequantize per output channel: input S (f32 [1, N]), output "
             "f32(A x B) * S (int8 with --requantize --quant-scale)"));
static cl::opt<bool> bias(cl::cat(llmc::toolCategory()), 
    "bias", cl::desc("with --channel-scales: an input Bias (f32 [1, N]) added "
                     "after the scaling (vadd of the broadcast row)"));
static cl::opt<float> inputScale(cl::cat(llmc::toolCategory()), 
    "input-scale",
    cl::desc("quantize the input on the NPU: an input X (f32 [M, K]) becomes "
             "A = llm.quantize(X, this scale) (vqnt) before the matmul"),
    cl::init(0.0f));
static cl::opt<bool> lhsUnsigned(cl::cat(llmc::toolCategory()), 
    "lhs-unsigned", cl::desc("A holds unsigned bytes (mm lhs_unsigned)"));
static cl::opt<bool> zeroPointRow(cl::cat(llmc::toolCategory()), 
    "zero-point-row",
    cl::desc("an input Z (i32 [1, N]) added to the products first (vaddi "
             "broadcast): an activation zero point's -z_a * colsum(B)"));
static cl::opt<int> buffers(cl::cat(llmc::toolCategory()), "buffers",
                            cl::desc("2: double-buffered; 1: no overlap"),
                            cl::init(2));
static cl::opt<int64_t> blockM(cl::cat(llmc::toolCategory()), "block-m", cl::desc("output block rows"),
                               cl::init(0));
static cl::opt<int64_t> blockN(cl::cat(llmc::toolCategory()), "block-n", cl::desc("output block columns"),
                               cl::init(0));
static cl::opt<std::string> targetDesc(cl::cat(llmc::toolCategory()), "target-desc",
                                       cl::desc("NPU description (name or "
                                                "JSON path)"),
                                       cl::init("npu"));
static cl::opt<bool> approxErrors(cl::cat(llmc::toolCategory()), 
    "approx-errors", cl::desc("measure the vector unit's approximations"));
static cl::opt<int64_t> samples(cl::cat(llmc::toolCategory()), "samples",
                               cl::desc("points per function for "
                                        "--approx-errors"),
                               cl::init(2'000'001));
static cl::opt<std::string> outputPath(cl::cat(llmc::toolCategory()), "o", cl::desc("output file"),
                                       cl::init("-"));

static constexpr StringRef kTool = "llm-npu";

namespace {
/// Max absolute and relative error of `approx` against `exact` on `samples`
/// evenly spaced points of [lo, hi]; relative error where |exact| >= relFloor.
json::Object measure(float (*approx)(float), double (*exact)(double),
                     double lo, double hi, int64_t samples,
                     double relFloor = 1e-30) {
  double maxAbs = 0, maxRel = 0, worstAbsX = lo, worstRelX = lo;
  for (int64_t i = 0; i < samples; ++i) {
    float x = static_cast<float>(lo + (hi - lo) * double(i) / double(samples - 1));
    double want = exact(double(x));
    double got = approx(x);
    double abs = std::fabs(got - want);
    double rel = std::fabs(want) >= relFloor ? abs / std::fabs(want) : 0;
    if (abs > maxAbs)
      maxAbs = abs, worstAbsX = x;
    if (rel > maxRel)
      maxRel = rel, worstRelX = x;
  }
  return json::Object{{"range", json::Array{lo, hi}},
                      {"samples", samples},
                      {"max_abs_error", maxAbs},
                      {"max_abs_error_at", worstAbsX},
                      {"max_rel_error", maxRel},
                      {"max_rel_error_at", worstRelX},
                      {"rel_error_where_abs_exact_at_least", relFloor}};
}

double exactGelu(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double exactSilu(double x) { return x / (1 + std::exp(-x)); }
double exactRsqrt(double x) { return 1 / std::sqrt(x); }
double dexp(double x) { return std::exp(x); }
double derf(double x) { return std::erf(x); }
/// rsqrt over many binades: x = 2^t, t evenly spaced.
float rsqrtOfExp2(float t) { return isa::vectorRsqrt(std::exp2(t)); }
double exactRsqrtOfExp2(double t) {
  return exactRsqrt(double(std::exp2(static_cast<float>(t))));
}

int writeOutput(StringRef bytes) {
  std::string error;
  auto output = mlir::openOutputFile(outputPath, &error);
  if (!output)
    return llmc::reportToolError(kTool, createStringError(error));
  output->os() << bytes;
  if (Error error = llmc::flushChecked(output->os(), outputPath))
    return llmc::reportToolError(kTool, std::move(error));
  output->keep();
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  if (!llmc::parseToolOptions(argc, argv, "llmc NPU tool\n"))
    return 2;
  if (approxErrors) {
    if (samples < 2)
      return llmc::reportToolError(
          kTool, createStringError("--samples must be at least 2"));
    const int64_t n = samples;
    json::Object result{
        {"exp", measure(isa::vectorExp, dexp, -87.0, 88.0, n)},
        {"exp_unit", measure(isa::vectorExp, dexp, -10.0, 10.0, n)},
        {"rsqrt", measure(rsqrtOfExp2, exactRsqrtOfExp2, -120.0, 120.0, n)},
        {"erf", measure(isa::vectorErf, derf, -6.0, 6.0, n)},
        {"gelu", measure(isa::vectorGelu, exactGelu, -10.0, 10.0, n, 1e-3)},
        {"silu", measure(isa::vectorSilu, exactSilu, -20.0, 20.0, n)},
    };
    std::string text;
    raw_string_ostream(text) << formatv("{0:2}", json::Value(std::move(result)))
                             << "\n";
    return writeOutput(text);
  }
  if (matmul.empty())
    return llmc::reportToolError(
        kTool, createStringError("nothing to do: give --matmul MxKxN or "
                                 "--approx-errors"));
  SmallVector<StringRef> dims;
  StringRef(matmul).split(dims, 'x');
  isa::MatmulSpec spec;
  int64_t *fields[] = {&spec.m, &spec.k, &spec.n};
  if (dims.size() != 3)
    return llmc::reportToolError(
        kTool, createStringError("--matmul expects MxKxN, got '" + matmul + "'"));
  for (int i = 0; i < 3; ++i)
    if (dims[i].getAsInteger(10, *fields[i]) || *fields[i] <= 0)
      return llmc::reportToolError(
          kTool, createStringError("--matmul expects MxKxN, got '" + matmul +
                                   "'"));
  spec.requantize = requantize;
  spec.scale = scale;
  spec.zeroPoint = zeroPoint;
  spec.channelScales = channelScales;
  spec.bias = bias;
  spec.lhsUnsigned = lhsUnsigned;
  spec.zeroPointRow = zeroPointRow;
  if (inputScale.getNumOccurrences())
    spec.inputScale = inputScale;
  if (quantScale.getNumOccurrences()) {
    if (!requantize || !(quantScale > 0))
      return llmc::reportToolError(
          kTool, createStringError("--quant-scale needs --requantize and a "
                                   "scale > 0"));
    spec.quantScale = quantScale;
  }
  spec.buffers = buffers;
  spec.blockM = blockM;
  spec.blockN = blockN;
  Expected<isa::Config> config = isa::Config::load(targetDesc);
  if (!config)
    return llmc::reportToolError(kTool, config.takeError());
  Expected<isa::Program> program = isa::generateMatmul(spec, *config, targetDesc);
  if (!program)
    return llmc::reportToolError(kTool, program.takeError());
  StringRef out(outputPath);
  if (out.ends_with(".npubin"))
    return writeOutput(isa::writeBinary(*program));
  if (out.ends_with(".mlir")) {
    mlir::MLIRContext context;
    mlir::OwningOpRef<mlir::ModuleOp> module =
        mlir::npu::fromProgram(*program, &context);
    std::string text;
    raw_string_ostream os(text);
    module->print(os);
    os << "\n";
    return writeOutput(text);
  }
  std::string text;
  raw_string_ostream os(text);
  isa::printAssembly(*program, os);
  return writeOutput(text);
}
