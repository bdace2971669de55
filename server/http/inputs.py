"""What a request carries, read with bounds: JSON bodies, query numbers, ids and visible texts.

Every reader either returns a checked value or raises `ApiError` (4xx with a message).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from starlette.requests import Request

from crdt.fields import text_ok
from server.http.errors import ApiError

MAX_JSON_BYTES = 64 * 1024  # request bodies of the JSON endpoints; larger: 413
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def text_field(body: dict[str, Any], key: str, limit: int, required: bool = False) -> str:
    """`body[key]` as a stripped visible text of at most `limit` characters ("" when absent and
    not required)."""
    value = body.get(key)
    if value is None and not required:
        return ""
    if value is None:
        raise ApiError(400, f"bad_{key}", f"'{key}' must be a non-empty text.")
    if isinstance(value, str) and len(value.strip()) > limit:
        raise ApiError(422, f"bad_{key}", f"'{key}' is limited to {limit} characters.")
    if not text_ok(value, limit):
        raise ApiError(
            422,
            f"bad_{key}",
            f"'{key}' must be a visible text of up to {limit} characters"
            " (no control or invisible-only characters).",
        )
    return str(value).strip()


async def read_body(request: Request, limit: int = MAX_JSON_BYTES) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` (also when streamed)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "too_large", f"The request body is limited to {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too_large", f"The request body is limited to {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object (400 otherwise; 413 past MAX_JSON_BYTES)."""
    raw = await read_body(request)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: deeply nested arrays
        raise ApiError(400, "bad_json", "The request body must be a JSON object.") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "The request body must be a JSON object.")
    return body


def query_number(request: Request, name: str, default: float | None, high: float) -> float | None:
    """A finite number from 0 to `high` (no nan, inf or 1e400), else 422."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = float(raw) if len(raw) <= 40 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= high:
        raise ApiError(422, f"bad_{name}", f"'{name}' must be a number from 0 to {high:g}.")
    return value


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """A whole number from `low` to `high`, else 422."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(422, f"bad_{name}", f"'{name}' must be a whole number.") from exc
    if not low <= value <= high:
        raise ApiError(422, f"bad_{name}", f"'{name}' must be from {low} to {high}.")
    return value
