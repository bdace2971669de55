"""The client recovers from a refused edit and keeps a typist's text while others post; its
dictionaries are complete in FR, NL and EN; touch drags on a phone; anonymous notes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import join, new_board, open_board

pytestmark = pytest.mark.browser
STATIC = Path(__file__).resolve().parents[2] / "static"


def test_refused_edit_is_rolled_back_and_typing_in_outline_is_not_interrupted(
    cobord_server: Any, phone: Any, desktop: Any
) -> None:
    base = cobord_server.base
    board = new_board(cobord_server)
    amina = open_board(
        phone, base, board["id"], join(cobord_server, board["join_code"], "Amina")["token"]
    )
    amina.locator(".fab").tap()
    amina.fill("#composer-text", "Texte d'Amina")
    amina.locator(".composer button[type=submit]").tap()

    bram = open_board(
        desktop,
        base,
        board["id"],
        join(cobord_server, board["join_code"], "Bram", lang="nl")["token"],
    )
    note = bram.locator(".note", has_text="Texte d'Amina")
    expect(note).to_be_visible()
    # The UI offers no edit on someone else's note; force one through the document as a bad client
    # would.
    note_id = note.get_attribute("data-id")
    bram.evaluate("window.__cobord.session.doc.__original = true")
    bram.evaluate("(id) => window.__cobord.session.updateNote(id, {text: 'piraté'})", note_id)
    # (It may show for a frame or not at all: the refusal can arrive before the next paint.)
    # The server undoes it: its compensation reaches Bram's own doc, with a message saying why.
    expect(bram.locator(".toast", has_text="ongedaan gemaakt")).to_be_visible()
    expect(bram.locator(".note", has_text="Texte d'Amina")).to_be_visible()
    expect(bram.locator(".note", has_text="piraté")).to_have_count(0)
    expect(amina.locator(".note", has_text="piraté")).to_have_count(0)
    # No resync: the same document, never dropped and fetched again.
    assert bram.evaluate("window.__cobord.session.doc.__original === true")
    assert bram.evaluate("window.__cobord.session.resyncs || 0") == 0
    # ... and Bram's next edits are accepted and reach the others.
    bram.locator(".fab").click()
    bram.fill("#composer-text", "Na de weigering")
    bram.locator(".composer button[type=submit]").click()
    expect(amina.locator(".note", has_text="Na de weigering")).to_be_visible()
    assert not desktop.errors, desktop.errors

    # Someone typing a note in the outline keeps focus and text while others post.
    lotte = join(cobord_server, board["join_code"], "Lotte", lang="nl")
    page = open_board(desktop, base, board["id"], lotte["token"], "?view=outline")
    text = page.locator("#outline-new-text")
    text.click()
    page.keyboard.type("Een half ")
    amina.locator(".fab").tap()
    amina.fill("#composer-text", "Pendant ce temps")
    amina.locator(".composer button[type=submit]").tap()
    expect(page.locator(".ol-note", has_text="Pendant ce temps")).to_be_visible()
    expect(text).to_be_focused()
    page.keyboard.type("idee")
    expect(text).to_have_value("Een half idee")
    assert not desktop.errors, desktop.errors


def test_dictionary_and_history_strings_complete(cobord_server: Any, desktop: Any) -> None:
    """Every key of the interface dictionary and of the feed and report strings exists,
    non-empty, in FR, NL and EN (as the browser loads them), and every `t("...")` and `ht("...")`
    key used by the client is defined (an event kind too: `ev_<kind>`)."""
    from crdt.replay import EVENT_KINDS

    page = desktop.new_page()
    page.goto(cobord_server.base + "/")
    dictionary = page.evaluate(
        "async () => { const m = await import('/i18n.js'); return m.DICTIONARY; }"
    )
    fr, nl, en = (set(dictionary[lang]) for lang in ("fr", "nl", "en"))
    assert fr == nl == en, {"only fr": fr - en, "only nl": nl - en, "only en": en - fr}
    for lang in ("fr", "nl", "en"):
        empty = [k for k, v in dictionary[lang].items() if not str(v).strip()]
        assert not empty, (lang, empty)
    used: set[str] = set()
    for path in (p for p in STATIC.glob("*.js") if p.name != "i18n.js"):
        used |= set(re.findall(r"\bt\(\s*\"([a-z0-9_]+)\"", path.read_text()))
    missing = sorted(k for k in used if k not in en)
    assert not missing, missing

    # The history strings (static/history_i18n.js).
    strings = page.evaluate("async () => (await import('/history_i18n.js')).HISTORY_STRINGS")
    fr, nl, en = (set(strings[lang]) for lang in ("fr", "nl", "en"))
    assert fr == nl == en, {"only fr": fr - en, "only nl": nl - en, "only en": en - fr}
    for lang in ("fr", "nl", "en"):
        assert all(str(v).strip() for v in strings[lang].values()), lang
    used = set()
    for path in STATIC.glob("*.js"):
        used |= set(re.findall(r"\bht\(\s*\"([a-z0-9_]+)\"", path.read_text()))
    used |= {f"ev_{kind}" for kind in EVENT_KINDS}
    assert sorted(k for k in used if k not in en) == []


def test_phone_long_press_drags_note_into_cluster(cobord_server: Any, phone: Any) -> None:
    """One finger: a quick swipe on a note pans; a long press then a move files it in a cluster."""
    base = cobord_server.base
    board = new_board(cobord_server)
    cobord_server.api(
        "POST",
        f"/api/boards/{board['id']}/phase",
        {"phase": "cluster"},
        token=board["facilitator_token"],
    )
    ph = open_board(
        phone, base, board["id"], join(cobord_server, board["join_code"], "Amina")["token"]
    )
    ph.evaluate("() => window.__cobord.createCluster('Mobilité', {x: 0, y: 400})")
    ph.evaluate(
        "() => window.__cobord.session.addNote('n-touch', {text: 'Des vélos partagés', x: 0, y: 0,"
        " color: 'blue', cluster: '', lang: 'fr', createdAt: Date.now()})"
    )
    ph.evaluate(
        "() => { const c = window.__cobord.canvas; c.view = {x: 40, y: 20, s: 0.8};"
        " c.applyView(); }"
    )
    note = ph.locator(".note", has_text="vélos")
    cluster = ph.locator(".cluster", has_text="Mobilité")
    expect(note).to_be_visible()
    cdp = phone.new_cdp_session(ph)

    def touch(kind: str, x: float, y: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    # A quick swipe starting on the note pans the board (the note does not move in the doc).
    a = note.bounding_box()
    x0, y0 = a["x"] + 60, a["y"] + 30
    touch("touchStart", x0, y0)
    for i in range(1, 6):
        touch("touchMove", x0 + i * 10, y0 + i * 6)
    touch("touchEnd", 0, 0)
    assert ph.evaluate("() => window.__cobord.session.notes.get('n-touch').get('x')") == 0
    # Long press (held until the note lifts), then move onto the cluster and release.
    a = note.bounding_box()
    b = cluster.bounding_box()
    x0, y0 = a["x"] + 60, a["y"] + 30
    touch("touchStart", x0, y0)
    expect(note).to_have_class(re.compile("dragging"))
    tx, ty = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
    for i in range(1, 11):
        touch("touchMove", x0 + (tx - x0) * i / 10, y0 + (ty - y0) * i / 10)
    touch("touchEnd", 0, 0)
    expect(cluster).to_contain_text("1 note")
    cluster_id = ph.evaluate("() => window.__cobord.session.clusterList()[0].id")
    assert (
        ph.evaluate("() => window.__cobord.session.notes.get('n-touch').get('cluster')")
        == cluster_id
    )
    assert not phone.errors, phone.errors


def test_anonymous_board_notes_carry_no_author(cobord_server: Any, phone: Any) -> None:
    board = new_board(cobord_server)
    cobord_server.api(
        "PATCH",
        f"/api/boards/{board['id']}/settings",
        {"anonymous": True},
        token=board["facilitator_token"],
    )
    ph = open_board(
        phone,
        cobord_server.base,
        board["id"],
        join(cobord_server, board["join_code"], "Nadia")["token"],
    )
    ph.locator(".fab").tap()
    ph.fill("#composer-text", "Sans nom")
    ph.locator(".composer button[type=submit]").tap()
    note = ph.locator(".note", has_text="Sans nom")
    expect(note).to_be_visible()
    expect(note).not_to_contain_text("Nadia")
    note_id = note.get_attribute("data-id")
    assert (
        ph.evaluate("(id) => window.__cobord.session.notes.get(id).has('author')", note_id) is False
    )
