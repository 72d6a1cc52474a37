//===- HLSEstimates.cpp - the report's view of the HLS schedule -----------===//
//
// Reads back the estimates llm-hls-annotate recorded on each loop nest and
// sums them for the report: cycles, DSPs, BRAM36 and URAM blocks per kernel
// (loop nest), totals against the FPGA description's resources, and the
// latency at the description's clock.
//
//===----------------------------------------------------------------------===//
#include "llmc/Target/HLS/HLSCpp.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

llvm::json::Object llmc::hlsEstimates(ModuleOp module,
                                      const llvm::json::Object *fpga) {
  llvm::json::Array kernels;
  int64_t cycles = 0, dsp = 0, bram = 0, uram = 0, interval = 0;
  llvm::DenseMap<int64_t, int64_t> stageCycles;
  bool dataflow = false;
  std::optional<std::string> blocked;
  auto intAttr = [](Operation *op, StringRef name) -> int64_t {
    auto attr = op->getAttrOfType<IntegerAttr>(name);
    return attr ? attr.getInt() : 0;
  };
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func->hasAttr("hls.top"))
      continue;
    dataflow = func->hasAttr("hls.dataflow");
    if (auto reason = func->getAttrOfType<StringAttr>("hls.dataflow_blocked"))
      blocked = reason.str();
    for (auto nest : func.getBody().front().getOps<affine::AffineForOp>()) {
      llvm::json::Array nodes;
      if (auto names = nest->getAttrOfType<ArrayAttr>("hls.nodes"))
        for (auto name : names.getAsValueRange<StringAttr>())
          nodes.push_back(name.str());
      std::string name = "loop";
      if (auto label = nest->getAttrOfType<StringAttr>("hls.label"))
        name = StringRef(label.getValue()).rsplit("_l").first.str();
      int64_t c = intAttr(nest, "hls.cycles"), d = intAttr(nest, "hls.dsp"),
              b = intAttr(nest, "hls.bram_36k"), u = intAttr(nest, "hls.uram");
      int64_t stage = intAttr(nest, "hls.stage");
      // The schedule of the pipelined innermost loops: their II and lanes.
      int64_t ii = 0, unroll = 0;
      nest.walk([&](affine::AffineForOp loop) {
        if (!loop->hasAttr("hls.pipeline_ii"))
          return;
        ii = std::max(ii, intAttr(loop, "hls.pipeline_ii"));
        unroll = std::max(unroll, std::max<int64_t>(1, intAttr(loop, "hls.unroll")));
      });
      kernels.push_back(llvm::json::Object{{"name", name},
                                           {"ii", ii},
                                           {"unroll", unroll},
                                           {"nodes", std::move(nodes)},
                                           {"stage", stage},
                                           {"cycles", c},
                                           {"dsp", d},
                                           {"bram_36k", b},
                                           {"uram", u}});
      cycles += c;
      dsp += d;
      bram += b;
      uram += u;
      stageCycles[stage] += c;
    }
  }
  for (auto &entry : stageCycles)
    interval = std::max(interval, entry.second);
  if (!dataflow)
    interval = cycles;
  double clock = 0;
  if (auto attr = module->getAttrOfType<FloatAttr>("hls.clock_hz"))
    clock = attr.getValueAsDouble();
  llvm::json::Object totals{{"cycles", cycles},
                            {"dsp", dsp},
                            {"bram_36k", bram},
                            {"uram", uram},
                            {"dataflow", dataflow},
                            {"interval_cycles", interval}};
  if (blocked)
    totals["dataflow_blocked"] = *blocked;
  if (fpga) {
    llvm::json::Object available;
    bool fits = true;
    for (StringRef key : {"dsp", "bram_36k", "uram"}) {
      std::optional<double> have = fpga->getNumber(key);
      if (!have)
        continue;
      available[key] = *have;
      int64_t used = key == "dsp" ? dsp : key == "bram_36k" ? bram : uram;
      fits &= used <= *have;
    }
    totals["available"] = std::move(available);
    totals["fits"] = fits;
  }
  llvm::json::Object result{{"kernels", std::move(kernels)},
                            {"totals", std::move(totals)}};
  if (clock > 0) {
    result["clock_hz"] = clock;
    result["latency_s"] = cycles / clock;
  }
  if (auto target = module->getAttrOfType<StringAttr>("hls.target"))
    result["target"] = target.str();
  return result;
}
