"""Products, dossiers, answers, evidence, completeness and revisions."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec

from registry.domain.dossier import RevisionStatus
from schemas.base import MULTI_LINE, MULTI_LINE_NOT_BLANK, ONE_LINE, Request, Response, UtcTime
from schemas.criteria import ProductProfile
from schemas.issuance import IssuanceOut
from schemas.review import DecisionOut

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE)]
Purpose = Annotated[str, msgspec.Meta(min_length=1, max_length=5000, pattern=MULTI_LINE_NOT_BLANK)]
Summary = Annotated[str, msgspec.Meta(max_length=5000, pattern=MULTI_LINE)]
Version = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[\w.+-]+$")]
IsoDate = Annotated[
    str,
    msgspec.Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", extra_json_schema={"format": "date"}),
]

AnswerValue = str | int | bool | None


class ProductCreate(Request):
    """Register a product of the caller's organisation."""

    name: Name
    intended_purpose: Purpose
    profile: ProductProfile


class ProductOut(Response, frozen=True):
    """A product as its supplier sees it."""

    id: str
    organisation_id: str
    name: str
    intended_purpose: str
    profile: ProductProfile
    created_at: UtcTime


class ProductPage(Response, frozen=True):
    """One page of products, oldest first."""

    items: list[ProductOut]
    next_cursor: str | None


class DossierCreate(Request):
    """Start a dossier: one product version against one published criteria set."""

    product_id: str
    product_version: Version
    criteria_set_key: Annotated[str, msgspec.Meta(max_length=64)] = "kitemark-core"
    criteria_set_version: Annotated[int, msgspec.Meta(ge=1)] = 1
    summary: Summary = ""


class DossierUpdate(Request):
    """Change a draft dossier's product version or summary (needs If-Match)."""

    product_version: Version | None = None
    summary: Summary | None = None


class CriteriaSetRef(Response, frozen=True):
    """Which criteria set a dossier is assessed against, pinned by its hash."""

    key: str
    version: int
    sha256: str


class AnswerPut(Request):
    """One answer; its type must fit the criterion (``null`` clears it)."""

    value: AnswerValue


class AnswerOut(Response, frozen=True):
    """A stored answer."""

    code: str
    value: AnswerValue
    updated_at: UtcTime


class EvidenceOut(Response, frozen=True):
    """An evidence file's record; the bytes are downloaded separately."""

    id: str
    revision: int
    document_type: str
    criteria: list[str]
    label: str
    media_type: str
    size: int
    sha256: str
    expires_on: date | None
    issued_on: date | None
    uploaded_at: UtcTime


class EvidenceMeta(Request):
    """What the supplier says about an uploaded file (the multipart form's other fields)."""

    document_type: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    criteria: Annotated[list[str], msgspec.Meta(min_length=1, max_length=50)]
    label: Annotated[str, msgspec.Meta(max_length=255)]
    declared_type: Annotated[str, msgspec.Meta(max_length=255)] = ""
    expires_on: IsoDate | None = None
    issued_on: IsoDate | None = None


class DossierOut(Response, frozen=True):
    """A dossier with its current revision's answers and evidence."""

    id: str
    organisation_id: str
    product_id: str
    product_name: str
    product_version: str
    summary: str
    criteria_set: CriteriaSetRef
    revision: int
    status: RevisionStatus
    answers: list[AnswerOut]
    evidence: list[EvidenceOut]
    etag: str
    created_at: UtcTime
    updated_at: UtcTime


class DossierSummary(Response, frozen=True):
    """A dossier as listings show it."""

    id: str
    product_id: str
    product_version: str
    criteria_set: str
    revision: int
    status: RevisionStatus
    updated_at: UtcTime


class DossierPage(Response, frozen=True):
    """One page of dossiers, newest change first."""

    items: list[DossierSummary]
    next_cursor: str | None


class GapOut(Response, frozen=True):
    """One thing missing before submission."""

    code: str
    title: str
    problem: str


class CompletenessOut(Response, frozen=True):
    """What still stands between the current revision and submission."""

    complete: bool
    applicable_criteria: int
    answered: int
    gaps: list[GapOut]


class RevisionOut(Response, frozen=True):
    """One round of a dossier."""

    number: int
    status: RevisionStatus
    digest: str | None
    created_at: UtcTime
    submitted_at: UtcTime | None
    decided_at: UtcTime | None
    decision: DecisionOut | None = None
    certificate_id: str | None = None
    # After an approval: where its certificate's issuance stands, with any failure's reason.
    issuance: IssuanceOut | None = None
    next_step: str | None = None  # what happens next to this revision, and who acts


class RevisionList(Response, frozen=True):
    """Every revision of a dossier, oldest first."""

    items: list[RevisionOut]


class AnswerChangeOut(Response, frozen=True):
    """An answer that differs between two revisions (null: absent on that side)."""

    code: str
    before: AnswerValue
    after: AnswerValue


class EvidenceChangeOut(Response, frozen=True):
    """An evidence file added or removed between two revisions."""

    sha256: str
    document_type: str
    criteria: list[str]
    expires_on: date | None


class RevisionDiff(Response, frozen=True):
    """What changed from revision ``base`` to revision ``number``."""

    base: int
    number: int
    answers: list[AnswerChangeOut]
    evidence_added: list[EvidenceChangeOut]
    evidence_removed: list[EvidenceChangeOut]
