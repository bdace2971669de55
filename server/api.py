"""The HTTP API (JSON). Every error is {"error": code, "message": text} with a 4xx status.

Things that must be secret or atomic go here, not through the CRDT: joining, votes, phase and
settings changes (written into the doc's `meta` by the server), results.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import math
import re
import secrets
import time
import unicodedata
import zoneinfo
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt import schema
from crdt.results import compute_results
from server.hub import Hub, Overloaded, UnknownBoard
from server.limits import RateLimited, RateLimiter, client_ip
from server.rooms import Room, StorageFailed
from server.store.base import (
    BoardRecord,
    DuplicateJoinCode,
    ParticipantRecord,
    Store,
    VoteRefused,
)
from server.tokens import InvalidToken, TokenClaims, TokenSigner, participant_of, standing

# No look-alikes: no 0/O, 1/I/L.
JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6
LANGUAGES = ("fr", "nl", "en")
MAX_TITLE = 200
MAX_NAME = 60
MAX_GROUPS = 20
MAX_ID = 64
MAX_JSON_BYTES = 64 * 1024  # request bodies of the JSON endpoints; larger: 413
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status)


Handler = Callable[[Request], Awaitable[Response]]


def _handles_errors(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc)
        except RateLimited as exc:
            response = error_response(
                ApiError(429, "rate_limited", f"Too many requests; retry in {exc.retry_after} s.")
            )
            response.headers["Retry-After"] = str(exc.retry_after)
            return response

    return wrapped


class Api:
    def __init__(
        self,
        store: Store,
        hub: Hub,
        signer: TokenSigner,
        online: Callable[[str], Awaitable[dict[str, int]]],
        limiter: RateLimiter | None = None,
        trusted_proxies: frozenset[str] = frozenset(),
    ) -> None:
        self.limiter = limiter
        self.trusted_proxies = trusted_proxies
        self.store = store
        self.hub = hub
        self.signer = signer
        self.online = online
        self._settings_locks: dict[str, list[Any]] = {}  # board id -> [lock, requests using it]

    def routes(self) -> list[Route]:
        h = _handles_errors
        return [
            Route("/healthz", h(self.healthz), methods=["GET"]),
            Route("/api/boards", h(self.create_board), methods=["POST"]),
            Route("/api/join", h(self.join), methods=["POST"]),
            Route("/api/join/{code}", h(self.join_info), methods=["GET"]),
            Route("/api/boards/{board_id}", h(self.get_board), methods=["GET"]),
            Route("/api/boards/{board_id}/settings", h(self.patch_settings), methods=["PATCH"]),
            Route("/api/boards/{board_id}/phase", h(self.set_phase), methods=["POST"]),
            Route("/api/boards/{board_id}/timer", h(self.set_timer), methods=["POST"]),
            Route("/api/boards/{board_id}/participants", h(self.participants), methods=["GET"]),
            Route("/api/boards/{board_id}/votes", h(self.vote), methods=["POST"]),
            Route("/api/boards/{board_id}/votes/mine", h(self.my_votes), methods=["GET"]),
            Route("/api/boards/{board_id}/results", h(self.results), methods=["GET"]),
        ]

    # ------------------------------------------------------------------ helpers

    async def _limit(self, request: Request, action: str) -> None:
        """Per-IP rate limit (raises RateLimited -> 429 with Retry-After)."""
        if self.limiter is None:
            return
        peer = request.client.host if request.client else None
        ip = client_ip(peer, request.headers.get("x-forwarded-for"), self.trusted_proxies)
        await self.limiter.check(action, ip)

    async def _board(self, board_id: str) -> BoardRecord:
        # Ids are ours (url-safe); anything else (NUL, which PostgreSQL refuses) cannot exist.
        if not ID_PATTERN.fullmatch(board_id):
            raise ApiError(404, "unknown_board", "No board with this id.")
        board = await self.store.get_board(board_id)
        if board is None:
            raise ApiError(404, "unknown_board", "No board with this id.")
        return board

    async def _auth(self, request: Request, *roles: str) -> tuple[BoardRecord, TokenClaims]:
        """The board of the URL and the caller's verified token; 401/403/404 otherwise."""
        board_id = request.path_params["board_id"]
        # The board first: a link to a board that does not exist (or was deleted) says so, rather
        # than "no access" (board ids are random, so this tells a guesser nothing useful).
        board = await self._board(board_id)
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "unauthorized", "Send 'Authorization: Bearer <token>'.")
        try:
            claims = self.signer.verify(token.strip())
        except InvalidToken as exc:
            raise ApiError(401, "unauthorized", "Invalid token.") from exc
        if claims.board_id != board_id:
            raise ApiError(403, "forbidden", "This token belongs to another board.")
        reason = standing(board, claims, await participant_of(self.store, claims))
        if reason is not None:
            raise ApiError(401, "revoked", reason)
        if roles and claims.role not in roles:
            raise ApiError(403, "forbidden", f"Only a {' or '.join(roles)} can do this.")
        return board, claims

    async def _with_room(self, board_id: str, use: Callable[[Room], Any]) -> Any:
        """Run `use(room)` on the live board (loading it if needed); await it if it is async."""
        try:
            room = await self.hub.acquire(board_id)
        except UnknownBoard as exc:
            raise ApiError(404, "unknown_board", "No board with this id.") from exc
        except Overloaded as exc:
            raise ApiError(
                503, "overloaded", "This server holds too many live boards; try again later."
            ) from exc
        try:
            result = use(room)
            return await result if inspect.isawaitable(result) else result
        except StorageFailed as exc:
            raise ApiError(503, "storage_error", "Saving failed; please try again.") from exc
        finally:
            self.hub.release(room)

    async def _save_settings(self, board: BoardRecord, changes: dict[str, Any]) -> BoardRecord:
        """Merge `changes` into the board's settings (read afresh under a per-board lock, so two
        quick changes never undo each other), then mirror them into `meta`."""
        # Count the requests using the lock: `locked()` is False between a release and the next
        # waiter taking it, so dropping the lock on that alone could let a second one be created.
        entry = self._settings_locks.setdefault(board.id, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            # The asyncio lock orders this process's requests; the fan-out lock (Redis, expiring)
            # those of every process, so two PATCHes on two processes never undo each other.
            async with entry[0], self._settings_lock_across(board.id):
                board = await self._board(board.id)
                settings = {**board.settings, **changes}
                await self.store.update_board_settings(board.id, settings)
                board = replace(board, settings=settings)
                await self._write_meta(board)
        finally:
            entry[1] -= 1
            if not entry[1]:
                self._settings_locks.pop(board.id, None)
        return board

    @contextlib.asynccontextmanager
    async def _settings_lock_across(self, board_id: str) -> AsyncIterator[None]:
        try:
            lock = self.hub.fanout.lock(f"settings:{board_id}")
            await lock.__aenter__()
        except (OSError, TimeoutError, RedisError) as exc:
            raise ApiError(
                503, "unavailable", "The board's settings cannot be changed now; try again."
            ) from exc
        try:
            yield
        finally:
            await lock.__aexit__(None, None, None)

    async def _write_meta(self, board: BoardRecord) -> None:
        settings = board.settings
        meta = meta_of(board)

        async def write(room: Room) -> None:
            # The room's rules pick the new settings up from `meta` once this is committed.
            await room.apply_server_change(lambda doc: _write_meta(doc, meta))
            if settings.get("votes_visibility") == "hidden":
                await room.apply_server_change(lambda doc: doc.results.clear())

        await self._with_room(board.id, write)

    # ------------------------------------------------------------------ boards and joining

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def create_board(self, request: Request) -> Response:
        await self._limit(request, "create")
        body = await _json(request)
        title = _text(body, "title", MAX_TITLE, required=True)
        groups = _groups(body.get("groups", []))
        languages = _languages(body.get("languages", list(LANGUAGES)))
        settings = {
            **schema.DEFAULT_SETTINGS,
            "groups": groups,
            "languages": languages,
            "phase": "ideate",
            "timer": None,
        }
        board_id = secrets.token_urlsafe(8).replace("-", "x").replace("_", "y")
        for _ in range(10):
            code = "".join(secrets.choice(JOIN_ALPHABET) for _ in range(JOIN_CODE_LENGTH))
            record = BoardRecord(board_id, title, code, time.time(), settings)
            try:
                await self.store.create_board(record)
                break
            except DuplicateJoinCode:
                continue
        else:
            raise ApiError(503, "no_code", "Could not find a free join code; try again.")
        await self._with_room(
            board_id,
            lambda room: room.apply_server_change(lambda doc: _write_meta(doc, meta_of(record))),
        )
        return JSONResponse(
            {
                "id": board_id,
                "title": title,
                "join_code": code,
                "facilitator_token": self.signer.issue(TokenClaims(board_id, "facilitator")),
                "viewer_token": self.signer.issue(TokenClaims(board_id, "viewer")),
            },
            status_code=201,
        )

    async def join_info(self, request: Request) -> Response:
        await self._limit(request, "lookup")
        board = await self._board_by_code(request.path_params["code"])
        return JSONResponse(
            {
                "board_id": board.id,
                "title": board.title,
                "groups": board.settings.get("groups", []),
                "languages": board.settings.get("languages", list(LANGUAGES)),
                "group_labels": board.settings.get("group_labels", {}),
                "group_optional": board.settings.get("group_optional", False),
            }
        )

    async def _board_by_code(self, code: Any) -> BoardRecord:
        if (
            not isinstance(code, str)
            or not code.strip()
            or len(code) > 20
            or not code.strip().isascii()
            or not code.strip().isalnum()
        ):
            raise ApiError(400, "bad_request", "'code' must be the board's 6-character code.")
        board = await self.store.get_board_by_code(code.strip().upper())
        if board is None:
            raise ApiError(404, "unknown_code", "No board has this code. Check it with the host.")
        return board

    async def join(self, request: Request) -> Response:
        await self._limit(request, "join")
        body = await _json(request)
        board = await self._board_by_code(body.get("code"))
        if not board.settings.get("joining_open", True):
            raise ApiError(
                403, "joining_closed", "The facilitator has closed joining for this board."
            )
        name = _text(body, "name", MAX_NAME, required=True)
        groups = board.settings.get("groups", [])
        group = body.get("group")
        if group is not None:
            if not _text_ok(group, MAX_NAME):
                raise ApiError(
                    422,
                    "bad_group",
                    f"'group' must be a visible text of up to {MAX_NAME} characters.",
                )
            group = group.strip()
            if groups and group not in groups:
                raise ApiError(422, "bad_group", f"'group' must be one of: {', '.join(groups)}.")
        elif groups and not board.settings.get("group_optional", False):
            # "I'd rather not say" is the facilitator's choice to offer, not the client's to assume.
            raise ApiError(
                422, "group_required", f"Choose a group: one of {', '.join(groups)}."
            )
        lang = body.get("lang")
        if lang is not None and lang not in LANGUAGES:
            raise ApiError(422, "bad_lang", "'lang' must be one of: fr, nl, en.")
        participant = ParticipantRecord(
            secrets.token_urlsafe(9), board.id, name, group or None, lang, time.time()
        )
        await self.store.add_participant(participant)
        token = self.signer.issue(TokenClaims(board.id, "participant", participant.id))
        return JSONResponse(
            {"board_id": board.id, "participant_id": participant.id, "token": token},
            status_code=201,
        )

    async def get_board(self, request: Request) -> Response:
        board, claims = await self._auth(request)
        participants = await self.store.list_participants(board.id)
        me = next((p for p in participants if p.id == claims.participant_id), None)
        if board.settings.get("anonymous") and claims.role != "facilitator":
            # Anonymous: nobody else's name or group reaches a participant (counts are fine).
            count = len(participants)
            participants = [me] if me else []
        else:
            count = len(participants)
        return JSONResponse(
            {
                "id": board.id,
                "title": board.title,
                # Everyone with a token may show the code (the projector draws the join QR code).
                "join_code": board.join_code,
                "groups": board.settings.get("groups", []),
                "languages": board.settings.get("languages", list(LANGUAGES)),
                "participants": [
                    {"participant_id": p.id, "name": p.name, "group": p.group, "lang": p.lang}
                    for p in participants
                ],
                "participant_count": count,
                "settings": public_settings(board.settings),
                "phase": board.settings.get("phase", "ideate"),
                "you": {
                    "role": claims.role,
                    "participant_id": claims.participant_id,
                    "name": me.name if me else None,
                },
            }
        )

    # ------------------------------------------------------------------ facilitator

    async def patch_settings(self, request: Request) -> Response:
        board, _ = await self._auth(request, "facilitator")
        body = await _json(request)
        changes = validate_settings(body)
        board = await self._save_settings(board, changes)
        await self._publish_results_if_visible(board)
        return JSONResponse(public_settings(board.settings))

    async def set_phase(self, request: Request) -> Response:
        board, _ = await self._auth(request, "facilitator")
        body = await _json(request)
        phase = body.get("phase")
        if phase not in schema.PHASES:
            raise ApiError(422, "bad_phase", f"'phase' must be one of: {', '.join(schema.PHASES)}.")
        await self._save_settings(board, {"phase": phase})
        return JSONResponse({"phase": phase})

    async def set_timer(self, request: Request) -> Response:
        board, _ = await self._auth(request, "facilitator")
        body = await _json(request)
        seconds = body.get("seconds")
        if not isinstance(seconds, int) or isinstance(seconds, bool) or not 0 <= seconds <= 86400:
            raise ApiError(422, "bad_seconds", "'seconds' must be an integer from 0 to 86400.")
        timer = (
            None
            if seconds == 0
            else {"endsAt": int(time.time() * 1000) + seconds * 1000, "seconds": seconds}
        )
        await self._save_settings(board, {"timer": timer})
        return JSONResponse({"timer": timer})

    async def participants(self, request: Request) -> Response:
        board, _ = await self._auth(request, "facilitator")
        people = await self.store.list_participants(board.id)
        authors = await self.store.note_authors(board.id)
        votes = await self.store.all_votes(board.id)
        online = await self.online(board.id)
        notes_by: dict[str, int] = {}
        for actor in authors.values():
            notes_by[actor] = notes_by.get(actor, 0) + 1
        votes_by: dict[str, int] = {}
        for vote in votes:
            votes_by[vote.participant_id] = votes_by.get(vote.participant_id, 0) + vote.count
        return JSONResponse(
            [
                {
                    "participant_id": p.id,
                    "name": p.name,
                    "group": p.group,
                    "lang": p.lang,
                    "online": online.get(p.id, 0) > 0,
                    "notes": notes_by.get(p.id, 0),
                    "votes": votes_by.get(p.id, 0),
                    "revoked": p.revoked,
                }
                for p in people
            ]
        )

    # ------------------------------------------------------------------ votes and results

    async def vote(self, request: Request) -> Response:
        """A dot (`stance` absent or "for") or an "I disagree" mark (`stance`: "against"), cast
        (+1) or taken back (-1); the store checks the budgets atomically."""
        board, claims = await self._auth(request, "participant")
        body = await _json(request)
        note_id, delta = body.get("note_id"), body.get("delta")
        stance = body.get("stance", "for")
        if (
            not isinstance(note_id, str)
            or not ID_PATTERN.fullmatch(note_id)
            or delta not in (1, -1)
            or isinstance(delta, bool)
            or stance not in ("for", "against")
        ):
            raise ApiError(
                422,
                "bad_vote",
                "Send {'note_id': str, 'delta': 1 or -1, 'stance': 'for' (default) or 'against'}.",
            )
        settings = board.settings
        if stance == "against" and not settings.get("disagree_marks"):
            raise ApiError(
                409, "disagree_off", "\"I disagree\" marks are not in use on this board."
            )
        if settings.get("phase") != "vote":
            raise ApiError(409, "not_voting", "Voting is not open right now.")
        if settings.get("locked"):
            raise ApiError(409, "locked", "The board is locked.")
        exists = await self._with_room(board.id, lambda room: room.has_note(note_id))
        # A vote on a note deleted since can still be taken back (it counts against the budget).
        if not exists and delta == 1:
            raise ApiError(404, "unknown_note", "No note with this id on this board.")
        assert claims.participant_id is not None
        try:
            if stance == "against":
                tally = await self.store.cast_mark(
                    board.id, claims.participant_id, note_id, delta, _disagree_budget(settings)
                )
            else:
                tally = await self.store.cast_vote(
                    board.id,
                    claims.participant_id,
                    note_id,
                    delta,
                    int(settings.get("vote_budget", 3)),
                    int(settings.get("max_votes_per_note", 3)),
                )
        except VoteRefused as exc:
            raise ApiError(409, exc.code, exc.message) from exc
        await self._publish_results_if_visible(board)
        return JSONResponse(
            {"note_id": note_id, "stance": stance, "mine": tally.mine, "remaining": tally.remaining}
        )

    async def my_votes(self, request: Request) -> Response:
        board, claims = await self._auth(request, "participant")
        assert claims.participant_id is not None
        votes = await self.store.votes_of(board.id, claims.participant_id)
        marks = await self.store.marks_of(board.id, claims.participant_id)
        budget = int(board.settings.get("vote_budget", 3))
        against_budget = _disagree_budget(board.settings)
        return JSONResponse(
            {
                "votes": votes,
                "budget": budget,
                "remaining": max(0, budget - sum(votes.values())),
                "against": marks,
                "against_budget": against_budget,
                "against_remaining": max(0, against_budget - len(marks)),
            }
        )

    async def results(self, request: Request) -> Response:
        board, claims = await self._auth(request)
        visible = board.settings.get("votes_visibility") in ("live", "revealed")
        if claims.role != "facilitator" and not visible:
            raise ApiError(403, "not_revealed", "The facilitator has not revealed the votes yet.")
        return JSONResponse(await self._compute_results(board))

    async def _compute_results(self, board: BoardRecord) -> dict[str, Any]:
        people = await self.store.list_participants(board.id)
        votes = await self.store.all_votes(board.id)
        # Marks count while the board uses them; turned off, they leave the results (and come
        # back if turned on again: nobody can take one back meanwhile).
        marks = (
            [(m.participant_id, m.note_id) for m in await self.store.all_marks(board.id)]
            if board.settings.get("disagree_marks")
            else None
        )

        def read(room: Room) -> tuple[dict[str, Any], dict[str, Any]]:
            view = schema.Board(room.doc)
            notes = {n.id: {"text": n.text, "cluster": n.cluster} for n in view.notes()}
            clusters = {c.id: {"title": c.title} for c in view.clusters()}
            return notes, clusters

        notes, clusters = await self._with_room(board.id, read)
        return compute_results(
            [(p.id, p.group) for p in people],
            [(v.participant_id, v.note_id, v.count) for v in votes],
            notes,
            clusters,
            board.settings.get("groups", []),
            marks,
        )

    async def _publish_results_if_visible(self, board: BoardRecord) -> None:
        if board.settings.get("votes_visibility") not in ("live", "revealed"):
            return
        data = await self._compute_results(board)
        stamp = int(time.time() * 1000)

        def write(doc: schema.Board) -> None:
            doc.results["data"] = data
            doc.results["updatedAt"] = stamp

        await self._with_room(board.id, lambda room: room.apply_server_change(write))


# ---------------------------------------------------------------------- settings and meta

SETTING_TYPES: dict[str, Callable[[Any], bool]] = {
    "vote_budget": lambda v: _int_between(v, 0, 100),
    "max_votes_per_note": lambda v: _int_between(v, 1, 100),
    "anonymous": lambda v: isinstance(v, bool),
    "votes_visibility": lambda v: v in ("hidden", "live", "revealed"),
    "locked": lambda v: isinstance(v, bool),
    "private_writing": lambda v: isinstance(v, bool),
    "groups": lambda v: _groups_ok(v),
    "languages": lambda v: isinstance(v, list) and bool(v) and all(x in LANGUAGES for x in v),
    "max_note_length": lambda v: _int_between(v, 1, 5000),
    "max_notes_per_participant": lambda v: _int_between(v, 1, 1000),
    "joining_open": lambda v: isinstance(v, bool),
    "group_labels": lambda v: _group_labels_ok(v),
    "group_optional": lambda v: isinstance(v, bool),
    "disagree_marks": lambda v: isinstance(v, bool),
    "disagree_budget": lambda v: _int_between(v, 0, 100),
    "time_zone": lambda v: _time_zone_ok(v),
}
# Settings the API owns (not in crdt/schema.py's defaults).
API_DEFAULT_SETTINGS: dict[str, Any] = {"joining_open": True}


def validate_settings(body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - set(SETTING_TYPES))
    if unknown:
        raise ApiError(422, "unknown_setting", f"Unknown settings: {', '.join(unknown)}.")
    for key, value in body.items():
        if not SETTING_TYPES[key](value):
            raise ApiError(422, "bad_setting", f"Invalid value for '{key}'.")
    return dict(body)


def public_settings(settings: dict[str, Any]) -> dict[str, Any]:
    defaults = {**API_DEFAULT_SETTINGS, **schema.DEFAULT_SETTINGS}
    return {key: settings.get(key, defaults.get(key)) for key in SETTING_TYPES}


def meta_of(board: BoardRecord) -> dict[str, Any]:
    return {
        "title": board.title,
        # Every token holder may show it (GET /api/boards/{id}); in the doc, an open projector or
        # panel learns a new code live and after a reconnect, like any setting.
        "join_code": board.join_code,
        "phase": board.settings.get("phase", "ideate"),
        "timer": board.settings.get("timer"),
        "settings": public_settings(board.settings),
    }


def _write_meta(doc: schema.Board, meta: dict[str, Any]) -> None:
    current = doc.meta.to_py() or {}
    for key, value in meta.items():
        if current.get(key) != value:
            doc.meta[key] = value


def query_number(
    request: Request, name: str, default: float | None, high: float
) -> float | None:
    """A finite number from 0 to `high` (no nan, inf or 1e400), else 422."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw) if len(raw) <= 40 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= high:
        raise ApiError(422, f"bad_{name}", f"'{name}' must be a number from 0 to {high:g}.")
    return value


def _attachment(board: BoardRecord, extension: str) -> dict[str, str]:
    # Excel opens UTF-8 CSV correctly only with a BOM (added by the CSV export).
    return {"Content-Disposition": f'attachment; filename="cobord-{board.id}.{extension}"'}


def _disagree_budget(settings: dict[str, Any]) -> int:
    return int(settings.get("disagree_budget", schema.DEFAULT_SETTINGS["disagree_budget"]))


def _int_between(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _time_zone_ok(value: Any) -> bool:
    """An IANA time zone name this machine knows ("Europe/Brussels", "UTC")."""
    if not isinstance(value, str) or not 0 < len(value) <= 64 or value.startswith(("/", ".")):
        return False
    if ".." in value or "\\" in value or "\0" in value:
        return False
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _text_ok(value: Any, limit: int) -> bool:
    """A str of valid Unicode (no lone surrogate: pycrdt panics on one), no control characters,
    at most `limit` characters once stripped, and something visible in it (not only
    zero-width or formatting characters)."""
    if not isinstance(value, str) or len(value) > 4 * limit:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    value = value.strip()
    if not 0 < len(value) <= limit:
        return False
    categories = [unicodedata.category(c) for c in value]
    if any(cat == "Cc" or cat == "Cs" for cat in categories):
        return False
    return any(cat[0] not in "CZM" for cat in categories)


def _groups_ok(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) <= MAX_GROUPS
        and all(_text_ok(g, MAX_NAME) for g in value)
        and len({g.strip() for g in value}) == len(value)
    )


def _group_labels_ok(value: Any) -> bool:
    """{group: {lang: label}}: at most MAX_GROUPS groups, labels in the board languages only."""
    return (
        isinstance(value, dict)
        and len(value) <= MAX_GROUPS
        and all(
            _text_ok(group, MAX_NAME)
            and isinstance(labels, dict)
            and set(labels) <= set(LANGUAGES)
            and all(_text_ok(label, MAX_NAME) for label in labels.values())
            for group, labels in value.items()
        )
    )


def _groups(value: Any) -> list[str]:
    if not _groups_ok(value):
        raise ApiError(
            422,
            "bad_groups",
            f"'groups' must be a list of up to {MAX_GROUPS} different visible names"
            f" of up to {MAX_NAME} characters.",
        )
    return [g.strip() for g in value]


def _languages(value: Any) -> list[str]:
    if not SETTING_TYPES["languages"](value):
        raise ApiError(
            422, "bad_languages", "'languages' must be a non-empty subset of fr, nl, en."
        )
    return list(value)


def _text(body: dict[str, Any], key: str, limit: int, required: bool = False) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if value is None:
        raise ApiError(400, f"bad_{key}", f"'{key}' must be a non-empty text.")
    if isinstance(value, str) and len(value.strip()) > limit:
        raise ApiError(422, f"bad_{key}", f"'{key}' is limited to {limit} characters.")
    if not _text_ok(value, limit):
        raise ApiError(
            422,
            f"bad_{key}",
            f"'{key}' must be a visible text of up to {limit} characters"
            " (no control or invisible-only characters).",
        )
    return str(value).strip()


async def _body(request: Request, limit: int = MAX_JSON_BYTES) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` (also when streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "too_large", f"The request body is limited to {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too_large", f"The request body is limited to {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def _json(request: Request) -> dict[str, Any]:
    raw = await _body(request)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: deeply nested arrays
        raise ApiError(400, "bad_json", "The request body must be a JSON object.") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "The request body must be a JSON object.")
    return body
