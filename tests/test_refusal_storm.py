"""A client that keeps sending forbidden edits is cut off even when it slips an allowed edit
between them (issue 7: "no refusal storm costs the board; abusive clients are still cut off").

Before the refusal budget (server/live/refusals.py) only ten refusals *in a row* closed a socket, so
one allowed edit after every nine forbidden ones had the server judge and undo forbidden edits
forever, each one costing the board a compensation frame to everyone.
"""

from __future__ import annotations

import random
import time

import pytest
from pycrdt import Doc, Map
from websockets import ConnectionClosed

from crdt import protocol
from crdt.rules import Actor
from server.live import refusals
from server.live.refusals import RefusalBudget
from tests.conftest import ServerProcess
from tests.roomnet import Client, Net, two_processes
from tests.yclient import YClient, add_note


def test_the_budget_is_a_burst_then_a_steady_rate() -> None:
    now = 1000.0
    budget = RefusalBudget(now)
    assert sum(budget.spend(now) for _ in range(100)) == refusals.BURST
    assert not budget.spend(now + 0.5)
    assert budget.spend(now + 1.6)  # one more per second
    assert not budget.spend(now + 1.6)


async def test_forbidden_edits_between_allowed_ones_are_cut_off(server: ServerProcess) -> None:
    board = server.create_board()
    ana = await YClient(server.url(board["id"], server.join(board["join_code"])["token"])).connect()
    eve = await YClient(server.url(board["id"], server.join(board["join_code"])["token"])).connect()
    await ana.change(add_note("ana-1", "Ana's idea"))
    await eve.change(add_note("eve-1", "Eve's own"))
    await eve.wait_until(lambda: "ana-1" in eve.notes())
    sent = 0
    for i in range(200):
        count = len(eve.denied)
        await eve.change(
            lambda d, i=i: d.get("notes", type=Map)["ana-1"].__setitem__("text", f"HIJACK {i}")
        )
        sent += 1
        await eve.wait_until(
            lambda n=count: (
                (len(eve.denied) > n and eve.notes()["ana-1"]["text"] == "Ana's idea")
                or eve.close_code is not None
            )
        )
        if eve.close_code is not None:
            break
        if i % 9 == 8:  # an allowed edit: the refusals are never ten in a row
            await eve.change(
                lambda d, i=i: d.get("notes", type=Map)["eve-1"].__setitem__("x", float(i))
            )
    assert eve.close_code == protocol.CloseCode.FORBIDDEN == 4403
    assert eve.close_reason == "too many refused changes"
    # The burst, plus at most what refilled while the test ran (one a second).
    assert refusals.BURST <= len(eve.denied) <= refusals.BURST + 10
    assert sent == len(eve.denied)
    # Ana is still served, and Eve's allowed edits stayed.
    await ana.change(add_note("ana-2", "still served"))
    fresh = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    await fresh.wait_until(lambda: "ana-2" in fresh.notes())
    assert fresh.notes()["ana-1"]["text"] == "Ana's idea"
    assert fresh.notes()["eve-1"]["x"] > 0
    for client in (ana, fresh):
        await client.close()


# ---------------------------------------------------------------- issue 20: the storm, a bystander

STORM_STEPS = 700
BYSTANDER_NOTES = 40


def note_fields(text: str) -> dict[str, object]:
    return {"text": text, "x": 0.0, "y": 0.0, "color": "yellow", "cluster": "", "lang": "en"}


class Storm:
    """Eve deletes Ana's note again and again (refused: undone by re-creating it), reconnecting
    with the same doc whenever she is cut off; Bea posts her own notes as state diffs
    (`doc.get_update(state before)`, what y-websocket's SyncStep2 and `encodeStateAsUpdate(doc,
    sv)` send: her whole delete set, the storm's refused deletes included) at random moments."""

    def __init__(self, eve_nets: list[Net], bea_net: Net, seed: int) -> None:
        self.rng = random.Random(seed)
        self.eve_nets = eve_nets
        self.ana = bea_net.client("participant", "p-ana", name="Ana")
        self.bea = bea_net.client("participant", "p-bea", name="Bea")
        self.eve_doc: Doc = Doc()
        self.eve = self._eve()
        self.eve_connections = [self.eve]
        self.posted = 0

    def _eve(self) -> Client:
        net = self.eve_nets[len(getattr(self, "eve_connections", [])) % len(self.eve_nets)]
        client = Client(net, Actor("participant", "p-eve", "Eve"))
        client.doc = self.eve_doc
        return client.connect()

    def step(self) -> None:
        r = self.rng.random()
        if r < 0.35:
            if self.eve.closed is not None:
                self.eve = self._eve()
                self.eve_connections.append(self.eve)
            elif "ana-1" in self.eve.notes():
                self.eve.change(lambda d: d.get("notes", type=Map).pop("ana-1"))
        elif r < 0.45 and self.posted < BYSTANDER_NOTES:
            before = self.bea.doc.get_state()
            with self.bea.doc.transaction(origin="local"):
                self.bea.doc.get("notes", type=Map)[f"bea-{self.posted}"] = Map(
                    note_fields(f"Bea {self.posted}")
                )
            self.posted += 1
            self.bea.send(protocol.Update(self.bea.doc.get_update(before)))
        else:
            self.rng.choice([self.ana, self.bea, *self.eve_connections[-1:]]).deliver()

    def eve_refusals(self) -> int:
        return sum(len(c.denied) for c in self.eve_connections)


@pytest.mark.parametrize("seed", range(8))
def test_a_bystander_sending_state_diffs_is_never_refused_and_the_storm_is_cut_off(
    seed: int,
) -> None:
    started = time.monotonic()
    net = Net()
    storm = Storm([net], net, seed)
    storm.ana.change(
        lambda d: d.get("notes", type=Map).__setitem__("ana-1", Map(note_fields("Ana's idea")))
    )
    net.settle()
    for _ in range(STORM_STEPS):
        storm.step()
        if storm.rng.random() < 0.3:
            net.commit()
    net.settle()
    bea = storm.bea
    assert bea.denied == [] and bea.closed is None
    viewer = net.client("viewer")
    net.settle()
    notes = viewer.notes()
    assert sum(n.startswith("bea-") for n in notes) == storm.posted == BYSTANDER_NOTES
    assert notes["ana-1"]["text"] == "Ana's idea"
    # The budget follows Eve, not her sockets: reconnecting does not refill it, and while it
    # is spent a new socket of hers is closed before anything is judged (or synced). Each
    # refusal took a token (the burst, plus one a second) or was the one that found none and
    # closed the socket (once per token refilled). (Per socket, as before: over 100.)
    elapsed = time.monotonic() - started
    assert storm.eve_refusals() <= refusals.BURST + 2 * elapsed * refusals.PER_SECOND + 1
    cut = [c.closed for c in storm.eve_connections if c.closed is not None]
    assert len(cut) > 2
    assert set(cut) == {(protocol.CloseCode.FORBIDDEN, "too many refused changes")}
    assert any(not c.denied for c in storm.eve_connections[1:])  # closed as she joined


async def test_the_refusal_budget_is_shared_by_the_processes() -> None:
    started = time.monotonic()
    a, b = two_processes()
    storm = Storm([a, b], b, seed=3)  # Eve alternates between the processes
    await a.settle_async()
    storm.ana.change(
        lambda d: d.get("notes", type=Map).__setitem__("ana-1", Map(note_fields("Ana's idea")))
    )
    await a.settle_async()
    for _ in range(STORM_STEPS):
        storm.step()
        if storm.rng.random() < 0.3:
            await (a, b)[storm.rng.randrange(2)].commit_async()
    await a.settle_async()
    assert storm.bea.denied == [] and storm.bea.closed is None
    elapsed = time.monotonic() - started
    assert {c.net for c in storm.eve_connections} == {a, b}
    # One budget for both processes (each may judge a few before hearing that the shared
    # one is spent: what arrived in one commit window, and the socket that then closes).
    assert storm.eve_refusals() <= refusals.BURST + 2 * elapsed * refusals.PER_SECOND + 4
    assert any(not c.denied and c.closed for c in storm.eve_connections[1:])


@pytest.mark.redis
@pytest.mark.postgres
async def test_the_storm_is_cut_off_across_reconnects_and_processes_a_bystander_never(
    two: tuple[ServerProcess, ServerProcess],
) -> None:
    """Real sockets, two processes: Eve reconnects (alternating processes, same doc) and deletes
    Ana's note again and again; Bea posts a note (a state diff: `YClient.change` sends
    `get_update(state before)`) after each of Eve's connections."""
    first, second = two
    board = first.create_board()
    code, board_id = board["join_code"], board["id"]
    ana = await YClient(first.url(board_id, first.join(code, "Ana")["token"])).connect()
    await ana.change(add_note("ana-1", "Ana's idea"))
    bea = await YClient(second.url(board_id, first.join(code, "Bea")["token"])).connect()
    eve_token, eve_doc = first.join(code, "Eve")["token"], Doc()
    started = time.monotonic()
    denied, closed_at_join, rounds = 0, 0, 24
    for i in range(rounds):
        eve = YClient((first, second)[i % 2].url(board_id, eve_token), eve_doc)
        await eve.connect(wait_synced=False)
        await eve.wait_until(lambda e=eve: e.synced or e.close_code is not None)
        while eve.close_code is None:
            await eve.wait_until(
                lambda e=eve: "ana-1" in e.notes() or e.close_code is not None  # type: ignore[misc]
            )
            if eve.close_code is not None:
                break
            count = len(eve.denied)
            try:
                await eve.change(lambda d: d.get("notes", type=Map).pop("ana-1"))
            except ConnectionClosed:
                # Her budget is shared by her sockets on both processes: the server may close
                # this one between its sync and her next delete. Its close is asserted below.
                await eve.wait_until(lambda e=eve: e.close_code is not None)  # type: ignore[misc]
                break
            await eve.wait_until(
                lambda e=eve, n=count: len(e.denied) > n or e.close_code is not None  # type: ignore[misc]
            )
        assert (eve.close_code, eve.close_reason) == (4403, "too many refused changes")
        closed_at_join += not eve.denied
        denied += len(eve.denied)
        await bea.change(add_note(f"bea-{i}", f"Bea {i}"))
    elapsed = time.monotonic() - started
    # Per socket (before): ten refusals each, 240 in all. Now one budget for Eve everywhere.
    assert denied <= refusals.BURST + 2 * elapsed * refusals.PER_SECOND + 4, (denied, elapsed)
    assert closed_at_join >= 1  # (how many depends on how fast the budget refilled meanwhile)
    viewer = await YClient(first.url(board_id, board["viewer_token"])).connect()
    await viewer.wait_until(lambda: sum(n.startswith("bea-") for n in viewer.notes()) == rounds)
    assert bea.denied == [] and bea.close_code is None
    assert viewer.notes()["ana-1"]["text"] == "Ana's idea"
    for client in (ana, bea, viewer):
        await client.close()


async def test_a_hostile_viewer_does_not_cut_off_the_other_viewers() -> None:
    """Every viewer of a board shares one token: the budget of a viewer is its address's
    (server/ws.py gives it), or one hostile viewer would close every projector."""
    a, b = two_processes()
    projector = b.client("viewer", budget_key="viewer@192.0.2.10")
    hostile = a.client("viewer", budget_key="viewer@198.51.100.66")
    await a.settle_async()
    for i in range(int(refusals.BURST) + 5):
        if hostile.closed is not None:
            hostile = a.client("viewer", budget_key="viewer@198.51.100.66")
        hostile.change(add_note(f"v{i}", "from a viewer"))
        await a.settle_async()
    assert hostile.closed == (protocol.CloseCode.FORBIDDEN, "too many refused changes")
    assert projector.closed is None
    late = a.client("viewer", budget_key="viewer@192.0.2.11")
    await a.settle_async()
    assert late.closed is None and late.synced and not late.notes()
