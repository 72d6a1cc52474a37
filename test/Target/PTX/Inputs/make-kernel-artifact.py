#!/usr/bin/env python3
"""Writes a ptx artifact that launches one hand-written kernel, for tests of
the GPU emulator (llm-run --target ptx --emulate-gpu).

    make-kernel-artifact.py KERNELS.mlir OUT [--threads N] [--blocks N]
        [--elements N] [--dynamic-shared BYTES]

KERNELS.mlir holds a gpu.module @llm_kernels with a kernel @k(%in, %out),
both memref<Nxf32>. The forward takes x (N floats) and returns y = the
buffer @k wrote. The artifact's PTX is empty: only the emulator can run it.
"""
import argparse
import json
import os
import shutil

parser = argparse.ArgumentParser()
parser.add_argument("kernels")
parser.add_argument("out")
parser.add_argument("--threads", type=int, default=64)
parser.add_argument("--blocks", type=int, default=1)
parser.add_argument("--elements", type=int, default=64)
parser.add_argument("--dynamic-shared", type=int, default=None,
                    help="the launch's dynamic shared memory size")
args = parser.parse_args()

n = args.elements
os.makedirs(args.out, exist_ok=True)
dynamic = ("" if args.dynamic_shared is None
           else "dynamic_shared_memory_size %shared")
host = f"""module attributes {{gpu.container_module}} {{
  func.func @forward(%x: memref<{n}xf32> {{llm.name = "x"}}) -> (memref<{n}xf32> {{llm.name = "y"}}) {{
    %c1 = arith.constant 1 : index
    %blocks = arith.constant {args.blocks} : index
    %threads = arith.constant {args.threads} : index
    %shared = arith.constant {args.dynamic_shared or 0} : i32
    %y = memref.alloc() : memref<{n}xf32>
    gpu.launch_func @llm_kernels::@k blocks in (%blocks, %c1, %c1) threads in (%threads, %c1, %c1) {dynamic} args(%x : memref<{n}xf32>, %y : memref<{n}xf32>)
    return %y : memref<{n}xf32>
  }}
  gpu.binary @llm_kernels [#gpu.object<#nvvm.target, assembly = "">]
}}
"""
with open(os.path.join(args.out, "ptx.mlir"), "w") as f:
    f.write(host)
shutil.copy(args.kernels, os.path.join(args.out, "kernels.mlir"))
open(os.path.join(args.out, "weights.bin"), "wb").close()
spec = {"dtype": "f32", "shape": [n]}
manifest = {
    "format": "llmc-artifact",
    "version": 1,
    "target": "ptx",
    "code": "ptx.mlir",
    "gpu_kernels": "kernels.mlir",
    "weights_file": "weights.bin",
    "weights": [],
    "signature": {"entry": "forward", "inputs": [dict(spec, name="x")],
                  "outputs": [dict(spec, name="y")], "weights": []},
}
with open(os.path.join(args.out, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=2)
