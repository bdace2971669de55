"""`cobord serve` and `cobord db upgrade`."""

from __future__ import annotations

import argparse
import asyncio
import gc
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
  COBORD_OUTBOX_MAX_MESSAGES, COBORD_BATCH_WINDOW_MS, COBORD_RELAY_WINDOW_MS,
  COBORD_SNAPSHOT_EVERY, COBORD_IDLE_UNLOAD_SECONDS   WebSocket and persistence limits (README)
  COBORD_TLS_CERT, COBORD_TLS_KEY   the same as --tls-cert / --tls-key"""


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
    serve.add_argument(
        "--tls-cert",
        default=os.environ.get("COBORD_TLS_CERT") or None,
        metavar="FILE",
        help="serve https with this PEM certificate (chain) file; needs --tls-key "
        "(default: $COBORD_TLS_CERT)",
    )
    serve.add_argument(
        "--tls-key",
        default=os.environ.get("COBORD_TLS_KEY") or None,
        metavar="FILE",
        help="the certificate's PEM private key (default: $COBORD_TLS_KEY)",
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
        from server.store.sql_database import upgrade

        settings = Settings.from_env(secret_key="-", **overrides)  # no tokens signed here
        asyncio.run(upgrade(settings.database_url))
        print("database schema is up to date")
        return
    try:
        tls = tls_files(args.tls_cert, args.tls_key)
        settings = Settings.from_env(
            host=args.host, port=args.port, tls=tls is not None, **overrides
        )
    except ConfigError as error:
        print(f"cobord: configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    serve_forever(
        settings,
        args.log_level,
        header_timeout=args.header_timeout,
        max_header_bytes=args.max_header_bytes,
        limit_concurrency=args.limit_concurrency,
        tls=tls,
    )


def tls_files(cert: str | None, key: str | None) -> tuple[str, str] | None:
    """Both files or neither; each readable, and the pair a certificate with its key. Checked before
    the server starts, so a typo is one clear line and exit status 2, not a traceback at bind."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ConfigError("--tls-cert and --tls-key go together: give both files, or neither.")
    import ssl

    for what, path in (("certificate", cert), ("key", key)):
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise ConfigError(f"cannot read the TLS {what} file {path!r}.")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, ValueError) as error:
        raise ConfigError(
            f"{cert!r} and {key!r} are not a PEM certificate and its private key ({error})."
        ) from None
    return cert, key


def serve_forever(
    settings: Settings,
    log_level: str = "info",
    header_timeout: float = 10.0,
    max_header_bytes: int = 16 * 1024,
    limit_concurrency: int | None = None,
    tls: tuple[str, str] | None = None,
) -> None:
    import uvicorn

    from server.app import create_app
    from server.http import guard as http_guard
    from server.http.wire import WireWebSocketProtocol

    http_guard.configure(header_timeout, max_header_bytes)
    app = create_app(settings)
    freeze_startup_objects()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        # Deflate would compress each frame again for each connection (a frame is encoded once
        # and the same bytes go to everyone): off.
        ws_per_message_deflate=False,
        # Our own limit answers 4413 with a reason; uvicorn's (1009, no reason) sits well above it.
        ws_max_size=settings.max_message_bytes + 1024 * 1024,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
        access_log=False,
        log_config=None,  # server.logs configured the (token-redacting) handler
        http=http_guard.GuardedHttpToolsProtocol,
        # A frame encoded once per broadcast goes straight to each socket (server/http/wire.py)
        ws=WireWebSocketProtocol,
        timeout_keep_alive=5,
        limit_concurrency=limit_concurrency,
        # X-Forwarded-For is believed only from COBORD_TRUSTED_PROXIES (server/scale/limits.py),
        # not from whoever connects from 127.0.0.1.
        proxy_headers=False,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )


def freeze_startup_objects() -> None:
    """Leave what start-up made (every module, class and function, SQLAlchemy's tables: some
    100,000 objects, alive as long as the process) out of the garbage collector's full passes.
    Each full pass walks every tracked object: 50-60 ms with them during a 400-client workshop,
    the whole room waiting (bench/README.md, "Full garbage collections"). Garbage made before
    is collected first, so nothing unreachable is kept."""
    gc.collect()
    gc.freeze()


if __name__ == "__main__":
    main()
