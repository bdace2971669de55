"""The LibreTranslate-compatible server (`COBORD_TRANSLATE_URL`): `POST {url}/translate {"q",
"source", "target", "format": "text"}` -> `{"translatedText"}`. One request per text and target
language, at most `CONCURRENT_REQUESTS` at once, `TIMEOUT_SECONDS` each; redirects are not followed
(an HTTPError, not retried). Down, slow or answering 5xx/429: `Unavailable` (the caller retries
later); a 4xx or bad JSON: no translation for that text. One log line when the translator goes
away, one when it is back."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, NoReturn

log = logging.getLogger("cobord.translate")

CONCURRENT_REQUESTS = 4  # requests to the translator at once, over all boards
TIMEOUT_SECONDS = 5.0
MAX_TEXT = 2000


class Unavailable(Exception):
    """The translator did not answer (down, slow, 5xx, 429): try again later."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer we do not use (urllib would turn the POST into a GET to wherever
    it points and we would store that answer): it comes back as an HTTPError."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass
class RequestCounters:
    requests: int = 0
    failures: int = 0  # requests that failed (then retried)
    refused: int = 0  # answers not used: a 3xx/4xx (redirects are not followed) or bad JSON


class TranslatorClient:
    def __init__(self, url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        self.url = url
        self.timeout = timeout
        self.counters = RequestCounters()
        self._requests = asyncio.Semaphore(CONCURRENT_REQUESTS)
        self._down = False

    async def ask(self, text: str, source: str, target: str) -> str | None:
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
