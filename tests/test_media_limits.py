"""What one participant's uploads may cost (issue #20): decoding memory, decodes at once, upload
rate, storage quotas per participant and per board (across processes), uploads never attached."""

from __future__ import annotations

import asyncio
import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from pycrdt import Map

from tests.support import poll_until
from tests.test_media import auth, ogg_opus
from tests.yclient import YClient, add_note

ROOT = Path(__file__).resolve().parent.parent


def png_of_zeros(width: int, height: int) -> bytes:
    """An RGBA PNG of `width` x `height` transparent pixels, written row by row (the test never
    holds the pixels): ~150 KB for 6300 x 6300."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    packer = zlib.compressobj(9)
    row = b"\0" + b"\0" * (4 * width)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


MEASURE = """
import json, sys
from server import media

def peak_mb():  # this process's own peak RSS (VmHWM; ru_maxrss would carry the parent's over exec)
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024

data = open(sys.argv[1], "rb").read()
before = peak_mb()
try:
    out = media.process("photo", data)
    outcome = "ok"
except media.MediaRefused as exc:
    outcome = exc.code
print(json.dumps({"outcome": outcome, "grew_mb": peak_mb() - before}))
"""


def peak_growth(path: Path) -> dict[str, Any]:
    """Decode `path` in a fresh interpreter: the outcome and how much its peak RSS grew."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return dict(json.loads(done.stdout))


def test_decoding_a_photo_costs_bounded_memory(tmp_path: Path) -> None:
    """Before the fix: the 154 KB PNG of 6300 x 6300 was decoded whole (peak RSS +470 MB) and a
    6000 x 4000 JPEG at full size, then copied (+217 MB)."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_of_zeros(6300, 6300))
    assert bomb.stat().st_size < 200_000
    measured = peak_growth(bomb)
    assert measured["outcome"] == "too_many_pixels", measured
    assert measured["grew_mb"] < 32, measured

    # A big phone photo is decoded at a reduced scale (draft mode), then shrunk.
    photo = tmp_path / "photo.jpg"
    Image.radial_gradient("L").resize((6000, 4000)).convert("RGB").save(photo, quality=85)
    measured = peak_growth(photo)
    assert measured["outcome"] == "ok", measured
    assert measured["grew_mb"] < 100, measured  # (measured: ~45 MB; the old code: ~217 MB)


def jpeg_with_comment() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), (20, 120, 200)).save(out, format="JPEG", comment=b"HOME 12 RUE X")
    return out.getvalue()


def test_a_jpeg_comment_does_not_survive_re_encoding() -> None:
    """Before the fix the re-encoded bytes still held the COM segment "HOME 12 RUE X"."""
    from server import media

    raw = jpeg_with_comment()
    assert b"HOME 12 RUE X" in raw
    stored = media.process("photo", raw).data
    assert b"HOME 12 RUE X" not in stored
    segments = []
    at = 2
    while at + 4 <= len(stored) and stored[at] == 0xFF and stored[at + 1] != 0xDA:
        segments.append(stored[at + 1])
        at += 2 + int.from_bytes(stored[at + 2 : at + 4], "big")
    assert 0xFE not in segments  # no COM
    assert not any(0xE1 <= m <= 0xEF for m in segments)  # no APP1..APP15 (EXIF, XMP, ICC...)
    assert "comment" not in Image.open(io.BytesIO(stored)).info


def gradient_png(side: int) -> bytes:
    out = io.BytesIO()
    Image.radial_gradient("L").resize((side, side)).save(out, format="PNG")
    return out.getvalue()


async def post(http: httpx.AsyncClient, board_id: str, token: str, kind: str, data: bytes) -> Any:
    return await http.post(
        f"/api/boards/{board_id}/media",
        params={"kind": kind},
        content=data,
        headers={**auth(token), "Content-Type": "application/octet-stream"},
    )


async def metric(http: httpx.AsyncClient, name: str) -> float:
    for line in (await http.get("/metrics")).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_decodes_at_once_are_capped_and_uploads_rate_limited_per_participant(
    make_server: Any,
) -> None:
    """Before the fix six uploads decoded at once (one thread each) and a participant could
    upload without any rate: the 7th quick upload was accepted."""
    server = make_server(
        COBORD_PHOTO_DECODES="2", COBORD_UPLOAD_BURST="6", COBORD_UPLOADS_PER_MINUTE="6"
    )
    board = server.create_board()
    greedy = server.join(board["join_code"], name="Greedy")
    other = server.join(board["join_code"], name="Other")
    picture = gradient_png(2500)
    async with httpx.AsyncClient(base_url=server.http, timeout=120) as http:
        answers = await asyncio.gather(
            *(post(http, board["id"], greedy["token"], "photo", picture) for _ in range(6))
        )
        assert [r.status_code for r in answers] == [201] * 6, [r.text for r in answers]
        assert await metric(http, "cobord_photo_decodes_total") == 6
        assert await metric(http, "cobord_photo_decodes_peak") <= 2
        assert await metric(http, "cobord_photo_decodes_running") == 0
        # The 7th within the minute: refused before any byte is decoded, with when to retry.
        r = await post(http, board["id"], greedy["token"], "photo", picture)
        assert r.status_code == 429
        assert r.json()["error"] == "rate_limited"
        assert int(r.headers["Retry-After"]) >= 1
        assert await metric(http, "cobord_photo_decodes_total") == 6
        # Someone else on the same board (same address) is not refused for it.
        r = await post(http, board["id"], other["token"], "voice", ogg_opus(3))
        assert r.status_code == 201, r.text


async def test_media_quotas_hold_across_processes(make_server: Any, pg_url: str) -> None:
    """Before the fix there was no quota: all 10 uploads of one participant were kept, and the
    board took everything."""
    from tests.test_fanout import REDIS_URL, redis_or_skip

    await redis_or_skip()
    env = {
        "REDIS_URL": REDIS_URL,
        "COBORD_MEDIA_PER_PARTICIPANT": "3",
        "COBORD_MEDIA_PER_BOARD": "5",
        "COBORD_UPLOAD_BURST": "100",
        "COBORD_UPLOADS_PER_MINUTE": "600",
    }
    first = make_server(database_url=pg_url, **env)
    second = make_server(database_url=pg_url, **env)
    board = first.create_board()
    ana = first.join(board["join_code"], name="Ana")
    bob = first.join(board["join_code"], name="Bob")
    voice = ogg_opus(3)
    async with (
        httpx.AsyncClient(base_url=first.http) as one,
        httpx.AsyncClient(base_url=second.http) as other,
    ):
        answers = await asyncio.gather(
            *(
                post((one, other)[i % 2], board["id"], ana["token"], "voice", voice)
                for i in range(10)
            )
        )
        codes = sorted(r.status_code for r in answers)
        assert codes == [201] * 3 + [413] * 7, [r.text for r in answers]
        refused = next(r for r in answers if r.status_code == 413)
        assert refused.json() == {
            "error": "media_quota_participant",
            "message": "You have reached the limit of 3 photos and recordings.",
        }
        # Bob is not refused because of Ana, until the board's own bound.
        answers = await asyncio.gather(
            *(
                post((one, other)[i % 2], board["id"], bob["token"], "voice", voice)
                for i in range(3)
            )
        )
        assert sorted(r.status_code for r in answers) == [201, 201, 413]
        refused = next(r for r in answers if r.status_code == 413)
        assert refused.json() == {
            "error": "media_quota_board",
            "message": "This board has reached the limit of 5 photos and recordings.",
        }


async def test_uploads_never_attached_to_a_note_are_deleted(make_server: Any) -> None:
    """Before the fix an upload nobody attached to a note stayed for good."""
    server = make_server(COBORD_MEDIA_ORPHAN_MINUTES="0.05")  # 3 s; a sweep every 1.5 s
    board = server.create_board()
    ana = server.join(board["join_code"], name="Ana")
    writer = await YClient(server.url(board["id"], ana["token"])).connect()
    try:
        async with httpx.AsyncClient(base_url=server.http) as http:
            kept = (await post(http, board["id"], ana["token"], "voice", ogg_opus(3))).json()
            orphan = (await post(http, board["id"], ana["token"], "voice", ogg_opus(3))).json()
            await writer.change(add_note("v1", "", kind="voice", media=kept["id"]))

            async def status(item: dict[str, Any]) -> int:
                viewer = {"Authorization": f"Bearer {board['viewer_token']}"}
                r = await http.get(item["url"], headers=viewer)  # (`?token=` is refused: 401)
                return r.status_code

            async def gone(item: dict[str, Any]) -> bool:
                return await status(item) == 404

            await poll_until(lambda: gone(orphan), timeout=60)
            assert await status(kept) == 200
            # Once seen in use, a note's media stays after the note is deleted (the replay
            # still shows it): a later sweep (it took another orphan) leaves it.
            await writer.change(lambda doc: doc.get("notes", type=Map).pop("v1"))
            later = (await post(http, board["id"], ana["token"], "voice", ogg_opus(3))).json()
            await poll_until(lambda: gone(later), timeout=60)
            assert await status(kept) == 200
    finally:
        await writer.close()
