"""Typed rows: every table's row as a frozen msgspec Struct, and the two ways to load them.

Services load rows through ``fetch``/``fetch_one`` and work on attributes, never on
``row["…"]``: a mistyped column is a mypy error, and a row that breaks its type (a NULL where
the registry always writes a value, an unknown status) fails loudly at the loader. Partial
selects and joins declare their own small ``Record`` subclass next to the query; unknown keys
are ignored, so a record may name fewer columns than the query returns.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import msgspec

from registry.domain.certificate import CertificateStatus
from registry.domain.dossier import RevisionStatus
from registry.domain.identity import OrganisationKind, Role
from registry.domain.issuance import IssuanceState
from registry.domain.review import CaseStatus, SlotStatus
from registry.domain.signing_key import SigningKeyStatus


class Record(msgspec.Struct, frozen=True):
    """A loaded row: immutable, typed."""


R = TypeVar("R", bound=Record)


def as_record(row: dict[str, Any], as_type: type[R]) -> R:
    """One row as ``as_type`` (its extra columns ignored)."""
    return msgspec.convert(row, as_type)


async def fetch(query: Any, as_type: type[R]) -> list[R]:
    """Every row a Piccolo select returns, as ``as_type``."""
    return [msgspec.convert(row, as_type) for row in await query]


async def fetch_one(query: Any, as_type: type[R]) -> R | None:
    """The first row a Piccolo select returns as ``as_type``, or None."""
    row = await query.first()
    return None if row is None else msgspec.convert(row, as_type)


class AnswerRecord(Record, frozen=True):
    """A row of ``answer``."""

    id: int
    natural_key: str
    revision: uuid.UUID
    criterion_code: str
    value: str
    updated_at: int


class ApiTokenRecord(Record, frozen=True):
    """A row of ``api_token``."""

    id: uuid.UUID
    user: uuid.UUID
    label: str
    display_prefix: str
    token_hash: str
    created_at: int
    expires_at: int | None
    revoked_at: int | None
    last_used_at: int | None


class AuditEventRecord(Record, frozen=True):
    """A row of ``audit_event``."""

    id: int
    position: int
    tag: str
    actor: str
    subject: str
    at: int
    details: str
    prev_hash: str
    hash: str


class AuditHeadRecord(Record, frozen=True):
    """A row of ``audit_head``."""

    id: int
    chain: str
    position: int
    hash: str


class CertificateRecord(Record, frozen=True):
    """A row of ``certificate``."""

    id: uuid.UUID
    certificate_id: str
    revision: uuid.UUID
    dossier: uuid.UUID
    product: uuid.UUID
    organisation: uuid.UUID
    product_name: str
    product_version: str
    supplier_name: str
    intended_purpose: str
    esf_tier: str
    device_class: str
    criteria_set: str
    criteria_sha256: str
    dossier_sha256: str
    outcomes: str
    issued_at: int
    valid_until: int
    kid: str
    statement: str
    pdf_sha256: str
    status: CertificateStatus
    status_reason: str | None
    status_note: str | None
    status_changed_at: int | None
    superseded_by: str | None
    search_text: str


class CertificateEventRecord(Record, frozen=True):
    """A row of ``certificate_event``."""

    id: int
    certificate: uuid.UUID
    at: int
    action: str
    status: str
    reason: str | None
    note: str
    actor: str


class ConflictOfInterestRecord(Record, frozen=True):
    """A row of ``conflict_of_interest``."""

    id: int
    natural_key: str
    reviewer: uuid.UUID
    organisation: uuid.UUID
    note: str
    declared_at: int


class CriteriaSetRecord(Record, frozen=True):
    """A row of ``criteria_set``."""

    id: int
    natural_key: str
    key: str
    version: int
    title: str
    sha256: str
    document: str
    criteria_count: int
    published_at: int


class DossierRecord(Record, frozen=True):
    """A row of ``dossier``."""

    id: uuid.UUID
    organisation: uuid.UUID
    product: uuid.UUID
    product_version: str
    summary: str
    criteria_set: str
    current_revision: int
    row_version: int
    created_at: int
    updated_at: int


class EvidenceRecord(Record, frozen=True):
    """A row of ``evidence``."""

    id: uuid.UUID
    revision: uuid.UUID
    document_type: str
    criteria: str
    label: str
    media_type: str
    size: int
    sha256: str
    expires_on: str | None
    issued_on: str | None
    uploaded_at: int


class IdempotencyKeyRecord(Record, frozen=True):
    """A row of ``idempotency_key``."""

    id: uuid.UUID
    lookup: str
    fingerprint: str
    created_at: int
    status: int | None
    headers: str
    body: bytes


class IssuanceRecord(Record, frozen=True):
    """A row of ``issuance``."""

    id: int
    revision: uuid.UUID
    dossier: uuid.UUID
    state: IssuanceState
    attempts: int
    reason: str | None
    next_attempt_at: int | None
    lease_until: int | None
    certificate_id: str | None
    created_at: int
    updated_at: int


class ModerationCaseRecord(Record, frozen=True):
    """A row of ``moderation_case``."""

    id: uuid.UUID
    revision: uuid.UUID
    dossier: uuid.UUID
    status: CaseStatus
    reasons: str
    opened_at: int
    lead: uuid.UUID | None
    decided_at: int | None
    recommendation: str | None
    summary: str | None
    final_scores: str | None


class OrganisationRecord(Record, frozen=True):
    """A row of ``organisation``."""

    id: uuid.UUID
    name: str
    kind: OrganisationKind
    created_at: int


class ProductRecord(Record, frozen=True):
    """A row of ``product``."""

    id: uuid.UUID
    organisation: uuid.UUID
    name: str
    intended_purpose: str
    profile: str
    created_at: int


class ReviewScoreRecord(Record, frozen=True):
    """A row of ``review_score``."""

    id: int
    natural_key: str
    slot: uuid.UUID
    criterion_code: str
    gate_pass: bool | None
    score: int | None
    not_applicable: bool
    rationale: str
    updated_at: int


class ReviewSlotRecord(Record, frozen=True):
    """A row of ``review_slot``."""

    id: uuid.UUID
    natural_key: str
    revision: uuid.UUID
    dossier: uuid.UUID
    supplier: uuid.UUID
    round: int
    slot: int
    status: SlotStatus
    queued_at: int
    reviewer: uuid.UUID | None
    reviewer_key: str | None
    claimed_at: int | None
    first_claimed_at: int | None
    lease_until: int | None
    submitted_at: int | None
    recommendation: str | None
    summary: str | None


class RevisionRecord(Record, frozen=True):
    """A row of ``revision``."""

    id: uuid.UUID
    natural_key: str
    dossier: uuid.UUID
    number: int
    status: RevisionStatus
    digest: str | None
    frozen: str | None
    created_at: int
    submitted_at: int | None
    decided_at: int | None
    outcome: str | None
    decision: str | None


class SigningKeyRecord(Record, frozen=True):
    """A row of ``signing_key``."""

    id: int
    kid: str
    status: SigningKeyStatus
    not_before: int
    not_after: int
    sign_until: int
    certificate_pem: str
    revoked_from: int | None
    created_at: int
    changed_at: int


class UserRecord(Record, frozen=True):
    """A row of ``registry_user``."""

    id: uuid.UUID
    email: str
    name: str
    role: Role
    organisation: uuid.UUID | None
    active: bool
    created_at: int
