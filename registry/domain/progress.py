"""What happens next to a revision, in the words its supplier and reviewers read (DESIGN §2).

A revision never waits silently: every status, together with the state of its reviews,
moderation and certificate issuance, has one sentence saying what happens next and who acts.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.domain.dates import moment
from registry.domain.dossier import RevisionStatus
from registry.domain.issuance import IssuanceState


@dataclass(frozen=True, slots=True)
class Progress:
    """The facts ``next_step`` reads about one revision."""

    status: RevisionStatus
    reviews_submitted: int
    reviews_required: int
    in_moderation: bool
    issuance: IssuanceState | None = None
    certificate_id: str | None = None
    issuance_reason: str | None = None
    next_attempt_at: int | None = None


def next_step(progress: Progress) -> str:
    """One sentence: what happens next to this revision, and who acts."""
    status = progress.status
    if status is RevisionStatus.draft:
        return "The supplier is preparing this revision; nothing is reviewed until it is submitted."
    if status is RevisionStatus.withdrawn:
        return "The supplier withdrew this submission; the next revision is a draft."
    if status is RevisionStatus.rejected:
        return "Rejected: the feedback says why. A new dossier can be submitted."
    if status is RevisionStatus.changes_requested:
        return (
            "Changes requested: the feedback lists what to change; the next revision is a draft "
            "for the supplier to update and submit."
        )
    if status is RevisionStatus.approved:
        return _after_approval(progress)
    if progress.in_moderation:
        return "The reviews disagree: waiting for a lead reviewer to moderate and decide."
    missing = progress.reviews_required - progress.reviews_submitted
    if missing > 0:
        noun = "review" if missing == 1 else "reviews"
        return (
            f"Waiting for {missing} more independent {noun} "
            f"({progress.reviews_submitted} of {progress.reviews_required} submitted)."
        )
    return "Every review is in; the decision is being recorded."


def _after_approval(progress: Progress) -> str:
    state = progress.issuance
    if progress.certificate_id or state is IssuanceState.issued:
        return f"Approved: certificate {progress.certificate_id} is issued and can be verified."
    if state is IssuanceState.issuing:
        return "Approved: the certificate is being issued now."
    if state is IssuanceState.failed:
        return f"Approved, but no certificate can be issued: {progress.issuance_reason}"
    if progress.issuance_reason and progress.next_attempt_at is not None:
        return (
            f"Approved: issuing the certificate failed ({progress.issuance_reason}); "
            f"the registry tries again at {moment(progress.next_attempt_at)}."
        )
    return "Approved: the certificate will be issued shortly."
