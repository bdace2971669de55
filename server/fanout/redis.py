"""Fan-out over Redis pub/sub: one channel per board, `cobord:board:<id>`.

Pub/sub delivers at most once: a message published while this process was disconnected is lost.
So after every (re)connection the listener asks the hub to resync, and each room catches up from
the updates table by seq — the log, not Redis, is the source of truth. Updates are numbered per
board by their publisher (base.Numbering): a receiver that sees a number skipped (a publish that
failed or timed out, a queue entry dropped) catches that board up too.

Outgoing messages wait in two bounded queues drained by one task: updates, and awareness (which
may be dropped: clients resend their presence). Each publish has a timeout, so a stalled Redis
costs at most that per message; after any loss a "mark" carrying our current number is published
once Redis answers again, so even the last update lost is detected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from crdt.protocol import ProtocolError
from server.fanout.base import Deliver, FanoutMessage, Numbering, Resync, is_from

log = logging.getLogger("cobord.fanout")

CHANNEL_PREFIX = "cobord:board:"
RECONNECT_SECONDS = (0.1, 0.25, 0.5)
PROBE_TIMEOUT_SECONDS = 5.0
PUBLISH_TIMEOUT_SECONDS = 2.0
OUTGOING_UPDATES_MAX = 10_000
OUTGOING_AWARENESS_MAX = 2_000
MARK_RETRY_SECONDS = 1.0
LOCK_SECONDS = 10.0  # a lock holder that died frees it after this


def channel_of(board_id: str) -> str:
    return CHANNEL_PREFIX + board_id


class RedisFanout:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.instance_id = secrets.token_hex(8)
        self.shared = True
        # The process's pool (server/scale/redis.py), shared with the other Redis users: not ours
        # to close. The listener's subscription holds one of its connections.
        self._client: aioredis.Redis | None = redis
        self._pubsub: Any = None
        self._boards: set[str] = set()
        self._listener: asyncio.Task[None] | None = None
        self._deliver: Deliver | None = None
        self._resync: Resync | None = None
        self._connected = asyncio.Event()
        self._probes: dict[str, asyncio.Event] = {}  # board id -> set when our probe came back
        self._instance_channel = "cobord:instance:" + self.instance_id
        self.numbering = Numbering()
        self._updates: deque[tuple[str, FanoutMessage]] = deque()
        self._awareness: deque[tuple[str, FanoutMessage]] = deque(maxlen=OUTGOING_AWARENESS_MAX)
        self._outgoing_ready = asyncio.Event()
        self._marks: set[str] = set()  # boards whose receivers must hear our current number
        self._publisher: asyncio.Task[None] | None = None
        self.drop_next = 0  # tests: this many of the next updates are lost, as on a failed publish
        self.lost = 0  # updates that never reached Redis (receivers catch up from the log)

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        self._deliver, self._resync = deliver, resync
        assert self._client is not None
        async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
            await self._client.ping()  # fail at start-up, not at the first edit
        self._listener = asyncio.create_task(self._listen(), name="fanout:redis")
        self._publisher = asyncio.create_task(self._publish_loop(), name="fanout:publish")

    async def close(self) -> None:
        for task in (self._listener, self._publisher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._pubsub is not None:
            await self._pubsub.aclose()  # gives its connection back to the pool

    async def subscribe(self, board_id: str) -> None:
        """SUBSCRIBE, then publish a probe to ourselves and wait for it: once it is back, Redis
        has processed the subscription, so nothing committed after this returns is missed."""
        self._boards.add(board_id)
        self.numbering.forget(board_id)
        if self._pubsub is None or not self._connected.is_set():
            return  # the listener subscribes every board on (re)connect, then asks for a resync
        probe = self._probes.setdefault(board_id, asyncio.Event())
        try:
            await self._pubsub.subscribe(channel_of(board_id))
            await self._publish_now(board_id, FanoutMessage(self.instance_id, "probe", b""))
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                await probe.wait()
        except (RedisError, OSError, TimeoutError):
            log.warning("board %s: Redis subscription not confirmed", board_id)
        finally:
            self._probes.pop(board_id, None)

    async def unsubscribe(self, board_id: str) -> None:
        self._boards.discard(board_id)
        if self._pubsub is not None and self._connected.is_set():
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(channel_of(board_id))

    async def publish(self, board_id: str, message: FanoutMessage) -> None:
        await self._publish_now(board_id, self.numbering.stamp(board_id, message))

    def send(self, board_id: str, message: FanoutMessage) -> None:
        message = self.numbering.stamp(board_id, message)
        if message.kind == "update":
            if len(self._updates) >= OUTGOING_UPDATES_MAX:
                # Redis is too slow for us: drop the oldest, and tell receivers (its number).
                dropped_board, _ = self._updates.popleft()
                self._marks.add(dropped_board)
                self.lost += 1
            self._updates.append((board_id, message))
        else:
            self._awareness.append((board_id, message))
        self._outgoing_ready.set()

    async def _publish_now(self, board_id: str, message: FanoutMessage) -> bool:
        """One PUBLISH, bounded in time. False (logged) when it failed: the message is lost."""
        assert self._client is not None
        if message.kind == "update" and self.drop_next > 0:
            self.drop_next -= 1
            return False
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                await self._client.publish(channel_of(board_id), message.encode())
            return True
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("board %s: publish to Redis failed: %r", board_id, exc)
            return False

    async def _publish_loop(self) -> None:
        """Updates first, then awareness; after a loss, marks until Redis takes them."""
        while True:
            if self._marks and not self._updates and not self._awareness:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(MARK_RETRY_SECONDS):
                        await self._outgoing_ready.wait()
            else:
                await self._outgoing_ready.wait()
            self._outgoing_ready.clear()
            while self._updates or self._awareness:
                board_id, message = (self._updates or self._awareness).popleft()
                delivered = await self._publish_now(board_id, message)
                if not delivered and message.kind == "update":
                    self.lost += 1
                    self._marks.add(board_id)
            for board_id in list(self._marks):
                if board_id not in self._boards:
                    self._marks.discard(board_id)
                    continue
                mark = self.numbering.stamp(board_id, FanoutMessage(self.instance_id, "mark", b""))
                if await self._publish_now(board_id, mark):
                    self._marks.discard(board_id)
                else:
                    break

    @contextlib.asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        """A lock across processes (expires after LOCK_SECONDS if its holder dies)."""
        assert self._client is not None
        lock = self._client.lock(
            f"cobord:lock:{name}", timeout=LOCK_SECONDS, blocking_timeout=LOCK_SECONDS
        )
        async with asyncio.timeout(LOCK_SECONDS + PUBLISH_TIMEOUT_SECONDS):
            if not await lock.acquire():
                raise TimeoutError(f"lock {name} not acquired")
        try:
            yield
        finally:
            try:
                await lock.release()
            except (RedisError, OSError) as error:  # it expires after LOCK_SECONDS anyway
                log.warning("releasing lock %s failed: %r", name, error)

    async def ping(self) -> None:
        assert self._client is not None
        async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
            await self._client.ping()

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def _listen(self) -> None:
        attempt = 0
        while True:
            assert self._client is not None
            try:
                self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                # Our own channel keeps the connection subscribed even with no board loaded, and
                # carries the reconnect probe. One SUBSCRIBE command for every channel.
                await self._pubsub.subscribe(
                    self._instance_channel, *(channel_of(board) for board in self._boards)
                )
                if attempt:
                    self.numbering.seen.clear()  # the resync below reads everything we missed
                    # We may have missed messages while disconnected. Catch up only once our probe
                    # comes back: then Redis has processed the SUBSCRIBE, and nothing committed
                    # after the catch-up read can slip between the two.
                    await self._client.publish(self._instance_channel, b"resync")
                self._connected.set()
                attempt = 0
                async for message in self._pubsub.listen():
                    self._on_message(message)
            except (RedisError, OSError):
                self._connected.clear()
                delay = RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)]
                attempt += 1
                log.warning("Redis fan-out disconnected; retrying in %.1f s", delay)
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.aclose()
                await asyncio.sleep(delay)  # reconnect backoff (not a test synchronisation)

    def _on_message(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message" or self._deliver is None:
            return
        channel = message["channel"]
        channel = channel.decode() if isinstance(channel, bytes) else str(channel)
        if channel == self._instance_channel:
            if self._resync is not None:
                self._resync(None)
            return
        if not channel.startswith(CHANNEL_PREFIX):
            return
        board_id = channel[len(CHANNEL_PREFIX) :]
        data = message["data"]
        if not self._probes and is_from(data, self.instance_id):
            return  # pub/sub echoes our own publishes: only a probe of ours is awaited
        try:
            decoded = FanoutMessage.decode(data)
        except ProtocolError:
            log.warning("ignoring a malformed fan-out message on %s", channel)
            return
        if decoded.origin == self.instance_id:
            probe = self._probes.get(board_id)
            if probe is not None:
                probe.set()
        elif decoded.kind != "probe":
            gap = self.numbering.check(board_id, decoded)
            if decoded.kind != "mark":
                self._deliver(board_id, decoded)
            if gap and self._resync is not None:
                log.warning("board %s: fan-out gap from %s; catching up", board_id, decoded.origin)
                self._resync(board_id)
