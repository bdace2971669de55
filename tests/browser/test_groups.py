"""Groups in every language: the facilitator labels a group per language in the panel, participants
read it in theirs when joining and in the results, and joining offers "I'd rather not say" when
the facilitator allows it. The stored group stays the group's id: results per group stay right."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, shot
from tests.browser.helpers import new_board, open_board

WORKER = "Maatschappelijk werker"


def _join_by_screen(page: Any, base: str, code: str, name: str, group_label: str) -> None:
    page.goto(f"{base}/j/{code}")
    page.locator("input[name=name]").fill(name)
    page.get_by_role("radio", name=group_label).check()
    page.locator("form button[type=submit]").click()
    page.wait_for_function("() => window.__cobord && window.__cobord.session.synced")


def test_group_labels_per_language_and_rather_not_say(
    cobord_server: Any, browser: Any, desktop: Any
) -> None:
    board = new_board(cobord_server, groups=["Bewoner", WORKER])
    fac = open_board(desktop, cobord_server.base, board["id"], board["facilitator_token"])
    fac.locator("button[aria-controls=fac-panel]").click()
    fac.wait_for_function("() => window.__cobord.panel.participants && window.__cobord.httpResults")
    section = fac.locator("section[aria-labelledby=p-groups]")
    worker = section.locator("fieldset", has_text=WORKER)
    worker.get_by_label("Français").fill("Travailleur social")
    worker.get_by_label("Français").press("Tab")
    fac.wait_for_function(
        "() => (window.__cobord.session.settings().group_labels['Maatschappelijk werker'] || {}).fr"
    )
    worker.get_by_label("English").fill("Social worker")
    worker.get_by_label("English").press("Tab")
    section.get_by_label("„Ik zeg het liever niet” aanbieden").check()
    fac.wait_for_function("() => window.__cobord.session.settings().group_optional === true")
    fac.wait_for_function(
        "() => (window.__cobord.session.settings().group_labels['Maatschappelijk werker'] || {}).en"
    )
    section.evaluate("(e) => e.scrollIntoView()")  # re-resolved: a rebuild cannot detach it midway
    shot(fac, "groups-panel-labels")

    fr = browser.new_context(**PHONE)
    en = browser.new_context(**{**PHONE, "locale": "en-GB"})
    shy = browser.new_context(**PHONE)
    try:
        amina = fr.new_page()
        amina.goto(f"{cobord_server.base}/j/{board['join_code']}")
        expect(amina.get_by_role("radio", name="Travailleur social")).to_be_visible()
        expect(amina.get_by_label("Je préfère ne pas le dire")).to_be_visible()
        expect(amina.get_by_text(WORKER)).to_have_count(0)  # French readers never read the Dutch
        shot(amina, "groups-join-fr")
        _join_by_screen(
            amina, cobord_server.base, board["join_code"], "Amina", "Travailleur social"
        )
        john = en.new_page()
        _join_by_screen(john, cobord_server.base, board["join_code"], "John", "Social worker")
        rik = shy.new_page()
        _join_by_screen(
            rik, cobord_server.base, board["join_code"], "Rik", "Je préfère ne pas le dire"
        )
        people = cobord_server.api(
            "GET", f"/api/boards/{board['id']}/participants", token=board["facilitator_token"]
        )
        assert {p["name"]: p["group"] for p in people} == {
            "Amina": WORKER,
            "John": WORKER,
            "Rik": None,
        }

        note = amina.evaluate(
            "() => window.__cobord.postNote("
            "{text: 'Des bancs', color: 'yellow', lang: 'fr', cluster: ''})"
        )
        for page in (amina, john, rik):
            page.wait_for_function("() => window.__cobord.session.noteList().length === 1")
        # Amina's read of her votes on the phase change reaches her page after her first vote, with
        # the server's answer from before it (as on a slow network): her dot must still show.
        token = amina.evaluate("() => window.__cobord.session.token")
        votes_url = f"/api/boards/{board['id']}/votes/mine"
        before_vote = cobord_server.api("GET", votes_url, token=token)
        assert before_vote["votes"] == {}
        held: list[Any] = []

        def hold_first_read(route: Any) -> None:
            if held:
                route.continue_()
            else:
                held.append(route)  # the browser's request waits here, unanswered

        amina.route("**" + votes_url, hold_first_read)
        fac.locator("button[data-fk='ph:vote']").click()
        for page in (amina, rik):
            page.wait_for_function("() => window.__cobord.canVote()")
            page.evaluate("(id) => window.__cobord.vote(id, 1)", note)
            page.wait_for_function("(id) => window.__cobord.myVotes(id) === 1", arg=note)
        assert len(held) == 1
        with amina.expect_request("**" + votes_url, timeout=10_000):  # read again, once answered
            held[0].fulfill(json=before_vote)
        amina.wait_for_function("(id) => window.__cobord.myVotes(id) === 1", arg=note)
        fac.locator("button[data-fk='ph:results']").click()
        res = amina.locator(".board-main .res-item").first
        expect(res.locator(".bar-row", has_text="Travailleur social")).to_contain_text("100")
        expect(res.locator(".bar-row", has_text="Non précisé")).to_contain_text("100")
        # A group none of whose members voted has not opposed the idea: no "0 %", it says so.
        expect(res.locator(".bar-row", has_text="Bewoner")).to_contain_text(
            "Bewoner : aucun vote de ce groupe"
        )
        john_res = john.locator(".board-main .res-item").first
        expect(john_res.locator(".bar-row", has_text="Social worker")).to_be_visible()
        shot(amina, "groups-results-fr")
        shot(john, "groups-results-en")
        expect(fac.locator(".board-main .res-item").first).to_contain_text(WORKER)  # nl: no label
    finally:
        fr.close()
        en.close()
        shy.close()
