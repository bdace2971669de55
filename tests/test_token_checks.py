"""Sockets' token checks (server/http/standings.py): no store read per socket on a live board, and
still exactly as strict as reading the store: privacy orders from this or another process, fan-out
gaps and reloaded rooms make the checks read again.

In-process: two hubs on one fan-out broker and one store act as two processes (as in test_hub.py);
the end-to-end check over a real server and real sockets is at the end."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pycrdt import Map

from crdt.protocol import CloseCode
from server.closing import CloseOrder, Closer
from server.fanout import MemoryBroker, MemoryFanout
from server.http.auth import AccessRefused, Refusal, StoreRecords, authenticate
from server.http.privacy import LINK_ROTATED, PERSON_REVOKED
from server.http.standings import LiveStandings
from server.live.hub import Hub
from server.settings import Settings
from server.store.base import BoardRecord, ParticipantRecord
from server.store.memory import MemoryStore
from server.store.memory_boards import MemoryBoards
from server.store.memory_tables import MemoryTables
from server.tokens import TokenClaims, TokenSigner
from server.ws import BoardSocket
from tests.conftest import ServerProcess
from tests.yclient import YClient

BOARD = "b0"
REVOKED = "this participant's access was revoked"
REPLACED = "this facilitator link was replaced by a newer one"
signer = TokenSigner("test")


class CountingBoards(MemoryBoards):
    """The in-memory boards repository, counting the reads a token check makes;
    `pause_after_read` holds the next participant read (its answer already taken) until set,
    `hold_boards` holds board reads (like a slow disk) until set."""

    def __init__(self, tables: MemoryTables) -> None:
        super().__init__(tables)
        self.reads = {"get_board": 0, "list_participants": 0, "get_participant": 0}
        self.pause_after_read: asyncio.Event | None = None
        self.hold_boards: asyncio.Event | None = None
        self.paused = asyncio.Event()

    async def get_board(self, board_id: str) -> BoardRecord | None:
        self.reads["get_board"] += 1
        if self.hold_boards is not None:
            await self.hold_boards.wait()
        return await super().get_board(board_id)

    async def list_participants(self, board_id: str) -> list[ParticipantRecord]:
        self.reads["list_participants"] += 1
        return await super().list_participants(board_id)

    async def get_participant(self, participant_id: str) -> ParticipantRecord | None:
        self.reads["get_participant"] += 1
        person = await super().get_participant(participant_id)
        if self.pause_after_read is not None:
            gate, self.pause_after_read = self.pause_after_read, None
            self.paused.set()
            await gate.wait()
        return person


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.boards = self.counting = CountingBoards(self.tables)


class Process:
    """One server process's parts that token checks involve."""

    def __init__(self, store: CountingStore, broker: MemoryBroker) -> None:
        settings = Settings(secret_key="test", idle_unload_seconds=0)
        self.hub = Hub(store, settings, fanout=MemoryFanout(broker))
        self.closer = Closer(store, self.hub)
        self.standings = LiveStandings(store, self.hub)
        self.closer.on_order.append(self.standings.forget)
        self.hub.on_gap.append(self.standings.forget)


async def two_processes(people: int = 3) -> tuple[CountingStore, Process, Process]:
    store = CountingStore()
    await store.open()
    await store.boards.create_board(BoardRecord(BOARD, "t", "CODE00", 0.0, {}))
    for i in range(people):
        await store.boards.add_participant(
            ParticipantRecord(f"p{i}", BOARD, f"P{i}", None, None, 0.0)
        )
    broker = MemoryBroker()
    first, second = Process(store, broker), Process(store, broker)
    for process in (first, second):
        await process.hub.start()
    return store, first, second


def token(role: str, participant: str | None = None, version: int = 0) -> str:
    return signer.issue(TokenClaims(BOARD, role, participant, version))  # type: ignore[arg-type]


async def refusal(process: Process, value: str) -> AccessRefused:
    with pytest.raises(AccessRefused) as caught:
        await process.standings.check(signer, value, BOARD)
    return caught.value


async def close(*processes: Process) -> None:
    for process in processes:
        for room in list(process.hub.rooms.values()):
            process.hub.release(room)
        await process.closer.aclose()
        await process.hub.close()


async def test_a_live_boards_sockets_read_its_records_once() -> None:
    store, _, second = await two_processes(people=20)
    tokens = [token("facilitator"), token("viewer")] + [
        token("participant", f"p{i}") for i in range(20)
    ]
    # Before (what every socket paid): the board and the participant, read for each check.
    for value in tokens:
        await authenticate(signer, value, BOARD, StoreRecords(store))
    assert store.counting.reads == {"get_board": 22, "list_participants": 0, "get_participant": 20}

    room = await second.hub.acquire(BOARD)
    store.counting.reads = dict.fromkeys(store.counting.reads, 0)
    for _ in range(3):  # three rounds of reconnections
        for value in tokens:
            access = await second.standings.check(signer, value, BOARD)
            assert access.board.id == BOARD
    assert store.counting.reads == {"get_board": 1, "list_participants": 1, "get_participant": 0}
    assert second.standings.reads == 2

    # Someone who joined since (on another process): read once, alone.
    await store.boards.add_participant(ParticipantRecord("late", BOARD, "Late", None, None, 0.0))
    for _ in range(3):
        access = await second.standings.check(signer, token("participant", "late"), BOARD)
        assert access.person is not None and access.person.name == "Late"
    assert store.counting.reads["get_participant"] == 1
    second.hub.release(room)
    await close(second)


async def test_sockets_arriving_together_share_one_read() -> None:
    """200 phones at once on a live board nobody checked a token of yet: one read for all."""
    store, _, second = await two_processes(people=200)
    room = await second.hub.acquire(BOARD)
    store.counting.reads = dict.fromkeys(store.counting.reads, 0)  # the room loaded: it read
    tokens = [token("participant", f"p{i}") for i in range(200)]
    store.counting.hold_boards = asyncio.Event()
    checks = [asyncio.create_task(second.standings.check(signer, t, BOARD)) for t in tokens]
    await asyncio.sleep(0)  # one loop turn: every check runs to its first wait (no timing)
    store.counting.hold_boards.set()
    found = await asyncio.gather(*checks)
    assert {access.person.id for access in found if access.person} == {f"p{i}" for i in range(200)}
    assert store.counting.reads == {"get_board": 1, "list_participants": 1, "get_participant": 0}
    second.hub.release(room)
    await close(second)


async def test_an_order_from_another_process_is_seen_by_the_next_check() -> None:
    store, first, second = await two_processes()
    room = await second.hub.acquire(BOARD)
    ana = token("participant", "p0")
    await second.standings.check(signer, ana, BOARD)  # remembered on the second process
    mark = second.standings.mark(BOARD)
    assert second.standings.current(BOARD, mark)

    # The first process revokes: store first, then the order on the board's channel.
    await store.boards.revoke_participant(BOARD, "p0")
    await first.closer.close(BOARD, CloseOrder(CloseCode.UNAUTHORIZED, PERSON_REVOKED, actor="p0"))

    assert not second.standings.current(BOARD, mark)  # a socket checked before must re-check
    refused = await refusal(second, ana)
    assert (refused.kind, refused.reason) == (Refusal.REVOKED, REVOKED)
    assert (await second.standings.check(signer, token("participant", "p1"), BOARD)).person
    second.hub.release(room)
    await close(first, second)


async def test_a_new_facilitator_link_opens_at_once_on_a_process_that_remembers_the_old() -> None:
    store, first, second = await two_processes()
    room = await second.hub.acquire(BOARD)
    old, new = token("facilitator"), token("facilitator", version=1)
    await second.standings.check(signer, old, BOARD)
    # Rotated on the first process; its order has not reached the second one yet.
    board = await store.boards.get_board(BOARD)
    assert board is not None
    await store.boards.update_board_settings(BOARD, {**board.settings, "token_version": 1})
    # The remembered board says version 0: the refusal is confirmed against the store.
    access = await second.standings.check(signer, new, BOARD)
    assert access.claims.version == 1
    refused = await refusal(second, old)
    assert (refused.kind, refused.reason) == (Refusal.REVOKED, REPLACED)
    await first.closer.close(
        BOARD, CloseOrder(CloseCode.UNAUTHORIZED, LINK_ROTATED, role="facilitator")
    )
    assert (await second.standings.check(signer, new, BOARD)).claims.version == 1
    second.hub.release(room)
    await close(first, second)


async def test_an_order_during_a_check_makes_the_socket_check_again() -> None:
    """The check read the participant before the revocation's commit, and returns after its
    order: what it read is not kept, and its mark is no longer current (the socket checks again
    before joining, ws.py)."""
    store, first, second = await two_processes()
    room = await second.hub.acquire(BOARD)
    await second.standings.check(signer, token("viewer"), BOARD)  # the board remembered
    await store.boards.add_participant(ParticipantRecord("ana", BOARD, "Ana", None, None, 0.0))
    ana = token("participant", "ana")  # joined since: read alone
    gate = store.counting.pause_after_read = asyncio.Event()
    mark = second.standings.mark(BOARD)
    checking = asyncio.create_task(second.standings.check(signer, ana, BOARD))
    await store.counting.paused.wait()  # the check holds Ana's record, not revoked

    await store.boards.revoke_participant(BOARD, "ana")
    order = CloseOrder(CloseCode.UNAUTHORIZED, PERSON_REVOKED, actor="ana")
    await first.closer.close(BOARD, order)
    gate.set()
    stale = await checking
    assert stale.person is not None and not stale.person.revoked  # read before the commit
    assert not second.standings.current(BOARD, mark)
    refused = await refusal(second, ana)  # the check again, as the socket makes it
    assert (refused.kind, refused.reason) == (Refusal.REVOKED, REVOKED)
    second.hub.release(room)
    await close(first, second)


async def test_a_check_made_while_the_board_was_not_live_here_is_made_again() -> None:
    """Before the room loads, this process does not hear the board's orders yet."""
    _, _, second = await two_processes()
    mark = second.standings.mark(BOARD)
    await second.standings.check(signer, token("viewer"), BOARD)
    room = await second.hub.acquire(BOARD)
    assert not second.standings.current(BOARD, mark)
    assert second.standings.current(BOARD, second.standings.mark(BOARD))
    second.hub.release(room)
    await close(second)


async def test_a_reloaded_room_reads_the_records_again() -> None:
    """Between an unload and the next load this process heard no order of the board."""
    store, _, second = await two_processes()
    room = await second.hub.acquire(BOARD)
    await second.standings.check(signer, token("viewer"), BOARD)
    mark = second.standings.mark(BOARD)
    second.hub.release(room)
    await second.hub.unload_idle_now()
    room = await second.hub.acquire(BOARD)
    assert not second.standings.current(BOARD, mark)
    reads = store.counting.reads["get_board"]
    await second.standings.check(signer, token("viewer"), BOARD)
    assert store.counting.reads["get_board"] == reads + 1
    second.hub.release(room)
    await close(second)


async def test_a_fanout_gap_forgets_what_was_remembered() -> None:
    """A gap may have lost an order: the records are read again."""
    store, first, second = await two_processes()
    room_a, room_b = await first.hub.acquire(BOARD), await second.hub.acquire(BOARD)
    await second.standings.check(signer, token("viewer"), BOARD)
    mark = second.standings.mark(BOARD)

    def note(note_id: str) -> Any:
        return lambda board: board.notes_map.__setitem__(note_id, Map({"text": note_id}))

    assert isinstance(first.hub.fanout, MemoryFanout)
    first.hub.fanout.drop_next = 1
    await room_a.apply_server_change(note("lost"))
    await room_a.apply_server_change(note("seen"))  # its number shows the gap
    assert second.hub.gaps == 1
    assert not second.standings.current(BOARD, mark)
    reads = store.counting.reads["get_board"]
    await second.standings.check(signer, token("viewer"), BOARD)
    assert store.counting.reads["get_board"] == reads + 1
    first.hub.release(room_a)
    second.hub.release(room_b)
    await close(first, second)


def reads_of(server: ServerProcess) -> int:
    for line in httpx.get(f"{server.http}/metrics").text.splitlines():
        if line.startswith("cobord_token_check_reads_total "):
            return int(float(line.split()[1]))
    raise AssertionError("cobord_token_check_reads_total not in /metrics")


async def test_sockets_joining_a_live_board_read_nothing_and_revocation_still_holds(
    server: ServerProcess,
) -> None:
    board = server.create_board(title="Vingt téléphones")
    people = [server.join(board["join_code"], name=f"P{i}") for i in range(20)]
    host = await YClient(server.url(board["id"], board["facilitator_token"])).connect()
    before = reads_of(server)
    phones = [await YClient(server.url(board["id"], p["token"])).connect() for p in people]
    viewer = await YClient(server.url(board["id"], board["viewer_token"])).connect()
    assert all(phone.synced for phone in phones) and viewer.synced
    assert reads_of(server) == before  # joined through this process: nothing to read

    ana = people[0]
    fac = {"Authorization": f"Bearer {board['facilitator_token']}"}
    async with httpx.AsyncClient(base_url=server.http) as http:
        url = f"/api/boards/{board['id']}/participants/{ana['participant_id']}/revoke"
        assert (await http.post(url, headers=fac)).status_code == 200
    assert await phones[0].wait_closed() == 4401 and phones[0].close_reason == PERSON_REVOKED
    again = await YClient(server.url(board["id"], ana["token"])).connect(wait_synced=False)
    assert (await again.wait_closed(), again.close_reason) == (4401, REVOKED)
    other = await YClient(server.url(board["id"], people[1]["token"])).connect()
    assert other.synced and other.close_code is None
    for client in (host, viewer, other, *phones[1:]):
        await client.close()


async def test_a_socket_whose_check_crossed_an_order_checks_again_before_joining() -> None:
    """The endpoint itself (ws.py, driven in-process through its ASGI interface): its first check
    reads Ana's record before her revocation commits; the order arrives before she joins; she is
    refused with the revocation's reason instead of joining."""
    store, first, second = await two_processes()
    room = await second.hub.acquire(BOARD)  # live on the second process, where Ana connects
    await second.standings.check(signer, token("viewer"), BOARD)
    await store.boards.add_participant(ParticipantRecord("ana", BOARD, "Ana", None, None, 0.0))
    socket = BoardSocket(second.hub, signer, Settings(secret_key="test"), second.standings)
    await socket.slots.start()
    sent: list[dict[str, Any]] = []
    closed = asyncio.Event()
    connected = False

    async def receive() -> dict[str, Any]:
        nonlocal connected
        if not connected:
            connected = True
            return {"type": "websocket.connect"}
        await closed.wait()
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Any) -> None:
        sent.append(dict(message))
        if message["type"] == "websocket.close":
            closed.set()

    gate = store.counting.pause_after_read = asyncio.Event()
    scope = {
        "type": "websocket",
        "path": f"/ws/{BOARD}",
        "path_params": {"board_id": BOARD},
        "query_string": f"token={token('participant', 'ana')}".encode(),
        "headers": [],
        "client": ("127.0.0.1", 5000),
    }
    serving = asyncio.create_task(socket(scope, receive, send))
    await store.counting.paused.wait()
    await store.boards.revoke_participant(BOARD, "ana")
    order = CloseOrder(CloseCode.UNAUTHORIZED, PERSON_REVOKED, actor="ana")
    await first.closer.close(BOARD, order)
    gate.set()
    async with asyncio.timeout(10):
        await serving
    assert sent[-1] == {"type": "websocket.close", "code": 4401, "reason": REVOKED}
    assert not [m for m in sent if m["type"] == "websocket.send"]  # nothing of the board
    assert not room.connections
    await socket.slots.close()
    second.hub.release(room)
    await close(first, second)
