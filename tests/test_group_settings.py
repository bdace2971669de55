"""Group labels per language and "I'd rather not say": board settings through the existing API; the
stored group stays the group's id whatever its labels say, so results per group stay right."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_labels_and_optional_group_reach_the_join_screen(server: ServerProcess) -> None:
    board = server.create_board(groups=["Maatschappelijk werker", "Bewoner"])
    url = f"{server.http}/api/boards/{board['id']}/settings"
    labels = {"Maatschappelijk werker": {"fr": "Travailleur social", "en": "Social worker"}}
    r = httpx.patch(
        url,
        json={"group_labels": labels, "group_optional": True},
        headers=auth(board["facilitator_token"]),
    )
    assert r.status_code == 200, r.text
    assert r.json()["group_labels"] == labels and r.json()["group_optional"] is True
    info = httpx.get(f"{server.http}/api/join/{board['join_code']}").json()
    assert info["group_labels"] == labels and info["group_optional"] is True
    assert info["groups"] == ["Maatschappelijk werker", "Bewoner"]  # the ids do not change
    fr = server.join(board["join_code"], name="Amina", group="Maatschappelijk werker", lang="fr")
    server.join(board["join_code"], name="Rik", lang="nl")  # rather not say: no group
    people = httpx.get(
        f"{server.http}/api/boards/{board['id']}/participants",
        headers=auth(board["facilitator_token"]),
    ).json()
    assert {p["name"]: p["group"] for p in people} == {
        "Amina": "Maatschappelijk werker",
        "Rik": None,
    }
    assert fr["participant_id"]


def test_a_group_is_required_unless_rather_not_say_is_offered(server: ServerProcess) -> None:
    board = server.create_board(groups=["A", "B"])
    r = httpx.post(f"{server.http}/api/join", json={"code": board["join_code"], "name": "Rik"})
    assert r.status_code == 422 and r.json()["error"] == "group_required", r.text
    httpx.patch(
        f"{server.http}/api/boards/{board['id']}/settings",
        json={"group_optional": True},
        headers=auth(board["facilitator_token"]),
    ).raise_for_status()
    r = httpx.post(f"{server.http}/api/join", json={"code": board["join_code"], "name": "Rik"})
    assert r.status_code == 201, r.text


def test_fresh_board_defaults(server: ServerProcess) -> None:
    board = server.create_board(groups=["A"])
    info = httpx.get(f"{server.http}/api/join/{board['join_code']}").json()
    assert info["group_labels"] == {} and info["group_optional"] is False


@pytest.mark.parametrize(
    "patch",
    [
        {"group_labels": ["Travailleur social"]},
        {"group_labels": {"A": "Travailleur social"}},
        {"group_labels": {"A": {"de": "Sozialarbeiter"}}},
        {"group_labels": {"A": {"fr": ""}}},
        {"group_labels": {"A": {"fr": "x" * 61}}},
        {"group_labels": {"A": {"fr": "\u200b"}}},
        {"group_optional": "yes"},
    ],
)
def test_bad_group_settings_are_422(server: ServerProcess, patch: dict[str, Any]) -> None:
    board = server.create_board(groups=["A"])
    r = httpx.patch(
        f"{server.http}/api/boards/{board['id']}/settings",
        json=patch,
        headers=auth(board["facilitator_token"]),
    )
    assert r.status_code == 422 and r.json()["error"] == "bad_setting", r.text
    info = httpx.get(f"{server.http}/api/join/{board['join_code']}").json()
    assert info["group_labels"] == {} and info["group_optional"] is False
