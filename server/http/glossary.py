"""The glossary over HTTP (issue #21; docs/schema.md "The glossary").

- `POST /api/boards/{id}/glossary/flags` `{"note_id", "term"}` (a participant): "I don't
  understand this". The term (1-60 visible characters) must occur in the note (its text or one
  of its translations, whole words, ignoring accents and case). 200 `{"term_id", "term",
  "flags"}` with the term's count; the same person flagging the same term again changes
  nothing. 422 `bad_term`, `term_not_in_note`, `glossary_full` (300 terms), `too_many_flags`
  (2,000 per board); 404 `unknown_note`; 429 past the rate.
  `{"note_id", "whole_note": true}` instead: "I don't understand the whole note", any length:
  200 `{"note_id", "whole_note": true, "flags"}`, once per person (422 `bad_flag` for both a
  term and whole_note, or whole_note not true).
- `GET /api/boards/{id}/glossary` (any token of the board): `{"terms": [{"id", "term", "lang",
  "flags", "explanations": {lang: {"text", "machine", "example"?, "by"?}}}]}`, most flagged
  first. A flag is a count: who flagged is in the `glossary_flags` table only, read for nothing
  but "once per person".
- `GET /api/boards/{id}/glossary/export.csv?lang=` (facilitator): one row per explanation.
- `PUT /api/boards/{id}/glossary/{term_id}/explanations/{lang}` `{"text", "example"?}`
  (participant or facilitator): write (empty text: remove) the term's explanation in `lang`. A
  participant writes a new one or edits their own; the facilitator edits all (crdt/glossary.py
  `may_explain`, against the owner on record). The write is the server's, judged by the rules'
  glossary schema and bounds like any write; then the other board languages without a person's
  explanation get a machine translation (marked `machine: true`) when a translator is set.
  200 `{"term_id", "lang", ...entry}`; 404 `unknown_term`; 403 `not_yours`; 422 `bad_lang`,
  `bad_text`, `bad_example`, `empty_text`, `refused`; 409 `locked`; 429 past the rate.

Flags are the server's writes (actor "server" in the log, so the log does not say who asked);
an explanation is logged under its writer (the replay's "explained" event, as the board's
anonymity allows).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pycrdt import Map
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt import glossary, glossary_report, rules, schema
from crdt.rules import Actor
from crdt.schema import GLOSSARY, GLOSSARY_FLAGS
from server.http.context import HttpContext
from server.http.errors import ApiError
from server.http.inputs import ID_PATTERN, read_json
from server.live.room import Room
from server.live.tasks import TaskSet
from server.store.base import GlossaryFull
from server.translate import Translator

log = logging.getLogger("cobord.glossary")
SERVER = Actor("server", "server")
MAX_NOTE_ID = 64


class GlossaryRoutes:
    def __init__(self, http: HttpContext, translator: Translator) -> None:
        self.http = http
        self.translator = translator
        # This process's key in `glossary_flags` (crdt/schema.py): random, so it says nothing of
        # anyone. Drawn when the app is built, not at import: processes forked from one that had
        # imported this module (a preloading server, the tests' zygote) would otherwise share
        # one key, and their counts would overwrite each other (a board showed 18 of 20 flags).
        self.writer = secrets.token_hex(6)
        # Machine translations of explanations run after the answer; owned here (`close`).
        self._tasks = TaskSet()

    def routes(self) -> list[Route]:
        base = "/api/boards/{board_id}/glossary"
        return [
            Route(base, self.list_terms, methods=["GET"]),
            Route(f"{base}/export.csv", self.export_csv, methods=["GET"]),
            Route(f"{base}/flags", self.flag, methods=["POST"]),
            Route(f"{base}/{{term_id}}/explanations/{{lang}}", self.explain, methods=["PUT"]),
        ]

    async def close(self) -> None:
        await self._tasks.close()

    async def _rate(self, board_id: str, actor_id: str) -> None:
        if self.http.limiter is not None:
            await self.http.limiter.check("glossary", f"{board_id}:{actor_id}")

    # ------------------------------------------------------------------ reading

    async def list_terms(self, request: Request) -> Response:
        board = (await self.http.access(request)).board
        terms = await self.http.with_room(board.id, lambda room: glossary.terms_of(room.doc))
        return JSONResponse({"terms": [term.to_json() for term in terms]})

    async def export_csv(self, request: Request) -> Response:
        """The glossary as CSV (facilitator, like the other exports), `?lang=` fr/nl/en."""
        board = (await self.http.access(request, "facilitator")).board
        lang = request.query_params.get("lang", "en")
        terms = await self.http.with_room(board.id, lambda room: glossary.terms_of(room.doc))
        name = f"glossary-{board.id}.csv"
        return Response(
            "\ufeff" + glossary_report.csv_text(terms, lang),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    # ------------------------------------------------------------------ "I don't understand"

    async def flag(self, request: Request) -> Response:
        access = await self.http.access(request, "participant")
        board, claims = access.board, access.claims
        await self._rate(board.id, claims.actor_id)
        body = await read_json(request)
        note_id = body.get("note_id")
        term = body.get("term")
        if not isinstance(note_id, str) or not 0 < len(note_id) <= MAX_NOTE_ID:
            raise ApiError(404, "unknown_note", "No note with this id on the board.")
        whole = body.get("whole_note", False)
        if whole is not False:
            if whole is not True or term is not None:
                raise ApiError(
                    422,
                    "bad_flag",
                    "Send either 'term' (some words of the note) or 'whole_note': true.",
                )
            return await self._flag_note(board.id, claims.actor_id, note_id)
        if not glossary.visible_text(term, glossary.MAX_TERM_CHARS):
            raise ApiError(
                422,
                "bad_term",
                f"'term' must be 1 to {glossary.MAX_TERM_CHARS} characters of visible text.",
            )
        assert isinstance(term, str)
        term = " ".join(term.split())
        term_id = glossary.term_id(term)

        def where(room: Room) -> str:
            """The language the term was found in, or why not (an ApiError)."""
            note = room.doc.get(schema.NOTES, type=Map).get(note_id)
            if not isinstance(note, Map):
                raise ApiError(404, "unknown_note", "No note with this id on the board.")
            found = _language_of(term, note.to_py() or {})
            if found is None:
                raise ApiError(422, "term_not_in_note", "This note does not use these words.")
            known = term_id in room.doc.get(GLOSSARY, type=Map)
            if not known and room.board.live_terms >= glossary.MAX_TERMS:
                raise ApiError(
                    422,
                    "glossary_full",
                    f"The board's glossary holds at most {glossary.MAX_TERMS} terms.",
                )
            return found

        lang = await self.http.with_room(board.id, where)
        try:
            count, _added = await self.http.store.glossary.flag_term(
                board.id, term_id, claims.actor_id, glossary.MAX_FLAGS
            )
        except GlossaryFull as exc:
            raise ApiError(
                422, "too_many_flags", f"A board holds at most {glossary.MAX_FLAGS} flags."
            ) from exc
        now = float(int(time.time() * 1000))

        def write(doc: schema.Board) -> None:
            terms = doc.doc.get(GLOSSARY, type=Map)
            if not isinstance(terms.get(term_id), Map):
                # `explanations` is made with the term, so two first explanations written at
                # once (two processes) land in one map instead of one map replacing the other.
                fields = {"term": term, "lang": lang, "createdAt": now}
                terms[term_id] = Map({**fields, "explanations": Map()})
            # The count goes under this process's own key: another process counting the same
            # term at the same moment writes its own, and readers show the largest. (One key
            # for all would keep whichever write Yjs orders last, a smaller count included.)
            counts = doc.doc.get(GLOSSARY_FLAGS, type=Map)
            key = glossary.flag_key(term_id, self.writer)
            held = counts.get(key)
            # Counts only grow: a slower request's smaller count never replaces a larger one.
            if not isinstance(held, int | float) or held < count:
                counts[key] = float(count)

        refusal = await self.http.with_room(
            board.id, lambda room: room.apply_client_change(SERVER, write)
        )
        if refusal is not None:
            raise _refused(refusal)
        return JSONResponse({"term_id": term_id, "term": term, "flags": count})

    async def _flag_note(self, board_id: str, actor_id: str, note_id: str) -> Response:
        """ "I don't understand the whole note", whatever its length: a note-level flag, counted
        once per person like a term's (`note:{note id}` in the same table and root, within the
        same 2,000 flags per board); never who."""

        def exists(room: Room) -> None:
            if "@" in note_id or not isinstance(
                room.doc.get(schema.NOTES, type=Map).get(note_id), Map
            ):
                raise ApiError(404, "unknown_note", "No note with this id on the board.")

        await self.http.with_room(board_id, exists)
        flag_id = glossary.note_flag_id(note_id)
        try:
            count, _added = await self.http.store.glossary.flag_term(
                board_id, flag_id, actor_id, glossary.MAX_FLAGS
            )
        except GlossaryFull as exc:
            raise ApiError(
                422, "too_many_flags", f"A board holds at most {glossary.MAX_FLAGS} flags."
            ) from exc

        def write(doc: schema.Board) -> None:
            counts = doc.doc.get(GLOSSARY_FLAGS, type=Map)
            key = glossary.flag_key(flag_id, self.writer)
            held = counts.get(key)
            if not isinstance(held, int | float) or held < count:
                counts[key] = float(count)

        refusal = await self.http.with_room(
            board_id, lambda room: room.apply_client_change(SERVER, write)
        )
        if refusal is not None:
            raise _refused(refusal)
        return JSONResponse({"note_id": note_id, "whole_note": True, "flags": count})

    # ------------------------------------------------------------------ explaining

    async def explain(self, request: Request) -> Response:
        access = await self.http.access(request, "participant", "facilitator")
        board, claims = access.board, access.claims
        term_id = request.path_params["term_id"]
        lang = request.path_params["lang"]
        if not ID_PATTERN.fullmatch(term_id):
            raise ApiError(404, "unknown_term", "No such term in the board's glossary.")
        if lang not in schema.LANGUAGES:
            langs = ", ".join(schema.LANGUAGES)
            raise ApiError(422, "bad_lang", f"'lang' must be one of {langs}.")
        if board.settings.get("locked"):
            raise ApiError(409, "locked", "The board is locked.")
        await self._rate(board.id, claims.actor_id)
        body = await read_json(request)
        text = body.get("text")
        example = body.get("example", "")
        if not isinstance(text, str) or len(text.strip()) > glossary.MAX_EXPLANATION_CHARS:
            raise ApiError(
                422,
                "bad_text",
                f"'text' must be a text of at most {glossary.MAX_EXPLANATION_CHARS} characters.",
            )
        text = text.strip()
        if text and not glossary.visible_text(text, glossary.MAX_EXPLANATION_CHARS):
            raise ApiError(422, "bad_text", "'text' must be visible text.")
        if not isinstance(example, str) or not (
            example.strip() == ""
            or glossary.visible_text(example.strip(), glossary.MAX_EXAMPLE_CHARS)
        ):
            raise ApiError(
                422,
                "bad_example",
                f"'example' must be a text of at most {glossary.MAX_EXAMPLE_CHARS} characters.",
            )
        example = example.strip()
        store = self.http.store

        def current(room: Room) -> tuple[bool, glossary.Explanation | None]:
            entry = room.doc.get(GLOSSARY, type=Map).get(term_id)
            if not isinstance(entry, Map):
                return False, None
            explanations = entry.get("explanations")
            held = explanations.get(lang) if isinstance(explanations, Map) else None
            return True, glossary.explanation_from(held)

        exists, before = await self.http.with_room(board.id, current)
        if not exists:
            raise ApiError(404, "unknown_term", "No such term in the board's glossary.")
        if not text and before is None:
            raise ApiError(422, "empty_text", "Type the explanation first.")
        human_before = before is not None and not before.machine
        if (
            human_before
            and claims.role == "participant"
            and before is not None
            and before.by not in (None, claims.actor_id)
        ):
            # Written by someone else without a record here (the facilitator, in the document).
            raise ApiError(403, "not_yours", glossary.NOT_YOURS)
        if human_before or text:
            # First come, first owned (atomic in the store, shared by every process).
            owner = await store.glossary.claim_explanation(board.id, term_id, lang, claims.actor_id)
            reason = glossary.may_explain(claims.role, claims.actor_id, owner)
            if reason is not None:
                raise ApiError(403, "not_yours", reason)
        entry: dict[str, Any] = {"text": text, "machine": False}
        if example:
            entry["example"] = example
        if not board.settings.get("anonymous"):
            entry["by"] = claims.actor_id if claims.role == "participant" else claims.role

        def write(doc: schema.Board) -> None:
            term = doc.doc.get(GLOSSARY, type=Map).get(term_id)
            if not isinstance(term, Map):
                return
            explanations = term.get("explanations")
            if not isinstance(explanations, Map):
                term["explanations"] = explanations = Map()
            if text:
                explanations[lang] = entry
            elif lang in explanations:
                del explanations[lang]

        # The server writes it, judged by the glossary's schema and bounds; the log names the
        # writer (the replay's "explained"), never anyone who flagged.
        writer = Actor("server", claims.actor_id)
        refusal = await self.http.with_room(
            board.id, lambda room: room.apply_client_change(writer, write)
        )
        if refusal is not None:
            if not human_before:
                await store.glossary.release_explanation(board.id, term_id, lang)
            raise _refused(refusal)
        if not text:
            await store.glossary.release_explanation(board.id, term_id, lang)
            return JSONResponse({"term_id": term_id, "lang": lang})
        if self.translator.enabled:
            self._tasks.start(
                self._translate_logged(board.id, claims.actor_id, term_id, lang, text, example),
                name=f"glossary-translate-{board.id}",
            )
        return JSONResponse({"term_id": term_id, "lang": lang, **entry})

    async def _translate_logged(
        self, board_id: str, author: str, term_id: str, source: str, text: str, example: str
    ) -> None:
        try:
            await self._translate(board_id, author, term_id, source, text, example)
        except Exception:  # a background task: say what failed, never lose it silently
            log.exception("machine explanations of %s on board %s failed", term_id, board_id)

    async def _translate(
        self, board_id: str, author: str, term_id: str, source: str, text: str, example: str
    ) -> None:
        """Machine explanations in the board's other languages, where no person explained it,
        each written only if the source explanation still says `text` (and `example`). The
        example goes the same path as the text: translated, in the same machine entry."""
        board = await self.http.store.boards.get_board(board_id)
        languages = board.settings.get("languages", schema.LANGUAGES) if board else ()
        for target in [lang for lang in languages if lang != source]:
            translated = await self.translator.translate_text(
                board_id, author, text, source, target
            )
            if not translated:
                continue
            entry: dict[str, Any] = {
                "text": translated[: glossary.MAX_EXPLANATION_CHARS],
                "machine": True,
                "by": "machine",
            }
            if example:
                said = await self.translator.translate_text(
                    board_id, author, example, source, target
                )
                said = (said or "")[: glossary.MAX_EXAMPLE_CHARS].strip()
                if glossary.visible_text(said, glossary.MAX_EXAMPLE_CHARS):
                    entry["example"] = said

            def write(
                doc: schema.Board, target: str = target, entry: dict[str, Any] = entry
            ) -> None:
                term = doc.doc.get(GLOSSARY, type=Map).get(term_id)
                explanations = term.get("explanations") if isinstance(term, Map) else None
                if not isinstance(explanations, Map):
                    return
                source_now = glossary.explanation_from(explanations.get(source))
                held = glossary.explanation_from(explanations.get(target))
                if source_now is None or (source_now.text, source_now.example) != (text, example):
                    return  # the explanation changed meanwhile: its own translation follows
                if held is None or held.machine:
                    explanations[target] = entry

            with contextlib.suppress(ApiError):
                await self.http.with_room(board_id, _judged(write))


def _judged(write: Callable[[schema.Board], None]) -> Callable[[Room], Awaitable[str | None]]:
    return lambda room: room.apply_client_change(SERVER, write)


def _language_of(term: str, note: dict[str, Any]) -> str | None:
    """The language in which `term` occurs in the note (its text, else a translation), or None."""
    text = note.get("text")
    lang = note.get("lang")
    if isinstance(text, str) and glossary.occurs(term, text):
        return lang if lang in schema.LANGUAGES else schema.LANGUAGES[0]
    translations = note.get("translations")
    if isinstance(translations, dict):
        for other, entry in translations.items():
            said = entry.get("text") if isinstance(entry, dict) else None
            if other in schema.LANGUAGES and isinstance(said, str) and glossary.occurs(term, said):
                return str(other)
    return None


def _refused(reason: str) -> ApiError:
    if reason.startswith(rules.BOARD_FULL):
        return ApiError(413, "board_full", reason)
    return ApiError(422, "refused", reason)
