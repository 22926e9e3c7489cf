"""Who may see or do what with a dossier revision (DESIGN §1, §2): predicates over plain facts.

Rules enforced here:
- a supplier organisation's own members read its revisions; nobody else learns they exist
  (callers answer 404, not 403);
- a reviewer reads a revision while holding a live claim on it, or after submitting a review
  of it; a claim whose lease ran out no longer counts;
- a reviewer may claim a slot unless they declared a conflict of interest with its supplier,
  or already hold or held a slot of the same revision; a conflicted reviewer does not even see
  the revision in the queue;
- a lead reviewer may moderate a revision they did not review and whose supplier they declared
  no conflict with; they read a revision whose open moderation case they may moderate;
- an admin reads what was submitted, never a supplier's current draft;
- the assessment report is for the supplier's own organisation, admins, the revision's
  reviewers and its moderator;
- feedback is for the supplier's own organisation and admins, admins only once the revision
  was submitted.

Every identifier here is a string (a UUID's text), as ``Principal`` carries them.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.domain.dossier import RevisionStatus
from registry.domain.identity import Principal, Role
from registry.domain.review import SlotState, SlotStatus, lease_live


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """A revision's moderation case: whether it is still open, and who decided it."""

    open: bool
    lead: str | None = None


@dataclass(frozen=True, slots=True)
class RevisionFacts:
    """What the rules read about one revision: its supplier, status, slots and case."""

    supplier: str
    status: RevisionStatus
    slots: tuple[SlotState, ...] = ()
    case: CaseFacts | None = None

    @property
    def reviewers(self) -> frozenset[str]:
        """Everyone who holds or held a slot of the revision (a lapsed claim not yet reopened
        still names its reviewer)."""
        return frozenset(slot.reviewer for slot in self.slots if slot.reviewer is not None)


@dataclass(frozen=True, slots=True)
class ReviewerFacts:
    """What the rules read about one reviewer."""

    user: str
    # Supplier organisations the reviewer declared a conflict of interest with.
    conflicts: frozenset[str] = frozenset()
    # Revisions the reviewer holds or held a slot of.
    held: frozenset[str] = frozenset()


def is_own(principal: Principal, supplier: str) -> bool:
    """True when the caller belongs to the supplier organisation itself."""
    return principal.organisation_id is not None and principal.organisation_id == supplier


def may_see_in_queue(reviewer: ReviewerFacts, *, supplier: str) -> bool:
    """A reviewer sees a queued revision unless conflicted with its supplier."""
    return supplier not in reviewer.conflicts


def may_claim(reviewer: ReviewerFacts, *, revision: str, supplier: str) -> bool:
    """A reviewer may claim a slot unless conflicted with the supplier, or already holding
    or having held a slot of the same revision."""
    return may_see_in_queue(reviewer, supplier=supplier) and revision not in reviewer.held


def reviewer_may_read(reviewer: str, revision: RevisionFacts, now: int) -> bool:
    """A reviewer reads a revision while holding a live claim on it, or after reviewing it."""
    return any(
        slot.reviewer == reviewer and (slot.status is SlotStatus.submitted or lease_live(slot, now))
        for slot in revision.slots
    )


def lead_may_moderate(lead: ReviewerFacts, revision: RevisionFacts) -> bool:
    """A lead moderates a revision they did not review, from a supplier they are not
    conflicted with."""
    return lead.user not in revision.reviewers and revision.supplier not in lead.conflicts


def lead_may_read(lead: ReviewerFacts, revision: RevisionFacts) -> bool:
    """A lead reads a revision it must moderate: an open case it may moderate."""
    return revision.case is not None and revision.case.open and lead_may_moderate(lead, revision)


def admin_may_read(revision: RevisionFacts) -> bool:
    """An admin reads what was submitted, never a supplier's current draft."""
    return revision.status is not RevisionStatus.draft


def may_read_revision(
    principal: Principal, revision: RevisionFacts, *, conflicts: frozenset[str], now: int
) -> bool:
    """Whether the caller may read a revision (and so its dossier, evidence and history).

    ``conflicts`` are the caller's declared conflicts of interest (read only for a lead).
    """
    if is_own(principal, revision.supplier):
        return True
    if principal.has_role(Role.reviewer) and reviewer_may_read(principal.user_id, revision, now):
        return True
    lead = ReviewerFacts(principal.user_id, conflicts=conflicts)
    if principal.has_role(Role.lead_reviewer) and lead_may_read(lead, revision):
        return True
    return principal.has_role(Role.admin) and admin_may_read(revision)


def may_read_report(principal: Principal, revision: RevisionFacts) -> bool:
    """The assessment report: the supplier's own organisation, admins, the revision's
    reviewers and its moderator."""
    if principal.has_role(Role.admin) or is_own(principal, revision.supplier):
        return True
    if not principal.has_role(Role.reviewer):
        return False
    moderator = revision.case.lead if revision.case is not None else None
    return principal.user_id in revision.reviewers or principal.user_id == moderator


def may_ask_for_feedback(principal: Principal, supplier: str) -> bool:
    """Feedback on a supplier's dossiers is for its own organisation and admins."""
    return is_own(principal, supplier) or principal.has_role(Role.admin)


def may_read_feedback(principal: Principal, supplier: str, *, submitted: bool) -> bool:
    """Feedback on one revision: its supplier's own organisation, and admins once it was
    submitted (never a draft)."""
    return is_own(principal, supplier) or (principal.has_role(Role.admin) and submitted)
