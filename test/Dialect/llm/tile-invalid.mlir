// Bad overrides are errors, overrides an op cannot use warnings; never
// crashes.
// RUN: llm-opt %s -split-input-file -verify-diagnostics --llm-tile="target=npu matmul-tile-sizes=100,64,64 attention-tile-sizes=16,16"

func.func @not_dividing(%x: tensor<512x768xf32>, %w: tensor<768x256xf32>) -> tensor<512x256xf32> {
  // expected-error @below {{matmul-tile-sizes: the M tile 100 does not divide 512; tiles must divide their dims}}
  %0 = llm.matmul %x, %w : (tensor<512x768xf32>, tensor<768x256xf32>) -> tensor<512x256xf32>
  return %0 : tensor<512x256xf32>
}

// -----

func.func @causal_float_mask(%q: tensor<1x4x64x16xf32>, %k: tensor<1x4x64x16xf32>, %v: tensor<1x4x64x16xf32>, %m: tensor<1x1x64x64xf32>) -> tensor<1x4x64x16xf32> {
  // expected-warning @below {{attention-tile-sizes: causal attention with a float mask keeps its 64 query rows whole; the row tile 16 is not used here}}
  %0 = llm.attention %q, %k, %v, %m {scale = 0.25 : f32, causal = true} : (tensor<1x4x64x16xf32>, tensor<1x4x64x16xf32>, tensor<1x4x64x16xf32>, tensor<1x1x64x64xf32>) -> tensor<1x4x64x16xf32>
  return %0 : tensor<1x4x64x16xf32>
}

// -----

// The override's K (64) is recorded; the key block here (16) divides 48.
func.func @fine(%q: tensor<1x4x64x16xf32>, %k: tensor<1x4x48x16xf32>, %v: tensor<1x4x48x16xf32>) -> tensor<1x4x64x16xf32> {
  %0 = llm.attention %q, %k, %v {scale = 0.25 : f32} : (tensor<1x4x64x16xf32>, tensor<1x4x48x16xf32>, tensor<1x4x48x16xf32>) -> tensor<1x4x64x16xf32>
  return %0 : tensor<1x4x64x16xf32>
}

// -----

func.func @key_block(%q: tensor<1x4x64x16xf32>, %k: tensor<1x4x40x16xf32>, %v: tensor<1x4x40x16xf32>) -> tensor<1x4x64x16xf32> {
  // expected-error @below {{attention-tile-sizes: the key-block tile 16 does not divide 40}}
  %0 = llm.attention %q, %k, %v {scale = 0.25 : f32} : (tensor<1x4x64x16xf32>, tensor<1x4x40x16xf32>, tensor<1x4x40x16xf32>) -> tensor<1x4x64x16xf32>
  return %0 : tensor<1x4x64x16xf32>
}
