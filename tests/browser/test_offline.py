"""Weak networks: a phone that loses the network sees a banner, keeps posting, and its notes reach
the
other people when it comes back. Drafts written during private writing stay on the device (and
survive
a reload) until the facilitator ends private writing."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import join, new_board, open_board

pytestmark = pytest.mark.browser


def post(page: Any, text: str) -> None:
    page.locator(".fab").tap()
    page.fill("#composer-text", text)
    page.locator(".composer button[type=submit]").tap()


def test_offline_notes_reach_desktop_also_after_closing_the_page(
    cobord_server: Any, phone: Any, desktop: Any
) -> None:
    base = cobord_server.base
    board = new_board(cobord_server)
    me = join(cobord_server, board["join_code"], "Yasmina")
    fac = open_board(desktop, base, board["id"], board["facilitator_token"])
    ph = open_board(phone, base, board["id"], me["token"])

    post(ph, "Avant la coupure")
    expect(fac.locator(".note", has_text="Avant la coupure")).to_be_visible()

    phone.set_offline(True)
    expect(ph.locator(".banner-offline")).to_be_visible()
    # The socket is really down (Chromium's offline emulation alone would keep it open).
    ph.wait_for_function("() => !window.__cobord.session.provider.wsconnected")
    post(ph, "Écrit hors ligne")
    expect(ph.locator(".note", has_text="Écrit hors ligne")).to_be_visible()
    shot(ph, "offline-01-phone-offline")
    expect(fac.locator(".note", has_text="Écrit hors ligne")).to_have_count(0)

    phone.set_offline(False)
    expect(ph.locator(".banner-offline")).to_have_count(0, timeout=15_000)
    expect(fac.locator(".note", has_text="Écrit hors ligne")).to_be_visible(timeout=15_000)
    shot(fac, "offline-02-desktop-received")

    # Nothing typed is lost: a note posted offline, the page closed before the network is back,
    # is sent when the board is opened again.
    phone.set_offline(True)
    expect(ph.locator(".banner-offline")).to_be_visible()
    ph.wait_for_function("() => !window.__cobord.session.provider.wsconnected")
    post(ph, "Perdue ? Non")
    ph.close()
    phone.set_offline(False)
    ph = phone.new_page()
    ph.goto(f"{base}/b/{board['id']}")
    expect(fac.locator(".note", has_text="Perdue ? Non")).to_have_count(1, timeout=15_000)
    expect(ph.locator(".note", has_text="Perdue ? Non")).to_have_count(1)
    # Delivered notes are not posted twice on later visits.
    ph.wait_for_function(
        "(id) => (JSON.parse(localStorage.getItem('cobord:pending:' + id)) || []).length === 0",
        arg=board["id"],
        timeout=15_000,
    )
    ph.reload()
    expect(ph.locator(".note")).to_have_count(3)
    expect(fac.locator(".note")).to_have_count(3)
    assert not phone.errors, phone.errors


def test_private_writing_drafts_stay_on_device(
    cobord_server: Any, phone: Any, desktop: Any
) -> None:
    base = cobord_server.base
    board = new_board(cobord_server)
    cobord_server.api(
        "PATCH",
        f"/api/boards/{board['id']}/settings",
        {"private_writing": True},
        token=board["facilitator_token"],
    )
    me = join(cobord_server, board["join_code"], "Pieter", lang="nl")
    fac = open_board(desktop, base, board["id"], board["facilitator_token"])
    ph = open_board(phone, base, board["id"], me["token"])

    expect(ph.locator(".banner-private")).to_be_visible()
    post(ph, "Brouillon secret")
    drafts = ph.locator(".drafts")
    expect(drafts).to_contain_text("Brouillon secret")
    expect(drafts.locator(".device-only")).to_be_visible()
    ph.reload()
    expect(ph.locator(".drafts")).to_contain_text("Brouillon secret")
    shot(ph, "private-01-phone-draft")
    # Not in the shared document at all (so not on the server, not on other screens).
    assert ph.evaluate("() => window.__cobord.session.notes.size") == 0
    expect(fac.locator(".note")).to_have_count(0)

    # The facilitator ends private writing: the draft is published and reaches the desktop.
    cobord_server.api(
        "PATCH",
        f"/api/boards/{board['id']}/settings",
        {"private_writing": False},
        token=board["facilitator_token"],
    )
    expect(fac.locator(".note", has_text="Brouillon secret")).to_be_visible()
    expect(ph.locator(".drafts")).to_be_hidden()
    shot(fac, "private-02-desktop-published")
    assert not phone.errors, phone.errors
