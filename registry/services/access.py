"""Who may see or do what: load the facts ``registry.domain.access`` reads, then ask it.

Every check of a caller against a dossier revision goes through here: reading a dossier (its
evidence, history and diffs), the assessment report, feedback, moderation, and the review
queue's filters (what a reviewer sees, and may claim). The rules themselves live in the domain.

Facts are loaded only for the roles whose rules read them (a reviewer's slots, a lead's open
case and conflicts), so a supplier reading its own dossier costs one small query.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Literal

from piccolo.custom_types import Combinable

from registry import clock
from registry.db import read_transaction
from registry.domain import access as rules
from registry.domain.dossier import RevisionStatus
from registry.domain.identity import Principal, Role
from registry.domain.review import SlotState, SlotStatus
from registry.records import ModerationCaseRecord, Record, RevisionRecord, fetch
from registry.tables import ConflictOfInterest, ModerationCase, ReviewSlot, Revision


class _RevisionRow(Record, frozen=True):
    id: uuid.UUID
    status: RevisionStatus
    supplier: uuid.UUID


class _SlotRow(Record, frozen=True):
    revision: uuid.UUID
    status: SlotStatus
    reviewer: uuid.UUID | None
    lease_until: int | None


class _CaseRow(Record, frozen=True):
    revision: uuid.UUID
    status: Literal["open", "decided"]
    lead: uuid.UUID | None


class _ConflictRow(Record, frozen=True):
    organisation: uuid.UUID


class _HeldRow(Record, frozen=True):
    revision: uuid.UUID


async def may_read_revision(
    principal: Principal, revision: RevisionRecord, supplier: uuid.UUID
) -> bool:
    """Whether the caller may read a revision its caller already loaded, and so its dossier
    (``may_read_revision``); only the slots and case the caller's roles need are read."""
    lead = principal.has_role(Role.lead_reviewer)
    known = _RevisionRow(id=revision.id, status=revision.status, supplier=supplier)
    async with read_transaction():
        facts = await _facts_of(
            [known], slots=principal.has_role(Role.reviewer, Role.lead_reviewer), cases=lead
        )
        conflicts = await _conflicts(uuid.UUID(principal.user_id)) if lead else frozenset()
    return rules.may_read_revision(
        principal, facts[revision.id], conflicts=conflicts, now=clock.now()
    )


async def may_read_report(principal: Principal, revision_id: uuid.UUID) -> bool:
    """Whether the caller may read the assessment report of a revision (``may_read_report``)."""
    reviewer = principal.has_role(Role.reviewer)
    async with read_transaction():
        facts = await _revision_facts([revision_id], slots=reviewer, cases=reviewer)
    revision = facts.get(revision_id)
    return revision is not None and rules.may_read_report(principal, revision)


def may_ask_for_feedback(principal: Principal, supplier: uuid.UUID) -> bool:
    """Whether the caller may ask for feedback on a dossier of ``supplier`` at all."""
    return rules.may_ask_for_feedback(principal, str(supplier))


def may_read_feedback(
    principal: Principal, supplier: uuid.UUID, *, submitted_at: int | None
) -> bool:
    """Whether the caller may read the feedback of one revision of a ``supplier`` dossier."""
    return rules.may_read_feedback(principal, str(supplier), submitted=submitted_at is not None)


async def moderatable(
    principal: Principal, cases: Sequence[ModerationCaseRecord]
) -> list[ModerationCaseRecord]:
    """The cases the caller may moderate (``lead_may_moderate``), in their given order."""
    if not cases:
        return []
    async with read_transaction():
        facts = await _revision_facts([case.revision for case in cases], slots=True, cases=False)
        lead = rules.ReviewerFacts(
            principal.user_id, conflicts=await _conflicts(uuid.UUID(principal.user_id))
        )
    return [
        case
        for case in cases
        if case.revision in facts and rules.lead_may_moderate(lead, facts[case.revision])
    ]


async def may_moderate(principal: Principal, case: ModerationCaseRecord) -> bool:
    """Whether the caller may moderate ``case`` (open or not: the caller checks its status)."""
    return bool(await moderatable(principal, [case]))


async def queue_filter(reviewer: uuid.UUID) -> list[Combinable]:
    """The queue listing's filter over review slots: ``may_see_in_queue`` in SQL."""
    facts = rules.ReviewerFacts(str(reviewer), conflicts=await _conflicts(reviewer))
    return _not_conflicted(facts)


async def claim_filter(reviewer: uuid.UUID) -> list[Combinable]:
    """The claim query's eligibility filter over review slots: ``may_claim`` in SQL.

    Call it inside the claim's transaction, so that the facts are those the claim sees.
    """
    facts = rules.ReviewerFacts(
        str(reviewer), conflicts=await _conflicts(reviewer), held=await _held(reviewer)
    )
    clauses = _not_conflicted(facts)
    if facts.held:
        clauses.append(ReviewSlot.revision.not_in(sorted(uuid.UUID(r) for r in facts.held)))
    return clauses


def _not_conflicted(facts: rules.ReviewerFacts) -> list[Combinable]:
    if not facts.conflicts:
        return []
    return [ReviewSlot.supplier.not_in(sorted(uuid.UUID(o) for o in facts.conflicts))]


async def _conflicts(reviewer: uuid.UUID) -> frozenset[str]:
    rows = await fetch(
        ConflictOfInterest.select(ConflictOfInterest.organisation).where(
            ConflictOfInterest.reviewer == reviewer
        ),
        _ConflictRow,
    )
    return frozenset(str(row.organisation) for row in rows)


async def _held(reviewer: uuid.UUID) -> frozenset[str]:
    rows = await fetch(
        ReviewSlot.select(ReviewSlot.revision).where(ReviewSlot.reviewer == reviewer), _HeldRow
    )
    return frozenset(str(row.revision) for row in rows)


async def _revision_facts(
    revision_ids: Sequence[uuid.UUID], *, slots: bool, cases: bool
) -> dict[uuid.UUID, rules.RevisionFacts]:
    """The facts of each revision; its slots and its case only when asked for (else empty)."""
    ids = list(dict.fromkeys(revision_ids))
    revisions = await fetch(
        Revision.select(
            Revision.id,
            Revision.status,
            Revision.dossier._.organisation.as_alias("supplier"),
        ).where(Revision.id.is_in(ids)),
        _RevisionRow,
    )
    return await _facts_of(revisions, slots=slots, cases=cases)


async def _facts_of(
    revisions: Sequence[_RevisionRow], *, slots: bool, cases: bool
) -> dict[uuid.UUID, rules.RevisionFacts]:
    """The facts of revisions whose rows are loaded: their slots and case when asked for."""
    ids = [row.id for row in revisions]
    held: dict[uuid.UUID, list[SlotState]] = {}
    if slots:
        for slot in await fetch(
            ReviewSlot.select(
                ReviewSlot.revision, ReviewSlot.status, ReviewSlot.reviewer, ReviewSlot.lease_until
            ).where(ReviewSlot.revision.is_in(ids)),
            _SlotRow,
        ):
            held.setdefault(slot.revision, []).append(
                SlotState(
                    status=slot.status,
                    reviewer=str(slot.reviewer) if slot.reviewer is not None else None,
                    lease_until=slot.lease_until,
                )
            )
    case_of: dict[uuid.UUID, rules.CaseFacts] = {}
    if cases:
        for case in await fetch(
            ModerationCase.select(
                ModerationCase.revision, ModerationCase.status, ModerationCase.lead
            ).where(ModerationCase.revision.is_in(ids)),
            _CaseRow,
        ):
            case_of[case.revision] = rules.CaseFacts(
                open=case.status == "open",
                lead=str(case.lead) if case.lead is not None else None,
            )
    return {
        row.id: rules.RevisionFacts(
            supplier=str(row.supplier),
            status=row.status,
            slots=tuple(held.get(row.id, ())),
            case=case_of.get(row.id),
        )
        for row in revisions
    }
