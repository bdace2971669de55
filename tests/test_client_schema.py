"""static/schema.js mirrors crdt/schema.py: phases, vote visibilities, default settings; the
settings' bounds (crdt/fields.py) and the glossary's bounds (crdt/glossary.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, get_args

from crdt import fields, glossary, schema

SCHEMA_JS = Path(__file__).resolve().parents[1] / "static" / "schema.js"


def constant(name: str) -> Any:
    text = SCHEMA_JS.read_text(encoding="utf-8")
    m = re.search(rf"export const {name} = Object\.freeze\((.*?)\);\n", text, re.DOTALL)
    assert m, name
    return json.loads(m.group(1))


def test_client_constants_match_the_schema() -> None:
    assert tuple(constant("PHASES")) == schema.PHASES
    assert tuple(constant("VOTES_VISIBILITY")) == get_args(schema.VotesVisibility)
    assert constant("DEFAULT_SETTINGS") == schema.DEFAULT_SETTINGS
    assert constant("SETTING_BOUNDS") == {k: list(v) for k, v in fields.SETTING_BOUNDS.items()}
    assert constant("GLOSSARY_BOUNDS") == {
        "term": glossary.MAX_TERM_CHARS,
        "explanation": glossary.MAX_EXPLANATION_CHARS,
        "example": glossary.MAX_EXAMPLE_CHARS,
    }


def test_no_module_keeps_its_own_copy() -> None:
    static = SCHEMA_JS.parent
    for path in static.rglob("*.js"):
        if path.name == "schema.js":
            continue
        text = path.read_text(encoding="utf-8")
        assert '["ideate", "cluster", "vote", "results"]' not in text, path.name
        assert "max_notes_per_participant: 50" not in text, path.name
        assert '["hidden", "live", "revealed"]' not in text, path.name
        assert "max_note_length || 280" not in text, path.name  # DEFAULT_SETTINGS'
        assert "min: 1, max: 50" not in text, path.name  # the vote settings' SETTING_BOUNDS
    panel = (static / "panel.js").read_text(encoding="utf-8")
    for setting in ("vote_budget", "max_votes_per_note", "disagree_budget"):
        assert f'...bounds("{setting}")' in panel, setting
