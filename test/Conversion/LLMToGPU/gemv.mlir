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

// -----

// A gated unit after a one-row product, silu(gate) * up of the two halves
// of its split (the multiply's operands in either order): one GEMV that
// reads the gate column j and the up column j + 48 of the weight (two
// accumulators a row), adds each column's bias and stores silu(g) * u, 48
// columns (6 blocks). The split, the activation and the multiply are gone.
// CHECK-LABEL: func.func @gated
// CHECK-NOT: llm.
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 blocks in (%c6,{{.*}} args(%{{.*}} : memref<64xf32>, %{{.*}} : memref<6144xf32>, %{{.*}} : memref<96xf32>, %{{.*}} : memref<48xf32>)
// CHECK-NOT: llm.
// CHECK: gpu.func @matmul_0
// CHECK: %[[COL:.*]] = arith.select
// CHECK: arith.addi %[[COL]], %c48
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (vector<1xf32>, vector<1xf32>)
// CHECK: scf.if
// CHECK: memref.load %arg2
// CHECK: %[[G:.*]] = arith.addf %{{.*}}, %{{.*}} : f32
// CHECK: arith.addi %{{.*}}, %c48
// CHECK: memref.load %arg2
// CHECK: %[[U:.*]] = arith.addf %{{.*}}, %{{.*}} : f32
// CHECK: llvm.nvvm.ex2.approx.ftz.f
// CHECK: %[[SILU:.*]] = arith.divf %[[G]], %{{.*}} : f32
// CHECK: %[[V:.*]] = arith.mulf %[[SILU]], %[[U]] : f32
// CHECK: memref.store %[[V]], %arg3
func.func @gated(%x: tensor<1x1x64xf32>, %w: tensor<64x96xf32>, %b: tensor<96xf32>) -> tensor<1x1x48xf32> {
  %y = llm.matmul %x, %w bias %b : (tensor<1x1x64xf32>, tensor<64x96xf32>, tensor<96xf32>) -> tensor<1x1x96xf32>
  %p:2 = llm.split %y {axis = 2 : i64, sizes = array<i64: 48, 48>} : (tensor<1x1x96xf32>) -> (tensor<1x1x48xf32>, tensor<1x1x48xf32>)
  %g = llm.silu %p#0 : tensor<1x1x48xf32>
  %o = llm.mul %p#1, %g : (tensor<1x1x48xf32>, tensor<1x1x48xf32>) -> tensor<1x1x48xf32>
  return %o : tensor<1x1x48xf32>
}

// -----

// Not gated in the kernel: the gate half is also returned (its product
// must be stored), and a gate multiplied by the same half is no gated unit.
// CHECK-LABEL: func.func @not_gated
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 {{.*}} : memref<96xf32>)
// CHECK: llm.split
// CHECK: llm.silu
// CHECK: llm.mul
// CHECK: gpu.launch_func @llm_kernels::@matmul_1 {{.*}} : memref<96xf32>)
// CHECK: llm.split
// CHECK: llm.silu
// CHECK: llm.mul
func.func @not_gated(%x: tensor<1x1x64xf32>, %w: tensor<64x96xf32>) -> (tensor<1x1x48xf32>, tensor<1x1x48xf32>, tensor<1x1x48xf32>) {
  %y = llm.matmul %x, %w : (tensor<1x1x64xf32>, tensor<64x96xf32>) -> tensor<1x1x96xf32>
  %p:2 = llm.split %y {axis = 2 : i64, sizes = array<i64: 48, 48>} : (tensor<1x1x96xf32>) -> (tensor<1x1x48xf32>, tensor<1x1x48xf32>)
  %g = llm.silu %p#0 : tensor<1x1x48xf32>
  %o = llm.mul %g, %p#1 : (tensor<1x1x48xf32>, tensor<1x1x48xf32>) -> tensor<1x1x48xf32>
  %y2 = llm.matmul %x, %w : (tensor<1x1x64xf32>, tensor<64x96xf32>) -> tensor<1x1x96xf32>
  %q:2 = llm.split %y2 {axis = 2 : i64, sizes = array<i64: 48, 48>} : (tensor<1x1x96xf32>) -> (tensor<1x1x48xf32>, tensor<1x1x48xf32>)
  %h = llm.silu %q#0 : tensor<1x1x48xf32>
  %o2 = llm.mul %h, %h : (tensor<1x1x48xf32>, tensor<1x1x48xf32>) -> tensor<1x1x48xf32>
  return %o, %p#0, %o2 : tensor<1x1x48xf32>, tensor<1x1x48xf32>, tensor<1x1x48xf32>
}

// -----

// A routed expert's gated unit (llm-route-experts' form): the halves of the
// gathered product [2, 1, 96] are reshaped to [2, 48] rows before the silu
// and the multiply. The reshapes keep the last dim, so the rows are the
// kernel's: one GEMV reads both halves of each row's expert and stores
// silu(g) * u as the multiply's [2, 48]; no llm op is left. A reshape that
// regroups the last dim ([2, 1, 48] to [2, 4, 12]) keeps the unit apart.
// CHECK-LABEL: func.func @gated_experts
// CHECK-NOT: llm.
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 {{.*}} : memref<128xf32>, {{.*}} : memref<2xi64>, {{.*}} : memref<96xf32>)
// CHECK-NOT: llm.
// CHECK: gpu.func @matmul_0
// CHECK: arith.addi %{{.*}}, %c48
// CHECK: llvm.nvvm.ex2.approx.ftz.f
func.func @gated_experts(%x: tensor<2x1x64xf32>, %t: tensor<4x96x64xf32>, %ids: tensor<2xi64>) -> tensor<2x48xf32> {
  %w = llm.gather %t, %ids {axis = 0 : i64} : (tensor<4x96x64xf32>, tensor<2xi64>) -> tensor<2x96x64xf32>
  %y = llm.matmul %x, %w {transpose_rhs = true} : (tensor<2x1x64xf32>, tensor<2x96x64xf32>) -> tensor<2x1x96xf32>
  %p:2 = llm.split %y {axis = 2 : i64, sizes = array<i64: 48, 48>} : (tensor<2x1x96xf32>) -> (tensor<2x1x48xf32>, tensor<2x1x48xf32>)
  %g0 = llm.reshape %p#0 : (tensor<2x1x48xf32>) -> tensor<2x48xf32>
  %g = llm.silu %g0 : tensor<2x48xf32>
  %u = llm.reshape %p#1 : (tensor<2x1x48xf32>) -> tensor<2x48xf32>
  %o = llm.mul %g, %u : (tensor<2x48xf32>, tensor<2x48xf32>) -> tensor<2x48xf32>
  return %o : tensor<2x48xf32>
}

// -----

// CHECK-LABEL: func.func @gated_experts_regrouped
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 {{.*}} : memref<192xf32>)
// CHECK: llm.split
// CHECK: llm.silu
// CHECK: llm.mul
func.func @gated_experts_regrouped(%x: tensor<2x1x64xf32>, %t: tensor<4x96x64xf32>, %ids: tensor<2xi64>) -> tensor<2x4x12xf32> {
  %w = llm.gather %t, %ids {axis = 0 : i64} : (tensor<4x96x64xf32>, tensor<2xi64>) -> tensor<2x96x64xf32>
  %y = llm.matmul %x, %w {transpose_rhs = true} : (tensor<2x1x64xf32>, tensor<2x96x64xf32>) -> tensor<2x1x96xf32>
  %p:2 = llm.split %y {axis = 2 : i64, sizes = array<i64: 48, 48>} : (tensor<2x1x96xf32>) -> (tensor<2x1x48xf32>, tensor<2x1x48xf32>)
  %g0 = llm.reshape %p#0 : (tensor<2x1x48xf32>) -> tensor<2x4x12xf32>
  %g = llm.silu %g0 : tensor<2x4x12xf32>
  %u = llm.reshape %p#1 : (tensor<2x1x48xf32>) -> tensor<2x4x12xf32>
  %o = llm.mul %g, %u : (tensor<2x4x12xf32>, tensor<2x4x12xf32>) -> tensor<2x4x12xf32>
  return %o : tensor<2x4x12xf32>
}
