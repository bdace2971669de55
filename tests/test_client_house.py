"""The client's house rules, checked on the files themselves (plain Python, no browser):

- no import cycle between static/ modules (static `import … from` / `export … from`; a dynamic
  `import()` loads later and is not part of the load order);
- localStorage / sessionStorage are touched by static/storage.js only;
- the service worker's app shell (static/sw.js SHELL) lists every file the client serves.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

STATIC = Path(__file__).resolve().parents[1] / "static"
IMPORT = re.compile(
    r"""^\s*(?:import|export)\s[^;'"]*?\bfrom\s*["']([^"']+)["']"""
    r"""|^\s*import\s*["']([^"']+)["']""",
    re.M,
)


def imports_of(path: Path) -> list[Path]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in IMPORT.finditer(text):
        spec = match.group(1) or match.group(2)
        if spec.startswith("/"):
            target = STATIC / spec.lstrip("/")
        elif spec.startswith("."):
            target = (path.parent / spec).resolve()
        else:
            raise AssertionError(f"{path.name}: bare import {spec!r} (no build step: use a path)")
        found.append(target)
    return found


def graph() -> dict[Path, list[Path]]:
    modules = [p for p in STATIC.rglob("*.js") if "vendor" not in p.parts]
    return {p.resolve(): imports_of(p) for p in modules}


def find_cycle(edges: dict[Path, list[Path]]) -> list[Path] | None:
    """One import cycle (as a path that comes back to its start), or None."""
    state: dict[Path, int] = {}  # 1 = on the stack, 2 = done
    stack: list[Path] = []

    def visit(node: Path) -> list[Path] | None:
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_cycles() -> None:
    a, b, c = Path("/a.js"), Path("/b.js"), Path("/c.js")
    assert find_cycle({a: [b], b: [c], c: [a]}) == [a, b, c, a]
    assert find_cycle({a: [b], b: [c], c: []}) is None


def test_imports_resolve_and_have_no_cycle() -> None:
    edges = graph()
    for module, targets in edges.items():
        for target in targets:
            if target.name != "yjs.bundle.js":
                assert target in edges, f"{module.name} imports {target} which does not exist"
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(p.name for p in cycle or [])


def test_only_storage_js_touches_web_storage() -> None:
    use = re.compile(r"\b(?:localStorage|sessionStorage)\s*[.\[]|globalThis\[name\]")
    offenders = [
        p.name
        for p in STATIC.rglob("*.js")
        if "vendor" not in p.parts and p.name != "storage.js" and use.search(p.read_text())
    ]
    assert offenders == []


def test_the_service_worker_keeps_every_file_of_the_app_shell() -> None:
    text = (STATIC / "sw.js").read_text()
    block = re.search(r"const SHELL = \[(.*?)\];", text, re.S)
    assert block is not None
    shell = set(re.findall(r'"([^"]+)"', block.group(1)))
    served = {
        "/" + p.relative_to(STATIC).as_posix()
        for p in STATIC.rglob("*")
        if p.is_file() and p.name != "sw.js"
    }
    assert shell - {"/"} == served, (sorted(served - shell), sorted(shell - served - {"/"}))


def test_the_service_worker_is_served_from_the_root_as_javascript(server: Any) -> None:
    """Scope / needs the script at /sw.js, same origin (CSP `script-src 'self'`, no worker-src)."""
    response = httpx.get(f"{server.http}/sw.js")
    assert response.status_code == 200
    kind = response.headers["content-type"].split(";")[0]
    assert kind in ("text/javascript", "application/javascript")
    assert response.content == (STATIC / "sw.js").read_bytes()
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "worker-src" not in csp


# The page objects the browser tests reach (window.__cobord, __cobordReplay, __present) are set in
# one place, behind the tests' flag; no module of the product reads a window global of its own.
WINDOW_GLOBAL = re.compile(
    r"\(\s*window\s*\)\s*(?:\.\s*__|\[)|\bwindow\s*(?:\.\s*__|\[)|\bglobalThis\s*\.\s*__"
)


def product_modules() -> list[Path]:
    return [p for p in STATIC.rglob("*.js") if "vendor" not in p.parts]


def test_the_window_global_finder_finds_them() -> None:
    for line in [
        "/** @type {any} */ (window).__cobord = app;",
        "window.__present = { session };",
        "if (window.__cobord) go();",
        "(window)[name] = value;",
        "window[name] = value;",
    ]:
        assert WINDOW_GLOBAL.search(line), line
    assert not WINDOW_GLOBAL.search('exposeForTests("__cobord", app.testView());')


def test_only_testhook_js_touches_window_globals() -> None:
    offenders = [
        str(p.relative_to(STATIC))
        for p in product_modules()
        if p.name != "testhook.js" and WINDOW_GLOBAL.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    hook = (STATIC / "testhook.js").read_text(encoding="utf-8")
    assert "store.get(keys.testHooks) === true" in hook  # behind the tests' flag, nothing else


def test_components_get_parts_of_the_board_not_its_screen() -> None:
    """The board's screen (static/board/app.js, BoardApp) is opened by its page only; the other
    modules get the board's state, its controller, its sheets or a small host object."""
    screen = (STATIC / "board" / "app.js").resolve()
    importers = sorted(
        str(module.relative_to(STATIC)) for module, targets in graph().items() if screen in targets
    )
    assert importers == ["board/index.js"]
    named = sorted(
        str(p.relative_to(STATIC))
        for p in product_modules()
        if p.parent.name != "board" and re.search(r"\bBoardApp\b|\bthis\.app\b", p.read_text())
    )
    assert named == []


def test_board_state_only_asks_and_the_controller_draws_no_view() -> None:
    """static/board/: the state answers questions (no writes to the document, no DOM), the
    controller writes (no view module, no element built): what changed goes to the screen."""
    board = STATIC / "board"
    state = (board / "state.js").resolve()
    assert {p.name for p in graph()[state]} <= {"util.js", "storage.js"}
    state_code = state.read_text(encoding="utf-8")
    writes = re.compile(
        r"session\.(?:addNote|updateNote|deleteNote|addCluster|updateCluster|deleteCluster"
        r"|setClusterTitles|setUser|setFallback|batch)\(|\bdocument\.|\bh\("
    )
    assert writes.findall(state_code) == []
    controller = (board / "controller.js").resolve()
    views = {"canvas.js", "outline.js", "votelist.js", "panel.js", "app.js", "sheets.js"}
    assert {p.name for p in graph()[controller]} & views == set()
    assert re.findall(r"\bh\(|\bfill\(|\bdocument\.", controller.read_text(encoding="utf-8")) == []
