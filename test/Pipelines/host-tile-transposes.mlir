// RUN: llm-opt %s -split-input-file --llm-host-tile-transposes --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-host-tile-transposes="tile-size=16 min-elements=1" --verify-each \
// RUN:   | FileCheck %s --check-prefix=SMALL

// A transpose of [256, 128]: blocks of 32 x 32 over both loops, in one
// scf.parallel; the block is a transpose of subviews.
// CHECK-LABEL: func.func @matrix
// CHECK: scf.parallel (%[[I:.*]], %[[J:.*]]) = (%{{.*}}, %{{.*}}) to (%c128, %c256) step (%c32{{.*}}, %c32{{.*}})
// CHECK: %[[IN:.*]] = memref.subview %{{.*}}[%[[J]], %[[I]]] [32, 32] [1, 1]
// CHECK: %[[OUT:.*]] = memref.subview %{{.*}}[%[[I]], %[[J]]] [32, 32] [1, 1]
// CHECK: linalg.transpose ins(%[[IN]] : {{.*}}) outs(%[[OUT]] : {{.*}}) permutation = [1, 0]
func.func @matrix(%a: memref<256x128xf32>, %b: memref<128x256xf32>) {
  linalg.transpose ins(%a : memref<256x128xf32>) outs(%b : memref<128x256xf32>) permutation = [1, 0]
  return
}

// -----

// Attention's K [B, H, S, D] as [B, H, D, S] (a generic copy, as
// llm-host-loop-order writes it after bufferization): the blocks cover
// (D, S); batch and heads go one at a time. S = 100 leaves partial blocks.
// CHECK-LABEL: func.func @heads
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) = {{.*}} to (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) step (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
// CHECK: affine.min
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK-NOT: linalg.generic
#in = affine_map<(b, h, d, s) -> (b, h, s, d)>
#out = affine_map<(b, h, d, s) -> (b, h, d, s)>
func.func @heads(%k: memref<1x4x100x64xf32>, %t: memref<1x4x64x100xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%k : memref<1x4x100x64xf32>) outs(%t : memref<1x4x64x100xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  return
}

// -----

// Left as they are: a copy too small to gain (4096 elements: tiled only
// with min-elements=1, in blocks of 16), a permutation that keeps the
// last dim (rows of 64 contiguous on both sides), and a copy that computes.
// CHECK-LABEL: func.func @kept
// CHECK-NOT: scf.parallel
// CHECK: return
// SMALL-LABEL: func.func @kept
// SMALL: scf.parallel {{.*}} step (%c16{{.*}}, %c16{{.*}})
// SMALL-NOT: scf.parallel
// SMALL: return
#swap = affine_map<(i, j, k) -> (j, i, k)>
#id = affine_map<(i, j, k) -> (i, j, k)>
#t2 = affine_map<(i, j) -> (j, i)>
#i2 = affine_map<(i, j) -> (i, j)>
func.func @kept(%a: memref<64x64xf32>, %b: memref<64x64xf32>, %c: memref<8x64x64xf32>, %d: memref<64x8x64xf32>,
                %e: memref<256x128xf32>, %f: memref<128x256xf32>) {
  linalg.transpose ins(%a : memref<64x64xf32>) outs(%b : memref<64x64xf32>) permutation = [1, 0]
  linalg.generic {indexing_maps = [#swap, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c : memref<8x64x64xf32>) outs(%d : memref<64x8x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#t2, #i2], iterator_types = ["parallel", "parallel"]}
      ins(%e : memref<256x128xf32>) outs(%f : memref<128x256xf32>) {
  ^bb0(%x: f32, %y: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  }
  return
}
