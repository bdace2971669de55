"""Exports (facilitator only, during and after the session): JSON, CSV, Markdown report, SVG.

Every timestamp in `export.json` is in **milliseconds since 1970-01-01 UTC** (integers), like the
document's own `createdAt`; the export says so in its `"time_unit"` field.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt import glossary, glossary_report, report, schema
from server import media
from server.events import EventIndexer
from server.http.board_settings import public_settings
from server.http.client import ENV_PUBLIC_URL, public_url
from server.http.context import HttpContext
from server.http.errors import ApiError
from server.http.replay import ERASED_NAME
from server.http.results import Results
from server.live.room import Room
from server.store.base import BoardRecord

TIME_UNIT = "ms"
MAX_PICTURES = 300  # photos embedded in one SVG (thumbnails of ~15 KB each)


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _int(value: float | None) -> int | None:
    return None if value is None else round(value)


def _attachment(board: BoardRecord, extension: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="cobord-{board.id}.{extension}"'}


def _languages(board: BoardRecord) -> list[str]:
    wanted = board.settings.get("languages") or list(report.LANGS)
    return [lang for lang in wanted if lang in report.LANGS]


def _time_zone(board: BoardRecord) -> str:
    return str(board.settings.get("time_zone") or schema.DEFAULT_SETTINGS["time_zone"])


def _group_labels(board: BoardRecord) -> dict[str, dict[str, str]]:
    labels = board.settings.get("group_labels")
    return labels if isinstance(labels, dict) else {}


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang", "en")
    if lang not in report.LANGS:
        raise ApiError(422, "bad_lang", "'lang' must be one of: fr, nl, en.")
    return lang


class ExportRoutes:
    def __init__(self, http: HttpContext, results: Results, indexer: EventIndexer) -> None:
        self.http = http
        self.results = results
        self.indexer = indexer  # the phase timeline of the report
        self.store = http.store

    def routes(self) -> list[Route]:
        base = "/api/boards/{board_id}/export"
        return [
            Route(base + ".json", self.export_json, methods=["GET"]),
            Route(base + ".csv", self.export_csv, methods=["GET"]),
            Route(base + ".md", self.export_md, methods=["GET"]),
            Route(base + ".svg", self.export_svg, methods=["GET"]),
        ]

    async def _doc(self, board: BoardRecord) -> dict[str, Any]:
        def read(room: Room) -> dict[str, Any]:
            return schema.Board(room.doc).to_json()

        doc: dict[str, Any] = await self.http.with_room(board.id, read)
        # An export travels further than the room: no code in it that still lets people in.
        doc.get(schema.META, {}).pop("join_code", None)
        return doc

    def _media_urls(
        self, request: Request, board: BoardRecord, doc: dict[str, Any]
    ) -> dict[str, str]:
        """media id -> an absolute link to each photo that opens that picture alone (a report is
        read elsewhere, later, by people without a token: a relative path opened nothing)."""
        origin = public_url(os.environ.get(ENV_PUBLIC_URL)) or str(request.base_url).rstrip("/")
        signer = self.http.signer
        return {
            note["media"]: f"{origin}/api/boards/{quote(board.id)}/media/{quote(note['media'])}"
            f"?access={signer.media_link(board.id, note['media'])}"
            for note in doc[schema.NOTES].values()
            if note.get("kind") == "photo" and isinstance(note.get("media"), str)
        }

    async def report_input(
        self, board: BoardRecord, request: Request | None = None
    ) -> report.ReportInput:
        doc = await self._doc(board)
        people = await self.store.boards.list_participants(board.id)
        votes = await self.store.ballots.all_votes(board.id)
        await self.indexer.settled(board.id)  # the phase timeline up to date
        phases = await self.store.events.events_after(board.id, 0, 1000, kinds=["phase_changed"])
        return report.ReportInput(
            title=board.title,
            created_at=board.created_at,
            anonymous=bool(board.settings.get("anonymous")),
            # An erased person has no name to show: their notes appear without an author.
            people=[
                report.Person(p.id, "" if p.name == ERASED_NAME else p.name, p.group)
                for p in people
            ],
            board=doc,
            authors=await self.store.log.note_authors(board.id),
            votes=[(v.participant_id, v.note_id, v.count) for v in votes],
            results=await self.results.compute(board),
            phases=[(e.ts, e.target) for e in phases],
            board_id=board.id,
            languages=_languages(board),
            # Only media that exist on this board are linked (a note's `media` is a string its
            # writer chose).
            media_ids=frozenset(
                await self.store.media.existing_media(
                    board.id,
                    [n["media"] for n in doc[schema.NOTES].values() if n.get("media")],
                )
            ),
            time_zone=_time_zone(board),
            voice_seconds=await self._voice_seconds(board, doc),
            group_labels=_group_labels(board),
            media_urls=self._media_urls(request, board, doc) if request is not None else {},
        )

    async def _voice_seconds(self, board: BoardRecord, doc: dict[str, Any]) -> dict[str, float]:
        """note id -> length of each voice note's recording (at most MAX_PICTURES of them), for
        the exports' "voice note, 12 s"."""
        wanted = [
            (note_id, note["media"])
            for note_id, note in doc[schema.NOTES].items()
            if note.get("kind") == "voice" and note.get("media")
        ][:MAX_PICTURES]
        lengths: dict[str, float] = {}
        for note_id, media_id in wanted:
            record = await self.store.media.get_media(board.id, media_id)
            if record is None or record.kind != "voice":
                continue
            seconds = media.voice_seconds(record.data, record.content_type)
            if seconds is not None:
                lengths[note_id] = seconds
        return lengths

    async def _pictures(self, board: BoardRecord, doc: dict[str, Any]) -> dict[str, str]:
        """media id -> a small data: URI of each photo note's picture (at most MAX_PICTURES)."""
        wanted = [
            note["media"]
            for note in doc[schema.NOTES].values()
            if note.get("kind") == "photo" and note.get("media")
        ][:MAX_PICTURES]
        pictures: dict[str, str] = {}
        for media_id in dict.fromkeys(wanted):
            record = await self.store.media.get_media(board.id, media_id)
            if record is None or record.kind != "photo":
                continue
            uri = await asyncio.to_thread(media.thumbnail_data_uri, record.data)
            if uri is not None:
                pictures[media_id] = uri
        return pictures

    async def export_json(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        doc = await self._doc(board)
        people = await self.store.boards.list_participants(board.id)
        by_group: dict[str, int] = {}
        for person in people:
            by_group[person.group or ""] = by_group.get(person.group or "", 0) + 1
        notes = {
            nid: {
                **note,
                "createdAt": None if note["createdAt"] is None else int(note["createdAt"]),
            }
            for nid, note in doc[schema.NOTES].items()
        }
        body = {
            "time_unit": TIME_UNIT,
            "board": {
                "id": board.id,
                "title": board.title,
                "created_at": _ms(board.created_at),
                "settings": public_settings(board.settings),
            },
            "participants_by_group": by_group,
            "notes": notes,
            "clusters": doc[schema.CLUSTERS],
            "results": await self.results.compute(board),
            # Counts of "I don't understand", never who (crdt/glossary.py)
            "glossary": [term.to_json() for term in await self._glossary(board)],
            # "I don't understand the whole note": note id -> how many people (never who)
            "notes_not_understood": dict(await self._unclear(board)),
        }
        return JSONResponse(body, headers=_attachment(board, "json"))

    async def _glossary(self, board: BoardRecord) -> list[glossary.Term]:
        terms: list[glossary.Term] = await self.http.with_room(
            board.id, lambda room: glossary.terms_of(room.doc)
        )
        return terms

    async def _unclear(self, board: BoardRecord) -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = await self.http.with_room(
            board.id, lambda room: glossary.unclear_notes(room.doc)
        )
        return found

    async def export_csv(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        lang = _lang(request)
        results = await self.results.compute(board)
        doc = await self._doc(board)
        text = report.results_csv(
            results,
            board.settings.get("groups", []),
            lang,
            doc[schema.NOTES],
            _languages(board),
            await self._voice_seconds(board, doc),
            _group_labels(board),
            doc[schema.CLUSTERS],
        )
        # Excel opens UTF-8 CSV correctly only with a BOM.
        return Response(
            "\ufeff" + text, media_type="text/csv; charset=utf-8", headers=_attachment(board, "csv")
        )

    async def export_md(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        lang = _lang(request)
        text = report.render_markdown(await self.report_input(board, request), lang)
        text += glossary_report.markdown(await self._glossary(board), lang)
        unclear = await self.http.with_room(
            board.id, lambda room: glossary.unclear_note_texts(room.doc)
        )
        text += glossary_report.unclear_notes_markdown(unclear, lang)
        return Response(
            text, media_type="text/markdown; charset=utf-8", headers=_attachment(board, "md")
        )

    async def export_svg(self, request: Request) -> Response:
        board = (await self.http.access(request, "facilitator")).board
        # Cluster titles in `?lang=` where written; without it, the main titles.
        lang = _lang(request) if "lang" in request.query_params else None
        doc = await self._doc(board)
        pictures = await self._pictures(board, doc)
        results = await self.results.compute(board)
        svg = report.render_svg(doc, results, pictures, _languages(board), lang)
        # Inline (not an attachment): opening the link shows the picture in the browser.
        return Response(svg, media_type="image/svg+xml")
