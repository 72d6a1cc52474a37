// RUN: llm-opt %s -split-input-file --verify-roundtrip | FileCheck %s
// RUN: llm-opt %s -split-input-file --mlir-print-op-generic | llm-opt -split-input-file | FileCheck %s

// The epilogue of llm.matmul: act(scale * (lhs x rhs) + bias) + residual.
// Attributes at their defaults are not printed; the plain form is unchanged.

// CHECK-LABEL: func @plain
// CHECK: llm.matmul %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
func.func @plain(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %0 = llm.matmul %a, %b : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

// CHECK-LABEL: func @full
// CHECK: llm.matmul %{{.*}}, %{{.*}} bias %{{.*}} residual %{{.*}} {activation = #llm.activation<gelu_tanh>, scale = 1.250000e-01 : f32, transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<16x8xf32>, tensor<16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
func.func @full(%a: tensor<2x4x8xf32>, %w: tensor<16x8xf32>, %b: tensor<16xf32>, %r: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %0 = llm.matmul %a, %w bias %b residual %r {transpose_rhs = true, scale = 0.125 : f32, activation = #llm.activation<gelu_tanh>} : (tensor<2x4x8xf32>, tensor<16x8xf32>, tensor<16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %0 : tensor<2x4x16xf32>
}

// -----

// Each part alone; bias and residual broadcast to the result.
// CHECK-LABEL: func @parts
// CHECK: llm.matmul %{{.*}}, %{{.*}} bias %{{.*}} : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<1x16xf32>) -> tensor<4x16xf32>
// CHECK: llm.matmul %{{.*}}, %{{.*}} residual %{{.*}} : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
// CHECK: llm.matmul %{{.*}}, %{{.*}} {activation = #llm.activation<relu>} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK: llm.matmul %{{.*}}, %{{.*}} {activation = #llm.activation<silu>} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK: llm.matmul %{{.*}}, %{{.*}} {activation = #llm.activation<gelu>} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK: llm.matmul %{{.*}}, %{{.*}} {scale = 2.000000e+00 : f32} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
func.func @parts(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<1x16xf32>, %r: tensor<4x1xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %0 = llm.matmul %a, %w bias %b : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<1x16xf32>) -> tensor<4x16xf32>
  %1 = llm.matmul %a, %w residual %r : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %2 = llm.matmul %a, %w {activation = #llm.activation<relu>} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %3 = llm.matmul %a, %w {activation = #llm.activation<silu>} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %4 = llm.matmul %a, %w {activation = #llm.activation<gelu>} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %5 = llm.matmul %a, %w {scale = 2.0 : f32} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// An integer product takes relu.
// CHECK-LABEL: func @integer_relu
// CHECK: llm.matmul %{{.*}}, %{{.*}} bias %{{.*}} {activation = #llm.activation<relu>} : (tensor<4x8xi32>, tensor<8x16xi32>, tensor<16xi32>) -> tensor<4x16xi32>
func.func @integer_relu(%a: tensor<4x8xi32>, %w: tensor<8x16xi32>, %b: tensor<16xi32>) -> tensor<4x16xi32> {
  %0 = llm.matmul %a, %w bias %b {activation = #llm.activation<relu>} : (tensor<4x8xi32>, tensor<8x16xi32>, tensor<16xi32>) -> tensor<4x16xi32>
  return %0 : tensor<4x16xi32>
}
