// RUN: llm-opt %s -split-input-file --llm-outline-weights=min-elements=4 --verify-each | FileCheck %s

// Large constants become trailing arguments named after their location; a
// value used twice (tied weights) becomes one argument; small ones stay.
// CHECK: module attributes {llm.weights = {wte = dense<{{.*}}> : tensor<2x2xf32>}}
// CHECK-LABEL: func @forward
// CHECK-SAME: (%[[X:.*]]: tensor<2x2xf32> {llm.name = "x"}, %[[W:.*]]: tensor<2x2xf32> {llm.weight = "wte"})
// CHECK: %[[S:.*]] = llm.constant dense<2.000000e+00> : tensor<f32>
// CHECK: llm.matmul %[[X]], %[[W]]
// CHECK: llm.matmul %{{.*}}, %[[W]] {transpose_rhs = true}
// CHECK: llm.mul %{{.*}}, %[[S]]
func.func @forward(%x: tensor<2x2xf32> {llm.name = "x"}) -> tensor<2x2xf32> {
  %w = llm.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32> loc("wte")
  %w2 = llm.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32> loc("lm_head")
  %s = llm.constant dense<2.0> : tensor<f32>
  %0 = llm.matmul %x, %w : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %1 = llm.matmul %0, %w2 {transpose_rhs = true} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %2 = llm.mul %1, %s : (tensor<2x2xf32>, tensor<f32>) -> tensor<2x2xf32>
  return %2 : tensor<2x2xf32>
}
