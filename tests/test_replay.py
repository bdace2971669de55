"""Replay and exports from the update log, against a real server."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import tempfile
import time
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from pycrdt import Doc, Map

from crdt import replay
from server.store import MemoryStore, NewUpdate, SnapshotRecord, Store, make_store
from tests.conftest import ServerProcess
from tests.support import decoded_events
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
        await _events(http, board)  # bookmarks are phase events: decoded in the background
        timeline = (await http.get(f"/api/boards/{board['id']}/replay", headers=fac)).json()
        assert [b["phase"] for b in timeline["bookmarks"]] == ["ideate", "cluster"]
        # One unit everywhere: integer milliseconds since the epoch.
        at = int(between * 1000)
        assert all(isinstance(timeline[k], int) for k in ("start", "end"))
        assert timeline["updates"] >= 4 and timeline["start"] <= at <= timeline["end"]

        r = await http.get(
            f"/api/boards/{board['id']}/replay/state", params={"at": at}, headers=fac
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


def test_feed_one_line_for_many_moves_and_hiding_in_plain_words() -> None:
    """The "tidy up" of 69 notes (one update) wrote 69 "moved a note" lines into the feed; the
    facilitator hiding a note (a server change) read "Cobord deleted a note"."""
    doc = Doc()
    notes = doc.get("notes", type=Map)
    decoder = replay.EventDecoder()

    def step(seq: int, actor: str, edit: Any) -> list[tuple[str, str]]:
        state = doc.get_state()
        with doc.transaction():
            edit()
        found = decoder.apply(seq, float(seq), actor, doc.get_update(state))
        return [(e.kind, e.target) for e in found]

    def add_all() -> None:
        for i in range(69):
            notes[f"n{i}"] = Map({"text": f"idée {i}", "x": 0.0, "y": 0.0, "cluster": ""})

    assert len(step(1, "Ana", add_all)) == 69  # 69 notes added: one line each, as before

    def tidy() -> None:
        for i in range(69):
            notes[f"n{i}"]["x"] = float(i * 220)
            notes[f"n{i}"]["y"] = float(i * 10)

    assert step(2, "facilitator", tidy) == [("notes_moved", "69")]
    # One note moved alone keeps its own line (and the note it is about).
    assert step(3, "Ana", lambda: notes["n1"].__setitem__("x", 5.0)) == [("moved", "n1")]

    def merge() -> None:
        for i in range(3):
            notes[f"n{i}"]["cluster"] = "c1"
            notes[f"n{i}"]["x"] = 1000.0 + i

    # (One line of each kind; their order within one update is the observers', not a promise.)
    assert sorted(step(4, "Ben", merge)) == [("notes_clustered", "3"), ("notes_moved", "3")]
    assert step(5, "server", lambda: notes.pop("n7")) == [("hidden", "n7")]
    assert step(6, "facilitator", lambda: notes.pop("n8")) == [("deleted", "n8")]
    put_back = lambda: notes.__setitem__("n7", Map({"text": "idée 7", "x": 0.0}))  # noqa: E731
    assert step(7, "server", put_back) == [("restored", "n7")]
    assert {"notes_moved", "notes_clustered", "hidden", "restored"} <= set(replay.EVENT_KINDS)


# ---------------------------------------------------------------------- exact seeks by seq

OPS = st.lists(
    st.tuples(
        st.sampled_from(["put", "edit", "move", "cluster", "delete", "title"]),
        st.sampled_from(["a", "b", "c", "d"]),
        st.text(alphabet="xyzé ", max_size=6),
    ),
    min_size=1,
    max_size=40,
)


def _change(doc: Doc[Any], op: tuple[str, str, str]) -> bytes:
    kind, key, value = op
    notes = doc.get("notes", type=Map)
    clusters = doc.get("clusters", type=Map)
    before = doc.get_state()
    with doc.transaction():
        if kind == "put":
            notes[key] = Map({"text": value, "x": 0.0, "y": 0.0})
        elif kind == "title":
            clusters[key] = Map({"title": value})
        elif key in notes and kind == "delete":
            del notes[key]
        elif key in notes:
            field = {"edit": "text", "move": "x", "cluster": "cluster"}[kind]
            notes[key][field] = float(len(value)) if field == "x" else value
        else:
            doc.get("meta", type=Map)["phase"] = value or "ideate"
    return doc.get_update(before)


def _fresh(updates: list[bytes]) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc


def _uint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def state_vector(doc: Doc[Any]) -> dict[int, int]:
    """The doc's state vector as {client: clock}: yrs encodes its entries in hash-map order, so two
    equal state vectors may differ as bytes."""
    data = doc.get_state()
    count, at = _uint(data, 0)
    found = {}
    for _ in range(count):
        client, at = _uint(data, at)
        found[client], at = _uint(data, at)
    assert at == len(data)
    return found


def _json(doc: Doc[Any]) -> dict[str, Any]:
    return {name: doc.get(name, type=Map).to_py() for name in ("notes", "clusters", "meta")}


async def _check_every_seek(store: Store, updates: list[bytes], every: int, batch: int) -> None:
    await store.open()
    try:
        board = "b1"
        if isinstance(store, MemoryStore) is False:
            from server.store import BoardRecord

            await store.boards.create_board(BoardRecord(board, "t", "CODE42", 1.0))
        seqs: list[int] = []
        live: Doc[Any] = Doc()
        since = 0
        for start in range(0, len(updates), batch):
            chunk = updates[start : start + batch]
            seqs += await store.log.append_updates(board, [NewUpdate(1.0, "p", u) for u in chunk])
            for u in chunk:
                live.apply_update(u)
            since += len(chunk)
            if since >= every:  # as the room does: a keyframe after a commit, at its last seq
                await store.log.save_snapshot(
                    board, SnapshotRecord(seqs[-1], 2.0, live.get_update())
                )
                since = 0
        for n in range(len(updates) + 1):
            keyframe, tail = await store.log.load_until_seq(board, seqs[n - 1] if n else 0)
            assert len(tail) < every + batch  # at most one keyframe interval of applies
            got: Doc[Any] = Doc()
            got.apply_update(
                replay.state_at(keyframe.state if keyframe else None, (u.data for u in tail))
            )
            expected = _fresh(updates[:n])
            assert state_vector(got) == state_vector(expected)
            assert _json(got) == _json(expected)
            # What the replay view gets (form=parts): the keyframe untouched, the tail merged.
            parts = replay.decode_parts(
                replay.encode_parts(
                    replay.state_parts(keyframe.state if keyframe else None, (u.data for u in tail))
                )
            )
            assert len(parts) <= 2
            assert parts[:1] == ([keyframe.state] if keyframe else parts[:1])
            assert state_vector(_fresh(parts)) == state_vector(expected)
            assert _json(_fresh(parts)) == _json(expected)
    finally:
        await store.close()


@settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    ops=OPS,
    every=st.sampled_from([1, 2, 3, 7, 16, 1000]),
    batch=st.integers(min_value=1, max_value=4),
    backend=st.sampled_from(["memory", "sqlite"]),
)
def test_state_at_seq_equals_a_fresh_doc_of_the_first_n_updates(
    ops: list[tuple[str, str, str]], every: int, batch: int, backend: str
) -> None:
    source: Doc[Any] = Doc()
    updates = [_change(source, op) for op in ops]
    with tempfile.TemporaryDirectory() as folder:
        url = "memory://" if backend == "memory" else f"sqlite+aiosqlite:///{folder}/c.db"
        asyncio.run(_check_every_seek(make_store(url), updates, every, batch))


async def test_replay_state_by_seq_through_the_api(make_server: Any) -> None:
    server = make_server(COBORD_SNAPSHOT_EVERY="3")
    board = server.create_board(title="Seeks")
    fac = auth(board["facilitator_token"])
    writer = await YClient(server.url(board["id"], board["facilitator_token"])).connect()
    for i in range(10):
        await writer.change(add_note(f"n{i}", f"idée {i}"))
    notes = writer.doc.get("notes", type=Map)
    for i in range(10):
        await writer.change(lambda doc, i=i: notes[f"n{i}"].__setitem__("x", float(i * 10)))
    # Every update committed (and so logged) before the log is read: a fresh reader sees the last.
    reader = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    await reader.wait_until(lambda: (reader.notes().get("n9") or {}).get("x") == 90.0)
    await reader.close()
    await writer.close()
    async with httpx.AsyncClient(base_url=server.http) as http:
        log = (
            await http.get(
                f"/api/boards/{board['id']}/replay/updates", params={"limit": 5000}, headers=fac
            )
        ).json()
        updates = [base64.b64decode(e["update"]) for e in log]
        assert len(updates) >= 21
        for n, entry in enumerate(log, start=1):
            r = await http.get(
                f"/api/boards/{board['id']}/replay/state", params={"seq": entry["seq"]}, headers=fac
            )
            assert r.status_code == 200 and r.headers["x-cobord-seq"] == str(entry["seq"])
            got = _fresh([r.content])
            expected = _fresh(updates[:n])
            assert state_vector(got) == state_vector(expected) and _json(got) == _json(expected)
            r = await http.get(
                f"/api/boards/{board['id']}/replay/state",
                params={"seq": entry["seq"], "form": "parts"},
                headers=fac,
            )
            assert r.status_code == 200 and r.headers["x-cobord-seq"] == str(entry["seq"])
            assert r.headers["content-type"] == "application/vnd.cobord.updates"
            parts = replay.decode_parts(r.content)
            assert len(parts) == int(r.headers["x-cobord-parts"]) <= 2
            got = _fresh(parts)
            assert state_vector(got) == state_vector(expected) and _json(got) == _json(expected)
        for bad in ("-1", "x", "1.5", "nan"):
            r = await http.get(
                f"/api/boards/{board['id']}/replay/state", params={"seq": bad}, headers=fac
            )
            assert r.status_code == 422 and r.json()["error"] == "bad_seq", bad
        r = await http.get(
            f"/api/boards/{board['id']}/replay/state", params={"at": "inf"}, headers=fac
        )
        assert r.status_code == 422 and r.json()["error"] == "bad_at"
        r = await http.get(
            f"/api/boards/{board['id']}/replay/state", params={"form": "zip"}, headers=fac
        )
        assert r.status_code == 422 and r.json()["error"] == "bad_form"


# ---------------------------------------------------------------------- who did what


async def _events(http: httpx.AsyncClient, board: dict[str, Any], **params: Any) -> Any:
    return await decoded_events(http, board["id"], board["facilitator_token"], **params)


async def _session(server: ServerProcess, board: dict[str, Any]) -> dict[str, Any]:
    """Ana adds a note and moves it, Ben adds one; the facilitator clusters, reveals, deletes."""
    fac = auth(board["facilitator_token"])
    ana = server.join(board["join_code"], name="Ana")
    ben = server.join(board["join_code"], name="Ben")
    a = await YClient(server.url(board["id"], ana["token"])).connect()
    b = await YClient(server.url(board["id"], ben["token"])).connect()
    f = await YClient(server.url(board["id"], board["facilitator_token"])).connect()
    await a.change(add_note("na", "Un potager"))
    await a.change(lambda doc: doc.get("notes", type=Map)["na"].__setitem__("x", 50.0))
    await b.change(add_note("nb", "Des bancs"))
    await f.wait_until(lambda: {"na", "nb"} <= set(f.notes()))
    await f.change(
        lambda doc: doc.get("clusters", type=Map).__setitem__("c1", Map({"title": "Parc"}))
    )
    await f.change(lambda doc: doc.get("notes", type=Map)["nb"].__setitem__("cluster", "c1"))
    await f.change(lambda doc: doc.get("notes", type=Map)["na"].__setitem__("text", "Un jardin"))
    await f.change(lambda doc: doc.get("notes", type=Map).pop("na"))
    async with httpx.AsyncClient(base_url=server.http) as http:
        for body in ({"phase": "vote"},):
            assert (
                await http.post(f"/api/boards/{board['id']}/phase", json=body, headers=fac)
            ).status_code == 200
        r = await http.patch(
            f"/api/boards/{board['id']}/settings",
            json={"votes_visibility": "revealed"},
            headers=fac,
        )
        assert r.status_code == 200
    await f.wait_until(
        lambda: (
            (f.doc.get("meta", type=Map).get("settings") or {}).get("votes_visibility")
            == "revealed"
        )
    )
    for client in (a, b, f):
        await client.close()
    return {"ana": ana, "ben": ben}


async def test_events_feed_says_who_did_what(server: ServerProcess) -> None:
    board = server.create_board(title="Feed")
    people = await _session(server, board)
    async with httpx.AsyncClient(base_url=server.http) as http:
        page = await _events(http, board)
        seen = [
            (e["kind"], e.get("note_id") or e.get("cluster_id") or e.get("phase"), e["actor"])
            for e in page["events"]
            if e["kind"] != "phase_changed" or e["phase"] != "ideate"
        ]
        assert seen == [
            ("note_added", "na", "Ana"),
            ("moved", "na", "Ana"),
            ("note_added", "nb", "Ben"),
            ("cluster_created", "c1", "facilitator"),
            ("clustered", "nb", "facilitator"),
            ("text_edited", "na", "facilitator"),
            ("deleted", "na", "facilitator"),
            ("phase_changed", "vote", "server"),
            ("votes_revealed", None, "server"),
        ]
        assert page["next"] is None
        seqs = [e["seq"] for e in page["events"]]
        assert seqs == sorted(seqs) and all(isinstance(e["ts"], int) for e in page["events"])
        # Pages: `after` + `limit`, never a page split inside one update's events.
        first = await _events(http, board, limit=2)
        assert len(first["events"]) == 2 and first["next"] == first["events"][-1]["seq"]
        rest = await _events(http, board, after=first["next"], limit=1000)
        assert first["events"] + rest["events"] == page["events"]
        participant = auth(people["ana"]["token"])
        r = await http.get(f"/api/boards/{board['id']}/replay/events", headers=participant)
        assert r.status_code == 403
        r = await http.get(
            f"/api/boards/{board['id']}/replay/events",
            params={"limit": "0"},
            headers=auth(board["facilitator_token"]),
        )
        assert r.status_code == 422 and r.json()["error"] == "bad_limit"
        # The timeline's bookmarks are the phase events.
        timeline = (
            await http.get(
                f"/api/boards/{board['id']}/replay", headers=auth(board["facilitator_token"])
            )
        ).json()
        assert [b["phase"] for b in timeline["bookmarks"]] == ["ideate", "vote"]


async def test_events_on_an_anonymous_board_use_stable_pseudonyms(server: ServerProcess) -> None:
    board = server.create_board(title="Anon")
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.patch(
            f"/api/boards/{board['id']}/settings",
            json={"anonymous": True},
            headers=auth(board["facilitator_token"]),
        )
        assert r.status_code == 200
    await _session(server, board)
    async with httpx.AsyncClient(base_url=server.http) as http:
        page = await _events(http, board)
        added = [
            (e["note_id"], e["actor"], e["actor_number"])
            for e in page["events"]
            if e["kind"] == "note_added"
        ]
        assert added == [("na", "Participant 1", 1), ("nb", "Participant 2", 2)]
        text = str(page)
        assert "Ana" not in text and "Ben" not in text
        again = await _events(http, board)
        assert again == page


async def test_a_photo_note_is_in_the_replay_state_and_its_picture_is_served(
    server: ServerProcess,
) -> None:
    board = server.create_board()
    fac = auth(board["facilitator_token"])
    phone = server.join(board["join_code"], name="Awa")
    picture = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 40)).save(picture, format="PNG")
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.post(
            f"/api/boards/{board['id']}/media",
            params={"kind": "photo"},
            content=picture.getvalue(),
            headers=auth(phone["token"]),
        )
        assert r.status_code == 201, r.text
        media_id = r.json()["id"]
        writer = await YClient(server.url(board["id"], phone["token"])).connect()
        await writer.change(add_note("p1", "Le parc", kind="photo", media=media_id, lang="fr"))
        await writer.change(add_note("v1", "", kind="voice", media="rec1", lang="fr"))
        watcher = await YClient(server.url(board["id"], board["viewer_token"])).connect()
        await watcher.wait_until(lambda: {"p1", "v1"} <= set(watcher.notes()))  # committed
        await writer.close()
        await watcher.close()
        r = await http.get(f"/api/boards/{board['id']}/replay/state", headers=fac)
        then = Doc()
        then.apply_update(r.content)
        notes = then.get("notes", type=Map).to_py() or {}
        assert {k: notes["p1"][k] for k in ("text", "kind", "media")} == {
            "text": "Le parc",
            "kind": "photo",
            "media": media_id,
        }
        assert (notes["v1"]["kind"], notes["v1"]["media"]) == ("voice", "rec1")
        # The replay view loads the picture with the board's media cookie (no token in its URL).
        granted = await http.post(f"/api/boards/{board['id']}/media-access", headers=fac)
        assert granted.status_code == 200
        served = await http.get(f"/api/boards/{board['id']}/media/{media_id}")
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(served.content)).size == (40, 30)
        # And the events feed says a note was added, with its caption.
        events = (await _events(http, board))["events"]  # once the decoder has caught up
        added = [e for e in events if e["kind"] == "note_added"]
        assert [e["note_id"] for e in added] == ["p1", "v1"]


async def test_reveals_are_in_the_feed_with_seq_time_and_actor(server: ServerProcess) -> None:
    """Private writing ending (the notes appear to all) and votes revealed: one event each, at the
    seq of the update that wrote the setting, with its time and who did it (the facilitator's
    command, applied by the server)."""
    board = server.create_board(title="Reveals")
    fac = auth(board["facilitator_token"])
    settings_url = f"/api/boards/{board['id']}/settings"
    ana = server.join(board["join_code"], name="Ana")
    async with httpx.AsyncClient(base_url=server.http) as http:
        r = await http.patch(settings_url, json={"private_writing": True}, headers=fac)
        assert r.status_code == 200
        writer = await YClient(server.url(board["id"], ana["token"])).connect()
        before_reveal = time.time()
        r = await http.patch(settings_url, json={"private_writing": False}, headers=fac)
        assert r.status_code == 200
        # Revealed: the notes kept on the device are posted now.
        await writer.wait_until(
            lambda: (
                not (writer.doc.get("meta", type=Map).get("settings") or {}).get("private_writing")
            )
        )
        await writer.change(add_note("kept", "Un potager", author="Ana"))
        r = await http.patch(settings_url, json={"votes_visibility": "hidden"}, headers=fac)
        assert r.status_code == 200
        r = await http.patch(settings_url, json={"votes_visibility": "revealed"}, headers=fac)
        assert r.status_code == 200
        after_reveal = time.time()
        await writer.close()
        page = await _events(http, board)
        log = (
            await http.get(
                f"/api/boards/{board['id']}/replay/updates", params={"limit": 5000}, headers=fac
            )
        ).json()
    reveals = [e for e in page["events"] if e["kind"].endswith("_revealed")]
    assert [(e["kind"], e["actor"], e["actor_role"]) for e in reveals] == [
        ("private_writing_revealed", "server", "server"),
        ("votes_revealed", "server", "server"),
    ]
    by_seq = {entry["seq"]: entry for entry in log}
    for event in reveals:
        # The event's seq is a logged update, written by the server, at the event's time.
        assert by_seq[event["seq"]]["actor"] == "server"
        assert by_seq[event["seq"]]["ts"] == event["ts"]
        assert before_reveal * 1000 <= event["ts"] <= after_reveal * 1000 + 1  # ms
    # In the order they happened; hiding the votes was no reveal.
    added = [e for e in page["events"] if e["kind"] == "note_added"]
    assert [(e["note_id"], e["actor"]) for e in added] == [("kept", "Ana")]
    assert reveals[0]["seq"] < added[0]["seq"] < reveals[1]["seq"]
    # Each reveal is the only event of its update in the feed.
    assert [e["seq"] for e in page["events"]].count(reveals[0]["seq"]) == 1
