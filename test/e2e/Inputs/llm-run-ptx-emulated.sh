#!/bin/bash
# llm-run with `--target host` replaced by `--target ptx --emulate-gpu`:
# runs scripts/conformance.py (which asks for the host) through the ptx
# target's kernels on the GPU emulator.
args=()
for arg in "$@"; do
  if [ "$arg" = host ]; then args+=(ptx --emulate-gpu); else args+=("$arg"); fi
done
exec llm-run "${args[@]}"
