"""check-npu-stats.py STATS.json --kernels N [--min-offloaded F] [--layer NAME]...

Checks the `npu` section llm-run --stats writes for a model on the NPU:
the simulator's counters (instructions per class, bytes per memory, energy
per component), N kernels, each run with cycles, MACs = m*k*n per call and a utilization in
(0, 1]; totals that are the sums of the rows; at least F of the graph's
matmul work offloaded; the named layers (ONNX node names) among the rows.
"""
import argparse
import json
import sys

parser = argparse.ArgumentParser()
parser.add_argument("stats")
parser.add_argument("--kernels", type=int, required=True)
parser.add_argument("--min-offloaded", type=float, default=0.9)
parser.add_argument("--layer", action="append", default=[])
args = parser.parse_args()
npu = json.load(open(args.stats))["npu"]
errors = []
layers = npu["layers"]
if npu["kernels"] != args.kernels or len(layers) != args.kernels:
    errors.append(f"{npu['kernels']} kernels, {len(layers)} rows, expected {args.kernels}")
for row in layers:
    if row["calls"] < 1 or row["cycles"] <= 0:
        errors.append(f"{row['name']}: not run")
    if row["macs"] != row["m"] * row["k"] * row["n"] * row["calls"]:
        errors.append(f"{row['name']}: {row['macs']} MACs for {row['m']}x{row['k']}x{row['n']}")
    if not 0 < row["mac_utilization"] <= 1:
        errors.append(f"{row['name']}: utilization {row['mac_utilization']}")
    if row["energy_j"] <= 0:
        errors.append(f"{row['name']}: no energy")
totals = {"cycles": npu["cycles"], "macs": npu["macs"],
          "energy_j": npu["energy_j"]["total"]}
for key, value in totals.items():
    total = sum(row[key] for row in layers)
    if abs(value - total) > 1e-9 * max(1.0, abs(total)):
        errors.append(f"{key}: total {value} is not the rows' sum {total}")
# The simulator's counters, summed over the kernels.
for group, keys in {"instructions": ("total", "dma_load", "dma_store", "weights", "matmul", "vector"),
                    "bytes": ("dram_read", "dram_write", "scratchpad_read", "accumulator_write"),
                    "energy_j": ("mac", "dram", "sram", "static", "total")}.items():
    for key in keys:
        if key == "vector" and all(row["epilogue"] == "int32" for row in layers):
            continue  # int32 results need no vector unit
        if not npu.get(group, {}).get(key, 0) > 0:
            errors.append(f"{group}.{key} is missing or zero")
if npu["instructions"]["matmul"] != npu["instructions"]["weights"]:
    errors.append("one ldw per mm expected")
if npu["offloaded_matmul_fraction"] < args.min_offloaded:
    errors.append(f"offloaded {npu['offloaded_matmul_fraction']} < {args.min_offloaded}")
names = {row["name"] for row in layers}
for name in args.layer:
    if name not in names:
        errors.append(f"no layer '{name}' among {sorted(names)}")
for error in errors:
    print("error:", error)
sys.exit(1 if errors else 0)
