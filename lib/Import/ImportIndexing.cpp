//===- ImportIndexing.cpp - ONNX import of gathers and scatters -----------===//
//
// GatherND, GatherElements, ScatterND and ScatterElements, NonZero and the
// index rows that carry its results into later nodes.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

namespace mlir::llm::importer {

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

} // namespace mlir::llm::importer
