// RUN: llm-opt %s -split-input-file --llm-fuse-activations --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-fuse-activations=remarks=true -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REMARK

// nn.GELU() as torch.onnx.export writes it: x / sqrt(2), (x * (1 + erf)) * 0.5.
// CHECK-LABEL: func @gelu_torch
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>)
// CHECK: %[[Y:.*]] = llm.gelu %[[X]] : tensor<2x8xf32>
// CHECK-NOT: llm.erf
// CHECK-NOT: llm.div
// CHECK-NOT: llm.mul
// CHECK-NOT: llm.add
// CHECK: return %[[Y]]
func.func @gelu_torch(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %sqrt2 = llm.constant dense<1.41421354> : tensor<f32>
  %one = llm.constant dense<1.0> : tensor<f32>
  %half = llm.constant dense<0.5> : tensor<f32>
  %0 = llm.div %x, %sqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %1 = llm.erf %0 : tensor<2x8xf32>
  %2 = llm.add %1, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %3 = llm.mul %x, %2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %4 = llm.mul %3, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  return %4 : tensor<2x8xf32>
}

// -----

// The other products: x * 0.5 * (1 + erf(x * 0.7071..)) (HF), then
// 0.5 * (x * (1 + erf(0.7071.. * x))), then x * (0.5 * (erf(..) + 1)), then
// x * (1 + erf(..)) / 2.
// CHECK-LABEL: func @gelu_orders
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>)
// CHECK: %[[A:.*]] = llm.gelu %[[X]] : tensor<2x8xf32>
// CHECK: %[[B:.*]] = llm.gelu %[[X]] : tensor<2x8xf32>
// CHECK: %[[C:.*]] = llm.gelu %[[X]] : tensor<2x8xf32>
// CHECK: %[[D:.*]] = llm.gelu %[[X]] : tensor<2x8xf32>
// CHECK-NOT: llm.erf
// CHECK-NOT: llm.mul
// CHECK: return %[[A]], %[[B]], %[[C]], %[[D]]
func.func @gelu_orders(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %rsqrt2 = llm.constant dense<0.707106769> : tensor<f32>
  %one = llm.constant dense<1.0> : tensor<1xf32>
  %half = llm.constant dense<0.5> : tensor<f32>
  %two = llm.constant dense<2.0> : tensor<f32>
  %0 = llm.mul %x, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %1 = llm.mul %x, %rsqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %2 = llm.erf %1 : tensor<2x8xf32>
  %3 = llm.add %one, %2 : (tensor<1xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %4 = llm.mul %0, %3 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %5 = llm.mul %rsqrt2, %x : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %6 = llm.erf %5 : tensor<2x8xf32>
  %7 = llm.add %one, %6 : (tensor<1xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %8 = llm.mul %x, %7 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %9 = llm.mul %half, %8 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %10 = llm.mul %x, %rsqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %11 = llm.erf %10 : tensor<2x8xf32>
  %12 = llm.add %11, %one : (tensor<2x8xf32>, tensor<1xf32>) -> tensor<2x8xf32>
  %13 = llm.mul %half, %12 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %14 = llm.mul %x, %13 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %15 = llm.mul %x, %rsqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %16 = llm.erf %15 : tensor<2x8xf32>
  %17 = llm.add %16, %one : (tensor<2x8xf32>, tensor<1xf32>) -> tensor<2x8xf32>
  %18 = llm.mul %17, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %19 = llm.div %18, %two : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  return %4, %9, %14, %19 : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// nn.GELU(approximate='tanh') as torch.onnx.export writes it: x * (x * x).
// CHECK-LABEL: func @gelu_tanh_torch
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>)
// CHECK: %[[Y:.*]] = llm.gelu %[[X]] {approximation = #llm.gelu_approximation<tanh>} : tensor<2x8xf32>
// CHECK-NOT: llm.tanh
// CHECK-NOT: llm.mul
// CHECK-NOT: llm.add
// CHECK: return %[[Y]]
func.func @gelu_tanh_torch(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %c = llm.constant dense<4.471500e-02> : tensor<f32>
  %k = llm.constant dense<0.797884583> : tensor<f32>
  %one = llm.constant dense<1.0> : tensor<f32>
  %half = llm.constant dense<0.5> : tensor<f32>
  %0 = llm.mul %x, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %1 = llm.mul %x, %0 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %2 = llm.mul %c, %1 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %3 = llm.add %x, %2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %4 = llm.mul %k, %3 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %5 = llm.tanh %4 : tensor<2x8xf32>
  %6 = llm.add %one, %5 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %7 = llm.mul %x, %6 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %8 = llm.mul %half, %7 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %8 : tensor<2x8xf32>
}

// -----

// HF's NewGELU: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * pow(x, 3)))),
// with sqrt(2/pi) rounded to 0.7978845608; and (x * x) * x with the
// products the other way round.
// CHECK-LABEL: func @gelu_tanh_forms
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>)
// CHECK: %[[A:.*]] = llm.gelu %[[X]] {approximation = #llm.gelu_approximation<tanh>}
// CHECK: %[[B:.*]] = llm.gelu %[[X]] {approximation = #llm.gelu_approximation<tanh>}
// CHECK-NOT: llm.pow
// CHECK-NOT: llm.tanh
// CHECK: return %[[A]], %[[B]]
func.func @gelu_tanh_forms(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %three = llm.constant dense<3.0> : tensor<f32>
  %c = llm.constant dense<0.044715> : tensor<f32>
  %k = llm.constant dense<0.7978845608> : tensor<f32>
  %one = llm.constant dense<1.0> : tensor<f32>
  %half = llm.constant dense<0.5> : tensor<f32>
  %0 = llm.mul %half, %x : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %1 = llm.pow %x, %three : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %2 = llm.mul %c, %1 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %3 = llm.add %x, %2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %4 = llm.mul %k, %3 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %5 = llm.tanh %4 : tensor<2x8xf32>
  %6 = llm.add %one, %5 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %7 = llm.mul %0, %6 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %8 = llm.mul %x, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %9 = llm.mul %8, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %10 = llm.mul %9, %c : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %11 = llm.add %10, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %12 = llm.mul %11, %k : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %13 = llm.tanh %12 : tensor<2x8xf32>
  %14 = llm.add %13, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %15 = llm.mul %14, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %16 = llm.mul %15, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  return %7, %16 : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// f16: 1/sqrt(2) rounds to 0.70703125, within one f16 ulp of the value.
// CHECK-LABEL: func @gelu_f16
// CHECK: llm.gelu %{{.*}} : tensor<8xf16>
// CHECK-NOT: llm.erf
func.func @gelu_f16(%x: tensor<8xf16>) -> tensor<8xf16> {
  %rsqrt2 = llm.constant dense<0.70703125> : tensor<f16>
  %one = llm.constant dense<1.0> : tensor<f16>
  %half = llm.constant dense<0.5> : tensor<f16>
  %0 = llm.mul %x, %rsqrt2 : (tensor<8xf16>, tensor<f16>) -> tensor<8xf16>
  %1 = llm.erf %0 : tensor<8xf16>
  %2 = llm.add %1, %one : (tensor<8xf16>, tensor<f16>) -> tensor<8xf16>
  %3 = llm.mul %x, %2 : (tensor<8xf16>, tensor<8xf16>) -> tensor<8xf16>
  %4 = llm.mul %3, %half : (tensor<8xf16>, tensor<f16>) -> tensor<8xf16>
  return %4 : tensor<8xf16>
}

// -----

// SiLU, either operand order.
// CHECK-LABEL: func @silu
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>)
// CHECK: %[[A:.*]] = llm.silu %[[X]] : tensor<2x8xf32>
// CHECK: %[[B:.*]] = llm.silu %[[X]] : tensor<2x8xf32>
// CHECK-NOT: llm.sigmoid
// CHECK-NOT: llm.mul
// CHECK: return %[[A]], %[[B]]
func.func @silu(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %0 = llm.sigmoid %x : tensor<2x8xf32>
  %1 = llm.mul %x, %0 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %2 = llm.sigmoid %x : tensor<2x8xf32>
  %3 = llm.mul %2, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %1, %3 : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// Not GELU: 1/sqrt(2) as 0.7 (and as 0.70711, 4e-6 off), the half as 0.6.
// CHECK-LABEL: func @gelu_wrong_constants
// CHECK-NOT: llm.gelu
// CHECK-COUNT-3: llm.erf
func.func @gelu_wrong_constants(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %wrong = llm.constant dense<0.7> : tensor<f32>
  %near = llm.constant dense<0.70711> : tensor<f32>
  %rsqrt2 = llm.constant dense<0.707106769> : tensor<f32>
  %one = llm.constant dense<1.0> : tensor<f32>
  %half = llm.constant dense<0.5> : tensor<f32>
  %notHalf = llm.constant dense<0.6> : tensor<f32>
  %0 = llm.mul %x, %wrong : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %1 = llm.erf %0 : tensor<2x8xf32>
  %2 = llm.add %1, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %3 = llm.mul %x, %2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %4 = llm.mul %3, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %5 = llm.mul %x, %near : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %6 = llm.erf %5 : tensor<2x8xf32>
  %7 = llm.add %6, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %8 = llm.mul %x, %7 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %9 = llm.mul %8, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %10 = llm.mul %x, %rsqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %11 = llm.erf %10 : tensor<2x8xf32>
  %12 = llm.add %11, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %13 = llm.mul %x, %12 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %14 = llm.mul %13, %notHalf : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  return %4, %9, %14 : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// Not GELU tanh: the exponent is 2, and the cubic coefficient is 0.04.
// CHECK-LABEL: func @gelu_tanh_wrong
// CHECK-NOT: llm.gelu
// CHECK-COUNT-2: llm.tanh
func.func @gelu_tanh_wrong(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %two = llm.constant dense<2.0> : tensor<f32>
  %c = llm.constant dense<0.044715> : tensor<f32>
  %wrong = llm.constant dense<0.04> : tensor<f32>
  %k = llm.constant dense<0.7978845608> : tensor<f32>
  %one = llm.constant dense<1.0> : tensor<f32>
  %half = llm.constant dense<0.5> : tensor<f32>
  %0 = llm.pow %x, %two : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %1 = llm.mul %c, %0 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %2 = llm.add %x, %1 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %3 = llm.mul %k, %2 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %4 = llm.tanh %3 : tensor<2x8xf32>
  %5 = llm.add %one, %4 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %6 = llm.mul %x, %5 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %7 = llm.mul %half, %6 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %8 = llm.mul %x, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %9 = llm.mul %x, %8 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %10 = llm.mul %wrong, %9 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %11 = llm.add %x, %10 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %12 = llm.mul %k, %11 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %13 = llm.tanh %12 : tensor<2x8xf32>
  %14 = llm.add %one, %13 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %15 = llm.mul %x, %14 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %16 = llm.mul %half, %15 : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %7, %16 : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// The erf (and in the second chain x * (1 + erf)) is also returned: fusing
// would compute it twice.
// CHECK-LABEL: func @gelu_other_user
// CHECK-NOT: llm.gelu
// CHECK-COUNT-2: llm.erf
func.func @gelu_other_user(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %sqrt2 = llm.constant dense<1.41421354> : tensor<f32>
  %one = llm.constant dense<1.0> : tensor<f32>
  %half = llm.constant dense<0.5> : tensor<f32>
  %0 = llm.div %x, %sqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %1 = llm.erf %0 : tensor<2x8xf32>
  %2 = llm.add %1, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %3 = llm.mul %x, %2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %4 = llm.mul %3, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %5 = llm.div %x, %sqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %6 = llm.erf %5 : tensor<2x8xf32>
  %7 = llm.add %6, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %8 = llm.mul %x, %7 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %9 = llm.mul %8, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  return %4, %1, %9, %8 : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// Not GELU: the erf is of another value than the one multiplied; the product
// grows the shape (the half is [2, 1, 1]).
// CHECK-LABEL: func @gelu_other_values
// CHECK-NOT: llm.gelu
// CHECK-COUNT-2: llm.erf
func.func @gelu_other_values(%x: tensor<2x8xf32>, %y: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x2x8xf32>) {
  %rsqrt2 = llm.constant dense<0.707106769> : tensor<f32>
  %one = llm.constant dense<1.0> : tensor<f32>
  %half = llm.constant dense<0.5> : tensor<f32>
  %bigHalf = llm.constant dense<0.5> : tensor<2x1x1xf32>
  %0 = llm.mul %y, %rsqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %1 = llm.erf %0 : tensor<2x8xf32>
  %2 = llm.add %1, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %3 = llm.mul %x, %2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %4 = llm.mul %3, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %5 = llm.mul %x, %rsqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %6 = llm.erf %5 : tensor<2x8xf32>
  %7 = llm.add %6, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %8 = llm.mul %x, %7 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %9 = llm.mul %8, %bigHalf : (tensor<2x8xf32>, tensor<2x1x1xf32>) -> tensor<2x2x8xf32>
  return %4, %9 : tensor<2x8xf32>, tensor<2x2x8xf32>
}

// -----

// Not SiLU: the sigmoid is of another value, or has another user.
// CHECK-LABEL: func @silu_negative
// CHECK-NOT: llm.silu
// CHECK-COUNT-2: llm.sigmoid
func.func @silu_negative(%x: tensor<2x8xf32>, %y: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %0 = llm.sigmoid %y : tensor<2x8xf32>
  %1 = llm.mul %x, %0 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %2 = llm.sigmoid %x : tensor<2x8xf32>
  %3 = llm.mul %x, %2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %1, %3, %2 : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// With remarks=true, one remark per run (per split) counts the rewrites.
// REMARK: remark: llm-fuse-activations: fused-gelus 1, fused-gelu-tanhs 0, fused-silus 0
// REMARK: remark: llm-fuse-activations: fused-gelus 4, fused-gelu-tanhs 0, fused-silus 0
// REMARK: remark: llm-fuse-activations: fused-gelus 0, fused-gelu-tanhs 1, fused-silus 0
// REMARK: remark: llm-fuse-activations: fused-gelus 0, fused-gelu-tanhs 2, fused-silus 0
// REMARK: remark: llm-fuse-activations: fused-gelus 1, fused-gelu-tanhs 0, fused-silus 0
// REMARK: remark: llm-fuse-activations: fused-gelus 0, fused-gelu-tanhs 0, fused-silus 2
// REMARK: remark: llm-fuse-activations: fused-gelus 0, fused-gelu-tanhs 0, fused-silus 0
// REMARK: remark: llm-fuse-activations: fused-gelus 0, fused-gelu-tanhs 0, fused-silus 0
// REMARK: remark: llm-fuse-activations: fused-gelus 0, fused-gelu-tanhs 0, fused-silus 0
// REMARK: remark: llm-fuse-activations: fused-gelus 0, fused-gelu-tanhs 0, fused-silus 0
// REMARK: remark: llm-fuse-activations: fused-gelus 0, fused-gelu-tanhs 0, fused-silus 0
