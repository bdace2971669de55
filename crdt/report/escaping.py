"""Any text a person wrote, made safe for where a report puts it: a Markdown line, an SVG (XML)
text node or attribute, a spreadsheet cell (never read as a formula)."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape


def md_text(text: str) -> str:
    # One line per idea (no newline can start a heading); characters that would start Markdown
    # structure (emphasis, links, images, autolinks, raw HTML, headings, tables) are escaped;
    # control characters are dropped.
    flat = " ".join(printable(text).split())
    for ch in "\\`*_[]<>#|":
        flat = flat.replace(ch, "\\" + ch)
    return flat


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """Without the characters XML 1.0 forbids (and that no report should print): C0 controls
    other than tab/newline/CR, DEL, lone surrogates, U+FFFE/U+FFFF."""
    return _CONTROL.sub("", text)


def xml_text(text: str) -> str:
    """Text for an SVG text node or attribute: well-formed XML whatever the note holds."""
    return escape(printable(text), {'"': "&quot;"})


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A text cell that a spreadsheet would read as a formula gets a leading apostrophe."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
