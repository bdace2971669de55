"""Long and short notes: the composer shows the limit and a counter while typing (and says how much
is too much instead of cutting); a card shows a short note whole and its author line uncut; a long
note ends in "…" on its card and a tap opens it in full."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import join, new_board, open_board

# Five lines on a 200 px card (the old cards cut it after four).
SHORT = "Des bancs à l’ombre près de l’école, pour que les parents attendent au frais le soir."
LONG = (
    "Un potager partagé derrière la salle des fêtes, avec des bacs à hauteur de fauteuil, "
    "un composteur, une réserve d’eau de pluie et un tableau pour s’organiser entre voisins "
    "et voisines ; les écoles du quartier pourraient y venir le mardi et le jeudi matin."
)

CARD = """(text) => {
    const el = [...document.querySelectorAll('.note')]
      .find(e => e.textContent.includes(text.slice(0, 20)));
    const span = el.querySelector('.note-open > span');
    const who = el.querySelector('.note-meta .who');
    const card = el.getBoundingClientRect();
    const meta = el.querySelector('.note-meta').getBoundingClientRect();
    return {textH: span.scrollHeight, boxH: span.clientHeight, who: who.textContent,
            whoScroll: who.scrollWidth, whoW: who.clientWidth,
            metaBottom: meta.bottom, cardBottom: card.bottom,
            lines: Math.round(span.clientHeight / parseFloat(getComputedStyle(span).lineHeight))};
}"""


def test_composer_counts_and_never_cuts_then_cards_show_short_notes_whole_and_open_long_ones(
    cobord_server: Any, phone: Any, desktop: Any
) -> None:
    board = new_board(cobord_server)
    page = open_board(
        phone,
        cobord_server.base,
        board["id"],
        join(cobord_server, board["join_code"], "Amina")["token"],
    )
    page.locator(".fab").tap()
    field = page.locator("#composer-text")
    count = page.locator("#composer-count")
    expect(count).to_have_text("280 caractères restants (sur 280)")
    field.fill("Des bancs")
    expect(count).to_have_text("271 caractères restants (sur 280)")
    too_long = LONG + " Et des fleurs partout, surtout des tournesols !"
    assert len(too_long) > 280
    field.fill(too_long)  # pasted: kept whole, not cut at 280 mid-sentence
    assert field.input_value() == too_long
    over = len(too_long) - 280
    expect(count).to_have_text(
        f"{over} caractères de trop : une note compte au plus 280 caractères."
    )
    assert field.get_attribute("aria-invalid") == "true"
    shot(page, "cards-composer-over-limit")
    page.locator(".composer button[type=submit]").tap()
    expect(field).to_be_visible()  # refused, the text is still there to shorten
    assert page.evaluate("() => window.__cobord.session.noteList().length") == 0
    field.fill(LONG)
    page.locator(".composer button[type=submit]").tap()
    expect(field).to_have_count(0)
    assert page.evaluate("() => window.__cobord.session.noteList()[0].text") == LONG

    # Cards: Bram's short note whole with its author line uncut; Amina's long note cut on its
    # card and whole once opened.
    bram = join(cobord_server, board["join_code"], "Bram", lang="nl")
    other = open_board(desktop, cobord_server.base, board["id"], bram["token"])
    other.evaluate(
        "(t) => window.__cobord.postNote({text: t, color: 'blue', lang: 'fr', cluster: ''})", SHORT
    )
    page.wait_for_function("() => window.__cobord.session.noteList().length === 2")
    page.locator(".tool-text", has_text="Tout voir").tap()
    expect(page.locator(".note", has_text="Des bancs")).to_be_visible()
    short = page.evaluate(CARD, SHORT)
    assert short["lines"] >= 5 and short["textH"] >= 5 * 20, short  # five lines, all shown
    assert short["textH"] <= short["boxH"] + 1, short  # the whole short note is on its card
    assert short["who"] == "par Bram", short
    assert short["whoScroll"] <= short["whoW"] + 1, short  # the author line is not cut
    assert short["metaBottom"] <= short["cardBottom"] + 1, short
    long = page.evaluate(CARD, LONG)
    assert long["who"] == "par vous", long
    assert long["textH"] > long["boxH"], long  # cut on the card ("…")...
    shot(page, "cards-phone-short-and-long")
    page.locator(".note-open", has_text="Un potager").tap()
    preview = page.locator("dialog.sheet .note-preview > p[lang]")
    expect(preview).to_have_text(LONG)  # ...and whole once opened
    assert preview.evaluate("e => e.scrollHeight <= e.clientHeight + 1")
    box = preview.bounding_box()
    assert box is not None and box["width"] <= 390
    shot(page, "cards-phone-long-note-opened")
