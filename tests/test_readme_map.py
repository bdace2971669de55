"""The README's architecture map names every server and crdt module; docs/client.md (or the README)
every client module: a newcomer finds each file's one line before opening it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _named(text: str, path: Path, package: Path) -> bool:
    """A module is named by its path under its package (`http/boards.py`), or by its bare name
    when that name is unique in the package (`ws.py`)."""
    relative = path.relative_to(package).as_posix()
    if re.search(rf"(?<![\w/]){re.escape(relative)}\b", text):
        return True
    same_name = [p for p in package.rglob(path.name) if "__pycache__" not in p.parts]
    return (
        len(same_name) == 1 and re.search(rf"(?<![\w/.]){re.escape(path.name)}\b", text) is not None
    )


def _modules(package: str, pattern: str) -> list[Path]:
    base = ROOT / package
    return sorted(
        p
        for p in base.rglob(pattern)
        if p.name != "__init__.py"
        and "versions" not in p.parts
        and "__pycache__" not in p.parts
        and "vendor" not in p.parts
    )


def test_every_python_module_is_on_the_readme_map() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [
        str(p.relative_to(ROOT))
        for package in ("server", "crdt")
        for p in _modules(package, "*.py")
        if not _named(readme, p, ROOT / package)
    ]
    assert missing == []


def test_every_client_module_is_named() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8") + (
        ROOT / "docs" / "client.md"
    ).read_text(encoding="utf-8")
    missing = [
        str(p.relative_to(ROOT))
        for p in _modules("static", "*.js")
        if not _named(text, p, ROOT / "static")
    ]
    assert missing == []


def test_a_module_left_off_the_map_is_found(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    for name in ("a.py", "sub/b.py", "sub/a.py"):
        (tmp_path / "pkg" / name).write_text("")
    package = tmp_path / "pkg"
    text = "  a.py  one line\n"  # names neither sub/b.py nor, since a.py is not unique, sub/a.py
    assert not _named(text, package / "sub" / "b.py", package)
    assert not _named(text, package / "sub" / "a.py", package)
    assert _named("sub/a.py the other a", package / "sub" / "a.py", package)
