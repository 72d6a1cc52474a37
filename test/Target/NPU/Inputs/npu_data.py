#!/usr/bin/env python3
"""Data and checks for the NPU tests.

    npu_data.py matmul M K N SEED DIR [SCALE ZERO_POINT [QUANT_SCALE]]
        A.npy, B.npy (random int8), C.npy (exact int32 A @ B) and, with
        SCALE, Cq.npy = saturate(roundeven(f32(C) * SCALE) + ZERO_POINT);
        with QUANT_SCALE also Cdq.npy = saturate(roundeven((f32(C) * SCALE) /
        QUANT_SCALE) + ZERO_POINT).
    npu_data.py check-stats STATS.json 'KEY>=VALUE' ...
        exit 1 unless every condition holds (KEY may be dotted: bytes.dram_read).
    npu_data.py set-bits IN OUT INDEX POS WIDTH VALUE
        copy a .npubin, setting bits [POS, POS+WIDTH) of instruction INDEX.
    npu_data.py truncate IN OUT BYTES
        copy the first BYTES bytes.
    npu_data.py fuzz PROGRAM.npubin DIR COUNT SEED LLM-RUN ARGS...
        COUNT copies of the program with random bytes changed; each must run
        with exit 0 or 2 (never a crash, another code or a hang), and every
        exit 2 must print one line `llm-run: error: ...`.
    npu_data.py channel M K N SEED DIR QUANT_SCALE ZERO_POINT
        W8A8 with per-channel scales: A, B (int8), S (f32 [1, N]), Cf =
        f32(A @ B) * S (llm.dequantize), Cfq = llm.quantize(Cf, QUANT_SCALE,
        ZERO_POINT), Bias (f32 [1, N]) and Cfb = Cf + Bias (llm.add).
    npu_data.py quantin M K N SEED DIR SCALE
        The input quantized on the NPU: X (f32, with ties, NaN, +-inf and
        values past the int8 range), B (int8), S (f32 [1, N]), C = A @ B
        (int32) and Cf = f32(C) * S, where A = llm.quantize(X, SCALE) =
        clip(roundeven(X / SCALE), -128, 127), NaN -> -128.
    npu_data.py unsigned M K N SEED DIR ZERO_POINT
        uint8 activations with a zero point: A (the uint8 bytes, stored as
        int8), B (int8), Z = -ZERO_POINT * colsum(B) (i32 [1, N]) and
        C = (A_u8 - ZERO_POINT) @ B (int32).
    npu_data.py desc OUT.json NAME ROWS COLS SCRATCHPAD ACCUMULATOR
        a copy of targets/npu.json with another array and memories.
    npu_data.py quant DIR
        X (f32 8x64 with NaN, +-inf and large values), P (i32 8x64 near the
        int32 limits), Q (i32 1x64) and the references XQ (llm.quantize:
        clip(roundeven(x / 0.0371) - 7), NaN -> -128), PQ (P + Q wrapping) and
        D (f32(XQ) * 0.0371).
    npu_data.py vector DIR
        X.npy (random f32 8x64) and the float64 references S (softmax),
        G (GELU, erf form), L (layer norm, eps 1e-5) rounded to f32.
"""
import json
import math
import operator
import struct
import sys

import numpy as np


def matmul(m, k, n, seed, out, scale=None, zero_point=None, quant_scale=None):
    rng = np.random.default_rng(int(seed))
    a = rng.integers(-128, 128, (int(m), int(k)), dtype=np.int8)
    b = rng.integers(-128, 128, (int(k), int(n)), dtype=np.int8)
    c = a.astype(np.int32) @ b.astype(np.int32)
    np.save(f"{out}/A.npy", a)
    np.save(f"{out}/B.npy", b)
    np.save(f"{out}/C.npy", c)
    if scale is not None:
        q = np.rint(c.astype(np.float32) * np.float32(scale)) + np.float32(zero_point)
        np.save(f"{out}/Cq.npy", np.clip(q, -128, 127).astype(np.int8))
    if quant_scale is not None:
        # llm.dequantize (one f32 multiplication) then llm.quantize (one f32
        # division, ties to even, saturation): the host's W8A8 chain.
        deq = c.astype(np.float32) * np.float32(scale)
        q = np.rint(deq / np.float32(quant_scale)) + np.float32(zero_point)
        np.save(f"{out}/Cdq.npy", np.clip(q, -128, 127).astype(np.int8))


def check_stats(path, *conditions):
    stats = json.load(open(path))
    ops = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
           "==": lambda a, b: math.isclose(a, b, rel_tol=1e-9)}
    ok = True
    for condition in conditions:
        for symbol in (">=", "<=", "==", ">", "<"):
            if symbol in condition:
                key, value = condition.split(symbol)
                break
        actual = stats
        for part in key.strip().split("."):
            actual = actual[part]
        holds = ops[symbol](float(actual), float(value))
        print(f"{key.strip()} = {actual} ({'ok' if holds else 'FAILED'}: {condition})")
        ok = ok and holds
    return 0 if ok else 1


def set_bits(src, dst, index, pos, width, value):
    data = bytearray(open(src, "rb").read())
    count = struct.unpack_from("<I", data, 8)[0]
    base = len(data) - 16 * (count - int(index))
    word = int.from_bytes(data[base:base + 16], "little")
    mask = ((1 << int(width)) - 1) << int(pos)
    word = (word & ~mask) | ((int(value, 0) << int(pos)) & mask)
    data[base:base + 16] = word.to_bytes(16, "little")
    open(dst, "wb").write(data)


def truncate(src, dst, size):
    open(dst, "wb").write(open(src, "rb").read()[: int(size)])


def fuzz(program, out, count, seed, tool, *args):
    import subprocess
    rng = np.random.default_rng(int(seed))
    data = open(program, "rb").read()
    count_field = struct.unpack_from("<I", data, 8)[0]
    code = len(data) - 16 * count_field
    outcomes = {0: 0, 2: 0}
    for i in range(int(count)):
        mutated = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            # Mostly the instructions, sometimes the header and tensor table.
            lo = 0 if rng.random() < 0.2 else code
            at = int(rng.integers(lo, len(data)))
            mutated[at] = int(rng.integers(0, 256))
        path = f"{out}/fuzz{i}.npubin"
        open(path, "wb").write(mutated)
        try:
            done = subprocess.run([tool, path, *args], capture_output=True, text=True,
                                  timeout=60)
        except subprocess.TimeoutExpired:
            print(f"{path}: hung")
            return 1
        if done.returncode not in outcomes:
            print(f"{path}: exit {done.returncode}: {done.stderr}")
            return 1
        if done.returncode == 2 and (not done.stderr.startswith("llm-run: error: ")
                                     or done.stderr.count("\n") != 1):
            print(f"{path}: not one error line: {done.stderr!r}")
            return 1
        outcomes[done.returncode] += 1
    print(f"fuzz: {count} programs, {outcomes[0]} ran, {outcomes[2]} rejected")
    return 0


def channel(m, k, n, seed, out, quant_scale, zero_point):
    rng = np.random.default_rng(int(seed))
    a = rng.integers(-128, 128, (int(m), int(k)), dtype=np.int8)
    b = rng.integers(-127, 128, (int(k), int(n)), dtype=np.int8)
    s = rng.uniform(1e-5, 1e-3, (1, int(n))).astype(np.float32)
    c = (a.astype(np.int32) @ b.astype(np.int32)).astype(np.float32) * s
    q = np.rint(c / np.float32(quant_scale)) + np.float32(zero_point)
    bias = rng.uniform(-1, 1, (1, int(n))).astype(np.float32)
    for name, value in [("A", a), ("B", b), ("S", s), ("Cf", c),
                        ("Bias", bias), ("Cfb", c + bias),
                        ("Cfq", np.clip(q, -128, 127).astype(np.int8))]:
        np.save(f"{out}/{name}.npy", value)


def quantin(m, k, n, seed, out, scale):
    rng = np.random.default_rng(int(seed))
    m, k, n, scale = int(m), int(k), int(n), np.float32(scale)
    x = rng.normal(0, 40 * float(scale), (m, k)).astype(np.float32)
    flat = x.reshape(-1)
    flat[:6] = [np.nan, np.inf, -np.inf, 0.5 * scale, 2.5 * scale, -1000 * scale]
    with np.errstate(invalid="ignore"):
        q = np.rint(x / scale)
        a = np.where(np.isnan(q), -128, np.clip(q, -128, 127)).astype(np.int8)
    b = rng.integers(-127, 128, (k, n), dtype=np.int8)
    s = rng.uniform(1e-5, 1e-3, (1, n)).astype(np.float32)
    c = a.astype(np.int32) @ b.astype(np.int32)
    for name, value in [("X", x), ("B", b), ("S", s), ("C", c),
                        ("Cf", c.astype(np.float32) * s)]:
        np.save(f"{out}/{name}.npy", value)


def unsigned(m, k, n, seed, out, zero_point):
    rng = np.random.default_rng(int(seed))
    m, k, n, z = int(m), int(k), int(n), int(zero_point)
    a = rng.integers(0, 256, (m, k), dtype=np.uint8)
    a[0] = 255
    b = rng.integers(-128, 128, (k, n), dtype=np.int8)
    zrow = (-z * b.astype(np.int64).sum(axis=0, keepdims=True)).astype(np.int32)
    c = ((a.astype(np.int64) - z) @ b.astype(np.int64)).astype(np.int32)
    for name, value in [("A", a.view(np.int8)), ("B", b), ("Z", zrow), ("C", c)]:
        np.save(f"{out}/{name}.npy", value)


def desc(out, name, rows, cols, scratchpad, accumulator):
    import os
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..")
    d = json.load(open(os.path.join(root, "targets", "npu.json")))
    d["name"] = name
    d["npu"].update(array_rows=int(rows), array_cols=int(cols),
                    scratchpad_bytes=int(scratchpad), accumulator_bytes=int(accumulator))
    d["on_chip_bytes"] = int(scratchpad)
    d["matrix_unit"] = {t: [1, int(rows), int(cols)] for t in d["matrix_unit"]}
    json.dump(d, open(out, "w"), indent=2)


def quant(out):
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((8, 64)) * 3).astype(np.float32)
    x[0, :4] = [np.nan, np.inf, -np.inf, 1e9]
    x[1, :4] = [0.01855, -0.01855, 0.05565, 4.7117]  # near ties of x / 0.0371
    p = rng.integers(-2**31, 2**31, (8, 64), dtype=np.int64).astype(np.int32)
    q = rng.integers(-2**31, 2**31, (1, 64), dtype=np.int64).astype(np.int32)
    scale = np.float32(0.0371)
    with np.errstate(invalid="ignore"):
        v = np.rint(x / scale) + np.float32(-7)
        v = np.where(np.isnan(v), np.float32(-128), v)
        xq = np.clip(v, -128, 127).astype(np.int8)
    pq = (p.astype(np.int64) + q.astype(np.int64)).astype(np.uint32).astype(np.int64)
    pq = np.where(pq >= 2**31, pq - 2**32, pq).astype(np.int32)
    for name, value in [("X", x), ("P", p), ("Q", q), ("XQ", xq), ("PQ", pq),
                        ("D", xq.astype(np.float32) * scale)]:
        np.save(f"{out}/{name}.npy", value)


def vector(out):
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((8, 64)) * 3).astype(np.float32)
    xd = x.astype(np.float64)
    e = np.exp(xd - xd.max(axis=1, keepdims=True))
    np.save(f"{out}/X.npy", x)
    np.save(f"{out}/S.npy", (e / e.sum(axis=1, keepdims=True)).astype(np.float32))
    erf = np.vectorize(math.erf)
    np.save(f"{out}/G.npy", (0.5 * xd * (1 + erf(xd / math.sqrt(2)))).astype(np.float32))
    mean = xd.mean(axis=1, keepdims=True)
    var = ((xd - mean) ** 2).mean(axis=1, keepdims=True)
    np.save(f"{out}/L.npy", ((xd - mean) / np.sqrt(var + 1e-5)).astype(np.float32))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "matmul":
        matmul(*args)
    elif command == "check-stats":
        sys.exit(check_stats(*args))
    elif command == "set-bits":
        set_bits(*args)
    elif command == "truncate":
        truncate(*args)
    elif command == "fuzz":
        sys.exit(fuzz(*args))
    elif command == "channel":
        channel(*args)
    elif command == "desc":
        desc(*args)
    elif command == "quantin":
        quantin(*args)
    elif command == "unsigned":
        unsigned(*args)
    elif command == "quant":
        quant(*args)
    elif command == "vector":
        vector(*args)
    else:
        sys.exit(f"unknown command {command}")
