"""Settings from the environment (then defaults). Only server/app.py and the CLI read them."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

from crdt.board_state import MAX_BOARD_BYTES

log = logging.getLogger("cobord")

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./cobord.db"
SQLITE_SYNCHRONOUS = ("FULL", "NORMAL")


class ConfigError(Exception):
    """A setting that cannot work: the CLI prints it and exits with status 2."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # Limits (every buffer has a bound)
    max_message_bytes: int = 2 * 1024 * 1024  # larger frames: close 4413
    outbox_max_messages: int = 2048  # per connection; overflow: close 4408
    outbox_max_bytes: int = 32 * 1024 * 1024
    # A board's encoded size (crdt.board_state.MAX_BOARD_BYTES): its first sync must fit the outbox
    # above. 0 lifts the bound (then a joiner of a bigger board is closed with 4408).
    max_board_bytes: int = MAX_BOARD_BYTES
    max_pending_updates: int = 5000  # per board, accepted but not yet committed: readers wait
    rate_per_second: float = 200.0  # messages per connection; 0 disables; over: close 4429
    rate_burst: float = 2000.0
    max_refusals: int = 10  # refused updates in a row before close 4403
    # Group commit: 0 = natural group commit (commit at once when idle; what arrives while a
    # commit is in flight is the next batch); > 0: at most one commit per board per window.
    batch_window_ms: float = 0.0
    # Frames to everyone that are not this process's commits (presence, frames relayed from
    # other processes) wait for the next commit's write, at most this long after the last frames
    # out (the first after a quiet spell goes at once): one write per client instead of two.
    # 25, not 10: with two processes (bench/multiprocess.py, 200 clients) a relayed frame then
    # rides with a commit's write more often (0.54 -> 0.43 writes per delivery), 1.31x -> 1.22x
    # the CPU per delivery of one process, p50 and p99 no worse (bench/README.md, 2026-12-08).
    relay_window_ms: float = 25.0
    # Persistence
    snapshot_every: int = 500  # updates between keyframes
    idle_unload_seconds: float = 30.0
    # SQLite: FULL (default) syncs the WAL on every commit, so a commit survives a power cut;
    # NORMAL syncs only at checkpoints (a process crash loses nothing, a power cut may).
    sqlite_synchronous: str = "FULL"
    # SIGTERM: seconds to commit, write keyframes and close sockets before exiting anyway.
    shutdown_grace_seconds: float = 10.0
    # With Redis: a process's "who is online" entries expire this long after it stops refreshing.
    presence_ttl_seconds: float = 15.0
    # Boards idle longer than this many days are deleted by the server (0: never; docs/privacy.md).
    retention_days: float = 0.0
    # Per-IP HTTP rate limits (requests per minute, burst); 0 disables. Shared through Redis.
    # A whole room behind one NAT joins within a minute; a code guesser gets 5/s, not 1,450/s.
    create_per_minute: float = 20.0
    join_per_minute: float = 300.0
    lookup_per_minute: float = 300.0
    rate_limit_burst: float = 60.0
    max_connections_per_board: int = 500  # more: close 1013 "board is full"; 0: no limit
    # Sockets per participant token on a board (a phone, a laptop, a reload: 2-3) and per address
    # on a board (a whole room behind one NAT). More: close 1013 naming the cap; 0: no limit.
    # Counted across processes with REDIS_URL; the facilitator is never counted against either
    # the board's or an address's cap (server/scale/slots.py).
    max_connections_per_token: int = 4
    max_connections_per_address: int = 250
    max_live_boards: int = 1000  # per process; more: 503 / close 1013; 0: no limit
    # Proxies whose X-Forwarded-For is believed (comma-separated IPs); empty: the socket's peer.
    trusted_proxies: frozenset[str] = frozenset()
    # Media (branch bwrites): photos decoded at once per process (each waits its turn), uploads
    # per participant (per minute, burst; shared through Redis), what a participant and a board
    # may keep (count, bytes; 0: no bound), and how old an upload never attached to a note gets
    # before the server deletes it.
    photo_decodes: int = 2
    uploads_per_minute: float = 30.0
    upload_burst: float = 10.0
    # "I don't understand" flags and glossary explanations per participant (issue #21)
    glossary_per_minute: float = 30.0
    glossary_burst: float = 20.0
    media_per_participant: int = 60
    media_bytes_per_participant: int = 40 * 1024 * 1024
    media_per_board: int = 2000
    media_bytes_per_board: int = 512 * 1024 * 1024
    media_orphan_minutes: float = 60.0
    # `cobord serve --tls-cert/--tls-key`: uvicorn speaks https, and links and QR codes say so.
    tls: bool = False

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        d = cls()  # the defaults
        settings = cls(
            database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("SECRET_KEY", ""),
            host=env.get("HOST", "127.0.0.1"),
            port=int(env.get("PORT", "8000")),
            max_message_bytes=int(env.get("COBORD_MAX_MESSAGE_BYTES", d.max_message_bytes)),
            outbox_max_messages=int(env.get("COBORD_OUTBOX_MAX_MESSAGES", d.outbox_max_messages)),
            max_board_bytes=int(env.get("COBORD_MAX_BOARD_BYTES", d.max_board_bytes)),
            rate_per_second=float(env.get("COBORD_RATE_PER_SECOND", d.rate_per_second)),
            rate_burst=float(env.get("COBORD_RATE_BURST", d.rate_burst)),
            snapshot_every=int(env.get("COBORD_SNAPSHOT_EVERY", d.snapshot_every)),
            batch_window_ms=float(env.get("COBORD_BATCH_WINDOW_MS", d.batch_window_ms)),
            relay_window_ms=float(env.get("COBORD_RELAY_WINDOW_MS", d.relay_window_ms)),
            idle_unload_seconds=float(env.get("COBORD_IDLE_UNLOAD_SECONDS", d.idle_unload_seconds)),
            sqlite_synchronous=env.get("COBORD_SQLITE_SYNCHRONOUS", d.sqlite_synchronous).upper(),
            presence_ttl_seconds=float(
                env.get("COBORD_PRESENCE_TTL_SECONDS", d.presence_ttl_seconds)
            ),
            shutdown_grace_seconds=float(
                env.get("COBORD_SHUTDOWN_GRACE_SECONDS", d.shutdown_grace_seconds)
            ),
            retention_days=float(env.get("COBORD_RETENTION_DAYS", d.retention_days)),
            max_connections_per_board=int(
                env.get("COBORD_MAX_CONNECTIONS_PER_BOARD", d.max_connections_per_board)
            ),
            max_connections_per_token=int(
                env.get("COBORD_MAX_CONNECTIONS_PER_TOKEN", d.max_connections_per_token)
            ),
            max_connections_per_address=int(
                env.get("COBORD_MAX_CONNECTIONS_PER_ADDRESS", d.max_connections_per_address)
            ),
            max_live_boards=int(env.get("COBORD_MAX_LIVE_BOARDS", d.max_live_boards)),
            create_per_minute=float(env.get("COBORD_CREATE_PER_MINUTE", d.create_per_minute)),
            join_per_minute=float(env.get("COBORD_JOIN_PER_MINUTE", d.join_per_minute)),
            lookup_per_minute=float(env.get("COBORD_LOOKUP_PER_MINUTE", d.lookup_per_minute)),
            rate_limit_burst=float(env.get("COBORD_RATE_LIMIT_BURST", d.rate_limit_burst)),
            photo_decodes=max(1, int(env.get("COBORD_PHOTO_DECODES", d.photo_decodes))),
            uploads_per_minute=float(env.get("COBORD_UPLOADS_PER_MINUTE", d.uploads_per_minute)),
            upload_burst=float(env.get("COBORD_UPLOAD_BURST", d.upload_burst)),
            glossary_per_minute=float(env.get("COBORD_GLOSSARY_PER_MINUTE", d.glossary_per_minute)),
            glossary_burst=float(env.get("COBORD_GLOSSARY_BURST", d.glossary_burst)),
            media_per_participant=int(
                env.get("COBORD_MEDIA_PER_PARTICIPANT", d.media_per_participant)
            ),
            media_bytes_per_participant=int(
                env.get("COBORD_MEDIA_BYTES_PER_PARTICIPANT", d.media_bytes_per_participant)
            ),
            media_per_board=int(env.get("COBORD_MEDIA_PER_BOARD", d.media_per_board)),
            media_bytes_per_board=int(
                env.get("COBORD_MEDIA_BYTES_PER_BOARD", d.media_bytes_per_board)
            ),
            media_orphan_minutes=float(
                env.get("COBORD_MEDIA_ORPHAN_MINUTES", d.media_orphan_minutes)
            ),
            trusted_proxies=frozenset(
                ip.strip() for ip in env.get("COBORD_TRUSTED_PROXIES", "").split(",") if ip.strip()
            ),
        )
        settings = replace(settings, **overrides)  # type: ignore[arg-type]
        if not settings.secret_key and settings.redis_url:
            raise ConfigError(
                "REDIS_URL is set but SECRET_KEY is not: every process of one service must sign "
                'tokens with the same key. Set SECRET_KEY (e.g. `python -c "import secrets; '
                'print(secrets.token_urlsafe(32))"`) to the same value for every process.'
            )
        if settings.sqlite_synchronous not in SQLITE_SYNCHRONOUS:
            raise ConfigError(
                f"COBORD_SQLITE_SYNCHRONOUS must be one of {', '.join(SQLITE_SYNCHRONOUS)}, "
                f"not {settings.sqlite_synchronous!r}."
            )
        if settings.shutdown_grace_seconds < 0:
            raise ConfigError("COBORD_SHUTDOWN_GRACE_SECONDS must be >= 0.")
        if not settings.secret_key:
            settings = replace(settings, secret_key=_local_secret(settings.database_url))
        return settings


def _local_secret(database_url: str) -> str:
    """No SECRET_KEY: keep a generated one beside the SQLite file so tokens survive restarts."""
    path = Path(sqlite_path(database_url) or "cobord.db").with_suffix(".secret")
    if path.exists():
        key = path.read_text().strip()
    else:
        key = secrets.token_urlsafe(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(key + "\n")
        path.chmod(0o600)
    log.warning("SECRET_KEY is not set: using the generated key in %s", path)
    return key


def sqlite_path(database_url: str) -> str | None:
    prefix = "sqlite+aiosqlite:///"
    if database_url.startswith(prefix):
        return database_url[len(prefix) :] or None
    return None
