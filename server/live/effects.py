"""What the room core gives its driver: the peers it knows, the updates it accepted, and the
effects of each call (frames to send, to broadcast, to publish; closes; refusals to log)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from crdt.rules import Actor
from crdt.shadow import Change
from server.fanout.base import FanoutMessage


class Peer:
    """What the core knows of one connection. The driver's connection class extends it."""

    __slots__ = ("actor", "awareness_ids", "budget_key", "refusals")

    def __init__(self, actor: Actor, budget_key: str | None = None) -> None:
        self.actor = actor
        # Whose refusal budget this connection spends: its participant's (or the facilitator's);
        # every viewer shares one token, so the driver gives viewers one per address instead,
        # or one hostile viewer would cut off every projector.
        self.budget_key = budget_key or actor.id
        self.awareness_ids: set[int] = set()  # awareness client ids this connection speaks for
        self.refusals = 0  # refused updates in a row (over time: the actor's RefusalBudget)


P = TypeVar("P", bound=Peer)


@dataclass(slots=True)
class Accepted(Generic[P]):
    """An update to store, then send. `waiter` is the driver's (e.g. a future), opaque here."""

    sender: P | None
    actor_id: str
    data: bytes
    created_notes: tuple[str, ...] = ()
    ts: float = field(default_factory=time.time)
    echo: bool = False  # also send it to its sender (a compensated update: the sender lacks it)
    waiter: Any = None
    created_values: dict[str, Any] = field(default_factory=dict)  # note id -> content as created
    deleted_notes: tuple[str, ...] = ()
    new_clients: tuple[int, ...] = ()  # Yjs client ids this update is the first to use here
    lost: tuple[tuple[str, str], ...] = ()  # (note id, creator): creations that lost the id
    writers_before: dict[int, int] | None = None  # for creations: writers' clocks before it
    changes: Sequence[Change] = ()  # what it changed (an entry re-created later starts from it)


class Effects(Generic[P]):
    """What the driver must do, in this order: sends, broadcasts, publishes, closes. Each list
    is created on its first entry (most frames need one effect or none): test for emptiness."""

    __slots__ = ("broadcasts", "closes", "publishes", "refusals", "sends")

    def __init__(self) -> None:
        self.sends: list[tuple[P, bytes]] = _NONE
        self.broadcasts: list[tuple[bytes, P | None]] = _NONE  # (frame, connection left out)
        self.publishes: list[FanoutMessage] = _NONE
        self.closes: list[tuple[P, int, str]] = _NONE
        self.refusals: list[tuple[P, str]] = _NONE  # (connection, reason): for logs and metrics

    def send(self, peer: P, frame: bytes) -> None:
        if not self.sends:
            self.sends = []
        self.sends.append((peer, frame))

    def broadcast(self, frame: bytes, exclude: P | None) -> None:
        if not self.broadcasts:
            self.broadcasts = []
        self.broadcasts.append((frame, exclude))

    def publish(self, message: FanoutMessage) -> None:
        if not self.publishes:
            self.publishes = []
        self.publishes.append(message)

    def close(self, peer: P, code: int, reason: str) -> None:
        if not self.closes:
            self.closes = []
        self.closes.append((peer, code, reason))

    def refuse(self, peer: P, reason: str) -> None:
        if not self.refusals:
            self.refusals = []
        self.refusals.append((peer, reason))


# The shared "no effect" value of every Effects list until its first entry (never appended to).
_NONE: Any = ()


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """What a batch claims: first-used Yjs client ids and created note ids, with their actor."""

    clients: dict[int, str]
    notes: dict[str, str]


@dataclass(frozen=True, slots=True)
class QuotaAsk:
    """What one participant's new notes in a batch ask of the shared quota
    (server/scale/quotas.py `reserve`): `gone` are their notes this process saw deleted."""

    actor_id: str
    notes: list[str]
    limit: int
    gone: list[str]


__all__ = ["Accepted", "ClaimRequest", "Effects", "Peer", "QuotaAsk"]
