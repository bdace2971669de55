"""Accessibility: a keyboard-only participant posts, files a note in a cluster and votes from the
outline view; new notes from others are announced in a polite live region. (axe-core on the home,
join, board, panel, outline, results and projector views, of any impact: test_axe_every_state.)"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import join, new_board, open_board

pytestmark = pytest.mark.browser


def tab_to(page: Any, selector: str, limit: int = 60) -> None:
    """Press Tab (only the keyboard) until the element matching `selector` has the focus."""
    target = page.locator(selector)
    for _ in range(limit):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_only_outline(cobord_server: Any, desktop: Any, phone: Any) -> None:
    """Keyboard only: Tab to the field, type, submit; move to a cluster; add and take back a dot."""
    base = cobord_server.base
    board = new_board(cobord_server)
    ftoken = board["facilitator_token"]
    me = join(cobord_server, board["join_code"], "Lotte", lang="nl")
    page = open_board(desktop, base, board["id"], me["token"], "?view=outline")
    other = open_board(
        phone, base, board["id"], join(cobord_server, board["join_code"], "Omar")["token"]
    )
    expect(page.locator(".outline")).to_be_visible()

    # Post: focus the text field with the keyboard, type, Tab to "Publiceren", Enter.
    tab_to(page, "#outline-new-text")
    page.keyboard.type("Meer licht in de tunnel")
    page.keyboard.press("Tab")  # language
    page.keyboard.press("Tab")  # submit
    expect(page.locator("button[data-fk='new-submit']")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".ol-note", has_text="Meer licht in de tunnel")).to_be_visible()
    expect(page.locator("#outline-new-text")).to_be_focused()

    # A note from someone else is announced politely.
    other.locator(".fab").tap()
    other.fill("#composer-text", "Un banc près de l'arrêt")
    other.locator(".composer button[type=submit]").tap()
    expect(page.locator("#announcer[aria-live=polite]")).to_contain_text("Un banc près de l'arrêt")

    # A cluster (created by the facilitator); move the note into it from the keyboard.
    fac = open_board(phone.browser.new_context(), base, board["id"], ftoken)
    fac.evaluate("() => window.__cobord.createCluster('Veiligheid')")
    note = page.locator(".ol-note", has_text="Meer licht")
    select = note.locator("select")
    expect(select.locator("option", has_text="Veiligheid")).to_have_count(1)
    note_id = note.locator("select").get_attribute("data-fk").split(":", 1)[1]
    tab_to(page, f"[data-fk='ms:{note_id}']")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    in_cluster = page.locator("section.ol-cluster:has(h2:has-text('Veiligheid')) .ol-note")
    expect(in_cluster).to_have_count(1)
    expect(in_cluster).to_contain_text("Meer licht")
    fac.context.close()

    # Vote by keyboard.
    cobord_server.api("POST", f"/api/boards/{board['id']}/phase", {"phase": "vote"}, token=ftoken)
    add = page.locator(".ol-note", has_text="Meer licht").locator(".vote-add")
    expect(add).to_be_enabled()
    tab_to(page, f"[data-fk='va:{note_id}']")
    page.keyboard.press("Enter")
    expect(page.locator(".outline-votes")).to_contain_text("Nog 2 van 3")
    expect(page.locator(f"[data-fk='va:{note_id}']")).to_be_focused()
    page.keyboard.press("Shift+Tab")  # the "take a dot back" button just before it
    expect(page.locator(f"[data-fk='vr:{note_id}']")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".outline-votes")).to_contain_text("Nog 3 van 3")
    shot(page, "a11y-02-keyboard-outline")
    assert not desktop.errors, desktop.errors
