#!/bin/bash
# llm-run with `--target host` replaced by `--target hls`: runs
# scripts/conformance.py (which asks for the host) through HLS C-simulation.
args=()
for arg in "$@"; do
  if [ "$arg" = host ]; then args+=(hls); else args+=("$arg"); fi
done
exec llm-run "${args[@]}"
