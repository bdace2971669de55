"""The shadow doc: learn what an incoming update would change, before anyone else sees it.

yrs offers no way to decode an update without applying it, so each live board keeps a twin doc:
apply the update to the twin inside a transaction, turn the `observe_deep` events into `Change`s,
and let the rules decide. If the rules refuse, the twin is rebuilt from the real doc (yrs has no
rollback). Pure: pycrdt only, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pycrdt import Doc, Map, get_update
from pycrdt._base import (  # not re-exported
    BaseType,  # the common base of shared types
    observe_deep_callback,  # pycrdt's wrapping of deep events into its event classes
)

from crdt import protocol, updates

# What happened to an entry of a root map ("item") or to a field of such an entry.
Action = Literal["create", "replace", "delete", "set"]


@dataclass(frozen=True, slots=True)
class Change:
    root: str
    action: Action
    item: str | None = None  # key in the root map (note id, cluster id, meta key)
    field: str | None = None  # key inside the item (for action "set")
    value: Any = None  # new value (plain Python), if any
    old: Any = None  # previous value (plain Python) of a field, for undoing it
    had_old: bool = False  # the field existed before (else undoing it deletes the key)
    deleted: bool = False  # "set" that removed the field
    sub: str | None = None  # key inside a nested map field (e.g. a language in `translations`)


@dataclass(frozen=True, slots=True)
class Shared:
    """A field's new value was a nested shared type (Y.Map, Y.Text...), with its content."""

    data: Any


class MalformedUpdate(ValueError):
    """yrs could not take the update (a corrupt one, or one that makes it panic)."""


def is_yrs_panic(exc: BaseException) -> bool:
    """A Rust panic inside yrs, raised by pyo3 as `pyo3_runtime.PanicException`: a
    BaseException (not an Exception), so only this test tells it from the rest."""
    kind = type(exc)
    return kind.__name__ == "PanicException" and kind.__module__ == "pyo3_runtime"


class PendingUpdate(Exception):
    """The update depends on changes the server does not have: it cannot be checked."""


class CannotUndo(Exception):
    """A refused update made a change the shadow cannot revert by itself (rebuild instead)."""


class ForeignDelete(Exception):
    """The update deletes clocks the server does not hold (they would be parked and applied to
    items arriving later: a delete aimed at the future)."""


class ShadowDoc:
    def __init__(self, state: bytes | None = None, roots: tuple[str, ...] = ()) -> None:
        """`roots`: root maps to observe even before they exist (the schema's roots)."""
        self.doc: Doc[Any] = Doc()
        self._observed: set[str] = set()
        # pycrdt drops a subscription when its shared-type object is garbage collected: keep both.
        self._keep_alive: list[Any] = []
        self._changes: list[Change] = []
        self._before: bytes | None = b"\x00"  # the doc's vector before the last `apply`
        self._after = b"\x00"  # and after it
        self.writers: list[int] = []  # Yjs client ids whose structs the last update carried
        self.writers_before: dict[int, int] = {}  # their clocks before it
        # The last update wrote something that is not visible (it lost a concurrent write, or
        # went into a deleted entry): its raw bytes still hold that content, unjudged.
        self.unseen = False
        self._observed_at_start: frozenset[str] = frozenset()
        # While an update committed elsewhere is applied (`apply_trusted`): only what the
        # board's bookkeeping reads is taken from the events (see `_make_observer`).
        self._trusted = False
        for name in roots:
            self.doc.get(name, type=Map)
        if state:
            self.doc.apply_update(state)
        self._observe_new_roots()
        # The doc's state vector as a dict, moved forward past each update applied (from the
        # update's own struct ranges): judging an update then costs what the update holds, not
        # what the board has seen (decoding the vector is O(clients): ~1 µs each, the hottest
        # Python of a busy room when it was done per update; a doc observer costs as much in
        # yrs). Never ahead of the doc; it may lag behind for the server's own client (a write
        # straight into `doc`): a refusal on clocks is decided again on `state_vector(exact=True)`.
        self._clocks: dict[int, int] = protocol.decode_state_vector(self.doc.get_state())
        # Updates yrs parked (missing dependencies), integrated inside some later transaction:
        # while any waits, the clocks are decoded from the doc after each update.
        self._parked: list[bytes] = []
        if state and _has_structs(get_update(state, self.doc.get_state())):
            self._parked.append(state)

    def apply(self, update: bytes, read: updates.UpdateInfo | None = None) -> list[Change]:
        """Apply `update` and return what it changed. Raises PendingUpdate, ForeignDelete, or
        ValueError (MalformedUpdate when yrs panics) for a corrupt update; then the shadow must
        be rebuilt before further use. `read`: `updates.parse(update)`, if the caller has it."""
        self._changes = []
        self.unseen = False
        read = self._read(update, read)
        # The doc's vector before the update, for `net_update` and `undo` (rare): encoding it is
        # O(clients the board has seen), so it is taken only when the clocks cannot give it
        # afterwards (see `_vector_before`).
        self._before = None if self._fast(read) else self.doc.get_state()
        self._observed_at_start = frozenset(self._observed)
        try:
            self.doc.apply_update(update)
        except BaseException as exc:
            if not is_yrs_panic(exc):
                raise
            raise MalformedUpdate("yrs could not apply the update") from None
        # A Yjs update whose dependencies are missing is parked by yrs and integrated later, inside
        # some other sender's transaction: refuse it now, or it would bypass the rules then.
        after = self.doc.get_state()
        self._after = after
        remaining = get_update(update, after)
        if _has_structs(remaining):
            raise PendingUpdate("update depends on changes the server does not have")
        self.writers_before = self._move_clocks(update, read, self._before, after)
        self.writers = list(self.writers_before)
        # What is left is the update's whole delete set: every range must name held clocks.
        if _deletes_beyond(remaining, self._clocks) and _deletes_beyond(
            remaining, self.state_vector(exact=True)
        ):
            raise ForeignDelete("update deletes changes the server does not have")
        # Roots this update created were not observed while it applied: report them as created.
        new_roots = self._observe_new_roots() if self._may_add_roots(read) else []
        return self._changes + [Change(root, "create") for root in new_roots]

    def apply_trusted(self, update: bytes) -> list[Change]:
        """Apply an update already checked elsewhere (committed by another process) and return
        what the board's bookkeeping follows: entries created, replaced or deleted in a root
        map (notes alive, per author; clusters; glossary terms). Changes inside an entry are
        not reported: nothing judges this update here, and building pycrdt's events for them
        was most of what relaying an update cost (a note move is such a change)."""
        self._changes = []
        read = self._read(update, None)
        fast = self._fast(read)
        before = None if fast else self.doc.get_state()
        self._trusted = True
        try:
            self.doc.apply_update(update)
        finally:
            self._trusted = False
        # Whether yrs parked part of it: read from its bytes when the clocks say every struct
        # it refers to is held (then yrs integrates it whole); else from the doc (O(clients)).
        if fast and read is not None and updates.judge(read, self._clocks)[0] is None:
            self._move_clocks(update, read, None, b"")
        else:
            after = self.doc.get_state()
            if _has_structs(get_update(update, after)):
                self._parked.append(update)
            self._move_clocks(update, read, before, after)
        changes = self._changes
        self._changes = []
        if self._may_add_roots(read):
            self._observe_new_roots()
        return changes

    def _read(self, update: bytes, read: updates.UpdateInfo | None) -> updates.UpdateInfo | None:
        """The update's struct ranges per client, read before it is applied (None: nothing
        parked would let the clocks move from them alone, or the reader cannot read it)."""
        if read is not None or self._parked:
            return read
        try:
            return updates.parse(update)
        except protocol.ProtocolError:
            return None  # (yrs took bytes the reader does not: decode the vectors)

    def _may_add_roots(self, read: updates.UpdateInfo | None) -> bool:
        """Whether the doc may hold a root not observed yet after this update: a root comes
        into a doc through a struct that names it as its parent (read from the update), or
        through a parked update integrated later (then every root is looked at)."""
        return read is None or bool(self._parked) or not read.roots <= self._observed

    def _fast(self, read: updates.UpdateInfo | None) -> bool:
        """The clocks move by the update's own ranges alone (`_move_clocks`' fast path)."""
        return read is not None and not self._parked and self.doc.client_id not in read.sections

    def write(self, change: Callable[[Doc[Any]], None]) -> list[Change]:
        """Server writes on top of the last applied update, as part of it (its net update and
        its undo cover them); returns what they changed."""
        self._changes = []
        with self.doc.transaction(origin="server"):
            change(self.doc)
        changes, self._changes = self._changes, []
        # A root the server created is observed now: an update looks for new roots only when
        # it names one (`_may_add_roots`), and later writes into this one must be judged.
        self._observe_new_roots()
        return changes

    def net_update(self) -> bytes:
        """The last applied update as the shadow holds it: content that is not visible (deleted
        on arrival) is garbage-collected, so it is neither stored nor relayed readable."""
        return self.doc.get_update(self._vector_before())

    def _vector_before(self) -> bytes:
        """The doc's vector before the last `apply`. On the fast path it was not taken: the
        update moved exactly the clients of its own ranges (`writers_before`: their clocks
        before it), every other client stands where the vector after it says."""
        if self._before is None:
            vector = {**protocol.decode_state_vector(self._after), **self.writers_before}
            self._before = _encode_vector(vector)
        return self._before

    def state_vector(self, exact: bool = False) -> dict[int, int]:
        """The shadow's state vector (do not change the dict). `exact`: decoded from the doc
        (O(clients)), for the rare decisions the lagging clocks would refuse."""
        if exact:
            self._clocks = protocol.decode_state_vector(self.doc.get_state())
        return self._clocks

    def _move_clocks(
        self, update: bytes, read: updates.UpdateInfo | None, before: bytes | None, after: bytes
    ) -> dict[int, int]:
        """Move the clocks past `update`, just applied (`before`, `after`: the doc's vectors
        around it; `before` is needed only off the fast path, `_fast`); returns the clients it
        moved forward, with their clocks before it."""
        # (Exact when the update carries the shadow's own client, whose clock may lag: a client
        # relaying the server's writes must not pass for a writer under the server's id.)
        if read is None or self._parked or self.doc.client_id in read.sections:
            # (`before` not taken: a trusted update that yrs parked, whose caller does not use
            # what moved; the clocks as they were stand in for it.)
            old = protocol.decode_state_vector(before) if before is not None else self._clocks
            self._clocks = protocol.decode_state_vector(after)
            self._parked = [p for p in self._parked if _has_structs(get_update(p, after))]
            return {c: old.get(c, 0) for c, k in self._clocks.items() if k > old.get(c, 0)}
        # Taken whole, with nothing parked that it could have let in: each client's structs now
        # end where the update's end (or where they were, for structs the doc already held).
        clocks = self._clocks
        moved: dict[int, int] = {}
        for client, (_start, end) in read.sections.items():
            known = clocks.get(client, 0)
            if end > known:
                moved[client] = known
                clocks[client] = end
        return moved

    def written_since(self, clocks: dict[int, int]) -> bytes:
        """What these clients wrote from these clocks on, as the shadow holds it now (deleted
        content garbage-collected), with the delete set."""
        vector = {**self.state_vector(exact=True), **clocks}  # (a rare path: exact clocks)
        return self.doc.get_update(_encode_vector(vector))

    def undo(
        self, changes: list[Change], committed: Callable[[str, str], dict[str, Any] | None]
    ) -> bytes:
        """Revert `changes` (just applied by `apply`) in one server transaction and return the
        net update since before them: the sender's structs, now deleted (their content
        garbage-collected), plus the compensation. `committed(root, item)` gives an entry's
        last known content, to re-create an entry the update deleted. Raises CannotUndo."""
        with self.doc.transaction(origin="undo"):
            for change in reversed(changes):
                self._undo_one(change, committed)
        self._changes = []
        self._observe_new_roots()
        return self.doc.get_update(self._vector_before())

    def _undo_one(
        self, change: Change, committed: Callable[[str, str], dict[str, Any] | None]
    ) -> None:
        if change.root not in self._observed_at_start or change.item is None:
            raise CannotUndo("a new root")
        root: Map[Any] = self.doc.get(change.root, type=Map)
        if change.action == "set":
            entry = root.get(change.item)
            if not isinstance(entry, Map) or change.field is None:
                return  # the entry is gone: nothing of this field is visible
            if change.sub is not None:
                nested = entry.get(change.field)
                if not isinstance(nested, Map):
                    return
                entry, field = nested, change.sub
            else:
                field = change.field
            if change.had_old:
                entry[field] = change.old
            elif field in entry:
                del entry[field]
            return
        if change.action == "create":
            if change.item in root:
                del root[change.item]
            return
        # "delete" or "replace" of a root entry: put back its last known content.
        previous = committed(change.root, change.item)
        if previous is not None:
            # A new entry: writes that crossed the delete name the old one and are lost (only a
            # stock or hostile client deletes an entry this way; ours write `deleted: true`).
            root[change.item] = Map(previous)
        elif change.had_old and change.old is not None:
            root[change.item] = change.old  # a plain value (meta)
        else:
            raise CannotUndo("no previous content")

    def close(self) -> None:
        """Drop the observers: they live in yrs and hold this object, so without this a shadow
        would never be freed (the cycle passes through Rust, out of the garbage collector's
        sight)."""
        for _root, subscription in self._keep_alive:
            subscription.drop()
        self._keep_alive.clear()

    def _observe_new_roots(self) -> list[str]:
        new = [name for name in self.doc.keys() if name not in self._observed]  # noqa: SIM118 (Doc is not a dict)
        for name in new:
            # Untyped roots (created by a peer) are observed as maps: for other kinds the event
            # still fires, with no keys, which is enough to know the root was touched.
            root: Map[Any] = self.doc.get(name, type=Map)
            # Subscribed on pycrdt's integrated type, not through `observe_deep`, which wraps
            # every event (its target, keys and path as Python objects) before calling back:
            # an update committed elsewhere needs none of that (`_make_observer`).
            subscription = root.integrated.observe_deep(self._make_observer(name))
            self._keep_alive.append((root, subscription))
            self._observed.add(name)
        return new

    def _make_observer(self, root: str) -> Callable[[list[Any]], None]:
        def on_events(events: list[Any]) -> None:
            for event in events:
                if hasattr(event, "keys") and not event.keys:
                    self.unseen = True
                self._changes.extend(_changes_of(root, event))

        def on_raw_events(events: list[Any]) -> None:
            if not self._trusted:
                observe_deep_callback(on_events, self.doc, 1, events)
                return
            # Committed elsewhere: only entries created, replaced or deleted in the root map
            # itself (an event with no path); their values are not read.
            for event in events:
                if not event.path:
                    self._changes.extend(_entries_of(root, event))

        return on_raw_events


def _encode_vector(vector: dict[int, int]) -> bytes:
    """A state vector as Yjs encodes it: count, then (client, clock) pairs."""
    out = bytearray()
    protocol.write_var_uint(out, len(vector))
    for client, clock in vector.items():
        protocol.write_var_uint(out, client)
        protocol.write_var_uint(out, clock)
    return bytes(out)


def _has_structs(update: bytes) -> bool:
    """The update (as yrs encodes it) holds structs, not just a delete set."""
    return protocol.Reader(update).var_uint() != 0


def _deletes_beyond(update: bytes, held: dict[int, int]) -> bool:
    """An update with no structs (as yrs encodes what is left of one) deletes clocks past what
    `held` holds."""
    delete_set = protocol.Reader(update)
    delete_set.var_uint()  # (no structs)
    for _ in range(delete_set.var_uint()):
        end = held.get(delete_set.var_uint(), 0)
        for _ in range(delete_set.var_uint()):
            clock = delete_set.var_uint()
            if clock + delete_set.var_uint() > end:
                return True
    return False


_ROOT_ACTIONS: dict[str, Action] = {"add": "create", "update": "replace", "delete": "delete"}


def _entries_of(root: str, event: Any) -> list[Change]:
    """A root map's own event (pycrdt's raw event): its entries created, replaced, deleted."""
    keys: dict[str, dict[str, Any]] = getattr(event, "keys", None) or {}
    return [Change(root, _ROOT_ACTIONS[info["action"]], key) for key, info in keys.items()]


def _changes_of(root: str, event: Any) -> list[Change]:
    path = list(event.path)
    if hasattr(event, "keys") and not event.keys:
        # A map event with no visible change: the update wrote keys that lost a concurrent
        # write (Yjs integrates the loser as already deleted). Harmless, nothing to judge.
        return []
    keys: dict[str, dict[str, Any]] = getattr(event, "keys", None) or {}
    if not keys:
        # A non-map event (text, array) or an event without keys: something under root/path changed.
        item = str(path[0]) if path else None
        field = str(path[1]) if len(path) > 1 else None
        return [Change(root, "set" if item is not None else "replace", item, field)]
    if not path:
        return [
            Change(
                root,
                _ROOT_ACTIONS[info["action"]],
                key,
                None,
                _plain(info.get("newValue")),
                _old(info),
                info["action"] != "add",
            )
            for key, info in keys.items()
        ]
    item = str(path[0])
    if len(path) == 2 and keys:
        # A change inside a nested map field of an item (a note's `translations`).
        return [
            Change(
                root,
                "set",
                item,
                str(path[1]),
                _leaf(info.get("newValue")),
                _old(info),
                info["action"] != "add",
                deleted=info["action"] == "delete",
                sub=key,
            )
            for key, info in keys.items()
        ]
    if len(path) > 1:
        # A change inside a nested shared type of an item (e.g. a Y.Text note body).
        return [Change(root, "set", item, str(path[1]))]
    return [
        Change(
            root,
            "set",
            item,
            key,
            _leaf(info.get("newValue")),
            _old(info),
            info["action"] != "add",
            deleted=info["action"] == "delete",
        )
        for key, info in keys.items()
    ]


def overlaid(entry: dict[str, Any] | None, changes: Iterable[Change]) -> dict[str, Any] | None:
    """An entry's committed content with accepted, not yet committed changes of it made on top
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


def _old(info: dict[str, Any]) -> Any:
    old = info.get("oldValue")
    if isinstance(old, BaseType):
        return None  # a deleted shared type: its content is no longer readable
    return old


def _leaf(value: Any) -> Any:
    """A field's value: plain, or marked as a nested shared type (the schema wants plain)."""
    return Shared(value.to_py()) if isinstance(value, BaseType) else value


def _plain(value: Any) -> Any:
    """A root entry's new value: a map's fields as `_leaf` gives them (a nested shared type
    inside a field stays visible as `Shared`, never flattened into a plain-looking value)."""
    if isinstance(value, Map):
        return {key: _leaf(field) for key, field in value.items()}
    if isinstance(value, BaseType):
        return value.to_py()
    return value
