// RUN: llm-opt %s --llm-hls-pipeline | llm-translate --emit-hls-cpp \
// RUN:   | FileCheck %s --implicit-check-not=malloc --implicit-check-not=std::vector --implicit-check-not=" new "
// RUN: llm-opt %s --llm-hls-pipeline | llm-translate --emit-hls-cpp > %t.cpp
// RUN: llm-hls-check %t.cpp | FileCheck %s --check-prefix=SYNTH
// RUN: g++ -std=c++17 -fsyntax-only %t.cpp

// An MLP block (matmul + bias + GELU, then a second matmul) as HLS C++: one
// top function with array ports on m_axi/HBM bundles, static buffers, named
// and pipelined loops, the ONNX node names in comments, no dynamic memory.
// The bias and GELU are one loop over the first product's buffer, in place
// (fused into the second product's loads, they would be evaluated once per
// multiply-add: 1280 cycles and 368 DSP for that stage instead of 512 and
// 80); the two products are a single-producer single-consumer chain, so the
// function is a DATAFLOW region.
// SYNTH: synthesizable
// CHECK: #include <cmath>
// CHECK-NOT: #include <vector>
// CHECK-LABEL: void forward(const float x[32], const float fc_weight[1024], const float proj_weight[1024], float y[32]) {
// CHECK-NEXT: #pragma HLS INTERFACE m_axi port=x offset=slave bundle=hbm0 depth=32 max_widen_bitwidth=512
// CHECK-NEXT: #pragma HLS INTERFACE s_axilite port=x bundle=control
// CHECK-NEXT: #pragma HLS INTERFACE m_axi port=fc_weight offset=slave bundle=hbm1 depth=1024
// CHECK: #pragma HLS INTERFACE m_axi port=proj_weight offset=slave bundle=hbm2 depth=1024
// CHECK: #pragma HLS INTERFACE m_axi port=y offset=slave bundle=hbm3 depth=32
// CHECK: #pragma HLS INTERFACE s_axilite port=return bundle=control
// CHECK-NEXT: #pragma HLS DATAFLOW
// CHECK-NEXT: static float buf0[128];
// CHECK-NEXT: #pragma HLS ARRAY_PARTITION variable=buf0 type=complete dim=1
// CHECK-NEXT: // Stage 0, ONNX nodes '/fc/MatMul', '/fc/Add', '/act/Erf': ~10 cycles, 0 DSP
// CHECK-NEXT: fc_MatMul_l0: for (int64_t i0 = 0; i0 < 2; i0 += 1) {
// CHECK-NEXT:   fc_MatMul_l1: for (int64_t i1 = 0; i1 < 64; i1 += 1) {
// CHECK-NEXT:   #pragma HLS PIPELINE II=1
// CHECK-NEXT:   #pragma HLS UNROLL factor=16
// CHECK-NEXT:     buf0[(i0 * 64) + i1] = 0.0f;
// CHECK: // Stage 0, ONNX nodes '/fc/MatMul', '/fc/Add', '/act/Erf': ~224 cycles, 80 DSP
// CHECK-NEXT: fc_MatMul_1_l0: for (int64_t i2 = 0; i2 < 2; i2 += 1) {
// CHECK-NEXT: fc_MatMul_1_l1: for (int64_t i3 = 0; i3 < 16; i3 += 1) {
// CHECK-NEXT: fc_MatMul_1_l2: for (int64_t i4 = 0; i4 < 64; i4 += 1) {
// CHECK-NEXT: #pragma HLS PIPELINE II=1
// CHECK-NEXT: #pragma HLS UNROLL factor=16
// CHECK-NEXT: const float [[A:v[0-9]+]] = x[(i2 * 16) + i3];
// CHECK-NEXT: const float [[B:v[0-9]+]] = fc_weight[(i3 * 64) + i4];
// CHECK-NEXT: const float [[C:v[0-9]+]] = buf0[(i2 * 64) + i4];
// CHECK-NEXT: const float [[P:v[0-9]+]] = ([[A]] * [[B]]);
// CHECK-NEXT: const float [[S:v[0-9]+]] = ([[C]] + [[P]]);
// CHECK-NEXT: buf0[(i2 * 64) + i4] = [[S]];
// CHECK: // Stage 0, ONNX nodes '/fc/MatMul', '/fc/Add', '/act/Erf': ~22 cycles, 288 DSP
// CHECK: const float [[V:v[0-9]+]] = buf0[(i{{[0-9]+}} * 64) + i{{[0-9]+}}];
// CHECK: erff(
// CHECK: buf0[(i{{[0-9]+}} * 64) + i{{[0-9]+}}] =
// CHECK: // Stage 1, ONNX node '/proj/MatMul'
// CHECK: // Stage 1, ONNX node '/proj/MatMul': ~512 cycles, 80 DSP
// CHECK: #pragma HLS PIPELINE II=1
// CHECK-NEXT: #pragma HLS UNROLL factor=16
// CHECK-NOT: erff(
// CHECK: y[(i{{[0-9]+}} * 16) + i{{[0-9]+}}] =
func.func @forward(%x: tensor<2x16xf32> {llm.name = "x"}) -> (tensor<2x16xf32> {llm.name = "y"}) {
  %w1 = llm.constant dense<0.03125> : tensor<16x64xf32> loc("fc.weight")
  %b1 = llm.constant dense<0.5> : tensor<64xf32> loc("fc.bias")
  %w2 = llm.constant dense<-0.0625> : tensor<64x16xf32> loc("proj.weight")
  %0 = llm.matmul %x, %w1 : (tensor<2x16xf32>, tensor<16x64xf32>) -> tensor<2x64xf32> loc("/fc/MatMul")
  %1 = llm.add %0, %b1 : (tensor<2x64xf32>, tensor<64xf32>) -> tensor<2x64xf32> loc("/fc/Add")
  %2 = llm.gelu %1 : tensor<2x64xf32> loc("/act/Erf")
  %3 = llm.matmul %2, %w2 : (tensor<2x64xf32>, tensor<64x16xf32>) -> tensor<2x16xf32> loc("/proj/MatMul")
  return %3 : tensor<2x16xf32>
}
