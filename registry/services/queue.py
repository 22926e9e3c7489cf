"""The review queue: slots for submitted revisions, claims under leases, expiry.

Claims follow DESIGN §8: on PostgreSQL the candidate slot is locked with
``SELECT … FOR UPDATE SKIP LOCKED`` and updated in the same transaction, so concurrent claims
skip each other's rows instead of waiting or colliding; on SQLite the IMMEDIATE write transaction
serialises claims. A unique ``reviewer_key`` (revision + reviewer) makes a second slot of the same
revision for the same reviewer impossible even if two of their claims race.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from registry import clock
from registry.db import is_postgres, write_transaction
from registry.domain.audit_chain import AuditTag
from registry.domain.dossier import RevisionAction, RevisionStatus, transition
from registry.domain.identity import Principal
from registry.domain.review import LEASE_SECONDS, SlotState, SlotStatus, require_live_claim
from registry.errors import Conflict, NotFound
from registry.services import audit
from registry.services.audit import Actor
from registry.tables import (
    ConflictOfInterest,
    Dossier,
    ModerationCase,
    ReviewScore,
    ReviewSlot,
    Revision,
)
from schemas.review import QueueItem, QueueList

log = logging.getLogger("registry.queue")

# Advisory-lock key electing one process for periodic lease expiry ("MKRLEASE").
LEASE_SWEEP_LOCK = 0x4D4B_524C_4541_5345 & 0x7FFF_FFFF_FFFF_FFFF
CLAIM_ATTEMPTS = 5


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


async def _conflicts(reviewer: uuid.UUID) -> list[uuid.UUID]:
    rows = await ConflictOfInterest.select(ConflictOfInterest.organisation).where(
        ConflictOfInterest.reviewer == reviewer
    )
    return [row["organisation"] for row in rows]


async def _reviewed_revisions(reviewer: uuid.UUID) -> list[uuid.UUID]:
    rows = await ReviewSlot.select(ReviewSlot.revision).where(ReviewSlot.reviewer == reviewer)
    return [row["revision"] for row in rows]


async def expire_leases(now: int) -> int:
    """Return slots whose lease ran out to the queue (their partial scores are discarded)."""
    rows = await ReviewSlot.select(ReviewSlot.id, ReviewSlot.reviewer, ReviewSlot.revision).where(
        (ReviewSlot.status == SlotStatus.claimed.value) & (ReviewSlot.lease_until <= now)
    )
    for row in rows:
        await _reopen(row["id"])
        await audit.record(
            audit.SYSTEM,
            AuditTag.review_expired,
            f"review:{row['id']}",
            {"reviewer": str(row["reviewer"]), "revision": str(row["revision"])},
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
    async with write_transaction():
        if is_postgres():
            rows = await ReviewSlot.raw(
                "SELECT pg_try_advisory_xact_lock({}) AS won", LEASE_SWEEP_LOCK
            )
            if not rows or not rows[0]["won"]:
                return 0
        return await expire_leases(clock.now())


async def claim_next(principal: Principal) -> dict[str, Any] | None:
    """Give the caller the oldest slot they are eligible for, or None when there is none."""
    reviewer = uuid.UUID(principal.user_id)
    for attempt in range(CLAIM_ATTEMPTS):
        try:
            return await _claim_once(reviewer)
        except Exception as e:  # a unique-key race between two claims of the same reviewer
            if not _is_unique_violation(e) or attempt == CLAIM_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.01 * (attempt + 1))
    return None


def _is_unique_violation(error: Exception) -> bool:
    text = f"{type(error).__name__} {error}".lower()
    return "unique" in text


async def _claim_once(reviewer: uuid.UUID) -> dict[str, Any] | None:
    # Lock order is always: one slot row, its revision row, then the audit chain. Nothing else is
    # locked, so two claims can wait on each other but never deadlock. A slot whose lease ran out
    # is claimable as it stands (the periodic sweep reopens the rest).
    async with write_transaction():
        now = clock.now()
        conflicts = await _conflicts(reviewer)
        reviewed = await _reviewed_revisions(reviewer)
        query = ReviewSlot.select(
            ReviewSlot.id,
            ReviewSlot.revision,
            ReviewSlot.dossier,
            ReviewSlot.round,
            ReviewSlot.status,
            ReviewSlot.reviewer,
        ).where(
            (ReviewSlot.status == SlotStatus.open.value)
            | ((ReviewSlot.status == SlotStatus.claimed.value) & (ReviewSlot.lease_until <= now))
        )
        if conflicts:
            query = query.where(ReviewSlot.supplier.not_in(conflicts))
        if reviewed:
            query = query.where(ReviewSlot.revision.not_in(reviewed))
        query = query.order_by(ReviewSlot.queued_at, ReviewSlot.natural_key).limit(1)
        if is_postgres():
            query = query.lock_rows("UPDATE", skip_locked=True, of=(ReviewSlot,))
        rows = await query
        if not rows:
            return None
        slot = rows[0]
        if slot["status"] == SlotStatus.claimed.value:
            await ReviewScore.delete().where(ReviewScore.slot == slot["id"])
        await ReviewSlot.update(
            {
                ReviewSlot.status: SlotStatus.claimed.value,
                ReviewSlot.reviewer: reviewer,
                ReviewSlot.reviewer_key: f"{slot['revision']}:{reviewer}",
                ReviewSlot.claimed_at: now,
                ReviewSlot.lease_until: now + LEASE_SECONDS,
            }
        ).where(ReviewSlot.id == slot["id"])
        # Same (already locked) row: the SLA clock starts at the first claim, not the latest.
        await ReviewSlot.update({ReviewSlot.first_claimed_at: now}).where(
            (ReviewSlot.id == slot["id"]) & ReviewSlot.first_claimed_at.is_null()
        )
        revision = (
            await Revision.select(Revision.status).where(Revision.id == slot["revision"]).first()
        )
        if revision is not None:
            status = transition(RevisionStatus(revision["status"]), RevisionAction.claim)
            await Revision.update({Revision.status: status.value}).where(
                Revision.id == slot["revision"]
            )
        if slot["status"] == SlotStatus.claimed.value:
            await audit.record(
                audit.SYSTEM,
                AuditTag.review_expired,
                f"review:{slot['id']}",
                {"reviewer": str(slot["reviewer"]), "revision": str(slot["revision"])},
            )
        await audit.record(
            Actor(str(reviewer)),
            AuditTag.review_claimed,
            f"review:{slot['id']}",
            {
                "dossier": str(slot["dossier"]),
                "round": slot["round"],
                "lease_until": now + LEASE_SECONDS,
            },
        )
        return {**slot, "claimed_at": now, "lease_until": now + LEASE_SECONDS}


async def slot_for(principal: Principal, review_id: str) -> dict[str, Any]:
    """A review slot the caller holds or held; anything else is 404."""
    try:
        key = uuid.UUID(review_id)
    except ValueError as e:
        raise NotFound(f"no review {review_id!r}") from e
    row = await ReviewSlot.select().where(ReviewSlot.id == key).first()
    if row is None or str(row["reviewer"]) != principal.user_id:
        raise NotFound(f"no review {review_id!r}")
    return row


def state_of(row: dict[str, Any]) -> SlotState:
    """The lease-relevant facts of a slot row."""
    return SlotState(
        status=SlotStatus(row["status"]),
        reviewer=str(row["reviewer"]) if row["reviewer"] else None,
        lease_until=row["lease_until"],
    )


async def renew(principal: Principal, review_id: str) -> dict[str, Any]:
    """Extend a live claim by a full lease from now; an expired claim cannot be renewed."""
    async with write_transaction():
        row = await slot_for(principal, review_id)
        now = clock.now()
        require_live_claim(state_of(row), principal.user_id, now)
        await ReviewSlot.update({ReviewSlot.lease_until: now + LEASE_SECONDS}).where(
            ReviewSlot.id == row["id"]
        )
        await audit.record(
            Actor(principal.user_id), AuditTag.review_renewed, f"review:{row['id']}", {}
        )
        row["lease_until"] = now + LEASE_SECONDS
        return row


async def release(principal: Principal, review_id: str) -> None:
    """Give a claim back to the queue (its partial scores are discarded)."""
    async with write_transaction():
        row = await slot_for(principal, review_id)
        state = state_of(row)
        if state.status is SlotStatus.submitted:
            raise Conflict("a submitted review cannot be released")
        if state.status is SlotStatus.claimed:
            await _reopen(row["id"])
            await audit.record(
                Actor(principal.user_id), AuditTag.review_released, f"review:{row['id']}", {}
            )


async def waiting(principal: Principal) -> QueueList:
    """Revisions with open or claimed slots, oldest first, with SLA figures."""
    now = clock.now()
    conflicts = set(await _conflicts(uuid.UUID(principal.user_id)))
    rows = (
        await ReviewSlot.select(
            ReviewSlot.revision,
            ReviewSlot.dossier,
            ReviewSlot.supplier,
            ReviewSlot.round,
            ReviewSlot.status,
            ReviewSlot.queued_at,
            ReviewSlot.first_claimed_at,
        )
        .where(ReviewSlot.revision.is_in(_open_revisions()))
        .order_by(ReviewSlot.queued_at, ReviewSlot.natural_key)
    )
    grouped: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        if row["supplier"] not in conflicts:
            grouped.setdefault(row["revision"], []).append(row)
    dossiers = await _dossier_labels([slots[0]["dossier"] for slots in grouped.values()])
    items = []
    for slots in grouped.values():
        first = slots[0]
        label = dossiers.get(first["dossier"], {})
        statuses = [s["status"] for s in slots]
        claims = [s["first_claimed_at"] for s in slots if s["first_claimed_at"]]
        started = min(claims) if claims else None
        items.append(
            QueueItem(
                dossier_id=str(first["dossier"]),
                revision=first["round"],
                supplier=label.get("supplier", ""),
                product=label.get("product", ""),
                product_version=label.get("product_version", ""),
                criteria_set=label.get("criteria_set", ""),
                queued_at=first["queued_at"],
                waiting_seconds=now - first["queued_at"],
                in_review_seconds=(now - started) if started else None,
                reviews_needed=statuses.count(SlotStatus.open.value),
                reviews_in_progress=statuses.count(SlotStatus.claimed.value),
                reviews_submitted=statuses.count(SlotStatus.submitted.value),
            )
        )
    return QueueList(items=items)


def _open_revisions() -> Any:
    return ReviewSlot.select(ReviewSlot.revision).where(
        ReviewSlot.status.is_in([SlotStatus.open.value, SlotStatus.claimed.value])
    )


async def _dossier_labels(dossier_ids: list[Any]) -> dict[Any, dict[str, str]]:
    if not dossier_ids:
        return {}
    rows = await Dossier.select(
        Dossier.id,
        Dossier.product_version,
        Dossier.criteria_set,
        Dossier.product.name.as_alias("product"),
        Dossier.organisation.name.as_alias("supplier"),
    ).where(Dossier.id.is_in(dossier_ids))
    return {row["id"]: row for row in rows}


async def reviewer_may_read(reviewer_id: str, revision_id: uuid.UUID) -> bool:
    """A reviewer reads a revision while holding a live claim on it, or after reviewing it."""
    rows = await ReviewSlot.select(ReviewSlot.status, ReviewSlot.lease_until).where(
        (ReviewSlot.revision == revision_id) & (ReviewSlot.reviewer == uuid.UUID(reviewer_id))
    )
    now = clock.now()
    return any(
        row["status"] == SlotStatus.submitted.value
        or (row["status"] == SlotStatus.claimed.value and (row["lease_until"] or 0) > now)
        for row in rows
    )


async def moderator_may_read(lead_id: str, revision_id: uuid.UUID, supplier: uuid.UUID) -> bool:
    """A lead reads a revision it must moderate (an open case it did not review, no conflict)."""
    lead = uuid.UUID(lead_id)
    if not await ModerationCase.exists().where(
        (ModerationCase.revision == revision_id) & (ModerationCase.status == "open")
    ):
        return False
    if await ReviewSlot.exists().where(
        (ReviewSlot.revision == revision_id) & (ReviewSlot.reviewer == lead)
    ):
        return False
    return not await ConflictOfInterest.exists().where(
        ConflictOfInterest.natural_key == f"{lead}:{supplier}"
    )
