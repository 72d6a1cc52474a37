// RUN: llm-opt %s --convert-llm-to-linalg --verify-each -split-input-file | FileCheck %s

// Grouped heads (Hq = 4, Hkv = 2) are read through `h floordiv 2`, never
// copied; the causal diagonal is shifted by Sk - Sq = 2; the i1 mask selects
// -inf; the softmax subtracts 0 on a fully masked row and yields 0 weights
// where the row sum is 0.
// CHECK-DAG: #[[Q:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG: #[[K:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, d3, d4)>
// CHECK-DAG: #[[S:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[V:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 floordiv 2, d4, d3)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[MASK:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, 0, 0, d3)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func @grouped_causal_masked
// CHECK-SAME: (%[[QA:.*]]: tensor<1x4x3x8xf32>, %[[KA:.*]]: tensor<1x2x5x8xf32>, %[[VA:.*]]: tensor<1x2x5x6xf32>, %[[MA:.*]]: tensor<1x1x1x5xi1>)
// CHECK: %[[SCORES:.*]] = linalg.generic {indexing_maps = [#[[Q]], #[[K]], #[[S]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[QA]], %[[KA]] : tensor<1x4x3x8xf32>, tensor<1x2x5x8xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[MASKED:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[MASK]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[SCORES]], %[[MA]] : tensor<1x4x3x5xf32>, tensor<1x1x1x5xi1>)
// CHECK: ^bb0(%[[SCORE:.*]]: f32, %[[KEEP:.*]]: i1, %{{.*}}: f32):
// CHECK: %[[SCALED:.*]] = arith.mulf %[[SCORE]], %{{.*}} : f32
// CHECK: %[[KEPT:.*]] = arith.select %[[KEEP]], %[[SCALED]], %{{.*}} : f32
// CHECK: %[[I:.*]] = linalg.index 2 : index
// CHECK: %[[J:.*]] = linalg.index 3 : index
// CHECK: %[[SHIFT:.*]] = arith.constant 2 : index
// CHECK: %[[LAST:.*]] = arith.addi %[[I]], %[[SHIFT]] : index
// CHECK: %[[HIDDEN:.*]] = arith.cmpi sgt, %[[J]], %[[LAST]] : index
// CHECK: arith.select %[[HIDDEN]], %{{.*}}, %[[KEPT]] : f32
// CHECK: %[[MAX:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[MASKED]] : tensor<1x4x3x5xf32>)
// CHECK: arith.maximumf
// CHECK: %[[EXP:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]]
// CHECK-SAME: ins(%[[MASKED]], %[[MAX]] : tensor<1x4x3x5xf32>, tensor<1x4x3xf32>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[M:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[EMPTY:.*]] = arith.cmpf oeq, %[[M]], %{{.*}} : f32
// CHECK: %[[SAFE:.*]] = arith.select %[[EMPTY]], %{{.*}}, %[[M]] : f32
// CHECK: %[[DIFF:.*]] = arith.subf %[[X]], %[[SAFE]] : f32
// CHECK: math.exp %[[DIFF]] : f32
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[EXP]] : tensor<1x4x3x5xf32>)
// CHECK: %[[WEIGHTS:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]]
// CHECK-SAME: ins(%[[EXP]], %[[SUM]] : tensor<1x4x3x5xf32>, tensor<1x4x3xf32>)
// CHECK: ^bb0(%[[E:.*]]: f32, %[[L:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[NONE:.*]] = arith.cmpf oeq, %[[L]], %[[ZERO]] : f32
// CHECK: %[[Q2:.*]] = arith.divf %[[E]], %[[L]] : f32
// CHECK: arith.select %[[NONE]], %[[ZERO]], %[[Q2]] : f32
// CHECK: %[[OUT:.*]] = linalg.generic {indexing_maps = [#[[Q]], #[[V]], #[[S]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[WEIGHTS]], %[[VA]] : tensor<1x4x3x5xf32>, tensor<1x2x5x6xf32>) outs(%{{.*}} : tensor<1x4x3x6xf32>)
// CHECK: return %[[OUT]] : tensor<1x4x3x6xf32>
// CHECK-NOT: llm.
func.func @grouped_causal_masked(%q: tensor<1x4x3x8xf32>, %k: tensor<1x2x5x8xf32>, %v: tensor<1x2x5x6xf32>, %m: tensor<1x1x1x5xi1>) -> tensor<1x4x3x6xf32> {
  %0 = llm.attention %q, %k, %v, %m {causal = true, scale = 0.5 : f32} : (tensor<1x4x3x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x6xf32>, tensor<1x1x1x5xi1>) -> tensor<1x4x3x6xf32>
  return %0 : tensor<1x4x3x6xf32>
}

// -----

// Multi-head, no batch dims, scale 1 and no mask: no masking generic at all;
// a float mask is added.
// CHECK-DAG: #[[K:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-LABEL: func @plain
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[K]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-NOT: arith.select
// CHECK: arith.maximumf
// CHECK-LABEL: func @additive
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x3x5xf32>, tensor<3x5xf32>)
// CHECK-NEXT: ^bb0(%[[SCORE:.*]]: f32, %[[BIAS:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[SUM:.*]] = arith.addf %[[SCORE]], %[[BIAS]] : f32
// CHECK-NEXT: linalg.yield %[[SUM]] : f32
func.func @plain(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>) -> tensor<2x3x4xf32> {
  %0 = llm.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x5x4xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}
func.func @additive(%q: tensor<2x3x4xf32>, %k: tensor<2x5x4xf32>, %v: tensor<2x5x4xf32>, %m: tensor<3x5xf32>) -> tensor<2x3x4xf32> {
  %0 = llm.attention %q, %k, %v, %m {scale = 1.0 : f32} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x5x4xf32>, tensor<3x5xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

