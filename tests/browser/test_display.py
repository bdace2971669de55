"""What people see during the vote and results phases: one results screen for everyone (also after a
reload), hidden votes say so on the facilitator's board while the panel's counts stay live, the note
sheet's controls have distinct names and the vote buttons get the focus in the vote phase."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import join, new_board, open_board

SYNCED = "() => window.__cobord && window.__cobord.session.synced"


def _phase(server: Any, board: dict[str, Any], phase: str) -> None:
    server.api(
        "POST",
        f"/api/boards/{board['id']}/phase",
        {"phase": phase},
        token=board["facilitator_token"],
    )


def _vote(server: Any, board: dict[str, Any], token: str, note_id: str) -> None:
    server.api(
        "POST", f"/api/boards/{board['id']}/votes", {"note_id": note_id, "delta": 1}, token=token
    )


def _post(page: Any, text: str) -> str:
    note_id: str = page.evaluate(
        "(t) => window.__cobord.postNote({text: t, color: 'yellow', lang: 'fr', cluster: ''})", text
    )
    return note_id


def test_hidden_votes_and_live_panel_then_one_results_screen_for_everyone(
    cobord_server: Any, phone: Any, desktop: Any
) -> None:
    """One board, a phone and the facilitator: in the vote phase hidden votes say so on the
    facilitator's board while the panel's counts follow the votes; then the results phase is one
    screen for everyone (also after a reload)."""
    board = new_board(cobord_server)
    amina = join(cobord_server, board["join_code"], "Amina")
    ph = open_board(phone, cobord_server.base, board["id"], amina["token"])
    fac = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    first = _post(ph, "Plus de bancs au parc")
    _post(ph, "Un potager")
    fac.wait_for_function("() => window.__cobord.session.noteList().length === 2")
    _phase(cobord_server, board, "vote")
    fac.locator("button[aria-controls=fac-panel]").click()  # the panel fetches the (hidden) counts
    expect(fac.locator(".panel")).to_contain_text("Nog geen stemmen")
    fac.locator("button[aria-controls=fac-panel]").click()
    notes = fac.locator(".note")
    expect(notes.locator(".votes-hidden")).to_have_count(2)
    expect(notes.first).to_contain_text("Stemmen verborgen")
    expect(fac.locator(".note .total-dots")).to_have_count(0)  # never "● 0" as if nobody voted
    shot(fac, "display-hidden-votes-facilitator")
    # The panel's counts follow the votes without "refresh".
    fac.locator("button[aria-controls=fac-panel]").click()
    _vote(cobord_server, board, amina["token"], first)
    expect(fac.locator(".panel .res-item").first).to_contain_text("1 stip")
    _vote(cobord_server, board, amina["token"], first)
    expect(fac.locator(".panel .res-item").first).to_contain_text("2 stippen")
    expect(fac.locator(".note .votes-hidden")).to_have_count(2)  # still hidden on the board
    shot(fac, "display-hidden-votes-live-panel")

    # The facilitator moves to the results (votes still hidden), from the panel (open): everyone
    # lands on the results.
    fac.locator("button[data-fk='ph:results']").click()
    expect(ph.locator(".board-main .res-item").first).to_contain_text("Plus de bancs")
    expect(fac.locator(".board-main .res-item").first).to_contain_text("Plus de bancs")
    fac.locator("button[aria-controls=fac-panel]").click()
    # No "Results" pill beside a "Results" button: each visible control of the bar has its own name.
    for page in (ph, fac):
        page.locator(".tab-canvas").click()  # back to the board
        expect(page.locator(".board-main .canvas")).to_be_visible()
        texts = page.locator(".topbar .chip, .topbar button:visible").all_inner_texts()
        texts = [" ".join(x.split()) for x in texts if x.strip()]
        assert len(texts) == len(set(texts)), texts
    shot(ph, "display-results-phone-topbar")
    # A phone that reloads in the results phase opens on the same results screen as everyone.
    ph.goto(f"{cobord_server.base}/b/{board['id']}")
    ph.wait_for_function(SYNCED)
    expect(ph.locator(".board-main .res-item").first).to_contain_text("Plus de bancs")
    assert ph.evaluate("() => window.__cobord.view") == "results"
    shot(ph, "display-results-phone-reloaded")
    assert not phone.errors and not desktop.errors


def test_note_sheet_names_and_vote_focus(cobord_server: Any, phone: Any, desktop: Any) -> None:
    board = new_board(cobord_server)
    bram = join(cobord_server, board["join_code"], "Bram", lang="nl")
    page = open_board(desktop, cobord_server.base, board["id"], bram["token"])
    page.evaluate("() => window.__cobord.createCluster('Mobiliteit', {x: 600, y: 0})")
    _post(page, "Meer fietsen")
    page.locator(".note-open", has_text="Meer fietsen").click()
    sheet = page.locator("dialog.sheet")
    expect(sheet).to_be_visible()
    select_name = sheet.locator("select[name=move]").evaluate("e => e.labels[0].textContent")
    buttons = sheet.locator("button").all_inner_texts()
    assert select_name not in buttons, (select_name, buttons)
    assert select_name == "Ideeëngroep" and "Verplaatsen" in buttons, (select_name, buttons)
    shot(page, "display-note-sheet-move")
    sheet.get_by_role("button", name="Sluiten").click()
    _phase(cobord_server, board, "vote")
    page.wait_for_function("() => window.__cobord.canVote()")
    page.locator(".note-open", has_text="Meer fietsen").click()
    expect(sheet).to_be_visible()
    focused = page.evaluate("() => document.activeElement.className")
    assert "vote-add" in focused, focused
    shot(page, "display-note-sheet-vote-focus")


LONG_GROUP = "Maatschappelijk werker van het OCMW van Sint-Gillis"
LABELS = """() => [...document.querySelectorAll('.bar-label')].map(e => ({
    text: e.textContent.trim(), scrollW: e.scrollWidth, w: e.clientWidth,
    overflow: getComputedStyle(e).textOverflow, h: e.getBoundingClientRect().height}))"""
JARGON = ("Σ", "consensus", "Score =", "score =")


def test_results_in_plain_words_with_whole_group_names(
    cobord_server: Any, browser: Any, desktop: Any
) -> None:
    board = new_board(cobord_server, groups=["Bewoner", LONG_GROUP])
    amina = join(cobord_server, board["join_code"], "Amina")
    rik = join(cobord_server, board["join_code"], "Rik", group=LONG_GROUP, lang="nl")
    fac = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    first = _post(fac, "Plus de bancs au parc")
    second = _post(fac, "Un potager partagé")
    fac.wait_for_function("() => window.__cobord.session.noteList().length === 2")
    _phase(cobord_server, board, "vote")
    _vote(cobord_server, board, amina["token"], first)
    _vote(cobord_server, board, rik["token"], first)
    _vote(cobord_server, board, amina["token"], second)
    cobord_server.api(
        "PATCH",
        f"/api/boards/{board['id']}/settings",
        {"votes_visibility": "revealed"},
        token=board["facilitator_token"],
    )
    _phase(cobord_server, board, "results")
    results = fac.locator(".board-main .results")
    expect(results.locator(".res-item").first).to_contain_text("Plus de bancs")
    text = results.inner_text()
    assert not [j for j in JARGON if j in text], text
    # One plain line explains the bars; each idea says what its figure means.
    expect(results).to_contain_text("Elke regel zegt hoeveel stemmers van een groep het idee kozen")
    expect(results.locator(".res-item").first).to_contain_text(
        "gekozen door minstens 100% van de stemmers in elk van de 2 groepen die stemden"
    )
    # The researcher did not pick the garden: that is not opposing it (no "I disagree" marks), so
    # it is not divisive; it says so in counts.
    expect(results.locator(".res-divisive")).to_have_count(0)
    garden = results.locator(".res-item", has_text="Un potager")
    expect(garden).to_contain_text("niet gekozen in elke groep die stemde")
    expect(garden).to_contain_text(f"{LONG_GROUP}: gekozen door 0 van 1")
    for label in fac.evaluate(LABELS):
        assert label["scrollW"] <= label["w"] + 1 and label["overflow"] != "ellipsis", label
    assert LONG_GROUP in [x["text"].lstrip("●▲ ") for x in fac.evaluate(LABELS)]
    shot(fac, "display-results-plain-desktop")
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="fr-BE")
    try:
        page = ctx.new_page()
        frag = f"#v={board['viewer_token']}&c={board['join_code']}"
        page.goto(f"{cobord_server.base}/b/{board['id']}/present{frag}")
        expect(page.locator("#present-stage .res-item").first).to_contain_text("Plus de bancs")
        text = page.locator("#present-stage").inner_text()
        assert not [j for j in JARGON if j in text], text
        labels = page.evaluate(LABELS)
        assert any(LONG_GROUP in x["text"] for x in labels), labels
        for label in labels:
            assert label["scrollW"] <= label["w"] + 1 and label["overflow"] != "ellipsis", label
        shot(page, "display-results-plain-projector-1080p")
    finally:
        ctx.close()


def test_facilitator_sees_how_many_drafts_wait(
    cobord_server: Any, browser: Any, phone: Any, desktop: Any
) -> None:
    from tests.browser.conftest import PHONE

    board = new_board(cobord_server)
    cobord_server.api(
        "PATCH",
        f"/api/boards/{board['id']}/settings",
        {"private_writing": True},
        token=board["facilitator_token"],
    )
    fac = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    fac.locator("button[aria-controls=fac-panel]").click()
    waiting = fac.locator("#drafts-waiting")
    expect(waiting).to_have_text("Nog geen concepten die wachten.")
    expect(fac.locator(".banner-private")).to_contain_text("notities van de deelnemers blijven")
    other = browser.new_context(**PHONE)
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
        for page, text in ((a, "Brouillon secret 1"), (a, "Brouillon secret 2"), (b, "Geheim")):
            page.locator(".fab").tap()
            page.fill("#composer-text", text)
            page.locator(".composer button[type=submit]").tap()
            expect(page.locator(".drafts")).to_contain_text(text)
        expect(waiting).to_have_text("3 concepten wachten op de toestellen (2 personen)")
        waiting.scroll_into_view_if_needed()
        shot(fac, "display-drafts-waiting")
        # Counts only: no draft text reaches the facilitator's page.
        assert "secret" not in fac.content() and "Geheim" not in fac.content()
        assert fac.evaluate("() => window.__cobord.session.notes.size") == 0
        b.locator(".draft", has_text="Geheim").get_by_role("button", name="Supprimer").tap()
        expect(waiting).to_have_text("2 concepten wachten op één toestel")
    finally:
        other.close()
