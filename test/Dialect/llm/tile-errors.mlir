// llm-set-target and llm-tile reject what they cannot use with one message,
// and warn when no tile fits.
// RUN: not llm-opt %s --llm-set-target 2>&1 | FileCheck %s --check-prefix=NO-NAME
// RUN: not llm-opt %s --llm-set-target=target=tpu9 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not llm-opt %s --llm-set-target=target=%s 2>&1 | FileCheck %s --check-prefix=NOT-JSON
// RUN: not llm-opt %s --llm-tile 2>&1 | FileCheck %s --check-prefix=NO-TARGET
// RUN: not llm-opt %s --llm-tile=target=tpu9 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not llm-opt %s --llm-tile="target=npu matmul-tile-sizes=64,64" 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not llm-opt %s --llm-tile="target=npu attention-tile-sizes=0,16" 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not llm-opt %s --llm-tile="target=npu norm-tile-sizes=-4" 2>&1 | FileCheck %s --check-prefix=NEGATIVE
// RUN: not llm-opt %s --llm-tile="target=npu loop=while" 2>&1 | FileCheck %s --check-prefix=LOOP
// RUN: not llm-opt %s --llm-tile="target=npu matmul-tile-sizes=a,b,c" 2>&1 | FileCheck %s --check-prefix=PARSE
// RUN: llm-opt %s --llm-tile=target=npu -o /dev/null 2>&1 | FileCheck %s --check-prefix=NO-FIT
// RUN: not llm-opt %s --split-input-file --llm-tile 2>&1 | FileCheck %s --check-prefix=BAD-ATTR

// NO-NAME: error: llm-set-target needs target=NAME|FILE (bundled: h100, npu, u280)
// UNKNOWN: error: cannot load target 'tpu9': tpu9: cannot read target description: No such file or directory (bundled: h100, npu, u280)
// NOT-JSON: error: cannot load target '{{.*}}tile-errors.mlir': {{.*}}tile-errors.mlir:
// NO-TARGET: error: llm-tile needs a target: run llm-set-target first or pass target=NAME|FILE
// COUNT: error: matmul-tile-sizes expects 3 sizes (M,N,K), got 2
// ZERO: error: attention-tile-sizes expects positive sizes, got 0
// NEGATIVE: error: norm-tile-sizes expects positive sizes, got -4
// LOOP: error: llm-tile: loop must be 'forall' or 'for', got 'while'
// PARSE: matmul-tile-sizes
// NO-FIT: warning: llm-tile: no tile fits the 524288 on-chip bytes of npu (or its accumulators); taking the smallest, 264192 bytes
// BAD-ATTR: error: invalid llm.target: {{.+}}

// Causal attention with a float mask keeps its 256 rows whole: their
// accumulators exceed the NPU's.
func.func @causal(%q: tensor<1x32x256x128xf32>, %k: tensor<1x8x256x128xf32>, %v: tensor<1x8x256x128xf32>, %m: tensor<1x1x256x256xf32>) -> tensor<1x32x256x128xf32> {
  %0 = llm.attention %q, %k, %v, %m {scale = 0.0883883 : f32, causal = true} : (tensor<1x32x256x128xf32>, tensor<1x8x256x128xf32>, tensor<1x8x256x128xf32>, tensor<1x1x256x256xf32>) -> tensor<1x32x256x128xf32>
  return %0 : tensor<1x32x256x128xf32>
}

// -----

module attributes {llm.target = {name = "half", kind = "gpu"}} {
}
