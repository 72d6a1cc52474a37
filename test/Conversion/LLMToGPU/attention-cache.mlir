// RUN: llm-opt %s --verify-each --convert-llm-to-gpu -split-input-file | FileCheck %s

// A decoding step's cache append: K and V are llm.concat(past, new) along
// the keys, and the function returns them as the presents. The attention
// kernel reads the past keys and values where they are (%key, %value: 2 x
// 2 x 11 x 16 = 704), the new keys from their own buffer (64) and the new
// values where the qkv product wrote them (its [2, 1, 128] result, v at
// column 96), and writes the presents (768 each) as it reads them: no
// concat is left for a copy of the past.
// CHECK-LABEL: func.func @append
// CHECK-NOT: llm.concat
// CHECK-NOT: llm.transpose
// CHECK: gpu.launch_func @llm_kernels::@attention_0 {{.*}} args(%{{.*}} : memref<128xf32>, %{{.*}} : memref<704xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<704xf32>, %{{.*}} : memref<256xf32>, %{{.*}} : memref<24xf32>, %{{.*}} : memref<128xf32>, %{{.*}} : memref<768xf32>, %{{.*}} : memref<768xf32>)
// CHECK-NOT: llm.concat
// CHECK: return
// One block per kv head (packed heads): every block writes its presents.
// Rows from 11 on come from the new keys' buffer.
// CHECK: gpu.func @attention_0(%{{.*}}: memref<128xf32>, %[[KEY:.*]]: memref<704xf32>, %[[KNEW:.*]]: memref<64xf32>, %{{.*}}: memref<704xf32>, %{{.*}}: memref<256xf32>, %{{.*}}: memref<24xf32>, %{{.*}}: memref<128xf32>, %[[PK:.*]]: memref<768xf32>, %[[PV:.*]]: memref<768xf32>)
// CHECK: %[[WRITER:.*]] = arith.constant true
// CHECK: %[[ELEVEN:.*]] = arith.constant 11 : index
// CHECK: %[[FIRST:.*]] = arith.cmpi ult, %{{.*}}, %[[ELEVEN]] : index
// CHECK: scf.if %[[FIRST]] -> (vector<4xf32>) {
// CHECK: vector.load %[[KEY]]
// CHECK: } else {
// CHECK: vector.load %[[KNEW]]
// CHECK: scf.if %[[WRITER]] {
// CHECK: vector.store %{{.*}}, %[[PK]]
// CHECK: vector.store %{{.*}}, %[[PV]]
// CHECK: gpu.return
func.func @append(%q: tensor<2x4x1x16xf32>, %past_k: tensor<2x2x11x16xf32>, %past_v: tensor<2x2x11x16xf32>, %k: tensor<2x2x1x16xf32>, %qkv: tensor<2x1x128xf32>, %mask: tensor<2x1x1x12xf32>) -> (tensor<2x4x1x16xf32>, tensor<2x2x12x16xf32>, tensor<2x2x12x16xf32>) {
  %s:2 = llm.split %qkv {axis = 2 : i64, sizes = array<i64: 96, 32>} : (tensor<2x1x128xf32>) -> (tensor<2x1x96xf32>, tensor<2x1x32xf32>)
  %v4 = llm.reshape %s#1 : (tensor<2x1x32xf32>) -> tensor<2x1x2x16xf32>
  %v = llm.transpose %v4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x1x2x16xf32>) -> tensor<2x2x1x16xf32>
  %present_k = llm.concat %past_k, %k {axis = 2 : i64} : (tensor<2x2x11x16xf32>, tensor<2x2x1x16xf32>) -> tensor<2x2x12x16xf32>
  %present_v = llm.concat %past_v, %v {axis = 2 : i64} : (tensor<2x2x11x16xf32>, tensor<2x2x1x16xf32>) -> tensor<2x2x12x16xf32>
  %o = llm.attention %q, %present_k, %present_v, %mask {scale = 0.25 : f32} : (tensor<2x4x1x16xf32>, tensor<2x2x12x16xf32>, tensor<2x2x12x16xf32>, tensor<2x1x1x12xf32>) -> tensor<2x4x1x16xf32>
  return %o, %present_k, %present_v : tensor<2x4x1x16xf32>, tensor<2x2x12x16xf32>, tensor<2x2x12x16xf32>
}

// -----

// Query rows of a chunk after the cache in two query blocks (70 rows, one
// head per kv head): the last query block, whose causal keys reach the
// last key, writes the presents. A present nothing else reads (the keys')
// is not written: no %present_key parameter.
// CHECK-LABEL: func.func @chunk
// CHECK: gpu.launch_func @llm_kernels::@attention_0 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) {{.*}} args(%{{.*}} : memref<4480xf32>, %{{.*}} : memref<2560xf32>, %{{.*}} : memref<4480xf32>, %{{.*}} : memref<2560xf32>, %{{.*}} : memref<4480xf32>, %{{.*}} : memref<4480xf32>, %{{.*}} : memref<7040xf32>)
// CHECK: gpu.func @attention_0(%{{.*}}: memref<4480xf32>, %{{.*}}: memref<2560xf32>, %{{.*}}: memref<4480xf32>, %{{.*}}: memref<2560xf32>, %{{.*}}: memref<4480xf32>, %{{.*}}: memref<4480xf32>, %[[PV:.*]]: memref<7040xf32>)
// CHECK: %[[X:.*]] = gpu.block_id x
// CHECK: arith.cmpi eq, %[[X]], %c1{{.*}} : index
// CHECK: vector.store %{{.*}}, %[[PV]]
// CHECK: gpu.return
func.func @chunk(%q: tensor<1x2x70x32xf32>, %past_k: tensor<1x2x40x32xf32>, %past_v: tensor<1x2x40x32xf32>, %k: tensor<1x2x70x32xf32>, %v: tensor<1x2x70x32xf32>) -> (tensor<1x2x70x32xf32>, tensor<1x2x110x32xf32>) {
  %present_k = llm.concat %past_k, %k {axis = 2 : i64} : (tensor<1x2x40x32xf32>, tensor<1x2x70x32xf32>) -> tensor<1x2x110x32xf32>
  %present_v = llm.concat %past_v, %v {axis = 2 : i64} : (tensor<1x2x40x32xf32>, tensor<1x2x70x32xf32>) -> tensor<1x2x110x32xf32>
  %o = llm.attention %q, %present_k, %present_v {scale = 0.25 : f32, causal = true} : (tensor<1x2x70x32xf32>, tensor<1x2x110x32xf32>, tensor<1x2x110x32xf32>) -> tensor<1x2x70x32xf32>
  return %o, %present_v : tensor<1x2x70x32xf32>, tensor<1x2x110x32xf32>
}

// -----

// A sliding window of 50 keys over 200: the blocks skip the key blocks
// before the window, so the writer copies those rows (keys 0 to 128, the
// window's first block starting at 128) to the presents before its key
// loop, through registers.
// CHECK-LABEL: func.func @window
// CHECK-NOT: llm.concat
// CHECK: gpu.launch_func @llm_kernels::@attention_0 {{.*}} args(%{{.*}} : memref<64xf32>, %{{.*}} : memref<12736xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<12736xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<12800xf32>, %{{.*}} : memref<12800xf32>)
// CHECK: gpu.func @attention_0(%{{.*}}: memref<64xf32>, %[[KEY:.*]]: memref<12736xf32>, %{{.*}}: memref<64xf32>, %{{.*}}: memref<12736xf32>, %{{.*}}: memref<64xf32>, %{{.*}}: memref<64xf32>, %[[PK:.*]]: memref<12800xf32>, %[[PV:.*]]: memref<12800xf32>)
// CHECK: scf.if %{{.*}} {
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant 0 : index
// CHECK: scf.for %{{.*}} = %[[ZERO]] to %[[START:.*]] step %{{.*}} {
// CHECK: vector.load %[[KEY]]
// CHECK: vector.store %{{.*}}, %[[PK]]
// CHECK: vector.store %{{.*}}, %[[PV]]
// CHECK: scf.for %{{.*}} = %[[START]] to
// CHECK: gpu.return
func.func @window(%q: tensor<1x4x1x16xf32>, %past_k: tensor<1x4x199x16xf32>, %past_v: tensor<1x4x199x16xf32>, %k: tensor<1x4x1x16xf32>, %v: tensor<1x4x1x16xf32>) -> (tensor<1x4x1x16xf32>, tensor<1x4x200x16xf32>, tensor<1x4x200x16xf32>) {
  %present_k = llm.concat %past_k, %k {axis = 2 : i64} : (tensor<1x4x199x16xf32>, tensor<1x4x1x16xf32>) -> tensor<1x4x200x16xf32>
  %present_v = llm.concat %past_v, %v {axis = 2 : i64} : (tensor<1x4x199x16xf32>, tensor<1x4x1x16xf32>) -> tensor<1x4x200x16xf32>
  %o = llm.attention %q, %present_k, %present_v {scale = 0.25 : f32, causal = true, window = 50 : i64} : (tensor<1x4x1x16xf32>, tensor<1x4x200x16xf32>, tensor<1x4x200x16xf32>) -> tensor<1x4x1x16xf32>
  return %o, %present_k, %present_v : tensor<1x4x1x16xf32>, tensor<1x4x200x16xf32>, tensor<1x4x200x16xf32>
}

// -----

// Both presents stacked as one [2, B, H, T, D] output (ONNX Runtime's
// Attention, older GPT-2 exports): the kernel writes that buffer, the keys
// at 0 and the values 2 x 2 x 12 x 16 = 768 elements on, and neither the
// appends nor the stacking concat is left.
// CHECK-LABEL: func.func @stacked
// CHECK-NOT: llm.concat
// CHECK: gpu.launch_func @llm_kernels::@attention_0 {{.*}} args(%{{.*}} : memref<128xf32>, %{{.*}} : memref<704xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<704xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<128xf32>, %{{.*}} : memref<1536xf32>)
// CHECK-NOT: llm.concat
// CHECK: gpu.func @attention_0({{.*}}, %[[P:.*]]: memref<1536xf32>)
// CHECK: %[[AFTER_KEYS:.*]] = arith.constant 768 : index
// CHECK: vector.store %{{.*}}, %[[P]]
// CHECK: vector.store %{{.*}}, %[[P]]
// CHECK: gpu.return
func.func @stacked(%q: tensor<2x4x1x16xf32>, %past_k: tensor<2x2x11x16xf32>, %past_v: tensor<2x2x11x16xf32>, %k: tensor<2x2x1x16xf32>, %v: tensor<2x2x1x16xf32>) -> (tensor<2x4x1x16xf32>, tensor<2x2x2x12x16xf32>) {
  %present_k = llm.concat %past_k, %k {axis = 2 : i64} : (tensor<2x2x11x16xf32>, tensor<2x2x1x16xf32>) -> tensor<2x2x12x16xf32>
  %present_v = llm.concat %past_v, %v {axis = 2 : i64} : (tensor<2x2x11x16xf32>, tensor<2x2x1x16xf32>) -> tensor<2x2x12x16xf32>
  %o = llm.attention %q, %present_k, %present_v {scale = 0.25 : f32} : (tensor<2x4x1x16xf32>, tensor<2x2x12x16xf32>, tensor<2x2x12x16xf32>) -> tensor<2x4x1x16xf32>
  %rows_k = llm.reshape %present_k : (tensor<2x2x12x16xf32>) -> tensor<1x2x2x12x16xf32>
  %rows_v = llm.reshape %present_v : (tensor<2x2x12x16xf32>) -> tensor<1x2x2x12x16xf32>
  %present = llm.concat %rows_k, %rows_v {axis = 0 : i64} : (tensor<1x2x2x12x16xf32>, tensor<1x2x2x12x16xf32>) -> tensor<2x2x2x12x16xf32>
  return %o, %present : tensor<2x4x1x16xf32>, tensor<2x2x2x12x16xf32>
}

// -----

// Not fused: a present read before the attention, and keys and values of
// different past lengths. The concats stay for the generic path.
// CHECK-LABEL: func.func @read_before
// CHECK: llm.concat
// CHECK: llm.reduce_sum
// CHECK: gpu.launch_func @llm_kernels::@attention_0 {{.*}} args(%{{.*}} : memref<64xf32>, %{{.*}} : memref<384xf32>, %{{.*}} : memref<384xf32>, %{{.*}} : memref<64xf32>)
// CHECK-LABEL: func.func @past_lengths
// CHECK: llm.concat
// CHECK: gpu.launch_func @llm_kernels::@attention_1 {{.*}} args(%{{.*}} : memref<16xf32>, %{{.*}} : memref<192xf32>, %{{.*}} : memref<192xf32>, %{{.*}} : memref<16xf32>)
func.func @read_before(%q: tensor<1x4x1x16xf32>, %past_k: tensor<1x4x5x16xf32>, %past_v: tensor<1x4x5x16xf32>, %k: tensor<1x4x1x16xf32>, %v: tensor<1x4x1x16xf32>) -> (tensor<1x4x1x16xf32>, tensor<1x4x1x16xf32>) {
  %present_k = llm.concat %past_k, %k {axis = 2 : i64} : (tensor<1x4x5x16xf32>, tensor<1x4x1x16xf32>) -> tensor<1x4x6x16xf32>
  %present_v = llm.concat %past_v, %v {axis = 2 : i64} : (tensor<1x4x5x16xf32>, tensor<1x4x1x16xf32>) -> tensor<1x4x6x16xf32>
  %sum = llm.reduce_sum %present_k {axes = array<i64: 2>, keepdims = true} : (tensor<1x4x6x16xf32>) -> tensor<1x4x1x16xf32>
  %o = llm.attention %q, %present_k, %present_v {scale = 0.25 : f32} : (tensor<1x4x1x16xf32>, tensor<1x4x6x16xf32>, tensor<1x4x6x16xf32>) -> tensor<1x4x1x16xf32>
  return %o, %sum : tensor<1x4x1x16xf32>, tensor<1x4x1x16xf32>
}
func.func @past_lengths(%q: tensor<1x1x1x16xf32>, %past_k: tensor<1x1x11x16xf32>, %past_v: tensor<1x1x10x16xf32>, %k: tensor<1x1x1x16xf32>, %v: tensor<1x1x2x16xf32>) -> tensor<1x1x1x16xf32> {
  %present_k = llm.concat %past_k, %k {axis = 2 : i64} : (tensor<1x1x11x16xf32>, tensor<1x1x1x16xf32>) -> tensor<1x1x12x16xf32>
  %present_v = llm.concat %past_v, %v {axis = 2 : i64} : (tensor<1x1x10x16xf32>, tensor<1x1x2x16xf32>) -> tensor<1x1x12x16xf32>
  %o = llm.attention %q, %present_k, %present_v {scale = 0.25 : f32} : (tensor<1x1x1x16xf32>, tensor<1x1x12x16xf32>, tensor<1x1x12x16xf32>) -> tensor<1x1x1x16xf32>
  return %o : tensor<1x1x1x16xf32>
}
