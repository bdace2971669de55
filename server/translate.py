"""Optional machine translation through a LibreTranslate-compatible server (`COBORD_TRANSLATE_URL`).

`POST {url}/translate {"q", "source", "target", "format": "text"}` -> `{"translatedText"}`.
Jobs (board, note) go into a bounded queue (full: the job is dropped and counted, the note stays
as written); one worker owned by the app's lifespan takes them one by one, asks for every board
language the note lacks, and writes each answer with the room's server change, marked
`machine: true`, only where no translation exists yet (never over a human one). Each request has
a timeout; a down or slow translator delays only this queue, never a board.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

from pycrdt import Map

from crdt import schema
from server.rooms import Room

log = logging.getLogger("cobord.translate")

QUEUE_SIZE = 256
TIMEOUT_SECONDS = 5.0
MAX_TEXT = 2000

WithRoom = Callable[[str, Callable[[Room], Any]], Awaitable[Any]]


class Translator:
    def __init__(self, url: str | None, timeout: float = TIMEOUT_SECONDS) -> None:
        self.url = url.rstrip("/") if url else None
        self.timeout = timeout
        self.queue: asyncio.Queue[tuple[str, str, tuple[str, ...]]] = asyncio.Queue(QUEUE_SIZE)
        self.dropped = 0
        self.failed = 0
        self.done = 0
        self._task: asyncio.Task[None] | None = None
        self._with_room: WithRoom | None = None

    @classmethod
    def from_env(cls) -> Translator:
        return cls(os.environ.get("COBORD_TRANSLATE_URL") or None)

    @property
    def enabled(self) -> bool:
        return self.url is not None

    def start(self, with_room: WithRoom) -> None:
        self._with_room = with_room
        if self.enabled:
            self._task = asyncio.create_task(self._run(), name="cobord-translate")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()  # a request in flight finishes in its thread and is dropped
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def submit(self, board_id: str, note_id: str, languages: tuple[str, ...]) -> bool:
        """Queue a note; False if machine translation is off or the queue is full."""
        if not self.enabled:
            return False
        try:
            self.queue.put_nowait((board_id, note_id, languages))
        except asyncio.QueueFull:
            self.dropped += 1
            return False
        return True

    async def _run(self) -> None:
        while True:
            job = await self.queue.get()
            try:
                await self._translate_note(*job)
            except Exception:  # one bad job must not stop the worker; logged, counted
                self.failed += 1
                log.exception("machine translation of %s/%s failed", job[0], job[1])
            finally:
                self.done += 1
                self.queue.task_done()

    async def _translate_note(
        self, board_id: str, note_id: str, languages: tuple[str, ...]
    ) -> None:
        from server.media_api import write_translation  # media_api imports the API layer

        assert self._with_room is not None

        def read(room: Room) -> tuple[str, str, set[str]] | None:
            note = schema.Board(room.doc).notes_map.get(note_id)
            if not isinstance(note, Map):
                return None
            text, lang = note.get("text"), note.get("lang")
            translations = note.get("translations")
            have = set(translations.keys()) if isinstance(translations, Map) else set()
            if not isinstance(text, str) or not text.strip() or not isinstance(lang, str):
                return None
            return text[:MAX_TEXT], lang, have

        found = await self._with_room(board_id, read)
        if found is None:
            return
        text, source, have = found
        for target in languages:
            if target == source or target in have:
                continue
            translated = await self._ask(text, source, target)
            if translated is None:
                continue
            entry = {"text": translated[:MAX_TEXT], "by": "machine", "machine": True}
            await self._with_room(
                board_id,
                lambda room, t=target, e=entry: write_translation(  # type: ignore[misc]
                    room, note_id, t, e, only_if_missing=True
                ),
            )

    async def _ask(self, text: str, source: str, target: str) -> str | None:
        body = json.dumps({"q": text, "source": source, "target": target, "format": "text"})
        request = urllib.request.Request(
            f"{self.url}/translate",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )

        def call() -> Any:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read(1_000_000))

        try:
            answer = await asyncio.to_thread(call)
        except (OSError, ValueError, urllib.error.URLError) as exc:
            self.failed += 1
            log.warning("translator unavailable (%s -> %s): %s", source, target, exc)
            return None
        result = answer.get("translatedText") if isinstance(answer, dict) else None
        return result.strip() if isinstance(result, str) and result.strip() else None
