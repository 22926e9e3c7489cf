"""Certificates: their status lifecycle and validity window (DESIGN §2, "Certificate").

Rules enforced here:
- stored statuses are ``valid``, ``suspended``, ``revoked`` and ``superseded``;
  ``valid ⇄ suspended``; ``valid|suspended → revoked`` and ``valid|suspended → superseded`` are
  terminal; every other transition is refused;
- ``expired`` is never stored: it is what a valid or suspended certificate is once ``valid_until``
  has passed (revoked and superseded keep their own, more specific, status);
- ``valid_until`` is the earlier of the default validity and the earliest expiry of any evidence
  a gate criterion relied on (an expiry date means "valid through that day", so the certificate
  ends at the start of the next day, UTC); when such evidence has already lapsed there is
  nothing to certify, and the refusal tells the supplier which document to renew;
- every change carries one of the reason codes and a plain-language note.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from enum import StrEnum

from registry.domain.criteria import document_type_name
from registry.domain.dates import DAY
from registry.domain.dossier import EvidenceFact
from registry.errors import CannotCertify, Conflict


class CertificateStatus(StrEnum):
    """Stored certificate statuses; ``expired`` is derived, never stored."""

    valid = "valid"
    suspended = "suspended"
    revoked = "revoked"
    superseded = "superseded"


class ShownStatus(StrEnum):
    """The status people see: the stored one, or ``expired`` derived from the clock."""

    valid = "valid"
    suspended = "suspended"
    revoked = "revoked"
    superseded = "superseded"
    expired = "expired"


class StatusAction(StrEnum):
    """What an admin (or a newer assessment) can do to a certificate."""

    suspend = "suspend"
    reinstate = "reinstate"
    revoke = "revoke"
    supersede = "supersede"


class Reason(StrEnum):
    """Why a certificate's status changed (DESIGN §2)."""

    safety_concern = "safety_concern"
    evidence_lapsed = "evidence_lapsed"
    supplier_request = "supplier_request"
    reassessed = "reassessed"
    key_compromise = "key_compromise"
    administrative_error = "administrative_error"


_S, _A = CertificateStatus, StatusAction
TRANSITIONS: dict[tuple[CertificateStatus, StatusAction], CertificateStatus] = {
    (_S.valid, _A.suspend): _S.suspended,
    (_S.suspended, _A.reinstate): _S.valid,
    (_S.valid, _A.revoke): _S.revoked,
    (_S.suspended, _A.revoke): _S.revoked,
    (_S.valid, _A.supersede): _S.superseded,
    (_S.suspended, _A.supersede): _S.superseded,
}
TERMINAL = frozenset({_S.revoked, _S.superseded})
LIVE = frozenset({_S.valid, _S.suspended})


def transition(status: CertificateStatus, action: StatusAction) -> CertificateStatus:
    """The status after ``action``, or Conflict saying why it cannot happen."""
    if status in TERMINAL:
        raise Conflict(
            f"the certificate is {status.value}, which is final: it cannot {action.value}"
        )
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise Conflict(f"a {status.value} certificate cannot be {action.value}d") from None


def shown_status(status: CertificateStatus, valid_until: int, now: int) -> ShownStatus:
    """What people see now: a live certificate past its validity shows as expired."""
    if status in LIVE and now >= valid_until:
        return ShownStatus.expired
    return ShownStatus(status.value)


def _end_of(day: str) -> int:
    date = dt.date.fromisoformat(day) + dt.timedelta(days=1)
    return int(dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC).timestamp())


def valid_until(
    *,
    issued_at: int,
    validity_days: int,
    evidence: Sequence[EvidenceFact],
    gate_codes: Iterable[str],
) -> tuple[int, str | None]:
    """The certificate's end, and the evidence (``type sha256``) that cut it short, if any."""
    end = issued_at + validity_days * DAY
    limiter = None
    gates = set(gate_codes)
    lapsed: list[str] = []
    for fact in evidence:
        if fact.expires_on and gates.intersection(fact.criteria):
            lapse = _end_of(fact.expires_on)
            if lapse <= issued_at:
                relied_on = ", ".join(sorted(gates.intersection(fact.criteria)))
                lapsed.append(
                    f"upload a current {document_type_name(fact.document_type)}: the one "
                    f"relied on for {relied_on} expired on {fact.expires_on}"
                )
            if lapse < end:
                end, limiter = lapse, f"{fact.document_type} {fact.sha256[:12]}"
    if lapsed:
        raise CannotCertify("; ".join(sorted(set(lapsed))))
    return end, limiter
