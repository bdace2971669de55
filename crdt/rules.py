"""Who may change what in a board: one table, checked for every incoming update.

`check(actor, changes, board)` returns None (allowed) or a `Refusal`. The table maps a role and a
kind of change — (root, action) with action "create", "replace", "delete" or "set:<field>" — to the
conditions that must all hold. A change with no entry is refused. Lookup falls back from
(root, action) to (root, "*") to ("*", "*").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from crdt import glossary
from crdt.board_state import BoardState
from crdt.fields import (
    CLUSTER_TYPES,
    MAX_CLUSTER_TITLE,
    MAX_MEDIA_ID,
    MAX_NAME,
    MAX_NOTE_BYTES,
    MAX_SHORT,
    MAX_TEXT_BYTES,
    NOTE_KINDS,
    NOTE_TYPES,
    cluster_title_ok,
    is_media_id,
    is_number,
    json_bytes,
    short_str,
    titles_ok,
    translation_problem,
    translations_ok,
    utf8_len,
)
from crdt.schema import (
    CLUSTERS,
    GLOSSARY,
    GLOSSARY_FLAGS,
    LANGUAGES,
    MAX_VOICE_SECONDS,
    META,
    NOTES,
    RESULTS,
)
from crdt.shadow import Change, Shared

Role = Literal["viewer", "participant", "facilitator", "server"]


@dataclass(frozen=True, slots=True)
class Actor:
    role: Role
    id: str  # participant id, or the role name for facilitator / viewer / server
    name: str | None = None  # a participant's name as joined (from the server, not the client)


# ---------------------------------------------------------------- bounds (docs/schema.md)
# A board is bounded in count and in bytes (crdt/board_state.py `MAX_BOARD_BYTES`) so that a
# joiner of the largest allowed board always syncs; a field's value by crdt/fields.py.
MAX_NOTES_PER_BOARD: Final = 10_000
MAX_CLUSTERS_PER_BOARD: Final = 1_000
BOARD_FULL: Final = "the board is full"  # how every refusal over the byte bound begins


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str  # a short English sentence, sent to the client in the auth message


@dataclass(frozen=True, slots=True)
class _Context:
    actor: Actor
    change: Change
    board: BoardState
    new_notes: int  # notes this whole update creates (for the quota)
    new_clusters: int = 0  # clusters this whole update creates
    new_terms: int = 0  # glossary terms this whole update creates


# A condition returns None when it holds, else the reason for refusing.
Condition = Callable[[_Context], str | None]


def board_open(ctx: _Context) -> str | None:
    return "the board is locked" if ctx.board.settings.get("locked") else None


def writing_public(ctx: _Context) -> str | None:
    if ctx.board.settings.get("private_writing"):
        return "private writing is on: notes stay on your device until the facilitator reveals"
    return None


def posting_phase(ctx: _Context) -> str | None:
    """Ideas are posted while ideating and clustering; the vote and results phases are closed."""
    if ctx.board.settings.get("phase") in ("vote", "results"):
        return "posting is closed in the vote and results phases"
    return None


def fresh_note(ctx: _Context) -> str | None:
    return "that note id was already used" if ctx.change.item in ctx.board.note_authors else None


def own_note(ctx: _Context) -> str | None:
    if ctx.board.note_authors.get(ctx.change.item or "") != ctx.actor.id:
        return "you can only change or delete notes you wrote"
    return None


def known_note(ctx: _Context) -> str | None:
    return None if ctx.change.item in ctx.board.note_authors else "no such note"


def _text_limit(ctx: _Context, text: Any) -> str | None:
    if not isinstance(text, str):
        return "a note's text must be a string"
    limit = int(ctx.board.settings.get("max_note_length", 280))
    if len(text) > limit:
        return f"a note holds at most {limit} characters"
    if utf8_len(text) > MAX_TEXT_BYTES:
        return f"a note's text is at most {MAX_TEXT_BYTES} bytes"
    return None


def number_value(ctx: _Context) -> str | None:
    return None if is_number(ctx.change.value) else f"{ctx.change.field} must be a number"


def short_string_value(ctx: _Context) -> str | None:
    if short_str(ctx.change.value):
        return None
    return f"{ctx.change.field} must be a string of at most {MAX_SHORT} characters"


def _max_length(ctx: _Context) -> int:
    return int(ctx.board.settings.get("max_note_length", 280))


def valid_translation(ctx: _Context) -> str | None:
    """Anyone may add, replace or remove one translation of any note (the original stays the
    author's), and start a note's translations map (with its first entries); replacing an
    existing whole `translations` map is the author's, like the text."""
    change = ctx.change
    if (
        change.sub is None
        and change.had_old
        and ctx.board.note_authors.get(change.item or "") != ctx.actor.id
    ):
        return "you can only change or delete notes you wrote"
    return translation_problem(change, _max_length(ctx))


def text_within_limit(ctx: _Context) -> str | None:
    return _text_limit(ctx, ctx.change.value)


def valid_new_note(ctx: _Context) -> str | None:
    note = ctx.change.value
    if not isinstance(note, dict):
        return "a note must be a map"
    if "author" in note and ctx.board.settings.get("anonymous"):
        return "this board is anonymous: notes carry no author"
    if "author" in note and not _author_is_actor(ctx, note["author"]):
        return "a note's author is the name you joined with"
    for key, value in note.items():
        if key == "translations":
            if not translations_ok(value, _max_length(ctx)):
                return "a note's translations must map a language to {text, by, machine}"
            continue
        check_type = NOTE_TYPES.get(key)
        if check_type is None:
            return f"a note has no field {key!r}"
        if isinstance(value, Shared) or not check_type(value):
            return f"a note's {key} has the wrong type or size"
    reason = _text_limit(ctx, note.get("text", ""))
    if reason is None and json_bytes(note) > MAX_NOTE_BYTES:
        return f"a note is at most {MAX_NOTE_BYTES} bytes"
    return reason


def valid_new_cluster(ctx: _Context) -> str | None:
    cluster = ctx.change.value
    if not isinstance(cluster, dict):
        return "a cluster must be a map"
    for key, value in cluster.items():
        if key == "titles":
            if not titles_ok(value):
                return "a cluster's titles map a board language to a title"
            continue
        check_type = CLUSTER_TYPES.get(key)
        if check_type is None:
            return f"a cluster has no field {key!r}"
        if isinstance(value, Shared) or not check_type(value):
            return f"a cluster's {key} has the wrong type or size"
    return None


def cluster_title_value(ctx: _Context) -> str | None:
    if cluster_title_ok(ctx.change.value):
        return None
    return f"a cluster's title is a string of at most {MAX_CLUSTER_TITLE} characters"


def cluster_titles_value(ctx: _Context) -> str | None:
    """Whoever may set `title` may set `titles` (the map, or one language of it; removing one
    language is allowed too)."""
    change = ctx.change
    if change.sub is None:
        ok = not change.deleted and titles_ok(change.value)
    else:
        ok = change.sub in LANGUAGES and (change.deleted or cluster_title_ok(change.value))
    if ok:
        return None
    return f"a cluster's titles map fr, nl or en to at most {MAX_CLUSTER_TITLE} characters"


def duration_value(ctx: _Context) -> str | None:
    if NOTE_TYPES["duration"](ctx.change.value):
        return None
    return f"a voice note's duration is a number of seconds up to {MAX_VOICE_SECONDS}"


def wanted_value(ctx: _Context) -> str | None:
    """`wanted`: language -> when it was asked (ms). The server writes it for
    POST .../translation-requests/{lang}; the facilitator may clear or set it too."""
    change = ctx.change
    if change.sub is None:
        value = change.value.data if isinstance(change.value, Shared) else change.value
        ok = (
            not change.deleted
            and isinstance(value, dict)
            and all(k in LANGUAGES and is_number(v) for k, v in value.items())
        )
    else:
        ok = change.sub in LANGUAGES and (change.deleted or is_number(change.value))
    return None if ok else "a note's wanted translations map fr, nl or en to a time"


def within_cluster_limit(ctx: _Context) -> str | None:
    if ctx.board.live_clusters + ctx.new_clusters > MAX_CLUSTERS_PER_BOARD:
        return f"a board holds at most {MAX_CLUSTERS_PER_BOARD} clusters"
    return None


def name_value(ctx: _Context) -> str | None:
    if short_str(ctx.change.value, MAX_NAME):
        return None
    return f"{ctx.change.field} must be a string of at most {MAX_NAME} characters"


def kind_value(ctx: _Context) -> str | None:
    return None if ctx.change.value in NOTE_KINDS else "a note's kind is text, photo or voice"


def media_value(ctx: _Context) -> str | None:
    ok = is_media_id(ctx.change.value)
    return (
        None if ok else f"media must be an id of at most {MAX_MEDIA_ID} characters A-Z a-z 0-9 _ -"
    )


def any_translation(ctx: _Context) -> str | None:
    """The facilitator (and the server's machine translations) may replace a note's whole
    translations map, still within the schema and `max_note_length`."""
    return translation_problem(ctx.change, _max_length(ctx))


def deleted_value(ctx: _Context) -> str | None:
    """A note or cluster is deleted by writing `deleted: true`; the server then removes the
    entry in the same step, so no other value (nor taking the field away) means anything."""
    if ctx.change.value is True and not ctx.change.deleted:
        return None
    return "an entry is deleted by writing deleted: true"


def refuse(reason: str) -> Condition:
    return lambda ctx: reason


def _author_is_actor(ctx: _Context, author: Any) -> bool:
    return ctx.actor.role != "participant" or ctx.actor.name is None or author == ctx.actor.name


def author_is_actor(ctx: _Context) -> str | None:
    ok = _author_is_actor(ctx, ctx.change.value)
    return None if ok else "a note's author is the name you joined with"


def not_anonymous(ctx: _Context) -> str | None:
    return (
        "this board is anonymous: notes carry no author"
        if ctx.board.settings.get("anonymous")
        else None
    )


def within_note_quota(ctx: _Context) -> str | None:
    limit = int(ctx.board.settings.get("max_notes_per_participant", 50))
    posted = ctx.board.notes_by_actor.get(ctx.actor.id, 0)
    return f"at most {limit} notes per person" if posted + ctx.new_notes > limit else None


def within_board_limit(ctx: _Context) -> str | None:
    if ctx.board.live_notes + ctx.new_notes > MAX_NOTES_PER_BOARD:
        return f"a board holds at most {MAX_NOTES_PER_BOARD} notes"
    return None


# ---------------------------------------------------------------- the glossary (crdt/glossary.py)


def valid_new_term(ctx: _Context) -> str | None:
    value = ctx.change.value
    if not isinstance(value, dict):
        return "a glossary term must be a map"
    if "flags" in value and ctx.actor.role != "server":
        return FLAGS_ARE_COUNTED
    nested = value.get("explanations")
    return glossary.new_term_problem(value, nested.data if isinstance(nested, Shared) else nested)


def within_term_limit(ctx: _Context) -> str | None:
    if ctx.board.live_terms + ctx.new_terms > glossary.MAX_TERMS:
        return f"a board's glossary holds at most {glossary.MAX_TERMS} terms"
    return None


def explanations_value(ctx: _Context) -> str | None:
    """A term's explanations: the whole map, or one language of it (removing one is allowed)."""
    change = ctx.change
    if change.sub is None:
        if change.deleted:
            return None
        value = change.value.data if isinstance(change.value, Shared) else None
        return glossary.explanations_problem(value)
    if change.sub not in LANGUAGES:
        return "a term's explanations map fr, nl or en to an explanation"
    return None if change.deleted else glossary.explanation_problem(change.value)


def flags_value(ctx: _Context) -> str | None:
    """One server process's count of a term's flags (`glossary_flags`)."""
    return glossary.flag_key_problem(ctx.change.item or "", ctx.change.value)


def term_value(ctx: _Context) -> str | None:
    if glossary.visible_text(ctx.change.value, glossary.MAX_TERM_CHARS):
        return None
    return f"a term is 1 to {glossary.MAX_TERM_CHARS} characters of visible text"


def term_lang_value(ctx: _Context) -> str | None:
    return None if ctx.change.value in LANGUAGES else "a term's language is one of fr, nl, en"


FLAGS_ARE_COUNTED: Final = "a term's flags are counted by the server"
# Participants explain terms over HTTP (PUT …/glossary/{term}/explanations/{lang}): the server
# knows who wrote which explanation there (docs/schema.md "The glossary").
EXPLAIN_OVER_HTTP: Final = (
    "glossary explanations are written with "
    "PUT /api/boards/{id}/glossary/{term}/explanations/{lang}"
)

ALLOWED: Final[tuple[Condition, ...]] = ()
ONLY_FACILITATOR_DELETES_CLUSTERS: Final = "only the facilitator can delete clusters"

_MOVE: Final = (board_open, known_note, number_value)
_RECLUSTER: Final = (board_open, known_note, short_string_value)
_OWN_EDIT: Final = (board_open, known_note, own_note)
_CLUSTER_EDIT: Final = (board_open,)
_NEW_CLUSTER: Final = (valid_new_cluster, within_cluster_limit)

RULES: Final[Mapping[Role, Mapping[tuple[str, str], tuple[Condition, ...]]]] = {
    "viewer": {},
    "participant": {
        (NOTES, "create"): (
            board_open,
            posting_phase,
            writing_public,
            fresh_note,
            valid_new_note,
            within_note_quota,
            within_board_limit,
        ),
        (NOTES, "delete"): _OWN_EDIT,
        (NOTES, "set:deleted"): (*_OWN_EDIT, deleted_value),
        (NOTES, "set:text"): (*_OWN_EDIT, text_within_limit),
        (NOTES, "set:color"): (*_OWN_EDIT, short_string_value),
        (NOTES, "set:lang"): (*_OWN_EDIT, short_string_value),
        (NOTES, "set:duration"): (*_OWN_EDIT, duration_value),
        (NOTES, "set:author"): (*_OWN_EDIT, not_anonymous, author_is_actor),
        (NOTES, "set:translations"): (board_open, known_note, valid_translation),
        (NOTES, "set:x"): _MOVE,
        (NOTES, "set:y"): _MOVE,
        (NOTES, "set:cluster"): _RECLUSTER,
        (CLUSTERS, "create"): (*_CLUSTER_EDIT, *_NEW_CLUSTER),
        (CLUSTERS, "set:title"): (*_CLUSTER_EDIT, cluster_title_value),
        (CLUSTERS, "set:titles"): (*_CLUSTER_EDIT, cluster_titles_value),
        (CLUSTERS, "set:x"): (*_CLUSTER_EDIT, number_value),
        (CLUSTERS, "set:y"): (*_CLUSTER_EDIT, number_value),
        (CLUSTERS, "set:color"): (*_CLUSTER_EDIT, short_string_value),
        (CLUSTERS, "set:deleted"): (refuse(ONLY_FACILITATOR_DELETES_CLUSTERS),),
        (GLOSSARY, "*"): (refuse(EXPLAIN_OVER_HTTP),),
        (GLOSSARY_FLAGS, "*"): (refuse(FLAGS_ARE_COUNTED),),
    },
    # The facilitator may change anything, but notes and clusters keep their schema.
    "facilitator": {
        (NOTES, "create"): (fresh_note, valid_new_note, within_board_limit),
        (NOTES, "delete"): ALLOWED,
        (NOTES, "set:deleted"): (known_note, deleted_value),
        (NOTES, "set:text"): (known_note, text_within_limit),
        (NOTES, "set:x"): (known_note, number_value),
        (NOTES, "set:y"): (known_note, number_value),
        (NOTES, "set:createdAt"): (known_note, number_value),
        (NOTES, "set:color"): (known_note, short_string_value),
        (NOTES, "set:cluster"): (known_note, short_string_value),
        (NOTES, "set:lang"): (known_note, short_string_value),
        (NOTES, "set:author"): (known_note, not_anonymous, name_value),
        (NOTES, "set:kind"): (known_note, kind_value),
        (NOTES, "set:media"): (known_note, media_value),
        (NOTES, "set:translations"): (known_note, any_translation),
        (NOTES, "set:duration"): (known_note, duration_value),
        (NOTES, "set:wanted"): (known_note, wanted_value),
        (NOTES, "*"): (refuse("a note has no such field"),),
        (CLUSTERS, "create"): _NEW_CLUSTER,
        (CLUSTERS, "delete"): ALLOWED,
        (CLUSTERS, "set:deleted"): (deleted_value,),
        (CLUSTERS, "set:title"): (cluster_title_value,),
        (CLUSTERS, "set:titles"): (cluster_titles_value,),
        (CLUSTERS, "set:x"): (number_value,),
        (CLUSTERS, "set:y"): (number_value,),
        (CLUSTERS, "set:color"): (short_string_value,),
        (CLUSTERS, "*"): (refuse("a cluster has no such field"),),
        (RESULTS, "*"): (refuse("results are written by the server only"),),
        (GLOSSARY, "create"): (valid_new_term, within_term_limit),
        (GLOSSARY, "delete"): ALLOWED,
        (GLOSSARY, "set:explanations"): (explanations_value,),
        (GLOSSARY, "set:term"): (term_value,),
        (GLOSSARY, "set:lang"): (term_lang_value,),
        (GLOSSARY, "set:createdAt"): (number_value,),
        (GLOSSARY, "*"): (refuse("a glossary term has no such field"),),
        (GLOSSARY_FLAGS, "*"): (refuse(FLAGS_ARE_COUNTED),),
        ("*", "*"): ALLOWED,
    },
    "server": {
        # Machine translations: the server writes them for the board, within the note schema.
        (NOTES, "set:translations"): (known_note, any_translation),
        (META, "*"): ALLOWED,
        (RESULTS, "*"): ALLOWED,
        # Terms flagged over HTTP, their counts, and explanations written for a person over
        # HTTP (who may write which is decided there: crdt/glossary.py `may_explain`) or by
        # the machine translator: within the glossary's schema and bounds.
        (GLOSSARY, "create"): (valid_new_term, within_term_limit),
        (GLOSSARY_FLAGS, "create"): (flags_value,),
        (GLOSSARY_FLAGS, "replace"): (flags_value,),
        (GLOSSARY, "set:explanations"): (explanations_value,),
    },
}

_NOT_ALLOWED: Final[Mapping[Role, str]] = {
    "viewer": "viewers cannot change the board",
    "participant": "participants cannot make this change",
    "facilitator": "facilitators cannot make this change",
    "server": "the server cannot make this change",
}


def kind_of(change: Change) -> str:
    return f"set:{change.field}" if change.action == "set" else change.action


def conditions_for(role: Role, change: Change) -> tuple[Condition, ...] | None:
    table = RULES[role]
    kind = kind_of(change)
    for key in ((change.root, kind), (change.root, "*"), ("*", "*")):
        if key in table:
            return table[key]
    return None


def _deletes(change: Change) -> bool:
    return change.action == "delete" or (change.action == "set" and change.field == "deleted")


def check(
    actor: Actor, changes: Sequence[Change], board: BoardState, size: int = 0
) -> Refusal | None:
    """`size`: the update's length in bytes (what storing it adds to the board, at most)."""
    if any(not _deletes(c) for c in changes) and board.over_bytes(size):
        # Deleting still works on a full board (and frees room at the next measurement).
        return Refusal(f"{BOARD_FULL}: at most {(board.max_bytes or 0) / 2**20:g} MiB")
    new_notes = sum(1 for c in changes if c.root == NOTES and c.action == "create")
    new_clusters = sum(1 for c in changes if c.root == CLUSTERS and c.action == "create")
    new_terms = sum(1 for c in changes if c.root == GLOSSARY and c.action == "create")
    for change in changes:
        conditions = conditions_for(actor.role, change)
        if conditions is None:
            return Refusal(_NOT_ALLOWED[actor.role])
        ctx = _Context(actor, change, board, new_notes, new_clusters, new_terms)
        for condition in conditions:
            reason = condition(ctx)
            if reason is not None:
                return Refusal(reason)
    return None


def created_notes(changes: Sequence[Change]) -> list[str]:
    return [c.item for c in changes if c.root == NOTES and c.action == "create" and c.item]


def soft_deleted(changes: Sequence[Change]) -> list[tuple[str, str]]:
    """(root, id) of the notes and clusters these (accepted) changes mark `deleted: true`, or
    create so marked: the server removes them in the same step."""
    out: dict[tuple[str, str], None] = {}
    for c in changes:
        if c.root not in (NOTES, CLUSTERS) or not c.item:
            continue
        marked = c.action == "set" and c.field == "deleted" and not c.deleted and c.value is True
        created = c.action == "create" and isinstance(c.value, dict)
        if marked or (created and c.value.get("deleted") is True):
            out[(c.root, c.item)] = None
    return list(out)
