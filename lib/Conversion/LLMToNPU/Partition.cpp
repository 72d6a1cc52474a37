//===- Partition.cpp - offload quantized linear layers to the NPU ---------===//
//
// llm-npu-partition: every llm.qmatmul the NPU's int8 array can compute
// (static shapes, a 2-D rhs, no zero points, signed operands), with the
// dequantize and bias-add epilogue that follows it when the vector unit
// reproduces it exactly, becomes a call of an external kernel function plus
// the npu.program(s) that implement it. See Passes.td for the contract.
//
//===----------------------------------------------------------------------===//
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"
#include "llmc/Conversion/NPUMatmul.h"
#include "llmc/Conversion/Passes.h"
#include "npu/IR/NPUDialect.h"
#include "npu/IR/NPUOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include <cmath>
#include <cstring>

namespace llmc {
#define GEN_PASS_DEF_LLMNPUPARTITION
#include "llmc/Conversion/Passes.h.inc"
} // namespace llmc

using namespace mlir;

namespace {

/// The widest output panel one program covers: a row of f32/i32 results must
/// fit the DMA's 16-bit byte stride, in whole 4-array-width blocks.
constexpr int64_t kMaxPanelColumns = 16256;

/// The ONNX node names in a location, joined by '+' (a fused projection
/// carries one per node).
std::string nameOf(Location loc) {
  llvm::SmallVector<StringRef> names;
  loc->walk([&](Location inner) {
    if (auto named = dyn_cast<NameLoc>(inner))
      if (!llvm::is_contained(names, named.getName().getValue()))
        names.push_back(named.getName().getValue());
    return WalkResult::advance();
  });
  // Epilogues fused before quantization (a residual add, SwiGLU's product)
  // leave their nodes' names too: keep the matrix products' if named so.
  llvm::SmallVector<StringRef> products;
  for (StringRef name : names) {
    StringRef last = name.rsplit('/').second.empty() ? name
                                                     : name.rsplit('/').second;
    if (last.starts_with("MatMul") || last.starts_with("Gemm"))
      products.push_back(name);
  }
  if (!products.empty())
    names = products;
  return names.empty() ? "qmatmul" : llvm::join(names, "+");
}

bool isStatic(Type type) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  return ranked && ranked.hasStaticShape();
}

/// One qmatmul and the epilogue ops that join it on the NPU.
struct Kernel {
  llm::QMatMulOp matmul;
  llm::DequantizeOp dequantize; // null: int32 results
  Value scale;                  // the dequantization scale
  llm::AddOp add;               // null: no bias (biasOf: its other operand)
  int64_t m = 0, k = 0, n = 0;
  bool channelScale = false;
  /// The activations' per-tensor quantization, done on the NPU (`vqnt`)
  /// when its scale is a compile-time constant.
  llm::QuantizeOp quantize;
  std::optional<float> inputScale;
  /// Unsigned activations with a per-tensor zero point: the array reads
  /// them as uint8 and the kernel adds -z_a * colsum(rhs) to each row.
  bool lhsUnsigned = false;
  Value lhsZeroPoint;
  /// The rhs is a weight (a constant or an outlined weight argument): the
  /// runtime may keep its layout between calls.
  bool rhsConstant = false;
};

/// The operand of `add` that is not `result`: the bias a product's result
/// takes.
Value biasOf(llm::AddOp add, Value result) {
  return add.getLhs() == result ? add.getRhs() : add.getLhs();
}

/// The value of `value` if an llm or arith constant defines it.
Attribute constantValue(Value value) {
  if (auto constant = value.getDefiningOp<llm::ConstantOp>())
    return constant.getValue();
  if (auto constant = value.getDefiningOp<arith::ConstantOp>())
    return constant.getValue();
  return {};
}

/// True if `value` is a constant whose elements are all zero.
bool isZeroConstant(Value value) {
  auto dense = dyn_cast_if_present<DenseIntElementsAttr>(constantValue(value));
  return dense && llvm::all_of(dense.getValues<APInt>(),
                               [](const APInt &v) { return v.isZero(); });
}

/// True if `value` is a weight: a constant, or an argument the weight
/// outlining marked (`llm.weight`), or a reshape or static slice of one (a
/// batched weight's entry, see unbatch).
bool isWeight(Value value) {
  if (constantValue(value))
    return true;
  if (auto reshape = value.getDefiningOp<llm::ReshapeOp>())
    return isWeight(reshape.getInput());
  if (auto slice = value.getDefiningOp<llm::SliceOp>())
    return isWeight(slice.getInput());
  return llm::isWeightArgument(value);
}

/// The value of a one-element f32 constant.
std::optional<float> constantScalar(Value value) {
  auto dense = dyn_cast_if_present<DenseElementsAttr>(constantValue(value));
  if (!dense || dense.getNumElements() != 1 ||
      !dense.getElementType().isF32())
    return std::nullopt;
  return *dense.getValues<float>().begin();
}

/// Takes in the quantization of the lhs, if the NPU can do it exactly as
/// llm.quantize does: per tensor, a constant scale, no zero point, signed.
void matchPrologue(Kernel &kernel) {
  if (kernel.lhsUnsigned || kernel.lhsZeroPoint)
    return; // the prologue makes signed int8 without a zero point
  auto quantize = kernel.matmul.getLhs().getDefiningOp<llm::QuantizeOp>();
  if (!quantize || quantize.getZeroPoint() || quantize.getIsUnsigned() ||
      !isStatic(quantize.getInput().getType()) ||
      !cast<RankedTensorType>(quantize.getInput().getType())
           .getElementType()
           .isF32() ||
      kernel.k * 4 > 0xffff)
    return;
  std::optional<float> scale = constantScalar(quantize.getScale());
  if (!scale || !(*scale > 0) || !std::isfinite(*scale))
    return;
  kernel.quantize = quantize;
  kernel.inputScale = scale;
}

/// Why a product whose weight is K x N (per batch entry) is not worth an NPU
/// call: fewer weights than one row of the array (`arrayCols`), whose call
/// and DMA cost more than its multiply-adds (a depthwise convolution's
/// entries, 4 x 1).
std::optional<std::string> tooSmall(int64_t k, int64_t n, int64_t arrayCols) {
  if (k * n >= arrayCols)
    return std::nullopt;
  return "a weight of " + std::to_string(k) + " x " + std::to_string(n) +
         (k * n == 1 ? " element" : " elements") +
         ", fewer than one row of the array (" + std::to_string(arrayCols) +
         ")";
}

/// Why `op` stays on the host, or nothing if the NPU can run it.
std::optional<std::string> check(llm::QMatMulOp op, Kernel &kernel,
                                 int64_t arrayCols) {
  if (op.getE4m3())
    return std::string("FP8 (e4m3) operands (the array multiplies int8)");
  if (op.getRhsZeroPoint() && !isZeroConstant(op.getRhsZeroPoint()))
    return std::string("a weight zero point (its correction needs the row "
                       "sums of the activations, which the NPU cannot scale)");
  if (op.getRhsUnsigned())
    return std::string("unsigned weights (the array's weights are signed "
                       "int8)");
  if (Value zero = op.getLhsZeroPoint()) {
    auto type = dyn_cast<RankedTensorType>(zero.getType());
    if (!type || type.getNumElements() != 1)
      return std::string("a per-row activation zero point (only a per-tensor "
                         "one is corrected)");
    kernel.lhsZeroPoint = zero;
  }
  kernel.lhsUnsigned = op.getLhsUnsigned();
  kernel.rhsConstant = isWeight(op.getRhs());
  auto lhs = dyn_cast<RankedTensorType>(op.getLhs().getType());
  auto rhs = dyn_cast<RankedTensorType>(op.getRhs().getType());
  if (!isStatic(lhs) || !isStatic(rhs) || !isStatic(op.getType()))
    return std::string("dynamic shapes");
  if (rhs.getRank() > 2 && isWeight(op.getRhs()))
    if (std::optional<std::string> small =
            tooSmall(rhs.getDimSize(rhs.getRank() - 2),
                     rhs.getDimSize(rhs.getRank() - 1), arrayCols))
      return "batch entries with " + *small;
  if (rhs.getRank() != 2)
    return std::string("a batched rhs that is not a weight (the array's "
                       "weights are one matrix; a weight's batch entries, "
                       "or gathered ones', are split into products of "
                       "their own)");
  kernel.matmul = op;
  kernel.k = lhs.getShape().back();
  kernel.n = op.getType().getShape().back();
  kernel.m = lhs.getNumElements() / std::max<int64_t>(kernel.k, 1);
  if (kernel.m == 0 || kernel.k == 0 || kernel.n == 0)
    return std::string("an empty product");
  if (std::optional<std::string> small =
          tooSmall(kernel.k, kernel.n, arrayCols))
    return small;
  if (kernel.k > 0xffff)
    return "K = " + std::to_string(kernel.k) +
           " exceeds the DMA's 16-bit row stride";
  return std::nullopt;
}

/// Extends `kernel` with the dequantize (+ bias add) that follows it, where
/// the vector unit computes exactly what those ops define.
void matchEpilogue(Kernel &kernel) {
  TypedValue<RankedTensorType> acc = kernel.matmul.getResult();
  if (!acc.hasOneUse())
    return;
  auto dequantize = dyn_cast<llm::DequantizeOp>(*acc.getUsers().begin());
  if (!dequantize || dequantize.getInput() != acc ||
      dequantize.getZeroPoint() || dequantize.getIsUnsigned() ||
      dequantize.getBits() != 8 || dequantize.getBlockSize() != 0)
    return;
  auto scale = dyn_cast<RankedTensorType>(dequantize.getScale().getType());
  if (!isStatic(scale) || dequantize.getType() != RankedTensorType::get(
                              acc.getType().getShape(),
                              Float32Type::get(acc.getContext())))
    return;
  // Per tensor, or one scale per output column ([N], [1, .., 1, N]).
  int64_t count = scale.getNumElements();
  bool channel = count == kernel.n && scale.getRank() >= 1 &&
                 scale.getShape().back() == kernel.n;
  if (count != 1 && !channel)
    return;
  if (channel && kernel.n == 1)
    channel = false;
  kernel.dequantize = dequantize;
  kernel.scale = dequantize.getScale();
  kernel.channelScale = channel;

  TypedValue<RankedTensorType> result = dequantize.getResult();
  if (!result.hasOneUse())
    return;
  auto add = dyn_cast<llm::AddOp>(*result.getUsers().begin());
  if (!add || add.getType() != result.getType())
    return;
  Value bias = biasOf(add, result);
  auto biasType = dyn_cast<RankedTensorType>(bias.getType());
  if (bias == result || !isStatic(biasType) ||
      !biasType.getElementType().isF32() ||
      biasType.getNumElements() != kernel.n || biasType.getRank() < 1 ||
      biasType.getShape().back() != kernel.n ||
      biasType.getRank() > result.getType().getRank())
    return;
  kernel.add = add;
}

/// The most batch entries a batched product is split into.
constexpr int64_t kMaxBatchEntries = 1024;

/// The part of `value` (an operand broadcast against a product's result of
/// batch dims `batchShape`) that batch entry `index` reads: its last two
/// dims, sliced out at `index` where it has batch dims of its own. A value
/// of rank <= 2 is the same for every entry.
Value batchEntry(OpBuilder &b, Location loc, Value value,
                 ArrayRef<int64_t> batchShape, ArrayRef<int64_t> index) {
  auto type = cast<RankedTensorType>(value.getType());
  int64_t rank = type.getRank();
  if (rank <= 2)
    return value;
  ArrayRef<int64_t> shape = type.getShape();
  int64_t batchRank = rank - 2;
  int64_t offset = static_cast<int64_t>(batchShape.size()) - batchRank;
  llvm::SmallVector<int64_t> starts(rank, 0), ends(shape), steps(rank, 1);
  for (int64_t d = 0; d < batchRank; ++d) {
    starts[d] = shape[d] == 1 ? 0 : index[offset + d];
    ends[d] = starts[d] + 1;
  }
  Value slice = value;
  if (llvm::any_of(llvm::seq<int64_t>(0, batchRank),
                   [&](int64_t d) { return shape[d] != 1; }))
    slice = llm::SliceOp::create(b, loc, value, b.getDenseI64ArrayAttr(starts),
                                 b.getDenseI64ArrayAttr(ends),
                                 b.getDenseI64ArrayAttr(steps));
  return llm::ReshapeOp::create(
      b, loc, RankedTensorType::get(shape.take_back(2), type.getElementType()),
      slice);
}

/// Splits a product whose rhs is a batched weight ([B.., N, K]: a mixture
/// of experts' experts, or a decoding step's experts gathered from them;
/// the array holds one matrix at a time) into one
/// 2-D product per batch entry of its result, each with its slice of the
/// dequantize and bias add that follow, joined by a concat. The new
/// products are then offloaded like any other. Returns whether it split.
bool unbatch(llm::QMatMulOp op, bool remarks, int64_t arrayCols) {
  auto lhs = dyn_cast<RankedTensorType>(op.getLhs().getType());
  auto rhs = dyn_cast<RankedTensorType>(op.getRhs().getType());
  RankedTensorType result = op.getType();
  // A weight, or a decoding step's experts gathered from one.
  auto gather = op.getRhs().getDefiningOp<llm::GatherOp>();
  bool weight = isWeight(op.getRhs()) || (gather && isWeight(gather.getData()));
  if (!isStatic(lhs) || !isStatic(rhs) || !result.hasStaticShape() ||
      rhs.getRank() < 3 || !weight || op.getE4m3() || op.getRhsUnsigned() ||
      (op.getRhsZeroPoint() && !isZeroConstant(op.getRhsZeroPoint())))
    return false;
  if (Value zero = op.getLhsZeroPoint())
    if (cast<RankedTensorType>(zero.getType()).getNumElements() != 1)
      return false;
  ArrayRef<int64_t> batchShape = result.getShape().drop_back(2);
  int64_t count = 1;
  for (int64_t d : batchShape)
    count *= d;
  if (count < 1 || count > kMaxBatchEntries)
    return false;
  // Entries not worth a call stay one batched product on the host.
  if (tooSmall(rhs.getDimSize(rhs.getRank() - 2),
               rhs.getDimSize(rhs.getRank() - 1), arrayCols))
    return false;

  // The ops that follow the product on the NPU when it is not batched.
  llm::DequantizeOp dequantize;
  llm::AddOp add;
  Value bias;
  if (op->hasOneUse()) {
    dequantize = dyn_cast<llm::DequantizeOp>(*op->getUsers().begin());
    if (dequantize &&
        (dequantize.getZeroPoint() || dequantize.getIsUnsigned() ||
         dequantize.getBits() != 8 || dequantize.getBlockSize() != 0 ||
         !isStatic(dequantize.getScale().getType()) ||
         dequantize.getType().getShape() != result.getShape()))
      dequantize = {};
  }
  if (dequantize && dequantize->hasOneUse()) {
    add = dyn_cast<llm::AddOp>(*dequantize->getUsers().begin());
    if (add) {
      bias =
          add.getLhs() == dequantize.getResult() ? add.getRhs() : add.getLhs();
      if (bias == dequantize.getResult() || !isStatic(bias.getType()) ||
          add.getType() != dequantize.getType())
        add = {};
    }
  }
  Operation *root = add          ? add.getOperation()
                    : dequantize ? dequantize.getOperation()
                                 : op.getOperation();
  Location loc = op.getLoc();
  OpBuilder b(root);
  // The activations' per-tensor quantization is redone on each entry's
  // slice, where the NPU can take it in (see matchPrologue).
  auto quantize = op.getLhs().getDefiningOp<llm::QuantizeOp>();
  if (quantize &&
      (quantize.getZeroPoint() || !constantScalar(quantize.getScale())))
    quantize = {};

  int64_t m = result.getDimSize(result.getRank() - 2);
  int64_t n = result.getDimSize(result.getRank() - 1);
  llvm::SmallVector<Value> entries;
  llvm::SmallVector<int64_t> index(batchShape.size(), 0);
  for (int64_t e = 0; e < count; ++e) {
    int64_t rest = e;
    for (int64_t d = static_cast<int64_t>(batchShape.size()) - 1; d >= 0; --d) {
      index[d] = rest % batchShape[d];
      rest /= batchShape[d];
    }
    Value x;
    if (quantize) {
      Value input = batchEntry(b, loc, quantize.getInput(), batchShape, index);
      x = llm::QuantizeOp::create(
          b, loc,
          cast<RankedTensorType>(input.getType()).clone(b.getIntegerType(8)),
          input, quantize.getScale(), Value(), quantize.getIsUnsigned(),
          quantize.getE4m3());
    } else {
      x = batchEntry(b, loc, op.getLhs(), batchShape, index);
    }
    Value w = batchEntry(b, loc, op.getRhs(), batchShape, index);
    Value y = llm::QMatMulOp::create(
        b, loc, RankedTensorType::get({m, n}, result.getElementType()), x, w,
        op.getLhsZeroPoint(), Value(), op.getLhsUnsigned(),
        /*rhs_unsigned=*/false, op.getTransposeRhs(), /*e4m3=*/false);
    if (dequantize) {
      Value scale =
          batchEntry(b, loc, dequantize.getScale(), batchShape, index);
      y = llm::DequantizeOp::create(
          b, loc,
          RankedTensorType::get({m, n}, dequantize.getType().getElementType()),
          y, scale, Value());
    }
    if (add) {
      Value entryBias = batchEntry(b, loc, bias, batchShape, index);
      y = llm::AddOp::create(b, loc, y.getType(), y, entryBias);
    }
    auto type = cast<RankedTensorType>(y.getType());
    entries.push_back(llm::ReshapeOp::create(
        b, loc, RankedTensorType::get({1, m, n}, type.getElementType()), y));
  }
  Value joined = llm::ConcatOp::create(b, loc, entries, 0);
  auto rootType = cast<RankedTensorType>(root->getResult(0).getType());
  Value replacement =
      joined.getType() == rootType
          ? joined
          : llm::ReshapeOp::create(b, loc, rootType, joined).getResult();
  if (remarks)
    op.emitRemark() << "batched weight " << llm::shapeString(rhs.getShape())
                    << ": split into " << count
                    << " products, one per batch entry";
  root->getResult(0).replaceAllUsesWith(replacement);
  if (add)
    add.erase();
  if (dequantize)
    dequantize.erase();
  op.erase();
  if (quantize && quantize->use_empty())
    quantize.erase();
  return true;
}

struct LLMNPUPartitionPass
    : llmc::impl::LLMNPUPartitionBase<LLMNPUPartitionPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto config = llmc::npu::Config::load(target);
    if (!config) {
      module.emitError() << "llm-npu-partition: "
                         << llvm::toString(config.takeError());
      return signalPassFailure();
    }

    llvm::SmallVector<llm::QMatMulOp> batched;
    module.walk([&](llm::QMatMulOp op) {
      auto rhs = dyn_cast<RankedTensorType>(op.getRhs().getType());
      if (rhs && rhs.getRank() >= 3)
        batched.push_back(op);
    });
    for (llm::QMatMulOp op : batched)
      unbatch(op, remarks, config->arrayCols);

    std::vector<Kernel> kernels;
    // An add of two products' dequantized results (an LSTM step's input and
    // recurrent gates) matches both epilogues: the first kernel takes it
    // (the other product's result is its bias), the second stops at its
    // dequantize. Both taking it erased it twice.
    llvm::DenseSet<Operation *> adds;
    module.walk([&](llm::QMatMulOp op) {
      Kernel kernel;
      if (std::optional<std::string> reason =
              check(op, kernel, config->arrayCols)) {
        if (remarks)
          op.emitRemark() << "stays on the host: " << *reason;
        return;
      }
      matchEpilogue(kernel);
      if (kernel.add && !adds.insert(kernel.add).second)
        kernel.add = {};
      matchPrologue(kernel);
      kernels.push_back(kernel);
    });

    // Programs are shared by kernels of the same shape and epilogue (the
    // layers of a model repeat).
    llvm::StringMap<std::string> programs;
    OpBuilder moduleBuilder = OpBuilder::atBlockEnd(module.getBody());
    OpBuilder declBuilder = OpBuilder::atBlockBegin(module.getBody());
    int64_t index = 0;
    for (Kernel &kernel : kernels) {
      if (failed(offload(kernel, index++, *config, programs, moduleBuilder,
                         declBuilder)))
        return signalPassFailure();
    }
  }

  /// The name of the program for one panel, generated on first use.
  FailureOr<std::string> programFor(Kernel &kernel, int64_t columns,
                                    const llmc::npu::Config &config,
                                    llvm::StringMap<std::string> &programs,
                                    OpBuilder &moduleBuilder) {
    llmc::npu::MatmulSpec spec;
    spec.m = kernel.m;
    spec.k = kernel.k;
    spec.n = columns;
    spec.channelScales = static_cast<bool>(kernel.dequantize);
    spec.bias = static_cast<bool>(kernel.add);
    spec.inputScale = kernel.inputScale;
    spec.lhsUnsigned = kernel.lhsUnsigned;
    spec.zeroPointRow = static_cast<bool>(kernel.lhsZeroPoint);
    std::string key = (llvm::Twine(spec.m) + "x" + llvm::Twine(spec.k) + "x" +
                       llvm::Twine(spec.n) + (spec.channelScales ? "s" : "") +
                       (spec.bias ? "b" : ""))
                          .str();
    if (spec.lhsUnsigned)
      key += "u";
    if (spec.zeroPointRow)
      key += "z";
    // The input scale is an immediate of the program.
    if (kernel.inputScale) {
      uint32_t bits;
      std::memcpy(&bits, &*kernel.inputScale, 4);
      key += "q" + llvm::utohexstr(bits, /*LowerCase=*/true);
    }
    auto found = programs.find(key);
    if (found != programs.end())
      return found->second;
    auto program = llmc::npu::generateMatmul(spec, config, target);
    if (!program)
      return kernel.matmul.emitError()
             << "cannot schedule the [" << spec.m << ", " << spec.k << "] x ["
             << spec.k << ", " << spec.n << "] int8 matmul on the NPU: "
             << llvm::toString(program.takeError());
    OwningOpRef<ModuleOp> holder =
        npu::fromProgram(*program, kernel.matmul.getContext());
    std::string name = "npu_program_" + std::to_string(programs.size());
    for (auto op : llvm::make_early_inc_range(
             holder->getBody()->getOps<npu::ProgramOp>())) {
      op->remove();
      moduleBuilder.insert(op);
      op->setAttr("llm.npu_program", moduleBuilder.getStringAttr(name));
      op->setAttr("llm.npu_shape", moduleBuilder.getStringAttr(key));
    }
    programs[key] = name;
    return name;
  }

  LogicalResult offload(Kernel &kernel, int64_t index,
                        const llmc::npu::Config &config,
                        llvm::StringMap<std::string> &programs,
                        OpBuilder &moduleBuilder, OpBuilder &declBuilder) {
    MLIRContext *context = kernel.matmul.getContext();
    Operation *root = kernel.add           ? kernel.add.getOperation()
                      : kernel.dequantize ? kernel.dequantize.getOperation()
                                          : kernel.matmul.getOperation();
    Location loc = kernel.matmul.getLoc();
    OpBuilder builder(root);
    Type f32 = Float32Type::get(context);
    auto reshaped = [&](Value value, ArrayRef<int64_t> shape) -> Value {
      auto type = cast<RankedTensorType>(value.getType());
      if (type.getShape() == shape)
        return value;
      return llm::ReshapeOp::create(
          builder, loc, RankedTensorType::get(shape, type.getElementType()),
          value);
    };

    llvm::SmallVector<Value> operands;
    operands.push_back(arith::ConstantOp::create(
        builder, loc, builder.getI64IntegerAttr(index)));
    operands.push_back(reshaped(kernel.quantize ? kernel.quantize.getInput()
                                                : kernel.matmul.getLhs(),
                                {kernel.m, kernel.k}));
    operands.push_back(kernel.matmul.getRhs());
    if (kernel.lhsZeroPoint)
      operands.push_back(reshaped(kernel.lhsZeroPoint, {1, 1}));
    StringRef scaleKind = "none";
    if (kernel.dequantize) {
      int64_t count = kernel.channelScale ? kernel.n : 1;
      operands.push_back(reshaped(kernel.scale, {1, count}));
      scaleKind = kernel.channelScale ? "channel" : "tensor";
    }
    // The bias as the add reads it now, not when it was matched: an earlier
    // kernel's offload may have replaced it (an LSTM step's recurrent
    // product adds the input product's biased result, which that kernel's
    // call now computes).
    if (kernel.add)
      operands.push_back(reshaped(
          biasOf(kernel.add, kernel.dequantize.getResult()), {1, kernel.n}));
    auto resultType = RankedTensorType::get(
        {kernel.m, kernel.n},
        kernel.dequantize ? f32 : IntegerType::get(context, 32));

    // The kernel's programs, one per panel of columns.
    llvm::SmallVector<Attribute> panelPrograms;
    llvm::SmallVector<int64_t> panelColumns;
    for (int64_t n0 = 0; n0 < kernel.n; n0 += kMaxPanelColumns) {
      int64_t columns = std::min(kMaxPanelColumns, kernel.n - n0);
      FailureOr<std::string> program =
          programFor(kernel, columns, config, programs, moduleBuilder);
      if (failed(program))
        return failure();
      panelPrograms.push_back(builder.getStringAttr(*program));
      panelColumns.push_back(n0);
    }

    std::string symbol = "llmc_npu_kernel_" + std::to_string(index);
    llvm::SmallVector<Type> argTypes;
    for (Value operand : operands)
      argTypes.push_back(operand.getType());
    auto decl = func::FuncOp::create(
        declBuilder, loc, symbol,
        FunctionType::get(context, argTypes, {resultType}));
    decl.setPrivate();
    declBuilder.setInsertionPointAfter(decl);
    for (unsigned arg = 1; arg < argTypes.size(); ++arg)
      decl.setArgAttr(arg, "bufferization.access",
                      builder.getStringAttr("read"));
    decl->setAttr("llvm.emit_c_interface", builder.getUnitAttr());
    llvm::SmallVector<NamedAttribute> info{
        builder.getNamedAttr("id", builder.getI64IntegerAttr(index)),
        builder.getNamedAttr("name", builder.getStringAttr(nameOf(loc))),
        builder.getNamedAttr("m", builder.getI64IntegerAttr(kernel.m)),
        builder.getNamedAttr("k", builder.getI64IntegerAttr(kernel.k)),
        builder.getNamedAttr("n", builder.getI64IntegerAttr(kernel.n)),
        builder.getNamedAttr(
            "transpose_rhs",
            builder.getBoolAttr(kernel.matmul.getTransposeRhs())),
        builder.getNamedAttr("scale", builder.getStringAttr(scaleKind)),
        builder.getNamedAttr(
            "bias", builder.getBoolAttr(static_cast<bool>(kernel.add))),
        builder.getNamedAttr("programs", builder.getArrayAttr(panelPrograms)),
        builder.getNamedAttr("panels",
                             builder.getDenseI64ArrayAttr(panelColumns))};
    if (kernel.inputScale)
      info.push_back(builder.getNamedAttr(
          "input_scale", builder.getF32FloatAttr(*kernel.inputScale)));
    if (kernel.lhsUnsigned)
      info.push_back(
          builder.getNamedAttr("lhs_unsigned", builder.getUnitAttr()));
    if (kernel.lhsZeroPoint)
      info.push_back(
          builder.getNamedAttr("lhs_zero_point", builder.getUnitAttr()));
    if (kernel.rhsConstant)
      info.push_back(
          builder.getNamedAttr("rhs_constant", builder.getUnitAttr()));
    decl->setAttr("llm.npu", builder.getDictionaryAttr(info));

    auto call = func::CallOp::create(builder, loc, decl, operands);
    Value result = call.getResult(0);
    auto rootType = cast<RankedTensorType>(root->getResult(0).getType());
    Value replacement = reshaped(result, rootType.getShape());
    root->getResult(0).replaceAllUsesWith(replacement);
    if (kernel.add)
      kernel.add.erase();
    if (kernel.dequantize)
      kernel.dequantize.erase();
    kernel.matmul.erase();
    // The host still quantizes where another op uses the int8 activations.
    if (kernel.quantize && kernel.quantize->use_empty())
      kernel.quantize.erase();
    return success();
  }
};

} // namespace
