"""Feedback on a decided revision: what its supplier reads, and the assessment report prints.

Reviewers appear only as "Reviewer 1", "Reviewer 2" (in the order they submitted) and
"Moderator"; nothing here reads a reviewer's id, email or name into the result.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import msgspec

from registry.db import read_transaction
from registry.domain import feedback as words
from registry.domain.criteria import applicable_criteria
from registry.domain.criteria_document import CriteriaSetDocument, Criterion
from registry.domain.dates import as_datetime
from registry.domain.dossier import RevisionStatus, decode_frozen
from registry.domain.identity import Principal
from registry.domain.review import SlotStatus
from registry.errors import Conflict, NotFound
from registry.records import (
    ModerationCaseRecord,
    Record,
    ReviewScoreRecord,
    RevisionRecord,
    fetch,
    fetch_one,
)
from registry.services import access, criteria, progress
from registry.tables import Dossier, ModerationCase, ReviewScore, ReviewSlot, Revision
from schemas.feedback import (
    Change,
    Comment,
    FeedbackOut,
    GateResult,
    ReviewFeedback,
    SectionScore,
)
from schemas.review import DecisionOut

DECIDED = frozenset(
    {RevisionStatus.approved, RevisionStatus.changes_requested, RevisionStatus.rejected}
)


class Judged(msgspec.Struct, frozen=True):
    """One criterion's result in a review, or in the moderator's final scores."""

    gate_pass: bool | None = None
    score: int | None = None
    not_applicable: bool = False
    rationale: str = ""


@dataclass(frozen=True, slots=True)
class _Said:
    """One review (or the moderation) as feedback shows it: label, words, scores by code."""

    label: str
    recommendation: str
    summary: str
    scores: dict[str, Judged]


class _SlotSaid(Record, frozen=True):
    id: uuid.UUID
    recommendation: str | None
    summary: str | None


class _Owner(Record, frozen=True):
    organisation: uuid.UUID


class _RevisionState(Record, frozen=True):
    id: uuid.UUID
    status: RevisionStatus
    submitted_at: int | None


async def revision_feedback(principal: Principal, dossier_id: str, number: int) -> FeedbackOut:
    """Feedback on revision ``number`` of a dossier of the caller's organisation (admins: any)."""
    try:
        key = uuid.UUID(dossier_id)
    except ValueError as e:
        raise NotFound(f"no dossier {dossier_id!r}") from e
    dossier = await fetch_one(Dossier.select(Dossier.organisation).where(Dossier.id == key), _Owner)
    if dossier is None or not access.may_ask_for_feedback(principal, dossier.organisation):
        raise NotFound(f"no dossier {dossier_id!r}")
    revision = await fetch_one(
        Revision.select(Revision.id, Revision.status, Revision.submitted_at).where(
            Revision.natural_key == f"{key}:{number}"
        ),
        _RevisionState,
    )
    if revision is None or not access.may_read_feedback(
        principal, dossier.organisation, submitted_at=revision.submitted_at
    ):
        raise NotFound(f"dossier {dossier_id} has no revision {number}")
    if revision.status not in DECIDED:
        shown = await progress.revision_progress(revision.id)
        raise Conflict(
            f"revision {number} is {revision.status.value}: feedback comes once it is decided. "
            f"{shown.next_step}"
        )
    return await feedback_for(revision.id)


async def feedback_for(revision_id: uuid.UUID) -> FeedbackOut:
    """The feedback of a decided revision (callers check who may read it)."""
    async with read_transaction():
        revision = await fetch_one(
            Revision.select().where(Revision.id == revision_id), RevisionRecord
        )
        if revision is None or revision.decision is None or revision.frozen is None:
            raise NotFound(f"revision {revision_id} has no decision")
        said = await _reviews(revision_id)
        case = await fetch_one(
            ModerationCase.select().where(
                (ModerationCase.revision == revision_id) & (ModerationCase.status == "decided")
            ),
            ModerationCaseRecord,
        )
    decision = msgspec.json.decode(revision.decision, type=DecisionOut)
    frozen = decode_frozen(revision.frozen)
    document, _ = await criteria.document_by_ref(frozen.criteria_set.ref)
    applicable = applicable_criteria(document, frozen.product.profile)
    if case is not None:
        said.append(
            _Said(
                label=words.MODERATOR,
                recommendation=case.recommendation or "",
                summary=case.summary or "",
                scores=msgspec.json.decode(case.final_scores or "{}", type=dict[str, Judged]),
            )
        )
    deciding = _deciding_scores(said, moderated=case is not None)
    shown = await progress.revision_progress(revision_id)
    return FeedbackOut(
        dossier_id=str(revision.dossier),
        revision=revision.number,
        outcome=decision.outcome,  # type: ignore[arg-type]  # a stored decision is never moderation
        decided_at=as_datetime(revision.decided_at),
        moderated=case is not None,
        reasons=decision.reasons,
        sections=_sections(document, applicable, decision),
        gates=_gates(applicable, deciding),
        reviews=[_review_out(s, applicable) for s in said],
        changes=_changes(document, applicable, decision, deciding, said),
        certificate_id=shown.certificate_id,
        issuance=shown.issuance,
        next_step=shown.next_step,
    )


async def _reviews(revision_id: uuid.UUID) -> list[_Said]:
    slots = await fetch(
        ReviewSlot.select(ReviewSlot.id, ReviewSlot.recommendation, ReviewSlot.summary)
        .where(
            (ReviewSlot.revision == revision_id) & (ReviewSlot.status == SlotStatus.submitted.value)
        )
        .order_by(ReviewSlot.submitted_at, ReviewSlot.natural_key),
        _SlotSaid,
    )
    said = []
    for position, slot in enumerate(slots, start=1):
        rows = await fetch(
            ReviewScore.select().where(ReviewScore.slot == slot.id), ReviewScoreRecord
        )
        said.append(
            _Said(
                label=words.reviewer_label(position),
                recommendation=slot.recommendation or "",
                summary=slot.summary or "",
                scores={
                    row.criterion_code: Judged(
                        row.gate_pass, row.score, row.not_applicable, row.rationale
                    )
                    for row in rows
                },
            )
        )
    return said


def _deciding_scores(said: list[_Said], *, moderated: bool) -> dict[str, Judged]:
    # Moderated: the moderator's final scores decided. Otherwise the reviews agreed on every gate
    # and were within tolerance on every section; the lowest score of each criterion is shown as
    # what lost points, so that nothing a reviewer marked down goes unmentioned.
    if moderated:
        return said[-1].scores
    deciding: dict[str, Judged] = {}
    for review in said:
        for code, score in review.scores.items():
            kept = deciding.get(code)
            if kept is None or (score.score or 0) < (kept.score or 0):
                deciding[code] = score
    return deciding


def _sections(
    document: CriteriaSetDocument, applicable: list[Criterion], decision: DecisionOut
) -> list[SectionScore]:
    codes = {c.code for c in applicable}
    results = []
    for section in document.sections:
        if not any(c.code in codes for c in section.criteria):
            continue
        percent = decision.section_percentages.get(section.code)
        results.append(
            SectionScore(
                code=section.code,
                title=section.title,
                percent=percent,
                threshold=section.threshold_percent,
                met=percent is None or percent >= section.threshold_percent,
            )
        )
    return results


def _gate_result(score: Judged | None) -> str:
    if score is None or score.not_applicable:
        return "not_applicable"
    return "pass" if score.gate_pass else "fail"


def _gates(applicable: list[Criterion], deciding: dict[str, Judged]) -> list[GateResult]:
    return [
        GateResult(code=c.code, title=c.title, result=_gate_result(deciding.get(c.code)))  # type: ignore[arg-type]
        for c in applicable
        if c.mode == "gate"
    ]


def _review_out(said: _Said, applicable: list[Criterion]) -> ReviewFeedback:
    return ReviewFeedback(
        label=said.label,
        recommendation=said.recommendation,  # type: ignore[arg-type]  # stored from the enum
        summary=said.summary,
        comments=[
            Comment(code=c.code, title=c.title, text=text)
            for c in applicable
            if (text := said.scores[c.code].rationale.strip() if c.code in said.scores else "")
        ],
    )


def _changes(
    document: CriteriaSetDocument,
    applicable: list[Criterion],
    decision: DecisionOut,
    deciding: dict[str, Judged],
    said: list[_Said],
) -> list[Change]:
    titles = {c.code: c.title for c in applicable}
    comments: dict[str, list[str]] = {}
    for review in said:
        for code, score in review.scores.items():
            text = score.rationale.strip()
            if text:
                comments.setdefault(code, []).append(f"{review.label}: {text}")
    below = set(decision.sections_below_threshold)
    shortfalls = []
    for section in document.sections:
        if section.code not in below:
            continue
        lost = []
        for c in section.criteria:
            points = deciding[c.code].score if c.code in deciding else None
            scored = c.code in titles and c.mode == "scored"
            if scored and points is not None and c.max_score is not None and points < c.max_score:
                lost.append(words.Lost(c.code, c.title, points, c.max_score, c.weight or 1))
        shortfalls.append(
            words.SectionShortfall(
                code=section.code,
                title=section.title,
                percent=decision.section_percentages.get(section.code) or 0,
                threshold=section.threshold_percent,
                lost=lost,
            )
        )
    made = words.changes_to_make(
        outcome=decision.outcome,
        returned_because=decision.returned_because,
        failed_gates=[(code, titles.get(code, code)) for code in decision.failed_gates],
        shortfalls=shortfalls,
        comments=comments,
    )
    return [Change(code=c.code, title=c.title, what=c.what, comments=c.comments) for c in made]
