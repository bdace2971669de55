"""Moderation: the facilitator hides a note (with a reason) and restores it.

A hidden note is **out of the shared document**: the server deletes it with its own change
(`room.apply_server_change`), so what participants' sockets receive from then on (the delete, a
fresh joiner's SyncStep2, any later frame) never carries its text — yrs garbage-collects deleted
content in what it encodes (only the map key, the random note id, stays). The note itself is kept
in the `hidden_notes` table (migration 0005), read through this API by the facilitator (all of
them) and by its author (their own), and put back by `restore` (same id, same fields: the author
keeps the right to edit it).

- `POST /api/boards/{id}/notes/{note_id}/hide` `{"reason"}` (facilitator): 200
  `{"note_id", "reason", "hidden_at"}`; 404 `unknown_note`; 422 `bad_reason`.
- `POST /api/boards/{id}/notes/{note_id}/restore` (facilitator): 200 `{"note_id"}`; 404
  `not_hidden`.
- `GET /api/boards/{id}/hidden`: the facilitator gets every hidden note, a participant only their
  own (`[]` otherwise), a viewer 403. Each: `{"note_id", "text", "color", "lang", "cluster", "kind",
  "media", "reason", "hidden_at", "mine"}` (`hidden_at` in ms since the epoch, like `createdAt`).

The update log still holds the note's original creation (the replay is the facilitator's); the
live document, keyframes written from it and everything sent to clients do not.
"""

from __future__ import annotations

import time
from typing import Any

from pycrdt import Map
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt import schema
from crdt.fields import text_ok
from server.http.context import HttpContext
from server.http.errors import ApiError
from server.http.inputs import ID_PATTERN, read_json
from server.live.room import Room
from server.store.base import HiddenNoteRecord, StoreError

MAX_REASON = 200


class ModerationRoutes:
    def __init__(self, http: HttpContext) -> None:
        self.http = http

    def routes(self) -> list[Route]:
        base = "/api/boards/{board_id}"
        return [
            Route(f"{base}/notes/{{note_id}}/hide", self.hide, methods=["POST"]),
            Route(f"{base}/notes/{{note_id}}/restore", self.restore, methods=["POST"]),
            Route(f"{base}/hidden", self.list_hidden, methods=["GET"]),
        ]

    async def hide(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        note_id = _note_id(request)
        body = await read_json(request)
        reason = body.get("reason", "")
        if not (reason == "" or text_ok(reason, MAX_REASON)):
            message = f"'reason' must be a visible text of up to {MAX_REASON} characters."
            raise ApiError(422, "bad_reason", message)
        reason = reason.strip()
        store = self.http.store
        authors = await store.log.note_authors(board.id)
        stamp = int(time.time() * 1000)

        async def take(room: Room) -> dict[str, Any] | None:
            # Read the note from the committed doc, keep it, then delete it with a server change.
            value = room.doc.get(schema.NOTES, type=Map).get(note_id)
            if not isinstance(value, Map):
                return None
            fields = value.to_py()
            if not isinstance(fields, dict):
                return None
            record = HiddenNoteRecord(
                board.id, note_id, authors.get(note_id), dict(fields), reason, stamp
            )
            try:
                await store.moderation.put_hidden_note(record)
            except StoreError as exc:
                raise ApiError(409, "already_hidden", "This note is already hidden.") from exc
            gone = {"missing": False}

            def delete(doc: schema.Board) -> None:
                if note_id in doc.notes_map:
                    del doc.notes_map[note_id]
                else:
                    gone["missing"] = True  # deleted meanwhile (by its author)

            try:
                await room.apply_server_change(delete)
            except Exception:
                await store.moderation.take_hidden_note(board.id, note_id)  # still on the board
                raise
            if gone["missing"]:
                await store.moderation.take_hidden_note(board.id, note_id)
                return None
            return dict(fields)

        taken = await self.http.with_room(board.id, take)
        if taken is None:
            raise ApiError(404, "unknown_note", "No note with this id on this board.")
        return JSONResponse({"note_id": note_id, "reason": reason, "hidden_at": stamp})

    async def restore(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        note_id = _note_id(request)
        store = self.http.store
        record = await store.moderation.take_hidden_note(board.id, note_id)
        if record is None:
            raise ApiError(404, "not_hidden", "This note is not hidden.")

        def put_back(doc: schema.Board) -> None:
            fields = dict(record.fields)
            translations = fields.pop("translations", None)
            note: Map[Any] = Map(fields)
            doc.notes_map[note_id] = note
            if isinstance(translations, dict):
                note["translations"] = Map(translations)

        try:
            await self.http.with_room(board.id, lambda room: room.apply_server_change(put_back))
        except Exception:
            await store.moderation.put_hidden_note(record)  # still hidden: keep it
            raise
        return JSONResponse({"note_id": note_id})

    async def list_hidden(self, request: Request) -> Response:
        access = await self.http.access(request, "facilitator", "participant")
        board, claims = access.board, access.claims
        records = await self.http.store.moderation.hidden_notes(board.id)
        if claims.role != "facilitator":
            records = [r for r in records if r.author and r.author == claims.participant_id]
        return JSONResponse([_public(r, claims.participant_id) for r in records])


def _note_id(request: Request) -> str:
    note_id = str(request.path_params["note_id"])
    if not ID_PATTERN.fullmatch(note_id):
        raise ApiError(404, "unknown_note", "No note with this id on this board.")
    return note_id


def _public(record: HiddenNoteRecord, participant_id: str | None) -> dict[str, Any]:
    fields = record.fields
    return {
        "note_id": record.note_id,
        "text": fields.get("text", ""),
        "color": fields.get("color", ""),
        "lang": fields.get("lang", ""),
        "cluster": fields.get("cluster", ""),
        "kind": fields.get("kind", "text"),
        "media": fields.get("media"),
        "reason": record.reason,
        "hidden_at": int(record.hidden_at),
        "mine": participant_id is not None and record.author == participant_id,
    }
