"""Plain-language wording for the pages: dates, history lines and check titles; reasons and
statuses come from ``registry.domain.words``, which the API's explanations use too.

Pure functions over the public Structs (no I/O, no Litestar): the templates call them as Jinja
filters and globals, so every page words the same thing the same way. Times are UTC, as on the
certificate itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from registry.domain.words import reason
from schemas.certificate import StatusEvent
from schemas.directory import DirectoryEntry
from schemas.verification import CertificateSummary, CheckOut, VerificationOut

_SHORT_STATUS = {
    "suspended": "suspended",
    "revoked": "revoked",
    "superseded": "replaced",
    "expired": "expired",
}

_ACTIONS = {
    "issued": "Issued",
    "suspended": "Suspended",
    "reinstated": "Reinstated",
    "revoked": "Revoked",
    "superseded": "Replaced by a newer certificate",
    "expired": "Expired",
}

CHECK_TITLES = {
    "id_format": "The certificate ID is well-formed",
    "signature": "The registry's signature verifies",
    "key_valid": "The signing key was valid when it signed",
    "document_unmodified": "The PDF was not changed after signing",
    "statement_matches": "The PDF holds the registry's own signed statement",
    "registered": "The registry issued this certificate",
    "status": "Its status today is valid",
    "not_expired": "It has not expired",
    "in_log": "It is recorded in the public log",
}

_PDF_ONLY = frozenset({4, 5})  # document_unmodified, statement_matches

OUTCOMES = {
    "passed": ("✓", "Passed"),
    "failed": ("✗", "Failed"),
    "not_checked": ("–", "Not checked"),
}

VERDICTS = {
    "good_to_go": ("✓", "good"),
    "not_good_to_go": ("✗", "bad"),
    "unknown": ("?", "unknown"),
}


def _utc(when: dt.datetime) -> dt.datetime:
    # The Structs carry aware UTC datetimes; a naive one would be read in the process's zone.
    if when.tzinfo is None:
        raise ValueError(f"expected an aware datetime, got naive {when!r}")
    return when.astimezone(dt.UTC)


def date(when: dt.datetime | None) -> str:
    """``3 May 2026`` (UTC), or an em dash for no date."""
    if when is None:
        return "—"
    moment = _utc(when)
    return f"{moment.day} {moment:%B %Y}"


def iso_date(when: dt.datetime) -> str:
    """``2026-05-03``: the machine-readable form for ``<time datetime>``."""
    return _utc(when).strftime("%Y-%m-%d")


def date_time(when: dt.datetime) -> str:
    """``3 May 2026 at 14:03 UTC``."""
    moment = _utc(when)
    return f"{date(when)} at {moment:%H:%M} UTC"


def iso_date_time(when: dt.datetime) -> str:
    """``2026-05-03T14:03:00Z``."""
    return _utc(when).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One line of a certificate's life, in plain language."""

    at: dt.datetime
    what: str
    why: str | None
    note: str | None


def history(certificate: CertificateSummary) -> list[HistoryLine]:
    """The status history oldest first, with expiry (derived, never stored) as its last line."""
    lines = [_history_line(event) for event in certificate.history]
    if certificate.status == "expired":
        lines.append(
            HistoryLine(
                at=certificate.valid_until,
                what="Expired",
                why=None,
                note="Its validity period ended; it needs a reassessment.",
            )
        )
    return lines


def _history_line(event: StatusEvent) -> HistoryLine:
    action = _ACTIONS.get(event.action, event.action.replace("_", " ").capitalize())
    return HistoryLine(
        at=event.at,
        what=action,
        why=reason(event.reason) if event.reason else None,
        note=event.note or None,
    )


def _changed_at(certificate: CertificateSummary) -> dt.datetime | None:
    for event in reversed(certificate.history):
        if event.status == certificate.status:
            return event.at
    return None


def why_line(out: VerificationOut) -> str | None:
    """One sentence under the verdict that says why it is not good to go (None when it is)."""
    if out.verdict == "good_to_go":
        return None
    certificate = out.certificate
    status = certificate.status if certificate else None
    if certificate is not None and status in {"suspended", "revoked"}:
        when = date(_changed_at(certificate))
        verb = "Suspended" if status == "suspended" else "Revoked"
        return f"{verb} on {when} because of {reason(certificate.status_reason)}."
    if certificate is not None and status == "superseded":
        when = date(_changed_at(certificate))
        newer = certificate.superseded_by or "a newer certificate"
        return f"Replaced on {when} by {newer}."
    if certificate is not None and status == "expired":
        return f"Expired on {date(certificate.valid_until)}."
    for check in out.checks:
        if check.outcome == "failed":
            return check.explanation
    for check in out.checks:
        if check.outcome == "not_checked" and check.name != "in_log":
            return check.explanation
    return None


@dataclass(frozen=True, slots=True)
class CheckTally:
    """How many checks passed, failed, were not made."""

    passed: int
    failed: int
    not_checked: int

    def words(self) -> str:
        """``1 failed, 6 passed, 2 not checked`` (failures first: they matter most)."""
        parts = []
        if self.failed:
            parts.append(f"{self.failed} failed")
        parts.append(f"{self.passed} passed")
        if self.not_checked:
            parts.append(f"{self.not_checked} not checked")
        return ", ".join(parts)


def tally(checks: list[CheckOut]) -> CheckTally:
    """Count the checks by outcome."""
    return CheckTally(
        passed=sum(c.outcome == "passed" for c in checks),
        failed=sum(c.outcome == "failed" for c in checks),
        not_checked=sum(c.outcome == "not_checked" for c in checks),
    )


def skipped_note(checks: list[CheckOut]) -> str | None:
    """Say why some of the numbered checks are missing (they apply to an uploaded PDF only)."""
    missing = sorted(set(range(1, len(CHECK_TITLES) + 1)) - {c.number for c in checks})
    if not missing:
        return None
    numbers = " and ".join(
        [", ".join(str(n) for n in missing[:-1]), str(missing[-1])]
        if len(missing) > 1
        else [str(missing[0])]
    )
    noun = "Checks" if len(missing) > 1 else "Check"
    if set(missing) <= _PDF_ONLY:
        verb = "apply" if len(missing) > 1 else "applies"
        return f"{noun} {numbers} {verb} only to an uploaded certificate PDF."
    verb = "do" if len(missing) > 1 else "does"
    return f"{noun} {numbers} {verb} not apply to this kind of check."


def advisory_note(out: VerificationOut) -> str | None:
    """When good to go with a check not made, say why that does not change the answer."""
    missing = [c.name for c in out.checks if c.outcome == "not_checked"]
    if out.verdict != "good_to_go" or not missing or set(missing) != {"in_log"}:
        return None
    return (
        "Inclusion in the public log was not checked because the log is not running yet; "
        "that does not change the answer."
    )


def check_title(name: str) -> str:
    """A check's name as a statement a practice manager can read."""
    return CHECK_TITLES.get(name, name.replace("_", " ").capitalize())


def outcome_mark(outcome: str) -> str:
    """The symbol shown next to a check (always alongside its word)."""
    return OUTCOMES.get(outcome, ("?", outcome))[0]


def outcome_word(outcome: str) -> str:
    """``Passed``, ``Failed`` or ``Not checked``."""
    return OUTCOMES.get(outcome, ("?", outcome))[1]


def verdict_mark(verdict: str) -> str:
    """The big symbol of a verdict (always alongside its words)."""
    return VERDICTS.get(verdict, ("?", "unknown"))[0]


def verdict_class(verdict: str) -> str:
    """The CSS modifier of a verdict: ``good``, ``bad`` or ``unknown``."""
    return VERDICTS.get(verdict, ("?", "unknown"))[1]


@dataclass(frozen=True, slots=True)
class EntryState:
    """How a directory entry's status reads: symbol, words and CSS modifier."""

    mark: str
    words: str
    css: str


def entry_state(entry: DirectoryEntry) -> EntryState:
    """``✓ Good to go`` for a valid certificate, ``✗ Not good to go: suspended`` otherwise."""
    if entry.status == "valid":
        return EntryState("✓", "Good to go", "good")
    short = _SHORT_STATUS.get(entry.status, str(entry.status))
    return EntryState("✗", f"Not good to go: {short}", "bad")


def entry_why(entry: DirectoryEntry) -> str | None:
    """Why a listed certificate is not good to go, in one sentence (None when it is)."""
    status = entry.status
    if status in {"suspended", "revoked"}:
        verb = "Suspended" if status == "suspended" else "Revoked"
        return (
            f"{verb} on {date(entry.status_changed_at)} because of {reason(entry.status_reason)}."
        )
    if status == "superseded":
        newer = entry.superseded_by or "a newer certificate"
        return f"Replaced on {date(entry.status_changed_at)} by {newer}."
    if status == "expired":
        return f"Expired on {date(entry.valid_until)}."
    return None
