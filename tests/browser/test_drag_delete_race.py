"""Our web client under issue 7's race: a participant on a phone drags a note while its author,
on a laptop, deletes it at the same moment. Both updates are built before either side has seen
the other's (each page holds its outgoing frames until both edits are made), then reach the
server in one order or the other.

Nothing allowed snaps back (the delete sticks, a move of another note stays where it was
dropped), nobody gets a permission-denied, and neither client resyncs (drops its document and
fetches it again). Every wait is on an event or a condition, never on time.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import join, new_board, open_board

pytestmark = pytest.mark.browser

# Hold a page's outgoing WebSocket frames (the provider's socket), then let them go in order.
HOLD = """() => {
  const ws = window.__cobord.session.provider.ws;
  window.__held = [];
  window.__send = ws.send.bind(ws);
  ws.send = (data) => window.__held.push(data);
}"""
RELEASE = """() => {
  const ws = window.__cobord.session.provider.ws;
  ws.send = window.__send;
  for (const data of window.__held) ws.send(data);
  window.__held = [];
}"""
# Record, on every change of the doc, whether each watched note exists and which cluster it is in.
WATCH = """(ids) => {
  const s = window.__cobord.session;
  window.__log = [];
  window.__denied = [];
  const denied = s.onDenied;
  s.onDenied = (reason) => { window.__denied.push(reason); denied(reason); };
  const snap = () => window.__log.push(Object.fromEntries(ids.map((id) => {
    const m = s.liveNote(id);
    return [id, m ? (m.get("cluster") || "") : null];
  })));
  snap();
  s.doc.on("update", snap);
}"""
# How much of `client`'s history this page holds (its state for that Yjs client id).
STATE_OF = """(client) => {
  const structs = window.__cobord.session.doc.store.clients.get(client);
  if (!structs) return 0;
  const last = structs[structs.length - 1];
  return last.id.clock + last.length;
}"""


def client_id(page: Any) -> int:
    return int(page.evaluate("() => window.__cobord.session.doc.clientID"))


def holds_all_of(page: Any, other: Any) -> None:
    """Wait until `page` has everything `other` wrote (through the server)."""
    cid, clock = client_id(other), other.evaluate(STATE_OF, client_id(other))
    page.wait_for_function(f"() => ({STATE_OF})({cid}) >= {clock}")


def touch_drag(phone: Any, page: Any, note: Any, target: Any) -> None:
    """Long press on the note (until it lifts), move onto the target, release."""
    cdp = phone.new_cdp_session(page)

    def touch(kind: str, x: float, y: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    a, b = note.bounding_box(), target.bounding_box()
    x0, y0 = a["x"] + 40, a["y"] + 20
    touch("touchStart", x0, y0)
    expect(note).to_have_class(re.compile("dragging"))
    tx, ty = b["x"] + b["width"] / 2, b["y"] + b["height"] / 2
    for i in range(1, 11):
        touch("touchMove", x0 + (tx - x0) * i / 10, y0 + (ty - y0) * i / 10)
    touch("touchEnd", 0, 0)
    cdp.detach()


def no_snap_back(log: list[dict[str, str | None]], deleted: str, moved: str, cluster: str) -> None:
    """Once gone, the deleted note never comes back; once filed, the moved note stays filed."""
    gone = [i for i, entry in enumerate(log) if entry[deleted] is None]
    assert gone, log
    assert all(entry[deleted] is None for entry in log[gone[0] :]), log
    if moved != deleted:
        filed = [i for i, entry in enumerate(log) if entry[moved] == cluster]
        assert filed, log
        assert all(entry[moved] == cluster for entry in log[filed[0] :]), log


@pytest.mark.parametrize("first", ["drag", "delete"])
def test_phone_drags_a_note_while_its_author_deletes_it(
    cobord_server: Any, phone: Any, desktop: Any, first: str
) -> None:
    base = cobord_server.base
    board = new_board(cobord_server)
    cobord_server.api(
        "POST",
        f"/api/boards/{board['id']}/phase",
        {"phase": "cluster"},
        token=board["facilitator_token"],
    )
    bram = open_board(
        desktop,
        base,
        board["id"],
        join(cobord_server, board["join_code"], "Bram", lang="nl")["token"],
    )
    for i, (note_id, text) in enumerate(
        [("n-x", "Deelfietsen"), ("n-y", "Meer bankjes"), ("n-z", "Een moestuin")]
    ):
        bram.evaluate(
            "([id, text, x]) => window.__cobord.session.addNote(id, {text, x, y: 0,"
            " color: 'yellow', cluster: '', lang: 'nl', author: 'Bram', createdAt: Date.now()})",
            [note_id, text, i * 220],
        )
    bram.evaluate("() => window.__cobord.createCluster('Mobiliteit', {x: 0, y: 400})")
    amina = open_board(
        phone, base, board["id"], join(cobord_server, board["join_code"], "Amina")["token"]
    )
    amina.evaluate(
        "() => { const c = window.__cobord.canvas; c.view = {x: 20, y: 20, s: 0.6};"
        " c.applyView(); }"
    )
    cluster = amina.locator(".cluster", has_text="Mobiliteit")
    expect(cluster).to_be_visible()
    cluster_id = amina.evaluate("() => window.__cobord.session.clusterList()[0].id")
    for page in (amina, bram):
        expect(page.locator(".note")).to_have_count(3)
        page.evaluate(WATCH, ["n-x", "n-y", "n-z"])

    def race(moved: str, deleted: str, name: str) -> None:
        for page in (amina, bram):
            page.evaluate(HOLD)
        # Amina's drop and Bram's delete, each built before the other is seen.
        touch_drag(phone, amina, amina.locator(f'.note[data-id="{moved}"]'), cluster)
        amina.wait_for_function(
            f"() => window.__cobord.session.notes.get('{moved}').get('cluster') === '{cluster_id}'"
        )
        bram.evaluate(f"() => window.__cobord.session.deleteNote('{deleted}')")
        # Deleting is a field: marked at once here, the entry removed by the server's answer.
        assert bram.evaluate(
            f"() => window.__cobord.session.notes.get('{deleted}').get('deleted') === true"
        )
        one, two = (amina, bram) if first == "drag" else (bram, amina)
        one.evaluate(RELEASE)
        holds_all_of(two, one)  # the server has handled the first before the second is sent
        two.evaluate(RELEASE)
        holds_all_of(one, two)
        holds_all_of(two, one)
        for page in (amina, bram):
            expect(page.locator(f'.note[data-id="{deleted}"]')).to_have_count(0)
            page.wait_for_function(f"() => !window.__cobord.session.notes.has('{deleted}')")
            if moved != deleted:
                assert (
                    page.evaluate(
                        f"() => window.__cobord.session.notes.get('{moved}').get('cluster')"
                    )
                    == cluster_id
                )
        shot(amina, f"drag-delete-race-{first}-{name}-phone")
        shot(bram, f"drag-delete-race-{first}-{name}-desktop")

    # 1. The note being dragged is the one deleted: the delete wins, the move is a no-op.
    race("n-x", "n-x", "same")
    # 2. Another note is deleted meanwhile: the move stays where it was dropped.
    race("n-y", "n-z", "other")
    expect(cluster).to_contain_text("1 note")
    # A fresh joiner sees the same board.
    fresh = open_board(
        desktop, base, board["id"], join(cobord_server, board["join_code"], "Chloé")["token"]
    )
    notes = "() => window.__cobord.session.noteList().map((n) => [n.id, n.cluster])"
    assert fresh.evaluate(notes) == amina.evaluate(notes) == bram.evaluate(notes)
    assert fresh.evaluate(notes) == [["n-y", cluster_id]]
    for page in (amina, bram):
        log = page.evaluate("() => window.__log")
        no_snap_back(log, "n-x", "n-x", cluster_id)
        no_snap_back(log, "n-z", "n-y", cluster_id)
        assert page.evaluate("() => window.__denied") == []
        assert page.evaluate("() => window.__cobord.session.resyncs || 0") == 0
    assert not phone.errors, phone.errors
    assert not desktop.errors, desktop.errors


def test_a_delete_that_loses_the_key_to_a_forbidden_one_is_written_again(
    cobord_server: Any, phone: Any, desktop: Any
) -> None:
    """Bram deletes his note while Amina's client (scripted: the UI offers her no delete) writes
    a forbidden `deleted: true` under the highest Yjs client id. Yjs keeps her write of the key;
    the server undoes it, so Bram's is lost with no refusal and the note comes back on his
    screen: his client sees that and writes the delete once more, which sticks."""
    base = cobord_server.base
    board = new_board(cobord_server)
    bram = open_board(
        desktop, base, board["id"], join(cobord_server, board["join_code"], "Bram")["token"]
    )
    bram.evaluate(
        "() => window.__cobord.session.addNote('n-b', {text: 'Meer bankjes', x: 0, y: 0,"
        " color: 'yellow', cluster: '', lang: 'nl', author: 'Bram', createdAt: Date.now()})"
    )
    amina = open_board(
        phone, base, board["id"], join(cobord_server, board["join_code"], "Amina")["token"]
    )
    amina.wait_for_function("() => window.__cobord.session.liveNote('n-b') !== null")
    bram.evaluate(HOLD)
    bram.evaluate("() => window.__cobord.session.deleteNote('n-b')")
    amina.evaluate(
        "() => { const s = window.__cobord.session; s.doc.clientID = 0xffffffff;"
        " s.doc.transact(() => s.notes.get('n-b').set('deleted', true)); }"
    )
    amina.wait_for_function(
        "() => window.__cobord.session.denials === 1"
        " && window.__cobord.session.liveNote('n-b') !== null"
    )
    holds_all_of(bram, amina)  # Bram's page has her write, and the server's undo of it
    bram.evaluate(RELEASE)
    for page in (bram, amina):
        page.wait_for_function("() => !window.__cobord.session.notes.has('n-b')")
        expect(page.locator('.note[data-id="n-b"]')).to_have_count(0)
    assert bram.evaluate("() => window.__cobord.session.denials") == 0
    assert amina.evaluate("() => window.__cobord.session.denials") == 1
    shot(bram, "delete-lost-key-written-again-desktop")
    assert not phone.errors, phone.errors
    assert not desktop.errors, desktop.errors
