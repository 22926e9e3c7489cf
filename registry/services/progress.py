"""Where a revision stands and what happens next: reviews, moderation, certificate issuance."""

from __future__ import annotations

import uuid

from registry.db import read_transaction
from registry.domain.dates import as_datetime
from registry.domain.progress import Progress, next_step
from registry.domain.review import SlotStatus
from registry.errors import NotFound
from registry.records import IssuanceRecord, Record, RevisionRecord, fetch, fetch_one
from registry.tables import Certificate, Issuance, ModerationCase, ReviewSlot, Revision
from schemas.issuance import IssuanceOut, RevisionProgress


class _SlotStatus(Record, frozen=True):
    status: SlotStatus


class _CertificateId(Record, frozen=True):
    certificate_id: str


def issuance_out(row: IssuanceRecord) -> IssuanceOut:
    """An issuance row as the API shows it."""
    return IssuanceOut(
        state=row.state,
        attempts=row.attempts,
        reason=row.reason,
        next_attempt_at=as_datetime(row.next_attempt_at),
        certificate_id=row.certificate_id,
        updated_at=as_datetime(row.updated_at),
    )


async def revision_progress(revision_id: uuid.UUID) -> RevisionProgress:
    """The revision's status now, with one sentence on what happens next."""
    revision = await fetch_one(Revision.select().where(Revision.id == revision_id), RevisionRecord)
    if revision is None:
        raise NotFound(f"no revision {revision_id}")
    return await progress_of(revision)


async def progress_of(revision: RevisionRecord) -> RevisionProgress:
    """``revision_progress`` of a revision its caller already loaded."""
    revision_id = revision.id
    async with read_transaction():
        slots = await fetch(
            ReviewSlot.select(ReviewSlot.status).where(ReviewSlot.revision == revision_id),
            _SlotStatus,
        )
        in_moderation = await ModerationCase.exists().where(
            (ModerationCase.revision == revision_id) & (ModerationCase.status == "open")
        )
        issuance = await fetch_one(
            Issuance.select().where(Issuance.revision == revision_id), IssuanceRecord
        )
        certificate = await fetch_one(
            Certificate.select(Certificate.certificate_id).where(
                Certificate.revision == revision_id
            ),
            _CertificateId,
        )
    shown = issuance_out(issuance) if issuance else None
    certificate_id = certificate.certificate_id if certificate else None
    facts = Progress(
        status=revision.status,
        reviews_submitted=sum(1 for s in slots if s.status is SlotStatus.submitted),
        reviews_required=len(slots),
        in_moderation=in_moderation,
        issuance=shown.state if shown else None,
        certificate_id=certificate_id,
        issuance_reason=shown.reason if shown else None,
        next_attempt_at=issuance.next_attempt_at if issuance else None,
    )
    return RevisionProgress(
        dossier_id=str(revision.dossier),
        revision=revision.number,
        status=facts.status,
        next_step=next_step(facts),
        reviews_submitted=facts.reviews_submitted,
        reviews_required=facts.reviews_required,
        in_moderation=in_moderation,
        certificate_id=certificate_id,
        issuance=shown,
    )
