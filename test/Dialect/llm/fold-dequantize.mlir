// RUN: llm-opt %s -split-input-file --canonicalize --verify-each | FileCheck %s

// Weights stored as integers and dequantized by float arithmetic,
// `(w.float() - zero) * scale`, become one llm.dequantize: the Cast's
// integers, the zero point as integers of the weight's type, the scale.
// (Weights arrive as arguments, as llm-outline-weights leaves them; for
// small constants, see @small_constant_weight below.)
// CHECK-LABEL: func @signed_cast_sub_mul
// CHECK-SAME: (%[[W:.*]]: tensor<2x3xi8>)
// CHECK-DAG: %[[Z:.*]] = llm.constant dense<{{\[\[}}-3], [5]]> : tensor<2x1xi8>
// CHECK-DAG: %[[S:.*]] = llm.constant dense<{{.*}}> : tensor<1x3xf32>
// CHECK: %[[D:.*]] = llm.dequantize %[[W]], %[[S]], %[[Z]] : (tensor<2x3xi8>, tensor<1x3xf32>, tensor<2x1xi8>) -> tensor<2x3xf32>
// CHECK-NEXT: return %[[D]]
func.func @signed_cast_sub_mul(%w: tensor<2x3xi8>) -> tensor<2x3xf32> {
  %z = llm.constant dense<[[-3.0], [5.0]]> : tensor<2x1xf32>
  %s = llm.constant dense<[[0.5, 0.25, 0.125]]> : tensor<1x3xf32>
  %f = llm.cast %w : (tensor<2x3xi8>) -> tensor<2x3xf32>
  %c = llm.sub %f, %z : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  %r = llm.mul %s, %c : (tensor<1x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// -----

// A uint8 Cast (a dequantize by 1, is_unsigned): the zero point 128 is the
// byte 0x80, read unsigned.
// CHECK-LABEL: func @unsigned_dequantize_sub_mul
// CHECK-SAME: (%[[W:.*]]: tensor<4x2xi8>)
// CHECK-DAG: %[[S:.*]] = llm.constant dense<{{.*}}> : tensor<4x1xf32>
// CHECK-DAG: %[[Z:.*]] = llm.constant dense<-128> : tensor<i8>
// CHECK: %[[D:.*]] = llm.dequantize %[[W]], %[[S]], %[[Z]] {is_unsigned}
// CHECK-NEXT: return %[[D]]
func.func @unsigned_dequantize_sub_mul(%w: tensor<4x2xi8>) -> tensor<4x2xf32> {
  %one = llm.constant dense<1.0> : tensor<f32>
  %z = llm.constant dense<128.0> : tensor<f32>
  %f = llm.dequantize %w, %one {is_unsigned} : (tensor<4x2xi8>, tensor<f32>) -> tensor<4x2xf32>
  %c = llm.sub %f, %z : (tensor<4x2xf32>, tensor<f32>) -> tensor<4x2xf32>
  %s2 = llm.constant dense<[[0.5], [1.5], [2.0], [4.0]]> : tensor<4x1xf32>
  %r = llm.mul %c, %s2 : (tensor<4x2xf32>, tensor<4x1xf32>) -> tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}

// -----

// The scale alone (no zero point), from a 16-bit Cast.
// CHECK-LABEL: func @int16_cast_mul
// CHECK: llm.dequantize %arg0, %{{.*}} : (tensor<8xi16>, tensor<f32>) -> tensor<8xf32>
// CHECK-NOT: llm.mul
func.func @int16_cast_mul(%w: tensor<8xi16>) -> tensor<8xf32> {
  %s = llm.constant dense<0.01> : tensor<f32>
  %f = llm.cast %w : (tensor<8xi16>) -> tensor<8xf32>
  %r = llm.mul %f, %s : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

// What does not fold: a zero point that is not an integer, or that the
// weight's type does not hold (300 in int8; -1 unsigned); a scale that is
// not constant; a product that broadcasts the result; a dequantize whose
// own scale is not 1 (its products round); a cast with a second use.
// CHECK-LABEL: func @not_folded
// CHECK-NOT: llm.dequantize %arg0, %{{[^ ]*}}, %
// CHECK: llm.sub
// CHECK: llm.sub
// CHECK: llm.sub
// CHECK: llm.mul
// CHECK: llm.mul
// CHECK: llm.sub
// CHECK: llm.mul
// CHECK: return
func.func @not_folded(%w: tensor<4xi8>, %x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %half = llm.constant dense<0.5> : tensor<f32>
  %big = llm.constant dense<300.0> : tensor<f32>
  %minus = llm.constant dense<-1.0> : tensor<f32>
  %one = llm.constant dense<1.0> : tensor<f32>
  %rows = llm.constant dense<[[1.0], [2.0]]> : tensor<2x1xf32>
  %f1 = llm.cast %w : (tensor<4xi8>) -> tensor<4xf32>
  %r1 = llm.sub %f1, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %f2 = llm.cast %w : (tensor<4xi8>) -> tensor<4xf32>
  %r2 = llm.sub %f2, %big : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %u = llm.dequantize %w, %one {is_unsigned} : (tensor<4xi8>, tensor<f32>) -> tensor<4xf32>
  %r3 = llm.sub %u, %minus : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %f4 = llm.cast %w : (tensor<4xi8>) -> tensor<4xf32>
  %r4 = llm.mul %f4, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %f5 = llm.cast %w : (tensor<4xi8>) -> tensor<4xf32>
  %r5 = llm.mul %f5, %rows : (tensor<4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %d = llm.dequantize %w, %half : (tensor<4xi8>, tensor<f32>) -> tensor<4xf32>
  %r6 = llm.sub %d, %one : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %f7 = llm.cast %w : (tensor<4xi8>) -> tensor<4xf32>
  %r7 = llm.mul %f7, %half : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %r1, %r2, %r3, %r4, %r5, %r6, %r7, %f7 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// A small constant weight (under 2^16 elements, which the folders copy):
// its Cast to f32 is left for the Sub to fold into the dequantize instead
// of becoming an f32 constant that the Sub and Mul compute on at run time.
// A Cast of 8-bit constants with another user (an Add) folds as before.
// CHECK-LABEL: func @small_constant_weight
// CHECK-DAG: %[[W:.*]] = llm.constant dense<[1, -2, 3, 127]> : tensor<4xi8>
// CHECK-DAG: %[[F:.*]] = llm.constant dense<[1.000000e+00, -2.000000e+00, 3.000000e+00, 1.270000e+02]> : tensor<4xf32>
// CHECK-DAG: %[[Z:.*]] = llm.constant dense<2> : tensor<i8>
// CHECK-DAG: %[[S:.*]] = llm.constant dense<5.000000e-01> : tensor<f32>
// CHECK: %[[D:.*]] = llm.dequantize %[[W]], %[[S]], %[[Z]] : (tensor<4xi8>, tensor<f32>, tensor<i8>) -> tensor<4xf32>
// CHECK: %[[A:.*]] = llm.add %arg0, %[[F]]
// CHECK: return %[[D]], %[[A]]
func.func @small_constant_weight(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %w = llm.constant dense<[1, -2, 3, 127]> : tensor<4xi8>
  %z = llm.constant dense<2.0> : tensor<f32>
  %s = llm.constant dense<0.5> : tensor<f32>
  %f = llm.cast %w : (tensor<4xi8>) -> tensor<4xf32>
  %c = llm.sub %f, %z : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %r = llm.mul %c, %s : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %g = llm.cast %w : (tensor<4xi8>) -> tensor<4xf32>
  %a = llm.add %x, %g : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %r, %a : tensor<4xf32>, tensor<4xf32>
}
