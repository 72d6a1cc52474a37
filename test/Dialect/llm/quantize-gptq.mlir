// RUN: llm-opt %s -split-input-file --llm-quantize="mode=w4 group-size=4 weights=gptq gptq-act-order=false" --verify-each | FileCheck %s --check-prefixes=CHECK,ZERO
// RUN: llm-opt %s -split-input-file --llm-quantize="mode=w4 group-size=4 weights=gptq" --verify-each | FileCheck %s --check-prefix=ACT
// RUN: llm-opt %s -split-input-file --llm-quantize="mode=w4 group-size=4" --verify-each | FileCheck %s --check-prefix=RTN
// RUN: llm-opt %s -split-input-file --llm-quantize="mode=int8 activations=dynamic weights=gptq" --verify-each | FileCheck %s --check-prefix=INT8
// GPTQ against a numpy transcription of the paper's algorithm, on a weight
// whose calibration inputs have correlated channels of unequal energy (and
// one dead channel), in act order (the default) and in natural order:
// RUN: %python %S/Inputs/gptq-reference.py llm-opt --mode w4 --group-size 16 --work %t.w4.mlir | FileCheck %s --check-prefixes=REF,REF-ACT
// RUN: %python %S/Inputs/gptq-reference.py llm-opt --mode w8 --work %t.w8.mlir | FileCheck %s --check-prefixes=REF,REF-ACT
// RUN: %python %S/Inputs/gptq-reference.py llm-opt --mode w4 --group-size 16 --natural-order --work %t.w4n.mlir | FileCheck %s --check-prefix=REF
// RUN: %python %S/Inputs/gptq-reference.py llm-opt --mode w8 --natural-order --work %t.w8n.mlir | FileCheck %s --check-prefix=REF
// REF-ACT: PASS output error / natural order's
// REF: PASS integers equal to the reference's
// REF: PASS output error
// REF: PASS output error / round-to-nearest's
// REF: PASS the dead channel is zero

// With llm.act_gram, weights=gptq chooses other integers than rounding to
// nearest (the Gram matrix of all-ones inputs: every channel's error moves
// to the channels after it). In natural order the scales of the first group
// are RTN's, the others come from the updated weights; in act order (here
// the natural one: the diagonal is flat) every group's scales are RTN's
// ("static groups"). The attribute is gone after the pass.

// CHECK: llm.quantization = {{{.*}}gptq_fallbacks = 0 : i64, gptq_order = "natural", gptq_weights = 1 : i64, matmuls = 1 : i64, mode = "w4", weights = "gptq"}
// CHECK-NOT: llm.act_gram
// CHECK: llm.constant dense<{{\[\[}}0.105714284, 9.218840e-02], [1.400000e-01, 0.0849910899], [0.094285719, 0.116528571]]> : tensor<3x2xf32>
// CHECK: weight.w4: "0x01000000714D93610CF7375BD47219E6"
// ACT: gptq_order = "act", gptq_weights = 1 : i64
// ACT-NOT: llm.act_gram
// ACT: llm.constant dense<{{\[\[}}0.105714284, 0.0899999961], [1.400000e-01, 0.0814285725], [0.094285719, 0.115714289]]> : tensor<3x2xf32>
// ACT: weight.w4: "0x01000000714D93610CF7375BD47219E6"
// RTN: llm.quantization = {embeddings = 0 : i64, gathered_weights = 0 : i64, matmuls = 1 : i64, mode = "w4"}
// RTN: llm.constant dense<{{\[\[}}0.105714284, 0.0899999961], [1.400000e-01, 0.0814285725], [0.094285719, 0.115714289]]> : tensor<3x2xf32>
// RTN-NOT: 0x01000000714D93610CF7375BD47219E6
// INT8: gptq_weights = 1 : i64
// INT8: llm.qmatmul
func.func @f(%x: tensor<4x8xf32>) -> tensor<4x3xf32> {
  %w = llm.constant dense<[[0.11, -0.52, 0.33], [0.74, 0.05, -0.26], [-0.37, 0.98, 0.19], [0.41, -0.13, 0.66], [0.29, 0.57, -0.81], [-0.63, 0.22, 0.09], [0.15, -0.44, 0.71], [0.52, 0.36, -0.18]]> : tensor<8x3xf32>
  %y = llm.matmul %x, %w {llm.act_gram = dense<1.0> : tensor<8x8xf32>} : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// A Gram matrix of zeros (no calibration input reached the product): the
// weight keeps RTN's integers and is not counted as GPTQ's.
// ZERO: gptq_fallbacks = 0 : i64, gptq_order = "natural", gptq_weights = 0 : i64, matmuls = 1 : i64
// ZERO: weight.w4: "0x01000000714C93620CF7374BD47219E6"
func.func @unreached(%x: tensor<4x8xf32>) -> tensor<4x3xf32> {
  %w = llm.constant dense<[[0.11, -0.52, 0.33], [0.74, 0.05, -0.26], [-0.37, 0.98, 0.19], [0.41, -0.13, 0.66], [0.29, 0.57, -0.81], [-0.63, 0.22, 0.09], [0.15, -0.44, 0.71], [0.52, 0.36, -0.18]]> : tensor<8x3xf32>
  %y = llm.matmul %x, %w {llm.act_gram = dense<0.0> : tensor<8x8xf32>} : (tensor<4x8xf32>, tensor<8x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}
