// RUN: llm-opt %s -split-input-file --llm-host-loop-order="min-reuse=1" | FileCheck %s

// matmul's (i, j, k) becomes (i, k, j): the innermost loop walks rows of the
// right-hand side and of the output.
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @matmul
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @matmul(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %c: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x16xf32>) outs(%c : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

// batch_matmul's (b, i, j, k) becomes (b, i, k, j).
// CHECK-LABEL: func.func @batch_matmul
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "reduction", "parallel"]
func.func @batch_matmul(%a: memref<2x4x8xf32>, %b: memref<2x8x16xf32>, %c: memref<2x4x16xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<2x4x8xf32>, memref<2x8x16xf32>) outs(%c : memref<2x4x16xf32>)
  return
}

// -----

// With a transposed right-hand side (A x B^T) the output's loop is not
// contiguous in B: B is copied transposed once, then the product takes the
// (i, k, j) order. A row reduction (one input) has no parallel loop that is
// contiguous in its input and is left alone, as is an elementwise op, whose
// innermost loop is parallel already.
// CHECK-DAG: #[[BT:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-LABEL: func.func @unchanged
// CHECK-SAME: %[[A:[^:]*]]: tensor<4x8xf32>, %[[B:[^:]*]]: tensor<16x8xf32>
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<8x16xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[B]] : tensor<16x8xf32>) outs(%[[EMPTY]] : tensor<8x16xf32>) permutation = [1, 0]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[BT]], #{{.*}}], iterator_types = ["parallel", "reduction", "parallel"]} ins(%[[A]], %[[T]] :
// CHECK-NOT: linalg.transpose
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK: linalg.add
#a = affine_map<(i, j, k) -> (i, k)>
#bt = affine_map<(i, j, k) -> (j, k)>
#c = affine_map<(i, j, k) -> (i, j)>
#row = affine_map<(i, r) -> (i, r)>
#sum = affine_map<(i, r) -> (i)>
func.func @unchanged(%a: tensor<4x8xf32>, %b: tensor<16x8xf32>, %c: tensor<4x16xf32>, %s: tensor<4xf32>)
    -> (tensor<4x16xf32>, tensor<4xf32>, tensor<4x8xf32>) {
  %0 = linalg.generic {indexing_maps = [#a, #bt, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<4x8xf32>, tensor<16x8xf32>) outs(%c : tensor<4x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  %1 = linalg.generic {indexing_maps = [#row, #sum], iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<4x8xf32>) outs(%s : tensor<4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %acc, %x : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %2 = linalg.add ins(%a, %a : tensor<4x8xf32>, tensor<4x8xf32>) outs(%a : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0, %1, %2 : tensor<4x16xf32>, tensor<4xf32>, tensor<4x8xf32>
}

// -----

// A product of experts gathered in its body (llm-fuse-elementwise's form of
// x[r] x W[ids[r]], W stored [E, K, N]): the weight is read through
// tensor.extract, its last index the output's loop. (r, n, k) becomes
// (r, k, n): linalg.index follows the interchange, and the innermost loop
// reads W[e, k, :] contiguously.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[IDS:.*]] = affine_map<(d0, d1, d2) -> (d0)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @gathered_experts
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[IDS]], #[[Y]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK: %[[N:.*]] = affine.apply #{{.*}}(%{{.*}}, %{{.*}}, %{{.*}})
// CHECK: %[[K:.*]] = affine.apply #{{.*}}(%{{.*}}, %{{.*}}, %{{.*}})
// CHECK: tensor.extract %{{.*}}[%{{.*}}, %[[K]], %[[N]]] : tensor<8x4x16xf32>
#x = affine_map<(r, n, k) -> (r, k)>
#ids = affine_map<(r, n, k) -> (r)>
#y = affine_map<(r, n, k) -> (r, n)>
func.func @gathered_experts(%x: tensor<2x4xf32>, %ids: tensor<2xindex>, %w: tensor<8x4x16xf32>, %init: tensor<2x16xf32>) -> tensor<2x16xf32> {
  %0 = linalg.generic {indexing_maps = [#x, #ids, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %ids : tensor<2x4xf32>, tensor<2xindex>) outs(%init : tensor<2x16xf32>) {
  ^bb0(%xv: f32, %e: index, %acc: f32):
    %n = linalg.index 1 : index
    %k = linalg.index 2 : index
    %wv = tensor.extract %w[%e, %k, %n] : tensor<8x4x16xf32>
    %p = arith.mulf %xv, %wv : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

// Left as they are: the output's loop index read as a weight's row (W
// stored [E, N, K]: the innermost loop would stride through it), and used
// in arithmetic.
// CHECK-LABEL: func.func @gathered_kept
// CHECK: iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: iterator_types = ["parallel", "parallel", "reduction"]
#x = affine_map<(r, n, k) -> (r, k)>
#ids = affine_map<(r, n, k) -> (r)>
#y = affine_map<(r, n, k) -> (r, n)>
func.func @gathered_kept(%x: tensor<2x4xf32>, %ids: tensor<2xindex>, %w: tensor<8x16x4xf32>, %init: tensor<2x16xf32>) -> (tensor<2x16xf32>, tensor<2x16xf32>) {
  %0 = linalg.generic {indexing_maps = [#x, #ids, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %ids : tensor<2x4xf32>, tensor<2xindex>) outs(%init : tensor<2x16xf32>) {
  ^bb0(%xv: f32, %e: index, %acc: f32):
    %n = linalg.index 1 : index
    %k = linalg.index 2 : index
    %wv = tensor.extract %w[%e, %n, %k] : tensor<8x16x4xf32>
    %p = arith.mulf %xv, %wv : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x16xf32>
  %1 = linalg.generic {indexing_maps = [#x, #ids, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %ids : tensor<2x4xf32>, tensor<2xindex>) outs(%init : tensor<2x16xf32>) {
  ^bb0(%xv: f32, %e: index, %acc: f32):
    %n = linalg.index 1 : index
    %c = arith.index_cast %n : index to i64
    %f = arith.sitofp %c : i64 to f32
    %p = arith.mulf %xv, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x16xf32>
  return %0, %1 : tensor<2x16xf32>, tensor<2x16xf32>
}

// -----

// Grouped-query attention's scores (llm.attention's lowering with 4 query
// heads over 2 kv heads): K [B, Hkv, Sk, D] is read at kv head h floordiv 2.
// K is copied transposed as a plain A x B^T's B is, its map keeps the
// floordiv, and the product takes the (b, h, m, k, n) order.
// CHECK-DAG: #[[KT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, d3, d4)>
// CHECK-LABEL: func.func @grouped_scores
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x4x3x8xf32>, %[[K:[^:]*]]: tensor<1x2x5x8xf32>
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<1x2x8x5xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[K]] : tensor<1x2x5x8xf32>) outs(%[[EMPTY]] : tensor<1x2x8x5xf32>) permutation = [0, 1, 3, 2]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[KT]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]} ins(%[[Q]], %[[T]] :
#q = affine_map<(b, h, m, n, k) -> (b, h, m, k)>
#k = affine_map<(b, h, m, n, k) -> (b, h floordiv 2, n, k)>
#s = affine_map<(b, h, m, n, k) -> (b, h, m, n)>
func.func @grouped_scores(%q: tensor<1x4x3x8xf32>, %k: tensor<1x2x5x8xf32>, %init: tensor<1x4x3x5xf32>) -> tensor<1x4x3x5xf32> {
  %0 = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<1x4x3x8xf32>, tensor<1x2x5x8xf32>) outs(%init : tensor<1x4x3x5xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<1x4x3x5xf32>
  return %0 : tensor<1x4x3x5xf32>
}

// -----

// Left alone: an input that reads the output's loop in two of its indices
// (a diagonal) cannot be transposed to read it last only.
// CHECK-LABEL: func.func @diagonal_kept
// CHECK-NOT: linalg.transpose
// CHECK: iterator_types = ["parallel", "parallel", "reduction"]
#a = affine_map<(i, j, k) -> (i, k)>
#d = affine_map<(i, j, k) -> (j, j, k)>
#c = affine_map<(i, j, k) -> (i, j)>
func.func @diagonal_kept(%a: tensor<4x8xf32>, %b: tensor<16x16x8xf32>, %c: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %0 = linalg.generic {indexing_maps = [#a, #d, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<4x8xf32>, tensor<16x16x8xf32>) outs(%c : tensor<4x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  } -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}
