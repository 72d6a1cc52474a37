//===- LLMToGPU.cpp - llm ops to GPU kernels for the ptx backend ----------===//
//
// Three passes of the ptx pipeline: convert-llm-to-gpu (fused kernels for the
// ops that dominate a transformer), llm-gpu-map-loops (the generic path for
// everything else, after linalg → parallel loops) and
// llm-gpu-merge-kernel-modules (one gpu.module, hence one PTX file).
//
//===----------------------------------------------------------------------===//
#include "KernelText.h"

#include "llm/IR/LLMDialect.h"
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"
#include "llmc/Conversion/Passes.h"
#include "llmc/Support/EraseUnread.h"
#include "llmc/Target/TargetDescription.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Utils/GPUUtils.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Target/LLVM/NVVM/Utils.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/MC/TargetRegistry.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Triple.h"

namespace llmc {
#define GEN_PASS_DEF_CONVERTLLMTOGPU
#define GEN_PASS_DEF_LLMGPUMAPLOOPS
#define GEN_PASS_DEF_LLMGPUMERGEKERNELMODULES
#define GEN_PASS_DEF_LLMGPUDEDUPKERNELS
#define GEN_PASS_DEF_LLMGPUEXPANDMATH
#define GEN_PASS_DEF_LLMGPUCHECKNVVM
#define GEN_PASS_DEF_LLMGPUDROPCOMPILETIMES
#define GEN_PASS_DEF_LLMGPUDATALAYOUT
#define GEN_PASS_DEF_LLMGPUEXTERNDYNAMICSHARED
#define GEN_PASS_DEF_LLMATTENTIONHOSTREFERENCE
#include "llmc/Conversion/Passes.h.inc"
} // namespace llmc

using namespace mlir;
namespace gk = llmc::gpu_kernels;

namespace {

constexpr llvm::StringLiteral kKernelModule = "llm_kernels";

/// Strides of `shape` read as a numpy broadcast to `result` (right-aligned;
/// missing or size-1 dims get stride 0).
SmallVector<int64_t> broadcastStrides(ArrayRef<int64_t> shape,
                                      ArrayRef<int64_t> result) {
  SmallVector<int64_t> own = computeStrides(shape);
  SmallVector<int64_t> strides(result.size(), 0);
  int64_t lead = result.size() - shape.size();
  for (size_t i = 0; i < result.size(); ++i) {
    int64_t j = static_cast<int64_t>(i) - lead;
    if (j >= 0 && shape[j] != 1)
      strides[i] = own[j];
  }
  return strides;
}

/// Batch terms over the leading `count` dims of `dims` with `strides`.
std::vector<gk::BatchTerm> batchTerms(ArrayRef<int64_t> dims,
                                      ArrayRef<int64_t> strides, size_t count) {
  std::vector<gk::BatchTerm> terms;
  int64_t divisor = 1;
  for (int64_t i = static_cast<int64_t>(count) - 1; i >= 0; --i) {
    terms.push_back({divisor, dims[i], strides[i]});
    divisor *= dims[i];
  }
  return terms;
}

/// "f32", "f16" or "bf16" for a static, non-empty tensor of that element
/// type (the float buffers the fused kernels read and write), else "".
std::string kernelFloat(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  if (!type || !type.hasStaticShape() || type.getNumElements() == 0)
    return "";
  if (type.getElementType().isF32())
    return "f32";
  if (type.getElementType().isF16())
    return "f16";
  if (type.getElementType().isBF16())
    return "bf16";
  return "";
}

bool isStaticF32(Value value) { return kernelFloat(value) == "f32"; }

int64_t elements(Value value) {
  return cast<RankedTensorType>(value.getType()).getNumElements();
}

/// Elements per block of a whole-tensor dynamic quantization: a tensor of
/// up to this many is quantized by one block in one launch.
constexpr int64_t kQuantizeChunk = 8192;

/// The value of a one-element f32 constant, if `v` is one.
std::optional<float> splatF32(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
      !attr.getElementType().isF32() || attr.getNumElements() != 1)
    return std::nullopt;
  return attr.getSplatValue<float>();
}

/// The llm.quantize that is `value`'s only user, with a constant
/// one-element f32 scale and zero point (QDQ's static activations), as the
/// quantization a kernel producing `value` (f32) can apply as it stores.
std::optional<std::pair<llm::QuantizeOp, gk::OutputQuantization>>
staticQuantizeOf(Value value) {
  if (!value.hasOneUse() || !isStaticF32(value))
    return std::nullopt;
  auto quantize = dyn_cast<llm::QuantizeOp>(*value.getUsers().begin());
  if (!quantize || quantize.getInput() != value ||
      !quantize.getType().getElementType().isInteger(8))
    return std::nullopt;
  std::optional<float> scale = splatF32(quantize.getScale());
  gk::OutputQuantization q;
  q.enabled = true;
  q.isUnsigned = quantize.getIsUnsigned();
  q.e4m3 = quantize.getE4m3();
  if (!scale || elements(quantize.getResult()) != elements(value))
    return std::nullopt;
  q.scale = *scale;
  if (Value zero = quantize.getZeroPoint()) {
    DenseElementsAttr attr;
    if (!matchPattern(zero, m_Constant(&attr)) || !attr.isSplat() ||
        attr.getNumElements() != 1 || !attr.getElementType().isInteger(8))
      return std::nullopt;
    APInt bits = attr.getSplatValue<APInt>();
    q.zero = q.isUnsigned ? bits.getZExtValue() : bits.getSExtValue();
  }
  return std::make_pair(quantize, q);
}

/// The operand addressing of a (batched) product [.., M, K] x [.., K, N]
/// (or [.., N, K] with `transposeRhs`) with epilogue operands broadcast to
/// the result (an s8 product's zero points in `spec.offsets`: the lhs's
/// constant along k, [.., M, 1]; the rhs's [.., 1, N], or [.., N, 1] with
/// `transposeRhs`); folds the batch into the rows when every batched operand
/// but the rhs is contiguous over it (a weight shared by the batch).
void describeProduct(gk::MatMulSpec &spec, ArrayRef<int64_t> lhsShape,
                     ArrayRef<int64_t> rhsShape, ArrayRef<int64_t> resultShape,
                     bool transposeLhs, bool transposeRhs, Value bias,
                     Value residual, ValueRange scales, Value lhsZero = {},
                     Value rhsZero = {}) {
  size_t rank = resultShape.size();
  size_t batchRank = rank - 2;
  spec.m = resultShape[rank - 2];
  spec.n = resultShape[rank - 1];
  int64_t lr = lhsShape.size(), rr = rhsShape.size();
  spec.k = transposeLhs ? lhsShape[lr - 2] : lhsShape[lr - 1];
  spec.batch = 1;
  for (size_t i = 0; i < batchRank; ++i)
    spec.batch *= resultShape[i];

  SmallVector<int64_t> batchDims(resultShape.take_front(batchRank));
  auto operandBatch = [&](ArrayRef<int64_t> shape) {
    SmallVector<int64_t> strides =
        broadcastStrides(shape.drop_back(2), batchDims);
    // Each batch element of the operand is one matrix of the last two dims.
    int64_t matrix = shape[shape.size() - 2] * shape[shape.size() - 1];
    for (int64_t &s : strides)
      s *= matrix;
    return batchTerms(batchDims, strides, batchRank);
  };
  auto count = [](ArrayRef<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  };
  // A row-major matrix of `cols` columns, or read transposed (stored as
  // `rows` x its rows).
  auto matrix = [&](gk::Operand &operand, ArrayRef<int64_t> shape,
                    bool transposed, int64_t rows, int64_t cols) {
    operand.elements = count(shape);
    operand.batch = operandBatch(shape);
    operand.rowStride = transposed ? 1 : cols;
    operand.colStride = transposed ? rows : 1;
  };
  matrix(spec.lhs, lhsShape, transposeLhs, spec.m, spec.k);
  matrix(spec.rhs, rhsShape, transposeRhs, spec.k, spec.n);
  auto epilogueOperand = [&](Value value, bool transposed = false) {
    gk::Operand operand;
    SmallVector<int64_t> shape(
        cast<RankedTensorType>(value.getType()).getShape());
    // [.., N, 1] holds its values in the order of [.., 1, N].
    if (transposed && shape.size() >= 2)
      std::swap(shape[shape.size() - 2], shape.back());
    SmallVector<int64_t> strides = broadcastStrides(shape, resultShape);
    operand.elements = elements(value);
    operand.batch = batchTerms(resultShape, strides, batchRank);
    operand.rowStride = strides[rank - 2];
    operand.colStride = strides[rank - 1];
    // With one row per batch element (a decoding step's [B, 1, N]
    // residual) the row stride is never used, and broadcastStrides gives
    // the unit dim 0: the innermost batch dim's stride instead, which lets
    // the batch fold into rows below (one pass over a shared weight, not
    // one per batch element).
    if (spec.m == 1 && operand.rowStride == 0)
      for (const gk::BatchTerm &term : operand.batch)
        if (term.divisor == 1 && term.size != 1)
          operand.rowStride = term.stride;
    return operand;
  };
  if (bias) {
    spec.hasBias = true;
    spec.bias = epilogueOperand(bias);
  }
  if (residual) {
    spec.hasResidual = true;
    spec.residual = epilogueOperand(residual);
  }
  for (Value scale : scales)
    spec.scales.push_back(epilogueOperand(scale));
  if (lhsZero)
    spec.offsets.lhsZero = epilogueOperand(lhsZero);
  if (rhsZero)
    spec.offsets.rhsZero = epilogueOperand(rhsZero, transposeRhs);
  // A weight shared by every batch element (the projections of a
  // transformer): fold the batch into the rows, one larger GEMM.
  auto foldable = [&](const gk::Operand &operand, int64_t rowStride) {
    for (const gk::BatchTerm &term : operand.batch)
      if (term.size != 1 && term.stride != rowStride * term.divisor * spec.m)
        return false;
    return true;
  };
  bool fold = spec.batch > 1 && rr == 2 && !transposeLhs &&
              foldable(spec.lhs, spec.lhs.rowStride) &&
              (!bias || foldable(spec.bias, spec.bias.rowStride)) &&
              (!residual || foldable(spec.residual, spec.residual.rowStride));
  for (const gk::Operand &scale : spec.scales)
    fold &= foldable(scale, scale.rowStride);
  for (const std::optional<gk::Operand> &zero :
       {spec.offsets.lhsZero, spec.offsets.rhsZero})
    fold &= !zero || foldable(*zero, zero->rowStride);
  if (fold) {
    spec.m *= spec.batch;
    spec.batch = 1;
    spec.lhs.batch.clear();
    spec.bias.batch.clear();
    spec.residual.batch.clear();
    for (gk::Operand &scale : spec.scales)
      scale.batch.clear();
    for (std::optional<gk::Operand> *zero :
         {&spec.offsets.lhsZero, &spec.offsets.rhsZero})
      if (*zero)
        (*zero)->batch.clear();
  }
}

/// What the row kernels and the GEMV read of an llm.layer_norm or
/// llm.rms_norm.
struct NormParts {
  gk::RowKind kind;
  Value input, scale, bias;
  int64_t axis;
  float epsilon;
  explicit NormParts(Operation *op) {
    if (auto layer = dyn_cast<llm::LayerNormOp>(op)) {
      kind = gk::RowKind::LayerNorm;
      bias = layer.getBias();
      axis = layer.getAxis();
      epsilon = layer.getEpsilon().convertToFloat();
    } else {
      auto rms = cast<llm::RMSNormOp>(op);
      kind = gk::RowKind::RMSNorm;
      axis = rms.getAxis();
      epsilon = rms.getEpsilon().convertToFloat();
    }
    input = op->getOperand(0);
    scale = op->getOperand(1);
  }
};

/// The first column of `part`, a result of a split along the last dim, in
/// the split's input.
int64_t splitColumnOffset(llm::SplitOp split, Value part) {
  int64_t offset = 0;
  unsigned index = cast<OpResult>(part).getResultNumber();
  for (unsigned i = 0; i < index; ++i)
    offset += split.getSizes()[i];
  return offset;
}

/// Norm rows read in place: a norm over the last dim D of reshape(part) to
/// [.., H, D], part one result of a split of a static tensor's last dim
/// into [.., H * D] columns. Row r of the norm starts at offset + (r / H) *
/// groupStride + (r % H) * D of the split's input.
struct InPlaceRows {
  llm::ReshapeOp reshape;
  llm::SplitOp split;
  int64_t offset = 0, groupRows = 0, groupStride = 0, elements = 0;
  int64_t rows = 0, length = 0;
};

std::optional<InPlaceRows> inPlaceRows(Value input, int64_t axis) {
  auto reshape = input.getDefiningOp<llm::ReshapeOp>();
  if (!reshape)
    return std::nullopt;
  auto split = reshape.getInput().getDefiningOp<llm::SplitOp>();
  if (!split)
    return std::nullopt;
  auto part = cast<RankedTensorType>(reshape.getInput().getType());
  auto whole = cast<RankedTensorType>(split.getInput().getType());
  auto type = cast<RankedTensorType>(input.getType());
  ArrayRef<int64_t> dims = type.getShape(), partDims = part.getShape();
  int64_t rank = type.getRank();
  if (!whole.hasStaticShape() || !type.hasStaticShape() ||
      static_cast<int64_t>(split.getAxis()) != whole.getRank() - 1 ||
      axis != rank - 1 || rank != part.getRank() + 1 ||
      dims.drop_back(2) != partDims.drop_back() ||
      dims[rank - 2] * dims[rank - 1] != partDims.back())
    return std::nullopt;
  InPlaceRows rows;
  rows.reshape = reshape;
  rows.split = split;
  rows.offset = splitColumnOffset(split, reshape.getInput());
  rows.groupRows = dims[rank - 2];
  rows.groupStride = whole.getShape().back();
  rows.elements = whole.getNumElements();
  rows.length = dims[rank - 1];
  rows.rows = type.getNumElements() / rows.length;
  return rows;
}

/// Rewrites ops into launches and collects the kernels' text.
class KernelBuilder {
public:
  KernelBuilder(ModuleOp module, const llmc::TargetDescription *desc,
                std::string mmaType, bool hostReference = false,
                bool wgmma = false)
      : module(module), desc(desc), mmaType(std::move(mmaType)),
        hostReference(hostReference), wgmma(wgmma) {}

  LogicalResult run();

private:
  /// The flat f32 (or i1) buffer a kernel reads for `tensor`.
  Value flatBuffer(OpBuilder &b, Location loc, Value tensor) {
    auto type = cast<RankedTensorType>(tensor.getType());
    auto shaped = MemRefType::get(type.getShape(), type.getElementType());
    Value buffer = bufferization::ToBufferOp::create(b, loc, shaped, tensor,
                                                     /*read_only=*/true);
    return flatten(b, loc, buffer, type.getNumElements());
  }
  Value flatten(OpBuilder &b, Location loc, Value buffer, int64_t count) {
    auto type = cast<MemRefType>(buffer.getType());
    auto flat = MemRefType::get({count}, type.getElementType());
    return memref::ReinterpretCastOp::create(b, loc, flat, buffer, 0, {count},
                                             {1});
  }
  /// Allocates the result, launches `kernel` on (inputs..., result) and
  /// replaces `op`'s result with the buffer as a tensor.
  void launch(Operation *op, StringRef kernel, std::array<int64_t, 3> grid,
              int64_t threads, ValueRange inputs, int bf16Input = -1) {
    launch(ArrayRef<Operation *>(op), kernel, grid, threads, inputs, bf16Input);
  }
  /// The same for several ops (one for the host reference) in one launch,
  /// at the first's place: the kernel writes each op's result, one buffer
  /// each after the inputs, then each of `alsoWritten` (values of other
  /// ops, defined before the first, that the kernel computes too), and the
  /// ops go.
  void launch(ArrayRef<Operation *> ops, StringRef kernel,
              std::array<int64_t, 3> grid, int64_t threads, ValueRange inputs,
              int bf16Input = -1, ValueRange alsoWritten = {}) {
    Operation *op = ops.front();
    OpBuilder b(op);
    if (hostReference) {
      // The same buffers, handed to the host function of the algorithm.
      Location loc = op->getLoc();
      auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
      SmallVector<Value> args;
      for (Value input : inputs)
        args.push_back(flatBuffer(b, loc, input));
      Value result = memref::AllocOp::create(
          b, loc,
          MemRefType::get(resultType.getShape(), resultType.getElementType()));
      args.push_back(flatten(b, loc, result, resultType.getNumElements()));
      func::CallOp::create(b, loc, kernel, TypeRange{}, args);
      Value tensor = bufferization::ToTensorOp::create(
          b, loc, resultType, result, b.getUnitAttr(), b.getUnitAttr());
      op->getResult(0).replaceAllUsesWith(tensor);
      op->erase();
      return;
    }
    Location loc = op->getLoc();
    SmallVector<Value> args, results;
    for (Value input : inputs)
      args.push_back(flatBuffer(b, loc, input));
    if (bf16Input >= 0) {
      // The kernel reads this weight as bf16: the launch plan gives it a
      // buffer the runtime uploads rounded (buildLaunchPlan).
      auto type = cast<MemRefType>(args[bf16Input].getType());
      auto bf16 = MemRefType::get(type.getShape(), b.getBF16Type());
      args[bf16Input] =
          UnrealizedConversionCastOp::create(b, loc, bf16, args[bf16Input])
              .getResult(0);
    }
    for (Operation *each : ops)
      results.push_back(each->getResult(0));
    results.append(alsoWritten.begin(), alsoWritten.end());
    launchWith(b, loc, kernel, grid, threads, args, results);
    for (Operation *each : ops)
      each->erase();
  }
  /// Allocates a buffer for each of `results`, launches `kernel` on (args...,
  /// result buffers...) at b's insertion point and replaces each result with
  /// its buffer as a tensor.
  void launchWith(OpBuilder &b, Location loc, StringRef kernel,
                  std::array<int64_t, 3> grid, int64_t threads,
                  SmallVector<Value> args, ValueRange results) {
    SmallVector<Value> buffers;
    for (Value result : results) {
      auto type = cast<RankedTensorType>(result.getType());
      Value buffer = memref::AllocOp::create(
          b, loc, MemRefType::get(type.getShape(), type.getElementType()));
      buffers.push_back(buffer);
      args.push_back(flatten(b, loc, buffer, type.getNumElements()));
    }
    auto index = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    auto symbol =
        SymbolRefAttr::get(b.getContext(), kKernelModule,
                           {FlatSymbolRefAttr::get(b.getContext(), kernel)});
    // A tiled kernel whose tiles outgrow static shared memory takes them
    // from the dynamic shared memory its launches size.
    Value sharedBytes;
    if (int64_t bytes = dynamicShared.lookup(kernel))
      sharedBytes = arith::ConstantIntOp::create(b, loc, bytes, 32);
    gpu::KernelDim3 blocks{index(grid[0]), index(grid[1]), index(grid[2])};
    gpu::KernelDim3 block{index(threads), index(1), index(1)};
    gpu::LaunchFuncOp::create(b, loc, symbol, blocks, block, sharedBytes, args);
    for (auto [result, buffer] : llvm::zip(results, buffers)) {
      Value tensor = bufferization::ToTensorOp::create(
          b, loc, result.getType(), buffer, b.getUnitAttr(), b.getUnitAttr());
      result.replaceAllUsesWith(tensor);
    }
  }
  std::string name(StringRef kind) {
    return (kind + "_" + Twine(counter++)).str();
  }

  void chooseTiles(gk::MatMulSpec &spec);
  void chooseWgmmaTiles(gk::MatMulSpec &spec);
  /// Appends a tiled kernel's text and records its dynamic shared memory.
  void add(StringRef name, gk::TiledKernel kernel) {
    kernels += kernel.text;
    if (kernel.dynamicSharedBytes)
      dynamicShared[name] = kernel.dynamicSharedBytes;
  }
  /// The description's figure at `key`, or `fallback` without one (or
  /// without a description).
  double descNumber(llvm::StringRef key, double fallback) const {
    return desc ? desc->number(key).value_or(fallback) : fallback;
  }
  /// Shared memory per block that the description allows (its opt-in
  /// limit), or static shared memory's 48 KiB without one.
  int64_t sharedBudget() const {
    return static_cast<int64_t>(descNumber("gpu.shared_memory_per_block_bytes",
                                           gk::kStaticSharedBytes));
  }
  /// Tiles the product, generates its kernel (GEMV, wgmma or mma.sync); returns
  /// the block's threads.
  int64_t emitProduct(gk::MatMulSpec &spec);
  /// Whether the product takes the GEMV kernel (emitProduct).
  bool takesGemv(const gk::MatMulSpec &spec) const;
  LogicalResult lower(llm::MatMulOp op);
  LogicalResult lowerProduct(llm::MatMulOp op, Operation *norm,
                             StringRef normKernel, bool &normDone);
  /// An llm.rms_norm's or llm.layer_norm's row kernel (named `kernel`, or
  /// a fresh name).
  LogicalResult lowerNorm(Operation *op, StringRef kernel = {}) {
    NormParts norm(op);
    return lowerRow(op, norm.kind, norm.axis, norm.scale, norm.bias,
                    norm.epsilon, kernel);
  }
  LogicalResult lower(llm::QMatMulOp op);
  LogicalResult lower(llm::AttentionOp op);
  /// Packs grouped heads and splits keys where they pay (decoding steps),
  /// and the launch grid that follows.
  void chooseAttentionWork(gk::AttentionSpec &spec,
                           std::array<int64_t, 3> &grid);
  static constexpr int64_t kMinSplitKeyBlocks = 2;
  static constexpr int64_t kMaxAttentionSplits = 32;
  LogicalResult lowerQuantizeRows(llm::QuantizeOp op);
  LogicalResult lowerQuantizeTensor(llm::QuantizeOp op);
  LogicalResult lowerRow(Operation *op, gk::RowKind kind, int64_t axis,
                         Value scale, Value bias, float epsilon,
                         StringRef kernel = {});
  /// The same norm as `op` of another part of its product (the k norm
  /// beside the q norm, `rows` being op's), not yet lowered and with its
  /// parameters defined before `op`: it can share op's launch (its rows
  /// and its part's reshape returned).
  std::optional<std::pair<Operation *, InPlaceRows>>
  pairedNorm(Operation *op, InPlaceRows rows, const gk::RowSpec &spec);

  ModuleOp module;
  const llmc::TargetDescription *desc;
  std::string mmaType;
  bool hostReference;
  bool wgmma;
  std::string kernels;
  /// Dynamic shared memory of each tiled kernel that takes some.
  llvm::StringMap<int64_t> dynamicShared;
  unsigned counter = 0;
  /// Ops of run()'s list that a kernel fused before their turn.
  llvm::SmallPtrSet<Operation *, 8> fusedAhead;
  /// RMS and layer norms whose one reader is a product, left for that
  /// product's lowering: its GEMV takes the norm, or it lowers the norm
  /// under the kernel name reserved here (kernels keep their program order
  /// in their names).
  llvm::DenseMap<Operation *, std::string> deferredNorms;
};

void KernelBuilder::chooseTiles(gk::MatMulSpec &spec) {
  // The largest block tile whose two shared stages fit the description's
  // per-block budget, whose threads fit a block, and that still gives every
  // SM a block; small problems fall back to 64x64 (four 32x32 warps). When
  // cp.async moves both operands, then as many stages as fit, up to the
  // description's gpu.mma_stages (default 4): 128x128 tiles on four stages
  // take 80 KiB of an H100's dynamic shared memory.
  double smem = static_cast<double>(sharedBudget());
  double sms = descNumber("gpu.sm_count", 1);
  double maxThreads = descNumber("gpu.max_threads_per_block", 1024);
  struct Config {
    int64_t tileM, tileN, warpM, warpN;
  };
  const Config candidates[] = {
      {128, 128, 64, 32}, {128, 64, 64, 32}, {64, 64, 32, 32}};
  // Bytes of one shared row: tileK elements and 16 bytes of padding.
  int64_t rowBytes =
      spec.byteOperands() ? spec.tileK + 16 : spec.tileK * 2 + 16;
  spec.tileM = spec.tileN = 64;
  spec.warpM = spec.warpN = 32;
  for (const Config &c : candidates) {
    int64_t bytes = 2 * (c.tileM + c.tileN) * rowBytes;
    int64_t threads = 32 * (c.tileM / c.warpM) * (c.tileN / c.warpN);
    int64_t blocks = ((spec.m + c.tileM - 1) / c.tileM) *
                     ((spec.productColumns() + c.tileN - 1) / c.tileN) *
                     spec.batch;
    if (bytes <= smem && threads <= maxThreads && blocks >= sms) {
      spec.tileM = c.tileM;
      spec.tileN = c.tileN;
      spec.warpM = c.warpM;
      spec.warpN = c.warpN;
      break;
    }
  }
  spec.stages = 2;
  if (!gk::matmulCopiesAsync(spec))
    return;
  auto maxStages = static_cast<int64_t>(descNumber("gpu.mma_stages", 4));
  for (int64_t stages = maxStages; stages > 2; --stages)
    if (stages * (spec.tileM + spec.tileN) * rowBytes <= smem) {
      spec.stages = stages;
      return;
    }
}

bool KernelBuilder::takesGemv(const gk::MatMulSpec &spec) const {
  // A product of a few rows (a decode step's) reads its weight with one warp
  // per column; a block tile of 64 rows or more would give n / 64 blocks.
  // The description's gpu.gemv_max_rows lowers the bound (0: never).
  auto gemvRows =
      static_cast<int64_t>(descNumber("gpu.gemv_max_rows", gk::kGemvRows));
  return spec.m <= gemvRows && gk::gemvApplies(spec);
}

int64_t KernelBuilder::emitProduct(gk::MatMulSpec &spec) {
  if (takesGemv(spec)) {
    spec.tileM = std::max<int64_t>(spec.m, 1);
    spec.tileN = gk::kGemvWarps;
    add(spec.name, gk::gemvKernel(spec));
    return 32 * gk::kGemvWarps;
  }
  // The row and column sums of asymmetric s8 products are mma.sync's.
  if (wgmma && !spec.offsets.lhsShifted() && !spec.offsets.rhsShifted()) {
    chooseWgmmaTiles(spec);
    add(spec.name, gk::wgmmaMatmulKernel(spec));
    return gk::wgmmaThreads(spec);
  }
  chooseTiles(spec);
  add(spec.name, gk::matmulKernel(spec));
  return gk::matmulThreads(spec);
}

void KernelBuilder::chooseWgmmaTiles(gk::MatMulSpec &spec) {
  // One or two warpgroups of 64 rows, a 256-, 128- or 64-wide tile: the
  // largest that still gives every SM a block and whose stages fit the
  // block's shared memory (the description's per-block limit; tiles past
  // 48 KiB come from dynamic shared memory). Pipelined stages come first
  // when cp.async moves both operands (gk::wgmmaCopiesAsync): at least
  // three, which keep the products in flight across the barriers, and as
  // many as fit up to the description's gpu.wgmma_stages (default 4); then
  // k tiles of 128 bytes (64 bf16 values: half the barriers per product)
  // before 64. Otherwise two stages of 64-byte k tiles. Wider tiles read
  // fewer bytes per product from L2. On an H100 (227 KiB) a large product
  // takes 128x256x64 on four stages (192 KiB); within 48 KiB, 128x128x32
  // on three.
  double sms = descNumber("gpu.sm_count", 1);
  int64_t smem = sharedBudget();
  auto maxStages = static_cast<int64_t>(descNumber("gpu.wgmma_stages", 4));
  maxStages = std::max<int64_t>(maxStages, 2);
  const std::pair<int64_t, int64_t> candidates[] = {
      {128, 256}, {128, 128}, {128, 64}, {64, 128}, {64, 64}};
  int64_t elementBytes = spec.byteOperands() ? 1 : 2;
  auto fits = [&](int64_t tileM, int64_t tileN, int64_t kBytes,
                  int64_t stages) {
    int64_t blocks = ((spec.m + tileM - 1) / tileM) *
                     ((spec.productColumns() + tileN - 1) / tileN) * spec.batch;
    return blocks >= sms && stages * (tileM + tileN) * kBytes <= smem;
  };
  auto take = [&](int64_t tileM, int64_t tileN, int64_t kBytes,
                  int64_t stages) {
    spec.tileM = tileM;
    spec.tileN = tileN;
    spec.tileK = kBytes / elementBytes;
    spec.stages = stages;
  };
  // Whether cp.async moves both operands does not depend on the tile.
  take(64, 64, 64, 2);
  bool async = gk::wgmmaCopiesAsync(spec);
  if (async && maxStages >= 3)
    for (auto [tileM, tileN] : candidates)
      for (int64_t kBytes : {128, 64})
        for (int64_t stages = maxStages; stages >= 3; --stages)
          if (fits(tileM, tileN, kBytes, stages)) {
            take(tileM, tileN, kBytes, stages);
            return;
          }
  for (auto [tileM, tileN] : candidates)
    if (fits(tileM, tileN, 64, 2)) {
      take(tileM, tileN, 64, 2);
      return;
    }
  // No tile gives every SM a block: the smallest, pipelined if it may.
  take(64, 64, 64, async && maxStages >= 3 ? 3 : 2);
}

/// A weight-only quantized rhs that a product kernel dequantizes as it
/// loads its tiles (no f32 copy of the weight per forward, no
/// dequantization kernel; the same values: dequantized in f32, then rounded
/// to the tensor-core type).
struct WeightDequant {
  /// The kernel's operands: the integer weight, its scales, zero points.
  Value values, scale, zero;
  /// The ops the kernel replaces (the dequantization and a cast of its
  /// result), users first.
  SmallVector<Operation *> absorbed;
};

/// Matches `op`'s rhs against the layouts the product kernels read and
/// describes the match in `spec`:
/// - int8 (llm-quantize w8): dequantize(q [N,K] or [K,N], one scale per
///   output column);
/// - FP8 E4M3 (an FP8 weight-only model's FLOAT8E4M3FN weights): the same
///   with e4m3 bytes, decoded exactly in the kernel;
/// - 4-bit (llm-quantize w4, MatMulNBits): dequantize(q [N, K/2] packed,
///   [N, K/block] scales [and unsigned zero points]) read [N, K], possibly
///   cast to a 16-bit model's type; K a multiple of 16 and the block of 8;
/// - 8-bit MatMulNBits: the same with q [N, K], a byte per element.
/// Each may be batched (a mixture of experts' [E, N, K] weights, or a
/// decoding step's experts gathered per token) with parameters batched
/// alike ([E, N, 1] or [E, N, blocks]), read transposed.
std::optional<WeightDequant> matchWeightDequant(llm::MatMulOp op,
                                                gk::MatMulSpec &spec) {
  WeightDequant weight;
  Value rhs = op.getRhs();
  int64_t n = spec.n, k = spec.k;
  if (auto cast = rhs.getDefiningOp<llm::CastOp>();
      cast && cast->hasOneUse() && isStaticF32(cast.getInput()) &&
      spec.lhsElement != "f32" &&
      kernelFloat(cast.getResult()) == spec.lhsElement) {
    weight.absorbed.push_back(cast);
    rhs = cast.getInput();
  }
  auto dequant = rhs.getDefiningOp<llm::DequantizeOp>();
  if (!dequant || !dequant->hasOneUse())
    return std::nullopt;
  auto q = dyn_cast<RankedTensorType>(dequant.getInput().getType());
  if (!q || !q.hasStaticShape() || q.getRank() < 2 ||
      !q.getElementType().isInteger(8))
    return std::nullopt;
  // A batched weight: its batch dims lead every parameter's shape, and each
  // batch entry's parameters follow the last one's.
  ArrayRef<int64_t> batch = q.getShape().drop_back(2);
  int64_t batchCount = 1;
  for (int64_t d : batch)
    batchCount *= d;
  if (!batch.empty() && !op.getTransposeRhs())
    return std::nullopt;
  auto batched = [&](ArrayRef<int64_t> matrix) {
    SmallVector<int64_t> shape(batch);
    shape.append(matrix.begin(), matrix.end());
    return shape;
  };
  // The parameters' batch terms: the rhs's, over `perEntry` parameters a
  // batch entry instead of its N x K elements.
  auto parameterTerms = [&](int64_t perEntry) {
    spec.rhsParameters = gk::Operand();
    if (batch.empty())
      return;
    spec.rhsParameters.elements = batchCount * perEntry;
    for (gk::BatchTerm term : spec.rhs.batch) {
      term.stride = term.stride / (n * k) * perEntry;
      spec.rhsParameters.batch.push_back(term);
    }
  };
  weight.values = dequant.getInput();
  weight.scale = dequant.getScale();
  weight.zero = dequant.getZeroPoint();
  weight.absorbed.push_back(dequant);
  auto scaleType = dyn_cast<RankedTensorType>(weight.scale.getType());
  if (!scaleType || !scaleType.hasStaticShape() ||
      !scaleType.getElementType().isF32())
    return std::nullopt;
  if (dequant.getBits() == 8 && !dequant.getBlockSize() && !weight.zero) {
    bool perColumn =
        !batch.empty()
            ? scaleType.getShape() == ArrayRef<int64_t>(batched({n, 1}))
            : scaleType.getNumElements() == n &&
                  (op.getTransposeRhs()
                       ? scaleType.getShape() == ArrayRef<int64_t>{n, 1}
                       : (scaleType.getShape() == ArrayRef<int64_t>{1, n} ||
                          scaleType.getShape() == ArrayRef<int64_t>{n}));
    // The int8 path takes no cast (its products are bf16 on f32 models).
    if (weight.absorbed.size() != 1 || weight.zero || dequant.getIsUnsigned() ||
        dequant.getBlockSize() != 0 || !perColumn)
      return std::nullopt;
    spec.rhsElement = "i8";
    spec.hasRhsScale = true;
    spec.rhsScaleElements = batchCount * n;
    spec.rhsE4M3 = dequant.getE4m3();
    parameterTerms(n);
    return weight;
  }
  // 4-bit, or 8-bit with blocks or zero points (MatMulNBits): without
  // block_size, one scale per row (a block of all of K).
  int64_t bits = dequant.getBits();
  int64_t block = dequant.getBlockSize() ? dequant.getBlockSize() : k;
  int64_t blocks = (k + block - 1) / block;
  SmallVector<int64_t> parameterShape = batched({n, blocks});
  bool zeroOk = weight.zero
                    ? cast<RankedTensorType>(weight.zero.getType()).getShape() ==
                              ArrayRef<int64_t>(parameterShape) &&
                          dequant.getIsUnsigned()
                    : !dequant.getIsUnsigned();
  if (block % 8 != 0 || k % 16 != 0 || !op.getTransposeRhs() ||
      q.getShape() != ArrayRef<int64_t>(batched({n, bits == 4 ? k / 2 : k})) ||
      scaleType.getShape() != ArrayRef<int64_t>(parameterShape) || !zeroOk)
    return std::nullopt;
  spec.rhsElement = "i8";
  spec.hasRhsScale = true;
  spec.rhsScaleElements = batchCount * n * blocks;
  parameterTerms(n * blocks);
  spec.rhsBlock = block;
  spec.rhsBits = bits;
  spec.hasRhsZeroPoint = static_cast<bool>(weight.zero);
  return weight;
}

/// A rhs gathered along its batch (a decoding step's experts: llm.gather
/// of a [E, N, K] table by [T, k] indices, then perhaps the dequantization
/// matchWeightDequant took in, its bytes, scales and zero points gathered
/// by the same indices): the kernel reads the tables through the indices
/// (MatMulSpec::hasRhsIndex) instead of a gathered copy of the experts.
/// Replaces `rhs` (and `weight`'s operands) by the tables and returns the
/// indices and the gathers the kernel replaces; or nothing.
std::optional<std::pair<Value, SmallVector<Operation *>>>
matchGatheredRhs(gk::MatMulSpec &spec, Value &rhs,
                 std::optional<WeightDequant> &weight) {
  Value indices;
  SmallVector<Operation *> gathers;
  // The table `value` gathers, by the same indices as the others.
  auto table = [&](Value value) -> Value {
    auto gather = value.getDefiningOp<llm::GatherOp>();
    if (!gather || gather.getAxis() != 0 || !gather->hasOneUse())
      return {};
    auto data = dyn_cast<RankedTensorType>(gather.getData().getType());
    auto index = dyn_cast<RankedTensorType>(gather.getIndices().getType());
    if (!data || !data.hasStaticShape() || data.getRank() != 3 || !index ||
        !index.hasStaticShape() || !index.getElementType().isInteger(64) ||
        (indices && gather.getIndices() != indices))
      return {};
    indices = gather.getIndices();
    gathers.push_back(gather);
    return gather.getData();
  };
  Value values = table(weight ? weight->values : rhs);
  if (!values)
    return std::nullopt;
  Value scale, zero;
  if (weight) {
    scale = table(weight->scale);
    zero = weight->zero ? table(weight->zero) : Value();
    if (!scale || (weight->zero && !zero))
      return std::nullopt;
  }
  // The gathered rhs is [indices.., N, K]: its batch entries are the
  // indices'.
  int64_t entries = cast<RankedTensorType>(values.getType()).getDimSize(0);
  auto indexType = cast<RankedTensorType>(indices.getType());
  if (entries < 1)
    return std::nullopt;
  spec.hasRhsIndex = true;
  spec.rhsTableEntries = entries;
  spec.rhsEntries = gk::Operand();
  spec.rhsEntries.elements = indexType.getNumElements();
  for (gk::BatchTerm term : spec.rhs.batch) {
    term.stride /= spec.n * spec.k;
    spec.rhsEntries.batch.push_back(term);
  }
  spec.rhs.elements = entries * spec.n * spec.k;
  if (weight) {
    weight->values = values;
    weight->scale = scale;
    weight->zero = zero;
    spec.rhsScaleElements =
        cast<RankedTensorType>(scale.getType()).getNumElements();
    spec.rhsParameters = gk::Operand();
  } else {
    rhs = values;
  }
  return std::make_pair(indices, gathers);
}

LogicalResult KernelBuilder::lower(llm::MatMulOp op) {
  Operation *norm = op.getLhs().getDefiningOp();
  std::string normKernel;
  auto deferred = norm ? deferredNorms.find(norm) : deferredNorms.end();
  if (deferred == deferredNorms.end()) {
    norm = nullptr;
  } else {
    normKernel = deferred->second;
    deferredNorms.erase(deferred);
  }
  bool normDone = false;
  if (failed(lowerProduct(op, norm, normKernel, normDone)))
    return failure();
  // A product left to the generic path: the norm's own kernel.
  if (norm && !normDone)
    return lowerNorm(norm, normKernel);
  return success();
}

/// Whether `op`, an RMS or layer norm over the last dim, has one reader, a
/// product whose lhs it is, not transposed: its k is the norm's row.
static bool normsProductRows(Operation *op) {
  auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  Value result = op->getResult(0);
  if (!type || !type.hasStaticShape() || !result.hasOneUse() ||
      NormParts(op).axis != type.getRank() - 1)
    return false;
  auto product = dyn_cast<llm::MatMulOp>(*result.getUsers().begin());
  return product && product.getLhs() == result && !product.getTransposeLhs();
}

namespace {
/// act(gate) * up after a product: the product's one reader splits its last
/// dim in two halves, an activation of one half (the gate; the second with
/// gateSecond) is multiplied by the other, and nothing else reads them. A
/// half may be reshaped first, keeping its last dim (a routed expert's
/// [R, 1, n] rows read as [R, n]): its rows, and so the kernel's, are the
/// same.
struct GatedUnit {
  gk::Activation activation;
  Operation *split, *activationOp, *mul;
  bool gateSecond;
  SmallVector<Operation *, 2> reshapes;
};

std::optional<GatedUnit> matchGatedUnit(llm::MatMulOp op) {
  Value result = op.getResult();
  if (!result.hasOneUse())
    return std::nullopt;
  auto split = dyn_cast<llm::SplitOp>(*result.getUsers().begin());
  auto type = cast<RankedTensorType>(result.getType());
  if (!split || split->getNumResults() != 2 ||
      static_cast<int64_t>(split.getAxis()) != type.getRank() - 1 ||
      split.getSizes()[0] != split.getSizes()[1] ||
      !split->getResult(0).hasOneUse() || !split->getResult(1).hasOneUse())
    return std::nullopt;
  SmallVector<Operation *, 2> reshapes;
  auto halfOf = [&](Value half) -> Value {
    auto reshape = dyn_cast<llm::ReshapeOp>(*half.getUsers().begin());
    if (!reshape)
      return half;
    if (cast<RankedTensorType>(reshape.getType()).getShape().back() !=
            cast<RankedTensorType>(half.getType()).getShape().back() ||
        !reshape->hasOneUse())
      return {};
    reshapes.push_back(reshape);
    return reshape.getResult();
  };
  Value first = halfOf(split->getResult(0)),
        second = halfOf(split->getResult(1));
  if (!first || !second)
    return std::nullopt;
  Operation *activationOp = *first.getUsers().begin();
  bool gateSecond = false;
  if (!isa<llm::SiluOp, llm::GeluOp>(activationOp)) {
    activationOp = *second.getUsers().begin();
    gateSecond = true;
  }
  gk::Activation activation;
  if (isa<llm::SiluOp>(activationOp)) {
    activation = gk::Activation::Silu;
  } else if (auto gelu = dyn_cast<llm::GeluOp>(activationOp)) {
    activation = gelu.getApproximation() == llm::GeluApproximation::tanh
                     ? gk::Activation::GeluTanh
                     : gk::Activation::Gelu;
  } else {
    return std::nullopt;
  }
  if (!activationOp->getResult(0).hasOneUse())
    return std::nullopt;
  auto mul =
      dyn_cast<llm::MulOp>(*activationOp->getResult(0).getUsers().begin());
  // In either order (the multiply commutes).
  Value gate = activationOp->getResult(0), up = gateSecond ? first : second;
  if (!mul || mul.getType() != up.getType() ||
      !((mul->getOperand(0) == gate && mul->getOperand(1) == up) ||
        (mul->getOperand(0) == up && mul->getOperand(1) == gate)))
    return std::nullopt;
  return GatedUnit{activation, split, activationOp, mul, gateSecond, reshapes};
}
} // namespace

LogicalResult KernelBuilder::lowerProduct(llm::MatMulOp op, Operation *norm,
                                          StringRef normKernel,
                                          bool &normDone) {
  Value lhs = op.getLhs(), rhs = op.getRhs();
  Value bias = op.getBias(), residual = op.getResidual();
  // f32, f16 or bf16 buffers (a 16-bit model's activations and weights);
  // anything else is left for the generic path.
  std::string lhsElement = kernelFloat(lhs), rhsElement = kernelFloat(rhs),
              outElement = kernelFloat(op.getResult());
  std::string biasElement = bias ? kernelFloat(bias) : "f32";
  std::string residualElement = residual ? kernelFloat(residual) : "f32";
  if (lhsElement.empty() || rhsElement.empty() || outElement.empty() ||
      biasElement.empty() || residualElement.empty())
    return success();
  auto lhsShape = cast<RankedTensorType>(lhs.getType()).getShape();
  auto rhsShape = cast<RankedTensorType>(rhs.getType()).getShape();
  auto resultShape =
      cast<RankedTensorType>(op.getResult().getType()).getShape();

  gk::MatMulSpec spec;
  spec.name = name("matmul");
  spec.mmaType = mmaType;
  spec.lhsElement = lhsElement;
  spec.rhsElement = rhsElement;
  spec.outElement = outElement;
  spec.biasElement = biasElement;
  spec.residualElement = residualElement;
  // Operands already in f16 or bf16 multiply in their type: rounding them
  // to the other would lose bits (or range).
  if ((lhsElement == "f16" || lhsElement == "bf16") && rhsElement != "f32")
    spec.mmaType = lhsElement;
  describeProduct(spec, lhsShape, rhsShape, resultShape, op.getTransposeLhs(),
                  op.getTransposeRhs(), bias, residual, {});
  spec.scale = op.getScale().convertToFloat();
  switch (op.getActivation()) {
  case llm::Activation::none:
    spec.activation = gk::Activation::None;
    break;
  case llm::Activation::relu:
    spec.activation = gk::Activation::Relu;
    break;
  case llm::Activation::gelu:
    spec.activation = gk::Activation::Gelu;
    break;
  case llm::Activation::gelu_tanh:
    spec.activation = gk::Activation::GeluTanh;
    break;
  case llm::Activation::silu:
    spec.activation = gk::Activation::Silu;
    break;
  }
  std::optional<WeightDequant> weight = matchWeightDequant(op, spec);
  // The rhs as the kernel sees it; a gathered one is read from its table.
  Value product = rhs;
  auto gathered = matchGatheredRhs(spec, product, weight);
  if (weight)
    rhs = weight->values;
  else
    rhs = product;
  // A weight is read in bf16 from a buffer of half the bytes: the kernel
  // rounds its operands to bf16 anyway, so the product is the same.
  bool bf16Weight = !weight && spec.mmaType == "bf16" &&
                    spec.rhsElement == "f32" && llm::isWeightArgument(rhs);
  if (bf16Weight)
    spec.rhsElement = "bf16";
  // A gated unit after a merged gate and up projection, act(gate) * up of
  // the halves of its split: the GEMV reads both halves' weight columns,
  // the tensor-core kernels both halves' tiles (interleaved), and they store
  // the gated value, n / 2 a row; the split, the activation and their
  // launch go away.
  // (Whether the GEMV takes it depends on neither the gate nor the norm.)
  const bool gemv = takesGemv(spec);
  std::optional<GatedUnit> gated;
  if (!residual && spec.activation == gk::Activation::None &&
      (gemv || gk::tiledGluApplies(spec)) && (gated = matchGatedUnit(op))) {
    spec.glu = gated->activation;
    spec.gluGateSecond = gated->gateSecond;
    spec.n /= 2;
  }
  // A decoding step's norm before the GEMV: the kernel reads the norm's
  // input, gain (and bias) and normalizes each row as it reads it; the
  // norm's launch goes away.
  std::optional<NormParts> fused;
  if (norm && gemv) {
    NormParts parts(norm);
    std::string element = kernelFloat(parts.scale);
    if (kernelFloat(parts.input) == lhsElement && !element.empty() &&
        elements(parts.scale) == spec.k &&
        (!parts.bias || (kernelFloat(parts.bias) == element &&
                         elements(parts.bias) == spec.k))) {
      spec.lhsNorm = parts.kind == gk::RowKind::LayerNorm
                         ? gk::MatMulSpec::LhsNorm::Layer
                         : gk::MatMulSpec::LhsNorm::RMS;
      spec.hasLhsNormBias = static_cast<bool>(parts.bias);
      spec.lhsNormEpsilon = parts.epsilon;
      spec.lhsNormElement = element;
      lhs = parts.input;
      fused = parts;
    }
  }
  // A norm the product does not take: its own kernel first, launched where
  // the norm was, before the product's (which reads its result).
  if (norm && !fused) {
    if (failed(lowerNorm(norm, normKernel)))
      return failure();
    lhs = op.getLhs();
  }
  normDone = static_cast<bool>(norm);
  int64_t threads = emitProduct(spec);
  // The GEMV's warps each take a gated unit's two columns; the tiles cover
  // both halves.
  int64_t columns = gemv ? spec.n : spec.productColumns();
  SmallVector<Value> inputs = {lhs, rhs};
  if (weight) {
    inputs.push_back(weight->scale);
    if (weight->zero)
      inputs.push_back(weight->zero);
  }
  if (gathered)
    inputs.push_back(gathered->first);
  if (bias)
    inputs.push_back(bias);
  if (residual)
    inputs.push_back(residual);
  if (fused) {
    inputs.push_back(fused->scale);
    if (fused->bias)
      inputs.push_back(fused->bias);
  }
  launch(gated ? gated->mul : op.getOperation(), spec.name,
         {(columns + spec.tileN - 1) / spec.tileN,
          (spec.m + spec.tileM - 1) / spec.tileM, spec.batch},
         threads, inputs, bf16Weight ? 1 : -1);
  if (gated) {
    SmallVector<Operation *> absorbed = {gated->activationOp};
    absorbed.append(gated->reshapes.begin(), gated->reshapes.end());
    absorbed.append({gated->split, op});
    llmc::eraseUnread(absorbed);
  }
  if (fused)
    norm->erase();
  if (weight)
    for (Operation *absorbed : weight->absorbed)
      if (absorbed->use_empty())
        absorbed->erase();
  if (gathered)
    llmc::eraseUnread(gathered->second);
  return success();
}

/// An s8 x s8 product on the tensor cores (m16n8k32, exact i32
/// accumulation), with the layer's dequantization fused when it follows:
///   qmatmul -> dequantize(scale) [-> add(bias)]
/// becomes one kernel that stores f32 `float(acc) * scale (+ bias)`; a scale
/// made by `llm.mul` of a per-token and a per-channel factor is read as the
/// two factors (never as an M x N tensor) and multiplied in the same order
/// as on the host. Unsigned operands and zero points (per tensor, per row
/// of lhs, per column of rhs) are corrected in the epilogue
/// (gk::IntegerOffsets). Zero points that vary along k and dynamic shapes
/// stay on the generic path.
LogicalResult KernelBuilder::lower(llm::QMatMulOp op) {
  Value lhs = op.getLhs(), rhs = op.getRhs();
  Value lhsZero = op.getLhsZeroPoint(), rhsZero = op.getRhsZeroPoint();
  // A zero point of constant zeros (quantize_dynamic's int8 weights) is
  // none: no sums to take for it.
  for (Value *zero : {&lhsZero, &rhsZero})
    if (*zero && matchPattern(*zero, m_Zero()))
      *zero = Value();
  auto isStatic = [](Value v) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    return type && type.hasStaticShape() && type.getNumElements() > 0;
  };
  // A zero point whose dim `fromEnd` dims before the last (k's) is 1 or
  // absent.
  auto constantAlongK = [&](Value zero, int64_t fromEnd) {
    if (!zero)
      return true;
    if (!isStatic(zero))
      return false;
    auto shape = cast<RankedTensorType>(zero.getType()).getShape();
    int64_t axis = static_cast<int64_t>(shape.size()) - 1 - fromEnd;
    return axis < 0 || shape[axis] == 1;
  };
  if (!isStatic(lhs) || !isStatic(rhs) || !isStatic(op.getResult()) ||
      !constantAlongK(lhsZero, 0) ||
      !constantAlongK(rhsZero, op.getTransposeRhs() ? 0 : 1))
    return success(); // left for the generic path
  auto lhsShape = cast<RankedTensorType>(lhs.getType()).getShape();
  auto rhsShape = cast<RankedTensorType>(rhs.getType()).getShape();
  auto resultShape =
      cast<RankedTensorType>(op.getResult().getType()).getShape();

  // The dequantization (and bias) this product feeds, if it can be fused.
  auto single = [](Value v) -> Operation * {
    return v.hasOneUse() ? *v.getUsers().begin() : nullptr;
  };
  auto dequant = dyn_cast_or_null<llm::DequantizeOp>(single(op.getResult()));
  if (dequant &&
      (dequant.getZeroPoint() || dequant.getBits() != 8 ||
       dequant.getBlockSize() != 0 || !isStaticF32(dequant.getScale()) ||
       cast<RankedTensorType>(dequant.getType()).getShape() != resultShape))
    dequant = nullptr;
  SmallVector<Value> scales;
  llm::MulOp scaleMul;
  Value bias, residual;
  gk::Activation activation = gk::Activation::None;
  gk::OutputQuantization quantizeOutput;
  Operation *last = op;
  // The ops from `op` to before `last`, in order.
  SmallVector<Operation *> fused;
  if (dequant) {
    fused.push_back(op);
    last = dequant;
    scaleMul = dequant.getScale().getDefiningOp<llm::MulOp>();
    if (scaleMul && isStaticF32(scaleMul.getLhs()) &&
        isStaticF32(scaleMul.getRhs())) {
      scales = {scaleMul.getLhs(), scaleMul.getRhs()};
    } else {
      scaleMul = nullptr;
      scales = {dequant.getScale()};
    }
    // An add of an f32 operand broadcast to the result, after `last`.
    auto addend = [&]() -> Value {
      Value value = last->getResult(0);
      auto add = dyn_cast_or_null<llm::AddOp>(single(value));
      if (!add)
        return {};
      Value other = add.getLhs() == value ? add.getRhs() : add.getLhs();
      if (other == value || !isStaticF32(other) ||
          cast<RankedTensorType>(add.getType()).getShape() != resultShape ||
          cast<RankedTensorType>(other.getType()).getRank() >
              static_cast<int64_t>(resultShape.size()))
        return {};
      fused.push_back(last);
      last = add;
      return other;
    };
    bias = addend();
    // Then the epilogue's activation and residual, as llm.matmul fuses them:
    // act(dequant + bias) + residual.
    Operation *next = single(last->getResult(0));
    std::optional<gk::Activation> act;
    if (auto gelu = dyn_cast_or_null<llm::GeluOp>(next))
      act = gelu.getApproximation() == llm::GeluApproximation::tanh
                ? gk::Activation::GeluTanh
                : gk::Activation::Gelu;
    else if (isa_and_nonnull<llm::ReluOp>(next))
      act = gk::Activation::Relu;
    else if (isa_and_nonnull<llm::SiluOp>(next))
      act = gk::Activation::Silu;
    if (act) {
      activation = *act;
      fused.push_back(last);
      last = next;
    }
    residual = addend();
    // Then a static quantization of the result (the next product's QDQ
    // activations): the kernel stores i8.
    if (auto quantize = staticQuantizeOf(last->getResult(0))) {
      quantizeOutput = quantize->second;
      fused.push_back(last);
      last = quantize->first;
      fusedAhead.insert(last);
    }
  }

  gk::MatMulSpec spec;
  spec.name = name("qmatmul");
  spec.mmaType = op.getE4m3() ? "e4m3" : "s8";
  spec.lhsElement = spec.rhsElement = "i8";
  spec.tileK = 64;
  spec.outElement = dequant || op.getE4m3() ? "f32" : "i32";
  describeProduct(spec, lhsShape, rhsShape, resultShape,
                  /*transposeLhs=*/false, op.getTransposeRhs(), bias, residual,
                  scales, lhsZero, rhsZero);
  spec.activation = activation;
  spec.quantizeOutput = quantizeOutput;
  spec.offsets.lhsUnsigned = op.getLhsUnsigned();
  spec.offsets.rhsUnsigned = op.getRhsUnsigned();
  // A decoding step's experts gathered from an int8 table (llm-quantize's
  // int8 of gathered experts): the kernel reads the table through the
  // router's indices instead of a gathered copy of the bytes.
  std::optional<std::pair<Value, SmallVector<Operation *>>> gathered;
  if (!rhsZero) {
    std::optional<WeightDequant> noDequant;
    Value table = rhs;
    gathered = matchGatheredRhs(spec, table, noDequant);
    if (gathered)
      rhs = table;
  }
  int64_t threads = emitProduct(spec);
  SmallVector<Value> inputs = {lhs, rhs};
  if (gathered)
    inputs.push_back(gathered->first);
  for (Value zero : {lhsZero, rhsZero})
    if (zero)
      inputs.push_back(zero);
  inputs.append(scales.begin(), scales.end());
  if (bias)
    inputs.push_back(bias);
  if (residual)
    inputs.push_back(residual);
  launch(last, spec.name,
         {(spec.n + spec.tileN - 1) / spec.tileN,
          (spec.m + spec.tileM - 1) / spec.tileM, spec.batch},
         threads, inputs);
  // The fused ops before `last` (which launch() erased), now unused.
  for (Operation *dead : llvm::reverse(fused))
    dead->erase();
  if (scaleMul && scaleMul->use_empty())
    scaleMul->erase();
  if (gathered)
    llmc::eraseUnread(gathered->second);
  return success();
}

/// Per-token (dynamic) int8 quantization of activations, as llm-quantize
/// writes it:
///   s = div(max(reduce_max(abs(x), last axis), eps), c); q = quantize(x, s)
/// becomes one block per row that finds the row's |x| maximum with warp
/// shuffles, writes s and the row's int8 values: one launch and two passes
/// over x instead of five launches, one thread per row for the maximum.
/// The float operations are the host's, so s and q are bit-identical.
LogicalResult KernelBuilder::lowerQuantizeRows(llm::QuantizeOp op) {
  Value x = op.getInput();
  if (op.getZeroPoint() || op.getIsUnsigned() || !isStaticF32(x))
    return success();
  auto div = op.getScale().getDefiningOp<llm::DivOp>();
  auto max = div ? div.getLhs().getDefiningOp<llm::MaxOp>() : nullptr;
  auto reduce =
      max ? max.getLhs().getDefiningOp<llm::ReduceMaxOp>() : nullptr;
  auto abs = reduce ? reduce.getInput().getDefiningOp<llm::AbsOp>() : nullptr;
  if (!abs || abs.getInput() != x)
    return success();
  auto shape = cast<RankedTensorType>(x.getType()).getShape();
  int64_t rank = shape.size();
  ArrayRef<int64_t> axes = reduce.getAxes();
  auto scaleType = cast<RankedTensorType>(div.getType());
  std::optional<float> epsilon = splatF32(max.getRhs());
  std::optional<float> divisor = splatF32(div.getRhs());
  SmallVector<int64_t> rowShape(shape);
  if (rank == 0 || !epsilon || !divisor || axes.size() != 1 ||
      (axes[0] != rank - 1 && axes[0] != -1))
    return success();
  rowShape.back() = 1;
  if (scaleType.getShape() != ArrayRef<int64_t>(rowShape))
    return success();
  gk::QuantizeRowsSpec spec;
  spec.name = name("quantize_rows");
  spec.length = shape.back();
  spec.rows = elements(x) / spec.length;
  spec.epsilon = *epsilon;
  spec.divisor = *divisor;
  spec.e4m3 = op.getE4m3();
  kernels += gk::quantizeRowsKernel(spec);
  OpBuilder b(op);
  Location loc = op.getLoc();
  launchWith(b, loc, spec.name, {spec.rows, 1, 1}, gk::kRowThreads,
             {flatBuffer(b, loc, x)}, {div.getResult(), op.getResult()});
  op->erase();
  for (Operation *dead : {div.getOperation(), max.getOperation(),
                          reduce.getOperation(), abs.getOperation()})
    if (dead->use_empty())
      dead->erase();
  return success();
}

/// DynamicQuantizeLinear as the importer writes it (its dynamicQuantize,
/// also behind DynamicQuantizeMatMul and QAttention):
///   low = min(reduce_min(x), 0), high = max(reduce_max(x), 0),
///   range = high - low, s = where(range == 0, 1, range / 255),
///   zp = quantize(0 - low, s) unsigned, q = quantize(x, s, zp) unsigned
/// becomes one launch (a tensor of at most kQuantizeChunk elements) or two:
/// each block's (min, max), then the range, s and zp in every block from
/// the blocks' pairs and each block's chunk of q. Ten ops, most of them a
/// launch each with one thread reducing the whole tensor, are gone. The
/// float operations are the host's, so s, zp and q are bit-identical.
LogicalResult KernelBuilder::lowerQuantizeTensor(llm::QuantizeOp op) {
  Value x = op.getInput(), scale = op.getScale();
  auto zeroOp = op.getZeroPoint().getDefiningOp<llm::QuantizeOp>();
  if (!op.getIsUnsigned() || !isStaticF32(x) || elements(scale) != 1 ||
      !zeroOp || !zeroOp.getIsUnsigned() || zeroOp.getZeroPoint() ||
      zeroOp.getScale() != scale || elements(zeroOp.getResult()) != 1)
    return success();
  auto where = scale.getDefiningOp<llm::WhereOp>();
  auto equal =
      where ? where.getCondition().getDefiningOp<llm::EqualOp>() : nullptr;
  auto div =
      where ? where.getFalseValue().getDefiningOp<llm::DivOp>() : nullptr;
  auto range = equal ? equal.getLhs().getDefiningOp<llm::SubOp>() : nullptr;
  auto negated = zeroOp.getInput().getDefiningOp<llm::SubOp>();
  if (!where || !equal || !div || !range || !negated ||
      div.getLhs() != range.getResult() || splatF32(equal.getRhs()) != 0.0f ||
      splatF32(where.getTrueValue()) != 1.0f ||
      splatF32(div.getRhs()) != 255.0f || splatF32(negated.getLhs()) != 0.0f ||
      negated.getRhs() != range.getRhs())
    return success();
  auto high = range.getLhs().getDefiningOp<llm::MaxOp>();
  auto low = range.getRhs().getDefiningOp<llm::MinOp>();
  auto reduceMax =
      high ? high.getLhs().getDefiningOp<llm::ReduceMaxOp>() : nullptr;
  auto reduceMin =
      low ? low.getLhs().getDefiningOp<llm::ReduceMinOp>() : nullptr;
  auto whole = [&](Operation *reduce, Value input) {
    return reduce && input == x && elements(reduce->getResult(0)) == 1;
  };
  if (!reduceMax || !reduceMin || splatF32(high.getRhs()) != 0.0f ||
      splatF32(low.getRhs()) != 0.0f ||
      !whole(reduceMax, reduceMax.getInput()) ||
      !whole(reduceMin, reduceMin.getInput()))
    return success();
  // The launch replaces s and zp where q is computed: their other users
  // must come after it.
  for (Value value : {scale, Value(zeroOp.getResult())})
    for (Operation *user : value.getUsers())
      if (user != op && user != zeroOp &&
          (user->getBlock() != op->getBlock() || !op->isBeforeInBlock(user)))
        return success();

  gk::QuantizeTensorSpec spec;
  spec.name = name("quantize_tensor");
  spec.elements = elements(x);
  spec.blocks = std::clamp<int64_t>(
      (spec.elements + kQuantizeChunk - 1) / kQuantizeChunk, 1, 256);
  OpBuilder b(op);
  Location loc = op.getLoc();
  Value input = flatBuffer(b, loc, x);
  SmallVector<Value> args = {input};
  if (spec.blocks > 1) {
    kernels += gk::tensorMinMaxKernel(spec);
    Value pairs = memref::AllocOp::create(
        b, loc, MemRefType::get({2 * spec.blocks}, b.getF32Type()));
    launchWith(b, loc, spec.name + "_minmax", {spec.blocks, 1, 1},
               gk::kRowThreads, {input, pairs}, {});
    args.push_back(pairs);
  }
  kernels += gk::quantizeTensorKernel(spec);
  launchWith(b, loc, spec.name, {spec.blocks, 1, 1}, gk::kRowThreads, args,
             {scale, zeroOp.getResult(), op.getResult()});
  // The matched ops, users first, as they become unused.
  for (Operation *dead :
       {op.getOperation(), zeroOp.getOperation(), negated.getOperation(),
        where.getOperation(), div.getOperation(), equal.getOperation(),
        range.getOperation(), high.getOperation(), low.getOperation(),
        reduceMax.getOperation(), reduceMin.getOperation()})
    if (dead->use_empty())
      dead->erase();
  return success();
}

/// Whether `perm` swaps the two dims before the last (heads and rows of an
/// attention operand) and keeps the others.
static bool swapsHeadsAndRows(ArrayRef<int64_t> perm) {
  int64_t rank = perm.size();
  if (rank < 3)
    return false;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t expected = i == rank - 3 ? rank - 2 : i == rank - 2 ? rank - 3 : i;
    if (perm[i] != expected)
      return false;
  }
  return true;
}

namespace {
/// An attention operand read where its producer wrote it.
struct StridedAttentionOperand {
  Value source;
  gk::AttentionLayout layout;
  /// The ops that made the contiguous copy, last first.
  SmallVector<Operation *> chain;
};
} // namespace

/// `value` [.., H, S, D] as an llm.transpose of an llm.reshape of a tensor,
/// or of one part of an llm.split of one along its last dim (a fused qkv
/// product's), where each (batch, head, row) is a run of D contiguous
/// elements of that tensor at a stride per batch, head and row: the tensor
/// it reads, and where (batch, head, row, d) lies in it. The usual form is
/// [.., S, H * D] -> [.., S, H, D] -> [.., H, S, D]; unit dims may sit
/// anywhere (a batch of 1 comes as [S, 1, H, D] permuted (1, 2, 0, 3)).
/// Without the reshape, the transpose of a [.., S, H, D] tensor (GPT-J's
/// rotated q and k) is read in it the same way.
static std::optional<StridedAttentionOperand>
stridedAttentionOperand(Value value) {
  auto transpose = value.getDefiningOp<llm::TransposeOp>();
  if (!transpose)
    return std::nullopt;
  auto reshape = transpose.getInput().getDefiningOp<llm::ReshapeOp>();
  ArrayRef<int64_t> shape =
      cast<RankedTensorType>(transpose.getInput().getType()).getShape();
  StridedAttentionOperand result;
  result.chain = {transpose};
  result.source = transpose.getInput();
  if (reshape) {
    result.chain.push_back(reshape);
    result.source = reshape.getInput();
  }
  auto part = cast<RankedTensorType>(result.source.getType());
  int64_t rank = shape.size();
  if (rank < 3 || !part.hasStaticShape() || part.getRank() < 1)
    return std::nullopt;
  int64_t offset = 0, cols = part.getShape().back(), sourceCols = cols;
  if (auto split = result.source.getDefiningOp<llm::SplitOp>()) {
    auto input = cast<RankedTensorType>(split.getInput().getType());
    if (!input.hasStaticShape() ||
        static_cast<int64_t>(split.getAxis()) != input.getRank() - 1)
      return std::nullopt;
    offset = splitColumnOffset(split, result.source);
    result.chain.push_back(split);
    result.source = split.getInput();
    sourceCols = input.getShape().back();
  }
  // The reshape's dims: a group that splits the part's columns (contiguous
  // in the source) and one that splits its rows (sourceCols apart).
  int64_t first = rank, inner = 1;
  while (first > 0 && inner < cols)
    inner *= shape[--first];
  if (inner != cols)
    return std::nullopt;
  SmallVector<int64_t> strides(rank);
  int64_t stride = 1;
  for (int64_t i = rank - 1; i >= 0; --i) {
    if (i == first - 1)
      stride = sourceCols;
    strides[i] = stride;
    stride *= shape[i];
  }
  // Through the transpose: result dim i is reshape dim perm[i].
  ArrayRef<int64_t> perm = transpose.getPermutation();
  auto dim = [&](int64_t i) { return shape[perm[i]]; };
  auto strideOf = [&](int64_t i) { return dim(i) == 1 ? 0 : strides[perm[i]]; };
  if (dim(rank - 1) != 1 && strideOf(rank - 1) != 1)
    return std::nullopt;
  // The batch dims flatten to one index at one stride.
  int64_t batchStride = 0, next = 0;
  for (int64_t i = rank - 4; i >= 0; --i) {
    if (dim(i) == 1)
      continue;
    if (batchStride && strideOf(i) != next)
      return std::nullopt;
    if (!batchStride)
      batchStride = strideOf(i);
    next = strideOf(i) * dim(i);
  }
  auto source = cast<RankedTensorType>(result.source.getType());
  result.layout.elements = source.getNumElements();
  result.layout.offset = offset;
  result.layout.rowStride = strideOf(rank - 2);
  result.layout.headStride = strideOf(rank - 3);
  result.layout.batchStride = batchStride;
  return result;
}

/// `value` as llm.concat(past, new) along the keys (dim rank - 2), both
/// with rows, read by `op` and after `last` only: a decoding step's cache
/// append that the attention can fuse.
static llm::ConcatOp cacheAppend(Value value, Operation *op, Operation *last) {
  auto concat = value.getDefiningOp<llm::ConcatOp>();
  if (!concat || concat.getInputs().size() != 2)
    return nullptr;
  int64_t rank = cast<RankedTensorType>(value.getType()).getRank();
  if (static_cast<int64_t>(concat.getAxis()) != rank - 2)
    return nullptr;
  for (Value input : concat.getInputs()) {
    auto type = cast<RankedTensorType>(input.getType());
    if (!type.hasStaticShape() || type.getShape()[rank - 2] == 0)
      return nullptr;
  }
  for (Operation *user : concat->getUsers())
    if (user != op &&
        (user->getBlock() != last->getBlock() || !last->isBeforeInBlock(user)))
      return nullptr;
  return concat;
}

/// The presents `k` and `v` (cache appends of `op`) stacked as one [2, ..]
/// output and read nowhere else: concat(reshape(k), reshape(v)) along a
/// new unit first dim, after `op`.
static llm::ConcatOp stackedPresents(llm::ConcatOp k, llm::ConcatOp v,
                                     Operation *op) {
  auto rows = [&](llm::ConcatOp present) -> llm::ReshapeOp {
    llm::ReshapeOp reshape;
    for (Operation *user : present->getUsers()) {
      if (user == op)
        continue;
      if (reshape || !isa<llm::ReshapeOp>(user))
        return nullptr;
      reshape = cast<llm::ReshapeOp>(user);
    }
    if (!reshape || !reshape->hasOneUse())
      return nullptr;
    ArrayRef<int64_t> shape = present.getType().getShape();
    ArrayRef<int64_t> rows = reshape.getType().getShape();
    if (rows.size() != shape.size() + 1 || rows.front() != 1 ||
        rows.drop_front() != shape)
      return nullptr;
    return reshape;
  };
  llm::ReshapeOp kRows = rows(k), vRows = rows(v);
  if (!kRows || !vRows || k.getType() != v.getType())
    return nullptr;
  auto stack = dyn_cast<llm::ConcatOp>(*kRows->getUsers().begin());
  if (!stack || stack.getAxis() != 0 || stack.getInputs().size() != 2 ||
      stack.getInputs()[0] != kRows.getResult() ||
      stack.getInputs()[1] != vRows.getResult() ||
      stack->getBlock() != op->getBlock() || !op->isBeforeInBlock(stack))
    return nullptr;
  return stack;
}

void KernelBuilder::chooseAttentionWork(gk::AttentionSpec &spec,
                                        std::array<int64_t, 3> &grid) {
  // Few query rows of grouped heads (a decoding step): one block per kv
  // head reads its K and V once for all of the group's heads.
  const int64_t group = spec.queryHeads / spec.kvHeads;
  if (group > 1 && group * spec.seqQ <= gk::kAttentionBlockQ) {
    spec.packHeads = true;
    grid = {1, spec.batch * spec.kvHeads, 1};
  }
  // A grid that leaves at least half the SMs idle (a decoding step over a
  // long cache: one block per head) splits its keys, up to one block per
  // SM, each split at least kMinSplitKeyBlocks key blocks; a grid near one
  // wave is not split (the combine would only add work). The
  // quantized-weights kernel takes two passes over the keys and does not
  // split.
  if (spec.weightsScale != 0.0f)
    return;
  int64_t keys = spec.seqK;
  if (spec.causal && spec.window > 0)
    keys = std::min(keys, spec.window + gk::kAttentionBlockQ);
  const int64_t keyBlocks =
      (keys + gk::kAttentionBlockK - 1) / gk::kAttentionBlockK;
  const int64_t blocks = grid[0] * grid[1];
  const int64_t sms = static_cast<int64_t>(descNumber("gpu.sm_count", 1));
  const int64_t splits =
      std::min({sms / blocks, keyBlocks / kMinSplitKeyBlocks,
                kMaxAttentionSplits});
  if (splits < 2)
    return;
  // As many splits as runs of ceil(keyBlocks / splits) blocks take (17 of
  // 64 key blocks would leave the 17th empty).
  const int64_t perSplit = (keyBlocks + splits - 1) / splits;
  spec.splits = (keyBlocks + perSplit - 1) / perSplit;
  grid[2] = spec.splits;
}

LogicalResult KernelBuilder::lower(llm::AttentionOp op) {
  Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
  Value mask = op.getMask();
  // One float type (f32, or f16/bf16 in such models) for q, k, v and the
  // result.
  std::string element = kernelFloat(q);
  if (element.empty() || kernelFloat(k) != element ||
      kernelFloat(v) != element || kernelFloat(op.getResult()) != element)
    return success();
  auto qShape = cast<RankedTensorType>(q.getType()).getShape();
  auto kShape = cast<RankedTensorType>(k.getType()).getShape();
  auto vShape = cast<RankedTensorType>(v.getType()).getShape();
  size_t rank = qShape.size();
  gk::AttentionSpec spec;
  spec.name = name("attention");
  spec.mmaType = element == "f32" ? mmaType : element;
  spec.element = element;
  spec.batch = 1;
  for (size_t i = 0; i + 3 < rank; ++i)
    spec.batch *= qShape[i];
  spec.queryHeads = qShape[rank - 3];
  spec.kvHeads = kShape[rank - 3];
  spec.seqQ = qShape[rank - 2];
  spec.seqK = kShape[rank - 2];
  spec.headDim = qShape[rank - 1];
  spec.valueDim = vShape[rank - 1];
  spec.scale = op.getScale().convertToFloat();
  spec.causal = op.getCausal();
  spec.window = op.getWindow().value_or(0);
  if (std::optional<APFloat> softcap = op.getSoftcap())
    spec.softcap = softcap->convertToFloat();
  Value sink = op.getSink();
  if (sink && kernelFloat(sink) != element)
    return success();
  spec.sink = static_cast<bool>(sink);
  if (std::optional<APFloat> weightsScale = op.getWeightsScale()) {
    // The host reference has no quantized weights: the generic path runs
    // the op there.
    if (hostReference)
      return success();
    spec.weightsScale = weightsScale->convertToFloat();
    spec.weightsZero = op.getWeightsZeroPoint();
    spec.weightsUnsigned = op.getWeightsUnsigned();
    spec.weightsE4M3 = op.getWeightsE4m3();
  }
  if (spec.headDim > 256 || spec.valueDim > 256)
    return success(); // register tiles are sized for head dims up to 256
  if (mask) {
    auto maskType = dyn_cast<RankedTensorType>(mask.getType());
    if (!maskType || !maskType.hasStaticShape())
      return success();
    spec.maskElement = kernelFloat(mask);
    if (maskType.getElementType().isInteger(1))
      spec.mask = gk::MaskKind::Bool;
    else if (!spec.maskElement.empty())
      spec.mask = gk::MaskKind::Additive;
    else
      return success();
    SmallVector<int64_t> scores(qShape.begin(), qShape.end());
    scores.back() = spec.seqK;
    SmallVector<int64_t> strides =
        broadcastStrides(maskType.getShape(), scores);
    spec.maskOperand.batch = batchTerms(scores, strides, rank - 2);
    spec.maskOperand.rowStride = strides[rank - 2];
    spec.maskOperand.colStride = strides[rank - 1];
    spec.maskElements = maskType.getNumElements();
  }
  // Query, key and value transposed from [.., S, H, D] (a product's
  // [.., S, H * D] result, or one part of a fused qkv product's) are read
  // where the product wrote them, and a result transposed back to
  // [.., S, H, Dv] is written so: no transposing copies around the
  // attention (four launches per layer of a GPT-2).
  llvm::SetVector<Operation *> chains;
  Operation *last = op;
  if (!hostReference) {
    std::pair<Value *, gk::AttentionLayout *> operands[] = {
        {&q, &spec.qLayout}, {&k, &spec.kLayout}, {&v, &spec.vLayout}};
    for (auto [value, layout] : operands)
      if (auto strided = stridedAttentionOperand(*value)) {
        *value = strided->source;
        *layout = strided->layout;
        chains.insert_range(strided->chain);
      }
    Value result = op.getResult();
    auto back = result.hasOneUse()
                    ? dyn_cast<llm::TransposeOp>(*result.getUsers().begin())
                    : nullptr;
    if (back && swapsHeadsAndRows(back.getPermutation())) {
      last = back;
      spec.oLayout.elements =
          spec.batch * spec.seqQ * spec.queryHeads * spec.valueDim;
      spec.oLayout.rowStride = spec.queryHeads * spec.valueDim;
      spec.oLayout.headStride = spec.valueDim;
      spec.oLayout.batchStride = spec.seqQ * spec.oLayout.rowStride;
    }
  }
  // A decoding step's cache append, K and V each concat(past, new) along
  // the keys: the kernel reads the past and the new rows where they are
  // and writes the presents, instead of a copy of the past into the
  // presents that the attention then reads again (3 passes over the cache
  // -> 2). With a window, the rows before it are copied by the kernel.
  SmallVector<Value> presents;
  Value kNew, vNew;
  llm::ConcatOp kAppend, vAppend, stacked;
  if (!hostReference) {
    kAppend = cacheAppend(k, op, last);
    vAppend = cacheAppend(v, op, last);
  }
  auto pastRows = [&](llm::ConcatOp concat) {
    return cast<RankedTensorType>(concat.getInputs()[0].getType())
        .getShape()[rank - 2];
  };
  if (kAppend && vAppend && kAppend != vAppend &&
      pastRows(kAppend) == pastRows(vAppend)) {
    spec.pastK = pastRows(kAppend);
    k = kAppend.getInputs()[0];
    kNew = kAppend.getInputs()[1];
    v = vAppend.getInputs()[0];
    vNew = vAppend.getInputs()[1];
    // A present that only the attention reads is not written.
    spec.presentKey = !kAppend->hasOneUse();
    spec.presentValue = !vAppend->hasOneUse();
    if ((stacked = stackedPresents(kAppend, vAppend, op))) {
      // One [2, ..] present of both (ONNX Runtime's Attention, older
      // GPT-2 exports): written in place, the stacking copy gone.
      spec.stackedPresents = true;
      presents.push_back(stacked.getResult());
    } else {
      if (spec.presentKey)
        presents.push_back(kAppend.getResult());
      if (spec.presentValue)
        presents.push_back(vAppend.getResult());
    }
    // New rows transposed from a product's [.., S, H * D] are read there.
    std::pair<Value *, gk::AttentionLayout *> parts[] = {
        {&kNew, &spec.kNewLayout}, {&vNew, &spec.vNewLayout}};
    for (auto [value, layout] : parts)
      if (auto strided = stridedAttentionOperand(*value)) {
        *value = strided->source;
        *layout = strided->layout;
        chains.insert_range(strided->chain);
      }
  }
  spec.sharedBudget = sharedBudget();
  std::array<int64_t, 3> grid = {(spec.seqQ + gk::kAttentionBlockQ - 1) /
                                     gk::kAttentionBlockQ,
                                 spec.batch * spec.queryHeads, 1};
  if (!hostReference)
    chooseAttentionWork(spec, grid);
  if (hostReference)
    kernels += gk::attentionHostReference(spec);
  else
    add(spec.name, gk::attentionKernel(spec));
  SmallVector<Value> inputs = {q, k};
  if (spec.pastK)
    inputs.push_back(kNew);
  inputs.push_back(v);
  if (spec.pastK)
    inputs.push_back(vNew);
  if (mask)
    inputs.push_back(mask);
  const int64_t threads = 32 * gk::kAttentionWarps;
  if (spec.splits > 1) {
    // The split kernel writes its partial rows; the combine kernel merges
    // them (and the sink) into the result.
    std::string combine = name("attention_combine");
    kernels += gk::attentionCombineKernel(spec, combine);
    OpBuilder b(last);
    Location loc = last->getLoc();
    SmallVector<Value> args;
    for (Value input : inputs)
      args.push_back(flatBuffer(b, loc, input));
    Value partial = memref::AllocOp::create(
        b, loc, MemRefType::get({gk::attentionPartials(spec)}, b.getF32Type()));
    args.push_back(partial);
    launchWith(b, loc, spec.name, grid, threads, args, presents);
    SmallVector<Value> combineArgs = {partial};
    if (sink)
      combineArgs.push_back(flatBuffer(b, loc, sink));
    launchWith(
        b, loc, combine, {spec.batch * spec.queryHeads * spec.seqQ, 1, 1},
        gk::attentionCombineThreads(spec), combineArgs, last->getResult(0));
    last->erase();
  } else {
    if (sink)
      inputs.push_back(sink);
    launch(ArrayRef<Operation *>(last), spec.name, grid, threads, inputs,
           /*bf16Input=*/-1, presents);
  }
  if (last != op)
    op->erase();
  if (stacked) {
    Operation *kRows = stacked.getInputs()[0].getDefiningOp();
    Operation *vRows = stacked.getInputs()[1].getDefiningOp();
    stacked->erase();
    kRows->erase();
    vRows->erase();
  }
  if (spec.pastK) {
    kAppend->erase();
    vAppend->erase();
  }
  // The transposing copies (and a split) no one reads any more.
  llmc::eraseUnread(chains.takeVector());
  return success();
}

std::optional<std::pair<Operation *, InPlaceRows>>
KernelBuilder::pairedNorm(Operation *op, InPlaceRows rows,
                          const gk::RowSpec &spec) {
  // Its parameters must be defined where `op` launches.
  auto here = [&](Value v) {
    if (!v)
      return true;
    if (auto arg = dyn_cast<BlockArgument>(v))
      return arg.getOwner() == op->getBlock();
    Operation *def = v.getDefiningOp();
    return def->getBlock() == op->getBlock() && def->isBeforeInBlock(op);
  };
  for (Value other : rows.split->getResults()) {
    if (other == rows.reshape.getInput() || !other.hasOneUse())
      continue;
    auto reshape = dyn_cast<llm::ReshapeOp>(*other.getUsers().begin());
    if (!reshape || !reshape.getResult().hasOneUse())
      continue;
    Operation *candidate = *reshape.getResult().getUsers().begin();
    if (candidate->getName() != op->getName() ||
        fusedAhead.contains(candidate) || normsProductRows(candidate) ||
        staticQuantizeOf(candidate->getResult(0)))
      continue;
    NormParts parts(candidate);
    std::optional<InPlaceRows> second = inPlaceRows(parts.input, parts.axis);
    if (!second || parts.epsilon != spec.epsilon ||
        static_cast<bool>(parts.bias) != spec.hasBias ||
        kernelFloat(candidate->getResult(0)) != spec.element ||
        kernelFloat(parts.scale) != spec.paramElement ||
        (parts.bias && kernelFloat(parts.bias) != spec.paramElement) ||
        elements(parts.scale) != spec.length ||
        (parts.bias && elements(parts.bias) != spec.length) ||
        second->length != spec.length || !here(parts.scale) ||
        !here(parts.bias))
      continue;
    return std::make_pair(candidate, *second);
  }
  return std::nullopt;
}

LogicalResult KernelBuilder::lowerRow(Operation *op, gk::RowKind kind,
                                      int64_t axis, Value scale, Value bias,
                                      float epsilon, StringRef kernel) {
  // f32, f16 or bf16 rows; scale and bias of one float type.
  Value input = op->getOperand(0);
  std::string element = kernelFloat(input);
  std::string paramElement = scale ? kernelFloat(scale) : "f32";
  if (element.empty() || kernelFloat(op->getResult(0)) != element ||
      paramElement.empty() || (bias && kernelFloat(bias) != paramElement))
    return success();
  auto shape = cast<RankedTensorType>(input.getType()).getShape();
  int64_t rank = shape.size();
  if (axis < 0)
    axis += rank;
  gk::RowSpec spec;
  spec.kind = kind;
  spec.name = !kernel.empty()
                  ? kernel.str()
                  : name(kind == gk::RowKind::Softmax   ? "softmax"
                         : kind == gk::RowKind::RMSNorm ? "rms_norm"
                                                        : "layer_norm");
  spec.rows = 1;
  spec.length = 1;
  if (kind == gk::RowKind::Softmax) {
    // One row per position of the other dims, strided by the dims after.
    for (int64_t i = 0; i < rank; ++i)
      (i == axis ? spec.length : spec.rows) *= shape[i];
    for (int64_t i = axis + 1; i < rank; ++i)
      spec.inner *= shape[i];
  } else {
    for (int64_t i = 0; i < rank; ++i)
      (i < axis ? spec.rows : spec.length) *= shape[i];
  }
  // Scale and bias cover the normalized dims exactly (the verifier's rule);
  // anything else takes the generic path.
  if ((scale && elements(scale) != spec.length) ||
      (bias && elements(bias) != spec.length))
    return success();
  spec.hasBias = static_cast<bool>(bias);
  spec.epsilon = epsilon;
  spec.element = element;
  spec.paramElement = paramElement;
  // A norm whose only user is a static quantization (a QDQ model's
  // activations before a product) stores the i8 values.
  Operation *last = op;
  if (kind != gk::RowKind::Softmax)
    if (auto quantize = staticQuantizeOf(op->getResult(0))) {
      spec.quantizeOutput = quantize->second;
      last = quantize->first;
      fusedAhead.insert(last);
    }
  // A per-head norm of one part of a fused product (q and k norms after a
  // merged qkv projection: reshape(split(qkv)) to [.., H, D], normalized
  // over D) reads its rows where the product wrote them, not from a copy
  // of the part.
  SmallVector<Operation *> chain;
  std::optional<InPlaceRows> rows;
  if (kind != gk::RowKind::Softmax)
    rows = inPlaceRows(input, axis);
  Operation *partner = nullptr;
  if (rows) {
    spec.inputOffset = rows->offset;
    spec.groupRows = rows->groupRows;
    spec.groupStride = rows->groupStride;
    spec.inputElements = rows->elements;
    input = rows->split.getInput();
    chain = {rows->reshape, rows->split};
    // The same norm of another part of the product (the k norm beside the
    // q norm), not yet lowered and with its parameters defined here: one
    // launch for both, its blocks after this one's.
    if (last == op && !spec.quantizeOutput.enabled)
      if (auto paired = pairedNorm(op, *rows, spec)) {
        partner = paired->first;
        spec.pairRows = paired->second.rows;
        spec.pairGroupRows = paired->second.groupRows;
        spec.pairOffset = paired->second.offset;
        chain.push_back(paired->second.reshape);
      }
  }
  kernels += gk::rowKernel(spec);
  SmallVector<Value> inputs = {input};
  if (scale)
    inputs.push_back(scale);
  if (bias)
    inputs.push_back(bias);
  if (partner) {
    NormParts other(partner);
    inputs.push_back(other.scale);
    if (other.bias)
      inputs.push_back(other.bias);
    launch({op, partner}, spec.name, {spec.rows + spec.pairRows, 1, 1},
           gk::kRowThreads, inputs);
    fusedAhead.insert(partner);
  } else {
    launch(last, spec.name, {spec.rows, 1, 1}, gk::kRowThreads, inputs);
    if (last != op)
      op->erase();
  }
  // The parts and their reshapes, if nothing else reads them.
  llmc::eraseUnread(chain);
  return success();
}

/// Threads of a generic (one thread per iteration) kernel's block.
constexpr int64_t kGenericThreads = 256;

/// A softmax of at most one block's worth of elements (a router's [tokens,
/// experts] on a decoding step) takes the generic path: its loops are
/// launches small enough for llm-gpu-fuse-launches to chain, with the
/// router's top-k after it, into one launch; its row kernel would be a
/// launch of its own.
static bool tinySoftmax(llm::SoftmaxOp op) {
  auto type = dyn_cast<RankedTensorType>(op.getType());
  return type && type.hasStaticShape() &&
         type.getNumElements() <= kGenericThreads;
}

LogicalResult KernelBuilder::run() {
  SmallVector<Operation *> ops;
  module.walk([&](Operation *op) {
    // A 16-bit llm.quantize (16-bit QDQ) is an elementwise kernel.
    auto quantize = dyn_cast<llm::QuantizeOp>(op);
    if (quantize && !quantize.getType().getElementType().isInteger(8))
      return;
    if (hostReference ? isa<llm::AttentionOp>(op)
                      : isa<llm::MatMulOp, llm::QMatMulOp, llm::AttentionOp,
                            llm::LayerNormOp, llm::RMSNormOp, llm::SoftmaxOp,
                            llm::QuantizeOp>(op))
      ops.push_back(op);
  });
  for (Operation *op : ops) {
    if (fusedAhead.contains(op))
      continue;
    LogicalResult result = success();
    if (auto matmul = dyn_cast<llm::MatMulOp>(op))
      result = lower(matmul);
    else if (auto qmatmul = dyn_cast<llm::QMatMulOp>(op))
      result = lower(qmatmul);
    else if (auto quantize = dyn_cast<llm::QuantizeOp>(op))
      result = quantize.getZeroPoint() ? lowerQuantizeTensor(quantize)
                                       : lowerQuantizeRows(quantize);
    else if (auto attention = dyn_cast<llm::AttentionOp>(op))
      result = lower(attention);
    else if (isa<llm::LayerNormOp, llm::RMSNormOp>(op)) {
      if (normsProductRows(op))
        deferredNorms[op] =
            name(isa<llm::LayerNormOp>(op) ? "layer_norm" : "rms_norm");
      else
        result = lowerNorm(op);
    } else if (auto softmax = dyn_cast<llm::SoftmaxOp>(op);
               softmax && !tinySoftmax(softmax))
      result = lowerRow(op, gk::RowKind::Softmax, softmax.getAxis(), Value(),
                        Value(), 0.0f);
    if (failed(result))
      return failure();
  }
  if (kernels.empty())
    return success();

  MLIRContext *ctx = module.getContext();
  ParserConfig config(ctx);
  if (hostReference) {
    OwningOpRef<ModuleOp> parsed =
        parseSourceString<ModuleOp>("module {\n" + kernels + "}\n", config);
    if (!parsed)
      return module.emitError("llm-attention-host-reference: a generated "
                              "function does not parse (a generator bug)");
    for (Operation &op :
         llvm::make_early_inc_range(parsed->getBody()->getOperations()))
      op.moveBefore(module.getBody(), module.getBody()->end());
    return success();
  }

  // Parse the kernels and move them into the module's kernel module.
  std::string text =
      "gpu.module @" + kKernelModule.str() + " {\n" + kernels + "}\n";
  OwningOpRef<ModuleOp> parsed = parseSourceString<ModuleOp>(text, config);
  if (!parsed)
    return module.emitError("convert-llm-to-gpu: a generated kernel does not "
                            "parse (a bug of the kernel generator)");
  auto kernelModule = *parsed->getOps<gpu::GPUModuleOp>().begin();
  kernelModule->remove();
  if (auto existing = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModule)) {
    for (Operation &op : llvm::make_early_inc_range(
             kernelModule.getBody()->getOperations()))
      op.moveBefore(existing.getBody(), existing.getBody()->end());
    kernelModule->destroy();
  } else {
    module.getBody()->push_back(kernelModule);
  }
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(ctx));
  return success();
}

/// Why a gpu description's figures are ones the kernels cannot be made
/// for, or none. Each figure is checked where the description gives it.
std::optional<std::string>
impossibleGPUFigures(const llmc::TargetDescription &desc) {
  const double any = std::numeric_limits<double>::max();
  const std::tuple<StringRef, double, double, bool, std::string> figures[] = {
      {"warp_size", 32, 32, true, "32 (a PTX warp's threads)"},
      {"sm_count", 1, any, true, "a whole number > 0"},
      {"registers_per_sm", 1, any, true, "a whole number > 0"},
      {"max_threads_per_block", kGenericThreads, any, true,
       "a whole number >= " + std::to_string(kGenericThreads) +
           " (the threads of the kernels' largest blocks)"},
      {"shared_memory_per_block_bytes", 32 * 1024, any, true,
       "a whole number >= 32768 (the least shared memory the kernels' "
       "tiles are chosen for; the smallest product tile, 64x64 on two "
       "stages, takes 20 KiB)"},
      {"shared_memory_per_sm_bytes", 1, any, true, "a whole number > 0"},
      {"mma_stages", 2, 16, true, "a whole number from 2 to 16"},
      {"wgmma_stages", 2, 16, true, "a whole number from 2 to 16"},
      {"gemv_max_rows", 0, gk::kGemvRows, true,
       "a whole number from 0 to " + std::to_string(gk::kGemvRows) +
           " (the GEMV kernel's rows; 0: no GEMV)"}};
  for (const auto &[key, low, high, whole, why] : figures)
    if (desc.givesFigureOutside(("gpu." + key).str(), low, high, whole))
      return "gpu." + key.str() + " must be " + why;
  return std::nullopt;
}

struct ConvertLLMToGPUPass
    : llmc::impl::ConvertLLMToGPUBase<ConvertLLMToGPUPass> {
  using Base::Base;
  void runOnOperation() override {
    if (mmaType != "bf16" && mmaType != "f16") {
      getOperation().emitError()
          << "convert-llm-to-gpu: mma-type must be bf16 or f16, not '"
          << mmaType << "'";
      return signalPassFailure();
    }
    llvm::Expected<llmc::TargetDescription> desc =
        llmc::TargetDescription::load(targetDesc);
    if (!desc) {
      getOperation().emitError()
          << "convert-llm-to-gpu: " << llvm::toString(desc.takeError());
      return signalPassFailure();
    }
    if (desc->kind() != "gpu") {
      getOperation().emitError() << "convert-llm-to-gpu: target description '"
                                 << desc->name() << "' is not a gpu";
      return signalPassFailure();
    }
    if (std::optional<std::string> why = impossibleGPUFigures(*desc)) {
      getOperation().emitError() << "convert-llm-to-gpu: target description '"
                                 << desc->name() << "': " << *why;
      return signalPassFailure();
    }
    KernelBuilder builder(getOperation(), &*desc, mmaType,
                          /*hostReference=*/false, wgmma);
    if (failed(builder.run()))
      signalPassFailure();
  }
};

struct LLMAttentionHostReferencePass
    : llmc::impl::LLMAttentionHostReferenceBase<LLMAttentionHostReferencePass> {
  void runOnOperation() override {
    KernelBuilder builder(getOperation(), nullptr, "bf16",
                          /*hostReference=*/true);
    if (failed(builder.run()))
      signalPassFailure();
  }
};

//===----------------------------------------------------------------------===//
// Generic path: parallel loops and copies → gpu.launch
//===----------------------------------------------------------------------===//

/// Builds a 1-D launch over `total` iterations; `body` gets the linear
/// iteration index inside the bounds check.
void buildLinearLaunch(OpBuilder &b, Location loc, int64_t total,
                       function_ref<void(OpBuilder &, Value)> body) {
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value one = index(1);
  Value blocks = index((total + kGenericThreads - 1) / kGenericThreads);
  auto launch = gpu::LaunchOp::create(b, loc, blocks, one, one,
                                      index(kGenericThreads), one, one);
  OpBuilder inner = OpBuilder::atBlockBegin(&launch.getBody().front());
  Value linear = arith::AddIOp::create(
      inner, loc,
      arith::MulIOp::create(
          inner, loc, launch.getBlockIds().x,
          arith::ConstantIndexOp::create(inner, loc, kGenericThreads)),
      launch.getThreadIds().x);
  Value inRange =
      arith::CmpIOp::create(inner, loc, arith::CmpIPredicate::ult, linear,
                            arith::ConstantIndexOp::create(inner, loc, total));
  auto guard = scf::IfOp::create(inner, loc, inRange, /*withElse=*/false);
  OpBuilder then = guard.getThenBodyBuilder();
  body(then, linear);
  gpu::TerminatorOp::create(inner, loc);
}

/// Indices of a row-major iteration space of `sizes` at `linear`.
SmallVector<Value> delinearize(OpBuilder &b, Location loc, Value linear,
                               ArrayRef<int64_t> sizes) {
  SmallVector<Value> indices(sizes.size());
  Value rest = linear;
  for (int64_t i = static_cast<int64_t>(sizes.size()) - 1; i >= 0; --i) {
    Value size = arith::ConstantIndexOp::create(b, loc, sizes[i]);
    indices[i] = i == 0 ? rest : arith::RemUIOp::create(b, loc, rest, size);
    if (i > 0)
      rest = arith::DivUIOp::create(b, loc, rest, size);
  }
  return indices;
}

/// math.ipowi (no NVVM lowering) as branch-free square-and-multiply over
/// the exponent's bits; a negative exponent gives 1 / a^-b truncated: 1 for
/// a = 1, +-1 for a = -1, else 0.
struct ExpandIPowI : OpRewritePattern<math::IPowIOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::IPowIOp op,
                                PatternRewriter &rewriter) const override {
    auto type = dyn_cast<IntegerType>(op.getType());
    if (!type)
      return failure();
    Location loc = op.getLoc();
    auto constant = [&](int64_t v) -> Value {
      return arith::ConstantOp::create(rewriter, loc,
                                       rewriter.getIntegerAttr(type, v));
    };
    Value zero = constant(0), one = constant(1), minusOne = constant(-1);
    Value base = op.getLhs(), exponent = op.getRhs();
    Value result = one, square = base, bits = exponent;
    for (unsigned i = 0; i + 1 < type.getWidth(); ++i) {
      Value bit = arith::TruncIOp::create(
          rewriter, loc, rewriter.getI1Type(),
          arith::AndIOp::create(rewriter, loc, bits, one));
      result = arith::SelectOp::create(
          rewriter, loc, bit,
          arith::MulIOp::create(rewriter, loc, result, square), result);
      square = arith::MulIOp::create(rewriter, loc, square, square);
      bits = arith::ShRUIOp::create(rewriter, loc, bits, one);
    }
    Value odd = arith::TruncIOp::create(
        rewriter, loc, rewriter.getI1Type(),
        arith::AndIOp::create(rewriter, loc, exponent, one));
    auto eq = [&](Value a, Value b) {
      return arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, a,
                                   b);
    };
    Value negative = arith::SelectOp::create(
        rewriter, loc, eq(base, one), one,
        arith::SelectOp::create(
            rewriter, loc, eq(base, minusOne),
            arith::SelectOp::create(rewriter, loc, odd, minusOne, one), zero));
    Value isNegative = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::slt, exponent, zero);
    rewriter.replaceOpWithNewOp<arith::SelectOp>(op, isNegative, negative,
                                                 result);
    return success();
  }
};

struct LLMGPUMapLoopsPass : llmc::impl::LLMGPUMapLoopsBase<LLMGPUMapLoopsPass> {
  void runOnOperation() override {
    SmallVector<Operation *> work;
    getOperation().walk([&](Operation *op) {
      if (op->getParentOfType<gpu::LaunchOp>() ||
          op->getParentOfType<gpu::GPUModuleOp>())
        return;
      if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
        if (!loop->getParentOfType<scf::ParallelOp>())
          work.push_back(op);
      } else if (isa<memref::CopyOp>(op)) {
        work.push_back(op);
      }
    });
    for (Operation *op : work) {
      if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
        if (failed(mapLoop(loop)))
          return signalPassFailure();
      } else if (failed(mapCopy(cast<memref::CopyOp>(op)))) {
        return signalPassFailure();
      }
    }
    getOperation().walk([&](func::FuncOp func) {
      for (Block &block : func.getBody())
        mapSerialRuns(block);
    });
    // Scalar constants a kernel uses become its own (immediates), not
    // kernel arguments: the launch plan passes buffers, and f32/integer
    // scalars only (an f16 or f64 one would have no argument kind).
    getOperation().walk([&](gpu::LaunchOp launch) {
      (void)sinkOperationsIntoLaunchOp(launch, [](Operation *op) {
        return op->hasTrait<OpTrait::ConstantLike>() &&
               op->getNumResults() == 1 &&
               !isa<ShapedType>(op->getResult(0).getType());
      });
    });
    // Integer powers have no NVVM lowering: expanded here, in the kernels
    // the GPU emulator runs too.
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandIPowI>(&getContext());
    FrozenRewritePatternSet frozen(std::move(patterns));
    SmallVector<Operation *> powers;
    getOperation().walk([&](math::IPowIOp op) {
      if (op->getParentOfType<gpu::LaunchOp>())
        powers.push_back(op);
    });
    if (!powers.empty() &&
        failed(applyOpPatternsGreedily(powers, frozen)))
      return signalPassFailure();
  }

  /// Host code with no parallel loop to map (a reduction over every dim,
  /// say: scf.for nests, loads and stores of scalars) runs as one thread of
  /// one block: each maximal run of such ops whose results stay inside the
  /// run becomes a 1x1 launch. Slow, but it runs where the data is, and such
  /// work is small in the graphs this targets.
  void mapSerialRuns(Block &block) {
    auto serial = [](Operation &op) {
      if (isa<scf::ForOp, scf::IfOp>(op))
        // Not around launches: a kernel cannot launch.
        return !op.walk([](gpu::LaunchOp) { return WalkResult::interrupt(); })
                    .wasInterrupted();
      if (isa<memref::LoadOp, memref::StoreOp>(op))
        return true;
      Dialect *dialect = op.getDialect();
      return dialect && !isa<arith::ConstantOp>(op) &&
             isa<arith::ArithDialect, math::MathDialect>(dialect) &&
             llvm::none_of(op.getResultTypes(), llvm::IsaPred<MemRefType>);
    };
    SmallVector<SmallVector<Operation *>> runs;
    SmallVector<Operation *> run;
    auto close = [&] {
      if (!run.empty())
        runs.push_back(std::move(run));
      run.clear();
    };
    for (Operation &op : block) {
      if (serial(op))
        run.push_back(&op);
      else
        close();
    }
    close();
    for (SmallVector<Operation *> &ops : runs) {
      llvm::SmallPtrSet<Operation *, 8> inside(ops.begin(), ops.end());
      // A run of pure scalar math alone (no memory effect) stays.
      if (llvm::none_of(ops, [](Operation *op) {
            return isa<scf::ForOp, scf::IfOp, memref::StoreOp>(op);
          }))
        continue;
      bool escapes = llvm::any_of(ops, [&](Operation *op) {
        return llvm::any_of(op->getUsers(), [&](Operation *user) {
          return !inside.contains(block.findAncestorOpInBlock(*user));
        });
      });
      if (escapes)
        continue;
      OpBuilder b(ops.front());
      Location loc = ops.front()->getLoc();
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      auto launch = gpu::LaunchOp::create(b, loc, one, one, one, one, one, one);
      Block &body = launch.getBody().front();
      OpBuilder inner = OpBuilder::atBlockEnd(&body);
      auto terminator = gpu::TerminatorOp::create(inner, loc);
      for (Operation *op : ops)
        op->moveBefore(terminator);
    }
  }

  LogicalResult mapLoop(scf::ParallelOp loop) {
    if (loop.getNumResults() != 0)
      return loop.emitError("llm-gpu-map-loops: parallel loops with "
                            "reductions are not supported");
    SmallVector<int64_t> lower, sizes, steps;
    int64_t total = 1;
    for (auto [lb, ub, step] : llvm::zip(
             loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
      std::optional<int64_t> l = getConstantIntValue(lb),
                             u = getConstantIntValue(ub),
                             s = getConstantIntValue(step);
      if (!l || !u || !s || *s <= 0)
        return loop.emitError("llm-gpu-map-loops: loop bounds must be static");
      lower.push_back(*l);
      steps.push_back(*s);
      sizes.push_back(std::max<int64_t>(0, (*u - *l + *s - 1) / *s));
      total *= sizes.back();
    }
    OpBuilder b(loop);
    Location loc = loop.getLoc();
    if (total > 0)
      buildLinearLaunch(b, loc, total, [&](OpBuilder &then, Value linear) {
        SmallVector<Value> indices = delinearize(then, loc, linear, sizes);
        IRMapping mapping;
        for (auto [i, iv] : llvm::enumerate(loop.getInductionVars())) {
          Value index = indices[i];
          if (steps[i] != 1)
            index = arith::MulIOp::create(
                then, loc, index,
                arith::ConstantIndexOp::create(then, loc, steps[i]));
          if (lower[i] != 0)
            index = arith::AddIOp::create(
                then, loc, index,
                arith::ConstantIndexOp::create(then, loc, lower[i]));
          mapping.map(iv, index);
        }
        for (Operation &inner : loop.getBody()->without_terminator())
          then.clone(inner, mapping);
      });
    loop.erase();
    return success();
  }

  LogicalResult mapCopy(memref::CopyOp copy) {
    auto type = dyn_cast<MemRefType>(copy.getSource().getType());
    if (!type || !type.hasStaticShape())
      return copy.emitError("llm-gpu-map-loops: copies must have static "
                            "shapes");
    OpBuilder b(copy);
    Location loc = copy.getLoc();
    if (type.getNumElements() > 0)
      buildLinearLaunch(
          b, loc, type.getNumElements(), [&](OpBuilder &then, Value linear) {
            SmallVector<Value> indices =
                delinearize(then, loc, linear, type.getShape());
            Value v =
                memref::LoadOp::create(then, loc, copy.getSource(), indices);
            memref::StoreOp::create(then, loc, v, copy.getTarget(), indices);
          });
    copy.erase();
    return success();
  }
};

//===----------------------------------------------------------------------===//
// One kernel module
//===----------------------------------------------------------------------===//

struct LLMGPUMergeKernelModulesPass
    : llmc::impl::LLMGPUMergeKernelModulesBase<LLMGPUMergeKernelModulesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = module.getContext();
    auto target = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModule);
    if (!target) {
      OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
      target = gpu::GPUModuleOp::create(b, module.getLoc(), kKernelModule);
    }
    // Old kernel symbol → new one.
    llvm::DenseMap<Attribute, SymbolRefAttr> renamed;
    for (auto other :
         llvm::make_early_inc_range(module.getOps<gpu::GPUModuleOp>())) {
      if (other == target)
        continue;
      // gpu.module has no terminator: every op of its body moves.
      for (Operation &op :
           llvm::make_early_inc_range(other.getBody()->getOperations())) {
        auto func = dyn_cast<gpu::GPUFuncOp>(op);
        if (!func) {
          op.moveBefore(target.getBody(), target.getBody()->end());
          continue;
        }
        SymbolRefAttr old =
            SymbolRefAttr::get(ctx, other.getName(),
                               {FlatSymbolRefAttr::get(ctx, func.getName())});
        std::string name = other.getName().str();
        while (target.lookupSymbol(name))
          name += "_";
        func.setName(name);
        func->moveBefore(target.getBody(), target.getBody()->end());
        renamed[old] = SymbolRefAttr::get(ctx, kKernelModule,
                                          {FlatSymbolRefAttr::get(ctx, name)});
      }
      other->erase();
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      auto it = renamed.find(launch.getKernel());
      if (it != renamed.end())
        launch.setKernelAttr(it->second);
    });
  }
};

//===----------------------------------------------------------------------===//
// One copy of each kernel
//===----------------------------------------------------------------------===//

struct LLMGPUDedupKernelsPass
    : llmc::impl::LLMGPUDedupKernelsBase<LLMGPUDedupKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto kernels = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModule);
    if (!kernels)
      return;
    // A kernel's text in generic form under a placeholder name: equal texts
    // are equal kernels (values are numbered per kernel, locations left out).
    OpPrintingFlags flags;
    flags.printGenericOpForm().useLocalScope();
    llvm::StringMap<gpu::GPUFuncOp> firstOf;
    SmallVector<std::pair<gpu::GPUFuncOp, gpu::GPUFuncOp>> copies;
    for (auto func : kernels.getOps<gpu::GPUFuncOp>()) {
      StringAttr name = func.getNameAttr();
      func.setName("llmc_kernel");
      std::string text;
      llvm::raw_string_ostream os(text);
      func->print(os, flags);
      func.setName(name);
      auto [it, inserted] = firstOf.try_emplace(text, func);
      if (!inserted)
        copies.emplace_back(func, it->second);
    }
    for (auto [copy, kept] : copies) {
      if (failed(SymbolTable::replaceAllSymbolUses(copy, kept.getNameAttr(),
                                                   module))) {
        copy.emitError("llm-gpu-dedup-kernels: cannot redirect the launches "
                       "of this kernel");
        return signalPassFailure();
      }
      copy.erase();
    }
  }
};

//===----------------------------------------------------------------------===//
// Math without libdevice
//===----------------------------------------------------------------------===//

/// Marks, within llm-gpu-expand-math, a division to keep IEEE-rounded: one
/// the kernel had before the pass, or the reciprocal of a root.
constexpr StringLiteral kExactDivision = "llmc.exact_division";

/// f32 `op(x)` → the NVVM intrinsic `intrinsic(x)`, optionally inverted.
/// An op as a call of an LLVM intrinsic. `intrinsic` names the f32 one; with
/// `anyFloat`, an overloaded LLVM intrinsic ("llvm.floor"), f16, f32 and
/// f64 get their own (".f16", ".f32", ".f64").
/// With `skipF32`, f32 is left to another pattern (sqrt: the NVVM
/// intrinsic for f32, LLVM's for f16 and f64).
template <typename OpTy> struct MathToIntrinsic : OpRewritePattern<OpTy> {
  MathToIntrinsic(MLIRContext *ctx, StringRef intrinsic, bool reciprocal,
                  bool anyFloat = false, bool skipF32 = false)
      : OpRewritePattern<OpTy>(ctx), intrinsic(intrinsic),
        reciprocal(reciprocal), anyFloat(anyFloat), skipF32(skipF32) {}
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    Type type = op.getType();
    std::string name = intrinsic;
    if (skipF32 && type.isF32())
      return failure();
    auto isFloat = [](Type t) { return t.isF16() || t.isF32() || t.isF64(); };
    auto vector = dyn_cast<VectorType>(type);
    if (anyFloat && isFloat(type))
      name += ".f" + std::to_string(type.getIntOrFloatBitWidth());
    else if (anyFloat && !reciprocal && vector && vector.getRank() == 1 &&
             !vector.isScalable() && isFloat(vector.getElementType()))
      // An overloaded intrinsic on a vector: llvm.fma.v8f32.
      name += ".v" + std::to_string(vector.getNumElements()) + "f" +
              std::to_string(vector.getElementTypeBitWidth());
    else if (!type.isF32())
      return failure();
    Location loc = op.getLoc();
    Value result = LLVM::CallIntrinsicOp::create(
                       rewriter, loc, type, rewriter.getStringAttr(name),
                       op->getOperands())
                       .getResult(0);
    if (reciprocal) {
      auto division = arith::DivFOp::create(
          rewriter, loc,
          arith::ConstantOp::create(rewriter, loc,
                                    rewriter.getFloatAttr(type, 1)),
          result);
      // rsqrt stays the IEEE reciprocal of the IEEE root.
      division->setAttr(kExactDivision, rewriter.getUnitAttr());
      result = division;
    }
    rewriter.replaceOp(op, result);
    return success();
  }
  std::string intrinsic;
  bool reciprocal, anyFloat, skipF32;
};

/// A math op of f64 or bf16 computed in f32, its operands converted and its
/// result converted back:
/// - f64 (the listed transcendentals): MLIR's approximations are f32 only,
///   and NVVM would call libdevice for the f64 ones;
/// - bf16 (every math op): neither has bf16 ones (NVVM would widen and call
///   libdevice), and the model's semantics is f32 rounded to bf16.
struct MathViaF32 : RewritePattern {
  /// The f64 rewrite of one op.
  MathViaF32(StringRef opName, MLIRContext *ctx)
      : RewritePattern(opName, /*benefit=*/1, ctx), wide(true) {}
  /// The bf16 rewrite of every math op (before the approximations, which
  /// would compute in bf16).
  explicit MathViaF32(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/2, ctx), wide(false) {}
  LogicalResult matchAndRewrite(Operation *op,
                                PatternRewriter &rewriter) const override {
    auto isSource = [&](Type type) {
      Type element = getElementTypeOrSelf(type);
      return wide ? element.isF64() : element.isBF16();
    };
    if (op->getNumResults() != 1 || !isSource(op->getResult(0).getType()) ||
        (!wide && !isa<math::MathDialect>(op->getDialect())))
      return failure();
    auto f32Of = [&](Type type) -> Type {
      Type f32 = rewriter.getF32Type();
      if (auto vector = dyn_cast<VectorType>(type))
        return vector.clone(f32);
      return f32;
    };
    auto convert = [&](Type type, Value value) -> Value {
      bool narrowing = getElementTypeOrSelf(value.getType()).getIntOrFloatBitWidth() >
                       getElementTypeOrSelf(type).getIntOrFloatBitWidth();
      if (narrowing)
        return arith::TruncFOp::create(rewriter, op->getLoc(), type, value);
      return arith::ExtFOp::create(rewriter, op->getLoc(), type, value);
    };
    SmallVector<Value> operands;
    for (Value operand : op->getOperands()) {
      // f64: every operand (the listed ops take only floats); bf16: the
      // float operands (math.fpowi's exponent is an integer).
      if (isSource(operand.getType()))
        operands.push_back(convert(f32Of(operand.getType()), operand));
      else if (wide)
        return failure();
      else
        operands.push_back(operand);
    }
    Type resultType = op->getResult(0).getType();
    OperationState state(op->getLoc(), op->getName(), operands,
                         {f32Of(resultType)}, op->getAttrs());
    Operation *f32Op = rewriter.create(state);
    rewriter.replaceOp(op, convert(resultType, f32Op->getResult(0)));
    return success();
  }
  bool wide;
};

/// Integer abs as a select: NVVM would call libdevice's __nv_abs (i32) and
/// has no pattern for other widths.
struct AbsIToSelect : OpRewritePattern<math::AbsIOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::AbsIOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getOperand();
    Value zero = arith::ConstantOp::create(
        rewriter, loc, cast<TypedAttr>(rewriter.getZeroAttr(x.getType())));
    Value negative =
        arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::slt, x, zero);
    Value negated = arith::SubIOp::create(rewriter, loc, zero, x);
    rewriter.replaceOpWithNewOp<arith::SelectOp>(op, negative, negated, x);
    return success();
  }
};

struct LLMGPUExpandMathPass
    : llmc::impl::LLMGPUExpandMathBase<LLMGPUExpandMathPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    getOperation()->walk([&](arith::DivFOp op) {
      op->setAttr(kExactDivision, UnitAttr::get(ctx));
    });
    RewritePatternSet patterns(ctx);
    populateMathPolynomialApproximationPatterns(patterns);
    for (StringRef name :
         {"math.exp", "math.exp2", "math.expm1", "math.log", "math.log1p",
          "math.log2", "math.log10", "math.tanh", "math.erf", "math.sin",
          "math.cos", "math.tan", "math.atan", "math.atan2", "math.asin",
          "math.acos", "math.sinh", "math.cosh", "math.asinh", "math.acosh",
          "math.atanh", "math.cbrt", "math.powf"})
      patterns.add<MathViaF32>(name, ctx);
    patterns.add<MathViaF32>(ctx);
    patterns.add<AbsIToSelect>(ctx);
    patterns.add<MathToIntrinsic<math::SqrtOp>>(ctx, "llvm.nvvm.sqrt.rn.f",
                                                false);
    patterns.add<MathToIntrinsic<math::RsqrtOp>>(ctx, "llvm.nvvm.sqrt.rn.f",
                                                 true);
    patterns.add<MathToIntrinsic<math::SqrtOp>>(ctx, "llvm.sqrt", false,
                                                /*anyFloat=*/true,
                                                /*skipF32=*/true);
    patterns.add<MathToIntrinsic<math::RsqrtOp>>(ctx, "llvm.sqrt", true,
                                                 /*anyFloat=*/true,
                                                 /*skipF32=*/true);
    patterns.add<MathToIntrinsic<math::Exp2Op>>(
        ctx, "llvm.nvvm.ex2.approx.ftz.f", false);
    // What the approximations and the generic path use, as plain LLVM
    // intrinsics (NVPTX has instructions for them, in f16, f32 and f64).
    patterns.add<MathToIntrinsic<math::AbsFOp>>(ctx, "llvm.fabs", false, true);
    patterns.add<MathToIntrinsic<math::FloorOp>>(ctx, "llvm.floor", false,
                                                 true);
    patterns.add<MathToIntrinsic<math::CeilOp>>(ctx, "llvm.ceil", false, true);
    patterns.add<MathToIntrinsic<math::RoundOp>>(ctx, "llvm.round", false,
                                                 true);
    patterns.add<MathToIntrinsic<math::RoundEvenOp>>(ctx, "llvm.roundeven",
                                                     false, true);
    patterns.add<MathToIntrinsic<math::TruncOp>>(ctx, "llvm.trunc", false,
                                                 true);
    patterns.add<MathToIntrinsic<math::CopySignOp>>(ctx, "llvm.copysign",
                                                    false, true);
    patterns.add<MathToIntrinsic<math::FmaOp>>(ctx, "llvm.fma", false, true);
    // powf as exp(y * log|x|) with the sign of an odd integer power, then
    // the approximations of exp and log.
    math::populateExpansionPatterns(patterns, {"powf"});
    patterns.add<ExpandIPowI>(ctx);
    // The NVVM conversion would make these libdevice calls (__nv_fmaxf),
    // which nothing links; IEEE maxNum/minNum are max.f32/min.f32.
    patterns.add<MathToIntrinsic<arith::MaxNumFOp>>(ctx, "llvm.maxnum.f32",
                                                    false);
    patterns.add<MathToIntrinsic<arith::MinNumFOp>>(ctx, "llvm.minnum.f32",
                                                    false);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns)))) {
      signalPassFailure();
      return;
    }
    // The divisions the approximations wrote (erf's and tanh's rational
    // forms, atan's reciprocal) may be approximate: NVPTX makes an f32
    // division with `afn` div.approx.f32 (2 ulp, below the approximations'
    // own error) instead of div.rn.f32, whose IEEE rounding costs a Newton
    // step, range checks and a slow-path subroutine that ptxas spills
    // registers around (a GELU epilogue's erf spilled 4 bytes).
    getOperation()->walk([&](arith::DivFOp op) {
      if (op->removeAttr(kExactDivision))
        return;
      if (!getElementTypeOrSelf(op.getType()).isF32())
        return;
      op.setFastmath(op.getFastmath() | arith::FastMathFlags::afn);
    });
  }
};

struct LLMGPUCheckNVVMPass
    : llmc::impl::LLMGPUCheckNVVMBase<LLMGPUCheckNVVMPass> {
  void runOnOperation() override {
    gpu::GPUModuleOp module = getOperation();
    auto kernelOf = [](Operation *op) -> std::string {
      if (auto func = op->getParentOfType<LLVM::LLVMFuncOp>())
        return ("kernel '" + func.getSymName() + "'").str();
      if (auto func = op->getParentOfType<FunctionOpInterface>())
        return ("kernel '" + func.getName() + "'").str();
      return "a kernel";
    };
    WalkResult result = module.walk([&](Operation *op) -> WalkResult {
      if (op == module.getOperation())
        return WalkResult::advance();
      if (auto func = dyn_cast<LLVM::LLVMFuncOp>(op)) {
        if (func.isExternal() && func.getSymName().starts_with("__nv_")) {
          func.emitError() << "a kernel calls the libdevice function '"
                           << func.getSymName()
                           << "', which nothing links (llm-gpu-expand-math "
                              "has no rewrite for the op it comes from)";
          return WalkResult::interrupt();
        }
        return WalkResult::advance();
      }
      if (isa<LLVM::LLVMDialect, NVVM::NVVMDialect>(op->getDialect()))
        return WalkResult::advance();
      op->emitError() << kernelOf(op) << ": '" << op->getName()
                      << "' has no lowering to NVVM (an op the ptx backend "
                         "does not support in kernels)";
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

struct LLMGPUDropCompileTimesPass
    : llmc::impl::LLMGPUDropCompileTimesBase<LLMGPUDropCompileTimesPass> {
  void runOnOperation() override {
    auto isTime = [](NamedAttribute entry) {
      return entry.getName().getValue().ends_with("TimeInMs");
    };
    getOperation().walk([&](gpu::BinaryOp binary) {
      SmallVector<Attribute> objects;
      bool changed = false;
      for (Attribute attr : binary.getObjects()) {
        auto object = cast<gpu::ObjectAttr>(attr);
        DictionaryAttr properties = object.getProperties();
        if (!properties || llvm::none_of(properties, isTime)) {
          objects.push_back(object);
          continue;
        }
        SmallVector<NamedAttribute> kept;
        llvm::copy_if(properties, std::back_inserter(kept),
                      [&](NamedAttribute entry) { return !isTime(entry); });
        DictionaryAttr stripped =
            kept.empty() ? DictionaryAttr()
                         : DictionaryAttr::get(&getContext(), kept);
        objects.push_back(gpu::ObjectAttr::get(
            &getContext(), object.getTarget(), object.getFormat(),
            object.getObject(), stripped, object.getKernels()));
        changed = true;
      }
      if (changed)
        binary.setObjectsAttr(ArrayAttr::get(&getContext(), objects));
    });
  }
};

struct LLMGPUDataLayoutPass
    : llmc::impl::LLMGPUDataLayoutBase<LLMGPUDataLayoutPass> {
  void runOnOperation() override {
    gpu::GPUModuleOp module = getOperation();
    ArrayAttr targets = module.getTargetsAttr();
    NVVM::NVVMTargetAttr target;
    for (Attribute attr : targets ? targets.getValue() : ArrayRef<Attribute>())
      if ((target = dyn_cast<NVVM::NVVMTargetAttr>(attr)))
        break;
    if (!target)
      return;
    NVVM::SerializeGPUModuleBase::init(); // registers the NVPTX target
    std::string error;
    llvm::Triple triple(target.getTriple());
    const llvm::Target *llvmTarget =
        llvm::TargetRegistry::lookupTarget(triple, error);
    std::unique_ptr<llvm::TargetMachine> machine(
        llvmTarget ? llvmTarget->createTargetMachine(triple, target.getChip(),
                                                     target.getFeatures(), {},
                                                     std::nullopt)
                   : nullptr);
    if (!machine) {
      module.emitError() << "llm-gpu-data-layout: no target machine for '"
                         << target.getTriple() << "' (" << target.getChip()
                         << "): " << (error.empty() ? "unknown" : error);
      return signalPassFailure();
    }
    module->setAttr(
        LLVM::LLVMDialect::getDataLayoutAttrName(),
        StringAttr::get(&getContext(),
                        machine->createDataLayout().getStringRepresentation()));
  }
};

struct LLMGPUExternDynamicSharedPass
    : llmc::impl::LLMGPUExternDynamicSharedBase<LLMGPUExternDynamicSharedPass> {
  void runOnOperation() override {
    for (auto global : getOperation().getOps<LLVM::GlobalOp>()) {
      auto array = dyn_cast<LLVM::LLVMArrayType>(global.getGlobalType());
      if (global.getAddrSpace() !=
              static_cast<unsigned>(NVVM::NVVMMemorySpace::Shared) ||
          !array || array.getNumElements() != 0)
        continue;
      if (global.getValueOrNull() || global.getInitializerBlock()) {
        global.emitError()
            << "zero-sized shared global @" << global.getSymName()
            << " has an initializer: dynamic shared memory is a declaration";
        return signalPassFailure();
      }
      global.setLinkage(LLVM::Linkage::External);
    }
  }
};

} // namespace
