"""The signed trust bundle (DESIGN §4): the root and every signing key with its status.

Rules enforced here:
- the bundle is a compact JWS (RFC 7515) signed by the root key, its protected header exactly
  ``{"alg": "ES256", "typ": "mkr-trust+jws", "kid": <root thumbprint>, "x5c": [<root DER>]}``:
  ``x5c`` (RFC 7515 §4.1.6) lets an offline verifier pin the root by the SHA-256 of its DER;
- the payload is canonical JSON of ``{"issuer", "issued_at", "root": {"certificate_pem",
  "sha256"}, "keys": [{"kid", "status", "not_before", "not_after", "sign_until",
  "revoked_from", "certificate_pem"}], "statuses": [{"certificate_id", "status", "since",
  "reason", "superseded_by"}]}``; revoked keys stay in it with their revocation time;
- ``statuses`` is the status list as of ``issued_at``: every certificate whose stored status is
  not ``valid`` (suspended, revoked, superseded), sorted by ID, so that an offline verifier can
  refuse a suspended certificate; ``expired`` is not listed (a statement's ``exp`` says it). A
  bundle made before the list existed decodes with an empty one;
- verifying checks more than the signature: the header's root, the document's root and the
  pinned root are one certificate; every key certificate was issued by that root and its ``kid``
  is the RFC 7638 thumbprint of its key; its times match its certificate; no ``kid`` repeats.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from typing import Any

import msgspec
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from registry.signing.errors import KeyMaterialError, SignatureInvalid
from registry.signing.jws import ALGORITHM, read_header, sign_compact, verify_compact
from registry.signing.keys import (
    KeyFiles,
    RootInfo,
    certified_key,
    key_id,
    load_certificate,
    load_root,
    load_root_private_key,
)
from registry.signing.validity import KeyRecord, KeyStatus

TRUST_TYPE = "mkr-trust+jws"
# Room for the status list at 100,000 certificates that are not valid (measured: 13.2 MB of
# canonical JSON, 17.6 MB as the JWS's base64url payload), while still refusing a runaway input.
MAX_TRUST_CHARS = 32 * 1024 * 1024
_TRUST_HEADER = frozenset({"alg", "typ", "kid", "x5c"})


class _TrustRoot(msgspec.Struct, forbid_unknown_fields=True):
    certificate_pem: str
    sha256: str


class _TrustKey(msgspec.Struct, forbid_unknown_fields=True):
    kid: str
    status: KeyStatus
    not_before: int
    not_after: int
    sign_until: int
    revoked_from: int | None
    certificate_pem: str


class TrustStatus(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """One certificate of the status list: not ``valid`` as of the bundle's time."""

    certificate_id: str
    status: str
    since: int | None
    reason: str | None
    superseded_by: str | None


class _TrustDocument(msgspec.Struct, forbid_unknown_fields=True):
    issuer: str
    issued_at: int
    root: _TrustRoot
    keys: list[_TrustKey]
    statuses: list[TrustStatus] = []


def build_trust_document(
    *,
    issuer: str,
    issued_at: int,
    root: RootInfo,
    keys: Iterable[KeyRecord],
    statuses: Iterable[TrustStatus] = (),
) -> dict[str, Any]:
    """The trust document for ``root``, every signing key the registry has ever used, and the
    status list of certificates that are not valid."""
    return {
        "issuer": issuer,
        "issued_at": issued_at,
        "root": {"certificate_pem": root.certificate_pem, "sha256": root.sha256},
        "keys": [
            {
                "kid": key.kid,
                "status": key.status,
                "not_before": key.not_before,
                "not_after": key.not_after,
                "sign_until": key.sign_until,
                "revoked_from": key.revoked_from,
                "certificate_pem": key.certificate_pem,
            }
            for key in sorted(keys, key=lambda key: (key.not_before, key.kid))
        ],
        "statuses": [
            msgspec.structs.asdict(entry)
            for entry in sorted(statuses, key=lambda entry: entry.certificate_id)
        ],
    }


def sign_trust_document(files: KeyFiles, document: dict[str, Any]) -> str:
    """Sign ``document`` with the root key as a compact JWS of type ``mkr-trust+jws``."""
    root = load_root(files)
    header = {"alg": ALGORITHM, "typ": TRUST_TYPE, "kid": root.kid, "x5c": [_x5c(root)]}
    return sign_compact(header, document, load_root_private_key(files))


def verify_trust_document(token: str, root_certificate_pem: str) -> dict[str, Any]:
    """Verify a trust bundle against the given root; return its document or raise."""
    header = read_header(token, typ=TRUST_TYPE, members=_TRUST_HEADER, max_chars=MAX_TRUST_CHARS)
    root_certificate = load_certificate(root_certificate_pem)
    root_der = root_certificate.public_bytes(serialization.Encoding.DER)
    root_sha256 = hashlib.sha256(root_der).hexdigest()
    if _header_root_der(header) != root_der:
        raise SignatureInvalid(
            f"expected a bundle signed by root {root_sha256}, its header names another root"
        )
    root_public_key = certified_key(root_certificate)
    if header["kid"] != key_id(root_public_key):
        raise SignatureInvalid(f"expected kid {key_id(root_public_key)}, found {header['kid']}")
    claims = verify_compact(token, header, root_public_key)
    document = _decode(claims)
    try:
        document_root_der = _der(document.root.certificate_pem)
    except KeyMaterialError as e:
        raise SignatureInvalid("expected the bundle's root as a PEM certificate") from e
    if document.root.sha256 != root_sha256 or document_root_der != root_der:
        raise SignatureInvalid(
            f"expected the bundle's root to be {root_sha256}, found {document.root.sha256}"
        )
    seen: set[str] = set()
    for key in document.keys:
        _check_key(key, root_certificate)
        if key.kid in seen:
            raise SignatureInvalid(f"key {key.kid} appears twice in the bundle")
        seen.add(key.kid)
    return claims


def verify_trust_document_pinned(token: str, root_sha256: str) -> dict[str, Any]:
    """Verify a trust bundle whose root (from its ``x5c``) has the pinned SHA-256 fingerprint."""
    header = read_header(token, typ=TRUST_TYPE, members=_TRUST_HEADER, max_chars=MAX_TRUST_CHARS)
    root_der = _header_root_der(header)
    found = hashlib.sha256(root_der).hexdigest()
    if found != root_sha256.lower():
        raise SignatureInvalid(f"expected root {root_sha256.lower()}, the bundle names {found}")
    pem = base64.encodebytes(root_der).decode("ascii")
    return verify_trust_document(
        token, f"-----BEGIN CERTIFICATE-----\n{pem}-----END CERTIFICATE-----\n"
    )


def listed_statuses(document: dict[str, Any]) -> dict[str, TrustStatus]:
    """A verified trust document's status list, by certificate ID."""
    return {entry.certificate_id: entry for entry in _decode(document).statuses}


def trusted_keys(document: dict[str, Any]) -> dict[str, KeyRecord]:
    """The key records of a verified trust document, by ``kid`` (for offline verification)."""
    return {
        key.kid: KeyRecord(
            kid=key.kid,
            status=key.status,
            not_before=key.not_before,
            not_after=key.not_after,
            sign_until=key.sign_until,
            certificate_pem=key.certificate_pem,
            revoked_from=key.revoked_from,
        )
        for key in _decode(document).keys
    }


def _decode(document: dict[str, Any]) -> _TrustDocument:
    try:
        return msgspec.convert(document, _TrustDocument)
    except msgspec.ValidationError as e:
        raise SignatureInvalid(f"expected a trust document: {e}") from e


def _check_key(key: _TrustKey, root_certificate: x509.Certificate) -> None:
    try:
        certificate = load_certificate(key.certificate_pem)
        certificate.verify_directly_issued_by(root_certificate)
        certified_kid = key_id(certified_key(certificate))
    except (KeyMaterialError, InvalidSignature, ValueError, TypeError) as e:
        raise SignatureInvalid(f"key {key.kid}'s certificate was not issued by the root") from e
    if certified_kid != key.kid:
        raise SignatureInvalid(f"expected kid {certified_kid} for its certificate, found {key.kid}")
    not_before = int(certificate.not_valid_before_utc.timestamp())
    not_after = int(certificate.not_valid_after_utc.timestamp())
    if (key.not_before, key.not_after) != (not_before, not_after):
        raise SignatureInvalid(f"key {key.kid}'s validity does not match its certificate")
    if not key.not_before <= key.sign_until <= key.not_after:
        raise SignatureInvalid(f"key {key.kid} signs until a time outside its certificate")
    if key.status == "revoked" and key.revoked_from is None:
        raise SignatureInvalid(f"key {key.kid} is revoked without a revocation time")


def _header_root_der(header: dict[str, Any]) -> bytes:
    chain = header["x5c"]
    if not isinstance(chain, list) or len(chain) != 1 or not isinstance(chain[0], str):
        raise SignatureInvalid("expected x5c to hold exactly the root certificate")
    try:
        # RFC 7515 §4.1.6: standard base64 (not base64url) DER.
        return base64.b64decode(chain[0], validate=True)
    except (binascii.Error, ValueError) as e:
        raise SignatureInvalid("expected x5c to hold base64 DER, found a broken encoding") from e


def _x5c(root: RootInfo) -> str:
    return base64.b64encode(_der(root.certificate_pem)).decode("ascii")


def _der(certificate_pem: str) -> bytes:
    return load_certificate(certificate_pem).public_bytes(serialization.Encoding.DER)
