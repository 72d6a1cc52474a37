// RUN: llm-opt %s -split-input-file --llm-host-lowering | FileCheck %s

// Linalg on tensors to the LLVM dialect: results become trailing
// out-parameters written in place (no allocation, no copy), the entry has a
// C interface that keeps the argument names, and math uses libm (erf) or LLVM
// intrinsics that LLVM lowers to libm (tanh), never approximations.
// CHECK-NOT: {{ (linalg|tensor|memref|bufferization|scf|cf|func|math|arith|affine|builtin)\.}}
// Each op's loop nest is a noinline function (llm-host-outline-loops) that
// @forward calls.
// CHECK: llvm.func @erff(f32) -> f32
// CHECK-LABEL: llvm.func internal @forward_loop0(
// CHECK-SAME: passthrough = ["noinline"]
// CHECK-LABEL: llvm.func internal @forward_loop1(
// CHECK: llvm.fmul
// CHECK: llvm.fadd
// CHECK-LABEL: llvm.func internal @forward_loop2(
// CHECK: llvm.call @erff
// CHECK: llvm.intr.tanh
// CHECK-LABEL: llvm.func internal @forward(
// CHECK-NOT: llvm.call @_mlir_memref_to_llvm_alloc
// CHECK: llvm.call @forward_loop0(
// CHECK-NEXT: llvm.call @forward_loop1(
// CHECK-NEXT: llvm.call @forward_loop2(
// CHECK-NOT: llvm.call @_mlir_memref_to_llvm_alloc
// CHECK-LABEL: llvm.func @_mlir_ciface_forward(
// CHECK-SAME: %{{.*}}: !llvm.ptr {llm.name = "x"}, %{{.*}}: !llvm.ptr {llm.weight = "w"}, %{{.*}}: !llvm.ptr {llm.name = "y"}, %{{.*}}: !llvm.ptr {llm.name = "z"})
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK: llvm.call @forward
// CHECK-NOT: {{ (linalg|tensor|memref|bufferization|scf|cf|func|math|arith|affine|builtin)\.}}
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @forward(%x: tensor<2x3xf32> {llm.name = "x"}, %w: tensor<3x4xf32> {llm.weight = "w"})
    -> (tensor<2x4xf32> {llm.name = "y"}, tensor<2x3xf32> {llm.name = "z"}) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %m = linalg.matmul ins(%x, %w : tensor<2x3xf32>, tensor<3x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  %e2 = tensor.empty() : tensor<2x3xf32>
  %g = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<2x3xf32>) outs(%e2 : tensor<2x3xf32>) {
  ^bb0(%a: f32, %b: f32):
    %t = math.erf %a : f32
    %u = math.tanh %t : f32
    linalg.yield %u : f32
  } -> tensor<2x3xf32>
  return %m, %g : tensor<2x4xf32>, tensor<2x3xf32>
}

// -----

// Any rank: rank-0 and rank-3 descriptors, an i1 result, an input returned
// as is and a result returned twice (both copied into their out-parameters).
// CHECK-LABEL: llvm.func internal @forward_loop1(
// CHECK: llvm.fcmp "ogt"
// CHECK-LABEL: llvm.func internal @forward(
// CHECK-NOT: llvm.call @_mlir_memref_to_llvm_alloc
// CHECK: llvm.intr.memcpy
// CHECK: llvm.intr.memcpy
// CHECK-NOT: llvm.call @_mlir_memref_to_llvm_alloc
// CHECK-LABEL: llvm.func @_mlir_ciface_forward(
// CHECK-SAME: %{{.*}}: !llvm.ptr {llm.name = "s"}, %{{.*}}: !llvm.ptr {llm.name = "t"}, %{{.*}}: !llvm.ptr {llm.name = "a"}, %{{.*}}: !llvm.ptr {llm.name = "c"}, %{{.*}}: !llvm.ptr {llm.name = "t_copy"}, %{{.*}}: !llvm.ptr {llm.name = "a_again"})
// CHECK: llvm.load %{{.*}} : !llvm.ptr -> !llvm.struct<(ptr, ptr, i64)>
// CHECK: llvm.load %{{.*}} : !llvm.ptr -> !llvm.struct<(ptr, ptr, i64, array<3 x i64>, array<3 x i64>)>
#m3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#s3 = affine_map<(d0, d1, d2) -> ()>
func.func @forward(%s: tensor<f32> {llm.name = "s"}, %t: tensor<2x3x4xf32> {llm.name = "t"})
    -> (tensor<2x3x4xf32> {llm.name = "a"}, tensor<2x3x4xi1> {llm.name = "c"},
        tensor<2x3x4xf32> {llm.name = "t_copy"}, tensor<2x3x4xf32> {llm.name = "a_again"}) {
  %e = tensor.empty() : tensor<2x3x4xf32>
  %a = linalg.generic {indexing_maps = [#m3, #s3, #m3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%t, %s : tensor<2x3x4xf32>, tensor<f32>) outs(%e : tensor<2x3x4xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    linalg.yield %p : f32
  } -> tensor<2x3x4xf32>
  %ec = tensor.empty() : tensor<2x3x4xi1>
  %c = linalg.generic {indexing_maps = [#m3, #m3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%t : tensor<2x3x4xf32>) outs(%ec : tensor<2x3x4xi1>) {
  ^bb0(%x: f32, %o: i1):
    %zero = arith.constant 0.0 : f32
    %r = arith.cmpf ogt, %x, %zero : f32
    linalg.yield %r : i1
  } -> tensor<2x3x4xi1>
  return %a, %c, %t, %a : tensor<2x3x4xf32>, tensor<2x3x4xi1>, tensor<2x3x4xf32>, tensor<2x3x4xf32>
}

// -----

// A temporary the fusion cannot remove (a reduction feeding an elementwise
// op) is allocated and freed again, through the host runtime's heap
// (which keeps freed blocks for the next run).
// CHECK-LABEL: llvm.func internal @forward(
// CHECK: llvm.call @_mlir_memref_to_llvm_alloc
// CHECK-COUNT-3: llvm.call @forward_loop
// CHECK: llvm.call @_mlir_memref_to_llvm_free
// CHECK: llvm.return
#r2 = affine_map<(d0, d1) -> (d0)>
#i2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @forward(%x: tensor<4x8xf32> {llm.name = "x"}) -> (tensor<4x8xf32> {llm.name = "y"}) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#i2, #r2], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %e2 = tensor.empty() : tensor<4x8xf32>
  %y = linalg.generic {indexing_maps = [#i2, #r2, #i2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %sum : tensor<4x8xf32>, tensor<4xf32>) outs(%e2 : tensor<4x8xf32>) {
  ^bb0(%a: f32, %s: f32, %o: f32):
    %r = arith.divf %a, %s : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
