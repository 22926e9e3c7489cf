"""The signed statement's claims and verify URL (DESIGN §4): short names, caps, a QR that fits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
import segno

from registry.domain.canonical import canonical_json, sha256_hex
from registry.domain.statement import (
    CLAIM_NAMES,
    ELLIPSIS,
    MAX_QR_VERSION,
    NAME_CAP,
    b64url_to_hex,
    build_claims,
    capped,
    check_fits_qr,
    hex_to_b64url,
    parse_verify_text,
    read_claims,
    verify_url,
)
from registry.errors import InvalidInput
from registry.signing.jws import sign_statement, verify_statement
from registry.signing.keys import KeyFiles, create_root_ca, create_signing_key

NOW = 1_800_000_000
BASE = "https://registry.kitemark.example.nhs.uk"
CRITERIA_SHA = sha256_hex(b"criteria set kitemark-core/1")
DOSSIER_SHA = sha256_hex(b"dossier revision 3")


def claims_for(**changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "issuer": BASE,
        "certificate_id": "mkr-7q4k-9x2m-g",
        "product_name": "Acme Triage Assistant",
        "product_version": "3.2.1",
        "supplier_name": "Acme Digital Health Ltd",
        "criteria_set_ref": "kitemark-core/1",
        "criteria_set_sha256_hex": CRITERIA_SHA,
        "dossier_sha256_hex": DOSSIER_SHA,
        "issued_at": NOW,
        "valid_until": NOW + 365 * 86_400,
    }
    return build_claims(**(values | changes))


@dataclass(frozen=True)
class Cap:
    name: str
    text: str
    expected: str


CAPS = [
    Cap("short names stay as they are", "Acme", "Acme"),
    Cap("59 characters stay", "a" * 59, "a" * 59),
    Cap("exactly 60 characters stay", "b" * 60, "b" * 60),
    Cap("61 characters become 59 and an ellipsis", "c" * 61, "c" * 59 + ELLIPSIS),
    Cap("200 characters become 59 and an ellipsis", "d" * 200, "d" * 59 + ELLIPSIS),
    Cap("characters, not bytes, are counted", "é" * 61, "é" * 59 + ELLIPSIS),
]


@pytest.mark.parametrize("case", CAPS, ids=lambda case: case.name)
def test_names_are_capped_at_60_characters(case: Cap) -> None:
    assert capped(case.text) == case.expected
    assert len(capped(case.text)) <= NAME_CAP
    claims = claims_for(product_name=case.text, supplier_name=case.text, product_version="1")
    assert claims["pn"] == claims["sn"] == case.expected


def test_claims_are_short_canonical_and_read_back() -> None:
    claims = claims_for()
    assert set(claims) == CLAIM_NAMES
    assert claims["cid"] == "MKR-7Q4K-9X2M-G"
    assert claims["csh"] == hex_to_b64url(CRITERIA_SHA)
    assert len(claims["dh"]) == 43
    assert "=" not in claims["dh"]
    assert canonical_json(claims)
    statement = read_claims(claims)
    assert statement.criteria_set_sha256_hex == CRITERIA_SHA
    assert statement.dossier_sha256_hex == DOSSIER_SHA
    assert statement.certificate_id == "MKR-7Q4K-9X2M-G"
    assert statement.valid_until == NOW + 365 * 86_400


def test_digests_convert_both_ways() -> None:
    digest = hashlib.sha256(b"x").digest()
    assert b64url_to_hex(hex_to_b64url(digest.hex())) == digest.hex()
    for bad in ("AB" * 32, "ab" * 31, "zz" * 32):
        with pytest.raises(InvalidInput, match="hex digits"):
            hex_to_b64url(bad)
    encoded = hex_to_b64url(digest.hex())
    # 43 characters carry 2 unused bits (RFC 4648 §3.5): the same digest, spelled another way.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    respelled = encoded[:-1] + alphabet[alphabet.index(encoded[-1]) ^ 1]
    with pytest.raises(InvalidInput, match="canonical base64url"):
        b64url_to_hex(respelled)
    with pytest.raises(InvalidInput, match="43 base64url"):
        b64url_to_hex(encoded + "=")


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"product_name": "  "}, "non-empty product_name"),
        ({"certificate_id": "MKR-7Q4K-9X2M-H"}, "probably mistyped"),
        ({"dossier_sha256_hex": "abc"}, "64 lower-case hex digits"),
        ({"valid_until": NOW}, "valid_until after issued_at"),
        ({"issued_at": 1.5}, "integer UTC seconds"),
    ],
    ids=["blank name", "mistyped id", "short hash", "empty validity", "float time"],
)
def test_bad_claims_are_refused(changes: dict[str, Any], says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        claims_for(**changes)


def test_read_claims_refuses_foreign_shapes() -> None:
    with pytest.raises(InvalidInput, match="expected statement claims"):
        read_claims({**claims_for(), "extra": 1})
    with pytest.raises(InvalidInput, match="claim pn to be text"):
        read_claims({**claims_for(), "pn": 7})


@dataclass(frozen=True)
class Scanned:
    name: str
    text: str
    expected: tuple[str | None, str | None]


JWS = "eyJhbGciOiJFUzI1NiJ9.eyJjaWQiOiJNS1IifQ.c2ln"
ID = "MKR-7Q4K-9X2M-G"
SCANS = [
    Scanned("a verify URL from a QR code", f"{BASE}/v/{ID}#{JWS}", (ID, JWS)),
    Scanned("a verify URL under a path prefix", f"https://x.test/mkr/v/{ID}#{JWS}", (ID, JWS)),
    Scanned("a verify URL without its fragment", f"{BASE}/v/{ID}", (ID, None)),
    Scanned("a verify URL with a trailing slash", f"{BASE}/v/{ID}/", (ID, None)),
    Scanned("a percent-encoded ID is decoded", f"{BASE}/v/MKR%2D7Q4K-9X2M-G", (ID, None)),
    Scanned("a bare compact JWS", JWS, (None, JWS)),
    Scanned("a pasted JWS with whitespace around it", f"  {JWS}\n", (None, JWS)),
    Scanned("a typed ID, returned as typed", "mkr 7q4k 9x2m g", ("mkr 7q4k 9x2m g", None)),
]


@pytest.mark.parametrize("case", SCANS, ids=lambda case: case.name)
def test_parse_verify_text(case: Scanned) -> None:
    assert parse_verify_text(case.text) == case.expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "found nothing"),
        ("   ", "found nothing"),
        (f"{BASE}/certificates/MKR-7Q4K-9X2M-G#{JWS}", "ending in /v/"),
        (f"{BASE}/v/#{JWS}", "ending in /v/"),
        ("x" * 9000, "at most 8192"),
    ],
    ids=["empty", "blank", "wrong path", "no id", "too long"],
)
def test_unreadable_verify_text_is_refused(text: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        parse_verify_text(text)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    files = KeyFiles(tmp_path_factory.mktemp("keys") / "signing")
    create_root_ca(files, NOW)
    return files


def test_a_realistic_signed_statement_round_trips_and_fits_a_version_22_qr(files: KeyFiles) -> None:
    key = create_signing_key(files, NOW)
    claims = claims_for()
    token = sign_statement(files, key.record(), claims, now=NOW)
    url = verify_url(BASE + "/", "MKR-7Q4K-9X2M-G", token)
    assert url.startswith(f"{BASE}/v/MKR-7Q4K-9X2M-G#ey")
    certificate_id, jws = parse_verify_text(url)
    assert certificate_id == "MKR-7Q4K-9X2M-G"
    assert jws == token
    assert verify_statement(jws, {key.kid: key.public_jwk}).claims == claims
    version = segno.make(url, error="m", boost_error=False).version
    assert isinstance(version, int)
    assert version <= MAX_QR_VERSION
    assert check_fits_qr(url) <= MAX_QR_VERSION


def test_a_url_too_long_for_the_qr_bar_fails_loudly() -> None:
    with pytest.raises(InvalidInput, match="version 22 or less"):
        check_fits_qr(f"{BASE}/v/MKR-7Q4K-9X2M-G#" + "A" * 800)
