"""Photo and voice notes: what an upload really is (from its bytes), and the bytes we keep.

Photos: JPEG, PNG or WebP only, recognised by their magic bytes (the declared Content-Type is not
trusted), decoded by Pillow within a pixel bound, turned upright, shrunk to MAX_SIDE and re-encoded
as JPEG from the pixels alone: EXIF (GPS location, camera serial), XMP and ICC metadata never
reach the stored bytes. Voice: WebM, Ogg or MP4 audio (MediaRecorder's formats), recognised by
their container signature, bounded in size (60 s of Opus at 128 kbit/s is < 1 MB) and, where the
container says how long it lasts (`voice_seconds`), in length: at most 60 s.

Pure functions (no I/O); Pillow's work is CPU-bound, callers run it off the event loop.
"""

from __future__ import annotations

import base64
import io
import struct
import warnings
from dataclasses import dataclass
from typing import Final

from PIL import Image

MAX_PHOTO_UPLOAD: Final = 4 * 1024 * 1024  # the client sends <= 400 KB; old phones may not shrink
MAX_VOICE_UPLOAD: Final = 1536 * 1024
MAX_SIDE: Final = 1600
MAX_PIXELS: Final = 40_000_000  # decompression-bomb bound (a 40 MP photo is a big phone's)
# JPEG is decoded at a reduced scale (libjpeg's DCT scaling, Pillow's draft mode: 1/2 to 1/8),
# so a 40 MP photo costs ~10 MP of memory. PNG and WebP have no such mode: every pixel is
# decoded, 4 bytes each, so they are refused past this many pixels BEFORE decoding (a 154 KB
# PNG of 6300x6300 cost ~470 MB of peak memory). A phone screenshot is < 4 MP, a tablet's < 6 MP;
# 8 MP of RGBA peaks at ~80 MB.
MAX_FULL_DECODE_PIXELS: Final = 8_000_000
JPEG_QUALITY: Final = 82
KINDS: Final = ("photo", "voice")


class MediaRefused(Exception):
    """An upload that is not what we accept; `code` and `message` go to the client as they are."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Processed:
    content_type: str
    data: bytes
    seconds: float | None = None  # a recording's length, when its container says it


def sniff_image(data: bytes) -> str | None:
    """The image format from the first bytes: "JPEG", "PNG", "WEBP" or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def sniff_audio(data: bytes) -> str | None:
    """The audio container's MIME type from the first bytes, or None."""
    if data[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in data[:64]:
        return "audio/webm"
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    return None


def process_photo(data: bytes) -> Processed:
    if len(data) > MAX_PHOTO_UPLOAD:
        raise too_large("photo", MAX_PHOTO_UPLOAD)
    kind = sniff_image(data)
    if kind is None:
        raise MediaRefused(415, "not_an_image", "Only JPEG, PNG or WebP pictures are accepted.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=[kind])
            pixels = opened.width * opened.height
            if pixels > MAX_PIXELS or (kind != "JPEG" and pixels > MAX_FULL_DECODE_PIXELS):
                raise MediaRefused(413, "too_many_pixels", "This picture has too many pixels.")
            if kind == "JPEG":
                # Decode at the smallest DCT scale (1/2 .. 1/8) that still gives the long side
                # MAX_SIDE pixels: the thumbnail below needs no more.
                longest = max(opened.width, opened.height, 1)
                opened.draft(
                    "RGB",
                    (
                        max(1, MAX_SIDE * opened.width // longest),
                        max(1, MAX_SIDE * opened.height // longest),
                    ),
                )
            opened.load()
    except MediaRefused:
        raise
    except (
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombWarning,
        Image.DecompressionBombError,
    ) as exc:
        raise MediaRefused(422, "bad_image", "This picture could not be read.") from exc
    # Shrunk first (the full-size pixels are freed before any copy), then turned upright
    # before the orientation tag is dropped with the rest of the metadata.
    orientation = opened.getexif().get(ORIENTATION_TAG)
    opened.thumbnail((MAX_SIDE, MAX_SIDE))
    image: Image.Image = _upright(opened, orientation)
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    # Only the pixels are written: no exif=, no icc_profile=, and no `info` (Pillow writes a
    # JPEG comment, COM, from image.info["comment"] when it is there).
    image.info = {}
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return Processed("image/jpeg", out.getvalue())


ORIENTATION_TAG: Final = 0x0112
_TRANSPOSE: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright(image: Image.Image, orientation: object) -> Image.Image:
    """The picture as the camera's EXIF orientation says to show it (on the shrunk pixels)."""
    method = _TRANSPOSE.get(orientation) if isinstance(orientation, int) else None
    return image.transpose(method) if method is not None else image


def process_voice(data: bytes) -> Processed:
    if len(data) > MAX_VOICE_UPLOAD:
        raise too_large("recording", MAX_VOICE_UPLOAD)
    content_type = sniff_audio(data)
    if content_type is None:
        raise MediaRefused(415, "not_audio", "Only WebM, Ogg or MP4 audio recordings are accepted.")
    seconds = voice_seconds(data, content_type)
    if seconds is not None and seconds > MAX_VOICE_SECONDS + VOICE_SLACK_SECONDS:
        raise MediaRefused(
            413,
            "too_long",
            f"This recording lasts {seconds:.0f} s; a voice note is at most {MAX_VOICE_SECONDS} s.",
        )
    return Processed(content_type, data, seconds)


# ------------------------------------------------------------------ how long a recording lasts

MAX_VOICE_SECONDS: Final = 60
VOICE_SLACK_SECONDS: Final = 1.5  # the recorder stops at 60 s; its last chunk may run over a bit

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


def process(kind: str, data: bytes) -> Processed:
    if not data:
        raise MediaRefused(400, "empty", "The upload is empty.")
    return process_photo(data) if kind == "photo" else process_voice(data)


THUMBNAIL_SIDE: Final = 360


def thumbnail_data_uri(data: bytes) -> str | None:
    """A small JPEG of a stored photo as a `data:` URI (pictures embedded in the SVG export and
    the report); None if the stored bytes do not decode."""
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as opened:
            image = opened.convert("RGB")
    except (OSError, ValueError, SyntaxError):
        return None
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def too_large(what: str, limit: int) -> MediaRefused:
    return MediaRefused(413, "too_large", f"This {what} is larger than {limit // 1024} KB.")
