// RUN: llm-opt %s -split-input-file --llm-fuse-qkv --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-fuse-qkv=remarks=true -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REMARK

// Q, K and V projections of one input with biases: one matmul over the
// weights concatenated along N, the biases concatenated likewise, then a
// split. [K, N] weights interleave row by row.
// CHECK-LABEL: func @qkv
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x2xf32>)
// CHECK-DAG: %[[W:.*]] = llm.constant dense<{{\[}}[1.000000e+00, 2.000000e+00, 5.000000e+00, 7.000000e+00, 8.000000e+00, 9.000000e+00], [3.000000e+00, 4.000000e+00, 6.000000e+00, 1.000000e+01, 1.100000e+01, 1.200000e+01]]> : tensor<2x6xf32>
// CHECK-DAG: %[[B:.*]] = llm.constant dense<[1.000000e-01, 2.000000e-01, 3.000000e-01, 4.000000e-01, 5.000000e-01, 6.000000e-01]> : tensor<6xf32>
// CHECK: %[[M:.*]] = llm.matmul %[[X]], %[[W]] bias %[[B]] {activation = #llm.activation<relu>} : (tensor<2x3x2xf32>, tensor<2x6xf32>, tensor<6xf32>) -> tensor<2x3x6xf32>
// CHECK: %[[S:.*]]:3 = llm.split %[[M]] {axis = 2 : i64, sizes = array<i64: 2, 1, 3>} : (tensor<2x3x6xf32>) -> (tensor<2x3x2xf32>, tensor<2x3x1xf32>, tensor<2x3x3xf32>)
// CHECK-NOT: llm.matmul
// CHECK: return %[[S]]#0, %[[S]]#1, %[[S]]#2
func.func @qkv(%x: tensor<2x3x2xf32>) -> (tensor<2x3x2xf32>, tensor<2x3x1xf32>, tensor<2x3x3xf32>) {
  %wq = llm.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %wk = llm.constant dense<[[5.0], [6.0]]> : tensor<2x1xf32>
  %wv = llm.constant dense<[[7.0, 8.0, 9.0], [10.0, 11.0, 12.0]]> : tensor<2x3xf32>
  %bq = llm.constant dense<[0.1, 0.2]> : tensor<2xf32>
  %bk = llm.constant dense<[[0.3]]> : tensor<1x1xf32>
  %bv = llm.constant dense<[0.4, 0.5, 0.6]> : tensor<3xf32>
  %q = llm.matmul %x, %wq bias %bq {activation = #llm.activation<relu>} : (tensor<2x3x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x3x2xf32>
  %k = llm.matmul %x, %wk bias %bk {activation = #llm.activation<relu>} : (tensor<2x3x2xf32>, tensor<2x1xf32>, tensor<1x1xf32>) -> tensor<2x3x1xf32>
  %v = llm.matmul %x, %wv bias %bv {activation = #llm.activation<relu>} : (tensor<2x3x2xf32>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3x3xf32>
  return %q, %k, %v : tensor<2x3x2xf32>, tensor<2x3x1xf32>, tensor<2x3x3xf32>
}

// -----

// [N, K] weights (transpose_rhs) follow each other; a splat weight expands;
// dense_resource weights give a new dense_resource blob.
// CHECK-LABEL: func @transposed
// CHECK: %[[W:.*]] = llm.constant dense_resource<wq.fused> : tensor<3x2xf32>
// CHECK: %[[M:.*]] = llm.matmul %{{.*}}, %[[W]] {transpose_rhs = true} : (tensor<4x2xf32>, tensor<3x2xf32>) -> tensor<4x3xf32>
// CHECK: llm.split %[[M]] {axis = 1 : i64, sizes = array<i64: 2, 1>}
// CHECK-NOT: llm.matmul
// CHECK: wq.fused: "0x040000000000803F0000004000004040000080400000A0400000A040"
func.func @transposed(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x1xf32>) {
  %wq = llm.constant dense_resource<wq> : tensor<2x2xf32>
  %wk = llm.constant dense<5.0> : tensor<1x2xf32>
  %q = llm.matmul %x, %wq {transpose_rhs = true} : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  %k = llm.matmul %x, %wk {transpose_rhs = true} : (tensor<4x2xf32>, tensor<1x2xf32>) -> tensor<4x1xf32>
  return %q, %k : tensor<4x2xf32>, tensor<4x1xf32>
}

{-#
  dialect_resources: {
    builtin: {
      wq: "0x040000000000803F000000400000404000008040"
    }
  }
#-}

// -----

// Two groups on one input: the scaled products merge with each other, the
// plain ones with each other.
// CHECK-LABEL: func @two_kinds
// CHECK: llm.matmul {{.*}} {scale = 5.000000e-01 : f32} : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
// CHECK: llm.split
// CHECK: llm.matmul {{.*}} : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
// CHECK: llm.split
// CHECK-NOT: llm.matmul
func.func @two_kinds(%x: tensor<4x2xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>) {
  %w0 = llm.constant dense<[[1.0], [2.0]]> : tensor<2x1xf32>
  %w1 = llm.constant dense<[[3.0], [4.0]]> : tensor<2x1xf32>
  %0 = llm.matmul %x, %w0 {scale = 0.5 : f32} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  %1 = llm.matmul %x, %w0 : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  %2 = llm.matmul %x, %w1 {scale = 0.5 : f32} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  %3 = llm.matmul %x, %w1 : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  return %0, %1, %2, %3 : tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>
}

// -----

// Weights that are not constants stay apart.
// CHECK-LABEL: func @non_constant_weights
// CHECK-COUNT-2: llm.matmul
// CHECK-NOT: llm.split
func.func @non_constant_weights(%x: tensor<4x2xf32>, %wq: tensor<2x2xf32>, %wk: tensor<2x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>) {
  %q = llm.matmul %x, %wq : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  %k = llm.matmul %x, %wk : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  return %q, %k : tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// A square input read along different dims (transpose_lhs): different K
// rows of the weights, and different transpose flags; they stay apart.
// CHECK-LABEL: func @different_k
// CHECK-COUNT-2: llm.matmul
// CHECK-NOT: llm.split
func.func @different_k(%x: tensor<2x3xf32>) -> (tensor<2x2xf32>, tensor<3x2xf32>) {
  %w3 = llm.constant dense<1.0> : tensor<3x2xf32>
  %w2 = llm.constant dense<2.0> : tensor<2x2xf32>
  %0 = llm.matmul %x, %w3 : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  %1 = llm.matmul %x, %w2 {transpose_lhs = true} : (tensor<2x3xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %0, %1 : tensor<2x2xf32>, tensor<3x2xf32>
}

// -----

// Different epilogues (one bias, one none; a residual) stay apart.
// CHECK-LABEL: func @different_epilogues
// CHECK-COUNT-3: llm.matmul
// CHECK-NOT: llm.split
func.func @different_epilogues(%x: tensor<4x2xf32>, %r: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) {
  %w = llm.constant dense<1.0> : tensor<2x2xf32>
  %b = llm.constant dense<1.0> : tensor<2xf32>
  %0 = llm.matmul %x, %w bias %b : (tensor<4x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  %1 = llm.matmul %x, %w : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  %2 = llm.matmul %x, %w residual %r : (tensor<4x2xf32>, tensor<2x2xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  return %0, %1, %2 : tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// Different inputs: nothing to share.
// CHECK-LABEL: func @different_inputs
// CHECK-COUNT-2: llm.matmul
// CHECK-NOT: llm.split
func.func @different_inputs(%x: tensor<4x2xf32>, %y: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>) {
  %w = llm.constant dense<1.0> : tensor<2x2xf32>
  %0 = llm.matmul %x, %w : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  %1 = llm.matmul %y, %w : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  return %0, %1 : tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// A gated MLP: the gate carries its SiLU and is only multiplied, the up
// projection carries none. They merge into one product without activation,
// the SiLU follows the split on the gate's part. A tanh-GELU product whose
// result is not only multiplied (an MLP input beside attention projections)
// keeps its activation in its own epilogue. Products with one activation
// keep it in the merged epilogue.
// CHECK-LABEL: func @gated_mlp
// CHECK: %[[M:.*]] = llm.matmul %{{.*}}, %{{.*}} : (tensor<4x2xf32>, tensor<2x6xf32>) -> tensor<4x6xf32>
// CHECK: %[[S:.*]]:2 = llm.split %[[M]] {axis = 1 : i64, sizes = array<i64: 3, 3>}
// CHECK: %[[GATE:.*]] = llm.silu %[[S]]#0 : tensor<4x3xf32>
// CHECK: %[[OTHER:.*]] = llm.matmul %{{.*}}, %{{.*}} {activation = #llm.activation<gelu_tanh>} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
// CHECK: %[[PRODUCT:.*]] = llm.mul %[[GATE]], %[[S]]#1
// CHECK: %[[BOTH:.*]] = llm.matmul %{{.*}}, %{{.*}} {activation = #llm.activation<silu>} : (tensor<4x2xf32>, tensor<2x6xf32>) -> tensor<4x6xf32>
// CHECK: llm.split %[[BOTH]]
// CHECK-NOT: llm.silu
// CHECK: return %[[PRODUCT]], %[[OTHER]]
func.func @gated_mlp(%x: tensor<4x2xf32>, %y: tensor<4x2xf32>) -> (tensor<4x3xf32>, tensor<4x1xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  %wg = llm.constant dense<1.0> : tensor<2x3xf32>
  %wu = llm.constant dense<2.0> : tensor<2x3xf32>
  %wo = llm.constant dense<3.0> : tensor<2x1xf32>
  %gate = llm.matmul %x, %wg {activation = #llm.activation<silu>} : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %up = llm.matmul %x, %wu : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %other = llm.matmul %x, %wo {activation = #llm.activation<gelu_tanh>} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  %product = llm.mul %gate, %up : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  %a = llm.matmul %y, %wg {activation = #llm.activation<silu>} : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %b = llm.matmul %y, %wu {activation = #llm.activation<silu>} : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %product, %other, %a, %b : tensor<4x3xf32>, tensor<4x1xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}

// -----

// Two gates on one input, a SiLU and a GELU, each only multiplied, merge
// with the plain product beside them; each activation follows the split.
// CHECK-LABEL: func @two_gates
// CHECK: %[[M:.*]] = llm.matmul %{{.*}}, %{{.*}} : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
// CHECK: %[[S:.*]]:3 = llm.split %[[M]]
// CHECK-DAG: llm.silu %[[S]]#1
// CHECK-DAG: llm.gelu %[[S]]#2 : tensor<4x1xf32>
func.func @two_gates(%x: tensor<4x2xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>) {
  %w = llm.constant dense<1.0> : tensor<2x1xf32>
  %up = llm.matmul %x, %w : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  %g1 = llm.matmul %x, %w {activation = #llm.activation<silu>} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  %g2 = llm.matmul %x, %w {activation = #llm.activation<gelu>} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  %p1 = llm.mul %g1, %up : (tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  %p2 = llm.mul %up, %g2 : (tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  return %p1, %p2 : tensor<4x1xf32>, tensor<4x1xf32>
}

// -----

// Products of experts gathered by the same indices (a routed mixture of
// experts' gate and up projections): the tables concatenate along N expert
// by expert, [E, K, N] row by row and [E, N, K] block by block, and are
// gathered once; a product gathered by other indices stays apart.
// CHECK-LABEL: func @experts
// CHECK-SAME: (%[[X:.*]]: tensor<3x1x2xf32>, %[[IDS:.*]]: tensor<3xi64>, %[[OTHER:.*]]: tensor<3xi64>)
// CHECK: %[[C:.*]] = llm.gather %{{.*}}, %[[OTHER]]
// CHECK: %[[T:.*]] = llm.constant dense<{{\[}}{{\[}}[1.000000e+00, 2.000000e+00, 5.000000e+00], [3.000000e+00, 4.000000e+00, 6.000000e+00]], {{\[}}[7.000000e+00, 8.000000e+00, 1.100000e+01], [9.000000e+00, 1.000000e+01, 1.200000e+01]]]> : tensor<2x2x3xf32>
// CHECK: %[[G:.*]] = llm.gather %[[T]], %[[IDS]] {axis = 0 : i64} : (tensor<2x2x3xf32>, tensor<3xi64>) -> tensor<3x2x3xf32>
// CHECK: %[[M:.*]] = llm.matmul %[[X]], %[[G]] : (tensor<3x1x2xf32>, tensor<3x2x3xf32>) -> tensor<3x1x3xf32>
// CHECK: %[[S:.*]]:2 = llm.split %[[M]] {axis = 2 : i64, sizes = array<i64: 2, 1>}
// CHECK: %[[P:.*]] = llm.matmul %[[X]], %[[C]] : (tensor<3x1x2xf32>, tensor<3x2x1xf32>) -> tensor<3x1x1xf32>
// CHECK: return %[[S]]#0, %[[S]]#1, %[[P]]
func.func @experts(%x: tensor<3x1x2xf32>, %ids: tensor<3xi64>, %other: tensor<3xi64>) -> (tensor<3x1x2xf32>, tensor<3x1x1xf32>, tensor<3x1x1xf32>) {
  %a = llm.constant dense<[[[1.0, 2.0], [3.0, 4.0]], [[7.0, 8.0], [9.0, 10.0]]]> : tensor<2x2x2xf32>
  %b = llm.constant dense<[[[5.0], [6.0]], [[11.0], [12.0]]]> : tensor<2x2x1xf32>
  %ga = llm.gather %a, %ids {axis = 0 : i64} : (tensor<2x2x2xf32>, tensor<3xi64>) -> tensor<3x2x2xf32>
  %gb = llm.gather %b, %ids {axis = 0 : i64} : (tensor<2x2x1xf32>, tensor<3xi64>) -> tensor<3x2x1xf32>
  %gc = llm.gather %b, %other {axis = 0 : i64} : (tensor<2x2x1xf32>, tensor<3xi64>) -> tensor<3x2x1xf32>
  %0 = llm.matmul %x, %ga : (tensor<3x1x2xf32>, tensor<3x2x2xf32>) -> tensor<3x1x2xf32>
  %1 = llm.matmul %x, %gb : (tensor<3x1x2xf32>, tensor<3x2x1xf32>) -> tensor<3x1x1xf32>
  %2 = llm.matmul %x, %gc : (tensor<3x1x2xf32>, tensor<3x2x1xf32>) -> tensor<3x1x1xf32>
  return %0, %1, %2 : tensor<3x1x2xf32>, tensor<3x1x1xf32>, tensor<3x1x1xf32>
}

// CHECK-LABEL: func @experts_transposed
// CHECK: %[[T:.*]] = llm.constant dense<{{\[}}{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]], {{\[}}[7.000000e+00, 8.000000e+00], [9.000000e+00, 1.000000e+01], [1.100000e+01, 1.200000e+01]]]> : tensor<2x3x2xf32>
// CHECK: %[[G:.*]] = llm.gather %[[T]], %{{.*}} {axis = 0 : i64} : (tensor<2x3x2xf32>, tensor<3xi64>) -> tensor<3x3x2xf32>
// CHECK: llm.matmul %{{.*}}, %[[G]] {transpose_rhs = true} : (tensor<3x1x2xf32>, tensor<3x3x2xf32>) -> tensor<3x1x3xf32>
// CHECK-NOT: llm.matmul
func.func @experts_transposed(%x: tensor<3x1x2xf32>, %ids: tensor<3xi64>) -> (tensor<3x1x2xf32>, tensor<3x1x1xf32>) {
  %a = llm.constant dense<[[[1.0, 2.0], [3.0, 4.0]], [[7.0, 8.0], [9.0, 10.0]]]> : tensor<2x2x2xf32>
  %b = llm.constant dense<[[[5.0, 6.0]], [[11.0, 12.0]]]> : tensor<2x1x2xf32>
  %ga = llm.gather %a, %ids {axis = 0 : i64} : (tensor<2x2x2xf32>, tensor<3xi64>) -> tensor<3x2x2xf32>
  %gb = llm.gather %b, %ids {axis = 0 : i64} : (tensor<2x1x2xf32>, tensor<3xi64>) -> tensor<3x1x2xf32>
  %0 = llm.matmul %x, %ga {transpose_rhs = true} : (tensor<3x1x2xf32>, tensor<3x2x2xf32>) -> tensor<3x1x2xf32>
  %1 = llm.matmul %x, %gb {transpose_rhs = true} : (tensor<3x1x2xf32>, tensor<3x1x2xf32>) -> tensor<3x1x1xf32>
  return %0, %1 : tensor<3x1x2xf32>, tensor<3x1x1xf32>
}

// With remarks=true, one remark per run (per split) counts the rewrites.
// REMARK: remark: llm-fuse-qkv: groups 1, matmuls 3
// REMARK: remark: llm-fuse-qkv: groups 1, matmuls 2
// REMARK: remark: llm-fuse-qkv: groups 2, matmuls 4
// REMARK: remark: llm-fuse-qkv: groups 0, matmuls 0
// REMARK: remark: llm-fuse-qkv: groups 0, matmuls 0
// REMARK: remark: llm-fuse-qkv: groups 0, matmuls 0
// REMARK: remark: llm-fuse-qkv: groups 0, matmuls 0
// REMARK: remark: llm-fuse-qkv: groups 2, matmuls 4
// REMARK: remark: llm-fuse-qkv: groups 1, matmuls 3
// REMARK: remark: llm-fuse-qkv: groups 2, matmuls 4
