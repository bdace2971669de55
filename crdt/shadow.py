"""The shadow doc: learn what an incoming update would change, before anyone else sees it.

yrs offers no way to decode an update without applying it, so each live board keeps a twin doc:
apply the update to the twin inside a transaction, turn the `observe_deep` events into `Change`s,
and let the rules decide. If the rules refuse, the twin is rebuilt from the real doc (yrs has no
rollback). Pure: pycrdt only, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pycrdt import Doc, Map, get_update
from pycrdt._base import BaseType  # not re-exported; the common base of shared types

from crdt import protocol

# What happened to an entry of a root map ("item") or to a field of such an entry.
Action = Literal["create", "replace", "delete", "set"]


@dataclass(frozen=True, slots=True)
class Change:
    root: str
    action: Action
    item: str | None = None  # key in the root map (note id, cluster id, meta key)
    field: str | None = None  # key inside the item (for action "set")
    value: Any = None  # new value (plain Python), if any


class PendingUpdate(Exception):
    """The update depends on changes the server does not have: it cannot be checked."""


class ShadowDoc:
    def __init__(self, state: bytes | None = None, roots: tuple[str, ...] = ()) -> None:
        """`roots`: root maps to observe even before they exist (the schema's roots)."""
        self.doc: Doc[Any] = Doc()
        self._observed: set[str] = set()
        # pycrdt drops a subscription when its shared-type object is garbage collected: keep both.
        self._keep_alive: list[Any] = []
        self._changes: list[Change] = []
        for name in roots:
            self.doc.get(name, type=Map)
        if state:
            self.doc.apply_update(state)
        self._observe_new_roots()

    def apply(self, update: bytes) -> list[Change]:
        """Apply `update` and return what it changed. Raises PendingUpdate, or ValueError for a
        corrupt update; in both cases the shadow must be rebuilt before further use."""
        self._changes = []
        self.doc.apply_update(update)
        # A Yjs update whose dependencies are missing is parked by yrs and integrated later, inside
        # some other sender's transaction: refuse it now, or it would bypass the rules then.
        remainder = get_update(update, self.doc.get_state())
        if protocol.Reader(remainder).var_uint() != 0:
            raise PendingUpdate("update depends on changes the server does not have")
        # Roots this update created were not observed while it applied: report them as created.
        return self._changes + [Change(root, "create") for root in self._observe_new_roots()]

    def close(self) -> None:
        """Drop the observers: they live in yrs and hold this object, so without this a shadow
        would never be freed (the cycle passes through Rust, out of the garbage collector's
        sight)."""
        for root, subscription in self._keep_alive:
            root.unobserve(subscription)
        self._keep_alive.clear()

    def _observe_new_roots(self) -> list[str]:
        new = [name for name in self.doc.keys() if name not in self._observed]  # noqa: SIM118 (Doc is not a dict)
        for name in new:
            # Untyped roots (created by a peer) are observed as maps: for other kinds the event
            # still fires, with no keys, which is enough to know the root was touched.
            root: Map[Any] = self.doc.get(name, type=Map)
            subscription = root.observe_deep(self._make_observer(name))
            self._keep_alive.append((root, subscription))
            self._observed.add(name)
        return new

    def _make_observer(self, root: str) -> Callable[[list[Any]], None]:
        def on_events(events: list[Any]) -> None:
            for event in events:
                self._changes.extend(_changes_of(root, event))

        return on_events


def _changes_of(root: str, event: Any) -> list[Change]:
    path = list(event.path)
    keys: dict[str, dict[str, Any]] = getattr(event, "keys", None) or {}
    if not keys:
        # A non-map event (text, array) or an event without keys: something under root/path changed.
        item = str(path[0]) if path else None
        field = str(path[1]) if len(path) > 1 else None
        return [Change(root, "set" if item is not None else "replace", item, field)]
    if not path:
        actions: dict[str, Action] = {"add": "create", "update": "replace", "delete": "delete"}
        return [
            Change(root, actions[info["action"]], key, None, _plain(info.get("newValue")))
            for key, info in keys.items()
        ]
    item = str(path[0])
    if len(path) > 1:
        # A change inside a nested shared type of an item (e.g. a Y.Text note body).
        return [Change(root, "set", item, str(path[1]))]
    return [
        Change(root, "set", item, key, _plain(info.get("newValue"))) for key, info in keys.items()
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, BaseType):
        return value.to_py()
    return value
