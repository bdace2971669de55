"""server/http/errors.py: every error a route raises becomes the API's JSON in one place (a tiny
inline app, as Starlette's own tests do; the real routes' errors are asserted in test_api.py,
test_limits.py, test_multiprocess.py ...)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.http.errors import EXCEPTION_HANDLERS, ApiError
from server.live.room import StorageFailed
from server.scale.limits import RateLimited

UNAVAILABLE = {"error": "storage_unavailable", "message": "Storage is unavailable; try again."}
FAILURES: dict[str, Exception] = {
    "api": ApiError(409, "locked", "The board is locked."),
    "rate": RateLimited(7),
    "database": OperationalError("SELECT 1", {}, Exception("connection refused")),
    "room": StorageFailed("commit failed"),
    "disk": OSError("no space left"),
    "timeout": TimeoutError(),
}


async def fail(request: Request) -> Response:
    raise FAILURES[request.path_params["what"]]


app = Starlette(routes=[Route("/{what}", fail)], exception_handlers=EXCEPTION_HANDLERS)


async def get(app: Starlette, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path)


@pytest.mark.parametrize(
    ("what", "status", "body", "retry_after"),
    [
        ("api", 409, {"error": "locked", "message": "The board is locked."}, None),
        (
            "rate",
            429,
            {"error": "rate_limited", "message": "Too many requests; retry in 7 s."},
            "7",
        ),
        *[(what, 503, UNAVAILABLE, "2") for what in ("database", "room", "disk", "timeout")],
    ],
)
async def test_each_error_becomes_json_with_its_status(
    what: str, status: int, body: dict[str, str], retry_after: str | None
) -> None:
    r = await get(app, f"/{what}")
    assert (r.status_code, r.json(), r.headers.get("retry-after")) == (status, body, retry_after)


async def test_anything_else_is_not_turned_into_an_api_answer() -> None:
    """A bug stays a plain 500 (Starlette's), not a JSON refusal a client would act on."""

    async def broken(request: Request) -> Response:
        raise KeyError("bug")

    buggy = Starlette(routes=[Route("/", broken)], exception_handlers=EXCEPTION_HANDLERS)
    r = await get(buggy, "/")
    assert (r.status_code, r.text) == (500, "Internal Server Error")
