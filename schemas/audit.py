"""The audit trail as the API pages through it."""

from __future__ import annotations

from typing import Any

from schemas.base import Response, UtcTime


class AuditEventOut(Response, frozen=True):
    """One chained event."""

    position: int
    tag: str
    actor: str
    subject: str
    at: UtcTime
    details: dict[str, Any]
    prev_hash: str
    hash: str


class ChainStatus(Response, frozen=True):
    """Whether the chain verified end to end, and where it first broke if not."""

    intact: bool
    checked: int
    first_bad_position: int | None
    reason: str | None


class AuditPage(Response, frozen=True):
    """One page of events in chain order, with the chain's status."""

    items: list[AuditEventOut]
    next_cursor: str | None
    chain: ChainStatus
