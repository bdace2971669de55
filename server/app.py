"""The composition root: settings -> store, hub, routes; resources live in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from server.api import Api
from server.client_api import client_routes
from server.closing import Closer
from server.events import EventIndexer
from server.exports import Exports
from server.fanout import make_fanout
from server.glossary_api import GlossaryApi
from server.hub import Hub
from server.limits import Rate, RateLimiter
from server.media_api import MediaApi, MediaSweeper
from server.moderation_api import ModerationApi
from server.privacy_api import PrivacyApi, Retention
from server.replay_api import ReplayApi
from server.rooms import StorageFailed
from server.security import SecurityHeaders
from server.settings import Settings
from server.store import make_store
from server.suggest_api import SuggestApi
from server.tokens import TokenSigner
from server.translate import Translator
from server.ws import BoardSocket, Receive, Scope, Send

log = logging.getLogger("cobord")
READY_TIMEOUT_SECONDS = 2.0


def _static_dir() -> Path:
    """The web client: `server/static` in an installed wheel, top-level `static/` in a checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "static"
    return installed if (installed / "index.html").is_file() else here.parent / "static"


STATIC_DIR = _static_dir()


class CobordApp:
    """The ASGI entry point: board sockets go straight to `BoardSocket`, the rest to Starlette.

    Inside Starlette's router a WebSocket endpoint's `send` is wrapped by its exception handling:
    one more coroutine per delivered frame (visible in py-spy profiles of a 200-client board).
    Sockets get uvicorn's own `send`; HTTP, lifespan and static files keep Starlette."""

    def __init__(self, starlette: Starlette, socket: BoardSocket) -> None:
        self.starlette = starlette
        self.socket = socket
        self.state = starlette.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            path: str = scope["path"]
            board_id = path[len(SOCKET_PREFIX) :]
            if path.startswith(SOCKET_PREFIX) and board_id and "/" not in board_id:
                scope["path_params"] = {"board_id": board_id}
                await self.socket(scope, receive, send)
                return
        await self.starlette(scope, receive, send)


SOCKET_PREFIX = "/ws/"


def create_app(settings: Settings | None = None) -> CobordApp:
    settings = settings or Settings.from_env()
    store = make_store(settings.database_url, settings.sqlite_synchronous)
    hub = Hub(store, settings, fanout=make_fanout(settings.redis_url))
    signer = TokenSigner(settings.secret_key)
    socket = BoardSocket(hub, signer, settings)
    burst = settings.rate_limit_burst
    limiter = RateLimiter(
        {
            "create": Rate(settings.create_per_minute, burst),
            "join": Rate(settings.join_per_minute, burst),
            "lookup": Rate(settings.lookup_per_minute, burst),
            "upload": Rate(settings.uploads_per_minute, settings.upload_burst),
            "glossary": Rate(settings.glossary_per_minute, settings.glossary_burst),
        },
        settings.redis_url,
    )
    api = Api(
        store,
        hub,
        signer,
        online=socket.online.online,
        limiter=limiter,
        trusted_proxies=settings.trusted_proxies,
    )
    indexer = EventIndexer(store)  # the events feed, decoded as updates are committed
    hub.services = dataclasses.replace(hub.services, on_commit=indexer.notify)
    replay_api = ReplayApi(api, indexer)
    closer = Closer(store, hub)  # closes a board's / a person's sockets on every process
    retention = Retention(store, hub, settings.retention_days, closer=closer, forget=indexer.forget)
    translator = Translator.from_env(settings.redis_url)  # COBORD_TRANSLATE_URL; off without it
    suggest_api = SuggestApi(api, settings.redis_url)  # one computation per board, across processes
    hub.on_room_loaded.append(translator.watch)
    media_api = MediaApi(api, translator, settings)
    glossary_api = GlossaryApi(api, translator)
    sweeper = MediaSweeper(store, settings.media_orphan_minutes)  # uploads never attached

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        await hub.start()
        await socket.online.start()
        await socket.slots.start()
        await retention.start()
        indexer.start()
        translator.start(api._with_room)
        sweeper.start()
        try:
            yield
        finally:
            # SIGTERM: uvicorn stopped accepting; tell clients to reconnect (to another process),
            # then commit what is queued and write final keyframes.
            socket.shutting_down = True
            for room in list(hub.rooms.values()):
                for conn in list(room.connections):
                    conn.close(1012, "server restart: reconnect")
            await retention.close()
            await sweeper.close()
            await glossary_api.close()
            await translator.close()
            await hub.close()
            await indexer.close()
            await closer.aclose()
            await socket.online.close()
            await socket.slots.close()
            await store.close()
            await limiter.close()
            await suggest_api.close()

    async def index(request: object) -> Response:
        return FileResponse(STATIC_DIR / "index.html")

    async def metrics(request: object) -> Response:
        connections = sum(len(room.connections) for room in hub.rooms.values())
        text = hub.metrics.render(rooms=len(hub.rooms), connections=connections)
        text += (  # fan-out gaps, catch-ups from the log, and those that found lost updates
            "# TYPE cobord_fanout_gaps_total counter\n"
            f"cobord_fanout_gaps_total {hub.gaps}\n"
            "# TYPE cobord_catch_ups_total counter\n"
            f"cobord_catch_ups_total {hub.catch_ups}\n"
            "# TYPE cobord_catch_ups_recovered_total counter\n"
            f"cobord_catch_ups_recovered_total {hub.recovered}\n"
        )
        if translator.enabled:
            text += translator.metrics_text()
        text += media_api.metrics_text()
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    async def readyz(request: object) -> Response:
        """503 with the failing dependency while the database or Redis does not answer."""
        failing: dict[str, str] = {}
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await store.get_board("readyz-probe")
        except Exception as exc:  # any failure of the database means "not ready"
            failing["database"] = type(exc).__name__
        try:
            await hub.fanout.ping()
        except Exception as exc:
            failing["redis"] = type(exc).__name__
        if failing or socket.shutting_down:
            status = "stopping" if socket.shutting_down and not failing else "unavailable"
            return JSONResponse({"status": status, "failing": failing}, status_code=503)
        return JSONResponse({"status": "ready"})

    routes = [
        *api.routes(),
        *replay_api.routes(),
        *Exports(api, replay_api).routes(),
        *PrivacyApi(api, closer, forget=indexer.forget).routes(),
        *media_api.routes(),
        *suggest_api.routes(),
        *ModerationApi(api).routes(),
        *glossary_api.routes(),
        *client_routes(settings),
        Route("/metrics", metrics),
        Route("/readyz", readyz),
        Route("/", index),
        Route("/j/{code}", index),
        Route("/b/{board_id}", index),
        Route("/b/{board_id}/{view}", index),
        Mount("/", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
    ]

    async def storage_unavailable(request: Request, exc: Exception) -> Response:
        # The database (or a room whose commit failed) does not answer: a clear 503, not a 500.
        log.warning("%s %s: storage unavailable: %r", request.method, request.url.path, exc)
        return JSONResponse(
            {"error": "storage_unavailable", "message": "Storage is unavailable; try again."},
            status_code=503,
            headers={"Retry-After": "2"},
        )

    # Gzip: the client's JS + CSS go from 287 to ~88 KiB (docs/client.md); sockets bypass it.
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(GZipMiddleware, minimum_size=1024),
        ],
        exception_handlers={
            SQLAlchemyError: storage_unavailable,
            StorageFailed: storage_unavailable,
            OSError: storage_unavailable,
            TimeoutError: storage_unavailable,
        },
    )
    app.state.settings = settings
    app.state.hub = hub
    app.state.store = store
    return CobordApp(app, socket)
