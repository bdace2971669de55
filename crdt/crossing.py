"""Writes aimed at a note the room re-created after refusing its delete.

A forbidden delete of a note is undone by re-creating the note (a Yjs delete cannot be taken
back): a new entry under the same id. A change its sender built before seeing that (the
author's move, a translation) names the old entry's items as its parent or origin, and Yjs
integrates it as a write into something deleted: dropped. Nothing in the doc says what the
old items were (yrs garbage-collects a deleted entry's fields), so when the room re-creates a
note it first reads who the old entry's items were, from the bytes (`read_note_items`: the
real doc encoded from those clients' clocks, O(their writes since), plus what is not committed
yet). `Recreated` keeps that, bounded, and tells which writes of a later update were aimed at
an old entry (`carried`), so the room can make them again on the new one, under the sender's
rules. Pure: pycrdt and bytes, no I/O.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pycrdt import Doc, Map

from crdt import protocol
from crdt.shadow import RECREATED_MARK, Change, Shared
from crdt.updates import ID, Item, read_items

NOTES_ROOT = "notes"
# Re-created notes remembered (the oldest are forgotten first), and how much one re-creation
# may read to learn its old entry's items (`read_note_items`): a write aimed at an item it
# could not place is not carried over.
MAX_NOTES = 256
MAX_ITEMS_PER_NOTE = 4096  # an old entry's items plus the writes aimed at it since
MAX_READS = 16
MAX_READ_CLOCKS = 8192  # clocks parsed in all, across reads
MAX_ROUNDS = 8
READ_BACK = 512  # clocks read before an item a chain needs
MAX_RANGES = 256  # of a refused delete's delete set, told to the other processes


@dataclass(frozen=True, slots=True)
class Target:
    """What an item was: a note's entry, one of its fields, or a key of a nested map field."""

    note: str
    field: str | None = None
    sub: str | None = None

    def child(self, key: str | None) -> Target | None:
        if key is None or self.sub is not None:
            return None  # the schema has no deeper nesting
        if self.field is None:
            return Target(self.note, key)
        return Target(self.note, self.field, key)


@dataclass(frozen=True, slots=True)
class Carry:
    """One write to make again on the re-created note."""

    action: Literal["set", "map", "delete"]  # a value, a new nested map, a removal
    target: Target
    value: Any = None


class ItemIndex:
    """Items by id, where an id may fall inside a longer item (a client's clock range)."""

    def __init__(self) -> None:
        self._starts: dict[int, list[int]] = {}
        self._items: dict[ID, Item] = {}

    def add(self, item: Item) -> None:
        if item.id in self._items:
            return
        self._items[item.id] = item
        starts = self._starts.setdefault(item.id[0], [])
        clock = item.id[1]
        if not starts or starts[-1] < clock:
            starts.append(clock)
        else:
            starts.insert(bisect_right(starts, clock), clock)

    def find(self, id_: ID) -> Item | None:
        starts = self._starts.get(id_[0])
        if not starts:
            return None
        at = bisect_right(starts, id_[1]) - 1
        if at < 0:
            return None
        item = self._items[(id_[0], starts[at])]
        return item if id_[1] < item.id[1] + item.length else None

    def within(self, client: int, clock: int, length: int) -> list[Item]:
        """Items overlapping [clock, clock + length) of `client`."""
        starts = self._starts.get(client)
        if not starts:
            return []
        at = max(bisect_right(starts, clock) - 1, 0)
        found = []
        for start in starts[at:]:
            if start >= clock + length:
                break
            item = self._items[(client, start)]
            if start + item.length > clock:
                found.append(item)
        return found

    def __iter__(self) -> Any:
        return iter(self._items.values())


class Resolver:
    """What each indexed item is, following its parent or its origins (a map key's values
    form a chain of origins back to the first one, which names its parent and key)."""

    def __init__(self, index: ItemIndex) -> None:
        self.index = index
        self._memo: dict[ID, Target | None] = {}
        self.missing: set[ID] = set()  # ids a chain needed that the index does not hold

    def target(self, item: Item) -> Target | None:
        chain: list[Item] = []
        current: Item | None = item
        found: Target | None = None
        while current is not None:
            if current.id in self._memo:
                found = self._memo[current.id]
                break
            chain.append(current)
            if isinstance(current.parent, str):
                found = (
                    Target(current.key) if current.parent == NOTES_ROOT and current.key else None
                )
                break
            if current.parent is not None:
                parent = self.index.find(current.parent)
                if parent is None:
                    self.missing.add(current.parent)
                    break
                above = self.target(parent)
                found = above.child(current.key) if above is not None else None
                break
            link = current.origin or current.right
            if link is None:
                break
            current = self.index.find(link)
            if current is None:
                self.missing.add(link)
        for seen in chain:
            self._memo[seen.id] = found
        return found


def read_note_items(
    doc: Doc[Any],
    uncommitted: Sequence[bytes],
    deleted: Iterable[tuple[int, int, int]],
    notes: set[str],
) -> list[tuple[Item, Target]]:
    """The items of `notes` (their entries, fields and nested fields, current or overwritten)
    with what each was, read from the updates not committed yet and from `doc` (the committed
    board): first the clock ranges the refused update's delete set `deleted` names (the old
    entries' items), then, in rounds, the earlier items their origin chains lead to.

    Each read encodes one client's structs from a clock on (yrs: O(that client's writes
    since), in Rust) and parses only the range wanted; at most MAX_READS of them."""
    index = ItemIndex()
    for data in uncommitted:
        for item in read_items(data, with_deletes=False)[0]:
            index.add(item)
    state = protocol.decode_state_vector(doc.get_state())
    deleted = list(deleted)
    wanted = _ranges((client, clock, clock + length) for client, clock, length in deleted)
    reads, budget = 0, MAX_READ_CLOCKS
    for _ in range(MAX_ROUNDS):
        for client, start, end in wanted:
            if start >= state.get(client, 0) or reads >= MAX_READS or budget <= 0:
                continue
            reads += 1
            end = min(end, start + budget)
            budget -= end - start
            encoded = doc.get_update(_state_vector({**state, client: start}))
            for item in read_items(encoded, with_deletes=False, until=end)[0]:
                index.add(item)
        resolver = Resolver(index)
        for client, clock, length in deleted:  # the old entries' items: chase their chains
            for item in index.within(client, clock, length):
                resolver.target(item)
        # Back from each missing item too: a field moved by the same people in turn has its
        # earlier values there, so a chain through many hands takes a few rounds, not one each.
        wanted = _ranges(
            (client, max(0, clock - READ_BACK), clock + 1) for client, clock in resolver.missing
        )
        if not wanted or reads >= MAX_READS or budget <= 0:
            break
    resolver = Resolver(index)
    return [(item, t) for item in index if (t := resolver.target(item)) and t.note in notes]


def _ranges(ranges: Iterable[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """(client, start, end) reads: ranges of one client closer than READ_BACK are read once."""
    out: list[tuple[int, int, int]] = []
    for client, start, end in sorted(ranges):
        if out and out[-1][0] == client and start <= out[-1][2] + READ_BACK:
            out[-1] = (client, out[-1][1], max(end, out[-1][2]))
        else:
            out.append((client, start, end))
    return out


def _state_vector(clocks: dict[int, int]) -> bytes:
    out = bytearray()
    protocol.write_var_uint(out, len(clocks))
    for client, clock in clocks.items():
        protocol.write_var_uint(out, client)
        protocol.write_var_uint(out, clock)
    return bytes(out)


class Recreated:
    """The old entries of re-created notes and their items, for `carried`."""

    def __init__(self) -> None:
        self._index = ItemIndex()
        self._targets: dict[ID, Target] = {}
        self._notes: OrderedDict[str, list[ID]] = OrderedDict()
        # items that held the note's content when it was re-created (or were written into the
        # old entry since): only their removal is a removal the sender made
        self._live: set[ID] = set()
        # note -> the marks of its re-creations in turn (crdt/shadow.py; None: not found), and
        # item -> which of them replaced its entry. A delete set holding the mark of that
        # re-creation, or of a later one, was made by someone who had seen the item's entry
        # replaced: its removal is not theirs (a note re-created twice while a client sends
        # whole delete sets: issue 20, a bystander refused).
        self._marks: dict[str, list[ID | None]] = {}
        self._generation: dict[ID, int] = {}

    def __bool__(self) -> bool:
        return bool(self._notes)

    def track(
        self,
        items: Iterable[tuple[Item, Target]],
        deleted: Sequence[tuple[int, int, int]],
        recreating: bytes,
    ) -> None:
        """`items` of old entries (`read_note_items`), the refused delete's ranges `deleted`
        (what the entries held then), and `recreating`, the update that re-creates them (it
        holds their marks, crdt/shadow.py RECREATED_MARK)."""
        by_client: dict[int, list[tuple[int, int]]] = {}
        for client, clock, length in deleted:
            by_client.setdefault(client, []).append((clock, clock + length))
        added: list[tuple[ID, str]] = []
        for item, target in items:
            client, clock = item.id
            live = any(start <= clock < end for start, end in by_client.get(client, ()))
            if self._add(item, target, live):
                added.append((item.id, target.note))
        marks = self._learn_marks(recreating)
        generations: dict[str, int] = {}
        for note in dict.fromkeys([*(n for _, n in added), *marks]):
            if note in self._notes:
                known = self._marks.setdefault(note, [])
                generations[note] = len(known)
                known.append(marks.get(note))
        for id_, note in added:
            if note in generations:
                self._generation[id_] = generations[note]
        while len(self._notes) > MAX_NOTES:
            self._forget(next(iter(self._notes)))

    def _add(self, item: Item, target: Target, live: bool, generation: int | None = None) -> bool:
        """Track `item` (True if it was not yet); `generation`: the re-creation that replaced
        its entry, when known now."""
        ids = self._notes.get(target.note, ())
        if item.id in self._targets or len(ids) >= MAX_ITEMS_PER_NOTE:
            return False  # (past the bound, a write built on this one is not carried over)
        self._index.add(item)
        self._targets[item.id] = target
        if live:
            self._live.add(item.id)
        if generation is not None:
            self._generation[item.id] = generation
        self._notes.setdefault(target.note, []).append(item.id)
        self._notes.move_to_end(target.note)
        return True

    def _forget(self, note: str) -> None:
        ids = set(self._notes.pop(note))
        kept = ItemIndex()
        for item in self._index:
            if item.id not in ids:
                kept.add(item)
        self._index = kept
        for id_ in ids:
            del self._targets[id_]
            self._generation.pop(id_, None)
        self._live -= ids
        self._marks.pop(note, None)

    def touches(self, needs: Iterable[ID], deletes: Iterable[tuple[int, int, int]]) -> bool:
        """Cheap test, from what the precheck read: does the update name a tracked item?"""
        find = self._index.find
        return any(find(need) is not None for need in needs) or any(
            self._index.within(c, k, n) for c, k, n in deletes
        )

    def carried(
        self, update: bytes, known: Mapping[int, int], deletes_too: bool = True
    ) -> list[Carry]:
        """The writes of `update` aimed at old entries, to make again on the new ones; `known`:
        the doc's state vector before it (what it already had is not made twice).

        A removal is carried when the update deletes what an old entry held (its entry, a
        field's value then) and its delete set lacks the re-creation's mark: a delete set
        that has the mark was made by someone who had the new entry (an encoding of a whole
        doc: a sync answer, a client sending `get_update(state)`), and lists the refused
        delete itself. `deletes_too=False` ignores removals altogether."""
        items, deletes = read_items(update, with_deletes=deletes_too)
        carries: list[Carry] = []
        written: set[Target] = set()
        for item in items:
            aimed = self._aim(item)
            if aimed is None:
                continue
            target, generation = aimed
            written.add(target)
            if item.id[1] < known.get(item.id[0], 0):
                continue  # the doc had it already: carried over then, or not aimed at all
            # (a later write of the same sender may build on it)
            self._add(item, target, True, generation)
            if item.ref == 8 and item.values:
                carries.append(Carry("set", target, item.values[-1]))
            elif item.ref == 7 and target.field is not None:
                carries.append(Carry("map", target))
        removed: dict[Target, None] = {}
        seen = self._seen(deletes)
        for client, clock, length in deletes:
            for item in self._index.within(client, clock, length):
                target = self._targets[item.id]
                # (an overwritten value is deleted too: not a removal; nor is one whose
                # sender had seen the entry replaced)
                if (
                    item.id in self._live
                    and target not in written
                    and seen.get(target.note, -1) < self._generation.get(item.id, 0)
                ):
                    removed[target] = None
        gone = {t.note for t in removed if t.field is None}  # the entry: its fields go with it
        carries += [Carry("delete", t) for t in removed if t.field is None or t.note not in gone]
        return carries

    def _learn_marks(self, recreating: bytes) -> dict[str, ID]:
        """The marks `recreating` writes into the new entries: note -> mark."""
        found: dict[str, ID] = {}
        items = read_items(recreating, with_deletes=False)[0]
        entries: dict[ID, str] = {}
        for item in items:
            if item.parent == NOTES_ROOT and item.key is not None:
                entries[item.id] = item.key
            elif item.parent is None and item.origin is not None:
                old = self._target_of(item.origin)  # a new entry set after the old one
                if old is not None and old.field is None:
                    entries[item.id] = old.note
        for item in items:
            if item.key == RECREATED_MARK and isinstance(item.parent, tuple):
                note = entries.get(item.parent)
                if note is not None and note in self._notes:
                    found[note] = item.id
        return found

    def _seen(self, deletes: Sequence[tuple[int, int, int]]) -> dict[str, int]:
        """Note -> the latest of its re-creations whose mark these deletes hold."""
        if not deletes or not self._marks:
            return {}
        by_client: dict[int, list[tuple[int, int]]] = {}
        for client, clock, length in deletes:
            by_client.setdefault(client, []).append((clock, clock + length))
        seen: dict[str, int] = {}
        for note, marks in self._marks.items():
            for generation, mark in enumerate(marks):
                if mark is not None and any(
                    start <= mark[1] < end for start, end in by_client.get(mark[0], ())
                ):
                    seen[note] = generation
        return seen

    def _aim(self, item: Item) -> tuple[Target, int] | None:
        """What `item` writes into (an old entry's field or sub-key), and the re-creation
        that replaced that entry."""
        if isinstance(item.parent, tuple):
            above = self._tracked(item.parent)
            if above is None:
                return None
            child = above[0].child(item.key)
            return (child, above[1]) if child is not None else None
        for link in (item.origin, item.right):
            if link is not None and (found := self._tracked(link)) is not None:
                return found if found[0].field is not None else None  # a root entry: no drop
        return None

    def _target_of(self, id_: ID) -> Target | None:
        found = self._tracked(id_)
        return found[0] if found is not None else None

    def _tracked(self, id_: ID) -> tuple[Target, int] | None:
        item = self._index.find(id_)
        if item is None:
            return None
        return self._targets[item.id], self._generation.get(item.id, 0)


def carry_over(doc: Doc[Any], carries: Sequence[Carry]) -> None:
    """Make `carries` on the notes as they are now (a note gone since: nothing to do)."""
    notes: Map[Any] = doc.get(NOTES_ROOT, type=Map)
    for carry in carries:
        target = carry.target
        entry = notes.get(target.note)
        if not isinstance(entry, Map):
            continue
        if target.field is None:
            if carry.action == "delete":
                del notes[target.note]
            continue
        if target.sub is not None:
            nested = entry.get(target.field)
            if isinstance(nested, Map):
                _write(nested, target.sub, carry)
        elif carry.action != "map" or not isinstance(entry.get(target.field), Map):
            _write(entry, target.field, carry)  # (a nested map already there is kept)


def _write(parent: Map[Any], key: str, carry: Carry) -> None:
    if carry.action == "delete":
        if key in parent:
            del parent[key]
    else:
        parent[key] = Map() if carry.action == "map" else carry.value


def overlaid(entry: dict[str, Any] | None, changes: Iterable[Change]) -> dict[str, Any] | None:
    """A note's committed content with accepted, not yet committed changes of it made on top
    (plain values: a nested map's content as a dict)."""
    for change in changes:
        if change.action in ("create", "replace"):
            value = _unwrapped(change.value)
            entry = dict(value) if isinstance(value, dict) else None
        elif change.action == "delete":
            entry = None
        elif entry is not None and change.field is not None:
            entry = dict(entry)
            if change.sub is not None:
                nested = dict(entry.get(change.field) or {})
                _put(nested, change.sub, change)
                entry[change.field] = nested
            else:
                _put(entry, change.field, change)
    return entry


def _put(data: dict[str, Any], key: str, change: Change) -> None:
    if change.deleted:
        data.pop(key, None)
    else:
        data[key] = _unwrapped(change.value)


def _unwrapped(value: Any) -> Any:
    if isinstance(value, Shared):
        return value.data
    if isinstance(value, dict):
        return {k: _unwrapped(v) for k, v in value.items()}
    return value
