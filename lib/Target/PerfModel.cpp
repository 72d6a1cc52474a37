//===- PerfModel.cpp - roofline estimates of a graph on a target ----------===//
#include "llmc/Target/PerfModel.h"

#include "llm/IR/LLMOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <set>

using namespace llmc;
using llvm::StringRef;

namespace {

/// Bytes of a value split into float (counted at fp32) and other bytes.
struct Bytes {
  double floating = 0, other = 0;
  Bytes &operator+=(const Bytes &b) {
    floating += b.floating;
    other += b.other;
    return *this;
  }
};

Bytes bytesOf(mlir::Type type) {
  auto tensor = llvm::dyn_cast<mlir::RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return {};
  double elements = tensor.getNumElements();
  mlir::Type element = tensor.getElementType();
  unsigned bits = element.getIntOrFloatBitWidth();
  // f32 (and wider) values are costed at the target's float width; a
  // model's 16-bit floats (an fp16 model) keep their two bytes everywhere.
  if (llvm::isa<mlir::FloatType>(element) && bits >= 32)
    return {elements * 4, 0};
  // i1 (a boolean mask) is stored a byte per element; 4-bit weights two to
  // a byte, a tensor in whole bytes.
  if (bits <= 1)
    bits = 8;
  return {0, std::ceil(elements * bits / 8.0)};
}

std::string nameOf(mlir::Location loc, StringRef fallback) {
  if (auto name = llvm::dyn_cast<mlir::NameLoc>(loc))
    return name.getName().str();
  if (auto fused = llvm::dyn_cast<mlir::FusedLoc>(loc)) {
    // A fused op is named after its last node (the one whose value it
    // produces): the output of the chain is what a reader looks for.
    std::string last;
    for (mlir::Location inner : fused.getLocations())
      if (std::string name = nameOf(inner, ""); !name.empty())
        last = name;
    if (!last.empty())
      return last;
  }
  return fallback.str();
}

std::string dtypeOf(mlir::Type type) {
  mlir::Type element = mlir::getElementTypeOrSelf(type);
  if (llvm::isa<mlir::IntegerType>(element))
    return "int8";
  if (llvm::isa<mlir::FloatType>(element) &&
      element.getIntOrFloatBitWidth() == 8)
    return "fp8";
  // A 16-bit model's products run in its type where the target has it.
  if (element.isF16())
    return "fp16";
  if (element.isBF16())
    return "bf16";
  return "float";
}

/// FLOPs per result element of the vector-unit ops (a rough count of the
/// arithmetic in each: transcendental functions count as a few).
double vectorFlopsPerElement(mlir::Operation *op) {
  if (llvm::isa<mlir::llm::LayerNormOp>(op))
    return 8;
  if (llvm::isa<mlir::llm::RMSNormOp, mlir::llm::SoftmaxOp>(op))
    return 5;
  if (llvm::isa<mlir::llm::GeluOp>(op))
    return 8;
  if (llvm::isa<mlir::llm::SiluOp, mlir::llm::ExpOp, mlir::llm::TanhOp,
                mlir::llm::ErfOp, mlir::llm::SigmoidOp, mlir::llm::LogOp,
                mlir::llm::SinOp, mlir::llm::CosOp, mlir::llm::PowOp>(op))
    return 4;
  if (llvm::isa<mlir::llm::TransposeOp, mlir::llm::ConcatOp,
                mlir::llm::SliceOp, mlir::llm::SplitOp, mlir::llm::GatherOp,
                mlir::llm::ExpandOp, mlir::llm::CastOp, mlir::llm::WhereOp,
                mlir::llm::TriluOp>(op))
    return 0;
  return 1;
}

double matmulFlops(mlir::llm::MatMulOp matmul, double resultElements) {
  auto lhs = matmul.getLhs().getType();
  int64_t k = lhs.getDimSize(lhs.getRank() - (matmul.getTransposeLhs() ? 2 : 1));
  double epilogue = (matmul.getBias() ? 1 : 0) + (matmul.getResidual() ? 1 : 0) +
                    (matmul.getScale().convertToDouble() != 1.0 ? 1 : 0) +
                    (matmul.getActivation() != mlir::llm::Activation::none ? 4
                                                                           : 0);
  return resultElements * (2.0 * k + epilogue);
}

double attentionFlops(mlir::llm::AttentionOp attention) {
  auto q = llvm::cast<mlir::RankedTensorType>(attention.getQuery().getType());
  auto k = llvm::cast<mlir::RankedTensorType>(attention.getKey().getType());
  auto v = llvm::cast<mlir::RankedTensorType>(attention.getValue().getType());
  if (!q.hasStaticShape() || !k.hasStaticShape() || !v.hasStaticShape())
    return 0;
  int64_t rank = q.getRank();
  double sq = q.getDimSize(rank - 2), d = q.getDimSize(rank - 1);
  double sk = k.getDimSize(rank - 2), dv = v.getDimSize(rank - 1);
  double rows = q.getNumElements() / (sq * d); // batch x heads
  // Query i attends min(Sk, i + Sk - Sq + 1) keys when causal, at most W
  // of them with a window W; a fused kernel skips the rest.
  double pairs = sq * sk;
  if (attention.getCausal()) {
    double window = attention.getWindow().value_or(sk);
    pairs = 0;
    for (int64_t i = 0; i < sq; ++i)
      pairs += std::clamp<double>(i + sk - sq + 1, 0, std::min(sk, window));
  }
  return rows * pairs * (2.0 * d + 2.0 * dv + 5.0);
}

} // namespace

GraphCost llmc::collectOpCosts(mlir::ModuleOp graph) {
  GraphCost graphCost;
  std::vector<OpCost> &costs = graphCost.ops;
  graph.walk([&](mlir::func::FuncOp func) {
    // Values computed from weights alone (a transposed or dequantized
    // weight) cost nothing at run time on an accelerator: the compiler
    // prepares them, or the consumer's kernel reads the source directly.
    llvm::DenseMap<mlir::Value, Bytes> weights;
    auto addWeight = [&](mlir::Value value) {
      Bytes bytes = bytesOf(value.getType());
      weights[value] = bytes;
      graphCost.weightFloatBytes += bytes.floating;
      graphCost.weightOtherBytes += bytes.other;
    };
    for (mlir::BlockArgument argument : func.getArguments())
      if (func.getArgAttr(argument.getArgNumber(), "llm.weight"))
        addWeight(argument);
    func.walk([&](mlir::Operation *op) {
      if (!llvm::isa<mlir::llm::LLMDialect>(op->getDialect()) ||
          op->getNumResults() == 0)
        return;
      if (auto constant = llvm::dyn_cast<mlir::llm::ConstantOp>(op)) {
        addWeight(constant.getResult());
        return;
      }
      bool isProduct =
          llvm::isa<mlir::llm::MatMulOp, mlir::llm::QMatMulOp,
                    mlir::llm::GemmOp, mlir::llm::AttentionOp>(op);
      bool fromWeights =
          op->getNumOperands() > 0 &&
          llvm::all_of(op->getOperands(),
                       [&](mlir::Value v) { return weights.count(v) > 0; });
      if (fromWeights && !isProduct) {
        Bytes source;
        for (mlir::Value operand : op->getOperands())
          source += weights[operand];
        for (mlir::Value result : op->getResults())
          weights[result] = source;
        return;
      }
      if (llvm::isa<mlir::llm::ReshapeOp>(op))
        return; // a view: no data moves
      // Experts' weights gathered per token (a routed mixture of experts)
      // for products only: the products read the gathered rows of the
      // table through the indices, as the ptx kernels do; no copy is made.
      if (auto gather = llvm::dyn_cast<mlir::llm::GatherOp>(op);
          gather && weights.count(gather.getData()) &&
          !op->getResult(0).use_empty() &&
          llvm::all_of(op->getResult(0).getUses(), [](mlir::OpOperand &use) {
            mlir::Operation *user = use.getOwner();
            return (llvm::isa<mlir::llm::MatMulOp, mlir::llm::QMatMulOp>(
                        user) &&
                    use.getOperandNumber() == 1) ||
                   llvm::isa<mlir::llm::DequantizeOp>(user);
          })) {
        weights[gather.getResult()] = bytesOf(gather.getType());
        return;
      }

      auto resultType =
          llvm::dyn_cast<mlir::RankedTensorType>(op->getResult(0).getType());
      if (!resultType || !resultType.hasStaticShape())
        return;
      double elements = resultType.getNumElements();

      OpCost cost;
      cost.op = op->getName().getStringRef().str();
      cost.name = nameOf(op->getLoc(), cost.op);
      cost.matrix = isProduct;
      cost.dtype = isProduct ? dtypeOf(op->getOperand(0).getType()) : "float";
      // An e4m3 product's i8 operands hold FP8 bytes.
      if (auto qmatmul = llvm::dyn_cast<mlir::llm::QMatMulOp>(op);
          qmatmul && qmatmul.getE4m3())
        cost.dtype = "fp8";
      if (auto matmul = llvm::dyn_cast<mlir::llm::MatMulOp>(op))
        cost.flops = matmulFlops(matmul, elements);
      else if (auto qmatmul = llvm::dyn_cast<mlir::llm::QMatMulOp>(op))
        cost.flops = 2.0 * elements *
                     qmatmul.getLhs().getType().getShape().back();
      else if (auto gemm = llvm::dyn_cast<mlir::llm::GemmOp>(op))
        cost.flops = 2.0 * elements *
                     gemm.getA().getType().getDimSize(gemm.getTransposeA() ? 0
                                                                          : 1);
      else if (auto attention = llvm::dyn_cast<mlir::llm::AttentionOp>(op))
        cost.flops = attentionFlops(attention);
      else
        cost.flops = vectorFlopsPerElement(op) * elements;

      auto addStream = [&](Bytes b) {
        cost.streamFloatBytes += b.floating;
        cost.streamOtherBytes += b.other;
      };
      auto addCache = [&](Bytes b) {
        cost.cacheFloatBytes += b.floating;
        cost.cacheOtherBytes += b.other;
      };
      auto addWeight = [&](Bytes b) {
        cost.weightFloatBytes += b.floating;
        cost.weightOtherBytes += b.other;
      };
      for (mlir::OpOperand &operand : op->getOpOperands()) {
        mlir::Value value = operand.get();
        unsigned index = operand.getOperandNumber();
        if (auto it = weights.find(value); it != weights.end()) {
          // An embedding lookup reads only the rows it gathers.
          if (llvm::isa<mlir::llm::GatherOp>(op) && index == 0)
            addWeight(bytesOf(resultType));
          else
            addWeight(it->second);
          continue;
        }
        bool cached =
            (llvm::isa<mlir::llm::MatMulOp, mlir::llm::QMatMulOp>(op) &&
             index == 1) ||
            (llvm::isa<mlir::llm::AttentionOp>(op) && (index == 1 || index == 2));
        if (cached)
          addCache(bytesOf(value.getType()));
        else
          addStream(bytesOf(value.getType()));
      }
      for (mlir::Value result : op->getResults())
        addStream(bytesOf(result.getType()));
      costs.push_back(std::move(cost));
    });
  });
  return graphCost;
}

namespace {

/// The float type a target computes fp32 graphs in: its fastest 16-bit
/// matrix type if it has one, else fp32.
std::string floatDtype(const TargetDescription &target) {
  for (StringRef dtype : {"bf16", "fp16", "fp32"})
    if (target.matrixOpsPerSecond(dtype))
      return dtype.str();
  return "fp32";
}

double widthOf(StringRef dtype) {
  return (dtype == "bf16" || dtype == "fp16") ? 2 : dtype == "fp32" ? 4 : 1;
}

struct Timing {
  double seconds = 0, flops = 0, bytes = 0, computeSeconds = 0,
         memorySeconds = 0;
};

} // namespace

llvm::json::Object llmc::summarize(const GraphCost &graphCost,
                                   double floatBytes) {
  double scale = floatBytes / 4.0;
  double flops = 0, matmulFlops = 0, bytes = 0;
  for (const OpCost &cost : graphCost.ops) {
    flops += cost.flops;
    if (cost.matrix)
      matmulFlops += cost.flops;
    bytes += (cost.weightFloatBytes + cost.streamFloatBytes +
              cost.cacheFloatBytes) *
                 scale +
             cost.weightOtherBytes + cost.streamOtherBytes +
             cost.cacheOtherBytes;
  }
  // The model's float type: that of its 16-bit products, else fp32.
  std::string precision = "fp32";
  for (const OpCost &cost : graphCost.ops)
    if (cost.matrix && (cost.dtype == "fp16" || cost.dtype == "bf16"))
      precision = cost.dtype;
  // The products' types (a quantized model's int8 or fp8 among them), as a
  // described target's estimate lists them.
  std::set<std::string> products;
  for (const OpCost &cost : graphCost.ops)
    if (cost.matrix)
      products.insert(cost.dtype == "float" ? precision : cost.dtype);
  llvm::json::Array productList;
  for (const std::string &type : products)
    productList.push_back(type);
  return llvm::json::Object{
      {"flops", flops},
      {"matmul_flops", matmulFlops},
      {"bytes", bytes},
      {"precision", precision},
      {"matrix_precisions", std::move(productList)},
      {"weight_bytes",
       graphCost.weightFloatBytes * scale + graphCost.weightOtherBytes},
      {"arithmetic_intensity", bytes > 0 ? flops / bytes : 0.0}};
}

llvm::json::Object llmc::estimate(const TargetDescription &target,
                                  const GraphCost &graphCost,
                                  const Workload &workload, bool layers,
                                  std::optional<int64_t> launches) {
  llvm::ArrayRef<OpCost> costs = graphCost.ops;
  std::string floatType = floatDtype(target);
  double floatScale = widthOf(floatType) / 4.0;
  double bandwidth = target.memoryBandwidth();
  // The overhead of a kernel, once per op, or per launch of compiled code.
  double overhead = target.opOverheadSeconds();
  if (launches && !costs.empty())
    overhead *= static_cast<double>(*launches) / costs.size();
  double tokens = workload.tokens > 0 ? workload.tokens : 0;

  // Energy per op: the description's per-operation energies if it has them.
  std::string kind = target.kind().str();
  std::optional<double> dramEnergy =
      target.number(kind + ".energy_per_byte_j.dram");
  std::optional<double> vectorEnergy =
      target.number(kind + ".energy_per_vector_op_j");
  double staticPower = target.number(kind + ".static_power_w").value_or(0.0);
  bool componentEnergy = dramEnergy.has_value();

  std::set<std::string> precisions, emulated;
  auto unitFor = [&](const OpCost &cost) -> std::pair<std::string, double> {
    if (!cost.matrix)
      return {"vector", target.vectorOpsPerSecond()};
    std::string dtype = cost.dtype == "float" ? floatType : cost.dtype;
    std::optional<double> rate = target.matrixOpsPerSecond(dtype);
    if (!rate) {
      emulated.insert(dtype);
      dtype = floatType;
      rate = target.matrixOpsPerSecond(floatType);
    }
    precisions.insert(dtype);
    return {dtype, rate.value_or(target.vectorOpsPerSecond())};
  };

  double matmulFlops = 0;
  double weightBytes =
      graphCost.weightFloatBytes * floatScale + graphCost.weightOtherBytes;
  Timing prefill, decode;
  double prefillEnergy = 0, decodeEnergy = 0;
  llvm::json::Array layerRows;
  for (const OpCost &cost : costs) {
    const std::pair<std::string, double> unitAndRate = unitFor(cost);
    const std::string &unit = unitAndRate.first;
    const double rate = unitAndRate.second;
    double weights = cost.weightFloatBytes * floatScale + cost.weightOtherBytes;
    double stream = cost.streamFloatBytes * floatScale + cost.streamOtherBytes;
    double cache = cost.cacheFloatBytes * floatScale + cost.cacheOtherBytes;
    if (cost.matrix)
      matmulFlops += cost.flops;

    auto time = [&](double flops, double bytes, Timing &total,
                    double &energy) {
      double compute = flops / rate, memory = bytes / bandwidth;
      double seconds = std::max(compute, memory) + overhead;
      total.seconds += seconds;
      total.flops += flops;
      total.bytes += bytes;
      (compute >= memory ? total.computeSeconds : total.memorySeconds) +=
          seconds;
      if (componentEnergy) {
        std::optional<double> macEnergy =
            cost.matrix ? target.number(kind + ".energy_per_mac_j." + unit)
                        : std::nullopt;
        energy += macEnergy ? flops / 2 * *macEnergy
                            : flops * vectorEnergy.value_or(0.0);
        energy += bytes * *dramEnergy + staticPower * seconds;
      } else {
        energy += target.powerWatts() * seconds;
      }
      return std::make_pair(seconds, compute >= memory);
    };
    double bytes = weights + stream + cache;
    auto [seconds, computeBound] = time(cost.flops, bytes, prefill, prefillEnergy);
    if (tokens > 0)
      time(cost.flops / tokens, weights + stream / tokens + cache, decode,
           decodeEnergy);
    if (layers)
      layerRows.push_back(llvm::json::Object{
          {"name", cost.name},
          {"op", cost.op},
          {"unit", unit},
          {"flops", cost.flops},
          {"bytes", bytes},
          {"arithmetic_intensity", bytes > 0 ? cost.flops / bytes : 0.0},
          {"latency_s", seconds},
          {"bound", computeBound ? "compute" : "memory"}});
  }

  // Rates over a time of zero (a graph that folds to constants) are
  // unknown: null, as JSON has no infinity.
  auto orNull = [](bool known, double value) -> llvm::json::Value {
    if (!known || !std::isfinite(value))
      return nullptr;
    return value;
  };
  double batch = std::max<int64_t>(workload.batch, 1);
  bool haveTokens = tokens > 0;
  double prefillTokens = haveTokens ? batch * tokens : batch;

  llvm::json::Array precisionList, emulatedList;
  for (const std::string &p : precisions)
    precisionList.push_back(p);
  for (const std::string &p : emulated)
    emulatedList.push_back(p);
  llvm::json::Object peaks;
  if (const llvm::json::Object *rates =
          target.json().getObject("matrix_ops_per_s"))
    peaks = *rates;

  llvm::json::Object entry{
      {"flops", prefill.flops},
      {"matmul_flops", matmulFlops},
      {"bytes", prefill.bytes},
      {"weight_bytes", weightBytes},
      {"arithmetic_intensity",
       prefill.bytes > 0 ? prefill.flops / prefill.bytes : 0.0},
      {"batch", workload.batch},
      {"tokens", orNull(haveTokens, tokens)},
      {"precision", floatType},
      {"matrix_precisions", std::move(precisionList)},
      {"latency_s", prefill.seconds},
      {"prefill_tokens_per_s",
       orNull(haveTokens, prefillTokens / prefill.seconds)},
      {"prefill_energy_per_token_j",
       orNull(haveTokens, prefillEnergy / prefillTokens)},
      {"compute_bound_fraction",
       prefill.seconds > 0 ? prefill.computeSeconds / prefill.seconds : 0.0},
      {"decode_latency_s", orNull(haveTokens, decode.seconds)},
      {"decode_bytes", orNull(haveTokens, decode.bytes)},
      {"tokens_per_s", orNull(haveTokens, batch / decode.seconds)},
      {"energy_per_token_j", orNull(haveTokens, decodeEnergy / batch)},
      {"energy_model", componentEnergy ? "per-operation energies + static power"
                                       : "power_w x time (an upper bound)"},
      {"target_desc",
       llvm::json::Object{{"name", target.name().str()},
                          {"kind", target.kind().str()},
                          {"origin", target.origin().str()},
                          {"matrix_ops_per_s", std::move(peaks)},
                          {"vector_ops_per_s", target.vectorOpsPerSecond()},
                          {"bandwidth_bytes_per_s", bandwidth},
                          {"on_chip_bytes", target.onChipBytes()},
                          {"power_w", target.powerWatts()},
                          {"op_overhead_s", target.opOverheadSeconds()}}},
      {"kernel_launches", launches ? llvm::json::Value(*launches) : nullptr},
      {"overhead_per", launches ? "launch" : "op"},
  };
  if (!emulated.empty())
    entry["emulated_precisions"] = std::move(emulatedList);
  if (layers)
    entry["layers"] = std::move(layerRows);
  return entry;
}

//===----------------------------------------------------------------------===//
// Roofline chart
//===----------------------------------------------------------------------===//

std::string llmc::renderRoofline(
    llvm::ArrayRef<std::pair<std::string, const llvm::json::Object *>> entries,
    StringRef title) {
  static const char *colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                 "#ff7f0e", "#8c564b"};
  const double width = 760, height = 500, left = 80, right = 170, top = 40,
               bottom = 60;
  const double plotW = width - left - right, plotH = height - top - bottom;

  // Axis ranges: decades that hold every roof and point.
  double xMin = 1e-2, xMax = 1e4, yMin = 1e18, yMax = 0;
  for (const auto &[name, entry] : entries) {
    const llvm::json::Object *desc = entry->getObject("target_desc");
    if (const llvm::json::Object *peaks =
            desc ? desc->getObject("matrix_ops_per_s") : nullptr)
      for (const auto &peak : *peaks)
        yMax = std::max(yMax, peak.second.getAsNumber().value_or(0));
    if (const llvm::json::Array *rows = entry->getArray("layers"))
      for (const llvm::json::Value &row : *rows) {
        const llvm::json::Object *r = row.getAsObject();
        double flops = r->getNumber("flops").value_or(0);
        double seconds = r->getNumber("latency_s").value_or(0);
        double ai = r->getNumber("arithmetic_intensity").value_or(0);
        if (flops <= 0 || seconds <= 0 || ai <= 0)
          continue;
        yMin = std::min(yMin, flops / seconds);
        xMin = std::min(xMin, ai);
        xMax = std::max(xMax, ai);
      }
  }
  if (yMax <= 0)
    yMax = 1e15;
  yMin = std::min(yMin, yMax / 1e4);
  double lx0 = std::floor(std::log10(xMin)), lx1 = std::ceil(std::log10(xMax));
  double ly0 = std::floor(std::log10(yMin)), ly1 = std::ceil(std::log10(yMax));
  auto px = [&](double x) {
    return left + (std::log10(x) - lx0) / (lx1 - lx0) * plotW;
  };
  auto py = [&](double y) {
    return top + plotH - (std::log10(y) - ly0) / (ly1 - ly0) * plotH;
  };

  std::string svg;
  llvm::raw_string_ostream os(svg);
  os << llvm::formatv("<svg xmlns=\"http://www.w3.org/2000/svg\" "
                      "width=\"{0}\" height=\"{1}\" font-family=\"sans-serif\" "
                      "font-size=\"12\">\n",
                      width, height);
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << llvm::formatv("<text x=\"{0}\" y=\"22\" font-size=\"15\">", left);
  for (char c : title)
    os << (c == '<' ? "&lt;" : c == '&' ? "&amp;" : std::string(1, c));
  os << "</text>\n";
  // Grid and decade labels.
  for (double e = lx0; e <= lx1; ++e) {
    double x = px(std::pow(10, e));
    os << llvm::formatv("<line x1=\"{0:f1}\" y1=\"{1}\" x2=\"{0:f1}\" "
                        "y2=\"{2}\" stroke=\"#ddd\"/>\n",
                        x, top, top + plotH);
    os << llvm::formatv("<text x=\"{0:f1}\" y=\"{1}\" text-anchor=\"middle\">"
                        "1e{2}</text>\n",
                        x, top + plotH + 16, static_cast<int>(e));
  }
  for (double e = ly0; e <= ly1; ++e) {
    double y = py(std::pow(10, e));
    os << llvm::formatv("<line x1=\"{0}\" y1=\"{1:f1}\" x2=\"{2}\" "
                        "y2=\"{1:f1}\" stroke=\"#ddd\"/>\n",
                        left, y, left + plotW);
    os << llvm::formatv("<text x=\"{0}\" y=\"{1:f1}\" text-anchor=\"end\">"
                        "1e{2}</text>\n",
                        left - 6, y + 4, static_cast<int>(e));
  }
  os << llvm::formatv("<rect x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{3}\" "
                      "fill=\"none\" stroke=\"black\"/>\n",
                      left, top, plotW, plotH);
  os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\">"
                      "arithmetic intensity (FLOP/byte)</text>\n",
                      left + plotW / 2, height - 18);
  os << llvm::formatv("<text transform=\"translate(18,{0}) rotate(-90)\" "
                      "text-anchor=\"middle\">attainable FLOP/s</text>\n",
                      top + plotH / 2);

  size_t index = 0;
  for (const auto &[name, entry] : entries) {
    const char *color = colors[index % std::size(colors)];
    const llvm::json::Object *desc = entry->getObject("target_desc");
    double bandwidth = desc->getNumber("bandwidth_bytes_per_s").value_or(1);
    double vector = desc->getNumber("vector_ops_per_s").value_or(1);
    double matrix = vector;
    const llvm::json::Object *peaks = desc->getObject("matrix_ops_per_s");
    if (const llvm::json::Array *used = entry->getArray("matrix_precisions"))
      for (const llvm::json::Value &p : *used)
        if (std::optional<StringRef> dtype = p.getAsString())
          matrix = std::max(matrix, peaks->getNumber(*dtype).value_or(0));
    auto roof = [&](double peak, const char *dash) {
      double xr = peak / bandwidth;
      double x0 = std::pow(10, lx0), x1 = std::pow(10, lx1);
      double xs[] = {x0, std::clamp(xr, x0, x1), x1};
      os << "<polyline fill=\"none\" stroke=\"" << color
         << "\" stroke-width=\"2\"" << dash << " points=\"";
      for (double x : xs) {
        double y = std::min(peak, x * bandwidth);
        y = std::max(y, std::pow(10, ly0));
        os << llvm::formatv("{0:f1},{1:f1} ", px(x), py(y));
      }
      os << "\"/>\n";
    };
    roof(matrix, "");
    roof(vector, " stroke-dasharray=\"5,4\"");
    if (const llvm::json::Array *rows = entry->getArray("layers"))
      for (const llvm::json::Value &row : *rows) {
        const llvm::json::Object *r = row.getAsObject();
        double flops = r->getNumber("flops").value_or(0);
        double seconds = r->getNumber("latency_s").value_or(0);
        double ai = r->getNumber("arithmetic_intensity").value_or(0);
        if (flops <= 0 || seconds <= 0 || ai <= 0)
          continue;
        std::string label = r->getString("name").value_or("").str();
        std::string escaped;
        for (char c : label)
          escaped += c == '<' ? "&lt;" : c == '&' ? "&amp;" : std::string(1, c);
        os << llvm::formatv("<circle cx=\"{0:f1}\" cy=\"{1:f1}\" r=\"3\" "
                            "fill=\"{2}\" fill-opacity=\"0.6\"><title>{3}: "
                            "{4} ({5:e2} FLOP/s)</title></circle>\n",
                            px(ai), py(flops / seconds), color, name, escaped,
                            flops / seconds);
      }
    std::string legend =
        name + " (" + desc->getString("name").value_or("").str() + ")";
    double ly = top + 16 + 18 * index;
    os << llvm::formatv("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" "
                        "stroke=\"{3}\" stroke-width=\"2\"/>\n",
                        left + plotW + 10, ly - 4, left + plotW + 30, color);
    os << llvm::formatv("<text x=\"{0}\" y=\"{1}\">{2}</text>\n",
                        left + plotW + 34, ly, legend);
    ++index;
  }
  double ly = top + 16 + 18 * index + 8;
  os << llvm::formatv("<text x=\"{0}\" y=\"{1}\" fill=\"#555\">solid: matrix "
                      "unit</text>\n<text x=\"{0}\" y=\"{2}\" fill=\"#555\">"
                      "dashed: vector unit</text>\n<text x=\"{0}\" y=\"{3}\" "
                      "fill=\"#555\">dots: layers</text>\n",
                      left + plotW + 10, ly, ly + 16, ly + 32);
  os << "</svg>\n";
  return svg;
}
