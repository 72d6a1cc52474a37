// REQUIRES: mlir-runner
// The attention kernel's algorithm (query blocks of 64 for the causal bound,
// key blocks of 64 with a block maximum and online rescaling of the sum and
// the output in exp2, grouped kv heads, zero rows), run on the host in fp32
// by llm-attention-host-reference, against the reference lowering of
// llm.attention (convert-llm-to-linalg): several key blocks with a partial
// last one, queries after cached keys, fully masked rows, boolean and
// additive masks.
// RUN: llm-opt %s --verify-each --llm-attention-host-reference --convert-llm-to-linalg \
// RUN: | %mlir_opt --pass-pipeline="builtin.module(one-shot-bufferize{bufferize-function-boundaries},func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,convert-math-to-funcs,convert-math-to-llvm,convert-math-to-libm,finalize-memref-to-llvm,convert-scf-to-cf,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)" \
// RUN: | %mlir_runner -e main -entry-point-result=void -shared-libs=%runner_utils_libs > %t.online
// RUN: llm-opt %s --convert-llm-to-linalg \
// RUN: | %mlir_opt --pass-pipeline="builtin.module(one-shot-bufferize{bufferize-function-boundaries},func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,convert-math-to-funcs,convert-math-to-llvm,convert-math-to-libm,finalize-memref-to-llvm,convert-scf-to-cf,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)" \
// RUN: | %mlir_runner -e main -entry-point-result=void -shared-libs=%runner_utils_libs > %t.reference
// RUN: %python %S/Inputs/compare-printed.py %t.online %t.reference --atol 2e-6 --rtol 2e-5 | FileCheck %s
// The host-reference module really calls the blocked algorithm.
// RUN: llm-opt %s --llm-attention-host-reference | FileCheck %s --check-prefix=IR

// 4*100*8 + 2*3*8 + 5*4 + 2*2*3*8 + 4*100*8 + 2*3*8 + 4*100*8 + 4*100*8 +
// 5*4 values; zeros: the 2 rows of 4 that see no key (Sq > Sk, causal),
// twice, and the all-false mask row in each of 2 heads.
// CHECK: 13032 numbers match, 32 exact zeros, largest difference
// IR-NOT: llm.attention
// IR: call @attention_0(
// IR: func.func private @attention_0(
// IR: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c64{{.*}} iter_args
// The windowed kernels' key loops start at the key block of the query
// block's first window: max(q0 + (Sk - Sq) - W + 1, 0) rounded down to 64.
// IR: func.func private @attention_5(
// IR: arith.constant -39 : index
// IR: %[[FIRST:.*]] = arith.maxsi
// IR: %[[BLOCK:.*]] = arith.divui %[[FIRST]], %c64{{.*}}
// IR: %[[START:.*]] = arith.muli %[[BLOCK]], %c64{{.*}}
// IR: scf.for %{{.*}} = %[[START]] to %{{.*}} step %c64{{.*}} iter_args
// IR: func.func private @attention_6(
// IR: arith.constant 106 : index
// IR: func.func private @attention_7(
// IR: math.tanh

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print(%t: tensor<*xf32>) {
  %m = bufferization.to_buffer %t : tensor<*xf32> to memref<*xf32>
  call @printMemrefF32(%m) : (memref<*xf32>) -> ()
  return
}

// Deterministic data: sin(linear index * step + phase).
func.func @data4(%step: f32, %phase: f32) -> tensor<1x4x128x8xf32> {
  %t = tensor.generate {
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    %c8 = arith.constant 8 : index
    %c128 = arith.constant 128 : index
    %bc = arith.muli %b, %c128 : index
    %bcc = arith.addi %bc, %c : index
    %row = arith.muli %bcc, %c8 : index
    %lin = arith.addi %row, %d : index
    %i = arith.index_cast %lin : index to i64
    %f = arith.sitofp %i : i64 to f32
    %x = arith.mulf %f, %step : f32
    %y = arith.addf %x, %phase : f32
    %s = math.sin %y : f32
    tensor.yield %s : f32
  } : tensor<1x4x128x8xf32>
  return %t : tensor<1x4x128x8xf32>
}

func.func @main() {
  %s1 = arith.constant 0.731 : f32
  %s2 = arith.constant 1.37 : f32
  %s3 = arith.constant 0.293 : f32
  %p1 = arith.constant 0.1 : f32
  %p2 = arith.constant 0.7 : f32
  %p3 = arith.constant 2.1 : f32
  %qa = call @data4(%s1, %p1) : (f32, f32) -> tensor<1x4x128x8xf32>
  %ka = call @data4(%s2, %p2) : (f32, f32) -> tensor<1x4x128x8xf32>
  %va = call @data4(%s3, %p3) : (f32, f32) -> tensor<1x4x128x8xf32>

  // Causal grouped-query attention, 100 queries and keys: two query blocks,
  // key blocks of 64 and 36, kv head h / 2 for query head h.
  %q1 = tensor.extract_slice %qa[0, 0, 0, 0] [1, 4, 100, 8] [1, 1, 1, 1] : tensor<1x4x128x8xf32> to tensor<1x4x100x8xf32>
  %k1 = tensor.extract_slice %ka[0, 0, 0, 0] [1, 2, 100, 8] [1, 1, 1, 1] : tensor<1x4x128x8xf32> to tensor<1x2x100x8xf32>
  %v1 = tensor.extract_slice %va[0, 0, 0, 0] [1, 2, 100, 8] [1, 1, 1, 1] : tensor<1x4x128x8xf32> to tensor<1x2x100x8xf32>
  %o1 = llm.attention %q1, %k1, %v1 {scale = 1.5 : f32, causal = true} : (tensor<1x4x100x8xf32>, tensor<1x2x100x8xf32>, tensor<1x2x100x8xf32>) -> tensor<1x4x100x8xf32>
  %u1 = tensor.cast %o1 : tensor<1x4x100x8xf32> to tensor<*xf32>
  call @print(%u1) : (tensor<*xf32>) -> ()

  // Three queries after 125 cached keys (bottom-right causal), 128 keys in
  // two full blocks, plus a third block for 130 keys of another head layout.
  %q2 = tensor.extract_slice %qa[0, 0, 0, 0] [1, 2, 3, 8] [1, 1, 1, 1] : tensor<1x4x128x8xf32> to tensor<1x2x3x8xf32>
  %k2 = tensor.extract_slice %ka[0, 0, 0, 0] [1, 2, 128, 8] [1, 1, 1, 1] : tensor<1x4x128x8xf32> to tensor<1x2x128x8xf32>
  %v2 = tensor.extract_slice %va[0, 0, 0, 0] [1, 2, 128, 8] [1, 1, 1, 1] : tensor<1x4x128x8xf32> to tensor<1x2x128x8xf32>
  %o2 = llm.attention %q2, %k2, %v2 {scale = 0.5 : f32, causal = true} : (tensor<1x2x3x8xf32>, tensor<1x2x128x8xf32>, tensor<1x2x128x8xf32>) -> tensor<1x2x3x8xf32>
  %u2 = tensor.cast %o2 : tensor<1x2x3x8xf32> to tensor<*xf32>
  call @print(%u2) : (tensor<*xf32>) -> ()

  // More queries than keys with a causal mask: the first two rows see no
  // key and are zeros.
  %q3 = tensor.extract_slice %qa[0, 0, 0, 0] [1, 1, 5, 4] [1, 1, 1, 1] : tensor<1x4x128x8xf32> to tensor<1x1x5x4xf32>
  %k3 = tensor.extract_slice %ka[0, 0, 0, 0] [1, 1, 3, 4] [1, 1, 1, 1] : tensor<1x4x128x8xf32> to tensor<1x1x3x4xf32>
  %v3 = tensor.extract_slice %va[0, 0, 0, 0] [1, 1, 3, 4] [1, 1, 1, 1] : tensor<1x4x128x8xf32> to tensor<1x1x3x4xf32>
  %o3 = llm.attention %q3, %k3, %v3 {scale = 1.0 : f32, causal = true} : (tensor<1x1x5x4xf32>, tensor<1x1x3x4xf32>, tensor<1x1x3x4xf32>) -> tensor<1x1x5x4xf32>
  %u3 = tensor.cast %o3 : tensor<1x1x5x4xf32> to tensor<*xf32>
  call @print(%u3) : (tensor<*xf32>) -> ()

  // Masks over 70 keys (two blocks): a boolean mask per query row broadcast
  // over heads, with the first row all false (zeros), and an additive mask
  // per key broadcast over rows and heads.
  %q4 = tensor.extract_slice %qa[0, 0, 0, 0] [1, 2, 3, 8] [1, 1, 1, 1] : tensor<1x4x128x8xf32> to tensor<1x2x3x8xf32>
  %k4 = tensor.extract_slice %ka[0, 0, 0, 0] [1, 2, 70, 8] [1, 1, 1, 1] : tensor<1x4x128x8xf32> to tensor<1x2x70x8xf32>
  %v4 = tensor.extract_slice %va[0, 0, 0, 0] [1, 2, 70, 8] [1, 1, 1, 1] : tensor<1x4x128x8xf32> to tensor<1x2x70x8xf32>
  %bm = tensor.generate {
  ^bb0(%a: index, %b: index, %r: index, %c: index):
    %c0 = arith.constant 0 : index
    %c3 = arith.constant 3 : index
    %rem = arith.remui %c, %c3 : index
    %keep = arith.cmpi ne, %rem, %c0 : index
    %notfirst = arith.cmpi ne, %r, %c0 : index
    %m = arith.andi %keep, %notfirst : i1
    tensor.yield %m : i1
  } : tensor<1x1x3x70xi1>
  %o4 = llm.attention %q4, %k4, %v4, %bm {scale = 0.35355 : f32} : (tensor<1x2x3x8xf32>, tensor<1x2x70x8xf32>, tensor<1x2x70x8xf32>, tensor<1x1x3x70xi1>) -> tensor<1x2x3x8xf32>
  %u4 = tensor.cast %o4 : tensor<1x2x3x8xf32> to tensor<*xf32>
  call @print(%u4) : (tensor<*xf32>) -> ()
  %am = tensor.generate {
  ^bb0(%c: index):
    %i = arith.index_cast %c : index to i64
    %f = arith.sitofp %i : i64 to f32
    %step = arith.constant -0.05 : f32
    %x = arith.mulf %f, %step : f32
    tensor.yield %x : f32
  } : tensor<70xf32>
  %o5 = llm.attention %q4, %k4, %v4, %am {scale = 0.35355 : f32} : (tensor<1x2x3x8xf32>, tensor<1x2x70x8xf32>, tensor<1x2x70x8xf32>, tensor<70xf32>) -> tensor<1x2x3x8xf32>
  %u5 = tensor.cast %o5 : tensor<1x2x3x8xf32> to tensor<*xf32>
  call @print(%u5) : (tensor<*xf32>) -> ()

  // Sliding windows: 100 queries of a 40-key window (the second query
  // block starts in key block 0), and 3 queries after 125 cached keys with
  // a window of 20 (keys 106 to 127: the loop starts at key block 64).
  %o6 = llm.attention %q1, %k1, %v1 {scale = 1.5 : f32, causal = true, window = 40} : (tensor<1x4x100x8xf32>, tensor<1x2x100x8xf32>, tensor<1x2x100x8xf32>) -> tensor<1x4x100x8xf32>
  %u6 = tensor.cast %o6 : tensor<1x4x100x8xf32> to tensor<*xf32>
  call @print(%u6) : (tensor<*xf32>) -> ()
  %o7 = llm.attention %q2, %k2, %v2 {scale = 0.5 : f32, causal = true, window = 20} : (tensor<1x2x3x8xf32>, tensor<1x2x128x8xf32>, tensor<1x2x128x8xf32>) -> tensor<1x2x3x8xf32>
  %u7 = tensor.cast %o7 : tensor<1x2x3x8xf32> to tensor<*xf32>
  call @print(%u7) : (tensor<*xf32>) -> ()

  // Logit soft-capping at 0.8 (scores of up to about 1.5 * 8): the product
  // of q pre-scaled by scale / cap goes through tanh, times cap * log2(e).
  %o8 = llm.attention %q1, %k1, %v1 {scale = 1.5 : f32, causal = true, softcap = 0.8 : f32} : (tensor<1x4x100x8xf32>, tensor<1x2x100x8xf32>, tensor<1x2x100x8xf32>) -> tensor<1x4x100x8xf32>
  %u8 = tensor.cast %o8 : tensor<1x4x100x8xf32> to tensor<*xf32>
  call @print(%u8) : (tensor<*xf32>) -> ()

  // Attention sinks over two key blocks: the running maximum starts at the
  // head's sink and the sum at 1; the first 2 of 5 queries see no key and
  // give zeros (all weight on the sink).
  %sinks = arith.constant dense<[1.0, -0.5, 3.0, 0.0]> : tensor<4xf32>
  %sinks_one = arith.constant dense<[0.7]> : tensor<1xf32>
  %o9 = llm.attention %q1, %k1, %v1 sink(%sinks) {scale = 1.5 : f32, causal = true, window = 30} : (tensor<1x4x100x8xf32>, tensor<1x2x100x8xf32>, tensor<1x2x100x8xf32>, tensor<4xf32>) -> tensor<1x4x100x8xf32>
  %u9 = tensor.cast %o9 : tensor<1x4x100x8xf32> to tensor<*xf32>
  call @print(%u9) : (tensor<*xf32>) -> ()
  %o10 = llm.attention %q3, %k3, %v3 sink(%sinks_one) {scale = 1.0 : f32, causal = true} : (tensor<1x1x5x4xf32>, tensor<1x1x3x4xf32>, tensor<1x1x3x4xf32>, tensor<1xf32>) -> tensor<1x1x5x4xf32>
  %u10 = tensor.cast %o10 : tensor<1x1x5x4xf32> to tensor<*xf32>
  call @print(%u10) : (tensor<*xf32>) -> ()
  return
}
