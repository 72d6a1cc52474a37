// RUN: llm-opt %s --llm-gpu-anchor-launch-reads --verify-each | FileCheck %s

// Each launch reads its tensor inputs through a to_buffer right before it,
// even where CSE merged the to_buffer ops (%m, read by both launches) or the
// canonicalizer folded to_buffer(to_tensor(alloc)) into the alloc (%out,
// read by the last launch): One-Shot Bufferize sees each read where it is.
// The to_buffer and view the launches no longer read are erased: of a
// strided tensor, bufferization would copy into a buffer nothing reads.

module attributes {gpu.container_module} {
  gpu.module @llm_kernels {
    gpu.func @k(%a: memref<4xf32>, %b: memref<4xf32>) kernel {
      gpu.return
    }
  }
  // CHECK-LABEL: func.func @reads
  // CHECK-SAME: (%[[T:.*]]: tensor<2x2xf32>)
  func.func @reads(%t: tensor<2x2xf32>) -> tensor<4xf32> {
    %c1 = arith.constant 1 : index
    %m = bufferization.to_buffer %t read_only : tensor<2x2xf32> to memref<2x2xf32>
    %flat = memref.reinterpret_cast %m to offset: [0], sizes: [4], strides: [1] : memref<2x2xf32> to memref<4xf32>
    %out = memref.alloc() : memref<4xf32>
    // CHECK-NOT: bufferization.to_buffer
    // CHECK-NOT: memref.reinterpret_cast
    // CHECK: %[[OUT:.*]] = memref.alloc() : memref<4xf32>
    // CHECK: %[[B1:.*]] = bufferization.to_buffer %[[T]] read_only : tensor<2x2xf32> to memref<2x2xf32>
    // CHECK: %[[F1:.*]] = memref.reinterpret_cast %[[B1]] to offset: [0], sizes: [4], strides: [1]
    // CHECK: gpu.launch_func @llm_kernels::@k {{.*}} args(%[[F1]] : memref<4xf32>, %[[OUT]] : memref<4xf32>)
    gpu.launch_func @llm_kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%flat : memref<4xf32>, %out : memref<4xf32>)
    // The launch's own result is not an input: %out stays as it is above.
    %r = bufferization.to_tensor %out restrict writable : memref<4xf32> to tensor<4xf32>
    // CHECK: %[[R:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
    %out2 = memref.alloc() : memref<4xf32>
    // CHECK: %[[OUT2:.*]] = memref.alloc() : memref<4xf32>
    // CHECK: %[[B2:.*]] = bufferization.to_buffer %[[T]] read_only : tensor<2x2xf32> to memref<2x2xf32>
    // CHECK: %[[F2:.*]] = memref.reinterpret_cast %[[B2]]
    // CHECK: gpu.launch_func @llm_kernels::@k {{.*}} args(%[[F2]] : memref<4xf32>, %[[OUT2]] : memref<4xf32>)
    gpu.launch_func @llm_kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%flat : memref<4xf32>, %out2 : memref<4xf32>)
    %out3 = memref.alloc() : memref<4xf32>
    // CHECK: %[[OUT3:.*]] = memref.alloc() : memref<4xf32>
    // CHECK: %[[B3:.*]] = bufferization.to_buffer %[[R]] read_only : tensor<4xf32> to memref<4xf32>
    // CHECK: gpu.launch_func @llm_kernels::@k {{.*}} args(%[[B3]] : memref<4xf32>, %[[OUT3]] : memref<4xf32>)
    gpu.launch_func @llm_kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%out : memref<4xf32>, %out3 : memref<4xf32>)
    return %r : tensor<4xf32>
  }
}
