"""Workshop rules over real WebSockets: every forbidden action is refused, invisible to the
others, and absent from the database."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pycrdt import Doc, Map

from server.settings import sqlite_path
from tests.conftest import ServerProcess
from tests.yclient import YClient, add_note


def stored_updates(server: ServerProcess, board_id: str) -> list[bytes]:
    path = sqlite_path(server.database_url)
    assert path is not None
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT data FROM updates WHERE board_id = ? ORDER BY seq", (board_id,))
        return [bytes(row[0]) for row in rows]


class Workshop:
    """A board with a facilitator, two participants (Ana, Bob) and a watching viewer."""

    def __init__(self, server: ServerProcess, **settings: Any) -> None:
        self.server = server
        self.board = server.create_board(groups=["résident", "chercheur"])
        self.id = self.board["id"]
        self.settings = settings

    async def start(self) -> Workshop:
        server = self.server
        self.ana_join = server.join(self.board["join_code"], name="Ana", group="résident")
        self.bob_join = server.join(self.board["join_code"], name="Bob", group="chercheur")
        self.ana = await YClient(server.url(self.id, self.ana_join["token"])).connect()
        self.bob = await YClient(server.url(self.id, self.bob_join["token"])).connect()
        self.viewer = await YClient(server.url(self.id, self.board["viewer_token"])).connect()
        self.facilitator = await YClient(
            server.url(self.id, self.board["facilitator_token"])
        ).connect()
        await self.ana.change(add_note("ana-note", "first idea"))
        for client in (self.bob, self.viewer, self.facilitator):
            await client.wait_until(lambda c=client: "ana-note" in c.notes())
        if self.settings:
            async with httpx.AsyncClient() as http:
                r = await http.patch(
                    f"{server.http}/api/boards/{self.id}/settings",
                    json=self.settings,
                    headers={"Authorization": f"Bearer {self.board['facilitator_token']}"},
                )
            assert r.status_code == 200, r.text
            await self.bob.wait_until(
                lambda: all(
                    self.bob.doc.get("meta", type=Map).get("settings", {}).get(k) == v
                    for k, v in self.settings.items()
                )
            )
        return self

    async def sync_point(self, marker: str) -> None:
        """An allowed facilitator note that everyone sees: all earlier messages were handled."""
        await self.facilitator.change(add_note(marker, "marker"))
        for client in (self.viewer, self.ana, self.bob):
            await client.wait_until(lambda c=client: marker in c.notes())

    async def close(self) -> None:
        for client in (self.ana, self.bob, self.viewer, self.facilitator):
            await client.close()


def set_in(root: str, *path: str, value: Any) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        target: Any = doc.get(root, type=Map)
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


FORBIDDEN: dict[str, tuple[dict[str, Any], str, Callable[[Doc], None], str]] = {
    # name: (board settings, who, edit, expected reason fragment)
    "edit another's note": (
        {},
        "bob",
        set_in("notes", "ana-note", "text", value="FORBIDDEN-1"),
        "notes you wrote",
    ),
    "recolour another's note": (
        {},
        "bob",
        set_in("notes", "ana-note", "color", value="FORBID-2"),
        "notes you wrote",
    ),
    "delete another's note": (
        {},
        "bob",
        lambda d: d.get("notes", type=Map).pop("ana-note"),
        "notes you wrote",
    ),
    "write meta": ({}, "bob", set_in("meta", "phase", value="FORBIDDEN-3"), "cannot make"),
    "write results": ({}, "bob", set_in("results", "data", value="FORBIDDEN-4"), "cannot make"),
    "post while locked": ({"locked": True}, "bob", add_note("evil-5", "FORBIDDEN-5"), "locked"),
    "move while locked": (
        {"locked": True},
        "bob",
        set_in("notes", "ana-note", "x", value=99.0),
        "locked",
    ),
    "post during private writing": (
        {"private_writing": True},
        "bob",
        add_note("evil-6", "FORBIDDEN-6"),
        "private writing",
    ),
    "post over the text limit": (
        {"max_note_length": 20},
        "bob",
        add_note("evil-7", "FORBIDDEN-7" + "y" * 21),
        "at most 20",
    ),
    "viewer posts": ({}, "viewer", add_note("evil-8", "FORBIDDEN-8"), "viewers"),
    "post with an author on an anonymous board": (
        {"anonymous": True},
        "bob",
        add_note("evil-9", "FORBIDDEN-9", author="Bob"),
        "anonymous",
    ),
}


@pytest.mark.parametrize("case", list(FORBIDDEN))
async def test_forbidden_action_is_refused_invisible_and_not_stored(
    server: ServerProcess, case: str
) -> None:
    settings, who, edit, reason = FORBIDDEN[case]
    workshop = await Workshop(server, **settings).start()
    sender: YClient = getattr(workshop, who)
    before_others = workshop.ana.notes()
    stored_before = stored_updates(server, workshop.id)
    await sender.change(edit)
    await sender.wait_until(lambda: bool(sender.denied))
    assert reason in sender.denied[0]
    await workshop.sync_point("after")
    # Invisible: the other clients saw only the marker arrive.
    for other in (workshop.ana, workshop.viewer, workshop.facilitator):
        if other is not sender:
            notes = other.notes()
            notes.pop("after")
            assert notes == before_others
            meta = other.doc.get("meta", type=Map).get("phase")
            assert meta in (None, "ideate")
            assert not other.doc.get("results", type=Map).to_py()
    # Undone on the sender too, by the server's compensation alone (no resync, no reload);
    # a viewer's write as well (it was dropped, and the viewer kept it).
    notes = sender.notes()
    notes.pop("after")
    assert notes == before_others
    assert sender.doc.get("meta", type=Map).get("phase") in (None, "ideate")
    assert not sender.doc.get("results", type=Map).to_py()
    # Stored: the marker and the net compensated update (the sender's structs, deleted, plus
    # the undo), with no readable trace of the forbidden content.
    stored_after = stored_updates(server, workshop.id)
    assert len(stored_after) == len(stored_before) + 2
    assert b"after" in stored_after[-1]
    assert not any(b"FORBID" in data for data in stored_after)
    # A fresh joiner sees the same board as everyone.
    fresh = await YClient(server.url(workshop.id, workshop.board["viewer_token"])).connect()
    assert fresh.notes() == workshop.ana.notes()
    await fresh.close()
    await workshop.close()


async def test_allowed_actions_pass(server: ServerProcess) -> None:
    workshop = await Workshop(server).start()
    bob, ana = workshop.bob, workshop.ana
    await bob.change(set_in("notes", "ana-note", "x", value=120.0))  # move any note
    await bob.change(
        lambda d: d.get("clusters", type=Map).__setitem__(
            "c1", Map({"title": "Mobilité", "x": 0.0, "y": 0.0, "color": "blue"})
        )
    )
    await bob.change(set_in("notes", "ana-note", "cluster", value="c1"))
    await ana.wait_until(lambda: "c1" in ana.doc.get("clusters", type=Map))
    await ana.change(set_in("clusters", "c1", "title", value="Mobiliteit"))
    await ana.change(set_in("notes", "ana-note", "text", value="Ana's better idea"))
    await workshop.viewer.wait_until(
        lambda: workshop.viewer.notes()["ana-note"].get("text") == "Ana's better idea"
    )
    note = workshop.viewer.notes()["ana-note"]
    assert note["x"] == 120.0 and note["cluster"] == "c1"
    clusters = workshop.viewer.doc.get("clusters", type=Map).to_py()
    assert clusters["c1"]["title"] == "Mobiliteit"
    assert not bob.denied and not ana.denied
    await ana.change(lambda d: d.get("notes", type=Map).pop("ana-note"))  # delete own note
    await workshop.viewer.wait_until(lambda: "ana-note" not in workshop.viewer.notes())
    await workshop.close()


async def test_anonymous_board_carries_no_participant_identity(server: ServerProcess) -> None:
    workshop = await Workshop(server, anonymous=True).start()
    await workshop.bob.change(add_note("bob-note", "anonymous idea"))
    await workshop.sync_point("after")
    everything = repr(workshop.viewer.doc.get("notes", type=Map).to_py()) + repr(
        workshop.viewer.doc.get("meta", type=Map).to_py()
    )
    for secret in (
        "Ana",
        "Bob",
        workshop.ana_join["participant_id"],
        workshop.bob_join["participant_id"],
    ):
        assert secret not in everything
    stored = b"".join(stored_updates(server, workshop.id))
    for secret in (workshop.ana_join["participant_id"], workshop.bob_join["participant_id"]):
        assert secret.encode() not in stored
    await workshop.close()


async def test_notes_per_person_limit(server: ServerProcess) -> None:
    workshop = await Workshop(server, max_notes_per_participant=2).start()
    ana = workshop.ana  # has one note already
    await ana.change(add_note("second", "ok"))
    await ana.change(add_note("third", "too many"))
    await ana.wait_until(lambda: bool(ana.denied))
    assert ana.denied == ["at most 2 notes per person"]
    await workshop.sync_point("after")
    assert "second" in workshop.viewer.notes() and "third" not in workshop.viewer.notes()
    await workshop.close()


@pytest.mark.parametrize("phase", ["vote", "results"])
async def test_posting_is_closed_in_the_vote_and_results_phases(
    server: ServerProcess, phase: str
) -> None:
    workshop = await Workshop(server).start()
    async with httpx.AsyncClient() as http:
        r = await http.post(
            f"{server.http}/api/boards/{workshop.id}/phase",
            json={"phase": phase},
            headers={"Authorization": f"Bearer {workshop.board['facilitator_token']}"},
        )
    assert r.status_code == 200, r.text
    await workshop.bob.wait_until(
        lambda: workshop.bob.doc.get("meta", type=Map).get("phase") == phase
    )
    await workshop.bob.change(add_note("late", "LATE-IDEA"))
    await workshop.bob.wait_until(lambda: bool(workshop.bob.denied))
    assert workshop.bob.denied == ["posting is closed in the vote and results phases"]
    await workshop.sync_point("after")
    for client in (workshop.ana, workshop.bob, workshop.viewer):
        assert "late" not in client.notes()  # undone on the sender too
    assert not any(b"LATE-IDEA" in data for data in stored_updates(server, workshop.id))
    # Moving an idea still works in those phases.
    await workshop.bob.change(set_in("notes", "ana-note", "x", value=120.0))
    await workshop.ana.wait_until(lambda: workshop.ana.notes()["ana-note"]["x"] == 120.0)
    assert workshop.bob.denied == ["posting is closed in the vote and results phases"]
    await workshop.close()
