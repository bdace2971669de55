"""The glossary in the browser (issue #21): a phone in French says "I don't understand"
"leefloon" on a Dutch note; its author, on a desktop, is invited and explains it in Dutch; a
second phone, in English, sees the word marked and reads the explanation in English
(machine-translated through a loopback translator, marked as such); the facilitator sees "1
asked, 1 explained" and puts the word on the projector. Nobody's name or id who flagged reaches
any other screen. Screenshots at 390x844 and 1366x768 in tests/artifacts/glossary-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from crdt import glossary
from tests.browser.conftest import DESKTOP, PHONE, Server, _context, run_axe, shot
from tests.browser.helpers import join, new_board, open_board
from tests.browser.test_moderation import STORE_TOKEN, record_frames

pytestmark = pytest.mark.browser

NOTE = "Mijn leefloon is te laag voor de huur"
EXPLANATION = "Geld van het OCMW om van te leven als je geen werk hebt"


@pytest.fixture
def translating_server(configured_server: Server) -> Server:
    """A server with machine translation through a LibreTranslate-API fake on loopback: the
    package's `configured_server` (started once, not once per test)."""
    return configured_server


def test_a_phone_asks_the_author_explains_another_phone_reads_it(
    translating_server: Server, browser: Any, axe_path: Path
) -> None:
    server = translating_server
    base = server.base
    board = new_board(server)
    code = board["join_code"]
    author = join(server, code, "Lotte", lang="nl")
    awa = join(server, code, "Awa Diallo", lang="fr")
    sam = join(server, code, "Sam Peeters", lang="en")
    contexts = {
        "author": _context(browser, DESKTOP, "author"),
        "fr": _context(browser, PHONE, "fr-phone"),
        "en": _context(browser, {**PHONE, "locale": "en-GB"}, "en-phone"),
        "fac": _context(browser, {**DESKTOP, "locale": "en-GB"}, "facilitator"),
        "projector": _context(browser, {**DESKTOP, "locale": "en-GB"}, "projector"),
    }
    try:
        # The author writes the note on the desktop (so the board knows it is theirs).
        desk = contexts["author"].new_page()
        author_frames = record_frames(desk)  # before its socket opens
        desk.goto(base + "/")
        desk.evaluate(STORE_TOKEN, [board["id"], author["token"]])
        desk.goto(f"{base}/b/{board['id']}")
        desk.wait_for_function("() => window.__cobord && window.__cobord.session.synced")
        desk.locator(".fab").click()
        desk.fill("#composer-text", NOTE)
        desk.locator(".composer button[type=submit]").click()
        expect(desk.locator(".note", has_text="leefloon")).to_be_visible()

        # A phone in French: tap the note, "I don't understand", the word, send.
        fr = open_board(contexts["fr"], base, board["id"], awa["token"])
        fr.locator(".note", has_text="leefloon").locator(".note-open").tap()
        fr.locator("#gloss-ask").tap()
        fr.locator(".gloss-chip[data-word=leefloon]").tap()
        expect(fr.locator(".gloss-chip[data-word=leefloon]")).to_have_attribute(
            "aria-pressed", "true"
        )
        shot(fr, "glossary-01-fr-phone-picks-a-word")
        assert run_axe(fr, axe_path, every_impact=True) == []
        fr.locator("#gloss-send").tap()
        expect(fr.locator(".toast", has_text="anonymement")).to_be_visible()

        # The author is invited first, and explains it in Dutch.
        invite = desk.locator("#gloss-invite")
        expect(invite).to_contain_text("1 persoon vroeg wat “leefloon” betekent")
        shot(desk, "glossary-02-author-invited")
        invite.get_by_role("button").click()
        expect(desk.locator("#gloss-lang")).to_have_value("nl")
        desk.fill("#gloss-text", EXPLANATION)
        desk.fill("#gloss-example", "Ik krijg een leefloon sinds maart")
        shot(desk, "glossary-03-author-explains")
        desk.locator("#gloss-save").click()
        expect(invite).to_be_hidden()

        # A second phone, in English: the word is marked; its sheet gives the explanation in
        # English, machine-translated and marked as such.
        en = open_board(contexts["en"], base, board["id"], sam["token"])
        mark = en.locator(".note .gloss-mark", has_text="leefloon")
        expect(mark).to_be_visible()
        en.locator(".note", has_text="leefloon").locator(".note-open").tap()
        term = en.locator(".gloss-term", has_text="leefloon")
        expect(term.locator(".gloss-explanation")).to_contain_text(f"[en] {EXPLANATION}")
        expect(term.locator(".gloss-explanation")).to_contain_text("(machine translation)")
        expect(term).to_contain_text("1 person asked")
        shot(en, "glossary-04-en-phone-reads-it")
        assert run_axe(en, axe_path, every_impact=True) == []
        en.keyboard.press("Escape")
        # The outline lists the note's words with their explanations (screen readers).
        en.goto(f"{base}/b/{board['id']}?view=outline")
        words = en.locator(".ol-note .gloss-list")
        expect(words.locator("dt")).to_have_text("leefloon")
        expect(words.locator("dd")).to_contain_text(f"[en] {EXPLANATION}")
        shot(en, "glossary-05-en-phone-outline")
        assert run_axe(en, axe_path, every_impact=True) == []
        # The client marks what the server matches: the same words, accents, case and spacing.
        cases = [
            ("leefloon", "Mijn Leefloon is laag"),
            ("épicerie sociale", "l'epicerie   SOCIALE du CPAS"),
            ("CPAS", "Le cpas, enfin"),
            ("CPAS", "CPASSE"),
            ("leef", "leefloon"),
            ("co-design", "Un atelier de co-design."),
            ("à", "a"),
        ]
        found = en.evaluate(
            "async (cases) => { const m = await import('/glossary.js');"
            " return cases.map(([term, text]) => m.findTerm(term, text).length > 0); }",
            cases,
        )
        assert found == [glossary.occurs(term, text) for term, text in cases]

        # The facilitator: "1 asked, 1 explained", and the word on the projector.
        fac = open_board(contexts["fac"], base, board["id"], board["facilitator_token"])
        fac.locator("[data-fk=panel]").click()
        panel = fac.locator("#panel-glossary")
        row = panel.locator("li", has_text="leefloon")
        expect(row).to_contain_text("1 asked, 1 explained")
        expect(panel.locator("#gloss-unexplained")).to_have_text("0 still unexplained")
        panel.evaluate("(e) => e.scrollIntoView()")
        shot(fac, "glossary-06-facilitator-panel")
        row.get_by_role("button", name="On the projector").click()
        pro = contexts["projector"].new_page()
        frag = f"#v={board['viewer_token']}&c={code}"
        pro.goto(f"{base}/b/{board['id']}/present{frag}")
        expect(pro.locator("#present-gloss")).to_have_text("What does “leefloon” mean?")
        expect(pro.locator(".present-gloss-text")).to_contain_text(f"[en] {EXPLANATION}")
        shot(pro, "glossary-07-projector")
        panel = fac.locator("#panel-glossary")
        panel.locator("#gloss-project-stop").click()
        expect(pro.locator("#present-gloss")).to_have_count(0)
        # The printable report has the glossary.
        fac.goto(f"{base}/b/{board['id']}/report")
        section = fac.locator("h2", has_text="Glossary: words that stopped people")
        expect(section).to_be_visible()
        expect(fac.locator("li", has_text="“leefloon” (nl) — 1 person asked")).to_contain_text(
            EXPLANATION
        )
        section.scroll_into_view_if_needed()
        shot(fac, "glossary-08-printable-report")

        # Nobody who flagged is named in what the document brought any other screen (presence,
        # the awareness frames, names who is online: that is not about flags).
        synced = [f for f in author_frames if f[:1] == b"\x00"]
        assert any(b"leefloon" in f for f in synced)  # the check below can see the glossary
        for secret in (awa["participant_id"], "Awa Diallo"):
            assert not any(secret.encode() in f for f in synced), secret
        for name, ctx in contexts.items():
            assert not ctx.errors, (name, ctx.errors)
    finally:
        for ctx in contexts.values():
            ctx.close()
