"""New notes take free places in a grid: 20 notes posted from two phones at once never overlap and
fill rows (not one column per phone)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, shot
from tests.browser.helpers import join, new_board, open_board

NO_OVERLAP = """() => {
    const ns = window.__cobord.session.noteList();
    for (const a of ns) for (const b of ns)
      if (a.id < b.id && Math.abs(a.x - b.x) < 200 && Math.abs(a.y - b.y) < 150) return false;
    return ns.length === 20;
}"""


def _post(page: Any, text: str) -> None:
    page.locator(".fab").tap()
    page.fill("#composer-text", text)
    page.locator(".composer button[type=submit]").tap()
    expect(page.locator("#composer-text")).to_have_count(0)


def test_twenty_notes_from_phones_do_not_overlap(
    cobord_server: Any, browser: Any, phone: Any, desktop: Any
) -> None:
    board = new_board(cobord_server)
    fac = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    other = browser.new_context(**{**PHONE, "locale": "nl-BE"})
    try:
        a = open_board(
            phone,
            cobord_server.base,
            board["id"],
            join(cobord_server, board["join_code"], "Amina")["token"],
        )
        b = open_board(
            other,
            cobord_server.base,
            board["id"],
            join(cobord_server, board["join_code"], "Bram", lang="nl")["token"],
        )
        for i in range(10):  # interleaved: each phone posts before it has seen the other's note
            _post(a, f"Amina {i}")
            _post(b, f"Bram {i}")
        fac.wait_for_function(NO_OVERLAP)
        for page in (a, b):
            page.wait_for_function(NO_OVERLAP)
        notes = fac.evaluate("() => window.__cobord.session.noteList().map(n => [n.x, n.y])")
        columns = {x for x, _ in notes}
        assert len(columns) >= 4, sorted(columns)  # rows of a grid, not a column
        assert all(x % 220 == 0 and y % 170 == 0 for x, y in notes), notes  # grid cells
        fac.get_by_role("button", name="Alles tonen").click()
        shot(fac, "placement-20-notes-desktop")
    finally:
        other.close()
