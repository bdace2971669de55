"""Moderation in the browser: on an anonymous board the facilitator hides a phone's note from its
sheet (with a reason); another participant's screen loses it and the WebSocket frames that
participant receives from then on, and all a fresh joiner receives, never carry its text; the author
sees it in "hidden by the facilitator" with the reason; the panel lists it and restores it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, _context, shot
from tests.browser.helpers import join, new_board, open_board

pytestmark = pytest.mark.browser

TEXT = "Le gardien est incompétent"
STORE_TOKEN = "([id, t]) => localStorage.setItem('cobord:token:' + id, JSON.stringify(t))"


def record_frames(page: Any) -> list[bytes]:
    frames: list[bytes] = []

    def on_socket(ws: Any) -> None:
        ws.on("framereceived", lambda p: frames.append(p if isinstance(p, bytes) else p.encode()))

    page.on("websocket", on_socket)
    return frames


def test_hide_and_restore_a_note(
    cobord_server: Any, desktop: Any, phone: Any, browser: Any
) -> None:
    base = cobord_server.base
    board = new_board(cobord_server)
    fac_token = board["facilitator_token"]
    settings = f"/api/boards/{board['id']}/settings"
    cobord_server.api("PATCH", settings, {"anonymous": True}, token=fac_token)
    author = join(cobord_server, board["join_code"], "Awa")
    other = join(cobord_server, board["join_code"], "Bram", lang="nl")
    fac = open_board(desktop, base, board["id"], fac_token)
    ph = open_board(phone, base, board["id"], author["token"])

    other_ctx = _context(browser, {**PHONE, "locale": "nl-BE"}, "other")
    fresh_ctx = _context(browser, PHONE, "fresh")
    try:
        op = other_ctx.new_page()
        seen = record_frames(op)
        op.goto(base + "/")
        op.evaluate(STORE_TOKEN, [board["id"], other["token"]])
        op.goto(f"{base}/b/{board['id']}")
        op.wait_for_function("() => window.__cobord && window.__cobord.session.synced")

        ph.locator(".fab").tap()
        ph.fill("#composer-text", TEXT)
        ph.locator(".composer button[type=submit]").tap()
        expect(op.locator(".note", has_text=TEXT)).to_be_visible()
        assert any(TEXT.encode() in f for f in seen)  # the check below can see it
        mark = len(seen)

        # The facilitator hides it from the note's sheet, with a reason.
        fac.locator(".note", has_text=TEXT).locator(".note-open").click()
        fac.locator("#mod-hide").click()
        fac.fill("#mod-reason", "Attaque personnelle")
        shot(fac, "moderation-01-hide-sheet")
        fac.locator("#mod-hide-confirm").click()
        expect(fac.locator(".note", has_text=TEXT)).to_have_count(0)
        expect(op.locator(".note", has_text=TEXT)).to_have_count(0)
        op.wait_for_function("() => window.__cobord.session.notes.size === 0")
        assert len(seen) > mark and not any(TEXT.encode() in f for f in seen[mark:])

        # The author sees why; the other participant sees nothing of it.
        tray = ph.locator("#hidden-tray")
        expect(tray).to_contain_text(TEXT)
        expect(tray).to_contain_text("Attaque personnelle")
        expect(op.locator("#hidden-tray")).to_be_hidden()
        # ... and is told so in a live region (#23), in their language; the other is told nothing.
        expect(ph.locator("#announcer")).to_contain_text(
            f"L’animateur ou l’animatrice a masqué votre note : « {TEXT} »"
        )
        assert "verborgen" not in (op.locator("#announcer").text_content() or "")
        shot(ph, "moderation-02-author-tray")
        shot(op, "moderation-02-other-phone")

        # Someone joining now receives none of it.
        fp = fresh_ctx.new_page()
        fresh = record_frames(fp)
        fp.goto(base + "/")
        newcomer = join(cobord_server, board["join_code"], "Cem")
        fp.evaluate(STORE_TOKEN, [board["id"], newcomer["token"]])
        fp.goto(f"{base}/b/{board['id']}")
        fp.wait_for_function("() => window.__cobord && window.__cobord.session.synced")
        assert fresh and not any(TEXT.encode() in f for f in fresh)

        # The panel lists it; "restore" puts it back for everyone.
        fac.locator("[data-fk=panel]").click()
        hidden = fac.locator("#panel-hidden")
        expect(hidden).to_contain_text(TEXT)
        expect(hidden).to_contain_text("Attaque personnelle")
        hidden.evaluate("(e) => e.scrollIntoView()")  # re-resolved: a rebuild cannot detach it
        shot(fac, "moderation-03-panel")
        hidden.get_by_role("button").click()
        expect(op.locator(".note", has_text=TEXT)).to_be_visible()
        expect(fp.locator(".note", has_text=TEXT)).to_be_visible()
        expect(tray).to_be_hidden()
        expect(hidden).not_to_contain_text(TEXT)
        shot(op, "moderation-04-restored")
        for ctx in (desktop, phone, other_ctx, fresh_ctx):
            assert not ctx.errors, ctx.errors
    finally:
        other_ctx.close()
        fresh_ctx.close()
