#!/usr/bin/env python3
"""GPU checks and benchmarks of the ptx backend, in two halves: artifacts are
compiled where llmc is built, then run on a GPU machine that needs only
Python, CuPy and PyTorch (bench/gpu/ptx_runner.py runs them; no LLVM there).

    # here, with the llmc build:
    /usr/bin/python3 bench/gpu/bench_gpu.py --prepare gpu-prepared [--quick]
    # on the GPU machine (the repository and gpu-prepared/ copied there):
    python3 bench/gpu/bench_gpu.py --run gpu-prepared [--json results.json]

--prepare writes, into the folder:

- check-*: the exported GPT-2, BERT and Llama test models and the emulator
  tests' matmul and attention graphs, with weights, inputs and the
  reference outputs, the GPT-2 model and matmul cases also for sm_90a
  (*-wgmma), and the int8 MatMulInteger cases (exact); --run checks each
  against its reference (bf16 tolerance) before timing anything;
- gemm-N: C = A x B for square fp32 problems N = 1024 .. 8192 (bf16
  tensor-core inputs in llmc), timed against cuBLAS through torch.matmul in
  bf16 and fp32; gemm-N-wgmma: the same compiled for sm_90a (the kernels on
  wgmma.mma_async instead of mma.sync); gemm-N-bf16 (and -wgmma): the
  same product with x, w and y in bf16, the operand types of cuBLAS's bf16
  GEMM (its mma.sync kernel on four shared stages, 128x128 tiles in 80 KiB
  of dynamic shared memory; -mma2: on two, gpu.mma_stages 2; its wgmma
  kernel at 4096: 128x256 tiles with k tiles of 64 on four shared stages,
  192 KiB; -wgmma3: three stages, gpu.wgmma_stages 3; -wgmma2: two of
  32-wide k tiles, gpu.wgmma_stages 2);
- gemm-int8-N (and -wgmma): ONNX MatMulInteger (int8 x int8 -> exact
  int32, the s8 tensor-core kernel) against torch._int_mm (cuBLASLt int8);
- attention: causal softmax(Q K^T / 8) V at sequence 2048, 16 heads of 64,
  against torch's scaled_dot_product_attention (bf16); attention-bf16: the
  same graph exported in bf16 (bf16 q, k, v and output); attention-bf16-d128:
  16 heads of 128 in bf16 (two stages of K and V in dynamic shared memory);
  attention-qdq (q,k,v "P u8"): the fp32 graph with its softmax weights
  through a uint8 QuantizeLinear/DequantizeLinear pair (scale 1/255), as
  quantize_static leaves attention: the kernel's two passes over the keys;
  attention-decode-bf16 (1x4096): a decoding step of Llama 3 8B's
  attention, one query of 32 heads of 128 over 8 kv heads and 4096 cached
  keys, bf16, against SDPA with enable_gqa (the split-key kernel with
  packed heads and its combine kernel);
- gpt2-prefill, gpt2-decode: a GPT-2-small-shaped forward (12 layers,
  d_model 768, 12 heads, vocabulary 50257) over 1024 tokens and over 1,
  against PyTorch eager and torch.compile (bf16 autocast) on the same
  architecture; gpt2-prefill-wgmma: the prefill for sm_90a;
  gpt2-prefill-f16, gpt2-decode-f16: the model converted to fp16
  (export_models.convert_to_float16: f16 weights and activations);
  gpt2-prefill-bf16, gpt2-decode-bf16: the model exported by torch in
  bf16 (bf16 weights, activations and tensor cores); the decode's products
  take the GEMV kernel (one warp per output column), gpt2-decode-tiled
  the tensor-core kernels (gpu.gemv_max_rows 0); gpt2-decode-w8,
  gpt2-decode-w4, gpt2-decode-int8 and gpt2-decode-fp8: the decode with
  int8 weights (w8), with 4-bit weights unpacked in the matmul kernels
  (w4), with int8 weights and per-token int8 activations, and with FP8
  E4M3 weights and per-token activations (mma.sync e4m3, PTX 8.4: a driver
  older than CUDA 12.4 cannot load it, and its row says so);
  gpt2-decode-kv: a decoding step as generation runs it, one new token
  after a KV cache of 1023 (past keys and values [1, 12, 1023, 64] per
  layer in, presents of 1024 out: the attention reads the whole cache),
  against the same cached forward in PyTorch eager (bf16 autocast, bf16
  cache); no torch.compile column. The checks add the bf16 GPT-2
  test model (against torch's fp32 logits) and its w4 form (against the
  host's w4 logits).

Weights of the timed models are not copied (random ones are made on the
GPU: timing does not depend on them), which keeps the folder small. Every
llmc figure is the device time of one forward (CUDA events around the
replayed CUDA graph, best of 10 after a warm-up).

--run without a GPU (no CuPy or no device) prints why and exits 0 having
measured nothing: numbers only ever come from a real run. It exits 1 if a
check fails, 2 if the folder is not a prepared one.
"""
import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "models"))

GPT2_SMALL = dict(vocab_size=50257, max_positions=1024, d_model=768, n_heads=12,
                  n_layers=12)
# The cached positions of gpt2-decode-kv: a step at the model's last position.
GPT2_KV_PAST = 1023


# ---------------------------------------------------------------------------
# --prepare (where llmc is built)
# ---------------------------------------------------------------------------

def tool(build, name):
    """BUILD/bin/NAME; without --build, ./build or else the tools on PATH."""
    path = os.path.join(build or os.path.join(ROOT, "build"), "bin", name)
    if not os.path.exists(path):
        found = None if build else shutil.which(name)
        if not found:
            raise FileNotFoundError(path)
        path = found
    return path


def export(module, args, names, path, outputs=("y",)):
    import torch
    kwargs = dict(input_names=list(names), output_names=list(outputs), opset_version=17)
    try:
        torch.onnx.export(module, args, path, dynamo=False, **kwargs)
    except TypeError:  # torch before 2.5 has no dynamo argument
        torch.onnx.export(module, args, path, **kwargs)


def write_gemm(path, n, bf16=False):
    """An ONNX graph y = x @ w, x an [n, n] input, w an [n, n] weight, in
    fp32 or (bf16) all three in bfloat16, as cuBLAS's bf16 GEMM has them."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    sys.path.insert(0, HERE)
    from ptx_runner import to_bf16
    w = (np.random.default_rng(n).standard_normal((n, n), dtype=np.float32) / np.sqrt(n))
    kind = TensorProto.BFLOAT16 if bf16 else TensorProto.FLOAT
    weight = (helper.make_tensor("w", kind, [n, n], to_bf16(w).tobytes(), raw=True)
              if bf16 else numpy_helper.from_array(w, "w"))
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], f"gemm{n}",
        [helper.make_tensor_value_info("x", kind, [n, n])],
        [helper.make_tensor_value_info("y", kind, [n, n])], [weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def write_h100_variant(path, name, figure, value, why):
    """The bundled H100 description with one gpu figure changed (and its
    source): gemv_max_rows 0 puts decode products on the tensor-core
    kernels, mma_stages 2 keeps the mma.sync kernel on two stages."""
    with open(os.path.join(ROOT, "targets", "h100.json")) as f:
        desc = json.load(f)
    desc["name"] = name
    desc["gpu"][figure] = value
    desc["sources"]["gpu." + figure] = "bench_gpu.py: " + why
    with open(path, "w") as f:
        json.dump(desc, f, indent=2)


def write_sm90a_description(path, stages=None, sm_count=None):
    """The bundled H100 description with gpu.arch sm_90a: llm-compile then
    targets sm_90a and runs fp matmuls on wgmma (with at most `stages`
    shared stages if given; tiles chosen as if for `sm_count` SMs if given:
    one SM makes the small check cases take the largest tiles)."""
    with open(os.path.join(ROOT, "targets", "h100.json")) as f:
        desc = json.load(f)
    desc["name"] = "h100-sm90a"
    desc["gpu"]["arch"] = "sm_90a"
    if stages:
        desc["gpu"]["wgmma_stages"] = stages
        desc["sources"]["gpu.wgmma_stages"] = (
            "bench_gpu.py: a variant of the wgmma pipeline, timed for comparison")
    if sm_count:
        desc["gpu"]["sm_count"] = sm_count
        desc["sources"]["gpu.sm_count"] = (
            "bench_gpu.py: the tile choice for fewer SMs, to check large tiles")
    with open(path, "w") as f:
        json.dump(desc, f, indent=2)


def write_quantized_weights(source, path):
    """`source`'s attention with its softmax weights through a uint8
    QuantizeLinear/DequantizeLinear pair (scale 1/255, zero point 0), as
    quantize_static leaves the P·V MatMul's input."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper
    model = onnx.load(source)
    graph = model.graph
    softmax = next(n for n in graph.node if n.op_type == "Softmax")
    graph.initializer.extend([numpy_helper.from_array(np.asarray(1 / 255, np.float32), "p.scale"),
                              numpy_helper.from_array(np.asarray(0, np.uint8), "p.zero")])
    for node in graph.node:
        node.input[:] = ["p.dq" if i == softmax.output[0] else i for i in node.input]
    at = list(graph.node).index(softmax) + 1
    graph.node.insert(at, helper.make_node("QuantizeLinear",
                                           [softmax.output[0], "p.scale", "p.zero"], ["p.q"]))
    graph.node.insert(at + 1, helper.make_node("DequantizeLinear", ["p.q", "p.scale", "p.zero"],
                                               ["p.dq"]))
    onnx.save(model, path)


def write_int8_gemm(path, n):
    """An ONNX graph y = MatMulInteger(x, w), x an [n, n] int8 input, w an
    [n, n] int8 weight."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    w = np.random.default_rng(n).integers(-128, 128, (n, n)).astype(np.int8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["x", "w"], ["y"])], f"gemm_int8_{n}",
        [helper.make_tensor_value_info("x", TensorProto.INT8, [n, n])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [n, n])],
        [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def compile_artifact(build, model, out, keep_weights, desc=None, flags=()):
    """llm-compile --target ptx (for the description `desc` if given, with
    extra `flags`), then drop what the runner does not read."""
    shutil.rmtree(out, ignore_errors=True)
    extra = (["--target-desc", desc] if desc else []) + list(flags)
    subprocess.run([tool(build, "llm-compile"), model, "--target", "ptx", "-o", out] + extra,
                   check=True, stdout=subprocess.DEVNULL)
    for name in ("kernels.mlirbc", "ptx.mlirbc") + (() if keep_weights else ("weights.bin",)):
        path = os.path.join(out, name)
        if os.path.exists(path):
            os.remove(path)


def copy_case(src, art, expected):
    """A test case's .npy files into its compiled artifact `art`, the
    reference `expected` as expected.npy; returns the inputs (name ->
    file) the check feeds."""
    inputs = {}
    for f in os.listdir(src):
        if f.endswith(".npy"):
            shutil.copy(os.path.join(src, f), os.path.join(art, f))
            if not f.startswith("expected_"):
                inputs[f[:-4]] = f
    os.replace(os.path.join(art, expected), os.path.join(art, "expected.npy"))
    return inputs


def prepare_checks(build, folder, work, sm90a, sm90a_one_sm):
    """The exported test models and the emulator tests' graphs, with their
    references; the GPT-2 model and the matmul cases also for sm_90a
    (wgmma); returns the check entries."""
    checks = []
    for model, output in (("gpt2", "logits"), ("bert", "last_hidden_state"),
                          ("llama", "logits")):
        src = os.path.join(work, model)
        subprocess.run([sys.executable, os.path.join(ROOT, "test", "models", "export_models.py"),
                        "--model", model, "--opset", "17", "--out", src],
                       check=True, stdout=subprocess.DEVNULL)
        for suffix, desc in [("", None)] + ([("-wgmma", sm90a)] if model == "gpt2" else []):
            art = os.path.join(folder, "check-" + model + suffix)
            compile_artifact(build, os.path.join(src, "model.onnx"), art, keep_weights=True,
                             desc=desc)
            inputs = {}
            for name in ("input_ids", "attention_mask"):
                path = os.path.join(src, name + ".npy")
                if os.path.exists(path):
                    shutil.copy(path, os.path.join(art, name + ".npy"))
                    inputs[name] = name + ".npy"
            shutil.copy(os.path.join(src, output + ".npy"), os.path.join(art, "expected.npy"))
            checks.append({"name": model + suffix, "inputs": inputs, "output": output,
                           "tol": 5e-2})
    # GPT-2 exported in bf16 (bf16 buffers and tensor cores) against torch's
    # fp32 logits (logits up to 55; the emulator is 0.21 off at most), and
    # with 4-bit weights (packed in the matmul kernels) against the host's
    # w4 logits.
    src = os.path.join(work, "gpt2-bf16")
    subprocess.run([sys.executable, os.path.join(ROOT, "test", "models", "export_models.py"),
                    "--model", "gpt2", "--bfloat16", "--out", src],
                   check=True, stdout=subprocess.DEVNULL)
    w4 = os.path.join(work, "gpt2-w4-host")
    subprocess.run([tool(build, "llm-run"), os.path.join(work, "gpt2", "model.onnx"),
                    "--target", "host", "--quant", "w4", "--input",
                    "input_ids=" + os.path.join(work, "gpt2", "input_ids.npy"),
                    "--output-dir", w4], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    for name, model, flags, expected, tol in (
            ("gpt2-bf16", os.path.join(src, "model.onnx"), (),
             os.path.join(src, "logits.npy"), 0.5),
            ("gpt2-w4", os.path.join(work, "gpt2", "model.onnx"), ("--quant", "w4"),
             os.path.join(w4, "logits.npy"), 5e-2)):
        art = os.path.join(folder, "check-" + name)
        compile_artifact(build, model, art, keep_weights=True, flags=flags)
        shutil.copy(os.path.join(work, "gpt2", "input_ids.npy"),
                    os.path.join(art, "input_ids.npy"))
        shutil.copy(expected, os.path.join(art, "expected.npy"))
        checks.append({"name": name, "inputs": {"input_ids": "input_ids.npy"},
                       "output": "logits", "tol": tol})
    inputs_dir = os.path.join(ROOT, "test", "Target", "PTX", "Inputs")
    for script, cases, tol, variants in (
            ("make-gemms.py", ("wide-bias", "transb", "batched", "scalar", "shared"), 2e-3,
             [("", None), ("-wgmma", sm90a)]),
            # bf16 x, w and y: cp.async operands, the pipelined wgmma
            # kernel (the tolerance is y's bf16 rounding); -wgmma-1sm: its
            # 128x256 tiles on four stages in dynamic shared memory.
            ("make-gemms.py", ("bf16-edges", "bf16-deep", "bf16-long"), 2e-2,
             [("", None), ("-wgmma", sm90a), ("-wgmma-1sm", sm90a_one_sm)]),
            # With decoding steps: keys split over blocks, grouped heads
            # packed per kv head, the splits' combine kernel.
            ("make-attention.py", ("causal", "padding", "wide", "wide-f16", "cross", "gqa",
                                   "decode", "decode-gqa", "decode-sink", "causal-split"),
             1e-2, [("", None)]),
            # Quantized softmax weights, against the computation from the
            # kernel's bf16 (f16) operands: the hardware's ex2 and lg2 may
            # move a weight one step (1/31 of |v| <= 4 in u8).
            ("make-quantized-attention.py", ("u8", "u8-zero", "s8", "e4m3", "u8-f16"), 0.15,
             [("", None)]),
            ("make-int8.py", ("integer", "integer-batch", "integer-range"), 0, [("", None)])):
        cases_dir = os.path.join(work, script)
        subprocess.run([sys.executable, os.path.join(inputs_dir, script), cases_dir],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for case in cases:
            for suffix, desc in variants:
                src = os.path.join(cases_dir, case)
                art = os.path.join(folder, "check-" + case + suffix)
                compile_artifact(build, os.path.join(src, "model.onnx"), art,
                                 keep_weights=True, desc=desc)
                inputs = copy_case(src, art, "expected_bf16_y.npy"
                                   if script == "make-quantized-attention.py"
                                   else "expected_y.npy")
                checks.append({"name": case + suffix, "inputs": inputs, "output": "y",
                               "tol": tol})
    return checks


def preflight(folder):
    """ptxas -v on every artifact's PTX for the arch it names (what the
    driver's JIT would do on the GPU machine, caught here): per artifact,
    the most registers of a kernel, the spilled bytes and ptxas's
    performance advisories. Raises if ptxas rejects one; {} without ptxas."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import re
    import ptx_resources
    ptxas = ptx_resources.find_ptxas(None)
    if not ptxas:
        print("bench_gpu: no ptxas here: the PTX is not assembled before the GPU run",
              flush=True)
        return {}
    print(f"bench_gpu: ptxas preflight ({ptxas})", flush=True)
    report = {}
    for name in sorted(os.listdir(folder)):
        ptx = os.path.join(folder, name, "model.ptx")
        if not os.path.exists(ptx):
            continue
        with open(ptx) as f:
            arch = re.search(r"^\.target\s+(\w+)", f.read(), re.M).group(1)
        proc = subprocess.run([ptxas, f"-arch={arch}", "-v", ptx, "-o", os.devnull],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            first = (proc.stderr.strip().splitlines() or ["(no message)"])[0]
            raise RuntimeError(f"ptxas -arch={arch} rejects {ptx}: {first}")
        kernels = ptx_resources.parse(proc.stdout + proc.stderr)
        report[name] = {
            "arch": arch, "kernels": len(kernels),
            "max_registers": max((k["registers"] for k in kernels.values()), default=0),
            "spill_bytes": sum(k["spill_stores"] + k["spill_loads"] for k in kernels.values()),
            "advisories": sorted({a for k in kernels.values() for a in k["advisories"]})}
    spilling = [n for n, r in report.items() if r["spill_bytes"]]
    print(f"bench_gpu: ptxas assembled {len(report)} artifacts; spills in "
          f"{', '.join(spilling) if spilling else 'none'}", flush=True)
    return report


def prepare(args):
    import torch
    import export_models as em
    build = args.build
    tool(build, "llm-compile")  # fails early if it is not built
    folder = args.prepare
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(0)
    index = {"prepared": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "timed": []}
    with tempfile.TemporaryDirectory(prefix="llmc-gpu-prepare.") as work:
        sm90a = os.path.join(work, "h100-sm90a.json")
        write_sm90a_description(sm90a)
        sm90a2 = os.path.join(work, "h100-sm90a-2stages.json")
        write_sm90a_description(sm90a2, stages=2)
        sm90a3 = os.path.join(work, "h100-sm90a-3stages.json")
        write_sm90a_description(sm90a3, stages=3)
        sm90a_one_sm = os.path.join(work, "h100-sm90a-1sm.json")
        write_sm90a_description(sm90a_one_sm, sm_count=1)
        no_gemv = os.path.join(work, "h100-no-gemv.json")
        write_h100_variant(no_gemv, "h100-no-gemv", "gemv_max_rows", 0,
                           "decode products on the tensor-core kernels, for comparison")
        mma2 = os.path.join(work, "h100-mma2.json")
        write_h100_variant(mma2, "h100-mma2", "mma_stages", 2,
                           "the two-stage mma.sync pipeline, for comparison")
        print("bench_gpu: checks (exported models, matmul, attention and int8 cases)",
              flush=True)
        index["checks"] = prepare_checks(build, folder, work, sm90a, sm90a_one_sm)
        for n in ([1024, 2048] if args.quick else [1024, 2048, 4096, 8192]):
            print(f"bench_gpu: gemm {n} (mma.sync, wgmma, int8)", flush=True)
            # y = x @ w written directly (torch's exporter would run the
            # 8192^3 product on the CPU to trace it).
            path = os.path.join(work, f"gemm{n}.onnx")
            write_gemm(path, n)
            for suffix, desc, kernel in (("", None, "mma.sync"), ("-wgmma", sm90a, "wgmma")):
                compile_artifact(build, path, os.path.join(folder, f"gemm-{n}{suffix}"),
                                 keep_weights=False, desc=desc)
                index["timed"].append({"name": f"gemm-{n}{suffix}", "kind": "gemm", "n": n,
                                       "kernel": kernel, "dtype": "f32"})
            os.remove(path)
            # The same product with bf16 x, w and y (cp.async copies both
            # operands straight into shared memory).
            write_gemm(path, n, bf16=True)
            for suffix, desc, kernel in (("", None, "mma.sync"), ("-mma2", mma2, "mma.sync2"),
                                         ("-wgmma", sm90a, "wgmma"),
                                         ("-wgmma3", sm90a3, "wgmma3"),
                                         ("-wgmma2", sm90a2, "wgmma2")):
                compile_artifact(build, path, os.path.join(folder, f"gemm-{n}-bf16{suffix}"),
                                 keep_weights=False, desc=desc)
                index["timed"].append({"name": f"gemm-{n}-bf16{suffix}", "kind": "gemm",
                                       "n": n, "kernel": kernel, "dtype": "bf16"})
            os.remove(path)
            write_int8_gemm(path, n)
            for suffix, desc, kernel in (("", None, "mma.sync"), ("-wgmma", sm90a, "wgmma")):
                compile_artifact(build, path, os.path.join(folder, f"gemm-int8-{n}{suffix}"),
                                 keep_weights=False, desc=desc)
                index["timed"].append({"name": f"gemm-int8-{n}{suffix}", "kind": "gemm-int8",
                                       "n": n, "kernel": kernel})
            os.remove(path)

        seq, heads, dim = (1024 if args.quick else 2048), 16, 64
        print(f"bench_gpu: attention {seq}", flush=True)

        class Attention(torch.nn.Module):
            def __init__(self, d):
                super().__init__()
                self.scale = 1 / d ** 0.5

            def forward(self, q, k, v):
                scores = q @ k.transpose(-1, -2) * self.scale
                mask = torch.triu(torch.full((seq, seq), float("-inf"), dtype=q.dtype), 1)
                return torch.softmax(scores + mask, dim=-1) @ v

        # In fp32 (rounded to bf16 for the tensor cores), and exported in
        # bf16: q, k, v and the output in bf16 as SDPA has them (K and V
        # blocks then travel by cp.async); and with heads of 128 (two
        # stages of K and V in dynamic shared memory).
        for suffix, dtype, d in (("", torch.float32, dim), ("-bf16", torch.bfloat16, dim),
                                 ("-bf16-d128", torch.bfloat16, 128)):
            path = os.path.join(work, f"attention{suffix}.onnx")
            export(Attention(d),
                   tuple(torch.randn(1, heads, seq, d, dtype=dtype) for _ in range(3)),
                   ["q", "k", "v"], path)
            compile_artifact(build, path, os.path.join(folder, "attention" + suffix),
                             keep_weights=False)
            index["timed"].append({"name": "attention" + suffix, "kind": "attention",
                                   "seq": seq, "heads": heads, "head_dim": d,
                                   "dtype": "bf16" if dtype == torch.bfloat16 else "f32"})
        # The fp32 graph with quantized softmax weights.
        path = os.path.join(work, "attention-qdq.onnx")
        write_quantized_weights(os.path.join(work, "attention.onnx"), path)
        compile_artifact(build, path, os.path.join(folder, "attention-qdq"), keep_weights=False)
        index["timed"].append({"name": "attention-qdq", "kind": "attention", "seq": seq,
                               "heads": heads, "head_dim": dim, "dtype": "P u8"})
        # A decoding step of Llama 3 8B's attention: one query of 32 heads
        # over 8 kv heads and a cache of 4096, bf16 (heads packed per kv
        # head, keys split over blocks).
        decode_keys = 1024 if args.quick else 4096

        class DecodeAttention(torch.nn.Module):
            def forward(self, q, k, v):
                b, h, n, d = k.shape
                k = k[:, :, None].expand(b, h, 4, n, d).reshape(b, h * 4, n, d)
                v = v[:, :, None].expand(b, h, 4, n, d).reshape(b, h * 4, n, d)
                # A constant scale: d from the traced shape would export
                # as a float32 Pow that promotes the bf16 scores.
                scores = q @ k.transpose(-1, -2) * (1 / 128 ** 0.5)
                return torch.softmax(scores, dim=-1) @ v

        path = os.path.join(work, "attention-decode-bf16.onnx")
        export(DecodeAttention(),
               (torch.randn(1, 32, 1, 128, dtype=torch.bfloat16),
                torch.randn(1, 8, decode_keys, 128, dtype=torch.bfloat16),
                torch.randn(1, 8, decode_keys, 128, dtype=torch.bfloat16)),
               ["q", "k", "v"], path)
        compile_artifact(build, path, os.path.join(folder, "attention-decode-bf16"),
                         keep_weights=False)
        index["timed"].append({"name": "attention-decode-bf16", "kind": "attention",
                               "seq": decode_keys, "queries": 1, "heads": 32, "kv_heads": 8,
                               "head_dim": 128, "dtype": "bf16"})

        config = em.GPT2Config(**GPT2_SMALL)
        model = em.GPT2(config).eval()
        for name, tokens in (("gpt2-prefill", 256 if args.quick else 1024), ("gpt2-decode", 1)):
            print(f"bench_gpu: {name} ({tokens} tokens)", flush=True)
            path = os.path.join(work, name + ".onnx")
            with torch.no_grad():
                export(model, (torch.randint(0, config.vocab_size, (1, tokens)),),
                       ["input_ids"], path, outputs=("logits",))
            # The same model converted to fp16 (weights and activations
            # in f16 memory, f16 tensor cores).
            path16 = os.path.join(work, name + "-f16.onnx")
            shutil.copy(path, path16)
            em.convert_to_float16(path16)
            # Prefill also on wgmma; decode (bound by weight bytes) also with
            # int8 weights, alone (w8) and with int8 activations.
            # And exported by torch in bf16 (bf16 memory and tensor cores).
            path_bf16 = os.path.join(work, name + "-bf16.onnx")
            with torch.no_grad():
                export(copy.deepcopy(model).to(torch.bfloat16),
                       (torch.randint(0, config.vocab_size, (1, tokens)),),
                       ["input_ids"], path_bf16, outputs=("logits",))
            variants = [("", None, ()), ("-f16", None, ()), ("-bf16", None, ())]
            if tokens > 1:
                variants.append(("-wgmma", sm90a, ()))
            else:
                # -tiled: the decode's products on the tensor-core kernels
                # (64-row tiles, n / 64 blocks) instead of the GEMV kernel.
                variants += [("-tiled", no_gemv, ()),
                             ("-w8", None, ("--quant", "w8")),
                             ("-w4", None, ("--quant", "w4")),
                             ("-int8", None, ("--quant", "int8", "--quant-activations",
                                              "dynamic")),
                             ("-fp8", None, ("--quant", "fp8", "--quant-activations",
                                             "dynamic"))]
            sources = {"-f16": path16, "-bf16": path_bf16}
            for suffix, desc, flags in variants:
                compile_artifact(build, sources.get(suffix, path),
                                 os.path.join(folder, name + suffix),
                                 keep_weights=False, desc=desc, flags=flags)
                index["timed"].append({"name": name + suffix, "kind": "gpt2",
                                       "tokens": tokens})
        # A decoding step with a KV cache of GPT2_KV_PAST positions.
        print(f"bench_gpu: gpt2-decode-kv (1 token after {GPT2_KV_PAST} cached)", flush=True)
        cached = em.GPT2Cached(config).eval()
        head_dim = config.d_model // config.n_heads
        pasts = [torch.randn(1, config.n_heads, GPT2_KV_PAST, head_dim)
                 for _ in range(2 * config.n_layers)]
        past_names = em.kv_names("past_{kind}_{i}", config.n_layers)
        path = os.path.join(work, "gpt2-decode-kv.onnx")
        with torch.no_grad():
            export(cached, (torch.randint(0, config.vocab_size, (1, 1)), *pasts),
                   ["input_ids"] + past_names, path,
                   outputs=["logits"] + em.kv_names("present_{kind}_{i}", config.n_layers))
        compile_artifact(build, path, os.path.join(folder, "gpt2-decode-kv"),
                         keep_weights=False)
        index["timed"].append({"name": "gpt2-decode-kv", "kind": "gpt2", "tokens": 1,
                               "past": GPT2_KV_PAST})
        index["ptxas"] = preflight(folder)
        # The C++ runner (llm-run --target ptx's, without the compiler):
        # --run also checks and times the artifacts with it.
        os.makedirs(os.path.join(folder, "bin"), exist_ok=True)
        shutil.copy(tool(build, "llm-ptx-run"), os.path.join(folder, "bin", "llm-ptx-run"))
    with open(os.path.join(folder, "prepared.json"), "w") as f:
        json.dump(index, f, indent=2)
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)
    print(f"bench_gpu: prepared {folder} ({size / 2**20:.1f} MiB)")
    return 0


# ---------------------------------------------------------------------------
# --run (on the GPU machine)
# ---------------------------------------------------------------------------

def ms(key):
    return lambda r: "failed" if r.get(key) is None else f"{r[key] * 1e3:.3f}"


def rate(key):
    return lambda r: "failed" if r.get(key) is None else f"{r[key]:.1f}"


def ratio(num, den):
    return lambda r: ("-" if r.get(num) is None or r.get(den) is None
                      else f"{r[num] / r[den]:.2f}")


# The tables --run prints: (title, width, cell of a result row) per column.
TABLES = {
    "gemm": [("GEMM n^3", 10, lambda r: r["n"]), ("kernel", 9, lambda r: r["kernel"]),
             ("x, y", 5, lambda r: r["dtype"]), ("llmc ms", 9, ms("llmc_s")),
             ("TFLOP/s", 8, rate("llmc_tflops")), ("cuBLAS bf16 ms", 15, ms("cublas_bf16_s")),
             ("TFLOP/s", 8, rate("cublas_bf16_tflops")),
             ("cuBLAS fp32 ms", 15, ms("cublas_fp32_s")),
             ("llmc/cuBLAS", 12, ratio("cublas_bf16_s", "llmc_s"))],
    "gemm_int8": [("int8 n^3", 10, lambda r: r["n"]), ("kernel", 9, lambda r: r["kernel"]),
                  ("llmc ms", 9, ms("llmc_s")), ("TOP/s", 8, rate("llmc_tops")),
                  ("cuBLASLt ms", 12, ms("cublas_int8_s")),
                  ("TOP/s", 8, rate("cublas_int8_tops")),
                  ("llmc/cuBLASLt", 14, ratio("cublas_int8_s", "llmc_s"))],
    "attention": [("attention", 10, lambda r: (f"{r['queries']}x{r['seq']}" if r.get("queries")
                                               else f"S={r['seq']}")),
                  ("d", 4, lambda r: r["head_dim"]),
                  ("q,k,v", 6, lambda r: r["dtype"]), ("llmc ms", 9, ms("llmc_s")),
                  ("TFLOP/s", 8, rate("llmc_tflops")), ("SDPA bf16 ms", 13, ms("sdpa_bf16_s")),
                  ("TFLOP/s", 8, rate("sdpa_tflops")),
                  ("SDPA/llmc", 10, ratio("sdpa_bf16_s", "llmc_s"))],
    "gpt2_small": [("GPT-2 small", 18, lambda r: r["name"]), ("llmc ms", 9, ms("llmc_s")),
                   ("eager ms", 9, ms("torch_eager_bf16_s")),
                   # A cached decoding step has no torch.compile figure.
                   ("compile ms", 11, lambda r: "-" if r.get("past")
                    else ms("torch_compile_bf16_s")(r)),
                   ("eager/llmc", 11, ratio("torch_eager_bf16_s", "llmc_s")),
                   ("compile/llmc", 13, ratio("torch_compile_bf16_s", "llmc_s"))],
}


def print_table(kind, rows):
    """TABLES[kind] of `rows`, after a blank line (nothing without rows);
    a row that could not run is followed by why."""
    if not rows:
        return
    columns = TABLES[kind]
    print("\n" + " ".join(f"{title:>{width}}" for title, width, _ in columns))
    for r in rows:
        print(" ".join(f"{cell(r):>{width}}" for _, width, cell in columns), flush=True)
        for why in ("error", "reference_error"):
            if r.get(why):
                print(f"    {r['name']}: {why.replace('_', ' ')}: {r[why]}", flush=True)


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


def gpu_unavailable():
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device"
    except Exception as error:
        return f"CuPy cannot reach a GPU ({error})"
    try:
        import torch
        if not torch.cuda.is_available():
            return "torch.cuda.is_available() is False"
    except ImportError:
        return "torch is not installed"
    return None


def llmc_runner(folder, name, random=True):
    import ptx_runner
    plan = ptx_runner.Plan(os.path.join(folder, name))
    plan.check(need_weights=not random)
    return ptx_runner.Runner(plan, random_weights=random), ptx_runner


def llmc_seconds(folder, name, repeats=10):
    runner, ptx_runner = llmc_runner(folder, name)
    runner.set_inputs(ptx_runner.random_inputs(runner.plan))
    runner.capture()
    return min(runner.time(repeats))


def check_row(folder, check):
    """Runs check-NAME on its inputs and compares with its reference."""
    import numpy as np
    art = os.path.join(folder, "check-" + check["name"])
    runner, _ = llmc_runner(folder, "check-" + check["name"], random=False)
    runner.set_inputs({n: np.load(os.path.join(art, f)) for n, f in check["inputs"].items()})
    runner.forward()
    runner.stream.synchronize()
    got = runner.outputs()[check["output"]].astype(np.float64)
    expected = np.load(os.path.join(art, "expected.npy")).astype(np.float64)
    tol = check["tol"]
    same = got.shape == expected.shape
    ok = same and bool(np.allclose(got, expected, rtol=tol, atol=tol))
    row = {"name": check["name"], "ok": ok, "tol": tol,
           "max_abs_diff": float(np.nanmax(np.abs(got - expected))) if same else None}
    if same:
        bad = ~np.isclose(got, expected, rtol=tol, atol=tol)
        row["mismatched"] = int(bad.sum())
        row["elements"] = int(got.size)
        row["max_abs_expected"] = float(np.nanmax(np.abs(expected)))
    else:
        row["error"] = f"output shape {list(got.shape)}, expected {list(expected.shape)}"
    ptx_run = cpp_runner(folder, "check-" + check["name"],
                         [f"--input={n}={os.path.join(art, f)}"
                          for n, f in check["inputs"].items()]
                         + [f"--expect={check['output']}={os.path.join(art, 'expected.npy')}",
                            f"--rtol={tol}", f"--atol={tol}"])
    if ptx_run:
        row["llm_ptx_run"] = ptx_run
    return row


def cpp_runner(folder, name, flags, timeout=60):
    """The artifact through bin/llm-ptx-run (the C++ CUDA runner) if the
    folder has it: {"status": ok | mismatch | error, "ms": best forward,
    "line": what it said}."""
    binary = os.path.join(folder, "bin", "llm-ptx-run")
    if not os.path.exists(binary):
        return None
    try:
        done = subprocess.run([binary, os.path.join(folder, name)] + flags,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "error", "line": f"no result in {timeout} s"}
    except OSError as error:
        return {"status": "error", "line": str(error)}
    result = {"status": {0: "ok", 1: "mismatch"}.get(done.returncode, "error")}
    lines = (done.stdout + done.stderr).strip().splitlines()
    for line in lines:
        if " forward " in line and "ms best" in line:
            result["ms"] = float(line.split(" forward ")[1].split()[0])
    result["line"] = next((ln for ln in lines if "matches" in ln or "failed" in ln
                           or "error" in ln), lines[-1] if lines else "")[:300]
    return result


def profile_row(folder, name, top=12):
    """Each launch of NAME timed alone (events around it, no graph): the
    kernels that take the forward's time, summed per kernel name."""
    runner, ptx_runner = llmc_runner(folder, name)
    runner.set_inputs(ptx_runner.random_inputs(runner.plan))
    cp = runner.cp
    per_kernel, launches = {}, []
    with runner.stream:
        for repeat in range(2):  # the first pass loads and warms up
            events = []
            for call, function, args in zip(runner.plan.calls, runner.functions, runner.args):
                start, stop = cp.cuda.Event(), cp.cuda.Event()
                start.record(runner.stream)
                function(tuple(call["grid"]), tuple(call["block"]), args,
                         shared_mem=call.get("shared_bytes", 0))
                stop.record(runner.stream)
                events.append((call, start, stop))
            runner.stream.synchronize()
        for call, start, stop in events:
            seconds = cp.cuda.get_elapsed_time(start, stop) * 1e-3
            launches.append(seconds)
            entry = per_kernel.setdefault(call["kernel"], {"kernel": call["kernel"], "s": 0.0,
                                                          "launches": 0,
                                                          "grid": call["grid"],
                                                          "block": call["block"],
                                                          "shared_bytes":
                                                          call.get("shared_bytes", 0)})
            entry["s"] += seconds
            entry["launches"] += 1
    kernels = sorted(per_kernel.values(), key=lambda e: -e["s"])
    return {"name": name, "launches": len(launches), "sum_s": sum(launches),
            "kernels": kernels[:top]}


def reference(refs, key, make):
    if key not in refs:
        refs[key] = make()
    return refs[key]


def gpt2_model(refs):
    import torch
    import export_models as em

    def make():
        torch.manual_seed(0)
        config = em.GPT2Config(**GPT2_SMALL)
        return config, em.GPT2(config).eval().cuda()
    return reference(refs, "gpt2-model", make)


def gpt2_cached_step(refs, past, device):
    """A function that runs one decoding step of GPT-2 small in PyTorch
    eager after `past` cached positions (bf16 autocast, a bf16 cache), as
    gpt2-decode-kv's artifact computes it."""
    import torch
    import export_models as em
    config, _ = gpt2_model(refs) if device == "cuda" else (em.GPT2Config(**GPT2_SMALL), None)
    model = em.GPT2Cached(config).eval().to(device)
    head_dim = config.d_model // config.n_heads
    pasts = [torch.randn(1, config.n_heads, past, head_dim, device=device,
                         dtype=torch.bfloat16) for _ in range(2 * config.n_layers)]
    ids = torch.randint(0, config.vocab_size, (1, 1), device=device)

    def step():
        with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16):
            return model(ids, *pasts)
    return step


def timed_row(folder, entry, refs):
    """llmc's time for one prepared artifact and the reference it is
    compared with (cuBLAS, SDPA, PyTorch eager); a reference that fails
    leaves llmc's time and says why in reference_error."""
    kind, name = entry["kind"], entry["name"]
    row = dict(entry)
    row["llmc_s"] = llmc_seconds(folder, name, repeats=5 if kind == "gpt2" else 10)
    if name in CPP_TIMED:
        ptx_run = cpp_runner(folder, name, ["--random-weights", "--random-inputs",
                                            "--repeats=10"])
        if ptx_run:
            row["llm_ptx_run"] = ptx_run
    try:
        reference_row(row, entry, refs)
    except Exception as error:  # noqa: BLE001 (recorded; llmc's time stands)
        row["reference_error"] = f"{type(error).__name__}: {str(error)[:300]}"
    return row


def reference_row(row, entry, refs):
    import torch
    import torch.nn.functional as F
    kind, ours = entry["kind"], row["llmc_s"]
    if kind == "gpt2" and entry.get("past"):
        row["torch_eager_bf16_s"] = reference(
            refs, ("eager-kv", entry["past"]),
            lambda: torch_time(gpt2_cached_step(refs, entry["past"], "cuda"), repeats=10))
    elif kind == "gpt2":
        config, model = gpt2_model(refs)
        tokens = entry["tokens"]
        ids = torch.randint(0, config.vocab_size, (1, tokens), device="cuda")

        def eager():
            with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
                return model(ids)
        row["torch_eager_bf16_s"] = reference(refs, ("eager", tokens),
                                              lambda: torch_time(eager, repeats=10))
    elif kind == "gemm":
        n = entry["n"]

        def cublas():
            a, b = torch.randn(n, n, device="cuda"), torch.randn(n, n, device="cuda")
            ab, bb = a.bfloat16(), b.bfloat16()
            return torch_time(lambda: ab @ bb), torch_time(lambda: a @ b)
        flops = 2.0 * n ** 3
        row["llmc_tflops"] = flops / ours * 1e-12
        row["cublas_bf16_s"], row["cublas_fp32_s"] = reference(refs, ("gemm", n), cublas)
        row["cublas_bf16_tflops"] = flops / row["cublas_bf16_s"] * 1e-12
    elif kind == "gemm-int8":
        n = entry["n"]

        def cublas():
            a = torch.randint(-128, 128, (n, n), device="cuda", dtype=torch.int8)
            b = torch.randint(-128, 128, (n, n), device="cuda", dtype=torch.int8)
            return torch_time(lambda: torch._int_mm(a, b))
        row["llmc_tops"] = 2.0 * n ** 3 / ours * 1e-12
        row["cublas_int8_s"] = reference(refs, ("int8", n), cublas)
        row["cublas_int8_tops"] = 2.0 * n ** 3 / row["cublas_int8_s"] * 1e-12
    elif kind == "attention" and entry.get("queries"):
        # A decoding step: `queries` over `seq` keys of kv_heads heads,
        # SDPA with enable_gqa (torch 2.5 on) or, before it, K and V
        # expanded to every query head outside the timed call.
        seq, heads, dim = entry["seq"], entry["heads"], entry["head_dim"]
        queries, kv_heads = entry["queries"], entry["kv_heads"]

        def sdpa():
            q = torch.randn(1, heads, queries, dim, device="cuda").bfloat16()
            k, v = (torch.randn(1, kv_heads, seq, dim, device="cuda").bfloat16()
                    for _ in range(2))
            try:
                F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
                return torch_time(lambda: F.scaled_dot_product_attention(q, k, v,
                                                                         enable_gqa=True))
            except TypeError:
                k, v = (t.repeat_interleave(heads // kv_heads, 1) for t in (k, v))
                return torch_time(lambda: F.scaled_dot_product_attention(q, k, v))
        flops = 4.0 * heads * queries * seq * dim
        row["llmc_tflops"] = flops / ours * 1e-12
        row["sdpa_bf16_s"] = reference(refs, ("sdpa-decode", queries, seq, heads, kv_heads, dim),
                                       sdpa)
        row["sdpa_tflops"] = flops / row["sdpa_bf16_s"] * 1e-12
    elif kind == "attention":
        seq, heads, dim = entry["seq"], entry["heads"], entry["head_dim"]

        def sdpa():
            q, k, v = (torch.randn(1, heads, seq, dim, device="cuda").bfloat16()
                       for _ in range(3))
            return torch_time(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True))
        flops = 4.0 * heads * seq * seq * dim / 2  # causal: half the scores
        row["llmc_tflops"] = flops / ours * 1e-12
        row["sdpa_bf16_s"] = reference(refs, ("sdpa", seq, heads, dim), sdpa)
        row["sdpa_tflops"] = flops / row["sdpa_bf16_s"] * 1e-12


def compile_row(entry, refs):
    """torch.compile's time for GPT-2 small over `tokens` tokens."""
    import torch
    config, model = gpt2_model(refs)
    compiled = reference(refs, "gpt2-compiled", lambda: torch.compile(model))
    ids = torch.randint(0, config.vocab_size, (1, entry["tokens"]), device="cuda")

    def fast():
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
            return compiled(ids)
    return {"tokens": entry["tokens"], "torch_compile_bf16_s": torch_time(fast, repeats=10)}


# Timed also through llm-ptx-run (the C++ runner), against the CuPy one.
CPP_TIMED = ("gemm-4096", "gemm-4096-bf16", "gemm-4096-bf16-wgmma", "attention-bf16",
             "gpt2-prefill", "gpt2-decode")

# Work items, in the order --run takes them: the checks, then what the
# issue's targets are read from (GEMM at 4096, attention, the GPT-2
# forward), then the rest; torch.compile (slow to compile) last.
PRIORITY = ("gemm-4096", "attention", "gpt2-prefill", "gpt2-decode")


def work_items(index, profiles=("gpt2-prefill", "gpt2-decode", "gpt2-decode-kv")):
    timed = index["timed"]

    def rank(entry):
        name = entry["name"]
        for i, prefix in enumerate(PRIORITY):
            if name == prefix:
                return (i, 0)
            if name.startswith(prefix):
                return (len(PRIORITY) + i, 0)
        return (2 * len(PRIORITY), 0)
    items = [{"what": "check", "entry": c, "timeout": 120} for c in index["checks"]]
    items += [{"what": "timed", "entry": e, "timeout": 120}
              for e in sorted(timed, key=rank)]
    names = {e["name"] for e in timed}
    items += [{"what": "profile", "entry": {"name": p}, "timeout": 90}
              for p in profiles if p in names]
    for tokens in sorted({e["tokens"] for e in timed
                          if e["kind"] == "gpt2" and not e.get("past")}, reverse=True):
        items.append({"what": "compile", "entry": {"name": f"compile-{tokens}",
                                                   "tokens": tokens}, "timeout": 240})
    return items


def context_healthy():
    try:
        import cupy as cp
        cp.cuda.runtime.deviceSynchronize()
        return int(cp.arange(4).sum().item()) == 6
    except Exception:  # noqa: BLE001 (a sticky CUDA error)
        return False


def worker(args):
    """Runs the work items from --first on, one JSON line per item into
    --log; exits 3 when a failure leaves the CUDA context unusable, so the
    parent starts a fresh process at the next item."""
    folder = args.worker
    with open(os.path.join(folder, "prepared.json")) as f:
        items = work_items(json.load(f))
    refs = {}
    with open(args.log, "a") as log:
        def emit(record):
            log.write(json.dumps(record) + "\n")
            log.flush()
        for i in range(args.first, len(items)):
            if time.time() > args.deadline:
                return 0
            item = items[i]
            emit({"start": i})
            began = time.time()
            try:
                what, entry = item["what"], item["entry"]
                if what == "check":
                    row = check_row(folder, entry)
                elif what == "timed":
                    row = timed_row(folder, entry, refs)
                elif what == "profile":
                    row = profile_row(folder, entry["name"])
                else:
                    row = compile_row(entry, refs)
                row["name"] = entry["name"]
            except Exception as error:  # noqa: BLE001 (recorded, the run goes on)
                row = {"name": item["entry"]["name"],
                       "error": f"{type(error).__name__}: {str(error)[:400]}"}
            row["wall_s"] = round(time.time() - began, 2)
            emit({"done": i, "row": row})
            print(f"bench_gpu: [{i + 1}/{len(items)}] {item['what']} {row['name']}: "
                  + summary(item["what"], row), flush=True)
            if row.get("error") and not context_healthy():
                return 3
    return 0


def summary(what, row):
    if row.get("error"):
        return "ERROR " + row["error"]
    cpp = row.get("llm_ptx_run")
    cpp = (f"; llm-ptx-run {cpp['status']}"
           + (f" {cpp['ms']:.3f} ms" if "ms" in cpp else "")
           + ("" if cpp["status"] == "ok" else f" ({cpp['line']})")) if cpp else ""
    if what == "check":
        diff = row.get("max_abs_diff")
        return (f"{'ok' if row['ok'] else 'FAILED'} max |diff| "
                f"{'-' if diff is None else f'{diff:.3g}'} (tolerance {row['tol']:g})" + cpp)
    if what == "profile":
        top = row["kernels"][0] if row["kernels"] else None
        return (f"{row['launches']} launches, {row['sum_s'] * 1e3:.3f} ms summed"
                + (f"; slowest {top['kernel']} {top['s'] * 1e3:.3f} ms" if top else ""))
    if what == "compile":
        return f"{row['torch_compile_bf16_s'] * 1e3:.3f} ms"
    ref = next((f"; {label} {row[key] * 1e3:.3f} ms" for key, label in (
        ("cublas_bf16_s", "cuBLAS bf16"), ("cublas_int8_s", "cuBLASLt int8"),
        ("sdpa_bf16_s", "SDPA"), ("torch_eager_bf16_s", "eager")) if row.get(key)), "")
    if row.get("reference_error"):
        ref = f"; reference: {row['reference_error']}"
    return f"{row['llmc_s'] * 1e3:.3f} ms ({row['wall_s']} s){ref}{cpp}"


def run(args):
    """Runs the work items in worker processes (a kernel that faults or
    hangs costs its item, not the run), each item under its own time limit
    and all of them under --deadline seconds; writes --json after every
    item."""
    folder = args.run
    try:
        with open(os.path.join(folder, "prepared.json")) as f:
            index = json.load(f)
        items = work_items(index)
    except (OSError, ValueError, KeyError) as error:
        print(f"bench_gpu: error: {folder} is not a prepared folder ({error}); "
              "run --prepare where llmc is built", file=sys.stderr)
        return 2
    why = gpu_unavailable()
    if why:
        print(f"bench_gpu: skipped, no GPU to measure on: {why}")
        return 0
    import torch
    results = {"date": time.strftime("%Y-%m-%d"), "gpu": torch.cuda.get_device_name(0),
               "prepared": index.get("prepared"), "torch": torch.__version__}
    try:
        import cupy
        results["cupy"] = cupy.__version__
        results["driver"] = cupy.cuda.runtime.driverGetVersion()
    except Exception:  # noqa: BLE001
        pass
    print(f"GPU: {results['gpu']}, artifacts prepared {index.get('prepared')}, "
          f"{len(items)} items\n", flush=True)
    deadline = time.time() + args.deadline
    rows = [None] * len(items)
    log = tempfile.NamedTemporaryFile(prefix="bench_gpu.", suffix=".jsonl", delete=False).name

    def write_json():
        assemble(results, items, rows)
        if args.json:
            results["rows"] = rows
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)

    read = 0
    first = 0
    while first < len(items) and time.time() < deadline:
        if first:
            print(f"bench_gpu: a new worker from item {first + 1}", flush=True)
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", folder,
                                 "--first", str(first), "--log", log,
                                 "--deadline-at", str(deadline)])
        current, started = None, time.time()
        while True:
            finished = proc.poll() is not None
            with open(log) as f:
                lines = f.read().splitlines()
            for line in lines[read:]:
                record = json.loads(line)
                if "start" in record:
                    current, started = record["start"], time.time()
                else:
                    rows[record["done"]] = record["row"]
                    current = None
                    write_json()
            read = len(lines)
            if finished:
                break
            limit = (args.item_timeout or items[current]["timeout"]) if current is not None \
                else max(args.item_timeout or 0, 180)
            if time.time() - started > limit or time.time() > deadline + 30:
                proc.kill()
                proc.wait()
                if current is not None:
                    rows[current] = {"name": items[current]["entry"]["name"],
                                     "error": f"no result in {limit} s (killed)"}
                    print(f"bench_gpu: [{current + 1}/{len(items)}] "
                          f"{items[current]['entry']['name']}: killed after {limit} s",
                          flush=True)
                    write_json()
                break
            time.sleep(0.2)
        if current is not None and rows[current] is None:
            # The worker died inside an item (a segfault, say).
            rows[current] = {"name": items[current]["entry"]["name"],
                             "error": f"the worker exited with {proc.returncode}"}
            print(f"bench_gpu: [{current + 1}/{len(items)}] "
                  f"{items[current]['entry']['name']}: the worker exited with "
                  f"{proc.returncode}", flush=True)
            write_json()
        done = [i for i, r in enumerate(rows) if r is not None]
        first = (max(done) + 1) if done else len(items)
        if proc.returncode == 0 and first < len(items) and time.time() < deadline:
            break  # the worker stopped at the deadline
    skipped = sum(r is None for r in rows)
    if skipped:
        print(f"bench_gpu: {skipped} items not run (deadline {args.deadline} s)")
    write_json()
    checks = results["checks"]
    if checks:
        print(f"\n{'check':>22} {'result':>8} {'max |diff|':>11} {'tolerance':>10} "
              f"{'llm-ptx-run':>12}")
        for r in checks:
            diff = r.get("max_abs_diff")
            cpp = (r.get("llm_ptx_run") or {}).get("status", "-")
            print(f"{r['name']:>22} {'ok' if r.get('ok') else 'FAILED':>8} "
                  f"{'-' if diff is None else f'{diff:.3g}':>11} {r.get('tol', 0):>10g} "
                  f"{cpp:>12}")
            if r.get("error"):
                print(f"    {r['error']}")
    for kind in ("gemm", "gemm_int8", "attention", "gpt2_small"):
        print_table(kind, results[kind])
    for profile in results["profiles"]:
        print(f"\n{profile['name']}: {profile['launches']} launches, "
              f"{profile['sum_s'] * 1e3:.3f} ms summed one by one")
        for k in profile["kernels"]:
            print(f"  {k['s'] * 1e3:9.3f} ms  {k['launches']:3d}x  {k['kernel']}  "
                  f"grid {k['grid']} block {k['block']} shared {k['shared_bytes']}")
    # Each check once per runner: CuPy's, and the C++ one where it ran.
    outcomes = [bool(r.get("ok")) for r in checks]
    outcomes += [r["llm_ptx_run"]["status"] == "ok" for r in checks if r.get("llm_ptx_run")]
    failed = outcomes.count(False)
    print(f"\n{len(outcomes) - failed} passed, {failed} failed")
    return 1 if failed else 0


def assemble(results, items, rows):
    """The per-kind result lists from the item rows."""
    kinds = {"gemm": "gemm", "gemm-int8": "gemm_int8", "attention": "attention",
             "gpt2": "gpt2_small"}
    for key in ("checks", "gemm", "gemm_int8", "attention", "gpt2_small", "profiles"):
        results[key] = []
    compiled = {}
    for item, row in zip(items, rows):
        entry = item["entry"]
        if item["what"] == "check":
            results["checks"].append(dict({"ok": False, "tol": entry["tol"]},
                                          **(row or {"name": entry["name"],
                                                     "error": "not run"})))
        elif item["what"] == "profile" and row and not row.get("error"):
            results["profiles"].append(row)
        elif item["what"] == "compile" and row and not row.get("error"):
            compiled[entry["tokens"]] = row["torch_compile_bf16_s"]
        elif item["what"] == "timed" and row:
            results[kinds[entry["kind"]]].append(dict(entry, **row))
    for row in results["gpt2_small"]:
        if not row.get("past"):
            row["torch_compile_bf16_s"] = compiled.get(row["tokens"])
    order = {item["entry"]["name"]: i for i, item in enumerate(items)}
    for key in ("gemm", "gemm_int8", "attention"):
        results[key].sort(key=lambda r: (r["n"] if "n" in r else 0, order[r["name"]]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--prepare", metavar="DIR", help="compile the artifacts into DIR")
    mode.add_argument("--run", metavar="DIR", help="check and time the artifacts in DIR")
    mode.add_argument("--worker", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--build", help="build folder with bin/llm-compile (default ./build, "
                        "else the tools on PATH)")
    parser.add_argument("--quick", action="store_true",
                        help="GEMM 1024 and 2048 only, attention at 1024, GPT-2 prefill of 256")
    parser.add_argument("--json", help="--run: also write the numbers here (after every item)")
    parser.add_argument("--deadline", type=float, default=1500,
                        help="--run: start no item after this many seconds (default 1500)")
    parser.add_argument("--item-timeout", type=float,
                        help="--run: kill an item after this many seconds (default 120, "
                        "240 for torch.compile)")
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--log", help=argparse.SUPPRESS)
    parser.add_argument("--deadline-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        try:
            return prepare(args)
        except FileNotFoundError as missing:
            print(f"bench_gpu: error: {missing} is not built (bash scripts/setup.sh)",
                  file=sys.stderr)
            return 2
    if args.worker:
        args.deadline = args.deadline_at
        return worker(args)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
