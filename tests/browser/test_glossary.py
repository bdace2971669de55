"""The glossary in the browser (issue #21): a phone in French says "I don't understand"
"leefloon" and the whole (long) note on a Dutch note; its author, on a desktop, is told both,
explains the word in Dutch (with an example) and, clicking the marked word, reads it in a bubble;
a second phone, in English, taps the marked word and reads the explanation and its example in
English right there (machine-translated through a loopback translator, marked as such), reaches
the same bubble from the keyboard in the outline, and hears the explanation read after the note;
the facilitator sees "1 asked, 1 explained", the note nobody understood, and puts the word on the
projector. Nobody's name or id who flagged reaches any other screen. A second, short flow: a voice
note and a photo without caption (no words to pick) are flagged as a whole with one tap, from the
note's sheet and from the list view's keyboard; their author and the facilitator are told.
Screenshots at 390x844 and 1366x768 in tests/artifacts/glossary-*.png."""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from crdt import glossary
from tests.browser.conftest import DESKTOP, PHONE, Server, _context, run_axe, shot
from tests.browser.helpers import join, new_board, open_board
from tests.browser.test_moderation import STORE_TOKEN, record_frames
from tests.test_media import ogg_opus
from tests.yclient import YClient, add_note

pytestmark = pytest.mark.browser

# Longer than a term's 60 characters: "the whole note" is a note-level flag, whatever its length.
NOTE = "Mijn leefloon is te laag voor de huur en de energiefactuur van deze winter"
EXPLANATION = "Geld van het OCMW om van te leven als je geen werk hebt"
EXAMPLE = "Ik krijg een leefloon sinds maart"
# A stand-in for the browser's speech synthesizer (headless Chromium has no voices): it records
# every utterance with its language, in order.
SPEECH_STUB = """
window.__spoken = [];
Object.defineProperty(window, "speechSynthesis", { configurable: true, value: {
  speaking: false, pending: false, paused: false,
  speak(u) { window.__spoken.push([u.text, u.lang]); },
  cancel() {}, getVoices() { return []; }, pause() {}, resume() {},
  addEventListener() {}, removeEventListener() {},
} });
"""


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
        assert len(NOTE) > glossary.MAX_TERM_CHARS
        fr.locator("#gloss-whole").check()
        shot(fr, "glossary-01-fr-phone-picks-a-word")
        assert run_axe(fr, axe_path, every_impact=True) == []
        fr.locator("#gloss-send").tap()
        expect(fr.locator(".toast", has_text="anonymement")).to_be_visible()

        # The author is invited first, and explains it in Dutch.
        invite = desk.locator("#gloss-invite")
        expect(invite).to_contain_text("1 persoon vroeg wat “leefloon” betekent")
        expect(invite.locator(".gloss-note-invite > span")).to_have_text(
            f"1 persoon begreep je notitie “{NOTE[:47]}…” niet"
        )
        shot(desk, "glossary-02-author-invited")
        invite.get_by_role("button", name="Uitleggen").click()
        expect(desk.locator("#gloss-lang")).to_have_value("nl")
        desk.fill("#gloss-text", EXPLANATION)
        desk.fill("#gloss-example", EXAMPLE)
        shot(desk, "glossary-03-author-explains")
        desk.locator("#gloss-save").click()
        expect(invite.locator("li[data-term-id]")).to_have_count(0)
        expect(invite.locator(".gloss-note-invite")).to_be_visible()  # the note stays unclear
        # "See the note": its sheet tells the author too (where they may say it in other words).
        invite.locator(".gloss-note-invite").get_by_role("button", name="Notitie bekijken").click()
        expect(desk.locator("#gloss-note-flags")).to_have_text(
            "❓ 1 persoon begreep deze notitie niet"
        )
        desk.keyboard.press("Escape")
        expect(desk.locator("dialog.sheet")).to_have_count(0)
        # The author clicks the marked word on the card: the explanation in a bubble by the word
        # (theirs, in Dutch), not the note's sheet.
        desk_mark = desk.locator(".note .gloss-mark", has_text="leefloon")
        desk_mark.click()
        bubble = desk.get_by_role("dialog", name="Wat “leefloon” betekent")
        expect(bubble.locator(".gloss-explanation")).to_have_text(EXPLANATION)
        expect(bubble.locator(".gloss-example")).to_have_text(f"Voorbeeld: {EXAMPLE}")
        expect(desk.locator("dialog.sheet")).to_have_count(0)
        shot(desk, "glossary-03b-desktop-bubble")
        desk.keyboard.press("Escape")
        expect(bubble).to_have_count(0)
        desk_mark.click()  # again; a zoom (the wheel) moves the word away: the bubble closes
        expect(bubble).to_be_visible()
        desk.mouse.wheel(0, 120)
        expect(bubble).to_have_count(0)

        # A second phone, in English: the word is marked; its sheet gives the explanation in
        # English, machine-translated and marked as such.
        contexts["en"].add_init_script(SPEECH_STUB)  # headless Chromium has no voices
        en = open_board(contexts["en"], base, board["id"], sam["token"])
        mark = en.locator(".note .gloss-mark", has_text="leefloon")
        expect(mark).to_be_visible()
        # A tap on the marked word: its explanation right there, in English, machine-translated
        # and marked so, with its example translated the same way; not the note's sheet.
        mark.tap()
        bubble = en.get_by_role("dialog", name="What “leefloon” means")
        expect(bubble.locator(".gloss-explanation")).to_have_text(
            f"[en] {EXPLANATION} (machine translation)"
        )
        expect(bubble.locator(".gloss-example")).to_have_text(f"Example: [en] {EXAMPLE}")
        expect(en.locator("dialog.sheet")).to_have_count(0)
        box, word = bubble.bounding_box(), mark.bounding_box()
        assert box is not None and word is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["viewport"]["width"]
        assert abs(box["y"] - (word["y"] + word["height"])) <= 16  # just under the word (an arrow)
        shot(en, "glossary-04a-en-phone-bubble")
        assert run_axe(en, axe_path, every_impact=True) == []
        en.locator(".topbar").tap(position={"x": 5, "y": 5})  # a tap outside closes it
        expect(bubble).to_have_count(0)
        en.locator(".note", has_text="leefloon").locator(".note-open").tap(
            position={"x": 6, "y": 6}
        )
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
        # From the keyboard: the marked word is a button; Enter opens the bubble, Escape closes
        # it and gives the focus back to the word.
        word_button = en.locator(".ol-note .ol-text button.gloss-mark", has_text="leefloon")
        word_button.focus()
        en.keyboard.press("Enter")
        expect(bubble).to_be_visible()
        expect(word_button).to_have_attribute("aria-expanded", "true")
        expect(bubble).to_be_focused()
        en.keyboard.press("Escape")
        expect(bubble).to_have_count(0)
        expect(word_button).to_be_focused()
        # "Listen" reads the group's notes, each followed by the explanation of the glossary
        # words it uses, in the reader's language.
        en.locator(".listen-cluster").first.click()
        en.wait_for_function("() => window.__spoken.length === 2")
        spoken = en.evaluate("window.__spoken")
        assert "leefloon" in spoken[0][0].casefold()
        assert spoken[1] == [f"“leefloon” means: [en] {EXPLANATION}", "en-GB"]
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
        row = panel.locator(".gloss-rank li", has_text="leefloon")
        expect(row).to_contain_text("1 asked, 1 explained")
        expect(panel.locator("#gloss-unexplained")).to_have_text("0 still unexplained")
        expect(panel.locator(".gloss-notes li")).to_have_text(
            f"“{NOTE[:47]}…” 1 person did not understand this note"
        )
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
        unclear = fac.locator("h2", has_text="Notes people did not understand")
        expect(unclear).to_be_visible()
        expect(fac.locator("li", has_text="1 person did not understand it")).to_contain_text(
            "Mijn leefloon is te laag"
        )
        section.scroll_into_view_if_needed()
        shot(fac, "glossary-08-printable-report")

        # The board-wide "Listen to this screen" on the results reads, right after the idea,
        # the explanation of the glossary word it uses, in the reader's language.
        note_id = en.evaluate("window.__cobord.session.noteList()[0].id")
        fac_token = board["facilitator_token"]
        server.api("POST", f"/api/boards/{board['id']}/phase", {"phase": "vote"}, token=fac_token)
        vote = {"note_id": note_id, "delta": 1}
        server.api("POST", f"/api/boards/{board['id']}/votes", vote, token=sam["token"])
        shown = {"votes_visibility": "revealed"}
        server.api("PATCH", f"/api/boards/{board['id']}/settings", shown, token=fac_token)
        server.api(
            "POST", f"/api/boards/{board['id']}/phase", {"phase": "results"}, token=fac_token
        )
        en.goto(f"{base}/b/{board['id']}?view=results")
        expect(en.locator("section.results")).to_be_visible()
        en.evaluate("window.__spoken = []")
        en.get_by_role("button", name="Listen to this screen").click()
        en.wait_for_function("() => window.__spoken.length > 1")
        spoken = en.evaluate("window.__spoken")
        idea = next(i for i, (text, _lang) in enumerate(spoken) if text.startswith("Idea 1"))
        assert "leefloon" in spoken[idea][0].casefold(), spoken
        assert spoken[idea + 1] == [f"“leefloon” means: [en] {EXPLANATION}", "en-GB"], spoken

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


def _upload(server: Server, board_id: str, token: str, kind: str, data: bytes) -> str:
    r = httpx.post(
        f"{server.base}/api/boards/{board_id}/media",
        params={"kind": kind},
        content=data,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _post_notes(server: Server, board_id: str, token: str, *edits: Any) -> None:
    """Notes written by a participant's own Yjs client (on a loop in a worker thread: sync
    Playwright owns this one), seen by a second client before going on."""

    async def post() -> None:
        client = await YClient(f"{server.process.ws}/{board_id}?token={token}").connect()
        for edit in edits:
            await client.change(edit)
        await client.close()
        seen = await YClient(f"{server.process.ws}/{board_id}?token={token}").connect()
        await seen.wait_until(lambda: {"v1", "p1"} <= set(seen.notes()))
        await seen.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, post()).result(timeout=60)


def test_a_voice_note_and_a_bare_photo_can_be_not_understood_too(
    cobord_server: Server, browser: Any, axe_path: Path
) -> None:
    """A voice note and a photo without caption have no words to pick: a phone in English
    says "I don't understand this note" on each with one tap (the whole-note flag); their
    author, on a phone in French, is told which ("voice note, 12 s") and sees the count in the
    note's sheet, where they are not offered the button; the facilitator, on a desktop in Dutch,
    sees the count in the voice note's sheet and both notes in the panel."""
    server = cobord_server
    board = new_board(server)
    bid, code = board["id"], board["join_code"]
    awa = join(server, code, "Awa", lang="fr")
    sam = join(server, code, "Sam", lang="en")
    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (300, 200), (40, 120, 60)).save(picture, format="JPEG")
    voice = _upload(server, bid, awa["token"], "voice", ogg_opus(12.0))
    photo = _upload(server, bid, awa["token"], "photo", picture.getvalue())
    common = {"lang": "fr", "author": "Awa", "createdAt": 1.0}
    _post_notes(
        server,
        bid,
        awa["token"],
        add_note("v1", "", kind="voice", media=voice, duration=12.0, **common),
        add_note("p1", "", kind="photo", media=photo, x=230.0, **common),
    )
    contexts = {
        "en": _context(browser, {**PHONE, "locale": "en-GB"}, "en-phone"),
        "author": _context(browser, PHONE, "fr-author-phone"),
        "fac": _context(browser, DESKTOP, "nl-facilitator-desktop"),
    }
    try:
        en = open_board(contexts["en"], server.base, bid, sam["token"])
        sheet = en.locator("dialog.sheet")
        # The voice note: its sheet from the canvas.
        en.locator('.note[data-id="v1"] .note-open').tap()
        ask = sheet.get_by_role("button", name="I don't understand this note")
        expect(ask).to_have_accessible_description(
            "Nobody will know it was you: its author and the facilitator only see how many"
            " people did not understand it."
        )
        expect(sheet.locator(".gloss-chip")).to_have_count(0)  # no words to pick
        expect(sheet.locator("audio")).to_have_count(1)
        shot(en, "glossary-09-en-phone-voice-note-sheet")
        assert run_axe(en, axe_path, every_impact=True) == []
        ask.tap()
        expect(sheet).to_have_count(0)
        expect(en.locator(".toast", has_text="Sent, anonymously")).to_be_visible()
        # The photo: from the keyboard in the list view (which has no note sheet); the button is
        # named after its note and keeps the focus when the flag comes back.
        en.goto(f"{server.base}/b/{bid}?view=outline")
        expect(
            en.get_by_role("button", name="I don't understand this note : voice note, 12 s")
        ).to_be_visible()
        photo_ask = en.get_by_role(
            "button", name="I don't understand this note : photo without caption"
        )
        expect(en.locator(".ol-note").first).not_to_contain_text("null")  # no text, no line
        photo_ask.focus()
        en.keyboard.press("Enter")
        expect(en.locator(".toast", has_text="Sent, anonymously")).to_be_visible()
        expect(sheet).to_have_count(0)
        # The count reaches this phone's document (the list renders again): the focus stays.
        en.wait_for_function(
            "() => [...window.__cobord.session.doc.getMap('glossary_flags').keys()]"
            ".some((k) => k.startsWith('note:p1@'))"
        )
        en.evaluate("() => new Promise((r) => requestAnimationFrame(() => setTimeout(r)))")
        expect(photo_ask).to_be_focused()
        shot(en, "glossary-09b-en-phone-outline")
        assert run_axe(en, axe_path, every_impact=True) == []

        # The author's phone (the device that posted them): told which notes, by what they are.
        author = contexts["author"].new_page()
        author.goto(server.base + "/")
        author.evaluate(STORE_TOKEN, [bid, awa["token"]])
        author.evaluate("(id) => localStorage.setItem('cobord:mine:' + id, '[\"v1\",\"p1\"]')", bid)
        author.goto(f"{server.base}/b/{bid}")
        invite = author.locator("#gloss-invite")
        expect(invite.locator('.gloss-note-invite[data-note-id="v1"] > span')).to_have_text(
            "1 personne n’a pas compris votre note : note vocale, 12 s"
        )
        expect(invite.locator('.gloss-note-invite[data-note-id="p1"] > span')).to_have_text(
            "1 personne n’a pas compris votre note : photo sans légende"
        )
        shot(author, "glossary-10-fr-author-phone-told")
        assert run_axe(author, axe_path, every_impact=True) == []
        invite.locator('.gloss-note-invite[data-note-id="v1"]').get_by_role(
            "button", name="Voir la note : note vocale, 12 s"
        ).tap()
        expect(author.locator("#gloss-note-flags")).to_have_text(
            "❓ 1 personne n’a pas compris cette note"
        )
        expect(author.locator("#gloss-ask")).to_have_count(0)  # not on one's own note
        shot(author, "glossary-11-fr-author-phone-voice-sheet")

        # The facilitator, on a desktop in Dutch: the voice note's sheet says it, and the panel
        # lists both.
        fac = open_board(contexts["fac"], server.base, bid, board["facilitator_token"])
        fac.locator('.note[data-id="v1"] .note-open').click()
        expect(fac.locator("#gloss-note-flags")).to_have_text(
            "❓ 1 persoon begreep deze notitie niet"
        )
        expect(fac.locator("#gloss-ask")).to_have_count(0)  # a facilitator does not flag
        shot(fac, "glossary-12-nl-facilitator-desktop-voice-sheet")
        fac.keyboard.press("Escape")
        expect(fac.locator("dialog.sheet")).to_have_count(0)
        fac.locator("[data-fk=panel]").click()
        rows = fac.locator("#panel-glossary .gloss-notes li")
        expect(rows).to_have_count(2)
        expect(rows.and_(fac.locator('[data-note-id="v1"]'))).to_have_text(
            "spraaknotitie, 12 s — 1 persoon begreep deze notitie niet"
        )
        expect(rows.and_(fac.locator('[data-note-id="p1"]'))).to_have_text(
            "foto zonder bijschrift — 1 persoon begreep deze notitie niet"
        )
        fac.locator("#panel-glossary").evaluate("(e) => e.scrollIntoView()")
        shot(fac, "glossary-13-nl-facilitator-desktop-panel")
        for name, ctx in contexts.items():
            assert not ctx.errors, (name, ctx.errors)
    finally:
        for ctx in contexts.values():
            ctx.close()
