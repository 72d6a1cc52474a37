#!/usr/bin/env python3
"""Writes recurrent models and their references:

    make-recurrent.py OUT_DIR

torch/ : torch's nn.LSTM (2 layers, bidirectional, batch_first, given h0
         and c0), nn.GRU (bidirectional: ONNX GRU with linear_before_reset)
         and nn.RNN (relu) in one model, exported at opset 14; inputs x, h0,
         c0 and torch's outputs lstm, lstm_h, lstm_c, gru, gru_h, rnn.
onnx/  : ONNX's own forms that torch does not write, against numpy's
         reading of ONNX's equations: LSTM bidirectional with peepholes,
         clip, initial states and sequence_lens (rows shorter than the
         sequence); GRU reverse with linear_before_reset 0 and
         sequence_lens; RNN with HardSigmoid(alpha, beta) and layout 1.
         Inputs x, xb (batch-major), lens; outputs y0..y6.
"""
import os
import sys

import numpy as np

SEQ, BATCH, INPUT, HIDDEN = 5, 3, 4, 6


def torch_model(out):
    import torch

    class Recurrent(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(INPUT, HIDDEN, num_layers=2, bidirectional=True,
                                      batch_first=True)
            self.gru = torch.nn.GRU(INPUT, HIDDEN, bidirectional=True)
            self.rnn = torch.nn.RNN(INPUT, HIDDEN, nonlinearity="relu")

        def forward(self, x, h0, c0):
            lstm, (lstm_h, lstm_c) = self.lstm(x, (h0, c0))
            gru, gru_h = self.gru(x.transpose(0, 1))
            rnn, _ = self.rnn(x.transpose(0, 1))
            return lstm, lstm_h, lstm_c, gru, gru_h, rnn

    torch.manual_seed(0)
    model = Recurrent().eval()
    x = torch.randn(BATCH, SEQ, INPUT)
    h0 = torch.randn(4, BATCH, HIDDEN)
    c0 = torch.randn(4, BATCH, HIDDEN)
    names = ["lstm", "lstm_h", "lstm_c", "gru", "gru_h", "rnn"]
    os.makedirs(out, exist_ok=True)
    with torch.no_grad():
        refs = model(x, h0, c0)
        torch.onnx.export(model, (x, h0, c0), os.path.join(out, "model.onnx"),
                          input_names=["x", "h0", "c0"], output_names=names,
                          opset_version=14)
    for name, value in [("x", x), ("h0", h0), ("c0", c0), *zip(names, refs)]:
        np.save(os.path.join(out, f"{name}.npy"), value.numpy())


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def run_steps(x, lens, reverse, step, state):
    """ONNX's recurrence over x [S, B, I] with per-row lengths: a row's steps
    from its length on keep the state and output zeros."""
    ys = np.zeros((x.shape[0],) + state[0].shape, np.float32)
    order = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    for t in order:
        new = step(x[t], *state)
        valid = (t < lens)[:, None]
        state = tuple(np.where(valid, n, s) for n, s in zip(new, state))
        ys[t] = np.where(valid, new[0], 0)
    return ys, state


def lstm_step(w, r, b, p, clip):
    def step(xt, h, c):
        g = xt @ w.T + h @ r.T + b[:4 * HIDDEN] + b[4 * HIDDEN:]
        gi, go, gf, gc = np.split(g, 4, axis=-1)
        pi, po, pf = np.split(p, 3)
        bound = lambda v: np.clip(v, -clip, clip)
        i = sigmoid(bound(gi + pi * c))
        f = sigmoid(bound(gf + pf * c))
        cell = f * c + i * np.tanh(bound(gc))
        o = sigmoid(bound(go + po * cell))
        return o * np.tanh(cell), cell
    return step


def gru_step(w, r, b):
    def step(xt, h):
        wz, wr, wh = np.split(w, 3)
        rz, rr, rh = np.split(r, 3)
        bw, br = np.split(b, 2)
        bwz, bwr, bwh = np.split(bw, 3)
        brz, brr, brh = np.split(br, 3)
        z = sigmoid(xt @ wz.T + h @ rz.T + bwz + brz)
        reset = sigmoid(xt @ wr.T + h @ rr.T + bwr + brr)
        cand = np.tanh(xt @ wh.T + (reset * h) @ rh.T + brh + bwh)
        return ((1 - z) * cand + z * h,)
    return step


def rnn_step(w, r, alpha, beta):
    def step(xt, h):
        return (np.clip(alpha * (xt @ w.T + h @ r.T) + beta, 0, 1),)
    return step


def onnx_model(out):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    f32 = lambda *shape: (0.5 * rng.standard_normal(shape)).astype(np.float32)
    x = f32(SEQ, BATCH, INPUT)
    lens = np.array([5, 2, 4], dtype=np.int32)
    lw, lr, lb, lp = f32(2, 4 * HIDDEN, INPUT), f32(2, 4 * HIDDEN, HIDDEN), \
        f32(2, 8 * HIDDEN), f32(2, 3 * HIDDEN)
    h0, c0 = f32(2, BATCH, HIDDEN), f32(2, BATCH, HIDDEN)
    gw, gr, gb = f32(1, 3 * HIDDEN, INPUT), f32(1, 3 * HIDDEN, HIDDEN), f32(1, 6 * HIDDEN)
    rw, rr = f32(1, HIDDEN, INPUT), f32(1, HIDDEN, HIDDEN)
    clip, alpha, beta = 0.8, 0.3, 0.4

    refs = []
    ys, hs, cs = [], [], []
    for d, reverse in enumerate([False, True]):
        y, (h, c) = run_steps(x, lens, reverse, lstm_step(lw[d], lr[d], lb[d], lp[d], clip),
                              (h0[d], c0[d]))
        ys.append(y)
        hs.append(h)
        cs.append(c)
    refs += [np.stack(ys, 1), np.stack(hs), np.stack(cs)]
    y, (h,) = run_steps(x, lens, True, gru_step(gw[0], gr[0], gb[0]),
                        (np.zeros((BATCH, HIDDEN), np.float32),))
    refs += [y[:, None], h[None]]
    y, (h,) = run_steps(x, np.full(BATCH, SEQ), False, rnn_step(rw[0], rr[0], alpha, beta),
                        (np.zeros((BATCH, HIDDEN), np.float32),))
    # layout 1: Y [B, S, 1, H], Y_h [B, 1, H]
    refs += [y[:, None].transpose(2, 0, 1, 3), h[:, None]]

    inits = [numpy_helper.from_array(v, n) for n, v in
             [("lw", lw), ("lr", lr), ("lb", lb), ("lp", lp), ("h0", h0), ("c0", c0),
              ("gw", gw), ("gr", gr), ("gb", gb), ("rw", rw), ("rr", rr)]]
    nodes = [
        helper.make_node("LSTM", ["x", "lw", "lr", "lb", "lens", "h0", "c0", "lp"],
                         ["y0", "y1", "y2"], hidden_size=HIDDEN, direction="bidirectional",
                         clip=clip),
        helper.make_node("GRU", ["x", "gw", "gr", "gb", "lens"], ["y3", "y4"],
                         hidden_size=HIDDEN, direction="reverse"),
        helper.make_node("RNN", ["xb", "rw", "rr"], ["y5", "y6"], hidden_size=HIDDEN,
                         activations=["HardSigmoid"], activation_alpha=[alpha],
                         activation_beta=[beta], layout=1),
    ]
    graph = helper.make_graph(
        nodes, "recurrent",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape)),
         helper.make_tensor_value_info("xb", TensorProto.FLOAT, [BATCH, SEQ, INPUT]),
         helper.make_tensor_value_info("lens", TensorProto.INT32, [BATCH])],
        [helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, list(ref.shape))
         for i, ref in enumerate(refs)],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    os.makedirs(out, exist_ok=True)
    onnx.save(model, os.path.join(out, "model.onnx"))
    np.save(os.path.join(out, "x.npy"), x)
    np.save(os.path.join(out, "xb.npy"), np.ascontiguousarray(x.transpose(1, 0, 2)))
    np.save(os.path.join(out, "lens.npy"), lens)
    for i, ref in enumerate(refs):
        np.save(os.path.join(out, f"y{i}.npy"), ref.astype(np.float32))


def main(out):
    torch_model(os.path.join(out, "torch"))
    onnx_model(os.path.join(out, "onnx"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
