#!/usr/bin/env python3
"""MoE benchmark: a mixture-of-experts block in Hugging Face's eager form
(Mixtral's loop: torch.where over the one-hot routing mask, index_add_ of
the weighted results) on the host path and the GPU emulator's traffic,
against PyTorch eager on the same CPU.

    /usr/bin/python3 bench/moe_bench.py [--build DIR] [--hidden 1024]
        [--ffn 2816] [--experts 8] [--k 2] [--tokens 1,32] [--repeats 3]
        [--keep DIR] [--json FILE]

For each token count the script exports the block (test/e2e/Inputs/
make-hf-moe-blocks.py's, SwiGLU experts, random weights) with torch.onnx,
compiles it for the host (`llm-compile`), runs the artifact `--repeats`
times (`llm-run --stats`, the median run seconds) and checks its output
against torch; then runs it on the GPU emulator (`--target ptx
--emulate-gpu --stats`) for its launches and the global bytes read in
32-byte sectors, a count of the GPU memory traffic (not a time); and times
torch eager's forward (the median of --repeats warm runs). A decoding step
(1 token) reads the routed experts' weights when llm-route-experts applies
(2 padded rows, fewer than the experts); more tokens run each expert on
them all (llm-sink-row-gathers). Exits 1 if an output is more than 1e-3 of
its largest magnitude from torch's, 2 if a tool fails.
"""
import argparse
import datetime
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def blocks_module():
    path = os.path.join(ROOT, "test", "e2e", "Inputs", "make-hf-moe-blocks.py")
    spec = importlib.util.spec_from_file_location("make_hf_moe_blocks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def median(values):
    return sorted(values)[len(values) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", help="llmc's build folder (default: ./build)")
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--ffn", type=int, default=2816)
    parser.add_argument("--experts", type=int, default=8)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--tokens", default="1,32")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", help="keep the models and outputs in this folder")
    parser.add_argument("--json", help="also write the results as JSON")
    args = parser.parse_args()
    bin_dir = os.path.join(os.path.abspath(args.build or os.path.join(ROOT, "build")), "bin")
    work = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(prefix="moe-bench-")
    os.makedirs(work, exist_ok=True)
    import torch
    blocks = blocks_module()
    blocks.HIDDEN, blocks.FFN = args.hidden, args.ffn
    torch.manual_seed(0)
    block = blocks.EagerMoE(experts=args.experts, k=args.k).eval()
    weight_mb = sum(p.numel() * 4 for p in block.experts.parameters()) / 1e6
    rows = []
    try:
        for tokens in map(int, args.tokens.split(",")):
            folder = os.path.join(work, f"tokens{tokens}")
            os.makedirs(folder, exist_ok=True)
            x = torch.randn(1, tokens, args.hidden)
            model = os.path.join(folder, "model.onnx")
            print(f"moe_bench: {tokens} token(s): export, torch eager ...", file=sys.stderr)
            with torch.no_grad():
                reference = block(x).numpy()
                torch.onnx.export(block, (x,), model, input_names=["x"], output_names=["y"],
                                  opset_version=17)
                times = []
                for _ in range(args.repeats):
                    start = time.monotonic()
                    block(x)
                    times.append(time.monotonic() - start)
            np.save(os.path.join(folder, "x.npy"), x.numpy())
            print(f"moe_bench: {tokens} token(s): llm-compile, llm-run ...", file=sys.stderr)
            start = time.monotonic()
            subprocess.run([os.path.join(bin_dir, "llm-compile"), model, "--target", "host",
                            "-o", os.path.join(folder, "host")], check=True,
                           stdout=subprocess.DEVNULL)
            compile_s = time.monotonic() - start
            runs = []
            for index in range(args.repeats):
                stats = os.path.join(folder, f"host-{index}.json")
                subprocess.run([os.path.join(bin_dir, "llm-run"), os.path.join(folder, "host"),
                                "--target", "host", "--input", "x=" + os.path.join(folder, "x.npy"),
                                "--output-dir", os.path.join(folder, "out"), "--stats", stats],
                               check=True, stdout=subprocess.DEVNULL)
                runs.append(json.load(open(stats))["run_s"])
            y = np.load(os.path.join(folder, "out", "y.npy"))
            error = float(np.abs(y - reference).max() / np.abs(reference).max())
            stats = os.path.join(folder, "ptx.json")
            subprocess.run([os.path.join(bin_dir, "llm-run"), model, "--target", "ptx",
                            "--emulate-gpu", "--input", "x=" + os.path.join(folder, "x.npy"),
                            "--stats", stats], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            emulator = json.load(open(stats))["gpu_emulator"]
            rows.append({"tokens": tokens, "compile_s": compile_s, "run_s": median(runs),
                         "torch_eager_s": median(times), "relative_error": error,
                         "ptx_launches": emulator["launches"],
                         "ptx_sector_bytes_read": emulator["global_sector_bytes_read"]})
    except (subprocess.CalledProcessError, OSError) as error:
        print(f"moe_bench: {error}", file=sys.stderr)
        return 2
    cpu = platform.processor() or platform.machine()
    print(f"# eager MoE block: hidden {args.hidden}, experts' inner {args.ffn}, "
          f"{args.experts} experts, top {args.k} ({weight_mb:.0f} MB of fp32 expert weights); "
          f"{os.cpu_count()} cores ({cpu}); {datetime.date.today()}")
    header = (f"{'tokens':>6} {'compile s':>10} {'llm host ms':>12} {'torch ms':>9} "
              f"{'max |diff| / max |torch|':>25} {'ptx launches':>13} {'ptx MB read':>12}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['tokens']:>6} {row['compile_s']:>10.2f} {row['run_s'] * 1e3:>12.2f} "
              f"{row['torch_eager_s'] * 1e3:>9.2f} {row['relative_error']:>25.2e} "
              f"{row['ptx_launches']:>13} {row['ptx_sector_bytes_read'] / 1e6:>12.1f}")
    print(f"# torch {torch.get_num_threads()} thread(s) {torch.__version__}; llm host: median "
          f"of {args.repeats} runs of the artifact; ptx MB read: the GPU emulator's "
          f"32-byte sectors, not a time")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": datetime.datetime.now().isoformat(timespec="seconds"),
                       "hidden": args.hidden, "ffn": args.ffn, "experts": args.experts,
                       "k": args.k, "cores": os.cpu_count(), "runs": rows}, f, indent=2)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all(row["relative_error"] <= 1e-3 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
