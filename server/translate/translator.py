"""The machine translator's queue: `watch(room)` (the hub calls it for every board it loads)
observes the board's committed document; a note that arrives (from a client of this process or of
another one) or whose text or language changes is put in its board's queue; no client has to ask.
`submit` queues a note by hand in the same queue. One worker task per board with work, owned here
(`close()` ends them); each note is claimed across processes, spends its budgets, is sent to the
translator (client.py) and written back (notes.py). See server/translate/__init__.py."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Map
from redis.asyncio import Redis

from crdt import schema
from server.live.room import Room
from server.scale.claims import CLAIM_ERRORS, Claims, MemoryClaims, RedisClaims
from server.translate.budget import Budget, MemoryBudget, RedisBudget
from server.translate.client import (
    TIMEOUT_SECONDS,
    RequestCounters,
    TranslatorClient,
    Unavailable,
)
from server.translate.notes import read_note, write_machine_translation

log = logging.getLogger("cobord.translate")

MAX_PENDING = 256  # notes waiting per board
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0
# Who translates a note: the one claims protocol (server/scale/claims.py), scope = the note's
# settled text. A claim outlives any backoff; a dead claimer's notes wait this long.
CLAIM_TTL_SECONDS = 3600
CLAIM_NAME = "translator"
# A note is translated once its text has not changed for this long: while someone types, only
# the settled text is sent, not every keystroke (COBORD_TRANSLATE_SETTLE_SECONDS).
SETTLE_SECONDS = 1.5
# What machine translation may cost, in characters sent to the translator per minute (each
# target language counts): per note author and per board; shared through Redis with REDIS_URL.
# Over it, the note waits its turn (COBORD_TRANSLATE_CHARS_PER_MINUTE[_PER_PARTICIPANT]).
CHARS_PER_MINUTE_PER_PARTICIPANT = 6_000
CHARS_PER_MINUTE_PER_BOARD = 60_000

WithRoom = Callable[[str, Callable[[Room], Any]], Awaitable[Any]]


@dataclass
class _Job:
    refresh: bool  # the text changed: machine translations are redone too
    generation: int  # bumped when the note is queued again while it is being translated
    due: float = 0.0  # loop time from which it may be translated (settled text, budget)
    # What was read of the note (and at which generation): a retry after an outage asks the
    # translator again without reloading a board that may have been unloaded meanwhile.
    read: tuple[int, Any] | None = None


@dataclass
class _BoardQueue:
    pending: OrderedDict[str, _Job] = field(default_factory=OrderedDict)  # note id -> job
    task: asyncio.Task[None] | None = None
    failures: int = 0  # consecutive translator failures (backoff)
    # Set when a note is queued: a worker waiting for a note due later (over a budget, still
    # being typed) looks again, so a note due now does not wait behind it.
    wake: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Counters:
    translated: int = 0  # translations written
    kept: int = 0  # answers not written: a translation (human) was there first, or the text moved
    dropped: int = 0  # notes not queued: the board's queue was full
    claims_lost: int = 0  # notes another process translates
    over_budget: int = 0  # times a note waited for its author's or its board's budget


class Translator:
    def __init__(
        self,
        url: str | None,
        timeout: float = TIMEOUT_SECONDS,
        claims: Claims | None = None,
        retry_first: float = RETRY_FIRST_SECONDS,
        retry_max: float = RETRY_MAX_SECONDS,
        budget: Budget | None = None,
        settle_seconds: float = SETTLE_SECONDS,
        chars_per_participant: int = CHARS_PER_MINUTE_PER_PARTICIPANT,
        chars_per_board: int = CHARS_PER_MINUTE_PER_BOARD,
    ) -> None:
        self.client = TranslatorClient(url.rstrip("/"), timeout) if url else None
        self.budget: Budget = budget or MemoryBudget()
        self.settle_seconds = settle_seconds
        self.chars_per_participant = chars_per_participant
        self.chars_per_board = chars_per_board
        self.claims: Claims = claims or MemoryClaims(CLAIM_TTL_SECONDS)
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.counters = Counters()
        self._boards: dict[str, _BoardQueue] = {}
        self._with_room: WithRoom | None = None
        self._watching: weakref.WeakKeyDictionary[Room, Any] = weakref.WeakKeyDictionary()
        # claims this process holds for notes still in work: scope -> this claim's ticket
        self._owned: dict[str, str] = {}
        self._closed = False

    @classmethod
    def from_env(cls, redis: Redis | None = None) -> Translator:
        """`redis`: the process's pool (server/scale/redis.py), when processes share boards."""
        env = os.environ
        url = env.get("COBORD_TRANSLATE_URL") or None
        claims = RedisClaims(redis, CLAIM_TTL_SECONDS) if url and redis is not None else None
        budget = RedisBudget(redis) if url and redis is not None else None
        return cls(
            url,
            claims=claims,
            budget=budget,
            settle_seconds=float(env.get("COBORD_TRANSLATE_SETTLE_SECONDS", SETTLE_SECONDS)),
            chars_per_participant=int(
                env.get(
                    "COBORD_TRANSLATE_CHARS_PER_MINUTE_PER_PARTICIPANT",
                    CHARS_PER_MINUTE_PER_PARTICIPANT,
                )
            ),
            chars_per_board=int(
                env.get("COBORD_TRANSLATE_CHARS_PER_MINUTE", CHARS_PER_MINUTE_PER_BOARD)
            ),
        )

    @property
    def enabled(self) -> bool:
        return self.client is not None

    def start(self, with_room: WithRoom) -> None:
        self._with_room = with_room

    async def close(self) -> None:
        self._closed = True
        tasks = [q.task for q in self._boards.values() if q.task is not None]
        for task in tasks:
            task.cancel()  # a request in flight finishes in its thread and is dropped
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._boards.clear()
        await self.claims.close()
        await self.budget.close()

    # -------------------------------------------------------------- what gets queued

    def watch(self, room: Room) -> None:
        """Queue the notes that arrive in (or change in) this room's committed document."""
        if not self.enabled:
            return
        board_id = room.board_id

        def on_notes(events: list[Any]) -> None:
            # Inside the doc's transaction: only look at the events, never read the doc here.
            for event in events:
                path = list(event.path)
                keys: dict[str, Any] = event.keys
                if not path:  # notes added (or replaced) in the notes map
                    for note_id, change in keys.items():
                        if change.get("action") in ("add", "update"):
                            self._queue(board_id, str(note_id), refresh=False)
                elif len(path) == 1 and ({"text", "lang"} & set(keys)):
                    self._queue(board_id, str(path[0]), refresh=True)

        notes: Map[Any] = room.doc.get(schema.NOTES, type=Map)
        # pycrdt ends a subscription that nobody holds: it is kept as long as the room lives.
        self._watching[room] = (notes, notes.observe_deep(on_notes))

    def submit(self, board_id: str, note_id: str, languages: tuple[str, ...] = ()) -> bool:
        """Queue a note by hand; False if machine translation is off or the queue is full.
        (`languages` is read from the board itself; kept for callers that pass it.)"""
        if not self.enabled:
            return False
        return self._queue(board_id, note_id, refresh=False)

    def _queue(self, board_id: str, note_id: str, refresh: bool) -> bool:
        if self._closed:
            return False
        queue = self._boards.get(board_id)
        if queue is None:
            queue = self._boards[board_id] = _BoardQueue()
        job = queue.pending.get(note_id)
        # Translated once it has settled: each change pushes it back (typing is not sent).
        due = asyncio.get_running_loop().time() + self.settle_seconds
        if job is not None:
            job.refresh = job.refresh or refresh
            job.generation += 1
            job.due = max(job.due, due)
        elif len(queue.pending) >= MAX_PENDING:
            self.counters.dropped += 1
            log.warning("board %s: translation queue full; %s stays as written", board_id, note_id)
            return False
        else:
            queue.pending[note_id] = _Job(refresh, 0, due)
        queue.wake.set()
        if queue.task is None:
            queue.task = asyncio.get_running_loop().create_task(
                self._work(board_id, queue), name=f"translate:{board_id}"
            )
        return True

    # -------------------------------------------------------------- the board's worker

    async def _work(self, board_id: str, queue: _BoardQueue) -> None:
        try:
            loop = asyncio.get_running_loop()
            while queue.pending:
                now = loop.time()
                ready = next(((n, j) for n, j in queue.pending.items() if j.due <= now), None)
                if ready is None:  # (at most MAX_PENDING to look at)
                    queue.wake.clear()
                    delay = min(j.due for j in queue.pending.values()) - now
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(queue.wake.wait(), delay)
                    continue
                note_id, job = ready
                generation = job.generation
                try:
                    wait = await self._translate_note(board_id, note_id, job)
                    if wait > 0:  # over a budget: it waits its turn, the others go on
                        self.counters.over_budget += 1
                        job.due = loop.time() + wait
                        queue.pending.move_to_end(note_id)
                        continue
                except Unavailable:
                    await self._backoff(queue)
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bad note or a board gone must not stop the queue
                    status = getattr(exc, "status", None)
                    if status == 404:  # the board was deleted: nothing left to translate
                        queue.pending.clear()
                        break
                    if status == 503:  # storage or overload: like a translator outage
                        await self._backoff(queue)
                        continue
                    log.exception("machine translation of %s/%s failed", board_id, note_id)
                queue.failures = 0
                if queue.pending.get(note_id) is job and job.generation == generation:
                    del queue.pending[note_id]
                else:
                    job.refresh = True  # it changed while we worked: once more
        finally:
            queue.task = None
            if not queue.pending and self._boards.get(board_id) is queue:
                del self._boards[board_id]

    async def _backoff(self, queue: _BoardQueue) -> None:
        queue.failures += 1
        await asyncio.sleep(min(self.retry_max, self.retry_first * 2 ** (queue.failures - 1)))

    async def _translate_note(self, board_id: str, note_id: str, job: _Job) -> float:
        """Translate one note; returns 0, or the seconds to wait when a budget is spent."""
        assert self._with_room is not None
        refresh = job.refresh
        if job.read is not None and job.read[0] == job.generation:
            found = job.read[1]
        else:
            found = await self._with_room(board_id, lambda room: read_note(room, note_id))
            job.read = (job.generation, found)
        if found is None:
            return 0.0
        text, source, languages, have, author = found
        targets = [
            lang
            for lang in languages
            if lang != source and (lang not in have or (refresh and have[lang]))
        ]
        if not targets:
            return 0.0
        digest = hashlib.sha256(f"{source}\0{text}".encode()).hexdigest()[:24]
        key = f"translate:{board_id}:{note_id}:{digest}"
        if key not in self._owned:
            # A ticket per claim: even this process, asking again for a text it translated,
            # finds it taken.
            ticket = {CLAIM_NAME: secrets.token_hex(8)}
            if not await self._claim(key, ticket):
                self.counters.claims_lost += 1
                return 0.0
            self._owned[key] = ticket[CLAIM_NAME]
            # Only the process that translates spends: the author's budget, then the board's.
            cost = len(text) * len(targets)
            wait = await self.budget.spend(
                f"{board_id}:{author}", cost, self.chars_per_participant
            ) or await self.budget.spend(board_id, cost, self.chars_per_board)
            if wait > 0:
                del self._owned[key]
                await self._release(key, ticket)
                return wait
        for target in targets:
            assert self.client is not None
            translated = await self.client.ask(text, source, target)
            if translated is None:
                continue
            written = await self._with_room(
                board_id,
                lambda room, t=target, r=translated: write_machine_translation(  # type: ignore[misc]
                    room, note_id, t, r, source_text=text, source_lang=source, refresh=refresh
                ),
            )
            have[target] = True  # done (or a human's is there): a retry skips it
            if written:
                self.counters.translated += 1
            else:
                self.counters.kept += 1
        self._owned.pop(key, None)
        return 0.0

    async def _claim(self, key: str, ticket: dict[str, str]) -> bool:
        """Won: translate here. Redis not answering: translate anyway (a second machine
        translation of the same text is not written twice: writes never go over an existing one)."""
        try:
            return not await self.claims.claim(key, ticket)
        except CLAIM_ERRORS as exc:
            log.warning("translation claim: Redis unavailable (%r); translating here", exc)
            return True

    async def _release(self, key: str, ticket: dict[str, str]) -> None:
        try:
            await self.claims.release(key, ticket)
        except CLAIM_ERRORS as exc:  # it expires by itself
            log.warning("translation claim: Redis unavailable (%r); claim kept", exc)

    async def translate_text(
        self, board_id: str, author: str, text: str, source: str, target: str
    ) -> str | None:
        """One text outside the notes' queue (a glossary explanation), within the same budgets
        (its author's, then the board's): the translation, or None when the translator is off,
        refuses it, does not answer, or a budget is spent (nothing is retried)."""
        if self.client is None or self._closed:
            return None
        wait = await self.budget.spend(
            f"{board_id}:{author}", len(text), self.chars_per_participant
        ) or await self.budget.spend(board_id, len(text), self.chars_per_board)
        if wait > 0:
            self.counters.over_budget += 1
            return None
        try:
            return await self.client.ask(text, source, target)
        except Unavailable:
            return None

    def metrics_text(self) -> str:
        c = self.counters
        r = self.client.counters if self.client is not None else RequestCounters()
        pending = sum(len(q.pending) for q in self._boards.values())
        rows = [
            ("cobord_translate_requests_total", "counter", r.requests),
            ("cobord_translate_written_total", "counter", c.translated),
            ("cobord_translate_kept_total", "counter", c.kept),
            ("cobord_translate_failures_total", "counter", r.failures),
            ("cobord_translate_dropped_total", "counter", c.dropped),
            ("cobord_translate_claims_lost_total", "counter", c.claims_lost),
            ("cobord_translate_refused_total", "counter", r.refused),
            ("cobord_translate_over_budget_total", "counter", c.over_budget),
            ("cobord_translate_pending", "gauge", pending),
        ]
        return "".join(f"# TYPE {name} {kind}\n{name} {value}\n" for name, kind, value in rows)
