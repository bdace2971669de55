"""HTTP endpoints for photo and voice notes, and for translations of notes.

- `POST /api/boards/{id}/media?kind=photo|voice` (participant or facilitator token; raw bytes as the
  body): checked and re-encoded by server/media.py off the event loop, stored beside the board;
  answers `{"id", "kind", "content_type", "url"}`. The client then creates its note with
  `kind` and `media` = that id through the document as usual.
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
  note with its own change, `by` taken from the token; an empty text removes the translation.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from pycrdt import Map
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt import schema
from server import media
from server.api import LANGUAGES, Api, ApiError, _handles_errors, _json
from server.rooms import Room
from server.store.base import BoardRecord, MediaRecord, StoreError
from server.translate import Translator

MAX_TRANSLATION = 2000
MEDIA_ID_BYTES = 12  # 16 url-safe characters, well under the schema's 64
MEDIA_COOKIE = "cobord_media"
MEDIA_ACCESS_SECONDS = 3600  # clients renew every 20 min and on reconnect


class MediaApi:
    def __init__(self, api: Api, translator: Translator | None = None) -> None:
        self.api = api
        self.translator = translator or Translator(None)

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
            processed = await asyncio.to_thread(media.process, kind, bytes(body))
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
            await self.api.store.put_media(record)
        except StoreError as exc:
            raise ApiError(503, "storage_error", "Saving failed; please try again.") from exc
        return JSONResponse(
            {
                "id": media_id,
                "kind": kind,
                "content_type": processed.content_type,
                "bytes": len(processed.data),
                "url": f"/api/boards/{board.id}/media/{media_id}",
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
        outcome = await self.api._with_room(
            board.id, lambda room: write_translation(room, note_id, lang, entry)
        )
        if outcome == "unknown_note":
            raise ApiError(404, "unknown_note", "No note with this id on the board.")
        if outcome == "original":
            raise ApiError(
                422, "same_language", "This note is written in this language; edit the note."
            )
        return JSONResponse({"note_id": note_id, "lang": lang, **(entry if text.strip() else {})})

    async def machine_translate(self, request: Request) -> Response:
        """Ask for machine translations of a note in the background; answers at once (202)."""
        board, _claims = await self.api._auth(request, "participant", "facilitator")
        if not self.translator.enabled:
            return JSONResponse({"queued": False, "reason": "off"}, status_code=202)
        queued = self.translator.submit(board.id, request.path_params["note_id"])
        return JSONResponse(
            {"queued": queued, **({} if queued else {"reason": "busy"})}, status_code=202
        )


async def write_translation(
    room: Room, note_id: str, lang: str, entry: dict[str, Any], *, only_if_missing: bool = False
) -> str:
    """Write (or with an empty text, remove) one translation in one server change.

    `only_if_missing` (machine translations): nothing is written over an existing translation.
    Returns "ok", "unknown_note", "original" or "kept"."""
    outcome = "ok"

    def change(doc: schema.Board) -> None:
        nonlocal outcome
        note = doc.notes_map.get(note_id)
        if not isinstance(note, Map):
            outcome = "unknown_note"
            return
        if note.get("lang") == lang:
            outcome = "original"
            return
        translations = note.get("translations")
        if not isinstance(translations, Map):
            if not entry["text"]:
                return
            note["translations"] = translations = Map()
        if only_if_missing and lang in translations:
            outcome = "kept"
            return
        if entry["text"]:
            translations[lang] = dict(entry)
        elif lang in translations:
            del translations[lang]

    await room.apply_server_change(change)
    return outcome


def _refused(exc: media.MediaRefused) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)
