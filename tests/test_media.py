"""Photo and voice notes against a real server: type from the bytes, EXIF gone, bounds, tokens."""

from __future__ import annotations

import base64
import io
import json
import re
import time
from typing import Any

import httpx
import pytest
from PIL import Image

from server import media
from tests.conftest import ServerProcess
from tests.yclient import YClient, add_note

GPS_IFD = 0x8825


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jpeg_with_gps(size: tuple[int, int] = (2400, 1800)) -> bytes:
    image = Image.new("RGB", size, (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° CW to view
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (50.0, 50.0, 46.0), 3: "E", 4: (4.0, 21.0, 9.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()


def upload(server: ServerProcess, board_id: str, token: str, kind: str, data: bytes) -> Any:
    return httpx.post(
        f"{server.http}/api/boards/{board_id}/media",
        params={"kind": kind},
        content=data,
        headers={**auth(token), "Content-Type": "application/octet-stream"},
    )


def test_photo_exif_gps_is_gone_and_picture_is_upright_and_shrunk(server: ServerProcess) -> None:
    board = server.create_board()
    phone = server.join(board["join_code"])
    raw = jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(GPS_IFD)[1] == "N"  # the upload has it
    response = upload(server, board["id"], phone["token"], "photo", raw)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "photo" and body["content_type"] == "image/jpeg"
    assert body["url"] == f"/api/boards/{board['id']}/media/{body['id']}"
    assert len(body["id"]) <= 64
    served = httpx.get(f"{server.http}{body['url']}", headers=auth(board["viewer_token"]))
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    picture = Image.open(io.BytesIO(served.content))
    assert dict(picture.getexif()) == {} and picture.getexif().get_ifd(GPS_IFD) == {}
    assert b"Exif" not in served.content and b"PhoneMaker" not in served.content
    # Orientation 6 applied to the pixels, then the longest side bounded.
    assert picture.size == (1200, media.MAX_SIDE)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_accepted_and_reencoded(server: ServerProcess, fmt: str) -> None:
    board = server.create_board()
    out = io.BytesIO()
    Image.new("RGBA", (64, 32), (0, 0, 255, 128)).save(out, format=fmt)
    response = upload(server, board["id"], board["facilitator_token"], "photo", out.getvalue())
    assert response.status_code == 201, response.text
    served = httpx.get(
        f"{server.http}{response.json()['url']}", headers=auth(board["viewer_token"])
    )
    assert served.status_code == 200
    assert Image.open(io.BytesIO(served.content)).format == "JPEG"


@pytest.mark.parametrize(
    ("kind", "data", "status", "code", "message"),
    [
        ("photo", b"%PDF-1.7 not a picture", 415, "not_an_image", "JPEG, PNG or WebP"),
        ("photo", b"GIF89a" + b"\0" * 40, 415, "not_an_image", "JPEG, PNG or WebP"),
        ("photo", b"\xff\xd8\xff\xe0 truncated jpeg", 422, "bad_image", "could not be read"),
        ("photo", b"", 400, "empty", "empty"),
        ("voice", b"ID3\x03 an mp3 file", 415, "not_audio", "WebM, Ogg or MP4"),
        ("video", b"OggS", 422, "bad_kind", "'photo' or 'voice'"),
    ],
)
def test_bad_uploads_refused_with_a_clear_message(
    server: ServerProcess, kind: str, data: bytes, status: int, code: str, message: str
) -> None:
    board = server.create_board()
    response = upload(server, board["id"], board["facilitator_token"], kind, data)
    assert response.status_code == status
    assert response.json()["error"] == code and message in response.json()["message"]


def test_oversized_uploads_refused(server: ServerProcess) -> None:
    board = server.create_board()
    token = board["facilitator_token"]
    big = b"\xff\xd8\xff" + b"\0" * media.MAX_PHOTO_UPLOAD
    response = upload(server, board["id"], token, "photo", big)
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert response.json()["message"] == "This photo is larger than 4096 KB."

    # Without a Content-Length (chunked), the bound holds while reading.
    def chunks() -> Any:
        yield b"OggS"
        for _ in range(media.MAX_VOICE_UPLOAD // 65536 + 1):
            yield b"\0" * 65536

    response = httpx.post(
        f"{server.http}/api/boards/{board['id']}/media",
        params={"kind": "voice"},
        content=chunks(),
        headers=auth(token),
    )
    assert response.status_code == 413
    assert response.json()["message"] == "This recording is larger than 1536 KB."


def test_too_many_pixels_refused(server: ServerProcess) -> None:
    board = server.create_board()
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, format="PNG")  # tiny file, 48 MP
    assert len(out.getvalue()) < media.MAX_PHOTO_UPLOAD
    response = upload(server, board["id"], board["facilitator_token"], "photo", out.getvalue())
    assert response.status_code == 413 and response.json()["error"] == "too_many_pixels"


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\0" * 100, "audio/webm"),
        (b"OggS\0\x02" + b"\0" * 100, "audio/ogg"),
        (b"\0\0\0\x1cftypM4A " + b"\0" * 100, "audio/mp4"),
    ],
)
def test_voice_types_from_bytes_and_played_back(
    server: ServerProcess, data: bytes, content_type: str
) -> None:
    board = server.create_board()
    phone = server.join(board["join_code"])
    response = upload(server, board["id"], phone["token"], "voice", data)
    assert response.status_code == 201 and response.json()["content_type"] == content_type
    served = httpx.get(f"{server.http}{response.json()['url']}", headers=auth(phone["token"]))
    assert served.status_code == 200 and served.content == data
    assert served.headers["content-type"] == content_type


def test_media_needs_a_token_of_its_board(server: ServerProcess) -> None:
    board, other = server.create_board(), server.create_board()
    response = upload(server, board["id"], board["facilitator_token"], "photo", jpeg_with_gps())
    url = f"{server.http}{response.json()['url']}"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=auth(other["viewer_token"])).status_code == 403
    # A token in the URL opens nothing any more: "copy image address" must not share a token
    # (the facilitator's is the whole board). Pages use the media cookie instead.
    assert httpx.get(url, params={"token": board["facilitator_token"]}).status_code == 401
    # Another board's token on its own board's URL does not find this board's media either.
    media_id = response.json()["id"]
    theirs = f"{server.http}/api/boards/{other['id']}/media/{media_id}"
    assert httpx.get(theirs, headers=auth(other["viewer_token"])).status_code == 404
    # Viewers may look, not upload.
    refused = upload(server, board["id"], board["viewer_token"], "photo", jpeg_with_gps())
    assert refused.status_code == 403
    anonymous = httpx.post(
        f"{server.http}/api/boards/{board['id']}/media", params={"kind": "photo"}, content=b"x"
    )
    assert anonymous.status_code == 401


# ------------------------------------------------ how long a recording lasts (from its bytes)


def ebml(element: int, body: bytes, unknown_size: bool = False) -> bytes:
    ident = element.to_bytes((element.bit_length() + 7) // 8, "big")
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown_size else bytes([0x80 | len(body)])
    assert unknown_size or len(body) < 127
    return ident + size + body


def webm(block_times_ms: list[int], cluster_ms: int = 30_000) -> bytes:
    """A WebM as MediaRecorder writes it: a Segment and Clusters of unknown size, no Duration;
    one Opus SimpleBlock per time (track 1, offset from its cluster's timecode)."""
    header = ebml(0x1A45DFA3, ebml(0x4282, b"webm"))
    info = ebml(0x1549A966, ebml(0x2AD7B1, (1_000_000).to_bytes(3, "big")))
    clusters = b""
    for start in range(0, max(block_times_ms) + 1, cluster_ms):
        blocks = b"".join(
            ebml(0xA3, b"\x81" + (t - start).to_bytes(2, "big") + b"\x80" + b"\0" * 20)
            for t in block_times_ms
            if start <= t < start + cluster_ms
        )
        clusters += ebml(
            0x1F43B675, ebml(0xE7, start.to_bytes(4, "big")) + blocks, unknown_size=True
        )
    return header + ebml(0x18538067, info + clusters, unknown_size=True)


def ogg_opus(seconds: float) -> bytes:
    """Two Ogg pages: OpusHead (pre-skip 312) and a last page at the given granule position."""

    def page(granule: int, payload: bytes, flags: int) -> bytes:
        head = b"OggS\0" + bytes([flags]) + granule.to_bytes(8, "little", signed=True)
        return head + b"\1\0\0\0" + b"\0\0\0\0" + b"\0\0\0\0" + bytes([1, len(payload)]) + payload

    opus_head = b"OpusHead\x01\x01" + (312).to_bytes(2, "little") + (48000).to_bytes(4, "little")
    return page(0, opus_head + b"\0\0\0", 2) + page(int(seconds * 48000) + 312, b"\0" * 40, 4)


def mp4(seconds: float) -> bytes:
    mvhd_body = b"\0\0\0\0" + b"\0" * 8 + (1000).to_bytes(4, "big")
    mvhd_body += int(seconds * 1000).to_bytes(4, "big") + b"\0" * 80
    mvhd = (8 + len(mvhd_body)).to_bytes(4, "big") + b"mvhd" + mvhd_body
    moov = (8 + len(mvhd)).to_bytes(4, "big") + b"moov" + mvhd
    return b"\0\0\0\x1cftypM4A " + b"\0" * 16 + moov


def test_recording_length_read_from_the_container() -> None:
    assert media.voice_seconds(webm([0, 20, 59_980]), "audio/webm") == 59.98
    assert media.voice_seconds(webm([0, 95_000]), "audio/webm") == 95.0
    assert media.voice_seconds(ogg_opus(12.5), "audio/ogg") == 12.5
    assert media.voice_seconds(mp4(61.0), "audio/mp4") == 61.0
    # Nothing to read: no duration (the size bound still holds).
    for garbage in (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm" + b"\0" * 100, b"OggS\0\2"):
        assert media.voice_seconds(garbage, media.sniff_audio(garbage) or "") is None


@pytest.mark.parametrize(
    ("data", "seconds"),
    [(webm([0, 30_000, 90_000]), 90), (ogg_opus(75.0), 75), (mp4(120.0), 120)],
    ids=["webm", "ogg", "mp4"],
)
def test_voice_longer_than_60_s_refused(server: ServerProcess, data: bytes, seconds: int) -> None:
    board = server.create_board()
    phone = server.join(board["join_code"])
    assert len(data) < media.MAX_VOICE_UPLOAD  # small: only the length refuses it
    response = upload(server, board["id"], phone["token"], "voice", data)
    assert response.status_code == 413
    assert response.json() == {
        "error": "too_long",
        "message": f"This recording lasts {seconds} s; a voice note is at most 60 s.",
    }
    # 60 s (and the recorder's last chunk running a little over) is fine.
    ok = upload(server, board["id"], phone["token"], "voice", webm([0, 30_000, 61_000]))
    assert ok.status_code == 201, ok.text
    # Its length comes back, for the note's `duration` (the player cannot read it: 0:00).
    assert ok.json()["seconds"] == 61.0


async def test_media_cookie_and_report_links_open_pictures_only(server: ServerProcess) -> None:
    """`POST /media-access` sets a cookie scoped to the board's media path that opens its pictures
    and nothing else; a report's photo link is absolute and its `?access=` opens that picture
    alone; neither is a board token. (Before: media URLs carried `?token=<facilitator token>`
    and the report's links were relative, with no access at all.)"""
    board, other = server.create_board(), server.create_board()
    phone = server.join(board["join_code"])
    first = upload(server, board["id"], phone["token"], "photo", jpeg_with_gps()).json()
    second = upload(server, board["id"], phone["token"], "photo", jpeg_with_gps()).json()
    theirs = upload(server, other["id"], other["facilitator_token"], "photo", jpeg_with_gps())
    fac = auth(board["facilitator_token"])
    base = server.http

    def with_cookie(value: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base, cookies={"cobord_media": value})

    async with httpx.AsyncClient(base_url=base) as browser:
        granted = await browser.post(
            f"/api/boards/{board['id']}/media-access", headers=auth(phone["token"])
        )
        assert granted.status_code == 200 and granted.json()["expires_at"] > time.time() * 1000
        cookie = granted.headers["set-cookie"]
        assert f"Path=/api/boards/{board['id']}/media" in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=3600" in cookie
        assert (await browser.get(first["url"])).status_code == 200
        assert (await browser.get(second["url"])).status_code == 200
        value = browser.cookies["cobord_media"]
        # Not a token: the API refuses it.
        r = await browser.get(f"/api/boards/{board['id']}", headers=auth(value))
        assert r.status_code == 401
    # Another board's media refuses it; so does a tampered one (expiry pushed on, same signature).
    _, _, signature = value.partition(".")
    payload = json.dumps({"b": board["id"], "x": 4_000_000_000}, separators=(",", ":"))
    forged = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
    async with with_cookie(value) as http:
        assert (await http.get(theirs.json()["url"])).status_code == 401
    async with with_cookie(f"{forged}.{signature}") as http:
        refused = await http.get(first["url"])
        assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"

    # A photo note on the board, then the Markdown report: its link is absolute and opens that
    # picture (no cookie, no token), and only that one.
    client = await YClient(server.url(board["id"], phone["token"])).connect()
    watcher = await YClient(server.url(board["id"], board["facilitator_token"])).connect()
    await client.change(add_note("p1", "Le parc", kind="photo", media=first["id"], lang="fr"))
    await watcher.wait_until(lambda: "p1" in watcher.notes())  # committed, then fanned out
    for c in (client, watcher):
        await c.close()
    async with httpx.AsyncClient(base_url=base) as http:
        md = await http.get(f"/api/boards/{board['id']}/export.md", headers=fac)
        links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md.text)
        assert len(links) == 1 and links[0].startswith(f"{base}/api/boards/{board['id']}/")
        assert (await http.get(links[0])).status_code == 200
        access = links[0].partition("?access=")[2]
        assert access
        elsewhere = await http.get(f"{second['url']}?access={access}")
        assert elsewhere.status_code == 401
        # A revoked person gets no new cookie.
        person = f"/api/boards/{board['id']}/participants/{phone['participant_id']}"
        assert (await http.post(person + "/revoke", headers=fac)).status_code == 200
        r = await http.post(
            f"/api/boards/{board['id']}/media-access", headers=auth(phone["token"])
        )
        assert r.status_code == 401
