// RUN: llm-opt %s --verify-each --convert-llm-to-gpu -split-input-file | FileCheck %s

// A W8A8 linear layer (s8 product, dequantization by a per-token times a
// per-channel scale, bias) becomes one tensor-core launch: m16n8k32 s8
// products with exact i32 accumulators, then float(acc) * (a * s) + b in
// the epilogue. The two scale factors are read as they are (32 and 256
// floats), never as the 2x16x256 product; llm.mul, llm.dequantize and
// llm.add are gone. The batch folds into the rows (M = 32).
// CHECK-LABEL: func.func @fused
// CHECK-NOT: llm.
// CHECK: gpu.launch_func @llm_kernels::@qmatmul_0 blocks in
// CHECK-SAME: args(%{{.*}} : memref<2048xi8>, %{{.*}} : memref<16384xi8>, %{{.*}} : memref<32xf32>, %{{.*}} : memref<256xf32>, %{{.*}} : memref<256xf32>, %{{.*}} : memref<8192xf32>)
// CHECK-NOT: llm.
// CHECK: gpu.func @qmatmul_0(%{{.*}}: memref<2048xi8>, %{{.*}}: memref<16384xi8>, %{{.*}}: memref<32xf32>, %{{.*}}: memref<256xf32>, %{{.*}}: memref<256xf32>, %{{.*}}: memref<8192xf32>)
// CHECK-SAME: workgroup(%{{.*}} : memref<2x64x80xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<2x64x80xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// 16-byte loads of 16 int8 values, stored into shared memory unconverted.
// CHECK: vector.load %arg0[%{{.*}}] {alignment = 16 : i64} : memref<2048xi8>, vector<16xi8>
// CHECK: vector.store %{{.*}}, %arg6[%{{.*}}, %{{.*}}, %{{.*}}] {alignment = 16 : i64} : memref<2x64x80xi8, #gpu.address_space<workgroup>>, vector<16xi8>
// CHECK: scf.for {{.*}} -> (i32,
// Fragment registers are four k-adjacent bytes.
// CHECK: vector.load %arg6[%{{.*}}, %{{.*}}, %{{.*}}] : memref<2x64x80xi8, #gpu.address_space<workgroup>>, vector<4xi8>
// CHECK: vector.bitcast %{{.*}} : vector<4xi8> to vector<1xi32>
// Two k32 steps per 64-wide k tile, 2 x 4 tiles per 32x32 warp.
// CHECK-COUNT-16: nvvm.mma.sync {{.*}}intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>{{.*}}multiplicandAPtxType = #nvvm.mma_type<s8>, multiplicandBPtxType = #nvvm.mma_type<s8>, shape = #nvvm.shape<m = 16, n = 8, k = 32>} : (i32, i32, i32) -> !llvm.struct<(i32, i32, i32, i32)>
// CHECK-NOT: nvvm.mma.sync
// CHECK: scf.yield
// CHECK: arith.sitofp %{{.*}} : i32 to f32
// CHECK: memref.load %arg2
// CHECK: %[[S:.*]] = memref.load %arg3
// CHECK-NEXT: %[[F:.*]] = arith.mulf %{{.*}}, %[[S]] : f32
// CHECK-NEXT: arith.mulf %{{.*}}, %[[F]] : f32
// CHECK: memref.load %arg4
// CHECK-NEXT: arith.addf
// CHECK: memref.store %{{.*}}, %arg5
func.func @fused(%x: tensor<2x16x64xi8>, %w: tensor<256x64xi8>, %a: tensor<2x16x1xf32>, %s: tensor<256xf32>, %b: tensor<256xf32>) -> tensor<2x16x256xf32> {
  %scale = llm.mul %a, %s : (tensor<2x16x1xf32>, tensor<256xf32>) -> tensor<2x16x256xf32>
  %acc = llm.qmatmul %x, %w {transpose_rhs = true} : (tensor<2x16x64xi8>, tensor<256x64xi8>) -> tensor<2x16x256xi32>
  %d = llm.dequantize %acc, %scale : (tensor<2x16x256xi32>, tensor<2x16x256xf32>) -> tensor<2x16x256xf32>
  %y = llm.add %d, %b : (tensor<2x16x256xf32>, tensor<256xf32>) -> tensor<2x16x256xf32>
  return %y : tensor<2x16x256xf32>
}

// -----

// A scale that is one tensor is one factor; a dequantized value with two
// users keeps its add (no bias is fused), and a scale product used
// elsewhere stays.
// CHECK-LABEL: func.func @single_scale
// CHECK: gpu.launch_func @llm_kernels::@qmatmul_0 {{.*}} args(%{{.*}} : memref<400xi8>, %{{.*}} : memref<800xi8>, %{{.*}} : memref<20xf32>, %{{.*}} : memref<200xf32>)
// CHECK: llm.add
// CHECK: gpu.func @qmatmul_0(%{{.*}}: memref<400xi8>, %{{.*}}: memref<800xi8>, %{{.*}}: memref<20xf32>, %{{.*}}: memref<200xf32>)
// K = 40 and a [K, N] weight of 20 columns: no 16-byte runs, element
// copies, and the k tile past K reads as zeros.
// CHECK-NOT: vector<16xi8>
// CHECK: memref.load %arg1[%{{.*}}] : memref<800xi8>
// CHECK: nvvm.mma.sync
func.func @single_scale(%x: tensor<10x40xi8>, %w: tensor<40x20xi8>, %s: tensor<20xf32>) -> (tensor<10x20xf32>, tensor<10x20xf32>) {
  %acc = llm.qmatmul %x, %w : (tensor<10x40xi8>, tensor<40x20xi8>) -> tensor<10x20xi32>
  %d = llm.dequantize %acc, %s : (tensor<10x20xi32>, tensor<20xf32>) -> tensor<10x20xf32>
  %y = llm.add %d, %d : (tensor<10x20xf32>, tensor<10x20xf32>) -> tensor<10x20xf32>
  return %y, %d : tensor<10x20xf32>, tensor<10x20xf32>
}

// -----

// Without a dequantization the kernel stores the exact i32 accumulators.
// Zero points (ONNX MatInteger with a run-time zero point) and unsigned
// operands stay on the generic path.
// CHECK-LABEL: func.func @raw
// CHECK: gpu.launch_func @llm_kernels::@qmatmul_0 {{.*}} : memref<4096xi32>)
// CHECK: llm.qmatmul {{.*}} lhs_zero_point
// CHECK: llm.qmatmul {{.*}}lhs_unsigned
// CHECK: gpu.func @qmatmul_0({{.*}}%{{.*}}: memref<4096xi32>)
// CHECK-NOT: arith.sitofp
// CHECK: memref.store %{{.*}}, %arg2[%{{.*}}] : memref<4096xi32>
func.func @raw(%x: tensor<64x96xi8>, %w: tensor<96x64xi8>, %z: tensor<i8>) -> (tensor<64x64xi32>, tensor<64x64xi32>, tensor<64x64xi32>) {
  %a = llm.qmatmul %x, %w : (tensor<64x96xi8>, tensor<96x64xi8>) -> tensor<64x64xi32>
  %b = llm.qmatmul %x, %w lhs_zero_point %z : (tensor<64x96xi8>, tensor<96x64xi8>, tensor<i8>) -> tensor<64x64xi32>
  %c = llm.qmatmul %x, %w {lhs_unsigned} : (tensor<64x96xi8>, tensor<96x64xi8>) -> tensor<64x64xi32>
  return %a, %b, %c : tensor<64x64xi32>, tensor<64x64xi32>, tensor<64x64xi32>
}

// -----

// Per-token quantization (llm-quantize's dynamic activations) is one launch
// of one block per row: the |x| maximum through warp shuffles, the scale
// (also the dequantization's per-token factor) and the int8 row, both
// written by the kernel; abs, reduce_max, max and div are gone.
// CHECK-LABEL: func.func @dynamic
// CHECK-NOT: llm.abs
// CHECK: gpu.launch_func @llm_kernels::@quantize_rows_0 blocks in (%[[ROWS:.*]], %{{.*}}, %{{.*}}) threads in
// CHECK-SAME: args(%{{.*}} : memref<1536xf32>, %{{.*}} : memref<24xf32>, %{{.*}} : memref<1536xi8>)
// CHECK-NOT: llm.reduce_max
// CHECK: gpu.launch_func @llm_kernels::@qmatmul_1
// CHECK: gpu.func @quantize_rows_0(%{{.*}}: memref<1536xf32>, %{{.*}}: memref<24xf32>, %{{.*}}: memref<1536xi8>)
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: math.absf
// CHECK: arith.maximumf
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: gpu.barrier
// CHECK: arith.constant 1.000000e-30 : f32
// CHECK: arith.constant 1.270000e+02 : f32
// CHECK: arith.divf
// CHECK: memref.store %{{.*}}, %arg1[%{{.*}}] : memref<24xf32>
// CHECK: math.roundeven
// CHECK: arith.maxnumf
// CHECK: arith.minnumf
// CHECK: arith.fptosi
// CHECK: memref.store %{{.*}}, %arg2[%{{.*}}] : memref<1536xi8>
func.func @dynamic(%x: tensor<2x12x64xf32>, %w: tensor<32x64xi8>, %s: tensor<32xf32>) -> tensor<2x12x32xf32> {
  %a = llm.abs %x : tensor<2x12x64xf32>
  %m = llm.reduce_max %a {axes = array<i64: 2>} : (tensor<2x12x64xf32>) -> tensor<2x12x1xf32>
  %eps = llm.constant dense<1.000000e-30> : tensor<f32>
  %mx = llm.max %m, %eps : (tensor<2x12x1xf32>, tensor<f32>) -> tensor<2x12x1xf32>
  %c = llm.constant dense<1.270000e+02> : tensor<f32>
  %scale = llm.div %mx, %c : (tensor<2x12x1xf32>, tensor<f32>) -> tensor<2x12x1xf32>
  %q = llm.quantize %x, %scale : (tensor<2x12x64xf32>, tensor<2x12x1xf32>) -> tensor<2x12x64xi8>
  %f = llm.mul %scale, %s : (tensor<2x12x1xf32>, tensor<32xf32>) -> tensor<2x12x32xf32>
  %acc = llm.qmatmul %q, %w {transpose_rhs = true} : (tensor<2x12x64xi8>, tensor<32x64xi8>) -> tensor<2x12x32xi32>
  %y = llm.dequantize %acc, %f : (tensor<2x12x32xi32>, tensor<2x12x32xf32>) -> tensor<2x12x32xf32>
  return %y : tensor<2x12x32xf32>
}

// -----

// Weight-only int8 (llm-quantize w8): the matmul reads the int8 weight and
// its per-column scales and dequantizes each 8-value run on its way to
// shared memory (float(q) * s, then bf16); no f32 copy of the weight is made
// and llm.dequantize is gone.
// CHECK-LABEL: func.func @weight_only
// CHECK-NOT: llm.dequantize
// CHECK: gpu.launch_func @llm_kernels::@matmul_0 {{.*}} args(%{{.*}} : memref<4096xf32>, %{{.*}} : memref<16384xi8>, %{{.*}} : memref<128xf32>, %{{.*}} : memref<4096xf32>)
// CHECK: gpu.func @matmul_0(%{{.*}}: memref<4096xf32>, %{{.*}}: memref<16384xi8>, %{{.*}}: memref<128xf32>, %{{.*}}: memref<4096xf32>)
// CHECK: vector.load %arg1[%{{.*}}] {alignment = 8 : i64} : memref<16384xi8>, vector<8xi8>
// CHECK: arith.sitofp %{{.*}} : vector<8xi8> to vector<8xf32>
// CHECK: memref.load %arg2[%{{.*}}] : memref<128xf32>
// CHECK: vector.broadcast
// CHECK: arith.mulf %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK: arith.truncf %{{.*}} : vector<8xf32> to vector<8xbf16>
// CHECK: nvvm.mma.sync
func.func @weight_only(%x: tensor<32x128xf32>, %q: tensor<128x128xi8> {llm.weight = "w"}, %s: tensor<128x1xf32>) -> tensor<32x128xf32> {
  %w = llm.dequantize %q, %s : (tensor<128x128xi8>, tensor<128x1xf32>) -> tensor<128x128xf32>
  %y = llm.matmul %x, %w {transpose_rhs = true} : (tensor<32x128xf32>, tensor<128x128xf32>) -> tensor<32x128xf32>
  return %y : tensor<32x128xf32>
}

// -----

// A 4-bit weight (MatMulNBits, llm-quantize w4): the matmul reads the packed
// bytes (two values per byte along K) with the block's scale and unsigned
// zero point, splits the nibbles, dequantizes (q - zp) * s and stores the
// run to shared memory in k order; no dequantization kernel, and the cast of
// an fp16 model's weight goes with it.
// CHECK-LABEL: func.func @weight_4bit
// CHECK-NOT: llm.dequantize
// CHECK-NOT: llm.cast
// CHECK: gpu.func @matmul_0(%{{.*}}: memref<4096xf16>, %{{.*}}: memref<8192xi8>, %{{.*}}: memref<512xf32>, %{{.*}}: memref<512xi8>, %{{.*}}: memref<4096xf16>)
// CHECK: %[[B:.*]] = vector.load %arg1[%{{.*}}] {alignment = 4 : i64} : memref<8192xi8>, vector<4xi8>
// CHECK: memref.load %arg2[%{{.*}}] : memref<512xf32>
// CHECK: memref.load %arg3[%{{.*}}] : memref<512xi8>
// CHECK: %[[LO:.*]] = arith.andi %{{.*}}, %{{.*}} : vector<4xi8>
// CHECK: arith.subi %[[LO]], %{{.*}} : vector<4xi8>
// CHECK: %[[HI:.*]] = arith.shrui %{{.*}}, %{{.*}} : vector<4xi8>
// CHECK: arith.subi %[[HI]], %{{.*}} : vector<4xi8>
// CHECK: arith.sitofp %{{.*}} : vector<4xi8> to vector<4xf32>
// CHECK: vector.from_elements {{.*}} : vector<8xf32>
// CHECK: arith.truncf %{{.*}} : vector<8xf32> to vector<8xf16>
// CHECK: nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32)
func.func @weight_4bit(%x: tensor<32x128xf16>, %q: tensor<128x64xi8> {llm.weight = "w"}, %s: tensor<128x4xf32> {llm.weight = "s"}, %z: tensor<128x4xi8> {llm.weight = "z"}) -> tensor<32x128xf16> {
  %w = llm.dequantize %q, %s, %z {bits = 4 : i64, block_size = 32 : i64, is_unsigned} : (tensor<128x64xi8>, tensor<128x4xf32>, tensor<128x4xi8>) -> tensor<128x128xf32>
  %h = llm.cast %w : (tensor<128x128xf32>) -> tensor<128x128xf16>
  %y = llm.matmul %x, %h {transpose_rhs = true} : (tensor<32x128xf16>, tensor<128x128xf16>) -> tensor<32x128xf16>
  return %y : tensor<32x128xf16>
}

// -----

// Signed nibbles (no zero point): sign-extended by shifts.
// CHECK-LABEL: func.func @weight_4bit_signed
// CHECK: gpu.func @matmul_0(%{{.*}}: memref<4096xf32>, %{{.*}}: memref<8192xi8>, %{{.*}}: memref<128xf32>, %{{.*}}: memref<4096xf32>)
// CHECK: %[[L:.*]] = arith.shli %{{.*}}, %{{.*}} : vector<4xi8>
// CHECK: arith.shrsi %[[L]], %{{.*}} : vector<4xi8>
// CHECK: arith.shrsi %{{.*}}, %{{.*}} : vector<4xi8>
// CHECK: arith.truncf %{{.*}} : vector<8xf32> to vector<8xbf16>
func.func @weight_4bit_signed(%x: tensor<32x128xf32>, %q: tensor<128x64xi8> {llm.weight = "w"}, %s: tensor<128x1xf32>) -> tensor<32x128xf32> {
  %w = llm.dequantize %q, %s {bits = 4 : i64} : (tensor<128x64xi8>, tensor<128x1xf32>) -> tensor<128x128xf32>
  %y = llm.matmul %x, %w {transpose_rhs = true} : (tensor<32x128xf32>, tensor<128x128xf32>) -> tensor<32x128xf32>
  return %y : tensor<32x128xf32>
}
