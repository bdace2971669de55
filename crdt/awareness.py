"""Presence (y-protocols awareness) on one board: who speaks for which awareness client id, the
bounds, and what the server stamps on a state. Pure: no I/O; the room core (server/live/core.py)
sends the frames this builds.

A browser tab speaks for one awareness client id (a few after reloads); a state is a cursor, a
name, a colour. The bounds keep one connection from filling the server's table. The server, not
the client, says who is present: `user.role` comes from the token, and on an anonymous board a
participant's presence carries no name or group.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from crdt import protocol
from crdt.protocol import CloseCode
from crdt.rules import Actor

MAX_AWARENESS_IDS = 8
MAX_AWARENESS_BYTES = 64 * 1024
MAX_AWARENESS_STATE_BYTES = 4096  # one client's presence (cursor, name, colour), as JSON


class AwarenessRefused(Exception):
    """A connection's awareness message breaks a bound: close it with `code` and `reason`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Presence:
    """The board's awareness table: client id -> (clock, state). The server's own state is
    never set."""

    def __init__(self) -> None:
        self.states: dict[int, tuple[int, Any]] = {}

    def __bool__(self) -> bool:
        return bool(self.states)

    def receive(
        self, speaks_for: set[int], actor: Actor, anonymous: bool, payload: bytes
    ) -> list[protocol.AwarenessState]:
        """A connection's awareness message (`speaks_for`: the ids it speaks for, updated):
        the states to relay, stamped. Raises AwarenessRefused."""
        if len(payload) > MAX_AWARENESS_BYTES:
            raise AwarenessRefused(
                CloseCode.TOO_LARGE, f"awareness over {MAX_AWARENESS_BYTES} bytes"
            )
        try:
            states = protocol.decode_awareness(payload)
        except protocol.ProtocolError as exc:
            raise AwarenessRefused(CloseCode.MALFORMED, f"malformed awareness: {exc}") from None
        states = [stamp(actor, anonymous, entry) for entry in states]
        if any(
            entry.state is not None and len(json.dumps(entry.state)) > MAX_AWARENESS_STATE_BYTES
            for entry in states
        ):
            raise AwarenessRefused(
                CloseCode.TOO_LARGE, f"presence over {MAX_AWARENESS_STATE_BYTES} bytes"
            )
        relayed = []
        for entry in states:
            if entry.client_id not in speaks_for:
                if entry.client_id in self.states:
                    continue  # another connection speaks for this id: ignore it
                if len(speaks_for) >= MAX_AWARENESS_IDS:
                    raise AwarenessRefused(CloseCode.MALFORMED, "too many awareness client ids")
                speaks_for.add(entry.client_id)
            current = self.states.get(entry.client_id)
            if current is not None and entry.clock < current[0]:
                continue
            relayed.append(entry)
            if entry.state is None:
                self.states.pop(entry.client_id, None)
                speaks_for.discard(entry.client_id)
            else:
                self.states[entry.client_id] = (entry.clock, entry.state)
        return relayed

    def leave(self, speaks_for: Iterable[int]) -> list[protocol.AwarenessState]:
        """A connection left: its states end (relay these)."""
        gone = []
        for cid in speaks_for:
            if cid in self.states:
                clock, _ = self.states.pop(cid)
                gone.append(protocol.AwarenessState(cid, clock + 1, None))
        return gone

    def apply_remote(self, payload: bytes) -> bool:
        """States another process relayed (already stamped there). False: not awareness."""
        try:
            states = protocol.decode_awareness(payload)
        except protocol.ProtocolError:
            return False
        for entry in states:
            current = self.states.get(entry.client_id)
            if current is not None and entry.clock < current[0]:
                continue
            if entry.state is None:
                self.states.pop(entry.client_id, None)
            else:
                self.states[entry.client_id] = (entry.clock, entry.state)
        return True

    def frame(self, client_ids: Iterable[int] | None = None) -> bytes:
        """An awareness frame of these ids' states (all by default)."""
        ids = list(self.states) if client_ids is None else client_ids
        states = [
            protocol.AwarenessState(cid, *self.states[cid]) for cid in ids if cid in self.states
        ]
        return encode(states)


def encode(states: Sequence[protocol.AwarenessState]) -> bytes:
    return protocol.encode(protocol.Awareness(protocol.encode_awareness(list(states))))


def stamp(actor: Actor, anonymous: bool, entry: protocol.AwarenessState) -> protocol.AwarenessState:
    """What the server says of a state: the role from the token; the name from the token, none
    for a viewer, and no name or group for a participant on an anonymous board."""
    state = entry.state
    if not isinstance(state, dict):
        return entry
    user = state.get("user")
    user = dict(user) if isinstance(user, dict) else {}
    if anonymous and actor.role != "facilitator":
        user.pop("name", None)
        user.pop("group", None)
    elif actor.name is not None:
        user["name"] = actor.name
    elif actor.role == "viewer":
        user.pop("name", None)  # a viewer has no name (it cannot pass for the facilitator)
        user.pop("group", None)
    user["role"] = actor.role
    return protocol.AwarenessState(entry.client_id, entry.clock, {**state, "user": user})


__all__ = [
    "MAX_AWARENESS_BYTES",
    "MAX_AWARENESS_IDS",
    "MAX_AWARENESS_STATE_BYTES",
    "AwarenessRefused",
    "Presence",
    "stamp",
]
