//===- ONNXImporter.cpp - ONNX models into the llm dialect ----------------===//
//
// Reads an ONNX ModelProto (binary, or the ONNX text format) and builds one
// func.func of llm ops. Shapes become static at import: dynamic input dims
// come from ImportOptions, and every op is folded as it is built, so shape
// subgraphs turn into constants before the ops that need them (Reshape's
// shape, Slice's bounds, ...) look for one. Weights are moved out of the
// protobuf into dense_resource blobs without a copy.
//
//===----------------------------------------------------------------------===//

#include "llmc/Import/ONNXImporter.h"

#include "llm/IR/LLMOps.h"
#include "llm/Transforms/Passes.h"
#include "llmc/Support/Float8.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "onnx/defs/parser.h"
#include "onnx/onnx_pb.h"
#include "onnx/shape_inference/implementation.h"
#include "onnx/version_converter/convert.h"
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/unknown_field_set.h>

#include <climits>
#include <cmath>
#include <cstring>
#include <iostream>
#include <numeric>
#include <sstream>

using namespace mlir;
using llmc::ImportOptions;
using mlir::llm::shapeString;
using llvm::StringRef;
using llvm::Twine;

namespace {

constexpr int64_t kMinOpset = 13;
/// Models of opsets from this one up to kMinOpset are upgraded to kMinOpset.
constexpr int64_t kMinUpgradedOpset = 1;
constexpr int64_t kMaxOpset = 24;
/// Loop bodies are unrolled at import: at most this many iterations in all.
constexpr int64_t kMaxUnrolledIterations = 4096;
/// Constants with at most this many elements stay inline whatever their
/// element type, so scalars and small vectors remain readable in the IR.
constexpr int64_t kMaxInlineElements = 16;
/// Largest tensor Range may produce at import.
constexpr int64_t kMaxGeneratedElements = int64_t(1) << 26;

std::string oneLine(std::string text) {
  for (char &c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = ' ';
  while (!text.empty() && text.back() == ' ')
    text.pop_back();
  return text;
}

/// ONNX data types newer than the installed onnx headers' enum: FP8 E4M3
/// (IR version 9, a byte per value) and the 4-bit integers (IR version 10,
/// two values per byte, the low nibble first).
constexpr int32_t kOnnxFloat8E4M3FN = 17, kOnnxUInt4 = 21, kOnnxInt4 = 22;

/// The default ONNX domain, "" or its name "ai.onnx".
bool isDefaultDomain(StringRef domain) {
  return domain.empty() || domain == "ai.onnx";
}

/// A node's name, or the one the importer gives an unnamed node: its op and
/// its index in its graph.
std::string nodeLabel(const onnx::NodeProto &node, size_t index) {
  return node.name().empty() ? node.op_type() + "_" + std::to_string(index)
                             : node.name();
}

std::string dataTypeName(int32_t dataType) {
  switch (dataType) {
  case kOnnxFloat8E4M3FN:
    return "FLOAT8E4M3FN";
  case 18:
    return "FLOAT8E4M3FNUZ";
  case 19:
    return "FLOAT8E5M2";
  case 20:
    return "FLOAT8E5M2FNUZ";
  case kOnnxUInt4:
    return "UINT4";
  case kOnnxInt4:
    return "INT4";
  case 23:
    return "FLOAT4E2M1";
  }
  if (onnx::TensorProto_DataType_IsValid(dataType))
    return onnx::TensorProto_DataType_Name(
        static_cast<onnx::TensorProto_DataType>(dataType));
  return "data type " + std::to_string(dataType);
}

/// The MLIR element type of an ONNX data type and its byte width in ONNX's
/// raw_data, or a null type if the importer does not support it.
struct ElementType {
  Type type;
  unsigned byteWidth = 0;
};

ElementType elementTypeOf(int32_t dataType, MLIRContext *context) {
  Builder b(context);
  switch (dataType) {
  case onnx::TensorProto::FLOAT:
    return {b.getF32Type(), 4};
  case onnx::TensorProto::FLOAT16:
    return {b.getF16Type(), 2};
  case onnx::TensorProto::BFLOAT16:
    return {b.getBF16Type(), 2};
  case onnx::TensorProto::DOUBLE:
    return {b.getF64Type(), 8};
  case onnx::TensorProto::INT64:
    return {b.getI64Type(), 8};
  case onnx::TensorProto::INT32:
    return {b.getI32Type(), 4};
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::UINT16:
    return {b.getI16Type(), 2};
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8:
    return {b.getI8Type(), 1};
  case onnx::TensorProto::BOOL:
    return {b.getI1Type(), 1};
  default:
    return {};
  }
}

/// Whether a constant stays an inline DenseElementsAttr, where the folders
/// can read it, rather than a dense_resource blob.
bool isInlineConstant(RankedTensorType type) {
  int64_t count = type.getNumElements();
  if (count <= kMaxInlineElements)
    return true;
  return type.getElementType().isInteger() && count <= llm::kMaxFoldElements;
}

/// Resource names are printed as keys of the module's resource section; keep
/// them to characters that need no quoting.
std::string blobNameFor(StringRef name) {
  std::string result;
  for (char c : name)
    result.push_back(llvm::isAlnum(c) || c == '_' || c == '.' ? c : '_');
  if (result.empty() || llvm::isDigit(result.front()))
    result.insert(result.begin(), '_');
  return result;
}

/// Bytes of a tensor together with whatever owns them: a string moved out of
/// the protobuf, or a buffer read from an external data file.
struct TensorBytes {
  std::unique_ptr<std::string> string;
  std::unique_ptr<llvm::MemoryBuffer> buffer;

  ArrayRef<char> bytes() const {
    if (string)
      return ArrayRef<char>(string->data(), string->size());
    if (buffer)
      return ArrayRef<char>(buffer->getBufferStart(), buffer->getBufferSize());
    return {};
  }
};

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

//===----------------------------------------------------------------------===//
// The importer
//===----------------------------------------------------------------------===//

class ONNXImporter {
public:
  ONNXImporter(MLIRContext &context, StringRef displayName, StringRef baseDir,
               const ImportOptions &options)
      : context(&context), builder(&context), displayName(displayName.str()),
        baseDir(baseDir.str()), options(options),
        fileLoc(FileLineColLoc::get(&context, displayName, 0, 0)),
        nodeLoc(fileLoc) {}

  OwningOpRef<ModuleOp> importModel(onnx::ModelProto &model);

private:
  using Handler = LogicalResult (ONNXImporter::*)();
  struct OpEntry {
    Handler handler;
    /// The opset that introduced the op in the form imported here.
    int64_t sinceOpset;
  };
  static const llvm::StringMap<OpEntry> &opTable();
  /// ONNX Runtime's contrib ops (domain com.microsoft) that its transformer
  /// optimizer writes into exported models; sinceOpset is unused (0).
  static const llvm::StringMap<OpEntry> &microsoftOpTable();

  // Graph level.
  LogicalResult checkOpset(const onnx::ModelProto &model);
  LogicalResult checkSingleAssignment(const onnx::GraphProto &graph);
  LogicalResult upgradeOpset(onnx::ModelProto &model);
  LogicalResult importInitializers(onnx::GraphProto &graph);
  LogicalResult importInputs(const onnx::GraphProto &graph,
                             SmallVectorImpl<Type> &types,
                             SmallVectorImpl<std::string> &names);
  FailureOr<RankedTensorType> inputType(const onnx::ValueInfoProto &input);
  LogicalResult importNode(onnx::NodeProto &node, size_t index);
  void collectUsedNames(const onnx::GraphProto &graph);
  void boundIndexInputs(func::FuncOp func);
  LogicalResult inlineFunctions(onnx::ModelProto &model);
  LogicalResult importKnownInputs(Block &body, ArrayRef<std::string> names);
  void eraseDeadOps(Block &block);

  // Diagnostics: at graph level they name the file; inside a node handler
  // they are captured and re-emitted with the node's name and op type.
  InFlightDiagnostic emitFileError() { return mlir::emitError(fileLoc); }
  LogicalResult error(const Twine &message) {
    mlir::emitError(fileLoc) << message;
    return failure();
  }

  // Tensors.
  FailureOr<ElementsAttr> tensorToAttr(onnx::TensorProto &tensor,
                                       StringRef what, StringRef blobName);
  FailureOr<TensorBytes> readExternalData(const onnx::TensorProto &tensor,
                                          StringRef what, uint64_t size);
  ElementsAttr largeToResource(DenseElementsAttr value, StringRef blobName);
  Value createConstant(ElementsAttr value, Location loc);

  // The node being imported.
  Value input(unsigned index) const {
    return index < inputs.size() ? inputs[index] : Value();
  }
  /// The constant holding a graph input's known value, or `value` itself.
  Value known(Value value) const {
    Value constant = knownInputs.lookup(value);
    return constant ? constant : value;
  }
  LogicalResult requireInputs(unsigned count);
  /// Whether a later node or the graph reads output `index` of this node.
  bool outputUsed(int index) const {
    return index < node->output_size() && !node->output(index).empty() &&
           usedNames.contains(node->output(index));
  }
  const onnx::AttributeProto *findAttr(StringRef name) const;
  int64_t getInt(StringRef name, int64_t defaultValue) const;
  float getFloat(StringRef name, float defaultValue) const;
  std::optional<float> getOptionalFloat(StringRef name) const;
  std::string getString(StringRef name, StringRef defaultValue) const;
  std::optional<SmallVector<int64_t>> getInts(StringRef name) const;
  std::optional<SmallVector<double>> evaluate(Value value, unsigned depth = 0);
  std::optional<SmallVector<int64_t>> compileTimeInts(Value value);
  FailureOr<SmallVector<int64_t>> constantInts(unsigned index,
                                               StringRef inputName);
  FailureOr<int64_t> constantScalarInt(unsigned index, StringRef inputName);
  FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank,
                                   StringRef what = "axis");
  LogicalResult setResult(FailureOr<Value> value);

  // Op creation: infer or take the result types, verify, then fold.
  template <typename OpTy>
  FailureOr<SmallVector<Value>>
  createOp(ValueRange operands, ArrayRef<NamedAttribute> attributes = {},
           std::optional<TypeRange> resultTypes = std::nullopt);
  template <typename OpTy>
  FailureOr<Value> create(ValueRange operands,
                          ArrayRef<NamedAttribute> attributes = {},
                          Type resultType = {});
  SmallVector<Value> foldResults(Operation *op);
  FailureOr<Value> reshape(Value value, ArrayRef<int64_t> shape);
  FailureOr<Value> castTo(Value value, Type elementType);
  FailureOr<Value> castFrom(unsigned index, Type element, bool toUnsigned,
                            bool toE4M3 = false);
  NamedAttribute namedAttr(StringRef name, Attribute value) {
    return builder.getNamedAttr(name, value);
  }

  // Op handlers.
  template <typename OpTy> LogicalResult importUnary();
  template <typename OpTy> LogicalResult importBinary();
  template <typename OpTy> LogicalResult importVariadic();
  LogicalResult unifyElementTypes(Value &lhs, Value &rhs);
  template <typename OpTy, int64_t axesInputSince> LogicalResult importReduce();
  FailureOr<std::optional<SmallVector<int64_t>>>
  reduceAxes(int64_t axesInputSince);
  template <typename OpTy>
  Value reduce(Value value, ArrayRef<int64_t> axes, bool keepdims);
  Value lpNorm(Value x, int64_t p, llvm::function_ref<Value(Value)> sum);
  LogicalResult importReduceComposite();
  LogicalResult importLpNormalization();
  LogicalResult importArgExtreme();
  Value extremePosition(Value x, int64_t axis, int64_t n, bool isMax, bool last,
                        bool keepdims);
  LogicalResult importOneHot();
  LogicalResult importMean();
  LogicalResult importGlobalPool();
  LogicalResult importBatchNormalization();
  LogicalResult importHardmax();
  LogicalResult importTopK();
  /// k rounds of taking the extreme element along `axis` not yet taken.
  struct TopKRounds {
    Value taken; ///< i1, true where taken (broadcasts against x)
    SmallVector<Value> values, indices; ///< per round, size 1 along `axis`
  };
  TopKRounds topKRounds(Value x, int64_t axis, int64_t n, int64_t k,
                        bool largest);
  SmallVector<Value> sparseMixerWeights(Value logits, const TopKRounds &top,
                                        int64_t experts);
  Value softmaxAlong(Value x, int64_t axis);
  LogicalResult importGatherElements();
  LogicalResult importGatherND();
  LogicalResult importScatter();
  LogicalResult importScatterAtRunTime(StringRef reduction);
  // NonZero with a static shape: see importNonZero.
  LogicalResult importNonZero();
  /// Values computed from a NonZero's padded result: along `axis`, element
  /// r belongs to the r-th position of the NonZero's input, and `valid`
  /// ([N] i1) says which positions are nonzero.
  struct IndexRows {
    std::string source; ///< the NonZero node's name
    int64_t axis = 0;
    Value valid;
  };
  /// Values computed row by row from a NonZero's padded result.
  llvm::StringMap<IndexRows> indexRows;
  /// Values computed from the padded count (a Shape or Size of index rows,
  /// and what is computed from them) -> the NonZero node's name.
  llvm::StringMap<std::string> paddedCounts;
  const IndexRows *indexRowsOf(unsigned index) const;
  LogicalResult propagateIndexRows(bool defaultDomain);
  LogicalResult importMaskedScatter(const IndexRows &rows);
  LogicalResult requireKnownCount(StringRef name, const Twine &what);
  /// Set while importMaskedScatter imports its scatters.
  std::optional<std::string> scatterReduction;
  std::optional<SmallVector<int64_t>> indexBox(Value indices,
                                               ArrayRef<int64_t> dataShape);
  Value insertBox(Value data, Value updates, ArrayRef<int64_t> starts,
                  ArrayRef<int64_t> box, int64_t from);
  Value elementTargets(Value indices, ArrayRef<int64_t> dataShape,
                       int64_t axis);
  Value tupleRows(Value indices, ArrayRef<int64_t> indexed);
  Value scatterRows(Value data, Value rows, Value updates,
                    StringRef reduction);
  LogicalResult importMatMulNBits();
  template <typename T>
  Value denseConstant(Type elementType, ArrayRef<int64_t> shape,
                      ArrayRef<T> values);
  Value indexConstant(ArrayRef<int64_t> shape, ArrayRef<int64_t> values);
  FailureOr<std::pair<int64_t, int64_t>> staticAxis(Value value, int64_t axis);
  Value positionsAlong(int64_t rank, int64_t axis, int64_t n);
  LogicalResult importPow();
  LogicalResult importBitwise();
  LogicalResult importBitShift();
  LogicalResult importMod();
  LogicalResult importSoftmax();
  LogicalResult
  coercedTo2D(llvm::function_ref<LogicalResult(Value, int64_t)> along);
  LogicalResult importLogSoftmax();
  Value logSoftmaxAlong(Value x, int64_t axis);
  FailureOr<Value> negativeLogLikelihood(Value logProb, Value target,
                                         Value weight);
  LogicalResult importNegativeLogLikelihoodLoss();
  LogicalResult importSoftmaxCrossEntropyLoss();
  LogicalResult importLayerNormalization();
  LogicalResult importGroupNormalization();
  LogicalResult importGelu();
  LogicalResult importMatMul();
  FailureOr<Value> numpyMatMul(Value lhs, Value rhs);
  LogicalResult importGemm();
  LogicalResult importFusedActivation();
  Value fusedActivation(Value x, StringRef name, ArrayRef<float> params);
  Value namedActivation(StringRef name, Value x, std::optional<float> alpha,
                        std::optional<float> beta);
  /// x < 0 ? alpha * x : x.
  Value leakyRelu(Value x, double alpha);
  /// max(min(alpha * x + beta, 1), 0).
  Value hardSigmoid(Value x, double alpha, double beta);
  LogicalResult importReshape();
  LogicalResult importTranspose();
  LogicalResult importConcat();
  LogicalResult importSlice();
  LogicalResult importSplit();
  LogicalResult importGather();
  LogicalResult importExpand();
  LogicalResult importCast();
  LogicalResult importCastLike();
  LogicalResult importUnsqueeze();
  LogicalResult importSqueeze();
  LogicalResult importFlatten();
  LogicalResult importIdentity();
  LogicalResult importWhere();
  LogicalResult importConstant();
  LogicalResult importConstantOfShape();
  LogicalResult importShape();
  LogicalResult importSize();
  LogicalResult importRange();
  LogicalResult importTrilu();
  LogicalResult importClip();
  LogicalResult importActivation();
  LogicalResult importEyeLike();
  LogicalResult importReverseSequence();
  LogicalResult importLRN();
  LogicalResult importMeanVarianceNormalization();
  LogicalResult importMicrosoftGelu();
  LogicalResult importSkipNormalization();
  LogicalResult importEmbedLayerNormalization();
  LogicalResult importMicrosoftAttention();
  LogicalResult microsoftAttention(bool quantized);
  /// QEmbedLayerNormalization's per-tensor (scale, zero point) of the
  /// quantized tables at its input indices (2 to 6).
  llvm::DenseMap<unsigned, std::pair<Value, Value>> quantizedTables;
  LogicalResult importMicrosoftMultiHeadAttention();
  FailureOr<Value> microsoftAttend(Value q, Value k, Value v, Value mask,
                                   Value attentionBias);
  Value splitHeads(Value x, int64_t heads);
  FailureOr<Value> mergeHeads(Value x);
  Value afterPast(Value cache, Value fresh);
  FailureOr<Value> weighByScores(Value scores, Value values);
  LogicalResult importGroupQueryAttention();
  LogicalResult importMoE();
  /// A QMoE projection's experts: their bytes as stored ([E, out,
  /// in * bits / 8], read signed when there are no zero points), f32 scales
  /// [E, out, blocks or 1] and optional i8 zero points of that shape.
  struct ExpertWeights {
    Value bytes, scales, zeros;
    int64_t in, bits, block;
  };
  FailureOr<ExpertWeights> expertWeights(Value weight, Value scale, Value zero,
                                         StringRef name, int64_t out,
                                         int64_t in, int64_t bits,
                                         int64_t block);
  Value dequantizedExperts(const ExpertWeights &weights, Value indices,
                           Type element);
  LogicalResult importOnnxAttention();
  LogicalResult importTensorScatter();
  Value combinedMask(Value a, Value b, Type element);
  Value causalMask(int64_t seq, int64_t length, int64_t shift,
                   Value rowShift = {}, int64_t window = 0);
  FailureOr<Value> groupedAttention(Value q, Value k, Value v, Value mask,
                                    double scale, double softcap, bool causal,
                                    Value sink = {}, int64_t window = 0);
  LogicalResult importRotaryEmbedding();
  Value rotated(Value x, Value cos, Value sin, bool interleaved);
  Value orNull(FailureOr<Value> value) {
    return succeeded(value) ? *value : Value();
  }
  FailureOr<Value> orFailure(Value value) {
    if (!value)
      return failure();
    return value;
  }
  LogicalResult importSimplifiedLayerNormalization();
  LogicalResult importPRelu();
  LogicalResult importEinsum();
  LogicalResult importCumSum();
  // Composites: a null operand (a failed step) gives a null result, so a
  // chain of them is checked once at its end.
  template <typename OpTy> Value emit(ValueRange operands);
  Value scalarOf(Type elementType, double value);
  Value floatConstant(RankedTensorType type, ArrayRef<double> values);
  Value zerosOf(RankedTensorType type);
  Value roundHalfEven(Value x);
  Value atanOf(Value x);
  Value transposed(Value value, ArrayRef<int64_t> perm);
  Value sliceAlong(Value value, int64_t axis, int64_t start, int64_t end);
  Value concatAlong(ArrayRef<Value> values, int64_t axis);
  Value gatherRows(Value table, Value indices);
  double attentionScale(int64_t headSize) const;
  Value maskedSum(Value value, ArrayRef<int64_t> maskShape,
                  ArrayRef<bool> mask, ArrayRef<int64_t> axes);
  FailureOr<Value> plainMatMul(Value lhs, Value rhs, bool transposeRhs = false);
  LogicalResult importTile();
  Value gatherOrFill(Value value, int64_t axis, ArrayRef<int64_t> shape,
                     ArrayRef<int64_t> positions, double fill,
                     Value fillValue = {});
  struct Windows {
    SmallVector<int64_t> out;
    int64_t taps = 0;
    SmallVector<int64_t> positions;
  };
  static constexpr int64_t kPadTap = -1, kBeyondTap = -2;
  FailureOr<SmallVector<int64_t>> spatialInts(StringRef name, int64_t size,
                                              int64_t fallback);
  FailureOr<Windows> slidingWindows(ArrayRef<int64_t> dims,
                                    ArrayRef<int64_t> kernel, bool ceilMode);
  struct ConvGeometry {
    int64_t groups = 1, outChannels = 0, groupChannels = 0;
    Windows windows;
  };
  FailureOr<ConvGeometry> convGeometry(Value x, Value w, StringRef xName,
                                       StringRef wName);
  static SmallVector<int64_t> groupedShape(int64_t groups, int64_t rows,
                                           int64_t columns);
  FailureOr<Value> perChannel(Value value, RankedTensorType of);
  FailureOr<Value> patchRows(Value x, ArrayRef<int64_t> positions,
                             int64_t outCount, int64_t taps, int64_t groups,
                             Value fill = {});
  FailureOr<Value> channelsFirst(Value product, ArrayRef<int64_t> out,
                                 int64_t groups, int64_t outChannels,
                                 Value bias);
  FailureOr<Value> patchProduct(Value x, ArrayRef<int64_t> positions,
                                ArrayRef<int64_t> out, int64_t taps,
                                Value weight, int64_t groups,
                                int64_t outChannels, Value bias);
  LogicalResult importConv();
  LogicalResult importConvTranspose();
  LogicalResult importDepthToSpace();
  LogicalResult importGridSample();
  FailureOr<Value> dftAlong(Value x, int64_t axis, int64_t length, bool inverse,
                            bool onesided);
  LogicalResult importDFT();
  LogicalResult importSTFT();
  LogicalResult importWindow();
  LogicalResult importMelWeightMatrix();
  LogicalResult importPool();
  LogicalResult importMaxUnpool();
  LogicalResult importCompress();
  LogicalResult importResize();
  LogicalResult importPad();
  // Control flow and sequences, resolved at import: If takes the branch its
  // constant condition names, Loop unrolls, sequences are lists of values.
  struct Item {
    Value tensor;
    SmallVector<Value> sequence;
    bool isSequence = false;
  };
  FailureOr<Item> lookupItem(StringRef name);
  void bindItem(StringRef name, const Item &item);
  LogicalResult setItemResult(const Item &item);
  FailureOr<SmallVector<Item>> importBody(StringRef attrName,
                                          ArrayRef<Item> bindings,
                                          bool again = false);
  FailureOr<SmallVector<Value>> sequenceInput(unsigned index);
  FailureOr<int64_t> sequencePosition(unsigned index, int64_t size,
                                      bool insert);
  LogicalResult importIf();
  LogicalResult importLoop();
  LogicalResult importScan();
  LogicalResult importRecurrent();
  LogicalResult importSequenceEmpty();
  LogicalResult importSequenceConstruct();
  LogicalResult importSplitToSequence();
  LogicalResult importSequenceAt();
  LogicalResult importSequenceInsert();
  LogicalResult importSequenceErase();
  LogicalResult importSequenceLength();
  LogicalResult importConcatFromSequence();
  FailureOr<Value> stackAlong(ArrayRef<Value> values, int64_t axis);
  LogicalResult importQuantizeLinear();
  LogicalResult importDequantizeLinear();
  LogicalResult importBlockedDequantize(int64_t block);
  FailureOr<Value> dequantizeBlocks(Value x, Value scale, Value zero,
                                    int64_t axis, int64_t block,
                                    bool isUnsigned);
  LogicalResult importMatMulInteger();
  FailureOr<Value> integerProduct(Value a, Value b, Value aZero, Value bZero,
                                  bool aUnsigned, bool bUnsigned,
                                  StringRef aName = "A", StringRef bName = "B",
                                  bool transposeRhs = false);
  FailureOr<Value> integerConv(Value x, Value w, Value xZero, Value wZero,
                               bool xUnsigned, bool wUnsigned);
  LogicalResult importConvInteger();
  LogicalResult importQLinear();
  LogicalResult importDynamicQuantizeLinear();
  FailureOr<std::array<Value, 3>> dynamicQuantize(Value x);
  FailureOr<Value> integerProductToFloat(Value a, Value b, Value aScale,
                                         Value bScale, Value aZero, Value bZero,
                                         bool aUnsigned, bool bUnsigned);
  LogicalResult importMatMulIntegerToFloat();
  LogicalResult importDynamicQuantizeMatMul();
  LogicalResult importFusedMatMul();
  LogicalResult importQAttention();
  LogicalResult importQEmbedLayerNormalization();
  LogicalResult importGatherBlockQuantized();
  FailureOr<SmallVector<Value>>
  importAs(StringRef opType, ArrayRef<std::pair<std::string, Value>> operands,
           ArrayRef<std::string> attributeNames,
           ArrayRef<onnx::AttributeProto> extraAttributes = {});
  LogicalResult importQOperator();
  // Quantization helpers.
  /// Whether input `index` of the node is one of `names`; marks output
  /// `index` as one of them.
  bool inputIn(const llvm::StringSet<> &names, unsigned index) const {
    return index < static_cast<unsigned>(node->input_size()) &&
           names.contains(node->input(index));
  }
  void markOutput(llvm::StringSet<> &names, unsigned index) {
    if (index < static_cast<unsigned>(node->output_size()))
      names.insert(node->output(index));
  }
  bool isUnsignedInput(unsigned index) const {
    return inputIn(unsignedNames, index);
  }
  void markUnsignedOutput(unsigned index) { markOutput(unsignedNames, index); }
  bool isE4M3Input(unsigned index) const { return inputIn(e4m3Names, index); }
  void markE4M3Output(unsigned index) { markOutput(e4m3Names, index); }
  LogicalResult requireZeroE4M3(Value zero, StringRef what);
  std::optional<Value> quantizedConstant(Value x, Value scale, Value zero,
                                         int64_t axis, bool isUnsigned,
                                         bool e4m3, unsigned bits = 8);
  FailureOr<Value> quantizeE4M3(Value x, Value scale);
  LogicalResult requireQuantized(Value value, StringRef what, bool allowI32,
                                 bool allowI16 = false);
  FailureOr<Value> floatParameter(Value value, StringRef what);
  FailureOr<Value> alongAxis(Value parameter, int64_t rank, int64_t axis,
                             StringRef what);
  FailureOr<Value> scalarF32(float value);

  MLIRContext *context;
  OpBuilder builder;
  std::string displayName;
  std::string baseDir;
  const ImportOptions &options;
  Location fileLoc;
  int64_t opset = 0;
  /// The model's own opset when it was below kMinOpset and upgradeOpset
  /// raised it to kMinOpset; otherwise 0.
  int64_t upgradedFrom = 0;

  llvm::StringMap<Value> values;
  llvm::StringSet<> usedNames;
  /// Values whose ONNX type is uint8: llm integers are signless, so the
  /// quantization ops are told how to read these bytes.
  llvm::StringSet<> unsignedNames;
  /// Values that were INT4/UINT4 tensors (a byte per value here).
  llvm::StringSet<> fourBitNames;
  /// Values whose i8 bytes are FP8 E4M3 (ONNX's FLOAT8E4M3FN): constants,
  /// QuantizeLinear's and Cast's results, and data moved from them. Only
  /// DequantizeLinear, Cast, CastLike, the ops that move data and
  /// QuantizeLinear (its zero point's type) read them.
  llvm::StringSet<> e4m3Names;
  /// Graph inputs with a value known at compile time -> its constant.
  llvm::DenseMap<Value, Value> knownInputs;
  /// Sequence-typed names -> their tensors (known at import, as the loops
  /// that build sequences are unrolled).
  llvm::StringMap<SmallVector<Value>> sequences;
  /// The class labels of each loss node (NegativeLogLikelihoodLoss,
  /// SoftmaxCrossEntropyLoss), which boundIndexInputs binds like gather
  /// indices: a label outside the classes would read a clamped one.
  struct ClassTargets {
    Value targets;
    int64_t classes;
    std::optional<int64_t> ignore;
    std::string node;
  };
  SmallVector<ClassTargets> classTargets;
  /// Loop iterations unrolled so far, against kMaxUnrolledIterations.
  int64_t unrolledIterations = 0;

  onnx::NodeProto *node = nullptr;
  Location nodeLoc;
  SmallVector<Value> inputs;
  SmallVector<Value> results;
};

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

/// Before opset 13, Softmax, LogSoftmax and Hardmax normalize x coerced to
/// 2-D at axis (default 1). The upgrade hands such a node to the importer
/// with this attribute set, not to the converter, whose adapter needs x's
/// shape from ONNX's shape inference (which a reshape to computed dims
/// defeats).
constexpr llvm::StringLiteral kCoerced2DAttr = "llmc.coerced_2d";

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
      return error("--shape names '" + entry.getKey() +
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
// Tensors
//===----------------------------------------------------------------------===//

FailureOr<TensorBytes>
ONNXImporter::readExternalData(const onnx::TensorProto &tensor, StringRef what,
                               uint64_t size) {
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  for (const onnx::StringStringEntryProto &entry : tensor.external_data()) {
    uint64_t number = 0;
    if (entry.key() == "location") {
      location = entry.value();
    } else if (entry.key() == "offset" || entry.key() == "length") {
      if (StringRef(entry.value()).getAsInteger(10, number))
        return error(what + " has an invalid external data " + entry.key() +
                     " '" + entry.value() + "'");
      if (entry.key() == "offset")
        offset = number;
      else
        length = number;
    }
  }
  if (location.empty())
    return error(what + " has external data without a location");
  if (length && *length != size)
    return error(what + " has " + Twine(*length) +
                 " bytes of external data, its type needs " + Twine(size));

  SmallString<256> path(baseDir);
  llvm::sys::path::append(path, location);
  uint64_t fileSize = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(path, fileSize))
    return error(what + ": cannot open external data file '" + path +
                 "': " + ec.message());
  if (offset > fileSize || fileSize - offset < size)
    return error(what + ": external data file '" + path + "' has " +
                 Twine(fileSize) + " bytes, the tensor needs bytes [" +
                 Twine(offset) + ", " + Twine(offset + size) + ")");
  TensorBytes data;
  if (size == 0) {
    data.string = std::make_unique<std::string>();
    return data;
  }
  auto buffer = llvm::MemoryBuffer::getFileSlice(path, size, offset);
  if (!buffer)
    return error(what + ": cannot read external data file '" + path +
                 "': " + buffer.getError().message());
  data.buffer = std::move(*buffer);
  return data;
}

FailureOr<ElementsAttr> ONNXImporter::tensorToAttr(onnx::TensorProto &tensor,
                                                   StringRef what,
                                                   StringRef blobName) {
  // 4-bit constants become a byte per value (unpacked below); FP8 E4M3
  // constants keep their bytes (the importer marks them, see e4m3Names).
  bool fourBit =
      tensor.data_type() == kOnnxInt4 || tensor.data_type() == kOnnxUInt4;
  ElementType element = fourBit || tensor.data_type() == kOnnxFloat8E4M3FN
                            ? ElementType{builder.getI8Type(), 1}
                            : elementTypeOf(tensor.data_type(), context);
  if (!element.type)
    return error(what + " has unsupported element type " +
                 dataTypeName(tensor.data_type()));
  SmallVector<int64_t> shape;
  int64_t count = 1;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0)
      return error(what + " has a negative dim " + Twine(dim));
    if (dim != 0 && count > (int64_t(1) << 48) / dim)
      return error(what + " has too many elements");
    count *= dim;
    shape.push_back(dim);
  }
  auto type = RankedTensorType::get(shape, element.type);
  uint64_t size = fourBit ? (static_cast<uint64_t>(count) + 1) / 2
                          : static_cast<uint64_t>(count) * element.byteWidth;

  TensorBytes data;
  auto copyValues = [&](const auto &field, auto convert) {
    using Out = decltype(convert(*field.begin()));
    data.string = std::make_unique<std::string>();
    data.string->resize(field.size() * sizeof(Out));
    char *out = data.string->data();
    for (const auto &value : field) {
      Out converted = convert(value);
      std::memcpy(out, &converted, sizeof(Out));
      out += sizeof(Out);
    }
  };
  auto same = [](auto v) { return v; };
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    FailureOr<TensorBytes> external = readExternalData(tensor, what, size);
    if (failed(external))
      return failure();
    data = std::move(*external);
  } else if (tensor.has_raw_data()) {
    data.string = std::make_unique<std::string>();
    data.string->swap(*tensor.mutable_raw_data());
  } else {
    switch (tensor.data_type()) {
    case onnx::TensorProto::FLOAT:
      copyValues(tensor.float_data(), same);
      break;
    case onnx::TensorProto::DOUBLE:
      copyValues(tensor.double_data(), same);
      break;
    case onnx::TensorProto::INT64:
      copyValues(tensor.int64_data(), same);
      break;
    case onnx::TensorProto::INT32:
      copyValues(tensor.int32_data(), same);
      break;
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
      copyValues(tensor.int32_data(),
                 [](int32_t v) { return static_cast<uint16_t>(v); });
      break;
    default:
      copyValues(tensor.int32_data(),
                 [](int32_t v) { return static_cast<uint8_t>(v); });
      break;
    }
  }

  ArrayRef<char> bytes = data.bytes();
  if (bytes.size() != size)
    return error(what + " has " + Twine(bytes.size()) +
                 " bytes of data, its shape " + shapeString(shape) + " of " +
                 dataTypeName(tensor.data_type()) + " needs " + Twine(size));

  if (element.type.isInteger(1)) {
    SmallVector<bool> bits;
    bits.reserve(count);
    for (char byte : bytes)
      bits.push_back(byte != 0);
    return ElementsAttr(DenseElementsAttr::get(type, bits));
  }
  if (fourBit) {
    // Value i is nibble i % 2 of byte i / 2: INT4 sign-extended (-8..7),
    // UINT4 as 0..15 (the same byte read either way).
    std::vector<int8_t> values(count);
    for (int64_t i = 0; i < count; ++i) {
      uint8_t nibble =
          (static_cast<uint8_t>(bytes[i / 2]) >> (4 * (i % 2))) & 0xf;
      values[i] = tensor.data_type() == kOnnxInt4
                      ? static_cast<int8_t>((nibble ^ 8) - 8)
                      : static_cast<int8_t>(nibble);
    }
    return largeToResource(
        DenseElementsAttr::get(type, ArrayRef<int8_t>(values)), blobName);
  }
  if (isInlineConstant(type))
    return ElementsAttr(DenseElementsAttr::getFromRawBuffer(type, bytes));

  size_t alignment = element.byteWidth;
  if (reinterpret_cast<uintptr_t>(bytes.data()) % alignment != 0)
    return ElementsAttr(DenseResourceElementsAttr::get(
        type, blobName,
        HeapAsmResourceBlob::allocateAndCopyWithAlign(
            bytes, alignment,
            /*dataIsMutable=*/false)));
  auto owner = std::make_shared<TensorBytes>(std::move(data));
  AsmResourceBlob blob(
      bytes, alignment,
      [owner](void *, size_t, size_t) mutable { owner.reset(); },
      /*dataIsMutable=*/false);
  return ElementsAttr(
      DenseResourceElementsAttr::get(type, blobName, std::move(blob)));
}

ElementsAttr ONNXImporter::largeToResource(DenseElementsAttr value,
                                           StringRef blobName) {
  auto type = cast<RankedTensorType>(value.getType());
  if (isInlineConstant(type) || value.isSplat() ||
      type.getElementType().isInteger(1))
    return value;
  size_t alignment = llvm::divideCeil(type.getElementTypeBitWidth(), 8);
  return DenseResourceElementsAttr::get(
      type, blobName,
      HeapAsmResourceBlob::allocateAndCopyWithAlign(value.getRawData(),
                                                    alignment,
                                                    /*dataIsMutable=*/false));
}

Value ONNXImporter::createConstant(ElementsAttr value, Location loc) {
  return llm::ConstantOp::create(builder, loc, value.getShapedType(), value);
}

//===----------------------------------------------------------------------===//
// The node being imported
//===----------------------------------------------------------------------===//

LogicalResult ONNXImporter::requireInputs(unsigned count) {
  for (unsigned i = 0; i < count; ++i)
    if (!input(i))
      return error("expects at least " + Twine(count) + " inputs, got " +
                   Twine(node->input_size()) +
                   (i < inputs.size() ? " (input " + Twine(i) + " is empty)"
                                      : Twine("")));
  return success();
}

const onnx::AttributeProto *ONNXImporter::findAttr(StringRef name) const {
  for (const onnx::AttributeProto &attr : node->attribute())
    if (attr.name() == name)
      return &attr;
  return nullptr;
}

int64_t ONNXImporter::getInt(StringRef name, int64_t defaultValue) const {
  const onnx::AttributeProto *attr = findAttr(name);
  return attr && attr->type() == onnx::AttributeProto::INT ? attr->i()
                                                           : defaultValue;
}

float ONNXImporter::getFloat(StringRef name, float defaultValue) const {
  const onnx::AttributeProto *attr = findAttr(name);
  return attr && attr->type() == onnx::AttributeProto::FLOAT ? attr->f()
                                                             : defaultValue;
}

/// A FLOAT attribute's value, or none when the node has no such attribute.
std::optional<float> ONNXImporter::getOptionalFloat(StringRef name) const {
  const onnx::AttributeProto *attr = findAttr(name);
  if (attr && attr->type() == onnx::AttributeProto::FLOAT)
    return attr->f();
  return std::nullopt;
}

std::string ONNXImporter::getString(StringRef name,
                                    StringRef defaultValue) const {
  const onnx::AttributeProto *attr = findAttr(name);
  return attr && attr->type() == onnx::AttributeProto::STRING
             ? attr->s()
             : defaultValue.str();
}

std::optional<SmallVector<int64_t>>
ONNXImporter::getInts(StringRef name) const {
  const onnx::AttributeProto *attr = findAttr(name);
  if (!attr || attr->type() != onnx::AttributeProto::INTS)
    return std::nullopt;
  return SmallVector<int64_t>(attr->ints().begin(), attr->ints().end());
}

/// The integer contents of a value defined by an inline constant.
std::optional<SmallVector<int64_t>> constantIntsOf(Value value) {
  auto constant = value.getDefiningOp<llm::ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!dense || !dense.getElementType().isInteger())
    return std::nullopt;
  bool isBool = dense.getElementType().isInteger(1);
  SmallVector<int64_t> result;
  for (const APInt &v : dense.getValues<APInt>())
    result.push_back(isBool ? v.getZExtValue() : v.getSExtValue());
  return result;
}

/// The contents of a value defined by an inline constant, as doubles.
std::optional<SmallVector<double>> constantDoublesOf(Value value) {
  auto constant = value.getDefiningOp<llm::ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!dense)
    return std::nullopt;
  SmallVector<double> result;
  if (isa<FloatType>(dense.getElementType())) {
    for (APFloat v : dense.getValues<APFloat>())
      result.push_back(v.convertToDouble());
    return result;
  }
  if (std::optional<SmallVector<int64_t>> ints = constantIntsOf(value)) {
    for (int64_t v : *ints)
      result.push_back(static_cast<double>(v));
    return result;
  }
  return std::nullopt;
}

/// The elements of `value` where an op needs them at compile time, with the
/// element type's arithmetic: a constant, a graph input whose value is
/// known, or small arithmetic on those that the folders leave to run time
/// because it is in floats (torch writes a scripted loop's trip count as
/// Cast(Ceil(Cast(n - 1, f32) / 1.0), i64)). Only used for the operands that
/// must be known, it changes no run-time result.
std::optional<SmallVector<double>>
ONNXImporter::evaluate(Value value, unsigned depth) {
  value = known(value);
  if (std::optional<SmallVector<double>> constant = constantDoublesOf(value))
    return constant;
  auto type = dyn_cast<RankedTensorType>(value.getType());
  Operation *op = value.getDefiningOp();
  constexpr int64_t kMaxElements = 64;
  if (!op || depth > 16 || !type || !type.hasStaticShape() ||
      type.getNumElements() > kMaxElements)
    return std::nullopt;
  Type element = type.getElementType();
  // Rounds a double to the element type's values.
  auto round = [&](double v) -> std::optional<double> {
    if (element.isF32())
      return static_cast<double>(static_cast<float>(v));
    if (element.isF64())
      return v;
    if (auto intType = dyn_cast<IntegerType>(element)) {
      if (intType.getWidth() == 1)
        return v != 0 ? 1.0 : 0.0;
      double t = std::trunc(v);
      double limit = std::ldexp(1.0, intType.getWidth() - 1);
      if (!(t >= -limit && t < limit))
        return std::nullopt;
      return t;
    }
    return std::nullopt; // 16-bit floats: not needed for counts.
  };
  auto operand = [&](unsigned i) {
    return evaluate(op->getOperand(i), depth + 1);
  };
  SmallVector<double> result;
  if (isa<llm::CastOp, llm::CeilOp, llm::FloorOp, llm::NegOp, llm::AbsOp,
          llm::ReluOp, llm::ReshapeOp>(op)) {
    std::optional<SmallVector<double>> in = operand(0);
    if (!in || in->size() != static_cast<size_t>(type.getNumElements()))
      return std::nullopt;
    for (double v : *in) {
      double r = isa<llm::CeilOp>(op)    ? std::ceil(v)
                 : isa<llm::FloorOp>(op) ? std::floor(v)
                 : isa<llm::NegOp>(op)   ? -v
                 : isa<llm::AbsOp>(op)   ? std::fabs(v)
                 : isa<llm::ReluOp>(op)  ? std::max(v, 0.0)
                                         : v;
      std::optional<double> rounded = round(r);
      if (!rounded)
        return std::nullopt;
      result.push_back(*rounded);
    }
    return result;
  }
  if (isa<llm::AddOp, llm::SubOp, llm::MulOp, llm::DivOp, llm::MaxOp,
          llm::MinOp>(op)) {
    std::optional<SmallVector<double>> lhs = operand(0), rhs = operand(1);
    size_t count = type.getNumElements();
    // Same-shaped operands or a single element broadcast: the counts and
    // bounds this serves.
    auto fits = [&](const SmallVector<double> &v) {
      return v.size() == count || v.size() == 1;
    };
    if (!lhs || !rhs || !fits(*lhs) || !fits(*rhs))
      return std::nullopt;
    bool isInt = isa<IntegerType>(element);
    for (size_t i = 0; i < count; ++i) {
      double a = (*lhs)[lhs->size() == 1 ? 0 : i];
      double b = (*rhs)[rhs->size() == 1 ? 0 : i];
      double r;
      if (isa<llm::AddOp>(op))
        r = a + b;
      else if (isa<llm::SubOp>(op))
        r = a - b;
      else if (isa<llm::MulOp>(op))
        r = a * b;
      else if (isa<llm::MaxOp>(op))
        r = std::max(a, b);
      else if (isa<llm::MinOp>(op))
        r = std::min(a, b);
      else if (isInt && b == 0)
        return std::nullopt;
      else
        r = a / b;
      std::optional<double> rounded = round(r);
      if (!rounded)
        return std::nullopt;
      result.push_back(*rounded);
    }
    return result;
  }
  return std::nullopt;
}

std::optional<SmallVector<int64_t>>
ONNXImporter::compileTimeInts(Value value) {
  value = known(value);
  if (std::optional<SmallVector<int64_t>> ints = constantIntsOf(value))
    return ints;
  if (!cast<RankedTensorType>(value.getType()).getElementType().isInteger())
    return std::nullopt;
  std::optional<SmallVector<double>> values = evaluate(value);
  if (!values)
    return std::nullopt;
  SmallVector<int64_t> ints;
  for (double v : *values)
    ints.push_back(static_cast<int64_t>(v));
  return ints;
}

FailureOr<SmallVector<int64_t>>
ONNXImporter::constantInts(unsigned index, StringRef inputName) {
  Value value = known(input(index));
  if (!value)
    return error("expects input '" + inputName + "'");
  if (!cast<RankedTensorType>(value.getType()).getElementType().isInteger())
    return error("expects input '" + inputName + "' of an integer type");
  std::optional<SmallVector<int64_t>> ints = compileTimeInts(value);
  if (!ints)
    return error("input '" + inputName +
                 "' must be a compile-time constant; give static input shapes "
                 "with --shape");
  return *ints;
}

FailureOr<int64_t> ONNXImporter::constantScalarInt(unsigned index,
                                                   StringRef inputName) {
  FailureOr<SmallVector<int64_t>> ints = constantInts(index, inputName);
  if (failed(ints))
    return failure();
  if (ints->size() != 1)
    return error("expects input '" + inputName + "' to hold one value, got " +
                 Twine(ints->size()));
  return ints->front();
}

FailureOr<int64_t> ONNXImporter::normalizeAxis(int64_t axis, int64_t rank,
                                               StringRef what) {
  if (axis < -rank || axis >= rank)
    return error("expects " + what + " in [" + Twine(-rank) + ", " +
                 Twine(rank) + "), got " + Twine(axis));
  return axis < 0 ? axis + rank : axis;
}

LogicalResult ONNXImporter::setResult(FailureOr<Value> value) {
  if (failed(value))
    return failure();
  results.push_back(*value);
  return success();
}

RankedTensorType typeOf(Value value) {
  return cast<RankedTensorType>(value.getType());
}

//===----------------------------------------------------------------------===//
// Op creation
//===----------------------------------------------------------------------===//

// Generated builders that infer result types abort on failure; instead the
// op's inference runs first and its diagnostic becomes the node's error.
template <typename OpTy>
FailureOr<SmallVector<Value>>
ONNXImporter::createOp(ValueRange operands, ArrayRef<NamedAttribute> attributes,
                       std::optional<TypeRange> resultTypes) {
  OperationState state(nodeLoc, OpTy::getOperationName());
  // Inference reads attributes from properties: start from the defaults so
  // that omitted default-valued attributes read as their defaults.
  using Properties = typename OpTy::Properties;
  if constexpr (!std::is_same_v<Properties, EmptyProperties>)
    state.name.populateDefaultProperties(
        &state.getOrAddProperties<Properties>());
  OpTy::build(builder, state, TypeRange(), operands, attributes);
  if (resultTypes) {
    state.addTypes(*resultTypes);
  } else if constexpr (OpTy::template hasTrait<InferTypeOpInterface::Trait>()) {
    SmallVector<Type> types;
    if (failed(OpTy::inferReturnTypes(context, nodeLoc, state.operands,
                                      state.attributes.getDictionary(context),
                                      state.getRawProperties(), RegionRange(),
                                      types)))
      return failure();
    state.addTypes(types);
  } else {
    return error(Twine("internal error: no result type for '") +
                 OpTy::getOperationName() + "'");
  }
  Operation *op = builder.create(state);
  if (failed(mlir::verify(op))) {
    op->erase();
    return failure();
  }
  return foldResults(op);
}

template <typename OpTy>
FailureOr<Value> ONNXImporter::create(ValueRange operands,
                                      ArrayRef<NamedAttribute> attributes,
                                      Type resultType) {
  FailureOr<SmallVector<Value>> values =
      resultType ? createOp<OpTy>(operands, attributes, TypeRange(resultType))
                 : createOp<OpTy>(operands, attributes);
  if (failed(values))
    return failure();
  return values->front();
}

SmallVector<Value> ONNXImporter::foldResults(Operation *op) {
  SmallVector<Value> values(op->getResults());
  if (op->hasTrait<OpTrait::ConstantLike>())
    return values;
  SmallVector<OpFoldResult> folded;
  if (failed(op->fold(folded)) || folded.size() != values.size())
    return values;
  bool replacedAll = true;
  for (auto [index, result] : llvm::enumerate(folded)) {
    Value replacement = dyn_cast<Value>(result);
    if (auto attr = dyn_cast_if_present<Attribute>(result))
      if (Operation *constant = op->getDialect()->materializeConstant(
              builder, attr, values[index].getType(), op->getLoc()))
        replacement = constant->getResult(0);
    if (replacement && replacement != values[index])
      values[index] = replacement;
    else
      replacedAll = false;
  }
  if (replacedAll)
    op->erase();
  return values;
}

FailureOr<Value> ONNXImporter::reshape(Value value, ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, typeOf(value).getElementType());
  if (type == value.getType())
    return value;
  return create<llm::ReshapeOp>(value, {}, type);
}

FailureOr<Value> ONNXImporter::castTo(Value value, Type elementType) {
  RankedTensorType type = typeOf(value);
  if (type.getElementType() == elementType)
    return value;
  return create<llm::CastOp>(value, {}, type.clone(elementType));
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

template <typename OpTy> LogicalResult ONNXImporter::importUnary() {
  if (failed(requireInputs(1)))
    return failure();
  return setResult(create<OpTy>(input(0), {}, input(0).getType()));
}

/// The two operands of an elementwise node in one element type. ONNX
/// requires one, but torch's exporter casts nothing for Max and Min (its
/// type promotion leaves them out): a 16-bit model's `torch.max(x,
/// torch.tensor(finfo.min))`, as Hugging Face's OPT writes it, arrives as
/// Max(bf16, f32 constant of one element). Torch computes such a pair in
/// the tensor's type when the constant is a 0-d tensor of the same kind (a
/// float, or an integer) or of a lower one (an integer beside a float), and
/// so does this: the constant becomes one of the other operand's type
/// (rounded to nearest even as a Cast would; an integer must fit). Any
/// other mix is an error that names both types.
LogicalResult ONNXImporter::unifyElementTypes(Value &lhs, Value &rhs) {
  Type lhsType = typeOf(lhs).getElementType();
  Type rhsType = typeOf(rhs).getElementType();
  if (lhsType == rhsType)
    return success();
  auto isInteger = [](Type type) {
    return isa<IntegerType>(type) && !type.isInteger(1);
  };
  // The one-element constant `value`, if it can take `type`.
  auto convertible = [&](Value value, Type type) -> std::optional<double> {
    std::optional<SmallVector<double>> values = constantDoublesOf(known(value));
    if (!values || values->size() != 1)
      return std::nullopt;
    Type own = typeOf(value).getElementType();
    double x = values->front();
    if (isa<FloatType>(type) && (isa<FloatType>(own) || isInteger(own)))
      return x;
    if (isInteger(type) && isInteger(own)) {
      auto integer = cast<IntegerType>(type);
      unsigned width = integer.getWidth();
      double low = integer.isUnsigned() ? 0.0 : -std::ldexp(1.0, width - 1);
      double high = integer.isUnsigned() ? std::ldexp(1.0, width)
                                         : std::ldexp(1.0, width - 1);
      if (x >= low && x < high)
        return x;
    }
    return std::nullopt;
  };
  for (bool castRhs : {true, false}) {
    Value &scalar = castRhs ? rhs : lhs;
    Type target = castRhs ? lhsType : rhsType;
    if (std::optional<double> value = convertible(scalar, target)) {
      FailureOr<Value> converted =
          reshape(scalarOf(target, *value), typeOf(scalar).getShape());
      if (failed(converted))
        return failure();
      scalar = *converted;
      return success();
    }
  }
  std::string names;
  llvm::raw_string_ostream(names) << lhsType << " and " << rhsType;
  return error("inputs have different element types (" + names + "); " +
               node->op_type() + " takes one type for all of them");
}

template <typename OpTy> LogicalResult ONNXImporter::importBinary() {
  if (failed(requireInputs(2)))
    return failure();
  Value lhs = input(0), rhs = input(1);
  if (failed(unifyElementTypes(lhs, rhs)))
    return failure();
  return setResult(create<OpTy>({lhs, rhs}));
}

template <typename OpTy> LogicalResult ONNXImporter::importVariadic() {
  if (failed(requireInputs(1)))
    return failure();
  Value result = input(0);
  for (unsigned i = 1; i < inputs.size(); ++i) {
    if (!input(i))
      return error("expects no empty inputs");
    Value operand = input(i);
    if (failed(unifyElementTypes(result, operand)))
      return failure();
    FailureOr<Value> next = create<OpTy>({result, operand});
    if (failed(next))
      return failure();
    result = *next;
  }
  return setResult(result);
}

/// BitwiseAnd, BitwiseOr, BitwiseXor and BitwiseNot (opset 18) of integer
/// tensors: llm's logical ops, bitwise on integers wider than i1. The
/// result has its operands' type, uint8 included.
LogicalResult ONNXImporter::importBitwise() {
  StringRef opType = node->op_type();
  bool unary = opType == "BitwiseNot";
  if (failed(requireInputs(unary ? 1 : 2)))
    return failure();
  for (unsigned i = 0; i < (unary ? 1u : 2u); ++i) {
    Type element = typeOf(input(i)).getElementType();
    if (!isa<IntegerType>(element) || element.isInteger(1))
      return error(opType + " expects integer tensors");
  }
  if (isUnsignedInput(0))
    markUnsignedOutput(0);
  if (unary)
    return setResult(emit<llm::NotOp>(input(0)));
  if (typeOf(input(0)).getElementType() != typeOf(input(1)).getElementType())
    return error(opType + " expects two tensors of one integer type");
  Value result = opType == "BitwiseAnd" ? emit<llm::AndOp>({input(0), input(1)})
                 : opType == "BitwiseOr"
                     ? emit<llm::OrOp>({input(0), input(1)})
                     : emit<llm::XorOp>({input(0), input(1)});
  return result ? setResult(result) : failure();
}

/// BitShift (opset 11) of unsigned integers, uint8 and uint16 (llm's
/// integers are signless, and wider unsigned types are not taken): a shift
/// by the bit width or more gives 0, as numpy's does.
LogicalResult ONNXImporter::importBitShift() {
  if (failed(requireInputs(2)))
    return failure();
  std::string direction = getString("direction", "");
  if (direction != "LEFT" && direction != "RIGHT")
    return error("direction must be LEFT or RIGHT, got '" + direction + "'");
  for (unsigned i = 0; i < 2; ++i) {
    Type element = typeOf(input(i)).getElementType();
    if (!isa<IntegerType>(element) || element.isInteger(1) ||
        !isUnsignedInput(i))
      return error("expects unsigned integer tensors (uint8 or uint16)");
  }
  if (typeOf(input(0)).getElementType() != typeOf(input(1)).getElementType())
    return error("expects two tensors of one unsigned integer type");
  markUnsignedOutput(0);
  Value result = direction == "LEFT"
                     ? emit<llm::ShiftLeftOp>({input(0), input(1)})
                     : emit<llm::ShiftRightOp>({input(0), input(1)});
  return result ? setResult(result) : failure();
}

LogicalResult ONNXImporter::importPow() {
  if (failed(requireInputs(2)))
    return failure();
  FailureOr<Value> exponent =
      castTo(input(1), typeOf(input(0)).getElementType());
  if (failed(exponent))
    return failure();
  return setResult(create<llm::PowOp>({input(0), *exponent}));
}

LogicalResult ONNXImporter::importMod() {
  if (failed(requireInputs(2)))
    return failure();
  Type elementType = typeOf(input(0)).getElementType();
  bool isFloat = isa<FloatType>(elementType);
  if (getInt("fmod", 0) == 0) {
    if (isFloat)
      return error("floating-point Mod needs fmod=1");
    return setResult(create<llm::ModOp>({input(0), input(1)}));
  }
  // fmod=1 keeps the sign of the dividend: a - trunc(a / b) * b. Integer
  // division truncates; a float quotient is truncated by rounding toward
  // zero: ceil below zero, floor above.
  FailureOr<Value> quotient = create<llm::DivOp>({input(0), input(1)});
  if (failed(quotient))
    return failure();
  if (isFloat) {
    Value zero = scalarOf(elementType, 0);
    FailureOr<Value> negative = create<llm::LessOp>({*quotient, zero});
    FailureOr<Value> up =
        create<llm::CeilOp>(*quotient, {}, quotient->getType());
    FailureOr<Value> down =
        create<llm::FloorOp>(*quotient, {}, quotient->getType());
    if (failed(negative) || failed(up) || failed(down))
      return failure();
    quotient = create<llm::WhereOp>({*negative, *up, *down});
    if (failed(quotient))
      return failure();
  }
  FailureOr<Value> product = create<llm::MulOp>({*quotient, input(1)});
  if (failed(product))
    return failure();
  return setResult(create<llm::SubOp>({input(0), *product}));
}

LogicalResult ONNXImporter::importWhere() {
  if (failed(requireInputs(3)))
    return failure();
  return setResult(create<llm::WhereOp>({input(0), input(1), input(2)}));
}

LogicalResult ONNXImporter::importClip() {
  if (failed(requireInputs(1)))
    return failure();
  Value result = input(0);
  Type elementType = typeOf(result).getElementType();
  if (Value min = input(1)) {
    FailureOr<Value> bound = castTo(min, elementType);
    if (failed(bound))
      return failure();
    FailureOr<Value> clipped = create<llm::MaxOp>({result, *bound});
    if (failed(clipped))
      return failure();
    result = *clipped;
  }
  if (Value max = input(2)) {
    FailureOr<Value> bound = castTo(max, elementType);
    if (failed(bound))
      return failure();
    FailureOr<Value> clipped = create<llm::MinOp>({result, *bound});
    if (failed(clipped))
      return failure();
    result = *clipped;
  }
  return setResult(result);
}

template <typename OpTy> Value ONNXImporter::emit(ValueRange operands) {
  if (llvm::any_of(operands, [](Value value) { return !value; }))
    return {};
  FailureOr<Value> result;
  if constexpr (OpTy::template hasTrait<InferTypeOpInterface::Trait>())
    result = create<OpTy>(operands);
  else
    result = create<OpTy>(operands, {}, operands.front().getType());
  return succeeded(result) ? *result : Value();
}

Value ONNXImporter::scalarOf(Type elementType, double value) {
  auto type = RankedTensorType::get({}, elementType);
  Attribute element;
  if (auto floatType = dyn_cast<FloatType>(elementType)) {
    bool losesInfo = false;
    APFloat converted(value);
    converted.convert(floatType.getFloatSemantics(),
                      APFloat::rmNearestTiesToEven, &losesInfo);
    element = builder.getFloatAttr(elementType, converted);
  } else {
    element = builder.getIntegerAttr(elementType, static_cast<int64_t>(value));
  }
  return createConstant(DenseElementsAttr::get(type, element), nodeLoc);
}

/// A constant of `type` holding zeros.
Value ONNXImporter::zerosOf(RankedTensorType type) {
  return createConstant(
      DenseElementsAttr::get(type, builder.getZeroAttr(type.getElementType())),
      nodeLoc);
}

Value ONNXImporter::transposed(Value value, ArrayRef<int64_t> perm) {
  if (!value)
    return {};
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return value;
  FailureOr<Value> result = create<llm::TransposeOp>(
      value, {namedAttr("permutation", builder.getDenseI64ArrayAttr(perm))});
  return succeeded(result) ? *result : Value();
}

/// An attention node's `scale` attribute, or 1/sqrt(headSize) when it is
/// absent or 0 (ONNX's and ONNX Runtime's default).
double ONNXImporter::attentionScale(int64_t headSize) const {
  double scale = getFloat("scale", 0.0f);
  return scale != 0.0 ? scale : 1.0 / std::sqrt(static_cast<double>(headSize));
}

/// `values` one after another along `axis`; null if any is.
Value ONNXImporter::concatAlong(ArrayRef<Value> values, int64_t axis) {
  if (llvm::any_of(values, [](Value value) { return !value; }))
    return {};
  return orNull(create<llm::ConcatOp>(
      values, {namedAttr("axis", builder.getI64IntegerAttr(axis))}));
}

/// The rows of `table` (along its first dim) at run-time `indices`: shape
/// indices' + table's without its first (null for a null operand).
Value ONNXImporter::gatherRows(Value table, Value indices) {
  if (!table || !indices)
    return {};
  return orNull(create<llm::GatherOp>(
      {table, indices}, {namedAttr("axis", builder.getI64IntegerAttr(0))}));
}

/// Positions [start, end) of `value` along `axis`, the other dims whole.
Value ONNXImporter::sliceAlong(Value value, int64_t axis, int64_t start,
                               int64_t end) {
  if (!value)
    return {};
  SmallVector<int64_t> starts(typeOf(value).getRank(), 0),
      ends(typeOf(value).getShape()), steps(starts.size(), 1);
  starts[axis] = start;
  ends[axis] = end;
  return orNull(create<llm::SliceOp>(
      value, {namedAttr("starts", builder.getDenseI64ArrayAttr(starts)),
              namedAttr("ends", builder.getDenseI64ArrayAttr(ends)),
              namedAttr("steps", builder.getDenseI64ArrayAttr(steps))}));
}

/// `value` where the boolean constant `mask` (of `maskShape`, broadcast
/// against it) holds and zero elsewhere, summed over `axes`.
Value ONNXImporter::maskedSum(Value value, ArrayRef<int64_t> maskShape,
                              ArrayRef<bool> mask, ArrayRef<int64_t> axes) {
  Value maskValue = denseConstant(builder.getI1Type(), maskShape, mask);
  Value zero = scalarOf(typeOf(value).getElementType(), 0);
  return reduce<llm::ReduceSumOp>(emit<llm::WhereOp>({maskValue, value, zero}),
                                 axes, /*keepdims=*/false);
}

/// lhs x rhs (or x rhsᵀ) as a plain llm.matmul: no bias, no residual
/// (fusion adds the epilogue).
FailureOr<Value> ONNXImporter::plainMatMul(Value lhs, Value rhs,
                                           bool transposeRhs) {
  SmallVector<NamedAttribute> attrs{
      namedAttr(llm::MatMulOp::getOperandSegmentSizeAttr(),
                builder.getDenseI32ArrayAttr({1, 1, 0, 0}))};
  if (transposeRhs)
    attrs.push_back(namedAttr("transpose_rhs", builder.getBoolAttr(true)));
  return create<llm::MatMulOp>({lhs, rhs}, attrs);
}

/// Activations and elementwise functions that ONNX defines as functions of
/// simpler ops, built from llm ops so that every backend runs them and the
/// fusion passes see through them. Their formulas are ONNX's.
LogicalResult ONNXImporter::importActivation() {
  if (failed(requireInputs(1)))
    return failure();
  StringRef opType = node->op_type();
  Value x = input(0);
  Type elementType = typeOf(x).getElementType();
  bool isFloat = isa<FloatType>(elementType);
  if (!isFloat && opType != "Sign") {
    std::string typeName;
    llvm::raw_string_ostream(typeName) << elementType;
    return error("expects a floating-point input, got element type " +
                 typeName);
  }
  auto c = [&](double value) { return scalarOf(elementType, value); };
  auto expMinusOne = [&](Value v) {
    return emit<llm::SubOp>({emit<llm::ExpOp>({v}), c(1)});
  };
  // log(1 + y) and exp(x) - 1 without cancellation near 0 (Goldberg's and
  // Kahan's corrections: the rounding of 1 + y, and of exp(x), divided out).
  auto log1pOf = [&](Value y) {
    Value u = emit<llm::AddOp>({c(1), y});
    Value shifted = emit<llm::SubOp>({u, c(1)});
    return emit<llm::WhereOp>(
        {emit<llm::EqualOp>({shifted, c(0)}), y,
         emit<llm::MulOp>(
             {emit<llm::LogOp>({u}), emit<llm::DivOp>({y, shifted})})});
  };
  auto expm1Of = [&](Value v) {
    Value u = emit<llm::ExpOp>({v});
    Value shifted = emit<llm::SubOp>({u, c(1)});
    Value corrected = emit<llm::MulOp>(
        {shifted, emit<llm::DivOp>({v, emit<llm::LogOp>({u})})});
    // u = 1: v itself; u = inf: inf (inf / inf would be NaN).
    return emit<llm::WhereOp>(
        {emit<llm::EqualOp>({shifted, c(0)}), v,
         emit<llm::WhereOp>(
             {emit<llm::EqualOp>({u, c(INFINITY)}), u, corrected})});
  };
  Value zero = c(0), result;
  if (llvm::is_contained({"Softplus", "Softsign", "LeakyRelu",
                          "ThresholdedRelu", "Elu", "HardSigmoid"},
                         opType)) {
    result = namedActivation(opType, x, getOptionalFloat("alpha"),
                             getOptionalFloat("beta"));
  } else if (opType == "Celu") {
    // max(0, x) + min(0, alpha * (exp(x / alpha) - 1))
    Value alpha = c(getFloat("alpha", 1.0f));
    result = emit<llm::AddOp>(
        {emit<llm::MaxOp>({x, zero}),
         emit<llm::MinOp>(
             {emit<llm::MulOp>(
                  {alpha, expMinusOne(emit<llm::DivOp>({x, alpha}))}),
              zero})});
  } else if (opType == "Selu") {
    Value alpha = c(getFloat("alpha", 1.67326319217681884765625f));
    Value gamma = c(getFloat("gamma", 1.05070102214813232421875f));
    result = emit<llm::MulOp>(
        {gamma, emit<llm::WhereOp>(
                    {emit<llm::LessEqualOp>({x, zero}),
                     emit<llm::SubOp>(
                         {emit<llm::MulOp>({alpha, emit<llm::ExpOp>({x})}),
                          alpha}),
                     x})});
  } else if (opType == "Mish") {
    result = emit<llm::MulOp>(
        {x, emit<llm::TanhOp>(
                {namedActivation("Softplus", x, std::nullopt, std::nullopt)})});
  } else if (opType == "Swish") {
    // x * sigmoid(alpha * x); with alpha 1 the SiLU the fusions know.
    float alpha = getFloat("alpha", 1.0f);
    Value scaled = alpha == 1.0f ? x : emit<llm::MulOp>({x, c(alpha)});
    result = emit<llm::MulOp>({x, emit<llm::SigmoidOp>({scaled})});
  } else if (opType == "HardSwish") {
    result = emit<llm::MulOp>({x, hardSigmoid(x, 1.0 / 6, 0.5)});
  } else if (opType == "Sign") {
    if (isa<IntegerType>(elementType) &&
        elementType.getIntOrFloatBitWidth() == 1)
      return error("expects a numeric input, got a bool tensor");
    result = emit<llm::WhereOp>(
        {emit<llm::GreaterOp>({x, zero}), c(1),
         emit<llm::WhereOp>({emit<llm::LessOp>({x, zero}), c(-1), zero})});
  } else if (opType == "Shrink") {
    Value lambd = c(getFloat("lambd", 0.5f)), bias = c(getFloat("bias", 0));
    result = emit<llm::WhereOp>(
        {emit<llm::LessOp>({x, emit<llm::NegOp>({lambd})}),
         emit<llm::AddOp>({x, bias}),
         emit<llm::WhereOp>({emit<llm::GreaterOp>({x, lambd}),
                             emit<llm::SubOp>({x, bias}), zero})});
  } else if (opType == "Tan") {
    result = emit<llm::DivOp>({emit<llm::SinOp>({x}), emit<llm::CosOp>({x})});
  } else if (opType == "Sinh" || opType == "Cosh") {
    // Past |x| = 88, exp(|x|) overflows f32 before sinh and cosh do:
    // (exp(|x| / 2) / 2) exp(|x| / 2) there.
    Value magnitude = emit<llm::AbsOp>({x});
    Value root = emit<llm::ExpOp>({emit<llm::MulOp>({magnitude, c(0.5)})});
    Value far = emit<llm::MulOp>({emit<llm::MulOp>({root, c(0.5)}), root});
    Value near;
    if (opType == "Cosh") {
      near = emit<llm::MulOp>(
          {emit<llm::AddOp>({emit<llm::ExpOp>({x}),
                             emit<llm::ExpOp>({emit<llm::NegOp>({x})})}),
           c(0.5)});
    } else {
      // (e + e / (e + 1)) / 2 with e = expm1(|x|): no cancellation near 0.
      Value e = expm1Of(magnitude);
      near = emit<llm::MulOp>(
          {c(0.5),
           emit<llm::AddOp>(
               {e, emit<llm::DivOp>({e, emit<llm::AddOp>({e, c(1)})})})});
    }
    result = emit<llm::WhereOp>(
        {emit<llm::GreaterOp>({magnitude, c(88)}), far, near});
    if (opType == "Sinh")
      result = emit<llm::WhereOp>(
          {emit<llm::LessOp>({x, zero}), emit<llm::NegOp>({result}), result});
  } else if (opType == "Atan") {
    result = atanOf(x);
  } else if (opType == "Asin") {
    // atan(x / sqrt((1 - x)(1 + x))): +-pi/2 at +-1, NaN past them.
    Value cosine = emit<llm::SqrtOp>({emit<llm::MulOp>(
        {emit<llm::SubOp>({c(1), x}), emit<llm::AddOp>({c(1), x})})});
    result = atanOf(emit<llm::DivOp>({x, cosine}));
  } else if (opType == "Acos") {
    // 2 atan(sqrt((1 - x) / (1 + x))), exact near 1 where pi/2 - asin(x)
    // is not.
    result = emit<llm::MulOp>(
        {c(2),
         atanOf(emit<llm::SqrtOp>({emit<llm::DivOp>(
             {emit<llm::SubOp>({c(1), x}), emit<llm::AddOp>({c(1), x})})}))});
  } else if (opType == "Asinh") {
    // sign(x) log1p(|x| + x^2 / (1 + sqrt(1 + x^2))), odd as asinh is; past
    // 2^12, log(2 |x|) (x^2 would overflow first).
    Value magnitude = emit<llm::AbsOp>({x});
    Value square = emit<llm::MulOp>({magnitude, magnitude});
    Value small = log1pOf(emit<llm::AddOp>(
        {magnitude, emit<llm::DivOp>(
                        {square, emit<llm::AddOp>(
                                     {c(1), emit<llm::SqrtOp>({emit<llm::AddOp>(
                                                {c(1), square})})})})}));
    Value large = emit<llm::AddOp>({emit<llm::LogOp>({magnitude}), c(M_LN2)});
    Value positive = emit<llm::WhereOp>(
        {emit<llm::GreaterOp>({magnitude, c(4096)}), large, small});
    result = emit<llm::WhereOp>(
        {emit<llm::LessOp>({x, zero}), emit<llm::NegOp>({positive}), positive});
  } else if (opType == "Acosh") {
    // log1p(t + sqrt(t (x + 1))) with t = x - 1; past 2^12, log(2 x).
    Value t = emit<llm::SubOp>({x, c(1)});
    Value near =
        log1pOf(emit<llm::AddOp>({t, emit<llm::SqrtOp>({emit<llm::MulOp>(
                                         {t, emit<llm::AddOp>({x, c(1)})})})}));
    Value far = emit<llm::AddOp>({emit<llm::LogOp>({x}), c(M_LN2)});
    result =
        emit<llm::WhereOp>({emit<llm::GreaterOp>({x, c(4096)}), far, near});
  } else if (opType == "Atanh") {
    // (log1p(x) - log1p(-x)) / 2: the two have opposite signs near 0, and
    // 1 + x is exact near -1 (1 - x near 1).
    result = emit<llm::MulOp>(
        {c(0.5),
         emit<llm::SubOp>({log1pOf(x), log1pOf(emit<llm::NegOp>({x}))})});
  } else if (opType == "Round") {
    result = roundHalfEven(x);
  } else if (opType == "IsNaN") {
    result = emit<llm::NotOp>({emit<llm::EqualOp>({x, x})});
  } else if (opType == "IsInf") {
    Value positive = getInt("detect_positive", 1)
                         ? emit<llm::EqualOp>({x, c(INFINITY)})
                         : Value();
    Value negative = getInt("detect_negative", 1)
                         ? emit<llm::EqualOp>({x, c(-INFINITY)})
                         : Value();
    if (positive && negative)
      result = emit<llm::OrOp>({positive, negative});
    else if (positive || negative)
      result = positive ? positive : negative;
    else // Neither: all false (nothing is below -inf).
      result = emit<llm::LessOp>({x, c(-INFINITY)});
  } else {
    return error("no composite for " + opType.str());
  }
  if (!result)
    return failure();
  return setResult(result);
}

/// com.microsoft Gelu (exact), BiasGelu (exact, of A + B), FastGelu (tanh
/// approximation, of X + bias when given) and QuickGelu (x * sigmoid(alpha
/// x)), as ONNX Runtime defines them.
LogicalResult ONNXImporter::importMicrosoftGelu() {
  if (failed(requireInputs(1)))
    return failure();
  StringRef opType = node->op_type();
  Value x = input(0);
  if (!isa<FloatType>(typeOf(x).getElementType()))
    return error("expects a floating-point input");
  if (Value bias = input(1))
    x = emit<llm::AddOp>({x, bias});
  else if (opType == "BiasGelu")
    return error("expects input 'B'");
  if (!x)
    return failure();
  if (opType == "QuickGelu") {
    Type elementType = typeOf(x).getElementType();
    Value scaled =
        emit<llm::MulOp>({x, scalarOf(elementType, getFloat("alpha", 1.702f))});
    Value result = emit<llm::MulOp>({x, emit<llm::SigmoidOp>({scaled})});
    return result ? setResult(result) : failure();
  }
  auto approximation = opType == "FastGelu" ? llm::GeluApproximation::tanh
                                            : llm::GeluApproximation::none;
  return setResult(create<llm::GeluOp>(
      x,
      {namedAttr("approximation",
                 llm::GeluApproximationAttr::get(context, approximation))},
      x.getType()));
}

/// ONNX Runtime's CPU optimizer's op-plus-activation fusions: FusedGemm
/// (Gemm's attributes, then `activation` with activation_alpha, _beta,
/// _gamma), FusedConv (Conv's, then `activation` with activation_params;
/// its optional input 3, a sum added before the activation) and
/// GemmFastGelu (FastGelu of X @ W + bias).
LogicalResult ONNXImporter::importFusedActivation() {
  StringRef opType = node->op_type();
  if (opType == "GemmFastGelu") {
    if (failed(requireInputs(2)))
      return failure();
    FailureOr<Value> product = numpyMatMul(input(0), input(1));
    if (failed(product))
      return failure();
    Value x = *product;
    if (Value bias = input(2))
      x = emit<llm::AddOp>({x, bias});
    if (!x)
      return failure();
    return setResult(create<llm::GeluOp>(
        x,
        {namedAttr("approximation",
                   llm::GeluApproximationAttr::get(
                       context, llm::GeluApproximation::tanh))},
        x.getType()));
  }
  Value sum = opType == "FusedConv" ? input(3) : Value();
  if (sum)
    inputs.resize(3);
  LogicalResult base = opType == "FusedGemm" ? importGemm() : importConv();
  if (failed(base) || results.size() != 1)
    return failure();
  Value x = results.front();
  if (sum)
    x = emit<llm::AddOp>({x, sum});
  SmallVector<float> params;
  if (opType == "FusedGemm") {
    // An attribute left out is NaN here: the activation's default.
    for (StringRef name : {"activation_alpha", "activation_beta"})
      params.push_back(findAttr(name)
                           ? getFloat(name, 0.0f)
                           : std::numeric_limits<float>::quiet_NaN());
  } else if (const onnx::AttributeProto *attr = findAttr("activation_params")) {
    params.assign(attr->floats().begin(), attr->floats().end());
  }
  const onnx::AttributeProto *activation = findAttr("activation");
  Value result = fusedActivation(x, activation ? activation->s() : "", params);
  if (!result)
    return failure();
  results.front() = result;
  return success();
}

/// The activations ONNX Runtime fuses into Gemm and Conv (MLAS's kinds):
/// Relu, LeakyRelu (alpha), Tanh, Sigmoid, HardSigmoid (alpha, beta) and
/// Clip (min, max); none is the identity.
Value ONNXImporter::fusedActivation(Value x, StringRef name,
                                    ArrayRef<float> params) {
  if (!x)
    return {};
  Type element = typeOf(x).getElementType();
  auto param = [&](size_t i) -> std::optional<float> {
    if (i < params.size() && !std::isnan(params[i]))
      return params[i];
    return std::nullopt;
  };
  if (name.empty() || name == "Identity")
    return x;
  if (llvm::is_contained(
          {"Relu", "Tanh", "Sigmoid", "LeakyRelu", "HardSigmoid"}, name))
    return namedActivation(name, x, param(0), param(1));
  if (name == "Clip") {
    std::optional<float> low = param(0), high = param(1);
    if (params.size() != 2 || !low || !high) {
      (void)error("activation Clip needs activation_params [min, max]");
      return {};
    }
    return emit<llm::MinOp>({emit<llm::MaxOp>({x, scalarOf(element, *low)}),
                             scalarOf(element, *high)});
  }
  (void)error("activation '" + name +
              "' is not supported (Relu, LeakyRelu, "
              "Tanh, Sigmoid, HardSigmoid, Clip)");
  return {};
}

/// The activation ONNX names `name` (an op, or one of RNN's activations in
/// any case) of x, with alpha and beta where it takes them, ONNX's defaults
/// otherwise; null for a name it does not know.
Value ONNXImporter::namedActivation(StringRef name, Value x,
                                    std::optional<float> alpha,
                                    std::optional<float> beta) {
  if (!x)
    return {};
  Type element = typeOf(x).getElementType();
  auto c = [&](double v) { return scalarOf(element, v); };
  std::string lower = name.lower();
  if (lower == "relu")
    return emit<llm::ReluOp>({x});
  if (lower == "tanh")
    return emit<llm::TanhOp>({x});
  if (lower == "sigmoid")
    return emit<llm::SigmoidOp>({x});
  if (lower == "leakyrelu")
    return leakyRelu(x, alpha.value_or(0.01f));
  if (lower == "hardsigmoid")
    return hardSigmoid(x, alpha.value_or(0.2f), beta.value_or(0.5f));
  if (lower == "thresholdedrelu")
    return emit<llm::WhereOp>(
        {emit<llm::GreaterOp>({x, c(alpha.value_or(1.0f))}), x, c(0)});
  if (lower == "elu")
    return emit<llm::WhereOp>(
        {emit<llm::LessOp>({x, c(0)}),
         emit<llm::MulOp>({c(alpha.value_or(1.0f)),
                           emit<llm::SubOp>({emit<llm::ExpOp>({x}), c(1)})}),
         x});
  if (lower == "softsign")
    return emit<llm::DivOp>(
        {x, emit<llm::AddOp>({emit<llm::AbsOp>({x}), c(1)})});
  // log(exp(x) + 1)
  if (lower == "softplus")
    return emit<llm::LogOp>({emit<llm::AddOp>({emit<llm::ExpOp>({x}), c(1)})});
  if (lower == "scaledtanh")
    return emit<llm::MulOp>(
        {c(alpha.value_or(1.0f)),
         emit<llm::TanhOp>({emit<llm::MulOp>({x, c(beta.value_or(1.0f))})})});
  if (lower == "affine")
    return emit<llm::AddOp>(
        {emit<llm::MulOp>({x, c(alpha.value_or(1.0f))}), c(beta.value_or(0))});
  return {};
}

Value ONNXImporter::leakyRelu(Value x, double alpha) {
  Type element = typeOf(x).getElementType();
  return emit<llm::WhereOp>({emit<llm::LessOp>({x, scalarOf(element, 0)}),
                             emit<llm::MulOp>({x, scalarOf(element, alpha)}),
                             x});
}

/// atan as Cephes' atanf computes it: |x| reduced to [0, tan(pi/8)] (by
/// -1/|x| past tan(3pi/8), (|x| - 1) / (|x| + 1) past tan(pi/8)), a
/// polynomial there, the reduction's angle added and x's sign restored
/// (NaN kept). In f32 within 2.8 ulp of atan on 200000 values to 1e4.
Value ONNXImporter::atanOf(Value x) {
  if (!x)
    return {};
  Type element = typeOf(x).getElementType();
  auto c = [&](double v) { return scalarOf(element, v); };
  Value magnitude = emit<llm::AbsOp>({x});
  Value big = emit<llm::GreaterOp>({magnitude, c(2.414213562373095)});
  Value middle = emit<llm::GreaterOp>({magnitude, c(0.4142135623730950)});
  Value reduced = emit<llm::WhereOp>(
      {big, emit<llm::DivOp>({c(-1), magnitude}),
       emit<llm::WhereOp>(
           {middle,
            emit<llm::DivOp>({emit<llm::SubOp>({magnitude, c(1)}),
                              emit<llm::AddOp>({magnitude, c(1)})}),
            magnitude})});
  Value angle = emit<llm::WhereOp>(
      {big, c(M_PI_2), emit<llm::WhereOp>({middle, c(M_PI_4), c(0)})});
  Value z = emit<llm::MulOp>({reduced, reduced});
  Value poly = c(8.05374449538e-2);
  for (double coefficient :
       {-1.38776856032e-1, 1.99777106478e-1, -3.33329491539e-1})
    poly = emit<llm::AddOp>({emit<llm::MulOp>({poly, z}), c(coefficient)});
  Value positive = emit<llm::AddOp>(
      {angle, emit<llm::AddOp>(
                  {emit<llm::MulOp>({emit<llm::MulOp>({poly, z}), reduced}),
                   reduced})});
  return emit<llm::WhereOp>(
      {emit<llm::LessOp>({x, c(0)}), emit<llm::NegOp>({positive}), positive});
}

/// EyeLike: a constant of the input's (2-D, static) shape with ones on
/// diagonal k, of `dtype` (default the input's type).
LogicalResult ONNXImporter::importEyeLike() {
  if (failed(requireInputs(1)))
    return failure();
  RankedTensorType type = typeOf(input(0));
  if (type.getRank() != 2)
    return error("expects a 2-D input, got " + shapeString(type.getShape()));
  Type element = type.getElementType();
  if (findAttr("dtype")) {
    element = elementTypeOf(getInt("dtype", 0), context).type;
    if (!element)
      return error("unsupported dtype " + dataTypeName(getInt("dtype", 0)));
  }
  int64_t rows = type.getDimSize(0), columns = type.getDimSize(1),
          k = getInt("k", 0);
  Attribute zero = builder.getZeroAttr(element);
  Attribute one = isa<FloatType>(element)
                      ? Attribute(builder.getFloatAttr(element, 1.0))
                      : Attribute(builder.getIntegerAttr(element, 1));
  SmallVector<Attribute> values(rows * columns, zero);
  for (int64_t row = 0; row < rows; ++row)
    if (row + k >= 0 && row + k < columns)
      values[row * columns + row + k] = one;
  auto resultType = RankedTensorType::get({rows, columns}, element);
  return setResult(
      createConstant(DenseElementsAttr::get(resultType, values), nodeLoc));
}

/// ReverseSequence: each batch row's first sequence_lens[b] steps along
/// time_axis reversed, the others kept: one gather of x's (time, batch)
/// rows at step t < len ? len - 1 - t : t, the lengths known at run time.
LogicalResult ONNXImporter::importReverseSequence() {
  if (failed(requireInputs(2)))
    return failure();
  Value x = input(0), lens = input(1);
  RankedTensorType type = typeOf(x);
  int64_t timeAxis = getInt("time_axis", 0),
          batchAxis = getInt("batch_axis", 1);
  if (type.getRank() < 2 || timeAxis + batchAxis != 1 ||
      (timeAxis != 0 && timeAxis != 1))
    return error("expects time_axis and batch_axis 0 and 1 (either way) of "
                 "an input of rank 2 or more");
  int64_t steps = type.getDimSize(timeAxis), batch = type.getDimSize(batchAxis);
  if (typeOf(lens).getShape() != ArrayRef<int64_t>{batch} ||
      !isa<IntegerType>(typeOf(lens).getElementType()))
    return error("expects integer sequence_lens of shape [" + Twine(batch) +
                 "]");
  Type i64 = builder.getI64Type();
  FailureOr<Value> wide = castTo(lens, i64);
  FailureOr<Value> row = succeeded(wide) ? reshape(*wide, {1, batch})
                                         : FailureOr<Value>(failure());
  if (failed(row))
    return failure();
  // [T, B]: the step each output step reads, then its row in x's leading
  // two dims.
  Value step = positionsAlong(2, 0, steps), rowOf = positionsAlong(2, 1, batch);
  Value source = emit<llm::WhereOp>(
      {emit<llm::LessOp>({step, *row}),
       emit<llm::SubOp>({emit<llm::SubOp>({*row, scalarOf(i64, 1)}), step}),
       step});
  Value flat =
      timeAxis == 0
          ? emit<llm::AddOp>(
                {emit<llm::MulOp>({source, scalarOf(i64, batch)}), rowOf})
          : transposed(
                emit<llm::AddOp>(
                    {emit<llm::MulOp>({rowOf, scalarOf(i64, steps)}), source}),
                {1, 0});
  int64_t rest = type.getNumElements() / std::max<int64_t>(steps * batch, 1);
  FailureOr<Value> table = reshape(x, {steps * batch, rest});
  if (failed(table))
    return failure();
  Value gathered = gatherRows(*table, flat);
  return gathered ? setResult(reshape(gathered, type.getShape())) : failure();
}

/// LRN: x / (bias + alpha / size * the sum of x^2 over channels c -
/// floor((size - 1) / 2) .. c + ceil((size - 1) / 2))^beta; the window's sum
/// adds `size` shifted slices of the squares padded with zeros.
LogicalResult ONNXImporter::importLRN() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  Type element = type.getElementType();
  if (type.getRank() < 3 || !isa<FloatType>(element))
    return error("expects a float input [N, C, D1, ...]");
  int64_t size = getInt("size", 0);
  if (size <= 0)
    return error("expects a positive size, got " + Twine(size));
  double alpha = getFloat("alpha", 1e-4f), beta = getFloat("beta", 0.75f),
         bias = getFloat("bias", 1.0f);
  int64_t channels = type.getDimSize(1), before = (size - 1) / 2,
          after = size - 1 - before;
  auto zeros = [&](int64_t count) {
    SmallVector<int64_t> shape(type.getShape());
    shape[1] = count;
    return zerosOf(RankedTensorType::get(shape, element));
  };
  SmallVector<Value> parts;
  if (before)
    parts.push_back(zeros(before));
  parts.push_back(emit<llm::MulOp>({x, x}));
  if (after)
    parts.push_back(zeros(after));
  Value padded = parts.size() == 1 ? parts.front() : concatAlong(parts, 1);
  Value sum = sliceAlong(padded, 1, 0, channels);
  for (int64_t k = 1; k < size; ++k)
    sum = emit<llm::AddOp>({sum, sliceAlong(padded, 1, k, k + channels)});
  Value scale = emit<llm::PowOp>(
      {emit<llm::AddOp>(
           {scalarOf(element, bias),
            emit<llm::MulOp>({scalarOf(element, alpha / size), sum})}),
       scalarOf(element, beta)});
  Value result = emit<llm::DivOp>({x, scale});
  return result ? setResult(result) : failure();
}

/// MeanVarianceNormalization: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9)
/// over `axes` (default [0, 2, 3]), as ONNX's function body computes it.
LogicalResult ONNXImporter::importMeanVarianceNormalization() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  if (!isa<FloatType>(type.getElementType()))
    return error("expects a float input");
  SmallVector<int64_t> axes =
      getInts("axes").value_or(SmallVector<int64_t>{0, 2, 3});
  for (int64_t &axis : axes) {
    FailureOr<int64_t> normalized = normalizeAxis(axis, type.getRank(), "axes");
    if (failed(normalized))
      return failure();
    axis = *normalized;
  }
  llvm::sort(axes);
  Value mean = reduce<llm::ReduceMeanOp>(x, axes, /*keepdims=*/true);
  Value meanOfSquares =
      reduce<llm::ReduceMeanOp>(emit<llm::MulOp>({x, x}), axes,
                                /*keepdims=*/true);
  Value deviation = emit<llm::SqrtOp>(
      {emit<llm::SubOp>({meanOfSquares, emit<llm::MulOp>({mean, mean})})});
  Value result = emit<llm::DivOp>(
      {emit<llm::SubOp>({x, mean}),
       emit<llm::AddOp>({deviation, scalarOf(type.getElementType(), 1e-9)})});
  return result ? setResult(result) : failure();
}

Value ONNXImporter::hardSigmoid(Value x, double alpha, double beta) {
  Type element = typeOf(x).getElementType();
  auto c = [&](double v) { return scalarOf(element, v); };
  return emit<llm::MaxOp>(
      {emit<llm::MinOp>(
           {emit<llm::AddOp>({emit<llm::MulOp>({x, c(alpha)}), c(beta)}),
            c(1)}),
       c(0)});
}

/// com.microsoft SkipLayerNormalization and SkipSimplifiedLayerNormalization:
/// norm(input + skip + bias) over the last dim, with gamma (and beta, for the
/// layer norm). Outputs: the normalized value and, as output 3, the sum that
/// the next residual reads; the training outputs mean and inv_std_var are
/// not supported.
/// ONNX Runtime's fused BERT embedding (com.microsoft EmbedLayerNormalization):
/// LayerNorm(word[input_ids] + position[position_ids or 0..S-1] +
/// segment[segment_ids]); its mask_index output is the number of ones in
/// each row of `mask`, its embedding_sum output the sum before the norm.
LogicalResult ONNXImporter::importEmbedLayerNormalization() {
  if (!input(0) || !input(2) || !input(3) || !input(5) || !input(6))
    return error("expects input_ids, word_embedding, position_embedding, "
                 "gamma and beta");
  Value ids = input(0);
  RankedTensorType idsType = typeOf(ids);
  if (idsType.getRank() != 2)
    return error("expects input_ids of rank 2");
  int64_t seq = idsType.getDimSize(1);
  // QEmbedLayerNormalization's 8-bit tensors: per-tensor (x - zero point) *
  // scale, after the gather for a table (only the rows read).
  auto dequantized = [&](unsigned index, Value value) -> Value {
    auto it = quantizedTables.find(index);
    if (!value || it == quantizedTables.end())
      return value;
    auto [scale, zero] = it->second;
    SmallVector<NamedAttribute> attrs;
    if (isUnsignedInput(index))
      attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
    return orNull(
        create<llm::DequantizeOp>({value, scale, zero}, attrs,
                                  typeOf(value).clone(builder.getF32Type())));
  };
  auto gather = [&](unsigned index, Value indices) -> Value {
    FailureOr<Value> rows = create<llm::GatherOp>(
        {input(index), indices},
        {namedAttr("axis", builder.getI64IntegerAttr(0))});
    return succeeded(rows) ? dequantized(index, *rows) : Value();
  };
  Value sum = gather(2, ids);
  Value positions = input(8);
  if (!positions) {
    SmallVector<int64_t> iota = llvm::to_vector(llvm::seq<int64_t>(0, seq));
    positions = indexConstant({1, seq}, iota);
  }
  sum = emit<llm::AddOp>({sum, gather(3, positions)});
  if (input(1) && input(4))
    sum = emit<llm::AddOp>({sum, gather(4, input(1))});
  Value gamma = dequantized(5, input(5)), beta = dequantized(6, input(6));
  if (!sum || !gamma || !beta)
    return failure();
  SmallVector<NamedAttribute> attrs = {
      namedAttr("axis", builder.getI64IntegerAttr(2)),
      namedAttr("epsilon",
                builder.getF32FloatAttr(getFloat("epsilon", 1e-12f)))};
  if (failed(setResult(
          create<llm::LayerNormOp>({sum, gamma, beta}, attrs, sum.getType()))))
    return failure();
  if (outputUsed(1)) {
    if (!input(7))
      return error("output 'mask_index' needs input 'mask'");
    Value mask = input(7);
    Type element = typeOf(mask).getElementType();
    Value isOne = emit<llm::EqualOp>({mask, scalarOf(element, 1)});
    FailureOr<Value> counted =
        isOne ? castTo(isOne, element) : FailureOr<Value>(failure());
    if (failed(counted))
      return failure();
    results.push_back(reduce<llm::ReduceSumOp>(*counted, {1},
                                               /*keepdims=*/false));
  } else if (outputUsed(2)) {
    results.push_back(results.front()); // placeholder at index 1
  }
  if (outputUsed(2))
    results.push_back(sum);
  return success();
}

/// com.microsoft QEmbedLayerNormalization (ONNX Runtime's quantize_dynamic
/// of an EmbedLayerNormalization): the tables, gamma and beta are 8-bit
/// (int8 or uint8, one type) with per-tensor scales (inputs 8 to 12) and
/// zero points (13 to 17); rows are dequantized as they are gathered, then
/// it is EmbedLayerNormalization (positions 0..S-1; mask_index the count of
/// ones per row).
LogicalResult ONNXImporter::importQEmbedLayerNormalization() {
  if (failed(requireInputs(1)))
    return failure();
  quantizedTables.clear();
  for (unsigned index : {2u, 3u, 4u, 5u, 6u}) {
    Value value = input(index), scale = input(index + 6),
          zero = input(index + 11);
    if (!value)
      continue;
    static const char *names[] = {"word_embedding", "position_embedding",
                                  "segment_embedding", "gamma", "beta"};
    std::string name = names[index - 2];
    if (!scale || !zero)
      return error(name + " needs its scale and zero point");
    if (failed(requireQuantized(value, name + "_quant", false)) ||
        failed(requireQuantized(zero, name + "_zero_point", false)))
      return failure();
    FailureOr<Value> wide = floatParameter(scale, name + "_scale");
    if (failed(wide))
      return failure();
    if (typeOf(*wide).getNumElements() != 1 ||
        typeOf(zero).getNumElements() != 1)
      return error(name + "_scale and " + name +
                   "_zero_point must be per tensor");
    quantizedTables[index] = {*wide, zero};
  }
  inputs.resize(8);
  LogicalResult result = importEmbedLayerNormalization();
  quantizedTables.clear();
  return result;
}

/// [B, L, N * D] -> [B, N, L, D].
Value ONNXImporter::splitHeads(Value x, int64_t heads) {
  if (!x)
    return {};
  RankedTensorType type = typeOf(x);
  FailureOr<Value> split = reshape(x, {type.getDimSize(0), type.getDimSize(1),
                                       heads, type.getDimSize(2) / heads});
  return succeeded(split) ? transposed(*split, {0, 2, 1, 3}) : Value();
}

/// [B, N, L, D] -> [B, L, N * D].
FailureOr<Value> ONNXImporter::mergeHeads(Value x) {
  if (!x)
    return failure();
  RankedTensorType type = typeOf(x);
  return reshape(transposed(x, {0, 2, 1, 3}),
                 {type.getDimSize(0), type.getDimSize(2),
                  type.getDimSize(1) * type.getDimSize(3)});
}

/// `cache` [B, N, P, D] followed by the new rows `fresh` [B, N, L, D] along
/// the sequence: the present of an ONNX Runtime attention with a past.
Value ONNXImporter::afterPast(Value cache, Value fresh) {
  if (!cache || !fresh)
    return fresh;
  return concatAlong({cache, fresh}, 2);
}

/// ONNX Runtime's fused self-attention (com.microsoft Attention), as its CPU
/// kernel computes it: Q, K and V from one projection (split by
/// qkv_hidden_sizes or in thirds); with `past` [2, B, H, P, D] the keys and
/// values follow the past ones, and output `present` [2, B, H, P + S, D]
/// holds them all; scaled scores plus mask_filter_value where the mask
/// excludes a key (a raw [B, T] or [B, S, T] 0/1 mask, or right-padding
/// lengths [B], or left-padding ends and starts [2B], T = P + S) or
/// unidirectional hides a later one, plus attention_bias; softmax; the
/// heads concatenated.
LogicalResult ONNXImporter::importMicrosoftAttention() {
  return microsoftAttention(/*quantized=*/false);
}

/// com.microsoft QAttention (ONNX Runtime's quantize_dynamic of an
/// Attention): the projection is the 8-bit input times the 8-bit weights
/// with their scales and zero points (weights per tensor or per column),
/// plus the bias; the rest is Attention's. Inputs: input, weight, bias,
/// input_scale, weight_scale, mask_index, input_zero_point,
/// weight_zero_point, past.
LogicalResult ONNXImporter::importQAttention() {
  return microsoftAttention(/*quantized=*/true);
}

LogicalResult ONNXImporter::microsoftAttention(bool quantized) {
  if (failed(requireInputs(quantized ? 5 : 2)))
    return failure();
  if (!quantized && input(6))
    return error("input 'past_sequence_length' is not supported");
  if (getInt("do_rotary", 0) != 0)
    return error("do_rotary is not supported");
  Value x = input(0);
  RankedTensorType xType = typeOf(x);
  if (xType.getRank() != 3)
    return error("expects an input of rank 3 [batch, sequence, hidden]");
  int64_t heads = getInt("num_heads", 0);
  RankedTensorType wType = typeOf(input(1));
  if (heads <= 0 || wType.getRank() != 2)
    return error("expects num_heads > 0 and 2-D weights");
  int64_t total = wType.getDimSize(1);
  SmallVector<int64_t> sizes(3, total / 3);
  if (std::optional<SmallVector<int64_t>> given = getInts("qkv_hidden_sizes"))
    sizes = *given;
  if (sizes.size() != 3 || sizes[0] + sizes[1] + sizes[2] != total ||
      sizes[0] != sizes[1] || llvm::any_of(sizes, [&](int64_t s) {
        return s <= 0 || s % heads != 0;
      }))
    return error("qkv_hidden_sizes " + shapeString(sizes) +
                 " do not split the weights' " + Twine(total) +
                 " columns into Q and K of one size and V, each a multiple of "
                 "num_heads " + Twine(heads));
  Value past = input(quantized ? 8 : 4);
  Value maskIndex = input(quantized ? 5 : 3);
  Value attentionBias = quantized ? Value() : input(5);
  if ((past || outputUsed(1)) && sizes[1] != sizes[2])
    return error("the past and present KV cache need V as wide as K, got "
                 "qkv_hidden_sizes " + shapeString(sizes));
  FailureOr<Value> projected =
      quantized ? integerProductToFloat(x, input(1), input(3), input(4),
                                        input(6), input(7), isUnsignedInput(0),
                                        isUnsignedInput(1))
                : plainMatMul(x, input(1));
  if (failed(projected))
    return failure();
  Value qkv = *projected;
  if (input(2))
    qkv = emit<llm::AddOp>({qkv, input(2)});
  if (quantized && qkv)
    qkv = orNull(castTo(qkv, typeOf(input(2)).getElementType()));
  if (!qkv)
    return failure();
  FailureOr<SmallVector<Value>> parts = createOp<llm::SplitOp>(
      qkv, {namedAttr("axis", builder.getI64IntegerAttr(2)),
            namedAttr("sizes", builder.getDenseI64ArrayAttr(sizes))});
  if (failed(parts))
    return failure();
  Value q = splitHeads((*parts)[0], heads), k = splitHeads((*parts)[1], heads),
        v = splitHeads((*parts)[2], heads);
  if (past) {
    int64_t batch = xType.getDimSize(0), headSize = sizes[1] / heads;
    ArrayRef<int64_t> shape = typeOf(past).getShape();
    if (shape.size() != 5 || shape[0] != 2 || shape[1] != batch ||
        shape[2] != heads || shape[4] != headSize)
      return error("expects past [2, B, num_heads, P, D] = [2, " +
                   Twine(batch) + ", " + Twine(heads) + ", P, " +
                   Twine(headSize) + "], got " + shapeString(shape));
    FailureOr<SmallVector<Value>> halves = createOp<llm::SplitOp>(
        past, {namedAttr("axis", builder.getI64IntegerAttr(0)),
               namedAttr("sizes", builder.getDenseI64ArrayAttr({1, 1}))});
    if (failed(halves))
      return failure();
    SmallVector<int64_t> cacheShape(shape.drop_front());
    k = afterPast(orNull(reshape((*halves)[0], cacheShape)), k);
    v = afterPast(orNull(reshape((*halves)[1], cacheShape)), v);
  }
  if (failed(setResult(microsoftAttend(q, k, v, maskIndex, attentionBias))))
    return failure();
  if (outputUsed(1)) {
    FailureOr<Value> present = stackAlong({k, v}, 0);
    if (failed(present))
      return failure();
    results.push_back(*present);
  }
  return success();
}

/// ONNX Runtime's MultiHeadAttention (com.microsoft): query [B, S, N * D]
/// with key and value [B, L, N * D] (plus `bias`), key and value already
/// per head [B, N, L, D] (a cross-attention's cached keys), or packed keys
/// and values [B, L, N, 2, D]; or Q, K and V packed in query [B, S, N, 3, D]
/// (plus `bias`). past_key and past_value [B, N, P, D] come before the new
/// keys and values, and present_key and present_value hold them all. The
/// core is microsoftAttend's.
LogicalResult ONNXImporter::importMicrosoftMultiHeadAttention() {
  if (failed(requireInputs(1)))
    return failure();
  if (input(8) || input(9))
    return error("inputs 'past_sequence_length' and 'cache_indirection' are "
                 "not supported");
  if (outputUsed(3))
    return error("output 'qk' is not supported");
  int64_t heads = getInt("num_heads", 0);
  if (heads <= 0)
    return error("expects num_heads > 0");
  Value query = input(0), key = input(1), value = input(2), bias = input(3);
  RankedTensorType qType = typeOf(query);
  // The parts of a packed [B, L, N, P, D] tensor along dim 3, as [B, N, L, D].
  auto unpacked = [&](Value packed) -> SmallVector<Value> {
    ArrayRef<int64_t> shape = typeOf(packed).getShape();
    SmallVector<int64_t> ones(shape[3], 1);
    FailureOr<SmallVector<Value>> parts = createOp<llm::SplitOp>(
        packed, {namedAttr("axis", builder.getI64IntegerAttr(3)),
                 namedAttr("sizes", builder.getDenseI64ArrayAttr(ones))});
    SmallVector<Value> result;
    for (int64_t i = 0; i < shape[3]; ++i)
      result.push_back(
          succeeded(parts)
              ? transposed(orNull(reshape((*parts)[i], {shape[0], shape[1],
                                                        shape[2], shape[4]})),
                           {0, 2, 1, 3})
              : Value());
    return result;
  };
  // The bias's Q, K and V parts ([N * D] each, then [N * Dv]), for widths.
  auto biasParts = [&](ArrayRef<int64_t> widths) -> FailureOr<SmallVector<Value>> {
    if (!bias)
      return SmallVector<Value>(3);
    if (typeOf(bias).getRank() != 1 ||
        typeOf(bias).getDimSize(0) != widths[0] + widths[1] + widths[2])
      return error("expects a bias [" + Twine(widths[0] + widths[1] + widths[2]) +
                   "] (Q, K and V widths " + shapeString(widths) + "), got " +
                   shapeString(typeOf(bias).getShape()));
    return createOp<llm::SplitOp>(
        bias, {namedAttr("axis", builder.getI64IntegerAttr(0)),
               namedAttr("sizes", builder.getDenseI64ArrayAttr(widths))});
  };
  auto plus = [&](Value x, Value b) -> Value {
    return b ? emit<llm::AddOp>({x, b}) : x;
  };
  Value q, k, v;
  if (!key) {
    ArrayRef<int64_t> shape = qType.getShape();
    if (value || shape.size() != 5 || shape[2] != heads || shape[3] != 3)
      return error("expects query [B, S, num_heads, 3, D] without key and "
                   "value (Q, K and V packed), got " + shapeString(shape));
    int64_t width = heads * shape[4];
    FailureOr<SmallVector<Value>> biases = biasParts({width, width, width});
    if (failed(biases))
      return failure();
    SmallVector<Value> parts = unpacked(query);
    for (int i = 0; i < 3; ++i) {
      Value b = (*biases)[i]
                    ? orNull(reshape((*biases)[i], {heads, 1, shape[4]}))
                    : Value();
      parts[i] = plus(parts[i], b);
    }
    q = parts[0];
    k = parts[1];
    v = parts[2];
  } else {
    if (qType.getRank() != 3 || qType.getDimSize(2) % heads != 0)
      return error("expects query [B, S, num_heads * D] when key is given, "
                   "got " + shapeString(qType.getShape()));
    int64_t width = qType.getDimSize(2), headSize = width / heads;
    ArrayRef<int64_t> keyShape = typeOf(key).getShape();
    if (keyShape.size() == 5) {
      if (value || bias || keyShape[2] != heads || keyShape[3] != 2 ||
          keyShape[4] != headSize)
        return error("expects packed keys and values [B, L, num_heads, 2, "
                     "D] = [B, L, " + Twine(heads) + ", 2, " +
                     Twine(headSize) + "] without value and bias, got " +
                     shapeString(keyShape));
      q = splitHeads(query, heads);
      SmallVector<Value> parts = unpacked(key);
      k = parts[0];
      v = parts[1];
    } else if (keyShape.size() == 4) {
      if (!value || typeOf(value).getRank() != 4 || bias ||
          keyShape[1] != heads || keyShape[3] != headSize ||
          typeOf(value).getDimSize(1) != heads ||
          typeOf(value).getDimSize(2) != keyShape[2])
        return error("expects key and value per head [B, num_heads, L, D] "
                     "= [B, " + Twine(heads) + ", L, " + Twine(headSize) +
                     "] without bias, got " + shapeString(keyShape) +
                     (value ? " and " + shapeString(typeOf(value).getShape())
                            : std::string()));
      if (input(6) || input(7))
        return error("past_key and past_value need key and value of rank 3 "
                     "or packed, not per head");
      q = splitHeads(query, heads);
      k = key;
      v = value;
    } else {
      if (keyShape.size() != 3 || !value || typeOf(value).getRank() != 3 ||
          keyShape[2] != width || typeOf(value).getDimSize(2) % heads != 0)
        return error("expects key [B, L, " + Twine(width) +
                     "] and value [B, L, num_heads * Dv], got " +
                     shapeString(keyShape) +
                     (value ? " and " + shapeString(typeOf(value).getShape())
                            : std::string()));
      FailureOr<SmallVector<Value>> biases =
          biasParts({width, width, typeOf(value).getDimSize(2)});
      if (failed(biases))
        return failure();
      q = splitHeads(plus(query, (*biases)[0]), heads);
      k = splitHeads(plus(key, (*biases)[1]), heads);
      v = splitHeads(plus(value, (*biases)[2]), heads);
    }
  }
  if (!q || !k || !v)
    return failure();
  Value pastKey = input(6), pastValue = input(7);
  if (!pastKey != !pastValue)
    return error("expects past_key and past_value both, or neither");
  if (pastKey) {
    ArrayRef<int64_t> kShape = typeOf(k).getShape(), vShape = typeOf(v).getShape();
    ArrayRef<int64_t> pk = typeOf(pastKey).getShape(),
                      pv = typeOf(pastValue).getShape();
    if (pk.size() != 4 || pv.size() != 4 || pk[0] != kShape[0] ||
        pk[1] != heads || pk[3] != kShape[3] || pv[0] != vShape[0] ||
        pv[1] != heads || pv[2] != pk[2] || pv[3] != vShape[3])
      return error("expects past_key and past_value [B, num_heads, P, D], "
                   "got " + shapeString(pk) + " and " + shapeString(pv));
    k = afterPast(pastKey, k);
    v = afterPast(pastValue, v);
    if (!k || !v)
      return failure();
  }
  if (failed(setResult(microsoftAttend(q, k, v, input(4), input(5)))))
    return failure();
  if (outputUsed(1) || outputUsed(2)) {
    results.push_back(k);
    results.push_back(v);
  }
  return success();
}

/// softmax(scores) over the keys (axis 3) times `values`: the end of an
/// attention composite.
FailureOr<Value> ONNXImporter::weighByScores(Value scores, Value values) {
  Value probs = softmaxAlong(scores, 3);
  if (!probs)
    return failure();
  return plainMatMul(probs, values);
}

/// llm.softmax of `x` along `axis` (null for a null `x`).
Value ONNXImporter::softmaxAlong(Value x, int64_t axis) {
  if (!x)
    return {};
  return orNull(create<llm::SoftmaxOp>(
      x, {namedAttr("axis", builder.getI64IntegerAttr(axis))}, x.getType()));
}

/// ONNX Runtime's attention core on q [B, H, S, D], k [B, H, T, D] and
/// v [B, H, T, Dv]: scores scaled by `scale` (default 1/sqrt(D)), plus
/// mask_filter_value where `mask` hides a key (a raw [B, T] or [B, S, T]
/// 0/1 mask, right-padding lengths [B], left-padding ends and starts [2B])
/// or unidirectional a later one (query i sits at key T - S + i), plus
/// `attentionBias`, as one additive mask (the attention fusion takes one);
/// softmax; times v; the heads concatenated again, [B, S, H * Dv].
FailureOr<Value> ONNXImporter::microsoftAttend(Value q, Value k, Value v,
                                               Value mask,
                                               Value attentionBias) {
  if (!q || !k || !v)
    return failure();
  RankedTensorType qType = typeOf(q);
  Type element = qType.getElementType();
  int64_t batch = qType.getDimSize(0), seq = qType.getDimSize(2),
          headSize = qType.getDimSize(3), keySeq = typeOf(k).getDimSize(2);
  FailureOr<Value> product = plainMatMul(q, k, /*transposeRhs=*/true);
  if (failed(product))
    return failure();
  double scale = attentionScale(headSize);
  Value scores = emit<llm::MulOp>({*product, scalarOf(element, scale)});

  // Which keys each query may not see: [B or 1, 1, S or 1, T], true = hidden.
  float filter = getFloat("mask_filter_value", -10000.0f);
  Value hidden;
  if (mask) {
    RankedTensorType maskType = typeOf(mask);
    Type maskElement = maskType.getElementType();
    Value zero = scalarOf(maskElement, 0);
    if ((maskType.getRank() == 2 || maskType.getRank() == 3) &&
        maskType.getShape().back() != keySeq)
      return error("expects a mask over the " + Twine(keySeq) +
                   " keys (past and new), got " +
                   shapeString(maskType.getShape()));
    if (maskType.getRank() == 2 || maskType.getRank() == 3) {
      SmallVector<int64_t> shape{batch, 1};
      if (maskType.getRank() == 2)
        shape.push_back(1);
      llvm::append_range(shape, maskType.getShape().drop_front());
      FailureOr<Value> shaped = reshape(mask, shape);
      if (failed(shaped))
        return failure();
      hidden = emit<llm::EqualOp>({*shaped, zero});
    } else if (maskType.getRank() == 1 &&
               (maskType.getDimSize(0) == batch ||
                maskType.getDimSize(0) == 2 * batch)) {
      // Key positions against each row's end (and start).
      Value keys = indexConstant(
          {1, 1, 1, keySeq}, llvm::to_vector(llvm::seq<int64_t>(0, keySeq)));
      auto bound = [&](int64_t offset) -> Value {
        Value slice = sliceAlong(mask, 0, offset, offset + batch);
        return slice ? orNull(reshape(slice, {batch, 1, 1, 1})) : Value();
      };
      auto asIndex = [&](Value value) -> Value {
        if (!value)
          return {};
        FailureOr<Value> cast = castTo(value, builder.getI64Type());
        return succeeded(cast) ? *cast : Value();
      };
      hidden = emit<llm::GreaterEqualOp>({keys, asIndex(bound(0))});
      if (maskType.getDimSize(0) == 2 * batch)
        hidden = emit<llm::OrOp>(
            {hidden, emit<llm::LessOp>({keys, asIndex(bound(batch))})});
    } else {
      return error("mask of shape " + shapeString(maskType.getShape()) +
                   " is not supported (supported: [B, T], [B, S, T], [B], "
                   "[2 * B])");
    }
  }
  if (getInt("unidirectional", 0) != 0) {
    // Query i sits at position keySeq - seq + i of the keys.
    SmallVector<bool> later;
    for (int64_t i = 0; i < seq; ++i)
      for (int64_t j = 0; j < keySeq; ++j)
        later.push_back(j > keySeq - seq + i);
    Value causal = denseConstant(builder.getI1Type(), {seq, keySeq},
                                 ArrayRef<bool>(later));
    hidden = hidden ? emit<llm::OrOp>({hidden, causal}) : causal;
  }
  // One additive mask (the attention fusion takes one).
  Value additive = attentionBias;
  if (hidden) {
    Value masked = emit<llm::WhereOp>(
        {hidden, scalarOf(element, filter), scalarOf(element, 0)});
    additive = additive ? emit<llm::AddOp>({masked, additive}) : masked;
  }
  if (additive)
    scores = emit<llm::AddOp>({scores, additive});
  FailureOr<Value> context = weighByScores(scores, v);
  if (failed(context))
    return failure();
  return mergeHeads(*context);
}

/// Two masks as one: i1 masks (true = attend) and-ed; otherwise each i1
/// mask as 0 or -inf, added. Either may be null.
Value ONNXImporter::combinedMask(Value a, Value b, Type element) {
  if (!a || !b)
    return a ? a : b;
  auto isBool = [](Value mask) {
    return typeOf(mask).getElementType().isInteger(1);
  };
  if (isBool(a) && isBool(b))
    return emit<llm::AndOp>({a, b});
  auto additive = [&](Value mask) -> Value {
    if (!isBool(mask))
      return mask;
    return emit<llm::WhereOp>(
        {mask, scalarOf(element, 0),
         scalarOf(element, -std::numeric_limits<double>::infinity())});
  };
  return emit<llm::AddOp>({additive(a), additive(b)});
}

/// The keys each of S queries sees among T under a causal rule, i1 [B or 1,
/// 1, S, T]: key j for query i when j <= i + offset and, with window > 0,
/// j > i + offset - window. The offset is `shift`, plus `rowShift` [B, 1, 1,
/// 1] (i64, one per batch row, known at run time) when given; without it
/// the mask is a constant.
Value ONNXImporter::causalMask(int64_t seq, int64_t length, int64_t shift,
                               Value rowShift, int64_t window) {
  if (!rowShift) {
    SmallVector<bool> seen;
    for (int64_t i = 0; i < seq; ++i)
      for (int64_t j = 0; j < length; ++j)
        seen.push_back(j <= i + shift &&
                       (window <= 0 || j > i + shift - window));
    return denseConstant(builder.getI1Type(), {1, 1, seq, length},
                         ArrayRef<bool>(seen));
  }
  Value rows = indexConstant(
      {1, 1, seq, 1}, llvm::to_vector(llvm::seq<int64_t>(shift, shift + seq)));
  Value last = emit<llm::AddOp>({rowShift, rows});
  Value j = indexConstant({1, 1, 1, length},
                          llvm::to_vector(llvm::seq<int64_t>(0, length)));
  Value mask = emit<llm::LessEqualOp>({j, last});
  if (window > 0)
    mask = emit<llm::AndOp>(
        {mask, emit<llm::GreaterOp>(
                   {j, emit<llm::SubOp>(
                           {last, scalarOf(builder.getI64Type(), window)})})});
  return mask;
}

/// softmax(q k^T * scale + mask) v on q [B, Hq, S, D] and k, v [B, Hkv, T,
/// D], query head h reading kv head h / (Hq / Hkv): one llm.attention
/// (`mask` i1, true = attend, or additive; `causal` its bottom-right rule,
/// key j hidden from query i when j > i + T - S, and with window > 0 also
/// when j <= i + T - S - window). With softcap > 0 the scaled
/// scores are capped to softcap * tanh(score / softcap) before the mask
/// (the op's `softcap`). With `sink` [Hq] each head's softmax has one more
/// logit, the sink's, in its denominator (the op's `sink`).
FailureOr<Value> ONNXImporter::groupedAttention(Value q, Value k, Value v,
                                                Value mask, double scale,
                                                double softcap, bool causal,
                                                Value sink, int64_t window) {
  if (!q || !k || !v)
    return failure();
  SmallVector<Value> operands{q, k, v};
  if (mask)
    operands.push_back(mask);
  if (sink)
    operands.push_back(sink);
  SmallVector<NamedAttribute> attributes{
      namedAttr("scale", builder.getF32FloatAttr(scale)),
      namedAttr("causal", builder.getBoolAttr(causal)),
      namedAttr(
          "operandSegmentSizes",
          builder.getDenseI32ArrayAttr({1, 1, 1, mask ? 1 : 0, sink ? 1 : 0}))};
  if (causal && window > 0)
    attributes.push_back(
        namedAttr("window", builder.getI64IntegerAttr(window)));
  if (softcap > 0)
    attributes.push_back(
        namedAttr("softcap", builder.getF32FloatAttr(softcap)));
  return create<llm::AttentionOp>(operands, attributes);
}

/// ONNX's Attention (opset 23; opset 24's nonpad_kv_seqlen) as its
/// reference implementation computes it: Q [B, S, Hq * D] with K and V
/// [B, T, Hkv * D] (q_num_heads, kv_num_heads), or all [B, H, L, D];
/// past_key and past_value [B, Hkv, P, D] before the new keys and values
/// (present_key, present_value); the scaled scores, capped by softcap,
/// plus attn_mask (i1, true = attend, or additive; padded to the keys with
/// false or -inf) broadcast to [B, Hq, S, T]; is_causal hides key j from
/// query i when j > i + P (with nonpad_kv_seqlen and no past, j > i +
/// nonpad_kv_seqlen[b] - S), nonpad_kv_seqlen the keys from
/// nonpad_kv_seqlen[b] on; softmax; query head h reads kv head
/// h / (Hq / Hkv).
LogicalResult ONNXImporter::importOnnxAttention() {
  if (failed(requireInputs(3)))
    return failure();
  if (outputUsed(3))
    return error("output 'qk_matmul_output' is not supported");
  Value query = input(0), key = input(1), value = input(2);
  int64_t rank = typeOf(query).getRank();
  if ((rank != 3 && rank != 4) || typeOf(key).getRank() != rank ||
      typeOf(value).getRank() != rank)
    return error("expects Q, K and V all of rank 3 [B, L, H * D] or all of "
                 "rank 4 [B, H, L, D], got " +
                 shapeString(typeOf(query).getShape()) + ", " +
                 shapeString(typeOf(key).getShape()) + " and " +
                 shapeString(typeOf(value).getShape()));
  Value q = query, k = key, v = value;
  if (rank == 3) {
    int64_t heads = getInt("q_num_heads", 0),
            kvHeads = getInt("kv_num_heads", 0);
    if (heads <= 0 || kvHeads <= 0 || typeOf(query).getDimSize(2) % heads ||
        typeOf(key).getDimSize(2) % kvHeads ||
        typeOf(value).getDimSize(2) % kvHeads)
      return error("expects q_num_heads and kv_num_heads > 0 dividing the "
                   "widths of Q and of K and V, got " + Twine(heads) +
                   " and " + Twine(kvHeads));
    q = splitHeads(query, heads);
    k = splitHeads(key, kvHeads);
    v = splitHeads(value, kvHeads);
    if (!q || !k || !v)
      return failure();
  }
  ArrayRef<int64_t> qShape = typeOf(q).getShape(),
                    kShape = typeOf(k).getShape(),
                    vShape = typeOf(v).getShape();
  int64_t batch = qShape[0], heads = qShape[1], seq = qShape[2];
  if (kShape[0] != batch || vShape[0] != batch || kShape[1] != vShape[1] ||
      heads % kShape[1] != 0 || kShape[3] != qShape[3] ||
      kShape[2] != vShape[2])
    return error("expects K and V of one batch, kv head count (dividing Q's " +
                 Twine(heads) + " heads) and length, K of Q's head size, got "
                 "per-head shapes " + shapeString(qShape) + ", " +
                 shapeString(kShape) + " and " + shapeString(vShape));
  Value pastKey = input(4), pastValue = input(5);
  if (!pastKey != !pastValue)
    return error("expects past_key and past_value both, or neither");
  int64_t past = 0;
  if (pastKey) {
    ArrayRef<int64_t> pk = typeOf(pastKey).getShape(),
                      pv = typeOf(pastValue).getShape();
    if (pk.size() != 4 || pv.size() != 4 || pk[0] != batch ||
        pk[1] != kShape[1] || pk[3] != kShape[3] || pv[0] != batch ||
        pv[1] != kShape[1] || pv[2] != pk[2] || pv[3] != vShape[3])
      return error("expects past_key and past_value [B, Hkv, P, D] = [" +
                   Twine(batch) + ", " + Twine(kShape[1]) + ", P, " +
                   Twine(kShape[3]) + "], got " + shapeString(pk) + " and " +
                   shapeString(pv));
    past = pk[2];
    k = afterPast(pastKey, k);
    v = afterPast(pastValue, v);
    if (!k || !v)
      return failure();
  }
  int64_t length = typeOf(k).getDimSize(2);
  Type element = typeOf(q).getElementType();
  Type i1 = builder.getI1Type();
  Value mask;
  if (Value given = input(3)) {
    RankedTensorType maskType = typeOf(given);
    bool isBool = maskType.getElementType().isInteger(1);
    int64_t maskRank = maskType.getRank(),
            width = maskRank ? maskType.getShape().back() : 0;
    if (maskRank < 2 || maskRank > 4 || width > length)
      return error("expects attn_mask of rank 2 to 4 broadcasting to [B, "
                   "Hq, S, T] over at most the " + Twine(length) +
                   " keys, got " + shapeString(maskType.getShape()));
    if (!isBool) {
      FailureOr<Value> typed = castTo(given, element);
      if (failed(typed))
        return failure();
      given = *typed;
    }
    SmallVector<int64_t> shape(4 - maskRank, 1);
    llvm::append_range(shape, maskType.getShape());
    given = orNull(reshape(given, shape));
    if (given && width < length) {
      // The keys past the mask: false, or -inf.
      SmallVector<int64_t> padShape(shape);
      padShape.back() = length - width;
      Type padElement = isBool ? i1 : element;
      Attribute fill =
          isBool ? Attribute(builder.getBoolAttr(false))
                 : Attribute(builder.getFloatAttr(
                       element, -std::numeric_limits<double>::infinity()));
      Value pad = createConstant(
          DenseElementsAttr::get(RankedTensorType::get(padShape, padElement),
                                 fill),
          nodeLoc);
      given = concatAlong({given, pad}, 3);
    }
    if (!given)
      return failure();
    mask = given;
  }
  Value lengths; // nonpad_kv_seqlen as [B, 1, 1, 1]
  if (Value nonpad = input(6)) {
    if (typeOf(nonpad).getNumElements() != batch)
      return error("expects nonpad_kv_seqlen [B] = [" + Twine(batch) + "]");
    FailureOr<Value> wide = castTo(nonpad, builder.getI64Type());
    lengths = succeeded(wide) ? orNull(reshape(*wide, {batch, 1, 1, 1}))
                              : Value();
    if (!lengths)
      return failure();
  }
  SmallVector<int64_t> keyPositions =
      llvm::to_vector(llvm::seq<int64_t>(0, length));
  bool causal = false;
  if (getInt("is_causal", 0) != 0) {
    if (lengths && !pastKey) {
      // Query i of row b sees keys up to i + nonpad_kv_seqlen[b] - S.
      mask = combinedMask(mask, causalMask(seq, length, -seq, lengths),
                          element);
    } else if (past + seq == length) {
      causal = true;
    } else {
      mask = combinedMask(mask, causalMask(seq, length, past), element);
    }
  }
  if (lengths)
    mask = combinedMask(
        mask,
        emit<llm::LessOp>(
            {indexConstant({1, 1, 1, length}, keyPositions), lengths}),
        element);
  if ((input(3) || lengths) && !mask)
    return failure();
  double scale = attentionScale(qShape[3]);
  FailureOr<Value> context = groupedAttention(
      q, k, v, mask, scale, getFloat("softcap", 0.0f), causal);
  if (failed(context))
    return failure();
  FailureOr<Value> output = rank == 3 ? mergeHeads(*context) : context;
  if (failed(output))
    return failure();
  results.push_back(*output);
  if (outputUsed(1) || outputUsed(2)) {
    results.push_back(k);
    results.push_back(v);
  }
  return success();
}

/// ONNX's TensorScatter (opset 24, a static KV cache's in-place update):
/// past_cache with update's S rows along `axis` written from row
/// write_indices[b] on for each batch row b (default 0); `circular` mode
/// wraps the rows modulo the axis's length M, `linear` writes nothing past
/// it. One gather of the flattened rows of [past | update]: output row j of
/// prefix p reads update row (j - write_b) (mod M) when it is below S, else
/// past row j.
LogicalResult ONNXImporter::importTensorScatter() {
  if (failed(requireInputs(2)))
    return failure();
  Value past = input(0), update = input(1);
  RankedTensorType type = typeOf(past), updateType = typeOf(update);
  int64_t rank = type.getRank();
  FailureOr<int64_t> axis = normalizeAxis(getInt("axis", -2), rank);
  if (failed(axis))
    return failure();
  std::string mode = getString("mode", "linear");
  if (mode != "linear" && mode != "circular")
    return error("mode '" + mode + "' is not supported (linear, circular)");
  ArrayRef<int64_t> shape = type.getShape(), updateShape = updateType.getShape();
  bool fits = *axis > 0 && updateType.getRank() == rank &&
              updateType.getElementType() == type.getElementType();
  for (int64_t i = 0; fits && i < rank; ++i)
    fits = i == *axis ? updateShape[i] <= shape[i] : updateShape[i] == shape[i];
  if (!fits)
    return error("expects an update of the cache's type and shape " +
                 shapeString(shape) + " but at most as long along axis " +
                 Twine(*axis) + " (not the batch axis 0), got " +
                 shapeString(updateShape));
  int64_t batch = shape[0], length = shape[*axis], seq = updateShape[*axis];
  int64_t prefix = 1, rest = 1;
  for (int64_t i = 0; i < *axis; ++i)
    prefix *= shape[i];
  for (int64_t i = *axis + 1; i < rank; ++i)
    rest *= shape[i];
  int64_t perBatch = prefix / batch;
  Type i64 = builder.getI64Type();
  // Each batch row's first written row, [B, 1, 1].
  Value write = indexConstant({batch, 1, 1}, SmallVector<int64_t>(batch, 0));
  if (Value given = input(2)) {
    if (typeOf(given).getNumElements() != batch)
      return error("expects write_indices [B] = [" + Twine(batch) + "]");
    FailureOr<Value> wide = castTo(given, i64);
    write = succeeded(wide) ? orNull(reshape(*wide, {batch, 1, 1})) : Value();
  }
  Value offset = emit<llm::SubOp>(
      {indexConstant({1, 1, length},
                     llvm::to_vector(llvm::seq<int64_t>(0, length))),
       write});
  if (mode == "circular")
    offset = emit<llm::ModOp>({offset, scalarOf(i64, length)});
  Value written = emit<llm::AndOp>(
      {emit<llm::GreaterEqualOp>({offset, scalarOf(i64, 0)}),
       emit<llm::LessOp>({offset, scalarOf(i64, seq)})});
  // Rows of the table [past (prefix * M) | update (prefix * S)].
  SmallVector<int64_t> pastRows, updateBases;
  for (int64_t p = 0; p < prefix; ++p) {
    for (int64_t j = 0; j < length; ++j)
      pastRows.push_back(p * length + j);
    updateBases.push_back(prefix * length + p * seq);
  }
  Value updateRow = emit<llm::AddOp>(
      {indexConstant({batch, perBatch, 1}, updateBases),
       emit<llm::MaxOp>({offset, scalarOf(i64, 0)})});
  Value index = emit<llm::WhereOp>(
      {written, updateRow,
       indexConstant({batch, perBatch, length}, pastRows)});
  FailureOr<Value> pastFlat = reshape(past, {prefix * length, rest});
  FailureOr<Value> updateFlat = reshape(update, {prefix * seq, rest});
  if (failed(pastFlat) || failed(updateFlat) || !index)
    return failure();
  Value table = concatAlong({*pastFlat, *updateFlat}, 0);
  FailureOr<Value> rows =
      table ? create<llm::GatherOp>(
                  {table, index},
                  {namedAttr("axis", builder.getI64IntegerAttr(0))})
            : FailureOr<Value>(failure());
  if (failed(rows))
    return failure();
  return setResult(reshape(*rows, shape));
}

/// `x` turned over the first 2 * half features of its last dim, half being
/// the last dim of `cos` and `sin` (which broadcast against x's other
/// dims): feature pairs (i, i + half), or interleaved (2i, 2i + 1), rotate
/// by angle i; the features past 2 * half pass through.
Value ONNXImporter::rotated(Value x, Value cos, Value sin, bool interleaved) {
  if (!x || !cos || !sin)
    return {};
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank(), headSize = type.getShape().back();
  int64_t half = typeOf(cos).getShape().back(), rotaryDim = 2 * half;
  Value rotary = x, rest;
  if (rotaryDim < headSize) {
    FailureOr<SmallVector<Value>> parts = createOp<llm::SplitOp>(
        x, {namedAttr("axis", builder.getI64IntegerAttr(rank - 1)),
            namedAttr("sizes", builder.getDenseI64ArrayAttr(
                                   {rotaryDim, headSize - rotaryDim}))});
    if (failed(parts))
      return {};
    rotary = (*parts)[0];
    rest = (*parts)[1];
  }
  // Element i of the rotated dims pairs with `partner` (the other half's,
  // or the other of its pair when interleaved) at angle `angle`:
  // x[i] cos + x[partner] (-sin) for the first of a pair, x[i] cos +
  // x[partner] sin for the second. One gather of x and of each angle table
  // (the ptx kernels fuse them into the multiply and add), as exact as the
  // halves' two products and a subtraction.
  SmallVector<int64_t> partner(rotaryDim), angle(rotaryDim);
  SmallVector<float> sign(rotaryDim);
  for (int64_t i = 0; i < rotaryDim; ++i) {
    bool firstOfPair = interleaved ? i % 2 == 0 : i < half;
    partner[i] = interleaved ? (firstOfPair ? i + 1 : i - 1)
                             : (firstOfPair ? i + half : i - half);
    angle[i] = interleaved ? i / 2 : i % half;
    sign[i] = firstOfPair ? -1.0f : 1.0f;
  }
  auto along = [&](Value value, ArrayRef<int64_t> positions) -> Value {
    return orNull(create<llm::GatherOp>(
        {value, indexConstant({rotaryDim}, positions)},
        {namedAttr("axis",
                   builder.getI64IntegerAttr(typeOf(value).getRank() - 1))}));
  };
  Type angleType = typeOf(sin).getElementType();
  Value signs = createConstant(
      DenseElementsAttr::get(RankedTensorType::get({rotaryDim}, angleType),
                             llvm::map_to_vector(sign,
                                                 [&](float v) {
                                                   return Attribute(
                                                       builder.getFloatAttr(
                                                           angleType, v));
                                                 })),
      nodeLoc);
  Value result = emit<llm::AddOp>(
      {emit<llm::MulOp>({rotary, along(cos, angle)}),
       emit<llm::MulOp>({along(rotary, partner),
                         emit<llm::MulOp>({along(sin, angle), signs})})});
  return rest ? concatAlong({result, rest}, rank - 1) : result;
}

/// ONNX Runtime's GroupQueryAttention (com.microsoft), the attention of
/// onnxruntime-genai's decoder exports (Llama, Mistral, Phi-3, Qwen2,
/// Gemma), as its CPU kernel computes it:
/// - query [B, S, Hq * D] with key and value [B, S, Hkv * D], or all three
///   packed in query [B, S, (Hq + 2 Hkv) * D];
/// - with do_rotary, Q and K turned at positions past_b + s (or
///   position_ids) by cos_cache and sin_cache [max positions, R / 2];
/// - row b's past_b = seqlens_k[b] + 1 - S earlier positions are in
///   past_key and past_value [B, Hkv, P, D] (none on the first prompt: P == 0
///   or S == total_sequence_length); present_key and present_value
///   [B, Hkv, T, D], T = max(total_sequence_length, P) (P + S when the total
///   is a run-time value), hold them, then the S new ones, then zeros (or,
///   when present is as long as past, the buffer it shares, past's rows);
/// - query s of row b sees keys past_b + s - local_window_size + 1 through
///   past_b + s (a window of local_window_size keys, as the kernel has
///   counted it since its fused rewrite; earlier kernels took one more);
///   scores scaled by `scale` (default 1/sqrt(D)), capped to
///   softcap * tanh(score / softcap) when softcap > 0, plus attention_bias;
///   smooth_softmax adds a logit 0, head_sink [Hq] each head's own, to the
///   softmax's denominator.
/// It is one llm.attention with grouped kv heads (causal, with the window
/// as its `window`, on a first prompt; a mask where a run-time past length
/// decides; softcap as its `softcap`, the sink as its `sink`).
LogicalResult ONNXImporter::importGroupQueryAttention() {
  if (failed(requireInputs(1)))
    return failure();
  int64_t heads = getInt("num_heads", 0), kvHeads = getInt("kv_num_heads", 0);
  if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0)
    return error("expects num_heads and kv_num_heads > 0, num_heads a "
                 "multiple of kv_num_heads, got " + Twine(heads) + " and " +
                 Twine(kvHeads));
  if (outputUsed(3))
    return error("output 'output_qk' is not supported");
  float softcap = getFloat("softcap", 0.0f);
  Value query = input(0);
  RankedTensorType qType = typeOf(query);
  if (qType.getRank() != 3)
    return error("expects a query of rank 3 [batch, sequence, hidden], got " +
                 shapeString(qType.getShape()));
  Type element = qType.getElementType();
  int64_t batch = qType.getDimSize(0), seq = qType.getDimSize(1),
          width = qType.getDimSize(2);
  int64_t headSize = 0;
  Value q, k, v;
  if (input(1) || input(2)) {
    if (!input(1) || !input(2))
      return error("expects key and value both, or neither (Q, K and V "
                   "packed in query)");
    headSize = width / heads;
    SmallVector<int64_t> kvShape{batch, seq, kvHeads * headSize};
    if (width % heads != 0 ||
        typeOf(input(1)).getShape() != ArrayRef<int64_t>(kvShape) ||
        typeOf(input(2)).getShape() != ArrayRef<int64_t>(kvShape))
      return error("expects query [B, S, num_heads * D] and key and value "
                   "[B, S, kv_num_heads * D], got " +
                   shapeString(qType.getShape()) + ", " +
                   shapeString(typeOf(input(1)).getShape()) + " and " +
                   shapeString(typeOf(input(2)).getShape()));
    q = query;
    k = input(1);
    v = input(2);
  } else {
    if (width % (heads + 2 * kvHeads) != 0)
      return error("expects a packed query width that is a multiple of "
                   "num_heads + 2 * kv_num_heads = " +
                   Twine(heads + 2 * kvHeads) + ", got " + Twine(width));
    headSize = width / (heads + 2 * kvHeads);
    FailureOr<SmallVector<Value>> parts = createOp<llm::SplitOp>(
        query, {namedAttr("axis", builder.getI64IntegerAttr(2)),
                namedAttr("sizes", builder.getDenseI64ArrayAttr(
                                       {heads * headSize, kvHeads * headSize,
                                        kvHeads * headSize}))});
    if (failed(parts))
      return failure();
    q = (*parts)[0];
    k = (*parts)[1];
    v = (*parts)[2];
  }
  q = splitHeads(q, heads);
  k = splitHeads(k, kvHeads);
  v = splitHeads(v, kvHeads);
  if (!q || !k || !v)
    return failure();

  // The cache's geometry, known at compile time.
  Value pastKey = input(3), pastValue = input(4);
  if (!pastKey != !pastValue)
    return error("expects past_key and past_value both, or neither");
  int64_t past = 0;
  if (pastKey) {
    ArrayRef<int64_t> shape = typeOf(pastKey).getShape();
    if (shape.size() != 4 || shape[0] != batch || shape[1] != kvHeads ||
        shape[3] != headSize || typeOf(pastValue).getShape() != shape)
      return error("expects past_key and past_value [B, kv_num_heads, P, D] "
                   "= [" + Twine(batch) + ", " + Twine(kvHeads) + ", P, " +
                   Twine(headSize) + "], got " + shapeString(shape) + " and " +
                   shapeString(typeOf(pastValue).getShape()));
    past = shape[2];
  }
  std::optional<int64_t> total;
  if (input(6))
    if (std::optional<SmallVector<int64_t>> ints = compileTimeInts(input(6));
        ints && ints->size() == 1)
      total = ints->front();
  if (total && (*total < seq || *total > past + seq))
    return error("total_sequence_length " + Twine(*total) +
                 " is outside [S, P + S] = [" + Twine(seq) + ", " +
                 Twine(past + seq) + "]");
  int64_t length = total ? std::max(*total, past) : past + seq;
  bool firstPrompt = past == 0 || (total && *total == seq);
  bool sharesPast = past > 0 && length == past;

  // Each row's past length, seqlens_k + 1 - S, as [B, 1, 1, 1] (none on the
  // first prompt).
  Type i64 = builder.getI64Type();
  Value pastLength;
  if (!firstPrompt) {
    Value lengths = input(5);
    if (!lengths || typeOf(lengths).getNumElements() != batch)
      return error("expects seqlens_k [B] = [" + Twine(batch) + "]");
    FailureOr<Value> wide = castTo(lengths, i64);
    FailureOr<Value> shaped = succeeded(wide)
                                  ? reshape(*wide, {batch, 1, 1, 1})
                                  : FailureOr<Value>(failure());
    if (failed(shaped))
      return failure();
    pastLength = seq == 1 ? *shaped
                          : emit<llm::AddOp>({*shaped, scalarOf(i64, 1 - seq)});
  }

  if (getInt("do_rotary", 0) != 0) {
    Value cosCache = input(7), sinCache = input(8);
    if (!cosCache || !sinCache)
      return error("do_rotary expects cos_cache and sin_cache");
    RankedTensorType cacheType = typeOf(cosCache);
    if (cacheType.getRank() != 2 ||
        typeOf(sinCache).getShape() != cacheType.getShape() ||
        2 * cacheType.getDimSize(1) > headSize)
      return error("expects cos_cache and sin_cache [max positions, R / 2] "
                   "with R at most the head size " + Twine(headSize) +
                   ", got " + shapeString(cacheType.getShape()) + " and " +
                   shapeString(typeOf(sinCache).getShape()));
    Value positions;
    if (Value ids = input(9)) {
      if (typeOf(ids).getNumElements() != batch * seq)
        return error("expects position_ids [B, S] = [" + Twine(batch) + ", " +
                     Twine(seq) + "]");
      FailureOr<Value> wide = castTo(ids, i64);
      positions = succeeded(wide) ? orNull(reshape(*wide, {batch, seq}))
                                  : Value();
    } else {
      positions = indexConstant(
          {1, seq}, llvm::to_vector(llvm::seq<int64_t>(0, seq)));
      if (pastLength)
        positions = emit<llm::AddOp>(
            {positions, orNull(reshape(pastLength, {batch, 1}))});
    }
    if (!positions)
      return failure();
    int64_t rows = typeOf(positions).getDimSize(0),
            half = cacheType.getDimSize(1);
    auto angles = [&](Value cache) -> Value {
      FailureOr<Value> typed = castTo(cache, element);
      FailureOr<Value> gathered =
          succeeded(typed)
              ? create<llm::GatherOp>(
                    {*typed, positions},
                    {namedAttr("axis", builder.getI64IntegerAttr(0))})
              : FailureOr<Value>(failure());
      return succeeded(gathered) ? orNull(reshape(*gathered,
                                                  {rows, 1, seq, half}))
                                 : Value();
    };
    Value cos = angles(cosCache), sin = angles(sinCache);
    bool interleaved = getInt("rotary_interleaved", 0) != 0;
    q = rotated(q, cos, sin, interleaved);
    k = rotated(k, cos, sin, interleaved);
    if (!q || !k)
      return failure();
  }

  // present_key and present_value [B, Hkv, T, D].
  auto zeros = [&](ArrayRef<int64_t> shape) {
    return zerosOf(RankedTensorType::get(shape, element));
  };
  SmallVector<int64_t> keyPositions =
      llvm::to_vector(llvm::seq<int64_t>(0, length));
  // After a run-time past: the row of [past | new | a zero row] that lands
  // at each position j, per batch row and kv head, [B, Hkv, T]: past's rows
  // before past_b, the new ones up to past_b + S, then past's (a shared
  // buffer) or the zero row; one gather of the flattened rows.
  int64_t tableRows = past + seq + 1;
  Value rowIndex;
  if (!firstPrompt) {
    Value j = indexConstant({1, 1, length}, keyPositions);
    SmallVector<int64_t> clamped;
    for (int64_t position : keyPositions)
      clamped.push_back(std::min(position, past - 1));
    Value pastRow = indexConstant({1, 1, length}, clamped);
    Value offset =
        emit<llm::SubOp>({j, orNull(reshape(pastLength, {batch, 1, 1}))});
    Value newRow = emit<llm::AddOp>(
        {emit<llm::MaxOp>({emit<llm::MinOp>({offset, scalarOf(i64, seq - 1)}),
                           scalarOf(i64, 0)}),
         scalarOf(i64, past)});
    Value restRow = sharesPast ? pastRow : scalarOf(i64, past + seq);
    Value source = emit<llm::WhereOp>(
        {emit<llm::LessOp>({offset, scalarOf(i64, 0)}), pastRow,
         emit<llm::WhereOp>(
             {emit<llm::LessOp>({offset, scalarOf(i64, seq)}), newRow,
              restRow})});
    SmallVector<int64_t> bases;
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t h = 0; h < kvHeads; ++h)
        bases.push_back((b * kvHeads + h) * tableRows);
    rowIndex = emit<llm::AddOp>(
        {indexConstant({batch, kvHeads, 1}, bases), source});
    if (!rowIndex)
      return failure();
  }
  auto presentOf = [&](Value cache, Value fresh) -> Value {
    if (!cache || (firstPrompt && length == seq))
      return fresh;
    if (firstPrompt) {
      // The new rows, then past's (a shared buffer) or zeros.
      Value tail = zeros({batch, kvHeads, length - seq, headSize});
      if (sharesPast)
        tail = sliceAlong(cache, 2, seq, length);
      return concatAlong({fresh, tail}, 2);
    }
    Value table =
        concatAlong({cache, fresh, zeros({batch, kvHeads, 1, headSize})}, 2);
    Value flat =
        table ? orNull(reshape(table, {batch * kvHeads * tableRows, headSize}))
              : Value();
    return gatherRows(flat, rowIndex);
  };
  Value presentKey = presentOf(pastKey, k),
        presentValue = presentOf(pastValue, v);
  if (!presentKey || !presentValue)
    return failure();

  // The keys each query sees, i1 [B or 1, 1, S, T]: key j for query s when
  // past_b + s - window < j <= past_b + s.
  int64_t window = getInt("local_window_size", -1);
  bool causal = firstPrompt && length == seq;
  Value mask;
  if (!causal) {
    mask = causalMask(seq, length, 0, pastLength, window);
    if (!mask)
      return failure();
  }
  double scale = attentionScale(headSize);
  Value bias;
  if (Value given = input(10)) {
    FailureOr<Value> typed = castTo(given, element);
    if (failed(typed))
      return failure();
    bias = *typed;
  }

  // smooth_softmax: a sink of 0 per head; head_sink: each head's own.
  Value sink;
  if (Value given = input(11)) {
    if (typeOf(given).getNumElements() != heads)
      return error("expects head_sink [num_heads] = [" + Twine(heads) + "]");
    sink = orNull(castTo(given, element));
    if (!sink)
      return failure();
  } else if (getInt("smooth_softmax", 0) != 0) {
    sink = zeros({heads});
  }
  FailureOr<Value> context = groupedAttention(
      q, presentKey, presentValue, combinedMask(mask, bias, element), scale,
      softcap, causal, sink, window);
  if (failed(context))
    return failure();
  FailureOr<Value> output = mergeHeads(*context);
  if (failed(output))
    return failure();
  results.push_back(*output);
  results.push_back(presentKey);
  results.push_back(presentValue);
  return success();
}

/// ONNX Runtime's mixture of experts (com.microsoft MoE, onnxruntime-genai's
/// float exports of Mixtral-, Qwen-MoE- and gpt-oss-style blocks) as its
/// kernels and their parity tests define it. router_probs [N, E] are
/// logits: softmax over the experts, the k largest taken (the lowest index
/// among equals) and, with normalize_routing_weights, divided by their
/// sum. Expert e is fc2(act(fc1(x))) with weights [E, out, in] as
/// nn.Linear stores them (x Wᵀ + b); the output is the sum of the taken
/// experts' results times their weights. activation_type: relu, gelu (the
/// tanh approximation), silu, identity, or swiglu: g * sigmoid(alpha g) *
/// (l + beta), g clamped from above and l on both sides at swiglu_limit
/// when it is given, g and l interleaved in fc1's rows (swiglu_fusion 1),
/// concatenated (2), or fc1's and fc3's (0). Another activation with fc3
/// is act(fc1(x)) * fc3(x) (Mixtral's gate and up projections). Weights
/// [E, in, out] (earlier releases' layout) are read as x W when the hidden
/// size tells them apart.
///
/// No data-dependent shapes: with fewer token-expert pairs than experts (N k
/// < E, a decoding step), each token's k experts' weights are gathered and
/// applied to its row; otherwise every expert runs on every token and the
/// experts not taken are weighted by zero (E / k times the routed work, but
/// whole-matrix products). use_sparse_mixer (Phi-3.5-MoE's routing, k 2)
/// takes the top 2 of the logits themselves, weighted as
/// sparseMixerWeights says.
///
/// QMoE (onnxruntime-genai's int4 and int8 MoE blocks, gpt-oss's among
/// them) is the same block with weight-only quantized experts, as ONNX
/// Runtime's CPU kernel reads them: each projection's weights [E, out,
/// in * bits / 8] bytes (expert_weight_bits 4: two values a byte along in,
/// the low nibble first; or 8), its scales per row [E, out] or per block of
/// block_size along in [E, out, blocks], and optional uint8 zero points
/// (inputs 11 to 13, packed 8 / bits a byte along out, or along the
/// blocks; by default 2^(bits - 1)): w = (q - zero point) * scale. The
/// weights stay 4- or 8-bit constants, dequantized where they are used
/// (after the gather of a token's experts when routed).
/// normalize_routing_weights is honoured as in MoE (the CPU kernel always
/// normalizes; onnxruntime-genai sets it). router_weights and the FP4/FP8
/// inputs are refused.
/// The sparse mixer's weights of the two experts `top` took from the
/// logits (Phi-3.5-MoE's sparsemixer at inference, ONNX Runtime's
/// sparse_mixer_top2 with jitter_eps 0.01): in round r, with m the expert's
/// logit, the logits l with m - l > 2 eps max(|l|, m) are masked (round 1
/// masks round 0's expert too), and the weight is the expert's softmax over
/// the rest: 1 / sum of exp(l - m) over the unmasked l. [N, 1] each.
SmallVector<Value> ONNXImporter::sparseMixerWeights(Value logits,
                                                    const TopKRounds &top,
                                                    int64_t experts) {
  Type element = typeOf(logits).getElementType();
  Value iota = positionsAlong(2, 1, experts);
  Value magnitude = emit<llm::AbsOp>(logits);
  Value threshold = scalarOf(element, 2 * 0.01);
  SmallVector<Value> weights;
  for (size_t r = 0; r < top.values.size(); ++r) {
    Value m = top.values[r];
    Value factor = emit<llm::MaxOp>({magnitude, m});
    Value masked = emit<llm::GreaterOp>(
        {emit<llm::SubOp>({m, logits}), emit<llm::MulOp>({threshold, factor})});
    if (r > 0)
      masked =
          emit<llm::OrOp>({masked, emit<llm::EqualOp>({iota, top.indices[0]})});
    Value terms =
        emit<llm::WhereOp>({masked, scalarOf(element, 0.0),
                            emit<llm::ExpOp>(emit<llm::SubOp>({logits, m}))});
    weights.push_back(
        emit<llm::ReciprocalOp>(reduce<llm::ReduceSumOp>(terms, {1}, true)));
  }
  return weights;
}

LogicalResult ONNXImporter::importMoE() {
  if (failed(requireInputs(2)))
    return failure();
  // QMoE puts each projection's scales after its weights.
  bool quantized = node->op_type() == "QMoE";
  auto at = [&](unsigned moe, unsigned qmoe) {
    return input(quantized ? qmoe : moe);
  };
  Value x = input(0), router = input(1), w1 = at(2, 2), b1 = at(3, 4),
        w2 = at(4, 5), b2 = at(5, 7), w3 = at(6, 8), b3 = at(7, 10);
  if (!w1 || !w2)
    return error(quantized ? "expects fc1_experts_weights (input 2) and "
                             "fc2_experts_weights (input 5)"
                           : "expects fc1_experts_weights (input 2) and "
                             "fc2_experts_weights (input 4)");
  bool sparseMixer = getInt("use_sparse_mixer", 0) != 0;
  int64_t bits = 8, block = 0;
  if (quantized) {
    bits = getInt("expert_weight_bits", 4);
    if (bits != 4 && bits != 8)
      return error("expert_weight_bits " + Twine(bits) +
                   " is not supported (4 or 8)");
    block = getInt("block_size", 0);
    if (block != 0 && (block < 16 || (block & (block - 1)) != 0))
      return error("block_size must be 0 or a power of two of at least 16, "
                   "got " +
                   Twine(block));
    if (input(14))
      return error("router_weights (input 14) is not supported");
    for (int i = 15; i < node->input_size(); ++i)
      if (input(i))
        return error("input " + Twine(i) +
                     " (FP4/FP8 global or activation scales) is not "
                     "supported");
  }
  RankedTensorType xType = typeOf(x), routerType = typeOf(router);
  Type element = xType.getElementType();
  if (!isa<FloatType>(element) || routerType.getElementType() != element)
    return error("expects floating-point input and router_probs of one type");
  for (Value value : {x, router, w1, w2, w3, b1, b2, b3}) {
    if (value && !typeOf(value).hasStaticShape())
      return error("needs static shapes");
    if (value && typeOf(value).getNumElements() == 0)
      return error("expects non-empty inputs");
  }
  if (xType.getRank() < 2 || routerType.getRank() != 2)
    return error("expects input [N, H] or [B, S, H] and router_probs [N, E]");
  int64_t hidden = xType.getShape().back();
  int64_t tokens = xType.getNumElements() / hidden;
  int64_t experts = routerType.getDimSize(1);
  if (routerType.getDimSize(0) != tokens)
    return error("router_probs has " + Twine(routerType.getDimSize(0)) +
                 " rows for " + Twine(tokens) + " tokens");
  int64_t k = getInt("k", 1);
  if (k < 1 || k > experts)
    return error("k = " + Twine(k) + " is not in 1.." + Twine(experts));
  if (sparseMixer && k != 2)
    return error("use_sparse_mixer (Phi-3.5-MoE's sparsemixer routing) "
                 "takes k = 2, got " +
                 Twine(k));
  std::string activation = getString("activation_type", "relu");
  if (!llvm::is_contained({"relu", "gelu", "silu", "identity", "swiglu"},
                          activation))
    return error("unsupported activation_type '" + activation + "'");
  bool swiglu = activation == "swiglu";
  int64_t fusion = getInt("swiglu_fusion", 0);
  if (swiglu && (fusion < 0 || fusion > 2))
    return error("swiglu_fusion " + Twine(fusion) + " is not 0, 1 or 2");
  if (swiglu && fusion == 0 && !w3)
    return error("swiglu with swiglu_fusion 0 expects fc3_experts_weights "
                 "(input " +
                 Twine(quantized ? 8 : 6) + ")");
  if (swiglu && fusion != 0 && w3)
    return error("swiglu_fusion " + Twine(fusion) +
                 " puts both halves in fc1: no fc3_experts_weights");

  // A weight [E, out, in] is read as x Wᵀ, [E, in, out] as x W; QMoE's
  // are [E, out, in * bits / 8] bytes.
  auto layout = [&](Value w, StringRef name, int64_t in,
                    std::optional<int64_t> out) -> FailureOr<bool> {
    ArrayRef<int64_t> shape = typeOf(w).getShape();
    if (shape.size() != 3 || shape[0] != experts)
      return error(name + " is not [" + Twine(experts) + ", out, in]");
    if (quantized) {
      if (in * bits % 8 == 0 && shape[2] == in * bits / 8 &&
          (!out || shape[1] == *out))
        return true;
      return error(name + " " + shapeString(shape) + " is not [" +
                   Twine(experts) + "," + (out ? Twine(*out) : Twine("out")) +
                   "," + Twine(in * bits / 8) + "] bytes (" + Twine(in) + " " +
                   Twine(bits) + "-bit inputs)");
    }
    if (shape[2] == in && (!out || shape[1] == *out))
      return true;
    if (shape[1] == in && (!out || shape[2] == *out))
      return false;
    return error(name + " [" + Twine(shape[0]) + ", " + Twine(shape[1]) + ", " +
                 Twine(shape[2]) + "] does not take " + Twine(in) + " inputs");
  };
  FailureOr<bool> fc1Transposed =
      layout(w1, "fc1_experts_weights", hidden, std::nullopt);
  if (failed(fc1Transposed))
    return failure();
  int64_t fc1Out = typeOf(w1).getDimSize(*fc1Transposed ? 1 : 2);
  bool bothInFc1 = swiglu && fusion != 0;
  if (bothInFc1 && fc1Out % 2 != 0)
    return error("fused swiglu needs an even fc1 width, got " + Twine(fc1Out));
  int64_t inter = bothInFc1 ? fc1Out / 2 : fc1Out;
  FailureOr<bool> fc2Transposed =
      layout(w2, "fc2_experts_weights", inter, hidden);
  FailureOr<bool> fc3Transposed =
      w3 ? layout(w3, "fc3_experts_weights", hidden, inter) : true;
  if (failed(fc2Transposed) || failed(fc3Transposed))
    return failure();
  auto checkBias = [&](Value b, StringRef name, int64_t out) {
    if (b && typeOf(b).getShape() != ArrayRef<int64_t>{experts, out})
      return error(name + " is not [" + Twine(experts) + ", " + Twine(out) +
                   "]");
    return success();
  };
  if (failed(checkBias(b1, "fc1_experts_bias", fc1Out)) ||
      failed(checkBias(b2, "fc2_experts_bias", hidden)) ||
      failed(checkBias(b3, "fc3_experts_bias", inter)))
    return failure();
  std::optional<ExpertWeights> q1, q2, q3;
  if (quantized) {
    FailureOr<ExpertWeights> fc1 = expertWeights(w1, input(3), input(11), "fc1",
                                                 fc1Out, hidden, bits, block);
    FailureOr<ExpertWeights> fc2 = expertWeights(w2, input(6), input(12), "fc2",
                                                 hidden, inter, bits, block);
    if (failed(fc1) || failed(fc2))
      return failure();
    q1 = *fc1;
    q2 = *fc2;
    if (w3) {
      FailureOr<ExpertWeights> fc3 = expertWeights(
          w3, input(9), input(13), "fc3", inter, hidden, bits, block);
      if (failed(fc3))
        return failure();
      q3 = *fc3;
    }
  }

  // Routing: the top k of the softmaxed logits, normalized when asked.
  // The sparse mixer takes the top 2 of the logits themselves, each
  // weighted by sparseMixerWeight (never normalized, as in ONNX Runtime).
  Value probs = sparseMixer ? router : softmaxAlong(router, 1);
  if (!probs)
    return failure();
  TopKRounds top = topKRounds(probs, 1, experts, k, /*largest=*/true);
  SmallVector<Value> mixerWeights;
  if (sparseMixer)
    mixerWeights = sparseMixerWeights(router, top, experts);
  bool normalize = !sparseMixer && getInt("normalize_routing_weights", 0) != 0;
  auto normalized = [&](Value gates) {
    return normalize ? emit<llm::DivOp>(
                           {gates, reduce<llm::ReduceSumOp>(gates, {1}, true)})
                     : gates;
  };
  auto view = [&](Value value, ArrayRef<int64_t> shape) -> Value {
    return value ? orNull(reshape(value, shape)) : Value();
  };

  // Routed, when fewer token-expert pairs than experts (decoding): each
  // token's k experts' weights gathered ([N, k, out, in]) and applied to
  // its row as [N, k, 1, .] products, which reads k experts per token.
  // Dense otherwise: every expert on every token as [E, N, .] products of
  // the rows [1, N, H], the experts not taken weighted by zero.
  bool routed = tokens * k < experts;
  Value indices, gates, rows;
  if (routed) {
    indices = concatAlong(top.indices, 1);
    gates = normalized(concatAlong(sparseMixer ? ArrayRef<Value>(mixerWeights)
                                               : ArrayRef<Value>(top.values),
                                   1));
    rows = view(x, {tokens, 1, 1, hidden});
  } else if (sparseMixer) {
    // Each expert's weight where it was taken, zero elsewhere.
    Value iota = positionsAlong(2, 1, experts);
    gates = scalarOf(element, 0.0);
    for (int64_t r = k - 1; r >= 0; --r)
      gates = emit<llm::WhereOp>(
          {emit<llm::EqualOp>({iota, top.indices[r]}), mixerWeights[r], gates});
    rows = view(x, {1, tokens, hidden});
  } else {
    gates = normalized(
        emit<llm::WhereOp>({top.taken, probs, scalarOf(element, 0.0)}));
    rows = view(x, {1, tokens, hidden});
  }
  // The experts' weights, the token's k of them when routed (gathered
  // before they are dequantized).
  auto expertsOf = [&](Value w, const std::optional<ExpertWeights> &q) {
    if (q)
      return dequantizedExperts(*q, routed ? indices : Value(), element);
    return routed ? gatherRows(w, indices) : w;
  };
  auto linear = [&](Value in, Value w, Value b, bool transposed, int64_t out,
                    const std::optional<ExpertWeights> &q) -> Value {
    if (!in)
      return {};
    Value weights = expertsOf(w, q);
    if (!weights)
      return {};
    Value y = orNull(plainMatMul(in, weights, transposed));
    if (b)
      y = emit<llm::AddOp>(
          {y, routed ? view(gatherRows(b, indices), {tokens, k, 1, out})
                     : view(b, {experts, 1, out})});
    return y;
  };
  // Halves of the last axis: interleaved pairs, or first and second half.
  auto halves = [&](Value value) -> std::pair<Value, Value> {
    if (!value)
      return {};
    SmallVector<int64_t> shape(typeOf(value).getShape());
    int64_t last = shape.size() - 1;
    shape.back() = inter;
    if (fusion == 2)
      return {sliceAlong(value, last, 0, inter),
              sliceAlong(value, last, inter, 2 * inter)};
    SmallVector<int64_t> pairShape(shape);
    pairShape.push_back(2);
    Value pairs = view(value, pairShape);
    return {view(sliceAlong(pairs, last + 1, 0, 1), shape),
            view(sliceAlong(pairs, last + 1, 1, 2), shape)};
  };
  Value h1 = linear(rows, w1, b1, *fc1Transposed, fc1Out, q1);
  Value h;
  if (swiglu) {
    auto [g, l] =
        w3 ? std::pair(h1, linear(rows, w3, b3, *fc3Transposed, inter, q3))
           : halves(h1);
    if (findAttr("swiglu_limit")) {
      double limit = getFloat("swiglu_limit", 0.0f);
      g = emit<llm::MinOp>({g, scalarOf(element, limit)});
      l = emit<llm::MaxOp>({emit<llm::MinOp>({l, scalarOf(element, limit)}),
                            scalarOf(element, -limit)});
    }
    Value alpha = scalarOf(element, getFloat("activation_alpha", 1.0f));
    Value beta = scalarOf(element, getFloat("activation_beta", 0.0f));
    Value swish = emit<llm::MulOp>(
        {g, emit<llm::SigmoidOp>({emit<llm::MulOp>({g, alpha})})});
    h = emit<llm::MulOp>({swish, emit<llm::AddOp>({l, beta})});
  } else {
    if (activation == "relu")
      h = emit<llm::ReluOp>({h1});
    else if (activation == "silu")
      h = emit<llm::MulOp>({h1, emit<llm::SigmoidOp>({h1})});
    else if (activation == "gelu" && h1)
      h = orNull(create<llm::GeluOp>(
          h1,
          {namedAttr("approximation",
                     llm::GeluApproximationAttr::get(
                         context, llm::GeluApproximation::tanh))},
          h1.getType()));
    else
      h = h1;
    if (w3)
      h = emit<llm::MulOp>(
          {h, linear(rows, w3, b3, *fc3Transposed, inter, q3)});
  }
  Value h2 = linear(h, w2, b2, *fc2Transposed, hidden, q2);

  // The gated results summed: over k ([N, k, 1, H] by gates [N, k, 1, 1])
  // or over the experts ([E, N, H] by the gates as [E, N, 1]).
  Value weights = routed
                      ? view(gates, {tokens, k, 1, 1})
                      : view(transposed(gates, {1, 0}), {experts, tokens, 1});
  Value sum = reduce<llm::ReduceSumOp>(emit<llm::MulOp>({h2, weights}),
                                       {routed ? 1 : 0}, false);
  if (!sum)
    return failure();
  return setResult(reshape(sum, xType.getShape()));
}

/// RotaryEmbedding, ONNX's (opset 23) and ONNX Runtime's (com.microsoft),
/// which differ in their inputs' order: x [B, S, hidden] (heads of
/// hidden / num_heads features, or without num_heads of twice the caches'
/// width) or [B, N, S, D]; each head's first rotary_embedding_dim features
/// (default: all) turned at position_ids [B, S] (or an offset [1]: offset +
/// s) by cos_cache and sin_cache [max positions, R / 2], or, without
/// position_ids, by caches [B, S, R / 2] already per position.
LogicalResult ONNXImporter::importRotaryEmbedding() {
  // ONNX's (opset 23) orders its inputs x, cos_cache, sin_cache,
  // position_ids; ONNX Runtime's x, position_ids, cos_cache, sin_cache.
  bool onnx = node->domain() != "com.microsoft";
  Value x = input(0), positionIds = input(onnx ? 3 : 1),
        cosCache = input(onnx ? 1 : 2), sinCache = input(onnx ? 2 : 3);
  if (!x || !cosCache || !sinCache)
    return error("expects input, cos_cache and sin_cache");
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank();
  if (rank != 3 && rank != 4)
    return error("expects an input [B, S, hidden] or [B, N, S, D], got " +
                 shapeString(type.getShape()));
  Type element = type.getElementType();
  RankedTensorType cacheType = typeOf(cosCache);
  if (typeOf(sinCache).getShape() != cacheType.getShape() ||
      cacheType.getRank() != (positionIds ? 2 : 3))
    return error("expects cos_cache and sin_cache of one shape, [max "
                 "positions, R / 2] with position_ids, [B, S, R / 2] without, "
                 "got " + shapeString(cacheType.getShape()) + " and " +
                 shapeString(typeOf(sinCache).getShape()));
  int64_t batch = type.getDimSize(0), seq = type.getDimSize(rank == 4 ? 2 : 1);
  int64_t half = cacheType.getShape().back();
  int64_t heads = getInt("num_heads", 0),
          rotaryDim = getInt("rotary_embedding_dim", 0), headSize = 0;
  if (rank == 4) {
    heads = type.getDimSize(1);
    headSize = type.getDimSize(3);
  } else {
    int64_t hidden = type.getDimSize(2);
    if (heads <= 0 && rotaryDim > 0)
      return error("rotary_embedding_dim needs num_heads");
    headSize = heads > 0 ? hidden / heads : 2 * half;
    if (headSize <= 0 || hidden % headSize != 0)
      return error("hidden size " + Twine(hidden) +
                   " is not a whole number of heads of " + Twine(headSize));
    heads = hidden / headSize;
  }
  if (rotaryDim <= 0)
    rotaryDim = headSize;
  if (rotaryDim > headSize || rotaryDim != 2 * half)
    return error("expects cos_cache and sin_cache of width R / 2 = " +
                 Twine(rotaryDim / 2) + " (R at most the head size " +
                 Twine(headSize) + "), got " + Twine(half));
  Value cos = cosCache, sin = sinCache;
  if (positionIds) {
    RankedTensorType idsType = typeOf(positionIds);
    FailureOr<Value> wide = castTo(positionIds, builder.getI64Type());
    if (failed(wide))
      return failure();
    Value positions;
    if (idsType.getNumElements() == 1 && idsType.getRank() <= 1) {
      Value offset = orNull(reshape(*wide, {1, 1}));
      positions = emit<llm::AddOp>(
          {offset, indexConstant({1, seq}, llvm::to_vector(
                                               llvm::seq<int64_t>(0, seq)))});
    } else if (idsType.getShape() == ArrayRef<int64_t>({batch, seq})) {
      positions = *wide;
    } else {
      return error("expects position_ids [B, S] = [" + Twine(batch) + ", " +
                   Twine(seq) + "] or an offset [1], got " +
                   shapeString(idsType.getShape()));
    }
    cos = gatherRows(cosCache, positions);
    sin = gatherRows(sinCache, positions);
  }
  auto typed = [&](Value value) -> Value {
    return value ? orNull(castTo(value, element)) : Value();
  };
  cos = typed(cos);
  sin = typed(sin);
  if (!cos || !sin)
    return failure();
  int64_t rows = typeOf(cos).getDimSize(0);
  Value result;
  if (rank == 4) {
    result = rotated(x, orNull(reshape(cos, {rows, 1, seq, half})),
                     orNull(reshape(sin, {rows, 1, seq, half})),
                     getInt("interleaved", 0) != 0);
  } else {
    Value split = orNull(reshape(x, {batch, seq, heads, headSize}));
    Value turned = rotated(split, orNull(reshape(cos, {rows, seq, 1, half})),
                           orNull(reshape(sin, {rows, seq, 1, half})),
                           getInt("interleaved", 0) != 0);
    result = turned ? orNull(reshape(turned, type.getShape())) : Value();
  }
  if (!result)
    return failure();
  return setResult(result);
}

LogicalResult ONNXImporter::importSkipNormalization() {
  if (failed(requireInputs(3)))
    return failure();
  bool simplified = node->op_type() == "SkipSimplifiedLayerNormalization";
  Value sum = emit<llm::AddOp>({input(0), input(1)});
  // Inputs: input, skip, gamma, [beta,] bias (the RMS form has no beta).
  Value beta = simplified ? Value() : input(3);
  Value bias = input(simplified ? 3 : 4);
  if (bias)
    sum = emit<llm::AddOp>({sum, bias});
  if (!sum)
    return failure();
  int64_t axis = typeOf(sum).getRank() - 1;
  float epsilon = getFloat("epsilon", 1e-12f); // ONNX Runtime's default
  SmallVector<NamedAttribute> attrs = {
      namedAttr("axis", builder.getI64IntegerAttr(axis)),
      namedAttr("epsilon", builder.getF32FloatAttr(epsilon))};
  FailureOr<Value> normalized;
  if (simplified) {
    normalized =
        create<llm::RMSNormOp>({sum, input(2)}, attrs, sum.getType());
  } else {
    SmallVector<Value> operands{sum, input(2)};
    if (beta)
      operands.push_back(beta);
    normalized = create<llm::LayerNormOp>(operands, attrs, sum.getType());
  }
  if (failed(normalized))
    return failure();
  results.push_back(*normalized);
  if (outputUsed(1) || outputUsed(2))
    return error("the training outputs mean and inv_std_var are not "
                 "supported");
  if (outputUsed(3)) {
    // Outputs 1 and 2 unused: placeholders keep output 3 at its index.
    results.push_back(*normalized);
    results.push_back(*normalized);
    results.push_back(sum);
  }
  return success();
}

/// SimplifiedLayerNormalization (ONNX Runtime's RMSNorm): x / sqrt(mean(x^2)
/// + epsilon) * scale over the dims from `axis`.
LogicalResult ONNXImporter::importSimplifiedLayerNormalization() {
  if (failed(requireInputs(2)))
    return failure();
  FailureOr<int64_t> axis =
      normalizeAxis(getInt("axis", -1), typeOf(input(0)).getRank());
  if (failed(axis))
    return failure();
  if (outputUsed(1))
    return error("the training output inv_std_var is not supported");
  return setResult(create<llm::RMSNormOp>(
      {input(0), input(1)},
      {namedAttr("axis", builder.getI64IntegerAttr(*axis)),
       namedAttr("epsilon", builder.getF32FloatAttr(getFloat("epsilon", 1e-5f)))},
      input(0).getType()));
}

LogicalResult ONNXImporter::importPRelu() {
  if (failed(requireInputs(2)))
    return failure();
  Value x = input(0);
  Type elementType = typeOf(x).getElementType();
  if (!isa<FloatType>(elementType))
    return error("expects a floating-point input");
  FailureOr<Value> slope = castTo(input(1), elementType);
  if (failed(slope))
    return failure();
  // Before opset 7 a 1-D slope of x's channel count is per channel (axis 1),
  // as PyTorch's early exports wrote it; ONNX's converter keeps the node as
  // it is, so the channel axis is made explicit here.
  ArrayRef<int64_t> xShape = typeOf(x).getShape(),
                    slopeShape = typeOf(*slope).getShape();
  if (upgradedFrom && upgradedFrom < 7 && xShape.size() > 2 &&
      slopeShape.size() == 1 && slopeShape[0] != 1 &&
      slopeShape[0] == xShape[1]) {
    SmallVector<int64_t> channels(xShape.size() - 1, 1);
    channels[0] = slopeShape[0];
    slope = reshape(*slope, channels);
    if (failed(slope))
      return failure();
  }
  Value result = emit<llm::WhereOp>(
      {emit<llm::LessOp>({x, scalarOf(elementType, 0)}),
       emit<llm::MulOp>({x, *slope}), x});
  if (!result)
    return failure();
  return setResult(result);
}

/// Einsum as transposes, sums and batched matmuls, one per operand after
/// the first (contracted left to right): the indices of each pair are
/// grouped into batch (in both operands and still needed by the output or
/// a later operand), contracted (in both, not needed after) and free (in
/// one operand) ones; indices of one operand that nothing else reads are
/// summed first. "..." stands for the leading dims
/// (broadcast numpy's way); an index repeated in one operand takes its
/// diagonal.
LogicalResult ONNXImporter::importEinsum() {
  std::string equation;
  for (char ch : getString("equation", ""))
    if (!llvm::isSpace(ch))
      equation.push_back(ch);
  if (equation.empty())
    return error("expects attribute 'equation'");
  if (inputs.empty())
    return error("expects at least one input");
  for (Value value : inputs)
    if (!value)
      return error("expects no empty inputs");
  StringRef text(equation);
  auto [lhsText, outText] = text.split("->");
  bool explicitOutput = text.contains("->");
  SmallVector<StringRef> termTexts;
  lhsText.split(termTexts, ',');
  if (termTexts.size() != inputs.size())
    return error("equation '" + equation + "' has " +
                 std::to_string(termTexts.size()) + " operands, the node " +
                 std::to_string(inputs.size()));
  // Each "..." becomes the last k of `ellipsis` placeholder indices (digits
  // never appear in equations), k the dims it covers in that operand.
  int64_t ellipsisRank = 0;
  SmallVector<int64_t> covered; // per operand, 0 without "..."
  for (auto [term, value] : llvm::zip(termTexts, inputs)) {
    int64_t rank = typeOf(value).getRank();
    covered.push_back(0);
    if (term.contains("...")) {
      covered.back() = rank - static_cast<int64_t>(term.size() - 3);
      if (covered.back() < 0)
        return error("equation '" + equation + "': operand of rank " +
                     std::to_string(rank) + " for '" + term.str() + "'");
      ellipsisRank = std::max(ellipsisRank, covered.back());
    }
  }
  if (ellipsisRank > 10)
    return error("equation '" + equation + "': '...' covers more than 10 dims");
  auto expand = [&](StringRef term, int64_t dims) {
    std::string out;
    size_t dots = term.find("...");
    if (dots == StringRef::npos)
      return term.str();
    out = term.substr(0, dots).str();
    for (int64_t i = ellipsisRank - dims; i < ellipsisRank; ++i)
      out.push_back(static_cast<char>('0' + i));
    out += term.substr(dots + 3).str();
    return out;
  };
  SmallVector<std::string> terms;
  SmallVector<Value> operands(inputs.begin(), inputs.end());
  llvm::DenseMap<char, int64_t> sizes;
  llvm::DenseMap<char, int> uses;
  for (auto [term, value, dims] : llvm::zip(termTexts, operands, covered)) {
    RankedTensorType type = typeOf(value);
    std::string expanded = expand(term, dims);
    if (static_cast<int64_t>(expanded.size()) != type.getRank())
      return error("equation '" + equation + "': '" + term.str() +
                   "' names " + std::to_string(expanded.size()) +
                   " dims of an operand of rank " +
                   std::to_string(type.getRank()));
    if (!type.hasStaticShape())
      return error("Einsum needs static shapes; operand '" + term.str() +
                   "' has a dynamic dim");
    // Implicit output: the indices used once in the whole equation.
    for (char index : expanded)
      ++uses[index];
    // A repeated index takes the diagonal: x where the two dims' positions
    // are equal, summed over the second.
    for (size_t second = 1; second < expanded.size(); ++second) {
      size_t first = expanded.find(expanded[second]);
      if (first == second)
        continue;
      int64_t n = type.getDimSize(first);
      if (type.getDimSize(second) != n)
        return error("equation '" + equation + "': repeated index '" +
                     std::string(1, expanded[second]) +
                     "' over dims of sizes " + std::to_string(n) + " and " +
                     std::to_string(type.getDimSize(second)));
      SmallVector<int64_t> maskShape(type.getRank(), 1);
      maskShape[first] = maskShape[second] = n;
      SmallVector<bool> mask;
      for (int64_t a = 0; a < n; ++a)
        for (int64_t b = 0; b < n; ++b)
          mask.push_back(a == b);
      value = maskedSum(value, maskShape, mask,
                        {static_cast<int64_t>(second)});
      if (!value)
        return failure();
      type = typeOf(value);
      expanded.erase(second--, 1);
    }
    for (auto [dim, index] : llvm::enumerate(expanded)) {
      if (!llvm::isAlpha(index) && !llvm::isDigit(index))
        return error("equation '" + equation + "': bad index '" +
                     std::string(1, index) + "'");
      int64_t size = type.getDimSize(dim);
      auto [it, inserted] = sizes.try_emplace(index, size);
      if (!inserted && it->second != size) {
        if (it->second != 1 && size != 1)
          return error("equation '" + equation + "': index '" +
                       std::string(1, index) + "' has sizes " +
                       std::to_string(it->second) + " and " +
                       std::to_string(size));
        it->second = std::max(it->second, size);
      }
    }
    terms.push_back(expanded);
  }
  std::string out;
  if (explicitOutput) {
    out = expand(outText, ellipsisRank);
  } else {
    for (int64_t i = 0; i < ellipsisRank; ++i)
      out.push_back(static_cast<char>('0' + i));
    std::string once;
    for (auto [index, count] : uses)
      if (count == 1 && !llvm::isDigit(index))
        once.push_back(index);
    llvm::sort(once);
    out += once;
  }
  for (char index : out)
    if (!sizes.count(index) || llvm::count(out, index) > 1)
      return error("equation '" + equation + "': output index '" +
                   std::string(1, index) +
                   "' is repeated or names no operand dim");

  // Sum away the indices of each operand that nothing else uses.
  for (auto [term, value] : llvm::zip(terms, operands)) {
    SmallVector<int64_t> axes;
    std::string kept;
    const std::string *self = &term;
    for (auto [dim, index] : llvm::enumerate(term)) {
      char c = index;
      bool elsewhere = llvm::is_contained(out, c) ||
                       llvm::any_of(terms, [&](const std::string &other) {
                         return &other != self && llvm::is_contained(other, c);
                       });
      if (elsewhere)
        kept.push_back(index);
      else
        axes.push_back(dim);
    }
    if (axes.empty())
      continue;
    value = reduce<llm::ReduceSumOp>(value, axes, /*keepdims=*/false);
    if (!value)
      return failure();
    term = kept;
  }
  auto permutationTo = [](StringRef from, StringRef to) {
    SmallVector<int64_t> perm;
    for (char index : to)
      perm.push_back(from.find(index));
    return perm;
  };
  // Operands contract pairwise, left to right: [batch, lhs free,
  // contracted] x [batch, contracted, rhs free] as one matmul over
  // [batch..., M, K] x [batch..., K, N]. An index the output or a later
  // operand still reads stays (batch when both have it, free otherwise).
  Type elementType = typeOf(operands[0]).getElementType();
  for (Value value : operands)
    if (typeOf(value).getElementType() != elementType)
      return error("expects operands of one element type");
  auto contract =
      [&](Value lhsOperand, StringRef lhs, Value rhsOperand, StringRef rhs,
          StringRef needed) -> FailureOr<std::pair<Value, std::string>> {
    std::string batch, lhsFree, rhsFree, contracted;
    for (char index : lhs) {
      bool inRhs = rhs.contains(index), kept = needed.contains(index);
      if (inRhs && kept)
        batch.push_back(index);
      else if (inRhs)
        contracted.push_back(index);
      else
        lhsFree.push_back(index);
    }
    for (char index : rhs)
      if (!lhs.contains(index))
        rhsFree.push_back(index);
    RankedTensorType lhsType = typeOf(lhsOperand), rhsType = typeOf(rhsOperand);
    // Each operand's own sizes: a size-1 batch dim broadcasts in the matmul.
    auto dimsOf = [](RankedTensorType type, StringRef term, StringRef group) {
      SmallVector<int64_t> shape;
      for (char index : group)
        shape.push_back(type.getDimSize(term.find(index)));
      return shape;
    };
    for (char index : contracted)
      if (lhsType.getDimSize(lhs.find(index)) !=
          rhsType.getDimSize(rhs.find(index)))
        return error("equation '" + equation + "': contracted index '" +
                     std::string(1, index) + "' has different sizes");
    Value lhsValue = transposed(
        lhsOperand, permutationTo(lhs, batch + lhsFree + contracted));
    Value rhsValue = transposed(
        rhsOperand, permutationTo(rhs, batch + contracted + rhsFree));
    if (!lhsValue || !rhsValue)
      return failure();
    SmallVector<int64_t> lhsFreeDims = dimsOf(lhsType, lhs, lhsFree),
                         rhsFreeDims = dimsOf(rhsType, rhs, rhsFree),
                         contractedDims = dimsOf(lhsType, lhs, contracted);
    SmallVector<int64_t> lhsShape = dimsOf(lhsType, lhs, batch);
    SmallVector<int64_t> rhsShape = dimsOf(rhsType, rhs, batch);
    SmallVector<int64_t> resultShape;
    for (auto [l, r] : llvm::zip(lhsShape, rhsShape))
      resultShape.push_back(std::max(l, r));
    lhsShape.append(
        {computeProduct(lhsFreeDims), computeProduct(contractedDims)});
    rhsShape.append(
        {computeProduct(contractedDims), computeProduct(rhsFreeDims)});
    resultShape.append(lhsFreeDims);
    resultShape.append(rhsFreeDims);
    FailureOr<Value> lhsMatrix = reshape(lhsValue, lhsShape);
    FailureOr<Value> rhsMatrix = reshape(rhsValue, rhsShape);
    if (failed(lhsMatrix) || failed(rhsMatrix))
      return failure();
    FailureOr<Value> matrix = plainMatMul(*lhsMatrix, *rhsMatrix);
    if (failed(matrix))
      return failure();
    FailureOr<Value> result = reshape(*matrix, resultShape);
    if (failed(result))
      return failure();
    return std::make_pair(*result, batch + lhsFree + rhsFree);
  };
  Value current = operands[0];
  std::string currentTerm = terms[0];
  for (size_t next = 1; next < operands.size(); ++next) {
    std::string needed = out;
    for (size_t later = next + 1; later < terms.size(); ++later)
      needed += terms[later];
    auto contracted =
        contract(current, currentTerm, operands[next], terms[next], needed);
    if (failed(contracted))
      return failure();
    std::tie(current, currentTerm) = *contracted;
  }
  Value ordered = transposed(current, permutationTo(currentTerm, out));
  return ordered ? setResult(ordered) : failure();
}

/// CumSum along a constant axis as a masked sum: y[.., i] = sum over j of
/// x[.., j] where j <= i (j < i exclusive; >= and > reversed). Quadratic in
/// the axis length, which is a sequence length in the graphs this targets
/// (position ids from an attention mask).
LogicalResult ONNXImporter::importCumSum() {
  if (failed(requireInputs(2)))
    return failure();
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  FailureOr<int64_t> axisValue = constantScalarInt(1, "axis");
  if (failed(axisValue))
    return failure();
  FailureOr<std::pair<int64_t, int64_t>> along = staticAxis(x, *axisValue);
  if (failed(along))
    return failure();
  int64_t axis = along->first, n = along->second;
  bool exclusive = getInt("exclusive", 0) != 0,
       reverse = getInt("reverse", 0) != 0;
  // mask[i, j]: does x[j] add into y[i]?
  SmallVector<bool> mask;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      mask.push_back(reverse ? (exclusive ? j > i : j >= i)
                             : (exclusive ? j < i : j <= i));
  // x with its axis last, then [.., 1, n] against the [n, n] mask.
  int64_t rank = type.getRank();
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis)
      perm.push_back(d);
  perm.push_back(axis);
  Value last = transposed(x, perm);
  if (!last)
    return failure();
  SmallVector<int64_t> rowShape(typeOf(last).getShape());
  rowShape.insert(rowShape.end() - 1, 1);
  FailureOr<Value> rows = reshape(last, rowShape);
  if (failed(rows))
    return failure();
  Value summed = maskedSum(*rows, {n, n}, mask, {rank});
  if (!summed)
    return failure();
  SmallVector<int64_t> inverse(rank);
  for (auto [position, d] : llvm::enumerate(perm))
    inverse[d] = position;
  Value result = transposed(summed, inverse);
  return result ? setResult(result) : failure();
}

LogicalResult ONNXImporter::importCast() {
  if (failed(requireInputs(1)))
    return failure();
  int64_t to = getInt("to", onnx::TensorProto::UNDEFINED);
  if (to == kOnnxFloat8E4M3FN) {
    markE4M3Output(0);
    return setResult(castFrom(0, builder.getI8Type(), false, true));
  }
  ElementType element = elementTypeOf(to, context);
  if (!element.type)
    return error("unsupported element type " + dataTypeName(to) +
                 " (attribute 'to')");
  bool toUnsigned =
      to == onnx::TensorProto::UINT8 || to == onnx::TensorProto::UINT16;
  if (toUnsigned)
    markUnsignedOutput(0);
  return setResult(castFrom(0, element.type, toUnsigned));
}

/// input(index) cast to `element`, reading a uint8 input as 0..255 (llm's
/// integers are signless: its bytes go through an unsigned dequantize) and
/// an FP8 one as E4M3 (an e4m3 dequantize), and, with `toUnsigned`, writing
/// 0..255 (a float through i32, then its low byte) or, with `toE4M3`, E4M3
/// bytes (`element` is then i8).
FailureOr<Value> ONNXImporter::castFrom(unsigned index, Type element,
                                        bool toUnsigned, bool toE4M3) {
  Value x = input(index);
  Type from = typeOf(x).getElementType();
  bool fromE4M3 = isE4M3Input(index);
  if (fromE4M3 && toE4M3)
    return x;
  if (toE4M3) {
    // Through f32 as any other cast reads the input (uint8 as 0..255).
    FailureOr<Value> wide = castFrom(index, builder.getF32Type(), false);
    FailureOr<Value> one = scalarF32(1.0f);
    if (failed(wide) || failed(one))
      return failure();
    return quantizeE4M3(*wide, *one);
  }
  bool fromUnsigned =
      isUnsignedInput(index) && (from.isInteger(8) || from.isInteger(16));
  if (!fromE4M3 && from == element)
    return x; // uint8 <-> int8 (uint16 <-> int16) keep the bits
  if (fromE4M3 || fromUnsigned) {
    // The bytes' values in f32 (E4M3, or 0..255), then cast from there.
    FailureOr<Value> one = scalarF32(1.0f);
    if (failed(one))
      return failure();
    FailureOr<Value> wide = create<llm::DequantizeOp>(
        {x, *one},
        {namedAttr(fromE4M3 ? "e4m3" : "is_unsigned", builder.getUnitAttr())},
        typeOf(x).clone(builder.getF32Type()));
    if (failed(wide))
      return failure();
    x = *wide;
    from = builder.getF32Type();
    if (from == element)
      return x;
  }
  if (toUnsigned && isa<FloatType>(from)) {
    FailureOr<Value> wide = castTo(x, builder.getI32Type());
    if (failed(wide))
      return failure();
    return castTo(*wide, element);
  }
  return castTo(x, element);
}

LogicalResult ONNXImporter::importCastLike() {
  if (failed(requireInputs(2)))
    return failure();
  bool toUnsigned = isUnsignedInput(1), toE4M3 = isE4M3Input(1);
  if (toUnsigned)
    markUnsignedOutput(0);
  if (toE4M3)
    markE4M3Output(0);
  return setResult(
      castFrom(0, typeOf(input(1)).getElementType(), toUnsigned, toE4M3));
}

LogicalResult ONNXImporter::importIdentity() {
  if (node->input_size() >= 1 && sequences.count(node->input(0))) {
    Item item;
    item.isSequence = true;
    item.sequence = sequences.lookup(node->input(0));
    return setItemResult(item);
  }
  if (failed(requireInputs(1)))
    return failure();
  return setResult(input(0));
}

//===----------------------------------------------------------------------===//
// Linear algebra and transformer blocks
//===----------------------------------------------------------------------===//

/// Softmax, LogSoftmax and Hardmax of a model below opset 13 (see
/// kCoerced2DAttr) normalize x reshaped to [d0 * ... * d(axis-1),
/// d(axis) * ... * d(n-1)] along its last axis: the op imported for that 2-D
/// value by `along` (given the value and the axis), reshaped back.
LogicalResult ONNXImporter::coercedTo2D(
    llvm::function_ref<LogicalResult(Value, int64_t)> along) {
  Value x = input(0);
  ArrayRef<int64_t> shape = typeOf(x).getShape();
  bool coerced = findAttr(kCoerced2DAttr) != nullptr;
  FailureOr<int64_t> axis =
      normalizeAxis(getInt("axis", coerced ? 1 : -1), shape.size());
  if (failed(axis))
    return failure();
  if (!coerced || *axis + 1 >= static_cast<int64_t>(shape.size()))
    return along(x, *axis);
  if (!typeOf(x).hasStaticShape())
    return error("expects a static shape to coerce x to 2-D at axis " +
                 Twine(*axis));
  int64_t rows = 1;
  for (int64_t dim : shape.take_front(*axis))
    rows *= dim;
  FailureOr<Value> flat = reshape(
      x, {rows, typeOf(x).getNumElements() / std::max<int64_t>(rows, 1)});
  if (failed(flat) || failed(along(*flat, 1)))
    return failure();
  Value normalized = results.pop_back_val();
  FailureOr<Value> back = reshape(normalized, shape);
  return failed(back) ? failure() : setResult(*back);
}

LogicalResult ONNXImporter::importSoftmax() {
  if (failed(requireInputs(1)))
    return failure();
  return coercedTo2D([&](Value x, int64_t axis) {
    return setResult(create<llm::SoftmaxOp>(
        x, {namedAttr("axis", builder.getI64IntegerAttr(axis))}, x.getType()));
  });
}

LogicalResult ONNXImporter::importLogSoftmax() {
  if (failed(requireInputs(1)))
    return failure();
  return coercedTo2D([&](Value x, int64_t axis) {
    Value result = logSoftmaxAlong(x, axis);
    return result ? setResult(result) : failure();
  });
}

/// log(softmax(x)) along `axis` as (x - max) - log(sum(exp(x - max))), as
/// torch's log_softmax computes it: a probability below the float range
/// (a logit more than about 104 under the row's maximum in f32) stays a
/// finite log-probability instead of log(0) = -inf.
Value ONNXImporter::logSoftmaxAlong(Value x, int64_t axis) {
  Value shifted =
      emit<llm::SubOp>({x, reduce<llm::ReduceMaxOp>(x, {axis}, true)});
  Value logSum = emit<llm::LogOp>(
      reduce<llm::ReduceSumOp>(emit<llm::ExpOp>(shifted), {axis}, true));
  return emit<llm::SubOp>({shifted, logSum});
}

/// NegativeLogLikelihoodLoss's arithmetic, as onnx.reference computes it:
/// loss = -logProb[n, target[n, d...], d...] times weight[target] (1
/// without weights), 0 where the target is `ignore_index`; `reduction`
/// none keeps it [N, d...], sum adds it up, mean divides the sum by the
/// sum of the weights that counted (without weights: of the targets that
/// counted).
FailureOr<Value>
ONNXImporter::negativeLogLikelihood(Value logProb, Value target, Value weight) {
  RankedTensorType type = typeOf(logProb);
  Type element = type.getElementType();
  if (type.getRank() < 2 || !type.hasStaticShape() || !isa<FloatType>(element))
    return error("expects a float input [N, C, ...] of static shape");
  SmallVector<int64_t> targetShape(type.getShape());
  targetShape.erase(targetShape.begin() + 1);
  RankedTensorType targetType = typeOf(target);
  if (!isa<IntegerType>(targetType.getElementType()) ||
      targetType.getShape() != ArrayRef<int64_t>(targetShape))
    return error(
        "expects integer targets of shape " + shapeString(targetShape) +
        " (the input's " + shapeString(type.getShape()) +
        " without its class axis 1), got " +
        shapeString(targetType.getShape()) +
        (isa<IntegerType>(targetType.getElementType()) ? "" : " of floats"));
  int64_t classes = type.getDimSize(1);
  if (weight && (typeOf(weight).getShape() != ArrayRef<int64_t>{classes} ||
                 typeOf(weight).getElementType() != element))
    return error("expects weights of shape [" + Twine(classes) +
                 "] (one per class) in the input's type, got " +
                 shapeString(typeOf(weight).getShape()));
  std::string reduction = getString("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean")
    return error("unknown reduction '" + reduction + "'");

  Type i64 = builder.getI64Type();
  FailureOr<Value> wide = castTo(target, i64);
  if (failed(wide))
    return failure();
  Value index = *wide;
  // Where the target is ignore_index (often out of [0, C), e.g. -100), read
  // class 0 instead and drop the term.
  Value kept;
  std::optional<int64_t> ignoreIndex;
  if (const onnx::AttributeProto *ignore = findAttr("ignore_index")) {
    ignoreIndex = ignore->i();
    kept = emit<llm::NotOp>(
        emit<llm::EqualOp>({index, scalarOf(i64, *ignoreIndex)}));
    index = emit<llm::WhereOp>({kept, index, scalarOf(i64, 0)});
  }
  classTargets.push_back({target, classes, ignoreIndex,
                          cast<NameLoc>(nodeLoc).getName().getValue().str()});
  SmallVector<int64_t> columnShape(targetShape);
  columnShape.insert(columnShape.begin() + 1, 1);
  FailureOr<Value> column =
      index ? reshape(index, columnShape) : FailureOr<Value>(failure());
  FailureOr<Value> flatData = reshape(logProb, {type.getNumElements()});
  if (failed(column) || failed(flatData))
    return failure();
  Value places = elementTargets(*column, type.getShape(), /*axis=*/1);
  FailureOr<Value> picked =
      places ? create<llm::GatherOp>(
                   {*flatData, places},
                   {namedAttr("axis", builder.getI64IntegerAttr(0))})
             : FailureOr<Value>(failure());
  FailureOr<Value> pickedRows = succeeded(picked)
                                    ? reshape(*picked, targetShape)
                                    : FailureOr<Value>(failure());
  if (failed(pickedRows))
    return failure();
  Value loss = emit<llm::NegOp>(*pickedRows);
  Value zero = scalarOf(element, 0);
  if (kept)
    loss = emit<llm::WhereOp>({kept, loss, zero});
  // Each term's weight, where it is not 1.
  Value weights;
  if (weight) {
    weights = orNull(create<llm::GatherOp>(
        {weight, index}, {namedAttr("axis", builder.getI64IntegerAttr(0))}));
    if (kept)
      weights = emit<llm::WhereOp>({kept, weights, zero});
    loss = emit<llm::MulOp>({loss, weights});
  } else if (kept) {
    weights = emit<llm::WhereOp>({kept, scalarOf(element, 1), zero});
  }
  if (!loss)
    return failure();
  if (reduction == "none")
    return loss;
  SmallVector<int64_t> all =
      llvm::to_vector(llvm::seq<int64_t>(0, targetShape.size()));
  Value total = reduce<llm::ReduceSumOp>(loss, all, /*keepdims=*/false);
  if (reduction == "sum")
    return orFailure(total);
  Value count = weights ? reduce<llm::ReduceSumOp>(weights, all, false)
                        : scalarOf(element, typeOf(loss).getNumElements());
  return orFailure(emit<llm::DivOp>({total, count}));
}

/// NegativeLogLikelihoodLoss(input [N, C, d...] of log-probabilities,
/// target [N, d...], weight [C]?): see negativeLogLikelihood.
LogicalResult ONNXImporter::importNegativeLogLikelihoodLoss() {
  if (failed(requireInputs(2)))
    return failure();
  return setResult(negativeLogLikelihood(input(0), input(1), input(2)));
}

/// SoftmaxCrossEntropyLoss(scores [N, C, d...], labels [N, d...],
/// weights [C]?): the negative log-likelihood of log_softmax(scores) along
/// the class axis, and those log-probabilities as the optional second
/// output. This is how torch exports `F.cross_entropy` (a language model's
/// loss, with ignore_index -100 on padding) from opset 12 on.
LogicalResult ONNXImporter::importSoftmaxCrossEntropyLoss() {
  if (failed(requireInputs(2)))
    return failure();
  Value scores = input(0);
  if (typeOf(scores).getRank() < 2)
    return error("expects scores [N, C, ...] of rank 2 or more");
  Value logProb = logSoftmaxAlong(scores, 1);
  if (!logProb)
    return failure();
  if (failed(setResult(negativeLogLikelihood(logProb, input(1), input(2)))))
    return failure();
  if (node->output_size() > 1)
    results.push_back(logProb);
  return success();
}

/// InstanceNormalization and GroupNormalization: x [N, C, ...] normalized
/// over each group of C / G channels and all positions (G = C for
/// InstanceNormalization), then scaled and shifted per channel. Opset 18's
/// GroupNormalization gives scale and bias per group, opset 21's per
/// channel.
LogicalResult ONNXImporter::importGroupNormalization() {
  if (failed(requireInputs(3)))
    return failure();
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  if (type.getRank() < 2 || !isa<FloatType>(type.getElementType()))
    return error("expects a float input of rank 2 or more");
  int64_t batch = type.getDimSize(0), channels = type.getDimSize(1);
  bool instance = node->op_type() == "InstanceNormalization";
  int64_t groups = instance ? channels : getInt("num_groups", 0);
  if (groups <= 0 || channels % groups)
    return error("num_groups " + Twine(groups) + " does not divide " +
                 Twine(channels) + " channels");
  int64_t spatial = type.getNumElements() / std::max<int64_t>(batch * channels, 1);
  Type element = type.getElementType();
  float epsilon = getFloat("epsilon", 1e-5f);
  // Normalized in f32 (ONNX's stash_type default), as the other norms.
  FailureOr<Value> wide = castTo(x, builder.getF32Type());
  FailureOr<Value> grouped =
      succeeded(wide) ? reshape(*wide, {batch, groups, channels / groups * spatial})
                      : FailureOr<Value>(failure());
  if (failed(grouped))
    return failure();
  Value mean = reduce<llm::ReduceMeanOp>(*grouped, {2}, /*keepdims=*/true);
  Value centered = emit<llm::SubOp>({*grouped, mean});
  Value variance = reduce<llm::ReduceMeanOp>(
      emit<llm::MulOp>({centered, centered}), {2}, /*keepdims=*/true);
  Value normalized = emit<llm::DivOp>(
      {centered,
       emit<llm::SqrtOp>(
           {emit<llm::AddOp>({variance, scalarOf(builder.getF32Type(), epsilon)})})});
  if (!normalized)
    return failure();
  FailureOr<Value> restored = reshape(normalized, type.getShape());
  FailureOr<Value> narrowed = succeeded(restored)
                                  ? castTo(*restored, element)
                                  : FailureOr<Value>(failure());
  if (failed(narrowed))
    return failure();
  // Scale and bias as [C, 1, ...] (a per-group one repeated per channel).
  SmallVector<int64_t> perChannel{channels};
  perChannel.append(type.getRank() - 2, 1);
  auto channelwise = [&](Value parameter) -> Value {
    int64_t count = typeOf(parameter).getNumElements();
    if (count == groups && groups != channels) {
      FailureOr<Value> column = reshape(parameter, {groups, 1});
      FailureOr<Value> spread =
          succeeded(column)
              ? create<llm::ExpandOp>(*column, {},
                                      typeOf(*column).clone(
                                          {groups, channels / groups}))
              : FailureOr<Value>(failure());
      if (failed(spread))
        return {};
      parameter = *spread;
    } else if (count != channels) {
      return {};
    }
    FailureOr<Value> shaped = reshape(parameter, perChannel);
    return succeeded(shaped) ? *shaped : Value();
  };
  Value scale = channelwise(input(1)), bias = channelwise(input(2));
  if (!scale || !bias)
    return error("expects scale and bias of " + Twine(channels) +
                 " channels" +
                 (instance ? Twine("") : " or " + Twine(groups) + " groups"));
  Value y = emit<llm::AddOp>({emit<llm::MulOp>({*narrowed, scale}), bias});
  return y ? setResult(y) : failure();
}

LogicalResult ONNXImporter::importLayerNormalization() {
  if (failed(requireInputs(2)))
    return failure();
  FailureOr<int64_t> axis =
      normalizeAxis(getInt("axis", -1), typeOf(input(0)).getRank());
  if (failed(axis))
    return failure();
  SmallVector<Value> operands{input(0), input(1)};
  if (Value bias = input(2))
    operands.push_back(bias);
  float epsilon = getFloat("epsilon", 1e-5f);
  if (failed(setResult(create<llm::LayerNormOp>(
          operands,
          {namedAttr("axis", builder.getI64IntegerAttr(*axis)),
           namedAttr("epsilon", builder.getF32FloatAttr(epsilon))},
          input(0).getType()))))
    return failure();
  if (!outputUsed(1) && !outputUsed(2))
    return success();
  // The optional outputs Mean and InvStdDev (kept dims, in the stash type),
  // from the elementwise ops: they are training outputs, so no fused op
  // computes them.
  int64_t stash = getInt("stash_type", onnx::TensorProto::FLOAT);
  ElementType stashType = elementTypeOf(stash, context);
  if (!stashType.type || !isa<FloatType>(stashType.type))
    return error("unsupported stash_type " + dataTypeName(stash));
  FailureOr<Value> x = castTo(input(0), stashType.type);
  if (failed(x))
    return failure();
  int64_t rank = typeOf(*x).getRank();
  SmallVector<NamedAttribute> reduceAttrs = {
      namedAttr("axes", builder.getDenseI64ArrayAttr(
                            llvm::to_vector(llvm::seq<int64_t>(*axis, rank)))),
      namedAttr("keepdims", builder.getBoolAttr(true))};
  FailureOr<Value> mean = create<llm::ReduceMeanOp>(*x, reduceAttrs);
  if (failed(mean))
    return failure();
  FailureOr<Value> centered = create<llm::SubOp>({*x, *mean});
  if (failed(centered))
    return failure();
  FailureOr<Value> squared = create<llm::MulOp>({*centered, *centered});
  if (failed(squared))
    return failure();
  FailureOr<Value> variance = create<llm::ReduceMeanOp>(*squared, reduceAttrs);
  if (failed(variance))
    return failure();
  Value epsilonValue = createConstant(
      DenseElementsAttr::get(RankedTensorType::get({}, stashType.type),
                             builder.getFloatAttr(stashType.type, epsilon)),
      nodeLoc);
  FailureOr<Value> shifted = create<llm::AddOp>({*variance, epsilonValue});
  if (failed(shifted))
    return failure();
  FailureOr<Value> deviation =
      create<llm::SqrtOp>(*shifted, {}, shifted->getType());
  if (failed(deviation))
    return failure();
  FailureOr<Value> inverse =
      create<llm::ReciprocalOp>(*deviation, {}, deviation->getType());
  if (failed(inverse))
    return failure();
  results.push_back(*mean);
  results.push_back(*inverse);
  return success();
}

LogicalResult ONNXImporter::importGelu() {
  if (failed(requireInputs(1)))
    return failure();
  std::string approximate = getString("approximate", "none");
  llm::GeluApproximation approximation;
  if (approximate == "none")
    approximation = llm::GeluApproximation::none;
  else if (approximate == "tanh")
    approximation = llm::GeluApproximation::tanh;
  else
    return error("unsupported approximate '" + approximate + "'");
  return setResult(create<llm::GeluOp>(
      input(0),
      {namedAttr("approximation",
                 llm::GeluApproximationAttr::get(context, approximation))},
      input(0).getType()));
}

LogicalResult ONNXImporter::importMatMul() {
  if (failed(requireInputs(2)))
    return failure();
  return setResult(numpyMatMul(input(0), input(1)));
}

/// ONNX's (numpy's) matmul of `lhs` and `rhs`.
FailureOr<Value> ONNXImporter::numpyMatMul(Value lhs, Value rhs) {
  RankedTensorType lhsType = typeOf(lhs), rhsType = typeOf(rhs);
  if (lhsType.getRank() == 0 || rhsType.getRank() == 0)
    return error("expects operands of rank >= 1, got lhs " +
                 shapeString(lhsType.getShape()) + " and rhs " +
                 shapeString(rhsType.getShape()));
  // numpy semantics: a 1-D lhs is a row, a 1-D rhs a column, and the added
  // dim is dropped from the result.
  bool vectorLhs = lhsType.getRank() == 1, vectorRhs = rhsType.getRank() == 1;
  if (vectorLhs) {
    FailureOr<Value> row = reshape(lhs, {1, lhsType.getDimSize(0)});
    if (failed(row))
      return failure();
    lhs = *row;
  }
  if (vectorRhs) {
    FailureOr<Value> column = reshape(rhs, {rhsType.getDimSize(0), 1});
    if (failed(column))
      return failure();
    rhs = *column;
  }
  // A transposed rhs (a blocked DequantizeLinear's weight, `x @ W.T`) is
  // read in place: the matmul's transpose_rhs.
  bool transposeRhs = false;
  if (auto transpose = rhs.getDefiningOp<llm::TransposeOp>()) {
    ArrayRef<int64_t> perm = transpose.getPermutation();
    int64_t rank = perm.size();
    transposeRhs =
        rank >= 2 && perm[rank - 1] == rank - 2 && perm[rank - 2] == rank - 1 &&
        llvm::equal(perm.drop_back(2), llvm::seq<int64_t>(0, rank - 2));
    if (transposeRhs)
      rhs = transpose.getInput();
  }
  FailureOr<Value> product = plainMatMul(lhs, rhs, transposeRhs);
  if (failed(product) || (!vectorLhs && !vectorRhs))
    return product;
  SmallVector<int64_t> shape(typeOf(*product).getShape());
  if (vectorRhs)
    shape.erase(shape.end() - 1);
  if (vectorLhs)
    shape.erase(shape.end() - 1 - (vectorRhs ? 0 : 1));
  return reshape(*product, shape);
}

/// ONNX Runtime's FusedMatMul (com.microsoft, what its graph optimizer
/// writes for a MatMul with transposed inputs and a scale): alpha *
/// op(A) @ op(B), where transBatchA/B first move dim 0 to the
/// second-to-last place ([d0, b.., dn] -> [b.., d0, dn]) and transA/B
/// swap the last two dims of an input of rank >= 2 (a vector is left as it
/// is).
LogicalResult ONNXImporter::importFusedMatMul() {
  if (failed(requireInputs(2)))
    return failure();
  Value a = input(0), b = input(1);
  int64_t rankA = typeOf(a).getRank(), rankB = typeOf(b).getRank();
  bool batchA = getInt("transBatchA", 0) != 0,
       batchB = getInt("transBatchB", 0) != 0;
  if ((batchA || batchB) && (rankA < 3 || rankA != rankB))
    return error("transBatchA and transBatchB need inputs of one rank >= 3, "
                 "got ranks " +
                 Twine(rankA) + " and " + Twine(rankB));
  auto batchFirst = [&](Value v, int64_t rank) {
    SmallVector<int64_t> perm =
        llvm::to_vector(llvm::seq<int64_t>(1, rank - 1));
    perm.push_back(0);
    perm.push_back(rank - 1);
    return transposed(v, perm);
  };
  auto swapLast = [&](Value v, int64_t rank) {
    SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
    std::swap(perm[rank - 1], perm[rank - 2]);
    return transposed(v, perm);
  };
  if (batchA)
    a = batchFirst(a, rankA);
  if (batchB)
    b = batchFirst(b, rankB);
  if (getInt("transA", 0) != 0 && rankA >= 2)
    a = swapLast(a, rankA);
  if (getInt("transB", 0) != 0 && rankB >= 2)
    b = swapLast(b, rankB);
  if (!a || !b)
    return failure();
  FailureOr<Value> product = numpyMatMul(a, b);
  if (failed(product))
    return failure();
  float alpha = getFloat("alpha", 1.0f);
  if (alpha == 1.0f)
    return setResult(product);
  return setResult(emit<llm::MulOp>(
      {*product, scalarOf(typeOf(*product).getElementType(), alpha)}));
}

LogicalResult ONNXImporter::importGemm() {
  if (failed(requireInputs(2)))
    return failure();
  SmallVector<Value> operands{input(0), input(1)};
  if (Value c = input(2))
    operands.push_back(c);
  return setResult(create<llm::GemmOp>(
      operands,
      {namedAttr("alpha", builder.getF32FloatAttr(getFloat("alpha", 1.0f))),
       namedAttr("beta", builder.getF32FloatAttr(getFloat("beta", 1.0f))),
       namedAttr("transpose_a", builder.getBoolAttr(getInt("transA", 0) != 0)),
       namedAttr("transpose_b",
                 builder.getBoolAttr(getInt("transB", 0) != 0))}));
}

//===----------------------------------------------------------------------===//
// Quantization (QuantizeLinear, DequantizeLinear, MatMulInteger,
// QLinearMatMul, DynamicQuantizeLinear) onto llm.quantize, llm.dequantize and
// llm.qmatmul
//===----------------------------------------------------------------------===//

LogicalResult ONNXImporter::requireQuantized(Value value, StringRef what,
                                             bool allowI32, bool allowI16) {
  Type element = typeOf(value).getElementType();
  if (element.isInteger(8) || (allowI32 && element.isInteger(32)) ||
      (allowI16 && element.isInteger(16)))
    return success();
  std::string text;
  llvm::raw_string_ostream os(text);
  os << element;
  return error(what + " has element type " + text + "; expected int8 or uint8" +
               (allowI16 ? ", int16 or uint16" : "") +
               (allowI32 ? " (or int32)" : ""));
}

FailureOr<Value> ONNXImporter::floatParameter(Value value, StringRef what) {
  if (!isa<FloatType>(typeOf(value).getElementType()))
    return error(what + " must be a float tensor");
  return castTo(value, builder.getF32Type());
}

/// A per-tensor parameter stays as it is; a 1-D one of size C becomes
/// [1, .., C, .., 1] with C at `axis`, so that it broadcasts.
FailureOr<Value> ONNXImporter::alongAxis(Value parameter, int64_t rank,
                                         int64_t axis, StringRef what) {
  RankedTensorType type = typeOf(parameter);
  if (type.getRank() == 0 || (type.getRank() == 1 && type.getDimSize(0) == 1))
    return parameter;
  if (type.getRank() != 1)
    return error(what +
                 " must be a scalar or 1-D (or, with block_size, of x's rank), "
                 "got " +
                 llm::shapeString(type.getShape()));
  FailureOr<int64_t> normalized = normalizeAxis(axis, rank);
  if (failed(normalized))
    return failure();
  SmallVector<int64_t> shape(rank, 1);
  shape[*normalized] = type.getDimSize(0);
  return reshape(parameter, shape);
}

FailureOr<Value> ONNXImporter::scalarF32(float value) {
  return scalarOf(builder.getF32Type(), value);
}

static std::optional<std::vector<int8_t>> constantI8Values(Value value);
static std::optional<std::vector<float>> constantFloatValues(Value value);

/// An FP8 zero point is there for its type only: ONNX defines FLOAT8 zero
/// points as 0 (either sign).
LogicalResult ONNXImporter::requireZeroE4M3(Value zero, StringRef what) {
  std::optional<std::vector<int8_t>> bytes = constantI8Values(known(zero));
  if (!bytes)
    return error(what + " of FLOAT8E4M3FN must be a constant (of zeros)");
  if (!llvm::all_of(*bytes, [](int8_t b) { return (b & 0x7F) == 0; }))
    return error(what + " of FLOAT8E4M3FN must be 0, as ONNX defines it");
  return success();
}

/// QuantizeLinear of a constant x with constant parameters (a weight that
/// the graph quantizes, as ModelOpt's FP8 exports and fake-quantized QDQ
/// models leave it), quantized here exactly as llm.quantize defines it, so
/// that its products read constant bytes; none when an operand is not a
/// constant or the parameters do not lie along `axis` (the op's own checks
/// then report it).
std::optional<Value> ONNXImporter::quantizedConstant(Value x, Value scale,
                                                     Value zero, int64_t axis,
                                                     bool isUnsigned, bool e4m3,
                                                     unsigned bits) {
  RankedTensorType type = typeOf(x);
  if (!type.hasStaticShape() || typeOf(scale).getRank() > 1 ||
      (zero && typeOf(zero).getRank() > 1))
    return std::nullopt;
  std::optional<std::vector<float>> xs = constantFloatValues(known(x));
  std::optional<std::vector<float>> ss = constantFloatValues(known(scale));
  // Zero points as their integer values (uint8 and uint16 read unsigned).
  std::optional<std::vector<int32_t>> zs;
  auto zeroConstant =
      zero ? known(zero).getDefiningOp<llm::ConstantOp>() : llm::ConstantOp();
  auto zeroElements =
      zeroConstant ? dyn_cast<ElementsAttr>(zeroConstant.getValue()) : nullptr;
  if (zeroElements && zeroElements.getElementType().isInteger(bits)) {
    auto level = [&](const APInt &v) {
      return isUnsigned ? static_cast<int32_t>(v.getZExtValue())
                        : static_cast<int32_t>(v.getSExtValue());
    };
    if (auto dense = dyn_cast<DenseElementsAttr>(zeroConstant.getValue())) {
      zs.emplace();
      for (const APInt &v : dense.getValues<APInt>())
        zs->push_back(level(v));
    } else if (std::optional<ArrayRef<char>> bytes =
                   llm::rawElementBytes(zeroElements)) {
      // A resource (little-endian levels of bits / 8 bytes).
      zs.emplace();
      size_t width = bits / 8;
      for (size_t i = 0; i + width <= bytes->size(); i += width) {
        uint64_t raw = 0;
        std::memcpy(&raw, bytes->data() + i, width);
        zs->push_back(level(APInt(bits, raw)));
      }
    }
  }
  if (!xs || !ss || (zero && !zs) || ss->empty() ||
      (zs && zs->size() != ss->size()) ||
      static_cast<int64_t>(xs->size()) != type.getNumElements())
    return std::nullopt;
  // Element i reads parameter (i / inner) % channels.
  int64_t channels = ss->size(), inner = 1;
  if (channels != 1) {
    int64_t rank = type.getRank();
    int64_t dim = axis < 0 ? axis + rank : axis;
    if (dim < 0 || dim >= rank || type.getDimSize(dim) != channels)
      return std::nullopt;
    for (int64_t d = dim + 1; d < rank; ++d)
      inner *= type.getDimSize(d);
  }
  float lo = isUnsigned ? 0.0f : -std::ldexp(1.0f, bits - 1),
        hi = isUnsigned ? std::ldexp(1.0f, bits) - 1
                        : std::ldexp(1.0f, bits - 1) - 1;
  std::vector<int32_t> levels(xs->size());
  for (size_t i = 0; i < xs->size(); ++i) {
    size_t c = channels == 1 ? 0 : (i / inner) % channels;
    float v = (*xs)[i] / (*ss)[c];
    if (e4m3) {
      levels[i] = static_cast<int8_t>(llmc::toE4M3(v));
      continue;
    }
    v = std::nearbyint(v);
    if (zs)
      v += (*zs)[c];
    // fmax gives lo for NaN, as llm.quantize saturates it.
    v = std::fmin(std::fmax(v, lo), hi);
    levels[i] = static_cast<int32_t>(v);
  }
  DenseElementsAttr value;
  if (bits == 16) {
    std::vector<int16_t> halves(levels.begin(), levels.end());
    value = DenseElementsAttr::get(type.clone(builder.getI16Type()),
                                   ArrayRef<int16_t>(halves));
  } else {
    std::vector<int8_t> bytes(levels.begin(), levels.end());
    value = DenseElementsAttr::get(type.clone(builder.getI8Type()),
                                   ArrayRef<int8_t>(bytes));
  }
  return createConstant(
      largeToResource(value, blobNameFor(node->output_size() ? node->output(0)
                                                             : node->name())),
      nodeLoc);
}

/// x (f32) / scale rounded to FP8 E4M3 bytes, saturating (ONNX's
/// saturate = 1, its default: ±inf and magnitudes past 448 become ±448).
FailureOr<Value> ONNXImporter::quantizeE4M3(Value x, Value scale) {
  if (getInt("saturate", 1) == 0)
    return error("saturate = 0 (FLOAT8E4M3FN out of range to NaN) is not "
                 "supported; saturate = 1 is");
  return create<llm::QuantizeOp>({x, scale},
                                 {namedAttr("e4m3", builder.getUnitAttr())},
                                 typeOf(x).clone(builder.getI8Type()));
}

LogicalResult ONNXImporter::importQuantizeLinear() {
  if (failed(requireInputs(2)))
    return failure();
  if (getInt("block_size", 0) != 0)
    return error("blocked quantization (block_size) is not supported");
  Value x = input(0), zero = input(2);
  if (!isa<FloatType>(typeOf(x).getElementType()))
    return error("x must be a float tensor");
  FailureOr<Value> floatX = castTo(x, builder.getF32Type());
  FailureOr<Value> scale = floatParameter(input(1), "y_scale");
  if (failed(floatX) || failed(scale))
    return failure();
  int64_t rank = typeOf(x).getRank();
  int64_t axis = getInt("axis", 1);
  if (isE4M3Input(2) || node->domain() == "trt" ||
      (!zero && getInt("output_dtype", 0) == kOnnxFloat8E4M3FN)) {
    if (zero && failed(requireZeroE4M3(zero, "y_zero_point")))
      return failure();
    if (getInt("saturate", 1) != 0)
      if (std::optional<Value> folded =
              quantizedConstant(x, input(1), Value(), axis, false, true)) {
        markE4M3Output(0);
        return setResult(*folded);
      }
    scale = alongAxis(*scale, rank, axis, "y_scale");
    if (failed(scale))
      return failure();
    markE4M3Output(0);
    return setResult(quantizeE4M3(*floatX, *scale));
  }
  // 8 or 16 bits (int16 and uint16: opset 21, or ONNX Runtime's
  // com.microsoft QuantizeLinear before it), as the zero point's type or
  // output_dtype says.
  bool isUnsigned;
  Type element;
  if (zero) {
    if (failed(requireQuantized(zero, "y_zero_point", false,
                                /*allowI16=*/true)))
      return failure();
    isUnsigned = isUnsignedInput(2);
    element = typeOf(zero).getElementType();
  } else {
    int64_t dtype = getInt("output_dtype", onnx::TensorProto::UINT8);
    if (dtype != onnx::TensorProto::UINT8 && dtype != onnx::TensorProto::INT8 &&
        dtype != onnx::TensorProto::UINT16 && dtype != onnx::TensorProto::INT16)
      return error("output_dtype " + dataTypeName(dtype) +
                   " is not supported (INT8, UINT8, INT16, UINT16 and "
                   "FLOAT8E4M3FN are)");
    isUnsigned =
        dtype == onnx::TensorProto::UINT8 || dtype == onnx::TensorProto::UINT16;
    element =
        dtype == onnx::TensorProto::UINT8 || dtype == onnx::TensorProto::INT8
            ? builder.getI8Type()
            : builder.getI16Type();
  }
  if (std::optional<Value> folded =
          quantizedConstant(x, input(1), zero, axis, isUnsigned, false,
                            element.getIntOrFloatBitWidth())) {
    if (isUnsigned)
      markUnsignedOutput(0);
    return setResult(*folded);
  }
  scale = alongAxis(*scale, rank, axis, "y_scale");
  if (failed(scale))
    return failure();
  SmallVector<Value> operands{*floatX, *scale};
  if (zero) {
    FailureOr<Value> shaped = alongAxis(zero, rank, axis, "y_zero_point");
    if (failed(shaped))
      return failure();
    operands.push_back(*shaped);
  }
  SmallVector<NamedAttribute> attrs;
  if (isUnsigned)
    attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
  if (isUnsigned)
    markUnsignedOutput(0);
  return setResult(
      create<llm::QuantizeOp>(operands, attrs, typeOf(x).clone(element)));
}

LogicalResult ONNXImporter::importDequantizeLinear() {
  if (failed(requireInputs(2)))
    return failure();
  bool e4m3 = isE4M3Input(0);
  if (node->domain() == "trt" && !e4m3)
    return error("x must be FLOAT8E4M3FN (TRT_FP8QuantizeLinear's result or "
                 "an FP8 tensor)");
  if (int64_t block = getInt("block_size", 0); block != 0) {
    if (block < 0)
      return error("block_size must be positive, got " + Twine(block));
    if (e4m3)
      return error("blocked FLOAT8E4M3FN dequantization (block_size) is not "
                   "supported");
    return importBlockedDequantize(block);
  }
  Value x = input(0), zero = input(2);
  if (failed(requireQuantized(x, "x", true, /*allowI16=*/true)))
    return failure();
  if (e4m3 && zero && failed(requireZeroE4M3(zero, "x_zero_point")))
    return failure();
  Type scaleType = typeOf(input(1)).getElementType();
  FailureOr<Value> scale = floatParameter(input(1), "x_scale");
  if (failed(scale))
    return failure();
  int64_t rank = typeOf(x).getRank();
  int64_t axis = getInt("axis", 1);
  scale = alongAxis(*scale, rank, axis, "x_scale");
  if (failed(scale))
    return failure();
  bool isUnsigned = isUnsignedInput(0);
  SmallVector<Value> operands{x, *scale};
  if (zero && !e4m3) {
    if (typeOf(zero).getElementType() != typeOf(x).getElementType())
      return error("x_zero_point must have the element type of x");
    FailureOr<Value> shaped = alongAxis(zero, rank, axis, "x_zero_point");
    if (failed(shaped))
      return failure();
    operands.push_back(*shaped);
  }
  SmallVector<NamedAttribute> attrs;
  if (isUnsigned && !typeOf(x).getElementType().isInteger(32))
    attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
  if (e4m3)
    attrs.push_back(namedAttr("e4m3", builder.getUnitAttr()));
  FailureOr<Value> result = create<llm::DequantizeOp>(
      operands, attrs, typeOf(x).clone(builder.getF32Type()));
  if (failed(result))
    return failure();
  return setResult(castTo(*result, scaleType));
}

/// The bytes of a value defined by a constant (inline or a resource blob).
static std::optional<ArrayRef<char>> constantBytesOf(Value value) {
  auto constant = value.getDefiningOp<llm::ConstantOp>();
  return constant ? llm::rawElementBytes(constant.getValue()) : std::nullopt;
}

/// The elements of a constant i8 tensor, splats included.
static std::optional<std::vector<int8_t>> constantI8Values(Value value) {
  auto constant = value.getDefiningOp<llm::ConstantOp>();
  return constant ? llm::int8Elements(constant.getValue()) : std::nullopt;
}

/// The elements of a constant f32, f16 or bf16 tensor as floats, splats
/// included.
static std::optional<std::vector<float>> constantFloatValues(Value value) {
  auto constant = value.getDefiningOp<llm::ConstantOp>();
  return constant ? llm::floatElements(constant.getValue()) : std::nullopt;
}

/// DequantizeLinear with block_size (opset 21; ONNX Runtime's QDQ 4-bit
/// weight quantizer writes it with axis 0 on INT4/UINT4 weights [K, N]):
/// x_scale and x_zero_point have x's shape with ceil(D / block_size) along
/// `axis`, element i of that axis reading block i / block_size. llm's
/// dequantize takes its blocks along the last dim, so a constant 2-D x
/// blocked along its rows becomes the weight-only layout of MatMulNBits
/// ([N, K], two values a byte when all fit in 4 bits, [N, blocks]
/// parameters, dequantized then transposed back: a MatMul reading it
/// multiplies by the packed weight), and any other x is transposed to put
/// `axis` last and back.
LogicalResult ONNXImporter::importBlockedDequantize(int64_t block) {
  Value x = known(input(0)), scale = known(input(1));
  Value zero = input(2) ? known(input(2)) : Value();
  if (failed(requireQuantized(x, "x", false)))
    return failure();
  auto scaleElement = dyn_cast<FloatType>(typeOf(scale).getElementType());
  if (!scaleElement)
    return error("x_scale must be a float tensor");
  RankedTensorType xType = typeOf(x);
  int64_t rank = xType.getRank();
  if (rank == 0)
    return error("blocked quantization needs an x of rank >= 1");
  FailureOr<int64_t> axis = normalizeAxis(getInt("axis", 1), rank);
  if (failed(axis))
    return failure();
  int64_t extent = xType.getDimSize(*axis);
  if (ShapedType::isDynamic(extent))
    return error("blocked quantization needs a static size along axis " +
                 Twine(*axis));
  int64_t blocks = extent == 0 ? 0 : (extent - 1) / block + 1;
  SmallVector<int64_t> parameterShape(xType.getShape());
  parameterShape[*axis] = blocks;
  auto checkShape = [&](Value value, StringRef what) -> LogicalResult {
    if (typeOf(value).getShape() == ArrayRef<int64_t>(parameterShape))
      return success();
    return error(what + " must have shape " + shapeString(parameterShape) +
                 " (x's, with ceil(" + Twine(extent) + " / block_size " +
                 Twine(block) + ") along axis " + Twine(*axis) + "), got " +
                 shapeString(typeOf(value).getShape()));
  };
  if (failed(checkShape(scale, "x_scale")))
    return failure();
  if (zero) {
    if (typeOf(zero).getElementType() != xType.getElementType())
      return error("x_zero_point must have the element type of x");
    if (failed(checkShape(zero, "x_zero_point")))
      return failure();
  }
  bool isUnsigned = isUnsignedInput(0);
  Type f32 = builder.getF32Type();

  std::optional<std::vector<int8_t>> values, zeros;
  std::optional<std::vector<float>> scales;
  if (rank == 2 && *axis == 0 && xType.hasStaticShape()) {
    values = constantI8Values(x);
    scales = constantFloatValues(scale);
    if (zero)
      zeros = constantI8Values(zero);
  }
  if (values && scales && (!zero || zeros)) {
    int64_t k = extent, n = xType.getDimSize(1);
    auto read = [&](int8_t v) -> int {
      return isUnsigned ? static_cast<uint8_t>(v) : v;
    };
    auto fitsFour = [&](int8_t v) {
      return isUnsigned ? read(v) <= 15 : (v >= -8 && v <= 7);
    };
    bool four = llvm::all_of(*values, fitsFour) &&
                (!zeros || llvm::all_of(*zeros, fitsFour));
    int64_t bits = four ? 4 : 8, mid = int64_t(1) << (bits - 1);
    // The layouts the weight-only kernels read: signed values without zero
    // points, or unsigned ones with them (a signed pair shifted by 2^(bits-1)
    // leaves each difference as it was).
    bool signedOnly = !isUnsigned && !zero;
    int shift = signedOnly || isUnsigned ? 0 : mid;
    int64_t rowBytes = four ? (k + 1) / 2 : k;
    // [N, K] (the transpose), shifted; two values a byte when 4-bit.
    std::vector<int8_t> packed(n * k);
    for (int64_t row = 0; row < k; ++row)
      for (int64_t col = 0; col < n; ++col)
        packed[col * k + row] =
            static_cast<int8_t>(read((*values)[row * n + col]) + shift);
    if (four)
      packed = llm::packNibbles(packed, n, k);
    std::vector<float> wideScales(n * blocks);
    std::vector<int8_t> zeroPoints(signedOnly ? 0 : n * blocks, 0);
    for (int64_t b = 0; b < blocks; ++b)
      for (int64_t col = 0; col < n; ++col) {
        wideScales[col * blocks + b] = (*scales)[b * n + col];
        if (zeros)
          zeroPoints[col * blocks + b] =
              static_cast<int8_t>(read((*zeros)[b * n + col]) + shift);
      }
    std::string name = !node->name().empty() ? node->name() : node->output(0);
    Type i8 = builder.getI8Type();
    SmallVector<Value> operands{
        createConstant(
            largeToResource(
                DenseElementsAttr::get(RankedTensorType::get({n, rowBytes}, i8),
                                       ArrayRef<int8_t>(packed)),
                blobNameFor(name + ".x")),
            nodeLoc),
        createConstant(
            largeToResource(
                DenseElementsAttr::get(RankedTensorType::get({n, blocks}, f32),
                                       ArrayRef<float>(wideScales)),
                blobNameFor(name + ".scales")),
            nodeLoc)};
    SmallVector<NamedAttribute> attrs{
        namedAttr("bits", builder.getI64IntegerAttr(bits)),
        namedAttr("block_size", builder.getI64IntegerAttr(block))};
    if (!signedOnly) {
      operands.push_back(createConstant(
          largeToResource(
              DenseElementsAttr::get(RankedTensorType::get({n, blocks}, i8),
                                     ArrayRef<int8_t>(zeroPoints)),
              blobNameFor(name + ".zero_points")),
          nodeLoc));
      attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
    }
    FailureOr<Value> rows = create<llm::DequantizeOp>(
        operands, attrs, RankedTensorType::get({n, k}, f32));
    if (failed(rows))
      return failure();
    FailureOr<Value> typed = castTo(*rows, scaleElement);
    if (failed(typed))
      return failure();
    return setResult(create<llm::TransposeOp>(
        *typed,
        {namedAttr("permutation", builder.getDenseI64ArrayAttr({1, 0}))}));
  }

  // Any other x: `axis` moved last, dequantized, moved back.
  FailureOr<Value> wideScale = castTo(scale, f32);
  if (failed(wideScale))
    return failure();
  FailureOr<Value> result =
      dequantizeBlocks(x, *wideScale, zero, *axis, block, isUnsigned);
  if (failed(result))
    return failure();
  return setResult(castTo(*result, scaleElement));
}

/// f32 (x - zero) * scale with scale and zero (optional) per block of
/// `block` elements along `axis` (x's shape with ceil(D / block) there):
/// llm.dequantize takes its blocks along the last dim, so any other axis is
/// moved last and back.
FailureOr<Value> ONNXImporter::dequantizeBlocks(Value x, Value scale,
                                                Value zero, int64_t axis,
                                                int64_t block,
                                                bool isUnsigned) {
  int64_t rank = typeOf(x).getRank();
  SmallVector<int64_t> perm, inverse(rank);
  for (int64_t i = 0; i < rank; ++i)
    if (i != axis)
      perm.push_back(i);
  perm.push_back(axis);
  for (int64_t i = 0; i < rank; ++i)
    inverse[perm[i]] = i;
  auto moveLast = [&](Value value) -> Value {
    return axis == rank - 1 || !value ? value : transposed(value, perm);
  };
  SmallVector<Value> operands{moveLast(x), moveLast(scale)};
  if (zero)
    operands.push_back(moveLast(zero));
  if (llvm::is_contained(operands, Value()))
    return failure();
  SmallVector<NamedAttribute> attrs{
      namedAttr("block_size", builder.getI64IntegerAttr(block))};
  if (isUnsigned)
    attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
  FailureOr<Value> result = create<llm::DequantizeOp>(
      operands, attrs, typeOf(operands[0]).clone(builder.getF32Type()));
  if (failed(result) || axis == rank - 1)
    return result;
  Value back = transposed(*result, inverse);
  if (!back)
    return failure();
  return back;
}

/// com.microsoft GatherBlockQuantized (ONNX Runtime's weight-only
/// quantization of an embedding table, onnxruntime-genai's int4 or shared
/// embeddings): Gather along gather_axis of data dequantized per block of
/// block_size along quantize_axis. data is INT4/UINT4 (zero points of its
/// type, default 0) or uint8 holding `bits` 4 (two a byte, the low nibble
/// first) or 8 along the last axis, gather_axis 0, with packed uint8 zero
/// points (default 2^(bits - 1)). The rows are gathered, with their scales
/// and zero points, then dequantized; the result has the scales' type. An
/// index out of range reads a clamped row (ONNX Runtime writes zeros).
LogicalResult ONNXImporter::importGatherBlockQuantized() {
  if (failed(requireInputs(3)))
    return failure();
  Value data = known(input(0)), indices = input(1), scale = input(2),
        zero = input(3) ? known(input(3)) : Value();
  if (failed(requireQuantized(data, "data", false)))
    return failure();
  auto scaleElement = dyn_cast<FloatType>(typeOf(scale).getElementType());
  if (!scaleElement)
    return error("scales must be a float tensor");
  RankedTensorType dataType = typeOf(data);
  int64_t rank = dataType.getRank();
  FailureOr<int64_t> gatherAxis = normalizeAxis(getInt("gather_axis", 0), rank);
  FailureOr<int64_t> quantizeAxis =
      normalizeAxis(getInt("quantize_axis", 1), rank);
  if (failed(gatherAxis) || failed(quantizeAxis))
    return failure();
  int64_t block = getInt("block_size", 128), bits = getInt("bits", 4);
  if (block < 16 || (block & (block - 1)) != 0)
    return error("block_size must be a power of two of at least 16, got " +
                 Twine(block));
  if (*gatherAxis == *quantizeAxis)
    return error("gather_axis and quantize_axis must differ");
  // uint8 data packs `bits` values a byte along the last axis (the model
  // builder's layout, MatMulNBits'); INT4/UINT4 tensors are a byte per value
  // here already.
  bool fourBit = fourBitNames.contains(node->input(0));
  bool packedBytes = isUnsignedInput(0) && !fourBit;
  if (!fourBit && !packedBytes)
    return error("data must be INT4, UINT4 or uint8");
  if (packedBytes) {
    if (bits != 4 && bits != 8)
      return error("uint8 data with bits " + Twine(bits) +
                   " is not supported (4 or 8)");
    if (*gatherAxis != 0 || *quantizeAxis != rank - 1)
      return error("uint8 data needs gather_axis 0 and quantize_axis the last "
                   "axis");
  } else if (bits != 4) {
    return error("INT4/UINT4 data needs bits 4, got " + Twine(bits));
  }
  int64_t extent =
      dataType.getDimSize(*quantizeAxis) * (packedBytes && bits == 4 ? 2 : 1);
  int64_t blocks = extent == 0 ? 0 : (extent - 1) / block + 1;
  SmallVector<int64_t> scaleShape(dataType.getShape());
  scaleShape[*quantizeAxis] = blocks;
  if (typeOf(scale).getShape() != ArrayRef<int64_t>(scaleShape))
    return error("scales must have shape " + shapeString(scaleShape) +
                 ", got " + shapeString(typeOf(scale).getShape()));
  Type i8 = builder.getI8Type();
  bool isUnsigned = isUnsignedInput(0);
  if (packedBytes) {
    // Zero points: packed like the data (4 bits), or the default 2^(bits-1).
    if (zero && bits == 4) {
      std::optional<std::vector<int8_t>> packed = constantI8Values(zero);
      SmallVector<int64_t> zeroShape(scaleShape);
      zeroShape.back() = (blocks + 1) / 2;
      if (!packed || typeOf(zero).getShape() != ArrayRef<int64_t>(zeroShape))
        return error("zero_points must be a constant of shape " +
                     shapeString(zeroShape));
      int64_t rows = typeOf(zero).getNumElements() / zeroShape.back();
      std::vector<int8_t> unpacked(rows * blocks);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t b = 0; b < blocks; ++b)
          unpacked[r * blocks + b] = static_cast<int8_t>(
              (static_cast<uint8_t>((*packed)[r * zeroShape.back() + b / 2]) >>
               (4 * (b % 2))) &
              0xf);
      zero = denseConstant(i8, scaleShape, ArrayRef<int8_t>(unpacked));
    }
  }
  if (zero && typeOf(zero).getRank() == rank &&
      typeOf(zero).getShape() != ArrayRef<int64_t>(scaleShape))
    return error("zero_points must have shape " + shapeString(scaleShape) +
                 ", got " + shapeString(typeOf(zero).getShape()));
  // A constant INT4/UINT4 table quantized along its last axis stays 4-bit:
  // two values a byte along that axis, the low nibble first.
  bool packFour = false;
  if (fourBit && *quantizeAxis == rank - 1 && dataType.hasStaticShape()) {
    if (std::optional<std::vector<int8_t>> values = constantI8Values(data)) {
      int64_t k = dataType.getShape().back(), packedK = (k + 1) / 2;
      int64_t rows = dataType.getNumElements() / std::max<int64_t>(k, 1);
      std::vector<int8_t> packed = llm::packNibbles(*values, rows, k);
      SmallVector<int64_t> shape(dataType.getShape());
      shape.back() = packedK;
      std::string name = !node->name().empty() ? node->name() : node->output(0);
      data =
          createConstant(largeToResource(DenseElementsAttr::get(
                                             RankedTensorType::get(shape, i8),
                                             ArrayRef<int8_t>(packed)),
                                         blobNameFor(name + ".data")),
                         nodeLoc);
      packFour = true;
    }
  }
  // Gather the rows of data, scales and zero points (those of full rank).
  NamedAttribute axisAttr =
      namedAttr("axis", builder.getI64IntegerAttr(*gatherAxis));
  auto gathered = [&](Value value) -> Value {
    if (!value || typeOf(value).getRank() != rank)
      return value;
    return orNull(create<llm::GatherOp>({value, indices}, {axisAttr}));
  };
  Value rows = gathered(data),
        rowScales = gathered(orNull(castTo(scale, builder.getF32Type()))),
        rowZeros = gathered(zero);
  if (!rows || !rowScales)
    return failure();
  if (packedBytes && !rowZeros) {
    // The default zero point 2^(bits - 1), one per block of every row.
    SmallVector<int64_t> shape(typeOf(rows).getRank(), 1);
    shape.back() = blocks;
    std::vector<int8_t> fill(blocks, static_cast<int8_t>(1 << (bits - 1)));
    rowZeros = denseConstant(i8, shape, ArrayRef<int8_t>(fill));
  }
  int64_t indexRank = typeOf(indices).getRank();
  int64_t axis = *quantizeAxis < *gatherAxis ? *quantizeAxis
                                             : *quantizeAxis + indexRank - 1;
  FailureOr<Value> result;
  if (packedBytes || packFour) {
    SmallVector<NamedAttribute> attrs{
        namedAttr("bits", builder.getI64IntegerAttr(packFour ? 4 : bits)),
        namedAttr("block_size", builder.getI64IntegerAttr(block))};
    if (packedBytes || isUnsigned)
      attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
    SmallVector<int64_t> shape(typeOf(rows).getShape());
    shape.back() = extent;
    SmallVector<Value> operands{rows, rowScales};
    if (rowZeros)
      operands.push_back(rowZeros);
    result = create<llm::DequantizeOp>(
        operands, attrs, RankedTensorType::get(shape, builder.getF32Type()));
  } else {
    result =
        dequantizeBlocks(rows, rowScales, rowZeros, axis, block, isUnsigned);
  }
  if (failed(result))
    return failure();
  return setResult(castTo(*result, scaleElement));
}

/// ONNX Runtime's 4- or 8-bit weight-only matmul (com.microsoft MatMulNBits,
/// as its MatMul4BitsQuantizer and onnxruntime-genai write it): B holds
/// [N, blocks, block_size * bits / 8] bytes, with 4 bits two unsigned values
/// per byte along K, the low nibble first; scales [N * blocks]; optional
/// zero points (packed the same way; default 2^(bits - 1)) and bias. It
/// becomes an llm.dequantize of the weight (per-block scales, the w4 layout
/// with 4 bits) and a matmul by its transpose: the weight stays 4- or 8-bit
/// in memory.
LogicalResult ONNXImporter::importMatMulNBits() {
  if (failed(requireInputs(3)))
    return failure();
  Value a = input(0);
  RankedTensorType aType = typeOf(a);
  Type floatType = aType.getElementType();
  if (!isa<FloatType>(floatType))
    return error("expects a float input A");
  int64_t k = getInt("K", -1), n = getInt("N", -1), bits = getInt("bits", 4),
          block = getInt("block_size", 0);
  if (k <= 0 || n <= 0)
    return error("needs positive attributes K and N");
  if (bits != 4 && bits != 8)
    return error("MatMulNBits with bits " + Twine(bits) +
                 " is not supported (4 or 8)");
  if (block < 16 || (block & (block - 1)) != 0)
    return error("block_size must be a power of two of at least 16, got " +
                 Twine(block));
  if (aType.getRank() < 1 || aType.getShape().back() != k)
    return error("input A's last dim is not K = " + Twine(k));
  if (input(4))
    return error("g_idx (act-order) is not supported");
  int64_t blocks = (k + block - 1) / block,
          rowBytes = blocks * block * bits / 8,
          packedK = bits == 4 ? (k + 1) / 2 : k;
  std::optional<ArrayRef<char>> packed = constantBytesOf(known(input(1)));
  if (!packed || static_cast<int64_t>(packed->size()) != n * rowBytes)
    return error("input 'B' must be a constant of " + Twine(n * rowBytes) +
                 " bytes ([N, blocks, block_size * bits / 8] = [" + Twine(n) +
                 ", " + Twine(blocks) + ", " + Twine(block * bits / 8) + "])");
  // Zero points: unsigned, ceil(blocks / 2) bytes of nibbles (4 bits) or
  // blocks bytes (8 bits) per row. Without them the zero point is
  // 2^(bits - 1): q - 2^(bits - 1) is the two's complement of q with its top
  // bit flipped, the signed layout llm-quantize writes.
  Value zero = input(3);
  std::vector<int8_t> zeroPoints;
  if (zero) {
    if (isa<FloatType>(typeOf(zero).getElementType()))
      return error("float zero points are not supported (uint8 ones are)");
    std::optional<ArrayRef<char>> bytes = constantBytesOf(known(zero));
    int64_t zeroRow = bits == 4 ? (blocks + 1) / 2 : blocks;
    if (!bytes || static_cast<int64_t>(bytes->size()) != n * zeroRow)
      return error("input 'zero_points' must be a constant of " +
                   Twine(n * zeroRow) + " bytes");
    for (int64_t r = 0; r < n; ++r)
      for (int64_t b = 0; b < blocks; ++b)
        zeroPoints.push_back(
            bits == 8 ? static_cast<int8_t>((*bytes)[r * zeroRow + b])
                      : (static_cast<uint8_t>((*bytes)[r * zeroRow + b / 2]) >>
                         (4 * (b % 2))) &
                            0xf);
  }
  // Each row's first packedK bytes (K values; the last block's padding
  // dropped).
  uint8_t flip = bits == 4 ? 0x88 : 0x80;
  std::vector<int8_t> values(n * packedK);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < packedK; ++j) {
      uint8_t byte = static_cast<uint8_t>((*packed)[r * rowBytes + j]);
      values[r * packedK + j] = static_cast<int8_t>(zero ? byte : byte ^ flip);
    }
  Type i8 = builder.getI8Type();
  std::string name = node->name().empty() ? "matmulnbits" : node->name();
  Value weight = createConstant(
      largeToResource(
          DenseElementsAttr::get(RankedTensorType::get({n, packedK}, i8),
                                 ArrayRef<int8_t>(values)),
          blobNameFor(name + ".B")),
      nodeLoc);
  // 16-bit constant scales become f32 ones here, not a cast each forward.
  Value scaleInput = known(input(2));
  Type scaleElement = typeOf(scaleInput).getElementType();
  std::optional<std::vector<float>> wide;
  if (scaleElement.isF16() || scaleElement.isBF16())
    wide = constantFloatValues(scaleInput);
  if (wide && static_cast<int64_t>(wide->size()) == n * blocks) {
    scaleInput = createConstant(
        largeToResource(DenseElementsAttr::get(
                            RankedTensorType::get({n * blocks},
                                                  builder.getF32Type()),
                            ArrayRef<float>(*wide)),
                        blobNameFor(name + ".scales")),
        nodeLoc);
  }
  FailureOr<Value> scales = floatParameter(scaleInput, "scales");
  if (failed(scales) || typeOf(*scales).getNumElements() != n * blocks)
    return failed(scales) ? failure()
                          : error("input 'scales' must have N * blocks = " +
                                  Twine(n * blocks) + " elements");
  scales = reshape(*scales, {n, blocks});
  if (failed(scales))
    return failure();
  SmallVector<Value> operands{weight, *scales};
  SmallVector<NamedAttribute> attrs{
      namedAttr("bits", builder.getI64IntegerAttr(bits)),
      namedAttr("block_size", builder.getI64IntegerAttr(block))};
  if (zero) {
    operands.push_back(
        denseConstant(i8, {n, blocks}, ArrayRef<int8_t>(zeroPoints)));
    attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
  }
  FailureOr<Value> dequantized = create<llm::DequantizeOp>(
      operands, attrs, RankedTensorType::get({n, k}, builder.getF32Type()));
  if (failed(dequantized))
    return failure();
  FailureOr<Value> rhs = castTo(*dequantized, floatType);
  if (failed(rhs))
    return failure();
  FailureOr<Value> product = plainMatMul(a, *rhs, /*transposeRhs=*/true);
  if (failed(product))
    return failure();
  if (Value bias = input(5))
    return setResult(emit<llm::AddOp>({*product, bias}));
  return setResult(product);
}

/// A QMoE projection's experts (see importMoE): the weight bytes as a
/// constant (their 4-bit nibbles or bytes less 2^(bits - 1) when there are
/// no zero points, the signed layout llm.dequantize reads), the scales as
/// f32 [E, out, 1] or [E, out, blocks] and the zero points unpacked to that
/// shape. `name` is fc1, fc2 or fc3, for errors.
FailureOr<ONNXImporter::ExpertWeights>
ONNXImporter::expertWeights(Value weight, Value scale, Value zero,
                            StringRef name, int64_t out, int64_t in,
                            int64_t bits, int64_t block) {
  int64_t experts = typeOf(weight).getDimSize(0), packedIn = in * bits / 8;
  auto byteType = dyn_cast<IntegerType>(typeOf(weight).getElementType());
  std::optional<ArrayRef<char>> bytes = constantBytesOf(known(weight));
  if (!byteType || byteType.getWidth() != 8 || !bytes ||
      static_cast<int64_t>(bytes->size()) != experts * out * packedIn)
    return error(name + "_experts_weights must be a constant uint8 tensor");
  if (!scale || !isa<FloatType>(typeOf(scale).getElementType()))
    return error("expects " + name + "_scales of a float type");
  int64_t blocks = block > 0 ? (in + block - 1) / block : 1;
  ArrayRef<int64_t> scaleShape = typeOf(scale).getShape();
  bool blockWise =
      block > 0 && scaleShape == ArrayRef<int64_t>{experts, out, blocks};
  bool rowWise = scaleShape == ArrayRef<int64_t>{experts, out} ||
                 scaleShape == ArrayRef<int64_t>{experts, out, 1};
  if (!blockWise && !rowWise)
    return error(name + "_scales " + shapeString(scaleShape) + " is not " +
                 shapeString({experts, out}) +
                 (block > 0 ? " or " + shapeString({experts, out, blocks}) +
                                  " (block_size " + Twine(block) + ")"
                            : Twine("")));
  if (!blockWise)
    blocks = 1;
  FailureOr<Value> scales = castTo(scale, builder.getF32Type());
  if (failed(scales))
    return failure();
  scales = reshape(*scales, {experts, out, blocks});
  if (failed(scales))
    return failure();
  // Zero points: 8 / bits a byte, along out per row or along the blocks.
  Type i8 = builder.getI8Type();
  Value zeros;
  if (zero) {
    int64_t perByte = 8 / bits;
    SmallVector<int64_t> zeroShape =
        blockWise
            ? SmallVector<int64_t>{experts, out,
                                   (blocks + perByte - 1) / perByte}
            : SmallVector<int64_t>{experts, (out + perByte - 1) / perByte};
    std::optional<ArrayRef<char>> packed = constantBytesOf(known(zero));
    auto zeroType = dyn_cast<IntegerType>(typeOf(zero).getElementType());
    if (!packed || !zeroType || zeroType.getWidth() != 8 ||
        typeOf(zero).getShape() != ArrayRef<int64_t>(zeroShape))
      return error(name +
                   "_zero_points must be a constant uint8 tensor of "
                   "shape " +
                   shapeString(zeroShape));
    std::vector<int8_t> values(experts * out * blocks);
    for (int64_t e = 0; e < experts; ++e)
      for (int64_t r = 0; r < out; ++r)
        for (int64_t b = 0; b < blocks; ++b) {
          // The packed position: the block within its row, or the row.
          int64_t i = blockWise ? b : r;
          int64_t row = blockWise ? e * out + r : e;
          auto byte = static_cast<uint8_t>(
              (*packed)[row * zeroShape.back() + i / perByte]);
          values[(e * out + r) * blocks + b] = static_cast<int8_t>(
              (byte >> (bits * (i % perByte))) & ((1 << bits) - 1));
        }
    zeros = denseConstant(i8, {experts, out, blocks}, ArrayRef<int8_t>(values));
  }
  uint8_t flip = zero ? 0 : bits == 4 ? 0x88 : 0x80;
  std::vector<int8_t> values(bytes->size());
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<int8_t>(static_cast<uint8_t>((*bytes)[i]) ^ flip);
  std::string base = node->name().empty() ? "qmoe" : node->name();
  Value constant = createConstant(
      largeToResource(DenseElementsAttr::get(
                          RankedTensorType::get({experts, out, packedIn}, i8),
                          ArrayRef<int8_t>(values)),
                      blobNameFor((base + "." + name).str())),
      nodeLoc);
  return ExpertWeights{constant, *scales, zeros,
                       in,       bits,    blockWise ? block : 0};
}

/// The experts' weights [.., out, in] in `element`, those at `indices`
/// (gathered along the experts before they are dequantized) or all.
Value ONNXImporter::dequantizedExperts(const ExpertWeights &weights,
                                       Value indices, Type element) {
  auto taken = [&](Value value) {
    return indices && value ? gatherRows(value, indices) : value;
  };
  Value bytes = taken(weights.bytes), scales = taken(weights.scales),
        zeros = taken(weights.zeros);
  if (!bytes || !scales || (weights.zeros && !zeros))
    return {};
  SmallVector<int64_t> shape(typeOf(bytes).getShape());
  shape.back() = weights.in;
  SmallVector<Value> operands{bytes, scales};
  SmallVector<NamedAttribute> attrs{
      namedAttr("bits", builder.getI64IntegerAttr(weights.bits)),
      namedAttr("block_size", builder.getI64IntegerAttr(weights.block))};
  if (zeros) {
    operands.push_back(zeros);
    attrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
  }
  FailureOr<Value> dequantized = create<llm::DequantizeOp>(
      operands, attrs, RankedTensorType::get(shape, builder.getF32Type()));
  if (failed(dequantized))
    return {};
  return orNull(castTo(*dequantized, element));
}

LogicalResult ONNXImporter::importMatMulInteger() {
  if (failed(requireInputs(2)))
    return failure();
  Value aZero = input(2);
  // Per row of A: [M] becomes [M, 1].
  if (aZero && typeOf(aZero).getRank() == 1 &&
      typeOf(aZero).getDimSize(0) != 1) {
    FailureOr<Value> column = reshape(aZero, {typeOf(aZero).getDimSize(0), 1});
    if (failed(column))
      return failure();
    aZero = *column;
  }
  return setResult(integerProduct(input(0), input(1), aZero, input(3),
                                  isUnsignedInput(0), isUnsignedInput(1)));
}

/// llm.qmatmul of the 8-bit a and b (rank >= 2) with their optional 8-bit
/// zero points, each read unsigned where marked; the names are the node's
/// inputs, for errors.
FailureOr<Value> ONNXImporter::integerProduct(Value a, Value b, Value aZero,
                                              Value bZero, bool aUnsigned,
                                              bool bUnsigned, StringRef aName,
                                              StringRef bName,
                                              bool transposeRhs) {
  if (failed(requireQuantized(a, aName, false)) ||
      failed(requireQuantized(b, bName, false)))
    return failure();
  if (typeOf(a).getRank() < 2 || typeOf(b).getRank() < 2)
    return error(aName + " and " + bName + " must have rank >= 2");
  SmallVector<Value> operands{a, b};
  for (auto [zero, what] : {std::pair<Value, StringRef>{aZero, "a_zero_point"},
                            {bZero, "b_zero_point"}}) {
    if (!zero)
      continue;
    if (failed(requireQuantized(zero, what, false)))
      return failure();
    operands.push_back(zero);
  }
  SmallVector<NamedAttribute> attrs{namedAttr(
      llm::QMatMulOp::getOperandSegmentSizeAttr(),
      builder.getDenseI32ArrayAttr({1, 1, aZero ? 1 : 0, bZero ? 1 : 0}))};
  if (aUnsigned)
    attrs.push_back(namedAttr("lhs_unsigned", builder.getUnitAttr()));
  if (bUnsigned)
    attrs.push_back(namedAttr("rhs_unsigned", builder.getUnitAttr()));
  if (transposeRhs)
    attrs.push_back(namedAttr("transpose_rhs", builder.getBoolAttr(true)));
  return create<llm::QMatMulOp>(operands, attrs);
}

/// The i32 convolution of the 8-bit x [N, C, in...] and w [M, C / G, K...]
/// (ConvInteger's and QLinearConv's) with their zero points: Conv's windows,
/// a tap in the padding reading x's zero point (so it adds 0, as ONNX
/// Runtime pads), and one llm.qmatmul of the patches by W as it is stored
/// ([M, C / G * K], transpose_rhs; w's zero point per tensor or per output
/// channel). [N, M, out...].
FailureOr<Value> ONNXImporter::integerConv(Value x, Value w, Value xZero,
                                           Value wZero, bool xUnsigned,
                                           bool wUnsigned) {
  if (failed(requireQuantized(x, "x", false)) ||
      failed(requireQuantized(w, "w", false)))
    return failure();
  // After the ranks (convGeometry checks them first), before the rest.
  RankedTensorType xType = typeOf(x);
  int64_t rank = xType.getRank();
  if (rank >= 3 && typeOf(w).getRank() == rank &&
      (xType.isDynamicDim(0) || xType.isDynamicDim(1)))
    return error("expects static batch and channel dims; give static input "
                 "shapes with --shape");
  FailureOr<ConvGeometry> geometry = convGeometry(x, w, "x", "w");
  if (failed(geometry))
    return failure();
  const Windows &windows = geometry->windows;
  int64_t groups = geometry->groups, outChannels = geometry->outChannels;
  Value fill;
  if (xZero) {
    if (failed(requireQuantized(xZero, "x_zero_point", false)))
      return failure();
    if (typeOf(xZero).getNumElements() != 1)
      return error("x_zero_point must be per tensor");
    fill = orNull(reshape(xZero, {}));
    if (!fill)
      return failure();
  }
  FailureOr<Value> rows =
      patchRows(x, windows.positions, computeProduct(windows.out), windows.taps,
                groups, fill);
  int64_t perGroup = outChannels / groups;
  FailureOr<Value> weight =
      reshape(w, groupedShape(groups, perGroup,
                              geometry->groupChannels * windows.taps));
  if (failed(rows) || failed(weight))
    return failure();
  if (wZero && typeOf(wZero).getNumElements() != 1) {
    if (typeOf(wZero).getNumElements() != outChannels)
      return error("w_zero_point must be per tensor or per output channel (" +
                   Twine(outChannels) + " values)");
    wZero = orNull(reshape(wZero, groupedShape(groups, perGroup, 1)));
    if (!wZero)
      return failure();
  }
  FailureOr<Value> product =
      integerProduct(*rows, *weight, fill ? xZero : Value(), wZero, xUnsigned,
                     wUnsigned, "x", "w", /*transposeRhs=*/true);
  if (failed(product))
    return failure();
  return channelsFirst(*product, windows.out, groups, outChannels, {});
}

/// ConvInteger: the exact i32 convolution of (x - x_zero_point) and (w -
/// w_zero_point), as ONNX Runtime's quantize_dynamic writes a model's Conv
/// (a speech encoder's front end, a patch embedding).
LogicalResult ONNXImporter::importConvInteger() {
  if (failed(requireInputs(2)))
    return failure();
  return setResult(integerConv(input(0), input(1), input(2), input(3),
                               isUnsignedInput(0), isUnsignedInput(1)));
}

/// QLinearMatMul and QLinearConv: the exact i32 product (QLinearConv's
/// plus its i32 bias B) times a_scale * b_scale / y_scale (the factor in
/// f32; b's scale per tensor, or per column or output channel) in one f32
/// multiply, rounded to even, plus y_zero_point, saturated: ONNX Runtime's
/// requantization.
LogicalResult ONNXImporter::importQLinear() {
  if (failed(requireInputs(8)))
    return failure();
  bool conv = node->op_type() == "QLinearConv";
  StringRef a = conv ? "x" : "a", b = conv ? "w" : "b";
  Value yZero = input(7);
  if (failed(requireQuantized(yZero, "y_zero_point", false)))
    return failure();
  FailureOr<Value> aScale = floatParameter(input(1), (a + "_scale").str());
  FailureOr<Value> bScale = floatParameter(input(4), (b + "_scale").str());
  FailureOr<Value> yScale = floatParameter(input(6), "y_scale");
  if (failed(aScale) || failed(bScale) || failed(yScale))
    return failure();
  for (Value scale : {*aScale, *yScale})
    if (typeOf(scale).getNumElements() != 1)
      return error(a + "_scale and y_scale must be per tensor");
  FailureOr<Value> accumulator =
      conv ? integerConv(input(0), input(3), input(2), input(5),
                         isUnsignedInput(0), isUnsignedInput(3))
           : integerProduct(input(0), input(3), input(2), input(5),
                            isUnsignedInput(0), isUnsignedInput(3), a, b);
  if (failed(accumulator))
    return failure();
  RankedTensorType accType = typeOf(*accumulator);
  Value acc = *accumulator;
  Value factor =
      emit<llm::DivOp>({emit<llm::MulOp>({*aScale, *bScale}), *yScale});
  if (conv) {
    // Per output channel: [M, 1, ...] against [N, M, out...].
    int64_t outChannels = accType.getDimSize(1);
    if (Value bias = input(8)) {
      if (!typeOf(bias).getElementType().isInteger(32) ||
          typeOf(bias).getNumElements() != outChannels)
        return error("B must be " + Twine(outChannels) + " int32 values");
      acc = emit<llm::AddOp>({acc, orNull(perChannel(bias, accType))});
    }
    if (factor && typeOf(factor).getNumElements() != 1) {
      if (typeOf(factor).getNumElements() != outChannels)
        return error("w_scale must be per tensor or per output channel (" +
                     Twine(outChannels) + " values)");
      factor = orNull(perChannel(factor, accType));
    }
  }
  FailureOr<Value> one = scalarF32(1.0f);
  if (!acc || !factor || failed(one))
    return failure();
  FailureOr<Value> real = create<llm::DequantizeOp>(
      {acc, factor}, {}, accType.clone(builder.getF32Type()));
  if (failed(real))
    return failure();
  SmallVector<NamedAttribute> quantAttrs;
  if (isUnsignedInput(7)) {
    quantAttrs.push_back(namedAttr("is_unsigned", builder.getUnitAttr()));
    markUnsignedOutput(0);
  }
  return setResult(create<llm::QuantizeOp>({*real, *one, yZero}, quantAttrs,
                                           accType.clone(builder.getI8Type())));
}

/// Imports the current node as a node of the default domain's `opType`
/// with `operands` (the names say how the values are read: uint8 names
/// read unsigned), the current node's attributes named in
/// `attributeNames` plus `extraAttributes`, and the current node's outputs;
/// returns its results. Errors still name the current node and op.
FailureOr<SmallVector<Value>>
ONNXImporter::importAs(StringRef opType,
                       ArrayRef<std::pair<std::string, Value>> operands,
                       ArrayRef<std::string> attributeNames,
                       ArrayRef<onnx::AttributeProto> extraAttributes) {
  auto entry = opTable().find(opType);
  if (entry == opTable().end())
    return error("internal: no importer for " + opType);
  onnx::NodeProto as;
  as.set_op_type(opType.str());
  as.set_name(node->name());
  for (const auto &operand : operands)
    as.add_input(operand.first);
  for (const std::string &output : node->output())
    as.add_output(output);
  for (const std::string &name : attributeNames)
    if (const onnx::AttributeProto *attr = findAttr(name))
      *as.add_attribute() = *attr;
  for (const onnx::AttributeProto &attr : extraAttributes)
    *as.add_attribute() = attr;
  onnx::NodeProto *saved = node;
  SmallVector<Value> savedInputs = std::move(inputs),
                     savedResults = std::move(results);
  node = &as;
  inputs.clear();
  for (const auto &operand : operands)
    inputs.push_back(operand.second);
  results.clear();
  LogicalResult result = (this->*(entry->second.handler))();
  SmallVector<Value> produced = std::move(results);
  node = saved;
  inputs = std::move(savedInputs);
  results = std::move(savedResults);
  if (failed(result))
    return failure();
  return produced;
}

/// ONNX Runtime's QOperator ops (com.microsoft QLinearAdd, QLinearMul,
/// QLinearSigmoid, QLinearLeakyRelu, QLinearSoftmax, QLinearConcat,
/// QLinearAveragePool, QLinearGlobalAveragePool, QLinearReduceMean,
/// QLinearWhere, QGemm): each quantized
/// input through DequantizeLinear, the float op, the result through
/// QuantizeLinear with y's scale and zero point -- the QDQ form the QOperator
/// kernels compute. (QLinearMatMul and QLinearConv, in ONNX, are exact
/// integer products, importQLinear.) channels_last pools transpose NHWC to
/// NCHW and back.
LogicalResult ONNXImporter::importQOperator() {
  StringRef op = node->op_type();
  auto named = [&](unsigned index) {
    return std::pair<std::string, Value>{
        index < static_cast<unsigned>(node->input_size()) ? node->input(index)
                                                          : "",
        input(index)};
  };
  // DequantizeLinear of the tensor at `x` with the scale and zero point
  // after it (`axis` for a per-axis scale).
  auto dequantized = [&](unsigned x, int64_t axis = 1) -> FailureOr<Value> {
    if (!input(x) || !input(x + 1))
      return error("expects input " + Twine(x) + " and its scale");
    onnx::AttributeProto axisAttr;
    axisAttr.set_name("axis");
    axisAttr.set_type(onnx::AttributeProto::INT);
    axisAttr.set_i(axis);
    SmallVector<std::pair<std::string, Value>> operands{named(x), named(x + 1)};
    if (input(x + 2))
      operands.push_back(named(x + 2));
    FailureOr<SmallVector<Value>> out =
        importAs("DequantizeLinear", operands, {}, {axisAttr});
    if (failed(out))
      return failure();
    return out->front();
  };
  // QuantizeLinear of `real` with the scale and zero point at `scale`
  // (uint8 without a zero point, as ONNX's default).
  auto quantized = [&](Value real, unsigned scale) -> FailureOr<Value> {
    if (!input(scale))
      return error("expects y's scale (input " + Twine(scale) + ")");
    SmallVector<std::pair<std::string, Value>> operands{
        {node->name() + "#real", real}, named(scale)};
    if (input(scale + 1))
      operands.push_back(named(scale + 1));
    FailureOr<SmallVector<Value>> out =
        importAs("QuantizeLinear", operands, {});
    if (failed(out))
      return failure();
    return out->front();
  };
  auto floatResult =
      [&](StringRef opType, ArrayRef<std::pair<std::string, Value>> operands,
          ArrayRef<std::string> attrs,
          ArrayRef<onnx::AttributeProto> extra = {}) -> FailureOr<Value> {
    FailureOr<SmallVector<Value>> out =
        importAs(opType, operands, attrs, extra);
    if (failed(out) || out->empty() || !out->front())
      return failure();
    return out->front();
  };
  auto real = [&](StringRef name, Value value) {
    return std::pair<std::string, Value>{node->name() + "#" + name.str(),
                                         value};
  };
  auto nchw = [&](Value x, bool toFirst) -> Value {
    int64_t rank = typeOf(x).getRank();
    SmallVector<int64_t> perm{0};
    if (toFirst) {
      perm.push_back(rank - 1);
      for (int64_t d = 1; d < rank - 1; ++d)
        perm.push_back(d);
    } else {
      for (int64_t d = 2; d < rank; ++d)
        perm.push_back(d);
      perm.push_back(1);
    }
    return orNull(create<llm::TransposeOp>(
        x, {namedAttr("permutation", builder.getDenseI64ArrayAttr(perm))}));
  };

  FailureOr<Value> y;
  if (op == "QLinearAdd" || op == "QLinearMul") {
    // A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale,
    // C_zero_point.
    if (failed(requireInputs(7)))
      return failure();
    FailureOr<Value> a = dequantized(0), b = dequantized(3);
    if (failed(a) || failed(b))
      return failure();
    y = floatResult(op == "QLinearAdd" ? "Add" : "Mul",
                    {real("a", *a), real("b", *b)}, {});
    if (succeeded(y))
      y = quantized(*y, 6);
  } else if (op == "QLinearSigmoid" || op == "QLinearLeakyRelu" ||
             op == "QLinearSoftmax" || op == "QLinearAveragePool" ||
             op == "QLinearGlobalAveragePool") {
    // X, X_scale, X_zero_point, Y_scale, Y_zero_point.
    if (failed(requireInputs(4)))
      return failure();
    FailureOr<Value> x = dequantized(0);
    if (failed(x))
      return failure();
    bool channelsLast = getInt("channels_last", 0) != 0;
    if (channelsLast && typeOf(*x).getRank() < 3)
      return error("channels_last expects X of rank 3 or more");
    Value in = channelsLast ? nchw(*x, true) : *x;
    if (!in)
      return failure();
    if (op == "QLinearSoftmax" && getInt("opset", 13) < 13) {
      // Before opset 13 Softmax flattens from `axis` on: the same as the
      // last axis only when axis is the last dim.
      int64_t rank = typeOf(in).getRank(), axis = getInt("axis", 1);
      if (axis != -1 && axis != rank - 1)
        return error("opset " + Twine(getInt("opset", 13)) +
                     " Softmax over axis " + Twine(axis) +
                     " (flattened from it) of a rank-" + Twine(rank) +
                     " tensor is not supported; the last axis is");
    }
    StringRef floatOp = op.drop_front(7); // QLinear
    SmallVector<std::string> attrs;
    if (floatOp == "LeakyRelu")
      attrs = {"alpha"};
    else if (floatOp == "Softmax")
      attrs = {"axis"};
    else if (floatOp == "AveragePool")
      attrs = {"auto_pad",     "ceil_mode", "count_include_pad",
               "kernel_shape", "pads",      "strides"};
    y = floatResult(floatOp, {real("x", in)}, attrs);
    if (succeeded(y) && channelsLast) {
      Value back = nchw(*y, false);
      if (!back)
        return failure();
      y = back;
    }
    if (succeeded(y))
      y = quantized(*y, 3);
  } else if (op == "QLinearConcat") {
    // Y_scale, Y_zero_point, then (X, X_scale, X_zero_point) per input.
    int64_t count = node->input_size() - 2;
    if (count < 3 || count % 3 != 0)
      return error("expects Y_scale, Y_zero_point and triples of (X, "
                   "X_scale, X_zero_point), got " +
                   Twine(node->input_size()) + " inputs");
    SmallVector<std::pair<std::string, Value>> reals;
    for (int64_t i = 2; i < node->input_size(); i += 3) {
      FailureOr<Value> x = dequantized(i);
      if (failed(x))
        return failure();
      reals.push_back(real("x" + std::to_string(i / 3), *x));
    }
    y = floatResult("Concat", reals, {"axis"});
    if (succeeded(y))
      y = quantized(*y, 0);
  } else if (op == "QLinearReduceMean") {
    // data, data_scale, data_zero_point, reduced_scale,
    // reduced_zero_point; axes and keepdims attributes.
    if (failed(requireInputs(4)))
      return failure();
    std::optional<SmallVector<int64_t>> axes = getInts("axes");
    if (!axes || axes->empty())
      return error("expects attribute 'axes'");
    FailureOr<Value> x = dequantized(0);
    if (failed(x))
      return failure();
    int64_t rank = typeOf(*x).getRank();
    for (int64_t &axis : *axes) {
      FailureOr<int64_t> normalized = normalizeAxis(axis, rank);
      if (failed(normalized))
        return failure();
      axis = *normalized;
    }
    llvm::sort(*axes);
    if (std::adjacent_find(axes->begin(), axes->end()) != axes->end())
      return error("axes repeat an axis");
    Value mean =
        reduce<llm::ReduceMeanOp>(*x, *axes, getInt("keepdims", 1) != 0);
    if (!mean)
      return failure();
    y = quantized(mean, 3);
  } else if (op == "QLinearWhere") {
    // condition, X, x_scale, x_zero_point, Y, y_scale, y_zero_point,
    // z_scale, z_zero_point.
    if (failed(requireInputs(8)))
      return failure();
    FailureOr<Value> a = dequantized(1), b = dequantized(4);
    if (failed(a) || failed(b))
      return failure();
    y = floatResult("Where", {named(0), real("x", *a), real("y", *b)}, {});
    if (succeeded(y))
      y = quantized(*y, 7);
  } else if (op == "QGemm") {
    // A, a_scale, a_zero_point, B, b_scale, b_zero_point, C (int32, scaled
    // by a_scale * b_scale), y_scale, y_zero_point; Y float without
    // y_scale.
    if (failed(requireInputs(6)))
      return failure();
    bool transB = getInt("transB", 0) != 0;
    FailureOr<Value> a = dequantized(0), b = dequantized(3, transB ? 0 : 1);
    if (failed(a) || failed(b))
      return failure();
    SmallVector<std::pair<std::string, Value>> operands{real("a", *a),
                                                        real("b", *b)};
    if (Value c = input(6)) {
      if (!typeOf(c).getElementType().isInteger(32))
        return error("C must be int32 (the bias at a_scale * b_scale)");
      FailureOr<Value> aScale = floatParameter(input(1), "a_scale");
      FailureOr<Value> bScale = floatParameter(input(4), "b_scale");
      if (failed(aScale) || failed(bScale))
        return failure();
      Value scale = emit<llm::MulOp>({*aScale, *bScale});
      if (!scale)
        return failure();
      FailureOr<Value> bias = create<llm::DequantizeOp>(
          {c, scale}, {}, typeOf(c).clone(builder.getF32Type()));
      if (failed(bias))
        return failure();
      operands.push_back(real("c", *bias));
    }
    y = floatResult("Gemm", operands, {"alpha", "transA", "transB"});
    if (succeeded(y) && input(7))
      y = quantized(*y, 7);
  } else {
    return error("unsupported op");
  }
  if (failed(y))
    return failure();
  return setResult(*y);
}

LogicalResult ONNXImporter::importDynamicQuantizeLinear() {
  if (failed(requireInputs(1)))
    return failure();
  FailureOr<std::array<Value, 3>> quantized = dynamicQuantize(input(0));
  if (failed(quantized))
    return failure();
  markUnsignedOutput(0);
  markUnsignedOutput(2);
  llvm::append_range(results, *quantized);
  return success();
}

/// DynamicQuantizeLinear of `x`: uint8 y, its f32 scale and zero point
/// (scalars), over the range of x widened to include 0: scale = (max -
/// min) / 255 (1 when x is all zeros, as ONNX Runtime's kernel takes it),
/// zero point saturate(roundeven(-min / scale)), y = saturate(roundeven(x /
/// scale) + zero point).
FailureOr<std::array<Value, 3>> ONNXImporter::dynamicQuantize(Value x) {
  if (!typeOf(x).getElementType().isF32())
    return error("x must be a float (f32) tensor");
  int64_t rank = typeOf(x).getRank();
  auto all = builder.getDenseI64ArrayAttr(
      llvm::to_vector(llvm::seq<int64_t>(0, rank)));
  NamedAttribute axes = namedAttr("axes", all);
  NamedAttribute drop = namedAttr("keepdims", builder.getBoolAttr(false));
  FailureOr<Value> zero = scalarF32(0.0f);
  FailureOr<Value> levels = scalarF32(255.0f);
  FailureOr<Value> low = create<llm::ReduceMinOp>(x, {axes, drop});
  FailureOr<Value> high = create<llm::ReduceMaxOp>(x, {axes, drop});
  if (failed(zero) || failed(levels) || failed(low) || failed(high))
    return failure();
  // The range always includes 0: scale = (max(x, 0) - min(x, 0)) / 255.
  low = create<llm::MinOp>({*low, *zero});
  high = create<llm::MaxOp>({*high, *zero});
  if (failed(low) || failed(high))
    return failure();
  FailureOr<Value> range = create<llm::SubOp>({*high, *low});
  if (failed(range))
    return failure();
  Value scale = emit<llm::WhereOp>({emit<llm::EqualOp>({*range, *zero}),
                                    orNull(scalarF32(1.0f)),
                                    emit<llm::DivOp>({*range, *levels})});
  FailureOr<Value> negated = create<llm::SubOp>({*zero, *low});
  if (!scale || failed(negated))
    return failure();
  NamedAttribute isUnsigned = namedAttr("is_unsigned", builder.getUnitAttr());
  // zero_point = saturate(roundeven(-min / scale)) in [0, 255].
  FailureOr<Value> zeroPoint =
      create<llm::QuantizeOp>({*negated, scale}, {isUnsigned},
                              RankedTensorType::get({}, builder.getI8Type()));
  if (failed(zeroPoint))
    return failure();
  FailureOr<Value> y =
      create<llm::QuantizeOp>({x, scale, *zeroPoint}, {isUnsigned},
                              typeOf(x).clone(builder.getI8Type()));
  if (failed(y))
    return failure();
  return std::array<Value, 3>{*y, scale, *zeroPoint};
}

/// The float product of two 8-bit tensors with their quantization
/// parameters, as ONNX Runtime's MatMulIntegerToFloat, DynamicQuantizeMatMul
/// and QAttention compute it: the exact i32 product of (a - a_zero_point)
/// and (b - b_zero_point), times a_scale * b_scale (taken in f32 first) in
/// one f32 multiply. a's parameters are per tensor; b's per tensor or per
/// column ([N]).
FailureOr<Value> ONNXImporter::integerProductToFloat(Value a, Value b,
                                                     Value aScale, Value bScale,
                                                     Value aZero, Value bZero,
                                                     bool aUnsigned,
                                                     bool bUnsigned) {
  FailureOr<Value> accumulator =
      integerProduct(a, b, aZero, bZero, aUnsigned, bUnsigned);
  if (failed(accumulator))
    return failure();
  int64_t n = typeOf(b).getShape().back();
  auto perColumn = [&](Value v) {
    RankedTensorType type = typeOf(v);
    return type.getNumElements() == 1 ||
           (type.getRank() == 1 && type.getDimSize(0) == n);
  };
  if (typeOf(aScale).getNumElements() != 1 ||
      (aZero && typeOf(aZero).getNumElements() != 1))
    return error("a_scale and a_zero_point must be per tensor");
  if (!perColumn(bScale) || (bZero && !perColumn(bZero)))
    return error("b_scale and b_zero_point must be per tensor or per column "
                 "([" +
                 Twine(n) + "]), got " +
                 shapeString(typeOf(bScale).getShape()));
  FailureOr<Value> as = floatParameter(aScale, "a_scale");
  FailureOr<Value> bs = floatParameter(bScale, "b_scale");
  if (failed(as) || failed(bs))
    return failure();
  FailureOr<Value> product = create<llm::MulOp>({*as, *bs});
  if (failed(product))
    return failure();
  return create<llm::DequantizeOp>(
      {*accumulator, *product}, {},
      typeOf(*accumulator).clone(builder.getF32Type()));
}

/// com.microsoft MatMulIntegerToFloat: A (u8/i8) @ B (u8/i8) with their
/// scales and zero points, to float, plus `bias` (after the scaling).
LogicalResult ONNXImporter::importMatMulIntegerToFloat() {
  if (failed(requireInputs(4)))
    return failure();
  Type output = typeOf(input(2)).getElementType();
  FailureOr<Value> y =
      integerProductToFloat(input(0), input(1), input(2), input(3), input(4),
                            input(5), isUnsignedInput(0), isUnsignedInput(1));
  if (failed(y))
    return failure();
  Value result = *y;
  if (Value bias = input(6))
    result =
        emit<llm::AddOp>({result, orNull(castTo(bias, builder.getF32Type()))});
  if (!result)
    return failure();
  return setResult(castTo(result, output));
}

/// com.microsoft DynamicQuantizeMatMul (ONNX Runtime's quantize_dynamic
/// after its graph optimizer): A quantized as DynamicQuantizeLinear does
/// (uint8, per tensor), times the 8-bit B with b_scale (per tensor or
/// column) and b_zero_point, plus `bias`.
LogicalResult ONNXImporter::importDynamicQuantizeMatMul() {
  if (failed(requireInputs(3)))
    return failure();
  FailureOr<std::array<Value, 3>> a = dynamicQuantize(input(0));
  if (failed(a))
    return failure();
  auto [qa, aScale, aZero] = *a;
  FailureOr<Value> y =
      integerProductToFloat(qa, input(1), aScale, input(2), aZero, input(3),
                            /*aUnsigned=*/true, isUnsignedInput(1));
  if (failed(y))
    return failure();
  if (Value bias = input(4))
    return setResult(emit<llm::AddOp>({*y, bias}));
  return setResult(y);
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

FailureOr<std::optional<SmallVector<int64_t>>>
ONNXImporter::reduceAxes(int64_t axesInputSince) {
  int64_t rank = typeOf(input(0)).getRank();
  SmallVector<int64_t> axes;
  bool noopWithEmptyAxes = false;
  if (opset >= axesInputSince) {
    noopWithEmptyAxes = getInt("noop_with_empty_axes", 0) != 0;
    if (input(1)) {
      FailureOr<SmallVector<int64_t>> given = constantInts(1, "axes");
      if (failed(given))
        return failure();
      axes = *given;
    }
  } else if (std::optional<SmallVector<int64_t>> given = getInts("axes")) {
    axes = *given;
  }
  if (axes.empty()) {
    if (noopWithEmptyAxes)
      return std::optional<SmallVector<int64_t>>();
    axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  }
  for (int64_t &axis : axes) {
    FailureOr<int64_t> normalized = normalizeAxis(axis, rank, "axes");
    if (failed(normalized))
      return failure();
    axis = *normalized;
  }
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return std::optional<SmallVector<int64_t>>(axes);
}

template <typename OpTy>
Value ONNXImporter::reduce(Value value, ArrayRef<int64_t> axes,
                           bool keepdims) {
  if (!value)
    return {};
  FailureOr<Value> reduced = create<OpTy>(
      value, {namedAttr("axes", builder.getDenseI64ArrayAttr(axes)),
              namedAttr("keepdims", builder.getBoolAttr(keepdims))});
  return succeeded(reduced) ? *reduced : Value();
}

template <typename OpTy, int64_t axesInputSince>
LogicalResult ONNXImporter::importReduce() {
  if (failed(requireInputs(1)))
    return failure();
  FailureOr<std::optional<SmallVector<int64_t>>> axes =
      reduceAxes(axesInputSince);
  if (failed(axes))
    return failure();
  if (!*axes)
    return setResult(input(0));
  Value result = reduce<OpTy>(input(0), **axes, getInt("keepdims", 1) != 0);
  return result ? setResult(result) : failure();
}

/// ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum and ReduceLogSumExp
/// from llm's sum and max reductions.
LogicalResult ONNXImporter::importReduceComposite() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  StringRef opType = node->op_type();
  bool isFloat = isa<FloatType>(typeOf(x).getElementType());
  if (!isFloat && opType != "ReduceL1" && opType != "ReduceSumSquare")
    return error(opType + " needs a float input");
  FailureOr<std::optional<SmallVector<int64_t>>> axes = reduceAxes(18);
  if (failed(axes))
    return failure();
  bool keepdims = getInt("keepdims", 1) != 0;
  // An identity reduction (noop_with_empty_axes) still applies the
  // elementwise part, as the reference does.
  auto sum = [&](Value v) {
    return *axes ? reduce<llm::ReduceSumOp>(v, **axes, keepdims) : v;
  };
  Value result;
  if (opType == "ReduceL1" || opType == "ReduceL2") {
    result = lpNorm(x, opType == "ReduceL1" ? 1 : 2, sum);
  } else if (opType == "ReduceSumSquare") {
    result = sum(emit<llm::MulOp>({x, x}));
  } else if (opType == "ReduceLogSum") {
    result = emit<llm::LogOp>(sum(x));
  } else if (!*axes) {
    result = emit<llm::LogOp>(emit<llm::ExpOp>(x));
  } else {
    // log(sum(exp(x - max))) + max, with an infinite max taken as 0 so that
    // an all -inf row gives -inf, not NaN.
    Value max = reduce<llm::ReduceMaxOp>(x, **axes, /*keepdims=*/true);
    Value infinite = emit<llm::EqualOp>(
        {emit<llm::AbsOp>(max), scalarOf(typeOf(x).getElementType(), INFINITY)});
    Value shift = emit<llm::WhereOp>(
        {infinite, scalarOf(typeOf(x).getElementType(), 0), max});
    Value logSum = emit<llm::LogOp>(
        sum(emit<llm::ExpOp>(emit<llm::SubOp>({x, shift}))));
    if (shift && !keepdims) {
      FailureOr<Value> dropped = reshape(shift, typeOf(logSum).getShape());
      shift = succeeded(dropped) ? *dropped : Value();
    }
    result = emit<llm::AddOp>({logSum, shift});
  }
  return result ? setResult(result) : failure();
}

/// The L1 (p = 1) or L2 (p = 2) norm of `x`, `sum` reducing its elements:
/// sum(|x|) or sqrt(sum(x * x)).
Value ONNXImporter::lpNorm(Value x, int64_t p,
                           llvm::function_ref<Value(Value)> sum) {
  return p == 1 ? sum(emit<llm::AbsOp>(x))
                : emit<llm::SqrtOp>(sum(emit<llm::MulOp>({x, x})));
}

/// LpNormalization: x divided by its L1 or L2 norm along `axis`. A zero
/// norm divides by 1, so a zero vector stays zero (ONNX Runtime's result;
/// the reference's 0 / 0 is NaN).
LogicalResult ONNXImporter::importLpNormalization() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  Type element = typeOf(x).getElementType();
  if (!isa<FloatType>(element))
    return error("LpNormalization needs a float input");
  int64_t p = getInt("p", 2);
  if (p != 1 && p != 2)
    return error("p must be 1 or 2, got " + Twine(p));
  FailureOr<int64_t> axis =
      normalizeAxis(getInt("axis", -1), typeOf(x).getRank());
  if (failed(axis))
    return failure();
  Value norm = lpNorm(x, p, [&](Value v) {
    return reduce<llm::ReduceSumOp>(v, {*axis}, /*keepdims=*/true);
  });
  Value zero = emit<llm::EqualOp>({norm, scalarOf(element, 0)});
  Value divisor = emit<llm::WhereOp>({zero, scalarOf(element, 1), norm});
  Value result = emit<llm::DivOp>({x, divisor});
  return result ? setResult(result) : failure();
}

template <typename T>
Value ONNXImporter::denseConstant(Type elementType, ArrayRef<int64_t> shape,
                                  ArrayRef<T> values) {
  return createConstant(
      DenseElementsAttr::get(RankedTensorType::get(shape, elementType), values),
      nodeLoc);
}

Value ONNXImporter::indexConstant(ArrayRef<int64_t> shape,
                                  ArrayRef<int64_t> values) {
  return denseConstant(builder.getI64Type(), shape, values);
}

/// `axis` of `value` normalized, and the static size along it (ops whose
/// composites spell the axis out: CumSum, ArgMax/ArgMin, TopK).
FailureOr<std::pair<int64_t, int64_t>>
ONNXImporter::staticAxis(Value value, int64_t axis) {
  RankedTensorType type = typeOf(value);
  FailureOr<int64_t> normalized = normalizeAxis(axis, type.getRank());
  if (failed(normalized))
    return failure();
  int64_t n = type.getDimSize(*normalized);
  if (ShapedType::isDynamic(n))
    return error(node->op_type() + " needs a static size along its axis");
  return std::make_pair(*normalized, n);
}

/// 0 .. n-1 along `axis` of an i64 constant of rank `rank` (size 1 along
/// the other dims).
Value ONNXImporter::positionsAlong(int64_t rank, int64_t axis, int64_t n) {
  SmallVector<int64_t> shape(rank, 1);
  shape[axis] = n;
  return indexConstant(shape, llvm::to_vector(llvm::seq<int64_t>(0, n)));
}

/// OneHot: values[1] where the index (a negative one counted from depth)
/// equals the position along the new axis, values[0] elsewhere; an index
/// outside [-depth, depth) gives values[0] along the whole axis.
LogicalResult ONNXImporter::importOneHot() {
  if (failed(requireInputs(3)))
    return failure();
  Value indices = input(0), values = input(2);
  std::optional<SmallVector<double>> depthValue = evaluate(known(input(1)));
  if (!depthValue || depthValue->size() != 1)
    return error("input 'depth' must be a compile-time scalar");
  int64_t depth = static_cast<int64_t>(depthValue->front());
  if (depth < 1)
    return error("depth " + Twine(depth) + " is not positive");
  if (typeOf(values).getNumElements() != 2)
    return error("expects input 'values' of two elements [off, on]");
  int64_t rank = typeOf(indices).getRank();
  FailureOr<int64_t> axis = normalizeAxis(getInt("axis", -1), rank + 1);
  if (failed(axis))
    return failure();
  FailureOr<Value> index = castTo(indices, builder.getI64Type());
  FailureOr<Value> flatValues = reshape(values, {2});
  if (failed(index) || failed(flatValues))
    return failure();
  Value wrapped = emit<llm::WhereOp>(
      {emit<llm::LessOp>({*index, scalarOf(builder.getI64Type(), 0)}),
       emit<llm::AddOp>({*index, scalarOf(builder.getI64Type(), depth)}),
       *index});
  Value off = sliceAlong(*flatValues, 0, 0, 1);
  Value on = sliceAlong(*flatValues, 0, 1, 2);
  if (!wrapped || !off || !on)
    return failure();
  SmallVector<int64_t> shape(typeOf(indices).getShape());
  shape.insert(shape.begin() + *axis, 1);
  Value hot = emit<llm::EqualOp>({orNull(reshape(wrapped, shape)),
                                  positionsAlong(rank + 1, *axis, depth)});
  return setResult(orNull(emit<llm::WhereOp>(
      {hot, orNull(reshape(on, {})), orNull(reshape(off, {}))})));
}

/// Mean: the inputs' sum (broadcast) over their count.
LogicalResult ONNXImporter::importMean() {
  if (failed(importVariadic<llm::AddOp>()))
    return failure();
  Value sum = results.pop_back_val();
  if (!isa<FloatType>(typeOf(sum).getElementType()))
    return error("expects float inputs");
  return setResult(orNull(emit<llm::DivOp>(
      {sum, scalarOf(typeOf(sum).getElementType(), inputs.size())})));
}

/// GlobalAveragePool and GlobalMaxPool: the mean (maximum) over every
/// spatial axis (2 ..), kept as size 1.
LogicalResult ONNXImporter::importGlobalPool() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  int64_t rank = typeOf(x).getRank();
  if (rank < 3)
    return error("expects X of rank 3 or more, got " + Twine(rank));
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(2, rank));
  Value pooled = node->op_type() == "GlobalMaxPool"
                     ? reduce<llm::ReduceMaxOp>(x, axes, true)
                     : reduce<llm::ReduceMeanOp>(x, axes, true);
  return pooled ? setResult(pooled) : failure();
}

/// BatchNormalization at inference: (x - mean) / sqrt(var + epsilon) *
/// scale + B per channel (axis 1). training_mode (the batch's statistics,
/// updated running ones) is an error.
LogicalResult ONNXImporter::importBatchNormalization() {
  if (failed(requireInputs(5)))
    return failure();
  if (getInt("training_mode", 0))
    return error("training_mode 1 (statistics of the batch) is not "
                 "supported; export the model in eval mode");
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  if (type.getRank() < 2 || !isa<FloatType>(type.getElementType()))
    return error("expects float X of rank 2 or more");
  int64_t channels = type.getDimSize(1);
  SmallVector<Value> params;
  StringRef names[] = {"scale", "B", "input_mean", "input_var"};
  for (unsigned i = 1; i < 5; ++i) {
    Value p = input(i);
    if (typeOf(p).getNumElements() != channels)
      return error("expects " + names[i - 1] + " of " + Twine(channels) +
                   " values (X's channels), got " +
                   Twine(typeOf(p).getNumElements()));
    FailureOr<Value> cast = castTo(p, type.getElementType());
    if (failed(cast))
      return failure();
    params.push_back(orNull(perChannel(*cast, type)));
  }
  Type element = type.getElementType();
  Value inverse = emit<llm::ReciprocalOp>({emit<llm::SqrtOp>({emit<llm::AddOp>(
      {params[3], scalarOf(element, getFloat("epsilon", 1e-5f))})})});
  Value factor = emit<llm::MulOp>({params[0], inverse});
  Value centered = emit<llm::SubOp>({x, params[2]});
  Value result =
      emit<llm::AddOp>({emit<llm::MulOp>({centered, factor}), params[1]});
  return result ? setResult(result) : failure();
}

/// Hardmax: 1 at the first maximum along axis (a NaN is the maximum, as in
/// ArgMax), 0 elsewhere.
LogicalResult ONNXImporter::importHardmax() {
  if (failed(requireInputs(1)))
    return failure();
  return coercedTo2D([&](Value x, int64_t axis) -> LogicalResult {
    RankedTensorType type = typeOf(x);
    FailureOr<std::pair<int64_t, int64_t>> along = staticAxis(x, axis);
    if (failed(along))
      return failure();
    int64_t n = along->second;
    Value first = extremePosition(x, axis, n, /*isMax=*/true, /*last=*/false,
                                  /*keepdims=*/true);
    Value iota = positionsAlong(type.getRank(), axis, n);
    Value result = emit<llm::WhereOp>({emit<llm::EqualOp>({iota, first}),
                                       scalarOf(type.getElementType(), 1),
                                       scalarOf(type.getElementType(), 0)});
    return result ? setResult(result) : failure();
  });
}

/// ArgMax and ArgMin: the first (or, with select_last_index, the last)
/// position along the axis where x equals its maximum (minimum); a NaN is
/// the extreme, as in numpy.
LogicalResult ONNXImporter::importArgExtreme() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  FailureOr<std::pair<int64_t, int64_t>> along =
      staticAxis(x, getInt("axis", 0));
  if (failed(along))
    return failure();
  int64_t axis = along->first, n = along->second;
  Value result = extremePosition(x, axis, n, node->op_type() == "ArgMax",
                                 getInt("select_last_index", 0) != 0,
                                 getInt("keepdims", 1) != 0);
  return result ? setResult(result) : failure();
}

/// The first (or last) position along `axis` (of static size n) where x
/// equals its maximum (minimum); a NaN is the extreme, as in numpy.
Value ONNXImporter::extremePosition(Value x, int64_t axis, int64_t n,
                                    bool isMax, bool last, bool keepdims) {
  RankedTensorType type = typeOf(x);
  Value extreme = isMax ? reduce<llm::ReduceMaxOp>(x, {axis}, true)
                        : reduce<llm::ReduceMinOp>(x, {axis}, true);
  Value hit = emit<llm::EqualOp>({x, extreme});
  if (isa<FloatType>(type.getElementType()))
    hit = emit<llm::OrOp>({hit, emit<llm::NotOp>(emit<llm::EqualOp>({x, x}))});
  Value iota = positionsAlong(type.getRank(), axis, n);
  Type i64 = builder.getI64Type();
  Value candidates =
      emit<llm::WhereOp>({hit, iota, scalarOf(i64, last ? -1 : n)});
  return last ? reduce<llm::ReduceMaxOp>(candidates, {axis}, keepdims)
              : reduce<llm::ReduceMinOp>(candidates, {axis}, keepdims);
}

/// The rounds of a top-k along `axis` (of static size n): each takes the
/// largest (or smallest) element not yet taken, the lowest index among
/// equals (as ONNX orders ties). Taken elements read as the far end of the
/// order; only untaken ones can be picked, so a genuine -inf (or +inf)
/// still is, in its turn. O(k * n): for the small k of routers and sampling
/// heads.
ONNXImporter::TopKRounds ONNXImporter::topKRounds(Value x, int64_t axis,
                                                  int64_t n, int64_t k,
                                                  bool largest) {
  RankedTensorType type = typeOf(x);
  bool isFloat = isa<FloatType>(type.getElementType());
  Type i64 = builder.getI64Type();
  Value iota = positionsAlong(type.getRank(), axis, n);
  Value far = scalarOf(type.getElementType(),
                       isFloat ? (largest ? -INFINITY : INFINITY)
                       : largest ? static_cast<double>(INT64_MIN / 2)
                                 : static_cast<double>(INT64_MAX / 2));
  SmallVector<bool> none(n, false);
  TopKRounds rounds;
  rounds.taken = denseConstant(builder.getI1Type(), typeOf(iota).getShape(),
                               ArrayRef<bool>(none));
  for (int64_t round = 0; round < k; ++round) {
    Value current = emit<llm::WhereOp>({rounds.taken, far, x});
    Value extreme = largest
                        ? reduce<llm::ReduceMaxOp>(current, {axis}, true)
                        : reduce<llm::ReduceMinOp>(current, {axis}, true);
    Value hit = emit<llm::AndOp>({emit<llm::EqualOp>({current, extreme}),
                                  emit<llm::NotOp>(rounds.taken)});
    Value index = reduce<llm::ReduceMinOp>(
        emit<llm::WhereOp>({hit, iota, scalarOf(i64, n)}), {axis}, true);
    rounds.taken =
        emit<llm::OrOp>({rounds.taken, emit<llm::EqualOp>({iota, index})});
    rounds.values.push_back(extreme);
    rounds.indices.push_back(index);
  }
  return rounds;
}

/// TopK: topKRounds' values and indices concatenated along the axis, sorted.
LogicalResult ONNXImporter::importTopK() {
  if (failed(requireInputs(2)))
    return failure();
  Value x = input(0);
  FailureOr<int64_t> k = constantScalarInt(1, "K");
  if (failed(k))
    return failure();
  FailureOr<std::pair<int64_t, int64_t>> along =
      staticAxis(x, getInt("axis", -1));
  if (failed(along))
    return failure();
  int64_t axis = along->first, n = along->second;
  if (*k < 1 || *k > n)
    return error("K = " + Twine(*k) + " is not in 1.." + Twine(n));
  TopKRounds rounds = topKRounds(x, axis, n, *k, getInt("largest", 1) != 0);
  SmallVector<Value> &values = rounds.values, &indices = rounds.indices;
  if (llvm::any_of(values, [](Value v) { return !v; }) ||
      llvm::any_of(indices, [](Value v) { return !v; }))
    return failure();
  auto concat = [&](ValueRange pieces) -> FailureOr<Value> {
    if (pieces.size() == 1)
      return pieces.front();
    return create<llm::ConcatOp>(
        pieces, {namedAttr("axis", builder.getI64IntegerAttr(axis))});
  };
  FailureOr<Value> topValues = concat(values), topIndices = concat(indices);
  if (failed(topValues) || failed(topIndices))
    return failure();
  results.push_back(*topValues);
  results.push_back(*topIndices);
  return success();
}

namespace {
/// The flat offset in `data` of each element of an index tensor of shape
/// `shape` along `axis` (ScatterElements, GatherElements), without the
/// axis term: the sum of the element's other coordinates times the data's
/// strides.
SmallVector<int64_t> offsetsBesideAxis(ArrayRef<int64_t> shape,
                                       ArrayRef<int64_t> dataStrides,
                                       int64_t axis) {
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  SmallVector<int64_t> offsets(count, 0);
  SmallVector<int64_t> indexStrides = computeStrides(shape);
  for (int64_t i = 0; i < count; ++i)
    for (size_t d = 0; d < shape.size(); ++d)
      if (static_cast<int64_t>(d) != axis)
        offsets[i] += (i / indexStrides[d]) % shape[d] * dataStrides[d];
  return offsets;
}
} // namespace

/// GatherElements: data read at flat offsets, the index along the axis
/// (negative ones from the end) times the axis stride plus the other
/// coordinates' offsets; one llm.gather of the flattened data.
/// GatherND: each index tuple (the last dim of `indices`, k entries) names a
/// slice of `data` within its batch (the first batch_dims dims, shared by
/// data and indices). The data becomes rows of those slices, the tuples row
/// numbers computed in the graph (negative entries wrapped), and one gather
/// reads them, for constant and run-time indices alike.
LogicalResult ONNXImporter::importGatherND() {
  if (failed(requireInputs(2)))
    return failure();
  Value data = input(0), indices = input(1);
  RankedTensorType dataType = typeOf(data), indexType = typeOf(indices);
  int64_t batchDims = getInt("batch_dims", 0);
  int64_t rank = dataType.getRank(), indexRank = indexType.getRank();
  if (indexRank < 1 || !indexType.getElementType().isInteger())
    return error("expects integer indices of rank 1 or more");
  int64_t depth = indexType.getShape().back();
  if (batchDims < 0 || batchDims >= std::min(rank, indexRank) ||
      batchDims + depth > rank || depth < 1)
    return error("batch_dims " + Twine(batchDims) + " and index tuples of " +
                 Twine(depth) + " entries do not fit data of rank " +
                 Twine(rank) + " and indices of rank " + Twine(indexRank));
  ArrayRef<int64_t> shape = dataType.getShape();
  if (shape.take_front(batchDims) != indexType.getShape().take_front(batchDims))
    return error("the batch dims of data " + shapeString(shape) +
                 " and indices " + shapeString(indexType.getShape()) +
                 " differ");
  int64_t batches = computeProduct(shape.take_front(batchDims));
  ArrayRef<int64_t> indexed = shape.slice(batchDims, depth);
  int64_t perBatch = computeProduct(indexed);
  SmallVector<int64_t> sliceShape(shape.drop_front(batchDims + depth));
  int64_t slice = computeProduct(sliceShape);
  int64_t tuples = indexType.getNumElements() / depth;
  int64_t tuplesPerBatch = tuples / std::max<int64_t>(batches, 1);

  Value rows = tupleRows(indices, indexed);
  // Each tuple's batch, as a row offset.
  SmallVector<int64_t> offsets;
  for (int64_t t = 0; t < tuples; ++t)
    offsets.push_back(t / std::max<int64_t>(tuplesPerBatch, 1) * perBatch);
  if (batches > 1)
    rows = emit<llm::AddOp>({rows, indexConstant({tuples}, offsets)});
  FailureOr<Value> table = reshape(data, {batches * perBatch, slice});
  if (!rows || failed(table))
    return failure();
  FailureOr<Value> gathered = create<llm::GatherOp>(
      {*table, rows}, {namedAttr("axis", builder.getI64IntegerAttr(0))});
  if (failed(gathered))
    return failure();
  SmallVector<int64_t> resultShape(indexType.getShape().drop_back());
  llvm::append_range(resultShape, sliceShape);
  return setResult(reshape(*gathered, resultShape));
}

/// The flat position in data of `dataShape` that each element of `indices`
/// names along `axis` (the element's other coordinates kept, negative
/// indices counted from the end): GatherElements' and ScatterElements'
/// targets.
Value ONNXImporter::elementTargets(Value indices, ArrayRef<int64_t> dataShape,
                                   int64_t axis) {
  Type i64 = builder.getI64Type();
  Value index = castTo(indices, i64).value_or(Value());
  SmallVector<int64_t> strides = computeStrides(dataShape);
  Value negative = emit<llm::LessOp>({index, scalarOf(i64, 0)});
  index = emit<llm::WhereOp>(
      {negative, emit<llm::AddOp>({index, scalarOf(i64, dataShape[axis])}),
       index});
  if (strides[axis] != 1)
    index = emit<llm::MulOp>({index, scalarOf(i64, strides[axis])});
  ArrayRef<int64_t> indexShape = typeOf(indices).getShape();
  return emit<llm::AddOp>(
      {index, indexConstant(indexShape,
                            offsetsBesideAxis(indexShape, strides, axis))});
}

/// The row of a [prod(indexed), ...] table that each index tuple (the last
/// dim of `indices`, one entry per dim of `indexed`) names, negative
/// entries counted from the end: GatherND's and ScatterND's rows, [N].
Value ONNXImporter::tupleRows(Value indices, ArrayRef<int64_t> indexed) {
  int64_t depth = indexed.size();
  int64_t tuples = typeOf(indices).getNumElements() / depth;
  FailureOr<Value> index = castTo(indices, builder.getI64Type());
  FailureOr<Value> flat = succeeded(index) ? reshape(*index, {tuples, depth})
                                           : FailureOr<Value>(failure());
  if (failed(flat))
    return {};
  Value wrapped = emit<llm::WhereOp>(
      {emit<llm::LessOp>({*flat, scalarOf(builder.getI64Type(), 0)}),
       emit<llm::AddOp>({*flat, indexConstant({1, depth}, indexed)}), *flat});
  return reduce<llm::ReduceSumOp>(
      emit<llm::MulOp>(
          {wrapped, indexConstant({1, depth}, computeStrides(indexed))}),
      {1}, /*keepdims=*/false);
}

LogicalResult ONNXImporter::importGatherElements() {
  if (failed(requireInputs(2)))
    return failure();
  Value data = input(0), indices = input(1);
  RankedTensorType dataType = typeOf(data), indexType = typeOf(indices);
  if (!dataType.hasStaticShape() || !indexType.hasStaticShape())
    return error("GatherElements needs static shapes");
  if (dataType.getRank() != indexType.getRank())
    return error("GatherElements needs indices of the data's rank");
  FailureOr<int64_t> axis =
      normalizeAxis(getInt("axis", 0), dataType.getRank());
  if (failed(axis))
    return failure();
  Value flat = elementTargets(indices, dataType.getShape(), *axis);
  FailureOr<Value> flatData = reshape(data, {dataType.getNumElements()});
  if (failed(flatData) || !flat)
    return failure();
  return setResult(create<llm::GatherOp>(
      {*flatData, flat}, {namedAttr("axis", builder.getI64IntegerAttr(0))}));
}

/// Scatter with indices known only at run time: the data as [R, S] rows,
/// one run-time row index per update (`rows` [N], in range or never
/// matched), the updates as [N, S]. Without a reduction, each row takes its
/// last update (a one-hot comparison [R, N], the largest matching update
/// index, one gather); with one, the updates apply in order, one select per
/// update.
Value ONNXImporter::scatterRows(Value data, Value rows, Value updates,
                                StringRef reduction) {
  RankedTensorType dataType = typeOf(data);
  int64_t count = dataType.getDimSize(0);
  int64_t updateCount = typeOf(rows).getDimSize(0);
  Value rowIds = indexConstant(
      {count, 1}, llvm::to_vector(llvm::seq<int64_t>(0, count)));
  if (reduction == "none") {
    FailureOr<Value> wide = reshape(rows, {1, updateCount});
    if (failed(wide))
      return {};
    Value hits = emit<llm::EqualOp>({rowIds, *wide});
    Value order = indexConstant(
        {1, updateCount}, llvm::to_vector(llvm::seq<int64_t>(0, updateCount)));
    Value none = scalarOf(builder.getI64Type(), -1);
    Value last = reduce<llm::ReduceMaxOp>(
        emit<llm::WhereOp>({hits, order, none}), {1}, /*keepdims=*/true);
    if (!last)
      return {};
    Value written = emit<llm::GreaterEqualOp>(
        {last, scalarOf(builder.getI64Type(), 0)});
    Value source = emit<llm::MaxOp>({last, scalarOf(builder.getI64Type(), 0)});
    FailureOr<Value> flatSource = source ? reshape(source, {count})
                                         : FailureOr<Value>(failure());
    if (failed(flatSource))
      return {};
    FailureOr<Value> taken = create<llm::GatherOp>(
        {updates, *flatSource},
        {namedAttr("axis", builder.getI64IntegerAttr(0))});
    if (failed(taken))
      return {};
    return emit<llm::WhereOp>({written, *taken, data});
  }
  Value result = data;
  for (int64_t n = 0; n < updateCount && result; ++n) {
    auto row = [&](Value value) { return sliceAlong(value, 0, n, n + 1); };
    FailureOr<Value> column = reshape(rows, {updateCount, 1});
    if (failed(column))
      return {};
    Value hit = emit<llm::EqualOp>({rowIds, row(*column)});
    Value update = row(updates);
    Value combined = reduction == "add"   ? emit<llm::AddOp>({result, update})
                     : reduction == "mul" ? emit<llm::MulOp>({result, update})
                     : reduction == "max" ? emit<llm::MaxOp>({result, update})
                                          : emit<llm::MinOp>({result, update});
    result = emit<llm::WhereOp>({hit, combined, result});
  }
  return result;
}

/// ScatterND and ScatterElements whose indices are computed at run time (a
/// KV-cache write at a position input): the flat row each update lands on
/// is computed in the graph, negative indices wrapped, then scatterRows.
LogicalResult ONNXImporter::importScatterAtRunTime(StringRef reduction) {
  StringRef opType = node->op_type();
  Value data = input(0), indices = input(1), updates = input(2);
  RankedTensorType dataType = typeOf(data), indexType = typeOf(indices);
  ArrayRef<int64_t> shape = dataType.getShape();
  SmallVector<int64_t> strides = computeStrides(shape);
  int64_t rank = dataType.getRank();
  int64_t slice = 1, updateCount = 0;
  Value rows;
  if (opType == "ScatterND") {
    int64_t depth = indexType.getShape().back();
    if (indexType.getRank() < 1 || depth < 1 || depth > rank)
      return error("ScatterND's index tuples must have 1 to " + Twine(rank) +
                   " entries");
    updateCount = indexType.getNumElements() / depth;
    slice = strides[depth - 1];
    if (updateCount * slice != typeOf(updates).getNumElements())
      return error("ScatterND's updates do not match its indices");
    rows = tupleRows(indices, shape.take_front(depth));
  } else {
    FailureOr<int64_t> axis = normalizeAxis(getInt("axis", 0), rank);
    if (failed(axis))
      return failure();
    if (indexType.getShape() != typeOf(updates).getShape() ||
        indexType.getRank() != rank)
      return error(opType + " needs indices and updates of one shape, of the "
                            "data's rank");
    updateCount = indexType.getNumElements();
    Value targets = elementTargets(indices, shape, *axis);
    FailureOr<Value> flat = targets ? reshape(targets, {updateCount})
                                    : FailureOr<Value>(failure());
    if (failed(flat))
      return failure();
    rows = *flat;
  }
  int64_t count = dataType.getNumElements() / std::max<int64_t>(slice, 1);
  if (count * updateCount > kMaxGeneratedElements ||
      (reduction != "none" && updateCount > kMaxUnrolledIterations))
    return error(opType + " with run-time indices writes " +
                 Twine(updateCount) + " updates into " + Twine(count) +
                 " rows: more than the importer builds");
  FailureOr<Value> table = reshape(data, {count, slice});
  FailureOr<Value> values = reshape(updates, {updateCount, slice});
  if (!rows || failed(table) || failed(values))
    return failure();
  Value result = scatterRows(*table, rows, *values, reduction);
  if (!result)
    return failure();
  return setResult(reshape(result, shape));
}

/// Whether `column` ([g..., 1], or [g...]) counts start + i_d along dim d of
/// the grid `grid` and is the same along the others; its start if so. The
/// column is a constant or an expanded (and unsqueezed) one, as torch
/// writes the aranges of a slice assignment's index grid.
static std::optional<int64_t>
gridColumnStart(Value column, ArrayRef<int64_t> grid, int64_t d) {
  int64_t rank = grid.size();
  Value value = column;
  auto shapeOf = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getShape();
  };
  // The rank that `value` broadcasts into: [g..., 1], or [g...] under the
  // unsqueeze.
  int64_t alignRank = rank + 1;
  if (auto reshape = value.getDefiningOp<llm::ReshapeOp>();
      reshape && shapeOf(reshape.getInput()) == grid) {
    value = reshape.getInput();
    alignRank = rank;
  }
  if (auto expand = value.getDefiningOp<llm::ExpandOp>()) {
    alignRank = shapeOf(expand.getResult()).size();
    value = expand.getInput();
  }
  std::optional<SmallVector<int64_t>> ints = constantIntsOf(value);
  ArrayRef<int64_t> shape = shapeOf(value);
  if (!ints || ints->empty() || static_cast<int64_t>(shape.size()) > alignRank)
    return std::nullopt;
  SmallVector<int64_t> aligned(alignRank - shape.size(), 1);
  aligned.append(shape.begin(), shape.end());
  if (alignRank == rank + 1) {
    if (aligned.back() != 1)
      return std::nullopt;
    aligned.pop_back();
  }
  for (int64_t e = 0; e < rank; ++e)
    if (aligned[e] != grid[e] && aligned[e] != 1)
      return std::nullopt;
  if (aligned[d] != grid[d])
    return std::nullopt;
  int64_t start = ints->front();
  int64_t stride = 1;
  for (int64_t e = d + 1; e < rank; ++e)
    stride *= aligned[e];
  for (auto [flat, v] : llvm::enumerate(*ints))
    if (v != start + static_cast<int64_t>(flat) / stride % aligned[d])
      return std::nullopt;
  return start;
}

/// The starts of the box of the data's first K dims that a ScatterND's
/// indices [g_0, ..., g_{K-1}, K] enumerate, as torch writes a slice
/// assignment x[a:b, ...] = y: K columns concatenated along the last axis,
/// column d counting start_d + i_d along dim d (gridColumnStart). Nullopt
/// for other indices or a box outside the data.
std::optional<SmallVector<int64_t>>
ONNXImporter::indexBox(Value indices, ArrayRef<int64_t> dataShape) {
  auto concat = indices.getDefiningOp<llm::ConcatOp>();
  RankedTensorType type = typeOf(indices);
  if (!concat || !type.hasStaticShape() || type.getRank() < 2)
    return std::nullopt;
  int64_t depth = type.getShape().back();
  ArrayRef<int64_t> grid = type.getShape().drop_back();
  if (static_cast<int64_t>(concat.getAxis()) != type.getRank() - 1 ||
      static_cast<int64_t>(concat.getInputs().size()) != depth ||
      static_cast<int64_t>(grid.size()) != depth ||
      depth > static_cast<int64_t>(dataShape.size()))
    return std::nullopt;
  SmallVector<int64_t> starts;
  for (auto [d, column] : llvm::enumerate(concat.getInputs())) {
    std::optional<int64_t> start = gridColumnStart(column, grid, d);
    if (!start || *start < 0 || *start + grid[d] > dataShape[d])
      return std::nullopt;
    starts.push_back(*start);
  }
  return starts;
}

/// `data` with `updates` (of the box's shape) written at `starts`: slices of
/// the data before and after the box concatenated around it, one dim at a
/// time from `from`.
Value ONNXImporter::insertBox(Value data, Value updates,
                              ArrayRef<int64_t> starts, ArrayRef<int64_t> box,
                              int64_t from) {
  ArrayRef<int64_t> shape = typeOf(data).getShape();
  for (int64_t d = from, n = starts.size(); d < n; ++d) {
    if (starts[d] == 0 && box[d] == shape[d])
      continue;
    int64_t end = starts[d] + box[d];
    Value inner = insertBox(sliceAlong(data, d, starts[d], end), updates,
                            starts, box, d + 1);
    SmallVector<Value> parts;
    if (starts[d] > 0)
      parts.push_back(sliceAlong(data, d, 0, starts[d]));
    parts.push_back(inner);
    if (end < shape[d])
      parts.push_back(sliceAlong(data, d, end, shape[d]));
    return parts.size() == 1 ? inner : concatAlong(parts, d);
  }
  return updates;
}

//===----------------------------------------------------------------------===//
// NonZero
//===----------------------------------------------------------------------===//

/// Whether `value` is a constant whose bytes are all zero (+0.0 for
/// floats).
static bool isZeroConstant(Value value) {
  auto constant = value.getDefiningOp<llm::ConstantOp>();
  if (!constant)
    return false;
  ArrayRef<char> bytes;
  if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue())) {
    if (dense.getElementType().isInteger(1))
      return false;
    bytes = dense.getRawData();
  } else if (auto resource =
                 dyn_cast<DenseResourceElementsAttr>(constant.getValue())) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return false;
    bytes = blob->getData();
  } else {
    return false;
  }
  return llvm::all_of(bytes, [](char byte) { return byte == 0; });
}

/// NonZero: [rank, count] indices of the nonzero elements in row-major
/// order. Of an input known at compile time, exactly that. Otherwise its
/// count depends on the input's values and llmc compiles static shapes, so
/// the result is padded: every position of the input in row-major order
/// ([rank, N], N its element count), with [N] flags saying which are
/// nonzero. The padding is sound only where no result depends on the rows
/// past the count: the rows are followed (propagateIndexRows) through ops
/// that compute each row alone (elementwise ops, matrix products, gathers,
/// reshapes, transposes, slices and normalizations off the rows' axis) into
/// a ScatterElements or ScatterND, whose updates of positions that are zero
/// are dropped (importMaskedScatter). Any other use of the rows, or of their
/// padded count (a Shape or Size of them), is an error naming the op.
/// Hugging Face's eager mixture of experts (Mixtral, Qwen-MoE, OLMoE) is
/// this form: torch.where(expert_mask[e]) picks the tokens routed to expert
/// e, whose results are scattered back. Padded, every expert runs on every
/// (choice, token) pair and the pairs not routed to it are dropped.
LogicalResult ONNXImporter::importNonZero() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  if (!type.hasStaticShape())
    return error("needs a static input shape");
  int64_t rank = type.getRank(), count = type.getNumElements();
  if (rank == 0)
    return error("of a scalar is not supported");
  ArrayRef<int64_t> shape = type.getShape();
  SmallVector<int64_t> strides = computeStrides(shape);
  auto tuples = [&](ArrayRef<int64_t> flat) {
    int64_t n = flat.size();
    SmallVector<int64_t> indices(rank * n);
    for (auto [j, position] : llvm::enumerate(flat))
      for (int64_t d = 0; d < rank; ++d)
        indices[d * n + j] = position / strides[d] % shape[d];
    return indexConstant({rank, n}, indices);
  };
  if (std::optional<SmallVector<double>> values = evaluate(known(x))) {
    SmallVector<int64_t> flat;
    for (auto [position, v] : llvm::enumerate(*values))
      if (v != 0)
        flat.push_back(position);
    return setResult(tuples(flat));
  }
  Value flat = orNull(reshape(x, {count}));
  Value valid = type.getElementType().isInteger(1)
                    ? flat
                    : emit<llm::NotOp>({emit<llm::EqualOp>(
                          {flat, scalarOf(type.getElementType(), 0)})});
  if (!valid)
    return failure();
  SmallVector<int64_t> all(count);
  std::iota(all.begin(), all.end(), 0);
  if (failed(setResult(tuples(all))))
    return failure();
  indexRows[node->output(0)] = {cast<NameLoc>(nodeLoc).getName().str(),
                                /*axis=*/1, valid};
  return success();
}

const ONNXImporter::IndexRows *ONNXImporter::indexRowsOf(unsigned index) const {
  if (index >= static_cast<unsigned>(node->input_size()))
    return nullptr;
  auto it = indexRows.find(node->input(index));
  return it == indexRows.end() ? nullptr : &it->second;
}

LogicalResult ONNXImporter::requireKnownCount(StringRef name,
                                              const Twine &what) {
  std::string source;
  if (auto it = indexRows.find(name); it != indexRows.end())
    source = it->second.source;
  else if (auto it = paddedCounts.find(name); it != paddedCounts.end())
    source = it->second;
  else
    return success();
  return error(what + " depends on how many nonzero elements NonZero '" +
               source +
               "' finds, and llmc compiles static shapes (a NonZero's rows "
               "may only be scattered into a tensor of a known shape)");
}

/// Follows a NonZero's padded rows through the node just imported: sets the
/// axis of the rows in each result, or fails where a result would depend on
/// the rows past the nonzero count.
LogicalResult ONNXImporter::propagateIndexRows(bool defaultDomain) {
  std::string source;
  SmallVector<int64_t> rowAxis(node->input_size(), -1);
  SmallVector<bool> counted(node->input_size(), false);
  bool anyRows = false, anyCounted = false;
  Value valid;
  for (int i = 0; i < node->input_size(); ++i) {
    StringRef name = node->input(i);
    std::string from;
    if (auto it = indexRows.find(name); it != indexRows.end()) {
      rowAxis[i] = it->second.axis;
      valid = it->second.valid;
      from = it->second.source;
      anyRows = true;
    }
    if (auto it = paddedCounts.find(name); it != paddedCounts.end()) {
      counted[i] = true;
      anyCounted = true;
      from = it->second;
    }
    if (from.empty())
      continue;
    if (!source.empty() && source != from)
      return error("combines values indexed by NonZero '" + source +
                   "' and by NonZero '" + from +
                   "', whose nonzero counts llmc does not know");
    source = from;
  }
  if (!anyRows && !anyCounted)
    return success();
  StringRef op = node->op_type();
  auto unsupported = [&](const Twine &why) {
    return error("reads the rows of NonZero '" + source + "' " + why +
                 ": llmc pads NonZero to every position of its input and "
                 "follows the rows only through ops that compute each row "
                 "alone into a ScatterElements or ScatterND");
  };
  auto rankOf = [&](unsigned i) { return typeOf(inputs[i]).getRank(); };
  auto shapeOf = [&](Value v) { return typeOf(v).getShape(); };
  // Only the padded count reaches this node: everything it computes
  // depends on it.
  if (!anyRows) {
    for (int i = 0; i < node->output_size(); ++i)
      if (!node->output(i).empty())
        paddedCounts[node->output(i)] = source;
    return success();
  }
  int64_t rows = cast<RankedTensorType>(valid.getType()).getDimSize(0);
  // Sets every result's rows axis (or none, -1), and marks the results
  // counted when `countedResult`.
  auto finish = [&](ArrayRef<int64_t> axes,
                    bool countedResult) -> LogicalResult {
    for (auto [i, value] : llvm::enumerate(results)) {
      if (i >= static_cast<size_t>(node->output_size()) ||
          node->output(i).empty() || !value)
        continue;
      int64_t axis = axes.size() == 1 ? axes[0] : axes[i];
      if (axis >= 0) {
        ArrayRef<int64_t> shape = shapeOf(value);
        if (axis >= static_cast<int64_t>(shape.size()) || shape[axis] != rows)
          return unsupported("in a result that does not keep them");
        indexRows[node->output(i)] = {source, axis, valid};
      }
      if (countedResult)
        paddedCounts[node->output(i)] = source;
    }
    return success();
  };
  bool countedInput = anyCounted;
  if (!defaultDomain)
    return unsupported("in an op outside the default domain");

  static const llvm::StringSet<> elementwise = {"Add",
                                                "Sub",
                                                "Mul",
                                                "Div",
                                                "Pow",
                                                "Mod",
                                                "Max",
                                                "Min",
                                                "Sum",
                                                "Equal",
                                                "Less",
                                                "LessOrEqual",
                                                "Greater",
                                                "GreaterOrEqual",
                                                "And",
                                                "Or",
                                                "Xor",
                                                "Not",
                                                "Where",
                                                "Exp",
                                                "Log",
                                                "Tanh",
                                                "Erf",
                                                "Sqrt",
                                                "Reciprocal",
                                                "Neg",
                                                "Abs",
                                                "Relu",
                                                "Sigmoid",
                                                "Sin",
                                                "Cos",
                                                "Tan",
                                                "Asin",
                                                "Acos",
                                                "Atan",
                                                "Sinh",
                                                "Cosh",
                                                "Asinh",
                                                "Acosh",
                                                "Atanh",
                                                "Shrink",
                                                "Floor",
                                                "Ceil",
                                                "Cast",
                                                "CastLike",
                                                "Identity",
                                                "Dropout",
                                                "Clip",
                                                "Softplus",
                                                "Softsign",
                                                "LeakyRelu",
                                                "Elu",
                                                "Selu",
                                                "Celu",
                                                "HardSigmoid",
                                                "HardSwish",
                                                "Mish",
                                                "Swish",
                                                "ThresholdedRelu",
                                                "Sign",
                                                "Round",
                                                "IsNaN",
                                                "IsInf",
                                                "Gelu",
                                                "PRelu"};
  static const llvm::StringSet<> reshapes = {"Reshape", "Flatten", "Squeeze",
                                             "Unsqueeze"};
  if (elementwise.contains(op)) {
    int64_t resultRank = shapeOf(results[0]).size(), axis = -1;
    for (auto [i, a] : llvm::enumerate(rowAxis)) {
      if (a < 0 || (op == "CastLike" && i == 1))
        continue;
      int64_t aligned = a + resultRank - rankOf(i);
      if (axis >= 0 && aligned != axis)
        return unsupported("on two different axes");
      axis = aligned;
    }
    for (auto [i, a] : llvm::enumerate(rowAxis)) {
      if (a >= 0 || !inputs[i] || (op == "CastLike" && i == 1))
        continue;
      int64_t at = axis - (resultRank - rankOf(i));
      if (at >= 0 && shapeOf(inputs[i])[at] != 1)
        return unsupported("against a tensor that is not indexed by them but "
                           "has their length");
    }
    return finish({axis}, countedInput);
  }
  if (op == "MatMul") {
    int64_t a = rowAxis[0], b = rowAxis[1];
    int64_t rankA = rankOf(0), rankB = rankOf(1);
    int64_t resultRank = shapeOf(results[0]).size();
    if (a >= 0 && b >= 0)
      return unsupported("in both operands of a product");
    if (a >= 0) {
      if (rankA < 2 || a == rankA - 1)
        return unsupported("along the axis the product sums");
      int64_t axis = a + resultRank - rankA;
      int64_t at = axis - (resultRank - rankB);
      if (a < rankA - 2 && at >= 0 && shapeOf(inputs[1])[at] != 1)
        return unsupported("against a tensor that is not indexed by them but "
                           "has their length");
      return finish({axis}, countedInput);
    }
    if (rankB < 2 || b != rankB - 1)
      return unsupported("along the axis the product sums or a batch axis");
    return finish({resultRank - 1}, countedInput);
  }
  if (op == "Gemm") {
    if (rowAxis[0] != 0 || getInt("transA", 0) || rowAxis[1] >= 0 ||
        (node->input_size() > 2 && rowAxis[2] >= 0))
      return unsupported("in an operand other than A's rows");
    if (inputs.size() > 2 && inputs[2] && rankOf(2) == 2 &&
        shapeOf(inputs[2])[0] != 1)
      return unsupported("against a bias that is not indexed by them but has "
                         "their length");
    return finish({0}, countedInput);
  }
  if (reshapes.contains(op)) {
    for (auto [i, a] : llvm::enumerate(rowAxis))
      if (i > 0 && a >= 0)
        return unsupported("as a shape or axes");
    if (rowAxis[0] < 0)
      return finish({-1}, true);
    ArrayRef<int64_t> in = shapeOf(inputs[0]), out = shapeOf(results[0]);
    int64_t before = 1;
    for (int64_t d = 0; d < rowAxis[0]; ++d)
      before *= in[d];
    int64_t product = 1;
    for (auto [j, size] : llvm::enumerate(out)) {
      if (product == before && size == rows)
        return finish({static_cast<int64_t>(j)}, counted[0]);
      product *= size;
    }
    return unsupported("in a reshape that merges or splits their axis");
  }
  if (op == "Expand") {
    if (rowAxis[0] < 0 || rowAxis[1] >= 0)
      return unsupported("as a shape");
    return finish({rowAxis[0] +
                   static_cast<int64_t>(shapeOf(results[0]).size()) -
                   rankOf(0)},
                  counted[0]);
  }
  if (op == "Transpose") {
    int64_t rank = rankOf(0);
    SmallVector<int64_t> perm;
    if (std::optional<SmallVector<int64_t>> given = getInts("perm"))
      perm = *given;
    else
      for (int64_t d = rank - 1; d >= 0; --d)
        perm.push_back(d);
    for (auto [j, from] : llvm::enumerate(perm))
      if (from == rowAxis[0])
        return finish({static_cast<int64_t>(j)}, countedInput);
    return unsupported("in a transpose");
  }
  if (op == "Gather") {
    int64_t rank = rankOf(0);
    int64_t axis = getInt("axis", 0);
    if (axis < 0)
      axis += rank;
    int64_t data = rowAxis[0], indices = rowAxis[1];
    if (data >= 0 && indices >= 0)
      return unsupported("in both the data and the indices of a gather");
    if (indices >= 0)
      return finish({axis + indices}, countedInput);
    if (data == axis)
      return unsupported("by gathering along their axis");
    return finish({data < axis ? data : data + rankOf(1) - 1}, countedInput);
  }
  if (op == "Split") {
    int64_t axis = getInt("axis", 0);
    if (axis < 0)
      axis += rankOf(0);
    if (rowAxis[0] < 0 || rowAxis[0] == axis)
      return unsupported("by splitting along their axis or by their sizes");
    return finish({rowAxis[0]}, countedInput);
  }
  if (op == "Slice") {
    if (llvm::any_of(llvm::drop_begin(rowAxis),
                     [](int64_t a) { return a >= 0; }))
      return unsupported("as slice bounds");
    int64_t rank = rankOf(0);
    SmallVector<int64_t> axes;
    if (inputs.size() > 3 && inputs[3]) {
      std::optional<SmallVector<int64_t>> given = compileTimeInts(inputs[3]);
      if (!given)
        return unsupported("in a slice whose axes are not known");
      axes = *given;
    } else {
      for (int64_t d = 0; d < typeOf(inputs[1]).getNumElements(); ++d)
        axes.push_back(d);
    }
    for (int64_t axis : axes)
      if ((axis < 0 ? axis + rank : axis) == rowAxis[0])
        return unsupported("by slicing along their axis");
    return finish({rowAxis[0]}, countedInput);
  }
  if (op == "Concat") {
    int64_t axis = getInt("axis", 0);
    if (axis < 0)
      axis += rankOf(0);
    if (llvm::any_of(rowAxis, [&](int64_t a) { return a != rowAxis[0]; }))
      return unsupported("joined with a tensor that is not indexed by them");
    if (rowAxis[0] == axis)
      return unsupported("by joining along their axis");
    return finish({rowAxis[0]}, countedInput);
  }
  if (op == "Shape" || op == "Size")
    return finish({-1}, true);
  if (op == "Softmax" || op == "LogSoftmax" || op == "LayerNormalization" ||
      op == "SimplifiedLayerNormalization" || op == "RMSNormalization") {
    int64_t rank = rankOf(0), a = rowAxis[0];
    bool softmax = op.ends_with("Softmax");
    bool coerced = softmax && findAttr(kCoerced2DAttr);
    int64_t axis = getInt("axis", coerced ? 1 : -1);
    if (axis < 0)
      axis += rank;
    if (a < 0 || llvm::any_of(llvm::drop_begin(rowAxis),
                              [](int64_t b) { return b >= 0; }))
      return unsupported("as a scale or bias");
    // Softmax since opset 13 normalizes along axis alone; the others, and
    // Softmax coerced to 2-D, from axis to the last.
    if (softmax && !coerced ? a == axis : a >= axis)
      return unsupported("by normalizing across them");
    return finish({a}, countedInput);
  }
  if (op == "ScatterElements" || op == "ScatterND") {
    // importMaskedScatter checked and masked the rows; the result holds
    // only the nonzero positions' updates.
    if (countedInput)
      return unsupported("with a value computed from their count");
    return finish({-1}, false);
  }
  return unsupported("in an op that may combine them (" + op + ")");
}

/// A ScatterElements or ScatterND of a NonZero's padded rows: the updates
/// of the positions that are zero are dropped. With reduction add they add
/// zero; with none (torch's index_add_ and index_copy_, which assume
/// distinct indices) each element takes the one nonzero position's update
/// that reaches it (their sum, where several do), or keeps its value.
LogicalResult ONNXImporter::importMaskedScatter(const IndexRows &rows) {
  StringRef opType = node->op_type();
  std::string reduction = getString("reduction", "none");
  auto unsupported = [&](const Twine &why) {
    return error("scatters the rows of NonZero '" + rows.source + "' " + why +
                 ": llmc pads NonZero to every position of its input and "
                 "drops the rows past its count only where they are the "
                 "updates and the indices, along one axis");
  };
  if (reduction != "none" && reduction != "add")
    return unsupported("with reduction '" + reduction + "'");
  if (indexRows.count(node->input(0)) || paddedCounts.count(node->input(0)))
    return unsupported("into data computed from them");
  const IndexRows *indices = indexRowsOf(1);
  int64_t axis = rows.axis;
  bool aligned = false;
  if (opType == "ScatterElements") {
    int64_t scatterAxis = getInt("axis", 0);
    if (scatterAxis < 0)
      scatterAxis += typeOf(input(0)).getRank();
    aligned = indices && indices->axis == axis && axis == scatterAxis;
  } else {
    aligned = indices && indices->axis == axis &&
              axis < typeOf(input(1)).getRank() - 1;
  }
  if (!aligned)
    return unsupported("whose indices are not the same rows");
  RankedTensorType updateType = typeOf(input(2));
  Type element = updateType.getElementType();
  if (element.isInteger(1))
    return unsupported("of booleans");
  SmallVector<int64_t> flagShape(updateType.getRank(), 1);
  flagShape[axis] = updateType.getDimSize(axis);
  Value flags = orNull(reshape(rows.valid, flagShape));
  Value zeros = zerosOf(updateType);
  Value masked = emit<llm::WhereOp>({flags, input(2), zeros});
  if (!masked)
    return failure();
  Value data = input(0), index = input(1);
  SmallVector<Value> given = inputs;
  llvm::scope_exit restore([&] { inputs = given; });
  auto scatterAdd = [&](Value into, Value updates) -> Value {
    inputs = {into, index, updates};
    results.clear();
    scatterReduction = "add";
    LogicalResult done = importScatter();
    scatterReduction.reset();
    Value result = succeeded(done) && !results.empty() ? results[0] : Value();
    results.clear();
    return result;
  };
  if (reduction == "add")
    return setResult(orNull(scatterAdd(data, masked)));
  RankedTensorType dataType = typeOf(data);
  Value dataZeros = zerosOf(dataType);
  Value sum = scatterAdd(dataZeros, masked);
  // torch's index_add_ scatters into zeros: nothing to keep.
  if (isZeroConstant(data))
    return setResult(orNull(sum));
  Value ones = createConstant(
      DenseElementsAttr::get(updateType,
                             element.isInteger()
                                 ? Attribute(builder.getIntegerAttr(element, 1))
                                 : builder.getFloatAttr(element, 1.0)),
      nodeLoc);
  Value reached =
      scatterAdd(dataZeros, emit<llm::WhereOp>({flags, ones, zeros}));
  Value written =
      emit<llm::NotOp>({emit<llm::EqualOp>({reached, scalarOf(element, 0)})});
  return setResult(orNull(emit<llm::WhereOp>({written, sum, data})));
}

/// ScatterElements and ScatterND with compile-time
/// indices: each output element's updates are known when compiling, so the
/// scatter becomes gathers of the flattened updates and selects, one round
/// per update landing on the same element (reduction none keeps the last,
/// add, mul, max and min combine them with the data). Updates that are a
/// NonZero's padded rows go through importMaskedScatter first.
LogicalResult ONNXImporter::importScatter() {
  if (failed(requireInputs(3)))
    return failure();
  StringRef opType = node->op_type();
  Value data = input(0), updates = input(2);
  RankedTensorType dataType = typeOf(data), updateType = typeOf(updates);
  if (!dataType.hasStaticShape() || !updateType.hasStaticShape())
    return error(opType + " needs static shapes");
  if (!scatterReduction)
    if (const IndexRows *rows = indexRowsOf(2))
      return importMaskedScatter(*rows);
  std::string reduction =
      scatterReduction ? *scatterReduction : getString("reduction", "none");
  if (reduction != "none" && reduction != "add" && reduction != "mul" &&
      reduction != "max" && reduction != "min")
    return error("unknown reduction '" + reduction + "'");
  if (!typeOf(input(1)).getElementType().isInteger())
    return error("expects integer indices");
  // A slice assignment's index grid, too large to fold into a constant at
  // long sequences (Hugging Face's causal mask update), is a box insert.
  if (opType == "ScatterND" && reduction == "none")
    if (std::optional<SmallVector<int64_t>> starts =
            indexBox(known(input(1)), dataType.getShape())) {
      SmallVector<int64_t> box(typeOf(input(1)).getShape().drop_back());
      ArrayRef<int64_t> dataShape = dataType.getShape();
      box.append(dataShape.begin() + starts->size(), dataShape.end());
      FailureOr<Value> block = reshape(updates, box);
      if (failed(block))
        return failure();
      return setResult(insertBox(data, *block, *starts, box, 0));
    }
  if (!compileTimeInts(input(1)))
    return importScatterAtRunTime(reduction);
  FailureOr<SmallVector<int64_t>> indices = constantInts(1, "indices");
  if (failed(indices))
    return failure();
  RankedTensorType indexType = typeOf(known(input(1)));
  ArrayRef<int64_t> shape = dataType.getShape();
  SmallVector<int64_t> strides = computeStrides(shape);
  int64_t rank = dataType.getRank();
  // The flat target of every update element.
  SmallVector<int64_t> targets;
  auto inRange = [&](int64_t index, int64_t size) -> FailureOr<int64_t> {
    if (index < -size || index >= size)
      return error("index " + Twine(index) + " is out of range for a dimension of " +
                   Twine(size));
    return index < 0 ? index + size : index;
  };
  if (opType == "ScatterND") {
    int64_t depth = indexType.getShape().back();
    if (indexType.getRank() < 1 || depth > rank)
      return error("ScatterND's index tuples are longer than the data's rank");
    int64_t tuples = indexType.getNumElements() / std::max<int64_t>(depth, 1);
    int64_t slice = depth == 0 ? dataType.getNumElements() : strides[depth - 1];
    if (tuples * slice != updateType.getNumElements())
      return error("ScatterND's updates do not match its indices");
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t base = 0;
      for (int64_t d = 0; d < depth; ++d) {
        FailureOr<int64_t> index = inRange((*indices)[t * depth + d], shape[d]);
        if (failed(index))
          return failure();
        base += *index * strides[d];
      }
      for (int64_t e = 0; e < slice; ++e)
        targets.push_back(base + e);
    }
  } else {
    FailureOr<int64_t> axis = normalizeAxis(getInt("axis", 0), rank);
    if (failed(axis))
      return failure();
    if (indexType.getShape() != updateType.getShape() ||
        indexType.getRank() != rank)
      return error(opType + " needs indices and updates of one shape, of the "
                            "data's rank");
    SmallVector<int64_t> offsets =
        offsetsBesideAxis(indexType.getShape(), strides, *axis);
    for (auto [i, offset] : llvm::enumerate(offsets)) {
      FailureOr<int64_t> index = inRange((*indices)[i], shape[*axis]);
      if (failed(index))
        return failure();
      targets.push_back(offset + *index * strides[*axis]);
    }
  }
  // Round r gathers, for each output element, its r-th update.
  int64_t count = dataType.getNumElements();
  SmallVector<SmallVector<int64_t>> rounds;
  SmallVector<int64_t> seen(count, 0);
  for (auto [u, target] : llvm::enumerate(targets)) {
    int64_t round = seen[target]++;
    if (round == static_cast<int64_t>(rounds.size()))
      rounds.emplace_back(count, -1);
    rounds[round][target] = u;
  }
  FailureOr<Value> flatData = reshape(data, {count});
  FailureOr<Value> flatUpdates = reshape(updates, {updateType.getNumElements()});
  if (failed(flatData) || failed(flatUpdates))
    return failure();
  Value result = *flatData;
  for (ArrayRef<int64_t> round : rounds) {
    SmallVector<int64_t> source;
    SmallVector<bool> written;
    for (int64_t u : round) {
      source.push_back(std::max<int64_t>(u, 0));
      written.push_back(u >= 0);
    }
    // Updates that cover the data in order (torch writes a slice
    // assignment x[..., :n] = y with n the whole dim as a ScatterND of every
    // index) are read as they are.
    bool inOrder =
        static_cast<int64_t>(source.size()) == updateType.getNumElements() &&
        llvm::all_of(llvm::enumerate(source), [](auto entry) {
          return entry.value() == static_cast<int64_t>(entry.index());
        });
    FailureOr<Value> gathered =
        inOrder ? *flatUpdates
                : create<llm::GatherOp>(
                      {*flatUpdates, indexConstant({count}, source)},
                      {namedAttr("axis", builder.getI64IntegerAttr(0))});
    if (failed(gathered))
      return failure();
    Value combined = *gathered;
    if (reduction == "add")
      combined = emit<llm::AddOp>({result, combined});
    else if (reduction == "mul")
      combined = emit<llm::MulOp>({result, combined});
    else if (reduction == "max")
      combined = emit<llm::MaxOp>({result, combined});
    else if (reduction == "min")
      combined = emit<llm::MinOp>({result, combined});
    result = emit<llm::WhereOp>(
        {denseConstant(builder.getI1Type(), {count}, ArrayRef<bool>(written)),
         combined, result});
  }
  if (!result)
    return failure();
  return setResult(reshape(result, shape));
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult ONNXImporter::importReshape() {
  if (failed(requireInputs(2)))
    return failure();
  FailureOr<SmallVector<int64_t>> requested = constantInts(1, "shape");
  if (failed(requested))
    return failure();
  RankedTensorType type = typeOf(input(0));
  bool allowZero = getInt("allowzero", 0) != 0;
  SmallVector<int64_t> shape;
  std::optional<size_t> inferred;
  int64_t known = 1;
  for (auto [index, dim] : llvm::enumerate(*requested)) {
    if (dim == 0 && !allowZero) {
      if (index >= static_cast<size_t>(type.getRank()))
        return error("shape " + shapeString(*requested) + " copies dim " +
                     Twine(index) + " of an input of rank " +
                     Twine(type.getRank()));
      dim = type.getDimSize(index);
    }
    if (dim == -1) {
      if (inferred)
        return error("shape " + shapeString(*requested) +
                     " has more than one -1");
      inferred = index;
      shape.push_back(1);
      continue;
    }
    if (dim < 0)
      return error("shape " + shapeString(*requested) + " has a negative dim " +
                   Twine(dim));
    if (dim != 0 && known > (int64_t(1) << 48) / dim)
      return error("shape " + shapeString(*requested) + " is too large");
    known *= dim;
    shape.push_back(dim);
  }
  if (inferred) {
    int64_t total = type.getNumElements();
    if (known == 0 || total % known != 0)
      return error("cannot reshape " + shapeString(type.getShape()) + " to " +
                   shapeString(*requested) +
                   ": the -1 dim is not a whole "
                   "number");
    shape[*inferred] = total / known;
  }
  return setResult(reshape(input(0), shape));
}

LogicalResult ONNXImporter::importTranspose() {
  if (failed(requireInputs(1)))
    return failure();
  int64_t rank = typeOf(input(0)).getRank();
  SmallVector<int64_t> perm;
  if (std::optional<SmallVector<int64_t>> given = getInts("perm"))
    perm = *given;
  else
    perm = llvm::to_vector(llvm::reverse(llvm::seq<int64_t>(0, rank)));
  return setResult(create<llm::TransposeOp>(
      input(0),
      {namedAttr("permutation", builder.getDenseI64ArrayAttr(perm))}));
}

LogicalResult ONNXImporter::importConcat() {
  if (failed(requireInputs(1)))
    return failure();
  if (!findAttr("axis"))
    return error("expects attribute 'axis'");
  for (Value value : inputs)
    if (!value)
      return error("expects no empty inputs");
  FailureOr<int64_t> axis =
      normalizeAxis(getInt("axis", 0), typeOf(input(0)).getRank());
  if (failed(axis))
    return failure();
  return setResult(create<llm::ConcatOp>(
      inputs, {namedAttr("axis", builder.getI64IntegerAttr(*axis))}));
}

LogicalResult ONNXImporter::importSlice() {
  if (failed(requireInputs(3)))
    return failure();
  RankedTensorType type = typeOf(input(0));
  int64_t rank = type.getRank();
  FailureOr<SmallVector<int64_t>> starts = constantInts(1, "starts");
  if (failed(starts))
    return failure();
  FailureOr<SmallVector<int64_t>> ends = constantInts(2, "ends");
  if (failed(ends))
    return failure();
  SmallVector<int64_t> axes, steps;
  if (input(3)) {
    FailureOr<SmallVector<int64_t>> given = constantInts(3, "axes");
    if (failed(given))
      return failure();
    axes = *given;
  } else {
    axes = llvm::to_vector(llvm::seq<int64_t>(0, starts->size()));
  }
  if (input(4)) {
    FailureOr<SmallVector<int64_t>> given = constantInts(4, "steps");
    if (failed(given))
      return failure();
    steps = *given;
  } else {
    steps.assign(starts->size(), 1);
  }
  if (ends->size() != starts->size() || axes.size() != starts->size() ||
      steps.size() != starts->size())
    return error("expects starts, ends, axes and steps of one length, got " +
                 Twine(starts->size()) + ", " + Twine(ends->size()) + ", " +
                 Twine(axes.size()) + " and " + Twine(steps.size()));

  SmallVector<int64_t> allStarts(rank, 0), allEnds(type.getShape()),
      allSteps(rank, 1);
  SmallVector<bool> seen(rank, false);
  for (size_t i = 0; i < axes.size(); ++i) {
    FailureOr<int64_t> axis = normalizeAxis(axes[i], rank, "axes");
    if (failed(axis))
      return failure();
    if (seen[*axis])
      return error("expects unique axes, got " + Twine(*axis) + " twice");
    seen[*axis] = true;
    int64_t dim = type.getDimSize(*axis);
    int64_t start = (*starts)[i], end = (*ends)[i], step = steps[i];
    if (step == 0)
      return error("expects nonzero steps");
    // A step past the dim takes one element, as a step of the dim does; this
    // keeps the size arithmetic of llm.slice away from overflow.
    step = std::clamp<int64_t>(step, -std::max<int64_t>(dim, 1),
                               std::max<int64_t>(dim, 1));
    if (start < 0)
      start = start < -dim ? -1 : start + dim;
    if (end < 0)
      end = end < -dim ? -1 : end + dim;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      end = std::max(end, start);
    } else if (dim == 0) {
      start = end = 0;
      step = 1;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      end = std::min(end, start);
    }
    allStarts[*axis] = start;
    allEnds[*axis] = end;
    allSteps[*axis] = step;
  }
  return setResult(create<llm::SliceOp>(
      input(0), {namedAttr("starts", builder.getDenseI64ArrayAttr(allStarts)),
                 namedAttr("ends", builder.getDenseI64ArrayAttr(allEnds)),
                 namedAttr("steps", builder.getDenseI64ArrayAttr(allSteps))}));
}

LogicalResult ONNXImporter::importSplit() {
  if (failed(requireInputs(1)))
    return failure();
  RankedTensorType type = typeOf(input(0));
  FailureOr<int64_t> axis = normalizeAxis(getInt("axis", 0), type.getRank());
  if (failed(axis))
    return failure();
  int64_t dim = type.getDimSize(*axis);
  SmallVector<int64_t> sizes;
  if (input(1)) {
    FailureOr<SmallVector<int64_t>> given = constantInts(1, "split");
    if (failed(given))
      return failure();
    sizes = *given;
  } else if (const onnx::AttributeProto *numOutputs =
                 opset >= 18 ? findAttr("num_outputs") : nullptr) {
    int64_t count = numOutputs->i();
    if (count <= 0)
      return error("expects num_outputs > 0, got " + Twine(count));
    int64_t chunk = llvm::divideCeil(dim, count);
    for (int64_t remaining = dim; remaining > 0; remaining -= chunk)
      sizes.push_back(std::min(chunk, remaining));
    if (static_cast<int64_t>(sizes.size()) != count)
      return error("cannot split dim " + Twine(*axis) + " of size " +
                   Twine(dim) + " into " + Twine(count) + " outputs");
  } else {
    int64_t count = node->output_size();
    if (count == 0 || dim % count != 0)
      return error("cannot split dim " + Twine(*axis) + " of size " +
                   Twine(dim) + " into " + Twine(count) + " equal outputs");
    sizes.assign(count, dim / count);
  }
  if (static_cast<int64_t>(sizes.size()) != node->output_size())
    return error("expects " + Twine(sizes.size()) + " outputs, got " +
                 Twine(node->output_size()));
  FailureOr<SmallVector<Value>> pieces = createOp<llm::SplitOp>(
      input(0), {namedAttr("axis", builder.getI64IntegerAttr(*axis)),
                 namedAttr("sizes", builder.getDenseI64ArrayAttr(sizes))});
  if (failed(pieces))
    return failure();
  llvm::append_range(results, *pieces);
  return success();
}

//===----------------------------------------------------------------------===//
// Control flow and sequences
//
// Exported graphs use If, Loop and sequences for what the exporter could not
// resolve while tracing (torch's repeat_interleave with dynamic dims, a
// branch on a flag input); once the input shapes are specialized their
// conditions and trip counts are compile-time constants. If imports the
// branch its condition names, Loop unrolls its body, and a sequence is a
// list of values the importer keeps.
//===----------------------------------------------------------------------===//

FailureOr<ONNXImporter::Item> ONNXImporter::lookupItem(StringRef name) {
  Item item;
  if (Value value = values.lookup(name)) {
    item.tensor = value;
    return item;
  }
  auto it = sequences.find(name);
  if (it == sequences.end())
    return error("'" + name + "' is not defined by an earlier node, an "
                 "initializer or an input");
  item.isSequence = true;
  item.sequence = it->second;
  return item;
}

void ONNXImporter::bindItem(StringRef name, const Item &item) {
  if (item.isSequence) {
    values.erase(name);
    sequences[name] = item.sequence;
  } else {
    sequences.erase(name);
    values[name] = item.tensor;
  }
}

LogicalResult ONNXImporter::setItemResult(const Item &item) {
  if (item.isSequence) {
    unsigned index = results.size();
    if (index < static_cast<unsigned>(node->output_size()) &&
        !node->output(index).empty())
      sequences[node->output(index)] = item.sequence;
  }
  results.push_back(item.isSequence ? Value() : item.tensor);
  return success();
}

/// Imports the graph in attribute `attrName` of the current node (an If
/// branch, a Loop body) into the current block, its inputs bound to
/// `bindings`; its nodes also read names of the enclosing graphs. Returns
/// its outputs; the current node is the If or Loop again afterwards. Import
/// moves tensor data out of the protobuf: a body imported `again` (a Loop's)
/// is imported from a copy.
FailureOr<SmallVector<ONNXImporter::Item>>
ONNXImporter::importBody(StringRef attrName, ArrayRef<Item> bindings,
                         bool again) {
  onnx::GraphProto *body = nullptr;
  for (onnx::AttributeProto &attr : *node->mutable_attribute())
    if (attr.name() == attrName && attr.has_g())
      body = attr.mutable_g();
  if (!body)
    return error("expects graph attribute '" + attrName + "'");
  onnx::GraphProto copy;
  if (again) {
    copy = *body;
    body = &copy;
  }
  if (body->input_size() != static_cast<int>(bindings.size()))
    return error("'" + attrName + "' takes " + Twine(body->input_size()) +
                 " inputs, expects " + Twine(bindings.size()));
  onnx::NodeProto *outer = node;
  Location outerLoc = nodeLoc;
  SmallVector<Value> outerInputs = inputs, outerResults = results;
  llvm::scope_exit restore([&] {
    node = outer;
    nodeLoc = outerLoc;
    inputs = outerInputs;
    results = outerResults;
  });
  for (auto [bodyInput, item] : llvm::zip_equal(body->input(), bindings))
    bindItem(bodyInput.name(), item);
  if (failed(importInitializers(*body)))
    return failure();
  for (auto [index, bodyNode] : llvm::enumerate(*body->mutable_node()))
    if (failed(importNode(bodyNode, index)))
      return failure();
  SmallVector<Item> outputs;
  for (const onnx::ValueInfoProto &output : body->output()) {
    FailureOr<Item> item = lookupItem(output.name());
    if (failed(item))
      return error("'" + attrName + "' output " + Twine(output.name()) +
                   " is not produced by its nodes");
    if (failed(requireKnownCount(output.name(), "'" + attrName + "' output '" +
                                                    output.name() + "'")))
      return failure();
    outputs.push_back(*item);
  }
  return outputs;
}

LogicalResult ONNXImporter::importIf() {
  if (failed(requireInputs(1)))
    return failure();
  std::optional<SmallVector<int64_t>> cond = compileTimeInts(input(0));
  if (!cond || cond->size() != 1)
    return error("input 'cond' must be a compile-time constant (fix a graph "
                 "input's value with llm-compile --value NAME=V; llm-run "
                 "knows the values it is given)");
  FailureOr<SmallVector<Item>> outputs =
      importBody(cond->front() ? "then_branch" : "else_branch", {});
  if (failed(outputs))
    return failure();
  if (outputs->size() != static_cast<size_t>(node->output_size()))
    return error("the branch has " + Twine(outputs->size()) +
                 " outputs, the node " + Twine(node->output_size()));
  for (const Item &item : *outputs)
    (void)setItemResult(item);
  return success();
}

/// RNN, GRU and LSTM, unrolled over their static sequence. Each direction
/// multiplies every step's input by W in one matmul (bias added), then runs
/// the recurrence: per step one matmul of the state by R and the gates'
/// elementwise ops (ONNX's equations: LSTM's gates i, o, f, c with
/// peepholes P; GRU's z, r, h with linear_before_reset; clip bounds every
/// gate's input). With sequence_lens (known at run time), a batch row's
/// steps from its length on keep its state and output zeros; the reverse
/// direction walks the steps from the last, so a row's recurrence starts at
/// its own last step. Outputs: Y [S, directions, B, H] (layout 1: [B, S,
/// directions, H]), Y_h and LSTM's Y_c [directions, B, H] (layout 1: [B,
/// directions, H]).
LogicalResult ONNXImporter::importRecurrent() {
  StringRef op = node->op_type();
  bool lstm = op == "LSTM", gru = op == "GRU";
  int64_t gates = lstm ? 4 : gru ? 3 : 1;
  if (failed(requireInputs(3)))
    return failure();
  Value x = input(0), w = input(1), r = input(2), b = input(3), lens = input(4),
        h0 = input(5);
  Value c0 = lstm ? input(6) : Value(), p = lstm ? input(7) : Value();
  RankedTensorType xType = typeOf(x);
  Type element = xType.getElementType();
  if (xType.getRank() != 3 || !isa<FloatType>(element))
    return error("expects a float X of rank 3, got " +
                 shapeString(xType.getShape()));
  int64_t layout = getInt("layout", 0);
  if (layout != 0 && layout != 1)
    return error("layout " + Twine(layout) + " is not 0 or 1");
  if (layout)
    x = transposed(x, {1, 0, 2});
  if (!x)
    return failure();
  int64_t seq = typeOf(x).getDimSize(0), batch = typeOf(x).getDimSize(1),
          inputSize = typeOf(x).getDimSize(2);
  std::string direction = getString("direction", "forward");
  if (direction != "forward" && direction != "reverse" &&
      direction != "bidirectional")
    return error("direction '" + direction +
                 "' is not forward, reverse or bidirectional");
  int64_t directions = direction == "bidirectional" ? 2 : 1;
  ArrayRef<int64_t> rShape = typeOf(r).getShape();
  int64_t hidden = getInt("hidden_size", rShape.size() == 3 ? rShape[2] : 0);
  if (getInt("input_forget", 0))
    return error("input_forget is not supported");

  // Every operand's shape, as ONNX gives it.
  auto expect = [&](Value value, StringRef name,
                    ArrayRef<int64_t> shape) -> LogicalResult {
    if (!value)
      return success();
    RankedTensorType type = typeOf(value);
    if (type.getShape() != shape)
      return error("expects " + name + " of shape " + shapeString(shape) +
                   ", got " + shapeString(type.getShape()));
    if (type.getElementType() != element)
      return error("expects " + name + " of X's element type");
    return success();
  };
  SmallVector<int64_t> stateShape =
      layout ? SmallVector<int64_t>{batch, directions, hidden}
             : SmallVector<int64_t>{directions, batch, hidden};
  if (failed(expect(w, "W", {directions, gates * hidden, inputSize})) ||
      failed(expect(r, "R", {directions, gates * hidden, hidden})) ||
      failed(expect(b, "B", {directions, 2 * gates * hidden})) ||
      failed(expect(p, "P", {directions, 3 * hidden})) ||
      failed(expect(h0, "initial_h", stateShape)) ||
      failed(expect(c0, "initial_c", stateShape)))
    return failure();
  if (layout) {
    h0 = h0 ? transposed(h0, {1, 0, 2}) : Value();
    c0 = c0 ? transposed(c0, {1, 0, 2}) : Value();
  }
  Value lengths;
  if (lens) {
    if (typeOf(lens).getShape() != ArrayRef<int64_t>{batch} ||
        !isa<IntegerType>(typeOf(lens).getElementType()))
      return error("expects integer sequence_lens of shape [" + Twine(batch) +
                   "]");
    FailureOr<Value> wide = castTo(lens, builder.getI64Type());
    if (failed(wide))
      return failure();
    FailureOr<Value> column = reshape(*wide, {batch, 1});
    if (failed(column))
      return failure();
    lengths = *column;
  }

  // Activations f, g, h per direction, with alpha and beta consumed in order
  // by those that take them.
  SmallVector<StringRef> defaults =
      lstm  ? SmallVector<StringRef>{"Sigmoid", "Tanh", "Tanh"}
      : gru ? SmallVector<StringRef>{"Sigmoid", "Tanh"}
            : SmallVector<StringRef>{"Tanh"};
  SmallVector<std::string> names;
  if (const onnx::AttributeProto *attr = findAttr("activations"))
    names.assign(attr->strings().begin(), attr->strings().end());
  if (names.empty())
    for (int64_t d = 0; d < directions; ++d)
      names.append(defaults.begin(), defaults.end());
  else if (directions == 2 && names.size() == defaults.size())
    names.append(SmallVector<std::string>(names));
  if (names.size() != defaults.size() * directions)
    return error("expects " + Twine(defaults.size() * directions) +
                 " activations, got " + Twine(names.size()));
  SmallVector<float> alphas, betas;
  if (const onnx::AttributeProto *attr = findAttr("activation_alpha"))
    alphas.assign(attr->floats().begin(), attr->floats().end());
  if (const onnx::AttributeProto *attr = findAttr("activation_beta"))
    betas.assign(attr->floats().begin(), attr->floats().end());
  struct Activation {
    std::string name;
    std::optional<float> alpha, beta;
  };
  SmallVector<Activation> activations;
  size_t nextAlpha = 0, nextBeta = 0;
  for (const std::string &name : names) {
    std::string lower = StringRef(name).lower();
    bool takesAlpha =
        llvm::is_contained({"leakyrelu", "thresholdedrelu", "scaledtanh",
                            "hardsigmoid", "elu", "affine"},
                           lower);
    bool takesBeta =
        llvm::is_contained({"scaledtanh", "hardsigmoid", "affine"}, lower);
    Activation activation{name, std::nullopt, std::nullopt};
    if (takesAlpha && nextAlpha < alphas.size())
      activation.alpha = alphas[nextAlpha++];
    if (takesBeta && nextBeta < betas.size())
      activation.beta = betas[nextBeta++];
    activations.push_back(activation);
  }
  std::optional<float> clip = getOptionalFloat("clip");
  bool linearBeforeReset = gru && getInt("linear_before_reset", 0);

  auto apply = [&](const Activation &activation, Value v) -> Value {
    if (!v)
      return {};
    if (clip)
      v = emit<llm::MinOp>({emit<llm::MaxOp>({v, scalarOf(element, -*clip)}),
                            scalarOf(element, *clip)});
    Value result =
        namedActivation(activation.name, v, activation.alpha, activation.beta);
    if (!result && v)
      (void)error("activation '" + activation.name + "' is not supported");
    return result;
  };
  auto matrix = [&](Value value, int64_t d, int64_t rows, int64_t columns) {
    FailureOr<Value> flat =
        reshape(sliceAlong(value, 0, d, d + 1), {rows, columns});
    return succeeded(flat) ? *flat : Value();
  };
  auto part = [&](Value value, int64_t index) {
    return sliceAlong(value, typeOf(value).getRank() - 1, index * hidden,
                      (index + 1) * hidden);
  };
  auto zeros = [&](int64_t rows) {
    return zerosOf(RankedTensorType::get({rows, hidden}, element));
  };

  SmallVector<Value> outputs, lastHidden, lastCell;
  for (int64_t d = 0; d < directions; ++d) {
    bool reverse = direction == "reverse" || d == 1;
    const Activation *fns = &activations[d * defaults.size()];
    Value wd = matrix(w, d, gates * hidden, inputSize);
    Value rd = matrix(r, d, gates * hidden, hidden);
    // The input's part of every step at once, with the biases that add to
    // it (GRU's Rbh stays inside the reset with linear_before_reset).
    FailureOr<Value> flatX = reshape(x, {seq * batch, inputSize});
    if (failed(flatX) || !wd || !rd)
      return failure();
    FailureOr<Value> xw = plainMatMul(*flatX, wd, /*transposeRhs=*/true);
    if (failed(xw))
      return failure();
    Value inputPart = *xw, recurrentBias;
    if (b) {
      Value bd = matrix(b, d, 1, 2 * gates * hidden);
      Value wb = sliceAlong(bd, 1, 0, gates * hidden);
      Value rb = sliceAlong(bd, 1, gates * hidden, 2 * gates * hidden);
      if (linearBeforeReset) {
        recurrentBias = part(rb, 2);
        rb = concatAlong({sliceAlong(rb, 1, 0, 2 * hidden), zeros(1)}, 1);
      }
      inputPart = emit<llm::AddOp>({inputPart, emit<llm::AddOp>({wb, rb})});
    }
    FailureOr<Value> steps =
        inputPart ? reshape(inputPart, {seq, batch, gates * hidden})
                  : FailureOr<Value>(failure());
    if (failed(steps))
      return failure();
    Value peephole = p ? matrix(p, d, 1, 3 * hidden) : Value();
    Value h = h0 ? matrix(h0, d, batch, hidden) : zeros(batch);
    Value c =
        lstm ? (c0 ? matrix(c0, d, batch, hidden) : zeros(batch)) : Value();
    // GRU's candidate without linear_before_reset multiplies the reset
    // state by Rh alone.
    Value rGates =
        gru && !linearBeforeReset ? sliceAlong(rd, 0, 0, 2 * hidden) : rd;
    Value rCandidate = gru && !linearBeforeReset
                           ? sliceAlong(rd, 0, 2 * hidden, 3 * hidden)
                           : Value();
    SmallVector<Value> stepOutputs(seq);
    for (int64_t i = 0; i < seq; ++i) {
      int64_t t = reverse ? seq - 1 - i : i;
      FailureOr<Value> xt =
          reshape(sliceAlong(*steps, 0, t, t + 1), {batch, gates * hidden});
      if (failed(xt))
        return failure();
      // The state's part (none while the state is the zeros it starts as).
      Value hr;
      if (h0 || i > 0) {
        hr = orNull(plainMatMul(h, rGates, /*transposeRhs=*/true));
        if (!hr)
          return failure();
      }
      auto plus = [&](Value a, Value b) {
        return b ? emit<llm::AddOp>({a, b}) : a;
      };
      auto hrPart = [&](int64_t index) {
        return hr ? part(hr, index) : Value();
      };
      Value next, nextCell;
      if (lstm) {
        Value g = plus(*xt, hr);
        auto peep = [&](int64_t index, Value state) {
          return peephole ? emit<llm::MulOp>({part(peephole, index), state})
                          : Value();
        };
        auto withPeep = [&](Value gate, int64_t index, Value state) {
          Value extra = peep(index, state);
          return extra ? emit<llm::AddOp>({gate, extra}) : gate;
        };
        Value in = apply(fns[0], withPeep(part(g, 0), 0, c));
        Value forget = apply(fns[0], withPeep(part(g, 2), 2, c));
        Value candidate = apply(fns[1], part(g, 3));
        nextCell = emit<llm::AddOp>(
            {emit<llm::MulOp>({forget, c}), emit<llm::MulOp>({in, candidate})});
        Value out = apply(fns[0], withPeep(part(g, 1), 1, nextCell));
        next = emit<llm::MulOp>({out, apply(fns[2], nextCell)});
      } else if (gru) {
        Value update = apply(fns[0], plus(part(*xt, 0), hrPart(0)));
        Value reset = apply(fns[0], plus(part(*xt, 1), hrPart(1)));
        Value recurrent;
        if (linearBeforeReset) {
          Value hh = hrPart(2);
          if (recurrentBias)
            hh = hh ? emit<llm::AddOp>({hh, recurrentBias}) : recurrentBias;
          recurrent = hh ? emit<llm::MulOp>({reset, hh}) : Value();
        } else if (hr) {
          recurrent = orNull(plainMatMul(emit<llm::MulOp>({reset, h}),
                                         rCandidate, /*transposeRhs=*/true));
          if (!recurrent)
            return failure();
        }
        Value candidate = apply(fns[1], plus(part(*xt, 2), recurrent));
        // (1 - z) * candidate + z * h = candidate + z * (h - candidate)
        next = emit<llm::AddOp>(
            {candidate,
             emit<llm::MulOp>({update, emit<llm::SubOp>({h, candidate})})});
      } else {
        next = apply(fns[0], plus(*xt, hr));
      }
      if (!next || (lstm && !nextCell))
        return failure();
      Value output = next;
      if (lengths) {
        Value valid =
            emit<llm::LessOp>({scalarOf(builder.getI64Type(), t), lengths});
        next = emit<llm::WhereOp>({valid, next, h});
        if (lstm)
          nextCell = emit<llm::WhereOp>({valid, nextCell, c});
        output = emit<llm::WhereOp>({valid, output, scalarOf(element, 0)});
      }
      h = next;
      c = nextCell;
      FailureOr<Value> shaped = output ? reshape(output, {1, 1, batch, hidden})
                                       : FailureOr<Value>(failure());
      if (failed(shaped) || !h)
        return failure();
      stepOutputs[t] = *shaped;
    }
    outputs.push_back(concatAlong(stepOutputs, 0));
    FailureOr<Value> hd = reshape(h, {1, batch, hidden});
    if (failed(hd))
      return failure();
    lastHidden.push_back(*hd);
    if (lstm) {
      FailureOr<Value> cd = reshape(c, {1, batch, hidden});
      if (failed(cd))
        return failure();
      lastCell.push_back(*cd);
    }
  }
  Value y = concatAlong(outputs, 1);
  Value yh = concatAlong(lastHidden, 0);
  Value yc = lstm ? concatAlong(lastCell, 0) : Value();
  if (layout) {
    y = transposed(y, {2, 0, 1, 3});
    yh = transposed(yh, {1, 0, 2});
    yc = lstm ? transposed(yc, {1, 0, 2}) : Value();
  }
  if (!y || !yh || (lstm && !yc))
    return failure();
  results.push_back(y);
  results.push_back(yh);
  if (lstm)
    results.push_back(yc);
  return success();
}

LogicalResult ONNXImporter::importLoop() {
  int64_t carriedCount = node->input_size() - 2;
  if (carriedCount < 0)
    return error("expects inputs 'M' and 'cond' (either may be empty)");
  const onnx::AttributeProto *bodyAttr = findAttr("body");
  if (!bodyAttr || !bodyAttr->has_g())
    return error("expects graph attribute 'body'");
  int64_t scanCount = bodyAttr->g().output_size() - 1 - carriedCount;
  if (scanCount < 0)
    return error("the body has " + Twine(bodyAttr->g().output_size()) +
                 " outputs, expects at least " + Twine(1 + carriedCount));
  if (node->output_size() > carriedCount + scanCount)
    return error("expects at most " + Twine(carriedCount + scanCount) +
                 " outputs, got " + Twine(node->output_size()));

  std::optional<int64_t> tripCount;
  if (input(0)) {
    FailureOr<int64_t> m = constantScalarInt(0, "M");
    if (failed(m))
      return failure();
    tripCount = *m;
    if (*tripCount > kMaxUnrolledIterations - unrolledIterations)
      return error("unrolls more than " + Twine(kMaxUnrolledIterations) +
                   " loop iterations (trip count " + Twine(*tripCount) + ")");
  }
  bool cond = true;
  if (input(1)) {
    std::optional<SmallVector<int64_t>> given = compileTimeInts(input(1));
    if (!given || given->size() != 1)
      return error("input 'cond' must be a compile-time constant");
    cond = given->front() != 0;
  } else if (!tripCount) {
    return error("has neither a trip count nor a condition: it never ends");
  }

  SmallVector<Item> carried;
  for (int64_t i = 0; i < carriedCount; ++i) {
    FailureOr<Item> item = lookupItem(node->input(2 + i));
    if (failed(item))
      return failure();
    carried.push_back(*item);
  }
  SmallVector<SmallVector<Value>> scans(scanCount);
  for (int64_t iteration = 0; cond && (!tripCount || iteration < *tripCount);
       ++iteration) {
    if (++unrolledIterations > kMaxUnrolledIterations)
      return error("unrolls more than " + Twine(kMaxUnrolledIterations) +
                   " loop iterations");
    SmallVector<Item> bindings(2);
    bindings[0].tensor = indexConstant({}, {iteration});
    bindings[1].tensor =
        denseConstant<bool>(builder.getI1Type(), {}, ArrayRef<bool>{true});
    llvm::append_range(bindings, carried);
    FailureOr<SmallVector<Item>> outputs =
        importBody("body", bindings, /*again=*/true);
    if (failed(outputs))
      return failure();
    const Item &condOut = outputs->front();
    std::optional<SmallVector<int64_t>> next =
        condOut.isSequence ? std::nullopt : compileTimeInts(condOut.tensor);
    if (!next || next->size() != 1)
      return error("the body's condition output must be a compile-time "
                   "constant");
    cond = next->front() != 0;
    carried.assign(outputs->begin() + 1, outputs->begin() + 1 + carriedCount);
    for (int64_t k = 0; k < scanCount; ++k) {
      const Item &scan = (*outputs)[1 + carriedCount + k];
      if (scan.isSequence)
        return error("scan output " + Twine(k) + " is a sequence");
      scans[k].push_back(scan.tensor);
    }
  }

  for (const Item &item : carried)
    (void)setItemResult(item);
  for (int64_t k = 0; k < scanCount; ++k) {
    if (scans[k].empty())
      return error("the loop runs no iteration; its scan outputs have no "
                   "known shape");
    // Scan outputs stack the iterations' values along a new first axis.
    if (failed(setResult(stackAlong(scans[k], 0))))
      return failure();
  }
  return success();
}

/// Scan, unrolled over its static sequence: iteration t binds the state
/// variables and each scan input's slice t along its axis (from the end for
/// a reverse input) to the body's inputs; the body's last state outputs are
/// the node's first results, and each scan output stacks the iterations'
/// values along its axis (the last iteration first for a reverse output).
/// Opset 8's form (which the upgrade leaves to the importer: ONNX's adapter
/// drops the batch axis from the graph's inputs) has a leading batch axis
/// on every operand and result, scans axis 1, and takes sequence_lens first:
/// each batch row scans alone, and every row must run the whole sequence.
LogicalResult ONNXImporter::importScan() {
  const onnx::AttributeProto *bodyAttr = findAttr("body");
  if (!bodyAttr || !bodyAttr->has_g())
    return error("expects graph attribute 'body'");
  bool batched = upgradedFrom && upgradedFrom < 9;
  int64_t first = batched ? 1 : 0;
  int64_t scanInputs = getInt("num_scan_inputs", 0);
  int64_t stateCount = node->input_size() - first - scanInputs;
  if (scanInputs < 1 || stateCount < 0)
    return error("num_scan_inputs " + Twine(scanInputs) +
                 " is not between 1 and the " +
                 Twine(node->input_size() - first) + " inputs");
  int64_t scanOutputs = bodyAttr->g().output_size() - stateCount;
  if (scanOutputs < 0 ||
      bodyAttr->g().input_size() != node->input_size() - first)
    return error("the body takes " + Twine(bodyAttr->g().input_size()) +
                 " inputs and returns " + Twine(bodyAttr->g().output_size()) +
                 "; expects " + Twine(node->input_size() - first) +
                 " inputs and at least " + Twine(stateCount) + " outputs");
  for (int64_t i = first; i < node->input_size(); ++i)
    if (!input(i))
      return error("expects input " + Twine(i));
  // Per-input and per-output attributes: their count and each value's range.
  auto listed = [&](StringRef name, int64_t count, int64_t lo,
                    int64_t hi) -> FailureOr<SmallVector<int64_t>> {
    SmallVector<int64_t> values =
        getInts(name).value_or(SmallVector<int64_t>(count, 0));
    if (static_cast<int64_t>(values.size()) != count)
      return error("expects " + Twine(count) + " values in '" + name +
                   "', got " + Twine(values.size()));
    for (int64_t value : values)
      if (value < lo || value > hi)
        return error("'" + name + "' value " + Twine(value) + " is outside [" +
                     Twine(lo) + ", " + Twine(hi) + "]");
    return values;
  };
  constexpr int64_t kAny = std::numeric_limits<int64_t>::max();
  FailureOr<SmallVector<int64_t>> inDirections = listed(
      batched ? "directions" : "scan_input_directions", scanInputs, 0, 1);
  FailureOr<SmallVector<int64_t>> outDirections =
      batched ? SmallVector<int64_t>(scanOutputs, 0)
              : listed("scan_output_directions", scanOutputs, 0, 1);
  FailureOr<SmallVector<int64_t>> inAxes =
      batched ? SmallVector<int64_t>(scanInputs, 0)
              : listed("scan_input_axes", scanInputs, -kAny, kAny);
  FailureOr<SmallVector<int64_t>> outAxes =
      batched ? SmallVector<int64_t>(scanOutputs, 0)
              : listed("scan_output_axes", scanOutputs, -kAny, kAny);
  if (failed(inDirections) || failed(outDirections) || failed(inAxes) ||
      failed(outAxes))
    return failure();

  // The operands; of opset 8, those of each batch row.
  int64_t batch = 1;
  if (batched) {
    for (int64_t i = first; i < node->input_size(); ++i) {
      RankedTensorType type = typeOf(input(i));
      int64_t rows = type.getRank() ? type.getDimSize(0) : 0;
      if (i > first && rows != batch)
        return error("input " + Twine(i) + " has " + Twine(rows) +
                     " batch rows, input " + Twine(first) + " " + Twine(batch));
      if (rows < 1 || (i >= first + stateCount && type.getRank() < 2))
        return error("input " + Twine(i) + " of shape " +
                     shapeString(type.getShape()) +
                     " has no batch axis (and for a scan input, sequence "
                     "axis) of opset 8");
      batch = rows;
    }
  }
  auto operand = [&](int64_t i, int64_t row) -> Value {
    Value value = input(first + i);
    if (!batched)
      return value;
    SmallVector<int64_t> shape(typeOf(value).getShape().drop_front());
    return orNull(reshape(sliceAlong(value, 0, row, row + 1), shape));
  };

  // Every scan input's axis, and the one sequence length they share.
  std::optional<int64_t> length;
  for (int64_t k = 0; k < scanInputs; ++k) {
    RankedTensorType type = typeOf(input(first + stateCount + k));
    int64_t rank = type.getRank() - (batched ? 1 : 0);
    if (rank < 1)
      return error("scan input " + Twine(k) +
                   " is a scalar: it has no axis to scan");
    std::string what = "scan input " + std::to_string(k) + "'s axis";
    FailureOr<int64_t> axis = normalizeAxis((*inAxes)[k], rank, what);
    if (failed(axis))
      return failure();
    (*inAxes)[k] = *axis;
    int64_t dim = type.getDimSize(*axis + (batched ? 1 : 0));
    if (length && *length != dim)
      return error("scan input " + Twine(k) + " has " + Twine(dim) +
                   " steps along axis " + Twine(*axis) + ", scan input 0 has " +
                   Twine(*length));
    length = dim;
  }
  if (*length < 1)
    return error("the sequence has no step; its scan outputs have no "
                 "known shape");
  if (batched && input(0)) {
    std::optional<SmallVector<int64_t>> lens = compileTimeInts(input(0));
    if (!lens)
      return error("input 'sequence_lens' must be a compile-time constant");
    for (int64_t len : *lens)
      if (len != *length)
        return error("sequence_lens " + Twine(len) +
                     " is not the whole sequence (" + Twine(*length) +
                     " steps): rows of other lengths are not supported");
  }
  if (batch * *length > kMaxUnrolledIterations - unrolledIterations)
    return error("unrolls more than " + Twine(kMaxUnrolledIterations) +
                 " iterations (sequence length " + Twine(*length) + ")");
  unrolledIterations += batch * *length;

  SmallVector<SmallVector<Value>> rowStates(stateCount), rowScans(scanOutputs);
  for (int64_t row = 0; row < batch; ++row) {
    SmallVector<Item> states;
    for (int64_t i = 0; i < stateCount; ++i) {
      Item item;
      if (batched) {
        item.tensor = operand(i, row);
      } else {
        FailureOr<Item> given = lookupItem(node->input(i));
        if (failed(given))
          return failure();
        item = *given;
      }
      if (!item.isSequence && !item.tensor)
        return failure();
      states.push_back(item);
    }
    SmallVector<SmallVector<Value>> scans(scanOutputs);
    for (int64_t t = 0; t < *length; ++t) {
      SmallVector<Item> bindings(states);
      for (int64_t k = 0; k < scanInputs; ++k) {
        Value scanned = operand(stateCount + k, row);
        if (!scanned)
          return failure();
        int64_t axis = (*inAxes)[k];
        int64_t step = (*inDirections)[k] ? *length - 1 - t : t;
        SmallVector<int64_t> shape(typeOf(scanned).getShape());
        shape.erase(shape.begin() + axis);
        FailureOr<Value> slice =
            reshape(sliceAlong(scanned, axis, step, step + 1), shape);
        if (failed(slice) || !*slice)
          return failure();
        Item item;
        item.tensor = *slice;
        bindings.push_back(item);
      }
      FailureOr<SmallVector<Item>> outputs =
          importBody("body", bindings, /*again=*/true);
      if (failed(outputs))
        return failure();
      states.assign(outputs->begin(), outputs->begin() + stateCount);
      for (int64_t k = 0; k < scanOutputs; ++k) {
        const Item &scan = (*outputs)[stateCount + k];
        if (scan.isSequence)
          return error("scan output " + Twine(k) + " is a sequence");
        scans[k].push_back(scan.tensor);
      }
    }
    // The final states: the node's first results, or of opset 8 this row's.
    for (auto [i, item] : llvm::enumerate(states)) {
      if (!batched) {
        (void)setItemResult(item);
      } else if (item.isSequence) {
        return error("state output " + Twine(i) + " is a sequence");
      } else {
        rowStates[i].push_back(item.tensor);
      }
    }
    for (int64_t k = 0; k < scanOutputs; ++k) {
      if ((*outDirections)[k])
        std::reverse(scans[k].begin(), scans[k].end());
      std::string what = "scan output " + std::to_string(k) + "'s axis";
      FailureOr<int64_t> axis = normalizeAxis(
          (*outAxes)[k], typeOf(scans[k].front()).getRank() + 1, what);
      if (failed(axis))
        return failure();
      FailureOr<Value> stacked = stackAlong(scans[k], *axis);
      if (failed(stacked))
        return failure();
      rowScans[k].push_back(*stacked);
    }
  }
  // Of opset 8, the rows' results stacked along the batch axis.
  if (batched)
    for (ArrayRef<Value> rows : rowStates)
      if (failed(setResult(stackAlong(rows, 0))))
        return failure();
  for (ArrayRef<Value> rows : rowScans)
    if (failed(setResult(batched ? stackAlong(rows, 0) : rows.front())))
      return failure();
  return success();
}

FailureOr<SmallVector<Value>> ONNXImporter::sequenceInput(unsigned index) {
  if (index >= static_cast<unsigned>(node->input_size()))
    return error("expects a sequence as input " + Twine(index));
  auto it = sequences.find(node->input(index));
  if (it == sequences.end())
    return error("expects input '" + node->input(index) + "' to be a sequence");
  return it->second;
}

/// The position operand `index` of a sequence op, normalized against a
/// sequence of `size` (an insert may also name the end).
FailureOr<int64_t> ONNXImporter::sequencePosition(unsigned index, int64_t size,
                                                  bool insert) {
  FailureOr<int64_t> position = constantScalarInt(index, "position");
  if (failed(position))
    return failure();
  int64_t limit = insert ? size + 1 : size;
  int64_t normalized = *position < 0 ? *position + size : *position;
  if (normalized < 0 || normalized >= limit)
    return error("position " + Twine(*position) +
                 " is outside the sequence of " + Twine(size) + " tensors");
  return normalized;
}

LogicalResult ONNXImporter::importSequenceEmpty() {
  Item item;
  item.isSequence = true;
  return setItemResult(item);
}

LogicalResult ONNXImporter::importSequenceConstruct() {
  if (failed(requireInputs(node->input_size())))
    return failure();
  Item item;
  item.isSequence = true;
  item.sequence = inputs;
  return setItemResult(item);
}

LogicalResult ONNXImporter::importSplitToSequence() {
  if (failed(requireInputs(1)))
    return failure();
  RankedTensorType type = typeOf(input(0));
  FailureOr<int64_t> axis = normalizeAxis(getInt("axis", 0), type.getRank());
  if (failed(axis))
    return failure();
  int64_t dim = type.getDimSize(*axis);
  SmallVector<int64_t> sizes;
  bool squeeze = false;
  if (input(1)) {
    FailureOr<SmallVector<int64_t>> split = constantInts(1, "split");
    if (failed(split))
      return failure();
    if (typeOf(input(1)).getRank() == 0) {
      int64_t chunk = split->front();
      if (chunk <= 0)
        return error("expects a positive split, got " + Twine(chunk));
      for (int64_t remaining = dim; remaining > 0; remaining -= chunk)
        sizes.push_back(std::min(chunk, remaining));
    } else {
      sizes = *split;
      int64_t total = 0;
      for (int64_t size : sizes) {
        if (size < 0)
          return error("expects split sizes >= 0, got " + Twine(size));
        total += size;
      }
      if (total != dim)
        return error("split sizes sum to " + Twine(total) + ", dim " +
                     Twine(*axis) + " has " + Twine(dim));
    }
  } else {
    sizes.assign(dim, 1);
    squeeze = getInt("keepdims", 1) == 0;
  }
  Item item;
  item.isSequence = true;
  if (!sizes.empty()) {
    SmallVector<Type> pieceTypes;
    for (int64_t size : sizes) {
      SmallVector<int64_t> shape(type.getShape());
      shape[*axis] = size;
      pieceTypes.push_back(type.clone(shape));
    }
    FailureOr<SmallVector<Value>> pieces = createOp<llm::SplitOp>(
        input(0),
        {namedAttr("axis", builder.getI64IntegerAttr(*axis)),
         namedAttr("sizes", builder.getDenseI64ArrayAttr(sizes))},
        TypeRange(pieceTypes));
    if (failed(pieces))
      return failure();
    for (Value piece : *pieces) {
      if (squeeze) {
        SmallVector<int64_t> shape(type.getShape());
        shape.erase(shape.begin() + *axis);
        FailureOr<Value> squeezed = reshape(piece, shape);
        if (failed(squeezed))
          return failure();
        piece = *squeezed;
      }
      item.sequence.push_back(piece);
    }
  }
  return setItemResult(item);
}

LogicalResult ONNXImporter::importSequenceAt() {
  FailureOr<SmallVector<Value>> sequence = sequenceInput(0);
  if (failed(sequence))
    return failure();
  FailureOr<int64_t> position = sequencePosition(1, sequence->size(), false);
  if (failed(position))
    return failure();
  return setResult((*sequence)[*position]);
}

LogicalResult ONNXImporter::importSequenceInsert() {
  FailureOr<SmallVector<Value>> sequence = sequenceInput(0);
  if (failed(sequence))
    return failure();
  if (!input(1))
    return error("expects input 'tensor'");
  int64_t position = sequence->size();
  if (input(2)) {
    FailureOr<int64_t> given = sequencePosition(2, sequence->size(), true);
    if (failed(given))
      return failure();
    position = *given;
  }
  Item item;
  item.isSequence = true;
  item.sequence = *sequence;
  item.sequence.insert(item.sequence.begin() + position, input(1));
  return setItemResult(item);
}

LogicalResult ONNXImporter::importSequenceErase() {
  FailureOr<SmallVector<Value>> sequence = sequenceInput(0);
  if (failed(sequence))
    return failure();
  if (sequence->empty())
    return error("erases from an empty sequence");
  int64_t position = sequence->size() - 1;
  if (input(1)) {
    FailureOr<int64_t> given = sequencePosition(1, sequence->size(), false);
    if (failed(given))
      return failure();
    position = *given;
  }
  Item item;
  item.isSequence = true;
  item.sequence = *sequence;
  item.sequence.erase(item.sequence.begin() + position);
  return setItemResult(item);
}

LogicalResult ONNXImporter::importSequenceLength() {
  FailureOr<SmallVector<Value>> sequence = sequenceInput(0);
  if (failed(sequence))
    return failure();
  return setResult(
      indexConstant({}, {static_cast<int64_t>(sequence->size())}));
}

LogicalResult ONNXImporter::importConcatFromSequence() {
  FailureOr<SmallVector<Value>> sequence = sequenceInput(0);
  if (failed(sequence))
    return failure();
  if (sequence->empty())
    return error("concatenates an empty sequence");
  if (!findAttr("axis"))
    return error("expects attribute 'axis'");
  bool newAxis = getInt("new_axis", 0) != 0;
  int64_t rank = typeOf(sequence->front()).getRank();
  FailureOr<int64_t> axis =
      normalizeAxis(getInt("axis", 0), newAxis ? rank + 1 : rank);
  if (failed(axis))
    return failure();
  if (newAxis)
    return setResult(stackAlong(*sequence, *axis));
  return setResult(create<llm::ConcatOp>(
      *sequence, {namedAttr("axis", builder.getI64IntegerAttr(*axis))}));
}

/// `values` (of one shape) stacked along a new dim at `axis`.
FailureOr<Value> ONNXImporter::stackAlong(ArrayRef<Value> values,
                                          int64_t axis) {
  SmallVector<Value> pieces;
  for (Value value : values) {
    SmallVector<int64_t> shape(typeOf(value).getShape());
    shape.insert(shape.begin() + axis, 1);
    FailureOr<Value> expanded = reshape(value, shape);
    if (failed(expanded))
      return failure();
    pieces.push_back(*expanded);
  }
  return create<llm::ConcatOp>(
      pieces, {namedAttr("axis", builder.getI64IntegerAttr(axis))});
}

//===----------------------------------------------------------------------===//
// Convolution and padding as gathers
//
// Conv (the patch embedding of a vision transformer, the convolutional
// front end of a speech encoder) becomes one gather of the input's patches
// (im2col, with out-of-bounds taps reading an appended zero) and one
// matmul with the weight, so that every backend runs it and quantization
// and the matmul fusions see an ordinary linear layer. Pad is one gather
// per padded axis, whose positions encode constant, edge or reflect mode.
//===----------------------------------------------------------------------===//

/// `value` gathered along `axis` at `positions` (of `shape`): each entry a
/// position along the axis, or -1 for `fill` (appended to the axis first),
/// or for `fillValue`, a rank-0 tensor of value's type, when given.
Value ONNXImporter::gatherOrFill(Value value, int64_t axis,
                                 ArrayRef<int64_t> shape,
                                 ArrayRef<int64_t> positions, double fill,
                                 Value fillValue) {
  RankedTensorType type = typeOf(value);
  int64_t dim = type.getDimSize(axis);
  SmallVector<int64_t> indices(positions);
  if (llvm::is_contained(positions, -1)) {
    SmallVector<int64_t> fillShape(type.getShape());
    fillShape[axis] = 1;
    FailureOr<Value> filler = create<llm::ExpandOp>(
        fillValue ? fillValue : scalarOf(type.getElementType(), fill), {},
        type.clone(fillShape));
    if (failed(filler))
      return {};
    FailureOr<Value> extended = create<llm::ConcatOp>(
        ValueRange{value, *filler},
        {namedAttr("axis", builder.getI64IntegerAttr(axis))});
    if (failed(extended))
      return {};
    value = *extended;
    for (int64_t &index : indices)
      if (index < 0)
        index = dim;
  }
  auto indexType = RankedTensorType::get(shape, builder.getI64Type());
  Value constant = createConstant(
      largeToResource(DenseElementsAttr::get(indexType, ArrayRef(indices)),
                      "gather_positions"),
      nodeLoc);
  FailureOr<Value> gathered = create<llm::GatherOp>(
      {value, constant}, {namedAttr("axis", builder.getI64IntegerAttr(axis))});
  return succeeded(gathered) ? *gathered : Value();
}

/// Attribute `name`'s `size` values, or `size` times `fallback` without it.
FailureOr<SmallVector<int64_t>>
ONNXImporter::spatialInts(StringRef name, int64_t size, int64_t fallback) {
  std::optional<SmallVector<int64_t>> given = getInts(name);
  if (!given)
    return SmallVector<int64_t>(size, fallback);
  if (static_cast<int64_t>(given->size()) != size)
    return error("expects " + Twine(size) + " values in '" + name +
                 "', got " + Twine(given->size()));
  return *given;
}

/// The sliding windows of a Conv, MaxPool or AveragePool node over the
/// spatial `dims` with `kernel`, from its strides, dilations, pads and
/// auto_pad: the output sizes and, for each output and kernel tap
/// (row-major), the flat input position the tap reads, kPadTap in the
/// padding or kBeyondTap past the padded end (in ceil mode only).
FailureOr<ONNXImporter::Windows>
ONNXImporter::slidingWindows(ArrayRef<int64_t> dims, ArrayRef<int64_t> kernel,
                             bool ceilMode) {
  int64_t spatial = dims.size();
  if (llvm::any_of(dims, ShapedType::isDynamic))
    return error("expects static spatial dims; give static input shapes "
                 "with --shape");
  FailureOr<SmallVector<int64_t>> strides = spatialInts("strides", spatial, 1);
  FailureOr<SmallVector<int64_t>> dilations =
      spatialInts("dilations", spatial, 1);
  FailureOr<SmallVector<int64_t>> pads = spatialInts("pads", 2 * spatial, 0);
  if (failed(strides) || failed(dilations) || failed(pads))
    return failure();
  std::string autoPad = getString("auto_pad", "NOTSET");
  Windows windows;
  SmallVector<int64_t> &out = windows.out;
  out.resize(spatial);
  SmallVector<int64_t> begin(spatial), end(spatial);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t s = (*strides)[i], d = (*dilations)[i];
    if (s <= 0 || d <= 0)
      return error("expects positive strides and dilations");
    if (kernel[i] <= 0)
      return error("expects a positive kernel_shape");
    int64_t extent = d * (kernel[i] - 1) + 1;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      out[i] = llvm::divideCeil(dims[i], s);
      int64_t total = std::max<int64_t>(0, (out[i] - 1) * s + extent - dims[i]);
      begin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      end[i] = total - begin[i];
    } else if (autoPad == "VALID" || autoPad == "NOTSET") {
      int64_t padBegin = autoPad == "VALID" ? 0 : (*pads)[i];
      int64_t padEnd = autoPad == "VALID" ? 0 : (*pads)[spatial + i];
      if (padBegin < 0 || padEnd < 0)
        return error("expects pads >= 0");
      int64_t span = dims[i] + padBegin + padEnd - extent;
      out[i] =
          span < 0 ? 0 : (ceilMode ? llvm::divideCeil(span, s) : span / s) + 1;
      // As torch: in ceil mode, the last window starts in the input or its
      // leading padding.
      if (ceilMode && out[i] > 1 && (out[i] - 1) * s >= dims[i] + padBegin)
        --out[i];
      begin[i] = padBegin;
      end[i] = padEnd;
    } else {
      return error("unknown auto_pad '" + autoPad + "'");
    }
    if (out[i] <= 0)
      return error("the kernel (extent " + Twine(extent) +
                   ") does not fit spatial dim " + Twine(i) + " of size " +
                   Twine(dims[i]));
  }

  int64_t outCount = computeProduct(out);
  windows.taps = computeProduct(kernel);
  if (outCount * windows.taps > kMaxGeneratedElements)
    return error("needs " + Twine(outCount * windows.taps) +
                 " patch positions, more than the importer builds");
  SmallVector<int64_t> inStrides = computeStrides(dims);
  SmallVector<int64_t> outStrides = computeStrides(out),
                       tapStrides = computeStrides(kernel);
  windows.positions.reserve(outCount * windows.taps);
  for (int64_t o = 0; o < outCount; ++o) {
    SmallVector<int64_t> at = delinearize(o, outStrides);
    for (int64_t k = 0; k < windows.taps; ++k) {
      SmallVector<int64_t> tap = delinearize(k, tapStrides);
      int64_t flat = 0, code = 0;
      for (int64_t i = 0; i < spatial; ++i) {
        int64_t p = at[i] * (*strides)[i] - begin[i] + tap[i] * (*dilations)[i];
        if (p >= dims[i] + end[i])
          code = kBeyondTap;
        else if ((p < 0 || p >= dims[i]) && code == 0)
          code = kPadTap;
        flat += p * inStrides[i];
      }
      windows.positions.push_back(code ? code : flat);
    }
  }
  return windows;
}

/// The rows of the convolution of `x` [N, C, in...] whose `outCount` output
/// positions read `taps` input positions each (`positions`, -1 reading
/// `fill`, or 0 without it): [N, G, O, C / G * taps], or [N, O, C * taps]
/// when `groups` is 1. One gather of the patches.
FailureOr<Value> ONNXImporter::patchRows(Value x, ArrayRef<int64_t> positions,
                                         int64_t outCount, int64_t taps,
                                         int64_t groups, Value fill) {
  RankedTensorType xType = typeOf(x);
  int64_t batch = xType.getDimSize(0), channels = xType.getDimSize(1);
  int64_t groupChannels = channels / groups;
  int64_t inCount = computeProduct(xType.getShape().drop_front(2));
  // [N, C, P] -> patches [N, G, Cg, O, K] -> [N, G, O, Cg * K].
  FailureOr<Value> flat = reshape(x, {batch, channels, inCount});
  if (failed(flat))
    return failure();
  Value patches =
      gatherOrFill(*flat, 2, {outCount, taps}, positions, 0.0, fill);
  if (!patches)
    return failure();
  FailureOr<Value> grouped =
      reshape(patches, {batch, groups, groupChannels, outCount, taps});
  if (failed(grouped))
    return failure();
  // Without groups the G axis is dropped, so that the weight is a plain
  // [M, C * K] matrix (quantized like any linear layer's).
  SmallVector<int64_t> rowShape{batch, groups, outCount, groupChannels * taps};
  if (groups == 1)
    rowShape.erase(rowShape.begin() + 1);
  return reshape(transposed(*grouped, {0, 1, 3, 2, 4}), rowShape);
}

/// A convolution's product [N, G, O, M / G] ([N, O, M] when `groups` is 1)
/// as [N, M, out...], plus the per-channel `bias` when given.
FailureOr<Value> ONNXImporter::channelsFirst(Value product,
                                             ArrayRef<int64_t> out,
                                             int64_t groups,
                                             int64_t outChannels, Value bias) {
  int64_t batch = typeOf(product).getDimSize(0);
  // -> [N, G, M / G, O] -> [N, M, out...], plus the bias per channel.
  SmallVector<int64_t> shape{batch, outChannels};
  llvm::append_range(shape, out);
  FailureOr<Value> result = reshape(
      transposed(product, groups == 1 ? SmallVector<int64_t>{0, 2, 1}
                                      : SmallVector<int64_t>{0, 1, 3, 2}),
      shape);
  if (failed(result))
    return failure();
  Value y = *result;
  if (bias)
    y = emit<llm::AddOp>({y, orNull(perChannel(bias, typeOf(y)))});
  if (!y)
    return failure();
  return y;
}

/// The convolution of `x` by `weight` [G, M / G, C / G * taps] ([M, C *
/// taps] when `groups` is 1): patchRows times the weight, channelsFirst.
FailureOr<Value> ONNXImporter::patchProduct(Value x,
                                            ArrayRef<int64_t> positions,
                                            ArrayRef<int64_t> out, int64_t taps,
                                            Value weight, int64_t groups,
                                            int64_t outChannels, Value bias) {
  FailureOr<Value> rows =
      patchRows(x, positions, computeProduct(out), taps, groups);
  if (failed(rows))
    return failure();
  FailureOr<Value> product = plainMatMul(*rows, weight, /*transposeRhs=*/true);
  if (failed(product))
    return failure();
  return channelsFirst(*product, out, groups, outChannels, bias);
}

/// [groups, rows, columns], or [rows, columns] when `groups` is 1: a
/// convolution's weight rows per group (a plain matrix without groups, so
/// that it is quantized like any linear layer's).
SmallVector<int64_t> ONNXImporter::groupedShape(int64_t groups, int64_t rows,
                                                int64_t columns) {
  if (groups == 1)
    return {rows, columns};
  return {groups, rows, columns};
}

/// `value`'s one value per channel of `of` [N, C, ...] as [C, 1, ...], to
/// broadcast against it.
FailureOr<Value> ONNXImporter::perChannel(Value value, RankedTensorType of) {
  SmallVector<int64_t> shape(of.getRank() - 1, 1);
  shape[0] = of.getDimSize(1);
  return reshape(value, shape);
}

/// The shape of a convolution (Conv's, ConvInteger's, QLinearConv's) of x
/// [N, C, in...] by w [M, C / G, K...]: its groups and their channels, and
/// its windows (slidingWindows, without ceil mode). `xName` and `wName`
/// name the operands in errors.
FailureOr<ONNXImporter::ConvGeometry>
ONNXImporter::convGeometry(Value x, Value w, StringRef xName, StringRef wName) {
  RankedTensorType xType = typeOf(x), wType = typeOf(w);
  int64_t rank = xType.getRank();
  if (rank < 3 || wType.getRank() != rank)
    return error("expects " + xName + " of rank 3 or more and " + wName +
                 " of the same rank, got " + Twine(rank) + " and " +
                 Twine(wType.getRank()));
  ConvGeometry geometry;
  int64_t channels = xType.getDimSize(1);
  geometry.outChannels = wType.getDimSize(0);
  geometry.groupChannels = wType.getDimSize(1);
  geometry.groups = getInt("group", 1);
  int64_t groups = geometry.groups;
  if (groups <= 0 || channels % groups || geometry.outChannels % groups ||
      channels / groups != geometry.groupChannels)
    return error("group " + Twine(groups) + " does not divide " + xName +
                 "'s " + Twine(channels) + " channels into " + wName + "'s " +
                 Twine(geometry.groupChannels) + " per group and its " +
                 Twine(geometry.outChannels) + " outputs");
  ArrayRef<int64_t> kernel = wType.getShape().drop_front(2);
  if (std::optional<SmallVector<int64_t>> given = getInts("kernel_shape"))
    if (!llvm::equal(*given, kernel))
      return error("kernel_shape " + shapeString(*given) + " differs from " +
                   wName + "'s " + shapeString(kernel));
  FailureOr<Windows> windows = slidingWindows(xType.getShape().drop_front(2),
                                              kernel, /*ceilMode=*/false);
  if (failed(windows))
    return failure();
  geometry.windows = std::move(*windows);
  return geometry;
}

LogicalResult ONNXImporter::importConv() {
  if (failed(requireInputs(2)))
    return failure();
  Value x = input(0), w = input(1);
  // After the ranks (convGeometry checks them first), before the rest.
  int64_t rank = typeOf(x).getRank();
  if (rank >= 3 && typeOf(w).getRank() == rank &&
      !isa<FloatType>(typeOf(x).getElementType()))
    return error("expects float X");
  FailureOr<ConvGeometry> geometry = convGeometry(x, w, "X", "W");
  if (failed(geometry))
    return failure();
  const Windows &windows = geometry->windows;
  // W [M, Cg, K...] -> [G, M / G, Cg * K].
  FailureOr<Value> weight =
      reshape(w, groupedShape(geometry->groups,
                              geometry->outChannels / geometry->groups,
                              geometry->groupChannels * windows.taps));
  if (failed(weight))
    return failure();
  return setResult(patchProduct(x, windows.positions, windows.out, windows.taps,
                                *weight, geometry->groups,
                                geometry->outChannels, input(2)));
}

/// ConvTranspose as columns and their sums (col2im): one matmul of every
/// input position's channels by W [C, M / G * K] as it is stored (so it is
/// quantized like a linear layer's, and no product is by a zero tap) gives
/// each input position's contribution to each tap, and output o sums,
/// along each axis, the (input position i, tap k) columns with i * stride
/// + k * dilation - pad = o: a gather and a sum. Output sizes from
/// output_shape (pads then follow auto_pad), or strides, output_padding,
/// dilations and pads.
LogicalResult ONNXImporter::importConvTranspose() {
  if (failed(requireInputs(2)))
    return failure();
  Value x = input(0), w = input(1);
  RankedTensorType xType = typeOf(x), wType = typeOf(w);
  int64_t rank = xType.getRank(), spatial = rank - 2;
  if (rank < 3 || wType.getRank() != rank)
    return error("expects X of rank 3 or more and W of the same rank, got " +
                 Twine(rank) + " and " + Twine(wType.getRank()));
  if (!isa<FloatType>(xType.getElementType()))
    return error("expects float X");
  if (xType.isDynamicDim(0) || xType.isDynamicDim(1))
    return error("expects static batch and channel dims; give static input "
                 "shapes with --shape");
  ArrayRef<int64_t> dims = xType.getShape().drop_front(2);
  if (llvm::any_of(dims, ShapedType::isDynamic))
    return error("expects static spatial dims; give static input shapes "
                 "with --shape");
  int64_t channels = xType.getDimSize(1), groups = getInt("group", 1);
  if (groups <= 0 || channels % groups || wType.getDimSize(0) != channels)
    return error("group " + Twine(groups) + " does not divide X's " +
                 Twine(channels) + " channels, or W's first dim (" +
                 Twine(wType.getDimSize(0)) + ") is not X's channels");
  int64_t groupChannels = channels / groups;
  int64_t outChannels = wType.getDimSize(1) * groups;
  ArrayRef<int64_t> kernel = wType.getShape().drop_front(2);
  if (std::optional<SmallVector<int64_t>> given = getInts("kernel_shape"))
    if (!llvm::equal(*given, kernel))
      return error("kernel_shape " + shapeString(*given) +
                   " differs from W's " + shapeString(kernel));
  FailureOr<SmallVector<int64_t>> strides = spatialInts("strides", spatial, 1);
  FailureOr<SmallVector<int64_t>> dilations =
      spatialInts("dilations", spatial, 1);
  FailureOr<SmallVector<int64_t>> pads = spatialInts("pads", 2 * spatial, 0);
  FailureOr<SmallVector<int64_t>> outputPadding =
      spatialInts("output_padding", spatial, 0);
  if (failed(strides) || failed(dilations) || failed(pads) ||
      failed(outputPadding))
    return failure();
  std::optional<SmallVector<int64_t>> outputShape = getInts("output_shape");
  if (outputShape && static_cast<int64_t>(outputShape->size()) == rank)
    outputShape->erase(outputShape->begin(), outputShape->begin() + 2);
  if (outputShape && static_cast<int64_t>(outputShape->size()) != spatial)
    return error("expects " + Twine(spatial) +
                 " values in 'output_shape', got " +
                 Twine(outputShape->size()));
  std::string autoPad = getString("auto_pad", "NOTSET");
  if (autoPad != "NOTSET" && autoPad != "VALID" && autoPad != "SAME_UPPER" &&
      autoPad != "SAME_LOWER")
    return error("unknown auto_pad '" + autoPad + "'");
  SmallVector<int64_t> out(spatial), begin(spatial);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t s = (*strides)[i], d = (*dilations)[i];
    if (s <= 0 || d <= 0)
      return error("expects positive strides and dilations");
    int64_t full =
        s * (dims[i] - 1) + (*outputPadding)[i] + (kernel[i] - 1) * d + 1;
    if (outputShape || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      out[i] = outputShape ? (*outputShape)[i] : dims[i] * s;
      // As ONNX's reference: halves rounded down, an output past the full
      // one (total < 0) extended at the end.
      int64_t total = full - out[i], half = llvm::divideFloorSigned(total, 2);
      begin[i] = autoPad == "SAME_UPPER" ? half : total - half;
    } else {
      int64_t padBegin = autoPad == "VALID" ? 0 : (*pads)[i];
      int64_t padEnd = autoPad == "VALID" ? 0 : (*pads)[spatial + i];
      if (padBegin < 0 || padEnd < 0)
        return error("expects pads >= 0");
      out[i] = full - padBegin - padEnd;
      begin[i] = padBegin;
    }
    if (out[i] <= 0)
      return error("gives no output along spatial dim " + Twine(i) + " (size " +
                   Twine(out[i]) + ")");
  }
  // Per axis, the (input position, tap) pairs each output sums.
  SmallVector<SmallVector<SmallVector<std::pair<int64_t, int64_t>>>> pairs(
      spatial);
  for (int64_t i = 0; i < spatial; ++i) {
    pairs[i].resize(out[i]);
    for (int64_t o = 0; o < out[i]; ++o)
      for (int64_t k = 0; k < kernel[i]; ++k) {
        int64_t scaled = o + begin[i] - k * (*dilations)[i];
        if (scaled >= 0 && scaled % (*strides)[i] == 0 &&
            scaled / (*strides)[i] < dims[i])
          pairs[i][o].push_back({scaled / (*strides)[i], k});
      }
  }
  int64_t outCount = computeProduct(out), taps = computeProduct(kernel),
          inCount = computeProduct(dims), sums = 1;
  for (int64_t i = 0; i < spatial; ++i) {
    size_t most = 1;
    for (const auto &list : pairs[i])
      most = std::max(most, list.size());
    sums *= most;
  }
  if (outCount * sums > kMaxGeneratedElements ||
      inCount * taps > kMaxGeneratedElements)
    return error("needs " + Twine(outCount * sums) +
                 " column positions, more than the importer builds");
  // positions[o][t]: the flat (input position, tap) column that term t of
  // output o reads, or -1 (0).
  SmallVector<int64_t> inStrides = computeStrides(dims),
                       outStrides = computeStrides(out),
                       tapStrides = computeStrides(kernel);
  SmallVector<int64_t> positions;
  positions.reserve(outCount * sums);
  for (int64_t o = 0; o < outCount; ++o) {
    SmallVector<int64_t> at = delinearize(o, outStrides);
    SmallVector<int64_t> terms{0};
    for (int64_t i = 0; i < spatial; ++i) {
      SmallVector<int64_t> next;
      for (int64_t term : terms)
        for (auto [p, k] : pairs[i][at[i]])
          next.push_back(term + p * inStrides[i] * taps + k * tapStrides[i]);
      terms = std::move(next);
    }
    terms.resize(sums, -1);
    llvm::append_range(positions, terms);
  }

  // The columns: X [N, G, Cg, P] as [N, G, P, Cg] times W [G, Cg, M / G *
  // K] (G dropped without groups), a plain matmul by the constant weight
  // as it is stored.
  int64_t batch = xType.getDimSize(0), perGroup = outChannels / groups;
  SmallVector<int64_t> xShape{batch, groups, groupChannels, inCount};
  SmallVector<int64_t> xPerm{0, 1, 3, 2};
  if (groups == 1) {
    xShape.erase(xShape.begin() + 1);
    xPerm = {0, 2, 1};
  }
  FailureOr<Value> xRows = reshape(x, xShape);
  FailureOr<Value> weight =
      reshape(w, groupedShape(groups, groupChannels, perGroup * taps));
  if (failed(xRows) || failed(weight))
    return failure();
  FailureOr<Value> columns = plainMatMul(transposed(*xRows, xPerm), *weight,
                                         /*transposeRhs=*/false);
  if (failed(columns))
    return failure();
  // [N, G, P, M / G, K] -> [N, M, P * K]; each output's terms gathered
  // ([N, M, O, T]) and summed.
  FailureOr<Value> split =
      reshape(*columns, {batch, groups, inCount, perGroup, taps});
  if (failed(split))
    return failure();
  FailureOr<Value> flat = reshape(transposed(*split, {0, 1, 3, 2, 4}),
                                  {batch, outChannels, inCount * taps});
  if (failed(flat))
    return failure();
  // One term per output: a gather, none when each output is its own column
  // (kernel = stride, no padding: a pixel shuffle).
  Value y = *flat;
  if (sums > 1)
    y = reduce<llm::ReduceSumOp>(
        gatherOrFill(y, 2, {outCount, sums}, positions, 0.0), {3}, false);
  else if (outCount != inCount * taps ||
           !llvm::equal(positions, llvm::seq<int64_t>(0, outCount)))
    y = gatherOrFill(y, 2, {outCount}, positions, 0.0);
  if (!y)
    return failure();
  SmallVector<int64_t> shape{batch, outChannels};
  llvm::append_range(shape, out);
  FailureOr<Value> result = reshape(y, shape);
  if (failed(result))
    return failure();
  y = *result;
  if (Value bias = input(2))
    y = emit<llm::AddOp>({y, orNull(perChannel(bias, typeOf(y)))});
  return y ? setResult(y) : failure();
}

/// DepthToSpace (DCR or CRD) and SpaceToDepth: a reshape, a transpose and
/// a reshape.
LogicalResult ONNXImporter::importDepthToSpace() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  if (type.getRank() != 4 || !type.hasStaticShape())
    return error("expects X of a static 4-D shape");
  int64_t b = getInt("blocksize", 0);
  if (b <= 0)
    return error("expects a positive attribute 'blocksize'");
  int64_t n = type.getDimSize(0), c = type.getDimSize(1),
          h = type.getDimSize(2), w = type.getDimSize(3);
  FailureOr<Value> blocks;
  SmallVector<int64_t> perm, shape;
  if (node->op_type() == "SpaceToDepth") {
    if (h % b || w % b)
      return error("blocksize " + Twine(b) + " does not divide H " + Twine(h) +
                   " and W " + Twine(w));
    blocks = reshape(x, {n, c, h / b, b, w / b, b});
    perm = {0, 3, 5, 1, 2, 4};
    shape = {n, c * b * b, h / b, w / b};
  } else {
    if (c % (b * b))
      return error("blocksize " + Twine(b) + " squared does not divide C " +
                   Twine(c));
    std::string mode = getString("mode", "DCR");
    if (mode != "DCR" && mode != "CRD")
      return error("unknown mode '" + mode + "'");
    if (mode == "DCR") {
      blocks = reshape(x, {n, b, b, c / (b * b), h, w});
      perm = {0, 3, 4, 1, 5, 2};
    } else {
      blocks = reshape(x, {n, c / (b * b), b, b, h, w});
      perm = {0, 1, 4, 2, 5, 3};
    }
    shape = {n, c / (b * b), h * b, w * b};
  }
  if (failed(blocks))
    return failure();
  return setResult(reshape(transposed(*blocks, perm), shape));
}

/// `x` (float) rounded half to even: floor(x), plus one above .5 and at
/// .5 when floor(x) is odd (floor - 2 floor(floor / 2) is 1 for odd, 0 for
/// even).
Value ONNXImporter::roundHalfEven(Value x) {
  if (!x)
    return {};
  Type element = typeOf(x).getElementType();
  auto c = [&](double value) { return scalarOf(element, value); };
  Value down = emit<llm::FloorOp>({x});
  Value fraction = emit<llm::SubOp>({x, down});
  Value odd = emit<llm::SubOp>(
      {down,
       emit<llm::MulOp>(
           {c(2), emit<llm::FloorOp>({emit<llm::MulOp>({down, c(0.5)})})})});
  Value half = c(0.5);
  return emit<llm::WhereOp>(
      {emit<llm::GreaterOp>({fraction, half}), emit<llm::AddOp>({down, c(1)}),
       emit<llm::WhereOp>({emit<llm::LessOp>({fraction, half}), down,
                           emit<llm::AddOp>({down, odd})})});
}

/// GridSample (opsets 16 and 20, 2-D) as torch's grid_sampler computes it:
/// each output samples X at the grid's normalized (x, y), unnormalized by
/// align_corners; border and reflection padding move the coordinate (each
/// tap's, in cubic mode) into the input, zeros padding reads 0 outside.
/// Every tap (1 nearest, 4 linear, 16 cubic) is a run-time gather of
/// X's pixel rows ([N * H * W, C]) and a weight; the taps' weighted sum,
/// in f32, is the output.
LogicalResult ONNXImporter::importGridSample() {
  if (failed(requireInputs(2)))
    return failure();
  Value x = input(0), grid = input(1);
  RankedTensorType xType = typeOf(x), gridType = typeOf(grid);
  if (xType.getRank() != 4 || !xType.hasStaticShape())
    return error("expects X of a static 4-D shape (2-D sampling)");
  if (!isa<FloatType>(xType.getElementType()))
    return error("expects float X");
  int64_t n = xType.getDimSize(0), c = xType.getDimSize(1),
          h = xType.getDimSize(2), w = xType.getDimSize(3);
  if (gridType.getRank() != 4 || !gridType.hasStaticShape() ||
      gridType.getDimSize(0) != n || gridType.getDimSize(3) != 2)
    return error("expects grid [" + Twine(n) + ", H_out, W_out, 2]");
  int64_t ho = gridType.getDimSize(1), wo = gridType.getDimSize(2), p = ho * wo;
  std::string mode = getString("mode", opset >= 20 ? "linear" : "bilinear");
  if (mode == "linear" && opset >= 20)
    mode = "bilinear";
  if (mode == "cubic" && opset >= 20)
    mode = "bicubic";
  if (mode != "bilinear" && mode != "nearest" && mode != "bicubic")
    return error("unknown mode '" + mode + "'");
  std::string padding = getString("padding_mode", "zeros");
  if (padding != "zeros" && padding != "border" && padding != "reflection")
    return error("unknown padding_mode '" + padding + "'");
  bool alignCorners = getInt("align_corners", 0) != 0;

  Type f32 = builder.getF32Type();
  auto cst = [&](double value) { return scalarOf(f32, value); };
  auto add = [&](Value a, Value b) { return emit<llm::AddOp>({a, b}); };
  auto sub = [&](Value a, Value b) { return emit<llm::SubOp>({a, b}); };
  auto mul = [&](Value a, Value b) { return emit<llm::MulOp>({a, b}); };
  auto floorOf = [&](Value v) { return emit<llm::FloorOp>({v}); };
  auto clip = [&](Value v, double high) {
    return emit<llm::MinOp>({emit<llm::MaxOp>({v, cst(0)}), cst(high)});
  };
  // torch's reflect_coordinates: into [low, high] / 2 by reflections.
  auto reflect = [&](Value v, double twiceLow, double twiceHigh) -> Value {
    if (twiceLow == twiceHigh)
      return mul(v, cst(0));
    double low = twiceLow / 2, span = (twiceHigh - twiceLow) / 2;
    Value in = emit<llm::AbsOp>({sub(v, cst(low))});
    Value flips = floorOf(emit<llm::DivOp>({in, cst(span)}));
    Value extra = sub(in, mul(flips, cst(span)));
    Value even = emit<llm::EqualOp>(
        {sub(flips, mul(cst(2), floorOf(mul(flips, cst(0.5))))), cst(0)});
    return emit<llm::WhereOp>(
        {even, add(extra, cst(low)), add(sub(cst(span), extra), cst(low))});
  };
  auto pad = [&](Value v, int64_t size) -> Value {
    if (padding == "border")
      return clip(v, size - 1);
    if (padding == "reflection")
      return clip(alignCorners ? reflect(v, 0, 2 * (size - 1))
                               : reflect(v, -1, 2 * size - 1),
                  size - 1);
    return v;
  };
  auto unnormalize = [&](Value v, int64_t size) {
    return alignCorners
               ? mul(add(v, cst(1)), cst((size - 1) / 2.0))
               : mul(sub(mul(add(v, cst(1)), cst(size)), cst(1)), cst(0.5));
  };

  FailureOr<Value> g = castTo(grid, f32);
  if (failed(g))
    return failure();
  Value ix = unnormalize(orNull(reshape(sliceAlong(*g, 3, 0, 1), {n, p})), w);
  Value iy = unnormalize(orNull(reshape(sliceAlong(*g, 3, 1, 2), {n, p})), h);
  if (mode != "bicubic") {
    ix = pad(ix, w);
    iy = pad(iy, h);
  }
  // X's pixels as rows [N * H * W, C]; a tap's row is n * H * W + y * W + x.
  FailureOr<Value> rows = reshape(transposed(x, {0, 2, 3, 1}), {n * h * w, c});
  FailureOr<Value> rowsF32 = failed(rows) ? rows : castTo(*rows, f32);
  if (failed(rowsF32) || !ix || !iy)
    return failure();
  SmallVector<int64_t> firstRows;
  for (int64_t b = 0; b < n; ++b)
    firstRows.push_back(b * h * w);
  Value batchRows = indexConstant({n, 1}, firstRows);
  Value sum;
  auto tap = [&](Value tx, Value ty, Value weight) {
    // Outside the input (zeros padding, or a cubic tap's neighbor) reads 0.
    Value inside = emit<llm::AndOp>(
        {emit<llm::AndOp>({emit<llm::GreaterEqualOp>({tx, cst(0)}),
                           emit<llm::LessEqualOp>({tx, cst(w - 1)})}),
         emit<llm::AndOp>({emit<llm::GreaterEqualOp>({ty, cst(0)}),
                           emit<llm::LessEqualOp>({ty, cst(h - 1)})})});
    Value flat = add(mul(clip(ty, h - 1), cst(w)), clip(tx, w - 1));
    FailureOr<Value> index =
        flat ? castTo(flat, builder.getI64Type()) : FailureOr<Value>(failure());
    if (failed(index))
      return false;
    FailureOr<Value> gathered = create<llm::GatherOp>(
        {*rowsF32, emit<llm::AddOp>({*index, batchRows})},
        {namedAttr("axis", builder.getI64IntegerAttr(0))});
    Value weighted = emit<llm::WhereOp>({inside, weight, cst(0)});
    if (failed(gathered) || !weighted)
      return false;
    Value term = mul(*gathered, orNull(reshape(weighted, {n, p, 1})));
    sum = sum ? add(sum, term) : term;
    return static_cast<bool>(sum);
  };
  bool ok = true;
  if (mode == "nearest") {
    ok = tap(roundHalfEven(ix), roundHalfEven(iy), cst(1));
  } else if (mode == "bilinear") {
    Value x0 = floorOf(ix), y0 = floorOf(iy);
    Value x1 = add(x0, cst(1)), y1 = add(y0, cst(1));
    Value fx = sub(ix, x0), fy = sub(iy, y0);
    Value gx = sub(cst(1), fx), gy = sub(cst(1), fy);
    ok = tap(x0, y0, mul(gx, gy)) && tap(x1, y0, mul(fx, gy)) &&
         tap(x0, y1, mul(gx, fy)) && tap(x1, y1, mul(fx, fy));
  } else {
    // Keys' cubic weights with A = -0.75 for the 4 taps from floor - 1.
    double a = -0.75;
    auto weights = [&](Value t) {
      auto near = [&](Value s) { // ((A + 2) s - (A + 3)) s s + 1
        return add(mul(mul(sub(mul(cst(a + 2), s), cst(a + 3)), s), s), cst(1));
      };
      auto far = [&](Value s) { // ((A s - 5A) s + 8A) s - 4A
        return sub(
            mul(add(mul(sub(mul(cst(a), s), cst(5 * a)), s), cst(8 * a)), s),
            cst(4 * a));
      };
      return std::array<Value, 4>{far(add(t, cst(1))), near(t),
                                  near(sub(cst(1), t)), far(sub(cst(2), t))};
    };
    Value x0 = floorOf(ix), y0 = floorOf(iy);
    std::array<Value, 4> wx = weights(sub(ix, x0)), wy = weights(sub(iy, y0));
    for (int j = 0; j < 4 && ok; ++j)
      for (int i = 0; i < 4 && ok; ++i)
        ok = tap(pad(add(x0, cst(i - 1)), w), pad(add(y0, cst(j - 1)), h),
                 mul(wx[i], wy[j]));
  }
  if (!ok || !sum)
    return failure();
  // [N, P, C] -> [N, C, H_out, W_out] in X's type.
  FailureOr<Value> y = reshape(transposed(sum, {0, 2, 1}), {n, c, ho, wo});
  if (failed(y))
    return failure();
  return setResult(castTo(*y, xType.getElementType()));
}

//===----------------------------------------------------------------------===//
// Signal ops: DFT and STFT as a matmul by a constant cos/sin matrix, window
// functions and MelWeightMatrix as constants (an audio model's front end).
//===----------------------------------------------------------------------===//

/// The `length`-point DFT along `axis` of `x` [..., n (at axis), ..., c]
/// (c = 1: real, 2: complex; x truncated to `length` or read as zero past
/// n), its first length / 2 + 1 bins with `onesided`, inverse (e^+, over
/// length) with `inverse`: [..., bins (at axis), ..., 2]. One matmul of
/// each signal's (sample, part) pairs by a constant [n' * c, bins * 2]
/// matrix of cosines and sines.
FailureOr<Value> ONNXImporter::dftAlong(Value x, int64_t axis, int64_t length,
                                        bool inverse, bool onesided) {
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank();
  if (!isa<FloatType>(type.getElementType()))
    return error("expects a float signal");
  if (!type.hasStaticShape())
    return error("expects a static signal shape; give static input shapes "
                 "with --shape");
  int64_t parts = type.getDimSize(rank - 1);
  if (rank < 2 || (parts != 1 && parts != 2))
    return error("expects a signal whose last dim is 1 (real) or 2 "
                 "(complex), got shape " +
                 shapeString(type.getShape()));
  if (axis < 0 || axis >= rank - 1)
    return error("the DFT axis must be a signal axis, not the last");
  if (length <= 0)
    return error("expects a positive DFT length, got " + Twine(length));
  if (onesided && parts == 2)
    return error("onesided applies to real signals only");
  int64_t n = type.getDimSize(axis), used = std::min(n, length);
  int64_t bins = onesided ? length / 2 + 1 : length;
  if (4 * used * parts * bins * 2 > kMaxGeneratedElements)
    return error("a " + Twine(length) +
                 "-point DFT needs a larger matrix "
                 "than the importer builds");
  Value signal = used < n ? sliceAlong(x, axis, 0, used) : x;
  // [rest..., n', c] -> [R, n' * c] rows.
  SmallVector<int64_t> perm, rest;
  for (int64_t d = 0; d < rank - 1; ++d)
    if (d != axis) {
      perm.push_back(d);
      rest.push_back(type.getDimSize(d));
    }
  perm.push_back(axis);
  perm.push_back(rank - 1);
  int64_t rows = computeProduct(rest);
  FailureOr<Value> flat =
      reshape(transposed(signal, perm), {rows, used * parts});
  if (failed(flat))
    return failure();
  // (xr + i xi) (cos + i s sin), s = -1 forward, +1 inverse.
  double sign = inverse ? 1.0 : -1.0, scale = inverse ? 1.0 / length : 1.0;
  SmallVector<double> matrix(used * parts * bins * 2, 0.0);
  for (int64_t j = 0; j < used; ++j)
    for (int64_t k = 0; k < bins; ++k) {
      double angle = 2 * M_PI * static_cast<double>((j * k) % length) / length;
      double cosine = std::cos(angle) * scale,
             sine = sign * std::sin(angle) * scale;
      int64_t real = (j * parts) * bins * 2 + k * 2;
      matrix[real] = cosine;
      matrix[real + 1] = sine;
      if (parts == 2) {
        int64_t imag = (j * parts + 1) * bins * 2 + k * 2;
        matrix[imag] = -sine;
        matrix[imag + 1] = cosine;
      }
    }
  Value lhs = *flat, dft;
  if (type.getElementType().isF32()) {
    // x M as [xh, xh, xl, xl] [Mh; Ml; Mh; Ml], each part split into its
    // bf16 head and the rest: exact in f32 (host, hls), and where a backend
    // rounds products' operands to 16 bits (the ptx tensor cores) the heads
    // stay exact and the rests lose 2^-8 of their 2^-8: about 16 bits of
    // the spectrum, where one rounded product keeps 8.
    SmallVector<double> head, tail;
    for (double m : matrix) {
      APFloat rounded(static_cast<float>(m));
      bool losesInfo = false;
      rounded.convert(APFloat::BFloat(), APFloat::rmNearestTiesToEven,
                      &losesInfo);
      rounded.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven,
                      &losesInfo);
      head.push_back(rounded.convertToDouble());
      tail.push_back(static_cast<float>(m) - head.back());
    }
    SmallVector<double> stacked;
    for (int i = 0; i < 2; ++i) {
      llvm::append_range(stacked, head);
      llvm::append_range(stacked, tail);
    }
    dft = floatConstant(RankedTensorType::get({4 * used * parts, bins * 2},
                                              type.getElementType()),
                        stacked);
    FailureOr<Value> rounded = castTo(lhs, builder.getBF16Type());
    if (failed(rounded))
      return failure();
    FailureOr<Value> narrow = castTo(*rounded, type.getElementType());
    if (failed(narrow))
      return failure();
    Value rest = emit<llm::SubOp>({lhs, *narrow});
    lhs = concatAlong({*narrow, *narrow, rest, rest}, 1);
    if (!lhs)
      return failure();
  } else {
    dft = floatConstant(
        RankedTensorType::get({used * parts, bins * 2}, type.getElementType()),
        matrix);
  }
  FailureOr<Value> product = plainMatMul(lhs, dft, /*transposeRhs=*/false);
  if (failed(product))
    return failure();
  // [R, bins * 2] -> [rest..., bins, 2] -> bins back at axis.
  SmallVector<int64_t> shape(rest);
  shape.push_back(bins);
  shape.push_back(2);
  FailureOr<Value> spectrum = reshape(*product, shape);
  if (failed(spectrum))
    return failure();
  SmallVector<int64_t> back;
  for (int64_t d = 0; d < rank - 1; ++d)
    back.push_back(d < axis ? d : d == axis ? rank - 2 : d - 1);
  back.push_back(rank - 1);
  return orNull(transposed(*spectrum, back));
}

/// DFT (opsets 17 and 20): the axis from the attribute (17) or the input
/// (20, default -2), dft_length from its input or the axis's size.
LogicalResult ONNXImporter::importDFT() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  int64_t rank = typeOf(x).getRank();
  int64_t axis = opset >= 20 ? -2 : getInt("axis", 1);
  if (opset >= 20 && input(2)) {
    FailureOr<int64_t> given = constantScalarInt(2, "axis");
    if (failed(given))
      return failure();
    axis = *given;
  }
  // The signal axes exclude the last (real and imaginary parts).
  if (axis < -rank || axis > rank - 2 || axis == -1)
    return error("axis " + Twine(axis) + " is not a signal axis of a rank " +
                 Twine(rank) + " input");
  if (axis < 0)
    axis += rank;
  int64_t length = typeOf(x).getDimSize(axis);
  if (input(1)) {
    FailureOr<int64_t> given = constantScalarInt(1, "dft_length");
    if (failed(given))
      return failure();
    length = *given;
  }
  bool inverse = getInt("inverse", 0) != 0, onesided = getInt("onesided", 0);
  if (inverse && onesided)
    return error("onesided and inverse exclude each other");
  return setResult(dftAlong(x, axis, length, inverse, onesided));
}

/// STFT: the signal's frames (a gather of every frame_step-th window of
/// frame_length samples), times the window, then dftAlong over each frame.
LogicalResult ONNXImporter::importSTFT() {
  if (failed(requireInputs(2)))
    return failure();
  Value signal = input(0), window = input(2);
  RankedTensorType type = typeOf(signal);
  if (type.getRank() != 3 || !type.hasStaticShape())
    return error("expects a static signal [batch, length, 1 or 2]");
  FailureOr<int64_t> step = constantScalarInt(1, "frame_step");
  if (failed(step))
    return failure();
  int64_t frameLength = window ? typeOf(window).getNumElements() : 0;
  if (input(3)) {
    FailureOr<int64_t> given = constantScalarInt(3, "frame_length");
    if (failed(given))
      return failure();
    if (window && *given != frameLength)
      return error("frame_length " + Twine(*given) + " differs from the " +
                   Twine(frameLength) + " values of the window");
    frameLength = *given;
  }
  if (frameLength <= 0)
    return error("expects input 'window' or 'frame_length'");
  int64_t length = type.getDimSize(1);
  if (*step <= 0 || frameLength > length)
    return error("frame_step " + Twine(*step) + " and frame_length " +
                 Twine(frameLength) + " frame no part of a signal of " +
                 Twine(length) + " samples");
  int64_t frames = (length - frameLength) / *step + 1;
  if (frames * frameLength > kMaxGeneratedElements)
    return error("needs more frame positions than the importer builds");
  SmallVector<int64_t> positions;
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t j = 0; j < frameLength; ++j)
      positions.push_back(f * *step + j);
  Value framed = gatherOrFill(signal, 1, {frames, frameLength}, positions, 0);
  if (window) {
    FailureOr<Value> cast = castTo(window, type.getElementType());
    if (failed(cast))
      return failure();
    framed =
        emit<llm::MulOp>({framed, orNull(reshape(*cast, {frameLength, 1}))});
  }
  if (!framed)
    return failure();
  return setResult(dftAlong(framed, 2, frameLength, /*inverse=*/false,
                            getInt("onesided", 1) != 0));
}

/// HannWindow, HammingWindow and BlackmanWindow: a constant of `size`
/// values (size known at compile time), a0 - a1 cos(2 pi n / N) + a2
/// cos(4 pi n / N) with N = size (periodic) or size - 1.
LogicalResult ONNXImporter::importWindow() {
  if (failed(requireInputs(1)))
    return failure();
  FailureOr<int64_t> size = constantScalarInt(0, "size");
  if (failed(size))
    return failure();
  if (*size <= 0 || *size > kMaxGeneratedElements)
    return error("window size " + Twine(*size) + " is out of range");
  int64_t dataType = getInt("output_datatype", onnx::TensorProto::FLOAT);
  ElementType element = elementTypeOf(dataType, context);
  if (!element.type || !isa<FloatType>(element.type))
    return error("output_datatype " + dataTypeName(dataType) +
                 " is not a float type");
  StringRef op = node->op_type();
  double a0 = 0.5, a1 = 0.5, a2 = 0.0;
  if (op == "HammingWindow") {
    a0 = 25.0 / 46.0;
    a1 = 1.0 - a0;
  } else if (op == "BlackmanWindow") {
    a0 = 0.42;
    a2 = 0.08;
  }
  double period = getInt("periodic", 1) ? *size : *size - 1;
  SmallVector<double> values;
  for (int64_t i = 0; i < *size; ++i) {
    double phase = period == 0 ? 0.0 : 2 * M_PI * i / period;
    values.push_back(a0 - a1 * std::cos(phase) + a2 * std::cos(2 * phase));
  }
  return setResult(
      floatConstant(RankedTensorType::get({*size}, element.type), values));
}

/// MelWeightMatrix: the [dft_length / 2 + 1, num_mel_bins] triangular
/// filter bank, computed as ONNX's reference computes it (the band edges'
/// mel values in f32, the bins' frequencies in f64, floored to DFT bins).
LogicalResult ONNXImporter::importMelWeightMatrix() {
  if (failed(requireInputs(5)))
    return failure();
  FailureOr<int64_t> mels = constantScalarInt(0, "num_mel_bins");
  FailureOr<int64_t> dftLength = constantScalarInt(1, "dft_length");
  FailureOr<int64_t> rate = constantScalarInt(2, "sample_rate");
  if (failed(mels) || failed(dftLength) || failed(rate))
    return failure();
  std::optional<SmallVector<double>> lower = evaluate(known(input(3)));
  std::optional<SmallVector<double>> upper = evaluate(known(input(4)));
  if (!lower || !upper || lower->size() != 1 || upper->size() != 1)
    return error("lower_edge_hertz and upper_edge_hertz must be compile-time "
                 "scalars");
  int64_t spectrum = *dftLength / 2 + 1;
  if (*mels <= 0 || *dftLength <= 0 || *rate <= 0 ||
      spectrum * *mels > kMaxGeneratedElements)
    return error("expects positive num_mel_bins, dft_length and sample_rate");
  int64_t dataType = getInt("output_datatype", onnx::TensorProto::FLOAT);
  ElementType element = elementTypeOf(dataType, context);
  if (!element.type || !isa<FloatType>(element.type))
    return error("output_datatype " + dataTypeName(dataType) +
                 " is not a float type");
  auto toMel = [](float hz) {
    return 2595.0f * std::log10(1.0f + hz / 700.0f);
  };
  float lowMel = toMel(static_cast<float>(lower->front())),
        highMel = toMel(static_cast<float>(upper->front()));
  float melStep = (highMel - lowMel) / static_cast<float>(*mels + 2);
  SmallVector<int64_t> edges;
  for (int64_t i = 0; i < *mels + 2; ++i) {
    double mel = i * static_cast<double>(melStep) + lowMel;
    double hz = 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
    edges.push_back(static_cast<int64_t>(
        std::floor((*dftLength + 1) * hz / static_cast<double>(*rate))));
  }
  SmallVector<double> weights(spectrum * *mels, 0.0);
  auto at = [&](int64_t bin, int64_t mel) -> double * {
    return bin >= 0 && bin < spectrum ? &weights[bin * *mels + mel] : nullptr;
  };
  for (int64_t m = 0; m < *mels; ++m) {
    int64_t left = edges[m], center = edges[m + 1], right = edges[m + 2];
    if (center == left) {
      if (double *w = at(center, m))
        *w = 1.0;
    } else {
      for (int64_t j = left; j <= center; ++j)
        if (double *w = at(j, m))
          *w = static_cast<double>(j - left) / (center - left);
    }
    for (int64_t j = center; j < right; ++j)
      if (double *w = at(j, m))
        *w = static_cast<double>(right - j) / (right - center);
  }
  return setResult(floatConstant(
      RankedTensorType::get({spectrum, *mels}, element.type), weights));
}

/// `values` as a constant of `type` (a float element type).
Value ONNXImporter::floatConstant(RankedTensorType type,
                                  ArrayRef<double> values) {
  const llvm::fltSemantics &semantics =
      cast<FloatType>(type.getElementType()).getFloatSemantics();
  SmallVector<APFloat> elements;
  elements.reserve(values.size());
  for (double value : values) {
    bool losesInfo = false;
    APFloat converted(value);
    converted.convert(semantics, APFloat::rmNearestTiesToEven, &losesInfo);
    elements.push_back(converted);
  }
  return createConstant(DenseElementsAttr::get(type, elements), nodeLoc);
}

/// MaxPool and AveragePool: each window's taps gathered as Conv's patches
/// ([N, C, O, K]) and reduced by their maximum or mean. A tap in the
/// padding reads the lowest value (MaxPool) or 0; the mean divides by the
/// window's taps in the input, or with count_include_pad also those in the
/// pads (never those past the padded end that ceil_mode adds). MaxPool's
/// Indices are each maximum's place in X flattened (the spatial dims
/// row-major, or column-major with storage_order 1, after N and C): the
/// first tap in the window that holds the maximum.
LogicalResult ONNXImporter::importPool() {
  if (failed(requireInputs(1)))
    return failure();
  bool isMax = node->op_type() == "MaxPool";
  bool withIndices = isMax && outputUsed(1);
  int64_t storageOrder = getInt("storage_order", 0);
  if (storageOrder != 0 && storageOrder != 1)
    return error("storage_order " + Twine(storageOrder) + " is not 0 or 1");
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  Type element = type.getElementType();
  int64_t rank = type.getRank(), spatial = rank - 2;
  if (rank < 3)
    return error("expects X of rank 3 or more, got " + Twine(rank));
  if (!isa<FloatType>(element) && !(isMax && element.isInteger(8)))
    return error(isMax ? "expects float, int8 or uint8 X" : "expects float X");
  // uint8 bytes with their top bit flipped order as int8 does: the maximum
  // of the flipped bytes, flipped back, is the uint8 maximum (and the
  // padding's -128 is uint8's 0).
  bool flipped = isMax && unsignedNames.contains(node->input(0));
  if (flipped)
    x = emit<llm::XorOp>({x, scalarOf(element, -128)});
  std::optional<SmallVector<int64_t>> kernel = getInts("kernel_shape");
  if (!kernel)
    return error("expects attribute 'kernel_shape'");
  if (static_cast<int64_t>(kernel->size()) != spatial)
    return error("expects " + Twine(spatial) +
                 " values in 'kernel_shape', got " + Twine(kernel->size()));
  if (type.isDynamicDim(0) || type.isDynamicDim(1))
    return error("expects static batch and channel dims; give static input "
                 "shapes with --shape");
  FailureOr<Windows> windows = slidingWindows(
      type.getShape().drop_front(2), *kernel, getInt("ceil_mode", 0) != 0);
  if (failed(windows))
    return failure();
  int64_t batch = type.getDimSize(0), channels = type.getDimSize(1);
  int64_t inCount = computeProduct(type.getShape().drop_front(2));
  int64_t outCount = computeProduct(windows->out), taps = windows->taps;
  SmallVector<int64_t> positions(windows->positions);
  SmallVector<double> counts(outCount, 0.0);
  bool includePad = getInt("count_include_pad", 0) != 0;
  for (int64_t o = 0; o < outCount; ++o)
    for (int64_t k = 0; k < taps; ++k) {
      int64_t &p = positions[o * taps + k];
      if (p >= 0 || (includePad && p == kPadTap))
        counts[o] += 1;
      if (p < 0)
        p = -1;
    }
  double fill = 0.0;
  if (isMax)
    fill = isa<FloatType>(element) ? -std::numeric_limits<double>::infinity()
                                   : -128.0;
  FailureOr<Value> flat = reshape(x, {batch, channels, inCount});
  if (failed(flat))
    return failure();
  Value patches = gatherOrFill(*flat, 2, {outCount, taps}, positions, fill);
  Value pooled = isMax ? reduce<llm::ReduceMaxOp>(patches, {3}, false)
                       : reduce<llm::ReduceSumOp>(patches, {3}, false);
  if (!isMax && pooled) {
    if (llvm::all_equal(counts))
      pooled = emit<llm::DivOp>({pooled, scalarOf(element, counts.front())});
    else
      pooled = emit<llm::DivOp>(
          {pooled,
           floatConstant(RankedTensorType::get({outCount}, element), counts)});
  }
  if (pooled && flipped) {
    pooled = emit<llm::XorOp>({pooled, scalarOf(element, -128)});
    markUnsignedOutput(0);
  }
  if (!pooled)
    return failure();
  SmallVector<int64_t> shape{batch, channels};
  llvm::append_range(shape, windows->out);
  if (failed(setResult(reshape(pooled, shape))))
    return failure();
  if (!withIndices)
    return success();

  // Tap k of window o holding position p keys k * inCount + p' (p' = p in
  // the storage order); the least key among the taps equal to the maximum
  // is the first such tap, and its remainder by inCount the position.
  // Column-major strides: the first spatial dim varies fastest.
  ArrayRef<int64_t> dims = type.getShape().drop_front(2);
  SmallVector<int64_t> rowStrides = computeStrides(dims),
                       columnStrides(dims.size(), 1);
  for (size_t d = 1; d < dims.size(); ++d)
    columnStrides[d] = columnStrides[d - 1] * dims[d - 1];
  SmallVector<int64_t> keys(outCount * taps,
                            std::numeric_limits<int64_t>::max());
  for (int64_t o = 0; o < outCount; ++o)
    for (int64_t k = 0; k < taps; ++k) {
      int64_t p = positions[o * taps + k];
      if (p < 0)
        continue;
      int64_t place = storageOrder == 1
                          ? linearize(delinearize(p, rowStrides), columnStrides)
                          : p;
      keys[o * taps + k] = k * inCount + place;
    }
  Type i64 = builder.getI64Type();
  FailureOr<Value> maxima = reshape(pooled, {batch, channels, outCount, 1});
  if (failed(maxima))
    return failure();
  Value chosen = emit<llm::WhereOp>(
      {emit<llm::EqualOp>({patches, *maxima}),
       indexConstant({outCount, taps}, keys),
       indexConstant({}, {std::numeric_limits<int64_t>::max()})});
  Value first = reduce<llm::ReduceMinOp>(chosen, {3}, false);
  SmallVector<int64_t> offsets;
  for (int64_t row = 0; row < batch * channels; ++row)
    offsets.push_back(row * inCount);
  Value indices =
      emit<llm::AddOp>({emit<llm::ModOp>({first, scalarOf(i64, inCount)}),
                        indexConstant({batch, channels, 1}, offsets)});
  if (!indices)
    return failure();
  return setResult(reshape(indices, shape));
}

/// Compress of a condition known at compile time (a constant, or a graph
/// input whose value llm-run is given): one gather of the selected slices
/// along `axis`, or of the selected elements of the input flattened. A
/// condition shorter than the axis drops the slices past its end.
LogicalResult ONNXImporter::importCompress() {
  if (failed(requireInputs(2)))
    return failure();
  Value data = input(0);
  std::optional<SmallVector<int64_t>> condition = compileTimeInts(input(1));
  if (!condition || typeOf(input(1)).getRank() != 1)
    return error("input 'condition' must be a 1-D compile-time constant: "
                 "the output's shape depends on its values, and llmc "
                 "compiles static shapes");
  RankedTensorType type = typeOf(data);
  std::optional<int64_t> axis;
  if (findAttr("axis")) {
    FailureOr<int64_t> normalized =
        normalizeAxis(getInt("axis", 0), type.getRank());
    if (failed(normalized))
      return failure();
    axis = *normalized;
  }
  int64_t length = axis ? type.getDimSize(*axis) : type.getNumElements();
  if (static_cast<int64_t>(condition->size()) > length)
    return error(
        "the condition has " + Twine(condition->size()) +
        " entries, more than the " + Twine(length) +
        (axis ? " slices along axis " + Twine(*axis) : Twine(" elements")));
  SmallVector<int64_t> selected;
  for (auto [index, flag] : llvm::enumerate(*condition))
    if (flag)
      selected.push_back(index);
  if (selected.empty())
    return error("the condition selects nothing: an empty result is not "
                 "supported");
  if (!axis) {
    FailureOr<Value> flat = reshape(data, {length});
    if (failed(flat))
      return failure();
    data = *flat;
  }
  return setResult(create<llm::GatherOp>(
      {data, indexConstant({static_cast<int64_t>(selected.size())}, selected)},
      {namedAttr("axis", builder.getI64IntegerAttr(axis.value_or(0)))}));
}

/// MaxUnpool: zeros of the unpooled shape (each spatial dim's (in - 1) *
/// stride + kernel - pads) with X's values written at the places I names in
/// it flattened (MaxPool's Indices), as a scatter with run-time indices; a
/// place named twice takes the last value. A larger output_shape pads that
/// result with zeros at the end of each spatial dim, as ONNX's test data
/// reads it (the indices stay those of the unpooled shape).
LogicalResult ONNXImporter::importMaxUnpool() {
  if (failed(requireInputs(2)))
    return failure();
  Value x = input(0), indices = input(1);
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank(), spatial = rank - 2;
  if (rank < 3 || !isa<FloatType>(type.getElementType()))
    return error("expects a float X of rank 3 or more, got " +
                 shapeString(type.getShape()));
  if (typeOf(indices).getShape() != type.getShape() ||
      !isa<IntegerType>(typeOf(indices).getElementType()))
    return error("expects integer I of X's shape " +
                 shapeString(type.getShape()) + ", got " +
                 shapeString(typeOf(indices).getShape()));
  std::optional<SmallVector<int64_t>> kernel = getInts("kernel_shape");
  if (!kernel || static_cast<int64_t>(kernel->size()) != spatial)
    return error("expects " + Twine(spatial) + " values in 'kernel_shape'");
  FailureOr<SmallVector<int64_t>> strides = spatialInts("strides", spatial, 1);
  FailureOr<SmallVector<int64_t>> pads = spatialInts("pads", 2 * spatial, 0);
  if (failed(strides) || failed(pads))
    return failure();
  SmallVector<int64_t> shape(type.getShape().take_front(2));
  for (int64_t i = 0; i < spatial; ++i)
    shape.push_back((type.getDimSize(2 + i) - 1) * (*strides)[i] +
                    (*kernel)[i] - (*pads)[i] - (*pads)[spatial + i]);
  if (llvm::any_of(shape, [](int64_t dim) { return dim < 1; }))
    return error("the unpooled shape " + shapeString(shape) + " is empty");
  SmallVector<int64_t> outShape(shape);
  if (input(2)) {
    FailureOr<SmallVector<int64_t>> given = constantInts(2, "output_shape");
    if (failed(given))
      return failure();
    if (static_cast<int64_t>(given->size()) != rank ||
        llvm::any_of(
            llvm::zip(*given, shape),
            [](auto dims) { return std::get<0>(dims) < std::get<1>(dims); }) ||
        ArrayRef<int64_t>(*given).take_front(2) !=
            ArrayRef<int64_t>(shape).take_front(2))
      return error("output_shape " + shapeString(*given) +
                   " is not the unpooled shape " + shapeString(shape) +
                   " or larger in its spatial dims");
    outShape = *given;
  }
  int64_t count = computeProduct(shape), updates = type.getNumElements();
  if (count * updates > kMaxGeneratedElements)
    return error("writes " + Twine(updates) + " values into " + Twine(count) +
                 " places: more than the importer builds");
  FailureOr<Value> wide = castTo(indices, builder.getI64Type());
  if (failed(wide))
    return failure();
  FailureOr<Value> rows = reshape(*wide, {updates});
  FailureOr<Value> values = reshape(x, {updates, 1});
  if (failed(rows) || failed(values))
    return failure();
  Value result = scatterRows(
      zerosOf(RankedTensorType::get({count, 1}, type.getElementType())), *rows,
      *values, "none");
  FailureOr<Value> unpooled =
      result ? reshape(result, shape) : FailureOr<Value>(failure());
  if (failed(unpooled))
    return failure();
  result = *unpooled;
  for (int64_t axis = 2; axis < rank && result; ++axis) {
    int64_t extra = outShape[axis] - shape[axis];
    if (extra == 0)
      continue;
    SmallVector<int64_t> padShape(typeOf(result).getShape());
    padShape[axis] = extra;
    result = concatAlong({result, zerosOf(RankedTensorType::get(
                                      padShape, type.getElementType()))},
                         axis);
  }
  if (!result)
    return failure();
  return setResult(result);
}

namespace {
/// One output position of a Resize along one axis: the input positions
/// it reads (-1: the extrapolation value) and their weights.
using ResizeTaps = SmallVector<std::pair<int64_t, double>, 4>;
} // namespace

/// The taps of a Resize output whose position in the input is `x` (of an
/// axis of `n`), as ONNX's reference computes them: with x0 = ceil(x) - 1
/// and r = x - x0 in (0, 1], nearest takes x0 or x0 + 1 by nearest_mode,
/// linear x0 and x0 + 1, cubic x0 - 1 .. x0 + 2 with Keys' weights of
/// coefficient `a`; positions outside the input read its edge, or with
/// `excludeOutside` are dropped and the weights renormalized.
static ResizeTaps resizeTaps(double x, int64_t n, StringRef mode,
                             StringRef nearestMode, double a,
                             bool excludeOutside) {
  double x0f = std::ceil(x) - 1.0;
  double r = x - x0f;
  int64_t x0 = static_cast<int64_t>(x0f);
  ResizeTaps taps;
  if (mode == "nearest") {
    bool up = nearestMode == "round_prefer_ceil" ? r >= 0.5
              : nearestMode == "floor"           ? r == 1.0
              : nearestMode == "ceil"            ? true
                                                 : r > 0.5;
    taps.push_back({x0 + (up ? 1 : 0), 1.0});
  } else if (mode == "linear") {
    taps.push_back({x0, 1.0 - r});
    taps.push_back({x0 + 1, r});
  } else {
    auto far = [&](double t) {
      return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
    };
    auto near = [&](double t) { return ((a + 2) * t - (a + 3)) * t * t + 1; };
    taps.push_back({x0 - 1, far(r + 1)});
    taps.push_back({x0, near(r)});
    taps.push_back({x0 + 1, near(1 - r)});
    taps.push_back({x0 + 2, far(2 - r)});
  }
  if (excludeOutside) {
    double sum = 0;
    for (auto &[p, w] : taps) {
      if (p < 0 || p >= n)
        w = 0;
      sum += w;
    }
    if (sum != 0)
      for (auto &tap : taps)
        tap.second /= sum;
  }
  // Edge positions, then one tap per position; zero weights dropped.
  ResizeTaps merged;
  for (const auto &tap : taps) {
    int64_t p = std::clamp<int64_t>(tap.first, 0, n - 1);
    if (tap.second == 0)
      continue;
    auto *same =
        llvm::find_if(merged, [&](const auto &m) { return m.first == p; });
    if (same != merged.end())
      same->second += tap.second;
    else
      merged.push_back({p, tap.second});
  }
  if (merged.empty())
    merged.push_back({std::clamp<int64_t>(x0 + 1, 0, n - 1), 0.0});
  return merged;
}

/// Resize (opset 13, 18, 19) as one step per resized axis: a gather of the
/// input positions each output reads (nearest) or a weighted sum of such
/// gathers (linear, cubic), with the positions and weights computed here
/// as ONNX's reference computes them. Every target runs it; the scales or
/// sizes must be known at compile time.
LogicalResult ONNXImporter::importResize() {
  if (failed(requireInputs(1)))
    return failure();
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  Type element = type.getElementType();
  int64_t rank = type.getRank();
  std::string mode = getString("mode", "nearest");
  std::string transform =
      getString("coordinate_transformation_mode", "half_pixel");
  std::string nearestMode = getString("nearest_mode", "round_prefer_floor");
  std::string policy = getString("keep_aspect_ratio_policy", "stretch");
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    return error("unknown mode '" + mode + "'");
  static const llvm::StringSet<> transforms = {
      "half_pixel",        "half_pixel_symmetric", "pytorch_half_pixel",
      "align_corners",     "asymmetric",           "tf_half_pixel_for_nn",
      "tf_crop_and_resize"};
  if (!transforms.contains(transform) ||
      (transform == "half_pixel_symmetric" && opset < 19))
    return error("unknown coordinate_transformation_mode '" + transform + "'");
  if (nearestMode != "round_prefer_floor" &&
      nearestMode != "round_prefer_ceil" && nearestMode != "floor" &&
      nearestMode != "ceil")
    return error("unknown nearest_mode '" + nearestMode + "'");
  if (policy != "stretch" && policy != "not_larger" && policy != "not_smaller")
    return error("unknown keep_aspect_ratio_policy '" + policy + "'");
  if (mode != "nearest" && getInt("antialias", 0) != 0)
    return error("antialias 1 is not supported");
  if (mode != "nearest" && !isa<FloatType>(element))
    return error("expects float X in " + mode + " mode");

  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  if (std::optional<SmallVector<int64_t>> given = getInts("axes")) {
    axes.clear();
    for (int64_t axis : *given) {
      FailureOr<int64_t> normalized = normalizeAxis(axis, rank, "axes");
      if (failed(normalized))
        return failure();
      if (llvm::is_contained(axes, *normalized))
        return error("repeats axis " + Twine(*normalized) + " in 'axes'");
      axes.push_back(*normalized);
    }
  }
  int64_t count = axes.size();
  auto present = [&](unsigned index) {
    return input(index) && typeOf(input(index)).getNumElements() != 0;
  };
  auto doubles = [&](unsigned index,
                     StringRef name) -> FailureOr<SmallVector<double>> {
    std::optional<SmallVector<double>> values = evaluate(known(input(index)));
    if (!values)
      return error("input '" + name +
                   "' must be a compile-time constant; give static input "
                   "shapes with --shape");
    if (static_cast<int64_t>(values->size()) != count)
      return error("expects " + Twine(count) + " values in '" + name +
                   "', got " + Twine(values->size()));
    return *values;
  };
  SmallVector<double> roiStart(count, 0.0), roiEnd(count, 1.0);
  if (transform == "tf_crop_and_resize") {
    if (!present(1))
      return error("expects input 'roi' in tf_crop_and_resize mode");
    std::optional<SmallVector<double>> roi = evaluate(known(input(1)));
    if (!roi)
      return error("input 'roi' must be a compile-time constant");
    if (static_cast<int64_t>(roi->size()) != 2 * count)
      return error("expects " + Twine(2 * count) + " values in 'roi', got " +
                   Twine(roi->size()));
    roiStart.assign(roi->begin(), roi->begin() + count);
    roiEnd.assign(roi->begin() + count, roi->end());
  }
  if (present(2) == present(3))
    return error("expects exactly one of the inputs 'scales' and 'sizes'");
  SmallVector<int64_t> in, out;
  for (int64_t axis : axes) {
    if (type.isDynamicDim(axis))
      return error("expects a static dim " + Twine(axis) +
                   " to resize; give static input shapes with --shape");
    in.push_back(type.getDimSize(axis));
  }
  SmallVector<double> scales;
  if (present(2)) {
    FailureOr<SmallVector<double>> given = doubles(2, "scales");
    if (failed(given))
      return failure();
    scales = *given;
    for (int64_t i = 0; i < count; ++i) {
      if (!(scales[i] > 0))
        return error("expects positive scales, got " +
                     std::to_string(scales[i]));
      out.push_back(static_cast<int64_t>(
          std::floor(in[i] * (roiEnd[i] - roiStart[i]) * scales[i])));
    }
  } else {
    FailureOr<SmallVector<int64_t>> sizes = constantInts(3, "sizes");
    if (failed(sizes))
      return failure();
    if (static_cast<int64_t>(sizes->size()) != count)
      return error("expects " + Twine(count) + " values in 'sizes', got " +
                   Twine(sizes->size()));
    for (int64_t i = 0; i < count; ++i) {
      if ((*sizes)[i] <= 0)
        return error("expects positive sizes, got " + Twine((*sizes)[i]));
      if (in[i] == 0)
        return error("cannot resize the empty dim " + Twine(axes[i]));
      scales.push_back(static_cast<double>((*sizes)[i]) / in[i]);
    }
    out = *sizes;
    if (policy != "stretch") {
      double scale = policy == "not_larger" ? *llvm::min_element(scales)
                                            : *llvm::max_element(scales);
      for (int64_t i = 0; i < count; ++i) {
        scales[i] = scale;
        out[i] = static_cast<int64_t>(std::nearbyint(scale * in[i]));
      }
    }
  }

  double a = getFloat("cubic_coeff_a", -0.75f);
  bool excludeOutside = getInt("exclude_outside", 0) != 0;
  double extrapolation = getFloat("extrapolation_value", 0.0f);
  Value y = x;
  for (int64_t i = 0; i < count; ++i) {
    int64_t axis = axes[i], n = in[i], m = out[i];
    if (m <= 0)
      return error("resizes dim " + Twine(axis) + " of " + Twine(n) + " to " +
                   Twine(m));
    if (n == 0)
      return error("cannot resize the empty dim " + Twine(axis));
    double scale = scales[i], width = scale * n;
    if (m * 4 > kMaxGeneratedElements)
      return error("resizes dim " + Twine(axis) + " to " + Twine(m) +
                   ", more than the importer builds");
    SmallVector<ResizeTaps> all;
    size_t tapCount = 1;
    bool identity = m == n;
    for (int64_t j = 0; j < m; ++j) {
      double x;
      if (transform == "align_corners")
        x = width == 1 ? 0.0 : j * (n - 1) / (width - 1);
      else if (transform == "asymmetric")
        x = j / scale;
      else if (transform == "tf_half_pixel_for_nn")
        x = (j + 0.5) / scale;
      else if (transform == "pytorch_half_pixel")
        x = width == 1 ? -0.5 : (j + 0.5) / scale - 0.5;
      else if (transform == "tf_crop_and_resize")
        x = (width == 1
                 ? (roiEnd[i] - roiStart[i]) * (n - 1) / 2
                 : j * (roiEnd[i] - roiStart[i]) * (n - 1) / (width - 1)) +
            roiStart[i] * (n - 1);
      else if (transform == "half_pixel_symmetric")
        x = n / 2.0 * (1 - m / width) + (j + 0.5) / scale - 0.5;
      else
        x = (j + 0.5) / scale - 0.5;
      ResizeTaps taps;
      if (transform == "tf_crop_and_resize" && (x < 0 || x > n - 1))
        taps.push_back({-1, 1.0});
      else
        taps = resizeTaps(x, n, mode, nearestMode, a, excludeOutside);
      tapCount = std::max(tapCount, taps.size());
      identity = identity && taps.size() == 1 && taps[0].first == j &&
                 taps[0].second == 1.0;
      all.push_back(std::move(taps));
    }
    if (identity)
      continue;
    // Tap t of every output: a gather, weighted unless all weights are 1.
    SmallVector<int64_t> weightShape(rank, 1);
    weightShape[axis] = m;
    Value sum;
    for (size_t t = 0; t < tapCount; ++t) {
      SmallVector<int64_t> positions;
      SmallVector<double> weights;
      for (const ResizeTaps &taps : all) {
        bool has = t < taps.size();
        positions.push_back(has ? taps[t].first : taps[0].first);
        weights.push_back(has ? taps[t].second : 0.0);
      }
      Value gathered = gatherOrFill(y, axis, {m}, positions, extrapolation);
      if (!gathered)
        return failure();
      if (llvm::any_of(weights, [](double w) { return w != 1.0; }))
        gathered = emit<llm::MulOp>(
            {gathered,
             floatConstant(RankedTensorType::get(weightShape, element),
                           weights)});
      sum = sum ? emit<llm::AddOp>({sum, gathered}) : gathered;
      if (!sum)
        return failure();
    }
    y = sum;
  }
  return setResult(y);
}

LogicalResult ONNXImporter::importPad() {
  if (failed(requireInputs(2)))
    return failure();
  Value x = input(0);
  RankedTensorType type = typeOf(x);
  int64_t rank = type.getRank();
  FailureOr<SmallVector<int64_t>> pads = constantInts(1, "pads");
  if (failed(pads))
    return failure();
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  if (input(3)) {
    FailureOr<SmallVector<int64_t>> given = constantInts(3, "axes");
    if (failed(given))
      return failure();
    axes.clear();
    for (int64_t axis : *given) {
      FailureOr<int64_t> normalized = normalizeAxis(axis, rank, "axes");
      if (failed(normalized))
        return failure();
      axes.push_back(*normalized);
    }
  }
  int64_t count = axes.size();
  if (static_cast<int64_t>(pads->size()) != 2 * count)
    return error("expects " + Twine(2 * count) + " pads, got " +
                 Twine(pads->size()));
  double fill = 0;
  if (input(2)) {
    std::optional<SmallVector<double>> value =
        constantDoublesOf(known(input(2)));
    if (!value || value->size() != 1)
      return error("input 'constant_value' must be a compile-time scalar");
    fill = value->front();
  }
  std::string mode = getString("mode", "constant");
  if (mode != "constant" && mode != "edge" && mode != "reflect")
    return error("unknown mode '" + mode + "'");
  Value y = x;
  for (int64_t i = 0; i < count; ++i) {
    int64_t axis = axes[i], before = (*pads)[i], after = (*pads)[count + i];
    int64_t dim = type.getDimSize(axis), size = dim + before + after;
    if (before == 0 && after == 0)
      continue;
    if (size < 0)
      return error("pads remove more than dim " + Twine(axis) + " holds");
    if (mode != "constant" && dim == 0)
      return error("cannot pad an empty dim in " + mode + " mode");
    if (mode == "reflect" && (before >= dim || after >= dim))
      return error("reflect pads must be smaller than dim " + Twine(axis) +
                   " (" + Twine(dim) + ")");
    SmallVector<int64_t> positions;
    for (int64_t j = 0; j < size; ++j) {
      int64_t p = j - before;
      if (p < 0 || p >= dim) {
        if (mode == "constant")
          p = -1;
        else if (mode == "edge")
          p = std::clamp<int64_t>(p, 0, dim - 1);
        else
          p = p < 0 ? -p : 2 * (dim - 1) - p;
      }
      positions.push_back(p);
    }
    y = gatherOrFill(y, axis, {size}, positions, fill);
    if (!y)
      return failure();
  }
  return setResult(y);
}

LogicalResult ONNXImporter::importGather() {
  if (failed(requireInputs(2)))
    return failure();
  FailureOr<int64_t> axis =
      normalizeAxis(getInt("axis", 0), typeOf(input(0)).getRank());
  if (failed(axis))
    return failure();
  return setResult(create<llm::GatherOp>(
      {input(0), input(1)},
      {namedAttr("axis", builder.getI64IntegerAttr(*axis))}));
}

LogicalResult ONNXImporter::importExpand() {
  if (failed(requireInputs(2)))
    return failure();
  FailureOr<SmallVector<int64_t>> requested = constantInts(1, "shape");
  if (failed(requested))
    return failure();
  RankedTensorType type = typeOf(input(0));
  for (int64_t dim : *requested)
    if (dim < 0)
      return error("shape " + shapeString(*requested) + " has a negative dim");
  FailureOr<SmallVector<int64_t>> shape =
      llm::broadcastShapes(type.getShape(), *requested);
  if (failed(shape))
    return error("cannot broadcast " + shapeString(type.getShape()) +
                 " with shape " + shapeString(*requested));
  return setResult(
      create<llm::ExpandOp>(input(0), {}, type.clone(ArrayRef(*shape))));
}

LogicalResult ONNXImporter::importUnsqueeze() {
  if (failed(requireInputs(2)))
    return failure();
  FailureOr<SmallVector<int64_t>> axes = constantInts(1, "axes");
  if (failed(axes))
    return failure();
  RankedTensorType type = typeOf(input(0));
  int64_t rank = type.getRank() + axes->size();
  SmallVector<bool> inserted(rank, false);
  for (int64_t axis : *axes) {
    FailureOr<int64_t> normalized = normalizeAxis(axis, rank, "axes");
    if (failed(normalized))
      return failure();
    if (inserted[*normalized])
      return error("expects unique axes, got " + Twine(*normalized) + " twice");
    inserted[*normalized] = true;
  }
  SmallVector<int64_t> shape;
  ArrayRef<int64_t> dims = type.getShape();
  for (int64_t d = 0; d < rank; ++d) {
    if (inserted[d]) {
      shape.push_back(1);
    } else {
      shape.push_back(dims.front());
      dims = dims.drop_front();
    }
  }
  return setResult(reshape(input(0), shape));
}

LogicalResult ONNXImporter::importSqueeze() {
  if (failed(requireInputs(1)))
    return failure();
  RankedTensorType type = typeOf(input(0));
  int64_t rank = type.getRank();
  SmallVector<bool> removed(rank, false);
  if (input(1)) {
    FailureOr<SmallVector<int64_t>> axes = constantInts(1, "axes");
    if (failed(axes))
      return failure();
    for (int64_t axis : *axes) {
      FailureOr<int64_t> normalized = normalizeAxis(axis, rank, "axes");
      if (failed(normalized))
        return failure();
      if (type.getDimSize(*normalized) != 1)
        return error("cannot squeeze dim " + Twine(*normalized) + " of size " +
                     Twine(type.getDimSize(*normalized)) + " in " +
                     shapeString(type.getShape()));
      removed[*normalized] = true;
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      removed[d] = type.getDimSize(d) == 1;
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d)
    if (!removed[d])
      shape.push_back(type.getDimSize(d));
  return setResult(reshape(input(0), shape));
}

LogicalResult ONNXImporter::importFlatten() {
  if (failed(requireInputs(1)))
    return failure();
  RankedTensorType type = typeOf(input(0));
  int64_t rank = type.getRank();
  int64_t axis = getInt("axis", 1);
  if (axis < -rank || axis > rank)
    return error("expects axis in [" + Twine(-rank) + ", " + Twine(rank) +
                 "], got " + Twine(axis));
  if (axis < 0)
    axis += rank;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < axis ? outer : inner) *= type.getDimSize(d);
  return setResult(reshape(input(0), {outer, inner}));
}

LogicalResult ONNXImporter::importTile() {
  if (failed(requireInputs(2)))
    return failure();
  FailureOr<SmallVector<int64_t>> repeats = constantInts(1, "repeats");
  if (failed(repeats))
    return failure();
  RankedTensorType type = typeOf(input(0));
  if (static_cast<int64_t>(repeats->size()) != type.getRank())
    return error("expects one repeat per dim (" + Twine(type.getRank()) +
                 "), got " + Twine(repeats->size()));
  if (llvm::all_of(*repeats, [](int64_t r) { return r == 1; }))
    return setResult(input(0));
  // Tiling is a broadcast along a new dim in front of each dim, with the
  // pairs then merged: [r0, d0, r1, d1] -> [r0 * d0, r1 * d1].
  SmallVector<int64_t> interleaved, expanded, tiled;
  for (auto [repeat, dim] : llvm::zip(*repeats, type.getShape())) {
    if (repeat < 0)
      return error("expects repeats >= 0, got " + Twine(repeat));
    if (repeat != 0 && dim > (int64_t(1) << 48) / repeat)
      return error("produces a dim that is too large");
    interleaved.append({1, dim});
    expanded.append({repeat, dim});
    tiled.push_back(repeat * dim);
  }
  FailureOr<Value> spread = reshape(input(0), interleaved);
  if (failed(spread))
    return failure();
  FailureOr<Value> broadcast = create<llm::ExpandOp>(
      *spread, {}, type.clone(ArrayRef<int64_t>(expanded)));
  if (failed(broadcast))
    return failure();
  return setResult(reshape(*broadcast, tiled));
}

LogicalResult ONNXImporter::importTrilu() {
  if (failed(requireInputs(1)))
    return failure();
  int64_t diagonal = 0;
  if (input(1)) {
    FailureOr<int64_t> k = constantScalarInt(1, "k");
    if (failed(k))
      return failure();
    diagonal = *k;
  }
  return setResult(create<llm::TriluOp>(
      input(0),
      {namedAttr("upper", builder.getBoolAttr(getInt("upper", 1) != 0)),
       namedAttr("diagonal", builder.getI64IntegerAttr(diagonal))},
      input(0).getType()));
}

//===----------------------------------------------------------------------===//
// Constants and shapes
//===----------------------------------------------------------------------===//

LogicalResult ONNXImporter::importConstant() {
  for (onnx::AttributeProto &attr : *node->mutable_attribute()) {
    const std::string &name = attr.name();
    if (name == "value") {
      FailureOr<ElementsAttr> value = tensorToAttr(
          *attr.mutable_t(), "attribute 'value'",
          blobNameFor(node->output_size() ? node->output(0) : node->name()));
      if (failed(value))
        return failure();
      if (attr.t().data_type() == onnx::TensorProto::UINT8 ||
          attr.t().data_type() == onnx::TensorProto::UINT16 ||
          attr.t().data_type() == kOnnxUInt4)
        markUnsignedOutput(0);
      if ((attr.t().data_type() == kOnnxInt4 ||
           attr.t().data_type() == kOnnxUInt4) &&
          node->output_size())
        fourBitNames.insert(node->output(0));
      if (attr.t().data_type() == kOnnxFloat8E4M3FN)
        markE4M3Output(0);
      return setResult(createConstant(*value, nodeLoc));
    }
    if (name == "value_float" || name == "value_floats") {
      SmallVector<float> floats(attr.floats().begin(), attr.floats().end());
      if (name == "value_float")
        floats.assign(1, attr.f());
      SmallVector<int64_t> shape;
      if (name == "value_floats")
        shape.push_back(floats.size());
      auto type = RankedTensorType::get(shape, builder.getF32Type());
      return setResult(createConstant(
          DenseElementsAttr::get(type, ArrayRef<float>(floats)), nodeLoc));
    }
    if (name == "value_int" || name == "value_ints") {
      SmallVector<int64_t> ints(attr.ints().begin(), attr.ints().end());
      if (name == "value_int")
        ints.assign(1, attr.i());
      SmallVector<int64_t> shape;
      if (name == "value_ints")
        shape.push_back(ints.size());
      auto type = RankedTensorType::get(shape, builder.getI64Type());
      return setResult(createConstant(
          DenseElementsAttr::get(type, ArrayRef<int64_t>(ints)), nodeLoc));
    }
    if (name == "value_string" || name == "value_strings")
      return error("unsupported element type STRING (attribute '" + name +
                   "')");
    if (name == "sparse_value")
      return error("sparse constants are not supported");
  }
  return error("expects a 'value' attribute");
}

LogicalResult ONNXImporter::importConstantOfShape() {
  if (failed(requireInputs(1)))
    return failure();
  FailureOr<SmallVector<int64_t>> shape = constantInts(0, "input");
  if (failed(shape))
    return failure();
  int64_t count = 1;
  for (int64_t dim : *shape) {
    if (dim < 0)
      return error("shape " + shapeString(*shape) + " has a negative dim");
    if (dim != 0 && count > (int64_t(1) << 48) / dim)
      return error("shape " + shapeString(*shape) + " is too large");
    count *= dim;
  }
  Attribute element = builder.getF32FloatAttr(0.0f);
  Type elementType = builder.getF32Type();
  for (onnx::AttributeProto &attr : *node->mutable_attribute()) {
    if (attr.name() != "value")
      continue;
    FailureOr<ElementsAttr> value =
        tensorToAttr(*attr.mutable_t(), "attribute 'value'", "value");
    if (failed(value))
      return failure();
    auto dense = dyn_cast<DenseElementsAttr>(*value);
    if (!dense || dense.getNumElements() != 1)
      return error("expects a 'value' of one element");
    element = *dense.getValues<Attribute>().begin();
    elementType = dense.getElementType();
  }
  auto type = RankedTensorType::get(*shape, elementType);
  return setResult(
      createConstant(DenseElementsAttr::get(type, element), nodeLoc));
}

LogicalResult ONNXImporter::importShape() {
  if (failed(requireInputs(1)))
    return failure();
  ArrayRef<int64_t> dims = typeOf(input(0)).getShape();
  int64_t rank = dims.size();
  auto clampIndex = [&](int64_t index) {
    if (index < 0)
      index += rank;
    return std::clamp<int64_t>(index, 0, rank);
  };
  int64_t start = clampIndex(getInt("start", 0));
  int64_t end = clampIndex(getInt("end", rank));
  SmallVector<int64_t> shape(dims.begin() + start,
                             dims.begin() + std::max(start, end));
  auto type = RankedTensorType::get({static_cast<int64_t>(shape.size())},
                                    builder.getI64Type());
  return setResult(createConstant(
      DenseElementsAttr::get(type, ArrayRef<int64_t>(shape)), nodeLoc));
}

LogicalResult ONNXImporter::importSize() {
  if (failed(requireInputs(1)))
    return failure();
  auto type = RankedTensorType::get({}, builder.getI64Type());
  return setResult(createConstant(
      DenseElementsAttr::get(
          type, ArrayRef<int64_t>{typeOf(input(0)).getNumElements()}),
      nodeLoc));
}

LogicalResult ONNXImporter::importRange() {
  if (failed(requireInputs(3)))
    return failure();
  Type elementType = typeOf(input(0)).getElementType();
  StringRef names[] = {"start", "limit", "delta"};
  SmallVector<double> bounds;
  for (unsigned i = 0; i < 3; ++i) {
    std::optional<SmallVector<double>> value = evaluate(known(input(i)));
    if (!value)
      return error("input '" + names[i] +
                   "' must be a compile-time constant; give static input "
                   "shapes with --shape");
    if (value->size() != 1)
      return error("expects input '" + names[i] + "' to be a scalar");
    bounds.push_back(value->front());
  }
  double start = bounds[0], limit = bounds[1], delta = bounds[2];
  if (delta == 0)
    return error("expects a nonzero delta");
  double steps = std::ceil((limit - start) / delta);
  if (!(steps <= static_cast<double>(kMaxGeneratedElements)))
    return error("produces too many elements");
  int64_t count = std::max<int64_t>(0, static_cast<int64_t>(steps));
  auto type = RankedTensorType::get({count}, elementType);
  DenseElementsAttr value;
  if (auto intType = dyn_cast<IntegerType>(elementType)) {
    std::optional<SmallVector<int64_t>> ints[3] = {compileTimeInts(input(0)),
                                                   compileTimeInts(input(1)),
                                                   compileTimeInts(input(2))};
    if (!ints[0] || !ints[2])
      return error("expects integer start and delta known at compile time");
    int64_t first = ints[0]->front(), step = ints[2]->front();
    SmallVector<APInt> elements;
    for (int64_t i = 0; i < count; ++i)
      elements.push_back(APInt(intType.getWidth(), first + i * step,
                               /*isSigned=*/true, /*implicitTrunc=*/true));
    value = DenseElementsAttr::get(type, elements);
  } else if (auto floatType = dyn_cast<FloatType>(elementType)) {
    SmallVector<APFloat> elements;
    for (int64_t i = 0; i < count; ++i) {
      APFloat element(start + i * delta);
      bool lossy;
      element.convert(floatType.getFloatSemantics(),
                      APFloat::rmNearestTiesToEven, &lossy);
      elements.push_back(element);
    }
    value = DenseElementsAttr::get(type, elements);
  } else {
    return error("unsupported element type for Range");
  }
  return setResult(createConstant(largeToResource(value, "range"), nodeLoc));
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

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
