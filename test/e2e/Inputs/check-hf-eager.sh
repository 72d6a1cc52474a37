#!/bin/bash
# check-hf-eager.sh PYTHON DIR [no-hls]: the llm.attention lines of DIR/model.onnx
# after the graph pipeline, the llm.softmax count left, then host, hls and ptx
# (GPU emulator) against torch's logits on the real positions (all of them
# without DIR/attention_mask.npy); with no-hls, "hls: skipped" (each C++
# build takes seconds). Exits non-zero
# if a step fails or a comparison is out of bounds.
set -eo pipefail
python=$1
d=$2
here=$(dirname "$0")
llm-translate --import-onnx "$d/model.onnx" | llm-opt --llm-graph-pipeline --verify-each > "$d/graph.mlir"
grep -o 'llm.attention.*' "$d/graph.mlir"
echo "softmax $(grep -c 'llm.softmax' "$d/graph.mlir" || true)"
inputs=(--input "input_ids=$d/input_ids.npy")
keep=()
# A model without padding (is_causal, no mask) has no attention_mask input.
if [ -f "$d/attention_mask.npy" ]; then
  inputs+=(--input "attention_mask=$d/attention_mask.npy")
  keep=(--mask "$d/attention_mask.npy")
fi
compare() {
  "$python" "$here/compare-logits.py" "$d/$1/logits.npy" "$d/logits.npy" "${keep[@]}" "${@:2}"
}
llm-run "$d/model.onnx" --target host "${inputs[@]}" --output-dir "$d/host" > /dev/null
result=$(compare host --rtol 1e-4 --atol 1e-5 --min-top1 1)
echo "host: $result"
if [ "$3" = no-hls ]; then
  echo "hls: skipped"
else
  llm-run "$d/model.onnx" --target hls "${inputs[@]}" --output-dir "$d/hls" > /dev/null
  result=$(compare hls --rtol 1e-4 --atol 1e-5 --min-top1 1)
  echo "hls: $result"
fi
llm-run "$d/model.onnx" --target ptx --emulate-gpu "${inputs[@]}" --output-dir "$d/ptx" > /dev/null 2>&1
result=$(compare ptx --min-cosine 0.9999 --min-top1 1)
echo "ptx: $result"
