"""One Redis connection pool per process.

With `REDIS_URL`, everything several processes share goes through Redis: the fan-out
(server/fanout/redis.py), presence and connection slots (presence.py, slots.py), claims and note
quotas (claims.py, quotas.py), refusal budgets (server/live/refusals.py), rate limits
(limits.py), the translator's claims and budgets (server/translate/) and the suggestion gate
(server/http/suggestions.py). They all use the one client `connect()` returns: the composition root
(server/app.py) makes it and closes it last, after every user of it has stopped. Its users never
close it. So a process holds one pool of connections, not one per service (five clients before).
The fan-out's hot path is the exception: it publishes and listens on two connections of its own
(server/fanout/resp.py), opened with this pool's settings.

Bounds: at most `MAX_CONNECTIONS` connections; a command that finds them all busy waits up to
`CONNECT_TIMEOUT_SECONDS` for one, then fails like an unreachable Redis (every user has a
fallback or a clear error for that). Commands are bounded by `asyncio.timeout` where they are
sent, not by a socket read timeout: the pub/sub listener waits on its connection for as long as a
board stays quiet.

Every connection of the pool is named (`CLIENT SETNAME`) after its process, `cobord:<host>:<pid>`
(`client_name()`), so `CLIENT LIST` on a shared Redis tells which process holds which connection,
and an operator (or a test) can drop one process's connections by id without touching the others.
"""

from __future__ import annotations

import os
import socket
from typing import Final

from redis.asyncio import BlockingConnectionPool, Redis

CONNECT_TIMEOUT_SECONDS: Final = 2.0
MAX_CONNECTIONS: Final = 64


def client_name(pid: int | None = None) -> str:
    """The name every connection of process `pid`'s pool (default: this process's) carries."""
    return f"cobord:{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def connect(url: str) -> Redis:
    """The process's client (one pool) for the Redis at `url`; the caller closes it
    (`await client.aclose()`), once, after its users."""
    pool = BlockingConnectionPool.from_url(
        url,
        client_name=client_name(),
        max_connections=MAX_CONNECTIONS,
        timeout=CONNECT_TIMEOUT_SECONDS,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
    )
    return Redis.from_pool(pool)  # closing the client closes its pool
