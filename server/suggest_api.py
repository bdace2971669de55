"""Cluster suggestions for the facilitator (server/suggest.py), and accepting one.

- `GET /api/boards/{id}/cluster-suggestions` (facilitator; participants 403):
  `{"suggestions": [{"label": {lang: text}, "notes": [note ids]}]}`, computed in a thread.
- `POST /api/boards/{id}/cluster-suggestions/accept` `{"notes": [ids], "title"?}` (facilitator):
  creates the cluster and moves the notes into it in ONE server change; `{"cluster_id", "notes"}`.
"""

from __future__ import annotations

import asyncio
import secrets

from pycrdt import Map
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt import schema
from server import suggest
from server.api import Api, ApiError, _handles_errors, _json
from server.rooms import Room

MAX_ACCEPT = 500
MAX_TITLE = 80


class SuggestApi:
    def __init__(self, api: Api) -> None:
        self.api = api

    def routes(self) -> list[Route]:
        h = _handles_errors
        base = "/api/boards/{board_id}/cluster-suggestions"
        return [
            Route(base, h(self.suggestions), methods=["GET"]),
            Route(base + "/accept", h(self.accept), methods=["POST"]),
        ]

    async def suggestions(self, request: Request) -> Response:
        board, _ = await self.api._auth(request, "facilitator")

        def read(room: Room) -> list[suggest.NoteText]:
            out = []
            for note_id, value in schema.Board(room.doc).notes_map.items():
                if not isinstance(value, Map) or value.get("cluster"):
                    continue  # already in a cluster: the facilitator placed it
                data = value.to_py() or {}
                text = data.get("text")
                translations = data.get("translations") or {}
                out.append(
                    suggest.NoteText(
                        note_id,
                        text if isinstance(text, str) else "",
                        data.get("lang") if isinstance(data.get("lang"), str) else None,
                        {
                            lang: tr["text"]
                            for lang, tr in translations.items()
                            if isinstance(tr, dict) and isinstance(tr.get("text"), str)
                        },
                    )
                )
            return out

        notes = await self.api._with_room(board.id, read)
        suggestions = await asyncio.to_thread(suggest.suggest, notes)
        return JSONResponse({"suggestions": suggestions})

    async def accept(self, request: Request) -> Response:
        board, _ = await self.api._auth(request, "facilitator")
        body = await _json(request)
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
        cluster_id = "c" + secrets.token_urlsafe(8)
        missing: list[str] = []

        def change(doc: schema.Board) -> None:
            notes = [doc.notes_map.get(i) for i in ids]
            missing.extend(i for i, n in zip(ids, notes, strict=True) if not isinstance(n, Map))
            if missing:
                return
            xs = [float(n.get("x") or 0.0) for n in notes if isinstance(n, Map)]
            ys = [float(n.get("y") or 0.0) for n in notes if isinstance(n, Map)]
            doc.clusters_map[cluster_id] = Map(
                {
                    "title": title.strip(),
                    "x": min(xs) - 20.0,
                    "y": min(ys) - 60.0,
                    "color": "blue",
                }
            )
            for n in notes:
                if isinstance(n, Map):
                    n["cluster"] = cluster_id

        async def apply(room: Room) -> None:
            await room.apply_server_change(change)

        await self.api._with_room(board.id, apply)
        if missing:
            raise ApiError(404, "unknown_note", f"No note {missing[0]!r} on the board.")
        return JSONResponse({"cluster_id": cluster_id, "notes": ids}, status_code=201)
