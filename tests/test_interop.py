"""Interop: the real npm `yjs` + `y-websocket` WebsocketProvider (Node) and our Python client edit
one board at the same time through a real server, and end up with the same document.

The Node side is tests/interop/client.mjs (pinned versions in tests/interop/package-lock.json;
`npm ci` runs once if node_modules is missing). Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Map

from crdt import protocol
from tests.conftest import ServerProcess
from tests.support import folder_lock, service_missing
from tests.yclient import YClient, add_note

pytestmark = pytest.mark.node

INTEROP = Path(__file__).resolve().parent / "interop"
NODE_TIMEOUT = 30.0  # seconds, for one Node client run (its own watchdog is a bit shorter)
NPM_CI_TIMEOUT = 300.0
WAIT = 20.0


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with tests/interop/node_modules installed (npm ci from the lock file)."""
    node_bin, npm_bin = shutil.which("node"), shutil.which("npm")
    if node_bin is None or npm_bin is None:
        service_missing("node/npm is not installed (needed for the yjs/y-websocket interop test)")
    assert node_bin is not None and npm_bin is not None
    with folder_lock(INTEROP):  # parallel workers: one npm ci at a time, then it is there
        if not (INTEROP / "node_modules" / "y-websocket").is_dir():
            done = subprocess.run(
                [npm_bin, "ci", "--no-audit", "--no-fund"],
                cwd=INTEROP,
                capture_output=True,
                text=True,
                timeout=NPM_CI_TIMEOUT,
                check=False,
            )
            if done.returncode != 0:
                service_missing(f"npm ci failed in {INTEROP}: {done.stderr[-2000:]}")
    return node_bin


async def run_node(node: str, *args: str) -> dict[str, Any]:
    """Run client.mjs to completion; return its JSON line (fail with its stderr otherwise)."""
    proc = await asyncio.create_subprocess_exec(
        node,
        str(INTEROP / "client.mjs"),
        "--timeout",
        str(int((NODE_TIMEOUT - 5) * 1000)),
        *args,
        cwd=INTEROP,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), NODE_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, f"node client exited {proc.returncode}: {err.decode()[-3000:]}"
    lines = out.decode().strip().splitlines()
    assert lines, f"node client printed nothing; stderr: {err.decode()[-3000:]}"
    return dict(json.loads(lines[-1]))


def move(note_id: str, x: float) -> Any:
    def edit(doc: Any) -> None:
        doc.get("notes", type=Map)[note_id]["x"] = x

    return edit


def set_text(note_id: str, text: str) -> Any:
    def edit(doc: Any) -> None:
        doc.get("notes", type=Map)[note_id]["text"] = text

    return edit


async def send_awareness(client: YClient, state: dict[str, Any], clock: int = 1) -> None:
    entry = protocol.AwarenessState(client.doc.client_id, clock, state)
    await client.send(protocol.Awareness(protocol.encode_awareness([entry])))


def awareness_names(client: YClient) -> set[str]:
    return {
        state["user"]["name"]
        for _, state in client.awareness.values()
        if isinstance(state, dict) and isinstance(state.get("user"), dict)
    }


async def test_node_provider_and_python_client_converge(node: str, server: ServerProcess) -> None:
    board = server.create_board()
    ana = server.join(board["join_code"], "py-ana")  # the Python client (presence names: as joined)
    bo = server.join(board["join_code"], "node-bo")  # the Node client
    python_ids = [f"py-{i}" for i in range(5)]
    node_ids = [f"node-{i}" for i in range(5)]

    async def python_side() -> dict[str, Any]:
        client = await YClient(server.url(board["id"], ana["token"])).connect()
        try:
            await send_awareness(client, {"user": {"name": "py-ana", "color": "#c63"}})
            for i, note_id in enumerate(python_ids):
                await client.change(add_note(note_id, f"from python {i} — ünïcode ✓", x=1.5 * i))
            await client.change(set_text("py-1", "python edited its own note"))
            await client.wait_until(
                lambda: (
                    all(k in client.notes() for k in node_ids)
                    and "node-bo" in awareness_names(client)
                ),
                WAIT,
            )
            await client.change(move("node-0", 456))
            # The Node side's last edit: it moves py-0 once it has seen every Python note.
            await client.wait_until(lambda: client.notes()["py-0"]["x"] == 123, WAIT)
            assert not client.denied, client.denied
            # When the Node provider leaves, its awareness state is removed here too.
            await client.wait_until(lambda: "node-bo" not in awareness_names(client), WAIT)
            return client.notes()
        finally:
            await client.close()

    node_result, python_notes = await asyncio.gather(
        run_node(
            node,
            *("--url", server.ws, "--room", board["id"], "--token", bo["token"]),
            *("--mode", "converge", "--name", "node-bo", "--prefix", "node", "--count", "5"),
            *("--expect-prefix", "py", "--expect-count", "5", "--expect-awareness", "py-ana"),
            *("--move-x", "123", "--expect-x", "456"),
        ),
        python_side(),
    )
    node_notes = node_result["notes"]
    assert node_notes == python_notes
    assert set(node_notes) == set(python_ids) | set(node_ids)
    assert node_notes["py-1"]["text"] == "python edited its own note"
    assert node_notes["py-2"]["text"] == "from python 2 — ünïcode ✓"
    assert node_notes["node-0"]["text"] == "node edited its own note"
    assert node_notes["node-3"]["text"] == "from node 3 — héllo ✓"
    assert (node_notes["py-0"]["x"], node_notes["node-0"]["x"]) == (123, 456)
    assert "py-ana" in node_result["awareness_names"]
    # A newcomer loading the board from the server gets the same notes.
    late = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    try:
        assert late.notes() == python_notes
    finally:
        await late.close()


async def test_node_participant_cannot_edit_a_note_it_did_not_write(
    node: str, server: ServerProcess
) -> None:
    board = server.create_board()
    ana = server.join(board["join_code"], "Ana")
    bo = server.join(board["join_code"], "Bo")
    client = await YClient(server.url(board["id"], ana["token"])).connect()
    try:
        await client.change(add_note("ana-note", "written by Ana"))
        node_task = asyncio.create_task(
            run_node(
                node,
                *("--url", server.ws, "--room", board["id"], "--token", bo["token"]),
                *("--mode", "refuse", "--target", "ana-note", "--barrier", "bo-barrier"),
            )
        )
        # Bo's barrier note is sent after the server refused the hijack: once it is here, the
        # hijack would be here too had it been relayed.
        await client.wait_until(lambda: "bo-barrier" in client.notes(), WAIT)
        result = await node_task
        # The stock provider's later, allowed edits (after the refusal) reach the Python client.
        await client.wait_until(
            lambda: "bo-barrier-own" in client.notes() and client.notes()["ana-note"]["x"] == 77,
            WAIT,
        )
        assert client.notes()["ana-note"]["text"] == "written by Ana"
        assert client.notes()["bo-barrier-own"]["text"] == "after the refusal"
        assert not any(b"hijacked" in frame for frame in client.received)
        assert result["denied"] == ["you can only change or delete notes you wrote"]
        assert result["local_text"] == "hijacked by node"  # until the server's undo arrives
        assert result["reverted_text"] == "written by Ana"  # undone in the Node doc by itself
        assert result["converge_ms"] < 1000
        assert result["barrier_seen"] is True
        assert not client.denied
    finally:
        await client.close()
    fresh = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    try:
        assert fresh.notes()["ana-note"]["text"] == "written by Ana"
        assert "bo-barrier" in fresh.notes()
    finally:
        await fresh.close()


async def test_a_stock_provider_offline_move_crossing_a_forbidden_delete_lands(
    node: str, server: ServerProcess
) -> None:
    """Ana's phone (stock y-websocket provider) moves her note offline; meanwhile Bo's forbidden
    delete of it (`deleted: true`, from a stock provider too) is undone by taking the field away.
    Back online, her provider's sync sends the move into the same live map: it lands, for
    everyone, with nothing remembered by the server."""
    board = server.create_board()
    ana = server.join(board["join_code"], "Ana")
    bo = server.join(board["join_code"], "Bo")
    writer = await YClient(server.url(board["id"], ana["token"])).connect()
    try:
        await writer.change(add_note("ana-note", "written by Ana"))  # her note, from her laptop
    finally:
        await writer.close()
    result = await run_node(
        node,
        *("--url", server.ws, "--room", board["id"], "--token", ana["token"]),
        *("--mode", "offline", "--target", "ana-note", "--move-x", "321"),
        *("--other-token", bo["token"]),
    )
    assert result == {
        "denied": ["you can only change or delete notes you wrote"],
        "author_x": 321,
        "other_x": 321,
    }
    fresh = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    try:
        assert fresh.notes()["ana-note"]["x"] == 321.0
        assert fresh.notes()["ana-note"]["text"] == "written by Ana"
        assert "deleted" not in fresh.notes()["ana-note"]
    finally:
        await fresh.close()
