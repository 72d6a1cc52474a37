// RUN: llm-opt %s -split-input-file --llm-hls-round-16bit-floats --verify-each | FileCheck %s
// RUN: llm-opt %s -split-input-file --llm-hls-round-16bit-floats --canonicalize --verify-each \
// RUN:   | FileCheck %s --check-prefix=KEPT
// RUN: llm-opt %s -split-input-file --canonicalize | FileCheck %s --check-prefix=FOLDED

// The casts arith-emulate-unsupported-floats wraps around an f16 op lose
// their contract flag, so canonicalization keeps the rounding between two
// ops; without the pass, extf(truncf(x)) folds to x.
// CHECK-LABEL: func @chain
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK-NOT: fastmath
// KEPT-LABEL: func @chain
// KEPT-COUNT-2: arith.truncf
// FOLDED-LABEL: func @chain
// FOLDED-COUNT-1: arith.truncf
// FOLDED-NOT: arith.truncf
// FOLDED: return
func.func @chain(%x: f16) -> f16 {
  %0 = arith.extf %x fastmath<contract> : f16 to f32
  %1 = arith.mulf %0, %0 : f32
  %2 = arith.truncf %1 fastmath<contract> : f32 to f16
  %3 = arith.extf %2 fastmath<contract> : f16 to f32
  %4 = arith.addf %3, %0 : f32
  %5 = arith.truncf %4 fastmath<contract> : f32 to f16
  return %5 : f16
}

// -----

// bf16 and vectors too.
// CHECK-LABEL: func @bf16_vector
// CHECK: arith.extf %{{.*}} : vector<4xbf16> to vector<4xf32>
// CHECK: arith.truncf %{{.*}} : vector<4xf32> to vector<4xbf16>
func.func @bf16_vector(%x: vector<4xbf16>) -> vector<4xbf16> {
  %0 = arith.extf %x fastmath<contract> : vector<4xbf16> to vector<4xf32>
  %1 = math.exp %0 : vector<4xf32>
  %2 = arith.truncf %1 fastmath<contract> : vector<4xf32> to vector<4xbf16>
  return %2 : vector<4xbf16>
}

// -----

// Casts between wider floats keep their flags: only the 16-bit roundings
// are ONNX's.
// CHECK-LABEL: func @wide
// CHECK: arith.extf %{{.*}} fastmath<contract> : f32 to f64
// CHECK: arith.truncf %{{.*}} fastmath<contract> : f64 to f32
func.func @wide(%x: f32) -> f32 {
  %0 = arith.extf %x fastmath<contract> : f32 to f64
  %1 = arith.truncf %0 fastmath<contract> : f64 to f32
  return %1 : f32
}
