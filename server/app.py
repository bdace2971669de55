"""The composition root: settings -> store, hub, routes; resources live in the lifespan."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from server.closing import Closer
from server.events import CLAIM_SECONDS, EventIndexer
from server.fanout import make_fanout
from server.http.board_settings import SettingsWriter
from server.http.boards import BoardRoutes
from server.http.client import client_routes
from server.http.context import HttpContext
from server.http.errors import EXCEPTION_HANDLERS
from server.http.exports import ExportRoutes
from server.http.facilitation import FacilitationRoutes
from server.http.glossary import GlossaryRoutes
from server.http.media import MediaRoutes
from server.http.moderation import ModerationRoutes
from server.http.ops import OpsRoutes
from server.http.privacy import PrivacyRoutes
from server.http.replay import ReplayRoutes
from server.http.results import Results
from server.http.security import SecurityHeaders
from server.http.standings import LiveStandings
from server.http.suggestions import SuggestionRoutes
from server.http.translations import TranslationRoutes
from server.http.votes import VoteRoutes
from server.live.hub import Hub
from server.media_sweeper import MediaSweeper
from server.retention import Retention
from server.scale.claims import make_claims
from server.scale.limits import Rate, RateLimiter
from server.scale.redis import connect as connect_redis
from server.settings import Settings
from server.store import make_store
from server.tokens import TokenSigner
from server.translate import Translator
from server.ws import BoardSocket, Receive, Scope, Send

log = logging.getLogger("cobord")


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
    # The process's one Redis pool: every service shared across processes uses it (scale/redis.py)
    redis = connect_redis(settings.redis_url) if settings.redis_url else None
    hub = Hub(store, settings, fanout=make_fanout(redis), redis=redis)
    signer = TokenSigner(settings.secret_key)
    standings = LiveStandings(store, hub)  # what sockets' token checks remember of live boards
    hub.on_gap.append(standings.forget)
    socket = BoardSocket(hub, signer, settings, standings, redis)
    burst = settings.rate_limit_burst
    limiter = RateLimiter(
        {
            "create": Rate(settings.create_per_minute, burst),
            "join": Rate(settings.join_per_minute, burst),
            "lookup": Rate(settings.lookup_per_minute, burst),
            "upload": Rate(settings.uploads_per_minute, settings.upload_burst),
            "glossary": Rate(settings.glossary_per_minute, settings.glossary_burst),
        },
        redis,
    )
    http = HttpContext(store, hub, signer, limiter, settings.trusted_proxies)
    # The events feed, decoded as updates are committed (by one process per board under Redis).
    indexer = EventIndexer(store, claims=make_claims(redis, CLAIM_SECONDS) if redis else None)
    hub.services = dataclasses.replace(hub.services, on_commit=indexer.notify)
    closer = Closer(store, hub)  # closes a board's / a person's sockets on every process
    closer.on_order.append(standings.forget)
    retention = Retention(store, hub, settings.retention_days, closer=closer, forget=indexer.forget)
    translator = Translator.from_env(redis)  # COBORD_TRANSLATE_URL; off without it
    hub.on_room_loaded.append(translator.watch)
    board_settings = SettingsWriter(http)
    results = Results(http)
    # one computation per board, across processes
    suggestions = SuggestionRoutes(http, redis)
    media_routes = MediaRoutes(http, settings)
    glossary_routes = GlossaryRoutes(http, translator)
    sweeper = MediaSweeper(store, settings.media_orphan_minutes)  # uploads never attached

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        await hub.start()
        await socket.online.start()
        await socket.slots.start()
        await retention.start()
        indexer.start()
        translator.start(http.with_room)
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
            await glossary_routes.close()
            await translator.close()
            await hub.close()
            await indexer.close()
            await closer.aclose()
            await socket.online.close()
            await socket.slots.close()
            await standings.close()
            await store.close()
            await suggestions.close()
            if redis is not None:  # last: everything above may have used it
                await redis.aclose()

    async def index(request: object) -> Response:
        return FileResponse(STATIC_DIR / "index.html")

    def room_metrics() -> str:
        connections = sum(len(room.connections) for room in hub.rooms.values())
        text = hub.metrics.render(rooms=len(hub.rooms), connections=connections)
        return text + (  # fan-out gaps, catch-ups from the log, and those that found lost updates
            "# TYPE cobord_fanout_gaps_total counter\n"
            f"cobord_fanout_gaps_total {hub.gaps}\n"
            "# TYPE cobord_catch_ups_total counter\n"
            f"cobord_catch_ups_total {hub.catch_ups}\n"
            "# TYPE cobord_catch_ups_recovered_total counter\n"
            f"cobord_catch_ups_recovered_total {hub.recovered}\n"
            # store reads made by sockets' token checks (remembered while a board is live)
            "# TYPE cobord_token_check_reads_total counter\n"
            f"cobord_token_check_reads_total {standings.reads}\n"
        )

    def translation_metrics() -> str:
        return translator.metrics_text() if translator.enabled else ""

    ops = OpsRoutes(
        http,
        stopping=lambda: socket.shutting_down,
        metrics=[room_metrics, translation_metrics, media_routes.metrics_text],
    )
    routes = [
        *ops.routes(),
        *BoardRoutes(http, standings).routes(),
        *FacilitationRoutes(http, board_settings, results, socket.online.online).routes(),
        *VoteRoutes(http, results).routes(),
        *ReplayRoutes(http, indexer).routes(),
        *ExportRoutes(http, results, indexer).routes(),
        *PrivacyRoutes(http, board_settings, closer, indexer.forget).routes(),
        *media_routes.routes(),
        *TranslationRoutes(http, translator).routes(),
        *suggestions.routes(),
        *ModerationRoutes(http).routes(),
        *glossary_routes.routes(),
        *client_routes(settings),
        Route("/", index),
        Route("/j/{code}", index),
        Route("/b/{board_id}", index),
        Route("/b/{board_id}/{view}", index),
        Mount("/", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static"),
    ]

    # Gzip: the client's JS + CSS go from 287 to ~88 KiB (docs/client.md); sockets bypass it.
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(GZipMiddleware, minimum_size=1024),
        ],
        exception_handlers=EXCEPTION_HANDLERS,  # every error -> JSON (server/http/errors.py)
    )
    app.state.settings = settings
    app.state.hub = hub
    app.state.store = store
    return CobordApp(app, socket)
