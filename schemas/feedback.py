"""The feedback a supplier reads on a decided revision: outcome, scores, comments, what to change.

Reviewers are named only by their place ("Reviewer 1", "Reviewer 2", "Moderator"): no id, email
or name of a reviewer is ever part of it.
"""

from __future__ import annotations

from typing import Literal

from schemas.base import Response, UtcTime
from schemas.issuance import IssuanceOut

Outcome = Literal["approved", "changes_requested", "rejected"]
Recommendation = Literal["approve", "changes_requested", "reject"]


class SectionScore(Response, frozen=True):
    """A section's score against its threshold (no percentage when nothing in it was scored)."""

    code: str
    title: str
    percent: int | None
    threshold: int
    met: bool


class GateResult(Response, frozen=True):
    """A pass/fail criterion's result."""

    code: str
    title: str
    result: Literal["pass", "fail", "not_applicable"]


class Comment(Response, frozen=True):
    """One comment on one criterion."""

    code: str
    title: str
    text: str


class ReviewFeedback(Response, frozen=True):
    """What one reviewer (or the moderator) said, under their label only."""

    label: str
    recommendation: Recommendation
    summary: str
    comments: list[Comment]


class Change(Response, frozen=True):
    """One thing to change before the next submission, with the comments that explain it."""

    code: str | None  # the criterion or section concerned; None for the dossier as a whole
    title: str
    what: str
    comments: list[str]


class FeedbackOut(Response, frozen=True):
    """A decided revision's outcome, section scores, gate results, reviewers' words and changes."""

    dossier_id: str
    revision: int
    outcome: Outcome
    decided_at: UtcTime | None
    moderated: bool
    reasons: list[str]
    sections: list[SectionScore]
    gates: list[GateResult]
    reviews: list[ReviewFeedback]
    changes: list[Change]  # empty unless the outcome is changes_requested or rejected
    certificate_id: str | None
    issuance: IssuanceOut | None
    next_step: str
