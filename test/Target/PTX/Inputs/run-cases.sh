#!/bin/sh
# run-cases.sh DIR TOL CASE...: runs DIR/CASE/model.onnx through the GPU
# emulator on DIR/CASE/*.npy and checks each output NAME that has an
# expected_NAME.npy (y, and the presents of a cache) within TOL (rtol and
# atol); prints a line per case and output.
dir=$1
tol=$2
shift 2
for case in "$@"; do
  inputs=""
  for f in "$dir/$case"/*.npy; do
    name=$(basename "$f" .npy)
    case $name in
      expected_*) inputs="$inputs --expect ${name#expected_}=$f" ;;
      *) inputs="$inputs --input $name=$f" ;;
    esac
  done
  printf '%s: ' "$case"
  llm-run "$dir/$case/model.onnx" --target ptx $EXTRA --emulate-gpu \
    $inputs --rtol "$tol" --atol "$tol" 2>&1 \
    | grep -v '^llm-run: \(compiling\|running\|gpu emulator\)'
done
