// RUN: llm-opt %s -split-input-file -verify-diagnostics

// Invalid epilogues of llm.matmul: each message names both shapes or the
// offending value.

func.func @bias_shape(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<15xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{'llm.matmul' op expects bias [15] to broadcast to the product [4,16]}}
  %0 = llm.matmul %a, %w bias %b : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<15xf32>) -> tensor<4x16xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<4x16xf32>
}

// -----

func.func @bias_grows_result(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<2x1x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{expects bias [2,1,16] to broadcast to the product [4,16]}}
  %0 = llm.matmul %a, %w bias %b : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<2x1x16xf32>) -> tensor<4x16xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<4x16xf32>
}

// -----

func.func @residual_shape(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>, %r: tensor<16x4xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{expects residual [16,4] to broadcast to the product [4,16]}}
  %0 = llm.matmul %a, %w residual %r : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<4x16xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<4x16xf32>
}

// -----

func.func @bias_element_type(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf16>) -> tensor<4x16xf32> {
  // expected-error @+1 {{requires the same element type for all operands}}
  %0 = llm.matmul %a, %w bias %b : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<16xf16>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @integer_scale(%a: tensor<4x8xi32>, %w: tensor<8x16xi32>) -> tensor<4x16xi32> {
  // expected-error @+1 {{'llm.matmul' op expects scale 1.0 on 'i32' elements, got 2}}
  %0 = llm.matmul %a, %w {scale = 2.0 : f32} : (tensor<4x8xi32>, tensor<8x16xi32>) -> tensor<4x16xi32>
  return %0 : tensor<4x16xi32>
}

// -----

func.func @integer_gelu(%a: tensor<4x8xi32>, %w: tensor<8x16xi32>) -> tensor<4x16xi32> {
  // expected-error @+1 {{'llm.matmul' op expects activation none or relu on 'i32' elements, got gelu}}
  %0 = llm.matmul %a, %w {activation = #llm.activation<gelu>} : (tensor<4x8xi32>, tensor<8x16xi32>) -> tensor<4x16xi32>
  return %0 : tensor<4x16xi32>
}

// -----

func.func @unknown_activation(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+2 {{expected ::mlir::llm::Activation to be one of: none, relu, gelu, gelu_tanh, silu}}
  // expected-error @+1 {{failed to parse LLM_ActivationAttr parameter 'value' which is to be a `::mlir::llm::Activation`}}
  %0 = llm.matmul %a, %w {activation = #llm.activation<tanh>} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}
