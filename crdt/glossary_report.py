"""The glossary in the take-home report: a Markdown section (the printable page renders the
Markdown) and a CSV, in FR/NL/EN. Counts of flags only: who asked is never known here."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from crdt.glossary import Term, UnclearNote
from crdt.report import md_text, neutralise, pick_lang

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "heading": "Glossary: words that stopped people",
        "asked": "{n} person asked|{n} people asked",
        "unexplained": "not explained yet",
        "machine": "machine translation",
        "example": "example",
        "csv_header": "term,language,asked,explanation_language,explanation,machine,example",
        "notes_heading": "Notes people did not understand",
        "notes_asked": "{n} person did not understand it|{n} people did not understand it",
        "voice": "voice note",
        "voice_for": "voice note, {s} s",
        "photo": "photo without caption",
        "empty": "empty note",
    },
    "fr": {
        "heading": "Glossaire : les mots qui ont arrêté des personnes",
        "asked": "{n} personne a demandé|{n} personnes ont demandé",
        "unexplained": "pas encore expliqué",
        "machine": "traduction automatique",
        "example": "exemple",
        "csv_header": "terme;langue;demandes;langue_explication;explication;automatique;exemple",
        "notes_heading": "Notes que des personnes n’ont pas comprises",
        "notes_asked": "{n} personne ne l’a pas comprise|{n} personnes ne l’ont pas comprise",
        "voice": "note vocale",
        "voice_for": "note vocale, {s} s",
        "photo": "photo sans légende",
        "empty": "note vide",
    },
    "nl": {
        "heading": "Woordenlijst: woorden die mensen tegenhielden",
        "asked": "{n} persoon vroeg het|{n} personen vroegen het",
        "unexplained": "nog niet uitgelegd",
        "machine": "machinevertaling",
        "example": "voorbeeld",
        "csv_header": "term;taal;vragen;taal_uitleg;uitleg;machine;voorbeeld",
        "notes_heading": "Notities die mensen niet begrepen",
        "notes_asked": "{n} persoon begreep ze niet|{n} personen begrepen ze niet",
        "voice": "spraaknotitie",
        "voice_for": "spraaknotitie, {s} s",
        "photo": "foto zonder bijschrift",
        "empty": "lege notitie",
    },
}


def _asked(t: dict[str, str], n: int, key: str = "asked") -> str:
    one, many = t[key].split("|")
    return (one if n == 1 else many).format(n=n)


def unclear_notes_markdown(notes: Sequence[UnclearNote], lang: str) -> str:
    """The notes people did not understand as a whole ("the whole note": a note-level flag,
    crdt/glossary.py), most flagged first; empty when none. Counts only. A note with text is
    quoted; a voice note or a photo without caption is named by what it is."""
    if not notes:
        return ""
    t = STRINGS[pick_lang(lang)]
    out = [f"## {t['notes_heading']}", ""]
    for note in notes:
        out.append(f"- {_note_name(t, note)} — {_asked(t, note.flags, 'notes_asked')}")
    return "\n".join([*out, "", ""])


def _note_name(t: dict[str, str], note: UnclearNote) -> str:
    if note.text:
        return f"“{md_text(note.text)}”"
    if note.kind == "voice" and note.seconds:
        return t["voice_for"].format(s=max(1, round(note.seconds)))
    return t[{"voice": "voice", "photo": "photo"}.get(note.kind, "empty")]


def markdown(terms: Sequence[Term], lang: str) -> str:
    """The section (empty when the board has no glossary), explanations in the board's order:
    the reader's language first, then the others."""
    if not terms:
        return ""
    lang = pick_lang(lang)
    t = STRINGS[lang]
    out = [f"## {t['heading']}", ""]
    for term in terms:
        state = "" if term.explained else f"; {t['unexplained']}"
        # (No emphasis: the printable page, static/report.js, renders plain list items.)
        head = f"“{md_text(term.term)}” ({term.lang or '?'})"
        out.append(f"- {head} — {_asked(t, term.flags)}{state}")
        # The reader's language, then people's explanations, then the machine's.
        others = [o for o in term.explanations if o != lang]
        order = [lang, *sorted(others, key=lambda o: term.explanations[o].machine)]
        for other in order:
            entry = term.explanations.get(other)
            if entry is None:
                continue
            machine = f" ({t['machine']})" if entry.machine else ""
            line = f"  - {other}: {md_text(entry.text)}{machine}"
            if entry.example:
                line += f" — {t['example']}: {md_text(entry.example)}"
            out.append(line)
    return "\n".join([*out, "", ""])


def csv_text(terms: Sequence[Term], lang: str) -> str:
    """One row per explanation (a term without any: one row with empty explanation cells).
    English uses `,`, French and Dutch `;` (like the results CSV)."""
    lang = pick_lang(lang)
    t = STRINGS[lang]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="," if lang == "en" else ";", lineterminator="\r\n")
    writer.writerow(t["csv_header"].split("," if lang == "en" else ";"))
    for term in terms:
        head = [neutralise(term.term), term.lang or "", str(term.flags)]
        if not term.explanations:
            writer.writerow([*head, "", "", "", ""])
        for other, entry in term.explanations.items():
            writer.writerow(
                [
                    *head,
                    other,
                    neutralise(entry.text),
                    "1" if entry.machine else "0",
                    neutralise(entry.example),
                ]
            )
    return buffer.getvalue()
