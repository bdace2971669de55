"""HTTP endpoints for photo and voice notes, and for translations of notes.

- `POST /api/boards/{id}/media?kind=photo|voice` (participant or facilitator token; raw bytes as the
  body): checked and re-encoded by server/media.py off the event loop, stored beside the board;
  answers `{"id", "kind", "content_type", "url"}` (+ `seconds` for a recording whose container
  says how long it lasts). The client then creates its note with `kind`, `media` = that id and,
  for a voice note, `duration` through the document as usual.
- `GET /api/boards/{id}/media/{media_id}`: the bytes, for a token of that board in the
  `Authorization` header (401 without one, 403 for another board's), for the media cookie, or for a
  report link's `?access=`. `<img src>` and `<audio src>` cannot send headers, and a token in their
  URL would travel with "copy image address" (a facilitator's is the whole board): pages use the
  cookie below instead.
- `POST /api/boards/{id}/media-access` (any token of the board): sets the cookie `cobord_media`,
  HttpOnly, SameSite=Strict, `Path=/api/boards/{id}/media`, valid MEDIA_ACCESS_SECONDS: it opens
  this board's pictures and recordings and nothing else. Clients renew it on every (re)connect and
  before it runs out. Answers `{"expires_at": ms}`.
- A report's photo links carry `?access=` (`TokenSigner.media_link`): that one picture, no expiry
  (it goes when the picture or the board is erased).
- `POST /api/boards/{id}/notes/{note_id}/machine-translate`: queue the note for machine translation
  (server/translate.py) and answer 202 at once; `{"queued": false}` when it is off or busy.
- `PUT /api/boards/{id}/notes/{note_id}/translations/{lang}` `{"text"}` (participant or
  facilitator): the server writes `translations[lang] = {"text", "by", "machine": false}` into the
  note with its own change, `by` taken from the token; an empty text removes the translation (422
  `empty_text` when there is none to remove: "Translate" with nothing typed is not a success).
  A translation written into a language answers the requests for it (`wanted[lang]` goes).
- `POST /api/boards/{id}/notes/{note_id}/translation-requests/{lang}` (participant or
  facilitator): ask for a translation of the note into `lang`. The server writes
  `wanted[lang] = <ms>` into the note (a nested map, in the document: stored, shared by every
  process, seen by every reader); bilingual readers and the facilitator see how many notes wait.
  Answers `{"note_id", "lang", "wanted": true}`; 409 `already_translated` when a human
  translation exists, 422 `same_language` for the note's own language. The machine translator,
  when configured, is asked too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Map
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt import replay, rules, schema
from crdt.rules import Actor
from server import media
from server.api import LANGUAGES, Api, ApiError, _handles_errors, _json
from server.live.room import Room
from server.settings import Settings
from server.store.base import (
    BoardRecord,
    MediaQuota,
    MediaQuotaExceeded,
    MediaRecord,
    Store,
    StoreError,
)
from server.translate import Translator

log = logging.getLogger("cobord.media")

MAX_TRANSLATION = 2000
MEDIA_ID_BYTES = 12  # 16 url-safe characters, well under the schema's 64
MEDIA_COOKIE = "cobord_media"
MEDIA_ACCESS_SECONDS = 3600  # clients renew every 20 min and on reconnect


class MediaApi:
    def __init__(
        self, api: Api, translator: Translator | None = None, settings: Settings | None = None
    ) -> None:
        self.api = api
        self.translator = translator or Translator(None)
        settings = settings or Settings()
        # A photo's decode holds its pixels (draft mode and the pixel bounds in server/media.py
        # keep that to tens of MB): at most this many at once per process, off the event loop;
        # the others wait their turn.
        self._decodes = asyncio.Semaphore(settings.photo_decodes)
        self.decoding = 0
        self.decoding_peak = 0
        self.decoded = 0
        self.quota = MediaQuota(
            settings.media_per_participant,
            settings.media_bytes_per_participant,
            settings.media_per_board,
            settings.media_bytes_per_board,
        )

    def metrics_text(self) -> str:
        rows = [
            ("cobord_photo_decodes_running", "gauge", self.decoding),
            ("cobord_photo_decodes_peak", "gauge", self.decoding_peak),
            ("cobord_photo_decodes_total", "counter", self.decoded),
        ]
        return "".join(f"# TYPE {name} {kind}\n{name} {value}\n" for name, kind, value in rows)

    async def _process(self, kind: str, data: bytes) -> media.Processed:
        if kind != "photo":
            return await asyncio.to_thread(media.process, kind, data)
        async with self._decodes:
            self.decoding += 1
            self.decoding_peak = max(self.decoding_peak, self.decoding)
            try:
                return await asyncio.to_thread(media.process, kind, data)
            finally:
                self.decoding -= 1
                self.decoded += 1

    def routes(self) -> list[Route]:
        h = _handles_errors
        return [
            Route("/api/boards/{board_id}/media", h(self.upload), methods=["POST"]),
            Route("/api/boards/{board_id}/media-access", h(self.grant_access), methods=["POST"]),
            Route("/api/boards/{board_id}/media/{media_id}", h(self.download), methods=["GET"]),
            Route(
                "/api/boards/{board_id}/notes/{note_id}/translations/{lang}",
                h(self.put_translation),
                methods=["PUT"],
            ),
            Route(
                "/api/boards/{board_id}/notes/{note_id}/translation-requests/{lang}",
                h(self.request_translation),
                methods=["POST"],
            ),
            Route(
                "/api/boards/{board_id}/notes/{note_id}/machine-translate",
                h(self.machine_translate),
                methods=["POST"],
            ),
        ]

    async def _may_read_media(self, request: Request) -> BoardRecord:
        """The board whose media the request may read: a token of it in the header (standing
        checked as for any API call), its media cookie, or this picture's report link."""
        if "authorization" in request.headers:
            board, _ = await self.api._auth(request)
            return board
        board = await self.api._board(request.path_params["board_id"])
        media_id = request.path_params["media_id"]
        link = request.query_params.get("access", "")
        if link and self.api.signer.media_link_ok(link, board.id, media_id):
            return board
        cookie = request.cookies.get(MEDIA_COOKIE, "")
        if cookie and self.api.signer.media_access_ok(cookie, board.id, time.time()):
            return board
        if link or cookie:
            raise ApiError(401, "unauthorized", "This media access is not (or no longer) valid.")
        raise ApiError(401, "unauthorized", "Send 'Authorization: Bearer <token>'.")

    async def grant_access(self, request: Request) -> Response:
        board, _ = await self.api._auth(request)
        expires = int(time.time()) + MEDIA_ACCESS_SECONDS
        response = JSONResponse(
            {"expires_at": expires * 1000}, headers={"Cache-Control": "no-store"}
        )
        response.set_cookie(
            MEDIA_COOKIE,
            self.api.signer.issue_media_access(board.id, expires),
            max_age=MEDIA_ACCESS_SECONDS,
            path=f"/api/boards/{board.id}/media",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    async def upload(self, request: Request) -> Response:
        board, claims = await self.api._auth(request, "participant", "facilitator")
        kind = request.query_params.get("kind", "")
        if kind not in media.KINDS:
            raise ApiError(422, "bad_kind", "'kind' must be 'photo' or 'voice'.")
        if self.api.limiter is not None:
            # Per participant (not per address: a room shares one), before any byte is read.
            await self.api.limiter.check("upload", f"{board.id}:{claims.actor_id}")
        limit = media.MAX_PHOTO_UPLOAD if kind == "photo" else media.MAX_VOICE_UPLOAD
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _refused(media._too_large("photo" if kind == "photo" else "recording", limit))
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:  # stop reading: the bound holds whatever the headers said
                raise _refused(media._too_large("photo" if kind == "photo" else "recording", limit))
        try:
            processed = await self._process(kind, bytes(body))
        except media.MediaRefused as exc:
            raise _refused(exc) from exc
        media_id = secrets.token_urlsafe(MEDIA_ID_BYTES)
        record = MediaRecord(
            media_id,
            board.id,
            kind,
            processed.content_type,
            processed.data,
            claims.actor_id,
            time.time(),
        )
        try:
            await self.api.store.put_media(record, self.quota)
        except MediaQuotaExceeded as exc:
            raise _over_quota(exc) from exc
        except StoreError as exc:
            raise ApiError(503, "storage_error", "Saving failed; please try again.") from exc
        return JSONResponse(
            {
                "id": media_id,
                "kind": kind,
                "content_type": processed.content_type,
                "bytes": len(processed.data),
                "url": f"/api/boards/{board.id}/media/{media_id}",
                # the client stores it in the note (`duration`): players show 0:00 otherwise
                **({"seconds": processed.seconds} if processed.seconds is not None else {}),
            },
            status_code=201,
        )

    async def download(self, request: Request) -> Response:
        board = await self._may_read_media(request)
        record = await self.api.store.get_media(board.id, request.path_params["media_id"])
        if record is None:
            raise ApiError(404, "unknown_media", "No photo or recording with this id here.")
        return Response(
            record.data,
            media_type=record.content_type,
            headers={
                "Cache-Control": "private, max-age=86400, immutable",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )

    async def put_translation(self, request: Request) -> Response:
        board, claims = await self.api._auth(request, "participant", "facilitator")
        lang = request.path_params["lang"]
        note_id = request.path_params["note_id"]
        if lang not in LANGUAGES:
            raise ApiError(422, "bad_lang", f"'lang' must be one of {', '.join(LANGUAGES)}.")
        if board.settings.get("locked"):
            raise ApiError(409, "locked", "The board is locked.")
        body = await _json(request)
        text = body.get("text")
        if not isinstance(text, str) or len(text) > MAX_TRANSLATION:
            raise ApiError(
                422, "bad_text", f"'text' must be a text of at most {MAX_TRANSLATION} characters."
            )
        by = claims.actor_id
        if board.settings.get("anonymous"):
            by = "anonymous" if claims.role == "participant" else claims.role
        entry = {"text": text.strip(), "by": by, "machine": False}
        actor = Actor(claims.role, claims.actor_id)
        outcome = await self.api._with_room(
            board.id, lambda room: write_translation(room, note_id, lang, entry, actor=actor)
        )
        if isinstance(outcome, Refused):
            # Judged like the client's own write (crdt/rules.py): what the socket refuses, this
            # refuses too, with the same reason.
            if outcome.reason.startswith(rules.BOARD_FULL):
                raise ApiError(413, "board_full", outcome.reason)
            raise ApiError(422, "refused", outcome.reason)
        if outcome == "unknown_note":
            raise ApiError(404, "unknown_note", "No note with this id on the board.")
        if outcome == "original":
            raise ApiError(
                422, "same_language", "This note is written in this language; edit the note."
            )
        if outcome == "nothing":
            raise ApiError(422, "empty_text", "Type the translation first.")
        return JSONResponse({"note_id": note_id, "lang": lang, **(entry if text.strip() else {})})

    async def request_translation(self, request: Request) -> Response:
        board, _claims = await self.api._auth(request, "participant", "facilitator")
        lang = request.path_params["lang"]
        note_id = request.path_params["note_id"]
        if lang not in LANGUAGES:
            raise ApiError(422, "bad_lang", f"'lang' must be one of {', '.join(LANGUAGES)}.")
        if board.settings.get("locked"):
            raise ApiError(409, "locked", "The board is locked.")
        outcome = await self.api._with_room(
            board.id, lambda room: write_request(room, note_id, lang, time.time() * 1000)
        )
        if outcome == "unknown_note":
            raise ApiError(404, "unknown_note", "No note with this id on the board.")
        if outcome == "original":
            raise ApiError(422, "same_language", "This note is written in this language.")
        if outcome == "translated":
            raise ApiError(409, "already_translated", "This note has a translation already.")
        if self.translator.enabled:
            self.translator.submit(board.id, note_id)
        return JSONResponse({"note_id": note_id, "lang": lang, "wanted": True})

    async def machine_translate(self, request: Request) -> Response:
        """Ask for machine translations of a note in the background; answers at once (202)."""
        board, _claims = await self.api._auth(request, "participant", "facilitator")
        if not self.translator.enabled:
            return JSONResponse({"queued": False, "reason": "off"}, status_code=202)
        queued = self.translator.submit(board.id, request.path_params["note_id"])
        return JSONResponse(
            {"queued": queued, **({} if queued else {"reason": "busy"})}, status_code=202
        )


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str  # the rules' reason (crdt/rules.py), as the socket would send it


async def write_translation(
    room: Room,
    note_id: str,
    lang: str,
    entry: dict[str, Any],
    *,
    actor: Actor,
    only_if_missing: bool = False,
) -> str | Refused:
    """Write (or with an empty text, remove) one translation, for `actor`: judged like that
    client's own write (schema, `max_note_length`, the board's bounds).

    `only_if_missing` (machine translations): nothing is written over an existing translation.
    Returns "ok", "unknown_note", "original", "kept", "nothing" (empty text, no translation) or a
    Refused."""
    outcome = "ok"

    def change(doc: schema.Board) -> None:
        nonlocal outcome
        note = _note_to_translate(doc, note_id, lang)
        if isinstance(note, str):
            outcome = note
            return
        translations = note.get("translations")
        if not isinstance(translations, Map):
            if not entry["text"]:
                outcome = "nothing"
                return
            note["translations"] = translations = Map()
        if only_if_missing and lang in translations:
            outcome = "kept"
            return
        if entry["text"]:
            translations[lang] = dict(entry)
        elif lang in translations:
            del translations[lang]
        else:
            outcome = "nothing"

    def answer_request(doc: schema.Board) -> None:
        note = doc.notes_map.get(note_id)
        wanted = note.get("wanted") if isinstance(note, Map) else None
        if isinstance(wanted, Map) and lang in wanted:
            del wanted[lang]

    refusal = await room.apply_client_change(actor, change)
    if refusal is not None:
        return Refused(refusal)
    # A person's translation answers the request (`wanted` is the server's field, written apart
    # from the client's judged change); a machine one leaves it open for a person.
    if outcome == "ok" and entry["text"] and not entry.get("machine"):
        await room.apply_server_change(answer_request)
    return outcome


def _note_to_translate(doc: schema.Board, note_id: str, lang: str) -> Map[Any] | str:
    """The note to translate into `lang`, or why not: "unknown_note", or "original" (it is
    written in `lang`)."""
    note = doc.notes_map.get(note_id)
    if not isinstance(note, Map):
        return "unknown_note"
    if note.get("lang") == lang:
        return "original"
    return note


async def write_request(room: Room, note_id: str, lang: str, at_ms: float) -> str:
    """Record a request for a translation into `lang` (`wanted[lang]`, kept when already asked).
    Returns "ok", "unknown_note", "original" or "translated" (a person's translation exists)."""
    outcome = "ok"

    def change(doc: schema.Board) -> None:
        nonlocal outcome
        note = _note_to_translate(doc, note_id, lang)
        if isinstance(note, str):
            outcome = note
            return
        translations = note.get("translations")
        existing = translations.get(lang) if isinstance(translations, Map) else None
        if isinstance(existing, dict) and existing.get("text") and not existing.get("machine"):
            outcome = "translated"
            return
        wanted = note.get("wanted")
        if not isinstance(wanted, Map):
            note["wanted"] = wanted = Map()
        if lang not in wanted:
            wanted[lang] = float(int(at_ms))

    await room.apply_server_change(change)
    return outcome


def _over_quota(exc: MediaQuotaExceeded) -> ApiError:
    who = "You have" if exc.scope == "participant" else "This board has"
    if exc.what == "count":
        held = f"{exc.limit} photos and recordings"
    else:
        held = f"{exc.limit // (1024 * 1024)} MB of photos and recordings"
    return ApiError(413, f"media_quota_{exc.scope}", f"{who} reached the limit of {held}.")


def _refused(exc: media.MediaRefused) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


class MediaSweeper:
    """Deletes uploads never attached to a note once they are `orphan_minutes` old: one task,
    owned by the app's lifespan (`start`/`close`). Every process may run one: the store deletes
    a row only while it is still unattached, so two sweepers never disagree.

    An old unattached upload is looked up in its board's committed document (latest keyframe +
    log) and among its hidden notes: one a note uses is marked attached (kept for good, also
    for the replay after that note is deleted); the others are deleted."""

    BATCH = 500

    def __init__(self, store: Store, orphan_minutes: float) -> None:
        self.store = store
        self.orphan_seconds = orphan_minutes * 60
        self.deleted = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.orphan_seconds > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="media-sweeper")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        interval = min(600.0, max(1.0, self.orphan_seconds / 2))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except Exception:  # a failing store must not end the task: next round
                log.exception("media sweep failed")

    async def sweep(self) -> int:
        """One round; returns how many uploads were deleted."""
        found = await self.store.unattached_media(time.time() - self.orphan_seconds, self.BATCH)
        by_board: dict[str, list[str]] = {}
        for board_id, media_id in found:
            by_board.setdefault(board_id, []).append(media_id)
        deleted = 0
        for board_id, ids in by_board.items():
            used = await self._used(board_id)
            await self.store.attach_media(board_id, [i for i in ids if i in used])
            gone = await self.store.delete_unattached_media(
                board_id, [i for i in ids if i not in used]
            )
            if gone:
                log.info("board %s: %d upload(s) never attached to a note deleted", board_id, gone)
            deleted += gone
        self.deleted += deleted
        return deleted

    async def _used(self, board_id: str) -> set[str]:
        """Media ids the board's notes name: committed ones and hidden ones."""
        keyframe, tail = await self.store.load(board_id)
        state = replay.state_at(keyframe.state if keyframe else None, [u.data for u in tail])
        used = await asyncio.to_thread(_media_of_state, state)
        for hidden in await self.store.hidden_notes(board_id):
            if isinstance(hidden.fields.get("media"), str):
                used.add(hidden.fields["media"])
        return used


def _media_of_state(state: bytes) -> set[str]:
    doc: Doc[Any] = Doc()
    doc.apply_update(state)
    return {note.media for note in schema.Board(doc).notes() if note.media is not None}
