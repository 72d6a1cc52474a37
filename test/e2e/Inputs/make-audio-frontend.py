#!/usr/bin/env python3
"""Writes one graph of ONNX's signal ops, with numpy references:

    make-audio-frontend.py OUT_DIR   -> model.onnx and one .npy per input/output

logmel   a speech model's front end (Whisper-style): STFT of the audio
         (frame 64, hop 16, a periodic HannWindow, onesided), the power
         spectrum, MatMul by MelWeightMatrix (16 bands, 16 kHz, 0-8 kHz),
         Log10 of max(., 1e-10)
         (reference: numpy's rfft of the windowed frames, the mel filters as
         ONNX's reference builds them)
dft      a complex signal's DFT along axis 1, zero-padded to 12 points
         (reference: np.fft.fft)
idft     the inverse DFT of a complex signal (np.fft.ifft)
rfft     a real signal's onesided DFT, truncated to 16 points (np.fft.rfft)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from npyio import save_arrays

F32 = np.float32


def mel_matrix(mels, dft_length, rate, low, high):
    """ONNX's reference MelWeightMatrix."""
    spectrum = dft_length // 2 + 1
    bins = np.arange(0, mels + 2)
    low_mel = 2595 * np.log10(1 + F32(low) / 700)
    high_mel = 2595 * np.log10(1 + F32(high) / 700)
    step = (high_mel - low_mel) / bins.shape[0]
    bins = bins * step + low_mel
    bins = 700 * (np.power(10, (bins / 2595)) - 1)
    bins = (((dft_length + 1) * bins) // rate).astype(int)
    out = np.zeros((spectrum, mels))
    for i in range(mels):
        left, center, right = bins[i], bins[i + 1], bins[i + 2]
        if center == left:
            out[center, i] = 1
        else:
            for j in range(left, center + 1):
                out[j, i] = (j - left) / (center - left)
        for j in range(center, right):
            out[j, i] = (right - j) / (right - center)
    return out


def as_pairs(z):
    return np.stack([z.real, z.imag], -1)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(5)
    nodes, inputs, outputs, inits, arrays = [], [], [], [], {}

    def graph_input(name, array):
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, array.shape))
        arrays[name] = array

    def scalar(name, value, dtype=np.int64):
        inits.append(numpy_helper.from_array(np.array(value, dtype), name))

    def output(name, array):
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, array.shape))
        arrays[name] = array

    # logmel
    frame, hop, mels, rate = 64, 16, 16, 16000
    audio = (0.5 * np.sin(2 * np.pi * 440 * np.arange(400) / rate)[None]
             + 0.1 * rng.standard_normal((2, 400))).astype(F32)
    graph_input("audio", audio)
    scalar("axes", [2])
    scalar("hop", hop)
    scalar("frame", frame)
    scalar("mels", mels)
    scalar("rate", rate)
    scalar("low", 0.0, F32)
    scalar("high", 8000.0, F32)
    scalar("floor", 1e-10, F32)
    scalar("ln10", np.log(10.0), F32)
    nodes += [
        helper.make_node("Unsqueeze", ["audio", "axes"], ["signal"]),
        helper.make_node("HannWindow", ["frame"], ["window"]),
        helper.make_node("STFT", ["signal", "hop", "window"], ["spec"]),
        helper.make_node("ReduceSumSquare", ["spec"], ["power"], axes=[-1], keepdims=0),
        helper.make_node("MelWeightMatrix", ["mels", "frame", "rate", "low", "high"], ["mel"]),
        helper.make_node("MatMul", ["power", "mel"], ["melspec"]),
        helper.make_node("Max", ["melspec", "floor"], ["clamped"]),
        helper.make_node("Log", ["clamped"], ["ln"]),
        helper.make_node("Div", ["ln", "ln10"], ["logmel"]),
    ]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame) / frame)
    count = (400 - frame) // hop + 1
    frames = np.stack([audio[:, f * hop:f * hop + frame] for f in range(count)], 1)
    power = np.abs(np.fft.rfft(frames.astype(np.float64) * window, axis=-1)) ** 2
    output("logmel", np.log10(np.maximum(power @ mel_matrix(mels, frame, rate, 0.0, 8000.0),
                                         1e-10)))

    # dft: complex, zero-padded
    x = rng.standard_normal((3, 10, 2)).astype(F32)
    graph_input("dft_x", x)
    scalar("twelve", 12)
    nodes.append(helper.make_node("DFT", ["dft_x", "twelve"], ["dft"], axis=1))
    output("dft", as_pairs(np.fft.fft(x[..., 0] + 1j * x[..., 1], n=12, axis=1)))

    # idft
    x = rng.standard_normal((2, 8, 2)).astype(F32)
    graph_input("idft_x", x)
    nodes.append(helper.make_node("DFT", ["idft_x"], ["idft"], axis=1, inverse=1))
    output("idft", as_pairs(np.fft.ifft(x[..., 0] + 1j * x[..., 1], axis=1)))

    # rfft: real, onesided, truncated
    x = rng.standard_normal((2, 20, 1)).astype(F32)
    graph_input("rfft_x", x)
    scalar("sixteen", 16)
    nodes.append(helper.make_node("DFT", ["rfft_x", "sixteen"], ["rfft"], axis=1, onesided=1))
    output("rfft", as_pairs(np.fft.rfft(x[:, :16, 0], axis=1)))

    graph = helper.make_graph(nodes, "audio_frontend", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    # Not full_check: ONNX 1.12's shape inference of STFT misses its frames.
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "model.onnx"))
    save_arrays(out, arrays)
    print(f"make-audio-frontend: {len(outputs)} outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
