"""Replay view (facilitator, read-only): phase bookmarks, seeking, playing at 60×, panel link."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import run_axe, shot
from tests.browser.helpers import new_board, open_board
from tests.yclient import YClient, add_note

pytestmark = pytest.mark.browser

NOTES = [
    ("n1", "Un potager partagé", "fr", 0.0),
    ("n2", "Meer bankjes op het plein", "nl", 220.0),
    ("n3", "A weekly repair café", "en", 440.0),
]


def run_async(coro: Any) -> Any:
    """Run a coroutine on its own loop in a worker thread (sync Playwright owns this one)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=60)


def workshop(server: Any, board: dict[str, Any]) -> None:
    """Note 1 in "ideate"; phase "cluster"; notes 2 and 3; phase "vote". Each step is committed
    (seen by a second client) before the next, so the log holds them in this order."""
    ws = server.process.ws
    fac = board["facilitator_token"]

    def phase(name: str) -> None:
        server.api("POST", f"/api/boards/{board['id']}/phase", {"phase": name}, token=fac)

    async def post(notes: list[tuple[str, str, str, float]]) -> None:
        writer = await YClient(f"{ws}/{board['id']}?token={fac}").connect()
        watcher = await YClient(f"{ws}/{board['id']}?token={board['viewer_token']}").connect()
        for note_id, text, lang, x in notes:
            await writer.change(add_note(note_id, text, lang=lang, x=x, createdAt=1.0))
            await watcher.wait_until(lambda note_id=note_id: note_id in watcher.notes())
        await writer.close()
        await watcher.close()

    run_async(post(NOTES[:1]))
    phase("cluster")
    run_async(post(NOTES[1:]))
    phase("vote")


def test_replay_bookmarks_seek_and_play_then_the_printable_report(
    cobord_server: Any, desktop: Any, axe_path: Any, tmp_path: Any
) -> None:
    base = cobord_server.base
    board = new_board(cobord_server, title="Herinrichting van het plein")
    workshop(cobord_server, board)

    # The facilitator panel links to the replay.
    live = open_board(desktop, base, board["id"], board["facilitator_token"])
    live.locator("button[aria-controls=fac-panel]").click()
    link = live.locator("#open-replay")
    expect(link).to_be_visible()
    assert link.get_attribute("href") == f"/b/{board['id']}/replay"
    live.close()

    page = desktop.new_page()
    page.goto(f"{base}/b/{board['id']}/replay")  # the token is in localStorage (open_board put it)
    notes = page.locator(".note")
    # Opens at the end: every note, drawn by the live board's canvas, with nothing to edit.
    expect(notes).to_have_count(3)
    expect(page.locator(".note", has_text="Un potager partagé")).to_be_visible()
    assert page.locator(".fab").count() == 0
    assert page.locator(".cluster-title:not([disabled])").count() == 0

    # Phase bookmarks, labelled in the interface language (nl-BE here).
    marks = page.locator(".replay-mark")
    expect(marks).to_have_count(3)
    assert [m.get_attribute("data-phase") for m in marks.all()] == ["ideate", "cluster", "vote"]
    expect(marks.nth(1)).to_contain_text("Groeperen")
    expect(marks.nth(2)).to_have_attribute("aria-current", "step")

    # Keyboard: Home = the start (no notes yet), End = the end (all notes).
    timeline = page.locator("#replay-range")
    timeline.focus()
    page.keyboard.press("Home")
    expect(notes).to_have_count(0)
    expect(page.locator(".canvas-empty")).to_contain_text("nog geen notities")
    timeline_api = cobord_server.api(
        "GET", f"/api/boards/{board['id']}/replay", token=board["facilitator_token"]
    )
    # Playback goes on from the state's own seq (X-Cobord-Seq), not from the top of the log.
    assert page.evaluate("() => window.__cobordReplay.seq") == timeline_api["first_seq"]
    shot(page, "replay-1-start")
    page.keyboard.press("End")
    expect(notes).to_have_count(3)

    # A bookmark seeks to where the phase changed: after note 1, before notes 2 and 3.
    marks.nth(1).click()
    expect(notes).to_have_count(1)
    expect(page.locator(".chip-phase")).to_contain_text("Groeperen")
    expect(marks.nth(1)).to_have_attribute("aria-current", "step")

    # Play from the start at 60×: the notes come back, the clock runs to the end and stops.
    timeline.focus()
    page.keyboard.press("Home")
    expect(notes).to_have_count(0)
    page.locator(".replay-speed", has_text="60×").click()
    expect(page.locator(".replay-speed", has_text="60×")).to_have_attribute("aria-pressed", "true")
    # Every change to the notes layer is recorded: playback only ever adds notes here.
    page.evaluate(
        """() => { const layer = document.querySelector('.layer-notes');
            const count = () => layer.querySelectorAll('.note').length;
            window.__seen = [count()];
            new MutationObserver(() => window.__seen.push(count()))
              .observe(layer, {childList: true}); }"""
    )
    play = page.locator("#replay-play")
    play.click()
    expect(notes).to_have_count(3)
    expect(play).to_have_attribute("aria-pressed", "false")  # reached the end
    page.wait_for_function("() => window.__seen.includes(3)")
    seen = page.evaluate("() => window.__seen")
    assert seen[0] == 0 and max(seen) == 3
    assert all(a <= b for a, b in itertools.pairwise(seen)), seen  # only ever more notes

    # The clock shows the end time in the chosen locale.
    end = page.evaluate("() => window.__cobordReplay.end")
    expected = page.evaluate(
        "(ts) => new Intl.DateTimeFormat('nl-BE', {hour: '2-digit', minute: '2-digit',"
        " second: '2-digit'}).format(new Date(ts * 1000))",
        end,
    )
    expect(page.locator("#replay-time")).to_have_text(expected)
    assert page.locator("#replay-range").input_value() == page.locator(
        "#replay-range"
    ).get_attribute("max")

    # Touch targets: every control is at least 44 × 44 px.
    for control in [play, timeline, *page.locator(".replay-speed").all(), *marks.all()]:
        box = control.bounding_box()
        assert box and box["height"] >= 44, control
        assert box["width"] >= 44, control

    # Language switch: the controls follow.
    page.locator(".lang-select").select_option("fr")
    expect(play).to_contain_text("Lecture")
    expect(marks.nth(1)).to_contain_text("Regroupement")
    expect(notes).to_have_count(3)
    shot(page, "replay-2-played")
    violations = run_axe(page, axe_path)
    assert not violations, violations
    assert not desktop.errors, desktop.errors

    # The printable report of the same workshop, in the device's language again (nl-BE).
    page.evaluate("() => localStorage.removeItem('cobord:lang')")
    printable_report(page, base, board, axe_path, tmp_path)
    assert not desktop.errors, desktop.errors

    # Participants get the refusal, in words: the report (in French, chosen above), the replay
    # (in the device's language).
    token = cobord_server.api(
        "POST", "/api/join", {"code": board["join_code"], "name": "Amina", "group": "Bewoner"}
    )["token"]
    other = desktop.new_page()
    other.goto(base + "/")
    other.evaluate(
        "([id, token]) => localStorage.setItem('cobord:token:' + id, JSON.stringify(token))",
        [board["id"], token],
    )
    other.goto(f"{base}/b/{board['id']}/report")
    expect(other.get_by_role("alert")).to_contain_text("animateur·rice")  # FR chosen above
    other.evaluate("() => localStorage.removeItem('cobord:lang')")
    other.goto(f"{base}/b/{board['id']}/replay")
    expect(other.get_by_role("alert")).to_contain_text("begeleider")
    assert not desktop.errors, desktop.errors


def test_events_feed_seeks_and_follows_the_live_board(
    cobord_server: Any, desktop: Any, axe_path: Any
) -> None:
    base = cobord_server.base
    board = new_board(cobord_server, title="Wie deed wat")
    workshop(cobord_server, board)
    opener = open_board(desktop, base, board["id"], board["facilitator_token"])
    opener.close()
    page = desktop.new_page()
    page.goto(f"{base}/b/{board['id']}/replay")
    feed = page.locator("#replay-feed-list .feed-item")
    notes = page.locator(".note")
    expect(notes).to_have_count(3)
    # nl-BE: readable kinds in Dutch, the facilitator named by role, phases by name.
    added = page.locator(".feed-item[data-kind=note_added]")
    expect(added).to_have_count(3)
    expect(added.first).to_contain_text("De begeleider voegde een notitie toe")
    expect(added.first).to_contain_text("Un potager partagé")
    expect(page.locator(".feed-item[data-kind=phase_changed]").nth(1)).to_contain_text(
        "Fase: Groeperen"
    )
    shot(page, "replay-3-feed")
    # Clicking an event shows the board right after it: the first note only.
    added.first.locator("button").click()
    expect(notes).to_have_count(1)
    expect(added.first).to_have_class("feed-item is-current")
    expect(added.nth(1)).to_have_class("feed-item is-future")
    seq = int(added.first.get_attribute("data-seq") or 0)
    assert page.evaluate("() => window.__cobordReplay.seq") == seq
    added.nth(2).locator("button").click()
    expect(notes).to_have_count(3)

    # Follow the live board: a note posted now appears, in the canvas and in the feed.
    page.locator("#replay-follow").check()
    expect(page.locator(".feed-live")).to_be_visible()
    before = feed.count()

    async def post() -> None:
        ws = cobord_server.process.ws
        writer = await YClient(f"{ws}/{board['id']}?token={board['facilitator_token']}").connect()
        await writer.change(add_note("n4", "Nog een idee, live", lang="nl", x=660.0))
        await writer.close()

    run_async(post())
    expect(notes).to_have_count(4, timeout=15_000)
    expect(page.locator(".note", has_text="Nog een idee, live")).to_be_visible()
    expect(feed).to_have_count(before + 1, timeout=15_000)
    expect(feed.last).to_contain_text("Nog een idee, live")
    page.locator("#replay-follow").uncheck()

    page.locator(".lang-select").select_option("fr")
    expect(added.first).to_contain_text("L’animateur·rice a ajouté une note")
    page.locator(".lang-select").select_option("en")
    expect(added.first).to_contain_text("The facilitator added a note")
    for item in feed.all()[:3]:
        box = item.locator("button").bounding_box()
        assert box and box["height"] >= 44
    shot(page, "replay-4-feed-live-en")
    violations = run_axe(page, axe_path)
    assert not violations, violations
    assert not desktop.errors, desktop.errors


def printable_report(
    page: Any, base: str, board: dict[str, Any], axe_path: Any, tmp_path: Any
) -> None:
    """The facilitator's printable report: on screen, as the Markdown export says, in French,
    printed on A4; no axe violation."""
    page.goto(f"{base}/b/{board['id']}/report")
    doc = page.locator("#report-doc")
    expect(doc.locator("h1")).to_have_text("Verslag: Herinrichting van het plein")
    expect(doc.locator("h2").first).to_have_text("Deelnemers per groep")
    expect(doc).to_contain_text("Meer bankjes op het plein")
    expect(doc.locator("h2", has_text="Verloop van de fasen")).to_be_visible()
    picture = page.locator("#report-picture")
    expect(picture).to_be_visible()
    page.wait_for_function("() => document.querySelector('#report-picture').naturalWidth > 0")
    shot(page, "report-1-screen", full_page=True)
    # The same content as the Markdown export, in the chosen language.
    md = page.evaluate(
        """async (id) => (await fetch(`/api/boards/${id}/export.md?lang=nl`, {headers:
            {Authorization: 'Bearer ' + JSON.parse(localStorage.getItem('cobord:token:' + id))}}))
            .text()""",
        board["id"],
    )
    headings = [line.lstrip("# ") for line in md.splitlines() if line.startswith("## ")]
    assert doc.locator("h2").all_inner_texts() == headings
    page.locator(".lang-btn[lang=fr]").click()
    expect(doc.locator("h1")).to_have_text("Rapport : Herinrichting van het plein")
    # Print: the tools and header are gone, A4 pages.
    page.emulate_media(media="print")
    assert page.locator(".report-tools").is_hidden()
    shot(page, "report-2-print", full_page=True)
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True)
    head = pdf.read_bytes()
    assert head.startswith(b"%PDF") and b"/MediaBox [0 0 594.9" in head  # A4: 595 x 842 pt
    page.emulate_media(media="screen")
    violations = run_axe(page, axe_path)
    assert not violations, violations
