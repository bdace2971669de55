"""The fan-out seam: one contract for MemoryFanout and RedisFanout, then several real server
processes sharing boards through PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from pycrdt import Map

from crdt import protocol
from server.fanout import FanoutMessage, MemoryBroker, MemoryFanout, RedisFanout
from server.fanout.base import Fanout
from tests.support import drop_pubsub, service_missing
from tests.yclient import YClient, add_note

REDIS_URL = "redis://127.0.0.1:6379/0"


async def redis_or_skip() -> None:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, aioredis.RedisError) as exc:
        service_missing(f"Redis at {REDIS_URL} is not usable: {exc!r}")
    finally:
        await client.aclose()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, FanoutMessage]] = []
        self.resyncs = 0
        self.gaps: list[str | None] = []  # the boards asked to catch up (None: every board)
        self.changed = asyncio.Event()
        self.resynced = asyncio.Event()

    def deliver(self, board_id: str, message: FanoutMessage) -> None:
        self.messages.append((board_id, message))
        self.changed.set()

    def resync(self, board_id: str | None) -> None:
        self.resyncs += 1
        self.gaps.append(board_id)
        self.resynced.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.messages) < count:
                self.changed.clear()
                await self.changed.wait()


Pair = tuple[Fanout, Inbox, Fanout, Inbox]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def pair(
    request: pytest.FixtureRequest, redis_pools: Callable[[], aioredis.Redis]
) -> AsyncIterator[Pair]:
    """Two fan-out instances that see each other, like two server processes."""
    if request.param == "redis":
        await redis_or_skip()
        a: Fanout = RedisFanout(redis_pools())
        b: Fanout = RedisFanout(redis_pools())
    else:
        broker = MemoryBroker()
        a, b = MemoryFanout(broker), MemoryFanout(broker)
    inbox_a, inbox_b = Inbox(), Inbox()
    await a.start(inbox_a.deliver, inbox_a.resync)
    await b.start(inbox_b.deliver, inbox_b.resync)
    for fanout in (a, b):
        if isinstance(fanout, RedisFanout):
            await fanout.wait_connected()
    yield a, inbox_a, b, inbox_b
    await a.close()
    await b.close()


RedisPair = tuple[RedisFanout, Inbox, RedisFanout, Inbox, str]


@pytest.fixture
async def redis_pair(redis_pools: Callable[[], aioredis.Redis]) -> AsyncIterator[RedisPair]:
    """Two Redis fan-outs, both subscribed to one new board (its id comes last)."""
    await redis_or_skip()
    a, b = RedisFanout(redis_pools()), RedisFanout(redis_pools())
    inbox_a, inbox_b = Inbox(), Inbox()
    await a.start(inbox_a.deliver, inbox_a.resync)
    await b.start(inbox_b.deliver, inbox_b.resync)
    try:
        await a.wait_connected()
        await b.wait_connected()
        board = uuid.uuid4().hex
        await subscribed(a, board)
        await subscribed(b, board)
        yield a, inbox_a, b, inbox_b, board
    finally:
        await a.close()
        await b.close()


async def subscribed(fanout: Fanout, board: str) -> None:
    await fanout.subscribe(board)  # returns once messages on the board reach this instance


def message(origin: str, frame: bytes = b"\x00\x02\x02\x00\x00", **kw: Any) -> FanoutMessage:
    return FanoutMessage(origin, "update", frame, **kw)


async def test_a_message_reaches_the_other_instance_only(pair: Pair) -> None:
    a, inbox_a, b, inbox_b = pair
    board = uuid.uuid4().hex
    await subscribed(a, board)
    await subscribed(b, board)
    sent = message(a.instance_id, last_seq=42, created=(("n1", "ana"),))
    await a.publish(board, sent)
    await inbox_b.wait_for(1)
    assert inbox_b.messages == [(board, replace(sent, number=1))]  # numbered by its publisher
    # ...and not back to its sender: a marker from b proves a's inbox is up to date.
    await b.publish(board, message(b.instance_id))
    await inbox_a.wait_for(1)
    assert [m.origin for _, m in inbox_a.messages] == [b.instance_id]


async def test_unsubscribed_boards_are_not_delivered(pair: Pair) -> None:
    a, _, b, inbox_b = pair
    board, other = uuid.uuid4().hex, uuid.uuid4().hex
    await subscribed(b, board)
    await subscribed(b, other)
    await b.unsubscribe(other)
    await a.publish(other, message(a.instance_id, last_seq=1))
    await a.publish(board, message(a.instance_id, last_seq=2))
    await inbox_b.wait_for(1)
    assert [(bid, m.last_seq) for bid, m in inbox_b.messages] == [(board, 2)]


async def test_a_lost_update_is_detected_by_its_number(pair: Pair) -> None:
    """The publisher loses update 2 (as on a failed publish): update 3 shows the gap."""
    a, _, b, inbox_b = pair
    board = uuid.uuid4().hex
    await subscribed(a, board)
    await subscribed(b, board)
    a.send(board, message(a.instance_id, last_seq=1))
    await inbox_b.wait_for(1)
    assert inbox_b.gaps == []
    a.drop_next = 1  # type: ignore[attr-defined]
    a.send(board, message(a.instance_id, last_seq=2))
    a.send(board, message(a.instance_id, last_seq=3))
    await inbox_b.wait_for(2)
    async with asyncio.timeout(5):
        await inbox_b.resynced.wait()
    assert [(m.last_seq, m.number) for _, m in inbox_b.messages] == [(1, 1), (3, 3)]
    assert inbox_b.gaps == [board]


@pytest.mark.redis
async def test_the_last_update_lost_is_detected_by_a_mark(redis_pair: RedisPair) -> None:
    """Nothing follows the lost update: the publisher's mark (sent once Redis takes messages
    again) carries its number, and the receiver catches up."""
    a, _inbox_a, _b, inbox_b, board = redis_pair
    a.send(board, message(a.instance_id, last_seq=1))
    await inbox_b.wait_for(1)
    a.drop_next = 1
    a.send(board, message(a.instance_id, last_seq=2))
    async with asyncio.timeout(5):
        await inbox_b.resynced.wait()
    assert inbox_b.gaps == [board]
    assert [m.number for _, m in inbox_b.messages] == [1]  # update 2 never arrived
    assert a.lost == 1


def test_message_codec_round_trip_and_garbage() -> None:
    sent = FanoutMessage("abc", "awareness", b"\x01\x02\x00\x00", 7, (("n", "p"),), 12)
    assert FanoutMessage.decode(sent.encode()) == sent
    header = b'{"o":"a","k":"update","s":1,"c":[],"n":1}'
    assert FanoutMessage.decode(bytes([len(header)]) + header + b"\x00").last_seq == 1
    trailing = bytes([len(header) + 2]) + header + b" x\x00"  # characters after the JSON
    for garbage in (
        b"",
        b"\x05{}",
        b"\x02{}",
        b"\x0b" + b'{"k":"x"}' + b"xx",
        trailing,
    ):
        with pytest.raises(protocol.ProtocolError):
            FanoutMessage.decode(garbage)


@pytest.mark.parametrize(
    "sent",
    [
        FanoutMessage("0123456789abcdef", "update", b"\x00\x02\x02\x00\x00", 41, (), 9),
        FanoutMessage('a "quoted" \u00e9', "mark", b"", 0, (), 3),
        FanoutMessage("b", "update", b"\x00", 2, (("n", "p-ana"),), 1, (("m", "p-bob"),)),
    ],
)
def test_the_header_is_the_json_every_version_reads(sent: FanoutMessage) -> None:
    """Processes of two versions share a board's channel during a rolling upgrade: the header
    is written byte for byte as `json.dumps` wrote it (however it is built now)."""
    header = {"o": sent.origin, "k": sent.kind, "s": sent.last_seq, "c": sent.created}
    header["n"] = sent.number
    if sent.lost:
        header["l"] = sent.lost
    text = json.dumps(header, separators=(",", ":")).encode()
    assert sent.encode() == bytes([len(text)]) + text + sent.frame
    assert FanoutMessage.decode(sent.encode()) == sent


@pytest.mark.redis
async def test_redis_reconnect_asks_for_a_resync(
    redis_pools: Callable[[], aioredis.Redis],
) -> None:
    await redis_or_skip()
    fanout = RedisFanout(redis_pools())
    inbox = Inbox()
    await fanout.start(inbox.deliver, inbox.resync)
    await fanout.wait_connected()
    admin = aioredis.Redis.from_url(REDIS_URL)
    try:
        # This process's pub/sub connection only (the fan-out's): not other tests' processes.
        assert await drop_pubsub(admin) == 1
        async with asyncio.timeout(10):
            await inbox.resynced.wait()
        assert inbox.resyncs >= 1
    finally:
        await admin.aclose()
        await fanout.close()


# ---------------------------------------------------------------------------- real processes


def counter(server: Any, name: str) -> float:
    """A counter from the process's /metrics."""
    text = httpx.get(f"{server.http}/metrics").text
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match is not None, name
    return float(match.group(1))


Connect = Callable[..., Awaitable[YClient]]


@pytest.mark.redis
@pytest.mark.postgres
async def test_two_processes_share_a_board(two: tuple[Any, Any]) -> None:
    # The session's two processes (tests/conftest.py): they share the suite's SECRET_KEY, so the
    # second takes the first's tokens.
    first, second = two
    board = first.create_board()
    ana = first.join(board["join_code"], name="Ana")
    on_first = await YClient(first.url(board["id"], ana["token"])).connect()
    on_second = await YClient(second.url(board["id"], board["facilitator_token"])).connect()
    watcher = await YClient(second.url(board["id"], board["viewer_token"])).connect()
    await on_first.change(add_note("from-first", "posted on process 1"))
    await on_second.change(add_note("from-second", "posted on process 2"))
    await on_first.wait_until(lambda: "from-second" in on_first.notes())
    await on_second.wait_until(lambda: "from-first" in on_second.notes())
    # Awareness crosses processes too.
    state = protocol.AwarenessState(777, 1, {"user": {"name": "Ana"}})
    await on_first.send(protocol.Awareness(protocol.encode_awareness([state])))
    await watcher.wait_until(lambda: 777 in watcher.awareness)
    # Ana reconnects to the other process and edits her own note: authorship crossed too.
    await on_first.close()
    await watcher.wait_until(lambda: 777 not in watcher.awareness)
    ana_again = await YClient(second.url(board["id"], ana["token"])).connect()
    await ana_again.change(
        lambda d: d.get("notes", type=Map)["from-first"].__setitem__("text", "edited on process 2")
    )
    await on_second.wait_until(
        lambda: on_second.notes()["from-first"]["text"] == "edited on process 2"
    )
    assert not ana_again.denied
    # A setting changed through process 1's API binds process 2's rules.
    async with httpx.AsyncClient() as http:
        r = await http.patch(
            f"{first.http}/api/boards/{board['id']}/settings",
            json={"locked": True},
            headers={"Authorization": f"Bearer {board['facilitator_token']}"},
        )
        assert r.status_code == 200
    await ana_again.wait_until(
        lambda: (ana_again.doc.get("meta", type=Map).get("settings") or {}).get("locked") is True
    )
    await ana_again.change(add_note("while-locked", "no"))
    await ana_again.wait_until(lambda: bool(ana_again.denied))
    assert ana_again.denied == ["the board is locked"]
    for client in (on_second, watcher, ana_again):
        await client.close()


@pytest.mark.redis
@pytest.mark.postgres
async def test_nothing_is_lost_across_a_redis_gap(two: tuple[Any, Any]) -> None:
    """Both processes' pub/sub connections are dropped, then notes are written at once: what the
    first process publishes before the second has subscribed again (>= 0.1 s of backoff) is gone
    from Redis. The second process's metrics show the loss was real (a catch-up found updates the
    fan-out had not brought), and its client still gets every note, from the log."""
    # The session's two processes (tests/conftest.py): they share the suite's SECRET_KEY, so the
    # second takes the first's tokens.
    first, second = two
    board = first.create_board()
    writer = await YClient(first.url(board["id"], board["facilitator_token"])).connect()
    reader = await YClient(second.url(board["id"], board["viewer_token"])).connect()
    await writer.change(add_note("n-before", "before the gap"))
    await reader.wait_until(lambda: "n-before" in reader.notes())
    # The processes serve the whole session: count from here.
    recovered = counter(second, "cobord_catch_ups_recovered_total")
    admin = aioredis.Redis.from_url(REDIS_URL)
    written = 1
    try:
        # A round can lose nothing if the second process re-subscribes before the first
        # publishes (a slow box): try again, a bounded number of times.
        gaps = counter(second, "cobord_fanout_gaps_total")
        for _ in range(5):
            # Both processes' pub/sub connections, and no one else's (other tests run beside).
            assert await drop_pubsub(admin, first.proc.pid) == 1
            assert await drop_pubsub(admin, second.proc.pid) == 1
            for _ in range(10):
                await writer.change(add_note(f"n{written}", f"idea {written}"))
                written += 1
            await reader.wait_until(lambda n=written: len(reader.notes()) == n, timeout=20)
            if counter(second, "cobord_catch_ups_recovered_total") > recovered:
                break
        assert counter(second, "cobord_catch_ups_recovered_total") > recovered, "nothing was lost"
        assert counter(second, "cobord_fanout_gaps_total") > gaps  # the drop was seen
    finally:
        await admin.aclose()
    with contextlib.suppress(Exception):
        await writer.close()
    await reader.close()


@pytest.mark.redis
async def test_a_process_does_not_decode_its_own_messages_coming_back(
    redis_pair: RedisPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pub/sub sends each message to every subscriber, its publisher too: the publisher tells
    its own from the header's first bytes and drops them undecoded."""
    a, inbox_a, b, inbox_b, board = redis_pair
    decoded: list[str] = []
    decode = FanoutMessage.decode

    def counting(data: bytes) -> FanoutMessage:
        message = decode(data)
        # (B's subscription probe may still be on its way to A: it is B's, and not counted.)
        if message.kind != "probe":
            decoded.append(message.origin)
        return message

    monkeypatch.setattr(FanoutMessage, "decode", counting)
    for seq in (1, 2, 3):
        a.send(board, message(a.instance_id, last_seq=seq))
    await inbox_b.wait_for(3)
    b.send(board, message(b.instance_id, last_seq=4))
    await inbox_a.wait_for(1)  # after A's own three, in the channel's order
    assert sorted(decoded) == sorted([a.instance_id] * 3 + [b.instance_id])
    assert [m.last_seq for _, m in inbox_b.messages] == [1, 2, 3]
    assert [m.last_seq for _, m in inbox_a.messages] == [4]


@pytest.mark.redis
async def test_a_board_subscribed_right_after_start_misses_nothing(
    redis_pools: Callable[[], aioredis.Redis],
) -> None:
    """`start` returns once the listener's subscription is confirmed: a board loaded at once
    (the first socket of a fresh process) hears everything published after its `subscribe`."""
    await redis_or_skip()
    a, b = RedisFanout(redis_pools()), RedisFanout(redis_pools())
    inbox_b = Inbox()
    await a.start(Inbox().deliver, Inbox().resync)
    board = uuid.uuid4().hex
    await a.subscribe(board)
    try:
        await b.start(inbox_b.deliver, inbox_b.resync)
        await b.subscribe(board)
        a.send(board, message(a.instance_id, last_seq=1))
        await inbox_b.wait_for(1)
        assert [m.number for _, m in inbox_b.messages] == [1]
        assert inbox_b.gaps == []
    finally:
        await a.close()
        await b.close()
