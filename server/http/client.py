"""What the web client needs to know about how it is reached: the public address for QR codes and
links (`COBORD_PUBLIC_URL`), and, when the server only listens on a loopback address, a hint to give
the facilitator (this machine's LAN addresses, `--host 0.0.0.0`).

GET /api/client-config -> {"public_url": str | null, "bound_host": str, "loopback_only": bool,
                           "lan_addresses": [str], "port": int, "scheme": "http" | "https"}
GET /api/time -> {"now": ms since the epoch}, never cached: screens derive their clock offset
                 from it on every (re)connect, so a timer reads the same on every screen (a `Date`
                 header has 1 s resolution and may come from a copy the service worker kept).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import time
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.settings import Settings

log = logging.getLogger("cobord")

ENV_PUBLIC_URL = "COBORD_PUBLIC_URL"
MAX_LAN_ADDRESSES = 8


def public_url(value: str | None) -> str | None:
    """`https://board.example.org/` -> `https://board.example.org`; anything else than an absolute
    http(s) URL without query or fragment is refused (None, with a warning in the log)."""
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        log.warning("%s=%r is not an http(s) URL: ignored", ENV_PUBLIC_URL, value)
        return None
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def lan_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses (the one with the default route first)."""
    found: list[str] = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # UDP connect sends nothing: it only picks a route
            found.append(s.getsockname()[0])
    except OSError:
        pass
    with contextlib.suppress(OSError):
        found.extend(socket.gethostbyname_ex(socket.gethostname())[2])
    out: list[str] = []
    for a in found:
        try:
            ip = ipaddress.ip_address(a)
        except ValueError:
            continue
        if not ip.is_loopback and not ip.is_unspecified and a not in out:
            out.append(a)
    return out[:MAX_LAN_ADDRESSES]


def client_routes(settings: Settings, env: dict[str, str] | None = None) -> list[Route]:
    url = public_url((env if env is not None else os.environ).get(ENV_PUBLIC_URL))
    loopback_only = is_loopback(settings.host)
    lan = lan_addresses() if loopback_only or settings.host in ("0.0.0.0", "::") else []

    async def client_config(request: Request) -> Response:
        return JSONResponse(
            {
                "public_url": url,
                "bound_host": settings.host,
                "loopback_only": loopback_only,
                "lan_addresses": lan,
                "port": settings.port,
                "scheme": "https" if settings.tls else "http",
            }
        )

    async def server_time(request: Request) -> Response:
        return JSONResponse(
            {"now": round(time.time() * 1000)}, headers={"Cache-Control": "no-store"}
        )

    return [
        Route("/api/client-config", client_config, methods=["GET"]),
        Route("/api/time", server_time, methods=["GET"]),
    ]
