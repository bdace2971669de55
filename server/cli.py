"""`cobord serve` and `cobord db upgrade`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from server.settings import ConfigError, Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="cobord", description="Cobord whiteboard server")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server (web client at /)")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--database-url", default=None, help="default: $DATABASE_URL or SQLite")
    serve.add_argument("--log-level", default="info")
    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    db.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

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
    serve_forever(settings, args.log_level)


def serve_forever(settings: Settings, log_level: str = "info") -> None:
    import uvicorn

    from server.app import create_app

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
    )


if __name__ == "__main__":
    main()
