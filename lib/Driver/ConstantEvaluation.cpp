//===- ConstantEvaluation.cpp - weight-only subgraphs run once at compile -===//
//
// A model often computes tensors from its weights alone: rotary cos/sin
// tables from inv_freq, T5's relative-position buckets (float log) and
// their bias gather, DeBERTa's relative-position projections, Swin V2's
// continuous position bias MLP, a clamped and exponentiated logit scale.
// Every forward recomputes them. The driver evaluates such subgraphs once,
// after the graph pipeline, and replaces them by constants that are
// outlined as weights; under --quant, before the quantization takes its
// layers, so that a product of two weights is no layer to quantize.
//
// The llm folders leave float arithmetic alone so that the host path stays
// the single definition of fp32 results (LLMFolders.cpp). This evaluation
// keeps that rule: the subgraphs are compiled by the host pipeline and run
// by its JIT, as IREE evaluates its constant expressions with its own
// compiler. What the host would have computed at run time is what the
// constant holds, and every target reads the same values.
//
//===----------------------------------------------------------------------===//
#include "llmc/Driver/Driver.h"

#include "llm/IR/LLMOps.h"
#include "llm/Transforms/ConstantBytes.h"
#include "llm/Transforms/Passes.h"
#include "llmc/Runtime/HostRuntime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"

using namespace llmc;
using llvm::StringRef;

namespace {

/// Folded constants larger than this stay computed at run time (a T5
/// bias of a long sequence, [heads, T, T]); their operands may fold.
constexpr int64_t kMaxFoldedBytes = int64_t(16) << 20;

int64_t bytesOf(mlir::Value value) {
  auto type = llvm::dyn_cast<mlir::RankedTensorType>(value.getType());
  if (!type || !type.hasStaticShape() || !type.getElementType().isIntOrFloat())
    return -1;
  return type.getNumElements() *
         llvm::divideCeil(type.getElementTypeBitWidth(), 8);
}

/// Ops that only move or retype data. A subgraph of these alone would copy
/// a weight, not save work: it is not folded (but see shrinksWeight).
bool movesData(mlir::Operation *op) {
  return llvm::isa<mlir::llm::ReshapeOp, mlir::llm::ExpandOp,
                   mlir::llm::TransposeOp, mlir::llm::ConcatOp,
                   mlir::llm::SliceOp, mlir::llm::SplitOp, mlir::llm::GatherOp,
                   mlir::llm::CastOp>(op);
}

/// Whether `op` is a gather at constant indices or a slice that reads less
/// of a weight or constant than it holds, and every reader of that source
/// is such an op. A model exported with dynamic shapes and compiled for
/// static ones gathers its position embeddings at positions known at
/// compile time (Range over a folded Shape): folded, the rows it reads
/// replace the whole table, and the gather no longer runs every forward.
bool shrinksWeight(mlir::Operation *op) {
  // A constant, or an argument of the entry that is a weight.
  auto stored = [](mlir::Value value) {
    return value.getDefiningOp<mlir::llm::ConstantOp>() ||
           mlir::llm::isWeightArgument(value);
  };
  auto reads = [&](mlir::Operation *user, mlir::Value source) {
    if (user->getNumOperands() == 0 || user->getOperand(0) != source)
      return false;
    int64_t sourceBytes = bytesOf(source);
    int64_t resultBytes = bytesOf(user->getResult(0));
    if (sourceBytes < 0 || resultBytes < 0 || resultBytes >= sourceBytes)
      return false;
    if (llvm::isa<mlir::llm::SliceOp>(user))
      return user->getNumOperands() == 1;
    auto gather = llvm::dyn_cast<mlir::llm::GatherOp>(user);
    return gather && stored(gather->getOperand(1));
  };
  if (op->getNumOperands() == 0 || !stored(op->getOperand(0)))
    return false;
  mlir::Value source = op->getOperand(0);
  return llvm::all_of(source.getUsers(), [&](mlir::Operation *user) {
    return reads(user, source);
  });
}

/// The graph's ops that compute or move (not constants, not the return).
unsigned countGraphOps(mlir::func::FuncOp func) {
  unsigned count = 0;
  func.walk([&](mlir::Operation *op) {
    if (op != func &&
        !llvm::isa<mlir::llm::ConstantOp, mlir::func::ReturnOp>(op))
      ++count;
  });
  return count;
}

/// Ops the evaluation may run: llm's pure ops, save the quantization ops,
/// whose constant forms later passes match (a dequantized weight stays one).
bool evaluable(mlir::Operation *op) {
  return llvm::isa<mlir::llm::LLMDialect>(op->getDialect()) &&
         op->getNumRegions() == 0 && mlir::isPure(op) &&
         !llvm::isa<mlir::llm::ConstantOp, mlir::llm::QuantizeOp,
                    mlir::llm::DequantizeOp, mlir::llm::QMatMulOp>(op);
}

/// The bytes of `tensor` as a constant of `type`: inline when small, else a
/// resource blob, as the importer stores weights.
mlir::ElementsAttr constantOf(const Tensor &tensor, mlir::RankedTensorType type,
                              StringRef name) {
  llvm::ArrayRef<char> bytes(static_cast<const char *>(tensor.data()),
                             tensor.byteSize());
  // Booleans are a byte each in a tensor, a bit each in an attribute.
  if (type.getElementType().isInteger(1)) {
    llvm::SmallVector<bool> values(bytes.begin(), bytes.end());
    return mlir::DenseElementsAttr::get(type, llvm::ArrayRef<bool>(values));
  }
  if (type.getNumElements() <= 16)
    return mlir::DenseElementsAttr::getFromRawBuffer(type, bytes);
  size_t alignment = llvm::divideCeil(type.getElementTypeBitWidth(), 8);
  return mlir::llm::resourceConstant(type, name, bytes, alignment);
}

/// Erases the ops of `block` whose results nobody reads, users first.
void eraseUnused(mlir::Block &block) {
  // ilist's own reverse iterators stay valid when the op is erased.
  for (mlir::Operation &op : llvm::make_early_inc_range(llvm::reverse(block)))
    if (mlir::isOpTriviallyDead(&op))
      op.erase();
}

} // namespace

llvm::json::Object ConstantEvaluationSummary::toJSON() const {
  if (!skipped.empty())
    return llvm::json::Object{{"skipped", skipped}};
  return llvm::json::Object{{"values", values},
                            {"bytes", bytes},
                            {"graph_ops_before", opsBefore},
                            {"graph_ops_after", opsAfter}};
}

llvm::Expected<ConstantEvaluationSummary>
llmc::evaluateConstantSubgraphs(mlir::ModuleOp module, StringRef entry,
                                WeightLayout layout, bool outlineWeights) {
  ConstantEvaluationSummary summary;
  auto func = module.lookupSymbol<mlir::func::FuncOp>(entry);
  if (!func || func.isExternal())
    return summary;
  summary.opsBefore = summary.opsAfter = countGraphOps(func);
  mlir::MLIRContext &context = *module.getContext();

  // Values known at compile time: weights, constants, and the results of
  // evaluable ops of known operands (small enough to keep).
  llvm::DenseSet<mlir::Value> known;
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (func.getArgAttr(i, mlir::llm::kWeightArgAttrName))
      known.insert(func.getArgument(i));
  // Whether a known value's subgraph computes anything.
  llvm::DenseSet<mlir::Value> computed;
  func.walk([&](mlir::Operation *op) {
    if (llvm::isa<mlir::llm::ConstantOp>(op)) {
      known.insert(op->getResult(0));
      return;
    }
    if (!evaluable(op) || op->getNumOperands() == 0 ||
        !llvm::all_of(op->getOperands(),
                      [&](mlir::Value v) { return known.contains(v); }))
      return;
    bool computes = !movesData(op) || shrinksWeight(op) ||
                    llvm::any_of(op->getOperands(), [&](mlir::Value v) {
                      return computed.contains(v);
                    });
    for (mlir::Value result : op->getResults()) {
      int64_t bytes = bytesOf(result);
      if (bytes < 0 || bytes > kMaxFoldedBytes)
        continue;
      known.insert(result);
      if (computes)
        computed.insert(result);
    }
  });

  // The roots: computed values that an op outside the known subgraphs (or
  // the return) reads.
  llvm::SetVector<mlir::Value> roots;
  func.walk([&](mlir::Operation *op) {
    bool inside = op->getNumResults() > 0 &&
                  llvm::all_of(op->getResults(), [&](mlir::Value v) {
                    return known.contains(v);
                  });
    if (inside && !llvm::isa<mlir::func::ReturnOp>(op))
      return;
    for (mlir::Value operand : op->getOperands())
      if (computed.contains(operand) && operand.getDefiningOp())
        roots.insert(operand);
  });
  if (roots.empty())
    return summary;

  // A copy of the module whose entry returns the roots and nothing else.
  mlir::IRMapping mapping;
  mlir::OwningOpRef<mlir::ModuleOp> evaluation =
      llvm::cast<mlir::ModuleOp>(module->clone(mapping));
  auto copy = evaluation->lookupSymbol<mlir::func::FuncOp>(entry);
  {
    llvm::SmallVector<mlir::Value> results;
    llvm::SmallVector<mlir::Type> types;
    for (mlir::Value root : roots) {
      results.push_back(mapping.lookup(root));
      types.push_back(root.getType());
    }
    mlir::Operation *terminator = copy.getBody().back().getTerminator();
    mlir::OpBuilder builder(terminator);
    mlir::func::ReturnOp::create(builder, terminator->getLoc(), results);
    terminator->erase();
    // Everything the roots do not read goes.
    eraseUnused(copy.getBody().front());
    llvm::BitVector unused(copy.getNumArguments());
    for (unsigned i = 0; i < copy.getNumArguments(); ++i)
      unused[i] = copy.getArgument(i).use_empty();
    if (mlir::failed(copy.eraseArguments(unused)))
      return summary;
    llvm::SmallVector<mlir::DictionaryAttr> resultAttrs;
    for (unsigned i = 0; i < results.size(); ++i)
      resultAttrs.push_back(mlir::DictionaryAttr::get(
          &context,
          {mlir::NamedAttribute(
              mlir::StringAttr::get(&context, mlir::llm::kNameAttrName),
              mlir::StringAttr::get(&context,
                                    "folded_" + std::to_string(i)))}));
    copy.setType(
        mlir::FunctionType::get(&context, copy.getArgumentTypes(), types));
    copy.setAllResultAttrs(resultAttrs);
  }

  // Compile it for the host and run it once.
  Signature signature;
  std::vector<Tensor> weights;
  std::unique_ptr<HostExecutable> executable;
  if (auto error =
          compileForHost(context, *evaluation, entry,
                         {"constant subgraphs", "constant evaluation",
                          "constant evaluation: compiling the subgraphs"},
                         signature, weights, executable))
    return std::move(error);
  auto values = executable->run({});
  if (!values)
    return values.takeError();
  if (values->size() != roots.size())
    return llvm::make_error<InputError>(
        ("constant evaluation returned " + llvm::Twine(values->size()) +
         " values for " + llvm::Twine(roots.size()))
            .str());

  for (auto [root, tensor] : llvm::zip(roots, *values))
    if (tensor.byteSize() != static_cast<size_t>(bytesOf(root)))
      return llvm::make_error<InputError>(
          "constant evaluation: a value of the wrong size");

  summary.values = roots.size();
  for (mlir::Value root : roots)
    summary.bytes += bytesOf(root);

  // Up to here the module is untouched. The roots become constants; what
  // only they read goes.
  for (auto [fixedRoot, tensor] : llvm::zip(roots, *values)) {
    mlir::Value root = fixedRoot;
    auto type = llvm::cast<mlir::RankedTensorType>(root.getType());
    mlir::OpBuilder builder(root.getDefiningOp());
    std::string name = "folded";
    if (auto loc = llvm::dyn_cast<mlir::NameLoc>(root.getLoc()))
      name = loc.getName().str();
    auto constant = mlir::llm::ConstantOp::create(
        builder, root.getLoc(), type, constantOf(tensor, type, name));
    root.replaceAllUsesWith(constant.getResult());
  }
  eraseUnused(func.getBody().front());
  // Weights that only the folded subgraphs read go too.
  llvm::BitVector unused(func.getNumArguments());
  llvm::StringSet<> dropped;
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (auto name = func.getArgAttrOfType<mlir::StringAttr>(
            i, mlir::llm::kWeightArgAttrName);
        name && func.getArgument(i).use_empty()) {
      unused.set(i);
      dropped.insert(name.getValue());
    }
  if (mlir::failed(func.eraseArguments(unused)))
    return llvm::make_error<InputError>(
        "constant evaluation: cannot drop the weights it replaced");
  if (auto table = module->getAttrOfType<mlir::DictionaryAttr>(
          mlir::llm::kWeightsAttrName)) {
    llvm::SmallVector<mlir::NamedAttribute> kept;
    for (mlir::NamedAttribute weight : table)
      if (!dropped.contains(weight.getName().strref()))
        kept.push_back(weight);
    module->setAttr(mlir::llm::kWeightsAttrName,
                    mlir::DictionaryAttr::get(&context, kept));
  }
  summary.opsAfter = countGraphOps(func);
  if (!outlineWeights)
    return summary;
  // The new constants are stored as the graph pipeline stores weights.
  mlir::PassManager outline(&context);
  if (std::unique_ptr<mlir::Pass> pass = createWeightLayoutPass(layout))
    outline.addPass(std::move(pass));
  outline.addPass(mlir::llm::createLLMOutlineWeights());
  if (auto error = captureDiagnostics(
          context, [&] { return outline.run(module); },
          "constant evaluation: outlining the folded constants failed"))
    return std::move(error);
  return summary;
}

ConstantEvaluationSummary
llmc::evaluateConstantSubgraphsOrWarn(mlir::ModuleOp module, StringRef entry,
                                      WeightLayout layout,
                                      bool outlineWeights) {
  auto folded =
      evaluateConstantSubgraphs(module, entry, layout, outlineWeights);
  if (folded)
    return std::move(*folded);
  ConstantEvaluationSummary summary;
  summary.skipped = llvm::toString(folded.takeError());
  llvm::errs() << "warning: constant evaluation skipped (" << summary.skipped
               << "); the subgraphs of weights run at run time\n";
  return summary;
}
