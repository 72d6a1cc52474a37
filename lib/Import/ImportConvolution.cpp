//===- ImportConvolution.cpp - ONNX import of convolution -----------------===//
//
// Convolution, pooling and resampling as gathers and products.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

namespace mlir::llm::importer {

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

} // namespace mlir::llm::importer
