#!/usr/bin/env python3
"""GPU benchmarks of the ptx backend against PyTorch on the same GPU.

    /usr/bin/python3 bench/gpu/bench_gpu.py [--build build] [--quick]
        [--json bench/results/DATE-gpu.json]

Three tables, every llmc figure being the device time of one forward
(`llm-run --stats`: CUDA events around the replayed launch graph, after one
warm-up) of a model compiled with `llm-compile --target ptx`:

- GEMM: C = A x B, square fp32 problems 1024^3 .. 8192^3 (bf16 tensor-core
  inputs in llmc), against cuBLAS through torch.matmul in bf16 and fp32;
- attention: causal softmax(Q K^T / 8) V at sequence 2048, 16 heads of 64,
  against torch's scaled_dot_product_attention (bf16);
- a GPT-2-small-shaped forward (12 layers, d_model 768, 12 heads, vocabulary
  50257, sequence 1024) against PyTorch eager and torch.compile (bf16 autocast).

Without a GPU (torch.cuda.is_available() false, or no libcuda.so.1) it prints
why and exits 0 having measured nothing: numbers only ever come from a real
run. Exit 2 if the llmc tools are not built.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def gpu_unavailable():
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return "torch.cuda.is_available() is False (no GPU or no driver)"
    try:
        import ctypes
        ctypes.CDLL("libcuda.so.1")
    except OSError as error:
        return f"libcuda.so.1 cannot be loaded ({error})"
    return None


def torch_time(fn, repeats=20):
    import torch
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeats):
        fn()
    stop.record()
    torch.cuda.synchronize()
    return start.elapsed_time(stop) / repeats * 1e-3


class Llmc:
    def __init__(self, build):
        if build is None:
            # The repository's build folder, else the tools on PATH.
            build = os.path.join(ROOT, "build")
            found = shutil.which("llm-compile")
            if not os.path.exists(os.path.join(build, "bin", "llm-compile")) and found:
                build = os.path.dirname(os.path.dirname(found))
        self.bin = os.path.join(build, "bin")
        for tool in ("llm-compile", "llm-run"):
            if not os.path.exists(os.path.join(self.bin, tool)):
                raise FileNotFoundError(os.path.join(self.bin, tool))

    def forward_seconds(self, model, inputs, work, repeats=5):
        """Compiles `model` for ptx and returns the best device time of a
        forward over `repeats` runs of llm-run."""
        art = os.path.join(work, "art")
        shutil.rmtree(art, ignore_errors=True)
        subprocess.run([os.path.join(self.bin, "llm-compile"), model, "--target", "ptx",
                        "-o", art], check=True, stdout=subprocess.DEVNULL)
        best = float("inf")
        for _ in range(repeats):
            stats = os.path.join(work, "stats.json")
            cmd = [os.path.join(self.bin, "llm-run"), art, "--target", "ptx",
                   "--output-dir", os.path.join(work, "out"), "--stats", stats]
            for name, path in inputs.items():
                cmd += ["--input", f"{name}={path}"]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            best = min(best, json.load(open(stats))["device_s"])
        return best


def export(module, args, names, path, outputs=("y",)):
    import torch
    torch.onnx.export(module, args, path, input_names=list(names),
                      output_names=list(outputs), opset_version=17, dynamo=False)


def save_inputs(work, named):
    import numpy as np
    paths = {}
    for name, tensor in named.items():
        paths[name] = os.path.join(work, f"{name}.npy")
        np.save(paths[name], tensor.cpu().numpy())
    return paths


def bench_gemm(llmc, sizes, work):
    import torch
    rows = []
    for n in sizes:
        class MatMul(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.w = torch.nn.Parameter(torch.randn(n, n) / n ** 0.5)

            def forward(self, x):
                return x @ self.w

        model, x = MatMul(), torch.randn(n, n)
        path = os.path.join(work, f"gemm{n}.onnx")
        export(model, (x,), ["x"], path)
        ours = llmc.forward_seconds(path, save_inputs(work, {"x": x}), work)
        a = torch.randn(n, n, device="cuda")
        b = torch.randn(n, n, device="cuda")
        ab, bb = a.bfloat16(), b.bfloat16()
        cublas_bf16 = torch_time(lambda: ab @ bb)
        cublas_f32 = torch_time(lambda: a @ b)
        flops = 2.0 * n ** 3
        rows.append({"n": n, "llmc_s": ours, "cublas_bf16_s": cublas_bf16,
                     "cublas_fp32_s": cublas_f32,
                     "llmc_tflops": flops / ours * 1e-12,
                     "cublas_bf16_tflops": flops / cublas_bf16 * 1e-12})
    print(f"{'GEMM n^3':>10} {'llmc ms':>9} {'TFLOP/s':>8} {'cuBLAS bf16 ms':>15} "
          f"{'TFLOP/s':>8} {'cuBLAS fp32 ms':>15} {'llmc/cuBLAS':>12}")
    for r in rows:
        print(f"{r['n']:>10} {r['llmc_s']*1e3:>9.3f} {r['llmc_tflops']:>8.1f} "
              f"{r['cublas_bf16_s']*1e3:>15.3f} {r['cublas_bf16_tflops']:>8.1f} "
              f"{r['cublas_fp32_s']*1e3:>15.3f} {r['cublas_bf16_s']/r['llmc_s']:>12.2f}")
    return rows


def bench_attention(llmc, seq, work):
    import torch
    import torch.nn.functional as F
    heads, dim = 16, 64

    class Attention(torch.nn.Module):
        def forward(self, q, k, v):
            scores = q @ k.transpose(-1, -2) / dim ** 0.5
            mask = torch.triu(torch.full((seq, seq), float("-inf")), 1)
            return torch.softmax(scores + mask, dim=-1) @ v

    q, k, v = (torch.randn(1, heads, seq, dim) for _ in range(3))
    path = os.path.join(work, "attention.onnx")
    export(Attention(), (q, k, v), ["q", "k", "v"], path)
    ours = llmc.forward_seconds(path, save_inputs(work, {"q": q, "k": k, "v": v}), work)
    qc, kc, vc = (t.cuda().bfloat16() for t in (q, k, v))
    sdpa = torch_time(lambda: F.scaled_dot_product_attention(qc, kc, vc, is_causal=True))
    flops = 4.0 * heads * seq * seq * dim / 2  # causal: half the scores
    row = {"seq": seq, "heads": heads, "head_dim": dim, "llmc_s": ours, "sdpa_bf16_s": sdpa,
           "llmc_tflops": flops / ours * 1e-12, "sdpa_tflops": flops / sdpa * 1e-12}
    print(f"\n{'attention':>10} {'llmc ms':>9} {'TFLOP/s':>8} {'SDPA bf16 ms':>13} {'TFLOP/s':>8}")
    print(f"{'S=' + str(seq):>10} {ours*1e3:>9.3f} {row['llmc_tflops']:>8.1f} "
          f"{sdpa*1e3:>13.3f} {row['sdpa_tflops']:>8.1f}")
    return row


def bench_gpt2(llmc, seq, work):
    import torch
    sys.path.insert(0, os.path.join(ROOT, "test", "models"))
    import export_models as em
    config = em.GPT2Config(vocab_size=50257, max_positions=seq, d_model=768,
                           n_heads=12, n_layers=12)
    model = em.GPT2(config).eval()
    ids = torch.randint(0, config.vocab_size, (1, seq))
    path = os.path.join(work, "gpt2.onnx")
    with torch.no_grad():
        export(model, (ids,), ["input_ids"], path, outputs=("logits",))
    ours = llmc.forward_seconds(path, save_inputs(work, {"input_ids": ids}), work, repeats=3)
    cuda_model, cuda_ids = model.cuda(), ids.cuda()

    def eager():
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
            return cuda_model(cuda_ids)

    eager_s = torch_time(eager, repeats=10)
    compiled_model = torch.compile(cuda_model)

    def compiled():
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
            return compiled_model(cuda_ids)

    compiled_s = torch_time(compiled, repeats=10)
    row = {"seq": seq, "llmc_s": ours, "torch_eager_bf16_s": eager_s,
           "torch_compile_bf16_s": compiled_s}
    print(f"\n{'GPT-2 small':>12} {'llmc ms':>9} {'eager ms':>9} {'compile ms':>11} "
          f"{'tokens/s llmc':>14}")
    print(f"{'S=' + str(seq):>12} {ours*1e3:>9.2f} {eager_s*1e3:>9.2f} {compiled_s*1e3:>11.2f} "
          f"{seq/ours:>14.0f}")
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", help="build folder with bin/llm-compile "
                        "(default: ./build, else the tools on PATH)")
    parser.add_argument("--quick", action="store_true",
                        help="GEMM 1024 and 2048 only, attention at 1024, GPT-2 at 256")
    parser.add_argument("--json", help="also write the numbers here")
    args = parser.parse_args()
    try:
        llmc = Llmc(args.build)
    except FileNotFoundError as missing:
        print(f"bench_gpu.py: error: {missing} is not built (bash scripts/setup.sh)",
              file=sys.stderr)
        return 2
    why = gpu_unavailable()
    if why:
        print(f"bench_gpu.py: skipped, no GPU to measure on: {why}")
        return 0
    import torch
    torch.manual_seed(0)
    results = {"date": time.strftime("%Y-%m-%d"), "gpu": torch.cuda.get_device_name(0)}
    print(f"GPU: {results['gpu']}\n")
    with tempfile.TemporaryDirectory(prefix="llmc-bench-gpu.") as work:
        sizes = [1024, 2048] if args.quick else [1024, 2048, 4096, 8192]
        results["gemm"] = bench_gemm(llmc, sizes, work)
        results["attention"] = bench_attention(llmc, 1024 if args.quick else 2048, work)
        results["gpt2_small"] = bench_gpt2(llmc, 256 if args.quick else 1024, work)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
