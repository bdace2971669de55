"""Writes the server makes for a client (translations over HTTP, machine translations) pass the
same schema, `max_note_length` and board byte bound as the client's own writes (issue #20)."""

from __future__ import annotations

from typing import Any

import httpx
from pycrdt import Map

from tests.test_translate import FakeLibreTranslate, auth, libretranslate, translations
from tests.yclient import YClient, add_note

__all__ = ["libretranslate"]  # the fixture, used below

BOARD_BYTES = 16 * 1024


async def test_translations_cannot_inflate_the_board_past_its_bounds(make_server: Any) -> None:
    """Before the fix, `PUT …/translations/{lang}` was a server change nobody judged: 2,000
    characters where notes allow 280, and 20 translations of 280 emoji took a board bounded at
    16 KiB to ~45 KB (every PUT answered 200)."""
    server = make_server(COBORD_MAX_BOARD_BYTES=str(BOARD_BYTES))
    board = server.create_board()
    author = server.join(board["join_code"], name="Awa", lang="fr")
    helper = server.join(board["join_code"], name="Jan", lang="nl")
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    reader = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    note_ids = [f"n{i}" for i in range(10)]
    try:
        for note_id in note_ids:
            await writer.change(add_note(note_id, "Plus de bancs", lang="fr"))
        await reader.wait_until(lambda: len(reader.notes()) == len(note_ids))
        async with httpx.AsyncClient(base_url=server.http) as http:
            base = f"/api/boards/{board['id']}/notes"
            # Longer than the board's max_note_length (280): refused like over the socket.
            r = await http.put(
                f"{base}/n0/translations/nl",
                json={"text": "x" * 2000},
                headers=auth(helper["token"]),
            )
            assert (r.status_code, r.json()) == (
                422,
                {"error": "refused", "message": "a translation holds at most 280 characters"},
            )
            # Within the length, but the board's byte bound holds: refused once full.
            answers = []
            for note_id in note_ids:
                for lang in ("nl", "en"):
                    r = await http.put(
                        f"{base}/{note_id}/translations/{lang}",
                        json={"text": "😀" * 280},
                        headers=auth(helper["token"]),
                    )
                    answers.append((r.status_code, r.json()))
        accepted = [a for a in answers if a[0] == 200]
        refused = [a for a in answers if a[0] != 200]
        assert accepted and refused, answers
        assert refused[0] == (
            413,
            {"error": "board_full", "message": "the board is full: at most 0.015625 MiB"},
        )
        # Once full it stays full: every later one is refused the same way.
        assert answers[len(accepted) :] == [refused[0]] * len(refused)
        await reader.wait_until(
            lambda: sum(len(translations(reader, n)) for n in note_ids) == len(accepted)
        )
        assert len(reader.doc.get_update()) <= BOARD_BYTES
        # The board still works: deleting frees room, a viewer still syncs it whole.
        late = await YClient(server.url(board["id"], board["viewer_token"])).connect()
        assert late.notes().keys() == reader.notes().keys()
        await late.close()
    finally:
        await writer.close()
        await reader.close()


async def test_a_machine_translation_longer_than_a_note_is_cut_to_the_board_length(
    make_server: Any, libretranslate: FakeLibreTranslate
) -> None:
    """The translator answers "[nl] " + the text: 285 characters for a note of 280. Before the
    fix it was written whole (a translation longer than any note may be)."""
    server = make_server(COBORD_TRANSLATE_URL=libretranslate.url)
    board = server.create_board()
    author = server.join(board["join_code"], name="Awa", lang="fr")
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    try:
        text = "é" * 280
        await writer.change(add_note("n1", text, lang="fr"))
        await writer.wait_until(lambda: len(translations(writer, "n1")) == 2)
        for lang in ("nl", "en"):
            written = translations(writer, "n1")[lang]
            assert written == {
                "text": (f"[{lang}] " + text)[:280],
                "by": "machine",
                "machine": True,
            }
        note = writer.doc.get("notes", type=Map)["n1"]
        assert note["text"] == text
    finally:
        await writer.close()
