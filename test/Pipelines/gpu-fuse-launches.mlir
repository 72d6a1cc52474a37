// RUN: llm-opt %s -split-input-file -verify-diagnostics --verify-each \
// RUN:   --pass-pipeline='builtin.module(func.func(llm-gpu-fuse-launches{chain-threads=0}))' | FileCheck %s

// Two launches on different buffers, an allocation between them: one launch
// of 2 + 1 blocks at the second's place. Blocks 0-1 run the first part,
// block 2 the second with block index 0 and a grid of 1.
// CHECK-LABEL: func.func @independent
// CHECK: %[[OUT:.*]] = memref.alloc() : memref<256xf32>
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C3:.*]], %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c256,
// CHECK: %[[FIRST:.*]] = arith.cmpi ult, %[[BX]], %c2
// CHECK: scf.if %[[FIRST]] {
// CHECK: arith.muli %[[BX]], %c256
// CHECK: memref.store %{{.*}}, %arg0
// CHECK: }
// CHECK: %[[SECOND:.*]] = arith.cmpi uge, %[[BX]], %c2
// CHECK: scf.if %[[SECOND]] {
// CHECK: %[[B:.*]] = arith.subi %[[BX]], %c2
// CHECK: arith.muli %[[B]], %c256
// CHECK: memref.load %arg1
// CHECK: memref.store %{{.*}}, %[[OUT]]
// CHECK: }
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
// CHECK: return
func.func @independent(%a: memref<300xf32>, %b: memref<256xf32>) -> memref<256xf32> {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c256 = arith.constant 256 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %c256_0 = arith.constant 256 : index
    %c300 = arith.constant 300 : index
    %base = arith.muli %bx, %c256_0 : index
    %i = arith.addi %base, %tx : index
    %in = arith.cmpi ult, %i, %c300 : index
    scf.if %in {
      %one = arith.constant 1.0 : f32
      memref.store %one, %a[%i] : memref<300xf32>
    }
    gpu.terminator
  }
  %out = memref.alloc() : memref<256xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %c256_0 = arith.constant 256 : index
    %base = arith.muli %bx, %c256_0 : index
    %i = arith.addi %base, %tx : index
    %v = memref.load %b[%i] : memref<256xf32>
    memref.store %v, %out[%i] : memref<256xf32>
    gpu.terminator
  }
  return %out : memref<256xf32>
}

// -----

// A decoding step's cache: the past rows copied into the present and the
// new row stored after them. Both write the present, in static subviews
// that are apart in dim 2 (rows 0-10 and row 11), and the rotary q writes
// a buffer of its own: three launches become one of 2 + 1 + 1 blocks. The
// grid size a part reads is its own.
// CHECK-LABEL: func.func @cache
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %c4{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}})
// CHECK: %[[P0:.*]] = arith.cmpi ult, %[[BX]], %c2
// CHECK: scf.if %[[P0]] {
// CHECK: memref.load %arg0
// CHECK: memref.store %{{.*}}, %[[PAST:subview[_0-9]*]]
// CHECK: }
// CHECK: %[[LO:.*]] = arith.cmpi uge, %[[BX]], %c2
// CHECK: %[[HI:.*]] = arith.cmpi ult, %[[BX]], %c3
// CHECK: %[[P1:.*]] = arith.andi %[[LO]], %[[HI]]
// CHECK: scf.if %[[P1]] {
// CHECK: memref.store %{{.*}}, %[[NEW:subview[_0-9]*]]
// CHECK: }
// CHECK: %[[P2:.*]] = arith.cmpi uge, %[[BX]], %c3
// CHECK: scf.if %[[P2]] {
// CHECK: %[[GRID:.*]] = arith.constant 1 : index
// CHECK: arith.addi %{{.*}}, %[[GRID]]
// CHECK: memref.store %{{.*}}, %arg3
// CHECK: }
// CHECK: gpu.terminator
// CHECK-NOT: gpu.launch
func.func @cache(%past: memref<1x2x11x16xf32>, %new: memref<1x2x1x16xf32>,
                 %present: memref<1x2x12x16xf32>, %q: memref<64xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c256 = arith.constant 256 : index
  %old = memref.subview %present[0, 0, 0, 0] [1, 2, 11, 16] [1, 1, 1, 1]
      : memref<1x2x12x16xf32> to memref<1x2x11x16xf32, strided<[384, 192, 16, 1]>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %v = memref.load %past[%c0, %c0, %bx, %tx] : memref<1x2x11x16xf32>
    memref.store %v, %old[%c0, %c0, %bx, %tx] : memref<1x2x11x16xf32, strided<[384, 192, 16, 1]>>
    gpu.terminator
  }
  %last = memref.subview %present[0, 0, 11, 0] [1, 2, 1, 16] [1, 1, 1, 1]
      : memref<1x2x12x16xf32> to memref<1x2x1x16xf32, strided<[384, 192, 16, 1], offset: 176>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %v = memref.load %new[%c0, %c0, %c0, %tx] : memref<1x2x1x16xf32>
    memref.store %v, %last[%c0, %c0, %c0, %tx] : memref<1x2x1x16xf32, strided<[384, 192, 16, 1], offset: 176>>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %i = arith.addi %tx, %gx : index
    %f = arith.constant 2.0 : f32
    memref.store %f, %q[%i] : memref<64xf32>
    gpu.terminator
  }
  return
}

// -----

// Not merged: the second launch reads what the first writes.
// CHECK-LABEL: func.func @read_after_write
// CHECK-COUNT-2: gpu.launch blocks
func.func @read_after_write(%a: memref<256xf32>, %b: memref<256xf32>) {
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
    %v = memref.load %a[%tx] : memref<256xf32>
    memref.store %v, %b[%tx] : memref<256xf32>
    gpu.terminator
  }
  return
}

// -----

// Not merged: the second launch writes over a view of what the first reads
// (a write after a read), and a collapsed view does not bound the rows.
// CHECK-LABEL: func.func @write_after_read
// CHECK-COUNT-2: gpu.launch blocks
func.func @write_after_read(%a: memref<2x128xf32>, %b: memref<256xf32>) {
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  %row = memref.subview %a[1, 0] [1, 128] [1, 1]
      : memref<2x128xf32> to memref<128xf32, strided<[1], offset: 128>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %v = memref.load %row[%c0] : memref<128xf32, strided<[1], offset: 128>>
    memref.store %v, %b[%tx] : memref<256xf32>
    gpu.terminator
  }
  %flat = memref.collapse_shape %a [[0, 1]] : memref<2x128xf32> into memref<256xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %one = arith.constant 1.0 : f32
    memref.store %one, %flat[%tx] : memref<256xf32>
    gpu.terminator
  }
  return
}

// -----

// Not merged: both write rows 0-1 of one buffer (the subviews overlap).
// CHECK-LABEL: func.func @overlapping_subviews
// CHECK-COUNT-2: gpu.launch blocks
func.func @overlapping_subviews(%a: memref<4x16xf32>) {
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  %first = memref.subview %a[0, 0] [2, 16] [1, 1]
      : memref<4x16xf32> to memref<2x16xf32, strided<[16, 1]>>
  %second = memref.subview %a[1, 0] [2, 16] [1, 1]
      : memref<4x16xf32> to memref<2x16xf32, strided<[16, 1], offset: 16>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %one = arith.constant 1.0 : f32
    memref.store %one, %first[%c0, %c0] : memref<2x16xf32, strided<[16, 1]>>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %two = arith.constant 2.0 : f32
    memref.store %two, %second[%c0, %c0] : memref<2x16xf32, strided<[16, 1], offset: 16>>
    gpu.terminator
  }
  return
}

// -----

// Not merged: different block sizes (a serial launch of one thread and a
// loop's 256-thread blocks), and launches with a kernel launch between them
// (gpu.launch_func reads and writes memory; launches do not move past it).
// CHECK-LABEL: func.func @barriers
// CHECK-COUNT-2: gpu.launch blocks
// CHECK: gpu.launch_func
// CHECK: gpu.launch blocks
module attributes {gpu.container_module} {
gpu.module @kernels {
  gpu.func @k(%x: memref<4xf32>) kernel {
    gpu.return
  }
}
func.func @barriers(%a: memref<256xf32>, %b: memref<256xf32>, %c: memref<4xf32>, %d: memref<256xf32>) {
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %one = arith.constant 1.0 : f32
    memref.store %one, %a[%c0] : memref<256xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %one = arith.constant 1.0 : f32
    memref.store %one, %b[%tx] : memref<256xf32>
    gpu.terminator
  }
  gpu.launch_func @kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%c : memref<4xf32>)
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %one = arith.constant 1.0 : f32
    memref.store %one, %d[%tx] : memref<256xf32>
    gpu.terminator
  }
  return
}

}

// -----

// Not merged: a buffer of unknown aliases (a cast from outside the memref
// world), and a grid of two dims.
// CHECK-LABEL: func.func @unknown
// CHECK-COUNT-3: gpu.launch blocks
func.func @unknown(%a: memref<256xf32>, %p: !llvm.ptr, %b: memref<256xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c256 = arith.constant 256 : index
  %x = builtin.unrealized_conversion_cast %p : !llvm.ptr to memref<256xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %one = arith.constant 1.0 : f32
    memref.store %one, %x[%tx] : memref<256xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %one = arith.constant 1.0 : f32
    memref.store %one, %a[%tx] : memref<256xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c2, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %one = arith.constant 1.0 : f32
    memref.store %one, %b[%tx] : memref<256xf32>
    gpu.terminator
  }
  return
}

// -----

// A run of three where the third reads what the first writes: the first two
// merge, the third stays.
// CHECK-LABEL: func.func @chain
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c2{{.*}},
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c1{{.*}},
// CHECK: memref.load %arg0
// CHECK-NOT: gpu.launch
func.func @chain(%a: memref<256xf32>, %b: memref<256xf32>, %c: memref<256xf32>) {
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
    %one = arith.constant 1.0 : f32
    memref.store %one, %b[%tx] : memref<256xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %v = memref.load %a[%tx] : memref<256xf32>
    memref.store %v, %c[%tx] : memref<256xf32>
    gpu.terminator
  }
  return
}

// -----

// Rows 0 and 1 of a buffer whose layout repeats its rows (stride 0) are the
// same memory: the first two launches stay apart. A global is one buffer
// wherever memref.get_global names it (inside the launch or outside): the
// last launch reads what the third writes. The second and third merge.
// CHECK-LABEL: func.func @aliased
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c1{{.*}},
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c2{{.*}},
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %c1{{.*}},
// CHECK-NOT: gpu.launch
memref.global "private" @table : memref<256xf32> = dense<0.0>
func.func @aliased(%a: memref<2x16xf32, strided<[0, 1]>>, %b: memref<256xf32>,
                   %c: memref<256xf32>) {
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  %row0 = memref.subview %a[0, 0] [1, 16] [1, 1]
      : memref<2x16xf32, strided<[0, 1]>> to memref<16xf32, strided<[1]>>
  %row1 = memref.subview %a[1, 0] [1, 16] [1, 1]
      : memref<2x16xf32, strided<[0, 1]>> to memref<16xf32, strided<[1]>>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %one = arith.constant 1.0 : f32
    memref.store %one, %row0[%c0] : memref<16xf32, strided<[1]>>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %v = memref.load %row1[%c0] : memref<16xf32, strided<[1]>>
    memref.store %v, %b[%tx] : memref<256xf32>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %t = memref.get_global @table : memref<256xf32>
    %two = arith.constant 2.0 : f32
    memref.store %two, %t[%tx] : memref<256xf32>
    gpu.terminator
  }
  %t = memref.get_global @table : memref<256xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %v = memref.load %t[%tx] : memref<256xf32>
    memref.store %v, %c[%tx] : memref<256xf32>
    gpu.terminator
  }
  return
}

// -----

// Not merged: the second launch reads the buffer through a reinterpret_cast
// of a subview of row 1, which rebases on the buffer's start (row 0, which
// the first launch writes): the subview bounds nothing.
// CHECK-LABEL: func.func @rebased
// CHECK-COUNT-2: gpu.launch blocks
func.func @rebased(%a: memref<2x16xf32>, %b: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  %row0 = memref.subview %a[0, 0] [1, 16] [1, 1]
      : memref<2x16xf32> to memref<16xf32, strided<[1]>>
  %row1 = memref.subview %a[1, 0] [1, 16] [1, 1]
      : memref<2x16xf32> to memref<16xf32, strided<[1], offset: 16>>
  %all = memref.reinterpret_cast %row1 to offset: [0], sizes: [32], strides: [1]
      : memref<16xf32, strided<[1], offset: 16>> to memref<32xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %one = arith.constant 1.0 : f32
    memref.store %one, %row0[%c0] : memref<16xf32, strided<[1]>>
    gpu.terminator
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %c0 = arith.constant 0 : index
    %v = memref.load %all[%c0] : memref<32xf32>
    memref.store %v, %b[%c0] : memref<32xf32>
    gpu.terminator
  }
  return
}
