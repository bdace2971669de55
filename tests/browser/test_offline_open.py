"""A board opened once opens again without network (service worker + the state kept on the device);
notes written offline carry "not sent yet" until the server has them, survive a reload while
offline, and reach the facilitator once when the network is back."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import join, new_board, open_board

pytestmark = [pytest.mark.browser, pytest.mark.service_worker]


def post(page: Any, text: str) -> None:
    page.locator(".fab").tap()
    page.fill("#composer-text", text)
    page.locator(".composer button[type=submit]").tap()


def test_board_opens_offline_and_offline_notes_sync(
    cobord_server: Any, phone: Any, desktop: Any
) -> None:
    base = cobord_server.base
    board = new_board(cobord_server)
    me = join(cobord_server, board["join_code"], "Yasmina")
    fac = open_board(desktop, base, board["id"], board["facilitator_token"])
    ph = open_board(phone, base, board["id"], me["token"])
    # The service worker has the app shell and controls the page.
    ph.wait_for_function("() => navigator.serviceWorker.controller !== null")
    post(ph, "Écrite en ligne")
    expect(fac.locator(".note", has_text="Écrite en ligne")).to_be_visible()
    online_note = ph.locator(".note", has_text="Écrite en ligne")
    # Confirmed by the server (its SyncStep2 answer to our probe): no mark.
    expect(online_note.locator(".unsent-mark")).to_have_count(0)
    ph.wait_for_function(f"() => localStorage.getItem('cobord:doc:{board['id']}') !== null")

    # No network: the page comes back from the service worker, the board from the device.
    phone.set_offline(True)
    ph.reload()
    ph.wait_for_function("() => window.__cobord && window.__cobord.session")
    expect(ph.locator(".note", has_text="Écrite en ligne")).to_be_visible()
    expect(ph.locator(".banner-offline")).to_be_visible()
    expect(ph.locator(".note", has_text="Écrite en ligne").locator(".unsent-mark")).to_have_count(0)
    post(ph, "Écrite sans réseau")
    offline_note = ph.locator(".note", has_text="Écrite sans réseau")
    expect(offline_note.locator(".unsent-mark")).to_be_visible()
    expect(offline_note.locator(".unsent-mark")).to_contain_text("Pas encore envoyée")
    shot(ph, "offline-open-01-phone-offline")

    # Still offline, the page reloaded again: the note written offline is still there, still marked.
    ph.wait_for_function(
        "(id) => { const s = localStorage.getItem('cobord:doc:' + id);"
        " return s && atob(JSON.parse(s)).includes('sans r'); }",
        arg=board["id"],
    )
    ph.reload()
    ph.wait_for_function("() => window.__cobord && window.__cobord.session")
    offline_note = ph.locator(".note", has_text="Écrite sans réseau")
    expect(offline_note.locator(".unsent-mark")).to_be_visible()
    expect(fac.locator(".note", has_text="Écrite sans réseau")).to_have_count(0)
    size = ph.locator(".unsent-mark").bounding_box()
    assert size is not None and size["height"] >= 18, size
    shot(ph, "offline-open-02-phone-reloaded-offline")

    # Network back: the note reaches the facilitator once, and the mark goes.
    phone.set_offline(False)
    expect(fac.locator(".note", has_text="Écrite sans réseau")).to_have_count(1, timeout=20_000)
    expect(ph.locator(".unsent-mark")).to_have_count(0, timeout=20_000)
    expect(fac.locator(".note")).to_have_count(2)
    expect(ph.locator(".banner-offline")).to_have_count(0)
    shot(ph, "offline-open-03-phone-back")
    shot(fac, "offline-open-03-desktop")
    assert not phone.errors and not desktop.errors, (phone.errors, desktop.errors)
