// RUN: llm-opt %s -split-input-file --pass-pipeline='builtin.module(gpu.module(llm-gpu-extern-dynamic-shared))' --verify-diagnostics | FileCheck %s
// RUN: llm-opt %s -split-input-file --pass-pipeline='builtin.module(gpu.module(convert-gpu-to-nvvm,llm-gpu-extern-dynamic-shared))' --verify-diagnostics | FileCheck %s --check-prefix=NVVM

// What convert-gpu-to-nvvm makes of gpu.dynamic_shared_memory: a zero-sized
// internal shared global, which becomes an external declaration. Globals
// with a size, or in another address space, keep their linkage.
// CHECK-LABEL: gpu.module @lowered
// CHECK: llvm.mlir.global external @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
// CHECK: llvm.mlir.global internal @__wg_k_0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<128 x i8>
// CHECK: llvm.mlir.global internal @empty_global() {addr_space = 0 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
gpu.module @lowered {
  llvm.mlir.global internal @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
  llvm.mlir.global internal @__wg_k_0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<128 x i8>
  llvm.mlir.global internal @empty_global() {alignment = 16 : i64} : !llvm.array<0 x i8>
  llvm.func @k() attributes {nvvm.kernel} {
    %0 = llvm.mlir.addressof @__dynamic_shmem__0 : !llvm.ptr<3>
    llvm.return
  }
}

// -----

// After the NVVM conversion of a kernel with dynamic shared memory: its
// global is the external declaration, the tile a view of its address.
// NVVM-LABEL: gpu.module @from_gpu
// NVVM: llvm.mlir.global external @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
// NVVM: llvm.func @k(
// NVVM: llvm.mlir.addressof @__dynamic_shmem__0 : !llvm.ptr<3>
gpu.module @from_gpu {
  gpu.func @k(%p: memref<16xf32>) kernel {
    %smem = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
    %c64 = arith.constant 64 : index
    %tile = memref.view %smem[%c64][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<16xf32, #gpu.address_space<workgroup>>
    %t = gpu.thread_id x
    %x = memref.load %p[%t] : memref<16xf32>
    memref.store %x, %tile[%t] : memref<16xf32, #gpu.address_space<workgroup>>
    gpu.return
  }
}

// -----

// A zero-sized shared global with an initializer cannot be a declaration.
gpu.module @initialized {
  // expected-error @+1 {{zero-sized shared global @__dynamic_shmem__0 has an initializer: dynamic shared memory is a declaration}}
  llvm.mlir.global internal @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8> {
    %0 = llvm.mlir.zero : !llvm.array<0 x i8>
    llvm.return %0 : !llvm.array<0 x i8>
  }
}
