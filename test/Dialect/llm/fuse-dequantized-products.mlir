// RUN: llm-opt %s -split-input-file --llm-fuse-dequantized-products --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-fuse-dequantized-products=remarks=true -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --check-prefix=REMARK
// RUN: llm-opt %s -split-input-file --llm-fuse-dequantized-products=fp8=false --verify-each \
// RUN:   | FileCheck %s --check-prefix=NOFP8

// ONNX Runtime's static QDQ linear layer: uint8 activations with a zero
// point (QuantizeLinear, DequantizeLinear), int8 weights per column (their
// zero points 0, dropped): the product of the two dequantized tensors is the
// integer product of their bytes, dequantized once by sa * sb (the greedy
// driver's folding puts the constant factor second; f32 multiplication
// commutes exactly).
// The activations' DequantizeLinear stays for its other user.
// CHECK-LABEL: func @qdq_linear
// NOFP8-LABEL: func @qdq_linear
// NOFP8: llm.qmatmul
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x64xf32>, %[[W:.*]]: tensor<64x32xi8>, %[[SW:.*]]: tensor<32xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK: %[[Q:.*]] = llm.quantize %[[X]], %[[SA:.*]], %[[ZA:.*]] {is_unsigned}
// CHECK: %[[D:.*]] = llm.dequantize %[[Q]], %[[SA]], %[[ZA]] {is_unsigned}
// CHECK: %[[ACC:.*]] = llm.qmatmul %[[Q]], %[[W]] lhs_zero_point %[[ZA]] {lhs_unsigned} : (tensor<2x8x64xi8>, tensor<64x32xi8>, tensor<i8>) -> tensor<2x8x32xi32>
// CHECK: %[[S:.*]] = llm.mul %[[SW]], %[[SA]] : (tensor<32xf32>, tensor<f32>) -> tensor<32xf32>
// CHECK: %[[Y:.*]] = llm.dequantize %[[ACC]], %[[S]] : (tensor<2x8x32xi32>, tensor<32xf32>) -> tensor<2x8x32xf32>
// CHECK: %[[O:.*]] = llm.add %[[Y]], %[[B]]
// CHECK-NOT: llm.matmul
// CHECK: return %[[O]], %[[D]]
func.func @qdq_linear(%x: tensor<2x8x64xf32>, %w: tensor<64x32xi8>, %sw: tensor<32xf32>, %b: tensor<32xf32>) -> (tensor<2x8x32xf32>, tensor<2x8x64xf32>) {
  %sa = llm.constant dense<0.05> : tensor<f32>
  %za = llm.constant dense<-128> : tensor<i8>
  %q = llm.quantize %x, %sa, %za {is_unsigned} : (tensor<2x8x64xf32>, tensor<f32>, tensor<i8>) -> tensor<2x8x64xi8>
  %a = llm.dequantize %q, %sa, %za {is_unsigned} : (tensor<2x8x64xi8>, tensor<f32>, tensor<i8>) -> tensor<2x8x64xf32>
  %zw = llm.constant dense<0> : tensor<32xi8>
  %wd = llm.dequantize %w, %sw, %zw : (tensor<64x32xi8>, tensor<32xf32>, tensor<32xi8>) -> tensor<64x32xf32>
  %y = llm.matmul %a, %wd : (tensor<2x8x64xf32>, tensor<64x32xf32>) -> tensor<2x8x32xf32>
  %o = llm.add %y, %b : (tensor<2x8x32xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  return %o, %a : tensor<2x8x32xf32>, tensor<2x8x64xf32>
}

// -----

// Gemm with transB and a weight [N, K] per row of it (axis 0): the
// per-column scale and zero point [N, 1] are read transposed; C is added
// after. Both operands' products of two activations (Q·Kᵀ of a QDQ
// attention) fuse the same way.
// CHECK-LABEL: func @gemm_transposed
// CHECK: %[[ACC:.*]] = llm.qmatmul %{{.*}}, %{{.*}} lhs_zero_point %{{.*}} rhs_zero_point %{{.*}} {lhs_unsigned, transpose_rhs = true} : (tensor<4x16xi8>, tensor<8x16xi8>, tensor<i8>, tensor<8x1xi8>) -> tensor<4x8xi32>
// CHECK: %[[ROW:.*]] = llm.reshape %{{.*}} : (tensor<8x1xf32>) -> tensor<1x8xf32>
// CHECK: %[[S:.*]] = llm.mul %[[ROW]], %{{.*}} : (tensor<1x8xf32>, tensor<f32>) -> tensor<1x8xf32>
// CHECK: %[[Y:.*]] = llm.dequantize %[[ACC]], %[[S]]
// CHECK: llm.add %[[Y]], %{{.*}} : (tensor<4x8xf32>, tensor<8xf32>)
// CHECK: llm.qmatmul %{{.*}}, %{{.*}} lhs_zero_point %{{.*}} rhs_zero_point %{{.*}} {lhs_unsigned, rhs_unsigned} : (tensor<2x4x16xi8>, tensor<2x16x4xi8>, tensor<i8>, tensor<i8>) -> tensor<2x4x4xi32>
// CHECK-NOT: llm.gemm
// CHECK-NOT: llm.matmul
func.func @gemm_transposed(%qa: tensor<4x16xi8>, %qb: tensor<8x16xi8>, %sb: tensor<8x1xf32>, %zb: tensor<8x1xi8>, %c: tensor<8xf32>, %qq: tensor<2x4x16xi8>, %qk: tensor<2x16x4xi8>) -> (tensor<4x8xf32>, tensor<2x4x4xf32>) {
  %sa = llm.constant dense<0.1> : tensor<f32>
  %za = llm.constant dense<3> : tensor<i8>
  %a = llm.dequantize %qa, %sa, %za {is_unsigned} : (tensor<4x16xi8>, tensor<f32>, tensor<i8>) -> tensor<4x16xf32>
  %b = llm.dequantize %qb, %sb, %zb : (tensor<8x16xi8>, tensor<8x1xf32>, tensor<8x1xi8>) -> tensor<8x16xf32>
  %y = llm.gemm %a, %b, %c {transpose_b = true} : (tensor<4x16xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %q = llm.dequantize %qq, %sa, %za {is_unsigned} : (tensor<2x4x16xi8>, tensor<f32>, tensor<i8>) -> tensor<2x4x16xf32>
  %k = llm.dequantize %qk, %sa, %za {is_unsigned} : (tensor<2x16x4xi8>, tensor<f32>, tensor<i8>) -> tensor<2x16x4xf32>
  %s = llm.matmul %q, %k : (tensor<2x4x16xf32>, tensor<2x16x4xf32>) -> tensor<2x4x4xf32>
  return %y, %s : tensor<4x8xf32>, tensor<2x4x4xf32>
}

// -----

// Left alone: a scale that varies along k (per row of the weight [K, N],
// axis 0), a blocked (4-bit) weight, a float lhs, a matmul that already has
// an epilogue, a transposed lhs, and a Gemm with alpha.
// CHECK-LABEL: func @left_alone
// CHECK-NOT: llm.qmatmul
// CHECK-COUNT-5: llm.matmul
// CHECK: llm.gemm
// CHECK-NOT: llm.qmatmul
func.func @left_alone(%qa: tensor<4x16xi8>, %x: tensor<4x16xf32>, %qw: tensor<16x8xi8>, %sk: tensor<16x1xf32>, %s: tensor<f32>, %q4: tensor<8x8xi8>, %s4: tensor<8x1xf32>, %qt: tensor<16x4xi8>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %a = llm.dequantize %qa, %s : (tensor<4x16xi8>, tensor<f32>) -> tensor<4x16xf32>
  %wk = llm.dequantize %qw, %sk : (tensor<16x8xi8>, tensor<16x1xf32>) -> tensor<16x8xf32>
  %0 = llm.matmul %a, %wk : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %w4 = llm.dequantize %q4, %s4 {bits = 4 : i64, block_size = 16 : i64} : (tensor<8x8xi8>, tensor<8x1xf32>) -> tensor<8x16xf32>
  %1 = llm.matmul %a, %w4 {transpose_rhs = true} : (tensor<4x16xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
  %w = llm.dequantize %qw, %s : (tensor<16x8xi8>, tensor<f32>) -> tensor<16x8xf32>
  %2 = llm.matmul %x, %w : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %3 = llm.matmul %a, %w {activation = #llm.activation<relu>} : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %at = llm.dequantize %qt, %s : (tensor<16x4xi8>, tensor<f32>) -> tensor<16x4xf32>
  %4 = llm.matmul %at, %w {transpose_lhs = true} : (tensor<16x4xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  %5 = llm.gemm %a, %w {alpha = 2.0 : f32} : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// FP8 QDQ (FLOAT8E4M3FN QuantizeLinear / DequantizeLinear): two E4M3
// operands make an e4m3 product with an f32 accumulator, scaled once by
// sa * sb; an E4M3 operand with an int8 one stays a float product.
// CHECK-LABEL: func @e4m3
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x64xf32>, %[[W:.*]]: tensor<64x32xi8>, %[[SW:.*]]: tensor<32xf32>, %[[Q8:.*]]: tensor<64x32xi8>)
// CHECK: %[[Q:.*]] = llm.quantize %[[X]], %[[SA:.*]] {e4m3}
// CHECK: %[[A:.*]] = llm.dequantize %[[Q]], %[[SA]] {e4m3}
// CHECK: %[[ACC:.*]] = llm.qmatmul %[[Q]], %[[W]] {e4m3} : (tensor<2x8x64xi8>, tensor<64x32xi8>) -> tensor<2x8x32xf32>
// CHECK: %[[S:.*]] = llm.mul %[[SW]], %[[SA]] : (tensor<32xf32>, tensor<f32>) -> tensor<32xf32>
// CHECK: %[[Y:.*]] = llm.dequantize %[[ACC]], %[[S]] : (tensor<2x8x32xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
// CHECK: %[[I8:.*]] = llm.dequantize %[[Q8]], %[[SW]] : (tensor<64x32xi8>, tensor<32xf32>)
// CHECK: %[[M:.*]] = llm.matmul %[[A]], %[[I8]]
// CHECK: return %[[Y]], %[[M]]
// With fp8=false both stay float products (int8 quantization requantizes
// the weight), while integer products still fuse (@qdq_linear).
// NOFP8-LABEL: func @e4m3
// NOFP8-NOT: llm.qmatmul
// NOFP8-COUNT-2: llm.matmul
// NOFP8-NOT: llm.qmatmul
func.func @e4m3(%x: tensor<2x8x64xf32>, %w: tensor<64x32xi8>, %sw: tensor<32xf32>, %q8: tensor<64x32xi8>) -> (tensor<2x8x32xf32>, tensor<2x8x32xf32>) {
  %sa = llm.constant dense<0.01> : tensor<f32>
  %q = llm.quantize %x, %sa {e4m3} : (tensor<2x8x64xf32>, tensor<f32>) -> tensor<2x8x64xi8>
  %a = llm.dequantize %q, %sa {e4m3} : (tensor<2x8x64xi8>, tensor<f32>) -> tensor<2x8x64xf32>
  %wd = llm.dequantize %w, %sw {e4m3} : (tensor<64x32xi8>, tensor<32xf32>) -> tensor<64x32xf32>
  %y = llm.matmul %a, %wd : (tensor<2x8x64xf32>, tensor<64x32xf32>) -> tensor<2x8x32xf32>
  %i8 = llm.dequantize %q8, %sw : (tensor<64x32xi8>, tensor<32xf32>) -> tensor<64x32xf32>
  %m = llm.matmul %a, %i8 : (tensor<2x8x64xf32>, tensor<64x32xf32>) -> tensor<2x8x32xf32>
  return %y, %m : tensor<2x8x32xf32>, tensor<2x8x32xf32>
}

// REMARK: remark: llm-fuse-dequantized-products: integer-products 1
// REMARK: remark: llm-fuse-dequantized-products: integer-products 2
// REMARK: remark: llm-fuse-dequantized-products: integer-products 0
// REMARK: remark: llm-fuse-dequantized-products: integer-products 1
