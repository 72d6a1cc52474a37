// RUN: llm-opt %s --convert-llm-to-linalg -split-input-file -verify-diagnostics

func.func @dynamic(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-error@+1 {{cannot lower 'llm.exp' to linalg: dynamic shapes are not supported (tensor<?x4xf32>)}}
  %0 = llm.exp %x : tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

func.func @integer_gemm_alpha(%a: tensor<2x3xi32>, %b: tensor<3x4xi32>) -> tensor<2x4xi32> {
  // expected-error@+1 {{cannot lower 'llm.gemm' to linalg: alpha and beta other than 1 need a float element type}}
  %0 = llm.gemm %a, %b {alpha = 2.0 : f32} : (tensor<2x3xi32>, tensor<3x4xi32>) -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @index_elements(%x: tensor<4xindex>) -> tensor<4xindex> {
  // expected-error@+1 {{cannot lower 'llm.add' to linalg: unsupported element type index}}
  %0 = llm.add %x, %x : (tensor<4xindex>, tensor<4xindex>) -> tensor<4xindex>
  return %0 : tensor<4xindex>
}
