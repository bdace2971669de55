"""The rules of dot voting and "I disagree" marks, in one place: both stores check a vote with
these, inside the transaction (SQL) or under the lock (memory) that makes it atomic, so the rules
and their order are the same whichever store counts.
"""

from __future__ import annotations

from server.store.base import VoteRefused


def check_vote(delta: int, mine: int, spent: int, budget: int, max_per_note: int) -> None:
    """Raise VoteRefused if adding `delta` to `mine` (of `spent` dots in all) breaks a rule.

    Shared by both stores: the rules and their order (budget, then max_per_note) live in one place.
    """
    if delta < 0:
        if mine <= 0:
            raise VoteRefused("none_to_remove", "no dot of yours on this note to take back")
        return
    if spent + delta > budget:
        raise VoteRefused("budget", f"all {budget} of your dots are spent")
    if mine + delta > max_per_note:
        raise VoteRefused("max_per_note", f"at most {max_per_note} dots per note")


def check_mark(delta: int, marked: bool, spent: int, budget: int, dots_on_note: int) -> None:
    """Raise VoteRefused if casting (+1) or taking back (-1) a mark breaks a rule: one mark per
    note, the marks budget, and no mark on a note one put dots on (for and against at once says
    nothing). Shared by both stores."""
    if delta < 0:
        if not marked:
            raise VoteRefused("no_mark_to_remove", "no mark of yours on this note to take back")
        return
    if marked:
        raise VoteRefused("disagree_once", "one \"I disagree\" mark per note")
    if spent + delta > budget:
        raise VoteRefused("disagree_budget", f"all {budget} of your \"I disagree\" marks are spent")
    if dots_on_note > 0:
        raise VoteRefused(
            "stance_conflict", "you put dots on this note: take them back to disagree with it"
        )


def check_no_mark_when_dotting(marked: bool) -> None:
    if marked:
        raise VoteRefused(
            "stance_conflict", "you disagree with this note: take your mark back to vote for it"
        )
