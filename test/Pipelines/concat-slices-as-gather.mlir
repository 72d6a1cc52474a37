// RUN: llm-opt %s --verify-each --llm-concat-slices-as-gather -split-input-file | FileCheck %s

// rotate_half of rotary embeddings, concat(-x[..., 8:], x[..., :8]): one
// gather at constant positions times a constant sign.
// CHECK-LABEL: func.func @rotate_half
// CHECK-DAG: %[[IDX:.*]] = llm.constant dense<[8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]> : tensor<16xi64>
// CHECK-DAG: %[[SIGN:.*]] = llm.constant dense<[{{\[\[}}-1.000000e+00, -1.000000e+00, -1.000000e+00, -1.000000e+00, -1.000000e+00, -1.000000e+00, -1.000000e+00, -1.000000e+00, 1.000000e+00, {{.*}}]]]> : tensor<1x1x16xf32>
// CHECK: %[[G:.*]] = llm.gather %arg0, %[[IDX]] {axis = 2 : i64} : (tensor<2x4x16xf32>, tensor<16xi64>) -> tensor<2x4x16xf32>
// CHECK: %[[R:.*]] = llm.mul %[[G]], %[[SIGN]] : (tensor<2x4x16xf32>, tensor<1x1x16xf32>) -> tensor<2x4x16xf32>
// CHECK-NOT: llm.slice
// CHECK-NOT: llm.concat
// CHECK: return %[[R]]
func.func @rotate_half(%x: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %hi = llm.slice %x {starts = array<i64: 0, 0, 8>, ends = array<i64: 2, 4, 16>, steps = array<i64: 1, 1, 1>} : (tensor<2x4x16xf32>) -> tensor<2x4x8xf32>
  %neg = llm.neg %hi : tensor<2x4x8xf32>
  %lo = llm.slice %x {starts = array<i64: 0, 0, 0>, ends = array<i64: 2, 4, 8>, steps = array<i64: 1, 1, 1>} : (tensor<2x4x16xf32>) -> tensor<2x4x8xf32>
  %r = llm.concat %neg, %lo {axis = 2 : i64} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x16xf32>
  return %r : tensor<2x4x16xf32>
}

// -----

// Strided and repeated slices of integers, none negated: a gather alone.
// CHECK-LABEL: func.func @strided
// CHECK: %[[IDX:.*]] = llm.constant dense<[0, 2, 4, 1, 2]> : tensor<5xi64>
// CHECK: %[[G:.*]] = llm.gather %arg0, %[[IDX]] {axis = 0 : i64} : (tensor<6x3xi32>, tensor<5xi64>) -> tensor<5x3xi32>
// CHECK-NOT: llm.mul
// CHECK: return %[[G]]
func.func @strided(%x: tensor<6x3xi32>) -> tensor<5x3xi32> {
  %a = llm.slice %x {starts = array<i64: 0, 0>, ends = array<i64: 6, 3>, steps = array<i64: 2, 1>} : (tensor<6x3xi32>) -> tensor<3x3xi32>
  %b = llm.slice %x {starts = array<i64: 1, 0>, ends = array<i64: 3, 3>, steps = array<i64: 1, 1>} : (tensor<6x3xi32>) -> tensor<2x3xi32>
  %r = llm.concat %a, %b {axis = 0 : i64} : (tensor<3x3xi32>, tensor<2x3xi32>) -> tensor<5x3xi32>
  return %r : tensor<5x3xi32>
}

// -----

// A gather of a transpose gathers the transpose's input along the axis it
// came from, then transposes: the elementwise readers fuse the transpose.
// CHECK-LABEL: func.func @through_transpose
// CHECK: %[[G:.*]] = llm.gather %arg0, %{{.*}} {axis = 3 : i64} : (tensor<2x4x3x16xf32>, tensor<16xi64>) -> tensor<2x4x3x16xf32>
// CHECK: %[[T:.*]] = llm.transpose %[[G]] {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x3x16xf32>) -> tensor<2x3x4x16xf32>
// CHECK: llm.mul %[[T]], %{{.*}} : (tensor<2x3x4x16xf32>, tensor<1x1x1x16xf32>)
func.func @through_transpose(%x: tensor<2x4x3x16xf32>) -> tensor<2x3x4x16xf32> {
  %t = llm.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x3x16xf32>) -> tensor<2x3x4x16xf32>
  %hi = llm.slice %t {starts = array<i64: 0, 0, 0, 8>, ends = array<i64: 2, 3, 4, 16>, steps = array<i64: 1, 1, 1, 1>} : (tensor<2x3x4x16xf32>) -> tensor<2x3x4x8xf32>
  %neg = llm.neg %hi : tensor<2x3x4x8xf32>
  %lo = llm.slice %t {starts = array<i64: 0, 0, 0, 0>, ends = array<i64: 2, 3, 4, 8>, steps = array<i64: 1, 1, 1, 1>} : (tensor<2x3x4x16xf32>) -> tensor<2x3x4x8xf32>
  %r = llm.concat %neg, %lo {axis = 3 : i64} : (tensor<2x3x4x8xf32>, tensor<2x3x4x8xf32>) -> tensor<2x3x4x16xf32>
  return %r : tensor<2x3x4x16xf32>
}

// -----

// A piece may be the tensor itself: the angles of Hugging Face's rotary
// embedding, concat(freqs, freqs), are one gather; so is a tensor followed
// by a negated slice of it.
// CHECK-LABEL: func.func @whole
// CHECK-DAG: %[[TWICE:.*]] = llm.constant dense<[0, 1, 2, 3, 0, 1, 2, 3]> : tensor<8xi64>
// CHECK-DAG: %[[MIXED:.*]] = llm.constant dense<[0, 1, 2, 3, 2, 3]> : tensor<6xi64>
// CHECK-DAG: %[[SIGN:.*]] = llm.constant dense<[{{\[}}1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, -1.000000e+00, -1.000000e+00]]> : tensor<1x6xf32>
// CHECK: %[[A:.*]] = llm.gather %arg0, %[[TWICE]] {axis = 1 : i64} : (tensor<2x4xf32>, tensor<8xi64>) -> tensor<2x8xf32>
// CHECK: %[[G:.*]] = llm.gather %arg0, %[[MIXED]] {axis = 1 : i64} : (tensor<2x4xf32>, tensor<6xi64>) -> tensor<2x6xf32>
// CHECK: %[[B:.*]] = llm.mul %[[G]], %[[SIGN]]
// CHECK-NOT: llm.concat
// CHECK: return %[[A]], %[[B]]
func.func @whole(%f: tensor<2x4xf32>) -> (tensor<2x8xf32>, tensor<2x6xf32>) {
  %twice = llm.concat %f, %f {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x8xf32>
  %hi = llm.slice %f {starts = array<i64: 0, 2>, ends = array<i64: 2, 4>, steps = array<i64: 1, 1>} : (tensor<2x4xf32>) -> tensor<2x2xf32>
  %neg = llm.neg %hi : tensor<2x2xf32>
  %mixed = llm.concat %f, %neg {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2x2xf32>) -> tensor<2x6xf32>
  return %twice, %mixed : tensor<2x8xf32>, tensor<2x6xf32>
}

// -----

// Not rewritten: slices of two tensors; a slice that also cuts another
// axis; a negated integer slice (kept as llm.neg); two different tensors
// whole.
// CHECK-LABEL: func.func @unchanged
// CHECK-COUNT-4: llm.concat
// CHECK-NOT: llm.gather
func.func @unchanged(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>, %i: tensor<4x8xi32>) -> (tensor<4x8xf32>, tensor<2x8xf32>, tensor<4x8xi32>, tensor<4x16xf32>) {
  %a = llm.slice %x {starts = array<i64: 0, 0>, ends = array<i64: 4, 4>, steps = array<i64: 1, 1>} : (tensor<4x8xf32>) -> tensor<4x4xf32>
  %b = llm.slice %y {starts = array<i64: 0, 4>, ends = array<i64: 4, 8>, steps = array<i64: 1, 1>} : (tensor<4x8xf32>) -> tensor<4x4xf32>
  %two = llm.concat %a, %b {axis = 1 : i64} : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x8xf32>
  %c = llm.slice %x {starts = array<i64: 0, 0>, ends = array<i64: 2, 4>, steps = array<i64: 1, 1>} : (tensor<4x8xf32>) -> tensor<2x4xf32>
  %d = llm.slice %x {starts = array<i64: 0, 4>, ends = array<i64: 2, 8>, steps = array<i64: 1, 1>} : (tensor<4x8xf32>) -> tensor<2x4xf32>
  %cut = llm.concat %c, %d {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x8xf32>
  %e = llm.slice %i {starts = array<i64: 0, 4>, ends = array<i64: 4, 8>, steps = array<i64: 1, 1>} : (tensor<4x8xi32>) -> tensor<4x4xi32>
  %f = llm.neg %e : tensor<4x4xi32>
  %g = llm.slice %i {starts = array<i64: 0, 0>, ends = array<i64: 4, 4>, steps = array<i64: 1, 1>} : (tensor<4x8xi32>) -> tensor<4x4xi32>
  %int = llm.concat %f, %g {axis = 1 : i64} : (tensor<4x4xi32>, tensor<4x4xi32>) -> tensor<4x8xi32>
  %xy = llm.concat %x, %y {axis = 1 : i64} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x16xf32>
  return %two, %cut, %int, %xy : tensor<4x8xf32>, tensor<2x8xf32>, tensor<4x8xi32>, tensor<4x16xf32>
}

// -----

// A partial rotary embedding on the heads' transpose (Phi's): rotate_half
// of its rotated part becomes a gather first; then the slices of the
// transpose are slices of its input, transposed: the gather reads the
// untransposed heads, and the rotated and passed-through parts read views
// of the input (no slice of a transposed copy is left).
// CHECK-LABEL: func.func @partial_rotary
// CHECK-DAG: %[[IDX:.*]] = llm.constant dense<[4, 5, 6, 7, 0, 1, 2, 3]> : tensor<8xi64>
// CHECK: %[[ROT:.*]] = llm.slice %arg0 {ends = array<i64: 2, 5, 3, 8>, starts = array<i64: 0, 0, 0, 0>, {{.*}} -> tensor<2x5x3x8xf32>
// CHECK: %[[ROTT:.*]] = llm.transpose %[[ROT]] {permutation = array<i64: 0, 2, 1, 3>}
// CHECK: %[[PASS:.*]] = llm.slice %arg0 {ends = array<i64: 2, 5, 3, 16>, starts = array<i64: 0, 0, 0, 8>, {{.*}} -> tensor<2x5x3x8xf32>
// CHECK: %[[PASST:.*]] = llm.transpose %[[PASS]] {permutation = array<i64: 0, 2, 1, 3>}
// CHECK: %[[G:.*]] = llm.gather %[[ROT]], %[[IDX]] {axis = 3 : i64}
// CHECK: %[[GT:.*]] = llm.transpose %[[G]]
// CHECK: %[[S:.*]] = llm.mul %[[GT]],
// CHECK: %[[M:.*]] = llm.mul %[[S]], %arg1
// CHECK: %[[A:.*]] = llm.add %[[ROTT]], %[[M]]
// CHECK: llm.concat %[[A]], %[[PASST]] {axis = 3 : i64}
// CHECK-NOT: llm.slice
func.func @partial_rotary(%x: tensor<2x5x3x16xf32>, %c: tensor<2x3x5x8xf32>) -> tensor<2x3x5x16xf32> {
  %t = llm.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x5x3x16xf32>) -> tensor<2x3x5x16xf32>
  %rot = llm.slice %t {starts = array<i64: 0, 0, 0, 0>, ends = array<i64: 2, 3, 5, 8>, steps = array<i64: 1, 1, 1, 1>} : (tensor<2x3x5x16xf32>) -> tensor<2x3x5x8xf32>
  %pass = llm.slice %t {starts = array<i64: 0, 0, 0, 8>, ends = array<i64: 2, 3, 5, 16>, steps = array<i64: 1, 1, 1, 1>} : (tensor<2x3x5x16xf32>) -> tensor<2x3x5x8xf32>
  %hi = llm.slice %rot {starts = array<i64: 0, 0, 0, 4>, ends = array<i64: 2, 3, 5, 8>, steps = array<i64: 1, 1, 1, 1>} : (tensor<2x3x5x8xf32>) -> tensor<2x3x5x4xf32>
  %neg = llm.neg %hi : tensor<2x3x5x4xf32>
  %lo = llm.slice %rot {starts = array<i64: 0, 0, 0, 0>, ends = array<i64: 2, 3, 5, 4>, steps = array<i64: 1, 1, 1, 1>} : (tensor<2x3x5x8xf32>) -> tensor<2x3x5x4xf32>
  %half = llm.concat %neg, %lo {axis = 3 : i64} : (tensor<2x3x5x4xf32>, tensor<2x3x5x4xf32>) -> tensor<2x3x5x8xf32>
  %m = llm.mul %half, %c : (tensor<2x3x5x8xf32>, tensor<2x3x5x8xf32>) -> tensor<2x3x5x8xf32>
  %a = llm.add %rot, %m : (tensor<2x3x5x8xf32>, tensor<2x3x5x8xf32>) -> tensor<2x3x5x8xf32>
  %r = llm.concat %a, %pass {axis = 3 : i64} : (tensor<2x3x5x8xf32>, tensor<2x3x5x8xf32>) -> tensor<2x3x5x16xf32>
  return %r : tensor<2x3x5x16xf32>
}

// -----

// A slice of a transpose that is not its own inverse: each bound goes to
// the input dim it came from (result dim i is input dim perm[i]); a step
// moves with its dim.
// CHECK-LABEL: func.func @slice_permuted
// CHECK: %[[S:.*]] = llm.slice %arg0 {ends = array<i64: 4, 3, 8>, starts = array<i64: 1, 0, 2>, steps = array<i64: 1, 1, 2>} : (tensor<4x6x8xf32>) -> tensor<3x3x3xf32>
// CHECK: %[[T:.*]] = llm.transpose %[[S]] {permutation = array<i64: 1, 2, 0>} : (tensor<3x3x3xf32>) -> tensor<3x3x3xf32>
// CHECK: return %[[T]]
func.func @slice_permuted(%x: tensor<4x6x8xf32>) -> tensor<3x3x3xf32> {
  %t = llm.transpose %x {permutation = array<i64: 1, 2, 0>} : (tensor<4x6x8xf32>) -> tensor<6x8x4xf32>
  %s = llm.slice %t {starts = array<i64: 0, 2, 1>, ends = array<i64: 3, 8, 4>, steps = array<i64: 1, 2, 1>} : (tensor<6x8x4xf32>) -> tensor<3x3x3xf32>
  return %s : tensor<3x3x3xf32>
}

// -----

// A split of the heads' transpose (NeoX's q, k and v of [B, S, H, 3D]):
// the input splits along the dim the axis came from, each part transposed.
// CHECK-LABEL: func.func @split_heads
// CHECK: %[[P:.*]]:3 = llm.split %arg0 {axis = 3 : i64, sizes = array<i64: 16, 16, 16>} : (tensor<2x5x3x48xf32>)
// CHECK: %[[Q:.*]] = llm.transpose %[[P]]#0 {permutation = array<i64: 0, 2, 1, 3>}
// CHECK: %[[K:.*]] = llm.transpose %[[P]]#1
// CHECK: %[[V:.*]] = llm.transpose %[[P]]#2
// CHECK: return %[[Q]], %[[K]], %[[V]]
func.func @split_heads(%x: tensor<2x5x3x48xf32>) -> (tensor<2x3x5x16xf32>, tensor<2x3x5x16xf32>, tensor<2x3x5x16xf32>) {
  %t = llm.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x5x3x48xf32>) -> tensor<2x3x5x48xf32>
  %s:3 = llm.split %t {axis = 3 : i64, sizes = array<i64: 16, 16, 16>} : (tensor<2x3x5x48xf32>) -> (tensor<2x3x5x16xf32>, tensor<2x3x5x16xf32>, tensor<2x3x5x16xf32>)
  return %s#0, %s#1, %s#2 : tensor<2x3x5x16xf32>, tensor<2x3x5x16xf32>, tensor<2x3x5x16xf32>
}
