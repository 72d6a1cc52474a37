// RUN: llm-opt %s --verify-each --convert-llm-to-gpu -split-input-file | FileCheck %s

// A GPT-2 block's attention: q, k and v are heads of a fused qkv product's
// [1, 100, 192] result (split, reshaped to [1, 100, 4, 16], transposed to
// [1, 4, 100, 16]) and the result is transposed back to [1, 100, 4, 16].
// The kernel reads q, k and v where the product wrote them (row stride 192,
// head stride 16, k 64 and v 128 elements further) and writes the output
// in the [1, 100, 4, 16] layout (row stride 64): one launch, no
// transposing copies before or after it.
// CHECK-LABEL: func.func @fused_qkv
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.launch_func @llm_kernels::@attention_0 {{.*}} args(%{{.*}} : memref<19200xf32>, %{{.*}} : memref<19200xf32>, %{{.*}} : memref<19200xf32>, %{{.*}} : memref<6400xf32>)
// CHECK-NOT: gpu.launch_func
// CHECK: return %{{.*}} : tensor<1x100x64xf32>
// CHECK: gpu.func @attention_0(%[[Q:.*]]: memref<19200xf32>, %[[K:.*]]: memref<19200xf32>, %[[V:.*]]: memref<19200xf32>, %[[O:.*]]: memref<6400xf32>)
// The query's base: head * 16 (one batch); each row 192 further.
// CHECK-DAG: arith.constant 16 : index
// CHECK-DAG: arith.constant 192 : index
// The key's and value's bases: 64 and 128 elements into each row.
// CHECK-DAG: arith.constant 64 : index
// CHECK-DAG: arith.constant 128 : index
// CHECK: memref.load %[[Q]]
// CHECK: memref.store %{{.*}}, %[[O]]
func.func @fused_qkv(%qkv: tensor<1x100x192xf32>) -> tensor<1x100x64xf32> {
  %s:3 = llm.split %qkv {axis = 2 : i64, sizes = array<i64: 64, 64, 64>} : (tensor<1x100x192xf32>) -> (tensor<1x100x64xf32>, tensor<1x100x64xf32>, tensor<1x100x64xf32>)
  %q4 = llm.reshape %s#0 : (tensor<1x100x64xf32>) -> tensor<1x100x4x16xf32>
  %k4 = llm.reshape %s#1 : (tensor<1x100x64xf32>) -> tensor<1x100x4x16xf32>
  %v4 = llm.reshape %s#2 : (tensor<1x100x64xf32>) -> tensor<1x100x4x16xf32>
  %q = llm.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x100x4x16xf32>) -> tensor<1x4x100x16xf32>
  %k = llm.transpose %k4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x100x4x16xf32>) -> tensor<1x4x100x16xf32>
  %v = llm.transpose %v4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x100x4x16xf32>) -> tensor<1x4x100x16xf32>
  %o = llm.attention %q, %k, %v {scale = 0.25 : f32, causal = true} : (tensor<1x4x100x16xf32>, tensor<1x4x100x16xf32>, tensor<1x4x100x16xf32>) -> tensor<1x4x100x16xf32>
  %t = llm.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x4x100x16xf32>) -> tensor<1x100x4x16xf32>
  %y = llm.reshape %t : (tensor<1x100x4x16xf32>) -> tensor<1x100x64xf32>
  return %y : tensor<1x100x64xf32>
}

// -----

// Separate q, k and v products (BERT's): each operand is read from its
// product's [2, 50, 64] result (row stride 64); an operand that is not
// transposed from one (here v, given as is) keeps the contiguous layout,
// and a result with another user than a transpose back is written
// contiguously.
// CHECK-LABEL: func.func @separate
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.launch_func @llm_kernels::@attention_0 {{.*}} args(%{{.*}} : memref<6400xf32>, %{{.*}} : memref<6400xf32>, %{{.*}} : memref<6400xf32>, %{{.*}} : memref<6400xf32>)
// CHECK-NOT: gpu.launch_func
// CHECK: return %{{.*}} : tensor<2x4x50x16xf32>
func.func @separate(%xq: tensor<2x50x64xf32>, %xk: tensor<2x50x64xf32>, %v: tensor<2x4x50x16xf32>) -> tensor<2x4x50x16xf32> {
  %q4 = llm.reshape %xq : (tensor<2x50x64xf32>) -> tensor<2x50x4x16xf32>
  %k4 = llm.reshape %xk : (tensor<2x50x64xf32>) -> tensor<2x50x4x16xf32>
  %q = llm.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x50x4x16xf32>) -> tensor<2x4x50x16xf32>
  %k = llm.transpose %k4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x50x4x16xf32>) -> tensor<2x4x50x16xf32>
  %o = llm.attention %q, %k, %v {scale = 0.25 : f32} : (tensor<2x4x50x16xf32>, tensor<2x4x50x16xf32>, tensor<2x4x50x16xf32>) -> tensor<2x4x50x16xf32>
  return %o : tensor<2x4x50x16xf32>
}

// -----

// The layout is matched by strides: a batch of one's value heads as
// [S, 1, H, D] permuted (1, 2, 0, 3) (how a Llama export's v reaches the
// attention at batch 1) are read where the qkv product wrote them (32
// elements into each row of 64), and so are q heads whose batch dims [2, 3]
// come first (batch stride 100 * 48 = 4800 between the flattened batches).
// A transpose that makes d strided (v2's heads and d swapped) keeps its
// copy (the transpose stays for the generic path).
// CHECK-LABEL: func.func @strides
// CHECK: gpu.launch_func @llm_kernels::@attention_0 {{.*}} args(%{{.*}} : memref<3200xf32>, %{{.*}} : memref<6400xf32>, %{{.*}} : memref<6400xf32>, %{{.*}} : memref<3200xf32>)
// CHECK-LABEL: func.func @batches
// CHECK: gpu.launch_func @llm_kernels::@attention_1 {{.*}} args(%{{.*}} : memref<28800xf32>, %{{.*}} : memref<9600xf32>, %{{.*}} : memref<9600xf32>, %{{.*}} : memref<28800xf32>)
// CHECK-LABEL: func.func @strided_d
// CHECK: llm.transpose
// CHECK: gpu.launch_func @llm_kernels::@attention_2 {{.*}} args(%{{.*}} : memref<1600xf32>, %{{.*}} : memref<1600xf32>, %{{.*}} : memref<1600xf32>, %{{.*}} : memref<1600xf32>)
// q's flattened batches 4800 apart.
// CHECK: gpu.func @attention_1
// CHECK: arith.constant 4800 : index
// CHECK: gpu.return
func.func @strides(%kv: tensor<1x100x64xf32>, %q: tensor<1x2x100x16xf32>) -> tensor<1x2x100x16xf32> {
  %s:2 = llm.split %kv {axis = 2 : i64, sizes = array<i64: 32, 32>} : (tensor<1x100x64xf32>) -> (tensor<1x100x32xf32>, tensor<1x100x32xf32>)
  %k4 = llm.reshape %s#0 : (tensor<1x100x32xf32>) -> tensor<100x1x2x16xf32>
  %v4 = llm.reshape %s#1 : (tensor<1x100x32xf32>) -> tensor<100x1x2x16xf32>
  %k = llm.transpose %k4 {permutation = array<i64: 1, 2, 0, 3>} : (tensor<100x1x2x16xf32>) -> tensor<1x2x100x16xf32>
  %v = llm.transpose %v4 {permutation = array<i64: 1, 2, 0, 3>} : (tensor<100x1x2x16xf32>) -> tensor<1x2x100x16xf32>
  %o = llm.attention %q, %k, %v {scale = 0.25 : f32} : (tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>) -> tensor<1x2x100x16xf32>
  return %o : tensor<1x2x100x16xf32>
}
func.func @batches(%x: tensor<2x3x100x48xf32>, %k: tensor<2x3x1x100x16xf32>, %v: tensor<2x3x1x100x16xf32>) -> tensor<2x3x1x100x16xf32> {
  %q5 = llm.reshape %x : (tensor<2x3x100x48xf32>) -> tensor<2x3x100x3x16xf32>
  %q = llm.transpose %q5 {permutation = array<i64: 0, 1, 3, 2, 4>} : (tensor<2x3x100x3x16xf32>) -> tensor<2x3x3x100x16xf32>
  %o = llm.attention %q, %k, %v {scale = 0.25 : f32} : (tensor<2x3x3x100x16xf32>, tensor<2x3x1x100x16xf32>, tensor<2x3x1x100x16xf32>) -> tensor<2x3x3x100x16xf32>
  %r = llm.slice %o {starts = array<i64: 0, 0, 0, 0, 0>, ends = array<i64: 2, 3, 1, 100, 16>, steps = array<i64: 1, 1, 1, 1, 1>} : (tensor<2x3x3x100x16xf32>) -> tensor<2x3x1x100x16xf32>
  return %r : tensor<2x3x1x100x16xf32>
}
func.func @strided_d(%q: tensor<1x1x100x16xf32>, %k: tensor<1x1x100x16xf32>, %x: tensor<1x100x16xf32>) -> tensor<1x1x100x16xf32> {
  %v4 = llm.reshape %x : (tensor<1x100x16xf32>) -> tensor<1x16x100x1xf32>
  %v = llm.transpose %v4 {permutation = array<i64: 0, 3, 2, 1>} : (tensor<1x16x100x1xf32>) -> tensor<1x1x100x16xf32>
  %o = llm.attention %q, %k, %v {scale = 0.25 : f32} : (tensor<1x1x100x16xf32>, tensor<1x1x100x16xf32>, tensor<1x1x100x16xf32>) -> tensor<1x1x100x16xf32>
  return %o : tensor<1x1x100x16xf32>
}

// -----

// q and k computed in the [B, S, H, D] layout (GPT-J's rotated heads, a
// concat of their rotated and passed-through parts) and transposed to
// [B, H, S, D] without a reshape: the kernel reads them where they were
// computed (row stride 64, head stride 16), and the transposes are gone.
// CHECK-LABEL: func.func @rotated_heads
// CHECK-NOT: llm.transpose
// CHECK: %[[Q:.*]] = llm.mul %arg0, %arg1 : (tensor<2x50x4x16xf32>
// CHECK: %[[K:.*]] = llm.mul %arg1, %arg1 : (tensor<2x50x4x16xf32>
// CHECK-NOT: llm.transpose
// CHECK: gpu.launch_func @llm_kernels::@attention_0 {{.*}} args(%{{.*}} : memref<6400xf32>, %{{.*}} : memref<6400xf32>, %{{.*}} : memref<6400xf32>, %{{.*}} : memref<6400xf32>)
// CHECK-NOT: llm.transpose
// CHECK: gpu.func @attention_0
// CHECK-DAG: arith.constant 64 : index
// CHECK-DAG: arith.constant 3200 : index
func.func @rotated_heads(%a: tensor<2x50x4x16xf32>, %b: tensor<2x50x4x16xf32>, %v: tensor<2x4x50x16xf32>) -> tensor<2x4x50x16xf32> {
  %q4 = llm.mul %a, %b : (tensor<2x50x4x16xf32>, tensor<2x50x4x16xf32>) -> tensor<2x50x4x16xf32>
  %k4 = llm.mul %b, %b : (tensor<2x50x4x16xf32>, tensor<2x50x4x16xf32>) -> tensor<2x50x4x16xf32>
  %q = llm.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x50x4x16xf32>) -> tensor<2x4x50x16xf32>
  %k = llm.transpose %k4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x50x4x16xf32>) -> tensor<2x4x50x16xf32>
  %o = llm.attention %q, %k, %v {scale = 0.25 : f32, causal = true} : (tensor<2x4x50x16xf32>, tensor<2x4x50x16xf32>, tensor<2x4x50x16xf32>) -> tensor<2x4x50x16xf32>
  return %o : tensor<2x4x50x16xf32>
}
