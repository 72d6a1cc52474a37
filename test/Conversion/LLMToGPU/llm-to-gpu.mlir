// RUN: llm-opt %s --verify-each --convert-llm-to-gpu -split-input-file | FileCheck %s
// RUN: llm-opt %s --convert-llm-to-gpu=mma-type=f16 -split-input-file | FileCheck %s --check-prefix=F16

// A matmul with its whole epilogue becomes one launch: operands cross into
// flat buffers, the result comes back as a tensor. The batch of a product
// with a shared 2-D weight folds into the rows (M = 2 * 16).
// CHECK-LABEL: func.func @epilogue
// CHECK-NOT: llm.matmul
// CHECK: bufferization.to_buffer %{{.*}} read_only : tensor<2x16x64xf32> to memref<2x16x64xf32>
// CHECK: memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [2048], strides: [1]
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<2x16x256xf32>
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}})
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: gpu.module @llm_kernels
// CHECK: gpu.func @matmul_0(%{{.*}}: memref<2048xf32>, %{{.*}}: memref<16384xf32>, %{{.*}}: memref<256xf32>, %{{.*}}: memref<8192xf32>, %{{.*}}: memref<8192xf32>)
// CHECK-SAME: workgroup(%{{.*}}: memref<2x64x40xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}}: memref<2x64x40xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-SAME: kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// Two shared stages: k tile 0 goes to stage 0 before the loop (16-byte
// loads of x; the [K, N] weight in runs along n, stored element-wise).
// CHECK: vector.load %arg0[%{{.*}}] {alignment = 16 : i64} : memref<2048xf32>, vector<4xf32>
// CHECK: vector.store %{{.*}}, %arg5[%{{.*}}, %{{.*}}, %{{.*}}] {alignment = 8 : i64} : memref<2x64x40xbf16, #gpu.address_space<workgroup>>, vector<4xbf16>
// CHECK: gpu.barrier
// CHECK: scf.for
// In the loop, the next k tile's loads come first, then the products on
// the current stage: two k16 steps per 32-wide k tile, 2 x 4 tiles per
// warp, 16 mma per k tile; then the stores into the other stage and one
// barrier.
// CHECK: vector.load %arg0[%{{.*}}] {alignment = 16 : i64}
// CHECK-NOT: gpu.barrier
// CHECK-COUNT-16: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-NOT: nvvm.mma.sync
// CHECK: vector.store %{{.*}}, %arg5
// CHECK: gpu.barrier
// CHECK-NEXT: scf.yield
// The epilogue: scale, bias, exact GELU, residual, in that order.
// CHECK: arith.mulf
// CHECK: memref.load %arg2
// CHECK: math.erf
// CHECK: memref.load %arg3
// CHECK: memref.store
// F16: nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
func.func @epilogue(%x: tensor<2x16x64xf32>, %w: tensor<64x256xf32>, %b: tensor<256xf32>, %r: tensor<2x16x256xf32>) -> tensor<2x16x256xf32> {
  %y = llm.matmul %x, %w bias %b residual %r {activation = #llm.activation<gelu>, scale = 0.5 : f32} : (tensor<2x16x64xf32>, tensor<64x256xf32>, tensor<256xf32>, tensor<2x16x256xf32>) -> tensor<2x16x256xf32>
  return %y : tensor<2x16x256xf32>
}

// -----

// Causal grouped-query attention: one block per 64 queries of one head, a
// key loop that stops at the causal diagonal, query head h reading kv head
// h / 2, scores and P x V on tensor cores, online softmax in exp2.
// CHECK-LABEL: func.func @attention
// CHECK: gpu.launch_func @llm_kernels::@attention_0 blocks in (%[[X:.*]], %[[Y:.*]], %{{.*}}) threads in
// CHECK: gpu.func @attention_0
// CHECK: arith.divui %{{.*}}, %{{.*}} : index
// CHECK: arith.minsi
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: nvvm.mma.sync
// CHECK: arith.cmpi sle
// CHECK: gpu.shuffle xor
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// CHECK: nvvm.mma.sync
// CHECK: scf.yield
// CHECK: arith.cmpf ogt
func.func @attention(%q: tensor<1x4x100x64xf32>, %k: tensor<1x2x100x64xf32>, %v: tensor<1x2x100x64xf32>) -> tensor<1x4x100x64xf32> {
  %o = llm.attention %q, %k, %v {scale = 0.125 : f32, causal = true} : (tensor<1x4x100x64xf32>, tensor<1x2x100x64xf32>, tensor<1x2x100x64xf32>) -> tensor<1x4x100x64xf32>
  return %o : tensor<1x4x100x64xf32>
}

// -----

// Norms and softmax: one 256-thread block per row, warp shuffles and one
// partial per warp in shared memory. A softmax over the first axis is 96
// rows of 6 strided by 96 (one block each). An int matmul and a matmul of
// f16 tensors are left for the generic path, and so is a softmax of at most
// 256 elements (a router's [1, 8] on a decoding step), whose loops
// llm-gpu-fuse-launches chains with the launches around them; 257 elements
// take the row kernel.
// CHECK-LABEL: func.func @rows
// CHECK: gpu.launch_func @llm_kernels::@layer_norm_0
// CHECK: gpu.launch_func @llm_kernels::@rms_norm_1
// CHECK: gpu.launch_func @llm_kernels::@softmax_2
// CHECK: %[[ROWS:.*]] = arith.constant 96 : index
// CHECK: gpu.launch_func @llm_kernels::@softmax_3 blocks in (%[[ROWS]],
// CHECK: llm.matmul
// CHECK: llm.softmax %{{.*}} {axis = 1 : i64} : tensor<1x8xf32>
// CHECK: llm.softmax %{{.*}} {axis = 0 : i64} : tensor<32x8xf32>
// CHECK: gpu.launch_func @llm_kernels::@softmax_4
// CHECK: gpu.func @layer_norm_0
// CHECK-SAME: workgroup(%{{.*}}: memref<1x8xf32, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: gpu.barrier
// CHECK: gpu.func @softmax_3
// CHECK-DAG: arith.divui %block_id_x, %c96{{.*}} : index
// CHECK-DAG: arith.remui %block_id_x, %c96{{.*}} : index
func.func @rows(%x: tensor<6x96xf32>, %g: tensor<96xf32>, %i: tensor<4x4xi32>, %router: tensor<1x8xf32>, %small: tensor<32x8xf32>, %over: tensor<257x1xf32>) -> (tensor<6x96xf32>, tensor<6x96xf32>, tensor<6x96xf32>, tensor<6x96xf32>, tensor<4x4xi32>, tensor<1x8xf32>, tensor<32x8xf32>, tensor<257x1xf32>) {
  %l = llm.layer_norm %x, %g, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<6x96xf32>, tensor<96xf32>, tensor<96xf32>) -> tensor<6x96xf32>
  %r = llm.rms_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-6 : f32} : (tensor<6x96xf32>, tensor<96xf32>) -> tensor<6x96xf32>
  %s = llm.softmax %x {axis = 1 : i64} : tensor<6x96xf32>
  %t = llm.softmax %x {axis = 0 : i64} : tensor<6x96xf32>
  %m = llm.matmul %i, %i : (tensor<4x4xi32>, tensor<4x4xi32>) -> tensor<4x4xi32>
  %a = llm.softmax %router {axis = 1 : i64} : tensor<1x8xf32>
  %b = llm.softmax %small {axis = 0 : i64} : tensor<32x8xf32>
  %c = llm.softmax %over {axis = 1 : i64} : tensor<257x1xf32>
  return %l, %r, %s, %t, %m, %a, %b, %c : tensor<6x96xf32>, tensor<6x96xf32>, tensor<6x96xf32>, tensor<6x96xf32>, tensor<4x4xi32>, tensor<1x8xf32>, tensor<32x8xf32>, tensor<257x1xf32>
}

// -----

// Per-head q and k norms of a fused qkv product ([2, 3, 192] split in three
// parts of 4 heads of 16), alike (RMS, one epsilon): one kernel of 48
// blocks reads both parts' rows in place in the whole product, row r at
// offset + (r / 4) * 192 + (r % 4) * 16 (offset 0 for q's 24 rows, 64 for
// k's), with each part's gain, and writes each part's contiguous rows; the
// parts' reshapes are gone (no copies of them). A split along a dim other
// than the last (the rows of a part are not of one head each) is read
// through its part.
// CHECK-LABEL: func.func @head_norms
// CHECK: llm.split
// CHECK-NOT: llm.reshape
// CHECK: gpu.launch_func @llm_kernels::@rms_norm_0 blocks in (%c48,{{.*}} args(%{{.*}} : memref<1152xf32>, %{{.*}} : memref<16xf32>, %{{.*}} : memref<16xf32>, %{{.*}} : memref<384xf32>, %{{.*}} : memref<384xf32>)
// CHECK-NOT: rms_norm
// CHECK: llm.split %arg2 {axis = 1
// CHECK: %[[PART:.*]] = llm.reshape
// CHECK: bufferization.to_buffer %[[PART]]
// CHECK: gpu.launch_func @llm_kernels::@rms_norm_1 blocks in (%c12{{.*}} args(%{{.*}} : memref<192xf32>,
// CHECK: gpu.func @rms_norm_0(%{{.*}}: memref<1152xf32>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<16xf32>, %{{.*}}: memref<384xf32>, %{{.*}}: memref<384xf32>)
// CHECK: %[[FIRST:.*]] = arith.cmpi ult, %block_id_x, %c24
// CHECK: scf.if %[[FIRST]] {
// CHECK: arith.divui %block_id_x, %c4
// CHECK: arith.muli %{{.*}}, %c192
// CHECK: arith.remui %block_id_x, %c4
// CHECK: arith.muli %{{.*}}, %c16
// CHECK: memref.load %arg1
// CHECK: memref.store %{{.*}}, %arg3
// CHECK: } else {
// CHECK: %[[ROW:.*]] = arith.subi %block_id_x, %c24
// CHECK: arith.divui %[[ROW]], %c4
// CHECK: arith.constant 64 : index
// CHECK: memref.load %arg2
// CHECK: memref.store %{{.*}}, %arg4
// CHECK: gpu.func @rms_norm_1(%{{.*}}: memref<192xf32>
func.func @head_norms(%x: tensor<2x3x192xf32>, %g: tensor<16xf32>, %y: tensor<2x6x32xf32>) -> (tensor<2x3x4x16xf32>, tensor<2x3x4x16xf32>, tensor<2x3x64xf32>, tensor<2x3x2x16xf32>) {
  %p:3 = llm.split %x {axis = 2 : i64, sizes = array<i64: 64, 64, 64>} : (tensor<2x3x192xf32>) -> (tensor<2x3x64xf32>, tensor<2x3x64xf32>, tensor<2x3x64xf32>)
  %q = llm.reshape %p#0 : (tensor<2x3x64xf32>) -> tensor<2x3x4x16xf32>
  %k = llm.reshape %p#1 : (tensor<2x3x64xf32>) -> tensor<2x3x4x16xf32>
  %qn = llm.rms_norm %q, %g {axis = 3 : i64, epsilon = 1.0e-6 : f32} : (tensor<2x3x4x16xf32>, tensor<16xf32>) -> tensor<2x3x4x16xf32>
  %kn = llm.rms_norm %k, %g {axis = 3 : i64, epsilon = 1.0e-6 : f32} : (tensor<2x3x4x16xf32>, tensor<16xf32>) -> tensor<2x3x4x16xf32>
  %r:2 = llm.split %y {axis = 1 : i64, sizes = array<i64: 3, 3>} : (tensor<2x6x32xf32>) -> (tensor<2x3x32xf32>, tensor<2x3x32xf32>)
  %h = llm.reshape %r#0 : (tensor<2x3x32xf32>) -> tensor<2x3x2x16xf32>
  %hn = llm.rms_norm %h, %g {axis = 3 : i64, epsilon = 1.0e-6 : f32} : (tensor<2x3x2x16xf32>, tensor<16xf32>) -> tensor<2x3x2x16xf32>
  return %qn, %kn, %p#2, %hn : tensor<2x3x4x16xf32>, tensor<2x3x4x16xf32>, tensor<2x3x64xf32>, tensor<2x3x2x16xf32>
}

// -----

// Not one launch: the k norm's epsilon differs, and a norm whose gain is
// defined after the first norm (it cannot be read where that one launches).
// CHECK-LABEL: func.func @unlike_head_norms
// CHECK: gpu.launch_func @llm_kernels::@rms_norm_0 blocks in (%c24{{[_0-9]*}},
// CHECK: gpu.launch_func @llm_kernels::@rms_norm_1 blocks in (%c24{{[_0-9]*}},
// CHECK: gpu.launch_func @llm_kernels::@rms_norm_2 blocks in (%c24{{[_0-9]*}},
// CHECK: llm.add
// CHECK: gpu.launch_func @llm_kernels::@rms_norm_3 blocks in (%c24{{[_0-9]*}},
func.func @unlike_head_norms(%x: tensor<2x3x192xf32>, %g: tensor<16xf32>) -> (tensor<2x3x4x16xf32>, tensor<2x3x4x16xf32>, tensor<2x3x4x16xf32>, tensor<2x3x4x16xf32>) {
  %p:3 = llm.split %x {axis = 2 : i64, sizes = array<i64: 64, 64, 64>} : (tensor<2x3x192xf32>) -> (tensor<2x3x64xf32>, tensor<2x3x64xf32>, tensor<2x3x64xf32>)
  %q = llm.reshape %p#0 : (tensor<2x3x64xf32>) -> tensor<2x3x4x16xf32>
  %k = llm.reshape %p#1 : (tensor<2x3x64xf32>) -> tensor<2x3x4x16xf32>
  %qn = llm.rms_norm %q, %g {axis = 3 : i64, epsilon = 1.0e-6 : f32} : (tensor<2x3x4x16xf32>, tensor<16xf32>) -> tensor<2x3x4x16xf32>
  %kn = llm.rms_norm %k, %g {axis = 3 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x3x4x16xf32>, tensor<16xf32>) -> tensor<2x3x4x16xf32>
  %r:3 = llm.split %x {axis = 2 : i64, sizes = array<i64: 64, 64, 64>} : (tensor<2x3x192xf32>) -> (tensor<2x3x64xf32>, tensor<2x3x64xf32>, tensor<2x3x64xf32>)
  %r0 = llm.reshape %r#0 : (tensor<2x3x64xf32>) -> tensor<2x3x4x16xf32>
  %r1 = llm.reshape %r#1 : (tensor<2x3x64xf32>) -> tensor<2x3x4x16xf32>
  %an = llm.rms_norm %r0, %g {axis = 3 : i64, epsilon = 1.0e-6 : f32} : (tensor<2x3x4x16xf32>, tensor<16xf32>) -> tensor<2x3x4x16xf32>
  %g2 = llm.add %g, %g : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %bn = llm.rms_norm %r1, %g2 {axis = 3 : i64, epsilon = 1.0e-6 : f32} : (tensor<2x3x4x16xf32>, tensor<16xf32>) -> tensor<2x3x4x16xf32>
  return %qn, %kn, %an, %bn : tensor<2x3x4x16xf32>, tensor<2x3x4x16xf32>, tensor<2x3x4x16xf32>, tensor<2x3x4x16xf32>
}

// -----

// A weight (an argument with llm.weight) is read in bf16: the launch passes
// it through a cast that the launch plan turns into a bf16 copy, and the
// kernel copies 8 bf16 (16 bytes) at a time into shared memory with
// cp.async, no rounding, no registers. The activation stays f32, loaded,
// rounded and stored by the threads. With f16 tensor cores the weight
// stays f32.
// CHECK-LABEL: func.func @bf16_weight
// CHECK: %[[FLAT:.*]] = memref.reinterpret_cast %{{.*}} to offset: [0], sizes: [8192], strides: [1] : memref<64x128xf32> to memref<8192xf32>
// CHECK: %[[W:.*]] = builtin.unrealized_conversion_cast %[[FLAT]] : memref<8192xf32> to memref<8192xbf16>
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 {{.*}} args(%{{.*}} : memref<2048xf32>, %[[W]] : memref<8192xbf16>
// CHECK: gpu.func @matmul_0(%{{.*}}: memref<2048xf32>, %{{.*}}: memref<8192xbf16>
// CHECK: %[[WADDR:.*]] = memref.extract_aligned_pointer_as_index %arg1 : memref<8192xbf16> -> index
// CHECK: %[[SRC:.*]] = llvm.addrspacecast %{{.*}} : !llvm.ptr to !llvm.ptr<1>
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %[[SRC]], 16, cache = cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK: nvvm.cp.async.commit.group
// CHECK: vector.load %arg0[%{{.*}}] {alignment = 16 : i64} : memref<2048xf32>, vector<4xf32>
// CHECK-NOT: vector.load %arg1
// CHECK: vector.store %{{.*}}, %arg3[%{{.*}}, %{{.*}}, %{{.*}}] {alignment = 8 : i64} : memref<2x64x40xbf16, #gpu.address_space<workgroup>>, vector<4xbf16>
// CHECK-NOT: vector.store %{{.*}}, %arg4
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: gpu.barrier
// F16-LABEL: func.func @bf16_weight
// F16-NOT: unrealized_conversion_cast
// F16: gpu.func @matmul_0(%{{.*}}: memref<2048xf32>, %{{.*}}: memref<8192xf32>
func.func @bf16_weight(%x: tensor<16x128xf32> {llm.name = "x"}, %w: tensor<64x128xf32> {llm.weight = "fc"}) -> tensor<16x64xf32> {
  %y = llm.matmul %x, %w {transpose_rhs = true} : (tensor<16x128xf32>, tensor<64x128xf32>) -> tensor<16x64xf32>
  return %y : tensor<16x64xf32>
}
