"""Verification checks and the verdict rule (DESIGN §5).

Rules enforced here:
- every verification reports its checks in the table's order, each ``passed``, ``failed`` or
  ``not_checked`` with a plain-language explanation; an empty list is an error, never a pass;
- any failed check ⇒ ``not_good_to_go``; otherwise any check that applies but was not checked
  ⇒ ``unknown``; otherwise ``good_to_go``;
- ``in_log`` is reported but does not change the verdict until the transparency log exists;
- offline, ``registered`` and ``status`` are not checked: the verdict is ``good_to_go`` only when
  the cached trust bundle is fresh enough to stand in for them (then they count as covered).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class CheckName(IntEnum):
    """The checks of DESIGN §5, numbered as there."""

    id_format = 1
    signature = 2
    key_valid = 3
    document_unmodified = 4
    statement_matches = 5
    registered = 6
    status = 7
    not_expired = 8
    in_log = 9


class Outcome(StrEnum):
    """One check's result."""

    passed = "passed"
    failed = "failed"
    not_checked = "not_checked"


class Verdict(StrEnum):
    """The one answer a practice reads."""

    good_to_go = "good_to_go"
    not_good_to_go = "not_good_to_go"
    unknown = "unknown"


@dataclass(frozen=True, slots=True)
class Check:
    """One named, numbered check with its outcome and why."""

    name: CheckName
    outcome: Outcome
    explanation: str


# Checks that never change the verdict (yet): the log does not exist, so nothing can be proved.
ADVISORY = frozenset({CheckName.in_log})


def verdict(checks: list[Check], *, covered: frozenset[CheckName] = frozenset()) -> Verdict:
    """The verdict for ``checks``; ``covered``: unchecked checks a fresh trust copy stands for."""
    if not checks:
        raise ValueError("a verification with no checks proves nothing")
    names = [c.name for c in checks]
    if names != sorted(names) or len(set(names)) != len(names):
        raise ValueError(f"checks must be reported once each in DESIGN order, got {names}")
    if any(c.outcome is Outcome.failed for c in checks if c.name not in ADVISORY):
        return Verdict.not_good_to_go
    if any(
        c.outcome is Outcome.not_checked
        for c in checks
        if c.name not in ADVISORY and c.name not in covered
    ):
        return Verdict.unknown
    return Verdict.good_to_go
