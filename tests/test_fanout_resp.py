"""The fan-out's own Redis connections (server/fanout/resp.py), on real redis-servers: replies in
order under pipelining, errors, a lost connection, messages beside confirmations, and the pool's
settings (password, Unix socket, client name) carried over."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from server.fanout import redis as fanout_redis
from server.fanout.base import FanoutMessage
from server.fanout.redis import RedisFanout
from server.fanout.resp import PENDING_MAX, RespConnection
from server.scale.redis import client_name, connect
from tests.conftest import free_port
from tests.support import service_missing
from tests.test_fanout import redis_or_skip
from tests.test_multiprocess import RedisServer

pytestmark = pytest.mark.redis


async def test_pipelined_replies_come_in_order_and_an_error_is_its_commands_alone(
    redis_pools: Callable[[], aioredis.Redis],
) -> None:
    await redis_or_skip()
    connection = await RespConnection.open_like(redis_pools())
    try:
        replies = [connection.request("ECHO", str(i)) for i in range(300)]
        failing = connection.request("INCR", "x", "y")  # wrong number of arguments
        after = connection.request("ECHO", b"\x00after")
        assert await asyncio.gather(*replies) == [str(i).encode() for i in range(300)]
        with pytest.raises(ResponseError, match="wrong number of arguments"):
            await failing
        assert await after == b"\x00after"
    finally:
        connection.close()


async def test_a_full_pipeline_waits_for_room(redis_pools: Callable[[], aioredis.Redis]) -> None:
    """More than PENDING_MAX commands in flight: `command` waits for replies, then goes on."""
    await redis_or_skip()
    connection = await RespConnection.open_like(redis_pools())
    try:
        queued = [connection.request("ECHO", "x") for _ in range(PENDING_MAX)]
        assert not connection._room.is_set()  # the next command has to wait ...
        assert await connection.command("ECHO", "last") == b"last"  # ... and gets its reply
        assert all(f.done() for f in queued)
    finally:
        connection.close()


async def test_a_lost_connection_fails_what_waits_and_says_so(
    redis_pools: Callable[[], aioredis.Redis],
) -> None:
    await redis_or_skip()
    pool = redis_pools()
    connection = await RespConnection.open_like(pool)
    own_id = await connection.command("CLIENT", "ID")
    waiting = connection.request("BLPOP", "cobord:test:never", "0")  # answered only on a push
    await pool.client_kill_filter(_id=str(own_id))
    async with asyncio.timeout(5):
        with pytest.raises(RedisConnectionError, match="Redis connection lost"):
            await waiting
        await connection.closed.wait()
    with pytest.raises(RedisConnectionError):
        connection.request("PING")


async def test_messages_go_to_the_callback_and_confirmations_to_their_command(
    redis_pools: Callable[[], aioredis.Redis],
) -> None:
    await redis_or_skip()
    heard: list[tuple[bytes, bytes]] = []
    arrived = asyncio.Event()

    def on_message(channel: bytes, data: bytes) -> None:
        heard.append((channel, data))
        if len(heard) == 3:
            arrived.set()

    pool = redis_pools()
    subscriber = await RespConnection.open_like(pool, on_message)
    publisher = await RespConnection.open_like(pool)
    try:
        # Two channels: the command returns once both are confirmed (two replies).
        assert await subscriber.command("SUBSCRIBE", "cobord:t:a", "cobord:t:b", replies=2) == [
            b"subscribe",
            b"cobord:t:b",
            2,
        ]
        assert await publisher.command("PUBLISH", "cobord:t:a", b"one") == 1
        # A subscription confirmed while messages arrive: each goes where it belongs.
        publishes = [publisher.request("PUBLISH", "cobord:t:b", b"two")]
        confirmation = subscriber.request("SUBSCRIBE", "cobord:t:c")
        publishes.append(publisher.request("PUBLISH", "cobord:t:b", b"three"))
        assert (await confirmation)[:2] == [b"subscribe", b"cobord:t:c"]
        await asyncio.gather(*publishes)
        async with asyncio.timeout(5):
            await arrived.wait()
        assert heard == [
            (b"cobord:t:a", b"one"),
            (b"cobord:t:b", b"two"),
            (b"cobord:t:b", b"three"),
        ]
    finally:
        subscriber.close()
        publisher.close()


async def test_password_socket_and_name_come_from_the_pool(tmp_path: Path) -> None:
    """A deployer's REDIS_URL with a password, over TCP or a Unix socket: the fan-out's
    connections authenticate as the pool's do and carry the process's name."""
    socket = tmp_path / "redis.sock"
    server = RedisServer(tmp_path, "--requirepass", "s3cret", "--unixsocket", str(socket))
    server.start()
    pools = [
        connect(f"redis://:s3cret@127.0.0.1:{server.port}/0"),
        connect(f"unix://{socket}?password=s3cret"),
    ]
    try:
        for pool in pools:
            connection = await RespConnection.open_like(pool)
            assert await connection.command("CLIENT", "GETNAME") == client_name().encode()
            connection.close()
        wrong = connect(f"redis://:wrong@127.0.0.1:{server.port}/0")
        with pytest.raises(ResponseError, match="WRONGPASS"):
            await RespConnection.open_like(wrong)
        await wrong.aclose()
    finally:
        for pool in pools:
            await pool.aclose()
        server.stop()


async def test_a_message_that_fails_does_not_hold_the_ones_behind_it(
    redis_pools: Callable[[], aioredis.Redis], caplog: pytest.LogCaptureFixture
) -> None:
    await redis_or_skip()
    heard: list[bytes] = []
    second = asyncio.Event()

    def on_message(_channel: bytes, data: bytes) -> None:
        if data == b"bad":
            raise ValueError("a handler's bug")
        heard.append(data)
        second.set()

    pool = redis_pools()
    subscriber = await RespConnection.open_like(pool, on_message)
    publisher = await RespConnection.open_like(pool)
    try:
        await subscriber.command("SUBSCRIBE", "cobord:t:bad")
        # Both in one write: they may well arrive in one read.
        await asyncio.gather(
            publisher.request("PUBLISH", "cobord:t:bad", b"bad"),
            publisher.request("PUBLISH", "cobord:t:bad", b"good"),
        )
        async with asyncio.timeout(5):
            await second.wait()
        assert heard == [b"good"]
        assert "a fan-out message could not be handled" in caplog.text
    finally:
        subscriber.close()
        publisher.close()


async def test_a_stalled_redis_costs_a_timeout_and_a_fresh_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Redis that stops answering (SIGSTOP): the batch fails after the publish timeout and its
    connection is dropped with what it still buffers; once Redis answers, a new one is used."""
    monkeypatch.setattr(fanout_redis, "PUBLISH_TIMEOUT_SECONDS", 0.5)
    server = RedisServer(tmp_path)
    server.start()
    assert server.proc is not None
    pool = connect(server.url)
    fanout = RedisFanout(pool)
    try:
        await fanout.start(lambda *_: None, lambda *_: None)
        update = FanoutMessage(fanout.instance_id, "update", b"\x00\x02\x00\x00")
        assert await fanout._publish_batch([("b", update)]) == [True]
        stalled = fanout._publisher
        assert stalled is not None
        os.kill(server.proc.pid, signal.SIGSTOP)
        try:
            assert await fanout._publish_batch([("b", update)]) == [False]
            async with asyncio.timeout(5):
                await stalled.closed.wait()  # aborted, not left to buffer
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        assert await fanout._publish_batch([("b", update)]) == [True]
        assert fanout._publisher is not stalled
    finally:
        await fanout.close()
        await pool.aclose()
        server.stop()


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA of our own and a certificate for 127.0.0.1 it signed: (ca, cert, key)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        service_missing("openssl is not installed")
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    cert, key, request = folder / "redis.pem", folder / "redis.key", folder / "redis.csr"
    extensions = folder / "san.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")

    def run(*args: str | Path) -> None:
        subprocess.run([openssl, *map(str, args)], check=True, capture_output=True)

    new_key = ("-newkey", "rsa:2048", "-nodes")
    run("req", "-x509", *new_key, "-days", "1", "-subj", "/CN=cobord-test-ca", "-keyout", ca_key,
        "-out", ca)  # fmt: skip
    run("req", *new_key, "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", request)
    run("x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-days", "1", "-out", cert, "-extfile", extensions)  # fmt: skip
    return ca, cert, key


async def test_tls_settings_come_from_the_url(tmp_path: Path) -> None:
    """`rediss://` with the deployer's CA: our connections verify the server as redis-py's
    pool does, and refuse one the CA did not sign."""
    ca, cert, key = make_certificates(tmp_path)
    tls_port = free_port()
    server = RedisServer(
        tmp_path,
        *("--tls-port", str(tls_port), "--tls-cert-file", str(cert), "--tls-key-file", str(key)),
        *("--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no"),
    )
    server.start()
    trusted = connect(f"rediss://127.0.0.1:{tls_port}/0?ssl_ca_certs={ca}")
    untrusted = connect(f"rediss://127.0.0.1:{tls_port}/0")  # the system's CAs only
    try:
        assert await trusted.ping()
        connection = await RespConnection.open_like(trusted)
        assert await connection.command("CLIENT", "GETNAME") == client_name().encode()
        connection.close()
        with pytest.raises(ssl.SSLCertVerificationError):
            await RespConnection.open_like(untrusted)
    finally:
        await trusted.aclose()
        await untrusted.aclose()
        server.stop()
