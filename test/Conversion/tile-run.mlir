// REQUIRES: mlir-runner
// Tiled IR computes the same numbers: each op's results printed untiled,
// tiled by the model for the NPU and the H100, and tiled by overrides that
// cut every parallel dim (scf.for loops), are identical (every tile is the
// same op on slices, and no reduction is split).
// RUN: llm-opt %s --convert-llm-to-linalg \
// RUN: | %mlir_opt --pass-pipeline="builtin.module(one-shot-bufferize{bufferize-function-boundaries},func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,convert-math-to-funcs,convert-math-to-llvm,convert-math-to-libm,finalize-memref-to-llvm,convert-scf-to-cf,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)" \
// RUN: | %mlir_runner -e main -entry-point-result=void -shared-libs=%runner_utils_libs \
// RUN: | grep -v "Unranked Memref" > %t.untiled
// RUN: FileCheck %s --input-file=%t.untiled
// RUN: llm-opt %s --llm-set-target=target=npu --llm-tile -o %t.npu.mlir
// RUN: FileCheck %s --check-prefix=NPU --input-file=%t.npu.mlir
// RUN: llm-opt %t.npu.mlir --convert-llm-to-linalg \
// RUN: | %mlir_opt --pass-pipeline="builtin.module(one-shot-bufferize{bufferize-function-boundaries},func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,convert-math-to-funcs,convert-math-to-llvm,convert-math-to-libm,finalize-memref-to-llvm,convert-scf-to-cf,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)" \
// RUN: | %mlir_runner -e main -entry-point-result=void -shared-libs=%runner_utils_libs \
// RUN: | grep -v "Unranked Memref" > %t.npu
// RUN: diff %t.untiled %t.npu
// RUN: llm-opt %s --llm-target-tiling-pipeline=target=h100 -o %t.h100.mlir
// RUN: FileCheck %s --check-prefix=H100 --input-file=%t.h100.mlir
// RUN: llm-opt %t.h100.mlir --convert-llm-to-linalg \
// RUN: | %mlir_opt --pass-pipeline="builtin.module(one-shot-bufferize{bufferize-function-boundaries},func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,convert-math-to-funcs,convert-math-to-llvm,convert-math-to-libm,finalize-memref-to-llvm,convert-scf-to-cf,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)" \
// RUN: | %mlir_runner -e main -entry-point-result=void -shared-libs=%runner_utils_libs \
// RUN: | grep -v "Unranked Memref" > %t.h100
// RUN: diff %t.untiled %t.h100
// RUN: llm-opt %s --llm-tile="target=u280 loop=for matmul-tile-sizes=16,32,16 attention-tile-sizes=8,4 norm-tile-sizes=4" -o %t.small.mlir
// RUN: FileCheck %s --check-prefix=SMALL --input-file=%t.small.mlir
// RUN: llm-opt %t.small.mlir --convert-llm-to-linalg \
// RUN: | %mlir_opt --pass-pipeline="builtin.module(one-shot-bufferize{bufferize-function-boundaries},func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,convert-math-to-funcs,convert-math-to-llvm,convert-math-to-libm,finalize-memref-to-llvm,convert-scf-to-cf,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)" \
// RUN: | %mlir_runner -e main -entry-point-result=void -shared-libs=%runner_utils_libs \
// RUN: | grep -v "Unranked Memref" > %t.small
// RUN: diff %t.untiled %t.small

// Nine results, each printed in full. The NPU keeps the RMS norm whole
// (one tile fits), so eight of the nine ops are tiled there. With the
// small overrides, the four causal attentions are tiled along their query
// rows.
// CHECK-COUNT-9: {{^}}[{{\[}}
// NPU-COUNT-8: scf.forall (
// NPU-NOT: scf.forall (
// H100-COUNT-9: scf.forall (
// H100-NOT: scf.forall (
// The sinks of a tile of one head: that head's.
// RUN: FileCheck %s --check-prefix=SINK --input-file=%t.h100.mlir
// SINK: %[[S:.*]] = tensor.extract_slice %{{.*}}[%{{.*}}] [1] [1] : tensor<4xf32> to tensor<1xf32>
// SINK: llm.attention {{.*}} sink(%[[S]]) {{.*}} tensor<1xf32>) -> tensor<1x1x{{[0-9]+}}x8xf32>
// SMALL-LABEL: func.func @main
// SMALL: scf.for
// SMALL: tensor.generate
// SMALL: arith.cmpi sle
// SMALL-NOT: arith.cmpi sgt
// SMALL: } : tensor<8x20xi1>
// SMALL: llm.attention {{.*}}llm.tile
// SMALL-SAME: -> tensor<1x1x8x8xf32>
// SMALL: tensor.generate
// SMALL: arith.cmpi sle
// SMALL: arith.cmpi sgt
// SMALL: } : tensor<8x20xi1>
// SMALL: llm.attention
// SMALL-NOT: window
// SMALL-SAME: -> tensor<1x1x8x8xf32>
// SMALL: tensor.generate
// SMALL: } : tensor<8x20xi1>
// SMALL: llm.and
// SMALL: llm.attention {{.*}}llm.tile
// SMALL-SAME: -> tensor<1x1x8x8xf32>
// SMALL-NOT: scf.forall

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print(%t: tensor<*xf32>) {
  %m = bufferization.to_buffer %t : tensor<*xf32> to memref<*xf32>
  call @printMemrefF32(%m) : (memref<*xf32>) -> ()
  return
}

/// sin(0.37 i + phase) for i in [0, 16384): deterministic, signed data.
func.func @wave(%phase: f32) -> tensor<16384xf32> {
  %t = tensor.generate {
  ^bb0(%i: index):
    %n = arith.index_cast %i : index to i64
    %f = arith.sitofp %n : i64 to f32
    %s = arith.constant 0.37 : f32
    %x = arith.mulf %f, %s : f32
    %y = arith.addf %x, %phase : f32
    %z = math.sin %y : f32
    tensor.yield %z : f32
  } : tensor<16384xf32>
  return %t : tensor<16384xf32>
}

func.func @main() {
  %p0 = arith.constant 0.0 : f32
  %p1 = arith.constant 1.0 : f32
  %p2 = arith.constant 2.0 : f32
  %p3 = arith.constant 3.0 : f32
  %w0 = call @wave(%p0) : (f32) -> tensor<16384xf32>
  %w1 = call @wave(%p1) : (f32) -> tensor<16384xf32>
  %w2 = call @wave(%p2) : (f32) -> tensor<16384xf32>
  %w3 = call @wave(%p3) : (f32) -> tensor<16384xf32>

  // Batched matmul, rhs batch broadcast, full epilogue.
  %x0 = tensor.extract_slice %w0[0] [6144] [1] : tensor<16384xf32> to tensor<6144xf32>
  %x = llm.reshape %x0 : (tensor<6144xf32>) -> tensor<2x64x48xf32>
  %y0 = tensor.extract_slice %w1[0] [4608] [1] : tensor<16384xf32> to tensor<4608xf32>
  %y = llm.reshape %y0 : (tensor<4608xf32>) -> tensor<1x48x96xf32>
  %b = tensor.extract_slice %w2[0] [96] [1] : tensor<16384xf32> to tensor<96xf32>
  %r0 = tensor.extract_slice %w3[0] [12288] [1] : tensor<16384xf32> to tensor<12288xf32>
  %r = llm.reshape %r0 : (tensor<12288xf32>) -> tensor<2x64x96xf32>
  %mm = llm.matmul %x, %y bias %b residual %r {activation = #llm.activation<gelu>, scale = 0.5 : f32} : (tensor<2x64x48xf32>, tensor<1x48x96xf32>, tensor<96xf32>, tensor<2x64x96xf32>) -> tensor<2x64x96xf32>
  %mmu = tensor.cast %mm : tensor<2x64x96xf32> to tensor<*xf32>
  call @print(%mmu) : (tensor<*xf32>) -> ()

  // Grouped-query attention with a boolean mask broadcast over heads.
  %q0 = tensor.extract_slice %w0[100] [2048] [1] : tensor<16384xf32> to tensor<2048xf32>
  %q = llm.reshape %q0 : (tensor<2048xf32>) -> tensor<1x4x32x16xf32>
  %k0 = tensor.extract_slice %w1[100] [768] [1] : tensor<16384xf32> to tensor<768xf32>
  %k = llm.reshape %k0 : (tensor<768xf32>) -> tensor<1x2x24x16xf32>
  %v0 = tensor.extract_slice %w2[100] [384] [1] : tensor<16384xf32> to tensor<384xf32>
  %v = llm.reshape %v0 : (tensor<384xf32>) -> tensor<1x2x24x8xf32>
  %m0 = tensor.extract_slice %w3[100] [768] [1] : tensor<16384xf32> to tensor<768xf32>
  %m1 = llm.reshape %m0 : (tensor<768xf32>) -> tensor<1x1x32x24xf32>
  %zero = arith.constant dense<-0.5> : tensor<f32>
  %mask = llm.greater %m1, %zero : (tensor<1x1x32x24xf32>, tensor<f32>) -> tensor<1x1x32x24xi1>
  %att = llm.attention %q, %k, %v, %mask {scale = 0.25 : f32} : (tensor<1x4x32x16xf32>, tensor<1x2x24x16xf32>, tensor<1x2x24x8xf32>, tensor<1x1x32x24xi1>) -> tensor<1x4x32x8xf32>
  %attu = tensor.cast %att : tensor<1x4x32x8xf32> to tensor<*xf32>
  call @print(%attu) : (tensor<*xf32>) -> ()

  // Causal attention with more keys than queries.
  %cq0 = tensor.extract_slice %w0[3000] [256] [1] : tensor<16384xf32> to tensor<256xf32>
  %cq = llm.reshape %cq0 : (tensor<256xf32>) -> tensor<1x2x16x8xf32>
  %ck0 = tensor.extract_slice %w1[3000] [320] [1] : tensor<16384xf32> to tensor<320xf32>
  %ck = llm.reshape %ck0 : (tensor<320xf32>) -> tensor<1x2x20x8xf32>
  %cv0 = tensor.extract_slice %w2[3000] [320] [1] : tensor<16384xf32> to tensor<320xf32>
  %cv = llm.reshape %cv0 : (tensor<320xf32>) -> tensor<1x2x20x8xf32>
  %catt = llm.attention %cq, %ck, %cv {scale = 0.35 : f32, causal = true} : (tensor<1x2x16x8xf32>, tensor<1x2x20x8xf32>, tensor<1x2x20x8xf32>) -> tensor<1x2x16x8xf32>
  %cattu = tensor.cast %catt : tensor<1x2x16x8xf32> to tensor<*xf32>
  call @print(%cattu) : (tensor<*xf32>) -> ()

  // The same with a sliding window of 5 keys: a row tile carries the
  // window in its mask too.
  %watt = llm.attention %cq, %ck, %cv {scale = 0.35 : f32, causal = true, window = 5} : (tensor<1x2x16x8xf32>, tensor<1x2x20x8xf32>, tensor<1x2x20x8xf32>) -> tensor<1x2x16x8xf32>
  %wattu = tensor.cast %watt : tensor<1x2x16x8xf32> to tensor<*xf32>
  call @print(%wattu) : (tensor<*xf32>) -> ()

  // Causal grouped-query attention with a boolean mask: a row tile ands
  // its causal pattern into the mask.
  %gq0 = tensor.extract_slice %w1[4000] [512] [1] : tensor<16384xf32> to tensor<512xf32>
  %gq = llm.reshape %gq0 : (tensor<512xf32>) -> tensor<1x4x16x8xf32>
  %gm0 = tensor.extract_slice %w0[4000] [320] [1] : tensor<16384xf32> to tensor<320xf32>
  %gm1 = llm.reshape %gm0 : (tensor<320xf32>) -> tensor<1x1x16x20xf32>
  %gmask = llm.greater %gm1, %zero : (tensor<1x1x16x20xf32>, tensor<f32>) -> tensor<1x1x16x20xi1>
  %gatt = llm.attention %gq, %ck, %cv, %gmask {scale = 0.35 : f32, causal = true} : (tensor<1x4x16x8xf32>, tensor<1x2x20x8xf32>, tensor<1x2x20x8xf32>, tensor<1x1x16x20xi1>) -> tensor<1x4x16x8xf32>
  %gattu = tensor.cast %gatt : tensor<1x4x16x8xf32> to tensor<*xf32>
  call @print(%gattu) : (tensor<*xf32>) -> ()

  // The same with a sink per query head: a tile of heads takes its sinks.
  %sinks = arith.constant dense<[0.5, -1.0, 2.0, 0.25]> : tensor<4xf32>
  %satt = llm.attention %gq, %ck, %cv, %gmask sink(%sinks) {scale = 0.35 : f32, causal = true} : (tensor<1x4x16x8xf32>, tensor<1x2x20x8xf32>, tensor<1x2x20x8xf32>, tensor<1x1x16x20xi1>, tensor<4xf32>) -> tensor<1x4x16x8xf32>
  %sattu = tensor.cast %satt : tensor<1x4x16x8xf32> to tensor<*xf32>
  call @print(%sattu) : (tensor<*xf32>) -> ()

  // Layer norm with bias, RMS norm, softmax over a middle axis.
  %n0 = tensor.extract_slice %w3[500] [1024] [1] : tensor<16384xf32> to tensor<1024xf32>
  %n = llm.reshape %n0 : (tensor<1024xf32>) -> tensor<2x16x32xf32>
  %g = tensor.extract_slice %w1[500] [32] [1] : tensor<16384xf32> to tensor<32xf32>
  %gb = tensor.extract_slice %w2[500] [32] [1] : tensor<16384xf32> to tensor<32xf32>
  %ln = llm.layer_norm %n, %g, %gb {axis = 2 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x16x32xf32>, tensor<32xf32>, tensor<32xf32>) -> tensor<2x16x32xf32>
  %lnu = tensor.cast %ln : tensor<2x16x32xf32> to tensor<*xf32>
  call @print(%lnu) : (tensor<*xf32>) -> ()
  %rn0 = tensor.extract_slice %w0[700] [768] [1] : tensor<16384xf32> to tensor<768xf32>
  %rn = llm.reshape %rn0 : (tensor<768xf32>) -> tensor<32x24xf32>
  %rg = tensor.extract_slice %w3[700] [24] [1] : tensor<16384xf32> to tensor<24xf32>
  %rms = llm.rms_norm %rn, %rg {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<32x24xf32>, tensor<24xf32>) -> tensor<32x24xf32>
  %rmsu = tensor.cast %rms : tensor<32x24xf32> to tensor<*xf32>
  call @print(%rmsu) : (tensor<*xf32>) -> ()
  %s0 = tensor.extract_slice %w2[900] [768] [1] : tensor<16384xf32> to tensor<768xf32>
  %s = llm.reshape %s0 : (tensor<768xf32>) -> tensor<4x16x12xf32>
  %sm = llm.softmax %s {axis = 1 : i64} : tensor<4x16x12xf32>
  %smu = tensor.cast %sm : tensor<4x16x12xf32> to tensor<*xf32>
  call @print(%smu) : (tensor<*xf32>) -> ()
  return
}
