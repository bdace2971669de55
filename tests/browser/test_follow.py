"""Follow me: the facilitator (desktop) brings everyone to a cluster; a phone participant's canvas
centres on it (measured in px), the projector shows only that cluster; the participant steps out
and is not dragged to the next focus; stepping back in goes there."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, _context, shot
from tests.browser.helpers import join, new_board, open_board

pytestmark = pytest.mark.browser

SETUP = """([clusters]) => {
  const app = window.__cobord;
  const s = app.session;
  s.batch(() => {
    for (const c of clusters) {
      s.addCluster(c.id, { title: c.title, x: c.x, y: c.y, color: "" });
      c.notes.forEach((text, i) => s.addNote(c.id + "-n" + i, {
        text, x: c.x + 20 + (i % 2) * 220, y: c.y + 56 + Math.floor(i / 2) * 170,
        color: "yellow", cluster: c.id, lang: "fr", createdAt: Date.now() + i }));
    }
  });
}"""

CLUSTERS = [
    {"id": "cl-mob", "title": "Mobilité", "x": 0, "y": 0,
     "notes": ["Plus de bus", "Pistes cyclables"]},
    {"id": "cl-log", "title": "Logement", "x": 2600, "y": 1800,
     "notes": ["Loyers", "Rénovation", "Colocation"]},
]

CENTRE_OFFSET = """(id) => {
  const el = document.querySelector(`.cluster[data-id="${id}"]`);
  const vp = document.querySelector('.viewport').getBoundingClientRect();
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return { dx: (r.left + r.width / 2) - (vp.left + vp.width / 2),
           dy: (r.top + r.height / 2) - (vp.top + vp.height / 2) };
}"""


def bring_cluster(fac: Any, cluster_id: str) -> None:
    fac.locator(f'.cluster[data-id="{cluster_id}"] .cluster-title').click()
    fac.locator("#follow-cluster").click()


def centred(cluster_id: str) -> str:
    """JS predicate: the cluster's centre is within 2 px of the viewport's."""
    return (
        f"() => {{ const o = ({CENTRE_OFFSET})('{cluster_id}');"
        " return o && Math.abs(o.dx) < 2 && Math.abs(o.dy) < 2; }"
    )


TEXT_PX = (
    "() => window.__cobord.canvas.view.s"
    " * parseFloat(getComputedStyle(document.querySelector('.note-open')).fontSize)"
)


def test_follow_me_phone_and_projector(
    cobord_server: Any, desktop: Any, phone: Any, browser: Any
) -> None:
    base = cobord_server.base
    board = new_board(cobord_server)
    me = join(cobord_server, board["join_code"], "Awa")
    fac = open_board(desktop, base, board["id"], board["facilitator_token"])
    fac.evaluate(SETUP, [CLUSTERS])
    ph = open_board(phone, base, board["id"], me["token"])
    expect(ph.locator(".note")).to_have_count(5)

    projector_ctx = _context(browser, DESKTOP, "projector")
    try:
        proj = projector_ctx.new_page()
        proj.goto(f"{base}/b/{board['id']}/present#v={board['viewer_token']}")
        proj.wait_for_function("() => window.__present && window.__present.session.synced")
        expect(proj.locator("#present-stage .pnote")).to_have_count(5)

        # 1. The facilitator brings everyone to "Logement" (far from where the phone looks).
        before = ph.evaluate(CENTRE_OFFSET, "cl-log")
        assert before is None or abs(before["dx"]) > 300 or abs(before["dy"]) > 300, before
        bring_cluster(fac, "cl-log")
        expect(fac.locator("#follow-bar")).to_contain_text("Logement")
        expect(ph.locator("#follow-bar")).to_contain_text("Logement")
        ph.wait_for_function(centred("cl-log"))
        off = ph.evaluate(CENTRE_OFFSET, "cl-log")
        assert abs(off["dx"]) < 2 and abs(off["dy"]) < 2, off
        # Readable on the phone: note text stays at >= 16 px as drawn.
        size = ph.evaluate(TEXT_PX)
        assert size >= 15.99, size
        expect(proj.locator("#present-focus")).to_contain_text("Logement")
        expect(proj.locator("#present-stage .pnote")).to_have_count(3)
        expect(proj.locator("#present-stage")).not_to_contain_text("Plus de bus")
        shot(fac, "follow-01-facilitator")
        shot(ph, "follow-01-phone-centred")
        shot(proj, "follow-01-projector")

        # 2. The participant steps out, then the facilitator shows "Mobilité": the phone stays put.
        ph.locator("#follow-out").tap()
        expect(ph.locator("#follow-in")).to_be_visible()
        kept = "() => JSON.parse(localStorage.getItem('cobord:follow:' + window.__cobord.id))"
        assert ph.evaluate(kept) is False
        view = ph.evaluate("() => ({ ...window.__cobord.canvas.view })")
        bring_cluster(fac, "cl-mob")
        expect(proj.locator("#present-focus")).to_contain_text("Mobilité")
        expect(proj.locator("#present-stage .pnote")).to_have_count(2)
        expect(ph.locator("#follow-bar")).to_contain_text("Mobilité")
        assert ph.evaluate("() => ({ ...window.__cobord.canvas.view })") == view
        off = ph.evaluate(CENTRE_OFFSET, "cl-mob")
        assert off is None or abs(off["dx"]) > 300 or abs(off["dy"]) > 300, off
        shot(ph, "follow-02-phone-stepped-out")
        shot(proj, "follow-02-projector-follows")

        # 3. Back in: the phone goes to the current focus at once.
        ph.locator("#follow-in").tap()
        ph.wait_for_function(centred("cl-mob"))
        expect(ph.locator("#follow-out")).to_be_visible()
        shot(ph, "follow-03-phone-back-in")

        # 4. The facilitator stops guiding: the projector shows the whole board again.
        fac.locator("#follow-stop").click()
        expect(proj.locator("#present-stage .pnote")).to_have_count(5)
        expect(ph.locator("#follow-bar")).to_be_hidden()
        assert not desktop.errors and not phone.errors and not projector_ctx.errors
    finally:
        projector_ctx.close()
