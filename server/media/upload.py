"""What an upload check gives back: the bytes kept (`Processed`), or why not (`MediaRefused`)."""

from __future__ import annotations

from dataclasses import dataclass


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


def too_large(what: str, limit: int) -> MediaRefused:
    return MediaRefused(413, "too_large", f"This {what} is larger than {limit // 1024} KB.")
