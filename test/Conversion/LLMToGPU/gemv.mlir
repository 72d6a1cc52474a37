// RUN: llm-opt %s --verify-each --convert-llm-to-gpu -split-input-file | FileCheck %s
// RUN: llm-opt %s --convert-llm-to-gpu=wgmma=1 -split-input-file | FileCheck %s --check-prefix=WGMMA

// A decode step's projection (one row) takes the GEMV kernel: one warp per
// output column, eight columns per 256-thread block (2304 / 8 = 288
// blocks, where 64-column tiles would give 36), on sm_90a too. Each lane
// reads runs of 8 along k: 16 bytes of the bf16 weight copy (stored
// [N, K]) and 32 of x, rounded to bf16 as the tensor cores round it, two
// runs per iteration; f32 vector fma, then the 8 partial sums and a warp
// butterfly; lane 0 stores through the epilogue (bias, tanh GELU).
// CHECK-LABEL: func.func @decode
// CHECK: %[[GX:.*]] = arith.constant 288 : index
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 blocks in (%[[GX]], %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) args(
// CHECK: gpu.func @matmul_0(%{{.*}}: memref<768xf32>, %{{.*}}: memref<1769472xbf16>, %{{.*}}: memref<2304xf32>, %{{.*}}: memref<2304xf32>) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK-NOT: workgroup
// CHECK: scf.for {{.*}} -> (vector<8xf32>)
// CHECK-COUNT-2: vector.load %arg1[%{{.*}}] {alignment = 16 : i64} : memref<1769472xbf16>, vector<8xbf16>
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.yield
// CHECK-COUNT-8: vector.extract
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: scf.if
// CHECK: memref.load %arg2
// CHECK: math.tanh
// CHECK: memref.store
// WGMMA-LABEL: gpu.func @matmul_0
// WGMMA-NOT: nvvm.wgmma
// WGMMA: math.fma {{.*}} : vector<8xf32>
// WGMMA-NOT: nvvm.wgmma
// WGMMA: gpu.return
func.func @decode(%x: tensor<1x768xf32>, %w: tensor<2304x768xf32> {llm.weight = "w"}, %b: tensor<2304xf32>) -> tensor<1x2304xf32> {
  %y = llm.matmul %x, %w bias %b {transpose_rhs = true, activation = #llm.activation<gelu_tanh>} : (tensor<1x768xf32>, tensor<2304x768xf32>, tensor<2304xf32>) -> tensor<1x2304xf32>
  return %y : tensor<1x2304xf32>
}

// -----

// Eight rows (a small batch of decode steps) still take it, with one f32
// accumulator vector per row; nine take the tensor cores.
// CHECK-LABEL: func.func @rows
// CHECK: gpu.func @matmul_0(
// CHECK: scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.func @matmul_1(
// CHECK: nvvm.mma.sync
func.func @rows(%x: tensor<8x256xf32>, %x9: tensor<9x256xf32>, %w: tensor<512x256xf32> {llm.weight = "w"}) -> (tensor<8x512xf32>, tensor<9x512xf32>) {
  %y = llm.matmul %x, %w {transpose_rhs = true} : (tensor<8x256xf32>, tensor<512x256xf32>) -> tensor<8x512xf32>
  %z = llm.matmul %x9, %w {transpose_rhs = true} : (tensor<9x256xf32>, tensor<512x256xf32>) -> tensor<9x512xf32>
  return %y, %z : tensor<8x512xf32>, tensor<9x512xf32>
}

// -----

// An int8 product of one row stays on the tensor cores (s8 mma: exact i32
// sums).
// CHECK-LABEL: func.func @int8
// CHECK: gpu.func @qmatmul_0(
// CHECK: nvvm.mma.sync
func.func @int8(%x: tensor<1x256xi8>, %w: tensor<256x512xi8>) -> tensor<1x512xi32> {
  %y = llm.qmatmul %x, %w : (tensor<1x256xi8>, tensor<256x512xi8>) -> tensor<1x512xi32>
  return %y : tensor<1x512xi32>
}

// -----

// A decoding step's experts (2 tokens, 2 of 4 experts each, gathered from
// a [4, 32, 64] table) are read from the table through the indices: no
// gathered copy, one launch. Each batch entry loads its index, wraps a
// negative one and clamps it as llm.gather does, and reads that expert's
// matrix (32 x 64 elements further per index).
// CHECK-LABEL: func.func @experts
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 {{.*}} args(%{{.*}} : memref<128xf32>, %{{.*}} : memref<8192xbf16>, %{{.*}} : memref<4xi64>, %{{.*}} : memref<128xf32>)
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.func @matmul_0(%{{.*}}: memref<128xf32>, %{{.*}}: memref<8192xbf16>, %[[IDX:.*]]: memref<4xi64>, %{{.*}}: memref<128xf32>)
// CHECK: %[[I:.*]] = memref.load %[[IDX]][%{{.*}}] : memref<4xi64>
// CHECK: %[[C:.*]] = arith.index_cast %[[I]] : i64 to index
// CHECK: arith.cmpi slt, %[[C]]
// CHECK: arith.maxsi
// CHECK: %[[E:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK: arith.muli %[[E]], %{{.*}} : index
func.func @experts(%x: tensor<2x1x1x64xf32>, %t: tensor<4x32x64xf32> {llm.weight = "experts"}, %ids: tensor<2x2xi64>) -> tensor<2x2x1x32xf32> {
  %w = llm.gather %t, %ids {axis = 0 : i64} : (tensor<4x32x64xf32>, tensor<2x2xi64>) -> tensor<2x2x32x64xf32>
  %y = llm.matmul %x, %w {transpose_rhs = true} : (tensor<2x1x1x64xf32>, tensor<2x2x32x64xf32>) -> tensor<2x2x1x32xf32>
  return %y : tensor<2x2x1x32xf32>
}

// -----

// The same with 4-bit experts in blocks of 32 (a QMoE's, or --quant w4's):
// bytes and scales are gathered by the same indices, and the kernel reads
// both tables through them, dequantizing as it loads.
// CHECK-LABEL: func.func @quantized_experts
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 {{.*}} args(%{{.*}} : memref<128xf32>, %{{.*}} : memref<4096xi8>, %{{.*}} : memref<256xf32>, %{{.*}} : memref<4xi64>, %{{.*}} : memref<128xf32>)
// CHECK-NOT: gpu.launch_func
func.func @quantized_experts(%x: tensor<2x1x1x64xf32>, %q: tensor<4x32x32xi8> {llm.weight = "q"}, %s: tensor<4x32x2xf32> {llm.weight = "s"}, %ids: tensor<2x2xi64>) -> tensor<2x2x1x32xf32> {
  %qb = llm.gather %q, %ids {axis = 0 : i64} : (tensor<4x32x32xi8>, tensor<2x2xi64>) -> tensor<2x2x32x32xi8>
  %sb = llm.gather %s, %ids {axis = 0 : i64} : (tensor<4x32x2xf32>, tensor<2x2xi64>) -> tensor<2x2x32x2xf32>
  %w = llm.dequantize %qb, %sb {bits = 4 : i64, block_size = 32 : i64} : (tensor<2x2x32x32xi8>, tensor<2x2x32x2xf32>) -> tensor<2x2x32x64xf32>
  %y = llm.matmul %x, %w {transpose_rhs = true} : (tensor<2x1x1x64xf32>, tensor<2x2x32x64xf32>) -> tensor<2x2x1x32xf32>
  return %y : tensor<2x2x1x32xf32>
}
