"""Whether a signing key may sign now, and whether it was valid when a certificate was issued.

Rules enforced here (DESIGN §4), over plain values so the service and an offline verifier share
them:
- a key signs only while ``status`` is ``active`` and ``not_before <= now <= sign_until``;
- a signature counts iff the registry-recorded issuance time ``issued_at`` lies in the key's
  signing window ``[not_before, sign_until]`` and, for a revoked key, before ``revoked_from``.
  ``issued_at`` comes from the registry's issuance record, never from the signed statement,
  which a thief of the key could backdate;
- a retired key's signatures stay valid: retirement only stops new signing. When a key is
  retired before its ``sign_until``, the service lowers ``sign_until`` to the retirement time,
  so the trust bundle tells offline verifiers exactly when the key stopped signing;
- a revoked key without a revocation time is treated as revoked from the start.
Times are integer UTC seconds, as every stored time is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from registry.domain.signing_key import SigningKeyStatus
from registry.signing.errors import SigningRefused

KeyStatus = SigningKeyStatus
KEY_STATUSES: tuple[str, ...] = tuple(status.value for status in SigningKeyStatus)


@dataclass(frozen=True)
class KeyRecord:
    """What the registry stores per signing key, and what the trust bundle publishes for it."""

    kid: str
    status: KeyStatus
    not_before: int
    not_after: int
    sign_until: int
    certificate_pem: str
    revoked_from: int | None = None


class KeyValidity(NamedTuple):
    """A judgement of one key at one issuance time, with its plain-language reason."""

    valid: bool
    reason: str


def key_valid_at(key: KeyRecord, issued_at: int) -> KeyValidity:
    """Judge ``key`` at the registry-recorded issuance time ``issued_at`` (DESIGN §5 check 3)."""
    issued = f"issued {_when(issued_at)}"
    if key.status not in KEY_STATUSES:
        return KeyValidity(False, f"key {key.kid} has the unknown status {key.status!r}")
    if key.status == "revoked" and key.revoked_from is None:
        return KeyValidity(False, f"key {key.kid} is revoked, with no time it was safe before")
    if issued_at < key.not_before:
        return KeyValidity(
            False, f"{issued}, before key {key.kid} could sign ({_when(key.not_before)})"
        )
    if issued_at > key.sign_until:
        return KeyValidity(
            False, f"{issued}, after key {key.kid} stopped signing ({_when(key.sign_until)})"
        )
    if key.revoked_from is not None and issued_at >= key.revoked_from:
        return KeyValidity(
            False, f"{issued}, after key {key.kid} was revoked ({_when(key.revoked_from)})"
        )
    if key.status == "revoked":
        return KeyValidity(
            True, f"{issued}, before key {key.kid} was revoked ({_when(key.revoked_from)})"
        )
    return KeyValidity(True, f"{issued}, while key {key.kid} was signing")


def _when(moment: int | None) -> str:
    if moment is None:
        return "an unknown time"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def check_may_sign(key: KeyRecord, now: int) -> None:
    """Raise SigningRefused unless ``key`` is active and ``now`` is in its signing window."""
    if key.status != "active":
        raise SigningRefused(f"expected an active signing key, key {key.kid} is {key.status}")
    if key.revoked_from is not None:
        raise SigningRefused(f"key {key.kid} is revoked from {_when(key.revoked_from)}")
    if not key.not_before <= now <= key.sign_until:
        raise SigningRefused(
            f"key {key.kid} signs from {_when(key.not_before)} until {_when(key.sign_until)}, "
            f"and it is now {_when(now)}"
        )
