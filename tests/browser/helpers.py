"""Shared steps of the browser tests."""

from __future__ import annotations

from typing import Any


def open_board(context: Any, base: str, board_id: str, token: str, query: str = "") -> Any:
    """Open a board in a context holding `token`, in one navigation: the board page keeps a token
    handed to it in the address's #fragment (the private link's way, static/faclink.js) in
    localStorage, where the home and join pages put theirs, and drops it from the address. (Going
    to the home page first to write localStorage cost a second page load per board opened.)"""
    page = context.new_page()
    page.goto(f"{base}/b/{board_id}{query}#k={token}")
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
