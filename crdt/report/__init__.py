"""The take-home report of a board: Markdown, SVG picture and a spreadsheet-safe CSV, in FR/NL/EN.

Pure: standard library only. The server gathers a `ReportInput` (model.py) and a renderer turns
it into one format: markdown.py, spreadsheet.py (CSV), picture.py (SVG). They share the words
(strings.py), the results in plain words (sentences.py) and the escaping of what people wrote
(escaping.py).

Definitions used by the report:
- "backed by every group": consensus >= 1/2, i.e. in every group that voted at least half of its
  voters put a dot on the idea (and at least one group voted);
- "divisive": the results' own flag (on evidence: one group backs it, another marked "I
  disagree"; see crdt/results.py);
- participation per group: notes posted and dots cast by its members against its size, and how
  many members did neither (a count, never names).
Every share is said with the counts it comes from ("chosen by 4 of 5"); a group with no voters
says so instead of "0 %". Author names appear only on boards that are not anonymous. Times are
in the board's time zone.
"""

from __future__ import annotations

from crdt.report.escaping import md_text, neutralise
from crdt.report.markdown import render_markdown
from crdt.report.model import Person, ReportInput
from crdt.report.picture import render_svg
from crdt.report.spreadsheet import results_csv
from crdt.report.strings import LANGS, pick_lang

__all__ = [
    "LANGS",
    "Person",
    "ReportInput",
    "md_text",
    "neutralise",
    "pick_lang",
    "render_markdown",
    "render_svg",
    "results_csv",
]
