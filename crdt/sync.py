"""The sync frames joiners get, encoded once per change of the doc and shared between them.

When a workshop starts, a whole room joins at once: each joiner gets the doc's state vector
(SyncStep1) and answers with its own, empty for a fresh client, which asks for the whole doc
(SyncStep2): encoding a 10,000-note board takes ~1.5 ms, per joiner. Those answers depend only
on the doc and the vector asked with, so they are kept (the same bytes go to every joiner) until
the doc changes. Pure: pycrdt only, no I/O.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Subscription

from crdt import protocol

# Answers kept per doc state: fresh joiners all ask with the empty vector, and clients that were
# up to date when they lost their connection (a server restart, a Wi-Fi blip) with one same
# vector. A few kinds at most, and never more than this many bytes in all (the whole doc for
# the empty vector is always kept: it is what a room joining at once asks for).
MAX_ANSWERS = 4
MAX_ANSWER_BYTES = 16 * 1024 * 1024


class SyncFrames:
    def __init__(self, doc: Doc[Any]) -> None:
        self._doc = doc
        self._step1: bytes | None = None
        self._answers: dict[bytes, bytes] = {}  # state vector asked with -> SyncStep2 frame
        self._answer_bytes = 0
        # Observed only while frames are kept (`release`): a doc observer costs each transaction
        # an encoding of what it changed (O(clients) in yrs), so a busy board between joins
        # pays nothing.
        self._subscription: Subscription | None = None

    def step1(self) -> bytes:
        """SyncStep1 with the doc's state vector."""
        if self._step1 is None:
            self._watch()
            self._step1 = protocol.encode(protocol.SyncStep1(self._doc.get_state()))
        return self._step1

    def step2(self, state_vector: bytes) -> bytes:
        """SyncStep2 with what a peer whose state vector is `state_vector` lacks. Raises
        ValueError for a malformed vector."""
        frame = self._answers.get(state_vector)
        if frame is not None:
            return frame
        self._watch()
        frame = protocol.encode(protocol.SyncStep2(self._doc.get_update(state_vector)))
        fresh = state_vector == b"\x00"
        if fresh or (
            len(self._answers) < MAX_ANSWERS and self._answer_bytes + len(frame) <= MAX_ANSWER_BYTES
        ):
            self._answers[state_vector] = frame
            self._answer_bytes += len(frame)
        return frame

    def close(self) -> None:
        """Drop the observer (it lives in yrs and holds this object)."""
        self._forget()
        self._unobserve()

    def release(self) -> None:
        """Call after each transaction on the doc: once a change made every frame stale, stop
        observing it (until the next joiner). Not done in the observer itself: a subscription
        dropped inside its own callback leaves yrs building a cleanup event (two state vectors,
        O(clients)) for every later transaction of the doc, ~26,000 instructions per commit on
        a board of 200 clients."""
        if self._subscription is not None and self._step1 is None and not self._answers:
            self._unobserve()

    def _watch(self) -> None:
        if self._subscription is None:
            self._subscription = self._doc.observe(self._changed)

    def _changed(self, _event: object) -> None:
        """Any transaction that changed the doc (new structs or deletes): every frame is stale."""
        self._forget()

    def _forget(self) -> None:
        self._step1 = None
        self._answers = {}
        self._answer_bytes = 0

    def _unobserve(self) -> None:
        if self._subscription is not None:
            self._doc.unobserve(self._subscription)
            self._subscription = None
