"""The signed statement's claims and its verify URL (DESIGN §4): short enough for a QR code.

Rules enforced here:
- claims have short names: ``iss`` issuer, ``cid`` certificate ID, ``pn``/``pv`` product name and
  version, ``sn`` supplier name, ``cs`` criteria set ``key/version``, ``csh`` its SHA-256,
  ``dh`` the dossier revision's SHA-256, ``iat`` issued-at and ``exp`` valid-until;
- hashes are base64url without padding (RFC 4648 §5; 43 characters for SHA-256), times integer
  UTC seconds, so the claims are canonical JSON;
- product name, product version and supplier name longer than 60 characters become their first
  59 and "…": the dossier hash pins the full text;
- the verify URL is ``{base}/v/{id}#{jws}``: browsers never send the fragment to a server, and a
  paper copy carries everything an offline verifier needs. At error correction M it must fit a
  QR code of version ``MAX_QR_VERSION`` (22) or less, or issuance fails loudly.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import segno

from registry.domain.certificate_id import normalise_certificate_id
from registry.errors import InvalidInput

NAME_CAP = 60
ELLIPSIS = "…"
# DESIGN §4 bar: version ≤ 22 at level M, printed at least 5 cm wide. Version 22 is 105 modules,
# so each module is ~0.44 mm at 5 cm (with the 4-module quiet zone) — about the smallest a phone
# camera resolves reliably from a laser print.
MAX_QR_VERSION = 22
MAX_VERIFY_TEXT = 8192
CLAIM_NAMES = frozenset({"iss", "cid", "pn", "pv", "sn", "cs", "csh", "dh", "iat", "exp"})
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_B64URL_SHA256 = re.compile(r"^[A-Za-z0-9_-]{43}$")
# The signature may be empty ("alg": "none"): such a text is still a statement, and gets a verdict.
_COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class StatementClaims:
    """The claims of a statement under their full names, with hashes back in hex."""

    issuer: str
    certificate_id: str
    product_name: str
    product_version: str
    supplier_name: str
    criteria_set_ref: str
    criteria_set_sha256_hex: str
    dossier_sha256_hex: str
    issued_at: int
    valid_until: int


def capped(text: str, limit: int = NAME_CAP) -> str:
    """``text`` if it has at most ``limit`` characters, else its first ``limit - 1`` and "…"."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def build_claims(
    *,
    issuer: str,
    certificate_id: str,
    product_name: str,
    product_version: str,
    supplier_name: str,
    criteria_set_ref: str,
    criteria_set_sha256_hex: str,
    dossier_sha256_hex: str,
    issued_at: int,
    valid_until: int,
) -> dict[str, Any]:
    """The short claims of a certificate's signed statement."""
    for name, value in (
        ("issuer", issuer),
        ("product_name", product_name),
        ("product_version", product_version),
        ("supplier_name", supplier_name),
        ("criteria_set_ref", criteria_set_ref),
    ):
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"expected a non-empty {name}, found {value!r}", field=name)
    _check_times(issued_at, valid_until)
    return {
        "iss": issuer,
        "cid": normalise_certificate_id(certificate_id),
        "pn": capped(product_name),
        "pv": capped(product_version),
        "sn": capped(supplier_name),
        "cs": criteria_set_ref,
        "csh": hex_to_b64url(criteria_set_sha256_hex),
        "dh": hex_to_b64url(dossier_sha256_hex),
        "iat": issued_at,
        "exp": valid_until,
    }


def read_claims(claims: dict[str, Any]) -> StatementClaims:
    """Check a verified statement's claims have our shape and give them their full names."""
    if set(claims) != CLAIM_NAMES:
        raise InvalidInput(
            f"expected statement claims {sorted(CLAIM_NAMES)}, found {sorted(claims)}",
            field="statement",
        )
    for name in ("iss", "cid", "pn", "pv", "sn", "cs", "csh", "dh"):
        if not isinstance(claims[name], str):
            raise InvalidInput(f"expected claim {name} to be text", field="statement")
    _check_times(claims["iat"], claims["exp"])
    return StatementClaims(
        issuer=claims["iss"],
        certificate_id=claims["cid"],
        product_name=claims["pn"],
        product_version=claims["pv"],
        supplier_name=claims["sn"],
        criteria_set_ref=claims["cs"],
        criteria_set_sha256_hex=b64url_to_hex(claims["csh"]),
        dossier_sha256_hex=b64url_to_hex(claims["dh"]),
        issued_at=claims["iat"],
        valid_until=claims["exp"],
    )


def hex_to_b64url(sha256_hex: str) -> str:
    """A hex SHA-256 (as stored) in base64url without padding (as in claims)."""
    if not isinstance(sha256_hex, str) or not _HEX_SHA256.match(sha256_hex):
        raise InvalidInput(f"expected 64 lower-case hex digits, found {sha256_hex!r}")
    return base64.urlsafe_b64encode(bytes.fromhex(sha256_hex)).rstrip(b"=").decode("ascii")


def b64url_to_hex(sha256_b64url: str) -> str:
    """A base64url SHA-256 (as in claims) back in hex (as stored)."""
    if not isinstance(sha256_b64url, str) or not _B64URL_SHA256.match(sha256_b64url):
        raise InvalidInput(
            f"expected a SHA-256 in 43 base64url characters, found {sha256_b64url!r}"
        )
    try:
        digest = base64.urlsafe_b64decode(sha256_b64url + "=")
    except (binascii.Error, ValueError) as e:
        raise InvalidInput(f"expected a SHA-256 in base64url, found {sha256_b64url!r}") from e
    if hex_to_b64url(digest.hex()) != sha256_b64url:
        raise InvalidInput(f"expected canonical base64url, found {sha256_b64url!r}")
    return digest.hex()


def unverified_certificate_id(token: str) -> str | None:
    """The ``cid`` a compact JWS claims, read WITHOUT checking its signature (None if none).

    Only for words and look-ups that the signature check then judges: a forged statement
    still names the certificate it pretends to be.
    """
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return None
    cid = claims.get("cid") if isinstance(claims, dict) else None
    return cid if isinstance(cid, str) and cid.strip() else None


def verify_url(base_url: str, certificate_id: str, jws: str) -> str:
    """The verify URL ``{base}/v/{id}#{jws}`` that the certificate's QR code carries."""
    return f"{base_url.rstrip('/')}/v/{certificate_id}#{jws}"


def parse_verify_text(text: str) -> tuple[str | None, str | None]:
    """Read a scanned or pasted verify URL, bare compact JWS or typed ID as (id, jws).

    The ID comes back as found (not normalised): checking it is verification check 1.
    """
    text = text.strip()
    if not text:
        raise InvalidInput(
            "expected a verify URL, a certificate ID or a signed statement, found nothing",
            field="text",
        )
    if len(text) > MAX_VERIFY_TEXT:
        raise InvalidInput(
            f"expected at most {MAX_VERIFY_TEXT} characters, found {len(text)}", field="text"
        )
    if _COMPACT_JWS.match(text):
        return None, text
    if "/" not in text and "#" not in text:
        return text, None
    parts = urlsplit(text)
    segments = parts.path.rstrip("/").split("/")
    if len(segments) < 2 or segments[-2] != "v" or not segments[-1]:
        raise InvalidInput(
            "expected a verify URL ending in /v/ and a certificate ID, "
            f"found the path {parts.path[:80]!r}",
            field="text",
        )
    return unquote(segments[-1]), parts.fragment or None


def qr_version(text: str) -> int:
    """The smallest QR version that holds ``text`` at error correction M."""
    # The version does not depend on the mask; fixing it skips segno's costly mask evaluation,
    # which the drawing (reports.qr) does once for the code actually printed.
    return int(segno.make_qr(text, error="m", boost_error=False, mask=0).version)


def check_fits_qr(url: str) -> int:
    """Return the QR version of ``url`` at level M; raise if it is above ``MAX_QR_VERSION``."""
    version = qr_version(url)
    if version > MAX_QR_VERSION:
        raise InvalidInput(
            f"expected the verify URL to fit a QR code of version {MAX_QR_VERSION} or less "
            f"at error correction M, it needs version {version} ({len(url)} characters)"
        )
    return version


def _check_times(issued_at: object, valid_until: object) -> None:
    start = _seconds("issued_at", issued_at)
    end = _seconds("valid_until", valid_until)
    if end <= start:
        raise InvalidInput(f"expected valid_until after issued_at, found {end} <= {start}")


def _seconds(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"expected {name} as integer UTC seconds, found {value!r}")
    return value
