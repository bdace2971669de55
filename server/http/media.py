"""Photo and voice notes: upload, and reading them back (a token, a cookie, or a report link).

- `POST /api/boards/{id}/media?kind=photo|voice` (participant or facilitator token; raw bytes as the
  body): checked and re-encoded by server/media/ off the event loop, stored beside the board;
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
"""

from __future__ import annotations

import asyncio
import secrets
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server import media
from server.http.context import HttpContext
from server.http.errors import ApiError
from server.live.room import StorageFailed
from server.settings import Settings
from server.store.base import (
    BoardRecord,
    MediaQuota,
    MediaQuotaExceeded,
    MediaRecord,
    StoreError,
)

MEDIA_ID_BYTES = 12  # 16 url-safe characters, well under the schema's 64
MEDIA_COOKIE = "cobord_media"
MEDIA_ACCESS_SECONDS = 3600  # clients renew every 20 min and on reconnect


class MediaRoutes:
    def __init__(self, http: HttpContext, settings: Settings) -> None:
        self.http = http
        # A photo's decode holds its pixels (draft mode and the pixel bounds of
        # server/media/photo.py keep that to tens of MB): at most this many at once per process,
        # off the event loop; the others wait their turn.
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
        return [
            Route("/api/boards/{board_id}/media", self.upload, methods=["POST"]),
            Route("/api/boards/{board_id}/media-access", self.grant_access, methods=["POST"]),
            Route("/api/boards/{board_id}/media/{media_id}", self.download, methods=["GET"]),
        ]

    async def _may_read_media(self, request: Request) -> BoardRecord:
        """The board whose media the request may read: a token of it in the header (standing
        checked as for any API call), its media cookie, or this picture's report link."""
        if "authorization" in request.headers:
            return (await self.http.access(request)).board
        board = await self.http.board(request.path_params["board_id"])
        media_id = request.path_params["media_id"]
        link = request.query_params.get("access", "")
        if link and self.http.signer.media_link_ok(link, board.id, media_id):
            return board
        cookie = request.cookies.get(MEDIA_COOKIE, "")
        if cookie and self.http.signer.media_access_ok(cookie, board.id, time.time()):
            return board
        if link or cookie:
            raise ApiError(401, "unauthorized", "This media access is not (or no longer) valid.")
        raise ApiError(401, "unauthorized", "Send 'Authorization: Bearer <token>'.")

    async def grant_access(self, request: Request) -> Response:
        board = (await self.http.access(request)).board
        expires = int(time.time()) + MEDIA_ACCESS_SECONDS
        response = JSONResponse(
            {"expires_at": expires * 1000}, headers={"Cache-Control": "no-store"}
        )
        response.set_cookie(
            MEDIA_COOKIE,
            self.http.signer.issue_media_access(board.id, expires),
            max_age=MEDIA_ACCESS_SECONDS,
            path=f"/api/boards/{board.id}/media",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    async def upload(self, request: Request) -> Response:
        access = await self.http.access(request, "participant", "facilitator")
        board, claims = access.board, access.claims
        kind = request.query_params.get("kind", "")
        if kind not in media.KINDS:
            raise ApiError(422, "bad_kind", "'kind' must be 'photo' or 'voice'.")
        if self.http.limiter is not None:
            # Per participant (not per address: a room shares one), before any byte is read.
            await self.http.limiter.check("upload", f"{board.id}:{claims.actor_id}")
        limit = media.MAX_PHOTO_UPLOAD if kind == "photo" else media.MAX_VOICE_UPLOAD
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _refused(media.too_large("photo" if kind == "photo" else "recording", limit))
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:  # stop reading: the bound holds whatever the headers said
                raise _refused(media.too_large("photo" if kind == "photo" else "recording", limit))
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
            await self.http.store.media.put_media(record, self.quota)
        except MediaQuotaExceeded as exc:
            raise _over_quota(exc) from exc
        except StoreError as exc:
            raise StorageFailed(str(exc)) from exc  # 503 storage_unavailable (http/errors.py)
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
        record = await self.http.store.media.get_media(board.id, request.path_params["media_id"])
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


def _over_quota(exc: MediaQuotaExceeded) -> ApiError:
    who = "You have" if exc.scope == "participant" else "This board has"
    if exc.what == "count":
        held = f"{exc.limit} photos and recordings"
    else:
        held = f"{exc.limit // (1024 * 1024)} MB of photos and recordings"
    return ApiError(413, f"media_quota_{exc.scope}", f"{who} reached the limit of {held}.")


def _refused(exc: media.MediaRefused) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)
