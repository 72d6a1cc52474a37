//===- Importer.h - the ONNX importer, shared by its parts ------*- C++ -*-===//
//
// The ONNXImporter class and the helpers its parts share. The importer's
// definitions are split by op family: ONNXImporter.cpp holds the graph level
// (opsets, functions, initializers, nodes) and the entry points; ImportX.cpp
// the handlers of family X. Private to lib/Import.
//
//===----------------------------------------------------------------------===//

#ifndef LLMC_LIB_IMPORT_IMPORTER_H
#define LLMC_LIB_IMPORT_IMPORTER_H

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

#include "onnx/onnx_pb.h"

#include <climits>
#include <cmath>
#include <cstring>
#include <iostream>
#include <numeric>

namespace mlir::llm::importer {

using llmc::ImportOptions;

inline constexpr int64_t kMinOpset = 13;
/// Models of opsets from this one up to kMinOpset are upgraded to kMinOpset.
inline constexpr int64_t kMinUpgradedOpset = 1;
inline constexpr int64_t kMaxOpset = 24;
/// Loop bodies are unrolled at import: at most this many iterations in all.
inline constexpr int64_t kMaxUnrolledIterations = 4096;
/// Constants with at most this many elements stay inline whatever their
/// element type, so scalars and small vectors remain readable in the IR.
inline constexpr int64_t kMaxInlineElements = 16;
/// Largest tensor Range may produce at import.
inline constexpr int64_t kMaxGeneratedElements = int64_t(1) << 26;

inline std::string oneLine(std::string text) {
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
inline constexpr int32_t kOnnxFloat8E4M3FN = 17, kOnnxUInt4 = 21,
                         kOnnxInt4 = 22;

/// The default ONNX domain, "" or its name "ai.onnx".
inline bool isDefaultDomain(StringRef domain) {
  return domain.empty() || domain == "ai.onnx";
}

/// A node's name, or the one the importer gives an unnamed node: its op and
/// its index in its graph.
inline std::string nodeLabel(const onnx::NodeProto &node, size_t index) {
  return node.name().empty() ? node.op_type() + "_" + std::to_string(index)
                             : node.name();
}

inline std::string dataTypeName(int32_t dataType) {
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

inline ElementType elementTypeOf(int32_t dataType, MLIRContext *context) {
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
inline bool isInlineConstant(RankedTensorType type) {
  int64_t count = type.getNumElements();
  if (count <= kMaxInlineElements)
    return true;
  return type.getElementType().isInteger() && count <= llm::kMaxFoldElements;
}

/// Resource names are printed as keys of the module's resource section; keep
/// them to characters that need no quoting.
inline std::string blobNameFor(StringRef name) {
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

/// Before opset 13, Softmax, LogSoftmax and Hardmax normalize x coerced to
/// 2-D at axis (default 1). The upgrade hands such a node to the importer
/// with this attribute set, not to the converter, whose adapter needs x's
/// shape from ONNX's shape inference (which a reshape to computed dims
/// defeats).
inline constexpr llvm::StringLiteral kCoerced2DAttr = "llmc.coerced_2d";

inline RankedTensorType typeOf(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// The integer contents of a value defined by an inline constant.
std::optional<SmallVector<int64_t>> constantIntsOf(Value value);
/// The contents of a value defined by an inline constant, as doubles.
std::optional<SmallVector<double>> constantDoublesOf(Value value);

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
  Value scatterRows(Value data, Value rows, Value updates, StringRef reduction);
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
  Value maskedSum(Value value, ArrayRef<int64_t> maskShape, ArrayRef<bool> mask,
                  ArrayRef<int64_t> axes);
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
  FailureOr<SmallVector<Item>>
  importBody(StringRef attrName, ArrayRef<Item> bindings, bool again = false);
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

//===----------------------------------------------------------------------===//
// Templates the op tables and several families instantiate
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

template <typename OpTy> LogicalResult ONNXImporter::importUnary() {
  if (failed(requireInputs(1)))
    return failure();
  return setResult(create<OpTy>(input(0), {}, input(0).getType()));
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

template <typename OpTy>
Value ONNXImporter::reduce(Value value, ArrayRef<int64_t> axes, bool keepdims) {
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

template <typename T>
Value ONNXImporter::denseConstant(Type elementType, ArrayRef<int64_t> shape,
                                  ArrayRef<T> values) {
  return createConstant(
      DenseElementsAttr::get(RankedTensorType::get(shape, elementType), values),
      nodeLoc);
}

} // namespace mlir::llm::importer

#endif // LLMC_LIB_IMPORT_IMPORTER_H
