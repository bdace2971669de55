"""Every screen tells what the server holds, after the perturbations that made them lie (#19):
a server restart mid-workshop and an offline reload of a phone (the timer), a second note
(its "not sent yet" mark), a join code rotated under an open projector, results back to ideas,
an erased participant. One flow with a facilitator (desktop 1366x768, with the projector in a
second tab) and a phone (390x844), on a server of its own that the test restarts."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from pycrdt import Map

from tests.browser.conftest import shot
from tests.browser.helpers import join, new_board, open_board
from tests.browser.test_replay import run_async
from tests.conftest import ServerProcess
from tests.yclient import YClient, add_note

pytestmark = pytest.mark.browser

# The screen's minutes:seconds against the server's deadline, read by the page's own clock (the
# machine's, which is the server's: same host). Within 2 s.
TIMER_MATCHES = """([selector, endsAt]) => {
    const el = document.querySelector(selector);
    const m = el && el.textContent.match(/(\\d+):(\\d\\d)/);
    if (!m) return false;
    const shown = Number(m[1]) * 60 + Number(m[2]);
    return Math.abs(shown - (endsAt - Date.now()) / 1000) <= 2;
}"""


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(
        f"sqlite+aiosqlite:///{tmp_path}/cobord.db",
        {"SECRET_KEY": "browser-test-secret"},
        tmp_path / "server.log",
    )
    process.start()
    yield process
    process.stop()


def call(server: ServerProcess, method: str, path: str, token: str, body: Any = None) -> Any:
    r = httpx.request(
        method, server.http + path, json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


def open_page(context: Any, base: str, path: str, store: dict[str, str]) -> Any:
    page = context.new_page()
    page.goto(base + "/")
    page.evaluate(
        "(items) => { for (const [k, v] of Object.entries(items))"
        " localStorage.setItem(k, JSON.stringify(v)); }",
        store,
    )
    page.goto(base + path)
    return page


def post(page: Any, text: str) -> None:
    page.locator(".fab").tap()
    page.fill("#composer-text", text)
    page.locator(".composer button[type=submit]").tap()


@pytest.mark.service_worker
def test_every_screen_tells_the_truth(own_server: ServerProcess, phone: Any, desktop: Any) -> None:
    base = own_server.http
    board = httpx.post(
        base + "/api/boards", json={"title": "Parc", "groups": ["Bewoner", "Onderzoeker"]}
    ).json()
    bid, fac_token = board["id"], board["facilitator_token"]
    amina = httpx.post(
        base + "/api/join",
        json={"code": board["join_code"], "name": "Amina", "group": "Bewoner", "lang": "fr"},
    ).json()
    fac = open_page(desktop, base, f"/b/{bid}", {f"cobord:token:{bid}": fac_token})
    fac.wait_for_function("() => window.__cobord && window.__cobord.session.synced")
    projector = open_page(desktop, base, f"/b/{bid}/present#v={board['viewer_token']}", {})
    expect(projector.locator("#present-code")).to_have_text(board["join_code"])
    ph = open_page(phone, base, f"/b/{bid}", {f"cobord:token:{bid}": amina["token"]})
    ph.wait_for_function("() => window.__cobord && window.__cobord.session.synced")
    ph.wait_for_function("() => navigator.serviceWorker.controller !== null")

    # -- "Not sent yet": A, then B. B's changes start at the clock after A's, which the old check
    # (encodeStateVectorFromUpdate on the server's answer) ignored: B stayed marked for good.
    post(ph, "Plus de bancs au parc")
    first = ph.locator(".note", has_text="Plus de bancs au parc")
    expect(first.locator(".unsent-mark")).to_have_count(0)
    post(ph, "Un potager partagé")
    second = ph.locator(".note", has_text="Un potager partagé")
    expect(fac.locator(".note", has_text="Un potager partagé")).to_be_visible()
    expect(second.locator(".unsent-mark")).to_have_count(0)
    expect(second).not_to_have_class(re.compile(r"\bis-unsent\b"))

    # -- A new join code with the projector open: it shows the new code and its QR code live.
    rotated = call(
        own_server, "POST", f"/api/boards/{bid}/rotate", fac_token, {"what": "join_code"}
    )
    code = rotated["join_code"]
    expect(projector.locator("#present-code")).to_have_text(code)
    same_qr = projector.evaluate(
        """async (code) => {
            const { qrSvg } = await import('/qr.js');
            const want = qrSvg(location.origin + '/j/' + code)
                .querySelector('path').getAttribute('d');
            return document.querySelector('.present-join .qr path').getAttribute('d') === want;
        }""",
        code,
    )
    assert same_qr
    shot(projector, "truth-01-projector-new-code")

    # -- The server restarts; meanwhile the phone reloads offline and its service worker answers
    # from a copy kept 10 minutes ago (the old client took its clock from that copy's Date).
    ph.reload()  # now through the service worker, which keeps the board's answers
    ph.wait_for_function("() => window.__cobord && window.__cobord.session.synced")
    assert ph.evaluate(
        """async (id) => {  // until the worker has put its copy (it does so after answering)
            const until = Date.now() + 15000;
            while (Date.now() < until) {
                const cache = await caches.open('cobord-shell-v1');
                if (await cache.match('/api/boards/' + id, { ignoreVary: true })) return true;
                await new Promise((r) => setTimeout(r, 100));
            }
            return false;
        }""",
        bid,
    )
    own_server.stop()
    ph.evaluate(
        """async (id) => {
            const cache = await caches.open('cobord-shell-v1');
            const url = '/api/boards/' + id;
            const kept = await cache.match(url, { ignoreVary: true });
            const headers = new Headers(kept.headers);
            headers.delete('Vary');
            headers.set('Date', new Date(Date.now() - 600000).toUTCString());
            await cache.put(url, new Response(await kept.text(), { status: 200, headers }));
        }""",
        bid,
    )
    phone.set_offline(True)
    ph.reload()
    ph.wait_for_function("() => window.__cobord && window.__cobord.session")
    expect(ph.locator(".banner-offline")).to_be_visible()
    own_server.start()
    phone.set_offline(False)
    for page in (fac, ph, projector):
        page.wait_for_function(
            "() => { const s = (window.__cobord || window.__present).session;"
            " return s.synced && s.status === 'connected'; }"
        )

    # A 1-minute timer: every screen within 2 s of the server's deadline.
    timer = call(own_server, "POST", f"/api/boards/{bid}/timer", fac_token, {"seconds": 60})
    ends = timer["timer"]["endsAt"]
    assert abs(ends - (time.time() * 1000 + 60_000)) < 5_000
    for page, selector in (
        (fac, ".chip-timer"),
        (ph, ".chip-timer"),
        (projector, "#present-timer"),
    ):
        page.wait_for_function(TIMER_MATCHES, arg=[selector, ends])
    shot(ph, "truth-02-phone-timer-after-restart")

    # -- Results, then back to ideas: everyone returns to the board, with "+" for the phone.
    call(
        own_server,
        "PATCH",
        f"/api/boards/{bid}/settings",
        fac_token,
        {"votes_visibility": "revealed"},
    )
    call(own_server, "POST", f"/api/boards/{bid}/phase", fac_token, {"phase": "results"})
    for page in (fac, ph):
        page.wait_for_function("() => window.__cobord.view === 'results'")
    expect(ph.locator(".fab")).to_be_hidden()
    call(own_server, "POST", f"/api/boards/{bid}/phase", fac_token, {"phase": "ideate"})
    for page in (fac, ph):
        page.wait_for_function("() => window.__cobord.view === 'canvas'")
        expect(page.locator(".fab")).to_be_visible()
        expect(page.locator(".note", has_text="Un potager partagé")).to_be_visible()
    shot(ph, "truth-03-phone-back-to-ideas")

    # -- The facilitator erases Amina: her phone loses the board (notes, "+", the copy kept on
    # the device), and says why.
    call(
        own_server, "DELETE", f"/api/boards/{bid}/participants/{amina['participant_id']}", fac_token
    )
    expect(ph.locator("[role=alert]")).to_be_visible()
    expect(ph.locator(".note")).to_have_count(0)
    expect(ph.locator(".fab")).to_have_count(0)
    kept = ph.evaluate(
        "(id) => ['doc', 'token', 'pending'].map(k => localStorage.getItem(`cobord:${k}:${id}`))",
        bid,
    )
    assert kept == [None, None, None]
    # ... nor what the service worker kept of it (its info lists the participants; pictures).
    assert ph.evaluate(
        """async (id) => {
            const until = Date.now() + 15000;
            while (Date.now() < until) {
                const c = await caches.open('cobord-shell-v1');
                if (!(await c.keys()).some(r => r.url.includes('/api/boards/' + id))) return true;
                await new Promise((r) => setTimeout(r, 100));
            }
            return false;
        }""",
        bid,
    )
    shot(ph, "truth-04-phone-erased")

    # -- The board deleted: the projector stops showing it (it went on as if live), and says why.
    call(own_server, "DELETE", f"/api/boards/{bid}", fac_token)
    gone = "Dit bord is verwijderd door de begeleider."
    expect(projector.locator("[role=alert]")).to_have_text(gone)
    expect(projector.locator(".pnote")).to_have_count(0)
    expect(fac.locator(".note")).to_have_count(0)
    assert not phone.errors and not desktop.errors, (phone.errors, desktop.errors)


LONG = (
    "Een lang idee zonder einde: " + "meer groen, meer bankjes, minder auto's en een speeltuin " * 4
)[:280]


def test_replay_keeps_its_board_and_the_feed_reads_plainly(
    cobord_server: Any, desktop: Any
) -> None:
    """A long note made the feed 1,870 px wide and the replay board 0 px at 1366; "tidy up"
    wrote one "moved a note" line per note; a hidden note read "Cobord deleted a note". Also:
    on the live board, the facilitator's "votes hidden" line does not cover the author line."""
    base = cobord_server.base
    board = new_board(cobord_server, title="Plein")
    bid, fac_token = board["id"], board["facilitator_token"]
    ws = cobord_server.process.ws
    ids = [f"n{i}" for i in range(6)]

    async def session() -> None:
        writer = await YClient(f"{ws}/{bid}?token={fac_token}").connect()
        watcher = await YClient(f"{ws}/{bid}?token={board['viewer_token']}").connect()
        for i, note_id in enumerate(ids):
            text = LONG if i == 0 else f"Idee {i}"
            await writer.change(
                add_note(note_id, text, lang="nl", x=220.0 * i, createdAt=1.0, author="Sam")
            )
        # The facilitator's own note, in French with a Dutch translation, by a long name: its
        # author line wraps and sits above a translation line.
        await writer.change(
            add_note(
                "own",
                "Des bancs à l'ombre",
                lang="fr",
                x=0.0,
                y=400.0,
                createdAt=2.0,
                author="Anne-Sophie Vandenberghe-Dubois",
                translations=Map(
                    {"nl": Map({"text": "Bankjes in de schaduw", "by": "x", "machine": True})}
                ),
            )
        )
        await watcher.wait_until(lambda: set(ids) <= set(watcher.notes()))

        def tidy(doc: Any) -> None:  # what "tidy up" writes: every note moved, one update
            for i, note_id in enumerate(ids):
                note = doc.get("notes", type=Map)[note_id]
                note["x"] = 240.0 * (i % 3)
                note["y"] = 180.0 * (i // 3)

        await writer.change(tidy)
        await watcher.wait_until(lambda: watcher.notes()["n5"].get("y") == 180.0)
        for c in (writer, watcher):
            await c.close()

    run_async(session())
    cobord_server.api(
        "POST", f"/api/boards/{bid}/notes/n3/hide", {"reason": "dubbel"}, token=fac_token
    )
    cobord_server.api("POST", f"/api/boards/{bid}/phase", {"phase": "vote"}, token=fac_token)

    live = open_board(desktop, base, bid, fac_token)
    card = live.locator(".note[data-id='own']")
    expect(card.locator(".votes-hidden")).to_be_visible()
    hidden, meta = (
        card.locator(".votes-hidden").bounding_box(),
        card.locator(".note-meta").bounding_box(),
    )
    shot(live, "truth-05-facilitator-votes-hidden")
    assert hidden and meta
    box = card.bounding_box()
    assert box and hidden["y"] + hidden["height"] <= box["y"] + box["height"], (hidden, box)
    assert (
        hidden["y"] >= meta["y"] + meta["height"] - 0.5
        or hidden["y"] + hidden["height"] <= meta["y"] + 0.5
    ), (hidden, meta)
    shot(live, "truth-05-facilitator-votes-hidden")
    live.close()

    page = desktop.new_page()
    page.goto(f"{base}/b/{bid}/replay")
    feed = page.locator(".feed-item")
    expect(page.locator(".feed-item", has_text="verplaatste 6 notities")).to_have_count(1)
    expect(page.locator(".feed-item", has_text="verplaatste een notitie")).to_have_count(0)
    expect(page.locator(".feed-item", has_text="verborgen door de begeleider")).to_have_count(1)
    expect(page.locator(".feed-item", has_text="Cobord")).to_have_count(0)
    expect(feed).to_have_count(11)  # 7 added, 1 tidy-up, 1 hidden, 2 phases (ideas, votes)
    for width, height, board_min in ((1366, 768, 700), (1920, 1080, 1200)):
        page.set_viewport_size({"width": width, "height": height})
        sizes = page.evaluate(
            """() => ({
                board: document.querySelector('.replay-body > .board-main')
                    .getBoundingClientRect().width,
                feed: document.querySelector('.replay-feed').getBoundingClientRect().width,
                page: document.documentElement.scrollWidth,
            })"""
        )
        assert sizes["board"] >= board_min, sizes
        assert sizes["feed"] <= 0.4 * width + 1 and sizes["page"] <= width, sizes
        shot(page, f"truth-06-replay-{width}")
    assert not desktop.errors, desktop.errors


def test_a_notes_language_and_its_translation_line_on_a_phone(
    cobord_server: Any, phone: Any
) -> None:
    """A French interface: an English sentence is tagged EN (it was tagged with the interface's
    language, and read aloud in French); "translated from" names the language in French ("Traduit
    du English" before); the outline's counter says its limit (it showed "{max}")."""
    base = cobord_server.base
    board = new_board(cobord_server, title="Quartier")
    bid = board["id"]
    me = join(cobord_server, board["join_code"], "Lina")
    ws = cobord_server.process.ws

    async def translated_note() -> None:
        writer = await YClient(f"{ws}/{bid}?token={board['facilitator_token']}").connect()
        tr = Map({"fr": Map({"text": "Une fête de quartier", "by": "x", "machine": False})})
        await writer.change(add_note("en1", "A street party", lang="en", translations=tr))
        await writer.close()

    run_async(translated_note())
    ph = open_board(phone, base, bid, me["token"])
    card = ph.locator(".note[data-id='en1']")
    expect(card.locator(".tr-tag")).to_have_text("Traduit de l’anglais")

    ph.locator(".fab").tap()
    ph.fill("#composer-text", "We need more benches in the park for older people")
    expect(ph.locator(".composer select[name=lang]")).to_have_value("en")
    expect(ph.locator("#composer-lang-guess")).to_have_text(
        "Langue reconnue d’après le texte : anglais"
    )
    shot(ph, "truth-07-phone-language-guessed")
    ph.locator(".composer button[type=submit]").tap()
    mine = ph.locator(".note", has_text="We need more benches")
    expect(mine.locator(".tag")).to_have_text("EN")
    assert mine.locator(".tag").get_attribute("lang") == "en"

    ph.goto(f"{base}/b/{bid}?view=outline")
    help_text = ph.locator("#outline-new-text-help")
    expect(help_text).to_have_text("280 caractères restants (sur 280)")
    ph.fill("#outline-new-text", "Er moeten meer bankjes in het park komen voor ouderen")
    expect(help_text).to_have_text("227 caractères restants (sur 280)")
    expect(ph.locator("#outline-new-lang")).to_have_value("nl")
    assert not phone.errors, phone.errors
