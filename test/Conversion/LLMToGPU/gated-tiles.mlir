// RUN: llm-opt %s --verify-each --convert-llm-to-gpu -split-input-file | FileCheck %s
// RUN: llm-opt %s --verify-each --convert-llm-to-gpu=wgmma=1 -split-input-file | FileCheck %s --check-prefix=WGMMA

// A gated unit after a product of 128 rows (the tensor-core kernels), its
// gate the second half of the split (tanh GELU) and the multiply's
// operands in either order: one launch over the 96 product columns (two
// 64-wide tiles) that stores 48 columns a row; the split, the activation
// and the multiply are gone. The B tile reads weight row (product column)
// c at 8 (c / 16) + c % 8 + 48 (the gate half) where c % 16 < 8, else 48
// fewer (the up half). A thread's first accumulator of a tile is its gate
// value, the same register of the next tile its up value: the gate's bias
// at column + 48, the up's at column.
// CHECK-LABEL: func.func @gated_tiles
// CHECK-NOT: llm.
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 blocks in (%c2, %c2{{.*}}, %c1) threads in (%c128,{{.*}} args(%{{.*}} : memref<8192xf32>, %{{.*}} : memref<6144xf32>, %{{.*}} : memref<96xf32>, %{{.*}} : memref<6144xf32>)
// CHECK-NOT: llm.
// CHECK: gpu.func @matmul_0
// CHECK: %[[GROUP:.*]] = arith.muli %{{.*}}, %c8{{.*}} : index
// CHECK: %[[WITHIN:.*]] = arith.addi %{{.*}}, %c48{{.*}} : index
// CHECK: arith.addi %[[GROUP]], %[[WITHIN]]
// CHECK: arith.muli %{{.*}}, %c-48{{.*}} : index
// CHECK: %[[ACC:.*]]:32 = scf.for
// CHECK: nvvm.mma.sync
// CHECK: scf.if
// CHECK: %[[GCOL:.*]] = arith.addi %[[COL:.*]], %c48{{.*}} : index
// CHECK: memref.load %arg2[
// CHECK: %[[G:.*]] = arith.addf %[[ACC]]#0, %{{.*}} : f32
// CHECK: memref.load %arg2[
// CHECK: %[[U:.*]] = arith.addf %[[ACC]]#4, %{{.*}} : f32
// CHECK: math.tanh
// CHECK: %[[HALF:.*]] = arith.mulf %[[G]], %cst
// CHECK: %[[GELU:.*]] = arith.mulf %[[HALF]], %{{.*}} : f32
// CHECK: %[[V:.*]] = arith.mulf %[[GELU]], %[[U]] : f32
// CHECK: memref.store %[[V]], %arg3
// WGMMA-LABEL: func.func @gated_tiles
// WGMMA: gpu.launch_func @llm_kernels::@matmul_0 blocks in (%c2, %c2{{.*}}, %c1) threads in (%c128,{{.*}} : memref<6144xf32>)
// WGMMA: nvvm.wgmma.mma_async
// WGMMA: %[[G:.*]] = llvm.extractvalue %[[LOOP:.*]][0]
// WGMMA: %[[U:.*]] = llvm.extractvalue %[[LOOP]][4]
// WGMMA: arith.addf %[[G]],
// WGMMA: arith.addf %[[U]],
// WGMMA: math.tanh
// WGMMA: llvm.extractvalue %[[LOOP]][1]
// WGMMA: llvm.extractvalue %[[LOOP]][5]
// WGMMA: llvm.extractvalue %[[LOOP]][8]
// WGMMA: llvm.extractvalue %[[LOOP]][12]
func.func @gated_tiles(%x: tensor<2x64x64xf32>, %w: tensor<64x96xf32>, %b: tensor<96xf32>) -> tensor<2x64x48xf32> {
  %y = llm.matmul %x, %w bias %b : (tensor<2x64x64xf32>, tensor<64x96xf32>, tensor<96xf32>) -> tensor<2x64x96xf32>
  %p:2 = llm.split %y {axis = 2 : i64, sizes = array<i64: 48, 48>} : (tensor<2x64x96xf32>) -> (tensor<2x64x48xf32>, tensor<2x64x48xf32>)
  %g = llm.gelu %p#1 {approximation = #llm.gelu_approximation<tanh>} : tensor<2x64x48xf32>
  %o = llm.mul %p#0, %g : (tensor<2x64x48xf32>, tensor<2x64x48xf32>) -> tensor<2x64x48xf32>
  return %o : tensor<2x64x48xf32>
}

// -----

// Not gated in the product's kernel: halves of 20 columns (not whole
// 8-column tiles), and a product with a residual (the gated store has no
// residual term): each keeps its split, activation and multiply.
// CHECK-LABEL: func.func @not_gated_tiles
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 {{.*}} : memref<2560xf32>)
// CHECK: llm.split
// CHECK: llm.silu
// CHECK: llm.mul
// CHECK: gpu.launch_func @llm_kernels::@matmul_1 {{.*}} : memref<6144xf32>)
// CHECK: llm.split
// CHECK: llm.silu
// CHECK: llm.mul
func.func @not_gated_tiles(%x: tensor<64x64xf32>, %w: tensor<64x40xf32>, %w2: tensor<64x96xf32>, %r: tensor<64x96xf32>) -> (tensor<64x20xf32>, tensor<64x48xf32>) {
  %y = llm.matmul %x, %w : (tensor<64x64xf32>, tensor<64x40xf32>) -> tensor<64x40xf32>
  %p:2 = llm.split %y {axis = 1 : i64, sizes = array<i64: 20, 20>} : (tensor<64x40xf32>) -> (tensor<64x20xf32>, tensor<64x20xf32>)
  %g = llm.silu %p#0 : tensor<64x20xf32>
  %o = llm.mul %g, %p#1 : (tensor<64x20xf32>, tensor<64x20xf32>) -> tensor<64x20xf32>
  %y2 = llm.matmul %x, %w2 residual %r : (tensor<64x64xf32>, tensor<64x96xf32>, tensor<64x96xf32>) -> tensor<64x96xf32>
  %q:2 = llm.split %y2 {axis = 1 : i64, sizes = array<i64: 48, 48>} : (tensor<64x96xf32>) -> (tensor<64x48xf32>, tensor<64x48xf32>)
  %h = llm.silu %q#0 : tensor<64x48xf32>
  %o2 = llm.mul %h, %q#1 : (tensor<64x48xf32>, tensor<64x48xf32>) -> tensor<64x48xf32>
  return %o, %o2 : tensor<64x20xf32>, tensor<64x48xf32>
}
