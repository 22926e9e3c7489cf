"""What a supplier must change after a decision, in words they read (DESIGN §2).

Rules enforced here:
- reviewers are named only by their place: "Reviewer 1", "Reviewer 2", … in the order their
  reviews were submitted, and "Moderator" for the lead reviewer who decided;
- an approval has nothing to change; after changes requested or a rejection, the list holds, in
  this order: why no certificate could be issued (when an approval came back for that), every
  failed gate, then every section below its threshold with the scored criteria that lost points
  (the largest loss first); each item carries the comments written on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

MODERATOR = "Moderator"


def reviewer_label(position: int) -> str:
    """How feedback names the reviewer whose review was submitted ``position``-th (from 1)."""
    return f"Reviewer {position}"


@dataclass(frozen=True, slots=True)
class Lost:
    """A scored criterion that did not get full marks under the deciding scores."""

    code: str
    title: str
    score: int
    max_score: int
    weight: int


@dataclass(frozen=True, slots=True)
class SectionShortfall:
    """A section below its threshold, with the criteria that lost points in it."""

    code: str
    title: str
    percent: int
    threshold: int
    lost: Sequence[Lost] = ()


@dataclass(frozen=True, slots=True)
class Change:
    """One thing to change, and the comments that explain it."""

    code: str | None
    title: str
    what: str
    comments: list[str] = field(default_factory=list)


def changes_to_make(
    *,
    outcome: str,
    returned_because: str | None,
    failed_gates: Sequence[tuple[str, str]],
    shortfalls: Sequence[SectionShortfall],
    comments: Mapping[str, Sequence[str]],
) -> list[Change]:
    """What to change before the next submission (see the module rules)."""
    if outcome == "approved":
        return []
    changes: list[Change] = []
    if returned_because:
        changes.append(
            Change(
                code=None,
                title="Evidence for the certificate",
                what=f"No certificate could be issued: {returned_because}.",
            )
        )
    for code, title in failed_gates:
        changes.append(
            Change(
                code=code,
                title=title,
                what=f"{code} is a pass/fail requirement and it was not met.",
                comments=list(comments.get(code, ())),
            )
        )
    for section in shortfalls:
        lost = sorted(section.lost, key=lambda c: (-(c.max_score - c.score) * c.weight, c.code))
        named = ", ".join(f"{c.code} ({c.score} of {c.max_score})" for c in lost)
        what = (
            f"Section {section.code} scored {section.percent}%, below its threshold of "
            f"{section.threshold}%."
        )
        if named:
            what += f" Points were lost on {named}."
        changes.append(
            Change(
                code=section.code,
                title=section.title,
                what=what,
                comments=[f"{c.code}: {text}" for c in lost for text in comments.get(c.code, ())],
            )
        )
    return changes
