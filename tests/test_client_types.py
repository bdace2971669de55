"""The web client type-checks: `tsc --noEmit -p client/tsconfig.json` over static/ (every file that
starts with `// @ts-check`). TypeScript is pinned in client/package.json; `npm ci` runs once if
client/node_modules lacks it. Without Node: skipped with the reason (a failure under CI=true)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support import service_missing

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "client"
TSC = CLIENT / "node_modules" / "typescript" / "bin" / "tsc"
CHECKED = (
    "qr.js",
    "reach.js",
    "noteview.js",
    "votelist.js",
    "faclink.js",
    "downloads.js",
    "i18n.js",
    "results.js",
    "present.js",
    "ui.js",
    "util.js",
    "app.js",
    "session.js",
    "outline.js",
    "home.js",
    "storage.js",
    "offline.js",
    "follow.js",
    "moderation.js",
    "unsent.js",
    "extras.js",
)


def _tsc() -> list[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        service_missing("node/npm is not installed (needed to type-check the client with tsc)")
    assert node is not None and npm is not None
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


def test_checked_modules_say_so() -> None:
    for name in CHECKED:
        assert (ROOT / "static" / name).read_text().startswith("// @ts-check"), name
    for lang in ("fr", "nl", "en"):
        assert (ROOT / "static" / "i18n" / f"{lang}.js").read_text().startswith("// @ts-check")


def test_client_type_checks() -> None:
    done = subprocess.run(
        _tsc(), cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


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
