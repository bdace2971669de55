"""Measure the web client: payload, time to interactive on a throttled phone, frame times.

    .venv/bin/python tests/browser/measure_client.py          # starts its own `cobord serve`
    .venv/bin/python tests/browser/measure_client.py --base http://127.0.0.1:8011

Prints:
  1. JS + CSS of the board page: raw bytes, gzip -9 bytes (what a compressing proxy sends), and
     what the server actually transferred (CDP encodedDataLength).
  2. Join link -> join form interactive, and join submit -> board interactive (synced, "+"
     usable), on a phone profile: 390x844 touch, CPU throttled 4x, network ~"Fast 3G" (150 ms
     RTT, 1.6 Mbit/s down, 750 kbit/s up) via CDP Network.emulateNetworkConditions, empty cache.
     Median of N runs.
  3. Frame times while panning a board of 500 notes with the mouse (desktop 1366x768),
     p50/p95/max from requestAnimationFrame deltas; then on the throttled phone profile (4x CPU,
     one-finger touch pan).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
sys.path.insert(0, str(ROOT))  # runs as a script: make `tests` importable
from tests.browser.conftest import CHROMIUM_ARGS, DESKTOP, PHONE, with_test_hooks  # noqa: E402
from tests.conftest import ServerProcess  # noqa: E402

ARGS = CHROMIUM_ARGS
FAST_3G = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1.6e6 / 8,
    "uploadThroughput": 750e3 / 8,
}


def api(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
        method=method,
    )
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read() or b"null")


def start_server() -> ServerProcess:
    folder = Path(tempfile.mkdtemp())
    server = ServerProcess(
        f"sqlite+aiosqlite:///{folder}/measure.db", {"SECRET_KEY": "measure"}, folder / "server.log"
    )
    server.start()
    return server


def payload(browser: Any, base: str, board: dict[str, Any]) -> dict[str, Any]:
    """Every JS/CSS file the board page loads (facilitator panel modules included)."""
    ctx = browser.new_context(**DESKTOP)
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    sizes: dict[str, int] = {}
    urls: dict[str, str] = {}
    cdp.on(
        "Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"])
    )
    cdp.on(
        "Network.loadingFinished",
        lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])),
    )
    page.goto(base + "/")
    page.evaluate(
        "([id, t]) => localStorage.setItem('cobord:token:' + id, JSON.stringify(t))",
        [board["id"], board["facilitator_token"]],
    )
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    urls.clear()
    sizes.clear()
    page.goto(f"{base}/b/{board['id']}")
    page.wait_for_function("() => window.__cobord && window.__cobord.session.synced")
    page.get_by_role("button", name="⚙ Begeleiding").click()
    page.wait_for_selector(".panel .qr svg")
    files = []
    transferred = 0
    for rid, url in urls.items():
        path = url.split(base, 1)[-1].split("?", 1)[0]
        if not path.endswith((".js", ".css")):
            continue
        local = STATIC / path.lstrip("/")
        raw = local.read_bytes()
        files.append((path, len(raw), len(gzip.compress(raw, 9))))
        transferred += sizes.get(rid, 0)
    ctx.close()
    files.sort()
    return {
        "files": files,
        "raw": sum(f[1] for f in files),
        "gzip": sum(f[2] for f in files),
        "transferred": transferred,
        "all_static_gzip": sum(
            len(gzip.compress(p.read_bytes(), 9))
            for p in STATIC.rglob("*")
            if p.suffix in (".js", ".css")
        ),
    }


def throttle(ctx: Any, page: Any) -> Any:
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    # A fresh context starts with an empty cache (a first-time participant); what the join page
    # fetched
    # stays cached for the board, as in a real browser.
    cdp.send("Network.emulateNetworkConditions", FAST_3G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    return cdp


def join_timing(browser: Any, base: str, code: str, runs: int) -> dict[str, float]:
    to_form: list[float] = []
    to_board: list[float] = []
    for i in range(runs):
        ctx = browser.new_context(**PHONE)
        page = ctx.new_page()
        throttle(ctx, page)
        t0 = time.perf_counter()
        page.goto(f"{base}/j/{code}", wait_until="commit")
        page.wait_for_selector("input[name=name]:not([disabled])", state="visible", timeout=60_000)
        page.wait_for_selector("button[type=submit]:not([disabled])", timeout=60_000)
        to_form.append(time.perf_counter() - t0)
        page.fill("input[name=name]", f"Mesure {i}")
        page.locator("label.choice").first.click()
        t1 = time.perf_counter()
        page.click("button[type=submit]")
        page.wait_for_function(
            "() => window.__cobord && window.__cobord.session.synced "
            "&& !document.querySelector('.fab').hidden",
            timeout=60_000,
        )
        to_board.append(time.perf_counter() - t1)
        ctx.close()
    return {
        "join_form_s": statistics.median(to_form),
        "board_s": statistics.median(to_board),
        "total_s": statistics.median(a + b for a, b in zip(to_form, to_board, strict=True)),
    }


def fill_board(browser: Any, base: str, board: dict[str, Any], n: int) -> None:
    ctx = browser.new_context(**DESKTOP)
    page = ctx.new_page()
    page.goto(base + "/")
    page.evaluate(
        "([id, t]) => localStorage.setItem('cobord:token:' + id, JSON.stringify(t))",
        [board["id"], board["facilitator_token"]],
    )
    page.goto(f"{base}/b/{board['id']}")
    page.wait_for_function("() => window.__cobord && window.__cobord.session.synced")
    page.evaluate(
        """(n) => {
          const app = window.__cobord, s = app.session;
          const colors = ['yellow', 'pink', 'blue', 'green', 'orange', 'purple'];
          for (let k = 0; k < n; k += 50) {
            s.batch(() => {
              for (let i = k; i < Math.min(n, k + 50); i++) {
                s.addNote('m-' + i, {
                  text: 'Idée numéro ' + i + ' : plus de verdure et de bancs dans la rue',
                  x: (i % 25) * 220, y: Math.floor(i / 25) * 170, color: colors[i % 6],
                  cluster: '', lang: 'fr',
                  createdAt: Date.now()});
              }
            });
          }
        }""",
        n,
    )
    page.wait_for_function(f"() => document.querySelectorAll('.note').length >= {n}")
    # Let the server persist and fan out before others load the board.
    page.wait_for_function("() => window.__cobord.session.provider.ws.bufferedAmount === 0")
    ctx.close()


FRAME_PROBE = """() => {
  window.__frames = [];
  let last = performance.now();
  const tick = (t) => {
    window.__frames.push(t - last);
    last = t;
    if (window.__probe) requestAnimationFrame(tick);
  };
  window.__probe = true;
  requestAnimationFrame(tick);
}"""


def pan_frames(
    browser: Any, base: str, board: dict[str, Any], token: str, phone: bool
) -> dict[str, float]:
    ctx = browser.new_context(**(PHONE if phone else DESKTOP))
    page = ctx.new_page()
    page.goto(base + "/")
    page.evaluate(
        "([id, t]) => localStorage.setItem('cobord:token:' + id, JSON.stringify(t))",
        [board["id"], token],
    )
    cdp = ctx.new_cdp_session(page)
    if phone:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    t0 = time.perf_counter()
    page.goto(f"{base}/b/{board['id']}")
    page.wait_for_function(
        "() => window.__cobord && window.__cobord.session.synced "
        "&& document.querySelectorAll('.note').length >= 500"
    )
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    open_s = time.perf_counter() - t0
    page.evaluate(
        "() => { const c = window.__cobord.canvas; c.view = {x: 0, y: 0, s: 1}; c.applyView(); }"
    )
    vp = page.locator(".viewport").bounding_box()
    cx, cy = vp["x"] + vp["width"] / 2, vp["y"] + vp["height"] / 2
    page.evaluate(FRAME_PROBE)
    if phone:
        # One-finger pan through CDP touch events (what a thumb does).
        x, y = cx, cy
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]}
        )
        for step in range(120):
            x = cx + 150 * math.sin(step / 10)
            y = cy - step * 4 % 300
            cdp.send(
                "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]}
            )
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    else:
        page.mouse.move(cx, cy)
        page.mouse.down()
        for step in range(240):
            page.mouse.move(cx - (step % 60) * 8, cy - (step % 40) * 6)
        page.mouse.up()
    frames = page.evaluate("() => { window.__probe = false; return window.__frames.slice(2); }")
    ctx.close()
    frames.sort()

    def pct(p: float) -> float:
        return frames[min(len(frames) - 1, int(p * len(frames)))]

    return {
        "frames": len(frames),
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "max_ms": frames[-1],
        "open_s": open_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", help="a running cobord server (default: start one)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    server = None if args.base else start_server()
    base = args.base or server.http
    try:
        with sync_playwright() as p:
            browser = with_test_hooks(
                p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            )
            board = api(
                base,
                "POST",
                "/api/boards",
                {"title": "Mesure", "groups": ["Bewoner", "Onderzoeker"]},
            )
            size = payload(browser, base, board)
            print("1. JS + CSS loaded by the board page (facilitator, panel open):")
            for path, raw, gz in size["files"]:
                print(f"   {path:32s} {raw / 1024:7.1f} KiB raw {gz / 1024:7.1f} KiB gzip")
            print(
                f"   total: {size['raw'] / 1024:.1f} KiB raw, "
                f"{size['gzip'] / 1024:.1f} KiB gzip -9, "
                f"{size['transferred'] / 1024:.1f} KiB transferred by this server (with headers)"
            )
            print(f"   all of static/ (js+css) gzip: {size['all_static_gzip'] / 1024:.1f} KiB")
            timing = join_timing(browser, base, board["join_code"], args.runs)
            print(
                "2. Phone, CPU 4x slower, Fast 3G (150 ms RTT, 1.6 Mbit/s), empty cache, median of "
                f"{args.runs}:"
            )
            print(f"   join link -> join form interactive: {timing['join_form_s']:.2f} s")
            print(f"   join submit -> board interactive (synced): {timing['board_s']:.2f} s")
            print(f"   total (without typing): {timing['total_s']:.2f} s")
            big = api(base, "POST", "/api/boards", {"title": "500 notes", "groups": ["Bewoner"]})
            fill_board(browser, base, big, 500)
            desk = pan_frames(browser, base, big, big["facilitator_token"], phone=False)
            print(
                f"3. Panning 500 notes, desktop 1366x768, mouse: {desk['frames']} frames, "
                f"p50 {desk['p50_ms']:.1f} ms, p95 {desk['p95_ms']:.1f} ms, "
                f"max {desk['max_ms']:.1f} ms"
            )
            me = api(
                base,
                "POST",
                "/api/join",
                {"code": big["join_code"], "name": "Pan", "group": "Bewoner"},
            )
            ph = pan_frames(browser, base, big, me["token"], phone=True)
            print(
                f"   phone 390x844, CPU 4x, touch: {ph['frames']} frames, "
                f"p50 {ph['p50_ms']:.1f} ms, "
                f"p95 {ph['p95_ms']:.1f} ms, max {ph['max_ms']:.1f} ms"
            )
            print(
                f"   opening the 500-note board until painted: desktop {desk['open_s']:.2f} s, "
                f"phone (CPU 4x, local network) {ph['open_s']:.2f} s"
            )
            browser.close()
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
