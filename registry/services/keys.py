"""Signing keys as the registry records them: creation, rotation, revocation, trust material.

Private keys never pass through here: ``registry.signing`` creates and uses them from the key
directory; this module stores each key's public record (window, status, revocation point).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from registry import clock
from registry.db import write_transaction
from registry.domain.audit_chain import AuditTag
from registry.domain.certificate import CertificateStatus
from registry.errors import InvalidInput, NotFound, Unavailable
from registry.records import Record, SigningKeyRecord, fetch, fetch_one
from registry.services import answer_cache, audit
from registry.services.audit import Actor
from registry.settings import get_settings
from registry.signing.keys import (
    KeyFiles,
    create_root_ca,
    create_signing_key,
    load_root,
    public_jwk,
)
from registry.signing.trust import TrustStatus, build_trust_document, sign_trust_document
from registry.signing.validity import KeyRecord
from registry.tables import Certificate, SigningKey

DAY = 86_400
ISSUER = "Kitemark Registry"


@cache
def key_files() -> KeyFiles:
    """The configured key directory."""
    return KeyFiles(get_settings().key_dir)


def _record(row: SigningKeyRecord) -> KeyRecord:
    return KeyRecord(
        kid=row.kid,
        status=row.status,
        not_before=row.not_before,
        not_after=row.not_after,
        sign_until=row.sign_until,
        certificate_pem=row.certificate_pem,
        revoked_from=row.revoked_from,
    )


async def all_keys() -> list[KeyRecord]:
    """Every signing key the registry ever used, oldest first."""
    rows = await fetch(
        SigningKey.select().order_by(SigningKey.not_before, SigningKey.kid), SigningKeyRecord
    )
    return [_record(row) for row in rows]


async def _key_row(kid: str) -> SigningKeyRecord | None:
    return await fetch_one(SigningKey.select().where(SigningKey.kid == kid), SigningKeyRecord)


async def key_by_kid(kid: str) -> KeyRecord | None:
    """One key's record, or None."""
    row = await _key_row(kid)
    return _record(row) if row else None


async def active_key() -> KeyRecord:
    """The key that signs now; Unavailable when none may (run ``registry keys init``/``rotate``)."""
    now = clock.now()
    row = await fetch_one(
        SigningKey.select()
        .where((SigningKey.status == "active") & (SigningKey.sign_until > now))
        .order_by(SigningKey.not_before, ascending=False),
        SigningKeyRecord,
    )
    if row is None:
        raise Unavailable(
            "no signing key may sign now: an administrator must run `registry keys rotate`"
        )
    return _record(row)


async def _insert_new_key(actor: Actor, now: int) -> KeyRecord:
    settings = get_settings()
    info = create_signing_key(
        key_files(),
        now,
        sign_days=settings.key_rotation_days,
        longest_certificate_days=settings.certificate_validity_days,
    )
    await SigningKey.insert(
        SigningKey(
            kid=info.kid,
            status="active",
            not_before=info.not_before,
            not_after=info.not_after,
            sign_until=info.sign_until,
            certificate_pem=info.certificate_pem,
            created_at=now,
            changed_at=now,
        )
    )
    await audit.record(
        actor,
        AuditTag.key_created,
        f"key:{info.kid}",
        {"not_before": info.not_before, "sign_until": info.sign_until, "not_after": info.not_after},
    )
    return info.record()


async def init_keys(actor: Actor) -> KeyRecord | None:
    """First run: create the root CA and a first signing key; None when keys already exist."""
    files = key_files()
    now = clock.now()
    async with write_transaction():
        if await SigningKey.exists().where(SigningKey.status == "active"):
            return None
        if not files.root_certificate.exists():
            create_root_ca(files, now)
        return await _insert_new_key(actor, now)


async def rotate(actor: Actor) -> KeyRecord:
    """Retire the signing key(s) in use and make a new one; what they signed still verifies."""
    now = clock.now()
    async with write_transaction():
        active = SigningKey.select().where(SigningKey.status == "active")
        for row in await fetch(active, SigningKeyRecord):
            # Retirement stops signing now, so the trust bundle says exactly when it stopped.
            await SigningKey.update(
                {
                    SigningKey.status: "retired",
                    SigningKey.sign_until: min(row.sign_until, now),
                    SigningKey.changed_at: now,
                }
            ).where(SigningKey.kid == row.kid)
            await audit.record(actor, AuditTag.key_retired, f"key:{row.kid}", {"at": now})
        record = await _insert_new_key(actor, now)
    answer_cache.clear()
    return record


async def revoke(actor: Actor, kid: str, revoked_from: int) -> KeyRecord:
    """Mark a key compromised from ``revoked_from``: what it signed from then on fails."""
    now = clock.now()
    async with write_transaction():
        row = await _key_row(kid)
        if row is None:
            raise NotFound(f"no signing key {kid!r}")
        if revoked_from > now:
            raise InvalidInput("a key is revoked from a time that has passed", field="from")
        if row.status == "revoked" and row.revoked_from is not None:
            revoked_from = min(revoked_from, row.revoked_from)
        await SigningKey.update(
            {
                SigningKey.status: "revoked",
                SigningKey.revoked_from: revoked_from,
                SigningKey.sign_until: min(row.sign_until, now),
                SigningKey.changed_at: now,
            }
        ).where(SigningKey.kid == kid)
        await audit.record(actor, AuditTag.key_revoked, f"key:{kid}", {"from": revoked_from})
        updated = await _key_row(kid)
        if updated is None:  # updated in this very transaction
            raise NotFound(f"no signing key {kid!r}")
    answer_cache.clear()
    return _record(updated)


async def jwks() -> dict[str, Any]:
    """The JWK Set of signing keys that are not revoked (RFC 7517 §5), with windows and x5c."""
    root = load_root(key_files())
    keys = []
    for key in await all_keys():
        if key.status == "revoked":
            continue
        jwk = public_jwk(key.certificate_pem, root.certificate_pem)
        jwk.update(
            {
                "status": key.status,
                "nbf": key.not_before,
                "exp": key.not_after,
                "sign_until": key.sign_until,
            }
        )
        keys.append(jwk)
    return {"keys": keys}


class _Listed(Record, frozen=True):
    certificate_id: str
    status: CertificateStatus
    status_changed_at: int | None
    status_reason: str | None
    superseded_by: str | None


async def status_list() -> list[TrustStatus]:
    """Every certificate whose stored status is not valid: the trust bundle's status list."""
    rows = await fetch(
        Certificate.select(
            Certificate.certificate_id,
            Certificate.status,
            Certificate.status_changed_at,
            Certificate.status_reason,
            Certificate.superseded_by,
        ).where(Certificate.status != CertificateStatus.valid.value),
        _Listed,
    )
    return [
        TrustStatus(
            certificate_id=row.certificate_id,
            status=row.status.value,
            since=row.status_changed_at,
            reason=row.status_reason,
            superseded_by=row.superseded_by,
        )
        for row in rows
    ]


async def trust_bundle() -> tuple[dict[str, Any], str]:
    """The trust document (root, every key and its status, the certificates' status list) and
    its root-signed compact JWS."""
    files = key_files()
    document = build_trust_document(
        issuer=ISSUER,
        issued_at=clock.now(),
        root=load_root(files),
        keys=await all_keys(),
        statuses=await status_list(),
    )
    return document, sign_trust_document(files, document)
