"""The audit trail as a hash chain: each event's hash covers its content and the previous hash.

Rules enforced here:
- an event's hash is SHA-256 of the canonical JSON of (position, tag, actor, subject, at,
  details, prev_hash);
- positions start at 1 and increase by exactly one;
- the first event's prev_hash is GENESIS, every later one is the previous event's hash.
An edit breaks the event's own hash, a deletion or insertion breaks the position sequence or the
link, a reordering breaks the link: verification reports the first position where any rule fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from registry.domain.canonical import canonical_digest

GENESIS = "0" * 64


class AuditTag(StrEnum):
    """Every kind of state change, as ``subject:action`` (STYLE §7)."""

    organisation_created = "organisation:created"
    user_created = "user:created"
    user_deactivated = "user:deactivated"
    user_reactivated = "user:reactivated"
    token_created = "token:created"  # noqa: S105 — an event tag, not a secret
    token_revoked = "token:revoked"  # noqa: S105 — an event tag, not a secret
    admin_bootstrapped = "admin:bootstrapped"
    invitation_created = "invitation:created"
    invitation_accepted = "invitation:accepted"
    session_signed_in = "session:signed_in"
    session_sign_in_failed = "session:sign_in_failed"
    session_signed_out = "session:signed_out"
    criteria_set_published = "criteria_set:published"
    product_created = "product:created"
    dossier_created = "dossier:created"
    dossier_updated = "dossier:updated"
    answer_saved = "answer:saved"
    evidence_uploaded = "evidence:uploaded"
    evidence_deleted = "evidence:deleted"
    revision_submitted = "revision:submitted"
    revision_withdrawn = "revision:withdrawn"
    revision_started = "revision:started"
    revision_decided = "revision:decided"
    review_claimed = "review:claimed"
    review_released = "review:released"
    review_renewed = "review:renewed"
    review_expired = "review:expired"
    review_submitted = "review:submitted"
    moderation_opened = "moderation:opened"
    moderation_decided = "moderation:decided"
    interests_declared = "interests:declared"
    key_created = "key:created"
    key_retired = "key:retired"
    key_revoked = "key:revoked"
    issuance_deferred = "issuance:deferred"
    issuance_failed = "issuance:failed"
    revision_returned = "revision:returned"
    certificate_issued = "certificate:issued"
    certificate_suspended = "certificate:suspended"
    certificate_reinstated = "certificate:reinstated"
    certificate_revoked = "certificate:revoked"
    certificate_superseded = "certificate:superseded"


@dataclass(frozen=True, slots=True)
class ChainedEvent:
    """The hashed content of one audit event plus its stored hash."""

    position: int
    tag: str
    actor: str
    subject: str
    at: int
    details: dict[str, Any]
    prev_hash: str
    hash: str


def event_hash(
    *,
    position: int,
    tag: str,
    actor: str,
    subject: str,
    at: int,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    """The SHA-256 (hex) that chains one event to the one before it."""
    return canonical_digest(
        {
            "position": position,
            "tag": tag,
            "actor": actor,
            "subject": subject,
            "at": at,
            "details": details,
            "prev_hash": prev_hash,
        }
    )


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Outcome of walking the chain: ``first_bad_position`` is None when it is intact."""

    checked: int
    first_bad_position: int | None
    reason: str | None

    @property
    def intact(self) -> bool:
        """True when every event verified."""
        return self.first_bad_position is None


class ChainWalker:
    """Checks events one at a time in stored order, so a long chain never sits in memory."""

    def __init__(self) -> None:
        self.expected_position = 1
        self.prev_hash = GENESIS
        self.checked = 0

    def check(self, event: ChainedEvent) -> ChainReport | None:
        """Check the next event; return a failing report, or None when it links correctly."""
        if event.position != self.expected_position:
            return self._bad(
                self.expected_position,
                f"expected position {self.expected_position}, found {event.position}",
            )
        if event.prev_hash != self.prev_hash:
            return self._bad(event.position, "link to the previous event does not match its hash")
        recomputed = event_hash(
            position=event.position,
            tag=event.tag,
            actor=event.actor,
            subject=event.subject,
            at=event.at,
            details=event.details,
            prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return self._bad(event.position, "content does not match its stored hash")
        self.prev_hash = event.hash
        self.expected_position += 1
        self.checked += 1
        return None

    def finish(self, head_position: int, head_hash: str) -> ChainReport:
        """Compare the walked chain's end with the recorded head.

        Shorter than the head: the newest events were deleted. Longer: events were appended
        behind the head's back. Either way the first position past the agreed part is named.
        """
        last_position = self.expected_position - 1
        if last_position != head_position:
            return self._bad(
                min(last_position, head_position) + 1,
                f"chain ends at position {last_position} but its head records {head_position}",
            )
        if last_position and self.prev_hash != head_hash:
            return self._bad(last_position, "newest event does not match the recorded head hash")
        return ChainReport(self.checked, None, None)

    def _bad(self, position: int, reason: str) -> ChainReport:
        return ChainReport(self.checked, position, reason)


def verify_chain(events: Iterable[ChainedEvent], head_position: int, head_hash: str) -> ChainReport:
    """Walk events in stored order and name the first position that breaks a chain rule."""
    walker = ChainWalker()
    for event in events:
        if (bad := walker.check(event)) is not None:
            return bad
    return walker.finish(head_position, head_hash)
