"""Issuing the certificate of an approved revision: who may work on it, and when to try again.

Rules enforced here (DESIGN §2, §8):
- every approved revision has one issuance, ``pending → issuing → issued``; a failure that
  retrying can fix goes back to ``pending`` with its reason and the time of the next attempt; a
  failure that retrying cannot fix ends in ``failed`` and never loops;
- one issuer at a time: an issuer works only on an issuance it claimed (``issuing`` under a lease,
  numbered by its attempt); a pending issuance is claimable once its next attempt is due (or at
  once when an operator asks), an ``issuing`` one only after its lease ran out (its issuer died);
- retries back off exponentially from a base delay up to a ceiling;
- an issuer commits only while its own claim still stands: same attempt, still ``issuing``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class IssuanceState(StrEnum):
    """Where the certificate of an approved revision stands."""

    pending = "pending"
    issuing = "issuing"
    issued = "issued"
    failed = "failed"


@dataclass(frozen=True, slots=True)
class IssuanceFacts:
    """What the claim rules read of one issuance."""

    state: IssuanceState
    attempts: int
    next_attempt_at: int | None
    lease_until: int | None


def claimable(facts: IssuanceFacts, now: int, *, ignore_backoff: bool = False) -> bool:
    """Whether an issuer may claim this issuance now (see the module rules)."""
    if facts.state is IssuanceState.pending:
        return ignore_backoff or facts.next_attempt_at is None or facts.next_attempt_at <= now
    if facts.state is IssuanceState.issuing:
        return facts.lease_until is None or facts.lease_until <= now
    return False


def still_held(facts: IssuanceFacts, attempt: int) -> bool:
    """Whether the issuer that claimed ``attempt`` still holds the claim (and may commit)."""
    return facts.state is IssuanceState.issuing and facts.attempts == attempt


def retry_delay(attempts: int, *, base_seconds: int, max_seconds: int) -> int:
    """Seconds to wait after ``attempts`` failed attempts: base × 2^(attempts−1), capped."""
    if attempts < 1:
        return 0
    # Cap the exponent first: 2**attempts for a long-failing issuance would be a huge integer.
    return min(max_seconds, base_seconds << min(attempts - 1, 32))
