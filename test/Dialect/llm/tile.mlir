// The tiles llm-tile chooses for the same ops on three targets. The model
// (Passes.td): tiles fit the on-chip memory, are multiples of the matrix
// unit, minimize the estimated roofline time over the compute units, then
// maximize reuse.
// - h100 (132 SMs, 228 KiB shared memory, bf16 mma m16n8k16): enough tiles
//   to fill the SMs (128 of 132), each as large as fits: 128x96 for the MLP.
// - u280 (one kernel, 8.7 MiB BRAM, fp32, 16x16 MACs): one compute unit, so
//   the largest tile that fits: the whole 512x3072 product, K in blocks of 96.
// - npu (one 32x32 array, 512 KiB scratchpad, 128 KiB accumulators): the
//   accumulators bound the output tile to 32K values (128x256).
// RUN: llm-opt %s --llm-set-target=target=h100 --llm-tile | FileCheck %s --check-prefixes=CHECK,H100
// RUN: llm-opt %s --llm-set-target=target=u280 --llm-tile | FileCheck %s --check-prefixes=CHECK,U280
// RUN: llm-opt %s --llm-set-target=target=npu --llm-tile | FileCheck %s --check-prefixes=CHECK,NPU
// The target can also be the pass's option, and the pipeline does both.
// RUN: llm-opt %s --llm-tile=target=npu | FileCheck %s --check-prefixes=CHECK,NPU
// RUN: llm-opt %s --llm-target-tiling-pipeline=target=npu | FileCheck %s --check-prefixes=CHECK,NPU
// RUN: llm-opt %s --llm-set-target=target=%S/../../../targets/u280.json --llm-tile | FileCheck %s --check-prefixes=CHECK,U280
// A description of one's own hardware: the NPU with an eighth of its
// scratchpad and accumulators gets 64x64 tiles, K in blocks of 96.
// RUN: sed -e 's/"on_chip_bytes": 524288/"on_chip_bytes": 65536/' -e 's/"accumulator_bytes": 131072/"accumulator_bytes": 16384/' -e 's/"name": "npu"/"name": "tiny-npu"/' %S/../../../targets/npu.json > %t.json
// RUN: llm-opt %s --llm-set-target=target=%t.json --llm-tile | FileCheck %s --check-prefix=TINY
// TINY: llm.target = {{{.*}}name = "tiny-npu"
// TINY: scf.forall ({{.*}}) = (0, 0) to (512, 3072) step (64, 64)
// TINY: llm.matmul {{.*}}fits = true, footprint_bytes = 65536 : i64, {{.*}}k_block = 96 : i64, sizes = array<i64: 64, 64, 768>, target = "tiny-npu", tiles = 384 : i64}
// Tiling twice changes nothing: tiled ops carry llm.tile.
// RUN: llm-opt %s --llm-tile=target=h100 --llm-tile=target=npu | FileCheck %s --check-prefixes=CHECK,H100

// CHECK-LABEL: func.func @mlp_up
// H100: scf.forall ({{.*}}) = (0, 0) to (512, 3072) step (128, 96)
// H100: llm.matmul {{.*}}llm.tile = {dtype = "bf16", {{.*}}, fits = true, footprint_bytes = 221184 : i64, {{.*}}, k_block = 192 : i64, sizes = array<i64: 128, 96, 768>, target = "h100", tiles = 128 : i64}
// H100-SAME: : (tensor<128x768xf32>, tensor<768x96xf32>, tensor<96xf32>) -> tensor<128x96xf32>
// U280-NOT: scf.forall
// U280: llm.matmul {{.*}}llm.tile = {dtype = "fp32", {{.*}}, fits = true, footprint_bytes = 9043968 : i64, {{.*}}, k_block = 96 : i64, sizes = array<i64: 512, 3072, 768>, target = "u280", tiles = 1 : i64}
// U280-SAME: -> tensor<512x3072xf32>
// NPU: scf.forall ({{.*}}) = (0, 0) to (512, 3072) step (128, 256)
// NPU: llm.matmul {{.*}}llm.tile = {dtype = "bf16", {{.*}}, fits = true, footprint_bytes = 524288 : i64, {{.*}}, k_block = 256 : i64, sizes = array<i64: 128, 256, 768>, target = "npu", tiles = 48 : i64}
// NPU-SAME: -> tensor<128x256xf32>
func.func @mlp_up(%x: tensor<512x768xf32>, %w: tensor<768x3072xf32>, %b: tensor<3072xf32>) -> tensor<512x3072xf32> {
  %0 = llm.matmul %x, %w bias %b {activation = #llm.activation<gelu>} : (tensor<512x768xf32>, tensor<768x3072xf32>, tensor<3072xf32>) -> tensor<512x3072xf32>
  return %0 : tensor<512x3072xf32>
}

// Batch dims are tiled by one.
// CHECK-LABEL: func.func @scores
// H100: scf.forall ({{.*}}) = (0, 0, 0) to (12, 512, 512) step (1, 128, 256)
// H100: k_block = 64 : i64, sizes = array<i64: 1, 128, 256, 64>, target = "h100", tiles = 96
// U280: scf.forall ({{.*}}) in (12)
// U280: sizes = array<i64: 1, 512, 512, 64>, target = "u280", tiles = 12
// NPU: sizes = array<i64: 1, 128, 256, 64>, target = "npu", tiles = 96
func.func @scores(%q: tensor<12x512x64xf32>, %k: tensor<12x512x64xf32>) -> tensor<12x512x512xf32> {
  %0 = llm.matmul %q, %k {transpose_rhs = true} : (tensor<12x512x64xf32>, tensor<12x512x64xf32>) -> tensor<12x512x512xf32>
  return %0 : tensor<12x512x512xf32>
}

// Heads by one, query rows by the model; the key block is for the backend.
// CHECK-LABEL: func.func @attention
// H100: scf.forall ({{.*}}) = (0, 0) to (12, 512) step (1, 64)
// H100: llm.attention {{.*}}kv_block = 256 : i64, sizes = array<i64: 1, 1, 64, 64>, target = "h100", tiles = 96
// H100-SAME: -> tensor<1x1x64x64xf32>
// U280: kv_block = 512 : i64, sizes = array<i64: 1, 1, 512, 64>, target = "u280", tiles = 12
// NPU: kv_block = 64 : i64, sizes = array<i64: 1, 1, 256, 64>, target = "npu", tiles = 24
func.func @attention(%q: tensor<1x12x512x64xf32>, %k: tensor<1x12x512x64xf32>, %v: tensor<1x12x512x64xf32>) -> tensor<1x12x512x64xf32> {
  %0 = llm.attention %q, %k, %v {scale = 0.125 : f32} : (tensor<1x12x512x64xf32>, tensor<1x12x512x64xf32>, tensor<1x12x512x64xf32>) -> tensor<1x12x512x64xf32>
  return %0 : tensor<1x12x512x64xf32>
}

// Causal grouped-query attention (kv head h / 4): a tile of query rows
// carries its part of the causal diagonal as an i1 mask; the u280 keeps all
// 256 rows in one tile.
// CHECK-LABEL: func.func @causal
// H100: scf.forall (%[[H:.*]], %[[R:.*]]) = (0, 0) to (32, 256) step (1, 64)
// NPU: scf.forall (%[[H:.*]], %[[R:.*]]) = (0, 0) to (32, 256) step (1, 128)
// U280: scf.forall (%[[H:.*]]) in (32)
// CHECK: %[[KV:.*]] = affine.apply #{{.*}}(%[[H]])
// CHECK: tensor.extract_slice %{{.*}}[0, %[[KV]], 0, 0] [1, 1, 256, 128]
// H100: %[[MASK:.*]] = tensor.generate
// H100-NEXT: ^bb0(%[[I:.*]]: index, %[[J:.*]]: index):
// H100-NEXT: %[[ROW:.*]] = arith.addi %[[R]], %[[I]] : index
// H100-NEXT: arith.cmpi sle, %[[J]], %[[ROW]] : index
// H100: } : tensor<64x256xi1>
// H100: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %[[MASK]] {llm.tile = {{{.*}}fits = true, {{.*}}kv_block = 128 : i64, sizes = array<i64: 1, 1, 64, 128>, target = "h100", tiles = 128 : i64}
// H100-NOT: causal
// H100-SAME: -> tensor<1x1x64x128xf32>
// U280: llm.attention {{.*}}causal = true, llm.tile = {{{.*}}fits = true, {{.*}}kv_block = 256 : i64, sizes = array<i64: 1, 1, 256, 128>
// NPU: llm.attention {{.*}}fits = true, {{.*}}kv_block = 128 : i64, sizes = array<i64: 1, 1, 128, 128>, target = "npu", tiles = 64
func.func @causal(%q: tensor<1x32x256x128xf32>, %k: tensor<1x8x256x128xf32>, %v: tensor<1x8x256x128xf32>) -> tensor<1x32x256x128xf32> {
  %0 = llm.attention %q, %k, %v {scale = 0.0883883 : f32, causal = true} : (tensor<1x32x256x128xf32>, tensor<1x8x256x128xf32>, tensor<1x8x256x128xf32>) -> tensor<1x32x256x128xf32>
  return %0 : tensor<1x32x256x128xf32>
}

// Norms: rows, the normalized dims whole.
// CHECK-LABEL: func.func @layer_norm
// H100: sizes = array<i64: 1, 4, 768>, target = "h100", tiles = 128
// U280-NOT: scf.forall
// U280: sizes = array<i64: 1, 512, 768>, target = "u280", tiles = 1
// NPU: sizes = array<i64: 1, 64, 768>, target = "npu", tiles = 8
func.func @layer_norm(%x: tensor<1x512x768xf32>, %g: tensor<768xf32>, %b: tensor<768xf32>) -> tensor<1x512x768xf32> {
  %0 = llm.layer_norm %x, %g, %b {axis = 2 : i64, epsilon = 1.0e-5 : f32} : (tensor<1x512x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<1x512x768xf32>
  return %0 : tensor<1x512x768xf32>
}

// CHECK-LABEL: func.func @rms_norm
// H100: sizes = array<i64: 4, 4096>, target = "h100", tiles = 128
// U280: sizes = array<i64: 128, 4096>, target = "u280", tiles = 4
// NPU: sizes = array<i64: 16, 4096>, target = "npu", tiles = 32
func.func @rms_norm(%x: tensor<512x4096xf32>, %g: tensor<4096xf32>) -> tensor<512x4096xf32> {
  %0 = llm.rms_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<512x4096xf32>, tensor<4096xf32>) -> tensor<512x4096xf32>
  return %0 : tensor<512x4096xf32>
}

// CHECK-LABEL: func.func @softmax
// H100: sizes = array<i64: 1, 16, 512>, target = "h100", tiles = 384
// U280: sizes = array<i64: 1, 512, 512>, target = "u280", tiles = 12
// NPU: sizes = array<i64: 1, 128, 512>, target = "npu", tiles = 48
func.func @softmax(%x: tensor<12x512x512xf32>) -> tensor<12x512x512xf32> {
  %0 = llm.softmax %x {axis = 2 : i64} : tensor<12x512x512xf32>
  return %0 : tensor<12x512x512xf32>
}

// Dynamic shapes are left alone.
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: scf.forall
// CHECK-NOT: llm.tile
// CHECK: return
func.func @dynamic(%x: tensor<?x768xf32>, %g: tensor<768xf32>) -> tensor<?x768xf32> {
  %0 = llm.rms_norm %x, %g {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<?x768xf32>, tensor<768xf32>) -> tensor<?x768xf32>
  return %0 : tensor<?x768xf32>
}
