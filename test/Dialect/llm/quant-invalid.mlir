// RUN: llm-opt %s -split-input-file -verify-diagnostics

func.func @scale_shape(%x: tensor<2x3xf32>, %s: tensor<2xf32>) -> tensor<2x3xi8> {
  // expected-error @+1 {{expects scale [2] to broadcast to the input [2,3]}}
  %q = llm.quantize %x, %s : (tensor<2x3xf32>, tensor<2xf32>) -> tensor<2x3xi8>
  return %q : tensor<2x3xi8>
}

// -----

func.func @result_shape(%x: tensor<2x3xf32>, %s: tensor<f32>) -> tensor<3x2xi8> {
  // expected-error @+1 {{expects the result shape [3,2] to be the input shape [2,3]}}
  %q = llm.quantize %x, %s : (tensor<2x3xf32>, tensor<f32>) -> tensor<3x2xi8>
  return %q : tensor<3x2xi8>
}

// -----

func.func @packed_shape(%p: tensor<3x4xi8>, %s: tensor<3x1xf32>) -> tensor<3x10xf32> {
  // expected-error @+1 {{expects an input of shape [3,5] for the result [3,10] (two 4-bit values per byte), got [3,4]}}
  %d = llm.dequantize %p, %s {bits = 4 : i64} : (tensor<3x4xi8>, tensor<3x1xf32>) -> tensor<3x10xf32>
  return %d : tensor<3x10xf32>
}

// -----

func.func @bits(%p: tensor<3x4xi8>, %s: tensor<3x1xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{expects bits 8 or 4, got 2}}
  %d = llm.dequantize %p, %s {bits = 2 : i64} : (tensor<3x4xi8>, tensor<3x1xf32>) -> tensor<3x4xf32>
  return %d : tensor<3x4xf32>
}

// -----

func.func @blocks(%p: tensor<3x8xi8>, %s: tensor<3x3xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{expects scale [3,3] to broadcast to the result in blocks [3,2]}}
  %d = llm.dequantize %p, %s {block_size = 4 : i64} : (tensor<3x8xi8>, tensor<3x3xf32>) -> tensor<3x8xf32>
  return %d : tensor<3x8xf32>
}

// -----

func.func @unsigned_accumulator(%a: tensor<3x8xi32>, %s: tensor<f32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{expects an i32 input to be signed and unpacked (bits 8)}}
  %d = llm.dequantize %a, %s {is_unsigned} : (tensor<3x8xi32>, tensor<f32>) -> tensor<3x8xf32>
  return %d : tensor<3x8xf32>
}

// -----

func.func @contraction(%a: tensor<2x3xi8>, %b: tensor<4x5xi8>) -> tensor<2x5xi32> {
  // expected-error @+2 {{expects the contraction dim of lhs (3) to match rhs (4)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = llm.qmatmul %a, %b : (tensor<2x3xi8>, tensor<4x5xi8>) -> tensor<2x5xi32>
  return %y : tensor<2x5xi32>
}

// -----

func.func @zero_point(%a: tensor<2x3xi8>, %b: tensor<3x5xi8>, %z: tensor<4xi8>) -> tensor<2x5xi32> {
  // expected-error @+1 {{expects rhs_zero_point [4] to broadcast to the rhs [3,5]}}
  %y = llm.qmatmul %a, %b rhs_zero_point %z : (tensor<2x3xi8>, tensor<3x5xi8>, tensor<4xi8>) -> tensor<2x5xi32>
  return %y : tensor<2x5xi32>
}

// -----

func.func @e4m3_zero_point(%x: tensor<2x3xf32>, %s: tensor<f32>, %z: tensor<i8>) -> tensor<2x3xi8> {
  // expected-error @+1 {{expects no zero_point, no is_unsigned and an i8 result with e4m3}}
  %q = llm.quantize %x, %s, %z {e4m3} : (tensor<2x3xf32>, tensor<f32>, tensor<i8>) -> tensor<2x3xi8>
  return %q : tensor<2x3xi8>
}

// -----

func.func @e4m3_unsigned(%x: tensor<2x3xf32>, %s: tensor<f32>) -> tensor<2x3xi8> {
  // expected-error @+1 {{expects no zero_point, no is_unsigned and an i8 result with e4m3}}
  %q = llm.quantize %x, %s {e4m3, is_unsigned} : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xi8>
  return %q : tensor<2x3xi8>
}

// -----

func.func @e4m3_product_zero_point(%a: tensor<2x8xi8>, %b: tensor<8x4xi8>, %z: tensor<i8>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects no zero points and no unsigned operands with e4m3}}
  %y = llm.qmatmul %a, %b lhs_zero_point %z {e4m3} : (tensor<2x8xi8>, tensor<8x4xi8>, tensor<i8>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @e4m3_product_type(%a: tensor<2x8xi8>, %b: tensor<8x4xi8>) -> tensor<2x4xi32> {
  // expected-error @+2 {{'llm.qmatmul' op inferred type(s) 'tensor<2x4xf32>' are incompatible with return type(s) of operation 'tensor<2x4xi32>'}}
  // expected-error @+1 {{'llm.qmatmul' op failed to infer returned types}}
  %y = llm.qmatmul %a, %b {e4m3} : (tensor<2x8xi8>, tensor<8x4xi8>) -> tensor<2x4xi32>
  return %y : tensor<2x4xi32>
}

// -----

func.func @accumulator_packed(%acc: tensor<2x4xf32>, %s: tensor<f32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects an f32 input (an e4m3 accumulator) without zero_point, is_unsigned, bits 4 or block_size}}
  %y = llm.dequantize %acc, %s {bits = 4 : i64} : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @e4m3_zero_point(%q: tensor<2x4xi8>, %s: tensor<f32>, %z: tensor<i8>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects e4m3 bits in an i8 input without zero_point, is_unsigned, bits 4 or block_size}}
  %y = llm.dequantize %q, %s, %z {e4m3} : (tensor<2x4xi8>, tensor<f32>, tensor<i8>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @e4m3_i32(%q: tensor<2x4xi32>, %s: tensor<f32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects e4m3 bits in an i8 input without zero_point, is_unsigned, bits 4 or block_size}}
  %y = llm.dequantize %q, %s {e4m3} : (tensor<2x4xi32>, tensor<f32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

func.func @quantize_zero_type(%x: tensor<2x3xf32>, %s: tensor<f32>, %z: tensor<i8>) -> tensor<2x3xi16> {
  // expected-error @+1 {{expects the zero_point's element type to be 'i16'}}
  %q = llm.quantize %x, %s, %z : (tensor<2x3xf32>, tensor<f32>, tensor<i8>) -> tensor<2x3xi16>
  return %q : tensor<2x3xi16>
}

// -----

func.func @e4m3_i16(%x: tensor<2x3xf32>, %s: tensor<f32>) -> tensor<2x3xi16> {
  // expected-error @+1 {{expects no zero_point, no is_unsigned and an i8 result with e4m3}}
  %q = llm.quantize %x, %s {e4m3} : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xi16>
  return %q : tensor<2x3xi16>
}

// -----

func.func @packed_i16(%p: tensor<3x4xi16>, %s: tensor<3x1xf32>) -> tensor<3x8xf32> {
  // expected-error @+1 {{expects an i16 input unpacked (bits 8) and without block_size}}
  %d = llm.dequantize %p, %s {bits = 4 : i64} : (tensor<3x4xi16>, tensor<3x1xf32>) -> tensor<3x8xf32>
  return %d : tensor<3x8xf32>
}
