// RUN: llm-opt %s -split-input-file -verify-diagnostics

func.func @broadcast_mismatch(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'llm.add' op cannot broadcast lhs shape [2,3] with rhs shape [4]}}
  %0 = llm.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<2x3xf32>
}

// -----

func.func @element_type_mismatch(%a: tensor<2xf32>, %b: tensor<2xi64>) -> tensor<2xf32> {
  // expected-error @+1 {{requires the same element type for all operands}}
  %0 = llm.mul %a, %b : (tensor<2xf32>, tensor<2xi64>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @wrong_result(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'llm.sub' op inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<2x4xf32>'}}
  %0 = llm.sub %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x4xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<2x4xf32>
}

// -----

func.func @matmul_k(%a: tensor<4x8xf32>, %b: tensor<7x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{expects the contraction dim of lhs (8) to match rhs (7)}}
  %0 = llm.matmul %a, %b : (tensor<4x8xf32>, tensor<7x16xf32>) -> tensor<4x16xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<4x16xf32>
}

// -----

func.func @matmul_rank(%a: tensor<8xf32>, %b: tensor<8x16xf32>) -> tensor<16xf32> {
  // expected-error @+1 {{expects operands of rank >= 2, got lhs rank 1 and rhs rank 2}}
  %0 = llm.matmul %a, %b : (tensor<8xf32>, tensor<8x16xf32>) -> tensor<16xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<16xf32>
}

// -----

func.func @matmul_batch(%a: tensor<3x4x8xf32>, %b: tensor<2x8x16xf32>) -> tensor<3x4x16xf32> {
  // expected-error @+1 {{cannot broadcast batch dims of lhs [3,4,8] and rhs [2,8,16]}}
  %0 = llm.matmul %a, %b : (tensor<3x4x8xf32>, tensor<2x8x16xf32>) -> tensor<3x4x16xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<3x4x16xf32>
}

// -----

func.func @gemm_bias(%a: tensor<4x8xf32>, %b: tensor<8x16xf32>, %c: tensor<5xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{expects c [5] to broadcast to the product [4,16]}}
  %0 = llm.gemm %a, %b, %c : (tensor<4x8xf32>, tensor<8x16xf32>, tensor<5xf32>) -> tensor<4x16xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<4x16xf32>
}

// -----

func.func @softmax_axis(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{expects axis in [0, 2), got 2}}
  %0 = llm.softmax %a {axis = 2 : i64} : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @layer_norm_scale(%x: tensor<2x8x16xf32>, %g: tensor<8xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+1 {{expects scale [8] to broadcast to the normalized dims [16]}}
  %0 = llm.layer_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x8x16xf32>, tensor<8xf32>) -> tensor<2x8x16xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

func.func @reshape_count(%x: tensor<2x8xf32>) -> tensor<3x5xf32> {
  // expected-error @+1 {{cannot reshape [2,8] (16 elements) to [3,5] (15 elements)}}
  %0 = llm.reshape %x : (tensor<2x8xf32>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

func.func @expand_bad(%x: tensor<3x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{cannot broadcast [3,8] to [4,8]}}
  %0 = llm.expand %x : (tensor<3x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @transpose_perm(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{expects a permutation of [0, 2), got [1,1]}}
  %0 = llm.transpose %x {permutation = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<3x2xf32>
}

// -----

func.func @concat_dims(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<6x3xf32> {
  // expected-error @+1 {{expects input 1 [4,5] to match input 0 [2,3] in every dim but 0}}
  %0 = llm.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<6x3xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<6x3xf32>
}

// -----

func.func @slice_bounds(%x: tensor<4xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{has bounds out of range in dim 0: start 3, end 6, step 1, size 4}}
  %0 = llm.slice %x {starts = array<i64: 3>, ends = array<i64: 6>, steps = array<i64: 1>} : (tensor<4xf32>) -> tensor<2xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<2xf32>
}

// -----

func.func @split_sizes(%x: tensor<8xf32>) -> (tensor<3xf32>, tensor<4xf32>) {
  // expected-error @+1 {{expects sizes [3,4] to add up to dim 0 (8)}}
  %0:2 = llm.split %x {axis = 0 : i64, sizes = array<i64: 3, 4>} : (tensor<8xf32>) -> (tensor<3xf32>, tensor<4xf32>)
  // expected-error @-1 {{failed to infer returned types}}
  return %0#0, %0#1 : tensor<3xf32>, tensor<4xf32>
}

// -----

func.func @gather_axis(%x: tensor<8x4xf32>, %i: tensor<2xi64>) -> tensor<2x4xf32> {
  // expected-error @+1 {{expects axis in [0, 2), got 2}}
  %0 = llm.gather %x, %i {axis = 2 : i64} : (tensor<8x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<2x4xf32>
}

// -----

func.func @reduce_axes(%x: tensor<8x4xf32>) -> tensor<8x1xf32> {
  // expected-error @+1 {{expects unique axes, got 1 twice}}
  %0 = llm.reduce_sum %x {axes = array<i64: 1, 1>} : (tensor<8x4xf32>) -> tensor<8x1xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<8x1xf32>
}

// -----

func.func @cast_shape(%x: tensor<8x4xf32>) -> tensor<4x8xi32> {
  // expected-error @+1 {{expects the result shape [4,8] to equal the input shape [8,4]}}
  %0 = llm.cast %x : (tensor<8x4xf32>) -> tensor<4x8xi32>
  return %0 : tensor<4x8xi32>
}

// -----

func.func @where_types(%c: tensor<4xi1>, %a: tensor<4xf32>, %b: tensor<4xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{expects true and false values of one element type}}
  %0 = llm.where %c, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<4xi64>) -> tensor<4xf32>
  // expected-error @-1 {{failed to infer returned types}}
  return %0 : tensor<4xf32>
}

// -----

func.func @trilu_rank(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expects rank >= 2, got 1}}
  %0 = llm.trilu %x {upper = true} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @exp_int(%x: tensor<4xi64>) -> tensor<4xi64> {
  // expected-error @+1 {{must be ranked tensor of floating-point values}}
  %0 = llm.exp %x : tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

// and, or, xor and not are logical on i1 and bitwise on wider integers; not
// defined on floats.
func.func @and_float(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{must be ranked tensor of signless integer values}}
  %0 = llm.and %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
