"""Idempotency keys: begin a keyed request, record its outcome, replay it, purge old keys.

The rules (what a key may be, when a request runs, replays or is refused) are in
``registry.domain.idempotency``; this module loads and saves around them, one short write
transaction each. Races are decided by the database: the ``lookup`` column is unique, so of two
requests beginning the same key at once exactly one inserts its row; the other sees that row on
its next attempt and is refused (409) or replays. A begun request owns its row by id, so one
taken over after it was abandoned can no longer record an outcome over its successor's.
"""

from __future__ import annotations

import asyncio
import uuid

import msgspec

from registry import clock
from registry.db import is_unique_violation, write_transaction
from registry.domain import idempotency as rules
from registry.domain.canonical import canonical_json
from registry.records import IdempotencyKeyRecord, fetch_one
from registry.tables import IdempotencyKey

# A lost race is settled by the winner's committed row, so the second attempt decides; more is
# for a row that was purged or taken over in between.
BEGIN_ATTEMPTS = 3


class Begun(msgspec.Struct, frozen=True):
    """This request holds the key: run it, then ``finish`` or ``release``."""

    row_id: uuid.UUID


class Recorded(msgspec.Struct, frozen=True):
    """The response the key's first request got, to send again."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


async def begin(credential: str, key: str, fingerprint: str) -> Begun | Recorded:
    """Take ``key`` for this request, or return its recorded response.

    Raises InvalidInput when the key was used for another request, Conflict while the key's
    first request is still running.
    """
    lookup = rules.key_lookup(credential, key)
    for attempt in range(BEGIN_ATTEMPTS):
        try:
            return await _begin_once(lookup, fingerprint)
        except Exception as e:  # a request beginning the same key won the insert
            if not is_unique_violation(e) or attempt == BEGIN_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable: the last attempt returns or raises")


async def _begin_once(lookup: str, fingerprint: str) -> Begun | Recorded:
    async with write_transaction():
        now = clock.now()
        row = await fetch_one(
            IdempotencyKey.select().where(IdempotencyKey.lookup == lookup), IdempotencyKeyRecord
        )
        state = (
            None
            if row is None
            else rules.KeyState(row.fingerprint, created_at=row.created_at, status=row.status)
        )
        verdict = rules.decide(state, fingerprint, now)
        if verdict is rules.Verdict.replay and row is not None and row.status is not None:
            headers = msgspec.json.decode(row.headers, type=list[tuple[str, str]])
            return Recorded(status=row.status, headers=headers, body=bytes(row.body))
        if row is not None:  # expired or abandoned: by id, so a newer row is never removed
            await IdempotencyKey.delete().where(IdempotencyKey.id == row.id)
        row_id = uuid.uuid4()
        await IdempotencyKey.insert(
            IdempotencyKey(
                id=row_id,
                lookup=lookup,
                fingerprint=fingerprint,
                created_at=now,
                status=None,
                headers="[]",
                body=b"",
            )
        )
        return Begun(row_id)


async def finish(begun: Begun, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    """Record the response of a begun request; one the rules do not keep releases the key."""
    if not rules.is_kept(status):
        await release(begun)
        return
    kept = [[name, value] for name, value in rules.replayed_headers(headers)]
    async with write_transaction():
        await IdempotencyKey.update(
            {
                IdempotencyKey.status: status,
                IdempotencyKey.headers: canonical_json(kept).decode(),
                IdempotencyKey.body: body,
            }
        ).where(IdempotencyKey.id == begun.row_id)


async def release(begun: Begun) -> None:
    """Free the key of a begun request without an outcome, so a retry runs it again."""
    async with write_transaction():
        await IdempotencyKey.delete().where(IdempotencyKey.id == begun.row_id)


async def purge_expired() -> int:
    """Delete every key older than 24 hours; returns how many went.

    A plain DELETE of old rows, so two processes purging at once do no harm.
    """
    expired = IdempotencyKey.created_at <= rules.expiry_cutoff(clock.now())
    async with write_transaction():
        count: int = await IdempotencyKey.count().where(expired)
        await IdempotencyKey.delete().where(expired)
    return count
