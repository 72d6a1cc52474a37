// RUN: llm-opt %s -split-input-file --llm-host-hoist-loads --verify-each | FileCheck %s

// A product of gathered experts as convert-linalg-to-parallel-loops leaves
// it: each row's expert index is loaded (and clamped) in the innermost loop.
// The index buffer and the output are different allocations, so the index
// load and its clamp leave for the row loop; float loads (x[r, k], the
// weight's) stay.
// CHECK-LABEL: func.func @gathered_product
// CHECK: scf.parallel (%[[R:.*]]) =
// CHECK-NEXT: %[[E:.*]] = memref.load %[[IDX:.*]][%[[R]]] : memref<2xindex>
// CHECK-NEXT: %[[C:.*]] = arith.minsi %[[E]], %{{.*}} : index
// CHECK-NEXT: scf.for %[[K:.*]] =
// CHECK-NEXT: scf.for %[[N:.*]] =
// CHECK-NEXT: memref.load %{{.*}}[%[[R]], %[[K]]] : memref<2x4xf32>
// CHECK-NEXT: memref.load %[[OUT:.*]][%[[R]], %[[N]]]
// CHECK-NEXT: memref.load %{{.*}}[%[[C]], %[[K]], %[[N]]] : memref<8x4x16xf32>
// CHECK: memref.store %{{.*}}, %[[OUT]][%[[R]], %[[N]]]
func.func @gathered_product(%x: memref<2x4xf32>, %w: memref<8x4x16xf32>) -> memref<2x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c7 = arith.constant 7 : index
  %c16 = arith.constant 16 : index
  %idx = memref.alloc() : memref<2xindex>
  %out = memref.alloc() : memref<2x16xf32>
  scf.parallel (%r) = (%c0) to (%c2) step (%c1) {
    scf.for %k = %c0 to %c4 step %c1 {
      scf.for %n = %c0 to %c16 step %c1 {
        %xv = memref.load %x[%r, %k] : memref<2x4xf32>
        %e = memref.load %idx[%r] : memref<2xindex>
        %acc = memref.load %out[%r, %n] : memref<2x16xf32>
        %clamped = arith.minsi %e, %c7 : index
        %wv = memref.load %w[%clamped, %k, %n] : memref<8x4x16xf32>
        %p = arith.mulf %xv, %wv : f32
        %s = arith.addf %acc, %p : f32
        memref.store %s, %out[%r, %n] : memref<2x16xf32>
      }
    }
    scf.reduce
  }
  return %out : memref<2x16xf32>
}

// -----

// Left in their loops (integer loads, which the pass would otherwise move):
// - a load of a buffer the loop writes through a view (a subview of it);
// - a load of an argument while the loop writes another argument (two
//   arguments may be one buffer);
// - a load in a loop that may not run (a bound known only at run time),
//   and the arithmetic on it;
// - a load in a loop that calls a function (its writes are unknown);
// - a load under a condition.
// A float load that nothing else keeps in its loop stays too.
// CHECK-LABEL: func.func @kept
// CHECK: scf.for
// CHECK-NEXT: memref.load %[[BUF:.*]][%{{.*}}] : memref<4xi32>
// CHECK: scf.for
// CHECK-NEXT: memref.load %arg0[%{{.*}}] : memref<4xi32>
// CHECK: scf.for
// CHECK-NEXT: memref.load %[[A:.*]][%{{.*}}] : memref<4xi32>
// CHECK-NEXT: arith.addi
// CHECK: scf.for
// CHECK-NEXT: memref.load %[[A]][%{{.*}}] : memref<4xi32>
// CHECK: func.call @opaque
// CHECK: scf.for
// CHECK-NEXT: scf.if
// CHECK-NEXT: memref.load
// CHECK: scf.for
// CHECK-NEXT: memref.load %{{.*}}[%{{.*}}] : memref<4xf32>
func.func private @opaque()
func.func @kept(%in: memref<4xi32>, %outArg: memref<4xi32>, %n: index, %flag: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %buf = memref.alloc() : memref<4xi32>
  %view = memref.subview %buf[1] [2] [1] : memref<4xi32> to memref<2xi32, strided<[1], offset: 1>>
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %buf[%c0] : memref<4xi32>
    memref.store %v, %view[%c0] : memref<2xi32, strided<[1], offset: 1>>
  }
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %in[%c0] : memref<4xi32>
    memref.store %v, %outArg[%i] : memref<4xi32>
  }
  %a = memref.alloc() : memref<4xi32>
  %b = memref.alloc() : memref<4xi32>
  scf.for %i = %c0 to %n step %c1 {
    %v = memref.load %a[%c0] : memref<4xi32>
    %w = arith.addi %v, %v : i32
    memref.store %w, %b[%i] : memref<4xi32>
  }
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %a[%c0] : memref<4xi32>
    memref.store %v, %b[%i] : memref<4xi32>
    func.call @opaque() : () -> ()
  }
  scf.for %i = %c0 to %c4 step %c1 {
    scf.if %flag {
      %v = memref.load %a[%c0] : memref<4xi32>
      memref.store %v, %b[%i] : memref<4xi32>
    }
  }
  %f = memref.alloc() : memref<4xf32>
  %g = memref.alloc() : memref<4xf32>
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %f[%c0] : memref<4xf32>
    memref.store %v, %g[%i] : memref<4xf32>
  }
  return
}
