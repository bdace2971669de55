"""Fan-out over Redis pub/sub: one channel per board, `cobord:board:<id>`.

Pub/sub delivers at most once: a message published while this process was disconnected is lost.
So after every reconnection the listener asks the hub to resync, and each room catches up from
the updates table by seq — the log, not Redis, is the source of truth. Updates are numbered per
board by their publisher (base.Numbering): a receiver that sees a number skipped (a publish that
failed or timed out, a queue entry dropped) catches that board up too.

Outgoing messages wait in two bounded queues drained by one task: updates, and awareness (which
may be dropped: clients resend their presence). What is queued is published in one pipelined
write; each such batch has a timeout, so a stalled Redis costs at most that; after any loss a
"mark" carrying our current number is published once Redis answers again, so even the last update
lost is detected.

Publishing and listening go over two connections of our own (server/fanout/resp.py: the hot path,
without redis-py's per-message layers); locks and pings use the process's redis-py pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from crdt.protocol import ProtocolError
from server.fanout.base import Deliver, FanoutMessage, Numbering, Resync, is_from
from server.fanout.resp import RespConnection

log = logging.getLogger("cobord.fanout")

CHANNEL_PREFIX = "cobord:board:"
CHANNEL_PREFIX_BYTES = CHANNEL_PREFIX.encode()
RECONNECT_SECONDS = (0.1, 0.25, 0.5)
SUBSCRIBE_TIMEOUT_SECONDS = 5.0
PUBLISH_TIMEOUT_SECONDS = 2.0
PUBLISH_BATCH_MAX = 256  # messages written at once, their replies awaited together
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
        # to close. Our two connections are opened with its settings.
        self._client: aioredis.Redis | None = redis
        self._publisher: RespConnection | None = None
        self._opening = asyncio.Lock()
        self._subscriber: RespConnection | None = None
        self._boards: set[str] = set()
        self._listener: asyncio.Task[None] | None = None
        self._deliver: Deliver | None = None
        self._resync: Resync | None = None
        self._connected = asyncio.Event()
        self._instance_channel = "cobord:instance:" + self.instance_id
        self.numbering = Numbering()
        self._updates: deque[tuple[str, FanoutMessage]] = deque()
        self._awareness: deque[tuple[str, FanoutMessage]] = deque(maxlen=OUTGOING_AWARENESS_MAX)
        self._outgoing_ready = asyncio.Event()
        self._marks: set[str] = set()  # boards whose receivers must hear our current number
        self._publish_task: asyncio.Task[None] | None = None
        self.drop_next = 0  # tests: this many of the next updates are lost, as on a failed publish
        self.lost = 0  # updates that never reached Redis (receivers catch up from the log)

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        self._deliver, self._resync = deliver, resync
        assert self._client is not None
        async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
            await self._client.ping()  # fail at start-up, not at the first edit
        self._listener = asyncio.create_task(self._listen(), name="fanout:redis")
        self._publish_task = asyncio.create_task(self._publish_loop(), name="fanout:publish")
        # No board loads before its messages can reach us: a board subscribed before the first
        # connection would miss what was published between its load and that connection.
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                await self._connected.wait()
        except TimeoutError:
            await self.close()
            raise RedisConnectionError("Redis did not confirm the fan-out's subscription") from None

    async def close(self) -> None:
        for task in (self._listener, self._publish_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for connection in (self._publisher, self._subscriber):
            if connection is not None:
                connection.close()

    async def subscribe(self, board_id: str) -> None:
        """Returns once Redis has confirmed the SUBSCRIBE: nothing published on the board after
        this returns is missed (while disconnected, the listener subscribes it on reconnect)."""
        self._boards.add(board_id)
        self.numbering.forget(board_id)
        subscriber = self._subscriber
        if subscriber is None or not self._connected.is_set():
            return  # the listener subscribes every board on (re)connect, then asks for a resync
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                await subscriber.command("SUBSCRIBE", channel_of(board_id))
        except (RedisError, OSError, TimeoutError):
            log.warning("board %s: Redis subscription not confirmed", board_id)

    async def unsubscribe(self, board_id: str) -> None:
        self._boards.discard(board_id)
        subscriber = self._subscriber
        if subscriber is not None and self._connected.is_set():
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                    await subscriber.command("UNSUBSCRIBE", channel_of(board_id))

    async def publish(self, board_id: str, message: FanoutMessage) -> None:
        stamped = self.numbering.stamp(board_id, message)
        await self._publish_batch([(board_id, stamped)])

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

    async def _publisher_connection(self) -> RespConnection:
        """The open publishing connection, or a new one."""
        publisher = self._publisher
        if publisher is not None and not publisher.closed.is_set():
            return publisher
        async with self._opening:  # (the loop and publish() may both find it closed)
            if self._publisher is None or self._publisher.closed.is_set():
                assert self._client is not None
                self._publisher = await RespConnection.open_like(self._client)
            return self._publisher

    async def _publish_batch(self, batch: list[tuple[str, FanoutMessage]]) -> list[bool]:
        """PUBLISH each message, pipelined, bounded in time together. For each: whether Redis
        took it (a failure is logged once: the message is lost)."""
        taken = [False] * len(batch)
        sent: list[tuple[int, asyncio.Future[object]]] = []
        publisher: RespConnection | None = None
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
                publisher = await self._publisher_connection()
                for index, (board_id, message) in enumerate(batch):
                    if message.kind == "update" and self.drop_next > 0:
                        self.drop_next -= 1
                        continue
                    reply = publisher.request("PUBLISH", channel_of(board_id), message.encode())
                    sent.append((index, reply))
                for index, reply in sent:
                    await reply
                    taken[index] = True
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("publish to Redis failed: %r", exc)
            if isinstance(exc, TimeoutError) and publisher is not None:
                publisher.abort()  # what it still holds is lost anyway: receivers catch up
            for _, reply in sent:  # nobody waits for the rest any more
                if not reply.cancel() and not reply.cancelled():
                    reply.exception()
        return taken

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
                batch: list[tuple[str, FanoutMessage]] = []
                while (self._updates or self._awareness) and len(batch) < PUBLISH_BATCH_MAX:
                    batch.append((self._updates or self._awareness).popleft())
                outcome = await self._publish_batch(batch)
                for (board_id, message), taken in zip(batch, outcome, strict=True):
                    if not taken and message.kind == "update":
                        self.lost += 1
                        self._marks.add(board_id)
            for board_id in list(self._marks):
                if board_id not in self._boards:
                    self._marks.discard(board_id)
                    continue
                mark = self.numbering.stamp(board_id, FanoutMessage(self.instance_id, "mark", b""))
                if (await self._publish_batch([(board_id, mark)]))[0]:
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
                subscriber = await RespConnection.open_like(self._client, self._on_message)
                self._subscriber = subscriber
                # Our own channel keeps the connection subscribed (and named in CLIENT LIST as
                # pub/sub) even with no board loaded.
                subscribed: set[str] = set()
                channels = [self._instance_channel, *map(channel_of, self._boards)]
                async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                    while channels:  # (boards loaded while we wait are subscribed too)
                        await subscriber.command("SUBSCRIBE", *channels, replies=len(channels))
                        subscribed.update(channels)
                        channels = [
                            channel_of(board)
                            for board in self._boards
                            if channel_of(board) not in subscribed
                        ]
                if attempt:
                    # We may have missed messages while disconnected. Redis has confirmed every
                    # SUBSCRIBE: nothing committed after the catch-up read can slip between.
                    self.numbering.seen.clear()
                    if self._resync is not None:
                        self._resync(None)
                self._connected.set()
                attempt = 0
                await subscriber.closed.wait()
                raise RedisConnectionError("the subscriber's connection closed")
            except (RedisError, OSError, TimeoutError):
                self._connected.clear()
                if self._subscriber is not None:
                    self._subscriber.close()
                delay = RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)]
                attempt += 1
                log.warning("Redis fan-out disconnected; retrying in %.1f s", delay)
                await asyncio.sleep(delay)  # reconnect backoff (not a test synchronisation)

    def _on_message(self, channel: bytes, data: bytes) -> None:
        if self._deliver is None or not channel.startswith(CHANNEL_PREFIX_BYTES):
            return  # (our instance channel carries nothing for us any more)
        if is_from(data, self.instance_id):
            return  # pub/sub echoes our own publishes
        board_id = channel[len(CHANNEL_PREFIX_BYTES) :].decode()
        try:
            decoded = FanoutMessage.decode(data)
        except ProtocolError:
            log.warning("ignoring a malformed fan-out message on %r", channel)
            return
        if decoded.kind != "probe":  # (probes: sent by earlier versions to themselves)
            gap = self.numbering.check(board_id, decoded)
            if decoded.kind != "mark":
                self._deliver(board_id, decoded)
            if gap and self._resync is not None:
                log.warning("board %s: fan-out gap from %s; catching up", board_id, decoded.origin)
                self._resync(board_id)
