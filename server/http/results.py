"""A board's vote results: computed from the ballots and the live document, and published into
the document's `results` while the votes are visible."""

from __future__ import annotations

import time
from typing import Any

from crdt import schema
from crdt.results import compute_results
from server.http.context import HttpContext
from server.live.room import Room
from server.store.base import BoardRecord


class Results:
    def __init__(self, http: HttpContext) -> None:
        self.http = http

    async def compute(self, board: BoardRecord) -> dict[str, Any]:
        store = self.http.store
        people = await store.boards.list_participants(board.id)
        votes = await store.ballots.all_votes(board.id)
        # Marks count while the board uses them; turned off, they leave the results (and come
        # back if turned on again: nobody can take one back meanwhile).
        marks = (
            [(m.participant_id, m.note_id) for m in await store.ballots.all_marks(board.id)]
            if board.settings.get("disagree_marks")
            else None
        )

        def read(room: Room) -> tuple[dict[str, Any], dict[str, Any]]:
            view = schema.Board(room.doc)
            notes = {n.id: {"text": n.text, "cluster": n.cluster} for n in view.notes()}
            clusters = {c.id: {"title": c.title} for c in view.clusters()}
            return notes, clusters

        notes, clusters = await self.http.with_room(board.id, read)
        return compute_results(
            [(p.id, p.group) for p in people],
            [(v.participant_id, v.note_id, v.count) for v in votes],
            notes,
            clusters,
            board.settings.get("groups", []),
            marks,
        )

    async def publish_if_visible(self, board: BoardRecord) -> None:
        if board.settings.get("votes_visibility") not in ("live", "revealed"):
            return
        data = await self.compute(board)
        stamp = int(time.time() * 1000)

        def write(doc: schema.Board) -> None:
            doc.results["data"] = data
            doc.results["updatedAt"] = stamp

        await self.http.with_room(board.id, lambda room: room.apply_server_change(write))
