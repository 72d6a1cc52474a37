// RUN: llm-opt %s -split-input-file --canonicalize --verify-each | FileCheck %s

// A shape subgraph as exporters write it folds to one constant.
// CHECK-LABEL: func @shape_arithmetic
// CHECK-NEXT: %[[C:.*]] = llm.constant dense<[2, 8, 4, 4]> : tensor<4xi64>
// CHECK-NEXT: return %[[C]]
func.func @shape_arithmetic() -> tensor<4xi64> {
  %shape = llm.constant dense<[2, 8, 16]> : tensor<3xi64>
  %heads = llm.constant dense<4> : tensor<1xi64>
  %idx = llm.constant dense<[0, 1]> : tensor<2xi64>
  %last = llm.constant dense<2> : tensor<i64>
  %lead = llm.gather %shape, %idx {axis = 0 : i64} : (tensor<3xi64>, tensor<2xi64>) -> tensor<2xi64>
  %d = llm.gather %shape, %last {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %dd = llm.reshape %d : (tensor<i64>) -> tensor<1xi64>
  %hd = llm.div %dd, %heads : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  %r = llm.concat %lead, %heads, %hd {axis = 0 : i64} : (tensor<2xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<4xi64>
  return %r : tensor<4xi64>
}

// -----

// CHECK-LABEL: func @compare_where
// CHECK-NEXT: %[[C:.*]] = llm.constant dense<[1, 0, 3]> : tensor<3xi64>
// CHECK-NEXT: return %[[C]]
func.func @compare_where() -> tensor<3xi64> {
  %a = llm.constant dense<[1, -1, 3]> : tensor<3xi64>
  %neg1 = llm.constant dense<-1> : tensor<i64>
  %zero = llm.constant dense<0> : tensor<3xi64>
  %eq = llm.equal %a, %neg1 : (tensor<3xi64>, tensor<i64>) -> tensor<3xi1>
  %r = llm.where %eq, %zero, %a : (tensor<3xi1>, tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  return %r : tensor<3xi64>
}

// -----

// Integer division truncates toward zero, mod follows the divisor's sign.
// CHECK-LABEL: func @div_mod
// CHECK-DAG: llm.constant dense<[-3, 3]> : tensor<2xi64>
// CHECK-DAG: llm.constant dense<[2, -2]> : tensor<2xi64>
func.func @div_mod() -> (tensor<2xi64>, tensor<2xi64>) {
  %a = llm.constant dense<[-7, 7]> : tensor<2xi64>
  %b = llm.constant dense<[2, 2]> : tensor<2xi64>
  %c = llm.constant dense<[3, -3]> : tensor<2xi64>
  %q = llm.div %a, %b : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  %m = llm.mod %a, %c : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  return %q, %m : tensor<2xi64>, tensor<2xi64>
}

// -----

// Division by zero is left to run time.
// CHECK-LABEL: func @div_by_zero
// CHECK: llm.div
func.func @div_by_zero() -> tensor<1xi64> {
  %a = llm.constant dense<1> : tensor<1xi64>
  %z = llm.constant dense<0> : tensor<1xi64>
  %q = llm.div %a, %z : (tensor<1xi64>, tensor<1xi64>) -> tensor<1xi64>
  return %q : tensor<1xi64>
}

// -----

// CHECK-LABEL: func @identities
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NOT: llm.
// CHECK: return %[[X]], %[[X]], %[[X]], %[[X]]
func.func @identities(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %0 = llm.reshape %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = llm.transpose %x {permutation = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = llm.cast %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %3 = llm.slice %x {starts = array<i64: 0, 0>, ends = array<i64: 2, 3>, steps = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0, %1, %2, %3 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// Chained reshapes collapse into one.
// CHECK-LABEL: func @reshape_chain
// CHECK-NEXT: %[[R:.*]] = llm.reshape %{{.*}} : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @reshape_chain(%x: tensor<2x3x4xf32>) -> tensor<6x4xf32> {
  %0 = llm.reshape %x : (tensor<2x3x4xf32>) -> tensor<24xf32>
  %1 = llm.reshape %0 : (tensor<24xf32>) -> tensor<6x4xf32>
  return %1 : tensor<6x4xf32>
}

// -----

// A transpose that moves only unit dims, reshaped back to its input's type,
// is its input (GPT-BigCode's mask after the heads are lifted out of the
// query rows); one that reorders two dims of size > 1 is not.
// CHECK-LABEL: func @unit_dim_transpose
// CHECK-SAME: (%[[X:.*]]: tensor<3x1x12x12xf32>)
// CHECK-NEXT: %[[T:.*]] = llm.transpose %[[X]] {permutation = array<i64: 0, 3, 1, 2>}
// CHECK-NEXT: %[[R:.*]] = llm.reshape %[[T]]
// CHECK-NEXT: return %[[X]], %[[R]]
func.func @unit_dim_transpose(%x: tensor<3x1x12x12xf32>) -> (tensor<3x1x12x12xf32>, tensor<3x1x12x12xf32>) {
  %0 = llm.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : (tensor<3x1x12x12xf32>) -> tensor<3x12x1x12xf32>
  %1 = llm.reshape %0 : (tensor<3x12x1x12xf32>) -> tensor<3x1x12x12xf32>
  %2 = llm.transpose %x {permutation = array<i64: 0, 3, 1, 2>} : (tensor<3x1x12x12xf32>) -> tensor<3x12x1x12xf32>
  %3 = llm.reshape %2 : (tensor<3x12x1x12xf32>) -> tensor<3x1x12x12xf32>
  return %1, %3 : tensor<3x1x12x12xf32>, tensor<3x1x12x12xf32>
}

// -----

// reshape(transpose(reshape(y))) whose outer reshape only splits the
// transposed dims is a transpose of y reshaped: torchlib's key transpose
// for scaled_dot_product_attention ([B, H, S, D] as [-1, S, D], transposed,
// split back to [B, H, D, S]) is k^T of k, here after a GQA repeat (the
// merged dim splits 3 x 4, not 3 x 2 x 2 as it was merged). Two transposes
// compose; back to the identity they fold away. Left alone: an outer
// reshape that merges transposed dims.
// CHECK-LABEL: func @split_transposed_dims
// CHECK-SAME: (%[[K:.*]]: tensor<3x2x2x12x16xf32>, %[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[R:.*]] = llm.reshape %[[K]] : (tensor<3x2x2x12x16xf32>) -> tensor<3x4x12x16xf32>
// CHECK-NEXT: %[[T:.*]] = llm.transpose %[[R]] {permutation = array<i64: 0, 1, 3, 2>} : (tensor<3x4x12x16xf32>) -> tensor<3x4x16x12xf32>
// CHECK-NEXT: %[[M:.*]] = llm.reshape %[[X]] : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
// CHECK-NEXT: %[[MT:.*]] = llm.transpose %[[M]] {permutation = array<i64: 1, 0>} : (tensor<6x4xf32>) -> tensor<4x6xf32>
// CHECK-NEXT: %[[MR:.*]] = llm.reshape %[[MT]] : (tensor<4x6xf32>) -> tensor<24xf32>
// CHECK-NEXT: return %[[T]], %[[R]], %[[MR]]
func.func @split_transposed_dims(%k: tensor<3x2x2x12x16xf32>, %x: tensor<2x3x4xf32>) -> (tensor<3x4x16x12xf32>, tensor<3x4x12x16xf32>, tensor<24xf32>) {
  %0 = llm.reshape %k : (tensor<3x2x2x12x16xf32>) -> tensor<12x12x16xf32>
  %1 = llm.transpose %0 {permutation = array<i64: 0, 2, 1>} : (tensor<12x12x16xf32>) -> tensor<12x16x12xf32>
  %2 = llm.reshape %1 : (tensor<12x16x12xf32>) -> tensor<3x4x16x12xf32>
  %3 = llm.transpose %2 {permutation = array<i64: 0, 1, 3, 2>} : (tensor<3x4x16x12xf32>) -> tensor<3x4x12x16xf32>
  %4 = llm.reshape %x : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %5 = llm.transpose %4 {permutation = array<i64: 1, 0>} : (tensor<6x4xf32>) -> tensor<4x6xf32>
  %6 = llm.reshape %5 : (tensor<4x6xf32>) -> tensor<24xf32>
  return %2, %3, %6 : tensor<3x4x16x12xf32>, tensor<3x4x12x16xf32>, tensor<24xf32>
}

// -----

// Data movement folds for any element type; float arithmetic does not fold.
// CHECK-LABEL: func @float_constants
// CHECK-DAG: llm.constant dense<{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: llm.constant dense<[4.000000e+00, 3.000000e+00]> : tensor<2xf32>
// CHECK: llm.add
func.func @float_constants() -> (tensor<2x2xf32>, tensor<2xf32>, tensor<2x2xf32>) {
  %a = llm.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %t = llm.transpose %a {permutation = array<i64: 1, 0>} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %flat = llm.reshape %a : (tensor<2x2xf32>) -> tensor<4xf32>
  %rev = llm.slice %flat {starts = array<i64: 3>, ends = array<i64: 1>, steps = array<i64: -1>} : (tensor<4xf32>) -> tensor<2xf32>
  %s = llm.add %a, %a : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %t, %rev, %s : tensor<2x2xf32>, tensor<2xf32>, tensor<2x2xf32>
}

// -----

// CHECK-LABEL: func @casts
// CHECK-DAG: llm.constant dense<[1.000000e+00, -2.000000e+00]> : tensor<2xf32>
// CHECK-DAG: llm.constant dense<[true, false]> : tensor<2xi1>
// CHECK-DAG: llm.constant dense<[2, -1]> : tensor<2xi32>
func.func @casts() -> (tensor<2xf32>, tensor<2xi1>, tensor<2xi32>) {
  %a = llm.constant dense<[1, -2]> : tensor<2xi64>
  %f = llm.cast %a : (tensor<2xi64>) -> tensor<2xf32>
  %z = llm.constant dense<[3, 0]> : tensor<2xi64>
  %b = llm.cast %z : (tensor<2xi64>) -> tensor<2xi1>
  %g = llm.constant dense<[2.7, -1.5]> : tensor<2xf32>
  %i = llm.cast %g : (tensor<2xf32>) -> tensor<2xi32>
  return %f, %b, %i : tensor<2xf32>, tensor<2xi1>, tensor<2xi32>
}

// -----

// Results over the folding limit (65536 elements) are never materialized;
// splats are cheap at any size.
// CHECK-LABEL: func @large_stays
// CHECK-DAG: llm.constant dense<7> : tensor<30000x3xi64>
// CHECK-DAG: llm.expand %{{.*}} : (tensor<1x3xi64>) -> tensor<30000x3xi64>
func.func @large_stays() -> (tensor<30000x3xi64>, tensor<30000x3xi64>) {
  %c = llm.constant dense<[[1, 2, 3]]> : tensor<1x3xi64>
  %big = llm.expand %c : (tensor<1x3xi64>) -> tensor<30000x3xi64>
  %s = llm.constant dense<7> : tensor<1x1xi64>
  %splat = llm.expand %s : (tensor<1x1xi64>) -> tensor<30000x3xi64>
  return %big, %splat : tensor<30000x3xi64>, tensor<30000x3xi64>
}

// -----

// A split of a constant folds to its pieces (torch's repeat_interleave
// splits its repeat counts); a split of a run-time value stays.
// CHECK-LABEL: func @split_constant
// CHECK-DAG: %[[A:.*]] = llm.constant dense<{{\[\[}}1, 2], [5, 6]]> : tensor<2x2xi64>
// CHECK-DAG: %[[B:.*]] = llm.constant dense<{{\[\[}}3], [7]]> : tensor<2x1xi64>
// CHECK-DAG: %[[C:.*]] = llm.constant dense<{{\[\[}}4], [8]]> : tensor<2x1xi64>
// CHECK: %[[P:.*]]:2 = llm.split %arg0
// CHECK: return %[[A]], %[[B]], %[[C]], %[[P]]#1
func.func @split_constant(%x: tensor<4xf32>) -> (tensor<2x2xi64>, tensor<2x1xi64>, tensor<2x1xi64>, tensor<3xf32>) {
  %c = llm.constant dense<[[1, 2, 3, 4], [5, 6, 7, 8]]> : tensor<2x4xi64>
  %0:3 = llm.split %c {axis = 1 : i64, sizes = array<i64: 2, 1, 1>} : (tensor<2x4xi64>) -> (tensor<2x2xi64>, tensor<2x1xi64>, tensor<2x1xi64>)
  %1:2 = llm.split %x {axis = 0 : i64, sizes = array<i64: 1, 3>} : (tensor<4xf32>) -> (tensor<1xf32>, tensor<3xf32>)
  return %0#0, %0#1, %0#2, %1#1 : tensor<2x2xi64>, tensor<2x1xi64>, tensor<2x1xi64>, tensor<3xf32>
}

// -----

// not(not(x)) is x; a single not stays.
// CHECK-LABEL: func @double_not
// CHECK-NEXT: %[[N:.*]] = llm.not %arg0
// CHECK-NEXT: return %arg0, %[[N]]
func.func @double_not(%x: tensor<2x3xi1>) -> (tensor<2x3xi1>, tensor<2x3xi1>) {
  %0 = llm.not %x : tensor<2x3xi1>
  %1 = llm.not %0 : tensor<2x3xi1>
  return %1, %0 : tensor<2x3xi1>, tensor<2x3xi1>
}

// -----

// A float round trip through a wider type is the input; through a narrower
// one it rounds and stays.
// CHECK-LABEL: func @cast_round_trip
// CHECK-NEXT: %[[N:.*]] = llm.cast %arg1 : (tensor<4xf32>) -> tensor<4xbf16>
// CHECK-NEXT: %[[W:.*]] = llm.cast %[[N]] : (tensor<4xbf16>) -> tensor<4xf32>
// CHECK-NEXT: return %arg0, %[[W]]
func.func @cast_round_trip(%x: tensor<4xbf16>, %y: tensor<4xf32>) -> (tensor<4xbf16>, tensor<4xf32>) {
  %0 = llm.cast %x : (tensor<4xbf16>) -> tensor<4xf32>
  %1 = llm.cast %0 : (tensor<4xf32>) -> tensor<4xbf16>
  %2 = llm.cast %y : (tensor<4xf32>) -> tensor<4xbf16>
  %3 = llm.cast %2 : (tensor<4xbf16>) -> tensor<4xf32>
  return %1, %3 : tensor<4xbf16>, tensor<4xf32>
}

// -----

// A reshaped weight blob folds to a constant of the same blob (a
// convolution's [M, C, K] kernel as the matmul's [M, C * K]).
// CHECK-LABEL: func @reshape_resource
// CHECK-NEXT: %[[W:.*]] = llm.constant dense_resource<kernel> : tensor<2x6xf32>
// CHECK-NEXT: return %[[W]]
func.func @reshape_resource() -> tensor<2x6xf32> {
  %w = llm.constant dense_resource<kernel> : tensor<2x2x3xf32>
  %r = llm.reshape %w : (tensor<2x2x3xf32>) -> tensor<2x6xf32>
  return %r : tensor<2x6xf32>
}

{-#
  dialect_resources: {
    builtin: {
      kernel: "0x04000000000000000000803F0000004000004040000080400000A0400000C0400000E0400000004100001041000020410000304100004041"
    }
  }
#-}

// -----

// On integers wider than i1, and/xor/not fold bitwise.
// CHECK-LABEL: func @bitwise_constants
// CHECK-DAG: llm.constant dense<[8, 2]> : tensor<2xi32>
// CHECK-DAG: llm.constant dense<[6, -3]> : tensor<2xi32>
// CHECK-DAG: llm.constant dense<[-13, -7]> : tensor<2xi32>
func.func @bitwise_constants() -> (tensor<2xi32>, tensor<2xi32>, tensor<2xi32>) {
  %a = llm.constant dense<[12, 6]> : tensor<2xi32>
  %b = llm.constant dense<[10, -5]> : tensor<2xi32>
  %0 = llm.and %a, %b : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
  %1 = llm.xor %a, %b : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
  %2 = llm.not %a : tensor<2xi32>
  return %0, %1, %2 : tensor<2xi32>, tensor<2xi32>, tensor<2xi32>
}

// -----

// Shifts of unsigned bytes fold as ONNX's BitShift: 0xF0 (-16) left by 1
// is 0xE0 (-32), right by 1 is 0x78 (120, not -8); a shift by the width
// (8) or more is 0.
// CHECK-LABEL: func @shift_constants
// CHECK-DAG: llm.constant dense<[-32, 0, 0, 60]> : tensor<4xi8>
// CHECK-DAG: llm.constant dense<[120, 0, 0, 3]> : tensor<4xi8>
// CHECK-NOT: llm.shift
func.func @shift_constants() -> (tensor<4xi8>, tensor<4xi8>) {
  %a = llm.constant dense<[-16, 1, -1, 15]> : tensor<4xi8>
  %s = llm.constant dense<[1, 8, 9, 2]> : tensor<4xi8>
  %0 = llm.shift_left %a, %s : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi8>
  %1 = llm.shift_right %a, %s : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi8>
  return %0, %1 : tensor<4xi8>, tensor<4xi8>
}

// -----

// Empty pieces of a concat are dropped (torch.roll by a multiple of the dim
// exports a concat with an empty slice); a concat left with one piece is
// that piece.
// CHECK-LABEL: func @concat_empty
// CHECK-SAME: (%[[A:.*]]: tensor<1x8xf32>, %[[B:.*]]: tensor<0x8xf32>, %[[C:.*]]: tensor<2x8xf32>)
// CHECK: %[[J:.*]] = llm.concat %[[A]], %[[C]] {axis = 0 : i64} : (tensor<1x8xf32>, tensor<2x8xf32>) -> tensor<3x8xf32>
// CHECK: %[[K:.*]] = llm.concat %[[B]], %[[B]]
// CHECK: return %[[A]], %[[J]], %[[K]] :
func.func @concat_empty(%a: tensor<1x8xf32>, %b: tensor<0x8xf32>, %c: tensor<2x8xf32>) -> (tensor<1x8xf32>, tensor<3x8xf32>, tensor<0x8xf32>) {
  %0 = llm.concat %a, %b {axis = 0 : i64} : (tensor<1x8xf32>, tensor<0x8xf32>) -> tensor<1x8xf32>
  %1 = llm.concat %a, %b, %c {axis = 0 : i64} : (tensor<1x8xf32>, tensor<0x8xf32>, tensor<2x8xf32>) -> tensor<3x8xf32>
  // Every piece empty: nothing to drop.
  %2 = llm.concat %b, %b {axis = 0 : i64} : (tensor<0x8xf32>, tensor<0x8xf32>) -> tensor<0x8xf32>
  return %0, %1, %2 : tensor<1x8xf32>, tensor<3x8xf32>, tensor<0x8xf32>
}

// -----

// torch.repeat_interleave(k, 2, dim=1) as torch.onnx writes it: a split into
// the heads, each unsqueezed, expanded and merged back, the repeats
// concatenated in order. It becomes the repeat of k itself (repeat_kv's
// form), which llm-fuse-attention reads as grouped heads.
// CHECK-LABEL: func @repeat_interleave_heads
// CHECK-SAME: (%[[K:.*]]: tensor<1x3x5x4xf32>)
// CHECK-NEXT: %[[U:.*]] = llm.reshape %[[K]] : (tensor<1x3x5x4xf32>) -> tensor<1x3x1x5x4xf32>
// CHECK-NEXT: %[[E:.*]] = llm.expand %[[U]] : (tensor<1x3x1x5x4xf32>) -> tensor<1x3x2x5x4xf32>
// CHECK-NEXT: %[[R:.*]] = llm.reshape %[[E]] : (tensor<1x3x2x5x4xf32>) -> tensor<1x6x5x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @repeat_interleave_heads(%k: tensor<1x3x5x4xf32>) -> tensor<1x6x5x4xf32> {
  %s:3 = llm.split %k {axis = 1 : i64, sizes = array<i64: 1, 1, 1>} : (tensor<1x3x5x4xf32>) -> (tensor<1x1x5x4xf32>, tensor<1x1x5x4xf32>, tensor<1x1x5x4xf32>)
  %u0 = llm.reshape %s#0 : (tensor<1x1x5x4xf32>) -> tensor<1x1x1x5x4xf32>
  %e0 = llm.expand %u0 : (tensor<1x1x1x5x4xf32>) -> tensor<1x1x2x5x4xf32>
  %r0 = llm.reshape %e0 : (tensor<1x1x2x5x4xf32>) -> tensor<1x2x5x4xf32>
  %u1 = llm.reshape %s#1 : (tensor<1x1x5x4xf32>) -> tensor<1x1x1x5x4xf32>
  %e1 = llm.expand %u1 : (tensor<1x1x1x5x4xf32>) -> tensor<1x1x2x5x4xf32>
  %r1 = llm.reshape %e1 : (tensor<1x1x2x5x4xf32>) -> tensor<1x2x5x4xf32>
  %u2 = llm.reshape %s#2 : (tensor<1x1x5x4xf32>) -> tensor<1x1x1x5x4xf32>
  %e2 = llm.expand %u2 : (tensor<1x1x1x5x4xf32>) -> tensor<1x1x2x5x4xf32>
  %r2 = llm.reshape %e2 : (tensor<1x1x2x5x4xf32>) -> tensor<1x2x5x4xf32>
  %c = llm.concat %r0, %r1, %r2 {axis = 1 : i64} : (tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x6x5x4xf32>
  return %c : tensor<1x6x5x4xf32>
}

// -----

// Each slice expanded along the axis itself is the same repeat.
// CHECK-LABEL: func @repeat_interleave_expanded
// CHECK-NEXT: llm.reshape %arg0 : (tensor<2x3xf32>) -> tensor<2x1x3xf32>
// CHECK-NEXT: llm.expand {{.*}} -> tensor<2x4x3xf32>
// CHECK-NEXT: llm.reshape {{.*}} -> tensor<8x3xf32>
func.func @repeat_interleave_expanded(%x: tensor<2x3xf32>) -> tensor<8x3xf32> {
  %s:2 = llm.split %x {axis = 0 : i64, sizes = array<i64: 1, 1>} : (tensor<2x3xf32>) -> (tensor<1x3xf32>, tensor<1x3xf32>)
  %e0 = llm.expand %s#0 : (tensor<1x3xf32>) -> tensor<4x3xf32>
  %e1 = llm.expand %s#1 : (tensor<1x3xf32>) -> tensor<4x3xf32>
  %c = llm.concat %e0, %e1 {axis = 0 : i64} : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<8x3xf32>
  return %c : tensor<8x3xf32>
}

// -----

// Not a repeat_interleave: the slices out of order (a permutation of the
// heads), repeated unequally, or not all of the split's, and an unsqueeze
// away from the axis (each row's elements repeated, then read as rows: a
// transposed repeat) all stay.
// CHECK-LABEL: func @not_repeat_interleave
// CHECK-COUNT-4: llm.concat
func.func @not_repeat_interleave(%x: tensor<2x3xf32>, %y: tensor<3x2xf32>, %z: tensor<3x3xf32>) -> (tensor<8x3xf32>, tensor<6x3xf32>, tensor<4x3xf32>, tensor<6x2xf32>) {
  %s:2 = llm.split %x {axis = 0 : i64, sizes = array<i64: 1, 1>} : (tensor<2x3xf32>) -> (tensor<1x3xf32>, tensor<1x3xf32>)
  %e0 = llm.expand %s#0 : (tensor<1x3xf32>) -> tensor<4x3xf32>
  %e1 = llm.expand %s#1 : (tensor<1x3xf32>) -> tensor<4x3xf32>
  %swapped = llm.concat %e1, %e0 {axis = 0 : i64} : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<8x3xf32>
  %f1 = llm.expand %s#1 : (tensor<1x3xf32>) -> tensor<2x3xf32>
  %unequal = llm.concat %e0, %f1 {axis = 0 : i64} : (tensor<4x3xf32>, tensor<2x3xf32>) -> tensor<6x3xf32>
  %w:3 = llm.split %z {axis = 0 : i64, sizes = array<i64: 1, 1, 1>} : (tensor<3x3xf32>) -> (tensor<1x3xf32>, tensor<1x3xf32>, tensor<1x3xf32>)
  %g0 = llm.expand %w#0 : (tensor<1x3xf32>) -> tensor<2x3xf32>
  %g1 = llm.expand %w#1 : (tensor<1x3xf32>) -> tensor<2x3xf32>
  %partial = llm.concat %g0, %g1 {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %t:3 = llm.split %y {axis = 0 : i64, sizes = array<i64: 1, 1, 1>} : (tensor<3x2xf32>) -> (tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>)
  %u0 = llm.reshape %t#0 : (tensor<1x2xf32>) -> tensor<1x2x1xf32>
  %x0 = llm.expand %u0 : (tensor<1x2x1xf32>) -> tensor<1x2x2xf32>
  %m0 = llm.reshape %x0 : (tensor<1x2x2xf32>) -> tensor<2x2xf32>
  %u1 = llm.reshape %t#1 : (tensor<1x2xf32>) -> tensor<1x2x1xf32>
  %x1 = llm.expand %u1 : (tensor<1x2x1xf32>) -> tensor<1x2x2xf32>
  %m1 = llm.reshape %x1 : (tensor<1x2x2xf32>) -> tensor<2x2xf32>
  %u2 = llm.reshape %t#2 : (tensor<1x2xf32>) -> tensor<1x2x1xf32>
  %x2 = llm.expand %u2 : (tensor<1x2x1xf32>) -> tensor<1x2x2xf32>
  %m2 = llm.reshape %x2 : (tensor<1x2x2xf32>) -> tensor<2x2xf32>
  %far = llm.concat %m0, %m1, %m2 {axis = 0 : i64} : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<6x2xf32>
  return %swapped, %unequal, %partial, %far : tensor<8x3xf32>, tensor<6x3xf32>, tensor<4x3xf32>, tensor<6x2xf32>
}
