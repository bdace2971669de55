"""One Redis connection for the fan-out's hot path, spoken to directly (RESP2, parsed by hiredis).

Every update a process commits is published once and heard back by every process that serves the
board (its own included: pub/sub does not filter by sender). Through redis-py each message crossed
its connection pool, retry wrapper, observability hooks, `listen()` generator and a dict per
message; measured with `bench/redis_path.py`, that was most of what a second process costs
(#17 target 4). Here a message costs one `hiredis.Reader.gets()` and a callback, and a publish
costs one write: publishes are pipelined, their replies matched in order.

Two of these serve the fan-out (server/fanout/redis.py): a publisher, and a subscriber, whose
messages go to `on_message(channel, data)`. The rest of Redis (claims, presence, locks, ...) stays
on redis-py's pool (server/scale/redis.py); a connection here is opened with that pool's settings
(address, TLS, user and password, client name), so `CLIENT LIST` shows it beside the process's
other connections.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from collections.abc import Callable
from typing import Any, cast

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

log = logging.getLogger("cobord.fanout")

OnMessage = Callable[[bytes, bytes], None]

# The most replies that may be awaited on one connection: a publisher that outruns Redis by this
# much waits (its caller's timeout bounds the wait) rather than queueing without end.
PENDING_MAX = 1024


class RespConnection(asyncio.Protocol):
    def __init__(self, on_message: OnMessage | None = None) -> None:
        self._on_message = on_message
        self._reader = hiredis.Reader(replyError=ResponseError)
        self._transport: asyncio.Transport | None = None
        # One entry per command written and not yet answered: its future and how many replies
        # it still expects (SUBSCRIBE and UNSUBSCRIBE answer once per channel).
        self._pending: deque[list[Any]] = deque()
        self._room = asyncio.Event()  # set while fewer than PENDING_MAX replies are awaited
        self._room.set()
        self._lost: Exception | None = None
        self.closed = asyncio.Event()

    @classmethod
    async def open_like(cls, client: Redis, on_message: OnMessage | None = None) -> RespConnection:
        """A connection to the Redis of `client`'s pool, authenticated and named as its own are.
        Raises RedisError or OSError."""
        pool = client.connection_pool
        options = pool.connection_kwargs
        loop = asyncio.get_running_loop()
        connection = cls(on_message)
        async with asyncio.timeout(options.get("socket_connect_timeout") or 5.0):
            if issubclass(pool.connection_class, UnixDomainSocketConnection):
                await loop.create_unix_connection(lambda: connection, options["path"])
            else:
                tls = issubclass(pool.connection_class, SSLConnection)
                await loop.create_connection(
                    lambda: connection,
                    options.get("host", "localhost"),
                    options.get("port", 6379),
                    ssl=tls_context(options) if tls else None,
                )
            try:
                if options.get("password") is not None:
                    user = options.get("username")
                    secret = options["password"]
                    await connection.command("AUTH", *((user, secret) if user else (secret,)))
                if options.get("client_name"):
                    await connection.command("CLIENT", "SETNAME", options["client_name"])
            except BaseException:
                connection.close()
                raise
        return connection

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # (uvloop's is not a subclass)

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        while True:
            try:
                reply = reader.gets()
            except hiredis.ProtocolError:  # not Redis speaking: drop the connection
                assert self._transport is not None
                self._transport.abort()
                return
            if reply is False:
                return
            if (
                self._on_message is not None
                and type(reply) is list
                and len(reply) == 3
                and reply[0] == b"message"
            ):
                try:
                    self._on_message(reply[1], reply[2])
                except Exception:  # one bad message must not stall the ones behind it
                    log.exception("a fan-out message could not be handled")
            elif self._pending:
                entry = self._pending[0]
                entry[1] -= 1
                if entry[1]:
                    continue
                self._pending.popleft()
                future = entry[0]
                if not future.done():  # (its caller may have given up)
                    if isinstance(reply, ResponseError):
                        future.set_exception(reply)
                    else:
                        future.set_result(reply)
                if len(self._pending) < PENDING_MAX:
                    self._room.set()
            # else: a subscription's confirmation nobody waits for

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = RedisConnectionError(f"Redis connection lost: {exc!r}")
        self._transport = None
        while self._pending:
            future = self._pending.popleft()[0]
            if not future.done():
                future.set_exception(self._lost)
        self._room.set()
        self.closed.set()

    # -- commands

    async def command(self, *args: str | bytes, replies: int = 1) -> Any:
        """Write a command and wait for its last reply (`replies`: SUBSCRIBE and UNSUBSCRIBE
        answer once per channel). Waits while PENDING_MAX replies are outstanding."""
        while not self._room.is_set():
            await self._room.wait()
        return await self.request(*args, replies=replies)

    def request(self, *args: str | bytes, replies: int = 1) -> asyncio.Future[Any]:
        """Write a command now; its reply comes on the future (cancel it to ignore the reply).
        Commands are pipelined: replies come in the order the commands were written."""
        if self._transport is None or self._lost is not None:
            raise self._lost or RedisConnectionError("Redis connection closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # (hiredis' stub types the argument as a 1-tuple; any length is packed)
        self._transport.write(hiredis.pack_command(args))  # type: ignore[arg-type]
        self._pending.append([future, replies])
        if len(self._pending) >= PENDING_MAX:
            self._room.clear()
        return future

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        """Drop the connection and whatever it has not sent yet (a Redis that stopped answering
        must not grow our write buffer: the next command opens a fresh connection)."""
        if self._transport is not None:
            self._transport.abort()


def tls_context(options: dict[str, Any]) -> ssl.SSLContext:
    """The TLS settings a `rediss://` URL gives redis-py (`ssl_ca_certs`, `ssl_cert_reqs`,
    `ssl_check_hostname`, `ssl_certfile`, `ssl_keyfile`), for our connections too."""
    context = ssl.create_default_context(cafile=options.get("ssl_ca_certs"))
    if options.get("ssl_certfile"):
        context.load_cert_chain(options["ssl_certfile"], options.get("ssl_keyfile"))
    required = options.get("ssl_cert_reqs", "required")
    if required in ("none", ssl.CERT_NONE):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif options.get("ssl_check_hostname") is False:
        context.check_hostname = False
    return context
