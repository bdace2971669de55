"""server/http/client.py: COBORD_PUBLIC_URL parsing and the loopback test."""

from __future__ import annotations

import pytest

from server.http.client import is_loopback, lan_addresses, public_url


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://atelier.example.org/", "https://atelier.example.org"),
        ("http://192.168.1.20:8000", "http://192.168.1.20:8000"),
        ("https://example.org/cobord/", "https://example.org/cobord"),
        ("", None),
        (None, None),
        ("atelier.example.org", None),
        ("ftp://example.org", None),
        ("https://example.org/?a=1", None),
        ("https://example.org/#x", None),
    ],
)
def test_public_url(value: str | None, expected: str | None) -> None:
    assert public_url(value) == expected


def test_is_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2") and not is_loopback("")


def test_lan_addresses_are_not_loopback() -> None:
    assert all(not is_loopback(a) for a in lan_addresses())
