"""A whole workshop in two real browsers: the facilitator on a laptop (nl-BE), a participant on a
phone
(fr-BE, touch). Screenshots of every step land in tests/artifacts/flow-*.png."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


def panel(page: Any, open_: bool) -> None:
    """Open or close the facilitator panel (its button says whether it is expanded)."""
    button = page.locator("button[aria-controls=fac-panel]")
    if (button.get_attribute("aria-expanded") == "true") != open_:
        button.click()
    expect(page.locator("#fac-panel")).to_be_visible() if open_ else expect(
        page.locator("#fac-panel")
    ).to_be_hidden()


def create_board_in_ui(desktop_page: Any, base: str, title: str) -> tuple[str, str]:
    page = desktop_page
    page.goto(base + "/")
    page.fill("input[name=title]", title)
    page.fill("textarea[name=groups]", "Bewoner\nOnderzoeker")
    page.click("form:has(input[name=title]) button[type=submit]")
    page.wait_for_url(re.compile(r"/b/[^/?]+$"))
    # The private facilitator link is shown once, in a sheet: keep it and go on.
    page.locator("#faclink-kept").click()
    board_id = page.url.rsplit("/", 1)[1]
    code = page.evaluate(f"JSON.parse(localStorage.getItem('cobord:code:{board_id}'))")
    return board_id, code


def join_on_phone(phone_page: Any, base: str, code: str, name: str) -> None:
    page = phone_page
    page.goto(f"{base}/j/{code}")
    page.fill("input[name=name]", name)
    page.locator("label.choice", has_text="Bewoner").click()
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/b/"))
    expect(page.locator(".fab")).to_be_visible()


def post_on_phone(page: Any, text: str) -> None:
    page.locator(".fab").tap()
    page.fill("#composer-text", text)
    page.locator(".composer button[type=submit]").tap()
    expect(page.locator(".note", has_text=text)).to_be_visible()


def drag(page: Any, source: Any, target: Any) -> None:
    a = source.bounding_box()
    b = target.bounding_box()
    page.mouse.move(a["x"] + 40, a["y"] + 20)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=12)
    page.mouse.up()


def test_workshop_flow(cobord_server: Any, phone: Any, desktop: Any) -> None:
    base = cobord_server.base
    fac = desktop.new_page()
    board_id, code = create_board_in_ui(fac, base, "Place du quartier / Buurtplein")
    expect(fac.locator(".board-title")).to_have_text("Place du quartier / Buurtplein")
    # A new board opens with the facilitator panel: QR code and join code ready to project.
    expect(fac.locator("#fac-panel .qr svg")).to_be_visible()
    expect(fac.locator("#fac-panel .join-code")).to_contain_text(code)
    shot(fac, "flow-01-desktop-board-created")

    ph = phone.new_page()
    join_on_phone(ph, base, code, "Amina")
    shot(ph, "flow-02-phone-joined")
    # The phone's token survives a reload; opening the join link again on the same phone goes
    # straight to the board; the language can be switched at any time, the whole interface
    # follows (then back to French for the rest of the workshop).
    ph.reload()
    expect(ph.locator(".fab")).to_be_visible()
    ph.goto(f"{base}/j/{code}")
    ph.wait_for_url(re.compile(r"/b/"))
    expect(ph.locator(".fab")).to_be_visible()
    ph.select_option("select.lang-select", "nl")
    expect(ph.locator(".chip-phase")).to_contain_text("Ideeën")
    expect(ph.locator("html")).to_have_attribute("lang", "nl")
    ph.select_option("select.lang-select", "en")
    expect(ph.locator(".chip-phase")).to_contain_text("Ideas")
    expect(ph.locator(".viewport")).to_be_visible()
    expect(ph.locator(".canvas-tools")).to_contain_text("Fit all")
    shot(ph, "flow-11-phone-english")
    ph.select_option("select.lang-select", "fr")
    expect(ph.locator("html")).to_have_attribute("lang", "fr")
    # A second participant, from another group, joins (by the API: a second phone is not needed).
    rik = cobord_server.api(
        "POST", "/api/join", {"code": code, "name": "Rik", "group": "Onderzoeker", "lang": "nl"}
    )

    # The facilitator sees who has not contributed yet, by group, and starts a 3-minute timer.
    panel(fac, True)
    expect(fac.locator(".people li", has_text="Amina").locator(".badge-quiet")).to_be_visible()
    expect(fac.locator(".people li", has_text="Rik").locator(".badge-quiet")).to_be_visible()
    fac.locator("button[data-fk='tp:3']").click()
    expect(ph.locator(".chip-timer")).to_contain_text(re.compile(r"[23]:\d\d"))
    # The panel re-renders as the participants list refreshes: scroll by id, not a held element.
    fac.evaluate("() => document.getElementById('p-people').scrollIntoView()")
    shot(fac, "flow-02b-desktop-panel-participants")
    panel(fac, False)

    post_on_phone(ph, "Plus de bancs à l'ombre")
    post_on_phone(ph, "Un potager partagé")
    shot(ph, "flow-03-phone-two-notes")
    # Edit one's own note: tap it, "Modifier", change the text, save.
    ph.locator(".note", has_text="bancs").locator(".note-open").tap()
    ph.get_by_role("button", name="Modifier").tap()
    ph.fill("#composer-text", "Plus de bancs à l'ombre des arbres")
    ph.locator(".composer button[type=submit]").tap()
    expect(ph.locator(".note", has_text="des arbres")).to_be_visible()

    # The desktop sees both notes live.
    expect(fac.locator(".note")).to_have_count(2)
    expect(fac.locator(".note", has_text="potager")).to_be_visible()
    expect(fac.locator(".note", has_text="des arbres")).to_be_visible()
    shot(fac, "flow-04-desktop-sees-notes")

    # Facilitator: clustering phase, one cluster, both notes dragged into it.
    panel(fac, True)
    fac.locator("button[data-fk='ph:cluster']").click()
    expect(fac.locator(".chip-phase")).to_contain_text("Groeperen")
    panel(fac, False)
    fac.get_by_role("button", name=re.compile("Nieuwe ideeëngroep")).click()
    fac.fill("#new-cluster-title", "Groen")
    fac.keyboard.press("Enter")
    cluster = fac.locator(".cluster", has_text="Groen")
    expect(cluster).to_be_visible()
    drag(fac, fac.locator(".note", has_text="potager"), cluster)
    expect(cluster).to_contain_text("1 notitie")
    drag(fac, fac.locator(".note", has_text="bancs"), fac.locator(".cluster", has_text="Groen"))
    expect(fac.locator(".cluster", has_text="Groen")).to_contain_text("2 notities")
    shot(fac, "flow-05-desktop-clustered")
    # ... and the phone sees the cluster with its notes.
    expect(ph.locator(".cluster", has_text="Groen")).to_contain_text("2 notes")
    # The notes moved out of the phone's view: it brings them back by itself once the thumb rests.
    expect(ph.locator(".cluster", has_text="Groen")).to_be_in_viewport()
    shot(ph, "flow-06-phone-sees-cluster")

    # Voting phase: the phone opens the vote list; it spends one dot, sees "2 of 3 left", takes it
    # back, spends two.
    panel(fac, True)
    fac.locator("button[data-fk='ph:vote']").click()
    votes_left = ph.locator("#votes-left")
    expect(votes_left).to_contain_text("3 sur 3")
    potager = ph.locator(".vote-item", has_text="potager")
    potager.locator(".vote-add").tap()
    expect(votes_left).to_contain_text("2 sur 3")
    potager.locator(".vote-remove").tap()
    expect(votes_left).to_contain_text("3 sur 3")
    potager.locator(".vote-add").tap()
    expect(votes_left).to_contain_text("2 sur 3")
    potager.locator(".vote-add").tap()
    expect(votes_left).to_contain_text("1 sur 3")
    ph.locator(".vote-item", has_text="bancs").locator(".vote-add").tap()
    expect(votes_left).to_contain_text("0 sur 3")
    shot(ph, "flow-07-phone-voted")
    # Rik (researcher) backs only the benches: the benches a consensus; the garden is not divisive
    # (Rik did not pick it, which is not opposing it), it reads "0 of 1" for the researchers.
    bancs_id = ph.locator(".vote-item", has_text="bancs").get_attribute("data-id")
    cobord_server.api(
        "POST",
        f"/api/boards/{board_id}/votes",
        {"note_id": bancs_id, "delta": 1},
        token=rik["token"],
    )

    # Reveal; results phase: both see per-group bars and the ranking.
    fac.locator("#reveal-votes").click()
    fac.locator("button[data-fk='ph:results']").click()
    expect(fac.locator(".panel .res-item").first).to_contain_text("bancs")
    expect(fac.locator(".panel .res-item", has_text="potager")).to_contain_text(
        "Onderzoeker: gekozen door 0 van 1"
    )
    expect(fac.locator(".panel .res-divisive")).to_have_count(0)
    panel(fac, False)
    # The results phase is one screen for everyone: the facilitator lands on it too.
    expect(fac.locator(".board-main .res-item").first).to_contain_text("bancs")
    shot(fac, "flow-08-desktop-results")
    # The phone switches to the results by itself when the facilitator moves to the results phase.
    first = ph.locator(".res-item").first
    expect(first).to_contain_text("Plus de bancs")
    expect(first).to_contain_text("2 gommettes")
    expect(first.locator(".bar-row", has_text="Bewoner")).to_contain_text("100")
    expect(first.locator(".bar-row", has_text="Onderzoeker")).to_contain_text("100")
    garden = ph.locator(".res-item", has_text="Un potager partagé")
    expect(garden.locator(".bar-row", has_text="Onderzoeker")).to_contain_text(
        "Onderzoeker : choisie par 0 sur 1"
    )
    expect(ph.locator(".res-divisive")).to_have_count(0)
    shot(ph, "flow-09-phone-results", full_page=True)

    # The projector view, opened from the panel's link on another computer (a fresh context: the
    # read-only token travels in the link's #fragment), shows the results big.
    panel(fac, True)
    present_href = fac.locator("#fac-panel a", has_text="projector").get_attribute("href")
    assert "#v=" in present_href
    projector = desktop.browser.new_context(viewport={"width": 1366, "height": 768}, locale="nl-BE")
    proj = projector.new_page()
    proj.goto(base + present_href)
    expect(proj.locator(".results-big .res-item").first).to_contain_text("bancs")
    expect(proj.locator("button")).to_have_count(0)
    assert "#" not in proj.url  # the token does not stay in the address bar
    shot(proj, "flow-10-projector-results")
    projector.close()

    assert not phone.errors, phone.errors
    assert not desktop.errors, desktop.errors
