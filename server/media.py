"""Photo and voice notes: what an upload really is (from its bytes), and the bytes we keep.

Photos: JPEG, PNG or WebP only, recognised by their magic bytes (the declared Content-Type is not
trusted), decoded by Pillow within a pixel bound, turned upright, shrunk to MAX_SIDE and re-encoded
as JPEG from the pixels alone: EXIF (GPS location, camera serial), XMP and ICC metadata never
reach the stored bytes. Voice: WebM, Ogg or MP4 audio (MediaRecorder's formats), recognised by
their container signature and bounded in size (60 s of Opus at 128 kbit/s is < 1 MB).

Pure functions (no I/O); Pillow's work is CPU-bound, callers run it off the event loop.
"""

from __future__ import annotations

import base64
import io
import warnings
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageOps

MAX_PHOTO_UPLOAD: Final = 4 * 1024 * 1024  # the client sends <= 400 KB; old phones may not shrink
MAX_VOICE_UPLOAD: Final = 1536 * 1024
MAX_SIDE: Final = 1600
MAX_PIXELS: Final = 40_000_000  # decompression-bomb bound (a 40 MP photo is a big phone's)
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
        raise _too_large("photo", MAX_PHOTO_UPLOAD)
    kind = sniff_image(data)
    if kind is None:
        raise MediaRefused(415, "not_an_image", "Only JPEG, PNG or WebP pictures are accepted.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data), formats=[kind])
            if opened.width * opened.height > MAX_PIXELS:
                raise MediaRefused(413, "too_many_pixels", "This picture has too many pixels.")
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
    # Upright before the orientation tag is dropped with the rest of the metadata.
    image: Image.Image = ImageOps.exif_transpose(opened)
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    # No exif=, no icc_profile=: only the pixels are written.
    image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return Processed("image/jpeg", out.getvalue())


def process_voice(data: bytes) -> Processed:
    if len(data) > MAX_VOICE_UPLOAD:
        raise _too_large("recording", MAX_VOICE_UPLOAD)
    content_type = sniff_audio(data)
    if content_type is None:
        raise MediaRefused(415, "not_audio", "Only WebM, Ogg or MP4 audio recordings are accepted.")
    return Processed(content_type, data)


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


def _too_large(what: str, limit: int) -> MediaRefused:
    return MediaRefused(413, "too_large", f"This {what} is larger than {limit // 1024} KB.")
