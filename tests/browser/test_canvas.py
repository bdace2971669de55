"""The canvas: pinch and wheel zoom, one-finger pan, "fit all", and a locked board."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import join, new_board, open_board

pytestmark = pytest.mark.browser


def view(page: Any) -> dict[str, float]:
    return dict(page.evaluate("() => ({...window.__cobord.canvas.view})"))


def test_pinch_pan_fit_and_a_locked_board_on_a_phone(cobord_server: Any, phone: Any) -> None:
    board = new_board(cobord_server)
    ph = open_board(
        phone,
        cobord_server.base,
        board["id"],
        join(cobord_server, board["join_code"], "Amina")["token"],
    )
    ph.evaluate(
        """() => { const s = window.__cobord.session;
          s.batch(() => { for (let i = 0; i < 12; i++) s.addNote('p' + i, {text: 'Idée ' + i,
            x: (i % 4) * 220, y: Math.floor(i / 4) * 170, color: 'green', cluster: '', lang: 'fr',
            createdAt: Date.now()}); }); }"""
    )
    expect(ph.locator(".note")).to_have_count(12)
    cdp = phone.new_cdp_session(ph)
    box = ph.locator(".viewport").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    # One finger on the background pans.
    before = view(ph)
    cdp.send(
        "Input.dispatchTouchEvent",
        {"type": "touchStart", "touchPoints": [{"x": cx, "y": cy + 250}]},
    )
    for i in range(1, 8):
        cdp.send(
            "Input.dispatchTouchEvent",
            {"type": "touchMove", "touchPoints": [{"x": cx - i * 10, "y": cy + 250 - i * 8}]},
        )
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    ph.wait_for_function("(x) => window.__cobord.canvas.view.x < x - 40", arg=before["x"])

    # Two fingers spreading apart zoom in.
    scale = view(ph)["s"]

    def two(kind: str, d: float) -> None:
        points = (
            []
            if kind == "touchEnd"
            else [{"x": cx - d, "y": cy, "id": 1}, {"x": cx + d, "y": cy, "id": 2}]
        )
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    two("touchStart", 40)
    for d in range(50, 130, 10):
        two("touchMove", d)
    two("touchEnd", 0)
    ph.wait_for_function("(s) => window.__cobord.canvas.view.s > s * 1.5", arg=scale)
    shot(ph, "canvas-01-phone-pinched")

    # "See all" (Tout voir) shows all, even on a phone where that makes the text small: it stopped
    # at readable text (16 px as drawn) and left columns off screen. Every note is inside the
    # viewport, and a pinch from that overview zooms in smoothly (no jump back to the readable
    # floor).
    ph.get_by_role("button", name="Tout voir").tap()
    ph.wait_for_function("() => window.__cobord.canvas.view.s < 0.99")
    ph.wait_for_function(
        """() => [...document.querySelectorAll('.note')].every(n => {
             const r = n.getBoundingClientRect();
             const v = document.querySelector('.viewport').getBoundingClientRect();
             return r.left >= v.left - 1 && r.right <= v.right + 1
                 && r.top >= v.top - 1 && r.bottom <= v.bottom + 1; })"""
    )
    shot(ph, "canvas-02-phone-fit-all")

    # The facilitator locks the board: read-only for the participant, until unlocked.
    expect(ph.locator(".fab")).to_be_visible()
    cobord_server.api(
        "PATCH",
        f"/api/boards/{board['id']}/settings",
        {"locked": True},
        token=board["facilitator_token"],
    )
    expect(ph.locator(".banner-locked")).to_be_visible()
    expect(ph.locator(".fab")).to_be_hidden()
    shot(ph, "canvas-03-phone-locked")
    cobord_server.api(
        "PATCH",
        f"/api/boards/{board['id']}/settings",
        {"locked": False},
        token=board["facilitator_token"],
    )
    expect(ph.locator(".fab")).to_be_visible()
    expect(ph.locator(".banner-locked")).to_have_count(0)
    assert not phone.errors, phone.errors


def test_wheel_zoom_keyboard_pan_and_a_cluster_dragged_merged_deleted(
    cobord_server: Any, desktop: Any
) -> None:
    board = new_board(cobord_server)
    page = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    box = page.locator(".viewport").bounding_box()
    page.mouse.move(box["x"] + 300, box["y"] + 300)
    scale = view(page)["s"]
    page.mouse.wheel(0, -400)
    page.wait_for_function("(s) => window.__cobord.canvas.view.s > s", arg=scale)
    x = view(page)["x"]
    page.locator(".viewport").focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("(x) => window.__cobord.canvas.view.x > x", arg=x)

    # A cluster dragged moves its notes; merged into another; deleted.
    a = page.evaluate("() => window.__cobord.createCluster('Mobilité', {x: 0, y: 0})")
    b = page.evaluate("() => window.__cobord.createCluster('Verdure', {x: 0, y: 400})")
    page.evaluate(
        """(a) => { const app = window.__cobord; const s = app.session;
          s.addNote('n1', {text: 'Vélos', x: 0, y: 600, color: 'blue', cluster: '', lang: 'fr',
                           createdAt: Date.now()});
          app.moveToCluster('n1', a); }""",
        a,
    )
    page.evaluate("() => window.__cobord.canvas.fitAll()")
    head = page.locator(".cluster", has_text="Mobilité").locator(".cluster-head")
    expect(head).to_be_visible()
    before = page.evaluate("() => window.__cobord.session.notes.get('n1').get('x')")
    # The cluster element is kept across renders (its header is rebuilt): measure the cluster.
    box = page.locator(".cluster", has_text="Mobilité").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 20, box["y"] + 8)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] + 180, box["y"] + 8, steps=8)
    page.mouse.up()
    page.wait_for_function(
        "(x) => window.__cobord.session.notes.get('n1').get('x') > x + 50", arg=before
    )
    # Merge "Mobilité" into "Verdure" from the cluster's sheet.
    page.locator(".cluster-title", has_text="Mobilité").click()
    page.locator("dialog select").select_option(b)
    page.get_by_role("button", name="Samenvoegen").click()
    page.wait_for_function(
        "(b) => window.__cobord.session.notes.get('n1').get('cluster') === b", arg=b
    )
    expect(page.locator(".cluster", has_text="Mobilité")).to_have_count(0)
    expect(page.locator(".cluster", has_text="Verdure")).to_contain_text("1 notitie")
    # Deleting is a field: the merged cluster was marked `deleted: true`, the server removed it.
    page.wait_for_function("(a) => !window.__cobord.session.clusters.has(a)", arg=a)
    # Delete "Verdure" from its sheet: its note stays, unclustered; the entry leaves the doc.
    page.locator(".cluster-title", has_text="Verdure").click()
    page.get_by_role("button", name="Ideeëngroep verwijderen").click()
    page.wait_for_function("(b) => !window.__cobord.session.clusters.has(b)", arg=b)
    assert page.evaluate("() => window.__cobord.session.notes.get('n1').get('cluster')") == ""
    expect(page.locator(".cluster")).to_have_count(0)
    expect(page.locator('.note[data-id="n1"]')).to_be_visible()
    shot(page, "canvas-cluster-deleted-desktop")
    assert not desktop.errors, desktop.errors
