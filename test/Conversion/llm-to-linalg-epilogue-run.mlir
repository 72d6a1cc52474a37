// REQUIRES: mlir-runner
// RUN: llm-opt %s --convert-llm-to-linalg \
// RUN: | %mlir_opt --pass-pipeline="builtin.module(one-shot-bufferize{bufferize-function-boundaries},func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,convert-math-to-funcs,convert-math-to-llvm,convert-math-to-libm,finalize-memref-to-llvm,convert-scf-to-cf,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)" \
// RUN: | %mlir_runner -e main -entry-point-result=void -shared-libs=%runner_utils_libs \
// RUN: | FileCheck %s

// A matmul with an epilogue computes the very bits of the unfused ops:
// act(scale * (a x w^T) + b) + r against llm.mul, llm.add, the activation op
// and llm.add, for every activation. Each pair prints the bit patterns.

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}
func.func private @printMemrefI32(memref<*xi32>) attributes {llvm.emit_c_interface}

func.func @bits(%t: tensor<3x5xf32>) {
  %flat = tensor.collapse_shape %t [[0, 1]] : tensor<3x5xf32> into tensor<15xf32>
  %e = tensor.empty() : tensor<15xi32>
  %i = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]} ins(%flat : tensor<15xf32>) outs(%e : tensor<15xi32>) {
  ^bb0(%x: f32, %o: i32):
    %y = arith.bitcast %x : f32 to i32
    linalg.yield %y : i32
  } -> tensor<15xi32>
  %u = tensor.cast %i : tensor<15xi32> to tensor<*xi32>
  %m = bufferization.to_buffer %u : tensor<*xi32> to memref<*xi32>
  call @printMemrefI32(%m) : (memref<*xi32>) -> ()
  return
}

func.func @print(%t: tensor<*xf32>) {
  %m = bufferization.to_buffer %t : tensor<*xf32> to memref<*xf32>
  call @printMemrefF32(%m) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  %a = arith.constant dense<[[-0.7047, -1.3966, 0.6037, -1.7103], [0.1435, -0.5372, -1.7680, 0.0297], [-1.8500, -0.2654, -1.7206, -1.6371]]> : tensor<3x4xf32>
  %w = arith.constant dense<[[-0.3019, 1.3074, -1.5048, -1.1070], [0.5097, 1.7908, 0.3084, -0.4133], [1.9050, -1.8137, 1.4339, -0.8416], [-1.4230, -1.5288, -0.7661, 1.2645], [-1.2771, 0.3264, 0.5557, -0.5104]]> : tensor<5x4xf32>
  %b = arith.constant dense<[0.0955, -0.8744, -0.8808, -0.5881, 0.3608]> : tensor<5xf32>
  %r = arith.constant dense<[[-0.2896, -0.7434, 0.3422, -0.1873, -0.8009], [1.1775, 0.7960, -1.0236, 0.2977, 0.1008], [1.5005, 0.9178, -0.8482, 1.9207, -1.5277]]> : tensor<3x5xf32>
  %scale = arith.constant dense<0.3> : tensor<f32>

  // gelu
  // CHECK: data =
  // CHECK-NEXT: [[GELU:\[.*]]
  // CHECK: data =
  // CHECK-NEXT: {{^}}[[GELU]]{{$}}
  %gelu_f = llm.matmul %a, %w bias %b residual %r {transpose_rhs = true, scale = 0.3 : f32, activation = #llm.activation<gelu>} : (tensor<3x4xf32>, tensor<5x4xf32>, tensor<5xf32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  call @bits(%gelu_f) : (tensor<3x5xf32>) -> ()
  %gelu_m = llm.matmul %a, %w {transpose_rhs = true} : (tensor<3x4xf32>, tensor<5x4xf32>) -> tensor<3x5xf32>
  %gelu_s = llm.mul %gelu_m, %scale : (tensor<3x5xf32>, tensor<f32>) -> tensor<3x5xf32>
  %gelu_ab = llm.add %gelu_s, %b : (tensor<3x5xf32>, tensor<5xf32>) -> tensor<3x5xf32>
  %gelu_act = llm.gelu %gelu_ab : tensor<3x5xf32>
  %gelu_u = llm.add %gelu_act, %r : (tensor<3x5xf32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  call @bits(%gelu_u) : (tensor<3x5xf32>) -> ()

  // gelu_tanh
  // CHECK: data =
  // CHECK-NEXT: [[GELU_TANH:\[.*]]
  // CHECK: data =
  // CHECK-NEXT: {{^}}[[GELU_TANH]]{{$}}
  %gelu_tanh_f = llm.matmul %a, %w bias %b residual %r {transpose_rhs = true, scale = 0.3 : f32, activation = #llm.activation<gelu_tanh>} : (tensor<3x4xf32>, tensor<5x4xf32>, tensor<5xf32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  call @bits(%gelu_tanh_f) : (tensor<3x5xf32>) -> ()
  %gelu_tanh_m = llm.matmul %a, %w {transpose_rhs = true} : (tensor<3x4xf32>, tensor<5x4xf32>) -> tensor<3x5xf32>
  %gelu_tanh_s = llm.mul %gelu_tanh_m, %scale : (tensor<3x5xf32>, tensor<f32>) -> tensor<3x5xf32>
  %gelu_tanh_ab = llm.add %gelu_tanh_s, %b : (tensor<3x5xf32>, tensor<5xf32>) -> tensor<3x5xf32>
  %gelu_tanh_act = llm.gelu %gelu_tanh_ab {approximation = #llm.gelu_approximation<tanh>} : tensor<3x5xf32>
  %gelu_tanh_u = llm.add %gelu_tanh_act, %r : (tensor<3x5xf32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  call @bits(%gelu_tanh_u) : (tensor<3x5xf32>) -> ()

  // silu
  // CHECK: data =
  // CHECK-NEXT: [[SILU:\[.*]]
  // CHECK: data =
  // CHECK-NEXT: {{^}}[[SILU]]{{$}}
  %silu_f = llm.matmul %a, %w bias %b residual %r {transpose_rhs = true, scale = 0.3 : f32, activation = #llm.activation<silu>} : (tensor<3x4xf32>, tensor<5x4xf32>, tensor<5xf32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  call @bits(%silu_f) : (tensor<3x5xf32>) -> ()
  %silu_m = llm.matmul %a, %w {transpose_rhs = true} : (tensor<3x4xf32>, tensor<5x4xf32>) -> tensor<3x5xf32>
  %silu_s = llm.mul %silu_m, %scale : (tensor<3x5xf32>, tensor<f32>) -> tensor<3x5xf32>
  %silu_ab = llm.add %silu_s, %b : (tensor<3x5xf32>, tensor<5xf32>) -> tensor<3x5xf32>
  %silu_act = llm.silu %silu_ab : tensor<3x5xf32>
  %silu_u = llm.add %silu_act, %r : (tensor<3x5xf32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  call @bits(%silu_u) : (tensor<3x5xf32>) -> ()

  // relu
  // CHECK: data =
  // CHECK-NEXT: [[RELU:\[.*]]
  // CHECK: data =
  // CHECK-NEXT: {{^}}[[RELU]]{{$}}
  %relu_f = llm.matmul %a, %w bias %b residual %r {transpose_rhs = true, scale = 0.3 : f32, activation = #llm.activation<relu>} : (tensor<3x4xf32>, tensor<5x4xf32>, tensor<5xf32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  call @bits(%relu_f) : (tensor<3x5xf32>) -> ()
  %relu_m = llm.matmul %a, %w {transpose_rhs = true} : (tensor<3x4xf32>, tensor<5x4xf32>) -> tensor<3x5xf32>
  %relu_s = llm.mul %relu_m, %scale : (tensor<3x5xf32>, tensor<f32>) -> tensor<3x5xf32>
  %relu_ab = llm.add %relu_s, %b : (tensor<3x5xf32>, tensor<5xf32>) -> tensor<3x5xf32>
  %relu_act = llm.relu %relu_ab : tensor<3x5xf32>
  %relu_u = llm.add %relu_act, %r : (tensor<3x5xf32>, tensor<3x5xf32>) -> tensor<3x5xf32>
  call @bits(%relu_u) : (tensor<3x5xf32>) -> ()

  // Known numbers: relu(0.5 * [[1, 2], [3, 4]] x [[1, -1], [1, 1]] + [1, -4]) + [[10, 20], [30, 40]].
  // CHECK: {{\[\[}}12.5,   20],
  // CHECK-NEXT:  [34.5,   40]]
  %x = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %y = arith.constant dense<[[1.0, -1.0], [1.0, 1.0]]> : tensor<2x2xf32>
  %c = arith.constant dense<[1.0, -4.0]> : tensor<2xf32>
  %d = arith.constant dense<[[10.0, 20.0], [30.0, 40.0]]> : tensor<2x2xf32>
  %k = llm.matmul %x, %y bias %c residual %d {scale = 0.5 : f32, activation = #llm.activation<relu>} : (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %k_u = tensor.cast %k : tensor<2x2xf32> to tensor<*xf32>
  call @print(%k_u) : (tensor<*xf32>) -> ()
  return
}
