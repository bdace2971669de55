"""The board as a picture (SVG): clusters as titled frames around their notes, notes with their
text, translations, photo or voice label, and dots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from crdt.report.escaping import xml_text
from crdt.report.model import translations_of
from crdt.report.sentences import cluster_title
from crdt.report.strings import LANGS, STRINGS

NOTE_W, NOTE_H = 200, 120
# The client's note colours (static/style.css --note-*); anything else falls back to yellow.
NOTE_COLORS = {
    "yellow": "#fff3a3",
    "pink": "#ffd6e7",
    "blue": "#cfe6ff",
    "green": "#d4f5d0",
    "orange": "#ffe0b8",
    "purple": "#e8dcff",
}
PAD = 40
LINE_CHARS = 24
MAX_LINES = 5


def _wrap(text: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        while len(word) > LINE_CHARS:
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:LINE_CHARS])
            word = word[LINE_CHARS:]
        if current and len(current) + 1 + len(word) > LINE_CHARS:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = lines[-1][: LINE_CHARS - 1] + "…"
    return lines


def _clip(text: str, chars: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[: chars - 1] + "…"


def render_svg(
    board: Mapping[str, Any],
    results: Mapping[str, Any],
    pictures: Mapping[str, str] | None = None,
    languages: Sequence[str] = LANGS,
    lang: str | None = None,
) -> str:
    """The board as a picture: clusters as titled frames around their notes (titled in `lang`
    where a title in it was written; no `lang`: the main titles), notes with their
    text and, below it, their translations in the board's other languages (one line each, smaller,
    `[nl] …`, `*` after a machine one); a photo note shows its picture (`pictures`: media id ->
    data: URI) above its caption, a voice note "♪ voice note, 12 s" above its caption; dots as a
    count on each note. Coordinates are the board's own."""
    notes: dict[str, Any] = dict(board.get("notes", {}))
    clusters: dict[str, Any] = dict(board.get("clusters", {}))
    pictures = pictures or {}
    words = STRINGS[lang if lang in STRINGS else "en"]
    totals = {n["note_id"]: n["total"] for n in results.get("notes", [])}
    xs = [float(n["x"]) for n in notes.values()] + [float(c["x"]) for c in clusters.values()]
    ys = [float(n["y"]) for n in notes.values()] + [float(c["y"]) for c in clusters.values()]
    left, top = (min(xs) - PAD, min(ys) - PAD - 40) if xs else (0.0, 0.0)
    right = (max(xs) + NOTE_W + PAD) if xs else 400.0
    bottom = (max(ys) + NOTE_H + PAD) if ys else 200.0
    width, height = right - left, bottom - top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{left:g} {top:g} {width:g} {height:g}"'
        f' width="{width:g}" height="{height:g}" font-family="system-ui, sans-serif">',
        f'<rect x="{left:g}" y="{top:g}" width="{width:g}" height="{height:g}" fill="#f7f7f5"/>',
    ]
    for cid, cluster in sorted(clusters.items()):
        members = [n for n in notes.values() if n.get("cluster") == cid]
        if members:
            x0 = min(float(n["x"]) for n in members) - 16
            y0 = min(float(n["y"]) for n in members) - 48
            x1 = max(float(n["x"]) for n in members) + NOTE_W + 16
            y1 = max(float(n["y"]) for n in members) + NOTE_H + 16
        else:
            x0, y0 = float(cluster["x"]), float(cluster["y"])
            x1, y1 = x0 + NOTE_W + 32, y0 + 64
        color = "#1d3557"
        title = cluster_title(str(cluster.get("title") or ""), cluster, lang)
        parts.append(
            f'<g class="cluster"><rect x="{x0:g}" y="{y0:g}" width="{x1 - x0:g}"'
            f' height="{y1 - y0:g}" rx="14" fill="none" stroke="{color}" stroke-width="3"/>'
            f'<text x="{x0 + 14:g}" y="{y0 + 30:g}" font-size="20" font-weight="700"'
            f' fill="#222">{xml_text(title)}'
            "</text></g>"
        )
    for nid, note in sorted(notes.items(), key=lambda kv: (kv[1]["y"], kv[1]["x"], kv[0])):
        x, y = float(note["x"]), float(note["y"])
        color = NOTE_COLORS.get(str(note.get("color")), NOTE_COLORS["yellow"])
        kind = note.get("kind")
        picture = pictures.get(str(note.get("media"))) if kind == "photo" else None
        others = translations_of(note, languages)
        text = str(note.get("text", ""))
        heading = ""  # a voice note's first line: what it is
        if kind == "voice":
            # Said in words, not only a ♪: what it is and how long (its caption after it).
            seconds = note.get("duration")
            label = (
                words["voice_for"].format(s=max(1, round(seconds)))
                if isinstance(seconds, int | float) and seconds > 0
                else words["voice"]
            )
            heading = f"♪ {label}"
        body = ""
        if picture is not None:
            # The photo fills the top of the note; the caption (then translations) below it.
            body = (
                f'<image x="{x + 8:g}" y="{y + 8:g}" width="{NOTE_W - 16}" height="64"'
                f' preserveAspectRatio="xMidYMid meet" href="{xml_text(picture)}"/>'
            )
            wrapped = [_clip(text, LINE_CHARS)] if text else []  # (font 14: fits the card)
            first_y, font = y + 90, 14
            others = others[:1]
        else:
            wrapped = (([heading] if heading else []) + (_wrap(text) if text else []))[:MAX_LINES]
            if others:
                wrapped = wrapped[: max(1, MAX_LINES - len(others) - 1)]
            first_y, font = y + 28, 16
        lines = "".join(
            f'<tspan x="{x + 12:g}" dy="{20 if i else 0}">{xml_text(line)}</tspan>'
            for i, line in enumerate(wrapped)
        )
        if wrapped:
            body += (
                f'<text x="{x + 12:g}" y="{first_y:g}" font-size="{font}" fill="#111">'
                f"{lines}</text>"
            )
        line_y = first_y + 20 * (len(wrapped) - 1) + 18
        for code, translated, machine in others[:2]:
            mark = "*" if machine else ""
            body += (
                f'<text class="translation" x="{x + 12:g}" y="{line_y:g}" font-size="12"'
                f' font-style="italic" fill="#333">{xml_text(f"[{code}]{mark} ")}'
                f"{xml_text(_clip(translated, 30))}</text>"
            )
            line_y += 15
        dots = totals.get(nid, 0)
        badge = (
            f'<circle cx="{x + NOTE_W - 20:g}" cy="{y + NOTE_H - 20:g}" r="14" fill="#d62f4b"/>'
            f'<text x="{x + NOTE_W - 20:g}" y="{y + NOTE_H - 15:g}" font-size="14"'
            f' text-anchor="middle" fill="#fff" font-weight="700">{dots}</text>'
            if dots
            else ""
        )
        parts.append(
            f'<g class="note"><rect x="{x:g}" y="{y:g}" width="{NOTE_W}" height="{NOTE_H}"'
            f' rx="8" fill="{color}" stroke="#0002"/>{body}{badge}</g>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
