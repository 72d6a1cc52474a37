//===- Tile.cpp - tile llm ops for a target's memory and matrix unit ------===//
//
// llm-tile: an analytical model picks, per op, the tile sizes that fit the
// target's on-chip memory, are multiples of its matrix unit and minimize an
// estimated roofline time (then maximize reuse); scf::tileUsingSCF applies
// them through the ops' TilingInterface. The model is documented in
// Passes.td; the decision is recorded on each tiled op as `llm.tile`.
//
//===----------------------------------------------------------------------===//
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"
#include "llmc/Target/TargetDescription.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/Format.h"

#include <cmath>

namespace mlir::llm {
#define GEN_PASS_DEF_LLMTILE
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;
using llmc::TargetDescription;

namespace {

/// What the cost model uses of a target for ops of one element type.
struct TargetModel {
  std::string targetName;
  /// The matrix unit's data type the op runs at ("bf16", "fp32", "int8").
  std::string dtype;
  int64_t elementBytes = 4;
  /// [m, n, k] of the matrix unit.
  std::array<int64_t, 3> granule = {1, 1, 1};
  double matrixRate = 0, vectorRate = 0, bandwidth = 0, onChipBytes = 0;
  std::optional<double> accumulatorBytes;
  int64_t units = 1;
};

int64_t bytesOf(StringRef dtype) {
  if (dtype == "int8" || dtype == "fp8")
    return 1;
  if (dtype == "bf16" || dtype == "fp16")
    return 2;
  return 4;
}

/// Float ops run at the target's 16-bit float rate when it has one (how
/// accelerators run fp32 models), integer ops at int8.
TargetModel modelFor(const TargetDescription &target, Type element) {
  SmallVector<StringRef> preference;
  if (isa<IntegerType>(element))
    preference = {"int8"};
  else if (element.isF16())
    preference = {"fp16", "bf16", "fp32"};
  else if (isa<Float8E4M3FNType, Float8E5M2Type>(element))
    preference = {"fp8", "bf16", "fp16", "fp32"};
  else
    preference = {"bf16", "fp16", "fp32"};
  TargetModel model;
  model.targetName = target.name().str();
  model.vectorRate = target.vectorOpsPerSecond();
  model.bandwidth = target.memoryBandwidth();
  model.onChipBytes = target.onChipBytes();
  model.accumulatorBytes = target.number("npu.accumulator_bytes");
  model.units = std::max<int64_t>(1, std::llround(target.computeUnits()));
  model.dtype = preference.back().str();
  model.matrixRate = model.vectorRate;
  for (StringRef dtype : preference) {
    std::optional<std::array<int64_t, 3>> unit = target.matrixUnit(dtype);
    std::optional<double> rate = target.matrixOpsPerSecond(dtype);
    if (unit && rate) {
      model.dtype = dtype.str();
      for (auto [granule, size] : llvm::zip(model.granule, *unit))
        granule = std::max<int64_t>(1, size);
      model.matrixRate = *rate;
      break;
    }
  }
  model.elementBytes = bytesOf(model.dtype);
  return model;
}

int64_t roundUp(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

/// Divisors of `extent` that are multiples of `granule`, and `extent`.
SmallVector<int64_t> candidates(int64_t extent, int64_t granule) {
  SmallVector<int64_t> sizes;
  for (int64_t size = granule; size < extent; size += granule)
    if (extent % size == 0)
      sizes.push_back(size);
  sizes.push_back(extent);
  return sizes;
}

/// Fraction of the compute units busy over the waves T tiles take.
double utilization(int64_t tiles, int64_t units) {
  int64_t waves = (tiles + units - 1) / units;
  return static_cast<double>(tiles) / static_cast<double>(waves * units);
}

/// One evaluated tiling.
struct Choice {
  /// Per iteration-domain dim: the tile extent (the dim's extent if whole).
  SmallVector<int64_t> sizes;
  /// The backend's inner block: K for a matmul, keys for attention.
  int64_t block = 0;
  int64_t tiles = 0;
  int64_t footprintBytes = 0;
  double intensity = 0, seconds = 0;
  bool fits = true;
  /// Tie-breaks: |rows - cols| of the tile, and its area.
  int64_t skew = 0, area = 0;
};

/// Estimates closer than this are equal: the model is no more precise, and
/// reuse is then the better guide.
constexpr double kTimeTolerance = 0.05;

bool better(const Choice &a, const Choice &b) {
  if (a.fits != b.fits)
    return a.fits;
  if (!a.fits)
    return a.footprintBytes < b.footprintBytes;
  if (a.seconds < b.seconds * (1 - kTimeTolerance))
    return true;
  if (b.seconds < a.seconds * (1 - kTimeTolerance))
    return false;
  if (std::abs(a.intensity - b.intensity) > 1e-9 * b.intensity)
    return a.intensity > b.intensity;
  if (a.block != b.block)
    return a.block > b.block;
  if (a.skew != b.skew)
    return a.skew < b.skew;
  return a.area > b.area;
}

double roofline(const TargetModel &model, double flops, double rate,
                double traffic, int64_t tiles) {
  return std::max(flops / rate, traffic / model.bandwidth) /
         utilization(tiles, model.units);
}

/// The candidate sizes of one dim: the model's, or the override checked
/// against the dim. `what` names it in errors.
FailureOr<SmallVector<int64_t>> sizesFor(Operation *op, int64_t extent,
                                         int64_t granule,
                                         std::optional<int64_t> override,
                                         StringRef option, StringRef what) {
  if (!override)
    return candidates(extent, granule);
  if (*override >= extent)
    return SmallVector<int64_t>{extent};
  if (extent % *override != 0)
    return op->emitError() << option << ": the " << what << " tile "
                           << *override << " does not divide " << extent
                           << "; tiles must divide their dims";
  return SmallVector<int64_t>{*override};
}

std::optional<int64_t> at(ArrayRef<int64_t> values, size_t index) {
  if (values.empty())
    return std::nullopt;
  return values[index];
}

/// Static shapes without empty dims: the model divides by tile counts.
bool isStatic(Operation *op) {
  auto check = [](Type type) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    return tensor && tensor.hasStaticShape() && tensor.getNumElements() > 0;
  };
  return llvm::all_of(op->getOperandTypes(), check) &&
         llvm::all_of(op->getResultTypes(), check);
}

int64_t product(ArrayRef<int64_t> values) {
  int64_t result = 1;
  for (int64_t value : values)
    result *= value;
  return result;
}

//===----------------------------------------------------------------------===//
// The model per op
//===----------------------------------------------------------------------===//

FailureOr<Choice> chooseMatMul(MatMulOp op, const TargetModel &model,
                               ArrayRef<int64_t> override) {
  ArrayRef<int64_t> result = op.getResult().getType().getShape();
  auto lhs = op.getLhs().getType();
  int64_t rank = result.size();
  int64_t m = result[rank - 2], n = result[rank - 1];
  int64_t k = lhs.getDimSize(op.getTransposeLhs() ? lhs.getRank() - 2
                                                  : lhs.getRank() - 1);
  int64_t batch = product(result.drop_back(2));
  auto [gm, gn, gk] = model.granule;
  StringRef option = "matmul-tile-sizes";
  FailureOr<SmallVector<int64_t>> ms =
      sizesFor(op, m, gm, at(override, 0), option, "M");
  FailureOr<SmallVector<int64_t>> ns =
      sizesFor(op, n, gn, at(override, 1), option, "N");
  FailureOr<SmallVector<int64_t>> ks =
      sizesFor(op, k, gk, at(override, 2), option, "K");
  if (failed(ms) || failed(ns) || failed(ks))
    return failure();

  double b = model.elementBytes;
  std::optional<Choice> best;
  for (int64_t tm : *ms) {
    for (int64_t tn : *ns) {
      for (int64_t tk : *ks) {
        Choice c;
        c.footprintBytes =
            2 * (tm * tk + tk * tn) * model.elementBytes + 4 * tm * tn;
        c.fits =
            c.footprintBytes <= model.onChipBytes &&
            (!model.accumulatorBytes || 4 * tm * tn <= *model.accumulatorBytes);
        c.tiles = batch * (m / tm) * (n / tn);
        double flops =
            2.0 * c.tiles * roundUp(tm, gm) * roundUp(tn, gn) * roundUp(k, gk);
        double traffic = batch * b *
                         (double(m) * k * (n / tn) + double(k) * n * (m / tm) +
                          double(m) * n);
        c.seconds = roofline(model, flops, model.matrixRate, traffic, c.tiles);
        c.intensity = 2.0 * batch * m * n * k / traffic;
        c.block = tk;
        c.skew = std::abs(tm - tn);
        c.area = tm * tn;
        c.sizes.assign(rank - 2, 1); // batch dims
        c.sizes.append({tm, tn, k});
        if (!best || better(c, *best))
          best = c;
      }
    }
  }
  return *best;
}

FailureOr<Choice> chooseAttention(AttentionOp op, const TargetModel &model,
                                  ArrayRef<int64_t> override) {
  ArrayRef<int64_t> query = op.getQuery().getType().getShape();
  ArrayRef<int64_t> key = op.getKey().getType().getShape();
  ArrayRef<int64_t> value = op.getValue().getType().getShape();
  int64_t rank = query.size();
  int64_t sq = query[rank - 2], d = query[rank - 1], sk = key[rank - 2],
          dv = value[rank - 1];
  int64_t heads = product(query.drop_back(2)); // batch dims and query heads
  auto [gm, gn, gk] = model.granule;
  StringRef option = "attention-tile-sizes";
  std::optional<int64_t> rowOverride = at(override, 0);
  // A row tile of causal attention carries its diagonal as an i1 mask,
  // which a float mask cannot be combined with.
  Value mask = op.getMask();
  if (op.getCausal() && mask &&
      !cast<RankedTensorType>(mask.getType()).getElementType().isInteger(1)) {
    if (rowOverride && *rowOverride < sq)
      op.emitWarning() << option << ": causal attention with a float mask "
                       << "keeps its " << sq
                       << " query rows whole; the row tile " << *rowOverride
                       << " is not used here";
    rowOverride = sq;
  }
  FailureOr<SmallVector<int64_t>> qs =
      sizesFor(op, sq, gm, rowOverride, option, "query-row");
  FailureOr<SmallVector<int64_t>> kvs =
      sizesFor(op, sk, gn, at(override, 1), option, "key-block");
  if (failed(qs) || failed(kvs))
    return failure();

  double b = model.elementBytes;
  std::optional<Choice> best;
  for (int64_t tq : *qs) {
    for (int64_t tkv : *kvs) {
      Choice c;
      c.footprintBytes = tq * d * model.elementBytes +
                         2 * tkv * (d + dv) * model.elementBytes +
                         4 * tq * (tkv + dv + 2);
      c.fits = c.footprintBytes <= model.onChipBytes &&
               (!model.accumulatorBytes ||
                4 * tq * (tkv + dv) <= *model.accumulatorBytes);
      c.tiles = heads * (sq / tq);
      double flops = 2.0 * c.tiles * roundUp(tq, gm) *
                     (double(roundUp(sk, gn)) * roundUp(d, gk) +
                      double(roundUp(dv, gn)) * roundUp(sk, gk));
      double traffic =
          heads * b *
          (double(sq) * d + double(sq / tq) * sk * (d + dv) + double(sq) * dv);
      c.seconds = roofline(model, flops, model.matrixRate, traffic, c.tiles);
      c.intensity = 2.0 * heads * sq * sk * (d + dv) / traffic;
      c.block = tkv;
      c.skew = 0;
      c.area = tq;
      c.sizes.assign(rank - 2, 1);
      c.sizes.append({tq, dv});
      if (!best || better(c, *best))
        best = c;
    }
  }
  return *best;
}

/// layer_norm, rms_norm, softmax: `normalized` says which input dims are
/// taken whole; the innermost other dim is split into row blocks.
FailureOr<Choice> chooseNormalization(Operation *op, ArrayRef<bool> normalized,
                                      int64_t parameterTensors,
                                      double opsPerElement,
                                      const TargetModel &model,
                                      ArrayRef<int64_t> override) {
  ArrayRef<int64_t> shape =
      cast<RankedTensorType>(op->getOperand(0).getType()).getShape();
  int64_t rank = shape.size(), inner = -1, elements = 1, outerRows = 1;
  for (int64_t i = 0; i < rank; ++i) {
    if (normalized[i])
      elements *= shape[i];
    else
      inner = i;
  }
  for (int64_t i = 0; i < rank; ++i)
    if (!normalized[i] && i != inner)
      outerRows *= shape[i];
  if (inner < 0) {
    Choice whole;
    whole.sizes.assign(shape.begin(), shape.end());
    whole.tiles = 1;
    return whole;
  }
  FailureOr<SmallVector<int64_t>> rs =
      sizesFor(op, shape[inner], 1, at(override, 0), "norm-tile-sizes", "row");
  if (failed(rs))
    return failure();
  double b = model.elementBytes;
  double rows = double(outerRows) * shape[inner];
  std::optional<Choice> best;
  for (int64_t tr : *rs) {
    Choice c;
    c.footprintBytes =
        (3 * tr + parameterTensors) * elements * model.elementBytes;
    c.fits = c.footprintBytes <= model.onChipBytes;
    c.tiles = outerRows * (shape[inner] / tr);
    double ops = opsPerElement * rows * elements;
    double traffic =
        b * elements * (2 * rows + double(c.tiles) * parameterTensors);
    c.seconds = roofline(model, ops, model.vectorRate, traffic, c.tiles);
    c.intensity = ops / traffic;
    c.area = tr;
    for (int64_t i = 0; i < rank; ++i)
      c.sizes.push_back(normalized[i] ? shape[i] : i == inner ? tr : 1);
    if (!best || better(c, *best))
      best = c;
  }
  return *best;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct TilePass : public llm::impl::LLMTileBase<TilePass> {
  using LLMTileBase::LLMTileBase;

  LogicalResult checkOverride(ModuleOp module, StringRef option,
                              ArrayRef<int64_t> sizes, size_t count,
                              StringRef meaning) {
    if (sizes.empty())
      return success();
    if (sizes.size() != count)
      return module.emitError() << option << " expects " << count << " sizes ("
                                << meaning << "), got " << sizes.size();
    for (int64_t size : sizes)
      if (size <= 0)
        return module.emitError()
               << option << " expects positive sizes, got " << size;
    return success();
  }

  FailureOr<TargetDescription> resolveTarget(ModuleOp module) {
    if (!target.empty()) {
      llvm::Expected<TargetDescription> loaded =
          TargetDescription::load(target);
      if (!loaded)
        return module.emitError()
               << "cannot load target '" << target
               << "': " << llvm::toString(loaded.takeError());
      return std::move(*loaded);
    }
    auto attr = module->getAttrOfType<DictionaryAttr>(kTargetAttrName);
    if (!attr)
      return module.emitError()
             << "llm-tile needs a target: run llm-set-target first or pass "
                "target=NAME|FILE";
    llvm::Expected<TargetDescription> parsed =
        TargetDescription::fromAttr(attr);
    if (!parsed)
      return module.emitError() << "invalid " << kTargetAttrName << ": "
                                << llvm::toString(parsed.takeError());
    return std::move(*parsed);
  }

  FailureOr<Choice> choose(Operation *op, const TargetModel &model) {
    if (auto matmul = dyn_cast<MatMulOp>(op))
      return chooseMatMul(matmul, model, matmulTileSizes);
    if (auto attention = dyn_cast<AttentionOp>(op))
      return chooseAttention(attention, model, attentionTileSizes);
    int64_t rank =
        cast<RankedTensorType>(op->getOperand(0).getType()).getRank();
    SmallVector<bool> normalized(rank, false);
    if (auto softmax = dyn_cast<SoftmaxOp>(op)) {
      normalized[softmax.getAxis()] = true;
      return chooseNormalization(op, normalized, 0, 5, model, normTileSizes);
    }
    if (auto norm = dyn_cast<LayerNormOp>(op)) {
      for (int64_t i = norm.getAxis(); i < rank; ++i)
        normalized[i] = true;
      return chooseNormalization(op, normalized, norm.getBias() ? 2 : 1, 8,
                                 model, normTileSizes);
    }
    auto norm = cast<RMSNormOp>(op);
    for (int64_t i = norm.getAxis(); i < rank; ++i)
      normalized[i] = true;
    return chooseNormalization(op, normalized, 1, 5, model, normTileSizes);
  }

  DictionaryAttr decisionAttr(MLIRContext *context, Operation *op,
                              const TargetModel &model, const Choice &c) {
    Builder b(context);
    SmallVector<NamedAttribute> fields = {
        b.getNamedAttr("target", b.getStringAttr(model.targetName)),
        b.getNamedAttr("dtype", b.getStringAttr(model.dtype)),
        b.getNamedAttr("sizes", b.getDenseI64ArrayAttr(c.sizes)),
        b.getNamedAttr("tiles", b.getI64IntegerAttr(c.tiles)),
        b.getNamedAttr("footprint_bytes",
                       b.getI64IntegerAttr(c.footprintBytes)),
        b.getNamedAttr("intensity", b.getF64FloatAttr(c.intensity)),
        b.getNamedAttr("estimated_s", b.getF64FloatAttr(c.seconds)),
        b.getNamedAttr("fits", b.getBoolAttr(c.fits)),
    };
    if (isa<MatMulOp>(op))
      fields.push_back(b.getNamedAttr("k_block", b.getI64IntegerAttr(c.block)));
    if (isa<AttentionOp>(op))
      fields.push_back(
          b.getNamedAttr("kv_block", b.getI64IntegerAttr(c.block)));
    return b.getDictionaryAttr(fields);
  }

  static std::string formatNumber(const char *format, double value) {
    std::string text;
    llvm::raw_string_ostream(text) << llvm::format(format, value);
    return text;
  }

  void remark(Operation *op, const TargetModel &model, const Choice &c) {
    std::string sizes;
    llvm::raw_string_ostream os(sizes);
    llvm::interleave(c.sizes, os, "x");
    InFlightDiagnostic diag = op->emitRemark();
    diag << "llm-tile: " << model.targetName << " " << model.dtype << " tile "
         << sizes;
    if (isa<MatMulOp>(op))
      diag << ", K block " << c.block;
    if (isa<AttentionOp>(op))
      diag << ", key block " << c.block;
    diag << ": " << c.tiles << " tiles on " << model.units << " units, "
         << c.footprintBytes << " of "
         << static_cast<int64_t>(model.onChipBytes) << " on-chip bytes"
         << (c.fits ? "" : " (does not fit)") << ", intensity "
         << formatNumber("%.1f", c.intensity) << " flop/B, estimated "
         << formatNumber("%.3g", c.seconds) << " s";
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (loop != "forall" && loop != "for") {
      module.emitError() << "llm-tile: loop must be 'forall' or 'for', got '"
                         << loop << "'";
      return signalPassFailure();
    }
    if (failed(checkOverride(module, "matmul-tile-sizes", matmulTileSizes, 3,
                             "M,N,K")) ||
        failed(checkOverride(module, "attention-tile-sizes", attentionTileSizes,
                             2, "query rows,key block")) ||
        failed(
            checkOverride(module, "norm-tile-sizes", normTileSizes, 1, "rows")))
      return signalPassFailure();
    FailureOr<TargetDescription> description = resolveTarget(module);
    if (failed(description))
      return signalPassFailure();

    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<MatMulOp, AttentionOp, LayerNormOp, RMSNormOp, SoftmaxOp>(op) &&
          !op->hasAttr(kTileAttrName))
        ops.push_back(op);
    });

    IRRewriter rewriter(&getContext());
    bool failedAny = false;
    for (Operation *op : ops) {
      if (!isStatic(op)) {
        if (remarks)
          op->emitRemark()
              << "llm-tile: not tiled, its shapes are dynamic or empty";
        continue;
      }
      Type element =
          cast<RankedTensorType>(op->getOperand(0).getType()).getElementType();
      TargetModel model = modelFor(*description, element);
      FailureOr<Choice> choice = choose(op, model);
      if (failed(choice)) {
        failedAny = true;
        continue;
      }
      if (remarks)
        remark(op, model, *choice);
      if (!choice->fits)
        op->emitWarning() << "llm-tile: no tile fits the "
                          << static_cast<int64_t>(model.onChipBytes)
                          << " on-chip bytes of " << model.targetName
                          << (model.accumulatorBytes ? " (or its accumulators)"
                                                     : "")
                          << "; taking the smallest, " << choice->footprintBytes
                          << " bytes";
      DictionaryAttr decision = decisionAttr(&getContext(), op, model, *choice);

      auto tilingOp = cast<TilingInterface>(op);
      rewriter.setInsertionPoint(op);
      SmallVector<Range> domain = tilingOp.getIterationDomain(rewriter);
      SmallVector<OpFoldResult> tileSizes;
      bool tiled = false;
      for (auto [i, range] : llvm::enumerate(domain)) {
        std::optional<int64_t> extent = getConstantIntValue(range.size);
        int64_t size = i < choice->sizes.size() ? choice->sizes[i] : 0;
        if (!extent || size >= *extent)
          size = 0;
        tiled |= size != 0;
        tileSizes.push_back(rewriter.getIndexAttr(size));
      }
      if (!tiled) {
        op->setAttr(kTileAttrName, decision);
        continue;
      }
      scf::SCFTilingOptions options;
      options.setTileSizes(tileSizes);
      options.setLoopType(loop == "for"
                              ? scf::SCFTilingOptions::LoopType::ForOp
                              : scf::SCFTilingOptions::LoopType::ForallOp);
      FailureOr<scf::SCFTilingResult> result =
          scf::tileUsingSCF(rewriter, tilingOp, options);
      if (failed(result)) {
        op->emitError() << "llm-tile: tiling failed";
        failedAny = true;
        continue;
      }
      for (Operation *tiledOp : result->tiledOps)
        if (tiledOp->getName() == op->getName())
          tiledOp->setAttr(kTileAttrName, decision);
      rewriter.replaceOp(op, result->replacements);
    }
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
