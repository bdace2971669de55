"""Download buttons in the facilitator panel and the results view: the export is fetched with the
Authorization header and saved as a file (no token in any URL); a plain link would get 401."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import new_board, open_board


def test_download_buttons_save_the_exports(cobord_server: Any, desktop: Any) -> None:
    board = new_board(cobord_server, title="Buurtplein")
    # What a plain link in a browser tab gets: 401.
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{cobord_server.base}/api/boards/{board['id']}/export.json")
    assert err.value.code == 401
    page = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.locator("button[aria-controls=fac-panel]").click()
    buttons = page.locator("#panel-downloads button")
    expect(buttons).to_have_text(
        [
            "⤓ Verslag (Markdown)",
            "⤓ Afbeelding van het bord (SVG)",
            "⤓ Tabel (CSV)",
            "⤓ Gegevens (JSON)",
            "⤓ Woordenlijst (CSV)",
        ]
    )
    with page.expect_download() as info:
        page.locator("#panel-downloads button", has_text="Markdown").click()
    assert Path(info.value.path()).read_text(encoding="utf-8").startswith("# Verslag: Buurtplein")
    with page.expect_download() as info:
        page.locator("#panel-downloads button", has_text="SVG").click()
    assert Path(info.value.path()).read_text(encoding="utf-8").lstrip().startswith("<")
    with page.expect_download() as info:
        page.locator("#panel-downloads button", has_text="JSON").click()
    data = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert data["board"]["title"] == "Buurtplein"
    assert info.value.suggested_filename.endswith(".json")
    with page.expect_download() as info:
        page.locator("#panel-downloads button", has_text="Tabel (CSV)").click()
    csv_bytes = Path(info.value.path()).read_bytes()
    assert csv_bytes.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    assert b";" in csv_bytes.splitlines()[0]  # nl: a Belgian Excel splits on ';'
    assert info.value.suggested_filename.endswith(".csv")
    with page.expect_download() as info:  # the glossary (issue #21), empty: its header
        page.locator("#panel-downloads button", has_text="Woordenlijst").click()
    assert Path(info.value.path()).read_bytes().decode("utf-8") == (
        "\ufeffterm;taal;vragen;taal_uitleg;uitleg;machine;voorbeeld\r\n"
    )
    # The results view has the same buttons.
    page.locator("button[aria-controls=fac-panel]").click()
    page.locator("button.tab-results").click()
    with page.expect_download() as info:
        page.locator("#results-downloads button", has_text="JSON").click()
    assert (
        json.loads(Path(info.value.path()).read_text(encoding="utf-8"))["board"]["id"]
        == board["id"]
    )
    assert not [u for u in requested if board["facilitator_token"] in u and "/api/" in u]
