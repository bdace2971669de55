"""Optional machine translation through a LibreTranslate-compatible server (`COBORD_TRANSLATE_URL`).

`POST {url}/translate {"q", "source", "target", "format": "text"}` -> `{"translatedText"}`.
One module per concern: translator.py (the queue, its workers, who translates what),
client.py (the requests to the translator), budget.py (characters a minute), notes.py (what is
read from and written into the board's document).

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

from server.translate.budget import Budget, MemoryBudget, RedisBudget
from server.translate.client import Unavailable
from server.translate.notes import write_machine_translation
from server.translate.translator import Translator

__all__ = [
    "Budget",
    "MemoryBudget",
    "RedisBudget",
    "Translator",
    "Unavailable",
    "write_machine_translation",
]
