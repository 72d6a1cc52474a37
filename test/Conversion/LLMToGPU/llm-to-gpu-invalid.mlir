// Bad options are one-line errors and exit 2.
// RUN: %python %llmc_src/test/e2e/Inputs/expect-exit.py 2 llm-opt %s --convert-llm-to-gpu=mma-type=fp8 2>&1 | FileCheck %s --check-prefix=TYPE
// RUN: %python %llmc_src/test/e2e/Inputs/expect-exit.py 2 llm-opt %s --convert-llm-to-gpu=target-desc=npu 2>&1 | FileCheck %s --check-prefix=KIND
// RUN: %python %llmc_src/test/e2e/Inputs/expect-exit.py 2 llm-opt %s --convert-llm-to-gpu=target-desc=%t.missing.json 2>&1 | FileCheck %s --check-prefix=MISSING
// TYPE: error: convert-llm-to-gpu: mma-type must be bf16 or f16, not 'fp8'
// KIND: error: convert-llm-to-gpu: target description 'npu' is not a gpu
// MISSING: error: convert-llm-to-gpu: {{.*}}missing.json
func.func @f(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %y = llm.matmul %x, %x : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  return %y : tensor<4x4xf32>
}
