// RUN: llm-opt %s --verify-roundtrip | FileCheck %s
// RUN: llm-opt %s -split-input-file --mlir-print-op-generic | llm-opt | FileCheck %s

// CHECK-LABEL: func @ops
// CHECK: llm.quantize %arg0, %arg1, %arg2 {is_unsigned} : (tensor<2x3xf32>, tensor<1x3xf32>, tensor<1xi8>) -> tensor<2x3xi8>
// CHECK: llm.dequantize %{{.*}}, %arg1, %arg2 {is_unsigned} : (tensor<2x3xi8>, tensor<1x3xf32>, tensor<1xi8>) -> tensor<2x3xf32>
// CHECK: llm.dequantize %arg3, %arg4 {bits = 4 : i64, block_size = 4 : i64} : (tensor<3x4xi8>, tensor<3x2xf32>) -> tensor<3x8xf32>
// CHECK: llm.qmatmul %{{.*}}, %arg5 lhs_zero_point %arg2 rhs_zero_point %arg6 {lhs_unsigned, transpose_rhs = true} : (tensor<2x3xi8>, tensor<5x3xi8>, tensor<1xi8>, tensor<5x1xi8>) -> tensor<2x5xi32>
func.func @ops(%x: tensor<2x3xf32>, %s: tensor<1x3xf32>, %z: tensor<1xi8>,
               %p: tensor<3x4xi8>, %ps: tensor<3x2xf32>, %w: tensor<5x3xi8>,
               %wz: tensor<5x1xi8>) -> (tensor<2x3xf32>, tensor<3x8xf32>, tensor<2x5xi32>) {
  %q = llm.quantize %x, %s, %z {is_unsigned} : (tensor<2x3xf32>, tensor<1x3xf32>, tensor<1xi8>) -> tensor<2x3xi8>
  %d = llm.dequantize %q, %s, %z {is_unsigned} : (tensor<2x3xi8>, tensor<1x3xf32>, tensor<1xi8>) -> tensor<2x3xf32>
  %u = llm.dequantize %p, %ps {bits = 4 : i64, block_size = 4 : i64} : (tensor<3x4xi8>, tensor<3x2xf32>) -> tensor<3x8xf32>
  %acc = llm.qmatmul %q, %w lhs_zero_point %z rhs_zero_point %wz {lhs_unsigned, transpose_rhs = true} : (tensor<2x3xi8>, tensor<5x3xi8>, tensor<1xi8>, tensor<5x1xi8>) -> tensor<2x5xi32>
  return %d, %u, %acc : tensor<2x3xf32>, tensor<3x8xf32>, tensor<2x5xi32>
}

// 16-bit QDQ: i16 levels and zero points, read unsigned with is_unsigned.
// CHECK-LABEL: func @sixteen_bits
// CHECK: llm.quantize %arg0, %arg1, %arg2 {is_unsigned} : (tensor<2x3xf32>, tensor<f32>, tensor<i16>) -> tensor<2x3xi16>
// CHECK: llm.dequantize %{{.*}}, %arg1, %arg2 {is_unsigned} : (tensor<2x3xi16>, tensor<f32>, tensor<i16>) -> tensor<2x3xf32>
func.func @sixteen_bits(%x: tensor<2x3xf32>, %s: tensor<f32>, %z: tensor<i16>) -> tensor<2x3xf32> {
  %q = llm.quantize %x, %s, %z {is_unsigned} : (tensor<2x3xf32>, tensor<f32>, tensor<i16>) -> tensor<2x3xi16>
  %d = llm.dequantize %q, %s, %z {is_unsigned} : (tensor<2x3xi16>, tensor<f32>, tensor<i16>) -> tensor<2x3xf32>
  return %d : tensor<2x3xf32>
}
