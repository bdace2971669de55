"""`cobord serve` and `cobord db upgrade`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from server.settings import ConfigError, Settings

SERVE_EPILOG = """environment (see docs/deploy.md for the full table):
  DATABASE_URL        SQLite (default ./cobord.db) or postgresql://user:pass@host/db
  SECRET_KEY          signs tokens; required and shared with several processes
  REDIS_URL           several processes share boards and rate limits through Redis
  COBORD_CREATE_PER_MINUTE, COBORD_JOIN_PER_MINUTE, COBORD_LOOKUP_PER_MINUTE,
  COBORD_RATE_LIMIT_BURST   per-IP HTTP limits (20, 300, 300 per minute; burst 60)
  COBORD_TRUSTED_PROXIES    proxy IPs whose X-Forwarded-For is believed
  COBORD_MAX_CONNECTIONS_PER_BOARD, COBORD_MAX_LIVE_BOARDS   (500, 1000)
  COBORD_MAX_MESSAGE_BYTES, COBORD_RATE_PER_SECOND, COBORD_RATE_BURST,
  COBORD_OUTBOX_MAX_MESSAGES, COBORD_BATCH_WINDOW_MS, COBORD_SNAPSHOT_EVERY,
  COBORD_IDLE_UNLOAD_SECONDS   WebSocket and persistence limits (README)"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="cobord", description="Cobord whiteboard server")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the server (web client at /)",
        description="Run the server (web client at /). Runs the database migrations at start.",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--host",
        default=os.environ.get("HOST", "127.0.0.1"),
        help="address to bind (default: $HOST or 127.0.0.1; 0.0.0.0 to reach it from phones)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", "8000")),
        help="default: $PORT or 8000",
    )
    serve.add_argument("--database-url", default=None, help="default: $DATABASE_URL or SQLite")
    serve.add_argument(
        "--log-level",
        default=os.environ.get("COBORD_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
        help="default: $COBORD_LOG_LEVEL or info (tokens are always redacted)",
    )
    serve.add_argument(
        "--log-format",
        default=os.environ.get("COBORD_LOG_FORMAT", "text"),
        choices=["text", "json"],
        help="text lines, or one JSON object per line (default: $COBORD_LOG_FORMAT or text)",
    )
    serve.add_argument(
        "--header-timeout",
        type=float,
        default=float(os.environ.get("COBORD_HEADER_TIMEOUT", "10")),
        help="seconds a connection may take to send its request headers; then 408 (default 10)",
    )
    serve.add_argument(
        "--max-header-bytes",
        type=int,
        default=int(os.environ.get("COBORD_MAX_HEADER_BYTES", str(16 * 1024))),
        help="request line + headers larger than this get 431 (default 16384)",
    )
    serve.add_argument(
        "--limit-concurrency",
        type=int,
        default=int(os.environ.get("COBORD_LIMIT_CONCURRENCY", "0")) or None,
        help="connections + tasks at once before new requests get 503 (default: no limit)",
    )
    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    db.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    from server import logs

    logs.configure(getattr(args, "log_level", "info"), getattr(args, "log_format", "text"))

    overrides: dict[str, object] = {}
    if args.database_url:
        overrides["database_url"] = args.database_url
    if args.command == "db":
        from server.store.sql import upgrade

        settings = Settings.from_env(secret_key="-", **overrides)  # no tokens signed here
        asyncio.run(upgrade(settings.database_url))
        print("database schema is up to date")
        return
    try:
        settings = Settings.from_env(host=args.host, port=args.port, **overrides)
    except ConfigError as error:
        print(f"cobord: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    serve_forever(
        settings,
        args.log_level,
        header_timeout=args.header_timeout,
        max_header_bytes=args.max_header_bytes,
        limit_concurrency=args.limit_concurrency,
    )


def serve_forever(
    settings: Settings,
    log_level: str = "info",
    header_timeout: float = 10.0,
    max_header_bytes: int = 16 * 1024,
    limit_concurrency: int | None = None,
) -> None:
    import uvicorn

    from server import http_guard
    from server.app import create_app

    http_guard.configure(header_timeout, max_header_bytes)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        # Each connection would compress each update again (x2.5 CPU, bench/floor.md): off.
        ws_per_message_deflate=False,
        # Our own limit answers 4413 with a reason; uvicorn's (1009, no reason) sits well above it.
        ws_max_size=settings.max_message_bytes + 1024 * 1024,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
        access_log=False,
        log_config=None,  # server.logs configured the (token-redacting) handler
        http=http_guard.GuardedHttpToolsProtocol,
        timeout_keep_alive=5,
        limit_concurrency=limit_concurrency,
        # X-Forwarded-For is believed only from COBORD_TRUSTED_PROXIES (server/limits.py),
        # not from whoever connects from 127.0.0.1.
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
