"""Data protection and access: erase a board or a person, token revocation and rotation
(retention: server/retention.py).

- `DELETE /api/boards/{id}` (facilitator): every row of the board goes, in every table, and the
  live room's clients are closed (4404, "board deleted ..."). The room's final commit and keyframe
  run while it stops, so the rows are deleted once more after it stopped: nothing it flushed stays.
- `DELETE /api/boards/{id}/participants/{pid}` (facilitator): the person's token is refused at once
  (HTTP 401; their open sockets are closed with 4401) and the `author` field of their notes is
  removed from the live board; then, in one store transaction, the `author` values of their notes
  become `ERASED_NAME` in every logged update and keyframe (`crdt.erasure`, on decoded structure,
  checked to replay to the same board before anything is written), their name becomes
  `ERASED_NAME`, their photos and voice notes are deleted and their hidden notes lose `author`.
  Their notes and dots stay, without an author. If the history cannot be rewritten safely: 409
  `erasure_refused`, nothing in the store changed, the live authors are put back, the token stays
  refused.
- `POST /api/boards/{id}/participants/{pid}/revoke`: the token alone is refused (name kept).
- `POST /api/boards/{id}/rotate` `{"what": "facilitator" | "join_code"}`: a new facilitator link
  (older facilitator tokens get 401, their sockets 4401) or a new join code (the old one gives 404).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pycrdt import Map
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt import erasure, schema
from crdt.erasure import ErasureTarget
from crdt.protocol import CloseCode
from server.closing import CloseOrder, Closer, erase_board
from server.http.board_settings import SettingsWriter
from server.http.boards import JOIN_CODE_TRIES, new_join_code
from server.http.context import HttpContext
from server.http.errors import ApiError
from server.http.inputs import read_json
from server.http.replay import ERASED_NAME
from server.live.room import Room
from server.store.base import DuplicateJoinCode, HistoryRewrite, ParticipantRecord
from server.store.log import SnapshotRecord, UpdateRecord
from server.tokens import TokenClaims, token_version

log = logging.getLogger("cobord.privacy")

BOARD_DELETED = "board deleted by the facilitator"
PERSON_ERASED = "participant erased by the facilitator"
PERSON_REVOKED = "participant access revoked by the facilitator"
LINK_ROTATED = "this facilitator link was replaced by a newer one"


class PrivacyRoutes:
    def __init__(
        self,
        http: HttpContext,
        settings: SettingsWriter,
        closer: Closer,
        forget: Callable[[str], None],
    ) -> None:
        self.http = http
        self.settings = settings
        self.closer = closer
        # Drops what is kept in memory of a board's history (the events decoder's doc, which
        # holds names): called after erasure and deletion.
        self.forget = forget

    async def _close(
        self, board_id: str, reason: str, actor: str | None = None, role: str | None = None
    ) -> int:
        """Close sockets whose token no longer works (4401), on every process."""
        order = CloseOrder(CloseCode.UNAUTHORIZED, reason, actor=actor, role=role)
        return await self.closer.close(board_id, order)

    def routes(self) -> list[Route]:
        person = "/api/boards/{board_id}/participants/{participant_id}"
        return [
            Route("/api/boards/{board_id}", self.delete_board, methods=["DELETE"]),
            Route(person, self.erase_participant, methods=["DELETE"]),
            Route(person + "/revoke", self.revoke_participant, methods=["POST"]),
            Route("/api/boards/{board_id}/rotate", self.rotate, methods=["POST"]),
        ]

    async def _person(self, board_id: str, request: Request) -> ParticipantRecord:
        pid = request.path_params["participant_id"]
        person = await self.http.store.boards.get_participant(pid)
        if person is None or person.board_id != board_id:
            raise ApiError(404, "unknown_participant", "No participant with this id on this board.")
        return person

    async def revoke_participant(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        person = await self._person(board.id, request)
        await self.http.store.boards.revoke_participant(board.id, person.id)
        await self._close(board.id, PERSON_REVOKED, actor=person.id)
        return JSONResponse({"participant_id": person.id, "revoked": True})

    async def erase_participant(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        person = await self._person(board.id, request)
        store = self.http.store
        # Token first: from here on nothing new can arrive under their name.
        await store.boards.revoke_participant(board.id, person.id)
        await self._close(board.id, PERSON_ERASED, actor=person.id)
        authors = await store.log.note_authors(board.id)
        target = ErasureTarget(
            person.name,
            frozenset(note_id for note_id, actor in authors.items() if actor == person.id),
            ERASED_NAME,
        )
        # The live board first (committed, and sent to every process, before the log is
        # rewritten): a keyframe written from it from now on no longer holds the name.
        dropped = await self.http.with_room(board.id, lambda room: _set_authors(room, target))

        def rewrite(log: list[UpdateRecord], frames: list[SnapshotRecord]) -> HistoryRewrite:
            found = erasure.erase_author(
                [(u.seq, u.data) for u in log], [(f.seq, f.state) for f in frames], target
            )
            return HistoryRewrite(found.updates, found.keyframes)

        try:
            counts = await store.privacy.erase_participant(
                board.id, person.id, ERASED_NAME, rewrite
            )
        except erasure.ErasureRefused as exc:
            # Nothing of the history changed: put their name back where the live board had it.
            await self.http.with_room(board.id, lambda room: _set_authors(room, target, dropped))
            log.error("board %s: erasure of %s refused: %s", board.id, person.id, exc.reason)
            raise ApiError(
                409,
                "erasure_refused",
                "The board's history could not be rewritten safely "
                f"({exc.reason}); nothing was erased and the board is unchanged. "
                "This person's access stays revoked.",
            ) from exc
        self.forget(board.id)
        log.info(
            "board %s: participant %s erased (%d rows rewritten, %d media deleted)",
            board.id,
            person.id,
            counts.rewritten,
            counts.media,
        )
        return JSONResponse(
            {
                "participant_id": person.id,
                "erased": True,
                "rewritten": counts.rewritten,
                "media_deleted": counts.media,
            }
        )

    async def rotate(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        body = await read_json(request)
        what = body.get("what")
        if what == "facilitator":
            version = token_version(board) + 1
            await self.settings.save(board, {"token_version": version})
            await self._close(board.id, LINK_ROTATED, role="facilitator")
            token = self.http.signer.issue(TokenClaims(board.id, "facilitator", version=version))
            return JSONResponse({"facilitator_token": token})
        if what == "join_code":
            for _ in range(JOIN_CODE_TRIES):
                code = new_join_code()
                try:
                    await self.http.store.boards.set_join_code(board.id, code)
                except DuplicateJoinCode:
                    continue
                # Mirror it into `meta` (board read afresh under the settings lock): every open
                # screen shows the new code and QR without a reload.
                await self.settings.save(board, {})
                return JSONResponse({"join_code": code})
            raise ApiError(503, "no_code", "Could not find a free join code; try again.")
        raise ApiError(422, "bad_what", "'what' must be 'facilitator' or 'join_code'.")

    async def delete_board(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        await erase_board(self.http.store, self.closer, board.id, BOARD_DELETED)
        self.forget(board.id)
        log.info("board %s deleted by its facilitator", board.id)
        return Response(status_code=204)


async def _set_authors(
    room: Room, target: ErasureTarget, restore: frozenset[str] | None = None
) -> frozenset[str]:
    """Drop the target's name from the `author` of their notes on the live board (one server
    change; the ids of the notes it was dropped from), or with `restore`, put it back there."""
    changed: set[str] = set()

    def change(doc: schema.Board) -> None:
        for note_id in target.notes if restore is None else restore:
            note = doc.notes_map.get(note_id)
            if not isinstance(note, Map):
                continue
            if restore is None and note.get("author") == target.name:
                del note["author"]
                changed.add(note_id)
            elif restore is not None and "author" not in note:
                note["author"] = target.name

    await room.apply_server_change(change)
    return frozenset(changed)
