// RUN: llm-opt %s -split-input-file --llm-fuse-attention --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-fuse-attention=remarks=true -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REMARK

// The plain chain: k^T by transpose_rhs, no scale, no mask.
// CHECK-LABEL: func @plain
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x8xf32>, %[[K:.*]]: tensor<1x2x6x8xf32>, %[[V:.*]]: tensor<1x2x6x16xf32>)
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] {scale = 1.000000e+00 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x6x8xf32>, tensor<1x2x6x16xf32>) -> tensor<1x2x4x16xf32>
// CHECK-NEXT: return %[[A]]
func.func @plain(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x6x8xf32>, %v: tensor<1x2x6x16xf32>) -> tensor<1x2x4x16xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x6x8xf32>) -> tensor<1x2x4x6xf32>
  %p = llm.softmax %s {axis = 3 : i64} : tensor<1x2x4x6xf32>
  %o = llm.matmul %p, %v : (tensor<1x2x4x6xf32>, tensor<1x2x6x16xf32>) -> tensor<1x2x4x16xf32>
  return %o : tensor<1x2x4x16xf32>
}

// -----

// An explicit transpose of k, the scores divided by a constant.
// CHECK-LABEL: func @scale_after
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x8xf32>, %[[K:.*]]: tensor<2x4x8xf32>, %[[V:.*]]: tensor<2x4x8xf32>)
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] {scale = 1.250000e-01 : f32}
// CHECK-NEXT: return %[[A]]
func.func @scale_after(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %kt = llm.transpose %k {permutation = array<i64: 0, 2, 1>} : (tensor<2x4x8xf32>) -> tensor<2x8x4xf32>
  %s = llm.matmul %q, %kt : (tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<2x4x4xf32>
  %c = llm.constant dense<8.0> : tensor<f32>
  %d = llm.div %s, %c : (tensor<2x4x4xf32>, tensor<f32>) -> tensor<2x4x4xf32>
  %p = llm.softmax %d {axis = 2 : i64} : tensor<2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %o : tensor<2x4x8xf32>
}

// -----

// Scales on q and on k before the product (d^-1/4 each) multiply together.
// CHECK-LABEL: func @scale_before
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x16xf32>, %[[K:.*]]: tensor<2x4x16xf32>, %[[V:.*]]: tensor<2x4x16xf32>)
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] {scale = 2.500000e-01 : f32}
// CHECK-NEXT: return %[[A]]
func.func @scale_before(%q: tensor<2x4x16xf32>, %k: tensor<2x4x16xf32>, %v: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %c = llm.constant dense<0.5> : tensor<1xf32>
  %qs = llm.mul %q, %c : (tensor<2x4x16xf32>, tensor<1xf32>) -> tensor<2x4x16xf32>
  %ks = llm.mul %c, %k : (tensor<1xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %s = llm.matmul %qs, %ks {transpose_rhs = true} : (tensor<2x4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x4xf32>
  %p = llm.softmax %s {axis = 2 : i64} : tensor<2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}

// -----

// A scale already folded into the product's epilogue; an additive mask.
// CHECK-LABEL: func @additive_mask
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x8xf32>, %[[K:.*]]: tensor<1x2x4x8xf32>, %[[V:.*]]: tensor<1x2x4x8xf32>, %[[M:.*]]: tensor<1x1x1x4xf32>)
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[M]] {scale = 3.535530e-01 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x1x4xf32>) -> tensor<1x2x4x8xf32>
// CHECK-NEXT: return %[[A]]
func.func @additive_mask(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %m: tensor<1x1x1x4xf32>) -> tensor<1x2x4x8xf32> {
  %s = llm.matmul %q, %k {scale = 0.353553 : f32, transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %a = llm.add %m, %s : (tensor<1x1x1x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %p = llm.softmax %a {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// A constant additive causal mask (0 / -inf) is the causal flag.
// CHECK-LABEL: func @additive_causal
// CHECK-NEXT: llm.attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true, scale = 1.000000e+00 : f32} : (tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
// CHECK-NOT: llm.add
func.func @additive_causal(%q: tensor<2x3x8xf32>, %k: tensor<2x3x8xf32>, %v: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {
  %m = llm.constant dense<[[0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<2x3x3xf32>
  %a = llm.add %s, %m : (tensor<2x3x3xf32>, tensor<3x3xf32>) -> tensor<2x3x3xf32>
  %p = llm.softmax %a {axis = 2 : i64} : tensor<2x3x3xf32>
  %o = llm.matmul %p, %v : (tensor<2x3x3xf32>, tensor<2x3x8xf32>) -> tensor<2x3x8xf32>
  return %o : tensor<2x3x8xf32>
}

// -----

// The GPT-2 export: k^T as one transpose of the head-split projection, the
// scale on the scores, and where(tril(buffer)[:S, :S] == 0, -inf, scores)
// with the buffer larger than the sequence. k becomes a new transpose to
// [B, H, S, D]; the mask becomes causal = true.
// CHECK-LABEL: func @gpt2
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x8xf32>, %[[KH:.*]]: tensor<1x4x2x8xf32>, %[[V:.*]]: tensor<1x2x4x8xf32>)
// CHECK-NEXT: %[[K:.*]] = llm.transpose %[[KH]] {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x4x2x8xf32>) -> tensor<1x2x4x8xf32>
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] {causal = true, scale = 2.500000e-01 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
// CHECK-NEXT: return %[[A]]
func.func @gpt2(%q: tensor<1x2x4x8xf32>, %kh: tensor<1x4x2x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %ones = llm.constant dense<1.0> : tensor<1x1x6x6xf32>
  %tril = llm.trilu %ones {upper = false} : tensor<1x1x6x6xf32>
  %buffer = llm.slice %tril {starts = array<i64: 0, 0, 0, 0>, ends = array<i64: 1, 1, 4, 4>, steps = array<i64: 1, 1, 1, 1>} : (tensor<1x1x6x6xf32>) -> tensor<1x1x4x4xf32>
  %zero = llm.constant dense<0.0> : tensor<f32>
  %hidden = llm.equal %buffer, %zero : (tensor<1x1x4x4xf32>, tensor<f32>) -> tensor<1x1x4x4xi1>
  %kt = llm.transpose %kh {permutation = array<i64: 0, 2, 3, 1>} : (tensor<1x4x2x8xf32>) -> tensor<1x2x8x4xf32>
  %s = llm.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %c = llm.constant dense<0.25> : tensor<f32>
  %scaled = llm.mul %s, %c : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %inf = llm.constant dense<0xFF800000> : tensor<f32>
  %masked = llm.where %hidden, %inf, %scaled : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %p = llm.softmax %masked {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}
// CHECK-NOT: llm.softmax
// CHECK-NOT: llm.where
// CHECK-NOT: llm.matmul

// -----

// Two queries after three cached keys: the bottom-right rule j <= i + 3 is
// causal; the top-left rule j <= i is not, and stays a mask (attend where
// the condition is false: llm.not of it, folded here). A large negative
// finite fill counts as -inf.
// CHECK-LABEL: func @causal_alignment
// CHECK: %[[KEEP:.*]] = llm.constant dense<{{\[\[}}true, false, false, false, false], [true, true, false, false, false]]> : tensor<2x5xi1>
// CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true, scale = 1.000000e+00 : f32} : (tensor<1x2x8xf32>, tensor<1x5x8xf32>, tensor<1x5x8xf32>) -> tensor<1x2x8xf32>
// CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[KEEP]] {scale = 1.000000e+00 : f32} : (tensor<1x2x8xf32>, tensor<1x5x8xf32>, tensor<1x5x8xf32>, tensor<2x5xi1>) -> tensor<1x2x8xf32>
// CHECK-NOT: llm.softmax
func.func @causal_alignment(%q: tensor<1x2x8xf32>, %k: tensor<1x5x8xf32>, %v: tensor<1x5x8xf32>) -> (tensor<1x2x8xf32>, tensor<1x2x8xf32>) {
  %bottom_right = llm.constant dense<[[true, true, true, true, false], [true, true, true, true, true]]> : tensor<2x5xi1>
  %top_left_hidden = llm.constant dense<[[false, true, true, true, true], [false, false, true, true, true]]> : tensor<2x5xi1>
  %fill = llm.constant dense<-1.0e9> : tensor<f32>
  %s0 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x8xf32>, tensor<1x5x8xf32>) -> tensor<1x2x5xf32>
  %m0 = llm.where %bottom_right, %s0, %fill : (tensor<2x5xi1>, tensor<1x2x5xf32>, tensor<f32>) -> tensor<1x2x5xf32>
  %p0 = llm.softmax %m0 {axis = 2 : i64} : tensor<1x2x5xf32>
  %o0 = llm.matmul %p0, %v : (tensor<1x2x5xf32>, tensor<1x5x8xf32>) -> tensor<1x2x8xf32>
  %s1 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x8xf32>, tensor<1x5x8xf32>) -> tensor<1x2x5xf32>
  %m1 = llm.where %top_left_hidden, %fill, %s1 : (tensor<2x5xi1>, tensor<f32>, tensor<1x2x5xf32>) -> tensor<1x2x5xf32>
  %p1 = llm.softmax %m1 {axis = 2 : i64} : tensor<1x2x5xf32>
  %o1 = llm.matmul %p1, %v : (tensor<1x2x5xf32>, tensor<1x5x8xf32>) -> tensor<1x2x8xf32>
  return %o0, %o1 : tensor<1x2x8xf32>, tensor<1x2x8xf32>
}

// -----

// A run-time boolean mask: attend where true stays as is; hide where true
// becomes llm.not.
// CHECK-LABEL: func @runtime_masks
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x8xf32>, %[[K:.*]]: tensor<1x2x4x8xf32>, %[[V:.*]]: tensor<1x2x4x8xf32>, %[[C:.*]]: tensor<1x1x1x4xi1>)
// CHECK: llm.attention %[[Q]], %[[K]], %[[V]], %[[C]] {scale = 1.000000e+00 : f32}
// CHECK: %[[NOT:.*]] = llm.not %[[C]] : tensor<1x1x1x4xi1>
// CHECK: llm.attention %[[Q]], %[[K]], %[[V]], %[[NOT]] {scale = 1.000000e+00 : f32}
// CHECK-NOT: llm.where
func.func @runtime_masks(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %c: tensor<1x1x1x4xi1>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) {
  %inf = llm.constant dense<0xFF800000> : tensor<f32>
  %s0 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %m0 = llm.where %c, %s0, %inf : (tensor<1x1x1x4xi1>, tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p0 = llm.softmax %m0 {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o0 = llm.matmul %p0, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %s1 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %m1 = llm.where %c, %inf, %s1 : (tensor<1x1x1x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %p1 = llm.softmax %m1 {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o1 = llm.matmul %p1, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o0, %o1 : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>
}

// -----

// Grouped-query attention as exporters repeat kv heads (unsqueeze, expand,
// reshape; HF's repeat_kv): the op reads the 2 kv heads directly.
// CHECK-LABEL: func @gqa_expand
// CHECK-SAME: (%[[Q:.*]]: tensor<1x4x3x8xf32>, %[[K:.*]]: tensor<1x2x5x8xf32>, %[[V:.*]]: tensor<1x2x5x8xf32>)
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] {causal = true, scale = 1.250000e-01 : f32} : (tensor<1x4x3x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>) -> tensor<1x4x3x8xf32>
// CHECK-NEXT: return %[[A]]
func.func @gqa_expand(%q: tensor<1x4x3x8xf32>, %k: tensor<1x2x5x8xf32>, %v: tensor<1x2x5x8xf32>) -> tensor<1x4x3x8xf32> {
  %k1 = llm.reshape %k : (tensor<1x2x5x8xf32>) -> tensor<1x2x1x5x8xf32>
  %k2 = llm.expand %k1 : (tensor<1x2x1x5x8xf32>) -> tensor<1x2x2x5x8xf32>
  %k3 = llm.reshape %k2 : (tensor<1x2x2x5x8xf32>) -> tensor<1x4x5x8xf32>
  %v1 = llm.reshape %v : (tensor<1x2x5x8xf32>) -> tensor<1x2x1x5x8xf32>
  %v2 = llm.expand %v1 : (tensor<1x2x1x5x8xf32>) -> tensor<1x2x2x5x8xf32>
  %v3 = llm.reshape %v2 : (tensor<1x2x2x5x8xf32>) -> tensor<1x4x5x8xf32>
  %kt = llm.transpose %k3 {permutation = array<i64: 0, 1, 3, 2>} : (tensor<1x4x5x8xf32>) -> tensor<1x4x8x5xf32>
  %s = llm.matmul %q, %kt : (tensor<1x4x3x8xf32>, tensor<1x4x8x5xf32>) -> tensor<1x4x3x5xf32>
  %c = llm.constant dense<0.125> : tensor<f32>
  %scaled = llm.mul %s, %c : (tensor<1x4x3x5xf32>, tensor<f32>) -> tensor<1x4x3x5xf32>
  %keep = llm.constant dense<[[true, true, true, false, false], [true, true, true, true, false], [true, true, true, true, true]]> : tensor<3x5xi1>
  %inf = llm.constant dense<0xFF800000> : tensor<f32>
  %masked = llm.where %keep, %scaled, %inf : (tensor<3x5xi1>, tensor<1x4x3x5xf32>, tensor<f32>) -> tensor<1x4x3x5xf32>
  %p = llm.softmax %masked {axis = 3 : i64} : tensor<1x4x3x5xf32>
  %o = llm.matmul %p, %v3 : (tensor<1x4x3x5xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x3x8xf32>
  return %o : tensor<1x4x3x8xf32>
}

// -----

// Copies concatenated along a unit dim after the heads repeat in place too;
// the unit dim comes from a value that is not a reshape, so a reshape drops it.
// CHECK-LABEL: func @gqa_concat
// CHECK-SAME: (%[[Q:.*]]: tensor<6x3x8xf32>, %[[KU:.*]]: tensor<2x1x3x8xf32>, %[[V:.*]]: tensor<2x3x8xf32>)
// CHECK-NEXT: %[[K:.*]] = llm.reshape %[[KU]] : (tensor<2x1x3x8xf32>) -> tensor<2x3x8xf32>
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] {scale = 1.000000e+00 : f32} : (tensor<6x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>) -> tensor<6x3x8xf32>
// CHECK-NEXT: return %[[A]]
func.func @gqa_concat(%q: tensor<6x3x8xf32>, %ku: tensor<2x1x3x8xf32>, %v: tensor<2x3x8xf32>) -> tensor<6x3x8xf32> {
  %k2 = llm.concat %ku, %ku, %ku {axis = 1 : i64} : (tensor<2x1x3x8xf32>, tensor<2x1x3x8xf32>, tensor<2x1x3x8xf32>) -> tensor<2x3x3x8xf32>
  %k3 = llm.reshape %k2 : (tensor<2x3x3x8xf32>) -> tensor<6x3x8xf32>
  %v1 = llm.reshape %v : (tensor<2x3x8xf32>) -> tensor<2x1x3x8xf32>
  %v2 = llm.concat %v1, %v1, %v1 {axis = 1 : i64} : (tensor<2x1x3x8xf32>, tensor<2x1x3x8xf32>, tensor<2x1x3x8xf32>) -> tensor<2x3x3x8xf32>
  %v3 = llm.reshape %v2 : (tensor<2x3x3x8xf32>) -> tensor<6x3x8xf32>
  %s = llm.matmul %q, %k3 {transpose_rhs = true} : (tensor<6x3x8xf32>, tensor<6x3x8xf32>) -> tensor<6x3x3xf32>
  %p = llm.softmax %s {axis = 2 : i64} : tensor<6x3x3xf32>
  %o = llm.matmul %p, %v3 : (tensor<6x3x3xf32>, tensor<6x3x8xf32>) -> tensor<6x3x8xf32>
  return %o : tensor<6x3x8xf32>
}

// -----

// Heads tiled (ONNX Tile: copies in front of the heads, so head h is kv head
// h mod Hkv) are not grouped-query attention: the repeated tensors stay.
// CHECK-LABEL: func @tiled_heads_stay
// CHECK: %[[K:.*]] = llm.reshape %{{.*}} : (tensor<2x2x3x8xf32>) -> tensor<4x3x8xf32>
// CHECK: %[[V:.*]] = llm.reshape %{{.*}} : (tensor<2x2x3x8xf32>) -> tensor<4x3x8xf32>
// CHECK: llm.attention %{{.*}}, %[[K]], %[[V]] {scale = 1.000000e+00 : f32} : (tensor<4x3x8xf32>, tensor<4x3x8xf32>, tensor<4x3x8xf32>) -> tensor<4x3x8xf32>
func.func @tiled_heads_stay(%q: tensor<4x3x8xf32>, %k: tensor<2x3x8xf32>, %v: tensor<2x3x8xf32>) -> tensor<4x3x8xf32> {
  %k1 = llm.reshape %k : (tensor<2x3x8xf32>) -> tensor<1x2x3x8xf32>
  %k2 = llm.expand %k1 : (tensor<1x2x3x8xf32>) -> tensor<2x2x3x8xf32>
  %k3 = llm.reshape %k2 : (tensor<2x2x3x8xf32>) -> tensor<4x3x8xf32>
  %v1 = llm.reshape %v : (tensor<2x3x8xf32>) -> tensor<1x2x3x8xf32>
  %v2 = llm.expand %v1 : (tensor<1x2x3x8xf32>) -> tensor<2x2x3x8xf32>
  %v3 = llm.reshape %v2 : (tensor<2x2x3x8xf32>) -> tensor<4x3x8xf32>
  %s = llm.matmul %q, %k3 {transpose_rhs = true} : (tensor<4x3x8xf32>, tensor<4x3x8xf32>) -> tensor<4x3x3xf32>
  %p = llm.softmax %s {axis = 2 : i64} : tensor<4x3x3xf32>
  %o = llm.matmul %p, %v3 : (tensor<4x3x3xf32>, tensor<4x3x8xf32>) -> tensor<4x3x8xf32>
  return %o : tensor<4x3x8xf32>
}

// -----

// Negative cases: the chain stays.

// CHECK-LABEL: func @softmax_other_axis
// CHECK-NOT: llm.attention
// CHECK: llm.softmax %{{.*}} {axis = 1 : i64}
func.func @softmax_other_axis(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x4xf32>
  %p = llm.softmax %s {axis = 1 : i64} : tensor<2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %o : tensor<2x4x8xf32>
}

// CHECK-LABEL: func @scores_used_twice
// CHECK-NOT: llm.attention
// CHECK: llm.softmax
func.func @scores_used_twice(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x8xf32>) -> (tensor<2x4x8xf32>, tensor<2x4x4xf32>) {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x4xf32>
  %c = llm.constant dense<0.5> : tensor<f32>
  %scaled = llm.mul %s, %c : (tensor<2x4x4xf32>, tensor<f32>) -> tensor<2x4x4xf32>
  %p = llm.softmax %scaled {axis = 2 : i64} : tensor<2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %o, %s : tensor<2x4x8xf32>, tensor<2x4x4xf32>
}

// CHECK-LABEL: func @weights_used_twice
// CHECK-NOT: llm.attention
// CHECK: llm.softmax
func.func @weights_used_twice(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x8xf32>) -> (tensor<2x4x8xf32>, tensor<2x4x4xf32>) {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x4xf32>
  %p = llm.softmax %s {axis = 2 : i64} : tensor<2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %o, %p : tensor<2x4x8xf32>, tensor<2x4x4xf32>
}

// A scale that is not a constant is no attention scale: it scales q.
// CHECK-LABEL: func @runtime_scale
// CHECK-SAME: (%[[Q:[^ ]*]]: tensor<2x4x8xf32>, %{{[^ ]*}}: tensor<2x4x8xf32>, %{{[^ ]*}}: tensor<2x4x8xf32>, %[[T:[^ ]*]]: tensor<f32>)
// CHECK: %[[SCALED:.*]] = llm.mul %[[Q]], %[[T]] : (tensor<2x4x8xf32>, tensor<f32>) -> tensor<2x4x8xf32>
// CHECK: llm.attention %[[SCALED]], %{{.*}}, %{{.*}} {scale = 1.000000e+00 : f32}
// CHECK-NOT: llm.softmax
func.func @runtime_scale(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x8xf32>, %t: tensor<f32>) -> tensor<2x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x4xf32>
  %scaled = llm.mul %s, %t : (tensor<2x4x4xf32>, tensor<f32>) -> tensor<2x4x4xf32>
  %p = llm.softmax %scaled {axis = 2 : i64} : tensor<2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %o : tensor<2x4x8xf32>
}

// Nor is a per-head constant scale.
// CHECK-LABEL: func @per_head_scale
// CHECK: %[[C:.*]] = llm.constant dense<{{.*}}5.000000e-01{{.*}}2.500000e-01{{.*}}> : tensor<2x1x1xf32>
// CHECK: %[[SCALED:.*]] = llm.mul %{{.*}}, %[[C]] : (tensor<2x4x8xf32>, tensor<2x1x1xf32>) -> tensor<2x4x8xf32>
// CHECK: llm.attention %[[SCALED]], %{{.*}}, %{{.*}} {scale = 1.000000e+00 : f32}
// CHECK-NOT: llm.softmax
func.func @per_head_scale(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %c = llm.constant dense<[[[0.5]], [[0.25]]]> : tensor<2x1x1xf32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x4xf32>
  %scaled = llm.mul %s, %c : (tensor<2x4x4xf32>, tensor<2x1x1xf32>) -> tensor<2x4x4xf32>
  %p = llm.softmax %scaled {axis = 2 : i64} : tensor<2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %o : tensor<2x4x8xf32>
}

// A mask that grows the scores ([2,1,4,4] over [1,2,4,4]) is no mask.
// CHECK-LABEL: func @mask_grows_scores
// CHECK-NOT: llm.attention
// CHECK: llm.add
// CHECK: llm.softmax
func.func @mask_grows_scores(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %m: tensor<2x1x4x4xf32>) -> tensor<2x2x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %a = llm.add %s, %m : (tensor<1x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %a {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// A where-fill that does not hide the key is no mask.
// CHECK-LABEL: func @small_fill
// CHECK-NOT: llm.attention
// CHECK: llm.where
func.func @small_fill(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x8xf32>, %c: tensor<4x4xi1>) -> tensor<2x4x8xf32> {
  %fill = llm.constant dense<-1.0> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x4xf32>
  %m = llm.where %c, %s, %fill : (tensor<4x4xi1>, tensor<2x4x4xf32>, tensor<f32>) -> tensor<2x4x4xf32>
  %p = llm.softmax %m {axis = 2 : i64} : tensor<2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %o : tensor<2x4x8xf32>
}

// q and k whose batch dims only broadcast in the product break the op's rule.
// CHECK-LABEL: func @broadcast_batch
// CHECK-NOT: llm.attention
// CHECK: llm.softmax
func.func @broadcast_batch(%q: tensor<2x4x8xf32>, %k: tensor<1x4x8xf32>, %v: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<1x4x8xf32>) -> tensor<2x4x4xf32>
  %p = llm.softmax %s {axis = 2 : i64} : tensor<2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %o : tensor<2x4x8xf32>
}

// -----

// After llm-fuse-matmul-epilogue: the scale and a padding mask along the keys
// sit in the product's epilogue (scale, bias).
// CHECK-LABEL: func @epilogue_bias_mask
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x8xf32>, %[[K:.*]]: tensor<1x2x4x8xf32>, %[[V:.*]]: tensor<1x2x4x8xf32>, %[[M:.*]]: tensor<4xf32>)
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[M]] {scale = 5.000000e-01 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<4xf32>) -> tensor<1x2x4x8xf32>
// CHECK-NEXT: return %[[A]]
func.func @epilogue_bias_mask(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %m: tensor<4xf32>) -> tensor<1x2x4x8xf32> {
  %s = llm.matmul %q, %k bias %m {scale = 0.5 : f32, transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<4xf32>) -> tensor<1x2x4x4xf32>
  %p = llm.softmax %s {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// With remarks=true, one remark per run (per split) counts the rewrites.
// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 2
// REMARK: remark: llm-fuse-attention: fused-attentions 2
// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 0
// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0

// -----

// OPT's form: heads merged into the batch for bmm ([B*H, T, D]), the scores
// split to [B, H, T, S] for the mask and clamped from below at finfo.min,
// then merged again for the softmax. The products and the softmax move into
// the split batch and fuse; q, k and v are reshaped to [B, H, ., D] (in a
// model, into the reshapes that merged them) and the result reshaped back.
// The scale on q, under the reshape, joins the attention's scale.
// CHECK-LABEL: func @merged_heads
// CHECK-SAME: (%[[Q:.*]]: tensor<6x4x8xf32>, %[[K:.*]]: tensor<6x5x8xf32>, %[[V:.*]]: tensor<6x5x8xf32>, %[[M:.*]]: tensor<2x1x4x5xf32>)
// CHECK-NOT: llm.mul
// CHECK-DAG: %[[Q4:.*]] = llm.reshape %[[Q]] : (tensor<6x4x8xf32>) -> tensor<2x3x4x8xf32>
// CHECK-DAG: %[[K4:.*]] = llm.reshape %[[K]] : (tensor<6x5x8xf32>) -> tensor<2x3x5x8xf32>
// CHECK-DAG: %[[V4:.*]] = llm.reshape %[[V]] : (tensor<6x5x8xf32>) -> tensor<2x3x5x8xf32>
// CHECK: %[[A:.*]] = llm.attention %[[Q4]], %[[K4]], %[[V4]], %[[M]] {scale = 2.500000e-01 : f32} : (tensor<2x3x4x8xf32>, tensor<2x3x5x8xf32>, tensor<2x3x5x8xf32>, tensor<2x1x4x5xf32>) -> tensor<2x3x4x8xf32>
// CHECK-NEXT: %[[O:.*]] = llm.reshape %[[A]] : (tensor<2x3x4x8xf32>) -> tensor<6x4x8xf32>
// CHECK-NEXT: return %[[O]]
func.func @merged_heads(%q: tensor<6x4x8xf32>, %k: tensor<6x5x8xf32>, %v: tensor<6x5x8xf32>, %m: tensor<2x1x4x5xf32>) -> tensor<6x4x8xf32> {
  %c = llm.constant dense<0.25> : tensor<f32>
  %qs = llm.mul %q, %c : (tensor<6x4x8xf32>, tensor<f32>) -> tensor<6x4x8xf32>
  %s = llm.matmul %qs, %k {transpose_rhs = true} : (tensor<6x4x8xf32>, tensor<6x5x8xf32>) -> tensor<6x4x5xf32>
  %s4 = llm.reshape %s : (tensor<6x4x5xf32>) -> tensor<2x3x4x5xf32>
  %a = llm.add %s4, %m : (tensor<2x3x4x5xf32>, tensor<2x1x4x5xf32>) -> tensor<2x3x4x5xf32>
  %low = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %x = llm.max %a, %low : (tensor<2x3x4x5xf32>, tensor<f32>) -> tensor<2x3x4x5xf32>
  %x3 = llm.reshape %x : (tensor<2x3x4x5xf32>) -> tensor<6x4x5xf32>
  %p = llm.softmax %x3 {axis = 2 : i64} : tensor<6x4x5xf32>
  %o = llm.matmul %p, %v : (tensor<6x4x5xf32>, tensor<6x5x8xf32>) -> tensor<6x4x8xf32>
  return %o : tensor<6x4x8xf32>
}

// -----

// Left alone: a clamp at 0 is no mask (it changes every negative score),
// and split scores that something else reads.
// CHECK-LABEL: func @merged_heads_relu
// CHECK-NOT: llm.attention
// CHECK: llm.max
// CHECK: llm.softmax %{{.*}} {axis = 2 : i64} : tensor<6x4x5xf32>
func.func @merged_heads_relu(%q: tensor<6x4x8xf32>, %k: tensor<6x5x8xf32>, %v: tensor<6x5x8xf32>) -> tensor<6x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<6x4x8xf32>, tensor<6x5x8xf32>) -> tensor<6x4x5xf32>
  %s4 = llm.reshape %s : (tensor<6x4x5xf32>) -> tensor<2x3x4x5xf32>
  %zero = llm.constant dense<0.0> : tensor<f32>
  %x = llm.max %s4, %zero : (tensor<2x3x4x5xf32>, tensor<f32>) -> tensor<2x3x4x5xf32>
  %x3 = llm.reshape %x : (tensor<2x3x4x5xf32>) -> tensor<6x4x5xf32>
  %p = llm.softmax %x3 {axis = 2 : i64} : tensor<6x4x5xf32>
  %o = llm.matmul %p, %v : (tensor<6x4x5xf32>, tensor<6x5x8xf32>) -> tensor<6x4x8xf32>
  return %o : tensor<6x4x8xf32>
}

// CHECK-LABEL: func @merged_heads_shared
// CHECK-NOT: llm.attention
// CHECK: llm.softmax %{{.*}} {axis = 2 : i64} : tensor<6x4x5xf32>
func.func @merged_heads_shared(%q: tensor<6x4x8xf32>, %k: tensor<6x5x8xf32>, %v: tensor<6x5x8xf32>, %m: tensor<2x1x4x5xf32>) -> (tensor<6x4x8xf32>, tensor<2x3x4x5xf32>) {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<6x4x8xf32>, tensor<6x5x8xf32>) -> tensor<6x4x5xf32>
  %s4 = llm.reshape %s : (tensor<6x4x5xf32>) -> tensor<2x3x4x5xf32>
  %a = llm.add %s4, %m : (tensor<2x3x4x5xf32>, tensor<2x1x4x5xf32>) -> tensor<2x3x4x5xf32>
  %x3 = llm.reshape %a : (tensor<2x3x4x5xf32>) -> tensor<6x4x5xf32>
  %p = llm.softmax %x3 {axis = 2 : i64} : tensor<6x4x5xf32>
  %o = llm.matmul %p, %v : (tensor<6x4x5xf32>, tensor<6x5x8xf32>) -> tensor<6x4x8xf32>
  return %o, %a : tensor<6x4x8xf32>, tensor<2x3x4x5xf32>
}

// -----

// GPT-BigCode's multi-query form: the heads folded into the query rows
// ([B, T*H, D] @ [B, S, D]^T), the scores viewed as [B, T, H, S] for a mask
// [B, T, 1, S] and a scale, the probabilities folded back for the product
// with v. Rewritten with the heads first: q reshaped and transposed to
// [B, H, T, D], k and v one head [B, 1, S, D], the mask [B, 1, T, S] (a
// reshape: no operand grows), the result transposed back and reshaped.
// CHECK-LABEL: func @row_folded_heads
// CHECK-SAME: (%[[Q:.*]]: tensor<2x12x8xf32>, %[[K:.*]]: tensor<2x5x8xf32>, %[[V:.*]]: tensor<2x5x8xf32>, %[[M:.*]]: tensor<2x4x1x5xf32>)
// CHECK-DAG: %[[Q4:.*]] = llm.reshape %[[Q]] : (tensor<2x12x8xf32>) -> tensor<2x4x3x8xf32>
// CHECK-DAG: %[[QH:.*]] = llm.transpose %[[Q4]] {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x3x8xf32>) -> tensor<2x3x4x8xf32>
// CHECK-DAG: %[[K1:.*]] = llm.reshape %[[K]] : (tensor<2x5x8xf32>) -> tensor<2x1x5x8xf32>
// CHECK-DAG: %[[V1:.*]] = llm.reshape %[[V]] : (tensor<2x5x8xf32>) -> tensor<2x1x5x8xf32>
// CHECK-DAG: %[[M1:.*]] = llm.reshape %[[M]] : (tensor<2x4x1x5xf32>) -> tensor<2x1x4x5xf32>
// CHECK: %[[A:.*]] = llm.attention %[[QH]], %[[K1]], %[[V1]], %[[M1]] {scale = 1.250000e-01 : f32} : (tensor<2x3x4x8xf32>, tensor<2x1x5x8xf32>, tensor<2x1x5x8xf32>, tensor<2x1x4x5xf32>) -> tensor<2x3x4x8xf32>
// CHECK-NEXT: %[[T:.*]] = llm.transpose %[[A]] {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x3x4x8xf32>) -> tensor<2x4x3x8xf32>
// CHECK-NEXT: %[[O:.*]] = llm.reshape %[[T]] : (tensor<2x4x3x8xf32>) -> tensor<2x12x8xf32>
// CHECK-NEXT: return %[[O]]
func.func @row_folded_heads(%q: tensor<2x12x8xf32>, %k: tensor<2x5x8xf32>, %v: tensor<2x5x8xf32>, %m: tensor<2x4x1x5xf32>) -> tensor<2x12x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x12x8xf32>, tensor<2x5x8xf32>) -> tensor<2x12x5xf32>
  %s4 = llm.reshape %s : (tensor<2x12x5xf32>) -> tensor<2x4x3x5xf32>
  %c = llm.constant dense<8.0> : tensor<f32>
  %d = llm.div %s4, %c : (tensor<2x4x3x5xf32>, tensor<f32>) -> tensor<2x4x3x5xf32>
  %a = llm.add %d, %m : (tensor<2x4x3x5xf32>, tensor<2x4x1x5xf32>) -> tensor<2x4x3x5xf32>
  %p = llm.softmax %a {axis = 3 : i64} : tensor<2x4x3x5xf32>
  %p3 = llm.reshape %p : (tensor<2x4x3x5xf32>) -> tensor<2x12x5xf32>
  %o = llm.matmul %p3, %v : (tensor<2x12x5xf32>, tensor<2x5x8xf32>) -> tensor<2x12x8xf32>
  return %o : tensor<2x12x8xf32>
}

// -----

// A mask with a value per head and row ([T, H, S]) is transposed with the
// scores, to [H, T, S].
// CHECK-LABEL: func @row_folded_heads_full_mask
// CHECK-SAME: %[[M:[a-z0-9]+]]: tensor<4x3x5xf32>
// CHECK: %[[M4:.*]] = llm.reshape %[[M]] : (tensor<4x3x5xf32>) -> tensor<1x4x3x5xf32>
// CHECK: %[[MT:.*]] = llm.transpose %[[M4]] {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x4x3x5xf32>) -> tensor<1x3x4x5xf32>
// CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[MT]]
func.func @row_folded_heads_full_mask(%q: tensor<2x12x8xf32>, %k: tensor<2x5x8xf32>, %v: tensor<2x5x8xf32>, %m: tensor<4x3x5xf32>) -> tensor<2x12x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x12x8xf32>, tensor<2x5x8xf32>) -> tensor<2x12x5xf32>
  %s4 = llm.reshape %s : (tensor<2x12x5xf32>) -> tensor<2x4x3x5xf32>
  %a = llm.add %s4, %m : (tensor<2x4x3x5xf32>, tensor<4x3x5xf32>) -> tensor<2x4x3x5xf32>
  %p = llm.softmax %a {axis = 3 : i64} : tensor<2x4x3x5xf32>
  %p3 = llm.reshape %p : (tensor<2x4x3x5xf32>) -> tensor<2x12x5xf32>
  %o = llm.matmul %p3, %v : (tensor<2x12x5xf32>, tensor<2x5x8xf32>) -> tensor<2x12x8xf32>
  return %o : tensor<2x12x8xf32>
}

// -----

// Left alone: the folded rows are not heads-times-rows of the product (the
// probabilities are reshaped to other rows), and the softmax is read twice.
// CHECK-LABEL: func @row_folded_other_rows
// CHECK-NOT: llm.attention
// CHECK: return
func.func @row_folded_other_rows(%q: tensor<2x12x8xf32>, %k: tensor<2x5x8xf32>, %v: tensor<2x5x8xf32>) -> tensor<2x6x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x12x8xf32>, tensor<2x5x8xf32>) -> tensor<2x12x5xf32>
  %s4 = llm.reshape %s : (tensor<2x12x5xf32>) -> tensor<2x4x3x5xf32>
  %p = llm.softmax %s4 {axis = 3 : i64} : tensor<2x4x3x5xf32>
  %p3 = llm.reshape %p : (tensor<2x4x3x5xf32>) -> tensor<4x6x5xf32>
  %v2 = llm.reshape %v : (tensor<2x5x8xf32>) -> tensor<1x10x8xf32>
  %v3 = llm.slice %v2 {ends = array<i64: 1, 5, 8>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : (tensor<1x10x8xf32>) -> tensor<1x5x8xf32>
  %o = llm.matmul %p3, %v3 : (tensor<4x6x5xf32>, tensor<1x5x8xf32>) -> tensor<4x6x8xf32>
  %r = llm.reshape %o : (tensor<4x6x8xf32>) -> tensor<2x6x16xf32>
  %x = llm.slice %r {ends = array<i64: 2, 6, 8>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : (tensor<2x6x16xf32>) -> tensor<2x6x8xf32>
  return %x : tensor<2x6x8xf32>
}

// CHECK-LABEL: func @row_folded_shared_softmax
// CHECK-NOT: llm.attention
// CHECK: return
func.func @row_folded_shared_softmax(%q: tensor<2x12x8xf32>, %k: tensor<2x5x8xf32>, %v: tensor<2x5x8xf32>) -> (tensor<2x12x8xf32>, tensor<2x4x3x5xf32>) {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x12x8xf32>, tensor<2x5x8xf32>) -> tensor<2x12x5xf32>
  %s4 = llm.reshape %s : (tensor<2x12x5xf32>) -> tensor<2x4x3x5xf32>
  %p = llm.softmax %s4 {axis = 3 : i64} : tensor<2x4x3x5xf32>
  %p3 = llm.reshape %p : (tensor<2x4x3x5xf32>) -> tensor<2x12x5xf32>
  %o = llm.matmul %p3, %v : (tensor<2x12x5xf32>, tensor<2x5x8xf32>) -> tensor<2x12x8xf32>
  return %o, %p : tensor<2x12x8xf32>, tensor<2x4x3x5xf32>
}

// -----

// Hugging Face's BART scales q before splitting the heads: the scale under
// the reshape and the transpose joins the attention's scale, and the views
// are rebuilt on the unscaled projection. A scale under a view that
// something else reads stays.
// CHECK-LABEL: func @scale_under_views
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x16xf32>, %[[K:.*]]: tensor<2x2x4x8xf32>, %[[V:.*]]: tensor<2x2x4x8xf32>)
// CHECK-NEXT: %[[R:.*]] = llm.reshape %[[X]] : (tensor<2x4x16xf32>) -> tensor<2x4x2x8xf32>
// CHECK-NEXT: %[[T:.*]] = llm.transpose %[[R]] {permutation = array<i64: 0, 2, 1, 3>}
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[T]], %[[K]], %[[V]] {scale = 1.250000e-01 : f32}
// CHECK-NEXT: return %[[A]]
func.func @scale_under_views(%x: tensor<2x4x16xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32> {
  %c = llm.constant dense<0.125> : tensor<f32>
  %xs = llm.mul %x, %c : (tensor<2x4x16xf32>, tensor<f32>) -> tensor<2x4x16xf32>
  %r = llm.reshape %xs : (tensor<2x4x16xf32>) -> tensor<2x4x2x8xf32>
  %q = llm.transpose %r {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x2x8xf32>) -> tensor<2x2x4x8xf32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %s {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// CHECK-LABEL: func @scale_under_shared_view
// CHECK: %[[XS:.*]] = llm.mul
// CHECK: %[[R:.*]] = llm.reshape %[[XS]]
// CHECK: llm.attention %{{.*}} {scale = 1.000000e+00 : f32}
// CHECK: return %{{.*}}, %[[R]]
func.func @scale_under_shared_view(%x: tensor<2x4x16xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>) -> (tensor<2x2x4x8xf32>, tensor<2x4x2x8xf32>) {
  %c = llm.constant dense<0.125> : tensor<f32>
  %xs = llm.mul %x, %c : (tensor<2x4x16xf32>, tensor<f32>) -> tensor<2x4x16xf32>
  %r = llm.reshape %xs : (tensor<2x4x16xf32>) -> tensor<2x4x2x8xf32>
  %q = llm.transpose %r {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x2x8xf32>) -> tensor<2x2x4x8xf32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %s {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o, %r : tensor<2x2x4x8xf32>, tensor<2x4x2x8xf32>
}

// -----

// GPT-J masks first and scales after: where(c, s, fill) / k is
// where(c, s / k, fill / k), a mask while fill / k stays large negative.
// CHECK-LABEL: func @scale_above_where
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x8xf32>, %[[K:.*]]: tensor<1x2x4x8xf32>, %[[V:.*]]: tensor<1x2x4x8xf32>, %[[C:.*]]: tensor<1x1x4x4xi1>)
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[C]] {scale = 2.500000e-01 : f32}
// CHECK-NEXT: return %[[A]]
func.func @scale_above_where(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %c: tensor<1x1x4x4xi1>) -> tensor<1x2x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %low = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %w = llm.where %c, %s, %low : (tensor<1x1x4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %four = llm.constant dense<4.0> : tensor<f32>
  %d = llm.div %w, %four : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p = llm.softmax %d {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// Left alone: a fill that the scale brings above -1e4 (-1e5 / 100) is no
// longer a mask.
// CHECK-LABEL: func @scale_above_small_fill
// CHECK-NOT: llm.attention
// CHECK: llm.softmax
func.func @scale_above_small_fill(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %c: tensor<1x1x4x4xi1>) -> tensor<1x2x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %low = llm.constant dense<-1.0e5> : tensor<f32>
  %w = llm.where %c, %s, %low : (tensor<1x1x4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %k100 = llm.constant dense<100.0> : tensor<f32>
  %d = llm.div %w, %k100 : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p = llm.softmax %d {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// A causal LM's mask joins a causal buffer with the run-time padding
// (Hugging Face's and(tril, attention_mask)): the buffer becomes the causal
// flag and the padding, a row per batch, the mask.
// CHECK-LABEL: func @causal_and_padding
// CHECK-SAME: (%[[Q:.*]]: tensor<2x2x4x8xf32>, %[[K:.*]]: tensor<2x2x4x8xf32>, %[[V:.*]]: tensor<2x2x4x8xf32>, %[[PAD:.*]]: tensor<2x1x1x4xi1>)
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[PAD]] {causal = true, scale = 1.000000e+00 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x1x4xi1>) -> tensor<2x2x4x8xf32>
// CHECK-NEXT: return %[[A]]
func.func @causal_and_padding(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %pad: tensor<2x1x1x4xi1>) -> tensor<2x2x4x8xf32> {
  %ones = llm.constant dense<true> : tensor<4x4xi1>
  %tril = llm.trilu %ones {upper = false} : tensor<4x4xi1>
  %causal = llm.reshape %tril : (tensor<4x4xi1>) -> tensor<1x1x4x4xi1>
  %keep = llm.and %causal, %pad : (tensor<1x1x4x4xi1>, tensor<2x1x1x4xi1>) -> tensor<2x1x4x4xi1>
  %fill = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %m = llm.where %keep, %s, %fill : (tensor<2x1x4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %m {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// -----

// The same join of hidden keys (BLOOM's future | ~attention_mask): the
// padding's not, then the not of a hide mask, fold away.
// CHECK-LABEL: func @future_or_padding
// CHECK-SAME: (%[[Q:.*]]: tensor<2x2x4x8xf32>, %[[K:.*]]: tensor<2x2x4x8xf32>, %[[V:.*]]: tensor<2x2x4x8xf32>, %[[PAD:.*]]: tensor<2x1x1x4xi1>)
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[PAD]] {causal = true, scale = 1.000000e+00 : f32}
// CHECK-NEXT: return %[[A]]
func.func @future_or_padding(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %pad: tensor<2x1x1x4xi1>) -> tensor<2x2x4x8xf32> {
  %ones = llm.constant dense<true> : tensor<4x4xi1>
  %future = llm.trilu %ones {upper = true, diagonal = 1 : i64} : tensor<4x4xi1>
  %padded = llm.not %pad : tensor<2x1x1x4xi1>
  %hide = llm.or %future, %padded : (tensor<4x4xi1>, tensor<2x1x1x4xi1>) -> tensor<2x1x4x4xi1>
  %fill = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %m = llm.where %hide, %fill, %s : (tensor<2x1x4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %m {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// -----

// Additive: a causal mask of finfo.min plus a padding one (Phi); and
// where(not(padding and causal), finfo.min, zeros) with the zeros a blob,
// as torch exports torch.zeros (OPT, Gemma), which becomes a where over
// scalars on the padding alone.
// CHECK-LABEL: func @additive_joins
// CHECK-SAME: (%[[Q:.*]]: tensor<2x2x4x8xf32>, %[[K:.*]]: tensor<2x2x4x8xf32>, %[[V:.*]]: tensor<2x2x4x8xf32>, %[[BIAS:.*]]: tensor<2x1x1x4xf32>, %[[PAD:.*]]: tensor<2x1x1x4xi1>)
// CHECK-DAG: %[[MIN:.*]] = llm.constant dense<-3.40282347E+38> : tensor<f32>
// CHECK-DAG: %[[ZERO:.*]] = llm.constant dense<0.000000e+00> : tensor<f32>
// CHECK: llm.attention %[[Q]], %[[K]], %[[V]], %[[BIAS]] {causal = true, scale = 1.000000e+00 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x8xf32>
// CHECK: %[[NOT:.*]] = llm.not %[[PAD]] : tensor<2x1x1x4xi1>
// CHECK: %[[MASK:.*]] = llm.where %[[NOT]], %[[MIN]], %[[ZERO]] : (tensor<2x1x1x4xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x1x4xf32>
// CHECK: llm.attention %[[Q]], %[[K]], %[[V]], %[[MASK]] {causal = true, scale = 1.000000e+00 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x8xf32>
// CHECK-NOT: llm.softmax
func.func @additive_joins(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %bias: tensor<2x1x1x4xf32>, %pad: tensor<2x1x1x4xi1>) -> (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) {
  %min = llm.constant dense<-3.40282347E+38> : tensor<4x4xf32>
  %future = llm.trilu %min {upper = true, diagonal = 1 : i64} : tensor<4x4xf32>
  %m0 = llm.add %future, %bias : (tensor<4x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x1x4x4xf32>
  %s0 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a0 = llm.add %s0, %m0 : (tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p0 = llm.softmax %a0 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o0 = llm.matmul %p0, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  %ones = llm.constant dense<true> : tensor<1x1x4x4xi1>
  %causal = llm.trilu %ones {upper = false} : tensor<1x1x4x4xi1>
  %keep = llm.and %pad, %causal : (tensor<2x1x1x4xi1>, tensor<1x1x4x4xi1>) -> tensor<2x1x4x4xi1>
  %hide = llm.not %keep : tensor<2x1x4x4xi1>
  %fill = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %zeros = llm.constant dense_resource<zeros> : tensor<2x1x4x4xf32>
  %m1 = llm.where %hide, %fill, %zeros : (tensor<2x1x4x4xi1>, tensor<f32>, tensor<2x1x4x4xf32>) -> tensor<2x1x4x4xf32>
  %s1 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a1 = llm.add %s1, %m1 : (tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p1 = llm.softmax %a1 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o1 = llm.matmul %p1, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o0, %o1 : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>
}

{-#
  dialect_resources: {
    builtin: {
      zeros: "0x040000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    }
  }
#-}

// -----

// Sliding-window attention: Mistral's window of 2 keys joined with the
// padding becomes causal with window = 2 and the padding; a window buffer
// alone, for 2 queries after 3 cached keys (the diagonal aligned to the
// bottom-right: query i sees keys i + 1 through i + 3), becomes the
// attributes alone.
// CHECK-LABEL: func @window_and_padding
// CHECK-SAME: (%[[Q:.*]]: tensor<2x2x4x8xf32>, %[[K:.*]]: tensor<2x2x4x8xf32>, %[[V:.*]]: tensor<2x2x4x8xf32>, %[[PAD:.*]]: tensor<2x1x1x4xi1>, %[[Q2:.*]]: tensor<1x2x2x8xf32>, %[[K2:.*]]: tensor<1x2x5x8xf32>, %[[V2:.*]]: tensor<1x2x5x8xf32>)
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[PAD]] {causal = true, scale = 1.000000e+00 : f32, window = 2 : i64} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x1x4xi1>) -> tensor<2x2x4x8xf32>
// CHECK-NEXT: %[[B:.*]] = llm.attention %[[Q2]], %[[K2]], %[[V2]] {causal = true, scale = 1.000000e+00 : f32, window = 3 : i64} : (tensor<1x2x2x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>) -> tensor<1x2x2x8xf32>
// CHECK-NEXT: return %[[A]], %[[B]]
func.func @window_and_padding(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %pad: tensor<2x1x1x4xi1>, %q2: tensor<1x2x2x8xf32>, %k2: tensor<1x2x5x8xf32>, %v2: tensor<1x2x5x8xf32>) -> (tensor<2x2x4x8xf32>, tensor<1x2x2x8xf32>) {
  %window = llm.constant dense<[[true, false, false, false], [true, true, false, false], [false, true, true, false], [false, false, true, true]]> : tensor<4x4xi1>
  %fill = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %keep = llm.and %window, %pad : (tensor<4x4xi1>, tensor<2x1x1x4xi1>) -> tensor<2x1x4x4xi1>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %m = llm.where %keep, %s, %fill : (tensor<2x1x4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %m {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  %band = llm.constant dense<[[false, true, true, true, false], [false, false, true, true, true]]> : tensor<2x5xi1>
  %s2 = llm.matmul %q2, %k2 {transpose_rhs = true} : (tensor<1x2x2x8xf32>, tensor<1x2x5x8xf32>) -> tensor<1x2x2x5xf32>
  %m2 = llm.where %band, %s2, %fill : (tensor<2x5xi1>, tensor<1x2x2x5xf32>, tensor<f32>) -> tensor<1x2x2x5xf32>
  %p2 = llm.softmax %m2 {axis = 3 : i64} : tensor<1x2x2x5xf32>
  %o2 = llm.matmul %p2, %v2 : (tensor<1x2x2x5xf32>, tensor<1x2x5x8xf32>) -> tensor<1x2x2x8xf32>
  return %o, %o2 : tensor<2x2x4x8xf32>, tensor<1x2x2x8xf32>
}

// -----

// An llm.attention from an importer, with the causal rule in its mask
// operand: a constant window of 2 keys (i1) becomes causal with window = 2;
// an additive causal constant on an op already causal leaves causal alone;
// the join of a window with run-time padding keeps the padding; a constant
// that is all "attend" goes; a band that is not causal stays.
// CHECK-LABEL: func @mask_operands
// CHECK-SAME: (%[[Q:.*]]: tensor<2x2x4x8xf32>, %[[K:.*]]: tensor<2x2x4x8xf32>, %[[V:.*]]: tensor<2x2x4x8xf32>, %[[PAD:.*]]: tensor<2x1x1x4xi1>)
// CHECK-DAG: %[[BAND:.*]] = llm.constant dense<{{\[\[}}true, true, false, false]
// CHECK: %[[A0:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] {causal = true, scale = 1.000000e+00 : f32, window = 2 : i64} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
// CHECK: %[[A1:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] {causal = true, scale = 1.000000e+00 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
// CHECK: %[[A2:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[PAD]] {causal = true, scale = 1.000000e+00 : f32, window = 2 : i64} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x1x4xi1>) -> tensor<2x2x4x8xf32>
// CHECK: %[[A3:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] {scale = 1.000000e+00 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
// CHECK: %[[A4:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[BAND]] {scale = 1.000000e+00 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<4x4xi1>) -> tensor<2x2x4x8xf32>
// CHECK: return %[[A0]], %[[A1]], %[[A2]], %[[A3]], %[[A4]]
func.func @mask_operands(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %pad: tensor<2x1x1x4xi1>) -> (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) {
  %window = llm.constant dense<[[[[true, false, false, false], [true, true, false, false], [false, true, true, false], [false, false, true, true]]]]> : tensor<1x1x4x4xi1>
  %a0 = llm.attention %q, %k, %v, %window {scale = 1.0 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<1x1x4x4xi1>) -> tensor<2x2x4x8xf32>
  %min = llm.constant dense<-3.40282347E+38> : tensor<4x4xf32>
  %future = llm.trilu %min {upper = true, diagonal = 1 : i64} : tensor<4x4xf32>
  %a1 = llm.attention %q, %k, %v, %future {causal = true, scale = 1.0 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<4x4xf32>) -> tensor<2x2x4x8xf32>
  %keep = llm.and %window, %pad : (tensor<1x1x4x4xi1>, tensor<2x1x1x4xi1>) -> tensor<2x1x4x4xi1>
  %a2 = llm.attention %q, %k, %v, %keep {scale = 1.0 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x4x4xi1>) -> tensor<2x2x4x8xf32>
  %all = llm.constant dense<true> : tensor<4xi1>
  %a3 = llm.attention %q, %k, %v, %all {scale = 1.0 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<4xi1>) -> tensor<2x2x4x8xf32>
  %band = llm.constant dense<[[true, true, false, false], [true, true, true, false], [false, true, true, true], [false, false, true, true]]> : tensor<4x4xi1>
  %a4 = llm.attention %q, %k, %v, %band {scale = 1.0 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<4x4xi1>) -> tensor<2x2x4x8xf32>
  return %a0, %a1, %a2, %a3, %a4 : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>
}

// -----

// Gemma 2's logit soft-capping: the scaled scores divided by the cap, tanh,
// times the cap, then the mask: softcap = 2 and the product's factor under
// the cap, 0.125, as the scale (2 * tanh(0.125 s / 2)). A tanh read twice,
// or a cap after the mask, stays.
// CHECK-LABEL: func @softcap
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x8xf32>, %[[K:.*]]: tensor<1x2x4x8xf32>, %[[V:.*]]: tensor<1x2x4x8xf32>, %[[M:.*]]: tensor<1x1x1x4xf32>)
// CHECK: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[M]] {scale = 1.250000e-01 : f32, softcap = 2.000000e+00 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x1x4xf32>) -> tensor<1x2x4x8xf32>
// CHECK: llm.tanh
// CHECK: llm.softmax
// CHECK: llm.tanh
// CHECK: llm.softmax
// CHECK-NOT: llm.attention
func.func @softcap(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %m: tensor<1x1x1x4xf32>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) {
  %eighth = llm.constant dense<0.125> : tensor<f32>
  %cap = llm.constant dense<2.0> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %scaled = llm.mul %s, %eighth : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %over = llm.div %scaled, %cap : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %t = llm.tanh %over : tensor<1x2x4x4xf32>
  %capped = llm.mul %t, %cap : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %a = llm.add %capped, %m : (tensor<1x2x4x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x2x4x4xf32>
  %p = llm.softmax %a {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %s1 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %t1 = llm.tanh %s1 : tensor<1x2x4x4xf32>
  %c1 = llm.mul %t1, %cap : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p1 = llm.softmax %c1 {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o1 = llm.matmul %p1, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %s2 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %a2 = llm.add %s2, %m : (tensor<1x2x4x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x2x4x4xf32>
  %t2 = llm.tanh %a2 : tensor<1x2x4x4xf32>
  %c2 = llm.mul %t2, %cap : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p2 = llm.softmax %c2 {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o2 = llm.matmul %p2, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o, %o2, %t1, %o1 : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>
}

// -----

// Attention sinks as Hugging Face's gpt-oss writes them: the masked scores
// concatenated with a column of each head's sink logit, the row maximum
// subtracted, softmax, the sink's column sliced off. The [H] logits become
// the attention's sink: under the column's reshape and expand, or read off
// the constant the expansion was folded into. A column whose values differ
// along the rows is no sink and stays.
// CHECK-LABEL: func @sinks
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x8xf32>, %[[K:.*]]: tensor<1x2x4x8xf32>, %[[V:.*]]: tensor<1x2x4x8xf32>, %[[M:.*]]: tensor<1x1x4x4xf32>, %[[S:.*]]: tensor<2xf32>)
// CHECK-DAG: %[[C:.*]] = llm.constant dense<[5.000000e-01, -1.000000e+00]> : tensor<2xf32>
// CHECK: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[M]] sink(%[[S]]) {scale = 1.250000e-01 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x4x4xf32>, tensor<2xf32>) -> tensor<1x2x4x8xf32>
// CHECK: %[[B:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] sink(%[[C]]) {causal = true, scale = 1.000000e+00 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<2xf32>) -> tensor<1x2x4x8xf32>
// CHECK: llm.softmax
// CHECK-NOT: llm.attention
func.func @sinks(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %m: tensor<1x1x4x4xf32>, %s: tensor<2xf32>) -> (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) {
  %eighth = llm.constant dense<0.125> : tensor<f32>
  %s0 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %scaled = llm.mul %s0, %eighth : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %a0 = llm.add %scaled, %m : (tensor<1x2x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32>
  %col = llm.reshape %s : (tensor<2xf32>) -> tensor<1x2x1x1xf32>
  %wide = llm.expand %col : (tensor<1x2x1x1xf32>) -> tensor<1x2x4x1xf32>
  %c0 = llm.concat %a0, %wide {axis = 3 : i64} : (tensor<1x2x4x4xf32>, tensor<1x2x4x1xf32>) -> tensor<1x2x4x5xf32>
  %mx = llm.reduce_max %c0 {axes = array<i64: 3>} : (tensor<1x2x4x5xf32>) -> tensor<1x2x4x1xf32>
  %d0 = llm.sub %c0, %mx : (tensor<1x2x4x5xf32>, tensor<1x2x4x1xf32>) -> tensor<1x2x4x5xf32>
  %p0 = llm.softmax %d0 {axis = 3 : i64} : tensor<1x2x4x5xf32>
  %w0 = llm.slice %p0 {starts = array<i64: 0, 0, 0, 0>, ends = array<i64: 1, 2, 4, 4>, steps = array<i64: 1, 1, 1, 1>} : (tensor<1x2x4x5xf32>) -> tensor<1x2x4x4xf32>
  %o0 = llm.matmul %w0, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %folded = llm.constant dense<[[[[0.5], [0.5], [0.5], [0.5]], [[-1.0], [-1.0], [-1.0], [-1.0]]]]> : tensor<1x2x4x1xf32>
  %ones = llm.constant dense<true> : tensor<4x4xi1>
  %causal = llm.trilu %ones {upper = false} : tensor<4x4xi1>
  %fill = llm.constant dense<0xFF800000> : tensor<f32>
  %s1 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %a1 = llm.where %causal, %s1, %fill : (tensor<4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %c1 = llm.concat %a1, %folded {axis = 3 : i64} : (tensor<1x2x4x4xf32>, tensor<1x2x4x1xf32>) -> tensor<1x2x4x5xf32>
  %p1 = llm.softmax %c1 {axis = 3 : i64} : tensor<1x2x4x5xf32>
  %w1 = llm.slice %p1 {starts = array<i64: 0, 0, 0, 0>, ends = array<i64: 1, 2, 4, 4>, steps = array<i64: 1, 1, 1, 1>} : (tensor<1x2x4x5xf32>) -> tensor<1x2x4x4xf32>
  %o1 = llm.matmul %w1, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  %rows = llm.constant dense<[[[[0.5], [0.25], [0.5], [0.5]], [[-1.0], [-1.0], [-1.0], [-1.0]]]]> : tensor<1x2x4x1xf32>
  %s2 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %c2 = llm.concat %s2, %rows {axis = 3 : i64} : (tensor<1x2x4x4xf32>, tensor<1x2x4x1xf32>) -> tensor<1x2x4x5xf32>
  %p2 = llm.softmax %c2 {axis = 3 : i64} : tensor<1x2x4x5xf32>
  %w2 = llm.slice %p2 {starts = array<i64: 0, 0, 0, 0>, ends = array<i64: 1, 2, 4, 4>, steps = array<i64: 1, 1, 1, 1>} : (tensor<1x2x4x5xf32>) -> tensor<1x2x4x4xf32>
  %o2 = llm.matmul %w2, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o0, %o1, %o2 : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>
}

// -----

// The same where(not(padding and causal), finfo.min, zeros) in bf16: the
// zeros blob of 16-bit floats is read at compile time too.
// CHECK-LABEL: func @bf16_zeros_blob
// CHECK: llm.attention {{.*}} {causal = true, scale = 1.000000e+00 : f32} : ({{.*}}, tensor<2x1x1x4xbf16>) -> tensor<2x2x4x8xbf16>
func.func @bf16_zeros_blob(%q: tensor<2x2x4x8xbf16>, %k: tensor<2x2x4x8xbf16>, %v: tensor<2x2x4x8xbf16>, %pad: tensor<2x1x1x4xi1>) -> tensor<2x2x4x8xbf16> {
  %ones = llm.constant dense<true> : tensor<1x1x4x4xi1>
  %causal = llm.trilu %ones {upper = false} : tensor<1x1x4x4xi1>
  %keep = llm.and %pad, %causal : (tensor<2x1x1x4xi1>, tensor<1x1x4x4xi1>) -> tensor<2x1x4x4xi1>
  %hide = llm.not %keep : tensor<2x1x4x4xi1>
  %fill = llm.constant dense<-3.38953139E+38> : tensor<bf16>
  %zeros = llm.constant dense_resource<zeros16> : tensor<2x1x4x4xbf16>
  %m = llm.where %hide, %fill, %zeros : (tensor<2x1x4x4xi1>, tensor<bf16>, tensor<2x1x4x4xbf16>) -> tensor<2x1x4x4xbf16>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xbf16>, tensor<2x2x4x8xbf16>) -> tensor<2x2x4x4xbf16>
  %a = llm.add %s, %m : (tensor<2x2x4x4xbf16>, tensor<2x1x4x4xbf16>) -> tensor<2x2x4x4xbf16>
  %p = llm.softmax %a {axis = 3 : i64} : tensor<2x2x4x4xbf16>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xbf16>, tensor<2x2x4x8xbf16>) -> tensor<2x2x4x8xbf16>
  return %o : tensor<2x2x4x8xbf16>
}

{-#
  dialect_resources: {
    builtin: {
      zeros16: "0x0200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    }
  }
#-}

// -----

// Joins the causal split leaves whole: a band around the diagonal (not
// the causal rule, with or without a window) and the padding; an or of keys
// that attend (it lets more through, not less); a fill that is not large
// negative.
// CHECK-LABEL: func @joins_kept
// CHECK: llm.attention {{.*}} {scale = 1.000000e+00 : f32} : ({{.*}}, tensor<2x1x4x4xi1>)
// CHECK: llm.attention {{.*}} {scale = 1.000000e+00 : f32} : ({{.*}}, tensor<2x1x4x4xi1>)
// CHECK: llm.attention {{.*}} {scale = 1.000000e+00 : f32} : ({{.*}}, tensor<2x1x4x4xf32>)
// CHECK-NOT: causal
func.func @joins_kept(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %pad: tensor<2x1x1x4xi1>) -> (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) {
  %window = llm.constant dense<[[true, true, false, false], [true, true, true, false], [false, true, true, true], [false, false, true, true]]> : tensor<4x4xi1>
  %ones = llm.constant dense<true> : tensor<4x4xi1>
  %causal = llm.trilu %ones {upper = false} : tensor<4x4xi1>
  %fill = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %keep0 = llm.and %window, %pad : (tensor<4x4xi1>, tensor<2x1x1x4xi1>) -> tensor<2x1x4x4xi1>
  %s0 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %m0 = llm.where %keep0, %s0, %fill : (tensor<2x1x4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %p0 = llm.softmax %m0 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o0 = llm.matmul %p0, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  %keep1 = llm.or %causal, %pad : (tensor<4x4xi1>, tensor<2x1x1x4xi1>) -> tensor<2x1x4x4xi1>
  %s1 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %m1 = llm.where %keep1, %s1, %fill : (tensor<2x1x4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %p1 = llm.softmax %m1 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o1 = llm.matmul %p1, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  %keep2 = llm.and %causal, %pad : (tensor<4x4xi1>, tensor<2x1x1x4xi1>) -> tensor<2x1x4x4xi1>
  %zero = llm.constant dense<0.0> : tensor<f32>
  %minus = llm.constant dense<-1.0> : tensor<f32>
  %m2 = llm.where %keep2, %zero, %minus : (tensor<2x1x4x4xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x4x4xf32>
  %s2 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a2 = llm.add %s2, %m2 : (tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p2 = llm.softmax %a2 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o2 = llm.matmul %p2, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o0, %o1, %o2 : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>
}

// -----

// BLOOM: baddbmm over heads merged into the batch (ALiBi [B*H, 1, S] added
// before the split), the boolean mask future | padded on the split batch,
// the softmax there too and merged after. The heads are lifted (ALiBi
// reshaped to [B, H, 1, S]), the mask's future part is the causal flag and
// ALiBi with the padding is one additive [B, H, 1, S] mask.
// CHECK-LABEL: func @merged_heads_alibi
// CHECK-SAME: (%[[Q:.*]]: tensor<4x3x8xf32>, %[[K:.*]]: tensor<4x8x3xf32>, %[[V:.*]]: tensor<4x3x8xf32>, %[[ALIBI:.*]]: tensor<4x1x3xf32>, %[[PAD:.*]]: tensor<2x1x1x3xi1>)
// CHECK-DAG: %[[MIN:.*]] = llm.constant dense<-3.40282347E+38> : tensor<f32>
// CHECK-DAG: %[[B:.*]] = llm.reshape %[[ALIBI]] : (tensor<4x1x3xf32>) -> tensor<2x2x1x3xf32>
// CHECK: %[[MASK:.*]] = llm.where %[[PAD]], %[[MIN]], %[[B]] : (tensor<2x1x1x3xi1>, tensor<f32>, tensor<2x2x1x3xf32>) -> tensor<2x2x1x3xf32>
// CHECK: %[[A:.*]] = llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[MASK]] {causal = true, scale = 2.500000e-01 : f32} : (tensor<2x2x3x8xf32>, tensor<2x2x3x8xf32>, tensor<2x2x3x8xf32>, tensor<2x2x1x3xf32>) -> tensor<2x2x3x8xf32>
// CHECK: llm.reshape %[[A]] : (tensor<2x2x3x8xf32>) -> tensor<4x3x8xf32>
// CHECK-NOT: llm.softmax
func.func @merged_heads_alibi(%q: tensor<4x3x8xf32>, %k: tensor<4x8x3xf32>, %v: tensor<4x3x8xf32>, %alibi: tensor<4x1x3xf32>, %pad: tensor<2x1x1x3xi1>) -> tensor<4x3x8xf32> {
  %ones = llm.constant dense<true> : tensor<3x3xi1>
  %future = llm.trilu %ones {upper = true, diagonal = 1 : i64} : tensor<3x3xi1>
  %hide = llm.or %future, %pad : (tensor<3x3xi1>, tensor<2x1x1x3xi1>) -> tensor<2x1x3x3xi1>
  %c = llm.constant dense<0.25> : tensor<f32>
  %min = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %s = llm.matmul %q, %k : (tensor<4x3x8xf32>, tensor<4x8x3xf32>) -> tensor<4x3x3xf32>
  %scaled = llm.mul %s, %c : (tensor<4x3x3xf32>, tensor<f32>) -> tensor<4x3x3xf32>
  %biased = llm.add %scaled, %alibi : (tensor<4x3x3xf32>, tensor<4x1x3xf32>) -> tensor<4x3x3xf32>
  %split = llm.reshape %biased : (tensor<4x3x3xf32>) -> tensor<2x2x3x3xf32>
  %masked = llm.where %hide, %min, %split : (tensor<2x1x3x3xi1>, tensor<f32>, tensor<2x2x3x3xf32>) -> tensor<2x2x3x3xf32>
  %p = llm.softmax %masked {axis = 3 : i64} : tensor<2x2x3x3xf32>
  %merged = llm.reshape %p : (tensor<2x2x3x3xf32>) -> tensor<4x3x3xf32>
  %o = llm.matmul %merged, %v : (tensor<4x3x3xf32>, tensor<4x3x8xf32>) -> tensor<4x3x8xf32>
  return %o : tensor<4x3x8xf32>
}

// -----

// GPT-2 as Hugging Face writes it with a padding mask: the causal buffer by
// where, then the padding added. The buffer is the causal flag; the
// padding alone is the mask.
// CHECK-LABEL: func @padding_over_causal_where
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x8xf32>, %[[K:.*]]: tensor<1x2x4x8xf32>, %[[V:.*]]: tensor<1x2x4x8xf32>, %[[PAD:.*]]: tensor<1x1x1x4xf32>)
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[PAD]] {causal = true, scale = 1.000000e+00 : f32}
// CHECK-NEXT: return %[[A]]
func.func @padding_over_causal_where(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %pad: tensor<1x1x1x4xf32>) -> tensor<1x2x4x8xf32> {
  %ones = llm.constant dense<true> : tensor<4x4xi1>
  %causal = llm.trilu %ones {upper = false} : tensor<4x4xi1>
  %min = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %w = llm.where %causal, %s, %min : (tensor<4x4xi1>, tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %a = llm.add %w, %pad : (tensor<1x2x4x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x2x4x4xf32>
  %p = llm.softmax %a {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// Two run-time masks whose join is larger than either (a [1, 2, 1, 4]
// bias and a [1, 1, 4, 4] condition make [1, 2, 4, 4]) join all the same:
// the op reads the joined mask once where the unfused chain writes and
// reads scores of its size several times.
// CHECK-LABEL: func @masks_that_would_grow
// CHECK-SAME: %[[BIAS:[^ ]*]]: tensor<1x2x1x4xf32>, %[[HIDE:[^ ]*]]: tensor<1x1x4x4xi1>)
// CHECK: %[[MASK:.*]] = llm.where %[[HIDE]], %{{.*}}, %[[BIAS]] : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<1x2x1x4xf32>) -> tensor<1x2x4x4xf32>
// CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[MASK]] {scale = 1.000000e+00 : f32}
// CHECK-NOT: llm.softmax
func.func @masks_that_would_grow(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %bias: tensor<1x2x1x4xf32>, %hide: tensor<1x1x4x4xi1>) -> tensor<1x2x4x8xf32> {
  %min = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %a = llm.add %s, %bias : (tensor<1x2x4x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x4x4xf32>
  %w = llm.where %hide, %min, %a : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %p = llm.softmax %w {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// A join that stays one row per query row grows nothing that matters: an
// ALiBi bias [1, H, 1, S] (MPT's, broadcast over the batch) and the
// padding's condition [B, 1, 1, S] make a [B, H, 1, S] mask.
// CHECK-LABEL: func @masks_joined_as_a_row
// CHECK-SAME: %[[BIAS:[^ ]*]]: tensor<1x2x1x4xf32>, %[[HIDE:[^ ]*]]: tensor<2x1x1x4xi1>)
// CHECK: %[[MASK:.*]] = llm.where %[[HIDE]], %{{.*}}, %[[BIAS]] : (tensor<2x1x1x4xi1>, tensor<f32>, tensor<1x2x1x4xf32>) -> tensor<2x2x1x4xf32>
// CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[MASK]] {scale = 1.000000e+00 : f32} : ({{.*}}, tensor<2x2x1x4xf32>) -> tensor<2x2x4x8xf32>
func.func @masks_joined_as_a_row(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %bias: tensor<1x2x1x4xf32>, %hide: tensor<2x1x1x4xi1>) -> tensor<2x2x4x8xf32> {
  %min = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a = llm.add %s, %bias : (tensor<2x2x4x4xf32>, tensor<1x2x1x4xf32>) -> tensor<2x2x4x4xf32>
  %w = llm.where %hide, %min, %a : (tensor<2x1x1x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %w {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// -----

// Scales that are constant expressions, not constants: Hugging Face's GPT-2
// divides by torch.full([], v.size(-1) ** 0.5), exported as pow(16, 0.5) + 0;
// a dynamic export casts the head size from the shape and takes its sqrt.
// CHECK-LABEL: func @computed_scale
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x16xf32>, %[[K:.*]]: tensor<1x2x4x16xf32>, %[[V:.*]]: tensor<1x2x4x16xf32>)
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] {scale = 2.500000e-01 : f32}
// CHECK-NEXT: %[[B:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] {scale = 2.500000e-01 : f32}
// CHECK-NEXT: return %[[A]], %[[B]]
func.func @computed_scale(%q: tensor<1x2x4x16xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x2x4x16xf32>) -> (tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>) {
  %sixteen = llm.constant dense<16.0> : tensor<f32>
  %half = llm.constant dense<0.5> : tensor<f32>
  %zero = llm.constant dense<0.0> : tensor<f32>
  %root = llm.pow %sixteen, %half : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %full = llm.add %root, %zero : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %s0 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x4x4xf32>
  %d0 = llm.div %s0, %full : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p0 = llm.softmax %d0 {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o0 = llm.matmul %p0, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x4x16xf32>
  %size = llm.constant dense<16> : tensor<1xi64>
  %sizef = llm.cast %size : (tensor<1xi64>) -> tensor<1xf32>
  %sqrt = llm.sqrt %sizef : tensor<1xf32>
  %inv = llm.reciprocal %sqrt : tensor<1xf32>
  %s1 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x4x4xf32>
  %m1 = llm.mul %s1, %inv : (tensor<1x2x4x4xf32>, tensor<1xf32>) -> tensor<1x2x4x4xf32>
  %p1 = llm.softmax %m1 {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o1 = llm.matmul %p1, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x4x16xf32>
  return %o0, %o1 : tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>
}

// -----

// GPT-J and CodeGen: the causal where, then the scale, then the padding
// added.
// CHECK-LABEL: func @scaled_where_then_padding
// CHECK-SAME: (%[[Q:.*]]: tensor<2x2x4x8xf32>, %[[K:.*]]: tensor<2x2x4x8xf32>, %[[V:.*]]: tensor<2x2x4x8xf32>, %[[PAD:.*]]: tensor<2x1x1x4xf32>)
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[PAD]] {causal = true, scale = 0.353553385 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x8xf32>
// CHECK-NEXT: return %[[A]]
func.func @scaled_where_then_padding(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %pad: tensor<2x1x1x4xf32>) -> tensor<2x2x4x8xf32> {
  %ones = llm.constant dense<true> : tensor<1x1x4x4xi1>
  %causal = llm.trilu %ones {upper = false} : tensor<1x1x4x4xi1>
  %low = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %w = llm.where %causal, %s, %low : (tensor<1x1x4x4xi1>, tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %root = llm.constant dense<2.828427> : tensor<f32>
  %d = llm.div %w, %root : (tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %a = llm.add %d, %pad : (tensor<2x2x4x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %a {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// -----

// Hugging Face's masks as [B, 1, T, S] tensors: the causal buffer with the
// padded keys filled in (AttentionMaskConverter: where(padding, min,
// causal)), and _update_causal_mask's fill of the keys that are both
// visible and padded (where(eq(causal, 0) and padding, min, causal)). Both
// become causal with the padding as one row per batch.
// CHECK-LABEL: func @masked_fill_causal
// CHECK-SAME: (%[[Q:.*]]: tensor<2x2x4x8xf32>, %[[K:.*]]: tensor<2x2x4x8xf32>, %[[V:.*]]: tensor<2x2x4x8xf32>, %[[IDS:.*]]: tensor<2x4xi64>)
// CHECK-DAG: %[[TRUE:.*]] = llm.constant dense<true> : tensor<i1>
// CHECK-DAG: %[[MIN:.*]] = llm.constant dense<-3.40282347E+38> : tensor<f32>
// CHECK-DAG: %[[ZERO:.*]] = llm.constant dense<0.000000e+00> : tensor<f32>
// CHECK: %[[ROW:.*]] = llm.reshape %[[IDS]] : (tensor<2x4xi64>) -> tensor<2x1x1x4xi64>
// CHECK: %[[PADDED:.*]] = llm.cast %{{.*}} : (tensor<2x1x1x4xf32>) -> tensor<2x1x1x4xi1>
// CHECK-NEXT: %[[M0:.*]] = llm.where %[[PADDED]], %[[MIN]], %[[ZERO]] : (tensor<2x1x1x4xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x1x4xf32>
// CHECK-NEXT: llm.attention %[[Q]], %[[K]], %[[V]], %[[M0]] {causal = true, scale = 1.000000e+00 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x8xf32>
// CHECK: %[[PAD:.*]] = llm.equal %{{.*}}, %[[ZERO]] : (tensor<2x1x1x4xf32>, tensor<f32>) -> tensor<2x1x1x4xi1>
// CHECK-NEXT: %[[BOTH:.*]] = llm.and %[[PAD]], %[[TRUE]] : (tensor<2x1x1x4xi1>, tensor<i1>) -> tensor<2x1x1x4xi1>
// CHECK-NEXT: %[[M1:.*]] = llm.where %[[BOTH]], %[[MIN]], %[[ZERO]] : (tensor<2x1x1x4xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x1x4xf32>
// CHECK-NEXT: llm.attention %[[Q]], %[[K]], %[[V]], %[[M1]] {causal = true, scale = 1.000000e+00 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x8xf32>
// CHECK-NOT: llm.softmax
func.func @masked_fill_causal(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %ids: tensor<2x4xi64>) -> (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) {
  %min = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %zero = llm.constant dense<0.0> : tensor<f32>
  %one = llm.constant dense<1.0> : tensor<f32>
  %full = llm.constant dense<-3.40282347E+38> : tensor<4x4xf32>
  %future = llm.trilu %full {upper = true, diagonal = 1 : i64} : tensor<4x4xf32>
  %c4 = llm.reshape %future : (tensor<4x4xf32>) -> tensor<1x1x4x4xf32>
  %causal = llm.expand %c4 : (tensor<1x1x4x4xf32>) -> tensor<2x1x4x4xf32>
  %row = llm.reshape %ids : (tensor<2x4xi64>) -> tensor<2x1x1x4xi64>
  %rows = llm.expand %row : (tensor<2x1x1x4xi64>) -> tensor<2x1x4x4xi64>
  %rowsf = llm.cast %rows : (tensor<2x1x4x4xi64>) -> tensor<2x1x4x4xf32>
  %inverted = llm.sub %one, %rowsf : (tensor<f32>, tensor<2x1x4x4xf32>) -> tensor<2x1x4x4xf32>
  %padded = llm.cast %inverted : (tensor<2x1x4x4xf32>) -> tensor<2x1x4x4xi1>
  %m0 = llm.where %padded, %min, %causal : (tensor<2x1x4x4xi1>, tensor<f32>, tensor<2x1x4x4xf32>) -> tensor<2x1x4x4xf32>
  %s0 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a0 = llm.add %s0, %m0 : (tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p0 = llm.softmax %a0 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o0 = llm.matmul %p0, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  %visible = llm.equal %causal, %zero : (tensor<2x1x4x4xf32>, tensor<f32>) -> tensor<2x1x4x4xi1>
  %idsf = llm.cast %row : (tensor<2x1x1x4xi64>) -> tensor<2x1x1x4xf32>
  %pad = llm.equal %idsf, %zero : (tensor<2x1x1x4xf32>, tensor<f32>) -> tensor<2x1x1x4xi1>
  %both = llm.and %visible, %pad : (tensor<2x1x4x4xi1>, tensor<2x1x1x4xi1>) -> tensor<2x1x4x4xi1>
  %m1 = llm.where %both, %min, %causal : (tensor<2x1x4x4xi1>, tensor<f32>, tensor<2x1x4x4xf32>) -> tensor<2x1x4x4xf32>
  %s1 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a1 = llm.add %s1, %m1 : (tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p1 = llm.softmax %a1 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o1 = llm.matmul %p1, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o0, %o1 : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>
}

// -----

// Mask operands with one row repeated: a padding row expanded over the
// queries is read as the row; under causal, a constant that is the same on
// every visible key becomes a scalar. Left alone: rows that differ (a
// column expanded over the keys), and a constant that differs on visible
// keys of a causal op.
// CHECK-LABEL: func @row_masks
// CHECK-SAME: (%[[Q:.*]]: tensor<2x2x4x8xf32>, %[[K:.*]]: tensor<2x2x4x8xf32>, %[[V:.*]]: tensor<2x2x4x8xf32>, %[[PAD:.*]]: tensor<2x1x1x4xf32>, %[[COL:.*]]: tensor<2x1x4x1xf32>)
// CHECK-DAG: %[[TWO:.*]] = llm.constant dense<2.000000e+00> : tensor<f32>
// CHECK-DAG: %[[LOWER:.*]] = llm.constant dense<{{\[\[}}2.000000e+00, 9.000000e+00
// CHECK-DAG: %[[ROWS:.*]] = llm.expand %[[PAD]]
// CHECK: %[[A0:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[PAD]] {scale = 1.000000e+00 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x8xf32>
// CHECK: %[[SUM:.*]] = llm.add %[[ROWS]], %[[LOWER]] : (tensor<2x1x4x4xf32>, tensor<4x4xf32>) -> tensor<2x1x4x4xf32>
// CHECK: %[[ROW:.*]] = llm.add %[[PAD]], %[[TWO]] : (tensor<2x1x1x4xf32>, tensor<f32>) -> tensor<2x1x1x4xf32>
// CHECK-NEXT: %[[A1:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[ROW]] {causal = true, scale = 1.000000e+00 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x8xf32>
// CHECK-NEXT: %[[COLS:.*]] = llm.expand %[[COL]]
// CHECK-NEXT: %[[A2:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[COLS]] {scale = 1.000000e+00 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x8xf32>
// CHECK-NEXT: %[[A3:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[SUM]] {scale = 1.000000e+00 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x8xf32>
// CHECK-NEXT: return %[[A0]], %[[A1]], %[[A2]], %[[A3]]
func.func @row_masks(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %pad: tensor<2x1x1x4xf32>, %col: tensor<2x1x4x1xf32>) -> (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) {
  %rows = llm.expand %pad : (tensor<2x1x1x4xf32>) -> tensor<2x1x4x4xf32>
  %a0 = llm.attention %q, %k, %v, %rows {scale = 1.0 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x8xf32>
  %lower = llm.constant dense<[[2.0, 9.0, 9.0, 9.0], [2.0, 2.0, 9.0, 9.0], [2.0, 2.0, 2.0, 9.0], [2.0, 2.0, 2.0, 2.0]]> : tensor<4x4xf32>
  %sum = llm.add %rows, %lower : (tensor<2x1x4x4xf32>, tensor<4x4xf32>) -> tensor<2x1x4x4xf32>
  %a1 = llm.attention %q, %k, %v, %sum {causal = true, scale = 1.0 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x8xf32>
  %cols = llm.expand %col : (tensor<2x1x4x1xf32>) -> tensor<2x1x4x4xf32>
  %a2 = llm.attention %q, %k, %v, %cols {scale = 1.0 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x8xf32>
  %a3 = llm.attention %q, %k, %v, %sum {scale = 1.0 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x8xf32>
  return %a0, %a1, %a2, %a3 : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>
}

// -----

// T5's decoder mask: the position bias plus (1 - causal * attention_mask)
// * finfo.min, the product in int64. The causal part splits off through the
// sum, the scale of (1 - a), the cast and the product; the bias stays with
// the padding's part. Left alone: a product whose constant side is not 0 or
// 1 (2 * padding on the visible keys is not the padding).
// CHECK-LABEL: func @position_bias_and_causal
// CHECK-SAME: (%[[Q:.*]]: tensor<2x2x4x8xf32>, %[[K:.*]]: tensor<2x2x4x8xf32>, %[[V:.*]]: tensor<2x2x4x8xf32>, %[[BIAS:.*]]: tensor<1x2x4x4xf32>, %[[IDS:.*]]: tensor<2x1x1x4xi64>)
// CHECK-DAG: %[[ONE:.*]] = llm.constant dense<1.000000e+00> : tensor<f32>
// CHECK-DAG: %[[MIN:.*]] = llm.constant dense<-3.40282347E+38> : tensor<f32>
// CHECK: %[[PADF:.*]] = llm.cast %[[IDS]] : (tensor<2x1x1x4xi64>) -> tensor<2x1x1x4xf32>
// CHECK-NEXT: %[[INV:.*]] = llm.sub %[[ONE]], %[[PADF]] : (tensor<f32>, tensor<2x1x1x4xf32>) -> tensor<2x1x1x4xf32>
// CHECK-NEXT: %[[EXT:.*]] = llm.mul %[[INV]], %[[MIN]] : (tensor<2x1x1x4xf32>, tensor<f32>) -> tensor<2x1x1x4xf32>
// CHECK-NEXT: %[[MASK:.*]] = llm.add %[[BIAS]], %[[EXT]] : (tensor<1x2x4x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x4xf32>
// CHECK-NEXT: llm.attention %[[Q]], %[[K]], %[[V]], %[[MASK]] {causal = true, scale = 1.000000e+00 : f32}
// CHECK: llm.attention %[[Q]], %[[K]], %[[V]], %{{.*}} {scale = 1.000000e+00 : f32} : ({{.*}}, tensor<2x1x4x4xf32>)
func.func @position_bias_and_causal(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %bias: tensor<1x2x4x4xf32>, %ids: tensor<2x1x1x4xi64>) -> (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) {
  %lower = llm.constant dense<[[[[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]]]]> : tensor<1x1x4x4xi64>
  %one = llm.constant dense<1.0> : tensor<f32>
  %min = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %both = llm.mul %ids, %lower : (tensor<2x1x1x4xi64>, tensor<1x1x4x4xi64>) -> tensor<2x1x4x4xi64>
  %bothf = llm.cast %both : (tensor<2x1x4x4xi64>) -> tensor<2x1x4x4xf32>
  %inverse = llm.sub %one, %bothf : (tensor<f32>, tensor<2x1x4x4xf32>) -> tensor<2x1x4x4xf32>
  %ext = llm.mul %inverse, %min : (tensor<2x1x4x4xf32>, tensor<f32>) -> tensor<2x1x4x4xf32>
  %mask = llm.add %bias, %ext : (tensor<1x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %s0 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a0 = llm.add %s0, %mask : (tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p0 = llm.softmax %a0 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o0 = llm.matmul %p0, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  %twice = llm.constant dense<[[[[2, 0, 0, 0], [2, 2, 0, 0], [2, 2, 2, 0], [2, 2, 2, 2]]]]> : tensor<1x1x4x4xi64>
  %both2 = llm.mul %ids, %twice : (tensor<2x1x1x4xi64>, tensor<1x1x4x4xi64>) -> tensor<2x1x4x4xi64>
  %both2f = llm.cast %both2 : (tensor<2x1x4x4xi64>) -> tensor<2x1x4x4xf32>
  %inverse2 = llm.sub %one, %both2f : (tensor<f32>, tensor<2x1x4x4xf32>) -> tensor<2x1x4x4xf32>
  %ext2 = llm.mul %inverse2, %min : (tensor<2x1x4x4xf32>, tensor<f32>) -> tensor<2x1x4x4xf32>
  %s1 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a1 = llm.add %s1, %ext2 : (tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p1 = llm.softmax %a1 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o1 = llm.matmul %p1, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o0, %o1 : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>
}

// REMARK: remark: llm-fuse-attention: fused-attentions 2, causal-masks 0, row-masks 2
// REMARK: remark: llm-fuse-attention: fused-attentions 0, causal-masks 0, row-masks 2

// -----

// scaled_dot_product_attention with a bool mask as torch.onnx.export(dynamo)
// writes it (onnxscript's torchlib): where(m, 0, -inf) added to the
// product of the scaled q and k^T, and the softmax guarded by where(isnan(w),
// 0, w) (isnan imported as not(equal(w, w))). llm.attention gives zeros on a
// row that hides every key, as the guard does: the guard fuses with the
// softmax. Left alone: a guard that fills 1 (not what the attention gives),
// and a guarded softmax that something else reads.
// CHECK-LABEL: func @nan_guard
// CHECK-SAME: (%[[Q:.*]]: tensor<2x2x4x8xf32>, %[[K:.*]]: tensor<2x2x4x8xf32>, %[[V:.*]]: tensor<2x2x4x8xf32>, %[[M:.*]]: tensor<2x1x4x4xi1>)
// CHECK: %[[ADD:.*]] = llm.where %[[M]]
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]], %[[ADD]] {scale = 2.500000e-01 : f32} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x8xf32>
// CHECK-NOT: llm.attention
// CHECK: %[[P1:.*]] = llm.softmax
// CHECK: llm.where %{{.*}}, %{{.*}}, %[[P1]]
// CHECK: %[[P2:.*]] = llm.softmax
// CHECK: llm.where %{{.*}}, %{{.*}}, %[[P2]]
// CHECK: return %[[A]]
func.func @nan_guard(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %m: tensor<2x1x4x4xi1>) -> (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x4xf32>) {
  %root = llm.constant dense<0.5> : tensor<f32>
  %zero = llm.constant dense<0.0> : tensor<f32>
  %one = llm.constant dense<1.0> : tensor<f32>
  %inf = llm.constant dense<0xFF800000> : tensor<f32>
  %kt = llm.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : (tensor<2x2x4x8xf32>) -> tensor<2x2x8x4xf32>
  %qs = llm.mul %q, %root : (tensor<2x2x4x8xf32>, tensor<f32>) -> tensor<2x2x4x8xf32>
  %ks = llm.mul %kt, %root : (tensor<2x2x8x4xf32>, tensor<f32>) -> tensor<2x2x8x4xf32>
  %add = llm.where %m, %zero, %inf : (tensor<2x1x4x4xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x4x4xf32>
  %s0 = llm.matmul %qs, %ks : (tensor<2x2x4x8xf32>, tensor<2x2x8x4xf32>) -> tensor<2x2x4x4xf32>
  %a0 = llm.add %s0, %add : (tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p0 = llm.softmax %a0 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %e0 = llm.equal %p0, %p0 : (tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xi1>
  %n0 = llm.not %e0 : tensor<2x2x4x4xi1>
  %w0 = llm.where %n0, %zero, %p0 : (tensor<2x2x4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %o0 = llm.matmul %w0, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  %s1 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a1 = llm.add %s1, %add : (tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p1 = llm.softmax %a1 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %e1 = llm.equal %p1, %p1 : (tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xi1>
  %n1 = llm.not %e1 : tensor<2x2x4x4xi1>
  %w1 = llm.where %n1, %one, %p1 : (tensor<2x2x4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %o1 = llm.matmul %w1, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  %s2 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a2 = llm.add %s2, %add : (tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p2 = llm.softmax %a2 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %e2 = llm.equal %p2, %p2 : (tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xi1>
  %n2 = llm.not %e2 : tensor<2x2x4x4xi1>
  %w2 = llm.where %n2, %zero, %p2 : (tensor<2x2x4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %o2 = llm.matmul %w2, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o0, %o1, %o2, %p2 : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x4xf32>
}

// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0

// -----

// Falcon's ALiBi path: ALiBi added to the product, the sum scaled, then the
// mask added. (s + b) * k + m is s * k + (b * k + m): the scale moves to
// the attention and b * k joins the mask, after the causal part split off
// (here 4.36's where(pad, min, causal buffer)), then the rows narrowed.
// Without a mask, b * k is the mask. A run-time [B, 1, T, S] mask joins
// with b * k into a [B, H, T, S] one.
// CHECK-LABEL: func @scaled_alibi
// CHECK-SAME: (%[[Q:.*]]: tensor<2x2x4x8xf32>, %[[K:.*]]: tensor<2x2x4x8xf32>, %[[V:.*]]: tensor<2x2x4x8xf32>, %[[B:.*]]: tensor<2x2x1x4xf32>, %[[PAD:.*]]: tensor<2x1x1x4xi1>, %[[M:.*]]: tensor<2x1x4x4xf32>)
// CHECK-DAG: %[[INV:.*]] = llm.constant dense<2.500000e-01> : tensor<f32>
// CHECK-DAG: %[[MIN:.*]] = llm.constant dense<-3.40282347E+38> : tensor<f32>
// CHECK-DAG: %[[ZERO:.*]] = llm.constant dense<0.000000e+00> : tensor<f32>
// CHECK: %[[BK:.*]] = llm.mul %[[B]], %[[INV]] : (tensor<2x2x1x4xf32>, tensor<f32>) -> tensor<2x2x1x4xf32>
// CHECK-NEXT: llm.attention %[[Q]], %[[K]], %[[V]], %[[BK]] {scale = 2.500000e-01 : f32}
// CHECK-DAG: %[[ROW:.*]] = llm.where %[[PAD]], %[[MIN]], %[[ZERO]] : (tensor<2x1x1x4xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x1x4xf32>
// CHECK-DAG: %[[BK2:.*]] = llm.mul %[[B]], %[[INV]]
// CHECK: %[[J:.*]] = llm.add %[[ROW]], %[[BK2]] : (tensor<2x1x1x4xf32>, tensor<2x2x1x4xf32>) -> tensor<2x2x1x4xf32>
// CHECK-NEXT: llm.attention %[[Q]], %[[K]], %[[V]], %[[J]] {causal = true, scale = 2.500000e-01 : f32} : ({{.*}}, tensor<2x2x1x4xf32>)
// CHECK: %[[BK3:.*]] = llm.mul %[[B]], %[[INV]]
// CHECK-NEXT: %[[J3:.*]] = llm.add %[[M]], %[[BK3]] : (tensor<2x1x4x4xf32>, tensor<2x2x1x4xf32>) -> tensor<2x2x4x4xf32>
// CHECK-NEXT: llm.attention %[[Q]], %[[K]], %[[V]], %[[J3]] {scale = 2.500000e-01 : f32}
// CHECK-NOT: llm.softmax
func.func @scaled_alibi(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %b: tensor<2x2x1x4xf32>, %pad: tensor<2x1x1x4xi1>, %m: tensor<2x1x4x4xf32>) -> (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) {
  %inv = llm.constant dense<0.25> : tensor<f32>
  %s0 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a0 = llm.add %s0, %b : (tensor<2x2x4x4xf32>, tensor<2x2x1x4xf32>) -> tensor<2x2x4x4xf32>
  %k0 = llm.mul %a0, %inv : (tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %p0 = llm.softmax %k0 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o0 = llm.matmul %p0, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  %buffer = llm.constant dense<[[[[0.0, -3.40282347E+38, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0, 0.0]]]]> : tensor<1x1x4x4xf32>
  %min = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %wide = llm.expand %pad : (tensor<2x1x1x4xi1>) -> tensor<2x1x4x4xi1>
  %mask = llm.where %wide, %min, %buffer : (tensor<2x1x4x4xi1>, tensor<f32>, tensor<1x1x4x4xf32>) -> tensor<2x1x4x4xf32>
  %s1 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a1 = llm.add %s1, %b : (tensor<2x2x4x4xf32>, tensor<2x2x1x4xf32>) -> tensor<2x2x4x4xf32>
  %k1 = llm.mul %a1, %inv : (tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %m1 = llm.add %k1, %mask : (tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p1 = llm.softmax %m1 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o1 = llm.matmul %p1, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  %s2 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a2 = llm.add %s2, %b : (tensor<2x2x4x4xf32>, tensor<2x2x1x4xf32>) -> tensor<2x2x4x4xf32>
  %k2 = llm.mul %a2, %inv : (tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %m2 = llm.add %k2, %m : (tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p2 = llm.softmax %m2 {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o2 = llm.matmul %p2, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o0, %o1, %o2 : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>
}

// REMARK: remark: llm-fuse-attention: fused-attentions 3, causal-masks 0, row-masks 1

// -----

// Falcon's mask: the bool m (true where hidden, the padding or'ed with the
// future keys) as (m * 1.0).masked_fill(m, -1e9), a where whose other
// branch is the cast condition, 0 wherever it is taken. The causal part
// splits off.
// CHECK-LABEL: func @falcon_mask
// CHECK-SAME: (%[[Q:.*]]: tensor<2x2x4x8xf32>, %[[K:.*]]: tensor<2x2x4x8xf32>, %[[V:.*]]: tensor<2x2x4x8xf32>, %[[PAD:.*]]: tensor<2x1x1x4xi1>)
// CHECK: llm.attention %[[Q]], %[[K]], %[[V]], %{{.*}} {causal = true, scale = 2.500000e-01 : f32} : ({{.*}}, tensor<2x1x1x4xf32>)
func.func @falcon_mask(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %pad: tensor<2x1x1x4xi1>) -> tensor<2x2x4x8xf32> {
  %future = llm.constant dense<[[[[false, true, true, true], [false, false, true, true], [false, false, false, true], [false, false, false, false]]]]> : tensor<1x1x4x4xi1>
  %one = llm.constant dense<1.0> : tensor<f32>
  %fill = llm.constant dense<-1.0e9> : tensor<f32>
  %wide = llm.expand %pad : (tensor<2x1x1x4xi1>) -> tensor<2x1x4x4xi1>
  %hide = llm.or %wide, %future : (tensor<2x1x4x4xi1>, tensor<1x1x4x4xi1>) -> tensor<2x1x4x4xi1>
  %float = llm.cast %hide : (tensor<2x1x4x4xi1>) -> tensor<2x1x4x4xf32>
  %times = llm.mul %float, %one : (tensor<2x1x4x4xf32>, tensor<f32>) -> tensor<2x1x4x4xf32>
  %mask = llm.where %hide, %fill, %times : (tensor<2x1x4x4xi1>, tensor<f32>, tensor<2x1x4x4xf32>) -> tensor<2x1x4x4xf32>
  %inv = llm.constant dense<0.25> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %d = llm.mul %s, %inv : (tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %a = llm.add %d, %mask : (tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %a {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 1

// -----

// Softmax weights quantized and dequantized before P·V (quantize_static's
// QDQ): the pair's scalar parameters become weights_*.
// CHECK-LABEL: func @quantized_weights
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x8xf32>, %[[K:.*]]: tensor<1x2x6x8xf32>, %[[V:.*]]: tensor<1x2x6x16xf32>)
// CHECK-NEXT: %[[A:.*]] = llm.attention %[[Q]], %[[K]], %[[V]] {scale = 1.000000e+00 : f32, weights_scale = 2.500000e-02 : f32, weights_unsigned, weights_zero_point = 10 : i64}
// CHECK-NEXT: return %[[A]]
func.func @quantized_weights(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x6x8xf32>, %v: tensor<1x2x6x16xf32>) -> tensor<1x2x4x16xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x6x8xf32>) -> tensor<1x2x4x6xf32>
  %p = llm.softmax %s {axis = 3 : i64} : tensor<1x2x4x6xf32>
  %scale = llm.constant dense<0.025> : tensor<f32>
  %zero = llm.constant dense<10> : tensor<i8>
  %pq = llm.quantize %p, %scale, %zero {is_unsigned} : (tensor<1x2x4x6xf32>, tensor<f32>, tensor<i8>) -> tensor<1x2x4x6xi8>
  %pd = llm.dequantize %pq, %scale, %zero {is_unsigned} : (tensor<1x2x4x6xi8>, tensor<f32>, tensor<i8>) -> tensor<1x2x4x6xf32>
  %o = llm.matmul %pd, %v : (tensor<1x2x4x6xf32>, tensor<1x2x6x16xf32>) -> tensor<1x2x4x16xf32>
  return %o : tensor<1x2x4x16xf32>
}

// -----

// ModelOpt's FP8 MHA: E4M3 weights, no zero point.
// CHECK-LABEL: func @quantized_weights_e4m3
// CHECK: llm.attention %{{.*}} {scale = 1.000000e+00 : f32, weights_e4m3, weights_scale = 0.00223214296 : f32}
// CHECK-NOT: llm.softmax
func.func @quantized_weights_e4m3(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x6x8xf32>, %v: tensor<1x2x6x16xf32>) -> tensor<1x2x4x16xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x6x8xf32>) -> tensor<1x2x4x6xf32>
  %p = llm.softmax %s {axis = 3 : i64} : tensor<1x2x4x6xf32>
  %scale = llm.constant dense<0.00223214296> : tensor<f32>
  %pq = llm.quantize %p, %scale {e4m3} : (tensor<1x2x4x6xf32>, tensor<f32>) -> tensor<1x2x4x6xi8>
  %pd = llm.dequantize %pq, %scale {e4m3} : (tensor<1x2x4x6xi8>, tensor<f32>) -> tensor<1x2x4x6xf32>
  %o = llm.matmul %pd, %v : (tensor<1x2x4x6xf32>, tensor<1x2x6x16xf32>) -> tensor<1x2x4x16xf32>
  return %o : tensor<1x2x4x16xf32>
}

// -----

// A float16 model's pair works in f32 between two casts, its scale a cast
// of an f16 constant.
// CHECK-LABEL: func @quantized_weights_f16
// CHECK: llm.attention %{{.*}} {scale = 1.000000e+00 : f32, weights_scale = 0.0322570801 : f32, weights_unsigned} : {{.*}} -> tensor<1x2x4x16xf16>
// CHECK-NOT: llm.softmax
func.func @quantized_weights_f16(%q: tensor<1x2x4x8xf16>, %k: tensor<1x2x6x8xf16>, %v: tensor<1x2x6x16xf16>) -> tensor<1x2x4x16xf16> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf16>, tensor<1x2x6x8xf16>) -> tensor<1x2x4x6xf16>
  %p = llm.softmax %s {axis = 3 : i64} : tensor<1x2x4x6xf16>
  %p32 = llm.cast %p : (tensor<1x2x4x6xf16>) -> tensor<1x2x4x6xf32>
  %scale16 = llm.constant dense<0.03225> : tensor<f16>
  %scale = llm.cast %scale16 : (tensor<f16>) -> tensor<f32>
  %zero = llm.constant dense<0> : tensor<i8>
  %pq = llm.quantize %p32, %scale, %zero {is_unsigned} : (tensor<1x2x4x6xf32>, tensor<f32>, tensor<i8>) -> tensor<1x2x4x6xi8>
  %pd = llm.dequantize %pq, %scale, %zero {is_unsigned} : (tensor<1x2x4x6xi8>, tensor<f32>, tensor<i8>) -> tensor<1x2x4x6xf32>
  %pd16 = llm.cast %pd : (tensor<1x2x4x6xf32>) -> tensor<1x2x4x6xf16>
  %o = llm.matmul %pd16, %v : (tensor<1x2x4x6xf16>, tensor<1x2x6x16xf16>) -> tensor<1x2x4x16xf16>
  return %o : tensor<1x2x4x16xf16>
}

// -----

// Not fused: the pair's scales differ (a requantization, not a round trip).
// CHECK-LABEL: func @quantized_weights_two_scales
// CHECK-NOT: llm.attention
// CHECK: llm.softmax
func.func @quantized_weights_two_scales(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x6x8xf32>, %v: tensor<1x2x6x16xf32>) -> tensor<1x2x4x16xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x6x8xf32>) -> tensor<1x2x4x6xf32>
  %p = llm.softmax %s {axis = 3 : i64} : tensor<1x2x4x6xf32>
  %scale = llm.constant dense<0.025> : tensor<f32>
  %other = llm.constant dense<0.05> : tensor<f32>
  %pq = llm.quantize %p, %scale : (tensor<1x2x4x6xf32>, tensor<f32>) -> tensor<1x2x4x6xi8>
  %pd = llm.dequantize %pq, %other : (tensor<1x2x4x6xi8>, tensor<f32>) -> tensor<1x2x4x6xf32>
  %o = llm.matmul %pd, %v : (tensor<1x2x4x6xf32>, tensor<1x2x6x16xf32>) -> tensor<1x2x4x16xf32>
  return %o : tensor<1x2x4x16xf32>
}

// -----

// Not fused: the quantized weights are also a result.
// CHECK-LABEL: func @quantized_weights_read_twice
// CHECK-NOT: llm.attention
// CHECK: llm.softmax
func.func @quantized_weights_read_twice(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x6x8xf32>, %v: tensor<1x2x6x16xf32>) -> (tensor<1x2x4x16xf32>, tensor<1x2x4x6xi8>) {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x6x8xf32>) -> tensor<1x2x4x6xf32>
  %p = llm.softmax %s {axis = 3 : i64} : tensor<1x2x4x6xf32>
  %scale = llm.constant dense<0.025> : tensor<f32>
  %pq = llm.quantize %p, %scale : (tensor<1x2x4x6xf32>, tensor<f32>) -> tensor<1x2x4x6xi8>
  %pd = llm.dequantize %pq, %scale : (tensor<1x2x4x6xi8>, tensor<f32>) -> tensor<1x2x4x6xf32>
  %o = llm.matmul %pd, %v : (tensor<1x2x4x6xf32>, tensor<1x2x6x16xf32>) -> tensor<1x2x4x16xf32>
  return %o, %pq : tensor<1x2x4x16xf32>, tensor<1x2x4x6xi8>
}

// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 0, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 0, causal-masks 0, row-masks 0

// -----

// DeBERTa's disentangled attention: heads merged into the batch, the
// content scores plus two relative-position terms of the same [B*H, T, S]
// shape (told apart from the scores as the operands that do not lead to
// the q x k^T product), split to [B, H, T, S], filled with finfo.min where
// the padding hides a key (XSoftmax), the softmax, and the weights zeroed
// there again. The two terms join as one additive mask where(c, -inf,
// c2p + p2c): a row that hides every key gives zeros, as the zeroing does
// (with the finite fill it would give the mean of the values).
// CHECK-LABEL: func @zeroed_softmax_merged_heads
// CHECK-SAME: (%[[Q:.*]]: tensor<6x4x8xf32>, %[[K:.*]]: tensor<6x5x8xf32>, %[[V:.*]]: tensor<6x5x8xf32>, %[[C2P:.*]]: tensor<6x4x5xf32>, %[[P2C:.*]]: tensor<6x4x5xf32>, %[[HIDE:.*]]: tensor<2x1x4x5xi1>)
// CHECK-DAG: %[[B1:.*]] = llm.reshape %[[C2P]] : (tensor<6x4x5xf32>) -> tensor<2x3x4x5xf32>
// CHECK-DAG: %[[B2:.*]] = llm.reshape %[[P2C]] : (tensor<6x4x5xf32>) -> tensor<2x3x4x5xf32>
// CHECK-DAG: %[[INF:.*]] = llm.constant dense<0xFF800000> : tensor<f32>
// CHECK: %[[SUM:.*]] = llm.add %[[B1]], %[[B2]] : (tensor<2x3x4x5xf32>, tensor<2x3x4x5xf32>) -> tensor<2x3x4x5xf32>
// CHECK: %[[MASK:.*]] = llm.where %[[HIDE]], %[[INF]], %[[SUM]] : (tensor<2x1x4x5xi1>, tensor<f32>, tensor<2x3x4x5xf32>) -> tensor<2x3x4x5xf32>
// CHECK: %[[A:.*]] = llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[MASK]] {scale = 1.000000e+00 : f32} : (tensor<2x3x4x8xf32>, tensor<2x3x5x8xf32>, tensor<2x3x5x8xf32>, tensor<2x3x4x5xf32>) -> tensor<2x3x4x8xf32>
// CHECK-NEXT: %[[O:.*]] = llm.reshape %[[A]] : (tensor<2x3x4x8xf32>) -> tensor<6x4x8xf32>
// CHECK-NEXT: return %[[O]]
func.func @zeroed_softmax_merged_heads(%q: tensor<6x4x8xf32>, %k: tensor<6x5x8xf32>, %v: tensor<6x5x8xf32>, %c2p: tensor<6x4x5xf32>, %p2c: tensor<6x4x5xf32>, %hide: tensor<2x1x4x5xi1>) -> tensor<6x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<6x4x8xf32>, tensor<6x5x8xf32>) -> tensor<6x4x5xf32>
  %a = llm.add %s, %c2p : (tensor<6x4x5xf32>, tensor<6x4x5xf32>) -> tensor<6x4x5xf32>
  %b = llm.add %a, %p2c : (tensor<6x4x5xf32>, tensor<6x4x5xf32>) -> tensor<6x4x5xf32>
  %s4 = llm.reshape %b : (tensor<6x4x5xf32>) -> tensor<2x3x4x5xf32>
  %min = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %x = llm.where %hide, %min, %s4 : (tensor<2x1x4x5xi1>, tensor<f32>, tensor<2x3x4x5xf32>) -> tensor<2x3x4x5xf32>
  %p = llm.softmax %x {axis = 3 : i64} : tensor<2x3x4x5xf32>
  %zero = llm.constant dense<0.0> : tensor<f32>
  %z = llm.where %hide, %zero, %p : (tensor<2x1x4x5xi1>, tensor<f32>, tensor<2x3x4x5xf32>) -> tensor<2x3x4x5xf32>
  %z3 = llm.reshape %z : (tensor<2x3x4x5xf32>) -> tensor<6x4x5xf32>
  %o = llm.matmul %z3, %v : (tensor<6x4x5xf32>, tensor<6x5x8xf32>) -> tensor<6x4x8xf32>
  return %o : tensor<6x4x8xf32>
}

// The same zeroing of a where that names the keys that attend: the
// zeroing's condition is its negation. No additive term: the condition
// itself is the mask.
// CHECK-LABEL: func @zeroed_softmax_attend
// CHECK-SAME: %[[ATTEND:[^ ]*]]: tensor<2x1x4x5xi1>)
// CHECK: %[[A:.*]] = llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[ATTEND]] {scale = 2.500000e-01 : f32}
// CHECK-NEXT: return %[[A]]
func.func @zeroed_softmax_attend(%q: tensor<2x3x4x8xf32>, %k: tensor<2x3x5x8xf32>, %v: tensor<2x3x5x8xf32>, %attend: tensor<2x1x4x5xi1>) -> tensor<2x3x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x3x4x8xf32>, tensor<2x3x5x8xf32>) -> tensor<2x3x4x5xf32>
  %c = llm.constant dense<0.25> : tensor<f32>
  %ss = llm.mul %s, %c : (tensor<2x3x4x5xf32>, tensor<f32>) -> tensor<2x3x4x5xf32>
  %min = llm.constant dense<-1.0e9> : tensor<f32>
  %x = llm.where %attend, %ss, %min : (tensor<2x1x4x5xi1>, tensor<2x3x4x5xf32>, tensor<f32>) -> tensor<2x3x4x5xf32>
  %p = llm.softmax %x {axis = 3 : i64} : tensor<2x3x4x5xf32>
  %hide = llm.not %attend : tensor<2x1x4x5xi1>
  %zero = llm.constant dense<0.0> : tensor<f32>
  %z = llm.where %hide, %zero, %p : (tensor<2x1x4x5xi1>, tensor<f32>, tensor<2x3x4x5xf32>) -> tensor<2x3x4x5xf32>
  %o = llm.matmul %z, %v : (tensor<2x3x4x5xf32>, tensor<2x3x5x8xf32>) -> tensor<2x3x4x8xf32>
  return %o : tensor<2x3x4x8xf32>
}

// -----

// Not fused: weights zeroed where another condition holds than the one
// the scores are hidden by (the zeroing changes rows the mask leaves).
// CHECK-LABEL: func @zeroed_softmax_other_condition
// CHECK-NOT: llm.attention
// CHECK: llm.softmax
func.func @zeroed_softmax_other_condition(%q: tensor<2x3x4x8xf32>, %k: tensor<2x3x5x8xf32>, %v: tensor<2x3x5x8xf32>, %hide: tensor<2x1x4x5xi1>, %other: tensor<2x1x4x5xi1>) -> tensor<2x3x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x3x4x8xf32>, tensor<2x3x5x8xf32>) -> tensor<2x3x4x5xf32>
  %min = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %x = llm.where %hide, %min, %s : (tensor<2x1x4x5xi1>, tensor<f32>, tensor<2x3x4x5xf32>) -> tensor<2x3x4x5xf32>
  %p = llm.softmax %x {axis = 3 : i64} : tensor<2x3x4x5xf32>
  %zero = llm.constant dense<0.0> : tensor<f32>
  %z = llm.where %other, %zero, %p : (tensor<2x1x4x5xi1>, tensor<f32>, tensor<2x3x4x5xf32>) -> tensor<2x3x4x5xf32>
  %o = llm.matmul %z, %v : (tensor<2x3x4x5xf32>, tensor<2x3x5x8xf32>) -> tensor<2x3x4x8xf32>
  return %o : tensor<2x3x4x8xf32>
}

// REMARK: remark: llm-fuse-attention: fused-attentions 2, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 0, causal-masks 0, row-masks 0

// -----

// Two masks of one kind, one applied after the other, as hand-written
// models do: the causal rule (an added triu of finfo.min, or masked_fill of
// the future) becomes the flag, whichever comes first, and the other mask
// is the op's; two run-time conditions of hidden keys join by `or`.
// CHECK-LABEL: func @two_additive_masks
// CHECK-SAME: %[[PAD:[^ ]*]]: tensor<2x1x1x4xf32>)
// CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[PAD]] {causal = true, scale = 1.000000e+00 : f32}
// CHECK-LABEL: func @two_where_masks
// CHECK-SAME: %[[HIDE:[^ ]*]]: tensor<2x1x1x4xi1>)
// CHECK: %[[ATTEND:.*]] = llm.not %[[HIDE]]
// CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[ATTEND]] {causal = true, scale = 1.000000e+00 : f32}
// CHECK-LABEL: func @two_run_time_where_masks
// CHECK-SAME: %[[H1:[^ ]*]]: tensor<2x1x4x4xi1>, %[[H2:[^ ]*]]: tensor<1x1x4x4xi1>)
// CHECK: %[[OR:.*]] = llm.or %[[H1]], %[[H2]] : (tensor<2x1x4x4xi1>, tensor<1x1x4x4xi1>) -> tensor<2x1x4x4xi1>
// CHECK: %[[ATTEND:.*]] = llm.not %[[OR]]
// CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[ATTEND]] {scale = 1.000000e+00 : f32}
// CHECK-LABEL: func @where_mask_and_added_triu
// CHECK-SAME: %[[HIDE:[^ ]*]]: tensor<2x1x1x4xi1>)
// CHECK: %[[ATTEND:.*]] = llm.not %[[HIDE]]
// CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[ATTEND]] {causal = true, scale = 1.000000e+00 : f32}
func.func @two_additive_masks(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %pad: tensor<2x1x1x4xf32>) -> tensor<2x2x4x8xf32> {
  %triu = llm.constant dense<[[0.0, -3.40282347E+38, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a = llm.add %s, %pad : (tensor<2x2x4x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x4xf32>
  %b = llm.add %a, %triu : (tensor<2x2x4x4xf32>, tensor<4x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %b {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}
func.func @two_where_masks(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %hide: tensor<2x1x1x4xi1>) -> tensor<2x2x4x8xf32> {
  %min = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %inf = llm.constant dense<0xFF800000> : tensor<f32>
  %future = llm.constant dense<[[false, true, true, true], [false, false, true, true], [false, false, false, true], [false, false, false, false]]> : tensor<4x4xi1>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a = llm.where %hide, %min, %s : (tensor<2x1x1x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %b = llm.where %future, %inf, %a : (tensor<4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %b {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}
func.func @two_run_time_where_masks(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %h1: tensor<2x1x4x4xi1>, %h2: tensor<1x1x4x4xi1>) -> tensor<2x2x4x8xf32> {
  %min = llm.constant dense<-1.0e9> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a = llm.where %h1, %min, %s : (tensor<2x1x4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %b = llm.where %h2, %min, %a : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %b {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}
func.func @where_mask_and_added_triu(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %hide: tensor<2x1x1x4xi1>) -> tensor<2x2x4x8xf32> {
  %min = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %triu = llm.constant dense<[[0.0, -3.40282347E+38, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a = llm.where %hide, %min, %s : (tensor<2x1x1x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %b = llm.add %a, %triu : (tensor<2x2x4x4xf32>, tensor<4x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %b {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// -----

// Not fused: two masks of two kinds (a condition of keys that attend,
// then one of hidden keys).
// CHECK-LABEL: func @two_masks_of_two_kinds
// CHECK-NOT: llm.attention
// CHECK: llm.softmax
func.func @two_masks_of_two_kinds(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %attend: tensor<2x1x1x4xi1>, %hide: tensor<1x1x4x4xi1>) -> tensor<2x2x4x8xf32> {
  %min = llm.constant dense<-1.0e9> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a = llm.where %attend, %s, %min : (tensor<2x1x1x4xi1>, tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %b = llm.where %hide, %min, %a : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %b {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// REMARK: remark: llm-fuse-attention: fused-attentions 4, causal-masks 0, row-masks 0
// REMARK: remark: llm-fuse-attention: fused-attentions 0, causal-masks 0, row-masks 0

// -----

// Swin's shifted windows: a mask per window [1, W, 1, T, S], shared by the
// N images, added on a [N, W, H, T, S] view of the [N*W, H, T, S] scores.
// The add moves onto the merged batch with the mask broadcast over the
// images and merged alike; it joins the relative-position bias.
// CHECK-LABEL: func @split_batch_mask
// CHECK-SAME: %[[BIAS:[^ ]*]]: tensor<1x2x4x4xf32>, %[[SHIFT:[^ ]*]]: tensor<1x3x1x4x4xf32>)
// CHECK: %[[TILED:.*]] = llm.expand %[[SHIFT]] : (tensor<1x3x1x4x4xf32>) -> tensor<2x3x1x4x4xf32>
// CHECK: %[[MERGED:.*]] = llm.reshape %[[TILED]] : (tensor<2x3x1x4x4xf32>) -> tensor<6x1x4x4xf32>
// CHECK: %[[MASK:.*]] = llm.add %[[BIAS]], %[[MERGED]] : (tensor<1x2x4x4xf32>, tensor<6x1x4x4xf32>) -> tensor<6x2x4x4xf32>
// CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[MASK]] {scale = 1.000000e+00 : f32} : ({{.*}}, tensor<6x2x4x4xf32>) -> tensor<6x2x4x8xf32>
// CHECK-NOT: llm.softmax
func.func @split_batch_mask(%q: tensor<6x2x4x8xf32>, %k: tensor<6x2x4x8xf32>, %v: tensor<6x2x4x8xf32>, %bias: tensor<1x2x4x4xf32>, %shift: tensor<1x3x1x4x4xf32>) -> tensor<6x2x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<6x2x4x8xf32>, tensor<6x2x4x8xf32>) -> tensor<6x2x4x4xf32>
  %b = llm.add %s, %bias : (tensor<6x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<6x2x4x4xf32>
  %split = llm.reshape %b : (tensor<6x2x4x4xf32>) -> tensor<2x3x2x4x4xf32>
  %m = llm.add %split, %shift : (tensor<2x3x2x4x4xf32>, tensor<1x3x1x4x4xf32>) -> tensor<2x3x2x4x4xf32>
  %merged = llm.reshape %m : (tensor<2x3x2x4x4xf32>) -> tensor<6x2x4x4xf32>
  %p = llm.softmax %merged {axis = 3 : i64} : tensor<6x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<6x2x4x4xf32>, tensor<6x2x4x8xf32>) -> tensor<6x2x4x8xf32>
  return %o : tensor<6x2x4x8xf32>
}

// A mask on the images' dim alone, mask first in the add: broadcast over the
// windows too. A mask with neither dim (4-D here) merges to one as it is.
// CHECK-LABEL: func @split_batch_mask_per_image
// CHECK-SAME: %[[IMAGE:[^ ]*]]: tensor<2x1x1x1x4xf32>, %[[ROW:[^ ]*]]: tensor<2x4x4xf32>)
// CHECK: %[[TILED:.*]] = llm.expand %[[IMAGE]] : (tensor<2x1x1x1x4xf32>) -> tensor<2x3x1x1x4xf32>
// CHECK: llm.reshape %[[TILED]] : (tensor<2x3x1x1x4xf32>) -> tensor<6x1x1x4xf32>
// CHECK: llm.reshape %[[ROW]] : (tensor<2x4x4xf32>) -> tensor<1x2x4x4xf32>
// CHECK: llm.attention
// CHECK-NOT: llm.softmax
func.func @split_batch_mask_per_image(%q: tensor<6x2x4x8xf32>, %k: tensor<6x2x4x8xf32>, %v: tensor<6x2x4x8xf32>, %image: tensor<2x1x1x1x4xf32>, %row: tensor<2x4x4xf32>) -> tensor<6x2x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<6x2x4x8xf32>, tensor<6x2x4x8xf32>) -> tensor<6x2x4x4xf32>
  %split = llm.reshape %s : (tensor<6x2x4x4xf32>) -> tensor<2x3x2x4x4xf32>
  %m = llm.add %image, %split : (tensor<2x1x1x1x4xf32>, tensor<2x3x2x4x4xf32>) -> tensor<2x3x2x4x4xf32>
  %merged = llm.reshape %m : (tensor<2x3x2x4x4xf32>) -> tensor<6x2x4x4xf32>
  %split2 = llm.reshape %merged : (tensor<6x2x4x4xf32>) -> tensor<2x3x2x4x4xf32>
  %m2 = llm.add %split2, %row : (tensor<2x3x2x4x4xf32>, tensor<2x4x4xf32>) -> tensor<2x3x2x4x4xf32>
  %merged2 = llm.reshape %m2 : (tensor<2x3x2x4x4xf32>) -> tensor<6x2x4x4xf32>
  %p = llm.softmax %merged2 {axis = 3 : i64} : tensor<6x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<6x2x4x4xf32>, tensor<6x2x4x8xf32>) -> tensor<6x2x4x8xf32>
  return %o : tensor<6x2x4x8xf32>
}

// The view splits the heads, not the batch: left alone.
// CHECK-LABEL: func @split_heads_mask
// CHECK: llm.add %{{.*}}, %{{.*}} : (tensor<2x2x2x4x4xf32>, tensor<1x2x1x1x4xf32>)
// CHECK: llm.softmax
func.func @split_heads_mask(%q: tensor<2x4x4x8xf32>, %k: tensor<2x4x4x8xf32>, %v: tensor<2x4x4x8xf32>, %mask: tensor<1x2x1x1x4xf32>) -> tensor<2x4x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x4x8xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x4xf32>
  %split = llm.reshape %s : (tensor<2x4x4x4xf32>) -> tensor<2x2x2x4x4xf32>
  %m = llm.add %split, %mask : (tensor<2x2x2x4x4xf32>, tensor<1x2x1x1x4xf32>) -> tensor<2x2x2x4x4xf32>
  %merged = llm.reshape %m : (tensor<2x2x2x4x4xf32>) -> tensor<2x4x4x4xf32>
  %p = llm.softmax %merged {axis = 3 : i64} : tensor<2x4x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x4x4xf32>, tensor<2x4x4x8xf32>) -> tensor<2x4x4x8xf32>
  return %o : tensor<2x4x4x8xf32>
}

// A split-batch add that reaches no softmax stays where it is.
// CHECK-LABEL: func @split_batch_add_no_softmax
// CHECK: llm.add %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<1x3x4xf32>)
func.func @split_batch_add_no_softmax(%x: tensor<6x4xf32>, %y: tensor<1x3x4xf32>) -> tensor<6x4xf32> {
  %split = llm.reshape %x : (tensor<6x4xf32>) -> tensor<2x3x4xf32>
  %m = llm.add %split, %y : (tensor<2x3x4xf32>, tensor<1x3x4xf32>) -> tensor<2x3x4xf32>
  %merged = llm.reshape %m : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  return %merged : tensor<6x4xf32>
}

// -----

// Swin V2's cosine attention scales the scores per head, exp(logit_scale)
// [H, 1, 1], computed after the product: the factor moves onto q.
// CHECK-LABEL: func @scale_per_head
// CHECK-SAME: (%[[Q:[^ ]*]]: tensor<2x4x8x8xf32>, %[[K:[^ ]*]]: tensor<2x4x8x8xf32>, %[[V:[^ ]*]]: tensor<2x4x8x8xf32>, %[[LOGIT:[^ ]*]]: tensor<4x1x1xf32>)
// CHECK: %[[FACTOR:.*]] = llm.exp %[[LOGIT]]
// CHECK: %[[SCALED:.*]] = llm.mul %[[Q]], %[[FACTOR]] : (tensor<2x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<2x4x8x8xf32>
// CHECK: llm.attention %[[SCALED]], %[[K]], %[[V]] {scale = 1.000000e+00 : f32}
// CHECK-NOT: llm.softmax
func.func @scale_per_head(%q: tensor<2x4x8x8xf32>, %k: tensor<2x4x8x8xf32>, %v: tensor<2x4x8x8xf32>, %logit: tensor<4x1x1xf32>) -> tensor<2x4x8x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %c = llm.exp %logit : tensor<4x1x1xf32>
  %m = llm.mul %c, %s : (tensor<4x1x1xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %p = llm.softmax %m {axis = 3 : i64} : tensor<2x4x8x8xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  return %o : tensor<2x4x8x8xf32>
}

// A quotient per batch and head, under a bias: q is divided.
// CHECK-LABEL: func @divide_per_head
// CHECK-SAME: (%[[Q:[^ ]*]]: tensor<2x4x8x8xf32>, %{{[^ ]*}}: tensor<2x4x8x8xf32>, %{{[^ ]*}}: tensor<2x4x8x8xf32>, %[[D:[^ ]*]]: tensor<2x4x1x1xf32>, %[[BIAS:[^ ]*]]: tensor<1x4x8x8xf32>)
// CHECK: %[[SCALED:.*]] = llm.div %[[Q]], %[[D]] : (tensor<2x4x8x8xf32>, tensor<2x4x1x1xf32>) -> tensor<2x4x8x8xf32>
// CHECK: llm.attention %[[SCALED]], %{{.*}}, %{{.*}}, %[[BIAS]] {scale = 1.000000e+00 : f32}
func.func @divide_per_head(%q: tensor<2x4x8x8xf32>, %k: tensor<2x4x8x8xf32>, %v: tensor<2x4x8x8xf32>, %d: tensor<2x4x1x1xf32>, %bias: tensor<1x4x8x8xf32>) -> tensor<2x4x8x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %m = llm.div %s, %d : (tensor<2x4x8x8xf32>, tensor<2x4x1x1xf32>) -> tensor<2x4x8x8xf32>
  %b = llm.add %m, %bias : (tensor<2x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %p = llm.softmax %b {axis = 3 : i64} : tensor<2x4x8x8xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  return %o : tensor<2x4x8x8xf32>
}

// Under a constant scalar scale, the factor per head moves below it first,
// then onto q; the scalar becomes the attention's scale.
// CHECK-LABEL: func @scale_per_head_under_scalar
// CHECK-SAME: (%[[Q:[^ ]*]]: tensor<2x4x8x8xf32>, %{{[^ ]*}}: tensor<2x4x8x8xf32>, %{{[^ ]*}}: tensor<2x4x8x8xf32>, %[[C:[^ ]*]]: tensor<4x1x1xf32>)
// CHECK: %[[SCALED:.*]] = llm.mul %[[Q]], %[[C]] : (tensor<2x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<2x4x8x8xf32>
// CHECK: llm.attention %[[SCALED]], %{{.*}}, %{{.*}} {scale = 2.500000e-01 : f32}
// CHECK-NOT: llm.softmax
func.func @scale_per_head_under_scalar(%q: tensor<2x4x8x8xf32>, %k: tensor<2x4x8x8xf32>, %v: tensor<2x4x8x8xf32>, %c: tensor<4x1x1xf32>) -> tensor<2x4x8x8xf32> {
  %four = llm.constant dense<4.0> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %d = llm.div %s, %four : (tensor<2x4x8x8xf32>, tensor<f32>) -> tensor<2x4x8x8xf32>
  %m = llm.mul %d, %c : (tensor<2x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<2x4x8x8xf32>
  %p = llm.softmax %m {axis = 3 : i64} : tensor<2x4x8x8xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  return %o : tensor<2x4x8x8xf32>
}

// A factor per key does not move onto q; neither does a divisor that the
// scores divide (c / s), nor a product that feeds no softmax.
// CHECK-LABEL: func @scale_per_key
// CHECK: llm.mul %{{.*}}, %{{.*}} : (tensor<2x4x8x8xf32>, tensor<1x1x1x8xf32>)
// CHECK: llm.softmax
func.func @scale_per_key(%q: tensor<2x4x8x8xf32>, %k: tensor<2x4x8x8xf32>, %v: tensor<2x4x8x8xf32>, %c: tensor<1x1x1x8xf32>) -> tensor<2x4x8x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %m = llm.mul %s, %c : (tensor<2x4x8x8xf32>, tensor<1x1x1x8xf32>) -> tensor<2x4x8x8xf32>
  %p = llm.softmax %m {axis = 3 : i64} : tensor<2x4x8x8xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  return %o : tensor<2x4x8x8xf32>
}

// CHECK-LABEL: func @divisor_of_scores
// CHECK: llm.div %{{.*}}, %{{.*}} : (tensor<4x1x1xf32>, tensor<2x4x8x8xf32>)
// CHECK: llm.softmax
func.func @divisor_of_scores(%q: tensor<2x4x8x8xf32>, %k: tensor<2x4x8x8xf32>, %v: tensor<2x4x8x8xf32>, %c: tensor<4x1x1xf32>) -> tensor<2x4x8x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %m = llm.div %c, %s : (tensor<4x1x1xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %p = llm.softmax %m {axis = 3 : i64} : tensor<2x4x8x8xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  return %o : tensor<2x4x8x8xf32>
}

// CHECK-LABEL: func @scaled_product_no_softmax
// CHECK: %[[S:.*]] = llm.matmul
// CHECK: llm.mul %[[S]], %{{.*}} : (tensor<2x4x8x8xf32>, tensor<4x1x1xf32>)
func.func @scaled_product_no_softmax(%q: tensor<2x4x8x8xf32>, %k: tensor<2x4x8x8xf32>, %c: tensor<4x1x1xf32>) -> tensor<2x4x8x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %m = llm.mul %s, %c : (tensor<2x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<2x4x8x8xf32>
  return %m : tensor<2x4x8x8xf32>
}

// -----

// Three masks one after the other: a relative bias, the causal rule filled
// at -inf and the padding added. They join into one sum, whose causal part
// splits off as the flag; the rest (bias + padding) is the mask.
// CHECK-LABEL: func @three_masks
// CHECK-SAME: %[[BIAS:[^ ]*]]: tensor<1x2x4x4xf32>, %[[PAD:[^ ]*]]: tensor<2x1x1x4xf32>)
// CHECK: %[[MASK:.*]] = llm.add %[[BIAS]], %[[PAD]] : (tensor<1x2x4x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x4xf32>
// CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[MASK]] {causal = true, scale = 1.000000e+00 : f32}
// CHECK-NOT: llm.softmax
func.func @three_masks(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %bias: tensor<1x2x4x4xf32>, %pad: tensor<2x1x1x4xf32>) -> tensor<2x2x4x8xf32> {
  %ninf = llm.constant dense<0xFF800000> : tensor<f32>
  %future = llm.constant dense<[[false, true, true, true], [false, false, true, true], [false, false, false, true], [false, false, false, false]]> : tensor<4x4xi1>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %b = llm.add %s, %bias : (tensor<2x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %c = llm.where %future, %ninf, %b : (tensor<4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %m = llm.add %pad, %c : (tensor<2x1x1x4xf32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %m {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// Three run-time where-masks, kept where true, hidden where true, and under
// a clamp: each becomes its part (where(c, 0, fill), where(c, fill, 0)).
// CHECK-LABEL: func @three_where_masks
// CHECK-SAME: %[[KEEP:[^ ]*]]: tensor<2x1x1x4xi1>, %[[HIDE:[^ ]*]]: tensor<1x1x4x4xi1>, %[[HIDE2:[^ ]*]]: tensor<2x1x4x4xi1>)
// CHECK-DAG: %[[BIG:.*]] = llm.constant dense<-1.000000e+09>
// CHECK-DAG: %[[ZERO:.*]] = llm.constant dense<0.000000e+00>
// CHECK-DAG: %[[MIN:.*]] = llm.constant dense<-3.40282347E+38>
// CHECK: %[[P1:.*]] = llm.where %[[KEEP]], %[[ZERO]], %[[MIN]] : (tensor<2x1x1x4xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x1x4xf32>
// CHECK: %[[P2:.*]] = llm.where %[[HIDE]], %[[BIG]], %[[ZERO]] : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<f32>) -> tensor<1x1x4x4xf32>
// CHECK: %[[J:.*]] = llm.add %[[P1]], %[[P2]] : (tensor<2x1x1x4xf32>, tensor<1x1x4x4xf32>) -> tensor<2x1x4x4xf32>
// CHECK: %[[P3:.*]] = llm.where %[[HIDE2]], %[[MIN]], %[[ZERO]] : (tensor<2x1x4x4xi1>, tensor<f32>, tensor<f32>) -> tensor<2x1x4x4xf32>
// CHECK: %[[MASK:.*]] = llm.add %[[J]], %[[P3]] : (tensor<2x1x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x1x4x4xf32>
// CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[MASK]] {scale = 1.000000e+00 : f32}
// CHECK-NOT: llm.softmax
func.func @three_where_masks(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %keep: tensor<2x1x1x4xi1>, %hide: tensor<1x1x4x4xi1>, %hide2: tensor<2x1x4x4xi1>) -> tensor<2x2x4x8xf32> {
  %min = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %big = llm.constant dense<-1.0E+9> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %a = llm.where %keep, %s, %min : (tensor<2x1x1x4xi1>, tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %b = llm.where %hide, %big, %a : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %c = llm.where %hide2, %min, %b : (tensor<2x1x4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %d = llm.max %c, %min : (tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %d {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// A where whose fill is no large negative is no mask: the chain holds two,
// and stays unjoined (the where is not a mask FuseAttentionPattern takes).
// CHECK-LABEL: func @where_small_fill
// CHECK: llm.where %{{.*}}, %{{.*}}, %{{.*}} : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>)
// CHECK: llm.softmax
func.func @where_small_fill(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %bias: tensor<1x2x4x4xf32>, %pad: tensor<2x1x1x4xf32>, %c: tensor<1x1x4x4xi1>) -> tensor<2x2x4x8xf32> {
  %small = llm.constant dense<-1.0E+2> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %b = llm.add %s, %bias : (tensor<2x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %w = llm.where %c, %small, %b : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %m = llm.add %w, %pad : (tensor<2x2x4x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %m {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// A bias under the scale, then two masks: the bias joins scaled by it and
// the scale stays on the scores.
// CHECK-LABEL: func @masks_across_a_scale
// CHECK-SAME: %[[BIAS:[^ ]*]]: tensor<1x2x4x4xf32>, %[[PAD:[^ ]*]]: tensor<2x1x1x4xf32>, %[[HIDE:[^ ]*]]: tensor<2x1x1x4xi1>)
// CHECK-DAG: %[[HALF:.*]] = llm.constant dense<5.000000e-01> : tensor<f32>
// CHECK-DAG: %[[FILL:.*]] = llm.constant dense<-1.000000e+09> : tensor<f32>
// CHECK-DAG: %[[ZERO:.*]] = llm.constant dense<0.000000e+00> : tensor<f32>
// CHECK: %[[SCALED:.*]] = llm.mul %[[BIAS]], %[[HALF]] : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
// CHECK: %[[J:.*]] = llm.add %[[SCALED]], %[[PAD]] : (tensor<1x2x4x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x4xf32>
// CHECK: %[[PART:.*]] = llm.where %[[HIDE]], %[[FILL]], %[[ZERO]]
// CHECK: %[[MASK:.*]] = llm.add %[[J]], %[[PART]] : (tensor<2x2x4x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x4xf32>
// CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[MASK]] {scale = 5.000000e-01 : f32}
// CHECK-NOT: llm.softmax
func.func @masks_across_a_scale(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %bias: tensor<1x2x4x4xf32>, %pad: tensor<2x1x1x4xf32>, %hide: tensor<2x1x1x4xi1>) -> tensor<2x2x4x8xf32> {
  %two = llm.constant dense<2.0> : tensor<f32>
  %fill = llm.constant dense<-1.0E+9> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %b = llm.add %s, %bias : (tensor<2x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %d = llm.div %b, %two : (tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %m = llm.add %d, %pad : (tensor<2x2x4x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x4xf32>
  %w = llm.where %hide, %fill, %m : (tensor<2x1x1x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %w {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// A where-mask whose fill the scale above it makes small is no mask there:
// the chain below it holds two, and nothing joins.
// CHECK-LABEL: func @fill_scaled_small
// CHECK: llm.softmax
func.func @fill_scaled_small(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %bias: tensor<1x2x4x4xf32>, %pad: tensor<2x1x1x4xf32>, %hide: tensor<2x1x1x4xi1>) -> tensor<2x2x4x8xf32> {
  %tiny = llm.constant dense<1.0E-3> : tensor<f32>
  %fill = llm.constant dense<-1.0E+4> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %b = llm.add %s, %bias : (tensor<2x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %w = llm.where %hide, %fill, %b : (tensor<2x1x1x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %d = llm.mul %w, %tiny : (tensor<2x2x4x4xf32>, tensor<f32>) -> tensor<2x2x4x4xf32>
  %m = llm.add %d, %pad : (tensor<2x2x4x4xf32>, tensor<2x1x1x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %m {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// XSoftmax's zeroing over three additive terms (two relative-position terms
// and a window mask) under its where-mask: the where stays, the terms join.
// CHECK-LABEL: func @zeroed_softmax_three_terms
// CHECK-SAME: %[[A:[^ ]*]]: tensor<1x2x4x4xf32>, %[[B:[^ ]*]]: tensor<1x2x4x4xf32>, %[[W:[^ ]*]]: tensor<2x1x4x4xf32>, %[[HIDE:[^ ]*]]: tensor<2x1x4x4xi1>)
// CHECK: %[[AB:.*]] = llm.add %[[A]], %[[B]]
// CHECK: %[[SUM:.*]] = llm.add %[[AB]], %[[W]]
// CHECK: %[[MASK:.*]] = llm.where %[[HIDE]], %{{.*}}, %[[SUM]]
// CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[MASK]]
// CHECK-NOT: llm.softmax
func.func @zeroed_softmax_three_terms(%q: tensor<2x2x4x8xf32>, %k: tensor<2x2x4x8xf32>, %v: tensor<2x2x4x8xf32>, %a: tensor<1x2x4x4xf32>, %b: tensor<1x2x4x4xf32>, %w: tensor<2x1x4x4xf32>, %hide: tensor<2x1x4x4xi1>) -> tensor<2x2x4x8xf32> {
  %min = llm.constant dense<-3.40282347E+38> : tensor<f32>
  %zero = llm.constant dense<0.0> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x4xf32>
  %s1 = llm.add %s, %a : (tensor<2x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %s2 = llm.add %s1, %b : (tensor<2x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %s3 = llm.add %s2, %w : (tensor<2x2x4x4xf32>, tensor<2x1x4x4xf32>) -> tensor<2x2x4x4xf32>
  %x = llm.where %hide, %min, %s3 : (tensor<2x1x4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %p = llm.softmax %x {axis = 3 : i64} : tensor<2x2x4x4xf32>
  %z = llm.where %hide, %zero, %p : (tensor<2x1x4x4xi1>, tensor<f32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %o = llm.matmul %z, %v : (tensor<2x2x4x4xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
  return %o : tensor<2x2x4x8xf32>
}

// -----

// Heads merged into the batch, soft-capped after the split: the lift steps
// over the tanh.
// CHECK-LABEL: func @softcap_merged_heads
// CHECK: llm.attention {{.*}} {scale = 1.000000e+00 : f32, softcap = 5.000000e+00 : f32} : (tensor<2x3x4x8xf32>, tensor<2x3x5x8xf32>, tensor<2x3x5x8xf32>, tensor<2x1x4x5xf32>) -> tensor<2x3x4x8xf32>
// CHECK-NOT: llm.softmax
func.func @softcap_merged_heads(%q: tensor<6x4x8xf32>, %k: tensor<6x5x8xf32>, %v: tensor<6x5x8xf32>, %m: tensor<2x1x4x5xf32>) -> tensor<6x4x8xf32> {
  %cap = llm.constant dense<5.0> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<6x4x8xf32>, tensor<6x5x8xf32>) -> tensor<6x4x5xf32>
  %s4 = llm.reshape %s : (tensor<6x4x5xf32>) -> tensor<2x3x4x5xf32>
  %d = llm.div %s4, %cap : (tensor<2x3x4x5xf32>, tensor<f32>) -> tensor<2x3x4x5xf32>
  %t = llm.tanh %d : tensor<2x3x4x5xf32>
  %c = llm.mul %t, %cap : (tensor<2x3x4x5xf32>, tensor<f32>) -> tensor<2x3x4x5xf32>
  %x = llm.add %c, %m : (tensor<2x3x4x5xf32>, tensor<2x1x4x5xf32>) -> tensor<2x3x4x5xf32>
  %p = llm.softmax %x {axis = 3 : i64} : tensor<2x3x4x5xf32>
  %p3 = llm.reshape %p : (tensor<2x3x4x5xf32>) -> tensor<6x4x5xf32>
  %o = llm.matmul %p3, %v : (tensor<6x4x5xf32>, tensor<6x5x8xf32>) -> tensor<6x4x8xf32>
  return %o : tensor<6x4x8xf32>
}

// One head merged into the batch ([B*1, T, S]), a bias added before the
// split: read as one head (GPT-BigCode's decode step has the same shapes,
// and either reading is exact).
// CHECK-LABEL: func @one_merged_head
// CHECK: llm.attention {{.*}} : (tensor<2x1x4x8xf32>, tensor<2x1x5x8xf32>, tensor<2x1x5x8xf32>, {{.*}}) -> tensor<2x1x4x8xf32>
// CHECK-NOT: llm.softmax
func.func @one_merged_head(%q: tensor<2x4x8xf32>, %k: tensor<2x5x8xf32>, %v: tensor<2x5x8xf32>, %bias: tensor<2x4x5xf32>, %m: tensor<2x1x1x5xf32>) -> tensor<2x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<2x5x8xf32>) -> tensor<2x4x5xf32>
  %b = llm.add %s, %bias : (tensor<2x4x5xf32>, tensor<2x4x5xf32>) -> tensor<2x4x5xf32>
  %s4 = llm.reshape %b : (tensor<2x4x5xf32>) -> tensor<2x1x4x5xf32>
  %x = llm.add %s4, %m : (tensor<2x1x4x5xf32>, tensor<2x1x1x5xf32>) -> tensor<2x1x4x5xf32>
  %p = llm.softmax %x {axis = 3 : i64} : tensor<2x1x4x5xf32>
  %p3 = llm.reshape %p : (tensor<2x1x4x5xf32>) -> tensor<2x4x5xf32>
  %o = llm.matmul %p3, %v : (tensor<2x4x5xf32>, tensor<2x5x8xf32>) -> tensor<2x4x8xf32>
  return %o : tensor<2x4x8xf32>
}

// -----

// Biases added before a factor per head, ((s + b1) + b2) * exp(logit) (a
// merged-heads layer adding two terms in its bmm, then scaling per head):
// the factor goes onto each term, then onto q; the terms, scaled, are the
// mask.
// CHECK-LABEL: func @scale_per_head_over_biases
// CHECK-SAME: (%[[Q:[^ ]*]]: tensor<2x4x8x8xf32>, %[[K:[^ ]*]]: tensor<2x4x8x8xf32>, %[[V:[^ ]*]]: tensor<2x4x8x8xf32>, %[[LOGIT:[^ ]*]]: tensor<4x1x1xf32>, %[[B1:[^ ]*]]: tensor<1x4x8x8xf32>, %[[B2:[^ ]*]]: tensor<2x4x8x8xf32>)
// CHECK: %[[FACTOR:.*]] = llm.exp %[[LOGIT]]
// CHECK-DAG: %[[SCALED:.*]] = llm.mul %[[Q]], %[[FACTOR]] : (tensor<2x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<2x4x8x8xf32>
// CHECK-DAG: %[[SB1:.*]] = llm.mul %[[B1]], %[[FACTOR]] : (tensor<1x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<1x4x8x8xf32>
// CHECK-DAG: %[[SB2:.*]] = llm.mul %[[B2]], %[[FACTOR]] : (tensor<2x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<2x4x8x8xf32>
// CHECK: %[[MASK:.*]] = llm.add %[[SB1]], %[[SB2]]
// CHECK: llm.attention %[[SCALED]], %[[K]], %[[V]], %[[MASK]] {scale = 1.000000e+00 : f32}
// CHECK-NOT: llm.softmax
func.func @scale_per_head_over_biases(%q: tensor<2x4x8x8xf32>, %k: tensor<2x4x8x8xf32>, %v: tensor<2x4x8x8xf32>, %logit: tensor<4x1x1xf32>, %b1: tensor<1x4x8x8xf32>, %b2: tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %a = llm.add %s, %b1 : (tensor<2x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %a2 = llm.add %b2, %a : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %c = llm.exp %logit : tensor<4x1x1xf32>
  %m = llm.mul %a2, %c : (tensor<2x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<2x4x8x8xf32>
  %p = llm.softmax %m {axis = 3 : i64} : tensor<2x4x8x8xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  return %o : tensor<2x4x8x8xf32>
}

// A factor per head over the sum of two products (no telling the scores
// from the other term): nothing moves, and the softmax stays.
// CHECK-LABEL: func @scale_per_head_over_two_products
// CHECK: llm.div
// CHECK: llm.softmax
// CHECK-NOT: llm.attention
// REMARK: fuse-attention.mlir:[[# @LINE + 7]]:8: remark: llm-fuse-attention: softmax of attention left unfused
func.func @scale_per_head_over_two_products(%q: tensor<2x4x8x8xf32>, %k: tensor<2x4x8x8xf32>, %v: tensor<2x4x8x8xf32>, %r: tensor<2x4x8x8xf32>, %logit: tensor<4x1x1xf32>) -> tensor<2x4x8x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %s2 = llm.matmul %q, %r {transpose_rhs = true} : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %a = llm.add %s, %s2 : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %c = llm.exp %logit : tensor<4x1x1xf32>
  %m = llm.div %a, %c : (tensor<2x4x8x8xf32>, tensor<4x1x1xf32>) -> tensor<2x4x8x8xf32>
  %p = llm.softmax %m {axis = 3 : i64} : tensor<2x4x8x8xf32>
  %o = llm.matmul %p, %v : (tensor<2x4x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  return %o : tensor<2x4x8x8xf32>
}
