"""Translations of notes, by people and by the machine translator (server/translate/).

- `POST /api/boards/{id}/notes/{note_id}/machine-translate`: queue the note for machine translation
  (server/translate/) and answer 202 at once; `{"queued": false}` when it is off or busy.
- `PUT /api/boards/{id}/notes/{note_id}/translations/{lang}` `{"text"}` (participant or
  facilitator): the server writes `translations[lang] = {"text", "by", "machine": false}` into the
  note with its own change, `by` taken from the token; an empty text removes the translation (422
  `empty_text` when there is none to remove: "Translate" with nothing typed is not a success).
  A translation written into a language answers the requests for it (`wanted[lang]` goes).
- `POST /api/boards/{id}/notes/{note_id}/translation-requests/{lang}` (participant or
  facilitator): ask for a translation of the note into `lang`. The server writes
  `wanted[lang] = <ms>` into the note (a nested map, in the document: stored, shared by every
  process, seen by every reader); bilingual readers and the facilitator see how many notes wait.
  Answers `{"note_id", "lang", "wanted": true}`; 409 `already_translated` when a human
  translation exists, 422 `same_language` for the note's own language. The machine translator,
  when configured, is asked too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pycrdt import Map
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt import rules, schema
from crdt.rules import Actor
from crdt.schema import LANGUAGES
from server.http.context import HttpContext
from server.http.errors import ApiError
from server.http.inputs import read_json
from server.live.room import Room
from server.translate import Translator

MAX_TRANSLATION = 2000


class TranslationRoutes:
    def __init__(self, http: HttpContext, translator: Translator) -> None:
        self.http = http
        self.translator = translator

    def routes(self) -> list[Route]:
        return [
            Route(
                "/api/boards/{board_id}/notes/{note_id}/translations/{lang}",
                self.put_translation,
                methods=["PUT"],
            ),
            Route(
                "/api/boards/{board_id}/notes/{note_id}/translation-requests/{lang}",
                self.request_translation,
                methods=["POST"],
            ),
            Route(
                "/api/boards/{board_id}/notes/{note_id}/machine-translate",
                self.machine_translate,
                methods=["POST"],
            ),
        ]

    async def put_translation(self, request: Request) -> Response:
        access = await self.http.access(request, "participant", "facilitator")
        board, claims = access.board, access.claims
        lang = request.path_params["lang"]
        note_id = request.path_params["note_id"]
        if lang not in LANGUAGES:
            raise ApiError(422, "bad_lang", f"'lang' must be one of {', '.join(LANGUAGES)}.")
        if board.settings.get("locked"):
            raise ApiError(409, "locked", "The board is locked.")
        body = await read_json(request)
        text = body.get("text")
        if not isinstance(text, str) or len(text) > MAX_TRANSLATION:
            raise ApiError(
                422, "bad_text", f"'text' must be a text of at most {MAX_TRANSLATION} characters."
            )
        by = claims.actor_id
        if board.settings.get("anonymous"):
            by = "anonymous" if claims.role == "participant" else claims.role
        entry = {"text": text.strip(), "by": by, "machine": False}
        actor = Actor(claims.role, claims.actor_id)
        outcome = await self.http.with_room(
            board.id, lambda room: write_translation(room, note_id, lang, entry, actor=actor)
        )
        if isinstance(outcome, Refused):
            # Judged like the client's own write (crdt/rules.py): what the socket refuses, this
            # refuses too, with the same reason.
            if outcome.reason.startswith(rules.BOARD_FULL):
                raise ApiError(413, "board_full", outcome.reason)
            raise ApiError(422, "refused", outcome.reason)
        if outcome == "unknown_note":
            raise ApiError(404, "unknown_note", "No note with this id on the board.")
        if outcome == "original":
            raise ApiError(
                422, "same_language", "This note is written in this language; edit the note."
            )
        if outcome == "nothing":
            raise ApiError(422, "empty_text", "Type the translation first.")
        return JSONResponse({"note_id": note_id, "lang": lang, **(entry if text.strip() else {})})

    async def request_translation(self, request: Request) -> Response:
        board = (await self.http.access(request, "participant", "facilitator")).board
        lang = request.path_params["lang"]
        note_id = request.path_params["note_id"]
        if lang not in LANGUAGES:
            raise ApiError(422, "bad_lang", f"'lang' must be one of {', '.join(LANGUAGES)}.")
        if board.settings.get("locked"):
            raise ApiError(409, "locked", "The board is locked.")
        outcome = await self.http.with_room(
            board.id, lambda room: write_request(room, note_id, lang, time.time() * 1000)
        )
        if outcome == "unknown_note":
            raise ApiError(404, "unknown_note", "No note with this id on the board.")
        if outcome == "original":
            raise ApiError(422, "same_language", "This note is written in this language.")
        if outcome == "translated":
            raise ApiError(409, "already_translated", "This note has a translation already.")
        if self.translator.enabled:
            self.translator.submit(board.id, note_id)
        return JSONResponse({"note_id": note_id, "lang": lang, "wanted": True})

    async def machine_translate(self, request: Request) -> Response:
        """Ask for machine translations of a note in the background; answers at once (202)."""
        board = (await self.http.access(request, "participant", "facilitator")).board
        if not self.translator.enabled:
            return JSONResponse({"queued": False, "reason": "off"}, status_code=202)
        queued = self.translator.submit(board.id, request.path_params["note_id"])
        return JSONResponse(
            {"queued": queued, **({} if queued else {"reason": "busy"})}, status_code=202
        )


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str  # the rules' reason (crdt/rules.py), as the socket would send it


async def write_translation(
    room: Room,
    note_id: str,
    lang: str,
    entry: dict[str, Any],
    *,
    actor: Actor,
    only_if_missing: bool = False,
) -> str | Refused:
    """Write (or with an empty text, remove) one translation, for `actor`: judged like that
    client's own write (schema, `max_note_length`, the board's bounds).

    `only_if_missing` (machine translations): nothing is written over an existing translation.
    Returns "ok", "unknown_note", "original", "kept", "nothing" (empty text, no translation) or a
    Refused."""
    outcome = "ok"

    def change(doc: schema.Board) -> None:
        nonlocal outcome
        note = _note_to_translate(doc, note_id, lang)
        if isinstance(note, str):
            outcome = note
            return
        translations = note.get("translations")
        if not isinstance(translations, Map):
            if not entry["text"]:
                outcome = "nothing"
                return
            note["translations"] = translations = Map()
        if only_if_missing and lang in translations:
            outcome = "kept"
            return
        if entry["text"]:
            translations[lang] = dict(entry)
        elif lang in translations:
            del translations[lang]
        else:
            outcome = "nothing"

    def answer_request(doc: schema.Board) -> None:
        note = doc.notes_map.get(note_id)
        wanted = note.get("wanted") if isinstance(note, Map) else None
        if isinstance(wanted, Map) and lang in wanted:
            del wanted[lang]

    refusal = await room.apply_client_change(actor, change)
    if refusal is not None:
        return Refused(refusal)
    # A person's translation answers the request (`wanted` is the server's field, written apart
    # from the client's judged change); a machine one leaves it open for a person.
    if outcome == "ok" and entry["text"] and not entry.get("machine"):
        await room.apply_server_change(answer_request)
    return outcome


def _note_to_translate(doc: schema.Board, note_id: str, lang: str) -> Map[Any] | str:
    """The note to translate into `lang`, or why not: "unknown_note", or "original" (it is
    written in `lang`)."""
    note = doc.notes_map.get(note_id)
    if not isinstance(note, Map):
        return "unknown_note"
    if note.get("lang") == lang:
        return "original"
    return note


async def write_request(room: Room, note_id: str, lang: str, at_ms: float) -> str:
    """Record a request for a translation into `lang` (`wanted[lang]`, kept when already asked).
    Returns "ok", "unknown_note", "original" or "translated" (a person's translation exists)."""
    outcome = "ok"

    def change(doc: schema.Board) -> None:
        nonlocal outcome
        note = _note_to_translate(doc, note_id, lang)
        if isinstance(note, str):
            outcome = note
            return
        translations = note.get("translations")
        existing = translations.get(lang) if isinstance(translations, Map) else None
        if isinstance(existing, dict) and existing.get("text") and not existing.get("machine"):
            outcome = "translated"
            return
        wanted = note.get("wanted")
        if not isinstance(wanted, Map):
            note["wanted"] = wanted = Map()
        if lang not in wanted:
            wanted[lang] = float(int(at_ms))

    await room.apply_server_change(change)
    return outcome
