// RUN: llm-translate %s -split-input-file --emit-hls-cpp -verify-diagnostics
// RUN: %python %S/../../e2e/Inputs/expect-exit.py 2 llm-translate %S/Inputs/dynamic-port.mlir --emit-hls-cpp 2>&1 | FileCheck %s --check-prefix=EXIT
// EXIT: error: argument #0 has the type 'memref<?xf32>'; HLS ports are memrefs of static shape

// Inputs the emitter refuses, each with an error at the op.

// expected-error @+1 {{argument #0 has the type 'memref<?xf32>'; HLS ports are memrefs of static shape}}
func.func @forward(%x: memref<?xf32>) {
  return
}

// -----

// expected-error @+1 {{returns values; the HLS kernel writes its outputs to out-parameters}}
func.func @forward(%x: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %v = memref.load %x[%c0] : memref<4xf32>
  return %v : f32
}

// -----

func.func @forward(%x: memref<4xf32>, %y: memref<4xf32>) {
  affine.for %i = 0 to 4 {
    %v = affine.load %x[%i] : memref<4xf32>
    // expected-error @+1 {{'math.cbrt' op cannot be written as HLS C++ (not in the emitter's synthesizable subset)}}
    %c = math.cbrt %v : f32
    affine.store %c, %y[%i] : memref<4xf32>
  }
  return
}

// -----

// expected-error @+1 {{the HLS C++ emitter does not support the type 'f8E4M3FN'}}
func.func @forward(%x: memref<4xf32>, %y: memref<4xf8E4M3FN>) {
  affine.for %i = 0 to 4 {
    %v = affine.load %x[%i] : memref<4xf32>
    %c = arith.truncf %v : f32 to f8E4M3FN
    affine.store %c, %y[%i] : memref<4xf8E4M3FN>
  }
  return
}

// -----

// expected-error @+1 {{the module has two public functions, @forward and @other; an HLS kernel has one top function}}
module {
  func.func @forward(%x: memref<4xf32>) {
    return
  }
  func.func @other(%x: memref<4xf32>) {
    return
  }
}

// -----

func.func @forward(%x: memref<4xf32>, %n: memref<index>) {
  %size = memref.load %n[] : memref<index>
  // expected-error @+1 {{allocates 'memref<?xf32>'; HLS buffers need static shapes}}
  %buf = memref.alloc(%size) : memref<?xf32>
  return
}

// -----

// f16 values are written as their bits: arithmetic on them would be integer
// arithmetic (the HLS pipeline computes f16 in f32 before the emitter).
func.func @forward(%x: memref<4xf16>, %y: memref<4xf16>) {
  %c0 = arith.constant 0 : index
  %a = memref.load %x[%c0] : memref<4xf16>
  // expected-error @+1 {{'arith.addf' op computes on 16-bit float values, which the HLS C++ emitter writes only as bits}}
  %b = arith.addf %a, %a : f16
  memref.store %b, %y[%c0] : memref<4xf16>
  return
}
