"""Voice notes: WebM, Ogg or MP4 audio (MediaRecorder's formats), recognised by their container
signature, bounded in size (60 s of Opus at 128 kbit/s is < 1 MB) and, where the container says how
long it lasts (duration.py), in length: at most 60 s. The bytes are kept as they came.
"""

from __future__ import annotations

from typing import Final

from server.media.duration import voice_seconds
from server.media.upload import MediaRefused, Processed, too_large

MAX_VOICE_UPLOAD: Final = 1536 * 1024
MAX_VOICE_SECONDS: Final = 60
VOICE_SLACK_SECONDS: Final = 1.5  # the recorder stops at 60 s; its last chunk may run over a bit


def sniff_audio(data: bytes) -> str | None:
    """The audio container's MIME type from the first bytes, or None."""
    if data[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in data[:64]:
        return "audio/webm"
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    return None


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
