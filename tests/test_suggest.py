"""Cluster suggestions: quality on the labelled set, facilitator-only API, accepting one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from pycrdt import Map

from server import suggest
from tests.conftest import ServerProcess
from tests.yclient import YClient, add_note

DATA = Path(__file__).resolve().parent / "data" / "labelled_notes.json"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def labelled() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(DATA.read_text())["notes"]
    return rows


def test_labelled_set_is_big_and_trilingual() -> None:
    rows = labelled()
    assert len(rows) >= 60
    assert {r["lang"] for r in rows} == {"fr", "nl", "en"}
    assert len({r["label"] for r in rows}) >= 6


def test_pairwise_f1_well_above_plain_baseline() -> None:
    rows = labelled()
    notes = [suggest.NoteText(r["id"], r["text"], r["lang"], {}) for r in rows]
    groups = [s["notes"] for s in suggest.suggest(notes)]
    _, _, f1 = suggest.pairwise_f1(groups, {r["id"]: r["label"] for r in rows})
    assert f1 >= 0.7, f1


def test_pairwise_f1_counts_pairs() -> None:
    labels = {"a": "x", "b": "x", "c": "y", "d": "y"}
    assert suggest.pairwise_f1([["a", "b"], ["c", "d"]], labels) == (1.0, 1.0, 1.0)
    assert suggest.pairwise_f1([["a", "b", "c", "d"]], labels) == (2 / 6, 1.0, 0.5)
    assert suggest.pairwise_f1([], labels) == (0.0, 0.0, 0.0)


async def test_suggestions_facilitator_only_and_accept_in_one_change(
    server: ServerProcess,
) -> None:
    board = server.create_board()
    person = server.join(board["join_code"], name="Awa", lang="fr")
    writer = await YClient(server.url(board["id"], person["token"])).connect()
    watcher = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    rows = [r for r in labelled() if r["label"] in ("benches", "housing")]
    try:
        for r in rows:
            await writer.change(add_note(r["id"], r["text"], lang=r["lang"]))
        await watcher.wait_until(lambda: len(watcher.notes()) == len(rows))
        url = f"/api/boards/{board['id']}/cluster-suggestions"
        async with httpx.AsyncClient(base_url=server.http, timeout=60) as http:
            r = await http.get(url, headers=auth(person["token"]))
            assert r.status_code == 403
            r = await http.get(url, headers=auth(board["facilitator_token"]))
            assert r.status_code == 200, r.text
            suggestions = r.json()["suggestions"]
            assert suggestions and all(set(s) == {"label", "notes"} for s in suggestions)
            top = suggestions[0]
            truth = {x["id"]: x["label"] for x in rows}
            assert len({truth[i] for i in top["notes"]}) == 1  # one topic, several languages
            assert len({x["lang"] for x in rows if x["id"] in top["notes"]}) >= 2
            assert isinstance(top["label"], dict) and top["label"]
            # Accepting creates the cluster and moves every note in one server change.
            fac = auth(board["facilitator_token"])
            log_url = f"/api/boards/{board['id']}/replay/updates"
            last = (await http.get(log_url, headers=fac)).json()[-1]["seq"]
            r = await http.post(
                url + "/accept",
                json={"notes": top["notes"], "title": "Bancs"},
                headers=auth(board["facilitator_token"]),
            )
            assert r.status_code == 201, r.text
            cluster_id = r.json()["cluster_id"]
            clusters = watcher.doc.get("clusters", type=Map)
            await watcher.wait_until(
                lambda: all(watcher.notes()[i].get("cluster") == cluster_id for i in top["notes"])
            )
            assert clusters[cluster_id]["title"] == "Bancs"
            after = (await http.get(log_url, params={"after": last}, headers=fac)).json()
            assert [u["actor"] for u in after] == ["server"]
            # Participants may not accept; unknown notes are refused and nothing moves.
            r = await http.post(
                url + "/accept", json={"notes": ["n01"]}, headers=auth(person["token"])
            )
            assert r.status_code == 403
            r = await http.post(
                url + "/accept",
                json={"notes": ["nope"]},
                headers=auth(board["facilitator_token"]),
            )
            assert (r.status_code, r.json()["error"]) == (404, "unknown_note")
            r = await http.post(
                url + "/accept", json={"notes": []}, headers=auth(board["facilitator_token"])
            )
            assert (r.status_code, r.json()["error"]) == (422, "bad_notes")
            # Notes already in a cluster are not suggested again.
            r = await http.get(url, headers=auth(board["facilitator_token"]))
            placed = set(top["notes"])
            assert all(not placed & set(s["notes"]) for s in r.json()["suggestions"])
    finally:
        await writer.close()
        await watcher.close()
