// RUN: llm-opt %s -split-input-file -verify-diagnostics --verify-each \
// RUN:   --pass-pipeline='builtin.module(func.func(llm-gpu-fuse-launches))' | FileCheck %s
// RUN: llm-opt %s -split-input-file --verify-each \
// RUN:   --pass-pipeline='builtin.module(func.func(llm-gpu-fuse-launches{chain-threads=256}))' \
// RUN:   | FileCheck %s --check-prefix=SMALL

// A router's chain: an accumulator set by one thread, a loop of 2 blocks of
// 256 that reads it, and one of 64 threads that reads what that wrote. One
// launch of one block of 512 threads at the last one's place: thread t runs
// each part that has a thread t (the first only thread 0, the last threads
// 0-63), the second part's block t / 256 and thread t % 256 with its grid of
// 2, and a barrier between the parts.
// CHECK-LABEL: func.func @router
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<64xf32>
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[ONE:.*]], %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]]) threads(%[[T:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c512, %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]])
// CHECK: %[[P0:.*]] = arith.cmpi ult, %[[T]], %c1
// CHECK: scf.if %[[P0]] {
// CHECK: memref.store %{{.*}}, %arg1[
// CHECK: }
// CHECK-NEXT: gpu.barrier
// CHECK-NOT: scf.if
// CHECK: %[[B:.*]] = arith.divui %[[T]], %c256
// CHECK: %[[TX:.*]] = arith.remui %[[T]], %c256
// CHECK: %[[BASE:.*]] = arith.muli %[[B]], %c256
// CHECK: arith.addi %[[BASE]], %[[TX]]
// CHECK: memref.load %arg1[
// CHECK: memref.store %{{.*}}, %arg2[
// CHECK: gpu.barrier
// CHECK: %[[P2:.*]] = arith.cmpi ult, %[[T]], %c64
// CHECK: scf.if %[[P2]] {
// CHECK: memref.load %arg2[%[[T]]]
// CHECK: memref.store %{{.*}}, %[[OUT]][%[[T]]]
// CHECK: }
// CHECK-NEXT: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return %[[OUT]]
// The 512 threads of the second part are more than 256: no chain.
// SMALL-LABEL: func.func @router
// SMALL-COUNT-3: gpu.launch blocks
func.func @router(%x: memref<512xf32>, %acc: memref<1xf32>, %mid: memref<512xf32>) -> memref<64xf32> {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %init = arith.constant 0xFF800000 : f32
    memref.store %init, %acc[%c0] : memref<1xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %base = arith.muli %bx, %sx : index
    %i = arith.addi %base, %tx : index
    %m = memref.load %acc[%c0] : memref<1xf32>
    %v = memref.load %x[%i] : memref<512xf32>
    %d = arith.subf %v, %m : f32
    memref.store %d, %mid[%i] : memref<512xf32>
    gpu.terminator
  }
  %out = memref.alloc() : memref<64xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %mid[%tx] : memref<512xf32>
    memref.store %v, %out[%tx] : memref<64xf32>
    gpu.terminator
  }
  return %out : memref<64xf32>
}

// -----

// Two independent launches merge first (one launch of 2 blocks); that one
// and the launch after it, which reads what both wrote, are a chain of 512
// threads.
// CHECK-LABEL: func.func @after_horizontal
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[ONE:[^,]*]],{{.*}}threads(%[[T:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c512,
// CHECK: %[[B:.*]] = arith.divui %[[T]], %c256
// CHECK: %[[FIRST:.*]] = arith.cmpi ult, %[[B]], %c1
// CHECK: scf.if %[[FIRST]] {
// CHECK: memref.store %{{.*}}, %arg0
// CHECK: %[[SECOND:.*]] = arith.cmpi uge, %[[B]], %c1
// CHECK: scf.if %[[SECOND]] {
// CHECK: memref.store %{{.*}}, %arg1
// CHECK: gpu.barrier
// CHECK: scf.if
// CHECK: memref.load %arg0
// CHECK: memref.load %arg1
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
func.func @after_horizontal(%a: memref<256xf32>, %b: memref<256xf32>, %c: memref<256xf32>) {
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %one = arith.constant 1.0 : f32
    memref.store %one, %a[%tx] : memref<256xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %two = arith.constant 2.0 : f32
    memref.store %two, %b[%tx] : memref<256xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %u = memref.load %a[%tx] : memref<256xf32>
    %v = memref.load %b[%tx] : memref<256xf32>
    %w = arith.addf %u, %v : f32
    memref.store %w, %c[%tx] : memref<256xf32>
    gpu.terminator
  }
  return
}

// -----

// Not chained: a launch of 5 blocks of 256 (1280 threads, past 1024) ends
// a chain, as does a kernel launch; a launch whose threads meet at a
// barrier, and one with a 2-D block, join none. The two single-thread
// launches after the kernel launch are a chain of one thread.
// CHECK-LABEL: func.func @breaks
// CHECK-COUNT-5: gpu.launch blocks
// CHECK: gpu.launch_func
// CHECK: gpu.launch blocks({{.*}} threads({{.*}}) in (%{{.*}} = %[[ONE:[^,]*]], %{{.*}} = %[[ONE]], %{{.*}} = %[[ONE]])
// CHECK: gpu.barrier
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
module attributes {gpu.container_module} {
gpu.module @kernels {
  gpu.func @k(%x: memref<4xf32>) kernel {
    gpu.return
  }
}
func.func @breaks(%a: memref<1280xf32>, %b: memref<256xf32>, %c: memref<4xf32>, %d: memref<16x16xf32>) {
  %c1 = arith.constant 1 : index
  %c5 = arith.constant 5 : index
  %c16 = arith.constant 16 : index
  %c256 = arith.constant 256 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %v = memref.load %b[%tx] : memref<256xf32>
    memref.store %v, %a[%tx] : memref<1280xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c5, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %base = arith.muli %bx, %sx : index
    %i = arith.addi %base, %tx : index
    %v = memref.load %a[%i] : memref<1280xf32>
    %w = arith.addf %v, %v : f32
    memref.store %w, %a[%i] : memref<1280xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%tx] : memref<1280xf32>
    gpu.barrier
    memref.store %v, %b[%tx] : memref<256xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c16, %sy = %c16, %sz = %c1) {
    %v = memref.load %b[%tx] : memref<256xf32>
    memref.store %v, %d[%tx, %ty] : memref<16x16xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %v = memref.load %d[%c0, %tx] : memref<16x16xf32>
    memref.store %v, %b[%tx] : memref<256xf32>
    gpu.terminator
  }
  gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%c : memref<4xf32>)
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %one = arith.constant 1.0 : f32
    memref.store %one, %c[%c0] : memref<4xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %c3 = arith.constant 3 : index
    %v = memref.load %c[%c0] : memref<4xf32>
    memref.store %v, %c[%c3] : memref<4xf32>
    gpu.terminator
  }
  return
}
}
