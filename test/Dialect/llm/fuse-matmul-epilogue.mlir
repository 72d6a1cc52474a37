// RUN: llm-opt %s -split-input-file --llm-fuse-matmul-epilogue --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-fuse-matmul-epilogue=remarks=true -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REMARK

// A transformer MLP: bias, GELU and the residual add fold into the first and
// second products.
// CHECK-LABEL: func @mlp
// CHECK-SAME: (%[[X:.*]]: tensor<2x4x8xf32>, %[[W1:.*]]: tensor<8x32xf32>, %[[W2:.*]]: tensor<32x8xf32>)
// CHECK-DAG: %[[B1:.*]] = llm.constant dense<1.000000e+00> : tensor<32xf32>
// CHECK-DAG: %[[B2:.*]] = llm.constant dense<2.000000e+00> : tensor<8xf32>
// CHECK: %[[H:.*]] = llm.matmul %[[X]], %[[W1]] bias %[[B1]] {activation = #llm.activation<gelu>}
// CHECK: %[[Y:.*]] = llm.matmul %[[H]], %[[W2]] bias %[[B2]] residual %[[X]] :
// CHECK-NOT: llm.add
// CHECK-NOT: llm.gelu
// CHECK: return %[[Y]]
func.func @mlp(%x: tensor<2x4x8xf32>, %w1: tensor<8x32xf32>, %w2: tensor<32x8xf32>) -> tensor<2x4x8xf32> {
  %b1 = llm.constant dense<1.0> : tensor<32xf32>
  %b2 = llm.constant dense<2.0> : tensor<8xf32>
  %0 = llm.matmul %x, %w1 : (tensor<2x4x8xf32>, tensor<8x32xf32>) -> tensor<2x4x32xf32>
  %1 = llm.add %0, %b1 : (tensor<2x4x32xf32>, tensor<32xf32>) -> tensor<2x4x32xf32>
  %2 = llm.gelu %1 : tensor<2x4x32xf32>
  %3 = llm.matmul %2, %w2 : (tensor<2x4x32xf32>, tensor<32x8xf32>) -> tensor<2x4x8xf32>
  %4 = llm.add %b2, %3 : (tensor<8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %5 = llm.add %x, %4 : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %5 : tensor<2x4x8xf32>
}

// -----

// Attention scores: a multiply by a scalar constant is the scale; a divide
// by a power of two too (its reciprocal is exact).
// CHECK-LABEL: func @scale
// CHECK: %[[S:.*]] = llm.matmul %{{.*}}, %{{.*}} {scale = 2.500000e-01 : f32, transpose_rhs = true}
// CHECK: %[[D:.*]] = llm.matmul %{{.*}}, %{{.*}} {scale = 1.250000e-01 : f32}
// CHECK-NOT: llm.mul
// CHECK-NOT: llm.div
// CHECK: return %[[S]], %[[D]]
func.func @scale(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>, %v: tensor<1x4x8x16xf32>) -> (tensor<1x4x16x16xf32>, tensor<1x4x16x16xf32>) {
  %c = llm.constant dense<0.25> : tensor<f32>
  %eight = llm.constant dense<8.0> : tensor<1xf32>
  %0 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x16xf32>
  %1 = llm.mul %c, %0 : (tensor<f32>, tensor<1x4x16x16xf32>) -> tensor<1x4x16x16xf32>
  %2 = llm.matmul %q, %v : (tensor<1x4x16x8xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x16x16xf32>
  %3 = llm.div %2, %eight : (tensor<1x4x16x16xf32>, tensor<1xf32>) -> tensor<1x4x16x16xf32>
  return %1, %3 : tensor<1x4x16x16xf32>, tensor<1x4x16x16xf32>
}

// -----

// Everything at once, in the order of the epilogue; the bias is a value (a
// weight argument), fused where the add is, so it need not dominate the
// product.
// CHECK-LABEL: func @chain
// CHECK: %[[M:.*]] = llm.matmul %{{.*}}, %{{.*}} bias %[[B:.*]] residual %[[R:.*]] {activation = #llm.activation<silu>, scale = 5.000000e-01 : f32}
// CHECK-NOT: llm.mul
// CHECK-NOT: llm.add
// CHECK-NOT: llm.silu
// CHECK: return %[[M]]
func.func @chain(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>, %r: tensor<4x16xf32>, %b: tensor<1x16xf32>) -> tensor<4x16xf32> {
  %half = llm.constant dense<0.5> : tensor<f32>
  %0 = llm.matmul %a, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = llm.mul %0, %half : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %2 = llm.add %1, %b : (tensor<4x16xf32>, tensor<1x16xf32>) -> tensor<4x16xf32>
  %3 = llm.silu %2 : tensor<4x16xf32>
  %4 = llm.add %3, %r : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %4 : tensor<4x16xf32>
}

// -----

// relu and both GELU forms map to their activations.
// CHECK-LABEL: func @activations
// CHECK: llm.matmul {{.*}} {activation = #llm.activation<relu>}
// CHECK: llm.matmul {{.*}} {activation = #llm.activation<gelu_tanh>}
// CHECK-NOT: llm.relu
// CHECK-NOT: llm.gelu
func.func @activations(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %0 = llm.matmul %a, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = llm.relu %0 : tensor<4x16xf32>
  %2 = llm.matmul %a, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %3 = llm.gelu %2 {approximation = #llm.gelu_approximation<tanh>} : tensor<4x16xf32>
  return %1, %3 : tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// llm.gemm becomes the matmul form: alpha is the scale, c the bias; then the
// activation folds in too.
// CHECK-LABEL: func @gemm
// CHECK: %[[G:.*]] = llm.matmul %{{.*}}, %{{.*}} bias %{{.*}} {activation = #llm.activation<relu>, scale = 5.000000e-01 : f32, transpose_rhs = true} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
// CHECK: %[[P:.*]] = llm.matmul %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK-NOT: llm.gemm
// CHECK: return %[[G]], %[[P]]
func.func @gemm(%a: tensor<4x8xf32>, %b: tensor<16x8xf32>, %c: tensor<16xf32>, %d: tensor<8x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %0 = llm.gemm %a, %b, %c {alpha = 0.5 : f32, transpose_b = true} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %1 = llm.relu %0 : tensor<4x16xf32>
  %2 = llm.gemm %a, %d : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  return %1, %2 : tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// A gemm with beta != 1 stays: the bias would need scaling.
// CHECK-LABEL: func @gemm_beta
// CHECK: llm.gemm
// CHECK-NOT: llm.matmul
func.func @gemm_beta(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %c: tensor<16xf32>) -> tensor<4x16xf32> {
  %0 = llm.gemm %a, %b, %c {beta = 2.0 : f32} : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

// The product has a second user: nothing folds.
// CHECK-LABEL: func @extra_user
// CHECK: %[[M:.*]] = llm.matmul %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK: %[[A:.*]] = llm.add %[[M]], %{{.*}}
// CHECK: %[[G:.*]] = llm.gelu %[[M]]
// CHECK: return %[[A]], %[[G]]
func.func @extra_user(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %0 = llm.matmul %a, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = llm.add %0, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %2 = llm.gelu %0 : tensor<4x16xf32>
  return %1, %2 : tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// Adds that are neither a bias along the last dim nor a residual of the
// result's shape: a column [4,1], and an add that grows the result.
// CHECK-LABEL: func @bias_wrong_shape
// CHECK: llm.matmul %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK: llm.add
// CHECK: llm.matmul %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK: llm.add
func.func @bias_wrong_shape(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>, %col: tensor<4x1xf32>, %big: tensor<2x4x16xf32>) -> (tensor<4x16xf32>, tensor<2x4x16xf32>) {
  %0 = llm.matmul %a, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = llm.add %0, %col : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  %2 = llm.matmul %a, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %3 = llm.add %2, %big : (tensor<4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %1, %3 : tensor<4x16xf32>, tensor<2x4x16xf32>
}

// -----

// Not a scalar: a constant with different values, and a non-constant scalar.
// A divide by 3 stays (1/3 is inexact, x * (1/3) != x / 3), and so does
// c / product.
// CHECK-LABEL: func @not_a_scale
// CHECK-COUNT-4: llm.matmul %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
// CHECK-NOT: scale
func.func @not_a_scale(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>, %s: tensor<f32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %v = llm.constant dense<[1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0, 1.0, 2.0, 3.0, 4.0]> : tensor<16xf32>
  %three = llm.constant dense<3.0> : tensor<f32>
  %0 = llm.matmul %a, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = llm.mul %0, %v : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %2 = llm.matmul %a, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %3 = llm.mul %2, %s : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %4 = llm.matmul %a, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %5 = llm.div %4, %three : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %6 = llm.matmul %a, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %7 = llm.div %three, %6 : (tensor<f32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %1, %3, %5, %7 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// Order matters: a scale after a bias, a bias after an activation and an
// activation after a residual would change the numbers; they stay.
// CHECK-LABEL: func @out_of_order
// CHECK: %[[M0:.*]] = llm.matmul %{{.*}}, %{{.*}} bias %{{.*}} :
// CHECK: llm.mul %[[M0]]
// CHECK: %[[M1:.*]] = llm.matmul %{{.*}}, %{{.*}} {activation = #llm.activation<relu>}
// CHECK: llm.add %[[M1]]
// CHECK: %[[M2:.*]] = llm.matmul %{{.*}}, %{{.*}} residual %{{.*}} :
// CHECK: llm.relu %[[M2]]
func.func @out_of_order(%a: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>, %r: tensor<4x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %two = llm.constant dense<2.0> : tensor<f32>
  %0 = llm.matmul %a, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = llm.add %0, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %2 = llm.mul %1, %two : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %3 = llm.matmul %a, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %4 = llm.relu %3 : tensor<4x16xf32>
  %5 = llm.add %4, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %6 = llm.matmul %a, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %7 = llm.add %6, %r : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %8 = llm.relu %7 : tensor<4x16xf32>
  return %2, %5, %8 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// An integer product cast to f32 and multiplied by an f32 scale (ONNX
// Runtime's MatMulInteger, Cast, Mul) becomes llm.dequantize of the
// accumulator, whichever side the scale is on; the bias add after it stays
// (llm.matmul's epilogue is for float products). A cast with another user,
// a cast to f16 and a scale broadcast past the product's shape stay.
// CHECK-LABEL: func @dequantize_integer_product
// CHECK: %[[ACC:.*]] = llm.qmatmul
// CHECK-NEXT: %[[D:.*]] = llm.dequantize %[[ACC]], %{{.*}} : (tensor<4x16xi32>, tensor<f32>) -> tensor<4x16xf32>
// CHECK-NEXT: llm.add %[[D]]
// CHECK-NEXT: llm.dequantize %[[ACC]], %{{.*}} : (tensor<4x16xi32>, tensor<16xf32>) -> tensor<4x16xf32>
// CHECK-NEXT: %[[C:.*]] = llm.cast %[[ACC]] : (tensor<4x16xi32>) -> tensor<4x16xf32>
// CHECK-NEXT: llm.mul %[[C]]
// CHECK-NEXT: %[[H:.*]] = llm.cast %[[ACC]] : (tensor<4x16xi32>) -> tensor<4x16xf16>
// CHECK-NEXT: llm.mul %[[H]]
// CHECK-NEXT: %[[W:.*]] = llm.cast %[[ACC]] : (tensor<4x16xi32>) -> tensor<4x16xf32>
// CHECK-NEXT: llm.mul %[[W]], %{{.*}} : (tensor<4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
// CHECK-NOT: llm.dequantize
func.func @dequantize_integer_product(%a: tensor<4x8xi8>, %w: tensor<8x16xi8>, %s: tensor<f32>, %c: tensor<16xf32>, %h: tensor<f16>, %big: tensor<2x4x16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf16>, tensor<2x4x16xf32>) {
  %acc = llm.qmatmul %a, %w : (tensor<4x8xi8>, tensor<8x16xi8>) -> tensor<4x16xi32>
  %0 = llm.cast %acc : (tensor<4x16xi32>) -> tensor<4x16xf32>
  %1 = llm.mul %0, %s : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %2 = llm.add %1, %c : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %3 = llm.cast %acc : (tensor<4x16xi32>) -> tensor<4x16xf32>
  %4 = llm.mul %c, %3 : (tensor<16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %5 = llm.cast %acc : (tensor<4x16xi32>) -> tensor<4x16xf32>
  %6 = llm.mul %5, %s : (tensor<4x16xf32>, tensor<f32>) -> tensor<4x16xf32>
  %7 = llm.cast %acc : (tensor<4x16xi32>) -> tensor<4x16xf16>
  %8 = llm.mul %7, %h : (tensor<4x16xf16>, tensor<f16>) -> tensor<4x16xf16>
  %9 = llm.cast %acc : (tensor<4x16xi32>) -> tensor<4x16xf32>
  %10 = llm.mul %9, %big : (tensor<4x16xf32>, tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %2, %4, %5, %6, %8, %10 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf16>, tensor<2x4x16xf32>
}

// With remarks=true, one remark per run (per split) counts the rewrites.
// REMARK: remark: llm-fuse-matmul-epilogue: gemms 0, scales 0, biases 2, activations 1, residuals 1
// REMARK: remark: llm-fuse-matmul-epilogue: gemms 0, scales 2, biases 0, activations 0, residuals 0
// REMARK: remark: llm-fuse-matmul-epilogue: gemms 0, scales 1, biases 1, activations 1, residuals 1
// REMARK: remark: llm-fuse-matmul-epilogue: gemms 0, scales 0, biases 0, activations 2, residuals 0
// REMARK: remark: llm-fuse-matmul-epilogue: gemms 2, scales 0, biases 0, activations 1, residuals 0
// REMARK: remark: llm-fuse-matmul-epilogue: gemms 0, scales 0, biases 0, activations 0, residuals 0, dequantizations 0
// REMARK: remark: llm-fuse-matmul-epilogue: gemms 0, scales 0, biases 0, activations 0, residuals 0, dequantizations 0
// REMARK: remark: llm-fuse-matmul-epilogue: gemms 0, scales 0, biases 0, activations 0, residuals 0, dequantizations 0
// REMARK: remark: llm-fuse-matmul-epilogue: gemms 0, scales 0, biases 0, activations 0, residuals 0, dequantizations 0
// REMARK: remark: llm-fuse-matmul-epilogue: gemms 0, scales 0, biases 1, activations 1, residuals 1
// REMARK: remark: llm-fuse-matmul-epilogue: gemms 0, scales 0, biases 0, activations 0, residuals 0, dequantizations 2
