// RUN: llm-opt %s -split-input-file --async-parallel-for="async-dispatch=true num-workers=2" --llm-host-noinline-parallel-bodies --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-host-noinline-parallel-bodies --verify-each | FileCheck %s --check-prefix=UNTOUCHED

// The body async-parallel-for outlines is noinline; the dispatch function
// (called from @rows and from the async task that splits the range) and the
// function that holds the loop stay inlinable.
// CHECK-LABEL: func.func @rows
// CHECK-SAME: {
// CHECK-LABEL: func.func private @parallel_compute_fn
// CHECK-SAME: attributes {passthrough = ["noinline"]}
// CHECK: memref.load
// CHECK: arith.mulf
// CHECK: memref.store
// CHECK-LABEL: func.func private @async_dispatch_fn
// CHECK-NOT: passthrough
// CHECK: call @parallel_compute_fn
func.func @rows(%m: memref<4096xf32>) {
  %c0 = arith.constant 0 : index
  %c4096 = arith.constant 4096 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%c4096) step (%c1) {
    %v = memref.load %m[%i] : memref<4096xf32>
    %w = arith.mulf %v, %v : f32
    memref.store %w, %m[%i] : memref<4096xf32>
  }
  return
}

// -----

// A function of that name that already passes attributes through keeps
// them, and gets noinline once; other functions are left as they are.
// CHECK-LABEL: func.func private @parallel_compute_fn_7
// CHECK-SAME: passthrough = ["hot", "noinline"]
// CHECK-LABEL: func.func private @parallel_compute_fn_8
// CHECK-SAME: passthrough = ["noinline"]
// CHECK-LABEL: func.func @caller
// CHECK-NOT: passthrough
// UNTOUCHED-LABEL: func.func private @parallel_compute_fn_7
// UNTOUCHED-SAME: passthrough = ["hot", "noinline"]
// UNTOUCHED-LABEL: func.func private @parallel_compute_fn_8
// UNTOUCHED-SAME: passthrough = ["noinline"]
// UNTOUCHED-LABEL: func.func @caller
// UNTOUCHED-NOT: passthrough
func.func private @parallel_compute_fn_7() attributes {passthrough = ["hot"]} {
  return
}
func.func private @parallel_compute_fn_8() attributes {passthrough = ["noinline"]} {
  return
}
func.func @caller() {
  call @parallel_compute_fn_7() : () -> ()
  call @parallel_compute_fn_8() : () -> ()
  return
}
