"""Signed statements: compact JWS (RFC 7515) over canonical JSON, ES256 only (DESIGN §4).

Rules enforced here:
- the protected header is exactly ``{"alg": "ES256", "typ": "mkr-certificate+jws", "kid": …}``;
  anything else — another ``alg`` (``none``, ``HS256``…), another ``typ``, extra members such as
  ``crit``, ``b64`` (RFC 7797), ``jwk`` or ``jku`` — is refused before any key is used;
- the payload is the canonical JSON of the claims (``registry.domain.canonical``); a payload that
  verifies but is not canonical is refused, so one statement has one byte form;
- base64url parts must be canonical (RFC 7515 §2: no padding, no stray bits) and the token at
  most ``MAX_STATEMENT_CHARS`` long, checked before decoding;
- the signature is the 64-byte R‖S of RFC 7518 §3.4, verified with the key the caller trusts
  for that ``kid``; an unknown ``kid`` is refused;
- signing goes through ``check_may_sign``: a retired, revoked or expired key never signs.
Every refusal is a ``SignatureInvalid`` whose message says what was expected and found.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

import msgspec
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from registry.domain.canonical import canonical_json
from registry.errors import InvalidInput
from registry.signing.errors import SignatureInvalid
from registry.signing.keys import KeyFiles, checked_kid, load_signing_key
from registry.signing.validity import KeyRecord, check_may_sign

ALGORITHM = "ES256"
STATEMENT_TYPE = "mkr-certificate+jws"
MAX_STATEMENT_CHARS = 4096
_STATEMENT_HEADER = frozenset({"alg", "typ", "kid"})
# RFC 7518 §3.4: an ES256 signature is R and S, 32 bytes each.
_SIGNATURE_BYTES = 64
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")

PublicKey = ec.EllipticCurvePublicKey | Mapping[str, Any]

# ES256 only (RFC 7518 §3.4). Our own size caps run first, so joserfc's are raised to fit a
# trust bundle, whose header carries the root certificate and whose payload lists every key.
_REGISTRY = jws.JWSRegistry(algorithms=[ALGORITHM])
_REGISTRY.max_header_length = 8 * 1024
_REGISTRY.max_payload_length = 4 * 1024 * 1024


@dataclass(frozen=True)
class VerifiedStatement:
    """A statement whose signature verified under a trusted key: who signed it and what it says."""

    kid: str
    claims: dict[str, Any]
    header: dict[str, Any]


def sign_statement(files: KeyFiles, key: KeyRecord, claims: dict[str, Any], *, now: int) -> str:
    """Sign ``claims`` as a compact JWS with signing key ``key``, if it may sign at ``now``."""
    check_may_sign(key, now)
    private_key, _ = load_signing_key(files, key.kid)
    header = {"alg": ALGORITHM, "typ": STATEMENT_TYPE, "kid": key.kid}
    token = sign_compact(header, claims, private_key)
    if len(token) > MAX_STATEMENT_CHARS:
        raise InvalidInput(
            f"expected a signed statement of at most {MAX_STATEMENT_CHARS} characters, "
            f"these claims make {len(token)}"
        )
    return token


def verify_statement(token: str, public_keys: Mapping[str, PublicKey]) -> VerifiedStatement:
    """Verify a compact JWS statement against the trusted keys, by ``kid``; raise if it fails."""
    header = read_header(
        token, typ=STATEMENT_TYPE, members=_STATEMENT_HEADER, max_chars=MAX_STATEMENT_CHARS
    )
    kid = header["kid"]
    public_key = public_keys.get(kid)
    if public_key is None:
        raise SignatureInvalid(f"signed by key {kid}, which is not in the trust material")
    claims = verify_compact(token, header, public_key)
    return VerifiedStatement(kid=kid, claims=claims, header=header)


def peek_kid(token: str) -> str:
    """The ``kid`` of a statement, read without verifying anything (to choose the key)."""
    header = read_header(
        token, typ=STATEMENT_TYPE, members=_STATEMENT_HEADER, max_chars=MAX_STATEMENT_CHARS
    )
    return str(header["kid"])


def sign_compact(
    header: dict[str, Any], claims: dict[str, Any], private_key: ec.EllipticCurvePrivateKey
) -> str:
    """RFC 7515 §7.1 compact serialisation of canonical ``claims`` under ``header`` (ES256)."""
    if not isinstance(claims, dict):
        raise TypeError(f"expected claims as a dict, found {type(claims).__name__}")
    return jws.serialize_compact(
        header, canonical_json(claims), ECKey.import_key(private_key), registry=_REGISTRY
    )


def read_header(token: str, *, typ: str, members: Set[str], max_chars: int) -> dict[str, Any]:
    """Check a compact JWS's shape and decode its protected header, verifying nothing yet."""
    if not isinstance(token, str):
        raise SignatureInvalid(f"expected a compact JWS as text, found {type(token).__name__}")
    if len(token) > max_chars:
        raise SignatureInvalid(
            f"expected a compact JWS of at most {max_chars} characters, found {len(token)}"
        )
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise SignatureInvalid(
            "expected a compact JWS: three non-empty base64url parts separated by dots, "
            f"found {len(parts)} part(s)"
        )
    header = _json_object(_decode_part(parts[0], "header"), "header")
    if set(header) != set(members):
        raise SignatureInvalid(f"expected header members {sorted(members)}, found {sorted(header)}")
    if header["alg"] != ALGORITHM:
        raise SignatureInvalid(f"expected alg {ALGORITHM}, found {_shown(header['alg'])}")
    if header["typ"] != typ:
        raise SignatureInvalid(f"expected typ {typ}, found {_shown(header['typ'])}")
    try:
        checked_kid(header["kid"])
    except InvalidInput as e:
        raise SignatureInvalid(f"expected kid to be a key thumbprint: {e.detail}") from e
    return header


def verify_compact(token: str, header: dict[str, Any], public_key: PublicKey) -> dict[str, Any]:
    """Verify an ES256 compact JWS whose header ``read_header`` accepted; return its claims."""
    _, payload_part, signature_part = token.split(".")
    payload = _decode_part(payload_part, "payload")
    if len(_decode_part(signature_part, "signature")) != _SIGNATURE_BYTES:
        raise SignatureInvalid(f"expected a {_SIGNATURE_BYTES}-byte ES256 signature")
    key = _ec_key(public_key, header["kid"])
    try:
        jws.deserialize_compact(token, key, algorithms=[ALGORITHM], registry=_REGISTRY)
    except JoseError as e:
        raise SignatureInvalid(
            f"the signature does not verify under key {header['kid']} ({e.error})"
        ) from e
    claims = _json_object(payload, "payload")
    try:
        canonical = canonical_json(claims)
    except TypeError as e:
        raise SignatureInvalid(f"expected canonical JSON claims: {e}") from e
    if canonical != payload:
        raise SignatureInvalid("expected the payload in canonical JSON, found another encoding")
    return claims


def _ec_key(public_key: PublicKey, kid: str) -> ECKey:
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            key = ECKey.import_key(public_key)
        else:
            fields = {name: public_key[name] for name in ("kty", "crv", "x", "y")}
            key = ECKey.import_key(fields)
    except (JoseError, KeyError, TypeError, ValueError) as e:
        raise SignatureInvalid(f"the trusted key for {kid} is not an EC public key") from e
    if key.curve_name != "P-256":
        raise SignatureInvalid(f"expected a P-256 key for {kid}, found {key.curve_name}")
    return key


def _decode_part(part: str, name: str) -> bytes:
    if not _BASE64URL.match(part):
        raise SignatureInvalid(f"expected the {name} in base64url, found other characters")
    try:
        data = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as e:
        raise SignatureInvalid(f"expected the {name} in base64url, found a broken encoding") from e
    # RFC 7515 §2 / RFC 4648 §3.5: one encoding per value, so no stray trailing bits.
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != part:
        raise SignatureInvalid(f"expected the {name} in canonical base64url without padding")
    return data


def _json_object(data: bytes, name: str) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(data)
    except msgspec.DecodeError as e:
        raise SignatureInvalid(f"expected the {name} to be JSON, found something else") from e
    if not isinstance(value, dict):
        raise SignatureInvalid(f"expected the {name} to be a JSON object")
    return value


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
