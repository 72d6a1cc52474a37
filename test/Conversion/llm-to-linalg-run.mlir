// REQUIRES: mlir-runner
// RUN: llm-opt %s --convert-llm-to-linalg \
// RUN: | %mlir_opt --pass-pipeline="builtin.module(one-shot-bufferize{bufferize-function-boundaries},func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,convert-math-to-funcs,convert-math-to-llvm,convert-math-to-libm,finalize-memref-to-llvm,convert-scf-to-cf,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)" \
// RUN: | %mlir_runner -e main -entry-point-result=void -shared-libs=%runner_utils_libs \
// RUN: | FileCheck %s

// Numbers of the reference lowering, run on the host with libm.

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print(%t: tensor<*xf32>) {
  %m = bufferization.to_buffer %t : tensor<*xf32> to memref<*xf32>
  call @printMemrefF32(%m) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  // Softmax is stable: a row of 1000s is uniform, not NaN.
  // CHECK:      {{\[\[}}0.0900306,   0.244728,   0.665241],
  // CHECK-NEXT:  [0.333333,   0.333333,   0.333333]]
  %x = arith.constant dense<[[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]]> : tensor<2x3xf32>
  %s = llm.softmax %x {axis = 1 : i64} : tensor<2x3xf32>
  %s_u = tensor.cast %s : tensor<2x3xf32> to tensor<*xf32>
  call @print(%s_u) : (tensor<*xf32>) -> ()

  // (x - 2.5) / sqrt(1.25) * scale + bias.
  // CHECK: {{\[\[}}-1.34164,   -0.447214,   0.447214,   3.68328]]
  %ln_x = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %ln_g = arith.constant dense<[1.0, 1.0, 1.0, 2.0]> : tensor<4xf32>
  %ln_b = arith.constant dense<[0.0, 0.0, 0.0, 1.0]> : tensor<4xf32>
  %ln = llm.layer_norm %ln_x, %ln_g, %ln_b {axis = 1 : i64, epsilon = 0.0 : f32} : (tensor<1x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4xf32>
  %ln_u = tensor.cast %ln : tensor<1x4xf32> to tensor<*xf32>
  call @print(%ln_u) : (tensor<*xf32>) -> ()

  // Negative indices wrap once; out-of-range ones clamp.
  // CHECK: [50,  10,  50,  10,  30]
  %data = arith.constant dense<[10.0, 20.0, 30.0, 40.0, 50.0]> : tensor<5xf32>
  %idx = arith.constant dense<[-1, 0, 7, -9, 2]> : tensor<5xi64>
  %g = llm.gather %data, %idx {axis = 0 : i64} : (tensor<5xf32>, tensor<5xi64>) -> tensor<5xf32>
  %g_u = tensor.cast %g : tensor<5xf32> to tensor<*xf32>
  call @print(%g_u) : (tensor<*xf32>) -> ()

  // CHECK: [6,  3,  0]
  %r = arith.constant dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]> : tensor<8xf32>
  %sl = llm.slice %r {starts = array<i64: 6>, ends = array<i64: -1>, steps = array<i64: -3>} : (tensor<8xf32>) -> tensor<3xf32>
  %sl_u = tensor.cast %sl : tensor<3xf32> to tensor<*xf32>
  call @print(%sl_u) : (tensor<*xf32>) -> ()

  // CHECK: [0,  0.5205,  0.842701,  -0.995322]
  %e = arith.constant dense<[0.0, 0.5, 1.0, -2.0]> : tensor<4xf32>
  %erf = llm.erf %e : tensor<4xf32>
  %erf_u = tensor.cast %erf : tensor<4xf32> to tensor<*xf32>
  call @print(%erf_u) : (tensor<*xf32>) -> ()

  // lhs^T (shared by both batches) times each rhs^T.
  // CHECK:      {{\[\[\[}}1,    3],
  // CHECK-NEXT:   [2,    4]],
  // CHECK-NEXT:  {{\[\[}}5,    6],
  // CHECK-NEXT:   [8,    8]]]
  %a = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %b = arith.constant dense<[[[1.0, 0.0], [0.0, 1.0]], [[2.0, 1.0], [0.0, 2.0]]]> : tensor<2x2x2xf32>
  %mm = llm.matmul %a, %b {transpose_lhs = true, transpose_rhs = true} : (tensor<2x2xf32>, tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %mm_u = tensor.cast %mm : tensor<2x2x2xf32> to tensor<*xf32>
  call @print(%mm_u) : (tensor<*xf32>) -> ()

  // Integer mod takes the sign of the divisor; division truncates.
  // CHECK: [1,  -1,  -1,  1,  -3,  -3,  3,  3]
  %n = arith.constant dense<[-7, 7, -7, 7]> : tensor<4xi64>
  %d = arith.constant dense<[2, -2, -2, 2]> : tensor<4xi64>
  %mod = llm.mod %n, %d : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %div = llm.div %n, %d : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %md = llm.concat %mod, %div {axis = 0 : i64} : (tensor<4xi64>, tensor<4xi64>) -> tensor<8xi64>
  %mdf = llm.cast %md : (tensor<8xi64>) -> tensor<8xf32>
  %mdf_u = tensor.cast %mdf : tensor<8xf32> to tensor<*xf32>
  call @print(%mdf_u) : (tensor<*xf32>) -> ()
  return
}
