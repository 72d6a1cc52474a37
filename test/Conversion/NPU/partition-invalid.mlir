// RUN: llm-opt %s --llm-npu-partition="target=h100" -verify-diagnostics
// RUN: not llm-opt %s --llm-npu-partition="target=%S/no-such.json" 2>&1 | FileCheck %s --check-prefix=MISSING

// The description must be an NPU's, and must exist.
// MISSING: error: llm-npu-partition: {{.*}}no-such.json: cannot read target description
// expected-error@below {{llm-npu-partition: bundled:h100: description 'h100' is of kind 'gpu', not 'npu'}}
module {
  func.func @f(%a: tensor<4x32xi8>, %w: tensor<32x64xi8>) -> tensor<4x64xi32> {
    %0 = llm.qmatmul %a, %w : (tensor<4x32xi8>, tensor<32x64xi8>) -> tensor<4x64xi32>
    return %0 : tensor<4x64xi32>
  }
}
