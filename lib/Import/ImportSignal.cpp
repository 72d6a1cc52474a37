//===- ImportSignal.cpp - ONNX import of signal ops -----------------------===//
//
// Signal ops: DFT, STFT, window functions and MelWeightMatrix.
//
//===----------------------------------------------------------------------===//

#include "Importer.h"

namespace mlir::llm::importer {

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

} // namespace mlir::llm::importer
