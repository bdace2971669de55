"""Replay and export, from the update log alone. Pure: pycrdt and the standard library.

State at time t = nearest keyframe written at or before t + the updates up to t (the store's
`load(until_ts=t)` picks them), so a seek costs at most one keyframe interval of applies.
Phase bookmarks come from replaying the log and watching `meta.phase` change.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Map

from crdt import schema


@dataclass(frozen=True, slots=True)
class LoggedUpdate:
    seq: int
    ts: float
    data: bytes


def state_at(keyframe: bytes | None, updates: Iterable[bytes]) -> bytes:
    """The document state (a v1 update) after a keyframe and the updates that follow it."""
    doc: Doc[Any] = Doc()
    if keyframe:
        doc.apply_update(keyframe)
    for update in updates:
        doc.apply_update(update)
    return doc.get_update()


def bookmarks(log: Sequence[LoggedUpdate]) -> list[dict[str, Any]]:
    """Where the phase changed: [{"seq", "ts", "phase"}], in log order."""
    doc: Doc[Any] = Doc()
    meta: Map[Any] = doc.get(schema.META, type=Map)
    marks: list[dict[str, Any]] = []
    phase = None
    for entry in log:
        doc.apply_update(entry.data)
        current = meta.get("phase")
        if current != phase:
            phase = current
            marks.append({"seq": entry.seq, "ts": entry.ts, "phase": current})
    return marks


def results_csv(results: dict[str, Any], groups: Sequence[str]) -> str:
    """One row per note, ranked as in the results: text, cluster, dots, per-group support."""
    out = io.StringIO()
    writer = csv.writer(out)
    cluster_titles = {c["cluster_id"]: c["title"] for c in results.get("clusters", [])}
    group_names = list(groups) or list(results.get("groups", {}))
    writer.writerow(
        ["rank", "note_id", "text", "cluster", "total_dots", "consensus", "divisive"]
        + [f"dots:{g}" for g in group_names]
        + [f"share:{g}" for g in group_names]
    )
    for rank, note in enumerate(results.get("notes", []), start=1):
        by_group = note.get("by_group", {})
        writer.writerow(
            [
                rank,
                note["note_id"],
                note["text"],
                cluster_titles.get(note.get("cluster"), ""),
                note["total"],
                f"{note['consensus']:.3f}",
                "yes" if note["divisive"] else "no",
            ]
            + [by_group.get(g, {}).get("dots", 0) for g in group_names]
            + [f"{by_group.get(g, {}).get('share', 0.0):.3f}" for g in group_names]
        )
    return out.getvalue()
