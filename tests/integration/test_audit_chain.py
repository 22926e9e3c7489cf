"""The audit chain: every kind of tampering is caught at the right position; appends never fork."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec
import pytest

from registry.domain.audit_chain import GENESIS, event_hash
from registry.domain.identity import OrganisationKind
from registry.services import audit, identity
from registry.services.audit import SYSTEM, Actor
from registry.tables import AuditEvent
from schemas.identity import OrganisationCreate
from tests.times import seconds

EVENTS = 6


async def _seed() -> None:
    for n in range(EVENTS):
        await identity.create_organisation(
            SYSTEM, OrganisationCreate(name=f"Org {n}", kind=OrganisationKind.supplier)
        )


async def _row(position: int) -> dict[str, object]:
    row = await AuditEvent.select().where(AuditEvent.position == position).first()
    assert row is not None
    return row


async def edit_details() -> None:
    await AuditEvent.update({AuditEvent.details: '{"name":"Forged Ltd"}'}).where(
        AuditEvent.position == 3
    )


async def edit_and_rehash() -> None:
    # A careful forger recomputes the edited event's own hash: the next link still breaks.
    row = await _row(3)
    details = {"kind": "supplier", "name": "Forged Ltd"}
    forged = event_hash(
        position=3,
        tag=str(row["tag"]),
        actor=str(row["actor"]),
        subject=str(row["subject"]),
        at=int(row["at"]),  # type: ignore[call-overload]
        details=details,
        prev_hash=str(row["prev_hash"]),
    )
    await AuditEvent.update(
        {AuditEvent.details: '{"kind":"supplier","name":"Forged Ltd"}', AuditEvent.hash: forged}
    ).where(AuditEvent.position == 3)


async def delete_middle() -> None:
    await AuditEvent.delete().where(AuditEvent.position == 3)


async def delete_newest() -> None:
    await AuditEvent.delete().where(AuditEvent.position == EVENTS)


async def append_forged() -> None:
    # A forged event that links perfectly to the newest one, but the head was not moved.
    last = await _row(EVENTS)
    position = EVENTS + 1
    details: dict[str, object] = {"kind": "supplier", "name": "Ghost Ltd"}
    digest = event_hash(
        position=position,
        tag="organisation:created",
        actor="system",
        subject="organisation:ghost",
        at=int(last["at"]),  # type: ignore[call-overload]
        details=details,
        prev_hash=str(last["hash"]),
    )
    await AuditEvent.insert(
        AuditEvent(
            position=position,
            tag="organisation:created",
            actor="system",
            subject="organisation:ghost",
            at=last["at"],
            details='{"kind":"supplier","name":"Ghost Ltd"}',
            prev_hash=last["hash"],
            hash=digest,
        )
    )


async def insert_in_middle() -> None:
    # Shift 3.. up by one and slip a forged event in at 3: it is stored after the rest.
    for position in range(EVENTS, 2, -1):
        await AuditEvent.update({AuditEvent.position: position + 1}).where(
            AuditEvent.position == position
        )
    second = await _row(2)
    await AuditEvent.insert(
        AuditEvent(
            position=3,
            tag="organisation:created",
            actor="system",
            subject="organisation:ghost",
            at=second["at"],
            details="{}",
            prev_hash=second["hash"],
            hash=event_hash(
                position=3,
                tag="organisation:created",
                actor="system",
                subject="organisation:ghost",
                at=int(second["at"]),  # type: ignore[call-overload]
                details={},
                prev_hash=str(second["hash"]),
            ),
        )
    )


async def swap_two() -> None:
    # Reorder: rows keep their storage slots but exchange contents (positions included).
    a, b = await _row(2), await _row(4)
    columns = ["position", "tag", "actor", "subject", "at", "details", "prev_hash", "hash"]
    await AuditEvent.update({AuditEvent.position: -1}).where(AuditEvent.position == 2)
    await AuditEvent.update({getattr(AuditEvent, c): a[c] for c in columns}).where(
        AuditEvent.position == 4
    )
    await AuditEvent.update({getattr(AuditEvent, c): b[c] for c in columns}).where(
        AuditEvent.position == -1
    )


@dataclass(frozen=True)
class Tamper:
    name: str
    act: Callable[[], Awaitable[None]]
    first_bad_position: int


TAMPERING = [
    Tamper("an event's details are edited", edit_details, 3),
    Tamper("an event is edited and its own hash recomputed", edit_and_rehash, 4),
    Tamper("an event in the middle is deleted", delete_middle, 3),
    Tamper("the newest event is deleted", delete_newest, EVENTS),
    Tamper("a well-linked event is appended behind the head's back", append_forged, EVENTS + 1),
    Tamper("an event is inserted in the middle", insert_in_middle, 3),
    Tamper("two events swap places", swap_two, 2),
]


@pytest.mark.parametrize("case", TAMPERING, ids=lambda c: c.name)
async def test_tampering_is_detected_at_its_position(db: None, case: Tamper) -> None:
    await _seed()
    assert (await audit.verify()).intact
    await case.act()
    report = await audit.verify()
    assert not report.intact
    assert report.first_bad_position == case.first_bad_position, report.reason


async def test_untouched_chain_verifies(db: None) -> None:
    await _seed()
    report = await audit.verify()
    assert report.intact
    assert report.checked == EVENTS


async def test_a_reader_of_the_api_recomputes_every_hash(db: None) -> None:
    # The page shows ``at`` as RFC 3339 to the second; the hash covers its integer seconds.
    await _seed()
    shown = msgspec.json.decode(msgspec.json.encode(await audit.page(None, 200)))
    prev_hash = GENESIS
    for item in shown["items"]:
        digest = event_hash(
            position=item["position"],
            tag=item["tag"],
            actor=item["actor"],
            subject=item["subject"],
            at=seconds(item["at"]),
            details=item["details"],
            prev_hash=prev_hash,
        )
        assert (item["prev_hash"], item["hash"]) == (prev_hash, digest), item
        prev_hash = digest
    assert len(shown["items"]) == EVENTS


@pytest.mark.slow
async def test_concurrent_changes_leave_one_unbroken_chain(db: None) -> None:
    """50 state changes at once (each its own transaction): one chain, no fork, no gap."""
    await asyncio.gather(
        *(
            identity.create_organisation(
                Actor(f"user-{n}"),
                OrganisationCreate(name=f"Concurrent {n}", kind=OrganisationKind.assessor),
            )
            for n in range(50)
        )
    )
    report = await audit.verify()
    assert report.intact, report.reason
    assert report.checked == 50
    positions = [row["position"] for row in await AuditEvent.select(AuditEvent.position)]
    assert sorted(positions) == list(range(1, 51))
