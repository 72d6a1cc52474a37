//===- Float8.h - FP8 E4M3 conversions --------------------------*- C++ -*-===//
//
// OCP FP8 E4M3 (MLIR's f8E4M3FN: bias 7, no infinities, 0x7F/0xFF NaN,
// largest finite 448) as the compiler stores it (quantized weights) and the
// GPU emulator converts it (cvt.rn.satfinite.e4m3x2.f32, FP8 tensor-core
// operands), through APFloat. The host's own rounding, in integer
// arithmetic, is an independent implementation (LLMToLinalg).
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_SUPPORT_FLOAT8_H
#define LLMC_SUPPORT_FLOAT8_H

#include "llvm/ADT/APFloat.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace llmc {

/// The E4M3 byte of `v`: nearest even; ±inf and magnitudes past 448
/// saturate to ±448, NaN is 0x7F (cvt.rn.satfinite, llm.quantize's e4m3).
inline uint8_t toE4M3(float v) {
  if (std::isnan(v))
    return 0x7F;
  llvm::APFloat f(std::clamp(v, -448.0f, 448.0f));
  bool lost;
  f.convert(llvm::APFloat::Float8E4M3FN(),
            llvm::APFloat::rmNearestTiesToEven, &lost);
  return static_cast<uint8_t>(f.bitcastToAPInt().getZExtValue());
}

/// The value of an E4M3 byte (exact in f32).
inline float fromE4M3(uint8_t bits) {
  return llvm::APFloat(llvm::APFloat::Float8E4M3FN(), llvm::APInt(8, bits))
      .convertToFloat();
}

} // namespace llmc

#endif // LLMC_SUPPORT_FLOAT8_H
