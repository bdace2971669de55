"""The test browser's flags do what tests/browser/conftest.py says: no WebUI page of the address
bar's popups runs beside the tests' pages, and Playwright's own disabled features stay disabled
(Chromium reads only the last --disable-features, so ours repeats Playwright's list)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PLAYWRIGHT_DISABLED_FEATURES, UNSEEN_BROWSER_UI

pytestmark = pytest.mark.browser


def _playwright_disabled_features() -> list[str]:
    """The `disabledFeatures` list in the installed Playwright driver's source."""
    import playwright

    bundle = Path(playwright.__file__).parent / "driver" / "package" / "lib" / "coreBundle.js"
    found = re.search(r"disabledFeatures = \[(.*?)\]", bundle.read_text(), re.S)
    assert found, f"no disabledFeatures list in {bundle}"
    return re.findall(r'^\s*"([^"]+)",?\s*$', found.group(1), re.M)


def test_our_disable_features_repeats_playwrights() -> None:
    theirs = _playwright_disabled_features()
    assert "PaintHolding" in theirs  # the parse found the list
    assert sorted(set(theirs) - set(PLAYWRIGHT_DISABLED_FEATURES)) == []


def test_no_address_bar_popup_renders_beside_the_pages(browser: Any) -> None:
    context = browser.new_context()
    try:
        context.new_page().goto("about:blank")  # a window, with its address bar
        session = browser.new_browser_cdp_session()
        targets = session.send("Target.getTargets")["targetInfos"]
        session.detach()
    finally:
        context.close()
    ui = sorted(t["url"] for t in targets if t["type"] != "page")
    assert ui == [], (ui, UNSEEN_BROWSER_UI)
