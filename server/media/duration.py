"""How long a recording lasts, read from its container (WebM/EBML, Ogg, MP4), without decoding
the audio. Pure and bounded: garbage never raises, it gives None."""

from __future__ import annotations

import struct
from typing import Final

EBML_CLUSTER, EBML_TIMECODE, EBML_SIMPLE_BLOCK, EBML_BLOCK = 0x1F43B675, 0xE7, 0xA3, 0xA1
EBML_TIMECODE_SCALE, EBML_DURATION = 0x2AD7B1, 0x4489
# Containers we step into (their children are read in turn, whatever their declared size:
# MediaRecorder writes the Segment, and some writers Clusters, with an "unknown" size).
EBML_MASTERS: Final = frozenset(
    {0x18538067, 0x1549A966, EBML_CLUSTER, 0xA0}  # Segment, Info, Cluster, BlockGroup
)


def voice_seconds(data: bytes, content_type: str) -> float | None:
    """The recording's length read from its container, or None if it does not say:
    WebM: the Info Duration, or else the last block's time (cluster timecode + block offset);
    Ogg: the last page's granule position (Opus at 48 kHz minus its pre-skip, Vorbis at its
    sample rate); MP4: the `mvhd` duration. Garbage never raises: it gives None."""
    try:
        if content_type == "audio/webm":
            return _webm_seconds(data)
        if content_type == "audio/ogg":
            return _ogg_seconds(data)
        if content_type == "audio/mp4":
            return _mp4_seconds(data)
    except (IndexError, ValueError, ZeroDivisionError):
        return None
    return None


def _vint(data: bytes, at: int, keep_marker: bool) -> tuple[int, int]:
    """An EBML variable-length integer at `at`: (value, length). Size -1 = unknown."""
    first = data[at]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise ValueError("bad EBML integer")
    value = first if keep_marker else first & (0xFF >> length)
    for byte in data[at + 1 : at + length]:
        value = (value << 8) | byte
    if len(data) < at + length:
        raise ValueError("truncated")
    if not keep_marker and value == (1 << (7 * length)) - 1:
        value = -1
    return value, length


def _webm_seconds(data: bytes) -> float | None:
    scale = 1_000_000  # ns per timecode unit (the default TimecodeScale)
    duration: float | None = None
    cluster_time = 0
    last = -1
    at = 0
    steps = 0
    while at < len(data) and steps < 200_000:
        steps += 1
        element, id_len = _vint(data, at, keep_marker=True)
        size, size_len = _vint(data, at + id_len, keep_marker=False)
        body = at + id_len + size_len
        if element in EBML_MASTERS:
            at = body  # step in
            continue
        if size < 0 or body + size > len(data):
            break  # an unknown-sized leaf, or the end of a truncated file
        value = data[body : body + size]
        if element == EBML_TIMECODE_SCALE:
            scale = int.from_bytes(value, "big") or scale
        elif element == EBML_DURATION and size in (4, 8):
            duration = struct.unpack(">f" if size == 4 else ">d", value)[0]
        elif element == EBML_TIMECODE:
            cluster_time = int.from_bytes(value, "big")
        elif element in (EBML_SIMPLE_BLOCK, EBML_BLOCK):
            _track, track_len = _vint(value, 0, keep_marker=False)
            offset = int.from_bytes(value[track_len : track_len + 2], "big", signed=True)
            last = max(last, cluster_time + offset)
        at = body + size
    if duration is not None and duration > 0:
        return duration * scale / 1e9
    return last * scale / 1e9 if last >= 0 else None


def _ogg_seconds(data: bytes) -> float | None:
    last_page = data.rfind(b"OggS")
    if last_page < 0 or len(data) < last_page + 14:
        return None
    granule = int.from_bytes(data[last_page + 6 : last_page + 14], "little", signed=True)
    if granule < 0:
        return None
    opus = data.find(b"OpusHead", 0, 512)
    if opus >= 0:
        pre_skip = int.from_bytes(data[opus + 10 : opus + 12], "little")
        return max(0, granule - pre_skip) / 48_000
    vorbis = data.find(b"\x01vorbis", 0, 512)
    if vorbis >= 0:
        rate = int.from_bytes(data[vorbis + 12 : vorbis + 16], "little")
        return granule / rate if rate else None
    return None


def _mp4_seconds(data: bytes) -> float | None:
    def boxes(start: int, end: int) -> list[tuple[bytes, int, int]]:
        out: list[tuple[bytes, int, int]] = []
        at = start
        while at + 8 <= end and len(out) < 10_000:
            size = int.from_bytes(data[at : at + 4], "big")
            kind = data[at + 4 : at + 8]
            header = 8
            if size == 1:
                size, header = int.from_bytes(data[at + 8 : at + 16], "big"), 16
            elif size == 0:
                size = end - at
            if size < header:
                break
            out.append((kind, at + header, min(end, at + size)))
            at += size
        return out

    for kind, start, end in boxes(0, len(data)):
        if kind != b"moov":
            continue
        for inner, body, _end in boxes(start, end):
            if inner != b"mvhd":
                continue
            if data[body] == 1:
                timescale = int.from_bytes(data[body + 20 : body + 24], "big")
                length = int.from_bytes(data[body + 24 : body + 32], "big")
            else:
                timescale = int.from_bytes(data[body + 12 : body + 16], "big")
                length = int.from_bytes(data[body + 16 : body + 20], "big")
            return length / timescale if timescale and length else None
    return None
