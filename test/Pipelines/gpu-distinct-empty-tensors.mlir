// RUN: llm-opt %s --llm-gpu-distinct-empty-tensors --verify-each -split-input-file | FileCheck %s
// RUN: llm-opt %s --llm-gpu-distinct-empty-tensors --eliminate-empty-tensors \
// RUN:   --one-shot-bufferize=bufferize-function-boundaries --cse --canonicalize | FileCheck %s --check-prefix=BUF
// RUN: llm-opt %s --eliminate-empty-tensors --one-shot-bufferize=bufferize-function-boundaries --cse \
// RUN:   --canonicalize | FileCheck %s --check-prefix=MERGED

// Two concats of one shape, each a computed part and a copied rest (a
// partial rotary embedding's q and k), whose destinations and parts' inits
// CSE merged: each use of the two tensor.empty ops gets its own, next to
// its user. Bufferized after eliminate-empty-tensors, both parts are then
// computed in their concat's slice, and only the rests are copied; with the
// merged destinations one part goes to a buffer of its own and is copied
// into its concat after.
// CHECK-LABEL: func.func @two_concats
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK: %[[E2:.*]] = tensor.empty() : tensor<4x8xf32>
// CHECK: %[[RA:.*]] = linalg.generic {{.*}} outs(%[[E2]] :
// CHECK: %[[RB:.*]] = linalg.generic {{.*}} outs(%[[E1]] :
// CHECK: %[[D1:.*]] = tensor.empty() : tensor<4x16xf32>
// CHECK: %[[D2:.*]] = tensor.empty() : tensor<4x16xf32>
// CHECK: tensor.insert_slice %[[RA]] into %[[D2]][0, 0]
// CHECK: tensor.insert_slice %[[RB]] into %[[D1]][0, 0]
// BUF-LABEL: func.func @two_concats
// BUF: %[[A:.*]] = memref.alloc() {{.*}} : memref<4x16xf32>
// BUF: %[[SA:.*]] = memref.subview %[[A]][0, 0] [4, 8]
// BUF: linalg.generic {{.*}} outs(%[[SA]] :
// BUF: %[[B:.*]] = memref.alloc() {{.*}} : memref<4x16xf32>
// BUF: %[[SB:.*]] = memref.subview %[[B]][0, 0] [4, 8]
// BUF: linalg.generic {{.*}} outs(%[[SB]] :
// BUF-NOT: memref.alloc
// BUF: memref.copy %arg0,
// BUF: memref.copy %arg1,
// BUF-NOT: memref.copy
// MERGED-LABEL: func.func @two_concats
// MERGED: memref.alloc() {{.*}} : memref<4x8xf32>
// MERGED: memref.copy %alloc_0,
#id = affine_map<(d0, d1) -> (d0, d1)>
func.func @two_concats(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %ra = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  } -> tensor<4x8xf32>
  %rb = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%b : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  } -> tensor<4x8xf32>
  %d = tensor.empty() : tensor<4x16xf32>
  %ca0 = tensor.insert_slice %ra into %d[0, 0] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<4x16xf32>
  %ca = tensor.insert_slice %a into %ca0[0, 8] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<4x16xf32>
  %cb0 = tensor.insert_slice %rb into %d[0, 0] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<4x16xf32>
  %cb = tensor.insert_slice %b into %cb0[0, 8] [4, 8] [1, 1] : tensor<4x8xf32> into tensor<4x16xf32>
  return %ca, %cb : tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// A dynamic tensor.empty: its copy takes the same size operand. An empty
// with one use, and one with none, stay as they are.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: (%[[N:[^:]*]]: index
// CHECK: %[[E:.*]] = tensor.empty(%[[N]]) : tensor<?xf32>
// CHECK: tensor.empty() : tensor<3xf32>
// CHECK: tensor.empty() : tensor<5xf32>
// CHECK: %[[C:.*]] = tensor.empty(%[[N]]) : tensor<?xf32>
// CHECK: linalg.fill {{.*}} outs(%[[C]] :
// CHECK: linalg.fill {{.*}} outs(%[[E]] :
// CHECK-NOT: tensor.empty
func.func @dynamic(%n: index, %v: f32) -> (tensor<?xf32>, tensor<?xf32>, tensor<3xf32>) {
  %e = tensor.empty(%n) : tensor<?xf32>
  %one = tensor.empty() : tensor<3xf32>
  %unused = tensor.empty() : tensor<5xf32>
  %f1 = linalg.fill ins(%v : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %f2 = linalg.fill ins(%v : f32) outs(%e : tensor<?xf32>) -> tensor<?xf32>
  %f3 = linalg.fill ins(%v : f32) outs(%one : tensor<3xf32>) -> tensor<3xf32>
  return %f1, %f2, %f3 : tensor<?xf32>, tensor<?xf32>, tensor<3xf32>
}
