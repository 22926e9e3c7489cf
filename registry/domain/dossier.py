"""Dossier revisions: their lifecycle, completeness, frozen content and round-to-round diff.

Rules enforced here (DESIGN §2):
- a revision moves ``draft → submitted → in_review → changes_requested | approved | rejected``;
  a submitted revision nobody has claimed may be ``withdrawn``; withdrawn and changes_requested
  revisions are followed by a draft copy as the next revision; rejected is final, and so is
  approved, unless its certificate cannot be issued for a reason its supplier must fix (evidence
  a gate relied on lapsed before issuance): then it is returned as changes_requested;
- only a draft can be edited;
- a revision is complete when every applicable criterion has an answer, and:
  - no file attached to it has expired or expires within the minimum remaining validity
    (``min_remaining_days``), whatever the answer: a certificate's validity is cut by the
    earliest expiry of any evidence a gate relied on, so one stale file beside a current one
    still blocks (each such file is its own gap, on every criterion that relies on it);
  - no file attached to it is of a document type it does not accept (a criterion that lists no
    document types accepts none; ``other``, whatever a reviewer asks for, fits every criterion);
  - unless the answer is a plain "no" or "not applicable": a usable document of every type its
    evidence requirement lists (not stale as above, with an expiry date where one is required,
    issued within the maximum age where one is set);
  evidence that has expired may still be uploaded (it can be history): completeness, not upload,
  says what stands in the way;
- the frozen content is canonical JSON of the answers, evidence digests and expiries, the product
  and the criteria set hash; its SHA-256 is what a certificate later names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgspec

from registry.domain.criteria import document_type_name
from registry.domain.criteria_document import Criterion, ProductProfile
from registry.errors import Conflict


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
    return_for_changes = "return_for_changes"


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
    # An approval whose certificate cannot be issued (its gate evidence lapsed) goes back.
    (_S.approved, _A.return_for_changes): _S.changes_requested,
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
    # The client's filename, to name the file in messages; never part of the frozen content.
    label: str = ""


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
    min_remaining_days: int,
) -> list[Gap]:
    """Every gap between the applicable ``criteria`` and submission, in criteria order.

    A criterion lacks an answer, or (when its answer needs evidence) a usable document of a type
    it requires, or has a file attached that has expired, expires in fewer than
    ``min_remaining_days`` days (exactly that many is enough), or is not of a type it accepts.
    """
    gaps: list[Gap] = []
    for criterion in criteria:
        if criterion.code not in answers:
            gaps.append(Gap(criterion.code, criterion.title, "no answer yet"))
            continue
        requirement = criterion.evidence
        attached = [e for e in evidence if criterion.code in e.criteria]
        # A file attached to a criterion is relied on (a gate's cuts the certificate's validity)
        # whatever the answer, so a stale or misfiled one is a gap even after a "no".
        for fact in attached:
            problem = _file_problem(
                fact, criterion.code, requirement.document_types, today, min_remaining_days
            )
            if problem:
                gaps.append(Gap(criterion.code, criterion.title, problem))
        if not _needs_evidence(answers[criterion.code]):
            continue
        for document_type in requirement.document_types:
            files = [e for e in attached if e.document_type == document_type]
            usable = [e for e in files if _lasts(e, today, min_remaining_days)]
            problem = _requirement_problem(
                document_type,
                files,
                usable,
                requirement.expiry_required,
                requirement.max_age_days,
                today,
            )
            if problem:
                gaps.append(Gap(criterion.code, criterion.title, problem))
    return gaps


def _remaining_days(fact: EvidenceFact, today: dt.date) -> int | None:
    """Whole days from ``today`` to the file's expiry day (negative once expired; 0 on the day
    itself, which still counts as valid); None when the file states no expiry."""
    if fact.expires_on is None:
        return None
    return (dt.date.fromisoformat(fact.expires_on) - today).days


def _lasts(fact: EvidenceFact, today: dt.date, min_remaining_days: int) -> bool:
    remaining = _remaining_days(fact, today)
    return remaining is None or remaining >= min_remaining_days


def _requirement_problem(
    document_type: str,
    files: Sequence[EvidenceFact],
    usable: Sequence[EvidenceFact],
    expiry_required: bool,
    max_age_days: int | None,
    today: dt.date,
) -> str | None:
    name = document_type_name(document_type)
    if not files:
        return f"no {name} uploaded for this criterion: upload one"
    if not usable:
        return None  # every file of this type is reported on its own, with what to do
    if expiry_required and not any(f.expires_on for f in usable):
        return f"the {name} must state its expiry date: upload it again with its expiry date"
    if max_age_days is not None:
        oldest_allowed = today - dt.timedelta(days=max_age_days)
        fresh = [
            f
            for f in usable
            if f.issued_on and dt.date.fromisoformat(f.issued_on) >= oldest_allowed
        ]
        if not fresh:
            return (
                f"no {name} issued within the last {max_age_days} days: "
                "upload a recent one with its issue date (issued_on)"
            )
    return None


def _file_problem(
    fact: EvidenceFact,
    code: str,
    accepted: Sequence[str],
    today: dt.date,
    min_remaining_days: int,
) -> str | None:
    name, file = document_type_name(fact.document_type), _file_name(fact)
    # "other" is whatever a reviewer asks for (DOMAIN.md): any criterion accepts it.
    if fact.document_type not in accepted and fact.document_type != "other":
        if not accepted:
            return (
                f"{name} {file} is attached to {code}, which accepts no documents: "
                f"remove it from {code}"
            )
        names = "; ".join(document_type_name(t) for t in accepted)
        return (
            f"{name} {file} is not a document type {code} accepts (only: {names}): "
            f"remove it from {code}"
        )
    remaining = _remaining_days(fact, today)
    if remaining is None or remaining >= min_remaining_days:
        return None
    if remaining < 0:
        return (
            f"{name} {file} expired on {fact.expires_on}: remove it from {code} "
            "(and upload a current one if you have none)"
        )
    when = "today" if remaining == 0 else f"in {remaining} day{'s' * (remaining != 1)}"
    return (
        f"{name} {file} expires on {fact.expires_on}, {when}; the registry needs at least "
        f"{min_remaining_days} days of remaining validity: upload a renewed one and "
        f"remove this one from {code}"
    )


def _file_name(fact: EvidenceFact) -> str:
    return f"'{fact.label}'" if fact.label else f"file {fact.sha256[:12]}"


class FrozenProduct(msgspec.Struct, frozen=True):
    """The product as a submitted revision froze it."""

    id: str
    name: str
    intended_purpose: str
    profile: ProductProfile


class FrozenCriteriaSet(msgspec.Struct, frozen=True):
    """The criteria set a submitted revision was answered against, with its SHA-256."""

    key: str
    version: int
    sha256: str

    @property
    def ref(self) -> str:
        """``key/version``, as criteria sets are named."""
        return f"{self.key}/{self.version}"


class FrozenEvidence(msgspec.Struct, frozen=True):
    """One evidence file as a submitted revision froze it (digest, type, criteria, dates)."""

    sha256: str
    document_type: str
    criteria: list[str]
    expires_on: str | None
    issued_on: str | None

    def fact(self) -> EvidenceFact:
        """The same file as the completeness and validity rules read it."""
        return EvidenceFact(
            sha256=self.sha256,
            document_type=self.document_type,
            criteria=tuple(self.criteria),
            expires_on=self.expires_on,
            issued_on=self.issued_on,
        )


class FrozenRevision(msgspec.Struct, frozen=True):
    """A submitted revision's frozen content, typed (``frozen_content`` is what is hashed)."""

    dossier: str
    revision: int
    product: FrozenProduct
    product_version: str
    criteria_set: FrozenCriteriaSet
    answers: dict[str, Any]
    evidence: list[FrozenEvidence]


def decode_frozen(text: str) -> FrozenRevision:
    """Read the canonical JSON a submitted revision stored."""
    return msgspec.json.decode(text, type=FrozenRevision)


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
