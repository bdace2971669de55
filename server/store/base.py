"""The storage seam: records, errors, and the protocols every backend implements: the `Store`
(server/store/log.py's `UpdateLog`, with the log's own records, and one repository per concern,
below).

Two implementations: `MemoryStore` (the in-memory twin, for tests and benchmarks) and `SqlStore`
(SQLAlchemy async: SQLite by default, PostgreSQL via asyncpg). One contract suite
(`tests/test_store_contract.py`) runs against every implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from server.store.log import SnapshotRecord, UpdateLog, UpdateRecord


@dataclass(frozen=True, slots=True)
class BoardRecord:
    id: str
    title: str
    join_code: str
    created_at: float
    # Facilitator-controlled settings (groups, languages, vote budget, ...): plain JSON.
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    id: str
    board_id: str
    name: str
    group: str | None
    lang: str | None
    created_at: float
    revoked: bool = False  # token refused (erasure, or the facilitator revoked it)


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One readable change decoded from the log: `idx` orders several events of one update."""

    seq: int
    idx: int
    ts: float
    kind: str  # note_added, text_edited, moved, clustered, deleted, cluster_created, ...
    actor: str  # participant id, "facilitator", "server", ...
    target: str  # note or cluster id, or the new phase / setting value


@dataclass(frozen=True, slots=True)
class MediaRecord:
    """A photo or voice recording of a board, already checked and re-encoded by server/media/."""

    id: str
    board_id: str
    kind: str  # "photo" | "voice"
    content_type: str
    data: bytes
    actor: str  # who uploaded it (participant id or "facilitator")
    created_at: float


@dataclass(frozen=True, slots=True)
class MediaQuota:
    """What one participant and one board may keep (counts and bytes, 0 = no bound), checked in
    the same transaction as the insert so several processes share one count."""

    per_participant: int = 0
    bytes_per_participant: int = 0
    per_board: int = 0
    bytes_per_board: int = 0


class MediaQuotaExceeded(Exception):
    """`scope` is "participant" or "board"; `what` is "count" or "bytes"; `limit` the bound."""

    def __init__(self, scope: str, what: str, limit: int) -> None:
        super().__init__(f"{scope} media {what} limit {limit}")
        self.scope = scope
        self.what = what
        self.limit = limit


def check_media_quota(
    quota: MediaQuota,
    board: tuple[int, int],
    participant: tuple[int, int],
    size: int,
) -> None:
    """(count, bytes) held by the board and by the uploader; raise MediaQuotaExceeded if one
    more upload of `size` bytes would pass a bound."""
    for scope, (count, held), max_count, max_bytes in (
        ("participant", participant, quota.per_participant, quota.bytes_per_participant),
        ("board", board, quota.per_board, quota.bytes_per_board),
    ):
        if max_count and count + 1 > max_count:
            raise MediaQuotaExceeded(scope, "count", max_count)
        if max_bytes and held + size > max_bytes:
            raise MediaQuotaExceeded(scope, "bytes", max_bytes)


@dataclass(frozen=True, slots=True)
class HiddenNoteRecord:
    """A note the facilitator took off the board (moderation): out of the shared document, kept
    here for the facilitator and its author until restored (server/http/moderation.py)."""

    board_id: str
    note_id: str
    author: str | None  # actor that created it (participant id, "facilitator"), if known
    fields: dict[str, Any]  # the note as it was: text, x, y, color, cluster, lang, ... (plain JSON)
    reason: str
    hidden_at: float


@dataclass(frozen=True, slots=True)
class HistoryRewrite:
    """New bytes for some rows of a board's history: update seq -> data, keyframe seq -> state."""

    updates: dict[int, bytes] = field(default_factory=dict)
    keyframes: dict[int, bytes] = field(default_factory=dict)


# Given the board's whole log (seq order) and keyframes, the rows to replace; raising refuses the
# erasure (the store then changes nothing). Pure and synchronous: the store may run it off the
# event loop, inside its transaction.
HistoryRewriter = Callable[[list[UpdateRecord], list[SnapshotRecord]], HistoryRewrite]


@dataclass(frozen=True, slots=True)
class ErasureCounts:
    rewritten: int  # update and keyframe rows replaced
    media: int  # the person's photos and voice notes deleted
    hidden_notes: int  # hidden notes of theirs whose `author` field was dropped


class StoreError(Exception):
    """A store operation failed for a reason the caller can report (not a bug)."""


class DuplicateJoinCode(StoreError):
    pass


class GlossaryFull(StoreError):
    """The board holds the most flags a glossary may count (crdt/glossary.py MAX_FLAGS)."""


class VoteRefused(StoreError):
    """A vote broke a rule; `code` is one of: "budget", "max_per_note", "none_to_remove" (dots);
    "disagree_budget", "disagree_once", "no_mark_to_remove" ("I disagree" marks); "stance_conflict"
    (a dot on a note one marked, or a mark on a note one dotted)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class VoteTally:
    mine: int  # this participant's dots on the note after the change
    remaining: int  # this participant's unspent dots


@dataclass(frozen=True, slots=True)
class VoteRecord:
    participant_id: str
    note_id: str
    count: int


@dataclass(frozen=True, slots=True)
class MarkRecord:
    """An "I disagree" mark: one per participant per note."""

    participant_id: str
    note_id: str


class Boards(Protocol):
    """Boards and their participants."""

    async def create_board(self, board: BoardRecord) -> None:
        """Raises DuplicateJoinCode if the join code is taken."""

    async def get_board(self, board_id: str) -> BoardRecord | None: ...

    async def get_board_by_code(self, join_code: str) -> BoardRecord | None: ...

    async def update_board_settings(self, board_id: str, settings: dict[str, Any]) -> None: ...

    async def set_join_code(self, board_id: str, join_code: str) -> None:
        """Raises DuplicateJoinCode if the code is taken, StoreError for an unknown board."""

    async def idle_boards(self, before_ts: float) -> list[str]:
        """Boards whose last update (or creation, without updates) is older than `before_ts`."""

    async def delete_board(self, board_id: str) -> bool:
        """Erase the board and everything about it (log, keyframes, participants, votes, events).
        False if there was no such board."""

    async def add_participant(self, participant: ParticipantRecord) -> None: ...

    async def get_participant(self, participant_id: str) -> ParticipantRecord | None: ...

    async def list_participants(self, board_id: str) -> list[ParticipantRecord]: ...

    async def revoke_participant(
        self, board_id: str, participant_id: str, new_name: str | None = None
    ) -> bool:
        """Refuse the participant's token from now on; with `new_name`, replace their name.
        False if no such participant on this board."""


class Ballots(Protocol):
    """Dot voting and "I disagree" marks: atomic under concurrency (SQL: one transaction with a
    row lock / BEGIN IMMEDIATE), across processes too."""

    async def cast_vote(
        self,
        board_id: str,
        participant_id: str,
        note_id: str,
        delta: int,
        budget: int,
        max_per_note: int,
    ) -> VoteTally:
        """Add (+1) or take back (-1) one dot. Raises VoteRefused. Never exceeds budget/max."""

    async def votes_of(self, board_id: str, participant_id: str) -> dict[str, int]: ...

    async def all_votes(self, board_id: str) -> list[VoteRecord]:
        """Every (participant, note, count>0)."""

    async def cast_mark(
        self, board_id: str, participant_id: str, note_id: str, delta: int, budget: int
    ) -> VoteTally:
        """Cast (+1) or take back (-1) the participant's mark on a note (`mine` is 0 or 1).
        Raises VoteRefused. Never exceeds the budget or one mark per note."""

    async def marks_of(self, board_id: str, participant_id: str) -> list[str]:
        """The notes this participant marked, sorted."""

    async def all_marks(self, board_id: str) -> list[MarkRecord]: ...


class MediaLibrary(Protocol):
    """Photo and voice notes, stored beside their board: deleting a board deletes them."""

    async def put_media(self, media: MediaRecord, quota: MediaQuota | None = None) -> None:
        """Raises StoreError if the board is unknown or the id is taken, MediaQuotaExceeded if
        the board or the uploader (`media.actor`) would pass `quota` (checked and inserted in one
        transaction: concurrent uploads, on any process, never pass it together). The media is
        stored unattached (see `attach_media`)."""

    async def existing_media(self, board_id: str, media_ids: Sequence[str]) -> set[str]:
        """Those of these ids that are media of this board (without reading their bytes)."""

    async def unattached_media(self, before_ts: float, limit: int) -> list[tuple[str, str]]:
        """(board id, media id) of media created before `before_ts` and never seen attached to a
        note, oldest first."""

    async def attach_media(self, board_id: str, media_ids: Sequence[str]) -> None:
        """These media are used by a note (or were): never swept as orphans."""

    async def delete_unattached_media(self, board_id: str, media_ids: Sequence[str]) -> int:
        """Delete those of these media that are still unattached; return how many."""

    async def get_media(self, board_id: str, media_id: str) -> MediaRecord | None:
        """The media only if it belongs to this board (None for another board's id)."""

    async def delete_media_of_board(self, board_id: str) -> int:
        """Delete every media of the board; return how many were deleted."""


class Events(Protocol):
    """The "who did what" feed, decoded from the log once (server/events.py)."""

    async def event_cursor(self, board_id: str) -> int:
        """The seq up to which the board's log has been decoded into events (0: none)."""

    async def save_events(
        self, board_id: str, expected_cursor: int, upto_seq: int, events: Sequence[EventRecord]
    ) -> bool:
        """Store events and move the cursor from `expected_cursor` to `upto_seq`, atomically.
        False (nothing stored) if another writer moved the cursor first."""

    async def events_after(
        self, board_id: str, after_seq: int, limit: int, kinds: Sequence[str] | None = None
    ) -> list[EventRecord]:
        """Events with seq > after_seq in (seq, idx) order, optionally only of some kinds."""


class Privacy(Protocol):
    """Erasing a person (server/http/privacy.py): one transaction over several tables."""

    async def erase_participant(
        self, board_id: str, participant_id: str, erased_name: str, rewrite: HistoryRewriter
    ) -> ErasureCounts:
        """Erase one person, in ONE transaction that first holds the board's appends off: the
        rows `rewrite` returns replace the log's and keyframes'; their name becomes `erased_name`
        and their token is refused; their media are deleted; their hidden notes lose `author`.
        If `rewrite` raises, nothing changes and the exception propagates. StoreError if no such
        participant on this board."""


class HiddenNotes(Protocol):
    """Notes the facilitator took off the board (moderation); deleting a board deletes them."""

    async def put_hidden_note(self, record: HiddenNoteRecord) -> None:
        """Raises StoreError if the board is unknown or the note is already hidden."""

    async def hidden_notes(self, board_id: str) -> list[HiddenNoteRecord]:
        """The board's hidden notes, oldest first."""

    async def take_hidden_note(self, board_id: str, note_id: str) -> HiddenNoteRecord | None:
        """Remove the note from the hidden ones and return it (None if it was not hidden)."""


class Glossary(Protocol):
    """The glossary's records (issue #21): who said "I don't understand" a term, kept only so that
    a person counts once; and who wrote each person's explanation. Deleting a board deletes them;
    erasing a person forgets theirs."""

    async def flag_term(
        self, board_id: str, term_id: str, flagger: str, max_flags: int
    ) -> tuple[int, bool]:
        """Record that `flagger` does not understand the term (once: again changes nothing).
        Returns (the term's count, whether this flag was new). Raises GlossaryFull when the
        board holds `max_flags` flags and this one is new; StoreError for an unknown board."""

    async def term_flags(self, board_id: str) -> dict[str, int]:
        """term id -> how many people flagged it (never who)."""

    async def claim_explanation(self, board_id: str, term_id: str, lang: str, actor: str) -> str:
        """The author on record of the term's explanation in `lang`, else `actor` (now on
        record): first come, first owned, atomically."""

    async def release_explanation(self, board_id: str, term_id: str, lang: str) -> None:
        """The explanation in `lang` was removed: the next person to write one owns it."""


class Store(Protocol):
    """The storage seam: a board's update log (what a room needs, server/store/log.py) and one
    repository per concern. `make_store` picks the implementation; all its repositories share one
    database (or one set of in-memory tables)."""

    @property
    def log(self) -> UpdateLog: ...

    @property
    def boards(self) -> Boards: ...

    @property
    def ballots(self) -> Ballots: ...

    @property
    def media(self) -> MediaLibrary: ...

    @property
    def events(self) -> Events: ...

    @property
    def privacy(self) -> Privacy: ...

    @property
    def moderation(self) -> HiddenNotes: ...

    @property
    def glossary(self) -> Glossary: ...


    async def open(self) -> None:
        """Connect and make sure the schema exists (migrations for SQL)."""

    async def close(self) -> None: ...
