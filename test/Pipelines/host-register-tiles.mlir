// RUN: llm-opt %s -split-input-file --verify-each \
// RUN:   --pass-pipeline='builtin.module(func.func(llm-host-register-tiles{tile-rows=4 tile-vectors=2 vector-width=16}),canonicalize)' \
// RUN:   | FileCheck %s

#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>

// Whole tiles: 8 rows by 64 columns are 2 x 2 tiles of 4 rows by 2 vectors
// of 16, column tiles outside row tiles. Each tile's 8 accumulators are
// loaded once, carried through the k loop, and stored once; each k adds the
// products of a broadcast lhs element and a rhs vector, a multiply then an
// add as the body does. Nothing is left to the op.
// CHECK-LABEL: func.func @whole_tiles
// CHECK-SAME: (%[[A:.*]]: memref<8x16xf32>, %[[B:.*]]: memref<16x64xf32>, %[[C:.*]]: memref<8x64xf32>)
// CHECK: scf.parallel (%[[N:.*]], %[[M:.*]]) = (%c0, %c0) to (%c64, %c8) step (%c32, %c4) {
// CHECK-COUNT-8: vector.load %[[C]]{{.*}} : memref<8x64xf32>, vector<16xf32>
// CHECK: scf.for %[[K:[^ ]*]] = %c0 to %c16 step %c1 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: %[[B0:.*]] = vector.load %[[B]][%[[K]], %[[N]]] : memref<16x64xf32>, vector<16xf32>
// CHECK: %[[B1:.*]] = vector.load %[[B]][%[[K]], %{{.*}}] : memref<16x64xf32>, vector<16xf32>
// CHECK: %[[X:.*]] = memref.load %[[A]][%[[M]], %[[K]]] : memref<8x16xf32>
// CHECK: %[[S:.*]] = vector.broadcast %[[X]] : f32 to vector<16xf32>
// CHECK: %[[P:.*]] = arith.mulf %[[S]], %[[B0]] : vector<16xf32>
// CHECK: arith.addf %{{.*}}, %[[P]] : vector<16xf32>
// CHECK-COUNT-7: arith.addf
// CHECK: scf.yield
// CHECK-COUNT-8: vector.store {{.*}}, %[[C]]{{.*}} : memref<8x64xf32>, vector<16xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @whole_tiles(%a: memref<8x16xf32>, %b: memref<16x64xf32>, %c: memref<8x64xf32>) {
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<8x16xf32>, memref<16x64xf32>) outs(%c : memref<8x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>

// 6 rows by 40 columns: tiles cover rows 0-3 and columns 0-31; the op
// computes rows 4-5 (all columns) and then columns 32-39 of rows 0-3 on
// views. The body multiplies rhs by lhs, and so do the tiles. (The one
// tile's loop of one iteration is folded away.)
// CHECK-LABEL: func.func @remainders
// CHECK-SAME: (%[[A:.*]]: memref<6x16xf32>, %[[B:.*]]: memref<16x40xf32>, %[[C:.*]]: memref<6x40xf32>)
// CHECK-NOT: scf.parallel
// CHECK: scf.for %[[K:[^ ]*]] =
// CHECK: %[[B0:.*]] = vector.load %[[B]][%[[K]], %c0]
// CHECK: %[[X:.*]] = memref.load %[[A]][%c0, %[[K]]]
// CHECK: %[[S:.*]] = vector.broadcast %[[X]]
// CHECK: arith.mulf %[[B0]], %[[S]] : vector<16xf32>
// CHECK: scf.yield
// CHECK: %[[A1:.*]] = memref.subview %[[A]][4, 0] [2, 16] [1, 1]
// CHECK: %[[C1:.*]] = memref.subview %[[C]][4, 0] [2, 40] [1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[A1]], %[[B]] : {{.*}}) outs(%[[C1]] :
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK: %[[A2:.*]] = memref.subview %[[A]][0, 0] [4, 16] [1, 1]
// CHECK: %[[B2:.*]] = memref.subview %[[B]][0, 32] [16, 8] [1, 1]
// CHECK: %[[C2:.*]] = memref.subview %[[C]][0, 32] [4, 8] [1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[A2]], %[[B2]] : {{.*}}) outs(%[[C2]] :
func.func @remainders(%a: memref<6x16xf32>, %b: memref<16x40xf32>, %c: memref<6x40xf32>) {
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<6x16xf32>, memref<16x40xf32>) outs(%c : memref<6x40xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %y, %x : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#lhs = affine_map<(b, m, k, n) -> (b, m, k)>
#rhs = affine_map<(b, m, k, n) -> (k, n)>
#out = affine_map<(b, m, k, n) -> (b, m, n)>

// A dynamic number of rows, a batch dim that rhs does not read, and f16
// inputs widened in the body (the rhs vectors are widened after their
// load). The rows past the whole tiles are as many as the size leaves.
// CHECK-LABEL: func.func @dynamic_rows_f16
// CHECK-SAME: (%[[A:.*]]: memref<2x?x8xf16>, %[[B:.*]]: memref<8x32xf16>, %[[C:.*]]: memref<2x?x32xf32>)
// CHECK: %[[M:.*]] = memref.dim %[[A]], %c1
// CHECK: %[[D:.*]] = arith.divui %[[M]], %c4
// CHECK: %[[E:.*]] = arith.muli %[[D]], %c4
// CHECK: scf.parallel (%[[I:.*]], %{{.*}}) = (%c0, %c0) to (%c2, %[[E]]) step (%c1, %c4)
// CHECK: %[[V:.*]] = vector.load %[[B]]{{.*}} : memref<8x32xf16>, vector<16xf16>
// CHECK: arith.extf %[[V]] : vector<16xf16> to vector<16xf32>
// CHECK: %[[X:.*]] = memref.load %[[A]][%[[I]], %{{.*}}, %{{.*}}] : memref<2x?x8xf16>
// CHECK: arith.extf %[[X]] : f16 to f32
// CHECK: %[[R:.*]] = arith.subi %[[M]], %[[E]]
// CHECK: memref.subview %[[A]][0, %[[E]], 0] [2, %[[R]], 8] [1, 1, 1]
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @dynamic_rows_f16(%a: memref<2x?x8xf16>, %b: memref<8x32xf16>, %c: memref<2x?x32xf32>) {
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<2x?x8xf16>, memref<8x32xf16>) outs(%c : memref<2x?x32xf32>) {
  ^bb0(%x: f16, %y: f16, %acc: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : f16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#out = affine_map<(m, k, n) -> (m, n)>

// One row (a decoding step): tiles of one row; rhs's rows are read through
// a strided view, whose last dim is still contiguous.
// CHECK-LABEL: func.func @one_row
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c64) step (%c32)
// CHECK-COUNT-2: vector.load {{.*}} : memref<1x64xf32>, vector<16xf32>
// CHECK: scf.for
// CHECK-COUNT-2: vector.load {{.*}} : memref<16x64xf32, strided<[128, 1]>>, vector<16xf32>
// CHECK: memref.load
// CHECK-NOT: memref.load
// CHECK: scf.yield
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @one_row(%a: memref<1x16xf32>, %w: memref<16x128xf32>, %c: memref<1x64xf32>) {
  %b = memref.subview %w[0, 0] [16, 64] [1, 1] : memref<16x128xf32> to memref<16x64xf32, strided<[128, 1]>>
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<1x16xf32>, memref<16x64xf32, strided<[128, 1]>>) outs(%c : memref<1x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#lhs = affine_map<(k, n) -> (k)>
#rhs = affine_map<(k, n) -> (k, n)>
#out = affine_map<(k, n) -> (n)>

// A vector times a matrix: no row dim, tiles of columns alone.
// CHECK-LABEL: func.func @vector_matrix
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c64) step (%c32)
// CHECK: scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @vector_matrix(%a: memref<16xf32>, %b: memref<16x64xf32>, %c: memref<64xf32>) {
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["reduction", "parallel"]}
      ins(%a, %b : memref<16xf32>, memref<16x64xf32>) outs(%c : memref<64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#lhs = affine_map<(m, k, n) -> (m, k)>
#rhs = affine_map<(m, k, n) -> (k, n)>
#rhsT = affine_map<(m, k, n) -> (n, k)>
#out = affine_map<(m, k, n) -> (m, n)>

// Left to the loops: a body that does more than multiply and add (a
// product's epilogue), rhs read by columns (n is not its contiguous dim),
// and an integer product.
// CHECK-LABEL: func.func @not_products
// CHECK-NOT: vector.
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: vector.
// CHECK: return
func.func @not_products(%a: memref<8x16xf32>, %b: memref<16x64xf32>, %bt: memref<64x16xf32>,
                        %c: memref<8x64xf32>, %ai: memref<8x16xi32>, %bi: memref<16x64xi32>,
                        %ci: memref<8x64xi32>) {
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<8x16xf32>, memref<16x64xf32>) outs(%c : memref<8x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    %r = arith.maximumf %s, %acc : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhsT, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %bt : memref<8x16xf32>, memref<64x16xf32>) outs(%c : memref<8x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#lhs, #rhs, #out],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%ai, %bi : memref<8x16xi32>, memref<16x64xi32>) outs(%ci : memref<8x64xi32>) {
  ^bb0(%x: i32, %y: i32, %acc: i32):
    %p = arith.muli %x, %y : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  return
}

// -----

// Two reduction loops (an attention output projection over heads and head
// dims): nested in their order inside the tile, each element summed as the
// loops would.
// CHECK-LABEL: func.func @two_reductions
// CHECK-SAME: (%[[A:.*]]: memref<8x4x16xf32>, %[[B:.*]]: memref<4x16x64xf32>
// CHECK: scf.parallel
// CHECK: scf.for %[[H:[^ ]*]] = %c0 to %c4 step %c1 iter_args
// CHECK: scf.for %[[D:[^ ]*]] = %c0 to %c16 step %c1 iter_args
// CHECK: vector.load %[[B]][%[[H]], %[[D]], %{{.*}}] : memref<4x16x64xf32>, vector<16xf32>
// CHECK: memref.load %[[A]][%{{.*}}, %[[H]], %[[D]]] : memref<8x4x16xf32>
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @two_reductions(%a3: memref<8x4x16xf32>, %b3: memref<4x16x64xf32>, %c: memref<8x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, j, k, n) -> (m, j, k)>,
                                   affine_map<(m, j, k, n) -> (j, k, n)>,
                                   affine_map<(m, j, k, n) -> (m, n)>],
                  iterator_types = ["parallel", "reduction", "reduction", "parallel"]}
      ins(%a3, %b3 : memref<8x4x16xf32>, memref<4x16x64xf32>) outs(%c : memref<8x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Grouped-query attention's probabilities times values: 4 query heads
// share 2 kv heads (`h floordiv 2`), an index the tiles compute with
// affine.apply; 16 columns take one vector a row. The rows past the whole
// tiles read all of the values' head dim. (Loops of one iteration, the
// batch and the one row tile, are folded away.)
// CHECK-LABEL: func.func @grouped_heads
// CHECK-SAME: (%[[P:.*]]: memref<1x4x6x16xf32>, %[[V:.*]]: memref<1x2x16x16xf32>, %[[O:.*]]: memref<1x4x6x16xf32>)
// CHECK: scf.parallel (%[[H:.*]]) = (%c0) to (%c4) step (%c1)
// CHECK: scf.for %[[K:[^ ]*]] = {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: %[[G:.*]] = affine.apply #{{.*}}(%[[H]])
// CHECK: vector.load %[[V]][%{{.*}}, %[[G]], %[[K]], %{{.*}}] : memref<1x2x16x16xf32>, vector<16xf32>
// CHECK: %[[P1:.*]] = memref.subview %[[P]][0, 0, 4, 0] [1, 4, 2, 16] [1, 1, 1, 1]
// CHECK: %[[O1:.*]] = memref.subview %[[O]][0, 0, 4, 0] [1, 4, 2, 16] [1, 1, 1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[P1]], %[[V]] : {{.*}}) outs(%[[O1]] :
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @grouped_heads(%p: memref<1x4x6x16xf32>, %v: memref<1x2x16x16xf32>, %o: memref<1x4x6x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(b, h, m, k, n) -> (b, h, m, k)>,
                                   affine_map<(b, h, m, k, n) -> (b, h floordiv 2, k, n)>,
                                   affine_map<(b, h, m, k, n) -> (b, h, m, n)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]}
      ins(%p, %v : memref<1x4x6x16xf32>, memref<1x2x16x16xf32>) outs(%o : memref<1x4x6x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %q = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %q : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// An index computed from the column loop cannot be tiled: left as it is.
// CHECK-LABEL: func.func @column_in_index
// CHECK-NOT: vector.
// CHECK: linalg.generic
func.func @column_in_index(%a: memref<8x16xf32>, %b: memref<4x16x64xf32>, %c: memref<8x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, k, n) -> (m, k)>,
                                   affine_map<(m, k, n) -> (n floordiv 16, k, n)>,
                                   affine_map<(m, k, n) -> (m, n)>],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<8x16xf32>, memref<4x16x64xf32>) outs(%c : memref<8x64xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %q = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %q : f32
    linalg.yield %s : f32
  }
  return
}
