// RUN: llm-opt %s --verify-diagnostics \
// RUN:   --pass-pipeline='builtin.module(func.func(llm-host-register-tiles{tile-rows=0}))'

// A tile of no rows is refused.
// expected-error @below {{llm-host-register-tiles: tile-rows must be at least 1}}
func.func @rows(%a: memref<4xf32>) {
  return
}
