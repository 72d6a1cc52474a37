// PTX that calls an external function (a libdevice call left by some op)
// would assemble here but fail when the driver loads it: the ptx target
// refuses it with one line naming the function, exit 2.
// RUN: %python %llmc_src/test/e2e/Inputs/expect-exit.py 2 llm-translate --emit-ptx %s 2>&1 | FileCheck %s --implicit-check-not=note
// CHECK: llm-translate: error: the PTX calls the external function '__nv_fmaxf', which nothing links
module attributes {gpu.container_module} {
  gpu.binary @llm_kernels [#gpu.object<#nvvm.target<chip = "sm_90">, assembly = ".version 8.0\0A.target sm_90\0A.address_size 64\0A.extern .func  (.param .b32 func_retval0) __nv_fmaxf\0A(\0A\09.param .b32 __nv_fmaxf_param_0,\0A\09.param .b32 __nv_fmaxf_param_1\0A)\0A;\0A">]
}
