// RUN: llm-opt %s -split-input-file --llm-sink-row-gathers --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-sink-row-gathers=remarks=true -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REMARK

// A padded expert: each of 3 tokens' rows gathered twice (once per routing
// choice, as a [1, 3, 4] batch gathered along axis 1), then a gated MLP
// and the per-row gate. The expert runs on the 3 tokens; its result is
// gathered where it meets the gate, which has a row per choice.
// CHECK-LABEL: func @expert
// CHECK-SAME: (%[[H:.*]]: tensor<1x3x4xf32>, %[[G:.*]]: tensor<6x1xf32>)
// CHECK-DAG: %[[C:.*]] = llm.constant dense<[0, 1, 2, 0, 1, 2]> : tensor<6xi64>
// CHECK-DAG: %[[W1:.*]] = llm.constant dense<1.000000e+00> : tensor<4x8xf32>
// CHECK-DAG: %[[W2:.*]] = llm.constant dense<2.000000e+00> : tensor<4x8xf32>
// CHECK-DAG: %[[W3:.*]] = llm.constant dense<3.000000e+00> : tensor<8x4xf32>
// CHECK: %[[X:.*]] = llm.reshape %[[H]] : (tensor<1x3x4xf32>) -> tensor<3x4xf32>
// CHECK: %[[A:.*]] = llm.matmul %[[X]], %[[W1]] : (tensor<3x4xf32>, tensor<4x8xf32>) -> tensor<3x8xf32>
// CHECK: %[[S:.*]] = llm.silu %[[A]] : tensor<3x8xf32>
// CHECK: %[[B:.*]] = llm.matmul %[[X]], %[[W2]] : (tensor<3x4xf32>, tensor<4x8xf32>) -> tensor<3x8xf32>
// CHECK: %[[P:.*]] = llm.mul %[[S]], %[[B]] : (tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<3x8xf32>
// CHECK: %[[Y:.*]] = llm.matmul %[[P]], %[[W3]] : (tensor<3x8xf32>, tensor<8x4xf32>) -> tensor<3x4xf32>
// CHECK: %[[R:.*]] = llm.gather %[[Y]], %[[C]] {axis = 0 : i64} : (tensor<3x4xf32>, tensor<6xi64>) -> tensor<6x4xf32>
// CHECK: %[[Z:.*]] = llm.mul %[[R]], %[[G]] : (tensor<6x4xf32>, tensor<6x1xf32>) -> tensor<6x4xf32>
// CHECK: return %[[Z]]
// REMARK: remark: llm-sink-row-gathers: sunk 5, views 1
func.func @expert(%h: tensor<1x3x4xf32>, %g: tensor<6x1xf32>) -> tensor<6x4xf32> {
  %c = llm.constant dense<[0, 1, 2, 0, 1, 2]> : tensor<6xi64>
  %w1 = llm.constant dense<1.0> : tensor<4x8xf32>
  %w2 = llm.constant dense<2.0> : tensor<4x8xf32>
  %w3 = llm.constant dense<3.0> : tensor<8x4xf32>
  %rows = llm.gather %h, %c {axis = 1 : i64} : (tensor<1x3x4xf32>, tensor<6xi64>) -> tensor<1x6x4xf32>
  %x = llm.reshape %rows : (tensor<1x6x4xf32>) -> tensor<6x4xf32>
  %a = llm.matmul %x, %w1 : (tensor<6x4xf32>, tensor<4x8xf32>) -> tensor<6x8xf32>
  %s = llm.silu %a : tensor<6x8xf32>
  %b = llm.matmul %x, %w2 : (tensor<6x4xf32>, tensor<4x8xf32>) -> tensor<6x8xf32>
  %p = llm.mul %s, %b : (tensor<6x8xf32>, tensor<6x8xf32>) -> tensor<6x8xf32>
  %y = llm.matmul %p, %w3 : (tensor<6x8xf32>, tensor<8x4xf32>) -> tensor<6x4xf32>
  %z = llm.mul %y, %g : (tensor<6x4xf32>, tensor<6x1xf32>) -> tensor<6x4xf32>
  return %z : tensor<6x4xf32>
}

// -----

// Splits and slices along the columns, a bias row and a scalar broadcast
// along the rows: all sink; the slice's rows become the source's.
// CHECK-LABEL: func @columns
// CHECK-SAME: (%[[X:.*]]: tensor<2x6xf32>, %[[B:.*]]: tensor<1x2xf32>)
// CHECK: %[[S:.*]]:2 = llm.split %[[X]] {axis = 1 : i64, sizes = array<i64: 2, 4>} : (tensor<2x6xf32>) -> (tensor<2x2xf32>, tensor<2x4xf32>)
// CHECK: %[[L:.*]] = llm.slice %[[S]]#1 {ends = array<i64: 2, 4>, starts = array<i64: 0, 2>, steps = array<i64: 1, 1>} : (tensor<2x4xf32>) -> tensor<2x2xf32>
// CHECK: %[[A:.*]] = llm.add %[[S]]#0, %[[L]] : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
// CHECK: %[[M:.*]] = llm.mul %[[A]], %[[B]] : (tensor<2x2xf32>, tensor<1x2xf32>) -> tensor<2x2xf32>
// CHECK: %[[E:.*]] = llm.exp %[[M]] : tensor<2x2xf32>
// CHECK: %[[G:.*]] = llm.gather %[[E]], %{{.*}} {axis = 0 : i64} : (tensor<2x2xf32>, tensor<4xi64>) -> tensor<4x2xf32>
// CHECK: return %[[G]]
// REMARK: remark: llm-sink-row-gathers: sunk 5, views 0
func.func @columns(%x: tensor<2x6xf32>, %b: tensor<1x2xf32>) -> tensor<4x2xf32> {
  %c = llm.constant dense<[1, 0, 1, 0]> : tensor<4xi64>
  %rows = llm.gather %x, %c {axis = 0 : i64} : (tensor<2x6xf32>, tensor<4xi64>) -> tensor<4x6xf32>
  %s:2 = llm.split %rows {axis = 1 : i64, sizes = array<i64: 2, 4>} : (tensor<4x6xf32>) -> (tensor<4x2xf32>, tensor<4x4xf32>)
  %l = llm.slice %s#1 {starts = array<i64: 0, 2>, ends = array<i64: 4, 4>, steps = array<i64: 1, 1>} : (tensor<4x4xf32>) -> tensor<4x2xf32>
  %a = llm.add %s#0, %l : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
  %m = llm.mul %a, %b : (tensor<4x2xf32>, tensor<1x2xf32>) -> tensor<4x2xf32>
  %e = llm.exp %m : tensor<4x2xf32>
  return %e : tensor<4x2xf32>
}

// -----

// Left alone: a gather that repeats no row (as many indices as rows), rows
// gathered at two different index sets meeting, rows gathered at one index
// set from sources of 2 and 3 rows meeting, a product that reads the
// gathered rows as its rhs, a slice of some rows, and a softmax along the
// rows.
// CHECK-LABEL: func @left_alone
// CHECK: %[[P:.*]] = llm.gather %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
// CHECK: llm.exp %[[P]] : tensor<2x4xf32>
// CHECK: %[[U:.*]] = llm.gather %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<2x4xf32>, tensor<4xi64>) -> tensor<4x4xf32>
// CHECK: %[[V:.*]] = llm.gather %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<2x4xf32>, tensor<4xi64>) -> tensor<4x4xf32>
// CHECK: llm.add %[[U]], %[[V]] : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
// CHECK: %[[W:.*]] = llm.gather %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<3x4xf32>, tensor<4xi64>) -> tensor<4x4xf32>
// CHECK: llm.sub %[[U]], %[[W]] : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
// CHECK: llm.matmul %{{.*}}, %[[U]] : (tensor<3x4xf32>, tensor<4x4xf32>) -> tensor<3x4xf32>
// CHECK: llm.slice %[[U]] {{.*}} : (tensor<4x4xf32>) -> tensor<2x4xf32>
// CHECK: llm.softmax %[[U]] {axis = 0 : i64} : tensor<4x4xf32>
// REMARK: remark: llm-sink-row-gathers: sunk 0, views 0
func.func @left_alone(%x: tensor<2x4xf32>, %y: tensor<3x4xf32>) -> (tensor<2x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<3x4xf32>, tensor<2x4xf32>, tensor<4x4xf32>) {
  %perm = llm.constant dense<[1, 0]> : tensor<2xi64>
  %c = llm.constant dense<[1, 0, 1, 0]> : tensor<4xi64>
  %d = llm.constant dense<[0, 0, 1, 1]> : tensor<4xi64>
  %p = llm.gather %x, %perm {axis = 0 : i64} : (tensor<2x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  %e = llm.exp %p : tensor<2x4xf32>
  %u = llm.gather %x, %c {axis = 0 : i64} : (tensor<2x4xf32>, tensor<4xi64>) -> tensor<4x4xf32>
  %v = llm.gather %x, %d {axis = 0 : i64} : (tensor<2x4xf32>, tensor<4xi64>) -> tensor<4x4xf32>
  %a = llm.add %u, %v : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %w = llm.gather %y, %c {axis = 0 : i64} : (tensor<3x4xf32>, tensor<4xi64>) -> tensor<4x4xf32>
  %b = llm.sub %u, %w : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %m = llm.matmul %y, %u : (tensor<3x4xf32>, tensor<4x4xf32>) -> tensor<3x4xf32>
  %s = llm.slice %u {starts = array<i64: 1, 0>, ends = array<i64: 3, 4>, steps = array<i64: 1, 1>} : (tensor<4x4xf32>) -> tensor<2x4xf32>
  %t = llm.softmax %u {axis = 0 : i64} : tensor<4x4xf32>
  return %e, %a, %b, %m, %s, %t : tensor<2x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<3x4xf32>, tensor<2x4xf32>, tensor<4x4xf32>
}
