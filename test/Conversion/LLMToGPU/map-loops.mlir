// RUN: llm-opt %s -split-input-file --llm-gpu-map-loops --verify-each | FileCheck %s

// A parallel loop becomes a launch of 256-thread blocks over its iteration
// space, guarded against the rounded-up grid; a copy likewise.
// CHECK-LABEL: func.func @parallel
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c2, %{{.*}} = %c1{{.*}}, %{{.*}} = %c1{{.*}}) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c256,
// CHECK: arith.cmpi ult, %{{.*}}, %c300
// CHECK: scf.if
// CHECK: arith.divui %{{.*}}, %c30
// CHECK: memref.store
// CHECK: gpu.launch
// CHECK: memref.load
// CHECK: memref.store
// CHECK-NOT: scf.parallel
// CHECK-NOT: memref.copy
func.func @parallel(%a: memref<10x30xf32>, %b: memref<10x30xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %c30 = arith.constant 30 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c10, %c30) step (%c1, %c1) {
    memref.store %one, %a[%i, %j] : memref<10x30xf32>
    scf.reduce
  }
  memref.copy %a, %b : memref<10x30xf32> to memref<10x30xf32>
  return
}

// -----

// A reduction over every dim leaves a scalar loop nest on the host: it runs
// as one thread of one block, loads and stores included. The constants it
// uses are sunk into the launch (the kernel's own, not arguments).
// CHECK-LABEL: func.func @serial
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[ONE:[a-z0-9_]+]], %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]]) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]])
// CHECK-NEXT: arith.constant 0.0
// CHECK: memref.store
// CHECK-NEXT: scf.for
// CHECK: memref.load
// CHECK: arith.addf
// CHECK: memref.store
// CHECK: gpu.terminator
// CHECK-NEXT: }
// CHECK-NEXT: return
func.func @serial(%a: memref<8xf32>, %sum: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  memref.store %zero, %sum[] : memref<f32>
  scf.for %i = %c0 to %c8 step %c1 {
    %x = memref.load %a[%i] : memref<8xf32>
    %s = memref.load %sum[] : memref<f32>
    %t = arith.addf %s, %x : f32
    memref.store %t, %sum[] : memref<f32>
  }
  return
}

// -----

// A host loop around launches stays where it is (a kernel cannot launch);
// the launch plan then reports it.
// CHECK-LABEL: func.func @around
// CHECK: scf.for
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: return
func.func @around(%a: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant 1.0 : f32
  scf.for %i = %c0 to %c4 step %c1 {
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      memref.store %one, %a[%i, %j] : memref<4x8xf32>
      scf.reduce
    }
  }
  return
}

// -----

// Integer powers (no NVVM lowering) become square-and-multiply over the
// exponent's bits inside the kernel; an f16 constant the body uses is
// sunk into the launch (the plan has no f16 scalar arguments).
// CHECK-LABEL: func.func @ipow
// CHECK: gpu.launch
// CHECK-DAG: arith.constant 5.000000e-01 : f16
// CHECK-NOT: math.ipowi
// CHECK-COUNT-30: arith.shrui
// CHECK: arith.cmpi slt
// CHECK: gpu.terminator
func.func @ipow(%a: memref<8xi32>, %b: memref<8xi32>, %c: memref<8xi32>, %h: memref<8xf16>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %half = arith.constant 0.5 : f16
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %x = memref.load %a[%i] : memref<8xi32>
    %y = memref.load %b[%i] : memref<8xi32>
    %p = math.ipowi %x, %y : i32
    memref.store %p, %c[%i] : memref<8xi32>
    memref.store %half, %h[%i] : memref<8xf16>
    scf.reduce
  }
  return
}
