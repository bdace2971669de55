"""Every voice counts where the room decides (#23), on phones:

1. A Dutch phone among French notes: a photo, a voice note and a text note with a Dutch
   translation are whole in the vote list and the results (picture, player, length, text in Dutch),
   every control is named after its note, the cluster title is the Dutch one; a translation asked
   for shows as a badge to Dutch readers and the facilitator, who answers it; phase changes, the
   switch to the vote list and the reveal are announced in Dutch in live regions that exist from
   page load. Checked with the accessibility tree (aria_snapshot) and axe-core (no violation of
   any impact).
2. The join page's language radios keep the focus and the message; 200 % zoom (195 CSS px) and
   forced colours: nothing sticks out, the result bars stay visible.
"""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from pycrdt import Map

from tests.browser.conftest import PHONE, _context, run_axe, shot
from tests.browser.helpers import join, new_board, open_board
from tests.browser.test_replay import run_async
from tests.yclient import YClient, add_note

pytestmark = pytest.mark.browser

CAPTION = "La file devant la banque alimentaire"
CAPTION_NL = "De rij aan de voedselbank"
TEXT = "Plus de bancs au parc"
TEXT_NL = "Meer bankjes in het park"


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (300, 200), (40, 120, 60)).save(out, format="JPEG")
    return out.getvalue()


def ogg_opus(seconds: float) -> bytes:
    """A tiny Ogg Opus file whose last granule position says how long it lasts."""

    def page(granule: int, payload: bytes, flags: int) -> bytes:
        head = b"OggS\0" + bytes([flags]) + granule.to_bytes(8, "little", signed=True)
        return head + b"\1\0\0\0" + b"\0\0\0\0" + b"\0\0\0\0" + bytes([1, len(payload)]) + payload

    opus_head = b"OpusHead\x01\x01" + (312).to_bytes(2, "little") + (48000).to_bytes(4, "little")
    return page(0, opus_head + b"\0\0\0", 2) + page(int(seconds * 48000) + 312, b"\0" * 40, 4)


def upload(server: Any, board_id: str, token: str, kind: str, data: bytes) -> dict[str, Any]:
    r = httpx.post(
        f"{server.base}/api/boards/{board_id}/media",
        params={"kind": kind},
        content=data,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def french_board(server: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Awa (FR) posts a photo, a voice note (12 s) and a text note, in a cluster "Parc" whose
    Dutch title is "Park"; the text note has a human Dutch translation."""
    board = new_board(server)
    awa = join(server, board["join_code"], "Awa", lang="fr")
    photo = upload(server, board["id"], awa["token"], "photo", jpeg())
    voice = upload(server, board["id"], awa["token"], "voice", ogg_opus(12.0))
    assert voice["seconds"] == 12.0
    fac = board["facilitator_token"]

    async def post() -> None:
        ws = server.process.ws
        writer = await YClient(f"{ws}/{board['id']}?token={awa['token']}").connect()
        organiser = await YClient(f"{ws}/{board['id']}?token={fac}").connect()

        def cluster(doc: Any) -> None:
            doc.get("clusters", type=Map)["c1"] = Map(
                {"title": "Parc", "titles": Map({"nl": "Park"}), "x": 0.0, "y": 0.0, "color": ""}
            )

        await organiser.change(cluster)
        common = {"lang": "fr", "author": "Awa", "cluster": "c1"}
        await writer.change(
            add_note("p1", CAPTION, kind="photo", media=photo["id"], createdAt=1.0, **common)
        )
        await writer.change(
            add_note(
                "v1",
                "",
                kind="voice",
                media=voice["id"],
                duration=12.0,
                createdAt=2.0,
                x=260.0,
                **common,
            )
        )
        await writer.change(add_note("t1", TEXT, createdAt=3.0, y=200.0, **common))
        await organiser.wait_until(lambda: {"p1", "v1", "t1"} <= set(organiser.notes()))
        await writer.close()
        await organiser.close()

    run_async(post())
    server.api(
        "PUT", f"/api/boards/{board['id']}/notes/t1/translations/nl", {"text": TEXT_NL}, token=fac
    )
    return board, awa


def announced(page: Any) -> str:
    return str(page.locator("#announcer").text_content() or "")


def axe_all(page: Any, axe: Any, where: str) -> None:
    """Every violation, whatever its impact (test_accessibility keeps serious and critical)."""
    found = run_axe(page, axe, every_impact=True)
    assert found == [], f"{where}: {found}"


def test_dutch_phone_votes_on_french_photo_voice_and_text(
    cobord_server: Any, phone: Any, desktop: Any, axe_path: Any
) -> None:
    server = cobord_server
    board, _awa = french_board(server)
    fac_token = board["facilitator_token"]
    jan = join(server, board["join_code"], "Jan", group="Onderzoeker", lang="nl")
    phone.add_init_script(
        "try { localStorage.setItem('cobord:lang', JSON.stringify('nl')) } catch (e) {}"
    )
    desktop.add_init_script(
        "try { localStorage.setItem('cobord:lang', JSON.stringify('nl')) } catch (e) {}"
    )
    ph = open_board(phone, server.base, board["id"], jan["token"])
    # The live regions are there before any message.
    assert ph.locator("#announcer[aria-live=polite]").count() == 1
    assert ph.locator("#toasts[role=status]").count() == 1

    # --- A translation asked for: no keyboard pops up, a badge for Dutch readers.
    photo_button = ph.locator('.note[data-id="p1"] .note-open')
    photo_button.click()
    sheet = ph.locator("dialog.sheet")
    expect(sheet).to_be_visible()
    assert ph.evaluate("document.activeElement.tagName") != "TEXTAREA"
    expect(sheet.locator("textarea")).to_be_hidden()
    sheet.get_by_role("button", name="Ik kan het vertalen in het Nederlands").click()
    sheet.get_by_role("button", name="Vertalen", exact=True).click()
    expect(sheet.locator(".tr-status")).to_have_text("Typ eerst de vertaling.")
    sheet.get_by_role("button", name="Een vertaling in het Nederlands vragen").click()
    expect(sheet.get_by_role("button", name="Vertaling gevraagd")).to_be_disabled()
    ph.keyboard.press("Escape")
    badge = ph.locator(".tr-waiting")
    expect(badge).to_have_text("⇄ 1 idee wacht op een vertaling in het Nederlands")
    shot(ph, "voice-01-phone-badge")
    axe_all(ph, axe_path, "canvas with a translations badge (phone, nl)")

    fac = open_board(desktop, server.base, board["id"], fac_token)
    fac_badge = fac.locator(".tr-waiting")
    expect(fac_badge).to_have_text("⇄ 1 idee wacht op een vertaling in het Nederlands")
    fac_badge.click()
    answer = fac.locator("dialog.sheet")
    answer.get_by_role("button", name="Ik kan het vertalen in het Nederlands").click()
    answer.locator("textarea").fill(CAPTION_NL)
    answer.get_by_role("button", name="Vertalen", exact=True).click()
    expect(fac_badge).to_have_count(0)
    expect(badge).to_have_count(0)  # the phone's badge goes too (the request is in the note)

    # --- The vote: the phone is switched to the list and told, in Dutch.
    server.api("POST", f"/api/boards/{board['id']}/phase", {"phase": "vote"}, token=fac_token)
    expect(ph.locator(".votelist-wrap")).to_be_visible()
    expect(ph.locator("#announcer")).to_contain_text("Nieuwe stap: Stemmen.")
    assert "Uw scherm toont nu de ideeën om te kiezen." in announced(ph)
    items = ph.locator(".vote-item")
    expect(items).to_have_count(3)
    expect(ph.locator(".votelist-sec h3")).to_have_text("Park")
    photo = ph.locator('.vote-item[data-id="p1"]')
    expect(photo.locator("img.note-photo")).to_be_visible()
    expect(photo.locator(".vote-text")).to_have_text(CAPTION_NL)
    voice = ph.locator('.vote-item[data-id="v1"]')
    expect(voice.locator("audio.note-voice")).to_have_attribute(
        "aria-label", "spraaknotitie van Awa, 12 s"
    )
    expect(voice.locator(".voice-length")).to_have_text("0:12")
    text = ph.locator('.vote-item[data-id="t1"] .vote-text')
    expect(text).to_have_text(TEXT_NL)
    expect(text).to_have_attribute("lang", "nl")
    # Photos load (the picture is there, not a broken icon).
    ph.wait_for_function(
        "() => [...document.querySelectorAll('.vote-item img')].every(i => i.naturalWidth > 0)"
    )
    tree = ph.locator(".votelist-wrap").aria_snapshot()
    for name in (
        "Stip toevoegen aan: foto — ‘De rij aan de voedselbank’",
        "Stip toevoegen aan: spraaknotitie van Awa, 12 s",
        f"Stip toevoegen aan: ‘{TEXT_NL}’",
        f"Beluisteren: ‘{TEXT_NL}’",
    ):
        assert name in tree, (name, tree)
    shot(ph, "voice-02-phone-votelist", full_page=True)
    axe_all(ph, axe_path, "vote list (phone, nl)")

    # Keyboard: a vote keeps the focus on its button; "your dots" is read.
    add = voice.get_by_role("button", name="Stip toevoegen aan: spraaknotitie van Awa, 12 s")
    add.focus()
    ph.keyboard.press("Enter")
    expect(voice.locator(".my-dots")).to_contain_text("1 van uw stippen")
    assert ph.evaluate("document.activeElement.dataset.fk") == "va:v1"
    photo.get_by_role(
        "button", name="Stip toevoegen aan: foto — ‘De rij aan de voedselbank’"
    ).click()
    expect(photo.locator(".my-dots")).to_contain_text("1 van uw stippen")

    # --- Reveal and results: announced; every note whole in the results.
    server.api(
        "PATCH",
        f"/api/boards/{board['id']}/settings",
        {"votes_visibility": "revealed"},
        token=fac_token,
    )
    expect(ph.locator("#announcer")).to_contain_text("De stemmen zijn bekendgemaakt.")
    server.api("POST", f"/api/boards/{board['id']}/phase", {"phase": "results"}, token=fac_token)
    expect(ph.locator("#announcer")).to_contain_text("Nieuwe stap: Resultaten.")
    results = ph.locator("section.results")
    expect(results.locator("audio.note-voice")).to_have_count(1)
    expect(results.locator("audio.note-voice")).to_have_attribute(
        "aria-label", "spraaknotitie van Awa, 12 s"
    )
    expect(results.locator("img.note-photo")).to_have_attribute("alt", CAPTION_NL)
    expect(results.locator(".idea-photo .idea-text")).to_have_text(CAPTION_NL)
    shot(ph, "voice-03-phone-results", full_page=True)
    axe_all(ph, axe_path, "results (phone, nl)")

    # "Listen to this screen": the step, then the results as sentences with counts.
    ph.evaluate(
        "() => { window.__said = []; speechSynthesis.speak = (u) => window.__said.push(u.text); }"
    )
    ph.get_by_role("button", name="Luisteren naar dit scherm").click()
    said = ph.evaluate("window.__said")
    assert said[:1] == ["Stap 4. Zie wat de groep koos."], said
    # Both ideas (tied at 1 dot: either may rank first), each with its count.
    ideas = sorted(x.split(": ", 1)[1] for x in said if x.startswith("Idee "))
    assert ideas == sorted([f"{CAPTION_NL}. 1 stip.", "spraaknotitie van Awa, 12 s. 1 stip."]), said
    assert "Onderzoeker: gekozen door 1 van 1." in said and "Bewoner: heeft niet gestemd." in said

    # Easy-read: the participant's own choice, kept on the device: steps as pictograms with
    # words, sentences with counts instead of percentages.
    ph.get_by_role("button", name="Makkelijk lezen").click()
    expect(ph.locator('.steps-strip [aria-current="step"]')).to_have_text("★Resultaten")
    expect(ph.locator(".plain-results li").first).to_be_visible()
    expect(ph.locator(".bar-value").first).to_be_hidden()
    ph.reload()
    expect(ph.get_by_role("button", name="Makkelijk lezen")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(ph.locator(".plain-results")).to_contain_text("Onderzoeker: gekozen door 1 van 1.")
    shot(ph, "voice-03b-phone-results-easy-read")
    axe_all(ph, axe_path, "results easy-read (phone, nl)")

    # The projector shows the same ideas whole.
    proj = desktop.new_page()
    proj.goto(server.base + "/")
    proj.evaluate(
        "([id, t]) => localStorage.setItem('cobord:viewer:' + id, JSON.stringify(t))",
        [board["id"], board["viewer_token"]],
    )
    proj.goto(f"{server.base}/b/{board['id']}/present")
    # The results in words take the projector several pages: turn them (arrow key) and collect
    # what each page shows, until the pager comes back to page 1. (Page 1 may hold only the
    # turnout and a section's heading, its first idea on page 2: wait for the results, not for an
    # idea on page 1, which failed one run in three under load.)
    expect(proj.locator(".present-stage.present-results")).to_be_visible()
    # (A page may be cut again once a picture has loaded: count each medium once, by its address.)
    found: dict[str, set[str]] = {"audio": set(), "img": set()}
    pager = proj.locator("#present-pager")
    seen: set[int] = set()
    previous = ""
    for _ in range(20):  # (pages turn by themselves too, every 12 s: follow the pager, not a count)
        if previous:
            expect(pager).not_to_have_text(previous)
        text = pager.inner_text() if pager.is_visible() else ""
        numbers = [int(n) for n in re.findall(r"\d+", text)] or [1, 1]
        for kind, css in (("audio", "audio.note-voice"), ("img", "img.note-photo")):
            for element in proj.locator(f".present-stage {css}").all():
                found[kind].add(element.get_attribute("src") or "")
        shot(proj, f"voice-04-projector-results-{numbers[0]}")
        seen.add(numbers[0])
        if seen >= set(range(1, numbers[-1] + 1)):
            break
        previous = text
        proj.keyboard.press("ArrowRight")
    assert {kind: len(srcs) for kind, srcs in found.items()} == {"audio": 1, "img": 1}, found
    assert phone.errors == [] and desktop.errors == []


def test_join_keys_zoom_and_forced_colours(cobord_server: Any, browser: Any, axe_path: Any) -> None:
    server = cobord_server
    board, _awa = french_board(server)
    fac_token = board["facilitator_token"]
    # 200 % zoom on a 390 x 844 phone: 195 x 422 CSS px.
    zoomed = _context(
        browser,
        {**PHONE, "viewport": {"width": 195, "height": 422}, "device_scale_factor": 4},
        "zoom",
    )
    try:
        page = zoomed.new_page()
        page.goto(f"{server.base}/j/{board['join_code']}")
        expect(page.locator("input[name=name]")).to_be_visible()
        page.locator("button[type=submit]").click()  # no name: a message
        err = page.locator(".form-error")
        expect(err).to_have_text("Indiquez un prénom ou un pseudo.")
        page.locator("input[name=lang][value=fr]").focus()
        page.keyboard.press("ArrowDown")
        # The page speaks Dutch now, the focus stayed on the radios, the message too (in Dutch).
        expect(page.locator("html")).to_have_attribute("lang", "nl")
        assert page.evaluate("document.activeElement.name") == "lang"
        expect(err).not_to_have_text("")
        assert page.evaluate("document.documentElement.scrollWidth") <= 195
        shot(page, "voice-05-join-zoom200", full_page=True)
        axe_all(page, axe_path, "join page with a message (200 %)")

        jan = join(server, board["join_code"], "Jan", group="Onderzoeker", lang="nl")
        ph = open_board(zoomed, server.base, board["id"], jan["token"], "?view=outline")
        expect(ph.locator(".ol-note")).to_have_count(3)
        overflow = ph.evaluate(
            """() => [...document.querySelectorAll('body *')].filter(e => {
                 const r = e.getBoundingClientRect();
                 return r.width > 0 && r.right > document.documentElement.clientWidth + 1
                   && getComputedStyle(e).position !== 'fixed' && !e.closest('.sr-only');
               }).map(e => e.tagName + '.' + e.className).slice(0, 8)"""
        )
        assert overflow == [], overflow
        shot(ph, "voice-06-outline-zoom200", full_page=True)
        axe_all(ph, axe_path, "outline (200 %)")
        # Keyboard: after "Move" the focus stays on that note's Move button (not <body>).
        ph.locator("#mv-t1").select_option("")
        ph.locator('[data-fk="mb:t1"]').focus()
        ph.keyboard.press("Enter")
        expect(ph.locator(".ol-cluster").last.locator(".ol-note")).to_have_count(1)
        ph.wait_for_function("() => document.activeElement.dataset.fk === 'mb:t1'")
        # At 200 % a card (200 px) cannot fit the 195 px screen: the board opens on the list; the
        # canvas is one tap away.
        ph.goto(f"{server.base}/b/{board['id']}")
        expect(ph.locator(".outline")).to_be_visible()
        ph.locator(".tab-canvas").click()
        # A note's sheet opened from the canvas and closed with Escape gives the focus back.
        opener = ph.locator('.note[data-id="v1"] .note-open')
        opener.focus()
        ph.keyboard.press("Enter")
        expect(ph.locator("dialog.sheet")).to_be_visible()
        ph.keyboard.press("Escape")
        expect(ph.locator("dialog.sheet")).to_have_count(0)
        ph.wait_for_function("() => document.activeElement.dataset.fk === 'no:v1'")
        server.api("POST", f"/api/boards/{board['id']}/phase", {"phase": "vote"}, token=fac_token)
        server.api(
            "PATCH",
            f"/api/boards/{board['id']}/settings",
            {"votes_visibility": "revealed"},
            token=fac_token,
        )
        ph.evaluate("window.__cobord.vote('t1', 1)")
        server.api(
            "POST", f"/api/boards/{board['id']}/phase", {"phase": "results"}, token=fac_token
        )
        expect(ph.locator(".res-item").first).to_be_visible()
        assert ph.evaluate("document.documentElement.scrollWidth") <= 195
        shot(ph, "voice-07-results-zoom200", full_page=True)
    finally:
        zoomed.close()

    forced = _context(browser, {**PHONE, "forced_colors": "active"}, "forced")
    try:
        jan2 = join(server, board["join_code"], "Lien", group="Bewoner", lang="nl")
        page = open_board(forced, server.base, board["id"], jan2["token"], "?view=results")
        fill = page.locator('.bar-fill:not([style*="width: 0"])').first
        expect(fill).to_be_visible()
        colours = page.evaluate(
            """() => { const f = document.querySelector('.bar-fill:not([style*="width: 0"])');
                 return [getComputedStyle(f).backgroundColor,
                         getComputedStyle(f.parentElement).backgroundColor]; }"""
        )
        assert colours[0] != colours[1], colours
        shot(page, "voice-08-results-forced-colours", full_page=True)
        axe_all(page, axe_path, "results (forced colours)")
    finally:
        forced.close()
