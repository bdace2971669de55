"""The wheel's package list (pyproject.toml) covers the source tree, and ships the web client.

The full check — build the wheel, install it in a fresh venv, serve the client from another
directory — is `.ci/wheel_smoke.py`, run by `.ci/run`; this one catches a new subpackage that
the explicit list forgets, in the ordinary test run."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_python_package_is_listed_for_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("server", "crdt")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages"
    assert config["package-dir"]["server.static"] == "static"
    assert (ROOT / "static" / "index.html").is_file()
