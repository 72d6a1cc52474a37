// RUN: llm-opt %s -split-input-file --llm-host-parallel-loops="min-work=1000" --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-host-parallel-loops --verify-each | FileCheck %s --check-prefix=LIGHT
// RUN: llm-opt %s -split-input-file --llm-host-parallel-loops="min-work=1000 threads=16" --verify-each | FileCheck %s --check-prefix=MANY

// matmul in the host loop order, as convert-linalg-to-parallel-loops writes
// it: the outermost scf.parallel (64 x 64 x 64 x 6 ops) stays for
// async-parallel-for; the one inside the k loop becomes scf.for with the same
// body. Under the default min-work (2^22) the whole product is too light
// and is serial.
// CHECK-LABEL: func.func @matmul
// CHECK: scf.parallel (%[[I:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK-NEXT: scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT: memref.load %{{.*}}[%[[I]], %[[K]]]
// CHECK-NEXT: memref.load %{{.*}}[%[[K]], %[[J]]]
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[I]], %[[J]]]
// CHECK-NEXT: }
// CHECK-NEXT: }
// CHECK-NEXT: scf.reduce
// LIGHT-LABEL: func.func @matmul
// LIGHT-NOT: scf.parallel
// LIGHT: scf.for
// LIGHT-NEXT: scf.for
// LIGHT-NEXT: scf.for
func.func @matmul(%a: memref<64x64xf32>, %b: memref<64x64xf32>, %c: memref<64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%c64) step (%c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      scf.parallel (%j) = (%c0) to (%c64) step (%c1) {
        %0 = memref.load %a[%i, %k] : memref<64x64xf32>
        %1 = memref.load %b[%k, %j] : memref<64x64xf32>
        %2 = memref.load %c[%i, %j] : memref<64x64xf32>
        %3 = arith.mulf %0, %1 : f32
        %4 = arith.addf %2, %3 : f32
        memref.store %4, %c[%i, %j] : memref<64x64xf32>
        scf.reduce
      }
    }
    scf.reduce
  }
  return
}

// -----

// A two-dim scf.parallel inside a loop becomes two scf.for in its dims'
// order; a light outermost one (4 x 4 x 3 ops) too.
// CHECK-LABEL: func.func @nested_2d
// CHECK-NOT: scf.parallel
// CHECK: scf.for %[[T:.*]] =
// CHECK-NEXT: scf.for %[[R:.*]] =
// CHECK-NEXT: scf.for %[[C:.*]] =
// CHECK-NEXT: memref.load %{{.*}}[%[[T]], %[[R]], %[[C]]]
// CHECK: scf.for %[[R2:.*]] =
// CHECK-NEXT: scf.for %[[C2:.*]] =
// CHECK-NEXT: memref.load %{{.*}}[%[[R2]], %[[C2]]]
func.func @nested_2d(%x: memref<8x4x4xf32>, %y: memref<4x4xf32>) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c1 = arith.constant 1 : index
  scf.for %t = %c0 to %c8 step %c1 {
    scf.parallel (%r, %c) = (%c0, %c0) to (%c4, %c4) step (%c1, %c1) {
      %0 = memref.load %x[%t, %r, %c] : memref<8x4x4xf32>
      %1 = arith.addf %0, %0 : f32
      memref.store %1, %x[%t, %r, %c] : memref<8x4x4xf32>
      scf.reduce
    }
  }
  scf.parallel (%r, %c) = (%c0, %c0) to (%c4, %c4) step (%c1, %c1) {
    %0 = memref.load %y[%r, %c] : memref<4x4xf32>
    %1 = arith.mulf %0, %0 : f32
    memref.store %1, %y[%r, %c] : memref<4x4xf32>
    scf.reduce
  }
  return
}

// -----

// An scf.parallel that reduces to a result is left as it is.
// CHECK-LABEL: func.func @reducing
// CHECK: scf.parallel
// CHECK: scf.reduce(%{{.*}} : f32)
func.func @reducing(%x: memref<4096xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %n = arith.constant 4096 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %sum = scf.parallel (%i) = (%c0) to (%n) step (%c1) init (%zero) -> f32 {
    %0 = memref.load %x[%i] : memref<4096xf32>
    scf.reduce(%0 : f32) {
    ^bb0(%a: f32, %b: f32):
      %s = arith.addf %a, %b : f32
      scf.reduce.return %s : f32
    }
  }
  return %sum : f32
}

// -----

// A heavy two-dim outermost loop keeps only its first dim parallel: each
// task computes whole rows (the second dim a scf.for inside).
// CHECK-LABEL: func.func @rows
// CHECK: scf.parallel (%[[R:.*]]) = (%{{.*}}) to (%{{.*}}) step (%{{.*}}) {
// CHECK-NEXT: scf.for %[[C:.*]] =
// CHECK-NEXT: scf.for %[[K:.*]] =
// CHECK-NEXT: memref.load %{{.*}}[%[[R]], %[[K]]]
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[R]], %[[C]]]
func.func @rows(%a: memref<64x64xf32>, %b: memref<64x64xf32>, %c: memref<64x64xf32>) {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c64) step (%c1, %c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      %0 = memref.load %a[%i, %k] : memref<64x64xf32>
      %1 = memref.load %b[%j, %k] : memref<64x64xf32>
      %2 = memref.load %c[%i, %j] : memref<64x64xf32>
      %3 = arith.mulf %0, %1 : f32
      %4 = arith.addf %2, %3 : f32
      memref.store %4, %c[%i, %j] : memref<64x64xf32>
    }
    scf.reduce
  }
  return
}

// -----

// One sequence's attention scores (batch 1 x 12 heads x 32 queries): the
// batch dim has one iteration, so the first dim with iterations for every
// thread (the heads) is kept parallel, between a scf.for over the batch
// and scf.for over the queries. With 16 threads no dim has 16 iterations:
// the one with the most (the 32 queries) is kept. Never two dims.
// CHECK-LABEL: func.func @one_sequence
// CHECK: scf.for %[[B:.*]] =
// CHECK-NEXT: scf.parallel (%[[H:.*]]) = (%{{.*}}) to (%c12) step (%{{.*}}) {
// CHECK-NEXT: scf.for %[[Q:.*]] =
// CHECK-NEXT: scf.for %[[D:.*]] =
// CHECK-NEXT: memref.load %{{.*}}[%[[B]], %[[H]], %[[Q]], %[[D]]]
// MANY-LABEL: func.func @one_sequence
// MANY: scf.for %[[B:.*]] =
// MANY-NEXT: scf.for %[[H:.*]] =
// MANY-NEXT: scf.parallel (%[[Q:.*]]) = (%{{.*}}) to (%c32) step (%{{.*}}) {
// MANY-NEXT: scf.for %[[D:.*]] =
// MANY-NEXT: memref.load %{{.*}}[%[[B]], %[[H]], %[[Q]], %[[D]]]
func.func @one_sequence(%q: memref<1x12x32x64xf32>, %s: memref<1x12x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c12 = arith.constant 12 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%b, %h, %i) = (%c0, %c0, %c0) to (%c1, %c12, %c32) step (%c1, %c1, %c1) {
    scf.for %d = %c0 to %c64 step %c1 {
      %0 = memref.load %q[%b, %h, %i, %d] : memref<1x12x32x64xf32>
      %1 = memref.load %s[%b, %h, %i] : memref<1x12x32xf32>
      %2 = arith.mulf %0, %0 : f32
      %3 = arith.addf %1, %2 : f32
      memref.store %3, %s[%b, %h, %i] : memref<1x12x32xf32>
    }
    scf.reduce
  }
  return
}

// -----

// A register tile's ops count their lanes: 8 rows of a 16-step loop of
// 16-lane loads, broadcasts, multiplies and adds are about 8600 scalar
// operations, past the min-work of 1000, and the loop stays parallel;
// counted as single ops they would be about 800.
// CHECK-LABEL: func.func @vector_tiles
// CHECK: scf.parallel
func.func @vector_tiles(%a: memref<8x16xf32>, %b: memref<16x16xf32>, %c: memref<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  scf.parallel (%m) = (%c0) to (%c8) step (%c1) {
    %init = vector.load %c[%m, %c0] : memref<8x16xf32>, vector<16xf32>
    %r = scf.for %k = %c0 to %c16 step %c1 iter_args(%acc = %init) -> (vector<16xf32>) {
      %x = memref.load %a[%m, %k] : memref<8x16xf32>
      %s = vector.broadcast %x : f32 to vector<16xf32>
      %y = vector.load %b[%k, %c0] : memref<16x16xf32>, vector<16xf32>
      %p = arith.mulf %s, %y : vector<16xf32>
      %n = arith.addf %acc, %p : vector<16xf32>
      scf.yield %n : vector<16xf32>
    }
    vector.store %r, %c[%m, %c0] : memref<8x16xf32>, vector<16xf32>
    scf.reduce
  }
  return
}
