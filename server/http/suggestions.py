"""Cluster suggestions for the facilitator (server/suggest.py), and accepting one.

- `GET /api/boards/{id}/cluster-suggestions` (facilitator; participants 403):
  `{"placements": [{"note", "cluster", "confidence"}], "suggestions": [{"label": {lang: text},
  "notes": [note ids]}]}`: loose notes that clearly fit an existing cluster, then groups of the
  loose notes that fit none. Computed in a thread, ONE at a time per board (across processes
  under REDIS_URL: a second request meanwhile gets 429 `suggestions_busy`) and at most
  MAX_RUNNING at a time per process (others wait up to QUEUE_SECONDS, then 429 `busy`); the work
  of one request is bounded by suggest.MAX_NOTES / MAX_TEXT / MAX_CHARS.
- `POST /api/boards/{id}/cluster-suggestions/accept` `{"notes": [ids], "title"?, "titles"?}`
  (facilitator): creates the cluster (`titles`: board language -> title) and moves the notes into
  it in ONE server change; `{"cluster_id", "notes"}`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pycrdt import Map
from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt import schema
from server.http.context import HttpContext
from server.http.errors import ApiError
from server.http.inputs import read_json
from server.live.room import Room
from server.live.tasks import TaskSet
from server.scale.claims import CLAIM_ERRORS, Claims, make_claims

if TYPE_CHECKING:
    # Imported where a suggestion is asked for: it brings numpy and the encoder, which a server
    # start (and every test server) would otherwise load for nothing.
    from server import suggest

log = logging.getLogger("cobord.suggest")

MAX_ACCEPT = 500
MAX_TITLE = 80
MAX_RUNNING = 1  # suggestion computations at once in one process (the machine has other work)
QUEUE_SECONDS = 10.0  # how long a request waits for its turn in this process before 429
GATE_SECONDS = 120  # a board's gate expires by itself if its holder dies


def gate_scope(board_id: str) -> str:
    """The claims scope of one board's suggestion computation (one name in it, GATE_NAME)."""
    return f"suggest:{board_id}"


GATE_NAME = "computing"


class SuggestionRoutes:
    def __init__(self, http: HttpContext, redis: Redis | None = None) -> None:
        self.http = http
        # One computation per board, across processes: whoever claims the board's gate first
        # computes (the one claims protocol, server/scale/claims.py; a ticket per request).
        self.gate: Claims = make_claims(redis, GATE_SECONDS)
        self._running = asyncio.Semaphore(MAX_RUNNING)
        self._leaving = TaskSet()  # gate releases still under way: awaited on close

    async def close(self) -> None:
        await self._leaving.join()
        await self.gate.close()

    def routes(self) -> list[Route]:
        base = "/api/boards/{board_id}/cluster-suggestions"
        return [
            Route(base, self.suggestions, methods=["GET"]),
            Route(base + "/accept", self.accept, methods=["POST"]),
        ]

    async def suggestions(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        languages = [
            lang
            for lang in board.settings.get("languages", list(schema.LANGUAGES))
            if lang in schema.LANGUAGES
        ]
        from server import suggest

        loose, clusters = await self.http.with_room(board.id, read_board)
        result = await self._compute(
            board.id, lambda: suggest.analyse(loose, clusters, languages=languages)
        )
        return JSONResponse(result)

    async def _compute(self, board_id: str, work: Callable[[], Any]) -> Any:
        """`work()` in a thread, one per board at a time and MAX_RUNNING per process. The gate and
        the slot are given back when the THREAD ends, not when this request does: a caller who
        hangs up cannot start a second computation beside one still running."""
        ticket = secrets.token_hex(8)
        try:
            taken = await self.gate.claim(gate_scope(board_id), {GATE_NAME: ticket})
        except CLAIM_ERRORS as exc:
            raise ApiError(503, "unavailable", "Suggestions are unavailable; try again.") from exc
        if taken:
            raise _busy(
                "suggestions_busy", "Suggestions for this board are being computed; wait for them."
            )
        try:
            async with asyncio.timeout(QUEUE_SECONDS):
                await self._running.acquire()
        except TimeoutError:
            await self._leave_now(board_id, ticket)
            raise _busy(
                "busy", "The server is computing other suggestions; try again soon."
            ) from None

        future = asyncio.get_running_loop().run_in_executor(None, work)
        future.add_done_callback(lambda _: self._running.release())
        try:
            result = await asyncio.shield(future)
        except asyncio.CancelledError:
            # The caller hung up: the gate stays closed until the thread is done.
            future.add_done_callback(lambda _: self._leave(board_id, ticket))
            raise
        except BaseException:
            await self._leave_now(board_id, ticket)
            raise
        await self._leave_now(board_id, ticket)  # before answering: the next ask finds it open
        return result

    async def _leave_now(self, board_id: str, ticket: str) -> None:
        try:
            await self.gate.release(gate_scope(board_id), {GATE_NAME: ticket})
        except CLAIM_ERRORS as exc:  # the claim expires by itself
            log.warning("releasing the suggestion gate of %s failed: %r", board_id, exc)

    def _leave(self, board_id: str, ticket: str) -> None:
        """Release from a callback (no await possible there): an owned task."""
        self._leaving.start(self._leave_now(board_id, ticket), name=f"suggest-leave-{board_id}")

    async def accept(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        body = await read_json(request)
        ids = body.get("notes")
        if (
            not isinstance(ids, list)
            or not ids
            or len(ids) > MAX_ACCEPT
            or not all(isinstance(i, str) for i in ids)
        ):
            raise ApiError(422, "bad_notes", "'notes' must be a non-empty list of note ids.")
        title = body.get("title", "")
        if not isinstance(title, str) or len(title) > MAX_TITLE:
            raise ApiError(
                422, "bad_title", f"'title' is a text of at most {MAX_TITLE} characters."
            )
        titles = body.get("titles", {})
        if not isinstance(titles, dict) or not all(
            lang in schema.LANGUAGES and isinstance(t, str) and len(t) <= MAX_TITLE
            for lang, t in titles.items()
        ):
            raise ApiError(
                422,
                "bad_titles",
                f"'titles' maps fr, nl or en to a text of at most {MAX_TITLE} characters.",
            )
        titles = {lang: t.strip() for lang, t in titles.items() if t.strip()}
        cluster_id = "c" + secrets.token_urlsafe(8)
        missing: list[str] = []

        def change(doc: schema.Board) -> None:
            notes = [doc.notes_map.get(i) for i in ids]
            missing.extend(i for i, n in zip(ids, notes, strict=True) if not isinstance(n, Map))
            if missing:
                return
            xs = [float(n.get("x") or 0.0) for n in notes if isinstance(n, Map)]
            ys = [float(n.get("y") or 0.0) for n in notes if isinstance(n, Map)]
            fields: dict[str, Any] = {
                "title": title.strip(),
                "x": min(xs) - 20.0,
                "y": min(ys) - 60.0,
                "color": "blue",
            }
            if titles:
                fields["titles"] = titles
            doc.clusters_map[cluster_id] = Map(fields)
            for n in notes:
                if isinstance(n, Map):
                    n["cluster"] = cluster_id

        async def apply(room: Room) -> None:
            await room.apply_server_change(change)

        await self.http.with_room(board.id, apply)
        if missing:
            raise ApiError(404, "unknown_note", f"No note {missing[0]!r} on the board.")
        return JSONResponse({"cluster_id": cluster_id, "notes": ids}, status_code=201)


def _busy(code: str, message: str) -> ApiError:
    return ApiError(429, code, message)


def _plain(value: Any) -> Any:
    return value.to_py() if isinstance(value, Map) else value


def read_board(room: Room) -> tuple[list[suggest.NoteText], list[suggest.ClusterText]]:
    """The loose notes (in no existing cluster) and the clusters with their notes."""
    from server import suggest

    board = schema.Board(room.doc)
    clusters: dict[str, suggest.ClusterText] = {}
    for cluster_id, value in board.clusters_map.items():
        if not isinstance(value, Map):
            continue
        data = value.to_py() or {}
        if data.get("deleted"):
            continue
        title = data.get("title")
        titles = _plain(data.get("titles")) or {}
        clusters[cluster_id] = suggest.ClusterText(
            cluster_id,
            title if isinstance(title, str) else "",
            {k: v for k, v in titles.items() if k in schema.LANGUAGES and isinstance(v, str)}
            if isinstance(titles, dict)
            else {},
            [],
        )
    loose: list[suggest.NoteText] = []
    for note_id, value in board.notes_map.items():
        if not isinstance(value, Map):
            continue
        data = value.to_py() or {}
        if data.get("deleted"):
            continue
        text = data.get("text")
        translations = data.get("translations") or {}
        lang = data.get("lang")
        note = suggest.NoteText(
            note_id,
            text if isinstance(text, str) else "",
            lang if isinstance(lang, str) else None,
            {
                k: tr["text"]
                for k, tr in translations.items()
                if isinstance(tr, dict) and isinstance(tr.get("text"), str)
            }
            if isinstance(translations, dict)
            else {},
        )
        home = clusters.get(data.get("cluster") or "")
        if home is not None:
            home.notes.append(note)
        else:
            loose.append(note)
    return loose, list(clusters.values())
