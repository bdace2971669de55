"""The facilitator's controls: settings, phase, timer, and the list of participants.

- `PATCH /api/boards/{id}/settings` (known settings only, each checked): the public settings.
- `POST /api/boards/{id}/phase` `{"phase"}`; `POST /api/boards/{id}/timer` `{"seconds"}` (0 stops).
- `GET /api/boards/{id}/participants`: each with online state, notes, dots, revoked.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt import schema
from server.http.board_settings import SettingsWriter, public_settings, validate_settings
from server.http.context import HttpContext
from server.http.errors import ApiError
from server.http.inputs import read_json
from server.http.results import Results

MAX_TIMER_SECONDS = 86400

# board id -> participant id -> open sockets, on every process (server/scale/presence.py)
Online = Callable[[str], Awaitable[dict[str, int]]]


class FacilitationRoutes:
    def __init__(
        self, http: HttpContext, settings: SettingsWriter, results: Results, online: Online
    ) -> None:
        self.http = http
        self.settings = settings
        self.results = results
        self.online = online

    def routes(self) -> list[Route]:
        base = "/api/boards/{board_id}"
        return [
            Route(base + "/settings", self.patch_settings, methods=["PATCH"]),
            Route(base + "/phase", self.set_phase, methods=["POST"]),
            Route(base + "/timer", self.set_timer, methods=["POST"]),
            Route(base + "/participants", self.participants, methods=["GET"]),
        ]

    async def patch_settings(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        changes = validate_settings(await read_json(request))
        board = await self.settings.save(board, changes)
        await self.results.publish_if_visible(board)
        return JSONResponse(public_settings(board.settings))

    async def set_phase(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        phase = (await read_json(request)).get("phase")
        if phase not in schema.PHASES:
            raise ApiError(422, "bad_phase", f"'phase' must be one of: {', '.join(schema.PHASES)}.")
        await self.settings.save(board, {"phase": phase})
        return JSONResponse({"phase": phase})

    async def set_timer(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        seconds = (await read_json(request)).get("seconds")
        if (
            not isinstance(seconds, int)
            or isinstance(seconds, bool)
            or not 0 <= seconds <= MAX_TIMER_SECONDS
        ):
            raise ApiError(422, "bad_seconds", "'seconds' must be an integer from 0 to 86400.")
        timer = (
            None
            if seconds == 0
            else {"endsAt": int(time.time() * 1000) + seconds * 1000, "seconds": seconds}
        )
        await self.settings.save(board, {"timer": timer})
        return JSONResponse({"timer": timer})

    async def participants(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        store = self.http.store
        people = await store.boards.list_participants(board.id)
        authors = await store.log.note_authors(board.id)
        votes = await store.ballots.all_votes(board.id)
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
