"""Who may see or do what (registry.domain.access), as tables of scenarios (DESIGN §1, §2).

Each row is one scenario, read aloud by its name; every rule appears with both outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from registry.domain.access import (
    CaseFacts,
    ReviewerFacts,
    RevisionFacts,
    admin_may_read,
    is_own,
    lead_may_moderate,
    lead_may_read,
    may_ask_for_feedback,
    may_claim,
    may_read_feedback,
    may_read_report,
    may_read_revision,
    may_see_in_queue,
    reviewer_may_read,
)
from registry.domain.dossier import RevisionStatus
from registry.domain.identity import Principal, Role
from registry.domain.review import SlotState, SlotStatus

NOW = 1_000_000
SUPPLIER = "org-careflow"
OTHER_SUPPLIER = "org-medibook"
ASSESSOR = "org-assessor"
REVIEWER = "user-reviewer"
OTHER_REVIEWER = "user-other-reviewer"
LEAD = "user-lead"
REVISION = "revision-1"
OTHER_REVISION = "revision-2"


def person(role: Role, user: str, organisation: str | None) -> Principal:
    return Principal(user_id=user, role=role, organisation_id=organisation, token_id="t")


SUPPLIER_MEMBER = person(Role.supplier_member, "user-supplier", SUPPLIER)
OTHER_SUPPLIER_MEMBER = person(Role.supplier_member, "user-other-supplier", OTHER_SUPPLIER)
A_REVIEWER = person(Role.reviewer, REVIEWER, ASSESSOR)
A_LEAD = person(Role.lead_reviewer, LEAD, ASSESSOR)
AN_ADMIN = person(Role.admin, "user-admin", None)


def open_slot() -> SlotState:
    return SlotState(SlotStatus.open, None, None)


def claimed(by: str, *, lease_until: int) -> SlotState:
    return SlotState(SlotStatus.claimed, by, lease_until)


def submitted(by: str) -> SlotState:
    return SlotState(SlotStatus.submitted, by, None)


def revision(
    *slots: SlotState,
    status: RevisionStatus = RevisionStatus.in_review,
    case: CaseFacts | None = None,
) -> RevisionFacts:
    return RevisionFacts(supplier=SUPPLIER, status=status, slots=slots, case=case)


# --- claiming and the queue -------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimCase:
    scenario: str
    conflicts: frozenset[str]
    held: frozenset[str]
    sees_it: bool
    may_claim: bool


CLAIMS = [
    ClaimCase("a reviewer with no history claims", frozenset(), frozenset(), True, True),
    ClaimCase(
        "a reviewer conflicted with the supplier neither sees nor claims it",
        frozenset({SUPPLIER}),
        frozenset(),
        False,
        False,
    ),
    ClaimCase(
        "a conflict with another supplier does not matter",
        frozenset({OTHER_SUPPLIER}),
        frozenset(),
        True,
        True,
    ),
    ClaimCase(
        "a reviewer who holds or held a slot of the revision sees it but claims no second one",
        frozenset(),
        frozenset({REVISION}),
        True,
        False,
    ),
    ClaimCase(
        "a slot held of another revision does not matter",
        frozenset(),
        frozenset({OTHER_REVISION}),
        True,
        True,
    ),
]


@pytest.mark.parametrize("case", CLAIMS, ids=lambda c: c.scenario)
def test_claim_and_queue(case: ClaimCase) -> None:
    facts = ReviewerFacts(REVIEWER, conflicts=case.conflicts, held=case.held)
    assert may_see_in_queue(facts, supplier=SUPPLIER) is case.sees_it
    assert may_claim(facts, revision=REVISION, supplier=SUPPLIER) is case.may_claim


# --- a reviewer reading a revision ------------------------------------------------------------


@dataclass(frozen=True)
class ReaderCase:
    scenario: str
    revision: RevisionFacts
    may_read: bool


READERS = [
    ReaderCase("holding a live claim", revision(claimed(REVIEWER, lease_until=NOW + 1)), True),
    ReaderCase("a claim whose lease ran out", revision(claimed(REVIEWER, lease_until=NOW)), False),
    ReaderCase("after submitting a review", revision(submitted(REVIEWER)), True),
    ReaderCase(
        "someone else holds the claim",
        revision(claimed(OTHER_REVIEWER, lease_until=NOW + 1), open_slot()),
        False,
    ),
    ReaderCase("someone else reviewed it", revision(submitted(OTHER_REVIEWER)), False),
    ReaderCase("nobody has claimed it yet", revision(open_slot(), open_slot()), False),
]


@pytest.mark.parametrize("case", READERS, ids=lambda c: c.scenario)
def test_reviewer_may_read(case: ReaderCase) -> None:
    assert reviewer_may_read(REVIEWER, case.revision, NOW) is case.may_read


# --- a lead moderating --------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadCase:
    scenario: str
    revision: RevisionFacts
    conflicts: frozenset[str]
    may_moderate: bool
    may_read: bool


OPEN = CaseFacts(open=True)
DECIDED = CaseFacts(open=False, lead=LEAD)
REVIEWED_BY_OTHERS = (submitted(REVIEWER), submitted(OTHER_REVIEWER))

LEADS = [
    LeadCase(
        "an open case the lead did not review",
        revision(*REVIEWED_BY_OTHERS, case=OPEN),
        conflicts=frozenset(),
        may_moderate=True,
        may_read=True,
    ),
    LeadCase(
        "the lead reviewed the revision themselves",
        revision(submitted(LEAD), submitted(OTHER_REVIEWER), case=OPEN),
        conflicts=frozenset(),
        may_moderate=False,
        may_read=False,
    ),
    LeadCase(
        "the lead holds a claim on the revision",
        revision(claimed(LEAD, lease_until=NOW + 1), submitted(OTHER_REVIEWER), case=OPEN),
        conflicts=frozenset(),
        may_moderate=False,
        may_read=False,
    ),
    LeadCase(
        "the lead declared a conflict with the supplier",
        revision(*REVIEWED_BY_OTHERS, case=OPEN),
        conflicts=frozenset({SUPPLIER}),
        may_moderate=False,
        may_read=False,
    ),
    LeadCase(
        "a conflict with another supplier does not matter",
        revision(*REVIEWED_BY_OTHERS, case=OPEN),
        conflicts=frozenset({OTHER_SUPPLIER}),
        may_moderate=True,
        may_read=True,
    ),
    LeadCase(
        "the case is decided: nothing left to read for moderation",
        revision(*REVIEWED_BY_OTHERS, case=DECIDED),
        conflicts=frozenset(),
        may_moderate=True,
        may_read=False,
    ),
    LeadCase(
        "no moderation case at all",
        revision(*REVIEWED_BY_OTHERS),
        conflicts=frozenset(),
        may_moderate=True,
        may_read=False,
    ),
]


@pytest.mark.parametrize("case", LEADS, ids=lambda c: c.scenario)
def test_lead_moderates_and_reads(case: LeadCase) -> None:
    lead = ReviewerFacts(LEAD, conflicts=case.conflicts)
    assert lead_may_moderate(lead, case.revision) is case.may_moderate
    assert lead_may_read(lead, case.revision) is case.may_read


# --- admins and drafts -----------------------------------------------------------------------


@pytest.mark.parametrize("status", list(RevisionStatus), ids=str)
def test_an_admin_reads_what_was_submitted_never_a_draft(status: RevisionStatus) -> None:
    assert admin_may_read(revision(status=status)) is (status is not RevisionStatus.draft)


# --- reading a revision (and so its dossier) --------------------------------------------------


@dataclass(frozen=True)
class RevisionCase:
    scenario: str
    who: Principal
    revision: RevisionFacts
    may_read: bool
    conflicts: frozenset[str] = frozenset()


DRAFT = revision(status=RevisionStatus.draft)
QUEUED = revision(open_slot(), open_slot(), status=RevisionStatus.submitted)

REVISIONS = [
    RevisionCase("the supplier's own member reads its draft", SUPPLIER_MEMBER, DRAFT, True),
    RevisionCase("another supplier never does", OTHER_SUPPLIER_MEMBER, QUEUED, False),
    RevisionCase("an admin reads a submitted revision", AN_ADMIN, QUEUED, True),
    RevisionCase("an admin never reads a current draft", AN_ADMIN, DRAFT, False),
    RevisionCase(
        "a reviewer reads what they hold",
        A_REVIEWER,
        revision(claimed(REVIEWER, lease_until=NOW + 60), open_slot()),
        True,
    ),
    RevisionCase("a reviewer does not read what waits in the queue", A_REVIEWER, QUEUED, False),
    RevisionCase(
        "a lead reads a revision they must moderate",
        A_LEAD,
        revision(*REVIEWED_BY_OTHERS, case=OPEN),
        True,
    ),
    RevisionCase(
        "a conflicted lead does not",
        A_LEAD,
        revision(*REVIEWED_BY_OTHERS, case=OPEN),
        False,
        conflicts=frozenset({SUPPLIER}),
    ),
    RevisionCase(
        "a lead reads what they hold, as any reviewer",
        A_LEAD,
        revision(claimed(LEAD, lease_until=NOW + 60), open_slot()),
        True,
    ),
    RevisionCase(
        "a plain reviewer does not moderate, so an open case alone lets them read nothing",
        A_REVIEWER,
        revision(submitted(OTHER_REVIEWER), submitted(LEAD), case=OPEN),
        False,
    ),
]


@pytest.mark.parametrize("case", REVISIONS, ids=lambda c: c.scenario)
def test_may_read_revision(case: RevisionCase) -> None:
    allowed = may_read_revision(case.who, case.revision, conflicts=case.conflicts, now=NOW)
    assert allowed is case.may_read


# --- the assessment report --------------------------------------------------------------------


@dataclass(frozen=True)
class ReportCase:
    scenario: str
    who: Principal
    revision: RevisionFacts
    may_read: bool


APPROVED = revision(
    submitted(REVIEWER),
    submitted(OTHER_REVIEWER),
    status=RevisionStatus.approved,
    case=CaseFacts(open=False, lead=LEAD),
)
APPROVED_UNMODERATED = revision(
    submitted(OTHER_REVIEWER), submitted("user-third"), status=RevisionStatus.approved
)

REPORTS = [
    ReportCase("the supplier's own member", SUPPLIER_MEMBER, APPROVED, True),
    ReportCase("another supplier", OTHER_SUPPLIER_MEMBER, APPROVED, False),
    ReportCase("an admin", AN_ADMIN, APPROVED, True),
    ReportCase("one of the revision's reviewers", A_REVIEWER, APPROVED, True),
    ReportCase("a reviewer who did not review it", A_REVIEWER, APPROVED_UNMODERATED, False),
    ReportCase("the lead who moderated it", A_LEAD, APPROVED, True),
    ReportCase("a lead who neither reviewed nor moderated it", A_LEAD, APPROVED_UNMODERATED, False),
]


@pytest.mark.parametrize("case", REPORTS, ids=lambda c: c.scenario)
def test_may_read_report(case: ReportCase) -> None:
    assert may_read_report(case.who, case.revision) is case.may_read


# --- feedback ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackCase:
    scenario: str
    who: Principal
    submitted: bool
    may_ask: bool
    may_read: bool


FEEDBACK = [
    FeedbackCase("its own member, a submitted revision", SUPPLIER_MEMBER, True, True, True),
    FeedbackCase("its own member, its draft", SUPPLIER_MEMBER, False, True, True),
    FeedbackCase("an admin, a submitted revision", AN_ADMIN, True, True, True),
    FeedbackCase("an admin, a draft", AN_ADMIN, False, True, False),
    FeedbackCase("another supplier", OTHER_SUPPLIER_MEMBER, True, False, False),
    FeedbackCase("a reviewer", A_REVIEWER, True, False, False),
    FeedbackCase("a lead", A_LEAD, True, False, False),
]


@pytest.mark.parametrize("case", FEEDBACK, ids=lambda c: c.scenario)
def test_feedback(case: FeedbackCase) -> None:
    assert may_ask_for_feedback(case.who, SUPPLIER) is case.may_ask
    assert may_read_feedback(case.who, SUPPLIER, submitted=case.submitted) is case.may_read


# --- one's own organisation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "own"),
    [(SUPPLIER_MEMBER, True), (OTHER_SUPPLIER_MEMBER, False), (AN_ADMIN, False), (A_LEAD, False)],
    ids=["own member", "other supplier", "admin without organisation", "assessor's lead"],
)
def test_is_own(who: Principal, own: bool) -> None:
    assert is_own(who, SUPPLIER) is own
