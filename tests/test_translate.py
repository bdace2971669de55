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
from tests.support import poll_until
from tests.yclient import YClient, add_note


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def translations(client: YClient, note_id: str) -> dict[str, Any]:
    note = client.doc.get("notes", type=Map).get(note_id)
    value = note.get("translations") if isinstance(note, Map) else None
    return dict(value.to_py() or {}) if isinstance(value, Map) else {}


def wanted(client: YClient, note_id: str) -> dict[str, Any]:
    note = client.doc.get("notes", type=Map).get(note_id)
    value = note.get("wanted") if isinstance(note, Map) else None
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
            # Nothing typed and nothing to remove: a clear refusal, not a silent 200 (was 200).
            r = await http.put(url, json={"text": "  "}, headers=auth(helper["token"]))
            assert (r.status_code, r.json()["error"]) == (422, "empty_text")
            # A request for a translation is stored in the note for every reader and process...
            ask = f"/api/boards/{board['id']}/notes/n1/translation-requests"
            r = await http.post(f"{ask}/nl", headers=auth(helper["token"]))
            assert r.json() == {"note_id": "n1", "lang": "nl", "wanted": True}
            await reader.wait_until(lambda: "nl" in wanted(reader, "n1"))
            for path, status, code in [
                (f"{ask}/fr", 422, "same_language"),
                (f"{ask}/de", 422, "bad_lang"),
                (ask.replace("/n1/", "/zz/") + "/nl", 404, "unknown_note"),
            ]:
                r = await http.post(path, headers=auth(helper["token"]))
                assert (r.status_code, r.json()["error"]) == (status, code), path
            r = await http.post(f"{ask}/nl", headers=auth(board["viewer_token"]))
            assert r.status_code == 403
            # ...and a person's translation answers it; then asking again is refused.
            r = await http.put(url, json={"text": "Meer banken"}, headers=auth(author["token"]))
            assert r.status_code == 200
            await reader.wait_until(lambda: "nl" not in wanted(reader, "n1"))
            r = await http.post(f"{ask}/nl", headers=auth(helper["token"]))
            assert (r.status_code, r.json()["error"]) == (409, "already_translated")
    finally:
        await writer.close()
        await reader.close()


# ------------------------------------------------ machine translation (COBORD_TRANSLATE_URL)


class FakeLibreTranslate:
    """A LibreTranslate-API server on loopback: `POST /translate` answers "[target] q".
    `hold` (a threading.Event) makes it slow: each request waits until the event is set."""

    def __init__(self, port: int = 0) -> None:
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

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
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


MACHINE_NL = {"text": "[nl] Plus de bancs", "by": "machine", "machine": True}
MACHINE_EN = {"text": "[en] Plus de bancs", "by": "machine", "machine": True}


def asked(fake: FakeLibreTranslate) -> list[tuple[str, str, str]]:
    return sorted((r["q"], r["source"], r["target"]) for r in fake.requests)


async def metric(server: ServerProcess, name: str) -> float:
    async with httpx.AsyncClient(base_url=server.http) as http_client:
        text = (await http_client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_a_posted_note_gets_its_translations_without_anyone_asking(
    make_server: Any, libretranslate: FakeLibreTranslate
) -> None:
    server = make_server(COBORD_TRANSLATE_URL=libretranslate.url)
    board = server.create_board()
    author = server.join(board["join_code"], name="Awa", lang="fr")
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    reader = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    try:
        # Only the socket: nobody calls the machine-translate endpoint.
        await writer.change(add_note("n1", "Plus de bancs", lang="fr"))
        await reader.wait_until(lambda: len(translations(reader, "n1")) == 2)
        assert translations(reader, "n1") == {"nl": MACHINE_NL, "en": MACHINE_EN}
        assert reader.notes()["n1"]["text"] == "Plus de bancs"  # the original stays
        assert asked(libretranslate) == [
            ("Plus de bancs", "fr", "en"),
            ("Plus de bancs", "fr", "nl"),
        ]
        # A photo note without a caption has nothing to translate; one with a caption has.
        await writer.change(add_note("p1", "", lang="fr", kind="photo", media="m1"))
        await writer.change(add_note("p2", "Le parc", lang="fr", kind="photo", media="m2"))
        await reader.wait_until(lambda: len(translations(reader, "p2")) == 2)
        assert translations(reader, "p1") == {}
        assert await metric(server, "cobord_translate_requests_total") == 4
    finally:
        await writer.close()
        await reader.close()


async def test_machine_translation_never_goes_over_a_human_one(
    make_server: Any, libretranslate: FakeLibreTranslate
) -> None:
    server = make_server(COBORD_TRANSLATE_URL=libretranslate.url)
    board = server.create_board()
    author = server.join(board["join_code"], name="Awa", lang="fr")
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    human = {"text": "Meer banken", "by": "Awa", "machine": False}
    try:
        # 1. The note arrives with a human Dutch translation: only English is asked for.
        def note_with_translation(doc: Any) -> None:
            add_note("n1", "Plus de bancs", lang="fr")(doc)
            doc.get("notes", type=Map)["n1"]["translations"] = Map({"nl": human})

        await writer.change(note_with_translation)
        await writer.wait_until(lambda: "en" in translations(writer, "n1"))
        assert translations(writer, "n1") == {"nl": human, "en": MACHINE_EN}
        assert asked(libretranslate) == [("Plus de bancs", "fr", "en")]

        # 2. A human translation written while the machine translates that very language wins.
        libretranslate.hold = threading.Event()
        libretranslate.got_request.clear()
        await writer.change(add_note("n2", "Un potager", lang="fr"))
        await asyncio.to_thread(libretranslate.got_request.wait, 5)
        in_flight = libretranslate.requests[-1]["target"]
        assert in_flight == "nl"  # the board's languages in order: fr, nl, en
        async with httpx.AsyncClient(base_url=server.http) as http_client:
            r = await http_client.put(
                f"/api/boards/{board['id']}/notes/n2/translations/nl",
                json={"text": "Een moestuin"},
                headers=auth(author["token"]),
            )
            assert r.status_code == 200
        libretranslate.hold.set()
        await writer.wait_until(lambda: "en" in translations(writer, "n2"))
        assert translations(writer, "n2")["nl"] == {
            "text": "Een moestuin",
            "by": author["participant_id"],
            "machine": False,
        }
        assert ("Un potager", "fr", "nl") in asked(libretranslate)  # asked, answered, not written
        assert await metric(server, "cobord_translate_kept_total") == 1

        # 3. Editing the text redoes the machine translations, never the human one.
        def edit(doc: Any) -> None:
            doc.get("notes", type=Map)["n2"]["text"] = "Un grand potager"

        await writer.change(edit)
        await writer.wait_until(
            lambda: translations(writer, "n2")["en"]["text"] == "[en] Un grand potager"
        )
        assert translations(writer, "n2")["nl"]["text"] == "Een moestuin"
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
        await asyncio.to_thread(libretranslate.got_request.wait, 5)
        async with httpx.AsyncClient(base_url=server.http, timeout=5) as http_client:
            base = f"/api/boards/{board['id']}/notes/n1"
            # Asking by hand for a note already in work answers at once.
            r = await http_client.post(f"{base}/machine-translate", headers=auth(author["token"]))
            assert (r.status_code, r.json()) == (202, {"queued": True})
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
            await reader.wait_until(lambda: len(translations(reader, "n2")) == 2)
        # The human English one, written while the machine was busy, was kept.
        assert translations(reader, "n1")["en"]["machine"] is False
    finally:
        await writer.close()
        await reader.close()


async def test_translator_down_then_back_fills_in_later(make_server: Any) -> None:
    port = free_port()  # nothing listens there yet
    server = make_server(COBORD_TRANSLATE_URL=f"http://127.0.0.1:{port}")
    board = server.create_board()
    author = server.join(board["join_code"], name="Awa", lang="fr")
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    reader = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    fake: FakeLibreTranslate | None = None
    try:
        await writer.change(add_note("n1", "Plus de bancs", lang="fr"))
        await poll_until(
            lambda: _at_least(server, "cobord_translate_failures_total", 1)
        )  # it tried and failed
        # The board still answers: a note and a human translation land.
        await writer.change(add_note("n2", "Un potager", lang="fr"))
        await reader.wait_until(lambda: "n2" in reader.notes())
        async with httpx.AsyncClient(base_url=server.http) as http_client:
            r = await http_client.put(
                f"/api/boards/{board['id']}/notes/n1/translations/nl",
                json={"text": "Meer banken"},
                headers=auth(author["token"]),
            )
            assert r.status_code == 200
        await reader.wait_until(lambda: "nl" in translations(reader, "n1"))
        assert set(translations(reader, "n1")) == {"nl"}
        assert "translator unavailable" in server.log_path.read_text()
        # The translator comes up: what waited is filled in (retried with backoff).
        fake = FakeLibreTranslate(port)
        await reader.wait_until(lambda: "en" in translations(reader, "n1"), timeout=30)
        await reader.wait_until(lambda: len(translations(reader, "n2")) == 2, timeout=30)
        assert translations(reader, "n1") == {
            "nl": {"text": "Meer banken", "by": author["participant_id"], "machine": False},
            "en": MACHINE_EN,
        }
        assert "translator is back" in server.log_path.read_text()
    finally:
        await writer.close()
        await reader.close()
        if fake is not None:
            fake.stop()


async def _at_least(server: ServerProcess, name: str, value: float) -> bool:
    return await metric(server, name) >= value


@pytest.mark.redis
@pytest.mark.postgres
async def test_two_processes_translate_each_note_once(
    make_server: Any, pg_url: str, tmp_path: Any, libretranslate: FakeLibreTranslate
) -> None:
    from tests.test_multiprocess import RedisServer

    redis_server = RedisServer(tmp_path)
    redis_server.start()
    try:
        env = {"REDIS_URL": redis_server.url, "COBORD_TRANSLATE_URL": libretranslate.url}
        a = make_server(database_url=pg_url, **env)
        b = make_server(database_url=pg_url, **env)
        board = a.create_board()
        author = a.join(board["join_code"], name="Awa", lang="fr")
        on_a = await YClient(a.url(board["id"], author["token"])).connect()
        on_b = await YClient(b.url(board["id"], board["viewer_token"])).connect()
        try:
            # The translator holds the first request: the other process sees the note untranslated
            # meanwhile and must leave it to the one that claimed it.
            libretranslate.hold = threading.Event()
            await on_a.change(add_note("n1", "Plus de bancs", lang="fr"))
            await asyncio.to_thread(libretranslate.got_request.wait, 5)

            async def one_lost() -> bool:
                lost = [await metric(p, "cobord_translate_claims_lost_total") for p in (a, b)]
                return sorted(lost) == [0, 1]

            await poll_until(one_lost)
            libretranslate.hold.set()
            await on_b.wait_until(lambda: len(translations(on_b, "n1")) == 2)
            assert translations(on_b, "n1") == {"nl": MACHINE_NL, "en": MACHINE_EN}
            assert asked(libretranslate) == [
                ("Plus de bancs", "fr", "en"),
                ("Plus de bancs", "fr", "nl"),
            ]  # once, not once per process
            written = [await metric(p, "cobord_translate_written_total") for p in (a, b)]
            assert sorted(written) == [0, 2]
        finally:
            await on_a.close()
            await on_b.close()
    finally:
        redis_server.stop()


def test_machine_translation_off_without_the_setting(server: ServerProcess) -> None:
    board = server.create_board()
    r = httpx.post(
        f"{server.http}/api/boards/{board['id']}/notes/n1/machine-translate",
        headers=auth(board["facilitator_token"]),
    )
    assert (r.status_code, r.json()) == (202, {"queued": False, "reason": "off"})


@pytest.mark.redis
@pytest.mark.postgres
async def test_translation_requests_are_shared_across_processes(
    two: tuple[ServerProcess, ServerProcess],
) -> None:
    """A request made through one process is seen by a reader of the other, and by a reader who
    joins afterwards (it is in the document, not in a process's memory); answering it through the
    first process clears it everywhere."""
    first, second = two
    board = first.create_board()
    author = first.join(board["join_code"], name="Awa", lang="fr")
    asker = second.join(board["join_code"], name="Jan", lang="nl")
    writer = await YClient(first.url(board["id"], author["token"])).connect()
    reader = await YClient(first.url(board["id"], board["viewer_token"])).connect()
    try:
        await writer.change(add_note("n1", "Plus de bancs", lang="fr"))
        await reader.wait_until(lambda: "n1" in reader.notes())
        async with httpx.AsyncClient(base_url=second.http) as http:
            ask = f"/api/boards/{board['id']}/notes/n1/translation-requests/nl"
            # The note was committed before the reader saw it: the second process loads it.
            r = await http.post(ask, headers=auth(asker["token"]))
            assert r.status_code == 200, r.text
        await reader.wait_until(lambda: "nl" in wanted(reader, "n1"))
        late = await YClient(second.url(board["id"], board["viewer_token"])).connect()
        try:
            await late.wait_until(lambda: "nl" in wanted(late, "n1"))
            async with httpx.AsyncClient(base_url=first.http) as http:
                r = await http.put(
                    f"/api/boards/{board['id']}/notes/n1/translations/nl",
                    json={"text": "Meer banken"},
                    headers=auth(asker["token"]),
                )
                assert r.status_code == 200, r.text
            await late.wait_until(lambda: "nl" not in wanted(late, "n1"))
        finally:
            await late.close()
    finally:
        await writer.close()
        await reader.close()
