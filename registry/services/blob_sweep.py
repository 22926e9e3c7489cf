"""Sweep blobs nothing refers to: left by an upload or issuance whose transaction failed."""

from __future__ import annotations

from registry import clock
from registry.services.evidence import blob_store
from registry.tables import Certificate, Evidence

# A blob is written just before its transaction; anything younger may still be about to commit.
DEFAULT_GRACE_SECONDS = 3600


async def sweep_unreferenced_blobs(grace_seconds: int = DEFAULT_GRACE_SECONDS) -> list[str]:
    """Delete blobs older than the grace period that no evidence or certificate names."""
    store = blob_store()
    cutoff = clock.now() - grace_seconds
    candidates = [digest for digest, stored_at in store.entries() if stored_at <= cutoff]
    removed = []
    for digest in candidates:
        if await Evidence.exists().where(Evidence.sha256 == digest):
            continue
        if await Certificate.exists().where(Certificate.pdf_sha256 == digest):
            continue
        store.delete(digest)
        removed.append(digest)
    return removed
