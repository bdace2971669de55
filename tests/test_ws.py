"""The WebSocket endpoint against a real server process: sync, awareness, auth, limits, crashes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import pytest
import websockets
from pycrdt import Doc, Map

from crdt import protocol
from crdt.protocol import CloseCode
from tests.conftest import ServerProcess
from tests.yclient import YClient, add_note


async def connect(server: ServerProcess, board: dict[str, Any], token: str) -> YClient:
    return await YClient(server.url(board["id"], token)).connect()


async def test_two_clients_converge_and_a_late_joiner_gets_everything(
    server: ServerProcess,
) -> None:
    board = server.create_board()
    a = await connect(server, board, board["facilitator_token"])
    b = await connect(server, board, server.join(board["join_code"])["token"])
    await a.change(add_note("from-a", "Plus de bancs au parc"))
    await b.change(add_note("from-b", "Meer licht in de straat"))
    await a.wait_until(lambda: "from-b" in a.notes())
    await b.wait_until(lambda: "from-a" in b.notes())
    late = await connect(server, board, board["viewer_token"])
    assert late.notes() == a.notes() == b.notes()
    assert set(late.notes()) == {"from-a", "from-b"}
    for client in (a, b, late):
        await client.close()


async def test_awareness_is_relayed_and_removed_on_disconnect(server: ServerProcess) -> None:
    board = server.create_board()
    a = await connect(server, board, board["facilitator_token"])
    b = await connect(server, board, server.join(board["join_code"])["token"])
    state = protocol.AwarenessState(4242, 1, {"user": {"name": "Ana", "group": "résident"}})
    await b.send(protocol.Awareness(protocol.encode_awareness([state])))
    await a.wait_until(lambda: 4242 in a.awareness)
    # The server stamps the role from the token.
    assert a.awareness[4242] == (
        1,
        {"user": {"name": "Ana", "group": "résident", "role": "participant"}},
    )
    # A newcomer asking for awareness (QueryAwareness) gets the states too.
    c = await connect(server, board, board["viewer_token"])
    await c.send(protocol.QueryAwareness())
    await c.wait_until(lambda: 4242 in c.awareness)
    await b.close()
    await a.wait_until(lambda: 4242 not in a.awareness)
    await c.wait_until(lambda: 4242 not in c.awareness)
    await a.close()
    await c.close()


async def test_awareness_floods_are_bounded(server: ServerProcess) -> None:
    board = server.create_board()
    many = await connect(server, board, board["viewer_token"])
    states = [protocol.AwarenessState(1000 + i, 1, {"i": i}) for i in range(9)]
    await many.send(protocol.Awareness(protocol.encode_awareness(states)))
    assert await many.wait_closed() == CloseCode.MALFORMED
    assert many.close_reason == "too many awareness client ids"
    big = await connect(server, board, board["viewer_token"])
    huge = protocol.AwarenessState(5, 1, {"blob": "x" * 70_000})
    await big.send(protocol.Awareness(protocol.encode_awareness([huge])))
    assert await big.wait_closed() == CloseCode.TOO_LARGE


async def test_viewer_updates_are_refused_and_never_relayed(server: ServerProcess) -> None:
    board = server.create_board()
    viewer = await connect(server, board, board["viewer_token"])
    watcher = await connect(server, board, board["facilitator_token"])
    await viewer.change(add_note("sneaky", "I am read-only"))
    await viewer.wait_until(lambda: bool(viewer.denied))
    assert viewer.denied == ["viewers cannot change the board"]
    # Proof that the refused note went nowhere: a later note arrives, the refused one does not.
    await watcher.change(add_note("marker", "after"))
    await viewer.wait_until(lambda: "marker" in viewer.notes())  # committed and broadcast
    fresh = await connect(server, board, board["facilitator_token"])
    assert "marker" in fresh.notes() and "sneaky" not in fresh.notes()
    assert "sneaky" not in watcher.notes()
    for client in (viewer, watcher, fresh):
        await client.close()


@pytest.mark.parametrize(
    ("token_of", "code", "reason"),
    [
        (lambda b, other: "", CloseCode.UNAUTHORIZED, "missing token"),
        (lambda b, other: "garbage", CloseCode.UNAUTHORIZED, "invalid token"),
        (
            lambda b, other: b["facilitator_token"][:-3] + "abc",
            CloseCode.UNAUTHORIZED,
            "invalid token",
        ),
        (
            lambda b, other: other["facilitator_token"],
            CloseCode.FORBIDDEN,
            "token of another board",
        ),
    ],
)
async def test_bad_tokens_are_closed_with_a_code_and_reason(
    server: ServerProcess, token_of: Any, code: int, reason: str
) -> None:
    board, other = server.create_board(), server.create_board()
    client = await YClient(server.url(board["id"], token_of(board, other))).connect()
    assert client.close_code == code
    assert client.close_reason == reason


async def test_unknown_board_is_4404(server: ServerProcess) -> None:
    """A validly signed token naming a board that does not exist: 4404, not 4401 (the token
    is good: the same signer's token for a board that exists connects)."""
    from server.tokens import TokenClaims, TokenSigner

    signer = TokenSigner("test-secret")  # the server's SECRET_KEY (tests/conftest.py)
    board = server.create_board()
    good = signer.issue(TokenClaims(board["id"], "facilitator"))
    control = await YClient(server.url(board["id"], good)).connect()
    assert control.synced and control.close_code is None
    await control.close()
    token = signer.issue(TokenClaims("nope", "facilitator"))
    client = await YClient(f"{server.ws}/nope?token={token}").connect()
    assert (client.close_code, client.close_reason) == (CloseCode.UNKNOWN_BOARD, "unknown board")


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x80", CloseCode.MALFORMED),
        (b"\x00", CloseCode.MALFORMED),
        (b"\x00\x02\x05ab", CloseCode.MALFORMED),
        (b"\x07\x00", CloseCode.MALFORMED),
        (b"\x00\x02\x03\xff\xff\xff", CloseCode.MALFORMED),  # framing fine, update corrupt
        ("text frame", CloseCode.MALFORMED),
    ],
)
async def test_malformed_frames_close_only_the_sender(
    server: ServerProcess, frame: bytes | str, code: int
) -> None:
    board = server.create_board()
    good = await connect(server, board, board["facilitator_token"])
    await good.change(add_note("kept", "still here"))
    bad = await connect(server, board, board["facilitator_token"])
    await bad.send_raw(frame)
    assert await bad.wait_closed() == code
    # The others are still served and the board is unchanged.
    await good.change(add_note("after", "next"))
    check = await connect(server, board, board["viewer_token"])
    await check.wait_until(lambda: "after" in check.notes())
    assert set(check.notes()) == {"kept", "after"}
    await good.close()
    await check.close()


async def test_oversized_frame_is_4413(make_server: Any) -> None:
    server = make_server(COBORD_MAX_MESSAGE_BYTES="1000")
    board = server.create_board()
    good = await connect(server, board, board["facilitator_token"])
    bad = await connect(server, board, board["facilitator_token"])
    await bad.change(add_note("big", "x" * 2000))
    assert await bad.wait_closed() == CloseCode.TOO_LARGE
    await good.change(add_note("small", "ok"))
    check = await connect(server, board, board["viewer_token"])
    await check.wait_until(lambda: "small" in check.notes())
    assert set(check.notes()) == {"small"}
    for client in (good, check):
        await client.close()


async def test_repeated_refusals_close_with_4403(server: ServerProcess) -> None:
    # Refusal budgets are per board (server/live/refusals.py): the shared server is enough.
    board = server.create_board()
    viewer = await connect(server, board, board["viewer_token"])
    for i in range(10):
        await viewer.change(add_note(f"v{i}", "nope"))
    assert await viewer.wait_closed() == CloseCode.FORBIDDEN
    assert viewer.close_reason == "too many refused changes"


async def test_slow_consumer_is_closed_without_stalling_the_others(make_server: Any) -> None:
    # (No board byte bound: 30 MB of content must go through; see tests/test_board_bounds.py.)
    server = make_server(
        COBORD_OUTBOX_MAX_MESSAGES="20", COBORD_RATE_PER_SECOND="0", COBORD_MAX_BOARD_BYTES="0"
    )
    board = server.create_board()
    writer = await connect(server, board, board["facilitator_token"])
    reader = await connect(server, board, board["viewer_token"])
    # The slow client stops reading: websockets stops reading the socket once 1 frame is queued.
    # Its own keepalive is off (unread, the server's pongs never reach it). The server's is on:
    # it cuts the slow client with 1011 about 40 s after its last pong, and the 4408 can only be
    # written once the client reads again, so the stream below must be over well before that.
    slow = await websockets.connect(
        server.url(board["id"], board["viewer_token"]),
        max_queue=1,
        compression=None,
        max_size=None,
        ping_interval=None,
    )
    # 30 MB: more than the kernel's socket buffers on both sides can absorb, so the server's
    # transport pauses and the slow client's outbox (20 frames) overflows. In 100 notes of 300 KB,
    # not 300 of 100 KB: on a loaded machine 300 round trips outlasted the server's keepalive
    # ping timeout (40 s), which closed the slow client first (1011), before its outbox overflowed.
    payload = "x" * 300_000
    count = 100

    # The writer waits for the reading client to see each note: the fan-out must keep flowing to
    # it while the slow client reads nothing.
    # (Big values go in the facilitator's own root map: notes and clusters have a schema with
    # size limits.)
    def cluster(i: int) -> Any:
        return lambda doc: doc.get("scratch", type=Map).__setitem__(f"c{i}", payload)

    def clusters() -> Map[Any]:
        # The keys, not `to_py()`: copying up to 30 MB of values at each frame made this test's
        # own client the bottleneck (40-90 s on a loaded machine, past the keepalive above).
        return reader.doc.get("scratch", type=Map)

    for i in range(count):
        await writer.change(cluster(i))
        await reader.wait_until(lambda i=i: f"c{i}" in clusters())
    assert reader.close_code is None
    # Now read the slow client's socket: it was closed with 4408 at some point.
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(30):
            while True:
                await slow.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == CloseCode.TOO_SLOW
    await writer.close()
    await reader.close()


async def test_crash_loses_nothing_any_client_saw(make_server: Any) -> None:
    """SIGKILL the server mid-stream: every update a client received survives the restart."""
    server = make_server()
    board = server.create_board()
    writer = await connect(server, board, board["facilitator_token"])
    observer = await connect(server, board, board["viewer_token"])
    sent = 0

    async def stream() -> None:
        nonlocal sent
        while True:
            await writer.change(add_note(f"n{sent}", f"idea {sent}"))
            sent += 1
            # Keep at most 20 notes in flight, so updates are mid-stream when the kill comes.
            in_flight_limit = sent - 20
            await observer.wait_until(lambda n=in_flight_limit: len(observer.notes()) >= n)

    task = asyncio.create_task(stream())
    await observer.wait_until(lambda: len(observer.notes()) >= 200)
    server.kill()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed, TimeoutError):
        await task
    await observer.wait_closed()
    seen = set(observer.notes())
    assert len(seen) >= 200
    server.start()
    after = await connect(server, board, board["viewer_token"])
    assert seen <= set(after.notes())  # everything seen is still there
    await after.close()


async def test_state_after_reload_equals_replay_of_every_update(make_server: Any) -> None:
    """Keyframes every 7 updates + unload/reload: the board is exactly the replayed log."""
    server = make_server(COBORD_SNAPSHOT_EVERY="7", COBORD_IDLE_UNLOAD_SECONDS="0")
    board = server.create_board()
    client = await connect(server, board, board["facilitator_token"])
    for i in range(30):
        await client.change(add_note(f"n{i}", f"idea {i}"))
        if i % 3 == 0:
            await client.change(
                lambda d, i=i: d.get("notes", type=Map)[f"n{i}"].__setitem__("x", float(i))
            )
    await client.change(lambda d: d.get("notes", type=Map).pop("n5"))
    expected = client.notes()
    marker = await connect(server, board, board["viewer_token"])
    await marker.wait_until(lambda: marker.notes() == expected)
    await client.close()
    await marker.close()
    # Idle unload is immediate here (0 s): the next connection loads keyframe + tail.
    again = await connect(server, board, board["viewer_token"])
    assert again.notes() == expected
    await again.close()


async def test_stock_sync_handshake_bytes(server: ServerProcess) -> None:
    """What the stock y-websocket provider sends, byte for byte: step1 first, then updates."""
    board = server.create_board()
    async with websockets.connect(
        server.url(board["id"], board["facilitator_token"]), compression=None
    ) as ws:
        first = protocol.decode(await ws.recv())
        assert isinstance(first, protocol.SyncStep1)
        doc = Doc()
        await ws.send(protocol.encode(protocol.SyncStep1(doc.get_state())))
        reply = protocol.decode(await ws.recv())
        assert isinstance(reply, protocol.SyncStep2)
        doc.apply_update(reply.update)
        meta = doc.get("meta", type=Map).to_py()
        assert meta is not None and meta["title"] == "Test"


def test_healthz(server: ServerProcess) -> None:
    assert httpx.get(f"{server.http}/healthz").json() == {"status": "ok"}
    assert json.loads(httpx.get(f"{server.http}/healthz").text)["status"] == "ok"


@pytest.mark.postgres
async def test_on_postgresql_clients_converge_and_a_crash_loses_nothing(
    make_server: Any, pg_url: str
) -> None:
    server = make_server(database_url=pg_url)
    board = server.create_board()
    writer = await connect(server, board, board["facilitator_token"])
    participant = await connect(server, board, server.join(board["join_code"])["token"])
    observer = await connect(server, board, board["viewer_token"])
    await participant.change(add_note("p", "from a participant"))
    for i in range(100):
        await writer.change(add_note(f"n{i}", f"idea {i}"))
    await observer.wait_until(lambda: len(observer.notes()) == 101)
    server.kill()
    await observer.wait_closed()
    seen = observer.notes()
    server.start()
    after = await connect(server, board, board["viewer_token"])
    assert after.notes() == seen
    await after.close()


async def test_presence_is_stamped_by_the_server_and_anonymous_on_anonymous_boards(
    server: ServerProcess,
) -> None:
    board = server.create_board()
    fac = await connect(server, board, board["facilitator_token"])
    async with httpx.AsyncClient() as http:
        r = await http.patch(
            f"{server.http}/api/boards/{board['id']}/settings",
            json={"anonymous": True},
            headers={"Authorization": f"Bearer {board['facilitator_token']}"},
        )
    assert r.status_code == 200, r.text
    ana = await connect(server, board, server.join(board["join_code"])["token"])
    viewer = await connect(server, board, board["viewer_token"])
    # What the web client publishes: {name, group} under the Yjs client id of its notes.
    claimed = {"user": {"name": "Ana", "group": "résident", "role": "facilitator", "color": "#c63"}}
    await ana.send(
        protocol.Awareness(
            protocol.encode_awareness([protocol.AwarenessState(ana.doc.client_id, 1, claimed)])
        )
    )
    fake = {"user": {"name": "Facilitator", "role": "facilitator"}}
    await viewer.send(
        protocol.Awareness(protocol.encode_awareness([protocol.AwarenessState(77, 1, fake)]))
    )
    await fac.wait_until(lambda: {ana.doc.client_id, 77} <= set(fac.awareness))
    assert fac.awareness[ana.doc.client_id] == (
        1,
        {"user": {"color": "#c63", "role": "participant"}},
    )
    assert fac.awareness[77] == (1, {"user": {"role": "viewer"}})
    # Nothing of the name reached anyone, in any frame.
    assert not any(
        b"Ana" in frame or b"sident" in frame for frame in fac.received + viewer.received
    )
    # A presence state is small: a bigger one closes the sender.
    big = protocol.AwarenessState(78, 1, {"user": {"color": "x" * 5000}})
    await viewer.send(protocol.Awareness(protocol.encode_awareness([big])))
    assert await viewer.wait_closed() == CloseCode.TOO_LARGE
    assert viewer.close_reason == "presence over 4096 bytes"
    for client in (fac, ana):
        await client.close()
