"""Verification answers (DESIGN §5) and their requests."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from schemas.base import Request, Response, UtcTime
from schemas.certificate import StatusEvent

CheckOutcome = Literal["passed", "failed", "not_checked"]
VerdictName = Literal["good_to_go", "not_good_to_go", "unknown"]


class CheckOut(Response, frozen=True):
    """One numbered check: what it looked at and what it found, in plain language."""

    number: int
    name: str
    outcome: CheckOutcome
    explanation: str


class CertificateSummary(Response, frozen=True):
    """What the certificate says, for the person reading the verdict."""

    certificate_id: str
    product_name: str
    product_version: str
    supplier_name: str
    intended_purpose: str | None
    criteria_set: str
    issued_at: UtcTime
    valid_until: UtcTime
    status: str | None
    status_reason: str | None
    status_note: str | None
    superseded_by: str | None
    history: list[StatusEvent]


class VerificationOut(Response, frozen=True):
    """The verdict, every check made in order, and what to do next."""

    verdict: VerdictName
    headline: str
    advice: str
    checks: list[CheckOut]
    certificate: CertificateSummary | None
    checked_at: UtcTime
    mode: Literal["online", "offline"]
    trust_age_seconds: int | None = None


class StatementVerify(Request):
    """A compact JWS, or the full text of a certificate's QR code (the verify URL)."""

    text: Annotated[str, msgspec.Meta(min_length=1, max_length=8192)]
