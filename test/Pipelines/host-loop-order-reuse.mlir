// RUN: llm-opt %s -split-input-file --llm-host-loop-order --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-host-loop-order="min-reuse=1" --verify-each | FileCheck %s --check-prefix=ALL

// An input is copied transposed only where the product reads each of its
// elements at least min-reuse times (8 by default): A x B^T reads B once
// per row of A. 8 rows: B is transposed.
// CHECK-LABEL: func.func @rows_8
// CHECK: linalg.transpose
// ALL-LABEL: func.func @rows_8
// ALL: linalg.transpose
#a = affine_map<(i, j, k) -> (i, k)>
#bt = affine_map<(i, j, k) -> (j, k)>
#c = affine_map<(i, j, k) -> (i, j)>
func.func @rows_8(%a: tensor<8x8xf32>, %b: tensor<16x8xf32>, %c: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %0 = linalg.generic {indexing_maps = [#a, #bt, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<8x8xf32>, tensor<16x8xf32>) outs(%c : tensor<8x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<8x16xf32>
  return %0 : tensor<8x16xf32>
}

// -----

// 7 rows: the product keeps its order (its reduction innermost).
// CHECK-LABEL: func.func @rows_7
// CHECK-NOT: linalg.transpose
// CHECK: iterator_types = ["parallel", "parallel", "reduction"]
// ALL-LABEL: func.func @rows_7
// ALL: linalg.transpose
#a = affine_map<(i, j, k) -> (i, k)>
#bt = affine_map<(i, j, k) -> (j, k)>
#c = affine_map<(i, j, k) -> (i, j)>
func.func @rows_7(%a: tensor<7x8xf32>, %b: tensor<16x8xf32>, %c: tensor<7x16xf32>) -> tensor<7x16xf32> {
  %0 = linalg.generic {indexing_maps = [#a, #bt, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<7x8xf32>, tensor<16x8xf32>) outs(%c : tensor<7x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<7x16xf32>
  return %0 : tensor<7x16xf32>
}

// -----

// A decoding step's grouped-query scores: one query row, 4 query heads per
// kv head, so K is read 4 times per element: kept. 2 query rows make 8.
// CHECK-LABEL: func.func @grouped_decode
// CHECK-NOT: linalg.transpose
// CHECK: iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]
// CHECK-LABEL: func.func @grouped_prompt
// CHECK: linalg.transpose ins(%{{.*}} : tensor<1x2x32x8xf32>)
#q = affine_map<(b, h, m, n, k) -> (b, h, m, k)>
#k = affine_map<(b, h, m, n, k) -> (b, h floordiv 4, n, k)>
#s = affine_map<(b, h, m, n, k) -> (b, h, m, n)>
func.func @grouped_decode(%q: tensor<1x8x1x8xf32>, %k: tensor<1x2x32x8xf32>, %init: tensor<1x8x1x32xf32>) -> tensor<1x8x1x32xf32> {
  %0 = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<1x8x1x8xf32>, tensor<1x2x32x8xf32>) outs(%init : tensor<1x8x1x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<1x8x1x32xf32>
  return %0 : tensor<1x8x1x32xf32>
}
func.func @grouped_prompt(%q: tensor<1x8x2x8xf32>, %k: tensor<1x2x32x8xf32>, %init: tensor<1x8x2x32xf32>) -> tensor<1x8x2x32xf32> {
  %0 = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<1x8x2x8xf32>, tensor<1x2x32x8xf32>) outs(%init : tensor<1x8x2x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<1x8x2x32xf32>
  return %0 : tensor<1x8x2x32xf32>
}
