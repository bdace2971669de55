"""The client's strings: static/i18n/{fr,nl,en}.js hold the same keys, none empty, with the same
{placeholders}; every key the client asks for with t("...") exists. Pure Python: the files are one
object literal of `key: "string"` pairs, and the parser proves it read all of each file."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[1] / "static"
LANGS = ("fr", "nl", "en")
PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*:\s*("(?:[^"\\\n]|\\.)*")')
COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)


def load(lang: str) -> dict[str, str]:
    text = (STATIC / "i18n" / f"{lang}.js").read_text(encoding="utf-8")
    body = COMMENT.sub("", text)
    m = re.fullmatch(r"\s*export default \{(.*)\};\s*", body, re.DOTALL)
    assert m, f"{lang}.js must be `export default {{ ... }};`"
    inner = m.group(1)
    out: dict[str, str] = {}
    for key, value in PAIR.findall(inner):
        assert key not in out, f"{lang}.js: duplicate key {key}"
        out[key] = json.loads(value)
    leftover = PAIR.sub("", inner)
    assert re.fullmatch(r"[\s,]*", leftover), f"{lang}.js: unparsed text {leftover.strip()[:80]!r}"
    return out


def test_parser_notices_what_it_cannot_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "i18n").mkdir()
    (tmp_path / "i18n" / "fr.js").write_text('export default {\n  a: "x",\n  b: `y`,\n};\n')
    monkeypatch.setattr(sys.modules[__name__], "STATIC", tmp_path)
    with pytest.raises(AssertionError, match="unparsed"):
        load("fr")


def test_every_key_in_every_language() -> None:
    d = {lang: load(lang) for lang in LANGS}
    assert len(d["en"]) > 200
    for lang in LANGS:
        assert set(d[lang]) == set(d["en"]), {
            "missing": sorted(set(d["en"]) - set(d[lang])),
            "extra": sorted(set(d[lang]) - set(d["en"])),
            "lang": lang,
        }
        assert not [k for k, v in d[lang].items() if not v.strip()], lang


def test_same_placeholders() -> None:
    d = {lang: load(lang) for lang in LANGS}
    for key, en in d["en"].items():
        want = set(re.findall(r"\{(\w+)\}", en))
        for lang in ("fr", "nl"):
            got = set(re.findall(r"\{(\w+)\}", d[lang][key]))
            assert got == want, (lang, key, got, want)


def test_keys_used_by_the_client_exist() -> None:
    en = load("en")
    used: set[str] = set()
    for path in STATIC.glob("*.js"):
        code = COMMENT.sub("", path.read_text(encoding="utf-8"))
        used |= set(re.findall(r"\bt\(\s*\"([a-z0-9_]+)\"", code))
    assert used, "no t(...) call found"
    assert sorted(k for k in used if k not in en) == []


def test_one_count_per_string() -> None:
    """Plural forms come from Intl.PluralRules on {n}: a string with two counts ("{notes} notes,
    {votes} dots") cannot agree with both, so each count gets its own string."""
    for lang in LANGS:
        for key, value in load(lang).items():
            counts = set(re.findall(r"\{(n|notes|votes|count|left|budget)\}", value)) - {
                "left",
                "budget",
            }
            assert len(counts) <= 1, (lang, key, value)
        d = load(lang)
        for key in d:
            if key.endswith("_one"):
                assert key[: -len("_one")] in d, (lang, key)
