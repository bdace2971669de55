"""A board is bounded in bytes so that a joiner of the largest allowed board always syncs (issue 7),
over real WebSockets against a real server.

Within the note schema (known fields, texts of at most 8 KiB, one translation per board language),
the count bounds alone do not bound a board's bytes: one person with two join tokens and the
facilitator's largest settings posts 1,600 notes of ~24 KiB (a text and two translations), a 40 MB
board. Without the byte bound every new joiner's first sync overflows its outbound queue
(32 MiB) and is closed with 4408, forever. With it, the board stops growing at 16 MiB (each
refusal says why) and a joiner gets the whole board.
"""

from __future__ import annotations

from typing import Any

import httpx
from pycrdt import Doc, Map

from crdt import board_state, protocol
from server.settings import Settings
from tests.conftest import ServerProcess
from tests.yclient import YClient

TEXT = "é" * 4096  # 8 KiB of UTF-8: the largest text a note or a translation may hold
NOTES_PER_FRAME = 50  # ~1.6 MB per update, under the 2 MiB frame bound


def big_notes(prefix: str, count: int) -> Any:
    def edit(doc: Doc) -> None:
        notes = doc.get("notes", type=Map)
        for i in range(count):
            translations = {lang: {"text": TEXT, "by": "x"} for lang in ("nl", "en")}
            notes[f"{prefix}-{i}"] = Map(
                {"text": TEXT, "x": 0.0, "y": 0.0, "lang": "fr", "translations": Map(translations)}
            )

    return edit


async def grow(server: ServerProcess, frames_per_token: int) -> tuple[dict[str, Any], YClient]:
    """One person, two join tokens, posting big notes until the server refuses (or they are
    all in). Returns the board and a viewer that saw everything accepted."""
    board = server.create_board()
    async with httpx.AsyncClient() as http:
        response = await http.patch(
            f"{server.http}/api/boards/{board['id']}/settings",
            headers={"Authorization": f"Bearer {board['facilitator_token']}"},
            json={"max_note_length": 5000, "max_notes_per_participant": 1000},
        )
    assert response.status_code == 200, response.text
    viewer = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    for name in ("Eve", "Eve 2"):
        eve = await YClient(
            server.url(board["id"], server.join(board["join_code"], name)["token"])
        ).connect()
        for frame in range(frames_per_token):
            prefix = f"{name}-{frame}"
            update = await eve.change(big_notes(prefix, NOTES_PER_FRAME))
            assert len(update) < Settings().max_message_bytes
            await viewer.wait_until(
                lambda p=prefix, e=eve: (
                    f"{p}-0" in viewer.doc.get("notes", type=Map) or bool(e.denied)
                ),
                timeout=60,
            )
            if eve.denied:
                await eve.close()
                return board, viewer
        await eve.close()
    return board, viewer


async def test_without_the_byte_bound_a_participant_grows_a_board_nobody_can_join(
    make_server: Any,
) -> None:
    server = make_server(COBORD_MAX_BOARD_BYTES="0")
    board, viewer = await grow(server, frames_per_token=16)
    size = len(viewer.doc.get_update())
    assert size > Settings().outbox_max_bytes  # 39 MB: more than a joiner's outbound queue
    assert len(viewer.doc.get("notes", type=Map)) == 2 * 16 * NOTES_PER_FRAME
    joiner = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    assert joiner.close_code == protocol.CloseCode.TOO_SLOW == 4408
    assert joiner.close_reason == "client too slow: reconnect to resync"
    assert not joiner.synced
    await viewer.close()


async def test_a_joiner_of_the_largest_allowed_board_syncs(make_server: Any) -> None:
    # room for the updates that arrive meanwhile
    assert Settings().outbox_max_bytes >= 2 * board_state.MAX_BOARD_BYTES
    server = make_server()
    board, viewer = await grow(server, frames_per_token=16)
    notes = viewer.doc.get("notes", type=Map)
    size = len(viewer.doc.get_update())
    # The board stopped within one update of its bound: it is as large as a board may get.
    assert board_state.MAX_BOARD_BYTES - 2 * 1024 * 1024 < size <= board_state.MAX_BOARD_BYTES
    assert len(notes) < 2 * 16 * NOTES_PER_FRAME
    joiner = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    assert joiner.close_code is None and joiner.synced
    assert set(joiner.doc.get("notes", type=Map)) == set(notes)
    assert len(joiner.doc.get_update()) == size
    # Deleting still works on a full board; creating says why it cannot.
    fac = await YClient(server.url(board["id"], board["facilitator_token"])).connect()
    await fac.change(lambda d: d.get("notes", type=Map).pop(next(iter(notes))))
    await fac.change(big_notes("fac", NOTES_PER_FRAME))
    await fac.wait_until(lambda: bool(fac.denied))
    assert fac.denied == ["the board is full: at most 16 MiB"]
    for client in (viewer, joiner, fac):
        await client.close()
