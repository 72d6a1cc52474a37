// RUN: llm-opt %s -split-input-file --llm-gpu-drop-compile-times --verify-diagnostics | FileCheck %s

// gpu-module-to-binary's serialization times go; the other properties, the
// target, the format and the PTX stay, for every object of every binary.
// CHECK-LABEL: module @timed
// CHECK: gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_90">, properties = {O = 3 : i32}, assembly = ".version 8.0">, #gpu.object<#nvvm.target<chip = "sm_90a">, properties = {O = 3 : i32, extra = "kept"}, bin = "cubin">]
// CHECK: gpu.binary @only_times [#gpu.object<#nvvm.target<chip = "sm_90">, ".version 8.0">]
module @timed {
  gpu.binary @kernels [
    #gpu.object<#nvvm.target<chip = "sm_90">, properties = {LLVMIRToISATimeInMs = 105 : i64, O = 3 : i32}, assembly = ".version 8.0">,
    #gpu.object<#nvvm.target<chip = "sm_90a">, properties = {ISAToBinaryTimeInMs = 7 : i64, LLVMIRToISATimeInMs = 96 : i64, O = 3 : i32, extra = "kept"}, bin = "cubin">
  ]
  gpu.binary @only_times [#gpu.object<#nvvm.target<chip = "sm_90">, properties = {LLVMIRToISATimeInMs = 1 : i64}, ".version 8.0">]
}

// -----

// Objects without times, and without properties, are left as they are.
// CHECK-LABEL: module @untimed
// CHECK: gpu.binary @plain [#gpu.object<#nvvm.target<chip = "sm_90">, ".version 8.0">]
// CHECK: gpu.binary @props [#gpu.object<#nvvm.target<chip = "sm_90">, properties = {O = 3 : i32}, ".version 8.0">]
module @untimed {
  gpu.binary @plain [#gpu.object<#nvvm.target<chip = "sm_90">, ".version 8.0">]
  gpu.binary @props [#gpu.object<#nvvm.target<chip = "sm_90">, properties = {O = 3 : i32}, ".version 8.0">]
}
