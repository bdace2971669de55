"""Keyboard: after an action the focus lands on something meaningful, never on <body> (#23):
easy-read on and off, the language changed from the board's top bar (both rebuild the page), the
facilitator panel opened (its heading, kept while its counts refresh) and closed with Escape or ✕
(back on the button that opens it)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import join, new_board, open_board

pytestmark = pytest.mark.browser

FOCUS_KEY = "() => document.activeElement.dataset.fk || document.activeElement.tagName"


def test_focus_stays_meaningful(cobord_server: Any, phone: Any, desktop: Any) -> None:
    board = new_board(cobord_server)
    me = join(cobord_server, board["join_code"], "Amina")
    ph = open_board(phone, cobord_server.base, board["id"], me["token"])

    toggle = ph.get_by_role("button", name="Facile à lire")
    toggle.focus()
    ph.keyboard.press("Enter")
    expect(ph.locator(".steps-strip")).to_be_visible()  # the page was rebuilt in easy-read
    expect(ph.get_by_role("button", name="Facile à lire")).to_be_focused()
    ph.keyboard.press("Enter")
    expect(ph.locator(".steps-strip")).to_have_count(0)
    expect(ph.get_by_role("button", name="Facile à lire")).to_have_attribute(
        "aria-pressed", "false"
    )
    assert ph.evaluate(FOCUS_KEY) == "easy"

    ph.locator(".lang-select").focus()
    ph.keyboard.press("ArrowDown")  # Français -> Nederlands: the page is rebuilt in Dutch
    expect(ph.locator("html")).to_have_attribute("lang", "nl")
    expect(ph.locator(".lang-select")).to_be_focused()
    expect(ph.get_by_role("button", name="Makkelijk lezen")).to_be_visible()

    fac = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    opener = fac.get_by_role("button", name="⚙ Begeleiding")
    opener.focus()
    fac.keyboard.press("Enter")
    expect(fac.locator("#panel-h")).to_be_focused()
    # The participants' list arrives and the panel is drawn again: the focus stays on its heading.
    expect(fac.locator(".panel")).to_contain_text("Amina")
    expect(fac.locator("#panel-h")).to_be_focused()
    shot(fac, "focus-01-panel-open")
    fac.keyboard.press("Escape")
    expect(fac.locator(".panel")).to_be_hidden()
    expect(opener).to_be_focused()
    fac.keyboard.press("Enter")
    expect(fac.locator("#panel-h")).to_be_focused()
    fac.keyboard.press("Tab")  # the ✕
    expect(fac.locator('[data-fk="panel-close"]')).to_be_focused()
    fac.keyboard.press("Enter")
    expect(fac.locator(".panel")).to_be_hidden()
    expect(opener).to_be_focused()
    assert phone.errors == [] and desktop.errors == []
