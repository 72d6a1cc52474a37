// RUN: llm-opt %s -split-input-file --llm-fuse-norms --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-fuse-norms=remarks=true -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REMARK

// nn.LayerNorm as torch.onnx.export writes it before opset 17: Pow, Div by
// Sqrt, then the scale multiply and the bias add.
// CHECK-LABEL: func @layer_norm_torch
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x16xf32>, %[[W:.*]]: tensor<16xf32>, %[[B:.*]]: tensor<16xf32>)
// CHECK: %[[N:.*]] = llm.layer_norm %[[X]], %[[W]], %[[B]] {axis = 2 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<2x4x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
// CHECK-NOT: llm.reduce_mean
// CHECK-NOT: llm.sub
// CHECK-NOT: llm.pow
// CHECK-NOT: llm.sqrt
// CHECK-NOT: llm.div
// CHECK-NOT: llm.mul
// CHECK-NOT: llm.add
// CHECK: return %[[N]]
func.func @layer_norm_torch(%x: tensor<2x4x16xf32>, %w: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<2x4x16xf32> {
  %two = llm.constant dense<2.0> : tensor<f32>
  %eps = llm.constant dense<1.0e-5> : tensor<f32>
  %0 = llm.reduce_mean %x {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %1 = llm.sub %x, %0 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %2 = llm.pow %1, %two : (tensor<2x4x16xf32>, tensor<f32>) -> tensor<2x4x16xf32>
  %3 = llm.reduce_mean %2 {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %4 = llm.add %3, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %5 = llm.sqrt %4 : tensor<2x4x1xf32>
  %6 = llm.div %1, %5 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %7 = llm.mul %6, %w : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
  %8 = llm.add %7, %b : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
  return %8 : tensor<2x4x16xf32>
}

// -----

// The square as d * d, a multiply by rsqrt with the operands swapped, eps
// first, and the scale and bias on the left; the bias has a leading unit
// dim, which a reshape drops.
// CHECK-LABEL: func @layer_norm_rsqrt
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x16xf32>, %[[W:.*]]: tensor<16xf32>, %[[B:.*]]: tensor<1x16xf32>)
// CHECK: %[[B16:.*]] = llm.reshape %[[B]] : (tensor<1x16xf32>) -> tensor<16xf32>
// CHECK: %[[N:.*]] = llm.layer_norm %[[X]], %[[W]], %[[B16]] {axis = 2 : i64, epsilon = 9.99999996E-13 : f32}
// CHECK-NOT: llm.rsqrt
// CHECK-NOT: llm.mul
// CHECK: return %[[N]]
func.func @layer_norm_rsqrt(%x: tensor<2x4x16xf32>, %w: tensor<16xf32>, %b: tensor<1x16xf32>) -> tensor<2x4x16xf32> {
  %eps = llm.constant dense<1.0e-12> : tensor<1xf32>
  %0 = llm.reduce_mean %x {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %1 = llm.sub %x, %0 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %2 = llm.mul %1, %1 : (tensor<2x4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %3 = llm.reduce_mean %2 {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %4 = llm.add %eps, %3 : (tensor<1xf32>, tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %5 = llm.rsqrt %4 : tensor<2x4x1xf32>
  %6 = llm.mul %5, %1 : (tensor<2x4x1xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %7 = llm.mul %w, %6 : (tensor<16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %8 = llm.add %b, %7 : (tensor<1x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %8 : tensor<2x4x16xf32>
}

// -----

// No affine parameters (elementwise_affine=False), reciprocal of sqrt: the
// scale is a ones constant of the normalized dims, there is no bias.
// CHECK-LABEL: func @layer_norm_reciprocal
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x16xf32>)
// CHECK: %[[ONES:.*]] = llm.constant dense<1.000000e+00> : tensor<16xf32>
// CHECK: %[[N:.*]] = llm.layer_norm %[[X]], %[[ONES]] {axis = 2 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
// CHECK-NOT: llm.reciprocal
// CHECK: return %[[N]]
func.func @layer_norm_reciprocal(%x: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %two = llm.constant dense<2.0> : tensor<f32>
  %eps = llm.constant dense<1.0e-5> : tensor<f32>
  %0 = llm.reduce_mean %x {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %1 = llm.sub %x, %0 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %2 = llm.pow %1, %two : (tensor<2x4x16xf32>, tensor<f32>) -> tensor<2x4x16xf32>
  %3 = llm.reduce_mean %2 {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %4 = llm.add %3, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %5 = llm.sqrt %4 : tensor<2x4x1xf32>
  %6 = llm.reciprocal %5 : tensor<2x4x1xf32>
  %7 = llm.mul %1, %6 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  return %7 : tensor<2x4x16xf32>
}

// -----

// Normalized over the two trailing dims (axes listed in any order), with
// 1 / sqrt: axis is the first of them and the parameters have both dims.
// CHECK-LABEL: func @layer_norm_two_axes
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x16xf32>, %[[W:.*]]: tensor<4x16xf32>)
// CHECK: %[[N:.*]] = llm.layer_norm %[[X]], %[[W]] {axis = 1 : i64, epsilon = 9.99999974E-6 : f32} : (tensor<2x4x16xf32>, tensor<4x16xf32>) -> tensor<2x4x16xf32>
// CHECK-NOT: llm.div
// CHECK: return %[[N]]
func.func @layer_norm_two_axes(%x: tensor<2x4x16xf32>, %w: tensor<4x16xf32>) -> tensor<2x4x16xf32> {
  %one = llm.constant dense<1.0> : tensor<f32>
  %two = llm.constant dense<2.0> : tensor<f32>
  %eps = llm.constant dense<1.0e-5> : tensor<f32>
  %0 = llm.reduce_mean %x {axes = array<i64: 1, 2>} : (tensor<2x4x16xf32>) -> tensor<2x1x1xf32>
  %1 = llm.sub %x, %0 : (tensor<2x4x16xf32>, tensor<2x1x1xf32>) -> tensor<2x4x16xf32>
  %2 = llm.pow %1, %two : (tensor<2x4x16xf32>, tensor<f32>) -> tensor<2x4x16xf32>
  %3 = llm.reduce_mean %2 {axes = array<i64: 2, 1>} : (tensor<2x4x16xf32>) -> tensor<2x1x1xf32>
  %4 = llm.add %3, %eps : (tensor<2x1x1xf32>, tensor<f32>) -> tensor<2x1x1xf32>
  %5 = llm.sqrt %4 : tensor<2x1x1xf32>
  %6 = llm.div %one, %5 : (tensor<f32>, tensor<2x1x1xf32>) -> tensor<2x1x1xf32>
  %7 = llm.mul %1, %6 : (tensor<2x4x16xf32>, tensor<2x1x1xf32>) -> tensor<2x4x16xf32>
  %8 = llm.mul %7, %w : (tensor<2x4x16xf32>, tensor<4x16xf32>) -> tensor<2x4x16xf32>
  return %8 : tensor<2x4x16xf32>
}

// -----

// Llama's RMSNorm as exported: the casts to f32 and back are no-ops on f32
// and fold; torch.rsqrt is Div(1, Sqrt); the weight multiplies from the left.
// CHECK-LABEL: func @rms_norm_llama
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x16xf32>, %[[W:.*]]: tensor<16xf32>)
// CHECK: %[[N:.*]] = llm.rms_norm %[[X]], %[[W]] {axis = 2 : i64, epsilon = 9.99999997E-7 : f32} : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
// CHECK-NOT: llm.cast
// CHECK-NOT: llm.reduce_mean
// CHECK-NOT: llm.pow
// CHECK-NOT: llm.sqrt
// CHECK-NOT: llm.div
// CHECK-NOT: llm.mul
// CHECK: return %[[N]]
func.func @rms_norm_llama(%x: tensor<2x4x16xf32>, %w: tensor<16xf32>) -> tensor<2x4x16xf32> {
  %one = llm.constant dense<1.0> : tensor<f32>
  %two = llm.constant dense<2.0> : tensor<f32>
  %eps = llm.constant dense<1.0e-6> : tensor<f32>
  %0 = llm.cast %x : (tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %1 = llm.pow %0, %two : (tensor<2x4x16xf32>, tensor<f32>) -> tensor<2x4x16xf32>
  %2 = llm.reduce_mean %1 {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %3 = llm.add %2, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %4 = llm.sqrt %3 : tensor<2x4x1xf32>
  %5 = llm.div %one, %4 : (tensor<f32>, tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %6 = llm.mul %0, %5 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %7 = llm.cast %6 : (tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %8 = llm.mul %w, %7 : (tensor<16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %8 : tensor<2x4x16xf32>
}

// -----

// x * rsqrt(mean(x * x) + eps) with rsqrt first, and x / sqrt(..) without a
// scale.
// CHECK-LABEL: func @rms_norm_forms
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf32>, %[[W:.*]]: tensor<16xf32>)
// CHECK-DAG: %[[ONES:.*]] = llm.constant dense<1.000000e+00> : tensor<16xf32>
// CHECK-DAG: %[[A:.*]] = llm.rms_norm %[[X]], %[[W]] {axis = 1 : i64, epsilon = 9.99999974E-6 : f32}
// CHECK-DAG: %[[B:.*]] = llm.rms_norm %[[X]], %[[ONES]] {axis = 1 : i64, epsilon = 9.99999974E-6 : f32}
// CHECK-NOT: llm.rsqrt
// CHECK-NOT: llm.sqrt
// CHECK: return %[[A]], %[[B]]
func.func @rms_norm_forms(%x: tensor<4x16xf32>, %w: tensor<16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %eps = llm.constant dense<1.0e-5> : tensor<f32>
  %0 = llm.mul %x, %x : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %1 = llm.reduce_mean %0 {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %2 = llm.add %1, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %3 = llm.rsqrt %2 : tensor<4x1xf32>
  %4 = llm.mul %3, %x : (tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %5 = llm.mul %4, %w : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %two = llm.constant dense<2.0> : tensor<f32>
  %6 = llm.pow %x, %two : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %7 = llm.reduce_mean %6 {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %8 = llm.add %eps, %7 : (tensor<f32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  %9 = llm.sqrt %8 : tensor<4x1xf32>
  %10 = llm.div %x, %9 : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %5, %10 : tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// f16 throughout: the f16 eps converts to the f32 attribute exactly.
// CHECK-LABEL: func @rms_norm_f16
// CHECK: llm.rms_norm %{{.*}}, %{{.*}} {axis = 1 : i64, epsilon = 1.00135803E-5 : f32} : (tensor<4x16xf16>, tensor<16xf16>) -> tensor<4x16xf16>
// CHECK-NOT: llm.rsqrt
func.func @rms_norm_f16(%x: tensor<4x16xf16>, %w: tensor<16xf16>) -> tensor<4x16xf16> {
  %two = llm.constant dense<2.0> : tensor<f16>
  %eps = llm.constant dense<1.0e-5> : tensor<f16>
  %0 = llm.pow %x, %two : (tensor<4x16xf16>, tensor<f16>) -> tensor<4x16xf16>
  %1 = llm.reduce_mean %0 {axes = array<i64: 1>} : (tensor<4x16xf16>) -> tensor<4x1xf16>
  %2 = llm.add %1, %eps : (tensor<4x1xf16>, tensor<f16>) -> tensor<4x1xf16>
  %3 = llm.rsqrt %2 : tensor<4x1xf16>
  %4 = llm.mul %x, %3 : (tensor<4x16xf16>, tensor<4x1xf16>) -> tensor<4x16xf16>
  %5 = llm.mul %4, %w : (tensor<4x16xf16>, tensor<16xf16>) -> tensor<4x16xf16>
  return %5 : tensor<4x16xf16>
}

// -----

// Llama in f16: the norm is computed in f32 between the casts and fuses
// there; the weight multiply after the downcast rounds the normalized value
// to f16 first, which a fused f16 scale would not, so it stays.
// CHECK-LABEL: func @rms_norm_upcast
// CHECK-SAME: (%[[X:.*]]: tensor<4x16xf16>, %[[W:.*]]: tensor<16xf16>)
// CHECK-DAG: %[[ONES:.*]] = llm.constant dense<1.000000e+00> : tensor<16xf32>
// CHECK-DAG: %[[UP:.*]] = llm.cast %[[X]] : (tensor<4x16xf16>) -> tensor<4x16xf32>
// CHECK: %[[N:.*]] = llm.rms_norm %[[UP]], %[[ONES]] {axis = 1 : i64, epsilon = 9.99999997E-7 : f32} : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
// CHECK: %[[DOWN:.*]] = llm.cast %[[N]] : (tensor<4x16xf32>) -> tensor<4x16xf16>
// CHECK: %[[Y:.*]] = llm.mul %[[W]], %[[DOWN]]
// CHECK: return %[[Y]]
func.func @rms_norm_upcast(%x: tensor<4x16xf16>, %w: tensor<16xf16>) -> tensor<4x16xf16> {
  %two = llm.constant dense<2.0> : tensor<f32>
  %eps = llm.constant dense<1.0e-6> : tensor<f32>
  %0 = llm.cast %x : (tensor<4x16xf16>) -> tensor<4x16xf32>
  %1 = llm.pow %0, %two : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %2 = llm.reduce_mean %1 {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %3 = llm.add %2, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %4 = llm.rsqrt %3 : tensor<4x1xf32>
  %5 = llm.mul %0, %4 : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %6 = llm.cast %5 : (tensor<4x16xf32>) -> tensor<4x16xf16>
  %7 = llm.mul %w, %6 : (tensor<16xf16>, tensor<4x16xf16>) -> tensor<4x16xf16>
  return %7 : tensor<4x16xf16>
}

// -----

// Not a norm: the exponent is 3.
// CHECK-LABEL: func @wrong_exponent
// CHECK-NOT: llm.layer_norm
// CHECK-NOT: llm.rms_norm
// CHECK: llm.pow
// CHECK: llm.sqrt
// CHECK: llm.div
func.func @wrong_exponent(%x: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %three = llm.constant dense<3.0> : tensor<f32>
  %eps = llm.constant dense<1.0e-5> : tensor<f32>
  %0 = llm.reduce_mean %x {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %1 = llm.sub %x, %0 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %2 = llm.pow %1, %three : (tensor<2x4x16xf32>, tensor<f32>) -> tensor<2x4x16xf32>
  %3 = llm.reduce_mean %2 {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %4 = llm.add %3, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %5 = llm.sqrt %4 : tensor<2x4x1xf32>
  %6 = llm.div %1, %5 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  return %6 : tensor<2x4x16xf32>
}

// -----

// Not a norm op: the reductions run over dim 1, not the trailing dims.
// CHECK-LABEL: func @non_trailing_axis
// CHECK-NOT: llm.layer_norm
// CHECK-NOT: llm.rms_norm
// CHECK-COUNT-2: llm.reduce_mean
// CHECK: llm.div
func.func @non_trailing_axis(%x: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %two = llm.constant dense<2.0> : tensor<f32>
  %eps = llm.constant dense<1.0e-5> : tensor<f32>
  %0 = llm.reduce_mean %x {axes = array<i64: 1>} : (tensor<2x4x16xf32>) -> tensor<2x1x16xf32>
  %1 = llm.sub %x, %0 : (tensor<2x4x16xf32>, tensor<2x1x16xf32>) -> tensor<2x4x16xf32>
  %2 = llm.pow %1, %two : (tensor<2x4x16xf32>, tensor<f32>) -> tensor<2x4x16xf32>
  %3 = llm.reduce_mean %2 {axes = array<i64: 1>} : (tensor<2x4x16xf32>) -> tensor<2x1x16xf32>
  %4 = llm.add %3, %eps : (tensor<2x1x16xf32>, tensor<f32>) -> tensor<2x1x16xf32>
  %5 = llm.sqrt %4 : tensor<2x1x16xf32>
  %6 = llm.div %1, %5 : (tensor<2x4x16xf32>, tensor<2x1x16xf32>) -> tensor<2x4x16xf32>
  return %6 : tensor<2x4x16xf32>
}

// -----

// eps is not a constant.
// CHECK-LABEL: func @eps_not_constant
// CHECK-NOT: llm.rms_norm
// CHECK: llm.reduce_mean
// CHECK: llm.rsqrt
func.func @eps_not_constant(%x: tensor<4x16xf32>, %eps: tensor<f32>) -> tensor<4x16xf32> {
  %0 = llm.mul %x, %x : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %1 = llm.reduce_mean %0 {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %2 = llm.add %1, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %3 = llm.rsqrt %2 : tensor<4x1xf32>
  %4 = llm.mul %x, %3 : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %4 : tensor<4x16xf32>
}

// -----

// eps is a constant of two elements, not a scalar.
// CHECK-LABEL: func @eps_not_scalar
// CHECK-NOT: llm.rms_norm
// CHECK: llm.rsqrt
func.func @eps_not_scalar(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %eps = llm.constant dense<[[1.0e-5], [1.0e-5], [1.0e-5], [1.0e-5]]> : tensor<4x1xf32>
  %0 = llm.mul %x, %x : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %1 = llm.reduce_mean %0 {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %2 = llm.add %1, %eps : (tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  %3 = llm.rsqrt %2 : tensor<4x1xf32>
  %4 = llm.mul %x, %3 : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %4 : tensor<4x16xf32>
}

// -----

// The mean is over the last dim, the variance over the last two: neither a
// layer norm nor (being centered) an RMS norm.
// CHECK-LABEL: func @mean_axes_differ
// CHECK-NOT: llm.layer_norm
// CHECK-NOT: llm.rms_norm
// CHECK-COUNT-2: llm.reduce_mean
// CHECK: llm.div
func.func @mean_axes_differ(%x: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %two = llm.constant dense<2.0> : tensor<f32>
  %eps = llm.constant dense<1.0e-5> : tensor<f32>
  %0 = llm.reduce_mean %x {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %1 = llm.sub %x, %0 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %2 = llm.pow %1, %two : (tensor<2x4x16xf32>, tensor<f32>) -> tensor<2x4x16xf32>
  %3 = llm.reduce_mean %2 {axes = array<i64: 1, 2>} : (tensor<2x4x16xf32>) -> tensor<2x1x1xf32>
  %4 = llm.add %3, %eps : (tensor<2x1x1xf32>, tensor<f32>) -> tensor<2x1x1xf32>
  %5 = llm.sqrt %4 : tensor<2x1x1xf32>
  %6 = llm.div %1, %5 : (tensor<2x4x16xf32>, tensor<2x1x1xf32>) -> tensor<2x4x16xf32>
  return %6 : tensor<2x4x16xf32>
}

// -----

// The centered value is also returned: fusing would compute it twice.
// CHECK-LABEL: func @centered_other_user
// CHECK-NOT: llm.layer_norm
// CHECK: %[[D:.*]] = llm.sub
// CHECK: llm.div %[[D]]
func.func @centered_other_user(%x: tensor<2x4x16xf32>) -> (tensor<2x4x16xf32>, tensor<2x4x16xf32>) {
  %two = llm.constant dense<2.0> : tensor<f32>
  %eps = llm.constant dense<1.0e-5> : tensor<f32>
  %0 = llm.reduce_mean %x {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %1 = llm.sub %x, %0 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %2 = llm.pow %1, %two : (tensor<2x4x16xf32>, tensor<f32>) -> tensor<2x4x16xf32>
  %3 = llm.reduce_mean %2 {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %4 = llm.add %3, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %5 = llm.sqrt %4 : tensor<2x4x1xf32>
  %6 = llm.div %1, %5 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  return %6, %1 : tensor<2x4x16xf32>, tensor<2x4x16xf32>
}

// -----

// The variance is also returned.
// CHECK-LABEL: func @variance_other_user
// CHECK-NOT: llm.rms_norm
// CHECK: %[[V:.*]] = llm.reduce_mean
// CHECK: llm.add %[[V]]
// CHECK: llm.rsqrt
func.func @variance_other_user(%x: tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x1xf32>) {
  %eps = llm.constant dense<1.0e-5> : tensor<f32>
  %0 = llm.mul %x, %x : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %1 = llm.reduce_mean %0 {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %2 = llm.add %1, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %3 = llm.rsqrt %2 : tensor<4x1xf32>
  %4 = llm.mul %x, %3 : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %4, %1 : tensor<4x16xf32>, tensor<4x1xf32>
}

// -----

// The mean of squares is of another value than the numerator, the `1` of
// 1 / sqrt is 2, and (on a square matrix, where that broadcasts) the mean
// drops the reduced dim.
// CHECK-LABEL: func @not_rms
// CHECK-NOT: llm.rms_norm
// CHECK-COUNT-3: llm.reduce_mean
func.func @not_rms(%x: tensor<4x16xf32>, %y: tensor<4x16xf32>, %z: tensor<4x4xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x4xf32>) {
  %eps = llm.constant dense<1.0e-5> : tensor<f32>
  %0 = llm.mul %y, %y : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %1 = llm.reduce_mean %0 {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %2 = llm.add %1, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %3 = llm.rsqrt %2 : tensor<4x1xf32>
  %4 = llm.mul %x, %3 : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %two = llm.constant dense<2.0> : tensor<f32>
  %5 = llm.mul %x, %x : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %6 = llm.reduce_mean %5 {axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4x1xf32>
  %7 = llm.add %6, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %8 = llm.sqrt %7 : tensor<4x1xf32>
  %9 = llm.div %two, %8 : (tensor<f32>, tensor<4x1xf32>) -> tensor<4x1xf32>
  %10 = llm.mul %x, %9 : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %11 = llm.mul %z, %z : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %12 = llm.reduce_mean %11 {axes = array<i64: 1>, keepdims = false} : (tensor<4x4xf32>) -> tensor<4xf32>
  %13 = llm.add %12, %eps : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %14 = llm.sqrt %13 : tensor<4xf32>
  %15 = llm.div %z, %14 : (tensor<4x4xf32>, tensor<4xf32>) -> tensor<4x4xf32>
  return %4, %10, %15 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x4xf32>
}

// -----

// A dynamic normalized dim: no ones scale can be built, nothing fuses.
// CHECK-LABEL: func @dynamic_hidden
// CHECK-NOT: llm.rms_norm
// CHECK: llm.rsqrt
func.func @dynamic_hidden(%x: tensor<4x?xf32>) -> tensor<4x?xf32> {
  %eps = llm.constant dense<1.0e-5> : tensor<f32>
  %0 = llm.mul %x, %x : (tensor<4x?xf32>, tensor<4x?xf32>) -> tensor<4x?xf32>
  %1 = llm.reduce_mean %0 {axes = array<i64: 1>} : (tensor<4x?xf32>) -> tensor<4x1xf32>
  %2 = llm.add %1, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %3 = llm.rsqrt %2 : tensor<4x1xf32>
  %4 = llm.mul %x, %3 : (tensor<4x?xf32>, tensor<4x1xf32>) -> tensor<4x?xf32>
  return %4 : tensor<4x?xf32>
}

// -----

// The norm fuses, but what follows is no scale or bias of it: a multiply
// by a tensor of more than the normalized dims, a multiply after the bias
// (the scale applies first), a norm with two users, and a multiply by a
// scalar (a parameter has the normalized shape).
// CHECK-LABEL: func @not_parameters
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x16xf32>, %[[W:.*]]: tensor<4x16xf32>, %[[V:.*]]: tensor<16xf32>)
// CHECK: %[[R:.*]] = llm.rms_norm %[[X]], %[[ONES:.*]] {axis = 2 : i64
// CHECK: llm.mul %[[R]], %[[W]]
// CHECK: %[[L:.*]] = llm.layer_norm %[[X]], %{{.*}}, %[[V]] {axis = 2 : i64
// CHECK: llm.mul %[[L]], %[[V]]
// CHECK: %[[S:.*]] = llm.rms_norm %[[X]], %{{.*}} {axis = 2 : i64
// CHECK: llm.mul %[[S]], %[[V]]
// CHECK: llm.add %[[S]], %[[V]]
// CHECK: %[[T:.*]] = llm.rms_norm %[[X]], %{{.*}} {axis = 2 : i64
// CHECK: llm.mul %[[T]], %{{.*}} : (tensor<2x4x16xf32>, tensor<f32>)
func.func @not_parameters(%x: tensor<2x4x16xf32>, %w: tensor<4x16xf32>, %v: tensor<16xf32>) -> (tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>) {
  %eps = llm.constant dense<1.0e-5> : tensor<f32>
  %scalar = llm.constant dense<3.0> : tensor<f32>
  %0 = llm.mul %x, %x : (tensor<2x4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %1 = llm.reduce_mean %0 {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %2 = llm.add %1, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %3 = llm.rsqrt %2 : tensor<2x4x1xf32>
  %4 = llm.mul %x, %3 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %5 = llm.mul %4, %w : (tensor<2x4x16xf32>, tensor<4x16xf32>) -> tensor<2x4x16xf32>
  %6 = llm.reduce_mean %x {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %7 = llm.sub %x, %6 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %8 = llm.mul %7, %7 : (tensor<2x4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %9 = llm.reduce_mean %8 {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %10 = llm.add %9, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %11 = llm.sqrt %10 : tensor<2x4x1xf32>
  %12 = llm.div %7, %11 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %13 = llm.add %12, %v : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
  %14 = llm.mul %13, %v : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
  %15 = llm.mul %x, %x : (tensor<2x4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %16 = llm.reduce_mean %15 {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %17 = llm.add %16, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %18 = llm.rsqrt %17 : tensor<2x4x1xf32>
  %19 = llm.mul %x, %18 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %20 = llm.mul %19, %v : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
  %21 = llm.add %19, %v : (tensor<2x4x16xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
  %22 = llm.mul %x, %x : (tensor<2x4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %23 = llm.reduce_mean %22 {axes = array<i64: 2>} : (tensor<2x4x16xf32>) -> tensor<2x4x1xf32>
  %24 = llm.add %23, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %25 = llm.rsqrt %24 : tensor<2x4x1xf32>
  %26 = llm.mul %x, %25 : (tensor<2x4x16xf32>, tensor<2x4x1xf32>) -> tensor<2x4x16xf32>
  %27 = llm.mul %26, %scalar : (tensor<2x4x16xf32>, tensor<f32>) -> tensor<2x4x16xf32>
  return %5, %14, %20, %21, %27 : tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>
}

// With remarks=true, one remark per run (per split) counts the rewrites.
// REMARK: remark: llm-fuse-norms: fused-layer-norms 1, fused-rms-norms 0, scales 1, biases 1
// REMARK: remark: llm-fuse-norms: fused-layer-norms 1, fused-rms-norms 0, scales 1, biases 1
// REMARK: remark: llm-fuse-norms: fused-layer-norms 1, fused-rms-norms 0, scales 0, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 1, fused-rms-norms 0, scales 1, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 0, fused-rms-norms 1, scales 1, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 0, fused-rms-norms 2, scales 1, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 0, fused-rms-norms 1, scales 1, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 0, fused-rms-norms 1, scales 0, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 0, fused-rms-norms 0, scales 0, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 0, fused-rms-norms 0, scales 0, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 0, fused-rms-norms 0, scales 0, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 0, fused-rms-norms 0, scales 0, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 0, fused-rms-norms 0, scales 0, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 0, fused-rms-norms 0, scales 0, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 0, fused-rms-norms 0, scales 0, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 0, fused-rms-norms 0, scales 0, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 0, fused-rms-norms 0, scales 0, biases 0
// REMARK: remark: llm-fuse-norms: fused-layer-norms 1, fused-rms-norms 3, scales 0, biases 1
