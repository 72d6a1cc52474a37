// RUN: llm-opt %s -split-input-file --llm-outer-products --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-outer-products=remarks=true -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REMARK

// A product over one k is an outer product, a broadcast multiply: Hugging
// Face's rotary angles, inv_freq [B, D/2, 1] @ position_ids [B, 1, T]. A
// transposed operand ([.., 1, M] or [.., N, 1]) is transposed first;
// dynamic dims are kept.
// CHECK-LABEL: func @outer_product
// CHECK-SAME: (%[[F:.*]]: tensor<2x8x1xf32>, %[[P:.*]]: tensor<2x1x?xf32>, %[[L:.*]]: tensor<3x1x4xf32>, %[[R:.*]]: tensor<5x1xf32>)
// CHECK: %[[A:.*]] = llm.mul %[[F]], %[[P]] : (tensor<2x8x1xf32>, tensor<2x1x?xf32>) -> tensor<2x8x?xf32>
// CHECK-DAG: %[[LT:.*]] = llm.transpose %[[L]] {permutation = array<i64: 0, 2, 1>} : (tensor<3x1x4xf32>) -> tensor<3x4x1xf32>
// CHECK-DAG: %[[RT:.*]] = llm.transpose %[[R]] {permutation = array<i64: 1, 0>} : (tensor<5x1xf32>) -> tensor<1x5xf32>
// CHECK: %[[B:.*]] = llm.mul %[[LT]], %[[RT]] : (tensor<3x4x1xf32>, tensor<1x5xf32>) -> tensor<3x4x5xf32>
// CHECK: return %[[A]], %[[B]]
func.func @outer_product(%f: tensor<2x8x1xf32>, %p: tensor<2x1x?xf32>, %l: tensor<3x1x4xf32>, %r: tensor<5x1xf32>) -> (tensor<2x8x?xf32>, tensor<3x4x5xf32>) {
  %0 = llm.matmul %f, %p : (tensor<2x8x1xf32>, tensor<2x1x?xf32>) -> tensor<2x8x?xf32>
  %1 = llm.matmul %l, %r {transpose_lhs = true, transpose_rhs = true} : (tensor<3x1x4xf32>, tensor<5x1xf32>) -> tensor<3x4x5xf32>
  return %0, %1 : tensor<2x8x?xf32>, tensor<3x4x5xf32>
}

// -----

// A product over more than one k, one with an epilogue, or one over a
// dynamic k stays a product.
// CHECK-LABEL: func @not_outer_products
// CHECK-COUNT-3: llm.matmul
// CHECK-NOT: llm.mul
func.func @not_outer_products(%a: tensor<4x2xf32>, %b: tensor<2x3xf32>, %c: tensor<4x1xf32>, %d: tensor<1x3xf32>, %e: tensor<4x?xf32>, %f: tensor<?x3xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  %0 = llm.matmul %a, %b : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %1 = llm.matmul %c, %d {activation = #llm.activation<relu>} : (tensor<4x1xf32>, tensor<1x3xf32>) -> tensor<4x3xf32>
  %2 = llm.matmul %e, %f : (tensor<4x?xf32>, tensor<?x3xf32>) -> tensor<4x3xf32>
  return %0, %1, %2 : tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}

// REMARK: remark: llm-outer-products: outer-products 2
// REMARK: remark: llm-outer-products: outer-products 0
