"""One contract for every `Store`: the in-memory twin, SQLite (a file per test) and PostgreSQL.

PostgreSQL: a fresh, uniquely named database is created from the `postgres` database for the test
session and dropped at the end; without a server the PostgreSQL leg is skipped locally (and fails
under CI=true, see tests.support).

`open_store()` opens one more handle on the same database: for the SQL stores that is an independent
engine and connection pool, the way another server process would connect, so the concurrency tests
exercise real concurrent database sessions. The memory store has no such thing; its handles are the
same instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map

from server.store import (
    BoardRecord,
    DuplicateJoinCode,
    ErasureCounts,
    EventRecord,
    HiddenNoteRecord,
    HistoryRewrite,
    LogSummary,
    MarkRecord,
    MediaRecord,
    MemoryStore,
    NewUpdate,
    ParticipantRecord,
    SnapshotRecord,
    SqlStore,
    Store,
    StoreError,
    UpdateRecord,
    VoteRecord,
    VoteRefused,
    VoteTally,
    make_store,
    upgrade,
)
from server.store.base import GlossaryFull, MediaQuota, MediaQuotaExceeded
from server.store.sql_database import normalize_url

OpenStore = Callable[[], Awaitable[Store]]


# Fixtures


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    # A sync fixture: the PostgreSQL one runs its own event loop, outside the test's.
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'cobord.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def open_store(store_url: str) -> AsyncIterator[OpenStore]:
    """Open handles on the test's database; all are closed (engines disposed) at teardown."""
    opened: list[Store] = []
    memory = MemoryStore() if store_url == "memory://" else None

    async def open_one() -> Store:
        # At most 3 connections per handle: a race test opens 3 handles with 60 calls in flight,
        # and with SQLAlchemy's pool (up to 15 each) the suite's 4 workers together went past
        # PostgreSQL's 100 ("too many clients already", seen on a quiet machine).
        if memory is not None:
            store: Store = memory
        elif store_url.startswith("postgresql"):
            store = SqlStore(store_url, max_connections=3)
        else:
            store = make_store(store_url)
        await store.open()
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.close()


@pytest.fixture
async def store(open_store: OpenStore) -> Store:
    return await open_store()


# Helpers

_counter = itertools.count()


def _uid(prefix: str) -> str:
    # Unique across the whole session: the PostgreSQL database is shared by every test.
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def new_board(store: Store, **settings: Any) -> BoardRecord:
    board = BoardRecord(
        id=_uid("board"),
        title="Quartier 2030",
        join_code=uuid.uuid4().hex[:6].upper(),
        created_at=1000.0 + next(_counter),
        settings=settings,
    )
    await store.boards.create_board(board)
    return board


async def new_participant(store: Store, board_id: str, group: str | None = "res") -> str:
    participant = ParticipantRecord(
        id=_uid("p"),
        board_id=board_id,
        name="Awa",
        group=group,
        lang="fr",
        created_at=2000.0 + next(_counter),
    )
    await store.boards.add_participant(participant)
    return participant.id


def batch(n: int, actor: str = "p1", start: int = 0) -> list[NewUpdate]:
    return [NewUpdate(ts=100.0 + i, actor=actor, data=b"u%d" % i) for i in range(start, start + n)]


# Boards and participants


async def test_board_by_id_and_by_code(store: Store) -> None:
    board = await new_board(store, groups=["résident·e", "asso"], budget=5)
    assert await store.boards.get_board(board.id) == board
    assert await store.boards.get_board_by_code(board.join_code) == board
    assert await store.boards.get_board(_uid("missing")) is None
    assert await store.boards.get_board_by_code("NOPE00") is None


async def test_duplicate_join_code_is_refused(store: Store) -> None:
    board = await new_board(store)
    twin = BoardRecord(_uid("board"), "other", board.join_code, 1.0, {})
    with pytest.raises(DuplicateJoinCode):
        await store.boards.create_board(twin)
    assert await store.boards.get_board(twin.id) is None
    # A reused board id is an error too, but not a join-code clash.
    same_id = BoardRecord(board.id, "other", "ZZ" + board.join_code[:4], 1.0, {})
    with pytest.raises(StoreError) as caught:
        await store.boards.create_board(same_id)
    assert not isinstance(caught.value, DuplicateJoinCode)


async def test_update_board_settings(store: Store) -> None:
    board = await new_board(store, budget=3)
    settings = {"budget": 5, "groups": ["bewoner", "habitant·e"], "nested": {"live": True}}
    await store.boards.update_board_settings(board.id, settings)
    settings["budget"] = 99  # the store keeps its own copy
    updated = await store.boards.get_board(board.id)
    assert updated is not None
    assert updated.settings == {
        "budget": 5,
        "groups": ["bewoner", "habitant·e"],
        "nested": {"live": True},
    }
    assert (updated.title, updated.join_code) == (board.title, board.join_code)
    with pytest.raises(StoreError):
        await store.boards.update_board_settings(_uid("missing"), {})


async def test_participants(store: Store) -> None:
    board = await new_board(store)
    other = await new_board(store)
    first = await new_participant(store, board.id, group="résident·e")
    second = await new_participant(store, board.id, group=None)
    await new_participant(store, other.id)

    got = await store.boards.get_participant(second)
    assert got is not None
    assert (got.board_id, got.group, got.lang, got.name) == (board.id, None, "fr", "Awa")
    assert [p.id for p in await store.boards.list_participants(board.id)] == [first, second]
    assert await store.boards.get_participant(_uid("missing")) is None
    assert await store.boards.list_participants(_uid("missing")) == []

    with pytest.raises(StoreError):  # unknown board
        await store.boards.add_participant(
            ParticipantRecord(_uid("p"), _uid("b"), "x", None, None, 1.0)
        )
    with pytest.raises(StoreError):  # id taken
        await store.boards.add_participant(ParticipantRecord(first, board.id, "x", None, None, 1.0))


# The update log


async def test_append_keeps_order_and_seqs_increase(store: Store) -> None:
    board = await new_board(store)
    other = await new_board(store)
    first = await store.log.append_updates(board.id, batch(5))
    between = await store.log.append_updates(other.id, batch(2))
    second = await store.log.append_updates(board.id, batch(3, actor="facilitator", start=5))

    assert len(first) == 5 and len(second) == 3
    # Store-wide: one increasing sequence across boards.
    assert first + between + second == sorted(set(first + between + second))
    snapshot, log = await store.log.load(board.id)
    assert snapshot is None
    assert log == [
        UpdateRecord(seq, 100.0 + i, "p1" if i < 5 else "facilitator", b"u%d" % i)
        for i, seq in enumerate(first + second)
    ]
    assert [u.seq for u in (await store.log.load(other.id))[1]] == between
    assert await store.log.append_updates(board.id, []) == []


async def test_a_large_batch_keeps_its_order(store: Store) -> None:
    # More rows than one multi-row INSERT takes (SQLAlchemy's insertmanyvalues pages: 1000 rows).
    board = await new_board(store)
    seqs = await store.log.append_updates(board.id, batch(2500))
    assert seqs == sorted(set(seqs))
    _, log = await store.log.load(board.id)
    assert [(u.seq, u.data) for u in log] == [(seq, b"u%d" % i) for i, seq in enumerate(seqs)]


async def test_a_batch_is_one_transaction_with_few_statements(store: Store) -> None:
    board = await new_board(store)
    commits: list[object] = []
    statements: list[str] = []

    def on_commit(conn: sa.Connection) -> None:
        commits.append(conn)

    def on_statement(conn: sa.Connection, cursor: Any, sql: str, *args: Any) -> None:
        statements.append(sql)

    sa.event.listen(sa.Engine, "commit", on_commit)
    sa.event.listen(sa.Engine, "before_cursor_execute", on_statement)
    try:
        updates = [
            NewUpdate(ts=1.0, actor="p1", data=b"x%d" % i, created_notes=(f"n{i}",))
            for i in range(50)
        ]
        seqs = await store.log.append_updates(board.id, updates)
    finally:
        sa.event.remove(sa.Engine, "commit", on_commit)
        sa.event.remove(sa.Engine, "before_cursor_execute", on_statement)

    assert len(seqs) == 50
    appender = store.db.appender if isinstance(store, SqlStore) else None
    if appender is not None:
        # SQLite files: one call into the log thread, one COMMIT; PostgreSQL: one statement.
        assert (appender.round_trips, appender.commits) == (1, 1)
        assert statements == []
    elif not isinstance(store, MemoryStore):  # nothing to count in memory
        assert len(commits) == 1  # group commit: one per batch, not per update
        # BEGIN or the board lock, the INSERT, the authors: not one per update.
        assert len(statements) <= 3, statements
    assert len(await store.log.note_authors(board.id)) == 50


async def test_load_is_latest_snapshot_plus_tail(store: Store) -> None:
    board = await new_board(store)
    seqs = await store.log.append_updates(board.id, batch(3))
    await store.log.save_snapshot(board.id, SnapshotRecord(seqs[1], 5.0, b"state-2"))
    seqs += await store.log.append_updates(board.id, batch(2, start=3))
    # An older keyframe saved later does not win: the latest is the highest seq.
    await store.log.save_snapshot(board.id, SnapshotRecord(seqs[0], 4.0, b"state-1"))
    # Saving the same keyframe again is harmless.
    await store.log.save_snapshot(board.id, SnapshotRecord(seqs[1], 5.0, b"state-2"))

    snapshot, tail = await store.log.load(board.id)
    assert snapshot == SnapshotRecord(seqs[1], 5.0, b"state-2")
    assert [u.seq for u in tail] == seqs[2:]
    assert [u.data for u in tail] == [b"u2", b"u3", b"u4"]

    await store.log.save_snapshot(board.id, SnapshotRecord(seqs[-1], 6.0, b"state-5"))
    assert await store.log.load(board.id) == (SnapshotRecord(seqs[-1], 6.0, b"state-5"), [])
    assert await store.log.load(_uid("missing")) == (None, [])


async def test_load_until_a_time_is_the_state_then(store: Store) -> None:
    board = await new_board(store)
    times = [10.0, 20.0, 30.0, 40.0]
    seqs = []
    for i, ts in enumerate(times):
        seqs += await store.log.append_updates(board.id, [NewUpdate(ts, "p1", f"u{i}".encode())])
    # A keyframe covering u0..u1, written at t=25.
    await store.log.save_snapshot(board.id, SnapshotRecord(seqs[1], 25.0, b"k1"))
    assert await store.log.load(board.id, until_ts=5.0) == (None, [])
    snapshot, tail = await store.log.load(board.id, until_ts=20.0)
    assert snapshot is None and [u.data for u in tail] == [b"u0", b"u1"]  # keyframe is newer
    snapshot, tail = await store.log.load(board.id, until_ts=35.0)
    assert snapshot is not None and snapshot.state == b"k1"
    assert [u.data for u in tail] == [b"u2"]
    snapshot, tail = await store.log.load(board.id, until_ts=1e12)
    assert snapshot is not None and [u.data for u in tail] == [b"u2", b"u3"]


async def test_note_authors(store: Store) -> None:
    board = await new_board(store)
    other = await new_board(store)
    await store.log.append_updates(
        board.id,
        [
            NewUpdate(1.0, "p1", b"a", created_notes=("n1", "n2")),
            NewUpdate(2.0, "p2", b"b"),
            NewUpdate(3.0, "p2", b"c", created_notes=("n3", "n1")),  # n1 again: first author wins
        ],
    )
    await store.log.append_updates(board.id, [NewUpdate(4.0, "p3", b"d", created_notes=("n2",))])
    await store.log.append_updates(other.id, [NewUpdate(5.0, "p9", b"e", created_notes=("n1",))])
    assert await store.log.note_authors(board.id) == {"n1": "p1", "n2": "p1", "n3": "p2"}
    assert await store.log.note_authors(other.id) == {"n1": "p9"}
    assert await store.log.note_authors(_uid("missing")) == {}


async def test_updates_after(store: Store) -> None:
    board = await new_board(store)
    seqs = await store.log.append_updates(board.id, batch(6))
    assert [u.seq for u in await store.log.updates_after(board.id, 0)] == seqs
    assert [u.seq for u in await store.log.updates_after(board.id, seqs[2])] == seqs[3:]
    assert [u.seq for u in await store.log.updates_after(board.id, seqs[0], limit=2)] == seqs[1:3]
    assert await store.log.updates_after(board.id, seqs[-1]) == []
    assert await store.log.updates_after(board.id, 0, limit=0) == []


async def test_concurrent_appends_from_two_handles(open_store: OpenStore) -> None:
    handles = [await open_store(), await open_store()]
    board = await new_board(handles[0])
    results = await asyncio.gather(
        *(
            handles[i % 2].log.append_updates(board.id, batch(3, actor=f"p{i}", start=3 * i))
            for i in range(20)
        )
    )
    seqs = [seq for result in results for seq in result]
    assert len(set(seqs)) == 60
    assert all(result == sorted(result) for result in results)
    _, log = await handles[1].log.load(board.id)
    assert [u.seq for u in log] == sorted(seqs)
    # Each batch's updates stay in their order, under their seqs.
    by_seq = {u.seq: u.data for u in log}
    for i, result in enumerate(results):
        assert [by_seq[seq] for seq in result] == [b"u%d" % j for j in range(3 * i, 3 * i + 3)]


# Votes


async def test_vote_budget_and_max_per_note(store: Store) -> None:
    board = await new_board(store)
    me = await new_participant(store, board.id)

    async def vote(note: str, delta: int = 1) -> VoteTally:
        return await store.ballots.cast_vote(board.id, me, note, delta, budget=3, max_per_note=2)

    assert await vote("a") == VoteTally(mine=1, remaining=2)
    assert await vote("a") == VoteTally(mine=2, remaining=1)
    with pytest.raises(VoteRefused) as refused:
        await vote("a")
    assert refused.value.code == "max_per_note"
    assert await vote("b") == VoteTally(mine=1, remaining=0)
    with pytest.raises(VoteRefused) as refused:
        await vote("c")
    assert refused.value.code == "budget"
    assert await store.ballots.votes_of(board.id, me) == {"a": 2, "b": 1}


async def test_vote_take_back_and_none_to_remove(store: Store) -> None:
    board = await new_board(store)
    me = await new_participant(store, board.id)
    other = await new_participant(store, board.id)

    async def vote(who: str, note: str, delta: int) -> VoteTally:
        return await store.ballots.cast_vote(board.id, who, note, delta, budget=2, max_per_note=2)

    with pytest.raises(VoteRefused) as refused:
        await vote(me, "a", -1)
    assert refused.value.code == "none_to_remove"
    await vote(me, "a", 1)
    await vote(me, "b", 1)
    await vote(other, "a", 1)
    assert await vote(me, "b", -1) == VoteTally(mine=0, remaining=1)
    with pytest.raises(VoteRefused) as refused:
        await vote(me, "b", -1)
    assert refused.value.code == "none_to_remove"
    # The dot taken back can be spent again.
    assert await vote(me, "a", 1) == VoteTally(mine=2, remaining=0)

    assert await store.ballots.votes_of(board.id, me) == {"a": 2}
    assert sorted(
        await store.ballots.all_votes(board.id), key=lambda v: v.participant_id
    ) == sorted([VoteRecord(me, "a", 2), VoteRecord(other, "a", 1)], key=lambda v: v.participant_id)


async def test_lowered_budget_refuses_more_but_allows_taking_back(store: Store) -> None:
    board = await new_board(store)
    me = await new_participant(store, board.id)
    for note in "abc":
        await store.ballots.cast_vote(board.id, me, note, 1, budget=3, max_per_note=1)
    with pytest.raises(VoteRefused) as refused:
        await store.ballots.cast_vote(board.id, me, "d", 1, budget=2, max_per_note=1)
    assert refused.value.code == "budget"
    tally = await store.ballots.cast_vote(board.id, me, "a", -1, budget=2, max_per_note=1)
    assert tally == VoteTally(mine=0, remaining=0)


async def test_vote_needs_a_participant_of_the_board(store: Store) -> None:
    board = await new_board(store)
    elsewhere = await new_participant(store, (await new_board(store)).id)
    for who in (_uid("ghost"), elsewhere):
        with pytest.raises(StoreError):
            await store.ballots.cast_vote(board.id, who, "a", 1, budget=3, max_per_note=1)
    assert await store.ballots.all_votes(board.id) == []


async def test_concurrent_votes_never_exceed_the_budget(open_store: OpenStore) -> None:
    # Three handles = three engines: real concurrent sessions racing on the same participant.
    handles = [await open_store() for _ in range(3)]
    board = await new_board(handles[0])
    me = await new_participant(handles[0], board.id)

    results = await asyncio.gather(
        *(
            handles[i % 3].ballots.cast_vote(board.id, me, f"note-{i}", 1, budget=3, max_per_note=1)
            for i in range(50)
        ),
        return_exceptions=True,
    )
    tallies = [r for r in results if isinstance(r, VoteTally)]
    refusals = [r for r in results if isinstance(r, VoteRefused)]
    assert len(tallies) == 3 and len(refusals) == 47, results
    assert {r.code for r in refusals} == {"budget"}
    assert sorted(t.remaining for t in tallies) == [0, 1, 2]
    assert sum((await handles[2].ballots.votes_of(board.id, me)).values()) == 3


async def test_concurrent_votes_never_exceed_max_per_note(open_store: OpenStore) -> None:
    handles = [await open_store() for _ in range(3)]
    board = await new_board(handles[0])
    me = await new_participant(handles[0], board.id)

    results = await asyncio.gather(
        *(
            handles[i % 3].ballots.cast_vote(board.id, me, "same", 1, budget=10, max_per_note=2)
            for i in range(30)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, VoteTally) for r in results) == 2, results
    assert {r.code for r in results if isinstance(r, VoteRefused)} == {"max_per_note"}
    assert await handles[1].ballots.votes_of(board.id, me) == {"same": 2}


# "I disagree" marks


async def test_marks_one_per_note_budget_and_take_back(store: Store) -> None:
    board = await new_board(store)
    me = await new_participant(store, board.id)
    other = await new_participant(store, board.id)

    async def mark(note: str, delta: int = 1, who: str = me) -> VoteTally:
        return await store.ballots.cast_mark(board.id, who, note, delta, budget=2)

    assert await mark("a") == VoteTally(mine=1, remaining=1)
    with pytest.raises(VoteRefused) as refused:
        await mark("a")
    assert refused.value.code == "disagree_once"
    assert await mark("b") == VoteTally(mine=1, remaining=0)
    with pytest.raises(VoteRefused) as refused:
        await mark("c")
    assert refused.value.code == "disagree_budget"
    with pytest.raises(VoteRefused) as refused:
        await mark("c", -1)
    assert refused.value.code == "no_mark_to_remove"
    assert await mark("a", -1) == VoteTally(mine=0, remaining=1)
    assert await mark("c") == VoteTally(mine=1, remaining=0)
    assert await mark("a", who=other) == VoteTally(mine=1, remaining=1)  # a budget per person
    assert await store.ballots.marks_of(board.id, me) == ["b", "c"]
    assert await store.ballots.all_marks(board.id) == sorted(
        [MarkRecord(me, "b"), MarkRecord(me, "c"), MarkRecord(other, "a")],
        key=lambda m: (m.participant_id, m.note_id),
    )
    # Marks are not dots: the dot budget is untouched.
    assert await store.ballots.votes_of(board.id, me) == {}


async def test_no_dot_and_mark_on_the_same_note(store: Store) -> None:
    board = await new_board(store)
    me = await new_participant(store, board.id)
    await store.ballots.cast_vote(board.id, me, "a", 1, budget=3, max_per_note=3)
    with pytest.raises(VoteRefused) as refused:
        await store.ballots.cast_mark(board.id, me, "a", 1, budget=2)
    assert refused.value.code == "stance_conflict"
    await store.ballots.cast_mark(board.id, me, "b", 1, budget=2)
    with pytest.raises(VoteRefused) as refused:
        await store.ballots.cast_vote(board.id, me, "b", 1, budget=3, max_per_note=3)
    assert refused.value.code == "stance_conflict"
    # Taking either back stays possible.
    assert await store.ballots.cast_vote(board.id, me, "a", -1, 3, 3) == VoteTally(
        mine=0, remaining=3
    )
    assert await store.ballots.cast_mark(board.id, me, "b", -1, 2) == VoteTally(mine=0, remaining=2)


async def test_a_mark_needs_a_participant_of_the_board(store: Store) -> None:
    board = await new_board(store)
    elsewhere = await new_participant(store, (await new_board(store)).id)
    for who in (_uid("ghost"), elsewhere):
        with pytest.raises(StoreError):
            await store.ballots.cast_mark(board.id, who, "a", 1, budget=2)
    assert await store.ballots.all_marks(board.id) == []


async def test_concurrent_marks_never_exceed_the_budget_or_one_per_note(
    open_store: OpenStore,
) -> None:
    # Three handles = three engines racing on one participant: 40 marks on 20 notes (each note
    # twice, interleaved with take-backs of notes never marked), budget 2.
    handles = [await open_store() for _ in range(3)]
    board = await new_board(handles[0])
    me = await new_participant(handles[0], board.id)

    calls = []
    for i in range(60):
        # Every third call takes back a mark from a note nobody marks ("gone-…"): a take-back of
        # a marked note could empty the budget again, and the final count would depend on order.
        take_back = i % 3 == 2
        note = f"gone-{i}" if take_back else f"note-{i % 20}"
        calls.append(
            handles[i % 3].ballots.cast_mark(board.id, me, note, -1 if take_back else 1, budget=2)
        )
    results = await asyncio.gather(*calls, return_exceptions=True)
    tallies = [r for r in results if isinstance(r, VoteTally)]
    refusals = [r for r in results if isinstance(r, VoteRefused)]
    assert len(tallies) + len(refusals) == 60, results
    marked = await handles[2].ballots.marks_of(board.id, me)
    # Whatever the interleaving: never more than the budget, never two marks on one note, and
    # what the store holds is what the accepted calls add up to.
    assert len(marked) <= 2 and len(set(marked)) == len(marked)
    assert sum(1 if i % 3 != 2 else -1 for i, _ in _accepted(results)) == len(marked)
    assert len(marked) == 2  # 40 casts on free notes: the budget fills
    assert {r.code for r in refusals} <= {"disagree_budget", "disagree_once", "no_mark_to_remove"}
    assert any(r.code == "disagree_budget" for r in refusals)


def _accepted(results: Sequence[object]) -> list[tuple[int, VoteTally]]:
    return [(i, r) for i, r in enumerate(results) if isinstance(r, VoteTally)]


# Construction and migrations (not per backend)


def test_make_store_picks_the_implementation() -> None:
    assert isinstance(make_store("memory://"), MemoryStore)
    assert isinstance(make_store(None), SqlStore)
    assert isinstance(make_store("sqlite+aiosqlite:///x.db"), SqlStore)


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgres://u:p@db:5432/cobord", "postgresql+asyncpg"),
        ("postgresql://u:p@db/cobord", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@db/cobord", "postgresql+asyncpg"),
        ("sqlite:///./cobord.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///./cobord.db", "sqlite+aiosqlite"),
    ],
)
def test_urls_get_the_async_driver(url: str, driver: str) -> None:
    normalized = normalize_url(url)
    assert normalized.drivername == driver
    assert normalized.database == sa.make_url(url).database


async def test_upgrade_then_open_and_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'upgraded.db'}"
    await upgrade(url)
    await upgrade(url)  # at head already: nothing to do
    for _ in range(2):  # open() upgrades again, harmlessly, and data survives reopening
        store = SqlStore(url)
        await store.open()
        with contextlib.suppress(DuplicateJoinCode):
            await store.boards.create_board(BoardRecord("b", "t", "CODE42", 1.0, {}))
        assert await store.boards.get_board_by_code("CODE42") is not None
        await store.close()


# Property: a keyframe plus its tail is the same document as the whole log

NOTE_IDS = ["n1", "n2", "n3"]
ops = st.one_of(
    st.tuples(st.just("put"), st.sampled_from(NOTE_IDS), st.text(max_size=8)),
    st.tuples(st.just("edit"), st.sampled_from(NOTE_IDS), st.text(max_size=8)),
    st.tuples(st.just("cluster"), st.sampled_from(NOTE_IDS), st.sampled_from(["c1", "c2", ""])),
    st.tuples(st.just("delete"), st.sampled_from(NOTE_IDS), st.just("")),
)


def _apply(doc: Doc[Any], op: tuple[str, str, str]) -> bytes:
    """Make one change on `doc`, return it as a v1 update."""
    kind, note_id, value = op
    notes = doc.get("notes", type=Map)
    before = doc.get_state()
    with doc.transaction():
        if kind == "put":
            notes[note_id] = Map({"text": value, "cluster": None})
        elif kind == "delete" and note_id in notes:
            del notes[note_id]
        elif note_id in notes:
            notes[note_id]["text" if kind == "edit" else "cluster"] = value or None
    return doc.get_update(before)


def _notes(*updates: bytes) -> dict[str, Any]:
    doc: Doc[Any] = Doc()
    notes = doc.get("notes", type=Map)
    for update in updates:
        doc.apply_update(update)
    return notes.to_py() or {}


async def _snapshot_plus_tail(
    changes: list[bytes], split: int, batch_size: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    store = MemoryStore()
    await store.open()
    seqs: list[int] = []
    for start in range(0, len(changes), batch_size):
        chunk = changes[start : start + batch_size]
        seqs += await store.log.append_updates("b", [NewUpdate(1.0, "p", data) for data in chunk])
    if split:
        keyframe: Doc[Any] = Doc()
        for data in changes[:split]:
            keyframe.apply_update(data)
        await store.log.save_snapshot(
            "b", SnapshotRecord(seqs[split - 1], 2.0, keyframe.get_update())
        )
    snapshot, tail = await store.log.load("b")
    loaded = _notes(*([snapshot.state] if snapshot else []), *(u.data for u in tail))
    replayed = _notes(*(u.data for u in await store.log.updates_after("b", 0)))
    await store.close()
    return loaded, replayed


@settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    changes=st.lists(ops, min_size=1, max_size=25),
    split_at=st.floats(min_value=0, max_value=1),
    batch_size=st.integers(min_value=1, max_value=5),
)
def test_snapshot_plus_tail_equals_full_replay(
    changes: list[tuple[str, str, str]], split_at: float, batch_size: int
) -> None:
    source: Doc[Any] = Doc()
    updates = [_apply(source, op) for op in changes]
    split = round(split_at * len(updates))
    loaded, replayed = asyncio.run(_snapshot_plus_tail(updates, split, batch_size))
    assert loaded == replayed == (source.get("notes", type=Map).to_py() or {})


# Replay and history


async def test_load_until_seq_is_the_keyframe_at_or_before_plus_the_interval(store: Store) -> None:
    board = await new_board(store)
    other = await new_board(store)
    seqs = await store.log.append_updates(board.id, batch(6))
    await store.log.append_updates(other.id, batch(2))  # interleaved seqs of another board
    seqs += await store.log.append_updates(board.id, batch(2, start=6))
    await store.log.save_snapshot(board.id, SnapshotRecord(seqs[2], 5.0, b"k3"))
    await store.log.save_snapshot(board.id, SnapshotRecord(seqs[5], 6.0, b"k6"))
    assert await store.log.load_until_seq(board.id, 0) == (None, [])
    snapshot, tail = await store.log.load_until_seq(board.id, seqs[1])
    assert snapshot is None and [u.data for u in tail] == [b"u0", b"u1"]
    snapshot, tail = await store.log.load_until_seq(board.id, seqs[2])
    assert snapshot == SnapshotRecord(seqs[2], 5.0, b"k3") and tail == []
    snapshot, tail = await store.log.load_until_seq(board.id, seqs[4])
    assert snapshot is not None and snapshot.state == b"k3"
    assert [u.data for u in tail] == [b"u3", b"u4"]
    snapshot, tail = await store.log.load_until_seq(board.id, seqs[7])
    assert snapshot is not None and snapshot.state == b"k6"
    assert [u.data for u in tail] == [b"u6", b"u7"]
    # A seq between two of this board's (another board's) picks the updates before it.
    snapshot, tail = await store.log.load_until_seq(board.id, seqs[6] - 1)
    assert snapshot is not None and snapshot.state == b"k6" and tail == []


async def test_log_summary(store: Store) -> None:
    board = await new_board(store)
    assert await store.log.log_summary(board.id) == LogSummary(0, 0, None, 0, None)
    seqs = await store.log.append_updates(board.id, batch(4))
    assert await store.log.log_summary(board.id) == LogSummary(4, seqs[0], 100.0, seqs[-1], 103.0)


def _event(seq: int, idx: int, kind: str = "moved") -> EventRecord:
    return EventRecord(seq, idx, float(seq), kind, "p1", f"n{seq}")


async def test_events_are_stored_once_behind_a_cursor(store: Store) -> None:
    board = await new_board(store)
    assert await store.events.event_cursor(board.id) == 0
    first = [_event(1, 0, "note_added"), _event(1, 1), _event(3, 0, "phase_changed")]
    assert await store.events.save_events(board.id, 0, 3, first)
    assert await store.events.event_cursor(board.id) == 3
    # A second writer that read the old cursor is refused and stores nothing.
    assert not await store.events.save_events(board.id, 0, 3, first)
    assert await store.events.save_events(
        board.id, 3, 9, [_event(5, 0), _event(9, 0, "phase_changed")]
    )
    assert not await store.events.save_events(_uid("missing"), 0, 1, [_event(1, 0)])
    everything = await store.events.events_after(board.id, 0, 100)
    assert [(e.seq, e.idx) for e in everything] == [(1, 0), (1, 1), (3, 0), (5, 0), (9, 0)]
    assert everything[0] == EventRecord(1, 0, 1.0, "note_added", "p1", "n1")
    assert [(e.seq, e.idx) for e in await store.events.events_after(board.id, 1, 2)] == [
        (3, 0),
        (5, 0),
    ]
    phases = await store.events.events_after(board.id, 0, 10, kinds=["phase_changed"])
    assert [e.seq for e in phases] == [3, 9]


async def test_idle_boards(store: Store) -> None:
    old = await new_board(store)  # created_at ~1000
    active = await new_board(store)
    await store.log.append_updates(active.id, [NewUpdate(5000.0, "p1", b"x")])
    quiet = await new_board(store)
    await store.log.append_updates(quiet.id, [NewUpdate(3000.0, "p1", b"x")])
    idle = await store.boards.idle_boards(4000.0)
    assert old.id in idle and quiet.id in idle and active.id not in idle


async def _rows_of(store: Store, board_id: str) -> dict[str, int]:
    """Rows mentioning the board in every table (SQL: read the tables themselves)."""
    if isinstance(store, SqlStore):
        from server.store import tables

        counts = {}
        assert store.db.engine is not None
        async with store.db.engine.connect() as conn:
            for table in tables.metadata.sorted_tables:
                column = table.c.id if table.name == "boards" else table.c.board_id
                query = sa.select(sa.func.count()).select_from(table).where(column == board_id)
                counts[table.name] = int((await conn.execute(query)).scalar_one())
        return counts
    assert isinstance(store, MemoryStore)
    return {
        name: int(
            board_id in getattr(store.tables, name)
            or any(isinstance(k, tuple) and k[0] == board_id for k in getattr(store.tables, name))
        )
        for name in (
            "boards",
            "updates",
            "snapshots",
            "authors",
            "votes",
            "marks",
            "events",
            "media",
            "hidden",
            "flags",
            "explainers",
        )
    } | {"participants": sum(p.board_id == board_id for p in store.tables.participants.values())}


async def test_delete_board_empties_every_table(store: Store) -> None:
    board = await new_board(store, budget=3)
    keep = await new_board(store)
    pid = await new_participant(store, board.id)
    kept_pid = await new_participant(store, keep.id)
    for b, p in ((board, pid), (keep, kept_pid)):
        seqs = await store.log.append_updates(
            b.id, [NewUpdate(1.0, p, b"u", created_notes=("n1",))]
        )
        await store.log.save_snapshot(b.id, SnapshotRecord(seqs[0], 1.0, b"k"))
        await store.ballots.cast_vote(b.id, p, "n1", 1, 3, 3)
        await store.ballots.cast_mark(b.id, p, "n2", 1, 2)
        assert await store.events.save_events(b.id, 0, seqs[0], [_event(seqs[0], 0)])
        await store.media.put_media(
            MediaRecord(f"m-{b.id}", b.id, "photo", "image/jpeg", b"\xff\xd8", p, 1.0)
        )
        await store.moderation.put_hidden_note(
            HiddenNoteRecord(b.id, "n2", p, {"text": "x"}, "", 1.0)
        )
        await store.glossary.flag_term(b.id, "t1", p, 10)
        await store.glossary.claim_explanation(b.id, "t1", "nl", p)
    before = await _rows_of(store, board.id)
    assert all(before.values()), before  # the check below can fail: every table held the board
    assert await store.boards.delete_board(board.id)
    assert set((await _rows_of(store, board.id)).values()) == {0}
    assert await store.boards.get_board(board.id) is None
    assert await store.boards.get_board_by_code(board.join_code) is None
    assert await store.boards.get_participant(pid) is None
    assert not await store.boards.delete_board(board.id)
    # The other board is untouched.
    assert all((await _rows_of(store, keep.id)).values())
    assert await store.ballots.votes_of(keep.id, kept_pid) == {"n1": 1}


async def test_glossary_flags_count_a_person_once_within_the_board_bound(store: Store) -> None:
    board, other = await new_board(store), await new_board(store)
    glossary = store.glossary
    assert await glossary.flag_term(board.id, "t1", "p1", 3) == (1, True)
    assert await glossary.flag_term(board.id, "t1", "p1", 3) == (1, False)  # once per person
    assert await glossary.flag_term(board.id, "t1", "p2", 3) == (2, True)
    assert await glossary.flag_term(board.id, "t2", "p1", 3) == (1, True)
    with pytest.raises(GlossaryFull):  # the board holds 3 flags: a new one is refused...
        await glossary.flag_term(board.id, "t2", "p2", 3)
    assert await glossary.flag_term(board.id, "t1", "p2", 3) == (2, False)  # ...an old one is not
    assert await glossary.flag_term(other.id, "t1", "p1", 3) == (1, True)  # bound per board
    assert await glossary.term_flags(board.id) == {"t1": 2, "t2": 1}
    with pytest.raises(StoreError):
        await glossary.flag_term("no-such-board", "t1", "p1", 3)


async def test_glossary_explanations_first_come_first_owned(store: Store) -> None:
    board = await new_board(store)
    glossary = store.glossary
    assert await glossary.claim_explanation(board.id, "t1", "nl", "p1") == "p1"
    assert await glossary.claim_explanation(board.id, "t1", "nl", "p2") == "p1"
    assert await glossary.claim_explanation(board.id, "t1", "fr", "p2") == "p2"
    await glossary.release_explanation(board.id, "t1", "nl")
    assert await glossary.claim_explanation(board.id, "t1", "nl", "p2") == "p2"


async def test_revoke_participant_and_replace_the_name(store: Store) -> None:
    board = await new_board(store)
    other = await new_board(store)
    pid = await new_participant(store, board.id)
    assert not await store.boards.revoke_participant(other.id, pid)  # not theirs
    person = await store.boards.get_participant(pid)
    assert person is not None and not person.revoked
    assert await store.boards.revoke_participant(board.id, pid)
    person = await store.boards.get_participant(pid)
    assert person is not None and person.revoked and person.name == "Awa"
    assert await store.boards.revoke_participant(board.id, pid, "[erased]")
    assert [p.name for p in await store.boards.list_participants(board.id)] == ["[erased]"]
    assert not await store.boards.revoke_participant(board.id, _uid("nobody"))


_MEDIA_IDS: dict[str, list[str]] = {}  # board -> media ids put by the erasure fixture


async def _erasure_fixture(store: Store) -> tuple[BoardRecord, BoardRecord, str, str, list[int]]:
    board, other = await new_board(store), await new_board(store)
    pid, keep = await new_participant(store, board.id), await new_participant(store, board.id)
    seqs = await store.log.append_updates(
        board.id, [NewUpdate(1.0, pid, b"a-NAME-b"), NewUpdate(2.0, pid, b"c")]
    )
    await store.log.save_snapshot(board.id, SnapshotRecord(seqs[0], 1.0, b"k-NAME"))
    await store.log.append_updates(other.id, [NewUpdate(1.0, "p", b"NAME")])
    for who in (pid, keep):
        item = dataclasses.replace(_media(board.id), actor=who)
        await store.media.put_media(item)
        _MEDIA_IDS.setdefault(board.id, []).append(item.id)
        fields = {"text": "x", "author": "Awa"}
        await store.moderation.put_hidden_note(
            HiddenNoteRecord(board.id, f"h-{who}", who, fields, "", 1.0)
        )
        await store.glossary.flag_term(board.id, "t1", who, 10)
        await store.glossary.claim_explanation(board.id, f"t-{who}", "nl", who)
    return board, other, pid, keep, seqs


async def _erasure_view(store: Store, board: BoardRecord, other: BoardRecord) -> Any:
    snapshot, _ = await store.log.load_until_seq(board.id, 10**12)
    return (
        [u.data for u in await store.log.updates_after(board.id, 0)],
        snapshot,
        [u.data for u in await store.log.updates_after(other.id, 0)],
        sorted((p.id, p.name, p.revoked) for p in await store.boards.list_participants(board.id)),
        sorted(
            (h.note_id, sorted(h.fields)) for h in await store.moderation.hidden_notes(board.id)
        ),
        await store.glossary.term_flags(board.id),
    )


async def test_erase_participant_rewrites_rows_and_erases_their_name_media_hidden_authors(
    store: Store,
) -> None:
    board, other, pid, keep, seqs = await _erasure_fixture(store)
    seen: list[Any] = []

    def rewrite(log: list[UpdateRecord], frames: list[SnapshotRecord]) -> HistoryRewrite:
        seen.append(([u.seq for u in log], [f.seq for f in frames]))
        return HistoryRewrite({seqs[0]: b"a-XX-b"}, {seqs[0]: b"k-XX"})

    counts = await store.privacy.erase_participant(board.id, pid, "[erased]", rewrite)
    assert counts == ErasureCounts(rewritten=2, media=1, hidden_notes=1)
    assert seen == [(seqs, [seqs[0]])]  # the whole log of this board, in seq order
    log, snapshot, other_log, people, hidden, flags = await _erasure_view(store, board, other)
    assert log == [b"a-XX-b", b"c"] and other_log == [b"NAME"]
    # Their "I don't understand" is forgotten; their explanation is nobody's to keep any more.
    assert flags == {"t1": 1}
    owners = store.glossary
    assert await owners.claim_explanation(board.id, f"t-{pid}", "nl", "someone") == "someone"
    assert await owners.claim_explanation(board.id, f"t-{keep}", "nl", "someone") == keep
    assert snapshot is not None and snapshot.state == b"k-XX"
    assert people == sorted([(pid, "[erased]", True), (keep, "Awa", False)])
    assert hidden == sorted([(f"h-{pid}", ["text"]), (f"h-{keep}", ["author", "text"])])
    media_left = [m for m in await _all_media(store, board.id) if m.actor in (pid, keep)]
    assert [m.actor for m in media_left] == [keep]
    with pytest.raises(StoreError):
        await store.privacy.erase_participant(
            other.id, keep, "[erased]", rewrite
        )  # not on that board


async def test_erase_participant_changes_nothing_when_the_rewrite_refuses(store: Store) -> None:
    board, other, pid, _, _ = await _erasure_fixture(store)
    before = await _erasure_view(store, board, other)
    media_before = await _all_media(store, board.id)

    def refuse(log: list[UpdateRecord], frames: list[SnapshotRecord]) -> HistoryRewrite:
        raise RuntimeError("row 3 does not decode")

    with pytest.raises(RuntimeError, match="row 3"):
        await store.privacy.erase_participant(board.id, pid, "[erased]", refuse)
    assert await _erasure_view(store, board, other) == before
    assert await _all_media(store, board.id) == media_before


async def test_a_keyframe_built_from_the_log_never_interleaves_with_an_erasure(
    store: Store,
) -> None:
    board, _, pid, _, seqs = await _erasure_fixture(store)
    started, release = threading.Event(), threading.Event()

    def rewrite(log: list[UpdateRecord], frames: list[SnapshotRecord]) -> HistoryRewrite:
        started.set()
        release.wait(30)
        return HistoryRewrite({seqs[1]: b"c-rewritten"}, {})

    erasing = asyncio.create_task(
        store.privacy.erase_participant(board.id, pid, "[erased]", rewrite)
    )
    assert await asyncio.to_thread(started.wait, 30)
    seen: list[tuple[int | None, list[bytes]]] = []

    def build(previous: SnapshotRecord | None, tail: list[UpdateRecord]) -> SnapshotRecord:
        seen.append((previous.seq if previous else None, [u.data for u in tail]))
        return SnapshotRecord(tail[-1].seq, 3.0, b"built")

    keyframing = asyncio.create_task(store.log.save_keyframe_from_log(board.id, build))
    done, _ = await asyncio.wait({keyframing}, timeout=0.5)
    assert not done and not seen  # it waits for the erasure
    release.set()
    await erasing
    built = await keyframing
    # Built from the rewritten rows: the latest keyframe and the tail after it.
    assert seen == [(seqs[0], [b"c-rewritten"])]
    assert built is not None and built.seq == seqs[1]
    snapshot, tail = await store.log.load(board.id)
    assert snapshot is not None and snapshot.state == b"built" and tail == []


async def _all_media(store: Store, board_id: str) -> list[MediaRecord]:
    found = [await store.media.get_media(board_id, i) for i in _MEDIA_IDS.get(board_id, [])]
    return [m for m in found if m is not None]


async def test_set_join_code(store: Store) -> None:
    board = await new_board(store)
    other = await new_board(store)
    await store.boards.set_join_code(board.id, "ZZZ999")
    assert (await store.boards.get_board_by_code("ZZZ999")) == await store.boards.get_board(
        board.id
    )
    assert await store.boards.get_board_by_code(board.join_code) is None
    with pytest.raises(DuplicateJoinCode):
        await store.boards.set_join_code(board.id, other.join_code)
    with pytest.raises(StoreError):
        await store.boards.set_join_code(_uid("missing"), "YYY888")


# ------------------------------------------------ Media (issue 11: photo and voice notes)


def _media(board_id: str, data: bytes = b"\xff\xd8\xffpicture", kind: str = "photo") -> MediaRecord:
    return MediaRecord(_uid("m"), board_id, kind, "image/jpeg", data, "p1", 5000.0)


async def test_media_round_trip_only_on_its_board(store: Store) -> None:
    board, other = await new_board(store), await new_board(store)
    record = _media(board.id, data=bytes(range(256)) * 4)
    await store.media.put_media(record)
    assert await store.media.get_media(board.id, record.id) == record
    assert await store.media.get_media(other.id, record.id) is None
    assert await store.media.get_media(board.id, "nope") is None


async def test_media_refused_for_unknown_board_or_taken_id(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown board"):
        await store.media.put_media(_media("no-such-board"))
    board = await new_board(store)
    record = _media(board.id)
    await store.media.put_media(record)
    with pytest.raises(StoreError, match="already exists"):
        await store.media.put_media(
            MediaRecord(record.id, board.id, "voice", "audio/ogg", b"x", "p", 1.0)
        )
    assert await store.media.get_media(board.id, record.id) == record


async def test_delete_media_of_board_deletes_only_that_board(store: Store) -> None:
    board, other = await new_board(store), await new_board(store)
    mine = [_media(board.id), _media(board.id, kind="voice")]
    theirs = _media(other.id)
    for record in [*mine, theirs]:
        await store.media.put_media(record)
    assert await store.media.delete_media_of_board(board.id) == 2
    assert [await store.media.get_media(board.id, r.id) for r in mine] == [None, None]
    assert await store.media.get_media(other.id, theirs.id) == theirs
    assert await store.media.delete_media_of_board(board.id) == 0


# ------------------------------------------------ Media quotas and orphans (issue 20, bwrites)


async def test_media_quota_per_participant_and_board_holds_under_concurrency(store: Store) -> None:
    board = await new_board(store)
    quota = MediaQuota(per_participant=3, bytes_per_participant=0, per_board=5)

    def record(actor: str, size: int = 10) -> MediaRecord:
        return MediaRecord(_uid("m"), board.id, "voice", "audio/ogg", b"x" * size, actor, 1.0)

    async def put(actor: str) -> str:
        try:
            await store.media.put_media(record(actor), quota)
            return "ok"
        except MediaQuotaExceeded as exc:
            return f"{exc.scope}:{exc.what}"

    outcomes = await asyncio.gather(*(put("ana") for _ in range(8)))
    assert sorted(outcomes) == ["ok"] * 3 + ["participant:count"] * 5
    outcomes = await asyncio.gather(*(put("bob") for _ in range(3)))
    assert sorted(outcomes) == ["board:count", "ok", "ok"]
    # Bytes: the board's bound counts every uploader's bytes.
    other = await new_board(store)
    by_bytes = MediaQuota(bytes_per_participant=25, bytes_per_board=40)
    await store.media.put_media(
        MediaRecord(_uid("m"), other.id, "voice", "a", b"x" * 20, "ana", 1.0), by_bytes
    )
    with pytest.raises(MediaQuotaExceeded) as refused:
        await store.media.put_media(
            MediaRecord(_uid("m"), other.id, "voice", "a", b"x" * 10, "ana", 1.0), by_bytes
        )
    assert (refused.value.scope, refused.value.what, refused.value.limit) == (
        "participant",
        "bytes",
        25,
    )
    await store.media.put_media(
        MediaRecord(_uid("m"), other.id, "voice", "a", b"x" * 20, "bob", 1.0), by_bytes
    )
    with pytest.raises(MediaQuotaExceeded, match="board media bytes limit 40"):
        await store.media.put_media(
            MediaRecord(_uid("m"), other.id, "voice", "a", b"x", "cy", 1.0), by_bytes
        )


async def test_unattached_media_listed_attached_kept_the_rest_deleted(store: Store) -> None:
    board = await new_board(store)
    old = [MediaRecord(_uid("m"), board.id, "voice", "a", b"x", "ana", 10.0 + i) for i in range(3)]
    new = MediaRecord(_uid("m"), board.id, "voice", "a", b"x", "ana", 100.0)
    for record in [*old, new]:
        await store.media.put_media(record)
    found = [(b, m) for b, m in await store.media.unattached_media(50.0, 100) if b == board.id]
    assert found == [(board.id, r.id) for r in old]  # oldest first, the new one not yet
    await store.media.attach_media(board.id, [old[0].id])
    assert await store.media.delete_unattached_media(board.id, [r.id for r in old]) == 2
    assert await store.media.get_media(board.id, old[0].id) == old[0]
    assert await store.media.get_media(board.id, old[1].id) is None
    assert [m for b, m in await store.media.unattached_media(1000.0, 100) if b == board.id] == [
        new.id
    ]


@pytest.mark.postgres
@pytest.mark.parametrize("cap", [None, 2])
async def test_max_connections_caps_the_pool(pg_url: str, cap: int | None) -> None:
    # Eight queries that overlap (each holds its connection 0.2 s in the server): SQLAlchemy's
    # default pool opens a connection for each; with max_connections the rest wait for one.
    store = SqlStore(pg_url, max_connections=cap)
    await store.open()
    try:
        engine = store.db.engine
        assert engine is not None
        connects = 0

        def count(*_: object) -> None:
            nonlocal connects
            connects += 1

        await engine.dispose()  # the migrations' connection is not part of the burst
        sa.event.listen(engine.sync_engine, "connect", count)

        async def hold() -> None:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT pg_sleep(0.2)"))

        await asyncio.gather(*(hold() for _ in range(8)))
        # The log appender keeps one connection of the budget for itself.
        assert connects == (8 if cap is None else cap - 1)
    finally:
        await store.close()


# The PostgreSQL log appender (server/store/pg_log.py)


async def _pg_conn(pg_url: str) -> Any:
    import asyncpg

    return await asyncpg.connect(pg_url)


@pytest.fixture
async def lone_pg_url(pg_url: str) -> AsyncIterator[str]:
    """A database of its own: no session server appends there (they would draw seqs from the
    same sequence and hold log connections of their own)."""
    base, _, _ = pg_url.rpartition("/")
    name = f"cobord_lone_{uuid.uuid4().hex[:12]}"
    admin = await _pg_conn(f"{base}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{base}/{name}"
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.mark.postgres
async def test_an_append_takes_the_board_lock_before_it_draws_a_seq(lone_pg_url: str) -> None:
    # The reason for the lock: a seq drawn before it could commit after a later seq, and a reader
    # catching up from that later seq would never see it. Another writer holds the board's lock
    # with a seq drawn and not committed: the append must wait without drawing one.
    store = SqlStore(lone_pg_url)
    await store.open()
    other, watcher = await _pg_conn(lone_pg_url), await _pg_conn(lone_pg_url)
    try:
        board = await new_board(store)
        await store.log.append_updates(board.id, batch(1))  # the appender is connected
        held = other.transaction()
        await held.start()
        await other.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", board.id)
        first = await other.fetchval(
            "INSERT INTO updates (board_id, ts, actor, data) VALUES ($1, 1.0, 'x', '\\x00') "
            "RETURNING seq",
            board.id,
        )
        append = asyncio.ensure_future(store.log.append_updates(board.id, batch(3)))
        # Watched from outside the held transaction, which sees one snapshot of pg_stat_activity.
        while not await watcher.fetchval(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = 'cobord-log'"
        ):
            assert not append.done(), append
            await asyncio.sleep(0.01)  # polling the server's lock table: there is no event
        assert await other.fetchval("SELECT last_value FROM updates_seq_seq") == first
        await held.commit()
        seqs = await append
        assert seqs == sorted(seqs) and seqs[0] > first
    finally:
        await other.close()
        await watcher.close()
        await store.close()


@pytest.mark.postgres
async def test_the_appender_reconnects_after_its_connection_is_killed(lone_pg_url: str) -> None:
    store = SqlStore(lone_pg_url)
    await store.open()
    admin = await _pg_conn(lone_pg_url)
    try:
        board = await new_board(store)
        await asyncio.gather(*(store.log.append_updates(board.id, batch(1)) for _ in range(4)))
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'cobord-log' AND datname = current_database()"
        )
        assert killed == 2  # both of its connections were open
        outcomes = await asyncio.gather(
            *(store.log.append_updates(board.id, batch(1)) for _ in range(4)),
            return_exceptions=True,
        )
        # A batch sent on a killed connection fails with the driver's error (the room then closes
        # its clients, who resync): at most the two that took the killed connections. The others
        # reconnect and are stored.
        import asyncpg

        dead = (asyncpg.InternalClientError, asyncpg.InterfaceError, asyncpg.PostgresError)
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(failed) <= 2 and all(isinstance(o, dead) for o in failed), outcomes
        stored = [o for o in outcomes if isinstance(o, list)]
        assert len(stored) == 4 - len(failed) and all(len(o) == 1 for o in stored)
        seqs = await store.log.append_updates(board.id, batch(2))
        assert len(seqs) == 2
        _, log = await store.log.load(board.id)
        assert [u.seq for u in log][-2:] == seqs
    finally:
        await admin.close()
        await store.close()
