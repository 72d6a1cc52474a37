// RUN: llm-opt %s --verify-roundtrip | FileCheck %s
// RUN: llm-opt %s --mlir-print-op-generic | llm-opt | FileCheck %s

// CHECK-LABEL: func @elementwise
func.func @elementwise(%a: tensor<2x1x4xf32>, %b: tensor<3x1xf32>, %i: tensor<4xi64>) -> (tensor<2x3x4xf32>, tensor<2x3x4xi1>, tensor<4xi64>) {
  // CHECK: llm.add %{{.*}}, %{{.*}} : (tensor<2x1x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  %0 = llm.add %a, %b : (tensor<2x1x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  %1 = llm.sub %0, %b : (tensor<2x3x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  %2 = llm.mul %1, %a : (tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
  %3 = llm.div %2, %a : (tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
  %4 = llm.pow %3, %b : (tensor<2x3x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  %5 = llm.max %4, %a : (tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
  %6 = llm.min %5, %a : (tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
  // CHECK: llm.less {{.*}} -> tensor<2x3x4xi1>
  %7 = llm.less %6, %a : (tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xi1>
  %8 = llm.equal %6, %a : (tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xi1>
  %9 = llm.and %7, %8 : (tensor<2x3x4xi1>, tensor<2x3x4xi1>) -> tensor<2x3x4xi1>
  %10 = llm.not %9 : tensor<2x3x4xi1>
  // CHECK: llm.where
  %11 = llm.where %10, %6, %a : (tensor<2x3x4xi1>, tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
  %12 = llm.exp %11 : tensor<2x3x4xf32>
  %13 = llm.erf %12 : tensor<2x3x4xf32>
  %14 = llm.tanh %13 : tensor<2x3x4xf32>
  %15 = llm.rsqrt %14 : tensor<2x3x4xf32>
  %16 = llm.sigmoid %15 : tensor<2x3x4xf32>
  // CHECK: llm.gelu %{{.*}} {approximation = #llm.gelu_approximation<tanh>} : tensor<2x3x4xf32>
  %17 = llm.gelu %16 {approximation = #llm.gelu_approximation<tanh>} : tensor<2x3x4xf32>
  %18 = llm.mod %i, %i : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  return %17, %10, %18 : tensor<2x3x4xf32>, tensor<2x3x4xi1>, tensor<4xi64>
}

// CHECK-LABEL: func @blocks
func.func @blocks(%x: tensor<2x8x16xf32>, %w: tensor<32x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> (tensor<2x8x32xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>) {
  // CHECK: llm.matmul %{{.*}}, %{{.*}} {transpose_rhs = true} : (tensor<2x8x16xf32>, tensor<32x16xf32>) -> tensor<2x8x32xf32>
  %0 = llm.matmul %x, %w {transpose_rhs = true} : (tensor<2x8x16xf32>, tensor<32x16xf32>) -> tensor<2x8x32xf32>
  // CHECK: llm.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {axis = 2 : i64, epsilon = 9.99999974E-6 : f32}
  %1 = llm.layer_norm %x, %g, %b {axis = 2 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x8x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  %2 = llm.rms_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-6 : f32} : (tensor<2x8x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  // CHECK: llm.softmax %{{.*}} {axis = 2 : i64} : tensor<2x8x16xf32>
  %3 = llm.softmax %x {axis = 2 : i64} : tensor<2x8x16xf32>
  return %0, %1, %2, %3 : tensor<2x8x32xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>
}

// CHECK-LABEL: func @gemm
func.func @gemm(%a: tensor<4x8xf32>, %b: tensor<16x8xf32>, %c: tensor<16xf32>) -> tensor<4x16xf32> {
  // CHECK: llm.gemm %{{.*}}, %{{.*}}, %{{.*}} {alpha = 5.000000e-01 : f32, transpose_b = true}
  %0 = llm.gemm %a, %b, %c {alpha = 0.5 : f32, transpose_b = true} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// CHECK-LABEL: func @data_movement
func.func @data_movement(%x: tensor<2x8x16xf32>, %ids: tensor<1x5xi64>, %t: tensor<100x16xf32>) -> (tensor<16x16xf32>, tensor<2x16x8xf32>, tensor<2x16x16xf32>, tensor<2x4x16xf32>, tensor<2x2x16xf32>, tensor<1x5x16xf32>, tensor<2x8x16xi32>, tensor<4x2x8x16xf32>, tensor<2x1xf32>, tensor<8x8xf32>) {
  %0 = llm.reshape %x : (tensor<2x8x16xf32>) -> tensor<16x16xf32>
  %1 = llm.transpose %x {permutation = array<i64: 0, 2, 1>} : (tensor<2x8x16xf32>) -> tensor<2x16x8xf32>
  %2 = llm.concat %x, %x {axis = 1 : i64} : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x16x16xf32>
  // CHECK: llm.slice %{{.*}} {ends = array<i64: 2, 8, 16>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 2, 1>}
  %3 = llm.slice %x {starts = array<i64: 0, 0, 0>, ends = array<i64: 2, 8, 16>, steps = array<i64: 1, 2, 1>} : (tensor<2x8x16xf32>) -> tensor<2x4x16xf32>
  // CHECK: llm.split %{{.*}} {axis = 1 : i64, sizes = array<i64: 2, 6>}
  %4:2 = llm.split %x {axis = 1 : i64, sizes = array<i64: 2, 6>} : (tensor<2x8x16xf32>) -> (tensor<2x2x16xf32>, tensor<2x6x16xf32>)
  %5 = llm.gather %t, %ids {axis = 0 : i64} : (tensor<100x16xf32>, tensor<1x5xi64>) -> tensor<1x5x16xf32>
  %6 = llm.cast %x : (tensor<2x8x16xf32>) -> tensor<2x8x16xi32>
  %7 = llm.expand %x : (tensor<2x8x16xf32>) -> tensor<4x2x8x16xf32>
  // CHECK: llm.reduce_mean %{{.*}} {axes = array<i64: 1, 2>, keepdims = false} : (tensor<2x8x16xf32>) -> tensor<2xf32>
  %8 = llm.reduce_mean %x {axes = array<i64: 1, 2>, keepdims = false} : (tensor<2x8x16xf32>) -> tensor<2xf32>
  %9 = llm.reshape %8 : (tensor<2xf32>) -> tensor<2x1xf32>
  %c = llm.constant dense<1.0> : tensor<8x8xf32>
  // CHECK: llm.trilu %{{.*}} {upper = false} : tensor<8x8xf32>
  %10 = llm.trilu %c {upper = false} : tensor<8x8xf32>
  return %0, %1, %2, %3, %4#0, %5, %6, %7, %9, %10 : tensor<16x16xf32>, tensor<2x16x8xf32>, tensor<2x16x16xf32>, tensor<2x4x16xf32>, tensor<2x2x16xf32>, tensor<1x5x16xf32>, tensor<2x8x16xi32>, tensor<4x2x8x16xf32>, tensor<2x1xf32>, tensor<8x8xf32>
}

// CHECK-LABEL: func @resource_constant
func.func @resource_constant() -> tensor<2xf32> {
  // CHECK: llm.constant dense_resource<weight> : tensor<2xf32>
  %0 = llm.constant dense_resource<weight> : tensor<2xf32>
  return %0 : tensor<2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      weight: "0x040000000000803F00000040"
    }
  }
#-}
