"""The review queue, claims, scores, moderation and conflicts of interest."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from registry.domain.review import SlotStatus
from schemas.base import MULTI_LINE, Request, Response, UtcTime
from schemas.issuance import RevisionProgress

Recommendation = Literal["approve", "changes_requested", "reject"]
Rationale = Annotated[str, msgspec.Meta(max_length=10_000, pattern=MULTI_LINE)]
Summary = Annotated[str, msgspec.Meta(min_length=1, max_length=10_000, pattern=MULTI_LINE)]


class QueueItem(Response, frozen=True):
    """A submitted revision waiting for reviews, with its SLA figures."""

    dossier_id: str
    revision: int
    supplier: str
    product: str
    product_version: str
    criteria_set: str
    queued_at: UtcTime
    waiting_seconds: int
    in_review_seconds: int | None
    reviews_needed: int
    reviews_in_progress: int
    reviews_submitted: int


class QueueList(Response, frozen=True):
    """Items waiting, oldest first (never a supplier the caller declared a conflict with)."""

    items: list[QueueItem]


class ScorePut(Request):
    """One criterion's result: a gate's pass/fail or a score, with the reviewer's rationale."""

    gate_pass: bool | None = None
    score: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    not_applicable: bool = False
    rationale: Rationale = ""


class ScoreOut(Response, frozen=True):
    """A stored score."""

    code: str
    gate_pass: bool | None
    score: int | None
    not_applicable: bool
    rationale: str
    updated_at: UtcTime


class ReviewOut(Response, frozen=True):
    """The caller's own review: its lease, what it covers and what is scored so far."""

    id: str
    dossier_id: str
    revision: int
    status: SlotStatus
    claimed_at: UtcTime | None
    lease_until: UtcTime | None
    criteria: list[str]
    scores: list[ScoreOut]
    recommendation: Recommendation | None
    submitted_at: UtcTime | None
    # On a submit: what the review led to (waiting for reviews, moderation, a decision, a
    # certificate or its issuance state).
    progress: RevisionProgress | None = None


class ReviewSummary(Response, frozen=True):
    """One of the caller's reviews in their list: what it is for and how long the lease lasts."""

    id: str
    dossier_id: str
    revision: int
    product: str
    supplier: str
    status: SlotStatus  # claimed (open work, lease live) or submitted
    claimed_at: UtcTime | None
    lease_until: UtcTime | None
    lease_seconds_left: int | None
    scored: int
    recommendation: Recommendation | None
    submitted_at: UtcTime | None


class ReviewPage(Response, frozen=True):
    """The caller's own reviews: open ones (live claims) first by lease end, then submitted."""

    items: list[ReviewSummary]
    next_cursor: str | None


class ReviewSubmit(Request):
    """Finish a review: a recommendation and a summary."""

    recommendation: Recommendation
    summary: Summary


class InterestsPut(Request):
    """Declare conflicts of interest: supplier organisations whose dossiers you must never get."""

    organisation_ids: Annotated[list[str], msgspec.Meta(max_length=200)]
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class InterestsOut(Response, frozen=True):
    """Every organisation the caller declared a conflict with."""

    organisation_ids: list[str]


class ReviewerScores(Response, frozen=True):
    """One reviewer's submitted review, as the moderating lead sees it."""

    reviewer_id: str
    reviewer_name: str
    label: str  # "Reviewer 1", "Reviewer 2": how the supplier's feedback names this review
    recommendation: Recommendation
    summary: str
    scores: list[ScoreOut]


class ModerationCaseOut(Response, frozen=True):
    """A revision waiting for a lead reviewer, with why and what each reviewer said."""

    id: str
    dossier_id: str
    revision: int
    status: Literal["open", "decided"]
    reasons: list[str]
    opened_at: UtcTime
    reviews: list[ReviewerScores]


class ModerationList(Response, frozen=True):
    """Open moderation cases, oldest first."""

    items: list[ModerationCaseOut]


class FinalScore(Request, kw_only=True):
    """The lead reviewer's final result for one criterion."""

    gate_pass: bool | None = None
    score: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    not_applicable: bool = False
    rationale: Annotated[str, msgspec.Meta(min_length=1, max_length=10_000, pattern=MULTI_LINE)]


class ModerationDecide(Request):
    """The lead reviewer's decision: final scores for every applicable criterion, with rationale."""

    recommendation: Recommendation
    summary: Summary
    scores: dict[str, FinalScore]


class DecisionOut(Response, frozen=True):
    """A revision's decision as everyone may see it (no reviewer identities)."""

    outcome: Literal["approved", "changes_requested", "rejected", "moderation"]
    reasons: list[str]
    section_percentages: dict[str, int | None]
    failed_gates: list[str]
    sections_below_threshold: list[str]
    comments: dict[str, list[str]]
    # Why an approval came back as changes requested: its certificate could not be issued.
    returned_because: str | None = None


class ModerationResult(DecisionOut, kw_only=True, frozen=True):
    """The moderated decision, and what it led to (a certificate, or its issuance state)."""

    progress: RevisionProgress
