"""Publishing and reading criteria sets; published documents are immutable, so they are cached."""

from __future__ import annotations

from importlib import resources

import msgspec

from registry import clock
from registry.db import write_transaction
from registry.domain.audit_chain import AuditTag
from registry.domain.canonical import canonical_json
from registry.domain.criteria import criteria_set_digest, validate_criteria_set
from registry.domain.dates import as_datetime
from registry.errors import Conflict, NotFound
from registry.records import CriteriaSetRecord, Record, fetch, fetch_one
from registry.services import audit
from registry.services.audit import Actor
from registry.tables import CriteriaSet
from schemas.criteria import (
    CriteriaSetDocument,
    CriteriaSetList,
    CriteriaSetOut,
    CriteriaSetSummary,
)

BUILTIN_FILE = "kitemark-core-1.json"


def criteria_ref(key: str, version: int) -> str:
    """The ``key/version`` name of a criteria set version."""
    return f"{key}/{version}"


def builtin_document() -> CriteriaSetDocument:
    """The built-in ``kitemark-core/1`` document shipped in the package."""
    raw = (resources.files("registry") / "data" / BUILTIN_FILE).read_bytes()
    return msgspec.json.decode(raw, type=CriteriaSetDocument)


def decode_document(raw: bytes) -> CriteriaSetDocument:
    """Decode a criteria set document from JSON bytes (a file or a request body)."""
    return msgspec.json.decode(raw, type=CriteriaSetDocument)


def _count(document: CriteriaSetDocument) -> int:
    return sum(len(section.criteria) for section in document.sections)


async def publish(actor: Actor, document: CriteriaSetDocument) -> tuple[CriteriaSetOut, bool]:
    """Publish a version; identical content again is the existing one, different content is 409.

    Returns the published set and whether this call created it.
    """
    validate_criteria_set(document)
    digest = criteria_set_digest(document)
    ref = criteria_ref(document.key, document.version)
    async with write_transaction():
        existing = await _row(ref)
        if existing is not None:
            if existing.sha256 != digest:
                raise Conflict(
                    f"criteria set {ref} is already published with sha256 {existing.sha256}; "
                    f"this document hashes to {digest}: publish it as a new version"
                )
            return _out(existing.published_at, document, digest), False
        now = clock.now()
        await CriteriaSet.insert(
            CriteriaSet(
                natural_key=ref,
                key=document.key,
                version=document.version,
                title=document.title,
                sha256=digest,
                document=canonical_json(msgspec.to_builtins(document)).decode(),
                criteria_count=_count(document),
                published_at=now,
            )
        )
        await audit.record(
            actor, AuditTag.criteria_set_published, f"criteria_set:{ref}", {"sha256": digest}
        )
    return _out(now, document, digest), True


async def _row(ref: str) -> CriteriaSetRecord | None:
    return await fetch_one(
        CriteriaSet.select().where(CriteriaSet.natural_key == ref), CriteriaSetRecord
    )


def _out(published_at: int, document: CriteriaSetDocument, digest: str) -> CriteriaSetOut:
    return CriteriaSetOut(
        key=document.key,
        version=document.version,
        sha256=digest,
        published_at=as_datetime(published_at),
        document=document,
    )


class _Listed(Record, frozen=True):
    """A criteria set as listings show it: everything but the document."""

    key: str
    version: int
    title: str
    sha256: str
    published_at: int
    criteria_count: int


async def list_published() -> CriteriaSetList:
    """Every published version, by key then version."""
    rows = await fetch(
        CriteriaSet.select(
            CriteriaSet.key,
            CriteriaSet.version,
            CriteriaSet.title,
            CriteriaSet.sha256,
            CriteriaSet.published_at,
            CriteriaSet.criteria_count,
        ).order_by(CriteriaSet.key, CriteriaSet.version),
        _Listed,
    )
    return CriteriaSetList(
        items=[
            CriteriaSetSummary(
                key=row.key,
                version=row.version,
                title=row.title,
                sha256=row.sha256,
                published_at=as_datetime(row.published_at),
                criteria_count=row.criteria_count,
            )
            for row in rows
        ]
    )


async def get_published(key: str, version: int) -> CriteriaSetOut:
    """One published version with its document; 404 when unknown."""
    row = await _row(criteria_ref(key, version))
    if row is None:
        raise NotFound(f"no published criteria set {criteria_ref(key, version)}")
    return _out(row.published_at, _cached_document(row.sha256, row.document), row.sha256)


class _Published(Record, frozen=True):
    sha256: str
    document: str


async def document_by_ref(ref: str) -> tuple[CriteriaSetDocument, str]:
    """The document and digest of a published ``key/version``; 404 when unknown."""
    row = await fetch_one(
        CriteriaSet.select(CriteriaSet.sha256, CriteriaSet.document).where(
            CriteriaSet.natural_key == ref
        ),
        _Published,
    )
    if row is None:
        raise NotFound(f"no published criteria set {ref}")
    return _cached_document(row.sha256, row.document), row.sha256


# A published version never changes, so each is decoded once per process, keyed by its digest.
_DOCUMENTS: dict[str, CriteriaSetDocument] = {}


def _cached_document(sha256: str, text: str) -> CriteriaSetDocument:
    document = _DOCUMENTS.get(sha256)
    if document is None:
        document = _DOCUMENTS[sha256] = msgspec.json.decode(text, type=CriteriaSetDocument)
    return document
