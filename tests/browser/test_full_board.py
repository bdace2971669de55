"""A full board (close 1013, "try again later"): the phone says so and retries by itself with a
growing delay (not the provider's 100 ms loop), then gets in once a place is free."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from tests.browser.conftest import shot
from tests.conftest import ServerProcess

pytestmark = pytest.mark.browser

STORE_TOKEN = "([id, t]) => localStorage.setItem('cobord:token:' + id, JSON.stringify(t))"


def call(base: str, path: str, body: Any) -> Any:
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read())


def test_full_board_says_so_and_retries_with_backoff(tmp_path: Path, phone: Any) -> None:
    server = ServerProcess(
        f"sqlite+aiosqlite:///{tmp_path}/full.db",
        {"SECRET_KEY": "full-test", "COBORD_MAX_CONNECTIONS_PER_BOARD": "1"},
        tmp_path / "server.log",
    )
    server.start()
    try:
        base = server.http
        board = call(base, "/api/boards", {"title": "Plein", "groups": []})
        me = call(base, "/api/join", {"code": board["join_code"], "name": "Lina", "lang": "fr"})
        # Someone else holds the only place (a participant: the facilitator is never counted
        # against a board's places, so it always gets in).
        other = call(base, "/api/join", {"code": board["join_code"], "name": "Omar", "lang": "fr"})
        with connect(server.url(board["id"], other["token"])) as holder:
            holder.recv(timeout=10)  # the server's SyncStep1: the place is taken
            page = phone.new_page()
            sockets: list[Any] = []
            page.on("websocket", lambda ws: sockets.append(ws))
            page.goto(base + "/")
            page.evaluate(STORE_TOKEN, [board["id"], me["token"]])
            page.goto(f"{base}/b/{board['id']}")
            banner = page.locator(".banner-full")
            expect(banner).to_be_visible()
            expect(banner).to_contain_text("complet")
            expect(page.locator(".banner-offline")).to_have_count(0)
            shot(page, "full-01-phone")
            page.wait_for_function(
                "() => window.__cobord.session.fullRetries.length >= 3", timeout=20_000
            )
            delays = page.evaluate("() => window.__cobord.session.fullRetries.slice(0, 3)")
            # 1 s, 2 s, 4 s, each ±20 %: growing, never the provider's 100 ms.
            assert 800 <= delays[0] <= 1200, delays
            assert 1600 <= delays[1] <= 2400, delays
            assert 3200 <= delays[2] <= 4800, delays
            attempts = len(sockets)
            assert 3 <= attempts <= 4, attempts  # one socket per try, not a tight loop
        # The place is free again (the socket closed):
        page.wait_for_function("() => window.__cobord.session.synced", timeout=20_000)
        expect(banner).to_have_count(0)
        assert page.evaluate("() => window.__cobord.session.full") is None
        shot(page, "full-02-phone-in")
        assert not phone.errors, phone.errors
    finally:
        server.stop()
