"""Replay and exports from the update log, against a real server."""

from __future__ import annotations

import base64
import csv
import io
import time
from typing import Any

import httpx
from pycrdt import Doc, Map

from crdt import replay
from tests.conftest import ServerProcess
from tests.yclient import YClient, add_note


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def run_workshop(server: ServerProcess, board: dict[str, Any]) -> float:
    """Two notes, a phase change between them; returns a time between the two notes."""
    fac = auth(board["facilitator_token"])
    writer = await YClient(server.url(board["id"], board["facilitator_token"])).connect()
    watcher = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    await writer.change(add_note("first", "Un potager partagé"))
    await watcher.wait_until(lambda: "first" in watcher.notes())  # committed, so logged before:
    between = time.time()
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post(
            f"/api/boards/{board['id']}/phase", json={"phase": "cluster"}, headers=fac
        )
        assert r.status_code == 200
    await writer.change(add_note("second", "Meer bankjes"))
    await watcher.wait_until(lambda: "second" in watcher.notes())
    await writer.close()
    await watcher.close()
    return between


async def test_replay_timeline_state_at_a_time_and_update_stream(server: ServerProcess) -> None:
    board = server.create_board()
    between = await run_workshop(server, board)
    fac = auth(board["facilitator_token"])
    async with httpx.AsyncClient(base_url=server.http) as http:
        timeline = (await http.get(f"/api/boards/{board['id']}/replay", headers=fac)).json()
        assert [b["phase"] for b in timeline["bookmarks"]] == ["ideate", "cluster"]
        assert timeline["updates"] >= 4 and timeline["start"] <= between <= timeline["end"]

        r = await http.get(
            f"/api/boards/{board['id']}/replay/state", params={"at": between}, headers=fac
        )
        assert r.headers["content-type"] == "application/octet-stream"
        then = Doc()
        then.apply_update(r.content)
        assert set(then.get("notes", type=Map).to_py() or {}) == {"first"}
        assert then.get("meta", type=Map).get("phase") == "ideate"

        r = await http.get(f"/api/boards/{board['id']}/replay/state", headers=fac)
        now = Doc()
        now.apply_update(r.content)
        assert set(now.get("notes", type=Map).to_py() or {}) == {"first", "second"}

        # Playing the stream from the start rebuilds the same board.
        stream = (
            await http.get(
                f"/api/boards/{board['id']}/replay/updates",
                params={"after": 0, "limit": 2},
                headers=fac,
            )
        ).json()
        assert len(stream) == 2 and stream[0]["actor"] == "server"
        rest = (
            await http.get(
                f"/api/boards/{board['id']}/replay/updates",
                params={"after": stream[-1]["seq"]},
                headers=fac,
            )
        ).json()
        played = Doc()
        for entry in stream + rest:
            played.apply_update(base64.b64decode(entry["update"]))
        assert played.get("notes", type=Map).to_py() == now.get("notes", type=Map).to_py()

        participant = server.join(board["join_code"])
        r = await http.get(f"/api/boards/{board['id']}/replay", headers=auth(participant["token"]))
        assert r.status_code == 403
        r = await http.get(
            f"/api/boards/{board['id']}/replay/state", params={"at": "soon"}, headers=fac
        )
        assert r.status_code == 422


async def test_exports(server: ServerProcess) -> None:
    board = server.create_board(title="Parc", groups=["habitant·e", "chercheur·e"])
    await run_workshop(server, board)
    fac = auth(board["facilitator_token"])
    voter = server.join(board["join_code"], group="habitant·e")
    async with httpx.AsyncClient(base_url=server.http) as http:
        await http.post(f"/api/boards/{board['id']}/phase", json={"phase": "vote"}, headers=fac)
        r = await http.post(
            f"/api/boards/{board['id']}/votes",
            json={"note_id": "second", "delta": 1},
            headers=auth(voter["token"]),
        )
        assert r.status_code == 200
        data = (await http.get(f"/api/boards/{board['id']}/export.json", headers=fac)).json()
        assert data["board"]["title"] == "Parc"
        assert set(data["notes"]) == {"first", "second"}
        assert data["results"]["notes"][0]["note_id"] == "second"
        assert data["participants_by_group"] == {"habitant·e": 1}
        r = await http.get(f"/api/boards/{board['id']}/export.csv", headers=fac)
        assert r.headers["content-disposition"].endswith('.csv"')
        rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
        assert [row["note_id"] for row in rows] == ["second", "first"]
        assert rows[0]["dots:habitant·e"] == "1" and rows[0]["text"] == "Meer bankjes"


def test_phase_events_follow_phase_changes() -> None:
    doc = Doc()
    meta = doc.get("meta", type=Map)
    decoder = replay.EventDecoder()
    found = []
    for seq, phase in enumerate(["ideate", "ideate", "vote", "results"], start=1):
        state = doc.get_state()
        meta["phase"] = phase
        found += decoder.apply(seq, float(seq), "facilitator", doc.get_update(state))
    assert [(e.seq, e.kind, e.target) for e in found] == [
        (1, "phase_changed", "ideate"),
        (3, "phase_changed", "vote"),
        (4, "phase_changed", "results"),
    ]
