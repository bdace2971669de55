"""axe-core finds no violation of ANY impact (minor and moderate included, best practices too) on
every page state a workshop goes through (#23), on a 390 x 844 phone and a 1366 x 768 laptop:
home, join (and join with a message), the board in each phase (ideas, cluster, vote, results) on
both, a note's sheet, the composer, the list view (ideas and vote), the vote list, the results
(phone, easy-read, projector), the projector in each phase, the facilitator panel (ideas with its
privacy section, vote), the replay, the report, 200 % zoom and forced colours.

All states are visited before the one assertion, so a failure lists every state that fails (not
only the first).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, _context, run_axe, shot
from tests.browser.helpers import join, open_board
from tests.browser.test_every_voice import french_board

pytestmark = pytest.mark.browser


# Controls whose words do not fit their box (text drawn over the border, or cut), and anything
# wider than the screen (the page scrolls sideways).
SPILLED = """() => {
  const out = [];
  for (const el of document.querySelectorAll('button, a, select, .chip, label, h1, h2, h3')) {
    const r = el.getBoundingClientRect();
    if (!r.width || getComputedStyle(el).visibility === 'hidden') continue;
    // (the canvas is left out: a board is larger than a screen)
    if (el.closest('.sr-only, .viewport, .map-drawing')) continue;
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible')
      out.push('spills: ' + el.tagName + '.' + el.className + ' '
               + (el.textContent || '').trim().slice(0, 30));
  }
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth + 1) out.push('scrolls sideways: ' + page.scrollWidth);
  return out;
}"""


class Audit:
    """Runs axe on a page state and keeps what it found, by state."""

    def __init__(self, axe: Path) -> None:
        self.axe = axe
        self.found: dict[str, list[dict[str, Any]]] = {}
        self.spilled: dict[str, list[str]] = {}
        self.states: list[str] = []

    def __call__(self, page: Any, where: str, ready: Callable[[], None] | None = None) -> None:
        if ready:
            ready()
        self.states.append(where)
        violations = run_axe(page, self.axe, every_impact=True)
        if violations:
            self.found[where] = violations
        spilled = page.evaluate(SPILLED)
        if spilled:
            self.spilled[where] = spilled
        shot(page, "axe-" + "".join(c if c.isalnum() else "-" for c in where).strip("-"))


def phase(server: Any, board: dict[str, Any], name: str) -> None:
    server.api(
        "POST",
        f"/api/boards/{board['id']}/phase",
        {"phase": name},
        token=board["facilitator_token"],
    )


def test_every_page_state_has_no_axe_violation(
    cobord_server: Any, browser: Any, phone: Any, desktop: Any, axe_path: Path
) -> None:
    server = cobord_server
    audit = Audit(axe_path)
    board, awa = french_board(server)
    bid = board["id"]
    fac_token = board["facilitator_token"]

    # --- Home and join (phone), the join page with a message.
    page = phone.new_page()
    page.goto(server.base + "/")
    audit(page, "home (phone)", lambda: expect(page.locator("input[name=title]")).to_be_visible())
    page.goto(f"{server.base}/j/{board['join_code']}")
    audit(page, "join (phone)", lambda: expect(page.locator("input[name=name]")).to_be_visible())
    page.locator("button[type=submit]").click()
    audit(
        page, "join with a message", lambda: expect(page.locator(".form-error")).not_to_be_empty()
    )
    # Joining closed by the facilitator: the page says so (it said "Something went wrong").
    settings = f"/api/boards/{bid}/settings"
    server.api("PATCH", settings, {"joining_open": False}, token=fac_token)
    page.locator("input[name=name]").fill("Noor")
    page.get_by_role("radio", name="Bewoner").check()
    page.locator("button[type=submit]").click()
    closed = "L’animation a fermé les inscriptions à ce tableau. Demandez de les rouvrir."
    audit(
        page,
        "join refused: joining closed",
        lambda: expect(page.locator(".form-error")).to_have_text(closed),
    )
    server.api("PATCH", settings, {"joining_open": True}, token=fac_token)

    # --- Ideas phase: canvas on both, the composer, a note's sheet, the list view.
    ph = open_board(phone, server.base, bid, awa["token"])
    audit(ph, "ideas: canvas (phone)", lambda: expect(ph.locator(".note")).to_have_count(3))
    ph.locator(".fab").click()
    audit(
        ph, "ideas: composer (phone)", lambda: expect(ph.locator("#composer-text")).to_be_visible()
    )
    ph.keyboard.press("Escape")
    expect(ph.locator("dialog.sheet")).to_have_count(0)
    ph.locator('.note[data-id="t1"] .note-open').click()
    audit(
        ph, "ideas: note sheet (phone)", lambda: expect(ph.locator("dialog.sheet")).to_be_visible()
    )
    ph.keyboard.press("Escape")
    expect(ph.locator("dialog.sheet")).to_have_count(0)
    ph.locator('.note[data-id="v1"] .note-open').click()
    audit(
        ph,
        "ideas: voice note sheet (phone)",
        lambda: expect(ph.locator("dialog.sheet")).to_be_visible(),
    )
    ph.keyboard.press("Escape")
    ph.goto(f"{server.base}/b/{bid}?view=outline")
    audit(ph, "ideas: list view (phone)", lambda: expect(ph.locator(".ol-note")).to_have_count(3))

    fac = open_board(desktop, server.base, bid, fac_token)
    audit(fac, "ideas: canvas (desktop)", lambda: expect(fac.locator(".note")).to_have_count(3))
    fac.get_by_role("button", name="⚙ Begeleiding").click()
    audit(fac, "panel (desktop)", lambda: expect(fac.locator(".panel")).to_be_visible())
    privacy = fac.locator(".panel section", has=fac.locator("#privacy-h, h3")).last
    privacy.scroll_into_view_if_needed()
    audit(fac, "panel scrolled to privacy (desktop)")
    fac.get_by_role("button", name="⚙ Begeleiding").click()
    proj = desktop.new_page()
    proj.goto(f"{server.base}/b/{bid}/present#v={board['viewer_token']}")
    audit(proj, "projector: ideas", lambda: expect(proj.locator("#present-code")).to_be_visible())

    # --- Cluster phase.
    phase(server, board, "cluster")
    ph.goto(f"{server.base}/b/{bid}")
    audit(ph, "cluster: canvas (phone)", lambda: expect(ph.locator(".cluster")).to_have_count(1))
    audit(
        fac, "cluster: canvas (desktop)", lambda: expect(fac.locator(".cluster")).to_have_count(1)
    )

    # --- Vote phase: the phone's vote list, the laptop's canvas with dots, easy-read.
    phase(server, board, "vote")
    audit(ph, "vote: vote list (phone)", lambda: expect(ph.locator(".vote-item")).to_have_count(3))
    ph.locator('.vote-item[data-id="t1"] .vote-add').click()
    audit(
        ph,
        "vote: a dot given (phone)",
        lambda: expect(ph.locator('.vote-item[data-id="t1"] .my-dots')).not_to_be_empty(),
    )
    ph.get_by_role("button", name="Facile à lire").click()
    audit(ph, "vote: easy-read (phone)", lambda: expect(ph.locator(".steps-strip")).to_be_visible())
    ph.get_by_role("button", name="Facile à lire").click()
    audit(
        fac,
        "vote: canvas (desktop)",
        lambda: expect(fac.locator(".note .votes").first).to_be_visible(),
    )
    # (test_accessibility audited these three, serious and critical only, on a board of its own.)
    fac.get_by_role("button", name="⚙ Begeleiding").click()
    audit(fac, "vote: panel (desktop)", lambda: expect(fac.locator(".panel")).to_be_visible())
    fac.get_by_role("button", name="⚙ Begeleiding").click()
    audit(
        proj,
        "projector: vote",
        lambda: expect(proj.locator(".present-phase")).to_have_text("Stemmen"),
    )
    ph.goto(f"{server.base}/b/{bid}?view=outline")
    audit(ph, "vote: list view (phone)", lambda: expect(ph.locator(".ol-note")).to_have_count(3))
    ph.goto(f"{server.base}/b/{bid}")
    expect(ph.locator(".vote-item")).to_have_count(3)

    # --- Reveal, results: phone, easy-read, projector, replay, report.
    server.api(
        "PATCH", f"/api/boards/{bid}/settings", {"votes_visibility": "revealed"}, token=fac_token
    )
    phase(server, board, "results")
    audit(ph, "results (phone)", lambda: expect(ph.locator(".res-item").first).to_be_visible())
    ph.get_by_role("button", name="Facile à lire").click()
    audit(
        ph,
        "results: easy-read (phone)",
        lambda: expect(ph.locator(".plain-results")).to_be_visible(),
    )
    ph.get_by_role("button", name="Facile à lire").click()
    audit(fac, "results (desktop)", lambda: expect(fac.locator(".res-item").first).to_be_visible())

    audit(
        proj,
        "projector: results",
        lambda: expect(proj.locator(".present-stage .res-item").first).to_be_visible(),
    )
    rep = desktop.new_page()
    rep.goto(f"{server.base}/b/{bid}/replay")
    audit(rep, "replay (desktop)", lambda: expect(rep.locator("#replay-range")).to_be_visible())
    rep.goto(f"{server.base}/b/{bid}/report")
    audit(rep, "report (desktop)", lambda: expect(rep.locator("h1")).to_be_visible())

    # --- 200 % zoom on the phone (195 x 422 CSS px) and forced colours.
    zoomed = _context(
        browser,
        {**PHONE, "viewport": {"width": 195, "height": 422}, "device_scale_factor": 4},
        "zoom",
    )
    forced = _context(browser, {**PHONE, "forced_colors": "active"}, "forced")
    try:
        z = zoomed.new_page()
        z.goto(f"{server.base}/j/{board['join_code']}")
        audit(z, "join (200 %)", lambda: expect(z.locator("input[name=name]")).to_be_visible())
        lien = join(server, board["join_code"], "Lien", group="Bewoner", lang="fr")
        z = open_board(zoomed, server.base, bid, lien["token"])
        audit(z, "results (200 %)", lambda: expect(z.locator(".res-item").first).to_be_visible())
        z.locator(".tab-canvas").click()
        audit(z, "canvas in results (200 %)", lambda: expect(z.locator(".note")).to_have_count(3))
        # The top bar scrolls away above the canvas: its tools and map are then on screen whole.
        z.evaluate("() => document.querySelector('.board-app').scrollTo(0, 1e6)")
        for part in (".canvas-tools", ".viewport"):
            box = z.locator(part).bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= 422 + 1, (part, box)
        shot(z, "axe-canvas-in-results--200--scrolled")
        z.goto(f"{server.base}/b/{bid}?view=outline")
        audit(z, "list view (200 %)", lambda: expect(z.locator(".ol-note")).to_have_count(3))
        f = open_board(forced, server.base, bid, lien["token"], "?view=outline")
        audit(
            f, "list view (forced colours)", lambda: expect(f.locator(".ol-note")).to_have_count(3)
        )
        f.goto(f"{server.base}/b/{bid}?view=results")
        audit(
            f,
            "results (forced colours)",
            lambda: expect(f.locator(".res-item").first).to_be_visible(),
        )
    finally:
        zoomed.close()
        forced.close()

    assert audit.found == {}, "\n".join(f"{k}: {v}" for k, v in audit.found.items())
    assert audit.spilled == {}, audit.spilled
    assert len(audit.states) == 34, audit.states
    assert phone.errors == [] and desktop.errors == []
