"""What a note can smuggle into the exports (issue #20): Markdown structure through its `media`
field, and characters that make export.svg ill-formed XML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any

import httpx
import pytest
from pycrdt import Map

from crdt import report
from crdt.fields import is_media_id
from tests.conftest import ServerProcess
from tests.test_exports import CLUSTERS, DATA, NOTES
from tests.yclient import YClient, add_note

FORGED_HEADING = "m1)\n\n# Forged heading\n"
JAVASCRIPT_LINK = "m1) [click](javascript:alert(1)) <javascript:alert(2)>"
IMG_ONERROR = 'x"><img src=x onerror=alert(1)>'
HOSTILE_MEDIA = [FORGED_HEADING, JAVASCRIPT_LINK, IMG_ONERROR]


def markdown_with_photo(media: str, media_ids: frozenset[str] | None) -> str:
    notes = {**NOTES, "n1": {**NOTES["n1"], "kind": "photo", "media": media}}
    data = replace(
        DATA, board={"notes": notes, "clusters": CLUSTERS}, board_id="B1", media_ids=media_ids
    )
    return report.render_markdown(data, "en")


def assert_no_injection(text: str) -> None:
    lines = text.splitlines()
    assert not any(line.startswith("# Forged") for line in lines)
    assert "javascript:" not in text
    assert "<img" not in text and "onerror" not in text


@pytest.mark.parametrize("media", HOSTILE_MEDIA)
def test_the_report_links_only_well_formed_media_of_the_board(media: str) -> None:
    """Before the fix `media` was printed into the image link as it was: a forged heading line,
    a `javascript:` link and autolink, and a raw `<img onerror>` came out in export.md."""
    text = markdown_with_photo(media, None)
    assert_no_injection(text)
    assert "![Un potager partagé]" not in text  # not linked at all
    # A well-formed id is linked only if that media exists on the board.
    assert "![Un potager partagé](/api/boards/B1/media/m1)" in markdown_with_photo(
        "m1", frozenset({"m1"})
    )
    assert "/media/" not in markdown_with_photo("m1", frozenset({"m2"}))


def test_texts_cannot_open_markdown_structure() -> None:
    hostile = "line\n# Forged heading\n[x](javascript:alert(1)) <img src=x onerror=alert(1)> \x07"
    notes = {**NOTES, "n1": {**NOTES["n1"], "text": hostile}}
    clusters = {"c1": {**CLUSTERS["c1"], "title": "# T <b>"}}
    data = replace(DATA, title="<script>x</script>", board={"notes": notes, "clusters": clusters})
    from crdt.results import compute_results

    results = compute_results(
        [(p.id, p.group) for p in DATA.people], DATA.votes, notes, clusters, ["habitant·e"]
    )
    text = report.render_markdown(replace(data, results=results), "en")
    lines = text.splitlines()
    assert not any(line.startswith("# Forged") for line in lines)
    # Every `<` and `[` is escaped: no raw HTML, no link, no autolink.
    assert re.search(r"(?<!\\)[<\[]", text) is None
    assert "\\<img src=x onerror=alert(1)\\>" in text and "\\<script\\>" in text
    assert "\x07" not in text
    assert "line \\# Forged heading \\[x\\](javascript:alert(1)) \\<img" in text


def test_media_ids_in_the_rules() -> None:
    assert is_media_id("m1") and is_media_id("a-Z_9" * 12) and is_media_id("m" * 64)
    assert not any(is_media_id(m) for m in [*HOSTILE_MEDIA, "", "m" * 65, "a b", "é", 3])


def test_control_characters_keep_the_svg_well_formed() -> None:
    """Before the fix a note holding \\x01 or \\x1b gave an SVG no XML parser reads."""
    text = "bell\x07 escape\x1b[31m nul\x00 del\x7f fffe\ufffe end"
    notes = {
        **NOTES,
        "n1": {**NOTES["n1"], "text": text, "translations": {"nl": {"text": "\x01nl"}}},
    }
    clusters = {"c1": {**CLUSTERS["c1"], "title": "title\x02 & <b>"}}
    svg = report.render_svg({"notes": notes, "clusters": clusters}, DATA.results, {}, ["fr", "nl"])
    root = ET.fromstring(svg)  # raises on ill-formed XML
    texts = " ".join("".join(node.itertext()) for node in root.iter())
    assert "bell escape[31m nul del fffe end" in texts
    assert "title & <b>" in texts


async def test_a_forged_media_field_is_refused_and_never_reaches_the_report(
    server: ServerProcess,
) -> None:
    """End to end: before the fix the note was accepted and export.md held the forged heading,
    the `javascript:` link and the raw `<img onerror>`."""
    board = server.create_board()
    ana = server.join(board["join_code"], name="Ana")
    writer = await YClient(server.url(board["id"], ana["token"])).connect()
    try:
        for i, media in enumerate(HOSTILE_MEDIA):
            await writer.change(add_note(f"p{i}", "photo", kind="photo", media=media))
        await writer.change(add_note("ok", "fine", kind="photo", media="m1"))
        await writer.wait_until(lambda: "ok" in writer.notes())
        await writer.wait_until(lambda: not any(f"p{i}" in writer.notes() for i in range(3)))
        assert writer.denied[:3] == ["a note's media has the wrong type or size"] * 3
        async with httpx.AsyncClient(base_url=server.http) as http:
            r = await http.get(
                f"/api/boards/{board['id']}/export.md",
                headers={"Authorization": f"Bearer {board['facilitator_token']}"},
            )
        assert r.status_code == 200
        assert_no_injection(r.text)
        assert "/media/m1" not in r.text  # well-formed, but no such media on this board
        note: Any = writer.doc.get("notes", type=Map)["ok"]
        assert note["media"] == "m1"
    finally:
        await writer.close()
