// RUN: llm-opt %s --verify-each --convert-llm-to-gpu=wgmma=1 -split-input-file | FileCheck %s

// With wgmma (sm_90a), an fp matmul runs on Hopper's warpgroup tensor
// cores: one warpgroup per 64 rows of the block tile (here 128x64 tiles,
// two warpgroups: 128x128 would leave SMs of an H100 without a block).
// Each k tile of 32 goes to shared memory in the K-major core-matrix
// layout, flat [stage][..] bf16 buffers: the f32 activations rounded and
// stored by the threads, the bf16 weight copied by cp.async (16 bytes, one
// core-matrix row, each); fence.proxy.async after the copies' wait makes
// both visible to the tensor cores before the barrier.
// CHECK-LABEL: func.func @proj
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%[[T:.*]], %{{.*}}, %{{.*}})
// CHECK: gpu.func @matmul_0(%{{.*}}: memref<1048576xf32>, %{{.*}}: memref<524288xbf16>, %{{.*}}: memref<1024xf32>, %{{.*}}: memref<2097152xf32>)
// CHECK-SAME: workgroup(%[[A:[a-z0-9]+]] : memref<8192xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %[[B:[a-z0-9]+]] : memref<4096xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: known_block_size = array<i32: 256, 1, 1>
// CHECK: %[[AADDR:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK: %[[BADDR:.*]] = memref.extract_aligned_pointer_as_index %[[B]]
// CHECK: memref.extract_aligned_pointer_as_index %arg1 : memref<524288xbf16> -> index
// One 16-byte copy per thread: the 64x32 weight tile over 256 threads.
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK: vector.store %{{.*}}, %[[A]][%{{.*}}] {alignment = 8 : i64} : memref<8192xbf16, #gpu.address_space<workgroup>>, vector<4xbf16>
// CHECK-NOT: vector.store %{{.*}}, %[[B]]
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: gpu.barrier
// CHECK: arith.index_cast %[[AADDR]] : index to i64
// CHECK: arith.index_cast %[[BADDR]] : index to i64
// Descriptors: LBO 128 bytes (8 << 16) and SBO 512 bytes (32 << 32).
// CHECK: arith.constant 137439477760 : i64
// CHECK: llvm.mlir.zero : !llvm.struct<(f32, {{.*}})>
// CHECK: scf.for {{.*}} -> (!llvm.struct<(f32,
// The next k tile's copies and loads come first, then two asynchronous
// m64n64k16 products on the current stage, the stores of the next tile
// into the other stage while they run, the copies' wait, the proxy fence,
// the products' wait, one barrier.
// CHECK: nvvm.cp.async.commit.group
// CHECK: vector.load
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-NEXT: arith.constant 0 : i64
// CHECK-COUNT-2: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: vector.store %{{.*}}, %[[A]]
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.fence.proxy
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

// -----

// A bf16 model's product: cp.async moves both operands, so the kernel is
// pipelined over as many shared stages as fit the H100's 227 KiB per block,
// up to four, with k tiles of 64 (128x64 tiles as above: 4 x 8192 bf16 of
// A, 4 x 4096 of B, 96 KiB). Past static shared memory's 48 KiB, the tiles
// are views of the dynamic shared memory whose size the launch passes. The
// prologue copies k tiles 0, 1 and 2 and waits for the first; each
// iteration issues its four products, retires only the previous
// iteration's (wgmma wait_group 1), completes and publishes the next k tile
// (cp.async wait_group 1: the one after may stay in flight), then copies
// k tile i + 3 into the stage the retired products read. The last products
// are retired after the loop.
// CHECK-LABEL: func.func @bf16_proj
// CHECK: %[[SHARED:.*]] = arith.constant 98304 : i32
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 {{.*}} dynamic_shared_memory_size %[[SHARED]] args(
// CHECK: gpu.func @matmul_0(%{{.*}}: memref<1048576xbf16>, %{{.*}}: memref<524288xbf16>, %{{.*}}: memref<2097152xbf16>) kernel
// CHECK-NEXT: %[[SMEM:.*]] = gpu.dynamic_shared_memory : memref<?xi8, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[SMEM]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<32768xbf16, #gpu.address_space<workgroup>>
// CHECK: memref.view %[[SMEM]][%{{.*}}][] : memref<?xi8, #gpu.address_space<workgroup>> to memref<16384xbf16, #gpu.address_space<workgroup>>
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.commit.group
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 2
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK: scf.for {{.*}} step %{{.*}} iter_args
// CHECK-NOT: nvvm.cp.async.shared.global
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: nvvm.wgmma.mma_async {{.*}}, <m = 64, n = 64, k = 16>
// CHECK-NOT: nvvm.wgmma.mma_async
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: nvvm.fence.proxy
// CHECK-NEXT: gpu.barrier
// CHECK: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// CHECK-NEXT: scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-NEXT: nvvm.cp.async.wait.group 0
func.func @bf16_proj(%x: tensor<2x1024x512xbf16>, %w: tensor<1024x512xbf16> {llm.weight = "w"}) -> tensor<2x1024x1024xbf16> {
  %y = llm.matmul %x, %w {transpose_rhs = true} : (tensor<2x1024x512xbf16>, tensor<1024x512xbf16>) -> tensor<2x1024x1024xbf16>
  return %y : tensor<2x1024x1024xbf16>
}
