// The llm ops' TilingInterface drives upstream tiling and tile-and-fuse
// (the transform dialect here), not only llm-tile.
// RUN: llm-opt %s -split-input-file --transform-interpreter --canonicalize -verify-diagnostics | FileCheck %s

// Tile a matmul and fuse its layer-norm producer: each row tile of the
// matmul computes the rows of the norm it reads (generateResultTileValue).
// CHECK-LABEL: func.func @fuse_norm_into_matmul
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %c16
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %c24
// CHECK: %[[X:.*]] = tensor.extract_slice %arg0[%[[I]], 0] [16, 32]
// CHECK: %[[N:.*]] = llm.layer_norm %[[X]], %arg1 {{.*}} -> tensor<16x32xf32>
// CHECK: %[[W:.*]] = tensor.extract_slice %arg2[0, %[[J]]] [32, 24]
// CHECK: llm.matmul %[[N]], %[[W]] : (tensor<16x32xf32>, tensor<32x24xf32>) -> tensor<16x24xf32>
module attributes {transform.with_named_sequence} {
  func.func @fuse_norm_into_matmul(%x: tensor<64x32xf32>, %g: tensor<32xf32>, %w: tensor<32x48xf32>) -> tensor<64x48xf32> {
    %n = llm.layer_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<64x32xf32>, tensor<32xf32>) -> tensor<64x32xf32>
    %0 = llm.matmul %n, %w : (tensor<64x32xf32>, tensor<32x48xf32>) -> tensor<64x48xf32>
    return %0 : tensor<64x48xf32>
  }
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %mm = transform.structured.match ops{["llm.matmul"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %l0, %l1 = transform.structured.fuse %mm tile_sizes [16, 24, 0] : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// Attention over heads and rows with scf.forall.
// CHECK-LABEL: func.func @attention_forall
// CHECK: scf.forall (%[[I:.*]], %[[J:.*]]) in (2, 4)
// CHECK: %[[H:.*]] = affine.apply #{{.*}}(%[[I]])
// CHECK: %[[R:.*]] = affine.apply #{{.*}}(%[[J]])
// CHECK: tensor.extract_slice %arg0[0, %[[H]], %[[R]], 0] [1, 2, 8, 16]
// CHECK: tensor.extract_slice %arg1[0, %[[H]], 0, 0] [1, 2, 24, 16]
// CHECK: llm.attention {{.*}} -> tensor<1x2x8x16xf32>
module attributes {transform.with_named_sequence} {
  func.func @attention_forall(%q: tensor<1x4x32x16xf32>, %k: tensor<1x4x24x16xf32>, %v: tensor<1x4x24x16xf32>) -> tensor<1x4x32x16xf32> {
    %0 = llm.attention %q, %k, %v {scale = 0.25 : f32} : (tensor<1x4x32x16xf32>, tensor<1x4x24x16xf32>, tensor<1x4x24x16xf32>) -> tensor<1x4x32x16xf32>
    return %0 : tensor<1x4x32x16xf32>
  }
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["llm.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %loop = transform.structured.tile_using_forall %op tile_sizes [0, 2, 8, 0] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// K is never split: the epilogue must see the full sum.
module attributes {transform.with_named_sequence} {
  func.func @k_refused(%x: tensor<64x32xf32>, %w: tensor<32x48xf32>, %b: tensor<48xf32>) -> tensor<64x48xf32> {
    // expected-error @below {{'llm.matmul' op cannot be tiled along K (32): its epilogue needs the full sum; record the K tile for the backend instead}}
    // expected-error @below {{faild to tile operation}}
    // expected-error @below {{failed to generate tiling loops}}
    %0 = llm.matmul %x, %w bias %b : (tensor<64x32xf32>, tensor<32x48xf32>, tensor<48xf32>) -> tensor<64x48xf32>
    return %0 : tensor<64x48xf32>
  }
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %mm = transform.structured.match ops{["llm.matmul"]} in %root : (!transform.any_op) -> !transform.any_op
    %tiled, %l0, %l1, %l2 = transform.structured.tile_using_for %mm tile_sizes [16, 16, 8] : (!transform.any_op) -> (!transform.any_op, !transform.any_op, !transform.any_op, !transform.any_op)
    transform.yield
  }
}

// -----

// A head tile that is neither a multiple nor a divisor of the group (3
// query heads per kv head) has no kv slice.
module attributes {transform.with_named_sequence} {
  func.func @bad_group(%q: tensor<1x6x16x16xf32>, %k: tensor<1x2x16x16xf32>, %v: tensor<1x2x16x16xf32>) -> tensor<1x6x16x16xf32> {
    // expected-error @below {{'llm.attention' op a tile of 2 query heads is neither a multiple nor a divisor of the 3 query heads per kv head}}
    // expected-error @below {{faild to tile operation}}
    // expected-error @below {{failed to generate tiling loops}}
    // expected-note @below {{when applied to this op}}
    %0 = llm.attention %q, %k, %v {scale = 0.25 : f32} : (tensor<1x6x16x16xf32>, tensor<1x2x16x16xf32>, tensor<1x2x16x16xf32>) -> tensor<1x6x16x16xf32>
    return %0 : tensor<1x6x16x16xf32>
  }
  transform.named_sequence @__transform_main(%root: !transform.any_op {transform.readonly}) {
    %op = transform.structured.match ops{["llm.attention"]} in %root : (!transform.any_op) -> !transform.any_op
    // expected-error @below {{transform.structured.tile_using_forall failed to apply}}
    %tiled, %loop = transform.structured.tile_using_forall %op tile_sizes [0, 2, 0, 0] : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    transform.yield
  }
}
