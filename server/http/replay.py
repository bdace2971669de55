"""The replay API (facilitator only): timeline, state at a time or a seq, the update stream and
the "who did what" feed.

Nothing here reads the whole log per request:
- the timeline is three indexed lookups (`Store.log.log_summary`) plus the stored phase events;
- a seek is the latest keyframe at or before the point + at most one keyframe interval;
- events are decoded as updates are committed, by a background task (server/events.py), and
  stored; a page is one indexed read.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt import replay
from server.events import EventIndexer
from server.http.context import HttpContext
from server.http.errors import ApiError
from server.http.inputs import query_int, query_number
from server.store.base import BoardRecord, EventRecord, ParticipantRecord

ERASED_NAME = "[erased]"  # an erased participant's name, everywhere it was (docs/privacy.md)
MAX_BOOKMARKS = 1000
PARTS_MEDIA_TYPE = "application/vnd.cobord.updates"  # replay.encode_parts: length-prefixed updates


def pseudonyms(people: list[ParticipantRecord]) -> dict[str, int]:
    """participant id -> a stable number by order of joining ("Participant 4")."""
    return {p.id: i for i, p in enumerate(people, start=1)}


def actor_view(
    actor: str, anonymous: bool, names: dict[str, str], numbers: dict[str, int]
) -> dict[str, Any]:
    """How an actor is shown: a role, a name (not on anonymous boards) or a pseudonym."""
    if actor in ("facilitator", "server", "viewer"):
        return {"actor_role": actor, "actor": actor, "actor_number": None}
    number = numbers.get(actor)
    label = f"Participant {number}" if number is not None else "Participant"
    name = None if anonymous else names.get(actor)
    if name == ERASED_NAME:
        name = None
    return {"actor_role": "participant", "actor": name or label, "actor_number": number}


class ReplayRoutes:
    def __init__(self, http: HttpContext, indexer: EventIndexer) -> None:
        self.http = http
        self.store = http.store
        # Decodes events as updates are committed (server/events.py); requests only read them.
        self.indexer = indexer

    def routes(self) -> list[Route]:
        base = "/api/boards/{board_id}/replay"
        return [
            Route(base, self.timeline, methods=["GET"]),
            Route(base + "/state", self.state, methods=["GET"]),
            Route(base + "/updates", self.updates, methods=["GET"]),
            Route(base + "/events", self.events, methods=["GET"]),
        ]

    async def timeline(self, request: Request) -> Response:
        """The span of a board, how many updates, and where the phase changed."""
        board = (await self.http.access(request, "facilitator")).board
        summary = await self.store.log.log_summary(board.id)
        cursor = await self.store.events.event_cursor(board.id)
        if cursor < summary.last_seq and await self.indexer.settled(board.id, timeout=1.0):
            # The bookmarks are phase events, decoded in the background (at most PACE_SECONDS
            # behind a live board; a long log written before this server ran may take longer:
            # `events_upto` then says how far it is).
            cursor = await self.store.events.event_cursor(board.id)
        marks = await self.store.events.events_after(
            board.id, 0, MAX_BOOKMARKS, kinds=["phase_changed"]
        )
        return JSONResponse(
            {
                "start": ms(summary.first_ts if summary.first_ts is not None else board.created_at),
                "end": ms(summary.last_ts if summary.last_ts is not None else board.created_at),
                "updates": summary.count,
                "first_seq": summary.first_seq,
                "last_seq": summary.last_seq,
                "bookmarks": [{"seq": e.seq, "ts": ms(e.ts), "phase": e.target} for e in marks],
                "events_upto": cursor,
            }
        )

    async def state(self, request: Request) -> Response:
        """`?seq=N`: the board after exactly the updates up to seq N; `?at=<ms since the epoch>`:
        as it was then; neither: now. A Yjs v1 update; `X-Cobord-Seq` is the last update in it.
        `form=parts`: the same state as the keyframe as stored plus the merged tail, each
        length-prefixed (`replay.encode_parts`), applied in order by the client."""
        board = (await self.http.access(request, "facilitator")).board
        form = request.query_params.get("form", "update")
        if form not in ("update", "parts"):
            raise ApiError(422, "bad_form", "'form' must be 'update' or 'parts'.")
        if "seq" in request.query_params:
            seq = query_int(request, "seq", 0, 0, 2**62)
            keyframe, tail = await self.store.log.load_until_seq(board.id, seq)
        else:
            at = query_number(request, "at", default=None, high=1e14)
            # A microsecond of slack: float noise never drops the update whose `ts` was asked for.
            until = None if at is None else at / 1000 + 1e-6
            keyframe, tail = await self.store.log.load(board.id, until_ts=until)
        last_seq = tail[-1].seq if tail else (keyframe.seq if keyframe else 0)
        headers = {"X-Cobord-Seq": str(last_seq)}
        if form == "parts":  # what the replay view asks for: no decoding of the keyframe
            parts = replay.state_parts(keyframe.state if keyframe else None, (u.data for u in tail))
            headers["X-Cobord-Parts"] = str(len(parts))
            return Response(
                replay.encode_parts(parts), media_type=PARTS_MEDIA_TYPE, headers=headers
            )
        state = replay.state_at(keyframe.state if keyframe else None, (u.data for u in tail))
        return Response(state, media_type="application/octet-stream", headers=headers)

    async def updates(self, request: Request) -> Response:
        """`?after=<seq>&limit=<n>`: the log from a point on, for playback (base64 updates).
        Who did what is included, except on anonymous boards."""
        board = (await self.http.access(request, "facilitator")).board
        after = query_int(request, "after", 0, 0, 2**62)
        limit = query_int(request, "limit", 500, 1, 5000)
        log = await self.store.log.updates_after(board.id, after, limit=limit)
        anonymous = bool(board.settings.get("anonymous"))
        return JSONResponse(
            [
                {
                    "seq": u.seq,
                    "ts": ms(u.ts),
                    "update": base64.b64encode(u.data).decode(),
                    **({} if anonymous else {"actor": u.actor}),
                }
                for u in log
            ]
        )

    async def events(self, request: Request) -> Response:
        """`?after=<seq>&limit=<n>`: readable changes in log order, with who made them.

        A page never ends in the middle of one update's events; `next` is the `after` of the
        next page (null when the page reached the end of what is decoded); `upto` is the seq up
        to which the log is decoded (events of later updates come a moment after their commit)."""
        board = (await self.http.access(request, "facilitator")).board
        after = query_int(request, "after", 0, 0, 2**62)
        limit = query_int(request, "limit", 200, 1, 1000)
        # Decoded in the background as updates are committed: a page is one indexed read (plus
        # the cursor), whatever the session's length. `upto`: the log is decoded up to there.
        cursor = await self.store.events.event_cursor(board.id)
        found = await self.store.events.events_after(board.id, after, limit + 1)
        more = len(found) > limit
        if more:
            last = found[limit - 1].seq
            whole = [e for e in found[:limit] if e.seq < found[limit].seq]
            found = whole or [e for e in found if e.seq == last]
        return JSONResponse(
            {
                "events": await self._event_views(board, found),
                "next": found[-1].seq if more and found else None,
                "upto": cursor,
            }
        )

    async def _event_views(
        self, board: BoardRecord, found: list[EventRecord]
    ) -> list[dict[str, Any]]:
        people = await self.store.boards.list_participants(board.id)
        names = {p.id: p.name for p in people}
        numbers = pseudonyms(people)
        anonymous = bool(board.settings.get("anonymous"))
        views = []
        for e in found:
            view: dict[str, Any] = {"seq": e.seq, "ts": ms(e.ts), "kind": e.kind}
            if e.kind.startswith("cluster_"):
                view["cluster_id"] = e.target
            elif e.kind == "phase_changed":
                view["phase"] = e.target
            elif e.kind in ("flagged", "explained"):
                view["term"] = e.target
            elif e.kind in ("notes_moved", "notes_clustered"):
                view["count"] = int(e.target) if e.target.isdigit() else 0
            elif e.target:
                view["note_id"] = e.target
            view.update(actor_view(e.actor, anonymous, names, numbers))
            views.append(view)
        return views


def ms(seconds: float) -> int:
    """The API's one time unit: integer milliseconds since 1970-01-01 UTC (like the document's
    `createdAt`, the timer's `endsAt` and the exports). Rounded up, so that seeking to an event's
    `ts` includes that event."""
    return math.ceil(seconds * 1000)
