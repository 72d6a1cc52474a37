// RUN: llm-opt %s -split-input-file --llm-quantize=mode=w8 --verify-each | FileCheck %s --check-prefix=W8
// RUN: llm-opt %s -split-input-file --llm-quantize="mode=w4 group-size=2" --verify-each | FileCheck %s --check-prefix=W4
// RUN: llm-opt %s -split-input-file --llm-quantize="mode=int8 activations=dynamic" --verify-each | FileCheck %s --check-prefix=DYN
// RUN: llm-opt %s -split-input-file --llm-quantize="mode=int8" --verify-each | FileCheck %s --check-prefix=STATIC
// RUN: llm-opt %s -split-input-file --llm-quantize="mode=fp8 activations=dynamic" --verify-each | FileCheck %s --check-prefix=FP8
// RUN: llm-opt %s -split-input-file --llm-quantize="mode=fp8" --verify-each | FileCheck %s --check-prefix=FP8S

// A [K, N] weight is stored as i8 rows [N, K] with one scale per row and
// read with transpose_rhs; the epilogue stays on the matmul (w8, w4) or
// follows as elementwise ops (int8).

// W8: llm.quantization = {embeddings = 0 : i64, gathered_weights = 0 : i64, matmuls = 1 : i64, mode = "w8"}
// W8-LABEL: func @linear
// W8: %[[Q:.*]] = llm.constant dense_resource<weight.w8> : tensor<2x3xi8>
// W8: %[[S:.*]] = llm.constant dense<0.0314{{[0-9]*}}> : tensor<2x1xf32>
// W8: %[[W:.*]] = llm.dequantize %[[Q]], %[[S]] : (tensor<2x3xi8>, tensor<2x1xf32>) -> tensor<2x3xf32>
// W8: llm.matmul %arg0, %[[W]] bias %{{.*}} {activation = #llm.activation<gelu>, transpose_rhs = true}
// Rows 127 * [4, 2, -1] / 4 and 127 * [-4, 0, 3] / 4, ties to even.
// W8: weight.w8: "0x010000007F40E081005F"

// W4-LABEL: func @linear
// W4: llm.constant dense<{{\[\[}}0.571{{[0-9]*}}, 0.142{{[0-9]*}}], [0.571{{[0-9]*}}, 0.428{{[0-9]*}}]]> : tensor<2x2xf32>
// W4: llm.dequantize %{{.*}}, %{{.*}} {bits = 4 : i64, block_size = 2 : i64} : (tensor<2x2xi8>, tensor<2x2xf32>) -> tensor<2x3xf32>
// Groups [4, 2] [-1] and [-4, 0] [3] of 7 levels, low nibble first:
// (7, 3) (-7, 0) and (-7, 0) (7, 0); 2 / f32(4 / 7) is just below 3.5.
// W4: weight.w4: "0x0100000037090907"

// DYN: llm.quantization = {activations = "dynamic", embeddings = 0 : i64, gathered_weights = 0 : i64, matmuls = 1 : i64, mode = "int8"}
// DYN-LABEL: func @linear
// DYN: %[[ABS:.*]] = llm.abs %arg0
// DYN: %[[MAX:.*]] = llm.reduce_max %[[ABS]] {axes = array<i64: 1>}
// DYN: %[[S:.*]] = llm.div
// DYN: %[[XQ:.*]] = llm.quantize %arg0, %[[S]] : (tensor<4x3xf32>, tensor<4x1xf32>) -> tensor<4x3xi8>
// DYN: %[[OS:.*]] = llm.mul %[[S]], %{{.*}} : (tensor<4x1xf32>, tensor<2xf32>) -> tensor<4x2xf32>
// DYN: %[[ACC:.*]] = llm.qmatmul %[[XQ]], %{{.*}} {transpose_rhs = true} : (tensor<4x3xi8>, tensor<2x3xi8>) -> tensor<4x2xi32>
// DYN: %[[Y:.*]] = llm.dequantize %[[ACC]], %[[OS]] : (tensor<4x2xi32>, tensor<4x2xf32>) -> tensor<4x2xf32>
// DYN: %[[B:.*]] = llm.add %[[Y]], %{{.*}}
// DYN: llm.gelu %[[B]]

// STATIC-LABEL: func @linear
// STATIC: %[[S:.*]] = llm.constant dense<0.0314{{[0-9]*}}> : tensor<f32>
// STATIC: %[[XQ:.*]] = llm.quantize %arg0, %[[S]] : (tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xi8>
// STATIC: llm.qmatmul %[[XQ]]
// STATIC: llm.dequantize %{{.*}}, %{{.*}} : (tensor<4x2xi32>, tensor<2xf32>) -> tensor<4x2xf32>
// fp8: E4M3 bytes with scales max / 448, an f32 accumulator.
// FP8: llm.quantization = {activations = "dynamic", embeddings = 0 : i64, gathered_weights = 0 : i64, matmuls = 1 : i64, mode = "fp8"}
// FP8-LABEL: func @linear
// The per-token scales are max|x| / 448.
// FP8: %[[C:.*]] = llm.constant dense<4.480000e+02> : tensor<f32>
// FP8: %[[S:.*]] = llm.div %{{.*}}, %[[C]] : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
// FP8: %[[XQ:.*]] = llm.quantize %arg0, %[[S]] {e4m3} : (tensor<4x3xf32>, tensor<4x1xf32>) -> tensor<4x3xi8>
// FP8: %[[W:.*]] = llm.constant dense_resource<weight.e4m3> : tensor<2x3xi8>
// FP8: %[[ACC:.*]] = llm.qmatmul %[[XQ]], %[[W]] {e4m3, transpose_rhs = true} : (tensor<4x3xi8>, tensor<2x3xi8>) -> tensor<4x2xf32>
// FP8: llm.dequantize %[[ACC]], %{{.*}} : (tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x2xf32>
// Rows 448 * [4, 2, -1] / 4 = [448, 224, -112] (0x7E, 0x76, 0xEE) and
// [-448, 0, 336] (0xFE, 0x00, and 3 / f32(4 / 448), just below 336, to 320:
// 0x7A).
// FP8: weight.e4m3: "0x010000007E76EEFE007A"
// Static: the calibrated maximum (4) / 448.
// FP8S-LABEL: func @linear
// FP8S: %[[S:.*]] = llm.constant dense<0.00892{{[0-9]*}}> : tensor<f32>
// FP8S: llm.quantize %arg0, %[[S]] {e4m3} : (tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xi8>
func.func @linear(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %w = llm.constant dense<[[4.0, -4.0], [2.0, 0.0], [-1.0, 3.0]]> : tensor<3x2xf32>
  %b = llm.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %y = llm.matmul %x, %w bias %b {activation = #llm.activation<gelu>, llm.act_absmax = array<f32: 1.0, 4.0, 2.0>, llm.act_percentile = 3.5 : f32} : (tensor<4x3xf32>, tensor<3x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// An embedding table is stored per row; the gather reads rows and scales.
// W8: llm.quantization = {embeddings = 1 : i64, gathered_weights = 0 : i64, matmuls = 0 : i64, mode = "w8"}
// W8-LABEL: func @embedding
// W8: %[[T:.*]] = llm.gather %{{.*}}, %arg0 {axis = 0 : i64} : (tensor<3x2xi8>, tensor<5xi64>) -> tensor<5x2xi8>
// W8: %[[S:.*]] = llm.gather %{{.*}}, %arg0 {axis = 0 : i64} : (tensor<3x1xf32>, tensor<5xi64>) -> tensor<5x1xf32>
// W8: llm.dequantize %[[T]], %[[S]] : (tensor<5x2xi8>, tensor<5x1xf32>) -> tensor<5x2xf32>
// W4-LABEL: func @embedding
// W4: llm.gather %{{.*}}, %arg0 {axis = 0 : i64} : (tensor<3x1xi8>, tensor<5xi64>) -> tensor<5x1xi8>
// W4: llm.dequantize %{{.*}}, %{{.*}} {bits = 4 : i64} : (tensor<5x1xi8>, tensor<5x1xf32>) -> tensor<5x2xf32>
func.func @embedding(%ids: tensor<5xi64>) -> tensor<5x2xf32> {
  %t = llm.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %e = llm.gather %t, %ids {axis = 0 : i64} : (tensor<3x2xf32>, tensor<5xi64>) -> tensor<5x2xf32>
  return %e : tensor<5x2xf32>
}

// -----

// Activations that are not constants are left alone.
// W8-LABEL: func @activations_only
// W8: llm.matmul %arg0, %arg1 :
func.func @activations_only(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> tensor<2x2xf32> {
  %y = llm.matmul %a, %b : (tensor<2x3xf32>, tensor<3x2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Percentile calibration clips at llm.act_percentile (3.0 -> scale 3 / 127);
// SmoothQuant with alpha 0.5 multiplies x by 1 / f, f_k = sqrt(max|x_k| /
// max|w_k|) = [sqrt(4 / 2), sqrt(1 / 4)] = [1.414, 0.5], and the minmax clip
// is the smoothed maximum, max(4 / 1.414, 1 / 0.5) = 2.83.
// RUN: llm-opt %s -split-input-file --llm-quantize="mode=int8 calibration=percentile" | FileCheck %s --check-prefix=PCT
// RUN: llm-opt %s -split-input-file --llm-quantize="mode=int8 smoothquant=0.5" | FileCheck %s --check-prefix=SMOOTH
// PCT-LABEL: func @calibrated
// PCT: %[[S:.*]] = llm.constant dense<0.0236{{[0-9]*}}> : tensor<f32>
// PCT: llm.quantize %arg0, %[[S]]
// SMOOTH-LABEL: func @calibrated
// SMOOTH: %[[F:.*]] = llm.constant dense<[0.7071{{[0-9]*}}, 2.000000e+00]> : tensor<2xf32>
// SMOOTH: %[[X:.*]] = llm.mul %arg0, %[[F]]
// SMOOTH: %[[S:.*]] = llm.constant dense<0.0222{{[0-9]*}}> : tensor<f32>
// SMOOTH: llm.quantize %[[X]], %[[S]]
func.func @calibrated(%x: tensor<4x2xf32>) -> tensor<4x1xf32> {
  %w = llm.constant dense<[[2.0], [-4.0]]> : tensor<2x1xf32>
  %y = llm.matmul %x, %w {llm.act_absmax = array<f32: 4.0, 1.0>, llm.act_percentile = 3.0 : f32} : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  return %y : tensor<4x1xf32>
}

// -----

// An f16 model's linear layer and embedding: the weight is widened to f32 at
// compile time and quantized as an f32 one (the same rows as @linear), the
// activation and bias are cast to f32, the result back to f16.
// W8-LABEL: func @half
// W8: %[[X:.*]] = llm.cast %arg0 : (tensor<4x3xf16>) -> tensor<4x3xf32>
// W8: %[[B:.*]] = llm.cast %{{.*}} : (tensor<2xf16>) -> tensor<2xf32>
// W8: %[[Q:.*]] = llm.constant dense_resource<{{.*}}.w8> : tensor<2x3xi8>
// W8: %[[W:.*]] = llm.dequantize %[[Q]], %{{.*}} : (tensor<2x3xi8>, tensor<2x1xf32>) -> tensor<2x3xf32>
// W8: %[[Y:.*]] = llm.matmul %[[X]], %[[W]] bias %[[B]] {transpose_rhs = true} : (tensor<4x3xf32>, tensor<2x3xf32>, tensor<2xf32>) -> tensor<4x2xf32>
// W8: %[[H:.*]] = llm.cast %[[Y]] : (tensor<4x2xf32>) -> tensor<4x2xf16>
// W8: llm.dequantize {{.*}} -> tensor<5x2xf32>
// W8: %[[E:.*]] = llm.cast %{{.*}} : (tensor<5x2xf32>) -> tensor<5x2xf16>
// W8: return %[[H]], %[[E]]
// W8: "0x010000007F40E081005F"
// DYN-LABEL: func @half
// DYN: llm.qmatmul
// DYN: llm.cast %{{.*}} : (tensor<4x2xf32>) -> tensor<4x2xf16>
func.func @half(%x: tensor<4x3xf16>, %ids: tensor<5xi64>) -> (tensor<4x2xf16>, tensor<5x2xf16>) {
  %w = llm.constant dense<[[4.0, -4.0], [2.0, 0.0], [-1.0, 3.0]]> : tensor<3x2xf16>
  %b = llm.constant dense<[0.5, -0.5]> : tensor<2xf16>
  %y = llm.matmul %x, %w bias %b {llm.act_absmax = array<f32: 1.0, 2.0, 1.0>, llm.act_percentile = 1.0 : f32} : (tensor<4x3xf16>, tensor<3x2xf16>, tensor<2xf16>) -> tensor<4x2xf16>
  %t = llm.constant dense<[[1.0, -2.0], [3.0, 0.5], [0.0, 1.0]]> : tensor<3x2xf16>
  %e = llm.gather %t, %ids {axis = 0 : i64} : (tensor<3x2xf16>, tensor<5xi64>) -> tensor<5x2xf16>
  return %y, %e : tensor<4x2xf16>, tensor<5x2xf16>
}

// -----

// A weight the model already holds weight-only quantized (4-bit, zero
// points, blocks of 2: rows [0, 1, 1.75, -2] and [0, 0, 0, 16]) is
// requantized per row in int8 mode, which multiplies 8-bit weights:
// 127 * row / 2 and 127 * row / 16, ties to even (63.5 -> 64). The
// weight-only modes leave it as it is. The same weight cast to f16 for an
// f16 product becomes the same int8 rows.
// DYN-LABEL: func @weight_only
// DYN: %[[XQ:.*]] = llm.quantize %arg0
// DYN: llm.qmatmul %[[XQ]], %{{.*}} {transpose_rhs = true} : (tensor<3x4xi8>, tensor<2x4xi8>) -> tensor<3x2xi32>
// DYN-NOT: bits = 4
// DYN-LABEL: func @weight_only_half
// DYN: llm.qmatmul %{{.*}}, %{{.*}} {transpose_rhs = true} : (tensor<3x4xi8>, tensor<2x4xi8>) -> tensor<3x2xi32>
// DYN: llm.cast %{{.*}} : (tensor<3x2xf32>) -> tensor<3x2xf16>
// DYN: "0x0100000000406F810000007F"
// W8-LABEL: func @weight_only
// W8: %[[W:.*]] = llm.dequantize %{{.*}}, %{{.*}}, %{{.*}} {bits = 4 : i64, block_size = 2 : i64, is_unsigned}
// W8: llm.matmul %arg0, %[[W]] {{{.*}}transpose_rhs = true}
func.func @weight_only(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %q = llm.constant dense<[[49, 15], [-120, -60]]> : tensor<2x2xi8>
  %s = llm.constant dense<[[0.5, 0.25], [1.0, 2.0]]> : tensor<2x2xf32>
  %z = llm.constant dense<[[1, 8], [8, 4]]> : tensor<2x2xi8>
  %w = llm.dequantize %q, %s, %z {bits = 4 : i64, block_size = 2 : i64, is_unsigned} : (tensor<2x2xi8>, tensor<2x2xf32>, tensor<2x2xi8>) -> tensor<2x4xf32>
  %y = llm.matmul %x, %w {transpose_rhs = true, llm.act_absmax = array<f32: 1.0, 1.0, 1.0, 1.0>, llm.act_percentile = 1.0 : f32} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
func.func @weight_only_half(%x: tensor<3x4xf16>) -> tensor<3x2xf16> {
  %q = llm.constant dense<[[49, 15], [-120, -60]]> : tensor<2x2xi8>
  %s = llm.constant dense<[[0.5, 0.25], [1.0, 2.0]]> : tensor<2x2xf32>
  %z = llm.constant dense<[[1, 8], [8, 4]]> : tensor<2x2xi8>
  %w = llm.dequantize %q, %s, %z {bits = 4 : i64, block_size = 2 : i64, is_unsigned} : (tensor<2x2xi8>, tensor<2x2xf32>, tensor<2x2xi8>) -> tensor<2x4xf32>
  %h = llm.cast %w : (tensor<2x4xf32>) -> tensor<2x4xf16>
  %y = llm.matmul %x, %h {transpose_rhs = true, llm.act_absmax = array<f32: 1.0, 1.0, 1.0, 1.0>, llm.act_percentile = 1.0 : f32} : (tensor<3x4xf16>, tensor<2x4xf16>) -> tensor<3x2xf16>
  return %y : tensor<3x2xf16>
}

// -----

// 16-bit weights (16-bit QDQ, a dequantize of uint16 constants with the
// zero point 32768, stored as i16 -32768; a scale per row) are requantized
// per row as 8-bit ones are: rows [4, -2, 0, 1] and [1, -1, 0.5, 0.25]
// become 127 * row / 4 and 127 * row, ties to even (-63.5 -> -64).
// DYN-LABEL: func @weight_only_int16
// DYN: llm.constant dense<[0.0314960629, 0.00787401571]> : tensor<2xf32>
// DYN: %[[W:.*]] = llm.constant dense_resource<[[BLOB:.*]]> : tensor<2x4xi8>
// DYN: llm.qmatmul %{{.*}}, %[[W]] {transpose_rhs = true} : (tensor<3x4xi8>, tensor<2x4xi8>) -> tensor<3x2xi32>
// DYN: [[BLOB]]: "0x010000007FC000207F814020"
func.func @weight_only_int16(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %q = llm.constant dense<[[-32368, 32568, -32768, -32668], [-31768, 31768, -32268, -32518]]> : tensor<2x4xi16>
  %s = llm.constant dense<[[0.01], [0.001]]> : tensor<2x1xf32>
  %z = llm.constant dense<-32768> : tensor<i16>
  %w = llm.dequantize %q, %s, %z {is_unsigned} : (tensor<2x4xi16>, tensor<2x1xf32>, tensor<i16>) -> tensor<2x4xf32>
  %y = llm.matmul %x, %w {transpose_rhs = true, llm.act_absmax = array<f32: 1.0, 1.0, 1.0, 1.0>, llm.act_percentile = 1.0 : f32} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// The rows of a gathered table's quantization parameters are not a table to
// quantize: only the f32 embedding is stored 8-bit.
// W8: llm.quantization = {embeddings = 1 : i64, gathered_weights = 0 : i64, matmuls = 0 : i64, mode = "w8"}
// W8-LABEL: func @gathered_scales
// W8: %[[S:.*]] = llm.gather %{{.*}}, %arg0 {axis = 0 : i64} : (tensor<3x2xf32>, tensor<5xi64>) -> tensor<5x2xf32>
// W8: llm.dequantize %{{.*}}, %[[S]] {block_size = 2 : i64} : (tensor<5x4xi8>, tensor<5x2xf32>) -> tensor<5x4xf32>
// W8: llm.gather %{{.*}}, %arg0 {axis = 0 : i64} : (tensor<3x2xi8>, tensor<5xi64>) -> tensor<5x2xi8>
func.func @gathered_scales(%ids: tensor<5xi64>) -> (tensor<5x4xf32>, tensor<5x2xf32>) {
  %q = llm.constant dense<[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]> : tensor<3x4xi8>
  %s = llm.constant dense<[[0.5, 0.25], [1.0, 2.0], [4.0, 8.0]]> : tensor<3x2xf32>
  %rows = llm.gather %q, %ids {axis = 0 : i64} : (tensor<3x4xi8>, tensor<5xi64>) -> tensor<5x4xi8>
  %scales = llm.gather %s, %ids {axis = 0 : i64} : (tensor<3x2xf32>, tensor<5xi64>) -> tensor<5x2xf32>
  %y = llm.dequantize %rows, %scales {block_size = 2 : i64} : (tensor<5x4xi8>, tensor<5x2xf32>) -> tensor<5x4xf32>
  %t = llm.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %e = llm.gather %t, %ids {axis = 0 : i64} : (tensor<3x2xf32>, tensor<5xi64>) -> tensor<5x2xf32>
  return %y, %e : tensor<5x4xf32>, tensor<5x2xf32>
}

// -----

// A batched weight (a mixture of experts' [experts, K, N]) is quantized per
// expert and output channel: i8 [experts, N, K] with scales [experts, N, 1]
// (w8, w4 by groups), or per-channel output scales [experts, 1, N] that
// broadcast against the [experts, M, N] product (int8).
// W8: llm.quantization = {embeddings = 0 : i64, gathered_weights = 0 : i64, matmuls = 1 : i64, mode = "w8"}
// W8-LABEL: func @experts
// W8: %[[Q:.*]] = llm.constant dense_resource<weight.w8> : tensor<2x2x3xi8>
// W8: %[[S:.*]] = llm.constant dense<{{\[\[\[}}0.0314{{[0-9]*}}], [0.0314{{[0-9]*}}]], {{\[\[}}0.0629{{[0-9]*}}], [0.0629{{[0-9]*}}]]]> : tensor<2x2x1xf32>
// W8: %[[W:.*]] = llm.dequantize %[[Q]], %[[S]] : (tensor<2x2x3xi8>, tensor<2x2x1xf32>) -> tensor<2x2x3xf32>
// W8: llm.matmul %arg0, %[[W]] {transpose_rhs = true} : (tensor<1x4x3xf32>, tensor<2x2x3xf32>) -> tensor<2x4x2xf32>
// The second expert is the first times 2: the same bytes at twice the scale.
// W8: weight.w8: "0x010000007F40E081005F7F40E081005F"

// W4-LABEL: func @experts
// W4: llm.dequantize %{{.*}}, %{{.*}} {bits = 4 : i64, block_size = 2 : i64} : (tensor<2x2x2xi8>, tensor<2x2x2xf32>) -> tensor<2x2x3xf32>

// DYN-LABEL: func @experts
// DYN: %[[S:.*]] = llm.div %{{.*}}, %{{.*}} : (tensor<1x4x1xf32>, tensor<f32>) -> tensor<1x4x1xf32>
// DYN: %[[XQ:.*]] = llm.quantize %arg0, %[[S]] : (tensor<1x4x3xf32>, tensor<1x4x1xf32>) -> tensor<1x4x3xi8>
// DYN: %[[OS:.*]] = llm.mul %[[S]], %{{.*}} : (tensor<1x4x1xf32>, tensor<2x1x2xf32>) -> tensor<2x4x2xf32>
// DYN: %[[ACC:.*]] = llm.qmatmul %[[XQ]], %{{.*}} {transpose_rhs = true} : (tensor<1x4x3xi8>, tensor<2x2x3xi8>) -> tensor<2x4x2xi32>
// DYN: llm.dequantize %[[ACC]], %[[OS]] : (tensor<2x4x2xi32>, tensor<2x4x2xf32>) -> tensor<2x4x2xf32>

// STATIC-LABEL: func @experts
// STATIC: %[[ACC:.*]] = llm.qmatmul %{{.*}}, %{{.*}} {transpose_rhs = true} : (tensor<1x4x3xi8>, tensor<2x2x3xi8>) -> tensor<2x4x2xi32>
// STATIC: llm.dequantize %[[ACC]], %{{.*}} : (tensor<2x4x2xi32>, tensor<2x1x2xf32>) -> tensor<2x4x2xf32>
func.func @experts(%x: tensor<1x4x3xf32>) -> tensor<2x4x2xf32> {
  %w = llm.constant dense<[[[4.0, -4.0], [2.0, 0.0], [-1.0, 3.0]], [[8.0, -8.0], [4.0, 0.0], [-2.0, 6.0]]]> : tensor<2x3x2xf32>
  %y = llm.matmul %x, %w {llm.act_absmax = array<f32: 1.0, 4.0, 2.0>, llm.act_percentile = 3.5 : f32} : (tensor<1x4x3xf32>, tensor<2x3x2xf32>) -> tensor<2x4x2xf32>
  return %y : tensor<2x4x2xf32>
}

// -----

// A decoding step's experts gathered per token from [experts, N, K] are
// stored 8-bit like an embedding table, per expert and output channel: the
// gather reads the bytes and their scales.
// W8: llm.quantization = {embeddings = 0 : i64, gathered_weights = 1 : i64, matmuls = 0 : i64, mode = "w8"}
// W8-LABEL: func @gathered_experts
// W8: %[[Q:.*]] = llm.gather %{{.*}}, %arg1 {axis = 0 : i64} : (tensor<3x2x4xi8>, tensor<1x2xi64>) -> tensor<1x2x2x4xi8>
// W8: %[[S:.*]] = llm.gather %{{.*}}, %arg1 {axis = 0 : i64} : (tensor<3x2x1xf32>, tensor<1x2xi64>) -> tensor<1x2x2x1xf32>
// W8: %[[W:.*]] = llm.dequantize %[[Q]], %[[S]] : (tensor<1x2x2x4xi8>, tensor<1x2x2x1xf32>) -> tensor<1x2x2x4xf32>
// W8: llm.matmul %arg0, %[[W]] {transpose_rhs = true}
// int8 multiplies the gathered bytes: the activations quantized as for any
// weight, the product dequantized by their scale times the gathered
// per-channel scales, as a row per entry.
// DYN-LABEL: func @gathered_experts
// DYN: %[[Q:.*]] = llm.gather %{{.*}}, %arg1 {axis = 0 : i64} : (tensor<3x2x4xi8>, tensor<1x2xi64>) -> tensor<1x2x2x4xi8>
// DYN: %[[S:.*]] = llm.gather %{{.*}}, %arg1 {axis = 0 : i64} : (tensor<3x2x1xf32>, tensor<1x2xi64>) -> tensor<1x2x2x1xf32>
// DYN: %[[ROWS:.*]] = llm.reshape %[[S]] : (tensor<1x2x2x1xf32>) -> tensor<1x2x1x2xf32>
// DYN: %[[XS:.*]] = llm.div %{{.*}}, %{{.*}} : (tensor<1x2x1x1xf32>, tensor<f32>) -> tensor<1x2x1x1xf32>
// DYN: %[[XQ:.*]] = llm.quantize %arg0, %[[XS]] : (tensor<1x2x1x4xf32>, tensor<1x2x1x1xf32>) -> tensor<1x2x1x4xi8>
// DYN: %[[OS:.*]] = llm.mul %[[XS]], %[[ROWS]] : (tensor<1x2x1x1xf32>, tensor<1x2x1x2xf32>) -> tensor<1x2x1x2xf32>
// DYN: %[[ACC:.*]] = llm.qmatmul %[[XQ]], %[[Q]] {transpose_rhs = true} : (tensor<1x2x1x4xi8>, tensor<1x2x2x4xi8>) -> tensor<1x2x1x2xi32>
// DYN: llm.dequantize %[[ACC]], %[[OS]] : (tensor<1x2x1x2xi32>, tensor<1x2x1x2xf32>) -> tensor<1x2x1x2xf32>
// Static: the calibrated maximum (4) / 127.
// STATIC-LABEL: func @gathered_experts
// STATIC: llm.quantize %arg0, %{{.*}} : (tensor<1x2x1x4xf32>, tensor<f32>) -> tensor<1x2x1x4xi8>
// STATIC: llm.constant dense<0.0314{{[0-9]*}}> : tensor<f32>
// STATIC: llm.qmatmul %{{.*}}, %{{.*}} {transpose_rhs = true} : (tensor<1x2x1x4xi8>, tensor<1x2x2x4xi8>) -> tensor<1x2x1x2xi32>
func.func @gathered_experts(%x: tensor<1x2x1x4xf32>, %ids: tensor<1x2xi64>) -> tensor<1x2x1x2xf32> {
  %t = llm.constant dense<[[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]], [[-1.0, 0.5, 0.25, 2.0], [3.0, 1.0, -6.0, 1.5]], [[0.0, 0.0, 1.0, -1.0], [2.0, 2.0, 2.0, 2.0]]]> : tensor<3x2x4xf32>
  %w = llm.gather %t, %ids {axis = 0 : i64} : (tensor<3x2x4xf32>, tensor<1x2xi64>) -> tensor<1x2x2x4xf32>
  %y = llm.matmul %x, %w {transpose_rhs = true, llm.act_absmax = array<f32: 1.0, 2.0, 4.0, 0.5>, llm.act_percentile = 3.0 : f32} : (tensor<1x2x1x4xf32>, tensor<1x2x2x4xf32>) -> tensor<1x2x1x2xf32>
  return %y : tensor<1x2x1x2xf32>
}

// -----

// int8 requantizes a mixture of experts' weights the model holds 4-bit (a
// QMoE's [experts, N, K] dequantize of constants) from their values.
// DYN-LABEL: func @dequantized_experts
// DYN-NOT: llm.dequantize %{{.*}} {bits = 4
// Rows [4, 2, -1, 7] and [4, -2, 0, 3] (low nibble first), then twice them:
// the same bytes at twice the scale (7 / 127 and 4 / 127, doubled).
// DYN: llm.constant dense<{{\[\[\[}}0.0551{{[0-9]*}}, 0.0314{{[0-9]*}}]], {{\[\[}}0.110{{[0-9]*}}, 0.0629{{[0-9]*}}]]]> : tensor<2x1x2xf32>
// DYN: llm.qmatmul %{{.*}}, %{{.*}} {transpose_rhs = true} : (tensor<1x4x4xi8>, tensor<2x2x4xi8>) -> tensor<2x4x2xi32>
// DYN: weight.w8: "0x010000004924EE7F7FC0005F4924EE7F7FC0005F"
func.func @dequantized_experts(%x: tensor<1x4x4xf32>) -> tensor<2x4x2xf32> {
  %q = llm.constant dense<[[[36, 127], [-28, 48]], [[36, 127], [-28, 48]]]> : tensor<2x2x2xi8>
  %s = llm.constant dense<[[[1.0], [1.0]], [[2.0], [2.0]]]> : tensor<2x2x1xf32>
  %w = llm.dequantize %q, %s {bits = 4 : i64} : (tensor<2x2x2xi8>, tensor<2x2x1xf32>) -> tensor<2x2x4xf32>
  %y = llm.matmul %x, %w {transpose_rhs = true, llm.act_absmax = array<f32: 1.0, 1.0, 1.0, 1.0>, llm.act_percentile = 1.0 : f32} : (tensor<1x4x4xf32>, tensor<2x2x4xf32>) -> tensor<2x4x2xf32>
  return %y : tensor<2x4x2xf32>
}
