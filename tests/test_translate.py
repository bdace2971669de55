"""Translations of notes through the HTTP endpoint, written by the server into the document."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pycrdt import Map

from tests.conftest import ServerProcess, free_port
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


# ------------------------------------------------ machine translation (COBORD_TRANSLATE_URL)


class FakeLibreTranslate:
    """A LibreTranslate-API server on loopback: `POST /translate` answers "[target] q".
    `hold` (a threading.Event) makes it slow: each request waits until the event is set."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.hold: threading.Event | None = None
        self.got_request = threading.Event()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fake.got_request.set()
                if fake.hold is not None:
                    fake.hold.wait(10)
                data = json.dumps({"translatedText": f"[{body['target']}] {body['q']}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def libretranslate() -> Iterator[FakeLibreTranslate]:
    fake = FakeLibreTranslate()
    yield fake
    fake.stop()


async def test_machine_translation_fills_missing_never_over_a_human_one(
    make_server: Any, libretranslate: FakeLibreTranslate
) -> None:
    server = make_server(COBORD_TRANSLATE_URL=libretranslate.url)
    board = server.create_board()
    author = server.join(board["join_code"], name="Awa", lang="fr")
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    try:
        await writer.change(add_note("n1", "Plus de bancs", lang="fr"))
        async with httpx.AsyncClient(base_url=server.http) as http_client:
            base = f"/api/boards/{board['id']}/notes/n1"
            r = await http_client.put(
                f"{base}/translations/nl",
                json={"text": "Meer banken"},
                headers=auth(author["token"]),
            )
            assert r.status_code == 200
            await writer.wait_until(lambda: "nl" in translations(writer, "n1"))
            r = await http_client.post(f"{base}/machine-translate", headers=auth(author["token"]))
            assert (r.status_code, r.json()) == (202, {"queued": True})
            await writer.wait_until(lambda: "en" in translations(writer, "n1"))
        got = translations(writer, "n1")
        assert got["en"] == {"text": "[en] Plus de bancs", "by": "machine", "machine": True}
        assert got["nl"] == {
            "text": "Meer banken",
            "by": author["participant_id"],
            "machine": False,
        }
        # Only the missing language was asked for.
        assert libretranslate.requests == [
            {"q": "Plus de bancs", "source": "fr", "target": "en", "format": "text"}
        ]
    finally:
        await writer.close()


async def test_slow_translator_never_holds_the_board(
    make_server: Any, libretranslate: FakeLibreTranslate
) -> None:
    libretranslate.hold = threading.Event()
    server = make_server(COBORD_TRANSLATE_URL=libretranslate.url)
    board = server.create_board()
    author = server.join(board["join_code"], name="Awa", lang="fr")
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    reader = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    try:
        await writer.change(add_note("n1", "Plus de bancs", lang="fr"))
        async with httpx.AsyncClient(base_url=server.http, timeout=5) as http_client:
            base = f"/api/boards/{board['id']}/notes/n1"
            r = await http_client.post(f"{base}/machine-translate", headers=auth(author["token"]))
            assert r.status_code == 202
            await asyncio.to_thread(libretranslate.got_request.wait, 5)
            # The translator is stuck on this note: notes, edits and human translations go on.
            await writer.change(add_note("n2", "Un potager", lang="fr"))
            await reader.wait_until(lambda: "n2" in reader.notes())
            r = await http_client.put(
                f"{base}/translations/en",
                json={"text": "More benches"},
                headers=auth(author["token"]),
            )
            assert r.status_code == 200
            await reader.wait_until(lambda: "en" in translations(reader, "n1"))
            libretranslate.hold.set()
            await reader.wait_until(lambda: "nl" in translations(reader, "n1"))
        # The human English one, written while the machine was busy, was kept.
        assert translations(reader, "n1")["en"]["machine"] is False
    finally:
        await writer.close()
        await reader.close()


async def test_translator_down_leaves_notes_as_written(make_server: Any) -> None:
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    server = make_server(COBORD_TRANSLATE_URL=down)
    board = server.create_board()
    author = server.join(board["join_code"], name="Awa", lang="fr")
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    try:
        await writer.change(add_note("n1", "Plus de bancs", lang="fr"))
        async with httpx.AsyncClient(base_url=server.http) as http_client:
            base = f"/api/boards/{board['id']}/notes/n1"
            for _ in range(2):
                r = await http_client.post(
                    f"{base}/machine-translate", headers=auth(author["token"])
                )
                assert (r.status_code, r.json()) == (202, {"queued": True})
            # The board still answers and a human translation still lands.
            r = await http_client.put(
                f"{base}/translations/nl",
                json={"text": "Meer banken"},
                headers=auth(author["token"]),
            )
            assert r.status_code == 200
            await writer.wait_until(lambda: "nl" in translations(writer, "n1"))
        assert set(translations(writer, "n1")) == {"nl"}
    finally:
        await writer.close()


def test_machine_translation_off_without_the_setting(server: ServerProcess) -> None:
    board = server.create_board()
    r = httpx.post(
        f"{server.http}/api/boards/{board['id']}/notes/n1/machine-translate",
        headers=auth(board["facilitator_token"]),
    )
    assert (r.status_code, r.json()) == (202, {"queued": False, "reason": "off"})
