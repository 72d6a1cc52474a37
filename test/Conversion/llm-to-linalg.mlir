// RUN: llm-opt %s --convert-llm-to-linalg --verify-each -split-input-file | FileCheck %s

// CHECK-LABEL: func @constant
// CHECK-DAG: arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-DAG: arith.constant dense_resource<weight> : tensor<2xf32>
// CHECK-NOT: llm.
func.func @constant() -> (tensor<2xf32>, tensor<2xf32>) {
  %0 = llm.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %1 = llm.constant dense_resource<weight> : tensor<2xf32>
  return %0, %1 : tensor<2xf32>, tensor<2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      weight: "0x040000000000803F00000040"
    }
  }
#-}

// -----

// Numpy broadcasting: size-1 dims read index 0, missing leading dims drop.
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2) -> (d0, 0, d2)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-LABEL: func @add_broadcast
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<2x3x4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<2x1x4xf32>, tensor<3x1xf32>) outs(%[[INIT]] : tensor<2x3x4xf32>)
// CHECK: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[SUM:.*]] = arith.addf %[[A]], %[[B]] : f32
// CHECK-NEXT: linalg.yield %[[SUM]] : f32
// CHECK-NOT: llm.
func.func @add_broadcast(%a: tensor<2x1x4xf32>, %b: tensor<3x1xf32>) -> tensor<2x3x4xf32> {
  %0 = llm.add %a, %b : (tensor<2x1x4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[SCALAR:.*]] = affine_map<(d0, d1) -> ()>
// CHECK-LABEL: func @where_expand
// CHECK: linalg.generic {indexing_maps = [#[[SCALAR]], #{{.*}}]
// CHECK-SAME: ins(%{{.*}} : tensor<f32>) outs(%{{.*}} : tensor<4x3xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[ROW]], #{{.*}}, #[[SCALAR]], #{{.*}}]
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK-NOT: llm.
func.func @where_expand(%c: tensor<3xi1>, %t: tensor<4x3xf32>, %f: tensor<f32>) -> (tensor<4x3xf32>, tensor<4x3xf32>) {
  %0 = llm.expand %f : (tensor<f32>) -> tensor<4x3xf32>
  %1 = llm.where %c, %t, %f : (tensor<3xi1>, tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xf32>
  return %0, %1 : tensor<4x3xf32>, tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func @integer_arithmetic
// CHECK: arith.divsi
// CHECK: %[[REM:.*]] = arith.remsi %[[X:.*]], %[[Y:.*]] : i64
// CHECK: %[[ADJ:.*]] = arith.addi %[[REM]], %[[Y]] : i64
// CHECK: %[[NZ:.*]] = arith.cmpi ne, %[[REM]], %{{.*}} : i64
// CHECK: %[[RNEG:.*]] = arith.cmpi slt, %[[REM]], %{{.*}} : i64
// CHECK: %[[YNEG:.*]] = arith.cmpi slt, %[[Y]], %{{.*}} : i64
// CHECK: %[[DIFF:.*]] = arith.xori %[[RNEG]], %[[YNEG]] : i1
// CHECK: %[[FIX:.*]] = arith.andi %[[NZ]], %[[DIFF]] : i1
// CHECK: arith.select %[[FIX]], %[[ADJ]], %[[REM]] : i64
// CHECK: math.ipowi
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: %[[ZERO:.*]] = arith.constant 0 : i64
// CHECK: arith.subi %[[ZERO]], %{{.*}} : i64
// CHECK: math.absi
// CHECK-NOT: llm.
func.func @integer_arithmetic(%a: tensor<4xi64>, %b: tensor<4xi64>) -> (tensor<4xi64>, tensor<4xi64>, tensor<4xi64>, tensor<4xi64>, tensor<4xi64>, tensor<4xi64>, tensor<4xi64>) {
  %0 = llm.div %a, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %1 = llm.mod %a, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %2 = llm.pow %a, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %3 = llm.max %a, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %4 = llm.min %a, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %5 = llm.neg %a : tensor<4xi64>
  %6 = llm.abs %a : tensor<4xi64>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<4xi64>, tensor<4xi64>, tensor<4xi64>, tensor<4xi64>, tensor<4xi64>, tensor<4xi64>, tensor<4xi64>
}

// -----

// CHECK-LABEL: func @compare_logical
// CHECK: arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// CHECK: arith.cmpi sge, %{{.*}}, %{{.*}} : i32
// CHECK: arith.cmpi ugt, %{{.*}}, %{{.*}} : i1
// CHECK: arith.andi
// CHECK: arith.ori
// CHECK: %[[TRUE:.*]] = arith.constant true
// CHECK: arith.xori %{{.*}}, %[[TRUE]] : i1
// CHECK-NOT: llm.
func.func @compare_logical(%x: tensor<4xf32>, %i: tensor<4xi32>, %p: tensor<4xi1>) -> (tensor<4xi1>, tensor<4xi1>) {
  %0 = llm.less %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %1 = llm.greater_equal %i, %i : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi1>
  %2 = llm.greater %p, %p : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %3 = llm.and %0, %1 : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %4 = llm.or %3, %2 : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %5 = llm.not %4 : tensor<4xi1>
  return %4, %5 : tensor<4xi1>, tensor<4xi1>
}

// -----

// Shifts are unsigned (logical right shift); an amount of the bit width or
// more, where arith's shifts are poison, selects 0.
// CHECK-LABEL: func @shifts
// CHECK: %[[W:.*]] = arith.constant 16 : i16
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[S:.*]], %[[W]] : i16
// CHECK: %[[L:.*]] = arith.shli %[[X:.*]], %[[S]] : i16
// CHECK: arith.select %[[IN]], %[[L]], %{{.*}} : i16
// CHECK: arith.cmpi ult
// CHECK: arith.shrui %{{.*}}, %{{.*}} : i16
// CHECK: arith.select
// CHECK-NOT: llm.
func.func @shifts(%x: tensor<4xi16>, %s: tensor<i16>) -> (tensor<4xi16>, tensor<4xi16>) {
  %0 = llm.shift_left %x, %s : (tensor<4xi16>, tensor<i16>) -> tensor<4xi16>
  %1 = llm.shift_right %x, %s : (tensor<4xi16>, tensor<i16>) -> tensor<4xi16>
  return %0, %1 : tensor<4xi16>, tensor<4xi16>
}

// -----

// CHECK-LABEL: func @cast
// CHECK: arith.fptosi %{{.*}} : f32 to i32
// CHECK: arith.uitofp %{{.*}} : i1 to f32
// CHECK: arith.sitofp %{{.*}} : i64 to f32
// CHECK: arith.cmpf une, %{{.*}}, %{{.*}} : f32
// CHECK: arith.cmpi ne, %{{.*}}, %{{.*}} : i64
// CHECK: arith.extui %{{.*}} : i1 to i64
// CHECK: arith.trunci %{{.*}} : i64 to i32
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK-NOT: llm.
func.func @cast(%f: tensor<3xf32>, %p: tensor<3xi1>, %i: tensor<3xi64>, %h: tensor<3xf16>)
    -> (tensor<3xi32>, tensor<3xf32>, tensor<3xf32>, tensor<3xi1>, tensor<3xi1>, tensor<3xi64>, tensor<3xi32>, tensor<3xf32>, tensor<3xbf16>) {
  %0 = llm.cast %f : (tensor<3xf32>) -> tensor<3xi32>
  %1 = llm.cast %p : (tensor<3xi1>) -> tensor<3xf32>
  %2 = llm.cast %i : (tensor<3xi64>) -> tensor<3xf32>
  %3 = llm.cast %f : (tensor<3xf32>) -> tensor<3xi1>
  %4 = llm.cast %i : (tensor<3xi64>) -> tensor<3xi1>
  %5 = llm.cast %p : (tensor<3xi1>) -> tensor<3xi64>
  %6 = llm.cast %i : (tensor<3xi64>) -> tensor<3xi32>
  %7 = llm.cast %h : (tensor<3xf16>) -> tensor<3xf32>
  %8 = llm.cast %f : (tensor<3xf32>) -> tensor<3xbf16>
  return %0, %1, %2, %3, %4, %5, %6, %7, %8 : tensor<3xi32>, tensor<3xf32>, tensor<3xf32>, tensor<3xi1>, tensor<3xi1>, tensor<3xi64>, tensor<3xi32>, tensor<3xf32>, tensor<3xbf16>
}

// -----

// Exact activations: libm-backed math ops, no polynomial approximations.
// CHECK-LABEL: func @activations
// CHECK: ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[C:.*]] = arith.constant 0.707106769 : f32
// CHECK: %[[S:.*]] = arith.mulf %[[X]], %[[C]] : f32
// CHECK: %[[E:.*]] = math.erf %[[S]] : f32
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[P:.*]] = arith.addf %[[ONE]], %[[E]] : f32
// CHECK: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[H:.*]] = arith.mulf %[[HALF]], %[[X]] : f32
// CHECK: arith.mulf %[[H]], %[[P]] : f32
// CHECK: arith.constant 4.471500e-02 : f32
// CHECK: arith.constant 0.797884583 : f32
// CHECK: math.tanh
// CHECK: ^bb0(%[[Y:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[N:.*]] = arith.negf %[[Y]] : f32
// CHECK: %[[EXP:.*]] = math.exp %[[N]] : f32
// CHECK: %[[D:.*]] = arith.addf %{{.*}}, %[[EXP]] : f32
// CHECK: %[[SIG:.*]] = arith.divf %{{.*}}, %[[D]] : f32
// CHECK: arith.mulf %[[Y]], %[[SIG]] : f32
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : f32
// CHECK: math.rsqrt
// CHECK-NOT: llm.
func.func @activations(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %0 = llm.gelu %x : tensor<8xf32>
  %1 = llm.gelu %x {approximation = #llm<gelu_approximation<tanh>>} : tensor<8xf32>
  %2 = llm.silu %x : tensor<8xf32>
  %3 = llm.relu %x : tensor<8xf32>
  %4 = llm.rsqrt %x : tensor<8xf32>
  return %0, %1, %2, %3, %4 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
}

// -----

// Batch dims broadcast ([2,1] against [3]), both operands transposed.
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, 0, d4, d2)>
// CHECK-DAG: #[[RHS:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d1, d3, d4)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @matmul
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[FILL:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<2x3x3x5xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: outs(%[[FILL]] : tensor<2x3x3x5xf32>)
// CHECK: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %[[ACC:.*]]: f32):
// CHECK: %[[M:.*]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK: arith.addf %[[ACC]], %[[M]] : f32
// CHECK-NOT: llm.
func.func @matmul(%a: tensor<2x1x4x3xf32>, %b: tensor<3x5x4xf32>) -> tensor<2x3x3x5xf32> {
  %0 = llm.matmul %a, %b {transpose_lhs = true, transpose_rhs = true} : (tensor<2x1x4x3xf32>, tensor<3x5x4xf32>) -> tensor<2x3x3x5xf32>
  return %0 : tensor<2x3x3x5xf32>
}

// -----

// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[BIAS:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @gemm
// CHECK: %[[P:.*]] = linalg.generic {indexing_maps = [#[[A]], #[[B]], #{{.*}}], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[BIAS]], #{{.*}}]
// CHECK-SAME: ins(%[[P]], %{{.*}} : tensor<3x5xf32>, tensor<5xf32>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[C:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[ALPHA:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[SX:.*]] = arith.mulf %[[ALPHA]], %[[X]] : f32
// CHECK: arith.addf %[[SX]], %[[C]] : f32
// CHECK-LABEL: func @gemm_plain
// CHECK: %[[P:.*]] = linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return %[[P]]
// CHECK-NOT: llm.
func.func @gemm(%a: tensor<3x4xf32>, %b: tensor<5x4xf32>, %c: tensor<5xf32>) -> tensor<3x5xf32> {
  %0 = llm.gemm %a, %b, %c {transpose_b = true, alpha = 0.5 : f32} : (tensor<3x4xf32>, tensor<5x4xf32>, tensor<5xf32>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}
func.func @gemm_plain(%a: tensor<3x4xf32>, %b: tensor<4x5xf32>) -> tensor<3x5xf32> {
  %0 = llm.gemm %a, %b : (tensor<3x4xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// -----

// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[KEPT:.*]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func @reductions
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<3xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[IN]], #[[KEPT]]], iterator_types = ["reduction", "parallel", "reduction"]}
// CHECK-SAME: outs(%[[INIT]] : tensor<3xf32>)
// CHECK: %[[COUNT:.*]] = arith.constant 8.000000e+00 : f32
// CHECK: arith.divf %{{.*}}, %[[COUNT]] : f32
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1, 2]] output_shape [1, 3, 1] : tensor<3xf32> into tensor<1x3x1xf32>
// CHECK: %[[MIN:.*]] = arith.constant -9223372036854775808 : i64
// CHECK: linalg.fill ins(%[[MIN]] : i64)
// CHECK: arith.maxsi
// CHECK: %[[INF:.*]] = arith.constant 0x7F800000 : f32
// CHECK: linalg.fill ins(%[[INF]] : f32)
// CHECK: arith.minimumf
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: linalg.fill ins(%[[ONE]] : f32)
// CHECK: arith.mulf
// CHECK-NOT: llm.
func.func @reductions(%x: tensor<2x3x4xf32>, %i: tensor<2x3xi64>) -> (tensor<1x3x1xf32>, tensor<2xi64>, tensor<f32>, tensor<2x1x4xf32>) {
  %0 = llm.reduce_mean %x {axes = array<i64: 0, 2>} : (tensor<2x3x4xf32>) -> tensor<1x3x1xf32>
  %1 = llm.reduce_max %i {axes = array<i64: 1>, keepdims = false} : (tensor<2x3xi64>) -> tensor<2xi64>
  %2 = llm.reduce_min %x {axes = array<i64: 0, 1, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<f32>
  %3 = llm.reduce_prod %x {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  return %0, %1, %2, %3 : tensor<1x3x1xf32>, tensor<2xi64>, tensor<f32>, tensor<2x1x4xf32>
}

// -----

// Stable softmax: max-reduce, exp(x - max), sum-reduce, divide.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func @softmax
// CHECK: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[MAXINIT:.*]] = linalg.fill ins(%[[NEGINF]] : f32) outs(%{{.*}} : tensor<2x4xf32>)
// CHECK: %[[MAX:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[X:.*]] : tensor<2x3x4xf32>) outs(%[[MAXINIT]] : tensor<2x4xf32>)
// CHECK: arith.maximumf
// CHECK: %[[EXP:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[MAX]] : tensor<2x3x4xf32>, tensor<2x4xf32>)
// CHECK: %[[D:.*]] = arith.subf
// CHECK: math.exp %[[D]]
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[EXP]] : tensor<2x3x4xf32>)
// CHECK: arith.addf
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]]
// CHECK-SAME: ins(%[[EXP]], %[[SUM]] : tensor<2x3x4xf32>, tensor<2x4xf32>)
// CHECK: arith.divf
// CHECK-NOT: llm.
func.func @softmax(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = llm.softmax %x {axis = 1 : i64} : tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// Two-pass layer_norm over dims [1, 3): mean, then the biased variance of
// (x - mean); scale [4] and bias [3, 1] broadcast to the normalized dims.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1, d2) -> (d0)>
// CHECK-DAG: #[[SCALE:.*]] = affine_map<(d0, d1, d2) -> (d2)>
// CHECK-DAG: #[[BIAS:.*]] = affine_map<(d0, d1, d2) -> (d1, 0)>
// CHECK-LABEL: func @layer_norm
// CHECK: %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]]], iterator_types = ["parallel", "reduction", "reduction"]}
// CHECK: %[[MEAN:.*]] = linalg.generic
// CHECK-SAME: ins(%[[SUM]] : tensor<2xf32>)
// CHECK: arith.constant 1.200000e+01 : f32
// CHECK: arith.divf
// CHECK: %[[SQ:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]]], iterator_types = ["parallel", "reduction", "reduction"]}
// CHECK-SAME: ins(%[[X:.*]], %[[MEAN]] : tensor<2x3x4xf32>, tensor<2xf32>)
// CHECK: %[[C:.*]] = arith.subf
// CHECK: %[[C2:.*]] = arith.mulf %[[C]], %[[C]]
// CHECK: arith.addf %[[C2]]
// CHECK: %[[DEV:.*]] = linalg.generic
// CHECK-SAME: ins(%[[SQ]] : tensor<2xf32>)
// CHECK: arith.divf
// CHECK: arith.constant 9.99999974E-6 : f32
// CHECK: arith.addf
// CHECK: math.sqrt
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ROW]], #[[SCALE]], #[[BIAS]], #[[ID]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[MEAN]], %[[DEV]], %{{.*}}, %{{.*}} : tensor<2x3x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<4xf32>, tensor<3x1xf32>)
// CHECK: ^bb0(%[[V:.*]]: f32, %[[M:.*]]: f32, %[[S:.*]]: f32, %[[G:.*]]: f32, %[[B:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[CEN:.*]] = arith.subf %[[V]], %[[M]] : f32
// CHECK: %[[NORM:.*]] = arith.divf %[[CEN]], %[[S]] : f32
// CHECK: %[[SCALED:.*]] = arith.mulf %[[NORM]], %[[G]] : f32
// CHECK: arith.addf %[[SCALED]], %[[B]] : f32
// CHECK-LABEL: func @rms_norm
// CHECK: %[[SQ:.*]] = linalg.generic {indexing_maps = [#[[ID]], #[[ROW2:.*]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[DEV:.*]] = linalg.generic
// CHECK-SAME: ins(%[[SQ]] : tensor<2x3xf32>)
// CHECK: math.sqrt
// CHECK: linalg.generic
// CHECK-SAME: ins(%{{.*}}, %[[DEV]], %{{.*}} : tensor<2x3x4xf32>, tensor<2x3xf32>, tensor<4xf32>)
// CHECK: arith.divf
// CHECK: arith.mulf
// CHECK-NOT: llm.
func.func @layer_norm(%x: tensor<2x3x4xf32>, %g: tensor<4xf32>, %b: tensor<3x1xf32>) -> tensor<2x3x4xf32> {
  %0 = llm.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<3x1xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}
func.func @rms_norm(%x: tensor<2x3x4xf32>, %g: tensor<4xf32>) -> tensor<2x3x4xf32> {
  %0 = llm.rms_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-6 : f32} : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func @reshape
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<2x3x4xf32> into tensor<6x4xf32>
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [2, 3, 2] : tensor<2x6xf32> into tensor<2x3x2xf32>
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<2x3xf32> into tensor<6xf32>
// CHECK: tensor.expand_shape %[[FLAT]] {{\[\[}}0, 1]] output_shape [3, 2] : tensor<6xf32> into tensor<3x2xf32>
// CHECK: tensor.collapse_shape %{{.*}} [] : tensor<1x1xf32> into tensor<f32>
// CHECK: tensor.expand_shape %{{.*}} [] output_shape [1, 1, 1] : tensor<f32> into tensor<1x1x1xf32>
// CHECK-NOT: llm.
func.func @reshape(%a: tensor<2x3x4xf32>, %b: tensor<2x6xf32>, %c: tensor<2x3xf32>, %d: tensor<1x1xf32>, %e: tensor<f32>)
    -> (tensor<6x4xf32>, tensor<2x3x2xf32>, tensor<3x2xf32>, tensor<f32>, tensor<1x1x1xf32>) {
  %0 = llm.reshape %a : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %1 = llm.reshape %b : (tensor<2x6xf32>) -> tensor<2x3x2xf32>
  %2 = llm.reshape %c : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %3 = llm.reshape %d : (tensor<1x1xf32>) -> tensor<f32>
  %4 = llm.reshape %e : (tensor<f32>) -> tensor<1x1x1xf32>
  return %0, %1, %2, %3, %4 : tensor<6x4xf32>, tensor<2x3x2xf32>, tensor<3x2xf32>, tensor<f32>, tensor<1x1x1xf32>
}

// -----

// CHECK-LABEL: func @data_movement
// CHECK: %[[T:.*]] = tensor.empty() : tensor<4x2x3xf32>
// CHECK: linalg.transpose ins(%{{.*}} : tensor<2x3x4xf32>) outs(%[[T]] : tensor<4x2x3xf32>) permutation = [2, 0, 1]
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x5x4xf32>
// CHECK: %[[I0:.*]] = tensor.insert_slice %{{.*}} into %[[E]][0, 0, 0] [2, 3, 4] [1, 1, 1]
// CHECK: %[[I1:.*]] = tensor.insert_slice %{{.*}} into %[[I0]][0, 3, 0] [2, 2, 4] [1, 1, 1]
// CHECK: tensor.extract_slice %[[I1]][0, 1, 0] [2, 2, 4] [1, 1, 1] : tensor<2x5x4xf32> to tensor<2x2x4xf32>
// CHECK: tensor.extract_slice %[[I1]][0, 3, 0] [2, 2, 4] [1, 1, 1] : tensor<2x5x4xf32> to tensor<2x2x4xf32>
// CHECK: tensor.extract_slice %[[I1]][1, 0, 1] [1, 3, 2] [1, 2, 2] : tensor<2x5x4xf32> to tensor<1x3x2xf32>
// CHECK-NOT: llm.
func.func @data_movement(%a: tensor<2x3x4xf32>, %b: tensor<2x2x4xf32>) -> (tensor<4x2x3xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>, tensor<1x3x2xf32>) {
  %0 = llm.transpose %a {permutation = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %1 = llm.concat %a, %b {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x2x4xf32>) -> tensor<2x5x4xf32>
  %2:3 = llm.split %1 {axis = 1 : i64, sizes = array<i64: 1, 2, 2>} : (tensor<2x5x4xf32>) -> (tensor<2x1x4xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>)
  %3 = llm.slice %1 {starts = array<i64: 1, 0, 1>, ends = array<i64: 2, 5, 4>, steps = array<i64: 1, 2, 2>} : (tensor<2x5x4xf32>) -> tensor<1x3x2xf32>
  return %0, %2#1, %2#2, %3 : tensor<4x2x3xf32>, tensor<2x2x4xf32>, tensor<2x2x4xf32>, tensor<1x3x2xf32>
}

// -----

// An empty piece inserts nothing: the conversion folds it away before the
// lowering, whose insert_slice of it after the other piece would start out
// of bounds ([1, 0] in a 1x8 tensor).
// CHECK-LABEL: func @concat_empty_piece
// CHECK-SAME: (%[[A:.*]]: tensor<1x8xf32>
// CHECK-NOT: tensor.insert_slice
// CHECK: return %[[A]]
func.func @concat_empty_piece(%a: tensor<1x8xf32>, %b: tensor<0x8xf32>) -> tensor<1x8xf32> {
  %0 = llm.concat %a, %b {axis = 0 : i64} : (tensor<1x8xf32>, tensor<0x8xf32>) -> tensor<1x8xf32>
  return %0 : tensor<1x8xf32>
}

// -----

// Past 32 inputs a concat is one tensor.concat: one-shot bufferization's
// analysis of a chain of n insert_slices into one tensor grows faster than
// n^2 (56 s for six 192-way joins of a Mamba model's NPU products).
// CHECK-LABEL: func @concat_many
// CHECK: tensor.concat dim(0) %{{.*}} : ({{.*}}) -> tensor<33x2xf32>
// CHECK-NOT: tensor.insert_slice
func.func @concat_many(%a0: tensor<1x2xf32>, %a1: tensor<1x2xf32>, %a2: tensor<1x2xf32>, %a3: tensor<1x2xf32>, %a4: tensor<1x2xf32>, %a5: tensor<1x2xf32>, %a6: tensor<1x2xf32>, %a7: tensor<1x2xf32>, %a8: tensor<1x2xf32>, %a9: tensor<1x2xf32>, %a10: tensor<1x2xf32>, %a11: tensor<1x2xf32>, %a12: tensor<1x2xf32>, %a13: tensor<1x2xf32>, %a14: tensor<1x2xf32>, %a15: tensor<1x2xf32>, %a16: tensor<1x2xf32>, %a17: tensor<1x2xf32>, %a18: tensor<1x2xf32>, %a19: tensor<1x2xf32>, %a20: tensor<1x2xf32>, %a21: tensor<1x2xf32>, %a22: tensor<1x2xf32>, %a23: tensor<1x2xf32>, %a24: tensor<1x2xf32>, %a25: tensor<1x2xf32>, %a26: tensor<1x2xf32>, %a27: tensor<1x2xf32>, %a28: tensor<1x2xf32>, %a29: tensor<1x2xf32>, %a30: tensor<1x2xf32>, %a31: tensor<1x2xf32>, %a32: tensor<1x2xf32>) -> tensor<33x2xf32> {
  %0 = llm.concat %a0, %a1, %a2, %a3, %a4, %a5, %a6, %a7, %a8, %a9, %a10, %a11, %a12, %a13, %a14, %a15, %a16, %a17, %a18, %a19, %a20, %a21, %a22, %a23, %a24, %a25, %a26, %a27, %a28, %a29, %a30, %a31, %a32 {axis = 0 : i64} : (tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<33x2xf32>
  return %0 : tensor<33x2xf32>
}

// -----

// A negative step extracts the same elements in increasing order, then a
// generic reads them back reversed.
// CHECK-DAG: #[[REV:.*]] = affine_map<(d0, d1) -> (-d0 + 2, d1)>
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func @slice_negative_step
// CHECK: %[[S:.*]] = tensor.extract_slice %{{.*}}[0, 1] [3, 2] [2, 1] : tensor<6x4xf32> to tensor<3x2xf32>
// CHECK: linalg.generic {indexing_maps = [#[[REV]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[S]] : tensor<3x2xf32>)
// CHECK-NOT: llm.
func.func @slice_negative_step(%x: tensor<6x4xf32>) -> tensor<3x2xf32> {
  %0 = llm.slice %x {starts = array<i64: 4, 1>, ends = array<i64: -1, 3>, steps = array<i64: -2, 1>} : (tensor<6x4xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Gather: wrap a negative index once, clamp into [0, dim - 1], then read.
// CHECK-DAG: #[[IDX:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func @gather
// CHECK-SAME: (%[[DATA:.*]]: tensor<3x5x2xf32>, %[[INDICES:.*]]: tensor<2x3xi64>)
// CHECK: linalg.generic {indexing_maps = [#[[IDX]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[INDICES]] : tensor<2x3xi64>)
// CHECK: ^bb0(%[[I:.*]]: i64, %{{.*}}: f32):
// CHECK: %[[IX:.*]] = arith.index_cast %[[I]] : i64 to index
// CHECK: %[[NEG:.*]] = arith.cmpi slt, %[[IX]], %{{.*}} : index
// CHECK: %[[FIVE:.*]] = arith.constant 5 : index
// CHECK: %[[WRAP:.*]] = arith.addi %[[IX]], %[[FIVE]] : index
// CHECK: %[[SEL:.*]] = arith.select %[[NEG]], %[[WRAP]], %[[IX]] : index
// CHECK: %[[LO:.*]] = arith.maxsi %[[SEL]], %{{.*}} : index
// CHECK: %[[LAST:.*]] = arith.constant 4 : index
// CHECK: %[[CL:.*]] = arith.minsi %[[LO]], %[[LAST]] : index
// CHECK: %[[D0:.*]] = linalg.index 0 : index
// CHECK: %[[D3:.*]] = linalg.index 3 : index
// CHECK: %[[V:.*]] = tensor.extract %[[DATA]][%[[D0]], %[[CL]], %[[D3]]] : tensor<3x5x2xf32>
// CHECK: linalg.yield %[[V]] : f32
// CHECK-NOT: llm.
func.func @gather(%data: tensor<3x5x2xf32>, %indices: tensor<2x3xi64>) -> tensor<3x2x3x2xf32> {
  %0 = llm.gather %data, %indices {axis = 1 : i64} : (tensor<3x5x2xf32>, tensor<2x3xi64>) -> tensor<3x2x3x2xf32>
  return %0 : tensor<3x2x3x2xf32>
}

// -----

// CHECK-LABEL: func @trilu
// CHECK: ^bb0(%[[X:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[ROW:.*]] = linalg.index 1 : index
// CHECK: %[[COL:.*]] = linalg.index 2 : index
// CHECK: %[[OFF:.*]] = arith.subi %[[COL]], %[[ROW]] : index
// CHECK: %[[DIAG:.*]] = arith.constant -1 : index
// CHECK: %[[KEEP:.*]] = arith.cmpi sle, %[[OFF]], %[[DIAG]] : index
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: arith.select %[[KEEP]], %[[X]], %[[ZERO]] : f32
// CHECK-NOT: llm.
func.func @trilu(%x: tensor<2x4x4xf32>) -> tensor<2x4x4xf32> {
  %0 = llm.trilu %x {upper = false, diagonal = -1 : i64} : tensor<2x4x4xf32>
  return %0 : tensor<2x4x4xf32>
}
