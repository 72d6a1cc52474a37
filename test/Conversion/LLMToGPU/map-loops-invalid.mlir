// RUN: llm-opt %s -split-input-file --llm-gpu-map-loops -verify-diagnostics

// llm-gpu-map-loops maps static loop nests and copies onto launches; a loop
// whose bounds are only known at run time, a reduction loop and a copy of a
// dynamic shape are each one error on the op.

func.func @dynamic_bound(%a: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  // expected-error @below {{llm-gpu-map-loops: loop bounds must be static}}
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %one, %a[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

func.func @reduction(%a: memref<16xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.0 : f32
  // expected-error @below {{llm-gpu-map-loops: parallel loops with reductions are not supported}}
  %sum = scf.parallel (%i) = (%c0) to (%c16) step (%c1) init (%zero) -> f32 {
    %v = memref.load %a[%i] : memref<16xf32>
    scf.reduce(%v : f32) {
    ^bb0(%x: f32, %y: f32):
      %s = arith.addf %x, %y : f32
      scf.reduce.return %s : f32
    }
  }
  return %sum : f32
}

// -----

func.func @dynamic_copy(%a: memref<?xf32>, %b: memref<?xf32>) {
  // expected-error @below {{llm-gpu-map-loops: copies must have static shapes}}
  memref.copy %a, %b : memref<?xf32> to memref<?xf32>
  return
}
