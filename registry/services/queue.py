"""The review queue: slots for submitted revisions, claims under leases, expiry.

Claims follow DESIGN §8: on PostgreSQL the candidate slot is locked with
``SELECT … FOR UPDATE SKIP LOCKED`` and updated in the same transaction, so concurrent claims
skip each other's rows instead of waiting or colliding; on SQLite the IMMEDIATE write transaction
serialises claims. A unique ``reviewer_key`` (revision + reviewer) makes a second slot of the same
revision for the same reviewer impossible even if two of their claims race. Who may see and
claim which slot is decided in ``registry.services.access``; the queries here take their filters
from it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import msgspec
from piccolo.query import Select

from registry import clock
from registry.db import elected, is_postgres, is_unique_violation, write_transaction
from registry.domain.audit_chain import AuditTag
from registry.domain.dates import as_datetime
from registry.domain.decision import Recommendation
from registry.domain.dossier import RevisionAction, RevisionStatus, transition
from registry.domain.identity import Principal
from registry.domain.review import LEASE_SECONDS, SlotState, SlotStatus, require_live_claim
from registry.errors import Conflict, NotFound
from registry.records import Record, ReviewSlotRecord, fetch, fetch_one
from registry.services import access, audit
from registry.services.audit import Actor
from registry.tables import Dossier, ReviewScore, ReviewSlot, Revision
from schemas.review import QueueItem, QueueList

log = logging.getLogger("registry.queue")

# Advisory-lock key electing one process for periodic lease expiry ("MKRLEASE").
LEASE_SWEEP_LOCK = 0x4D4B_524C_4541_5345 & 0x7FFF_FFFF_FFFF_FFFF
CLAIM_ATTEMPTS = 5


class SlotRecord(ReviewSlotRecord, frozen=True):
    """A row of ``review_slot``, its recommendation typed as the decision rule reads it."""

    recommendation: Recommendation | None


class _Expiring(Record, frozen=True):
    id: uuid.UUID
    reviewer: uuid.UUID | None
    revision: uuid.UUID


class _RevisionStatus(Record, frozen=True):
    status: RevisionStatus


class _Queued(Record, frozen=True):
    revision: uuid.UUID
    dossier: uuid.UUID
    supplier: uuid.UUID
    round: int
    status: SlotStatus
    queued_at: int
    first_claimed_at: int | None


class _DossierLabel(Record, frozen=True):
    id: uuid.UUID
    product_version: str
    criteria_set: str
    product: str
    supplier: str


async def enqueue(
    *,
    revision_id: uuid.UUID,
    dossier_id: uuid.UUID,
    supplier: uuid.UUID,
    round_: int,
    reviews: int,
    now: int,
) -> None:
    """Open one review slot per required review for a newly submitted revision."""
    for slot in range(1, reviews + 1):
        await ReviewSlot.insert(
            ReviewSlot(
                id=uuid.uuid4(),
                natural_key=f"{revision_id}:{slot}",
                revision=revision_id,
                dossier=dossier_id,
                supplier=supplier,
                round=round_,
                slot=slot,
                status=SlotStatus.open.value,
                queued_at=now,
            )
        )


async def has_claims(revision_id: uuid.UUID) -> bool:
    """True once any reviewer has claimed (or submitted) a slot of the revision."""
    return await ReviewSlot.exists().where(
        (ReviewSlot.revision == revision_id) & (ReviewSlot.status != SlotStatus.open.value)
    )


async def withdraw_slots(revision_id: uuid.UUID) -> None:
    """Remove the open slots of a revision its supplier withdrew before any claim."""
    await ReviewSlot.delete().where(
        (ReviewSlot.revision == revision_id) & (ReviewSlot.status == SlotStatus.open.value)
    )


async def expire_leases(now: int) -> int:
    """Return slots whose lease ran out to the queue (their partial scores are discarded)."""
    rows = await fetch(
        ReviewSlot.select(ReviewSlot.id, ReviewSlot.reviewer, ReviewSlot.revision).where(
            (ReviewSlot.status == SlotStatus.claimed.value) & (ReviewSlot.lease_until <= now)
        ),
        _Expiring,
    )
    for row in rows:
        await _reopen(row.id)
        await audit.record(
            audit.SYSTEM,
            AuditTag.review_expired,
            f"review:{row.id}",
            {"reviewer": str(row.reviewer), "revision": str(row.revision)},
        )
    return len(rows)


async def _reopen(slot_id: uuid.UUID) -> None:
    await ReviewScore.delete().where(ReviewScore.slot == slot_id)
    await ReviewSlot.update(
        {
            ReviewSlot.status: SlotStatus.open.value,
            ReviewSlot.reviewer: None,
            ReviewSlot.reviewer_key: None,
            ReviewSlot.claimed_at: None,
            ReviewSlot.lease_until: None,
        }
    ).where(ReviewSlot.id == slot_id)


async def sweep_expired_leases() -> int:
    """Periodic task body: one process at a time (advisory lock on PostgreSQL) expires leases."""
    async with elected(LEASE_SWEEP_LOCK) as won:
        if not won:
            return 0
        async with write_transaction():
            return await expire_leases(clock.now())


async def claim_next(principal: Principal) -> SlotRecord | None:
    """Give the caller the oldest slot they are eligible for, or None when there is none."""
    reviewer = uuid.UUID(principal.user_id)
    for attempt in range(CLAIM_ATTEMPTS):
        try:
            return await _claim_once(reviewer)
        except Exception as e:  # a unique-key race between two claims of the same reviewer
            if not is_unique_violation(e) or attempt == CLAIM_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.01 * (attempt + 1))
    return None


async def _claim_once(reviewer: uuid.UUID) -> SlotRecord | None:
    # Lock order is always: one slot row, its revision row, then the audit chain. Nothing else is
    # locked, so two claims can wait on each other but never deadlock. A slot whose lease ran out
    # is claimable as it stands (the periodic sweep reopens the rest).
    async with write_transaction():
        now = clock.now()
        query = (
            ReviewSlot.select()
            .where(
                (ReviewSlot.status == SlotStatus.open.value)
                | (
                    (ReviewSlot.status == SlotStatus.claimed.value)
                    & (ReviewSlot.lease_until <= now)
                )
            )
            .where(*await access.claim_filter(reviewer))
            .order_by(ReviewSlot.queued_at, ReviewSlot.natural_key)
            .limit(1)
        )
        if is_postgres():
            query = query.lock_rows("UPDATE", skip_locked=True, of=(ReviewSlot,))
        slot = await fetch_one(query, SlotRecord)
        if slot is None:
            return None
        if slot.status is SlotStatus.claimed:
            await ReviewScore.delete().where(ReviewScore.slot == slot.id)
        claimed = msgspec.structs.replace(
            slot,
            status=SlotStatus.claimed,
            reviewer=reviewer,
            reviewer_key=f"{slot.revision}:{reviewer}",
            claimed_at=now,
            lease_until=now + LEASE_SECONDS,
            first_claimed_at=now if slot.first_claimed_at is None else slot.first_claimed_at,
        )
        await ReviewSlot.update(
            {
                ReviewSlot.status: claimed.status.value,
                ReviewSlot.reviewer: claimed.reviewer,
                ReviewSlot.reviewer_key: claimed.reviewer_key,
                ReviewSlot.claimed_at: claimed.claimed_at,
                ReviewSlot.lease_until: claimed.lease_until,
            }
        ).where(ReviewSlot.id == slot.id)
        # Same (already locked) row: the SLA clock starts at the first claim, not the latest.
        await ReviewSlot.update({ReviewSlot.first_claimed_at: now}).where(
            (ReviewSlot.id == slot.id) & ReviewSlot.first_claimed_at.is_null()
        )
        revision = await fetch_one(
            Revision.select(Revision.status).where(Revision.id == slot.revision), _RevisionStatus
        )
        if revision is not None:
            status = transition(revision.status, RevisionAction.claim)
            await Revision.update({Revision.status: status.value}).where(
                Revision.id == slot.revision
            )
        if slot.status is SlotStatus.claimed:
            await audit.record(
                audit.SYSTEM,
                AuditTag.review_expired,
                f"review:{slot.id}",
                {"reviewer": str(slot.reviewer), "revision": str(slot.revision)},
            )
        await audit.record(
            Actor(str(reviewer)),
            AuditTag.review_claimed,
            f"review:{slot.id}",
            {
                "dossier": str(slot.dossier),
                "round": slot.round,
                "lease_until": now + LEASE_SECONDS,
            },
        )
        return claimed


async def slot_for(principal: Principal, review_id: str) -> SlotRecord:
    """A review slot the caller holds or held; anything else is 404."""
    try:
        key = uuid.UUID(review_id)
    except ValueError as e:
        raise NotFound(f"no review {review_id!r}") from e
    row = await fetch_one(ReviewSlot.select().where(ReviewSlot.id == key), SlotRecord)
    if row is None or str(row.reviewer) != principal.user_id:
        raise NotFound(f"no review {review_id!r}")
    return row


def state_of(row: ReviewSlotRecord) -> SlotState:
    """The lease-relevant facts of a slot row."""
    return SlotState(
        status=row.status,
        reviewer=str(row.reviewer) if row.reviewer else None,
        lease_until=row.lease_until,
    )


async def renew(principal: Principal, review_id: str) -> SlotRecord:
    """Extend a live claim by a full lease from now; an expired claim cannot be renewed."""
    async with write_transaction():
        row = await slot_for(principal, review_id)
        now = clock.now()
        require_live_claim(state_of(row), principal.user_id, now)
        await ReviewSlot.update({ReviewSlot.lease_until: now + LEASE_SECONDS}).where(
            ReviewSlot.id == row.id
        )
        await audit.record(
            Actor(principal.user_id), AuditTag.review_renewed, f"review:{row.id}", {}
        )
        return msgspec.structs.replace(row, lease_until=now + LEASE_SECONDS)


async def release(principal: Principal, review_id: str) -> None:
    """Give a claim back to the queue (its partial scores are discarded)."""
    async with write_transaction():
        row = await slot_for(principal, review_id)
        state = state_of(row)
        if state.status is SlotStatus.submitted:
            raise Conflict("a submitted review cannot be released")
        if state.status is SlotStatus.claimed:
            await _reopen(row.id)
            await audit.record(
                Actor(principal.user_id), AuditTag.review_released, f"review:{row.id}", {}
            )


async def waiting(principal: Principal) -> QueueList:
    """Revisions with open or claimed slots, oldest first, with SLA figures."""
    now = clock.now()
    rows = await fetch(
        ReviewSlot.select(
            ReviewSlot.revision,
            ReviewSlot.dossier,
            ReviewSlot.supplier,
            ReviewSlot.round,
            ReviewSlot.status,
            ReviewSlot.queued_at,
            ReviewSlot.first_claimed_at,
        )
        .where(ReviewSlot.revision.is_in(_open_revisions()))
        .where(*await access.queue_filter(uuid.UUID(principal.user_id)))
        .order_by(ReviewSlot.queued_at, ReviewSlot.natural_key),
        _Queued,
    )
    grouped: dict[uuid.UUID, list[_Queued]] = {}
    for row in rows:
        grouped.setdefault(row.revision, []).append(row)
    dossiers = await _dossier_labels([slots[0].dossier for slots in grouped.values()])
    items = []
    for slots in grouped.values():
        first = slots[0]
        label = dossiers.get(first.dossier)
        statuses = [s.status for s in slots]
        claims = [s.first_claimed_at for s in slots if s.first_claimed_at]
        started = min(claims) if claims else None
        items.append(
            QueueItem(
                dossier_id=str(first.dossier),
                revision=first.round,
                supplier=label.supplier if label else "",
                product=label.product if label else "",
                product_version=label.product_version if label else "",
                criteria_set=label.criteria_set if label else "",
                queued_at=as_datetime(first.queued_at),
                waiting_seconds=now - first.queued_at,
                in_review_seconds=(now - started) if started else None,
                reviews_needed=statuses.count(SlotStatus.open),
                reviews_in_progress=statuses.count(SlotStatus.claimed),
                reviews_submitted=statuses.count(SlotStatus.submitted),
            )
        )
    return QueueList(items=items)


def _open_revisions() -> Select[ReviewSlot]:
    return ReviewSlot.select(ReviewSlot.revision).where(
        ReviewSlot.status.is_in([SlotStatus.open.value, SlotStatus.claimed.value])
    )


async def _dossier_labels(dossier_ids: list[uuid.UUID]) -> dict[uuid.UUID, _DossierLabel]:
    if not dossier_ids:
        return {}
    rows = await fetch(
        Dossier.select(
            Dossier.id,
            Dossier.product_version,
            Dossier.criteria_set,
            Dossier.product.name.as_alias("product"),
            Dossier.organisation.name.as_alias("supplier"),
        ).where(Dossier.id.is_in(dossier_ids)),
        _DossierLabel,
    )
    return {row.id: row for row in rows}
