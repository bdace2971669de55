"""Photo and voice notes: what an upload really is (from its bytes), and the bytes we keep.

One module a concept: photo.py (an image checked, decoded within bounds, re-encoded without its
metadata; the exports' thumbnails), voice.py (a recording checked by its container and its length),
duration.py (how long a recording lasts, read from its container), upload.py (what a check gives
back, or why it refuses). This module picks the checker by kind and names what the HTTP edge uses.

Pure functions (no I/O); Pillow's work is CPU-bound, callers run it off the event loop.
"""

from __future__ import annotations

from typing import Final

from server.media.duration import voice_seconds
from server.media.photo import (
    MAX_PHOTO_UPLOAD,
    MAX_SIDE,
    process_photo,
    sniff_image,
    thumbnail_data_uri,
)
from server.media.upload import MediaRefused, Processed, too_large
from server.media.voice import MAX_VOICE_SECONDS, MAX_VOICE_UPLOAD, process_voice, sniff_audio

KINDS: Final = ("photo", "voice")

__all__ = [
    "KINDS",
    "MAX_PHOTO_UPLOAD",
    "MAX_SIDE",
    "MAX_VOICE_SECONDS",
    "MAX_VOICE_UPLOAD",
    "MediaRefused",
    "Processed",
    "process",
    "process_photo",
    "process_voice",
    "sniff_audio",
    "sniff_image",
    "thumbnail_data_uri",
    "too_large",
    "voice_seconds",
]


def process(kind: str, data: bytes) -> Processed:
    if not data:
        raise MediaRefused(400, "empty", "The upload is empty.")
    return process_photo(data) if kind == "photo" else process_voice(data)
