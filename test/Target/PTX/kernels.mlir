// REQUIRES: ptxas
// The fused kernels of the ptx backend at transformer shapes: every one
// assembles for sm_90, matmuls and attention run on tensor cores
// (mma.sync m16n8k16, bf16 inputs, f32 accumulation; f16 on request), and
// none of the matmul or attention kernels spills.
// RUN: llm-opt %s --verify-each --llm-ptx-lowering -o %t.mlir
// RUN: llm-translate --emit-ptx %t.mlir -o %t.ptx
// RUN: FileCheck %s --input-file %t.mlir --check-prefix=LAUNCH
// RUN: FileCheck %s --input-file %t.ptx --implicit-check-not=__nv_ --implicit-check-not='.extern .func'
// RUN: %python %llmc_src/scripts/ptx_resources.py %t.ptx --no-spills '^matmul' \
// RUN:     --no-spills '^attention' | FileCheck %s --check-prefix=RES
// RUN: llm-opt %s --llm-ptx-lowering=mma-type=f16 | llm-translate --emit-ptx \
// RUN:   | FileCheck %s --check-prefix=F16
// For sm_90a the matmuls take wgmma (two warpgroups, m64n256k16 for the
// 128x256 projection tiles), still without spills.
// RUN: llm-opt %s --llm-ptx-lowering=chip=sm_90a | llm-translate --emit-ptx -o %t.sm90a.ptx
// RUN: FileCheck %s --input-file %t.sm90a.ptx --check-prefix=WGMMA --implicit-check-not='.extern .func'
// RUN: %python %llmc_src/scripts/ptx_resources.py --arch sm_90a --no-performance-loss %t.sm90a.ptx --no-spills '^matmul' \
// RUN:     --no-spills '^attention' > /dev/null
// WGMMA: .target sm_90a
// WGMMA-LABEL: .visible .entry matmul_0(
// WGMMA-COUNT-2: wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16
// WGMMA-NOT: mma.sync
// WGMMA: ret;

// CHECK: .target sm_90
// The attention kernels' two stages of K and V at head dim 128 (69632
// bytes) are past static shared memory: dynamic shared memory, declared
// once, as nvcc declares `extern __shared__`.
// CHECK: .extern .shared .align 16 .b8 __dynamic_shmem__0[];
// A projection with bias, tanh GELU and residual, batch folded into rows;
// 128x128 block tiles (512 blocks fill 132 SMs).
// Fragments come from shared memory through ldmatrix.x4 only (no 32-bit
// shared loads): per k16 step of a 64x32 warp tile, 4 for A and 2 for B.
// CHECK-LABEL: .visible .entry matmul_0(
// CHECK-NOT: ld.shared
// CHECK-COUNT-6: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK-NOT: ld.shared
// CHECK-COUNT-8: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-NOT: ld.shared
// CHECK: ret;
// A batched product with a transposed rhs (Q Kᵀ) and a scale.
// CHECK-LABEL: .visible .entry matmul_1(
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK: ret;
// Causal grouped-query attention, head dim 128: online softmax with quad
// shuffles and exp2, both products on tensor cores.
// K fragments through ldmatrix.x4, V's through ldmatrix.x4.trans of the
// [key][d] tile.
// CHECK-LABEL: .visible .entry attention_2(
// CHECK: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK: shfl.sync.bfly.b32
// CHECK-NOT: call
// CHECK: ex2.approx
// CHECK-NOT: call
// CHECK: cvt.rn.bf16x2.f32
// CHECK: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK: ret;
// Its grid (4 query blocks x 16 heads) fills under half of an H100's
// SMs: the keys split in two, and the combine kernel merges the halves'
// rows, weighing each by exp2 of its max over the row's.
// CHECK-LABEL: .visible .entry attention_combine_3(
// CHECK-NOT: mma.sync
// CHECK: ex2.approx
// CHECK: ret;
// Attention with an additive mask broadcast over heads; its combine
// kernel is attention_combine_3's twin, deduplicated.
// CHECK-LABEL: .visible .entry attention_4(
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-NOT: .entry attention_combine
// CHECK-LABEL: .visible .entry layer_norm_6(
// CHECK: shfl.sync.bfly.b32
// CHECK: bar.sync
// CHECK-LABEL: .visible .entry rms_norm_7(
// CHECK-LABEL: .visible .entry softmax_8(
// CHECK: ex2.approx
// A decode step's projection (one row, the weight stored [N, K] as
// llm-k-major-weights stores it): the GEMV kernel, 16-byte loads of the
// bf16 weight copy, f32 fma, warp shuffles, no tensor cores.
// CHECK-LABEL: .visible .entry matmul_9(
// CHECK-NOT: mma.sync
// CHECK: ld.global.v4.b32
// CHECK-NOT: mma.sync
// CHECK: fma.rn.f32
// CHECK-NOT: mma.sync
// CHECK: shfl.sync.bfly.b32
// CHECK-NOT: mma.sync
// CHECK: ret;
// The same projection after an RMS norm and after a layer norm (the
// norms' one reader): no norm kernels, the GEMV reads x and the norm's gain
// (and bias), takes each row's statistics with warp shuffles, and
// normalizes the row as it reads it (the norms keep their names, 10 and
// 12, for no kernel).
// CHECK-NOT: .entry rms_norm
// CHECK-NOT: .entry layer_norm
// CHECK-LABEL: .visible .entry matmul_11(
// CHECK-NOT: mma.sync
// CHECK: shfl.sync.bfly.b32
// CHECK: sqrt.rn.f32
// CHECK: ld.global.v4.b32
// CHECK: ret;
// CHECK-LABEL: .visible .entry matmul_13(
// CHECK-NOT: mma.sync
// CHECK: ret;
// The generic path (after the fused kernels): the elementwise add, one
// thread per element.
// CHECK-LABEL: .visible .entry forward_kernel(

// The norm-fused GEMVs' parameters: x, the weight's bf16 copy, the gain,
// the layer norm's bias, the result.
// LAUNCH-DAG: gpu.launch_func @llm_kernels::@matmul_11 {{.*}} args(%{{.*}} : memref<1024xf32>, %{{.*}} : memref<4194304xbf16>, %arg8 : memref<1024xf32>, %{{.*}} : memref<4096xf32>)
// LAUNCH-DAG: gpu.launch_func @llm_kernels::@matmul_13 {{.*}} args(%{{.*}} : memref<1024xf32>, %{{.*}} : memref<4194304xbf16>, %arg8 : memref<1024xf32>, %arg8 : memref<1024xf32>, %{{.*}} : memref<4096xf32>)
// Their launches pass its size; the products' tiles stay static.
// LAUNCH-DAG: %[[SHARED:.*]] = arith.constant 69632 : i32
// LAUNCH-DAG: gpu.launch_func @llm_kernels::@matmul_0 {{.*}} threads in ({{.*}}) args(
// LAUNCH-DAG: gpu.launch_func @llm_kernels::@attention_2 blocks in (%c4, %c16, %c2) {{.*}} dynamic_shared_memory_size %[[SHARED]] args(
// LAUNCH-DAG: gpu.launch_func @llm_kernels::@attention_4 blocks in (%c4, %c16, %c2) {{.*}} dynamic_shared_memory_size %[[SHARED]] args(
// LAUNCH-DAG: gpu.launch_func @llm_kernels::@attention_combine_3 blocks in (%c4096, %c1, %c1) threads in (%c128, %c1, %c1)

// RES: kernel regs spill st spill ld
// RES-DAG: attention_2 {{[0-9]+}} 0 0 {{[0-9]+}}
// RES-DAG: matmul_0 {{[0-9]+}} 0 0 {{[0-9]+}}
// RES-DAG: matmul_9 {{[0-9]+}} 0 0 0

// F16: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// F16-NOT: bf16.bf16

func.func @forward(%x: tensor<2x1024x1024xf32>, %w: tensor<1024x4096xf32>,
                   %b: tensor<4096xf32>, %r: tensor<2x1024x4096xf32>,
                   %q: tensor<2x8x256x128xf32>, %k: tensor<2x2x256x128xf32>,
                   %v: tensor<2x2x256x128xf32>, %mask: tensor<2x1x256x256xf32>,
                   %g: tensor<1024xf32>, %xd: tensor<1x1024xf32>,
                   %wd: tensor<4096x1024xf32> {llm.weight = "wd"})
    -> (tensor<2x1024x4096xf32>, tensor<2x8x256x256xf32>, tensor<2x8x256x128xf32>,
        tensor<2x8x256x128xf32>, tensor<2x1024x1024xf32>, tensor<2x1024x1024xf32>,
        tensor<2x8x256x256xf32>, tensor<2x1024x1024xf32>, tensor<1x4096xf32>,
        tensor<1x4096xf32>, tensor<1x4096xf32>) {
  %y = llm.matmul %x, %w bias %b residual %r {activation = #llm.activation<gelu_tanh>}
      : (tensor<2x1024x1024xf32>, tensor<1024x4096xf32>, tensor<4096xf32>, tensor<2x1024x4096xf32>) -> tensor<2x1024x4096xf32>
  %s = llm.matmul %q, %q {transpose_rhs = true, scale = 0.125 : f32}
      : (tensor<2x8x256x128xf32>, tensor<2x8x256x128xf32>) -> tensor<2x8x256x256xf32>
  %a = llm.attention %q, %k, %v {scale = 0.088388 : f32, causal = true}
      : (tensor<2x8x256x128xf32>, tensor<2x2x256x128xf32>, tensor<2x2x256x128xf32>) -> tensor<2x8x256x128xf32>
  %m = llm.attention %q, %k, %v, %mask {scale = 0.088388 : f32}
      : (tensor<2x8x256x128xf32>, tensor<2x2x256x128xf32>, tensor<2x2x256x128xf32>, tensor<2x1x256x256xf32>) -> tensor<2x8x256x128xf32>
  %l = llm.layer_norm %x, %g, %g {axis = 2 : i64, epsilon = 1.0e-5 : f32}
      : (tensor<2x1024x1024xf32>, tensor<1024xf32>, tensor<1024xf32>) -> tensor<2x1024x1024xf32>
  %n = llm.rms_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-6 : f32}
      : (tensor<2x1024x1024xf32>, tensor<1024xf32>) -> tensor<2x1024x1024xf32>
  %p = llm.softmax %s {axis = 3 : i64} : tensor<2x8x256x256xf32>
  %d = llm.matmul %xd, %wd bias %b {transpose_rhs = true}
      : (tensor<1x1024xf32>, tensor<4096x1024xf32>, tensor<4096xf32>) -> tensor<1x4096xf32>
  %e = llm.add %l, %n : (tensor<2x1024x1024xf32>, tensor<2x1024x1024xf32>) -> tensor<2x1024x1024xf32>
  %rn = llm.rms_norm %xd, %g {axis = 1 : i64, epsilon = 1.0e-6 : f32}
      : (tensor<1x1024xf32>, tensor<1024xf32>) -> tensor<1x1024xf32>
  %dr = llm.matmul %rn, %wd {transpose_rhs = true}
      : (tensor<1x1024xf32>, tensor<4096x1024xf32>) -> tensor<1x4096xf32>
  %ln = llm.layer_norm %xd, %g, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32}
      : (tensor<1x1024xf32>, tensor<1024xf32>, tensor<1024xf32>) -> tensor<1x1024xf32>
  %dl = llm.matmul %ln, %wd {transpose_rhs = true}
      : (tensor<1x1024xf32>, tensor<4096x1024xf32>) -> tensor<1x4096xf32>
  return %y, %s, %a, %m, %l, %n, %p, %e, %d, %dr, %dl : tensor<2x1024x4096xf32>, tensor<2x8x256x256xf32>, tensor<2x8x256x128xf32>,
      tensor<2x8x256x128xf32>, tensor<2x1024x1024xf32>, tensor<2x1024x1024xf32>,
      tensor<2x8x256x256xf32>, tensor<2x1024x1024xf32>, tensor<1x4096xf32>, tensor<1x4096xf32>, tensor<1x4096xf32>
}
