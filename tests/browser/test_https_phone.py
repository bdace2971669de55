"""Every phone reaches every feature: behind the sample Caddy (https with its own authority, two
processes on PostgreSQL + Redis) a phone gets the service worker and the in-page recorder; on a
plain http address (a name that is not this machine's loopback, so Chromium gives it no secure
context) the phone says so where it matters and records through its own recorder instead."""

from __future__ import annotations

import re
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CHROMIUM, DESKTOP, PHONE, SUITE_ARGS, shot, with_test_hooks
from tests.caddy import Caddy, start_caddy
from tests.support import service_missing

pytestmark = pytest.mark.browser

LAN = "lan.test"  # resolved to 127.0.0.1 by Chromium only: an ordinary (insecure) http origin
MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[tuple[Caddy, Any]]:
    from tests.conftest import ServerProcess, free_port

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError:
        service_missing("Redis is not running on 127.0.0.1:6379")
    folder = tmp_path_factory.mktemp("https-phone")
    port = free_port()
    env = {  # as compose.yaml sets them: links and QR codes name the https address
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "SECRET_KEY": "https-phone-secret",
        "COBORD_PUBLIC_URL": f"https://localhost:{port}",
    }
    servers = [ServerProcess(pg_url, env, folder / f"server-{i}.log") for i in range(2)]
    for server in servers:
        server.start()
    caddy = start_caddy(folder, servers, port)
    try:
        yield caddy, servers
    finally:
        caddy.stop()
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def browser(playwright: Any, front: tuple[Caddy, Any]) -> Iterator[Any]:
    caddy, _ = front
    trust = f"--ignore-certificate-errors-spki-list={caddy.spki_hashes()}"
    resolve = f"--host-resolver-rules=MAP {LAN} 127.0.0.1"
    b = with_test_hooks(
        playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*SUITE_ARGS, *MEDIA_ARGS, trust, resolve]
        )
    )
    yield b
    b.close()


def api(caddy: Caddy, path: str, body: dict[str, Any] | None = None) -> Any:
    import json

    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        caddy.origin + path, data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, context=caddy.ssl_context(), timeout=10) as res:
        return json.loads(res.read())


def open_at(context: Any, origin: str, board_id: str, token: str) -> Any:
    page = context.new_page()
    page.goto(origin + "/")
    page.evaluate(
        "([id, token]) => localStorage.setItem('cobord:token:' + id, JSON.stringify(token))",
        [board_id, token],
    )
    page.goto(f"{origin}/b/{board_id}")
    page.wait_for_function("() => window.__cobord && window.__cobord.session.synced")
    return page


def test_phone_behind_caddy_has_every_feature_and_plain_http_says_what_it_lacks(
    browser: Any, front: tuple[Caddy, Any], cobord_server: Any, tmp_path: Path
) -> None:
    caddy, servers = front
    board = api(caddy, "/api/boards", {"title": "Atelier https", "groups": ["Habitant"]})
    awa = api(
        caddy,
        "/api/join",
        {"code": board["join_code"], "name": "Awa", "group": "Habitant", "lang": "fr"},
    )
    phone = browser.new_context(**PHONE, service_workers="allow")  # offline opening
    phone.grant_permissions(["microphone"], origin=caddy.origin)
    mobile = open_at(phone, caddy.origin, board["id"], awa["token"])
    # The service worker registers and takes over (offline opening works at this address).
    assert mobile.evaluate("window.isSecureContext") is True
    scope = mobile.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == caddy.origin + "/"
    # The recorder starts in the page (fake microphone) and the voice note reaches the other
    # process's clients through Caddy.
    desktop = browser.new_context(**DESKTOP)
    laptop = open_at(desktop, caddy.origin, board["id"], board["facilitator_token"])
    mobile.locator(".fab").tap()
    mobile.locator(".record-btn").tap()
    expect(mobile.locator(".record-btn")).to_have_attribute("data-seconds", re.compile(r"^[1-9]"))
    shot(mobile, "https-phone-recording")
    mobile.locator(".record-btn").tap()
    expect(mobile.locator(".media-preview audio.note-voice")).to_be_attached()
    mobile.fill("#composer-text", "Par https")
    mobile.locator(".composer button[type=submit]").tap()
    expect(laptop.locator(".note", has_text="Par https")).to_be_visible()
    voice = laptop.locator("audio.note-voice").first
    expect(voice).to_be_attached()
    recording = laptop.evaluate(
        "async (src) => Array.from(new Uint8Array(await (await fetch(src)).arrayBuffer()))",
        voice.get_attribute("src"),
    )
    expect(laptop.locator("#reach-features")).to_have_count(0)  # panel closed
    laptop.locator("[data-fk=panel]").first.click()
    expect(laptop.locator("#reach-features")).to_contain_text("hebben telefoons alles")

    # The same board on a plain http address of one process: no secure context.
    lan = f"http://{LAN}:{servers[0].port}"
    plain_phone = browser.new_context(**PHONE)
    plain = open_at(plain_phone, lan, board["id"], awa["token"])
    assert plain.evaluate("window.isSecureContext") is False
    plain.locator(".fab").tap()
    expect(plain.locator(".record-btn")).to_have_count(0)
    why = plain.locator("#media-voice-why")
    expect(why).to_contain_text("n’est pas sécurisée (http)")
    expect(plain.get_by_text("Enregistrer avec le téléphone")).to_be_visible()
    assert plain.locator("#media-voice-file").get_attribute("accept") == "audio/*"
    assert plain.locator("#media-voice-file").get_attribute("capture") is not None
    # What the phone's recorder hands back is checked like any voice note: garbage refused...
    junk = tmp_path / "memo.m4a"
    junk.write_bytes(b"not a recording at all" * 10)
    plain.set_input_files("#media-voice-file", str(junk))
    expect(plain.locator(".media-status")).to_have_text(
        "Seuls les enregistrements audio WebM, Ogg ou MP4 sont acceptés."
    )
    # ... a real recording accepted, and it round-trips to the https desktop.
    memo = tmp_path / "memo.webm"
    memo.write_bytes(bytes(recording))
    plain.set_input_files("#media-voice-file", str(memo))
    expect(plain.locator(".media-preview audio.note-voice")).to_be_attached()
    plain.fill("#composer-text", "Par le micro du téléphone")
    shot(plain, "https-plain-http-phone-recorder")
    plain.locator(".composer button[type=submit]").tap()
    expect(laptop.locator(".note", has_text="Par le micro du téléphone")).to_be_visible()
    expect(laptop.locator("audio.note-voice")).to_have_count(2)
    # Offline on plain http: the banner says this page cannot be reopened without network.
    plain_phone.set_offline(True)
    expect(plain.locator(".banners")).to_contain_text("Gardez cette page ouverte")
    shot(plain, "https-plain-http-offline")
    plain_phone.set_offline(False)

    # A facilitator on a plain address (no COBORD_PUBLIC_URL: phones use this one) learns what
    # phones will and will not have there.
    plain_board = cobord_server.api("POST", "/api/boards", {"title": "En http"})
    fac_plain = browser.new_context(**DESKTOP)
    lan_only = f"http://{LAN}:{cobord_server.process.port}"
    panel = open_at(fac_plain, lan_only, plain_board["id"], plain_board["facilitator_token"])
    panel.locator("[data-fk=panel]").first.click()
    features = panel.locator("#reach-features")
    expect(features).to_contain_text("gewone http")
    expect(features).to_contain_text("opnemen in de pagina")
    expect(features).to_contain_text("zonder netwerk")
    shot(panel, "https-plain-http-panel")
    for context in (phone, desktop, plain_phone, fac_plain):
        context.close()
