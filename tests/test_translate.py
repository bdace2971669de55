"""Translations of notes through the HTTP endpoint, written by the server into the document."""

from __future__ import annotations

from typing import Any

import httpx
from pycrdt import Map

from tests.conftest import ServerProcess
from tests.yclient import YClient, add_note


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def translations(client: YClient, note_id: str) -> dict[str, Any]:
    note = client.doc.get("notes", type=Map).get(note_id)
    value = note.get("translations") if isinstance(note, Map) else None
    return dict(value.to_py() or {}) if isinstance(value, Map) else {}


async def test_translation_added_by_anyone_reaches_every_reader(server: ServerProcess) -> None:
    board = server.create_board()
    author = server.join(board["join_code"], name="Awa", lang="fr")
    helper = server.join(board["join_code"], name="Jan", lang="nl")
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    reader = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    try:
        await writer.change(add_note("n1", "Plus de bancs au parc", lang="fr"))
        await reader.wait_until(lambda: "n1" in reader.notes())
        url = f"/api/boards/{board['id']}/notes/n1/translations/nl"
        async with httpx.AsyncClient(base_url=server.http) as http:
            r = await http.put(
                url, json={"text": "Meer banken in het park"}, headers=auth(helper["token"])
            )
            assert r.status_code == 200, r.text
            expected = {
                "text": "Meer banken in het park",
                "by": helper["participant_id"],
                "machine": False,
            }
            await reader.wait_until(lambda: translations(reader, "n1").get("nl") == expected)
            # The original stays the author's.
            assert reader.notes()["n1"]["text"] == "Plus de bancs au parc"
            # A correction replaces it; the author of the correction is stamped.
            r = await http.put(
                url, json={"text": "Meer bankjes in het park"}, headers=auth(author["token"])
            )
            assert r.status_code == 200
            await reader.wait_until(
                lambda: (
                    translations(reader, "n1").get("nl", {}).get("by") == author["participant_id"]
                )
            )
            # Errors: same language as the note, unknown note, unknown language, viewer, no body.
            bad = [
                (
                    f"/api/boards/{board['id']}/notes/n1/translations/fr",
                    {"text": "x"},
                    helper,
                    422,
                    "same_language",
                ),
                (
                    f"/api/boards/{board['id']}/notes/zz/translations/en",
                    {"text": "x"},
                    helper,
                    404,
                    "unknown_note",
                ),
                (
                    f"/api/boards/{board['id']}/notes/n1/translations/de",
                    {"text": "x"},
                    helper,
                    422,
                    "bad_lang",
                ),
                (url, {"text": 3}, helper, 422, "bad_text"),
                (url, {"text": "x" * 2001}, helper, 422, "bad_text"),
            ]
            for path, body, who, status, code in bad:
                r = await http.put(path, json=body, headers=auth(who["token"]))
                assert (r.status_code, r.json()["error"]) == (status, code), path
            r = await http.put(url, json={"text": "x"}, headers=auth(board["viewer_token"]))
            assert r.status_code == 403
            # An empty text removes the translation.
            r = await http.put(url, json={"text": ""}, headers=auth(helper["token"]))
            assert r.status_code == 200
            await reader.wait_until(lambda: "nl" not in translations(reader, "n1"))
    finally:
        await writer.close()
        await reader.close()
