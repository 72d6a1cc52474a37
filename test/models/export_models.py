#!/usr/bin/env python3
"""Exports the small transformer models llmc is tested on from plain torch.nn
definitions, with torch's own outputs as the reference.

    /usr/bin/python3 test/models/export_models.py --model gpt2|bert|llama --opset 17 --out DIR
        [--seq 16] [--batch 1] [--dynamic] [--seed 0]

writes DIR/model.onnx, DIR/<input>.npy (a random input) and DIR/<output>.npy
(torch's output on it, eval mode, no grad). Everything is seeded, so the same
arguments give the same weights, inputs and references. --dynamic marks the
batch and sequence dimensions dynamic in the exported graph.

A model is a `ModelSpec` in MODELS: a builder, its example inputs and the ONNX
names of its inputs and outputs (and, where eval mode is not what the
exported graph computes, how to get torch's reference).
"""
import argparse
import hashlib
import importlib.util
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

# --------------------------------------------------------------------------
# The export cache. Exports are deterministic, and the tests export the same
# few models many times: with LLMC_EXPORT_CACHE=DIR (lit sets it to a folder
# of the build), an export is kept under DIR by a hash of this script, of
# where torch, onnx and numpy are installed (and when) and of the arguments
# other than --out; a later export with the same arguments copies it instead
# of importing torch (2 s) and tracing.
# --------------------------------------------------------------------------
CACHE_ENV = "LLMC_EXPORT_CACHE"


def _out_and_key(argv):
    """--out's value and the cache key of the other arguments, or None when
    there is no cache or no --out (argparse then says what is wrong)."""
    cache = os.environ.get(CACHE_ENV)
    if not cache:
        return None
    out, rest, i = None, [], 0
    while i < len(argv):
        if argv[i] == "--out" and i + 1 < len(argv):
            out, i = argv[i + 1], i + 2
            continue
        if argv[i].startswith("--out="):
            out = argv[i][len("--out="):]
        else:
            rest.append(argv[i])
        i += 1
    if out is None:
        return None
    digest = hashlib.sha256()
    with open(os.path.abspath(__file__), "rb") as script:
        digest.update(script.read())
    for package in ("torch", "onnx", "numpy"):  # their installs, not imported
        spec = importlib.util.find_spec(package)
        if spec and spec.origin:
            digest.update(f"{spec.origin} {os.path.getmtime(spec.origin)}".encode())
    digest.update("\0".join(rest).encode())
    return out, os.path.join(cache, digest.hexdigest()[:32])


def _copy_export(source, out):
    os.makedirs(out, exist_ok=True)
    for name in sorted(os.listdir(source)):
        if name != "summary.txt":
            shutil.copy2(os.path.join(source, name), os.path.join(out, name))


def _print_summary(summary, out):
    """Prints an export's summary line, its {model} placeholder made
    --out's model.onnx (the summary a cache entry keeps has no folder)."""
    print(summary.replace("{model}", os.path.join(out, "model.onnx")))


def _holds_export(entry):
    """Whether a cache entry holds an export (an entry appears whole, by a
    rename, with its summary)."""
    return os.path.isfile(os.path.join(entry, "summary.txt"))


def _serve_from_cache(argv):
    """Copies a cached export into --out and prints its summary line; False
    when there is none."""
    found = _out_and_key(argv)
    if not found or not _holds_export(found[1]):
        return False
    out, entry = found
    _copy_export(entry, out)
    with open(os.path.join(entry, "summary.txt")) as summary:
        _print_summary(summary.read().rstrip("\n"), out)
    return True


# Shell words that end an export's arguments on a lit RUN line.
_SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "2>", "2>&1", "&>", "<"}


def _exports_of_tests(test_dir):
    """The export_models.py argument lists (without --out) of the lit RUN
    lines under `test_dir` (not in Inputs folders below it, which hold no
    tests), in order, each once: a RUN line's arguments up
    to its first shell operator, where none holds a lit substitution
    (%...) after --out's is dropped and none sets its own cache."""
    import re
    import shlex

    found = {}
    for folder, folders, files in os.walk(test_dir):
        folders[:] = sorted(f for f in folders if f != "Inputs")  # as lit's excludes
        for name in sorted(files):
            if not name.endswith(".test"):
                continue
            with open(os.path.join(folder, name), errors="replace") as f:
                text = f.read()
            commands, current = [], ""
            for line in text.splitlines():
                match = re.match(r"\s*(?:#|//|;)\s*RUN:(.*)$", line)
                if not match:
                    continue
                part = match.group(1).strip()
                if part.endswith("\\"):
                    current += part[:-1] + " "
                    continue
                commands.append(current + part)
                current = ""
            for command in commands:
                try:
                    words = shlex.split(command)
                except ValueError:
                    continue
                for i, word in enumerate(words):
                    if not word.endswith("export_models.py"):
                        continue
                    if any(w.startswith(CACHE_ENV + "=") for w in words[:i]):
                        break
                    args = []
                    for w in words[i + 1:]:
                        if w in _SHELL_OPERATORS or w.startswith((">", "2>", "|")):
                            break
                        args.append(w)
                    if "--out" in args and args.index("--out") + 1 < len(args):
                        del args[args.index("--out"):args.index("--out") + 2]
                    if args and not any("%" in a for a in args):
                        found.setdefault("\0".join(args), args)
    return list(found.values())


def _prefill(argv):
    """--prefill TEST_DIR [--jobs N]: exports into $LLMC_EXPORT_CACHE every
    export the lit tests under TEST_DIR ask for that it does not hold yet,
    in N worker processes (default 2) that import torch once each, instead
    of a process per test that imports it (1.7 s of CPU) and exports. An
    export that fails is left to its test, which then reports it. Prints
    one summary line."""
    import json
    import subprocess

    if not os.environ.get(CACHE_ENV):
        print(f"export_models: error: --prefill needs {CACHE_ENV}", file=sys.stderr)
        return 2
    jobs = 2
    if len(argv) == 3 and argv[1] == "--jobs" and argv[2].isdigit():
        jobs, argv = max(1, int(argv[2])), argv[:1]
    if len(argv) != 1 or not os.path.isdir(argv[0]):
        print("usage: export_models.py --prefill TEST_DIR [--jobs N]", file=sys.stderr)
        return 2

    def cached(args):
        return _holds_export(_out_and_key(args + ["--out", "-"])[1])

    wanted = _exports_of_tests(argv[0])
    missing = [args for args in wanted if not cached(args)]
    workers = [subprocess.Popen([sys.executable, os.path.abspath(__file__),
                                 "--prefill-worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, text=True)
               for _ in range(min(jobs, len(missing)))]
    for start, worker in enumerate(workers):
        worker.stdin.write(json.dumps(missing[start::len(workers)]))
        worker.stdin.close()
    for worker in workers:
        worker.wait()
    stored = sum(cached(args) for args in missing)
    print(f"export_models: {len(wanted)} exports in {argv[0]}'s tests, "
          f"{len(wanted) - len(missing)} already in the cache, {stored} exported "
          f"now, {len(missing) - stored} left to their tests")
    return 0


if __name__ == "__main__" and sys.argv[1:2] == ["--prefill"]:
    sys.exit(_prefill(sys.argv[2:]))
if __name__ == "__main__" and _serve_from_cache(sys.argv[1:]):
    sys.exit(0)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


# --------------------------------------------------------------------------
# GPT-2: learned positions, pre-LayerNorm blocks, fused qkv, exact GELU,
# LM head tied to the token embedding.
# --------------------------------------------------------------------------
@dataclass
class GPT2Config:
    vocab_size: int = 96
    max_positions: int = 64
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    mlp_ratio: int = 4


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.n_heads = config.n_heads
        self.head_dim = config.d_model // config.n_heads
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.proj = nn.Linear(config.d_model, config.d_model)
        self.attn_dropout = nn.Dropout(0.1)  # a no-op in eval mode
        mask = torch.tril(torch.ones(config.max_positions, config.max_positions))
        self.register_buffer("causal_mask", mask.view(1, 1, config.max_positions,
                                                      config.max_positions))

    def forward(self, x):
        batch, seq, d_model = x.shape
        q, k, v = self.qkv(x).split(d_model, dim=2)
        # [B, T, C] -> [B, H, T, D]
        q = q.view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)
        k = k.view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)
        v = v.view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        scores = scores.masked_fill(self.causal_mask[:, :, :seq, :seq] == 0,
                                    float("-inf"))
        weights = self.attn_dropout(F.softmax(scores, dim=-1))
        y = (weights @ v).transpose(1, 2).contiguous().view(batch, seq, d_model)
        return self.proj(y)


class GPT2MLP(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        hidden = config.mlp_ratio * config.d_model
        self.fc = nn.Linear(config.d_model, hidden)
        self.act = nn.GELU()  # exact (erf) GELU
        self.proj = nn.Linear(hidden, config.d_model)

    def forward(self, x):
        return self.proj(self.act(self.fc(x)))


class GPT2Block(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.d_model)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.d_model)
        self.mlp = GPT2MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.wpe = nn.Embedding(config.max_positions, config.d_model)
        self.blocks = nn.ModuleList(GPT2Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)

    def forward(self, input_ids):
        seq = input_ids.shape[1]
        # Computed in the graph (Shape/Gather/Range, or constants once the
        # shape is static), not baked in as a weight.
        positions = torch.arange(seq, dtype=torch.long, device=input_ids.device)
        h = self.wte(input_ids) + self.wpe(positions).unsqueeze(0)
        for block in self.blocks:
            h = block(h)
        h = self.ln_f(h)
        return h @ self.wte.weight.t()  # LM head tied to the token embedding


def _randomize_layer_norms(model: nn.Module, generator: torch.Generator):
    """LayerNorm initializes to weight 1, bias 0; random values make a test
    notice a swapped or dropped scale or bias."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.LayerNorm):
                module.weight.copy_(1.0 + 0.1 * torch.randn(module.weight.shape,
                                                            generator=generator))
                module.bias.copy_(0.1 * torch.randn(module.bias.shape,
                                                    generator=generator))


def build_gpt2(args) -> nn.Module:
    config = GPT2Config()
    if args.seq > config.max_positions:
        raise SystemExit(f"export_models: error: --seq {args.seq} exceeds the "
                         f"model's {config.max_positions} positions")
    model = GPT2(config)
    generator = torch.Generator().manual_seed(args.seed + 1)
    _randomize_layer_norms(model, generator)
    return model


def gpt2_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    vocab = GPT2Config().vocab_size
    ids = torch.randint(0, vocab, (args.batch, args.seq), dtype=torch.long,
                        generator=generator)
    return {"input_ids": ids}


# --------------------------------------------------------------------------
# BERT: torch's own nn.TransformerEncoder (batch_first, post-LayerNorm, exact
# GELU) over learned token and position embeddings, with an attention mask
# input (1 = token, 0 = padding) as Hugging Face's BERT takes it.
# --------------------------------------------------------------------------
@dataclass
class BertConfig:
    vocab_size: int = 96
    max_positions: int = 64
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    ffn_dim: int = 256


class Bert(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.d_model)
        self.position_embeddings = nn.Embedding(config.max_positions, config.d_model)
        self.embeddings_norm = nn.LayerNorm(config.d_model, eps=1e-12)
        layer = nn.TransformerEncoderLayer(
            config.d_model, config.n_heads, dim_feedforward=config.ffn_dim,
            dropout=0.0, activation="gelu", batch_first=True)
        # No nested tensors: see bert_reference.
        self.encoder = nn.TransformerEncoder(layer, config.n_layers,
                                             enable_nested_tensor=False)

    def forward(self, input_ids, attention_mask):
        seq = input_ids.shape[1]
        positions = torch.arange(seq, dtype=torch.long, device=input_ids.device)
        h = self.word_embeddings(input_ids) + self.position_embeddings(positions).unsqueeze(0)
        h = self.embeddings_norm(h)
        return self.encoder(h, src_key_padding_mask=attention_mask == 0)


def build_bert(args) -> nn.Module:
    config = BertConfig()
    if args.seq > config.max_positions:
        raise SystemExit(f"export_models: error: --seq {args.seq} exceeds the "
                         f"model's {config.max_positions} positions")
    model = Bert(config)
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


def bert_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    ids = torch.randint(0, BertConfig().vocab_size, (args.batch, args.seq),
                        dtype=torch.long, generator=generator)
    # The last sequence is padded at its end (a quarter of it, at least one
    # position, never all of it); earlier ones less, so rows differ.
    mask = torch.ones(args.batch, args.seq, dtype=torch.long)
    for b in range(args.batch):
        padding = max(1, args.seq // 4) >> (args.batch - 1 - b)
        if 0 < padding < args.seq:
            mask[b, args.seq - padding:] = 0
    return {"input_ids": ids, "attention_mask": mask}


def bert_reference(model: nn.Module, inputs: Dict[str, torch.Tensor]):
    """torch's output as the exported graph computes it. In eval mode under
    no_grad, nn.TransformerEncoder takes its fast path: with nested tensors
    (on by default) and a padding mask, it drops the padded positions and
    returns zeros there (or a shorter sequence), while the exported graph
    attends from padded positions like from any other. So the model turns
    nested tensors off, and the reference comes from the plain path, taken in
    training mode (dropout is 0, so it computes the same thing), no grad."""
    model.train()
    try:
        with torch.no_grad():
            return model(*inputs.values())
    finally:
        model.eval()


# --------------------------------------------------------------------------
# Llama: pre-RMSNorm blocks, rotary position embeddings computed in forward
# from the positions (rotate_half by Slice/Neg/Concat), grouped-query
# attention (4 query heads share 2 key/value heads, repeated by
# expand/reshape), a causal mask, a SwiGLU MLP, no biases, untied LM head.
# --------------------------------------------------------------------------
@dataclass
class LlamaConfig:
    vocab_size: int = 96
    max_positions: int = 64
    d_model: int = 64
    n_heads: int = 4
    n_kv_heads: int = 2
    n_layers: int = 2
    ffn_dim: int = 128
    rope_theta: float = 10000.0
    eps: float = 1e-6


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        return x * torch.rsqrt(variance + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaAttention(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.n_heads = config.n_heads
        self.n_kv_heads = config.n_kv_heads
        self.head_dim = config.d_model // config.n_heads
        self.q_proj = nn.Linear(config.d_model, config.n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(config.d_model, config.n_kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(config.d_model, config.n_kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(config.n_heads * self.head_dim, config.d_model, bias=False)

    def repeat_kv(self, x):
        # [B, KV, T, D] -> [B, KV, R, T, D] -> [B, H, T, D]
        batch, kv_heads, seq, head_dim = x.shape
        repeats = self.n_heads // self.n_kv_heads
        x = x[:, :, None, :, :].expand(batch, kv_heads, repeats, seq, head_dim)
        return x.reshape(batch, kv_heads * repeats, seq, head_dim)

    def heads(self, x, cos, sin):
        """q, k and v [B, H, T, D]: rotary on q and k, kv heads repeated."""
        batch, seq, _ = x.shape
        q = self.q_proj(x).view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(batch, seq, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(batch, seq, self.n_kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k, v = self.repeat_kv(k), self.repeat_kv(v)
        return q, k, v

    def forward(self, x, cos, sin, mask):
        batch, seq, _ = x.shape
        q, k, v = self.heads(x, cos, sin)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        scores = scores.masked_fill(mask, float("-inf"))
        y = F.softmax(scores, dim=-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(batch, seq, -1))


class LlamaMLP(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(config.d_model, config.ffn_dim, bias=False)
        self.up_proj = nn.Linear(config.d_model, config.ffn_dim, bias=False)
        self.down_proj = nn.Linear(config.ffn_dim, config.d_model, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaBlock(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.input_norm = RMSNorm(config.d_model, config.eps)
        self.attn = LlamaAttention(config)
        self.post_attention_norm = RMSNorm(config.d_model, config.eps)
        self.mlp = LlamaMLP(config)

    def forward(self, x, cos, sin, mask):
        x = x + self.attn(self.input_norm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_norm(x))


class Llama(nn.Module):
    def __init__(self, config: LlamaConfig):
        super().__init__()
        self.config = config
        head_dim = config.d_model // config.n_heads
        self.embed_tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(LlamaBlock(config) for _ in range(config.n_layers))
        self.norm = RMSNorm(config.d_model, config.eps)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        inv_freq = 1.0 / (config.rope_theta **
                          (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, input_ids):
        seq = input_ids.shape[1]
        # Rotary angles from the positions, in the graph: [T, D/2] -> [T, D].
        positions = torch.arange(seq, device=input_ids.device).to(torch.float32)
        freqs = positions[:, None] * self.inv_freq[None, :]
        angles = torch.cat((freqs, freqs), dim=-1)
        h = self.embed_tokens(input_ids)
        # As in Hugging Face's Llama: angles in f32, cos and sin in the
        # activations' type (a no-op in fp32; a Cast in a bf16 export).
        cos = angles.cos()[None, None].to(h.dtype)
        sin = angles.sin()[None, None].to(h.dtype)
        # True above the diagonal: a position sees itself and earlier ones.
        mask = torch.ones(seq, seq, dtype=torch.bool,
                          device=input_ids.device).triu(1)[None, None]
        for block in self.blocks:
            h = block(h, cos, sin, mask)
        return self.lm_head(self.norm(h))


# --------------------------------------------------------------------------
# gpt-oss-style attention (Hugging Face's eager form) on the Llama blocks:
# a learned sink logit per query head joins each row's softmax (the scores
# concatenated with the expanded sinks, the row maximum subtracted, softmax,
# the sink column dropped), grouped kv heads, sliding-window (4 positions,
# even layers) and full (odd layers) causal masks with left padding from
# attention_mask (Hugging Face's 4-D additive mask), rotary positions counted
# from the mask. Dense MLPs stand in for gpt-oss's mixture of experts.
# --------------------------------------------------------------------------
class GptOssAttention(LlamaAttention):
    def __init__(self, config: LlamaConfig):
        super().__init__(config)
        self.sinks = nn.Parameter(torch.zeros(config.n_heads))

    def forward(self, x, cos, sin, bias):
        batch, seq, _ = x.shape
        q, k, v = self.heads(x, cos, sin)
        w = torch.matmul(q, k.transpose(2, 3)) * self.head_dim ** -0.5 + bias
        sinks = self.sinks.reshape(1, -1, 1, 1).expand(batch, -1, seq, -1)
        combined = torch.cat([w, sinks], dim=-1)
        combined = combined - combined.max(dim=-1, keepdim=True).values
        probs = F.softmax(combined, dim=-1, dtype=combined.dtype)
        y = torch.matmul(probs[..., :-1], v)
        return self.o_proj(y.transpose(1, 2).reshape(batch, seq, -1))


def rotary_from_mask(attention_mask, inv_freq, dtype):
    """Rotary cos and sin [B, 1, T, D] at the positions counted from a
    left-padded attention_mask; angles in f32, cos and sin in `dtype`."""
    positions = (torch.cumsum(attention_mask, -1) - 1).clamp(min=0).float()
    freqs = positions[:, :, None] * inv_freq[None, None, :]
    angles = torch.cat((freqs, freqs), dim=-1)
    return angles.cos()[:, None].to(dtype), angles.sin()[:, None].to(dtype)


class GptOss(nn.Module):
    def __init__(self, config: LlamaConfig, window=4):
        super().__init__()
        self.config, self.window = config, window
        head_dim = config.d_model // config.n_heads
        self.embed_tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(LlamaBlock(config) for _ in range(config.n_layers))
        for block in self.blocks:
            block.attn = GptOssAttention(config)
        self.norm = RMSNorm(config.d_model, config.eps)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.register_buffer("inv_freq", 1.0 / (config.rope_theta ** (
            torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)), persistent=False)

    def forward(self, input_ids, attention_mask):
        h = self.embed_tokens(input_ids)
        cos, sin = rotary_from_mask(attention_mask, self.inv_freq, h.dtype)
        local = causal_padding_bias(attention_mask, h.dtype, self.window)
        full = causal_padding_bias(attention_mask, h.dtype)
        for index, block in enumerate(self.blocks):
            h = block(h, cos, sin, full if index % 2 else local)
        return self.lm_head(self.norm(h))


def build_gpt_oss(args) -> nn.Module:
    model = GptOss(LlamaConfig())
    generator = torch.Generator().manual_seed(args.seed + 1)
    _randomize_rms_norms(model, generator)
    with torch.no_grad():
        for block in model.blocks:
            block.attn.sinks.copy_(torch.randn(block.attn.sinks.shape, generator=generator))
    return model


# --------------------------------------------------------------------------
# Mixtral-style: the Llama blocks with each MLP a sparse mixture of experts
# in Hugging Face's eager form (MixtralSparseMoeBlock before transformers
# 4.50; Qwen2-MoE's and OLMoE's are the same loop): softmax over the router
# logits, the top 2 of 4 experts renormalized, and per expert a
# torch.where over the one-hot routing mask (NonZero in the export) picking
# its tokens, whose SwiGLU results, weighted, index_add_ back (a
# ScatterElements into zeros, then Add).
# --------------------------------------------------------------------------
class MixtralExpert(nn.Module):
    def __init__(self, d_model: int, ffn_dim: int):
        super().__init__()
        self.w1 = nn.Linear(d_model, ffn_dim, bias=False)
        self.w2 = nn.Linear(ffn_dim, d_model, bias=False)
        self.w3 = nn.Linear(d_model, ffn_dim, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class MixtralSparseMoeBlock(nn.Module):
    def __init__(self, config: LlamaConfig, experts: int = 4, top_k: int = 2):
        super().__init__()
        self.num_experts, self.top_k = experts, top_k
        self.gate = nn.Linear(config.d_model, experts, bias=False)
        self.experts = nn.ModuleList(MixtralExpert(config.d_model, config.ffn_dim // 2)
                                     for _ in range(experts))

    def forward(self, hidden_states):
        batch, seq, hidden_dim = hidden_states.shape
        hidden_states = hidden_states.view(-1, hidden_dim)
        router_logits = self.gate(hidden_states)
        routing_weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        routing_weights, selected_experts = torch.topk(routing_weights, self.top_k, dim=-1)
        routing_weights /= routing_weights.sum(dim=-1, keepdim=True)
        routing_weights = routing_weights.to(hidden_states.dtype)
        final_hidden_states = torch.zeros((batch * seq, hidden_dim), dtype=hidden_states.dtype,
                                          device=hidden_states.device)
        expert_mask = F.one_hot(selected_experts, num_classes=self.num_experts).permute(2, 1, 0)
        for expert_idx in range(self.num_experts):
            idx, top_x = torch.where(expert_mask[expert_idx])
            current_state = hidden_states[None, top_x].reshape(-1, hidden_dim)
            current_hidden_states = (self.experts[expert_idx](current_state)
                                     * routing_weights[top_x, idx, None])
            final_hidden_states.index_add_(0, top_x, current_hidden_states.to(hidden_states.dtype))
        return final_hidden_states.reshape(batch, seq, hidden_dim)


def build_mixtral(args) -> nn.Module:
    model = build_llama(args)
    for block in model.blocks:
        block.mlp = MixtralSparseMoeBlock(model.config)
    return model


def llama_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    ids = torch.randint(0, LlamaConfig().vocab_size, (args.batch, args.seq),
                        dtype=torch.long, generator=generator)
    return {"input_ids": ids}


def _randomize_rms_norms(model: nn.Module, generator: torch.Generator):
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, RMSNorm):
                module.weight.copy_(1.0 + 0.1 * torch.randn(module.weight.shape,
                                                            generator=generator))


def build_llama(args) -> nn.Module:
    config = LlamaConfig()
    if args.seq > config.max_positions:
        raise SystemExit(f"export_models: error: --seq {args.seq} exceeds the "
                         f"model's {config.max_positions} positions")
    model = Llama(config)
    _randomize_rms_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


# --------------------------------------------------------------------------
# GPT-NeoX-style: parallel attention and MLP residual, rotary embeddings on a
# quarter of each head (angles from an outer product, which torch exports as
# Einsum), positions from the attention mask by CumSum (left padding, as in
# batched generation), tanh GELU, untied LM head without bias.
# --------------------------------------------------------------------------
@dataclass
class NeoXConfig:
    vocab_size: int = 96
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    rotary_dims: int = 8
    rope_theta: float = 10000.0


class NeoXBlock(nn.Module):
    def __init__(self, config: NeoXConfig):
        super().__init__()
        self.n_heads = config.n_heads
        self.head_dim = config.d_model // config.n_heads
        self.rotary = config.rotary_dims
        self.ln_attn = nn.LayerNorm(config.d_model)
        self.ln_mlp = nn.LayerNorm(config.d_model)
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.out = nn.Linear(config.d_model, config.d_model)
        self.up = nn.Linear(config.d_model, 4 * config.d_model)
        self.down = nn.Linear(4 * config.d_model, config.d_model)

    def rope(self, x, cos, sin):
        r = self.rotary
        rotated, passed = x[..., :r], x[..., r:]
        x1, x2 = rotated[..., : r // 2], rotated[..., r // 2:]
        turned = torch.cat([-x2, x1], dim=-1)
        return torch.cat([rotated * cos + turned * sin, passed], dim=-1)

    def forward(self, x, cos, sin, bias):
        batch, seq, d_model = x.shape
        # NeoX packs q, k, v per head: [B, T, H, 3 * D].
        qkv = self.qkv(self.ln_attn(x)).view(batch, seq, self.n_heads, 3 * self.head_dim)
        qkv = qkv.permute(0, 2, 1, 3)
        q, k, v = qkv.split(self.head_dim, dim=-1)
        q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        attn = torch.matmul(F.softmax(scores + bias, dim=-1), v)
        attn = attn.permute(0, 2, 1, 3).reshape(batch, seq, d_model)
        mlp = self.down(F.gelu(self.up(self.ln_mlp(x)), approximate="tanh"))
        return x + self.out(attn) + mlp


class NeoX(nn.Module):
    def __init__(self, config: NeoXConfig):
        super().__init__()
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(NeoXBlock(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        r = config.rotary_dims
        self.register_buffer("inv_freq", 1.0 / config.rope_theta ** (
            torch.arange(0, r, 2, dtype=torch.float32) / r), persistent=False)

    def forward(self, input_ids, attention_mask):
        seq = input_ids.shape[1]
        positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)  # [B, T]
        h = self.embed(input_ids)
        # Angles in f32; cos, sin and the mask bias in the activations' type
        # (no-ops in fp32; Casts in a bf16 export), as Hugging Face does.
        angles = torch.einsum("bi,j->bij", positions.float(), self.inv_freq.float())
        angles = torch.cat([angles, angles], dim=-1)[:, None]  # [B, 1, T, r]
        cos, sin = angles.cos().to(h.dtype), angles.sin().to(h.dtype)
        causal = torch.tril(torch.ones(seq, seq, dtype=torch.bool))
        allowed = causal[None, None] & attention_mask[:, None, None, :].bool()
        # A finite minimum, not -inf: a padded query row masks every key and
        # softmax of equal scores is uniform, not NaN.
        bias = torch.where(allowed, torch.tensor(0.0, dtype=h.dtype),
                           torch.tensor(torch.finfo(h.dtype).min, dtype=h.dtype))
        for block in self.blocks:
            h = block(h, cos, sin, bias)
        return self.lm_head(self.ln_f(h))


def build_neox(args) -> nn.Module:
    model = NeoX(NeoXConfig())
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


def padding_mask(args, left: bool) -> torch.Tensor:
    """An attention mask (1 = token, 0 = padding) where row b has
    b * (seq // 4) padded positions (at most seq - 1), at its start (left
    padding, as in batched generation) or at its end."""
    mask = torch.ones(args.batch, args.seq, dtype=torch.long)
    for b in range(args.batch):
        pad = min(args.seq - 1, b * (args.seq // 4))
        if pad:
            mask[b, :pad] = 0 if left else 1
            mask[b, args.seq - pad:] = 1 if left else 0
    return mask


# --------------------------------------------------------------------------
# GPT-2 decode step with a KV cache: input_ids [B, T] after `past` cached
# positions; each layer's past keys and values come in as [B, H, past, D]
# and leave, with the new ones appended (Concat), as present_*. Positions
# start at the cache length (Shape of the past, Range).
# --------------------------------------------------------------------------
class CachedSelfAttention(CausalSelfAttention):
    def forward(self, x, past_k, past_v):
        batch, seq, d_model = x.shape
        q, k, v = self.qkv(x).split(d_model, dim=2)
        q = q.view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)
        k = k.view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)
        v = v.view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        total = k.shape[2]
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))
        # Query i (at position past + i) sees keys 0 .. past + i.
        mask = self.causal_mask[:, :, total - seq:total, :total]
        scores = scores.masked_fill(mask == 0, float("-inf"))
        y = (F.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(batch, seq, d_model)
        return self.proj(y), k, v


class GPT2Cached(GPT2):
    def __init__(self, config: GPT2Config):
        super().__init__(config)
        for block in self.blocks:
            attn = CachedSelfAttention(config)
            attn.load_state_dict(block.attn.state_dict())
            block.attn = attn

    def forward(self, input_ids, *past):
        seq = input_ids.shape[1]
        start = past[0].shape[2]
        positions = torch.arange(start, start + seq, dtype=torch.long)
        h = self.wte(input_ids) + self.wpe(positions).unsqueeze(0)
        presents = []
        for i, block in enumerate(self.blocks):
            a, k, v = block.attn(block.ln_1(h), past[2 * i], past[2 * i + 1])
            h = h + a
            h = h + block.mlp(block.ln_2(h))
            presents += [k, v]
        logits = self.ln_f(h) @ self.wte.weight.t()
        return (logits, *presents)


KV_PAST = 11


def kv_names(pattern: str, layers: int) -> List[str]:
    """`pattern` ({i}: the layer, {kind}: key or value) for each layer's key
    and value, in that order: a cached decoder's past inputs or present
    outputs."""
    return [pattern.format(i=i, kind=kind) for i in range(layers) for kind in ("key", "value")]


def build_gpt2_kv(args) -> nn.Module:
    config = GPT2Config()
    if args.seq + KV_PAST > config.max_positions:
        raise SystemExit(f"export_models: error: --seq {args.seq} + {KV_PAST} cached "
                         f"exceeds the model's {config.max_positions} positions")
    model = GPT2Cached(config)
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


def gpt2_kv_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    config = GPT2Config()
    head_dim = config.d_model // config.n_heads
    inputs = gpt2_inputs(args, generator)
    for name in kv_names("past_{kind}_{i}", config.n_layers):
        inputs[name] = torch.randn(args.batch, config.n_heads, KV_PAST, head_dim,
                                   generator=generator)
    return inputs


# --------------------------------------------------------------------------
# A Llama decode step with a KV cache as Hugging Face Optimum exports one
# (decoder_model.onnx with past): input_ids [B, T], attention_mask over the
# past and new positions [B, P + T] (left padding), position_ids [B, T], and
# per layer past_key_values.N.key/.value [B, KV, P, D] (grouped kv heads,
# before repeat_kv) that leave with the new keys and values appended as
# present.N.key/.value. The rotary angles are inv_freq @ position_ids, and
# the 4-D additive mask is built as _prepare_4d_causal_attention_mask_with_
# cache_position builds it: finfo.min above the diagonal (Trilu), times
# (key position > cache position), then padding keys set to finfo.min where
# the causal mask is 0. With --qk-norm, each head's q and k are RMS-normed
# over the head dim before the rotary embedding, as in Qwen3 and OLMo 2.
# --------------------------------------------------------------------------
class LlamaCachedAttention(LlamaAttention):
    def __init__(self, config: LlamaConfig, qk_norm: bool):
        super().__init__(config)
        self.q_norm = RMSNorm(self.head_dim, config.eps) if qk_norm else None
        self.k_norm = RMSNorm(self.head_dim, config.eps) if qk_norm else None

    def forward(self, x, cos, sin, bias, past_k, past_v):
        batch, seq, _ = x.shape
        q = self.q_proj(x).view(batch, seq, self.n_heads, self.head_dim)
        k = self.k_proj(x).view(batch, seq, self.n_kv_heads, self.head_dim)
        v = self.v_proj(x).view(batch, seq, self.n_kv_heads, self.head_dim)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
        scores = torch.matmul(q, self.repeat_kv(k).transpose(2, 3)) * self.head_dim ** -0.5
        probs = F.softmax(scores + bias, dim=-1, dtype=torch.float32).to(q.dtype)
        y = torch.matmul(probs, self.repeat_kv(v))
        return self.o_proj(y.transpose(1, 2).reshape(batch, seq, -1)), k, v


class LlamaCached(Llama):
    def __init__(self, config: LlamaConfig, qk_norm: bool):
        super().__init__(config)
        # The projections are the plain model's (same seed): given an empty
        # cache, all-ones mask and positions 0.., the logits are `llama`'s.
        for block in self.blocks:
            attn = LlamaCachedAttention(config, qk_norm)
            attn.load_state_dict(block.attn.state_dict(), strict=False)
            block.attn = attn

    def forward(self, input_ids, attention_mask, position_ids, *past):
        batch, seq = input_ids.shape
        start = past[0].shape[2]
        total = attention_mask.shape[1]
        h = self.embed_tokens(input_ids)
        dtype = h.dtype
        # Hugging Face's LlamaRotaryEmbedding: angles [B, T, D] in f32.
        inv_freq = self.inv_freq[None, :, None].float().expand(batch, -1, 1)
        freqs = (inv_freq @ position_ids[:, None, :].float()).transpose(1, 2)
        angles = torch.cat((freqs, freqs), dim=-1)
        cos, sin = angles.cos().to(dtype)[:, None], angles.sin().to(dtype)[:, None]
        minimum = torch.finfo(dtype).min
        cache_position = torch.arange(start, start + seq)
        mask = torch.full((seq, total), minimum, dtype=dtype)
        mask = torch.triu(mask, diagonal=1)
        mask = mask * (torch.arange(total) > cache_position.reshape(-1, 1))
        mask = mask[None, None, :, :].expand(batch, 1, -1, -1).clone()
        # (torch 1.13 cannot export a bf16 + int64 Add: the mask is cast.)
        padding = (mask + attention_mask[:, None, None, :].to(dtype)) == 0
        mask = mask.masked_fill(padding, minimum)
        presents = []
        for i, block in enumerate(self.blocks):
            a, k, v = block.attn(block.input_norm(h), cos, sin, mask,
                                 past[2 * i], past[2 * i + 1])
            h = h + a
            h = h + block.mlp(block.post_attention_norm(h))
            presents += [k, v]
        return (self.lm_head(self.norm(h)), *presents)


def build_llama_kv(args) -> nn.Module:
    config = LlamaConfig()
    if args.seq + KV_PAST > config.max_positions:
        raise SystemExit(f"export_models: error: --seq {args.seq} + {KV_PAST} cached "
                         f"exceeds the model's {config.max_positions} positions")
    model = LlamaCached(config, qk_norm=args.qk_norm)
    _randomize_rms_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


def llama_kv_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    """New tokens after KV_PAST cached positions; row b is left-padded by
    b * 3 positions of the cache (at most all of it)."""
    config = LlamaConfig()
    head_dim = config.d_model // config.n_heads
    total = KV_PAST + args.seq
    mask = torch.ones(args.batch, total, dtype=torch.long)
    for b in range(args.batch):
        mask[b, :min(KV_PAST, 3 * b)] = 0
    positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, KV_PAST:]
    inputs = {"input_ids": torch.randint(0, config.vocab_size, (args.batch, args.seq),
                                         dtype=torch.long, generator=generator),
              "attention_mask": mask, "position_ids": positions}
    for name in kv_names("past_key_values.{i}.{kind}", config.n_layers):
        inputs[name] = torch.randn(args.batch, config.n_kv_heads, KV_PAST, head_dim,
                                   generator=generator)
    return inputs


# --------------------------------------------------------------------------
# Registry and export.
# --------------------------------------------------------------------------
# --------------------------------------------------------------------------
# GPT-2 as a sequence classifier, the way Hugging Face's
# GPT2ForSequenceClassification computes it: a 4-D additive mask built from
# the causal mask and the attention mask by an in-place slice assignment
# (exported as ScatterND), and the score of each row's last token, found as
# the position before the first pad token (ArgMax; a row without padding
# wraps to its last position).
# --------------------------------------------------------------------------
class MaskedSelfAttention(CausalSelfAttention):
    def forward(self, x, mask):
        batch, seq, d_model = x.shape
        q, k, v = self.qkv(x).split(d_model, dim=2)
        q = q.view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)
        k = k.view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)
        v = v.view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim)) + mask
        y = (F.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(batch, seq, d_model)
        return self.proj(y)


CLS_LABELS = 3
PAD_ID = 0


class GPT2Classifier(GPT2):
    def __init__(self, config: GPT2Config):
        super().__init__(config)
        for block in self.blocks:
            attn = MaskedSelfAttention(config)
            attn.load_state_dict(block.attn.state_dict())
            block.attn = attn
        self.score = nn.Linear(config.d_model, CLS_LABELS, bias=False)

    def forward(self, input_ids, attention_mask):
        batch, seq = input_ids.shape
        # In the activations' type, as Hugging Face builds it.
        dtype = self.wte.weight.dtype
        minimum = torch.finfo(dtype).min
        mask = torch.full((seq, seq), minimum, dtype=dtype).triu(1)[None, None]
        mask = mask.expand(batch, 1, seq, seq).clone()
        padding = attention_mask[:, None, None, :] == 0
        mask[:, :, :, :seq] = mask[:, :, :, :seq].masked_fill(padding, minimum)
        positions = torch.arange(seq, dtype=torch.long, device=input_ids.device)
        h = self.wte(input_ids) + self.wpe(positions).unsqueeze(0)
        for block in self.blocks:
            h = h + block.attn(block.ln_1(h), mask)
            h = h + block.mlp(block.ln_2(h))
        logits = self.score(self.ln_f(h))
        last = torch.eq(input_ids, PAD_ID).int().argmax(-1) - 1
        last = last % seq
        return logits[torch.arange(batch, device=input_ids.device), last]


def build_gpt2_cls(args) -> nn.Module:
    model = GPT2Classifier(GPT2Config())
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


def gpt2_cls_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    ids = torch.randint(1, GPT2Config().vocab_size, (args.batch, args.seq),
                        dtype=torch.long, generator=generator)
    # Right padding with PAD_ID; row 0 has none.
    mask = padding_mask(args, left=False)
    ids[mask == 0] = PAD_ID
    return {"input_ids": ids, "attention_mask": mask}


# --------------------------------------------------------------------------
# GPT-2 scored as Hugging Face's GPT2LMHeadModel(labels=...) scores it, for
# perplexity: the logits of each position against the next token, label
# -100 ignored (padding): the mean cross-entropy (F.cross_entropy:
# SoftmaxCrossEntropyLoss at opset 12 and later) and each token's negative
# log-likelihood ([B, S - 1], reduction "none").
# --------------------------------------------------------------------------
IGNORE_INDEX = -100


class GPT2WithLoss(GPT2):
    def forward(self, input_ids, labels):
        logits = super().forward(input_ids)
        shift_logits = logits[:, :-1, :].contiguous()
        shift_labels = labels[:, 1:].contiguous()
        loss = F.cross_entropy(shift_logits.view(-1, shift_logits.size(-1)),
                               shift_labels.view(-1), ignore_index=IGNORE_INDEX)
        # Classes on axis 1 ([B, V, S - 1]: SoftmaxCrossEntropyLoss's NCd1
        # form). torch 1.13 exports nll_loss(log_softmax(x).transpose(1, 2))
        # as one SoftmaxCrossEntropyLoss of the untransposed, unsliced
        # logits, which is wrong (llmc says the labels' shape does not fit).
        token_nll = F.cross_entropy(shift_logits.transpose(1, 2), shift_labels,
                                    ignore_index=IGNORE_INDEX, reduction="none")
        return logits, loss, token_nll


def build_gpt2_loss(args) -> nn.Module:
    model = GPT2WithLoss(GPT2Config())
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


def gpt2_loss_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    ids = gpt2_inputs(args, generator)["input_ids"]
    # Labels are the ids, -100 where padding_mask pads (the ends of rows 1..).
    labels = ids.masked_fill(padding_mask(args, left=False) == 0, IGNORE_INDEX)
    return {"input_ids": ids, "labels": labels}


# --------------------------------------------------------------------------
# A sentence-embedding model over the BERT encoder, as sentence-transformers
# exports them: mean pooling over the unpadded tokens, then F.normalize
# (ReduceL2, Clip, Div).
# --------------------------------------------------------------------------
class BertEmbedder(Bert):
    def forward(self, input_ids, attention_mask):
        h = super().forward(input_ids, attention_mask)
        weights = attention_mask[..., None].to(h.dtype)
        pooled = (h * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, p=2, dim=1)


def build_bert_embed(args) -> nn.Module:
    model = BertEmbedder(BertConfig())
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


# --------------------------------------------------------------------------
# GPT-J-style: parallel attention and MLP from one LayerNorm, rotary
# embeddings on the first dims of each head with interleaved pairs (strided
# slices, stack and flatten), sin and cos gathered from a table by
# position_ids and doubled by repeat_interleave, a boolean causal buffer
# applied by torch.where in f32, tanh GELU, LM head with bias.
# --------------------------------------------------------------------------
@dataclass
class GPTJConfig:
    vocab_size: int = 96
    max_positions: int = 64
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    rotary_dims: int = 8


def rotate_every_two(x):
    x1, x2 = x[:, :, :, ::2], x[:, :, :, 1::2]
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


class GPTJBlock(nn.Module):
    def __init__(self, config: GPTJConfig):
        super().__init__()
        self.n_heads = config.n_heads
        self.head_dim = config.d_model // config.n_heads
        self.rotary = config.rotary_dims
        self.ln = nn.LayerNorm(config.d_model)
        self.q = nn.Linear(config.d_model, config.d_model, bias=False)
        self.k = nn.Linear(config.d_model, config.d_model, bias=False)
        self.v = nn.Linear(config.d_model, config.d_model, bias=False)
        self.out = nn.Linear(config.d_model, config.d_model, bias=False)
        self.fc_in = nn.Linear(config.d_model, 4 * config.d_model)
        self.fc_out = nn.Linear(4 * config.d_model, config.d_model)
        n = config.max_positions
        self.register_buffer("causal", torch.tril(torch.ones(n, n, dtype=torch.bool))
                             .view(1, 1, n, n), persistent=False)

    def rope(self, x, sin, cos):
        r = self.rotary
        rotated = x[:, :, :, :r] * cos + rotate_every_two(x[:, :, :, :r]) * sin
        return torch.cat([rotated, x[:, :, :, r:]], dim=-1)

    def forward(self, x, sincos):
        batch, seq, d_model = x.shape
        h = self.ln(x)
        heads = lambda t: t.view(batch, seq, self.n_heads, self.head_dim)
        q, k, v = heads(self.q(h)), heads(self.k(h)), heads(self.v(h)).transpose(1, 2)
        sin, cos = torch.split(sincos, sincos.shape[-1] // 2, dim=-1)
        sin = torch.repeat_interleave(sin[:, :, None, :], 2, 3)
        cos = torch.repeat_interleave(cos[:, :, None, :], 2, 3)
        q = self.rope(q, sin, cos).transpose(1, 2).to(torch.float32)
        k = self.rope(k, sin, cos).transpose(1, 2).to(torch.float32)
        scores = q @ k.transpose(-1, -2)
        minimum = torch.tensor(torch.finfo(scores.dtype).min, dtype=scores.dtype)
        scores = torch.where(self.causal[:, :, :seq, :seq], scores, minimum)
        weights = F.softmax(scores / math.sqrt(self.head_dim), dim=-1).to(v.dtype)
        attn = (weights @ v).transpose(1, 2).reshape(batch, seq, d_model)
        mlp = self.fc_out(F.gelu(self.fc_in(h), approximate="tanh"))
        return x + self.out(attn) + mlp


class GPTJ(nn.Module):
    def __init__(self, config: GPTJConfig):
        super().__init__()
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(GPTJBlock(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size)
        r = config.rotary_dims
        inv_freq = 1.0 / (10000 ** (torch.arange(0, r, 2, dtype=torch.int64) / r))
        angles = torch.arange(config.max_positions, dtype=torch.float)[:, None] * inv_freq
        self.register_buffer("sincos", torch.cat((angles.sin(), angles.cos()), dim=1),
                             persistent=False)

    def forward(self, input_ids, position_ids):
        h = self.embed(input_ids)
        sincos = self.sincos[position_ids]
        for block in self.blocks:
            h = block(h, sincos)
        return self.lm_head(self.ln_f(h))


def build_gptj(args) -> nn.Module:
    model = GPTJ(GPTJConfig())
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


def gptj_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    ids = torch.randint(0, GPTJConfig().vocab_size, (args.batch, args.seq),
                        dtype=torch.long, generator=generator)
    # Row b starts at position b (as after b cached tokens).
    positions = torch.arange(args.seq)[None] + torch.arange(args.batch)[:, None]
    return {"input_ids": ids, "position_ids": positions}


# --------------------------------------------------------------------------
# BLOOM-style: ALiBi (per-head slopes times positions counted by CumSum over
# the attention mask) added to the scores by baddbmm, a LayerNorm on the
# embeddings, q/k/v interleaved per head in one projection, a boolean mask
# (causal or padding) applied by masked_fill, softmax in f32, BLOOM's tanh
# GELU written out, LM head tied to the embedding.
# --------------------------------------------------------------------------
@dataclass
class BloomConfig:
    vocab_size: int = 96
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2


def alibi_bias(attention_mask, n_heads, dtype):
    batch, seq = attention_mask.shape
    closest = 2 ** math.floor(math.log2(n_heads))
    base = torch.tensor(2 ** (-(2 ** -(math.log2(closest) - 3))), dtype=torch.float32)
    slopes = torch.pow(base, torch.arange(1, 1 + closest, dtype=torch.int32))
    positions = ((attention_mask.cumsum(dim=-1) - 1) * attention_mask)[:, None, :]
    return (slopes[..., None] * positions).reshape(batch * n_heads, 1, seq).to(dtype)


class BloomBlock(nn.Module):
    def __init__(self, config: BloomConfig):
        super().__init__()
        self.n_heads = config.n_heads
        self.head_dim = config.d_model // config.n_heads
        self.ln_attn = nn.LayerNorm(config.d_model)
        self.ln_mlp = nn.LayerNorm(config.d_model)
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model)
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.up = nn.Linear(config.d_model, 4 * config.d_model)
        self.down = nn.Linear(4 * config.d_model, config.d_model)

    def forward(self, x, alibi, mask):
        batch, seq, d_model = x.shape
        heads = batch * self.n_heads
        fused = self.qkv(self.ln_attn(x)).view(batch, seq, self.n_heads, 3, self.head_dim)
        q = fused[..., 0, :].transpose(1, 2).reshape(heads, seq, self.head_dim)
        k = fused[..., 1, :].permute(0, 2, 3, 1).reshape(heads, self.head_dim, seq)
        v = fused[..., 2, :].transpose(1, 2).reshape(heads, seq, self.head_dim)
        scores = alibi.baddbmm(batch1=q, batch2=k, beta=1.0,
                               alpha=1.0 / math.sqrt(self.head_dim))
        scores = scores.view(batch, self.n_heads, seq, seq)
        scores = scores.masked_fill(mask, torch.finfo(scores.dtype).min)
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(x.dtype)
        context = torch.bmm(probs.view(heads, seq, seq), v)
        context = context.view(batch, self.n_heads, seq, self.head_dim)
        x = x + self.dense(context.permute(0, 2, 1, 3).reshape(batch, seq, d_model))
        u = self.up(self.ln_mlp(x))
        return x + self.down(u * 0.5 * (1.0 + torch.tanh(0.79788456 * u *
                                                         (1 + 0.044715 * u * u))))


class Bloom(nn.Module):
    def __init__(self, config: BloomConfig):
        super().__init__()
        self.n_heads = config.n_heads
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.embed_norm = nn.LayerNorm(config.d_model)
        self.blocks = nn.ModuleList(BloomBlock(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)

    def forward(self, input_ids, attention_mask):
        seq = input_ids.shape[1]
        h = self.embed_norm(self.embed(input_ids))
        alibi = alibi_bias(attention_mask, self.n_heads, h.dtype)
        future = torch.triu(torch.ones(seq, seq, dtype=torch.bool), diagonal=1)
        mask = future[None, None] | ~attention_mask[:, None, None, :].bool()
        for block in self.blocks:
            h = block(h, alibi, mask)
        return self.ln_f(h) @ self.embed.weight.t()


def build_bloom(args) -> nn.Module:
    model = Bloom(BloomConfig())
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


# --------------------------------------------------------------------------
# Phi-2-style: one LayerNorm feeding attention and MLP in parallel, rotary
# embeddings on the first half of each head (slices and Concat), q, k, v
# with biases, scores in f32, tanh GELU, an LM head with bias. The mask is
# a causal one of finfo.min plus a padding one of finfo.min (left padding):
# a padded query sees finfo.min on some keys and -inf (min + min) on
# others, which must get no weight.
# --------------------------------------------------------------------------
# The NeoX model's sizes (rotary on 8 of 16 dims per head).
PhiConfig = NeoXConfig


class PhiBlock(nn.Module):
    def __init__(self, config: PhiConfig):
        super().__init__()
        self.n_heads = config.n_heads
        self.head_dim = config.d_model // config.n_heads
        self.rotary_dims = config.rotary_dims
        self.ln = nn.LayerNorm(config.d_model)
        self.q = nn.Linear(config.d_model, config.d_model)
        self.k = nn.Linear(config.d_model, config.d_model)
        self.v = nn.Linear(config.d_model, config.d_model)
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.fc1 = nn.Linear(config.d_model, 4 * config.d_model)
        self.fc2 = nn.Linear(4 * config.d_model, config.d_model)

    def rope(self, x, cos, sin):
        r = self.rotary_dims
        rotated, passed = x[..., :r], x[..., r:]
        return torch.cat((rotated * cos + rotate_half(rotated) * sin, passed), dim=-1)

    def forward(self, h, cos, sin, mask):
        batch, seq, d_model = h.shape
        x = self.ln(h)

        def heads(t):
            return t.view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
        scores = torch.matmul(q.float(), k.float().transpose(2, 3)) / math.sqrt(self.head_dim)
        probs = F.softmax(scores + mask, dim=-1, dtype=torch.float32).to(v.dtype)
        attn = (probs @ v).transpose(1, 2).reshape(batch, seq, d_model)
        mlp = self.fc2(F.gelu(self.fc1(x), approximate="tanh"))
        return h + self.dense(attn) + mlp


class Phi(nn.Module):
    def __init__(self, config: PhiConfig):
        super().__init__()
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(PhiBlock(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size)
        r = config.rotary_dims
        self.register_buffer("inv_freq", 1.0 / config.rope_theta ** (
            torch.arange(0, r, 2, dtype=torch.float32) / r), persistent=False)

    def forward(self, input_ids, attention_mask):
        seq = input_ids.shape[1]
        positions = torch.arange(seq, device=input_ids.device).float()
        freqs = positions[:, None] * self.inv_freq[None, :]
        angles = torch.cat((freqs, freqs), dim=-1)
        cos, sin = angles.cos()[None, None], angles.sin()[None, None]
        low = torch.finfo(torch.float32).min
        causal = torch.full((seq, seq), low).triu(1)[None, None]
        padding = (1.0 - attention_mask[:, None, None, :].float()) * low
        mask = causal + padding
        h = self.embed(input_ids)
        for block in self.blocks:
            h = block(h, cos, sin, mask)
        return self.lm_head(self.ln_f(h))


def build_phi(args) -> nn.Module:
    model = Phi(PhiConfig())
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


def causal_padding_bias(attention_mask, dtype, window=None) -> torch.Tensor:
    """Hugging Face's 4-D additive mask [B, 1, T, T]: 0 where a query sees a
    key (causal, within `window` positions if given, not padding), and
    finfo(dtype).min elsewhere."""
    seq = attention_mask.shape[1]
    query = torch.arange(seq, device=attention_mask.device)[:, None]
    key = torch.arange(seq, device=attention_mask.device)[None, :]
    allowed = key <= query
    if window is not None:
        allowed = allowed & (query - key < window)
    allowed = allowed[None, None] & (attention_mask[:, None, None, :] != 0)
    bias = torch.zeros(allowed.shape, dtype=dtype, device=attention_mask.device)
    return bias.masked_fill(~allowed, torch.finfo(dtype).min)


# --------------------------------------------------------------------------
# OPT-style: learned positions offset by 2 and counted from the attention
# mask (CumSum), queries scaled before a 3-D bmm over [B*H, T, D], the mask
# added and the scores clamped from below by torch.max(w, finfo.min) (which
# torch exports as Max with an f32 scalar even in a 16-bit export), ReLU
# MLP, pre-LayerNorm, LM head tied to the token embedding.
# --------------------------------------------------------------------------
class OPTBlock(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.n_heads = config.n_heads
        self.head_dim = config.d_model // config.n_heads
        self.ln_attn, self.ln_mlp = nn.LayerNorm(config.d_model), nn.LayerNorm(config.d_model)
        self.q, self.k, self.v, self.out = (nn.Linear(config.d_model, config.d_model)
                                            for _ in range(4))
        self.fc1 = nn.Linear(config.d_model, 4 * config.d_model)
        self.fc2 = nn.Linear(4 * config.d_model, config.d_model)

    def forward(self, h, bias):
        batch, seq, d_model = h.shape
        x = self.ln_attn(h)

        def heads(t):
            return (t.view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)
                    .reshape(batch * self.n_heads, seq, self.head_dim))

        q = heads(self.q(x) * self.head_dim ** -0.5)
        k, v = heads(self.k(x)), heads(self.v(x))
        w = torch.bmm(q, k.transpose(1, 2)).view(batch, self.n_heads, seq, seq) + bias
        w = torch.max(w, torch.tensor(torch.finfo(w.dtype).min))
        w = F.softmax(w.view(batch * self.n_heads, seq, seq), dim=-1)
        y = torch.bmm(w, v).view(batch, self.n_heads, seq, self.head_dim)
        h = h + self.out(y.transpose(1, 2).reshape(batch, seq, d_model))
        return h + self.fc2(F.relu(self.fc1(self.ln_mlp(h))))


class OPT(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.positions = nn.Embedding(config.max_positions + 2, config.d_model)
        self.blocks = nn.ModuleList(OPTBlock(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)

    def forward(self, input_ids, attention_mask):
        positions = (torch.cumsum(attention_mask, dim=1).type_as(attention_mask)
                     * attention_mask).long() - 1
        h = self.embed(input_ids) + self.positions(positions + 2)
        bias = causal_padding_bias(attention_mask, h.dtype)
        for block in self.blocks:
            h = block(h, bias)
        return F.linear(self.ln_f(h), self.embed.weight)


def build_opt(args) -> nn.Module:
    model = OPT(GPT2Config())
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


# --------------------------------------------------------------------------
# Gemma-style: the embedding scaled by sqrt(d_model) in the activations'
# type, RMSNorm by (1 + weight) in f32, multi-query attention (one key and
# value head) with a head size that is not d_model / heads (48 = 4 x 12;
# heads of 24), rotary positions counted from the mask, tanh-GELU gated
# MLP, Hugging Face's 4-D mask, tied LM head. gemma-sliding is the same
# model with sliding window attention over 4 positions (Mistral's and
# Gemma 2's mask: a query sees itself and the 3 positions before it).
# gemma2 adds Gemma 2's logit soft-capping, cap * tanh(x / cap), of the
# scaled attention scores (before the mask) and of the final logits, and
# alternates sliding-window (even) and global (odd) layers; its caps are
# small (1 and 5, Gemma 2's are 50 and 30) so that they bite on this
# model's scores (without the attention cap, logits on the real positions
# differ by up to 0.03 to 0.08, depending on the seed).
# --------------------------------------------------------------------------
@dataclass
class GemmaConfig:
    vocab_size: int = 96
    d_model: int = 48
    n_heads: int = 4
    head_dim: int = 24
    n_layers: int = 2
    ffn_dim: int = 128
    rope_theta: float = 10000.0


class GemmaNorm(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + 1e-6)
        return (h * (1.0 + self.weight.float())).type_as(x)


class GemmaBlock(nn.Module):
    def __init__(self, config: GemmaConfig):
        super().__init__()
        self.n_heads, self.head_dim = config.n_heads, config.head_dim
        self.input_norm, self.post_attention_norm = (GemmaNorm(config.d_model),
                                                     GemmaNorm(config.d_model))
        self.q = nn.Linear(config.d_model, config.n_heads * config.head_dim, bias=False)
        self.k = nn.Linear(config.d_model, config.head_dim, bias=False)
        self.v = nn.Linear(config.d_model, config.head_dim, bias=False)
        self.o = nn.Linear(config.n_heads * config.head_dim, config.d_model, bias=False)
        self.gate = nn.Linear(config.d_model, config.ffn_dim, bias=False)
        self.up = nn.Linear(config.d_model, config.ffn_dim, bias=False)
        self.down = nn.Linear(config.ffn_dim, config.d_model, bias=False)

    def forward(self, h, cos, sin, bias, softcap=None):
        batch, seq, _ = h.shape
        x = self.input_norm(h)
        q = self.q(x).view(batch, seq, self.n_heads, self.head_dim).transpose(1, 2)
        k = self.k(x).view(batch, seq, 1, self.head_dim).transpose(1, 2)
        v = self.v(x).view(batch, seq, 1, self.head_dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k = k.expand(batch, self.n_heads, seq, self.head_dim)
        v = v.expand(batch, self.n_heads, seq, self.head_dim)
        w = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        if softcap is not None:
            w = torch.tanh(w / softcap) * softcap
        w = F.softmax(w + bias, dim=-1, dtype=torch.float32).to(q.dtype)
        y = torch.matmul(w, v).transpose(1, 2).reshape(batch, seq, -1)
        h = h + self.o(y)
        x = self.post_attention_norm(h)
        return h + self.down(F.gelu(self.gate(x), approximate="tanh") * self.up(x))


class Gemma(nn.Module):
    def __init__(self, config: GemmaConfig, window=None, softcap=None,
                 final_softcap=None, alternate=False):
        super().__init__()
        self.config, self.window = config, window
        self.softcap, self.final_softcap = softcap, final_softcap
        self.alternate = alternate
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.blocks = nn.ModuleList(GemmaBlock(config) for _ in range(config.n_layers))
        self.norm = GemmaNorm(config.d_model)
        d = config.head_dim
        self.register_buffer("inv_freq", 1.0 / config.rope_theta ** (
            torch.arange(0, d, 2, dtype=torch.float32) / d), persistent=False)

    def forward(self, input_ids, attention_mask):
        h = self.embed(input_ids)
        h = h * torch.tensor(self.config.d_model ** 0.5, dtype=h.dtype)
        cos, sin = rotary_from_mask(attention_mask, self.inv_freq, h.dtype)
        bias = causal_padding_bias(attention_mask, h.dtype, self.window)
        if self.alternate:  # sliding-window even layers, global odd ones
            wide = causal_padding_bias(attention_mask, h.dtype)
        for index, block in enumerate(self.blocks):
            h = block(h, cos, sin, wide if self.alternate and index % 2 else bias,
                      self.softcap)
        logits = F.linear(self.norm(h), self.embed.weight)
        if self.final_softcap is not None:
            logits = torch.tanh(logits / self.final_softcap) * self.final_softcap
        return logits


def build_gemma(args, window=None, **gemma2) -> nn.Module:
    model = Gemma(GemmaConfig(), window, **gemma2)
    generator = torch.Generator().manual_seed(args.seed + 1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, GemmaNorm):
                module.weight.copy_(0.1 * torch.randn(module.weight.shape, generator=generator))
    return model


# --------------------------------------------------------------------------
# GPT-BigCode-style (StarCoder): multi-query attention from one fused
# projection of d_model + 2 x head_dim, split unevenly; the heads folded into
# the query rows, [B, T*H, D] @ [B, D, T], and the scores viewed as
# [B, T, H, T] with the mask broadcast over heads in dim 2; learned
# positions, tanh GELU, tied LM head.
# --------------------------------------------------------------------------
class BigCodeBlock(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.n_heads = config.n_heads
        self.head_dim = config.d_model // config.n_heads
        self.ln_1, self.ln_2 = nn.LayerNorm(config.d_model), nn.LayerNorm(config.d_model)
        self.c_attn = nn.Linear(config.d_model, config.d_model + 2 * self.head_dim)
        self.c_proj = nn.Linear(config.d_model, config.d_model)
        self.c_fc = nn.Linear(config.d_model, 4 * config.d_model)
        self.mlp_proj = nn.Linear(4 * config.d_model, config.d_model)

    def forward(self, h, bias):
        batch, seq, d_model = h.shape
        q, kv = self.c_attn(self.ln_1(h)).split((d_model, 2 * self.head_dim), dim=2)
        k, v = kv.split((self.head_dim, self.head_dim), dim=-1)
        q = q.reshape(batch, seq * self.n_heads, self.head_dim)
        w = torch.bmm(q, k.transpose(1, 2)).view(batch, seq, self.n_heads, seq)
        w = F.softmax(w / math.sqrt(self.head_dim) + bias, dim=-1)
        y = torch.bmm(w.view(batch, seq * self.n_heads, seq), v).view(batch, seq, d_model)
        h = h + self.c_proj(y)
        return h + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(h)), approximate="tanh"))


class BigCode(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.wpe = nn.Embedding(config.max_positions, config.d_model)
        self.blocks = nn.ModuleList(BigCodeBlock(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)

    def forward(self, input_ids, attention_mask):
        positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        h = self.wte(input_ids) + self.wpe(positions)
        # [B, 1, T, T] -> [B, T, 1, T]: one mask for every head.
        bias = causal_padding_bias(attention_mask, h.dtype).transpose(1, 2)
        for block in self.blocks:
            h = block(h, bias)
        return F.linear(self.ln_f(h), self.wte.weight)


def build_bigcode(args) -> nn.Module:
    model = BigCode(GPT2Config())
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


# --------------------------------------------------------------------------
# BART-style encoder-decoder in one graph (input_ids, attention_mask,
# decoder_input_ids -> logits): learned positions offset by 2, embeddings
# scaled by sqrt(d_model) and LayerNormed, post-LayerNorm layers, exact
# GELU, queries scaled before the product; the decoder's causal
# self-attention and its cross-attention to the encoder (keys from another
# sequence, of another length, with the encoder's padding mask); tied LM
# head plus final_logits_bias.
# --------------------------------------------------------------------------
class BartAttention(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.n_heads = config.n_heads
        self.head_dim = config.d_model // config.n_heads
        self.q, self.k, self.v, self.out = (nn.Linear(config.d_model, config.d_model)
                                            for _ in range(4))

    def forward(self, x, memory, bias):
        batch = x.shape[0]

        def heads(t):
            return t.view(batch, t.shape[1], self.n_heads, self.head_dim).transpose(1, 2)

        q = heads(self.q(x) * self.head_dim ** -0.5)
        k, v = heads(self.k(memory)), heads(self.v(memory))
        w = F.softmax(torch.matmul(q, k.transpose(-1, -2)) + bias, dim=-1)
        return self.out(torch.matmul(w, v).transpose(1, 2).reshape(x.shape))


class BartLayer(nn.Module):
    def __init__(self, config: GPT2Config, cross: bool):
        super().__init__()
        d_model = config.d_model
        self.self_attn, self.ln_self = BartAttention(config), nn.LayerNorm(d_model)
        self.cross_attn = BartAttention(config) if cross else None
        self.ln_cross = nn.LayerNorm(d_model) if cross else None
        self.fc1 = nn.Linear(d_model, config.mlp_ratio * d_model)
        self.fc2 = nn.Linear(config.mlp_ratio * d_model, d_model)
        self.ln_mlp = nn.LayerNorm(d_model)

    def forward(self, x, self_bias, memory=None, cross_bias=None):
        x = self.ln_self(x + self.self_attn(x, x, self_bias))
        if self.cross_attn is not None:
            x = self.ln_cross(x + self.cross_attn(x, memory, cross_bias))
        return self.ln_mlp(x + self.fc2(F.gelu(self.fc1(x))))


class Bart(nn.Module):
    def __init__(self, config: GPT2Config):
        super().__init__()
        self.scale = math.sqrt(config.d_model)
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.encoder_positions = nn.Embedding(config.max_positions + 2, config.d_model)
        self.decoder_positions = nn.Embedding(config.max_positions + 2, config.d_model)
        self.ln_encoder, self.ln_decoder = (nn.LayerNorm(config.d_model),
                                            nn.LayerNorm(config.d_model))
        self.encoder = nn.ModuleList(BartLayer(config, False) for _ in range(config.n_layers))
        self.decoder = nn.ModuleList(BartLayer(config, True) for _ in range(config.n_layers))
        self.register_buffer("final_logits_bias", torch.zeros(1, config.vocab_size))

    def forward(self, input_ids, attention_mask, decoder_input_ids):
        seq, target = input_ids.shape[1], decoder_input_ids.shape[1]
        low = torch.finfo(torch.float32).min
        padding = (1.0 - attention_mask[:, None, None, :].float()) * low
        x = self.embed(input_ids) * self.scale + self.encoder_positions(
            torch.arange(seq, device=input_ids.device) + 2)
        x = self.ln_encoder(x)
        for layer in self.encoder:
            x = layer(x, padding)
        causal = torch.full((target, target), low, device=input_ids.device).triu(1)[None, None]
        y = self.embed(decoder_input_ids) * self.scale + self.decoder_positions(
            torch.arange(target, device=input_ids.device) + 2)
        y = self.ln_decoder(y)
        for layer in self.decoder:
            y = layer(y, causal, x, padding)
        return F.linear(y, self.embed.weight) + self.final_logits_bias


def build_bart(args) -> nn.Module:
    model = Bart(GPT2Config())
    generator = torch.Generator().manual_seed(args.seed + 1)
    _randomize_layer_norms(model, generator)
    with torch.no_grad():
        model.final_logits_bias.copy_(0.1 * torch.randn(model.final_logits_bias.shape,
                                                        generator=generator))
    return model


def bart_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    """--seq source tokens (right padded); half as many target tokens."""
    vocab = GPT2Config().vocab_size
    return {"input_ids": torch.randint(0, vocab, (args.batch, args.seq), dtype=torch.long,
                                       generator=generator),
            "attention_mask": padding_mask(args, left=False),
            "decoder_input_ids": torch.randint(0, vocab, (args.batch, max(1, args.seq // 2)),
                                               dtype=torch.long, generator=generator)}


# --------------------------------------------------------------------------
# DeepSeek-V2/V3-style (Hugging Face's modeling_deepseek_v3, eager):
# multi-head latent attention and DeepSeekMoE.
# - Attention: queries through a low-rank projection with its own RMSNorm;
#   keys and values expanded per head from one compressed latent (RMSNorm),
#   plus one rotary key part shared by every head (k_pe, [B, 1, T, 8]).
#   Query and key heads are 24 wide (16 without rotary, 8 with), value heads
#   16. Rotary runs on the pe parts de-interleaved (viewed as pairs,
#   transposed, reshaped); the query and key states are assembled by slice
#   assignment into new_empty tensors; softmax in f32 with scale 1/sqrt(24);
#   left padding from attention_mask (Hugging Face's 4-D additive mask).
# - MLP: dense SwiGLU in the first layer; in the others DeepSeek-V3's
#   mixture of experts (DeepSeekMoE below): group-limited routing of 8
#   experts in 4 groups and a shared expert.
# --------------------------------------------------------------------------
@dataclass
class DeepSeekConfig:
    vocab_size: int = 96
    d_model: int = 64
    n_heads: int = 4
    q_lora_rank: int = 32
    kv_lora_rank: int = 32
    qk_nope_head_dim: int = 16
    qk_rope_head_dim: int = 8
    v_head_dim: int = 16
    ffn_dim: int = 128
    moe_ffn_dim: int = 32
    experts: int = 8
    n_group: int = 4
    topk_group: int = 2
    top_k: int = 2
    routed_scaling_factor: float = 2.5
    n_layers: int = 2
    rope_theta: float = 10000.0
    eps: float = 1e-6


def deepseek_rope(x, cos, sin):
    """DeepSeek's rotary: the pairs (x0, x1), (x2, x3), ... de-interleaved
    into halves first, then rotate_half."""
    batch, heads, seq, dim = x.shape
    x = x.view(batch, heads, seq, dim // 2, 2).transpose(4, 3).reshape(batch, heads, seq, dim)
    return x * cos + rotate_half(x) * sin


class DeepSeekAttention(nn.Module):
    def __init__(self, c: DeepSeekConfig):
        super().__init__()
        self.c = c
        self.q_head_dim = c.qk_nope_head_dim + c.qk_rope_head_dim
        self.q_a_proj = nn.Linear(c.d_model, c.q_lora_rank, bias=False)
        self.q_a_layernorm = RMSNorm(c.q_lora_rank, c.eps)
        self.q_b_proj = nn.Linear(c.q_lora_rank, c.n_heads * self.q_head_dim, bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(c.d_model, c.kv_lora_rank + c.qk_rope_head_dim,
                                            bias=False)
        self.kv_a_layernorm = RMSNorm(c.kv_lora_rank, c.eps)
        self.kv_b_proj = nn.Linear(c.kv_lora_rank,
                                   c.n_heads * (c.qk_nope_head_dim + c.v_head_dim), bias=False)
        self.o_proj = nn.Linear(c.n_heads * c.v_head_dim, c.d_model, bias=False)
        self.softmax_scale = self.q_head_dim ** -0.5

    def forward(self, x, cos, sin, bias):
        c, (batch, seq, _) = self.c, x.shape
        nope, rope = c.qk_nope_head_dim, c.qk_rope_head_dim
        q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))
        q = q.view(batch, seq, c.n_heads, self.q_head_dim).transpose(1, 2)
        q_nope, q_pe = torch.split(q, [nope, rope], dim=-1)
        compressed_kv = self.kv_a_proj_with_mqa(x)
        compressed_kv, k_pe = torch.split(compressed_kv, [c.kv_lora_rank, rope], dim=-1)
        k_pe = k_pe.view(batch, seq, 1, rope).transpose(1, 2)
        kv = self.kv_b_proj(self.kv_a_layernorm(compressed_kv))
        kv = kv.view(batch, seq, c.n_heads, nope + c.v_head_dim).transpose(1, 2)
        k_nope, value_states = torch.split(kv, [nope, c.v_head_dim], dim=-1)
        q_pe, k_pe = deepseek_rope(q_pe, cos, sin), deepseek_rope(k_pe, cos, sin)
        query_states = k_pe.new_empty(batch, c.n_heads, seq, self.q_head_dim)
        query_states[:, :, :, :nope] = q_nope
        query_states[:, :, :, nope:] = q_pe
        key_states = k_pe.new_empty(batch, c.n_heads, seq, self.q_head_dim)
        key_states[:, :, :, :nope] = k_nope
        key_states[:, :, :, nope:] = k_pe
        w = torch.matmul(query_states, key_states.transpose(2, 3)) * self.softmax_scale + bias
        w = F.softmax(w, dim=-1, dtype=torch.float32).to(query_states.dtype)
        y = torch.matmul(w, value_states)
        return self.o_proj(y.transpose(1, 2).reshape(batch, seq, c.n_heads * c.v_head_dim))


class DeepSeekMoE(nn.Module):
    """DeepSeek-V3's router and experts (Hugging Face's DeepseekV3MoE):
    sigmoid scores plus a correction bias choose the top 2 of 4 groups (each
    group scored by its 2 best experts) and then the top 2 experts among
    those groups; the weights are the chosen experts' sigmoid scores,
    renormalized and scaled; each expert takes its tokens by torch.where over
    the one-hot routing mask and index_add_s its weighted results back; a
    shared expert sees every token."""

    def __init__(self, c: DeepSeekConfig):
        super().__init__()
        self.c = c
        self.weight = nn.Parameter(torch.empty(c.experts, c.d_model))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.register_buffer("e_score_correction_bias", torch.zeros(c.experts))
        self.experts = nn.ModuleList(MixtralExpert(c.d_model, c.moe_ffn_dim)
                                     for _ in range(c.experts))
        self.shared_experts = MixtralExpert(c.d_model, 2 * c.moe_ffn_dim)

    def route(self, h):
        c = self.c
        logits = F.linear(h.type(torch.float32), self.weight.type(torch.float32))
        scores = logits.sigmoid()
        choice = scores + self.e_score_correction_bias
        per_group = c.experts // c.n_group
        group_scores = choice.view(-1, c.n_group, per_group).topk(2, dim=-1)[0].sum(dim=-1)
        group_idx = torch.topk(group_scores, k=c.topk_group, dim=-1, sorted=False)[1]
        group_mask = torch.zeros_like(group_scores)
        group_mask.scatter_(1, group_idx, 1)
        score_mask = group_mask.unsqueeze(-1).expand(-1, c.n_group, per_group).reshape(-1, c.experts)
        choice = choice.masked_fill(~score_mask.bool(), 0.0)
        topk_indices = torch.topk(choice, k=c.top_k, dim=-1, sorted=False)[1]
        topk_weights = scores.gather(1, topk_indices)
        topk_weights = topk_weights / (topk_weights.sum(dim=-1, keepdim=True) + 1e-20)
        return topk_indices, topk_weights * c.routed_scaling_factor

    def forward(self, hidden_states):
        identity, shape = hidden_states, hidden_states.shape
        h = hidden_states.view(-1, shape[-1])
        topk_indices, topk_weights = self.route(h)
        final = torch.zeros_like(h, dtype=topk_weights.dtype)
        expert_mask = F.one_hot(topk_indices, num_classes=len(self.experts)).permute(2, 0, 1)
        for expert_idx, expert in enumerate(self.experts):
            token_indices, weight_indices = torch.where(expert_mask[expert_idx])
            expert_weights = topk_weights[token_indices, weight_indices]
            expert_output = expert(h[token_indices])
            final.index_add_(0, token_indices, expert_output * expert_weights.unsqueeze(-1))
        y = final.type(hidden_states.dtype).view(*shape)
        return y + self.shared_experts(identity)


class DeepSeek(nn.Module):
    def __init__(self, c: DeepSeekConfig):
        super().__init__()
        self.config = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.d_model)
        # Llama's pre-norm blocks with DeepSeek's attention and MLPs.
        llama = LlamaConfig(d_model=c.d_model, eps=c.eps)
        self.blocks = nn.ModuleList(LlamaBlock(llama) for _ in range(c.n_layers))
        for index, block in enumerate(self.blocks):
            block.attn = DeepSeekAttention(c)
            block.mlp = DeepSeekMoE(c) if index else MixtralExpert(c.d_model, c.ffn_dim)
        self.norm = RMSNorm(c.d_model, c.eps)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        dim = c.qk_rope_head_dim
        self.register_buffer("inv_freq", 1.0 / (c.rope_theta ** (
            torch.arange(0, dim, 2, dtype=torch.float32) / dim)), persistent=False)

    def forward(self, input_ids, attention_mask):
        h = self.embed_tokens(input_ids)
        cos, sin = rotary_from_mask(attention_mask, self.inv_freq, h.dtype)
        bias = causal_padding_bias(attention_mask, h.dtype)
        for block in self.blocks:
            h = block(h, cos, sin, bias)
        return self.lm_head(self.norm(h))


def build_deepseek(args) -> nn.Module:
    model = DeepSeek(DeepSeekConfig())
    generator = torch.Generator().manual_seed(args.seed + 1)
    _randomize_rms_norms(model, generator)
    with torch.no_grad():
        for block in model.blocks:
            if isinstance(block.mlp, DeepSeekMoE):
                bias = block.mlp.e_score_correction_bias
                bias.copy_(0.1 * torch.randn(bias.shape, generator=generator))
    return model


# --------------------------------------------------------------------------
# Mamba-style (Hugging Face's MambaMixer.slow_forward, the form without the
# CUDA kernels): a selective state-space model, no attention. Each block:
# RMSNorm, an input projection split into the SSM branch and its gate, a
# causal depthwise Conv1d (kernel 4, padding 3, the first T outputs kept),
# SiLU, x_proj split into the time step, B and C, softplus of dt_proj,
# discretized A = exp(A * dt) and B * dt, the recurrence unrolled over the
# sequence (the state [B, I, N] updated and read by C at each position,
# stacked), the skip D, the SiLU gate and the output projection. The LM head
# is tied to the embedding.
# --------------------------------------------------------------------------
@dataclass
class MambaConfig:
    vocab_size: int = 96
    d_model: int = 32
    d_inner: int = 64
    d_state: int = 8
    d_conv: int = 4
    dt_rank: int = 4
    n_layers: int = 2
    eps: float = 1e-5


class MambaMixer(nn.Module):
    def __init__(self, c: MambaConfig):
        super().__init__()
        self.c = c
        self.in_proj = nn.Linear(c.d_model, 2 * c.d_inner, bias=False)
        self.conv1d = nn.Conv1d(c.d_inner, c.d_inner, c.d_conv, groups=c.d_inner,
                                padding=c.d_conv - 1)
        self.x_proj = nn.Linear(c.d_inner, c.dt_rank + 2 * c.d_state, bias=False)
        self.dt_proj = nn.Linear(c.dt_rank, c.d_inner)
        A = torch.arange(1, c.d_state + 1, dtype=torch.float32)[None, :].expand(c.d_inner, -1)
        self.A_log = nn.Parameter(torch.log(A).contiguous())
        self.D = nn.Parameter(torch.ones(c.d_inner))
        self.out_proj = nn.Linear(c.d_inner, c.d_model, bias=False)

    def forward(self, input_states):
        c, (batch, seq, _) = self.c, input_states.shape
        dtype = input_states.dtype
        projected = self.in_proj(input_states).transpose(1, 2)
        hidden, gate = projected.chunk(2, dim=1)
        hidden = F.silu(self.conv1d(hidden)[..., :seq])
        ssm_parameters = self.x_proj(hidden.transpose(1, 2))
        time_step, B, C = torch.split(ssm_parameters, [c.dt_rank, c.d_state, c.d_state], dim=-1)
        dt = F.softplus(self.dt_proj(time_step)).transpose(1, 2)
        A = -torch.exp(self.A_log.float())
        discrete_A = torch.exp(A[None, :, None, :] * dt[:, :, :, None])
        discrete_B = dt[:, :, :, None] * B[:, None, :, :].float()
        deltaB_u = discrete_B * hidden[:, :, :, None].float()
        state = torch.zeros((batch, c.d_inner, c.d_state), dtype=discrete_A.dtype)
        outputs = []
        for i in range(seq):
            state = discrete_A[:, :, i, :] * state + deltaB_u[:, :, i, :]
            outputs.append(torch.matmul(state.to(dtype), C[:, i, :].unsqueeze(-1))[:, :, 0])
        scan = torch.stack(outputs, dim=-1)
        scan = (scan + hidden * self.D[None, :, None]) * F.silu(gate)
        return self.out_proj(scan.transpose(1, 2))


class MambaBlock(nn.Module):
    def __init__(self, c: MambaConfig):
        super().__init__()
        self.norm = RMSNorm(c.d_model, c.eps)
        self.mixer = MambaMixer(c)

    def forward(self, x):
        return x + self.mixer(self.norm(x))


class Mamba(nn.Module):
    def __init__(self, c: MambaConfig):
        super().__init__()
        self.embeddings = nn.Embedding(c.vocab_size, c.d_model)
        self.layers = nn.ModuleList(MambaBlock(c) for _ in range(c.n_layers))
        self.norm_f = RMSNorm(c.d_model, c.eps)

    def forward(self, input_ids):
        h = self.embeddings(input_ids)
        for layer in self.layers:
            h = layer(h)
        return F.linear(self.norm_f(h), self.embeddings.weight)


def build_mamba(args) -> nn.Module:
    model = Mamba(MambaConfig())
    generator = torch.Generator().manual_seed(args.seed + 1)
    _randomize_rms_norms(model, generator)
    with torch.no_grad():
        for layer in model.layers:
            layer.mixer.D.copy_(1.0 + 0.1 * torch.randn(layer.mixer.D.shape, generator=generator))
    return model


def mamba_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    ids = torch.randint(0, MambaConfig().vocab_size, (args.batch, args.seq),
                        dtype=torch.long, generator=generator)
    return {"input_ids": ids}


def ids_lm(build, make_inputs) -> "ModelSpec":
    """A causal LM taking input_ids alone."""
    return ModelSpec(build=build, make_inputs=make_inputs, output_names=["logits"],
                     dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                   "logits": {0: "batch", 1: "sequence"}})


def padded_ids(vocab_size, left: bool):
    """make_inputs of random input_ids and an attention_mask padded at the
    start (left) or the end."""
    def make_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
        ids = torch.randint(0, vocab_size, (args.batch, args.seq), dtype=torch.long,
                            generator=generator)
        return {"input_ids": ids, "attention_mask": padding_mask(args, left=left)}
    return make_inputs


def masked_lm(build, vocab_size) -> "ModelSpec":
    """A causal LM taking input_ids and a left-padded attention_mask."""
    return ModelSpec(build=build, make_inputs=padded_ids(vocab_size, left=True),
                     output_names=["logits"], dynamic_axes=MASKED_LM_AXES)


# --------------------------------------------------------------------------
# T5-style encoder: a learned relative position bias per head from bucketed
# distances (Abs, Log, Cast to int64, Min, Where; a constant once the
# sequence length is known), no score scaling, T5's RMS norm (no mean, no
# bias) in f32, a gated tanh-GELU MLP, the padding mask added as a bias.
# --------------------------------------------------------------------------
@dataclass
class T5Config:
    vocab_size: int = 96
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    ffn_dim: int = 128
    buckets: int = 32
    max_distance: int = 128


def relative_bucket(relative, buckets, max_distance):
    """Hugging Face's bidirectional T5 bucketing."""
    buckets //= 2
    result = (relative > 0).to(torch.long) * buckets
    relative = torch.abs(relative)
    exact = buckets // 2
    is_small = relative < exact
    large = exact + (torch.log(relative.float() / exact) / math.log(max_distance / exact)
                     * (buckets - exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, buckets - 1))
    return result + torch.where(is_small, relative, large)


class T5Norm(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        variance = x.to(torch.float32).pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(variance + 1e-6)
        # Back to the weight's type in 16-bit models, as Hugging Face's T5.
        return self.weight * x.to(self.weight.dtype)


class T5Block(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.n_heads = config.n_heads
        self.head_dim = config.d_model // config.n_heads
        self.norm_attn, self.norm_mlp = T5Norm(config.d_model), T5Norm(config.d_model)
        self.q, self.k, self.v, self.o = (nn.Linear(config.d_model, config.d_model, bias=False)
                                          for _ in range(4))
        self.wi_0 = nn.Linear(config.d_model, config.ffn_dim, bias=False)
        self.wi_1 = nn.Linear(config.d_model, config.ffn_dim, bias=False)
        self.wo = nn.Linear(config.ffn_dim, config.d_model, bias=False)

    def forward(self, x, bias):
        batch, seq, d_model = x.shape
        h = self.norm_attn(x)
        heads = lambda t: t.view(batch, -1, self.n_heads, self.head_dim).transpose(1, 2)
        q, k, v = heads(self.q(h)), heads(self.k(h)), heads(self.v(h))
        scores = torch.matmul(q, k.transpose(3, 2)) + bias
        weights = F.softmax(scores.float(), dim=-1).type_as(scores)
        x = x + self.o(torch.matmul(weights, v).transpose(1, 2).reshape(batch, -1, d_model))
        h = self.norm_mlp(x)
        return x + self.wo(F.gelu(self.wi_0(h), approximate="tanh") * self.wi_1(h))


class T5Encoder(nn.Module):
    def __init__(self, config: T5Config):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.d_model)
        self.relative_bias = nn.Embedding(config.buckets, config.n_heads)
        self.blocks = nn.ModuleList(T5Block(config) for _ in range(config.n_layers))
        self.norm = T5Norm(config.d_model)

    def forward(self, input_ids, attention_mask):
        seq = input_ids.shape[1]
        positions = torch.arange(seq, dtype=torch.long)
        buckets = relative_bucket(positions[None, :] - positions[:, None],
                                  self.config.buckets, self.config.max_distance)
        bias = self.relative_bias(buckets).permute([2, 0, 1]).unsqueeze(0)
        h = self.embed(input_ids)
        # The padding bias in the activations' type, as Hugging Face's.
        padding = 1.0 - attention_mask[:, None, None, :].to(h.dtype)
        bias = bias + padding * torch.finfo(h.dtype).min
        for block in self.blocks:
            h = block(h, bias)
        return self.norm(h)


def build_t5_encoder(args) -> nn.Module:
    model = T5Encoder(T5Config())
    generator = torch.Generator().manual_seed(args.seed + 1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, T5Norm):
                module.weight.copy_(1.0 + 0.1 * torch.randn(module.weight.shape,
                                                            generator=generator))
    return model


# --------------------------------------------------------------------------
# ViT-style image classifier: a Conv2d patch embedding (kernel = stride =
# patch, exported as Conv), a class token, learned positions, torch's
# pre-LayerNorm encoder, the class token's logits.
# --------------------------------------------------------------------------
@dataclass
class ViTConfig:
    image: int = 32
    patch: int = 8
    channels: int = 3
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    ffn_dim: int = 128
    labels: int = 10


def pre_norm_encoder(d_model, n_heads, ffn_dim, n_layers):
    """torch's encoder with pre-LayerNorm blocks and GELU (reference: see
    bert_reference)."""
    layer = nn.TransformerEncoderLayer(d_model, n_heads, dim_feedforward=ffn_dim,
                                       dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)


class ViT(nn.Module):
    def __init__(self, config: ViTConfig):
        super().__init__()
        self.patch_embed = nn.Conv2d(config.channels, config.d_model, config.patch,
                                     stride=config.patch)
        patches = (config.image // config.patch) ** 2
        self.cls_token = nn.Parameter(0.02 * torch.randn(1, 1, config.d_model))
        self.positions = nn.Parameter(0.02 * torch.randn(1, patches + 1, config.d_model))
        self.encoder = pre_norm_encoder(config.d_model, config.n_heads, config.ffn_dim,
                                        config.n_layers)
        self.norm = nn.LayerNorm(config.d_model)
        self.classifier = nn.Linear(config.d_model, config.labels)

    def forward(self, pixel_values):
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        h = self.norm(self.encoder(x + self.positions))
        return self.classifier(h[:, 0])


def build_vit(args) -> nn.Module:
    model = ViT(ViTConfig())
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


def vit_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    config = ViTConfig()
    return {"pixel_values": torch.randn(args.batch, config.channels, config.image,
                                        config.image, generator=generator)}


# --------------------------------------------------------------------------
# Whisper-style audio encoder: two Conv1d over mel frames (kernel 3, padding
# 1, the second with stride 2) with GELU, sinusoidal positions, torch's
# pre-LayerNorm encoder, a final LayerNorm. --seq is the number of frames.
# --------------------------------------------------------------------------
@dataclass
class WhisperConfig:
    mels: int = 16
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    ffn_dim: int = 128
    max_frames: int = 128


class WhisperEncoder(nn.Module):
    def __init__(self, config: WhisperConfig):
        super().__init__()
        self.conv1 = nn.Conv1d(config.mels, config.d_model, 3, padding=1)
        self.conv2 = nn.Conv1d(config.d_model, config.d_model, 3, stride=2, padding=1)
        positions = torch.arange(config.max_frames // 2, dtype=torch.float32)[:, None]
        scales = torch.exp(-math.log(10000) * torch.arange(config.d_model // 2) /
                           (config.d_model // 2 - 1))
        angles = positions * scales[None]
        self.register_buffer("embed_positions",
                             torch.cat([angles.sin(), angles.cos()], dim=1))
        self.encoder = pre_norm_encoder(config.d_model, config.n_heads, config.ffn_dim,
                                        config.n_layers)
        self.norm = nn.LayerNorm(config.d_model)

    def forward(self, input_features):
        x = F.gelu(self.conv1(input_features))
        x = F.gelu(self.conv2(x)).permute(0, 2, 1)
        x = x + self.embed_positions[: x.shape[1]]
        return self.norm(self.encoder(x))


def build_whisper_encoder(args) -> nn.Module:
    config = WhisperConfig()
    if args.seq > config.max_frames:
        raise SystemExit(f"export_models: error: --seq {args.seq} exceeds the "
                         f"model's {config.max_frames} frames")
    model = WhisperEncoder(config)
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


def whisper_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    return {"input_features": torch.randn(args.batch, WhisperConfig().mels, args.seq,
                                          generator=generator)}


# --------------------------------------------------------------------------
# DeBERTa-v2-style encoder (Hugging Face's modeling_deberta_v2, eager):
# disentangled attention. Relative positions in log buckets (Sign, Abs,
# Log, Ceil, Where; constants once the length is known), content-to-
# position and position-to-content scores picked by torch.gather
# (GatherElements) from products with the projected relative embeddings
# (share_att_key), scores scaled by sqrt(3 * head_dim), XSoftmax's masking
# (the [B, 1, S, S] product of the padding mask with itself: filled with
# finfo.min before the softmax and with 0 after), post-LayerNorm blocks.
# --------------------------------------------------------------------------
@dataclass
class DebertaConfig:
    vocab_size: int = 96
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    buckets: int = 16  # position_buckets; att_span is the same
    max_position: int = 64


def log_bucket_position(relative, buckets, max_position):
    sign = torch.sign(relative)
    mid = buckets // 2
    magnitude = torch.where((relative < mid) & (relative > -mid),
                            torch.tensor(mid - 1).type_as(relative), torch.abs(relative))
    log_position = torch.ceil(torch.log(magnitude / mid) /
                              torch.log(torch.tensor((max_position - 1) / mid)) *
                              (mid - 1)) + mid
    return torch.where(magnitude <= mid, relative.type_as(log_position), log_position * sign)


class DebertaAttention(nn.Module):
    def __init__(self, config: DebertaConfig):
        super().__init__()
        d = config.d_model
        self.heads, self.head_dim, self.span = config.n_heads, d // config.n_heads, config.buckets
        self.query, self.key, self.value = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.out, self.norm = nn.Linear(d, d), nn.LayerNorm(d)

    def heads_first(self, x):
        batch, length, _ = x.shape
        return (x.view(batch, length, self.heads, self.head_dim).permute(0, 2, 1, 3)
                .contiguous().view(-1, length, self.head_dim))

    def forward(self, x, mask, relative, embeddings):
        batch, length, _ = x.shape
        q, k, v = (self.heads_first(f(x)) for f in (self.query, self.key, self.value))
        scale = math.sqrt(self.head_dim * 3)
        scores = torch.bmm(q, k.transpose(-1, -2) / scale)
        position_keys = self.heads_first(self.key(embeddings)).repeat(batch, 1, 1)
        position_queries = self.heads_first(self.query(embeddings)).repeat(batch, 1, 1)
        span = self.span
        c2p = torch.bmm(q, position_keys.transpose(-1, -2) / scale)
        c2p_index = torch.clamp(relative + span, 0, 2 * span - 1)
        c2p = torch.gather(c2p, dim=-1,
                           index=c2p_index.squeeze(0).expand([q.size(0), length, length]))
        p2c = torch.bmm(k, position_queries.transpose(-1, -2) / scale)
        p2c_index = torch.clamp(-relative + span, 0, 2 * span - 1)
        p2c = torch.gather(p2c, dim=-1, index=p2c_index.squeeze(0).expand(
            [k.size(0), length, length])).transpose(-1, -2)
        scores = (scores + c2p + p2c).view(batch, self.heads, length, length)
        masked = ~mask.to(torch.bool)
        weights = torch.softmax(scores.masked_fill(masked, torch.finfo(scores.dtype).min), -1)
        weights = weights.masked_fill(masked, 0)
        context = torch.bmm(weights.view(-1, length, length), v)
        context = (context.view(batch, self.heads, length, self.head_dim).permute(0, 2, 1, 3)
                   .reshape(batch, length, -1))
        return self.norm(self.out(context) + x)


class Deberta(nn.Module):
    def __init__(self, config: DebertaConfig):
        super().__init__()
        d = config.d_model
        self.config = config
        self.embed, self.embed_norm = nn.Embedding(config.vocab_size, d), nn.LayerNorm(d)
        self.relative_embeddings = nn.Embedding(2 * config.buckets, d)
        self.relative_norm = nn.LayerNorm(d)
        self.attention = nn.ModuleList(DebertaAttention(config) for _ in range(config.n_layers))
        self.mlp = nn.ModuleList(nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
                                 for _ in range(config.n_layers))
        self.mlp_norm = nn.ModuleList(nn.LayerNorm(d) for _ in range(config.n_layers))

    def forward(self, input_ids, attention_mask):
        x = self.embed_norm(self.embed(input_ids))
        x = x * attention_mask.unsqueeze(2).to(x.dtype)
        mask = attention_mask.unsqueeze(1).unsqueeze(2)
        mask = mask * mask.squeeze(-2).unsqueeze(-1)
        length = input_ids.size(1)
        positions = torch.arange(length)
        relative = log_bucket_position(positions[:, None] - positions[None, :],
                                       self.config.buckets, self.config.max_position)
        relative = relative.to(torch.long).unsqueeze(0)
        embeddings = self.relative_norm(self.relative_embeddings.weight).unsqueeze(0)
        for attention, mlp, norm in zip(self.attention, self.mlp, self.mlp_norm):
            x = attention(x, mask, relative, embeddings)
            x = norm(mlp(x) + x)
        return x


def build_deberta(args) -> nn.Module:
    model = Deberta(DebertaConfig())
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


# --------------------------------------------------------------------------
# Swin-style image classifier (Hugging Face's modeling_swin / timm, eager):
# 4x4 patches, windows of 4x4 tokens by 6-D view and permute, attention in
# each window with a relative position bias gathered from a table by a
# constant index, every second block shifted by torch.roll (Slice + Concat)
# with the shifted windows' mask added through a 5-D view, qkv[0..2] taken
# by Gather, patch merging by strided slices and a LayerNorm, mean pooling.
# --------------------------------------------------------------------------
@dataclass
class SwinConfig:
    image: int = 32
    patch: int = 4
    d_model: int = 32
    n_heads: int = 2
    window: int = 4
    labels: int = 10


def window_partition(x, window):
    batch, height, width, channels = x.shape
    x = x.view(batch, height // window, window, width // window, window, channels)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window, window, channels)


def window_reverse(windows, window, height, width):
    channels = windows.shape[-1]
    x = windows.view(-1, height // window, width // window, window, window, channels)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, height, width, channels)


class SwinBlock(nn.Module):
    """Swin's block; with v2, Swin V2's (Hugging Face's Swinv2Layer): cosine
    attention scaled per head by exp(min(logit_scale, log 100)), the
    relative bias 16 * sigmoid of a small MLP over log-spaced relative
    coordinates, and the norms after the attention and the MLP."""

    def __init__(self, d, heads, resolution, window, shift, v2=False):
        super().__init__()
        self.heads, self.window, self.shift, self.resolution = heads, window, shift, resolution
        self.v2 = v2
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.bias_table = nn.Parameter(0.5 * torch.randn((2 * window - 1) ** 2, heads))
        if v2:
            self.logit_scale = nn.Parameter(torch.log(10 * torch.rand(heads, 1, 1) + 1))
            self.bias_mlp = nn.Sequential(nn.Linear(2, 64), nn.ReLU(),
                                          nn.Linear(64, heads, bias=False))
            span = torch.arange(-(window - 1), window, dtype=torch.float32)
            table = torch.stack(torch.meshgrid([span, span], indexing="ij")).permute(1, 2, 0)
            table = table / (window - 1) * 8
            table = torch.sign(table) * torch.log2(table.abs() + 1.0) / math.log2(8)
            self.register_buffer("coords_table", table.reshape(-1, 2))
        coords = torch.stack(torch.meshgrid([torch.arange(window)] * 2, indexing="ij")).flatten(1)
        relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        relative[:, :, 0] += window - 1
        relative[:, :, 1] += window - 1
        relative[:, :, 0] *= 2 * window - 1
        self.register_buffer("bias_index", relative.sum(-1))
        mask = None
        if shift:
            regions = torch.zeros(1, resolution, resolution, 1)
            count = 0
            for rows in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
                for cols in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
                    regions[:, rows, cols, :] = count
                    count += 1
            windows = window_partition(regions, window).view(-1, window * window)
            mask = windows.unsqueeze(1) - windows.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        self.register_buffer("shift_mask", mask)

    def forward(self, x):
        batch, _, channels = x.shape
        size, window = self.resolution, self.window
        shortcut = x
        x = (x if self.v2 else self.norm1(x)).view(batch, size, size, channels)
        if self.shift:
            x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        windows = window_partition(x, window).view(-1, window * window, channels)
        count, tokens, _ = windows.shape
        qkv = self.qkv(windows).reshape(count, tokens, 3, self.heads, channels // self.heads)
        qkv = qkv.permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.v2:
            scores = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
            scores = scores * torch.clamp(self.logit_scale, max=math.log(100.0)).exp()
            table = self.bias_mlp(self.coords_table)
        else:
            scores = (q * (channels // self.heads) ** -0.5) @ k.transpose(-2, -1)
            table = self.bias_table
        bias = table[self.bias_index.view(-1)].view(tokens, tokens, -1)
        bias = bias.permute(2, 0, 1).contiguous()
        if self.v2:
            bias = 16 * torch.sigmoid(bias)
        scores = scores + bias.unsqueeze(0)
        if self.shift_mask is not None:
            per_image = self.shift_mask.shape[0]
            scores = scores.view(count // per_image, per_image, self.heads, tokens, tokens)
            scores = scores + self.shift_mask.unsqueeze(1).unsqueeze(0)
            scores = scores.view(-1, self.heads, tokens, tokens)
        windows = (scores.softmax(-1) @ v).transpose(1, 2).reshape(count, tokens, channels)
        x = window_reverse(self.proj(windows).view(-1, window, window, channels), window,
                           size, size)
        if self.shift:
            x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x.view(batch, size * size, channels)
        if self.v2:
            x = shortcut + self.norm1(x)
            return x + self.norm2(self.mlp(x))
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class Swin(nn.Module):
    def __init__(self, config: SwinConfig, v2=False):
        super().__init__()
        d, heads, window = config.d_model, config.n_heads, config.window
        self.grid, self.v2 = config.image // config.patch, v2
        self.patch_embed = nn.Conv2d(3, d, config.patch, stride=config.patch)
        self.patch_norm = nn.LayerNorm(d)
        self.stage1 = nn.ModuleList([SwinBlock(d, heads, self.grid, window, 0, v2),
                                     SwinBlock(d, heads, self.grid, window, window // 2, v2)])
        # Swin V2 normalizes the patch merging's output, not its input.
        self.merge_norm = nn.LayerNorm(2 * d if v2 else 4 * d)
        self.merge = nn.Linear(4 * d, 2 * d, bias=False)
        self.stage2 = nn.ModuleList(
            [SwinBlock(2 * d, 2 * heads, self.grid // 2, window, 0, v2),
             SwinBlock(2 * d, 2 * heads, self.grid // 2, window, window // 2, v2)])
        self.norm = nn.LayerNorm(2 * d)
        self.classifier = nn.Linear(2 * d, config.labels)

    def forward(self, pixel_values):
        x = self.patch_norm(self.patch_embed(pixel_values).flatten(2).transpose(1, 2))
        for block in self.stage1:
            x = block(x)
        batch, _, channels = x.shape
        x = x.view(batch, self.grid, self.grid, channels)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]],
                      -1).view(batch, -1, 4 * channels)
        x = self.merge_norm(self.merge(x)) if self.v2 else self.merge(self.merge_norm(x))
        for block in self.stage2:
            x = block(x)
        x = F.adaptive_avg_pool1d(self.norm(x).transpose(1, 2), 1).flatten(1)
        return self.classifier(x)


def build_swin(args, v2=False) -> nn.Module:
    model = Swin(SwinConfig(), v2)
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


def swin_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    config = SwinConfig()
    return {"pixel_values": torch.randn(args.batch, 3, config.image, config.image,
                                        generator=generator)}


# --------------------------------------------------------------------------
# CLIP-style text encoder (Hugging Face's CLIPTextModelWithProjection, as
# Stable Diffusion's text encoder): token and position embeddings, a causal
# mask from torch.full(finfo.min).triu_(1) plus the padding, pre-LayerNorm
# blocks with QuickGELU (x * sigmoid(1.702 x)), and the pooled state of
# each row's end token, found by argmax over the ids (its id is the
# largest) and picked by advanced indexing, then a projection.
# --------------------------------------------------------------------------
@dataclass
class ClipConfig:
    vocab_size: int = 96
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    max_positions: int = 32
    projection: int = 32


class ClipLayer(nn.Module):
    def __init__(self, config: ClipConfig):
        super().__init__()
        d = config.d_model
        self.heads = config.n_heads
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x, mask):
        batch, length, d = x.shape
        head_dim = d // self.heads

        def heads_first(t):
            return t.view(batch, length, self.heads, head_dim).transpose(1, 2).reshape(
                batch * self.heads, length, head_dim)

        h = self.norm1(x)
        q, k, v = heads_first(self.q(h) * head_dim ** -0.5), heads_first(self.k(h)), \
            heads_first(self.v(h))
        scores = torch.bmm(q, k.transpose(1, 2)).view(batch, self.heads, length, length) + mask
        weights = F.softmax(scores.view(batch * self.heads, length, length), dim=-1)
        context = torch.bmm(weights, v).view(batch, self.heads, length, head_dim)
        x = x + self.out(context.transpose(1, 2).reshape(batch, length, d))
        h = self.fc1(self.norm2(x))
        return x + self.fc2(h * torch.sigmoid(1.702 * h))


class ClipText(nn.Module):
    def __init__(self, config: ClipConfig):
        super().__init__()
        self.tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.positions = nn.Embedding(config.max_positions, config.d_model)
        self.register_buffer("position_ids", torch.arange(config.max_positions).expand((1, -1)))
        self.layers = nn.ModuleList(ClipLayer(config) for _ in range(config.n_layers))
        self.final_norm = nn.LayerNorm(config.d_model)
        self.projection = nn.Linear(config.d_model, config.projection, bias=False)

    def forward(self, input_ids, attention_mask):
        batch, length = input_ids.shape
        x = self.tokens(input_ids) + self.positions(self.position_ids[:, :length])
        minimum = torch.finfo(x.dtype).min
        causal = torch.full((batch, length, length), minimum).triu_(1).unsqueeze(1)
        padding = 1.0 - attention_mask[:, None, None, :].expand(batch, 1, length, length).to(
            x.dtype)
        mask = causal + padding.masked_fill(padding.to(torch.bool), minimum)
        for layer in self.layers:
            x = layer(x, mask)
        x = self.final_norm(x)
        pooled = x[torch.arange(batch), input_ids.to(torch.int).argmax(dim=-1)]
        return self.projection(pooled)


def build_clip_text(args) -> nn.Module:
    config = ClipConfig()
    if args.seq > config.max_positions:
        raise SystemExit(f"export_models: error: --seq {args.seq} exceeds the "
                         f"model's {config.max_positions} positions")
    model = ClipText(config)
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


def clip_text_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    """Right-padded ids whose last real token is the end token (the largest
    id), padding 0."""
    end = ClipConfig().vocab_size - 1
    ids = torch.randint(1, end, (args.batch, args.seq), dtype=torch.long, generator=generator)
    mask = padding_mask(args, left=False)
    for b in range(args.batch):
        real = int(mask[b].sum())
        ids[b, real - 1] = end
        ids[b, real:] = 0
    return {"input_ids": ids, "attention_mask": mask}


# --------------------------------------------------------------------------
# Wav2Vec2-style speech encoder (Hugging Face's modeling_wav2vec2, base
# layout): a convolutional feature encoder over the raw waveform (Conv1d
# kernel 10 stride 5, GroupNorm with a group per channel, GELU, then
# strided Conv1d), a feature projection, a grouped positional Conv1d under
# weight_norm (dim 2; the weight computed from g and v in the graph) with
# the even kernel's last output dropped, post-LayerNorm torch
# MultiheadAttention blocks. --seq is the number of samples.
# --------------------------------------------------------------------------
@dataclass
class Wav2Vec2Config:
    conv_dim: int = 32
    d_model: int = 48
    n_heads: int = 4
    n_layers: int = 2
    position_kernel: int = 16
    position_groups: int = 4


class Wav2Vec2Layer(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.attention = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, x):
        x = self.norm1(x + self.attention(x, x, x, need_weights=False)[0])
        return self.norm2(x + self.mlp(x))


class Wav2Vec2(nn.Module):
    def __init__(self, config: Wav2Vec2Config):
        super().__init__()
        c, d = config.conv_dim, config.d_model
        self.conv0 = nn.Conv1d(1, c, 10, stride=5, bias=False)
        self.conv0_norm = nn.GroupNorm(c, c)
        self.convs = nn.ModuleList([nn.Conv1d(c, c, 3, stride=2, bias=False),
                                    nn.Conv1d(c, c, 2, stride=2, bias=False)])
        self.feature_norm, self.projection = nn.LayerNorm(c), nn.Linear(c, d)
        self.kernel = config.position_kernel
        self.position_conv = nn.utils.weight_norm(
            nn.Conv1d(d, d, self.kernel, padding=self.kernel // 2,
                      groups=config.position_groups), name="weight", dim=2)
        self.norm = nn.LayerNorm(d)
        self.layers = nn.ModuleList(Wav2Vec2Layer(d, config.n_heads)
                                    for _ in range(config.n_layers))

    def forward(self, input_values):
        x = F.gelu(self.conv0_norm(self.conv0(input_values[:, None])))
        for conv in self.convs:
            x = F.gelu(conv(x))
        x = self.projection(self.feature_norm(x.transpose(1, 2)))
        positions = self.position_conv(x.transpose(1, 2))
        if self.kernel % 2 == 0:
            positions = positions[:, :, :-1]
        x = self.norm(x + F.gelu(positions).transpose(1, 2))
        for layer in self.layers:
            x = layer(x)
        return x


def build_wav2vec2(args) -> nn.Module:
    model = Wav2Vec2(Wav2Vec2Config())
    _randomize_layer_norms(model, torch.Generator().manual_seed(args.seed + 1))
    return model


def wav2vec2_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    return {"input_values": torch.randn(args.batch, args.seq, generator=generator)}


# --------------------------------------------------------------------------
# SegFormer/PVT-style segmenter, the vision transformer shapes that pool and
# resize: a convolutional stem (Conv2d stride 2, BatchNorm, ReLU, MaxPool2d
# 3/2/1 as ResNet's), learned positions on a 4x4 grid resized to the tokens'
# grid by bicubic interpolation (as ViT's interpolate_pos_encoding), blocks
# whose keys and values come from an AvgPool2d of the tokens (3/2/1,
# ceil_mode, count_include_pad=False: the last window past the padding), a
# strided Conv2d to a second stage, and a decode head that brings the
# second stage back up (bilinear, and nearest x2 as FPN's top-down path),
# fuses it with the first, upscales x2 by a ConvTranspose2d (2/2, as SAM's
# mask decoder) and the class map x2 (bilinear, align_corners) to the image. The image is --seq pixels square (a multiple
# of 16).
# --------------------------------------------------------------------------
@dataclass
class SegConfig:
    channels: int = 3
    dims: tuple = (16, 32)
    n_heads: int = 2
    ffn_dim: int = 64
    labels: int = 5


class PooledAttentionBlock(nn.Module):
    """Pre-LayerNorm block whose keys and values attend over a pooled grid."""

    def __init__(self, dim, n_heads, ffn_dim):
        super().__init__()
        self.n_heads = n_heads
        self.norm1 = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                 count_include_pad=False)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, ffn_dim), nn.GELU(), nn.Linear(ffn_dim, dim))

    def forward(self, x, h, w):
        b, n, c = x.shape
        d = c // self.n_heads
        y = self.norm1(x)
        q = self.q(y).reshape(b, n, self.n_heads, d).transpose(1, 2)
        grid = self.pool(y.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
        k, v = self.kv(grid).reshape(b, -1, 2, self.n_heads, d).permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d)
        attn = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, c)
        x = x + self.proj(attn)
        return x + self.mlp(self.norm2(x))


class Segmenter(nn.Module):
    def __init__(self, config: SegConfig):
        super().__init__()
        c1, c2 = config.dims
        self.stem = nn.Sequential(nn.Conv2d(config.channels, c1, 3, stride=2, padding=1),
                                  nn.BatchNorm2d(c1), nn.ReLU(),
                                  nn.MaxPool2d(3, stride=2, padding=1))
        self.positions = nn.Parameter(0.5 * torch.randn(1, c1, 4, 4))
        self.block1 = PooledAttentionBlock(c1, config.n_heads, config.ffn_dim)
        self.down = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.block2 = PooledAttentionBlock(c2, config.n_heads, config.ffn_dim)
        self.lateral = nn.Conv2d(c2, c1, 1)
        self.fuse = nn.Conv2d(3 * c1, c1, 1)
        self.upscale = nn.ConvTranspose2d(c1, c1, 2, stride=2)
        self.classifier = nn.Conv2d(c1, config.labels, 1)

    @staticmethod
    def tokens(x):
        return x.flatten(2).transpose(1, 2)

    @staticmethod
    def grid(x, h, w):
        return x.transpose(1, 2).reshape(x.shape[0], -1, h, w)

    def forward(self, pixel_values):
        x = self.stem(pixel_values)
        h, w = x.shape[-2:]
        x = x + F.interpolate(self.positions, size=(h, w), mode="bicubic",
                              align_corners=False)
        f1 = self.grid(self.block1(self.tokens(x), h, w), h, w)
        f2 = self.down(f1)
        h2, w2 = f2.shape[-2:]
        f2 = self.lateral(self.grid(self.block2(self.tokens(f2), h2, w2), h2, w2))
        up = F.interpolate(f2, size=(h, w), mode="bilinear", align_corners=False)
        near = F.interpolate(f2, scale_factor=2, mode="nearest")
        fused = F.relu(self.fuse(torch.cat([f1, up, near], dim=1)))
        fused = F.gelu(self.upscale(fused))
        return F.interpolate(self.classifier(fused), scale_factor=2, mode="bilinear",
                             align_corners=True)


def build_segmenter(args) -> nn.Module:
    model = Segmenter(SegConfig())
    generator = torch.Generator().manual_seed(args.seed + 1)
    _randomize_layer_norms(model, generator)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            with torch.no_grad():
                module.running_mean.copy_(0.1 * torch.randn(module.num_features,
                                                            generator=generator))
                module.running_var.copy_(0.5 + torch.rand(module.num_features,
                                                          generator=generator))
    return model


def segmenter_inputs(args, generator: torch.Generator) -> Dict[str, torch.Tensor]:
    config = SegConfig()
    if args.seq % 16:
        raise SystemExit(f"export_models: error: --seq {args.seq} (the image side) "
                         "is not a multiple of 16")
    return {"pixel_values": torch.randn(args.batch, config.channels, args.seq,
                                        args.seq, generator=generator)}


@dataclass
class ModelSpec:
    build: Callable[[argparse.Namespace], nn.Module]
    make_inputs: Callable[[argparse.Namespace, torch.Generator], Dict[str, torch.Tensor]]
    output_names: List[str]
    # Input name -> {axis: symbolic name} used with --dynamic.
    dynamic_axes: Dict[str, Dict[int, str]]
    # torch's reference outputs; by default the eval-mode model under no_grad.
    reference: Optional[Callable[[nn.Module, Dict[str, torch.Tensor]], object]] = None


# The dynamic axes of a causal LM with an attention mask.
MASKED_LM_AXES = {"input_ids": {0: "batch", 1: "sequence"},
                  "attention_mask": {0: "batch", 1: "sequence"},
                  "logits": {0: "batch", 1: "sequence"}}


MODELS: Dict[str, ModelSpec] = {
    "gpt2": ids_lm(build_gpt2, gpt2_inputs),
    "bert": ModelSpec(
        build=build_bert,
        make_inputs=bert_inputs,
        output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                      "attention_mask": {0: "batch", 1: "sequence"},
                      "last_hidden_state": {0: "batch", 1: "sequence"}},
        reference=bert_reference,
    ),
    "neox": masked_lm(build_neox, NeoXConfig().vocab_size),
    "gpt2-kv": ModelSpec(
        build=build_gpt2_kv,
        make_inputs=gpt2_kv_inputs,
        output_names=["logits"] + kv_names("present_{kind}_{i}", GPT2Config().n_layers),
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                      **{name: {0: "batch", 2: "past"}
                         for name in kv_names("past_{kind}_{i}", GPT2Config().n_layers)},
                      "logits": {0: "batch", 1: "sequence"}},
    ),
    "llama-kv": ModelSpec(
        build=build_llama_kv,
        make_inputs=llama_kv_inputs,
        output_names=["logits"] + kv_names("present.{i}.{kind}", LlamaConfig().n_layers),
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                      "attention_mask": {0: "batch", 1: "total"},
                      "position_ids": {0: "batch", 1: "sequence"},
                      **{name: {0: "batch", 2: "past"}
                         for name in kv_names("past_key_values.{i}.{kind}", LlamaConfig().n_layers)},
                      "logits": {0: "batch", 1: "sequence"},
                      **{name: {0: "batch", 2: "total"}
                         for name in kv_names("present.{i}.{kind}", LlamaConfig().n_layers)}},
    ),
    "gpt2-cls": ModelSpec(
        build=build_gpt2_cls,
        make_inputs=gpt2_cls_inputs,
        output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                      "attention_mask": {0: "batch", 1: "sequence"},
                      "logits": {0: "batch"}},
    ),
    "bert-embed": ModelSpec(
        build=build_bert_embed,
        make_inputs=bert_inputs,
        output_names=["sentence_embedding"],
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                      "attention_mask": {0: "batch", 1: "sequence"},
                      "sentence_embedding": {0: "batch"}},
        reference=bert_reference,
    ),
    "gptj": ModelSpec(
        build=build_gptj,
        make_inputs=gptj_inputs,
        output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                      "position_ids": {0: "batch", 1: "sequence"},
                      "logits": {0: "batch", 1: "sequence"}},
    ),
    "bloom": masked_lm(build_bloom, BloomConfig().vocab_size),
    "phi": masked_lm(build_phi, PhiConfig().vocab_size),
    "opt": masked_lm(build_opt, GPT2Config().vocab_size),
    "gemma": masked_lm(build_gemma, GemmaConfig().vocab_size),
    "gemma-sliding": masked_lm(lambda args: build_gemma(args, window=4),
                               GemmaConfig().vocab_size),
    "gpt-oss": masked_lm(build_gpt_oss, LlamaConfig().vocab_size),
    "gemma2": masked_lm(lambda args: build_gemma(args, window=4, softcap=1.0,
                                                 final_softcap=5.0, alternate=True),
                        GemmaConfig().vocab_size),
    "bigcode": masked_lm(build_bigcode, GPT2Config().vocab_size),
    "bart": ModelSpec(
        build=build_bart,
        make_inputs=bart_inputs,
        output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                      "attention_mask": {0: "batch", 1: "sequence"},
                      "decoder_input_ids": {0: "batch", 1: "target"},
                      "logits": {0: "batch", 1: "target"}},
    ),
    "t5-encoder": ModelSpec(
        build=build_t5_encoder,
        make_inputs=padded_ids(T5Config().vocab_size, left=False),
        output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                      "attention_mask": {0: "batch", 1: "sequence"},
                      "last_hidden_state": {0: "batch", 1: "sequence"}},
    ),
    "vit": ModelSpec(
        build=build_vit,
        make_inputs=vit_inputs,
        output_names=["logits"],
        dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}},
        reference=bert_reference,
    ),
    "whisper-encoder": ModelSpec(
        build=build_whisper_encoder,
        make_inputs=whisper_inputs,
        output_names=["last_hidden_state"],
        dynamic_axes={"input_features": {0: "batch", 2: "frames"},
                      "last_hidden_state": {0: "batch", 1: "positions"}},
        reference=bert_reference,
    ),
    "segformer": ModelSpec(
        build=build_segmenter,
        make_inputs=segmenter_inputs,
        output_names=["logits"],
        dynamic_axes={"pixel_values": {0: "batch", 2: "height", 3: "width"},
                      "logits": {0: "batch", 2: "height", 3: "width"}},
    ),
    "deberta": ModelSpec(
        build=build_deberta,
        make_inputs=padded_ids(DebertaConfig().vocab_size, left=False),
        output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                      "attention_mask": {0: "batch", 1: "sequence"},
                      "last_hidden_state": {0: "batch", 1: "sequence"}},
    ),
    "swin": ModelSpec(
        build=build_swin,
        make_inputs=swin_inputs,
        output_names=["logits"],
        dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}},
    ),
    "swinv2": ModelSpec(
        build=lambda args: build_swin(args, v2=True),
        make_inputs=swin_inputs,
        output_names=["logits"],
        dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}},
    ),
    "clip-text": ModelSpec(
        build=build_clip_text,
        make_inputs=clip_text_inputs,
        output_names=["text_embeds"],
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                      "attention_mask": {0: "batch", 1: "sequence"},
                      "text_embeds": {0: "batch"}},
    ),
    "wav2vec2": ModelSpec(
        build=build_wav2vec2,
        make_inputs=wav2vec2_inputs,
        output_names=["last_hidden_state"],
        dynamic_axes={"input_values": {0: "batch", 1: "samples"},
                      "last_hidden_state": {0: "batch", 1: "frames"}},
    ),
    "llama": ids_lm(build_llama, llama_inputs),
    "mixtral": ids_lm(build_mixtral, llama_inputs),
    "deepseek": masked_lm(build_deepseek, DeepSeekConfig().vocab_size),
    "mamba": ids_lm(build_mamba, mamba_inputs),
    "gpt2-loss": ModelSpec(
        build=build_gpt2_loss,
        make_inputs=gpt2_loss_inputs,
        output_names=["logits", "loss", "token_nll"],
        dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                      "labels": {0: "batch", 1: "sequence"},
                      "logits": {0: "batch", 1: "sequence"},
                      "token_nll": {0: "batch"}},
    ),
}


def export(args) -> Dict[str, np.ndarray]:
    spec = MODELS[args.model]
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    model = spec.build(args).eval()
    if args.norm_outliers:
        _add_norm_outliers(model, args.norm_outliers,
                           torch.Generator().manual_seed(args.seed + 3))
    inputs = spec.make_inputs(args, torch.Generator().manual_seed(args.seed + 2))
    input_names = list(inputs)

    os.makedirs(args.out, exist_ok=True)
    model_path = os.path.join(args.out, "model.onnx")
    if spec.reference:
        outputs = spec.reference(model, inputs)
    else:
        with torch.no_grad():
            outputs = model(*inputs.values())
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    if args.bfloat16:
        # A bf16 model is exported from torch as such (weights and
        # activations bf16); the reference outputs stay the fp32 ones.
        model = model.to(torch.bfloat16)
        inputs = {name: t.to(torch.bfloat16) if t.is_floating_point() else t
                  for name, t in inputs.items()}
    # Not under no_grad: with grad enabled, nn.TransformerEncoderLayer traces
    # its plain path, not the fused fast path that ONNX cannot express.
    torch.onnx.export(
        model,
        tuple(inputs.values()),
        model_path,
        input_names=input_names,
        output_names=spec.output_names,
        dynamic_axes=spec.dynamic_axes if args.dynamic else None,
        opset_version=args.opset,
        do_constant_folding=True,
        # Every module a local function (FunctionProto), as
        # export_modules_as_functions writes them (opset 15 or later).
        **({"export_modules_as_functions": True} if args.functions else {}),
    )

    if args.float16:
        convert_to_float16(model_path, saturate=not args.float16_unclamped)

    arrays = {}
    for name, tensor in inputs.items():
        # numpy has no bf16: bf16 inputs are saved as f32 (llm-run rounds
        # them back).
        arrays[name] = tensor.float().numpy() if tensor.dtype == torch.bfloat16 \
            else tensor.numpy()
        if args.float16 and arrays[name].dtype == np.float32:
            arrays[name] = arrays[name].astype(np.float16)
    for name, tensor in zip(spec.output_names, outputs):
        arrays[name] = tensor.numpy().astype(np.float32)
    for name, array in arrays.items():
        np.save(os.path.join(args.out, name + ".npy"), array)
    return arrays


def convert_to_float16(path: str, saturate: bool = True):
    """Rewrites an exported fp32 model as an fp16 one, the way fp16 models
    for GPUs are commonly made from fp32 exports (onnxconverter-common's
    convert_float_to_float16, with its defaults): float initializers and
    Constant values become float16, Casts to float cast to float16, float
    graph inputs and outputs become float16. As there, constants are first
    clamped: magnitudes above 1e4 become +-1e4 (a finfo(float32).min mask
    stays finite, so 0 * mask is 0) and nonzero magnitudes below 1e-7 become
    +-1e-7. With saturate=False the values are cast as they are, as a plain
    astype(float16) does: a finfo(float32).min mask becomes -inf."""
    import onnx
    from onnx import numpy_helper, TensorProto

    model = onnx.load(path)
    graph = model.graph
    min_positive, max_finite = 1e-7, 1e4

    def half(tensor):
        array = numpy_helper.to_array(tensor)
        if saturate:
            magnitude = np.abs(array)
            array = np.where((magnitude > 0) & (magnitude < min_positive),
                             np.copysign(min_positive, array), array)
            array = np.where(np.isfinite(array) & (magnitude > max_finite),
                             np.copysign(max_finite, array), array)
        with np.errstate(over="ignore"):
            return numpy_helper.from_array(np.asarray(array, dtype=np.float16), tensor.name)

    for i, init in enumerate(graph.initializer):
        if init.data_type == TensorProto.FLOAT:
            graph.initializer[i].CopyFrom(half(init))
    for node in graph.node:
        for attr in node.attribute:
            # Tensor attributes of any node (Constant's value,
            # ConstantOfShape's fill value), as onnxconverter-common does.
            if attr.type == onnx.AttributeProto.TENSOR and \
                    attr.t.data_type == TensorProto.FLOAT:
                attr.t.CopyFrom(half(attr.t))
            if node.op_type == "Cast" and attr.name == "to" and attr.i == TensorProto.FLOAT:
                attr.i = TensorProto.FLOAT16
    for value in list(graph.input) + list(graph.output):
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            value.type.tensor_type.elem_type = TensorProto.FLOAT16
    del graph.value_info[:]
    onnx.save(model, path)


def _add_norm_outliers(model: nn.Module, sigma: float, generator: torch.Generator):
    """Multiplies each normalization's per-channel gain by exp(sigma * N(0,
    1)): the inputs of the products after it then differ in energy from
    channel to channel, with a few outliers, as a trained transformer's do
    (random initialization leaves them all alike). GemmaNorm's gain is
    1 + weight: its (1 + weight) is scaled."""
    with torch.no_grad():
        for module in model.modules():
            weight = getattr(module, "weight", None)
            if not (isinstance(module, (nn.LayerNorm, RMSNorm, GemmaNorm, T5Norm))
                    and isinstance(weight, torch.Tensor) and weight.dim() == 1):
                continue
            factor = torch.exp(sigma * torch.randn(weight.shape, generator=generator))
            if isinstance(module, GemmaNorm):
                weight.copy_((1.0 + weight) * factor - 1.0)
            else:
                weight.mul_(factor)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, choices=sorted(MODELS))
    parser.add_argument("--opset", type=int, default=17,
                        help="ONNX opset (torch 1.13 supports up to 17)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seq", type=int, default=16, help="sequence length")
    parser.add_argument("--batch", type=int, default=1, help="batch size")
    parser.add_argument("--dynamic", action="store_true",
                        help="export batch and sequence as dynamic dimensions")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--functions", action="store_true",
                        help="export every nn.Module as an ONNX local function")
    parser.add_argument("--float16", action="store_true",
                        help="convert the exported model to float16 (float inputs, "
                             "weights and outputs); the reference outputs stay torch's "
                             "fp32 ones")
    parser.add_argument("--float16-unclamped", action="store_true",
                        help="with --float16, cast constants as they are (a plain "
                             "astype(float16): a finfo(float32).min mask becomes -inf) "
                             "instead of clamping them to +-1e4 as onnxconverter-common does")
    parser.add_argument("--bfloat16", action="store_true",
                        help="export the model in bfloat16 (torch's own bf16 export: "
                             "weights, activations and outputs); float inputs are saved "
                             "as float32 (numpy has no bfloat16), the reference outputs "
                             "are torch's fp32 ones")
    parser.add_argument("--norm-outliers", type=float, default=0.0, metavar="SIGMA",
                        help="multiply every normalization's per-channel gain by "
                             "exp(SIGMA * N(0, 1)): activation channels of unequal "
                             "energy, as a trained model's (for quantization studies)")
    parser.add_argument("--qk-norm", action="store_true",
                        help="llama-kv: RMS-norm each head's q and k over the head dim "
                             "before the rotary embedding (Qwen3, OLMo 2)")
    parser.add_argument("--check", action="store_true",
                        help="run onnx.checker on the exported model")
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.float16 and args.bfloat16:
        raise SystemExit("export_models: error: --float16 and --bfloat16 exclude each other")
    if args.qk_norm and args.model != "llama-kv":
        raise SystemExit("export_models: error: --qk-norm is an option of llama-kv")
    if args.float16_unclamped and not args.float16:
        raise SystemExit("export_models: error: --float16-unclamped needs --float16")
    cached = _out_and_key(argv)
    out = args.out
    if cached:
        # Exported into a new folder of the cache, then copied: the entry
        # holds this export's files only, whatever --out already holds.
        os.makedirs(os.path.dirname(cached[1]), exist_ok=True)
        args.out = tempfile.mkdtemp(prefix="export-", dir=os.path.dirname(cached[1]))
    arrays = export(args)
    model_path = os.path.join(args.out, "model.onnx")
    if args.check:
        import onnx
        onnx.checker.check_model(onnx.load(model_path), full_check=True)
    shapes = ", ".join(f"{name} {list(a.shape)} {a.dtype}" for name, a in arrays.items())
    summary = (f"export_models: {args.model} opset {args.opset}"
               f"{' (dynamic)' if args.dynamic else ''}"
               f"{' (float16' + (' unclamped' if args.float16_unclamped else '') + ')' if args.float16 else ''}"
               f"{' (bfloat16)' if args.bfloat16 else ''} -> {{model}} "
               f"({os.path.getsize(model_path)} bytes); {shapes}")
    if cached:
        with open(os.path.join(args.out, "summary.txt"), "w") as file:
            file.write(summary + "\n")
        _copy_export(args.out, out)
        try:
            os.rename(args.out, cached[1])
        except OSError:  # another process stored the same export first
            shutil.rmtree(args.out, ignore_errors=True)
    _print_summary(summary, out)
    return 0


def _prefill_worker():
    """--prefill-worker: main() for each argument list of the JSON list on
    stdin (into a scratch --out), an export that fails skipped."""
    import json
    import warnings

    warnings.simplefilter("ignore")  # the tracer's, which each test shows
    for args in json.load(sys.stdin):
        out = tempfile.mkdtemp(prefix="prefill-")
        try:
            main(args + ["--out", out])
        except (Exception, SystemExit) as error:  # its test exports and reports it
            print(f"export_models: --prefill: {' '.join(args)}: {error}", file=sys.stderr)
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--prefill-worker"]:
        sys.exit(_prefill_worker())
    sys.exit(main())
