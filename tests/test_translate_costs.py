"""What machine translation may cost (issue #20): the settled text only (not every keystroke), a
budget per note author and per board (shared through Redis), claims in O(1), no redirects."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pycrdt import Doc, Map

from server.scale.claims import MemoryClaims
from server.translate import RedisBudget
from tests.support import poll_until
from tests.test_translate import FakeLibreTranslate, asked, libretranslate, translations
from tests.yclient import YClient, add_note

__all__ = ["libretranslate"]  # the fixture, used below


async def metric(server: Any, name: str) -> float:
    async with httpx.AsyncClient(base_url=server.http) as http:
        text = (await http.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def set_text(note_id: str, text: str) -> Any:
    def edit(doc: Doc) -> None:
        doc.get("notes", type=Map)[note_id]["text"] = text

    return edit


async def test_only_the_settled_text_is_translated(
    make_server: Any, libretranslate: FakeLibreTranslate
) -> None:
    """Before the fix every edit was sent: typing "Plus de bancs au parc" letter by letter asked
    the translator about each prefix (~40 requests instead of 2)."""
    server = make_server(
        COBORD_TRANSLATE_URL=libretranslate.url, COBORD_TRANSLATE_SETTLE_SECONDS="3"
    )
    board = server.create_board()
    author = server.join(board["join_code"], name="Awa", lang="fr")
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    try:
        final = "Plus de bancs au parc"
        await writer.change(add_note("n1", "", lang="fr"))
        for end in range(1, len(final) + 1):
            await writer.change(set_text("n1", final[:end]))
        await writer.wait_until(lambda: len(translations(writer, "n1")) == 2, timeout=30)
        assert asked(libretranslate) == [(final, "fr", "en"), (final, "fr", "nl")]
    finally:
        await writer.close()


async def test_a_participant_over_budget_waits_and_others_do_not(
    make_server: Any, libretranslate: FakeLibreTranslate
) -> None:
    """Budget 100 characters a minute per author; each 40-character note costs 80 (two target
    languages). Before the fix Ana's three notes were all translated at once."""
    server = make_server(
        COBORD_TRANSLATE_URL=libretranslate.url,
        COBORD_TRANSLATE_SETTLE_SECONDS="0",
        COBORD_TRANSLATE_CHARS_PER_MINUTE_PER_PARTICIPANT="100",
    )
    board = server.create_board()
    ana = server.join(board["join_code"], name="Ana", lang="fr")
    bob = server.join(board["join_code"], name="Bob", lang="fr")
    ana_ws = await YClient(server.url(board["id"], ana["token"])).connect()
    bob_ws = await YClient(server.url(board["id"], bob["token"])).connect()
    try:
        for i in range(3):
            await ana_ws.change(add_note(f"a{i}", f"{i} " + "x" * 38, lang="fr"))
        await poll_until(
            lambda: metric_at_least(server, "cobord_translate_over_budget_total", 1), 30
        )
        await bob_ws.change(add_note("b0", "Y" * 40, lang="fr"))
        await bob_ws.wait_until(lambda: len(translations(bob_ws, "b0")) == 2, timeout=30)
        done = [n for n in ("a0", "a1", "a2") if translations(bob_ws, n)]
        # One of Ana's notes fits a minute's budget (two if the minute turned meanwhile).
        assert 1 <= len(done) <= 2, done
        assert len([q for q, _s, _t in asked(libretranslate) if q.endswith("x" * 38)]) == 2 * len(
            done
        )
    finally:
        await ana_ws.close()
        await bob_ws.close()


async def metric_at_least(server: Any, name: str, value: float) -> bool:
    return await metric(server, name) >= value


async def test_budget_is_shared_across_processes() -> None:
    from server.scale.redis import connect
    from tests.test_fanout import REDIS_URL, redis_or_skip

    await redis_or_skip()
    pools = connect(REDIS_URL), connect(REDIS_URL)  # two processes
    one, two = RedisBudget(pools[0]), RedisBudget(pools[1])
    key = f"test-{id(one)}"
    try:
        assert await one.spend(key, 60, 100) == 0.0
        wait = await two.spend(key, 60, 100)  # the other process sees the first one's spending
        assert 0 < wait <= 60
        assert await two.spend(key, 40, 100) == 0.0  # the refused one was not counted
    finally:
        await one.close()
        await two.close()
        for pool in pools:
            await pool.aclose()


class CountedKey(str):
    """A claim key that counts how often the claims table hashes it."""

    hashes = 0

    def __hash__(self) -> int:
        CountedKey.hashes += 1
        return str.__hash__(self)


async def test_memory_claims_cost_o1_per_claim() -> None:
    """Before the fix, past 10,000 live claims every claim rebuilt the whole table: 10,500 claims
    hashed the keys ~5 million times."""
    claims = MemoryClaims(ttl=3600)
    CountedKey.hashes = 0
    for i in range(10_500):
        assert await claims.claim(CountedKey(f"k{i}"), {"translator": "one"}) == {}
    assert await claims.claim(CountedKey("k7"), {"translator": "two"}) == {"translator": "one"}
    assert CountedKey.hashes <= 10 * 10_501
    # Bounded: past max_scopes the oldest go.
    small = MemoryClaims(ttl=3600, max_scopes=100)
    for i in range(1000):
        await small.claim(f"s{i}", {"translator": "one"})
    assert len(small._scopes) <= 100
    assert await small.claim("s999", {"translator": "two"}) == {"translator": "one"}
    assert await small.claim("s0", {"translator": "two"}) == {}


class Redirecting:
    """`POST /translate` answers 302 to another loopback server, which would answer a GET."""

    def __init__(self) -> None:
        self.target_hits = 0
        self.redirects = 0
        outer = self

        class Target(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.target_hits += 1
                data = json.dumps({"translatedText": "REDIRECTED"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.target = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Target)
        where = f"http://127.0.0.1:{self.target.server_address[1]}/elsewhere"

        class Front(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.redirects += 1
                self.send_response(302)
                self.send_header("Location", where)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.front = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Front)
        self.url = f"http://127.0.0.1:{self.front.server_address[1]}"
        for server in (self.target, self.front):
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        for server in (self.target, self.front):
            server.shutdown()
            server.server_close()


@pytest.fixture
def redirecting() -> Iterator[Redirecting]:
    fake = Redirecting()
    yield fake
    fake.stop()


async def test_the_translator_client_follows_no_redirect(
    make_server: Any, redirecting: Redirecting
) -> None:
    """Before the fix urllib followed the 302 (turning the POST into a GET elsewhere) and
    "REDIRECTED" was written into the note as its translation."""
    server = make_server(COBORD_TRANSLATE_URL=redirecting.url, COBORD_TRANSLATE_SETTLE_SECONDS="0")
    board = server.create_board()
    author = server.join(board["join_code"], name="Awa", lang="fr")
    writer = await YClient(server.url(board["id"], author["token"])).connect()
    try:
        await writer.change(add_note("n1", "Plus de bancs", lang="fr"))
        await poll_until(lambda: metric_at_least(server, "cobord_translate_refused_total", 2), 30)
        assert redirecting.redirects == 2
        assert redirecting.target_hits == 0
        assert translations(writer, "n1") == {}
    finally:
        await writer.close()
