"""Fan-out over Redis pub/sub: one channel per board, `cobord:board:<id>`.

Pub/sub delivers at most once: a message published while this process was disconnected is lost.
So after every (re)connection the listener asks the hub to resync, and each room catches up from
the updates table by seq — the log, not Redis, is the source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from crdt.protocol import ProtocolError
from server.fanout.base import Deliver, FanoutMessage, Resync

log = logging.getLogger("cobord.fanout")

CHANNEL_PREFIX = "cobord:board:"
RECONNECT_SECONDS = (0.1, 0.5, 1.0, 2.0)
PROBE_TIMEOUT_SECONDS = 5.0


def channel_of(board_id: str) -> str:
    return CHANNEL_PREFIX + board_id


class RedisFanout:
    def __init__(self, url: str) -> None:
        self.instance_id = secrets.token_hex(8)
        self.shared = True
        self.url = url
        self._client: aioredis.Redis | None = None
        self._pubsub: Any = None
        self._boards: set[str] = set()
        self._listener: asyncio.Task[None] | None = None
        self._deliver: Deliver | None = None
        self._resync: Resync | None = None
        self._connected = asyncio.Event()
        self._probes: dict[str, asyncio.Event] = {}  # board id -> set when our probe came back
        self._instance_channel = "cobord:instance:" + self.instance_id

    async def start(self, deliver: Deliver, resync: Resync) -> None:
        self._deliver, self._resync = deliver, resync
        self._client = aioredis.Redis.from_url(self.url)
        await self._client.ping()  # fail at start-up, not at the first edit
        self._listener = asyncio.create_task(self._listen(), name="fanout:redis")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._pubsub is not None:
            await self._pubsub.aclose()
        if self._client is not None:
            await self._client.aclose()

    async def subscribe(self, board_id: str) -> None:
        """SUBSCRIBE, then publish a probe to ourselves and wait for it: once it is back, Redis
        has processed the subscription, so nothing committed after this returns is missed."""
        self._boards.add(board_id)
        if self._pubsub is None or not self._connected.is_set():
            return  # the listener subscribes every board on (re)connect, then asks for a resync
        probe = self._probes.setdefault(board_id, asyncio.Event())
        try:
            await self._pubsub.subscribe(channel_of(board_id))
            await self.publish(board_id, FanoutMessage(self.instance_id, "probe", b""))
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
        assert self._client is not None
        try:
            await self._client.publish(channel_of(board_id), message.encode())
        except (RedisError, OSError):
            # Other processes will catch up from the log after their resync; our own clients
            # already have the update. Nothing is lost, only delayed.
            log.warning("board %s: publish to Redis failed", board_id, exc_info=True)

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
                self._resync()
            return
        if not channel.startswith(CHANNEL_PREFIX):
            return
        try:
            decoded = FanoutMessage.decode(message["data"])
        except ProtocolError:
            log.warning("ignoring a malformed fan-out message on %s", channel)
            return
        board_id = channel[len(CHANNEL_PREFIX) :]
        if decoded.origin == self.instance_id:
            probe = self._probes.get(board_id)
            if probe is not None:
                probe.set()
        elif decoded.kind != "probe":
            self._deliver(board_id, decoded)
