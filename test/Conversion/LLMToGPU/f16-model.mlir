// RUN: llm-opt %s --verify-each --convert-llm-to-gpu -split-input-file | FileCheck %s

// An f16 model's ops run on the fused kernels with f16 buffers: the
// tensor cores multiply the f16 operands as they are (f16 mma, f32
// accumulation), whatever mma-type says for f32 models; the epilogue, the
// softmax and the norms compute in f32 and round the stores to f16.

// CHECK-LABEL: func.func @matmul
// CHECK-NOT: llm.matmul
// CHECK: gpu.launch_func @llm_kernels::@matmul_0
// CHECK: gpu.func @matmul_0(%{{.*}}: memref<2048xf16>, %{{.*}}: memref<16384xf16>, %{{.*}}: memref<256xf16>, %{{.*}}: memref<8192xf16>, %{{.*}}: memref<8192xf16>)
// CHECK-SAME: workgroup(%{{.*}}: memref<2x64x40xf16, #gpu.address_space<workgroup>>
// Eight f16 (16 bytes) of x at a time go to shared memory unconverted, by
// cp.async; w ([K, N], not a weight made K-major) is stored by the threads.
// CHECK: memref.extract_aligned_pointer_as_index %arg0 : memref<2048xf16> -> index
// CHECK-NOT: arith.truncf
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK: nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// Epilogue: f16 bias and residual widened, the sum rounded to f16.
// CHECK: %[[B:.*]] = memref.load %arg2[%{{.*}}] : memref<256xf16>
// CHECK: arith.extf %[[B]] : f16 to f32
// CHECK: %[[R:.*]] = memref.load %arg3[%{{.*}}] : memref<8192xf16>
// CHECK: arith.extf %[[R]] : f16 to f32
// CHECK: %[[O:.*]] = arith.truncf %{{.*}} : f32 to f16
// CHECK: memref.store %[[O]], %arg4[%{{.*}}] : memref<8192xf16>
func.func @matmul(%x: tensor<2x16x64xf16>, %w: tensor<64x256xf16>, %b: tensor<256xf16>, %r: tensor<2x16x256xf16>) -> tensor<2x16x256xf16> {
  %y = llm.matmul %x, %w bias %b residual %r : (tensor<2x16x64xf16>, tensor<64x256xf16>, tensor<256xf16>, tensor<2x16x256xf16>) -> tensor<2x16x256xf16>
  return %y : tensor<2x16x256xf16>
}

// -----

// CHECK-LABEL: func.func @attention
// CHECK-NOT: llm.attention
// CHECK: gpu.func @attention_0(%{{.*}}: memref<2048xf16>, %{{.*}}: memref<2048xf16>, %{{.*}}: memref<2048xf16>, %{{.*}}: memref<256xf16>, %{{.*}}: memref<2048xf16>)
// CHECK: memref.load %arg0[{{.*}}] : memref<2048xf16>
// CHECK: arith.extf {{.*}} : f16 to f32
// CHECK: nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32)
// The additive f16 mask, widened.
// CHECK: memref.load %arg3[{{.*}}] : memref<256xf16>
// CHECK: arith.truncf {{.*}} : f32 to f16
// CHECK: memref.store {{.*}}, %arg4[{{.*}}] : memref<2048xf16>
func.func @attention(%q: tensor<2x4x16x16xf16>, %k: tensor<2x4x16x16xf16>, %v: tensor<2x4x16x16xf16>, %m: tensor<1x1x16x16xf16>) -> tensor<2x4x16x16xf16> {
  %o = llm.attention %q, %k, %v, %m {scale = 2.500000e-01 : f32} : (tensor<2x4x16x16xf16>, tensor<2x4x16x16xf16>, tensor<2x4x16x16xf16>, tensor<1x1x16x16xf16>) -> tensor<2x4x16x16xf16>
  return %o : tensor<2x4x16x16xf16>
}

// -----

// CHECK-LABEL: func.func @norm
// CHECK-NOT: llm.layer_norm
// CHECK: gpu.func @layer_norm_0(%{{.*}}: memref<2048xf16>, %{{.*}}: memref<64xf16>, %{{.*}}: memref<64xf16>, %{{.*}}: memref<2048xf16>)
// CHECK: memref.load %arg0[{{.*}}] : memref<2048xf16>
// CHECK: arith.extf {{.*}} : f16 to f32
// CHECK: arith.truncf {{.*}} : f32 to f16
// CHECK: memref.store {{.*}}, %arg3[{{.*}}] : memref<2048xf16>
func.func @norm(%x: tensor<32x64xf16>, %s: tensor<64xf16>, %b: tensor<64xf16>) -> tensor<32x64xf16> {
  %y = llm.layer_norm %x, %s, %b {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<32x64xf16>, tensor<64xf16>, tensor<64xf16>) -> tensor<32x64xf16>
  return %y : tensor<32x64xf16>
}

// -----

// bf16 models (torch's own bf16 exports) the same way: bf16 buffers, bf16
// tensor cores, whatever mma-type says.
// CHECK-LABEL: func.func @bf16_matmul
// CHECK: gpu.func @matmul_0(%{{.*}}: memref<2048xbf16>, %{{.*}}: memref<16384xbf16>, %{{.*}}: memref<256xbf16>, %{{.*}}: memref<8192xbf16>)
// CHECK: memref.extract_aligned_pointer_as_index %arg0 : memref<2048xbf16> -> index
// CHECK-NOT: arith.truncf
// CHECK: nvvm.cp.async.shared.global
// CHECK-NOT: arith.truncf
// CHECK: nvvm.mma.sync {{.*}} {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: %[[O:.*]] = arith.truncf %{{.*}} : f32 to bf16
// CHECK: memref.store %[[O]], %arg3[%{{.*}}] : memref<8192xbf16>
func.func @bf16_matmul(%x: tensor<2x16x64xbf16>, %w: tensor<64x256xbf16>, %b: tensor<256xbf16>) -> tensor<2x16x256xbf16> {
  %y = llm.matmul %x, %w bias %b {activation = #llm.activation<gelu>} : (tensor<2x16x64xbf16>, tensor<64x256xbf16>, tensor<256xbf16>) -> tensor<2x16x256xbf16>
  return %y : tensor<2x16x256xbf16>
}

// -----

// CHECK-LABEL: func.func @bf16_attention
// CHECK: gpu.func @attention_0(%{{.*}}: memref<2048xbf16>, %{{.*}}: memref<1024xbf16>, %{{.*}}: memref<1024xbf16>, %{{.*}}: memref<2048xbf16>)
// CHECK: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>{{.*}} : (i32, i32, f32)
// CHECK: arith.truncf {{.*}} : f32 to bf16
// CHECK: memref.store {{.*}}, %arg3[{{.*}}] : memref<2048xbf16>
func.func @bf16_attention(%q: tensor<2x4x16x16xbf16>, %k: tensor<2x2x16x16xbf16>, %v: tensor<2x2x16x16xbf16>) -> tensor<2x4x16x16xbf16> {
  %o = llm.attention %q, %k, %v {scale = 2.500000e-01 : f32, causal = true} : (tensor<2x4x16x16xbf16>, tensor<2x2x16x16xbf16>, tensor<2x2x16x16xbf16>) -> tensor<2x4x16x16xbf16>
  return %o : tensor<2x4x16x16xbf16>
}

// -----

// CHECK-LABEL: func.func @bf16_rms_norm
// CHECK: gpu.func @rms_norm_0(%{{.*}}: memref<2048xbf16>, %{{.*}}: memref<64xbf16>, %{{.*}}: memref<2048xbf16>)
// CHECK: arith.extf {{.*}} : bf16 to f32
// CHECK: arith.truncf {{.*}} : f32 to bf16
func.func @bf16_rms_norm(%x: tensor<32x64xbf16>, %s: tensor<64xbf16>) -> tensor<32x64xbf16> {
  %y = llm.rms_norm %x, %s {axis = 1 : i64, epsilon = 1.0e-6 : f32} : (tensor<32x64xbf16>, tensor<64xbf16>) -> tensor<32x64xbf16>
  return %y : tensor<32x64xbf16>
}
