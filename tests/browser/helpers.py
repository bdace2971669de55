"""Shared steps of the browser tests."""

from __future__ import annotations

from typing import Any


def open_board(context: Any, base: str, board_id: str, token: str, query: str = "") -> Any:
    """Open a board in a context holding `token` (as the home/join pages would have stored it)."""
    page = context.new_page()
    page.goto(base + "/")
    page.evaluate(
        "([id, token]) => localStorage.setItem('cobord:token:' + id, JSON.stringify(token))",
        [board_id, token],
    )
    page.goto(f"{base}/b/{board_id}{query}")
    page.wait_for_function("() => window.__cobord && window.__cobord.session.synced")
    return page


def new_board(server: Any, **body: Any) -> dict[str, Any]:
    return dict(
        server.api(
            "POST",
            "/api/boards",
            {"title": "Atelier", "groups": ["Bewoner", "Onderzoeker"], **body},
        )
    )


def join(
    server: Any, code: str, name: str, group: str = "Bewoner", lang: str = "fr"
) -> dict[str, Any]:
    return dict(
        server.api("POST", "/api/join", {"code": code, "name": name, "group": group, "lang": lang})
    )
