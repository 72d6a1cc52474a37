// RUN: llm-opt %s -split-input-file --llm-k-major-weights --verify-each | FileCheck %s

// A [K, N] constant weight is stored [N, K] and read with transpose_rhs;
// the values move with it (w[k][n] == w'[n][k]).
// CHECK-LABEL: func @kn_weight
// CHECK: %[[W:.*]] = llm.constant dense<{{\[}}[1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
// CHECK: llm.matmul %{{.*}}, %[[W]] {transpose_rhs = true} : (tensor<4x2xf32>, tensor<3x2xf32>) -> tensor<4x3xf32>
// CHECK-NOT: tensor<2x3xf32>
func.func @kn_weight(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %w = llm.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32> loc("fc")
  %0 = llm.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// Batched constants transpose each matrix; an epilogue stays as it was.
// CHECK-LABEL: func @batched
// CHECK: %[[W:.*]] = llm.constant dense<{{\[}}{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]], {{\[}}[5.000000e+00, 7.000000e+00], [6.000000e+00, 8.000000e+00]]]> : tensor<2x2x2xf32>
// CHECK: llm.matmul %{{.*}}, %[[W]] bias %{{.*}} {activation = #llm.activation<relu>, transpose_rhs = true}
func.func @batched(%x: tensor<2x3x2xf32>, %b: tensor<2xf32>) -> tensor<2x3x2xf32> {
  %w = llm.constant dense<[[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]> : tensor<2x2x2xf32>
  %0 = llm.matmul %x, %w bias %b {activation = #llm.activation<relu>} : (tensor<2x3x2xf32>, tensor<2x2x2xf32>, tensor<2xf32>) -> tensor<2x3x2xf32>
  return %0 : tensor<2x3x2xf32>
}

// -----

// A constant with another user keeps its original for that user; two
// matmuls of the same weight share one transposed copy; a weight already
// read transposed, an activation rhs and a splat are handled as well.
// CHECK-LABEL: func @shared
// CHECK-DAG: %[[T:.*]] = llm.constant dense<{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[W:.*]] = llm.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[S:.*]] = llm.constant dense<5.000000e-01> : tensor<2x2xf32>
// CHECK: %[[A:.*]] = llm.matmul %{{.*}}, %[[T]] {transpose_rhs = true}
// CHECK: %[[B:.*]] = llm.matmul %[[A]], %[[T]] {transpose_rhs = true}
// CHECK: %[[C:.*]] = llm.matmul %[[B]], %[[W]] {transpose_rhs = true}
// CHECK: %[[D:.*]] = llm.matmul %[[C]], %[[C]] :
// CHECK: %[[E:.*]] = llm.matmul %[[D]], %[[S]] {transpose_rhs = true}
// CHECK: llm.add %[[E]], %[[W]]
func.func @shared(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %w = llm.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %s = llm.constant dense<0.5> : tensor<2x2xf32>
  %0 = llm.matmul %x, %w : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %1 = llm.matmul %0, %w : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %2 = llm.matmul %1, %w {transpose_rhs = true} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %3 = llm.matmul %2, %2 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %4 = llm.matmul %3, %s : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %5 = llm.add %4, %w : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %5 : tensor<2x2xf32>
}

// -----

// Integer products too (pre-quantized models' int8 weights [K, N]): the
// bytes are stored [N, K] and a per-column zero point [N] is read [N, 1]
// (a constant one as a constant); a per-tensor one stays; a zero point that
// varies along both K and N keeps the product as it is.
// CHECK-LABEL: func @integer
// CHECK-DAG: %[[T:.*]] = llm.constant dense<{{\[}}[1, 3, 5], [2, 4, 6]]> : tensor<2x3xi8>
// CHECK-DAG: %[[W:.*]] = llm.constant dense<{{\[}}[1, 2], [3, 4], [5, 6]]> : tensor<3x2xi8>
// CHECK: %[[Z:.*]] = llm.reshape %{{.*}} : (tensor<2xi8>) -> tensor<2x1xi8>
// CHECK: llm.qmatmul %{{.*}}, %[[T]] rhs_zero_point %[[Z]] {transpose_rhs = true} : (tensor<4x3xi8>, tensor<2x3xi8>, tensor<2x1xi8>) -> tensor<4x2xi32>
// CHECK: llm.qmatmul %{{.*}}, %[[T]] rhs_zero_point %arg2 {rhs_unsigned, transpose_rhs = true}
// CHECK: %[[C:.*]] = llm.constant dense<{{\[}}[1], [2]]> : tensor<2x1xi8>
// CHECK: llm.qmatmul %{{.*}}, %[[T]] rhs_zero_point %[[C]] {transpose_rhs = true}
// CHECK: llm.qmatmul %{{.*}}, %[[W]] rhs_zero_point %{{.*}} : (tensor<4x3xi8>, tensor<3x2xi8>, tensor<3x2xi8>) -> tensor<4x2xi32>
func.func @integer(%x: tensor<4x3xi8>, %z: tensor<2xi8>, %p: tensor<i8>, %e: tensor<3x2xi8>) -> (tensor<4x2xi32>, tensor<4x2xi32>, tensor<4x2xi32>, tensor<4x2xi32>) {
  %w = llm.constant dense<[[1, 2], [3, 4], [5, 6]]> : tensor<3x2xi8>
  %0 = llm.qmatmul %x, %w rhs_zero_point %z : (tensor<4x3xi8>, tensor<3x2xi8>, tensor<2xi8>) -> tensor<4x2xi32>
  %1 = llm.qmatmul %x, %w rhs_zero_point %p {rhs_unsigned} : (tensor<4x3xi8>, tensor<3x2xi8>, tensor<i8>) -> tensor<4x2xi32>
  %zc = llm.constant dense<[1, 2]> : tensor<2xi8>
  %3 = llm.qmatmul %x, %w rhs_zero_point %zc : (tensor<4x3xi8>, tensor<3x2xi8>, tensor<2xi8>) -> tensor<4x2xi32>
  %2 = llm.qmatmul %x, %w rhs_zero_point %e : (tensor<4x3xi8>, tensor<3x2xi8>, tensor<3x2xi8>) -> tensor<4x2xi32>
  return %0, %1, %2, %3 : tensor<4x2xi32>, tensor<4x2xi32>, tensor<4x2xi32>, tensor<4x2xi32>
}

// -----

// A dense_resource weight (a model's initializer) gets a new resource
// holding the transposed values: w [[1, 2, 3], [4, 5, 6]] stored as
// [[1, 4], [2, 5], [3, 6]].
// CHECK-LABEL: func @resource_weight
// CHECK: %[[W:.*]] = llm.constant dense_resource<fc_w_1> : tensor<3x2xf32>
// CHECK: llm.matmul %{{.*}}, %[[W]] {transpose_rhs = true} : (tensor<4x2xf32>, tensor<3x2xf32>) -> tensor<4x3xf32>
// CHECK: fc_w_1: "0x040000000000803F00008040000000400000A040000040400000C040"
func.func @resource_weight(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %w = llm.constant dense_resource<fc_w> : tensor<2x3xf32>
  %0 = llm.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
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

// Experts gathered from a constant [E, K, N] table (a routed mixture of
// experts'): the table is stored [E, N, K] and gathered the same way, each
// expert's values transposed (w[e][k][n] == w'[e][n][k]); a gather along
// the matrix's own dims, or of a table that is not constant, stays.
// CHECK-LABEL: func @gathered_experts
// CHECK-SAME: (%[[X:.*]]: tensor<2x1x2xf32>, %[[IDS:.*]]: tensor<2xi64>, %[[T:.*]]: tensor<2x2x3xf32>)
// CHECK-DAG: %[[W:.*]] = llm.constant dense<{{\[}}{{\[}}[1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]], {{\[}}[7.000000e+00, 1.000000e+01], [8.000000e+00, 1.100000e+01], [9.000000e+00, 1.200000e+01]]]> : tensor<2x3x2xf32>
// CHECK-DAG: %[[G:.*]] = llm.gather %[[W]], %[[IDS]] {axis = 0 : i64} : (tensor<2x3x2xf32>, tensor<2xi64>) -> tensor<2x3x2xf32>
// CHECK: llm.matmul %[[X]], %[[G]] {transpose_rhs = true} : (tensor<2x1x2xf32>, tensor<2x3x2xf32>) -> tensor<2x1x3xf32>
// CHECK: %[[R:.*]] = llm.gather %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<2x2x3xf32>, tensor<2xi64>) -> tensor<2x2x3xf32>
// CHECK: llm.matmul %[[X]], %[[R]] : (tensor<2x1x2xf32>, tensor<2x2x3xf32>) -> tensor<2x1x3xf32>
// CHECK: %[[A:.*]] = llm.gather %[[T]], %[[IDS]] {axis = 0 : i64}
// CHECK: llm.matmul %[[X]], %[[A]] : (tensor<2x1x2xf32>, tensor<2x2x3xf32>) -> tensor<2x1x3xf32>
func.func @gathered_experts(%x: tensor<2x1x2xf32>, %ids: tensor<2xi64>, %t: tensor<2x2x3xf32>) -> (tensor<2x1x3xf32>, tensor<2x1x3xf32>, tensor<2x1x3xf32>) {
  %w = llm.constant dense<[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]]> : tensor<2x2x3xf32>
  %g = llm.gather %w, %ids {axis = 0 : i64} : (tensor<2x2x3xf32>, tensor<2xi64>) -> tensor<2x2x3xf32>
  %0 = llm.matmul %x, %g : (tensor<2x1x2xf32>, tensor<2x2x3xf32>) -> tensor<2x1x3xf32>
  %rows = llm.gather %w, %ids {axis = 1 : i64} : (tensor<2x2x3xf32>, tensor<2xi64>) -> tensor<2x2x3xf32>
  %1 = llm.matmul %x, %rows : (tensor<2x1x2xf32>, tensor<2x2x3xf32>) -> tensor<2x1x3xf32>
  %a = llm.gather %t, %ids {axis = 0 : i64} : (tensor<2x2x3xf32>, tensor<2xi64>) -> tensor<2x2x3xf32>
  %2 = llm.matmul %x, %a : (tensor<2x1x2xf32>, tensor<2x2x3xf32>) -> tensor<2x1x3xf32>
  return %0, %1, %2 : tensor<2x1x3xf32>, tensor<2x1x3xf32>, tensor<2x1x3xf32>
}
