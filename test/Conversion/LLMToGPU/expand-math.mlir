// RUN: llm-opt %s -split-input-file --pass-pipeline='builtin.module(gpu.module(llm-gpu-expand-math))' --verify-each | FileCheck %s

// Kernels make no libdevice calls: every math op below would otherwise
// become one (__nv_abs, __nv_sqrt, __nv_exp, ...) or stay unconverted.

gpu.module @kernels {
  // Integer abs is a select of the negation.
  // CHECK-LABEL: func.func @absi
  // CHECK-SAME: (%[[X:.*]]: i64)
  // CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : i64
  // CHECK-DAG: %[[NEG:.*]] = arith.cmpi slt, %[[X]], %[[ZERO]] : i64
  // CHECK-DAG: %[[MINUS:.*]] = arith.subi %[[ZERO]], %[[X]] : i64
  // CHECK: %[[R:.*]] = arith.select %[[NEG]], %[[MINUS]], %[[X]] : i64
  // CHECK: return %[[R]]
  // CHECK-NOT: math.absi
  func.func @absi(%x: i64) -> i64 {
    %r = math.absi %x : i64
    return %r : i64
  }

  // sqrt: f32 on the NVVM IEEE instruction, f16 and f64 on LLVM's.
  // CHECK-LABEL: func.func @sqrt
  // CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f64
  // CHECK: llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"({{.*}}) : (f32) -> f32
  // CHECK: llvm.call_intrinsic "llvm.sqrt.f16"({{.*}}) : (f16) -> f16
  // CHECK: llvm.call_intrinsic "llvm.sqrt.f64"({{.*}}) : (f64) -> f64
  // CHECK: %[[S:.*]] = llvm.call_intrinsic "llvm.sqrt.f64"({{.*}}) : (f64) -> f64
  // CHECK: arith.divf %[[ONE]], %[[S]] : f64
  // CHECK-NOT: math.
  func.func @sqrt(%a: f32, %b: f16, %c: f64) -> (f32, f16, f64, f64) {
    %0 = math.sqrt %a : f32
    %1 = math.sqrt %b : f16
    %2 = math.sqrt %c : f64
    %3 = math.rsqrt %c : f64
    return %0, %1, %2, %3 : f32, f16, f64, f64
  }

  // f64 transcendentals are computed in f32 (the approximations are f32).
  // CHECK-LABEL: func.func @f64_exp
  // CHECK-SAME: (%[[X:.*]]: f64)
  // CHECK: %[[N:.*]] = arith.truncf %[[X]] : f64 to f32
  // CHECK-NOT: math.exp
  // CHECK: %[[W:.*]] = arith.extf %{{.*}} : f32 to f64
  // CHECK: return %[[W]] : f64
  func.func @f64_exp(%x: f64) -> f64 {
    %r = math.exp %x : f64
    return %r : f64
  }

  // CHECK-LABEL: func.func @f64_pow
  // CHECK-COUNT-2: arith.truncf {{.*}} : f64 to f32
  // CHECK-NOT: math.powf
  // CHECK: arith.extf {{.*}} : f32 to f64
  func.func @f64_pow(%x: f64, %y: f64) -> f64 {
    %r = math.powf %x, %y : f64
    return %r : f64
  }

  // bf16 math is computed in f32 (NVVM would call libdevice, and the
  // approximations would compute in bf16), then rounded: sqrt on the NVVM
  // instruction, exp through the f32 approximation; the integer exponent
  // of fpowi stays as it is.
  // CHECK-LABEL: func.func @bf16_math
  // CHECK-SAME: (%[[X:.*]]: bf16, %[[N:.*]]: i32)
  // CHECK: %[[W:.*]] = arith.extf %[[X]] : bf16 to f32
  // CHECK: %[[S:.*]] = llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%[[W]]) : (f32) -> f32
  // CHECK: %[[SB:.*]] = arith.truncf %[[S]] : f32 to bf16
  // CHECK: arith.truncf {{.*}} : f32 to bf16
  // CHECK: math.fpowi {{.*}}, %[[N]] : f32, i32
  // CHECK-NOT: math.exp
  // CHECK-NOT: : bf16 -> bf16
  // CHECK: return
  func.func @bf16_math(%x: bf16, %n: i32) -> (bf16, bf16, bf16) {
    %s = math.sqrt %x : bf16
    %e = math.exp %x : bf16
    %p = math.fpowi %x, %n : bf16, i32
    return %s, %e, %p : bf16, bf16, bf16
  }

  // fma on scalars and on vectors (the GEMV kernel's f32 runs): LLVM's
  // overloaded intrinsic, not a call of __nv_fmaf per element.
  // CHECK-LABEL: func.func @fma
  // CHECK: llvm.call_intrinsic "llvm.fma.f32"({{.*}}) : (f32, f32, f32) -> f32
  // CHECK: llvm.call_intrinsic "llvm.fma.v8f32"({{.*}}) : (vector<8xf32>, vector<8xf32>, vector<8xf32>) -> vector<8xf32>
  // CHECK-NOT: math.fma
  func.func @fma(%a: f32, %v: vector<8xf32>) -> (f32, vector<8xf32>) {
    %s = math.fma %a, %a, %a : f32
    %w = math.fma %v, %v, %v : vector<8xf32>
    return %s, %w : f32, vector<8xf32>
  }

  // The divisions the approximations write (erf's and tanh's rational
  // forms) are approximate (`afn`: div.approx.f32, not div.rn.f32's IEEE
  // path and its slow-path call); the kernel's own division and rsqrt's
  // reciprocal stay IEEE, and no marker is left.
  // CHECK-LABEL: func.func @approximate_divisions
  // CHECK-SAME: (%[[X:.*]]: f32, %[[Y:.*]]: f32, %[[V:.*]]: vector<4xf32>)
  // CHECK: arith.divf %{{.*}}, %{{.*}} fastmath<afn> : f32
  // CHECK: arith.divf %[[X]], %[[Y]] : f32
  // CHECK: %[[ROOT:.*]] = llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%[[X]])
  // CHECK: arith.divf %{{.*}}, %[[ROOT]] : f32
  // CHECK: arith.divf %{{.*}}, %{{.*}} fastmath<afn> : vector<4xf32>
  // CHECK-NOT: llmc.exact_division
  // CHECK: return
  func.func @approximate_divisions(%x: f32, %y: f32, %v: vector<4xf32>)
      -> (f32, f32, f32, vector<4xf32>) {
    %0 = math.erf %x : f32
    %1 = arith.divf %x, %y : f32
    %2 = math.rsqrt %x : f32
    %3 = math.tanh %v : vector<4xf32>
    return %0, %1, %2, %3 : f32, f32, f32, vector<4xf32>
  }
}
