// RUN: llm-opt %s --llm-npu-partition -split-input-file | FileCheck %s
// RUN: llm-opt %s --llm-npu-partition="remarks=true" -split-input-file -verify-diagnostics -o /dev/null

// A W8A8 linear layer as llm-quantize writes it: the activation's
// quantization by a constant per-tensor scale, the qmatmul, its per-channel
// dequantization and the bias add become one NPU kernel that takes the f32
// activations. Batch dims fold into M.

// CHECK-LABEL: module
// CHECK: func.func private @llmc_npu_kernel_0(i64, tensor<16x64xf32> {bufferization.access = "read"}, tensor<192x64xi8> {bufferization.access = "read"}, tensor<1x192xf32> {bufferization.access = "read"}, tensor<1x192xf32> {bufferization.access = "read"}) -> tensor<16x192xf32>
// CHECK-SAME: llm.npu = {bias = true, id = 0 : i64, input_scale = 3.000000e-02 : f32, k = 64 : i64, m = 16 : i64, n = 192 : i64, name = "/qkv/MatMul", panels = array<i64: 0>, programs = ["npu_program_0"], scale = "channel", transpose_rhs = true}
// CHECK-SAME: llvm.emit_c_interface
// CHECK: func.func @linear(%[[X:.*]]: tensor<2x8x64xf32>, %[[W:.*]]: tensor<192x64xi8>, %[[S:.*]]: tensor<192xf32>, %[[B:.*]]: tensor<192xf32>)
// CHECK-NOT: llm.quantize
// CHECK: %[[X2:.*]] = llm.reshape %[[X]] : (tensor<2x8x64xf32>) -> tensor<16x64xf32>
// CHECK: %[[S2:.*]] = llm.reshape %[[S]] : (tensor<192xf32>) -> tensor<1x192xf32>
// CHECK: %[[B2:.*]] = llm.reshape %[[B]] : (tensor<192xf32>) -> tensor<1x192xf32>
// CHECK: %[[R:.*]] = call @llmc_npu_kernel_0(%{{.*}}, %[[X2]], %[[W]], %[[S2]], %[[B2]])
// CHECK: %[[R3:.*]] = llm.reshape %[[R]] : (tensor<16x192xf32>) -> tensor<2x8x192xf32>
// CHECK-NOT: llm.qmatmul
// CHECK-NOT: llm.dequantize
// CHECK: return %[[R3]]
// The schedule: the input's quantization first, the bias row next to the
// scale row in the accumulators.
// CHECK: npu.program target("npu") dram({{[0-9]+}}) attributes {llm.npu_program = "npu_program_0", llm.npu_shape = "16x64x192sbq3cf5c28f"}
// CHECK: npu.tensor "input" "X" : "f32" [16, 64]
// CHECK: npu.tensor "input" "B" : "i8" [64, 192]
// CHECK: npu.tensor "input" "S" : "f32" [1, 192]
// CHECK: npu.tensor "input" "Bias" : "f32" [1, 192]
// CHECK: npu.tensor "output" "C" : "f32" [16, 192]
// CHECK: npu.vqnt
// CHECK: npu.mm
// CHECK: npu.vdeq
// CHECK: npu.vmul {{.*}} broadcast
// CHECK: npu.vadd {{.*}} broadcast
// CHECK: npu.sta
func.func @linear(%x: tensor<2x8x64xf32>, %w: tensor<192x64xi8>, %s: tensor<192xf32>, %b: tensor<192xf32>) -> tensor<2x8x192xf32> {
  %sa = llm.constant dense<0.03> : tensor<f32>
  %q = llm.quantize %x, %sa : (tensor<2x8x64xf32>, tensor<f32>) -> tensor<2x8x64xi8>
  %acc = llm.qmatmul %q, %w {transpose_rhs = true} : (tensor<2x8x64xi8>, tensor<192x64xi8>) -> tensor<2x8x192xi32> loc("/qkv/MatMul")
  %y = llm.dequantize %acc, %s : (tensor<2x8x192xi32>, tensor<192xf32>) -> tensor<2x8x192xf32>
  %z = llm.add %y, %b : (tensor<2x8x192xf32>, tensor<192xf32>) -> tensor<2x8x192xf32>
  return %z : tensor<2x8x192xf32>
}

// -----

// Without an epilogue the kernel returns the int32 accumulators; with a
// per-tensor scale it dequantizes by it. Kernels of one shape share their
// program.

// CHECK-LABEL: module
// CHECK: func.func private @llmc_npu_kernel_0(i64, tensor<4x32xi8> {{.*}}, tensor<32x64xi8> {{.*}}) -> tensor<4x64xi32>
// CHECK-SAME: programs = ["npu_program_0"], scale = "none", transpose_rhs = false
// CHECK: func.func private @llmc_npu_kernel_1(i64, tensor<4x32xi8> {{.*}}, tensor<32x64xi8> {{.*}}) -> tensor<4x64xi32>
// CHECK-SAME: programs = ["npu_program_0"]
// CHECK: func.func private @llmc_npu_kernel_2(i64, tensor<4x32xi8> {{.*}}, tensor<32x64xi8> {{.*}}, tensor<1x1xf32> {{.*}}) -> tensor<4x64xf32>
// CHECK-SAME: bias = false, {{.*}} programs = ["npu_program_1"], scale = "tensor"
// CHECK: npu.program {{.*}} llm.npu_shape = "4x32x64"
// CHECK: npu.program {{.*}} llm.npu_shape = "4x32x64s"
// CHECK-NOT: npu.program
func.func @shared(%a: tensor<4x32xi8>, %w: tensor<32x64xi8>, %v: tensor<32x64xi8>) -> (tensor<4x64xi32>, tensor<4x64xi32>, tensor<4x64xf32>) {
  %0 = llm.qmatmul %a, %w : (tensor<4x32xi8>, tensor<32x64xi8>) -> tensor<4x64xi32>
  %1 = llm.qmatmul %a, %v : (tensor<4x32xi8>, tensor<32x64xi8>) -> tensor<4x64xi32>
  %2 = llm.qmatmul %a, %v : (tensor<4x32xi8>, tensor<32x64xi8>) -> tensor<4x64xi32>
  %s = llm.constant dense<0.5> : tensor<f32>
  %3 = llm.dequantize %2, %s : (tensor<4x64xi32>, tensor<f32>) -> tensor<4x64xf32>
  return %0, %1, %3 : tensor<4x64xi32>, tensor<4x64xi32>, tensor<4x64xf32>
}

// -----

// A quantization shared by two projections (Llama's gate and up) joins both
// kernels and leaves the host; one with a run-time scale stays there, and its
// kernel takes the int8 activations.

// CHECK-LABEL: module
// CHECK: func.func private @llmc_npu_kernel_0(i64, tensor<4x32xf32> {{.*}}input_scale = 2.500000e-01 : f32
// CHECK: func.func private @llmc_npu_kernel_1(i64, tensor<4x32xf32> {{.*}}input_scale = 2.500000e-01 : f32
// CHECK: func.func private @llmc_npu_kernel_2(i64, tensor<4x32xi8>
// CHECK-NOT: input_scale
// CHECK: func.func @prologue(%[[X:.*]]: tensor<4x32xf32>, {{.*}}, %[[T:.*]]: tensor<f32>)
// CHECK-NOT: llm.quantize
// CHECK: call @llmc_npu_kernel_0(%{{.*}}, %[[X]],
// CHECK-NOT: llm.quantize
// CHECK: call @llmc_npu_kernel_1(%{{.*}}, %[[X]],
// CHECK: %[[Q:.*]] = llm.quantize %[[X]], %[[T]]
// CHECK: call @llmc_npu_kernel_2(%{{.*}}, %[[Q]],
func.func @prologue(%x: tensor<4x32xf32>, %w: tensor<32x64xi8>, %v: tensor<32x64xi8>, %t: tensor<f32>) -> (tensor<4x64xi32>, tensor<4x64xi32>, tensor<4x64xi32>) {
  %s = llm.constant dense<0.25> : tensor<f32>
  %q = llm.quantize %x, %s : (tensor<4x32xf32>, tensor<f32>) -> tensor<4x32xi8>
  %0 = llm.qmatmul %q, %w : (tensor<4x32xi8>, tensor<32x64xi8>) -> tensor<4x64xi32>
  %1 = llm.qmatmul %q, %v : (tensor<4x32xi8>, tensor<32x64xi8>) -> tensor<4x64xi32>
  %r = llm.quantize %x, %t : (tensor<4x32xf32>, tensor<f32>) -> tensor<4x32xi8>
  %2 = llm.qmatmul %r, %w : (tensor<4x32xi8>, tensor<32x64xi8>) -> tensor<4x64xi32>
  return %0, %1, %2 : tensor<4x64xi32>, tensor<4x64xi32>, tensor<4x64xi32>
}

// -----

// uint8 activations with a per-tensor zero point (onnxruntime's dynamic
// quantization): the kernel reads them unsigned and corrects with the zero
// point, an operand after the weight; a zero weight zero point is no
// correction at all.

// CHECK-LABEL: module
// CHECK: func.func private @llmc_npu_kernel_0(i64, tensor<4x32xi8> {{.*}}, tensor<32x64xi8> {{.*}}, tensor<1x1xi8> {{.*}}) -> tensor<4x64xi32>
// CHECK-SAME: lhs_unsigned, lhs_zero_point
// CHECK-SAME: programs = ["npu_program_0"]
// CHECK-SAME: rhs_constant
// CHECK: func.func @zero_points(%[[A:.*]]: tensor<4x32xi8>, %[[Z:.*]]: tensor<i8>)
// CHECK: %[[Z2:.*]] = llm.reshape %[[Z]] : (tensor<i8>) -> tensor<1x1xi8>
// CHECK: call @llmc_npu_kernel_0(%{{.*}}, %[[A]], %{{.*}}, %[[Z2]])
// CHECK: npu.program {{.*}} llm.npu_shape = "4x32x64uz"
// CHECK: npu.tensor "input" "Z" : "i32" [1, 64]
// CHECK: npu.mm {{.*}} lhs_unsigned
// CHECK: npu.vaddi {{.*}} broadcast
func.func @zero_points(%a: tensor<4x32xi8>, %z: tensor<i8>) -> tensor<4x64xi32> {
  %w = llm.constant dense<3> : tensor<32x64xi8>
  %wz = llm.constant dense<0> : tensor<i8>
  %0 = llm.qmatmul %a, %w lhs_zero_point %z rhs_zero_point %wz {lhs_unsigned} : (tensor<4x32xi8>, tensor<32x64xi8>, tensor<i8>, tensor<i8>) -> tensor<4x64xi32>
  return %0 : tensor<4x64xi32>
}

// -----

// What the array cannot compute stays on the host, with a remark saying why.

// CHECK-LABEL: module
// CHECK-NOT: llmc_npu_kernel
// CHECK: llm.qmatmul
// CHECK: llm.qmatmul
// CHECK: llm.qmatmul
// CHECK: llm.qmatmul
// CHECK-NOT: npu.program
func.func @host(%a: tensor<4x32xi8>, %w: tensor<32x64xi8>, %z: tensor<4x1xi8>, %wz: tensor<i8>, %b: tensor<3x32x64xi8>) -> (tensor<4x64xi32>, tensor<4x64xi32>, tensor<4x64xi32>, tensor<3x4x64xi32>) {
  // expected-remark@+1 {{stays on the host: a per-row activation zero point (only a per-tensor one is corrected)}}
  %0 = llm.qmatmul %a, %w lhs_zero_point %z : (tensor<4x32xi8>, tensor<32x64xi8>, tensor<4x1xi8>) -> tensor<4x64xi32>
  // expected-remark@+1 {{stays on the host: a weight zero point (its correction needs the row sums of the activations, which the NPU cannot scale)}}
  %1 = llm.qmatmul %a, %w rhs_zero_point %wz : (tensor<4x32xi8>, tensor<32x64xi8>, tensor<i8>) -> tensor<4x64xi32>
  // expected-remark@+1 {{stays on the host: unsigned weights (the array's weights are signed int8)}}
  %2 = llm.qmatmul %a, %w {rhs_unsigned} : (tensor<4x32xi8>, tensor<32x64xi8>) -> tensor<4x64xi32>
  // expected-remark@+1 {{stays on the host: a batched rhs that is not a weight (the array's weights are one matrix; a weight's batch entries, or gathered ones', are split into products of their own)}}
  %3 = llm.qmatmul %a, %b : (tensor<4x32xi8>, tensor<3x32x64xi8>) -> tensor<3x4x64xi32>
  return %0, %1, %2, %3 : tensor<4x64xi32>, tensor<4x64xi32>, tensor<4x64xi32>, tensor<3x4x64xi32>
}

// -----

// A weight with fewer elements than one row of the array (32 columns) is
// not worth a call: a 4 x 1 product, and a depthwise convolution's batched
// [64, 4, 1] weight (one 4 x 1 entry per channel), stay on the host, the
// batched one unsplit. A 4 x 8 weight (32 elements) goes to the NPU.

// CHECK-LABEL: module
// CHECK-COUNT-1: func.func private @llmc_npu_kernel_0({{.*}}) -> tensor<15x8xi32>
// CHECK-NOT: func.func private @llmc_npu_kernel_1
// CHECK: llm.qmatmul {{.*}} : (tensor<15x4xi8>, tensor<4x1xi8>) -> tensor<15x1xi32>
// CHECK: llm.qmatmul {{.*}} : (tensor<64x15x4xi8>, tensor<64x4x1xi8>) -> tensor<64x15x1xi32>
// CHECK-NOT: llm.concat
func.func @small(%a: tensor<15x4xi8>, %w: tensor<4x1xi8> {llm.weight}, %w8: tensor<4x8xi8> {llm.weight}, %x: tensor<64x15x4xi8>, %d: tensor<64x4x1xi8> {llm.weight}) -> (tensor<15x1xi32>, tensor<15x8xi32>, tensor<64x15x1xi32>) {
  // expected-remark@+1 {{stays on the host: a weight of 4 x 1 elements, fewer than one row of the array (32)}}
  %0 = llm.qmatmul %a, %w : (tensor<15x4xi8>, tensor<4x1xi8>) -> tensor<15x1xi32>
  %1 = llm.qmatmul %a, %w8 : (tensor<15x4xi8>, tensor<4x8xi8>) -> tensor<15x8xi32>
  // expected-remark@+1 {{stays on the host: batch entries with a weight of 4 x 1 elements, fewer than one row of the array (32)}}
  %2 = llm.qmatmul %x, %d : (tensor<64x15x4xi8>, tensor<64x4x1xi8>) -> tensor<64x15x1xi32>
  return %0, %1, %2 : tensor<15x1xi32>, tensor<15x8xi32>, tensor<64x15x1xi32>
}

// -----

// A batched weight (a mixture of experts' [experts, N, K], outlined as a
// weight argument) holds one matrix per batch entry: the product is split
// into one 2-D product per entry, each with its slice of the dequantize
// scale and bias, and the entries are joined again. Every entry has the
// same shape and shares one program. The activations' static quantization
// is taken in by each entry's kernel; a batched lhs (the second product's
// per-expert activations) is sliced like the weight. An entry of a weight
// is a weight (rhs_constant: the runtime keeps its layout between calls).

// CHECK-LABEL: module
// CHECK-COUNT-3: func.func private @llmc_npu_kernel_{{[0-9]}}({{.*}}) -> tensor<6x12xf32>
// CHECK-SAME: input_scale = 5.000000e-02
// CHECK-SAME: rhs_constant
// CHECK-COUNT-3: func.func private @llmc_npu_kernel_{{[0-9]}}(i64, tensor<6x12xi8> {{.*}}, tensor<16x12xi8> {{.*}}) -> tensor<6x16xi32>
// CHECK: func.func @experts(%[[X:.*]]: tensor<1x6x16xf32>, %[[W:.*]]: tensor<3x12x16xi8> {llm.weight = "w1"}, %[[S:.*]]: tensor<3x1x12xf32>, %[[B:.*]]: tensor<3x1x12xf32>, %[[A:.*]]: tensor<3x6x12xi8>, %[[V:.*]]: tensor<3x16x12xi8> {llm.weight = "w2"})
// CHECK: %[[W0:.*]] = llm.slice %[[W]] {ends = array<i64: 1, 12, 16>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>}
// CHECK: %[[W02:.*]] = llm.reshape %[[W0]] : (tensor<1x12x16xi8>) -> tensor<12x16xi8>
// CHECK: %[[S0:.*]] = llm.slice %[[S]] {ends = array<i64: 1, 1, 12>
// CHECK: %[[S02:.*]] = llm.reshape %[[S0]] : (tensor<1x1x12xf32>) -> tensor<1x12xf32>
// CHECK: %[[B0:.*]] = llm.slice %[[B]]
// CHECK: %[[Y0:.*]] = call @llmc_npu_kernel_{{[0-9]}}(%{{.*}}, %{{.*}}, %[[W02]], %[[S02]], %{{.*}})
// CHECK: %[[W2:.*]] = llm.slice %[[W]] {ends = array<i64: 3, 12, 16>, starts = array<i64: 2, 0, 0>
// CHECK: %[[J:.*]] = llm.concat %{{.*}}, %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<1x6x12xf32>, tensor<1x6x12xf32>, tensor<1x6x12xf32>) -> tensor<3x6x12xf32>
// CHECK: %[[A1:.*]] = llm.slice %[[A]] {ends = array<i64: 2, 6, 12>, starts = array<i64: 1, 0, 0>
// CHECK: %[[V1:.*]] = llm.slice %[[V]] {ends = array<i64: 2, 16, 12>, starts = array<i64: 1, 0, 0>
// CHECK: llm.concat {{.*}} -> tensor<3x6x16xi32>
// CHECK-NOT: llm.qmatmul
// CHECK-NOT: llm.dequantize
// CHECK: npu.program {{.*}}llm.npu_shape = "6x16x12sbq3d4ccccd"
// CHECK: npu.program {{.*}}llm.npu_shape = "6x12x16"
// CHECK-NOT: npu.program
func.func @experts(%x: tensor<1x6x16xf32>, %w: tensor<3x12x16xi8> {llm.weight = "w1"}, %s: tensor<3x1x12xf32>, %b: tensor<3x1x12xf32>, %a: tensor<3x6x12xi8>, %v: tensor<3x16x12xi8> {llm.weight = "w2"}) -> (tensor<3x6x12xf32>, tensor<3x6x16xi32>) {
  %sa = llm.constant dense<0.05> : tensor<f32>
  %q = llm.quantize %x, %sa : (tensor<1x6x16xf32>, tensor<f32>) -> tensor<1x6x16xi8>
  // expected-remark@+1 {{batched weight [3,12,16]: split into 3 products, one per batch entry}}
  %acc = llm.qmatmul %q, %w {transpose_rhs = true} : (tensor<1x6x16xi8>, tensor<3x12x16xi8>) -> tensor<3x6x12xi32>
  %y = llm.dequantize %acc, %s : (tensor<3x6x12xi32>, tensor<3x1x12xf32>) -> tensor<3x6x12xf32>
  %z = llm.add %y, %b : (tensor<3x6x12xf32>, tensor<3x1x12xf32>) -> tensor<3x6x12xf32>
  // expected-remark@+1 {{batched weight [3,16,12]: split into 3 products, one per batch entry}}
  %acc2 = llm.qmatmul %a, %v {transpose_rhs = true} : (tensor<3x6x12xi8>, tensor<3x16x12xi8>) -> tensor<3x6x16xi32>
  return %z, %acc2 : tensor<3x6x12xf32>, tensor<3x6x16xi32>
}

// -----

// An LSTM step's gates: the recurrent product's add reads the input
// product's biased result, which the first kernel's call replaces before
// the second kernel is offloaded; the second takes that call's result as
// its bias. (The pass read the erased add's result and crashed.)
// CHECK-LABEL: module
// CHECK: func.func @chained(%[[X:[^:]*]]: tensor<1x24xf32>, %[[H:[^:]*]]: tensor<1x32xf32>, %[[W:[^:]*]]: tensor<64x24xi8>, %[[R:[^:]*]]: tensor<64x32xi8>, %{{[^:]*}}: tensor<64xf32>, %[[B:[^:]*]]: tensor<1x64xf32>)
// CHECK: %[[IN:.*]] = call @llmc_npu_kernel_0(%{{.*}}, %[[X]], %[[W]], %{{.*}}, %[[B]])
// CHECK: %[[G:.*]] = call @llmc_npu_kernel_1(%{{.*}}, %[[H]], %[[R]], %{{.*}}, %[[IN]])
// CHECK-NOT: llm.add
// CHECK: return %[[G]]
func.func @chained(%x: tensor<1x24xf32>, %h: tensor<1x32xf32>, %w: tensor<64x24xi8>, %r: tensor<64x32xi8>, %s: tensor<64xf32>, %b: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %sa = llm.constant dense<0.03> : tensor<f32>
  %qx = llm.quantize %x, %sa : (tensor<1x24xf32>, tensor<f32>) -> tensor<1x24xi8>
  %ax = llm.qmatmul %qx, %w {transpose_rhs = true} : (tensor<1x24xi8>, tensor<64x24xi8>) -> tensor<1x64xi32>
  %dx = llm.dequantize %ax, %s : (tensor<1x64xi32>, tensor<64xf32>) -> tensor<1x64xf32>
  %bx = llm.add %dx, %b : (tensor<1x64xf32>, tensor<1x64xf32>) -> tensor<1x64xf32>
  %qh = llm.quantize %h, %sa : (tensor<1x32xf32>, tensor<f32>) -> tensor<1x32xi8>
  %ah = llm.qmatmul %qh, %r {transpose_rhs = true} : (tensor<1x32xi8>, tensor<64x32xi8>) -> tensor<1x64xi32>
  %dh = llm.dequantize %ah, %s : (tensor<1x64xi32>, tensor<64xf32>) -> tensor<1x64xf32>
  %g = llm.add %dh, %bx : (tensor<1x64xf32>, tensor<1x64xf32>) -> tensor<1x64xf32>
  return %g : tensor<1x64xf32>
}

// -----

// An add of two products' dequantized results matches both epilogues: the
// first kernel takes it, with the second product's result as its bias, and
// the second stops at its dequantize (no bias). (Both took it, and the
// pass erased it twice.)
// CHECK-LABEL: module
// CHECK: func.func private @llmc_npu_kernel_1({{.*}}) -> tensor<1x64xf32> attributes {llm.npu = {bias = false
// CHECK: func.func @shared_add(%[[X:[^:]*]]: tensor<1x24xf32>, %[[H:[^:]*]]: tensor<1x32xf32>
// CHECK: %[[RH:.*]] = call @llmc_npu_kernel_1(%{{.*}}, %[[H]],
// CHECK: %[[G:.*]] = call @llmc_npu_kernel_0(%{{.*}}, %[[X]], %{{.*}}, %{{.*}}, %[[RH]])
// CHECK-NOT: llm.add
// CHECK: return %[[G]]
func.func @shared_add(%x: tensor<1x24xf32>, %h: tensor<1x32xf32>, %w: tensor<64x24xi8>, %r: tensor<64x32xi8>, %s: tensor<64xf32>) -> tensor<1x64xf32> {
  %sa = llm.constant dense<0.03> : tensor<f32>
  %qx = llm.quantize %x, %sa : (tensor<1x24xf32>, tensor<f32>) -> tensor<1x24xi8>
  %ax = llm.qmatmul %qx, %w {transpose_rhs = true} : (tensor<1x24xi8>, tensor<64x24xi8>) -> tensor<1x64xi32>
  %dx = llm.dequantize %ax, %s : (tensor<1x64xi32>, tensor<64xf32>) -> tensor<1x64xf32>
  %qh = llm.quantize %h, %sa : (tensor<1x32xf32>, tensor<f32>) -> tensor<1x32xi8>
  %ah = llm.qmatmul %qh, %r {transpose_rhs = true} : (tensor<1x32xi8>, tensor<64x32xi8>) -> tensor<1x64xi32>
  %dh = llm.dequantize %ah, %s : (tensor<1x64xi32>, tensor<64xf32>) -> tensor<1x64xf32>
  %g = llm.add %dx, %dh : (tensor<1x64xf32>, tensor<1x64xf32>) -> tensor<1x64xf32>
  return %g : tensor<1x64xf32>
}
