"""Key files (DESIGN §4): the root CA, signing certificates, file permissions and key IDs."""

from __future__ import annotations

import base64
import hashlib
import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from registry.errors import Conflict, InvalidInput
from registry.signing.errors import KeyMaterialError
from registry.signing.keys import (
    DAY,
    KeyFiles,
    RootInfo,
    SigningKeyInfo,
    certificate_sha256,
    create_root_ca,
    create_signing_key,
    load_root,
    load_signing_key,
    public_jwk,
)

NOW = 1_800_000_000  # 2027-01-15, UTC seconds


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[KeyFiles, RootInfo, SigningKeyInfo]:
    files = KeyFiles(tmp_path_factory.mktemp("keys") / "signing")
    root = create_root_ca(files, NOW)
    return files, root, create_signing_key(files, NOW, sign_days=365, longest_certificate_days=400)


def rfc7638_thumbprint(jwk: dict[str, object]) -> str:
    """RFC 7638 §3.2 for an EC key, transcribed independently: sorted required members only."""
    required = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    text = json.dumps(required, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_private_keys_are_0600_in_a_0700_directory(
    keys: tuple[KeyFiles, RootInfo, SigningKeyInfo],
) -> None:
    files, _, info = keys
    assert stat.S_IMODE(files.directory.stat().st_mode) == 0o700
    for path in (files.root_key, files.signing_key(info.kid)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert not [path for path in files.directory.iterdir() if path.name.startswith(".")]


def test_the_root_is_never_replaced(keys: tuple[KeyFiles, RootInfo, SigningKeyInfo]) -> None:
    files, root, _ = keys
    with pytest.raises(Conflict, match="already exists"):
        create_root_ca(files, NOW + 1)
    assert load_root(files) == root


def test_root_certificate_is_a_ca_for_one_level(
    keys: tuple[KeyFiles, RootInfo, SigningKeyInfo],
) -> None:
    _, root, _ = keys
    certificate = x509.load_pem_x509_certificate(root.certificate_pem.encode())
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert not usage.content_commitment
    assert root.sha256 == hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()
    assert root.sha256 == certificate_sha256(root.certificate_pem)
    assert root.not_before == NOW
    assert root.not_after - root.not_before >= 20 * 365 * DAY


def test_signing_certificate_outlives_its_signing_period(
    keys: tuple[KeyFiles, RootInfo, SigningKeyInfo],
) -> None:
    _, root, info = keys
    certificate = x509.load_pem_x509_certificate(info.certificate_pem.encode())
    assert info.not_before == NOW == int(certificate.not_valid_before_utc.timestamp())
    assert info.sign_until == NOW + 365 * DAY
    assert info.not_after == NOW + (365 + 400) * DAY
    assert info.not_after == int(certificate.not_valid_after_utc.timestamp())
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.content_commitment
    assert not usage.key_cert_sign
    purposes = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36") in purposes.value  # RFC 9336
    assert ExtendedKeyUsageOID.SERVER_AUTH not in purposes.value
    root_certificate = x509.load_pem_x509_certificate(root.certificate_pem.encode())
    certificate.verify_directly_issued_by(root_certificate)


def test_kid_is_the_rfc7638_thumbprint_and_the_jwk_carries_the_chain(
    keys: tuple[KeyFiles, RootInfo, SigningKeyInfo],
) -> None:
    _, root, info = keys
    jwk = info.public_jwk
    assert info.kid == jwk["kid"] == rfc7638_thumbprint(jwk)
    assert {"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256"}.items() <= jwk.items()
    assert "d" not in jwk
    leaf, issuer = (base64.b64decode(item) for item in jwk["x5c"])
    leaf_pem = x509.load_der_x509_certificate(leaf).public_bytes(Encoding.PEM).decode()
    assert leaf_pem == info.certificate_pem
    assert hashlib.sha256(issuer).hexdigest() == root.sha256
    assert public_jwk(info.certificate_pem, root.certificate_pem) == jwk


def test_signing_key_loads_and_matches_its_certificate(
    keys: tuple[KeyFiles, RootInfo, SigningKeyInfo],
) -> None:
    files, _, info = keys
    private_key, certificate = load_signing_key(files, info.kid)
    assert certificate.public_key() == private_key.public_key()


@pytest.mark.parametrize(
    "kid",
    ["../root-ca", "a" * 42, "a" * 44, "a/" * 21 + "a", "é" * 43, ""],
    ids=["path", "short", "long", "slash", "non-ascii", "empty"],
)
def test_a_kid_that_is_not_a_thumbprint_never_names_a_file(
    keys: tuple[KeyFiles, RootInfo, SigningKeyInfo], kid: str
) -> None:
    files, _, _ = keys
    with pytest.raises(InvalidInput, match="43 base64url characters"):
        files.signing_key(kid)


def test_missing_or_mismatched_key_files_are_an_operator_error(tmp_path: Path) -> None:
    files = KeyFiles(tmp_path / "keys")
    with pytest.raises(KeyMaterialError, match="cannot read"):
        load_root(files)
    create_root_ca(files, NOW)
    first = create_signing_key(files, NOW)
    second = create_signing_key(files, NOW)
    files.signing_key(first.kid).unlink()
    files.signing_key(first.kid).write_bytes(files.signing_key(second.kid).read_bytes())
    with pytest.raises(KeyMaterialError, match="do not match"):
        load_signing_key(files, first.kid)


def test_a_signing_certificate_never_outlives_the_root(tmp_path: Path) -> None:
    files = KeyFiles(tmp_path / "keys")
    create_root_ca(files, NOW, years=1)
    with pytest.raises(KeyMaterialError, match="outlive the root"):
        create_signing_key(files, NOW, sign_days=365, longest_certificate_days=365)


@pytest.mark.parametrize("days", [0, -1, True])
def test_periods_must_be_positive_whole_days(tmp_path: Path, days: int) -> None:
    files = KeyFiles(tmp_path / "keys")
    create_root_ca(files, NOW)
    with pytest.raises(InvalidInput, match="positive whole number"):
        create_signing_key(files, NOW, sign_days=days)
