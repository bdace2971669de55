"""Every error of the HTTP API becomes JSON here, in one place: `{"error": code, "message": text}`.

Route handlers raise (`ApiError`, `RateLimited`, or a storage failure); Starlette's exception
middleware calls the matching handler below (by the exception's class, most specific first), so no
route wraps itself. The responses still pass through the app's middleware (security headers, gzip).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.live.room import StorageFailed
from server.scale.limits import RateLimited

log = logging.getLogger("cobord")

STORAGE_RETRY_SECONDS = 2


class ApiError(Exception):
    """A refusal the caller can act on: an HTTP status, a stable code and a readable message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(exc: ApiError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": exc.code, "message": exc.message}, status_code=exc.status, headers=headers
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _rate_limited(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RateLimited)
    refusal = ApiError(429, "rate_limited", f"Too many requests; retry in {exc.retry_after} s.")
    return error_response(refusal, {"Retry-After": str(exc.retry_after)})


async def _storage_unavailable(request: Request, exc: Exception) -> Response:
    # The database (or a room whose commit failed) does not answer: a clear 503, not a 500.
    log.warning("%s %s: storage unavailable: %r", request.method, request.url.path, exc)
    refusal = ApiError(503, "storage_unavailable", "Storage is unavailable; try again.")
    return error_response(refusal, {"Retry-After": str(STORAGE_RETRY_SECONDS)})


ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]

# For `Starlette(exception_handlers=...)`. TimeoutError is an OSError: both mean a dependency
# that does not answer.
EXCEPTION_HANDLERS: dict[Any, ExceptionHandler] = {
    ApiError: _api_error,
    RateLimited: _rate_limited,
    SQLAlchemyError: _storage_unavailable,
    StorageFailed: _storage_unavailable,
    OSError: _storage_unavailable,
    TimeoutError: _storage_unavailable,
}
