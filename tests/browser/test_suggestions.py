"""The suggestions panel on a facilitator's desktop and phone: "N notes fit existing clusters:
place them?", placing all (one Yjs update) and undoing it (one update, notes back where they
were); making the suggested new clusters (one update, titles per language) and undoing that."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import new_board, open_board

SEED = """() => {
    const s = window.__cobord.session;
    const now = Date.now();
    const notes = [
      ['m1', 'la cantine est trop chère pour les familles', 'fr', ''],
      ['m2', 'warme maaltijden op school zijn te duur', 'nl', ''],
      ['h1', 'trop de devoirs le soir pour les petits', 'fr', ''],
      ['h2', 'huiswerkklas na school voor kinderen', 'nl', ''],
      ['l1', 'les repas de la cantine sont froids', 'fr', ''],
      ['l2', 'lunch at school is too expensive', 'en', ''],
      ['l3', 'minder huiswerk in het weekend', 'nl', ''],
      ['l4', 'I cant help my kids with their homework', 'en', ''],
      ['p1', 'la cour de récré est trop petite et en béton', 'fr', ''],
      ['p2', 'meer groen en schaduw op de speelplaats', 'nl', ''],
      ['p3', 'the playground is too small, all concrete', 'en', ''],
      ['p4', 'des arbres dans la cour de récréation', 'fr', ''],
    ];
    notes.forEach(([id, text, lang, cluster], i) => s.addNote(id, {text, lang, cluster,
      x: 100 + 220 * (i % 4), y: 600 + 170 * Math.floor(i / 4), color: 'yellow',
      createdAt: now + i}));
    window.__updates = 0;
    // This client's own updates (the provider applies the server's with itself as the origin: an
    // accepted delete comes back as the server's removal of the entry, which is not one of ours).
    s.doc.on('update', (_u, origin) => { if (origin == null) window.__updates += 1; });
}"""

CLUSTERS = """() => {
    const s = window.__cobord.session;
    s.batch(() => {
      s.addCluster('c-meals', {title: 'Cantine', x: 0, y: 0, color: ''});
      s.addCluster('c-home', {title: 'Devoirs', x: 700, y: 0, color: ''});
      s.updateNote('m1', {cluster: 'c-meals', x: 20, y: 56});
      s.updateNote('m2', {cluster: 'c-meals', x: 240, y: 56});
      s.updateNote('h1', {cluster: 'c-home', x: 720, y: 56});
      s.updateNote('h2', {cluster: 'c-home', x: 940, y: 56});
    });
}"""

WHERE = """() => Object.fromEntries(window.__cobord.session.noteList()
    .map(n => [n.id, [n.cluster || '', n.x, n.y]]))"""


def _one_update(page: Any, click: Any) -> None:
    page.evaluate("() => { window.__updates = 0; }")
    click()
    page.wait_for_function("() => window.__updates >= 1")
    assert page.evaluate("() => window.__updates") == 1


def test_make_clusters_and_place_notes_then_undo(
    cobord_server: Any, phone: Any, desktop: Any
) -> None:
    board = new_board(cobord_server, languages=["fr", "nl", "en"])
    fac = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    fac.evaluate(SEED)
    fac.locator("button[aria-controls=fac-panel]").click()

    # No cluster yet: new clusters suggested; make them all in one update, titles per language.
    fac.locator("[data-fk=sugg-ask]").click()
    expect(fac.locator("#sugg-new")).to_be_visible(timeout=120_000)
    expect(fac.locator("#sugg-fit")).to_have_count(0)
    shot(fac, "suggest-0-desktop-new")
    before = fac.evaluate(WHERE)
    _one_update(fac, fac.locator("[data-fk=sugg-create-all]").click)
    made = fac.evaluate(
        "() => window.__cobord.session.clusterList().map(c => ({id: c.id, title: c.title}))"
    )
    assert made and all(0 < len(c["title"]) <= 60 for c in made)
    texts = set(fac.evaluate("() => window.__cobord.session.noteList().map(n => n.text)"))
    assert not {c["title"] for c in made} & texts  # a few words, not a note's text
    titles = fac.evaluate(
        "(id) => { const t = window.__cobord.session.clusters.get(id).get('titles');"
        " return t ? (t.toJSON ? t.toJSON() : t) : null; }",
        made[0]["id"],
    )
    assert titles is None or (set(titles) <= {"fr", "nl", "en"} and len(titles) >= 2)
    grouped = fac.evaluate(WHERE)
    assert all(grouped[i][0] for i in grouped if grouped[i] != before[i])
    shot(fac, "suggest-1-desktop-made")
    _one_update(fac, fac.locator("[data-fk=sugg-undo]").click)  # all of it, one step back
    assert fac.evaluate(WHERE) == before
    assert fac.evaluate("() => window.__cobord.session.clusterList().length") == 0
    expect(fac.locator("[data-fk=sugg-undo]")).to_be_hidden()

    # The facilitator's clusters: loose notes that fit them are offered; place all, then undo.
    fac.evaluate(CLUSTERS)
    fac.locator("[data-fk=sugg-ask]").click()
    fit = fac.locator("#sugg-fit")
    expect(fit).to_be_visible(timeout=120_000)
    shot(fac, "suggest-2-desktop-fit")
    count = fac.locator("input[data-fk^=sugg-place-]").count()
    assert count >= 2
    # "N notes fit existing clusters: place them?" (nl-BE screen), N = the rows offered.
    assert fit.inner_text().startswith(f"{count} notities passen in bestaande groepen")
    before = fac.evaluate(WHERE)
    _one_update(fac, fac.locator("[data-fk=sugg-place-all]").click)
    after = fac.evaluate(WHERE)
    moved = {i for i in after if after[i] != before[i]}
    assert len(moved) == count and moved <= {"l1", "l2", "l3", "l4", "p1", "p2", "p3", "p4"}
    right = {"l1": "c-meals", "l2": "c-meals", "l3": "c-home", "l4": "c-home"}
    assert sum(after[i][0] == right[i] for i in moved & set(right)) >= 3
    shot(fac, "suggest-3-desktop-placed")
    _one_update(fac, fac.locator("[data-fk=sugg-undo]").click)
    assert fac.evaluate(WHERE) == before

    # The phone-sized facilitator screen: ask, place just one (untick the others), undo.
    ph = open_board(phone, cobord_server.base, board["id"], board["facilitator_token"])
    ph.locator("button[aria-controls=fac-panel]").tap()
    ph.locator("[data-fk=sugg-ask]").tap()
    expect(ph.locator("#sugg-fit")).to_be_visible(timeout=120_000)
    ph.locator("#sugg-fit").scroll_into_view_if_needed()
    shot(ph, "suggest-4-phone-fit")
    boxes = ph.locator("input[data-fk^=sugg-place-]")
    for i in range(1, boxes.count()):
        boxes.nth(i).uncheck()
    size = ph.locator(".sugg-pick").first.bounding_box()
    assert size and size["height"] >= 44  # a row is big enough to tap
    before = ph.evaluate(WHERE)
    ph.evaluate(
        "() => window.__cobord.session.doc.on('update',"
        " (_u, origin) => { if (origin == null) window.__updates += 1; })"
    )
    _one_update(ph, ph.locator("[data-fk=sugg-place-some]").tap)
    after = ph.evaluate(WHERE)
    assert len([i for i in after if after[i] != before[i]]) == 1
    shot(ph, "suggest-5-phone-placed")
    _one_update(ph, ph.locator("[data-fk=sugg-undo]").tap)
    assert ph.evaluate(WHERE) == before
    assert not desktop.errors and not phone.errors
