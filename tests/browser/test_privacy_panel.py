"""The facilitator panel's "data protection and access" section (static/privacy.js), desktop
1366x768: erase a participant, revoke one, a new join code, a new facilitator link, delete the
board; each behind a confirmation, each checked by its effect on the other people's screens."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, _context, run_axe, shot
from tests.browser.helpers import join, new_board, open_board
from tests.browser.test_replay import run_async
from tests.yclient import YClient, add_note

pytestmark = pytest.mark.browser


def _confirm(page: Any, button: str, expected_text: str) -> None:
    """Click a panel button, check the confirmation says what will happen, then confirm."""
    page.locator(button).click()
    sheet = page.locator("dialog.sheet")
    expect(sheet).to_be_visible()
    expect(sheet.locator("#confirm-text")).to_contain_text(expected_text)
    page.locator("#confirm-ok").click()
    expect(sheet).to_have_count(0)


def test_privacy_actions_from_the_panel(
    cobord_server: Any, desktop: Any, browser: Any, axe_path: Any
) -> None:
    base = cobord_server.base
    board = new_board(cobord_server, title="Plein")
    ana = join(cobord_server, board["join_code"], "Ana Peeters")
    bram = join(cobord_server, board["join_code"], "Bram")
    cleo = join(cobord_server, board["join_code"], "Cléo")

    async def write() -> None:
        ws = cobord_server.process.ws
        writer = await YClient(f"{ws}/{board['id']}?token={ana['token']}").connect()
        await writer.change(add_note("a1", "Un potager partagé", author="Ana Peeters", x=40.0))
        await writer.close()

    run_async(write())
    fac = open_board(desktop, base, board["id"], board["facilitator_token"])
    note = fac.locator(".note", has_text="Un potager partagé")
    expect(note).to_contain_text("Ana Peeters")
    others = {}
    for who, person in (("bram", bram), ("cleo", cleo)):
        ctx = _context(browser, PHONE, who)
        others[who] = (ctx, open_board(ctx, base, board["id"], person["token"]))
    # The panel is rebuilt when what it shows changes (presence, the polled participant list and
    # counts): wait until both phones are present and the list is in, so the section stays put.
    fac.wait_for_function(
        "() => window.__cobord.session.presence().filter((p) => p.role === 'participant')"
        ".length >= 2"
    )
    fac.locator("button[aria-controls=fac-panel]").click()
    expect(fac.locator("#privacy-person option")).to_have_count(3)
    fac.wait_for_function("() => window.__cobord.httpResults !== null")  # the polled counts
    section = fac.locator("#privacy")
    section.evaluate("(e) => e.scrollIntoView()")  # re-resolved: a rebuild cannot detach it midway
    expect(section.locator("h3")).to_have_text("Gegevensbescherming en toegang")
    box = section.bounding_box()
    assert box and box["width"] >= 300  # laid out in the panel, not squeezed
    for button in section.locator("button").all():
        height = (button.bounding_box() or {}).get("height", 0)
        assert height >= 32, button.inner_text()
    shot(fac, "privacy-1-section")

    # Erase Ana: her name goes from the board (her idea stays), and from the participant list.
    fac.locator("#privacy-person").select_option(ana["participant_id"])
    fac.locator("#privacy-erase").click()
    expect(fac.locator("#confirm-text")).to_contain_text("Ana Peeters wordt losgekoppeld")
    shot(fac, "privacy-2-confirm-erase")
    fac.locator("#confirm-cancel").click()  # Cancel does nothing
    expect(note).to_contain_text("Ana Peeters")
    _confirm(fac, "#privacy-erase", "Ana Peeters wordt losgekoppeld")
    expect(note).not_to_contain_text("Ana Peeters")
    expect(note).to_be_visible()
    expect(fac.locator("#privacy-person option", has_text="Ana Peeters")).to_have_count(0)
    expect(fac.locator("#fac-panel .pname", has_text="Ana Peeters")).to_have_count(0)

    # Revoke Bram: his screen says he has no access any more, and no longer shows the board; his
    # name stays, marked.
    fac.locator("#privacy-person").select_option(bram["participant_id"])
    _confirm(fac, "#privacy-revoke", "Bram wordt losgekoppeld")
    bram_page = others["bram"][1]
    expect(bram_page.locator("[role=alert]")).to_contain_text("Vous n’avez pas accès")
    expect(bram_page.locator(".note")).to_have_count(0)
    expect(fac.locator("#privacy-person option", has_text="Bram")).to_contain_text(
        "toegang ingetrokken"
    )

    # A new join code: the panel shows it; the old one is unknown.
    old_code = board["join_code"]
    _confirm(fac, "#privacy-new-code", "De huidige code en QR-code werken niet meer")
    expect(fac.locator(".join-code .code")).not_to_have_text(old_code)
    new_code = fac.locator(".join-code .code").inner_text()
    assert httpx.get(f"{base}/api/join/{old_code}").status_code == 404
    assert httpx.get(f"{base}/api/join/{new_code}").status_code == 200

    # A new facilitator link: the page reopens with it; the old link is refused.
    _confirm(fac, "#privacy-new-link", "Alle begeleiderslinks")
    fac.wait_for_function("() => window.__cobord && window.__cobord.session.synced")
    token = fac.evaluate(f"() => JSON.parse(localStorage.getItem('cobord:token:{board['id']}'))")
    assert token != board["facilitator_token"]
    old = httpx.get(
        f"{base}/api/boards/{board['id']}/participants",
        headers={"Authorization": f"Bearer {board['facilitator_token']}"},
    )
    assert old.status_code == 401
    expect(fac.locator(".note", has_text="Un potager partagé")).to_be_visible()

    # Delete the board: the participants still on it are told; the facilitator goes home.
    fac.locator("button[aria-controls=fac-panel]").click()
    fac.locator("#privacy-delete-board").click()  # (click scrolls to it, even after a rebuild)
    expect(fac.locator("#confirm-text")).to_contain_text("definitief verwijderd")
    shot(fac, "privacy-3-confirm-delete")
    violations = run_axe(fac, axe_path)
    assert not violations, violations
    fac.locator("#confirm-ok").click()
    fac.wait_for_url(f"{base}/")
    cleo_page = others["cleo"][1]
    # The board leaves her phone (it stayed on screen under a banner), with the reason.
    expect(cleo_page.locator("[role=alert]")).to_have_text(
        "Ce tableau a été supprimé par l’animateur·rice."
    )
    expect(cleo_page.locator(".note")).to_have_count(0)
    shot(cleo_page, "privacy-4-participant-sees-deleted")
    r = httpx.get(
        f"{base}/api/boards/{board['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 404
    for ctx, page in others.values():
        assert not ctx.errors, ctx.errors
        page.close()
        ctx.close()
    assert not desktop.errors, desktop.errors
    assert DESKTOP["viewport"] == {"width": 1366, "height": 768}
