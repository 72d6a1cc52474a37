// RUN: llm-opt %s -split-input-file --llm-host-entry-abi --verify-diagnostics | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-host-entry-abi=internal-linkage=false --verify-diagnostics | FileCheck %s --check-prefix=HLS

// Public functions get the C interface, internal linkage (only its wrapper is
// called) and read-only tensor arguments;
// private ones are left alone.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: (%{{.*}}: tensor<2xf32> {bufferization.writable = false, llm.name = "x"}, %{{.*}}: tensor<2xf32> {bufferization.writable = false, llm.weight = "w"}, %{{.*}}: i64 {llm.name = "n"})
// CHECK-SAME: attributes {llvm.emit_c_interface, llvm.linkage = #llvm.linkage<internal>}
// The HLS path writes C++ and keeps the default linkage.
// HLS-LABEL: func.func @forward
// HLS-SAME: attributes {llvm.emit_c_interface} {
// CHECK-LABEL: func.func private @helper
// CHECK-SAME: (%{{.*}}: tensor<2xf32>) -> tensor<2xf32> {
func.func @forward(%x: tensor<2xf32> {llm.name = "x"}, %w: tensor<2xf32> {llm.weight = "w"}, %n: i64 {llm.name = "n"}) -> tensor<2xf32> {
  %0 = call @helper(%x) : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
func.func private @helper(%x: tensor<2xf32>) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}

// -----

// A value returned twice gets a copy for its second result, so that each
// result has a buffer of its own.
// CHECK-LABEL: func.func @twice
// CHECK: %[[X:.*]] = math.exp
// CHECK: %[[COPY1:.*]] = bufferization.alloc_tensor() copy(%[[X]]) : tensor<3xf32>
// CHECK: %[[COPY2:.*]] = bufferization.alloc_tensor() copy(%[[X]]) : tensor<3xf32>
// CHECK: return %[[X]], %[[COPY1]], %[[COPY2]]
func.func @twice(%a: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
  %x = math.exp %a : tensor<3xf32>
  return %x, %x, %x : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
}

// -----

// expected-error @+1 {{result #1 of @dynamic has the dynamic shape 'tensor<?xf32>'}}
func.func @dynamic(%a: tensor<?xf32>) -> (tensor<2xf32>, tensor<?xf32>) {
  %c = arith.constant dense<1.0> : tensor<2xf32>
  return %c, %a : tensor<2xf32>, tensor<?xf32>
}
