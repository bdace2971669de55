"""Voting on a phone: the vote phase opens on a list of ideas with "+ / −" buttons of at least 44x44
px, note text of at least 14 px, "2 of 3 dots left", and "no dots left: remove one to move it" when
the dots run out; on the canvas, the board opens at readable text on a touch screen and "see all"
shows every note."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import join, new_board, open_board

SIZES = """() => {
    const btns = [...document.querySelectorAll('.vote-btn')].map(b => b.getBoundingClientRect());
    const texts = [...document.querySelectorAll('.vote-text')]
      .map(e => parseFloat(getComputedStyle(e).fontSize));
    return {n: btns.length, minW: Math.min(...btns.map(r => r.width)),
            minH: Math.min(...btns.map(r => r.height)), minFont: Math.min(...texts),
            scrollW: document.scrollingElement.scrollWidth, innerW: innerWidth};
}"""


def _board_with_notes(server: Any, desktop: Any, n: int) -> tuple[dict[str, Any], Any]:
    board = new_board(server)
    fac = open_board(desktop, server.base, board["id"], board["facilitator_token"])
    fac.evaluate(
        """(n) => {
            const s = window.__cobord.session;
            for (let i = 0; i < n; i++)
              s.addNote(`n${i}`, {text: `Idée ${i + 1} : un banc de plus`, x: (i % 6) * 220,
                y: Math.floor(i / 6) * 170, color: 'yellow', cluster: '', lang: 'fr',
                createdAt: Date.now() + i});
        }""",
        n,
    )
    return board, fac


def test_phone_canvas_keeps_text_readable_then_votes_from_a_list(
    cobord_server: Any, phone: Any, desktop: Any
) -> None:
    """One board of 30 notes: the phone's canvas in the ideas phase, then the vote phase opened on
    the phone (a page opened in that phase)."""
    board, _fac = _board_with_notes(cobord_server, desktop, 30)
    amina = join(cobord_server, board["join_code"], "Amina")
    ph = open_board(phone, cobord_server.base, board["id"], amina["token"])
    expect(ph.locator(".note")).to_have_count(30)
    font_js = """() => {
            const e = document.querySelector('.note-open');
            return parseFloat(getComputedStyle(e).fontSize) * window.__cobord.canvas.view.s;
        }"""
    font = ph.evaluate(font_js)  # as opened: readable (16 px as drawn, UX.md)
    assert font >= 16, font
    ph.get_by_role("button", name="Tout voir").click()
    # Asked for, "see all" shows all 30 (it stopped at readable text and hid most of them).
    ph.wait_for_function(
        """() => { const v = document.querySelector('.viewport').getBoundingClientRect();
             return [...document.querySelectorAll('.note')].filter(n => {
               const r = n.getBoundingClientRect();
               return r.left >= v.left - 1 && r.right <= v.right + 1
                   && r.top >= v.top - 1 && r.bottom <= v.bottom + 1; }).length === 30; }"""
    )
    shot(ph, "vote-phone-canvas-fit-all")
    ph.close()

    tok = board["facilitator_token"]
    cobord_server.api("POST", f"/api/boards/{board['id']}/phase", {"phase": "vote"}, token=tok)
    ph = open_board(phone, cobord_server.base, board["id"], amina["token"])
    expect(ph.locator(".vote-item")).to_have_count(30)
    status = ph.locator("#votes-status")
    expect(status).to_have_text("3 sur 3 gommettes restantes")
    m = ph.evaluate(SIZES)
    shot(ph, "vote-phone-list")
    assert m["n"] == 60, m
    assert m["minW"] >= 44 and m["minH"] >= 44, m
    assert m["minFont"] >= 14, m
    assert m["scrollW"] <= m["innerW"], m
    first = ph.locator(".vote-item", has_text="Idée 1 :")
    first.locator(".vote-add").tap()
    expect(status).to_have_text("2 sur 3 gommettes restantes")
    first.locator(".vote-add").tap()
    ph.locator(".vote-item", has_text="Idée 2 :").locator(".vote-add").tap()
    expect(status).to_contain_text("0 sur 3 gommettes restantes")
    expect(status).to_contain_text("Plus de gommettes : retirez-en une pour la déplacer.")
    # The + button is not greyed out: tapping it says why nothing happens (and sends nothing).
    third = ph.locator(".vote-item", has_text="Idée 3 :").locator(".vote-add")
    expect(third).to_be_enabled()
    third.tap()
    expect(ph.locator(".toast").last).to_contain_text("Plus de gommettes")
    shot(ph, "vote-phone-no-dots-left")
    mine = cobord_server.api("GET", f"/api/boards/{board['id']}/votes/mine", token=amina["token"])
    assert mine["remaining"] == 0 and mine["votes"] == {"n0": 2, "n1": 1}, mine
    # Taking one back frees it.
    first.locator(".vote-remove").tap()
    expect(status).to_have_text("1 sur 3 gommettes restantes")
