//===- PerfModel.h - roofline estimates of a graph on a target --*- C++ -*-===//
//
// The estimates in the PoC report. Each tensor op of the graph (after fusion
// and quantization, before lowering) becomes an OpCost: its FLOPs and the
// bytes it reads and writes, split into weights, activations that grow with
// the number of tokens, and cached operands (attention keys and values) that
// a decode step reads in full. On a target, an op takes
//
//   max(flops / peak(unit, dtype), bytes / memory bandwidth) + op overhead
//
// where the unit is the matrix unit for products and attention (at the
// dtype the target computes the op in: int8/fp8 for quantized ops, else its
// preferred float type) and the vector unit for everything else. Prefill is
// one forward pass at the compiled shape; a decode step is the same graph
// for one new token per sequence against a cache of the compiled length
// (FLOPs and token-sized activations divided by the token count, weights
// and caches read in full). Energy is the description's power over the time,
// or, where the description has per-operation energies (the NPU), MACs,
// vector ops and DRAM bytes times their energies plus static power.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_TARGET_PERFMODEL_H
#define LLMC_TARGET_PERFMODEL_H

#include "llmc/Target/TargetDescription.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>
#include <vector>

namespace llmc {

struct OpCost {
  std::string name;   ///< the ONNX node the op came from, else the op name
  std::string op;     ///< e.g. "llm.matmul"
  bool matrix = false;     ///< runs on the matrix unit
  std::string dtype;       ///< "float", "int8", "fp8"
  double flops = 0;
  /// Bytes by role; float bytes are counted at fp32 and rescaled to the
  /// target's float width, other bytes (integers, fp8) are as stored.
  double weightFloatBytes = 0, weightOtherBytes = 0;
  double streamFloatBytes = 0, streamOtherBytes = 0;
  double cacheFloatBytes = 0, cacheOtherBytes = 0;
};

/// One forward pass: `batch` sequences of `tokens` tokens (0 if unknown).
struct Workload {
  int64_t batch = 1;
  int64_t tokens = 0;
};

/// The costs of a graph: one entry per tensor op, and the bytes of its
/// distinct weights (each counted once, however many ops read it).
struct GraphCost {
  std::vector<OpCost> ops;
  double weightFloatBytes = 0, weightOtherBytes = 0;
};

/// The costs of the tensor ops in the module's functions.
GraphCost collectOpCosts(mlir::ModuleOp graph);

/// Target-independent totals: flops, matmul_flops, bytes (the sum over ops
/// of what each reads and writes), weight_bytes and arithmetic_intensity,
/// with float tensors at `floatBytes` bytes per element.
llvm::json::Object summarize(const GraphCost &costs, double floatBytes = 4);

/// The report entry for one target: totals, prefill and decode estimates,
/// per-layer rows (when `layers`), and the description assumed. Each op
/// pays the description's op_overhead_s; given the `launches` of the code
/// compiled for the target (its kernels are fewer than the graph's ops),
/// the forward pays it once per launch instead, spread evenly over the ops.
llvm::json::Object estimate(const TargetDescription &target,
                            const GraphCost &costs, const Workload &workload,
                            bool layers = true,
                            std::optional<int64_t> launches = std::nullopt);

/// An SVG log-log roofline chart: each target's roofs (matrix unit at the
/// precision used, vector unit) and each of its layers as a point at
/// (arithmetic intensity, attained FLOP/s). `entries` are report entries
/// from estimate() with their target names.
std::string
renderRoofline(llvm::ArrayRef<std::pair<std::string, const llvm::json::Object *>>
                   entries,
               llvm::StringRef title);

} // namespace llmc

#endif // LLMC_TARGET_PERFMODEL_H
