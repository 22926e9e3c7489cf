"""Evidence files: sniffed, size-limited, stored by SHA-256, attached to a draft revision."""

from __future__ import annotations

import datetime as dt
import uuid
from functools import cache
from typing import Any

from registry import clock
from registry.blobs import BlobStore, FileBlobStore
from registry.db import write_transaction
from registry.domain.audit_chain import AuditTag
from registry.domain.canonical import canonical_json
from registry.domain.criteria import DOCUMENT_TYPES
from registry.domain.identity import Principal
from registry.domain.sniff import ACCEPTED, sniff
from registry.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge, UnsupportedMediaType
from registry.services import audit
from registry.services.audit import Actor
from registry.services.dossiers import (
    applicable,
    bump_row_version,
    evidence_out,
    evidence_rows,
    load_for_read,
    load_for_write,
)
from registry.settings import get_settings
from registry.tables import Evidence, Revision
from schemas.dossier import EvidenceMeta, EvidenceOut


@cache
def blob_store() -> BlobStore:
    """The configured blob store (files under the data directory)."""
    return FileBlobStore(get_settings().blob_dir)


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
    """Attach a file to the current draft: 413 over a limit, 415 unless its bytes are accepted."""
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
    # Only a caller who may write to this draft gets to store bytes at all (checked again below).
    await load_for_write(principal, dossier_id)
    # Slow work (hashing, writing) before the transaction; an unreferenced blob is swept later.
    digest = blob_store().put(data)
    async with write_transaction():
        loaded = await load_for_write(principal, dossier_id)
        codes = sorted(set(meta.criteria))
        for code in codes:
            criterion = applicable(loaded, code)
            requirement = criterion.evidence
            if (
                requirement.expiry_required
                and meta.document_type in requirement.document_types
                and meta.expires_on is None
            ):
                raise InvalidInput(
                    f"criterion {code} needs the expiry date of a {meta.document_type}",
                    field="expires_on",
                )
        used = sum(row["size"] for row in await evidence_rows(loaded.revision["id"]))
        if used + len(data) > settings.evidence_max_dossier_bytes:
            raise PayloadTooLarge(
                f"a dossier may hold at most {settings.evidence_max_dossier_bytes} bytes of "
                f"evidence; it holds {used}, this file adds {len(data)}"
            )
        row: dict[str, Any] = {
            "id": uuid.uuid4(),
            "revision": loaded.revision["id"],
            "document_type": meta.document_type,
            "criteria": canonical_json(codes).decode(),
            "label": meta.label[:255] or "upload",
            "media_type": media_type,
            "size": len(data),
            "sha256": digest,
            "expires_on": meta.expires_on,
            "issued_on": meta.issued_on,
            "uploaded_at": clock.now(),
        }
        await Evidence.insert(Evidence(**row))
        await bump_row_version(loaded)
        await audit.record(
            Actor(principal.user_id),
            AuditTag.evidence_uploaded,
            f"dossier:{loaded.dossier['id']}",
            {"evidence": str(row["id"]), "sha256": digest, "document_type": meta.document_type},
        )
    return evidence_out(row, loaded.revision["number"])


async def _evidence_row(
    principal: Principal, dossier_id: str, evidence_id: str
) -> tuple[dict[str, Any], int]:
    loaded = await load_for_read(principal, dossier_id)
    try:
        key = uuid.UUID(evidence_id)
    except ValueError as e:
        raise NotFound(f"no evidence {evidence_id!r} in this dossier") from e
    row = await Evidence.select().where(Evidence.id == key).first()
    revision = (
        await Revision.select(Revision.dossier, Revision.number)
        .where(Revision.id == row["revision"])
        .first()
        if row
        else None
    )
    if row is None or revision is None or revision["dossier"] != loaded.dossier["id"]:
        raise NotFound(f"no evidence {evidence_id!r} in this dossier")
    return row, revision["number"]


async def download(
    principal: Principal, dossier_id: str, evidence_id: str
) -> tuple[EvidenceOut, bytes]:
    """An evidence file's record and its exact bytes."""
    row, number = await _evidence_row(principal, dossier_id, evidence_id)
    try:
        data = blob_store().get(row["sha256"])
    except KeyError as e:
        raise NotFound(f"the bytes of evidence {evidence_id!r} are not in the blob store") from e
    return evidence_out(row, number), data


async def delete(principal: Principal, dossier_id: str, evidence_id: str) -> None:
    """Remove a file from the current draft; a submitted revision's evidence never changes."""
    async with write_transaction():
        loaded = await load_for_write(principal, dossier_id)
        row, _ = await _evidence_row(principal, dossier_id, evidence_id)
        if row["revision"] != loaded.revision["id"]:
            raise Conflict(
                f"evidence {evidence_id} belongs to an earlier, frozen revision; "
                f"the current draft is revision {loaded.revision['number']}"
            )
        await Evidence.delete().where(Evidence.id == row["id"])
        await bump_row_version(loaded)
        await audit.record(
            Actor(principal.user_id),
            AuditTag.evidence_deleted,
            f"dossier:{loaded.dossier['id']}",
            {"evidence": evidence_id, "sha256": row["sha256"]},
        )
