// RUN: llm-opt %s --verify-each --convert-llm-to-gpu=wgmma=1 -split-input-file | FileCheck %s

// With wgmma (sm_90a), an fp matmul runs on Hopper's warpgroup tensor
// cores: one warpgroup per 64 rows of the block tile (here 128x64 tiles,
// two warpgroups: 128x128 would leave SMs of an H100 without a block).
// Each k tile of 32 goes to shared memory in the K-major core-matrix
// layout, flat [stage][..] bf16 buffers; fence.proxy.async makes the
// threads' stores visible to the tensor cores before the barrier.
// CHECK-LABEL: func.func @proj
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%[[T:.*]], %{{.*}}, %{{.*}})
// CHECK: gpu.func @matmul_0(%{{.*}}: memref<1048576xf32>, %{{.*}}: memref<524288xbf16>, %{{.*}}: memref<1024xf32>, %{{.*}}: memref<2097152xf32>)
// CHECK-SAME: workgroup(%[[A:[a-z0-9]+]] : memref<8192xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[B:[a-z0-9]+]] : memref<4096xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK: vector.store %{{.*}}, %[[A]][%{{.*}}] {alignment = 8 : i64} : memref<8192xbf16, #gpu.address_space<workgroup>>, vector<4xbf16>
// CHECK: vector.store %{{.*}}, %[[B]][%{{.*}}] {alignment = 16 : i64} : memref<4096xbf16, #gpu.address_space<workgroup>>, vector<8xbf16>
// CHECK: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK: memref.extract_aligned_pointer_as_index %[[A]]
// CHECK: memref.extract_aligned_pointer_as_index %[[B]]
// Descriptors: LBO 128 bytes (8 << 16) and SBO 512 bytes (32 << 32).
// CHECK: arith.constant 137439477760 : i64
// CHECK: llvm.mlir.zero : !llvm.struct<(f32, {{.*}})>
// CHECK: scf.for {{.*}} -> (!llvm.struct<(f32,
// The next k tile's loads come first, then two asynchronous m64n64k16
// products on the current stage, the stores of the next tile into the
// other stage while they run, the proxy fence, the wait, one barrier.
// CHECK: vector.load
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: arith.constant 0 : i64
// CHECK-COUNT-2: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: vector.store %{{.*}}, %[[A]]
// CHECK: nvvm.fence.proxy
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: scf.yield
// The epilogue reads the 32 accumulators of the struct: bias, GELU.
// CHECK-COUNT-32: llvm.extractvalue
// CHECK: math.erf
func.func @proj(%x: tensor<2x1024x512xf32>, %w: tensor<1024x512xf32> {llm.weight = "w"}, %b: tensor<1024xf32>) -> tensor<2x1024x1024xf32> {
  %y = llm.matmul %x, %w bias %b {transpose_rhs = true, activation = #llm.activation<gelu>} : (tensor<2x1024x512xf32>, tensor<1024x512xf32>, tensor<1024xf32>) -> tensor<2x1024x1024xf32>
  return %y : tensor<2x1024x1024xf32>
}
