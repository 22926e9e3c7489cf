"""Scoring, submitting reviews, deciding, moderation and conflicts of interest."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import msgspec

from registry import clock
from registry.db import write_transaction
from registry.domain import decision as rule
from registry.domain.audit_chain import AuditTag
from registry.domain.canonical import canonical_json
from registry.domain.criteria import applicable_criteria, find_criterion
from registry.domain.criteria_document import CriteriaSetDocument, Criterion
from registry.domain.dates import as_datetime
from registry.domain.dossier import RevisionAction, RevisionStatus, decode_frozen, transition
from registry.domain.identity import OrganisationKind, Principal
from registry.domain.review import (
    CaseStatus,
    SlotStatus,
    check_score,
    require_live_claim,
    section_of,
)
from registry.errors import Conflict, InvalidInput, NotFound
from registry.records import (
    ModerationCaseRecord,
    Record,
    ReviewScoreRecord,
    RevisionRecord,
    fetch,
    fetch_one,
)
from registry.services import access, audit, criteria, dossiers, issuance, progress, queue
from registry.services.audit import Actor
from registry.services.paging import decode_time_id_cursor, encode_time_id_cursor
from registry.tables import (
    ConflictOfInterest,
    Dossier,
    ModerationCase,
    Organisation,
    ReviewScore,
    ReviewSlot,
    Revision,
    User,
)
from schemas.review import (
    DecisionOut,
    InterestsOut,
    InterestsPut,
    ModerationCaseOut,
    ModerationDecide,
    ModerationList,
    ModerationResult,
    ReviewerScores,
    ReviewOut,
    ReviewPage,
    ReviewSubmit,
    ReviewSummary,
    ScoreOut,
    ScorePut,
)


@dataclass(frozen=True, slots=True)
class Context:
    """What scoring one revision needs: its frozen content and the criteria that apply."""

    revision: RevisionRecord
    document: CriteriaSetDocument
    criteria: list[Criterion]
    answers: dict[str, object]


class _SubmittedSlot(Record, frozen=True):
    """A submitted review: it always names its reviewer and recommendation."""

    id: uuid.UUID
    reviewer: uuid.UUID
    recommendation: rule.Recommendation
    summary: str | None


class _Name(Record, frozen=True):
    id: uuid.UUID
    name: str


class _Kind(Record, frozen=True):
    kind: OrganisationKind


class _Conflict(Record, frozen=True):
    organisation: uuid.UUID


class _Number(Record, frozen=True):
    number: int


class _Decision(Record, frozen=True):
    decision: str


class _Listed(Record, frozen=True):
    """One of the caller's reviews as their list shows it (open and submitted ones were
    claimed, so ``claimed_at`` is set)."""

    id: uuid.UUID
    dossier: uuid.UUID
    round: int
    status: SlotStatus
    claimed_at: int
    lease_until: int | None
    recommendation: rule.Recommendation | None
    submitted_at: int | None
    product: str | None
    supplier: str | None


class _Scored(Record, frozen=True):
    slot: uuid.UUID


async def _context(revision_id: uuid.UUID) -> Context:
    revision = await fetch_one(Revision.select().where(Revision.id == revision_id), RevisionRecord)
    if revision is None or revision.frozen is None:
        raise NotFound("no submitted revision for this review")
    frozen = decode_frozen(revision.frozen)
    document, _ = await criteria.document_by_ref(frozen.criteria_set.ref)
    return Context(
        revision,
        document,
        applicable_criteria(document, frozen.product.profile),
        frozen.answers,
    )


def _score_out(row: ReviewScoreRecord) -> ScoreOut:
    return ScoreOut(
        code=row.criterion_code,
        gate_pass=row.gate_pass,
        score=row.score,
        not_applicable=row.not_applicable,
        rationale=row.rationale,
        updated_at=as_datetime(row.updated_at),
    )


async def _scores(slot_id: uuid.UUID) -> list[ReviewScoreRecord]:
    return await fetch(
        ReviewScore.select()
        .where(ReviewScore.slot == slot_id)
        .order_by(ReviewScore.criterion_code),
        ReviewScoreRecord,
    )


async def review_out(slot: queue.SlotRecord) -> ReviewOut:
    """The caller's own review with its scores so far."""
    context = await _context(slot.revision)
    return ReviewOut(
        id=str(slot.id),
        dossier_id=str(slot.dossier),
        revision=slot.round,
        status=slot.status,
        claimed_at=as_datetime(slot.claimed_at),
        lease_until=as_datetime(slot.lease_until),
        criteria=[c.code for c in context.criteria],
        scores=[_score_out(row) for row in await _scores(slot.id)],
        recommendation=slot.recommendation,
        submitted_at=as_datetime(slot.submitted_at),
    )


async def claim(principal: Principal) -> ReviewOut | None:
    """Claim the next eligible item; None (204) when nothing is eligible."""
    claimed = await queue.claim_next(principal)
    if claimed is None:
        return None
    return await review_out(claimed)


async def get_review(principal: Principal, review_id: str) -> ReviewOut:
    """One of the caller's reviews."""
    return await review_out(await queue.slot_for(principal, review_id))


async def put_score(principal: Principal, review_id: str, code: str, request: ScorePut) -> ScoreOut:
    """Record one criterion's result in a review the caller holds."""
    async with write_transaction():
        slot = await queue.slot_for(principal, review_id)
        now = clock.now()
        require_live_claim(queue.state_of(slot), principal.user_id, now)
        context = await _context(slot.revision)
        criterion = next((c for c in context.criteria if c.code == code), None)
        if criterion is None:
            if find_criterion(context.document, code) is None:
                raise NotFound(f"no criterion {code!r} in this criteria set")
            raise InvalidInput(f"criterion {code} does not apply to this product", field="code")
        check_score(
            criterion,
            gate_pass=request.gate_pass,
            score=request.score,
            not_applicable=request.not_applicable,
            rationale=request.rationale,
            supplier_answer=context.answers.get(code),
        )
        natural_key = f"{slot.id}:{code}"
        await ReviewScore.delete().where(ReviewScore.natural_key == natural_key)
        await ReviewScore.insert(
            ReviewScore(
                natural_key=natural_key,
                slot=slot.id,
                criterion_code=code,
                gate_pass=request.gate_pass,
                score=request.score,
                not_applicable=request.not_applicable,
                rationale=request.rationale,
                updated_at=now,
            )
        )
    return ScoreOut(
        code=code,
        gate_pass=request.gate_pass,
        score=request.score,
        not_applicable=request.not_applicable,
        rationale=request.rationale,
        updated_at=as_datetime(now),
    )


def _rules(
    context: Context,
) -> tuple[list[rule.CriterionRule], list[rule.SectionRule], rule.Policy]:
    criteria_rules = [
        rule.CriterionRule(
            code=c.code,
            section=section_of(context.document, c.code),
            mode=c.mode,
            max_score=c.max_score,
            weight=c.weight,
        )
        for c in context.criteria
    ]
    sections = [
        rule.SectionRule(code=s.code, threshold_percent=s.threshold_percent)
        for s in context.document.sections
    ]
    policy = rule.Policy(
        required_reviews=context.document.review_policy.required_reviews,
        tolerance_points=context.document.review_policy.tolerance_points,
    )
    return criteria_rules, sections, policy


def _to_score(row: ReviewScoreRecord) -> rule.Score:
    return rule.Score(
        code=row.criterion_code,
        gate_pass=row.gate_pass,
        score=row.score,
        not_applicable=row.not_applicable,
    )


async def submit_review(principal: Principal, review_id: str, request: ReviewSubmit) -> ReviewOut:
    """Finish a review; once all required reviews are in, decide or open moderation.

    The answer says what the review led to: waiting for another review, moderation, the
    decision, and after an approval the certificate ID or the state of its issuance.
    """
    claimed: issuance.Claim | None = None
    async with write_transaction():
        slot = await queue.slot_for(principal, review_id)
        now = clock.now()
        require_live_claim(queue.state_of(slot), principal.user_id, now)
        context = await _context(slot.revision)
        scored = {row.criterion_code for row in await _scores(slot.id)}
        missing = [c.code for c in context.criteria if c.code not in scored]
        if missing:
            raise InvalidInput(
                f"{len(missing)} applicable criteria are not scored yet: {', '.join(missing)}",
                field="scores",
                extra={"missing": missing},
            )
        await ReviewSlot.update(
            {
                ReviewSlot.status: SlotStatus.submitted.value,
                ReviewSlot.submitted_at: now,
                ReviewSlot.recommendation: request.recommendation,
                ReviewSlot.summary: request.summary,
                ReviewSlot.lease_until: None,
            }
        ).where(ReviewSlot.id == slot.id)
        await audit.record(
            Actor(principal.user_id),
            AuditTag.review_submitted,
            f"review:{slot.id}",
            {"dossier": str(slot.dossier), "round": slot.round},
        )
        claimed = await _decide_if_complete(context, slot.dossier, now)
    if claimed is not None:
        await issuance.attempt(claimed)
    review = await get_review(principal, review_id)
    shown = await progress.revision_progress(slot.revision)
    return msgspec.structs.replace(review, progress=shown)


async def _submitted_reviews(revision_id: uuid.UUID) -> list[_SubmittedSlot]:
    return await fetch(
        ReviewSlot.select()
        .where(
            (ReviewSlot.revision == revision_id) & (ReviewSlot.status == SlotStatus.submitted.value)
        )
        .order_by(ReviewSlot.submitted_at, ReviewSlot.natural_key),
        _SubmittedSlot,
    )


async def _reviewer_names(user_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not user_ids:
        return {}
    rows = await fetch(User.select(User.id, User.name).where(User.id.is_in(user_ids)), _Name)
    return {row.id: row.name for row in rows}


async def _decide_if_complete(
    context: Context, dossier_id: uuid.UUID, now: int
) -> issuance.Claim | None:
    slots = await _submitted_reviews(context.revision.id)
    criteria_rules, sections, policy = _rules(context)
    if len(slots) < policy.required_reviews:
        return None
    names = await _reviewer_names([slot.reviewer for slot in slots])
    reviews = []
    comments: dict[str, list[str]] = {}
    for slot in slots:
        rows = {row.criterion_code: row for row in await _scores(slot.id)}
        reviews.append(
            rule.Review(
                reviewer=str(slot.reviewer),
                recommendation=slot.recommendation,
                scores={code: _to_score(row) for code, row in rows.items()},
                name=names.get(slot.reviewer, ""),
            )
        )
        for code, row in rows.items():
            if row.rationale.strip():
                comments.setdefault(code, []).append(row.rationale.strip())
    decided = rule.decide(criteria_rules, sections, policy, reviews)
    if decided.outcome is rule.Outcome.moderation:
        await _open_moderation(context, dossier_id, decided, now)
        return None
    return await _apply(context, dossier_id, decided, comments, Actor("system"), now)


async def _open_moderation(
    context: Context, dossier_id: uuid.UUID, decided: rule.Decision, now: int
) -> None:
    case_id = uuid.uuid4()
    await ModerationCase.insert(
        ModerationCase(
            id=case_id,
            revision=context.revision.id,
            dossier=dossier_id,
            status="open",
            reasons=canonical_json(decided.reasons).decode(),
            opened_at=now,
        )
    )
    await audit.record(
        audit.SYSTEM,
        AuditTag.moderation_opened,
        f"moderation:{case_id}",
        {
            "dossier": str(dossier_id),
            "round": context.revision.number,
            "reasons": decided.reasons,
        },
    )


_ACTION = {
    rule.Outcome.approved: RevisionAction.approve,
    rule.Outcome.changes_requested: RevisionAction.request_changes,
    rule.Outcome.rejected: RevisionAction.reject,
}


async def _apply(
    context: Context,
    dossier_id: uuid.UUID,
    decided: rule.Decision,
    comments: dict[str, list[str]],
    actor: Actor,
    now: int,
) -> issuance.Claim | None:
    """Record the outcome on the revision; start the next round after changes are requested.

    An approval opens the certificate's issuance, claimed by this request (returned).
    """
    status = transition(context.revision.status, _ACTION[decided.outcome])
    record = DecisionOut(
        outcome=decided.outcome.value,
        reasons=decided.reasons,
        section_percentages=decided.section_percentages,
        failed_gates=decided.failed_gates,
        sections_below_threshold=decided.sections_below_threshold,
        comments=comments,
    )
    await Revision.update(
        {
            Revision.status: status.value,
            Revision.decided_at: now,
            Revision.outcome: decided.outcome.value,
            Revision.decision: canonical_json(msgspec.to_builtins(record)).decode(),
        }
    ).where(Revision.id == context.revision.id)
    await Dossier.update(
        {Dossier.row_version: Dossier.row_version + 1, Dossier.updated_at: now}
    ).where(Dossier.id == dossier_id)
    await audit.record(
        actor,
        AuditTag.revision_decided,
        f"dossier:{dossier_id}",
        {"round": context.revision.number, "outcome": decided.outcome.value},
    )
    if status is RevisionStatus.changes_requested:
        loaded = await dossiers.load_current(dossier_id)
        await dossiers.start_next_revision(actor, loaded)
    if status is RevisionStatus.approved:
        return await issuance.open_issuance(context.revision.id, dossier_id, now)
    return None


async def declare_interests(principal: Principal, request: InterestsPut) -> InterestsOut:
    """Add conflicts of interest with supplier organisations (existing ones are kept)."""
    reviewer = uuid.UUID(principal.user_id)
    async with write_transaction():
        for raw in request.organisation_ids:
            try:
                organisation = uuid.UUID(raw)
            except ValueError as e:
                raise InvalidInput(
                    f"{raw!r} is not an organisation id", field="organisation_ids"
                ) from e
            row = await fetch_one(
                Organisation.select(Organisation.kind).where(Organisation.id == organisation), _Kind
            )
            if row is None or row.kind is not OrganisationKind.supplier:
                raise InvalidInput(f"no supplier organisation {raw!r}", field="organisation_ids")
            key = f"{reviewer}:{organisation}"
            if not await ConflictOfInterest.exists().where(ConflictOfInterest.natural_key == key):
                await ConflictOfInterest.insert(
                    ConflictOfInterest(
                        natural_key=key,
                        reviewer=reviewer,
                        organisation=organisation,
                        note=request.note,
                        declared_at=clock.now(),
                    )
                )
        await audit.record(
            Actor(principal.user_id),
            AuditTag.interests_declared,
            f"user:{reviewer}",
            {"organisations": sorted(request.organisation_ids)},
        )
        rows = await fetch(
            ConflictOfInterest.select(ConflictOfInterest.organisation).where(
                ConflictOfInterest.reviewer == reviewer
            ),
            _Conflict,
        )
    return InterestsOut(organisation_ids=sorted(str(row.organisation) for row in rows))


async def _case_out(case: ModerationCaseRecord) -> ModerationCaseOut:
    reviews = []
    slots = await _submitted_reviews(case.revision)
    names = await _reviewer_names([slot.reviewer for slot in slots])
    for number, slot in enumerate(slots, start=1):
        reviews.append(
            ReviewerScores(
                reviewer_id=str(slot.reviewer),
                reviewer_name=names.get(slot.reviewer, ""),
                label=f"Reviewer {number}",
                recommendation=slot.recommendation,
                summary=slot.summary or "",
                scores=[_score_out(row) for row in await _scores(slot.id)],
            )
        )
    revision = await fetch_one(
        Revision.select(Revision.number).where(Revision.id == case.revision), _Number
    )
    return ModerationCaseOut(
        id=str(case.id),
        dossier_id=str(case.dossier),
        revision=revision.number if revision else 0,
        status="open" if case.status is CaseStatus.open else "decided",
        reasons=msgspec.json.decode(case.reasons, type=list[str]),
        opened_at=as_datetime(case.opened_at),
        reviews=reviews,
    )


async def list_moderation(principal: Principal) -> ModerationList:
    """Open cases the lead may decide (not ones they reviewed or are conflicted with)."""
    cases = await fetch(
        ModerationCase.select()
        .where(ModerationCase.status == "open")
        .order_by(ModerationCase.opened_at),
        ModerationCaseRecord,
    )
    items = [await _case_out(case) for case in await access.moderatable(principal, cases)]
    return ModerationList(items=items)


async def decide_moderation(
    principal: Principal, case_id: str, request: ModerationDecide
) -> ModerationResult:
    """Record the lead reviewer's final scores; the rule computes the outcome from them.

    A recommendation the lead's own final scores contradict is refused (422 saying what to
    change), never silently overridden. The answer says what the decision led to.
    """
    try:
        key = uuid.UUID(case_id)
    except ValueError as e:
        raise NotFound(f"no moderation case {case_id!r}") from e
    claimed: issuance.Claim | None = None
    async with write_transaction():
        case = await fetch_one(
            ModerationCase.select().where(ModerationCase.id == key), ModerationCaseRecord
        )
        if case is None or not await access.may_moderate(principal, case):
            raise NotFound(f"no moderation case {case_id!r}")
        if case.status != "open":
            raise Conflict("this moderation case is already decided")
        context = await _context(case.revision)
        codes = {c.code for c in context.criteria}
        unknown = sorted(set(request.scores) - codes)
        missing = sorted(codes - set(request.scores))
        if unknown or missing:
            raise InvalidInput(
                f"final scores must cover exactly the applicable criteria; "
                f"missing {missing or 'none'}, not applicable {unknown or 'none'}",
                field="scores",
                extra={"missing": missing, "unexpected": unknown},
            )
        for criterion in context.criteria:
            final = request.scores[criterion.code]
            check_score(
                criterion,
                gate_pass=final.gate_pass,
                score=final.score,
                not_applicable=final.not_applicable,
                rationale=final.rationale,
                supplier_answer=context.answers.get(criterion.code),
            )
        criteria_rules, sections, _ = _rules(context)
        scores = {
            code: rule.Score(code, s.gate_pass, s.score, s.not_applicable)
            for code, s in request.scores.items()
        }
        contradicted = rule.contradiction(criteria_rules, sections, scores, request.recommendation)
        if contradicted:
            raise InvalidInput(contradicted, field="recommendation")
        decided = rule.moderated_outcome(criteria_rules, sections, scores, request.recommendation)
        now = clock.now()
        await ModerationCase.update(
            {
                ModerationCase.status: "decided",
                ModerationCase.lead: uuid.UUID(principal.user_id),
                ModerationCase.decided_at: now,
                ModerationCase.recommendation: request.recommendation,
                ModerationCase.summary: request.summary,
                ModerationCase.final_scores: canonical_json(
                    msgspec.to_builtins(request.scores)
                ).decode(),
            }
        ).where(ModerationCase.id == key)
        await audit.record(
            Actor(principal.user_id),
            AuditTag.moderation_decided,
            f"moderation:{key}",
            {"outcome": decided.outcome.value},
        )
        comments = {
            code: [s.rationale] for code, s in request.scores.items() if s.rationale.strip()
        }
        claimed = await _apply(
            context, case.dossier, decided, comments, Actor(principal.user_id), now
        )
        revision = await fetch_one(
            Revision.select(Revision.decision).where(Revision.id == case.revision), _Decision
        )
    if revision is None:  # the case's foreign key makes this unreachable
        raise NotFound("the decided revision vanished")
    if claimed is not None:
        await issuance.attempt(claimed)
    recorded = msgspec.json.decode(revision.decision, type=DecisionOut)
    return ModerationResult(
        **msgspec.structs.asdict(recorded),
        progress=await progress.revision_progress(case.revision),
    )


async def list_reviews(
    principal: Principal, state: str | None, cursor: str | None, limit: int
) -> ReviewPage:
    """The caller's own reviews, most recently claimed first: ``open`` (a live claim) and
    ``submitted``; a claim whose lease ran out is no longer the caller's to work on."""
    reviewer = uuid.UUID(principal.user_id)
    now = clock.now()
    live = (ReviewSlot.status == SlotStatus.claimed.value) & (ReviewSlot.lease_until > now)
    done = ReviewSlot.status == SlotStatus.submitted.value
    wanted = live if state == "open" else done if state == "submitted" else live | done
    query = (
        ReviewSlot.select(
            ReviewSlot.id,
            ReviewSlot.dossier,
            ReviewSlot.round,
            ReviewSlot.status,
            ReviewSlot.claimed_at,
            ReviewSlot.lease_until,
            ReviewSlot.recommendation,
            ReviewSlot.submitted_at,
            ReviewSlot.dossier._.product._.name.as_alias("product"),
            ReviewSlot.supplier._.name.as_alias("supplier"),
        )
        .where((ReviewSlot.reviewer == reviewer) & wanted)
        .order_by(ReviewSlot.claimed_at, ReviewSlot.id, ascending=False)
    )
    if cursor:
        t, key = decode_time_id_cursor(cursor)
        query = query.where(
            (ReviewSlot.claimed_at < t) | ((ReviewSlot.claimed_at == t) & (ReviewSlot.id < key))
        )
    fetched = await fetch(query.limit(limit + 1), _Listed)
    rows, more = fetched[:limit], len(fetched) > limit
    scored: dict[uuid.UUID, int] = {}
    if rows:
        for score in await fetch(
            ReviewScore.select(ReviewScore.slot).where(
                ReviewScore.slot.is_in([row.id for row in rows])
            ),
            _Scored,
        ):
            scored[score.slot] = scored.get(score.slot, 0) + 1
    items = [
        ReviewSummary(
            id=str(row.id),
            dossier_id=str(row.dossier),
            revision=row.round,
            product=row.product or "",
            supplier=row.supplier or "",
            status=row.status,
            claimed_at=as_datetime(row.claimed_at),
            lease_until=as_datetime(row.lease_until),
            lease_seconds_left=(
                max(0, row.lease_until - now)
                if row.status is SlotStatus.claimed and row.lease_until
                else None
            ),
            scored=scored.get(row.id, 0),
            recommendation=row.recommendation,
            submitted_at=as_datetime(row.submitted_at),
        )
        for row in rows
    ]
    return ReviewPage(
        items=items,
        next_cursor=encode_time_id_cursor(rows[-1].claimed_at, items[-1].id) if more else None,
    )
