"""At 1366 px nothing in the bars is clipped: the facilitator's panel button and every other topbar
control lie inside the viewport in each phase, in every language, with a long title and with the
panel open; the replay's "back to the board" button too. Measured as bounding boxes."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import shot
from tests.browser.helpers import new_board, open_board

LONG_TITLE = (
    "Quel avenir pour la place du quartier et ses abords ? Atelier ouvert à toutes et à tous"
)
INSIDE = """(sel) => [...document.querySelectorAll(sel)].filter(e => e.offsetParent !== null)
    .map(e => { const r = e.getBoundingClientRect();
      return {text: e.textContent.trim().slice(0, 30), left: r.left, right: r.right,
              top: r.top, bottom: r.bottom, w: innerWidth, h: innerHeight,
              clippedText: e.scrollWidth > e.clientWidth + 1}; })"""


def _assert_inside(page: Any, selector: str) -> None:
    boxes = page.evaluate(INSIDE, selector)
    assert boxes, selector
    for b in boxes:
        assert b["left"] >= 0 and b["right"] <= b["w"], b
        assert b["top"] >= 0 and b["bottom"] <= b["h"], b
        assert not b["clippedText"], b


def test_topbar_in_every_phase_and_the_replay_back_button_fit_1366(
    cobord_server: Any, desktop: Any
) -> None:
    """One board with a long title, one facilitator page: in each language, the top bar through
    the four phases (panel closed and open); then the replay's header in each language."""
    board = new_board(cobord_server, title=LONG_TITLE)
    page = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    for lang in ("nl", "fr", "en"):
        page.evaluate("(l) => localStorage.setItem('cobord:lang', JSON.stringify(l))", lang)
        page.reload()
        page.wait_for_function("() => window.__cobord && window.__cobord.session.synced")
        assert page.evaluate("innerWidth") == 1366
        for phase in ("ideate", "cluster", "vote", "results"):
            cobord_server.api(
                "POST",
                f"/api/boards/{board['id']}/phase",
                {"phase": phase},
                token=board["facilitator_token"],
            )
            page.wait_for_function("(p) => window.__cobord.session.phase() === p", arg=phase)
            if phase == "results":
                # The results phase opens the results once they are fetched: wait for that switch
                # (its "board" tab), then go back to the board, so no rebuild races the click.
                page.wait_for_function("() => !!document.querySelector('.topbar .tab-canvas')")
                page.locator(".tab-canvas").click()
                page.wait_for_function("() => !!document.querySelector('.topbar .tab-outline')")
            _assert_inside(page, ".topbar button, .topbar .chip, .topbar select")
            page.locator("button[aria-controls=fac-panel]").click()
            _assert_inside(page, ".topbar button, .topbar .chip, .topbar select")
            _assert_inside(page, ".panel-head button")
            page.locator("button[aria-controls=fac-panel]").click()
        shot(page, f"fit-1366-topbar-{lang}")

    # The replay's "back to the board" button.
    for lang in ("nl", "fr", "en"):
        page.evaluate("(l) => localStorage.setItem('cobord:lang', JSON.stringify(l))", lang)
        page.goto(f"{cobord_server.base}/b/{board['id']}/replay")
        back = (
            page.locator("a, button")
            .filter(
                has_text={
                    "nl": "Terug naar het bord",
                    "fr": "Retour au tableau",
                    "en": "Back to the board",
                }[lang]
            )
            .first
        )
        back.wait_for()
        _assert_inside(page, "header a, header button, header select, header .chip")
        shot(page, f"fit-1366-replay-{lang}")
