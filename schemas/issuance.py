"""Where an approved revision's certificate stands, and what a decision step led to."""

from __future__ import annotations

from registry.domain.dossier import RevisionStatus
from registry.domain.issuance import IssuanceState
from schemas.base import Response, UtcTime


class IssuanceOut(Response, frozen=True):
    """The certificate issuance of an approved revision: its state, last failure and next try."""

    state: IssuanceState
    attempts: int
    reason: str | None
    next_attempt_at: UtcTime | None
    certificate_id: str | None
    updated_at: UtcTime


class IssuanceItem(Response, frozen=True):
    """One approved revision's issuance, as an administrator's list shows it."""

    dossier_id: str
    revision: int
    product: str
    supplier: str
    issuance: IssuanceOut


class IssuanceList(Response, frozen=True):
    """Issuances, oldest change first."""

    items: list[IssuanceItem]
    next_cursor: str | None


class RevisionProgress(Response, frozen=True):
    """What a step led to: the revision's status now, and what happens next, in words."""

    dossier_id: str
    revision: int
    status: RevisionStatus
    next_step: str
    reviews_submitted: int
    reviews_required: int
    in_moderation: bool
    certificate_id: str | None
    issuance: IssuanceOut | None
