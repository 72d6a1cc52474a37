#!/usr/bin/env python3
"""The shared memory and pipeline of an artifact's wgmma kernel, read off
its launch plan and PTX, as one line:

    wgmma-pipeline.py ARTIFACT [KERNEL]

prints "static A B dynamic D products-wait W copies-wait C": the static
shared arrays' bytes (A, B: the kernel's tiles when they fit 48 KiB, else
"-"), the launch's dynamic shared memory (0 without), and the N of the
wgmma.wait_group and cp.async.wait_group in the k loop (the first of each
after the products' commit; "-" when there is none).
"""
import json
import os
import re
import sys

artifact = sys.argv[1]
kernel = sys.argv[2] if len(sys.argv) > 2 else "matmul_0"
calls = json.load(open(os.path.join(artifact, "manifest.json")))["launch_plan"]["calls"]
dynamic = {c["shared_bytes"] for c in calls if c["kernel"] == kernel}
assert len(dynamic) == 1, dynamic
ptx = open(os.path.join(artifact, "model.ptx")).read()
body = ptx[ptx.index(f".entry {kernel}(") + 1:]
body = body[:body.find(".entry")] if ".entry" in body else body
static = re.findall(r"\.shared \.align \d+ \.b8 __wg_%s_\d+\[(\d+)\]" % kernel, ptx)
loop = body[body.index("wgmma.commit_group"):]
products = re.search(r"wgmma\.wait_group\.sync\.aligned\s+(\d+);", loop)
copies = re.search(r"cp\.async\.wait_group\s+(\d+);", loop)
print("static", " ".join(static) or "-", "dynamic", dynamic.pop(),
      "products-wait", products.group(1) if products else "-",
      "copies-wait", copies.group(1) if copies else "-")
