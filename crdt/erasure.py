"""Erasing one person's name from a board's stored history, on decoded structure. Pure.

A note's `author` is the name its writer joined with (a Map value: an Item whose parent is the
note's Map and whose key is `author`). Erasure rewrites exactly those values: in the notes the
person created (`ErasureTarget.notes`, from the store's note_authors, so a second person of the
same name keeps theirs), and only where the value is their name. Nothing else is touched: not a
note text that happens to hold the same bytes, not a `lang`, `color` or `phase` equal to the name.

Each logged update is decoded with the v1 codec (crdt/yupdate.py), the matching values are
replaced (same clocks, same lengths: a ContentAny keeps its number of values), and the row is
encoded again. A keyframe is the log's state at its seq (the whole log is kept): one that holds
the name is rebuilt by pycrdt from the rewritten log at that seq, which costs a fraction of
decoding megabytes in Python. Which Map and key an Item belongs to is only written when it has no
origin; otherwise Yjs takes it from its origin (left) or right origin, which may sit in another
row: an index of every Item of every row resolves them, as Yjs does when it integrates.

Before anything is handed back, `erase_author` checks its own work and raises `ErasureRefused`
(nothing to write) unless: every row it rewrites, the codec first writes back byte for byte; every
row applies (pycrdt); the log replayed row by row gives, after each rewritten row (and in their
notes after each row holding the name's bytes) and at the end, the board the original log gives
with only those author values changed, and the same state vector; every rebuilt keyframe gives
its original's board, changed the same way, with the same state vector.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, Map

from crdt import schema, yupdate
from crdt.yupdate import ContentAny, Id, Item

AUTHOR = "author"


class ErasureRefused(Exception):
    """The history cannot be rewritten safely; `reason` says which row and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ErasureTarget:
    name: str  # the value their notes' `author` holds (the name they joined with)
    notes: frozenset[str]  # ids of the notes they created
    replacement: str  # what the value becomes


@dataclass(slots=True)
class Rewritten:
    """New bytes for the rows that changed (seq -> bytes), and how many values were replaced."""

    updates: dict[int, bytes] = field(default_factory=dict)
    keyframes: dict[int, bytes] = field(default_factory=dict)
    values: int = 0


class _Index:
    """Every Item of every row, by client and clock: what an origin or a parent id points at."""

    def __init__(self) -> None:
        self._items: dict[int, list[tuple[int, int, Item]]] = {}
        self._starts: dict[int, list[int]] = {}
        self._reach: dict[int, list[int]] = {}  # running maximum of the ends, for containment

    def add(self, updates: Iterable[yupdate.Update]) -> None:
        for update in updates:
            for client, structs in update.clients:
                entries = self._items.setdefault(client, [])
                for s in structs:
                    if isinstance(s, Item):
                        entries.append((s.id.clock, s.id.clock + yupdate.struct_length(s), s))
        for client, entries in self._items.items():
            entries.sort(key=lambda e: (e[0], e[1]))
            self._starts[client] = [e[0] for e in entries]
            reach, top = [], -1
            for _, end, _ in entries:
                top = max(top, end)
                reach.append(top)
            self._reach[client] = reach

    def find(self, at: Id) -> Item | None:
        """An Item that covers `at` (any: rows slice items differently, never their parent)."""
        entries = self._items.get(at.client)
        if not entries:
            return None
        reach = self._reach[at.client]
        i = bisect.bisect_right(self._starts[at.client], at.clock) - 1
        while i >= 0 and reach[i] > at.clock:
            start, end, item = entries[i]
            if start <= at.clock < end:
                return item
            i -= 1
        return None


class _Parents:
    """Where an Item lives (parent, key), as Yjs integrates it: written, else its origin's,
    else its right origin's. None when that cannot be known (an origin never stored)."""

    def __init__(self, index: _Index) -> None:
        self.index = index
        self._memo: dict[int, tuple[str | Id, str | None] | None] = {}

    def of(self, item: Item) -> tuple[str | Id, str | None] | None:
        chain: list[Item] = []
        walked: set[int] = set()
        found: tuple[str | Id, str | None] | None = None
        current: Item | None = item
        while current is not None:
            key = id(current)
            if key in self._memo:
                found = self._memo[key]
                break
            if current.parent is not None:
                found = (current.parent, current.parent_sub)
                chain.append(current)
                break
            if key in walked:
                break  # a cycle: only a forged row can make one
            walked.add(key)
            chain.append(current)
            nxt = self.index.find(current.origin) if current.origin is not None else None
            if nxt is None and current.right_origin is not None:
                nxt = self.index.find(current.right_origin)
            current = nxt
        for seen in chain:
            self._memo[id(seen)] = found
        return found


def _targets(
    update: yupdate.Update, parents: _Parents, index: _Index, target: ErasureTarget
) -> Iterable[tuple[ContentAny, int]]:
    """(content, position) of every value in `update` that is the target's author value."""
    for _, structs in update.clients:
        for s in structs:
            if not isinstance(s, Item) or not isinstance(s.content, ContentAny):
                continue
            if target.name not in s.content.values:
                continue
            where = parents.of(s)
            if where is None or where[1] != AUTHOR or not isinstance(where[0], Id):
                continue
            note = index.find(where[0])
            if note is None:
                continue
            note_where = parents.of(note)
            if note_where is None or note_where[0] != schema.NOTES:
                continue
            if note_where[1] not in target.notes:
                continue
            for i, value in enumerate(s.content.values):
                if value == target.name:
                    yield s.content, i


def _decode(kind: str, seq: int, data: bytes) -> yupdate.Update:
    try:
        return yupdate.decode(data)
    except yupdate.CodecError as exc:
        raise ErasureRefused(f"{kind} {seq} cannot be read: {exc}") from exc


def _board(doc: Doc[Any], roots: Iterable[str]) -> dict[str, Any]:
    # The JSON yrs writes, parsed: ~100x faster than Map.to_py (one transaction per key).
    return {root: json.loads(str(doc.get(root, type=Map))) for root in roots}


def _expected(board: dict[str, Any], target: ErasureTarget) -> dict[str, Any]:
    """`board` with the target's author values replaced, nothing else."""
    notes = board.get(schema.NOTES)
    if not isinstance(notes, dict):
        return board
    fixed = dict(notes)
    for note_id in target.notes & set(notes):
        note = notes[note_id]
        if isinstance(note, dict) and note.get(AUTHOR) == target.name:
            fixed[note_id] = {**note, AUTHOR: target.replacement}
    return {**board, schema.NOTES: fixed}


def _roots(updates: Iterable[yupdate.Update]) -> set[str]:
    roots = set(schema.ROOTS)
    for update in updates:
        for _, structs in update.clients:
            for s in structs:
                if isinstance(s, Item) and isinstance(s.parent, str):
                    roots.add(s.parent)
    return roots


def _apply(doc: Doc[Any], data: bytes, what: str) -> None:
    try:
        doc.apply_update(data)
    except Exception as exc:  # pycrdt raises ValueError for a corrupt update
        raise ErasureRefused(f"{what} does not apply: {exc}") from exc


def erase_author(
    updates: Sequence[tuple[int, bytes]],
    keyframes: Sequence[tuple[int, bytes]],
    target: ErasureTarget,
) -> Rewritten:
    """The rows (seq, bytes) of a board's log, in seq order, and its keyframes, rewritten so that
    the target's author values become `target.replacement`; only the rows that changed.
    Raises ErasureRefused if any check fails (see the module docstring)."""
    out = Rewritten()
    if not target.notes or target.name == target.replacement:
        return out
    logged = [(seq, data, _decode("update", seq, data)) for seq, data in updates]
    index = _Index()
    index.add(u for _, _, u in logged)
    parents = _Parents(index)
    holding: set[int] = set()  # rows with a Map or Array value equal to the name, anywhere
    for seq, data, update in logged:
        if _holds(update, target.name):
            holding.add(seq)
        found = list(_targets(update, parents, index, target))
        if not found:
            continue
        if yupdate.encode(update) != data:
            # Only a row the codec writes back byte for byte may be rewritten by it.
            raise ErasureRefused(f"update {seq} cannot be written back exactly by the codec")
        for content, i in found:
            content.values[i] = target.replacement
        out.updates[seq] = yupdate.encode(update)
        out.values += len(found)
    _check(updates, keyframes, out, target, _roots(u for _, _, u in logged), holding)
    return out


def _holds(update: yupdate.Update, name: str) -> bool:
    return any(
        isinstance(s, Item) and isinstance(s.content, ContentAny) and name in s.content.values
        for _, structs in update.clients
        for s in structs
    )


def _check(
    updates: Sequence[tuple[int, bytes]],
    keyframes: Sequence[tuple[int, bytes]],
    out: Rewritten,
    target: ErasureTarget,
    roots: set[str],
    holding: set[int],
) -> None:
    # Checkpoints: after every row that changed or holds a value equal to the name (a value of
    # theirs that was missed shows there), and at the end. A keyframe holding the name is
    # rebuilt from the rewritten log at its seq (pycrdt: it is that state, encoded) and must give
    # its original's board with the same authors replaced.
    raw = target.name.encode()
    theirs = sorted(target.notes)
    frames = sorted(keyframes)
    before: Doc[Any] = Doc()
    after: Doc[Any] = Doc()
    for at, (seq, data) in enumerate(updates):
        _apply(before, data, f"update {seq} (as stored)")
        fresh = out.updates.get(seq)
        _apply(after, data if fresh is None else fresh, f"update {seq}")
        if fresh is not None:
            _same(before, after, target, roots, f"the log up to update {seq}")
        elif seq in holding:  # a value of theirs missed here would show in their notes
            _same(before, after, target, {schema.NOTES}, f"the log up to update {seq}", theirs)
        following = updates[at + 1][0] if at + 1 < len(updates) else None
        while frames and (following is None or frames[0][0] < following):
            frame_seq, frame = frames.pop(0)
            if raw in frame:
                _rebuild(frame_seq, frame, after, target, roots, out)
    _same(before, after, target, roots, "the whole log")
    if frames:
        raise ErasureRefused(f"keyframe {frames[0][0]} is not at a seq of the log")


def _rebuild(
    seq: int,
    frame: bytes,
    log_state: Doc[Any],
    target: ErasureTarget,
    roots: set[str],
    out: Rewritten,
) -> None:
    fresh = log_state.get_update()
    old: Doc[Any] = Doc()
    new: Doc[Any] = Doc()
    _apply(old, frame, f"keyframe {seq} (as stored)")
    _apply(new, fresh, f"keyframe {seq}")
    _same(old, new, target, roots, f"keyframe {seq}")
    if fresh != frame:
        out.keyframes[seq] = fresh


def _same(
    before: Doc[Any],
    after: Doc[Any],
    target: ErasureTarget,
    roots: set[str],
    what: str,
    notes: list[str] | None = None,
) -> None:
    """`after` is `before` with the target's authors replaced (only `notes` of it, if given)."""
    if before.get_state() != after.get_state():
        raise ErasureRefused(f"{what}: the rewritten history has other clocks")
    if notes is None:
        ok = _board(after, roots) == _expected(_board(before, roots), target)
    else:
        ok = _notes(after, notes) == _expected(_notes(before, notes), target)
    if not ok:
        raise ErasureRefused(f"{what}: the rewritten history gives another board")


def _notes(doc: Doc[Any], ids: list[str]) -> dict[str, Any]:
    notes = doc.get(schema.NOTES, type=Map)
    found = {}
    for note_id in ids:
        note = notes.get(note_id)
        if isinstance(note, Map):
            found[note_id] = json.loads(str(note))
    return {schema.NOTES: found}
