"""Dossier revisions: their lifecycle, completeness, frozen content and round-to-round diff.

Rules enforced here (DESIGN §2):
- a revision moves ``draft → submitted → in_review → changes_requested | approved | rejected``;
  a submitted revision nobody has claimed may be ``withdrawn``; withdrawn and changes_requested
  revisions are followed by a draft copy as the next revision; approved and rejected are final;
- only a draft can be edited;
- a revision is complete when every applicable criterion has an answer and, unless the answer is
  a plain "no" or "not applicable", a live document of every type its evidence requirement lists
  (with an expiry date where required, issued within the maximum age where one is set);
- the frozen content is canonical JSON of the answers, evidence digests and expiries, the product
  and the criteria set hash; its SHA-256 is what a certificate later names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from registry.errors import Conflict
from schemas.criteria import Criterion


class RevisionStatus(StrEnum):
    """Where one revision of a dossier stands."""

    draft = "draft"
    submitted = "submitted"
    withdrawn = "withdrawn"
    in_review = "in_review"
    changes_requested = "changes_requested"
    approved = "approved"
    rejected = "rejected"


class RevisionAction(StrEnum):
    """What can happen to a revision."""

    edit = "edit"
    submit = "submit"
    withdraw = "withdraw"
    claim = "claim"
    request_changes = "request_changes"
    approve = "approve"
    reject = "reject"


_S, _A = RevisionStatus, RevisionAction
TRANSITIONS: dict[tuple[RevisionStatus, RevisionAction], RevisionStatus] = {
    (_S.draft, _A.edit): _S.draft,
    (_S.draft, _A.submit): _S.submitted,
    (_S.submitted, _A.withdraw): _S.withdrawn,
    (_S.submitted, _A.claim): _S.in_review,
    (_S.in_review, _A.claim): _S.in_review,
    (_S.in_review, _A.request_changes): _S.changes_requested,
    (_S.in_review, _A.approve): _S.approved,
    (_S.in_review, _A.reject): _S.rejected,
}

# After these, the dossier continues with a new draft revision copied from this one.
CONTINUES_AS_DRAFT = frozenset({_S.withdrawn, _S.changes_requested})


def transition(status: RevisionStatus, action: RevisionAction) -> RevisionStatus:
    """The status after ``action``, or Conflict naming why it cannot happen now."""
    try:
        return TRANSITIONS[(status, action)]
    except KeyError:
        raise Conflict(
            f"cannot {action.value.replace('_', ' ')} a revision that is {status.value}"
        ) from None


@dataclass(frozen=True, slots=True)
class EvidenceFact:
    """What completeness and freezing need to know about one evidence file."""

    sha256: str
    document_type: str
    criteria: tuple[str, ...]
    expires_on: str | None
    issued_on: str | None


@dataclass(frozen=True, slots=True)
class Gap:
    """One thing still missing before a revision can be submitted."""

    code: str
    title: str
    problem: str


NEGATIVE_ANSWERS: tuple[object, ...] = (False, "no", "na")


def _needs_evidence(answer: object) -> bool:
    # A supplier answering "no" or "not applicable" has nothing to prove; reviewers judge that.
    return not any(answer is negative or answer == negative for negative in NEGATIVE_ANSWERS)


def completeness(
    criteria: Sequence[Criterion],
    answers: Mapping[str, object],
    evidence: Sequence[EvidenceFact],
    today: dt.date,
) -> list[Gap]:
    """Every applicable criterion still lacking an answer or a live required document."""
    gaps: list[Gap] = []
    for criterion in criteria:
        if criterion.code not in answers:
            gaps.append(Gap(criterion.code, criterion.title, "no answer yet"))
            continue
        if not _needs_evidence(answers[criterion.code]):
            continue
        requirement = criterion.evidence
        for document_type in requirement.document_types:
            files = [
                e
                for e in evidence
                if e.document_type == document_type and criterion.code in e.criteria
            ]
            problem = _evidence_problem(
                files, requirement.expiry_required, requirement.max_age_days, today
            )
            if problem:
                gaps.append(Gap(criterion.code, criterion.title, f"{document_type}: {problem}"))
    return gaps


def _evidence_problem(
    files: Sequence[EvidenceFact], expiry_required: bool, max_age_days: int | None, today: dt.date
) -> str | None:
    if not files:
        return "no document uploaded for this criterion"
    live = [
        f for f in files if f.expires_on is None or dt.date.fromisoformat(f.expires_on) >= today
    ]
    if not live:
        return "every document has expired"
    if expiry_required and not any(f.expires_on for f in live):
        return "the document must state its expiry date"
    if max_age_days is not None:
        oldest_allowed = today - dt.timedelta(days=max_age_days)
        fresh = [
            f for f in live if f.issued_on and dt.date.fromisoformat(f.issued_on) >= oldest_allowed
        ]
        if not fresh:
            return f"a document issued within the last {max_age_days} days is required (issued_on)"
    return None


def frozen_content(
    *,
    dossier_id: str,
    revision: int,
    product: Mapping[str, Any],
    product_version: str,
    criteria_set: Mapping[str, Any],
    answers: Mapping[str, object],
    evidence: Sequence[EvidenceFact],
) -> dict[str, Any]:
    """The value whose canonical JSON is hashed when a revision is submitted."""
    return {
        "dossier": dossier_id,
        "revision": revision,
        "product": dict(product),
        "product_version": product_version,
        "criteria_set": dict(criteria_set),
        "answers": dict(sorted(answers.items())),
        "evidence": sorted(
            (
                {
                    "sha256": e.sha256,
                    "document_type": e.document_type,
                    "criteria": sorted(e.criteria),
                    "expires_on": e.expires_on,
                    "issued_on": e.issued_on,
                }
                for e in evidence
            ),
            key=lambda item: (item["document_type"], item["sha256"]),
        ),
    }


@dataclass(frozen=True, slots=True)
class AnswerChange:
    """One criterion whose answer differs between two revisions."""

    code: str
    before: object
    after: object


def diff_answers(before: Mapping[str, object], after: Mapping[str, object]) -> list[AnswerChange]:
    """Answers added, changed or removed between two revisions, by criterion code."""
    missing = object()
    changes = []
    for code in sorted(set(before) | set(after)):
        old, new = before.get(code, missing), after.get(code, missing)
        if old != new or type(old) is not type(new):
            changes.append(
                AnswerChange(code, None if old is missing else old, None if new is missing else new)
            )
    return changes


def diff_evidence(
    before: Sequence[EvidenceFact], after: Sequence[EvidenceFact]
) -> tuple[list[EvidenceFact], list[EvidenceFact]]:
    """Evidence files (by digest and type) added and removed between two revisions."""

    def key(e: EvidenceFact) -> tuple[str, str]:
        return (e.sha256, e.document_type)

    old = {key(e): e for e in before}
    new = {key(e): e for e in after}
    added = [new[k] for k in sorted(new.keys() - old.keys())]
    removed = [old[k] for k in sorted(old.keys() - new.keys())]
    return added, removed
