"""Boards and joining: create a board, look a code up, join, read a board.

- `POST /api/boards` `{"title", "groups"?, "languages"?}`: 201 with the board's id, join code,
  facilitator and viewer tokens.
- `GET /api/join/{code}`: what a joiner needs to see before joining (title, groups, languages).
- `POST /api/join` `{"code", "name", "group"?, "lang"?}`: 201 with the participant's token.
- `GET /api/boards/{id}` (any token of the board): the board, its participants (only oneself on
  anonymous boards, but for the facilitator) and who the caller is.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt import schema
from crdt.fields import MAX_GROUP_NAME, MAX_GROUPS, SETTING_TYPES, groups_ok, text_ok
from crdt.schema import LANGUAGES
from server.http.board_settings import meta_of, public_settings, write_meta
from server.http.context import HttpContext
from server.http.errors import ApiError
from server.http.inputs import read_json, text_field
from server.http.standings import LiveStandings
from server.store.base import BoardRecord, DuplicateJoinCode, ParticipantRecord
from server.tokens import TokenClaims

# No look-alikes: no 0/O, 1/I/L.
JOIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_NAME = 60  # a participant's name, in characters
JOIN_CODE_LENGTH = 6
JOIN_CODE_TRIES = 10
MAX_TITLE = 200


def new_join_code() -> str:
    """A random join code (the store refuses one in use: try another)."""
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


class BoardRoutes:
    def __init__(self, http: HttpContext, standings: LiveStandings | None = None) -> None:
        self.http = http
        self.standings = standings  # told of each new participant: their socket reads nothing

    def routes(self) -> list[Route]:
        return [
            Route("/api/boards", self.create_board, methods=["POST"]),
            Route("/api/join", self.join, methods=["POST"]),
            Route("/api/join/{code}", self.join_info, methods=["GET"]),
            Route("/api/boards/{board_id}", self.get_board, methods=["GET"]),
        ]

    async def create_board(self, request: Request) -> Response:
        await self.http.limit(request, "create")
        body = await read_json(request)
        title = text_field(body, "title", MAX_TITLE, required=True)
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
        for _ in range(JOIN_CODE_TRIES):
            code = new_join_code()
            record = BoardRecord(board_id, title, code, time.time(), settings)
            try:
                await self.http.store.boards.create_board(record)
                break
            except DuplicateJoinCode:
                continue
        else:
            raise ApiError(503, "no_code", "Could not find a free join code; try again.")
        await self.http.with_room(
            board_id,
            lambda room: room.apply_server_change(lambda doc: write_meta(doc, meta_of(record))),
        )
        signer = self.http.signer
        return JSONResponse(
            {
                "id": board_id,
                "title": title,
                "join_code": code,
                "facilitator_token": signer.issue(TokenClaims(board_id, "facilitator")),
                "viewer_token": signer.issue(TokenClaims(board_id, "viewer")),
            },
            status_code=201,
        )

    async def join_info(self, request: Request) -> Response:
        await self.http.limit(request, "lookup")
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
        board = await self.http.store.boards.get_board_by_code(code.strip().upper())
        if board is None:
            raise ApiError(404, "unknown_code", "No board has this code. Check it with the host.")
        return board

    async def join(self, request: Request) -> Response:
        await self.http.limit(request, "join")
        body = await read_json(request)
        board = await self._board_by_code(body.get("code"))
        if not board.settings.get("joining_open", True):
            raise ApiError(
                403, "joining_closed", "The facilitator has closed joining for this board."
            )
        name = text_field(body, "name", MAX_NAME, required=True)
        groups = board.settings.get("groups", [])
        group = body.get("group")
        if group is not None:
            if not text_ok(group, MAX_GROUP_NAME):
                raise ApiError(
                    422,
                    "bad_group",
                    f"'group' must be a visible text of up to {MAX_GROUP_NAME} characters.",
                )
            group = group.strip()
            if groups and group not in groups:
                raise ApiError(422, "bad_group", f"'group' must be one of: {', '.join(groups)}.")
        elif groups and not board.settings.get("group_optional", False):
            # "I'd rather not say" is the facilitator's choice to offer, not the client's to assume.
            raise ApiError(422, "group_required", f"Choose a group: one of {', '.join(groups)}.")
        lang = body.get("lang")
        if lang is not None and lang not in LANGUAGES:
            raise ApiError(422, "bad_lang", "'lang' must be one of: fr, nl, en.")
        participant = ParticipantRecord(
            secrets.token_urlsafe(9), board.id, name, group or None, lang, time.time()
        )
        await self.http.store.boards.add_participant(participant)
        if self.standings is not None:
            self.standings.joined(participant)
        token = self.http.signer.issue(TokenClaims(board.id, "participant", participant.id))
        return JSONResponse(
            {"board_id": board.id, "participant_id": participant.id, "token": token},
            status_code=201,
        )

    async def get_board(self, request: Request) -> Response:
        access = await self.http.access(request)
        board, claims = access.board, access.claims
        participants = await self.http.store.boards.list_participants(board.id)
        me = next((p for p in participants if p.id == claims.participant_id), None)
        count = len(participants)
        if board.settings.get("anonymous") and claims.role != "facilitator":
            # Anonymous: nobody else's name or group reaches a participant (counts are fine).
            participants = [me] if me else []
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


def _groups(value: Any) -> list[str]:
    if not groups_ok(value):
        raise ApiError(
            422,
            "bad_groups",
            f"'groups' must be a list of up to {MAX_GROUPS} different visible names"
            f" of up to {MAX_GROUP_NAME} characters.",
        )
    return [g.strip() for g in value]


def _languages(value: Any) -> list[str]:
    if not SETTING_TYPES["languages"](value):
        raise ApiError(
            422, "bad_languages", "'languages' must be a non-empty subset of fr, nl, en."
        )
    return list(value)
