"""The timer: a new phase clears "time is up"; the minutes field shows the running preset."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.helpers import join, new_board, open_board


def test_new_phase_clears_time_is_up(cobord_server: Any, desktop: Any, phone: Any) -> None:
    board = new_board(cobord_server)
    fac = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    ph = open_board(
        phone,
        cobord_server.base,
        board["id"],
        join(cobord_server, board["join_code"], "Amina")["token"],
    )
    fac.locator("button[aria-controls=fac-panel]").click()
    fac.locator("button[data-fk='tp:3']").click()
    expect(fac.locator("input[data-fk=tm]")).to_have_value("3")
    cobord_server.api(
        "POST", f"/api/boards/{board['id']}/timer", {"seconds": 1}, token=board["facilitator_token"]
    )
    expect(fac.locator(".chip-timer")).to_have_text("◷ Tijd is om")
    expect(ph.locator(".chip-timer")).to_have_text("◷ Temps écoulé")
    # The timer's end is said too (#23), in each reader's language.
    expect(ph.locator("#announcer")).to_contain_text("Temps écoulé")
    expect(fac.locator("#announcer")).to_contain_text("Tijd is om")
    fac.locator("button[data-fk='ph:cluster']").click()
    expect(fac.locator(".chip-phase")).to_contain_text("Groeperen")
    expect(fac.locator(".chip-timer")).to_be_hidden()
    expect(ph.locator(".chip-timer")).to_be_hidden()
