//===- VectorMath.cpp - the NPU vector unit's arithmetic ------------------===//
//
// The vector unit computes in IEEE f32 (round to nearest even) with only
// adds, multiplies, one divider and exponent manipulation; exp, rsqrt and erf
// are the approximations below. docs/npu-isa.md gives their measured errors
// (`llm-npu --approx-errors` measures them again).
//
//===----------------------------------------------------------------------===//
#include "llmc/Target/NPU/ISA.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace llmc::npu;

/// exp(x) = 2^n * exp(r), n = round(x / ln 2), r = x - n ln 2 computed with
/// ln 2 split in two (Cody-Waite) and exp(r), |r| <= ln2/2, a degree-7
/// polynomial (Cephes' expf coefficients) evaluated by Horner's rule.
float llmc::npu::vectorExp(float x) {
  if (std::isnan(x))
    return x;
  if (x > 88.7228394f)
    return std::numeric_limits<float>::infinity();
  if (x < -87.3365479f)
    return 0.0f; // results below FLT_MIN flush to zero
  float n = std::nearbyint(x * 1.44269504f);
  float r = std::fma(n, -0.693359375f, x);
  r = std::fma(n, 2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = std::fma(p, r, 1.3981999507e-3f);
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  p = std::fma(p, r * r, r + 1.0f);
  return std::ldexp(p, static_cast<int>(n));
}

/// 1/sqrt(x): the bit-level initial guess 0x5f3759df - (bits >> 1), then
/// three Newton steps y = y (1.5 - 0.5 x y^2).
float llmc::npu::vectorRsqrt(float x) {
  if (std::isnan(x) || x < 0)
    return std::numeric_limits<float>::quiet_NaN();
  if (x == 0)
    return std::numeric_limits<float>::infinity();
  if (std::isinf(x))
    return 0.0f;
  // Subnormal inputs are scaled into the normal range first.
  float scale = 1.0f;
  if (x < std::numeric_limits<float>::min()) {
    x *= 16777216.0f; // 2^24
    scale = 4096.0f;  // 2^12
  }
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  bits = 0x5f3759dfu - (bits >> 1);
  float y;
  std::memcpy(&y, &bits, 4);
  float half = 0.5f * x;
  for (int i = 0; i < 3; ++i)
    y = y * (1.5f - half * y * y);
  return y * scale;
}

/// erf(x) for |x| >= 0.5 by Abramowitz and Stegun 7.1.26:
/// 1 - (a1 t + a2 t^2 + a3 t^3 + a4 t^4 + a5 t^5) exp(-x^2),
/// t = 1 / (1 + p |x|), odd in x.
float llmc::npu::vectorErf(float x) {
  if (std::isnan(x))
    return x;
  float ax = std::fabs(x);
  if (ax < 0.5f) {
    // Near zero 7.1.26's absolute error would be a large relative one: the
    // Maclaurin series 2/sqrt(pi) (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 -
    // x^11/1320) is exact to f32 rounding here.
    float x2 = x * x;
    float s = -1.0f / 1320;
    s = std::fma(s, x2, 1.0f / 216);
    s = std::fma(s, x2, -1.0f / 42);
    s = std::fma(s, x2, 1.0f / 10);
    s = std::fma(s, x2, -1.0f / 3);
    s = std::fma(s, x2, 1.0f);
    return 1.12837917f * x * s;
  }
  float t = 1.0f / (1.0f + 0.3275911f * ax);
  float poly = 1.061405429f;
  poly = std::fma(poly, t, -1.453152027f);
  poly = std::fma(poly, t, 1.421413741f);
  poly = std::fma(poly, t, -0.284496736f);
  poly = std::fma(poly, t, 0.254829592f);
  float y = 1.0f - poly * t * vectorExp(-ax * ax);
  return x < 0 ? -y : y;
}

/// GELU in its erf form: 0.5 x (1 + erf(x / sqrt 2)).
float llmc::npu::vectorGelu(float x) {
  return 0.5f * x * (1.0f + vectorErf(x * 0.707106781f));
}

/// SiLU: x / (1 + exp(-x)), one IEEE division.
float llmc::npu::vectorSilu(float x) { return x / (1.0f + vectorExp(-x)); }

namespace {
int8_t saturate(float scaled) {
  if (std::isnan(scaled) || scaled <= -128.0f)
    return -128;
  if (scaled >= 127.0f)
    return 127;
  return static_cast<int8_t>(scaled);
}
} // namespace

int8_t llmc::npu::requantize(float x, float scale, float zeroPoint) {
  return saturate(std::nearbyint(x * scale) + zeroPoint);
}

int8_t llmc::npu::quantize(float x, float scale, float zeroPoint) {
  return saturate(std::nearbyint(x / scale) + zeroPoint);
}
