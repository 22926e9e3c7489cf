"""Review slots, leases and score entry rules (DESIGN §2, "Review").

Rules enforced here:
- a revision has one slot per required review; a slot is ``open``, ``claimed`` (by one reviewer,
  until its lease ends) or ``submitted``;
- a lease lasts ``LEASE_SECONDS`` from the claim or the last renewal; an expired lease counts as
  open again, and the reviewer who let it lapse can no longer renew or score on it;
- who may claim a slot (conflicts of interest, one slot per reviewer and revision) is decided in
  ``registry.domain.access``, with the other rules of who may see or do what;
- a gate is scored pass/fail, a scored criterion 0..max; a rationale is required when a gate fails
  or a score is below half its maximum; "not applicable" is allowed only where the supplier
  answered "na".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from registry.domain.criteria_document import CriteriaSetDocument, Criterion
from registry.errors import Conflict, InvalidInput

LEASE_SECONDS = 4 * 3600
MAX_RATIONALE = 10_000


class CaseStatus(StrEnum):
    """Where one moderation case stands."""

    open = "open"
    decided = "decided"


class SlotStatus(StrEnum):
    """Where one review slot stands."""

    open = "open"
    claimed = "claimed"
    submitted = "submitted"


@dataclass(frozen=True, slots=True)
class SlotState:
    """The facts about a slot that the lease rules read."""

    status: SlotStatus
    reviewer: str | None
    lease_until: int | None


def lease_live(slot: SlotState, now: int) -> bool:
    """True while a claimed slot's lease has not run out."""
    return (
        slot.status is SlotStatus.claimed
        and slot.lease_until is not None
        and now < slot.lease_until
    )


def require_live_claim(slot: SlotState, reviewer: str, now: int) -> None:
    """Refuse work on a slot the caller does not hold, or whose lease has expired."""
    if slot.status is SlotStatus.submitted:
        raise Conflict("this review was already submitted")
    if slot.reviewer != reviewer or slot.status is not SlotStatus.claimed:
        raise Conflict("you do not hold a claim on this review")
    if not lease_live(slot, now):
        raise Conflict("your claim on this review has expired; claim the next item again")


def section_of(document: CriteriaSetDocument, code: str) -> str:
    """The code of the section holding criterion ``code``."""
    for section in document.sections:
        if any(c.code == code for c in section.criteria):
            return section.code
    raise InvalidInput(f"no criterion {code!r} in {document.key}/{document.version}")


def check_score(
    criterion: Criterion,
    *,
    gate_pass: bool | None,
    score: int | None,
    not_applicable: bool,
    rationale: str,
    supplier_answer: object,
) -> None:
    """Validate one reviewer score for ``criterion`` (see the module rules)."""
    code = criterion.code
    if len(rationale) > MAX_RATIONALE:
        raise InvalidInput(f"a rationale is at most {MAX_RATIONALE} characters", field="rationale")
    if not_applicable:
        if supplier_answer != "na":
            raise InvalidInput(
                f"{code} can be marked not applicable only where the supplier answered 'na'",
                field="not_applicable",
            )
        if gate_pass is not None or score is not None:
            raise InvalidInput(f"{code}: a not-applicable score carries no result", field="score")
        return
    if criterion.mode == "gate":
        if gate_pass is None or score is not None:
            raise InvalidInput(
                f"{code} is a gate: send gate_pass true or false, no score", field="gate_pass"
            )
        if not gate_pass and not rationale.strip():
            raise InvalidInput(f"{code}: a failed gate needs a rationale", field="rationale")
        return
    maximum = criterion.max_score or 0
    if gate_pass is not None or score is None or isinstance(score, bool):
        raise InvalidInput(
            f"{code} is scored: send a score 0..{maximum}, no gate_pass", field="score"
        )
    if not 0 <= score <= maximum:
        raise InvalidInput(f"{code}: expected a score 0..{maximum}, got {score}", field="score")
    if 2 * score < maximum and not rationale.strip():
        raise InvalidInput(
            f"{code}: a score below half of {maximum} needs a rationale", field="rationale"
        )
