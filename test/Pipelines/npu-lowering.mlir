// RUN: llm-opt %s --llm-npu-lowering | FileCheck %s
// RUN: llm-opt %s --llm-quantize="activations=dynamic" --llm-npu-lowering | FileCheck %s --check-prefix=DYNAMIC

// The npu path as llm-compile runs it after quantization: the host code in
// the LLVM dialect calls the kernel's C interface (result descriptor first,
// then the kernel id and one descriptor per operand), and the kernel's
// program stays beside it.
// CHECK: llvm.func private @llmc_npu_kernel_0(
// CHECK: llvm.call @_mlir_ciface_llmc_npu_kernel_0(
// CHECK: llvm.func @_mlir_ciface_llmc_npu_kernel_0(!llvm.ptr, i64, !llvm.ptr {bufferization.access = "read"}, !llvm.ptr {bufferization.access = "read"}, !llvm.ptr {bufferization.access = "read"})
// CHECK: llvm.func internal @forward
// CHECK: llvm.call @llmc_npu_kernel_0
// The caller owns (and frees) the buffer a kernel returns.
// CHECK: llvm.call @_mlir_memref_to_llvm_free
// CHECK: npu.program target("npu")
// CHECK: npu.tensor "input" "X" : "f32" [8, 64]
// CHECK: npu.vqnt
// CHECK: npu.mm
// CHECK: npu.vmul

// llm-quantize with run-time (per-token) scales on a float matmul: the host
// quantizes and dequantizes, the kernel returns the int32 products.
// DYNAMIC: llvm.func @_mlir_ciface_llmc_npu_kernel_1(!llvm.ptr, i64, !llvm.ptr {bufferization.access = "read"}, !llvm.ptr {bufferization.access = "read"})
// DYNAMIC: npu.tensor "input" "A" : "i8" [8, 64]
// DYNAMIC: npu.tensor "output" "C" : "i32" [8, 32]
func.func @forward(%x: tensor<8x64xf32>, %w: tensor<32x64xi8>, %s: tensor<32xf32>, %v: tensor<64x32xf32>) -> (tensor<8x32xf32>, tensor<8x32xf32>) {
  %sa = llm.constant dense<0.05> : tensor<f32>
  %q = llm.quantize %x, %sa : (tensor<8x64xf32>, tensor<f32>) -> tensor<8x64xi8>
  %acc = llm.qmatmul %q, %w {transpose_rhs = true} : (tensor<8x64xi8>, tensor<32x64xi8>) -> tensor<8x32xi32>
  %y = llm.dequantize %acc, %s : (tensor<8x32xi32>, tensor<32xf32>) -> tensor<8x32xf32>
  %c = llm.constant dense<0.5> : tensor<64x32xf32>
  %z = llm.matmul %x, %c : (tensor<8x64xf32>, tensor<64x32xf32>) -> tensor<8x32xf32>
  return %y, %z : tensor<8x32xf32>, tensor<8x32xf32>
}
