"""The HTTP API against a real server: boards, joining, tokens, facilitator commands, votes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pycrdt import Map

from server.http.boards import JOIN_ALPHABET
from tests.conftest import ServerProcess
from tests.yclient import YClient, add_note


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_create_board_returns_ids_code_and_tokens(server: ServerProcess) -> None:
    board = server.create_board(title="Quartier Nord", groups=["habitant·e", "chercheur·e"])
    assert set(board) == {"id", "title", "join_code", "facilitator_token", "viewer_token"}
    assert board["title"] == "Quartier Nord"
    assert len(board["join_code"]) == 6 and set(board["join_code"]) <= set(JOIN_ALPHABET)
    assert not set("0O1IL") & set(JOIN_ALPHABET)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "bad_title"),
        ({"title": ""}, 422, "bad_title"),
        ({"title": "x" * 201}, 422, "bad_title"),
        ({"title": "ok", "groups": "not a list"}, 422, "bad_groups"),
        ({"title": "ok", "languages": ["de"]}, 422, "bad_languages"),
    ],
)
def test_create_board_rejects_bad_input(
    server: ServerProcess, body: dict[str, Any], status: int, code: str
) -> None:
    response = httpx.post(f"{server.http}/api/boards", json=body)
    assert response.status_code == status
    assert response.json()["error"] == code and response.json()["message"]


def test_bad_json_is_400(server: ServerProcess) -> None:
    response = httpx.post(f"{server.http}/api/boards", content=b"{nope")
    assert response.status_code == 400 and response.json()["error"] == "bad_json"


def test_join_by_code(server: ServerProcess) -> None:
    board = server.create_board(groups=["résident", "institution"])
    info = httpx.get(f"{server.http}/api/join/{board['join_code'].lower()}").json()
    assert info["board_id"] == board["id"] and info["groups"] == ["résident", "institution"]
    joined = server.join(board["join_code"], name="Fatima", group="résident", lang="fr")
    assert joined["board_id"] == board["id"] and joined["participant_id"] and joined["token"]
    me = httpx.get(f"{server.http}/api/boards/{board['id']}", headers=auth(joined["token"]))
    assert me.status_code == 200
    body = me.json()
    assert body["you"] == {
        "role": "participant",
        "participant_id": joined["participant_id"],
        "name": "Fatima",
    }
    assert [p["name"] for p in body["participants"]] == ["Fatima"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"code": "ZZZZZZ", "name": "A"}, 404),
        ({"name": "A"}, 400),
        ({"code": "{code}"}, 400),
        ({"code": "{code}", "name": "A", "group": "not a group"}, 422),
        ({"code": "{code}", "name": "A", "lang": "de"}, 422),
    ],
)
def test_join_errors(server: ServerProcess, body: dict[str, Any], status: int) -> None:
    board = server.create_board(groups=["a"])
    body = {
        k: (v.format(code=board["join_code"]) if isinstance(v, str) else v) for k, v in body.items()
    }
    response = httpx.post(f"{server.http}/api/join", json=body)
    assert response.status_code == status, response.text
    assert response.json()["message"]


def test_board_access_needs_the_right_token(server: ServerProcess) -> None:
    board, other = server.create_board(), server.create_board()
    url = f"{server.http}/api/boards/{board['id']}"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=auth("garbage")).status_code == 401
    assert httpx.get(url, headers=auth(other["facilitator_token"])).status_code == 403
    assert (
        httpx.get(
            f"{server.http}/api/boards/nope", headers=auth(board["facilitator_token"])
        ).status_code
        == 404
    )
    ok = httpx.get(url, headers=auth(board["viewer_token"]))
    assert ok.status_code == 200 and ok.json()["you"]["role"] == "viewer"
    assert ok.json()["join_code"] == board["join_code"]  # the projector shows the join QR code


def test_the_web_client_is_served_compressed(server: ServerProcess) -> None:
    for path in ("/", "/j/ABCDEF", "/app.js", "/vendor/yjs.bundle.js", "/style.css"):
        response = httpx.get(f"{server.http}{path}", headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, path
    assert response.headers["content-encoding"] == "gzip"


async def test_facilitator_commands_reach_every_client_live(server: ServerProcess) -> None:
    board = server.create_board()
    fac = auth(board["facilitator_token"])
    watcher = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    meta = watcher.doc.get("meta", type=Map)
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post(f"/api/boards/{board['id']}/phase", json={"phase": "vote"}, headers=fac)
        assert r.status_code == 200
        await watcher.wait_until(lambda: meta.get("phase") == "vote")
        r = await http.post(f"/api/boards/{board['id']}/timer", json={"seconds": 300}, headers=fac)
        assert r.status_code == 200 and r.json()["timer"]["seconds"] == 300
        await watcher.wait_until(lambda: (meta.get("timer") or {}).get("seconds") == 300)
        r = await http.patch(
            f"/api/boards/{board['id']}/settings",
            json={"locked": True, "vote_budget": 5},
            headers=fac,
        )
        assert r.status_code == 200 and r.json()["locked"] is True
        await watcher.wait_until(lambda: (meta.get("settings") or {}).get("vote_budget") == 5)
        # Only the facilitator may steer, and bad values are refused with a message.
        participant = server.join(board["join_code"])
        r = await http.post(
            f"/api/boards/{board['id']}/phase",
            json={"phase": "ideate"},
            headers=auth(participant["token"]),
        )
        assert r.status_code == 403
        r = await http.post(
            f"/api/boards/{board['id']}/phase", json={"phase": "party"}, headers=fac
        )
        assert r.status_code == 422
        r = await http.patch(
            f"/api/boards/{board['id']}/settings", json={"colour": "red"}, headers=fac
        )
        assert r.status_code == 422 and "colour" in r.json()["message"]
    await watcher.close()


async def open_voting(server: ServerProcess, board: dict[str, Any], **settings: Any) -> None:
    fac = auth(board["facilitator_token"])
    async with httpx.AsyncClient(base_url=server.http) as http:
        if settings:
            r = await http.patch(f"/api/boards/{board['id']}/settings", json=settings, headers=fac)
            assert r.status_code == 200, r.text
        r = await http.post(f"/api/boards/{board['id']}/phase", json={"phase": "vote"}, headers=fac)
        assert r.status_code == 200


async def post_notes(server: ServerProcess, board: dict[str, Any], *ids: str) -> None:
    client = await YClient(server.url(board["id"], board["facilitator_token"])).connect()
    for note_id in ids:
        await client.change(add_note(note_id, f"idea {note_id}"))
    viewer = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    await viewer.wait_until(lambda: set(ids) <= set(viewer.notes()))
    await client.close()
    await viewer.close()


async def test_votes_budget_max_and_take_back(server: ServerProcess) -> None:
    board = server.create_board()
    await post_notes(server, board, "a", "b")
    voter = auth(server.join(board["join_code"])["token"])
    url = f"{server.http}/api/boards/{board['id']}/votes"
    async with httpx.AsyncClient() as http:
        r = await http.post(url, json={"note_id": "a", "delta": 1}, headers=voter)
        assert r.status_code == 409 and r.json()["error"] == "not_voting"
        await open_voting(server, board, vote_budget=3, max_votes_per_note=2)
        for expected in (1, 2):
            r = await http.post(url, json={"note_id": "a", "delta": 1}, headers=voter)
            assert r.json() == {
                "note_id": "a", "stance": "for", "mine": expected, "remaining": 3 - expected
            }
        r = await http.post(url, json={"note_id": "a", "delta": 1}, headers=voter)
        assert r.status_code == 409 and r.json()["error"] == "max_per_note"
        r = await http.post(url, json={"note_id": "b", "delta": 1}, headers=voter)
        assert r.json()["remaining"] == 0
        r = await http.post(url, json={"note_id": "b", "delta": 1}, headers=voter)
        assert r.status_code == 409 and r.json()["error"] == "budget"
        r = await http.post(url, json={"note_id": "a", "delta": -1}, headers=voter)
        assert r.json() == {"note_id": "a", "stance": "for", "mine": 1, "remaining": 1}
        r = await http.post(url, json={"note_id": "nope", "delta": 1}, headers=voter)
        assert r.status_code == 404
        r = await http.post(url, json={"note_id": "a", "delta": 2}, headers=voter)
        assert r.status_code == 422
        mine = await http.get(f"{url}/mine", headers=voter)
        assert mine.json() == {
            "votes": {"a": 1, "b": 1},
            "budget": 3,
            "remaining": 1,
            "against": [],
            "against_budget": 2,
            "against_remaining": 2,
        }
        r = await http.post(
            url, json={"note_id": "a", "delta": 1}, headers=auth(board["facilitator_token"])
        )
        assert r.status_code == 403


async def test_fifty_simultaneous_votes_with_a_budget_of_three_give_three(
    server: ServerProcess,
) -> None:
    board = server.create_board()
    ids = [f"n{i}" for i in range(10)]
    await post_notes(server, board, *ids)
    await open_voting(server, board, vote_budget=3, max_votes_per_note=3)
    voter = auth(server.join(board["join_code"])["token"])
    url = f"{server.http}/api/boards/{board['id']}/votes"
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=50)) as http:
        responses = await asyncio.gather(
            *(
                http.post(url, json={"note_id": ids[i % 10], "delta": 1}, headers=voter)
                for i in range(50)
            )
        )
        assert sorted(r.status_code for r in responses).count(200) == 3
        assert all(r.status_code in (200, 409) for r in responses)
        mine = (await http.get(f"{url}/mine", headers=voter)).json()
    assert sum(mine["votes"].values()) == 3 and mine["remaining"] == 0


async def test_disagree_marks(server: ServerProcess) -> None:
    board = server.create_board(groups=["résident", "agent"])
    await post_notes(server, board, "a", "b", "c")
    fac = auth(board["facilitator_token"])
    voter = auth(server.join(board["join_code"], group="résident")["token"])
    url = f"{server.http}/api/boards/{board['id']}/votes"

    def mark(note: str, delta: int = 1) -> dict[str, Any]:
        return {"note_id": note, "delta": delta, "stance": "against"}

    async with httpx.AsyncClient() as http:
        await open_voting(server, board)
        # Off by default: refused with the exact reason, nothing stored.
        r = await http.post(url, json=mark("a"), headers=voter)
        assert (r.status_code, r.json()["error"]) == (409, "disagree_off")
        r = await http.post(url, json={**mark("a"), "stance": "maybe"}, headers=voter)
        assert (r.status_code, r.json()["error"]) == (422, "bad_vote")
        for bad in ({"disagree_marks": "yes"}, {"disagree_budget": -1}, {"disagree_budget": 101},
                    {"disagree_budget": True}, {"time_zone": "Mars/Olympus"},
                    {"time_zone": "../../etc/passwd"}):
            r = await http.patch(f"{server.http}/api/boards/{board['id']}/settings", json=bad,
                                 headers=fac)
            assert (r.status_code, r.json()["error"]) == (422, "bad_setting"), bad
        r = await http.patch(
            f"{server.http}/api/boards/{board['id']}/settings",
            json={"disagree_marks": True, "time_zone": "Europe/Amsterdam"},
            headers=fac,
        )
        assert r.status_code == 200 and r.json()["disagree_budget"] == 2
        assert r.json()["time_zone"] == "Europe/Amsterdam"
        r = await http.post(url, json=mark("a"), headers=voter)
        assert r.json() == {"note_id": "a", "stance": "against", "mine": 1, "remaining": 1}
        r = await http.post(url, json=mark("a"), headers=voter)  # one per person per note
        assert (r.status_code, r.json()["error"]) == (409, "disagree_once")
        r = await http.post(url, json=mark("b"), headers=voter)
        assert r.json()["remaining"] == 0
        r = await http.post(url, json=mark("c"), headers=voter)  # the budget (2) is spent
        assert (r.status_code, r.json()["error"]) == (409, "disagree_budget")
        # Marks are not dots: the dots are all there, but not on a note one disagrees with.
        r = await http.post(url, json={"note_id": "a", "delta": 1}, headers=voter)
        assert (r.status_code, r.json()["error"]) == (409, "stance_conflict")
        r = await http.post(url, json={"note_id": "c", "delta": 1}, headers=voter)
        assert r.json() == {"note_id": "c", "stance": "for", "mine": 1, "remaining": 2}
        r = await http.post(url, json=mark("b", -1), headers=voter)
        assert r.json() == {"note_id": "b", "stance": "against", "mine": 0, "remaining": 1}
        r = await http.post(url, json=mark("b", -1), headers=voter)
        assert (r.status_code, r.json()["error"]) == (409, "no_mark_to_remove")
        mine = (await http.get(f"{url}/mine", headers=voter)).json()
        assert (mine["against"], mine["against_budget"], mine["against_remaining"]) == (["a"], 2, 1)
        # Secret until revealed, like dots.
        results = f"{server.http}/api/boards/{board['id']}/results"
        r = await http.get(results, headers=voter)
        assert (r.status_code, r.json()["error"]) == (403, "not_revealed")
        data = (await http.get(results, headers=fac)).json()
        note_a = next(n for n in data["notes"] if n["note_id"] == "a")
        assert note_a["by_group"] == {
            "résident": {"dots": 0, "voters": 0, "against": 1, "share": 0.0},
            "agent": {"dots": 0, "voters": 0, "against": 0, "share": None},
        }
        assert data["disagree_marks"] is True
        # Turned off: refused again, and the marks leave the results.
        r = await http.patch(f"{server.http}/api/boards/{board['id']}/settings",
                             json={"disagree_marks": False}, headers=fac)
        assert r.status_code == 200
        r = await http.post(url, json=mark("a", -1), headers=voter)
        assert (r.status_code, r.json()["error"]) == (409, "disagree_off")
        data = (await http.get(results, headers=fac)).json()
        assert data["disagree_marks"] is False
        assert all(n["against"] == 0 for n in data["notes"])


async def _race_marks(servers: list[ServerProcess]) -> None:
    """60 concurrent "I disagree" requests of one person (budget 2) spread over `servers`:
    exactly 2 accepted, the rest refused with the budget's or the one-per-note's code."""
    board = servers[0].create_board()
    ids = [f"n{i}" for i in range(6)]
    await post_notes(servers[0], board, *ids)
    await open_voting(servers[0], board, disagree_marks=True, disagree_budget=2)
    voter = auth(servers[0].join(board["join_code"])["token"])
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=60), timeout=60) as http:
        responses = await asyncio.gather(
            *(
                http.post(
                    f"{servers[i % len(servers)].http}/api/boards/{board['id']}/votes",
                    json={"note_id": ids[i % 6], "delta": 1, "stance": "against"},
                    headers=voter,
                )
                for i in range(60)
            )
        )
        mine = (
            await http.get(f"{servers[-1].http}/api/boards/{board['id']}/votes/mine", headers=voter)
        ).json()
    assert [r.status_code for r in responses].count(200) == 2, [r.text for r in responses]
    refused = {r.json()["error"] for r in responses if r.status_code != 200}
    assert refused <= {"disagree_budget", "disagree_once"} and "disagree_budget" in refused
    assert len(mine["against"]) == 2 and mine["against_remaining"] == 0


async def test_concurrent_marks_of_one_person_never_exceed_the_budget(
    server: ServerProcess,
) -> None:
    await _race_marks([server])  # SQLite


async def test_concurrent_marks_on_two_processes_never_exceed_the_budget(
    two: tuple[ServerProcess, ServerProcess],
) -> None:
    await _race_marks(list(two))  # PostgreSQL + Redis, requests split over both processes


async def test_votes_stay_secret_until_revealed(server: ServerProcess) -> None:
    board = server.create_board(groups=["résident", "chercheur"])
    await post_notes(server, board, "a")
    await open_voting(server, board)
    voter = server.join(board["join_code"], group="résident")
    watcher = await YClient(server.url(board["id"], voter["token"])).connect()
    results_map = watcher.doc.get("results", type=Map)
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post(
            f"/api/boards/{board['id']}/votes",
            json={"note_id": "a", "delta": 1},
            headers=auth(voter["token"]),
        )
        assert r.status_code == 200
        r = await http.get(f"/api/boards/{board['id']}/results", headers=auth(voter["token"]))
        assert r.status_code == 403 and r.json()["error"] == "not_revealed"
        assert (
            await http.get(
                f"/api/boards/{board['id']}/results", headers=auth(board["facilitator_token"])
            )
        ).status_code == 200
        assert results_map.to_py() in (None, {})  # nothing about votes in the shared doc
        r = await http.patch(
            f"/api/boards/{board['id']}/settings",
            json={"votes_visibility": "revealed"},
            headers=auth(board["facilitator_token"]),
        )
        assert r.status_code == 200
        await watcher.wait_until(lambda: "data" in (results_map.to_py() or {}))
        data = results_map.to_py()["data"]
        assert data["notes"][0]["note_id"] == "a" and data["notes"][0]["total"] == 1
        r = await http.get(f"/api/boards/{board['id']}/results", headers=auth(voter["token"]))
        assert r.status_code == 200 and r.json()["notes"][0]["by_group"]["résident"]["dots"] == 1
    await watcher.close()


async def test_participants_view_for_the_facilitator(server: ServerProcess) -> None:
    board = server.create_board(groups=["a", "b"])
    quiet = server.join(board["join_code"], name="Quiet", group="a")
    active = server.join(board["join_code"], name="Active", group="b")
    client = await YClient(server.url(board["id"], active["token"])).connect()
    await client.change(add_note("mine", "hello"))
    viewer = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    await viewer.wait_until(lambda: "mine" in viewer.notes())
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.get(
            f"/api/boards/{board['id']}/participants", headers=auth(board["facilitator_token"])
        )
    people = {p["name"]: p for p in r.json()}
    assert people["Active"]["notes"] == 1 and people["Active"]["online"] is True
    assert people["Quiet"]["notes"] == 0 and people["Quiet"]["online"] is False
    assert people["Quiet"]["group"] == "a"
    await client.close()
    await viewer.close()
    assert quiet["participant_id"] != active["participant_id"]


async def test_concurrent_setting_changes_never_undo_each_other(server: ServerProcess) -> None:
    board = server.create_board()
    fac = auth(board["facilitator_token"])
    changes = [
        {"locked": True},
        {"private_writing": True},
        {"anonymous": True},
        {"vote_budget": 7},
        {"max_votes_per_note": 4},
        {"votes_visibility": "live"},
    ]
    async with httpx.AsyncClient(base_url=server.http) as http:
        responses = await asyncio.gather(
            *(
                http.patch(f"/api/boards/{board['id']}/settings", json=change, headers=fac)
                for change in changes
            )
        )
        assert all(r.status_code == 200 for r in responses)
        settings = (await http.get(f"/api/boards/{board['id']}", headers=fac)).json()["settings"]
    for change in changes:
        for key, value in change.items():
            assert settings[key] == value


def test_an_unknown_board_is_404_even_without_a_token(server: ServerProcess) -> None:
    response = httpx.get(f"{server.http}/api/boards/doesNotExist1")
    assert response.status_code == 404 and response.json()["error"] == "unknown_board"
    known = server.create_board()
    response = httpx.get(f"{server.http}/api/boards/{known['id']}")
    assert response.status_code == 401  # it exists: no token, no access


def test_board_info_names_nobody_else_on_an_anonymous_board(server: ServerProcess) -> None:
    board = server.create_board(groups=["habitant", "chercheur"])
    patched = httpx.patch(
        f"{server.http}/api/boards/{board['id']}/settings",
        json={"anonymous": True},
        headers=auth(board["facilitator_token"]),
    )
    assert patched.status_code == 200, patched.text
    ana = server.join(board["join_code"], "Ana", group="habitant")
    server.join(board["join_code"], "Bram", group="chercheur")
    url = f"{server.http}/api/boards/{board['id']}"
    mine = httpx.get(url, headers=auth(ana["token"])).json()
    assert [p["name"] for p in mine["participants"]] == ["Ana"]  # only herself
    assert mine["participant_count"] == 2
    assert "Bram" not in httpx.get(url, headers=auth(ana["token"])).text
    facilitator = httpx.get(url, headers=auth(board["facilitator_token"])).json()
    assert sorted(p["name"] for p in facilitator["participants"]) == ["Ana", "Bram"]
