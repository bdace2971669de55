"""The facilitator's key travels: creating a board shows a private link (copy / e-mail, with a
warning); opening it in a fresh browser restores the facilitator panel. The token rides in the URL
fragment, which browsers never send to the server; the address bar drops it once stored."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, shot


def test_private_link_restores_the_panel(cobord_server: Any, browser: Any, desktop: Any) -> None:
    page = desktop.new_page()
    page.goto(cobord_server.base + "/")
    board_id, _code = create_board_in_ui_keeping_sheet(page, cobord_server.base)
    sheet = page.locator("dialog.sheet")
    expect(sheet).to_contain_text("Houd deze link voor uzelf")
    link = page.locator("#faclink-url").input_value()
    shot(page, "faclink-01-on-creation")
    token = page.evaluate(f"JSON.parse(localStorage.getItem('cobord:token:{board_id}'))")
    assert link == f"{cobord_server.base}/b/{board_id}#k={token}"
    mail = page.locator("#faclink-mail").get_attribute("href") or ""
    assert mail.startswith("mailto:?subject=") and token in unquote(mail)
    page.locator("#faclink-kept").click()
    expect(sheet).to_have_count(0)
    # The panel offers the same link later.
    expect(page.locator("#p-faclink-url")).to_have_value(link)

    other = browser.new_context(**DESKTOP)
    try:
        fresh = other.new_page()
        fresh.goto(link)
        expect(fresh.locator("button[aria-controls=fac-panel]")).to_be_visible()
        fresh.locator("button[aria-controls=fac-panel]").click()
        expect(fresh.locator("#fac-panel button[data-fk='ph:vote']")).to_be_visible()
        assert fresh.url == f"{cobord_server.base}/b/{board_id}"  # the fragment is gone
        stored = fresh.evaluate(f"JSON.parse(localStorage.getItem('cobord:token:{board_id}'))")
        assert stored == token
        shot(fresh, "faclink-02-fresh-browser-panel")
        # A reload (no fragment any more) keeps the panel: the token is in localStorage.
        fresh.reload()
        expect(fresh.locator("button[aria-controls=fac-panel]")).to_be_visible()
    finally:
        other.close()
    # The link's fragment never reaches the server. (The WebSocket URL still carries the token as
    # ?token=, which uvicorn logs: that is the socket's own authentication, not this link.)
    log = cobord_server.process.log_path.read_text()
    assert f"k={token}" not in log


def create_board_in_ui_keeping_sheet(page: Any, base: str) -> tuple[str, str]:
    page.fill("input[name=title]", "Buurtplein")
    page.fill("textarea[name=groups]", "Bewoner\nOnderzoeker")
    page.click("form:has(input[name=title]) button[type=submit]")
    expect(page.locator("#faclink-url")).to_be_visible()
    board_id = page.url.rsplit("/", 1)[1]
    code = page.evaluate(f"JSON.parse(localStorage.getItem('cobord:code:{board_id}'))")
    return board_id, str(code)
