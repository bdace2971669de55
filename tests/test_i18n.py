"""The client's strings: static/i18n/{fr,nl,en}.js hold the same keys, none empty, with the same
{placeholders}; every key the client asks for with t("...") exists. Pure Python: the files are one
object literal of `key: "string"` pairs, and the parser proves it read all of each file."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

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


def client_modules() -> list[Path]:
    """The client's code (static/ and its folders such as board/), not the dictionaries nor the
    vendored bundle."""
    return sorted(
        p for p in STATIC.rglob("*.js") if not {"i18n", "vendor"} & set(p.relative_to(STATIC).parts)
    )


def test_keys_used_by_the_client_exist() -> None:
    en = load("en")
    used: set[str] = set()
    for path in client_modules():
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


# ---------------------------------------------------------------------- counts (branch a11y2, #23)

# Placeholders that carry a number (a count, a budget, a length).
NUMBERS = {"n", "left", "budget", "people", "voters", "dots", "count", "notes", "votes", "m", "of"}
NUMBERS |= {"page", "pages", "s", "min", "rank"}
# Counted strings that need no singular form, and why. Every other string with a number needs a
# `<key>_one` form in every language, and its callers must pass the count as `n` (static/i18n.js
# picks `_one` from params.n with Intl.PluralRules: 1 in en/nl, 0 and 1 in fr).
NO_SINGULAR: dict[str, str] = {
    "here_count": "“{n} here”: no word agrees with the count",
    "here_short": "“{n} here”: no word agrees with the count",
    "total_dots_short": "“{n} in all”: no word agrees with the count",
    "minutes_short": "a unit symbol (min)",
    "timer_started": "a unit symbol (min)",
    "label_with_seconds": "a unit symbol (s)",
    "voice_recording_for": "a unit symbol (s)",
    "present_page": "page numbers",
    "disagree_left_short": "“{left}/{budget}”",
    "res_chosen_by": "“chosen by {n} of {m}”: no word agrees with a count",
    "results_plain_group": "“chosen by {n} of {of}”: no word agrees with a count",
    "res_against_total": "a count of a quoted label (“I disagree”), no noun",
    "res_consensus_many": "only with 2 or more groups (res_consensus_single says one)",
    "drafts_waiting": (
        "only when 2 or more people have drafts (drafts_waiting_one_person for one), so n >= 2"
    ),
    "res_group_size": "{people} and {voted} are phrases made by res_people/res_voted",
    "res_group_silent": "{people} is a phrase made by res_people",
}
CALL = re.compile(r"\bt\(\s*\"([a-z0-9_]+)\"\s*,\s*\{")


def _object_literal(code: str, start: int) -> str:
    """The text of the `{...}` that starts at `start` (strings and nesting skipped)."""
    depth, i, quote = 0, start, ""
    while i < len(code):
        ch = code[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return code[start + 1 : i]
        i += 1
    raise AssertionError(f"unclosed object literal at {start}")


def _entries(inner: str) -> dict[str, str]:
    """`{ n: x, left, budget: f(a, b) }` -> {"n": "x", "left": "left", "budget": "f(a, b)"}."""
    out: dict[str, str] = {}
    depth, quote, part = 0, "", ""
    for ch in inner + ",":
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            name, _, value = part.strip().partition(":")
            if name.strip():
                out[name.strip()] = (value or name).strip()
            part = ""
            continue
        part += ch
    return out


def calls() -> list[tuple[str, str, dict[str, str]]]:
    """Every `t("key", { ... })` of the client: (where, key, params)."""
    found = []
    for path in client_modules():
        code = COMMENT.sub("", path.read_text(encoding="utf-8"))
        for m in CALL.finditer(code):
            where = f"{path.relative_to(STATIC).as_posix()}:{code.count(chr(10), 0, m.start()) + 1}"
            found.append((where, m.group(1), _entries(_object_literal(code, m.end() - 1))))
    return found


def test_call_parser_reads_params() -> None:
    assert _entries(' n: budget, left: f(a, b), budget, text: "a, b" ') == {
        "n": "budget",
        "left": "f(a, b)",
        "budget": "budget",
        "text": '"a, b"',
    }
    assert ("votelist.js", "votes_left") in {(w.split(":")[0], k) for w, k, _ in calls()}


def counted(value: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", value)) & NUMBERS


def test_every_counted_string_has_a_singular_where_it_can_be_one() -> None:
    """Before: "You have reached the limit of 1 notes.", "Your drafts (1)", "1 of 1 dots left"
    (and results_group_bar's "(1 people, 1 dots)", a string nothing used)."""
    d = {lang: load(lang) for lang in LANGS}
    base = [k for k in d["en"] if not k.endswith(("_one", "_easy"))]
    missing = [
        key
        for key in base
        if counted(d["en"][key]) and key not in NO_SINGULAR and f"{key}_one" not in d["en"]
    ]
    assert missing == []
    stale = [k for k in NO_SINGULAR if k not in d["en"] or f"{k}_one" in d["en"]]
    assert stale == [], "listed as needing no singular, but gone or given one"
    # A singular form is only chosen when the count comes as `n`, a number (not a string).
    wrong = [
        (where, key)
        for where, key, params in calls()
        if f"{key}_one" in d["en"]
        and ("n" not in params or re.match(r"(fmtNumber|String)\(|[\"'`]", params["n"]))
    ]
    assert wrong == []


def test_every_placeholder_is_given() -> None:
    """Before: the outline's note form read "280 characters left (of {max})"."""
    d = {lang: load(lang) for lang in LANGS}
    missing = []
    for where, key, params in calls():
        if any(name.startswith("...") for name in params):
            continue
        for lang in LANGS:
            for variant in (key, f"{key}_one"):
                wanted = set(re.findall(r"\{(\w+)\}", d[lang].get(variant, "")))
                missing += [(where, variant, lang, w) for w in sorted(wanted - set(params))]
    assert missing == []


def render(lang: str, key: str, **params: Any) -> str:
    """What static/i18n.js's t() shows (Intl.PluralRules of fr-BE, nl-BE, en-GB picks `_one`)."""
    d = load(lang)
    n = params.get("n")
    one = isinstance(n, int) and (n in (0, 1) if lang == "fr" else n == 1)
    text = d[f"{key}_one"] if one and f"{key}_one" in d else d[key]
    return re.sub(r"\{(\w+)\}", lambda m: str(params[m.group(1)]), text)


@pytest.mark.parametrize(
    ("lang", "key", "params", "shown"),
    [
        ("en", "note_limit", {"n": 1}, "You have reached the limit of 1 note."),
        ("fr", "note_limit", {"n": 1}, "Vous avez atteint la limite de 1 note."),
        ("nl", "note_limit", {"n": 1}, "U hebt de limiet van 1 notitie bereikt."),
        ("fr", "drafts_heading", {"n": 1}, "Votre brouillon (1)"),
        ("nl", "drafts_heading", {"n": 1}, "Uw kladje (1)"),
        ("en", "drafts_heading", {"n": 2}, "Your drafts (2)"),
        ("en", "votes_left", {"n": 1, "left": 1, "budget": 1}, "1 of 1 dot left"),
        ("en", "votes_left", {"n": 3, "left": 1, "budget": 3}, "1 of 3 dots left"),
        ("fr", "votes_left", {"n": 1, "left": 0, "budget": 1}, "0 sur 1 gommette restante"),
        ("fr", "votes_left", {"n": 3, "left": 1, "budget": 3}, "1 sur 3 gommettes restantes"),
        ("nl", "votes_left", {"n": 1, "left": 1, "budget": 1}, "Nog 1 van 1 stip"),
        ("fr", "votes_left_short", {"n": 1, "left": 1, "budget": 1}, "1 sur 1 restante"),
        ("en", "disagree_left", {"n": 1, "budget": 2}, "1 “I disagree” mark left of 2"),
        ("en", "disagree_left", {"n": 0, "budget": 1}, "0 “I disagree” marks left of 1"),
        ("nl", "disagree_left", {"n": 1, "budget": 2}, "Nog 1 „niet akkoord”-markering van 2"),
        ("fr", "disagree_left", {"n": 1, "budget": 2}, "1 marque « pas d'accord » sur 2 restante"),
        ("fr", "drafts_waiting_one_person", {"n": 1}, "1 brouillon en attente sur un appareil"),
        ("fr", "res_people", {"n": 1}, "1 personne"),
        ("nl", "res_voted", {"n": 1}, "1 stemde"),
    ],
)
def test_singular_forms_read_right(
    lang: str, key: str, params: dict[str, int], shown: str
) -> None:
    assert render(lang, key, **params) == shown
