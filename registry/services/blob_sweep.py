"""Sweep what the blob store holds for nobody.

Blobs nothing refers to are left by an upload or issuance whose transaction failed; temporary
``.incoming-*`` files by a file-store write that crashed half-way. Both are removed once older than
a grace period: a blob is written just before its transaction, so a younger one may still be about
to be committed (and storing the same bytes again refreshes a blob's time).
"""

from __future__ import annotations

from dataclasses import dataclass

from registry import clock
from registry.blobs import blob_store
from registry.db import elected
from registry.tables import Certificate, Evidence

DEFAULT_GRACE_SECONDS = 3600
BLOB_SWEEP_LOCK = 0x4D4B_5242_4C4F_4253 & 0x7FFF_FFFF_FFFF_FFFF


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one sweep removed: unreferenced blobs (digests) and unfinished writes (names)."""

    blobs: list[str]
    incomplete: list[str]


async def sweep(grace_seconds: int = DEFAULT_GRACE_SECONDS) -> SweepReport:
    """Delete unreferenced blobs and unfinished writes older than the grace period."""
    store = blob_store()
    cutoff = clock.now() - grace_seconds
    candidates = [digest async for digest, stored_at in store.entries() if stored_at <= cutoff]
    removed = []
    for digest in candidates:
        if await Evidence.exists().where(Evidence.sha256 == digest):
            continue
        if await Certificate.exists().where(Certificate.pdf_sha256 == digest):
            continue
        await store.delete(digest)
        removed.append(digest)
    return SweepReport(blobs=removed, incomplete=await store.remove_incomplete(cutoff))


async def periodic_sweep(grace_seconds: int = DEFAULT_GRACE_SECONDS) -> SweepReport | None:
    """The elected process's sweep; None when another process is sweeping now."""
    async with elected(BLOB_SWEEP_LOCK) as won:
        return await sweep(grace_seconds) if won else None


async def sweep_unreferenced_blobs(grace_seconds: int = DEFAULT_GRACE_SECONDS) -> list[str]:
    """The whole sweep; the digests of the blobs it deleted."""
    return (await sweep(grace_seconds)).blobs
