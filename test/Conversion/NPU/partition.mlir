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
  // expected-remark@+1 {{stays on the host: a batched rhs (the array's weights are one matrix)}}
  %3 = llm.qmatmul %a, %b : (tensor<4x32xi8>, tensor<3x32x64xi8>) -> tensor<3x4x64xi32>
  return %0, %1, %2, %3 : tensor<4x64xi32>, tensor<4x64xi32>, tensor<4x64xi32>, tensor<3x4x64xi32>
}
