// RUN: llm-opt %s -split-input-file --llm-n-major-weights --verify-each | FileCheck %s

// A constant [N, K] weight read with transpose_rhs (ONNX Gemm's transB) is
// stored [K, N] and read without it; the values move with it
// (w[n][k] == w'[k][n]). An epilogue stays as it was.
// CHECK-LABEL: func @nk_weight
// CHECK: %[[W:.*]] = llm.constant dense<{{\[}}[1.000000e+00, 3.000000e+00, 5.000000e+00], [2.000000e+00, 4.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>
// CHECK: llm.matmul %{{.*}}, %[[W]] bias %{{.*}} {activation = #llm.activation<relu>} : (tensor<4x2xf32>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
// CHECK-NOT: tensor<3x2xf32>
func.func @nk_weight(%x: tensor<4x2xf32>, %b: tensor<3xf32>) -> tensor<4x3xf32> {
  %w = llm.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %0 = llm.matmul %x, %w bias %b {activation = #llm.activation<relu>, transpose_rhs = true} : (tensor<4x2xf32>, tensor<3x2xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// Left as they are: a weight already [K, N], an activation rhs, and an
// integer product (its zero points follow the exported layout). A
// constant with another user keeps its original for that user.
// CHECK-LABEL: func @unchanged
// CHECK-DAG: %[[W:.*]] = llm.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[T:.*]] = llm.constant dense<{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK: %[[A:.*]] = llm.matmul %{{.*}}, %[[W]] :
// CHECK: %[[B:.*]] = llm.matmul %[[A]], %[[T]] :
// CHECK: %[[C:.*]] = llm.matmul %[[B]], %[[B]] {transpose_rhs = true}
// CHECK: llm.add %[[C]], %[[W]]
// CHECK: %[[Q:.*]] = llm.constant dense<{{\[}}[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi8>
// CHECK: llm.qmatmul %{{.*}}, %[[Q]] {transpose_rhs = true}
func.func @unchanged(%x: tensor<2x2xf32>, %xq: tensor<4x3xi8>) -> (tensor<2x2xf32>, tensor<4x2xi32>) {
  %w = llm.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %0 = llm.matmul %x, %w : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %1 = llm.matmul %0, %w {transpose_rhs = true} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %2 = llm.matmul %1, %1 {transpose_rhs = true} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %3 = llm.add %2, %w : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %q = llm.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi8>
  %4 = llm.qmatmul %xq, %q {transpose_rhs = true} : (tensor<4x3xi8>, tensor<2x3xi8>) -> tensor<4x2xi32>
  return %3, %4 : tensor<2x2xf32>, tensor<4x2xi32>
}

// -----

// A dense_resource weight [N, K] [[1, 2], [3, 4], [5, 6]] gets a new
// resource holding [[1, 3, 5], [2, 4, 6]].
// CHECK-LABEL: func @resource_weight
// CHECK: %[[W:.*]] = llm.constant dense_resource<fc_w_1> : tensor<2x3xf32>
// CHECK: llm.matmul %{{.*}}, %[[W]] : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
// CHECK: fc_w_1: "0x040000000000803F000040400000A04000000040000080400000C040"
func.func @resource_weight(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %w = llm.constant dense_resource<fc_w> : tensor<3x2xf32>
  %0 = llm.matmul %x, %w {transpose_rhs = true} : (tensor<4x2xf32>, tensor<3x2xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}
{-#
  dialect_resources: {
    builtin: {
      fc_w: "0x040000000000803F0000004000004040000080400000A0400000C040"
    }
  }
#-}

// -----

// Experts gathered from a constant [E, N, K] table (llm-route-experts'
// stacking, ONNX Runtime's MoE): the table is stored [E, K, N] and gathered
// the same way (w[e][n][k] == w'[e][k][n]); a gather along the matrix's own
// dims, or of a table that is not constant, stays.
// CHECK-LABEL: func @gathered_experts
// CHECK-SAME: (%[[X:.*]]: tensor<2x1x2xf32>, %[[IDS:.*]]: tensor<2xi64>, %[[T:.*]]: tensor<2x3x2xf32>)
// CHECK-DAG: %[[W:.*]] = llm.constant dense<{{\[}}{{\[}}[1.000000e+00, 3.000000e+00, 5.000000e+00], [2.000000e+00, 4.000000e+00, 6.000000e+00]], {{\[}}[7.000000e+00, 9.000000e+00, 1.100000e+01], [8.000000e+00, 1.000000e+01, 1.200000e+01]]]> : tensor<2x2x3xf32>
// CHECK-DAG: %[[G:.*]] = llm.gather %[[W]], %[[IDS]] {axis = 0 : i64} : (tensor<2x2x3xf32>, tensor<2xi64>) -> tensor<2x2x3xf32>
// CHECK: llm.matmul %[[X]], %[[G]] : (tensor<2x1x2xf32>, tensor<2x2x3xf32>) -> tensor<2x1x3xf32>
// CHECK: %[[R:.*]] = llm.gather %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<2x3x2xf32>, tensor<2xi64>) -> tensor<2x2x2xf32>
// CHECK: llm.matmul %{{.*}}, %[[R]] {transpose_rhs = true}
// CHECK: %[[A:.*]] = llm.gather %[[T]], %[[IDS]] {axis = 0 : i64}
// CHECK: llm.matmul %[[X]], %[[A]] {transpose_rhs = true} : (tensor<2x1x2xf32>, tensor<2x3x2xf32>) -> tensor<2x1x3xf32>
func.func @gathered_experts(%x: tensor<2x1x2xf32>, %ids: tensor<2xi64>, %t: tensor<2x3x2xf32>) -> (tensor<2x1x3xf32>, tensor<2x1x2xf32>, tensor<2x1x3xf32>) {
  %w = llm.constant dense<[[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [[7.0, 8.0], [9.0, 10.0], [11.0, 12.0]]]> : tensor<2x3x2xf32>
  %g = llm.gather %w, %ids {axis = 0 : i64} : (tensor<2x3x2xf32>, tensor<2xi64>) -> tensor<2x3x2xf32>
  %0 = llm.matmul %x, %g {transpose_rhs = true} : (tensor<2x1x2xf32>, tensor<2x3x2xf32>) -> tensor<2x1x3xf32>
  %rows = llm.gather %w, %ids {axis = 1 : i64} : (tensor<2x3x2xf32>, tensor<2xi64>) -> tensor<2x2x2xf32>
  %1 = llm.matmul %x, %rows {transpose_rhs = true} : (tensor<2x1x2xf32>, tensor<2x2x2xf32>) -> tensor<2x1x2xf32>
  %a = llm.gather %t, %ids {axis = 0 : i64} : (tensor<2x3x2xf32>, tensor<2xi64>) -> tensor<2x3x2xf32>
  %2 = llm.matmul %x, %a {transpose_rhs = true} : (tensor<2x1x2xf32>, tensor<2x3x2xf32>) -> tensor<2x1x3xf32>
  return %0, %1, %2 : tensor<2x1x3xf32>, tensor<2x1x2xf32>, tensor<2x1x3xf32>
}
