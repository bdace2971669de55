"""The board's glossary: words that stopped people, and the plain-words explanations the board
writes for them (issue #21; docs/schema.md "The glossary").

The root `glossary` of the board document maps a term id to a Y.Map:
  term         the word or words as first flagged (1-60 characters of visible text)
  lang         the language of the note it was flagged in (fr, nl, en)
  createdAt    ms since the epoch
  flags        how many people said "I don't understand" (a number the server writes: who
               flagged is never in the document, only in the server's `glossary_flags` table)
  explanations Y.Map lang -> {text, machine, example?, by?}: one per board language

"The whole note" is not a term (a note may be longer than a term's 60 characters): it is a
note-level flag, counted like a term's under the id `note:{note id}` (`note_flag_id`), in the same
root and the same table, anonymous alike, within the same 2,000 flags per board. Its count is
shown to the note's author and the facilitator ("3 people did not understand this note").

A term id is derived from the term's folded form (`term_id`), so the same word flagged on two
notes (or by two processes at once) is one entry. Matching (`occurs`, `terms_in`) is accent- and
case-insensitive on whole words: "Leefloon" matches "leefloon", "epicerie sociale" matches
"Épicerie  sociale".

Pure: no I/O; the rules table (crdt/rules.py) uses the checks below.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pycrdt import Doc, Map

from crdt.schema import GLOSSARY, GLOSSARY_FLAGS, LANGUAGES, NOTES

TERM_FIELDS: Final = frozenset({"term", "lang", "createdAt", "explanations"})
MAX_WRITER_CHARS: Final = 40  # a server process's id in a `glossary_flags` key
EXPLANATION_FIELDS: Final = frozenset({"text", "machine", "example", "by"})
MAX_TERM_CHARS: Final = 60
MAX_TERMS: Final = 300  # terms per board
MAX_FLAGS: Final = 2_000  # flags per board (all terms together)
MAX_EXPLANATION_CHARS: Final = 600  # per language
MAX_EXAMPLE_CHARS: Final = 200
MAX_BY: Final = 100
# A term can never be longer than this in UTF-8 (60 characters of at most 4 bytes each).
MAX_TERM_BYTES: Final = 4 * MAX_TERM_CHARS

_INVISIBLE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_SPACES: Final = re.compile(r"\s+")


def visible_text(value: Any, limit: int) -> bool:
    """A string of 1..limit characters, with something visible, no control characters, no
    lone surrogates (what a person can read and type)."""
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        return False
    if any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" for ch in value):
        return False
    return any(
        unicodedata.category(ch) not in _INVISIBLE_CATEGORIES and not ch.isspace() for ch in value
    )


def fold(text: str) -> str:
    """The form terms are compared in: no accents, case-folded, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", bare.casefold()).strip()


def term_id(term: str) -> str:
    """The id of a term's entry: the same for every spelling that folds alike."""
    return "t" + hashlib.sha256(fold(term).encode("utf-8", "surrogatepass")).hexdigest()[:20]


def occurs(term: str, text: str) -> bool:
    """Is `term` a whole word (or words) of `text`, ignoring accents, case and spacing?"""
    needle = fold(term)
    if not needle:
        return False
    pattern = r"(?<!\w)" + re.escape(needle).replace(r"\ ", r"\s+") + r"(?!\w)"
    return re.search(pattern, fold(text)) is not None


@dataclass(frozen=True, slots=True)
class Explanation:
    text: str
    machine: bool = False
    example: str = ""
    by: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "machine": self.machine}
        if self.example:
            out["example"] = self.example
        if self.by is not None:
            out["by"] = self.by
        return out


@dataclass(frozen=True, slots=True)
class Term:
    id: str
    term: str
    lang: str | None
    flags: int
    created_at: float | None
    explanations: dict[str, Explanation] = field(default_factory=dict)

    @property
    def explained(self) -> bool:
        """Someone (a person, not only the machine) explained it."""
        return any(not e.machine for e in self.explanations.values())

    def explanation_in(self, lang: str | None) -> Explanation | None:
        """What a reader of `lang` sees: theirs, else a person's in another language."""
        if lang in self.explanations:
            return self.explanations[lang]
        human = [e for e in self.explanations.values() if not e.machine]
        return human[0] if human else next(iter(self.explanations.values()), None)

    def to_json(self) -> dict[str, Any]:
        """The public shape (GET …/glossary, exports): a count of flags, never who."""
        return {
            "id": self.id,
            "term": self.term,
            "lang": self.lang,
            "flags": self.flags,
            "explanations": {lang: e.to_json() for lang, e in self.explanations.items()},
        }


def explanation_from(value: Any) -> Explanation | None:
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        return None
    example = value.get("example")
    by = value.get("by")
    return Explanation(
        text=value["text"],
        machine=value.get("machine") is True,
        example=example if isinstance(example, str) else "",
        by=by if isinstance(by, str) else None,
    )


def term_from_py(term_id_: str, data: Mapping[str, Any], flags: int = 0) -> Term | None:
    """A term from its entry's plain content; `flags` its count (`flag_counts`)."""
    term = data.get("term")
    if not isinstance(term, str) or not term:
        return None
    created: Any = data.get("createdAt")
    raw = data.get("explanations")
    explanations: dict[str, Explanation] = {}
    if isinstance(raw, dict):
        for lang in LANGUAGES:
            entry = explanation_from(raw.get(lang))
            if entry is not None and entry.text:
                explanations[lang] = entry
    term_lang = data.get("lang")
    return Term(
        id=term_id_,
        term=term,
        lang=term_lang if isinstance(term_lang, str) and term_lang in LANGUAGES else None,
        flags=flags,
        created_at=float(created) if _number(created) else None,
        explanations=explanations,
    )


NOTE_FLAG_PREFIX: Final = "note:"
MAX_NOTE_ID_CHARS: Final = 64


def note_flag_id(note_id: str) -> str:
    """The id under which "I don't understand the whole note" is counted (never a term id: those
    are "t" + hex)."""
    return NOTE_FLAG_PREFIX + note_id


def flag_key(term_id_: str, writer: str) -> str:
    """The key under which one server process writes a term's count in `glossary_flags`."""
    return f"{term_id_}@{writer}"


def _largest(entries: Mapping[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key, value in entries.items():
        flag_id, at, _writer = str(key).rpartition("@")
        if at and flag_id and _count(value):
            counts[flag_id] = max(counts.get(flag_id, 0), int(value))
    return counts


def flag_counts(entries: Mapping[str, Any]) -> dict[str, int]:
    """Each term's count of flags from the `glossary_flags` root: the largest any process wrote.
    Every process writes the shared store's count (which only grows) under its own key, so the
    largest is the latest, and two processes counting at once never overwrite each other."""
    return {key: n for key, n in _largest(entries).items() if not key.startswith(NOTE_FLAG_PREFIX)}


def note_flag_counts(entries: Mapping[str, Any]) -> dict[str, int]:
    """Each note's count of "I don't understand the whole note" (note id -> count), alike."""
    return {
        key.removeprefix(NOTE_FLAG_PREFIX): n
        for key, n in _largest(entries).items()
        if key.startswith(NOTE_FLAG_PREFIX)
    }


def flag_key_problem(key: str, value: Any) -> str | None:
    """A server write into `glossary_flags`: a term id and a writer, and a count."""
    term_id_, at, writer = key.rpartition("@")
    note_id = term_id_.removeprefix(NOTE_FLAG_PREFIX)
    if note_id != term_id_:
        ok = 0 < len(note_id) <= MAX_NOTE_ID_CHARS and "@" not in note_id
    else:
        ok = 0 < len(term_id_) <= 64
    if not at or not ok or not 0 < len(writer) <= MAX_WRITER_CHARS:
        return "a glossary flags key is '<term id>@<writer>' or 'note:<note id>@<writer>'"
    if not _count(value):
        return f"a term's flags are a count from 0 to {MAX_FLAGS}"
    return None


def terms_of(doc: Doc[Any]) -> list[Term]:
    """The board's terms, most flagged first (then by term)."""
    root = doc.get(GLOSSARY, type=Map)
    counts = flag_counts(doc.get(GLOSSARY_FLAGS, type=Map).to_py() or {})
    out = []
    for key, value in root.items():
        if isinstance(value, Map):
            term = term_from_py(key, value.to_py() or {}, counts.get(key, 0))
            if term is not None:
                out.append(term)
    return ranked(out)


def unclear_notes(doc: Doc[Any]) -> list[tuple[str, int]]:
    """(note id, count) of the notes still on the board that people did not understand as a
    whole, most flagged first (then by id)."""
    counts = note_flag_counts(doc.get(GLOSSARY_FLAGS, type=Map).to_py() or {})
    notes = doc.get(NOTES, type=Map)
    found = [(note_id, n) for note_id, n in counts.items() if n > 0 and note_id in notes]
    return sorted(found, key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True, slots=True)
class UnclearNote:
    """A note people did not understand as a whole, as the report lists it: its text, or (a
    voice note or a photo without caption) what it is, then how many people."""

    text: str  # "" when it has none
    kind: str  # "text", "photo" or "voice"
    seconds: float | None  # a voice note's length
    flags: int


def unclear_note_texts(doc: Doc[Any]) -> list[UnclearNote]:
    """`unclear_notes` as the report lists them (`UnclearNote`), most flagged first."""
    notes = doc.get(NOTES, type=Map)
    out = []
    for note_id, n in unclear_notes(doc):
        note = notes.get(note_id)
        fields = note.to_py() if isinstance(note, Map) else None
        fields = fields if isinstance(fields, dict) else {}
        text = fields.get("text")
        kind = fields.get("kind")
        seconds = fields.get("duration")
        out.append(
            UnclearNote(
                text=text.strip() if isinstance(text, str) else "",
                kind=kind if kind in ("photo", "voice") else "text",
                seconds=float(seconds)
                if isinstance(seconds, int | float) and not isinstance(seconds, bool)
                else None,
                flags=n,
            )
        )
    return out


def ranked(terms: Iterable[Term]) -> list[Term]:
    return sorted(terms, key=lambda t: (-t.flags, fold(t.term), t.id))


def terms_in(texts: Iterable[str], terms: Iterable[Term]) -> list[Term]:
    """The terms that occur in any of `texts` (a note's text and its translations)."""
    texts = [t for t in texts if t]
    return [term for term in terms if any(occurs(term.term, text) for text in texts)]


# ---------------------------------------------------------------- checks used by crdt/rules.py


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 2**53


def _count(value: Any) -> bool:
    return _number(value) and 0 <= value <= MAX_FLAGS and float(value).is_integer()


def explanation_problem(value: Any) -> str | None:
    """What is wrong with one explanation {text, machine, example?, by?} (plain JSON)."""
    if not isinstance(value, dict) or not set(value) <= EXPLANATION_FIELDS:
        return "an explanation is {text, machine, example, by}"
    text = value.get("text")
    if not visible_text(text, MAX_EXPLANATION_CHARS):
        return f"an explanation is a visible text of at most {MAX_EXPLANATION_CHARS} characters"
    example = value.get("example", "")
    if not (example == "" or visible_text(example, MAX_EXAMPLE_CHARS)):
        return f"an example is a visible text of at most {MAX_EXAMPLE_CHARS} characters"
    if not isinstance(value.get("machine", False), bool):
        return "an explanation's machine is true or false"
    by = value.get("by")
    if by is not None and not (isinstance(by, str) and len(by) <= MAX_BY):
        return f"an explanation's by is a string of at most {MAX_BY} characters"
    return None


def explanations_problem(value: Any) -> str | None:
    """A term's whole `explanations` map: board language -> explanation."""
    if not isinstance(value, dict):
        return "a term's explanations map fr, nl or en to an explanation"
    for lang, entry in value.items():
        if lang not in LANGUAGES:
            return "a term's explanations map fr, nl or en to an explanation"
        reason = explanation_problem(entry)
        if reason is not None:
            return reason
    return None


def new_term_problem(value: Any, explanations: Any) -> str | None:
    """A new term entry; `explanations` is the plain content of its nested map, if any."""
    if not isinstance(value, dict):
        return "a glossary term must be a map"
    unknown = set(value) - TERM_FIELDS
    if unknown:
        return f"a glossary term has no field {sorted(unknown)[0]!r}"
    if not visible_text(value.get("term"), MAX_TERM_CHARS):
        return f"a term is 1 to {MAX_TERM_CHARS} characters of visible text"
    if value.get("lang") not in LANGUAGES:
        return f"a term's language is one of {', '.join(LANGUAGES)}"
    if "createdAt" in value and not _number(value["createdAt"]):
        return "createdAt must be a number"
    if "explanations" in value:
        return explanations_problem(explanations)
    return None


def may_explain(role: str, actor_id: str, owner: str | None) -> str | None:
    """May this person write (or remove) the explanation of a term in one language, whose human
    explanation `owner` wrote (None: none yet, or only a machine one)? None if so, else why not.
    A participant writes a new one or edits their own; the facilitator edits all; viewers
    nothing."""
    if role == "facilitator":
        return None
    if role != "participant":
        return "viewers cannot change the board"
    if owner is None or owner == actor_id:
        return None
    return NOT_YOURS


NOT_YOURS: Final = (
    "someone else explained this term in this language: only they or the facilitator change it"
)
