"""Evidence files: sniffed, size-limited, stored by SHA-256, attached to a draft revision."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import msgspec
from piccolo.query.functions.aggregate import Sum

from registry import clock
from registry.blobs import blob_store
from registry.db import write_transaction
from registry.domain import dossier as rules
from registry.domain.audit_chain import AuditTag
from registry.domain.canonical import canonical_json
from registry.domain.criteria import DOCUMENT_TYPES
from registry.domain.dossier import RevisionAction, RevisionStatus
from registry.domain.identity import Principal
from registry.domain.sniff import ACCEPTED, sniff
from registry.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from registry.records import EvidenceRecord, Record, fetch_one
from registry.services import audit
from registry.services.audit import Actor
from registry.services.dossiers import (
    Loaded,
    applicable,
    bump_row_version,
    evidence_out,
    load_for_read,
    load_for_write,
)
from registry.settings import get_settings
from registry.tables import Evidence, Revision
from schemas.dossier import EvidenceMeta, EvidenceOut


def _check_date(value: str | None, field: str) -> None:
    if value is None:
        return
    try:
        dt.date.fromisoformat(value)
    except ValueError as e:
        raise InvalidInput(
            f"{field} must be a real date (YYYY-MM-DD), got {value!r}", field=field
        ) from e


async def upload(
    principal: Principal, dossier_id: str, meta: EvidenceMeta, data: bytes
) -> EvidenceOut:
    """Attach a file to the current draft: 413 over a limit, 415 unless its bytes are accepted.

    Every check runs before any byte is stored, so a refused upload leaves nothing behind. The
    slow part (hashing, writing the blob) runs off the event loop and outside the transaction;
    the short transaction then re-checks what may have changed meanwhile and inserts the row.
    A blob whose transaction failed is referenced by nothing and swept later (DESIGN §8).
    """
    settings = get_settings()
    if len(data) > settings.evidence_max_file_bytes:
        raise PayloadTooLarge(
            f"a file may be at most {settings.evidence_max_file_bytes} bytes, "
            f"this one is {len(data)}"
        )
    media_type = sniff(data, declared=f"{meta.label} {meta.declared_type}")
    if media_type is None:
        raise UnsupportedMediaType(
            f"the file's bytes are not one of {', '.join(ACCEPTED)} (its name does not matter)"
        )
    if meta.document_type not in DOCUMENT_TYPES:
        raise InvalidInput(
            f"unknown document type {meta.document_type!r}; "
            f"known: {', '.join(sorted(DOCUMENT_TYPES))}",
            field="document_type",
        )
    _check_date(meta.expires_on, "expires_on")
    _check_date(meta.issued_on, "issued_on")
    loaded = await load_for_write(principal, dossier_id)
    codes = sorted(set(meta.criteria))
    for code in codes:
        requirement = applicable(loaded, code).evidence
        if (
            requirement.expiry_required
            and meta.document_type in requirement.document_types
            and meta.expires_on is None
        ):
            raise InvalidInput(
                f"criterion {code} needs the expiry date of a {meta.document_type}",
                field="expires_on",
            )
    revision_id = loaded.revision.id
    _check_room(await _stored_bytes(revision_id), len(data), settings.evidence_max_dossier_bytes)
    digest = await blob_store().put(data)
    async with write_transaction():
        # Bumping first takes the dossier row's lock (PostgreSQL; SQLite's IMMEDIATE already
        # excludes other writers), so a concurrent upload's bytes are counted below.
        await bump_row_version(loaded)
        await _check_still_current(loaded)
        _check_room(
            await _stored_bytes(revision_id), len(data), settings.evidence_max_dossier_bytes
        )
        row = EvidenceRecord(
            id=uuid.uuid4(),
            revision=revision_id,
            document_type=meta.document_type,
            criteria=canonical_json(codes).decode(),
            label=meta.label[:255] or "upload",
            media_type=media_type,
            size=len(data),
            sha256=digest,
            expires_on=meta.expires_on,
            issued_on=meta.issued_on,
            uploaded_at=clock.now(),
        )
        await Evidence.insert(Evidence(**msgspec.structs.asdict(row)))
        await audit.record(
            Actor(principal.user_id),
            AuditTag.evidence_uploaded,
            f"dossier:{loaded.dossier.id}",
            {"evidence": str(row.id), "sha256": digest, "document_type": meta.document_type},
        )
    return evidence_out(row, loaded.revision.number)


class _Used(Record, frozen=True):
    used: int | Decimal | None  # PostgreSQL sums a BIGINT column as NUMERIC


class _Current(Record, frozen=True):
    status: RevisionStatus
    current: int


class _RevisionOf(Record, frozen=True):
    dossier: uuid.UUID
    number: int


async def _stored_bytes(revision_id: uuid.UUID) -> int:
    row = await fetch_one(
        Evidence.select(Sum(Evidence.size).as_alias("used")).where(
            Evidence.revision == revision_id
        ),
        _Used,
    )
    return int(row.used or 0) if row else 0


def _check_room(used: int, size: int, limit: int) -> None:
    if used + size > limit:
        raise PayloadTooLarge(
            f"a dossier may hold at most {limit} bytes of evidence; "
            f"it holds {used}, this file adds {size}"
        )


async def _check_still_current(loaded: Loaded) -> None:
    """Inside the write transaction: the revision checked before is still the current draft."""
    now = await fetch_one(
        Revision.select(
            Revision.status, Revision.dossier._.current_revision.as_alias("current")
        ).where(Revision.id == loaded.revision.id),
        _Current,
    )
    if now is None:  # revisions are never deleted; foreign keys make this unreachable
        raise NotFound(f"no dossier {str(loaded.dossier.id)!r}")
    rules.transition(now.status, RevisionAction.edit)
    if now.current != loaded.revision.number:
        raise Conflict(
            f"the dossier moved on to revision {now.current} during the upload; upload again"
        )


async def _evidence_row(loaded: Loaded, evidence_id: str) -> tuple[EvidenceRecord, int]:
    """An evidence file of any revision of ``loaded`` (the caller checked who may see it)."""
    try:
        key = uuid.UUID(evidence_id)
    except ValueError as e:
        raise NotFound(f"no evidence {evidence_id!r} in this dossier") from e
    row = await fetch_one(Evidence.select().where(Evidence.id == key), EvidenceRecord)
    revision = (
        await fetch_one(
            Revision.select(Revision.dossier, Revision.number).where(Revision.id == row.revision),
            _RevisionOf,
        )
        if row
        else None
    )
    if row is None or revision is None or revision.dossier != loaded.dossier.id:
        raise NotFound(f"no evidence {evidence_id!r} in this dossier")
    return row, revision.number


async def download(
    principal: Principal, dossier_id: str, evidence_id: str
) -> tuple[EvidenceOut, bytes]:
    """An evidence file's record and its exact bytes."""
    row, number = await _evidence_row(await load_for_read(principal, dossier_id), evidence_id)
    try:
        data = await blob_store().get(row.sha256)
    except KeyError as e:
        raise NotFound(f"the bytes of evidence {evidence_id!r} are not in the blob store") from e
    return evidence_out(row, number), data


async def delete(principal: Principal, dossier_id: str, evidence_id: str) -> None:
    """Remove a file from the current draft; a submitted revision's evidence never changes."""
    async with write_transaction():
        loaded = await load_for_write(principal, dossier_id)
        row, _ = await _evidence_row(loaded, evidence_id)
        if row.revision != loaded.revision.id:
            raise Conflict(
                f"evidence {evidence_id} belongs to an earlier, frozen revision; "
                f"the current draft is revision {loaded.revision.number}"
            )
        await Evidence.delete().where(Evidence.id == row.id)
        await bump_row_version(loaded)
        await audit.record(
            Actor(principal.user_id),
            AuditTag.evidence_deleted,
            f"dossier:{loaded.dossier.id}",
            {"evidence": evidence_id, "sha256": row.sha256},
        )
