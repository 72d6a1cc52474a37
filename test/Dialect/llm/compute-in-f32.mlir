// RUN: llm-opt %s --llm-compute-in-f32 --verify-each -split-input-file | FileCheck %s

// f16 and bf16 products, reductions, norms, softmax, attention and compound
// activations compute in f32: their 16-bit float operands are cast to f32,
// their 16-bit float results are computed in f32 and cast back.

// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x64xbf16>, %[[W:.*]]: tensor<64x32xbf16>, %[[B:.*]]: tensor<32xbf16>)
// CHECK: %[[XW:.*]] = llm.cast %[[X]] : (tensor<2x8x64xbf16>) -> tensor<2x8x64xf32>
// CHECK: %[[WW:.*]] = llm.cast %[[W]] : (tensor<64x32xbf16>) -> tensor<64x32xf32>
// CHECK: %[[BW:.*]] = llm.cast %[[B]] : (tensor<32xbf16>) -> tensor<32xf32>
// CHECK: %[[Y:.*]] = llm.matmul %[[XW]], %[[WW]] bias %[[BW]] {activation = #llm.activation<gelu>} : (tensor<2x8x64xf32>, tensor<64x32xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
// CHECK: %[[N:.*]] = llm.cast %[[Y]] : (tensor<2x8x32xf32>) -> tensor<2x8x32xbf16>
// CHECK: return %[[N]]
func.func @matmul(%x: tensor<2x8x64xbf16>, %w: tensor<64x32xbf16>, %b: tensor<32xbf16>) -> tensor<2x8x32xbf16> {
  %y = llm.matmul %x, %w bias %b {activation = #llm.activation<gelu>} : (tensor<2x8x64xbf16>, tensor<64x32xbf16>, tensor<32xbf16>) -> tensor<2x8x32xbf16>
  return %y : tensor<2x8x32xbf16>
}

// -----

// A boolean mask keeps its type; the result is cast back once for all its
// users.
// CHECK-LABEL: func.func @attention
// CHECK-COUNT-3: llm.cast %{{.*}} : (tensor<1x2x8x16xf16>) -> tensor<1x2x8x16xf32>
// CHECK: %[[O:.*]] = llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %arg3 {{.*}} : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<8x8xi1>) -> tensor<1x2x8x16xf32>
// CHECK: %[[N:.*]] = llm.cast %[[O]] : (tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf16>
// CHECK: llm.add %[[N]], %[[N]]
// CHECK-NOT: llm.cast
func.func @attention(%q: tensor<1x2x8x16xf16>, %k: tensor<1x2x8x16xf16>, %v: tensor<1x2x8x16xf16>, %m: tensor<8x8xi1>) -> tensor<1x2x8x16xf16> {
  %o = llm.attention %q, %k, %v, %m {scale = 0.25 : f32} : (tensor<1x2x8x16xf16>, tensor<1x2x8x16xf16>, tensor<1x2x8x16xf16>, tensor<8x8xi1>) -> tensor<1x2x8x16xf16>
  %s = llm.add %o, %o : (tensor<1x2x8x16xf16>, tensor<1x2x8x16xf16>) -> tensor<1x2x8x16xf16>
  return %s : tensor<1x2x8x16xf16>
}

// -----

// CHECK-LABEL: func.func @rows
// CHECK: llm.layer_norm {{.*}} : (tensor<4x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
// CHECK: llm.rms_norm {{.*}} : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
// CHECK: llm.softmax {{.*}} : tensor<4x64xf32>
// CHECK: llm.reduce_mean {{.*}} -> tensor<4x1xf32>
// CHECK: llm.reduce_sum {{.*}} -> tensor<4x1xf32>
// CHECK: llm.silu {{.*}} : tensor<4x64xf32>
// CHECK: llm.gelu {{.*}} : tensor<4x64xf32>
// CHECK: llm.sigmoid {{.*}} : tensor<4x64xf32>
func.func @rows(%x: tensor<4x64xbf16>, %s: tensor<64xbf16>, %b: tensor<64xbf16>) -> (tensor<4x64xbf16>, tensor<4x64xbf16>, tensor<4x64xbf16>, tensor<4x1xbf16>, tensor<4x1xbf16>, tensor<4x64xbf16>, tensor<4x64xbf16>, tensor<4x64xbf16>) {
  %ln = llm.layer_norm %x, %s, %b {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<4x64xbf16>, tensor<64xbf16>, tensor<64xbf16>) -> tensor<4x64xbf16>
  %rms = llm.rms_norm %x, %s {axis = 1 : i64, epsilon = 1.0e-6 : f32} : (tensor<4x64xbf16>, tensor<64xbf16>) -> tensor<4x64xbf16>
  %sm = llm.softmax %x {axis = 1 : i64} : tensor<4x64xbf16>
  %mean = llm.reduce_mean %x {axes = array<i64: 1>, keepdims = true} : (tensor<4x64xbf16>) -> tensor<4x1xbf16>
  %sum = llm.reduce_sum %x {axes = array<i64: 1>, keepdims = true} : (tensor<4x64xbf16>) -> tensor<4x1xbf16>
  %silu = llm.silu %x : tensor<4x64xbf16>
  %gelu = llm.gelu %x : tensor<4x64xbf16>
  %sig = llm.sigmoid %x : tensor<4x64xbf16>
  return %ln, %rms, %sm, %mean, %sum, %silu, %gelu, %sig : tensor<4x64xbf16>, tensor<4x64xbf16>, tensor<4x64xbf16>, tensor<4x1xbf16>, tensor<4x1xbf16>, tensor<4x64xbf16>, tensor<4x64xbf16>, tensor<4x64xbf16>
}

// -----

// Left alone: ops of one rounding step, exact reductions (max), data
// movement, and f32 ops.
// CHECK-LABEL: func.func @unchanged
// CHECK-NOT: llm.cast
// CHECK: llm.add {{.*}} -> tensor<4x64xbf16>
// CHECK: llm.exp {{.*}} : tensor<4x64xbf16>
// CHECK: llm.reduce_max {{.*}} -> tensor<4x1xbf16>
// CHECK: llm.transpose {{.*}} -> tensor<64x4xbf16>
// CHECK: llm.softmax {{.*}} : tensor<4x64xf32>
// CHECK-NOT: llm.cast
func.func @unchanged(%x: tensor<4x64xbf16>, %f: tensor<4x64xf32>) -> (tensor<4x64xbf16>, tensor<4x1xbf16>, tensor<64x4xbf16>, tensor<4x64xf32>) {
  %a = llm.add %x, %x : (tensor<4x64xbf16>, tensor<4x64xbf16>) -> tensor<4x64xbf16>
  %e = llm.exp %a : tensor<4x64xbf16>
  %m = llm.reduce_max %e {axes = array<i64: 1>, keepdims = true} : (tensor<4x64xbf16>) -> tensor<4x1xbf16>
  %t = llm.transpose %e {permutation = array<i64: 1, 0>} : (tensor<4x64xbf16>) -> tensor<64x4xbf16>
  %s = llm.softmax %f {axis = 1 : i64} : tensor<4x64xf32>
  return %e, %m, %t, %s : tensor<4x64xbf16>, tensor<4x1xbf16>, tensor<64x4xbf16>, tensor<4x64xf32>
}
