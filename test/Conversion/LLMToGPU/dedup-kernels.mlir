// RUN: llm-opt %s -split-input-file --llm-gpu-dedup-kernels --verify-each | FileCheck %s

// Two layers' kernels that differ only in their names: the second layer's
// launches launch the first layer's kernels, and the copies are gone. A
// kernel with another constant, another attribute or another signature
// stays.
// CHECK-LABEL: func.func @forward
// CHECK: gpu.launch_func @llm_kernels::@matmul_1 {{.*}} args(%arg0 : memref<4xf32>)
// CHECK: gpu.launch_func @llm_kernels::@forward_kernel {{.*}} args(%arg0 : memref<4xf32>)
// CHECK: gpu.launch_func @llm_kernels::@matmul_1 {{.*}} args(%arg1 : memref<4xf32>)
// CHECK: gpu.launch_func @llm_kernels::@forward_kernel {{.*}} args(%arg1 : memref<4xf32>)
// CHECK: gpu.launch_func @llm_kernels::@forward_kernel_2
// CHECK: gpu.launch_func @llm_kernels::@forward_kernel_3
// CHECK: gpu.launch_func @llm_kernels::@forward_kernel_4
// CHECK: gpu.module @llm_kernels {
// CHECK: gpu.func @matmul_1(
// CHECK: gpu.func @forward_kernel(
// CHECK-NOT: gpu.func @matmul_5
// CHECK-NOT: gpu.func @forward_kernel_0(
// CHECK: gpu.func @forward_kernel_2(
// CHECK: gpu.func @forward_kernel_3(
// CHECK: gpu.func @forward_kernel_4(
module attributes {gpu.container_module} {
  func.func @forward(%a: memref<4xf32>, %b: memref<4xf32>, %c: memref<8xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @llm_kernels::@matmul_1 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @llm_kernels::@forward_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @llm_kernels::@matmul_5 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%b : memref<4xf32>)
    gpu.launch_func @llm_kernels::@forward_kernel_0 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%b : memref<4xf32>)
    gpu.launch_func @llm_kernels::@forward_kernel_2 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%b : memref<4xf32>)
    gpu.launch_func @llm_kernels::@forward_kernel_3 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%b : memref<4xf32>)
    gpu.launch_func @llm_kernels::@forward_kernel_4 blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%c : memref<8xf32>)
    return
  }
  gpu.module @llm_kernels {
    gpu.func @matmul_1(%arg0: memref<4xf32>) kernel attributes {known_block_size = array<i32: 128, 1, 1>} {
      %c0 = arith.constant 0 : index
      %v = memref.load %arg0[%c0] : memref<4xf32>
      %w = arith.mulf %v, %v : f32
      memref.store %w, %arg0[%c0] : memref<4xf32>
      gpu.return
    }
    gpu.func @forward_kernel(%arg0: memref<4xf32>) kernel {
      %c1 = arith.constant 1 : index
      %one = arith.constant 1.0 : f32
      memref.store %one, %arg0[%c1] : memref<4xf32>
      gpu.return
    }
    gpu.func @matmul_5(%arg0: memref<4xf32>) kernel attributes {known_block_size = array<i32: 128, 1, 1>} {
      %c0 = arith.constant 0 : index
      %v = memref.load %arg0[%c0] : memref<4xf32>
      %w = arith.mulf %v, %v : f32
      memref.store %w, %arg0[%c0] : memref<4xf32>
      gpu.return
    }
    gpu.func @forward_kernel_0(%arg0: memref<4xf32>) kernel {
      %c1 = arith.constant 1 : index
      %one = arith.constant 1.0 : f32
      memref.store %one, %arg0[%c1] : memref<4xf32>
      gpu.return
    }
    gpu.func @forward_kernel_2(%arg0: memref<4xf32>) kernel {
      %c1 = arith.constant 1 : index
      %two = arith.constant 2.0 : f32
      memref.store %two, %arg0[%c1] : memref<4xf32>
      gpu.return
    }
    gpu.func @forward_kernel_3(%arg0: memref<4xf32>) kernel attributes {known_block_size = array<i32: 64, 1, 1>} {
      %c1 = arith.constant 1 : index
      %one = arith.constant 1.0 : f32
      memref.store %one, %arg0[%c1] : memref<4xf32>
      gpu.return
    }
    gpu.func @forward_kernel_4(%arg0: memref<8xf32>) kernel {
      %c1 = arith.constant 1 : index
      %one = arith.constant 1.0 : f32
      memref.store %one, %arg0[%c1] : memref<8xf32>
      gpu.return
    }
  }
}

// -----

// Kernels outside @llm_kernels (before llm-gpu-merge-kernel-modules) are
// left alone, however alike.
// CHECK-LABEL: func.func @unmerged
// CHECK: gpu.launch_func @k0::@k
// CHECK: gpu.launch_func @k1::@k
// CHECK: gpu.module @k0
// CHECK: gpu.module @k1
module attributes {gpu.container_module} {
  func.func @unmerged(%a: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @k0::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @k1::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
  gpu.module @k0 {
    gpu.func @k(%arg0: memref<4xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @k1 {
    gpu.func @k(%arg0: memref<4xf32>) kernel {
      gpu.return
    }
  }
}
