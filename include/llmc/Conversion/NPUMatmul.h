//===- NPUMatmul.h - int8 matmul as an NPU instruction stream ---*- C++ -*-===//
//
// Tiles C = A x B (A: M x K int8, B: K x N int8, C: M x N int32, or int8
// requantized by the vector unit) for the NPU: output blocks that fit half
// the accumulators, K chunks that fit the scratchpad, double-buffered
// scratchpad inputs and accumulator outputs, and dependency tokens so that
// the DMA of the next block overlaps the array's work on this one. The
// lowering of llm.qmatmul to the npu dialect is meant to reuse it.
//
//===----------------------------------------------------------------------===//
#ifndef LLMC_CONVERSION_NPUMATMUL_H
#define LLMC_CONVERSION_NPUMATMUL_H

#include "llmc/Target/NPU/ISA.h"

namespace llmc::npu {

struct MatmulSpec {
  int64_t m = 0, k = 0, n = 0;
  /// Requantize C to int8: sat(roundeven(c * scale) + zeroPoint) (one
  /// `vreq`), or, with `quantScale` set, as llm.dequantize then llm.quantize
  /// do it: sat(roundeven((f32(c) * scale) / quantScale) + zeroPoint) (`vdeq`
  /// then `vqnt`, bit-exact to the host's W8A8 chain).
  bool requantize = false;
  float scale = 1.0f, zeroPoint = 0.0f;
  std::optional<float> quantScale;
  /// Per-output-channel dequantization, W8A8's `llm.dequantize(acc, [1, N]
  /// scales)`: an input S (f32 [1, N]) and C = f32(A x B) * S (`vdeq` by 1.0,
  /// `vmul` by the broadcast row), f32, or int8 through `vqnt` by
  /// `quantScale` when `requantize` is set.
  bool channelScales = false;
  /// With `channelScales`: an input Bias (f32 [1, N]) added after the
  /// scaling (`vadd` of the broadcast row: the epilogue's `llm.add`).
  bool bias = false;
  /// Quantize the activations on the NPU, as `llm.quantize(x, inputScale)`
  /// does (per tensor, no zero point): the input is X (f32 [M, K]) instead
  /// of A; a prologue streams X through the accumulators, `vqnt` turns it
  /// into int8 and the store queue writes it to a DRAM scratch area, which
  /// the matmul then reads as A (double-buffered like the matmul).
  std::optional<float> inputScale;
  /// A is unsigned (uint8, `mm lhs_unsigned`).
  bool lhsUnsigned = false;
  /// An input Z (int32 [1, N]) added to the int32 products before any
  /// other epilogue (`vaddi` of the broadcast row): the zero-point
  /// correction -z_a * colsum(B) of an activation zero point z_a.
  bool zeroPointRow = false;
  /// 2: double-buffered (DMA overlaps compute); 1: load, compute, store in
  /// turn (for comparison).
  int buffers = 2;
  /// Output block sizes; 0 chooses them from the description.
  int64_t blockM = 0, blockN = 0;
};

/// The program with tensors A, B (inputs) and C (output); `target` is
/// recorded in it. Errors say which size does not fit the encoding.
llvm::Expected<Program> generateMatmul(const MatmulSpec &spec,
                                       const Config &config,
                                       llvm::StringRef target);

} // namespace llmc::npu

#endif // LLMC_CONVERSION_NPUMATMUL_H
