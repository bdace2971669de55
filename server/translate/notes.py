"""What machine translation reads from and writes into a board's document: a note's text,
language, the board's languages and the translations it has (`read_note`), and one machine
translation, written as a server change judged like a client's write, never over a human's
translation (`write_machine_translation`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pycrdt import Map

from crdt import schema
from crdt.rules import Actor
from server.translate.client import MAX_TEXT

if TYPE_CHECKING:
    from server.live.room import Room

log = logging.getLogger("cobord.translate")

LANGUAGES = ("fr", "nl", "en")
MACHINE = Actor("server", "server")  # who writes machine translations (the log says "server")


def read_note(
    room: Room, note_id: str
) -> tuple[str, str, tuple[str, ...], dict[str, bool], str] | None:
    """(text, language, the board's languages, {lang: machine?} of its translations, the
    note's author: whose budget it spends)."""
    board = schema.Board(room.doc)
    note = board.notes_map.get(note_id)
    if not isinstance(note, Map):
        return None
    text, lang = note.get("text"), note.get("lang")
    if not isinstance(text, str) or not text.strip() or lang not in LANGUAGES:
        return None
    settings = board.meta.get("settings")
    wanted = settings.get("languages") if isinstance(settings, dict) else None
    languages = tuple(
        x for x in (wanted if isinstance(wanted, list) else LANGUAGES) if x in LANGUAGES
    )
    translations = note.get("translations")
    have: dict[str, bool] = {}
    if isinstance(translations, Map):
        for key, entry in translations.items():
            have[key] = bool(isinstance(entry, dict) and entry.get("machine"))
    author = room.board.note_authors.get(note_id, "unknown")
    return text[:MAX_TEXT], str(lang), languages, have, author


async def write_machine_translation(
    room: Room,
    note_id: str,
    lang: str,
    text: str,
    *,
    source_text: str,
    source_lang: str,
    refresh: bool,
) -> bool:
    """One server change: `translations[lang] = {text, "by": "machine", "machine": true}`, only if
    the note still reads `source_text` in `source_lang` and has no translation in `lang` (with
    `refresh`: or only a machine one). True if written."""
    written = False
    # An answer longer than a note may be is cut to the board's length (the rules would refuse
    # it whole); the rules still judge what is written.
    limit = int(
        room.board.settings.get("max_note_length", schema.DEFAULT_SETTINGS["max_note_length"])
    )
    text = text[: max(0, limit)]

    def change(doc: schema.Board) -> None:
        nonlocal written
        note = doc.notes_map.get(note_id)
        if not isinstance(note, Map) or note.get("lang") != source_lang:
            return
        current = note.get("text")
        if not isinstance(current, str) or current[:MAX_TEXT] != source_text:
            return  # edited meanwhile: its new text is queued
        translations = note.get("translations")
        if not isinstance(translations, Map):
            note["translations"] = translations = Map()
        existing = translations.get(lang)
        if existing is not None and not (
            refresh and isinstance(existing, dict) and existing.get("machine")
        ):
            return  # never over a human translation (nor a machine one of the same text)
        translations[lang] = {"text": text, "by": "machine", "machine": True}
        written = True

    # Judged like a client's write (crdt/rules.py, the server's row: the note schema, the
    # board's `max_note_length` and byte bound): a translator's answer can be as long as anyone's.
    refusal = await room.apply_client_change(MACHINE, change)
    if refusal is not None:
        log.info("board %s: machine translation of %s refused: %s", room.board_id, note_id, refusal)
        return False
    return written
