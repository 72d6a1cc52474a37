// Bad options are one-line errors and exit 2.
// RUN: %python %llmc_src/test/e2e/Inputs/expect-exit.py 2 llm-opt %s --convert-llm-to-gpu=mma-type=fp8 2>&1 | FileCheck %s --check-prefix=TYPE
// RUN: %python %llmc_src/test/e2e/Inputs/expect-exit.py 2 llm-opt %s --convert-llm-to-gpu=target-desc=npu 2>&1 | FileCheck %s --check-prefix=KIND
// RUN: %python %llmc_src/test/e2e/Inputs/expect-exit.py 2 llm-opt %s --convert-llm-to-gpu=target-desc=%t.missing.json 2>&1 | FileCheck %s --check-prefix=MISSING
// TYPE: error: convert-llm-to-gpu: mma-type must be bf16 or f16, not 'fp8'
// KIND: error: convert-llm-to-gpu: target description 'npu' is not a gpu
// MISSING: error: convert-llm-to-gpu: {{.*}}missing.json
// gpu figures the kernels cannot be made for: each an error naming the
// figure and what it must be.
// RUN: %python %llmc_src/test/Target/Inputs/edit-desc.py %llmc_src/targets/h100.json %t.smem.json gpu.shared_memory_per_block_bytes=16
// RUN: %python %llmc_src/test/e2e/Inputs/expect-exit.py 2 llm-opt %s --convert-llm-to-gpu=target-desc=%t.smem.json 2>&1 | FileCheck %s --check-prefix=SMEM
// SMEM: error: convert-llm-to-gpu: target description 'h100': gpu.shared_memory_per_block_bytes must be a whole number >= 32768
// RUN: %python %llmc_src/test/Target/Inputs/edit-desc.py %llmc_src/targets/h100.json %t.threads.json gpu.max_threads_per_block=128
// RUN: %python %llmc_src/test/e2e/Inputs/expect-exit.py 2 llm-opt %s --convert-llm-to-gpu=target-desc=%t.threads.json 2>&1 | FileCheck %s --check-prefix=THREADS
// THREADS: error: convert-llm-to-gpu: target description 'h100': gpu.max_threads_per_block must be a whole number >= 256 (the threads of the kernels' largest blocks)
// RUN: %python %llmc_src/test/Target/Inputs/edit-desc.py %llmc_src/targets/h100.json %t.warp.json gpu.warp_size=64
// RUN: %python %llmc_src/test/e2e/Inputs/expect-exit.py 2 llm-opt %s --convert-llm-to-gpu=target-desc=%t.warp.json 2>&1 | FileCheck %s --check-prefix=WARP
// WARP: error: convert-llm-to-gpu: target description 'h100': gpu.warp_size must be 32 (a PTX warp's threads)
// RUN: %python %llmc_src/test/Target/Inputs/edit-desc.py %llmc_src/targets/h100.json %t.sms.json gpu.sm_count=0
// RUN: %python %llmc_src/test/e2e/Inputs/expect-exit.py 2 llm-opt %s --convert-llm-to-gpu=target-desc=%t.sms.json 2>&1 | FileCheck %s --check-prefix=SMS
// SMS: error: convert-llm-to-gpu: target description 'h100': gpu.sm_count must be a whole number > 0
// RUN: %python %llmc_src/test/Target/Inputs/edit-desc.py %llmc_src/targets/h100.json %t.stages.json gpu.wgmma_stages=1 sources.gpu.wgmma_stages=test
// RUN: %python %llmc_src/test/e2e/Inputs/expect-exit.py 2 llm-opt %s --convert-llm-to-gpu=target-desc=%t.stages.json 2>&1 | FileCheck %s --check-prefix=STAGES
// STAGES: error: convert-llm-to-gpu: target description 'h100': gpu.wgmma_stages must be a whole number from 2 to 16
// RUN: %python %llmc_src/test/Target/Inputs/edit-desc.py %llmc_src/targets/h100.json %t.gemv.json gpu.gemv_max_rows=9 sources.gpu.gemv_max_rows=test
// RUN: %python %llmc_src/test/e2e/Inputs/expect-exit.py 2 llm-opt %s --convert-llm-to-gpu=target-desc=%t.gemv.json 2>&1 | FileCheck %s --check-prefix=GEMV
// GEMV: error: convert-llm-to-gpu: target description 'h100': gpu.gemv_max_rows must be a whole number from 0 to 8 (the GEMV kernel's rows; 0: no GEMV)
// The driver says the same in one line, exit 2.
// RUN: %python %llmc_src/test/e2e/Inputs/expect-exit.py 2 llm-compile %llmc_src/examples/gpt2-tiny/model.onnx --target ptx --target-desc %t.smem.json -o %t.art 2>&1 | FileCheck %s --check-prefix=DRIVER
// DRIVER: llm-compile: error: {{.*}}gpt2-tiny/model.onnx: convert-llm-to-gpu: target description 'h100': gpu.shared_memory_per_block_bytes must be a whole number >= 32768
// DRIVER-NOT: error
func.func @f(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %y = llm.matmul %x, %x : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}
