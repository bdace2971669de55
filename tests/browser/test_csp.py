"""The web client works under the Content-Security-Policy: no violation on the home, join,
board (phone and facilitator), outline, results, projector and replay views."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from server.http.security import CONTENT_SECURITY_POLICY
from tests.browser.helpers import join, new_board, open_board

pytestmark = pytest.mark.browser

WATCH = """() => { window.__cspViolations = window.__cspViolations || [];
  document.addEventListener('securitypolicyviolation',
    e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI)); }"""


def _watch(context: Any) -> list[str]:
    messages: list[str] = []
    context.on(
        "console",
        lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None,
    )
    context.add_init_script(script=WATCH.removeprefix("() => ").strip())
    return messages


def test_the_client_runs_under_the_csp(cobord_server: Any, phone: Any, desktop: Any) -> None:
    base = cobord_server.base
    phone_csp, desktop_csp = _watch(phone), _watch(desktop)
    home = desktop.new_page()
    response = home.goto(base + "/")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    expect(home.locator("input[name=title]")).to_be_visible()

    board = new_board(cobord_server)
    page = phone.new_page()
    page.goto(f"{base}/j/{board['join_code']}")
    expect(page.locator("input[name=name]")).to_be_visible()
    me = join(cobord_server, board["join_code"], "Amina")
    ph = open_board(phone, base, board["id"], me["token"])
    ph.locator(".fab").tap()
    ph.fill("#composer-text", "Des bancs à l'ombre")
    ph.locator(".composer button[type=submit]").tap()
    expect(ph.locator(".note")).to_have_count(1)

    fac = open_board(desktop, base, board["id"], board["facilitator_token"])
    expect(fac.locator(".note")).to_have_count(1)
    cobord_server.api(
        "PATCH",
        f"/api/boards/{board['id']}/settings",
        {"votes_visibility": "revealed"},
        token=board["facilitator_token"],
    )
    ph.goto(f"{base}/b/{board['id']}?view=outline")
    expect(ph.locator(".outline")).to_be_visible()
    ph.goto(f"{base}/b/{board['id']}?view=results")
    expect(ph.locator(".results")).to_be_visible()
    fac.goto(f"{base}/b/{board['id']}/replay")
    fac.wait_for_load_state("networkidle")

    for context_messages, pages in ((phone_csp, [page, ph]), (desktop_csp, [home, fac])):
        assert context_messages == []
        for p in pages:
            assert p.evaluate("() => window.__cspViolations || []") == []
    assert phone.errors == [] and desktop.errors == []
