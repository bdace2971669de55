// @ts-check
// The document's constants, mirrored from crdt/schema.py and crdt/fields.py (tests/test_client_schema.py
// compares them).
// Every module takes them from here. The literals are JSON, so the test can read them as such.

/** @type {readonly string[]} */
export const PHASES = Object.freeze(["ideate", "cluster", "vote", "results"]);

/** @type {readonly string[]} */
export const VOTES_VISIBILITY = Object.freeze(["hidden", "live", "revealed"]);

/** @type {readonly string[]} */
export const COLORS = Object.freeze(["yellow", "pink", "blue", "green", "orange", "purple"]);

export const DEFAULT_SETTINGS = Object.freeze({
  "vote_budget": 3,
  "max_votes_per_note": 3,
  "anonymous": false,
  "votes_visibility": "hidden",
  "locked": false,
  "private_writing": false,
  "groups": [],
  "languages": ["fr", "nl", "en"],
  "max_note_length": 280,
  "max_notes_per_participant": 50,
  "group_labels": {},
  "group_optional": false,
  "disagree_marks": false,
  "disagree_budget": 2,
  "time_zone": "Europe/Brussels"
});

/** The whole numbers a setting may be, [lowest, highest] (crdt/fields.py SETTING_BOUNDS). */
export const SETTING_BOUNDS = Object.freeze({
  "vote_budget": [0, 100],
  "max_votes_per_note": [1, 100],
  "max_note_length": [1, 5000],
  "max_notes_per_participant": [1, 1000],
  "disagree_budget": [0, 100]
});

/** The glossary's bounds (crdt/glossary.py): a term's characters, an explanation's, an example's. */
export const GLOSSARY_BOUNDS = Object.freeze({
  "term": 60,
  "explanation": 600,
  "example": 200
});
