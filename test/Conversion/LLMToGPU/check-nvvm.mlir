// RUN: llm-opt %s -split-input-file --pass-pipeline='builtin.module(gpu.module(llm-gpu-check-nvvm))' --verify-diagnostics | FileCheck %s

// A fully lowered kernel module passes unchanged.
// CHECK-LABEL: gpu.module @lowered
// CHECK: llvm.func @k
gpu.module @lowered {
  llvm.func @k(%p: !llvm.ptr) attributes {nvvm.kernel} {
    %0 = nvvm.read.ptx.sreg.tid.x : i32
    llvm.return
  }
}

// -----

// An op the NVVM conversion left behind is named with its kernel.
gpu.module @leftover {
  llvm.func @k(%x: i8) attributes {nvvm.kernel} {
    // expected-error @+1 {{kernel 'k': 'math.absi' has no lowering to NVVM}}
    %0 = math.absi %x : i8
    llvm.return
  }
}

// -----

// A libdevice declaration: nothing links libdevice.
gpu.module @libdevice {
  // expected-error @+1 {{a kernel calls the libdevice function '__nv_exp', which nothing links}}
  llvm.func @__nv_exp(f64) -> f64
  llvm.func @k(%x: f64) attributes {nvvm.kernel} {
    %0 = llvm.call @__nv_exp(%x) : (f64) -> f64
    llvm.return
  }
}
