// REQUIRES: mlir-runner
// RUN: llm-opt %s --convert-llm-to-linalg \
// RUN: | %mlir_opt --pass-pipeline="builtin.module(one-shot-bufferize{bufferize-function-boundaries},func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,convert-math-to-funcs,convert-math-to-llvm,convert-math-to-libm,finalize-memref-to-llvm,convert-scf-to-cf,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)" \
// RUN: | %mlir_runner -e main -entry-point-result=void -shared-libs=%runner_utils_libs \
// RUN: | FileCheck %s

// Numbers of llm.attention on the host: against the unfused chain it stands
// for (kv heads repeated by expand + reshape, matmul, scale, mask, softmax,
// matmul), which it must match bit for bit, and against numpy (float64 on
// the same inputs) for grouped heads, bottom-right causal masking and fully
// masked rows, which are zeros.

func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print(%t: tensor<*xf32>) {
  %m = bufferization.to_buffer %t : tensor<*xf32> to memref<*xf32>
  call @printMemrefF32(%m) : (memref<*xf32>) -> ()
  return
}

/// max |a - b| over all elements.
func.func @max_difference(%a: tensor<1x4x3x3xf32>, %b: tensor<1x4x3x3xf32>) {
  %d = llm.sub %a, %b : (tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  %abs = llm.abs %d : tensor<1x4x3x3xf32>
  %max = llm.reduce_max %abs {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : (tensor<1x4x3x3xf32>) -> tensor<f32>
  %u = tensor.cast %max : tensor<f32> to tensor<*xf32>
  call @print(%u) : (tensor<*xf32>) -> ()
  return
}

func.func @main() {
  %q = arith.constant dense<[[[[0.50, 1.59, 1.10, -1.10],
   [-0.80, 1.49, -1.98, 1.28],
   [1.19, -0.13, -0.79, -0.89]],

  [[-0.98, -0.22, 0.02, 0.21],
   [1.98, 1.17, 0.49, 1.96],
   [-1.14, -1.36, 0.45, -1.82]],

  [[-1.86, 0.06, -0.14, 1.67],
   [0.52, 0.06, -0.01, -1.01],
   [-1.95, -1.23, 0.77, -1.20]],

  [[-0.52, -1.99, 1.32, -1.38],
   [-0.93, 1.52, 0.04, 1.39],
   [0.56, 0.97, -1.63, 0.16]]]]> : tensor<1x4x3x4xf32>
  %k = arith.constant dense<[[[[0.03, 1.49, -0.55, 0.39],
   [-1.76, -0.45, -0.71, -1.40],
   [1.27, -0.48, 1.91, 0.36],
   [0.42, 0.55, 0.71, -1.40],
   [-0.24, -1.04, -0.39, -1.61]],

  [[1.87, -1.14, 0.69, -0.80],
   [1.50, 0.65, -1.47, 1.38],
   [1.78, 1.62, 0.28, -1.42],
   [-1.23, 1.71, 0.21, -1.28],
   [1.54, 0.57, 0.28, -0.49]]]]> : tensor<1x2x5x4xf32>
  %v = arith.constant dense<[[[[-0.36, -1.04, -1.85],
   [1.50, -0.13, 0.19],
   [-0.71, 1.01, -1.90],
   [-0.51, -1.88, -1.51],
   [1.87, 0.63, -0.29]],

  [[0.09, 1.49, -0.62],
   [0.36, 0.73, -0.58],
   [0.08, 1.06, 1.64],
   [-1.40, 1.73, -1.98],
   [1.01, 1.24, -1.45]]]]> : tensor<1x2x5x3xf32>
  %q2 = arith.constant dense<[[[-0.32, 1.26, -1.94, 0.51],
  [1.17, 0.05, 0.90, -1.09],
  [-1.21, -0.55, -1.28, -0.62],
  [1.79, 0.29, -0.64, -0.91]]]> : tensor<1x4x4xf32>
  %k2 = arith.constant dense<[[[1.81, -0.22, 1.92, 0.06],
  [0.08, 1.59, 0.97, 0.32]]]> : tensor<1x2x4xf32>
  %v2 = arith.constant dense<[[[-0.29, 1.51, -0.35],
  [1.69, -1.73, -0.28]]]> : tensor<1x2x3xf32>

  // Kv heads repeated the way exporters write it: [1,2,5,D] -> [1,4,5,D].
  %k_u = llm.reshape %k : (tensor<1x2x5x4xf32>) -> tensor<1x2x1x5x4xf32>
  %k_e = llm.expand %k_u : (tensor<1x2x1x5x4xf32>) -> tensor<1x2x2x5x4xf32>
  %k_r = llm.reshape %k_e : (tensor<1x2x2x5x4xf32>) -> tensor<1x4x5x4xf32>
  %v_u = llm.reshape %v : (tensor<1x2x5x3xf32>) -> tensor<1x2x1x5x3xf32>
  %v_e = llm.expand %v_u : (tensor<1x2x1x5x3xf32>) -> tensor<1x2x2x5x3xf32>
  %v_r = llm.reshape %v_e : (tensor<1x2x2x5x3xf32>) -> tensor<1x4x5x3xf32>
  %scores = llm.matmul %q, %k_r {transpose_rhs = true} : (tensor<1x4x3x4xf32>, tensor<1x4x5x4xf32>) -> tensor<1x4x3x5xf32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %scaled = llm.mul %scores, %half : (tensor<1x4x3x5xf32>, tensor<f32>) -> tensor<1x4x3x5xf32>
  %minus_inf = arith.constant dense<0xFF800000> : tensor<f32>

  // Grouped heads, causal with 3 queries after 2 cached keys: query i sees
  // keys j <= i + 2.
  // The largest difference to the chain:
  // CHECK:      rank = 0
  // CHECK-NEXT: {{^\[0\]$}}
  %keep = arith.constant dense<[[true, true, true, false, false], [true, true, true, true, false], [true, true, true, true, true]]> : tensor<3x5xi1>
  %masked = llm.where %keep, %scaled, %minus_inf : (tensor<3x5xi1>, tensor<1x4x3x5xf32>, tensor<f32>) -> tensor<1x4x3x5xf32>
  %weights = llm.softmax %masked {axis = 3 : i64} : tensor<1x4x3x5xf32>
  %chain = llm.matmul %weights, %v_r : (tensor<1x4x3x5xf32>, tensor<1x4x5x3xf32>) -> tensor<1x4x3x3xf32>
  %fused = llm.attention %q, %k, %v {causal = true, scale = 0.5 : f32} : (tensor<1x4x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x3xf32>) -> tensor<1x4x3x3xf32>
  call @max_difference(%chain, %fused) : (tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>) -> ()
  // CHECK:      {{\[\[\[\[}}-0.265792,     0.0194123,     -1.59436],
  // CHECK-NEXT:    [-0.0965478,     -0.913519,     -1.54187],
  // CHECK-NEXT:    [0.540188,     -0.315945,     -0.98036]],
  // CHECK-NEXT:   {{\[\[}}0.684369,     -0.159407,     -0.649004],
  // CHECK-NEXT:    [-0.57863,     0.164804,     -1.85291],
  // CHECK-NEXT:    [1.36479,     0.0249832,     -0.243565]],
  // CHECK-NEXT:   {{\[\[}}0.321914,     0.810475,     -0.453691],
  // CHECK-NEXT:    [-0.161182,     1.27779,     0.102346],
  // CHECK-NEXT:    [-0.903091,     1.61743,     -1.53004]],
  // CHECK-NEXT:   {{\[\[}}0.0917536,     1.45266,     -0.459775],
  // CHECK-NEXT:    [-0.546027,     1.274,     -1.04411],
  // CHECK-NEXT:    [0.211139,     0.97048,     -0.389108]]]]
  %fused_u = tensor.cast %fused : tensor<1x4x3x3xf32> to tensor<*xf32>
  call @print(%fused_u) : (tensor<*xf32>) -> ()

  // A sliding window of 2 keys on the same causal rule: query i sees keys
  // i + 1 and i + 2 only. The largest difference to the chain with that
  // mask:
  // CHECK:      rank = 0
  // CHECK-NEXT: {{^\[0\]$}}
  %band = arith.constant dense<[[false, true, true, false, false], [false, false, true, true, false], [false, false, false, true, true]]> : tensor<3x5xi1>
  %masked_w = llm.where %band, %scaled, %minus_inf : (tensor<3x5xi1>, tensor<1x4x3x5xf32>, tensor<f32>) -> tensor<1x4x3x5xf32>
  %weights_w = llm.softmax %masked_w {axis = 3 : i64} : tensor<1x4x3x5xf32>
  %chain_w = llm.matmul %weights_w, %v_r : (tensor<1x4x3x5xf32>, tensor<1x4x5x3xf32>) -> tensor<1x4x3x3xf32>
  %fused_w = llm.attention %q, %k, %v {causal = true, scale = 0.5 : f32, window = 2} : (tensor<1x4x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x3xf32>) -> tensor<1x4x3x3xf32>
  call @max_difference(%chain_w, %fused_w) : (tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>) -> ()

  // Logit soft-capping at 0.75 (Gemma 2's c * tanh(s / c) of the scaled
  // scores, before the mask) on the causal rule. The largest difference to
  // the chain:
  // CHECK:      rank = 0
  // CHECK-NEXT: {{^\[0\]$}}
  %cap = arith.constant dense<0.75> : tensor<f32>
  %scaled_c = llm.mul %scores, %half : (tensor<1x4x3x5xf32>, tensor<f32>) -> tensor<1x4x3x5xf32>
  %over = llm.div %scaled_c, %cap : (tensor<1x4x3x5xf32>, tensor<f32>) -> tensor<1x4x3x5xf32>
  %tanh = llm.tanh %over : tensor<1x4x3x5xf32>
  %capped = llm.mul %tanh, %cap : (tensor<1x4x3x5xf32>, tensor<f32>) -> tensor<1x4x3x5xf32>
  %masked_c = llm.where %keep, %capped, %minus_inf : (tensor<3x5xi1>, tensor<1x4x3x5xf32>, tensor<f32>) -> tensor<1x4x3x5xf32>
  %weights_c = llm.softmax %masked_c {axis = 3 : i64} : tensor<1x4x3x5xf32>
  %chain_c = llm.matmul %weights_c, %v_r : (tensor<1x4x3x5xf32>, tensor<1x4x5x3xf32>) -> tensor<1x4x3x3xf32>
  %fused_c = llm.attention %q, %k, %v {causal = true, scale = 0.5 : f32, softcap = 0.75 : f32} : (tensor<1x4x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x3xf32>) -> tensor<1x4x3x3xf32>
  call @max_difference(%chain_c, %fused_c) : (tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>) -> ()

  // Attention sinks on the causal rule, as ONNX Runtime's head_sink
  // composite writes them: each head's sink one more column of the masked
  // scores, the softmax over all, the sink's column dropped. The largest
  // difference to that chain:
  // CHECK:      rank = 0
  // CHECK-NEXT: {{^\[0\]$}}
  %sinks = arith.constant dense<[0.5, -1.0, 2.0, 0.0]> : tensor<4xf32>
  %sink_col = llm.reshape %sinks : (tensor<4xf32>) -> tensor<1x4x1x1xf32>
  %sink_wide = llm.expand %sink_col : (tensor<1x4x1x1xf32>) -> tensor<1x4x3x1xf32>
  %with_sink = llm.concat %masked, %sink_wide {axis = 3 : i64} : (tensor<1x4x3x5xf32>, tensor<1x4x3x1xf32>) -> tensor<1x4x3x6xf32>
  %probs_s = llm.softmax %with_sink {axis = 3 : i64} : tensor<1x4x3x6xf32>
  %weights_s = tensor.extract_slice %probs_s[0, 0, 0, 0] [1, 4, 3, 5] [1, 1, 1, 1] : tensor<1x4x3x6xf32> to tensor<1x4x3x5xf32>
  %chain_s = llm.matmul %weights_s, %v_r : (tensor<1x4x3x5xf32>, tensor<1x4x5x3xf32>) -> tensor<1x4x3x3xf32>
  %fused_s = llm.attention %q, %k, %v sink(%sinks) {causal = true, scale = 0.5 : f32} : (tensor<1x4x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x3xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>
  call @max_difference(%chain_s, %fused_s) : (tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>) -> ()

  // An additive float mask with a -inf key.
  // The largest difference to the chain:
  // CHECK:      rank = 0
  // CHECK-NEXT: {{^\[0\]$}}
  %bias = arith.constant dense<[0.0, 0.0, 0xFF800000, 0.0, -1.5]> : tensor<5xf32>
  %biased = llm.add %scores, %bias : (tensor<1x4x3x5xf32>, tensor<5xf32>) -> tensor<1x4x3x5xf32>
  %weights_b = llm.softmax %biased {axis = 3 : i64} : tensor<1x4x3x5xf32>
  %chain_b = llm.matmul %weights_b, %v_r : (tensor<1x4x3x5xf32>, tensor<1x4x5x3xf32>) -> tensor<1x4x3x3xf32>
  %fused_b = llm.attention %q, %k, %v, %bias {scale = 1.0 : f32} : (tensor<1x4x3x4xf32>, tensor<1x2x5x4xf32>, tensor<1x2x5x3xf32>, tensor<5xf32>) -> tensor<1x4x3x3xf32>
  call @max_difference(%chain_b, %fused_b) : (tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>) -> ()
  // CHECK:      {{\[\[\[\[}}-0.458088,     -1.75379,     -1.52153],
  // CHECK-NEXT:    [-0.301367,     -1.01223,     -1.78527],
  // CHECK-NEXT:    [0.230466,     -1.04092,     -1.10587]],
  // CHECK-NEXT:   {{\[\[}}1.13388,     -0.341608,     -0.21131],
  // CHECK-NEXT:    [-0.36531,     -1.072,     -1.83654],
  // CHECK-NEXT:    [1.47728,     -0.0947403,     0.0713762]],
  // CHECK-NEXT:   {{\[\[}}-0.713136,     1.34417,     -1.43682],
  // CHECK-NEXT:    [-0.157577,     1.47513,     -1.01441],
  // CHECK-NEXT:    [-1.30617,     1.71459,     -1.89701]],
  // CHECK-NEXT:   {{\[\[}}0.0671237,     1.49328,     -0.646369],
  // CHECK-NEXT:    [-0.733121,     1.35659,     -1.45717],
  // CHECK-NEXT:    [0.321093,     0.76239,     -0.622245]]]]
  %fused_b_u = tensor.cast %fused_b : tensor<1x4x3x3xf32> to tensor<*xf32>
  call @print(%fused_b_u) : (tensor<*xf32>) -> ()

  // Causal with 4 queries and 2 keys: queries 0 and 1 see no key, so their
  // rows are zeros; query 2 sees key 0 only.
  %c = llm.attention %q2, %k2, %v2 {causal = true, scale = 1.0 : f32} : (tensor<1x4x4xf32>, tensor<1x2x4xf32>, tensor<1x2x3xf32>) -> tensor<1x4x3xf32>
  // CHECK:      {{\[\[\[}}0,    0,    0],
  // CHECK-NEXT:   [0,    0,    0],
  // CHECK-NEXT:   [-0.29,    1.51,    -0.35],
  // CHECK-NEXT:   [-0.0925651,    1.18692,    -0.34302]]]
  %c_u = tensor.cast %c : tensor<1x4x3xf32> to tensor<*xf32>
  call @print(%c_u) : (tensor<*xf32>) -> ()

  // CHECK:      {{\[\[\[}}1.67399,    -1.70381,    -0.280566],
  // CHECK-NEXT:   [0,    0,    0],
  // CHECK-NEXT:   [-0.29,    1.51,    -0.35],
  // CHECK-NEXT:   [1.69,    -1.73,    -0.28]]]
  // CHECK:      {{\[\[\[}}0,    0,    0],
  // CHECK-NEXT:   [-0.202331,    1.36654,    -0.346901],
  // CHECK-NEXT:   [1.21477,    -0.952353,    -0.296801],
  // CHECK-NEXT:   [-0.212482,    1.38315,    -0.347259]]]
  // An i1 mask with an all-false row, and a float mask with a -inf row.
  %keep2 = arith.constant dense<[[true, true], [false, false], [true, false], [false, true]]> : tensor<4x2xi1>
  %d = llm.attention %q2, %k2, %v2, %keep2 {scale = 1.0 : f32} : (tensor<1x4x4xf32>, tensor<1x2x4xf32>, tensor<1x2x3xf32>, tensor<4x2xi1>) -> tensor<1x4x3xf32>
  %d_u = tensor.cast %d : tensor<1x4x3xf32> to tensor<*xf32>
  call @print(%d_u) : (tensor<*xf32>) -> ()
  %bias2 = arith.constant dense<[[0xFF800000, 0xFF800000], [0.0, 0.0], [0.0, -1.0], [1.0, 0.0]]> : tensor<4x2xf32>
  %e = llm.attention %q2, %k2, %v2, %bias2 {scale = 1.0 : f32} : (tensor<1x4x4xf32>, tensor<1x2x4xf32>, tensor<1x2x3xf32>, tensor<4x2xf32>) -> tensor<1x4x3xf32>
  %e_u = tensor.cast %e : tensor<1x4x3xf32> to tensor<*xf32>
  call @print(%e_u) : (tensor<*xf32>) -> ()
  return
}
