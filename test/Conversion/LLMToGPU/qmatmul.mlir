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
// CHECK-SAME: workgroup(%{{.*}} : memref<4x64x80xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}, %{{.*}} : memref<4x64x80xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64})
// 16 int8 values at a time copied into shared memory unconverted, by
// cp.async, on four stages (both operands copied: 2 x 20 KiB).
// CHECK: memref.extract_aligned_pointer_as_index %arg0 : memref<2048xi8> -> index
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK-NOT: vector.store %{{.*}}, %arg6
// CHECK: scf.for {{.*}} -> (i32,
// Fragment registers are four k-adjacent bytes: ldmatrix.x4 reads A's
// 16x32-byte tile (and two 8-column tiles of B) at this lane's row address.
// CHECK: nvvm.ldmatrix %{{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 4 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
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
// CHECK-LABEL: func.func @raw
// CHECK: gpu.launch_func @llm_kernels::@qmatmul_0 {{.*}} : memref<4096xi32>)
// CHECK: gpu.func @qmatmul_0({{.*}}%{{.*}}: memref<4096xi32>)
// CHECK-NOT: arith.sitofp
// CHECK: memref.store %{{.*}}, %arg2[%{{.*}}] : memref<4096xi32>
func.func @raw(%x: tensor<64x96xi8>, %w: tensor<96x64xi8>) -> tensor<64x64xi32> {
  %a = llm.qmatmul %x, %w : (tensor<64x96xi8>, tensor<96x64xi8>) -> tensor<64x64xi32>
  return %a : tensor<64x64xi32>
}

// -----

// Zero points and unsigned operands (ONNX MatMulInteger, DynamicQuantizeLinear
// activations): unsigned bytes enter shared memory with their top bit
// flipped (less 128; the zero fill past K stays 0); the tensor cores also
// take row sums of the lhs (mma with a B of ones) when the rhs's zero point
// can be nonzero, and column sums of the rhs (an A of ones) when the lhs's
// can; the epilogue subtracts za' * colsum + zb' * rowsum and adds
// K * za' * zb', the zero points read as i8 (unsigned: less 128).
// CHECK-LABEL: func.func @zero_points
// CHECK: gpu.launch_func @llm_kernels::@qmatmul_0 {{.*}} args(%{{.*}} : memref<6144xi8>, %{{.*}} : memref<6144xi8>, %{{.*}} : memref<1xi8>, %{{.*}} : memref<64xi8>, %{{.*}} : memref<4096xi32>)
// CHECK: gpu.launch_func @llm_kernels::@qmatmul_1 {{.*}} args(%{{.*}} : memref<6144xi8>, %{{.*}} : memref<6144xi8>, %{{.*}} : memref<4096xi32>)
// The zero point of constant zeros is none.
// CHECK: gpu.launch_func @llm_kernels::@qmatmul_2 {{.*}} args(%{{.*}} : memref<6144xi8>, %{{.*}} : memref<6144xi8>, %{{.*}} : memref<4096xi32>)
// A zero point along k stays on the generic path.
// CHECK: llm.qmatmul {{.*}} lhs_zero_point
// CHECK: gpu.func @qmatmul_0(%{{.*}}: memref<6144xi8>, %{{.*}}: memref<6144xi8>, %[[ZA:.*]]: memref<1xi8>, %[[ZB:.*]]: memref<64xi8>, %{{.*}}: memref<4096xi32>)
// CHECK: %[[V:.*]] = vector.load %arg0[%{{.*}}] {alignment = 16 : i64} : memref<6144xi8>, vector<16xi8>
// CHECK-NEXT: %[[FLIP:.*]] = arith.constant dense<-128> : vector<16xi8>
// CHECK-NEXT: %[[S:.*]] = arith.xori %[[V]], %[[FLIP]] : vector<16xi8>
// CHECK-NEXT: arith.select %{{.*}}, %[[S]], %{{.*}} : vector<16xi8>
// CHECK: %[[ONES:.*]] = arith.constant 16843009 : i32
// 2 x 4 product tiles, 2 row-sum and 4 column-sum tiles per k32 step.
// CHECK-COUNT-8: nvvm.mma.sync A[%{{[0-9]+}}, {{.*}}] B[%{{[0-9]+}}, %{{[0-9]+}}] C[
// CHECK-COUNT-2: nvvm.mma.sync A[%{{[0-9]+}}, {{.*}}] B[%[[ONES]], %[[ONES]]] C[
// CHECK-COUNT-4: nvvm.mma.sync A[%[[ONES]], %[[ONES]], %[[ONES]], %[[ONES]]] B[%{{[0-9]+}}, %{{[0-9]+}}] C[
// CHECK: nvvm.mma.sync A[%{{[0-9]+}}, {{.*}}] B[%{{[0-9]+}}, %{{[0-9]+}}] C[
// CHECK: scf.yield
// The epilogue: za' = zext(za) - 128, zb' = sext(zb), K = 96.
// CHECK: %[[A:.*]] = memref.load %[[ZA]][%{{.*}}] : memref<1xi8>
// CHECK: arith.extui %[[A]] : i8 to i32
// CHECK: arith.subi %{{.*}}, %{{.*}} : i32
// CHECK: %[[B:.*]] = memref.load %[[ZB]][%{{.*}}] : memref<64xi8>
// CHECK: arith.extsi %[[B]] : i8 to i32
// CHECK: arith.constant 96 : i32
// CHECK: memref.store %{{.*}}, %arg4[%{{.*}}] : memref<4096xi32>
// CHECK: gpu.func @qmatmul_1(
// CHECK-NOT: arith.constant 16843009
// CHECK: gpu.func @qmatmul_2(
// CHECK-NOT: arith.xori
// CHECK-NOT: arith.constant 16843009
// CHECK: gpu.return
func.func @zero_points(%x: tensor<64x96xi8>, %w: tensor<96x64xi8>, %z: tensor<i8>, %zb: tensor<64xi8>, %zk: tensor<96xi8>) -> (tensor<64x64xi32>, tensor<64x64xi32>, tensor<64x64xi32>, tensor<64x64xi32>) {
  %a = llm.qmatmul %x, %w lhs_zero_point %z rhs_zero_point %zb {lhs_unsigned} : (tensor<64x96xi8>, tensor<96x64xi8>, tensor<i8>, tensor<64xi8>) -> tensor<64x64xi32>
  %b = llm.qmatmul %x, %w : (tensor<64x96xi8>, tensor<96x64xi8>) -> tensor<64x64xi32>
  %zero = llm.constant dense<0> : tensor<i8>
  %c = llm.qmatmul %x, %w rhs_zero_point %zero : (tensor<64x96xi8>, tensor<96x64xi8>, tensor<i8>) -> tensor<64x64xi32>
  %d = llm.qmatmul %x, %w lhs_zero_point %zk : (tensor<64x96xi8>, tensor<96x64xi8>, tensor<96xi8>) -> tensor<64x64xi32>
  return %a, %b, %c, %d : tensor<64x64xi32>, tensor<64x64xi32>, tensor<64x64xi32>, tensor<64x64xi32>
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

// -----

// DynamicQuantizeLinear as the importer writes it (the range widened to 0,
// scale where(range == 0, 1, range / 255), zero point quantize(0 - low))
// is one quantize_tensor launch for a tensor of up to 8192 elements; the
// qmatmul after it reads its zero point, and its epilogue takes the
// dequantization (two scale factors), the bias and the GELU, or the bias
// and the residual add. No llm op but the constants is left.
// CHECK-LABEL: func.func @dynamic_tensor
// CHECK-NOT: llm.{{[a-z_]+}} %
// CHECK: gpu.launch_func @llm_kernels::@quantize_tensor_0 blocks in (%[[ONE:.*]], %{{.*}}, %{{.*}}) threads in
// CHECK-SAME: args(%{{.*}} : memref<1536xf32>, %{{.*}} : memref<1xf32>, %{{.*}} : memref<1xi8>, %{{.*}} : memref<1536xi8>)
// CHECK: gpu.launch_func @llm_kernels::@qmatmul_1 {{.*}} args(%{{.*}} : memref<1536xi8>, %{{.*}} : memref<2048xi8>, %{{.*}} : memref<1xi8>, %{{.*}} : memref<1xf32>, %{{.*}} : memref<1xf32>, %{{.*}} : memref<32xf32>, %{{.*}} : memref<768xf32>)
// CHECK: gpu.launch_func @llm_kernels::@qmatmul_2 {{.*}} args(%{{.*}} : memref<1536xi8>, %{{.*}} : memref<2048xi8>, %{{.*}} : memref<1xi8>, %{{.*}} : memref<1xf32>, %{{.*}} : memref<1xf32>, %{{.*}} : memref<32xf32>, %{{.*}} : memref<768xf32>, %{{.*}} : memref<768xf32>)
// CHECK-NOT: llm.{{[a-z_]+}} %
// CHECK: gpu.func @quantize_tensor_0(%{{.*}}: memref<1536xf32>, %{{.*}}: memref<1xf32>, %{{.*}}: memref<1xi8>, %{{.*}}: memref<1536xi8>)
// CHECK-COUNT-5: gpu.shuffle xor {{.*}} : f32
// CHECK: gpu.barrier
// CHECK: arith.subf
// CHECK: arith.cmpf oeq
// CHECK: arith.divf
// CHECK: arith.select
// CHECK: math.roundeven
// CHECK: memref.store %{{.*}}, %arg1[%{{.*}}] : memref<1xf32>
// CHECK: memref.store %{{.*}}, %arg2[%{{.*}}] : memref<1xi8>
// CHECK: arith.addf
// CHECK: memref.store %{{.*}}, %arg3[%{{.*}}] : memref<1536xi8>
// CHECK: gpu.func @qmatmul_1(
// CHECK: math.erf
// CHECK: gpu.func @qmatmul_2(
// CHECK-NOT: math.erf
// CHECK: memref.load %arg6
// CHECK-NEXT: arith.addf
// CHECK: gpu.return
func.func @dynamic_tensor(%x: tensor<2x12x64xf32>, %w: tensor<64x32xi8>, %s: tensor<f32>, %b: tensor<32xf32>, %r: tensor<2x12x32xf32>) -> (tensor<2x12x32xf32>, tensor<2x12x32xf32>) {
  %zero = llm.constant dense<0.0> : tensor<f32>
  %one = llm.constant dense<1.0> : tensor<f32>
  %levels = llm.constant dense<255.0> : tensor<f32>
  %lo = llm.reduce_min %x {axes = array<i64: 0, 1, 2>, keepdims = false} : (tensor<2x12x64xf32>) -> tensor<f32>
  %hi = llm.reduce_max %x {axes = array<i64: 0, 1, 2>, keepdims = false} : (tensor<2x12x64xf32>) -> tensor<f32>
  %low = llm.min %lo, %zero : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %high = llm.max %hi, %zero : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %range = llm.sub %high, %low : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %eq = llm.equal %range, %zero : (tensor<f32>, tensor<f32>) -> tensor<i1>
  %div = llm.div %range, %levels : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %scale = llm.where %eq, %one, %div : (tensor<i1>, tensor<f32>, tensor<f32>) -> tensor<f32>
  %neg = llm.sub %zero, %low : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %zp = llm.quantize %neg, %scale {is_unsigned} : (tensor<f32>, tensor<f32>) -> tensor<i8>
  %q = llm.quantize %x, %scale, %zp {is_unsigned} : (tensor<2x12x64xf32>, tensor<f32>, tensor<i8>) -> tensor<2x12x64xi8>
  %f = llm.mul %scale, %s : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %acc = llm.qmatmul %q, %w lhs_zero_point %zp {lhs_unsigned} : (tensor<2x12x64xi8>, tensor<64x32xi8>, tensor<i8>) -> tensor<2x12x32xi32>
  %d = llm.dequantize %acc, %f : (tensor<2x12x32xi32>, tensor<f32>) -> tensor<2x12x32xf32>
  %y = llm.add %d, %b : (tensor<2x12x32xf32>, tensor<32xf32>) -> tensor<2x12x32xf32>
  %g = llm.gelu %y : tensor<2x12x32xf32>
  %f2 = llm.mul %scale, %s : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %acc2 = llm.qmatmul %q, %w lhs_zero_point %zp {lhs_unsigned} : (tensor<2x12x64xi8>, tensor<64x32xi8>, tensor<i8>) -> tensor<2x12x32xi32>
  %d2 = llm.dequantize %acc2, %f2 : (tensor<2x12x32xi32>, tensor<f32>) -> tensor<2x12x32xf32>
  %y2 = llm.add %d2, %b : (tensor<2x12x32xf32>, tensor<32xf32>) -> tensor<2x12x32xf32>
  %o = llm.add %r, %y2 : (tensor<2x12x32xf32>, tensor<2x12x32xf32>) -> tensor<2x12x32xf32>
  return %g, %o : tensor<2x12x32xf32>, tensor<2x12x32xf32>
}

// -----

// Past 8192 elements the range takes two launches: each block's (min, max)
// of its chunk, then the blocks' pairs reduced by every block of the
// quantization (block 0 writes the scale and zero point).
// CHECK-LABEL: func.func @dynamic_large
// CHECK: %[[PAIRS:.*]] = memref.alloc() : memref<6xf32>
// CHECK: gpu.launch_func @llm_kernels::@quantize_tensor_0_minmax blocks in (%[[B:.*]], %{{.*}}, %{{.*}}) threads in {{.*}} args(%{{.*}} : memref<20000xf32>, %[[PAIRS]] : memref<6xf32>)
// CHECK: gpu.launch_func @llm_kernels::@quantize_tensor_0 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in {{.*}} args(%{{.*}} : memref<20000xf32>, %[[PAIRS]] : memref<6xf32>, %{{.*}} : memref<1xf32>, %{{.*}} : memref<1xi8>, %{{.*}} : memref<20000xi8>)
// CHECK: gpu.func @quantize_tensor_0_minmax(%{{.*}}: memref<20000xf32>, %{{.*}}: memref<6xf32>)
// Chunks of 6667 elements.
// CHECK: arith.constant 6667 : index
// CHECK: gpu.func @quantize_tensor_0(%{{.*}}: memref<20000xf32>, %{{.*}}: memref<6xf32>,
func.func @dynamic_large(%x: tensor<20000xf32>) -> (tensor<20000xi8>, tensor<f32>, tensor<i8>) {
  %zero = llm.constant dense<0.0> : tensor<f32>
  %one = llm.constant dense<1.0> : tensor<f32>
  %levels = llm.constant dense<255.0> : tensor<f32>
  %lo = llm.reduce_min %x {axes = array<i64: 0>, keepdims = false} : (tensor<20000xf32>) -> tensor<f32>
  %hi = llm.reduce_max %x {axes = array<i64: 0>, keepdims = false} : (tensor<20000xf32>) -> tensor<f32>
  %low = llm.min %lo, %zero : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %high = llm.max %hi, %zero : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %range = llm.sub %high, %low : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %eq = llm.equal %range, %zero : (tensor<f32>, tensor<f32>) -> tensor<i1>
  %div = llm.div %range, %levels : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %scale = llm.where %eq, %one, %div : (tensor<i1>, tensor<f32>, tensor<f32>) -> tensor<f32>
  %neg = llm.sub %zero, %low : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %zp = llm.quantize %neg, %scale {is_unsigned} : (tensor<f32>, tensor<f32>) -> tensor<i8>
  %q = llm.quantize %x, %scale, %zp {is_unsigned} : (tensor<20000xf32>, tensor<f32>, tensor<i8>) -> tensor<20000xi8>
  return %q, %scale, %zp : tensor<20000xi8>, tensor<f32>, tensor<i8>
}

// -----

// A QDQ model's static activation quantization (constant scale and zero
// point) after a norm or after a product's epilogue is stored by that
// kernel as i8: the layer_norm kernel writes the uint8 activations the
// qmatmul reads, and the qmatmul (dequantization, bias, GELU) writes the
// next product's; no quantize launch and no f32 copy in between.
// CHECK-LABEL: func.func @static_activations
// CHECK-NOT: llm.{{[a-z_]+}} %
// CHECK: gpu.launch_func @llm_kernels::@layer_norm_0 {{.*}} args(%{{.*}} : memref<1024xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<1024xi8>)
// CHECK: gpu.launch_func @llm_kernels::@qmatmul_1 {{.*}} args(%{{.*}} : memref<1024xi8>, %{{.*}} : memref<4096xi8>, %{{.*}} : memref<1xi8>, %{{.*}} : memref<1xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<1024xi8>)
// CHECK-NOT: llm.{{[a-z_]+}} %
// CHECK: gpu.func @layer_norm_0(
// CHECK: math.roundeven
// CHECK: arith.addf %{{.*}}, %{{.*}} : f32
// CHECK: arith.maxnumf
// CHECK: arith.minnumf
// CHECK: arith.trunci %{{.*}} : i32 to i8
// CHECK: memref.store %{{.*}}, %arg3[%{{.*}}] : memref<1024xi8>
// CHECK: gpu.func @qmatmul_1(
// CHECK: math.erf
// CHECK: math.roundeven
// CHECK: memref.store %{{.*}}, %arg6[%{{.*}}] : memref<1024xi8>
func.func @static_activations(%x: tensor<16x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>, %w: tensor<64x64xi8>, %sw: tensor<64xf32>) -> tensor<16x64xi8> {
  %s = llm.constant dense<0.05> : tensor<f32>
  %z = llm.constant dense<-128> : tensor<i8>
  %n = llm.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<16x64xf32>
  %q = llm.quantize %n, %s, %z {is_unsigned} : (tensor<16x64xf32>, tensor<f32>, tensor<i8>) -> tensor<16x64xi8>
  %acc = llm.qmatmul %q, %w lhs_zero_point %z {lhs_unsigned} : (tensor<16x64xi8>, tensor<64x64xi8>, tensor<i8>) -> tensor<16x64xi32>
  %f = llm.mul %s, %sw : (tensor<f32>, tensor<64xf32>) -> tensor<64xf32>
  %d = llm.dequantize %acc, %f : (tensor<16x64xi32>, tensor<64xf32>) -> tensor<16x64xf32>
  %y = llm.add %d, %b : (tensor<16x64xf32>, tensor<64xf32>) -> tensor<16x64xf32>
  %h = llm.gelu %y : tensor<16x64xf32>
  %q2 = llm.quantize %h, %s, %z {is_unsigned} : (tensor<16x64xf32>, tensor<f32>, tensor<i8>) -> tensor<16x64xi8>
  return %q2 : tensor<16x64xi8>
}

// -----

// The launch replaces the scale and zero point where q is computed: a user
// of the scale before that point keeps the ops as they are.
// CHECK-LABEL: func.func @dynamic_used_before
// CHECK-NOT: quantize_tensor
// CHECK: llm.reduce_min
// CHECK: llm.quantize
func.func @dynamic_used_before(%x: tensor<2x12x64xf32>, %s: tensor<f32>) -> (tensor<2x12x64xi8>, tensor<f32>) {
  %zero = llm.constant dense<0.0> : tensor<f32>
  %one = llm.constant dense<1.0> : tensor<f32>
  %levels = llm.constant dense<255.0> : tensor<f32>
  %lo = llm.reduce_min %x {axes = array<i64: 0, 1, 2>, keepdims = false} : (tensor<2x12x64xf32>) -> tensor<f32>
  %hi = llm.reduce_max %x {axes = array<i64: 0, 1, 2>, keepdims = false} : (tensor<2x12x64xf32>) -> tensor<f32>
  %low = llm.min %lo, %zero : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %high = llm.max %hi, %zero : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %range = llm.sub %high, %low : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %eq = llm.equal %range, %zero : (tensor<f32>, tensor<f32>) -> tensor<i1>
  %div = llm.div %range, %levels : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %scale = llm.where %eq, %one, %div : (tensor<i1>, tensor<f32>, tensor<f32>) -> tensor<f32>
  %f = llm.mul %scale, %s : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %neg = llm.sub %zero, %low : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %zp = llm.quantize %neg, %scale {is_unsigned} : (tensor<f32>, tensor<f32>) -> tensor<i8>
  %q = llm.quantize %x, %scale, %zp {is_unsigned} : (tensor<2x12x64xf32>, tensor<f32>, tensor<i8>) -> tensor<2x12x64xi8>
  return %q, %f : tensor<2x12x64xi8>, tensor<f32>
}

// -----

// FP8 W8A8 (llm-quantize mode=fp8, per-token scales): one quantize_rows
// launch writes the scales (max / 448) and E4M3 bytes with
// cvt.rn.satfinite.e4m3x2.f32 (llvm.nvvm.ff.to.e4m3x2.rn, the low byte
// kept); the product is an mma.sync m16n8k32 e4m3 launch (the NVPTX
// intrinsic: nvvm.mma.sync has no FP8 types) with f32 accumulators, so the
// epilogue multiplies them by the scales without a conversion.
// CHECK-LABEL: func.func @fp8_dynamic
// CHECK: gpu.launch_func @llm_kernels::@quantize_rows_0
// CHECK-SAME: args(%{{.*}} : memref<1536xf32>, %{{.*}} : memref<24xf32>, %{{.*}} : memref<1536xi8>)
// CHECK: gpu.launch_func @llm_kernels::@qmatmul_1
// CHECK: gpu.func @quantize_rows_0
// CHECK: arith.constant 4.480000e+02 : f32
// CHECK: memref.store %{{.*}}, %arg1[%{{.*}}] : memref<24xf32>
// CHECK: %[[V:.*]] = arith.divf
// CHECK-NEXT: %[[P:.*]] = llvm.call_intrinsic "llvm.nvvm.ff.to.e4m3x2.rn"(%[[V]], %[[V]]) : (f32, f32) -> i16
// CHECK-NEXT: %[[Q:.*]] = arith.trunci %[[P]] : i16 to i8
// CHECK-NEXT: memref.store %[[Q]], %arg2[%{{.*}}] : memref<1536xi8>
// CHECK: gpu.func @qmatmul_1(
// CHECK: scf.for {{.*}} -> (f32,
// Two k32 steps per 64-wide k tile, 2 x 4 tiles per 32x32 warp.
// CHECK-COUNT-16: llvm.call_intrinsic "llvm.nvvm.mma.m16n8k32.row.col.f32.e4m3.e4m3.f32"({{.*}}) : (i32, i32, i32, i32, i32, i32, f32, f32, f32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK-NOT: nvvm.mma.sync
// CHECK-NOT: e4m3.e4m3.f32
// CHECK: scf.yield
// CHECK-NOT: arith.sitofp
// CHECK: memref.load %arg2
func.func @fp8_dynamic(%x: tensor<2x12x64xf32>, %w: tensor<32x64xi8>, %s: tensor<32xf32>) -> tensor<2x12x32xf32> {
  %a = llm.abs %x : tensor<2x12x64xf32>
  %m = llm.reduce_max %a {axes = array<i64: 2>} : (tensor<2x12x64xf32>) -> tensor<2x12x1xf32>
  %eps = llm.constant dense<1.000000e-30> : tensor<f32>
  %mx = llm.max %m, %eps : (tensor<2x12x1xf32>, tensor<f32>) -> tensor<2x12x1xf32>
  %c = llm.constant dense<4.480000e+02> : tensor<f32>
  %scale = llm.div %mx, %c : (tensor<2x12x1xf32>, tensor<f32>) -> tensor<2x12x1xf32>
  %q = llm.quantize %x, %scale {e4m3} : (tensor<2x12x64xf32>, tensor<2x12x1xf32>) -> tensor<2x12x64xi8>
  %f = llm.mul %scale, %s : (tensor<2x12x1xf32>, tensor<32xf32>) -> tensor<2x12x32xf32>
  %acc = llm.qmatmul %q, %w {e4m3, transpose_rhs = true} : (tensor<2x12x64xi8>, tensor<32x64xi8>) -> tensor<2x12x32xf32>
  %y = llm.dequantize %acc, %f : (tensor<2x12x32xf32>, tensor<2x12x32xf32>) -> tensor<2x12x32xf32>
  return %y : tensor<2x12x32xf32>
}

// -----

// FP8 with static activation scales (llm-quantize mode=fp8): the layer
// norm stores the E4M3 activations the FP8 product reads, and the product
// (dequantization, bias, GELU) stores the next product's, each byte by
// cvt.rn.satfinite.e4m3x2.f32 of v / 0.05; no quantize launch.
// CHECK-LABEL: func.func @fp8_static_activations
// CHECK-NOT: llm.{{[a-z_]+}} %
// CHECK: gpu.launch_func @llm_kernels::@layer_norm_0 {{.*}} args(%{{.*}} : memref<1024xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<1024xi8>)
// CHECK: gpu.launch_func @llm_kernels::@qmatmul_1 {{.*}} args(%{{.*}} : memref<1024xi8>, %{{.*}} : memref<4096xi8>, %{{.*}} : memref<1xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<64xf32>, %{{.*}} : memref<1024xi8>)
// CHECK-NOT: llm.{{[a-z_]+}} %
// CHECK: gpu.func @layer_norm_0(
// CHECK: %[[S:.*]] = arith.constant 5.000000e-02 : f32
// CHECK-NEXT: %[[V:.*]] = arith.divf %{{.*}}, %[[S]] : f32
// CHECK-NEXT: %[[P:.*]] = llvm.call_intrinsic "llvm.nvvm.ff.to.e4m3x2.rn"(%[[V]], %[[V]]) : (f32, f32) -> i16
// CHECK-NEXT: %[[Q:.*]] = arith.trunci %[[P]] : i16 to i8
// CHECK-NEXT: memref.store %[[Q]], %arg3[%{{.*}}] : memref<1024xi8>
// CHECK: gpu.func @qmatmul_1(
// CHECK: llvm.call_intrinsic "llvm.nvvm.mma.m16n8k32.row.col.f32.e4m3.e4m3.f32"
// CHECK: math.erf
// CHECK: llvm.call_intrinsic "llvm.nvvm.ff.to.e4m3x2.rn"
// CHECK: memref.store %{{.*}}, %arg5[%{{.*}}] : memref<1024xi8>
func.func @fp8_static_activations(%x: tensor<16x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>, %w: tensor<64x64xi8>, %sw: tensor<64xf32>) -> tensor<16x64xi8> {
  %s = llm.constant dense<0.05> : tensor<f32>
  %n = llm.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<16x64xf32>
  %q = llm.quantize %n, %s {e4m3} : (tensor<16x64xf32>, tensor<f32>) -> tensor<16x64xi8>
  %acc = llm.qmatmul %q, %w {e4m3} : (tensor<16x64xi8>, tensor<64x64xi8>) -> tensor<16x64xf32>
  %f = llm.mul %s, %sw : (tensor<f32>, tensor<64xf32>) -> tensor<64xf32>
  %d = llm.dequantize %acc, %f : (tensor<16x64xf32>, tensor<64xf32>) -> tensor<16x64xf32>
  %y = llm.add %d, %b : (tensor<16x64xf32>, tensor<64xf32>) -> tensor<16x64xf32>
  %h = llm.gelu %y : tensor<16x64xf32>
  %q2 = llm.quantize %h, %s {e4m3} : (tensor<16x64xf32>, tensor<f32>) -> tensor<16x64xi8>
  return %q2 : tensor<16x64xi8>
}

// -----

// A decoding step's int8 experts (llm-quantize's int8 of gathered experts:
// 2 tokens, 2 of 8 experts each, bytes gathered from an [8, 32, 64] table):
// the s8 product reads the table through the indices, no gathered copy of
// the bytes; only the small per-channel scales keep their gather.
// CHECK-LABEL: func.func @int8_experts
// CHECK-NOT: memref<8192xi8>
// CHECK: gpu.launch_func @llm_kernels::@qmatmul_{{[0-9]+}} {{.*}} args(%{{.*}} : memref<128xi8>, %{{.*}} : memref<16384xi8>, %{{.*}} : memref<4xi64>, %{{.*}} : memref<{{[0-9]+}}xf32>{{.*}}, %{{.*}} : memref<128xf32>)
// CHECK-NOT: memref<8192xi8>
// CHECK: gpu.func @qmatmul_{{[0-9]+}}(%{{.*}}: memref<128xi8>, %{{.*}}: memref<16384xi8>, %[[IDX:.*]]: memref<4xi64>
// CHECK: %[[I:.*]] = memref.load %[[IDX]][%{{.*}}] : memref<4xi64>
// CHECK: arith.index_cast %[[I]] : i64 to index
// CHECK: %[[E:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK: arith.muli %[[E]], %{{.*}} : index
func.func @int8_experts(%x: tensor<2x1x1x64xi8>, %t: tensor<8x32x64xi8>, %st: tensor<8x32x1xf32>, %a: tensor<2x1x1x1xf32>, %ids: tensor<2x2xi64>) -> tensor<2x2x1x32xf32> {
  %w = llm.gather %t, %ids {axis = 0 : i64} : (tensor<8x32x64xi8>, tensor<2x2xi64>) -> tensor<2x2x32x64xi8>
  %s = llm.gather %st, %ids {axis = 0 : i64} : (tensor<8x32x1xf32>, tensor<2x2xi64>) -> tensor<2x2x32x1xf32>
  %sr = llm.reshape %s : (tensor<2x2x32x1xf32>) -> tensor<2x2x1x32xf32>
  %scale = llm.mul %a, %sr : (tensor<2x1x1x1xf32>, tensor<2x2x1x32xf32>) -> tensor<2x2x1x32xf32>
  %acc = llm.qmatmul %x, %w {transpose_rhs = true} : (tensor<2x1x1x64xi8>, tensor<2x2x32x64xi8>) -> tensor<2x2x1x32xi32>
  %y = llm.dequantize %acc, %scale : (tensor<2x2x1x32xi32>, tensor<2x2x1x32xf32>) -> tensor<2x2x1x32xf32>
  return %y : tensor<2x2x1x32xf32>
}
