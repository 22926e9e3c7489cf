"""Append to, page through and verify the hash-chained audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from registry import clock
from registry.db import chain_lock, write_transaction
from registry.domain.audit_chain import (
    GENESIS,
    AuditTag,
    ChainedEvent,
    ChainReport,
    ChainWalker,
    event_hash,
)
from registry.domain.canonical import canonical_json
from registry.domain.dates import as_datetime
from registry.errors import InvalidInput
from registry.records import AuditEventRecord, AuditHeadRecord, fetch, fetch_one
from registry.services.paging import decode_cursor, encode_cursor, is_position
from registry.tables import AuditEvent, AuditHead
from schemas.audit import AuditEventOut, AuditPage, ChainStatus

AUDIT_CHAIN = "audit"
# Advisory-lock key for audit appends on PostgreSQL ("MKRAUDIT" as a 64-bit integer).
AUDIT_LOCK_KEY = 0x4D4B_5241_5544_4954 & 0x7FFF_FFFF_FFFF_FFFF


@dataclass(frozen=True, slots=True)
class Actor:
    """Who caused a change: a user id, or a system component such as ``cli``."""

    id: str


SYSTEM = Actor("system")


async def record(actor: Actor, tag: AuditTag, subject: str, details: dict[str, Any]) -> int:
    """Append one event to the chain inside the caller's transaction; returns its position."""
    async with write_transaction():
        await chain_lock(AUDIT_LOCK_KEY)
        head = await _head()
        position = (head.position if head else 0) + 1
        prev_hash = head.hash if head else GENESIS
        at = clock.now()
        text = canonical_json(details).decode()
        digest = event_hash(
            position=position,
            tag=tag.value,
            actor=actor.id,
            subject=subject,
            at=at,
            details=msgspec.json.decode(text),
            prev_hash=prev_hash,
        )
        await AuditEvent.insert(
            AuditEvent(
                position=position,
                tag=tag.value,
                actor=actor.id,
                subject=subject,
                at=at,
                details=text,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        if head is None:
            await AuditHead.insert(AuditHead(chain=AUDIT_CHAIN, position=position, hash=digest))
        else:
            await AuditHead.update({AuditHead.position: position, AuditHead.hash: digest}).where(
                AuditHead.chain == AUDIT_CHAIN
            )
        return position


async def _head() -> AuditHeadRecord | None:
    return await fetch_one(
        AuditHead.select().where(AuditHead.chain == AUDIT_CHAIN), AuditHeadRecord
    )


def _chained(row: AuditEventRecord) -> ChainedEvent:
    return ChainedEvent(
        position=row.position,
        tag=row.tag,
        actor=row.actor,
        subject=row.subject,
        at=row.at,
        details=msgspec.json.decode(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


async def list_events(after: int, limit: int) -> list[ChainedEvent]:
    """Events with position greater than ``after``, oldest first."""
    rows = await fetch(
        AuditEvent.select()
        .where(AuditEvent.position > after)
        .order_by(AuditEvent.position)
        .limit(limit),
        AuditEventRecord,
    )
    return [_chained(row) for row in rows]


_VERIFY_BATCH = 1000


async def verify() -> ChainReport:
    """Walk the whole chain in stored (insertion) order, then check it ends at the recorded head.

    Stored order is the serial id, not the position column, so a reordering shows up.
    """
    walker = ChainWalker()
    last_id = 0
    while True:
        rows = await fetch(
            AuditEvent.select()
            .where(AuditEvent._meta.primary_key > last_id)
            .order_by(AuditEvent._meta.primary_key)
            .limit(_VERIFY_BATCH),
            AuditEventRecord,
        )
        if not rows:
            break
        for row in rows:
            if (bad := walker.check(_chained(row))) is not None:
                return bad
        last_id = rows[-1].id
    head = await _head()
    return walker.finish(head.position if head else 0, head.hash if head else GENESIS)


async def page(cursor: str | None, limit: int) -> AuditPage:
    """One page of events in chain order, with the status of the whole chain."""
    after = decode_cursor(cursor, keys={"p"})["p"] if cursor else 0
    if not is_position(after):
        raise InvalidInput("the cursor is not one this API issued", field="cursor")
    events = await list_events(after, limit + 1)
    report = await verify()
    items = [
        AuditEventOut(
            position=e.position,
            tag=e.tag,
            actor=e.actor,
            subject=e.subject,
            at=as_datetime(e.at),
            details=e.details,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )
        for e in events[:limit]
    ]
    return AuditPage(
        items=items,
        next_cursor=encode_cursor({"p": items[-1].position}) if len(events) > limit else None,
        chain=ChainStatus(
            intact=report.intact,
            checked=report.checked,
            first_bad_position=report.first_bad_position,
            reason=report.reason,
        ),
    )
