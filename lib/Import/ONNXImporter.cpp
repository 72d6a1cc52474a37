//===- ONNXImporter.cpp - ONNX models into the llm dialect ----------------===//
//
// Reads an ONNX ModelProto (binary, or the ONNX text format) and builds one
// func.func of llm ops. Shapes become static at import: dynamic input dims
// come from ImportOptions, and every op is folded as it is built, so shape
// subgraphs turn into constants before the ops that need them (Reshape's
// shape, Slice's bounds, ...) look for one. Weights are moved out of the
// protobuf into dense_resource blobs without a copy.
//
// This file holds the graph level and the entry points; the handlers of
// each op family are in ImportX.cpp beside it (see Importer.h).
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

#include "onnx/defs/parser.h"
#include "onnx/shape_inference/implementation.h"
#include "onnx/version_converter/convert.h"
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/unknown_field_set.h>

#include <sstream>

using namespace mlir;
using namespace mlir::llm::importer;

namespace mlir::llm::importer {
namespace {

/// Silences protobuf's own logging (it writes parse errors to stderr) while
/// the importer reports its own one-line error.
class ProtobufLogSilencer {
public:
  ProtobufLogSilencer() : previous(google::protobuf::SetLogHandler(nullptr)) {}
  ~ProtobufLogSilencer() { google::protobuf::SetLogHandler(previous); }

private:
  google::protobuf::LogHandler *previous;
  google::protobuf::LogSilencer silencer;
};

/// Re-emits every diagnostic of the import on one line: names in a model may
/// hold any bytes, newlines included.
class OneLineDiagnostics {
public:
  explicit OneLineDiagnostics(MLIRContext &context)
      : handler(&context, [this](Diagnostic &diag) -> LogicalResult {
          std::string text = diag.str();
          std::string line = oneLine(text);
          if (reemitting || text == line)
            return failure();
          reemitting = true;
          Location loc = diag.getLocation();
          Diagnostic single(loc, diag.getSeverity());
          single << line;
          loc.getContext()->getDiagEngine().emit(std::move(single));
          reemitting = false;
          return success();
        }) {}

private:
  ScopedDiagnosticHandler handler;
  bool reemitting = false;
};

bool parseBinaryModel(google::protobuf::io::ZeroCopyInputStream &stream,
                      onnx::ModelProto &model) {
  ProtobufLogSilencer silence;
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetTotalBytesLimit(INT_MAX);
  return model.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
}

} // namespace

const llvm::StringMap<ONNXImporter::OpEntry> &ONNXImporter::opTable() {
  using I = ONNXImporter;
  static const llvm::StringMap<OpEntry> table = {
      {"Add", {&I::importBinary<llm::AddOp>, 1}},
      {"Sub", {&I::importBinary<llm::SubOp>, 1}},
      {"Mul", {&I::importBinary<llm::MulOp>, 1}},
      {"Div", {&I::importBinary<llm::DivOp>, 1}},
      {"Pow", {&I::importPow, 1}},
      {"Mod", {&I::importMod, 1}},
      {"Max", {&I::importVariadic<llm::MaxOp>, 1}},
      {"Min", {&I::importVariadic<llm::MinOp>, 1}},
      {"Sum", {&I::importVariadic<llm::AddOp>, 1}},
      {"Equal", {&I::importBinary<llm::EqualOp>, 1}},
      {"Less", {&I::importBinary<llm::LessOp>, 1}},
      {"LessOrEqual", {&I::importBinary<llm::LessEqualOp>, 1}},
      {"Greater", {&I::importBinary<llm::GreaterOp>, 1}},
      {"GreaterOrEqual", {&I::importBinary<llm::GreaterEqualOp>, 1}},
      {"And", {&I::importBinary<llm::AndOp>, 1}},
      {"Or", {&I::importBinary<llm::OrOp>, 1}},
      {"Xor", {&I::importBinary<llm::XorOp>, 1}},
      {"Not", {&I::importUnary<llm::NotOp>, 1}},
      {"BitwiseAnd", {&I::importBitwise, 18}},
      {"BitwiseOr", {&I::importBitwise, 18}},
      {"BitwiseXor", {&I::importBitwise, 18}},
      {"BitwiseNot", {&I::importBitwise, 18}},
      {"BitShift", {&I::importBitShift, 11}},
      {"Where", {&I::importWhere, 1}},
      {"Exp", {&I::importUnary<llm::ExpOp>, 1}},
      {"Log", {&I::importUnary<llm::LogOp>, 1}},
      {"Tanh", {&I::importUnary<llm::TanhOp>, 1}},
      {"Erf", {&I::importUnary<llm::ErfOp>, 1}},
      {"Sqrt", {&I::importUnary<llm::SqrtOp>, 1}},
      {"Reciprocal", {&I::importUnary<llm::ReciprocalOp>, 1}},
      {"Neg", {&I::importUnary<llm::NegOp>, 1}},
      {"Abs", {&I::importUnary<llm::AbsOp>, 1}},
      {"Relu", {&I::importUnary<llm::ReluOp>, 1}},
      {"Sigmoid", {&I::importUnary<llm::SigmoidOp>, 1}},
      {"Sin", {&I::importUnary<llm::SinOp>, 1}},
      {"Cos", {&I::importUnary<llm::CosOp>, 1}},
      {"Floor", {&I::importUnary<llm::FloorOp>, 1}},
      {"Ceil", {&I::importUnary<llm::CeilOp>, 1}},
      {"Softmax", {&I::importSoftmax, 13}},
      {"LogSoftmax", {&I::importLogSoftmax, 13}},
      {"NegativeLogLikelihoodLoss", {&I::importNegativeLogLikelihoodLoss, 12}},
      {"SoftmaxCrossEntropyLoss", {&I::importSoftmaxCrossEntropyLoss, 12}},
      {"LayerNormalization", {&I::importLayerNormalization, 17}},
      {"InstanceNormalization", {&I::importGroupNormalization, 6}},
      {"GroupNormalization", {&I::importGroupNormalization, 18}},
      {"Gelu", {&I::importGelu, 20}},
      {"MatMul", {&I::importMatMul, 1}},
      {"Gemm", {&I::importGemm, 1}},
      {"Reshape", {&I::importReshape, 5}},
      {"Transpose", {&I::importTranspose, 1}},
      {"Concat", {&I::importConcat, 1}},
      {"Slice", {&I::importSlice, 10}},
      {"Split", {&I::importSplit, 13}},
      {"Gather", {&I::importGather, 1}},
      {"GatherElements", {&I::importGatherElements, 11}},
      {"GatherND", {&I::importGatherND, 12}},
      {"ScatterElements", {&I::importScatter, 11}},
      {"ScatterND", {&I::importScatter, 11}},
      {"NonZero", {&I::importNonZero, 9}},
      {"Expand", {&I::importExpand, 8}},
      {"Cast", {&I::importCast, 1}},
      {"CastLike", {&I::importCastLike, 15}},
      {"Unsqueeze", {&I::importUnsqueeze, 13}},
      {"Squeeze", {&I::importSqueeze, 13}},
      {"Flatten", {&I::importFlatten, 1}},
      {"Identity", {&I::importIdentity, 1}},
      {"Dropout", {&I::importIdentity, 1}},
      {"ReduceSum", {&I::importReduce<llm::ReduceSumOp, 13>, 1}},
      {"ReduceMean", {&I::importReduce<llm::ReduceMeanOp, 18>, 1}},
      {"ReduceMax", {&I::importReduce<llm::ReduceMaxOp, 18>, 1}},
      {"ReduceMin", {&I::importReduce<llm::ReduceMinOp, 18>, 1}},
      {"ReduceProd", {&I::importReduce<llm::ReduceProdOp, 18>, 1}},
      {"ReduceL1", {&I::importReduceComposite, 1}},
      {"ReduceL2", {&I::importReduceComposite, 1}},
      {"ReduceSumSquare", {&I::importReduceComposite, 1}},
      {"LpNormalization", {&I::importLpNormalization, 1}},
      {"ReduceLogSum", {&I::importReduceComposite, 1}},
      {"ReduceLogSumExp", {&I::importReduceComposite, 1}},
      {"ArgMax", {&I::importArgExtreme, 1}},
      {"ArgMin", {&I::importArgExtreme, 1}},
      {"OneHot", {&I::importOneHot, 9}},
      {"Mean", {&I::importMean, 8}},
      {"GlobalAveragePool", {&I::importGlobalPool, 1}},
      {"GlobalMaxPool", {&I::importGlobalPool, 1}},
      {"BatchNormalization", {&I::importBatchNormalization, 9}},
      {"Hardmax", {&I::importHardmax, 13}},
      {"TopK", {&I::importTopK, 11}},
      {"Constant", {&I::importConstant, 1}},
      {"ConstantOfShape", {&I::importConstantOfShape, 9}},
      {"Shape", {&I::importShape, 1}},
      {"Size", {&I::importSize, 1}},
      {"Range", {&I::importRange, 11}},
      {"Trilu", {&I::importTrilu, 14}},
      {"Clip", {&I::importClip, 11}},
      {"Softplus", {&I::importActivation, 1}},
      {"Softsign", {&I::importActivation, 1}},
      {"LeakyRelu", {&I::importActivation, 6}},
      {"Elu", {&I::importActivation, 6}},
      {"Selu", {&I::importActivation, 6}},
      {"Celu", {&I::importActivation, 12}},
      {"HardSigmoid", {&I::importActivation, 6}},
      {"HardSwish", {&I::importActivation, 14}},
      {"Mish", {&I::importActivation, 18}},
      {"Swish", {&I::importActivation, 24}},
      {"TensorScatter", {&I::importTensorScatter, 24}},
      {"ThresholdedRelu", {&I::importActivation, 10}},
      {"Sign", {&I::importActivation, 9}},
      {"Round", {&I::importActivation, 11}},
      {"IsNaN", {&I::importActivation, 9}},
      {"IsInf", {&I::importActivation, 10}},
      {"Shrink", {&I::importActivation, 9}},
      {"Tan", {&I::importActivation, 7}},
      {"Asin", {&I::importActivation, 7}},
      {"Acos", {&I::importActivation, 7}},
      {"Atan", {&I::importActivation, 7}},
      {"Sinh", {&I::importActivation, 9}},
      {"Cosh", {&I::importActivation, 9}},
      {"Asinh", {&I::importActivation, 9}},
      {"Acosh", {&I::importActivation, 9}},
      {"Atanh", {&I::importActivation, 9}},
      {"EyeLike", {&I::importEyeLike, 9}},
      {"ReverseSequence", {&I::importReverseSequence, 10}},
      {"LRN", {&I::importLRN, 1}},
      {"MeanVarianceNormalization", {&I::importMeanVarianceNormalization, 13}},
      {"PRelu", {&I::importPRelu, 7}},
      {"Einsum", {&I::importEinsum, 12}},
      {"CumSum", {&I::importCumSum, 11}},
      // ONNX Runtime registers its RMSNorm in the default domain too.
      {"SimplifiedLayerNormalization",
       {&I::importSimplifiedLayerNormalization, 1}},
      {"Tile", {&I::importTile, 6}},
      {"Conv", {&I::importConv, 11}},
      {"ConvTranspose", {&I::importConvTranspose, 11}},
      {"DepthToSpace", {&I::importDepthToSpace, 13}},
      {"GridSample", {&I::importGridSample, 16}},
      {"DFT", {&I::importDFT, 17}},
      {"STFT", {&I::importSTFT, 17}},
      {"HannWindow", {&I::importWindow, 17}},
      {"HammingWindow", {&I::importWindow, 17}},
      {"BlackmanWindow", {&I::importWindow, 17}},
      {"MelWeightMatrix", {&I::importMelWeightMatrix, 17}},
      {"SpaceToDepth", {&I::importDepthToSpace, 13}},
      {"MaxPool", {&I::importPool, 12}},
      {"AveragePool", {&I::importPool, 11}},
      {"MaxUnpool", {&I::importMaxUnpool, 11}},
      {"Compress", {&I::importCompress, 11}},
      {"Resize", {&I::importResize, 13}},
      {"Pad", {&I::importPad, 13}},
      {"If", {&I::importIf, 1}},
      {"Loop", {&I::importLoop, 1}},
      {"Scan", {&I::importScan, 9}},
      {"RNN", {&I::importRecurrent, 7}},
      {"GRU", {&I::importRecurrent, 7}},
      {"LSTM", {&I::importRecurrent, 7}},
      {"SequenceEmpty", {&I::importSequenceEmpty, 11}},
      {"SequenceConstruct", {&I::importSequenceConstruct, 11}},
      {"SplitToSequence", {&I::importSplitToSequence, 11}},
      {"SequenceAt", {&I::importSequenceAt, 11}},
      {"SequenceInsert", {&I::importSequenceInsert, 11}},
      {"SequenceErase", {&I::importSequenceErase, 11}},
      {"SequenceLength", {&I::importSequenceLength, 11}},
      {"ConcatFromSequence", {&I::importConcatFromSequence, 11}},
      {"QuantizeLinear", {&I::importQuantizeLinear, 10}},
      {"DequantizeLinear", {&I::importDequantizeLinear, 10}},
      {"Attention", {&I::importOnnxAttention, 23}},
      {"RotaryEmbedding", {&I::importRotaryEmbedding, 23}},
      {"RMSNormalization", {&I::importSimplifiedLayerNormalization, 23}},
      {"MatMulInteger", {&I::importMatMulInteger, 10}},
      {"QLinearMatMul", {&I::importQLinear, 10}},
      {"ConvInteger", {&I::importConvInteger, 10}},
      {"QLinearConv", {&I::importQLinear, 10}},
      {"DynamicQuantizeLinear", {&I::importDynamicQuantizeLinear, 11}},
  };
  return table;
}

const llvm::StringMap<ONNXImporter::OpEntry> &
ONNXImporter::microsoftOpTable() {
  using I = ONNXImporter;
  static const llvm::StringMap<OpEntry> table = {
      {"Gelu", {&I::importMicrosoftGelu, 0}},
      {"FastGelu", {&I::importMicrosoftGelu, 0}},
      {"BiasGelu", {&I::importMicrosoftGelu, 0}},
      {"QuickGelu", {&I::importMicrosoftGelu, 0}},
      {"SkipLayerNormalization", {&I::importSkipNormalization, 0}},
      {"SkipSimplifiedLayerNormalization", {&I::importSkipNormalization, 0}},
      {"SimplifiedLayerNormalization",
       {&I::importSimplifiedLayerNormalization, 0}},
      {"MatMulNBits", {&I::importMatMulNBits, 0}},
      // ONNX Runtime's quantizer writes 16-bit (and 4-bit) QDQ in its own
      // domain before opset 21 has those types: same semantics.
      {"QuantizeLinear", {&I::importQuantizeLinear, 0}},
      {"DequantizeLinear", {&I::importDequantizeLinear, 0}},
      {"Attention", {&I::importMicrosoftAttention, 0}},
      {"MultiHeadAttention", {&I::importMicrosoftMultiHeadAttention, 0}},
      {"EmbedLayerNormalization", {&I::importEmbedLayerNormalization, 0}},
      {"GroupQueryAttention", {&I::importGroupQueryAttention, 0}},
      {"MoE", {&I::importMoE, 0}},
      {"QMoE", {&I::importMoE, 0}},
      {"RotaryEmbedding", {&I::importRotaryEmbedding, 0}},
      {"FusedMatMul", {&I::importFusedMatMul, 0}},
      {"FusedGemm", {&I::importFusedActivation, 0}},
      {"FusedConv", {&I::importFusedActivation, 0}},
      {"GemmFastGelu", {&I::importFusedActivation, 0}},
      {"MatMulIntegerToFloat", {&I::importMatMulIntegerToFloat, 0}},
      {"DynamicQuantizeMatMul", {&I::importDynamicQuantizeMatMul, 0}},
      {"QAttention", {&I::importQAttention, 0}},
      {"QEmbedLayerNormalization", {&I::importQEmbedLayerNormalization, 0}},
      {"GatherBlockQuantized", {&I::importGatherBlockQuantized, 0}},
      // quantize_static's QOperator format (and the ONNX Model Zoo's int8
      // models): float ops between dequantized inputs and a quantized
      // result.
      {"QLinearAdd", {&I::importQOperator, 0}},
      {"QLinearMul", {&I::importQOperator, 0}},
      {"QLinearSigmoid", {&I::importQOperator, 0}},
      {"QLinearLeakyRelu", {&I::importQOperator, 0}},
      {"QLinearSoftmax", {&I::importQOperator, 0}},
      {"QLinearConcat", {&I::importQOperator, 0}},
      {"QLinearAveragePool", {&I::importQOperator, 0}},
      {"QLinearGlobalAveragePool", {&I::importQOperator, 0}},
      {"QGemm", {&I::importQOperator, 0}},
      {"QLinearReduceMean", {&I::importQOperator, 0}},
      {"QLinearWhere", {&I::importQOperator, 0}},
  };
  return table;
}

//===----------------------------------------------------------------------===//
// Graph level
//===----------------------------------------------------------------------===//

OwningOpRef<ModuleOp> ONNXImporter::importModel(onnx::ModelProto &model) {
  if (!model.has_graph()) {
    emitFileError() << "not a valid ONNX model (it has no graph)";
    return nullptr;
  }
  // Local functions are inlined before an upgrade: their nodes are of the
  // model's opset, and ONNX's converter keeps no functions.
  if (failed(checkOpset(model)) || failed(inlineFunctions(model)) ||
      failed(checkSingleAssignment(model.graph())) ||
      failed(upgradeOpset(model)))
    return nullptr;
  onnx::GraphProto &graph = *model.mutable_graph();

  collectUsedNames(graph);

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  if (failed(importInputs(graph, argTypes, argNames)))
    return nullptr;

  builder.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(builder, fileLoc, options.entryName,
                                   builder.getFunctionType(argTypes, {}));
  Block *body = func.addEntryBlock();
  for (auto [index, name] : llvm::enumerate(argNames)) {
    func.setArgAttr(index, llm::kNameAttrName, builder.getStringAttr(name));
    values[name] = body->getArgument(index);
  }
  builder.setInsertionPointToEnd(body);
  if (failed(importKnownInputs(*body, argNames)))
    return nullptr;

  if (failed(importInitializers(graph)))
    return nullptr;
  for (auto [index, node] : llvm::enumerate(*graph.mutable_node()))
    if (failed(importNode(node, index)))
      return nullptr;

  SmallVector<Value> outputs;
  SmallVector<Type> outputTypes;
  for (const onnx::ValueInfoProto &output : graph.output()) {
    Value value = values.lookup(output.name());
    if (!value && sequences.count(output.name())) {
      emitFileError() << "graph output '" << output.name()
                      << "' is a sequence; outputs must be tensors";
      return nullptr;
    }
    if (!value) {
      emitFileError() << "graph output '" << output.name()
                      << "' is not produced by any node, initializer or input";
      return nullptr;
    }
    if (failed(requireKnownCount(output.name(),
                                 "graph output '" + output.name() + "'")))
      return nullptr;
    if (e4m3Names.contains(output.name())) {
      // numpy has no FP8: a FLOAT8E4M3FN output is given as its f32 values.
      builder.setInsertionPointToEnd(body);
      auto scalar = RankedTensorType::get({}, builder.getF32Type());
      Value one = llm::ConstantOp::create(builder, fileLoc, scalar,
                                          DenseElementsAttr::get(scalar, 1.0f));
      value = llm::DequantizeOp::create(
          builder, fileLoc,
          cast<RankedTensorType>(value.getType()).clone(builder.getF32Type()),
          value, one, Value(), /*is_unsigned=*/false, /*bits=*/8,
          /*block_size=*/0,
          /*e4m3=*/true);
    }
    outputs.push_back(value);
    outputTypes.push_back(value.getType());
  }
  builder.setInsertionPointToEnd(body);
  func::ReturnOp::create(builder, fileLoc, outputs);
  func.setType(builder.getFunctionType(argTypes, outputTypes));
  for (auto [index, output] : llvm::enumerate(graph.output())) {
    func.setResultAttr(index, llm::kNameAttrName,
                       builder.getStringAttr(output.name()));
    // uint8 and uint16 outputs are signless i8 and i16 holding their bits:
    // the runtime writes them unsigned.
    Type element = cast<RankedTensorType>(outputTypes[index]).getElementType();
    if (unsignedNames.contains(output.name()) &&
        (element.isInteger(8) || element.isInteger(16)))
      func.setResultAttr(index, llm::kUnsignedAttrName, builder.getUnitAttr());
  }
  eraseDeadOps(*body);
  boundIndexInputs(func);
  return module;
}

/// Graph inputs that index a table directly (token ids into an embedding,
/// positions into a position table), through casts and reshapes: the
/// argument records the table's rows and the node, so that llm-run rejects
/// an id out of range with an error line (llm.gather clamps it).
void ONNXImporter::boundIndexInputs(func::FuncOp func) {
  Block &entry = func.getBody().front();
  // Binds the graph input that `indices` is (through integer casts and
  // reshapes, and for labels slices: a language model's loss reads
  // labels[:, 1:]) to [-rows, rows), or to that and `ignore`; of several
  // bounds the tightest holds, and `ignore` only where every reader skips
  // that same value.
  auto bind = [&](Value indices, int64_t rows, StringRef by,
                  std::optional<int64_t> ignore, bool labels) {
    while (Operation *def = indices.getDefiningOp()) {
      if (!(isa<llm::CastOp, llm::ReshapeOp>(def) ||
            (labels && isa<llm::SliceOp>(def))) ||
          !isa<IntegerType>(cast<RankedTensorType>(def->getOperand(0).getType())
                                .getElementType()))
        break;
      indices = def->getOperand(0);
    }
    auto arg = dyn_cast<BlockArgument>(indices);
    if (!arg || arg.getOwner() != &entry || ShapedType::isDynamic(rows))
      return;
    unsigned index = arg.getArgNumber();
    auto known =
        func.getArgAttrOfType<IntegerAttr>(index, llm::kIndexBoundAttrName);
    auto knownIgnore =
        func.getArgAttrOfType<IntegerAttr>(index, llm::kIndexIgnoreAttrName);
    if (known && (!ignore || !knownIgnore || knownIgnore.getInt() != *ignore))
      func.removeArgAttr(index, llm::kIndexIgnoreAttrName);
    if (known && known.getInt() <= rows)
      return;
    func.setArgAttr(index, llm::kIndexBoundAttrName,
                    builder.getI64IntegerAttr(rows));
    func.setArgAttr(index, llm::kIndexBoundByAttrName,
                    builder.getStringAttr(by));
    if (ignore && !known)
      func.setArgAttr(index, llm::kIndexIgnoreAttrName,
                      builder.getI64IntegerAttr(*ignore));
  };
  func.walk([&](llm::GatherOp gather) {
    auto name = dyn_cast<NameLoc>(gather.getLoc());
    bind(gather.getIndices(),
         gather.getData().getType().getDimSize(gather.getAxis()),
         name ? name.getName().getValue() : StringRef("Gather"), std::nullopt,
         /*labels=*/false);
  });
  for (const ClassTargets &targets : classTargets)
    bind(targets.targets, targets.classes, targets.node, targets.ignore,
         /*labels=*/true);
}

/// The names that nodes read, in `graph` and in the bodies of its If and
/// Loop nodes (which may read names of the enclosing graphs), and the
/// outputs of each.
void ONNXImporter::collectUsedNames(const onnx::GraphProto &graph) {
  for (const onnx::NodeProto &node : graph.node()) {
    for (const std::string &name : node.input())
      usedNames.insert(name);
    for (const onnx::AttributeProto &attr : node.attribute()) {
      if (attr.has_g())
        collectUsedNames(attr.g());
      for (const onnx::GraphProto &body : attr.graphs())
        collectUsedNames(body);
    }
  }
  for (const onnx::ValueInfoProto &output : graph.output())
    usedNames.insert(output.name());
}

namespace {
/// Inlines a model's local functions (FunctionProto, what
/// torch.onnx.export's export_modules_as_functions and onnxscript write):
/// each call becomes the function's nodes, its formal inputs and outputs
/// named by the call's, every other name (and node name) prefixed with the
/// call's, attribute references (ref_attr_name) replaced by the call's
/// attributes, or the function's default values of them, or left out (the
/// op's default).
class FunctionInliner {
public:
  FunctionInliner(onnx::ModelProto &model) {
    for (onnx::FunctionProto &function : *model.mutable_functions()) {
      functions[key(function.domain(), function.name())] = &function;
      // IR 9's attribute_proto (field 11, the attributes' default values)
      // is newer than the installed onnx classes: read from the unknown
      // fields.
      const google::protobuf::UnknownFieldSet &unknown =
          function.GetReflection()->GetUnknownFields(function);
      for (int i = 0; i < unknown.field_count(); ++i) {
        const google::protobuf::UnknownField &field = unknown.field(i);
        onnx::AttributeProto attr;
        if (field.number() == 11 &&
            field.type() ==
                google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED &&
            attr.ParseFromString(field.length_delimited()))
          defaults[&function].push_back(std::move(attr));
      }
    }
  }

  bool empty() const { return functions.empty(); }

  /// Rewrites `graph` and its subgraphs until no node calls a function;
  /// the error names the call that failed.
  LogicalResult run(onnx::GraphProto &graph, std::string &error) {
    return inlineGraph(graph, error, 0);
  }

private:
  static std::string key(StringRef domain, StringRef name) {
    return (domain == "ai.onnx" ? "" : domain).str() + "\n" + name.str();
  }

  LogicalResult inlineGraph(onnx::GraphProto &graph, std::string &error,
                            int depth) {
    bool calls = llvm::any_of(graph.node(), [&](const onnx::NodeProto &node) {
      return functions.count(key(node.domain(), node.op_type()));
    });
    for (onnx::NodeProto &node : *graph.mutable_node())
      for (onnx::AttributeProto &attr : *node.mutable_attribute()) {
        if (attr.has_g() &&
            failed(inlineGraph(*attr.mutable_g(), error, depth)))
          return failure();
        for (onnx::GraphProto &body : *attr.mutable_graphs())
          if (failed(inlineGraph(body, error, depth)))
            return failure();
      }
    if (!calls)
      return success();
    if (depth >= kMaxDepth) {
      error = "local functions nest more than " + std::to_string(kMaxDepth) +
              " deep (a recursive function?)";
      return failure();
    }
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    nodes.Swap(graph.mutable_node());
    for (onnx::NodeProto &node : nodes) {
      auto it = functions.find(key(node.domain(), node.op_type()));
      if (it == functions.end()) {
        *graph.add_node() = std::move(node);
        continue;
      }
      if (failed(expand(node, *it->second, graph, error)))
        return failure();
    }
    // The expanded bodies may call functions themselves.
    return inlineGraph(graph, error, depth + 1);
  }

  LogicalResult expand(const onnx::NodeProto &call,
                       const onnx::FunctionProto &function,
                       onnx::GraphProto &graph, std::string &error) {
    std::string callName = call.name().empty()
                               ? call.op_type() + "_" + std::to_string(counter)
                               : call.name();
    std::string prefix = callName + "/" + std::to_string(counter++) + "/";
    if (call.input_size() > function.input_size() ||
        call.output_size() > function.output_size()) {
      error = "call '" + callName + "' of local function '" + function.name() +
              "' gives " + std::to_string(call.input_size()) + " inputs and " +
              std::to_string(call.output_size()) +
              " outputs; the function has " +
              std::to_string(function.input_size()) + " and " +
              std::to_string(function.output_size());
      return failure();
    }
    llvm::StringMap<std::string> names;
    for (int i = 0; i < function.input_size(); ++i)
      names[function.input(i)] = i < call.input_size() ? call.input(i) : "";
    for (int i = 0; i < function.output_size(); ++i)
      names[function.output(i)] =
          i < call.output_size() && !call.output(i).empty()
              ? call.output(i)
              : prefix + function.output(i);
    auto rename = [&](const std::string &name) -> std::string {
      if (name.empty())
        return name;
      auto found = names.find(name);
      return found != names.end() ? found->second : prefix + name;
    };
    llvm::StringMap<const onnx::AttributeProto *> given;
    for (const onnx::AttributeProto &attr : defaults[&function])
      given[attr.name()] = &attr;
    for (const onnx::AttributeProto &attr : call.attribute())
      given[attr.name()] = &attr;
    for (const onnx::NodeProto &bodyNode : function.node()) {
      onnx::NodeProto *copy = graph.add_node();
      *copy = bodyNode;
      copy->set_name(
          callName + "/" +
          (bodyNode.name().empty() ? bodyNode.op_type() : bodyNode.name()));
      renameNode(*copy, rename, given);
    }
    return success();
  }

  template <typename Rename>
  static void
  renameNode(onnx::NodeProto &node, Rename &rename,
             const llvm::StringMap<const onnx::AttributeProto *> &given) {
    for (std::string &name : *node.mutable_input())
      name = rename(name);
    for (std::string &name : *node.mutable_output())
      name = rename(name);
    google::protobuf::RepeatedPtrField<onnx::AttributeProto> attrs;
    for (const onnx::AttributeProto &attr : node.attribute()) {
      if (attr.ref_attr_name().empty()) {
        onnx::AttributeProto *kept = attrs.Add();
        *kept = attr;
        if (kept->has_g())
          renameGraph(*kept->mutable_g(), rename, given);
        for (onnx::GraphProto &body : *kept->mutable_graphs())
          renameGraph(body, rename, given);
        continue;
      }
      auto found = given.find(attr.ref_attr_name());
      if (found == given.end())
        continue;
      onnx::AttributeProto *bound = attrs.Add();
      *bound = *found->second;
      bound->set_name(attr.name());
    }
    node.mutable_attribute()->Swap(&attrs);
  }

  /// A subgraph of an inlined node: every name in it is renamed the same
  /// way (its own ones prefixed, references to the function's by the map).
  template <typename Rename>
  static void
  renameGraph(onnx::GraphProto &graph, Rename &rename,
              const llvm::StringMap<const onnx::AttributeProto *> &given) {
    for (onnx::ValueInfoProto &info : *graph.mutable_input())
      info.set_name(rename(info.name()));
    for (onnx::ValueInfoProto &info : *graph.mutable_output())
      info.set_name(rename(info.name()));
    for (onnx::ValueInfoProto &info : *graph.mutable_value_info())
      info.set_name(rename(info.name()));
    for (onnx::TensorProto &tensor : *graph.mutable_initializer())
      tensor.set_name(rename(tensor.name()));
    for (onnx::NodeProto &node : *graph.mutable_node())
      renameNode(node, rename, given);
  }

  static constexpr int kMaxDepth = 32;
  llvm::StringMap<onnx::FunctionProto *> functions;
  llvm::DenseMap<const onnx::FunctionProto *, std::vector<onnx::AttributeProto>>
      defaults;
  int counter = 0;
};
} // namespace

LogicalResult ONNXImporter::inlineFunctions(onnx::ModelProto &model) {
  FunctionInliner inliner(model);
  if (inliner.empty())
    return success();
  for (const onnx::FunctionProto &function : model.functions())
    for (const onnx::OperatorSetIdProto &entry : function.opset_import())
      if (isDefaultDomain(entry.domain()) && entry.version() != opset)
        return error("local function '" + function.name() + "' imports opset " +
                     Twine(entry.version()) +
                     " of the default ONNX domain, the model " + Twine(opset));
  std::string message;
  if (failed(inliner.run(*model.mutable_graph(), message)))
    return error(message);
  model.clear_functions();
  return success();
}

LogicalResult ONNXImporter::checkOpset(const onnx::ModelProto &model) {
  bool found = false;
  for (const onnx::OperatorSetIdProto &entry : model.opset_import()) {
    if (!isDefaultDomain(entry.domain()))
      continue;
    found = true;
    opset = entry.version();
  }
  if (!found)
    return error("the model imports no opset of the default ONNX domain");
  if (opset < kMinUpgradedOpset || opset > kMaxOpset)
    return error("opset " + Twine(opset) +
                 " of the default ONNX domain is not supported (supported: " +
                 Twine(kMinUpgradedOpset) + " to " + Twine(kMaxOpset) +
                 "; those below " + Twine(kMinOpset) + " are upgraded to " +
                 Twine(kMinOpset) + ")");
  return success();
}

/// ONNX graphs assign each name once (ONNX's checker requires it): a node
/// output that reuses the name of a graph input, an initializer or an
/// earlier node's output would replace that value for the nodes after it.
LogicalResult
ONNXImporter::checkSingleAssignment(const onnx::GraphProto &graph) {
  llvm::StringMap<std::string> definedBy;
  for (const onnx::ValueInfoProto &input : graph.input())
    definedBy.try_emplace(input.name(), "a graph input");
  for (const onnx::TensorProto &tensor : graph.initializer())
    definedBy.try_emplace(tensor.name(), "an initializer");
  for (auto [index, node] : llvm::enumerate(graph.node()))
    for (const std::string &output : node.output()) {
      if (output.empty())
        continue;
      std::string label = nodeLabel(node, index);
      auto [it, inserted] =
          definedBy.try_emplace(output, "node '" + label + "'");
      if (!inserted)
        return error("node '" + label + "' (" + node.op_type() + ", opset " +
                     Twine(opset) + "): output '" + output +
                     "' is already defined by " + it->second +
                     " (an ONNX graph assigns each name once)");
    }
  return success();
}

static bool isCoerced2D(StringRef op) {
  return op == "Softmax" || op == "LogSoftmax" || op == "Hardmax";
}

/// Calls fn on every node of graph and of the graphs in its attributes, with
/// the node's index in its graph.
static void
forEachNode(onnx::GraphProto &graph,
            llvm::function_ref<void(onnx::NodeProto &, size_t)> fn) {
  for (auto [index, node] : llvm::enumerate(*graph.mutable_node())) {
    fn(node, index);
    for (onnx::AttributeProto &attr : *node.mutable_attribute()) {
      if (attr.has_g())
        forEachNode(*attr.mutable_g(), fn);
      for (onnx::GraphProto &sub : *attr.mutable_graphs())
        forEachNode(sub, fn);
    }
  }
}

namespace {
/// Nodes that ONNX's version converter must not see: it looks every node's
/// op up by name alone (a com.microsoft op it does not know stops it), and
/// the old Softmax family the importer reads itself. Each waits as a node of
/// an op the converter passes through unchanged (one first defined after
/// opset 13), tagged with its place here.
class HiddenNodes {
public:
  void hide(onnx::NodeProto &node) {
    onnx::AttributeProto *tag = node.add_attribute();
    tag->set_name(kTagAttr.str());
    tag->set_type(onnx::AttributeProto::INT);
    tag->set_i(static_cast<int64_t>(hidden.size()));
    hidden.push_back({node.op_type(), node.domain()});
    node.set_op_type(kStandIn.str());
    node.clear_domain();
  }

  /// Gives the nodes back their op and domain; those of the Softmax family
  /// are marked with kCoerced2DAttr.
  void restore(onnx::NodeProto &node) const {
    auto *attrs = node.mutable_attribute();
    auto tag = llvm::find_if(*attrs, [](const onnx::AttributeProto &attr) {
      return attr.name() == kTagAttr;
    });
    if (tag == attrs->end() || node.op_type() != kStandIn || tag->i() < 0 ||
        tag->i() >= static_cast<int64_t>(hidden.size()))
      return;
    const auto &[op, domain] = hidden[tag->i()];
    attrs->erase(tag);
    node.set_op_type(op);
    node.set_domain(domain);
    if (isDefaultDomain(domain) && isCoerced2D(op)) {
      onnx::AttributeProto *marker = node.add_attribute();
      marker->set_name(kCoerced2DAttr.str());
      marker->set_type(onnx::AttributeProto::INT);
      marker->set_i(1);
    }
  }

private:
  static constexpr llvm::StringLiteral kStandIn = "SequenceMap"; // opset 17
  static constexpr llvm::StringLiteral kTagAttr = "llmc.hidden";
  std::vector<std::pair<std::string, std::string>> hidden;
};
} // namespace

/// A model of an opset below kMinOpset becomes a model of kMinOpset through
/// ONNX's version converter, the adapters ONNX keeps for every op whose
/// definition changed (attributes that became inputs such as Split's split
/// and Squeeze's axes, Pad, Clip, Slice, Upsample to Resize, ...). The
/// converter copies the model through ONNX's IR, which keeps no external
/// data: the initializers' data waits outside while it runs.
LogicalResult ONNXImporter::upgradeOpset(onnx::ModelProto &model) {
  if (opset >= kMinOpset)
    return success();
  onnx::GraphProto &graph = *model.mutable_graph();
  auto isDefault = [](const onnx::NodeProto &node) {
    return isDefaultDomain(node.domain());
  };
  // An op the model's opset does not define would stop the converter
  // without the node's name. Ops that ONNX does not define at all but the
  // importer knows (ONNX Runtime's SimplifiedLayerNormalization, registered
  // in the default domain) wait hidden with the others.
  auto isOnnxOp = [&](const onnx::NodeProto &node) {
    return onnx::OpSchemaRegistry::Schema(node.op_type(), opset, "") != nullptr;
  };
  std::string unknown;
  forEachNode(graph, [&](onnx::NodeProto &node, size_t index) {
    if (!unknown.empty() || !isDefault(node) || isOnnxOp(node))
      return;
    // The first opset after the model's that defines the op, if any.
    const onnx::OpSchema *later = nullptr;
    for (int64_t next = opset + 1; !later && next <= kMaxOpset; ++next)
      later = onnx::OpSchemaRegistry::Schema(node.op_type(), next, "");
    if (!later && opTable().contains(node.op_type()))
      return;
    unknown = "node '" + nodeLabel(node, index) + "' (" + node.op_type() +
              ", opset " + std::to_string(opset) + "): unsupported op (opset " +
              std::to_string(opset) + " of the default domain has no " +
              node.op_type() +
              (later ? "; ONNX defines it from opset " +
                           std::to_string(later->since_version())
                     : std::string()) +
              ")";
  });
  if (!unknown.empty())
    return error(unknown);
  // ONNX's IR does not survive a graph output that nothing produces.
  llvm::StringSet<> defined;
  for (const onnx::ValueInfoProto &input : graph.input())
    defined.insert(input.name());
  for (const onnx::TensorProto &tensor : graph.initializer())
    defined.insert(tensor.name());
  // Nor an input that nothing before its node defines (the converter's
  // error would not name the node).
  for (auto [index, node] : llvm::enumerate(graph.node())) {
    for (const std::string &input : node.input())
      if (!input.empty() && !defined.contains(input))
        return error("node '" + nodeLabel(node, index) + "' (" +
                     node.op_type() + ", opset " + Twine(opset) + "): input '" +
                     input +
                     "' is not defined by an earlier node, an initializer or "
                     "a graph input");
    defined.insert(node.output().begin(), node.output().end());
  }
  for (const onnx::ValueInfoProto &output : graph.output())
    if (!defined.contains(output.name()))
      return error("graph output '" + output.name() +
                   "' is not produced by any node, initializer or input");
  // Unnamed nodes are named as the importer names them before the converter
  // inserts nodes (the Constant of an attribute that became an input).
  for (auto [index, node] : llvm::enumerate(*graph.mutable_node()))
    node.set_name(nodeLabel(node, index));
  // ONNX's shape inference and converter read the inputs and attributes an
  // op's schema requires without looking (an opset-8 Scan without its body
  // crashed them): a node with too few or too many inputs or outputs, or
  // that lacks a required attribute or has one of another type, is an
  // error.
  std::string invalid;
  forEachNode(graph, [&](onnx::NodeProto &node, size_t index) {
    const onnx::OpSchema *schema =
        isDefault(node)
            ? onnx::OpSchemaRegistry::Schema(node.op_type(), opset, "")
            : nullptr;
    if (!invalid.empty() || !schema)
      return;
    std::string where = "node '" + nodeLabel(node, index) + "' (" +
                        node.op_type() + ", opset " + std::to_string(opset) +
                        "): ";
    auto count = [&](int given, int min, int max, StringRef what) {
      if (invalid.empty() && (given < min || given > max))
        invalid = where + "expects " + std::to_string(min) +
                  (max == min ? std::string()
                   : max == std::numeric_limits<int>::max()
                       ? " or more"
                       : " to " + std::to_string(max)) +
                  " " + what.str() + ", got " + std::to_string(given);
    };
    count(node.input_size(), schema->min_input(), schema->max_input(),
          "inputs");
    count(node.output_size(), schema->min_output(), schema->max_output(),
          "outputs");
    if (!invalid.empty())
      return;
    const auto &expected = schema->attributes();
    llvm::StringSet<> seen;
    for (const onnx::AttributeProto &given : node.attribute()) {
      if (!seen.insert(given.name()).second) {
        invalid = where + "attribute '" + given.name() + "' is given twice";
        return;
      }
      auto it = expected.find(given.name());
      if (it == expected.end() ||
          given.type() == onnx::AttributeProto::UNDEFINED ||
          !given.ref_attr_name().empty() ||
          static_cast<int>(given.type()) == static_cast<int>(it->second.type))
        continue;
      invalid = where + "attribute '" + given.name() + "' is of type " +
                onnx::AttributeProto::AttributeType_Name(given.type()) +
                ", expects " +
                onnx::AttributeProto::AttributeType_Name(
                    static_cast<onnx::AttributeProto::AttributeType>(
                        it->second.type));
      return;
    }
    for (const auto &[name, attr] : expected)
      if (attr.required && !seen.contains(name)) {
        invalid = where + "expects attribute '" + name + "'";
        return;
      }
  });
  if (!invalid.empty())
    return error(invalid);

  // Adapters read shapes: the inputs' dims the user gave replace the
  // model's symbolic ones, and ONNX's shape inference carries them through
  // the graph.
  for (onnx::ValueInfoProto &input : *graph.mutable_input()) {
    auto given = options.inputShapes.find(input.name());
    if (given == options.inputShapes.end() || !input.has_type() ||
        !input.type().has_tensor_type() ||
        !input.type().tensor_type().has_shape())
      continue;
    onnx::TensorShapeProto &shape =
        *input.mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape.dim_size() != static_cast<int>(given->second.size()))
      continue;
    for (auto [dim, size] : llvm::zip(*shape.mutable_dim(), given->second))
      if (!dim.has_dim_value())
        dim.set_dim_value(size);
  }
  try {
    onnx::shape_inference::InferShapes(model);
  } catch (const std::exception &) {
    // What inference cannot tell, the adapters that need it say.
  }

  HiddenNodes hidden;
  forEachNode(graph, [&](onnx::NodeProto &node, size_t) {
    if (!isDefault(node) || !isOnnxOp(node) || isCoerced2D(node.op_type()) ||
        (opset < 9 && node.op_type() == "Scan"))
      hidden.hide(node);
  });

  // Initializers keep their name, type and dims; their data waits here.
  constexpr int64_t kHeldBytes = 256;
  llvm::StringMap<onnx::TensorProto> held;
  for (onnx::TensorProto &tensor : *graph.mutable_initializer()) {
    bool external = tensor.data_location() == onnx::TensorProto::EXTERNAL ||
                    tensor.external_data_size() > 0;
    if (!external && tensor.ByteSizeLong() < kHeldBytes)
      continue;
    onnx::TensorProto stub;
    stub.set_name(tensor.name());
    stub.set_data_type(tensor.data_type());
    *stub.mutable_dims() = tensor.dims();
    auto [it, inserted] = held.try_emplace(tensor.name());
    if (!inserted)
      return error("initializer '" + tensor.name() + "' is defined twice");
    it->second.Swap(&tensor);
    tensor.Swap(&stub);
  }

  // The converter may write warnings to std::cerr; they are not the user's
  // concern.
  std::ostringstream warnings;
  std::streambuf *cerr = std::cerr.rdbuf(warnings.rdbuf());
  llvm::scope_exit restoreCerr([&] { std::cerr.rdbuf(cerr); });
  onnx::ModelProto upgraded;
  std::string failure;
  try {
    upgraded = onnx::version_conversion::ConvertVersion(model, kMinOpset);
  } catch (const std::exception &e) {
    failure = oneLine(e.what());
  }
  if (!failure.empty()) {
    // ONNX's assertions read "FILE:LINE: FUNCTION: Assertion `COND` failed:
    // MESSAGE"; the message is the part a user can act on.
    size_t at = failure.find("failed: ");
    if (at != std::string::npos)
      failure = failure.substr(at + 8);
    return error("cannot upgrade opset " + Twine(opset) +
                 " of the default ONNX domain to " + Twine(kMinOpset) +
                 " (ONNX's version converter: " + failure + ")");
  }
  for (onnx::TensorProto &tensor :
       *upgraded.mutable_graph()->mutable_initializer()) {
    auto it = held.find(tensor.name());
    if (it != held.end()) {
      tensor.Swap(&it->second);
      held.erase(it);
    }
  }
  forEachNode(*upgraded.mutable_graph(),
              [&](onnx::NodeProto &node, size_t) { hidden.restore(node); });
  model.Swap(&upgraded);
  upgradedFrom = opset;
  opset = kMinOpset;
  return success();
}

FailureOr<RankedTensorType>
ONNXImporter::inputType(const onnx::ValueInfoProto &input) {
  const std::string &name = input.name();
  if (!input.has_type() || !input.type().has_tensor_type())
    return error("input '" + name + "' is not a tensor");
  const onnx::TypeProto::Tensor &tensor = input.type().tensor_type();
  ElementType element = elementTypeOf(tensor.elem_type(), context);
  if (!element.type)
    return error("input '" + name + "' has unsupported element type " +
                 dataTypeName(tensor.elem_type()));

  // The model's dims; kDynamic where a dim has no value.
  std::optional<SmallVector<int64_t>> declared;
  SmallVector<std::string> dimNames;
  if (tensor.has_shape()) {
    declared.emplace();
    for (const onnx::TensorShapeProto::Dimension &dim : tensor.shape().dim()) {
      if (dim.has_dim_value() && dim.dim_value() >= 0) {
        declared->push_back(dim.dim_value());
        dimNames.push_back("");
      } else {
        declared->push_back(ShapedType::kDynamic);
        dimNames.push_back(dim.has_dim_param() ? dim.dim_param() : "?");
      }
    }
  }

  auto given = options.inputShapes.find(name);
  if (given == options.inputShapes.end()) {
    if (!declared)
      return error("input '" + name +
                   "' has no shape in the model: give it with --shape " + name +
                   "=DIMS");
    for (auto [index, dim] : llvm::enumerate(*declared))
      if (ShapedType::isDynamic(dim))
        return error("input '" + name + "' has a dynamic dim '" +
                     dimNames[index] + "' (dim " + Twine(index) +
                     "): give its shape with --shape " + name + "=DIMS");
    return RankedTensorType::get(*declared, element.type);
  }

  ArrayRef<int64_t> shape = given->second;
  if (declared) {
    bool agrees = declared->size() == shape.size();
    for (size_t i = 0; agrees && i < shape.size(); ++i)
      agrees =
          ShapedType::isDynamic((*declared)[i]) || (*declared)[i] == shape[i];
    if (!agrees)
      return error("input '" + name + "' has shape " + shapeString(shape) +
                   ", the model declares " + shapeString(*declared));
  }
  return RankedTensorType::get(shape, element.type);
}

LogicalResult ONNXImporter::importInputs(const onnx::GraphProto &graph,
                                         SmallVectorImpl<Type> &types,
                                         SmallVectorImpl<std::string> &names) {
  llvm::StringSet<> initializers;
  for (const onnx::TensorProto &tensor : graph.initializer())
    initializers.insert(tensor.name());
  SmallVector<const onnx::ValueInfoProto *> graphInputs;
  llvm::StringSet<> inputNames;
  for (const onnx::ValueInfoProto &input : graph.input())
    if (!initializers.contains(input.name())) {
      graphInputs.push_back(&input);
      inputNames.insert(input.name());
    }
  for (const auto &entry : options.inputShapes)
    if (!inputNames.contains(entry.getKey())) {
      std::string known;
      for (const onnx::ValueInfoProto *input : graphInputs)
        known += (known.empty() ? "" : ", ") + input->name();
      auto flag = options.inputShapeFlags.find(entry.getKey());
      return error((flag != options.inputShapeFlags.end()
                        ? flag->getValue()
                        : std::string("--shape")) +
                   " names '" + entry.getKey() +
                   "', which is not an input of the graph (inputs: " +
                   (known.empty() ? std::string("none") : known) + ")");
    }
  for (const auto &entry : options.fixedValues)
    if (!inputNames.contains(entry.getKey()))
      return error("--value names '" + entry.getKey() +
                   "', which is not an input of the graph");
  for (const onnx::ValueInfoProto *input : graphInputs) {
    FailureOr<RankedTensorType> type = inputType(*input);
    if (failed(type))
      return failure();
    if (input->type().tensor_type().elem_type() == onnx::TensorProto::UINT8 ||
        input->type().tensor_type().elem_type() == onnx::TensorProto::UINT16)
      unsignedNames.insert(input->name());
    types.push_back(*type);
    names.push_back(input->name());
  }
  return success();
}

LogicalResult ONNXImporter::importInitializers(onnx::GraphProto &graph) {
  for (onnx::TensorProto &tensor : *graph.mutable_initializer()) {
    std::string name = tensor.name();
    if (tensor.data_type() == onnx::TensorProto::UINT8 ||
        tensor.data_type() == onnx::TensorProto::UINT16 ||
        tensor.data_type() == kOnnxUInt4)
      unsignedNames.insert(name);
    if (tensor.data_type() == kOnnxInt4 || tensor.data_type() == kOnnxUInt4)
      fourBitNames.insert(name);
    if (tensor.data_type() == kOnnxFloat8E4M3FN)
      e4m3Names.insert(name);
    FailureOr<ElementsAttr> value =
        tensorToAttr(tensor, ("initializer '" + name + "'"), blobNameFor(name));
    if (failed(value))
      return failure();
    Location loc = NameLoc::get(builder.getStringAttr(name), fileLoc);
    values[name] = createConstant(*value, loc);
  }
  return success();
}

LogicalResult ONNXImporter::importNode(onnx::NodeProto &onnxNode,
                                       size_t index) {
  node = &onnxNode;
  const std::string &opType = onnxNode.op_type();
  std::string name = nodeLabel(onnxNode, index);
  nodeLoc = NameLoc::get(builder.getStringAttr(name), fileLoc);
  bool defaultDomain = isDefaultDomain(onnxNode.domain());
  // The opset named is the default domain's; another domain is named itself.
  std::string prefix =
      "node '" + name + "' (" + opType +
      (!defaultDomain ? ", domain '" + onnxNode.domain() + "'"
       : upgradedFrom ? ", opset " + std::to_string(upgradedFrom) +
                            " upgraded to " + std::to_string(opset)
                      : ", opset " + std::to_string(opset)) +
      "): ";

  const OpEntry *entry = nullptr;
  auto it = opTable().find(opType);
  if (defaultDomain && it != opTable().end() && opset >= it->second.sinceOpset)
    entry = &it->second;
  if (onnxNode.domain() == "com.microsoft") {
    auto contrib = microsoftOpTable().find(opType);
    if (contrib != microsoftOpTable().end())
      entry = &contrib->second;
  }
  // TensorRT's FP8 Q/DQ as NVIDIA ModelOpt exports them (domain trt):
  // QuantizeLinear and DequantizeLinear to and from FLOAT8E4M3FN.
  static const OpEntry trtQuantize = {&ONNXImporter::importQuantizeLinear, 0},
                       trtDequantize = {&ONNXImporter::importDequantizeLinear,
                                        0};
  bool trtDomain = onnxNode.domain() == "trt";
  if (trtDomain && opType == "TRT_FP8QuantizeLinear")
    entry = &trtQuantize;
  if (trtDomain && opType == "TRT_FP8DequantizeLinear")
    entry = &trtDequantize;
  if (!entry) {
    // Ops whose output shape depends on their input's values cannot have a
    // static shape, which every llmc target compiles for.
    static const llvm::StringSet<> valueShaped = {"Unique", "NonMaxSuppression",
                                                  "StringSplit"};
    if (defaultDomain && valueShaped.contains(opType)) {
      emitFileError() << prefix
                      << "unsupported op: its output's shape depends on its "
                         "input's values, and llmc compiles static shapes";
      return failure();
    }
    emitFileError() << prefix << "unsupported op";
    return failure();
  }

  inputs.clear();
  results.clear();
  // A Loop body imported again rebinds its names: what they were is gone.
  for (const std::string &output : onnxNode.output()) {
    indexRows.erase(output);
    paddedCounts.erase(output);
  }
  for (const std::string &inputName : onnxNode.input()) {
    if (inputName.empty()) {
      inputs.push_back(Value());
      continue;
    }
    Value value = values.lookup(inputName);
    if (!value && sequences.count(inputName)) {
      // Sequence operands are read by name (sequenceInput).
      static const llvm::StringSet<> readsSequences = {
          "SequenceAt", "SequenceInsert",     "SequenceErase", "SequenceLength",
          "Loop",       "ConcatFromSequence", "Identity"};
      if (!defaultDomain || !readsSequences.contains(opType)) {
        emitFileError() << prefix << "input '" << inputName
                        << "' is a sequence; the op takes tensors";
        return failure();
      }
      inputs.push_back(Value());
      continue;
    }
    if (!value) {
      emitFileError() << prefix << "input '" << inputName
                      << "' is not defined by an earlier node, an "
                         "initializer or a graph input";
      return failure();
    }
    inputs.push_back(value);
  }

  // Ops that move data keep its element type and its reading (uint8 bytes
  // as 0..255, FP8 bytes as E4M3).
  static const llvm::StringSet<> movesData = {
      "Gather", "GatherElements", "GatherND",  "Reshape", "Transpose",
      "Slice",  "Squeeze",        "Unsqueeze", "Flatten", "Identity",
      "Expand", "Tile",           "Split",     "Concat",  "Pad"};
  // FP8 bytes are read as such only by the ops that take FLOAT8 in ONNX.
  static const llvm::StringSet<> readsE4M3 = {
      "QuantizeLinear", "DequantizeLinear",
      "Cast",           "CastLike",
      "Shape",          "Size"};
  for (int i = 0; i < onnxNode.input_size(); ++i)
    if (e4m3Names.contains(onnxNode.input(i)) &&
        !(defaultDomain &&
          (movesData.contains(opType) || readsE4M3.contains(opType))) &&
        !(trtDomain && opType == "TRT_FP8DequantizeLinear")) {
      emitFileError() << prefix << "input " << i << " ('" << onnxNode.input(i)
                      << "') is FLOAT8E4M3FN, which only QuantizeLinear's "
                         "zero point, DequantizeLinear, Cast, CastLike and "
                         "the ops that move data read";
      return failure();
    }

  std::string firstError;
  LogicalResult result = failure();
  {
    ScopedDiagnosticHandler capture(context, [&](Diagnostic &diag) {
      if (diag.getSeverity() == DiagnosticSeverity::Error && firstError.empty())
        firstError = oneLine(diag.str());
      return success();
    });
    // Ops whose result depends on how bytes are read compute uint8 and
    // uint16 inputs as i32 (0..255, 0..65535); an i32 result goes back to
    // the inputs' width.
    static const llvm::StringSet<> readsSign = {
        "Less",   "LessOrEqual", "Greater", "GreaterOrEqual", "Max",
        "Min",    "Div",         "Mod",     "ReduceMax",      "ReduceMin",
        "ArgMax", "ArgMin",      "TopK",    "Clip",           "Abs",
        "Sign",   "CumSum"};
    bool widened = false;
    Type narrowType;
    if (defaultDomain && readsSign.contains(opType))
      for (auto [i, value] : llvm::enumerate(inputs))
        if (Type element =
                value ? cast<RankedTensorType>(value.getType()).getElementType()
                      : Type();
            element && isUnsignedInput(i) &&
            (element.isInteger(8) || element.isInteger(16))) {
          narrowType = element;
          FailureOr<Value> wide = castFrom(i, builder.getI32Type(), false);
          if (failed(wide))
            break;
          value = *wide;
          widened = true;
        }
    result = (this->*(entry->handler))();
    if (succeeded(result))
      result = propagateIndexRows(defaultDomain);
    if (widened && succeeded(result))
      for (auto [i, value] : llvm::enumerate(results)) {
        if (!value || !cast<RankedTensorType>(value.getType())
                           .getElementType()
                           .isInteger(32))
          continue;
        FailureOr<Value> narrow = castTo(value, narrowType);
        if (failed(narrow)) {
          result = failure();
          break;
        }
        value = *narrow;
        markUnsignedOutput(i);
      }
    for (int i = results.size();
         succeeded(result) && i < onnxNode.output_size(); ++i)
      if (!onnxNode.output(i).empty() && usedNames.contains(onnxNode.output(i)))
        result = error("output " + Twine(i) + " ('" + onnxNode.output(i) +
                       "') is not supported");
  }
  if (failed(result)) {
    emitFileError() << prefix
                    << (firstError.empty() ? "cannot be imported" : firstError);
    return failure();
  }
  // Ops that move uint8 data keep it uint8 (the bytes are read as 0..255
  // downstream: Cast, DequantizeLinear, the integer matmuls), and FP8 data
  // FP8.
  for (llvm::StringSet<> *names : {&unsignedNames, &e4m3Names})
    if (defaultDomain && movesData.contains(opType) && inputIn(*names, 0) &&
        (opType != "Concat" ||
         llvm::all_of(llvm::seq<int>(0, onnxNode.input_size()),
                      [&](int i) { return inputIn(*names, i); })))
      for (int i = 0; i < onnxNode.output_size(); ++i)
        markOutput(*names, i);
  if (defaultDomain && movesData.contains(opType) && onnxNode.input_size() &&
      fourBitNames.contains(onnxNode.input(0)))
    for (const std::string &output : onnxNode.output())
      fourBitNames.insert(output);
  // A null result is a sequence, bound by its handler.
  for (auto [i, value] : llvm::enumerate(results))
    if (value && i < static_cast<size_t>(onnxNode.output_size()) &&
        !onnxNode.output(i).empty())
      values[onnxNode.output(i)] = value;
  return success();
}

LogicalResult ONNXImporter::importKnownInputs(Block &body,
                                              ArrayRef<std::string> names) {
  for (auto [index, name] : llvm::enumerate(names)) {
    auto fixed = options.fixedValues.find(name);
    if (fixed != options.fixedValues.end()) {
      BlockArgument argument = body.getArgument(index);
      auto type = cast<RankedTensorType>(argument.getType());
      ArrayRef<double> given = fixed->second;
      int64_t count = type.getNumElements();
      if (static_cast<int64_t>(given.size()) != count && given.size() != 1)
        return error("--value gives " + Twine(given.size()) +
                     " values for input '" + name + "' of shape " +
                     shapeString(type.getShape()) + " (" + Twine(count) +
                     " elements)");
      Type element = type.getElementType();
      SmallVector<Attribute> elements;
      for (int64_t i = 0; i < count; ++i) {
        double v = given[given.size() == 1 ? 0 : i];
        if (auto intType = dyn_cast<IntegerType>(element))
          elements.push_back(IntegerAttr::get(
              intType, APInt(intType.getWidth(), static_cast<int64_t>(v),
                             /*isSigned=*/intType.getWidth() > 1,
                             /*implicitTrunc=*/true)));
        else
          elements.push_back(FloatAttr::get(element, v));
      }
      Location loc = NameLoc::get(builder.getStringAttr(name), fileLoc);
      knownInputs[argument] =
          createConstant(DenseElementsAttr::get(type, elements), loc);
      continue;
    }
    auto it = options.inputValues.find(name);
    if (it == options.inputValues.end())
      continue;
    BlockArgument argument = body.getArgument(index);
    auto type = cast<RankedTensorType>(argument.getType());
    Type elementType = type.getElementType();
    std::string spelled;
    llvm::raw_string_ostream(spelled) << elementType;
    ArrayRef<char> bytes(it->second.bytes);
    uint64_t width = elementType.isInteger(1)
                         ? 1
                         : llvm::divideCeil(type.getElementTypeBitWidth(), 8);
    if (spelled != it->second.elementType ||
        bytes.size() != static_cast<uint64_t>(type.getNumElements()) * width)
      continue;
    DenseElementsAttr value;
    if (elementType.isInteger(1)) {
      SmallVector<bool> bits;
      for (char byte : bytes)
        bits.push_back(byte != 0);
      value = DenseElementsAttr::get(type, bits);
    } else {
      bool detectedSplat = false;
      if (!DenseElementsAttr::isValidRawBuffer(type, bytes, detectedSplat))
        continue;
      value = DenseElementsAttr::getFromRawBuffer(type, bytes);
    }
    Location loc = NameLoc::get(builder.getStringAttr(name), fileLoc);
    knownInputs[argument] = createConstant(value, loc);
  }
  return success();
}

void ONNXImporter::eraseDeadOps(Block &block) {
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(block)))
    if (isOpTriviallyDead(&op))
      op.erase();
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

namespace {

OwningOpRef<ModuleOp> importModelProto(onnx::ModelProto &model,
                                       StringRef displayName, StringRef baseDir,
                                       MLIRContext &context,
                                       const ImportOptions &options) {
  context.loadDialect<llm::LLMDialect, func::FuncDialect>();
  try {
    ONNXImporter importer(context, displayName, baseDir, options);
    return importer.importModel(model);
  } catch (const std::exception &e) {
    mlir::emitError(FileLineColLoc::get(&context, displayName, 0, 0))
        << "import failed: " << oneLine(e.what());
  } catch (...) {
    mlir::emitError(FileLineColLoc::get(&context, displayName, 0, 0))
        << "import failed";
  }
  return nullptr;
}

bool isTextModel(StringRef name) { return name.ends_with(".onnxtxt"); }

LogicalResult parseTextModel(StringRef text, StringRef displayName,
                             MLIRContext &context, onnx::ModelProto &model) {
  std::string source = text.str();
  onnx::Common::Status status;
  try {
    status = onnx::OnnxParser::Parse(model, source.c_str());
  } catch (const std::exception &e) {
    return mlir::emitError(FileLineColLoc::get(&context, displayName, 0, 0))
           << "not a valid ONNX text model: " << oneLine(e.what());
  }
  if (!status.IsOK())
    return mlir::emitError(FileLineColLoc::get(&context, displayName, 0, 0))
           << "not a valid ONNX text model: " << oneLine(status.ErrorMessage());
  return success();
}

} // namespace
} // namespace mlir::llm::importer

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

/// "invalid --FLAG 'SPEC': WHY (expected EXPECTED)".
static llvm::Error invalidOption(StringRef flag, StringRef spec,
                                 const Twine &why, StringRef expected) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 "invalid --" + flag + " '" + spec +
                                     "': " + why + " (expected " + expected +
                                     ")");
}

/// Splits "NAME=TEXT" at its last '=' (TEXT trimmed); the name must not be
/// empty.
static llvm::Error splitNamedOption(StringRef flag, StringRef spec,
                                    StringRef expected, StringRef &name,
                                    StringRef &text) {
  size_t equals = spec.rfind('=');
  if (equals == StringRef::npos)
    return invalidOption(flag, spec, "no '='", expected);
  name = spec.take_front(equals);
  text = spec.drop_front(equals + 1).trim();
  if (name.empty())
    return invalidOption(flag, spec, "no input name", expected);
  return llvm::Error::success();
}

llvm::Error llmc::parseShapeOption(StringRef spec, ImportOptions &options) {
  constexpr StringRef kExpected = "NAME=DIMS, e.g. x=1x16 or x=1,16";
  auto invalid = [&](const Twine &why) {
    return invalidOption("shape", spec, why, kExpected);
  };
  StringRef name, dims;
  if (llvm::Error error = splitNamedOption("shape", spec, kExpected, name, dims))
    return error;
  SmallVector<int64_t> shape;
  if (!dims.empty()) {
    SmallVector<StringRef> parts;
    dims.split(parts, dims.contains(',') ? ',' : 'x');
    for (StringRef part : parts) {
      int64_t dim = 0;
      if (part.trim().getAsInteger(10, dim) || dim < 0)
        return invalid("'" + part + "' is not a dimension");
      shape.push_back(dim);
    }
  }
  options.inputShapes[name] = std::move(shape);
  return llvm::Error::success();
}

llvm::Error llmc::parseValueOption(StringRef spec, ImportOptions &options) {
  constexpr StringRef kExpected = "NAME=V[,V...], e.g. use_cache_branch=1";
  auto invalid = [&](const Twine &why) {
    return invalidOption("value", spec, why, kExpected);
  };
  StringRef name, text;
  if (llvm::Error error = splitNamedOption("value", spec, kExpected, name, text))
    return error;
  if (text.empty())
    return invalid("no value");
  SmallVector<StringRef> parts;
  text.split(parts, ',');
  SmallVector<double> values;
  for (StringRef part : parts) {
    part = part.trim();
    double value = 0;
    if (part.equals_insensitive("true"))
      value = 1;
    else if (part.equals_insensitive("false"))
      value = 0;
    else if (part.getAsDouble(value))
      return invalid("'" + part + "' is not a number");
    values.push_back(value);
  }
  options.fixedValues[name] = std::move(values);
  return llvm::Error::success();
}

OwningOpRef<ModuleOp>
llmc::importONNXBytes(StringRef bytes, StringRef displayName, StringRef baseDir,
                      MLIRContext &context, const ImportOptions &options) {
  OneLineDiagnostics oneLineDiagnostics(context);
  onnx::ModelProto model;
  if (isTextModel(displayName)) {
    if (failed(parseTextModel(bytes, displayName, context, model)))
      return nullptr;
    return importModelProto(model, displayName, baseDir, context, options);
  }
  bool parsed = false;
  try {
    google::protobuf::io::ArrayInputStream stream(
        bytes.data(),
        static_cast<int>(std::min<size_t>(bytes.size(), INT_MAX)));
    parsed = bytes.size() <= INT_MAX && parseBinaryModel(stream, model);
  } catch (...) {
  }
  if (!parsed) {
    mlir::emitError(FileLineColLoc::get(&context, displayName, 0, 0))
        << "not a valid ONNX model (protobuf parse failed)";
    return nullptr;
  }
  return importModelProto(model, displayName, baseDir, context, options);
}

OwningOpRef<ModuleOp> llmc::importONNXFile(StringRef path, MLIRContext &context,
                                           const ImportOptions &options) {
  OneLineDiagnostics oneLineDiagnostics(context);
  Location loc = FileLineColLoc::get(&context, path, 0, 0);
  SmallString<256> baseDir = llvm::sys::path::parent_path(path);
  if (baseDir.empty())
    baseDir = ".";
  if (isTextModel(path)) {
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
    if (!buffer) {
      mlir::emitError(loc) << "cannot open the model: "
                           << buffer.getError().message();
      return nullptr;
    }
    return importONNXBytes((*buffer)->getBuffer(), path, baseDir, context,
                           options);
  }

  // Parsing from the file descriptor keeps one copy of the weights in memory
  // (the parsed strings), which the blobs then take over.
  int fd = -1;
  if (std::error_code ec = llvm::sys::fs::openFileForRead(path, fd)) {
    mlir::emitError(loc) << "cannot open the model: " << ec.message();
    return nullptr;
  }
  onnx::ModelProto model;
  bool parsed = false;
  try {
    google::protobuf::io::FileInputStream stream(fd);
    stream.SetCloseOnDelete(true);
    parsed = parseBinaryModel(stream, model);
    if (stream.GetErrno() != 0) {
      mlir::emitError(loc) << "cannot read the model: "
                           << std::strerror(stream.GetErrno());
      return nullptr;
    }
  } catch (...) {
    parsed = false;
  }
  if (!parsed) {
    mlir::emitError(loc) << "not a valid ONNX model (protobuf parse failed)";
    return nullptr;
  }
  return importModelProto(model, path, baseDir, context, options);
}
