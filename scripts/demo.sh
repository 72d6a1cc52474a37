#!/usr/bin/env bash
# The main job: sets up and builds llmc (scripts/setup.sh), compiles the
# bundled GPT-2-style model (examples/gpt2-tiny) for each target in TARGETS,
# runs it on its example input, checks the logits against torch's and prints
# each target's report.
#
#   bash scripts/demo.sh [MODEL_DIR]
#
# MODEL_DIR holds model.onnx, input_ids.npy and logits.npy (default:
# examples/gpt2-tiny). Environment: LLMC_SKIP_SETUP=1 uses the tools already
# in build/bin; LLMC_DEMO_DIR=DIR keeps the artifacts there (default: a new
# temporary folder, printed at the end).
set -euo pipefail

# Targets to compile and run, and each one's tolerance against torch's fp32
# logits (npu runs W8A8 and is checked against the host's int8 reference
# below). ptx runs its kernels on the GPU emulator (no GPU needed; bf16
# tensor-core operands, hence its tolerance).
TARGETS=(host hls ptx)
declare -A RTOL=([host]=1e-4 [hls]=1e-4 [ptx]=5e-2)
declare -A ATOL=([host]=1e-5 [hls]=1e-5 [ptx]=5e-2)
declare -A RUN_FLAGS=([ptx]=--emulate-gpu)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${LLMC_BUILD_DIR:-build}"
[[ "$BUILD_DIR" == /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
BIN="$BUILD_DIR/bin"
PYTHON=/usr/bin/python3
[[ -x "$PYTHON" ]] || PYTHON=python3

say() { echo "[demo] $*"; }

MODEL_DIR="$(cd "${1:-examples/gpt2-tiny}" && pwd)"
for file in model.onnx input_ids.npy logits.npy; do
  [[ -f "$MODEL_DIR/$file" ]] || { echo "demo: error: $MODEL_DIR/$file not found" >&2; exit 2; }
done

if [[ "${LLMC_SKIP_SETUP:-0}" != 1 ]]; then
  bash "$ROOT/scripts/setup.sh"
fi
for tool in llm-compile llm-run; do
  [[ -x "$BIN/$tool" ]] || { echo "demo: error: $BIN/$tool not built" >&2; exit 2; }
done

WORK="${LLMC_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/llmc-demo.XXXXXX")}"
mkdir -p "$WORK"

status=0
for target in "${TARGETS[@]}"; do
  dir="$WORK/$target"
  rtol="${RTOL[$target]:-1e-4}"
  atol="${ATOL[$target]:-1e-5}"
  rm -rf "$dir"
  say "compiling $MODEL_DIR/model.onnx for $target -> $dir"
  if ! "$BIN/llm-compile" "$MODEL_DIR/model.onnx" --target "$target" -o "$dir" \
      --report "$dir/report.json"; then
    say "$target: llm-compile failed: FAIL"
    status=1
    continue
  fi
  say "running $dir on $target ${RUN_FLAGS[$target]:+${RUN_FLAGS[$target]} }(rtol $rtol, atol $atol)"
  # shellcheck disable=SC2086
  if "$BIN/llm-run" "$dir" --target "$target" ${RUN_FLAGS[$target]:-} \
      --input "input_ids=$MODEL_DIR/input_ids.npy" \
      --expect "logits=$MODEL_DIR/logits.npy" --rtol "$rtol" --atol "$atol" \
      --output-dir "$dir/out"; then
    result=PASS
  else
    result=FAIL
    status=1
  fi
  if [[ -f "$dir/out/logits.npy" ]]; then
    "$PYTHON" - "$dir/out/logits.npy" "$MODEL_DIR/logits.npy" "$target" "$result" <<'EOF'
import sys
import numpy as np
out, ref = np.load(sys.argv[1]), np.load(sys.argv[2])
print(f"[demo] {sys.argv[3]}: logits {list(out.shape)}, max |diff| vs torch "
      f"{np.abs(out.astype(np.float64) - ref).max():.3g}: {sys.argv[4]}")
EOF
  else
    say "$target: no logits written: $result"
  fi
done

# W8A8 on the NPU: the linear layers run as NPU instruction streams on the
# cycle-level simulator; the logits must be bit-identical to the host's int8
# reference (same synthetic calibration) and close to torch's fp32 ones.
say "compiling $MODEL_DIR/model.onnx for npu (W8A8) -> $WORK/npu"
rm -rf "$WORK/npu" "$WORK/host-int8"
if "$BIN/llm-run" "$MODEL_DIR/model.onnx" --target host --quant int8 \
      --input "input_ids=$MODEL_DIR/input_ids.npy" --output-dir "$WORK/host-int8" 2>/dev/null &&
   "$BIN/llm-compile" "$MODEL_DIR/model.onnx" --target npu --quant int8 -o "$WORK/npu" \
      >/dev/null 2>&1 &&
   "$BIN/llm-run" "$WORK/npu" --target npu --input "input_ids=$MODEL_DIR/input_ids.npy" \
      --expect "logits=$WORK/host-int8/logits.npy" --rtol 0 --atol 0 \
      --output-dir "$WORK/npu/out" --stats "$WORK/npu/stats.json" &&
   "$PYTHON" - "$WORK/npu/out/logits.npy" "$MODEL_DIR/logits.npy" "$WORK/npu/stats.json" <<'EOF'
import json, sys
import numpy as np
out, ref = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2])
npu = json.load(open(sys.argv[3]))["npu"]
cosine = (out * ref).sum() / np.linalg.norm(out) / np.linalg.norm(ref)
top1 = (out.argmax(-1) == ref.argmax(-1)).mean()
print(f"[demo] npu: bit-identical to the host int8 reference; vs torch fp32: cosine "
      f"{cosine:.5f}, top-1 {top1:.3f}; {npu['kernel_calls']} NPU kernels, "
      f"{npu['cycles']} cycles, MAC utilization {100 * npu['mac_utilization']:.1f}%")
sys.exit(0 if cosine >= 0.99 and top1 >= 0.9 else 1)
EOF
then
  say "npu: PASS"
else
  say "npu: FAIL"
  status=1
fi

# The report: the host's figures and the roofline estimates for every
# described target (ptx: h100, hls: u280, npu: the llmc NPU), as a table, a
# JSON file and an SVG roofline chart.
say "report for every target ($WORK/report.json, $WORK/report.svg):"
if ! "$BIN/llm-compile" "$MODEL_DIR/model.onnx" --target all -o "$WORK/all" \
    --report "$WORK/report.json"; then
  say "llm-compile --target all failed: FAIL"
  status=1
fi

say "artifacts in $WORK"
if (( status == 0 )); then
  say "all targets match torch: ${TARGETS[*]} npu"
else
  say "FAILED: not every target compiled and matched torch (${TARGETS[*]} npu)"
fi
exit "$status"
