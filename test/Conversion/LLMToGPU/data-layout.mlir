// RUN: llm-opt %s -split-input-file -verify-diagnostics --verify-each \
// RUN:   --pass-pipeline='builtin.module(gpu.module(llm-gpu-data-layout))' | FileCheck %s

// A kernel module with an NVVM target gets that machine's data layout: its
// i64 (and i128) alignment, which the translation to LLVM IR gives the
// loads and stores that carry none (LLVM's default layout aligns an i64 to
// 4 bytes, and NVPTX then loads it as two halves).
// CHECK-LABEL: gpu.module @kernels
// CHECK-SAME: llvm.data_layout = "e-{{.*}}i64:64-i128:128{{.*}}"
gpu.module @kernels [#nvvm.target<chip = "sm_90">] {
  llvm.func @gather_index(%arg0: !llvm.ptr) attributes {nvvm.kernel} {
    %index = llvm.load %arg0 : !llvm.ptr -> i64
    llvm.return
  }
}

// -----

// Without an NVVM target the module is left alone.
// CHECK-LABEL: gpu.module @no_target
// CHECK-NOT: llvm.data_layout
gpu.module @no_target {
}

// -----

// expected-error @+1 {{llm-gpu-data-layout: no target machine for 'bogus-unknown-none' (sm_90)}}
gpu.module @unknown_triple [#nvvm.target<triple = "bogus-unknown-none", chip = "sm_90">] {
}
