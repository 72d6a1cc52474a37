// RUN: llm-opt %s -split-input-file --llm-gpu-merge-kernel-modules --verify-each | FileCheck %s

// Outlined kernels (one gpu.module each) move into one @llm_kernels, which
// is created when no fused kernel made it; launches follow their kernel.
// gpu.module has no terminator: the last op of each module moves too.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.launch_func @llm_kernels::@forward_kernel
// CHECK: gpu.launch_func @llm_kernels::@forward_kernel_0
// CHECK-NOT: gpu.module @forward_kernel
// CHECK: gpu.module @llm_kernels {
// CHECK: gpu.func @forward_kernel(
// CHECK: gpu.func @forward_kernel_0(
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  func.func @forward(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @forward_kernel::@forward_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @forward_kernel_0::@forward_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
  gpu.module @forward_kernel {
    gpu.func @forward_kernel(%arg0: memref<4xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @forward_kernel_0 {
    gpu.func @forward_kernel(%arg0: memref<4xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// With fused kernels already in @llm_kernels, outlined ones join them.
// CHECK-LABEL: module attributes {gpu.container_module}
// CHECK: gpu.launch_func @llm_kernels::@matmul_0
// CHECK: gpu.launch_func @llm_kernels::@forward_kernel
// CHECK: gpu.module @llm_kernels {
// CHECK: gpu.func @matmul_0(
// CHECK: gpu.func @forward_kernel(
module attributes {gpu.container_module} {
  func.func @forward(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @llm_kernels::@matmul_0 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @forward_kernel::@forward_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
  gpu.module @llm_kernels {
    gpu.func @matmul_0(%arg0: memref<4xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @forward_kernel {
    gpu.func @forward_kernel(%arg0: memref<4xf32>) kernel {
      gpu.return
    }
  }
}
