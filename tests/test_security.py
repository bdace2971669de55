"""Security headers on every HTTP response, against a real server."""

from __future__ import annotations

import httpx
import pytest

from server.http.security import CONTENT_SECURITY_POLICY
from tests.conftest import ServerProcess


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/j/ABCDEF", 200),
        ("GET", "/app.js", 200),
        ("GET", "/style.css", 200),
        ("GET", "/healthz", 200),
        ("GET", "/no-such-file.js", 404),
        ("POST", "/api/boards", 400),
        ("GET", "/api/boards/nope", 404),  # unknown board: 404 before any token check
    ],
)
def test_every_response_has_the_security_headers(
    server: ServerProcess, method: str, path: str, status: int
) -> None:
    response = httpx.request(method, f"{server.http}{path}", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == status
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    policy = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert policy["script-src"] == "'self'"  # no 'unsafe-inline' for scripts
    assert policy["frame-ancestors"] == "'none'"


def test_the_page_has_no_inline_script(server: ServerProcess) -> None:
    html = httpx.get(f"{server.http}/").text
    for tag in html.split("<script")[1:]:
        head, _, rest = tag.partition(">")
        assert "src=" in head and rest.startswith("</script>"), tag[:80]
