#!/bin/sh
# run-cases.sh DIR TOL CASE...: runs DIR/CASE/model.onnx through the GPU
# emulator on DIR/CASE/*.npy and checks output y against expected_y.npy
# within TOL (rtol and atol); prints one line per case.
dir=$1
tol=$2
shift 2
for case in "$@"; do
  inputs=""
  for f in "$dir/$case"/*.npy; do
    name=$(basename "$f" .npy)
    case $name in expected_*) ;; *) inputs="$inputs --input $name=$f" ;; esac
  done
  printf '%s: ' "$case"
  llm-run "$dir/$case/model.onnx" --target ptx $EXTRA --emulate-gpu \
    $inputs --expect "y=$dir/$case/expected_y.npy" --rtol "$tol" --atol "$tol" 2>&1 \
    | grep -v '^llm-run: \(compiling\|running\|gpu emulator\)'
done
