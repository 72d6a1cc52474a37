"""Checks llm-quantize's weights=gptq against a numpy GPTQ.

    gptq-reference.py LLM_OPT --mode w4|w8 [--group-size G] [--natural-order]

Writes a matmul whose weight W [K, N] is random and whose calibration
inputs X [rows, K] have correlated channels (where GPTQ gains most), with
llm.act_gram = XᵀX; runs `llm-opt --llm-quantize=... weights=gptq` and
`weights=rtn`; decodes the stored integers and scales; and compares them
with the algorithm of the GPTQ paper written plainly here (Frantar et al.
2023, Algorithm 1, in float64: one input channel at a time, no lazy
batches; by default in act order with static groups, as the paper's code
with --act-order --static-groups). Prints one line per check; exits 1 if one fails:
- the pass's integers equal the reference's (all but 1 %, for roundings
  that float32 and float64 put on either side of a half);
- the output error ||X W - X Ŵ||² is within 2 % of the reference's and
  below 0.8 of round-to-nearest's (and in act order, below natural
  order's: the inputs' channels differ in energy, as a transformer's).
"""
import argparse
import re
import subprocess
import sys

import numpy as np


def mlir_dense(array):
    rows = ", ".join("[" + ", ".join(f"{v:.8e}" for v in row) + "]" for row in array)
    return f"dense<[{rows}]>"


def reference_gptq(w_rows, gram, bits, group, act_order, damp=0.01):
    """w_rows [N, K]: one row per output channel. Returns ints and scales.
    With act_order: channels by decreasing diag(H) (after the dead ones get
    1), scales from the weights as given ("static groups")."""
    w = w_rows.astype(np.float64).copy()
    n, k = w.shape
    h = gram.astype(np.float64).copy()
    dead = np.diag(h) == 0
    h[dead, dead] = 1
    w[:, dead] = 0
    qmax = 7 if bits == 4 else 127
    groups = (k + group - 1) // group
    scales = np.zeros((n, groups))

    def group_scales(values):
        absmax = np.abs(values).max(axis=1)
        return np.where(absmax > 0, absmax / qmax, 1.0)

    perm = np.arange(k)
    if act_order:
        perm = np.argsort(-np.diag(h), kind="stable")
        for g in range(groups):
            scales[:, g] = group_scales(w[:, g * group:(g + 1) * group])
    w = w[:, perm]
    h = h[perm][:, perm]
    h += damp * np.mean(np.diag(gram)) * np.eye(k)
    u = np.linalg.cholesky(np.linalg.inv(h)).T  # upper, H^-1 = Uᵀ U
    q = np.zeros((n, k), dtype=np.int64)
    for i in range(k):
        c = perm[i]
        g = c // group
        if not act_order and i % group == 0:
            scales[:, g] = group_scales(w[:, i:i + group])
        s = scales[:, g]
        q[:, c] = np.clip(np.rint(w[:, i] / s), -qmax, qmax)
        err = (w[:, i] - q[:, c] * s) / u[i, i]
        w[:, i + 1:] -= np.outer(err, u[i, i + 1:])
    return q, scales


def run_pass(llm_opt, path, mode, group, weights, act_order=True):
    options = f"mode={mode} group-size={group} weights={weights}"
    if weights == "gptq":
        options += f" gptq-act-order={'true' if act_order else 'false'}"
    out = subprocess.run([llm_opt, path, f"--llm-quantize={options}",
                          "--mlir-print-elementsattrs-with-hex-if-larger=1"],
                         check=True, capture_output=True, text=True).stdout
    return out


def decode(out, n, k, bits, group):
    blob = re.search(r'weight\.w[48]: "0x([0-9A-F]+)"', out).group(1)
    data = np.frombuffer(bytes.fromhex(blob)[4:], dtype=np.int8)
    if bits == 4:
        packed = data.reshape(n, (k + 1) // 2).astype(np.uint8)
        low = (packed & 0xF).astype(np.int8)
        high = (packed >> 4).astype(np.int8)
        low = np.where(low > 7, low - 16, low)
        high = np.where(high > 7, high - 16, high)
        q = np.stack([low, high], axis=2).reshape(n, -1)[:, :k]
    else:
        q = data.reshape(n, k)
    groups = (k + group - 1) // group
    hexes = re.findall(r'llm.constant dense<"0x([0-9A-F]+)"> : tensor<(\d+)x(\d+)xf32>', out)
    scales = [np.frombuffer(bytes.fromhex(h), dtype=np.float32).reshape(int(a), int(b))
              for h, a, b in hexes if (int(a), int(b)) == (n, groups)]
    return q.astype(np.int64), scales[0].astype(np.float64)


def dequantize(q, scales, group):
    return q * np.repeat(scales, group, axis=1)[:, :q.shape[1]]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("llm_opt")
    parser.add_argument("--mode", choices=["w4", "w8"], required=True)
    parser.add_argument("--group-size", type=int, default=16)
    parser.add_argument("--natural-order", action="store_true",
                        help="gptq-act-order=false (channels first to last)")
    parser.add_argument("--work", required=True, help="a file to write the MLIR to")
    args = parser.parse_args()
    bits = 4 if args.mode == "w4" else 8
    rng = np.random.default_rng(7)
    k, n, rows = 64, 24, 512
    mixing = rng.normal(size=(k, k)) * 0.3 + np.eye(k)
    # Channels of unequal energy, as a transformer's (a few outliers).
    energy = np.exp(rng.normal(size=k))
    x = ((rng.normal(size=(rows, k)) @ mixing) * energy).astype(np.float32)
    x[:, 5] = 0  # a channel no input reaches
    w = rng.normal(size=(k, n)).astype(np.float32)
    gram = (x.T.astype(np.float64) @ x.astype(np.float64)).astype(np.float32)
    group = args.group_size if bits == 4 else k
    with open(args.work, "w") as f:
        f.write(f"func.func @f(%x: tensor<{rows}x{k}xf32>) -> tensor<{rows}x{n}xf32> {{\n"
                f"  %w = llm.constant {mlir_dense(w)} : tensor<{k}x{n}xf32>\n"
                f"  %y = llm.matmul %x, %w {{llm.act_gram = {mlir_dense(gram)} : tensor<{k}x{k}xf32>}}"
                f" : (tensor<{rows}x{k}xf32>, tensor<{k}x{n}xf32>) -> tensor<{rows}x{n}xf32>\n"
                f"  return %y : tensor<{rows}x{n}xf32>\n}}\n")
    act_order = not args.natural_order
    q, s = decode(run_pass(args.llm_opt, args.work, args.mode, args.group_size, "gptq", act_order),
                  n, k, bits, group)
    q_rtn, s_rtn = decode(run_pass(args.llm_opt, args.work, args.mode, args.group_size, "rtn"), n, k, bits, group)
    q_ref, s_ref = reference_gptq(w.T, gram, bits, group, act_order)

    def output_error(w_hat_rows):
        diff = x.astype(np.float64) @ (w.T.astype(np.float64) - w_hat_rows).T
        return float((diff ** 2).sum())

    e_pass = output_error(dequantize(q, s, group))
    e_ref = output_error(dequantize(q_ref, s_ref, group))
    e_rtn = output_error(dequantize(q_rtn, s_rtn, group))
    same = float((q == q_ref).mean())
    checks = []
    if act_order:
        q_nat, s_nat = decode(run_pass(args.llm_opt, args.work, args.mode, args.group_size, "gptq",
                                       act_order=False), n, k, bits, group)
        e_nat = output_error(dequantize(q_nat, s_nat, group))
        checks.append((f"output error / natural order's: {e_pass / e_nat:.3f}", e_pass < e_nat))
    checks += [
        (f"integers equal to the reference's: {same:.4f}", same >= 0.99),
        (f"output error {e_pass:.4g} vs reference {e_ref:.4g}", abs(e_pass - e_ref) <= 0.02 * e_ref),
        (f"output error / round-to-nearest's: {e_pass / e_rtn:.3f}", e_pass < 0.8 * e_rtn),
        ("the dead channel is zero", bool((q[:, 5] == 0).all())),
    ]
    failed = 0
    for text, ok in checks:
        print(("PASS " if ok else "FAIL ") + text)
        failed += not ok
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
