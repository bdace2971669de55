"""The outline view in the reader's language: translations arriving, and a cluster read aloud."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import new_board, open_board
from tests.browser.test_replay import run_async
from tests.yclient import YClient, add_note

pytestmark = pytest.mark.browser

# A stand-in for the browser's speech synthesizer (headless Chromium has no voices): it records
# every utterance with its language, in order.
SPEECH_STUB = """
window.__spoken = [];
window.__cancels = 0;
Object.defineProperty(window, "speechSynthesis", { configurable: true, value: {
  speaking: false, pending: false, paused: false,
  speak(u) { window.__spoken.push([u.text, u.lang]); },
  cancel() { window.__cancels += 1; },
  getVoices() { return []; }, pause() {}, resume() {},
  addEventListener() {}, removeEventListener() {},
} });
"""


def test_outline_refreshes_on_a_translation_and_reads_a_cluster_aloud(
    cobord_server: Any, desktop: Any
) -> None:
    board = new_board(cobord_server, title="Plein")
    fac = board["facilitator_token"]
    ws = cobord_server.process.ws

    async def post() -> None:
        writer = await YClient(f"{ws}/{board['id']}?token={fac}").connect()

        def cluster(doc: Any) -> None:
            from pycrdt import Map

            doc.get("clusters", type=Map)["c1"] = Map({"title": "Groen", "x": 0.0, "y": 0.0})

        await writer.change(cluster)
        notes = [
            ("n1", "Plus de bancs", "fr", 1.0),
            ("n2", "A weekly repair café", "en", 2.0),
            ("n3", "Un potager partagé", "fr", 3.0),
        ]
        for note_id, text, lang, at in notes:
            await writer.change(add_note(note_id, text, lang=lang, cluster="c1", createdAt=at))
        await writer.wait_until(lambda: {"n1", "n2", "n3"} <= set(writer.notes()))
        await writer.close()

    run_async(post())
    desktop.add_init_script(SPEECH_STUB)
    page = open_board(desktop, cobord_server.base, board["id"], fac, "?view=outline")
    texts = page.locator("#ol-c1").locator("xpath=ancestor::section").locator(".ol-text")
    expect(texts).to_have_text(["Plus de bancs", "A weekly repair café", "Un potager partagé"])

    # A Dutch translation of n1 arrives (from another person): this Dutch reader's outline shows it.
    cobord_server.api(
        "PUT",
        f"/api/boards/{board['id']}/notes/n1/translations/nl",
        {"text": "Meer bankjes"},
        token=fac,
    )
    expect(texts).to_have_text(["Meer bankjes", "A weekly repair café", "Un potager partagé"])
    first = page.locator(".ol-note").filter(has_text="Meer bankjes")
    expect(first.locator(".tr-tag")).to_have_text("Vertaald uit het Frans")
    shot(page, "outline-translation-nl")

    # Read the cluster aloud: top to bottom, each note in the language it is shown in.
    section = page.locator("section.ol-cluster", has=page.locator("#ol-c1"))
    section.locator(".listen-cluster").click()
    page.wait_for_function("() => window.__spoken.length === 3")
    assert page.evaluate("window.__spoken") == [
        ["Meer bankjes", "nl-BE"],
        ["A weekly repair café", "en-GB"],
        ["Un potager partagé", "fr-BE"],
    ]
    assert page.evaluate("window.__cancels") == 1  # what was being read stops first

    # "Show original": the outline shows it, and reading speaks the French original.
    first.locator(".tr-toggle").click()
    expect(texts.first).to_have_text("Plus de bancs")
    page.evaluate("window.__spoken = []")
    section.locator(".listen-cluster").click()
    page.wait_for_function("() => window.__spoken.length === 3")
    assert page.evaluate("window.__spoken")[0] == ["Plus de bancs", "fr-BE"]
    # One note's own "listen" button speaks that note only.
    page.evaluate("window.__spoken = []")
    page.locator(".ol-note").filter(has_text="A weekly repair café").locator(".listen-btn").click()
    page.wait_for_function("() => window.__spoken.length === 1")
    assert page.evaluate("window.__spoken") == [["A weekly repair café", "en-GB"]]
    assert not desktop.errors, desktop.errors
