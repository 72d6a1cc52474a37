// RUN: llm-opt %s --llm-host-pipeline --mlir-print-ir-after=llm-host-hoist-loads -o /dev/null 2>&1 \
// RUN:   | FileCheck %s --implicit-check-not "memref<32x16xf32>" --implicit-check-not "memref<4x32x16xf32>"

// The host pipeline's weight layout and loads, at the loops. A weight read
// transposed ([N, K] = [32, 16], ONNX Gemm's transB) and a table of experts
// gathered per row ([E, N, K] = [4, 32, 16], llm-route-experts' layout) are
// stored [K, N] and [E, K, N] at compile time (llm-n-major-weights): no
// [N, K] buffer, and no transposing copy, is left in the loops. Both
// products walk N innermost over rows of the weight, the Gemm's on register
// tiles (llm-host-register-tiles; vectors of the host's width). The routed
// product's
// expert index (a reduction's result, in a buffer of its own) is loaded and
// clamped once per row, before the k loop (llm-host-hoist-loads).
// CHECK-LABEL: func.func @forward
// CHECK-SAME: %[[T:[^:]*]]: memref<4x16x32xf32> {llm.weight = "experts"}, %[[W:[^:]*]]: memref<16x32xf32> {llm.weight = "fc"}
// CHECK: scf.for %[[K:[^ ]*]] = %c0 to %c16 step %c1 iter_args
// CHECK: vector.load %[[W]][%[[K]], %{{.*}}] : memref<16x32xf32>, vector<{{8|16}}xf32>
// CHECK: memref.store %cst, %{{.*}} : memref<2x1x32xf32>
// CHECK: scf.parallel (%[[R:.*]]) = (%c0) to (%c2)
// CHECK-NEXT: %[[ID:.*]] = memref.load %{{.*}}[%[[R]]] : memref<2xi64>
// CHECK-NEXT: arith.index_cast %[[ID]]
// CHECK: %[[E:.*]] = arith.minsi
// CHECK-NEXT: scf.for %[[K2:.*]] = %c0 to %c16
// CHECK-NEXT: scf.parallel (%[[N2:.*]]) = (%c0) to (%c32)
// CHECK-NOT: memref<2xi64>
// CHECK: memref.load %[[T]][%[[E]], %[[K2]], %[[N2]]] : memref<4x16x32xf32>
func.func @forward(%x: tensor<2x16xf32> {llm.name = "x"}, %r: tensor<2x1x16xf32> {llm.name = "r"}, %i: tensor<2x3xi64> {llm.name = "i"}) -> (tensor<2x32xf32> {llm.name = "y"}, tensor<2x1x32xf32> {llm.name = "z"}) {
  %w = llm.constant dense<0.5> : tensor<32x16xf32> loc("fc")
  %0 = llm.matmul %x, %w {transpose_rhs = true} : (tensor<2x16xf32>, tensor<32x16xf32>) -> tensor<2x32xf32>
  %t = llm.constant dense<0.25> : tensor<4x32x16xf32> loc("experts")
  %m = llm.reduce_max %i {axes = array<i64: 1>} : (tensor<2x3xi64>) -> tensor<2x1xi64>
  %ids = llm.reshape %m : (tensor<2x1xi64>) -> tensor<2xi64>
  %g = llm.gather %t, %ids {axis = 0 : i64} : (tensor<4x32x16xf32>, tensor<2xi64>) -> tensor<2x32x16xf32>
  %1 = llm.matmul %r, %g {transpose_rhs = true} : (tensor<2x1x16xf32>, tensor<2x32x16xf32>) -> tensor<2x1x32xf32>
  %2 = llm.relu %1 : tensor<2x1x32xf32>
  return %0, %2 : tensor<2x32xf32>, tensor<2x1x32xf32>
}
