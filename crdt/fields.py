"""The values a note's, a cluster's and a board setting's fields may hold: types and bounds
(docs/schema.md). The rules (crdt/rules.py) check notes and clusters for every change; the API
(server/http/board_settings.py) checks settings, which the server alone writes into `meta`;
static/schema.js mirrors SETTING_BOUNDS (tests/test_client_schema.py). No roles here: what a
value may be, not who may write it."""

from __future__ import annotations

import json
import re
import unicodedata
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any, Final, get_args

from crdt.schema import LANGUAGES, MAX_VOICE_SECONDS, VotesVisibility
from crdt.shadow import Change, Shared

# A note: every field has a type and a size. Texts (the note's and each translation's) are
# bounded in characters by the board setting `max_note_length` (at most 5000) and in UTF-8 bytes
# here; at most one translation per board language. So a note never exceeds MAX_NOTE_BYTES.
MAX_TEXT_BYTES: Final = 8 * 1024
MAX_SHORT = 64  # color, cluster (an id), lang
MAX_NAME = 100  # author, a translation's `by`
MAX_MEDIA_ID = 64
MEDIA_ID: Final = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_MEDIA_ID}}}")
MAX_LANG = 8
MAX_CLUSTER_TITLE = 200  # characters, like a board title
MAX_NOTE_BYTES: Final = (1 + len(LANGUAGES)) * (MAX_TEXT_BYTES + 4 * MAX_NAME) + 2048


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def is_number(value: Any) -> bool:
    # Finite and within a JS safe integer (createdAt is Date.now(), in ms).
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 2**53


def short_str(value: Any, limit: int = MAX_SHORT) -> bool:
    return isinstance(value, str) and len(value) <= limit


NOTE_KINDS: Final = ("text", "photo", "voice")


def translation_entry_ok(value: Any, limit: int) -> bool:
    """{"text": str <= limit, "by": str, "machine": bool} (plain JSON, not a shared type)."""
    return (
        isinstance(value, dict)
        and set(value) <= {"text", "by", "machine"}
        and isinstance(value.get("text"), str)
        and len(value["text"]) <= limit
        and utf8_len(value["text"]) <= MAX_TEXT_BYTES
        and short_str(value.get("by", ""), MAX_NAME)
        and isinstance(value.get("machine", False), bool)
    )


def translations_ok(value: Any, limit: int) -> bool:
    """At most one translation per board language (a nested Y.Map, or plain JSON)."""
    if isinstance(value, Shared):
        value = value.data
    return isinstance(value, dict) and all(
        lang in LANGUAGES and translation_entry_ok(entry, limit) for lang, entry in value.items()
    )


NOTE_TYPES: Final[Mapping[str, Callable[[Any], bool]]] = {
    "kind": lambda v: v in NOTE_KINDS,
    "media": lambda v: is_media_id(v),
    "x": is_number,
    "y": is_number,
    "createdAt": is_number,
    "color": short_str,
    "cluster": short_str,
    "lang": short_str,
    "author": lambda v: short_str(v, MAX_NAME),
    "text": lambda v: isinstance(v, str),
    "duration": lambda v: is_number(v) and 0 <= v <= MAX_VOICE_SECONDS,
    # Deleting is a field (docs/schema.md): a note created already deleted (made and deleted
    # offline, sent as one update) is accepted like any creation, and removed at once.
    "deleted": lambda v: v is True,
}


def translation_problem(change: Change, limit: int) -> str | None:
    """What is wrong with one translation written into a note (None: it is within the schema):
    an entry {text, by, machine} in a board language, its text within `max_note_length`
    characters and MAX_TEXT_BYTES; removing one entry is always within it."""
    if change.sub is not None:
        if change.sub not in LANGUAGES:
            return f"a translation's language is one of {', '.join(LANGUAGES)}"
        if change.deleted:
            return None
        entries: dict[str, Any] = {change.sub: change.value}
    else:
        value = change.value.data if isinstance(change.value, Shared) else None
        if not isinstance(value, dict):
            return "a note's translations are a map of language -> {text, by, machine}"
        entries = value
    for lang, entry in entries.items():
        if lang not in LANGUAGES:
            return f"a translation's language is one of {', '.join(LANGUAGES)}"
        text = entry.get("text") if isinstance(entry, dict) else None
        if isinstance(text, str) and len(text) > limit:
            return f"a translation holds at most {limit} characters"
        if isinstance(text, str) and utf8_len(text) > MAX_TEXT_BYTES:
            return f"a translation is at most {MAX_TEXT_BYTES} bytes"
        if not translation_entry_ok(entry, limit):
            return "a translation is {text, by, machine}"
    return None


def json_bytes(value: Any) -> int:
    plain = lambda v: v.data if isinstance(v, Shared) else str(v)  # noqa: E731
    return len(json.dumps(value, ensure_ascii=False, default=plain).encode("utf-8", "replace"))


def cluster_title_ok(value: Any) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= MAX_CLUSTER_TITLE
        and utf8_len(value) <= 4 * MAX_CLUSTER_TITLE
    )


def titles_ok(value: Any) -> bool:
    """A cluster's `titles`: board language -> a title (a nested Y.Map, or plain JSON)."""
    if isinstance(value, Shared):
        value = value.data
    return isinstance(value, dict) and all(
        lang in LANGUAGES and cluster_title_ok(title) for lang, title in value.items()
    )


CLUSTER_TYPES: Final[Mapping[str, Callable[[Any], bool]]] = {
    "title": cluster_title_ok,
    "x": is_number,
    "y": is_number,
    "color": short_str,
    "deleted": lambda v: v is True,
}


def is_media_id(value: Any) -> bool:
    """An id the server gave an upload: 1-64 URL-safe characters (no spaces, newlines, brackets
    or parentheses, so it can never open Markdown or HTML structure where it is printed)."""
    return isinstance(value, str) and MEDIA_ID.fullmatch(value) is not None


def text_ok(value: Any, limit: int) -> bool:
    """A str of valid Unicode (no lone surrogate: pycrdt panics on one), no control characters,
    at most `limit` characters once stripped, and something visible in it (not only
    zero-width or formatting characters)."""
    if not isinstance(value, str) or len(value) > 4 * limit:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    value = value.strip()
    if not 0 < len(value) <= limit:
        return False
    categories = [unicodedata.category(c) for c in value]
    if any(cat == "Cc" or cat == "Cs" for cat in categories):
        return False
    return any(cat[0] not in "CZM" for cat in categories)


# Board settings (crdt/schema.py DEFAULT_SETTINGS holds their defaults).
MAX_GROUPS: Final = 20
MAX_GROUP_NAME: Final = 60
# The whole numbers a setting may be: (lowest, highest), both allowed.
SETTING_BOUNDS: Final[Mapping[str, tuple[int, int]]] = {
    "vote_budget": (0, 100),
    "max_votes_per_note": (1, 100),
    "max_note_length": (1, 5000),
    "max_notes_per_participant": (1, 1000),
    "disagree_budget": (0, 100),
}


def _whole_number_in(bounds: tuple[int, int]) -> Callable[[Any], bool]:
    low, high = bounds
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def time_zone_ok(value: Any) -> bool:
    """An IANA time zone name this machine knows ("Europe/Brussels", "UTC")."""
    if not isinstance(value, str) or not 0 < len(value) <= 64 or value.startswith(("/", ".")):
        return False
    if ".." in value or "\\" in value or "\0" in value:
        return False
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def groups_ok(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) <= MAX_GROUPS
        and all(text_ok(g, MAX_GROUP_NAME) for g in value)
        and len({g.strip() for g in value}) == len(value)
    )


def group_labels_ok(value: Any) -> bool:
    """{group: {lang: label}}: at most MAX_GROUPS groups, labels in the board languages only."""
    return (
        isinstance(value, dict)
        and len(value) <= MAX_GROUPS
        and all(
            text_ok(group, MAX_GROUP_NAME)
            and isinstance(labels, dict)
            and set(labels) <= set(LANGUAGES)
            and all(text_ok(label, MAX_GROUP_NAME) for label in labels.values())
            for group, labels in value.items()
        )
    )


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


SETTING_TYPES: Final[Mapping[str, Callable[[Any], bool]]] = {
    **{name: _whole_number_in(bounds) for name, bounds in SETTING_BOUNDS.items()},
    "anonymous": _flag,
    "votes_visibility": lambda v: v in get_args(VotesVisibility),
    "locked": _flag,
    "private_writing": _flag,
    "groups": groups_ok,
    "languages": lambda v: isinstance(v, list) and bool(v) and all(x in LANGUAGES for x in v),
    "joining_open": _flag,
    "group_labels": group_labels_ok,
    "group_optional": _flag,
    "disagree_marks": _flag,
    "time_zone": time_zone_ok,
}
