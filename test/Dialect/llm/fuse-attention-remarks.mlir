// RUN: llm-opt %s --llm-fuse-attention=remarks=true --verify-each -o /dev/null 2>&1 | FileCheck %s

// With remarks=true, llm-fuse-attention counts its rewrites and points at
// each softmax of attention (one whose weights reach a product) that it
// left unfused; a softmax that weighs no values gets no remark.

// CHECK: remark: llm-fuse-attention: fused-attentions 1, causal-masks 0, row-masks 0

func.func @fused(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %p = llm.softmax %s {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// A bias under the soft-cap: llm.attention caps the scores before its mask.
func.func @bias_under_softcap(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %b: tensor<1x2x4x4xf32>) -> tensor<1x2x4x8xf32> {
  %cap = llm.constant dense<5.0> : tensor<f32>
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x4xf32>
  %a = llm.add %s, %b : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %d = llm.div %a, %cap : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %t = llm.tanh %d : tensor<1x2x4x4xf32>
  %c = llm.mul %t, %cap : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  // CHECK: fuse-attention-remarks.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: llm-fuse-attention: softmax of attention left unfused
  %p = llm.softmax %c {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = llm.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// The weights also returned, through a reshape to the product.
func.func @weights_returned(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x8xf32>) -> (tensor<2x4x8xf32>, tensor<2x4x4xf32>) {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x4xf32>
  // CHECK: fuse-attention-remarks.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: llm-fuse-attention: softmax of attention left unfused
  %p = llm.softmax %s {axis = 2 : i64} : tensor<2x4x4xf32>
  %r = llm.reshape %p : (tensor<2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %r3 = llm.reshape %r : (tensor<1x2x4x4xf32>) -> tensor<2x4x4xf32>
  %o = llm.matmul %r3, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %o, %p : tensor<2x4x8xf32>, tensor<2x4x4xf32>
}

// An imported op names its ONNX node.
func.func @named(%q: tensor<2x4x8xf32>, %k: tensor<2x4x8xf32>, %v: tensor<2x4x8xf32>) -> (tensor<2x4x8xf32>, tensor<2x4x4xf32>) {
  %s = llm.matmul %q, %k {transpose_rhs = true} : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x4xf32>
  // CHECK: remark: {{.*}}llm-fuse-attention: softmax of attention left unfused (node '/layer.0/attn/Softmax'): its scores chain is no form this pass knows
  %p = llm.softmax %s {axis = 2 : i64} : tensor<2x4x4xf32> loc("/layer.0/attn/Softmax")
  %o = llm.matmul %p, %v : (tensor<2x4x4xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return %o, %p : tensor<2x4x8xf32>, tensor<2x4x4xf32>
}

// A router's softmax, whose weights are a product's right operand, weighs
// no values as attention does.
func.func @router(%logits: tensor<4x8xf32>, %e: tensor<16x4xf32>) -> tensor<16x8xf32> {
  %p = llm.softmax %logits {axis = 1 : i64} : tensor<4x8xf32>
  %y = llm.matmul %e, %p : (tensor<16x4xf32>, tensor<4x8xf32>) -> tensor<16x8xf32>
  return %y : tensor<16x8xf32>
}
// CHECK-NOT: left unfused
