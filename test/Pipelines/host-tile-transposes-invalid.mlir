// RUN: llm-opt %s --llm-host-tile-transposes="tile-size=0" -verify-diagnostics

// expected-error @+1 {{llm-host-tile-transposes: tile-size must be at least 1}}
func.func @f() {
  return
}
