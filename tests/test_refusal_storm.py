"""A client that keeps sending forbidden edits is cut off even when it slips an allowed edit
between them (issue 7: "no refusal storm costs the board; abusive clients are still cut off").

Before the refusal budget (server/refusals.py) only ten refusals *in a row* closed a socket, so
one allowed edit after every nine forbidden ones had the server judge and undo forbidden edits
forever, each one costing the board a compensation frame to everyone.
"""

from __future__ import annotations

from pycrdt import Map

from crdt import protocol
from server import refusals
from server.refusals import RefusalBudget
from tests.conftest import ServerProcess
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
