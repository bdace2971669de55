"""What a report is made from (`ReportInput`, gathered by the server: the board's JSON
projection, its participants, authors, votes, results and phase changes) and what every
renderer reads of it: an author's name (never on an anonymous board), a note's translations in
the board's languages, times in the board's time zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crdt.report.strings import LANGS

DEFAULT_TIME_ZONE = "Europe/Brussels"


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    group: str | None


@dataclass(frozen=True, slots=True)
class ReportInput:
    title: str
    created_at: float  # unix seconds
    anonymous: bool
    people: Sequence[Person]
    board: Mapping[str, Any]  # schema.Board.to_json()
    authors: Mapping[str, str]  # note id -> actor
    votes: Sequence[tuple[str, str, int]]  # (participant, note, count)
    results: Mapping[str, Any]  # compute_results()
    phases: Sequence[tuple[float, str]] = field(default_factory=list)  # (unix seconds, phase)
    board_id: str = ""  # for the paths of photos (`/api/boards/{id}/media/{media}`)
    # The media ids that exist on this board: only those are linked (None: not checked).
    media_ids: frozenset[str] | None = None
    languages: Sequence[str] = LANGS  # the board's languages: translations shown in these
    time_zone: str = DEFAULT_TIME_ZONE  # the board's: dates and times are written in it
    voice_seconds: Mapping[str, float] = field(default_factory=dict)  # note id -> length
    # The board's `group_labels` ({group: {lang: label}}): a group reads as its label in the
    # report's language where the facilitator gave one.
    group_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # media id -> absolute link that opens that picture alone (made by the server, which signs it)
    media_urls: Mapping[str, str] = field(default_factory=dict)


def author_name(data: ReportInput, note_id: str) -> str | None:
    if data.anonymous:
        return None
    actor = data.authors.get(note_id)
    for person in data.people:
        if person.id == actor:
            return person.name or None
    return None


def time_zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The board's zone; an unknown name (a machine without that zone) falls back to UTC."""
    try:
        return zoneinfo.ZoneInfo(name or DEFAULT_TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return zoneinfo.ZoneInfo("UTC")


def local_time(ts: float, zone: zoneinfo.ZoneInfo, pattern: str) -> str:
    return datetime.fromtimestamp(ts, zone).strftime(pattern)


def translations_of(
    note: Mapping[str, Any], languages: Sequence[str]
) -> list[tuple[str, str, bool]]:
    """(lang, text, machine?) of a note in the board's other languages, in the board's order."""
    entries: Mapping[str, Any] = note.get("translations") or {}
    out = []
    for lang in languages:
        entry = entries.get(lang)
        if lang == note.get("lang") or not isinstance(entry, Mapping) or not entry.get("text"):
            continue
        out.append((lang, str(entry["text"]), bool(entry.get("machine"))))
    return out
