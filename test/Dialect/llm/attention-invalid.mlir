// RUN: llm-opt %s -split-input-file -verify-diagnostics

func.func @rank(%q: tensor<8x16xf32>, %k: tensor<8x16xf32>, %v: tensor<8x16xf32>) -> tensor<8x16xf32> {
  // expected-error @+2 {{'llm.attention' op expects query, key and value of one rank >= 3 ([batch..., heads, sequence, head dim]), got query [8,16], key [8,16] and value [8,16]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<8x16xf32>, tensor<8x16xf32>, tensor<8x16xf32>) -> tensor<8x16xf32>
  return %0 : tensor<8x16xf32>
}

// -----

func.func @element_type(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf16>, %v: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+2 {{'llm.attention' op expects key and value of the query's element type}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<2x8x16xf32>, tensor<2x8x16xf16>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

func.func @batch(%q: tensor<2x4x8x16xf32>, %k: tensor<3x4x8x16xf32>, %v: tensor<3x4x8x16xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+2 {{'llm.attention' op expects the batch dims of query [2,4,8,16], key [3,4,8,16] and value [3,4,8,16] to match}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<2x4x8x16xf32>, tensor<3x4x8x16xf32>, tensor<3x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %0 : tensor<2x4x8x16xf32>
}

// -----

func.func @head_dim(%q: tensor<4x8x16xf32>, %k: tensor<4x8x32xf32>, %v: tensor<4x8x16xf32>) -> tensor<4x8x16xf32> {
  // expected-error @+2 {{'llm.attention' op expects the head dim of key (32) to match query (16)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<4x8x16xf32>, tensor<4x8x32xf32>, tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  return %0 : tensor<4x8x16xf32>
}

// -----

func.func @kv_mismatch(%q: tensor<4x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x9x16xf32>) -> tensor<4x8x16xf32> {
  // expected-error @+2 {{'llm.attention' op expects the heads and sequence length of key [2,8,16] to match value [2,9,16]}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<4x8x16xf32>, tensor<2x8x16xf32>, tensor<2x9x16xf32>) -> tensor<4x8x16xf32>
  return %0 : tensor<4x8x16xf32>
}

// -----

func.func @groups(%q: tensor<6x8x16xf32>, %k: tensor<4x8x16xf32>, %v: tensor<4x8x16xf32>) -> tensor<6x8x16xf32> {
  // expected-error @+2 {{'llm.attention' op expects the query heads (6) to be a multiple of the key/value heads (4)}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<6x8x16xf32>, tensor<4x8x16xf32>, tensor<4x8x16xf32>) -> tensor<6x8x16xf32>
  return %0 : tensor<6x8x16xf32>
}

// -----

func.func @mask_element(%q: tensor<4x8x16xf32>, %k: tensor<4x8x16xf32>, %v: tensor<4x8x16xf32>, %m: tensor<8x8xi32>) -> tensor<4x8x16xf32> {
  // expected-error @+2 {{'llm.attention' op expects an i1 mask or one of the query's element type (f32), got i32}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = llm.attention %q, %k, %v, %m {scale = 1.0 : f32} : (tensor<4x8x16xf32>, tensor<4x8x16xf32>, tensor<4x8x16xf32>, tensor<8x8xi32>) -> tensor<4x8x16xf32>
  return %0 : tensor<4x8x16xf32>
}

// -----

// The mask may not grow the scores: [2,4,8,8] does not fit [4,8,8].
func.func @mask_broadcast(%q: tensor<4x8x16xf32>, %k: tensor<4x8x16xf32>, %v: tensor<4x8x16xf32>, %m: tensor<2x4x8x8xi1>) -> tensor<4x8x16xf32> {
  // expected-error @+2 {{'llm.attention' op expects mask [2,4,8,8] to broadcast to the scores [4,8,8] ([batch..., query heads, query length, key length])}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = llm.attention %q, %k, %v, %m {scale = 1.0 : f32} : (tensor<4x8x16xf32>, tensor<4x8x16xf32>, tensor<4x8x16xf32>, tensor<2x4x8x8xi1>) -> tensor<4x8x16xf32>
  return %0 : tensor<4x8x16xf32>
}

// -----

func.func @result(%q: tensor<4x8x16xf32>, %k: tensor<4x8x16xf32>, %v: tensor<4x8x32xf32>) -> tensor<4x8x16xf32> {
  // expected-error @+2 {{'llm.attention' op inferred type(s) 'tensor<4x8x32xf32>' are incompatible with return type(s) of operation 'tensor<4x8x16xf32>'}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<4x8x16xf32>, tensor<4x8x16xf32>, tensor<4x8x32xf32>) -> tensor<4x8x16xf32>
  return %0 : tensor<4x8x16xf32>
}

// -----

func.func @integer(%q: tensor<4x8x16xi32>, %k: tensor<4x8x16xi32>, %v: tensor<4x8x16xi32>) -> tensor<4x8x16xi32> {
  // expected-error @+1 {{operand #0 must be ranked tensor of floating-point values}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<4x8x16xi32>, tensor<4x8x16xi32>, tensor<4x8x16xi32>) -> tensor<4x8x16xi32>
  return %0 : tensor<4x8x16xi32>
}

// -----

func.func @no_scale(%q: tensor<4x8x16xf32>, %k: tensor<4x8x16xf32>, %v: tensor<4x8x16xf32>) -> tensor<4x8x16xf32> {
  // expected-error @+1 {{requires attribute 'scale'}}
  %0 = llm.attention %q, %k, %v : (tensor<4x8x16xf32>, tensor<4x8x16xf32>, tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  return %0 : tensor<4x8x16xf32>
}

// -----

func.func @window_without_causal(%q: tensor<4x8x16xf32>, %k: tensor<4x8x16xf32>, %v: tensor<4x8x16xf32>) -> tensor<4x8x16xf32> {
  // expected-error @+1 {{expects a window only with causal = true}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32, window = 4} : (tensor<4x8x16xf32>, tensor<4x8x16xf32>, tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  return %0 : tensor<4x8x16xf32>
}

// -----

func.func @empty_window(%q: tensor<4x8x16xf32>, %k: tensor<4x8x16xf32>, %v: tensor<4x8x16xf32>) -> tensor<4x8x16xf32> {
  // expected-error @+1 {{attribute 'window' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %0 = llm.attention %q, %k, %v {causal = true, scale = 1.0 : f32, window = 0} : (tensor<4x8x16xf32>, tensor<4x8x16xf32>, tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  return %0 : tensor<4x8x16xf32>
}

// -----

func.func @zero_softcap(%q: tensor<4x8x16xf32>, %k: tensor<4x8x16xf32>, %v: tensor<4x8x16xf32>) -> tensor<4x8x16xf32> {
  // expected-error @+1 {{expects a finite softcap > 0}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32, softcap = 0.0 : f32} : (tensor<4x8x16xf32>, tensor<4x8x16xf32>, tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  return %0 : tensor<4x8x16xf32>
}

// -----

func.func @negative_softcap(%q: tensor<4x8x16xf32>, %k: tensor<4x8x16xf32>, %v: tensor<4x8x16xf32>) -> tensor<4x8x16xf32> {
  // expected-error @+1 {{expects a finite softcap > 0}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32, softcap = -30.0 : f32} : (tensor<4x8x16xf32>, tensor<4x8x16xf32>, tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  return %0 : tensor<4x8x16xf32>
}

// -----

func.func @sink_per_kv_head(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %s: tensor<2xf32>) -> tensor<1x4x8x16xf32> {
  // expected-error @+1 {{expects a sink [4] of the query's element type (one logit per query head)}}
  %0 = llm.attention %q, %k, %v sink(%s) {scale = 1.0 : f32} : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<2xf32>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

func.func @weights_zero_point_without_scale(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+1 {{'llm.attention' op expects weights_zero_point, weights_unsigned and weights_e4m3 only with a weights_scale}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32, weights_zero_point = 3 : i64} : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

func.func @weights_scale_negative(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+1 {{'llm.attention' op expects a finite weights_scale > 0}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32, weights_scale = -0.5 : f32} : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

func.func @weights_e4m3_zero_point(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+1 {{'llm.attention' op expects e4m3 weights with no zero point, not unsigned}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32, weights_scale = 0.5 : f32, weights_e4m3, weights_zero_point = 1 : i64} : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %0 : tensor<2x8x16xf32>
}

// -----

func.func @weights_zero_point_range(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>, %v: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  // expected-error @+1 {{'llm.attention' op expects a weights_zero_point in [0, 255]}}
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32, weights_scale = 0.5 : f32, weights_unsigned, weights_zero_point = 300 : i64} : (tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %0 : tensor<2x8x16xf32>
}
