// REQUIRES: mlir-runner
// RUN: llm-opt %s --llm-fuse-qkv | FileCheck %s --check-prefix=IR
// RUN: llm-opt %s --llm-fuse-qkv --convert-llm-to-linalg \
// RUN: | %mlir_opt --pass-pipeline="builtin.module(one-shot-bufferize{bufferize-function-boundaries},func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,convert-math-to-funcs,convert-math-to-llvm,convert-math-to-libm,finalize-memref-to-llvm,convert-scf-to-cf,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)" \
// RUN: | %mlir_runner -e main -entry-point-result=void -shared-libs=%runner_utils_libs \
// RUN: | FileCheck %s

// Fusion changes no bit: @fused (matmuls with a bias and GELU epilogue on
// constant weights, which llm-fuse-qkv merges) and @reference (the unfused
// ops, weights as arguments) compute gelu(x w^T + b) for three projections
// of one input; each result prints as bit patterns, the fused one first.

// IR-LABEL: func @fused
// IR: %[[M:.*]] = llm.matmul %{{.*}}, %{{.*}} bias %{{.*}} {activation = #llm.activation<gelu>, transpose_rhs = true} : (tensor<3x4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<3x8xf32>
// IR: llm.split %[[M]]
// IR-NOT: llm.gelu
// IR-LABEL: func @reference
// IR-COUNT-3: llm.gelu

func.func private @printMemrefI32(memref<*xi32>) attributes {llvm.emit_c_interface}

func.func @bits(%t: tensor<3x?xf32>) {
  %u = tensor.cast %t : tensor<3x?xf32> to tensor<*xf32>
  %m = bufferization.to_buffer %u : tensor<*xf32> to memref<*xf32>
  %c = memref.cast %m : memref<*xf32> to memref<3x?xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = memref.dim %c, %c1 : memref<3x?xf32>
  %i = memref.alloc(%n) : memref<3x?xi32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%c : memref<3x?xf32>) outs(%i : memref<3x?xi32>) {
  ^bb0(%x: f32, %o: i32):
    %y = arith.bitcast %x : f32 to i32
    linalg.yield %y : i32
  }
  %iu = memref.cast %i : memref<3x?xi32> to memref<*xi32>
  call @printMemrefI32(%iu) : (memref<*xi32>) -> ()
  memref.dealloc %i : memref<3x?xi32>
  return
}

func.func @fused(%x: tensor<3x4xf32>) -> (tensor<3x3xf32>, tensor<3x2xf32>, tensor<3x3xf32>) {
  %w0 = llm.constant dense<[[-0.8187, 0.6193, 0.3869, -0.9162], [0.9644, 0.9295, 0.3078, 0.2311], [-0.6850, -0.9700, 0.0568, -0.8809]]> : tensor<3x4xf32>
  %b0 = llm.constant dense<[0.5326, -0.1992, 0.6932]> : tensor<3xf32>
  %w1 = llm.constant dense<[[-0.6196, -0.5161, -0.9398, -0.0721], [-0.1189, 0.6849, 0.0382, 0.2806]]> : tensor<2x4xf32>
  %b1 = llm.constant dense<[-0.2270, 0.9161]> : tensor<2xf32>
  %w2 = llm.constant dense<[[-0.0005, 0.3249, -0.0853, -0.4437], [0.9953, 0.9914, 0.6804, 0.4156], [-0.3694, -0.5407, -0.4219, -0.8596]]> : tensor<3x4xf32>
  %b2 = llm.constant dense<[0.6946, -0.9989, -0.5806]> : tensor<3xf32>
  %g0 = llm.matmul %x, %w0 bias %b0 {transpose_rhs = true, activation = #llm.activation<gelu>} : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  %g1 = llm.matmul %x, %w1 bias %b1 {transpose_rhs = true, activation = #llm.activation<gelu>} : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %g2 = llm.matmul %x, %w2 bias %b2 {transpose_rhs = true, activation = #llm.activation<gelu>} : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  return %g0, %g1, %g2 : tensor<3x3xf32>, tensor<3x2xf32>, tensor<3x3xf32>
}

func.func @reference(%x: tensor<3x4xf32>, %w0: tensor<3x4xf32>, %b0: tensor<3xf32>, %w1: tensor<2x4xf32>, %b1: tensor<2xf32>, %w2: tensor<3x4xf32>, %b2: tensor<3xf32>) -> (tensor<3x3xf32>, tensor<3x2xf32>, tensor<3x3xf32>) {
  %m0 = llm.matmul %x, %w0 {transpose_rhs = true} : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x3xf32>
  %a0 = llm.add %m0, %b0 : (tensor<3x3xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  %g0 = llm.gelu %a0 : tensor<3x3xf32>
  %m1 = llm.matmul %x, %w1 {transpose_rhs = true} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  %a1 = llm.add %m1, %b1 : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %g1 = llm.gelu %a1 : tensor<3x2xf32>
  %m2 = llm.matmul %x, %w2 {transpose_rhs = true} : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x3xf32>
  %a2 = llm.add %m2, %b2 : (tensor<3x3xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  %g2 = llm.gelu %a2 : tensor<3x3xf32>
  return %g0, %g1, %g2 : tensor<3x3xf32>, tensor<3x2xf32>, tensor<3x3xf32>
}

func.func @main() {
  // CHECK: data =
  // CHECK-NEXT: [[F0:\[.*]]
  // CHECK-NEXT: [[F0_1: \[.*]]
  // CHECK-NEXT: [[F0_2: \[.*]]
  // CHECK: data =
  // CHECK-NEXT: [[F1:\[.*]]
  // CHECK-NEXT: [[F1_1: \[.*]]
  // CHECK-NEXT: [[F1_2: \[.*]]
  // CHECK: data =
  // CHECK-NEXT: [[F2:\[.*]]
  // CHECK-NEXT: [[F2_1: \[.*]]
  // CHECK-NEXT: [[F2_2: \[.*]]
  // CHECK: data =
  // CHECK-NEXT: {{^}}[[F0]]{{$}}
  // CHECK-NEXT: {{^}}[[F0_1]]{{$}}
  // CHECK-NEXT: {{^}}[[F0_2]]{{$}}
  // CHECK: data =
  // CHECK-NEXT: {{^}}[[F1]]{{$}}
  // CHECK-NEXT: {{^}}[[F1_1]]{{$}}
  // CHECK-NEXT: {{^}}[[F1_2]]{{$}}
  // CHECK: data =
  // CHECK-NEXT: {{^}}[[F2]]{{$}}
  // CHECK-NEXT: {{^}}[[F2_1]]{{$}}
  // CHECK-NEXT: {{^}}[[F2_2]]{{$}}
  %x = arith.constant dense<[[-0.0952, 0.1195, 0.8484, -0.0687], [0.0157, 0.1748, -0.6307, 0.0238], [0.2598, 0.5860, -0.8118, -0.3932]]> : tensor<3x4xf32>
  %w0 = arith.constant dense<[[-0.8187, 0.6193, 0.3869, -0.9162], [0.9644, 0.9295, 0.3078, 0.2311], [-0.6850, -0.9700, 0.0568, -0.8809]]> : tensor<3x4xf32>
  %b0 = arith.constant dense<[0.5326, -0.1992, 0.6932]> : tensor<3xf32>
  %w1 = arith.constant dense<[[-0.6196, -0.5161, -0.9398, -0.0721], [-0.1189, 0.6849, 0.0382, 0.2806]]> : tensor<2x4xf32>
  %b1 = arith.constant dense<[-0.2270, 0.9161]> : tensor<2xf32>
  %w2 = arith.constant dense<[[-0.0005, 0.3249, -0.0853, -0.4437], [0.9953, 0.9914, 0.6804, 0.4156], [-0.3694, -0.5407, -0.4219, -0.8596]]> : tensor<3x4xf32>
  %b2 = arith.constant dense<[0.6946, -0.9989, -0.5806]> : tensor<3xf32>
  %f:3 = call @fused(%x) : (tensor<3x4xf32>) -> (tensor<3x3xf32>, tensor<3x2xf32>, tensor<3x3xf32>)
  %r:3 = call @reference(%x, %w0, %b0, %w1, %b1, %w2, %b2) : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3xf32>, tensor<2x4xf32>, tensor<2xf32>, tensor<3x4xf32>, tensor<3xf32>) -> (tensor<3x3xf32>, tensor<3x2xf32>, tensor<3x3xf32>)
  %f0d = tensor.cast %f#0 : tensor<3x3xf32> to tensor<3x?xf32>
  call @bits(%f0d) : (tensor<3x?xf32>) -> ()
  %f1d = tensor.cast %f#1 : tensor<3x2xf32> to tensor<3x?xf32>
  call @bits(%f1d) : (tensor<3x?xf32>) -> ()
  %f2d = tensor.cast %f#2 : tensor<3x3xf32> to tensor<3x?xf32>
  call @bits(%f2d) : (tensor<3x?xf32>) -> ()
  %r0d = tensor.cast %r#0 : tensor<3x3xf32> to tensor<3x?xf32>
  call @bits(%r0d) : (tensor<3x?xf32>) -> ()
  %r1d = tensor.cast %r#1 : tensor<3x2xf32> to tensor<3x?xf32>
  call @bits(%r1d) : (tensor<3x?xf32>) -> ()
  %r2d = tensor.cast %r#2 : tensor<3x3xf32> to tensor<3x?xf32>
  call @bits(%r2d) : (tensor<3x?xf32>) -> ()
  return
}
