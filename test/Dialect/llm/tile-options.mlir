// llm-tile's overrides, loop kind and remarks.
// RUN: llm-opt %s --llm-tile="target=npu matmul-tile-sizes=64,512,128 attention-tile-sizes=32,16 norm-tile-sizes=8" | FileCheck %s --check-prefix=OVERRIDE
// RUN: llm-opt %s --llm-tile="target=h100 loop=for" | FileCheck %s --check-prefix=FOR
// RUN: llm-opt %s --llm-tile="target=npu remarks=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=REMARK
// A size at least the dim takes it whole.
// RUN: llm-opt %s --llm-tile="target=npu matmul-tile-sizes=4096,4096,4096" | FileCheck %s --check-prefix=WHOLE

// OVERRIDE-LABEL: func.func @matmul
// OVERRIDE: scf.forall (%[[B:.*]], %[[M:.*]], %[[N:.*]]) = (0, 0, 0) to (2, 256, 1024) step (1, 64, 512)
// OVERRIDE: tensor.extract_slice %arg0[%[[B]], %[[M]], 0] [1, 64, 256]
// OVERRIDE: tensor.extract_slice %arg1[0, 0, %[[N]]] [1, 256, 512]
// OVERRIDE: tensor.extract_slice %arg2[%[[N]]] [512]
// OVERRIDE: tensor.extract_slice %arg3[%[[B]], %[[M]], %[[N]]] [1, 64, 512]
// OVERRIDE: llm.matmul {{.*}}k_block = 128 : i64, sizes = array<i64: 1, 64, 512, 256>, target = "npu", tiles = 16
// OVERRIDE-SAME: (tensor<1x64x256xf32>, tensor<1x256x512xf32>, tensor<512xf32>, tensor<1x64x512xf32>) -> tensor<1x64x512xf32>
// FOR-LABEL: func.func @matmul
// FOR: scf.for
// FOR: scf.for
// FOR: llm.matmul
// FOR: tensor.insert_slice
// FOR-NOT: scf.forall
// REMARK: remark: llm-tile: npu bf16 tile 1x128x256x256, K block 256: 16 tiles on 1 units, 524288 of 524288 on-chip bytes, intensity {{.*}} flop/B, estimated {{.*}} s
// WHOLE-LABEL: func.func @matmul
// WHOLE: scf.forall (%{{.*}}) in (2)
// WHOLE: sizes = array<i64: 1, 256, 1024, 256>
// The rhs batch dim of 1 broadcasts against the lhs's 2: every tile reads
// it whole.
func.func @matmul(%x: tensor<2x256x256xf32>, %w: tensor<1x256x1024xf32>, %b: tensor<1024xf32>, %r: tensor<2x256x1024xf32>) -> tensor<2x256x1024xf32> {
  %0 = llm.matmul %x, %w bias %b residual %r {activation = #llm.activation<silu>, scale = 0.5 : f32} : (tensor<2x256x256xf32>, tensor<1x256x1024xf32>, tensor<1024xf32>, tensor<2x256x1024xf32>) -> tensor<2x256x1024xf32>
  return %0 : tensor<2x256x1024xf32>
}

// Grouped heads (2 query heads per kv head) tiled by one: kv head h / 2;
// the mask broadcasts along the heads and is sliced along the rows.
// OVERRIDE-LABEL: func.func @attention
// OVERRIDE: scf.forall (%[[B:.*]], %[[H:.*]], %[[R:.*]]) = (0, 0, 0) to (2, 4, 64) step (1, 1, 32)
// OVERRIDE: %[[KV:.*]] = affine.apply #{{.*}}(%[[H]])
// OVERRIDE: tensor.extract_slice %arg0[%[[B]], %[[H]], %[[R]], 0] [1, 1, 32, 16]
// OVERRIDE: tensor.extract_slice %arg1[%[[B]], %[[KV]], 0, 0] [1, 1, 48, 16]
// OVERRIDE: tensor.extract_slice %arg2[%[[B]], %[[KV]], 0, 0] [1, 1, 48, 8]
// OVERRIDE: tensor.extract_slice %arg3[%[[B]], 0, %[[R]], 0] [1, 1, 32, 48]
// OVERRIDE: llm.attention {{.*}}kv_block = 16 : i64, sizes = array<i64: 1, 1, 32, 8>
// OVERRIDE-SAME: -> tensor<1x1x32x8xf32>
// REMARK: remark: llm-tile: npu bf16 tile 1x1x64x8, key block 48: 8 tiles on 1 units
func.func @attention(%q: tensor<2x4x64x16xf32>, %k: tensor<2x2x48x16xf32>, %v: tensor<2x2x48x8xf32>, %m: tensor<2x1x64x48xi1>) -> tensor<2x4x64x8xf32> {
  %0 = llm.attention %q, %k, %v, %m {scale = 0.25 : f32} : (tensor<2x4x64x16xf32>, tensor<2x2x48x16xf32>, tensor<2x2x48x8xf32>, tensor<2x1x64x48xi1>) -> tensor<2x4x64x8xf32>
  return %0 : tensor<2x4x64x8xf32>
}

// OVERRIDE-LABEL: func.func @softmax
// OVERRIDE: scf.forall ({{.*}}) = (0, 0) to (4, 32) step (1, 8)
// OVERRIDE: llm.softmax {{.*}}sizes = array<i64: 1, 8, 16>
// OVERRIDE-SAME: tensor<1x8x16xf32>
func.func @softmax(%x: tensor<4x32x16xf32>) -> tensor<4x32x16xf32> {
  %0 = llm.softmax %x {axis = 2 : i64} : tensor<4x32x16xf32>
  return %0 : tensor<4x32x16xf32>
}

// A softmax over the middle axis: the rows are the last dim.
// OVERRIDE-LABEL: func.func @softmax_middle
// OVERRIDE: scf.forall ({{.*}}) = (0, 0) to (4, 16) step (1, 8)
// OVERRIDE: llm.softmax {{.*}}sizes = array<i64: 1, 32, 8>
// OVERRIDE-SAME: tensor<1x32x8xf32>
func.func @softmax_middle(%x: tensor<4x32x16xf32>) -> tensor<4x32x16xf32> {
  %0 = llm.softmax %x {axis = 1 : i64} : tensor<4x32x16xf32>
  return %0 : tensor<4x32x16xf32>
}
