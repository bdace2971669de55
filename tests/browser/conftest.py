"""Fixtures for the browser tests: a real `cobord serve` on a free port with a temporary SQLite
file, headless Debian Chromium through Playwright, and a phone and a desktop context.

Screenshots of each step go to tests/artifacts/ (git-ignored): look at them.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ServerProcess
from tests.support import folder_lock, service_missing

try:
    from playwright.sync_api import expect as _expect

    # Waits are on conditions; on a loaded CI machine one may take longer than Playwright's 5 s.
    _expect.set_options(timeout=15_000)
except ImportError:  # the `browser` fixture reports it (skip locally, fail under CI)
    pass

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
# Debian's chromium-headless-shell (`apt-get install chromium-headless-shell`): the same Chromium
# (version, Blink, V8, compositor) in its "old headless" build, without the browser around the
# pages: no window, address bar or tab strip per context, the network service in the browser
# process. Playwright's own default for headless Chromium. Measured against /usr/bin/chromium
# (headless): test_placement + test_groups, `-n 0`, CPU of everything they start (cpuacct cgroup),
# 37.3 and 37.7 s -> 31.0 and 30.7 s; a new phone context with a board page, 0.76 -> 0.40 s of the
# browser process's CPU. Every browser test passes on both; screenshots are the same pixels but
# for one-pixel shifts of button text.
CHROMIUM = "/usr/bin/chromium-headless-shell"
# The features Playwright's launch disables (`disabledFeatures` in its chromiumSwitches, 1.65):
# Chromium reads only the last --disable-features on its command line, so ours must repeat them
# (tests/browser/test_chromium_flags.py fails when a Playwright upgrade adds one).
PLAYWRIGHT_DISABLED_FEATURES = [
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
]
# (For /usr/bin/chromium: tests/browser/measure_client.py's browser, and the suite's before it.)
# Headless Chromium (156) is the whole browser: every context's window loads the address bar's
# popups as two WebUI pages (chrome://omnibox-popup.top-chrome/ and its omnibox_popup_aim.html),
# each in a renderer of its own that nobody looks at. They were about a quarter of a browser
# test's CPU (test_workshop_flow: 16.9 s with them, 12.6 s without, the whole tree's CPU).
UNSEEN_BROWSER_UI = ["WebUIOmniboxPopup", "WebUIOmniboxAimPopup"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-features=" + ",".join(PLAYWRIGHT_DISABLED_FEATURES + UNSEEN_BROWSER_UI),
]
# The suite's browsers only (not tests/browser/measure_client.py, which times frames): flags that
# change how Chromium spreads its work over processes and threads, not what a page shows or does.
# --process-per-site: the pages of one context (the same site, 127.0.0.1) share one renderer
# instead of a new renderer process per page (a test opens up to a dozen pages); contexts still
# never share one. --num-raster-threads=1: tiles are rastered on one worker thread, not several
# competing for the VM's two cores. Measured on five browser tests (test_placement, test_groups,
# test_screens_truth; `-n 0`, CPU of everything they start, cpuacct cgroup): 60.4 and 60.8 s
# before, 47.4-56.8 s with either flag, 49.7-51.1 s with both (the machine shared, so noisy).
SUITE_ONLY_ARGS = ["--process-per-site", "--num-raster-threads=1"]
SUITE_ARGS = CHROMIUM_ARGS + SUITE_ONLY_ARGS
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "has_touch": True,
    "is_mobile": True,
    "locale": "fr-BE",
}
DESKTOP = {"viewport": {"width": 1366, "height": 768}, "locale": "nl-BE"}


class Server:
    """The browser tests' view of a real `cobord serve` process (tests.conftest.ServerProcess)."""

    def __init__(self, process: ServerProcess) -> None:
        self.process = process
        self.base = process.http

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        with urllib.request.urlopen(req, timeout=10) as res:
            return json.loads(res.read() or b"null")


@pytest.fixture(scope="session")
def cobord_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("browser-server")
    process = ServerProcess(
        f"sqlite+aiosqlite:///{folder}/cobord.db",
        {"SECRET_KEY": "browser-test-secret"},
        folder / "server.log",
    )
    process.start()
    try:
        yield Server(process)
    finally:
        process.stop()


# The public address of `configured_server` (what a reverse proxy would serve it at).
PUBLIC_URL = "https://atelier.example.org"


@pytest.fixture(scope="package")
def configured_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second server, for the tests that need configuration the shared one lacks, where that
    configuration does not touch the other tests' checks: a public address (COBORD_PUBLIC_URL,
    test_reach) and machine translation through a LibreTranslate-API fake on loopback
    (test_glossary). Started once for tests/browser/, not once per test; every test makes its
    own boards."""
    from tests.test_translate import FakeLibreTranslate

    folder = tmp_path_factory.mktemp("configured-server")
    fake = FakeLibreTranslate()
    process = ServerProcess(
        f"sqlite+aiosqlite:///{folder}/cobord.db",
        {
            "SECRET_KEY": "browser-test-secret",
            "COBORD_PUBLIC_URL": PUBLIC_URL + "/",
            "COBORD_TRANSLATE_URL": fake.url,
            "COBORD_TRANSLATE_SETTLE_SECONDS": "0.2",
        },
        folder / "server.log",
    )
    process.start()
    try:
        yield Server(process)
    finally:
        process.stop()
        fake.stop()


# The page objects the tests reach (`window.__cobord`, `__cobordReplay`, `__present`) exist only on
# a device that asks for them (static/testhook.js): every context of a test browser does, before any
# page script runs. About:blank has no storage (hence the try).
TEST_HOOKS = "try { localStorage.setItem('cobord:test-hooks', 'true') } catch (e) {}"


def with_test_hooks(browser: Any) -> Any:
    """`browser`, whose every new context asks the pages for their test hooks, and runs no
    service worker unless asked to (`service_workers="allow"`; the `phone` and `desktop` of a
    test marked `service_worker`). The worker (static/sw.js) matters offline only: online it
    fetches from the network first, so the pages look the same; but each fresh context installed
    it, fetching and storing the whole app shell (53 files) again, about a sixth of the browser
    tests' CPU. The tests of offline opening, of the screens after a restart and of https ask
    for it."""
    plain = browser.new_context

    def new_context(**options: Any) -> Any:
        ctx = plain(**{"service_workers": "block", **options})
        ctx.add_init_script(TEST_HOOKS)
        return ctx

    browser.new_context = new_context
    browser.new_context_without_test_hooks = plain  # a device like anyone's
    return browser


@pytest.fixture(scope="package")
def playwright() -> Iterator[Any]:
    """Playwright, started once for tests/browser/. Package scope, not session: its sync API runs
    its own event loop on this thread while it is started, which would break the asyncio tests
    collected after tests/browser/; the package's fixtures end with its last test. A module that
    needs other Chromium flags launches its own browser from this one (never a second
    `sync_playwright()`, which refuses to start inside the first's loop)."""
    if not Path(CHROMIUM).exists():
        service_missing(f"{CHROMIUM} is missing (apt-get install chromium-headless-shell)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("the playwright Python package is missing")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p, _polled_wait_for_function():
        yield p


# `wait_for_function` checks its condition on every animation frame unless told otherwise: while it
# waits, the page draws 60 frames a second (renderer, compositor and GPU process): 0.10-0.11 core
# against 0.01-0.02 core when checked every 50 ms (a board page on a phone, a 5 s wait, measured on
# the 2-core VM). The tests' conditions are states that stay once reached (synced, a count, a
# value), none a single frame's: checked every POLL_MS they are seen as surely, at most POLL_MS
# later. Only the tests' pages (tests/browser/measure_client.py times its waits: not there).
POLL_MS = 50


@contextlib.contextmanager
def _polled_wait_for_function() -> Iterator[None]:
    from playwright.sync_api import Frame, Page

    plain = {cls: cls.wait_for_function for cls in (Page, Frame)}

    def polled(plain_wait: Any) -> Any:
        def wait_for_function(self: Any, expression: str, **options: Any) -> Any:
            return plain_wait(self, expression, **{"polling": POLL_MS, **options})

        return wait_for_function

    for cls, wait in plain.items():
        cls.wait_for_function = polled(wait)  # type: ignore[method-assign]
    try:
        yield
    finally:
        for cls, wait in plain.items():
            cls.wait_for_function = wait  # type: ignore[method-assign]


@pytest.fixture(scope="package")
def browser(playwright: Any) -> Iterator[Any]:
    """One Chromium for every test in tests/browser/ (each test has its own contexts), not one per
    module."""
    b = with_test_hooks(playwright.chromium.launch(executable_path=CHROMIUM, args=SUITE_ARGS))
    yield b
    b.close()


class Errors(list[str]):
    """Uncaught page errors of a context: a test asserts it stays empty."""


def _context(browser: Any, options: dict[str, Any], name: str) -> Any:
    ctx = browser.new_context(**options)
    ctx.set_default_timeout(15_000)
    errors = Errors()
    ctx.on("weberror", lambda e: errors.append(f"{name}: {e.error}"))
    ctx.errors = errors  # type: ignore[attr-defined]
    return ctx


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "service_worker: the test's phone and desktop run the service worker"
    )


def _service_worker(request: pytest.FixtureRequest) -> dict[str, str]:
    return {"service_workers": "allow"} if request.node.get_closest_marker("service_worker") else {}


@pytest.fixture
def phone(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    ctx = _context(browser, {**PHONE, **_service_worker(request)}, "phone")
    yield ctx
    ctx.close()


@pytest.fixture
def desktop(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    ctx = _context(browser, {**DESKTOP, **_service_worker(request)}, "desktop")
    yield ctx
    ctx.close()


def shot(page: Any, name: str, full_page: bool = False) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


AXE = ROOT / "client" / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def axe_path() -> Path:
    with folder_lock(ROOT / "client"):  # parallel workers: one npm ci at a time
        if not AXE.exists():
            npm = shutil.which("npm")
            if npm is None:
                service_missing("axe-core is missing and so is npm (cd client && npm ci)")
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=ROOT / "client",
                check=False,
                capture_output=True,
                timeout=300,
            )
            if not AXE.exists():
                service_missing("npm ci in client/ failed: axe-core unavailable")
    return AXE


def run_axe(page: Any, axe: Path, every_impact: bool = False) -> list[dict[str, Any]]:
    """Serious and critical WCAG A/AA violations on the current page (every impact, minor
    included, with `every_impact`)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluate, not add_script_tag: an inline <script> would be refused by the CSP.
        page.evaluate(axe.read_text() + "\n;undefined")
    result = page.evaluate(
        """async (every) => {
            const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
            // Only the violations are read: axe then details no passing or inapplicable node
            // (about 30 % of an axe run's time on the board page).
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                               resultTypes: ['violations']});
            return r.violations
              .filter(v => every || v.impact === 'serious' || v.impact === 'critical')
              .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5)
                .map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
        }""",
        every_impact,
    )
    return list(result)
