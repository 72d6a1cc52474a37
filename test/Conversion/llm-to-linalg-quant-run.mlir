// REQUIRES: mlir-runner
// RUN: llm-opt %s --convert-llm-to-linalg \
// RUN: | %mlir_opt --pass-pipeline="builtin.module(one-shot-bufferize{bufferize-function-boundaries},func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,convert-math-to-funcs,convert-math-to-llvm,convert-math-to-libm,finalize-memref-to-llvm,convert-scf-to-cf,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)" \
// RUN: | %mlir_runner -e main -entry-point-result=void -shared-libs=%runner_utils_libs \
// RUN: | FileCheck %s

// The integer reference of the quantization ops: ties to even, saturation,
// NaN, unsigned bytes, packed int4 with blocks, zero points in the product.

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}
func.func private @printMemrefI32(memref<*xi32>) attributes {llvm.emit_c_interface}

func.func @printF(%t: tensor<*xf32>) {
  %m = bufferization.to_buffer %t : tensor<*xf32> to memref<*xf32>
  call @printMemrefF32(%m) : (memref<*xf32>) -> ()
  return
}
func.func @printI(%t: tensor<*xi32>) {
  %m = bufferization.to_buffer %t : tensor<*xi32> to memref<*xi32>
  call @printMemrefI32(%m) : (memref<*xi32>) -> ()
  return
}

func.func @main() {
  // x / 2 = 0.5, 1.5, -1.5, 2.5, 150, -150, NaN: ties go to even, then
  // saturate; NaN becomes the lower bound.
  // CHECK: [0,  2,  -2,  2,  127,  -128,  -128]
  %x = arith.constant dense<[1.0, 3.0, -3.0, 5.0, 300.0, -300.0, 0x7FC00000]> : tensor<7xf32>
  %s = arith.constant dense<2.0> : tensor<f32>
  %q = llm.quantize %x, %s : (tensor<7xf32>, tensor<f32>) -> tensor<7xi8>
  %q32 = llm.cast %q : (tensor<7xi8>) -> tensor<7xi32>
  %q_u = tensor.cast %q32 : tensor<7xi32> to tensor<*xi32>
  call @printI(%q_u) : (tensor<*xi32>) -> ()

  // Unsigned with a zero point of 128 (the byte -128): 128, 130, 126, 130,
  // 255, 0, 0, printed as signed bytes.
  // CHECK: [-128,  -126,  126,  -126,  -1,  0,  0]
  %zp = arith.constant dense<-128> : tensor<1xi8>
  %qu = llm.quantize %x, %s, %zp {is_unsigned} : (tensor<7xf32>, tensor<f32>, tensor<1xi8>) -> tensor<7xi8>
  %qu32 = llm.cast %qu : (tensor<7xi8>) -> tensor<7xi32>
  %qu_u = tensor.cast %qu32 : tensor<7xi32> to tensor<*xi32>
  call @printI(%qu_u) : (tensor<*xi32>) -> ()

  // Dequantize the unsigned bytes back: (q - 128) * 2.
  // CHECK: [0,  4,  -4,  4,  254,  -256,  -256]
  %dq = llm.dequantize %qu, %s, %zp {is_unsigned} : (tensor<7xi8>, tensor<f32>, tensor<1xi8>) -> tensor<7xf32>
  %dq_u = tensor.cast %dq : tensor<7xf32> to tensor<*xf32>
  call @printF(%dq_u) : (tensor<*xf32>) -> ()

  // Packed int4, low nibble first, blocks of 2 along the last dim with one
  // scale per block and row: bytes 0x21 = (1, 2), 0xF8 = (-8, -1),
  // 0x07 = (7, 0); 0xFF = (-1, -1), 0x03 = (3, 0).
  // CHECK:      {{\[\[}}1,   2,   -16,   -2,   7]
  // CHECK-NEXT:  [-0.5,   -0.5,   0,   0,   1.5]]
  %p = arith.constant dense<[[33, -8, 7], [-1, 0, 3]]> : tensor<2x3xi8>
  %ps = arith.constant dense<[[1.0, 2.0, 1.0], [0.5, 1.0, 0.5]]> : tensor<2x3xf32>
  %w = llm.dequantize %p, %ps {bits = 4 : i64, block_size = 2 : i64} : (tensor<2x3xi8>, tensor<2x3xf32>) -> tensor<2x5xf32>
  %w_u = tensor.cast %w : tensor<2x5xf32> to tensor<*xf32>
  call @printF(%w_u) : (tensor<*xf32>) -> ()

  // (a - 1) x (b - [0, 2]) over i32: [[0, 1], [2, 3]] x [[1, 2], [-1, 4]]
  // with b's zero point per column.
  // CHECK:      {{\[\[}}-1,   4]
  // CHECK-NEXT:  [-1,   16]]
  %a = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>
  %b = arith.constant dense<[[1, 4], [-1, 6]]> : tensor<2x2xi8>
  %za = arith.constant dense<1> : tensor<1xi8>
  %zb = arith.constant dense<[[0, 2]]> : tensor<1x2xi8>
  %acc = llm.qmatmul %a, %b lhs_zero_point %za rhs_zero_point %zb : (tensor<2x2xi8>, tensor<2x2xi8>, tensor<1xi8>, tensor<1x2xi8>) -> tensor<2x2xi32>
  %acc_u = tensor.cast %acc : tensor<2x2xi32> to tensor<*xi32>
  call @printI(%acc_u) : (tensor<*xi32>) -> ()

  // 127 x 127 x 64 does not overflow i32; transpose_rhs reads [N, K].
  // CHECK: {{\[\[}}1032256]]
  %big = arith.constant dense<127> : tensor<1x64xi8>
  %bigw = arith.constant dense<127> : tensor<1x64xi8>
  %bigacc = llm.qmatmul %big, %bigw {transpose_rhs = true} : (tensor<1x64xi8>, tensor<1x64xi8>) -> tensor<1x1xi32>
  %big_u = tensor.cast %bigacc : tensor<1x1xi32> to tensor<*xi32>
  call @printI(%big_u) : (tensor<*xi32>) -> ()

  // 16 bits: x / 2 with ties to even, saturating at [-32768, 32767]; NaN
  // to the lower bound.
  // CHECK: [0,  2,  -2,  20000,  32767,  -32768,  -32768]
  %x16 = arith.constant dense<[1.0, 3.0, -3.0, 40000.0, 70000.0, -70000.0, 0x7FC00000]> : tensor<7xf32>
  %q16 = llm.quantize %x16, %s : (tensor<7xf32>, tensor<f32>) -> tensor<7xi16>
  %q16w = llm.cast %q16 : (tensor<7xi16>) -> tensor<7xi32>
  %q16_u = tensor.cast %q16w : tensor<7xi32> to tensor<*xi32>
  call @printI(%q16_u) : (tensor<*xi32>) -> ()

  // Unsigned with a zero point of 32768 (the i16 -32768): 32768, 32770,
  // 32766, 52768, 65535, 0, 0; dequantized back, (q - 32768) * 2.
  // CHECK: [0,  4,  -4,  40000,  65534,  -65536,  -65536]
  %z16 = arith.constant dense<-32768> : tensor<i16>
  %qu16 = llm.quantize %x16, %s, %z16 {is_unsigned} : (tensor<7xf32>, tensor<f32>, tensor<i16>) -> tensor<7xi16>
  %du16 = llm.dequantize %qu16, %s, %z16 {is_unsigned} : (tensor<7xi16>, tensor<f32>, tensor<i16>) -> tensor<7xf32>
  %du16_u = tensor.cast %du16 : tensor<7xf32> to tensor<*xf32>
  call @printF(%du16_u) : (tensor<*xf32>) -> ()
  return
}
