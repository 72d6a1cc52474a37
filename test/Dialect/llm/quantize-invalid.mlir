// RUN: llm-opt %s -split-input-file --llm-quantize=mode=int8 -verify-diagnostics
// RUN: llm-opt %s -split-input-file --llm-quantize=mode=fp8 -verify-diagnostics
// RUN: not llm-opt %s --llm-quantize=mode=int3 2>&1 | FileCheck %s --check-prefix=MODE
// MODE: llm-quantize: unknown mode 'int3' (expected int8, fp8, w8 or w4)

// Static activation scales need calibration statistics.
func.func @uncalibrated(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %w = llm.constant dense<1.0> : tensor<3x2xf32>
  // expected-error @+1 {{needs calibration statistics ('llm.act_absmax') for static activation scales}}
  %y = llm.matmul %x, %w : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

func.func @wrong_channels(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %w = llm.constant dense<1.0> : tensor<3x2xf32>
  // expected-error @+1 {{has llm.act_absmax of 2 channels, expected K = 3}}
  %y = llm.matmul %x, %w {llm.act_absmax = array<f32: 1.0, 2.0>} : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}
