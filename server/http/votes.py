"""Secret votes and the results.

- `POST /api/boards/{id}/votes` (participant) `{"note_id", "delta": 1 | -1, "stance"?}`: a dot
  (`stance` absent or "for") or an "I disagree" mark ("against"), cast or taken back; the store
  checks the budgets atomically.
- `GET /api/boards/{id}/votes/mine` (participant): own dots and marks, budgets and what remains.
- `GET /api/boards/{id}/results`: the facilitator always; others once the votes are visible.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.http.board_settings import disagree_budget
from server.http.context import HttpContext
from server.http.errors import ApiError
from server.http.inputs import ID_PATTERN, read_json
from server.http.results import Results
from server.store.base import VoteRefused


class VoteRoutes:
    def __init__(self, http: HttpContext, results: Results) -> None:
        self.http = http
        self.results = results

    def routes(self) -> list[Route]:
        base = "/api/boards/{board_id}"
        return [
            Route(base + "/votes", self.vote, methods=["POST"]),
            Route(base + "/votes/mine", self.my_votes, methods=["GET"]),
            Route(base + "/results", self.show_results, methods=["GET"]),
        ]

    async def vote(self, request: Request) -> Response:
        access = await self.http.access(request, "participant")
        board, participant_id = access.board, access.claims.participant_id
        body = await read_json(request)
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
            raise ApiError(409, "disagree_off", '"I disagree" marks are not in use on this board.')
        if settings.get("phase") != "vote":
            raise ApiError(409, "not_voting", "Voting is not open right now.")
        if settings.get("locked"):
            raise ApiError(409, "locked", "The board is locked.")
        exists = await self.http.with_room(board.id, lambda room: room.has_note(note_id))
        # A vote on a note deleted since can still be taken back (it counts against the budget).
        if not exists and delta == 1:
            raise ApiError(404, "unknown_note", "No note with this id on this board.")
        assert participant_id is not None
        store = self.http.store
        try:
            if stance == "against":
                tally = await store.ballots.cast_mark(
                    board.id, participant_id, note_id, delta, disagree_budget(settings)
                )
            else:
                tally = await store.ballots.cast_vote(
                    board.id,
                    participant_id,
                    note_id,
                    delta,
                    int(settings.get("vote_budget", 3)),
                    int(settings.get("max_votes_per_note", 3)),
                )
        except VoteRefused as exc:
            raise ApiError(409, exc.code, exc.message) from exc
        await self.results.publish_if_visible(board)
        return JSONResponse(
            {"note_id": note_id, "stance": stance, "mine": tally.mine, "remaining": tally.remaining}
        )

    async def my_votes(self, request: Request) -> Response:
        access = await self.http.access(request, "participant")
        board, participant_id = access.board, access.claims.participant_id
        assert participant_id is not None
        votes = await self.http.store.ballots.votes_of(board.id, participant_id)
        marks = await self.http.store.ballots.marks_of(board.id, participant_id)
        budget = int(board.settings.get("vote_budget", 3))
        against_budget = disagree_budget(board.settings)
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

    async def show_results(self, request: Request) -> Response:
        access = await self.http.access(request)
        board = access.board
        visible = board.settings.get("votes_visibility") in ("live", "revealed")
        if access.claims.role != "facilitator" and not visible:
            raise ApiError(403, "not_revealed", "The facilitator has not revealed the votes yet.")
        return JSONResponse(await self.results.compute(board))
