"""Tidy up: the facilitator puts one cluster's notes, or the whole board, in a grid with no
overlaps and no holes, as one change (one Yjs update) that every other screen receives."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import join, new_board, open_board

SEED = """() => {
    const s = window.__cobord.session;
    const now = Date.now();
    s.addCluster('c-mob', {title: 'Mobilité', x: 0, y: 0, color: ''});
    s.addCluster('c-ver', {title: 'Verdure', x: 700, y: 40, color: ''});
    // In "Mobilité": a hole (slot 1 empty) and two notes on top of each other.
    const inMob = [[20, 56], [20, 226], [25, 230], [240, 396]];
    inMob.forEach(([x, y], i) => s.addNote('m' + i, {text: 'Mobilité ' + i, x, y, color: 'blue',
      cluster: 'c-mob', lang: 'fr', createdAt: now + i}));
    [[900, 500], [905, 505], [1300, 96]].forEach(([x, y], i) => s.addNote('v' + i, {
      text: 'Verdure ' + i, x, y, color: 'green', cluster: 'c-ver', lang: 'fr',
      createdAt: now + 10 + i}));
    // Loose notes piled in one column, overlapping the clusters.
    for (let i = 0; i < 6; i++) s.addNote('l' + i, {text: 'Idée ' + i, x: 100, y: 60 * i,
      color: 'yellow', cluster: '', lang: 'fr', createdAt: now + 20 + i});
    window.__updates = 0;
    s.doc.on('update', () => { window.__updates += 1; });
}"""

LAYOUT = """() => {
    const s = window.__cobord.session;
    return {notes: s.noteList().map(n => ({id: n.id, x: n.x, y: n.y, cluster: n.cluster})),
            clusters: s.clusterList().map(c => ({id: c.id, x: c.x, y: c.y})),
            frames: [...window.__cobord.canvas.frames(s.noteList(), s.clusterList()).entries()]
              .map(([id, f]) => ({id, ...f}))};
}"""


def _hit(a: dict[str, float], b: dict[str, float]) -> bool:
    return bool(
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def _rect(n: dict[str, Any]) -> dict[str, float]:
    return {"x": n["x"], "y": n["y"], "w": 200, "h": 150}


def _slots(cluster: dict[str, Any], count: int) -> set[tuple[float, float]]:
    return {
        (cluster["x"] + 20 + (i % 2) * 220, cluster["y"] + 56 + (i // 2) * 170)
        for i in range(count)
    }


def _assert_cluster_grid(layout: dict[str, Any], cluster_id: str) -> None:
    cluster = next(c for c in layout["clusters"] if c["id"] == cluster_id)
    members = [(n["x"], n["y"]) for n in layout["notes"] if n["cluster"] == cluster_id]
    assert set(members) == _slots(cluster, len(members)), (cluster, members)  # no hole, no pile


def test_tidy_one_cluster_then_the_whole_board(
    cobord_server: Any, phone: Any, desktop: Any
) -> None:
    board = new_board(cobord_server)
    fac = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    ph = open_board(
        phone,
        cobord_server.base,
        board["id"],
        join(cobord_server, board["join_code"], "Amina")["token"],
    )
    fac.evaluate(SEED)
    ph.wait_for_function("() => window.__cobord.session.noteList().length === 13")
    fac.get_by_role("button", name="Alles tonen").click()
    shot(fac, "tidy-0-before")
    before = fac.evaluate(LAYOUT)

    # One cluster: its notes fill its grid in reading order; nothing else moves.
    fac.locator(".cluster-title", has_text="Mobilité").click()
    fac.locator("#tidy-cluster").click()
    fac.wait_for_function("() => window.__updates >= 1")
    after = fac.evaluate(LAYOUT)
    _assert_cluster_grid(after, "c-mob")
    assert fac.evaluate("() => window.__updates") == 1  # one change
    order = [n["id"] for n in sorted(after["notes"], key=lambda n: (n["y"], n["x"]))]
    assert [i for i in order if i.startswith("m")] == ["m0", "m1", "m2", "m3"]  # reading order
    moved = {n["id"] for n in after["notes"]} - {
        a["id"] for a, b in zip(before["notes"], after["notes"], strict=True) if a == b
    }
    assert moved <= {"m1", "m2", "m3"}, moved

    # The whole board: every note in a grid cell, no overlaps, frames apart, no holes.
    fac.evaluate("() => { window.__updates = 0; }")
    fac.locator("#tidy-board").click()
    fac.wait_for_function("() => window.__updates >= 1")
    layout = fac.evaluate(LAYOUT)
    assert fac.evaluate("() => window.__updates") == 1
    notes = layout["notes"]
    for i, a in enumerate(notes):
        for b in notes[i + 1 :]:
            assert not _hit(_rect(a), _rect(b)), (a, b)
    frames = layout["frames"]
    for i, fa in enumerate(frames):
        for fb in frames[i + 1 :]:
            assert not _hit(fa, fb), (fa, fb)
    for n in notes:
        for f in frames:
            if n["cluster"] != f["id"]:
                assert not _hit(_rect(n), f), (n, f)
    _assert_cluster_grid(layout, "c-mob")
    _assert_cluster_grid(layout, "c-ver")
    loose = sorted((n["y"], n["x"]) for n in notes if not n["cluster"])
    assert loose == sorted((170 * (i // 5), 220 * (i % 5)) for i in range(6)), loose
    # The phone received the same board.
    ph.wait_for_function(
        "(want) => JSON.stringify(window.__cobord.session.noteList().map(n => [n.id, n.x, n.y]))"
        " === want",
        arg=fac.evaluate(
            "() => JSON.stringify(window.__cobord.session.noteList().map(n => [n.id, n.x, n.y]))"
        ),
    )
    shot(fac, "tidy-1-board-desktop")
    expect(ph.locator(".note")).to_have_count(13)
    ph.locator(".tool-text", has_text="Tout voir").tap()
    shot(ph, "tidy-2-board-phone")
    assert ph.locator("#tidy-board").count() == 0  # the facilitator's tool only
