"""'I disagree' marks and results in plain words, end to end: the facilitator turns the marks on
(the phone shows the control live, also when it was offline at that moment and reconnects), two
groups vote and disagree, the votes are revealed, and the phone (FR), the desktop (NL) and the
projector (FR) read the same checkable sentences: "chosen by 3 of 3", "2 of 2 disagree", "no
votes from this group", group sizes."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import join, new_board, open_board

IDEAS = ["Un banc à l'ombre", "Une piste cyclable", "Un potager"]
SIZE = """() => [...document.querySelectorAll('.disagree-btn')].map(b => {
    const r = b.getBoundingClientRect();
    return [r.width, r.height, parseFloat(getComputedStyle(b).fontSize)];
})"""


def _panel(page: Any) -> None:
    button = page.locator("button[aria-controls=fac-panel]")
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    expect(page.locator("#fac-panel")).to_be_visible()


def test_disagree_marks_and_results_in_words(
    cobord_server: Any, phone: Any, desktop: Any, browser: Any
) -> None:
    srv = cobord_server
    board = new_board(srv, groups=["Bewoner", "Onderzoeker", "Ambtenaar"])
    bid, tok = board["id"], board["facilitator_token"]
    fac = open_board(desktop, srv.base, bid, tok)
    fac.evaluate(
        """(ideas) => ideas.forEach((text, i) => window.__cobord.session.addNote(`n${i}`,
            {text, x: i * 230, y: 0, color: 'yellow', cluster: '', lang: 'fr',
             createdAt: Date.now() + i}))""",
        IDEAS,
    )
    amina = join(srv, board["join_code"], "Amina", group="Bewoner")
    others = {
        name: join(srv, board["join_code"], name, group=group)
        for name, group in (
            ("Bram", "Bewoner"), ("Chris", "Bewoner"), ("Dina", "Onderzoeker"),
            ("Eli", "Onderzoeker"), ("Fien", "Ambtenaar"),
        )
    }
    srv.api("POST", f"/api/boards/{bid}/phase", {"phase": "vote"}, token=tok)
    ph = open_board(phone, srv.base, bid, amina["token"])
    expect(ph.locator(".vote-item")).to_have_count(3)
    # Off by default: no control at all.
    expect(ph.locator(".disagree-btn")).to_have_count(0)

    # Turned on while the phone is offline: it shows once the phone reconnects, without a reload.
    phone.set_offline(True)
    ph.wait_for_function("() => !window.__cobord.session.provider.wsconnected")
    _panel(fac)
    fac.locator("[data-fk='sw:disagree_marks']").check()
    expect(fac.locator("[data-fk='db']")).to_have_value("2")
    phone.set_offline(False)
    expect(ph.locator(".disagree-btn")).to_have_count(3, timeout=20_000)
    status = ph.locator("#disagree-status")
    expect(status).to_contain_text("2 marques « pas d'accord » sur 2 restantes")
    # Live both ways.
    fac.locator("[data-fk='sw:disagree_marks']").uncheck()
    expect(ph.locator(".disagree-btn")).to_have_count(0)
    fac.locator("[data-fk='sw:disagree_marks']").check()
    expect(ph.locator(".disagree-btn")).to_have_count(3)
    sizes = ph.evaluate(SIZE)
    assert all(w >= 44 and h >= 44 and font >= 16 for w, h, font in sizes), sizes

    # Amina chooses the bench and disagrees with the bike lane (named for a screen reader).
    bench = ph.locator(".vote-item", has_text=IDEAS[0])
    bench.locator(".vote-add").tap()
    expect(ph.locator("#votes-status")).to_have_text("2 sur 3 gommettes restantes")
    # One cannot choose and disagree at once: the bench's "I disagree" is disabled now.
    expect(bench.locator(".disagree-btn")).to_be_disabled()
    against = ph.get_by_role("button", name=f"Je ne suis pas d'accord avec : « {IDEAS[1]} »")
    against.tap()
    expect(status).to_contain_text("1 marque « pas d'accord » sur 2 restante")
    expect(ph.get_by_role("button", name=f"Retirer mon « pas d'accord » sur : « {IDEAS[1]} »"))\
        .to_have_attribute("aria-pressed", "true")
    expect(ph.locator(".vote-item", has_text=IDEAS[1]).locator(".disagree-left")).to_have_text(
        "1/2"
    )
    shot(ph, "disagree-01-phone-vote-list", full_page=True)
    mine = srv.api("GET", f"/api/boards/{bid}/votes/mine", token=amina["token"])
    assert (mine["votes"], mine["against"]) == ({"n0": 1}, ["n1"]), mine

    # The others: the residents pick the bench; both researchers disagree with it.
    def cast(name: str, note: str, stance: str = "for") -> None:
        srv.api("POST", f"/api/boards/{bid}/votes",
                {"note_id": note, "delta": 1, "stance": stance}, token=others[name]["token"])

    for name in ("Bram", "Chris"):
        cast(name, "n0")
    for name in ("Dina", "Eli"):
        cast(name, "n0", "against")
        cast(name, "n2")

    # Reveal and move to the results: every screen reads the same counts.
    srv.api("PATCH", f"/api/boards/{bid}/settings", {"votes_visibility": "revealed"}, token=tok)
    srv.api("POST", f"/api/boards/{bid}/phase", {"phase": "results"}, token=tok)
    res = ph.locator(".results")
    who = res.locator(".res-who")
    expect(who).to_contain_text("Bewoner : 3 personnes, 3 ont voté")
    expect(who).to_contain_text("Onderzoeker : 2 personnes, 2 ont voté")
    expect(who).to_contain_text("Ambtenaar : 1 personne, aucun vote de ce groupe")
    divisive = res.locator(".res-divisive .res-item", has_text=IDEAS[0])
    expect(divisive).to_contain_text("Bewoner : choisie par 3 sur 3")
    expect(divisive).to_contain_text(
        "Onderzoeker : choisie par 0 sur 2, 2 sur 2 ne sont pas d'accord"
    )
    expect(divisive).to_contain_text("Ambtenaar : aucun vote de ce groupe")
    expect(divisive).to_contain_text("pas choisie dans tous les groupes qui ont voté")
    # The bike lane: only Amina disagrees (1 of 3): not divisive; not chosen is not opposed.
    lane = res.locator(".res-item", has_text=IDEAS[1]).first
    expect(lane).to_contain_text("Bewoner : choisie par 0 sur 3, 1 sur 3 n'est pas d'accord")
    expect(res.locator(".res-divisive .res-item")).to_have_count(1)
    # The group with no voters has no share: "—" and the words, never "0 %" (3 ideas, 1 row each).
    silent = res.locator(".bar-row.is-silent")
    expect(silent).to_have_count(3)
    for i in range(3):
        expect(silent.nth(i).locator(".bar-value")).to_have_text("—")
    shot(ph, "disagree-02-phone-results", full_page=True)

    fac_res = fac.locator(".results").first
    expect(fac_res.locator(".res-who")).to_contain_text(
        "Ambtenaar: 1 persoon, geen stemmen uit deze groep"
    )
    expect(fac_res.locator(".res-divisive .res-item", has_text=IDEAS[0])).to_contain_text(
        "Onderzoeker: gekozen door 0 van 2, 2 van 2 zijn het oneens"
    )
    shot(fac, "disagree-03-desktop-results")

    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="fr-BE")
    try:
        proj = ctx.new_page()
        proj.goto(f"{srv.base}/b/{bid}/present#v={board['viewer_token']}&c={board['join_code']}")
        stage = proj.locator("#present-stage")
        expect(stage.locator(".res-who")).to_contain_text("Bewoner : 3 personnes, 3 ont voté")
        # The results are paged: step with the arrow key to the page that holds the bench.
        item = stage.locator(".res-item", has_text=IDEAS[0])
        pager = proj.locator("#present-pager")
        for _ in range(int(pager.inner_text().split()[-1])):
            if item.count():
                break
            before = pager.inner_text()
            proj.keyboard.press("ArrowRight")
            expect(pager).not_to_have_text(before)
        expect(item).to_contain_text("Bewoner : choisie par 3 sur 3")
        expect(item).to_contain_text("2 sur 2 ne sont pas d'accord")
        expect(item).to_contain_text("Ambtenaar : aucun vote de ce groupe")
        shot(proj, "disagree-04-projector-results")
    finally:
        ctx.close()
    assert not phone.errors and not desktop.errors, (phone.errors, desktop.errors)


MARKERS = """() => {
    const ctx = document.createElement('canvas').getContext('2d');
    return [...document.querySelectorAll('#report-doc ol')].map(ol => {
        const items = [...ol.children].filter(e => e.tagName === "LI");
        const last = items[items.length - 1];
        const style = getComputedStyle(last);
        ctx.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        // The marker "12. " sits in the list's left padding: it must fit there, inside the page.
        const marker = ctx.measureText(`${items.length}. `).width;
        const pad = last.getBoundingClientRect().left - ol.getBoundingClientRect().left;
        return {marker, pad, left: last.getBoundingClientRect().left - marker};
    });
}"""


def test_printed_report_keeps_every_number_whole(cobord_server: Any, desktop: Any) -> None:
    srv = cobord_server
    board = new_board(srv)
    bid, tok = board["id"], board["facilitator_token"]
    fac = open_board(desktop, srv.base, bid, tok)
    fac.evaluate(
        """() => { for (let i = 0; i < 12; i++) window.__cobord.session.addNote(`n${i}`,
            {text: `Idée ${i + 1}`, x: (i % 6) * 230, y: Math.floor(i / 6) * 170,
             color: 'yellow', cluster: '', lang: 'fr', createdAt: Date.now() + i}); }"""
    )
    fac.wait_for_function("() => window.__cobord.session.noteList().length === 12")
    srv.api("POST", f"/api/boards/{bid}/phase", {"phase": "vote"}, token=tok)
    for i in range(4):
        voter = join(srv, board["join_code"], f"P{i}", group=["Bewoner", "Onderzoeker"][i % 2])
        for k in range(3):
            srv.api("POST", f"/api/boards/{bid}/votes", {"note_id": f"n{(i * 3 + k) % 12}",
                    "delta": 1}, token=voter["token"])
    # The report's time zone is a board setting the facilitator picks in the panel.
    _panel(fac)
    fac.locator("[data-fk='tz']").select_option("Europe/London")
    fac.wait_for_function(
        "() => window.__cobord.session.settings().time_zone === 'Europe/London'"
    )
    page = fac.context.new_page()
    page.goto(f"{srv.base}/b/{bid}/report")
    expect(page.locator("#report-doc")).to_contain_text("Tijden in de tijdzone Europe/London.")
    expect(page.locator("#report-doc > ol > li")).to_have_count(12)
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 700, "height": 990})  # about A4 at 96 dpi, less margins
    shot(page, "disagree-05-report-print", full_page=True)
    for m in page.evaluate(MARKERS):
        assert m["pad"] >= m["marker"] and m["left"] >= 0, m
