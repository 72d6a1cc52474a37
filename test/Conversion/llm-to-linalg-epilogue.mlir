// RUN: llm-opt %s -split-input-file --convert-llm-to-linalg | FileCheck %s

// The epilogue of llm.matmul is one elementwise generic after the product:
// scale, bias, activation (the body of the standalone op), residual.

// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[VEC:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-LABEL: func @full
// CHECK-SAME: (%{{.*}}: tensor<2x4x8xf32>, %{{.*}}: tensor<16x8xf32>, %[[BIAS:.*]]: tensor<16xf32>, %[[RES:.*]]: tensor<2x4x16xf32>)
// CHECK: %[[P:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[VEC]], #[[ID]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[P]], %[[BIAS]], %[[RES]] : tensor<2x4x16xf32>, tensor<16xf32>, tensor<2x4x16xf32>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[B:.*]]: f32, %[[R:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[SCALE:.*]] = arith.constant 1.250000e-01 : f32
// CHECK: %[[SX:.*]] = arith.mulf %[[SCALE]], %[[X]] : f32
// CHECK: %[[Y:.*]] = arith.addf %[[SX]], %[[B]] : f32
// CHECK: %[[NEG:.*]] = arith.negf %[[Y]] : f32
// CHECK: math.exp %[[NEG]]
// CHECK: %[[SIG:.*]] = arith.divf
// CHECK: %[[ACT:.*]] = arith.mulf %[[Y]], %[[SIG]] : f32
// CHECK: %[[OUT:.*]] = arith.addf %[[ACT]], %[[R]] : f32
// CHECK: linalg.yield %[[OUT]] : f32
// CHECK-NOT: llm.
func.func @full(%a: tensor<2x4x8xf32>, %w: tensor<16x8xf32>, %b: tensor<16xf32>, %r: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %0 = llm.matmul %a, %w bias %b residual %r {transpose_rhs = true, scale = 0.125 : f32, activation = #llm.activation<silu>} : (tensor<2x4x8xf32>, tensor<16x8xf32>, tensor<16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %0 : tensor<2x4x16xf32>
}

// -----

// GELU (exact and tanh) and relu are the bodies of llm.gelu and llm.relu.
// CHECK-LABEL: func @activations
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: %[[E:.*]] = math.erf
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: math.tanh
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: arith.maximumf %[[X]], %[[ZERO]] : f32
func.func @activations(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %0 = llm.matmul %a, %w {activation = #llm.activation<gelu>} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = llm.matmul %a, %w {activation = #llm.activation<gelu_tanh>} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %2 = llm.matmul %a, %w {activation = #llm.activation<relu>} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  return %0, %1, %2 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// Integer products add bias and residual with addi.
// CHECK-LABEL: func @integer
// CHECK: linalg.generic
// CHECK: linalg.generic
// CHECK: ^bb0(%[[X:.*]]: i32, %[[B:.*]]: i32, %{{.*}}: i32):
// CHECK: %[[Y:.*]] = arith.addi %[[X]], %[[B]] : i32
// CHECK: arith.maxsi %[[Y]]
func.func @integer(%a: tensor<4x8xi32>, %w: tensor<8x16xi32>, %b: tensor<1x16xi32>) -> tensor<4x16xi32> {
  %0 = llm.matmul %a, %w bias %b {activation = #llm.activation<relu>} : (tensor<4x8xi32>, tensor<8x16xi32>, tensor<1x16xi32>) -> tensor<4x16xi32>
  return %0 : tensor<4x16xi32>
}
