#!/usr/bin/env python3
"""NPU model benchmark: a GPT-2-style model compiled for the npu target (W8A8)
and run on the simulator, layer by layer.

    /usr/bin/python3 bench/npu_model_bench.py [--build build] [--size small|tiny]
        [--seq 128] [--target-desc npu] [--keep DIR] [--json FILE]

`--size small` is GPT-2 small's shape (12 layers, d_model 768, 12 heads,
MLP 3072, vocabulary 50257; random weights), `tiny` the test suite's model.
The script exports it with torch (test/models/export_models.py), runs it with
`llm-run --target npu --quant int8` (calibrated on two random token
sequences) and with `--target host --quant int8`, and prints one row per NPU
kernel (the model's linear layers, by ONNX node): MxKxN, simulated cycles,
MAC utilization of the array, DRAM bytes and energy; then the totals, the
share of the graph's matmul work on the NPU, the simulator's speed and
whether the logits are bit-identical to the host's int8 reference. Exits 1
if they are not, 2 if a tool fails.
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def export(size, seq, work):
    import torch
    sys.path.insert(0, os.path.join(ROOT, "test", "models"))
    import export_models as em
    if size == "small":
        config = em.GPT2Config(vocab_size=50257, max_positions=max(seq, 64),
                               d_model=768, n_heads=12, n_layers=12)
    else:
        config = em.GPT2Config(max_positions=max(seq, 64))
    torch.manual_seed(0)
    model = em.GPT2(config).eval()
    ids = torch.randint(0, config.vocab_size, (1, seq))
    path = os.path.join(work, "model.onnx")
    with torch.no_grad():
        torch.onnx.export(model, (ids,), path, input_names=["input_ids"],
                          output_names=["logits"], opset_version=17,
                          do_constant_folding=True)
    np.save(os.path.join(work, "input_ids.npy"), ids.numpy())
    rng = np.random.default_rng(1)
    np.savez(os.path.join(work, "calib.npz"),
             input_ids=rng.integers(0, config.vocab_size, (2, 1, seq), dtype=np.int64))
    return config


def llm_run(build, work, target, desc, extra):
    command = [os.path.join(build, "bin", "llm-run"), os.path.join(work, "model.onnx"),
               "--target", target, "--quant", "int8",
               "--calib", os.path.join(work, "calib.npz"),
               "--input", "input_ids=" + os.path.join(work, "input_ids.npy"),
               "--output-dir", os.path.join(work, target)] + extra
    if target == "npu":
        command += ["--target-desc", desc]
    start = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--size", choices=["small", "tiny"], default="small")
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--target-desc", default="npu")
    parser.add_argument("--keep", help="keep the model and outputs in this folder")
    parser.add_argument("--json", help="also write the results as JSON")
    args = parser.parse_args()
    build = os.path.abspath(args.build)
    work = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="npu-model-")
    os.makedirs(work, exist_ok=True)
    try:
        print(f"exporting GPT-2 {args.size} (seq {args.seq}) ...", file=sys.stderr)
        export(args.size, args.seq, work)
        stats_path = os.path.join(work, "npu.json")
        print("running on the NPU simulator ...", file=sys.stderr)
        npu_wall = llm_run(build, work, "npu", args.target_desc, ["--stats", stats_path])
        print("running the host int8 reference ...", file=sys.stderr)
        llm_run(build, work, "host", args.target_desc, [])
    except (subprocess.CalledProcessError, OSError, ImportError) as error:
        print(f"npu_model_bench: {error}", file=sys.stderr)
        return 2
    stats = json.load(open(stats_path))
    npu = stats["npu"]
    got = np.load(os.path.join(work, "npu", "logits.npy"))
    want = np.load(os.path.join(work, "host", "logits.npy"))
    exact = got.dtype == want.dtype and np.array_equal(got, want)

    header = (f"{'layer (ONNX node)':<34} {'MxKxN':>17} {'epilogue':>16} {'cycles':>10} "
              f"{'util':>7} {'DRAM MB':>8} {'energy uJ':>10}")
    print(header)
    print("-" * len(header))
    for row in npu["layers"]:
        name = row["name"] if len(row["name"]) <= 34 else "..." + row["name"][-31:]
        print(f"{name:<34} {row['m']:>5}x{row['k']:>5}x{row['n']:>5} {row['epilogue']:>16} "
              f"{row['cycles']:>10} {100 * row['mac_utilization']:>6.1f}% "
              f"{row['dram_bytes'] / 1e6:>8.2f} {row['energy_j'] * 1e6:>10.1f}")
    print("-" * len(header))
    dram = npu["bytes"]["dram_read"] + npu["bytes"]["dram_write"]
    print(f"{'total (' + str(npu['kernel_calls']) + ' kernel calls)':<34} {'':>17} {'':>16} "
          f"{npu['cycles']:>10} {100 * npu['mac_utilization']:>6.1f}% {dram / 1e6:>8.2f} "
          f"{npu['energy_j']['total'] * 1e6:>10.1f}")
    tokens = args.seq
    print(f"NPU time at {npu['target']}'s clock: {npu['seconds'] * 1e3:.3f} ms for {tokens} "
          f"tokens ({tokens / npu['seconds']:.0f} tokens/s, "
          f"{npu['energy_j']['total'] / tokens * 1e3:.3f} mJ/token, linear layers only)")
    print(f"matmul work on the NPU: {100 * npu['offloaded_matmul_fraction']:.1f}% "
          f"(attention's activation products, norms, GELU, embeddings run on the host)")
    print(f"simulator: {npu['macs'] / npu['host_seconds']:.3g} simulated MAC/s "
          f"({npu['host_seconds']:.2f} s in the simulator, llm-run {npu_wall:.1f} s "
          f"including compilation and calibration)")
    print(f"logits vs host int8 reference: {'bit-identical' if exact else 'DIFFERENT'}; "
          f"accuracy vs fp32: cosine {stats['accuracy']['cosine']:.6f}, "
          f"top-1 {stats['accuracy']['top1_agreement']:.4f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": datetime.datetime.now().isoformat(timespec="seconds"),
                       "size": args.size, "seq": args.seq, "bit_exact": bool(exact),
                       "accuracy": stats["accuracy"], "npu": npu}, f, indent=2)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
