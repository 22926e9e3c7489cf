"""Certificates as the public reads them, and admin status changes."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from registry.domain.certificate import Reason, ShownStatus
from schemas.base import MULTI_LINE, Request, Response, UtcTime


class StatusEvent(Response, frozen=True):
    """One change in a certificate's life, in plain language."""

    at: UtcTime
    action: str
    status: str
    reason: Reason | None
    note: str


class SectionResult(Response, frozen=True):
    """One section's outcome as printed on the certificate."""

    code: str
    title: str
    percent: int | None
    threshold: int
    gates_passed: bool | None
    outcome: str


class CertificateOut(Response, frozen=True):
    """A certificate: what was assessed, its validity and its current status with reasons."""

    certificate_id: str
    status: ShownStatus
    status_reason: Reason | None
    status_note: str | None
    status_changed_at: UtcTime | None
    superseded_by: str | None
    product_name: str
    product_version: str
    supplier_name: str
    intended_purpose: str
    esf_tier: str
    device_class: str
    criteria_set: str
    criteria_set_sha256: str
    dossier_sha256: str
    issued_at: UtcTime
    valid_until: UtcTime
    kid: str
    pdf_sha256: str
    sections: list[SectionResult]
    history: list[StatusEvent]


class StatusChange(Request):
    """Suspend, reinstate or revoke a certificate, with a reason code and a note."""

    action: Literal["suspend", "reinstate", "revoke"]
    reason: Reason
    note: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=MULTI_LINE)]
