#!/bin/sh
# run-gemms.sh GEMMS DESC: runs every case make-gemms.py wrote through the
# GPU emulator with target description DESC; prints one line per case.
gemms=$1
desc=$2
for case in wide-bias transb batched scalar shared; do
  inputs=""
  for f in "$gemms/$case"/*.npy; do
    name=$(basename "$f" .npy)
    case $name in expected_*) ;; *) inputs="$inputs --input $name=$f" ;; esac
  done
  printf '%s: ' "$case"
  llm-run "$gemms/$case/model.onnx" --target ptx --target-desc "$desc" --emulate-gpu \
    $inputs --expect "y=$gemms/$case/expected_y.npy" --rtol 1e-4 --atol 1e-4 2>&1 \
    | grep -v '^llm-run: \(compiling\|running\|gpu emulator\)' || exit 1
done
