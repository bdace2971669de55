"""A phone's canvas is read at 16 px and every note can be found and reached (#23, UX.md "a phone
shows a readable slice, >= 16 px text"): on a 390 x 844 phone a wide board opens at its top left
corner with note text drawn at 16 px (it was 14 px) and listen buttons of 44 x 44 px (they were
38 px); an overview map says how many ideas are on screen and shows where the rest is; a tap on
the map goes there; Tab brings every note on screen; "see all" shows everything and hides the
buttons too small to hit. On a laptop a listen button is hidden rather than drawn under 24 px."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_axe, shot
from tests.browser.helpers import join, new_board, open_board
from tests.browser.test_accessibility import tab_to

pytestmark = pytest.mark.browser

NOTES = 8  # two rows of the five-column grid: wider than a phone at readable size

ADD_NOTES = """(n) => { const s = window.__cobord.session;
  s.batch(() => { for (let i = 0; i < n; i++) s.addNote('p' + i, {text: 'Idée numéro ' + i,
    x: (i % 5) * 220, y: Math.floor(i / 5) * 170, color: 'green', cluster: '', lang: 'fr',
    createdAt: Date.now() + i}); }); }"""

# Ids of the notes wholly inside the viewport, measured on the page (not from the app's state).
WHOLE_ON_SCREEN = """() => { const v = document.querySelector('.viewport').getBoundingClientRect();
  return [...document.querySelectorAll('.note')].filter(n => { const r = n.getBoundingClientRect();
    return r.left >= v.left - 1 && r.right <= v.right + 1 && r.top >= v.top - 1
        && r.bottom <= v.bottom + 1; }).map(n => n.dataset.id).sort(); }"""

TEXT_PX = """() => Math.min(...[...document.querySelectorAll('.note-open')].map(e =>
  parseFloat(getComputedStyle(e).fontSize) * e.getBoundingClientRect().width / e.offsetWidth))"""

LISTEN_BOXES = """() => [...document.querySelectorAll('.note .listen-btn')]
  .map(b => b.getBoundingClientRect()).filter(r => r.width > 0)
  .map(r => [Math.round(r.width * 10) / 10, Math.round(r.height * 10) / 10])"""


def whole(page: Any) -> list[str]:
    return list(page.evaluate(WHOLE_ON_SCREEN))


def on_screen_words(n: int) -> str:
    return f"{n} idée sur {NOTES} à l’écran" if n <= 1 else f"{n} idées sur {NOTES} à l’écran"


def test_phone_reads_at_16px_and_reaches_every_note(
    cobord_server: Any, phone: Any, desktop: Any, axe_path: Any
) -> None:
    board = new_board(cobord_server)
    amina = join(cobord_server, board["join_code"], "Amina")
    writer = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    writer.evaluate(ADD_NOTES, NOTES)
    ph = open_board(phone, cobord_server.base, board["id"], amina["token"])
    expect(ph.locator(".note")).to_have_count(NOTES)

    # As opened: the text as drawn (font size x the canvas's scale) is 16 px, the listen buttons
    # are 44 x 44, and the board starts at its top left corner (the first note is whole).
    assert ph.evaluate(TEXT_PX) >= 16, ph.evaluate(TEXT_PX)
    boxes = ph.evaluate(LISTEN_BOXES)
    assert boxes and all(w >= 44 and h >= 44 for w, h in boxes), boxes
    on_screen = whole(ph)
    assert "p0" in on_screen and len(on_screen) < NOTES, on_screen

    # The map says how many ideas are on screen, counted as the reader sees them.
    the_map = ph.locator(".canvas-map")
    expect(the_map).to_be_visible()
    expect(the_map.locator(".map-count")).to_have_text(on_screen_words(len(on_screen)))
    shot(ph, "phone-canvas-1-opened")
    found = run_axe(ph, axe_path, every_impact=True)
    assert found == [], found

    # A tap on the map where the last note of the first row is (top right) brings it on screen.
    assert "p4" not in on_screen
    box = ph.locator(".map-drawing").bounding_box()
    assert box is not None
    # Board: 5 columns of 220 px (the last card ends at 1080), 2 rows of 170; p4 is top right.
    ph.locator(".map-drawing").tap(position={"x": box["width"] * 0.9, "y": box["height"] * 0.2})
    ph.wait_for_function(f"() => ({WHOLE_ON_SCREEN})().includes('p4')")
    expect(the_map.locator(".map-count")).to_have_text(on_screen_words(len(whole(ph))))
    assert ph.evaluate(TEXT_PX) >= 16
    shot(ph, "phone-canvas-2-after-map-tap")

    # Tab reaches every note, and each one focused is brought on screen (not left off it).
    for i in range(NOTES):
        tab_to(ph, f'.note[data-id="p{i}"] .note-open')
        ph.wait_for_function(f"() => ({WHOLE_ON_SCREEN})().includes('p{i}')")
    assert ph.evaluate("document.querySelector('.viewport').scrollLeft") == 0
    shot(ph, "phone-canvas-3-tabbed-to-last")

    # "See all": everything on screen, the map goes (nothing to find), and the listen buttons,
    # too small to hit at that size, are hidden (the note's sheet has one).
    ph.get_by_role("button", name="Tout voir").tap()
    ph.wait_for_function(f"() => ({WHOLE_ON_SCREEN})().length === {NOTES}")
    expect(the_map).to_be_hidden()
    assert ph.evaluate(LISTEN_BOXES) == []
    shot(ph, "phone-canvas-4-see-all")

    # A laptop: a listen button shown on a card is at least 24 x 24 (WCAG 2.5.8), else hidden.
    writer.get_by_role("button", name="Alles tonen").click()
    for _ in range(6):
        boxes = writer.evaluate(LISTEN_BOXES)
        assert all(w >= 24 and h >= 24 for w, h in boxes), boxes
        writer.get_by_role("button", name="Uitzoomen").click()
    assert writer.evaluate(LISTEN_BOXES) == []  # zoomed far out: hidden
    assert phone.errors == [] and desktop.errors == []
