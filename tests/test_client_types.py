"""The web client type-checks: `tsc --noEmit -p client/tsconfig.json` over the page modules
of static/ (every one starts with `// @ts-check`), and `-p client/tsconfig.sw.json` over the
service worker (a worker's globals, not a page's). TypeScript is pinned in client/package.json;
`npm ci` runs once if client/node_modules lacks it. Without Node: skipped with the reason (a
failure under CI=true)."""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support import folder_lock, service_missing

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "static"
CLIENT = ROOT / "client"
TSC = CLIENT / "node_modules" / "typescript" / "bin" / "tsc"
PAGES = CLIENT / "tsconfig.json"
WORKER = CLIENT / "tsconfig.sw.json"
SW = STATIC / "sw.js"
# One worker runs this file (pytest-xdist `--dist loadgroup`): `_checked` below is a cache of this
# process, and the type-check and coverage tests handed to two workers checked the pages twice
# (about 6 s of CPU each time).
pytestmark = pytest.mark.xdist_group("tsc")


def _client_sources() -> list[Path]:
    """Every script the client is made of: static/**/*.js but the vendored bundle."""
    return sorted(p for p in STATIC.rglob("*.js") if "vendor" not in p.relative_to(STATIC).parts)


def _tsc() -> list[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        service_missing("node/npm is not installed (needed to type-check the client with tsc)")
    assert node is not None and npm is not None
    with folder_lock(CLIENT):  # parallel workers: one npm ci at a time, then it is there
        if not TSC.exists():
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=CLIENT,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            if not TSC.exists():
                service_missing(f"npm ci failed in {CLIENT}: {done.stderr[-2000:]}")
    return [node, str(TSC), "-p", str(CLIENT / "tsconfig.json")]


def test_every_client_module_says_ts_check() -> None:
    """A plain scan: a new static/*.js without `// @ts-check` fails here (tsc would skip it)."""
    sources = _client_sources()
    assert len(sources) >= 40 and SW in sources, [p.name for p in sources]
    unchecked = [
        str(p.relative_to(ROOT)) for p in sources if not p.read_text().startswith("// @ts-check\n")
    ]
    assert unchecked == []


def _run(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = _tsc()
    return subprocess.run(
        [*cmd[:2], "-p", str(config), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@functools.cache
def _checked(config: Path) -> subprocess.CompletedProcess[str]:
    """One full check of a program, with the files it read (`--listFiles`): the type-check tests
    and the coverage test below share it (each tsc run of the pages costs seconds of CPU)."""
    return _run(config, "--listFiles")


def test_client_type_checks() -> None:
    done = _checked(PAGES)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_service_worker_type_checks() -> None:
    done = _checked(WORKER)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_tsc_covers_every_module() -> None:
    """Each source is in exactly one of the two programs: the pages' (lib dom) or the worker's."""
    listed = {}
    for config in (PAGES, WORKER):
        done = _checked(config)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        listed[config.name] = {
            Path(line).resolve()
            for line in done.stdout.splitlines()
            if Path(line).resolve().is_relative_to(STATIC)
        }
    pages, worker = listed[PAGES.name], listed[WORKER.name]
    assert worker == {SW} and SW not in pages  # a worker checked as a page would see `document`
    # The vendor bundle comes in through imports (read for its types, not checked).
    missing = set(_client_sources()) - {SW} - pages
    extra = pages - set(_client_sources()) - {STATIC / "vendor" / "yjs.bundle.js"}
    assert (missing, extra) == (set(), set())


def test_type_errors_are_reported(tmp_path: Path) -> None:
    """The check can fail: a wrong type in a checked module is an error."""
    bad = tmp_path / "bad.js"
    bad.write_text('// @ts-check\n/** @type {number} */\nexport const n = "not a number";\n')
    config = tmp_path / "tsconfig.json"
    config.write_text(
        '{"extends": "%s", "include": ["%s"]}' % (CLIENT / "tsconfig.json", bad)  # noqa: UP031
    )
    cmd = _tsc()
    done = subprocess.run(
        [*cmd[:2], "-p", str(config)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode != 0 and "TS2322" in done.stdout, done.stdout


def test_worker_config_has_a_workers_globals(tmp_path: Path) -> None:
    """The worker's program knows ServiceWorkerGlobalScope and has no `document` (lib webworker)."""
    bad = tmp_path / "sw.js"
    bad.write_text(
        "// @ts-check\n"
        "const w = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));\n"
        "w.skipWaiting();\n"
        "console.log(document.title);\n"
    )
    config = tmp_path / "tsconfig.json"
    config.write_text('{"extends": "%s", "files": ["%s"]}' % (WORKER, bad))  # noqa: UP031
    done = _run(config)
    errors = [line for line in done.stdout.splitlines() if "error TS" in line]
    assert len(errors) == 1 and "(4," in errors[0] and "TS2584" in errors[0], done.stdout
