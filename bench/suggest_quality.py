"""Pairwise F1 of the cluster suggestions on the labelled set, and the time for 200 notes.

.venv/bin/python bench/suggest_quality.py [--sweep]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from server import suggest

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "labelled_notes.json"


def main() -> None:
    rows = json.loads(DATA.read_text())["notes"]
    notes = [suggest.NoteText(r["id"], r["text"], r["lang"], {}) for r in rows]
    labels = {r["id"]: r["label"] for r in rows}
    suggest.embed(["warm-up"])
    thresholds = [0.30, 0.35, 0.40, 0.45, 0.50] if "--sweep" in sys.argv else [suggest.THRESHOLD]
    for threshold in thresholds:
        groups = [s["notes"] for s in suggest.suggest(notes, threshold)]
        p, r, f1 = suggest.pairwise_f1(groups, labels)
        print(
            f"threshold {threshold:.2f}: {len(notes)} notes, {len(groups)} suggestions, "
            f"precision {p:.3f} recall {r:.3f} pairwise F1 {f1:.3f}"
        )
    many = [
        suggest.NoteText(f"x{i}", f"{rows[i % len(rows)]['text']} ({i})", "fr", {})
        for i in range(200)
    ]
    start = time.perf_counter()
    suggest.suggest(many)
    print(f"200 notes: {time.perf_counter() - start:.2f} s (model loaded)")


if __name__ == "__main__":
    main()
