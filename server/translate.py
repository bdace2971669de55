"""Optional machine translation through a LibreTranslate-compatible server (`COBORD_TRANSLATE_URL`).

`POST {url}/translate {"q", "source", "target", "format": "text"}` -> `{"translatedText"}`.

In the background, by the server: `watch(room)` (the hub calls it for every board it loads)
observes the board's committed document. A note that arrives (from a client of this process or of
another one) or whose text or language changes is put in its board's queue; no client has to ask.
`POST …/machine-translate` queues a note by hand in the same queue.

- One worker task per board with work, owned here (`close()` ends them), taking its board's notes
  one by one; a bounded queue per board (`MAX_PENDING` notes; full: the note is dropped, counted,
  and stays as written). At most `CONCURRENT_REQUESTS` requests at once over all boards.
- Each answer is written with the room's own server change, marked `machine: true`, only where
  the note has no translation in that language (a human one is never replaced), and only if the
  note still says what was translated. After an edit of the text, machine translations (never
  human ones) are redone.
- The translator down, slow (a `TIMEOUT_SECONDS` timeout per request) or answering 5xx/429: the
  note stays in its queue and is retried after a backoff (1 s, doubling, at most 60 s); one log
  line when the translator goes away, one when it is back. The board never waits on any of it.
- A note is translated once its text has settled (`SETTLE_SECONDS` without a change), within a
  budget of characters a minute per note author and per board (token buckets, shared through
  Redis: server/scale/bucket.py); over it, the note waits its turn while the others go on.
  Redirects are not followed (an HTTPError, not retried).
- Several processes (`REDIS_URL`): every process sees every note; only the one that wins the
  claim on (board, note, text) translates it (server/scale/claims.py, the claims protocol the
  rooms use too). Without Redis its in-memory twin.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import secrets
import urllib.error
import urllib.request
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

from pycrdt import Map
from redis.asyncio import Redis
from redis.exceptions import RedisError

from crdt import schema
from crdt.rules import Actor
from server.live.room import Room
from server.scale.bucket import MemoryBuckets, RedisBuckets
from server.scale.claims import CLAIM_ERRORS, Claims, MemoryClaims, RedisClaims

log = logging.getLogger("cobord.translate")

LANGUAGES = ("fr", "nl", "en")
MAX_PENDING = 256  # notes waiting per board
CONCURRENT_REQUESTS = 4  # requests to the translator at once, over all boards
TIMEOUT_SECONDS = 5.0
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0
REDIS_TIMEOUT_SECONDS = 1.0  # a claim or budget Redis does not answer: decided here
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
MAX_TEXT = 2000
MACHINE = Actor("server", "server")  # who writes machine translations (the log says "server")

WithRoom = Callable[[str, Callable[[Room], Any]], Awaitable[Any]]


class Unavailable(Exception):
    """The translator did not answer (down, slow, 5xx, 429): try again later."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer we do not use (urllib would turn the POST into a GET to wherever
    it points and we would store that answer): it comes back as an HTTPError."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


# ------------------------------------------------------------------ budgets (characters a minute)


class Budget(Protocol):
    async def spend(self, key: str, amount: int, limit: int) -> float:
        """Spend `amount` of the `limit` characters a minute allowed to `key`: 0.0 if spent,
        else the seconds until it could be (nothing spent)."""

    async def close(self) -> None: ...


def _bucket_of(key: str, amount: int, limit: int) -> tuple[str, float, float, float]:
    """The token bucket (server/scale/bucket.py) a budget is: `limit` characters, refilled over
    a minute. A single text over the limit still goes once the bucket is full: it costs all."""
    return f"translate:{key}", float(limit), limit / 60.0, float(min(amount, limit))


class MemoryBudget:
    """One process: a bucket per key, in memory (bounded)."""

    def __init__(self) -> None:
        self._buckets = MemoryBuckets()

    async def spend(self, key: str, amount: int, limit: int) -> float:
        return self._buckets.take_now(*_bucket_of(key, amount, limit))

    async def close(self) -> None:
        pass


class RedisBudget:
    """Every process takes from the same bucket in Redis. Redis not answering: the process's
    own budget."""

    def __init__(self, redis: Redis) -> None:
        # On the process's pool (server/scale/redis.py): not ours to close.
        self._shared = RedisBuckets(redis, REDIS_TIMEOUT_SECONDS)
        self.local = MemoryBudget()

    async def spend(self, key: str, amount: int, limit: int) -> float:
        try:
            return await self._shared.take(*_bucket_of(key, amount, limit))
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("translation budget: Redis unavailable (%s); counting here", exc)
            return await self.local.spend(key, amount, limit)

    async def close(self) -> None:
        pass


# ------------------------------------------------------------------ the translator


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
    requests: int = 0
    translated: int = 0  # translations written
    kept: int = 0  # answers not written: a translation (human) was there first, or the text moved
    failures: int = 0  # requests that failed (then retried)
    dropped: int = 0  # notes not queued: the board's queue was full
    claims_lost: int = 0  # notes another process translates
    refused: int = 0  # answers not used: a 3xx/4xx (redirects are not followed) or bad JSON
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
        self.url = url.rstrip("/") if url else None
        self.budget: Budget = budget or MemoryBudget()
        self.settle_seconds = settle_seconds
        self.chars_per_participant = chars_per_participant
        self.chars_per_board = chars_per_board
        self.timeout = timeout
        self.claims: Claims = claims or MemoryClaims(CLAIM_TTL_SECONDS)
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.counters = Counters()
        self._boards: dict[str, _BoardQueue] = {}
        self._with_room: WithRoom | None = None
        self._requests = asyncio.Semaphore(CONCURRENT_REQUESTS)
        self._watching: weakref.WeakKeyDictionary[Room, Any] = weakref.WeakKeyDictionary()
        # claims this process holds for notes still in work: scope -> this claim's ticket
        self._owned: dict[str, str] = {}
        self._down = False
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
        return self.url is not None

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
            found = await self._with_room(board_id, lambda room: _read(room, note_id))
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
            translated = await self._ask(text, source, target)
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
        if not self.enabled or self._closed:
            return None
        wait = await self.budget.spend(
            f"{board_id}:{author}", len(text), self.chars_per_participant
        ) or await self.budget.spend(board_id, len(text), self.chars_per_board)
        if wait > 0:
            self.counters.over_budget += 1
            return None
        try:
            return await self._ask(text, source, target)
        except Unavailable:
            return None

    async def _ask(self, text: str, source: str, target: str) -> str | None:
        """The translation, or None if the translator refuses this one (4xx, bad answer).
        Raises Unavailable if it did not answer (then the note is retried later)."""
        body = json.dumps({"q": text, "source": source, "target": target, "format": "text"})
        request = urllib.request.Request(
            f"{self.url}/translate",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )

        def call() -> Any:
            with _OPENER.open(request, timeout=self.timeout) as response:
                return json.loads(response.read(1_000_000))

        self.counters.requests += 1
        async with self._requests:
            try:
                answer = await asyncio.to_thread(call)
            except urllib.error.HTTPError as exc:
                if exc.code >= 500 or exc.code == 429:
                    self._failed(source, target, f"HTTP {exc.code}")
                self.counters.refused += 1
                log.warning("translator refused %s -> %s: HTTP %s", source, target, exc.code)
                return None
            except (OSError, TimeoutError) as exc:  # refused, unreachable, timed out
                self._failed(source, target, str(exc) or type(exc).__name__)
            except ValueError as exc:
                self.counters.refused += 1
                log.warning("translator answered %s -> %s with bad JSON: %s", source, target, exc)
                return None
        if self._down:
            self._down = False
            log.info("translator is back; filling in the notes that waited")
        result = answer.get("translatedText") if isinstance(answer, dict) else None
        return result.strip()[:MAX_TEXT] if isinstance(result, str) and result.strip() else None

    def _failed(self, source: str, target: str, why: str) -> NoReturn:
        self.counters.failures += 1
        if not self._down:
            self._down = True
            log.warning(
                "translator unavailable (%s -> %s): %s; notes stay as written, retrying later",
                source,
                target,
                why,
            )
        raise Unavailable(why)

    def metrics_text(self) -> str:
        c = self.counters
        pending = sum(len(q.pending) for q in self._boards.values())
        rows = [
            ("cobord_translate_requests_total", "counter", c.requests),
            ("cobord_translate_written_total", "counter", c.translated),
            ("cobord_translate_kept_total", "counter", c.kept),
            ("cobord_translate_failures_total", "counter", c.failures),
            ("cobord_translate_dropped_total", "counter", c.dropped),
            ("cobord_translate_claims_lost_total", "counter", c.claims_lost),
            ("cobord_translate_refused_total", "counter", c.refused),
            ("cobord_translate_over_budget_total", "counter", c.over_budget),
            ("cobord_translate_pending", "gauge", pending),
        ]
        return "".join(f"# TYPE {name} {kind}\n{name} {value}\n" for name, kind, value in rows)


def _read(
    room: Room, note_id: str
) -> tuple[str, str, tuple[str, ...], dict[str, bool], str] | None:
    """(text, language, the board's languages, {lang: machine?} of its translations, the
    note's author: whose budget it spends)."""
    board = schema.Board(room.doc)
    note = board.notes_map.get(note_id)
    if not isinstance(note, Map):
        return None
    text, lang = note.get("text"), note.get("lang")
    if not isinstance(text, str) or not text.strip() or lang not in LANGUAGES:
        return None
    settings = board.meta.get("settings")
    wanted = settings.get("languages") if isinstance(settings, dict) else None
    languages = tuple(
        x for x in (wanted if isinstance(wanted, list) else LANGUAGES) if x in LANGUAGES
    )
    translations = note.get("translations")
    have: dict[str, bool] = {}
    if isinstance(translations, Map):
        for key, entry in translations.items():
            have[key] = bool(isinstance(entry, dict) and entry.get("machine"))
    author = room.board.note_authors.get(note_id, "unknown")
    return text[:MAX_TEXT], str(lang), languages, have, author


async def write_machine_translation(
    room: Room,
    note_id: str,
    lang: str,
    text: str,
    *,
    source_text: str,
    source_lang: str,
    refresh: bool,
) -> bool:
    """One server change: `translations[lang] = {text, "by": "machine", "machine": true}`, only if
    the note still reads `source_text` in `source_lang` and has no translation in `lang` (with
    `refresh`: or only a machine one). True if written."""
    written = False
    # An answer longer than a note may be is cut to the board's length (the rules would refuse
    # it whole); the rules still judge what is written.
    limit = int(
        room.board.settings.get("max_note_length", schema.DEFAULT_SETTINGS["max_note_length"])
    )
    text = text[: max(0, limit)]

    def change(doc: schema.Board) -> None:
        nonlocal written
        note = doc.notes_map.get(note_id)
        if not isinstance(note, Map) or note.get("lang") != source_lang:
            return
        current = note.get("text")
        if not isinstance(current, str) or current[:MAX_TEXT] != source_text:
            return  # edited meanwhile: its new text is queued
        translations = note.get("translations")
        if not isinstance(translations, Map):
            note["translations"] = translations = Map()
        existing = translations.get(lang)
        if existing is not None and not (
            refresh and isinstance(existing, dict) and existing.get("machine")
        ):
            return  # never over a human translation (nor a machine one of the same text)
        translations[lang] = {"text": text, "by": "machine", "machine": True}
        written = True

    # Judged like a client's write (crdt/rules.py, the server's row: the note schema, the
    # board's `max_note_length` and byte bound): a translator's answer can be as long as anyone's.
    refusal = await room.apply_client_change(MACHINE, change)
    if refusal is not None:
        log.info("board %s: machine translation of %s refused: %s", room.board_id, note_id, refusal)
        return False
    return written
