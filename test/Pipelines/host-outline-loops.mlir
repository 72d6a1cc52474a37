// RUN: llm-opt %s -split-input-file --llm-host-outline-loops --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-host-outline-loops=dedup=false --verify-each | FileCheck %s --check-prefix=ALL
// RUN: llm-opt %s -split-input-file --llm-host-outline-loops --verify-each --verify-diagnostics

// Two layers apply the same nest to other buffers: one function, called
// twice, with the buffers as arguments and the constants (the bounds, the
// scale) copied in. The third nest differs (another scale) and gets its own.
// CHECK-LABEL: func.func private @layers_loop0(
// CHECK-SAME: %[[IN:.*]]: memref<4x8xf32>, %[[OUT:.*]]: memref<4x8xf32>)
// CHECK-SAME: attributes {llvm.linkage = #llvm.linkage<internal>, passthrough = ["noinline"]}
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[C4]])
// CHECK: scf.for
// CHECK: memref.load %[[IN]]
// CHECK: arith.mulf %{{.*}}, %[[HALF]]
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK: return
// CHECK-NOT: func.func private @layers_loop1(
// CHECK-LABEL: func.func private @layers_loop2(
// CHECK: arith.constant 2.500000e-01 : f32
// CHECK-LABEL: func.func @layers(
// CHECK-SAME: %[[X:.*]]: memref<4x8xf32>, %[[Y:.*]]: memref<4x8xf32>)
// CHECK: %[[T:.*]] = memref.alloc()
// CHECK-NEXT: call @layers_loop0(%[[X]], %[[T]])
// CHECK-NEXT: call @layers_loop0(%[[T]], %[[Y]])
// CHECK-NEXT: call @layers_loop2(%[[Y]], %[[X]])
// CHECK-NEXT: memref.dealloc %[[T]]
// CHECK-NEXT: return
// Without dedup every nest has its function.
// ALL-LABEL: func.func private @layers_loop0(
// ALL-LABEL: func.func private @layers_loop1(
// ALL-LABEL: func.func private @layers_loop2(
// ALL-LABEL: func.func @layers(
// ALL: call @layers_loop0
// ALL-NEXT: call @layers_loop1
// ALL-NEXT: call @layers_loop2
func.func @layers(%x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %half = arith.constant 0.5 : f32
  %quarter = arith.constant 0.25 : f32
  %t = memref.alloc() : memref<4x8xf32>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.for %j = %c0 to %c8 step %c1 {
      %v = memref.load %x[%i, %j] : memref<4x8xf32>
      %w = arith.mulf %v, %half : f32
      memref.store %w, %t[%i, %j] : memref<4x8xf32>
    }
  }
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.for %j = %c0 to %c8 step %c1 {
      %v = memref.load %t[%i, %j] : memref<4x8xf32>
      %w = arith.mulf %v, %half : f32
      memref.store %w, %y[%i, %j] : memref<4x8xf32>
    }
  }
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.for %j = %c0 to %c8 step %c1 {
      %v = memref.load %y[%i, %j] : memref<4x8xf32>
      %w = arith.mulf %v, %quarter : f32
      memref.store %w, %x[%i, %j] : memref<4x8xf32>
    }
  }
  memref.dealloc %t : memref<4x8xf32>
  return
}

// -----

// The same nest on buffers of other layouts is another function: the
// layouts are in the argument types. A nest that reads one buffer twice
// takes it once.
// CHECK-LABEL: func.func private @views_loop0(
// CHECK-SAME: memref<4xf32, strided<[2]>>, %{{.*}}: memref<4xf32>)
// CHECK-LABEL: func.func private @views_loop1(
// CHECK-SAME: memref<4xf32, strided<[2], offset: 1>>, %{{.*}}: memref<4xf32>)
// CHECK-LABEL: func.func private @views_loop2(
// CHECK-SAME: %{{[^,]*}}: memref<4xf32>) attributes
// CHECK: arith.addf
// CHECK-LABEL: func.func @views(
// CHECK: %[[EVEN:.*]] = memref.subview
// CHECK: %[[ODD:.*]] = memref.subview
// CHECK: call @views_loop0(%[[EVEN]], %{{.*}})
// CHECK: call @views_loop1(%[[ODD]], %{{.*}})
// CHECK: call @views_loop2(%{{.*}})
func.func @views(%x: memref<8xf32>, %y: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %even = memref.subview %x[0] [4] [2] : memref<8xf32> to memref<4xf32, strided<[2]>>
  %odd = memref.subview %x[1] [4] [2] : memref<8xf32> to memref<4xf32, strided<[2], offset: 1>>
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %even[%i] : memref<4xf32, strided<[2]>>
    memref.store %v, %y[%i] : memref<4xf32>
  }
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %odd[%i] : memref<4xf32, strided<[2], offset: 1>>
    memref.store %v, %y[%i] : memref<4xf32>
  }
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %y[%i] : memref<4xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %y[%i] : memref<4xf32>
  }
  return
}

// -----

// Left where they are: a loop that yields a value (the function would have
// to return it), a loop inside another op, and declarations.
// CHECK-LABEL: func.func private @external(memref<4xf32>)
// CHECK-LABEL: func.func @kept(
// CHECK-NOT: call
// CHECK: scf.for {{.*}} iter_args
// CHECK: scf.if
// CHECK-NEXT: scf.for
// CHECK-NOT: func.func
func.func private @external(memref<4xf32>)
func.func @kept(%x: memref<4xf32>, %flag: i1) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %sum = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %zero) -> f32 {
    %v = memref.load %x[%i] : memref<4xf32>
    %a = arith.addf %acc, %v : f32
    scf.yield %a : f32
  }
  scf.if %flag {
    scf.for %i = %c0 to %c4 step %c1 {
      memref.store %sum, %x[%i] : memref<4xf32>
    }
  }
  return %sum : f32
}
