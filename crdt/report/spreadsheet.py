"""The results as a spreadsheet-safe CSV, in FR/NL/EN: one row per note, ranked, with its
support in plain words and per group its size, voters, dots and share."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from crdt.report.escaping import neutralise
from crdt.report.model import translations_of
from crdt.report.sentences import cluster_title, group_label, support_summary
from crdt.report.strings import STRINGS, pick_lang

CSV_HEADERS: dict[str, dict[str, str]] = {
    # English keeps the original machine-friendly headers (and `,`): existing scripts read them.
    "en": {
        "rank": "rank",
        "note_id": "note_id",
        "text": "text",
        "cluster": "cluster",
        "total": "total_dots",
        "consensus": "consensus",
        "divisive": "divisive",
        "dots": "dots:{g}",
        "share": "share:{g}",
        "lang": "language",
        "text_in": "text:{lang}",
        "machine": "machine_translated",
        "yes": "yes",
        "no": "no",
        # branch results
        "type": "type",
        "kinds": "text|photo|voice",
        "support": "in_words",
        "voters": "voters:{g}",
        "against_g": "against:{g}",
        "against": "against_marks",
        "people_g": "people:{g}",
        "group_voters_g": "group_voters:{g}",
    },
    "fr": {
        "rank": "rang",
        "note_id": "id de l'idée",
        "text": "texte",
        "cluster": "groupe d'idées",
        "total": "points",
        "consensus": "consensus",
        "divisive": "divise",
        "dots": "points : {g}",
        "share": "soutien : {g}",
        "lang": "langue",
        "text_in": "texte : {lang}",
        "machine": "traduction automatique",
        "yes": "oui",
        "no": "non",
        # branch results
        "type": "type",
        "kinds": "texte|photo|note vocale",
        "support": "en mots",
        "voters": "votant·es pour : {g}",
        "against_g": "pas d'accord : {g}",
        "against": "marques pas d'accord",
        "people_g": "personnes : {g}",
        "group_voters_g": "votant·es du groupe : {g}",
    },
    "nl": {
        "rank": "rang",
        "note_id": "id van het idee",
        "text": "tekst",
        "cluster": "cluster",
        "total": "stippen",
        "consensus": "consensus",
        "divisive": "verdeeld",
        "dots": "stippen: {g}",
        "share": "steun: {g}",
        "lang": "taal",
        "text_in": "tekst: {lang}",
        "machine": "machinevertaling",
        "yes": "ja",
        "no": "nee",
        # branch results
        "type": "soort",
        "kinds": "tekst|foto|spraakbericht",
        "support": "in woorden",
        "voters": "stemmers voor: {g}",
        "against_g": "niet akkoord: {g}",
        "against": "niet-akkoordmarkeringen",
        "people_g": "personen: {g}",
        "group_voters_g": "stemmers van de groep: {g}",
    },
}


def results_csv(
    results: Mapping[str, Any],
    groups: Sequence[str],
    lang: str = "en",
    notes: Mapping[str, Any] | None = None,
    languages: Sequence[str] = (),
    voice_seconds: Mapping[str, float] | None = None,
    group_labels: Mapping[str, Mapping[str, str]] | None = None,
    clusters: Mapping[str, Any] | None = None,
) -> str:
    """One row per note, ranked as in the results: type, text, cluster, dots, the support in plain
    words, and per group its size and voters (the same on every row: what "of m" counts), then on
    the idea its dots, voters for, "I disagree" marks (when in use) and share.

    `type` is text, photo or voice; a photo or voice note without a caption gets a text that says
    what it is ("photo", "voice note, 12 s" with `voice_seconds`). A group with no voters has an
    empty share (not 0). With the board's `notes` and `languages`: after the text, the note's
    language, one column per board language (the original in its own language, a translation in
    the others, empty if none) and the languages machine-translated. en: `,` and a decimal point;
    fr/nl: `;` and a decimal comma, headers in that language (what a Belgian Excel opens as
    columns). Text cells are neutralised against formula injection. Groups read as their
    `group_labels` in `lang` (headers and words), clusters as their title in `lang` (the board's
    `clusters`' `titles`) where one was written."""
    lang = pick_lang(lang)
    h = CSV_HEADERS[lang]
    t = STRINGS[lang]
    comma = lang != "en"
    marks = bool(results.get("disagree_marks"))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if comma else ",", lineterminator="\r\n")
    per_lang = list(languages) if notes is not None else []
    kind_names = dict(zip(("text", "photo", "voice"), h["kinds"].split("|"), strict=True))

    def number(value: float | None) -> str:
        if value is None:
            return ""
        text = f"{value:.3f}"
        return text.replace(".", ",") if comma else text

    def in_languages(note_id: str, text: str) -> list[str]:
        if not per_lang:
            return []
        note: Mapping[str, Any] = (notes or {}).get(note_id, {})
        found = {code: (tr, machine) for code, tr, machine in translations_of(note, per_lang)}
        cells = [note.get("lang") or ""]
        for code in per_lang:
            cells.append(text if code == note.get("lang") else found.get(code, ("", False))[0])
        cells.append(" ".join(code for code, (_t, machine) in found.items() if machine))
        return [neutralise(str(cell)) for cell in cells]

    def kind_and_text(note_id: str, text: str) -> tuple[str, str]:
        kind = (notes or {}).get(note_id, {}).get("kind")
        kind = kind if kind in ("photo", "voice") else "text"
        if text or kind == "text":
            return kind, text
        seconds = (voice_seconds or {}).get(note_id)
        if kind == "voice" and seconds is not None:
            return kind, t["voice_for"].format(s=round(seconds))
        return kind, t[kind].lower()

    cluster_titles = {
        c["cluster_id"]: cluster_title(c["title"], (clusters or {}).get(c["cluster_id"]), lang)
        for c in results.get("clusters", [])
    }
    summaries: Mapping[str, Mapping[str, int]] = results.get("groups", {})
    names = list(summaries) or list(groups)
    words = {g: group_label(g, lang, group_labels) for g in names}
    labels = [words[g] for g in names]
    language_headers = (
        [h["lang"], *(h["text_in"].format(lang=code) for code in per_lang), h["machine"]]
        if per_lang
        else []
    )

    def per_group(key: str) -> list[str]:
        return [neutralise(h[key].format(g=label)) for label in labels]

    writer.writerow(
        [
            *(h["rank"], h["note_id"], h["type"], h["text"], *language_headers, h["cluster"]),
            *(h["total"], *([h["against"]] if marks else []), h["consensus"], h["divisive"]),
            *(h["support"], *per_group("people_g"), *per_group("group_voters_g")),
            *(*per_group("dots"), *per_group("voters")),
            *(per_group("against_g") if marks else []),
            *per_group("share"),
        ]
    )
    for rank, note in enumerate(results.get("notes", []), start=1):
        by_group = note.get("by_group", {})
        kind, text = kind_and_text(note["note_id"], note["text"])
        tallies = [by_group.get(g, {}) for g in names]
        writer.writerow(
            [
                rank,
                neutralise(note["note_id"]),
                kind_names[kind],
                neutralise(text),
                *in_languages(note["note_id"], note["text"]),
                neutralise(cluster_titles.get(note.get("cluster"), "")),
                note["total"],
                *([note.get("against", 0)] if marks else []),
                number(note["consensus"]),
                h["yes"] if note["divisive"] else h["no"],
                neutralise(support_summary(t, note, summaries, marks, words)),
            ]
            + [summaries.get(g, {}).get("participants", 0) for g in names]
            + [summaries.get(g, {}).get("voters", 0) for g in names]
            + [tally.get("dots", 0) for tally in tallies]
            + [tally.get("voters", 0) for tally in tallies]
            + ([tally.get("against", 0) for tally in tallies] if marks else [])
            + [number(tally.get("share")) for tally in tallies]
        )
    return out.getvalue()
