// RUN: llm-opt %s -split-input-file --llm-quantize="mode=w8 weights=gptq" -verify-diagnostics
// RUN: not llm-opt %s --llm-quantize="mode=w8 weights=obq" 2>&1 | FileCheck %s --check-prefix=METHOD
// METHOD: llm-quantize: unknown weights 'obq' (expected rtn or gptq)
// RUN: not llm-opt %s --llm-quantize="mode=fp8 weights=gptq" 2>&1 | FileCheck %s --check-prefix=FP8
// FP8: llm-quantize: weights=gptq needs mode int8, w8 or w4 (integer weights), got mode fp8
// RUN: not llm-opt %s --llm-quantize="mode=w4 weights=gptq gptq-damp=0" 2>&1 | FileCheck %s --check-prefix=DAMP
// DAMP: llm-quantize: gptq-damp must be positive, got 0
// RUN: env LLMC_LAPACK=libz.so.1 not llm-opt %s -split-input-file --llm-quantize="mode=w8 weights=gptq" 2>&1 | FileCheck %s --check-prefix=NOLAPACK
// NOLAPACK: llm-quantize: weights=gptq: cannot load BLAS and LAPACK (ssyrk_, sgemm_, dpotrf_, dtrtri_ not found in libz.so.1)

// llm.act_gram must be K x K.
func.func @wrong_gram(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %w = llm.constant dense<1.0> : tensor<3x2xf32>
  // expected-error @+1 {{has llm.act_gram of 4 f32 elements, expected K x K = 9}}
  %y = llm.matmul %x, %w {llm.act_gram = dense<1.0> : tensor<2x2xf32>} : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// A Gram matrix no inputs can have (indefinite, even damped): the weight is
// rounded to nearest, with a warning.
func.func @indefinite(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %w = llm.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  // expected-warning @+1 {{GPTQ: the damped Gram matrix of the input is not positive definite; the weight is rounded to nearest}}
  %y = llm.matmul %x, %w {llm.act_gram = dense<[[1.0, 2.0], [2.0, 1.0]]> : tensor<2x2xf32>} : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
