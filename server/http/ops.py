"""For operators and their load balancers: `/healthz` (the process answers), `/readyz` (its
database and Redis answer, and it is not stopping) and `/metrics` (Prometheus text)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from server.http.context import HttpContext

READY_TIMEOUT_SECONDS = 2.0


class OpsRoutes:
    def __init__(
        self,
        http: HttpContext,
        stopping: Callable[[], bool],
        metrics: Sequence[Callable[[], str]],
    ) -> None:
        self.http = http
        self.stopping = stopping  # SIGTERM received: sockets are told to reconnect elsewhere
        self.metrics = metrics  # each gives Prometheus lines (the hub's, the translator's, ...)

    def routes(self) -> list[Route]:
        return [
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/metrics", self.metrics_text),
            Route("/readyz", self.readyz),
        ]

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics_text(self, request: Request) -> Response:
        text = "".join(part() for part in self.metrics)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    async def readyz(self, request: Request) -> Response:
        """503 with the failing dependency while the database or Redis does not answer."""
        failing: dict[str, str] = {}
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                await self.http.store.boards.get_board("readyz-probe")
        except Exception as exc:  # any failure of the database means "not ready"
            failing["database"] = type(exc).__name__
        try:
            await self.http.hub.fanout.ping()
        except Exception as exc:
            failing["redis"] = type(exc).__name__
        stopping = self.stopping()
        if failing or stopping:
            status = "stopping" if stopping and not failing else "unavailable"
            return JSONResponse({"status": status, "failing": failing}, status_code=503)
        return JSONResponse({"status": "ready"})
