"""Phones must reach the board: with COBORD_PUBLIC_URL the QR code and links use it; without it,
on a loopback address, the facilitator is told which LAN address to open and how to start it."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PUBLIC_URL, Server
from tests.browser.helpers import new_board, open_board

PUBLIC = PUBLIC_URL


def test_loopback_without_public_url_explains(cobord_server: Any, desktop: Any) -> None:
    cfg = cobord_server.api("GET", "/api/client-config")
    assert (
        cfg["public_url"] is None
        and cfg["loopback_only"] is True
        and cfg["bound_host"] == "127.0.0.1"
    )
    board = new_board(cobord_server)
    page = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    page.locator("button[aria-controls=fac-panel]").click()
    hint = page.locator("#reach-hint")
    expect(hint).to_contain_text("Telefoons kunnen dit bord nog niet openen")
    expect(hint).to_contain_text("cobord serve --host 0.0.0.0")
    expect(hint).to_contain_text("COBORD_PUBLIC_URL")
    port = cobord_server.base.rsplit(":", 1)[1]
    for address in cfg["lan_addresses"]:
        expect(hint).to_contain_text(f"http://{address}:{port}")
    expect(page.locator("#fac-panel .join-link")).to_have_text(
        f"{cobord_server.base}/j/{board['join_code']}"
    )


def test_public_url_for_links_and_qr(configured_server: Server, browser: Any) -> None:
    public_server = configured_server
    cfg = public_server.api("GET", "/api/client-config")
    assert cfg["public_url"] == PUBLIC
    board = new_board(public_server)
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-GB")
    try:
        page = open_board(ctx, public_server.base, board["id"], board["facilitator_token"])
        page.locator("button[aria-controls=fac-panel]").click()
        expect(page.locator("#fac-panel .join-link")).to_have_text(
            f"{PUBLIC}/j/{board['join_code']}"
        )
        expect(page.locator("#fac-panel .qr")).to_have_attribute(
            "aria-label", f"QR code to {PUBLIC}/j/{board['join_code']}"
        )
        expect(page.locator("#p-faclink-url")).to_have_value(
            f"{PUBLIC}/b/{board['id']}#k={board['facilitator_token']}"
        )
        expect(page.locator("#reach-hint")).to_have_count(0)
        present = ctx.new_page()
        present.goto(f"{public_server.base}/b/{board['id']}/present")
        expect(present.locator(".present-host")).to_contain_text("atelier.example.org")
    finally:
        ctx.close()
