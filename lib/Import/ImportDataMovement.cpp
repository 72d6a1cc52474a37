//===- ImportDataMovement.cpp - ONNX import of data movement --------------===//
//
// Data movement: Reshape, Transpose, Concat, Slice, Split, Compress, Pad,
// Gather, Expand, (Un)Squeeze, Flatten, Tile, Trilu; constants and shapes.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

namespace mlir::llm::importer {

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

} // namespace mlir::llm::importer
