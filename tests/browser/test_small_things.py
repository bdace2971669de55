"""Smaller things seen in a real room: placeholders are not upper-cased; a new note goes to no
cluster unless its author picks one, even with a cluster in the middle of the screen; the page
objects the tests use exist only where the tests asked for them."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, shot
from tests.browser.helpers import join, new_board, open_board


def test_home_unknown_board_and_join_screens_on_a_phone(cobord_server: Any, phone: Any) -> None:
    """One phone, screens that need no board of its own: the home page's code placeholder is not
    upper-cased; an unknown board says it does not exist; the join screen has one language
    picker (which switches the interface too: last, the phone speaks Dutch after it)."""
    # The code placeholder is not upper-cased (the typed code is).
    page = phone.new_page()
    page.goto(cobord_server.base + "/")
    field = page.locator(".code-input").first
    expect(field).to_have_attribute("placeholder", "ex. K7P2QX")
    assert field.evaluate("e => getComputedStyle(e, '::placeholder').textTransform") == "none"
    assert field.evaluate("e => getComputedStyle(e).textTransform") == "uppercase"  # typed code

    # An unknown board says it does not exist (a fresh phone: no token for it at all).
    page.goto(cobord_server.base + "/b/doesNotExist1")
    expect(page.get_by_text("Ce tableau n’existe pas (ou il a été supprimé).")).to_be_visible()
    expect(page.get_by_text("accès", exact=False)).to_have_count(0)

    # The join screen has one language picker.
    board = new_board(cobord_server)
    page.goto(f"{cobord_server.base}/j/{board['join_code']}")
    expect(page.get_by_role("heading", name="Rejoindre « Atelier »")).to_be_visible()
    assert page.locator(".lang-switch, .lang-select").count() == 0
    langs = page.locator("input[name=lang]")
    expect(langs).to_have_count(3)
    page.get_by_label("Nederlands").check()  # the one picker switches the interface too
    expect(page.get_by_role("heading", name="Deelnemen aan “Atelier”")).to_be_visible()
    transforms = page.evaluate(
        """() => [...document.querySelectorAll('input[placeholder], textarea[placeholder]')]
            .map(e => getComputedStyle(e, '::placeholder').textTransform)"""
    )
    assert all(x == "none" for x in transforms), transforms
    shot(page, "small-join-one-language-picker")
    assert not phone.errors, phone.errors


def test_a_new_note_goes_to_no_cluster_and_posting_follows_the_phase(
    cobord_server: Any, phone: Any, desktop: Any
) -> None:
    """One board: a phone's new note goes to no cluster unless its author picks one, even with a
    cluster in the middle of the screen; then a participant's "+" goes when the vote starts."""
    import httpx

    board = new_board(cobord_server)
    ph = open_board(
        phone,
        cobord_server.base,
        board["id"],
        join(cobord_server, board["join_code"], "Amina")["token"],
    )
    ph.evaluate("() => window.__cobord.createCluster('Mobilité', {x: 0, y: 0})")
    # The cluster sits right in the middle of the phone's view.
    ph.evaluate(
        """() => { const c = window.__cobord.canvas; c.measure();
          c.view = {s: 1, x: c.size.w / 2 - 230, y: c.size.h / 2 - 123}; c.applyView(); }"""
    )
    assert ph.evaluate("() => window.__cobord.canvas.clusterAtViewCenter()") != ""
    expect(ph.locator(".cluster", has_text="Mobilité")).to_be_in_viewport()
    ph.locator(".fab").tap()
    expect(ph.locator(".composer select[name=cluster]")).to_have_value("")
    ph.fill("#composer-text", "Des vélos partagés")
    ph.locator(".composer button[type=submit]").tap()
    expect(ph.locator(".note", has_text="vélos")).to_be_visible()
    cluster = ph.evaluate(
        "() => window.__cobord.session.noteList().find(n => n.text.includes('vélos')).cluster"
    )
    assert cluster == ""

    # Posting follows the phase.
    page = open_board(
        desktop,
        cobord_server.base,
        board["id"],
        join(cobord_server, board["join_code"], "Bram", lang="nl")["token"],
    )
    expect(page.locator(".fab")).to_be_visible()
    r = httpx.post(
        f"{cobord_server.base}/api/boards/{board['id']}/phase",
        json={"phase": "vote"},
        headers={"Authorization": f"Bearer {board['facilitator_token']}"},
    )
    assert r.status_code == 200, r.text
    expect(page.locator(".fab")).to_be_hidden()


def test_the_page_objects_exist_only_for_the_tests(cobord_server: Any, browser: Any) -> None:
    """The product reads no global: `window.__cobord` (and the projector's `__present`) exist
    only on a device that set the tests' flag (static/testhook.js); without it, all works alike."""
    base = cobord_server.base
    board = new_board(cobord_server)
    tests = browser.new_context(**DESKTOP)
    anyone = browser.new_context_without_test_hooks(**DESKTOP)
    try:
        fac = open_board(tests, base, board["id"], board["facilitator_token"])
        fac.evaluate(
            "() => window.__cobord.postNote({text: 'Plus de bancs', color: 'yellow', lang: 'fr',"
            " cluster: ''})"
        )
        page = anyone.new_page()
        page.goto(base + "/")
        page.evaluate(
            "([id, t]) => localStorage.setItem('cobord:token:' + id, JSON.stringify(t))",
            [board["id"], board["facilitator_token"]],
        )
        page.goto(f"{base}/b/{board['id']}")
        expect(page.locator(".note", has_text="Plus de bancs")).to_be_visible()
        assert page.evaluate("() => typeof window.__cobord") == "undefined"
        page.goto(f"{base}/b/{board['id']}/present")
        expect(page.locator(".present-phase")).to_be_visible()
        assert page.evaluate("() => typeof window.__present") == "undefined"
        # The same pages on the tests' device do have them.
        fac.goto(f"{base}/b/{board['id']}/present")
        fac.wait_for_function("() => typeof window.__present === 'object'")
    finally:
        tests.close()
        anyone.close()
