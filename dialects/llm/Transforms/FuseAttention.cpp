//===- FuseAttention.cpp - recognize attention chains as llm.attention ----===//
//
// Exporters write attention as five or more ops: a product with k^T, a
// scale, a mask, a softmax and a product with v, with the kv heads of
// grouped-query attention repeated into copies. As one llm.attention every
// target can run it without materializing the scores (or the copies), and a
// causal mask becomes a flag instead of a tensor read. The pattern matches
// from the last product upwards and rewrites only when nothing else reads an
// intermediate and the op's shape rules hold for what it matched.
//
//===----------------------------------------------------------------------===//
#include "FusionCount.h"
#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <functional>
#include <limits>

namespace mlir::llm {
#define GEN_PASS_DEF_LLMFUSEATTENTION
#include "llm/Transforms/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {
/// A where-fill at or below this hides a key as -inf would: exp(fill - max)
/// is 0 in f32 for any row with a real score.
constexpr double kLargeNegative = -1.0e4;

/// Masks are evaluated at compile time only up to this many elements (a
/// 2048 x 2048 causal buffer).
constexpr int64_t kMaxMaskElements = int64_t(1) << 22;

RankedTensorType rankedOf(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// The value of a splat constant (float, or integer when `integers`).
std::optional<double> splatConstant(Value value, bool integers) {
  DenseElementsAttr dense;
  if (!matchPattern(value, m_Constant(&dense)) || !dense.isSplat())
    return std::nullopt;
  if (isa<FloatType>(dense.getElementType()))
    return dense.getSplatValue<APFloat>().convertToDouble();
  if (integers && dense.getElementType().isSignlessInteger() &&
      dense.getElementType().getIntOrFloatBitWidth() > 1)
    return static_cast<double>(dense.getSplatValue<APInt>().getSExtValue());
  return std::nullopt;
}

/// A boolean condition taken to hold (or not) where a where's branch is
/// read: a cast of it is then 1 (or 0) there.
struct Assumed {
  Value condition;
  bool taken = false;
};

/// The value of a float expression that is the same everywhere and known at
/// compile time: a splat constant, or scalar arithmetic on such values (the
/// importer leaves float arithmetic to run time). Hugging Face's GPT-2
/// divides its scores by torch.full([], v.size(-1) ** 0.5), which torch
/// exports as pow(16, 0.5) + 0; a dynamic export casts the head size from
/// the shape first. Evaluated in double; the scale it feeds is an f32
/// attribute. Under `assumed`, a cast of its condition counts as 1 or 0.
std::optional<double> splatFloat(Value value, bool integers = false,
                                 unsigned depth = 0, Assumed assumed = {}) {
  if (std::optional<double> constant = splatConstant(value, integers))
    return constant;
  Operation *op = value.getDefiningOp();
  if (!op || depth > 8 || op->getNumResults() != 1)
    return std::nullopt;
  auto operand = [&](unsigned i, bool ints = false) {
    return splatFloat(op->getOperand(i), ints, depth + 1, assumed);
  };
  if (auto cast = dyn_cast<CastOp>(op);
      cast && assumed.condition && cast.getInput() == assumed.condition)
    return assumed.taken ? 1.0 : 0.0;
  // Shape-only ops on one element, and casts from integer shapes.
  if (isa<ReshapeOp, ExpandOp, CastOp>(op)) {
    auto type = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
    if (!type || !type.hasStaticShape() || type.getNumElements() != 1)
      return std::nullopt;
    return operand(0, /*ints=*/isa<CastOp>(op));
  }
  auto unary = [&](auto fn) -> std::optional<double> {
    if (std::optional<double> x = operand(0))
      return fn(*x);
    return std::nullopt;
  };
  if (isa<SqrtOp>(op))
    return unary([](double x) { return std::sqrt(x); });
  if (isa<RsqrtOp>(op))
    return unary([](double x) { return 1.0 / std::sqrt(x); });
  if (isa<ReciprocalOp>(op))
    return unary([](double x) { return 1.0 / x; });
  if (isa<NegOp>(op))
    return unary([](double x) { return -x; });
  if (op->getNumOperands() != 2 ||
      !isa<AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp>(op))
    return std::nullopt;
  std::optional<double> a = operand(0), b = operand(1);
  if (!a || !b)
    return std::nullopt;
  if (isa<AddOp>(op))
    return *a + *b;
  if (isa<SubOp>(op))
    return *a - *b;
  if (isa<MulOp>(op))
    return *a * *b;
  if (isa<DivOp>(op))
    return *a / *b;
  if (isa<PowOp>(op))
    return std::pow(*a, *b);
  if (isa<MaxOp>(op))
    return std::max(*a, *b);
  return std::min(*a, *b);
}

/// `x * c`, `c * x` or `x / c` with a splat constant c that does not grow x,
/// and no other user: x, with `scale` multiplied by c or 1/c. Null if `value`
/// is not one.
Value peelScale(Value value, double &scale) {
  Operation *op = value.getDefiningOp();
  if (!op || !value.hasOneUse() || !isa<MulOp, DivOp>(op))
    return {};
  for (unsigned index : {0u, 1u}) {
    if (index == 0 && isa<DivOp>(op))
      continue;
    std::optional<double> constant = splatFloat(op->getOperand(index));
    Value other = op->getOperand(1 - index);
    if (!constant || !std::isfinite(*constant) || *constant == 0.0 ||
        other.getType() != value.getType())
      continue;
    scale *= isa<DivOp>(op) ? 1.0 / *constant : *constant;
    return other;
  }
  return {};
}

/// Peels every scale off `value`; see peelScale.
Value peelScales(Value value, double &scale) {
  while (Value inner = peelScale(value, scale))
    value = inner;
  return value;
}

/// The q x k^T scores under `value`: its scales peeled (peelScales) and,
/// under them, a logit softcap f2 * tanh(f1 * s) (Gemma 2 writes
/// c * tanh(s * scale / c)) with its inner scales, read once each. `scale`
/// becomes the product's whole factor, f1 * f2, and `softcap` f2 (0 without
/// a tanh, or with f2 <= 0): the attention computes c * tanh(s * scale / c).
Value peelScaledScores(Value value, double &scale, double &softcap) {
  softcap = 0.0;
  Value outer = peelScales(value, scale);
  auto tanh = outer.getDefiningOp<TanhOp>();
  if (!tanh || !outer.hasOneUse() || !(scale > 0.0))
    return outer;
  double inner = 1.0;
  Value below = peelScales(tanh.getInput(), inner);
  softcap = scale;
  scale = inner * softcap;
  return below;
}

/// The operand a clamp from below at a large negative constant clamps
/// (`llm.max(x, c)` or `llm.max(c, x)`, c <= -1e4: OPT's
/// torch.max(scores, finfo.min)), or null if `op` is not one.
Value clampedOperand(Operation *op) {
  auto max = dyn_cast_if_present<MaxOp>(op);
  if (!max)
    return {};
  for (unsigned index : {0u, 1u}) {
    std::optional<double> floor = splatFloat(max->getOperand(1 - index));
    if (floor && *floor <= kLargeNegative)
      return max->getOperand(index);
  }
  return {};
}

bool isClamp(Operation *op) { return static_cast<bool>(clampedOperand(op)); }

/// Whether `op` is an elementwise step of a scores chain between the
/// product and the softmax: a scale, a mask, a soft-cap's tanh, a clamp.
bool isScoresStep(Operation *op) {
  return isa_and_present<AddOp, MulOp, DivOp, WhereOp, TanhOp>(op) ||
         isClamp(op);
}

/// Whether `value` is attention scores: a product under the views, scales,
/// masks and caps of a scores chain (elementwise ops over an operand of
/// their own type).
bool leadsToProduct(Value value, int depth = 12) {
  Operation *op = value.getDefiningOp();
  if (isa_and_present<MatMulOp>(op))
    return true;
  if (depth == 0 || !op)
    return false;
  if (isa<ReshapeOp, TransposeOp, TanhOp>(op))
    return leadsToProduct(op->getOperand(0), depth - 1);
  if (!isScoresStep(op))
    return false;
  auto type = value.getType();
  return llvm::any_of(op->getOperands(), [&](Value operand) {
    return operand.getType() == type && leadsToProduct(operand, depth - 1);
  });
}

/// A product without transposes or epilogue (the attention's last).
bool isPlainProduct(MatMulOp product) {
  return !product.getTransposeLhs() && !product.getTransposeRhs() &&
         !product.hasEpilogue();
}

/// A copy of `op`, before the rewriter's insertion point, with `operands`
/// and its one result of `type`.
Value cloneWith(PatternRewriter &rewriter, Operation *op, ValueRange operands,
                Type type) {
  Operation *copy = rewriter.clone(*op);
  copy->setOperands(operands);
  copy->getResult(0).setType(type);
  return copy->getResult(0);
}

/// A scale under views: `value` is reshapes and transposes (each read once)
/// of `x * c`, as Hugging Face's BART and OPT scale q before splitting the
/// heads. A scalar factor commutes with views, so the views can be rebuilt
/// on x and c joins the attention's scale.
struct ScaledViews {
  /// The views, the one on the scaled tensor first.
  SmallVector<Operation *> views;
  Value unscaled;
  double factor = 1.0;
};

std::optional<ScaledViews> matchScaledViews(Value value) {
  ScaledViews result;
  while (isa_and_present<ReshapeOp, TransposeOp>(value.getDefiningOp()) &&
         value.hasOneUse()) {
    result.views.push_back(value.getDefiningOp());
    value = value.getDefiningOp()->getOperand(0);
  }
  result.unscaled = peelScales(value, result.factor);
  if (result.views.empty() || result.unscaled == value)
    return std::nullopt;
  std::reverse(result.views.begin(), result.views.end());
  return result;
}

/// The views of `scaled` rebuilt on its unscaled tensor.
Value rebuildViews(PatternRewriter &rewriter, const ScaledViews &scaled) {
  Value value = scaled.unscaled;
  for (Operation *view : scaled.views)
    value = cloneWith(rewriter, view, value, view->getResult(0).getType());
  return value;
}

//===----------------------------------------------------------------------===//
// Masks known at compile time
//===----------------------------------------------------------------------===//

SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// The flat index into `shape` that numpy broadcasting reads for each
/// element of `resultShape`.
SmallVector<int64_t> broadcastIndices(ArrayRef<int64_t> shape,
                                      ArrayRef<int64_t> resultShape) {
  int64_t total = ShapedType::getNumElements(resultShape);
  size_t offset = resultShape.size() - shape.size();
  SmallVector<int64_t> strides = stridesOf(shape);
  SmallVector<int64_t> indices(total), position(resultShape.size(), 0);
  for (int64_t flat = 0; flat < total; ++flat) {
    int64_t index = 0;
    for (size_t d = offset; d < resultShape.size(); ++d)
      if (shape[d - offset] != 1)
        index += position[d] * strides[d - offset];
    indices[flat] = index;
    for (int64_t d = (int64_t)resultShape.size() - 1; d >= 0; --d) {
      if (++position[d] < resultShape[d])
        break;
      position[d] = 0;
    }
  }
  return indices;
}

/// Evaluates the small constant graphs masks are built from (constants,
/// slices of a causal buffer, comparisons, casts, trilu, where, arithmetic)
/// into their elements in row-major order, as doubles (booleans are 0 and 1).
/// Failure for anything else, dynamic shapes or too many elements.
class MaskEvaluator {
public:
  FailureOr<SmallVector<double>> evaluate(Value value, int depth = 0) {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type || !type.hasStaticShape() ||
        type.getNumElements() > kMaxMaskElements || depth > 12)
      return failure();
    Operation *op = value.getDefiningOp();
    if (!op)
      return failure();
    ArrayRef<int64_t> shape = type.getShape();

    Attribute attr;
    if (matchPattern(value, m_Constant(&attr)))
      return constantElements(attr, type.getNumElements());
    if (auto slice = dyn_cast<SliceOp>(op))
      return evaluateSlice(slice, depth);
    if (isa<ReshapeOp>(op))
      return evaluate(op->getOperand(0), depth + 1);
    if (isa<ExpandOp>(op))
      return broadcastTo(op->getOperand(0), shape, depth);
    if (auto cast = dyn_cast<CastOp>(op)) {
      auto input = evaluate(cast.getInput(), depth + 1);
      if (failed(input))
        return failure();
      Type to = type.getElementType();
      for (double &x : *input)
        x = to.isInteger(1) ? double(x != 0.0)
                            : (isa<FloatType>(to) ? x : std::trunc(x));
      return input;
    }
    if (isa<NotOp>(op)) {
      auto input = evaluate(op->getOperand(0), depth + 1);
      if (failed(input))
        return failure();
      for (double &x : *input)
        x = double(x == 0.0);
      return input;
    }
    if (auto trilu = dyn_cast<TriluOp>(op)) {
      auto input = evaluate(trilu.getInput(), depth + 1);
      if (failed(input))
        return failure();
      int64_t rows = shape[shape.size() - 2], columns = shape.back();
      for (int64_t flat = 0; flat < (int64_t)input->size(); ++flat) {
        int64_t offset = flat % columns - (flat / columns) % rows;
        auto diagonal = static_cast<int64_t>(trilu.getDiagonal());
        bool keep = trilu.getUpper() ? offset >= diagonal : offset <= diagonal;
        if (!keep)
          (*input)[flat] = 0.0;
      }
      return input;
    }
    if (auto where = dyn_cast<WhereOp>(op)) {
      auto condition = broadcastTo(where.getCondition(), shape, depth);
      auto lhs = broadcastTo(where.getTrueValue(), shape, depth);
      auto rhs = broadcastTo(where.getFalseValue(), shape, depth);
      if (failed(condition) || failed(lhs) || failed(rhs))
        return failure();
      for (auto [c, l, r] : llvm::zip_equal(*condition, *lhs, *rhs))
        c = c != 0.0 ? l : r;
      return condition;
    }
    using Fn = double (*)(double, double);
    Fn fn = llvm::TypeSwitch<Operation *, Fn>(op)
                .Case([](EqualOp) -> Fn {
                  return [](double a, double b) { return double(a == b); };
                })
                .Case([](LessOp) -> Fn {
                  return [](double a, double b) { return double(a < b); };
                })
                .Case([](LessEqualOp) -> Fn {
                  return [](double a, double b) { return double(a <= b); };
                })
                .Case([](GreaterOp) -> Fn {
                  return [](double a, double b) { return double(a > b); };
                })
                .Case([](GreaterEqualOp) -> Fn {
                  return [](double a, double b) { return double(a >= b); };
                })
                .Case([](AndOp) -> Fn {
                  return [](double a, double b) { return double(a && b); };
                })
                .Case([](OrOp) -> Fn {
                  return [](double a, double b) { return double(a || b); };
                })
                .Case([](AddOp) -> Fn {
                  return [](double a, double b) { return a + b; };
                })
                .Case([](SubOp) -> Fn {
                  return [](double a, double b) { return a - b; };
                })
                .Case([](MulOp) -> Fn {
                  return [](double a, double b) { return a * b; };
                })
                .Default([](Operation *) -> Fn { return nullptr; });
    if (!fn)
      return failure();
    auto lhs = broadcastTo(op->getOperand(0), shape, depth);
    auto rhs = broadcastTo(op->getOperand(1), shape, depth);
    if (failed(lhs) || failed(rhs))
      return failure();
    for (auto [l, r] : llvm::zip_equal(*lhs, *rhs))
      l = fn(l, r);
    return lhs;
  }

private:
  FailureOr<SmallVector<double>> constantElements(Attribute attr,
                                                  int64_t count) {
    if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
      Type element = dense.getElementType();
      auto read = [&](auto values) {
        SmallVector<double> result;
        result.reserve(count);
        for (auto x : values)
          result.push_back(toDouble(x, element));
        return result;
      };
      if (dense.isSplat()) {
        double x = isa<FloatType>(element)
                       ? dense.getSplatValue<APFloat>().convertToDouble()
                       : toDouble(dense.getSplatValue<APInt>(), element);
        return SmallVector<double>(count, x);
      }
      if (isa<FloatType>(element))
        return read(dense.getValues<APFloat>());
      if (isa<IntegerType>(element))
        return read(dense.getValues<APInt>());
      return failure();
    }
    if (auto resource = dyn_cast<DenseBoolResourceElementsAttr>(attr))
      if (std::optional<ArrayRef<bool>> values = resource.tryGetAsArrayRef())
        return SmallVector<double>(values->begin(), values->end());
    // Float blobs: f32, and bf16 and f16 exports' (torch.zeros).
    if (isa<DenseResourceElementsAttr>(attr))
      if (std::optional<std::vector<float>> values = floatElements(attr))
        return SmallVector<double>(values->begin(), values->end());
    return failure();
  }

  static double toDouble(const APFloat &x, Type) { return x.convertToDouble(); }
  static double toDouble(const APInt &x, Type element) {
    return element.isInteger(1) ? double(x.getBoolValue())
                                : double(x.getSExtValue());
  }

  FailureOr<SmallVector<double>>
  broadcastTo(Value value, ArrayRef<int64_t> shape, int depth) {
    auto input = evaluate(value, depth + 1);
    if (failed(input))
      return failure();
    ArrayRef<int64_t> inputShape = rankedOf(value).getShape();
    if (inputShape == shape)
      return input;
    SmallVector<double> result;
    for (int64_t index : broadcastIndices(inputShape, shape))
      result.push_back((*input)[index]);
    return result;
  }

  FailureOr<SmallVector<double>> evaluateSlice(SliceOp slice, int depth) {
    auto input = evaluate(slice.getInput(), depth + 1);
    if (failed(input))
      return failure();
    SmallVector<int64_t> inputStrides =
        stridesOf(rankedOf(slice.getInput()).getShape());
    ArrayRef<int64_t> shape = slice.getType().getShape();
    SmallVector<int64_t> position(shape.size(), 0);
    SmallVector<double> result;
    int64_t total = ShapedType::getNumElements(shape);
    for (int64_t flat = 0; flat < total; ++flat) {
      int64_t index = 0;
      for (size_t d = 0; d < shape.size(); ++d)
        index += (slice.getStarts()[d] + position[d] * slice.getSteps()[d]) *
                 inputStrides[d];
      result.push_back((*input)[index]);
      for (int64_t d = (int64_t)shape.size() - 1; d >= 0; --d) {
        if (++position[d] < shape[d])
          break;
        position[d] = 0;
      }
    }
    return result;
  }
};

/// What a mask known at compile time amounts to: nothing, the causal rule
/// (with a sliding window of `window` keys, if given), or something else.
enum class MaskPattern { Other, AllAttend, Causal };
struct MaskClass {
  MaskPattern pattern = MaskPattern::Other;
  std::optional<int64_t> window;
};

/// Whether query i sees key j under the causal rule over `queryLength` x
/// `keyLength` scores: j <= d = i + (keyLength - queryLength), and with a
/// window W also j > d - W.
bool causalSees(int64_t i, int64_t j, int64_t queryLength, int64_t keyLength,
                std::optional<int64_t> window) {
  int64_t diagonal = i + (keyLength - queryLength);
  return j <= diagonal && (!window || j > diagonal - *window);
}

/// Classifies `elements` of a mask of `maskShape` over scores whose last two
/// dims are `queryLength` x `keyLength`; `attends` says whether one element
/// lets its key through (nullopt: neither a clear pass nor a clear block).
/// The causal rule attends key j from query i when j <= d = i + (keyLength -
/// queryLength); a window W also needs j > d - W. W is read off the last
/// query row, which sees min(keyLength, W) keys.
MaskClass classifyMask(ArrayRef<double> elements, ArrayRef<int64_t> maskShape,
                       int64_t queryLength, int64_t keyLength,
                       function_ref<std::optional<bool>(double)> attends) {
  int64_t rank = maskShape.size();
  int64_t rows = rank >= 2 ? maskShape[rank - 2] : 1;
  int64_t columns = rank >= 1 ? maskShape[rank - 1] : 1;
  if ((rows != 1 && rows != queryLength) ||
      (columns != 1 && columns != keyLength) || queryLength < 1)
    return {};
  auto at = [&](int64_t matrix, int64_t i, int64_t j) {
    int64_t index = (matrix * rows + (rows == 1 ? 0 : i)) * columns +
                    (columns == 1 ? 0 : j);
    return attends(elements[index]);
  };
  int64_t lastRowKeys = 0;
  for (int64_t j = 0; j < keyLength; ++j) {
    std::optional<bool> attend = at(0, queryLength - 1, j);
    if (!attend)
      return {};
    lastRowKeys += *attend;
  }
  std::optional<int64_t> window;
  if (lastRowKeys > 0 && lastRowKeys < keyLength)
    window = lastRowKeys;
  int64_t matrices = ShapedType::getNumElements(maskShape) / (rows * columns);
  bool allAttend = true, causal = true;
  for (int64_t matrix = 0; matrix < matrices; ++matrix)
    for (int64_t i = 0; i < queryLength; ++i)
      for (int64_t j = 0; j < keyLength; ++j) {
        std::optional<bool> attend = at(matrix, i, j);
        if (!attend)
          return {};
        allAttend &= *attend;
        causal &= *attend == causalSees(i, j, queryLength, keyLength, window);
        if (!allAttend && !causal)
          return {};
      }
  if (allAttend)
    return {MaskPattern::AllAttend, std::nullopt};
  return {MaskPattern::Causal, window};
}

/// How a mask acts on the scores: added to them, or a condition saying
/// which keys attend (`where(m, scores, fill)`) or which are hidden
/// (`where(m, fill, scores)`).
enum class MaskKind { None, Additive, Attend, Hide };

/// Whether the element `x` of a mask of `kind` lets its key through
/// (nullopt: neither a clear pass nor a clear block).
std::optional<bool> maskAttends(MaskKind kind, double x) {
  switch (kind) {
  case MaskKind::Attend:
    return x != 0.0;
  case MaskKind::Hide:
    return x == 0.0;
  default:
    if (x == 0.0)
      return true;
    if (x <= kLargeNegative)
      return false;
    return std::nullopt;
  }
}

/// What `mask`, of `kind`, amounts to if it is known at compile time, over
/// scores whose last two dims are `queryLength` x `keyLength`.
MaskClass constantMaskPattern(Value mask, MaskKind kind, int64_t queryLength,
                              int64_t keyLength) {
  auto elements = MaskEvaluator().evaluate(mask);
  if (failed(elements))
    return {};
  return classifyMask(*elements, rankedOf(mask).getShape(), queryLength,
                      keyLength,
                      [&](double x) { return maskAttends(kind, x); });
}

/// A rank-0 llm.constant of the float type `element` holding `value`.
Value floatScalar(OpBuilder &builder, Location loc, Type element,
                  double value) {
  auto type = RankedTensorType::get({}, element);
  return ConstantOp::create(
      builder, loc, type,
      DenseElementsAttr::get(type, FloatAttr::get(element, value)));
}

/// The one value of a float constant all of whose elements are equal (a
/// splat, or a blob of zeros as torch exports `torch.zeros`), if known at
/// compile time.
std::optional<double> uniformFloat(Value value) {
  if (std::optional<double> splat = splatFloat(value))
    return splat;
  if (!isa<FloatType>(rankedOf(value).getElementType()))
    return std::nullopt;
  auto elements = MaskEvaluator().evaluate(value);
  if (failed(elements) || elements->empty() || !llvm::all_equal(*elements))
    return std::nullopt;
  return elements->front();
}

/// The one value of a where's branch `value` on the elements that take it,
/// where the condition `condition` is `taken`: a uniform constant, or a
/// scalar expression (splatFloat) of constants and casts of the condition
/// itself (Falcon writes `(m * 1.0).masked_fill(m, -1e9)`, a where whose
/// other branch is the cast condition: 0 wherever it is taken).
std::optional<double> branchFloat(Value value, Value condition, bool taken) {
  if (std::optional<double> uniform = uniformFloat(value))
    return uniform;
  return splatFloat(value, /*integers=*/false, /*depth=*/0,
                    Assumed{condition, taken});
}

/// The run-time part of a mask that joins the causal rule, known at
/// compile time, with a run-time mask, as exporters build a causal LM's
/// mask from a causal buffer and the attention_mask input: `and(causal, m)`
/// for a mask of keys that attend, `or(future, m)` for one of hidden keys,
/// `causal + m` for an additive one, and for an additive one also
/// `where(c, 0, fill)` or `where(c, fill, 0)` (uniform constants, fill <=
/// -1e4) with c a condition of those forms, through `not`. The attention
/// then takes the causal flag and only the run-time part, usually a row per
/// batch ([B, 1, 1, S]) where the whole was a matrix. The causal part may
/// have a sliding window (`window`).
///
/// A dry run (no rewriter) checks and gives the part's type; with a
/// rewriter the part is built too (a `not`, or a `where` over scalars).
/// Failure if `mask` is not such a join.
struct CausalRest {
  RankedTensorType type;
  Value value;
  std::optional<int64_t> window;
};

FailureOr<CausalRest> splitCausal(Value mask, MaskKind kind,
                                  int64_t queryLength, int64_t keyLength,
                                  PatternRewriter *rewriter, int depth = 0) {
  Operation *op = mask.getDefiningOp();
  if (!op || depth > 6)
    return failure();
  // A product of keys that attend joins them as `and` does when the
  // constant side is 0 or 1 (T5's causal_mask * attention_mask in int64).
  auto zeroOrOne = [](Value value) {
    auto elements = MaskEvaluator().evaluate(value);
    return succeeded(elements) && llvm::all_of(*elements, [](double x) {
             return x == 0.0 || x == 1.0;
           });
  };
  bool joins = (kind == MaskKind::Attend && isa<AndOp, MulOp>(op)) ||
               (kind == MaskKind::Hide && isa<OrOp>(op)) ||
               (kind == MaskKind::Additive && isa<AddOp>(op));
  if (joins) {
    for (unsigned index : {0u, 1u}) {
      Value rest = op->getOperand(1 - index);
      MaskClass causal = constantMaskPattern(op->getOperand(index), kind,
                                             queryLength, keyLength);
      if (causal.pattern == MaskPattern::Causal &&
          (!isa<MulOp>(op) || zeroOrOne(op->getOperand(index))))
        return CausalRest{rankedOf(rest), rewriter ? rest : Value(),
                          causal.window};
    }
    // A join with a run-time mask whose own causal part splits off: the
    // join of that mask's rest (T5 adds its position bias to the causal
    // and padding mask).
    for (unsigned index : {0u, 1u}) {
      Value other = op->getOperand(1 - index);
      auto inner = splitCausal(op->getOperand(index), kind, queryLength,
                               keyLength, rewriter, depth + 1);
      if (failed(inner))
        continue;
      auto shape =
          broadcastShapes(rankedOf(other).getShape(), inner->type.getShape());
      if (failed(shape))
        continue;
      CausalRest result{rankedOf(mask).clone(*shape), Value(), inner->window};
      if (rewriter) {
        Operation *join = rewriter->clone(*op);
        join->setOperand(index, inner->value);
        join->getResult(0).setType(result.type);
        result.value = join->getResult(0);
      }
      return result;
    }
    return failure();
  }
  // A cast keeps which keys attend when it converts integers (or i1), and
  // an additive mask's values when it converts floats: its rest is the cast
  // of its input's rest.
  if (auto cast = dyn_cast<CastOp>(op)) {
    Type from = cast.getInput().getType().getElementType();
    if (kind == MaskKind::Additive ? !isa<FloatType>(from)
                                   : !from.isSignlessInteger())
      return failure();
    auto rest = splitCausal(cast.getInput(), kind, queryLength, keyLength,
                            rewriter, depth + 1);
    if (failed(rest))
      return failure();
    CausalRest result{rest->type.clone(cast.getType().getElementType()),
                      Value(), rest->window};
    if (rewriter)
      result.value =
          CastOp::create(*rewriter, op->getLoc(), result.type, rest->value);
    return result;
  }
  // (1 - a) * fill, a of keys that attend as 0 or 1 and fill <= -1e4 (T5's
  // and BERT's extended attention mask): where(a, 0, fill).
  if (auto mul = dyn_cast<MulOp>(op); mul && kind == MaskKind::Additive) {
    for (unsigned index : {0u, 1u}) {
      std::optional<double> fill = uniformFloat(mul->getOperand(index));
      auto sub = mul->getOperand(1 - index).getDefiningOp<SubOp>();
      std::optional<double> one =
          sub ? uniformFloat(sub.getLhs()) : std::nullopt;
      if (!fill || *fill > kLargeNegative || !one || *one != 1.0)
        continue;
      auto rest = splitCausal(sub.getRhs(), MaskKind::Attend, queryLength,
                              keyLength, rewriter, depth + 1);
      if (failed(rest) ||
          rest->type.getElementType() != mul.getType().getElementType())
        continue;
      CausalRest result{rest->type, Value(), rest->window};
      if (rewriter) {
        Location loc = op->getLoc();
        Value inverse = SubOp::create(*rewriter, loc, rest->type, sub.getLhs(),
                                      rest->value);
        result.value = MulOp::create(*rewriter, loc, rest->type, inverse,
                                     mul->getOperand(index));
      }
      return result;
    }
    return failure();
  }
  if (isa<NotOp>(op) && kind != MaskKind::Additive) {
    MaskKind inverse =
        kind == MaskKind::Attend ? MaskKind::Hide : MaskKind::Attend;
    auto rest = splitCausal(op->getOperand(0), inverse, queryLength, keyLength,
                            rewriter, depth + 1);
    if (succeeded(rest) && rewriter)
      rest->value =
          NotOp::create(*rewriter, op->getLoc(), rest->type, rest->value);
    return rest;
  }
  auto where = dyn_cast<WhereOp>(op);
  if (!where || kind != MaskKind::Additive)
    return failure();
  std::optional<double> ifTrue =
      branchFloat(where.getTrueValue(), where.getCondition(), true);
  std::optional<double> ifFalse =
      branchFloat(where.getFalseValue(), where.getCondition(), false);
  // where(c, fill, causal) or where(c, causal, fill): the causal additive
  // mask with the keys c hides (attends) filled in, as Hugging Face's
  // AttentionMaskConverter and _update_causal_mask write masked_fill on the
  // causal buffer. The rest is where(c, fill, 0) (where(c, 0, fill)).
  for (bool fillIfTrue : {true, false}) {
    std::optional<double> fillValue = fillIfTrue ? ifTrue : ifFalse;
    Value other = fillIfTrue ? where.getFalseValue() : where.getTrueValue();
    if (!fillValue || *fillValue > kLargeNegative)
      continue;
    MaskClass causal =
        constantMaskPattern(other, MaskKind::Additive, queryLength, keyLength);
    if (causal.pattern != MaskPattern::Causal)
      continue;
    Type element = where.getType().getElementType();
    Value condition = where.getCondition();
    CausalRest result{rankedOf(condition).clone(element), Value(),
                      causal.window};
    if (!rewriter)
      return result;
    Location loc = op->getLoc();
    Value fill = floatScalar(*rewriter, loc, element, *fillValue);
    Value zero = floatScalar(*rewriter, loc, element, 0.0);
    result.value =
        WhereOp::create(*rewriter, loc, condition, fillIfTrue ? fill : zero,
                        fillIfTrue ? zero : fill);
    return result;
  }
  if (!ifTrue || !ifFalse)
    return failure();
  MaskKind condition;
  if (*ifTrue == 0.0 && *ifFalse <= kLargeNegative)
    condition = MaskKind::Attend;
  else if (*ifFalse == 0.0 && *ifTrue <= kLargeNegative)
    condition = MaskKind::Hide;
  else
    return failure();
  auto rest = splitCausal(where.getCondition(), condition, queryLength,
                          keyLength, rewriter, depth + 1);
  if (failed(rest))
    return failure();
  Type element = where.getType().getElementType();
  CausalRest result{rest->type.clone(element), Value(), rest->window};
  if (!rewriter)
    return result;
  Location loc = op->getLoc();
  result.value =
      WhereOp::create(*rewriter, loc, rest->value,
                      floatScalar(*rewriter, loc, element, *ifTrue),
                      floatScalar(*rewriter, loc, element, *ifFalse));
  return result;
}

//===----------------------------------------------------------------------===//
// Repeated kv heads
//===----------------------------------------------------------------------===//

/// Heads repeated in place, as exporters write grouped-query attention:
/// `unit` [B..., Hkv, 1, S, D] broadcast (llm.expand) or concatenated to
/// [B..., Hkv, n, S, D] and reshaped to [B..., Hkv * n, S, D], so that head h
/// is kv head h floordiv n.
struct RepeatedHeads {
  Value unit;
  /// `unit` without its unit dim when an existing value is that already.
  Value source;
  int64_t group = 1;
};

std::optional<RepeatedHeads> matchRepeatedHeads(Value value) {
  auto reshape = value.getDefiningOp<ReshapeOp>();
  if (!reshape)
    return std::nullopt;
  RankedTensorType merged = reshape.getType();
  RankedTensorType split = reshape.getInput().getType();
  int64_t rank = merged.getRank();
  if (rank < 3 || split.getRank() != rank + 1 || !merged.hasStaticShape() ||
      !split.hasStaticShape())
    return std::nullopt;
  int64_t head = rank - 3;
  ArrayRef<int64_t> m = merged.getShape(), s = split.getShape();
  if (m.take_front(head) != s.take_front(head) ||
      m.drop_front(head + 1) != s.drop_front(head + 2) ||
      s[head] * s[head + 1] != m[head])
    return std::nullopt;
  int64_t group = s[head + 1];

  Value unit;
  Operation *repeat = reshape.getInput().getDefiningOp();
  if (auto expand = dyn_cast_if_present<ExpandOp>(repeat)) {
    unit = expand.getInput();
  } else if (auto concat = dyn_cast_if_present<ConcatOp>(repeat)) {
    if (static_cast<int64_t>(concat.getAxis()) != head + 1 ||
        (int64_t)concat.getInputs().size() != group ||
        !llvm::all_equal(concat.getInputs()))
      return std::nullopt;
    unit = concat.getInputs().front();
  } else {
    return std::nullopt;
  }
  SmallVector<int64_t> unitShape(s);
  unitShape[head + 1] = 1;
  if (rankedOf(unit).getShape() != ArrayRef<int64_t>(unitShape))
    return std::nullopt;

  RepeatedHeads result;
  result.unit = unit;
  result.group = group;
  SmallVector<int64_t> sourceShape(unitShape);
  sourceShape.erase(sourceShape.begin() + head + 1);
  if (auto unsqueeze = unit.getDefiningOp<ReshapeOp>())
    if (unsqueeze.getInput().getType().getShape() ==
        ArrayRef<int64_t>(sourceShape))
      result.source = unsqueeze.getInput();
  return result;
}

/// The tensor `repeat` repeats, building the reshape that drops the unit dim
/// if no existing value is it.
Value unrepeated(PatternRewriter &rewriter, Location loc,
                 const RepeatedHeads &repeat) {
  if (repeat.source)
    return repeat.source;
  RankedTensorType unitType = rankedOf(repeat.unit);
  SmallVector<int64_t> shape(unitType.getShape());
  shape.erase(shape.end() - 3);
  return ReshapeOp::create(rewriter, loc, unitType.clone(shape), repeat.unit);
}

//===----------------------------------------------------------------------===//
// The pattern
//===----------------------------------------------------------------------===//

/// A mask over the scores as matched: `scores` (of the scores' type,
/// `isScores`), the mask or condition, how it acts and a where's fill.
struct MaskMatch {
  Value scores, mask;
  MaskKind kind;
  double fill = 0.0;
};

/// `add(scores, m)` or `add(m, scores)`.
std::optional<MaskMatch> matchAddMask(Operation *op, RankedTensorType type,
                                      function_ref<bool(Value)> isScores) {
  auto add = dyn_cast_if_present<AddOp>(op);
  if (!add)
    return std::nullopt;
  for (unsigned index : {0u, 1u}) {
    Value scores = add->getOperand(index);
    if (scores.getType() == type && isScores(scores))
      return MaskMatch{scores, add->getOperand(1 - index), MaskKind::Additive};
  }
  return std::nullopt;
}

/// `where(c, scores, fill)` or `where(c, fill, scores)` with a splat fill
/// that is still <= -1e4 once multiplied by `scaleAbove`.
std::optional<MaskMatch> matchWhereMask(Operation *op, RankedTensorType type,
                                        double scaleAbove,
                                        function_ref<bool(Value)> isScores) {
  auto where = dyn_cast_if_present<WhereOp>(op);
  if (!where)
    return std::nullopt;
  for (bool scoresIfTrue : {true, false}) {
    Value scores = scoresIfTrue ? where.getTrueValue() : where.getFalseValue();
    Value fill = scoresIfTrue ? where.getFalseValue() : where.getTrueValue();
    std::optional<double> fillValue = splatFloat(fill);
    if (scores.getType() != type || !fillValue ||
        *fillValue * scaleAbove > kLargeNegative || !isScores(scores))
      continue;
    return MaskMatch{scores, where.getCondition(),
                     scoresIfTrue ? MaskKind::Attend : MaskKind::Hide,
                     *fillValue};
  }
  return std::nullopt;
}

/// The sink logits [H] behind a [..., H, T, 1] column that extends the
/// scores: `source`, a tensor with one value per head (the heads dim the
/// only one above 1), under expands and reshapes; or, with the expansion
/// folded into a constant, `values`, read off it once every element of a
/// head is the same.
struct SinkColumn {
  Value source;
  SmallVector<double> values;
};

std::optional<SinkColumn> matchSinkColumn(Value column, int64_t heads) {
  RankedTensorType type = rankedOf(column);
  int64_t rank = type.getRank();
  if (rank < 3 || type.getDimSize(rank - 3) != heads ||
      type.getShape().back() != 1)
    return std::nullopt;
  // Expanded from a tensor that, aligned to the column's trailing dims, is
  // 1 everywhere but at the heads dim ([1, H, 1, 1], [H, 1, 1]); itself
  // perhaps a reshape of the [H] logits.
  Value value = column;
  while (auto expand = value.getDefiningOp<ExpandOp>())
    value = expand.getInput();
  RankedTensorType valueType = rankedOf(value);
  bool aligned = valueType.hasStaticShape() &&
                 valueType.getNumElements() == heads &&
                 valueType.getRank() <= rank;
  for (int64_t i = 0; aligned && i < valueType.getRank(); ++i)
    aligned = valueType.getDimSize(i) == 1 ||
              rank - valueType.getRank() + i == rank - 3;
  if (aligned) {
    if (auto reshape = value.getDefiningOp<ReshapeOp>())
      value = reshape.getInput();
    return SinkColumn{value, {}};
  }
  auto elements = MaskEvaluator().evaluate(column);
  if (failed(elements) || !type.hasStaticShape())
    return std::nullopt;
  // Row-major [outer..., H, T, 1]: element e belongs to head (e / T) % H.
  int64_t rows = type.getDimSize(rank - 2);
  SmallVector<double> values(heads);
  for (int64_t e = 0, n = elements->size(); e < n; ++e) {
    int64_t head = (e / rows) % heads;
    if (e < rows * heads && e % rows == 0)
      values[head] = (*elements)[e];
    else if ((*elements)[e] != values[head])
      return std::nullopt;
  }
  return SinkColumn{Value(), std::move(values)};
}

/// Attention with sinks as Hugging Face's gpt-oss writes it: the scores
/// concatenated with a column of each head's sink logit, the row maximum
/// optionally subtracted (`x - reduce_max(x)`, a no-op under softmax),
/// softmax over the last axis, the sink's column sliced off.
struct SinkSoftmax {
  SoftmaxOp softmax;
  Value scores;
  SinkColumn sink;
};

std::optional<SinkSoftmax> matchSinkSoftmax(Value weights) {
  auto slice = weights.getDefiningOp<SliceOp>();
  if (!slice || !weights.hasOneUse())
    return std::nullopt;
  auto softmax = slice.getInput().getDefiningOp<SoftmaxOp>();
  RankedTensorType type = rankedOf(slice.getInput());
  int64_t rank = type.getRank();
  if (!softmax || !softmax.getResult().hasOneUse() || rank < 3 ||
      !type.hasStaticShape() ||
      static_cast<int64_t>(softmax.getAxis()) != rank - 1)
    return std::nullopt;
  SmallVector<int64_t> ends(type.getShape());
  ends.back() -= 1;
  if (!llvm::all_of(slice.getStarts(), [](int64_t x) { return x == 0; }) ||
      !llvm::all_of(slice.getSteps(), [](int64_t x) { return x == 1; }) ||
      slice.getEnds() != ArrayRef<int64_t>(ends))
    return std::nullopt;
  Value extended = softmax.getInput();
  if (auto sub = extended.getDefiningOp<SubOp>()) {
    auto max = sub.getRhs().getDefiningOp<ReduceMaxOp>();
    if (!max || max.getInput() != sub.getLhs() || !extended.hasOneUse() ||
        !max.getResult().hasOneUse() ||
        max.getAxes() != ArrayRef<int64_t>{rank - 1} ||
        rankedOf(max.getResult()).getRank() != rank)
      return std::nullopt;
    extended = sub.getLhs();
    if (!llvm::all_of(extended.getUsers(), [&](Operation *user) {
          return user == sub || user == max;
        }))
      return std::nullopt;
  } else if (!extended.hasOneUse()) {
    return std::nullopt;
  }
  auto concat = extended.getDefiningOp<ConcatOp>();
  if (!concat || concat.getInputs().size() != 2 ||
      static_cast<int64_t>(concat.getAxis()) != rank - 1)
    return std::nullopt;
  Value scores = concat.getInputs()[0];
  std::optional<SinkColumn> sink =
      matchSinkColumn(concat.getInputs()[1], type.getDimSize(rank - 3));
  if (!sink || !scores.hasOneUse())
    return std::nullopt;
  return SinkSoftmax{softmax, scores, std::move(*sink)};
}

/// A softmax whose weights are zeroed after it: `where(c, 0, softmax(x))`,
/// the where read once. The softmax's own users are the callers' to check.
struct ZeroedSoftmax {
  SoftmaxOp softmax;
  WhereOp zeroing;
};

std::optional<ZeroedSoftmax> softmaxUnderZeroing(Value weights) {
  auto zeroing = weights.getDefiningOp<WhereOp>();
  if (!zeroing || !weights.hasOneUse())
    return std::nullopt;
  auto softmax = zeroing.getFalseValue().getDefiningOp<SoftmaxOp>();
  std::optional<double> zero = splatConstant(zeroing.getTrueValue(), false);
  if (!softmax || !zero || *zero != 0.0 ||
      zeroing.getType() != softmax.getType())
    return std::nullopt;
  return ZeroedSoftmax{softmax, zeroing};
}

/// The softmax under torch's NaN guard, `where(isnan(w), 0, w)` with isnan
/// as `not(equal(w, w))`: onnxscript's torchlib writes it after the softmax
/// of scaled_dot_product_attention with a bool mask (torch.onnx.export with
/// dynamo), so that a row that hides every key gives zeros instead of NaN.
/// llm.attention gives zeros there; the guard goes with the softmax.
SoftmaxOp nanGuardedSoftmax(Value weights) {
  std::optional<ZeroedSoftmax> guarded = softmaxUnderZeroing(weights);
  if (!guarded)
    return {};
  Value probs = guarded->softmax.getResult();
  auto isNaN = guarded->zeroing.getCondition().getDefiningOp<NotOp>();
  auto equal = isNaN ? isNaN.getInput().getDefiningOp<EqualOp>() : EqualOp();
  if (!equal || equal.getLhs() != probs || equal.getRhs() != probs ||
      !isNaN.getResult().hasOneUse() || !equal.getResult().hasOneUse() ||
      !llvm::all_of(probs.getUsers(), [&](Operation *user) {
        return user == guarded->zeroing || user == equal;
      }))
    return {};
  return guarded->softmax;
}

/// The softmax under a zeroing of the weights of the keys that `c` hides,
/// once more after the softmax (DeBERTa's XSoftmax fills its scores with
/// finfo.min where c and zeroes the weights there), the softmax read once.
/// Where c hides some keys of a row and not others, their weights are 0
/// already (exp(fill - max) underflows); where c hides every key, the
/// weights are zeros, as llm.attention gives for a fully masked row. So the
/// zeroing goes with the softmax once FuseAttentionPattern finds c to be
/// the condition its scores are hidden by.
std::optional<ZeroedSoftmax> matchZeroedSoftmax(Value weights) {
  std::optional<ZeroedSoftmax> zeroed = softmaxUnderZeroing(weights);
  if (!zeroed || !zeroed->softmax.getResult().hasOneUse())
    return std::nullopt;
  return zeroed;
}

/// Softmax weights quantized and dequantized on their way to P·V, as
/// ONNX Runtime's quantize_static (QDQ) and ModelOpt's FP8 MHA leave them:
/// `dequantize(quantize(w, s, z), s, z)` with the same scalar constant
/// parameters and flags, each op read once. llm.attention takes the pair as
/// its weights_* attributes. In a 16-bit model the pair works in f32 between
/// two casts (w to f32, the result back to w's type), and its scale is a
/// cast of a 16-bit constant.
struct WeightsQuant {
  Value weights;
  double scale = 1.0;
  int64_t zero = 0;
  bool isUnsigned = false, e4m3 = false;
};

std::optional<WeightsQuant> matchWeightsQuant(Value lhs) {
  // The input of a cast from a float type (read once unless `shared`), or
  // the value itself.
  auto castFrom = [](Value value, bool shared = false) -> Value {
    auto cast = value.getDefiningOp<CastOp>();
    if (!cast || (!shared && !cast->hasOneUse()) ||
        !isa<FloatType>(rankedOf(cast.getInput()).getElementType()))
      return value;
    return cast.getInput();
  };
  auto scalarParameter = [&](Value value) {
    return splatConstant(castFrom(value, /*shared=*/true), false);
  };
  if (!lhs.hasOneUse())
    return std::nullopt;
  Value dequantized = castFrom(lhs);
  auto dequantize = dequantized.getDefiningOp<DequantizeOp>();
  auto quantize =
      dequantize ? dequantize.getInput().getDefiningOp<QuantizeOp>() : nullptr;
  if (!quantize || !dequantized.hasOneUse() || !quantize->hasOneUse() ||
      !quantize.getType().getElementType().isInteger(8) ||
      dequantize.getBits() != 8 || dequantize.getBlockSize() != 0 ||
      quantize.getIsUnsigned() != dequantize.getIsUnsigned() ||
      quantize.getE4m3() != dequantize.getE4m3())
    return std::nullopt;
  Value weights = quantize.getInput();
  if (weights.getType() != lhs.getType())
    weights = castFrom(weights);
  if (weights.getType() != lhs.getType())
    return std::nullopt;
  std::optional<double> scale = scalarParameter(quantize.getScale());
  if (!scale || scalarParameter(dequantize.getScale()) != scale ||
      !std::isfinite(*scale) || *scale <= 0.0 ||
      static_cast<double>(static_cast<float>(*scale)) != *scale)
    return std::nullopt;
  WeightsQuant result;
  auto zeroOf = [&](Value zero) -> std::optional<int64_t> {
    if (!zero)
      return 0;
    std::optional<double> value = splatConstant(zero, true);
    if (!value)
      return std::nullopt;
    auto bits = static_cast<int64_t>(*value);
    return quantize.getIsUnsigned() ? bits & 0xFF : bits;
  };
  std::optional<int64_t> zero = zeroOf(quantize.getZeroPoint());
  if (!zero || zeroOf(dequantize.getZeroPoint()) != zero)
    return std::nullopt;
  result.weights = weights;
  result.scale = *scale;
  result.zero = *zero;
  result.isUnsigned = quantize.getIsUnsigned();
  result.e4m3 = quantize.getE4m3();
  return result;
}

/// The [H] sink operand of what matchSinkColumn matched.
Value buildSink(PatternRewriter &rewriter, Location loc, const SinkColumn &sink,
                Type element, int64_t heads) {
  auto type = RankedTensorType::get({heads}, element);
  if (sink.source)
    return sink.source.getType() == type
               ? sink.source
               : ReshapeOp::create(rewriter, loc, type, sink.source)
                     .getResult();
  SmallVector<Attribute> values;
  for (double x : sink.values)
    values.push_back(FloatAttr::get(element, x));
  return ConstantOp::create(rewriter, loc, type,
                            DenseElementsAttr::get(type, values));
}

/// The key as matched: `base` in [B..., Hkv, Sk, D] layout once `permutation`
/// (if any) is applied.
struct KeyOperand {
  Value base;
  SmallVector<int64_t> permutation;
};

/// Rewrites `matmul(softmax(mask(scale(matmul(q, k^T)))), v)`; the class
/// comment of the pass lists the forms. Matching builds nothing; the rewrite
/// starts once every check has passed.
struct FuseAttentionPattern : CountingPattern<MatMulOp> {
  using CountingPattern::CountingPattern;

  LogicalResult matchAndRewrite(MatMulOp output,
                                PatternRewriter &rewriter) const override {
    if (!isPlainProduct(output))
      return rewriter.notifyMatchFailure(output, "not a plain product");
    // The weights, through a quantize/dequantize pair if there is one.
    std::optional<WeightsQuant> weightsQuant =
        matchWeightsQuant(output.getLhs());
    Value weights = weightsQuant ? weightsQuant->weights : output.getLhs();
    auto softmax = weights.getDefiningOp<SoftmaxOp>();
    std::optional<SinkSoftmax> sinkSoftmax;
    if (!softmax && (sinkSoftmax = matchSinkSoftmax(weights)))
      softmax = sinkSoftmax->softmax;
    SoftmaxOp guarded = softmax ? SoftmaxOp() : nanGuardedSoftmax(weights);
    if (guarded)
      softmax = guarded;
    std::optional<ZeroedSoftmax> zeroed;
    if (!softmax && (zeroed = matchZeroedSoftmax(weights)))
      softmax = zeroed->softmax;
    if (!softmax || (!guarded && !softmax.getResult().hasOneUse()))
      return rewriter.notifyMatchFailure(output,
                                         "lhs is no single-use softmax");
    Value masked = sinkSoftmax ? sinkSoftmax->scores : softmax.getInput();
    RankedTensorType scoresType = rankedOf(masked);
    int64_t rank = scoresType.getRank();
    if (rank < 3 || static_cast<int64_t>(softmax.getAxis()) != rank - 1)
      return rewriter.notifyMatchFailure(softmax, "not over the last axis");
    if (!masked.hasOneUse())
      return rewriter.notifyMatchFailure(softmax, "input has other users");

    // A clamp from below at a large negative constant changes only -inf
    // scores: a row that every key hides then gives zeros, as with a large
    // negative fill.
    if (Value clamped = clampedOperand(masked.getDefiningOp()))
      if (clamped.getType() == scoresType && clamped.hasOneUse())
        masked = clamped;

    // A positive scale above a where-mask (GPT-J divides the masked
    // scores): where(c, s, fill) * k is where(c, s * k, fill * k), still a
    // mask while fill * k is large negative.
    double scaleAbove = 1.0;
    {
      double factor = 1.0;
      Value inner = peelScales(masked, factor);
      if (inner != masked && factor > 0.0 && inner.hasOneUse() &&
          isa_and_present<WhereOp>(inner.getDefiningOp())) {
        masked = inner;
        scaleAbove = factor;
      }
    }

    // The mask. Two masks, an additive one inside a where or a where inside
    // an additive one (BLOOM adds ALiBi to the product and then hides keys;
    // GPT-2 hides future keys and then adds the padding), become one
    // additive mask below: `bias` is the additive one then.
    MaskKind maskKind = MaskKind::None;
    Value mask, bias, bias2, scaled = masked;
    // A second mask of the same kind as the first, applied after it.
    std::optional<MaskMatch> second;
    double fill = 0.0;
    Operation *maskOp = masked.getDefiningOp();
    auto isScores = [&](Value value) {
      return static_cast<bool>(scoresMatMul(value));
    };
    auto isAddedScores = [&](Value value) {
      return value.hasOneUse() &&
             matchAddMask(value.getDefiningOp(), scoresType, isScores);
    };
    // Scores with two additive terms (DeBERTa's content-to-position and
    // position-to-content scores): both join the mask.
    auto isTwiceAddedScores = [&](Value value) {
      return value.hasOneUse() &&
             matchAddMask(value.getDefiningOp(), scoresType, isAddedScores);
    };
    auto isHiddenScores = [&](Value value) {
      return value.hasOneUse() &&
             matchWhereMask(value.getDefiningOp(), scoresType, 1.0, isScores);
    };
    // A where-mask under a positive scale (GPT-J and CodeGen divide the
    // hidden scores and then add the padding): `factor` gets the scale.
    auto hiddenUnderScale = [&](Value value, double &factor) {
      factor = 1.0;
      Value inner = peelScales(value, factor);
      if (inner == value || factor <= 0.0 || !inner.hasOneUse())
        return std::optional<MaskMatch>();
      return matchWhereMask(inner.getDefiningOp(), scoresType, factor,
                            isScores);
    };
    auto isScaledHiddenScores = [&](Value value) {
      double factor;
      return static_cast<bool>(hiddenUnderScale(value, factor));
    };
    // An additive mask under a positive scale (Falcon's ALiBi path scales
    // scores + alibi, then adds the mask): (s + b) * k is s * k + b * k;
    // `factor` gets the scale.
    auto addedUnderScale = [&](Value value, double &factor) {
      factor = 1.0;
      Value inner = peelScales(value, factor);
      if (inner == value || factor <= 0.0 || !inner.hasOneUse())
        return std::optional<MaskMatch>();
      return matchAddMask(inner.getDefiningOp(), scoresType, isScores);
    };
    auto isScaledAddedScores = [&](Value value) {
      double factor;
      return static_cast<bool>(addedUnderScale(value, factor));
    };
    // The additive mask found under the scale and that scale, joined to
    // the mask as scaledBias * scaledBiasFactor.
    Value scaledBias;
    double scaledBiasFactor = 1.0;
    if (auto add = matchAddMask(maskOp, scoresType, isScores)) {
      std::tie(scaled, mask) = std::pair(add->scores, add->mask);
      maskKind = MaskKind::Additive;
    } else if (auto where =
                   matchWhereMask(maskOp, scoresType, scaleAbove, isScores)) {
      std::tie(scaled, mask, maskKind, fill) =
          std::tuple(where->scores, where->mask, where->kind, where->fill);
    } else if (auto where = matchWhereMask(maskOp, scoresType, scaleAbove,
                                           isAddedScores);
               where && scaleAbove == 1.0) {
      auto add =
          matchAddMask(where->scores.getDefiningOp(), scoresType, isScores);
      std::tie(scaled, mask, maskKind, fill, bias) = std::tuple(
          add->scores, where->mask, where->kind, where->fill, add->mask);
    } else if (auto where = matchWhereMask(maskOp, scoresType, scaleAbove,
                                           isTwiceAddedScores);
               where && scaleAbove == 1.0) {
      auto outer = matchAddMask(where->scores.getDefiningOp(), scoresType,
                                isAddedScores);
      auto inner =
          matchAddMask(outer->scores.getDefiningOp(), scoresType, isScores);
      std::tie(scaled, mask, maskKind, fill, bias, bias2) =
          std::tuple(inner->scores, where->mask, where->kind, where->fill,
                     inner->mask, outer->mask);
    } else if (auto add = matchAddMask(maskOp, scoresType, isHiddenScores)) {
      auto where = matchWhereMask(add->scores.getDefiningOp(), scoresType, 1.0,
                                  isScores);
      std::tie(scaled, mask, maskKind, fill, bias) = std::tuple(
          where->scores, where->mask, where->kind, where->fill, add->mask);
    } else if (auto add =
                   matchAddMask(maskOp, scoresType, isScaledHiddenScores);
               add && scaleAbove == 1.0) {
      // add(where(c, s, fill) * k, m) is where(c, s * k, fill * k) + m.
      auto where = hiddenUnderScale(add->scores, scaleAbove);
      std::tie(scaled, mask, maskKind, fill, bias) =
          std::tuple(where->scores, where->mask, where->kind,
                     where->fill * scaleAbove, add->mask);
    } else if (auto add = matchAddMask(maskOp, scoresType, isScaledAddedScores);
               add && scaleAbove == 1.0) {
      // add((s + b) * k, m) is s * k + (b * k + m).
      auto inner = addedUnderScale(add->scores, scaleAbove);
      std::tie(scaled, mask, maskKind, scaledBias, scaledBiasFactor) =
          std::tuple(inner->scores, add->mask, MaskKind::Additive, inner->mask,
                     scaleAbove);
    } else if (auto outer = matchAddMask(maskOp, scoresType, isAddedScores)) {
      // Two additive masks, add(add(s, m1), m2) (a causal triu and the
      // padding added one after the other): joined below.
      auto inner =
          matchAddMask(outer->scores.getDefiningOp(), scoresType, isScores);
      std::tie(scaled, mask, maskKind, second) =
          std::tuple(inner->scores, inner->mask, MaskKind::Additive, *outer);
    } else if (auto outer = matchWhereMask(maskOp, scoresType, scaleAbove,
                                           isHiddenScores);
               outer && scaleAbove == 1.0) {
      // Two where-masks, where(c2, fill, where(c1, fill, s)) (masked_fill
      // of the padding, then of the future): joined below.
      auto inner = matchWhereMask(outer->scores.getDefiningOp(), scoresType,
                                  1.0, isScores);
      std::tie(scaled, mask, maskKind, fill, second) = std::tuple(
          inner->scores, inner->mask, inner->kind, inner->fill, *outer);
    } else if (double factor; scaleAbove == 1.0) {
      if (auto inner = addedUnderScale(masked, factor)) {
        // (s + b) * k with no mask after it.
        std::tie(scaled, scaledBias, scaledBiasFactor, scaleAbove) =
            std::tuple(inner->scores, inner->mask, factor, factor);
      }
    }
    if (maskOp && maskKind == MaskKind::None &&
        !isa<MatMulOp, MulOp, DivOp>(maskOp))
      return rewriter.notifyMatchFailure(softmax, "unknown op before softmax");
    // The zeroing after the softmax must hide what the where before it
    // hides; a row it hides wholly then gives zeros, so a fill joined with
    // an additive mask becomes -inf (a large finite fill would give the
    // mean of the values).
    if (zeroed) {
      if (second)
        return rewriter.notifyMatchFailure(softmax, "zeroed under two masks");
      Value condition = zeroed->zeroing.getCondition();
      auto negated = condition.getDefiningOp<NotOp>();
      bool same = (maskKind == MaskKind::Hide && condition == mask) ||
                  (maskKind == MaskKind::Attend && negated &&
                   negated.getInput() == mask);
      if (!same)
        return rewriter.notifyMatchFailure(
            softmax, "zeroes other weights than its mask hides");
      fill = -std::numeric_limits<double>::infinity();
    }

    // The scale, a softcap and the scores. A scale above the mask was taken
    // only over a where, which either matched as the mask or failed the
    // match above.
    double scale = scaleAbove, softcap = 0.0;
    Value scores = peelScaledScores(scaled, scale, softcap);
    MatMulOp product = scoresMatMul(scores);
    if (!product || scores.getType() != scoresType || !scores.hasOneUse())
      return rewriter.notifyMatchFailure(softmax,
                                         "no single-use q x k^T product");
    if (product.getTransposeLhs() || product.getResidual() ||
        product.getActivation() != Activation::none)
      return rewriter.notifyMatchFailure(product, "unsupported epilogue");
    scale *= product.getScale().convertToDouble();
    if (Value epilogueBias = product.getBias()) {
      if (maskKind != MaskKind::None)
        return rewriter.notifyMatchFailure(product, "bias and another mask");
      mask = epilogueBias;
      maskKind = MaskKind::Additive;
    }

    // Query, key and value.
    Value query = peelScales(product.getLhs(), scale);
    std::optional<ScaledViews> queryViews = matchScaledViews(query);
    if (queryViews)
      scale *= queryViews->factor;
    KeyOperand key = matchKey(product, scale);
    Value value = output.getRhs();
    std::optional<RepeatedHeads> keyRepeat, valueRepeat;
    if (key.permutation.empty()) {
      keyRepeat = matchRepeatedHeads(key.base);
      valueRepeat = matchRepeatedHeads(value);
      if (!keyRepeat || !valueRepeat ||
          keyRepeat->group != valueRepeat->group) {
        keyRepeat.reset();
        valueRepeat.reset();
      }
    }

    // A mask known at compile time may be the causal rule, or nothing.
    // So may a join of the causal rule with a run-time mask: the op then
    // takes the causal flag and the run-time part.
    bool causal = false;
    std::optional<int64_t> window;
    ArrayRef<int64_t> scoresShape = scoresType.getShape();
    int64_t queryLength = scoresShape[rank - 2];
    int64_t keyLength = scoresShape[rank - 1];
    std::optional<CausalRest> causalRest;
    bool staticLengths = !ShapedType::isDynamic(queryLength) &&
                         !ShapedType::isDynamic(keyLength);
    // Of two masks, the one that is the causal rule goes first, to become
    // the flag; two where-masks must say the same (keys that attend, or
    // hidden ones).
    if (second) {
      if (second->kind != maskKind)
        return rewriter.notifyMatchFailure(softmax, "two masks of two kinds");
      if (staticLengths && constantMaskPattern(second->mask, second->kind,
                                               queryLength, keyLength)
                                   .pattern == MaskPattern::Causal) {
        std::swap(mask, second->mask);
        std::swap(fill, second->fill);
      }
      fill = std::min(fill, second->fill);
    }
    if (maskKind != MaskKind::None && staticLengths) {
      MaskClass pattern =
          constantMaskPattern(mask, maskKind, queryLength, keyLength);
      if (pattern.pattern != MaskPattern::Other) {
        causal = pattern.pattern == MaskPattern::Causal;
        window = pattern.window;
        maskKind = MaskKind::None;
        mask = {};
      } else if (auto rest = splitCausal(mask, maskKind, queryLength, keyLength,
                                         /*rewriter=*/nullptr);
                 succeeded(rest)) {
        causal = true;
        window = rest->window;
        causalRest = *rest;
      }
    }

    // An additive mask joined with a where-mask may be the causal rule
    // itself (the padding filled, then a triu of finfo.min added): the flag.
    if (bias && !bias2 && staticLengths && !causal) {
      MaskClass pattern =
          constantMaskPattern(bias, MaskKind::Additive, queryLength, keyLength);
      if (pattern.pattern == MaskPattern::Causal) {
        causal = true;
        window = pattern.window;
        bias = {};
      }
    }

    // The second mask: the only one once the first is the causal rule;
    // else an additive one joins as a sum (below), and a where-mask's
    // condition by `or` (hidden keys) or `and` (keys that attend).
    Value secondCondition;
    if (second && !mask) {
      mask = second->mask;
      maskKind = second->kind;
    } else if (second && maskKind == MaskKind::Additive) {
      scaledBias = second->mask;
    } else if (second) {
      if (causalRest)
        return rewriter.notifyMatchFailure(softmax,
                                           "two where-masks and a causal part");
      secondCondition = second->mask;
    }
    // Two masks become one additive mask: where(c, bias, fill) for a
    // condition c of keys that attend (bias and fill swapped for hidden
    // keys), or the bias alone once c is the causal rule or nothing; an
    // additive mask from under the scale joins by a sum, two where-masks'
    // conditions by `or` or `and`. The join broadcasts to the scores at
    // most, and may be larger than either part (a [1, H, T, S] relative
    // bias and the padding [B, 1, 1, S] make [B, H, T, S]): the op reads it
    // once where the unfused chain writes and reads scores of that size
    // several times (on the GPU emulator, B 2, H 4, T = S = 128: 10 -> 4
    // launches, 8.9 -> 5.4 MB read, 2.75 -> 1.18 MB written). When the
    // condition is the run-time part of a causal mask, which usually
    // repeats one row for every query (the padding), NarrowMaskRowsPattern
    // rebuilds the joined mask with one row (Falcon's ALiBi and the 4.36
    // mask converter's [B, 1, T, S] padding).
    RankedTensorType maskType = causalRest ? causalRest->type
                                : mask     ? rankedOf(mask)
                                           : RankedTensorType();
    for (Value join : {bias, bias2, scaledBias, secondCondition}) {
      if (!join)
        continue;
      RankedTensorType joinType = rankedOf(join);
      if (maskType) {
        auto shape = broadcastShapes(maskType.getShape(), joinType.getShape());
        if (failed(shape) || !maskType.hasStaticShape() ||
            !joinType.hasStaticShape())
          return rewriter.notifyMatchFailure(
              output, "masks of dynamic or incompatible shapes");
        maskType = joinType.clone(*shape);
      } else {
        maskType = joinType;
      }
    }

    // The op's shape rules on what was matched, with the chain's result.
    auto typeAfter = [&](const KeyOperand &operand) {
      RankedTensorType type = rankedOf(operand.base);
      if (operand.permutation.empty())
        return type;
      SmallVector<int64_t> shape;
      for (int64_t dim : operand.permutation)
        shape.push_back(type.getDimSize(dim));
      return type.clone(shape);
    };
    auto unrepeatedType = [](const RepeatedHeads &repeat) {
      RankedTensorType type = rankedOf(repeat.unit);
      SmallVector<int64_t> shape(type.getShape());
      shape.erase(shape.end() - 3);
      return type.clone(shape);
    };
    RankedTensorType keyType =
        keyRepeat ? unrepeatedType(*keyRepeat) : typeAfter(key);
    RankedTensorType valueType =
        valueRepeat ? unrepeatedType(*valueRepeat) : rankedOf(value);
    FailureOr<RankedTensorType> resultType = inferAttentionType(
        std::nullopt, rankedOf(query), keyType, valueType, maskType);
    if (failed(resultType) || *resultType != output.getType())
      return rewriter.notifyMatchFailure(output,
                                         "shapes break llm.attention's rules");

    // Rewrite.
    Location loc = rewriter.getFusedLoc(
        {product.getLoc(), softmax.getLoc(), output.getLoc()});
    rewriter.setInsertionPoint(output);
    if (queryViews)
      query = rebuildViews(rewriter, *queryViews);
    Value keyOperand =
        keyRepeat ? unrepeated(rewriter, loc, *keyRepeat)
        : key.permutation.empty()
            ? key.base
            : TransposeOp::create(rewriter, loc, key.base, key.permutation)
                  .getResult();
    Value valueOperand =
        valueRepeat ? unrepeated(rewriter, loc, *valueRepeat) : value;
    if (causalRest)
      mask =
          splitCausal(mask, maskKind, queryLength, keyLength, &rewriter)->value;
    if (secondCondition)
      mask = maskKind == MaskKind::Hide
                 ? OrOp::create(rewriter, loc, maskType, mask, secondCondition)
                       .getResult()
                 : AndOp::create(rewriter, loc, maskType, mask, secondCondition)
                       .getResult();
    if (bias2) {
      RankedTensorType type = rankedOf(bias).clone(*broadcastShapes(
          rankedOf(bias).getShape(), rankedOf(bias2).getShape()));
      bias = AddOp::create(rewriter, loc, type, bias, bias2);
    }
    if (bias) {
      if (mask) {
        Value fillValue =
            floatScalar(rewriter, loc, rankedOf(bias).getElementType(), fill);
        mask = maskKind == MaskKind::Attend
                   ? WhereOp::create(rewriter, loc, mask, bias, fillValue)
                   : WhereOp::create(rewriter, loc, mask, fillValue, bias);
      } else {
        mask = bias;
      }
      maskKind = MaskKind::Additive;
    }
    if (scaledBias) {
      Value added = scaledBias;
      if (scaledBiasFactor != 1.0)
        added = MulOp::create(rewriter, loc, added.getType(), added,
                              floatScalar(rewriter, loc,
                                          rankedOf(added).getElementType(),
                                          scaledBiasFactor));
      mask =
          mask ? AddOp::create(rewriter, loc, maskType, mask, added).getResult()
               : added;
      maskKind = MaskKind::Additive;
    }
    if (maskKind == MaskKind::Hide)
      mask = NotOp::create(rewriter, loc, mask.getType(), mask);
    Value sink = sinkSoftmax ? buildSink(rewriter, loc, sinkSoftmax->sink,
                                         scoresType.getElementType(),
                                         scoresType.getDimSize(rank - 3))
                             : Value();
    auto attention = AttentionOp::create(
        rewriter, loc, output.getType(), query, keyOperand, valueOperand, mask,
        sink, rewriter.getF32FloatAttr(scale), rewriter.getBoolAttr(causal),
        window ? rewriter.getI64IntegerAttr(*window) : IntegerAttr(),
        softcap > 0.0 ? rewriter.getF32FloatAttr(softcap) : FloatAttr(),
        weightsQuant ? rewriter.getF32FloatAttr(weightsQuant->scale)
                     : FloatAttr(),
        rewriter.getI64IntegerAttr(weightsQuant ? weightsQuant->zero : 0),
        weightsQuant && weightsQuant->isUnsigned ? rewriter.getUnitAttr()
                                                 : UnitAttr(),
        weightsQuant && weightsQuant->e4m3 ? rewriter.getUnitAttr()
                                           : UnitAttr());

    // The chain, every op of it read once, is dead now; so are the scales,
    // transposes and repeats of q, k and v that nothing else reads. The
    // greedy driver erases them.
    rewriter.replaceOp(output, attention.getResult());
    ++count;
    return success();
  }

private:
  /// The q x k^T product `scores` comes from, through scales, if any.
  static MatMulOp scoresMatMul(Value scores) {
    double ignored = 1.0, softcap = 0.0;
    return peelScaledScores(scores, ignored, softcap).getDefiningOp<MatMulOp>();
  }

  /// The key of `product` in [B..., Hkv, Sk, D] layout: its rhs with
  /// `transpose_rhs`, else the rhs transposed back, through a transpose that
  /// produced it when there is one (a new permutation, or none at all).
  static KeyOperand matchKey(MatMulOp product, double &scale) {
    Value rhs = peelScales(product.getRhs(), scale);
    if (product.getTransposeRhs())
      return {rhs, {}};
    int64_t rank = rankedOf(rhs).getRank();
    SmallVector<int64_t> swap = llvm::to_vector(llvm::seq<int64_t>(0, rank));
    std::swap(swap[rank - 1], swap[rank - 2]);
    auto transpose = rhs.getDefiningOp<TransposeOp>();
    if (!transpose)
      return {rhs, swap};
    // key = transpose(input, p) with the last two dims of p swapped.
    SmallVector<int64_t> permutation(transpose.getPermutation());
    std::swap(permutation[rank - 1], permutation[rank - 2]);
    Value input = peelScales(transpose.getInput(), scale);
    if (llvm::equal(permutation, llvm::seq<int64_t>(0, rank)))
      return {input, {}};
    return {input, permutation};
  }
};

/// The ops between scores reshaped after their product and the softmax, as
/// the lift patterns below see them: single-use elementwise ops of the
/// scores' type that FuseAttentionPattern steps over (a mask, a scale, a
/// clamp), each with the operand index of the scores, from the softmax's
/// input upwards; and the reshape at the top.
struct ScoresChain {
  SmallVector<std::pair<Operation *, unsigned>> ops;
  ReshapeOp split;
};

/// The single-use q x k^T product (k^T by `transpose_rhs` or not, no other
/// epilogue) of `type` that defines `scores`, or null.
MatMulOp scoresProduct(Value scores, RankedTensorType type) {
  auto product = scores.getDefiningOp<MatMulOp>();
  if (!product || !product.getResult().hasOneUse() ||
      product.getType() != type || product.getTransposeLhs() ||
      product.hasEpilogue())
    return {};
  return product;
}

FailureOr<ScoresChain> matchScoresChain(Value end) {
  auto type = dyn_cast<RankedTensorType>(end.getType());
  auto stepsOver = isScoresStep;
  // Whether `value` is a split of a product, or chain ops over one: tells
  // the scores from a mask of their type beside them (Swin's, merged by
  // MergeSplitBatchMaskPattern, is a reshape too).
  std::function<bool(Value, int)> reachesSplit = [&](Value value, int depth) {
    Operation *op = value.getDefiningOp();
    if (auto reshape = dyn_cast_if_present<ReshapeOp>(op))
      return leadsToProduct(reshape.getInput(), depth);
    if (depth == 0 || !stepsOver(op))
      return false;
    return llvm::any_of(op->getOperands(), [&](Value operand) {
      return operand.getType() == type && reachesSplit(operand, depth - 1);
    });
  };
  ScoresChain chain;
  Value value = end;
  for (int step = 0; step < 10; ++step) {
    if (!value.hasOneUse())
      return failure();
    Operation *op = value.getDefiningOp();
    if (auto reshape = dyn_cast_if_present<ReshapeOp>(op)) {
      chain.split = reshape;
      return chain;
    }
    if (!stepsOver(op))
      return failure();
    SmallVector<unsigned> candidates;
    for (OpOperand &operand : op->getOpOperands()) {
      Operation *producer = operand.get().getDefiningOp();
      if (operand.get().getType() == type &&
          (isa_and_present<ReshapeOp>(producer) || stepsOver(producer)))
        candidates.push_back(operand.getOperandNumber());
    }
    if (candidates.size() > 1)
      llvm::erase_if(candidates, [&](unsigned index) {
        return !reachesSplit(op->getOperand(index), 10 - step);
      });
    if (candidates.size() != 1)
      return failure(); // None, or no telling the scores apart.
    chain.ops.push_back({op, candidates.front()});
    value = op->getOperand(candidates.front());
  }
  return failure();
}

/// Attention over heads merged into the batch, as OPT writes it with bmm:
///   s = matmul(q, k^T) : [B*H, T, S]        q, k, v : [B*H, ., D]
///   p = softmax(reshape(chain(reshape(s) : [B, H, T, S])) : [B*H, T, S])
///   o = matmul(p, v)
/// where `chain` (the mask, the scale, a clamp) runs on the split [B, H]
/// batch. BLOOM's form also has the softmax on the split batch
/// (`p = reshape(softmax(chain(...)))`) and adds or scales before the split
/// (baddbmm's ALiBi [B*H, 1, S]). The products and the softmax move into
/// the split batch: q, k and v are reshaped to [B, H, ., D] (folding into
/// the reshapes that merged them), the ops before the split get their other
/// operand reshaped alike, and o is the 4-D product reshaped back, so
/// FuseAttentionPattern sees the chain it fuses. Every intermediate must
/// have one user; the product of the batch dims is unchanged, so the
/// rewrite is exact.
struct LiftMergedHeadsPattern : OpRewritePattern<MatMulOp> {
  using OpRewritePattern<MatMulOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp output,
                                PatternRewriter &rewriter) const override {
    if (!isPlainProduct(output) || !output.getLhs().hasOneUse())
      return failure();
    // softmax(merge(x)) or merge(softmax(x)), x on the split batch.
    Operation *last = output.getLhs().getDefiningOp();
    auto softmax = dyn_cast_if_present<SoftmaxOp>(last);
    auto merge = dyn_cast_if_present<ReshapeOp>(last);
    bool splitSoftmax = static_cast<bool>(merge);
    // The split softmax's weights, zeroed after it (matchZeroedSoftmax).
    std::optional<ZeroedSoftmax> zeroed;
    if (softmax) {
      merge = softmax.getInput().getDefiningOp<ReshapeOp>();
    } else if (merge) {
      softmax = merge.getInput().getDefiningOp<SoftmaxOp>();
      if (!softmax && (zeroed = matchZeroedSoftmax(merge.getInput())))
        softmax = zeroed->softmax;
    }
    if (!softmax || !merge || !softmax.getResult().hasOneUse() ||
        !merge.getResult().hasOneUse())
      return failure();
    Value chainEnd = splitSoftmax ? softmax.getInput() : merge.getInput();
    RankedTensorType mergedType = merge.getType();
    RankedTensorType splitType = merge.getInput().getType();
    int64_t splitRank = splitType.getRank();
    if (mergedType.getRank() != 3 || splitRank < 4 ||
        !splitType.hasStaticShape() ||
        static_cast<int64_t>(softmax.getAxis()) !=
            (splitSoftmax ? splitRank - 1 : 2) ||
        mergedType.getShape().take_back(2) != splitType.getShape().take_back(2))
      return rewriter.notifyMatchFailure(output, "not a merged batch");
    ArrayRef<int64_t> batch = splitType.getShape().drop_back(2);

    FailureOr<ScoresChain> chain = matchScoresChain(chainEnd);
    if (failed(chain) || chain->split.getType() != splitType)
      return rewriter.notifyMatchFailure(output, "no split of the scores");
    ReshapeOp split = chain->split;
    // A unit dim merged away over the product itself is GPT-BigCode's
    // decode step (one row), LiftRowFoldedHeadsPattern's form. (It is also
    // one head merged into the batch: either reading is exact. With ops
    // before the split or weights zeroed after the softmax, which that
    // pattern does not take, one head is the reading taken here.)
    if (splitSoftmax && batch.back() == 1 && !zeroed &&
        scoresProduct(split.getInput(), mergedType))
      return rewriter.notifyMatchFailure(output, "a unit dim merged");

    // Elementwise ops between the product and the split: each reads the
    // scores once and one other operand, which splits like the scores (its
    // first dim is B*H of three) or broadcasts over the batch as it is.
    auto splitOperand = [&](Value value) -> RankedTensorType {
      auto type = dyn_cast<RankedTensorType>(value.getType());
      if (!type || type.getRank() != 3 || !type.hasStaticShape() ||
          type.getDimSize(0) != mergedType.getDimSize(0))
        return {};
      SmallVector<int64_t> shape(batch);
      llvm::append_range(shape, type.getShape().drop_front());
      return type.clone(shape);
    };
    SmallVector<std::pair<Operation *, unsigned>> beforeSplit;
    Value top = split.getInput();
    // Whether `value` is the product, or single-use elementwise ops over it
    // (told apart from an operand of the same type beside it, such as
    // DeBERTa's relative-position scores).
    std::function<bool(Value, int)> reachesProduct = [&](Value value,
                                                         int depth) {
      if (scoresProduct(value, mergedType))
        return true;
      Operation *op = value.getDefiningOp();
      if (depth == 0 || !isa_and_present<AddOp, MulOp, DivOp>(op) ||
          !value.hasOneUse())
        return false;
      return llvm::any_of(op->getOperands(), [&](Value operand) {
        return operand.getType() == mergedType &&
               reachesProduct(operand, depth - 1);
      });
    };
    for (int step = 0; step < 4 && !top.getDefiningOp<MatMulOp>(); ++step) {
      Operation *op = top.getDefiningOp();
      if (!isa_and_present<AddOp, MulOp, DivOp>(op) || !top.hasOneUse())
        return rewriter.notifyMatchFailure(output, "an unknown op on scores");
      SmallVector<unsigned> candidates;
      for (unsigned index : {0u, 1u}) {
        Value other = op->getOperand(1 - index);
        auto otherType = cast<RankedTensorType>(other.getType());
        bool splits = otherType.getRank() < 3 ||
                      (otherType.getRank() == 3 &&
                       (otherType.getDimSize(0) == 1 || splitOperand(other)));
        if (op->getOperand(index).getType() == mergedType && splits &&
            !(isa<DivOp>(op) && index == 1))
          candidates.push_back(index);
      }
      if (candidates.size() == 2)
        llvm::erase_if(candidates, [&](unsigned index) {
          return !reachesProduct(op->getOperand(index), 4 - step);
        });
      if (candidates.size() > 1)
        return rewriter.notifyMatchFailure(output, "two scores operands");
      if (candidates.empty())
        return rewriter.notifyMatchFailure(output, "no scores operand");
      beforeSplit.push_back({op, candidates.front()});
      top = op->getOperand(candidates.front());
    }
    MatMulOp scores = scoresProduct(top, mergedType);
    if (!scores)
      return rewriter.notifyMatchFailure(output, "no plain q x k^T product");

    // q, k and v: 3-D with the merged batch.
    RankedTensorType queryType = splitOperand(scores.getLhs());
    RankedTensorType keyType = splitOperand(scores.getRhs());
    RankedTensorType valueType = splitOperand(output.getRhs());
    if (!queryType || !keyType || !valueType)
      return rewriter.notifyMatchFailure(output,
                                         "q, k or v is not [B*H, ., D]");

    Location loc = output.getLoc();
    rewriter.setInsertionPoint(scores);
    auto query = ReshapeOp::create(rewriter, loc, queryType, scores.getLhs());
    auto key = ReshapeOp::create(rewriter, loc, keyType, scores.getRhs());
    Value lifted = cloneWith(rewriter, scores, {query, key}, splitType);
    rewriter.setInsertionPoint(split);
    for (auto [op, index] : llvm::reverse(beforeSplit)) {
      SmallVector<Value> operands(op->getOperands());
      operands[index] = lifted;
      if (RankedTensorType type = splitOperand(operands[1 - index]))
        operands[1 - index] =
            ReshapeOp::create(rewriter, loc, type, operands[1 - index]);
      lifted = cloneWith(rewriter, op, operands, splitType);
    }
    rewriter.replaceOp(split, lifted);

    rewriter.setInsertionPoint(output);
    Value probabilities =
        zeroed ? zeroed->zeroing.getResult()
        : splitSoftmax
            ? softmax.getResult()
            : SoftmaxOp::create(
                  rewriter, softmax.getLoc(), splitType, merge.getInput(),
                  rewriter.getI64IntegerAttr(splitType.getRank() - 1))
                  .getResult();
    auto value = ReshapeOp::create(rewriter, loc, valueType, output.getRhs());
    SmallVector<int64_t> resultShape(batch);
    llvm::append_range(resultShape, output.getType().getShape().drop_front());
    Value result = cloneWith(rewriter, output, {probabilities, value},
                             output.getType().clone(resultShape));
    rewriter.replaceOpWithNewOp<ReshapeOp>(output, output.getType(), result);
    return success();
  }
};

/// Multi-query attention with the heads folded into the query rows, as
/// GPT-BigCode (StarCoder) writes it:
///   s = matmul(q, k^T) : [B, T*H, S]    q : [B, T*H, D], k, v : [B, S, D]
///   p = reshape(softmax(chain(reshape(s) : [B, T, H, S]))) : [B, T*H, S]
///   o = matmul(p, v)
/// Rewritten with the heads before the rows, as FuseAttentionPattern fuses
/// it: q becomes [B, H, T, D] (a reshape and a transpose), k and v one
/// head [B, 1, S, D], the chain runs on [B, H, T, S] with its other operands
/// (the mask, constants) transposed alike, and o is transposed back and
/// reshaped. A mask [B, T, 1, S] becomes [B, 1, T, S]: no operand grows.
struct LiftRowFoldedHeadsPattern : OpRewritePattern<MatMulOp> {
  using OpRewritePattern<MatMulOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(MatMulOp output,
                                PatternRewriter &rewriter) const override {
    if (!isPlainProduct(output))
      return failure();
    auto merge = output.getLhs().getDefiningOp<ReshapeOp>();
    if (!merge || !merge.getResult().hasOneUse())
      return failure();
    auto softmax = merge.getInput().getDefiningOp<SoftmaxOp>();
    if (!softmax || !softmax.getResult().hasOneUse())
      return failure();
    // [B..., T, H, S] -> [B..., T*H, S].
    RankedTensorType splitType = softmax.getType();
    RankedTensorType mergedType = merge.getType();
    int64_t rank = splitType.getRank();
    if (rank < 4 || mergedType.getRank() != rank - 1 ||
        !splitType.hasStaticShape() ||
        static_cast<int64_t>(softmax.getAxis()) != rank - 1)
      return failure();
    ArrayRef<int64_t> split = splitType.getShape();
    ArrayRef<int64_t> batch = split.drop_back(3);
    int64_t rows = split[rank - 3], heads = split[rank - 2],
            keys = split[rank - 1];
    if (mergedType.getShape().drop_back(2) != batch ||
        mergedType.getDimSize(rank - 3) != rows * heads ||
        mergedType.getDimSize(rank - 2) != keys || heads == 1)
      return rewriter.notifyMatchFailure(output, "not heads folded in rows");

    FailureOr<ScoresChain> chain = matchScoresChain(softmax.getInput());
    if (failed(chain) || chain->split.getType() != splitType)
      return rewriter.notifyMatchFailure(output, "no split of the scores");
    MatMulOp scores = scoresProduct(chain->split.getInput(), mergedType);
    if (!scores)
      return rewriter.notifyMatchFailure(output, "no plain q x k^T product");
    // q [B..., T*H, D]; k and v shared by the heads, [B..., S, D].
    auto staticRank = [&](Value value) -> RankedTensorType {
      auto type = dyn_cast<RankedTensorType>(value.getType());
      if (!type || type.getRank() != rank - 1 || !type.hasStaticShape() ||
          type.getShape().drop_back(2) != batch)
        return {};
      return type;
    };
    RankedTensorType queryType = staticRank(scores.getLhs());
    RankedTensorType keyType = staticRank(scores.getRhs());
    RankedTensorType valueType = staticRank(output.getRhs());
    if (!queryType || !keyType || !valueType)
      return rewriter.notifyMatchFailure(output, "q, k or v is not 3-D");

    // [..., a, b, c] -> [..., b, a, c], and shapes with one more dim.
    SmallVector<int64_t> swap = llvm::to_vector(llvm::seq<int64_t>(0, rank));
    std::swap(swap[rank - 3], swap[rank - 2]);
    auto shapeOf = [&](ArrayRef<int64_t> tail) {
      SmallVector<int64_t> shape(batch);
      llvm::append_range(shape, tail);
      return shape;
    };
    Location loc = output.getLoc();
    // An operand of the chain in the new layout: broadcast dims made
    // explicit as 1s, then dims -3 and -2 swapped (a reshape when one is 1).
    auto toHeadsFirst = [&](Value value) -> Value {
      auto type = cast<RankedTensorType>(value.getType());
      if (type.getRank() < 2)
        return value;
      SmallVector<int64_t> shape(rank - type.getRank(), 1);
      llvm::append_range(shape, type.getShape());
      SmallVector<int64_t> swapped(shape);
      std::swap(swapped[rank - 3], swapped[rank - 2]);
      if (shape[rank - 3] == 1 || shape[rank - 2] == 1)
        return ReshapeOp::create(rewriter, loc, type.clone(swapped), value);
      Value full = ReshapeOp::create(rewriter, loc, type.clone(shape), value);
      return TransposeOp::create(rewriter, loc, full, swap);
    };

    rewriter.setInsertionPoint(scores);
    int64_t headDim = queryType.getDimSize(rank - 2);
    Value query = ReshapeOp::create(
        rewriter, loc, queryType.clone(shapeOf({rows, heads, headDim})),
        scores.getLhs());
    query = TransposeOp::create(rewriter, loc, query, swap);
    auto oneHead = [&](Value value, RankedTensorType type) -> Value {
      ArrayRef<int64_t> tail = type.getShape().take_back(2);
      return ReshapeOp::create(
          rewriter, loc, type.clone(shapeOf({1, tail[0], tail[1]})), value);
    };
    RankedTensorType headsType = splitType.clone(shapeOf({heads, rows, keys}));
    Value key = oneHead(scores.getRhs(), keyType);
    // The product and the chain, from the product down, in the new layout.
    Value current = cloneWith(rewriter, scores, {query, key}, headsType);
    for (auto [op, index] : llvm::reverse(chain->ops)) {
      rewriter.setInsertionPoint(op);
      SmallVector<Value> operands;
      for (OpOperand &operand : op->getOpOperands())
        operands.push_back(operand.getOperandNumber() == index
                               ? current
                               : toHeadsFirst(operand.get()));
      current = cloneWith(rewriter, op, operands, headsType);
    }

    rewriter.setInsertionPoint(output);
    auto probabilities =
        SoftmaxOp::create(rewriter, softmax.getLoc(), headsType, current,
                          rewriter.getI64IntegerAttr(rank - 1));
    Value value = oneHead(output.getRhs(), valueType);
    int64_t valueDim = valueType.getDimSize(rank - 2);
    Value result =
        cloneWith(rewriter, output, {probabilities, value},
                  output.getType().clone(shapeOf({heads, rows, valueDim})));
    Value rowsFirst = TransposeOp::create(rewriter, loc, result, swap);
    rewriter.replaceOpWithNewOp<ReshapeOp>(output, output.getType(), rowsFirst);
    // The old chain is dead from its softmax up; the greedy driver erases it.
    return success();
  }
};

/// Whether `value` reaches a softmax through single-use ops of a scores
/// chain (what matchScoresChain steps over).
bool feedsSoftmax(Value value) {
  for (int step = 0; step < 10; ++step) {
    if (!value.hasOneUse())
      return false;
    Operation *user = *value.getUsers().begin();
    if (isa<SoftmaxOp>(user))
      return true;
    if (!isScoresStep(user))
      return false;
    value = user->getResult(0);
  }
  return false;
}

/// Three or more masks applied one after the other on the scores, as a
/// layer writes a bias, the causal rule and the padding each in its own
/// step (an add, or a where with a fill <= -1e4), perhaps with constant
/// positive scales between them:
///   softmax(mask3(mask2(mask1(s) * k)))
/// become one additive mask, the sum of the parts, a where-mask's part
/// `where(c, fill, 0)` (`where(c, 0, fill)` for one that keeps the scores
/// where c holds), each scaled by the scales above it:
///   softmax(s * k + (m1 * k + m2 + m3))
/// FuseAttentionPattern joins two masks; the sum is one it splits the
/// causal rule off (splitCausal). A where-mask's part adds fill to a hidden
/// key's score instead of replacing it: a large negative either way, which
/// the softmax gives no weight (a row every key hides has no defined
/// softmax; llm.attention gives zeros there). With weights zeroed after
/// the softmax (XSoftmax's), the where-mask on top stays, as
/// FuseAttentionPattern matches the zeroing to it, and two or more masks
/// below it join.
struct JoinMasksPattern : OpRewritePattern<SoftmaxOp> {
  using OpRewritePattern<SoftmaxOp>::OpRewritePattern;

  /// One step of the chain, from the top: a mask (the part it adds, or for
  /// a where-mask its condition, fill and which branch the scores take) or
  /// a scale by `factor`; `scores` is the operand below.
  struct Step {
    Operation *op = nullptr;
    Value scores;
    bool scale = false;
    double factor = 1.0;
    Value added;
    Value condition;
    double fill = 0.0;
    bool scoresIfTrue = false;

    static Step on(Operation *op, Value scores) {
      Step step;
      step.op = op;
      step.scores = scores;
      return step;
    }
  };

  static std::optional<Step> matchStep(Value value) {
    Operation *op = value.getDefiningOp();
    RankedTensorType type = rankedOf(value);
    if (!op || !value.hasOneUse())
      return std::nullopt;
    auto isScores = [&](Value scores) {
      return scores.getType() == type && leadsToProduct(scores);
    };
    if (isa<AddOp>(op)) {
      std::optional<Step> match;
      for (unsigned index : {0u, 1u}) {
        Value scores = op->getOperand(index);
        if (!isScores(scores))
          continue;
        if (match)
          return std::nullopt; // No telling the scores apart.
        match = Step::on(op, scores);
        match->added = op->getOperand(1 - index);
      }
      return match;
    }
    double factor = 1.0;
    if (Value scores = peelScale(value, factor)) {
      if (!(factor > 0.0) || !isScores(scores))
        return std::nullopt;
      Step step = Step::on(op, scores);
      step.scale = true;
      step.factor = factor;
      return step;
    }
    std::optional<MaskMatch> where = matchWhereMask(op, type, 1.0, isScores);
    if (!where)
      return std::nullopt;
    Step step = Step::on(op, where->scores);
    step.condition = where->mask;
    step.fill = where->fill;
    step.scoresIfTrue = where->kind == MaskKind::Attend;
    return step;
  }

  LogicalResult matchAndRewrite(SoftmaxOp softmax,
                                PatternRewriter &rewriter) const override {
    Value top = softmax.getInput();
    if (Operation *op = top.getDefiningOp(); op && isClamp(op)) {
      top = clampedOperand(op);
      if (!top.hasOneUse())
        return failure();
    }
    // Weights zeroed after the softmax go with the where-mask on top
    // (FuseAttentionPattern's XSoftmax form): the masks below it join,
    // two or more.
    int needed = 3;
    if (llvm::any_of(softmax->getUsers(),
                     [](Operation *user) { return isa<WhereOp>(user); })) {
      std::optional<Step> where = matchStep(top);
      if (!where || !where->condition)
        return failure();
      top = where->scores;
      needed = 2;
    }
    // The steps from the top down, up to the last mask; the factor of the
    // scales above each.
    SmallVector<std::pair<Step, double>> steps;
    double factor = 1.0;
    int masks = 0;
    for (Value value = top; steps.size() < 12;) {
      std::optional<Step> step = matchStep(value);
      if (!step)
        break;
      if (!step->scale) {
        // A where-mask's fill must stay a large negative once scaled.
        if (step->condition && step->fill * factor > kLargeNegative)
          break;
        ++masks;
      }
      steps.push_back({*step, factor});
      factor *= step->factor;
      value = step->scores;
    }
    while (!steps.empty() && steps.back().first.scale)
      steps.pop_back(); // Scales below every mask stay on the scores.
    if (masks < needed)
      return failure();
    // The parts must broadcast together (they do when each broadcasts to
    // the scores' static shape).
    SmallVector<int64_t> joinedShape;
    for (auto &[step, above] : llvm::reverse(steps)) {
      if (step.scale)
        continue;
      Value part = step.condition ? step.condition : step.added;
      auto shape = broadcastShapes(joinedShape, rankedOf(part).getShape());
      if (failed(shape))
        return rewriter.notifyMatchFailure(softmax, "masks do not broadcast");
      joinedShape = *shape;
    }

    Operation *topOp = top.getDefiningOp();
    Location loc = topOp->getLoc();
    RankedTensorType type = rankedOf(top);
    Type element = type.getElementType();
    rewriter.setInsertionPoint(topOp);
    // The scores with the scales between the masks, bottom up.
    Value scores = steps.back().first.scores;
    for (auto &[step, above] : llvm::reverse(steps))
      if (step.scale) {
        SmallVector<Value> operands(step.op->getOperands());
        llvm::replace(operands, step.scores, scores);
        scores = cloneWith(rewriter, step.op, operands, type);
      }
    // The masks' parts, bottom up, summed.
    Value joined;
    for (auto &[step, above] : llvm::reverse(steps)) {
      if (step.scale)
        continue;
      Value part;
      if (step.condition) {
        Value filled = floatScalar(rewriter, loc, element, step.fill * above);
        Value zero = floatScalar(rewriter, loc, element, 0.0);
        part = WhereOp::create(rewriter, loc, step.condition,
                               step.scoresIfTrue ? zero : filled,
                               step.scoresIfTrue ? filled : zero);
      } else {
        part = step.added;
        if (above != 1.0)
          part = MulOp::create(rewriter, loc, rankedOf(part), part,
                               floatScalar(rewriter, loc, element, above));
      }
      if (!joined) {
        joined = part;
        continue;
      }
      RankedTensorType joinedType = rankedOf(joined);
      auto shape =
          broadcastShapes(joinedType.getShape(), rankedOf(part).getShape());
      joined =
          AddOp::create(rewriter, loc, joinedType.clone(*shape), joined, part);
    }
    rewriter.replaceOpWithNewOp<AddOp>(topOp, type, scores, joined);
    return success();
  }
};

/// A scale per head on the scores, as Swin V2's cosine attention multiplies
/// them by exp(logit_scale) [H, 1, 1]:
///   softmax(chain(matmul(q, k^T) * c))     c : 1 in the last two dims
/// The factor moves onto the queries, matmul(q * c, k^T), exactly: each
/// row of q meets one factor. FuseAttentionPattern takes a constant scalar
/// scale only; this leaves it the plain product. So does a scalar known
/// only at run time. A quotient s / c becomes (q / c) x k^T. Under a
/// constant scalar scale, (s * k) * c becomes (s * c) * k first; over
/// additive terms (biases a merged-heads layer adds before it scales per
/// head), (s + b) * c becomes s * c + b * c first.
template <typename OpTy> struct ScaleQueriesPattern : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    if (!feedsSoftmax(op.getResult()))
      return failure();
    RankedTensorType type = op.getType();
    for (unsigned index : {0u, 1u}) {
      if (isa<DivOp>(op) && index == 1)
        break;
      Value scores = op->getOperand(index);
      Value factor = op->getOperand(1 - index);
      RankedTensorType factorType = rankedOf(factor);
      if (scores.getType() != type || !factorType.hasStaticShape() ||
          factorType.getRank() > type.getRank())
        continue;
      // One factor per row of q; a constant scalar is the attention's
      // scale already.
      ArrayRef<int64_t> shape = factorType.getShape();
      if (llvm::any_of(shape.take_back(2), [](int64_t d) { return d != 1; }) ||
          (factorType.getNumElements() == 1 &&
           succeeded(MaskEvaluator().evaluate(factor))))
        continue;
      // Under a constant scalar scale, (s * k) * c: the factor goes first,
      // (s * c) * k, and moves on from there.
      double unused = 1.0;
      if (Value below = peelScale(scores, unused)) {
        Operation *scale = scores.getDefiningOp();
        rewriter.setInsertionPoint(op);
        Value first = cloneWith(rewriter, op, {below, factor}, type);
        SmallVector<Value> operands(scale->getOperands());
        llvm::replace(operands, below, first);
        rewriter.replaceOp(op, cloneWith(rewriter, scale, operands, type));
        return success();
      }
      // Over additive terms, (s + b) * c (DeBERTa-style biases added before
      // Swin V2's factor per head): the factor goes onto each term,
      // s * c + b * c, and moves on from there.
      if (auto add = scores.getDefiningOp<AddOp>(); add && scores.hasOneUse()) {
        SmallVector<unsigned> terms;
        for (unsigned term : {0u, 1u})
          if (add->getOperand(term).getType() == type &&
              leadsToProduct(add->getOperand(term)))
            terms.push_back(term);
        if (terms.size() != 1)
          continue;
        Value below = add->getOperand(terms.front());
        Value bias = add->getOperand(1 - terms.front());
        auto biasShape =
            broadcastShapes(rankedOf(bias).getShape(), factorType.getShape());
        if (failed(biasShape))
          continue;
        rewriter.setInsertionPoint(op);
        SmallVector<Value> scaledOperands(op->getOperands());
        scaledOperands[index] = below;
        Value scaledScores = cloneWith(rewriter, op, scaledOperands, type);
        scaledOperands[index] = bias;
        Value scaledBias = cloneWith(rewriter, op, scaledOperands,
                                     rankedOf(bias).clone(*biasShape));
        SmallVector<Value> sum(add->getOperands());
        sum[terms.front()] = scaledScores;
        sum[1 - terms.front()] = scaledBias;
        rewriter.replaceOp(op, cloneWith(rewriter, add, sum, type));
        return success();
      }
      auto product = scores.getDefiningOp<MatMulOp>();
      if (!product || !product.getResult().hasOneUse() ||
          product.getTransposeLhs() || product.hasEpilogue())
        continue;
      Value query = product.getLhs();
      RankedTensorType queryType = rankedOf(query);
      auto scaledShape = broadcastShapes(queryType.getShape(), shape);
      if (failed(scaledShape) ||
          scaledShape->size() != static_cast<size_t>(queryType.getRank()))
        continue;
      // At `op`: the factor may be computed after the product.
      rewriter.setInsertionPoint(op);
      Value scaled = cloneWith(rewriter, op, {query, factor},
                               queryType.clone(*scaledShape));
      rewriter.replaceOp(
          op, cloneWith(rewriter, product, {scaled, product.getRhs()}, type));
      return success();
    }
    return rewriter.notifyMatchFailure(op, "no product scaled per head");
  }
};

/// A mask added on a view of the scores that splits their batch, as Swin
/// adds its shifted-window mask, one per window and shared by the images:
///   s : [N*W, H, T, S] (or any shape of as many elements: [N*W*H, T, S])
///   softmax(reshape(add(reshape(s) : [N, W, H, T, S], m)) : [N*W, H, T, S])
/// with m broadcasting into [N, W, H, T, S] (Swin's is [1, W, 1, T, S]).
/// The add moves onto the merged batch, m broadcast over its first two dims
/// (unless both are 1) and merged like the scores:
///   softmax(add(s, m') : [N*W, H, T, S]),  m' : [N*W, 1, T, S]
/// so the chain is one FuseAttentionPattern reads. The broadcast holds m N
/// times, at most the scores' size, and folds when m is a small constant.
/// Shapes must be static.
struct MergeSplitBatchMaskPattern : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern<ReshapeOp>::OpRewritePattern;

  LogicalResult matchAndRewrite(ReshapeOp merge,
                                PatternRewriter &rewriter) const override {
    auto add = merge.getInput().getDefiningOp<AddOp>();
    if (!add || !add.getResult().hasOneUse() || !feedsSoftmax(merge))
      return failure();
    RankedTensorType mergedType = merge.getType();
    RankedTensorType splitType = add.getType();
    if (!mergedType.hasStaticShape() || !splitType.hasStaticShape() ||
        mergedType.getRank() < 3 ||
        splitType.getRank() != mergedType.getRank() + 1)
      return failure();
    ArrayRef<int64_t> split = splitType.getShape();
    if (split[0] * split[1] != mergedType.getDimSize(0) ||
        split.drop_front(2) != mergedType.getShape().drop_front())
      return rewriter.notifyMatchFailure(merge, "not a split of the batch");
    for (unsigned index : {0u, 1u}) {
      auto view = add->getOperand(index).getDefiningOp<ReshapeOp>();
      Value mask = add->getOperand(1 - index);
      auto maskType = dyn_cast<RankedTensorType>(mask.getType());
      if (!view || view.getType() != splitType ||
          !view.getResult().hasOneUse() || !maskType ||
          !maskType.hasStaticShape() ||
          maskType.getRank() > splitType.getRank())
        continue;
      // m with its broadcast dims made explicit, then its first two dims
      // (N and W, or 1s) merged.
      SmallVector<int64_t> padded(splitType.getRank() - maskType.getRank(), 1);
      llvm::append_range(padded, maskType.getShape());
      SmallVector<int64_t> full = padded;
      if (padded[0] != 1 || padded[1] != 1)
        full[0] = split[0], full[1] = split[1];
      SmallVector<int64_t> flat{full[0] * full[1]};
      llvm::append_range(flat, ArrayRef(full).drop_front(2));
      Location loc = merge.getLoc();
      rewriter.setInsertionPoint(merge);
      Value value = mask;
      if (full != padded)
        value = ExpandOp::create(rewriter, loc, maskType.clone(full), value);
      value = ReshapeOp::create(rewriter, loc, maskType.clone(flat), value);
      // The scores as merged (a reshape that folds into the view's source).
      Value scores = view.getInput();
      if (scores.getType() != mergedType)
        scores = ReshapeOp::create(rewriter, loc, mergedType, scores);
      rewriter.replaceOpWithNewOp<AddOp>(merge, mergedType, scores, value);
      return success();
    }
    return rewriter.notifyMatchFailure(merge, "no split scores beside a mask");
  }
};

/// An llm.attention whose mask is known at compile time to be the causal
/// rule (with a window, if any) or nothing, or to join it with a run-time
/// mask, as an importer of a fused attention op writes it from a constant
/// attention mask (ONNX's Attention with a causal attn_mask): the causal
/// part becomes `causal` and `window`, the rest (if any) stays the mask. An
/// op already causal keeps the intersection, which is the mask's rule when
/// that is causal.
struct CausalMaskOperandPattern : CountingPattern<AttentionOp> {
  using CountingPattern::CountingPattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Value mask = op.getMask();
    if (!mask || op.getWindow())
      return rewriter.notifyMatchFailure(op, "no mask, or a window already");
    RankedTensorType queryType = op.getQuery().getType();
    RankedTensorType keyType = op.getKey().getType();
    int64_t rank = queryType.getRank();
    int64_t queryLength = queryType.getDimSize(rank - 2);
    int64_t keyLength = keyType.getDimSize(rank - 2);
    if (ShapedType::isDynamic(queryLength) || ShapedType::isDynamic(keyLength))
      return rewriter.notifyMatchFailure(op, "dynamic lengths");
    MaskKind kind = rankedOf(mask).getElementType().isInteger(1)
                        ? MaskKind::Attend
                        : MaskKind::Additive;
    MaskClass pattern = constantMaskPattern(mask, kind, queryLength, keyLength);
    Value rest;
    std::optional<int64_t> window = pattern.window;
    if (pattern.pattern == MaskPattern::Other) {
      FailureOr<CausalRest> split =
          splitCausal(mask, kind, queryLength, keyLength, /*rewriter=*/nullptr);
      if (failed(split))
        return rewriter.notifyMatchFailure(op, "mask is not causal");
      window = split->window;
      rest = splitCausal(mask, kind, queryLength, keyLength, &rewriter)->value;
    }
    bool causal = op.getCausal() || pattern.pattern != MaskPattern::AllAttend;
    rewriter.modifyOpInPlace(op, [&] {
      op.getMaskMutable().clear();
      if (rest)
        op.getMaskMutable().assign(rest);
      op.setCausal(causal);
      if (causal && window)
        op.setWindowAttr(rewriter.getI64IntegerAttr(*window));
    });
    ++count;
    return success();
  }
};

/// A run-time mask over [..., T, S] scores rebuilt with one row: the
/// attention_mask input broadcast over the queries (llm.expand), joined by
/// elementwise ops with constants whose elements are all the same on the
/// keys each query sees (the causal rule and window hide the others). Hugging
/// Face's masks come as [B, 1, T, S] tensors whose rows differ only where
/// the causal rule already hides keys; with one row the kernels read S
/// values per batch instead of T x S.
class RowNarrowing {
public:
  RowNarrowing(int64_t queryLength, int64_t keyLength, bool causal,
               std::optional<int64_t> window)
      : queryLength(queryLength), keyLength(keyLength), causal(causal),
        window(window) {}

  /// Whether `value` (aligned right to the scores) can be rebuilt with one
  /// row.
  bool analyze(Value value, int depth = 0) {
    if (auto it = plans.find(value); it != plans.end())
      return it->second.kind != Plan::Fail;
    Plan plan = plan_(value, depth);
    plans[value] = plan;
    return plan.kind != Plan::Fail;
  }

  /// Builds what analyze planned (analyze(value) must have succeeded).
  Value build(PatternRewriter &rewriter, Value value) {
    auto it = built.find(value);
    if (it != built.end())
      return it->second;
    const Plan &plan = plans.lookup(value);
    Value result;
    Location loc = value.getLoc();
    RankedTensorType type = rankedOf(value);
    switch (plan.kind) {
    case Plan::Keep:
      result = value;
      break;
    case Plan::Scalar: {
      Type element = type.getElementType();
      if (isa<FloatType>(element)) {
        result = floatScalar(rewriter, loc, element, plan.scalar);
        break;
      }
      auto scalarType = RankedTensorType::get({}, element);
      result = ConstantOp::create(
          rewriter, loc, scalarType,
          DenseElementsAttr::get(
              scalarType,
              IntegerAttr::get(element, static_cast<int64_t>(plan.scalar))));
      break;
    }
    case Plan::Forward:
      result = build(rewriter, value.getDefiningOp()->getOperand(0));
      break;
    case Plan::Rebuild: {
      Operation *op = value.getDefiningOp();
      IRMapping mapping;
      SmallVector<int64_t> shape;
      for (Value operand : op->getOperands()) {
        Value narrowed = build(rewriter, operand);
        mapping.map(operand, narrowed);
        shape = *broadcastShapes(shape, rankedOf(narrowed).getShape());
      }
      Operation *clone = rewriter.clone(*op, mapping);
      clone->getResult(0).setType(type.clone(shape));
      result = clone->getResult(0);
      break;
    }
    case Plan::Fail:
      llvm_unreachable("building an unplanned value");
    }
    built[value] = result;
    return result;
  }

private:
  struct Plan {
    /// Keep: already one row; Scalar: a constant uniform where keys are
    /// seen; Forward: an expand's input; Rebuild: an elementwise op on
    /// rebuilt operands.
    enum Kind { Fail, Keep, Scalar, Forward, Rebuild } kind = Fail;
    double scalar = 0.0;
  };

  /// Whether query i sees key j.
  bool sees(int64_t i, int64_t j) const {
    return !causal || causalSees(i, j, queryLength, keyLength, window);
  }

  /// The query dim of `type` aligned right to the scores, or -1 if it has
  /// none or it is 1.
  int64_t rowsDim(RankedTensorType type) const {
    int64_t rank = type.getRank();
    if (rank < 2 || type.getDimSize(rank - 2) == 1)
      return -1;
    return rank - 2;
  }

  Plan plan_(Value value, int depth) {
    auto type = dyn_cast<RankedTensorType>(value.getType());
    if (!type || !type.hasStaticShape() || depth > 12)
      return {};
    int64_t rows = rowsDim(type);
    if (rows < 0)
      return {Plan::Keep};
    int64_t rank = type.getRank();
    if (type.getDimSize(rows) != queryLength ||
        (type.getDimSize(rank - 1) != 1 &&
         type.getDimSize(rank - 1) != keyLength))
      return {};
    Operation *op = value.getDefiningOp();
    if (!op || op->getNumResults() != 1)
      return {};
    // A constant: one value on every key some query sees.
    auto elements = MaskEvaluator().evaluate(value);
    if (succeeded(elements)) {
      int64_t columns = type.getDimSize(rank - 1);
      std::optional<double> uniform;
      for (int64_t e = 0, n = elements->size(); e < n; ++e) {
        int64_t i = (e / columns) % queryLength, j = e % columns;
        bool seen = false;
        for (int64_t k = columns == 1 ? 0 : j;
             k < (columns == 1 ? keyLength : j + 1) && !seen; ++k)
          seen = sees(i, k);
        if (!seen)
          continue;
        if (uniform && *uniform != (*elements)[e])
          return {};
        uniform = (*elements)[e];
      }
      if (!uniform)
        return {};
      return {Plan::Scalar, *uniform};
    }
    if (isa<ExpandOp>(op))
      return analyze(op->getOperand(0), depth + 1) ? Plan{Plan::Forward}
                                                   : Plan{};
    if (!isa<AddOp, SubOp, MulOp, DivOp, MaxOp, MinOp, AndOp, OrOp, XorOp,
             EqualOp, LessOp, LessEqualOp, GreaterOp, GreaterEqualOp, WhereOp,
             CastOp, NotOp, NegOp>(op))
      return {};
    for (Value operand : op->getOperands())
      if (!analyze(operand, depth + 1))
        return {};
    return {Plan::Rebuild};
  }

  int64_t queryLength, keyLength;
  bool causal;
  std::optional<int64_t> window;
  llvm::DenseMap<Value, Plan> plans;
  llvm::DenseMap<Value, Value> built;
};

/// An llm.attention whose mask repeats one row for every query, up to the
/// keys the causal rule hides, takes the mask with one row (RowNarrowing).
struct NarrowMaskRowsPattern : CountingPattern<AttentionOp> {
  using CountingPattern::CountingPattern;

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    Value mask = op.getMask();
    if (!mask)
      return rewriter.notifyMatchFailure(op, "no mask");
    RankedTensorType maskType = rankedOf(mask);
    RankedTensorType queryType = op.getQuery().getType();
    int64_t rank = queryType.getRank();
    int64_t queryLength = queryType.getDimSize(rank - 2);
    int64_t keyLength = op.getKey().getType().getDimSize(rank - 2);
    if (maskType.getRank() < 2 ||
        maskType.getDimSize(maskType.getRank() - 2) == 1 ||
        ShapedType::isDynamic(queryLength) || ShapedType::isDynamic(keyLength))
      return rewriter.notifyMatchFailure(op, "mask has one row already");
    std::optional<int64_t> window;
    if (op.getWindow())
      window = *op.getWindow();
    RowNarrowing narrowing(queryLength, keyLength, op.getCausal(), window);
    if (!narrowing.analyze(mask))
      return rewriter.notifyMatchFailure(op, "mask rows differ");
    rewriter.setInsertionPoint(op);
    Value narrowed = narrowing.build(rewriter, mask);
    // The mask's rank kept: the one-row shape padded with leading 1s.
    ArrayRef<int64_t> built = rankedOf(narrowed).getShape();
    SmallVector<int64_t> shape(maskType.getRank() - built.size(), 1);
    shape.append(built.begin(), built.end());
    if (built != ArrayRef<int64_t>(shape))
      narrowed = ReshapeOp::create(rewriter, op.getLoc(), maskType.clone(shape),
                                   narrowed);
    rewriter.modifyOpInPlace(op, [&] { op.getMaskMutable().assign(narrowed); });
    ++count;
    return success();
  }
};

/// Whether `softmax` weighs values: its result reaches the left operand of
/// a product through views, selections and casts (an attention's softmax,
/// not a router's).
bool weighsValues(SoftmaxOp softmax) {
  SmallVector<std::pair<Value, int>> worklist{{softmax.getResult(), 0}};
  while (!worklist.empty()) {
    auto [value, depth] = worklist.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      if (isa<MatMulOp>(user) && use.getOperandNumber() == 0)
        return true;
      if (depth < 6 &&
          isa<ReshapeOp, TransposeOp, WhereOp, SliceOp, CastOp>(user))
        worklist.push_back({user->getResult(0), depth + 1});
    }
  }
  return false;
}

struct FuseAttentionPass
    : mlir::llm::impl::LLMFuseAttentionBase<FuseAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    FusionCount fused, causalMasks, rowMasks;
    patterns.add<FuseAttentionPattern>(&getContext(), fused);
    patterns.add<CausalMaskOperandPattern>(&getContext(), causalMasks);
    patterns.add<NarrowMaskRowsPattern>(&getContext(), rowMasks);
    patterns.add<LiftMergedHeadsPattern, LiftRowFoldedHeadsPattern,
                 MergeSplitBatchMaskPattern, ScaleQueriesPattern<MulOp>,
                 ScaleQueriesPattern<DivOp>, JoinMasksPattern>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    reportFusionCounts(getOperation(), getArgument(), remarks,
                       {{"fused-attentions", &numFused, &fused},
                        {"causal-masks", &numCausalMasks, &causalMasks},
                        {"row-masks", &numRowMasks, &rowMasks}});
    // Where the pass gave up, for whoever asks why a model runs slowly:
    // the ONNX node's name where the importer gave one.
    if (remarks)
      getOperation()->walk([&](SoftmaxOp softmax) {
        if (!weighsValues(softmax))
          return;
        std::string node;
        if (auto name = dyn_cast<NameLoc>(softmax.getLoc()))
          node = " (node '" + name.getName().str() + "')";
        softmax.emitRemark(getArgument() +
                           ": softmax of attention left unfused" + node +
                           ": its scores chain is no form this pass knows");
      });
  }
};
} // namespace
