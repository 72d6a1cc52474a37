// RUN: llm-opt %s --llm-host-pipeline | FileCheck %s

// The whole host path from the llm dialect: the 16x16 constant (at least 256
// elements) is outlined into a weight argument bound at run time and kept in
// `llm.weights`; the small one stays in the code.
// CHECK: module attributes {llm.weights = {proj = dense<5.000000e-01> : tensor<16x16xf32>}}
// CHECK-NOT: {{ (llm|linalg|tensor|memref|bufferization|scf|cf|func|math|arith|affine|builtin)\.}}
// CHECK-LABEL: llvm.func internal @forward(
// CHECK-LABEL: llvm.func @_mlir_ciface_forward(
// CHECK-SAME: %{{.*}}: !llvm.ptr {llm.name = "x"}, %{{.*}}: !llvm.ptr {llm.weight = "proj"}, %{{.*}}: !llvm.ptr {llm.name = "y"})
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK-NOT: {{ (llm|linalg|tensor|memref|bufferization|scf|cf|func|math|arith|affine|builtin)\.}}
func.func @forward(%x: tensor<2x16xf32> {llm.name = "x"}) -> (tensor<2x16xf32> {llm.name = "y"}) {
  %w = llm.constant dense<0.5> : tensor<16x16xf32> loc("proj")
  %b = llm.constant dense<1.0> : tensor<16xf32> loc("bias")
  %0 = llm.matmul %x, %w : (tensor<2x16xf32>, tensor<16x16xf32>) -> tensor<2x16xf32>
  %1 = llm.add %0, %b : (tensor<2x16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  %2 = llm.gelu %1 : tensor<2x16xf32>
  return %2 : tensor<2x16xf32>
}
