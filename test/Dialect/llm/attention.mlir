// RUN: llm-opt %s --verify-roundtrip | FileCheck %s
// RUN: llm-opt %s --mlir-print-op-generic | llm-opt | FileCheck %s

// CHECK-LABEL: func @multi_head
func.func @multi_head(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}} {scale = 2.500000e-01 : f32} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  %0 = llm.attention %q, %k, %v {scale = 0.25 : f32} : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %0 : tensor<2x4x8x16xf32>
}

// Grouped-query, causal, one query against five cached keys, a value head
// dim unlike the query's, no batch dims.
// CHECK-LABEL: func @grouped_causal
func.func @grouped_causal(%q: tensor<8x1x16xf32>, %k: tensor<2x5x16xf32>, %v: tensor<2x5x32xf32>) -> tensor<8x1x32xf32> {
  // CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true, scale = 1.250000e-01 : f32} : (tensor<8x1x16xf32>, tensor<2x5x16xf32>, tensor<2x5x32xf32>) -> tensor<8x1x32xf32>
  %0 = llm.attention %q, %k, %v {causal = true, scale = 0.125 : f32} : (tensor<8x1x16xf32>, tensor<2x5x16xf32>, tensor<2x5x32xf32>) -> tensor<8x1x32xf32>
  return %0 : tensor<8x1x32xf32>
}

// Sliding-window attention: each query sees the 4 keys ending at its
// diagonal.
// CHECK-LABEL: func @sliding_window
func.func @sliding_window(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true, scale = 2.500000e-01 : f32, window = 4 : i64} : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32>
  %0 = llm.attention %q, %k, %v {causal = true, scale = 0.25 : f32, window = 4} : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// Gemma 2's logit soft-capping with a sliding window.
// CHECK-LABEL: func @softcap
func.func @softcap(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32> {
  // CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true, scale = 2.500000e-01 : f32, softcap = 5.000000e+01 : f32, window = 4 : i64} : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32>
  %0 = llm.attention %q, %k, %v {causal = true, scale = 0.25 : f32, softcap = 50.0 : f32, window = 4} : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// Attention sinks (gpt-oss), one logit per query head, with a mask.
// CHECK-LABEL: func @sinks
func.func @sinks(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %m: tensor<1x1x1x8xi1>, %s: tensor<4xf32>) -> (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>) {
  // CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} sink(%{{.*}}) {causal = true, scale = 2.500000e-01 : f32} : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x1x1x8xi1>, tensor<4xf32>) -> tensor<1x4x8x16xf32>
  %0 = llm.attention %q, %k, %v, %m sink(%s) {causal = true, scale = 0.25 : f32} : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x1x1x8xi1>, tensor<4xf32>) -> tensor<1x4x8x16xf32>
  // CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}} sink(%{{.*}}) {scale = 2.500000e-01 : f32} : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<4xf32>) -> tensor<1x4x8x16xf32>
  %1 = llm.attention %q, %k, %v sink(%s) {scale = 0.25 : f32} : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<4xf32>) -> tensor<1x4x8x16xf32>
  return %0, %1 : tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>
}

// CHECK-LABEL: func @masks
func.func @masks(%q: tensor<1x4x3x8xf32>, %k: tensor<1x1x6x8xf32>, %v: tensor<1x1x6x8xf32>, %keep: tensor<1x1x1x6xi1>, %bias: tensor<4x3x6xf32>) -> (tensor<1x4x3x8xf32>, tensor<1x4x3x8xf32>) {
  // CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {scale = 1.000000e+00 : f32} : (tensor<1x4x3x8xf32>, tensor<1x1x6x8xf32>, tensor<1x1x6x8xf32>, tensor<1x1x1x6xi1>) -> tensor<1x4x3x8xf32>
  %0 = llm.attention %q, %k, %v, %keep {scale = 1.0 : f32} : (tensor<1x4x3x8xf32>, tensor<1x1x6x8xf32>, tensor<1x1x6x8xf32>, tensor<1x1x1x6xi1>) -> tensor<1x4x3x8xf32>
  // CHECK: llm.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {causal = true, scale = 5.000000e-01 : f32} : (tensor<1x4x3x8xf32>, tensor<1x1x6x8xf32>, tensor<1x1x6x8xf32>, tensor<4x3x6xf32>) -> tensor<1x4x3x8xf32>
  %1 = llm.attention %q, %k, %v, %bias {causal = true, scale = 0.5 : f32} : (tensor<1x4x3x8xf32>, tensor<1x1x6x8xf32>, tensor<1x1x6x8xf32>, tensor<4x3x6xf32>) -> tensor<1x4x3x8xf32>
  return %0, %1 : tensor<1x4x3x8xf32>, tensor<1x4x3x8xf32>
}

// CHECK-LABEL: func @dynamic
func.func @dynamic(%q: tensor<?x4x?x8xf16>, %k: tensor<?x2x?x8xf16>, %v: tensor<?x2x?x8xf16>) -> tensor<?x4x?x8xf16> {
  // CHECK: llm.attention {{.*}} -> tensor<?x4x?x8xf16>
  %0 = llm.attention %q, %k, %v {scale = 0.35 : f32} : (tensor<?x4x?x8xf16>, tensor<?x2x?x8xf16>, tensor<?x2x?x8xf16>) -> tensor<?x4x?x8xf16>
  return %0 : tensor<?x4x?x8xf16>
}
