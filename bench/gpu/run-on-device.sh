#!/bin/bash
# One device call's command (bench/README.md): the GPU and its driver, then
# bench_gpu.py --run over the prepared folder, its output and JSON written
# under $OUT (or ./gpu-results) as it goes, so a run cut short still
# returns what it measured.
#
#   bash bench/gpu/run-on-device.sh [PREPARED_DIR] [DEADLINE_S]
set -o pipefail
folder=${1:-gpu-prepared}
deadline=${2:-420}
out=${OUT:-gpu-results}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm \
    --format=csv 2>&1; python3 -c "import cupy, torch; print('cupy', cupy.__version__, \
'torch', torch.__version__)" 2>&1; } | tee "$out/gpu-info.txt"
python3 "$(dirname "$0")/bench_gpu.py" --run "$folder" --deadline "$deadline" \
    --json "$out/gpu.json" 2>&1 | tee "$out/gpu.txt"
