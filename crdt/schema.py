"""The board document: the one place that knows its shape (documented for JS in docs/schema.md).

Root maps of the Yjs doc:
  notes     note id    -> Map {text, x, y, color, cluster, lang, createdAt, author?, kind?, media?,
                              duration?, translations?, wanted?, deleted?}
  clusters  cluster id -> Map {title, titles?, x, y, color, deleted?}
  meta      title, phase, timer, settings           (facilitator and server only)
  results   data, updatedAt                          (server only)
  glossary  term id    -> Map {term, lang, createdAt, explanations}   (crdt/glossary.py)
  glossary_flags  "{term id}@{writer}" -> a term's count of flags as one server process last
            read it (server only; the count shown is the largest: a process writes only its
            own key, so two processes counting at once never overwrite each other);
            "note:{note id}@{writer}" likewise counts "I don't understand the whole note"
Values the server writes into `meta` and `results` are plain JSON values, not nested shared types:
they change as a whole, and plain values keep the JS side simple.
Deleting is a field: a client writes `deleted: true`, and the server removes the entry in the
same step (server/live/core.py), so the live doc never holds an entry so marked; readers skip one
anyway (a client's doc holds it until the server's answer arrives).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pycrdt import Doc, Map

NOTES: Final = "notes"
CLUSTERS: Final = "clusters"
META: Final = "meta"
RESULTS: Final = "results"
GLOSSARY: Final = "glossary"  # term id -> Map {term, lang, createdAt, explanations}
GLOSSARY_FLAGS: Final = "glossary_flags"  # "{term id}@{writer}" -> count (server only)
ROOTS: Final = (NOTES, CLUSTERS, META, RESULTS, GLOSSARY, GLOSSARY_FLAGS)

NOTE_FIELDS: Final = frozenset(
    {
        "text",
        "x",
        "y",
        "color",
        "cluster",
        "lang",
        "createdAt",
        "author",
        "kind",
        "media",
        "duration",
        "translations",
        "wanted",
        "deleted",
    }
)
CLUSTER_FIELDS: Final = frozenset({"title", "titles", "x", "y", "color", "deleted"})
MAX_VOICE_SECONDS: Final = 600  # a voice note's `duration` (the client records at most 60 s)
LANGUAGES: Final = ("fr", "nl", "en")  # a board's languages, and a note's translations, are these

Phase = Literal["ideate", "cluster", "vote", "results"]
PHASES: Final[tuple[Phase, ...]] = ("ideate", "cluster", "vote", "results")
VotesVisibility = Literal["hidden", "live", "revealed"]

# Every board starts with these; PATCH /settings changes them. Kept in meta.settings and in the
# boards table (the table is the source of truth, meta mirrors it for the clients).
DEFAULT_SETTINGS: Final[dict[str, Any]] = {
    "vote_budget": 3,
    "max_votes_per_note": 3,
    "anonymous": False,
    "votes_visibility": "hidden",
    "locked": False,
    "private_writing": False,
    "groups": [],
    "languages": ["fr", "nl", "en"],
    "max_note_length": 280,
    "max_notes_per_participant": 50,
    # group -> {lang: label}: what participants read for a group in their language. The group
    # itself (the string in `groups`) is its stable id: participants and results keep it.
    "group_labels": {},
    # joining offers "I'd rather not say" (no group) when the facilitator allows it
    "group_optional": False,
    # "I disagree" marks (branch results): off until the facilitator turns them on; each person
    # has `disagree_budget` of them, at most one per note, secret until the votes are revealed.
    "disagree_marks": False,
    "disagree_budget": 2,
    # the time zone the report's dates and times are written in (an IANA name)
    "time_zone": "Europe/Brussels",
}


@dataclass(frozen=True, slots=True)
class Note:
    id: str
    text: str
    x: float
    y: float
    color: str
    cluster: str | None
    lang: str | None
    created_at: float | None
    author: str | None
    kind: str = "text"  # "text" | "photo" | "voice"
    media: str | None = None  # media id (photo or voice notes)
    # lang -> {"text", "by", "machine"}: other people's translations of this note
    translations: dict[str, dict[str, Any]] = field(default_factory=dict)
    duration: float | None = None  # a voice note's length in seconds, as its recorder measured it
    # languages someone asked a translation into (POST .../translation-requests/{lang}); a
    # translation written into that language answers the request and removes it
    wanted: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cluster:
    id: str
    title: str
    x: float
    y: float
    color: str
    # lang -> the title in that language (readers see theirs; `title` stays the main one)
    titles: dict[str, str] = field(default_factory=dict)

    def title_in(self, lang: str | None) -> str:
        """The title a reader of `lang` sees: theirs when someone wrote it, else the main one."""
        return (self.titles.get(lang or "") or self.title) if lang else self.title


class Board:
    """Typed access to a board document (reading, and the server's own writes to meta/results)."""

    def __init__(self, doc: Doc[Any]) -> None:
        self.doc = doc
        self.notes_map: Map[Any] = doc.get(NOTES, type=Map)
        self.clusters_map: Map[Any] = doc.get(CLUSTERS, type=Map)
        self.meta: Map[Any] = doc.get(META, type=Map)
        self.results: Map[Any] = doc.get(RESULTS, type=Map)

    def notes(self) -> Iterator[Note]:
        for note_id, value in self.notes_map.items():
            if isinstance(value, Map):
                data = value.to_py() or {}
                if data.get("deleted") is not True:
                    yield note_from_py(note_id, data)

    def clusters(self) -> Iterator[Cluster]:
        for cluster_id, value in self.clusters_map.items():
            if isinstance(value, Map):
                data = value.to_py() or {}
                if data.get("deleted") is True:
                    continue
                yield Cluster(
                    id=cluster_id,
                    title=_str(data.get("title")),
                    x=_num(data.get("x")),
                    y=_num(data.get("y")),
                    color=_str(data.get("color")),
                    titles=_titles(data.get("titles")),
                )

    def to_json(self) -> dict[str, Any]:
        """A JSON projection of the whole board (tests, results, exports)."""
        return {
            NOTES: {note.id: _note_json(note) for note in self.notes()},
            CLUSTERS: {c.id: _cluster_json(c) for c in self.clusters()},
            META: self.meta.to_py() or {},
            RESULTS: self.results.to_py() or {},
        }


def note_from_py(note_id: str, data: dict[str, Any]) -> Note:
    cluster = data.get("cluster")
    return Note(
        id=note_id,
        text=_str(data.get("text")),
        x=_num(data.get("x")),
        y=_num(data.get("y")),
        color=_str(data.get("color")),
        cluster=cluster if isinstance(cluster, str) and cluster else None,
        lang=data.get("lang") if isinstance(data.get("lang"), str) else None,
        created_at=_num(data.get("createdAt")) if data.get("createdAt") is not None else None,
        author=data.get("author") if isinstance(data.get("author"), str) else None,
        kind=str(data["kind"]) if data.get("kind") in ("photo", "voice") else "text",
        media=data.get("media") if isinstance(data.get("media"), str) else None,
        translations=_translations(data.get("translations")),
        duration=_duration(data.get("duration")),
        wanted=_wanted(data.get("wanted")),
    )


def _duration(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    return float(value) if ok else None


def _wanted(value: Any) -> tuple[str, ...]:
    return tuple(lang for lang in LANGUAGES if isinstance(value, dict) and lang in value)


def _titles(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {
        lang: title for lang in LANGUAGES if isinstance(title := value.get(lang), str) and title
    }


def _cluster_json(cluster: Cluster) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": cluster.title,
        "x": cluster.x,
        "y": cluster.y,
        "color": cluster.color,
    }
    if cluster.titles:
        out["titles"] = cluster.titles
    return out


def _translations(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        return {}
    return {
        lang: {
            "text": _str(entry.get("text")),
            "by": _str(entry.get("by")),
            "machine": entry.get("machine") is True,
        }
        for lang, entry in value.items()
        if isinstance(entry, dict) and _str(entry.get("text"))
    }


def _note_json(note: Note) -> dict[str, Any]:
    out: dict[str, Any] = {
        "text": note.text,
        "x": note.x,
        "y": note.y,
        "color": note.color,
        "cluster": note.cluster,
        "lang": note.lang,
        "createdAt": note.created_at,
    }
    if note.author is not None:
        out["author"] = note.author
    if note.kind != "text":
        out["kind"] = note.kind
    if note.media is not None:
        out["media"] = note.media
    if note.translations:
        out["translations"] = note.translations
    if note.duration is not None:
        out["duration"] = note.duration
    if note.wanted:
        out["wanted"] = list(note.wanted)
    return out


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
