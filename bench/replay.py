"""Replay at scale: a simulated 4-hour session of 50,000 updates from 40 participants.

    .venv/bin/python bench/replay.py [--updates 50000] [--participants 40] [--seeks 200]
        [--keyframe-every 500] [--backends sqlite,postgres] [--out FILE]

Each participant has its own pycrdt doc (its own Yjs client id) kept in step with the board: the
mix is 15 % new notes, 35 % moves, 30 % text edits, 12 % clustering, 5 % clusters created or
renamed, and the facilitator's phase changes; timestamps are spread over 4 hours. The log is
appended in group commits of 1-8 updates, and a keyframe is written every `--keyframe-every`
updates (the server's default, COBORD_SNAPSHOT_EVERY=500), as the rooms do.

Measured server side, in process, through the same code the API runs (`SqlStore` +
`crdt.replay`), on SQLite (a file) and PostgreSQL (a fresh database on 127.0.0.1:5432):
  seek        200 random seqs: `load_until_seq` + `state_parts` (GET replay/state?seq=&form=parts,
              what the replay view asks for: the keyframe as stored + the merged tail); baseline
              in the same run: `state_at`, the single merged update (form=update);
  timeline    `log_summary` + the phase events (GET replay);
  events      one page of 200 events after a random seq (GET replay/events), once decoded;
  decode      the one-off decoding of the whole log into events (the first GET of the feed);
  storage     bytes per 1,000 updates: the updates' data, and the updates table with its index
              (SQLite: dbstat; PostgreSQL: pg_total_relation_size), keyframes apart.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from pycrdt import Doc, Map

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crdt import replay  # noqa: E402
from server.events import DECODE_CHUNK  # noqa: E402
from server.store.base import BoardRecord, EventRecord  # noqa: E402
from server.store.log import NewUpdate, SnapshotRecord  # noqa: E402
from server.store.sql import SqlStore  # noqa: E402

BOARD = "bench-board"
HOURS = 4


def simulate(updates: int, participants: int, seed: int = 7) -> list[tuple[float, str, bytes]]:
    """(ts, actor, update) in log order."""
    rng = random.Random(seed)
    board: Doc[Any] = Doc()
    people = [Doc() for _ in range(participants)]
    facilitator: Doc[Any] = Doc()
    start = time.time() - HOURS * 3600
    log: list[tuple[float, str, bytes]] = []
    own: list[list[str]] = [[] for _ in range(participants)]
    clusters: list[str] = []
    phases = ["ideate", "cluster", "vote", "results"]
    phase_at = {int(updates * f) for f in (0.0, 0.4, 0.7, 0.95)}

    captured: list[bytes] = []
    capturing = [False]

    def on_transaction(event: Any) -> None:
        # A client's update is its transaction's own diff (with only that transaction's deletes),
        # as a Yjs client sends it; `get_update(sv)` would carry the doc's whole delete set.
        if capturing[0]:
            captured.append(event.update)

    for doc in (*people, facilitator):
        doc.observe(on_transaction)

    seen: dict[int, int] = {}  # participant doc -> how much of the log it has applied

    def commit(doc: Doc[Any], actor: str, change: Any) -> None:
        # Catch up with what the others sent, update by update, as a client receives them
        # (`board.get_update(sv)` would re-encode the board's whole delete set every time).
        for _, _, data in log[seen.get(id(doc), 0) :]:
            doc.apply_update(data)
        seen[id(doc)] = len(log)
        captured.clear()
        capturing[0] = True
        try:
            with doc.transaction():
                change(doc)
        finally:
            capturing[0] = False
        if not captured:
            return  # nothing changed (a note deleted meanwhile)
        update = captured[0]
        board.apply_update(update)
        ts = start + HOURS * 3600 * len(log) / updates
        log.append((ts, actor, update))
        seen[id(doc)] = len(log)  # its own update is in its doc already

    while len(log) < updates:
        if len(log) in phase_at:
            phase = phases[sorted(phase_at).index(len(log))]
            commit(
                facilitator,
                "facilitator",
                lambda d, p=phase: d.get("meta", type=Map).__setitem__("phase", p),
            )
            continue
        i = rng.randrange(participants)
        doc = people[i]
        roll = rng.random()
        all_notes = [n for ids in own for n in ids]
        if roll < 0.15 or not own[i]:
            note_id = uuid.uuid4().hex[:12]
            own[i].append(note_id)
            text = " ".join(
                rng.choice(["parc", "banc", "vélo", "fietspad", "school", "repair", "café"])
                for _ in range(rng.randint(2, 9))
            )

            def add(d: Doc[Any], note_id: str = note_id, text: str = text, i: int = i) -> None:
                d.get("notes", type=Map)[note_id] = Map(
                    {
                        "text": text,
                        "x": rng.uniform(0, 4000),
                        "y": rng.uniform(0, 3000),
                        "color": "yellow",
                        "cluster": None,
                        "lang": "fr",
                        "createdAt": 0.0,
                        "author": f"Personne {i}",
                    }
                )

            commit(doc, f"p{i}", add)
        elif roll < 0.50:
            note_id = rng.choice(all_notes)
            commit(
                doc,
                f"p{i}",
                lambda d, n=note_id: _set(d, n, x=rng.uniform(0, 4000), y=rng.uniform(0, 3000)),
            )
        elif roll < 0.80:
            note_id = rng.choice(own[i])
            commit(
                doc,
                f"p{i}",
                lambda d, n=note_id: _set(d, n, text=f"idée {rng.randrange(10**6)} révisée"),
            )
        elif roll < 0.92 and clusters:
            note_id = rng.choice(all_notes)
            commit(doc, f"p{i}", lambda d, n=note_id: _set(d, n, cluster=rng.choice(clusters)))
        else:
            if clusters and rng.random() < 0.5:
                cid = rng.choice(clusters)
                commit(
                    doc,
                    f"p{i}",
                    lambda d, c=cid: d.get("clusters", type=Map)[c].__setitem__(
                        "title", f"thème {rng.randrange(999)}"
                    ),
                )
            else:
                cid = uuid.uuid4().hex[:8]
                clusters.append(cid)
                commit(
                    doc,
                    f"p{i}",
                    lambda d, c=cid: d.get("clusters", type=Map).__setitem__(
                        c, Map({"title": "thème", "x": 0.0, "y": 0.0, "color": "blue"})
                    ),
                )
    return log


def _set(doc: Doc[Any], note_id: str, **fields: Any) -> None:
    note = doc.get("notes", type=Map).get(note_id)
    if note is not None:
        for key, value in fields.items():
            note[key] = value


async def fill(store: SqlStore, log: list[tuple[float, str, bytes]], every: int) -> int:
    rng = random.Random(3)
    await store.boards.create_board(BoardRecord(BOARD, "Bench", "BENCH1", log[0][0], {}))
    keyframe: Doc[Any] = Doc()
    since = 0
    frames = 0
    i = 0
    while i < len(log):
        chunk = log[i : i + rng.randint(1, 8)]
        i += len(chunk)
        seqs = await store.log.append_updates(
            BOARD, [NewUpdate(ts, actor, data) for ts, actor, data in chunk]
        )
        for _, _, data in chunk:
            keyframe.apply_update(data)
        since += len(chunk)
        if since >= every:
            await store.log.save_snapshot(
                BOARD, SnapshotRecord(seqs[-1], chunk[-1][0], keyframe.get_update())
            )
            frames += 1
            since = 0
    return frames


async def decode_all(store: SqlStore) -> int:
    """What ReplayApi.decode_events does on the first GET of the feed."""
    cursor = 0
    decoder = replay.EventDecoder()
    total = 0
    while True:
        new = await store.log.updates_after(BOARD, cursor, limit=DECODE_CHUNK)
        if not new:
            return total
        found = [
            EventRecord(e.seq, e.idx, e.ts, e.kind, e.actor, e.target)
            for u in new
            for e in decoder.apply(u.seq, u.ts, u.actor, u.data)
        ]
        assert await store.events.save_events(BOARD, cursor, new[-1].seq, found)
        cursor = new[-1].seq
        total += len(found)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


async def measure(store: SqlStore, seeks: int) -> dict[str, Any]:
    rng = random.Random(11)
    summary = await store.log.log_summary(BOARD)
    seqs = [u.seq for u in await store.log.updates_after(BOARD, 0)]
    targets = [rng.choice(seqs) for _ in range(seeks)]
    seek_ms, read_ms, merged_ms = [], [], []
    for seq in targets:
        started = time.perf_counter()
        keyframe, tail = await store.log.load_until_seq(BOARD, seq)
        read = time.perf_counter()
        replay.encode_parts(
            replay.state_parts(keyframe.state if keyframe else None, (u.data for u in tail))
        )
        done = time.perf_counter()
        seek_ms.append((done - started) * 1000)
        read_ms.append((read - started) * 1000)
    for seq in targets:
        # Baseline in the same run, same seqs: the single merged update (form=update, the old
        # seek: the keyframe decoded and re-encoded with its tail).
        started = time.perf_counter()
        keyframe, tail = await store.log.load_until_seq(BOARD, seq)
        replay.state_at(keyframe.state if keyframe else None, (u.data for u in tail))
        merged_ms.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    events = await decode_all(store)
    decode_s = time.perf_counter() - started
    timeline_ms = []
    for _ in range(50):
        started = time.perf_counter()
        await store.log.log_summary(BOARD)
        await store.events.events_after(BOARD, 0, 1000, kinds=["phase_changed"])
        timeline_ms.append((time.perf_counter() - started) * 1000)
    page_ms = []
    for _ in range(100):
        after = rng.choice(seqs)
        started = time.perf_counter()
        await store.events.events_after(BOARD, after, 201)
        await store.boards.list_participants(BOARD)
        page_ms.append((time.perf_counter() - started) * 1000)
    return {
        "updates": summary.count,
        "events": events,
        "seek_p50_ms": round(statistics.median(seek_ms), 2),
        "seek_p95_ms": round(p95(seek_ms), 2),
        "seek_max_ms": round(max(seek_ms), 2),
        "seek_read_p95_ms": round(p95(read_ms), 2),
        "seek_merged_p95_ms": round(p95(merged_ms), 2),
        "timeline_p95_ms": round(p95(timeline_ms), 2),
        "events_page_p95_ms": round(p95(page_ms), 2),
        "decode_all_s": round(decode_s, 2),
    }


async def storage(store: SqlStore) -> dict[str, Any]:
    assert store.db.engine is not None
    async with store.db.engine.connect() as conn:
        count, data = (
            await conn.execute(
                sa.text("SELECT COUNT(*), SUM(LENGTH(data)) FROM updates WHERE board_id = :b"),
                {"b": BOARD},
            )
        ).one()
        frames, frame_bytes = (
            await conn.execute(
                sa.text("SELECT COUNT(*), SUM(LENGTH(state)) FROM snapshots WHERE board_id = :b"),
                {"b": BOARD},
            )
        ).one()
        if store.dialect == "sqlite":
            table = (
                await conn.execute(
                    sa.text(
                        "SELECT SUM(pgsize) FROM dbstat"
                        " WHERE name IN ('updates', 'ix_updates_board_seq')"
                    )
                )
            ).scalar_one()
        else:
            table = (
                await conn.execute(sa.text("SELECT pg_total_relation_size('updates')"))
            ).scalar_one()
    return {
        "data_bytes_per_1000": round(int(data) / count * 1000),
        "table_bytes_per_1000": round(int(table) / count * 1000),
        "keyframes": int(frames),
        "keyframes_bytes_total": int(frame_bytes or 0),
    }


async def run_backend(
    name: str, log: list[tuple[float, str, bytes]], args: argparse.Namespace
) -> dict[str, Any]:
    cleanup = None
    if name == "sqlite":
        path = args.sqlite_file or f"{tempfile.mkdtemp(prefix='cobord-bench-replay-')}/bench.db"
        if os.path.exists(path):  # noqa: ASYNC240 (once, before anything runs)
            raise SystemExit(f"{path} exists: give a new file")
        url = f"sqlite+aiosqlite:///{path}"
    else:
        db = f"cobord_bench_replay_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        await admin.execute(f'CREATE DATABASE "{db}"')
        await admin.close()
        url = f"postgresql://postgres@127.0.0.1:5432/{db}"

        async def cleanup() -> None:
            admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
            await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            await admin.close()

    store = SqlStore(url)
    await store.open()
    try:
        started = time.perf_counter()
        frames = await fill(store, log, args.keyframe_every)
        fill_s = time.perf_counter() - started
        result = {"backend": name, "fill_s": round(fill_s, 1), "keyframes_written": frames}
        result |= await measure(store, args.seeks)
        result |= await storage(store)
        return result
    finally:
        await store.close()
        if cleanup is not None:
            await cleanup()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=50_000)
    parser.add_argument("--participants", type=int, default=40)
    parser.add_argument("--seeks", type=int, default=200)
    parser.add_argument("--keyframe-every", type=int, default=500)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--out")
    parser.add_argument("--sqlite-file", help="fill this (new) SQLite file, kept afterwards")
    args = parser.parse_args()
    started = time.perf_counter()
    log = simulate(args.updates, args.participants)
    # The simulation's objects (50,000 logged updates, 41 client docs) are not in a server: keep
    # the garbage collector from walking them during the measurements.
    gc.collect()
    gc.freeze()
    print(
        f"simulated {len(log)} updates from {args.participants} participants"
        f" in {time.perf_counter() - started:.1f} s"
    )
    results = []
    for name in args.backends.split(","):
        before = os.getloadavg()
        result = await run_backend(name, log, args)
        result["load_average"] = [round(x, 2) for x in before + os.getloadavg()]
        results.append(result)
        print(json.dumps(result))
    print()
    print(
        f"{'backend':<10} {'seek p95':>9} {'merged p95':>11} {'timeline p95':>13}"
        f" {'events p95':>11} {'decode':>8} {'data/1k':>9} {'table/1k':>9}"
    )
    for r in results:
        print(
            f"{r['backend']:<10} {r['seek_p95_ms']:>6} ms {r['seek_merged_p95_ms']:>8} ms"
            f" {r['timeline_p95_ms']:>10} ms"
            f" {r['events_page_p95_ms']:>8} ms {r['decode_all_s']:>6} s"
            f" {r['data_bytes_per_1000'] / 1024:>6.1f} KiB"
            f" {r['table_bytes_per_1000'] / 1024:>6.1f} KiB"
        )
    if args.out:
        text = json.dumps({"args": vars(args), "results": results}, indent=2) + "\n"
        await asyncio.to_thread(Path(args.out).write_text, text)


if __name__ == "__main__":
    asyncio.run(main())
