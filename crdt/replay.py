"""Replay and export, from the update log alone. Pure: pycrdt and the standard library.

State at time t (or after seq N) = nearest keyframe at or before it + the updates up to it (the
store's `load(until_ts=t)` / `load_until_seq(N)` pick them), so a seek costs at most one keyframe
interval of applies.

The "who did what" feed: `EventDecoder` applies logged updates one by one to a doc holding the
state before them and turns what each one changed (seen through `observe_deep`) into readable
events. The server decodes each stretch of the log once and stores the events; phase bookmarks are
the `phase_changed` events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Map, merge_updates

from crdt import glossary, schema


@dataclass(frozen=True, slots=True)
class LoggedUpdate:
    seq: int
    ts: float
    data: bytes


def state_at(keyframe: bytes | None, updates: Iterable[bytes]) -> bytes:
    """The document state (a v1 update) after a keyframe and the updates that follow it.

    Merged on the bytes (`merge_updates`), not integrated into a doc: the same state for whoever
    applies it, at a fraction of the cost (a 2 MB keyframe of a 5,000-note board takes ~100 ms to
    integrate into a fresh doc, ~5-30 ms to merge with its tail; bench/replay.py)."""
    parts = ([keyframe] if keyframe else []) + list(updates)
    if not parts:
        empty: Doc[Any] = Doc()
        return empty.get_update()
    if len(parts) == 1:
        return parts[0]
    return merge_updates(*parts)


def state_parts(keyframe: bytes | None, updates: Iterable[bytes]) -> list[bytes]:
    """The same state as `state_at`, as at most two v1 updates: the keyframe untouched and the
    tail merged. Applying them in order to a fresh doc gives the same state vector and JSON.

    A seek's cost was decoding and re-encoding the keyframe (1-2 MB on a 5,000-note board, 30-50
    ms on an idle core): the viewer must decode the whole state anyway, so the server need not.
    Only the tail (at most one keyframe interval of small updates) is merged here (~2 ms)."""
    tail = list(updates)
    parts = [keyframe] if keyframe else []
    if len(tail) == 1:
        parts.append(tail[0])
    elif tail:
        parts.append(merge_updates(*tail))
    return parts


def encode_parts(parts: Iterable[bytes]) -> bytes:
    """Updates framed for `replay/state?form=parts`: each one as a 4-byte big-endian length and
    its bytes."""
    out = bytearray()
    for part in parts:
        out += len(part).to_bytes(4, "big")
        out += part
    return bytes(out)


def decode_parts(data: bytes) -> list[bytes]:
    """The inverse of `encode_parts`; ValueError on a truncated body."""
    parts, at = [], 0
    while at < len(data):
        if at + 4 > len(data):
            raise ValueError("truncated length")
        size = int.from_bytes(data[at : at + 4], "big")
        at += 4
        if at + size > len(data):
            raise ValueError("truncated part")
        parts.append(data[at : at + size])
        at += size
    return parts


EVENT_KINDS: tuple[str, ...] = (
    "note_added",
    "text_edited",
    "moved",
    "clustered",
    "deleted",
    "cluster_created",
    "cluster_renamed",
    "cluster_deleted",
    "phase_changed",
    "private_writing_revealed",
    "votes_revealed",
    # One update that moves (or clusters) several notes — "tidy up", a cluster dragged, two
    # clusters merged — is one line: target = how many notes.
    "notes_moved",
    "notes_clustered",
    # The server's own note deletions are the facilitator hiding a note (moderation); "deleted"
    # read "Cobord deleted a note". Its re-creations put a note back (a restored hidden note, an
    # entry re-created after a forbidden hard delete).
    "hidden",
    "restored",
    # The glossary (crdt/glossary.py), target = the term: someone said "I don't understand"
    # (always the server's write: who asked is never in the log), someone explained it.
    "flagged",
    "explained",
    # "I don't understand the whole note" (a note-level flag), target = the note; never who.
    "note_flagged",
)
# per-note kinds that one update may repeat for many notes -> the one event that sums them up
_MANY_KINDS = {"moved": "notes_moved", "clustered": "notes_clustered"}
_SERVER_KINDS = {"deleted": "hidden", "note_added": "restored"}
SERVER_ACTOR = "server"
_NOTE_FIELD_KINDS = {"text": "text_edited", "x": "moved", "y": "moved", "cluster": "clustered"}


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    idx: int
    ts: float
    kind: str
    actor: str
    target: str  # note or cluster id; the phase for phase_changed; "" for reveals


class EventDecoder:
    """Decodes updates, in log order, against the state before each one."""

    def __init__(self, state: bytes | None = None) -> None:
        self.doc: Doc[Any] = Doc()
        if state:
            self.doc.apply_update(state)
        self._notes: Map[Any] = self.doc.get(schema.NOTES, type=Map)
        self._clusters: Map[Any] = self.doc.get(schema.CLUSTERS, type=Map)
        self._meta: Map[Any] = self.doc.get(schema.META, type=Map)
        self._glossary: Map[Any] = self.doc.get(schema.GLOSSARY, type=Map)
        self._found: list[tuple[str, str]] = []
        self._flags: Map[Any] = self.doc.get(schema.GLOSSARY_FLAGS, type=Map)
        self._wrapped = [  # (their values are read: through pycrdt's wrapping)
            (self._glossary, self._glossary.observe_deep(self._on_glossary)),
            (self._flags, self._flags.observe(self._on_flags)),
        ]
        # Notes, clusters and meta are observed on pycrdt's integrated types, not through
        # `observe_deep`, which wraps every event (its target, keys with their values, path) in
        # Python objects first: only the paths and the keys' names and actions are read here.
        # That and reading meta only after it changed halve the decoder's Python per update.
        self._subscriptions = [
            self._notes.integrated.observe_deep(lambda events: self._on(events, "note")),
            self._clusters.integrated.observe_deep(lambda events: self._on(events, "cluster")),
            self._meta.integrated.observe_deep(self._on_meta),
        ]
        self._meta_changed = False
        self._phase = self._meta.get("phase")
        self._settings = dict(self._meta.get("settings") or {})

    def _on_meta(self, _events: Any) -> None:
        self._meta_changed = True

    def close(self) -> None:
        """Drop the observers: they live in yrs and hold this decoder, so without this it would
        never be freed (the cycle passes through Rust, out of the garbage collector's sight)."""
        for subscription in self._subscriptions:
            subscription.drop()
        for root, wrapped in self._wrapped:
            root.unobserve(wrapped)
        self._subscriptions, self._wrapped = [], []

    def _on(self, changes: Any, what: str) -> None:
        for change in changes:
            path = change.path
            keys: dict[str, Any] = getattr(change, "keys", None) or {}  # (none: a text's event)
            if not path:  # a root entry was added or removed
                for key, info in keys.items():
                    action = info.get("action")
                    if action == "add":
                        self._found.append(
                            (f"{what}_added" if what == "note" else "cluster_created", str(key))
                        )
                    elif action == "delete":
                        self._found.append(
                            ("deleted" if what == "note" else "cluster_deleted", str(key))
                        )
                continue
            target = str(path[0])
            for key in keys:
                if what == "note" and key in _NOTE_FIELD_KINDS:
                    self._found.append((_NOTE_FIELD_KINDS[key], target))
                elif what == "cluster" and key == "title":
                    self._found.append(("cluster_renamed", target))

    def _on_glossary(self, changes: Any) -> None:
        for change in changes:
            path = list(change.path)
            keys: dict[str, Any] = change.keys
            if len(path) == 2 and path[1] == "explanations":
                for info in keys.values():
                    value = info.get("newValue")
                    before = info.get("oldValue")
                    said = before.get("text") if isinstance(before, dict) else None
                    # (An undone rewrite puts back the same text: nobody explained anything.)
                    if (
                        isinstance(value, dict)
                        and value.get("text")
                        and value.get("text") != said
                        and not value.get("machine")
                    ):
                        self._found.append(("explained", self._term(str(path[0]))))

    def _on_flags(self, event: Any) -> None:
        """A count that grew under a process's key (`glossary_flags`): someone flagged the term.
        (A term created with its first flag is already in the glossary root when its count
        arrives: the server writes both in one transaction, the term first.)"""
        for key, info in event.keys.items():
            new, old = info.get("newValue"), info.get("oldValue")
            if isinstance(new, int | float) and (not isinstance(old, int | float) or new > old):
                flag_id = str(key).rpartition("@")[0]
                note_id = flag_id.removeprefix(glossary.NOTE_FLAG_PREFIX)
                if note_id != flag_id:
                    self._found.append(("note_flagged", note_id))
                else:
                    self._found.append(("flagged", self._term(flag_id)))

    def _term(self, term_id: str) -> str:
        entry = self._glossary.get(term_id)
        term = entry.get("term") if isinstance(entry, Map) else None
        return term if isinstance(term, str) else term_id

    def apply(self, seq: int, ts: float, actor: str, data: bytes) -> list[Event]:
        self._found = []
        self.doc.apply_update(data)
        if not self._meta_changed:
            return self._events(seq, ts, actor)
        self._meta_changed = False
        phase = self._meta.get("phase")
        settings = dict(self._meta.get("settings") or {})
        if phase != self._phase and phase is not None:
            self._found.append(("phase_changed", str(phase)))
        if self._settings.get("private_writing") and not settings.get("private_writing"):
            self._found.append(("private_writing_revealed", ""))
        if (
            settings.get("votes_visibility") == "revealed"
            and self._settings.get("votes_visibility") != "revealed"
        ):
            self._found.append(("votes_revealed", ""))
        self._phase, self._settings = phase, settings
        return self._events(seq, ts, actor)

    def _events(self, seq: int, ts: float, actor: str) -> list[Event]:
        unique = list(dict.fromkeys(self._found))  # x and y of one move: one event
        if actor == SERVER_ACTOR:
            unique = [(_SERVER_KINDS.get(kind, kind), target) for kind, target in unique]
        return [
            Event(seq, i, ts, kind, actor, target)
            for i, (kind, target) in enumerate(_summed(unique))
        ]


def _summed(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Several notes moved (or clustered) by one update: one event, where the first one was, whose
    target is the count."""
    counts: dict[str, int] = {}
    for kind, _ in found:
        if kind in _MANY_KINDS:
            counts[kind] = counts.get(kind, 0) + 1
    out: list[tuple[str, str]] = []
    summed: set[str] = set()
    for kind, target in found:
        if counts.get(kind, 0) < 2:
            out.append((kind, target))
        elif kind not in summed:  # the first of them stands for all of them
            summed.add(kind)
            out.append((_MANY_KINDS[kind], str(counts[kind])))
    return out
