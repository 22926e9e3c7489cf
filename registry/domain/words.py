"""The words people read for a certificate's status and its reasons: one home for the API's
check explanations, the pages, the CLI (which prints those explanations) and the PDFs.

Dates are worded by ``registry.domain.dates.long_date`` ("3 May 2026", never "03 May 2026").
"""

from __future__ import annotations

REASONS = {
    "safety_concern": "a safety concern",
    "evidence_lapsed": "evidence that has lapsed",
    "supplier_request": "the supplier's request",
    "reassessed": "a reassessment",
    "key_compromise": "a compromised signing key",
    "administrative_error": "an administrative error",
    "superseded": "a newer certificate",
}

STATUS_WORDS = {
    "valid": "Valid",
    "suspended": "Suspended",
    "revoked": "Revoked (withdrawn for good)",
    "superseded": "Replaced by a newer certificate",
    "expired": "Expired",
}


def reason(code: str | None) -> str:
    """A reason code as words: ``safety_concern`` → ``a safety concern``."""
    if not code:
        return "no stated reason"
    return REASONS.get(code, code.replace("_", " "))


def status_words(status: str | None) -> str:
    """A shown status as words: ``superseded`` → ``Replaced by a newer certificate``."""
    if not status:
        return "Unknown"
    return STATUS_WORDS.get(status, status.capitalize())
