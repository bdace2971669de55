"""The projector view fits any 16:9 screen: no scrollbar at 1366x768 and 1920x1080, with 40 notes
and with results; the whole join code visible and large; note text >= 32 px at 1080p; the title
on one line; what does not fit is paged (arrow keys), and every note is on some page."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import shot
from tests.browser.helpers import join, new_board, open_board
from tests.browser.test_replay import run_async
from tests.yclient import YClient

SCREENS = [(1366, 768), (1920, 1080)]
LONG_TITLE = (
    "Quel avenir pour la place du quartier et ses abords ? Atelier ouvert à toutes et à tous"
)


def _seed_notes(server: Any, desktop: Any, n: int) -> tuple[dict[str, Any], Any]:
    board = new_board(server, title=LONG_TITLE)
    fac = open_board(desktop, server.base, board["id"], board["facilitator_token"])
    fac.evaluate(
        """(n) => {
            const s = window.__cobord.session;
            const colors = ['yellow', 'pink', 'blue', 'green'];
            for (let i = 0; i < n; i++) {
              const more = 'plus de bancs et d’arbres '.repeat(1 + (i % 4));
              const text = `Idée numéro ${i + 1} : ` + more;
              s.addNote(`note-${i}`, {text, x: (i % 8) * 220, y: Math.floor(i / 8) * 170,
                color: colors[i % 4], cluster: '', lang: 'fr', createdAt: Date.now()});
            }
        }""",
        n,
    )

    async def held_by_server() -> None:
        # The notes were only added locally: the votes below need them on the server (under load
        # a vote arrived first and got 404 unknown_note).
        url = f"{server.process.ws}/{board['id']}?token={board['viewer_token']}"
        watcher = await YClient(url).connect()
        await watcher.wait_until(lambda: len(watcher.notes()) >= n)
        await watcher.close()

    run_async(held_by_server())
    return board, fac


def _open_projector(ctx: Any, base: str, board: dict[str, Any], notes: int) -> Any:
    page = ctx.new_page()
    frag = f"#v={board['viewer_token']}&c={board['join_code']}"
    page.goto(f"{base}/b/{board['id']}/present{frag}")
    page.wait_for_function(
        "(n) => window.__present && window.__present.session.noteList().length === n", arg=notes
    )
    return page


FITS = """() => {
    const se = document.scrollingElement;
    const code = document.getElementById('present-code');
    const r = code ? code.getBoundingClientRect() : null;
    const h1 = document.querySelector('.present-head h1');
    const lh = parseFloat(getComputedStyle(h1).lineHeight);
    const notes = [...document.querySelectorAll('#present-stage .pnote, #present-stage .res-item')];
    const stage = document.getElementById('present-stage').getBoundingClientRect();
    const texts = [...document.querySelectorAll('#present-stage .pnote, #present-stage .res-text')];
    return {
      scrollH: se.scrollHeight, scrollW: se.scrollWidth, innerH: innerHeight, innerW: innerWidth,
      code: r && {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                  font: parseFloat(getComputedStyle(code).fontSize),
                  scrollW: code.scrollWidth, w: code.clientWidth},
      titleH: h1.getBoundingClientRect().height, titleLine: lh,
      noteFont: notes.length
        ? Math.min(...texts.map(e => parseFloat(getComputedStyle(e).fontSize))) : null,
      lowest: Math.max(0, ...notes.map(e => e.getBoundingClientRect().bottom)),
      stageBottom: stage.bottom,
      shown: notes.map(e => e.textContent),
    };
}"""


def _assert_fits(m: dict[str, Any]) -> None:
    assert m["scrollH"] <= m["innerH"], m
    assert m["scrollW"] <= m["innerW"], m
    assert m["titleH"] <= m["titleLine"] * 1.1, m  # one line
    assert m["lowest"] <= m["stageBottom"] + 1, m  # no card cut off at the bottom


def _results_board(server: Any, desktop: Any) -> dict[str, Any]:
    """12 notes, 4 voters of the two groups with 3 dots each (every note gets one), revealed,
    in the results phase."""
    board, _fac = _seed_notes(server, desktop, 12)
    tok = board["facilitator_token"]
    server.api("POST", f"/api/boards/{board['id']}/phase", {"phase": "vote"}, token=tok)
    voters = [
        join(server, board["join_code"], f"P{i}", group=["Bewoner", "Onderzoeker"][i % 2])
        for i in range(4)
    ]
    for i, v in enumerate(voters):
        for k in range(3):
            note = f"note-{(i * 3 + k) % 12}"
            server.api(
                "POST",
                f"/api/boards/{board['id']}/votes",
                {"note_id": note, "delta": 1},
                token=v["token"],
            )
    server.api(
        "PATCH", f"/api/boards/{board['id']}/settings", {"votes_visibility": "revealed"}, token=tok
    )
    server.api("POST", f"/api/boards/{board['id']}/phase", {"phase": "results"}, token=tok)
    return board


def _fits_40_notes(page: Any, size: tuple[int, int]) -> None:
    expect(page.locator("#present-pager")).to_contain_text("page 1 sur")
    m = page.evaluate(FITS)
    shot(page, f"projector-40-notes-{size[0]}")
    _assert_fits(m)
    code = m["code"]
    assert code is not None
    assert code["top"] >= 0 and code["bottom"] <= m["innerH"], code
    assert code["left"] >= 0 and code["right"] <= m["innerW"], code
    assert code["scrollW"] <= code["w"], code  # not clipped sideways
    assert code["font"] >= 0.05 * size[0], code  # huge: 68 px at 1366, 99 px at 1920
    if size == (1920, 1080):
        assert m["noteFont"] >= 32, m
    # Page through with the arrow key: every note is on some page, and each page fits.
    pages = int(page.locator("#present-pager").inner_text().split()[-1])
    assert pages >= 2
    seen: set[str] = set()
    for p in range(pages):
        expect(page.locator("#present-pager")).to_contain_text(f"page {p + 1} sur {pages}")
        m = page.evaluate(FITS)
        _assert_fits(m)
        seen.update(t.split(" :")[0] for t in m["shown"])
        page.keyboard.press("ArrowRight")
    assert seen == {f"Idée numéro {i + 1}" for i in range(40)}
    expect(page.locator("#present-pager")).to_contain_text(f"page 1 sur {pages}")


def _fits_results(page: Any, size: tuple[int, int]) -> None:
    expect(page.locator("#present-stage .res-item").first).to_be_visible()
    expect(page.locator("#present-pager")).to_contain_text("page 1 sur")
    m = page.evaluate(FITS)
    shot(page, f"projector-results-{size[0]}")
    _assert_fits(m)
    if size == (1920, 1080):
        assert m["noteFont"] >= 32, m
    pages = int(page.locator("#present-pager").inner_text().split()[-1])
    seen: set[str] = set()
    for p in range(pages):
        expect(page.locator("#present-pager")).to_contain_text(f"page {p + 1} sur {pages}")
        m = page.evaluate(FITS)
        _assert_fits(m)
        seen.update(t.split(" :")[0] for t in m["shown"])
        page.keyboard.press("ArrowRight")
    # 12 notes, each got at least one dot: all 12 ideas are on some page.
    assert {f"Idée numéro {i + 1}" for i in range(12)} <= {s.strip() for s in seen}, seen


def test_projector_fits_40_notes_and_the_results_at_1366x768_and_1920x1080(
    cobord_server: Any, browser: Any, desktop: Any
) -> None:
    """Two boards (40 notes in the ideas phase; 12 notes with votes in the results phase), each
    projected on a screen of each size (a fresh projector page opened at that size)."""
    notes_board, _fac = _seed_notes(cobord_server, desktop, 40)
    results_board = _results_board(cobord_server, desktop)
    for size in SCREENS:
        ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="fr-BE")
        try:
            page = _open_projector(ctx, cobord_server.base, notes_board, 40)
            _fits_40_notes(page, size)
            page.close()
            page = _open_projector(ctx, cobord_server.base, results_board, 12)
            _fits_results(page, size)
        finally:
            ctx.close()
